//! Ansible's Jinja tests (`x is ...`), added to minijinja's built-ins
//! (`defined`, `undefined`, `none`, `string`, `number`, `mapping`,
//! `iterable`, `sequence`, `boolean`, `in`, ... are minijinja's own).
//!
//! The task-result tests (`succeeded`, `failed`, `changed`, `skipped`) read a
//! registered result dict, as in Ansible: `failed` falls back to `rc != 0`
//! when the result has no `failed` key, because rprov's `command` results
//! always carry `rc`. `file`/`directory`/`exists`/`link` look at the
//! controller's filesystem, where templates are rendered.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use crate::filters::regex::{compile, run_error};
use crate::filters::{as_text, filter_error, require_defined};

/// Adds the tests of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_test("match", is_match);
    env.add_test("search", is_search);
    env.add_test("regex", is_regex);
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("succeeded", succeeded);
    env.add_test("success", succeeded);
    env.add_test("successful", succeeded);
    env.add_test("unreachable", unreachable);
    env.add_test("reachable", |v: &Value| unreachable(v).map(|u| !u));
    env.add_test("failed", failed);
    env.add_test("failure", failed);
    env.add_test("timedout", timedout);
    env.add_test("changed", changed);
    env.add_test("change", changed);
    env.add_test("skipped", skipped);
    env.add_test("skip", skipped);
    env.add_test("truthy", truthy);
    env.add_test("falsy", falsy);
    env.add_test("contains", contains);
    env.add_test("subset", subset);
    env.add_test("issubset", subset);
    env.add_test("superset", superset);
    env.add_test("issuperset", superset);
    env.add_test("nan", is_nan);
    env.add_test("isnan", is_nan);
    env.add_test("file", |v: &Value| path_test(v, |m| m.is_file()));
    env.add_test("directory", |v: &Value| path_test(v, |m| m.is_dir()));
    env.add_test("exists", |v: &Value| path_test(v, |_| true));
    env.add_test("link", |v: &Value| {
        let p = as_text(v)?;
        Ok(std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()))
    });
    env.add_test("abs", |v: &Value| Ok(as_text(v)?.starts_with('/')));
}

/// `x is nan`: a float that is not a number (anything else is not NaN, as
/// ansible-core's test, which answers False for what `math.isnan` refuses).
fn is_nan(v: &Value) -> bool {
    v.kind() == ValueKind::Number && f64::try_from(v.clone()).is_ok_and(f64::is_nan)
}

/// Shared body of `match`, `search` and `regex`.
fn regex_test(
    value: &Value,
    pattern: &str,
    kwargs: &Kwargs,
    anchored: bool,
) -> Result<bool, Error> {
    let text = as_text(value)?;
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let pattern = if anchored {
        format!(r"\A(?:{pattern})")
    } else {
        pattern.to_string()
    };
    compile("match", &pattern, ignorecase, multiline)?
        .is_match(text.as_str())
        .map_err(|e| run_error("match", e))
}

/// `x is match(pattern)`: the pattern matches at the start (Python `re.match`).
pub fn is_match(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let rv = regex_test(value, &pattern, &kwargs, true)?;
    kwargs.assert_all_used()?;
    Ok(rv)
}

/// `x is search(pattern)`: the pattern matches anywhere.
pub fn is_search(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let rv = regex_test(value, &pattern, &kwargs, false)?;
    kwargs.assert_all_used()?;
    Ok(rv)
}

/// `x is regex(pattern, match_type='search')`.
pub fn is_regex(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    let rv = regex_test(value, &pattern, &kwargs, match_type == "match")?;
    kwargs.assert_all_used()?;
    Ok(rv)
}

/// A version component: numbers compare numerically, words alphabetically,
/// and a number sorts before a word (LooseVersion would raise instead).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Num(u64),
    Word(String),
}

/// Splits a version like LooseVersion: runs of digits and runs of letters,
/// separators dropped.
fn version_parts(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, parts: &mut Vec<Part>| {
        if cur.is_empty() {
            return;
        }
        parts.push(match cur.parse::<u64>() {
            Ok(n) => Part::Num(n),
            Err(_) => Part::Word(cur.to_lowercase()),
        });
        cur.clear();
    };
    for c in v.trim().chars() {
        let same_kind = cur
            .chars()
            .next()
            .is_none_or(|p| p.is_ascii_digit() == c.is_ascii_digit());
        if !c.is_alphanumeric() {
            flush(&mut cur, &mut parts);
        } else {
            if !same_kind {
                flush(&mut cur, &mut parts);
            }
            cur.push(c);
        }
    }
    flush(&mut cur, &mut parts);
    parts
}

/// Compares two versions loosely.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    version_parts(a).cmp(&version_parts(b))
}

/// `x is version(other, operator='eq')` (alias `version_compare`), with the
/// operators `==`/`=`/`eq`, `!=`/`<>`/`ne`, `<`/`lt`, `<=`/`le`, `>`/`gt`,
/// `>=`/`ge`. Comparison is loose (LooseVersion-like) whatever `strict` or
/// `version_type` say.
pub fn version(
    value: &Value,
    other: &Value,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let a = as_text(value)?;
    let b = as_text(other)?;
    let operator = match operator {
        Some(o) => o,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let _: Option<bool> = kwargs.get("strict")?;
    let _: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let ord = compare_versions(&a, &b);
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => {
            return Err(filter_error(
                "version",
                format!(
                "invalid operator '{other}' (use ==, !=, <, <=, >, >= or eq, ne, lt, le, gt, ge)"
            ),
            ))
        }
    })
}

/// Reads `key` of a registered result, failing clearly on a non-dict.
fn result_flag(name: &str, value: &Value, key: &str) -> Result<Option<bool>, Error> {
    require_defined(value)?;
    if value.kind() != ValueKind::Map {
        return Err(filter_error(
            name,
            format!("the '{name}' test expects a registered task result (a dictionary)"),
        ));
    }
    let v = value.get_attr(key).unwrap_or(Value::UNDEFINED);
    Ok((!v.is_undefined()).then(|| v.is_true()))
}

/// `result is failed`: its `failed` key, else `rc != 0`.
pub fn failed(value: &Value) -> Result<bool, Error> {
    if let Some(f) = result_flag("failed", value, "failed")? {
        return Ok(f);
    }
    let rc = value.get_attr("rc").unwrap_or(Value::UNDEFINED);
    Ok(!rc.is_undefined() && !rc.is_none() && rc.as_i64() != Some(0))
}

/// `result is timedout`: its `timedout` holds a `period`, as a task stopped
/// by its `timeout` keyword reports.
pub fn timedout(value: &Value) -> Result<bool, Error> {
    if result_flag("timedout", value, "timedout")? != Some(true) {
        return Ok(false);
    }
    let timedout = value.get_attr("timedout")?;
    Ok(timedout.get_attr("period").is_ok_and(|p| p.is_true()))
}

/// `result is succeeded`: not failed.
pub fn succeeded(value: &Value) -> Result<bool, Error> {
    failed(value).map(|f| !f)
}

/// `result is unreachable`: its `unreachable` key.
pub fn unreachable(value: &Value) -> Result<bool, Error> {
    Ok(result_flag("unreachable", value, "unreachable")?.unwrap_or(false))
}

/// `result is changed`.
pub fn changed(value: &Value) -> Result<bool, Error> {
    Ok(result_flag("changed", value, "changed")?.unwrap_or(false))
}

/// `result is skipped`.
pub fn skipped(value: &Value) -> Result<bool, Error> {
    Ok(result_flag("skipped", value, "skipped")?.unwrap_or(false))
}

/// Python truthiness, or with `convert_bool=true` the `bool` filter's.
pub fn truthy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    require_defined(value)?;
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if convert && matches!(value.kind(), ValueKind::String | ValueKind::Number) {
        return crate::filters::data::bool_filter(value);
    }
    Ok(value.is_true())
}

/// The opposite of [`truthy`].
pub fn falsy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    truthy(value, kwargs).map(|t| !t)
}

/// `seq is contains(x)`.
pub fn contains(seq: &Value, item: &Value) -> Result<bool, Error> {
    require_defined(seq)?;
    match seq.kind() {
        ValueKind::String => Ok(seq.as_str().unwrap_or_default().contains(&as_text(item)?)),
        _ => Ok(seq.try_iter()?.any(|v| &v == item)),
    }
}

/// `a is subset(b)`: every item of `a` is in `b`.
pub fn subset(a: &Value, b: &Value) -> Result<bool, Error> {
    require_defined(a)?;
    require_defined(b)?;
    let b_items: Vec<Value> = b.try_iter()?.collect();
    Ok(a.try_iter()?.all(|v| b_items.contains(&v)))
}

/// `a is superset(b)`: every item of `b` is in `a`.
pub fn superset(a: &Value, b: &Value) -> Result<bool, Error> {
    subset(b, a)
}

/// Applies `check` to the metadata of the controller path `value`.
fn path_test(value: &Value, check: impl Fn(&std::fs::Metadata) -> bool) -> Result<bool, Error> {
    let p = as_text(value)?;
    Ok(std::fs::metadata(p).is_ok_and(|m| check(&m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_versions() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2.19.0", "2.19"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.2a", "1.2b"), Ordering::Less);
    }
}
