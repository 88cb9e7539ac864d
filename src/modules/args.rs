//! What each module argument takes, declared once in [`super::SPECS`] and
//! checked in two places with the same message: when the playbook loads (a
//! value written as it is, pointing at its line and column) and when a task
//! is planned (a value that came from a template, once rendered). A typo
//! such as `state: presnt` is so found before any host is touched, with the
//! values it could be.
//!
//! The kinds follow Ansible's argument types loosely on purpose: a `str`
//! argument takes a number or a boolean as its text, a `list` takes one
//! comma-separated string, a `bool` takes Ansible's spellings (`yes`, `on`,
//! `1`, …), as `ansible.module_utils.common.validation` does.

use serde_json::Value as Json;

/// One argument of a module.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
}

/// The values an argument takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text; a number or a boolean is taken as its text.
    Str,
    /// Ansible's booleans: `yes`/`no`, `true`/`false`, `on`/`off`, `1`/`0`.
    Bool,
    /// A whole number, or text holding one.
    Int,
    /// A number (whole or not), or text holding one.
    Num,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A list, or one string of comma-separated items.
    List,
    /// A file mode: octal (`0644`, `"0644"`), or symbolic (`u=rw,g=r`).
    Mode,
    /// Anything: the module reads it (a mapping, a body, a list of conditions).
    Any,
}

impl Kind {
    /// How `rprov modules` shows it.
    pub fn describe(&self) -> String {
        match self {
            Kind::Str => "str".into(),
            Kind::Bool => "bool".into(),
            Kind::Int => "int".into(),
            Kind::Num => "number".into(),
            Kind::Choice(c) => c.join("|"),
            Kind::List => "list".into(),
            Kind::Mode => "mode".into(),
            Kind::Any => "any".into(),
        }
    }
}

/// Why a value does not fit its argument: the message, and the hint that
/// says what would (the values it could be, the closest first).
#[derive(Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub msg: String,
    pub hint: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n= help: {}", self.msg, self.hint)
    }
}

/// Checks `value` against `arg` of `module`. `null` always fits (the default).
pub fn check(module: &str, arg: &Arg, value: &Json) -> Result<(), Mismatch> {
    if value.is_null() {
        return Ok(());
    }
    let name = arg.name;
    let shown = show(value);
    let wrong = |what: &str, hint: String| {
        Err(Mismatch {
            msg: format!("`{module}`: `{name}` must be {what}, got {shown}"),
            hint,
        })
    };
    match arg.kind {
        Kind::Any => Ok(()),
        // ansible-core converts any value to its text for a `str` argument
        // (`check_type_str` with `allow_conversion`): a list or mapping
        // becomes Python's `str()` of it.
        Kind::Str => Ok(()),
        Kind::Bool => match crate::truthy::as_bool(value) {
            Some(_) => Ok(()),
            None => wrong(
                "yes or no",
                "Ansible's booleans: yes/no, true/false, on/off, 1/0".into(),
            ),
        },
        Kind::Int => match value {
            Json::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
            Json::String(s) if s.trim().parse::<i64>().is_ok() => Ok(()),
            _ => wrong("a whole number", format!("e.g. `{name}: 10`")),
        },
        Kind::Num => match value {
            Json::Number(_) => Ok(()),
            Json::String(s) if s.trim().parse::<f64>().is_ok() => Ok(()),
            _ => wrong("a number", format!("e.g. `{name}: 10`")),
        },
        Kind::Choice(allowed) => {
            let word = match value {
                Json::String(s) => Some(s.as_str()),
                _ => None,
            };
            match word {
                Some(w) if allowed.contains(&w) => Ok(()),
                _ => {
                    let list = allowed.join(", ");
                    let hint = match word.and_then(|w| closest(w, allowed)) {
                        Some(s) => format!("did you mean `{s}`? `{name}` takes: {list}"),
                        None => format!("`{name}` takes: {list}"),
                    };
                    wrong(&format!("one of {list}"), hint)
                }
            }
        }
        Kind::List => match value {
            Json::Array(items)
                if items
                    .iter()
                    .all(|i| matches!(i, Json::String(_) | Json::Number(_))) =>
            {
                Ok(())
            }
            Json::String(_) | Json::Number(_) => Ok(()),
            _ => wrong(
                "a list of strings",
                format!("a YAML list, or one comma-separated string: `{name}: a,b`"),
            ),
        },
        Kind::Mode => match value {
            Json::Number(n) if n.is_u64() => Ok(()),
            Json::String(s) if !s.trim().is_empty() => Ok(()),
            _ => wrong(
                "a file mode",
                "octal as a string (`mode: \"0644\"`) or symbolic (`u=rw,g=r,o=`)".into(),
            ),
        },
    }
}

/// A value as a message shows it: strings quoted like YAML, others as JSON.
fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("`{s}`"),
        Json::Array(_) => format!("a list ({v})"),
        Json::Object(_) => format!("a mapping ({v})"),
        other => format!("`{other}`"),
    }
}

/// The allowed word closest to `word`, if one is close enough to be a typo.
fn closest(word: &str, allowed: &[&'static str]) -> Option<&'static str> {
    crate::diag::did_you_mean(word, allowed.iter().copied())
}

/// Whether `v` holds a template anywhere (then it is checked once rendered).
pub fn has_template(v: &Json) -> bool {
    match v {
        Json::String(s) => rprov_template::is_template(s),
        Json::Array(a) => a.iter().any(has_template),
        Json::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

/// Text as Python's `repr()` shows a `str`, for messages that keep
/// ansible-core's words (`got '../x'`).
pub use rprov_template::filters::py_str_repr as py_repr;

/// Python's `str()` of a value: strings as they are, the rest as `repr()`.
pub fn py_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => py_repr_value(other),
    }
}

/// Python's type name of a value (`native_type_name`), for messages in
/// ansible-core's words (`must resolve to a 'dict' not 'list'`).
pub fn py_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// Python's `type(value)`: `<class 'dict'>`.
pub fn py_class(v: &Json) -> String {
    format!("<class '{}'>", py_type(v))
}

/// Python's `repr()` of a value.
pub fn py_repr_value(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => py_repr(s),
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(py_repr_value).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn py_repr_matches_python() {
        // Expected values from CPython 3.11's repr().
        assert_eq!(py_repr("../../nested"), "'../../nested'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("tab\there\\\n"), "'tab\\there\\\\\\n'");
        assert_eq!(py_repr("\u{1}"), "'\\x01'");
    }

    fn arg(kind: Kind) -> Arg {
        Arg {
            name: "state",
            kind,
        }
    }

    const STATES: Kind = Kind::Choice(&["present", "absent"]);

    #[test]
    fn a_typo_in_a_choice_is_named_with_the_closest_value() {
        let e = check("user", &arg(STATES), &json!("presnt")).unwrap_err();
        assert_eq!(
            e.msg,
            "`user`: `state` must be one of present, absent, got `presnt`"
        );
        assert_eq!(
            e.hint,
            "did you mean `present`? `state` takes: present, absent"
        );
        let e = check("user", &arg(STATES), &json!(3)).unwrap_err();
        assert_eq!(e.hint, "`state` takes: present, absent");
        assert!(check("user", &arg(STATES), &json!("absent")).is_ok());
        assert!(check("user", &arg(STATES), &Json::Null).is_ok());
    }

    #[test]
    fn kinds_accept_what_ansible_accepts() {
        let ok = |k, v: Json| check("m", &arg(k), &v).is_ok();
        assert!(
            ok(Kind::Bool, json!("yes")) && ok(Kind::Bool, json!(0)) && ok(Kind::Bool, json!(true))
        );
        assert!(!ok(Kind::Bool, json!("maybe")) && !ok(Kind::Bool, json!([1])));
        assert!(ok(Kind::Int, json!(3)) && ok(Kind::Int, json!(" 42")));
        assert!(!ok(Kind::Int, json!("4.5")) && !ok(Kind::Int, json!(4.5)));
        assert!(ok(Kind::Num, json!(4.5)) && ok(Kind::Num, json!("0.5")));
        assert!(ok(Kind::Str, json!(5)) && ok(Kind::Str, json!(false)));
        // ansible-core converts these to their text too.
        assert!(ok(Kind::Str, json!({"a": 1})) && ok(Kind::Str, json!([1])));
        assert!(ok(Kind::List, json!("a,b")) && ok(Kind::List, json!(["a", 1])));
        assert!(!ok(Kind::List, json!([{"a": 1}])));
        assert!(
            ok(Kind::Mode, json!("0644"))
                && ok(Kind::Mode, json!(420))
                && ok(Kind::Mode, json!("u=rw"))
        );
        let e = check(
            "file",
            &Arg {
                name: "mode",
                kind: Kind::Mode,
            },
            &json!([1]),
        )
        .unwrap_err();
        assert_eq!(
            e.msg,
            "`file`: `mode` must be a file mode, got a list ([1])"
        );
        assert!(ok(Kind::Any, json!({"x": [1]})));
    }

    #[test]
    fn templates_are_found_anywhere_in_a_value() {
        assert!(has_template(&json!("{{ x }}")));
        assert!(has_template(&json!(["a", {"b": "{% if y %}1{% endif %}"}])));
        assert!(!has_template(&json!(["a", {"b": 1}])));
    }
}
