//! Naming the undefined variable.
//!
//! With strict undefined, minijinja fails with "undefined value", and only
//! sometimes says which expression was undefined. Users need the name
//! (`'pds_hostname' is undefined`, in Ansible's words), so on an undefined error we:
//!
//! 1. take the expression minijinja's debug info names (`` `pds.hostname` is
//!    undefined``), when present;
//! 2. otherwise list the template's undeclared variables (with nested
//!    attribute paths) and take the first, by position in the source,
//!    preferring the error's line, that does not resolve in the context.
//!
//! Either way the reported name is cut at the first component that does not
//! resolve: `pds` when `pds` itself is missing, `pds.hostname` when only the
//! attribute is.

use minijinja::Environment;

use crate::error::{TemplateError, TemplateErrorKind};

/// Names that are globals of the environment, never context variables.
pub const GLOBALS: &[&str] = &[
    "range",
    "now",
    "lookup",
    "query",
    "q",
    "dict",
    "namespace",
    "joiner",
    "cycler",
    "undef",
    "debug",
    "omit",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "self",
    "caller",
    "varargs",
    "kwargs",
];

/// Builds the user-facing error for a minijinja undefined error.
pub(crate) fn undefined_error(
    err: &minijinja::Error,
    source: &str,
    ctx: &serde_json::Value,
    line: Option<usize>,
) -> TemplateError {
    let detail = err.detail().unwrap_or_default();
    let name = name_from_detail(detail, ctx).or_else(|| first_unresolved(source, ctx, line));
    let line = line.or_else(|| name.as_deref().and_then(|n| line_of(source, n)));
    build(name, detail, line)
}

/// The error for an expression whose whole value is undefined (e.g. a `when:`
/// naming a variable that does not exist).
pub(crate) fn undefined_result(expr: &str, shown: &str, ctx: &serde_json::Value) -> TemplateError {
    let name = first_unresolved(expr, ctx, None);
    let line = name.as_deref().and_then(|n| line_of(shown, n));
    // What a filter found missing (`extract`'s `object of type 'dict' has
    // no attribute 'x'`), when no variable of the context is.
    let noted = crate::convert::take_missing().unwrap_or_default();
    build(name, &noted, line)
}

fn build(name: Option<String>, detail: &str, line: Option<usize>) -> TemplateError {
    let message = if detail.starts_with("mandatory variable") {
        match &name {
            Some(n) => format!("mandatory variable '{n}' not defined"),
            None => detail.to_string(),
        }
    } else {
        match &name {
            // An attribute a defined value lacks, also in Jinja2's words
            // (which roles match on): `'pds' has no attribute 'hostname'`.
            Some(n) => match n.rsplit_once('.') {
                Some((parent, attr)) => {
                    format!("undefined variable '{n}': '{parent}' has no attribute '{attr}'")
                }
                // Ansible's words, which `rescue:` blocks match on.
                None => format!("'{n}' is undefined"),
            },
            // No variable is missing: an attribute or item of a value is
            // (`groupby('port')` over an item without `port`).
            None if detail.is_empty() => {
                "undefined value: an attribute or item missing from a value".to_string()
            }
            // An undefined item inside the result (see `convert::from_value`).
            None if detail.starts_with("object of type") || detail.starts_with("the value at") => {
                detail.to_string()
            }
            None => format!("undefined variable: {detail}"),
        }
    };
    TemplateError {
        kind: TemplateErrorKind::Undefined,
        message,
        line,
        undefined: name,
        origin: None,
        help: None,
    }
}

/// Extracts the expression from minijinja's "`expr` is undefined" detail, and
/// cuts it at the first component that does not resolve.
fn name_from_detail(detail: &str, ctx: &serde_json::Value) -> Option<String> {
    let end = detail.find("` is undefined")?;
    let start = detail[..end].rfind('`')? + 1;
    let expr = &detail[start..end];
    let path = parse_path(expr)?;
    // minijinja names the undefined value itself (`pds` when `pds` is
    // missing, `pds.hostname` when only the attribute is). When the root is
    // not a context variable (a loop or `set` variable), report the expression
    // as written.
    let root_in_ctx = ctx.get(&path[0]).is_some();
    match unresolved_prefix(&path, ctx) {
        Some(prefix) if root_in_ctx => Some(prefix),
        _ => Some(path.join(".")),
    }
}

/// Splits `a.b["c"]` into `["a", "b", "c"]`; `None` for anything more complex.
fn parse_path(expr: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut rest = expr.trim();
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let end = ident_end(rest);
    if end == 0 {
        return None;
    }
    parts.push(rest[..end].to_string());
    rest = &rest[end..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = ident_end(r);
            if end == 0 {
                return None;
            }
            parts.push(r[..end].to_string());
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let key = r[..close].trim().trim_matches(|c| c == '"' || c == '\'');
            parts.push(key.to_string());
            rest = &r[close + 1..];
        } else {
            return None;
        }
    }
    Some(parts)
}

/// The dotted prefix of `path` up to and including the first component that
/// does not resolve in `ctx`; `None` when the whole path resolves or its root
/// is not a context variable at all.
fn unresolved_prefix(path: &[String], ctx: &serde_json::Value) -> Option<String> {
    let mut cur = ctx;
    for (i, part) in path.iter().enumerate() {
        let next = match cur {
            serde_json::Value::Object(map) => map.get(part),
            serde_json::Value::Array(items) => {
                part.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Some(path[..=i].join(".")),
        }
    }
    None
}

/// The first undeclared variable of `source` that does not resolve in `ctx`,
/// by position, preferring ones on `line`.
fn first_unresolved(source: &str, ctx: &serde_json::Value, line: Option<usize>) -> Option<String> {
    // `source` is a template or a bare expression; parsing a bare expression
    // as a template finds nothing and vice versa, so take both.
    let env = Environment::new();
    let mut names = env
        .template_from_str(source)
        .map(|t| t.undeclared_variables(true))
        .unwrap_or_default();
    if let Ok(e) = env.compile_expression(source) {
        names.extend(e.undeclared_variables(true));
    }
    let mut candidates: Vec<(bool, usize, String)> = names
        .into_iter()
        .filter_map(|n| {
            let path: Vec<String> = n.split('.').map(str::to_string).collect();
            if path.len() == 1 && GLOBALS.contains(&path[0].as_str()) {
                return None;
            }
            let missing = unresolved_prefix(&path, ctx)?;
            if only_guarded(source, &n) {
                return None;
            }
            let pos = position_of(source, &missing).unwrap_or(usize::MAX);
            let on_line = line.is_some_and(|l| line_at(source, pos) == Some(l));
            Some((!on_line, pos, missing))
        })
        .collect();
    candidates.sort();
    candidates.dedup_by(|a, b| a.2 == b.2);
    candidates.into_iter().next().map(|c| c.2)
}

/// The dotted `name` as a whole word of a template (`a.b` also as `a . b`),
/// with the one character before it that is no part of a name.
fn name_regex(name: &str) -> Option<regex::Regex> {
    let pattern = name
        .split('.')
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s*\.\s*");
    regex::Regex::new(&format!(r"(?:^|[^\w.]){pattern}\b")).ok()
}

/// Byte offset of the first occurrence of the dotted `name` as a whole word.
fn position_of(source: &str, name: &str) -> Option<usize> {
    name_regex(name)?.find(source).map(|m| {
        // Skip the one leading non-word character the pattern may have eaten.
        let s = m.as_str();
        m.start() + usize::from(!s.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
    })
}

/// Whether every use of the dotted `name` in `source` goes straight into
/// `default` or a definedness test (`w | default(1)`, `x.y is defined`):
/// such a name, however undefined, is never what failed a template.
pub fn only_guarded(source: &str, name: &str) -> bool {
    static GUARD: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(?:\s*\.\s*\w+)*\s*(?:\|\s*(?:ansible\.builtin\.)?(?:default|d)\b|is\s+(?:not\s+)?(?:defined|undefined)\b)",
        )
        .ok()
    });
    let (Some(use_re), Some(guard)) = (name_regex(name), GUARD.as_ref()) else {
        return false;
    };
    let mut uses = use_re.find_iter(source).peekable();
    uses.peek().is_some() && uses.all(|m| guard.is_match(&source[m.end()..]))
}

/// The 1-based line of byte offset `pos`.
fn line_at(source: &str, pos: usize) -> Option<usize> {
    source
        .get(..pos)
        .map(|before| before.bytes().filter(|b| *b == b'\n').count() + 1)
}

/// The 1-based line on which the dotted `name` first appears.
fn line_of(source: &str, name: &str) -> Option<usize> {
    position_of(source, name).and_then(|p| line_at(source, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path("a.b[\"c\"]"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(parse_path("a + b"), None);
    }

    #[test]
    fn cuts_at_first_missing_component() {
        let ctx = json!({"pds": {"port": 1}});
        let p = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            unresolved_prefix(&p("pds.hostname.x"), &ctx),
            Some("pds.hostname".into())
        );
        assert_eq!(unresolved_prefix(&p("nope.x"), &ctx), Some("nope".into()));
        assert_eq!(unresolved_prefix(&p("pds.port"), &ctx), None);
    }

    #[test]
    fn names_only_defaulted_or_tested_are_never_blamed() {
        let ctx = json!({"l": [{}]});
        let src =
            "{{ w | default(1) }}\n{% for g in l | groupby('port') %}{{ g.grouper }}{% endfor %}";
        assert_eq!(first_unresolved(src, &ctx, Some(2)), None);
        assert!(only_guarded(
            "{{ a.b is not defined or a.b | d(2) }}",
            "a.b"
        ));
        assert!(!only_guarded("{{ a | default(1) }} {{ a }}", "a"));
        assert!(!only_guarded("{{ a | upper }}", "a"));
        assert_eq!(
            first_unresolved("{{ a | default(1) }}{{ b }}", &json!({}), None),
            Some("b".into())
        );
    }

    #[test]
    fn finds_positions_and_lines() {
        let src = "a\n{{ xpds.h }}\n{{ pds . h }}";
        assert_eq!(line_of(src, "pds.h"), Some(3));
    }
}
