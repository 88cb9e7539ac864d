//! `mounts`: the mount table's entries Ansible keeps (a device that is a
//! path, `\\…` or `host:/…`, and a type other than `none`), one per mount
//! point (the last entry's fields at the first one's place, as its dict
//! keyed by mount point gives), with their `statvfs` sizes and UUID.
//!
//! Lines read: `hw.mnt <raw line of /etc/mtab or /proc/mounts>`,
//! `hw.bind <raw mount point>` (a mount whose root is not `/`, what
//! `findmnt` shows as `source[/dir]`), `hw.df <bavail> <blocks> <files>
//! <ffree> <frsize> <bsize> <path>` (`stat -f` of the unescaped mount
//! point), `hw.dftimeout` (the network mounts' `stat` timed out).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::{devices, unescape, Lines};

/// Ansible's note on a mount whose sizes did not come in time.
const TIMEOUT_NOTE: &str = "Could not get extra information due to timeout";

/// One `statvfs`, as `stat -f` prints it.
struct Statvfs {
    bavail: u64,
    blocks: u64,
    files: u64,
    ffree: u64,
    frsize: u64,
    bsize: u64,
}

impl Statvfs {
    /// A `hw.df` line: six numbers and the path (which may hold spaces).
    fn parse(line: &str) -> Option<(&str, Statvfs)> {
        let mut parts = line.splitn(7, ' ');
        let mut num = || parts.next()?.parse::<u64>().ok();
        let st = Statvfs {
            bavail: num()?,
            blocks: num()?,
            files: num()?,
            ffree: num()?,
            frsize: num()?,
            bsize: num()?,
        };
        Some((parts.next()?, st))
    }

    /// Ansible's size keys, in its order.
    fn insert_into(&self, m: &mut Map<String, Value>) {
        let sizes = [
            ("size_total", self.frsize.saturating_mul(self.blocks)),
            ("size_available", self.frsize.saturating_mul(self.bavail)),
            ("block_size", self.bsize),
            ("block_total", self.blocks),
            ("block_available", self.bavail),
            ("block_used", self.blocks.saturating_sub(self.bavail)),
            ("inode_total", self.files),
            ("inode_available", self.ffree),
            ("inode_used", self.files.saturating_sub(self.ffree)),
        ];
        for (k, v) in sizes {
            m.insert(k.into(), json!(v));
        }
    }
}

/// A mount table line as Ansible reads it, if it keeps it: the fields
/// unescaped, `dump` and `passno` as ints.
fn entry(line: &str, binds: &HashSet<String>) -> Option<Map<String, Value>> {
    let fields: Vec<String> = line.split_whitespace().map(unescape).collect();
    let [device, mount, fstype, options, rest @ ..] = fields.as_slice() else {
        return None;
    };
    let path_like = device.starts_with(['/', '\\']) || device.contains(":/");
    if !path_like || fstype == "none" {
        return None;
    }
    let int = |i: usize| rest.get(i).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let mut options = options.clone();
    // Ansible's test for "already marked" wants a quote after `bind`, so it
    // never holds for a kernel's mount table: every bind mount gets one.
    if binds.contains(mount) && !bind_marked(&options) {
        options.push_str(",bind");
    }
    let mut m = Map::new();
    m.insert("mount".into(), json!(mount));
    m.insert("device".into(), json!(device));
    m.insert("fstype".into(), json!(fstype));
    m.insert("options".into(), json!(options));
    m.insert("dump".into(), json!(int(0)));
    m.insert("passno".into(), json!(int(1)));
    Some(m)
}

/// Ansible's `.*bind.*"` test on the options.
fn bind_marked(options: &str) -> bool {
    options
        .find("bind")
        .is_some_and(|i| options[i + 4..].contains('"'))
}

/// The bind mounts as Ansible's split of `findmnt --list` finds them: a
/// mount point with whitespace is cut there, so it never matches.
fn bind_mounts(hw: &Lines) -> HashSet<String> {
    hw.all("bind")
        .map(unescape)
        .filter(|m| !m.chars().any(char::is_whitespace))
        .collect()
}

/// Adds `mounts` (an empty list when the table could not be read).
pub(super) fn add(hw: &Lines, facts: &mut Map<String, Value>) {
    let binds = bind_mounts(hw);
    let sizes: HashMap<&str, Statvfs> = hw.all("df").filter_map(Statvfs::parse).collect();
    let uuids = devices::uuids_by_device(hw);
    let timed_out = hw.has("dftimeout");
    let mut mounts: Vec<Map<String, Value>> = Vec::new();
    for mut m in hw.all("mnt").filter_map(|l| entry(l, &binds)) {
        let mount = m["mount"].as_str().unwrap_or_default().to_string();
        let device = m["device"].as_str().unwrap_or_default().to_string();
        match sizes.get(mount.as_str()) {
            Some(st) => st.insert_into(&mut m),
            None if timed_out => {
                m.insert("note".into(), json!(TIMEOUT_NOTE));
            }
            None => {}
        }
        if !m.contains_key("note") {
            let uuid = uuids.get(&device).map_or("N/A", String::as_str);
            m.insert("uuid".into(), json!(uuid));
        }
        match mounts.iter_mut().find(|o| o["mount"] == m["mount"]) {
            Some(old) => *old = m,
            None => mounts.push(m),
        }
    }
    facts.insert("mounts".into(), json!(mounts));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounts(out: &str) -> Vec<Value> {
        let mut f = Map::new();
        add(&Lines::new(out), &mut f);
        f["mounts"].as_array().unwrap().clone()
    }

    const ROOT: &str = "hw.mnt /dev/vda / ext4 rw,relatime 0 1\n\
                        hw.df 14794223 66053021 16777216 16278833 4096 4096 /\n";

    #[test]
    fn sizes_and_fields() {
        let m = mounts(ROOT);
        assert_eq!(
            m,
            [json!({
                "mount": "/", "device": "/dev/vda", "fstype": "ext4",
                "options": "rw,relatime", "dump": 0, "passno": 1,
                "size_total": 270553174016u64, "size_available": 60597137408u64,
                "block_size": 4096, "block_total": 66053021, "block_available": 14794223,
                "block_used": 51258798, "inode_total": 16777216, "inode_available": 16278833,
                "inode_used": 498383, "uuid": "N/A",
            })]
        );
    }

    #[test]
    fn keeps_what_ansible_keeps() {
        let out = "hw.mnt proc /proc proc rw 0 0\n\
                   hw.mnt tmpfs /run tmpfs rw 0 0\n\
                   hw.mnt /dev/sdb /x none rw 0 0\n\
                   hw.mnt server:/export /nfs nfs4 rw,vers=4.2 0 0\n\
                   hw.mnt \\\\srv\\share /cifs cifs rw 0 0\n\
                   hw.mnt //srv/share /smb cifs rw 0 0\n\
                   hw.mnt short line\n";
        let m = mounts(out);
        let names: Vec<_> = m.iter().map(|m| m["mount"].as_str().unwrap()).collect();
        assert_eq!(names, ["/nfs", "/cifs", "/smb"]);
        // No sizes came (no `stat` line): no size keys, still a UUID.
        assert_eq!(m[0]["uuid"], "N/A");
        assert!(m[0].get("size_total").is_none());
    }

    #[test]
    fn escapes_and_spaces() {
        let out = "hw.mnt /dev/sda1 /mnt/my\\040disk ext4 rw,x\\134y 0 0\n\
                   hw.df 1 2 3 4 512 4096 /mnt/my disk\n";
        let m = mounts(out);
        assert_eq!(m[0]["mount"], "/mnt/my disk");
        assert_eq!(m[0]["options"], "rw,x\\y");
        assert_eq!(m[0]["size_total"], 1024);
        assert_eq!(m[0]["block_size"], 4096);
    }

    #[test]
    fn bind_mounts_marked() {
        let out = format!(
            "{ROOT}hw.bind /run/netns\nhw.bind /a\\040b\n\
             hw.mnt /dev/vda /run/netns ext4 rw 0 0\nhw.mnt /dev/vda /a\\040b ext4 rw 0 0\n"
        );
        let m = mounts(&out);
        assert_eq!(m[0]["options"], "rw,relatime");
        assert_eq!(m[1]["options"], "rw,bind");
        assert_eq!(m[2]["options"], "rw");
        assert!(bind_marked("x,bind,\"y\""));
        assert!(!bind_marked("bind"));
    }

    #[test]
    fn one_per_mount_point_last_wins_first_place() {
        let out = "hw.mnt /dev/a /m ext4 rw 0 0\nhw.mnt /dev/b /n ext4 rw 0 0\nhw.mnt /dev/c /m xfs ro 0 0\n";
        let m = mounts(out);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["device"], "/dev/c");
        assert_eq!(m[1]["device"], "/dev/b");
    }

    #[test]
    fn uuid_from_by_uuid_links() {
        let out = "hw.link /dev/disk/by-uuid/1234-abcd ../../sda1\n\
                   hw.link /dev/disk/by-uuid/5678 ../../dm-0\n\
                   hw.dattr dm-0 dm/name vg-root\n\
                   hw.mnt /dev/sda1 /boot ext4 rw 0 2\n\
                   hw.mnt /dev/mapper/vg-root / ext4 rw 0 1\n";
        let m = mounts(out);
        assert_eq!(m[0]["uuid"], "1234-abcd");
        assert_eq!(m[1]["uuid"], "5678");
    }

    #[test]
    fn network_timeout_notes() {
        let out = format!("{ROOT}hw.mnt srv:/x /nfs nfs rw 0 0\nhw.dftimeout\n");
        let m = mounts(&out);
        assert_eq!(m[0]["uuid"], "N/A");
        assert_eq!(m[1]["note"], TIMEOUT_NOTE);
        assert!(m[1].get("uuid").is_none());
    }

    #[test]
    fn nothing_read() {
        assert!(mounts("").is_empty());
        assert!(Statvfs::parse("1 2 3").is_none());
    }
}
