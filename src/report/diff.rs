//! Unified diffs of file changes, coloured on a terminal.

use console::style;
use rprov_secrets::Redactor;
use serde_json::{json, Value as Json};
use similar::{ChangeTag, TextDiff};

use crate::modules::Diff;

/// What a removed line of a file that holds secrets is shown as.
const HIDDEN_OLD_LINE: &str = "«old line hidden: this file holds secrets»\n";

/// Renders a diff, masking secrets. The redactor knows the *current* secret
/// values only, and a line removed from a file may hold a previous one (a
/// rotated password, or a value that is no longer in secrets.age). So in a
/// file whose new content holds a secret, no removed line is shown as it
/// was: each is replaced by a marker, and a note says why. Files without a
/// secret in their new content show their removed lines (masked, as every
/// line is, against the current secrets).
pub fn render(d: &Diff, color: bool, redactor: &Redactor) -> String {
    let mut out = String::new();
    for a in &d.attrs {
        out.push_str(&format!("    {}: {}\n", d.path, redactor.redact(a)));
    }
    let (Some(before), Some(after)) = (&d.before, &d.after) else {
        return out;
    };
    let holds_secret = holds_secret(after, redactor);
    let td = TextDiff::from_lines(before.as_str(), after.as_str());
    out.push_str(&paint(&format!("--- before: {}\n", d.path), '-', color));
    out.push_str(&paint(&format!("+++ after: {}\n", d.path), '+', color));
    let mut hid_old_line = false;
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
        for op in &group {
            for c in td.iter_changes(op) {
                let text = if c.tag() == ChangeTag::Delete && holds_secret {
                    hid_old_line = true;
                    std::borrow::Cow::Borrowed(HIDDEN_OLD_LINE)
                } else {
                    redactor.redact(c.value())
                };
                out.push_str(&line(c.tag(), &text, color));
            }
        }
    }
    if hid_old_line {
        out.push_str("    (this file holds secrets: its old lines are not shown, they may hold a previous secret value)\n");
    }
    out
}

/// Whether a file's new content holds a current secret: then its old
/// content may hold a previous one, and is never shown.
fn holds_secret(after: &str, redactor: &Redactor) -> bool {
    redactor.redact(after).as_ref() != after
}

/// The same rule for a `diff` registered in a task's result (`diff.before`
/// of a file that holds secrets becomes a marker), since a later task may
/// print it.
pub fn hide_registered_old(result: &mut serde_json::Map<String, Json>, redactor: &Redactor) {
    let Some(diff) = result.get_mut("diff") else {
        return;
    };
    let entries: Vec<&mut Json> = match diff {
        Json::Array(list) => list.iter_mut().collect(),
        one => vec![one],
    };
    for entry in entries {
        let hide = matches!(entry.get("after"), Some(Json::String(a)) if holds_secret(a, redactor));
        if let Some(before) = entry.get_mut("before").filter(|_| hide) {
            *before = json!("«old content hidden: this file holds secrets»");
        }
    }
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
    fn old_lines_of_a_file_that_holds_secrets_are_not_shown() {
        let r = Redactor::new([("db.password".to_string(), "new-value-123".to_string())]);
        // A rotated password, its old base64, and a line whose old text held
        // a value that is no secret any more: none is shown.
        let d = Diff {
            path: "/etc/app.env".into(),
            before: Some(
                "A=1\nPW=old-value-456\nB64=b2xkLXZhbHVlLTQ1Ng==\nTOKEN=was-secret\n".into(),
            ),
            after: Some("A=1\nPW=new-value-123\nB64=bmV3LXZhbHVlLTEyMw==\nTOKEN=plain\n".into()),
            attrs: vec![],
        };
        let s = render(&d, false, &r);
        for old in [
            "old-value-456",
            "b2xkLXZhbHVlLTQ1Ng",
            "was-secret",
            "new-value-123",
        ] {
            assert!(!s.contains(old), "{old} shown:\n{s}");
        }
        assert!(s.contains("+PW=«secret:db.password»"), "{s}");
        assert!(s.contains("+TOKEN=plain"), "{s}");
        assert_eq!(
            s.matches("-«old line hidden: this file holds secrets»")
                .count(),
            3,
            "{s}"
        );
        assert!(s.contains(" A=1"), "unchanged lines stay: {s}");
        assert!(s.contains("its old lines are not shown"), "{s}");
        // A file without secrets shows what it removes.
        let d = Diff {
            path: "/etc/motd".into(),
            before: Some("hello\n".into()),
            after: Some("bye\n".into()),
            attrs: vec![],
        };
        let s = render(&d, false, &r);
        assert!(s.contains("-hello\n+bye\n"), "{s}");
    }
}
