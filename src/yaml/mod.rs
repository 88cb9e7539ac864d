//! YAML documents as trees of [`Node`]s that remember where they came from.
//!
//! Playbooks, task files and role metadata are loaded into this tree rather than
//! straight into typed structs so that every later error ("unknown module",
//! "undefined variable", "unknown handler") can name the file, line and column of
//! the text the user wrote. serde-saphyr gives each node's location through its
//! `Spanned` wrapper; we keep it on every node and drop it only when a value is
//! handed to a module as plain JSON.
//!
//! YAML 1.1 booleans (`yes`/`no`/`on`/`off`) are read as booleans and numbers with
//! a leading zero as octal, as Ansible (PyYAML) reads them, so `mode: 0644` means
//! what an Ansible user expects.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::diag::{LoadError, Origin};

pub mod vault_values;

/// What a key set twice in one mapping does: ansible-core's
/// `DUPLICATE_YAML_DICT_KEY` (`duplicate_dict_key` in ansible.cfg). Unless
/// it is an error, the last value wins, in the first one's place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DuplicateKeys {
    /// A warning naming the place (ansible-core's default).
    #[default]
    Warn,
    /// The file does not load.
    Error,
    /// Nothing is said.
    Ignore,
}

static DUPLICATE_KEYS: OnceLock<DuplicateKeys> = OnceLock::new();

/// Sets what a repeated key does for the run. Called once, by the CLI.
pub fn set_duplicate_keys(policy: DuplicateKeys) {
    let _ = DUPLICATE_KEYS.set(policy);
}

fn duplicate_keys() -> DuplicateKeys {
    DUPLICATE_KEYS.get().copied().unwrap_or_default()
}

/// ansible-core's message for a mapping or list used as a key, which is
/// what an unquoted `{{ var }}` value is to YAML.
const UNQUOTED_TEMPLATE: &str = "This may be an issue with missing quotes around a template block; a value that starts with `{{` must be quoted: `raw: \"{{ some_var }}\"`";

/// The warnings of the files parsed so far, for the CLI to show once.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Takes the warnings of the files parsed since the last call.
pub fn take_warnings() -> Vec<String> {
    WARNINGS
        .lock()
        .map(|mut w| std::mem::take(&mut *w))
        .unwrap_or_default()
}

thread_local! {
    /// The repeated keys of the document being parsed: key, line, column.
    static REPEATED: RefCell<Vec<(String, u32, u32)>> = const { RefCell::new(Vec::new()) };
}

/// One YAML value with its position in the source (1-based line and column).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    pub col: u32,
}

/// The shape of a YAML value. Mappings keep their order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Looks up a key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's kind, for "expected a list, found a string" messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as plain JSON, for module arguments and variables.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A mapping key as the string Ansible would use (`1: x` has the key "1").
    pub fn key_string(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => String::new(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => self.to_json().to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<serde_saphyr::Tagged<Value>>::deserialize(d)?;
        let serde_saphyr::Tagged(mut value, tag) = spanned.value;
        match tag.as_deref() {
            Some(UNSAFE) => mark_unsafe(&mut value),
            Some(vault_values::TAG) => vault_values::mark(&mut value),
            Some(t) if BINARY.contains(&t) => {
                value = decode_binary(value).map_err(de::Error::custom)?
            }
            _ => {}
        }
        Ok(Node {
            value,
            line: u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX),
            col: u32::try_from(spanned.referenced.column()).unwrap_or(u32::MAX),
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Ansible's tag for text that is never templated (`!unsafe '{{ x }}'`).
const UNSAFE: &str = "!unsafe";

/// YAML's tag for base64-encoded bytes (`!!binary |`), as written and resolved.
const BINARY: [&str; 2] = ["!!binary", "tag:yaml.org,2002:binary"];

/// The bytes of a `!!binary` scalar. ansible-core (PyYAML) loads them as a
/// Python `bytes` value; rprov's values are text, so they become the decoded
/// text, with any byte that is not UTF-8 replaced by U+FFFD, as such a value
/// is when ansible-core turns it into text for a module or a template.
fn decode_binary(value: Value) -> Result<Value, String> {
    use base64::Engine as _;
    let Value::Str(text) = value else {
        return Ok(value);
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("!!binary value is not valid base64 ({e}); write it as base64 text, or drop the tag"))?;
    Ok(Value::Str(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }))
}

/// Makes every string in an `!unsafe` value a template of itself: a Jinja
/// string literal, which renders to the text as written wherever the value
/// goes (module arguments, variables, `set_fact`). Text without template
/// syntax becomes one too, so that it stays untrusted: used as a conditional
/// or as `debug`'s `var`, it is a template that renders to text, which
/// ansible-core refuses to evaluate as an expression, as it refuses any
/// `!unsafe` text (see `rprov_template::trust`). Keys change only when they
/// hold `{{`, `{%` or `{#`: a key is never evaluated, and a variable name
/// must stay a name.
fn mark_unsafe(value: &mut Value) {
    match value {
        Value::Str(s) => *s = rprov_template::trust::unsafe_literal(s),
        Value::Seq(items) => items.iter_mut().for_each(|n| mark_unsafe(&mut n.value)),
        Value::Map(entries) => {
            for (k, v) in entries {
                if let Value::Str(s) = &mut k.value {
                    if rprov_template::is_template(s) {
                        *s = rprov_template::trust::unsafe_literal(s);
                    }
                }
                mark_unsafe(&mut v.value);
            }
        }
        _ => {}
    }
}

/// ansible-core's JSON form of `!unsafe` text, `{"__ansible_unsafe": "…"}`
/// (what `ansible-inventory --list` writes, and its legacy JSON decoder
/// reads back, `-e` included), made `!unsafe` text everywhere in `value`.
pub fn unwrap_json_unsafe(value: &mut serde_json::Value) {
    use serde_json::Value as J;
    match value {
        J::Object(m) if m.len() == 1 => match m.get("__ansible_unsafe") {
            Some(J::String(s)) => *value = J::String(rprov_template::trust::unsafe_literal(s)),
            _ => m.values_mut().for_each(unwrap_json_unsafe),
        },
        J::Object(m) => m.values_mut().for_each(unwrap_json_unsafe),
        J::Array(a) => a.iter_mut().for_each(unwrap_json_unsafe),
        _ => {}
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            // `key: {{ var }}` unquoted is a mapping whose key is a mapping,
            // which Python cannot hold either: ansible-core's words.
            if matches!(k.value, Value::Map(_) | Value::Seq(_)) {
                return Err(de::Error::custom(UNQUOTED_TEMPLATE));
            }
            // A repeated key (see `DuplicateKeys`): the last value, in the
            // first one's place, as a Python dict keeps it.
            if let Some(name) = k.as_str() {
                if let Some(&at) = seen.get(name) {
                    REPEATED.with(|r| r.borrow_mut().push((name.to_string(), k.line, k.col)));
                    entries[at].1 = v;
                    continue;
                }
                seen.insert(name.to_string(), entries.len());
            }
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }
}

/// A parsed YAML file: its root node and the path it was read from.
#[derive(Clone, Debug)]
pub struct Document {
    pub path: Arc<Path>,
    pub root: Node,
}

impl Document {
    /// Where a node of this document is, for error messages.
    pub fn origin(&self, node: &Node) -> Origin {
        Origin::new(self.path.clone(), node.line, node.col)
    }
}

fn options(text: &str) -> serde_saphyr::Options {
    let mut opts = serde_saphyr::Options::default();
    opts.legacy_octal_numbers = true;
    opts.with_snippet = false;
    // `!!binary` text reaches `Node`, which decodes it (see `decode_binary`).
    opts.ignore_binary_tag_for_string = true;
    // A repeated key reaches `Node`'s map visitor, which keeps the last
    // value, unless it is an error.
    opts.duplicate_keys = match duplicate_keys() {
        DuplicateKeys::Error => serde_saphyr::DuplicateKeyPolicy::Error,
        DuplicateKeys::Warn | DuplicateKeys::Ignore => {
            serde_saphyr::DuplicateKeyPolicy::PassThrough
        }
    };
    opts.budget = Some(rprov_inventory::yaml_budget(text));
    opts
}

/// Parses YAML text; `path` is only used in error messages.
pub fn parse_str(text: &str, path: &Path) -> Result<Document, LoadError> {
    let path: Arc<Path> = Arc::from(path);
    if text.trim().is_empty() {
        return Ok(Document {
            path,
            root: Node {
                value: Value::Null,
                line: 1,
                col: 1,
            },
        });
    }
    REPEATED.with(|r| r.borrow_mut().clear());
    let parsed = serde_saphyr::from_str_with_options::<Node>(text, options(text));
    let repeated = REPEATED.with(|r| std::mem::take(&mut *r.borrow_mut()));
    if duplicate_keys() == DuplicateKeys::Warn && !repeated.is_empty() {
        if let Ok(mut w) = WARNINGS.lock() {
            for (key, line, col) in repeated {
                // ansible-core's words.
                w.push(format!(
                    "{}:{line}:{col}: Found duplicate mapping key '{key}'. Using last defined value only.",
                    crate::diag::display_path(&path)
                ));
            }
        }
    }
    match parsed {
        Ok(mut root) => {
            let lines: Vec<&str> = text.lines().collect();
            fix_yaml11_y_n(&mut root, &lines);
            vault_values::decrypt(&mut root, &path)?;
            Ok(Document { path, root })
        }
        Err(err) => {
            let (line, col) = err
                .location()
                .map(|l| (l.line() as u32, l.column() as u32))
                .unwrap_or((0, 0));
            let message = match ends_before(text, line, col) {
                // PyYAML's words for text after a complete document (`{ }}`).
                true => "Did not find expected <document start>; the document ends before this, \
                         so what follows is left over (a stray bracket, or text that belongs inside it)"
                    .to_string(),
                false => rprov_inventory::yaml_error_message(&err),
            };
            let e = LoadError::new(
                Origin::new(path, line, col),
                format!("YAML parsing failed: {message}"),
            );
            // The new messages say what to do; a syntax error gets the usual advice.
            Err(if message.contains(';') {
                e
            } else {
                e.with_hint("check the indentation and quoting around this line")
            })
        }
    }
}

/// Whether the text before `line`:`col` is a whole YAML document of its
/// own (a flow mapping or list, closed): then the error at that point is
/// text after the document's end, not a broken value.
fn ends_before(text: &str, line: u32, col: u32) -> bool {
    if line == 0 {
        return false;
    }
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let within: usize = l
                .char_indices()
                .nth((col as usize).saturating_sub(1))
                .map_or(l.len(), |(b, _)| b);
            offset += within;
            break;
        }
        offset += l.len();
    }
    let head = &text[..offset.min(text.len())];
    // Only a document that is one flow collection (`{ … }`, `[ … ]`) ends
    // where the parser stopped; an error inside a block mapping leaves a
    // head that parses too, but is no whole document.
    if !head.trim_end().ends_with(['}', ']']) || text[offset.min(text.len())..].trim().is_empty() {
        return false;
    }
    matches!(
        serde_saphyr::from_str_with_options::<Node>(head, options(head)),
        Ok(Node {
            value: Value::Map(_) | Value::Seq(_),
            ..
        })
    )
}

/// Reads and parses a YAML file.
pub fn load_file(path: &Path) -> Result<Document, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::new(Origin::file(path), format!("cannot read file: {e}")))?;
    parse_str(&text, path)
}

/// serde-saphyr reads a plain `y`/`n` as a boolean; PyYAML, and so Ansible,
/// reads them as strings (only yes/no/true/false/on/off are booleans). The
/// source text at the node's position tells which was written.
fn fix_yaml11_y_n(node: &mut Node, lines: &[&str]) {
    match &mut node.value {
        Value::Bool(_) => {
            let token: Option<String> = lines.get((node.line as usize).wrapping_sub(1)).map(|l| {
                l.chars()
                    .skip((node.col as usize).saturating_sub(1))
                    .take_while(|c| !c.is_whitespace() && !matches!(c, ':' | ',' | ']' | '}' | '#'))
                    .collect()
            });
            if let Some(t) = token {
                if t.eq_ignore_ascii_case("y") || t.eq_ignore_ascii_case("n") {
                    node.value = Value::Str(t);
                }
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| fix_yaml11_y_n(i, lines)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            fix_yaml11_y_n(k, lines);
            fix_yaml11_y_n(v, lines);
        }),
        _ => {}
    }
}

/// Finds the first of `candidates` that exists (`main.yml`, `main.yaml`, `main`).
pub fn find_yaml(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .chain(std::iter::once(dir.join(stem)))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_str(text, Path::new("t.yml")).unwrap().root
    }

    /// ansible-core's `{"__ansible_unsafe": …}` in JSON is `!unsafe` text.
    #[test]
    fn json_unsafe_text_is_unsafe_text() {
        let mut v = serde_json::json!({"a": {"__ansible_unsafe": "{{ x }}"}, "b": [{"__ansible_unsafe": "y"}], "c": {"__ansible_unsafe": 1, "d": 2}});
        unwrap_json_unsafe(&mut v);
        assert_eq!(
            v["a"],
            serde_json::json!(rprov_template::trust::unsafe_literal("{{ x }}"))
        );
        assert_eq!(
            v["b"][0],
            serde_json::json!(rprov_template::trust::unsafe_literal("y"))
        );
        // Not the one-key form: left as it is.
        assert_eq!(v["c"]["d"], 2);
    }

    /// `!unsafe` text renders to itself, whatever it holds; `!!str` and
    /// other tags keep their values as before.
    #[test]
    fn unsafe_text_is_never_templated() {
        let root = parse(
            "a: !unsafe '{{ x }} {% if %} \\ \" \\n'\nb: !unsafe\n  - '{# c #}'\n  - {'{{ k }}': '{{ v }}'}\nc: !unsafe plain\nd: !!str 0644\n",
        );
        let t = rprov_template::Templater::new();
        let ctx = serde_json::json!({});
        let render = |n: &Node| t.render_value(&n.to_json(), &ctx).unwrap();
        assert_eq!(
            render(root.get("a").unwrap()),
            serde_json::json!("{{ x }} {% if %} \\ \" \\n")
        );
        assert_eq!(
            render(root.get("b").unwrap()),
            serde_json::json!(["{# c #}", {"{{ k }}": "{{ v }}"}])
        );
        // A line break and a tab, escaped in the literal, come back as such.
        let block = parse("e: !unsafe |\n  {{ a }}\n  \tb\n");
        assert_eq!(
            render(block.get("e").unwrap()),
            serde_json::json!("{{ a }}\n\tb\n")
        );
        // Plain text stays text when rendered, as a template of itself
        // (untrusted as an expression).
        assert_eq!(
            root.get("c").unwrap().value,
            Value::Str("{{ (\"plain\") | __rprov_untrusted }}".into())
        );
        assert_eq!(render(root.get("c").unwrap()), serde_json::json!("plain"));
        assert_eq!(root.get("d").unwrap().value, Value::Str("0644".into()));
    }

    /// `!!binary` scalars load (ansible-core reads them as bytes), including
    /// bytes that are not UTF-8; bad base64 is an error at its line.
    #[test]
    fn binary_scalars_load() {
        let root =
            parse("a: !!binary aGVsbG8=\nb: !!binary |\n  R0lGODlhDAAMAIQAAP//\n  9/X17unp\n");
        assert_eq!(root.get("a").unwrap().value, Value::Str("hello".into()));
        let b = root.get("b").unwrap().as_str().unwrap();
        assert!(b.starts_with("GIF89a"), "{b:?}");
        assert!(b.contains('\u{FFFD}'), "{b:?}");
        let err = parse_str("x: 1\ny: !!binary '%%%'\n", Path::new("bad.yml")).unwrap_err();
        assert_eq!(err.origin.line, 2, "{err}");
        assert!(err.to_string().contains("base64"), "{err}");
    }

    #[test]
    fn keeps_positions() {
        let root = parse("a: 1\nb:\n  - x\n  - y: 2\n");
        let b = root.get("b").unwrap();
        assert_eq!(b.line, 3);
        let seq = b.as_seq().unwrap();
        assert_eq!(seq[1].line, 4);
        assert_eq!(seq[1].get("y").unwrap().value, Value::Int(2));
    }

    #[test]
    fn yaml_11_booleans_and_octal() {
        let root = parse("a: yes\nb: no\nc: on\nd: 0644\ne: '0644'\nf: True\ng: y\nh: [n, N]\n");
        assert_eq!(root.get("g").unwrap().value, Value::Str("y".into()));
        assert_eq!(
            root.get("h").unwrap().as_seq().unwrap()[1].value,
            Value::Str("N".into())
        );
        assert_eq!(root.get("a").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("b").unwrap().value, Value::Bool(false));
        assert_eq!(root.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("d").unwrap().value, Value::Int(0o644));
        assert_eq!(root.get("e").unwrap().value, Value::Str("0644".into()));
        assert_eq!(root.get("f").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn literal_blocks_byte_for_byte() {
        let root = parse("c: |\n  line one\n    indented %i ${X}\n\n  last\n");
        assert_eq!(
            root.get("c").unwrap().as_str().unwrap(),
            "line one\n  indented %i ${X}\n\nlast\n"
        );
    }

    /// Text after a complete document is PyYAML's "Did not find expected
    /// <document start>", as ansible-core reports it (its dataloader target).
    #[test]
    fn text_after_the_document_is_reported_as_ansible_core_does() {
        let err = parse_str("{ }}\n", Path::new("bad.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "bad.json:1:4: YAML parsing failed: Did not find expected <document start>"
            ),
            "{err}"
        );
        let err = parse_str("a: [1, 2\n", Path::new("b.yml"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("document start"), "{err}");
    }

    #[test]
    fn error_has_line() {
        let err = parse_str("a: 1\nb: [1, 2\nc: 3\n", Path::new("bad.yml")).unwrap_err();
        assert!(err.origin.line >= 2, "{err:?}");
        assert!(err.to_string().contains("bad.yml"));
    }
}
