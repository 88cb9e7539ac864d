//! `sysctl` (ansible.posix's): a kernel parameter in a sysctl file and,
//! optionally, in the running kernel.
//!
//! The file is edited as ansible.posix edits it (`plugins/modules/sysctl.py`),
//! so a file one tool wrote is left alone by the other. Once the module
//! writes, it rewrites the *whole* file: every line stripped of surrounding
//! whitespace, every `key = value` line written `key=value`, and only the
//! first line of each key kept (later duplicates of any key dropped); the
//! task's key takes the place of its first line, or is appended, or (absent)
//! is dropped. Whether it writes is decided by the *last* value the file
//! gives the key, as ansible.posix's dictionary of the file's values keeps
//! the last one. A file that already has the value is not rewritten, however
//! it is laid out.
//!
//! The running value is read with `sysctl -e -n KEY` only when it matters
//! (`sysctl_set`, or `reload` of a file that already has the value), in the
//! same probe round as the file; it is set with `sysctl -w`, and the file is
//! loaded with `sysctl -p FILE` when the task changed anything and `reload`
//! is on, in that order (set, write, reload), as ansible.posix does.

use std::collections::HashMap;

use rprov_transport::quote;
use serde_json::{Map, Value as Json};

use super::change::{self, Change, Content, Read};
use super::files::Attrs;
use super::lineinfile::{read_text, Text};
use super::sysargs::both;
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileState;

choice! {
    /// Whether the key is wanted in the file.
    pub enum State { Present = "present", Absent = "absent" }
}

module_args! {
    /// ansible.posix `sysctl`'s arguments, with its aliases.
    pub struct Args {
        name: String ["name", "key"],
        /// Text as ansible.posix's `str` argument: a YAML boolean arrives as
        /// `True`/`False`, which the value normalisation turns into 1/0.
        value: Option<String> ["value", "val"],
        state: State ["state"] = State::Present,
        reload: bool ["reload"] = true,
        sysctl_set: bool ["sysctl_set"] = false,
        ignoreerrors: bool ["ignoreerrors"] = false,
        sysctl_file: String ["sysctl_file"] = "/etc/sysctl.conf".to_string(),
    }
}

/// Python's `str.strip()`: Rust's whitespace plus the ASCII separators
/// (0x1c–0x1f) Python also counts as space.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// ansible.posix's `_parse_value`: a boolean word (any case, before
/// stripping, as it compares) is `1` or `0`; anything else is stripped.
pub fn parse_value(value: Option<&str>) -> String {
    let Some(v) = value else {
        return String::new();
    };
    match v.to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => "1".into(),
        "n" | "no" | "off" | "0" | "false" | "f" => "0".into(),
        _ => py_strip(v).to_string(),
    }
}

/// The file's lines as Python's text-mode `readlines()` gives them
/// (universal newlines: `\r\n`, `\r` and `\n` all end a line), stripped.
fn stripped_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        out.push(py_strip(&rest[..end]));
        rest = &rest[end..];
        if rest.starts_with("\r\n") {
            rest = &rest[2..];
        } else if !rest.is_empty() {
            rest = &rest[1..];
        }
    }
    out
}

/// A line's key and value, or `None` for an empty line, a comment (`#` or
/// `;`) or a line without `=`.
fn key_value(line: &str) -> Option<(&str, &str)> {
    if line.is_empty() || line.starts_with(['#', ';']) {
        return None;
    }
    let (k, v) = line.split_once('=')?;
    Some((py_strip(k), py_strip(v)))
}

/// What the file says and what it would say with the task applied.
#[derive(Debug, PartialEq)]
pub struct Edited {
    /// The last value the file gives `name` (ansible.posix's `file_values`).
    pub current: Option<String>,
    /// The whole file as ansible.posix would write it.
    pub text: String,
}

/// ansible.posix's `read_sysctl_file` and `fix_lines`, then `write_sysctl`'s
/// rendering: `value` is `None` for `state: absent`.
pub fn edit(text: &str, name: &str, value: Option<&str>) -> Edited {
    let lines = stripped_lines(text);
    let mut values: HashMap<&str, &str> = HashMap::new();
    for l in &lines {
        if let Some((k, v)) = key_value(l) {
            values.insert(k, v);
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut fixed: Vec<String> = Vec::new();
    for l in &lines {
        let Some((k, v)) = key_value(l) else {
            fixed.push(l.to_string());
            continue;
        };
        if seen.contains(&k) {
            continue;
        }
        seen.push(k);
        if k == name {
            if let Some(want) = value {
                fixed.push(format!("{k}={want}"));
            }
        } else {
            fixed.push(format!("{k}={v}"));
        }
    }
    if let (false, Some(want)) = (seen.contains(&name), value) {
        fixed.push(format!("{name}={want}"));
    }
    let mut out = String::new();
    for l in fixed {
        out.push_str(py_strip(&l));
        out.push('\n');
    }
    Edited {
        current: values.get(name).map(|v| v.to_string()),
        text: out,
    }
}

/// ansible.posix's `_values_is_equal`: the same whitespace-separated words.
fn same_words(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// What the task does, decided from the file's last value for the key and
/// the running value (ansible.posix's `process`).
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub changed: bool,
    pub write: bool,
    pub set_running: bool,
}

pub fn decide(
    file_value: Option<&str>,
    want: &str,
    present: bool,
    running: Option<&str>,
    reload: bool,
    sysctl_set: bool,
) -> Plan {
    let mut p = Plan::default();
    let running_differs = !running.is_some_and(|r| same_words(r, want));
    match file_value {
        None if present => (p.changed, p.write) = (true, true),
        None => {}
        Some(v) if !present && !v.is_empty() => (p.changed, p.write) = (true, true),
        Some(v) if v != want => (p.changed, p.write) = (true, true),
        Some(_) if reload && running_differs => p.changed = true,
        Some(_) => {}
    }
    if sysctl_set && present && running_differs {
        p.changed = true;
        // A key the kernel did not answer for is reported and not set, as
        // ansible.posix does.
        p.set_running = running.is_some();
    }
    p
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let present = args.state == State::Present;
    if present && args.value.is_none() {
        return Err(PlanError::Fail(
            "state is present but all of the following are missing: value".into(),
        ));
    }
    if args.name.is_empty() {
        return Err(PlanError::Fail("name cannot be blank".into()));
    }
    if present && args.value.as_deref() == Some("") {
        return Err(PlanError::Fail("value cannot be blank".into()));
    }
    let name = py_strip(&args.name).to_string();
    let want = parse_value(args.value.as_deref());
    let path = &args.sysctl_file;
    // The running value matters only to these; it is read with the file.
    let need_running = args.reload || (args.sysctl_set && present);
    // Where a link points is good until an action touches the path; the
    // running value is asked again after any action.
    let realpath = cx.ask_about(
        path,
        Read::Output(vec![
            "realpath".into(),
            "-m".into(),
            "--".into(),
            path.clone(),
        ]),
    );
    let running = need_running.then(|| {
        cx.ask_one(Read::Status(vec![
            "sh".into(),
            "-c".into(),
            format!("{SBIN_PATH}; LC_ALL=C exec sysctl -e -n \"$1\""),
            "sh".into(),
            name.clone(),
        ]))
    });
    let ((file, real), running) = both(both(read_text(cx, path), realpath), running.transpose())?;
    // ansible.posix writes the file a link points to, not over the link.
    let real = match real.trim_end_matches('\n') {
        "" => path.clone(),
        r => r.to_string(),
    };
    let running = running.and_then(|a| {
        let (out, rc) = change::read::split_status(&a);
        (rc == Some(0)).then_some(out)
    });
    let (original, st) = match file {
        Text::Present(t, st) => (Some(t), st),
        Text::Missing => (None, FileState::missing()),
    };
    let edited = edit(
        original.as_deref().unwrap_or(""),
        &name,
        present.then_some(want.as_str()),
    );
    let p = decide(
        edited.current.as_deref(),
        &want,
        present,
        running.as_deref(),
        args.reload,
        args.sysctl_set,
    );
    if !p.changed {
        return Ok(Decision::Ok {
            result: changed(false),
            msg: None,
        });
    }
    // One diff, the file's: its text when it is written, and a line for a
    // running value that is set or reloaded.
    let was = running.as_deref().map(str::trim).unwrap_or("");
    let mut diff = Diff {
        path: path.clone(),
        ..Diff::default()
    };
    let mut changes = Vec::new();
    let e = if args.ignoreerrors { "-e " } else { "" };
    if p.set_running {
        diff.attrs
            .push(format!("{name}: running value {was} → {want}"));
        changes.push(checked_sysctl(
            &format!("{e}-w {}", quote(&format!("{name}={want}"))),
            &format!("setting {name} failed: "),
        ));
    }
    if p.write {
        if !st.exists() {
            diff.attrs.insert(0, "state: absent → file".into());
        }
        diff.before = Some(original.clone().unwrap_or_default());
        diff.after = Some(edited.text.clone());
        changes.push(Change::Write {
            dest: real.clone(),
            attrs: Attrs::default(),
            existing: st,
            validate: None,
            backup: false,
            content: Content::Bytes(edited.text.into_bytes()),
        });
    }
    if args.reload {
        if !p.set_running && !p.write {
            // Only the running value differs: the reload is the change.
            diff.attrs.push(format!(
                "{name}: running value {was} → {want} (sysctl -p {path})"
            ));
        }
        changes.push(checked_sysctl(
            &format!("{e}-p {}", quote(path)),
            "Failed to reload sysctl: ",
        ));
    }
    let mut action = change::action(changes, &real)?;
    // ansible.posix returns `changed` alone.
    action.result = changed(true);
    if real != *path {
        action.touches.push(path.clone());
    }
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

fn changed(c: bool) -> Map<String, Json> {
    [("changed".to_string(), Json::Bool(c))]
        .into_iter()
        .collect()
}

/// `sysctl` is in `/usr/sbin`, which a login that is not root may not have
/// on its `PATH`; ansible-core's `get_bin_path` looks there too.
const SBIN_PATH: &str = "PATH=\"$PATH:/usr/local/sbin:/usr/sbin:/sbin\"";

/// `sysctl ARGS` (already quoted), failing with `msg` and its output when it
/// exits non-zero or, as ansible.posix checks, when it says it could not set
/// a key while exiting 0 (Red Hat bug 1264080).
fn checked_sysctl(args: &str, msg: &str) -> Change {
    Change::Raw {
        script: format!(
            "if ! _rp_o=$({SBIN_PATH}; LC_ALL=C sysctl {args} 2>&1) || printf '%s\\n' \"$_rp_o\" | \
             grep -Eq '^sysctl: setting key \"[^\"]+\": (Invalid argument|Read-only file system)$'; \
             then printf '%s%s\\n' {} \"$_rp_o\" >&2; exit 1; fi\n",
            quote(msg)
        ),
        why: "sysctl can exit 0 and still not set a key: its output is checked as ansible.posix checks it",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{self, fail_msg};
    use crate::probe::{Fact, Probe};
    use serde_json::json;

    #[test]
    fn values_are_normalised_as_ansible_posix_does() {
        assert_eq!(parse_value(Some("yes")), "1");
        assert_eq!(parse_value(Some("True")), "1");
        assert_eq!(parse_value(Some("OFF")), "0");
        assert_eq!(
            parse_value(Some(" 4096\t87380 6291456 ")),
            "4096\t87380 6291456"
        );
        // Compared before stripping, as Python's `value.lower() in BOOLEANS`.
        assert_eq!(parse_value(Some(" yes")), "yes");
        assert_eq!(parse_value(None), "");
    }

    #[test]
    fn a_new_key_is_appended_and_the_file_normalised() {
        let text = "# comment\n  kernel.a = 1 \n\n; other\nkernel.b=2\nkernel.a=3\nno equals\n";
        let e = edit(text, "net.x", Some("1"));
        assert_eq!(e.current, None);
        assert_eq!(
            e.text,
            "# comment\nkernel.a=1\n\n; other\nkernel.b=2\nno equals\nnet.x=1\n"
        );
    }

    #[test]
    fn the_first_line_of_the_key_is_replaced_and_its_duplicates_dropped() {
        let text = "net.x = 0\nkernel.b=2\nnet.x=5\r\nlast";
        let e = edit(text, "net.x", Some("1"));
        // The last value decides; the first line's place is kept.
        assert_eq!(e.current.as_deref(), Some("5"));
        assert_eq!(e.text, "net.x=1\nkernel.b=2\nlast\n");
        let e = edit(text, "net.x", None);
        assert_eq!(e.text, "kernel.b=2\nlast\n");
        assert_eq!(edit("", "a.b", Some("1")).text, "a.b=1\n");
        assert_eq!(edit("a.b=1\n", "a.b", None).text, "");
    }

    #[test]
    fn decisions_follow_ansible_posix() {
        // Same value in the file: nothing, without reload or sysctl_set.
        assert_eq!(
            decide(Some("1"), "1", true, None, false, false),
            Plan::default()
        );
        let w = Plan {
            changed: true,
            write: true,
            set_running: false,
        };
        assert_eq!(decide(Some("0"), "1", true, None, false, false), w);
        assert_eq!(decide(None, "1", true, None, false, false), w);
        assert_eq!(decide(None, "", false, None, true, false), Plan::default());
        assert_eq!(decide(Some("1"), "", false, None, false, false), w);
        // The file has it, the kernel does not: reload is the change.
        let p = decide(Some("1 2"), "1 2", true, Some("1\t2\n"), true, false);
        assert!(!p.changed);
        let p = decide(Some("1"), "1", true, Some("0\n"), true, false);
        assert!(p.changed && !p.write && !p.set_running);
        let p = decide(Some("1"), "1", true, Some("0\n"), false, true);
        assert!(p.changed && p.set_running);
        // A key the kernel does not answer for is changed, not set.
        let p = decide(Some("1"), "1", true, None, false, true);
        assert!(p.changed && !p.set_running);
    }

    fn run(args: serde_json::Value, content: Option<&str>, running: &str) -> Decision {
        let content = content.map(str::to_string);
        let running = running.to_string();
        testing::run("sysctl", args, move |p| match p {
            Probe::File { .. } => Some(Fact::File(match &content {
                Some(c) => testing::file(c.as_bytes(), "644", "root"),
                None => FileState::missing(),
            })),
            Probe::Content { .. } => Some(Fact::Content(content.clone().map(String::into_bytes))),
            Probe::PathShell { .. } => Some(Fact::Text("/real/sysctl.conf\n".into())),
            Probe::Shell { .. } => Some(Fact::Text(format!("{running}\n@rc 0\n"))),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn plans_write_the_real_file_and_reload_only_on_change() {
        let args = json!({"name": "net.x", "value": "yes", "sysctl_file": "/etc/s.conf"});
        let d = run(args.clone(), Some("net.x=1\n"), "1");
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = run(args.clone(), Some("net.x=0\n"), "0");
        assert_eq!(testing::after(&d), "net.x=1\n");
        let changes = testing::changes(&d);
        assert!(matches!(&changes[0], Change::Write { dest, .. } if dest == "/real/sysctl.conf"));
        assert!(
            matches!(&changes[1], Change::Raw { script, .. } if script.contains("-p /etc/s.conf"))
        );
        // Without reload, and the file right: nothing, whatever runs.
        let mut a = args.clone();
        a["reload"] = json!(false);
        let d = run(a, Some("net.x=1\n"), "0");
        assert!(matches!(d, Decision::Ok { .. }));
        // sysctl_set sets the running value first.
        let mut a = args;
        a["reload"] = json!(false);
        a["sysctl_set"] = json!(true);
        let d = run(a, Some("net.x=1\n"), "0");
        let changes = testing::changes(&d);
        assert_eq!(changes.len(), 1);
        assert!(matches!(&changes[0], Change::Raw { script, .. } if script.contains("-w net.x=1")));
    }

    #[test]
    fn a_present_key_needs_a_value() {
        let m = fail_msg(testing::run("sysctl", json!({"name": "a.b"}), |_| None));
        assert!(m.contains("missing: value"), "{m}");
        let m = fail_msg(testing::run(
            "sysctl",
            json!({"name": "a.b", "value": ""}),
            |_| None,
        ));
        assert_eq!(m, "value cannot be blank");
    }

    /// sysctl exiting 0 after failing to set a key fails the task, with
    /// its words, as ansible.posix's `_stderr_failed`; other output does not.
    #[test]
    fn sysctl_saying_it_failed_fails_even_when_it_exits_0() {
        let dir = tempfile::tempdir().unwrap();
        let stub = dir.path().join("sysctl");
        std::fs::write(
            &stub,
            "#!/bin/sh\n[ \"$2\" = bad.key=1 ] && echo 'sysctl: setting key \"bad.key\": Invalid argument' >&2\n\
             echo \"$2\"\nexit 0\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = |key: &str| {
            let Change::Raw { script, .. } = checked_sysctl(
                &format!("-w {}", quote(&format!("{key}=1"))),
                &format!("setting {key} failed: "),
            ) else {
                panic!()
            };
            format!(
                "PATH={}:$PATH\n{script}",
                quote(&dir.path().display().to_string())
            )
        };
        let out = testing::run_sh(&script("bad.key"), b"");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "setting bad.key failed: sysctl: setting key \"bad.key\": Invalid argument\nbad.key=1\n"
        );
        let out = testing::run_sh(&script("good.key"), b"");
        assert!(out.status.success(), "{out:?}");
    }
}
