//! YAML reading (inventories and vars files) and Ansible's YAML inventory format.
//!
//! YAML goes through serde-saphyr with YAML 1.1 scalars as PyYAML (and so Ansible)
//! reads them: `yes`/`no`/`on`/`off` are booleans, `0644` is octal, and a repeated key
//! keeps the last value (Ansible warns). Syntax errors carry the file, line and
//! column. Errors about the inventory's *structure* come after parsing, when spans
//! are gone; for those we find the line by searching for the key's text, which is
//! right for every inventory we have seen and never worse than no line at all.

use crate::data::InventoryData;
use crate::error::{InventoryError, Location};
use crate::range;
use serde_json::Value;
use std::path::Path;

fn options(text: &str) -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        budget: Some(budget_for(text)),
    }
}

/// serde-saphyr's parsing budget, sized to the text. Its default of 250,000
/// nodes refused a valid 10 MB playbook ("budget breached: Nodes"); a node
/// takes at least one byte of text, so a node budget as large as the text
/// never refuses a file for its size, and still stops alias expansion (one
/// `*ref` replaying a large anchor many times), which is what it is for.
pub fn budget_for(text: &str) -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_nodes = b.max_nodes.max(text.len());
    // Every node is one event, a list or mapping two.
    b.max_events = b.max_events.max(text.len().saturating_mul(2));
    b
}

/// A serde-saphyr error as a sentence for the person editing the file,
/// without the position (the caller shows it). The library's own texts
/// are written for the programmer calling it ("use from_str_multiple",
/// "set DuplicateKeyPolicy in Options", "use Option<String>"); the cases a
/// user meets get their own, the rest the library's user-facing wording.
pub fn yaml_error_message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error as E;
    let mut e = err;
    while let E::WithSnippet { error, .. } | E::AliasError { error, .. } = e {
        e = error;
    }
    match e {
        E::MultipleDocuments { .. } => "a second YAML document starts here (after a `---` line); \
            rprov reads one document per file: remove the `---` or move what follows to a file of its own"
            .to_string(),
        E::DuplicateMappingKey { key: Some(k), .. } => format!(
            "`{k}` is set twice in the same mapping; remove one of them (this is the second)"
        ),
        E::DuplicateMappingKey { key: None, .. } => {
            "a key is set twice in the same mapping; remove one of them (this is the second)".to_string()
        }
        E::NullIntoString { .. } => "an empty (null) key or name here; write a name, \
            or quote it (`\"~\"`, `\"null\"`) if that is the name you mean"
            .to_string(),
        E::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => "lists and mappings nest too deep here (more than 64 levels); flatten the structure".to_string(),
            BudgetBreach::Aliases { .. } | BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                "aliases (`*name`) here expand to far more values than the file holds; \
                 write the values out or use fewer aliases"
                    .to_string()
            }
            other => format!("the file is too large or too complex to read ({other:?})"),
        },
        other => {
            let text = other.render_with_formatter(&serde_saphyr::UserMessageFormatter);
            let first = text.lines().next().unwrap_or_default();
            // The library appends " at line L, column C"; the caller shows it first.
            first
                .rfind(" at line ")
                .map_or(first, |i| &first[..i])
                .to_string()
        }
    }
}

/// Parse a YAML document into JSON values; an empty document is `None`.
pub(crate) fn parse_value(text: &str, path: &Path) -> Result<Option<Value>, InventoryError> {
    serde_saphyr::from_str_with_options::<Option<Value>>(text, options(text)).map_err(|e| {
        let loc = e.location();
        let message = yaml_error_message(&e);
        InventoryError::Parse {
            location: Location {
                path: path.to_path_buf(),
                line: loc.map(|l| l.line() as usize).unwrap_or(1),
                column: loc.map(|l| l.column() as usize),
            },
            message: format!("YAML parsing failed: {message}"),
            hint: String::new(),
        }
    })
}

/// 1-based line of the first line that contains `needle` as a key, or 1.
pub(crate) fn find_line(text: &str, needle: &str) -> usize {
    let keyish = |l: &str| {
        let t = l.trim_start().trim_start_matches("- ");
        let t = t.trim_start_matches(['"', '\'']);
        t.starts_with(needle)
    };
    text.lines()
        .position(keyish)
        .or_else(|| text.lines().position(|l| l.contains(needle)))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Parse an Ansible YAML inventory.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    data: &mut InventoryData,
    opts: &crate::LoadOptions<'_>,
) -> Result<(), InventoryError> {
    let render = opts.render;
    let Some(doc) = parse_value(text, path)? else {
        return Ok(());
    };
    let Value::Object(top) = doc else {
        return Err(InventoryError::parse(
            path,
            1,
            "a YAML inventory must be a mapping of group names",
            "start with `all:` and put hosts under `all: {hosts: ...}`",
        ));
    };
    // ansible-core's `auto` plugin: a `plugin:` key names the inventory
    // plugin that reads the file.
    if let Some(plugin) = top.get("plugin") {
        let name = plugin.as_str().unwrap_or_default();
        if crate::generator::NAMES.contains(&name) {
            return crate::generator::parse(&top, text, path, data, render);
        }
        if crate::constructed::is_config(&top) {
            // The first source: there is nothing before it to construct from.
            let cx = crate::constructed::Context {
                render,
                extra_vars: opts.extra_vars,
                use_extra_vars: opts.use_extra_vars,
                vars_dirs: &[],
                hash_merge: false,
            };
            return crate::constructed::apply(&top, text, path, data, &cx);
        }
        return Err(InventoryError::parse(
            path,
            find_line(text, "plugin"),
            format!("inventory plugin {plugin} is not supported by rprov"),
            "rprov reads INI and YAML inventories, host lists and the `generator` and \
             `constructed` plugins; write the hosts out as a YAML inventory (`all: {hosts: ...}`)",
        ));
    }
    let p = YamlInv { text, path };
    for (name, body) in &top {
        p.group(name, body, data, 0)?;
    }
    Ok(())
}

struct YamlInv<'a> {
    text: &'a str,
    path: &'a Path,
}

impl YamlInv<'_> {
    fn err(&self, key: &str, message: String, hint: &str) -> InventoryError {
        InventoryError::parse(self.path, find_line(self.text, key), message, hint)
    }

    /// Whether host key `pattern` is a number written without quotes
    /// (`1234:`), which YAML reads as an int or float and ansible-core
    /// refuses as a host name. The parsed key is text either way, so the
    /// file's lines tell.
    fn unquoted_number(&self, pattern: &str) -> bool {
        let numeric = pattern.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
            && pattern.parse::<f64>().is_ok();
        let key = format!("{pattern}:");
        numeric && self.text.lines().any(|l| l.trim_start().starts_with(&key))
    }

    fn group(
        &self,
        name: &str,
        body: &Value,
        data: &mut InventoryData,
        depth: usize,
    ) -> Result<String, InventoryError> {
        if depth > 256 {
            return Err(self.err(
                name,
                format!("groups nested too deeply at '{name}'"),
                "flatten the children",
            ));
        }
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(self.err(
                name,
                format!("invalid group name '{name}'"),
                "group names cannot be empty or contain spaces",
            ));
        }
        let written = name;
        let name = &data.group_name(written);
        let body = match body {
            Value::Null => {
                data.add_group(name);
                return Ok(name.clone());
            }
            Value::Object(m) => m,
            other => {
                return Err(self.err(
                    written,
                    format!("group '{name}' must be a mapping, found {}", kind(other)),
                    "a group holds `hosts:`, `children:` and `vars:` mappings",
                ))
            }
        };
        data.add_group(name);
        for (key, section) in body {
            let section = match section {
                // A bare string is allowed and means {string: null}.
                Value::String(s) => {
                    let mut m = serde_json::Map::new();
                    m.insert(s.clone(), Value::Null);
                    Value::Object(m)
                }
                v => v.clone(),
            };
            let entries = match &section {
                Value::Null => continue,
                Value::Object(m) => m,
                other => return Err(self.err(
                    key,
                    format!(
                        "'{key}' of group '{name}' must be a mapping, found {}",
                        kind(other)
                    ),
                    "write `hosts:`, `children:` and `vars:` as mappings (key: value), not lists",
                )),
            };
            match key.as_str() {
                "vars" => {
                    for (k, v) in entries {
                        data.set_group_var(name, k, v.clone())
                            .map_err(|m| self.err(k, m, "write a whole number, like 10"))?;
                    }
                }
                "children" => {
                    for (written, cbody) in entries {
                        let child = &self.group(written, cbody, data, depth + 1)?;
                        data.add_child(name, child).map_err(|m| {
                            self.err(child, m, "remove one of the children entries")
                        })?;
                    }
                }
                "hosts" => {
                    for (pattern, hvars) in entries {
                        if self.unquoted_number(pattern) {
                            return Err(self.err(
                                pattern,
                                format!(
                                    "Host pattern {pattern} must be a string. Enclose \
                                     integers/floats in quotation marks."
                                ),
                                "write the host name in quotes",
                            ));
                        }
                        let (hosts, port) = range::expand_host_pattern(pattern)
                            .map_err(|e| self.err(pattern, e.message, &e.hint))?;
                        let vars = match hvars {
                            Value::Null => serde_json::Map::new(),
                            Value::Object(m) => m.clone(),
                            other => {
                                return Err(self.err(
                                    pattern,
                                    format!(
                                        "host '{pattern}' must map to its variables, found {}",
                                        kind(other)
                                    ),
                                    "write `host:` (empty) or `host: {var: value}`",
                                ))
                            }
                        };
                        for h in hosts {
                            data.add_host(&h, Some(name), port);
                            for (k, v) in &vars {
                                data.set_host_var(&h, k, v.clone());
                            }
                        }
                    }
                }
                other => {
                    return Err(self.err(
                        other,
                        format!("unexpected key '{other}' in group '{name}'"),
                        "a group may only hold `hosts`, `children` and `vars`",
                    ))
                }
            }
        }
        Ok(name.clone())
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
