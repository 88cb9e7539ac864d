//! The `Origin:` part of ansible-core 2.19's `[ERROR]` block: where the
//! failed task is written, and its line with the two lines before it, a
//! caret under the column (its `SourceContext.from_origin`). Scripts grep
//! ansible-playbook's output, and these lines are part of it.

use std::path::Path;

use crate::diag::Origin;

/// Lines of the file shown before the task's own.
const CONTEXT_LINES: usize = 2;
/// The widest annotated line, its line number included.
const MAX_WIDTH: usize = 120;
const TRUNCATION: &str = "...";

/// `Origin: PATH:LINE:COL`, a blank line and the annotated source lines;
/// the source is left out, with ansible-core's reason, when it cannot be
/// shown. The path is absolute, as ansible-core loads its files.
pub(super) fn render(origin: &Origin) -> String {
    let path = std::path::absolute(&origin.path).unwrap_or_else(|_| origin.path.to_path_buf());
    let place = match (origin.line, origin.col) {
        (0, _) => path.display().to_string(),
        (l, 0) => format!("{}:{l}", path.display()),
        (l, c) => format!("{}:{l}:{c}", path.display()),
    };
    let mut out = format!("Origin: {place}");
    let annotated = match origin.line {
        0 => Vec::new(),
        line => annotate(&path, line as usize, origin.col as usize),
    };
    if !annotated.is_empty() {
        out.push_str("\n\n");
        out.push_str(&annotated.join("\n"));
    }
    out
}

/// The annotated lines ending at `line` (1-based), with the column marker.
fn annotate(path: &Path, line: usize, col: usize) -> Vec<String> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return vec![not_shown(python_error_name(&e))],
    };
    if text.starts_with("$ANSIBLE_VAULT;") {
        return vec![not_shown("content encrypted")];
    }
    let start = line.saturating_sub(1 + CONTEXT_LINES);
    let lines: Vec<&str> = text.lines().skip(start).take(line - start).collect();
    if lines.len() != line - start {
        return vec![not_shown("file truncated")];
    }
    let label_width = line.to_string().len();
    let max_len = MAX_WIDTH - label_width - 1;
    let mut usable = max_len;
    let mut out: Vec<String> = Vec::new();
    for (n, text) in (start + 1..).zip(&lines) {
        let mut text = text.replace('\t', " ");
        if text.chars().count() > max_len {
            text = text
                .chars()
                .take(max_len - TRUNCATION.len())
                .collect::<String>()
                + TRUNCATION;
            usable = max_len - TRUNCATION.len();
        }
        let gap = if text.is_empty() { "" } else { " " };
        out.push(format!("{n:>label_width$}{gap}{text}"));
    }
    if (1..=usable).contains(&col) {
        let label = format!("column {col}");
        let idx = col - 1;
        let marker = if idx + 2 + label.len() > max_len {
            format!(
                "{}{label} ^",
                " ".repeat(idx.saturating_sub(label.len() + 1))
            )
        } else {
            format!("{}^ {label}", " ".repeat(idx))
        };
        out.push(format!("{} {marker}", " ".repeat(label_width)));
    }
    out
}

fn not_shown(why: &str) -> String {
    format!("(source not shown: {why})")
}

/// The Python exception ansible-core names when a file cannot be read.
fn python_error_name(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "FileNotFoundError",
        std::io::ErrorKind::PermissionDenied => "PermissionError",
        _ => "OSError",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn origin(dir: &Path, text: &str, line: u32, col: u32) -> Origin {
        let path = dir.join("site.yml");
        std::fs::write(&path, text).expect("write");
        Origin::new(Arc::from(path.as_path()), line, col)
    }

    #[test]
    fn two_lines_before_and_a_caret_under_the_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let o = origin(
            dir.path(),
            "- hosts: all\n  tasks:\n    - name: t\n      fail:\n",
            3,
            7,
        );
        let want = format!(
            "Origin: {}:3:7\n\n1 - hosts: all\n2   tasks:\n3     - name: t\n        ^ column 7",
            dir.path().join("site.yml").display()
        );
        assert_eq!(render(&o), want);
    }

    #[test]
    fn a_wider_line_number_pads_the_labels_and_a_blank_line_has_no_gap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!("{}\n- x: 1\n", "a\n".repeat(8));
        let o = origin(dir.path(), &text, 10, 1);
        let got = render(&o);
        let lines: Vec<&str> = got.lines().skip(2).collect();
        assert_eq!(lines, [" 8 a", " 9", "10 - x: 1", "   ^ column 1"]);
    }

    #[test]
    fn a_long_line_is_cut_and_the_caret_goes_left_of_a_far_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = "x".repeat(200);
        let o = origin(dir.path(), &format!("{long}\n"), 1, 110);
        let got = render(&o);
        let lines: Vec<&str> = got.lines().skip(2).collect();
        assert_eq!(lines[0].len(), 120);
        assert!(lines[0].ends_with("x..."), "{}", lines[0]);
        assert!(lines[1].ends_with("column 110 ^"), "{}", lines[1]);
    }

    #[test]
    fn a_file_that_cannot_be_read_or_is_encrypted_is_not_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = Origin::new(Arc::from(dir.path().join("gone.yml").as_path()), 2, 3);
        assert!(render(&gone).ends_with("\n\n(source not shown: FileNotFoundError)"));
        let vault = origin(dir.path(), "$ANSIBLE_VAULT;1.1;AES256\n3132\n", 2, 1);
        assert!(render(&vault).ends_with("\n\n(source not shown: content encrypted)"));
    }
}
