//! ansible-core 2.19's result of a template of several parts
//! (`{% for x in xs %}{{ x }}{% endfor %}`, `{% if a %}{{ b }}{% endif %}`):
//! Jinja's output is a list of nodes, and when the rendering emits exactly
//! one, with no text around it, the result is that node's value, native (a
//! number stays a number, a list a list), as ansible-core's `concat` returns
//! a single node as it is. Anything more is text.
//!
//! minijinja writes straight into text, so the environment's formatter
//! (called for every `{{ }}` emission) notes what is emitted while a
//! [`watch`] is on.

use std::cell::RefCell;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, Output, State};

#[derive(Default)]
struct Log {
    emitted: usize,
    first: Option<Value>,
}

thread_local! {
    static LOG: RefCell<Option<Log>> = const { RefCell::new(None) };
}

/// The environment's formatter: minijinja's own, and a note of the value
/// for [`watch`].
pub(crate) fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    LOG.with(|l| {
        if let Some(log) = l.borrow_mut().as_mut() {
            log.emitted += 1;
            if log.emitted == 1 {
                log.first = Some(value.clone());
            }
        }
    });
    write(out, state, value)
}

/// Writes an emitted value as ansible-core 2.19 does: `None` as nothing
/// (`a{{ none }}b` is `ab`, in template files too; inside a value it stays
/// `None`, `[None]`), and a value holding an undefined one is an error.
pub(crate) fn write(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    crate::convert::require_defined_inside(value)?;
    if value.is_none() {
        return Ok(());
    }
    minijinja::escape_formatter(out, state, value)
}

/// What a render emitted, as far as its result's type depends on it.
pub(crate) enum Emitted {
    /// No `{{ }}` at all: with no text either, ansible-core's result is
    /// `None` (Jinja's native `concat` of no nodes).
    Nothing,
    /// Exactly one value that is not text (a number, a boolean, a list, a
    /// mapping, `None`).
    One(Value),
    /// Anything else: the result is the text.
    Text,
}

/// Runs `render` and says what it emitted (see [`Emitted`]). A render
/// inside (a `template` lookup) keeps its own log.
pub(crate) fn watch<T>(render: impl FnOnce() -> T) -> (T, Emitted) {
    let outer = LOG.with(|l| l.borrow_mut().replace(Log::default()));
    let result = render();
    let log = LOG.with(|l| std::mem::replace(&mut *l.borrow_mut(), outer));
    let emitted = match log {
        Some(Log { emitted: 0, .. }) => Emitted::Nothing,
        Some(Log {
            emitted: 1,
            first: Some(v),
        }) if matches!(
            v.kind(),
            ValueKind::Number | ValueKind::Bool | ValueKind::Seq | ValueKind::Map | ValueKind::None
        ) =>
        {
            Emitted::One(v)
        }
        _ => Emitted::Text,
    };
    (result, emitted)
}
