//! Unified diffs of file changes, coloured on a terminal.

use console::style;
use rprov_secrets::Redactor;
use serde_json::{json, Value as Json};
use similar::{ChangeTag, TextDiff};

use crate::modules::Diff;

/// Renders a diff, masking secrets. The redactor knows the *current* secret
/// values only; a line removed from a file may hold a secret's previous value.
/// So when a changed line's new text contains a secret, the old line it
/// replaces is shown as the masked new line plus a note, never as it was.
pub fn render(d: &Diff, color: bool, redactor: &Redactor) -> String {
    let mut out = String::new();
    for a in &d.attrs {
        out.push_str(&format!("    {}: {}\n", d.path, redactor.redact(a)));
    }
    let (Some(before), Some(after)) = (&d.before, &d.after) else {
        return out;
    };
    let td = TextDiff::from_lines(before.as_str(), after.as_str());
    out.push_str(&paint(&format!("--- before: {}\n", d.path), '-', color));
    out.push_str(&paint(&format!("+++ after: {}\n", d.path), '+', color));
    let mut hid_old_secret = false;
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
        let changes: Vec<(ChangeTag, String)> = group
            .iter()
            .flat_map(|op| {
                td.iter_changes(op)
                    .map(|c| (c.tag(), c.value().to_string()))
            })
            .collect();
        let mut i = 0;
        while i < changes.len() {
            if changes[i].0 != ChangeTag::Delete {
                out.push_str(&line(changes[i].0, &redactor.redact(&changes[i].1), color));
                i += 1;
                continue;
            }
            // A run of deletions and the insertions that replace it.
            let dels: Vec<&String> = changes[i..]
                .iter()
                .take_while(|c| c.0 == ChangeTag::Delete)
                .map(|c| &c.1)
                .collect();
            let ins: Vec<&String> = changes[i + dels.len()..]
                .iter()
                .take_while(|c| c.0 == ChangeTag::Insert)
                .map(|c| &c.1)
                .collect();
            let secret_in_new = ins
                .iter()
                .any(|l| redactor.redact(l).as_ref() != l.as_str());
            for (k, del) in dels.iter().enumerate() {
                let shown = if secret_in_new {
                    hid_old_secret = true;
                    match ins.get(k) {
                        Some(new_line) => redactor.redact(new_line).into_owned(),
                        None => "«hidden: may hold a previous secret value»\n".to_string(),
                    }
                } else {
                    redactor.redact(del).into_owned()
                };
                out.push_str(&line(ChangeTag::Delete, &shown, color));
            }
            for l in &ins {
                out.push_str(&line(ChangeTag::Insert, &redactor.redact(l), color));
            }
            i += dels.len() + ins.len();
        }
    }
    if hid_old_secret {
        out.push_str("    (a secret's value changed here; its old value is not shown)\n");
    }
    out
}

fn line(tag: ChangeTag, text: &str, color: bool) -> String {
    let sign = match tag {
        ChangeTag::Delete => '-',
        ChangeTag::Insert => '+',
        ChangeTag::Equal => ' ',
    };
    let mut l = format!("{sign}{text}");
    if !l.ends_with('\n') {
        l.push_str("\n\\ No newline at end of file\n");
    }
    paint(&l, sign, color)
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

pub fn to_json(d: &Diff, redactor: &Redactor) -> Json {
    let attrs: Vec<String> = d
        .attrs
        .iter()
        .map(|a| redactor.redact(a).into_owned())
        .collect();
    let mut v = json!({"path": d.path, "changes": attrs});
    if let (Some(_), Some(_)) = (&d.before, &d.after) {
        let full = render(d, false, redactor);
        // The attribute lines are already under "changes".
        let unified: String = full
            .lines()
            .skip(d.attrs.len())
            .map(|l| format!("{l}\n"))
            .collect();
        v["unified"] = json!(unified);
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
        let s = render(&d, false, &Redactor::default());
        assert_eq!(
            s,
            "    /etc/x: mode: 0644 → 0600\n--- before: /etc/x\n+++ after: /etc/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn old_secret_values_are_not_shown() {
        let r = Redactor::new([("db.password".to_string(), "new-value-123".to_string())]);
        let d = Diff {
            path: "/etc/app.env".into(),
            before: Some("A=1\nPW=old-value-456\n".into()),
            after: Some("A=1\nPW=new-value-123\n".into()),
            attrs: vec![],
        };
        let s = render(&d, false, &r);
        assert!(!s.contains("old-value-456"), "{s}");
        assert!(!s.contains("new-value-123"), "{s}");
        assert!(s.contains("-PW=«secret:db.password»"), "{s}");
        assert!(s.contains("+PW=«secret:db.password»"), "{s}");
        assert!(s.contains("old value is not shown"), "{s}");
    }
}
