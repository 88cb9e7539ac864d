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
//!   pycompat, since Ansible roles use them freely.

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::{filters, jinja_tests, lookup};

/// Builds the environment with Ansible's settings, filters, tests and globals.
pub fn build() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_name| AutoEscape::None);
    env.set_debug(true);
    // Building a syntax config from constant, valid settings cannot fail; if a
    // future minijinja rejected it, the defaults are still usable.
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(false)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    filters::register(&mut env);
    jinja_tests::register(&mut env);
    lookup::register(&mut env);
    env
}
