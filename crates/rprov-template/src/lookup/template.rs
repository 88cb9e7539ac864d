//! `lookup('template', name, ...)`: a template file rendered on the
//! controller with the task's variables, as ansible-core's `template`
//! lookup.
//!
//! The file is looked for where Ansible looks for templates (the role's
//! and the playbook's `templates/`, see [`super::search_dirs`]); its
//! `include` tags find files next to it and in that search path. Options:
//! `variable_start_string`, `variable_end_string`, `comment_start_string`,
//! `comment_end_string`, `trim_blocks` (default true) and `template_vars`
//! (more variables, over the task's). `ansible_managed` is defined as
//! `Ansible managed` unless the task defines it. A template that renders
//! nothing (but its final line breaks) is `none`, as in ansible-core 2.19.
//!
//! Its value is native, as ansible-core 2.19's: a file whose whole output
//! is one `{{ … }}` is that expression's value (a dict stays a dict), and so
//! is a macro (or `{% set %}` block) whose whole body is one expression; any
//! other output is text. See [`NativeOutput`].
//!
//! The engine gives a template that uses this lookup every variable (it
//! cannot know which the file names before the file is found).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};

use super::{find_file, lookup_error, search_dirs, variable_names, LookupContext};
use crate::{Delimiters, FileOptions, IncludePath};

/// Renders each term's template file (decrypted first when ansible-vault
/// encrypted it, as ansible-core's loader reads it).
pub(super) fn run(
    state: &State,
    cx: &LookupContext,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let text = |key: &str| kwargs.get::<Option<String>>(key);
    let opts = FileOptions {
        trim_blocks: kwargs.get::<Option<bool>>("trim_blocks")?.unwrap_or(true),
        delimiters: Delimiters {
            variable_start: text("variable_start_string")?,
            variable_end: text("variable_end_string")?,
            comment_start: text("comment_start_string")?,
            comment_end: text("comment_end_string")?,
            ..Delimiters::default()
        },
        ..FileOptions::default()
    };
    let extra = kwargs.get::<Option<Value>>("template_vars")?;
    // Accepted as ansible-core accepts them; they change nothing there in
    // 2.19 (native types are always on, data is never converted).
    for ignored in ["convert_data", "jinja2_native"] {
        kwargs.get::<Option<Value>>(ignored)?;
    }
    let mut env = crate::env::with_syntax(state.env(), &opts)?;
    let emitted = NativeOutput::default();
    env.set_formatter({
        let emitted = emitted.clone();
        move |out, state, value| {
            emitted.record(value);
            crate::nodes::write(out, state, value)
        }
    });
    let ctx = context(state, extra.as_ref())?;
    let dirs = search_dirs(state, "templates");
    let mut out = Vec::new();
    for t in terms {
        let name = t.as_str().map_or_else(|| t.to_string(), str::to_string);
        let Some(file) = find_file(state, "templates", &name) else {
            return Err(lookup_error(
                "template",
                format!("the template file {name} could not be found for the lookup"),
            ));
        };
        let source = cx.read_text(&file, None).map_err(|e| {
            lookup_error("template", format!("cannot read {}: {e}", file.display()))
        })?;
        let includes = IncludePath::new(
            file.parent()
                .map(PathBuf::from)
                .into_iter()
                .chain(dirs.iter().filter(|d| !d.ends_with("templates")).cloned()),
        );
        let origin = file.display().to_string();
        emitted.clear();
        let rendered = crate::render_text(&env, &source, &origin, ctx.clone(), &opts, &includes)
            .map_err(|e| match e {
                crate::RenderFailure::Engine(e) => e,
                crate::RenderFailure::TooLarge => lookup_error(
                    "template",
                    crate::limits::too_large(&format!("the template {name}")),
                ),
            })?;
        // Nothing but the file's own final line breaks: ansible-core's
        // native concatenation of no output is `None`.
        out.push(if rendered.bytes().all(|b| b == b'\n') {
            Value::from(())
        } else if let Some(native) = emitted.whole_output(&rendered) {
            native
        } else {
            Value::from(rendered)
        });
    }
    Ok(out)
}

/// What each `{{ … }}` of a render emitted, in order, to recover the native
/// value ansible-core 2.19 gives a template of one output node.
///
/// Jinja's native concatenation (ansible-core's `AnsibleEnvironment.concat`)
/// returns a lone node's value as it is, and it is used for a template's
/// whole output and for every macro and `{% set %}` block body. minijinja
/// renders those to text, so the value is found again from the emissions:
/// the output is exactly the last emission's text, and while that value is
/// text that is exactly the emission before it (a macro's or block's body,
/// captured, not written), the value is that earlier one.
#[derive(Clone, Default)]
struct NativeOutput(Arc<Mutex<Vec<(Value, String)>>>);

impl NativeOutput {
    fn record(&self, value: &Value) {
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        if let Ok(mut emitted) = self.0.lock() {
            emitted.push((value.clone(), text));
        }
    }

    fn clear(&self) {
        if let Ok(mut emitted) = self.0.lock() {
            emitted.clear();
        }
    }

    /// The native value of an output that is one node whose value is not
    /// text; `None` when the output is text (ansible-core's joined string).
    fn whole_output(&self, rendered: &str) -> Option<Value> {
        let emitted = self.0.lock().ok()?;
        let body = rendered.trim_end_matches('\n');
        let mut at = emitted.len().checked_sub(1)?;
        if emitted[at].1 != body {
            return None;
        }
        loop {
            let value = &emitted[at].0;
            let Some(text) = value.as_str() else {
                return (!value.is_undefined() && !value.is_none()).then(|| value.clone());
            };
            at = at.checked_sub(1)?;
            if emitted[at].1 != text {
                return None;
            }
        }
    }
}

/// The variables the file renders with: the template's, `ansible_managed`
/// when they lack it, then `template_vars`.
fn context(state: &State, extra: Option<&Value>) -> Result<Value, Error> {
    let mut vars = std::collections::BTreeMap::new();
    for name in variable_names(state) {
        if let Some(v) = state.lookup(&name).filter(|v| !v.is_undefined()) {
            vars.insert(name, v);
        }
    }
    vars.entry("ansible_managed".to_string())
        .or_insert_with(|| Value::from("Ansible managed"));
    if let Some(extra) = extra.filter(|v| !v.is_none() && !v.is_undefined()) {
        for key in extra.try_iter()? {
            vars.insert(key.to_string(), extra.get_item(&key)?);
        }
    }
    Ok(Value::from(vars))
}
