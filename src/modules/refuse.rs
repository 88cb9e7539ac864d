//! Arguments rprov takes only with the values whose effect it implements.
//!
//! Ansible's file modules accept settings rprov does not carry out:
//! `get_url`'s `attributes` (chattr flags; the other file modules set them:
//! `super::with_attributes`), an `output_encoding` rprov cannot write.
//! Accepting and ignoring them would leave the host
//! different from what Ansible makes of the same task, without a word, so
//! such a value is refused: when the playbook loads if it is written
//! literally, else when the task is planned (the same check, on the rendered
//! value). Values that only need a type check (`trim_blocks`) are checked
//! here too, so a typo fails before any host is contacted.

use serde_json::Value as Json;

/// Why an argument's value is refused, and what to do instead.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub msg: String,
    pub hint: String,
}

/// Modules whose `attributes` argument would set chattr flags that rprov
/// does not set.
const WITH_ATTRIBUTES: &[&str] = &["get_url"];

/// Whether rprov refuses `key: value` on `module`. `None` (null) is never
/// refused: it means the module's default, as in Ansible.
pub fn refusal(module: &str, key: &str, value: &Json) -> Option<Refusal> {
    if value.is_null() {
        return None;
    }
    let refuse = |msg: String, hint: &str| {
        Some(Refusal {
            msg,
            hint: hint.to_string(),
        })
    };
    let not_bool = || crate::truthy::as_bool(value).is_none();
    match (module, key) {
        (m, "attributes") if WITH_ATTRIBUTES.contains(&m) => {
            if value.as_str() == Some("") {
                return None;
            }
            refuse(
                format!("`attributes: {}` (file attributes set with chattr) is not supported by rprov", text(value)),
                "remove `attributes`, and set the flags with a `command: chattr ...` task after this one",
            )
        }
        ("template", "output_encoding") => {
            if value
                .as_str()
                .and_then(super::encoding::OutputEncoding::parse)
                .is_some()
            {
                return None;
            }
            refuse(
                format!("`output_encoding: {}` is no character set rprov can write", text(value)),
                "use utf-8 (the default), latin-1, ascii, or a WHATWG encoding label such as windows-1252 or iso-8859-15",
            )
        }
        ("template", "newline_sequence") => {
            if value
                .as_str()
                .and_then(rprov_template::FileOptions::parse_newline)
                .is_some()
            {
                return None;
            }
            refuse(
                format!("`newline_sequence: {}` is not a line break", text(value).escape_debug()),
                "use one of \"\\n\", \"\\r\\n\" or \"\\r\" (in double quotes in YAML), or '\\n', '\\r\\n', '\\r' in single quotes",
            )
        }
        ("template", "trim_blocks" | "lstrip_blocks") | ("copy", "decrypt") if not_bool() => {
            refuse(
                format!("`{key}` must be yes or no, found {}", text(value)),
                "write `yes` or `no`",
            )
        }
        ("copy", "local_follow") => match crate::truthy::as_bool(value) {
            Some(_) => None,
            None => refuse(
                format!("`local_follow` must be yes or no, found {}", text(value)),
                "write `yes` or `no`",
            ),
        },
        _ => None,
    }
}

/// A value as the user wrote it, for messages.
fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_what_rprov_would_ignore() {
        let refused = |m: &str, k: &str, v: Json| refusal(m, k, &v).is_some();
        assert!(refused("get_url", "attributes", json!("+i")));
        assert!(!refused("get_url", "attributes", json!("")));
        assert!(!refused("get_url", "attributes", json!(null)));
        // The other file modules set them.
        assert!(!refused("copy", "attributes", json!("+i")));
        assert!(refused("template", "output_encoding", json!("utf-16")));
        assert!(!refused(
            "template",
            "output_encoding",
            json!("windows-1252")
        ));
        assert!(!refused("template", "output_encoding", json!("")));
        assert!(!refused("template", "output_encoding", json!("UTF-8")));
        assert!(!refused("template", "output_encoding", json!("utf8")));
        assert!(refused("template", "newline_sequence", json!("crlf")));
        assert!(!refused("template", "newline_sequence", json!("\r\n")));
        assert!(!refused("template", "newline_sequence", json!("\\r\\n")));
        assert!(refused("template", "trim_blocks", json!("maybe")));
        assert!(!refused("template", "trim_blocks", json!(false)));
        assert!(!refused("copy", "local_follow", json!(false)));
        assert!(refused("copy", "local_follow", json!("sometimes")));
        assert!(!refused("copy", "local_follow", json!(true)));
        assert!(!refused("copy", "decrypt", json!(false)));
        assert!(refused("copy", "decrypt", json!("perhaps")));
        // Not the business of other modules.
        assert!(!refused("stat", "get_attributes", json!(true)));
        assert!(!refused("uri", "attributes", json!("x")));
    }
}
