//! `devices` (every `/sys/block` entry with its partitions) and
//! `device_links` (`/dev/disk/by-{id,uuid,label}` and `/sys/block/*/slaves`
//! grouped by the device they point at), as Ansible builds them; and the
//! UUID of a device for [`super::mounts`].
//!
//! Lines read: `hw.sysblock` (`/sys/block` could be listed), `hw.link
//! <path> <symlink target>` (from `ls -ld`), `hw.dev <name>
//! link|device|plain`, `hw.dattr <name> <sysfs file> <value>`, `hw.part
//! <name> <dir>`, `hw.pattr <name> <dir> <file> <value>`, `hw.dhold <name>
//! <dm-N> [<dm name>]`, `hw.phold <name> <dir> <dm-N> [<dm name>]`,
//! `hw.slave <name> <slave>`, `hw.pci <lspci -D line>`. A sysfs value
//! missing or empty has no line (Python's `get_file_content` gives `None`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::Lines;

/// A PCI address in a sysfs path, the last one (`.+` is greedy).
static PCI_IN_PATH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^.+/([a-f0-9]{4}:[a-f0-9]{2}:[0|1][a-f0-9]\.[0-7])/").ok());

/// The scheduler in brackets: `none [mq-deadline] kyber`.
static SCHEDULER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^.*?(\[(.*)\])").ok());

/// The directories of `device_links`, by the key Ansible gives each.
const LINK_DIRS: [(&str, &str); 3] = [
    ("ids", "/dev/disk/by-id/"),
    ("uuids", "/dev/disk/by-uuid/"),
    ("labels", "/dev/disk/by-label/"),
];

/// The symlinks `ls -ld` reported, as (path, target).
fn links<'a>(hw: &Lines<'a>) -> Vec<(&'a str, &'a str)> {
    hw.all("link").filter_map(|l| l.split_once(' ')).collect()
}

/// The entries of `dir` with their targets, in `ls` order.
fn entries_of<'a>(links: &[(&'a str, &'a str)], dir: &str) -> Vec<(&'a str, &'a str)> {
    links
        .iter()
        .filter_map(|(p, t)| Some((p.strip_prefix(dir)?, *t)))
        .collect()
}

/// The last component of a path.
fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `dir/target` with `.` and `..` resolved, as `realpath` gives it for a
/// link whose target is a device node.
fn resolve(dir: &str, target: &str) -> String {
    let joined = if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{dir}/{target}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The name each `dm-N` device has under `/dev/mapper`.
fn dm_names<'a>(hw: &Lines<'a>) -> HashMap<&'a str, &'a str> {
    hw.all("dattr")
        .filter_map(|l| {
            let (dev, rest) = l.split_once(' ')?;
            Some((dev, rest.strip_prefix("dm/name ")?))
        })
        .collect()
}

/// A device's UUID by the path `lsblk --paths` names it with (`/dev/sda1`,
/// `/dev/mapper/vg-root`) and by its kernel name (`/dev/dm-0`, as
/// `udevadm` finds it), from `/dev/disk/by-uuid`.
pub(super) fn uuids_by_device(hw: &Lines) -> HashMap<String, String> {
    let links = links(hw);
    let dm = dm_names(hw);
    let mut out = HashMap::new();
    for (uuid, target) in entries_of(&links, "/dev/disk/by-uuid/") {
        let dev = basename(target);
        out.entry(format!("/dev/{dev}"))
            .or_insert_with(|| uuid.to_string());
        if let Some(name) = dm.get(dev) {
            out.entry(format!("/dev/mapper/{name}"))
                .or_insert_with(|| uuid.to_string());
        }
    }
    out
}

/// `device_links`: for each kind, a device's links sorted by name.
type DeviceLinks = BTreeMap<&'static str, BTreeMap<String, BTreeSet<String>>>;

fn device_links(hw: &Lines) -> DeviceLinks {
    let links = links(hw);
    let mut out = DeviceLinks::new();
    for (key, dir) in LINK_DIRS {
        let group = out.entry(key).or_default();
        for (entry, target) in entries_of(&links, dir) {
            group
                .entry(basename(target).to_string())
                .or_default()
                .insert(entry.to_string());
        }
    }
    let masters = out.entry("masters").or_default();
    for line in hw.all("slave") {
        if let Some((dev, slave)) = line.split_once(' ') {
            masters
                .entry(slave.to_string())
                .or_default()
                .insert(dev.to_string());
        }
    }
    out
}

/// `bytes_to_human`: "256.00 GB", "0.00 Bytes".
fn bytes_to_human(size: f64) -> String {
    const UNITS: [(&str, u32); 8] = [
        ("YB", 80),
        ("ZB", 70),
        ("EB", 60),
        ("PB", 50),
        ("TB", 40),
        ("GB", 30),
        ("MB", 20),
        ("KB", 10),
    ];
    for (suffix, shift) in UNITS {
        let limit = 2f64.powi(shift as i32);
        if size >= limit {
            return format!("{:.2} {suffix}", size / limit);
        }
    }
    format!("{size:.2} Bytes")
}

/// The sysfs values of one device or partition.
#[derive(Default)]
struct Attrs<'a>(HashMap<&'a str, &'a str>);

impl<'a> Attrs<'a> {
    fn get(&self, file: &str) -> Option<&'a str> {
        self.0.get(file).copied()
    }

    fn json(&self, file: &str) -> Value {
        json!(self.get(file))
    }

    /// Ansible's sector size: the logical block size, else the hardware
    /// sector size, else 512 (an int, where the others are strings).
    fn sectorsize(&self) -> (Value, u64) {
        match self
            .get("queue/logical_block_size")
            .or_else(|| self.get("queue/hw_sector_size"))
        {
            Some(s) => (json!(s), s.parse().ok().filter(|&n| n > 0).unwrap_or(512)),
            None => (json!(512), 512),
        }
    }

    /// The sectors and size sysfs' 512-byte `size` comes to.
    fn sectors(&self, sectorsize: u64) -> (u64, String) {
        let raw: u64 = self.get("size").and_then(|s| s.parse().ok()).unwrap_or(0);
        let sectors = raw.saturating_mul(512) / sectorsize;
        (sectors, bytes_to_human(sectors as f64 * sectorsize as f64))
    }
}

/// Everything the snippet said about the block devices.
#[derive(Default)]
struct Block<'a> {
    /// Names with how `/sys/block/<name>` is: `link`, `device`, `plain`.
    devices: Vec<(&'a str, &'a str)>,
    attrs: HashMap<&'a str, Attrs<'a>>,
    /// Partition directories per device, in order.
    parts: HashMap<&'a str, Vec<&'a str>>,
    part_attrs: HashMap<(&'a str, &'a str), Attrs<'a>>,
    /// Holders by (device, partition or ""): the `dm-N` and its name.
    holders: HashMap<(&'a str, &'a str), Vec<&'a str>>,
}

impl<'a> Block<'a> {
    fn new(hw: &Lines<'a>) -> Self {
        let mut b = Block::default();
        for line in hw.all("dev") {
            let (name, kind) = line.split_once(' ').unwrap_or((line, "link"));
            b.devices.push((name, kind));
        }
        for line in hw.all("dattr") {
            let mut it = line.splitn(3, ' ');
            if let (Some(dev), Some(file), Some(value)) = (it.next(), it.next(), it.next()) {
                b.attrs.entry(dev).or_default().0.insert(file, value);
            }
        }
        for line in hw.all("part") {
            if let Some((dev, part)) = line.split_once(' ') {
                b.parts.entry(dev).or_default().push(part);
            }
        }
        for line in hw.all("pattr") {
            let mut it = line.splitn(4, ' ');
            if let (Some(dev), Some(part), Some(file), Some(value)) =
                (it.next(), it.next(), it.next(), it.next())
            {
                b.part_attrs
                    .entry((dev, part))
                    .or_default()
                    .0
                    .insert(file, value);
            }
        }
        for line in hw.all("dhold") {
            let mut it = line.splitn(3, ' ');
            if let (Some(dev), Some(dm)) = (it.next(), it.next()) {
                b.holder(dev, "", dm, it.next());
            }
        }
        for line in hw.all("phold") {
            let mut it = line.splitn(4, ' ');
            if let (Some(dev), Some(part), Some(dm)) = (it.next(), it.next(), it.next()) {
                b.holder(dev, part, dm, it.next());
            }
        }
        b
    }

    /// A holder is listed by its device-mapper name, else as `dm-N`.
    fn holder(&mut self, dev: &'a str, part: &'a str, dm: &'a str, name: Option<&'a str>) {
        let name = name.filter(|n| !n.is_empty()).unwrap_or(dm);
        self.holders.entry((dev, part)).or_default().push(name);
    }

    fn holders(&self, dev: &str, part: &str) -> Value {
        json!(self.holders.get(&(dev, part)).cloned().unwrap_or_default())
    }
}

/// The `links` of one device or partition: its entry in each kind.
fn links_of(all: &DeviceLinks, name: &str) -> Value {
    let m: Map<String, Value> = all
        .iter()
        .map(|(kind, by_dev)| {
            let names = by_dev.get(name).cloned().unwrap_or_default();
            (kind.to_string(), json!(names))
        })
        .collect();
    Value::Object(m)
}

/// What the device-wide lookups give each device.
struct Context<'a> {
    links: DeviceLinks,
    /// `/sys/block/<name>` → its target.
    sysblock: HashMap<&'a str, &'a str>,
    /// `wwn-…` links of by-id: the device → the WWN.
    wwn: HashMap<&'a str, &'a str>,
    /// by-uuid entries, in order, with the device path each resolves to.
    uuids: Vec<(&'a str, String)>,
    pci: Vec<&'a str>,
}

impl<'a> Context<'a> {
    fn new(hw: &Lines<'a>) -> Self {
        let all = links(hw);
        let sysblock = entries_of(&all, "/sys/block/").into_iter().collect();
        let wwn = entries_of(&all, "/dev/disk/by-id/")
            .into_iter()
            .filter_map(|(e, t)| Some((basename(t), e.strip_prefix("wwn-")?)))
            .collect();
        let uuids = entries_of(&all, "/dev/disk/by-uuid/")
            .into_iter()
            .map(|(u, t)| (u, resolve("/dev/disk/by-uuid", t)))
            .collect();
        Context {
            links: device_links(hw),
            sysblock,
            wwn,
            uuids,
            pci: hw.all("pci").collect(),
        }
    }

    /// The device `lspci -D` names at the PCI address in `sysdir`, or "".
    fn host(&self, sysdir: &str) -> String {
        let Some(id) = PCI_IN_PATH
            .as_ref()
            .and_then(|re| re.captures(sysdir))
            .and_then(|c| c.get(1))
        else {
            return String::new();
        };
        self.pci
            .iter()
            .find_map(|line| {
                let rest = line.strip_prefix(id.as_str())?;
                let ws = rest.chars().next().filter(|c| c.is_whitespace())?;
                Some(rest[ws.len_utf8()..].to_string())
            })
            .unwrap_or_default()
    }

    /// The by-uuid entry that resolves to `/dev/<part>`.
    fn uuid(&self, part: &str) -> Value {
        let dev = format!("/dev/{part}");
        json!(self.uuids.iter().find(|(_, d)| *d == dev).map(|(u, _)| *u))
    }
}

/// One partition: the part of a directory name Ansible's
/// `(<disk>[p]?\d+)` search picks, and its facts.
fn partition(b: &Block, ctx: &Context, disk: &str, dir: &str) -> Option<(String, Value)> {
    let re = Regex::new(&format!(r"({disk}[p]?\d+)")).ok()?;
    let name = re.captures(dir)?.get(1)?.as_str().to_string();
    let empty = Attrs::default();
    let a = b.part_attrs.get(&(disk, name.as_str())).unwrap_or(&empty);
    let (sectorsize, size) = a.sectorsize();
    let (sectors, human) = a.sectors(size);
    let start = a.get("start").map_or(json!(0), |s| json!(s));
    let facts = json!({
        "links": links_of(&ctx.links, &name),
        "start": start,
        "sectorsize": sectorsize,
        "sectors": sectors,
        "size": human,
        "uuid": ctx.uuid(&name),
        "holders": b.holders(disk, &name),
    });
    Some((name, facts))
}

/// One device's facts, in Ansible's key order.
fn device(b: &Block, ctx: &Context, name: &str, kind: &str) -> Value {
    let empty = Attrs::default();
    let a = b.attrs.get(name).unwrap_or(&empty);
    let (sysdir, virtual_) = match ctx.sysblock.get(name) {
        Some(target) if target.starts_with('/') => (target.to_string(), 1),
        Some(target) => (format!("/sys/block/{target}"), 1),
        None => (format!("/sys/block/{name}"), i32::from(kind != "device")),
    };
    let mut d = Map::new();
    d.insert("virtual".into(), json!(virtual_));
    d.insert("links".into(), links_of(&ctx.links, name));
    for key in ["vendor", "model", "sas_address", "sas_device_handle"] {
        d.insert(key.into(), a.json(&format!("device/{key}")));
    }
    if let Some(serial) = a.get("device/serial") {
        d.insert("serial".into(), json!(serial));
    }
    d.insert("removable".into(), a.json("removable"));
    let discard = match a.get("queue/discard_max_hw_bytes") {
        Some("0") => json!("0"),
        _ => a.json("queue/discard_granularity"),
    };
    d.insert("support_discard".into(), discard);
    if let Some(wwn) = ctx.wwn.get(name) {
        d.insert("wwn".into(), json!(wwn));
    }
    let parts: Map<String, Value> = b
        .parts
        .get(name)
        .into_iter()
        .flatten()
        .filter_map(|dir| partition(b, ctx, name, dir))
        .collect();
    d.insert("partitions".into(), Value::Object(parts));
    d.insert("rotational".into(), a.json("queue/rotational"));
    let scheduler = a
        .get("queue/scheduler")
        .and_then(|s| SCHEDULER.as_ref()?.captures(s)?.get(2))
        .map_or("", |m| m.as_str());
    d.insert("scheduler_mode".into(), json!(scheduler));
    let (sectorsize, size) = a.sectorsize();
    let (sectors, human) = a.sectors(size);
    d.insert("sectorsize".into(), sectorsize);
    d.insert("sectors".into(), json!(sectors));
    d.insert("size".into(), json!(human));
    d.insert("host".into(), json!(ctx.host(&sysdir)));
    d.insert("holders".into(), b.holders(name, ""));
    Value::Object(d)
}

/// Adds `devices` (always, `{}` without `/sys/block`) and `device_links`
/// (only when `/sys/block` could be listed, as Ansible).
pub(super) fn add(hw: &Lines, facts: &mut Map<String, Value>) {
    if !hw.has("sysblock") {
        facts.insert("devices".into(), json!({}));
        return;
    }
    let b = Block::new(hw);
    let ctx = Context::new(hw);
    let devices: Map<String, Value> = b
        .devices
        .iter()
        .map(|(name, kind)| (name.to_string(), device(&b, &ctx, name, kind)))
        .collect();
    facts.insert("devices".into(), Value::Object(devices));
    facts.insert("device_links".into(), json!(ctx.links));
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
    fn human_sizes() {
        assert_eq!(bytes_to_human(0.0), "0.00 Bytes");
        assert_eq!(bytes_to_human(512.0), "512.00 Bytes");
        assert_eq!(bytes_to_human(2048.0), "2.00 KB");
        assert_eq!(bytes_to_human(274877906944.0), "256.00 GB");
        assert_eq!(bytes_to_human(1.5 * 2f64.powi(40)), "1.50 TB");
    }

    #[test]
    fn resolves_link_targets() {
        assert_eq!(resolve("/dev/disk/by-uuid", "../../sda1"), "/dev/sda1");
        assert_eq!(resolve("/dev/disk/by-uuid", "/dev/x"), "/dev/x");
    }

    #[test]
    fn virtio_disk_and_loop() {
        let out = "hw.sysblock\n\
            hw.link /sys/block/vda ../devices/pci0000:00/0000:00:02.0/virtio1/block/vda\n\
            hw.link /sys/block/loop0 ../devices/virtual/block/loop0\n\
            hw.pci 0000:00:02.0 SCSI storage controller: Red Hat, Inc. Virtio block device\n\
            hw.dev loop0 link\n\
            hw.dattr loop0 removable 0\n\
            hw.dattr loop0 queue/discard_max_hw_bytes 0\n\
            hw.dattr loop0 queue/discard_granularity 0\n\
            hw.dattr loop0 queue/rotational 0\n\
            hw.dattr loop0 queue/scheduler [none] mq-deadline\n\
            hw.dattr loop0 queue/logical_block_size 512\n\
            hw.dattr loop0 size 0\n\
            hw.dev vda link\n\
            hw.dattr vda device/vendor 0x1af4\n\
            hw.dattr vda removable 0\n\
            hw.dattr vda queue/discard_max_hw_bytes 1073741824\n\
            hw.dattr vda queue/discard_granularity 4096\n\
            hw.dattr vda queue/rotational 1\n\
            hw.dattr vda queue/scheduler none [mq-deadline] kyber bfq\n\
            hw.dattr vda queue/logical_block_size 512\n\
            hw.dattr vda size 536870912\n";
        let f = facts(out);
        let no_links = json!({"ids": [], "labels": [], "masters": [], "uuids": []});
        assert_eq!(
            f["devices"]["vda"],
            json!({
                "virtual": 1, "links": no_links, "vendor": "0x1af4", "model": null,
                "sas_address": null, "sas_device_handle": null, "removable": "0",
                "support_discard": "4096", "partitions": {}, "rotational": "1",
                "scheduler_mode": "mq-deadline", "sectorsize": "512", "sectors": 536870912,
                "size": "256.00 GB",
                "host": "SCSI storage controller: Red Hat, Inc. Virtio block device",
                "holders": [],
            })
        );
        let loop0 = &f["devices"]["loop0"];
        assert_eq!(loop0["support_discard"], "0");
        assert_eq!(loop0["scheduler_mode"], "none");
        assert_eq!(loop0["size"], "0.00 Bytes");
        assert_eq!(loop0["host"], "");
        assert_eq!(
            f["device_links"],
            json!({"ids": {}, "labels": {}, "masters": {}, "uuids": {}})
        );
    }

    #[test]
    fn partitions_links_and_holders() {
        let out = "hw.sysblock\n\
            hw.link /dev/disk/by-id/wwn-0x5000c500a1 ../../sda\n\
            hw.link /dev/disk/by-id/ata-DISK_1 ../../sda\n\
            hw.link /dev/disk/by-id/ata-DISK_1-part2 ../../sda2\n\
            hw.link /dev/disk/by-uuid/aaaa-bbbb ../../sda1\n\
            hw.link /dev/disk/by-label/boot ../../sda1\n\
            hw.dev sda link\n\
            hw.dattr sda device/model Samsung SSD\n\
            hw.dattr sda device/serial S123\n\
            hw.dattr sda size 1000\n\
            hw.part sda sda1\n\
            hw.pattr sda sda1 start 2048\n\
            hw.pattr sda sda1 size 1024\n\
            hw.part sda sda2\n\
            hw.pattr sda sda2 start 4096\n\
            hw.pattr sda sda2 queue/logical_block_size 4096\n\
            hw.pattr sda sda2 size 80\n\
            hw.phold sda sda2 dm-0 vg-root\n\
            hw.phold sda sda2 dm-1 \n\
            hw.dev dm-0 link\n\
            hw.dattr dm-0 dm/name vg-root\n\
            hw.slave dm-0 sda2\n";
        let f = facts(out);
        let sda = &f["devices"]["sda"];
        assert_eq!(sda["model"], "Samsung SSD");
        assert_eq!(sda["serial"], "S123");
        assert_eq!(sda["wwn"], "0x5000c500a1");
        assert_eq!(sda["sectorsize"], 512);
        assert_eq!(sda["removable"], Value::Null);
        assert_eq!(
            sda["links"]["ids"],
            json!(["ata-DISK_1", "wwn-0x5000c500a1"])
        );
        assert_eq!(
            sda["partitions"]["sda1"],
            json!({
                "links": {"ids": [], "uuids": ["aaaa-bbbb"], "labels": ["boot"], "masters": []},
                "start": "2048", "sectorsize": 512, "sectors": 1024, "size": "512.00 KB",
                "uuid": "aaaa-bbbb", "holders": [],
            })
        );
        let sda2 = &sda["partitions"]["sda2"];
        assert_eq!(sda2["sectors"], 10);
        assert_eq!(sda2["sectorsize"], "4096");
        assert_eq!(sda2["uuid"], Value::Null);
        assert_eq!(sda2["holders"], json!(["vg-root", "dm-1"]));
        assert_eq!(sda2["links"]["masters"], json!(["dm-0"]));
        assert_eq!(f["device_links"]["masters"], json!({"sda2": ["dm-0"]}));
        assert_eq!(f["device_links"]["labels"], json!({"sda1": ["boot"]}));
        assert!(f["devices"]["dm-0"].get("serial").is_none());
        assert_eq!(
            uuids_by_device(&Lines::new(out))
                .get("/dev/sda1")
                .map(String::as_str),
            Some("aaaa-bbbb")
        );
    }

    #[test]
    fn nvme_partition_names_and_old_sysfs() {
        let out = "hw.sysblock\nhw.dev nvme0n1 device\nhw.part nvme0n1 nvme0n1p1\n\
                   hw.pattr nvme0n1 nvme0n1p1 size 8\nhw.dev md0 plain\n";
        let f = facts(out);
        let nvme = &f["devices"]["nvme0n1"];
        assert_eq!(nvme["virtual"], 0);
        assert_eq!(nvme["partitions"]["nvme0n1p1"]["start"], 0);
        assert_eq!(nvme["partitions"]["nvme0n1p1"]["size"], "4.00 KB");
        assert_eq!(f["devices"]["md0"]["virtual"], 1);
    }

    #[test]
    fn without_sys_block() {
        let f = facts("");
        assert_eq!(f["devices"], json!({}));
        assert!(f.get("device_links").is_none());
    }
}
