//! ansible-core 2.19's `[ERROR]` block for a failed task: a chain of
//! errors, each caused by the next, printed as its `format_event` does. A
//! link with its own place in the playbook (or help of its own) starts a new
//! section after `<<< caused by >>>`, with its `Origin:` and source lines;
//! the others join the message before them (`Task failed: Action failed:
//! boom`). With several sections, the whole chain in one line comes first.

use crate::diag::Origin;

/// One error of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorLink {
    pub msg: String,
    /// Where it happened: `Origin:` and the source lines.
    pub origin: Option<Origin>,
    /// What to do about it (ansible-core's `help_text`).
    pub help: Option<String>,
}

impl ErrorLink {
    pub fn new(msg: impl Into<String>, origin: Option<Origin>) -> Self {
        ErrorLink {
            msg: msg.into(),
            origin,
            help: None,
        }
    }
}

const CAUSED_BY: &str = "<<< caused by >>>";

/// The `[ERROR]: …` block of `chain` (first link outermost), with the blank
/// line ansible-core leaves after a block of several lines.
pub fn render(chain: &[ErrorLink]) -> String {
    let mut sections: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chain.len() {
        let head = &chain[i];
        let mut messages = vec![head.msg.as_str()];
        let mut j = i + 1;
        // As its `format_event_verbose_message`: a link joins the section
        // unless it has a place or help that differ from the section's.
        while let Some(next) = chain.get(j) {
            let own = next.origin.is_some() || next.help.is_some();
            if own && (next.origin != head.origin || next.help != head.help) {
                break;
            }
            messages.push(next.msg.as_str());
            j += 1;
        }
        let msg = joined(&messages);
        let mut lines = message_lines(&msg, head);
        lines.push('\n');
        sections.push(lines);
        if j < chain.len() {
            sections.push(format!("\n{CAUSED_BY}\n\n"));
        }
        i = j;
    }
    if sections.len() > 1 {
        let all: Vec<&str> = chain.iter().map(|l| l.msg.as_str()).collect();
        sections.insert(0, format!("{}\n\n", joined(&all)));
    }
    let text = sections.concat();
    let text = text.trim();
    let end = if text.contains('\n') { "\n\n" } else { "\n" };
    format!("[ERROR]: {text}{end}")
}

/// A section's lines: its message, its place, its help.
fn message_lines(msg: &str, link: &ErrorLink) -> String {
    let context = link.origin.as_ref().map(super::source_context::render);
    match (&link.help, &context) {
        // One line with the help after it, when there is no place.
        (Some(help), None) if !msg.contains('\n') && !help.contains('\n') => {
            format!("{msg} {help}")
        }
        _ => {
            let mut lines = vec![msg.to_string()];
            lines.extend(context);
            if let Some(help) = &link.help {
                lines.push(String::new());
                lines.push(help.clone());
            }
            lines.join("\n")
        }
    }
}

/// Messages joined as its `deduplicate_message_parts`: from the innermost
/// out, each added before the rest with `: ` (its own final `.` dropped),
/// unless it already ends with what follows.
fn joined(messages: &[&str]) -> String {
    let mut parts = messages.iter().rev();
    let mut out = parts.next().map(|m| m.to_string()).unwrap_or_default();
    for part in parts {
        out = if part.ends_with(out.as_str()) {
            part.to_string()
        } else {
            format!("{}: {out}", part.trim_end_matches(['.', ' ']))
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn links_without_a_place_join_the_first_line() {
        let chain = [
            ErrorLink::new("Task failed: Action failed.", None),
            ErrorLink::new("boom", None),
        ];
        assert_eq!(
            render(&chain),
            "[ERROR]: Task failed: Action failed: boom\n"
        );
        assert_eq!(
            joined(&["a.", "b: c", "c"]),
            "a: b: c",
            "a part that already ends with its cause is kept as it is"
        );
    }

    #[test]
    fn a_link_with_a_place_or_help_is_a_section_of_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("site.yml");
        std::fs::write(&file, "- debug:\n    msg: \"{{ x }}\"\n").expect("write");
        let at = |line, col| Some(Origin::new(Arc::from(Path::new(&file)), line, col));
        let chain = [
            ErrorLink::new("Task failed: Finalization of task args failed.", at(1, 3)),
            ErrorLink::new("Error while resolving value for 'msg'.", at(2, 10)),
            ErrorLink::new("The filter failed.", None),
            ErrorLink {
                msg: "Refusing it".into(),
                origin: None,
                help: Some("Turn it off.".into()),
            },
        ];
        let f = file.display();
        let want = format!(
            "[ERROR]: Task failed: Finalization of task args failed: Error while resolving value for 'msg': The filter failed: Refusing it\n\
             \n\
             Task failed: Finalization of task args failed.\n\
             Origin: {f}:1:3\n\
             \n\
             1 - debug:\n\
             \x20   ^ column 3\n\
             \n\
             <<< caused by >>>\n\
             \n\
             Error while resolving value for 'msg': The filter failed.\n\
             Origin: {f}:2:10\n\
             \n\
             1 - debug:\n\
             2     msg: \"{{{{ x }}}}\"\n\
             \x20          ^ column 10\n\
             \n\
             <<< caused by >>>\n\
             \n\
             Refusing it Turn it off.\n\n"
        );
        assert_eq!(render(&chain), want);
    }
}
