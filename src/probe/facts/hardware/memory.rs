//! `memtotal_mb`, `memfree_mb`, `swaptotal_mb`, `swapfree_mb` and the
//! `memory_mb` dict, from `/proc/meminfo` in MiB rounded down, as Ansible.
//!
//! Lines read: `hw.meminfo` (the file was readable) and `hw.mem <Key> <kB>`
//! for the seven keys Ansible uses.

use serde_json::{json, Map, Value};

use super::Lines;

/// The keys that are facts of their own, besides the `memory_mb` dict.
const TOP_LEVEL: [&str; 4] = ["MemTotal", "SwapTotal", "MemFree", "SwapFree"];

/// Adds the memory facts, only when `/proc/meminfo` was readable (as
/// Ansible); a value missing from it is `null` in `memory_mb`.
pub(super) fn add(hw: &Lines, facts: &mut Map<String, Value>) {
    if !hw.has("meminfo") {
        return;
    }
    let mut mb = std::collections::HashMap::new();
    for line in hw.all("mem") {
        let mut words = line.split_whitespace();
        let (Some(key), Some(Ok(kb))) = (words.next(), words.next().map(str::parse::<u64>)) else {
            continue;
        };
        mb.insert(key, kb / 1024);
        if TOP_LEVEL.contains(&key) {
            facts.insert(format!("{}_mb", key.to_lowercase()), json!(kb / 1024));
        }
    }
    let get = |k: &str| mb.get(k).copied();
    let total = get("MemTotal");
    let free = get("MemFree");
    let nocache_free = get("Cached")
        .zip(free)
        .zip(get("Buffers"))
        .map(|((c, f), b)| c + f + b);
    let swap_total = get("SwapTotal");
    let swap_free = get("SwapFree");
    let used =
        |total: Option<u64>, free: Option<u64>| total.zip(free).map(|(t, f)| t as i64 - f as i64);
    facts.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": total, "used": used(total, free), "free": free},
            "nocache": {"free": nocache_free, "used": used(total, nocache_free)},
            "swap": {
                "total": swap_total,
                "free": swap_free,
                "used": used(swap_total, swap_free),
                "cached": get("SwapCached"),
            },
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(out: &str) -> Map<String, Value> {
        let mut f = Map::new();
        add(&Lines::new(out), &mut f);
        f
    }

    #[test]
    fn meminfo() {
        let f = facts(
            "hw.meminfo\nhw.mem MemTotal 24683664\nhw.mem MemFree 19371996\nhw.mem Buffers 15704\n\
             hw.mem Cached 4170448\nhw.mem SwapCached 0\nhw.mem SwapTotal 2097148\nhw.mem SwapFree 1048576\n",
        );
        assert_eq!(f["memtotal_mb"], 24105);
        assert_eq!(f["memfree_mb"], 18917);
        assert_eq!(f["swaptotal_mb"], 2047);
        assert_eq!(f["swapfree_mb"], 1024);
        assert_eq!(
            f["memory_mb"],
            json!({
                "real": {"total": 24105, "used": 5188, "free": 18917},
                "nocache": {"free": 18917 + 4072 + 15, "used": 24105 - (18917 + 4072 + 15)},
                "swap": {"total": 2047, "free": 1024, "used": 1023, "cached": 0},
            })
        );
    }

    #[test]
    fn missing_values_are_null() {
        let f = facts("hw.meminfo\nhw.mem MemTotal 2048\nhw.mem MemFree junk\n");
        assert_eq!(f["memtotal_mb"], 2);
        assert!(f.get("memfree_mb").is_none());
        assert_eq!(
            f["memory_mb"],
            json!({
                "real": {"total": 2, "used": null, "free": null},
                "nocache": {"free": null, "used": null},
                "swap": {"total": null, "free": null, "used": null, "cached": null},
            })
        );
    }

    #[test]
    fn unreadable_meminfo() {
        assert!(facts("").is_empty());
    }
}
