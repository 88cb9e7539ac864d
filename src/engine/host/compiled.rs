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

use rprov_template::{FileOptions, OMIT};
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
        let args = match rendered {
            Json::Object(m) => m
                .into_iter()
                .filter(|(_, v)| v.as_str() != Some(OMIT))
                .collect::<Map<_, _>>(),
            _ => Map::new(),
        };
        let mut environment = Map::new();
        for env in &task.environment {
            let value = self
                .render_json(r, env)
                .map_err(|e| arg_error(&task.origin, &e, r))?;
            match value {
                Json::Object(m) => environment.extend(m),
                Json::Null => {}
                _ => return Err(format!("{}: `environment` must be a mapping", task.origin)),
            }
        }
        Ok(CompiledTask {
            args,
            environment,
            templates: RefCell::new(HashMap::new()),
        })
    }
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
