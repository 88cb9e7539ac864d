//! ansible-core 2.19's trust rule for expressions, as far as rprov can keep
//! it without tagging every string with where it came from.
//!
//! ansible-core evaluates a string as an expression (a conditional, a
//! `debug` `var`) only when it is *trusted*: written in a playbook, a role,
//! a vars file or the inventory. Text made by rendering a template, module
//! results, facts, lookups and `!unsafe` values are not, and evaluating one
//! fails with "Encountered untrusted template or expression." (its
//! `TemplateTrustCheckFailedError`), so a registered `stdout` can never run
//! a lookup by being used as a condition.
//!
//! rprov's strings carry no such tag, so the rule is kept where it decides
//! something: a conditional that is entirely a template (`"{{ x }}"`) and
//! renders to text. ansible-core evaluates that text in turn (the
//! "indirection of trusted expressions" it allows); the text is trusted only
//! when the template did nothing but fetch a variable (`{{ name }}`,
//! `{{ name.key }}`, `{{ name['key'][0] }}`), whose value keeps its trust,
//! and the variable itself is trusted, which the caller decides from where
//! it was set (see [`Conditional::Indirect`]). Anything a template computed
//! (a literal, a concatenation, a filter) is new text, never trusted.

use crate::{single_expression, TemplateError, TemplateErrorKind, Templater};

/// ansible-core's words for an expression it does not trust
/// (`TemplateTrustCheckFailedError`'s message).
pub const UNTRUSTED: &str = "Encountered untrusted template or expression.";

/// The filter rprov's templates of `!unsafe` text pass the text through
/// (see [`unsafe_literal`]): it gives the text as it is, and says when it
/// holds a template, as ansible-core's `_ANSIBLE_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR`
/// asks (see [`UntrustedTemplates`]).
pub const UNTRUSTED_FILTER: &str = "__rprov_untrusted";

/// A template whose value is `text`, never rendered itself: how rprov keeps
/// `!unsafe` text (and ansible-core's JSON form of it), which means the same
/// with or without Ansible's backslash rule for `{{ }}`.
pub fn unsafe_literal(text: &str) -> String {
    format!(
        "{{{{ ({}) | {UNTRUSTED_FILTER} }}}}",
        verbatim_literal(text)
    )
}

/// What to do on meeting `!unsafe` text that holds a template: ansible-core
/// 2.19's private setting `_ANSIBLE_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR`
/// (`ignore`, its default; `warning`; `error`). The text is never rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UntrustedTemplates {
    #[default]
    /// Say nothing.
    Ignore,
    /// Warn (once per run).
    Warn,
    /// Fail the template.
    Fail,
}

impl UntrustedTemplates {
    /// The setting's value by ansible-core's names; `None` for another.
    pub fn parse(word: &str) -> Option<Self> {
        match word.trim() {
            "ignore" => Some(UntrustedTemplates::Ignore),
            "warning" => Some(UntrustedTemplates::Warn),
            "error" => Some(UntrustedTemplates::Fail),
            _ => None,
        }
    }
}

/// Registers [`UNTRUSTED_FILTER`], doing `what` on untrusted templates and
/// warning through `warn`.
pub(crate) fn register_untrusted(
    env: &mut minijinja::Environment<'static>,
    what: UntrustedTemplates,
    warn: std::sync::Arc<dyn Fn(&str) + Send + Sync>,
) {
    env.add_filter(
        UNTRUSTED_FILTER,
        move |text: String| -> Result<String, minijinja::Error> {
            match what {
                UntrustedTemplates::Warn if crate::is_template(&text) => warn(UNTRUSTED),
                UntrustedTemplates::Fail if crate::is_template(&text) => {
                    return Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        UNTRUSTED,
                    ))
                }
                _ => {}
            }
            Ok(text)
        },
    );
}

/// The error evaluating untrusted text gives, with ansible-core's message.
pub fn untrusted_error() -> TemplateError {
    TemplateError::new(TemplateErrorKind::Untrusted, UNTRUSTED)
}

/// What a conditional comes to before its truth is taken, as ansible-core's
/// `_normalize_and_evaluate_conditional` makes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditional {
    /// The value of the expression (or of the template, when the
    /// conditional was entirely one and rendered to something else than
    /// text).
    Value(serde_json::Value),
    /// The conditional was entirely a template and rendered to this text,
    /// which is an expression to evaluate in its turn if it is trusted.
    /// `via` is the variable the text was fetched from when the template did
    /// nothing else: the text is trusted exactly when that variable's value
    /// is. `None`: the template made the text, which is never trusted.
    Indirect {
        /// The rendered text.
        text: String,
        /// The variable (its first name) the text is the value of.
        via: Option<String>,
    },
}

/// Whether `s` looks like nothing but a template: it starts with `{{`, `{%`
/// or `{#` and ends with `}}`, `%}` or `#}` (ansible-core's
/// `is_possibly_all_template`, which also takes a `#jinja2:` first line).
pub fn is_all_template(s: &str) -> bool {
    s.starts_with("#jinja2:")
        || (["{{", "{%", "{#"].iter().any(|m| s.starts_with(m))
            && ["}}", "%}", "#}"].iter().any(|m| s.ends_with(m)))
}

/// The first name of `expr` when it is nothing but a variable reference:
/// names joined by dots and subscripts that are whole numbers or quoted
/// strings (`a`, `a.b`, `a['b'][0]`), as ansible-core's
/// `resolve_variable_expression` accepts. `None` for anything else
/// (a literal, an operator, a filter, a call).
pub fn variable_reference(expr: &str) -> Option<&str> {
    let s = expr.trim();
    let name_len = |t: &str| {
        let mut chars = t.char_indices();
        match chars.next() {
            Some((_, c)) if c == '_' || c.is_ascii_alphabetic() => {}
            _ => return 0,
        }
        chars
            .find(|(_, c)| !(*c == '_' || c.is_ascii_alphanumeric()))
            .map_or(t.len(), |(i, _)| i)
    };
    let root_len = name_len(s);
    if root_len == 0 {
        return None;
    }
    let root = &s[..root_len];
    if matches!(
        root,
        "true" | "false" | "True" | "False" | "none" | "None" | "not"
    ) {
        return None;
    }
    let mut rest = &s[root_len..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let n = name_len(after);
            if n == 0 {
                return None;
            }
            rest = &after[n..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']')?;
            let key = after[..close].trim();
            let quoted = [('\'', '\''), ('"', '"')].iter().any(|(a, b)| {
                key.len() >= 2
                    && key.starts_with(*a)
                    && key.ends_with(*b)
                    && !key[1..key.len() - 1].contains(*a)
            });
            if !quoted && (key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            rest = &after[close + 1..];
        } else {
            return None;
        }
    }
    Some(root)
}

/// The string constants of expression `expr` that hold template syntax
/// (`"{{ x }}" == "a"`), as `(start, end, text)`: the byte range of the
/// literal, quotes included, and its text unescaped. ansible-core 2.19 still
/// renders such constants in a conditional (with a warning that 2.23 will
/// stop), so `"{{'hi'}}" == "hi"` holds.
fn embedded_constants(expr: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut chars = expr.char_indices();
    while let Some((start, c)) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut end = None;
        while let Some((i, d)) = chars.next() {
            match d {
                '\\' if chars.next().is_none() => break,
                '\\' => {}
                q if q == c => {
                    end = Some(i + q.len_utf8());
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let text = literal_text(&expr[start..end]);
        if crate::is_template(&text) {
            out.push((start, end, text));
        }
    }
    out
}

/// The text of a Jinja string literal (`'a\'b'`, quotes included), its
/// escapes undone.
pub(crate) fn literal_text(literal: &str) -> String {
    let body = literal
        .get(1..literal.len().saturating_sub(1))
        .unwrap_or_default();
    let mut text = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(d) = chars.next() {
        if d != '\\' {
            text.push(d);
            continue;
        }
        match chars.next() {
            Some('n') => text.push('\n'),
            Some('t') => text.push('\t'),
            Some('r') => text.push('\r'),
            Some(e) if e == '\\' || e == '\'' || e == '"' => text.push(e),
            Some(e) => {
                text.push('\\');
                text.push(e);
            }
            None => text.push('\\'),
        }
    }
    text
}

/// The texts of the string constants of `expr` that a conditional renders
/// as templates (see [`Templater::eval_conditional_expression`]), so the
/// caller can give their variables to the context.
pub fn embedded_templates(expr: &str) -> Vec<String> {
    embedded_constants(expr)
        .into_iter()
        .map(|(_, _, text)| text)
        .collect()
}

/// The texts of the lookup arguments a template renders before its lookups
/// run (see [`Templater::render_str`]), so the caller can give their
/// variables to the context.
pub fn lookup_arg_texts(source: &str) -> Vec<String> {
    crate::chain::lookup_arg_templates(source)
        .into_iter()
        .map(|(_, _, text)| text)
        .collect()
}

/// `text` as a Jinja string literal, quoted and escaped.
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A Jinja expression without a backslash whose value is `text`: string
/// constants, joined with `~` where `text` holds both quotes, and
/// [`crate::env::BACKSLASH`] for each backslash. Unlike a constant with
/// escapes, it means the same whether or not ansible-core's backslash rule
/// for `{{ }}` applies to it, so rprov writes its own templates of fixed
/// text (`!unsafe` values) with it.
pub fn verbatim_literal(text: &str) -> String {
    if text.is_empty() {
        return "\"\"".to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    for (i, run) in text.split('\\').enumerate() {
        if i > 0 {
            parts.push(crate::env::BACKSLASH.to_string());
        }
        let mut rest = run;
        while !rest.is_empty() {
            // As much as one kind of quote can hold: up to the later of
            // the first `"` and the first `'`, quoted with the other.
            let (quote, end) = match (rest.find('"'), rest.find('\'')) {
                (None, _) => ('"', rest.len()),
                (Some(_), None) => ('\'', rest.len()),
                (Some(d), Some(s)) if d > s => ('"', d),
                (Some(_), Some(s)) => ('\'', s),
            };
            parts.push(format!("{quote}{}{quote}", &rest[..end]));
            rest = &rest[end..];
        }
    }
    parts.join(" ~ ")
}

/// `v` as a Jinja literal: text quoted and escaped, other values in the
/// JSON spelling minijinja reads (`none` for null).
pub(crate) fn jinja_literal(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => string_literal(s),
        serde_json::Value::Null => "none".to_string(),
        other => other.to_string(),
    }
}

/// The variable a template only fetches: its first name when `template`
/// is exactly one `{{ reference }}` (see [`variable_reference`]). Such a
/// template's value is the variable's own, trust and all, in ansible-core;
/// any other template makes new text.
pub fn fetched_variable(template: &str) -> Option<&str> {
    single_expression(template.trim()).and_then(variable_reference)
}

impl Templater {
    /// Evaluates a conditional's expression as ansible-core 2.19 does: its
    /// string constants that hold template syntax are rendered first
    /// (`"{{'hi'}}" == "hi"` holds). `ctx` must hold their variables too
    /// (see [`embedded_templates`]).
    pub fn eval_conditional_expression(
        &self,
        expr: &str,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        let constants = embedded_constants(expr);
        if constants.is_empty() {
            return self.eval_expr(expr, ctx);
        }
        let mut rewritten = String::with_capacity(expr.len());
        let mut at = 0;
        for (start, end, text) in constants {
            rewritten.push_str(&expr[at..start]);
            rewritten.push_str(&jinja_literal(&self.render_source(&text, ctx)?));
            at = end;
        }
        rewritten.push_str(&expr[at..]);
        self.eval_expr(&rewritten, ctx)
    }

    /// A conditional (`when`, `that`, `until`, …) as ansible-core 2.19
    /// normalizes it: an expression is evaluated; a conditional that is
    /// entirely a template is rendered, and text it renders to is returned
    /// as [`Conditional::Indirect`] for the caller to check and evaluate.
    /// `ctx` must hold the names the template or expression uses.
    pub fn conditional(
        &self,
        expr: &str,
        ctx: &serde_json::Value,
    ) -> Result<Conditional, TemplateError> {
        let trimmed = expr.trim();
        if !is_all_template(trimmed) {
            return self
                .eval_conditional_expression(trimmed, ctx)
                .map(Conditional::Value);
        }
        match self.render_str(trimmed, ctx)? {
            serde_json::Value::String(text) => Ok(Conditional::Indirect {
                text,
                via: fetched_variable(trimmed).map(str::to_string),
            }),
            other => Ok(Conditional::Value(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verbatim_literals_mean_their_text_with_or_without_the_backslash_rule() {
        let t = Templater::new();
        for text in [
            "",
            "plain",
            "{{ x }}",
            "a\\nb \\1 \\",
            "\\",
            "it's \"both\" 'quotes'\"",
            "line\nbreak\ttab\r",
        ] {
            let literal = verbatim_literal(text);
            assert!(!literal.contains('\\'), "{literal}");
            let template = format!("{{{{ {literal} }}}}");
            assert_eq!(t.render_str(&template, &json!({})).unwrap(), json!(text));
            assert_eq!(t.eval_expr(&literal, &json!({})).unwrap(), json!(text));
        }
    }

    #[test]
    fn variable_references_are_names_dots_and_constant_subscripts() {
        for (expr, root) in [
            ("a", "a"),
            (" a.b ", "a"),
            ("a['b'][0]", "a"),
            ("a[\"b\"].c", "a"),
            ("_x1", "_x1"),
        ] {
            assert_eq!(variable_reference(expr), Some(root), "{expr}");
        }
        for expr in [
            "'1 == 1'",
            "a ~ b",
            "a | string",
            "a[b]",
            "a.1",
            "lookup('env', 'X')",
            "true",
            "a[]",
            "1",
            "a['b]",
        ] {
            assert_eq!(variable_reference(expr), None, "{expr}");
        }
    }

    #[test]
    fn string_constants_holding_templates_are_rendered_in_conditionals() {
        let t = Templater::new();
        let ctx = json!({"x": "a\"b"});
        assert_eq!(
            embedded_templates(r#""{{'hi'}}" == 'x' and '{{ x }}' != "\"{{ y }}""#),
            vec!["{{'hi'}}".to_string(), "{{ x }}".into(), "\"{{ y }}".into()]
        );
        for (expr, want) in [
            (r#""{{'hi'}}" == "hi""#, true),
            (r#"'{{ x }}' == x"#, true),
            (r#"'{{ 1 == 1 }}'"#, true),
            (r#"'plain' == "plain""#, true),
        ] {
            assert_eq!(
                t.eval_conditional_expression(expr, &ctx).unwrap(),
                json!(want),
                "{expr}"
            );
        }
    }

    #[test]
    fn all_templates_start_and_end_with_delimiters() {
        assert!(is_all_template("{{ x }}"));
        assert!(is_all_template("{% if x %}True{% endif %}"));
        assert!(is_all_template("{{ a }} == {{ b }}"));
        assert!(!is_all_template("{{ a }} == 1"));
        assert!(!is_all_template("x == 1"));
    }

    #[test]
    fn conditionals_render_templates_and_say_where_text_came_from() {
        let t = Templater::new();
        let ctx = json!({"s": "1 == 2", "b": true, "d": {"k": "x"}});
        assert_eq!(
            t.conditional("s == '1 == 2'", &ctx).unwrap(),
            Conditional::Value(json!(true))
        );
        assert_eq!(
            t.conditional(" {{ b }} ", &ctx).unwrap(),
            Conditional::Value(json!(true))
        );
        assert_eq!(
            t.conditional("{{ s }}", &ctx).unwrap(),
            Conditional::Indirect {
                text: "1 == 2".into(),
                via: Some("s".into())
            }
        );
        assert_eq!(
            t.conditional("{{ d['k'] }}", &ctx).unwrap(),
            Conditional::Indirect {
                text: "x".into(),
                via: Some("d".into())
            }
        );
        assert_eq!(
            t.conditional("{{ '1 == 1' }}", &ctx).unwrap(),
            Conditional::Indirect {
                text: "1 == 1".into(),
                via: None
            }
        );
    }
}
