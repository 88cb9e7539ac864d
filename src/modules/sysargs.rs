//! Argument and fact helpers shared by the system modules (user, apt, ufw…).

use serde_json::Value as Json;

use super::{PlanCx, PlanError};

/// The first of `keys` (a name and its Ansible aliases) that is set.
pub fn str_alias(cx: &PlanCx, keys: &[&str]) -> Result<Option<String>, PlanError> {
    for k in keys {
        if let Some(v) = cx.str_arg(k)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A list argument as Ansible takes it: a YAML list, or one string of
/// comma-separated items (`groups: "sudo,docker"`). Items are trimmed and
/// empty ones dropped. `None` when the argument is not given.
// Kept for modules not yet on typed arguments (`typed::module_args!`),
// though none of those on this branch uses it any more.
#[allow(dead_code)]
pub fn list_arg(cx: &PlanCx, key: &str) -> Result<Option<Vec<String>>, PlanError> {
    let item = |v: &Json| -> Result<String, PlanError> {
        match v {
            Json::String(s) => Ok(s.trim().to_string()),
            Json::Number(n) => Ok(n.to_string()),
            other => Err(PlanError::Fail(format!(
                "`{key}` must be a list of strings, got {other}"
            ))),
        }
    };
    let items = match cx.args.get(key) {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Array(a)) => a.iter().map(item).collect::<Result<Vec<_>, _>>()?,
        Some(Json::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(other) => vec![item(other)?],
    };
    Ok(Some(items.into_iter().filter(|s| !s.is_empty()).collect()))
}

/// A string argument limited to `allowed` values, with a clear error.
pub fn choice(
    cx: &PlanCx,
    key: &str,
    allowed: &[&str],
    default: Option<&str>,
) -> Result<Option<String>, PlanError> {
    match cx.str_arg(key)? {
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => Err(PlanError::Fail(format!(
            "`{}`: `{key}` must be one of {}, got `{v}`",
            cx.module,
            allowed.join(", ")
        ))),
        None => Ok(default.map(str::to_string)),
    }
}

/// A non-negative integer argument (`uid: 1001`, `gid: "1001"`).
// Kept for modules not yet on typed arguments (`typed::module_args!`),
// though none of those on this branch uses it any more.
#[allow(dead_code)]
pub fn u64_arg(cx: &PlanCx, key: &str) -> Result<Option<u64>, PlanError> {
    match cx.str_arg(key)? {
        None => Ok(None),
        Some(s) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            PlanError::Fail(format!(
                "`{}`: `{key}` must be a non-negative integer, got `{s}`",
                cx.module
            ))
        }),
    }
}

/// Combines two fact reads so that one probe round asks for both: when either
/// is missing, the needs of both are returned together.
pub fn both<A, B>(a: Result<A, PlanError>, b: Result<B, PlanError>) -> Result<(A, B), PlanError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(PlanError::Need(mut x)), Err(PlanError::Need(y))) => {
            x.extend(y);
            Err(PlanError::Need(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Marker printed between the parts of one read snippet; split with [`sections`].
pub const SEP: &str = "@@rprov-part@@";

/// Splits a snippet's output at [`SEP`] lines into exactly `n` parts (missing
/// trailing parts are empty).
pub fn sections(out: &str, n: usize) -> Vec<String> {
    let mut parts: Vec<String> = vec![String::new()];
    for line in out.lines() {
        if line == SEP {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    parts.resize(n.max(parts.len()), String::new());
    parts.truncate(n);
    parts
}

/// The shell line printing [`SEP`].
pub fn sep_line() -> String {
    format!("echo '{SEP}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_and_pad() {
        let out = format!("a\nb\n{SEP}\nc\n");
        assert_eq!(sections(&out, 3), vec!["a\nb\n", "c\n", ""]);
        assert_eq!(sections("", 2), vec!["", ""]);
    }
}
