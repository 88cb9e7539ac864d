//! Filters on types and data structures: `bool`, `int`, `float`, `combine`,
//! `dict2items`, `items2dict`, `flatten`, `ternary`, `mandatory`,
//! `type_debug`, `subelements`, `extract`, and the set filters `union`,
//! `intersect`, `difference`, `symmetric_difference`.
//!
//! `bool`, `int` and `float` replace minijinja's versions: Ansible's `bool`
//! reads `yes`/`on`, and Jinja's `int`/`float` return a default (0) where
//! minijinja raises an error.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use serde_json::Value as J;

use super::{
    bind_args, filter_error, from_json, py_repr, py_str, py_type_name, require_defined, to_json,
};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("bool", bool_filter);
    env.add_filter("map", map);
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("combine", combine);
    env.add_function("dict", dict);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("type_debug", type_debug);
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("subelements", subelements);
    env.add_filter("extract", extract);
}

/// Jinja's `map`, which also notes an item that lacks the attribute asked
/// for (without `default=`): its place in the list is undefined, which a
/// later `select('defined')` may drop, but which fails the template, in
/// Jinja's words, if it reaches the result.
pub fn map(
    state: &mut minijinja::State,
    value: Value,
    args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>,
) -> Result<Vec<Value>, Error> {
    let attribute = args.iter().find_map(|a| {
        minijinja::value::Kwargs::try_from(Value::clone(a))
            .ok()?
            .peek::<Option<String>>("attribute")
            .ok()
            .flatten()
    });
    let out = minijinja::filters::map(state, value.clone(), args)?;
    if let (Some(attribute), Ok(items)) = (attribute, value.try_iter()) {
        if let Some((item, _)) = items.zip(&out).find(|(_, v)| v.is_undefined()) {
            crate::convert::note_missing(format!(
                "object of type '{}' has no attribute '{attribute}'",
                crate::convert::py_type(&item)
            ));
        }
    }
    Ok(out)
}

/// Ansible's `bool`: `yes`, `on`, `1`, `true` (any case) and the number 1
/// are true; everything else (`no`, `off`, `0`, `false`, `y`, `""`, `None`)
/// is false. Modules' booleans (`force: y`) take more words.
pub fn bool_filter(value: &Value) -> Result<bool, Error> {
    require_defined(value)?;
    Ok(match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::None => false,
        ValueKind::Number => value.as_i64() == Some(1) || value.to_string() == "1.0",
        // ansible-core 2.19's `_valid_bool_true`, any case, nothing trimmed.
        ValueKind::String => matches!(
            value.as_str().unwrap_or_default().to_lowercase().as_str(),
            "yes" | "on" | "1" | "true"
        ),
        _ => false,
    })
}

/// Jinja's `int(default=0, base=10)`: integers as they are, floats truncated,
/// strings parsed in `base` (with an optional `0x`/`0o`/`0b` prefix matching
/// it) or as a float; anything else gives `default`.
pub fn int(
    value: &Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    require_defined(value)?;
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base = match base {
        Some(b) => b,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    if !(2..=36).contains(&base) {
        return Err(filter_error("int", format!("invalid base {base}")));
    }
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number => {
            if value.is_integer() {
                value.clone()
            } else {
                let f: f64 = value.to_string().parse().unwrap_or(0.0);
                truncated(f)
            }
        }
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().replace('_', "");
            parse_int(&s, base)
                .map(Value::from)
                .or_else(|| {
                    (base == 10)
                        .then(|| s.parse::<f64>().ok())
                        .flatten()
                        .filter(|f| f.is_finite())
                        .map(truncated)
                })
                .unwrap_or(default)
        }
        _ => default,
    })
}

/// Python's `int(f)`: a float's integer part, past 64 bits too (`1e20 |
/// int`), where a cast to `i64` would silently stop at its largest value.
fn truncated(f: f64) -> Value {
    let t = f.trunc();
    // 2^63: the first integer past i64's range, exactly a float.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    if (-I64_END..I64_END).contains(&t) {
        Value::from(t as i64)
    } else {
        Value::from(t as i128)
    }
}

/// Parses an integer the way Python's `int(s, base)` does, prefix included.
fn parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let digits = match base {
        16 => lower.strip_prefix("0x").unwrap_or(&lower),
        8 => lower.strip_prefix("0o").unwrap_or(&lower),
        2 => lower.strip_prefix("0b").unwrap_or(&lower),
        _ => &lower,
    };
    let n = i64::from_str_radix(digits, base).ok()?;
    Some(if neg { -n } else { n })
}

/// Jinja's `float(default=0.0)`.
pub fn float(value: &Value, default: Option<Value>) -> Result<Value, Error> {
    require_defined(value)?;
    let default = default.unwrap_or(Value::from(0.0));
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number | ValueKind::String => {
            let text = match value.as_str() {
                Some(s) => s.trim().to_string(),
                None => value.to_string(),
            };
            match text.parse::<f64>() {
                Ok(f) => Value::from(f),
                Err(_) => default,
            }
        }
        _ => default,
    })
}

/// Ansible's `combine(*dicts, recursive=False, list_merge='replace')`:
/// later dicts win; with `recursive=true` nested dicts are merged instead of
/// replaced; lists under the same key are merged as `list_merge` says.
/// Arguments may also be lists of dicts.
pub fn combine(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive: bool = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let mode = kwargs.get::<Option<String>>("list_merge")?;
    let mode = match mode.as_deref().unwrap_or("replace") {
        "replace" => ListMerge::Replace,
        "keep" => ListMerge::Keep,
        "append" => ListMerge::Append,
        "prepend" => ListMerge::Prepend,
        "append_rp" => ListMerge::AppendRp,
        "prepend_rp" => ListMerge::PrependRp,
        _ => {
            return Err(filter_error(
                "combine",
                "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'",
            ))
        }
    };
    if kwargs.assert_all_used().is_err() {
        return Err(filter_error(
            "combine",
            "'recursive' and 'list_merge' are the only valid keyword arguments",
        ));
    }
    let mut dicts = Vec::new();
    for v in std::iter::once(value).chain(others.iter()) {
        match to_json("combine", v)? {
            J::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    let mut maps = Vec::with_capacity(dicts.len());
    for d in dicts {
        match d {
            J::Object(map) => maps.push(map),
            other => {
                return Err(filter_error(
                    "combine",
                    format!("expects dictionaries, got {}", type_name(&other)),
                ))
            }
        }
    }
    // As ansible-core: from the last dict back, each merged under the one
    // before it (`append_rp` depends on that order).
    let mut maps = maps.into_iter().rev();
    let mut out = maps.next().unwrap_or_default();
    for lower in maps {
        out = merge_hash(lower, out, recursive, mode);
    }
    Ok(from_json(&J::Object(out)))
}

/// Python's `dict()`: minijinja's (a dict, keyword arguments), and also a
/// list of key-value pairs, as roles build dicts: `dict(keys | zip(values))`.
pub fn dict(value: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let pairs = match value {
        Some(v) if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) => v,
        other => return minijinja::functions::dict(other, kwargs),
    };
    let mut map = serde_json::Map::new();
    for (i, pair) in pairs.try_iter()?.enumerate() {
        let items: Vec<Value> = match pair.kind() {
            ValueKind::Seq | ValueKind::Iterable | ValueKind::String => pair.try_iter()?.collect(),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot convert dictionary update sequence element #{i} to a sequence"),
                ))
            }
        };
        let [key, item] = items.as_slice() else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "dictionary update sequence element #{i} has length {}; 2 is required",
                    items.len()
                ),
            ));
        };
        map.insert(py_str(key), to_json("dict", item)?);
    }
    for name in kwargs.args() {
        map.insert(
            name.to_string(),
            to_json("dict", &kwargs.get::<Value>(name)?)?,
        );
    }
    Ok(from_json(&J::Object(map)))
}

/// `combine`'s `list_merge`: what becomes of two lists under the same key.
#[derive(Clone, Copy)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

/// ansible-core's `merge_hash`: `high` merged into `low`, `high` winning;
/// nested dicts merged when `recursive`, lists as `mode` says.
fn merge_hash(
    mut low: serde_json::Map<String, J>,
    high: serde_json::Map<String, J>,
    recursive: bool,
    mode: ListMerge,
) -> serde_json::Map<String, J> {
    for (k, h) in high {
        let Some(slot) = low.get_mut(&k) else {
            low.insert(k, h);
            continue;
        };
        *slot = match (std::mem::take(slot), h) {
            (J::Object(l), J::Object(h)) if recursive => J::Object(merge_hash(l, h, true, mode)),
            (J::Array(mut l), J::Array(h)) => match mode {
                ListMerge::Replace => J::Array(h),
                ListMerge::Keep => J::Array(l),
                ListMerge::Append => {
                    l.extend(h);
                    J::Array(l)
                }
                ListMerge::Prepend => J::Array(h.into_iter().chain(l).collect()),
                ListMerge::AppendRp => {
                    l.retain(|z| !h.contains(z));
                    l.extend(h);
                    J::Array(l)
                }
                ListMerge::PrependRp => {
                    l.retain(|z| !h.contains(z));
                    J::Array(h.into_iter().chain(l).collect())
                }
            },
            (_, h) => h,
        };
    }
    low
}

/// Ansible's `dict2items(key_name='key', value_name='value')`.
pub fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    let J::Object(map) = to_json("dict2items", value)? else {
        return Err(filter_error("dict2items", "requires a dictionary"));
    };
    let items: Vec<J> = map
        .into_iter()
        .map(|(k, v)| {
            let mut item = serde_json::Map::new();
            item.insert(key_name.clone(), J::String(k));
            item.insert(value_name.clone(), v);
            J::Object(item)
        })
        .collect();
    Ok(from_json(&J::Array(items)))
}

/// Ansible's `items2dict(key_name='key', value_name='value')`.
pub fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    let J::Array(items) = to_json("items2dict", value)? else {
        return Err(filter_error(
            "items2dict",
            "requires a list of dictionaries",
        ));
    };
    let mut out = serde_json::Map::new();
    for item in items {
        let (Some(k), Some(v)) = (item.get(&key_name), item.get(&value_name)) else {
            return Err(filter_error(
                "items2dict",
                format!("each item needs '{key_name}' and '{value_name}' keys"),
            ));
        };
        let key = match k {
            J::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert(key, v.clone());
    }
    Ok(from_json(&J::Object(out)))
}

/// Ansible's `flatten(levels=None, skip_nulls=True)`.
pub fn flatten(value: &Value, levels: Option<i64>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<i64>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let J::Array(items) = to_json("flatten", value)? else {
        return Err(filter_error("flatten", "requires a list"));
    };
    let mut out = Vec::new();
    flatten_into(items, levels, skip_nulls, &mut out);
    Ok(from_json(&J::Array(out)))
}

fn flatten_into(items: Vec<J>, levels: Option<i64>, skip_nulls: bool, out: &mut Vec<J>) {
    for item in items {
        match item {
            J::Null if skip_nulls => {}
            J::String(s) if skip_nulls && s == "None" => {}
            J::Array(inner) if levels.is_none_or(|l| l > 0) => {
                flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out)
            }
            other => out.push(other),
        }
    }
}

/// Ansible's `ternary(true_val, false_val, none_val=None)`.
pub fn ternary(
    value: &Value,
    true_val: Value,
    false_val: Value,
    none_val: Option<Value>,
) -> Result<Value, Error> {
    require_defined(value)?;
    Ok(match none_val {
        Some(n) if value.is_none() => n,
        _ if value.is_true() => true_val,
        _ => false_val,
    })
}

/// Ansible's `mandatory(msg=None)`: the value itself, or an error naming the
/// variable when it is undefined (the name is filled in by the caller, which
/// knows the template).
pub fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(match msg {
            Some(m) => Error::new(ErrorKind::InvalidOperation, m),
            None => Error::new(ErrorKind::UndefinedError, "mandatory variable not defined"),
        });
    }
    Ok(value.clone())
}

/// Ansible's `type_debug`: the Python type name of the value.
pub fn type_debug(value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    Ok(match value.kind() {
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        ValueKind::Plain => "object",
        _ => "object",
    }
    .to_string())
}

/// The Python type name of a JSON value, for error messages.
pub(crate) fn type_name(v: &J) -> &'static str {
    match v {
        J::Null => "NoneType",
        J::Bool(_) => "bool",
        J::Number(n) if n.is_f64() => "float",
        J::Number(_) => "int",
        J::String(_) => "str",
        J::Array(_) => "list",
        J::Object(_) => "dict",
    }
}

/// The items of a list-like input (a string counts as a list of one, as
/// Ansible's set filters are given lists).
fn list_of(name: &str, value: &Value) -> Result<Vec<J>, Error> {
    match to_json(name, value)? {
        J::Array(items) => Ok(items),
        J::Object(map) => Ok(map.into_iter().map(|(k, _)| J::String(k)).collect()),
        other => Err(filter_error(
            name,
            format!("expects a list, got {}", type_name(&other)),
        )),
    }
}

/// Order-preserving dedup, as Ansible's set filters keep first occurrence.
fn dedup(items: impl IntoIterator<Item = J>) -> Vec<J> {
    let mut out: Vec<J> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Ansible's `union`: items of both, first occurrence order, no duplicates.
pub fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    let mut items = list_of("union", a)?;
    items.extend(list_of("union", b)?);
    Ok(from_json(&J::Array(dedup(items))))
}

/// Ansible's `intersect`: items of `a` also in `b`, no duplicates.
pub fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = list_of("intersect", b)?;
    let items = list_of("intersect", a)?
        .into_iter()
        .filter(|i| b.contains(i));
    Ok(from_json(&J::Array(dedup(items))))
}

/// Ansible's `difference`: items of `a` not in `b`, no duplicates.
pub fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = list_of("difference", b)?;
    let items = list_of("difference", a)?
        .into_iter()
        .filter(|i| !b.contains(i));
    Ok(from_json(&J::Array(dedup(items))))
}

/// Ansible's `symmetric_difference`: items in exactly one of the lists.
pub fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let a = list_of("symmetric_difference", a)?;
    let b = list_of("symmetric_difference", b)?;
    let items = a
        .iter()
        .filter(|i| !b.contains(i))
        .chain(b.iter().filter(|i| !a.contains(i)))
        .cloned();
    Ok(from_json(&J::Array(dedup(items))))
}

/// Ansible's `subelements(key, skip_missing=False)` filter: `[item, entry]`
/// for each entry of each item's list found at `key` (a dotted path or a
/// list of keys); a dict's values are the items. Unlike the lookup of the
/// same name, the item keeps its list. Errors as ansible-core's.
pub fn subelements(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "subelements";
    require_defined(value)?;
    let [path, skip_missing] = bind_args(NAME, &args, &kwargs, ["subelements", "skip_missing"])?;
    let skip_missing = skip_missing.is_some_and(|s| s.is_true());
    let elements: Vec<Value> = match value.kind() {
        ValueKind::Map => value
            .try_iter()
            .map_err(|e| filter_error(NAME, e))?
            .map(|k| value.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq => value
            .try_iter()
            .map_err(|e| filter_error(NAME, e))?
            .collect(),
        _ => {
            return Err(filter_error(
                NAME,
                "obj must be a list of dicts or a nested dict",
            ))
        }
    };
    let path = path.ok_or_else(|| {
        filter_error(
            NAME,
            "subelements() missing 1 required positional argument: 'subelements'",
        )
    })?;
    let keys: Vec<Value> = match path.kind() {
        ValueKind::Seq => path
            .try_iter()
            .map_err(|e| filter_error(NAME, e))?
            .collect(),
        ValueKind::String => path
            .as_str()
            .unwrap_or_default()
            .split('.')
            .map(Value::from)
            .collect(),
        _ => return Err(filter_error(NAME, "subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        let mut last = Value::from(());
        for key in &keys {
            last = key.clone();
            match subscript(&values, key) {
                Ok(Some(v)) => values = v,
                Ok(None) if skip_missing => {
                    values = Value::from(Vec::<Value>::new());
                    break;
                }
                Ok(None) => {
                    return Err(filter_error(
                        NAME,
                        format!(
                            "could not find {} key in iterated item {}",
                            py_repr(key),
                            py_repr(&values)
                        ),
                    ))
                }
                Err(why) => {
                    return Err(filter_error(
                        NAME,
                        format!(
                            "the key {} should point to a dictionary, got '{}': {why}",
                            py_str(key),
                            py_str(&values)
                        ),
                    ))
                }
            }
        }
        if values.kind() != ValueKind::Seq {
            return Err(filter_error(
                NAME,
                format!(
                    "the key {} should point to a list, got {}",
                    py_repr(&last),
                    py_repr(&values)
                ),
            ));
        }
        for v in values.try_iter().map_err(|e| filter_error(NAME, e))? {
            out.push(Value::from(vec![element.clone(), v]));
        }
    }
    Ok(Value::from(out))
}

/// Python's `container[key]`: `Ok(None)` for a missing key (`KeyError`,
/// or an index past the end), `Err` with Python's words for a container
/// that cannot be indexed so (`TypeError`).
fn subscript(container: &Value, key: &Value) -> Result<Option<Value>, String> {
    match container.kind() {
        ValueKind::Map => {
            Ok(Some(container.get_item(key).unwrap_or_default()).filter(|v| !v.is_undefined()))
        }
        ValueKind::Seq if key.kind() == ValueKind::Number && key.is_integer() => {
            Ok(Some(container.get_item(key).unwrap_or_default()).filter(|v| !v.is_undefined()))
        }
        ValueKind::Seq => Err(format!(
            "list indices must be integers or slices, not {}",
            py_type_name(key)
        )),
        ValueKind::String => Err(format!(
            "string indices must be integers, not '{}'",
            py_type_name(key)
        )),
        _ => Err(format!(
            "'{}' object is not subscriptable",
            py_type_name(container)
        )),
    }
}

/// Ansible's `extract(container, morekeys=None)`: `container[item]`, then
/// each of `morekeys` (one key or a list) in turn, as Jinja's lookup does.
/// A key that is missing gives an undefined value (so `default` applies),
/// which fails the template, in Jinja's words, if it is used.
pub fn extract(item: &Value, container: &Value, morekeys: Option<Value>) -> Result<Value, Error> {
    require_defined(item)?;
    let mut keys = vec![item.clone()];
    match morekeys {
        None => {}
        Some(m) if m.is_none() => {}
        Some(m) if m.kind() == ValueKind::Seq => {
            keys.extend(m.try_iter().map_err(|e| filter_error("extract", e))?)
        }
        Some(m) => keys.push(m),
    }
    let mut value = container.clone();
    for key in keys {
        if value.is_undefined() {
            return Ok(value);
        }
        let next = value.get_item(&key).unwrap_or(Value::UNDEFINED);
        if next.is_undefined() {
            let shown = if key.as_str().is_some() {
                py_repr(&key)
            } else {
                py_str(&key)
            };
            crate::convert::note_missing(format!(
                "object of type '{}' has no attribute {shown}",
                py_type_name(&value)
            ));
            return Ok(Value::UNDEFINED);
        }
        value = next;
    }
    Ok(value)
}
