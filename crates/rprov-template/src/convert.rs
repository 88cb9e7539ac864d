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
pub(crate) fn from_value(v: &Value) -> Result<serde_json::Value, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    serde_json::to_value(v).map_err(|e| {
        Error::new(
            ErrorKind::BadSerialization,
            format!("cannot convert value to data: {e}"),
        )
    })
}
