//! ansible-core's `constructed` inventory plugin (`plugin: constructed` in a
//! YAML inventory file): variables and groups made from Jinja expressions
//! over the hosts and variables that the sources before it loaded.
//!
//! As the plugin does (lib/ansible/plugins/inventory/constructed.py and the
//! `Constructable` mixin): for each host, in the order hosts were added,
//! - `compose` sets host variables, each expression evaluated with the
//!   host's variables as they were before any of them (one `compose` entry
//!   does not see another's result);
//! - `groups` puts the host in each group whose condition is true (a
//!   condition must give a boolean, as ansible-core 2.19 wants);
//! - `keyed_groups` puts it in a group named after the value of `key`
//!   (`prefix`, `separator`, a list or mapping making several, `default_value`
//!   or `trailing_separator` for an empty one, `parent_group` above them).
//!
//! Group names are always made valid variable names (`-` and `.` become
//! `_`), whatever `force_valid_group_names` says. An expression that fails
//! (an undefined variable) skips its entry, or with `strict: true` stops the
//! source with the error.
//!
//! The variables a host has here are those ansible-core gives the plugin,
//! which are not those a play sees: the variables of the groups the sources
//! so far put the host in (the sources are not yet reconciled: a host of an
//! INI `[web]` group is not in `all` yet, so `[all:vars]` do not apply), its
//! own, `inventory_hostname`, `inventory_hostname_short`, `group_names`,
//! `inventory_file` and `inventory_dir`; `group_vars/` and `host_vars/` of
//! the sources before it only with `use_vars_plugins: true`, and `-e` only
//! in `compose` and `keyed_groups` with `use_extra_vars: true`.
//!
//! Deliberate difference: an option the plugin does not have (a typo such
//! as `keyed_group:` or `seperator:`) is an error naming the file and line,
//! where ansible-core ignores it and silently makes no groups.

use crate::data::{safe_group_name, InventoryData, ALL};
use crate::error::InventoryError;
use crate::vars_dirs::VarsDir;
use crate::yaml::{find_line, kind};
use crate::{combine, Render, Vars};
use serde_json::{Map, Value};
use std::path::Path;

/// The names `plugin:` takes for this plugin.
pub(crate) const NAMES: [&str; 2] = ["constructed", "ansible.builtin.constructed"];

/// The plugin's options (its own and the `constructed` documentation
/// fragment's).
const OPTIONS: [&str; 8] = [
    "plugin",
    "strict",
    "compose",
    "groups",
    "keyed_groups",
    "use_vars_plugins",
    "use_extra_vars",
    "leading_separator",
];

/// The keys of one `keyed_groups` entry.
const KEYED_OPTIONS: [&str; 6] = [
    "key",
    "prefix",
    "separator",
    "default_value",
    "trailing_separator",
    "parent_group",
];

/// What a constructed source uses besides its file and the inventory.
pub(crate) struct Context<'a> {
    pub render: Option<&'a dyn Render>,
    /// `-e`, for `use_extra_vars`.
    pub extra_vars: Option<&'a Vars>,
    /// `use_extra_vars` of ansible.cfg or the environment, which the file's
    /// own option overrides.
    pub use_extra_vars: bool,
    /// The `group_vars/` and `host_vars/` of the sources before this one.
    pub vars_dirs: &'a [VarsDir],
    pub hash_merge: bool,
}

/// The options of one file, checked.
struct Config<'a> {
    strict: bool,
    compose: Vec<(&'a str, &'a Value)>,
    groups: Vec<(&'a str, &'a Value)>,
    keyed_groups: Vec<&'a Value>,
    use_vars_plugins: bool,
    use_extra_vars: bool,
    leading_separator: bool,
}

struct Constructed<'a> {
    text: &'a str,
    path: &'a Path,
    render: &'a dyn Render,
}

/// Whether `top`, a YAML file's mapping, is a configuration of this plugin.
pub(crate) fn is_config(top: &Map<String, Value>) -> bool {
    top.get("plugin")
        .and_then(Value::as_str)
        .is_some_and(|p| NAMES.contains(&p))
}

/// Applies the configuration `top` (read from `text` at `path`) to `data`,
/// the inventory the sources before it made.
pub(crate) fn apply(
    top: &Map<String, Value>,
    text: &str,
    path: &Path,
    data: &mut InventoryData,
    cx: &Context<'_>,
) -> Result<(), InventoryError> {
    let Some(render) = cx.render else {
        return Err(InventoryError::parse(
            path,
            find_line(text, "plugin"),
            "the constructed inventory plugin needs templates, which this command does not render",
            "use it with `rprov apply` or `rprov inventory`",
        ));
    };
    let c = Constructed { text, path, render };
    let cfg = c.config(top, cx)?;
    let extra = cx.extra_vars.filter(|_| cfg.use_extra_vars);
    let hosts: Vec<String> = data.hosts.keys().cloned().collect();
    for host in &hosts {
        let vars = host_vars(data, cx, &cfg, host);
        let composing = with_extra(&vars, extra, cx.hash_merge);
        for (name, expr) in &cfg.compose {
            match c.evaluate(expr, &composing) {
                Ok(value) => {
                    // The text of the variables the expression names.
                    let mut trusted = std::collections::HashSet::new();
                    let named = names_in(expr.as_str().unwrap_or_default());
                    for (k, v) in vars.iter().chain(extra.into_iter().flatten()) {
                        if !MAGIC.contains(&k.as_str()) && named.contains(k.as_str()) {
                            strings(v, &mut trusted);
                        }
                    }
                    let shown = legacy_json(&value, &trusted);
                    if let Some(entry) = data.hosts.get_mut(host.as_str()) {
                        entry
                            .composed
                            .insert(name.to_string(), (value.clone(), shown));
                    }
                    set_host_var(data, host, name, value, cx.hash_merge)
                }
                Err(e) if cfg.strict => {
                    return Err(c.err(name, format!("Could not set {name} for host {host}: {e}")))
                }
                Err(_) => {}
            }
        }
        let vars = host_vars(data, cx, &cfg, host);
        let plain = Value::Object(vars.clone().into_iter().collect());
        for (written, condition) in &cfg.groups {
            let group = safe_group_name(written);
            match c.condition(condition, &plain) {
                Ok(true) => {
                    c.check_name(&group, written)?;
                    data.add_group(&group);
                    data.add_host(host, Some(&group), None);
                }
                Ok(false) => {}
                Err(e) if cfg.strict => {
                    return Err(c.err(
                        written,
                        format!("Could not add host {host} to group {group}: {e}"),
                    ))
                }
                Err(_) => {}
            }
        }
        let keyed_vars = with_extra(&vars, extra, cx.hash_merge);
        for keyed in &cfg.keyed_groups {
            c.keyed_group(keyed, &keyed_vars, host, &cfg, data)?;
        }
    }
    Ok(())
}

/// The variables ansible-core makes for each host (none from a file).
const MAGIC: [&str; 5] = [
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "inventory_file",
    "inventory_dir",
];

/// The names an expression may refer to: its words outside quotes and
/// not after a `.` (filter and test names too, which is harmless).
fn names_in(expr: &str) -> std::collections::HashSet<&str> {
    let mut out = std::collections::HashSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' || c == b'"' {
            // Skip the quoted text (a backslash escapes the next byte).
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if start == 0 || bytes[start - 1] != b'.' {
                out.insert(&expr[start..i]);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Every text inside `v`.
fn strings<'v>(v: &'v Value, out: &mut std::collections::HashSet<&'v str>) {
    match v {
        Value::String(s) => {
            out.insert(s);
        }
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(m) => m.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// A composed value as ansible-inventory's `--list` JSON writes it:
/// ansible-core 2.19 trusts text that came from a file (an inventory, a
/// vars file, `-e`) and writes any other text a template made (a literal
/// of the expression, a filter's result, `inventory_hostname`) as
/// `{"__ansible_unsafe": text}`. Text equal to some text of the host's
/// variables counts as passed on from them.
fn legacy_json(v: &Value, trusted: &std::collections::HashSet<&str>) -> Value {
    match v {
        Value::String(s) if !trusted.contains(s.as_str()) => {
            let mut m = Map::new();
            m.insert("__ansible_unsafe".into(), v.clone());
            Value::Object(m)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| legacy_json(i, trusted)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, i)| (k.clone(), legacy_json(i, trusted)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `vars` with `extra` over them (the `-e` of `use_extra_vars`), as the
/// mapping templates get.
fn with_extra(vars: &Vars, extra: Option<&Vars>, merge: bool) -> Value {
    let mut out = vars.clone();
    if let Some(extra) = extra {
        combine(&mut out, extra, merge);
    }
    Value::Object(out.into_iter().collect())
}

/// ansible-core's `Host.set_variable`: a mapping over a mapping is merged
/// under `hash_behaviour = merge`, anything else replaces.
fn set_host_var(data: &mut InventoryData, host: &str, name: &str, value: Value, merge: bool) {
    let mut one = Vars::new();
    one.insert(name.to_string(), value);
    if let Some(entry) = data.hosts.get_mut(host) {
        combine(&mut entry.vars, &one, merge);
    }
}

/// The variables ansible-core's plugin gives the templates of `host`
/// (`get_all_host_vars`): its groups' variables, then its own with
/// `inventory_hostname`, `inventory_hostname_short` and `group_names`
/// over them; with `use_vars_plugins`, `group_vars/` over the groups'
/// and `host_vars/` over the host's.
fn host_vars(data: &InventoryData, cx: &Context<'_>, cfg: &Config<'_>, host: &str) -> Vars {
    let groups = data.written_host_groups(host);
    let merge = cx.hash_merge;
    let mut out = Vars::new();
    for g in &groups {
        if let Some(grp) = data.groups.get(g) {
            combine(&mut out, &grp.vars, merge);
        }
    }
    if cfg.use_vars_plugins {
        for vd in cx.vars_dirs {
            for g in &groups {
                if let Some(v) = vd.groups.get(g) {
                    combine(&mut out, v, merge);
                }
            }
        }
    }
    let mut own = Vars::new();
    if let Some(entry) = data.hosts.get(host) {
        let (file, dir) = match &entry.source {
            Some(s) => (
                Value::String(s.display().to_string()),
                s.parent()
                    .map_or(Value::Null, |d| Value::String(d.display().to_string())),
            ),
            None => (Value::Null, Value::Null),
        };
        own.insert("inventory_file".into(), file);
        own.insert("inventory_dir".into(), dir);
        combine(&mut own, &entry.vars, merge);
    }
    own.insert("inventory_hostname".into(), Value::from(host));
    // An address is its own short name.
    let short = match host.parse::<std::net::IpAddr>() {
        Ok(_) => host,
        Err(_) => host.split('.').next().unwrap_or(host),
    };
    own.insert("inventory_hostname_short".into(), Value::from(short));
    let mut names: Vec<String> = groups
        .iter()
        .filter(|g| g.as_str() != ALL)
        .cloned()
        .collect();
    names.sort();
    own.insert("group_names".into(), Value::from(names));
    if cfg.use_vars_plugins {
        for vd in cx.vars_dirs {
            if let Some(v) = vd.hosts.get(host) {
                combine(&mut own, v, merge);
            }
        }
    }
    combine(&mut out, &own, merge);
    out
}

/// Python's type name of a value, as ansible-core's messages give it.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A value ansible-core takes as "no value" for `default_value`.
fn empty(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_str() == Some("")
}

/// Python's truthiness of a value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// The 1-based line where `key` is written as a key (`key:`, quoted or
/// not, maybe as a list item), else the first that has `key` at all.
fn key_line(text: &str, key: &str) -> usize {
    let quotes: &[char] = &['"', '\''];
    text.lines()
        .position(|l| {
            let t = l
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches(quotes);
            t.strip_prefix(key).is_some_and(|rest| {
                rest.trim_start_matches(quotes)
                    .trim_start()
                    .starts_with(':')
            })
        })
        .map_or_else(|| find_line(text, key), |i| i + 1)
}

impl Constructed<'_> {
    fn err(&self, key: &str, message: String) -> InventoryError {
        InventoryError::parse(self.path, key_line(self.text, key), message, "")
    }

    fn err_hint(&self, key: &str, message: String, hint: &str) -> InventoryError {
        InventoryError::parse(self.path, key_line(self.text, key), message, hint)
    }

    /// A boolean option (ansible-core's `boolean()`: `yes`, `on`, `1`...).
    fn flag(
        &self,
        top: &Map<String, Value>,
        key: &str,
        default: bool,
    ) -> Result<bool, InventoryError> {
        match top.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => crate::boolean(v).ok_or_else(|| {
                self.err_hint(
                    key,
                    format!(
                        "`{key}` of the constructed inventory plugin must be a boolean, found {v}"
                    ),
                    "write true or false",
                )
            }),
        }
    }

    /// A mapping option (`compose`, `groups`), its entries in file order.
    fn mapping<'v>(
        &self,
        top: &'v Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Result<Vec<(&'v str, &'v Value)>, InventoryError> {
        match top.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(m)) => Ok(m.iter().map(|(k, v)| (k.as_str(), v)).collect()),
            Some(other) => Err(self.err_hint(
                key,
                format!(
                    "`{key}` of the constructed inventory plugin must be a mapping, found {}",
                    kind(other)
                ),
                what,
            )),
        }
    }

    fn config<'v>(
        &self,
        top: &'v Map<String, Value>,
        cx: &Context<'_>,
    ) -> Result<Config<'v>, InventoryError> {
        for key in top.keys() {
            if !OPTIONS.contains(&key.as_str()) {
                return Err(self.err_hint(
                    key,
                    format!("unknown option '{key}' of the constructed inventory plugin"),
                    &format!("it takes {}", OPTIONS.map(|o| format!("`{o}`")).join(", ")),
                ));
            }
        }
        let keyed_groups = match top.get("keyed_groups") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            // ansible-core's option type `list` takes one entry alone too.
            Some(one @ Value::Object(_)) => vec![one],
            Some(other) => {
                return Err(self.err_hint(
                    "keyed_groups",
                    format!(
                    "`keyed_groups` of the constructed inventory plugin must be a list, found {}",
                    kind(other)
                ),
                    "write each keyed group as `- key: EXPRESSION`",
                ))
            }
        };
        for keyed in &keyed_groups {
            if let Value::Object(m) = keyed {
                if let Some(k) = m.keys().find(|k| !KEYED_OPTIONS.contains(&k.as_str())) {
                    return Err(self.err_hint(
                        k,
                        format!("unknown option '{k}' of a keyed group"),
                        &format!(
                            "a keyed group takes {}",
                            KEYED_OPTIONS.map(|o| format!("`{o}`")).join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(Config {
            strict: self.flag(top, "strict", false)?,
            compose: self.mapping(
                top,
                "compose",
                "write `compose:` as `variable: EXPRESSION` lines",
            )?,
            groups: self.mapping(top, "groups", "write `groups:` as `group: CONDITION` lines")?,
            keyed_groups,
            use_vars_plugins: self.flag(top, "use_vars_plugins", false)?,
            use_extra_vars: self.flag(top, "use_extra_vars", cx.use_extra_vars)?,
            leading_separator: self.flag(top, "leading_separator", true)?,
        })
    }

    /// ansible-core's `_compose`: a bare expression's value.
    fn evaluate(&self, expr: &Value, vars: &Value) -> Result<Value, String> {
        match expr {
            // ansible-core 2.19 refuses `{{ var }}` here (rprov's engine
            // would take it as `var`).
            Value::String(s)
                if s.trim_start().starts_with("{{") || s.trim_start().starts_with("{%") =>
            {
                Err(
                    "Syntax error in expression. Template delimiters are not supported in \
                     expressions: write the expression without `{{ }}`"
                        .into(),
                )
            }
            Value::String(s) => self.render.evaluate(s, vars),
            other => Err(format!(
                "Expressions must be <class 'str'>, got <class '{}'>.",
                py_type(other)
            )),
        }
    }

    /// ansible-core 2.19's `evaluate_conditional`: a boolean as it is, an
    /// expression that must give a boolean.
    fn condition(&self, condition: &Value, vars: &Value) -> Result<bool, String> {
        let expr = match condition {
            Value::Bool(b) => return Ok(*b),
            Value::Null => return Err("Empty conditional expressions are not allowed.".into()),
            Value::String(s) if s.trim().is_empty() => {
                return Err("Empty conditional expressions are not allowed.".into())
            }
            Value::String(s) => s,
            _ => return Err("Conditional expressions must be strings.".into()),
        };
        match self.render.evaluate(expr.trim(), vars)? {
            Value::Bool(b) => Ok(b),
            other => Err(format!(
                "Conditional result ({}) was derived from value of type '{}'. \
                 Conditionals must have a boolean result.",
                if truthy(&other) { "True" } else { "False" },
                py_type(&other)
            )),
        }
    }

    /// ansible-core refuses an empty group name.
    fn check_name(&self, group: &str, written: &str) -> Result<(), InventoryError> {
        if group.is_empty() {
            return Err(self.err_hint(
                written,
                "Invalid empty/false group name provided: ".into(),
                "give the group a name",
            ));
        }
        Ok(())
    }

    /// Python's `str()` of a value, as group names are made from it.
    fn text(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => self.render.py_str(other),
        }
    }

    /// One `keyed_groups` entry for `host` (`_add_host_to_keyed_groups`).
    fn keyed_group(
        &self,
        keyed: &Value,
        vars: &Value,
        host: &str,
        cfg: &Config<'_>,
        data: &mut InventoryData,
    ) -> Result<(), InventoryError> {
        let entry = match keyed {
            Value::Object(m) if !m.is_empty() => m,
            other => {
                return Err(self.err_hint(
                    "keyed_groups",
                    format!(
                        "Invalid keyed group entry, it must be a dictionary: {}",
                        self.text(other)
                    ),
                    "write each keyed group as `- key: EXPRESSION`",
                ))
            }
        };
        let written_key = entry.get("key").unwrap_or(&Value::Null);
        let at = match written_key {
            Value::String(s) => s.as_str(),
            _ => "keyed_groups",
        };
        let key = match self.evaluate(written_key, vars) {
            Ok(k) => k,
            Err(e) if cfg.strict => {
                return Err(self.err(
                    at,
                    format!(
                        "Could not generate group for host {host} from {} entry: {e}",
                        self.text(written_key)
                    ),
                ))
            }
            Err(_) => return Ok(()),
        };
        let default = entry.get("default_value").filter(|v| !v.is_null());
        let trailing = entry.get("trailing_separator").filter(|v| !v.is_null());
        if default.is_some() && trailing.is_some() {
            return Err(self.err(
                "trailing_separator",
                "parameters are mutually exclusive for keyed groups: \
                 default_value|trailing_separator"
                    .into(),
            ));
        }
        let use_default = empty(&key) && default.is_some();
        if !truthy(&key) && !use_default {
            // An empty list or mapping is no error: it makes no groups.
            let none = matches!(&key, Value::Array(a) if a.is_empty())
                || matches!(&key, Value::Object(m) if m.is_empty());
            if cfg.strict && !none {
                return Err(self.err(
                    at,
                    format!(
                        "No key or key resulted empty for {} in host {host}, invalid entry",
                        self.text(written_key)
                    ),
                ));
            }
            return Ok(());
        }
        let prefix = entry.get("prefix").map_or(String::new(), |p| self.text(p));
        let mut sep = entry
            .get("separator")
            .map_or_else(|| "_".to_string(), |s| self.text(s));
        let parent = match entry.get("parent_group") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match self.render.render(s, vars) {
                Ok(v) => Some(v),
                Err(e) if cfg.strict => {
                    return Err(self.err(
                        "parent_group",
                        format!(
                            "Could not generate parent group '{s}' for group {}: {e}",
                            self.text(&key)
                        ),
                    ))
                }
                Err(_) => return Ok(()),
            },
            Some(other) => Some(other.clone()),
        };
        let default_text = default.map(|d| self.text(d));
        let mut names: Vec<String> = Vec::new();
        match (&key, &default_text) {
            (_, Some(d)) if use_default => names.push(d.clone()),
            (Value::String(s), _) => names.push(s.clone()),
            (Value::Array(items), _) => {
                for item in items {
                    match &default_text {
                        Some(d) if empty(item) => names.push(d.clone()),
                        _ => names.push(self.text(item)),
                    }
                }
            }
            (Value::Object(m), _) => {
                for (name, value) in m {
                    let bare = if !empty(value) {
                        format!("{name}{sep}{}", self.text(value))
                    } else if let Some(d) = &default_text {
                        format!("{name}{sep}{d}")
                    } else if trailing == Some(&Value::Bool(false)) {
                        name.clone()
                    } else {
                        format!("{name}{sep}{}", self.text(value))
                    };
                    names.push(bare);
                }
            }
            (other, _) => {
                return Err(self.err(
                    at,
                    format!(
                        "Invalid group name format, expected a string or a list of them or \
                         dictionary, got: <class '{}'>",
                        py_type(other)
                    ),
                ))
            }
        }
        for bare in names {
            if prefix.is_empty() && !cfg.leading_separator {
                sep.clear();
            }
            let group = safe_group_name(&format!("{prefix}{sep}{bare}"));
            self.check_name(&group, at)?;
            data.add_group(&group);
            data.add_host(host, Some(&group), None);
            if let Some(parent) = parent.as_ref().filter(|p| truthy(p)) {
                let parent = safe_group_name(&self.text(parent));
                data.add_child(&parent, &group).map_err(|m| {
                    self.err_hint(
                        "parent_group",
                        m,
                        "choose a parent_group that is not one of the keyed groups",
                    )
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
