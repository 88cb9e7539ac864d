//! Ansible's Jinja tests (`x is ...`), added to minijinja's built-ins
//! (`defined`, `undefined`, `none`, `string`, `number`, `mapping`,
//! `iterable`, `sequence`, `boolean`, `in`, ... are minijinja's own).
//!
//! The task-result tests (`succeeded`, `failed`, `changed`, `skipped`) read a
//! registered result dict, as in Ansible: `failed` falls back to `rc != 0`
//! when the result has no `failed` key, because rprov's `command` results
//! always carry `rc`. `file`/`directory`/`exists`/`link`/`link_exists`/
//! `same_file`/`mount` (and their `is_` names) and `vaulted_file` look at
//! the controller's filesystem, where templates are rendered, as Python's
//! `os.path` functions do. `all`/`any` are Python's builtins.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use crate::filters::regex::{compile, run_error};
use crate::filters::{as_text, filter_error, py_items, py_repr, py_type_name, require_defined};

/// Adds the tests of this module.
pub fn register(env: &mut Environment<'static>) {
    // Jinja2's: anything with a length and items (a string, a mapping).
    env.add_test("sequence", |v: &Value| {
        matches!(
            v.kind(),
            ValueKind::String | ValueKind::Seq | ValueKind::Map
        )
    });
    // `omit` is not a string in ansible-core 2.19 (a marker of its own).
    env.add_test("string", |v: &Value| {
        v.kind() == ValueKind::String && v.as_str() != Some(crate::OMIT)
    });
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
    env.add_test("finished", |v: &Value| async_flag("finished", v));
    env.add_test("started", |v: &Value| async_flag("started", v));
    env.add_test("truthy", truthy);
    env.add_test("falsy", falsy);
    env.add_test("contains", contains);
    env.add_test("subset", subset);
    env.add_test("issubset", subset);
    env.add_test("superset", superset);
    env.add_test("issuperset", superset);
    env.add_test("nan", is_nan);
    env.add_test("isnan", is_nan);
    for name in ["file", "is_file"] {
        env.add_test(name, move |v: &Value| path_test(name, v, |m| m.is_file()));
    }
    for name in ["directory", "is_dir"] {
        env.add_test(name, move |v: &Value| path_test(name, v, |m| m.is_dir()));
    }
    env.add_test("exists", |v: &Value| path_test("exists", v, |_| true));
    for name in ["link", "is_link"] {
        env.add_test(name, move |v: &Value| {
            link_test(name, v, |m| m.file_type().is_symlink())
        });
    }
    env.add_test("link_exists", |v: &Value| {
        link_test("link_exists", v, |_| true)
    });
    for name in ["abs", "is_abs"] {
        env.add_test(name, move |v: &Value| {
            Ok(path_text(name, v)?.starts_with('/'))
        });
    }
    for name in ["same_file", "is_same_file"] {
        env.add_test(name, move |a: &Value, b: &Value| same_file(name, a, b));
    }
    for name in ["mount", "is_mount"] {
        env.add_test(name, move |v: &Value| is_mount(name, v));
    }
    env.add_test("all", |v: &Value| {
        Ok(test_items("all", v)?.iter().all(Value::is_true))
    });
    env.add_test("any", |v: &Value| {
        Ok(test_items("any", v)?.iter().any(Value::is_true))
    });
    env.add_test("vaulted_file", vaulted_file);
    register_vault_encrypted(env, std::collections::HashSet::new());
    env.add_test("is_mac", is_mac);
}

/// `value is is_mac`: ansible-core's `module_utils.common.network.is_mac`,
/// which playbooks' test plugins expose under that name (rprov runs no
/// Python plugins, so it has it built in): six pairs of hex digits, in any
/// case, all separated by `:` or all by `-`.
fn is_mac(value: &Value) -> Result<bool, Error> {
    require_defined(value)?;
    let Some(s) = value.as_str() else {
        return Err(Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!(
                "test 'is_mac': '{}' object has no attribute 'lower'",
                py_type_name(value)
            ),
        ));
    };
    // Python's `$` also matches before one final newline.
    let s = s.strip_suffix('\n').unwrap_or(s).as_bytes();
    let sep = s.get(2).copied();
    Ok(s.len() == 17
        && matches!(sep, Some(b':' | b'-'))
        && s.iter().enumerate().all(|(i, c)| match i % 3 {
            2 => Some(*c) == sep,
            _ => c.is_ascii_hexdigit(),
        }))
}

/// `value is vault_encrypted`. In ansible-core 2.19 only a `!vault` value
/// is (a plain string holding vault text is not). rprov decrypts `!vault`
/// values as it loads them, so a string is taken as one when it is one of
/// their plaintexts, `values`; an undefined value is an error, as in Ansible.
pub(crate) fn register_vault_encrypted(
    env: &mut Environment<'static>,
    values: std::collections::HashSet<String>,
) {
    env.add_test("vault_encrypted", move |value: &Value| {
        require_defined(value)?;
        Ok(value.as_str().is_some_and(|s| values.contains(s)))
    });
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

/// `x is version(other, operator='eq', strict=None, version_type=None)`
/// (alias `version_compare`), as ansible-core's `version_compare`: the
/// operators `==`/`=`/`eq`, `!=`/`<>`/`ne`, `<`/`lt`, `<=`/`le`, `>`/`gt`,
/// `>=`/`ge`; loose comparison unless `strict` or `version_type` (see
/// [`crate::version_types`]) says otherwise; its errors in its words.
pub fn version(
    value: &Value,
    other: &Value,
    operator: Option<String>,
    strict: Option<bool>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let fail = |msg: String| filter_error("version", msg);
    let a = as_text(value)?;
    let b = as_text(other)?;
    let operator = match operator {
        Some(o) => o,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let strict = match strict {
        Some(s) => Some(s),
        None => kwargs.get::<Option<bool>>("strict")?,
    };
    let version_type: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    if strict.is_some() && version_type.is_some() {
        return Err(fail(
            "Cannot specify both 'strict' and 'version_type'".into(),
        ));
    }
    if a.is_empty() {
        return Err(fail("Input version value cannot be empty".into()));
    }
    if b.is_empty() {
        return Err(fail(
            "Version parameter to compare against cannot be empty".into(),
        ));
    }
    let scheme = match (strict, version_type.as_deref()) {
        (Some(true), _) => "strict",
        (_, Some(t)) if crate::version_types::TYPES.contains(&t) => t,
        (_, Some(t)) => {
            let known: Vec<String> = crate::version_types::TYPES
                .iter()
                .map(|t| format!("'{t}'"))
                .collect();
            return Err(fail(format!(
                "Invalid version type ({t}). Must be one of {}",
                known.join(", ")
            )));
        }
        _ => "loose",
    };
    const OPERATORS: &[&str] = &[
        "==", "=", "eq", "<", "lt", "<=", "le", ">", "gt", ">=", "ge", "!=", "<>", "ne",
    ];
    if !OPERATORS.contains(&operator.as_str()) {
        let known: Vec<String> = OPERATORS.iter().map(|o| format!("'{o}'")).collect();
        return Err(fail(format!(
            "Invalid operator type ({operator}). Must be one of {}",
            known.join(", ")
        )));
    }
    let ord = crate::version_types::compare(scheme, &a, &b)
        .map_err(|e| fail(format!("Version comparison failed: {e}")))?;
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
/// Without a `changed` key, a loop's result (a `results` list of
/// dictionaries) is changed when one of its items is, as ansible-core's test.
pub fn changed(value: &Value) -> Result<bool, Error> {
    if let Some(c) = result_flag("changed", value, "changed")? {
        return Ok(c);
    }
    let results = value.get_attr("results").unwrap_or(Value::UNDEFINED);
    if results.kind() != ValueKind::Seq
        || !results
            .get_item(&Value::from(0))
            .is_ok_and(|v| v.kind() == ValueKind::Map)
    {
        return Ok(false);
    }
    Ok(results
        .try_iter()
        .is_ok_and(|mut items| items.any(|r| r.get_attr("changed").is_ok_and(|c| c.is_true()))))
}

/// `result is finished` / `is started`: the async job's flag; a result
/// without it (a task that was not async) counts as finished and started,
/// as in ansible-core (which also warns).
pub fn async_flag(name: &str, value: &Value) -> Result<bool, Error> {
    Ok(result_flag(name, value, name)?.unwrap_or(true))
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
    // ansible-core's strict `boolean()`: a value it does not know as a
    // boolean keeps its own truthiness (`"fred"` is truthy).
    if convert {
        let known = match value.kind() {
            ValueKind::String => value.as_str().map(str::to_lowercase),
            ValueKind::Number => Some(value.to_string()),
            _ => None,
        };
        match known.as_deref() {
            Some("y" | "yes" | "on" | "1" | "1.0" | "true" | "t") => return Ok(true),
            Some("n" | "no" | "off" | "0" | "0.0" | "false" | "f") => return Ok(false),
            _ => {}
        }
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

/// The error of test `name`, as ansible-core words a failing test plugin.
fn test_error(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        minijinja::ErrorKind::InvalidOperation,
        format!("test '{name}': {msg}"),
    )
}

/// The items Python's `all()`/`any()` go through (a string's characters,
/// a mapping's keys); anything else is Python's `TypeError`.
fn test_items(name: &str, value: &Value) -> Result<Vec<Value>, Error> {
    require_defined(value)?;
    py_items(name, value).map_err(|_| {
        test_error(
            name,
            format!("'{}' object is not iterable", py_type_name(value)),
        )
    })
}

/// The controller path a filesystem test looks at: `Ok(None)` for an
/// integer (Python would take it for a file descriptor of its own process,
/// which means nothing in a template: the answer is false), an error for
/// anything else that is not text, as Python's `os.stat`.
fn stat_path(name: &str, value: &Value) -> Result<Option<String>, Error> {
    require_defined(value)?;
    match value.kind() {
        ValueKind::String => Ok(value.as_str().map(str::to_string)),
        ValueKind::Bool => Ok(None),
        ValueKind::Number if value.is_integer() => Ok(None),
        _ => Err(test_error(
            name,
            format!(
                "stat: path should be string, bytes, os.PathLike or integer, not {}",
                py_type_name(value)
            ),
        )),
    }
}

/// Applies `check` to the metadata of the controller path `value`,
/// symbolic links followed (`os.path.isfile`, `isdir`, `exists`).
fn path_test(
    name: &str,
    value: &Value,
    check: impl Fn(&std::fs::Metadata) -> bool,
) -> Result<bool, Error> {
    let Some(p) = stat_path(name, value)? else {
        return Ok(false);
    };
    Ok(std::fs::metadata(p).is_ok_and(|m| check(&m)))
}

/// Applies `check` to the metadata of the controller path `value` itself,
/// a symbolic link not followed (`os.path.islink`, `lexists`).
fn link_test(
    name: &str,
    value: &Value,
    check: impl Fn(&std::fs::Metadata) -> bool,
) -> Result<bool, Error> {
    let Some(p) = stat_path(name, value)? else {
        return Ok(false);
    };
    Ok(std::fs::symlink_metadata(p).is_ok_and(|m| check(&m)))
}

/// A path as `os.path.isabs` takes it: text only.
fn path_text(name: &str, value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    value.as_str().map(str::to_string).ok_or_else(|| {
        test_error(
            name,
            format!(
                "expected str, bytes or os.PathLike object, not {}",
                py_type_name(value)
            ),
        )
    })
}

/// An OS error in Python's words: `[Errno 2] No such file or directory`.
fn os_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => {
            let suffix = format!(" (os error {code})");
            format!(
                "[Errno {code}] {}",
                text.strip_suffix(&suffix).unwrap_or(&text)
            )
        }
        None => text,
    }
}

/// `a is same_file(b)` (`os.path.samefile`): both controller paths, links
/// followed, are the same file; a path that does not exist is Python's
/// error.
fn same_file(name: &str, a: &Value, b: &Value) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let stat = |v: &Value| -> Result<Option<std::fs::Metadata>, Error> {
        let Some(p) = stat_path(name, v)? else {
            return Ok(None);
        };
        std::fs::metadata(&p).map(Some).map_err(|e| {
            test_error(
                name,
                format!("{}: {}", os_error(&e), py_repr(&Value::from(p.as_str()))),
            )
        })
    };
    let (Some(x), Some(y)) = (stat(a)?, stat(b)?) else {
        return Ok(false);
    };
    Ok(x.dev() == y.dev() && x.ino() == y.ino())
}

/// `path is mount` (`os.path.ismount`): the controller path is a mount
/// point: not a link, and on another device than its parent or the same
/// inode (the root).
fn is_mount(name: &str, value: &Value) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let Some(p) = stat_path(name, value)? else {
        return Ok(false);
    };
    let Ok(own) = std::fs::symlink_metadata(&p) else {
        return Ok(false);
    };
    if own.file_type().is_symlink() {
        return Ok(false);
    }
    let parent = crate::filters::path::realpath_str(&crate::filters::path::join(&p, ".."));
    let Ok(up) = std::fs::symlink_metadata(parent) else {
        return Ok(false);
    };
    Ok(own.dev() != up.dev() || own.ino() == up.ino())
}

/// `path is vaulted_file`: the controller file starts with the
/// ansible-vault header. A file that cannot be read is ansible-core's
/// error.
fn vaulted_file(value: &Value) -> Result<bool, Error> {
    use std::io::Read;
    const NAME: &str = "vaulted_file";
    let p = as_text(value)?;
    let fail = |e: std::io::Error| {
        test_error(
            NAME,
            format!(
                "Cannot test if the file {} is a vault: {}: b{}",
                py_repr(value),
                os_error(&e),
                py_repr(&Value::from(p.as_str()))
            ),
        )
    };
    let mut head = Vec::new();
    std::fs::File::open(&p)
        .map_err(fail)?
        .take(b"$ANSIBLE_VAULT".len() as u64)
        .read_to_end(&mut head)
        .map_err(fail)?;
    Ok(head.is_ascii() && head.starts_with(b"$ANSIBLE_VAULT"))
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

    #[test]
    fn truthy_converts_only_the_values_ansible_knows_as_booleans() {
        let kw = || Kwargs::from_iter([("convert_bool", Value::from(true))]);
        assert_eq!(truthy(&Value::from("off"), kw()).ok(), Some(false));
        assert_eq!(truthy(&Value::from("On"), kw()).ok(), Some(true));
        assert_eq!(truthy(&Value::from("fred"), kw()).ok(), Some(true));
        assert_eq!(truthy(&Value::from(0), kw()).ok(), Some(false));
        assert_eq!(truthy(&Value::from(""), kw()).ok(), Some(false));
    }

    #[test]
    fn finished_and_started_read_the_async_flags() {
        let v = |j: serde_json::Value| crate::convert::to_value(&j);
        let running = v(serde_json::json!({"started": 1, "finished": 0}));
        let plain = v(serde_json::json!({"changed": false}));
        assert_eq!(async_flag("finished", &running).ok(), Some(false));
        assert_eq!(async_flag("started", &running).ok(), Some(true));
        assert_eq!(async_flag("finished", &plain).ok(), Some(true));
        assert!(async_flag("started", &v(serde_json::json!("nope"))).is_err());
    }

    #[test]
    fn a_loop_result_is_changed_when_an_item_is() {
        let v = |j: serde_json::Value| crate::convert::to_value(&j);
        let all = v(serde_json::json!({"results": [{"changed": true}, {"changed": true}]}));
        let some = v(serde_json::json!({"results": [{"changed": true}, {"changed": false}]}));
        let none = v(serde_json::json!({"results": [{"changed": false}, {}]}));
        let own = v(serde_json::json!({"changed": false, "results": [{"changed": true}]}));
        assert_eq!(changed(&all).ok(), Some(true));
        assert_eq!(changed(&some).ok(), Some(true));
        assert_eq!(changed(&none).ok(), Some(false));
        assert_eq!(changed(&own).ok(), Some(false));
        assert_eq!(changed(&v(serde_json::json!({}))).ok(), Some(false));
        assert!(changed(&v(serde_json::json!("nope"))).is_err());
    }
}
