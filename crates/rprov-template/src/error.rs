//! The error type of this crate: a kind, a message written for the user, the
//! 1-based line within the template source, and the undefined variable's name.

use std::fmt;

use minijinja::ErrorKind;

use crate::undefined;

/// What went wrong, coarsely, so callers can decide how to report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateErrorKind {
    /// A variable or attribute was not defined.
    Undefined,
    /// The template or expression does not parse.
    Syntax,
    /// A filter, test, lookup or function failed or does not exist.
    Filter,
    /// Anything else (bad operation, bad argument types, ...).
    Other,
    /// A variable exists but its value is not known yet (in check mode, the
    /// result of a task that did not run). Never produced by rendering: the
    /// caller that resolves variables raises it, so that whatever uses the
    /// value can be reported as unknown instead of failed.
    NotKnown,
    /// Text that ansible-core would not trust was to be evaluated as an
    /// expression (see [`crate::trust`]). Never produced by rendering: the
    /// caller that knows where the text came from raises it.
    Untrusted,
}

/// An error from rendering or evaluating a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// What went wrong, coarsely.
    pub kind: TemplateErrorKind,
    /// A message for the user, e.g. `'pds_hostname' is undefined`.
    pub message: String,
    /// The 1-based line within the source, when known.
    pub line: Option<usize>,
    /// The name of the undefined variable, dotted like `pds.hostname` when it
    /// is an attribute of a defined variable.
    pub undefined: Option<String>,
    /// The template file the error is in (`render_file`'s `origin`); `None`
    /// for strings from YAML, whose location the caller knows.
    pub origin: Option<String>,
    /// What the user can do about it, when the filter that failed says
    /// (ansible-core's `help_text`).
    pub help: Option<String>,
}

/// The help a filter attaches to its error (as the minijinja error's
/// source), read into [`TemplateError::help`].
#[derive(Debug)]
pub struct Help(pub String);

impl fmt::Display for Help {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Help {}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.origin, self.line) {
            (Some(origin), Some(line)) => write!(f, " ({origin}:{line})"),
            (Some(origin), None) => write!(f, " ({origin})"),
            (None, Some(line)) => write!(f, " (line {line})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for TemplateError {}

impl TemplateError {
    /// Builds an error of `kind` with `message` and no location.
    pub fn new(kind: TemplateErrorKind, message: impl Into<String>) -> Self {
        TemplateError {
            kind,
            message: message.into(),
            line: None,
            undefined: None,
            origin: None,
            help: None,
        }
    }

    /// Translates a minijinja error raised while working on `source` with the
    /// context `ctx`. `origin` is the file name, when there is one.
    pub(crate) fn from_minijinja(
        err: &minijinja::Error,
        source: &str,
        ctx: &serde_json::Value,
        origin: Option<&str>,
    ) -> Self {
        let line = err.line().filter(|l| *l > 0);
        let detail = err.detail().unwrap_or_default();
        if err.kind() == ErrorKind::UndefinedError {
            let mut e = undefined::undefined_error(err, source, ctx, line);
            e.origin = origin.map(str::to_string);
            return e;
        }
        let kind = match err.kind() {
            ErrorKind::SyntaxError | ErrorKind::BadEscape | ErrorKind::InvalidDelimiter => {
                TemplateErrorKind::Syntax
            }
            ErrorKind::UnknownFilter
            | ErrorKind::UnknownTest
            | ErrorKind::UnknownFunction
            | ErrorKind::UnknownMethod => TemplateErrorKind::Filter,
            _ if detail.starts_with("filter ")
                || detail.starts_with("test ")
                || detail.starts_with("lookup")
                || detail.starts_with("The lookup plugin ") =>
            {
                TemplateErrorKind::Filter
            }
            _ => TemplateErrorKind::Other,
        };
        let message = match (kind, detail.is_empty()) {
            (TemplateErrorKind::Syntax, false) => format!("syntax error: {detail}"),
            (_, false) => match zero_division(detail) {
                Some(python) => format!("Error rendering template: {python}"),
                None => detail.to_string(),
            },
            (_, true) => match err.kind() {
                ErrorKind::UnknownTest => unknown_by_name(source, true),
                ErrorKind::UnknownFilter => unknown_by_name(source, false),
                _ => None,
            }
            .unwrap_or_else(|| err.kind().to_string()),
        };
        let help = std::error::Error::source(err)
            .and_then(|s| s.downcast_ref::<Help>())
            .map(|h| h.0.clone());
        TemplateError {
            kind,
            message,
            line,
            undefined: None,
            origin: origin.map(str::to_string),
            help,
        }
    }
}

/// Names the test or filter minijinja found missing without saying which:
/// one given by name to `select`, `reject`, `selectattr`, `rejectattr` or
/// `map` (ansible-core: `No test named 'x'.`).
fn unknown_by_name(source: &str, test: bool) -> Option<String> {
    let names: Vec<String> = crate::chain::names_in_text(source)
        .into_iter()
        .filter(|(is_test, _)| *is_test == test)
        .map(|(_, name)| format!("'{name}'"))
        .collect();
    let what = if test { "test" } else { "filter" };
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("no {what} named {one}")),
        many => Some(format!(
            "no {what} named one of {} (given by name to select, reject, selectattr, rejectattr or map)",
            many.join(", ")
        )),
    }
}

/// Python's words for a division by zero that minijinja reports as
/// `unable to calculate 5 / 0` (Jinja2 raises Python's `ZeroDivisionError`,
/// which ansible-core 2.19 reports as `Error rendering template: division by
/// zero`, and playbooks look for that text); `None` for any other message.
fn zero_division(detail: &str) -> Option<&'static str> {
    let calc = detail.strip_prefix("unable to calculate ")?;
    let (lhs, op, rhs) = ["//", "/", "%"].iter().find_map(|op| {
        let (l, r) = calc.split_once(&format!(" {op} "))?;
        Some((l, *op, r))
    })?;
    rhs.parse::<f64>().ok().filter(|z| *z == 0.0)?;
    let float = [lhs, rhs]
        .iter()
        .any(|n| n.contains(['.', 'e', 'E']) || n.contains("inf") || n.contains("nan"));
    Some(match (op, float) {
        ("/", false) => "division by zero",
        ("/", true) => "float division by zero",
        ("//", false) => "integer division or modulo by zero",
        ("//", true) => "float floor division by zero",
        ("%", false) => "integer modulo by zero",
        _ => "float modulo",
    })
}
