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

mod backslash;
mod chain;
mod convert;
pub mod env;
mod error;
mod header;
pub use header::has_header;
pub mod filters;
mod include;
pub mod jinja_tests;
pub mod kv;
pub mod limits;
pub mod lookup;
mod nodes;
mod now;
mod pyformat;
pub mod python;
mod str_methods;
pub mod version_types;
pub use now::{civil_from_days, date_time_utc};
pub mod trust;
mod undefined;
pub use trust::{is_all_template, Conditional};

use minijinja::value::Value;

pub use error::{TemplateError, TemplateErrorKind};
pub use include::{loads_others, IncludePath};
pub use undefined::{only_guarded, GLOBALS};

/// An item's render, or `None` when it is undefined and the `with_` loop
/// being rendered leaves it out (see [`lookup::as_with_loop`]).
fn left_out(
    r: Result<serde_json::Value, TemplateError>,
) -> Option<Result<serde_json::Value, TemplateError>> {
    match r {
        Err(e) if e.kind == TemplateErrorKind::Undefined && lookup::leaves_out_undefined() => None,
        other => Some(other),
    }
}

/// A placeholder string for Ansible's `omit`; the engine drops module args whose
/// rendered value equals it.
///
/// The engine puts `omit` with this value into the context; this crate never
/// requires it, but `default(omit)` returns it when the context has it.
pub const OMIT: &str = "__omit_place_holder__rprov";

/// The name under which whole-string and expression templates are compiled, so
/// error messages have something to show.
const INLINE_NAME: &str = "<inline>";

/// How a template file is rendered: the `template` module's `trim_blocks`,
/// `lstrip_blocks`, `newline_sequence` and Jinja delimiters. The default is
/// Ansible's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileOptions {
    /// Remove the first newline after a block tag (default on).
    pub trim_blocks: bool,
    /// Strip spaces and tabs before a block tag at the start of a line
    /// (default off).
    pub lstrip_blocks: bool,
    /// What every line break of the template's own text becomes: `"\n"`
    /// (default), `"\r\n"` or `"\r"`. As in Jinja2, line breaks inside
    /// inserted values are left as they are.
    pub newline_sequence: &'static str,
    /// Other Jinja delimiters than `{{ }}`, `{% %}` and `{# #}` (the
    /// `variable_start_string` family of arguments).
    pub delimiters: Delimiters,
    /// A prefix that makes a line a statement (`# for x in y`), as Jinja's
    /// option of that name; only a template's `#jinja2:` line sets it.
    pub line_statement_prefix: Option<String>,
    /// A prefix that makes the rest of a line a comment, likewise.
    pub line_comment_prefix: Option<String>,
}

/// Jinja delimiters a template file sets in place of the defaults, as the
/// `template` module's and lookup's `*_start_string`/`*_end_string`
/// arguments; `None` keeps the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// `{{`
    pub variable_start: Option<String>,
    /// `}}`
    pub variable_end: Option<String>,
    /// `{%`
    pub block_start: Option<String>,
    /// `%}`
    pub block_end: Option<String>,
    /// `{#`
    pub comment_start: Option<String>,
    /// `#}`
    pub comment_end: Option<String>,
}

impl Delimiters {
    /// Whether every delimiter is the default.
    pub fn is_default(&self) -> bool {
        self == &Delimiters::default()
    }
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n",
            delimiters: Delimiters::default(),
            line_statement_prefix: None,
            line_comment_prefix: None,
        }
    }
}

impl FileOptions {
    /// The line break a `newline_sequence` argument names, written either as
    /// the characters or escaped (`'\r\n'` in single quotes), as Ansible
    /// accepts both. `None` for anything else.
    pub fn parse_newline(s: &str) -> Option<&'static str> {
        match s {
            "\n" | "\\n" => Some("\n"),
            "\r\n" | "\\r\\n" => Some("\r\n"),
            "\r" | "\\r" => Some("\r"),
            _ => None,
        }
    }
}

/// A configured template environment. Cheap to share: build one per run.
pub struct Templater {
    env: minijinja::Environment<'static>,
    /// The environment with other `trim_blocks`/`lstrip_blocks` settings,
    /// indexed by [`Templater::variant_index`], built when first asked for.
    variants: [std::sync::OnceLock<minijinja::Environment<'static>>; 3],
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
        let mut env = env::build();
        trust::register_untrusted(
            &mut env,
            trust::UntrustedTemplates::Ignore,
            std::sync::Arc::new(|_: &str| {}),
        );
        Templater {
            env,
            variants: Default::default(),
        }
    }

    /// This templater doing `what` when `!unsafe` text holds a template,
    /// warning through `warn` (see [`trust::UntrustedTemplates`]).
    pub fn with_untrusted_templates(
        mut self,
        what: trust::UntrustedTemplates,
        warn: impl Fn(&str) + Send + Sync + 'static,
    ) -> Self {
        trust::register_untrusted(&mut self.env, what, std::sync::Arc::new(warn));
        self.variants = Default::default();
        self
    }

    /// This templater with lookups that read controller files through
    /// `cx` (the run's vault decryption).
    pub fn with_lookup_context(mut self, cx: lookup::LookupContext) -> Self {
        lookup::register(&mut self.env, cx);
        // Environments derived from the old one would keep its lookups.
        self.variants = Default::default();
        self
    }

    /// This templater with `is vault_encrypted` true of `values`, the
    /// plaintexts of the playbook's `!vault` values. rprov decrypts those as
    /// the playbook loads, so what a template sees is their text; a string
    /// that is one of them is taken as that value (ansible-core keeps it
    /// encrypted until used, and the test asks exactly that).
    pub fn with_vault_values(mut self, values: impl IntoIterator<Item = String>) -> Self {
        jinja_tests::register_vault_encrypted(&mut self.env, values.into_iter().collect());
        self.variants = Default::default();
        self
    }

    /// This templater with the filters and tests `plugins` names, run by
    /// it (see [`python`]). Give its lookups with
    /// [`lookup::LookupContext::with_python`].
    pub fn with_python_plugins(
        mut self,
        plugins: &std::sync::Arc<dyn python::PythonPlugins>,
    ) -> Self {
        python::register(&mut self.env, plugins);
        self.variants = Default::default();
        self
    }

    /// The environment for a template file rendered with `opts`: a shared
    /// one, or for other delimiters a copy made for this render.
    fn file_env(
        &self,
        opts: &FileOptions,
    ) -> Result<std::borrow::Cow<'_, minijinja::Environment<'static>>, minijinja::Error> {
        use std::borrow::Cow;
        if !opts.delimiters.is_default()
            || opts.line_statement_prefix.is_some()
            || opts.line_comment_prefix.is_some()
        {
            return env::with_syntax(&self.env, opts).map(Cow::Owned);
        }
        let index = match (opts.trim_blocks, opts.lstrip_blocks) {
            (true, false) => return Ok(Cow::Borrowed(&self.env)),
            (true, true) => 0,
            (false, false) => 1,
            (false, true) => 2,
        };
        if let Some(env) = self.variants[index].get() {
            return Ok(Cow::Borrowed(env));
        }
        let env = env::with_syntax(&self.env, opts)?;
        Ok(Cow::Borrowed(self.variants[index].get_or_init(|| env)))
    }

    /// Gives access to the underlying environment, for callers that need a
    /// feature this API does not wrap.
    pub fn environment(&self) -> &minijinja::Environment<'static> {
        &self.env
    }

    /// Renders a template file's text (from `origin`, a path shown in errors) to
    /// a string, as Ansible's `template` module does with its default options.
    pub fn render_file(
        &self,
        source: &str,
        origin: &str,
        ctx: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        self.render_file_with(source, origin, ctx, &FileOptions::default())
    }

    /// [`Templater::render_file`] with the `template` module's whitespace and
    /// line-break options. Line breaks of the template text (`\r\n`, `\r` or
    /// `\n`) are first made `opts.newline_sequence`, as Jinja2's lexer does,
    /// so a template saved with CRLF renders with `\n` by default.
    pub fn render_file_with(
        &self,
        source: &str,
        origin: &str,
        ctx: &serde_json::Value,
        opts: &FileOptions,
    ) -> Result<String, TemplateError> {
        self.render_file_in(source, origin, ctx, opts, &IncludePath::default())
    }

    /// [`Templater::render_file_with`], where the template's `include`,
    /// `import`, `from` and `extends` tags load files from `includes`. A
    /// template without such tags renders in the shared environment; one
    /// with them in a copy given a loader over `includes`.
    pub fn render_file_in(
        &self,
        source: &str,
        origin: &str,
        ctx: &serde_json::Value,
        opts: &FileOptions,
        includes: &IncludePath,
    ) -> Result<String, TemplateError> {
        self.file_env(opts)
            .map_err(RenderFailure::Engine)
            .and_then(|env| {
                render_text(&env, source, origin, convert::to_value(ctx), opts, includes)
            })
            .map_err(|e| e.into_template_error(source, ctx, Some(origin)))
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
        self.render_source(&backslash::keep_backslashes(source), ctx)
    }

    /// [`Templater::render_str`] of a template whose string constants were
    /// already read as Ansible reads playbook data's (see [`backslash`]).
    pub(crate) fn render_source(
        &self,
        source: &str,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        // A lookup's arguments written as templates are rendered first, as
        // ansible-core renders them (`lookup('file', '{{ dir }}/x')`).
        let args = chain::lookup_arg_templates(source);
        if !args.is_empty() {
            let mut rewritten = String::with_capacity(source.len());
            let mut at = 0;
            for (start, end, text) in args {
                rewritten.push_str(&source[at..start]);
                rewritten.push_str(&trust::jinja_literal(&self.render_source(&text, ctx)?));
                at = end;
            }
            rewritten.push_str(&source[at..]);
            return self.render_source(&rewritten, ctx);
        }
        if let Some(expr) = single_expression(source) {
            return self.eval_native(expr, source, ctx);
        }
        // Jinja drops one final line break of a template before it parses
        // it, so `{{ expr }}` and a line break (a YAML `>` or `|` scalar) is
        // one expression with a native value, as in Ansible; a text result
        // gets its line break back.
        if let Some((body, newline)) = one_final_newline(source) {
            if let Some(expr) = single_expression(body) {
                return Ok(match self.eval_native(expr, source, ctx)? {
                    serde_json::Value::String(s) => serde_json::Value::String(s + newline),
                    other => other,
                });
            }
        }
        let chained = chain::rewrite_template(source, &Delimiters::default());
        let tmpl = self
            .env
            .template_from_named_str(INLINE_NAME, &chained)
            .map_err(|e| TemplateError::from_minijinja(&e, source, ctx, None))?;
        let (rendered, emitted) = nodes::watch(|| render_bounded(&tmpl, convert::to_value(ctx)));
        let text = rendered.map_err(|e| e.into_template_error(source, ctx, None))?;
        // One value emitted and no text around it: that value, native, as
        // ansible-core 2.19 returns a template of one node; nothing at all
        // (`{% if false %}x{% endif %}`) is its `None`.
        match emitted {
            nodes::Emitted::One(v) if v.is_none() && text.is_empty() => Ok(serde_json::Value::Null),
            nodes::Emitted::One(v) if text == v.to_string() => convert::from_value(&v)
                .map_err(|e| TemplateError::from_minijinja(&e, source, ctx, None)),
            nodes::Emitted::Nothing if text.is_empty() => Ok(serde_json::Value::Null),
            _ => Ok(serde_json::Value::String(text)),
        }
    }

    /// Recursively renders every string inside a JSON value (maps, lists);
    /// keys are rendered too when they contain `{{`. Other scalars are kept.
    pub fn render_value(
        &self,
        value: &serde_json::Value,
        ctx: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        self.render_value_keeping(value, ctx, &|_| false)
    }

    /// [`Templater::render_value`], but strings (and keys) for which `literal`
    /// is true are kept as they are, like Ansible's `!unsafe` values: rprov
    /// passes its secrets here, so a password holding `{{` is never rendered.
    pub fn render_value_keeping(
        &self,
        value: &serde_json::Value,
        ctx: &serde_json::Value,
        literal: &dyn Fn(&str) -> bool,
    ) -> Result<serde_json::Value, TemplateError> {
        match value {
            serde_json::Value::String(s) if literal(s) => Ok(value.clone()),
            serde_json::Value::String(s) => self.render_str(s, ctx),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| left_out(self.render_value_keeping(v, ctx, literal)))
                .collect::<Result<Vec<_>, _>>()
                .map(serde_json::Value::Array),
            serde_json::Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let key = if is_template(k) && !literal(k) {
                        match self.render_str(k, ctx)? {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        }
                    } else {
                        k.clone()
                    };
                    if let Some(v) = left_out(self.render_value_keeping(v, ctx, literal)) {
                        out.insert(key, v?);
                    }
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
        convert::forget_missing();
        let chained = chain::rewrite_expr(expr);
        let compiled = self
            .env
            .compile_expression(&chained)
            .map_err(|e| TemplateError::from_minijinja(&e, expr, ctx, None))?;
        let value: Value = compiled
            .eval(convert::to_value(ctx))
            .map_err(|e| TemplateError::from_minijinja(&e, expr, ctx, None))?;
        if value.is_undefined() {
            return Err(undefined::undefined_result(expr, shown, ctx));
        }
        let json = convert::from_value(&value)
            .map_err(|e| TemplateError::from_minijinja(&e, expr, ctx, None))?;
        if limits::approx_size(&json) > limits::max_render_size() {
            return Err(TemplateError::new(
                TemplateErrorKind::Other,
                limits::too_large("the value of this expression"),
            ));
        }
        Ok(json)
    }
}

/// Why [`render_bounded`] stopped.
pub(crate) enum RenderFailure {
    Engine(minijinja::Error),
    TooLarge,
}

impl RenderFailure {
    fn into_template_error(
        self,
        source: &str,
        ctx: &serde_json::Value,
        origin: Option<&str>,
    ) -> TemplateError {
        match self {
            RenderFailure::Engine(e) => TemplateError::from_minijinja(&e, source, ctx, origin),
            RenderFailure::TooLarge => TemplateError {
                origin: origin.map(str::to_string),
                ..TemplateError::new(
                    TemplateErrorKind::Other,
                    limits::too_large("the rendered template"),
                )
            },
        }
    }
}

/// Renders a template file's text in `env` (set up for `opts`), its
/// `include` and similar tags loading files from `includes`.
///
/// As ansible-core: Jinja2 drops one trailing newline of every template
/// (the one named and those it loads alike), then the result gets back as
/// many as the named template ended with, so an included file's last
/// newline does not end up inside the including line.
pub(crate) fn render_text(
    env: &minijinja::Environment<'_>,
    source: &str,
    origin: &str,
    ctx: Value,
    opts: &FileOptions,
    includes: &IncludePath,
) -> Result<String, RenderFailure> {
    // A `#jinja2:` first line sets the file's own options.
    let header_env;
    let header_opts;
    let (env, source, opts) = if header::has_header(source) {
        let (own, rest) = header::split(source, opts).map_err(|message| {
            RenderFailure::Engine(minijinja::Error::new(
                minijinja::ErrorKind::SyntaxError,
                message,
            ))
        })?;
        header_opts = own;
        header_env = env::with_syntax(env, &header_opts).map_err(RenderFailure::Engine)?;
        (&header_env, rest, &header_opts)
    } else {
        (env, source, opts)
    };
    let wanted_newlines = trailing_newlines(source);
    let source = normalize_newlines(source, opts.newline_sequence);
    let source = source
        .strip_suffix(opts.newline_sequence)
        .unwrap_or(&source);
    let with_loader;
    let env = if includes.is_empty() || !loads_others(source) {
        env
    } else {
        let mut env = env.clone();
        let path = includes.clone();
        let newline = opts.newline_sequence;
        let delimiters = opts.delimiters.clone();
        env.set_loader(move |name| {
            let Some(file) = path.find(name) else {
                return Ok(None);
            };
            limits::read_text_file(&file, limits::max_render_size())
                .map(|text| {
                    let text = normalize_newlines(&text, newline);
                    let text = text.strip_suffix(newline).unwrap_or(&text);
                    Some(chain::rewrite_template(text, &delimiters).into_owned())
                })
                .map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("cannot read template {}: {e}", file.display()),
                    )
                })
        });
        with_loader = env;
        &with_loader
    };
    let chained = chain::rewrite_template(source, &opts.delimiters);
    let tmpl = env
        .template_from_named_str(origin, &chained)
        .map_err(RenderFailure::Engine)?;
    let mut out = render_bounded(&tmpl, ctx)?;
    for _ in trailing_newlines(&out)..wanted_newlines {
        out.push_str(opts.newline_sequence);
    }
    Ok(out)
}

/// Renders into a [`limits::BoundedWriter`], so a template that produces
/// too much text stops at the bound instead of exhausting memory.
fn render_bounded(tmpl: &minijinja::Template<'_, '_>, ctx: Value) -> Result<String, RenderFailure> {
    convert::forget_missing();
    let mut out = limits::BoundedWriter::new(limits::max_render_size());
    match tmpl.render_captured_to(ctx, &mut out) {
        Ok(_) => Ok(out.into_string()),
        Err(_) if out.exceeded => Err(RenderFailure::TooLarge),
        Err(e) => Err(RenderFailure::Engine(e)),
    }
}

/// The value a `!vault` value that cannot be decrypted (no password, a
/// wrong one) takes: a template that fails with `why` wherever it is used,
/// as ansible-core fails only what uses such a value.
pub fn locked_vault(why: &str) -> String {
    format!(
        "{{{{ {}({}) }}}}",
        env::LOCKED_VAULT,
        trust::verbatim_literal(why)
    )
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

/// `source` with every line break (`\r\n`, `\r`, `\n`) written as `newline`.
/// How many `\n` a text ends with (ansible-core's `_count_newlines_from_end`).
fn trailing_newlines(s: &str) -> usize {
    s.bytes().rev().take_while(|b| *b == b'\n').count()
}

fn normalize_newlines<'a>(source: &'a str, newline: &str) -> std::borrow::Cow<'a, str> {
    if newline == "\n" && !source.contains('\r') {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + source.len() / 16);
    let mut rest = source;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push_str(&rest[..i]);
        out.push_str(newline);
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Whether a string needs the template engine at all (holds `{{`, `{%` or
/// `{#`). A value without any is used as written, so it can be checked when
/// the playbook loads.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// If `s` is exactly one `{{ expr }}` (nothing before or after it), returns
/// the expression inside.
/// The source without its one final line break (`\r\n`, `\n` or `\r`), and
/// that line break.
fn one_final_newline(s: &str) -> Option<(&str, &'static str)> {
    ["\r\n", "\n", "\r"]
        .into_iter()
        .find_map(|nl| s.strip_suffix(nl).map(|body| (body, nl)))
}

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
    fn newlines_are_normalized() {
        assert_eq!(normalize_newlines("a\r\nb\rc\nd", "\n"), "a\nb\nc\nd");
        assert_eq!(
            normalize_newlines("a\r\nb\rc\nd\n", "\r\n"),
            "a\r\nb\r\nc\r\nd\r\n"
        );
        assert_eq!(normalize_newlines("a\nb", "\r"), "a\rb");
        assert!(matches!(
            normalize_newlines("a\nb", "\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn single_expression_detection() {
        assert_eq!(single_expression("{{ a }}"), Some(" a "));
        assert_eq!(one_final_newline("{{ a }}\n"), Some(("{{ a }}", "\n")));
        assert_eq!(one_final_newline("{{ a }}"), None);
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

    #[test]
    fn literal_strings_and_keys_are_kept() {
        use serde_json::json;
        let t = Templater::new();
        let ctx = json!({"a": "A"});
        let v = json!({"{{ a }}": "{{ a }}", "{{ s }}": ["{{ s }}", "x{{ a }}"]});
        let out = t
            .render_value_keeping(&v, &ctx, &|s| s == "{{ s }}")
            .unwrap();
        assert_eq!(out, json!({"A": "A", "{{ s }}": ["{{ s }}", "xA"]}));
    }
}
