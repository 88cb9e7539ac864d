//! Errors found before any host is touched, pointing at the text that caused them.
//!
//! A [`LoadError`] names a file, line and column and carries a hint of what to do.
//! When rendered it shows the offending source line with a caret under the column,
//! the way `just` and `rustc` do, so a user never has to count lines.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A place in a source file. Line and column are 1-based; 0 means unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub path: Arc<Path>,
    pub line: u32,
    pub col: u32,
}

impl Origin {
    pub fn new(path: Arc<Path>, line: u32, col: u32) -> Self {
        Origin { path, line, col }
    }

    /// A whole file, without a line.
    pub fn file(path: &Path) -> Self {
        Origin {
            path: Arc::from(path),
            line: 0,
            col: 0,
        }
    }

    /// The same file, `offset` lines further down (for a line inside a template
    /// string that starts on this origin's line).
    pub fn plus_lines(&self, offset: u32) -> Origin {
        Origin {
            path: self.path.clone(),
            line: self.line + offset,
            col: if offset == 0 { self.col } else { 0 },
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = display_path(&self.path);
        match (self.line, self.col) {
            (0, _) => write!(f, "{path}"),
            (l, 0) => write!(f, "{path}:{l}"),
            (l, c) => write!(f, "{path}:{l}:{c}"),
        }
    }
}

/// Paths are shown relative to the working directory when they are below it,
/// which is how users typed them.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// A problem with the user's files: malformed YAML, an unknown module, a
/// missing role, an undefined variable.
#[derive(Clone, Debug)]
pub struct LoadError {
    pub origin: Origin,
    pub message: String,
    pub hint: Option<String>,
    /// The message is ansible-core's own words for the failure, which a
    /// task that ignores its errors registers as they are (`msg` without
    /// the place or hint), as playbooks assert on them.
    pub ansible_words: bool,
}

impl LoadError {
    /// The error as a task's failure message, when what it refused is
    /// found only as a task runs (a module named by a template, a role
    /// included at run time): place, message, and its hint on a line of
    /// its own.
    pub fn task_message(&self) -> String {
        if self.ansible_words {
            return self.message.clone();
        }
        match &self.hint {
            Some(h) => format!("{}: {}\n= help: {h}", self.origin, self.message),
            None => format!("{}: {}", self.origin, self.message),
        }
    }

    /// The error as ansible-core 2.19 prints one (`[ERROR]: message`, then
    /// `Origin: file:line:col`), with rprov's source line and hint after:
    /// what rprov prints as `ansible-playbook` or `ansible`, for scripts
    /// that grep ansible-core's words.
    pub fn as_ansible(&self) -> String {
        let full = self.to_string();
        let head = format!("{}: {}", self.origin, self.message);
        let rest = full.strip_prefix(&head).unwrap_or_default();
        format!("[ERROR]: {}\nOrigin: {}{rest}", self.message, self.origin)
    }

    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        LoadError {
            origin,
            message: message.into(),
            hint: None,
            ansible_words: false,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Marks the message as ansible-core's words (see
    /// [`LoadError::ansible_words`]).
    pub fn in_ansible_words(mut self) -> Self {
        self.ansible_words = true;
        self
    }

    /// The source line the error points at, if the file can be read.
    fn source_line(&self) -> Option<String> {
        if self.origin.line == 0 {
            return None;
        }
        let text = std::fs::read_to_string(&self.origin.path).ok()?;
        text.lines()
            .nth(self.origin.line as usize - 1)
            .map(str::to_string)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)?;
        if let Some(line) = self.source_line() {
            let num = self.origin.line.to_string();
            let pad = " ".repeat(num.len());
            write!(f, "\n{pad} |\n{num} | {line}")?;
            if self.origin.col > 0 {
                let caret_pad: String = line
                    .chars()
                    .take(self.origin.col as usize - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n{pad} | {caret_pad}^")?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = help: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Suggests the closest of `candidates` to `word` ("did you mean `copy`?").
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The candidate `word` is a typo of: at most two edits away (and as close
/// as [`did_you_mean`] asks). Stricter than [`did_you_mean`], for names that
/// may well be meant as they are.
pub fn typo_of<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    did_you_mean(word, candidates).filter(|c| strsim_distance(word, c) <= 2)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string
/// alignment), so the commonest typo, `cpoy` for `copy`, is one edit away.
/// Inputs are short names, so the quadratic table is fine.
fn strsim_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("cpy", ["copy", "file", "template"]),
            Some("copy")
        );
        assert_eq!(
            did_you_mean("templte", ["copy", "template"]),
            Some("template")
        );
        assert_eq!(did_you_mean("cpoy", ["file", "copy"]), Some("copy"));
        assert_eq!(did_you_mean("zzzzzz", ["copy", "file"]), None);
    }

    #[test]
    fn renders_caret() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.yml");
        std::fs::write(&p, "- name: a\n  cpy: {}\n").unwrap();
        let e = LoadError::new(
            Origin::new(Arc::from(p.as_path()), 2, 3),
            "unknown module `cpy`",
        )
        .with_hint("did you mean `copy`?");
        let s = e.to_string();
        assert!(s.contains(":2:3: unknown module `cpy`"), "{s}");
        assert!(s.contains("2 |   cpy: {}"), "{s}");
        assert!(s.contains("  |   ^"), "{s}");
        assert!(s.contains("help: did you mean `copy`?"), "{s}");
    }
}
