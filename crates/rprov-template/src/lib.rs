//! rprov-template: minijinja 3 configured to behave like Ansible's templating.
//!
//! Everything rprov templates (task arguments, `when`, task names, template
//! files) goes through [`Templater`]. The engine is minijinja rather than a
//! Jinja2 port because it is small, fast and well kept; this crate closes the
//! gap to what Ansible roles expect:
//!
//! - the environment matches Ansible's `template` module (strict undefined,
//!   `trim_blocks`, kept trailing newline, no auto-escaping whatever the file
//!   name), see [`env`];
//! - Ansible's filters, tests and lookups are added, see [`filters`],
//!   [`jinja_tests`] and [`lookup`];
//! - a string that is a single `{{ expr }}` keeps the expression's native type,
//!   like Ansible's native templating (see [`Templater::render_str`]);
//! - errors about undefined variables name the variable and the line, which
//!   minijinja alone does not always do, see [`undefined`].
#![deny(missing_docs)]

mod convert;
pub mod env;
mod error;
pub mod filters;
pub mod jinja_tests;
pub mod lookup;
mod undefined;

use minijinja::value::Value;

pub use error::{TemplateError, TemplateErrorKind};

/// A placeholder string for Ansible's `omit`; the engine drops module args whose
/// rendered value equals it.
///
/// The engine puts `omit` with this value into the context; this crate never
/// requires it, but `default(omit)` returns it when the context has it.
pub const OMIT: &str = "__omit_place_holder__rprov";

/// The name under which whole-string and expression templates are compiled, so
/// error messages have something to show.
const INLINE_NAME: &str = "<inline>";

/// A configured template environment. Cheap to share: build one per run.
pub struct Templater {
    env: minijinja::Environment<'static>,
}

impl Default for Templater {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Templater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templater").finish_non_exhaustive()
    }
}

impl Templater {
    /// Builds the environment: strict undefined, `trim_blocks` on,
    /// `lstrip_blocks` off, trailing newline kept, auto-escaping off for every
    /// file name, and Ansible's filters, tests, lookups and Python-style methods.
    pub fn new() -> Self {
        Templater { env: env::build() }
    }

    /// Gives access to the underlying environment, for callers that need a
    /// feature this API does not wrap.
    pub fn environment(&self) -> &minijinja::Environment<'static> {
        &self.env
    }

    /// Renders a template file's text (from `origin`, a path shown in errors) to
    /// a string, as Ansible's `template` module does.
    pub fn render_file(
        &self,
        source: &str,
        origin: &str,
        ctx: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        let ctx_value = convert::to_value(ctx);
        let tmpl = self
            .env
            .template_from_named_str(origin, source)
            .map_err(|e| TemplateError::from_minijinja(&e, source, ctx, Some(origin)))?;
        tmpl.render(ctx_value)
            .map_err(|e| TemplateError::from_minijinja(&e, source, ctx, Some(origin)))
    }

    /// Renders a string from YAML.
    ///
    /// Like Ansible: if the whole string is a single `{{ expr }}` the result
    /// keeps the expression's native type (list, dict, int, bool); otherwise it
    /// is a string. Strings with no `{{`, `{%` or `{#` are returned unchanged
    /// without parsing, so text like `%i`, `${VAR}` or `$HOME` is never touched.
    pub fn render_str(
        &self,
        source: &str,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        if !is_template(source) {
            return Ok(serde_json::Value::String(source.to_string()));
        }
        if let Some(expr) = single_expression(source) {
            return self.eval_native(expr, source, ctx);
        }
        let tmpl = self
            .env
            .template_from_named_str(INLINE_NAME, source)
            .map_err(|e| TemplateError::from_minijinja(&e, source, ctx, None))?;
        tmpl.render(convert::to_value(ctx))
            .map(serde_json::Value::String)
            .map_err(|e| TemplateError::from_minijinja(&e, source, ctx, None))
    }

    /// Recursively renders every string inside a JSON value (maps, lists);
    /// keys are rendered too when they contain `{{`. Other scalars are kept.
    pub fn render_value(
        &self,
        value: &serde_json::Value,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        match value {
            serde_json::Value::String(s) => self.render_str(s, ctx),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| self.render_value(v, ctx))
                .collect::<Result<Vec<_>, _>>()
                .map(serde_json::Value::Array),
            serde_json::Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let key = if is_template(k) {
                        match self.render_str(k, ctx)? {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        }
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.render_value(v, ctx)?);
                }
                Ok(serde_json::Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Evaluates a bare expression as Ansible's `when`, `changed_when`,
    /// `failed_when` and `until` do. No braces are needed; if the user wrote
    /// `{{ x }}` it is accepted too. Returns the value; see [`is_true`].
    pub fn eval_expr(
        &self,
        expr: &str,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        let trimmed = expr.trim();
        let inner = single_expression(trimmed).unwrap_or(trimmed);
        self.eval_native(inner, expr, ctx)
    }

    /// Evaluates a condition (see [`Templater::eval_expr`]) and applies
    /// Ansible's truthiness ([`is_true`]).
    pub fn eval_condition(
        &self,
        expr: &str,
        ctx: &serde_json::Value,
    ) -> Result<bool, TemplateError> {
        self.eval_expr(expr, ctx).map(|v| is_true(&v))
    }

    /// Compiles and evaluates one expression, keeping its native type.
    /// `shown` is the text errors point at (the string as the user wrote it).
    fn eval_native(
        &self,
        expr: &str,
        shown: &str,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| TemplateError::from_minijinja(&e, expr, ctx, None))?;
        let value: Value = compiled
            .eval(convert::to_value(ctx))
            .map_err(|e| TemplateError::from_minijinja(&e, expr, ctx, None))?;
        if value.is_undefined() {
            return Err(undefined::undefined_result(expr, shown, ctx));
        }
        convert::from_value(&value).map_err(|e| TemplateError::from_minijinja(&e, expr, ctx, None))
    }
}

/// Ansible's (Python's) truthiness of a rendered value: `false`, `null`, `0`,
/// `0.0`, `""`, `[]` and `{}` are false, everything else is true.
///
/// Strings are not parsed: `"false"` is true, as in Python. Conditions in
/// rprov's YAML are read by serde-saphyr, which already turns YAML 1.1 `no`
/// and `false` into booleans.
pub fn is_true(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => !o.is_empty(),
    }
}

/// Whether a string needs the template engine at all (holds `{{`, `{%` or
/// `{#`). A value without any is used as written, so it can be checked when
/// the playbook loads.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// If `s` is exactly one `{{ expr }}` (nothing before or after it), returns
/// the expression inside.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("%}")
    {
        return None;
    }
    Some(inner)
}

#[cfg(test)]
mod lib_tests {
    use super::*;

    #[test]
    fn single_expression_detection() {
        assert_eq!(single_expression("{{ a }}"), Some(" a "));
        assert_eq!(single_expression("{{ a }}-{{ b }}"), None);
        assert_eq!(single_expression("x{{ a }}"), None);
    }

    #[test]
    fn truthiness() {
        use serde_json::json;
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!is_true(&v), "{v}");
        }
        for v in [
            json!(true),
            json!(1),
            json!("false"),
            json!([0]),
            json!({"a": 1}),
        ] {
            assert!(is_true(&v), "{v}");
        }
    }
}
