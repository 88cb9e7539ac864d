//! `to_json`, `to_nice_json` and `from_json`, printing JSON exactly as
//! Python's `json.dumps` does in Ansible (`", "` and `": "` separators,
//! non-ASCII escaped as `\uXXXX`, `to_nice_json` with indent 4 and sorted
//! keys), so rendered files are byte-identical to Ansible's and a second run
//! reports no change.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};
use serde_json::Value as J;

use super::{as_text, filter_error, from_json as to_template, to_json as input};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
}

/// How [`dumps`] formats its output, mirroring `json.dumps` arguments.
#[derive(Debug, Clone, Copy)]
pub struct DumpOptions {
    /// `indent=`: pretty-print with this many spaces; `None` for one line.
    pub indent: Option<usize>,
    /// `sort_keys=`.
    pub sort_keys: bool,
    /// `ensure_ascii=`: escape non-ASCII characters.
    pub ensure_ascii: bool,
}

/// Ansible's `to_json(indent=None, sort_keys=False, ensure_ascii=True)`.
pub fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let opts = DumpOptions {
        indent: kwargs.get::<Option<usize>>("indent")?,
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used()?;
    Ok(dumps(&input("to_json", value)?, opts))
}

/// Ansible's `to_nice_json(indent=4, sort_keys=True)`.
pub fn to_nice_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let opts = DumpOptions {
        indent: Some(kwargs.get::<Option<usize>>("indent")?.unwrap_or(4)),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used()?;
    Ok(dumps(&input("to_nice_json", value)?, opts))
}

/// Ansible's `from_json`: parses a JSON string into data. `profile=` names
/// ansible-core's decoder: `tagless` (the default) reads plain JSON;
/// `legacy` and `inventory_legacy` (what `ansible-inventory --list`
/// writes) also turn `{"__ansible_unsafe": "text"}` back into the text.
pub fn from_json(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let profile = kwargs.get::<Option<String>>("profile")?;
    kwargs.assert_all_used()?;
    let text = as_text(value)?;
    let text = super::json_surrogates::prepare(&text).map_err(|why| {
        Error::new(minijinja::ErrorKind::InvalidOperation, why)
            .with_source(crate::error::Help(super::json_surrogates::HELP.to_string()))
    })?;
    let parsed: J = serde_json::from_str(&text).map_err(|e| filter_error("from_json", e))?;
    Ok(match profile.as_deref() {
        None | Some("tagless") => to_template(&parsed),
        Some("legacy" | "inventory_legacy") => to_template(&untag_unsafe(parsed)),
        Some(other) => {
            return Err(filter_error(
                "from_json",
                format!("unknown profile {other:?}"),
            ))
        }
    })
}

/// `{"__ansible_unsafe": "text"}` anywhere in `v` as the text, as
/// ansible-core's legacy JSON decoders read it.
fn untag_unsafe(v: J) -> J {
    match v {
        J::Object(m) if m.len() == 1 && m.get("__ansible_unsafe").is_some_and(J::is_string) => {
            m.into_iter().next().map(|(_, s)| s).unwrap_or(J::Null)
        }
        J::Object(m) => J::Object(m.into_iter().map(|(k, x)| (k, untag_unsafe(x))).collect()),
        J::Array(a) => J::Array(a.into_iter().map(untag_unsafe).collect()),
        other => other,
    }
}

/// Serialises like Python's `json.dumps`.
pub fn dumps(value: &J, opts: DumpOptions) -> String {
    let mut out = String::new();
    write_value(&mut out, value, opts, 0);
    out
}

fn write_value(out: &mut String, value: &J, opts: DumpOptions, depth: usize) {
    match value {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => out.push_str(&n.to_string()),
        J::String(s) => write_string(out, s, opts.ensure_ascii),
        J::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, opts, depth + 1);
                write_value(out, item, opts, depth + 1);
            }
            close(out, opts, depth);
            out.push(']');
        }
        J::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &J)> = map.iter().collect();
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                separator(out, i, opts, depth + 1);
                write_string(out, k, opts.ensure_ascii);
                out.push_str(": ");
                write_value(out, v, opts, depth + 1);
            }
            close(out, opts, depth);
            out.push('}');
        }
    }
}

/// Before item `i`: `", "` on one line, or `",\n"` plus indentation.
fn separator(out: &mut String, i: usize, opts: DumpOptions, depth: usize) {
    match opts.indent {
        None if i > 0 => out.push_str(", "),
        None => {}
        Some(n) => {
            if i > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    }
}

fn close(out: &mut String, opts: DumpOptions, depth: usize) {
    if let Some(n) = opts.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * depth));
    }
}

/// A JSON string literal with Python's escapes.
fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
