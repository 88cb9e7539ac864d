//! `lineinfile`: make sure one line is in a text file (or is not).
//!
//! The new content is computed on the controller from the file's current
//! content and written with the atomic write, so check mode shows a real
//! unified diff. Which line is replaced or where a line is inserted follows
//! ansible-core's `lineinfile.present` step by step: the *last* line matching
//! `regexp` (or `search_string`) is replaced (the first with `firstmatch`);
//! without a match, an identical line means nothing to do; otherwise the line
//! goes after the last line matching `insertafter` (before, for
//! `insertbefore`), at `BOF`, or at the end of the file.
//!
//! Regular expressions are Python's `re` syntax, run by `fancy-regex` (as the
//! template filters run them): look-around and backreferences inside the
//! pattern work. Each line is matched *without* its line ending, so `\s` or
//! `\n` cannot match the newline (in Python `$` matches before it anyway, so
//! anchored patterns behave the same). With `backrefs`, the line may use
//! Python's `\1`, `\g<1>` and `\g<name>`; they are translated.

use fancy_regex::Regex;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Content};
use super::files::{self, parent, Attrs};
use super::mode::Mode;
use super::sysargs::both;
use super::typed::{choice, module_args};
use super::{Decision, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

choice! {
    /// Whether the line (lineinfile) or the block (blockinfile) is wanted.
    pub enum State { Present = "present", Absent = "absent" }
}

module_args! {
    /// `lineinfile`'s arguments, with Ansible's aliases. `unsafe_writes`
    /// and the SELinux ones are taken and have no effect, as before;
    /// `attributes` is refused (see `refuse`).
    pub struct Args {
        /// Optional here only to keep the module's own message.
        path: Option<String> ["path", "dest", "destfile", "name"],
        regexp: Option<String> ["regexp", "regex"],
        search_string: Option<String> ["search_string"],
        line: Option<String> ["line", "value"],
        state: State ["state"] = State::Present,
        /// A pattern, or `EOF`/`BOF`.
        insertafter: Option<String> ["insertafter"],
        insertbefore: Option<String> ["insertbefore"],
        create: bool ["create"] = false,
        backrefs: bool ["backrefs"] = false,
        firstmatch: bool ["firstmatch"] = false,
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        backup: bool ["backup"] = false,
        validate: Option<String> ["validate"],
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
        .ok_or_else(|| PlanError::Fail("`lineinfile` needs `path`".into()))?;
    let state = args.state;
    // ansible-core's warning for a pattern that matches every line.
    let warning = match (args.regexp.as_deref(), args.search_string.as_deref()) {
        (Some(""), _) => Some(format!(
            "{} If this is desired, use '^' to match every line in the file and avoid this warning.",
            matches_every_line("regular expression")
        )),
        (_, Some("")) => Some(matches_every_line("search string")),
        _ => None,
    };
    let regexp = match &args.regexp {
        Some(r) => Some(compile("regexp", r)?),
        None => None,
    };
    let search = args.search_string;
    let line = args.line;
    let after = args.insertafter;
    let before = args.insertbefore;
    let (backrefs, firstmatch, create) = (args.backrefs, args.firstmatch, args.create);
    let edit = Edit {
        attrs: Attrs::new(args.owner, args.group, args.mode),
        validate: args.validate,
        backup: args.backup,
        create,
        backup_key: BackupKey::Backup,
    };
    if after.is_some() && before.is_some() {
        return Err(fail(
            "`insertafter` and `insertbefore` are mutually exclusive",
        ));
    }
    if regexp.is_some() && search.is_some() {
        return Err(fail("`regexp` and `search_string` are mutually exclusive"));
    }
    if backrefs && search.is_some() {
        return Err(fail(
            "`backrefs` and `search_string` are mutually exclusive",
        ));
    }

    let file = read_text(cx, &path)?;
    let (mut lines, original) = match &file {
        Text::Missing if state == State::Absent => {
            return Ok(Decision::Ok {
                result: result(&path, false, "file not present"),
                msg: Some("file not present".into()),
            })
        }
        Text::Missing if !create => {
            return Err(PlanError::Missing(format!(
                "lineinfile: Destination {path} does not exist !"
            )))
        }
        Text::Missing => (Vec::new(), None),
        Text::Present(t, _) => (split_lines(t), Some(t.clone())),
    };

    let msg = if state == State::Present {
        if backrefs && regexp.is_none() {
            return Err(fail("regexp is required with backrefs=true"));
        }
        let line = line.ok_or_else(|| fail("line is required with state=present"))?;
        // The line as a replacement template, checked before any match.
        let template = if backrefs {
            Some(py_template(&line).map_err(|e| fail(&e))?)
        } else {
            None
        };
        let (after, before) = match (after, before) {
            (None, None) => (Some("EOF".to_string()), None),
            other => other,
        };
        let ins = match (after.as_deref(), before.as_deref()) {
            (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile("insertafter", a)?),
            (None, Some(b)) if b != "BOF" => Some(compile("insertbefore", b)?),
            _ => None,
        };
        let want = Want {
            regexp: regexp.as_ref(),
            search: search.as_deref(),
            line: &line,
            after: after.as_deref(),
            before: before.as_deref(),
            ins: ins.as_ref(),
            backrefs: template.as_deref(),
            firstmatch,
        };
        present(&mut lines, &want)?
    } else {
        if regexp.is_none() && search.is_none() && line.is_none() {
            return Err(fail(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        let n = absent(
            &mut lines,
            regexp.as_ref(),
            search.as_deref(),
            line.as_deref(),
        )?;
        (n > 0).then(|| format!("{n} line(s) removed"))
    };
    let new = lines.concat();
    let st = match &file {
        Text::Present(_, st) => st.clone(),
        Text::Missing => FileState::missing(),
    };
    let mut d = write(cx, &path, original.as_deref(), &new, &st, edit)?;
    if let (Decision::Change { action, .. }, Some(m)) = (&mut d, msg) {
        action.result.insert("msg".into(), json!(m));
    }
    if let (Some(w), Some(result)) = (warning, d.result_mut()) {
        result.insert("warnings".into(), json!([w]));
    }
    Ok(d)
}

/// The start of ansible-core's warning about an empty `what`.
fn matches_every_line(what: &str) -> String {
    format!(
        "The {what} is an empty string, which will match every line in the file. This may have \
         unintended consequences, such as replacing the last line in the file rather than appending."
    )
}

fn fail(m: &str) -> PlanError {
    PlanError::Fail(format!("lineinfile: {m}"))
}

/// Compiles a user's regular expression, naming the argument on error.
pub fn compile(arg: &str, re: &str) -> Result<Regex, PlanError> {
    Regex::new(re).map_err(|e| {
        PlanError::Fail(format!(
            "`{arg}` is not a valid regular expression: {}",
            rprov_template::filters::regex::python_words(&e)
        ))
    })
}

/// Whether `re` matches `text`; a pattern that backtracks without end
/// fails the task rather than matching nothing.
pub fn matches(re: &Regex, text: &str) -> Result<bool, PlanError> {
    re.is_match(text).map_err(|e| run_failed(re, e))
}

/// The task's failure when matching `re` failed (its backtracking limit).
pub fn run_failed(re: &Regex, e: fancy_regex::Error) -> PlanError {
    PlanError::Fail(format!("regular expression `{}` failed: {e}", re.as_str()))
}

/// A text file's content, or its absence.
pub enum Text {
    Missing,
    Present(String, FileState),
}

/// Reads a text file that the module edits: its stat and content in one round.
pub fn read_text(cx: &PlanCx, path: &str) -> Result<Text, PlanError> {
    let (st, content) = both(cx.file(path, true), cx.content(path))?;
    match st.kind {
        FileKind::Missing => Ok(Text::Missing),
        FileKind::Directory => Err(PlanError::Fail(format!("Path {path} is a directory !"))),
        FileKind::File => {
            let bytes = content.ok_or_else(|| {
                PlanError::Fail(format!(
                    "`{path}` is larger than 1 MiB or unreadable: rprov edits lines only in smaller files"
                ))
            })?;
            let text = String::from_utf8(bytes)
                .map_err(|_| PlanError::Fail(format!("`{path}` is not UTF-8 text")))?;
            Ok(Text::Present(text, st))
        }
        _ => Err(PlanError::Fail(format!("`{path}` is not a regular file"))),
    }
}

/// Lines with their endings, as Python's `readlines()` gives them.
pub fn split_lines(t: &str) -> Vec<String> {
    t.split_inclusive('\n').map(str::to_string).collect()
}

fn bare(l: &str) -> &str {
    l.trim_end_matches(['\r', '\n'])
}

struct Want<'a> {
    regexp: Option<&'a Regex>,
    search: Option<&'a str>,
    line: &'a str,
    after: Option<&'a str>,
    before: Option<&'a str>,
    ins: Option<&'a Regex>,
    /// With `backrefs`, the line as a replacement template ([`py_template`]).
    backrefs: Option<&'a str>,
    firstmatch: bool,
}

/// ansible-core's `present()`: returns the message when `lines` changed.
fn present(lines: &mut Vec<String>, w: &Want) -> Result<Option<String>, PlanError> {
    let mut found: Option<usize> = None;
    let mut matched = false;
    if let Some(re) = w.regexp {
        for (i, l) in lines.iter().enumerate() {
            if matches(re, bare(l))? {
                found = Some(i);
                matched = true;
                if w.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = w.search {
        for (i, l) in lines.iter().enumerate() {
            if l.contains(s) {
                found = Some(i);
                matched = true;
                if w.firstmatch {
                    break;
                }
            }
        }
    }
    let mut ins: Option<usize> = None;
    if !matched {
        for (i, l) in lines.iter().enumerate() {
            let ins_hit = match w.ins {
                Some(re) => matches(re, bare(l))?,
                None => false,
            };
            if bare(l) == w.line {
                found = Some(i);
            } else if ins_hit {
                if w.after.is_some() {
                    ins = Some(i + 1);
                    if w.firstmatch {
                        break;
                    }
                }
                if w.before.is_some() {
                    ins = Some(i);
                    if w.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let with_nl = |s: &str| format!("{s}\n");
    if let Some(i) = found {
        let mut new = match (w.backrefs.filter(|_| matched), w.regexp) {
            (Some(template), Some(re)) => expand(re, bare(&lines[i]), template)?,
            _ => w.line.to_string(),
        };
        if !new.ends_with('\n') {
            new.push('\n');
        }
        if lines[i] != new {
            lines[i] = new;
            return Ok(Some("line replaced".into()));
        }
        return Ok(None);
    }
    if w.backrefs.is_some() {
        // Not safe to build the line without a match to fill the backrefs.
        return Ok(None);
    }
    if w.before == Some("BOF") || w.after == Some("BOF") {
        lines.insert(0, with_nl(w.line));
        return Ok(Some("line added".into()));
    }
    let Some(k) = ins.filter(|_| w.after != Some("EOF")) else {
        if lines.last().is_some_and(|l| !l.ends_with(['\n', '\r'])) {
            lines.push("\n".into());
        }
        lines.push(with_nl(w.line));
        return Ok(Some("line added".into()));
    };
    if w.after.is_some() {
        if k == lines.len() {
            if bare(&lines[k - 1]) != w.line {
                lines.push(with_nl(w.line));
                return Ok(Some("line added".into()));
            }
            return Ok(None);
        }
        if bare(&lines[k]) != w.line {
            lines.insert(k, with_nl(w.line));
            return Ok(Some("line added".into()));
        }
        return Ok(None);
    }
    lines.insert(k, with_nl(w.line));
    Ok(Some("line added".into()))
}

/// Removes matching lines; returns how many.
fn absent(
    lines: &mut Vec<String>,
    regexp: Option<&Regex>,
    search: Option<&str>,
    line: Option<&str>,
) -> Result<usize, PlanError> {
    let before = lines.len();
    let mut kept = Vec::with_capacity(lines.len());
    for l in lines.drain(..) {
        let hit = match (regexp, search) {
            (Some(re), _) => matches(re, bare(&l))?,
            (None, Some(s)) => l.contains(s),
            (None, None) => Some(bare(&l)) == line,
        };
        if !hit {
            kept.push(l);
        }
    }
    *lines = kept;
    Ok(before - lines.len())
}

/// Python's `match.expand(template)`, `template` already in the regex
/// crate's `$`-syntax ([`py_template`]).
fn expand(re: &Regex, text: &str, template: &str) -> Result<String, PlanError> {
    let mut out = String::new();
    let caps = re.captures(text).map_err(|e| run_failed(re, e))?;
    if let Some(caps) = caps {
        caps.expand(template, &mut out);
    }
    Ok(out)
}

/// A Python replacement template (`re.sub`'s, `match.expand`'s: `\1`,
/// `\g<1>`, `\g<name>`, `\n`, `\t`, `\\` and the other escapes of
/// Python's `parse_template`) in the regex crate's `$`-syntax. An escaped
/// ASCII letter Python does not know is its error (`bad escape \D at
/// position 0`); other escaped characters (`\.`) stay as written.
pub fn py_template(template: &str) -> Result<String, String> {
    let mut rust = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '$' => rust.push_str("$$"),
            '\\' => match chars.peek().map(|&(_, d)| d) {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some((_, d)) =
                        chars.peek().copied().filter(|(_, d)| d.is_ascii_digit())
                    {
                        if n.len() == 2 {
                            break;
                        }
                        n.push(d);
                        chars.next();
                    }
                    rust.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    let mut name = String::new();
                    if chars.peek().map(|&(_, d)| d) == Some('<') {
                        chars.next();
                        for (_, c) in chars.by_ref() {
                            if c == '>' {
                                break;
                            }
                            name.push(c);
                        }
                        rust.push_str(&format!("${{{name}}}"));
                    } else {
                        return Err(format!("missing < at position {}", at + 2));
                    }
                }
                Some(e @ ('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\')) => {
                    chars.next();
                    rust.push(match e {
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\u{b}',
                        _ => '\\',
                    });
                }
                Some(l) if l.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{l} at position {at}"));
                }
                _ => rust.push('\\'),
            },
            other => rust.push(other),
        }
    }
    Ok(rust)
}

fn result(path: &str, changed: bool, msg: &str) -> Map<String, Json> {
    let mut r = files::result(path, changed);
    r.insert("msg".into(), json!(msg));
    r.insert("backup".into(), json!(""));
    r
}

/// The `diff` lineinfile and blockinfile register, as Ansible's: the
/// content's (its text only in diff mode) and the file attributes' (headers
/// only: rprov reports attribute changes in its own diff lines).
fn diff_list(path: &str, original: Option<&str>, new: &str, want_diff: bool) -> Json {
    let (before, after) = if want_diff {
        (original.unwrap_or(""), new)
    } else {
        ("", "")
    };
    json!([
        {
            "before": before,
            "after": after,
            "before_header": format!("{path} (content)"),
            "after_header": format!("{path} (content)"),
        },
        {
            "before_header": format!("{path} (file attributes)"),
            "after_header": format!("{path} (file attributes)"),
        }
    ])
}

/// Where the result names the backup `backup: yes` made, as each of
/// Ansible's modules has it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BackupKey {
    /// lineinfile's `backup`: "" when no backup was made.
    Backup,
    /// blockinfile's `backup_file`: only when one was made.
    BackupFile,
}

/// How [`write`] writes a file: what the task asked for besides its text.
pub struct Edit {
    pub attrs: Attrs,
    pub validate: Option<String>,
    pub backup: bool,
    /// A missing file is made, with its missing parent directories.
    pub create: bool,
    pub backup_key: BackupKey,
}

/// The decision for a text file whose new content is `new`: Ok when content
/// and attributes already match, else a change with a unified diff, made by
/// the atomic write (or by chown/chmod alone when only attributes differ).
/// Shared by lineinfile, blockinfile and replace.
pub fn write(
    cx: &PlanCx,
    path: &str,
    original: Option<&str>,
    new: &str,
    st: &FileState,
    edit: Edit,
) -> Result<Decision, PlanError> {
    let Edit {
        attrs,
        validate,
        backup,
        create,
        backup_key,
    } = edit;
    let attr_changes = if st.exists() {
        attrs.changes(st)?
    } else {
        Vec::new()
    };
    let same = original == Some(new);
    let registered_diff = diff_list(path, original, new, cx.want_diff);
    if same && attr_changes.is_empty() {
        let mut result = result(path, false, "");
        if backup_key == BackupKey::BackupFile {
            result.remove("backup");
        }
        result.insert("diff".into(), registered_diff);
        return Ok(Decision::Ok { result, msg: None });
    }
    let mut diff = Diff {
        path: path.to_string(),
        attrs: attr_changes,
        ..Diff::default()
    };
    if same {
        let change = Change::set_attrs(path, attrs, st);
        return Ok(Decision::Change {
            diffs: vec![diff],
            action: change::action(vec![change], path)?,
        });
    }
    if !st.exists() {
        diff.attrs.insert(0, "state: absent → file".into());
    }
    diff.before = Some(original.unwrap_or_default().to_string());
    diff.after = Some(new.to_string());
    let mut changes = Vec::new();
    if !st.exists() && create {
        // Ansible creates missing parent directories with `create: yes`.
        changes.push(Change::MakeParents {
            path: parent(path).to_string(),
        });
    }
    changes.push(Change::Write {
        dest: path.to_string(),
        attrs,
        existing: st.clone(),
        validate,
        backup,
        content: Content::Bytes(new.as_bytes().to_vec()),
    });
    let mut action = change::action(changes, path)?;
    action.result.insert("diff".into(), registered_diff);
    // As in Ansible: lineinfile's `backup` is "" unless a file was backed
    // up, blockinfile's `backup_file` is there only then; the script prints
    // the backup's path for it.
    if backup_key == BackupKey::Backup {
        action.result.insert("backup".into(), json!(""));
    }
    if backup && st.kind == FileKind::File {
        action.output = OutputMode::Parse(match backup_key {
            BackupKey::Backup => files::parse_backup_path,
            BackupKey::BackupFile => files::parse_backup,
        });
    }
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, fail_msg};
    use super::super::Decision;

    fn run(args: serde_json::Value, content: Option<&str>) -> Result<Decision, super::PlanError> {
        testing::run_on_file("lineinfile", "/etc/x.conf", args, content)
    }

    use testing::after;

    #[test]
    fn a_backup_is_reported_under_backup() {
        let parses = |d: &Decision| match d {
            Decision::Change { action, .. } => match action.output {
                super::OutputMode::Parse(parse) => Some(parse(0, "/etc/x.conf.1.2~\n", "")),
                _ => None,
            },
            other => panic!("expected a change, got {other:?}"),
        };
        let d = run(json!({"line": "a=1", "backup": true}), Some("b=2\n")).unwrap();
        let got = parses(&d).expect("the backup's path is read from the output");
        assert_eq!(got["backup"], "/etc/x.conf.1.2~");
        assert!(got.get("backup_file").is_none(), "{got:?}");
        // A new file has nothing to back up: `backup` stays "".
        let d = run(json!({"line": "a=1", "backup": true, "create": true}), None).unwrap();
        assert!(parses(&d).is_none());
        let Decision::Change { action, .. } = &d else {
            unreachable!()
        };
        assert_eq!(action.result["backup"], "");
    }

    #[test]
    fn replaces_the_last_match() {
        let d = run(
            json!({"regexp": "^PermitRootLogin", "line": "PermitRootLogin no"}),
            Some("PermitRootLogin yes\n#x\nPermitRootLogin maybe\nend\n"),
        )
        .unwrap();
        assert_eq!(
            after(&d),
            "PermitRootLogin yes\n#x\nPermitRootLogin no\nend\n"
        );
        let d = run(
            json!({"regexp": "^PermitRootLogin", "line": "PermitRootLogin no", "firstmatch": true}),
            Some("PermitRootLogin yes\nPermitRootLogin maybe\n"),
        )
        .unwrap();
        assert_eq!(after(&d), "PermitRootLogin no\nPermitRootLogin maybe\n");
    }

    #[test]
    fn no_change_when_line_is_there() {
        for args in [
            json!({"regexp": "^a=", "line": "a=1"}),
            json!({"line": "a=1"}),
            json!({"line": "a=1", "insertafter": "^b"}),
            json!({"search_string": "a=", "line": "a=1"}),
        ] {
            let d = run(args.clone(), Some("b=2\na=1\nc=3\n")).unwrap();
            assert!(matches!(d, Decision::Ok { .. }), "{args}: {d:?}");
        }
    }

    #[test]
    fn inserts_where_ansible_does() {
        let text = "[a]\nx=1\n[b]\ny=2\n[a]\n";
        // insertafter: after the last match.
        let d = run(
            json!({"line": "new", "insertafter": "^\\[a\\]"}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), "[a]\nx=1\n[b]\ny=2\n[a]\nnew\n");
        let d = run(
            json!({"line": "new", "insertafter": "^\\[a\\]", "firstmatch": true}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), "[a]\nnew\nx=1\n[b]\ny=2\n[a]\n");
        let d = run(
            json!({"line": "new", "insertbefore": "^\\[b\\]"}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), "[a]\nx=1\nnew\n[b]\ny=2\n[a]\n");
        let d = run(json!({"line": "new", "insertbefore": "BOF"}), Some(text)).unwrap();
        assert_eq!(after(&d), format!("new\n{text}"));
        // No match for insertafter: end of file; a missing final newline is added.
        let d = run(
            json!({"line": "new", "insertafter": "^nomatch"}),
            Some("a\nb"),
        )
        .unwrap();
        assert_eq!(after(&d), "a\nb\nnew\n");
        // regexp wins over insertafter when it matches.
        let d = run(
            json!({"regexp": "^y=", "line": "y=3", "insertafter": "^\\[a\\]"}),
            Some(text),
        )
        .unwrap();
        assert_eq!(after(&d), "[a]\nx=1\n[b]\ny=3\n[a]\n");
    }

    #[test]
    fn backrefs() {
        let d = run(
            json!({"regexp": "^(Port) \\d+$", "line": "\\1 2222 # was \\g<1>", "backrefs": true}),
            Some("Port 22\n"),
        )
        .unwrap();
        assert_eq!(after(&d), "Port 2222 # was Port\n");
        // No match with backrefs: the file is left alone.
        let d = run(
            json!({"regexp": "^(Nope)", "line": "\\1", "backrefs": true}),
            Some("Port 22\n"),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn absent_removes_every_match() {
        let d = run(
            json!({"regexp": "^#", "state": "absent"}),
            Some("#a\nb\n#c\n"),
        )
        .unwrap();
        assert_eq!(after(&d), "b\n");
        let Decision::Change { action, .. } = &d else {
            unreachable!()
        };
        assert_eq!(action.result["msg"], json!("2 line(s) removed"));
        let d = run(json!({"line": "zz", "state": "absent"}), Some("b\n")).unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run(json!({"line": "zz", "state": "absent"}), None).unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn missing_file() {
        let m = fail_msg(run(json!({"line": "a"}), None));
        assert!(m.contains("does not exist"), "{m}");
        let d = run(json!({"line": "a", "create": true, "mode": "0600"}), None).unwrap();
        assert_eq!(after(&d), "a\n");
        let s = testing::script(&d);
        assert!(s.contains("mkdir -p -- /etc\n"), "{s}");
        assert!(s.contains("chmod 0600"), "{s}");
    }

    #[test]
    fn attribute_only_change() {
        let d = run(json!({"line": "a", "mode": "0600"}), Some("a\n")).unwrap();
        let Decision::Change { diffs, action } = &d else {
            panic!("{d:?}")
        };
        assert_eq!(diffs[0].attrs, vec!["mode: 0644 → 0600"]);
        assert!(diffs[0].after.is_none());
        assert!(action.stdin.is_none());
    }

    #[test]
    fn bad_arguments() {
        let m = fail_msg(run(json!({"regexp": "(", "line": "a"}), Some("")));
        assert!(m.contains("not a valid regular expression"), "{m}");
        let m = fail_msg(run(json!({"line": "a", "state": "gone"}), Some("")));
        assert!(m.contains("must be one of present, absent"), "{m}");
        let m = fail_msg(run(json!({"regexp": "a"}), Some("")));
        assert!(m.contains("line is required"), "{m}");
        let m = fail_msg(run(json!({"state": "absent"}), Some("")));
        assert!(m.contains("one of line"), "{m}");
        let m = fail_msg(run(
            json!({"line": "a", "insertafter": "x", "insertbefore": "y"}),
            Some(""),
        ));
        assert!(m.contains("mutually exclusive"), "{m}");
    }
}
