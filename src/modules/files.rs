//! Shared pieces of the file modules: attribute checks and the atomic write.

use serde_json::{json, Map, Value as Json};

use super::change::Change;
use super::mode::{self, Mode};
use super::{Action, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

/// owner, group and mode as a task asks for them.
#[derive(Clone, Debug, Default, PartialEq)]
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
        changes: Vec::new(),
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
}
