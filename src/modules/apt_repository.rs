//! `apt_repository`: a one-line `deb …` source in APT's `.list` files.
//!
//! As ansible-core's module: `/etc/apt/sources.list` and every
//! `/etc/apt/sources.list.d/*.list` are read (one read, the files' bytes
//! base64-encoded); a wanted line that is there, even commented out, is
//! enabled where it is, otherwise it is appended to `filename` (by default
//! named after the repository's host and path, `<filename>.list` in
//! sources.list.d); `absent` drops every enabled line equal to it. The
//! comparison is on the parsed lines, and when something changes, every file
//! is written back in ansible-core's normalised form (`# ` before a
//! disabled line, ` # ` before a comment) and a file left with no lines is
//! removed, as its `save` does. Then `apt-get update` unless
//! `update_cache: false`. No Python or `python3-apt` on the host.
//! Launchpad `ppa:` sources are refused: they need Launchpad's API and a
//! key import (`deb822_repository` with `signed_by` does the same job).

use base64::Engine;
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::apt::update_change;
use super::change::{self, Change, Content, Read};
use super::files::Attrs;
use super::mode::Mode;
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileState;

/// APT's `Dir::Etc::sourcelist`.
const SOURCES_LIST: &str = "/etc/apt/sources.list";
/// APT's `Dir::Etc::sourceparts`.
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

choice! {
    /// Whether the line is wanted.
    pub enum State { Present = "present", Absent = "absent" }
}

module_args! {
    /// `apt_repository`'s arguments. `install_python_apt` and
    /// `validate_certs` are taken and have no effect: no Python is used, and
    /// only `ppa:` sources (refused) fetch anything.
    pub struct Args {
        repo: String ["repo"],
        state: State ["state"] = State::Present,
        /// The mode of a file a line is appended to.
        mode: Option<Mode> ["mode"],
        update_cache: bool ["update_cache", "update-cache"] = true,
        update_cache_retries: u64 ["update_cache_retries"] = 5,
        update_cache_retry_max_delay: u64 ["update_cache_retry_max_delay"] = 12,
        filename: Option<String> ["filename"],
        _install_python_apt: bool ["install_python_apt"] = true,
        _validate_certs: bool ["validate_certs"] = true,
        _codename: Option<String> ["codename"],
    }
}

/// One line of a sources file, as ansible-core's `_parse` splits it.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    valid: bool,
    enabled: bool,
    source: String,
    comment: String,
}

impl Line {
    fn parse(line: &str) -> Line {
        let mut line = line.trim();
        let mut enabled = true;
        if let Some(rest) = line.strip_prefix('#') {
            enabled = false;
            line = rest;
        }
        let mut comment = String::new();
        if let Some(i) = line.find('#').filter(|&i| i > 0) {
            comment = line[i + 1..].trim().to_string();
            line = &line[..i];
        }
        let mut source = line.trim().to_string();
        let chunks: Vec<&str> = source.split_whitespace().collect();
        let valid = matches!(chunks.first(), Some(&("deb" | "deb-src")));
        if valid {
            source = chunks.join(" ");
        }
        Line {
            valid,
            enabled,
            source,
            comment,
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if !self.enabled {
            s.push_str("# ");
        }
        s.push_str(&self.source);
        if !self.comment.is_empty() {
            s.push_str(" # ");
            s.push_str(&self.comment);
        }
        s.push('\n');
        s
    }
}

/// A sources file as read: where it is written to (a link's target), its
/// text and its lines.
#[derive(Clone, Debug)]
struct SourceFile {
    path: String,
    write_to: String,
    raw: String,
    lines: Vec<Line>,
}

fn dump(lines: &[Line]) -> Option<String> {
    (!lines.is_empty()).then(|| lines.iter().map(Line::render).collect())
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    if args.repo.is_empty() {
        return Err(PlanError::Fail(
            "Please set argument 'repo' to a non-empty value".into(),
        ));
    }
    if args.repo.starts_with("ppa:") {
        return Err(PlanError::Fail(format!(
            "apt_repository: rprov does not add Launchpad PPAs ({}): they need Launchpad's API \
             and a key import; use deb822_repository with the PPA's URI and its key as `signed_by`",
            args.repo
        )));
    }
    let wanted = Line::parse(&args.repo);
    if !wanted.valid || !wanted.enabled {
        let shown = args.repo.trim().trim_start_matches('#');
        let shown = match shown.find('#').filter(|&i| i > 0) {
            Some(i) => &shown[..i],
            None => shown,
        };
        return Err(PlanError::Fail(format!(
            "Invalid repository string: {shown}"
        )));
    }
    let out = cx.ask_one(Read::Raw {
        script: read_script(),
        why: "sources.list and every sources.list.d/*.list, each named, with the file a \
              link leads to, its bytes base64-encoded",
    })?;
    let before = parse_files(&out).map_err(PlanError::Fail)?;
    let mut after = before.clone();
    let mut new_file: Option<String> = None;
    match args.state {
        State::Present => {
            let mut found = false;
            for f in &mut after {
                for l in &mut f.lines {
                    if l.valid && l.source == wanted.source {
                        l.enabled = true;
                        found = true;
                    }
                }
            }
            if !found {
                let name = match &args.filename {
                    Some(f) => format!("{f}.list"),
                    None => suggest_filename(&wanted.source),
                };
                let path = if name.contains('/') {
                    name
                } else {
                    format!("{SOURCES_DIR}/{name}")
                };
                let line = Line {
                    comment: String::new(),
                    ..wanted.clone()
                };
                match after.iter_mut().find(|f| f.path == path) {
                    Some(f) => f.lines.push(line),
                    None => after.push(SourceFile {
                        path: path.clone(),
                        write_to: path.clone(),
                        raw: String::new(),
                        lines: vec![line],
                    }),
                }
                new_file = Some(path);
            }
        }
        State::Absent => {
            for f in &mut after {
                f.lines
                    .retain(|l| !(l.valid && l.enabled && l.source == wanted.source));
            }
        }
    }

    let dumped = |files: &[SourceFile]| -> Vec<(String, String)> {
        files
            .iter()
            .filter_map(|f| dump(&f.lines).map(|d| (f.path.clone(), d)))
            .collect()
    };
    let (dump_before, dump_after) = (dumped(&before), dumped(&after));
    let changed = dump_before != dump_after;
    let names = |d: &[(String, String)]| d.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    let (nb, na) = (names(&dump_before), names(&dump_after));
    let added: Vec<&String> = na.iter().filter(|p| !nb.contains(p)).collect();
    let removed: Vec<&String> = nb.iter().filter(|p| !na.contains(p)).collect();
    let mut result = Map::new();
    result.insert("changed".into(), json!(changed));
    result.insert("repo".into(), json!(args.repo));
    result.insert("state".into(), json!(args.state.as_str()));
    result.insert(
        "sources_added".into(),
        json!(if changed { &added } else { &[][..] }),
    );
    result.insert(
        "sources_removed".into(),
        json!(if changed { &removed } else { &[][..] }),
    );
    let mut registered = Vec::new();
    if changed && cx.want_diff {
        for p in added.iter().chain(removed.iter()) {
            let get = |d: &[(String, String)]| {
                d.iter()
                    .find(|(q, _)| q == *p)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default()
            };
            let header = |d: &[(String, String)]| {
                if d.iter().any(|(q, _)| q == *p) {
                    p.to_string()
                } else {
                    "/dev/null".to_string()
                }
            };
            registered.push(json!({
                "before": get(&dump_before),
                "after": get(&dump_after),
                "before_header": header(&dump_before),
                "after_header": header(&dump_after),
            }));
        }
    }
    result.insert("diff".into(), Json::Array(registered));
    if !changed {
        return Ok(Decision::Ok { result, msg: None });
    }

    // ansible-core's `save`: every file written back as dumped (a no-op
    // where the text is already that), one with no lines removed.
    let mut changes = Vec::new();
    let mut diffs = Vec::new();
    let mut touched = Vec::new();
    for f in &after {
        match dump(&f.lines) {
            Some(text) if text != f.raw => {
                let is_new = f.raw.is_empty() && !before.iter().any(|b| b.path == f.path);
                let appended = new_file.as_deref() == Some(f.path.as_str());
                // `mode` is for the file the line went to, as ansible-core's
                // `new_repos`; a new file otherwise gets the umask's mode.
                let mode = if appended { args.mode.clone() } else { None };
                diffs.push(Diff {
                    path: f.path.clone(),
                    before: Some(f.raw.clone()),
                    after: Some(text.clone()),
                    attrs: if is_new {
                        vec!["state: absent → file".into()]
                    } else {
                        Vec::new()
                    },
                });
                changes.push(Change::Write {
                    dest: f.write_to.clone(),
                    attrs: Attrs {
                        mode,
                        ..Attrs::default()
                    },
                    existing: if is_new {
                        FileState::missing()
                    } else {
                        existing_file(&f.raw)
                    },
                    validate: None,
                    backup: false,
                    content: Content::Bytes(text.into_bytes()),
                });
                touched.push(f.write_to.clone());
            }
            Some(_) => {}
            None if before.iter().any(|b| b.path == f.path) => {
                diffs.push(Diff {
                    path: f.path.clone(),
                    before: Some(f.raw.clone()),
                    after: Some(String::new()),
                    attrs: vec!["state: file → absent".into()],
                });
                changes.push(Change::Remove {
                    path: f.path.clone(),
                });
                touched.push(f.path.clone());
            }
            None => {}
        }
    }
    if args.update_cache {
        changes.push(update_change(
            vec!["apt-get".into(), "update".into(), "-q".into()],
            args.update_cache_retries,
            args.update_cache_retry_max_delay,
        ));
    }
    let mut action = change::action(changes, SOURCES_DIR)?;
    for t in touched {
        if !action.touches.contains(&t) {
            action.touches.push(t);
        }
    }
    action.result = result;
    Ok(Decision::Change { diffs, action })
}

/// A [`FileState`] for an existing file whose owner and mode the write
/// keeps (it reads them on the host).
fn existing_file(raw: &str) -> FileState {
    FileState {
        kind: crate::probe::FileKind::File,
        mode: "644".into(),
        owner: "root".into(),
        group: "root".into(),
        uid: 0,
        gid: 0,
        size: raw.len() as u64,
        nlink: 1,
        sha256: None,
        link_target: None,
    }
}

/// ansible-core's `_suggest_filename`: the repository's host and path
/// (options, scheme and credentials dropped), its non-alphanumeric runs as
/// `_`, `.list`.
fn suggest_filename(source: &str) -> String {
    let mut line = String::new();
    let mut depth = false;
    for c in source.chars() {
        match c {
            '[' if !depth => depth = true,
            ']' if depth => depth = false,
            _ if depth => {}
            c => line.push(c),
        }
    }
    let line = strip_schemes(&line);
    let first = line
        .split_whitespace()
        .find(|p| !matches!(*p, "deb" | "deb-src"))
        .unwrap_or("");
    let first = first.split_once('@').map_or(first, |(_, h)| h);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

/// `re.sub(r'\w+://', '', line)`.
fn strip_schemes(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let head = &rest[..i];
        let word_start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map(|(j, _)| j);
        match word_start {
            Some(j) => out.push_str(&head[..j]),
            None => out.push_str(&rest[..i + 3]),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

/// The read: for each file, `@@rprov-file PATH`, `@@rprov-to TARGET` (the
/// file itself, or what a link leads to), its bytes as base64, `@@rprov-end`.
fn read_script() -> String {
    format!(
        "for _rp_f in {list} {dir}/*.list; do\n\
         \x20 [ -f \"$_rp_f\" ] || continue\n\
         \x20 printf '@@rprov-file %s\\n' \"$_rp_f\"\n\
         \x20 printf '@@rprov-to %s\\n' \"$(readlink -f -- \"$_rp_f\")\"\n\
         \x20 base64 < \"$_rp_f\"\n\
         \x20 echo @@rprov-end\n\
         done\n",
        list = quote(SOURCES_LIST),
        dir = quote(SOURCES_DIR),
    )
}

fn parse_files(out: &str) -> Result<Vec<SourceFile>, String> {
    let mut files = Vec::new();
    let mut cur: Option<(String, String, String)> = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("@@rprov-file ") {
            cur = Some((p.to_string(), p.to_string(), String::new()));
        } else if let Some(t) = line.strip_prefix("@@rprov-to ") {
            if let Some(c) = cur.as_mut() {
                if !t.is_empty() {
                    c.1 = t.to_string();
                }
            }
        } else if line == "@@rprov-end" {
            if let Some((path, write_to, b64)) = cur.take() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| format!("cannot read {path} from the host: {e}"))?;
                let raw = String::from_utf8_lossy(&bytes).into_owned();
                let lines = raw.lines().map(Line::parse).collect();
                files.push(SourceFile {
                    path,
                    write_to,
                    raw,
                    lines,
                });
            }
        } else if let Some(c) = cur.as_mut() {
            c.2.push_str(line.trim());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use serde_json::json;

    use super::super::change::Change;
    use super::super::testing::{self, changes, fail_msg};
    use super::super::{Decision, PlanError};
    use super::suggest_filename;
    use crate::probe::{Fact, Probe};

    const OLD: &str = "/etc/apt/sources.list.d/old.list";
    const OLD_TEXT: &str =
        "#deb   http://old.example.org/x   stable main #note\n\n# plain comment\ndeb-src http://old.example.org/x stable main\n";

    /// Plans against a host whose `.list` files are `files` (path, text).
    fn on(args: serde_json::Value, files: &[(&str, &str)]) -> Result<Decision, PlanError> {
        let mut out = String::new();
        for (p, t) in files {
            out.push_str(&format!(
                "@@rprov-file {p}\n@@rprov-to {p}\n{}\n@@rprov-end\n",
                base64::engine::general_purpose::STANDARD.encode(t)
            ));
        }
        testing::run("apt_repository", args, move |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(out.clone())),
            _ => None,
        })
    }

    fn writes(d: &Decision) -> Vec<(String, String)> {
        changes(d)
            .iter()
            .filter_map(|c| match c {
                Change::Write {
                    dest,
                    content: super::Content::Bytes(b),
                    ..
                } => Some((dest.clone(), String::from_utf8_lossy(b).into_owned())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn file_names_as_ansible_core_suggests_them() {
        assert_eq!(
            suggest_filename(
                "deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://user:pw@deb.rprov-ref.example/debian-x bookworm main"
            ),
            "deb_rprov_ref_example_debian_x.list"
        );
        assert_eq!(
            suggest_filename("deb http://dl.google.com/linux/chrome/deb/ stable main"),
            "dl_google_com_linux_chrome_deb.list"
        );
    }

    #[test]
    fn a_new_line_goes_to_its_own_file_and_the_others_are_normalised() {
        // ansible-core 2.19 wrote these texts for these arguments.
        let d = on(
            json!({
                "repo": "deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://user:pw@deb.rprov-ref.example/debian-x bookworm main",
                "update_cache": false,
            }),
            &[(OLD, OLD_TEXT)],
        )
        .unwrap();
        assert_eq!(
            writes(&d),
            [
                (
                    OLD.to_string(),
                    "# deb http://old.example.org/x stable main # note\n\n# plain comment\n\
                     deb-src http://old.example.org/x stable main\n"
                        .to_string()
                ),
                (
                    "/etc/apt/sources.list.d/deb_rprov_ref_example_debian_x.list".to_string(),
                    "deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://user:pw@deb.rprov-ref.example/debian-x bookworm main\n"
                        .to_string()
                )
            ]
        );
        let Decision::Change { action, .. } = &d else {
            panic!("a change")
        };
        assert_eq!(
            action.result["sources_added"],
            json!(["/etc/apt/sources.list.d/deb_rprov_ref_example_debian_x.list"])
        );
        assert!(!changes(&d).iter().any(|c| matches!(c, Change::Run { .. })));
    }

    #[test]
    fn a_commented_line_is_enabled_in_place_then_nothing_to_do() {
        let args = json!({"repo": "deb http://old.example.org/x stable main"});
        let d = on(args.clone(), &[(OLD, OLD_TEXT)]).unwrap();
        let enabled = "deb http://old.example.org/x stable main # note\n\n# plain comment\n\
                       deb-src http://old.example.org/x stable main\n";
        assert_eq!(writes(&d), [(OLD.to_string(), enabled.to_string())]);
        // update_cache is on by default.
        assert!(testing::script(&d).contains("apt-get update -q"));
        let d = on(args, &[(OLD, enabled)]).unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn absent_removes_the_line_and_an_emptied_file() {
        let f = "/etc/apt/sources.list.d/x.list";
        let d = on(
            json!({"repo": "deb http://x.example/ stable main", "state": "absent", "update_cache": false}),
            &[(f, "deb   http://x.example/ stable main\n")],
        )
        .unwrap();
        assert_eq!(
            changes(&d),
            &[Change::Remove {
                path: f.to_string()
            }]
        );
        let Decision::Change { action, .. } = &d else {
            panic!("a change")
        };
        assert_eq!(action.result["sources_removed"], json!([f]));
    }

    #[test]
    fn ppa_and_invalid_lines_are_refused() {
        assert!(fail_msg(on(json!({"repo": "ppa:x/y"}), &[])).contains("deb822_repository"));
        assert_eq!(
            fail_msg(on(json!({"repo": "http://x stable"}), &[])),
            "Invalid repository string: http://x stable"
        );
    }
}
