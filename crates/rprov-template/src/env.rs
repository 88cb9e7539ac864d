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
    set_whitespace(&mut env, true, false);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    filters::register(&mut env);
    jinja_tests::register(&mut env);
    lookup::register(&mut env);
    crate::now::register(&mut env);
    env
}

/// Sets `trim_blocks` and `lstrip_blocks` (the `template` module's arguments
/// of those names); the trailing newline is always kept, as Ansible does.
pub fn set_whitespace(env: &mut Environment<'static>, trim_blocks: bool, lstrip_blocks: bool) {
    // Building a syntax config from the default delimiters cannot fail; if a
    // future minijinja rejected it, the defaults are still usable.
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(trim_blocks)
        .lstrip_blocks(lstrip_blocks)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
}
