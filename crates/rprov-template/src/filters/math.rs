//! ansible-core's `mathstuff` filters: `log`, `pow`, `root`,
//! `human_readable`, `human_to_bytes`, `rekey_on_member`, and the
//! `itertools` ones: `product`, `combinations`, `permutations`,
//! `zip_longest`, and `unique` with ansible-core's fallback around Jinja2's.
//!
//! The numbers are Python's `math` module's (the same C library
//! functions), with its `math domain error` and `math range error`. The
//! combinatorial filters count their result before they build it and
//! refuse one over the bound on rendered values (see [`crate::limits`]),
//! so `range(100) | permutations` fails at once instead of filling memory.

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::{
    bind_args, filter_error, py_float_repr, py_items, py_repr, py_str, py_type_name,
    require_defined,
};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("log", log);
    env.add_filter("pow", pow);
    env.add_filter("root", root);
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
    env.add_filter("rekey_on_member", rekey_on_member);
    env.add_filter("product", product);
    env.add_filter("combinations", combinations);
    env.add_filter("permutations", permutations);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("unique", unique);
}

/// ansible-core's `unique`: Jinja2's `do_unique` (case-insensitive unless
/// `case_sensitive`, by `attribute` when given), and when that fails —
/// an item (or its attribute) is a list or a mapping, which Python cannot
/// hash — Ansible's own version, which keeps each item not seen before,
/// case-sensitively. That fallback knows neither `case_sensitive=False`
/// nor `attribute`, so with either of them such items are an error, as
/// ansible-core raises it.
fn unique(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let [case_sensitive, attribute] =
        bind_args("unique", &args, &kwargs, ["case_sensitive", "attribute"])?;
    let items = py_items("unique", &value)?;
    // Python's `case_sensitive is False`: only the boolean, not `0`.
    let explicit_false = case_sensitive
        .as_ref()
        .is_some_and(|v| v.kind() == ValueKind::Bool && !v.is_true());
    let case_sensitive = case_sensitive.is_some_and(|v| v.is_true());
    let attribute = attribute.filter(|a| a.is_true());
    let keys: Vec<Value> = items
        .iter()
        .map(|item| {
            let key = match &attribute {
                Some(a) => attribute_of(item, a),
                None => item.clone(),
            };
            match key.as_str() {
                Some(s) if !case_sensitive => Value::from(s.to_lowercase()),
                _ => key,
            }
        })
        .collect();
    let unhashable = keys
        .iter()
        .any(|k| matches!(k.kind(), ValueKind::Seq | ValueKind::Map));
    let mut kept: Vec<Value> = Vec::new();
    if unhashable {
        if explicit_false || attribute.is_some() {
            return Err(filter_error(
                "unique",
                "Jinja2's unique filter failed and we cannot fall back to Ansible's version \
                 as it does not support the parameters supplied.",
            ));
        }
        for item in items {
            if !kept.contains(&item) {
                kept.push(item);
            }
        }
    } else {
        let mut seen = std::collections::BTreeSet::new();
        for (item, key) in items.into_iter().zip(keys) {
            if seen.insert(key) {
                kept.push(item);
            }
        }
    }
    Ok(Value::from(kept))
}

/// Jinja2's `make_attrgetter`: an integer indexes, a string is a dotted
/// path whose integer parts index lists; what is missing is undefined.
fn attribute_of(item: &Value, attribute: &Value) -> Value {
    let Some(path) = attribute.as_str() else {
        return item.get_item(attribute).unwrap_or(Value::UNDEFINED);
    };
    let mut v = item.clone();
    for part in path.split('.') {
        let key = match part.parse::<i64>() {
            Ok(i) if v.kind() == ValueKind::Seq => Value::from(i),
            _ => Value::from(part),
        };
        v = v.get_item(&key).unwrap_or(Value::UNDEFINED);
        if v.is_undefined() {
            break;
        }
    }
    v
}

/// What a Python `math` function raised.
enum MathError {
    /// `TypeError` (not a number).
    Type(String),
    /// `ValueError` (`math domain error`, a bad string for `float()`).
    Value(String),
    /// `OverflowError` or `ZeroDivisionError`, which the filters let through.
    Other(String),
}

/// A number as `math` functions take it (`int`, `float`, `bool`).
fn real(v: &Value) -> Result<f64, MathError> {
    match v.kind() {
        ValueKind::Bool => Ok(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(v.clone()).map_err(|e| MathError::Type(e.to_string())),
        _ => Err(MathError::Type(format!(
            "must be real number, not {}",
            py_type_name(v)
        ))),
    }
}

/// Python's `float(v)`, strings included.
fn py_float(v: &Value) -> Result<f64, MathError> {
    if let Some(s) = v.as_str() {
        let t = s.trim();
        let cleaned = if t.contains('_') && !t.starts_with('_') && !t.ends_with('_') {
            t.replace('_', "")
        } else {
            t.to_string()
        };
        return cleaned.parse::<f64>().map_err(|_| {
            MathError::Value(format!("could not convert string to float: {}", py_repr(v)))
        });
    }
    match v.kind() {
        ValueKind::Bool | ValueKind::Number => real(v),
        _ => Err(MathError::Type(format!(
            "float() argument must be a string or a real number, not '{}'",
            py_type_name(v)
        ))),
    }
}

/// `math.pow(x, y)` with Python's checks on the result.
fn math_pow(x: f64, y: f64) -> Result<f64, MathError> {
    let r = x.powf(y);
    if x.is_finite() && y.is_finite() {
        if r.is_nan() {
            return Err(MathError::Value("math domain error".into()));
        }
        if r.is_infinite() {
            return Err(if x == 0.0 {
                MathError::Value("math domain error".into())
            } else {
                MathError::Other("math range error".into())
            });
        }
    }
    Ok(r)
}

/// `math.log(x)` (natural), `math domain error` for `x <= 0`.
fn math_ln(x: f64) -> Result<f64, MathError> {
    if x.is_nan() {
        return Ok(x);
    }
    if x <= 0.0 {
        return Err(MathError::Value("math domain error".into()));
    }
    Ok(x.ln())
}

/// Ansible's `log(x, base=e)`: `math.log10` for base 10, else
/// `math.log(x, base)`.
pub fn log(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "log";
    require_defined(value)?;
    let [base] = bind_args(NAME, &args, &kwargs, ["base"])?;
    let run = || -> Result<f64, MathError> {
        let x = real(value)?;
        let base = match &base {
            None => return math_ln(x),
            Some(b) => real(b)?,
        };
        if base == 10.0 {
            return if x.is_nan() {
                Ok(x)
            } else if x <= 0.0 {
                Err(MathError::Value("math domain error".into()))
            } else {
                Ok(x.log10())
            };
        }
        let num = math_ln(x)?;
        let den = math_ln(base)?;
        if den == 0.0 {
            return Err(MathError::Other("float division by zero".into()));
        }
        Ok(num / den)
    };
    math_result(NAME, "log() can only be used on numbers", run(), &[])
}

/// Ansible's `pow(x, y)`: `math.pow`, always a float.
pub fn pow(value: &Value, y: &Value) -> Result<Value, Error> {
    const NAME: &str = "pow";
    require_defined(value)?;
    require_defined(y)?;
    let r = real(value).and_then(|x| math_pow(x, real(y)?));
    math_result(NAME, "pow() can only be used on numbers", r, &[])
}

/// Ansible's `root(x, base=2)`: `math.sqrt` for base 2, else
/// `x ** (1 / float(base))`.
pub fn root(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "root";
    require_defined(value)?;
    let [base] = bind_args(NAME, &args, &kwargs, ["base"])?;
    let run = || -> Result<f64, MathError> {
        let is_two = match &base {
            None => true,
            Some(b) => matches!(b.kind(), ValueKind::Number | ValueKind::Bool) && real(b)? == 2.0,
        };
        if is_two {
            let x = real(value)?;
            if x < 0.0 {
                return Err(MathError::Value("math domain error".into()));
            }
            return Ok(x.sqrt());
        }
        let b = py_float(base.as_ref().unwrap_or(&Value::from(2)))?;
        if b == 0.0 {
            return Err(MathError::Other("float division by zero".into()));
        }
        math_pow(real(value)?, 1.0 / b)
    };
    // ansible-core's `root` wraps ValueError as well as TypeError.
    math_result(
        NAME,
        "root() can only be used on numbers",
        run(),
        &["value"],
    )
}

/// The filter's value, or its error as ansible-core words it: the
/// wrapped kinds (`TypeError`, and those in `wrap_also`) as `prefix: cause`,
/// the others as Python's own message.
fn math_result(
    name: &str,
    prefix: &str,
    r: Result<f64, MathError>,
    wrap_also: &[&str],
) -> Result<Value, Error> {
    match r {
        Ok(f) => Ok(Value::from(f)),
        Err(MathError::Type(m)) => Err(filter_error(name, format!("{prefix}: {m}"))),
        Err(MathError::Value(m)) if wrap_also.contains(&"value") => {
            Err(filter_error(name, format!("{prefix}: {m}")))
        }
        Err(MathError::Value(m) | MathError::Other(m)) => Err(filter_error(name, m)),
    }
}

/// The size units, largest first: `(letter, power of 1024)`.
const SIZE_RANGES: [(char, u32); 9] = [
    ('Y', 8),
    ('Z', 7),
    ('E', 6),
    ('P', 5),
    ('T', 4),
    ('G', 3),
    ('M', 2),
    ('K', 1),
    ('B', 0),
];

/// Ansible's `human_readable(size, isbits=False, unit=None)`: `size` in
/// the largest unit it reaches (or in `unit`), as `'%.2f KB'`.
pub fn human_readable(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "human_readable";
    require_defined(value)?;
    let [isbits, unit] = bind_args(NAME, &args, &kwargs, ["isbits", "unit"])?;
    let isbits = isbits.is_some_and(|b| b.is_true());
    let unit = unit.filter(|u| !u.is_none());
    let bad_input =
        |m: String| filter_error(NAME, format!("human_readable() failed on bad input: {m}"));
    let unit = match &unit {
        None => None,
        Some(u) => match u.as_str() {
            Some(s) => Some(s.to_uppercase()),
            None => {
                return Err(filter_error(
                    NAME,
                    format!(
                        "human_readable() can't interpret the input: '{}' object has no attribute 'upper'",
                        py_type_name(u)
                    ),
                ))
            }
        },
    };
    let size = match value.kind() {
        ValueKind::Number | ValueKind::Bool => real(value).map_err(|_| bad_input(String::new()))?,
        _ if unit.is_none() => {
            return Err(bad_input(format!(
                "'>=' not supported between instances of '{}' and 'int'",
                py_type_name(value)
            )))
        }
        _ => {
            return Err(bad_input(format!(
                "unsupported operand type(s) for /: '{}' and 'int'",
                py_type_name(value)
            )))
        }
    };
    let (letter, power) = SIZE_RANGES
        .iter()
        .copied()
        .find(|(letter, power)| match &unit {
            None => size >= 1024f64.powi(*power as i32),
            Some(u) => u.starts_with(*letter),
        })
        .unwrap_or(('B', 0));
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = if power == 0 {
        base.to_string()
    } else {
        format!("{letter}{}", &base[..1])
    };
    Ok(Value::from(format!(
        "{:.2} {suffix}",
        size / 1024f64.powi(power as i32)
    )))
}

/// Ansible's `human_to_bytes(size, default_unit=None, isbits=False)`:
/// `'10M'`, `'1.5 GB'`, `'2 kilobytes'` as an integer number of bytes (or
/// of bits with `isbits`), with ansible-core's unit rules and messages.
pub fn human_to_bytes(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "human_to_bytes";
    require_defined(value)?;
    let [default_unit, isbits] = bind_args(NAME, &args, &kwargs, ["default_unit", "isbits"])?;
    let isbits = isbits.is_some_and(|b| b.is_true());
    let default_unit = match default_unit.filter(|u| !u.is_none()) {
        None => None,
        Some(u) => Some(u.as_str().map(str::to_string).ok_or_else(|| {
            filter_error(
                NAME,
                format!(
                    "human_to_bytes() failed on bad input: '{}' object is not subscriptable",
                    py_type_name(&u)
                ),
            )
        })?),
    };
    let text = match value.kind() {
        ValueKind::Number if !value.is_integer() => {
            py_float_repr(f64::try_from(value.clone()).map_err(|e| filter_error(NAME, e))?)
        }
        _ => py_str(value),
    };
    parse_human(&text, default_unit.as_deref(), isbits)
        .map(|n| i64::try_from(n).map_or_else(|_| Value::from(n), Value::from))
        .map_err(|m| {
            filter_error(
                NAME,
                format!("human_to_bytes() can't interpret the input: {m}"),
            )
        })
}

/// `module_utils.common.text.formatters.human_to_bytes`.
fn parse_human(text: &str, default_unit: Option<&str>, isbits: bool) -> Result<i128, String> {
    let cant = || format!("human_to_bytes() can't interpret following string: {text}");
    // `^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$`, where `$` also matches
    // before a final line break.
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number = &text[..digits_end];
    let valid_number = {
        let (int, frac) = match number.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (number, None),
        };
        match frac {
            Some(f) => !f.is_empty() && !f.contains('.') && int.chars().all(|c| c.is_ascii_digit()),
            None => !int.is_empty(),
        }
    };
    if !valid_number {
        return Err(cant());
    }
    let rest = &text[digits_end..];
    let after_space = rest.trim_start();
    let letters_end = after_space
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(after_space.len());
    let letters = &after_space[..letters_end];
    if !after_space[letters_end..].trim().is_empty() {
        return Err(cant());
    }
    let num: f64 = number.parse().map_err(|_| cant())?;
    let unit = if letters.is_empty() {
        default_unit
    } else {
        Some(letters)
    };
    let Some(unit) = unit else {
        return round_half_even(num).ok_or_else(cant);
    };
    let Some(range_key) = unit.chars().next().map(|c| c.to_ascii_uppercase()) else {
        return Err(format!(
            "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        ));
    };
    let Some((_, power)) = SIZE_RANGES.iter().find(|(l, _)| *l == range_key) else {
        return Err(format!(
            "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        ));
    };
    if unit.chars().count() > 1 {
        let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
        let expect = if range_key == 'B' {
            format!("expect {class} or {class_name}")
        } else {
            format!("expect {range_key}{class} or {range_key}")
        };
        let word = match range_key {
            'B' => "",
            'K' => "kilo",
            'M' => "mega",
            'G' => "giga",
            'T' => "tera",
            'P' => "peta",
            'E' => "exa",
            'Z' => "zeta",
            _ => "yotta",
        };
        let full = format!("{word}{class_name}");
        let short = if range_key == 'B' {
            class.to_string()
        } else {
            format!("{range_key}{class}")
        };
        if unit.to_lowercase() != full && unit != short {
            return Err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"
            ));
        }
    }
    round_half_even(num * 1024f64.powi(*power as i32)).ok_or_else(cant)
}

/// Python's `int(round(x))` (ties to even), `None` past `i128`.
fn round_half_even(x: f64) -> Option<i128> {
    if !x.is_finite() || x.abs() >= 1.7e38 {
        return None;
    }
    let floor = x.floor();
    let diff = x - floor;
    let r = if diff > 0.5 || (diff == 0.5 && floor % 2.0 != 0.0) {
        floor + 1.0
    } else {
        floor
    };
    Some(r as i128)
}

/// Ansible's `rekey_on_member(data, key, duplicates='error')`: a dict of
/// the items (a list's, or a dict's values) keyed by their `key` member.
pub fn rekey_on_member(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "rekey_on_member";
    require_defined(value)?;
    let [key, duplicates] = bind_args(NAME, &args, &kwargs, ["key", "duplicates"])?;
    let key = key.ok_or_else(|| {
        filter_error(
            NAME,
            "rekey_on_member() missing 1 required positional argument: 'key'",
        )
    })?;
    let duplicates = duplicates.unwrap_or_else(|| Value::from("error"));
    let overwrite = match duplicates.as_str() {
        Some("error") => false,
        Some("overwrite") => true,
        _ => {
            return Err(filter_error(
                NAME,
                format!(
                    "duplicates parameter to rekey_on_member has unknown value {}",
                    py_repr(&duplicates)
                ),
            ))
        }
    };
    let items: Vec<Value> = match value.kind() {
        ValueKind::Map => value
            .try_iter()
            .map_err(|e| filter_error(NAME, e))?
            .map(|k| value.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()
            .map_err(|e| filter_error(NAME, e))?
            .collect(),
        _ => return Err(filter_error(NAME, "Type is not a valid list, set, or dict")),
    };
    let mut out: IndexMap<Value, Value> = IndexMap::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(filter_error(NAME, "List item is not a valid dict"));
        }
        let member = item.get_item(&key).unwrap_or(Value::UNDEFINED);
        if member.is_undefined() {
            return Err(filter_error(
                NAME,
                format!("Key {} was not found.", py_repr(&key)),
            ));
        }
        if matches!(member.kind(), ValueKind::Seq | ValueKind::Map) {
            return Err(filter_error(
                NAME,
                format!("unhashable type: '{}'", py_type_name(&member)),
            ));
        }
        match out.get_mut(&member) {
            Some(slot) if overwrite => *slot = item,
            Some(_) => {
                return Err(filter_error(
                    NAME,
                    format!(
                        "Key {} is not unique, cannot convert to dict.",
                        py_repr(&member)
                    ),
                ))
            }
            None => {
                out.insert(member, item);
            }
        }
    }
    Ok(Value::from_object(out))
}

/// Refuses a result of `count` tuples of `width` items when its shortest
/// printed form (`[x, y], `: three bytes an item, four a tuple) would pass
/// the bound on rendered values, before anything is built.
fn check_size(name: &str, count: u128, width: usize) -> Result<(), Error> {
    let approx = count.saturating_mul((width as u128).saturating_mul(3).saturating_add(4));
    if approx > crate::limits::max_render_size() as u128 {
        return Err(filter_error(
            name,
            crate::limits::too_large(&format!("the result ({count} tuples)")),
        ));
    }
    Ok(())
}

/// Ansible's `product(*iterables, repeat=1)` (`itertools.product`): every
/// combination of one item of each, as lists.
pub fn product(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "product";
    let repeat = kwargs.get::<Option<i64>>("repeat")?.unwrap_or(1);
    if let Some(unknown) = kwargs.args().find(|k| *k != "repeat") {
        return Err(filter_error(
            NAME,
            format!("'{unknown}' is an invalid keyword argument for product()"),
        ));
    }
    kwargs.assert_all_used()?;
    if repeat < 0 {
        return Err(filter_error(NAME, "repeat argument cannot be negative"));
    }
    let mut pools = vec![py_items(NAME, value)?];
    for o in others.iter() {
        pools.push(py_items(NAME, o)?);
    }
    let repeat = usize::try_from(repeat).unwrap_or(usize::MAX);
    let count = pools
        .iter()
        .fold(1u128, |acc, p| acc.saturating_mul(p.len() as u128))
        .checked_pow(u32::try_from(repeat).unwrap_or(u32::MAX))
        .unwrap_or(u128::MAX);
    let width = pools.len().saturating_mul(repeat);
    check_size(NAME, count, width)?;
    let pools: Vec<&Vec<Value>> = std::iter::repeat_n(&pools, repeat).flatten().collect();
    let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in pools {
        let mut next = Vec::with_capacity(acc.len().saturating_mul(pool.len()));
        for prefix in &acc {
            for item in pool {
                let mut t = prefix.clone();
                t.push(item.clone());
                next.push(t);
            }
        }
        acc = next;
    }
    Ok(Value::from(
        acc.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// `n` choose `r`, saturating.
fn choose(n: u128, r: u128) -> u128 {
    if r > n {
        return 0;
    }
    let r = r.min(n - r);
    let mut acc: u128 = 1;
    for i in 0..r {
        acc = match acc.checked_mul(n - i) {
            Some(v) => v / (i + 1),
            None => return u128::MAX,
        };
    }
    acc
}

/// The `r` argument of `combinations`/`permutations`.
fn r_arg(name: &str, r: &Value) -> Result<usize, Error> {
    if r.kind() != ValueKind::Number || !r.is_integer() {
        return Err(filter_error(
            name,
            format!(
                "'{}' object cannot be interpreted as an integer",
                py_type_name(r)
            ),
        ));
    }
    let r = i64::try_from(r.clone()).map_err(|e| filter_error(name, e))?;
    if r < 0 {
        return Err(filter_error(name, "r must be non-negative"));
    }
    Ok(usize::try_from(r).unwrap_or(usize::MAX))
}

/// Ansible's `combinations(iterable, r)` (`itertools.combinations`).
pub fn combinations(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "combinations";
    let [r] = bind_args(NAME, &args, &kwargs, ["r"])?;
    let r = r.ok_or_else(|| {
        filter_error(NAME, "combinations() missing required argument 'r' (pos 2)")
    })?;
    let pool = py_items(NAME, value)?;
    let r = r_arg(NAME, &r)?;
    let n = pool.len();
    check_size(NAME, choose(n as u128, r as u128), r)?;
    let mut out = Vec::new();
    if r > n {
        return Ok(Value::from(out));
    }
    let mut idx: Vec<usize> = (0..r).collect();
    loop {
        out.push(Value::from(
            idx.iter().map(|&i| pool[i].clone()).collect::<Vec<_>>(),
        ));
        let Some(i) = (0..r).rev().find(|&i| idx[i] != i + n - r) else {
            break;
        };
        idx[i] += 1;
        for j in i + 1..r {
            idx[j] = idx[j - 1] + 1;
        }
    }
    Ok(Value::from(out))
}

/// Ansible's `permutations(iterable, r=None)` (`itertools.permutations`).
pub fn permutations(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "permutations";
    let [r] = bind_args(NAME, &args, &kwargs, ["r"])?;
    let pool = py_items(NAME, value)?;
    let n = pool.len();
    let r = match r.filter(|r| !r.is_none()) {
        Some(r) => r_arg(NAME, &r)?,
        None => n,
    };
    let mut out = Vec::new();
    if r > n {
        return Ok(Value::from(out));
    }
    let count = (0..r as u128).fold(1u128, |acc, i| acc.saturating_mul(n as u128 - i));
    check_size(NAME, count, r)?;
    // CPython's algorithm: indices and cycles, in lexicographic order of
    // positions.
    let mut indices: Vec<usize> = (0..n).collect();
    let mut cycles: Vec<usize> = (n - r + 1..=n).rev().collect();
    let emit = |indices: &[usize]| {
        Value::from(
            indices[..r]
                .iter()
                .map(|&i| pool[i].clone())
                .collect::<Vec<_>>(),
        )
    };
    out.push(emit(&indices));
    'outer: loop {
        for i in (0..r).rev() {
            cycles[i] -= 1;
            if cycles[i] == 0 {
                let moved = indices.remove(i);
                indices.push(moved);
                cycles[i] = n - i;
            } else {
                let j = cycles[i];
                indices.swap(i, n - j);
                out.push(emit(&indices));
                continue 'outer;
            }
        }
        break;
    }
    Ok(Value::from(out))
}

/// Ansible's `zip_longest(*iterables, fillvalue=None)`
/// (`itertools.zip_longest`): tuples of the items at each position, the
/// shorter inputs padded with `fillvalue`.
pub fn zip_longest(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "zip_longest";
    let fill = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    if let Some(unknown) = kwargs.args().find(|k| *k != "fillvalue") {
        return Err(filter_error(
            NAME,
            format!("zip_longest() got an unexpected keyword argument (`{unknown}`)"),
        ));
    }
    kwargs.assert_all_used()?;
    let mut lists = vec![py_items(NAME, value)?];
    for o in others.iter() {
        lists.push(py_items(NAME, o)?);
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    check_size(NAME, longest as u128, lists.len())?;
    let out: Vec<Value> = (0..longest)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(choose(5, 2), 10);
        assert_eq!(choose(2, 5), 0);
        assert_eq!(choose(1000, 500), u128::MAX);
        assert_eq!(round_half_even(2.5), Some(2));
        assert_eq!(round_half_even(3.5), Some(4));
        assert_eq!(round_half_even(f64::INFINITY), None);
    }
}
