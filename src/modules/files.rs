//! Shared pieces of the file modules: attribute checks and the atomic write.

use serde_json::{json, Map, Value as Json};

use super::change::Change;
use super::mode::{self, Mode};
use super::{Action, Diff, OutputMode};
use crate::probe::{FileKind, FileState};

/// owner, group and mode as a task asks for them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs {
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: Option<Mode>,
}

impl Attrs {
    /// The attributes of a task's `owner`, `group` and `mode`. An empty
    /// owner or group (`owner: ""`, what `{{ x | default('') }}` leaves)
    /// asks for nothing, as in Ansible, rather than for a user named "".
    pub fn new(owner: Option<String>, group: Option<String>, mode: Option<Mode>) -> Attrs {
        Attrs {
            owner: owner.filter(|s| !s.is_empty()),
            group: group.filter(|s| !s.is_empty()),
            mode,
        }
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
}

/// Making one missing directory with the owner, group and mode asked for, as
/// Ansible's `ensure_directory` does for each directory it creates (parents
/// included): its diff and its change.
pub fn create_dir(path: &str, attrs: &Attrs) -> Result<(Diff, Change), String> {
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
    let change = Change::MakeDir {
        path: path.to_string(),
        attrs: attrs.clone(),
    };
    Ok((diff, change))
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
    if status != 0 {
        return failed(status, stderr);
    }
    let mut m = Map::new();
    if let Some(path) = stdout.lines().rev().find(|l| !l.trim().is_empty()) {
        m.insert(key.into(), json!(path));
    }
    m
}

/// The result of an action that failed with `status`: stderr, or the status.
pub(super) fn failed(status: i32, stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("failed".into(), json!(true));
    let msg = match stderr.trim() {
        "" => format!("failed with exit status {status}"),
        err => err.to_string(),
    };
    m.insert("msg".into(), json!(msg));
    m
}

/// What starts the line a [`Change::ReportStat`] prints.
pub const STAT_TAG: &str = "rprov-stat ";

/// A `uid gid mode size owner group` line (what `get_url` and `unarchive`
/// print about the path they leave, `stat -c '%u %g %a %s %U %G'`) as the
/// state [`stat_fields`] reports.
pub fn parse_stat_line(line: &str, kind: FileKind) -> Option<FileState> {
    let w: Vec<&str> = line.split(' ').collect();
    let [uid, gid, mode, size, owner, group] = w[..] else {
        return None;
    };
    Some(FileState {
        kind,
        mode: mode.to_string(),
        owner: owner.to_string(),
        group: group.to_string(),
        uid: uid.parse().unwrap_or(0),
        gid: gid.parse().unwrap_or(0),
        size: size.parse().unwrap_or(0),
        nlink: 1,
        sha256: None,
        link_target: None,
    })
}

/// The fields Ansible's copy and template return about the file they
/// leave: owner, group, their ids, mode (`0644`), size and `state`.
pub fn stat_fields(st: &FileState) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("uid".into(), json!(st.uid));
    m.insert("gid".into(), json!(st.gid));
    m.insert("owner".into(), json!(st.owner));
    m.insert("group".into(), json!(st.group));
    m.insert("mode".into(), json!(mode::fmt(mode::parse_octal(&st.mode))));
    m.insert("size".into(), json!(st.size));
    m.insert("state".into(), json!("file"));
    m
}

/// Reads the output of a write (or attribute change) followed by a
/// [`Change::ReportStat`] of the file: fails as [`OutputMode::Checked`],
/// else the file's [`stat_fields`], and the backup's path, when one was made
/// (the one other line on stdout), as `backup_file`.
pub fn parse_written(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    if status != 0 {
        return failed(status, stderr);
    }
    let mut m = Map::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let Some(stat) = line.strip_prefix(STAT_TAG) else {
            m.insert("backup_file".into(), json!(line));
            continue;
        };
        let w: Vec<&str> = stat.split(' ').collect();
        if let [uid, gid, mode, size, owner, group] = w[..] {
            m.extend(stat_fields(&FileState {
                kind: FileKind::File,
                mode: mode.to_string(),
                owner: owner.to_string(),
                group: group.to_string(),
                uid: uid.parse().unwrap_or(0),
                gid: gid.parse().unwrap_or(0),
                size: size.parse().unwrap_or(0),
                nlink: 1,
                sha256: None,
                link_target: None,
            }));
        }
    }
    m
}

/// [`parse_written`] of a directory: its fields with `state: directory`, as
/// Ansible's `file` returns them.
pub fn parse_dir_written(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = parse_written(status, stdout, stderr);
    if m.contains_key("state") {
        m.insert("state".into(), json!("directory"));
    }
    m
}

/// [`parse_written`] after a [`Change::ReportLink`]: the link's own
/// fields with `state: link`, as Ansible's `file` returns them, or none when
/// it points to nothing that exists.
pub fn parse_link_written(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = parse_written(status, stdout, stderr);
    if m.contains_key("state") {
        m.insert("state".into(), json!("link"));
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
        changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `owner: ""` (a variable defaulted to '') asks for no owner, not for
    /// a user named "".
    #[test]
    fn empty_owner_and_group_are_unset() {
        let a = Attrs::new(Some(String::new()), Some("g".into()), None);
        assert_eq!(
            a,
            Attrs {
                group: Some("g".into()),
                ..Attrs::default()
            }
        );
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/etc/x.conf"), "/etc");
        assert_eq!(parent("/x"), "/");
        assert_eq!(parent("rel"), ".");
        assert_eq!(parent("/a/b/"), "/a");
    }

    /// A write with a backup, then its stat, run by sh: the result has the
    /// fields Ansible's copy returns, read from what the host printed.
    #[test]
    fn a_write_reports_the_file_it_left() {
        use super::super::change::{self, Content};
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.conf").display().to_string();
        std::fs::write(&dest, "old\n").unwrap();
        let existing = FileState {
            kind: FileKind::File,
            mode: "644".into(),
            ..FileState::missing()
        };
        let changes = [
            Change::Write {
                dest: dest.clone(),
                attrs: Attrs {
                    mode: Some(Mode::Octal(0o640)),
                    ..Attrs::default()
                },
                existing,
                validate: None,
                backup: true,
                content: Content::Bytes(b"new!\n".to_vec()),
            },
            Change::ReportStat { path: dest.clone() },
        ];
        let r = change::render(&changes).unwrap();
        let out = super::super::testing::run_sh(&r.script, r.stdin.as_deref().unwrap());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let m = parse_written(out.status.code().unwrap(), &stdout, &stderr);
        assert_eq!(m.get("failed"), None, "{stderr}");
        assert_eq!(m["mode"], json!("0640"));
        assert_eq!(m["size"], json!(5));
        assert_eq!(m["state"], json!("file"));
        assert_eq!(m["uid"], json!(rustix::process::getuid().as_raw()));
        let user = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        assert_eq!(
            m["owner"],
            json!(String::from_utf8_lossy(&user.stdout).trim())
        );
        let backup = m["backup_file"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "old\n");
    }

    #[test]
    fn a_failed_write_reports_its_error_not_a_stat() {
        let m = parse_written(4, "", "validation failed: bad\n");
        assert_eq!(m["failed"], json!(true));
        assert_eq!(m["msg"], json!("validation failed: bad"));
        assert_eq!(m.get("mode"), None);
    }
}
