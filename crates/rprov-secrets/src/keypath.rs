//! Dotted key paths (`db.password`, `hosts.0.name`) for `get`, `set` and `rm`.
//!
//! Why not JSON Pointer: users type these on the command line and already write
//! `{{ db.password }}` in templates; a dotted path reads the same. A segment that is
//! all digits indexes a list when the value there is a list, else it is a map key.

use crate::{SecretsError, Vars};
use serde_json::Value;

fn key_err(key: &str, reason: impl Into<String>) -> SecretsError {
    SecretsError::Key {
        key: key.into(),
        reason: reason.into(),
    }
}

fn segments(key: &str) -> Result<Vec<&str>, SecretsError> {
    let segs: Vec<&str> = key.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(key_err(key, "is not a valid dotted path (empty segment)"));
    }
    Ok(segs)
}

/// Looks up `key`.
pub(crate) fn get<'v>(vars: &'v Vars, key: &str) -> Result<&'v Value, SecretsError> {
    let segs = segments(key)?;
    let missing = || key_err(key, "is not set");
    let mut cur = vars.get(segs[0]).ok_or_else(missing)?;
    for s in &segs[1..] {
        cur = match cur {
            Value::Object(m) => m.get(*s),
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(missing)?;
    }
    Ok(cur)
}

/// Sets `key` to `value`, creating intermediate maps. Refuses to walk through a
/// scalar or a list (replacing it would silently drop data).
pub(crate) fn set(vars: &mut Vars, key: &str, value: Value) -> Result<(), SecretsError> {
    let segs = segments(key)?;
    let (last, parents) = segs.split_last().ok_or_else(|| key_err(key, "is empty"))?;
    if parents.is_empty() {
        vars.insert((*last).to_owned(), value);
        return Ok(());
    }
    let mut cur = vars
        .entry(parents[0].to_owned())
        .or_insert_with(|| Value::Object(Default::default()));
    for (i, s) in parents.iter().enumerate().skip(1) {
        cur = match cur {
            Value::Object(m) => m
                .entry((*s).to_owned())
                .or_insert_with(|| Value::Object(Default::default())),
            _ => {
                return Err(key_err(
                    key,
                    format!("cannot be set: `{}` is not a map", parents[..i].join(".")),
                ))
            }
        };
    }
    match cur {
        Value::Object(m) => {
            m.insert((*last).to_owned(), value);
            Ok(())
        }
        _ => Err(key_err(
            key,
            format!("cannot be set: `{}` is not a map", parents.join(".")),
        )),
    }
}

/// Removes `key`; an error if it is not set.
pub(crate) fn remove(vars: &mut Vars, key: &str) -> Result<Value, SecretsError> {
    let segs = segments(key)?;
    let missing = || key_err(key, "is not set");
    let (last, parents) = segs.split_last().ok_or_else(missing)?;
    if parents.is_empty() {
        return vars.shift_remove(*last).ok_or_else(missing);
    }
    let mut cur = vars.get_mut(parents[0]).ok_or_else(missing)?;
    for s in &parents[1..] {
        cur = match cur {
            Value::Object(m) => m.get_mut(*s),
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(missing)?;
    }
    match cur {
        Value::Object(m) => m.shift_remove(*last).ok_or_else(missing),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Ok(a.remove(i)),
            _ => Err(missing()),
        },
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        serde_json::from_value(json!({"db": {"pw": "x", "hosts": ["a", "b"]}, "top": 1})).unwrap()
    }

    #[test]
    fn get_walks_maps_and_lists() {
        let v = vars();
        assert_eq!(get(&v, "db.pw").unwrap(), "x");
        assert_eq!(get(&v, "db.hosts.1").unwrap(), "b");
        assert!(get(&v, "db.nope")
            .unwrap_err()
            .to_string()
            .contains("is not set"));
        assert!(get(&v, "db..pw").is_err());
    }

    #[test]
    fn set_creates_maps_and_refuses_scalars() {
        let mut v = vars();
        set(&mut v, "new.deep.key", json!("s")).unwrap();
        assert_eq!(get(&v, "new.deep.key").unwrap(), "s");
        set(&mut v, "db.pw", json!("y")).unwrap();
        assert_eq!(get(&v, "db.pw").unwrap(), "y");
        assert!(set(&mut v, "top.x", json!(1))
            .unwrap_err()
            .to_string()
            .contains("`top` is not a map"));
    }

    #[test]
    fn remove_keys_and_list_items() {
        let mut v = vars();
        assert_eq!(remove(&mut v, "db.hosts.0").unwrap(), "a");
        assert_eq!(remove(&mut v, "db.pw").unwrap(), "x");
        assert!(remove(&mut v, "db.pw").is_err());
        assert_eq!(remove(&mut v, "top").unwrap(), 1);
    }
}
