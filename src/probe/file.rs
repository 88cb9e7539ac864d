//! File state on the host: one `stat` (and `sha256sum` of regular files) per path.

use base64::Engine;

/// Shell functions the snippets call. `stat -c` and `sha256sum` are GNU
/// coreutils, present on every Debian-family host without Python. The file
/// is hashed from stdin: `sha256sum NAME` escapes a name with `\` or a
/// newline by putting `\` before the hash itself.
pub const HELPERS: &str = r#"_rp_stat() {
  if [ "$2" = 0 ] && [ -L "$1" ]; then
    stat -c 'symbolic link|%a|%U|%G|%u|%g|%s' -- "$1" && readlink -- "$1"
  elif [ -e "$1" ]; then
    _rp_t=$(stat -L -c '%F|%a|%U|%G|%u|%g|%s' -- "$1") || { echo error; return; }
    echo "$_rp_t"
    case "$_rp_t" in regular*) { sha256sum < "$1"; } 2>/dev/null | cut -d' ' -f1 ;; esac
  elif [ -L "$1" ]; then
    echo "symbolic link|0|-|-|0|0|0"; readlink -- "$1"
  else
    echo missing
  fi
}
_rp_content() {
  if [ -f "$1" ] && [ "$(stat -L -c %s -- "$1")" -le 1048576 ]; then base64 -w0 -- "$1"; echo; else echo '-'; fi
}
"#;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    Missing,
    File,
    Directory,
    Link,
    Other,
}

/// What `stat` says about a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    pub kind: FileKind,
    /// Permission bits in octal, as `stat %a` prints them (`644`, `1777`).
    pub mode: String,
    pub owner: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub sha256: Option<String>,
    pub link_target: Option<String>,
}

impl FileState {
    pub fn missing() -> Self {
        FileState {
            kind: FileKind::Missing,
            mode: String::new(),
            owner: String::new(),
            group: String::new(),
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            link_target: None,
        }
    }

    pub fn exists(&self) -> bool {
        self.kind != FileKind::Missing
    }
}

/// Whether a path can go in the batched stat (its output is `|`-separated,
/// one line per path, and sha256sum escapes names with `\\` or newlines).
pub fn batchable(path: &str) -> bool {
    !path.is_empty() && !path.contains(['\n', '|', '\\']) && !path.starts_with('-')
}

/// One `stat` for the paths that follow links, one for those that don't,
/// `readlink` for the links among the latter, and one `sha256sum` over every
/// regular file. Missing paths simply print no line.
pub fn batch_snippet(paths: &[(&str, bool)]) -> String {
    let q = |follow: bool| -> String {
        paths
            .iter()
            .filter(|(_, f)| *f == follow)
            .map(|(p, _)| rprov_transport::quote(p))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (follow, nofollow) = (q(true), q(false));
    let mut s = String::new();
    if !follow.is_empty() {
        s.push_str(&format!(
            "stat -L -c 'F|%F|%a|%U|%G|%u|%g|%s|%n' -- {follow} 2>/dev/null\n"
        ));
    }
    if !nofollow.is_empty() {
        s.push_str(&format!(
            "stat -c 'N|%F|%a|%U|%G|%u|%g|%s|%n' -- {nofollow} 2>/dev/null\n\
             for _rp_p in {nofollow}; do [ -L \"$_rp_p\" ] && printf 'L|%s|%s\\n' \"$_rp_p\" \"$(readlink -- \"$_rp_p\")\"; done\n"
        ));
    }
    let mut finds = Vec::new();
    if !follow.is_empty() {
        finds.push(format!(
            "find -L {follow} -maxdepth 0 -type f -print0 2>/dev/null"
        ));
    }
    if !nofollow.is_empty() {
        finds.push(format!(
            "find {nofollow} -maxdepth 0 -type f -print0 2>/dev/null"
        ));
    }
    s.push_str(&format!(
        "{{ {}; }} | xargs -0 -r sha256sum -- 2>/dev/null | sed 's/^/H|/'\n",
        finds.join("; ")
    ));
    s
}

/// Reads [`batch_snippet`]'s output: one state per `(path, follow)`, in order.
pub fn parse_batch(out: &str, paths: &[(&str, bool)]) -> Result<Vec<FileState>, String> {
    let mut stats: std::collections::HashMap<(bool, &str), &str> = std::collections::HashMap::new();
    let mut links: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut hashes: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("H|") {
            if let Some((hash, name)) = rest.split_once("  ") {
                hashes.insert(name, hash);
            }
        } else if let Some(rest) = line.strip_prefix("L|") {
            if let Some((name, target)) = rest.split_once('|') {
                links.insert(name, target);
            }
        } else if let Some(rest) = line.strip_prefix("F|").or_else(|| line.strip_prefix("N|")) {
            let follow = line.starts_with('F');
            let name = rest.splitn(8, '|').nth(7).unwrap_or("");
            stats.insert((follow, name), rest);
        }
    }
    paths
        .iter()
        .map(|(path, follow)| {
            let Some(rest) = stats.get(&(*follow, *path)) else {
                return Ok(FileState::missing());
            };
            // The same fields as the single-path snippet, minus the name.
            let fields: Vec<&str> = rest.splitn(8, '|').take(7).collect();
            let mut text = fields.join("|");
            text.push('\n');
            // A path may be asked both ways: not following, a link's second
            // line is its target, never the hash of what it points to.
            let link = if *follow { None } else { links.get(path) };
            if let Some(t) = link {
                text.push_str(t);
            } else if let Some(h) = hashes.get(path) {
                text.push_str(h);
            }
            text.push('\n');
            parse_stat(&text)
        })
        .collect()
}

pub fn stat_snippet(path: &str, follow: bool) -> String {
    format!(
        "_rp_stat {} {}",
        rprov_transport::quote(path),
        u8::from(follow)
    )
}

pub fn content_snippet(path: &str) -> String {
    format!("_rp_content {}", rprov_transport::quote(path))
}

pub fn tree_snippet(
    path: &str,
    owner: Option<&str>,
    group: Option<&str>,
    mode: Option<&str>,
) -> String {
    let mut tests = Vec::new();
    if let Some(o) = owner {
        let flag = if o.chars().all(|c| c.is_ascii_digit()) {
            "-uid"
        } else {
            "-user"
        };
        tests.push(format!("! {flag} {}", rprov_transport::quote(o)));
    }
    if let Some(g) = group {
        let flag = if g.chars().all(|c| c.is_ascii_digit()) {
            "-gid"
        } else {
            "-group"
        };
        tests.push(format!("! {flag} {}", rprov_transport::quote(g)));
    }
    if let Some(m) = mode {
        // A link's own mode is always 0777 and chmod never changes it.
        tests.push(format!("! -type l ! -perm {}", rprov_transport::quote(m)));
    }
    if tests.is_empty() {
        return "echo same".to_string();
    }
    format!(
        "if [ -n \"$(find {} \\( {} \\) -print 2>/dev/null | head -n 1)\" ]; then echo differs; else echo same; fi",
        rprov_transport::quote(path),
        tests.join(" -o ")
    )
}

pub fn parse_stat(out: &str) -> Result<FileState, String> {
    let mut lines = out.lines();
    let first = lines.next().unwrap_or("").trim();
    if first == "missing" {
        return Ok(FileState::missing());
    }
    if first == "error" || first.is_empty() {
        return Err("stat failed (permission denied?)".to_string());
    }
    let parts: Vec<&str> = first.split('|').collect();
    if parts.len() != 7 {
        return Err(format!("unexpected stat output `{first}`"));
    }
    let kind = match parts[0] {
        k if k.starts_with("regular") => FileKind::File,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Link,
        _ => FileKind::Other,
    };
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("unexpected number `{s}` in stat output"))
    };
    let second = lines
        .next()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Ok(FileState {
        mode: format!("{:0>4}", parts[1]),
        owner: parts[2].to_string(),
        group: parts[3].to_string(),
        uid: num(parts[4])? as u32,
        gid: num(parts[5])? as u32,
        size: num(parts[6])?,
        sha256: if kind == FileKind::File {
            second.clone()
        } else {
            None
        },
        link_target: if kind == FileKind::Link { second } else { None },
        kind,
    })
}

pub fn parse_content(out: &str) -> Result<Option<Vec<u8>>, String> {
    let t = out.trim();
    if t == "-" {
        return Ok(None);
    }
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .map(Some)
        .map_err(|e| format!("bad base64 from host: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_matches_single_path_snippets() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.txt"), "hello\n").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("a.txt", d.join("ln")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("broken")).unwrap();
        let names = ["a.txt", "sub", "ln", "missing", "with space"];
        std::fs::write(d.join("with space"), "x").unwrap();
        let mut paths: Vec<(String, bool)> = Vec::new();
        for n in names {
            for follow in [true, false] {
                paths.push((d.join(n).display().to_string(), follow));
            }
        }
        let refs: Vec<(&str, bool)> = paths.iter().map(|(p, f)| (p.as_str(), *f)).collect();
        let run = |script: String| {
            let full = format!("{HELPERS}{script}");
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(full)
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        let batch = parse_batch(&run(batch_snippet(&refs)), &refs).unwrap();
        for ((p, f), got) in refs.iter().zip(batch) {
            let single = parse_stat(&run(stat_snippet(p, *f))).unwrap();
            assert_eq!(got, single, "{p} follow={f}");
        }
        assert!(!batchable("a|b") && !batchable("a\nb") && batchable("/etc/x y"));
    }

    /// A name `sha256sum` escapes (a backslash in it) still gets the file's
    /// own hash: without it every run rewrote such a file.
    #[test]
    fn a_name_with_a_backslash_has_its_files_hash() {
        use sha2::{Digest, Sha256};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foo t'e~m\\plated");
        std::fs::write(&path, "x\n").unwrap();
        let p = path.display().to_string();
        assert!(!batchable(&p), "asked for on its own, by stat_snippet");
        let out =
            crate::modules::testing::run_sh(&format!("{HELPERS}{}", stat_snippet(&p, true)), b"");
        let st = parse_stat(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert_eq!(st.sha256, Some(hex::encode(Sha256::digest(b"x\n"))));
    }

    #[test]
    fn parses_stat_lines() {
        let s = parse_stat("regular file|644|root|adm|0|4|12\nabc\n").unwrap();
        assert_eq!(s.kind, FileKind::File);
        assert_eq!(s.mode, "0644");
        assert_eq!(s.group, "adm");
        assert_eq!(s.sha256.as_deref(), Some("abc"));
        let l = parse_stat("symbolic link|777|root|root|0|0|4\n/etc\n").unwrap();
        assert_eq!(l.link_target.as_deref(), Some("/etc"));
        assert_eq!(parse_stat("missing\n").unwrap().kind, FileKind::Missing);
        assert!(parse_stat("garbage\n").is_err());
    }
}
