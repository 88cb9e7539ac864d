//! Unified diffs of file changes, coloured on a terminal.

use console::style;
use serde_json::{json, Value as Json};
use similar::{ChangeTag, TextDiff};

use crate::modules::Diff;

pub fn render(d: &Diff, color: bool) -> String {
    let mut out = String::new();
    for a in &d.attrs {
        out.push_str(&format!("    {}: {a}\n", d.path));
    }
    if let (Some(before), Some(after)) = (&d.before, &d.after) {
        let td = TextDiff::from_lines(before.as_str(), after.as_str());
        out.push_str(&paint(&format!("--- before: {}\n", d.path), '-', color));
        out.push_str(&paint(&format!("+++ after: {}\n", d.path), '+', color));
        for group in td.grouped_ops(3) {
            let (first, last) = match (group.first(), group.last()) {
                (Some(f), Some(l)) => (f, l),
                _ => continue,
            };
            let old = first.old_range().start..last.old_range().end;
            let new = first.new_range().start..last.new_range().end;
            out.push_str(&paint(
                &format!(
                    "@@ -{},{} +{},{} @@\n",
                    old.start + 1,
                    old.len(),
                    new.start + 1,
                    new.len()
                ),
                '@',
                color,
            ));
            for op in group {
                for change in td.iter_changes(&op) {
                    let sign = match change.tag() {
                        ChangeTag::Delete => '-',
                        ChangeTag::Insert => '+',
                        ChangeTag::Equal => ' ',
                    };
                    let mut line = format!("{sign}{}", change.value());
                    if !line.ends_with('\n') {
                        line.push_str("\n\\ No newline at end of file\n");
                    }
                    out.push_str(&paint(&line, sign, color));
                }
            }
        }
    }
    out
}

fn paint(line: &str, sign: char, color: bool) -> String {
    if !color {
        return line.to_string();
    }
    let body = line.trim_end_matches('\n');
    let painted = match sign {
        '+' => style(body).green().to_string(),
        '-' => style(body).red().to_string(),
        '@' => style(body).cyan().to_string(),
        _ => body.to_string(),
    };
    format!("{painted}\n")
}

pub fn to_json(d: &Diff) -> Json {
    let mut v = json!({"path": d.path, "changes": d.attrs});
    if let (Some(_), Some(_)) = (&d.before, &d.after) {
        v["unified"] = json!(render(d, false));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_plain() {
        let d = Diff {
            path: "/etc/x".into(),
            before: Some("a\nb\nc\n".into()),
            after: Some("a\nB\nc\n".into()),
            attrs: vec!["mode: 0644 → 0600".into()],
        };
        let s = render(&d, false);
        assert_eq!(
            s,
            "    /etc/x: mode: 0644 → 0600\n--- before: /etc/x\n+++ after: /etc/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }
}
