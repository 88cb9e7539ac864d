//! Ansible's filters, added to (or replacing) minijinja's built-ins.
//!
//! Grouped by what they work on: [`data`] (types, dicts, lists, sets),
//! [`json`] and [`yaml`] (serialisation as Python's json and PyYAML print it),
//! [`text`] (paths, shell quoting, base64), [`hash`] (digests and crypt),
//! [`regex`] (Python-style regular expressions) and [`url`] (`urlsplit`). Filters that minijinja already
//! implements with Ansible's semantics (`map`, `select`, `join`, `unique`,
//! `sort`, `replace`, `indent`, ...) are left alone.
//!
//! Filter errors start with `filter '<name>':` so the message says which
//! filter failed.

pub mod data;
pub mod hash;
pub mod json;
pub mod regex;
pub mod text;
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
}

/// An error raised by filter `name`.
pub(crate) fn filter_error(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("filter '{name}': {msg}"),
    )
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
