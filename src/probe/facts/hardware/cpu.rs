//! `processor`, `processor_count`, `processor_cores`,
//! `processor_threads_per_core`, `processor_vcpus`, `processor_nproc` and
//! `flags`, counted from `/proc/cpuinfo` the way Ansible counts them,
//! quirks included (its sockets and cores tables are keyed by the last
//! `physical id`/`core id` seen, starting from an integer 0 that no string
//! id equals).
//!
//! Lines read: `hw.cpuinfo` (the file was readable), `hw.cpu <raw line>` for
//! the keys Ansible looks at, `hw.flags <value>` (the last `flags`),
//! `hw.novme` (some `flags` lacks `vme`), `hw.xen`, `hw.affinity <list>`
//! (`Cpus_allowed_list`, what `os.sched_getaffinity(0)` counts).

use serde_json::{json, Map, Value};

use super::{py_round, Lines};

/// An id in `/proc/cpuinfo` as a key of Ansible's tables: the integer 0 it
/// starts from, or a string read from the file.
#[derive(Clone, Copy, PartialEq)]
enum Id<'a> {
    Initial,
    Named(&'a str),
}

/// A Python dict from [`Id`] to int: insertion order, update in place.
#[derive(Default)]
struct Table<'a>(Vec<(Id<'a>, i64)>);

impl<'a> Table<'a> {
    fn contains(&self, id: Id<'a>) -> bool {
        self.0.iter().any(|(k, _)| *k == id)
    }

    fn set(&mut self, id: Id<'a>, value: i64) {
        match self.0.iter_mut().find(|(k, _)| *k == id) {
            Some(entry) => entry.1 = value,
            None => self.0.push((id, value)),
        }
    }

    fn first(&self) -> Option<i64> {
        self.0.first().map(|(_, v)| *v)
    }
}

/// What one pass over `/proc/cpuinfo` collects.
struct Scan<'a> {
    processor: Vec<&'a str>,
    /// Ansible's `i`: entries of the list, or `ncpus active` (SPARC).
    entries: i64,
    vendor_ids: i64,
    model_names: i64,
    processors: i64,
    sockets: Table<'a>,
    cores: Table<'a>,
    /// `# processors` and `max thread id` + 1 (s390).
    s390: (i64, i64),
}

impl<'a> Scan<'a> {
    fn new(lines: impl Iterator<Item = &'a str>) -> Self {
        let mut s = Scan {
            processor: Vec::new(),
            entries: 0,
            vendor_ids: 0,
            model_names: 0,
            processors: 0,
            sockets: Table::default(),
            cores: Table::default(),
            s390: (0, 0),
        };
        let (mut physid, mut coreid) = (Id::Initial, Id::Initial);
        for line in lines {
            let (key, val) = line.split_once(':').unwrap_or((line, ""));
            let (key, val) = (key.trim(), val.trim());
            let int = val.parse::<i64>().ok();
            match key {
                "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                    s.processor.push(val);
                    s.entries += 1;
                    match key {
                        "vendor_id" => s.vendor_ids += 1,
                        "model name" => s.model_names += 1,
                        "processor" => s.processors += 1,
                        _ => {}
                    }
                }
                "physical id" => {
                    physid = Id::Named(val);
                    if !s.sockets.contains(physid) {
                        s.sockets.set(physid, 1);
                    }
                }
                "core id" => {
                    coreid = Id::Named(val);
                    // Ansible looks the core up among the sockets.
                    if !s.sockets.contains(coreid) {
                        s.cores.set(coreid, 1);
                    }
                }
                "cpu cores" => int.into_iter().for_each(|n| s.sockets.set(physid, n)),
                "siblings" => int.into_iter().for_each(|n| s.cores.set(coreid, n)),
                "# processors" => s.s390.0 = int.unwrap_or(s.s390.0),
                "max thread id" => s.s390.1 = int.map_or(s.s390.1, |n| n + 1),
                "ncpus active" => s.entries = int.unwrap_or(s.entries),
                _ => {}
            }
        }
        s
    }
}

/// The counts Ansible reports: (count, cores, threads per core, vcpus).
fn topology(s: &Scan, arch: &str, xen_paravirt: bool) -> (i64, i64, i64, i64) {
    let mut entries = s.entries;
    if s.vendor_ids > 0 && s.vendor_ids == s.model_names {
        entries = s.vendor_ids;
    }
    if ["armv", "aarch", "ppc"].iter().any(|p| arch.starts_with(p)) {
        entries = s.processors;
    }
    if arch == "s390x" {
        let (procs, threads) = s.s390;
        let cores = if threads == 0 {
            0
        } else {
            py_round(procs as f64 / threads as f64)
        };
        return (1, cores, threads, procs);
    }
    if xen_paravirt {
        return (entries, entries, 1, entries);
    }
    let count = if s.sockets.0.is_empty() {
        entries
    } else {
        s.sockets.0.len() as i64
    };
    let cores = s.sockets.first().filter(|&n| n != 0).unwrap_or(1);
    let threads = py_round(s.cores.first().unwrap_or(1) as f64 / cores as f64);
    (count, cores, threads, threads * count * cores)
}

/// How many CPUs a `Cpus_allowed_list` ("0-3,8") names.
fn cpu_list_len(list: &str) -> Option<i64> {
    list.split(',')
        .map(|range| {
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            let (lo, hi) = (
                lo.trim().parse::<i64>().ok()?,
                hi.trim().parse::<i64>().ok()?,
            );
            Some(hi - lo + 1)
        })
        .sum()
}

/// Adds the processor facts, only when `/proc/cpuinfo` was readable (as
/// Ansible); `processor_vcpus` then replaces the base part's `nproc`.
pub(super) fn add(hw: &Lines, facts: &mut Map<String, Value>) {
    if !hw.has("cpuinfo") {
        return;
    }
    let arch = facts
        .get("architecture")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let scan = Scan::new(hw.all("cpu"));
    let xen_paravirt = hw.has("xen") && hw.has("novme");
    let (count, cores, threads, vcpus) = topology(&scan, &arch, xen_paravirt);
    let nproc = hw
        .first("affinity")
        .and_then(cpu_list_len)
        .unwrap_or(match arch.as_str() {
            "s390x" => vcpus,
            _ if xen_paravirt => vcpus,
            _ => scan.processors,
        });
    if let Some(flags) = hw.first("flags") {
        facts.insert(
            "flags".into(),
            json!(flags.split_whitespace().collect::<Vec<_>>()),
        );
    }
    facts.insert("processor".into(), json!(scan.processor));
    facts.insert("processor_count".into(), json!(count));
    facts.insert("processor_cores".into(), json!(cores));
    facts.insert("processor_threads_per_core".into(), json!(threads));
    facts.insert("processor_vcpus".into(), json!(vcpus));
    facts.insert("processor_nproc".into(), json!(nproc));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(out: &str, arch: &str) -> Map<String, Value> {
        let mut f = Map::new();
        f.insert("architecture".into(), arch.into());
        f.insert("processor_vcpus".into(), json!(99));
        add(&Lines::new(out), &mut f);
        f
    }

    fn cpuinfo(text: &str) -> String {
        let mut out = String::from("hw.cpuinfo\n");
        for l in text.lines() {
            out.push_str("hw.cpu ");
            out.push_str(l.trim_start());
            out.push('\n');
        }
        out
    }

    fn counts(f: &Map<String, Value>) -> [i64; 5] {
        [
            "processor_count",
            "processor_cores",
            "processor_threads_per_core",
            "processor_vcpus",
            "processor_nproc",
        ]
        .map(|k| f[k].as_i64().unwrap())
    }

    #[test]
    fn x86_two_cores_one_socket() {
        let mut out = cpuinfo(
            "processor\t: 0
             vendor_id\t: AuthenticAMD
             model name\t: AMD EPYC
             physical id\t: 0
             siblings\t: 2
             core id\t\t: 0
             cpu cores\t: 2
             processor\t: 1
             vendor_id\t: AuthenticAMD
             model name\t: AMD EPYC
             physical id\t: 0
             siblings\t: 2
             core id\t\t: 1
             cpu cores\t: 2",
        );
        out.push_str("hw.flags fpu vme de\nhw.affinity 0-1\n");
        let f = facts(&out, "x86_64");
        assert_eq!(
            f["processor"],
            json!([
                "0",
                "AuthenticAMD",
                "AMD EPYC",
                "1",
                "AuthenticAMD",
                "AMD EPYC"
            ])
        );
        assert_eq!(counts(&f), [1, 2, 1, 2, 2]);
        assert_eq!(f["flags"], json!(["fpu", "vme", "de"]));
    }

    #[test]
    fn hyperthreads_two_sockets() {
        // 2 sockets × 2 cores × 2 threads.
        let mut text = String::new();
        for cpu in 0..8 {
            text.push_str(&format!(
                "processor : {cpu}\nvendor_id : GenuineIntel\nmodel name : Xeon\nphysical id : {}\nsiblings : 4\ncore id : {}\ncpu cores : 2\n",
                cpu / 4,
                cpu % 2
            ));
        }
        let f = facts(&format!("{}hw.affinity 0-2,5\n", cpuinfo(&text)), "x86_64");
        assert_eq!(counts(&f), [2, 2, 2, 8, 4]);
        assert_eq!(f["processor"].as_array().unwrap().len(), 24);
    }

    #[test]
    fn arm_counts_processor_lines() {
        let out = cpuinfo(
            "processor : 0\nBogoMIPS : 50.00\nprocessor : 1\nBogoMIPS : 50.00\nprocessor : 2\nprocessor : 3",
        );
        let f = facts(&out, "aarch64");
        assert_eq!(f["processor"], json!(["0", "1", "2", "3"]));
        // No sockets: the count is the entries; one core, round(1/1) thread.
        assert_eq!(counts(&f), [4, 1, 1, 4, 4]);
        assert!(f.get("flags").is_none());
    }

    #[test]
    fn s390() {
        let out = cpuinfo(
            "vendor_id : IBM/S390\n# processors : 4\nmax thread id : 1\nprocessor 0: version = FF",
        );
        let f = facts(&out, "s390x");
        assert_eq!(counts(&f), [1, 2, 2, 4, 4]);
    }

    #[test]
    fn xen_paravirt() {
        let out = format!(
            "{}hw.xen\nhw.novme\n",
            cpuinfo("processor : 0\nprocessor : 1\nphysical id : 0\ncpu cores : 1")
        );
        let f = facts(&out, "x86_64");
        assert_eq!(counts(&f), [2, 2, 1, 2, 2]);
    }

    #[test]
    fn unreadable_cpuinfo_leaves_the_base_alone() {
        let f = facts("hw.affinity 0-3\n", "x86_64");
        assert!(f.get("processor").is_none());
        assert_eq!(f["processor_vcpus"], 99);
    }

    #[test]
    fn empty_cpuinfo() {
        let f = facts("hw.cpuinfo\n", "x86_64");
        assert_eq!(f["processor"], json!([]));
        // round(1 / 1): one thread; no affinity line: the processor lines.
        assert_eq!(counts(&f), [0, 1, 1, 0, 0]);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list_len("0-1"), Some(2));
        assert_eq!(cpu_list_len("0,2-3,7"), Some(4));
        assert_eq!(cpu_list_len("x"), None);
    }
}
