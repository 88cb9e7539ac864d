//! `stat`: a path's state with every field Ansible's `stat` returns.
//!
//! One read-only snippet (batched with the run's other probes) asks GNU
//! `stat` for the inode's numbers, `test -r/-w/-x` for what the task's user
//! may do (Python's `os.access`), `readlink`/`realpath` for a link,
//! `{algorithm}sum` for the checksum (sha1 unless `checksum_algorithm` says
//! otherwise, as Ansible), `file --mime-type --mime-encoding` and
//! `lsattr -vd` when asked and present. Fields come out with Ansible's names
//! and types (times as float seconds, `mode` as `"0644"`, the permission
//! bits as booleans), so `stat_result.stat.checksum == '…'` compares the
//! same value under both.

use std::collections::HashMap;

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::Read;
use super::typed::{choice, module_args};
use super::{Decision, PlanCx, PlanError};

/// `stat -c` fields, `|`-separated: raw mode (hex), size, inode, device,
/// links, atime, mtime, ctime, uid, gid, user, group, blocks, I/O block
/// size, device type major and minor (hex).
const FORMAT: &str = "%f|%s|%i|%d|%h|%.9X|%.9Y|%.9Z|%u|%g|%U|%G|%b|%o|%t|%T";

/// `lsattr`'s flag letters and Ansible's names for them
/// (`module_utils.common.file.FILE_ATTRIBUTES`).
const ATTRIBUTES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// What the task asked for besides the inode.
struct Asked {
    follow: bool,
    checksum: Option<String>,
    mime: bool,
    attributes: bool,
}

choice! {
    /// The checksum `checksum_algorithm` asks for.
    pub enum Algorithm {
        Md5 = "md5",
        Sha1 = "sha1",
        Sha224 = "sha224",
        Sha256 = "sha256",
        Sha384 = "sha384",
        Sha512 = "sha512",
    }
}

module_args! {
    /// `stat`'s arguments, with Ansible's aliases.
    pub struct Args {
        path: String ["path", "dest", "name"],
        /// Describe what a symbolic link leads to, not the link.
        follow: bool ["follow"] = false,
        get_checksum: bool ["get_checksum"] = true,
        checksum_algorithm: Algorithm ["checksum_algorithm", "checksum", "checksum_algo"] = Algorithm::Sha1,
        get_mime: bool ["get_mime", "mime", "mime_type", "mime-type"] = true,
        get_attributes: bool ["get_attributes", "attr", "attributes"] = true,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let asked = Asked {
        follow: args.follow,
        checksum: args
            .get_checksum
            .then(|| args.checksum_algorithm.as_str().to_string()),
        mime: args.get_mime,
        attributes: args.get_attributes,
    };
    let path = args.path;
    let out = cx.ask_about(
        &path,
        Read::Raw {
            script: snippet(&path, &asked),
            why: "stat's fields as key=value lines, asked only as the task asks for them \
                  and parsed beside the snippet",
        },
    )?;
    let stat = parse(&path, &asked, &out).map_err(PlanError::Fail)?;
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("stat".into(), stat);
    Ok(Decision::Ok { result, msg: None })
}

/// The read-only snippet: `key=value` lines, `rp_exists=no` alone when
/// there is nothing at the path (or, with `follow`, nothing it leads to).
fn snippet(path: &str, asked: &Asked) -> String {
    let p = quote(path);
    let (exists, deref) = if asked.follow {
        (format!("[ -e {p} ]"), " -L")
    } else {
        (format!("{{ [ -e {p} ] || [ -L {p} ]; }}"), "")
    };
    let mut s = format!(
        "if ! {exists}; then echo rp_exists=no; exit 0; fi\n\
         echo \"rp_stat=$(stat{deref} -c '{FORMAT}' -- {p})\"\n\
         for _rp_t in r w x; do if [ -\"$_rp_t\" {p} ]; then echo \"rp_$_rp_t=yes\"; else echo \"rp_$_rp_t=no\"; fi; done\n\
         if [ -L {p} ]; then echo \"rp_target=$(readlink -- {p})\"; echo \"rp_source=$(realpath -m -- {p})\"; fi\n"
    );
    if let Some(algo) = &asked.checksum {
        // Only for a regular file the task's user can read (after `follow`).
        let regular = if asked.follow {
            format!("[ -f {p} ]")
        } else {
            format!("[ -f {p} ] && [ ! -L {p} ]")
        };
        s.push_str(&format!(
            "if {regular} && [ -r {p} ]; then echo \"rp_checksum=$({algo}sum < {p} | cut -d' ' -f1)\"; fi\n"
        ));
    }
    if asked.mime {
        s.push_str(&format!(
            "if command -v file >/dev/null; then echo \"rp_mime=$(file --mime-type --mime-encoding -- {p})\"; fi\n"
        ));
    }
    if asked.attributes {
        s.push_str(&format!(
            "if command -v lsattr >/dev/null; then echo \"rp_attr=$(lsattr -vd -- {p} 2>/dev/null)\"; fi\n"
        ));
    }
    s
}

/// The `stat` mapping from the snippet's output.
fn parse(path: &str, asked: &Asked, out: &str) -> Result<Json, String> {
    let kv: HashMap<&str, &str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("rp_")?.split_once('='))
        .collect();
    if kv.get("exists") == Some(&"no") {
        return Ok(json!({"exists": false}));
    }
    let f: Vec<&str> = kv.get("stat").copied().unwrap_or("").split('|').collect();
    let [raw_mode, size, inode, dev, nlink, atime, mtime, ctime, uid, gid, user, group, blocks, block_size, major, minor] =
        f[..]
    else {
        return Err(format!(
            "cannot stat `{path}` on the host (is GNU stat there?): {out}"
        ));
    };
    let hex = |s: &str| {
        u64::from_str_radix(s, 16).map_err(|_| format!("unexpected stat output `{s}` for `{path}`"))
    };
    let int = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("unexpected stat output `{s}` for `{path}`"))
    };
    let time = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("unexpected stat output `{s}` for `{path}`"))
    };
    let mode = hex(raw_mode)?;
    let kind = mode & 0o170000;
    let bit = |b: u64| mode & b != 0;
    let yes = |k: &str| kv.get(k) == Some(&"yes");
    let mut m = Map::new();
    m.insert("exists".into(), json!(true));
    m.insert("path".into(), json!(path));
    m.insert("mode".into(), json!(format!("{:04o}", mode & 0o7777)));
    m.insert("isdir".into(), json!(kind == 0o040000));
    m.insert("ischr".into(), json!(kind == 0o020000));
    m.insert("isblk".into(), json!(kind == 0o060000));
    m.insert("isreg".into(), json!(kind == 0o100000));
    m.insert("isfifo".into(), json!(kind == 0o010000));
    m.insert("islnk".into(), json!(kind == 0o120000));
    m.insert("issock".into(), json!(kind == 0o140000));
    m.insert("uid".into(), json!(int(uid)?));
    m.insert("gid".into(), json!(int(gid)?));
    m.insert("size".into(), json!(int(size)?));
    m.insert("inode".into(), json!(int(inode)?));
    m.insert("dev".into(), json!(int(dev)?));
    m.insert("nlink".into(), json!(int(nlink)?));
    m.insert("atime".into(), json!(time(atime)?));
    m.insert("mtime".into(), json!(time(mtime)?));
    m.insert("ctime".into(), json!(time(ctime)?));
    for (name, b) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        m.insert(name.into(), json!(bit(b)));
    }
    m.insert("blocks".into(), json!(int(blocks)?));
    m.insert("block_size".into(), json!(int(block_size)?));
    m.insert("device_type".into(), json!(rdev(hex(major)?, hex(minor)?)));
    m.insert("readable".into(), json!(yes("r")));
    m.insert("writeable".into(), json!(yes("w")));
    m.insert("executable".into(), json!(yes("x")));
    if kind == 0o120000 {
        m.insert(
            "lnk_source".into(),
            json!(kv.get("source").copied().unwrap_or("")),
        );
        m.insert(
            "lnk_target".into(),
            json!(kv.get("target").copied().unwrap_or("")),
        );
    }
    // Ansible leaves the names out when the ids have none.
    if user != "UNKNOWN" {
        m.insert("pw_name".into(), json!(user));
    }
    if group != "UNKNOWN" {
        m.insert("gr_name".into(), json!(group));
    }
    if asked.checksum.is_some() {
        if let Some(c) = kv.get("checksum").filter(|c| !c.is_empty()) {
            m.insert("checksum".into(), json!(c));
        }
    }
    if asked.mime {
        let (mimetype, charset) = kv
            .get("mime")
            .and_then(|l| {
                let (_, rest) = l.rsplit_once(':')?;
                let (t, c) = rest.split_once(';')?;
                Some((t.trim(), c.split_once('=')?.1.trim()))
            })
            .unwrap_or(("unknown", "unknown"));
        m.insert("mimetype".into(), json!(mimetype));
        m.insert("charset".into(), json!(charset));
    }
    if asked.attributes {
        let words: Vec<&str> = kv
            .get("attr")
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        match words[..] {
            [version, flags, ..] => {
                let flags = flags.replace('-', "");
                let names: Vec<&str> = flags
                    .chars()
                    .filter_map(|c| ATTRIBUTES.iter().find(|(f, _)| *f == c).map(|(_, n)| *n))
                    .collect();
                m.insert("version".into(), json!(version));
                m.insert("attr_flags".into(), json!(flags));
                m.insert("attributes".into(), json!(names));
            }
            _ => {
                m.insert("version".into(), Json::Null);
                m.insert("attributes".into(), json!([]));
                m.insert("attr_flags".into(), json!(""));
            }
        }
    }
    Ok(Json::Object(m))
}

/// Linux's `st_rdev` from a device's major and minor numbers (glibc's
/// `makedev`), as Python reports it.
fn rdev(major: u64, minor: u64) -> u64 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Asked {
        Asked {
            follow: false,
            checksum: Some("sha1".into()),
            mime: true,
            attributes: true,
        }
    }

    /// The snippet run with this machine's `sh` on a real file: the fields
    /// match what Rust's own metadata says.
    #[test]
    fn a_real_file_reads_as_ansible_reports_it() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("foo.txt");
        std::fs::write(&f, "hello world").unwrap();
        let path = f.display().to_string();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(snippet(&path, &all()))
            .output()
            .unwrap();
        let st = parse(&path, &all(), &String::from_utf8_lossy(&out.stdout)).unwrap();
        let md = std::fs::metadata(&f).unwrap();
        assert_eq!(
            st["checksum"],
            json!("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")
        );
        assert_eq!(st["size"], json!(11));
        assert_eq!(st["inode"], json!(md.ino()));
        assert_eq!(st["dev"], json!(md.dev()));
        assert_eq!(st["nlink"], json!(1));
        assert_eq!(st["isreg"], json!(true));
        assert_eq!(st["islnk"], json!(false));
        assert_eq!(st["readable"], json!(true));
        assert_eq!(st["mode"], json!(format!("{:04o}", md.mode() & 0o7777)));
        let mtime = st["mtime"].as_f64().unwrap();
        assert!((mtime - md.mtime() as f64).abs() < 1.0, "{mtime}");
        assert!(st.get("lnk_source").is_none());
    }

    #[test]
    fn a_link_and_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let run = |p: &str, asked: &Asked| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(snippet(p, asked))
                .output()
                .unwrap();
            parse(p, asked, &String::from_utf8_lossy(&out.stdout)).unwrap()
        };
        let l = link.display().to_string();
        let st = run(&l, &all());
        assert_eq!(st["islnk"], json!(true));
        assert_eq!(st["lnk_target"], json!(target.display().to_string()));
        assert!(st.get("checksum").is_none(), "a link has no checksum");
        let followed = run(
            &l,
            &Asked {
                follow: true,
                ..all()
            },
        );
        assert_eq!(followed["isreg"], json!(true));
        assert!(followed.get("checksum").is_some());
        let none = run(&dir.path().join("nope").display().to_string(), &all());
        assert_eq!(none, json!({"exists": false}));
    }

    #[test]
    fn device_numbers_are_linux_makedev() {
        assert_eq!(rdev(1, 3), 259); // /dev/null
        assert_eq!(rdev(8, 0), 2048);
    }
}
