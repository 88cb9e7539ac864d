//! Ansible's idea of true and false, shared by keywords, filters and modules.

use serde_json::Value;

/// Parses the spellings Ansible's `boolean()` accepts; `None` when it is not one.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" | "true" | "y" | "t" => Some(true),
        "no" | "off" | "0" | "false" | "n" | "f" | "" => Some(false),
        _ => None,
    }
}

/// A module argument read as a boolean: real booleans, the strings above, and 0/1.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        // Only 0 and 1 (0.0 and 1.0), as ansible-core's `boolean()`: a 7 is
        // a mistake, not `true`.
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

/// Jinja truthiness of a value (`when: result.stdout` is true when non-empty).
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansible_booleans() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("no"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(as_bool(&serde_json::json!(1)), Some(true));
        assert_eq!(as_bool(&serde_json::json!(0.0)), Some(false));
        // ansible-core: "The value '7' is not a valid boolean."
        assert_eq!(as_bool(&serde_json::json!(7)), None);
        assert_eq!(as_bool(&serde_json::json!(2.0)), None);
    }
}
