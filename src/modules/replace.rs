//! `replace`: every match of a regular expression in a file replaced, as
//! ansible-core's `replace` (2.19) does it.
//!
//! The pattern is matched in multiline mode (`^`/`$` at each line) against the
//! whole file, or against the part between `after` and `before` (each a
//! pattern; the part is found with `.` matching line breaks, shortest when
//! both are given). The replacement takes Python's `\1`, `\g<name>`
//! references. The change is reported only when the text differs, so a
//! second run is a no-op; a file that is missing fails the task, as in
//! Ansible, and `after`/`before` that match nothing leave the file alone with
//! Ansible's message. Patterns are Python's `re` syntax, run by
//! `fancy-regex` (see lineinfile.rs).

use fancy_regex::RegexBuilder;
use serde_json::{json, Value as Json};

use super::files::Attrs;
use super::lineinfile::{py_template, read_text, write, BackupKey, Edit, Text};
use super::mode::Mode;
use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};

module_args! {
    /// `replace`'s arguments, with Ansible's aliases. `attributes`,
    /// `unsafe_writes` and the SELinux ones are taken and have no effect, as
    /// before.
    pub struct Args {
        /// Optional here (as `regexp`) to fail with ansible-core's message.
        path: Option<String> ["path", "dest", "destfile", "name"],
        regexp: Option<String> ["regexp"],
        /// With Python's `\1` and `\g<name>` references.
        replace: String ["replace"] = String::new(),
        /// Patterns bounding the part of the file worked on; empty is unset.
        after: Option<String> ["after"],
        before: Option<String> ["before"],
        backup: bool ["backup"] = false,
        validate: Option<String> ["validate"],
        /// Only UTF-8 is taken.
        encoding: Option<String> ["encoding"],
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
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
        .ok_or_else(|| PlanError::Fail("missing required arguments: path".into()))?;
    let regexp = args
        .regexp
        .ok_or_else(|| PlanError::Fail("missing required arguments: regexp".into()))?;
    let replace = args.replace;
    let after = args.after.filter(|s| !s.is_empty());
    let before = args.before.filter(|s| !s.is_empty());
    let edit = Edit {
        attrs: Attrs::new(args.owner, args.group, args.mode),
        validate: args.validate,
        backup: args.backup,
        create: false,
        backup_key: BackupKey::BackupFile,
    };
    if let Some(enc) = args.encoding {
        if !matches!(
            enc.to_ascii_lowercase().replace('_', "-").as_str(),
            "utf-8" | "utf8"
        ) {
            return Err(PlanError::Fail(format!(
                "`encoding: {enc}` is not supported: rprov edits UTF-8 text"
            )));
        }
    }

    // A bad replacement template fails whatever the file holds, as
    // Python's `re.subn` parses it before matching.
    let template = py_template(&replace)
        .map_err(|e| PlanError::Fail(format!("Unable to process replace due to error: {e}")))?;
    let (contents, st) = match read_text(cx, &path)? {
        Text::Missing => return Err(PlanError::Missing(format!("Path {path} does not exist !"))),
        Text::Present(t, st) => (t, st),
    };
    let compile = |what: &str, pattern: &str, dot_all: bool, multi_line: bool| {
        RegexBuilder::new(pattern)
            .dot_matches_new_line(dot_all)
            .multi_line(multi_line)
            .build()
            .map_err(|e| {
                PlanError::Fail(format!(
                    "Unable to process replace due to error: {what} `{pattern}`: {}",
                    rprov_template::filters::regex::python_words(&e)
                ))
            })
    };
    let failed = |e: fancy_regex::Error| {
        PlanError::Fail(format!("Unable to process replace due to error: {e}"))
    };
    // The part of the file to work on, as ansible-core finds it.
    let section_pattern = match (&after, &before) {
        (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
        (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
        (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
        (None, None) => None,
    };
    let (start, end) = match &section_pattern {
        None => (0, contents.len()),
        Some(p) => {
            let re = compile("after/before", p, true, false)?;
            let caps = re.captures(&contents).map_err(failed)?;
            match caps.as_ref().and_then(|c| c.name("subsection")) {
                Some(m) => (m.start(), m.end()),
                None => {
                    let mut result = super::files::result(&path, false);
                    result.insert("rc".into(), json!(0));
                    result.insert(
                        "msg".into(),
                        json!(format!(
                            "Pattern for before/after params did not match the given file: {p}"
                        )),
                    );
                    return Ok(Decision::Ok { result, msg: None });
                }
            }
        }
    };
    let section = &contents[start..end];
    let re = compile("regexp", &regexp, false, true)?;
    let mut count = 0;
    for m in re.find_iter(section) {
        m.map_err(failed)?;
        count += 1;
    }
    let replaced = re
        .try_replacen(section, 0, template.as_str())
        .map_err(failed)?;
    let new = format!("{}{replaced}{}", &contents[..start], &contents[end..]);
    let content_changed = count > 0 && new != contents;
    let mut d = write(cx, &path, Some(&contents), &new, &st, edit)?;
    // ansible-core's `msg`: what changed, content and/or attributes.
    let attrs_changed = matches!(&d, Decision::Change { diffs, .. }
        if diffs.first().is_some_and(|d| !d.attrs.is_empty()));
    const ATTRS: &str = "ownership, perms or SE linux context changed";
    let msg = match (content_changed, attrs_changed) {
        (true, true) => format!("{count} replacements made and {ATTRS}"),
        (true, false) => format!("{count} replacements made"),
        (false, true) => ATTRS.to_string(),
        (false, false) => String::new(),
    };
    if let Some(result) = d.result_mut() {
        result.insert("msg".into(), json!(msg));
        result.insert("rc".into(), json!(0));
        result.remove("backup");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, after};
    use super::super::Decision;

    fn run(args: serde_json::Value, content: &str) -> Result<Decision, super::PlanError> {
        testing::run_on_file("replace", "/etc/x.conf", args, Some(content))
    }

    const PANGRAMS: &str = "The quick brown fox jumps over the lazy dog.\nWe promptly judged antique ivory buckles for the next prize.\nCrazy Fredrick bought many very exquisite opal jewels.\nJaded zombies acted quaintly but kept driving their oxen forward.\n";

    /// Expected texts are what ansible-core 2.19's replace writes for the
    /// same arguments (its own integration target's cases).
    #[test]
    fn as_ansibles_replace() {
        let d = run(
            json!({"path": "/etc/x.conf", "regexp": "^(.+)$", "replace": "\"\\1\""}),
            "a\nb\n",
        )
        .unwrap();
        assert_eq!(after(&d), "\"a\"\n\"b\"\n");
        let d = run(
            json!({"path": "/etc/x.conf", "regexp": " ", "before": "quilt"}),
            "a b quilt c d\n",
        )
        .unwrap();
        assert_eq!(after(&d), "abquilt c d\n");
        let d = run(
            json!({"path": "/etc/x.conf", "regexp": "e", "replace": "3", "after": "promptly", "before": "exquisite"}),
            PANGRAMS,
        )
        .unwrap();
        assert!(after(&d).contains("We promptly judg3d antiqu3 ivory buckl3s for th3 n3xt priz3.\nCrazy Fr3drick bought many v3ry exquisite"), "{}", after(&d));
        let Decision::Change { action, .. } = &d else {
            unreachable!()
        };
        assert_eq!(action.result["msg"], "8 replacements made");
    }

    #[test]
    fn nothing_to_do_and_unmatched_sections_are_ok() {
        let d = run(
            json!({"path": "/etc/x.conf", "regexp": "zzz", "replace": "y"}),
            "a\n",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = run(
            json!({"path": "/etc/x.conf", "regexp": "a", "after": "nope"}),
            "a\n",
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert!(result["msg"]
            .as_str()
            .unwrap()
            .starts_with("Pattern for before/after params did not match the given file"));
        // A replacement that gives the same text is no change.
        let d = run(
            json!({"path": "/etc/x.conf", "regexp": "(a)", "replace": "\\1"}),
            "a\n",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }
}
