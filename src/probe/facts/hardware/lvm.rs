//! `lvm`: "N/A" unless the host ran `vgs` as root; then its volume groups,
//! logical volumes and physical volumes in GiB, as strings (Ansible's
//! `--noheadings --nosuffix --units g --separator ,` columns).
//!
//! Lines read: `hw.lvm` (vgs ran), `hw.vgs`, `hw.lvs`, `hw.pvs` (their
//! output lines), and the `dm/name` of `dm-N` devices (`hw.dattr`), the
//! name Ansible asks `dmsetup` for.

use serde_json::{json, Map, Value};

use super::Lines;

/// The comma-separated columns of one report line.
fn columns(line: &str) -> Vec<&str> {
    line.trim().split(',').collect()
}

/// `/dev/dm-N` as `/dev/mapper/<name>`, other paths as they are.
fn mapper_name(hw: &Lines, pv: &str) -> String {
    let name = pv.strip_prefix("/dev/dm-").and_then(|n| {
        let dev = format!("dm-{n} dm/name ");
        hw.all("dattr").find_map(|l| l.strip_prefix(dev.as_str()))
    });
    name.map_or_else(|| pv.to_string(), |name| format!("/dev/mapper/{name}"))
}

/// Adds `lvm`.
pub(super) fn add(hw: &Lines, facts: &mut Map<String, Value>) {
    if !hw.has("lvm") {
        facts.insert("lvm".into(), json!("N/A"));
        return;
    }
    let mut vgs = Map::new();
    for c in hw.all("vgs").map(columns).filter(|c| c.len() >= 3) {
        let last = c.len() - 1;
        vgs.insert(
            c[0].into(),
            json!({"size_g": c[last - 1], "free_g": c[last], "num_lvs": c[2], "num_pvs": c[1]}),
        );
    }
    let mut lvs = Map::new();
    for c in hw.all("lvs").map(columns).filter(|c| c.len() >= 4) {
        lvs.insert(c[0].into(), json!({"size_g": c[3], "vg": c[1]}));
    }
    let mut pvs = Map::new();
    for c in hw.all("pvs").map(columns).filter(|c| c.len() >= 6) {
        pvs.insert(
            mapper_name(hw, c[0]),
            json!({"size_g": c[4], "free_g": c[5], "vg": c[1]}),
        );
    }
    facts.insert("lvm".into(), json!({"lvs": lvs, "vgs": vgs, "pvs": pvs}));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvm(out: &str) -> Value {
        let mut f = Map::new();
        add(&Lines::new(out), &mut f);
        f["lvm"].clone()
    }

    #[test]
    fn not_root_or_no_lvm() {
        assert_eq!(lvm(""), "N/A");
    }

    #[test]
    fn reports() {
        let out = "hw.lvm\n\
                   hw.vgs   vg0,1,2,0,wz--n-,99.50,10.00\n\
                   hw.lvs   root,vg0,-wi-ao----,80.00,,,,,,,,\n\
                   hw.lvs   swap,vg0,-wi-ao----,9.50,,,,,,,,\n\
                   hw.pvs   /dev/sda2,vg0,lvm2,a--,99.50,10.00\n\
                   hw.pvs   /dev/dm-3,vg1,lvm2,a--,5.00,5.00\n\
                   hw.dattr dm-3 dm/name crypt\n\
                   hw.vgs   WARNING: junk\n";
        assert_eq!(
            lvm(out),
            json!({
                "vgs": {"vg0": {"size_g": "99.50", "free_g": "10.00", "num_lvs": "2", "num_pvs": "1"}},
                "lvs": {"root": {"size_g": "80.00", "vg": "vg0"}, "swap": {"size_g": "9.50", "vg": "vg0"}},
                "pvs": {
                    "/dev/sda2": {"size_g": "99.50", "free_g": "10.00", "vg": "vg0"},
                    "/dev/mapper/crypt": {"size_g": "5.00", "free_g": "5.00", "vg": "vg1"},
                },
            })
        );
    }

    #[test]
    fn vgs_ran_but_nothing() {
        assert_eq!(lvm("hw.lvm\n"), json!({"lvs": {}, "vgs": {}, "pvs": {}}));
    }
}
