//! Shared pieces of the file modules: attribute checks and the atomic write.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::mode::{self, Mode};
use super::{Action, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

/// owner, group and mode as a task asks for them.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: Option<Mode>,
}

impl Attrs {
    pub fn from_args(cx: &PlanCx) -> Result<Attrs, PlanError> {
        Ok(Attrs {
            owner: cx.str_arg("owner")?.filter(|s| !s.is_empty()),
            group: cx.str_arg("group")?.filter(|s| !s.is_empty()),
            mode: Mode::parse(cx.args.get("mode").unwrap_or(&Json::Null))?,
        })
    }

    /// The attribute changes needed on an existing path, as diff lines.
    pub fn changes(&self, st: &FileState) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        if let Some(o) = &self.owner {
            if !same_principal(o, &st.owner, st.uid) {
                out.push(format!("owner: {} → {o}", st.owner));
            }
        }
        if let Some(g) = &self.group {
            if !same_principal(g, &st.group, st.gid) {
                out.push(format!("group: {} → {g}", st.group));
            }
        }
        if let Some(m) = &self.mode {
            let cur = mode::parse_octal(&st.mode);
            let want = m.resolve(cur, st.kind == FileKind::Directory)?;
            if cur != want {
                out.push(format!("mode: {} → {}", mode::fmt(cur), mode::fmt(want)));
            }
        }
        Ok(out)
    }

    /// Shell lines setting these attributes on `target` (a quoted path or `"$t"`).
    /// `current` is the mode the path has now (for symbolic modes).
    pub fn apply_lines(
        &self,
        target: &str,
        current: u32,
        is_dir: bool,
        no_deref: bool,
    ) -> Result<String, String> {
        let mut s = String::new();
        let h = if no_deref { "-h " } else { "" };
        match (&self.owner, &self.group) {
            (Some(o), Some(g)) => s.push_str(&format!(
                "chown {h}{} {target}\n",
                quote(&format!("{o}:{g}"))
            )),
            (Some(o), None) => s.push_str(&format!("chown {h}{} {target}\n", quote(o))),
            (None, Some(g)) => s.push_str(&format!("chgrp {h}{} {target}\n", quote(g))),
            (None, None) => {}
        }
        if let Some(m) = &self.mode {
            if !no_deref {
                s.push_str(&format!(
                    "chmod {} {target}\n",
                    mode::fmt(m.resolve(current, is_dir)?)
                ));
            }
        }
        Ok(s)
    }
}

/// Making one missing directory with the owner, group and mode asked for, as
/// Ansible's `ensure_directory` does for each directory it creates (parents
/// included): its diff and its shell lines.
pub fn create_dir(path: &str, attrs: &Attrs) -> Result<(Diff, String), String> {
    let mut diff = Diff {
        path: path.to_string(),
        attrs: vec!["state: absent → directory".into()],
        ..Diff::default()
    };
    if let Some(o) = &attrs.owner {
        diff.attrs.push(format!("owner: {o}"));
    }
    if let Some(g) = &attrs.group {
        diff.attrs.push(format!("group: {g}"));
    }
    if let Some(m) = &attrs.mode {
        diff.attrs
            .push(format!("mode: {}", mode::fmt(m.resolve(0o755, true)?)));
    }
    let q = quote(path);
    let script = format!(
        "mkdir -- {q}\n{}",
        attrs.apply_lines(&q, 0o755, true, false)?
    );
    Ok((diff, script))
}

fn same_principal(want: &str, name: &str, id: u32) -> bool {
    want == name || want.parse::<u32>().is_ok_and(|n| n == id)
}

/// The parent directory of `path` (`/` for `/x`).
pub fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

/// A script that writes stdin to `dest` atomically: a temp file in the same
/// directory gets its final owner and mode *before* any byte is written (so a
/// secret is never readable by others), is validated, then renamed over `dest`.
/// An interrupted run leaves the old file or the new one, never a torn one.
pub fn atomic_write_script(
    dest: &str,
    attrs: &Attrs,
    existing: &FileState,
    validate: Option<&str>,
    backup: bool,
) -> Result<String, String> {
    atomic_write_of(dest, attrs, existing, validate, backup, Source::Stdin)
}

/// Where the new content of an atomic write comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// All of stdin.
    Stdin,
    /// The next `n` bytes of stdin (several files on one stdin).
    StdinBytes(usize),
    /// A file on the host (`copy` with `remote_src`).
    HostFile(&'a str),
}

/// [`atomic_write_script`] for one of several files sent on one stdin, one
/// after another: the file takes exactly its `len` next bytes (`head -c`
/// reads no further), leaving the rest for the files after it.
pub fn atomic_write_next(
    dest: &str,
    attrs: &Attrs,
    existing: &FileState,
    len: usize,
) -> Result<String, String> {
    atomic_write_of(dest, attrs, existing, None, false, Source::StdinBytes(len))
}

/// The atomic write with its content from `source`.
pub fn atomic_write_of(
    dest: &str,
    attrs: &Attrs,
    existing: &FileState,
    validate: Option<&str>,
    backup: bool,
    source: Source,
) -> Result<String, String> {
    let d = quote(parent(dest));
    let q = quote(dest);
    let mut s = format!(
        "set -e\n\
         [ -d {d} ] || {{ echo \"destination directory {} does not exist\" >&2; exit 3; }}\n\
         t=$(mktemp {}/.rprov-XXXXXXXX)\n\
         trap 'rm -f \"$t\"' EXIT\n",
        parent(dest).replace('"', "\\\""),
        d
    );
    // Keep what the user did not ask to change: owner, group and mode of the
    // file being replaced, or the umask default for a new file.
    if existing.exists() {
        if attrs.owner.is_none() || attrs.group.is_none() {
            s.push_str(&format!(
                "chown --reference={q} \"$t\" 2>/dev/null || true\n"
            ));
        }
        if attrs.mode.is_none() {
            s.push_str(&format!("chmod --reference={q} \"$t\"\n"));
        }
    } else if attrs.mode.is_none() {
        s.push_str("chmod \"$(printf '%o' $(( 0666 & ~$(umask) )))\" \"$t\"\n");
    }
    let current = if existing.exists() {
        mode::parse_octal(&existing.mode)
    } else {
        0o644
    };
    s.push_str(&attrs.apply_lines("\"$t\"", current, false, false)?);
    match source {
        Source::Stdin => s.push_str("cat > \"$t\"\n"),
        Source::StdinBytes(n) => s.push_str(&format!("head -c {n} > \"$t\"\n")),
        Source::HostFile(src) => s.push_str(&format!("cat -- {} > \"$t\"\n", quote(src))),
    }
    if let Some(v) = validate {
        if !v.contains("%s") {
            return Err(format!(
                "`validate` must contain %s (the file to check), got `{v}`"
            ));
        }
        s.push_str(&format!(
            "if ! _rp_out=$({} 2>&1); then echo \"validation failed: $_rp_out\" >&2; exit 4; fi\n",
            v.replace("%s", "\"$t\"")
        ));
    }
    if backup && existing.kind == FileKind::File {
        // Ansible's name for it, printed for `backup_file` (see `parse_backup`).
        s.push_str(&format!(
            "_rp_b={q}.$$.\"$(date +%Y-%m-%d@%H:%M:%S)\"~\ncp -p {q} \"$_rp_b\"\nprintf '%s\\n' \"$_rp_b\"\n"
        ));
    }
    s.push_str(&format!("mv -f \"$t\" {q}\ntrap - EXIT\n"));
    Ok(s)
}

/// The result Ansible's file modules register.
pub fn result(path: &str, changed: bool) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("changed".into(), json!(changed));
    m.insert("path".into(), json!(path));
    m.insert("dest".into(), json!(path));
    m
}

/// Reads the output of an atomic write that made a backup: the task fails as
/// with [`OutputMode::Checked`], else the backup's path (the script's last
/// line on stdout) is the result's `backup_file`, as Ansible's copy and
/// template have it.
pub fn parse_backup(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    parse_backup_as("backup_file", status, stdout, stderr)
}

/// [`parse_backup`] with the path under `backup`, the key Ansible's
/// lineinfile and blockinfile return it under.
pub fn parse_backup_path(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    parse_backup_as("backup", status, stdout, stderr)
}

fn parse_backup_as(key: &str, status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    if status != 0 {
        m.insert("failed".into(), json!(true));
        let msg = match stderr.trim() {
            "" => format!("failed with exit status {status}"),
            err => err.to_string(),
        };
        m.insert("msg".into(), json!(msg));
        return m;
    }
    if let Some(path) = stdout.lines().rev().find(|l| !l.trim().is_empty()) {
        m.insert(key.into(), json!(path));
    }
    m
}

pub fn checked_action(script: String, stdin: Option<Vec<u8>>, path: &str) -> Action {
    Action {
        script,
        stdin,
        output: OutputMode::Checked,
        result: result(path, true),
        touches: vec![path.to_string()],
        touches_everything: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent("/etc/x.conf"), "/etc");
        assert_eq!(parent("/x"), "/");
        assert_eq!(parent("rel"), ".");
        assert_eq!(parent("/a/b/"), "/a");
    }

    #[test]
    fn atomic_write_runs_locally() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt").display().to_string();
        let attrs = Attrs {
            mode: Some(Mode::Octal(0o600)),
            ..Default::default()
        };
        let s = atomic_write_script(
            &dest,
            &attrs,
            &FileState::missing(),
            Some("grep -q hello %s"),
            false,
        )
        .unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        // Failing validation leaves the old file and no temp file behind.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"bye\n").unwrap();
        assert!(!child.wait().unwrap().success());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
