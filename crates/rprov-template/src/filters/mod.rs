//! Ansible's filters, added to (or replacing) minijinja's built-ins.
//!
//! Grouped by what they work on: [`data`] (types, dicts, lists, sets,
//! `subelements`, `extract`), [`json`] and [`yaml`] (serialisation as
//! Python's json and PyYAML print it), [`text`] (paths, shell quoting,
//! base64, `comment`, `to_uuid`), [`path`] (`realpath`, `fileglob`… on the
//! controller, and the `win_` ones), [`hash`] (digests and crypt),
//! [`regex`] (Python-style regular expressions), [`url`] (`urlsplit`),
//! [`random`] (`random`, `shuffle` with Python's generator), [`math`]
//! (`log`, `human_to_bytes`, `product`…) and [`time`] (`to_datetime`,
//! `strftime`). Filters that minijinja already implements with Ansible's
//! semantics (`map`, `select`, `join`, `unique`, `sort`, `replace`,
//! `indent`, ...) are left alone.
//!
//! Filter errors start with `filter '<name>':` so the message says which
//! filter failed.

pub mod data;
pub mod hash;
pub mod json;
pub mod json_surrogates;
pub mod math;
pub mod path;
pub mod random;
pub mod regex;
pub mod text;
pub mod time;
pub mod url;
pub mod yaml;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

/// Adds every filter of this module to `env`.
pub fn register(env: &mut Environment<'static>) {
    data::register(env);
    json::register(env);
    yaml::register(env);
    text::register(env);
    hash::register(env);
    regex::register(env);
    url::register(env);
    random::register(env);
    math::register(env);
    path::register(env);
    time::register(env);
}

/// An error raised by filter `name`.
pub(crate) fn filter_error(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("filter '{name}': {msg}"),
    )
}

/// Binds a filter's extra arguments as Python binds a call's: positional
/// ones fill `names` in order, keywords go by name; one given both ways,
/// too many positional ones or an unknown keyword is an error (Python's
/// `TypeError`). An explicit `none` is kept as `Some(none)`.
pub(crate) fn bind_args<const K: usize>(
    name: &str,
    args: &[Value],
    kwargs: &minijinja::value::Kwargs,
    names: [&str; K],
) -> Result<[Option<Value>; K], Error> {
    if args.len() > K {
        return Err(filter_error(
            name,
            format!(
                "takes at most {} positional arguments but {} were given",
                K + 1,
                args.len() + 1
            ),
        ));
    }
    if let Some(unknown) = kwargs.args().find(|k| !names.contains(k)) {
        return Err(filter_error(
            name,
            format!("got an unexpected keyword argument '{unknown}'"),
        ));
    }
    let mut out: [Option<Value>; K] = std::array::from_fn(|_| None);
    for (i, arg_name) in names.iter().enumerate() {
        if let Some(v) = args.get(i) {
            if kwargs.has(arg_name) {
                return Err(filter_error(
                    name,
                    format!("got multiple values for argument '{arg_name}'"),
                ));
            }
            out[i] = Some(v.clone());
        } else {
            out[i] = kwargs.get::<Option<Value>>(arg_name)?;
        }
    }
    kwargs.assert_all_used()?;
    Ok(out)
}

/// Fails with an undefined error when `value` is undefined, so the caller
/// reports the variable's name; filters that accept undefined (`default`,
/// `mandatory`) do not call this.
pub(crate) fn require_defined(value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// A filter's input as JSON, for filters that reshape data.
pub(crate) fn to_json(name: &str, value: &Value) -> Result<serde_json::Value, Error> {
    require_defined(value)?;
    crate::convert::from_value(value).map_err(|e| filter_error(name, e))
}

/// Back from JSON to a template value.
pub(crate) fn from_json(value: &serde_json::Value) -> Value {
    crate::convert::to_value(value)
}

/// The string a filter works on: strings as they are, other scalars printed
/// (Ansible filters call `str()` / `to_text()` on their input).
pub(crate) fn as_text(value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    Ok(match value.as_str() {
        Some(s) => s.to_string(),
        None if value.is_none() => "None".to_string(),
        None => value.to_string(),
    })
}

/// Python's `repr()` of a float: the shortest text that reads back the
/// same, in fixed notation for exponents -4 to 15 (`1.0`, `0.0001`) and
/// scientific otherwise (`1e+16`, `1.5e-05`), as `str(x)` prints it.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Python's `repr()` of a string: single quotes unless the text holds a
/// single quote and no double one, with Python's escapes.
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a template value (`{'a': [1, None]}`), for error
/// messages that quote data as ansible-core's do.
pub(crate) fn py_repr(v: &Value) -> String {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if v.is_integer() => v.to_string(),
        ValueKind::Number => f64::try_from(v.clone()).map_or_else(|_| v.to_string(), py_float_repr),
        ValueKind::String => py_str_repr(v.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| it.map(|i| py_repr(&i)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let val = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", py_repr(&k), py_repr(&val))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => v.to_string(),
    }
}

/// Python's `str()` of data (`{'a': [1, None]}`, `True`), for output that
/// shows variables as ansible-core's Python prints them
/// (`ansible-inventory --graph --vars`).
pub fn py_str_json(v: &serde_json::Value) -> String {
    py_str(&from_json(v))
}

/// Python's `str()`: text as it is, anything else as its `repr()`.
pub(crate) fn py_str(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => py_repr(v),
    }
}

/// The items Python's `iter()` gives: a string's characters, a list's
/// items, a mapping's keys. Anything else is Python's `TypeError`.
pub(crate) fn py_items(name: &str, v: &Value) -> Result<Vec<Value>, Error> {
    use minijinja::value::ValueKind;
    require_defined(v)?;
    match v.kind() {
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect()),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            Ok(v.try_iter().map_err(|e| filter_error(name, e))?.collect())
        }
        _ => Err(filter_error(
            name,
            format!("'{}' object is not iterable", py_type_name(v)),
        )),
    }
}

/// The name of Python's type for a value (`int`, `str`, `NoneType`…).
pub(crate) fn py_type_name(v: &Value) -> &'static str {
    crate::convert::py_type(v)
}

/// Python's `str.splitlines()`: every line break Python knows, none kept.
pub fn py_splitlines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
