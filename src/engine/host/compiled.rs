//! A task compiled for one host and loop item: its arguments and environment
//! rendered once, before planning.
//!
//! Planning takes rounds (a round that lacks a fact asks for a probe, then
//! plans again), and each round used to render the arguments, the environment
//! and every template file the task names anew: the same text, and for a
//! template with a `lookup('pipe', …)` the same command run again. Compiled,
//! a task is rendered once and every round reads it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rprov_template::{FileOptions, TemplateError, OMIT};
use serde_json::{Map, Value as Json};

use super::super::vars::Resolver;
use super::{arg_error, HostRunner};
use crate::playbook::Task;

pub(in crate::engine) struct CompiledTask {
    /// The rendered arguments, `omit` ones left out.
    pub args: Map<String, Json>,
    /// The play's, the blocks' and the task's `environment`, an inner name
    /// over an outer.
    pub environment: Map<String, Json>,
    /// Each template file rendered so far, by path and options.
    templates: RefCell<HashMap<(PathBuf, FileOptions), Result<String, String>>>,
}

impl CompiledTask {
    /// The rendering of `path` with `opts`: made by `render` the first time,
    /// remembered after.
    pub fn template(
        &self,
        path: &Path,
        opts: &FileOptions,
        render: impl FnOnce() -> Result<String, String>,
    ) -> Result<String, String> {
        let key = (path.to_path_buf(), opts.clone());
        if let Some(done) = self.templates.borrow().get(&key) {
            return done.clone();
        }
        let done = render();
        self.templates.borrow_mut().insert(key, done.clone());
        done
    }
}

impl HostRunner {
    /// Renders `task`'s arguments and environment for this host with the
    /// variables of `r` (the task's, its loop item's). `lenient` (for the
    /// lookahead only): an argument that cannot be rendered yet, because it
    /// uses the result of an earlier task, is taken as empty so that the
    /// task still names its paths.
    pub(in crate::engine) fn compile(
        &self,
        r: &Resolver,
        task: &Task,
        lenient: bool,
    ) -> Result<CompiledTask, String> {
        let rendered = match &task.args {
            Json::Object(m) if lenient => Json::Object(
                m.iter()
                    .map(|(k, v)| {
                        let v = self
                            .render_json(r, v)
                            .unwrap_or_else(|_| Json::String(String::new()));
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            _ => self.render_args(r, task)?,
        };
        let mut args = match rendered {
            Json::Object(m) => m
                .into_iter()
                .filter(|(_, v)| v.as_str() != Some(OMIT))
                .collect::<Map<_, _>>(),
            _ => Map::new(),
        };
        // The arguments' template: its mapping under what the task wrote,
        // then `module_defaults` under both.
        if let Some(template) = &task.args_template {
            match self.render_json(r, &Json::String(template.clone())) {
                Ok(Json::Object(m)) => {
                    for (k, v) in m.into_iter().filter(|(_, v)| v.as_str() != Some(OMIT)) {
                        args.entry(k).or_insert(v);
                    }
                    // Only a default the task leaves open is rendered; one
                    // that fails fails the task, as a written argument does.
                    for (k, v) in &task.args_defaults {
                        if args.contains_key(k) {
                            continue;
                        }
                        match self.render_json(r, v) {
                            Ok(v) if v.as_str() == Some(OMIT) => {}
                            Ok(v) => {
                                args.insert(k.clone(), v);
                            }
                            Err(_) if lenient => {}
                            Err(e) => return Err(self.template_failure(task, Some(k), &e, r)),
                        }
                    }
                    if let Some(spec) = crate::modules::spec(&task.module) {
                        check_spread_args(spec, &args).map_err(|m| {
                            format!("{}: {m}; the arguments came from `{template}`", task.origin)
                        })?;
                    }
                }
                // The lookahead names what it can: a template that needs an
                // earlier task's result gives nothing yet.
                Err(_) if lenient => {}
                Ok(other) => {
                    return Err(format!(
                        "{}: Task args must resolve to a 'dict' not '{}'.",
                        task.origin,
                        crate::modules::args::py_type(&other)
                    ));
                }
                Err(e) => return Err(format!("{}: args: {}", task.origin, e.message)),
            }
        }
        let environment = self.environment(r, task)?;
        Ok(CompiledTask {
            args,
            environment,
            templates: RefCell::new(HashMap::new()),
        })
    }
}

impl HostRunner {
    /// The task's environment, as ansible-core's `_post_validate_environment`
    /// makes it: the `environment:` values from the play down, each a
    /// mapping, a template giving one, or a list of those, merged in order.
    /// A value (or a whole entry) that is `omit` is left out, as is a
    /// variable whose value needs the `ansible_env` facts while they are
    /// not gathered yet (so a play's `PATH: "{{ ansible_env.PATH }}:…"`
    /// leaves fact gathering alone); an entry that is not a mapping is
    /// skipped with Ansible's warning.
    fn environment(&self, r: &Resolver, task: &Task) -> Result<Map<String, Json>, String> {
        let gathering = matches!(task.module.as_str(), "setup" | "gather_facts");
        self.render_environment(r, &task.environment, &task.origin, gathering)
    }

    /// [`Self::environment`] of `entries` (outermost first), for a task at
    /// `origin`; `gathering`: for fact gathering, which also leaves out what
    /// needs `ansible_facts.env`.
    pub(in crate::engine) fn render_environment(
        &self,
        r: &Resolver,
        entries: &[Json],
        origin: &impl std::fmt::Display,
        gathering: bool,
    ) -> Result<Map<String, Json>, String> {
        let waits_for_facts = |e: &TemplateError| {
            e.kind == rprov_template::TemplateErrorKind::Undefined
                && (e.message.contains("ansible_env")
                    || (gathering && e.message.contains("ansible_facts.env")))
        };
        let mut environment = Map::new();
        for entry in entries {
            let items = match entry {
                Json::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items {
                match item {
                    Json::Object(m) => {
                        for (k, v) in m {
                            match self.render_json(r, v) {
                                Ok(Json::String(s)) if s == OMIT => {}
                                Ok(v) => {
                                    environment.insert(k.clone(), v);
                                }
                                Err(e) if waits_for_facts(&e) => {}
                                Err(e) => return Err(arg_error(origin, &e, r)),
                            }
                        }
                    }
                    other => match self
                        .render_json(r, other)
                        .map_err(|e| arg_error(origin, &e, r))?
                    {
                        Json::Object(m) => environment.extend(m),
                        Json::String(s) if s == OMIT => {}
                        Json::Null => {}
                        v => self.shared.reporter.warn(&format!(
                            "{origin}: could not parse environment value, skipping: {v}"
                        )),
                    },
                }
            }
        }
        Ok(environment)
    }
}

/// The arguments an arguments template gave one of rprov's modules, checked
/// as the playbook's written ones are when it loads (`playbook::task`'s
/// `check_args`): names the module takes, values of the right kind, none
/// rprov refuses to carry out.
fn check_spread_args(
    spec: &crate::modules::ModuleSpec,
    args: &Map<String, Json>,
) -> Result<(), String> {
    for (name, value) in args {
        let Some(arg) = spec.arg(name) else {
            if spec.open {
                continue;
            }
            let all = spec.arg_names().collect::<Vec<_>>().join(", ");
            return Err(format!(
                "unknown argument `{name}` for module `{}` (it takes: {all})",
                spec.name
            ));
        };
        crate::modules::args::check(spec.name, arg, value).map_err(|m| m.msg)?;
        if let Some(r) = crate::modules::refuse::refusal(spec.name, name, value) {
            return Err(r.msg);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_rendered_once() {
        let ct = CompiledTask {
            args: Map::new(),
            environment: Map::new(),
            templates: RefCell::new(HashMap::new()),
        };
        let calls = std::cell::Cell::new(0);
        let render = || {
            calls.set(calls.get() + 1);
            Ok("text".to_string())
        };
        let opts = FileOptions::default();
        let p = Path::new("/t.j2");
        assert_eq!(ct.template(p, &opts, render), Ok("text".into()));
        assert_eq!(ct.template(p, &opts, render), Ok("text".into()));
        assert_eq!(calls.get(), 1);
        // Other options are another rendering.
        let crlf = FileOptions {
            newline_sequence: "\r\n",
            ..opts
        };
        assert_eq!(ct.template(p, &crlf, render), Ok("text".into()));
        assert_eq!(calls.get(), 2);
    }
}
