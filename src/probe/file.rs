//! File state on the host: one `stat` (and `sha256sum` of regular files) per path.

use base64::Engine;

/// Shell functions the snippets call. `stat -c` and `sha256sum` are GNU
/// coreutils, present on every Debian-family host without Python. The file
/// is hashed from stdin: `sha256sum NAME` escapes a name with `\` or a
/// newline by putting `\` before the hash itself.
pub const HELPERS: &str = r#"_rp_stat() {
  if [ "$2" = 0 ] && [ -L "$1" ]; then
    stat -c 'symbolic link|%a|%U|%G|%u|%g|%s|%h' -- "$1" && readlink -- "$1"
  elif [ -e "$1" ]; then
    _rp_t=$(stat -L -c '%F|%a|%U|%G|%u|%g|%s|%h' -- "$1") || { echo error; return; }
    echo "$_rp_t"
    case "$_rp_t" in regular*) { sha256sum < "$1"; } 2>/dev/null | cut -d' ' -f1 ;; esac
  elif [ -L "$1" ]; then
    echo "symbolic link|0|-|-|0|0|0|1"; readlink -- "$1"
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
    /// How many names the file has (`stat %h`): above 1, a change made
    /// through another name shows here too (see `engine::host::link`).
    pub nlink: u32,
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
            nlink: 0,
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

/// The batched section for `paths`: two processes for any number of paths
/// that are not links asked for without following them, one `stat -L` and
/// one `sha256sum`.
///
/// Every process on the host costs about a millisecond to start (more for
/// `find`), and a no-change run is little else, so the shell's own tests
/// (`[ -L ]`, `[ -f ]`) choose what to hash instead of a `find | xargs`
/// pipeline. `stat -L` answers a path asked without following too, as long
/// as it is no link: for anything else stat and lstat agree. The links
/// among those paths (rare) get their own `stat` and a `readlink` each.
/// Missing paths simply print no line; hash lines are `sha256sum`'s own
/// (`HASH  NAME`: 64 hex digits never start a `F|`, `N|` or `L|` line).
pub fn batch_snippet(paths: &[(&str, bool)]) -> String {
    // Each path once, with whether it is asked following links, not
    // following them, or both.
    let mut uniq: Vec<(&str, bool, bool)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (p, follow) in paths {
        let i = *at.entry(p).or_insert_with(|| {
            uniq.push((p, false, false));
            uniq.len() - 1
        });
        match follow {
            true => uniq[i].1 = true,
            false => uniq[i].2 = true,
        }
    }
    let words = |keep: &dyn Fn(bool, bool) -> bool| -> Words {
        let chosen: Vec<String> = uniq
            .iter()
            .filter(|(_, f, n)| keep(*f, *n))
            .map(|(p, _, _)| rprov_transport::quote(p))
            .collect();
        Words {
            count: chosen.len(),
            text: chosen.join(" "),
        }
    };
    let all = words(&|_, _| true);
    let nofollow = words(&|_, n| n);
    // Hashed: regular files after links, and for a path asked only without
    // following, only when it is no link itself (a link's answer is its target).
    let follow = words(&|f, _| f);
    let only_nofollow = words(&|f, n| n && !f);
    let mut s = String::from("_rp_files() {\n");
    if nofollow.count > 0 {
        s.push_str(&filtered(
            &[(&nofollow, "[ -L \"$_rp_p\" ]")],
            "stat -c 'N|%F|%a|%U|%G|%u|%g|%s|%h|%n' --",
        ));
        s.push_str(&format!(
            "  for _rp_p in {}; do [ -L \"$_rp_p\" ] && printf 'L|%s|%s\\n' \"$_rp_p\" \"$(readlink -- \"$_rp_p\")\"; done\n",
            nofollow.text
        ));
    }
    s.push_str(&format!(
        "  stat -L -c 'F|%F|%a|%U|%G|%u|%g|%s|%h|%n' -- {} 2>/dev/null\n",
        all.text
    ));
    s.push_str(&filtered(
        &[
            (&follow, "[ -f \"$_rp_p\" ]"),
            (&only_nofollow, "[ -f \"$_rp_p\" ] && [ ! -L \"$_rp_p\" ]"),
        ],
        "sha256sum --",
    ));
    s.push_str("}\n_rp_files\n");
    s
}

/// Quoted paths for a snippet, and how many.
struct Words {
    count: usize,
    text: String,
}

/// Above this many paths, a filtered list reaches its command through
/// `xargs` instead of the shell's positional parameters: growing `"$@"` one
/// path at a time copies it every time, quadratic (in dash here 1000 paths
/// took 235 ms and 5000 took 5.4 s), where `xargs` costs one process (about
/// 1.5 ms, as much as the copying at some 150 paths).
const FILTER_IN_SHELL_MAX: usize = 128;

/// Shell lines (inside a function, whose `"$@"` they may reset) that run
/// `cmd` once with every path of each list that passes its test (shell text
/// on `"$_rp_p"`), in order, and not at all when none does. `cmd`'s errors
/// are dropped.
fn filtered(lists: &[(&Words, &str)], cmd: &str) -> String {
    let lists: Vec<&(&Words, &str)> = lists.iter().filter(|(w, _)| w.count > 0).collect();
    let total: usize = lists.iter().map(|(w, _)| w.count).sum();
    let mut s = String::new();
    if total <= FILTER_IN_SHELL_MAX {
        s.push_str("  set --\n");
        for (w, test) in &lists {
            s.push_str(&format!(
                "  for _rp_p in {}; do {test} && set -- \"$@\" \"$_rp_p\"; done\n",
                w.text
            ));
        }
        s.push_str(&format!("  [ $# -eq 0 ] || {cmd} \"$@\" 2>/dev/null\n"));
    } else {
        s.push_str("  {\n");
        for (w, test) in &lists {
            s.push_str(&format!(
                "  for _rp_p in {}; do {test} && printf '%s\\0' \"$_rp_p\"; done\n",
                w.text
            ));
        }
        s.push_str(&format!("  }} | xargs -0 -r {cmd} 2>/dev/null\n"));
    }
    s
}

/// Reads [`batch_snippet`]'s output: one state per `(path, follow)`, in order.
pub fn parse_batch(out: &str, paths: &[(&str, bool)]) -> Result<Vec<FileState>, String> {
    let mut stats: std::collections::HashMap<(bool, &str), &str> = std::collections::HashMap::new();
    let mut links: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut hashes: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("L|") {
            if let Some((name, target)) = rest.split_once('|') {
                links.insert(name, target);
            }
        } else if let Some(rest) = line.strip_prefix("F|").or_else(|| line.strip_prefix("N|")) {
            let follow = line.starts_with('F');
            let name = rest.splitn(9, '|').nth(8).unwrap_or("");
            stats.insert((follow, name), rest);
        } else if let Some((hash, name)) = line.split_once("  ") {
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                hashes.insert(name, hash);
            }
        }
    }
    paths
        .iter()
        .map(|(path, follow)| {
            // Not following, a link is its own `stat` and its target; any
            // other path is what `stat -L` said (the same as `stat` for it).
            let link = if *follow { None } else { links.get(path) };
            let stat = match link {
                Some(_) => stats.get(&(false, *path)),
                None => stats.get(&(true, *path)),
            };
            let Some(rest) = stat else {
                return Ok(FileState::missing());
            };
            // The same fields as the single-path snippet, minus the name.
            let fields: Vec<&str> = rest.splitn(9, '|').take(8).collect();
            let mut text = fields.join("|");
            text.push('\n');
            // A path may be asked both ways: not following, a link's second
            // line is its target, never the hash of what it points to.
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

/// The batched content section for `paths` (each [`batchable`]): one
/// `stat -L` for their sizes and one `base64` per regular file of at most
/// [`crate::probe::MAX_DIFF_BYTES`], instead of a `stat` and a `base64` per
/// path. Each file read is a line `C|PATH|BASE64`; a path that is missing,
/// not a regular file or too large prints none (the single-path snippet's
/// `-`).
pub fn contents_snippet(paths: &[&str]) -> String {
    let mut seen = std::collections::HashSet::new();
    let chosen: Vec<String> = paths
        .iter()
        .filter(|p| seen.insert(**p))
        .map(|p| rprov_transport::quote(p))
        .collect();
    let words = Words {
        count: chosen.len(),
        text: chosen.join(" "),
    };
    let max = crate::probe::MAX_DIFF_BYTES;
    format!(
        "_rp_contents() {{\n\
         {{\n{}}} | while IFS='|' read -r _rp_s _rp_p; do\n\
         \x20 [ \"$_rp_s\" -le {max} ] && {{ printf 'C|%s|' \"$_rp_p\"; base64 -w0 -- \"$_rp_p\"; echo; }}\n\
         done\n\
         }}\n\
         _rp_contents\n",
        filtered(&[(&words, "[ -f \"$_rp_p\" ]")], "stat -L -c '%s|%n' --")
    )
}

/// Reads [`contents_snippet`]'s output: one content per path, in order.
pub fn parse_contents(out: &str, paths: &[&str]) -> Result<Vec<Option<Vec<u8>>>, String> {
    let mut found: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for line in out.lines() {
        // The name holds no `|` (see [`batchable`]), base64 none either.
        if let Some((name, data)) = line.strip_prefix("C|").and_then(|r| r.rsplit_once('|')) {
            found.insert(name, data);
        }
    }
    paths
        .iter()
        .map(|p| match found.get(p) {
            Some(data) => parse_content(data).map_err(|e| format!("{p}: {e}")),
            None => Ok(None),
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
    if parts.len() != 8 {
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
        nlink: num(parts[7])? as u32,
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

    /// Runs `script` after [`HELPERS`] with `sh`, as the unprivileged
    /// `nobody` when the tests run as root (so a mode 000 file is unreadable).
    fn run_as_user(script: &str) -> String {
        let full = format!("{HELPERS}{script}");
        let mut cmd = if running_as_root() {
            let mut c = std::process::Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
            ]);
            c
        } else {
            let mut c = std::process::Command::new("sh");
            c.arg("-c");
            c
        };
        let out = cmd.arg(full).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    fn running_as_root() -> bool {
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false)
    }

    #[test]
    fn batch_matches_single_path_snippets() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("a.txt"), "hello\n").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("a.txt", d.join("ln")).unwrap();
        std::os::unix::fs::symlink("sub", d.join("lndir")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("broken")).unwrap();
        std::fs::write(d.join("with space"), "x").unwrap();
        std::fs::write(d.join("-dash"), "d").unwrap();
        std::fs::write(d.join("empty"), "").unwrap();
        // Unreadable: a stat but no hash. Under a closed directory: missing.
        std::fs::write(d.join("secret"), "s").unwrap();
        std::fs::set_permissions(d.join("secret"), std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::create_dir(d.join("closed")).unwrap();
        std::fs::write(d.join("closed/in"), "i").unwrap();
        std::fs::set_permissions(d.join("closed"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let names = [
            "a.txt",
            "sub",
            "ln",
            "lndir",
            "broken",
            "missing",
            "with space",
            "-dash",
            "empty",
            "secret",
            "closed/in",
        ];
        let mut paths: Vec<(String, bool)> = Vec::new();
        for n in names {
            for follow in [true, false] {
                paths.push((d.join(n).display().to_string(), follow));
            }
        }
        // Asked twice the same way, as two tasks on one file do.
        paths.push((d.join("a.txt").display().to_string(), true));
        let refs: Vec<(&str, bool)> = paths.iter().map(|(p, f)| (p.as_str(), *f)).collect();
        let batch = parse_batch(&run_as_user(&batch_snippet(&refs)), &refs).unwrap();
        assert_eq!(batch.len(), refs.len());
        for ((p, f), got) in refs.iter().zip(batch) {
            if p.ends_with("/broken") && *f {
                // The batch has always said missing here, where the
                // single-path snippet says a link: what a module plans on.
                assert_eq!(got.kind, FileKind::Missing, "{p}");
                continue;
            }
            if p.ends_with("/closed/in") {
                assert_eq!(got.kind, FileKind::Missing, "{p}");
                continue;
            }
            let single = parse_stat(&run_as_user(&stat_snippet(p, *f))).unwrap();
            assert_eq!(got, single, "{p} follow={f}");
        }
        let get = |name: &str, follow: bool| {
            let p = d.join(name).display().to_string();
            let i = refs
                .iter()
                .position(|(q, f)| *q == p && *f == follow)
                .unwrap();
            parse_batch(&run_as_user(&batch_snippet(&refs)), &refs).unwrap()[i].clone()
        };
        let secret = get("secret", true);
        assert_eq!((secret.kind, secret.sha256), (FileKind::File, None));
        let ln = get("ln", false);
        assert_eq!(ln.kind, FileKind::Link);
        assert_eq!(
            (ln.link_target.as_deref(), ln.sha256),
            (Some("a.txt"), None)
        );
        assert_eq!(
            get("ln", true).sha256.as_deref(),
            Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        assert_eq!(
            get("empty", false).sha256.as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(get("broken", false).link_target.as_deref(), Some("nowhere"));
        assert!(!batchable("a|b") && !batchable("a\nb") && batchable("/etc/x y"));
    }

    /// Only paths asked without following links: no `stat -L` of a link's
    /// target leaks into their answers, and no hash of a link.
    #[test]
    fn batch_of_links_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("f"), "f").unwrap();
        std::os::unix::fs::symlink("f", d.join("l")).unwrap();
        let (f, l) = (
            d.join("f").display().to_string(),
            d.join("l").display().to_string(),
        );
        let refs = [(l.as_str(), false), (f.as_str(), false)];
        let out = run_as_user(&batch_snippet(&refs));
        let got = parse_batch(&out, &refs).unwrap();
        assert_eq!(got[0].kind, FileKind::Link);
        assert_eq!(got[0].mode, "0777");
        assert_eq!(got[0].link_target.as_deref(), Some("f"));
        assert_eq!(got[1].kind, FileKind::File);
        assert_eq!(got[1].size, 1);
        assert!(got[1].sha256.is_some());
        assert_eq!(out.matches("  ").count(), 1, "one file hashed: {out}");
    }

    /// The batched content section answers as the single-path snippet does:
    /// missing, directory, link, too large, unreadable, empty, binary.
    #[test]
    fn contents_batch_matches_single_path_snippets() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("a.txt"), "hello\nworld").unwrap();
        std::fs::write(d.join("bin"), b"\0\xff\n|C|x\n").unwrap();
        std::fs::write(d.join("empty"), "").unwrap();
        std::fs::write(d.join("with space"), "s p").unwrap();
        let max = crate::probe::MAX_DIFF_BYTES as usize;
        std::fs::write(d.join("max"), vec![b'm'; max]).unwrap();
        std::fs::write(d.join("big"), vec![b'b'; max + 1]).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("a.txt", d.join("ln")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("broken")).unwrap();
        std::fs::write(d.join("secret"), "s").unwrap();
        std::fs::set_permissions(d.join("secret"), std::fs::Permissions::from_mode(0o000)).unwrap();
        let names = [
            "a.txt",
            "bin",
            "empty",
            "with space",
            "max",
            "big",
            "sub",
            "ln",
            "broken",
            "missing",
            "secret",
            "a.txt",
        ];
        let paths: Vec<String> = names
            .iter()
            .map(|n| d.join(n).display().to_string())
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let batch = parse_contents(&run_as_user(&contents_snippet(&refs)), &refs).unwrap();
        assert_eq!(batch.len(), refs.len());
        for (p, got) in refs.iter().zip(&batch) {
            let single = parse_content(&run_as_user(&content_snippet(p))).unwrap();
            assert_eq!(got, &single, "{p}");
        }
        assert_eq!(batch[0].as_deref(), Some(&b"hello\nworld"[..]));
        assert_eq!(batch[1].as_deref(), Some(&b"\0\xff\n|C|x\n"[..]));
        assert_eq!(batch[2].as_deref(), Some(&b""[..]));
        assert_eq!(batch[4].as_ref().map(Vec::len), Some(max));
        assert_eq!(
            (&batch[5], &batch[6], &batch[8], &batch[9]),
            (&None, &None, &None, &None)
        );
        assert_eq!(batch[7].as_deref(), Some(&b"hello\nworld"[..]));
    }

    /// Above [`FILTER_IN_SHELL_MAX`] paths the lists go through `xargs`:
    /// the same answers, files and contents.
    #[test]
    fn many_paths_go_through_xargs_with_the_same_answers() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut paths: Vec<(String, bool)> = Vec::new();
        for i in 0..FILTER_IN_SHELL_MAX * 2 {
            let p = d.join(format!("f {i}"));
            match i % 4 {
                0 => std::fs::write(&p, format!("{i}\n")).unwrap(),
                1 => std::fs::create_dir(&p).unwrap(),
                2 => std::os::unix::fs::symlink("f 0", &p).unwrap(),
                _ => {}
            }
            paths.push((p.display().to_string(), i % 3 == 0));
        }
        let refs: Vec<(&str, bool)> = paths.iter().map(|(p, f)| (p.as_str(), *f)).collect();
        let script = batch_snippet(&refs);
        assert!(script.contains("xargs -0 -r sha256sum"), "{script}");
        assert!(script.contains("xargs -0 -r stat -c 'N|"), "{script}");
        let batch = parse_batch(&run_as_user(&script), &refs).unwrap();
        for ((p, f), got) in refs.iter().zip(&batch) {
            let single = parse_stat(&run_as_user(&stat_snippet(p, *f))).unwrap();
            assert_eq!(got, &single, "{p} follow={f}");
        }
        assert!(batch.iter().filter(|s| s.sha256.is_some()).count() > 30);
        let names: Vec<&str> = refs.iter().map(|(p, _)| *p).collect();
        let script = contents_snippet(&names);
        assert!(script.contains("xargs -0 -r stat -L"), "{script}");
        let contents = parse_contents(&run_as_user(&script), &names).unwrap();
        for (p, got) in names.iter().zip(&contents) {
            let single = parse_content(&run_as_user(&content_snippet(p))).unwrap();
            assert_eq!(got, &single, "{p}");
        }
        assert_eq!(contents[4].as_deref(), Some(&b"4\n"[..]));
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
        let s = parse_stat("regular file|644|root|adm|0|4|12|2\nabc\n").unwrap();
        assert_eq!(s.kind, FileKind::File);
        assert_eq!(s.nlink, 2);
        assert_eq!(s.mode, "0644");
        assert_eq!(s.group, "adm");
        assert_eq!(s.sha256.as_deref(), Some("abc"));
        let l = parse_stat("symbolic link|777|root|root|0|0|4|1\n/etc\n").unwrap();
        assert_eq!(l.link_target.as_deref(), Some("/etc"));
        assert_eq!(parse_stat("missing\n").unwrap().kind, FileKind::Missing);
        assert!(parse_stat("garbage\n").is_err());
    }
}
