//! Reading a host's current state in one remote command.
//!
//! A [`Probe`] is a question about the host (a file's stat and checksum, its
//! content, the facts); each kind contributes a shell snippet and a parser. The
//! executor joins every probe it can foresee into one POSIX `sh` script, runs it
//! once, and splits the output by markers — so a run with nothing to change costs
//! one round trip per host instead of one per task (see docs/architecture.md, "probe").

pub mod facts;
pub mod file;

use std::collections::HashMap;

pub use file::{FileKind, FileState};

/// A question about the host's current state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    /// The facts (`ansible_*`): distribution, hostname, user, environment.
    Facts,
    /// stat of a path (following symlinks when `follow`), with a sha256 of regular files.
    File { path: String, follow: bool },
    /// The bytes of a file, for a diff (only asked for when a file will change).
    Content { path: String },
    /// Whether anything under a directory differs from an owner/group/mode (for `recurse`).
    Tree {
        path: String,
        owner: Option<String>,
        group: Option<String>,
        mode: Option<String>,
    },
    /// Any read-only shell snippet a module needs (package versions, unit
    /// states, a user's entry); answered with its stdout. The snippet runs in a
    /// subshell, so `exit` ends only itself. It must not change the host.
    Shell { script: String },
    /// What is at a path (a directory, a file, nothing), for a module that
    /// needs no more (the parents `file: state=directory` may create). Known
    /// from a [`Probe::File`] of the path, or without asking once rprov made
    /// the directory itself (see `Link::learn_made` in the engine). A path not known
    /// is asked for as a [`Probe::File`] (`PlanCx::kinds`), whose answer
    /// gives its kind too.
    Kind { path: String },
    /// A read-only snippet about one path (`stat`'s full record): answered
    /// like [`Probe::Shell`], but stale only when that path (or what is
    /// under it) changes, as a [`Probe::File`] is, not after every action.
    PathShell { path: String, script: String },
}

/// The answer to a [`Probe`].
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    Facts(serde_json::Value),
    File(FileState),
    /// `None` when the file does not exist or is too large to diff.
    Content(Option<Vec<u8>>),
    /// True when at least one entry under the tree differs.
    TreeDiffers(bool),
    /// stdout of a [`Probe::Shell`] or [`Probe::PathShell`] snippet.
    Text(String),
    /// What is at a [`Probe::Kind`]'s path.
    Kind(FileKind),
}

/// Largest file whose old content is fetched for a diff.
pub const MAX_DIFF_BYTES: u64 = 1 << 20;

impl Probe {
    /// Paths this probe reads, so a change to one of them makes the answer stale.
    pub fn path(&self) -> Option<&str> {
        match self {
            Probe::Facts | Probe::Shell { .. } => None,
            Probe::File { path, .. }
            | Probe::Kind { path }
            | Probe::Content { path }
            | Probe::Tree { path, .. }
            | Probe::PathShell { path, .. } => Some(path),
        }
    }

    fn snippet(&self) -> String {
        match self {
            Probe::Facts => facts::script(),
            Probe::File { path, follow } => file::stat_snippet(path, *follow),
            Probe::Kind { path } => file::stat_snippet(path, false),
            Probe::Content { path } => file::content_snippet(path),
            Probe::Tree {
                path,
                owner,
                group,
                mode,
            } => file::tree_snippet(path, owner.as_deref(), group.as_deref(), mode.as_deref()),
            Probe::Shell { script } | Probe::PathShell { script, .. } => {
                format!("( {script}\n) </dev/null 2>/dev/null")
            }
        }
    }

    fn parse(&self, out: &str) -> Result<Fact, String> {
        match self {
            Probe::Facts => facts::parse(out).map(Fact::Facts),
            Probe::File { .. } => file::parse_stat(out).map(Fact::File),
            Probe::Kind { .. } => file::parse_stat(out).map(|st| Fact::Kind(st.kind)),
            Probe::Content { .. } => file::parse_content(out).map(Fact::Content),
            Probe::Tree { .. } => Ok(Fact::TreeDiffers(out.trim() == "differs")),
            Probe::Shell { .. } | Probe::PathShell { .. } => Ok(Fact::Text(out.to_string())),
        }
    }
}

/// Builds one script that answers all `probes`, each section introduced by a
/// marker line carrying `nonce` so no output can be mistaken for a marker.
///
/// File stats are the bulk of a probe (one per file task), so they are not
/// asked one by one: all plain paths go to one `stat` and one `sha256sum`
/// (two processes for any number of paths, instead of four per path), in a
/// section of their own; file contents (for diffs, `lineinfile`) likewise
/// share one `stat` for their sizes. Paths the batches cannot carry
/// unambiguously (with a newline, `|` or `\\`) keep a per-path snippet.
pub fn script(probes: &[Probe], nonce: &str) -> String {
    let mut s = String::from("LC_ALL=C; export LC_ALL\n");
    s.push_str(file::HELPERS);
    let Split {
        files,
        contents,
        single,
    } = split_batch(probes);
    if !files.is_empty() {
        s.push_str(&format!("printf '\\n@@rprov-{nonce}-files\\n'\n"));
        s.push_str(&file::batch_snippet(&files));
        s.push('\n');
    }
    if !contents.is_empty() {
        s.push_str(&format!("printf '\\n@@rprov-{nonce}-contents\\n'\n"));
        s.push_str(&file::contents_snippet(&contents));
        s.push('\n');
    }
    for (i, p) in single {
        s.push_str(&format!("printf '\\n@@rprov-{nonce}-{i}\\n'\n"));
        s.push_str(&p.snippet());
        s.push('\n');
    }
    s.push_str(&format!("printf '\\n@@rprov-{nonce}-end\\n'\n"));
    s
}

/// Probes by the section that answers them.
struct Split<'a> {
    /// File probes the batched stat section carries, as `(path, follow)`.
    files: Vec<(&'a str, bool)>,
    /// Content probes the batched content section carries.
    contents: Vec<&'a str>,
    /// Every other probe, with its index (its section's name).
    single: Vec<(usize, &'a Probe)>,
}

/// Splits probes into those the batched sections answer and the rest.
fn split_batch(probes: &[Probe]) -> Split<'_> {
    let mut split = Split {
        files: Vec::new(),
        contents: Vec::new(),
        single: Vec::new(),
    };
    for (i, p) in probes.iter().enumerate() {
        match p {
            Probe::File { path, follow } if file::batchable(path) => {
                split.files.push((path.as_str(), *follow))
            }
            Probe::Content { path } if file::batchable(path) => split.contents.push(path),
            _ => split.single.push((i, p)),
        }
    }
    split
}

/// Splits the output of [`script`] into one answer per probe.
pub fn parse(probes: &[Probe], nonce: &str, stdout: &str) -> Result<HashMap<Probe, Fact>, String> {
    let mut sections: HashMap<String, String> = HashMap::new();
    let mut current: Option<(String, String)> = None;
    let prefix = format!("@@rprov-{nonce}-");
    let mut ended = false;
    for line in stdout.split('\n') {
        if let Some(tag) = line.strip_prefix(&prefix) {
            if let Some((t, c)) = current.take() {
                sections.insert(t, c);
            }
            if tag == "end" {
                ended = true;
                break;
            }
            current = Some((tag.to_string(), String::new()));
            continue;
        }
        if let Some((_, c)) = current.as_mut() {
            c.push_str(line);
            c.push('\n');
        }
    }
    let Split {
        files: batched,
        contents,
        single,
    } = split_batch(probes);
    let expected =
        single.len() + usize::from(!batched.is_empty()) + usize::from(!contents.is_empty());
    if !ended || sections.len() != expected {
        return Err(format!(
            "the probe script's output was cut short ({} of {} answers)",
            sections.len(),
            expected
        ));
    }
    let mut out = HashMap::new();
    if !batched.is_empty() {
        let text = sections.get("files").map(String::as_str).unwrap_or("");
        let states = file::parse_batch(text, &batched)?;
        for ((path, follow), st) in batched.iter().zip(states) {
            out.insert(
                Probe::File {
                    path: path.to_string(),
                    follow: *follow,
                },
                Fact::File(st),
            );
        }
    }
    if !contents.is_empty() {
        let text = sections.get("contents").map(String::as_str).unwrap_or("");
        let read = file::parse_contents(text, &contents)?;
        for (path, content) in contents.iter().zip(read) {
            out.insert(
                Probe::Content {
                    path: path.to_string(),
                },
                Fact::Content(content),
            );
        }
    }
    for (i, p) in single {
        let text = sections
            .get(&i.to_string())
            .map(String::as_str)
            .unwrap_or("");
        // Each section starts after the newline printed before its marker.
        let body = text.strip_suffix('\n').unwrap_or(text);
        let fact = p.parse(body).map_err(|e| {
            format!(
                "cannot read the state of {}: {e}",
                p.path().unwrap_or("the host")
            )
        })?;
        out.insert(p.clone(), fact);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_runs_locally_and_parses() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "hello\n").unwrap();
        let probes = vec![
            Probe::File {
                path: f.display().to_string(),
                follow: true,
            },
            Probe::File {
                path: dir.path().join("missing").display().to_string(),
                follow: true,
            },
            Probe::Content {
                path: f.display().to_string(),
            },
            Probe::File {
                path: dir.path().display().to_string(),
                follow: true,
            },
            Probe::Shell {
                script: "echo one; exit 3".into(),
            },
        ];
        let s = script(&probes, "n1");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        let facts = parse(&probes, "n1", &String::from_utf8_lossy(&out.stdout)).unwrap();
        let Fact::File(st) = &facts[&probes[0]] else {
            panic!()
        };
        assert_eq!(st.kind, FileKind::File);
        assert_eq!(
            st.sha256.as_deref(),
            Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        assert_eq!(st.size, 6);
        let Fact::File(missing) = &facts[&probes[1]] else {
            panic!()
        };
        assert_eq!(missing.kind, FileKind::Missing);
        assert_eq!(facts[&probes[2]], Fact::Content(Some(b"hello\n".to_vec())));
        let Fact::File(d) = &facts[&probes[3]] else {
            panic!()
        };
        assert_eq!(d.kind, FileKind::Directory);
        assert_eq!(facts[&probes[4]], Fact::Text("one\n".into()));
    }

    #[test]
    fn truncated_output_is_an_error() {
        let probes = vec![Probe::Facts];
        assert!(parse(&probes, "x", "@@rprov-x-0\nfoo\n").is_err());
    }
}
