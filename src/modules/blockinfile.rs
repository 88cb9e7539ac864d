//! `blockinfile`: a block of lines between two marker lines.
//!
//! Follows ansible-core's algorithm: the block is found by its exact marker
//! lines (`# BEGIN ANSIBLE MANAGED BLOCK` by default), cut out and put back
//! with the new text in the same place; without markers it goes after the last
//! line matching `insertafter` (before the last line matching `insertbefore`),
//! at `BOF`, or at the end. The change is reported only when the resulting
//! text differs, so a second run is a no-op. Patterns match one line at a
//! time, unless they start with the multiline flag (`(?m)`), which matches
//! them against the whole text (see lineinfile.rs for the regex dialect).

use serde_json::{json, Value as Json};

use super::files::Attrs;
use super::lineinfile::{
    compile, matches, read_text, run_failed, split_lines, write, BackupKey, Edit, State, Text,
};
use super::mode::Mode;
use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};
use crate::probe::FileState;

module_args! {
    /// `blockinfile`'s arguments, with Ansible's aliases. `unsafe_writes`
    /// and the SELinux ones are taken and have no effect, as before;
    /// `attributes` is refused (see `refuse`).
    pub struct Args {
        /// Optional here only to keep the module's own message.
        path: Option<String> ["path", "dest", "destfile", "name"],
        block: String ["block", "content"] = String::new(),
        /// The marker lines, `{mark}` standing for `marker_begin`/`marker_end`.
        marker: String ["marker"] = "# {mark} ANSIBLE MANAGED BLOCK".into(),
        marker_begin: String ["marker_begin"] = "BEGIN".into(),
        marker_end: String ["marker_end"] = "END".into(),
        /// A pattern, or `EOF`.
        insertafter: Option<String> ["insertafter"],
        /// A pattern, or `BOF`.
        insertbefore: Option<String> ["insertbefore"],
        state: State ["state"] = State::Present,
        create: bool ["create"] = false,
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        backup: bool ["backup"] = false,
        validate: Option<String> ["validate"],
        append_newline: bool ["append_newline"] = false,
        prepend_newline: bool ["prepend_newline"] = false,
        _unsafe_writes: bool ["unsafe_writes"] = false,
        _attributes: Option<Json> ["attributes", "attr"],
        _setype: Option<String> ["setype"],
        _seuser: Option<String> ["seuser"],
        _serole: Option<String> ["serole"],
        _selevel: Option<String> ["selevel"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let path = args
        .path
        .ok_or_else(|| PlanError::Fail("`blockinfile` needs `path`".into()))?;
    let state = args.state;
    let marker = args.marker;
    if !marker.contains("{mark}") {
        // Without it both markers are the same line and the block would be
        // inserted again on every run.
        return Err(PlanError::Fail(
            "blockinfile: `marker` must contain {mark}".into(),
        ));
    }
    let (begin, end) = (args.marker_begin, args.marker_end);
    let block = args.block;
    let after = args.insertafter;
    let before = args.insertbefore;
    if after.is_some() && before.is_some() {
        return Err(PlanError::Fail(
            "blockinfile: `insertafter` and `insertbefore` are mutually exclusive".into(),
        ));
    }
    let insert_re = match (after.as_deref(), before.as_deref()) {
        (Some(a), _) if a != "EOF" => Some(compile("insertafter", a)?),
        (None, Some(b)) if b != "BOF" => Some(compile("insertbefore", b)?),
        _ => None,
    };
    let create = args.create;
    let prepend_nl = args.prepend_newline;
    let append_nl = args.append_newline;
    let edit = Edit {
        attrs: Attrs::new(args.owner, args.group, args.mode),
        validate: args.validate,
        backup: args.backup,
        create,
        backup_key: BackupKey::BackupFile,
    };

    let (original, st) = match read_text(cx, &path)? {
        Text::Missing if !create => {
            return Err(PlanError::Missing(format!(
                "blockinfile: Path {path} does not exist !"
            )))
        }
        Text::Missing => (None, FileState::missing()),
        Text::Present(t, st) => (Some(t), st),
    };
    let mut lines = original.as_deref().map(split_lines).unwrap_or_default();
    let present = state == State::Present;
    let marker0 = format!("{}\n", marker.replace("{mark}", &begin));
    let marker1 = format!("{}\n", marker.replace("{mark}", &end));
    let blocklines: Vec<String> = if present && !block.is_empty() {
        let mut b = block.clone();
        if !b.ends_with('\n') {
            b.push('\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(split_lines(&b));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };

    let n0 = lines.iter().rposition(|l| *l == marker0);
    let n1 = lines.iter().rposition(|l| *l == marker1);
    let mut at = match (n0, n1) {
        (Some(a), Some(b)) => {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            lines.drain(lo..=hi);
            lo
        }
        _ => match &insert_re {
            // With `(?m)` the pattern is matched against the whole text, and
            // the block goes after the line where the match ends (before the
            // line where it starts), as Ansible does.
            Some(re) if multiline(re.as_str()) => {
                let text = original.as_deref().unwrap_or_default();
                let found = re.find(text).map_err(|e| run_failed(re, e))?;
                match found {
                    None => lines.len(),
                    Some(m) if after.is_some() => text[..m.end()].matches('\n').count() + 1,
                    Some(m) => text[..m.start()].matches('\n').count(),
                }
            }
            Some(re) => {
                let mut last = None;
                for (i, l) in lines.iter().enumerate() {
                    if matches(re, l.trim_end_matches(['\r', '\n']))? {
                        last = Some(i);
                    }
                }
                match last {
                    None => lines.len(),
                    Some(i) if after.is_some() => i + 1,
                    Some(i) => i,
                }
            }
            None if before.is_some() => 0,
            None => lines.len(),
        },
    };
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    if prepend_nl && present && at != 0 && lines[at - 1] != "\n" {
        lines.insert(at, "\n".into());
        at += 1;
    }
    let n = blocklines.len();
    lines.splice(at..at, blocklines);
    if append_nl && present {
        let next = at + n;
        if next < lines.len() && lines[next] != "\n" {
            lines.insert(next, "\n".into());
        }
    }
    let new = lines.concat();
    let msg = if original.as_deref() == Some(new.as_str()) {
        ""
    } else if original.is_none() {
        "File created"
    } else if n == 0 {
        "Block removed"
    } else {
        "Block inserted"
    };
    let mut d = write(cx, &path, original.as_deref(), &new, &st, edit)?;
    if let Decision::Change { action, .. } = &mut d {
        action.result.insert("msg".into(), json!(msg));
    }
    Ok(d)
}

/// Whether a pattern starts with inline flags that hold `m` (`(?m)`,
/// `(?im)`): Python's `re.MULTILINE`, which is how Ansible decides to match
/// `insertafter`/`insertbefore` against the whole file.
fn multiline(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(flags, _)| {
            flags.contains('m') && flags.chars().all(|c| c.is_ascii_alphabetic())
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, fail_msg};
    use super::super::Decision;

    fn run(args: serde_json::Value, content: Option<&str>) -> Result<Decision, super::PlanError> {
        testing::run_on_file("blockinfile", "/etc/hosts", args, content)
    }

    use testing::after;

    #[test]
    fn inserts_then_is_idempotent() {
        let d = run(json!({"block": "a\nb"}), Some("x\ny")).unwrap();
        let new = after(&d);
        assert_eq!(
            new,
            "x\ny\n# BEGIN ANSIBLE MANAGED BLOCK\na\nb\n# END ANSIBLE MANAGED BLOCK\n"
        );
        assert!(matches!(
            run(json!({"block": "a\nb"}), Some(&new)).unwrap(),
            Decision::Ok { .. }
        ));
        // Changed block text replaces the old one in place.
        let d = run(json!({"block": "c"}), Some(&format!("{new}z\n"))).unwrap();
        assert_eq!(
            after(&d),
            "x\ny\n# BEGIN ANSIBLE MANAGED BLOCK\nc\n# END ANSIBLE MANAGED BLOCK\nz\n"
        );
        // Removed with state absent or an empty block.
        let d = run(json!({"state": "absent"}), Some(&new)).unwrap();
        assert_eq!(after(&d), "x\ny\n");
        let d = run(json!({"block": ""}), Some(&new)).unwrap();
        assert_eq!(after(&d), "x\ny\n");
    }

    /// Ansible's rule: `(?m)` matches across lines, and the block goes after
    /// the line the match ends on (before the one it starts on); without it
    /// a pattern with `\n` matches no single line, so the block goes last.
    #[test]
    fn a_multiline_pattern_matches_the_whole_text() {
        let text = "a\nX =\n  (L =\n  y\nb\n";
        let block = "\n# BEGIN ANSIBLE MANAGED BLOCK\nk\n# END ANSIBLE MANAGED BLOCK\n";
        let d = run(
            json!({"block": "k", "insertafter": "(?m)X =\n.*\\(L ="}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), format!("a\nX =\n  (L ={block}  y\nb\n"));
        let d = run(
            json!({"block": "k", "insertbefore": "(?m)X =\n.*\\(L ="}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), format!("a{block}X =\n  (L =\n  y\nb\n"));
        let d = run(
            json!({"block": "k", "insertafter": "X =\n.*\\(L ="}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), format!("a\nX =\n  (L =\n  y\nb{block}"));
        assert!(
            super::multiline("(?im)x") && !super::multiline("(?:m)x") && !super::multiline("m")
        );
    }

    #[test]
    fn markers_and_placement() {
        let d = run(
            json!({"block": "k", "marker": "// {mark} rprov", "marker_begin": "start",
                   "marker_end": "stop", "insertbefore": "^y"}),
            Some("x\ny\ny\n"),
        )
        .unwrap();
        assert_eq!(after(&d), "x\ny\n// start rprov\nk\n// stop rprov\ny\n");
        let d = run(json!({"block": "k", "insertbefore": "BOF"}), Some("x\n")).unwrap();
        assert!(after(&d).starts_with("# BEGIN"));
        let d = run(json!({"block": "k", "insertafter": "^x", "prepend_newline": true, "append_newline": true}), Some("x\ny\n")).unwrap();
        assert_eq!(
            after(&d),
            "x\n\n# BEGIN ANSIBLE MANAGED BLOCK\nk\n# END ANSIBLE MANAGED BLOCK\n\ny\n"
        );
    }

    #[test]
    fn errors() {
        let m = fail_msg(run(json!({"block": "a"}), None));
        assert!(m.contains("does not exist"), "{m}");
        let m = fail_msg(run(json!({"block": "a", "marker": "# fixed"}), Some("")));
        assert!(m.contains("{mark}"), "{m}");
        let d = run(json!({"block": "a", "create": true}), None).unwrap();
        assert_eq!(
            after(&d),
            "# BEGIN ANSIBLE MANAGED BLOCK\na\n# END ANSIBLE MANAGED BLOCK\n"
        );
    }
}
