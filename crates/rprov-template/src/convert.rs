//! Conversions between the JSON values the rest of rprov uses and minijinja's
//! values. Kept in one place so every filter converts the same way.

use minijinja::value::{Serde, Value};
use minijinja::{Error, ErrorKind};

/// JSON (the host's variables) to a minijinja value.
pub(crate) fn to_value(v: &serde_json::Value) -> Value {
    Value::from(Serde(v))
}

/// A minijinja value back to JSON. Undefined values become an error rather
/// than a silent `null`, because strict undefined is the contract.
///
/// An undefined value inside a list or a mapping (`map(attribute='name')`
/// over an item without `name`) is an error too, as in Ansible, where it
/// would otherwise print as `null`; the message says what was missing when
/// a filter noted it ([`note_missing`]).
pub(crate) fn from_value(v: &Value) -> Result<serde_json::Value, Error> {
    let noted = MISSING.with(|m| m.borrow_mut().take());
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if crate::lookup::leaves_out_undefined() {
        return Ok(without_undefined(v).unwrap_or(serde_json::Value::Null));
    }
    if let Some(at) = undefined_inside(v, String::new()) {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            noted.unwrap_or_else(|| format!("the value at {at} is undefined")),
        ));
    }
    serde_json::to_value(v).map_err(|e| {
        Error::new(
            ErrorKind::BadSerialization,
            format!("cannot convert value to data: {e}"),
        )
    })
}

/// `v` as data with its undefined items left out; `None` when `v` itself is
/// undefined.
fn without_undefined(v: &Value) -> Option<serde_json::Value> {
    use minijinja::value::ValueKind;
    if v.is_undefined() {
        return None;
    }
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => Some(serde_json::Value::Array(
            v.try_iter()
                .ok()?
                .filter_map(|i| without_undefined(&i))
                .collect(),
        )),
        ValueKind::Map => {
            let mut m = serde_json::Map::new();
            for key in v.try_iter().ok()? {
                if let Some(item) = v.get_item(&key).ok().and_then(|i| without_undefined(&i)) {
                    m.insert(
                        key.as_str().map_or_else(|| key.to_string(), str::to_string),
                        item,
                    );
                }
            }
            Some(serde_json::Value::Object(m))
        }
        _ => serde_json::to_value(v).ok(),
    }
}

thread_local! {
    /// What the last filter that gave an undefined item found missing.
    static MISSING: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Notes why a filter put an undefined item in its result (`object of type
/// 'dict' has no attribute 'name'`), for the error [`from_value`] gives if
/// the item reaches the template's result.
pub(crate) fn note_missing(why: String) {
    MISSING.with(|m| *m.borrow_mut() = Some(why));
}

/// Takes the note [`note_missing`] left, if any.
pub(crate) fn take_missing() -> Option<String> {
    MISSING.with(|m| m.borrow_mut().take())
}

/// Forgets a note left by an earlier render (one whose undefined item a
/// `select('defined')` dropped), so it never explains another's error.
pub(crate) fn forget_missing() {
    MISSING.with(|m| m.borrow_mut().take());
}

/// Fails as [`from_value`] does when a list or mapping about to be printed
/// holds an undefined value: ansible-core 2.19 fails `{{ [x] }} text` with
/// `'x' is undefined` where Jinja alone would print `[Undefined]`.
pub(crate) fn require_defined_inside(v: &Value) -> Result<(), Error> {
    use minijinja::value::ValueKind;
    if !matches!(v.kind(), ValueKind::Seq | ValueKind::Map) {
        return Ok(());
    }
    match undefined_inside(v, String::new()) {
        Some(at) => Err(Error::new(
            ErrorKind::UndefinedError,
            take_missing().unwrap_or_else(|| format!("the value at {at} is undefined")),
        )),
        None => Ok(()),
    }
}

/// Where the first undefined value inside a list or mapping is (`[1]`,
/// `['key']`), if there is one.
fn undefined_inside(v: &Value, path: String) -> Option<String> {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Seq => v.try_iter().ok()?.enumerate().find_map(|(i, item)| {
            let here = format!("{path}[{i}]");
            if item.is_undefined() {
                Some(here)
            } else {
                undefined_inside(&item, here)
            }
        }),
        ValueKind::Map => v.try_iter().ok()?.find_map(|key| {
            let item = v.get_item(&key).ok()?;
            let here = format!("{path}[{key:?}]");
            if item.is_undefined() {
                Some(here)
            } else {
                undefined_inside(&item, here)
            }
        }),
        _ => None,
    }
}

/// The name of Python's type for a value, as ansible-core's messages say it.
pub(crate) fn py_type(v: &Value) -> &'static str {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::Bool => "bool",
        ValueKind::String => "str",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "NoneType",
    }
}
