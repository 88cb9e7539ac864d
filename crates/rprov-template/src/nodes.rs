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
    crate::convert::require_defined_inside(value)?;
    minijinja::escape_formatter(out, state, value)
}

/// Runs `render` and says which value it emitted, when it emitted exactly
/// one that is not text (a number, a boolean, a list, a mapping). A render
/// inside (a `template` lookup) keeps its own log.
pub(crate) fn watch<T>(render: impl FnOnce() -> T) -> (T, Option<Value>) {
    let outer = LOG.with(|l| l.borrow_mut().replace(Log::default()));
    let result = render();
    let log = LOG.with(|l| std::mem::replace(&mut *l.borrow_mut(), outer));
    let single = log
        .filter(|log| log.emitted == 1)
        .and_then(|log| log.first)
        .filter(|v| {
            matches!(
                v.kind(),
                ValueKind::Number | ValueKind::Bool | ValueKind::Seq | ValueKind::Map
            )
        });
    (result, single)
}
