//! The minijinja environment, configured as Ansible's `template` module.
//!
//! - Strict undefined: a typo in a variable name fails the task instead of
//!   writing an empty string into a config file.
//! - `trim_blocks` on, `lstrip_blocks` off, `keep_trailing_newline` on: the
//!   defaults of Ansible's `template` module, so existing templates render
//!   byte for byte the same.
//! - No auto-escaping for any file name: Ansible never HTML-escapes, and a
//!   `.html.j2` or `.xml.j2` must not turn `&` into `&amp;`.
//! - Debug info on: minijinja then records which expression produced an
//!   undefined value, which [`crate::undefined`] uses to name it.
//! - Python-style methods (`s.split(',')`, `d.items()`) from minijinja-contrib's
//!   pycompat, since Ansible roles use them freely, and the list methods it
//!   lacks (`l.index(x)`, see [`list_method`]).

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use crate::{filters, jinja_tests, lookup};

/// The function a vault value that cannot be opened becomes (see
/// [`crate::locked_vault`]): not a name a playbook would use.
pub(crate) const LOCKED_VAULT: &str = "__rprov_locked_vault";

/// A global holding one backslash, for templates rprov writes itself (see
/// [`crate::trust::verbatim_literal`]).
pub(crate) const BACKSLASH: &str = "__rprov_backslash";

/// Builds the environment with Ansible's settings, filters, tests and globals.
pub fn build() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_name| AutoEscape::None);
    env.set_debug(true);
    env.set_formatter(crate::nodes::formatter);
    // Ansible's `template` defaults: `trim_blocks` on, the trailing newline
    // kept. The default delimiters always build.
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_unknown_method_callback(|state, value, method, args| {
        let string_method = value
            .as_str()
            .and_then(|s| crate::str_methods::call(s, method, args));
        match string_method.or_else(|| list_method(value, method, args)) {
            Some(done) => done,
            None => {
                minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
            }
        }
    });
    env.add_function(crate::chain::FUNCTION, crate::chain::chain);
    env.add_function(crate::pyformat::FUNCTION, crate::pyformat::pyformat);
    // ansible-core 2.19's `undef(hint)`: an undefined value, for a default
    // that something else must set (`default=undef()`).
    env.add_function("undef", |_hint: Option<Value>| Value::UNDEFINED);
    // Jinja2's globals that minijinja leaves to its contrib crate.
    env.add_function("joiner", minijinja_contrib::globals::joiner);
    env.add_function("cycler", minijinja_contrib::globals::cycler);
    crate::python::register_absent(&mut env);
    env.add_global(BACKSLASH, "\\");
    env.add_function(LOCKED_VAULT, |why: String| -> Result<Value, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, why))
    });
    filters::register(&mut env);
    jinja_tests::register(&mut env);
    lookup::register(&mut env, lookup::LookupContext::default());
    crate::now::register(&mut env);
    env
}

/// Python's list methods that pycompat does not know, for a sequence (not
/// a string): `index(x)`, the position of the first item equal to `x`
/// (`ValueError` as Python's when there is none). `None`: not one of them.
fn list_method(value: &Value, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    if value.kind() != ValueKind::Seq || method != "index" {
        return None;
    }
    let [wanted] = args else {
        return Some(Err(Error::new(
            ErrorKind::InvalidOperation,
            "list.index() takes one argument here (no start or end)",
        )));
    };
    let found = value.try_iter().ok()?.position(|item| &item == wanted);
    Some(match found {
        Some(i) => Ok(Value::from(i)),
        None => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{wanted} is not in list"),
        )),
    })
}

/// A copy of `base` with `opts`' `trim_blocks`, `lstrip_blocks` and
/// delimiters (the `template` module's arguments of those names); the
/// trailing newline is always kept, as Ansible does. Delimiters the syntax
/// cannot use (empty, or one kind of tag's the prefix of another's) are an
/// error naming them.
pub fn with_syntax<'e>(
    base: &Environment<'e>,
    opts: &crate::FileOptions,
) -> Result<Environment<'e>, Error> {
    let mut env = base.clone();
    let d = &opts.delimiters;
    let pick = |v: &Option<String>, default: &'static str| -> std::borrow::Cow<'static, str> {
        match v {
            Some(s) => std::borrow::Cow::Owned(s.clone()),
            None => std::borrow::Cow::Borrowed(default),
        }
    };
    let syntax = SyntaxConfig::builder()
        .block_delimiters(pick(&d.block_start, "{%"), pick(&d.block_end, "%}"))
        .variable_delimiters(pick(&d.variable_start, "{{"), pick(&d.variable_end, "}}"))
        .comment_delimiters(pick(&d.comment_start, "{#"), pick(&d.comment_end, "#}"))
        .line_statement_prefix(opts.line_statement_prefix.clone().unwrap_or_default())
        .line_comment_prefix(opts.line_comment_prefix.clone().unwrap_or_default())
        .trim_blocks(opts.trim_blocks)
        .lstrip_blocks(opts.lstrip_blocks)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::SyntaxError,
                format!("these Jinja delimiters cannot be used: {e}"),
            )
        })?;
    env.set_syntax(syntax);
    Ok(env)
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    #[test]
    fn list_index_is_pythons() {
        let env = super::build();
        let r = |t: &str| env.render_str(t, context! { l => vec!["a", "b", "c"] });
        assert_eq!(r("{{ l.index('b') }}").unwrap(), "1");
        assert_eq!(r("{{ [1, 2, 2].index(2) }}").unwrap(), "1");
        let e = r("{{ l.index('z') }}").unwrap_err();
        assert!(e.to_string().contains("z is not in list"), "{e}");
        // Strings keep pycompat's methods.
        assert_eq!(r("{{ 'a,b'.split(',') | length }}").unwrap(), "2");
    }
}
