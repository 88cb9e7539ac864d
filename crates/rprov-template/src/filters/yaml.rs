//! `to_yaml`, `to_nice_yaml` and `from_yaml`.
//!
//! Ansible prints YAML with PyYAML: keys sorted, `to_yaml` with
//! `default_flow_style=None` (collections of scalars inline as `[1, 2]`,
//! everything else in block style, indent 2) and `to_nice_yaml` in block
//! style with indent 4. Sequences inside a mapping are not indented (`- x`
//! under the key), items of a nested sequence use `-` padded to the indent.
//! A small emitter here reproduces that layout, so files rendered by rprov
//! match Ansible's and stay idempotent. Known difference: multi-line strings
//! are written double-quoted with `\n` escapes (PyYAML folds them into a
//! single-quoted scalar); both read back to the same string.
//!
//! Parsing (`from_yaml`) uses serde-saphyr, which reads YAML 1.1 booleans
//! (`yes`/`no`) as Ansible does.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};
use serde_json::Value as J;

use super::{as_text, filter_error, from_json, to_json};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("from_yaml_all", from_yaml_all);
}

/// Ansible's `to_yaml(indent=2)`, with flow style for leaf collections.
pub fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(2);
    kwargs.assert_all_used()?;
    Ok(dump(&to_json("to_yaml", value)?, indent.max(2), true))
}

/// Ansible's `to_nice_yaml(indent=4)`, block style throughout.
pub fn to_nice_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
    kwargs.assert_all_used()?;
    Ok(dump(&to_json("to_nice_yaml", value)?, indent.max(2), false))
}

/// Ansible's `from_yaml`: parses a YAML string into data.
pub fn from_yaml(value: &Value) -> Result<Value, Error> {
    let text = as_text(value)?;
    let parsed: J = serde_saphyr::from_str(&text).map_err(|e| filter_error("from_yaml", e))?;
    Ok(from_json(&parsed))
}

/// Ansible's `from_yaml_all`: every document of a YAML stream, as a list
/// (an empty document, `---` with nothing after it, is `null`, as PyYAML
/// reads it). `none` gives `[]`; another value that is not text is
/// returned as it is, as ansible-core does.
pub fn from_yaml_all(value: &Value) -> Result<Value, Error> {
    super::require_defined(value)?;
    if value.is_none() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let mut docs = Vec::new();
    for (i, chunk) in split_documents(text).into_iter().enumerate() {
        let has_content = chunk
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        if !has_content {
            // Before the first `---` only content makes a document.
            if i > 0 {
                docs.push(J::Null);
            }
            continue;
        }
        let parsed: J =
            serde_saphyr::from_str(&chunk).map_err(|e| filter_error("from_yaml_all", e))?;
        docs.push(parsed);
    }
    Ok(from_json(&J::Array(docs)))
}

/// A YAML stream cut at its document markers (`---` at the start of a
/// line; what follows it on that line belongs to the document), `...` end
/// markers and `%` directives left out. The first piece is what comes
/// before the first marker.
fn split_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = bare == "---"
            || bare
                .strip_prefix("---")
                .is_some_and(|r| r.starts_with([' ', '\t']));
        if is_marker {
            docs.push(format!("{}\n", &bare[3..]));
            continue;
        }
        if bare == "..." || bare.starts_with("... ") {
            continue;
        }
        let current = docs.len() - 1;
        if current == 0 && bare.starts_with('%') {
            continue;
        }
        docs[current].push_str(line);
    }
    docs
}

/// Serialises `value` as PyYAML's `yaml.dump(sort_keys=True)` would, with
/// `indent` and leaf collections in flow style when `flow_leaves`.
pub fn dump(value: &J, indent: usize, flow_leaves: bool) -> String {
    let e = Emitter {
        indent,
        flow_leaves,
    };
    let mut out = String::new();
    match value {
        J::Array(_) | J::Object(_) if e.inline(value) => {
            out.push_str(&flow(value));
            out.push('\n');
        }
        J::Array(a) => e.seq(&mut out, a, 0),
        J::Object(m) => e.map(&mut out, m, 0),
        scalar => {
            // PyYAML ends a document holding only a scalar with `...`.
            out.push_str(&scalar_text(scalar));
            out.push_str("\n...\n");
        }
    }
    out
}

struct Emitter {
    indent: usize,
    flow_leaves: bool,
}

impl Emitter {
    /// Whether `v` is written on the line of its key or dash.
    fn inline(&self, v: &J) -> bool {
        match v {
            J::Array(a) => a.is_empty() || (self.flow_leaves && is_leaf(v)),
            J::Object(m) => m.is_empty() || (self.flow_leaves && is_leaf(v)),
            _ => true,
        }
    }

    fn map(&self, out: &mut String, map: &serde_json::Map<String, J>, col: usize) {
        let mut entries: Vec<(&String, &J)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut first = true;
        for (k, v) in entries {
            if !first {
                out.push_str(&" ".repeat(col));
            }
            first = false;
            out.push_str(&scalar_text(&J::String(k.clone())));
            out.push(':');
            self.value_after_key(out, v, col);
        }
    }

    fn value_after_key(&self, out: &mut String, v: &J, col: usize) {
        if self.inline(v) {
            out.push(' ');
            out.push_str(&flow(v));
            out.push('\n');
            return;
        }
        out.push('\n');
        match v {
            // PyYAML does not indent a sequence under a mapping key.
            J::Array(a) => {
                out.push_str(&" ".repeat(col));
                self.seq(out, a, col);
            }
            J::Object(m) => {
                out.push_str(&" ".repeat(col + self.indent));
                self.map(out, m, col + self.indent);
            }
            _ => {}
        }
    }

    fn seq(&self, out: &mut String, items: &[J], col: usize) {
        let mut first = true;
        for item in items {
            if !first {
                out.push_str(&" ".repeat(col));
            }
            first = false;
            if self.inline(item) {
                out.push_str("- ");
                out.push_str(&flow(item));
                out.push('\n');
                continue;
            }
            out.push('-');
            out.push_str(&" ".repeat(self.indent - 1));
            let inner = col + self.indent;
            match item {
                J::Array(a) => self.seq(out, a, inner),
                J::Object(m) => self.map(out, m, inner),
                _ => {}
            }
        }
    }
}

/// A collection whose items are all scalars (PyYAML's flow candidates).
fn is_leaf(v: &J) -> bool {
    match v {
        J::Array(a) => a.iter().all(|i| !matches!(i, J::Array(_) | J::Object(_))),
        J::Object(m) => m.values().all(|i| !matches!(i, J::Array(_) | J::Object(_))),
        _ => false,
    }
}

/// A value in flow style (`[1, 2]`, `{a: 1}`) or a scalar.
fn flow(v: &J) -> String {
    match v {
        J::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        J::Object(m) => {
            let mut entries: Vec<(&String, &J)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}: {}", scalar_text(&J::String(k.clone())), flow(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        scalar => scalar_text(scalar),
    }
}

/// A scalar as PyYAML prints it: plain when it reads back as the same string,
/// single-quoted otherwise, double-quoted when it holds control characters.
fn scalar_text(v: &J) -> String {
    match v {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => {
            if s.chars().any(|c| c.is_control()) {
                double_quoted(s)
            } else if needs_quotes(s) {
                format!("'{}'", s.replace('\'', "''"))
            } else {
                s.clone()
            }
        }
        J::Array(_) | J::Object(_) => flow(v),
    }
}

/// Whether a plain scalar would be misread (as another type, or as syntax).
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    let special = [
        "null", "~", "true", "false", "yes", "no", "on", "off", ".nan", ".inf", "-.inf", "+.inf",
        "<<", "=",
    ];
    if special.contains(&lower.as_str()) {
        return true;
    }
    if looks_numeric(s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-x` and `:x` style starts are fine in PyYAML when followed by a
        // non-space; `- ` or a lone indicator is not.
        let second = s.chars().nth(1);
        let plain_ok = matches!(first, '-' | '?' | ':') && second.is_some_and(|c| c != ' ');
        if !plain_ok {
            return true;
        }
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':')
}

/// Strings PyYAML's YAML 1.1 resolver would read as an int, a float or a
/// timestamp (its own patterns: `0x1f`, `1_000`, sexagesimal `1:30`,
/// `1.5`, `2001-12-14`), which it therefore quotes; `1.2.3.4` or `1e5` it
/// leaves plain.
fn looks_numeric(s: &str) -> bool {
    static IMPLICIT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"^(?:",
            // int
            r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            // float
            r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
            r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
            // timestamp
            r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
            r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}",
            r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?",
            r")$"
        ))
        .expect("a valid pattern")
    });
    IMPLICIT.is_match(s)
}

/// A YAML double-quoted scalar with escapes.
fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
