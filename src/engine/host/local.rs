//! Modules that run on the controller (debug, set_fact, assert, fail) and
//! dynamic `include_tasks`.

use std::path::PathBuf;

use serde_json::{json, Map, Value as Json};

use rprov_template::TemplateErrorKind;

use super::super::vars::{unknown_value, Refusal};
use crate::playbook::{Task, Vars};
use crate::report::{MsgKind, Status};

use super::*;

/// A `set_fact`'s values: those rendered, and those not known (with why).
#[derive(Default)]
struct Facts {
    known: Map<String, Json>,
    unknown: Vec<(String, Refusal)>,
}

impl HostRunner {
    /// Modules that run on the controller: debug, set_fact, assert, fail, include_tasks.
    pub(super) fn run_local(&mut self, task: &Task, layer: &Vars) -> ItemOutcome {
        if task.module == "set_fact" {
            let rendered = {
                let magic = self.magic(task.role.as_deref());
                let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
                self.render_facts(task, &r)
            };
            return match rendered {
                Ok(facts) => self.set_fact(facts),
                Err(msg) => ItemOutcome::failed(msg),
            };
        }
        let rendered = {
            let magic = self.magic(task.role.as_deref());
            let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
            match task.module.as_str() {
                "assert" => {
                    let that: Vec<String> = match task.args.get("that") {
                        Some(Json::Array(a)) => a
                            .iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect(),
                        Some(Json::String(s)) => vec![s.clone()],
                        Some(Json::Bool(b)) => {
                            vec![if *b { "True".into() } else { "False".into() }]
                        }
                        _ => {
                            return ItemOutcome::failed(format!(
                                "{}: `assert` needs `that`",
                                task.origin
                            ))
                        }
                    };
                    for cond in &that {
                        match self.eval(&r, cond) {
                            Ok(true) => {}
                            Ok(false) => {
                                let msg = task
                                    .args
                                    .get("fail_msg")
                                    .or_else(|| task.args.get("msg"))
                                    .map(|m| {
                                        self.render_json(&r, m)
                                            .map(|v| json_text(&self.shared.reporter, &v))
                                            .unwrap_or_else(|e| e.to_string())
                                    })
                                    .unwrap_or_else(|| format!("Assertion failed: {cond}"));
                                let mut o = ItemOutcome::failed(msg);
                                o.result.insert("assertion".into(), json!(cond));
                                o.result.insert("evaluated_to".into(), json!(false));
                                return o;
                            }
                            Err(e) => {
                                return ItemOutcome::failed(format!(
                                    "{}: in assertion `{cond}`: {e}",
                                    task.origin
                                ))
                            }
                        }
                    }
                    let msg = task
                        .args
                        .get("success_msg")
                        .map(|m| {
                            self.render_json(&r, m)
                                .map(|v| json_text(&self.shared.reporter, &v))
                                .unwrap_or_default()
                        })
                        .unwrap_or_else(|| "All assertions passed".into());
                    let mut o = ItemOutcome::new(Status::Ok, Map::new());
                    o.result.insert("changed".into(), json!(false));
                    o.result.insert("msg".into(), json!(msg));
                    return o;
                }
                "debug" => {
                    let verbosity = task
                        .args
                        .get("verbosity")
                        .and_then(Json::as_u64)
                        .unwrap_or(0);
                    if u64::from(self.shared.reporter.verbose()) < verbosity {
                        return ItemOutcome::skipped("verbosity threshold not met");
                    }
                    let mut result = Map::new();
                    result.insert("changed".into(), json!(false));
                    let text = if let Some(var) = task.args.get("var").and_then(Json::as_str) {
                        let value = r
                            .context_for(&[], &[var])
                            .and_then(|ctx| self.shared.templater.eval_expr(var, &ctx));
                        let v = match value {
                            Ok(v) => v,
                            Err(e) => json!(format!("VARIABLE IS NOT DEFINED! ({e})")),
                        };
                        // Masked as a value: as JSON text a secret is escaped.
                        let shown = self.shared.reporter.redact_json(&v);
                        let text = format!(
                            "{var}: {}",
                            serde_json::to_string_pretty(&shown).unwrap_or_default()
                        );
                        result.insert(var.to_string(), v);
                        text
                    } else {
                        let msg = task
                            .args
                            .get("msg")
                            .cloned()
                            .unwrap_or(json!("Hello world!"));
                        match self.render_json(&r, &msg) {
                            Ok(v) => {
                                let text = json_text(&self.shared.reporter, &v);
                                result.insert("msg".into(), v);
                                text
                            }
                            Err(e) => {
                                return ItemOutcome::failed(arg_error(
                                    task.arg_origin("msg"),
                                    &e,
                                    &r,
                                ))
                            }
                        }
                    };
                    let mut o = ItemOutcome::new(Status::Ok, result);
                    o.msg = Some(text);
                    o.msg_kind = MsgKind::Debug;
                    return o;
                }
                "fail" => {
                    let msg = task
                        .args
                        .get("msg")
                        .cloned()
                        .unwrap_or(json!("Failed as requested from task"));
                    return match self.render_json(&r, &msg) {
                        Ok(v) => ItemOutcome::failed(json_text(&self.shared.reporter, &v)),
                        Err(e) => ItemOutcome::failed(arg_error(task.arg_origin("msg"), &e, &r)),
                    };
                }
                "include_tasks" => match self.render_args(&r, task) {
                    Ok(v) => v,
                    Err(e) => return ItemOutcome::failed(e),
                },
                other => {
                    return ItemOutcome::failed(format!(
                        "{}: module `{other}` is not available here",
                        task.origin
                    ))
                }
            }
        };
        let Json::Object(args) = rendered else {
            return ItemOutcome::failed(format!("{}: arguments must be a mapping", task.origin));
        };
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert(
            "include".into(),
            args.get("_raw_params")
                .or_else(|| args.get("file"))
                .cloned()
                .unwrap_or(Json::Null),
        );
        result.insert(
            "_base_dir".into(),
            args.get("_base_dir").cloned().unwrap_or(Json::Null),
        );
        ItemOutcome::new(Status::Ok, result)
    }

    /// The values of a `set_fact`, each rendered on its own so that one
    /// computed from a value not known (check mode) is told apart: it will be
    /// not known itself, and its later users unknown too.
    fn render_facts(&self, task: &Task, r: &Resolver) -> Result<Facts, String> {
        let Json::Object(args) = &task.args else {
            return Err(format!("{}: arguments must be a mapping", task.origin));
        };
        let mut facts = Facts::default();
        for (key, raw) in args {
            if key == "cacheable" {
                continue;
            }
            // A name that is itself not known is kept as written: nothing
            // can use it under a name no one knows anyway.
            let (name, value) = match self.render_string(r, key) {
                Ok(name) => {
                    let v = self.render_json(r, raw);
                    (name, v)
                }
                Err(e) => (key.clone(), Err(e)),
            };
            match value {
                Ok(v) => {
                    facts.known.insert(name, v);
                }
                Err(e) => match (e.kind, self.refusals.take()) {
                    (TemplateErrorKind::NotKnown, Some(refusal)) => {
                        facts.unknown.push((name, refusal))
                    }
                    _ => return Err(arg_error(task.arg_origin(key), &e, r)),
                },
            }
        }
        Ok(facts)
    }

    /// Sets what `render_facts` found: known values as they are, the others
    /// as `unknown_value`s (then the task is unknown).
    fn set_fact(&mut self, facts: Facts) -> ItemOutcome {
        for (k, v) in &facts.known {
            self.host_facts.insert(k.clone(), v.clone());
            self.shared.learn(&self.name, [(k, v)]);
        }
        if let Some((_, first)) = facts.unknown.first() {
            let msg = first.describe();
            for (k, refusal) in &facts.unknown {
                self.host_facts
                    .insert(k.clone(), unknown_value(&refusal.root));
            }
            return ItemOutcome::unknown(&msg);
        }
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("ansible_facts".into(), Json::Object(facts.known));
        ItemOutcome::new(Status::Ok, result)
    }

    /// Loads and runs a dynamic `include_tasks` file.
    pub(super) async fn run_include(
        &mut self,
        task: &Task,
        layer: &Vars,
        o: ItemOutcome,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let tasks = match self.load_include(task, &o.result) {
            Ok(t) => t,
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };
        self.run_tasks(&tasks, Some(layer), rest).await?;
        Ok(o)
    }

    /// The tasks of an `include_tasks` file, for the lookahead: `None` when
    /// its arguments cannot be rendered yet (a loop, or a variable only a
    /// later task sets) or the file does not load; it is then read when its
    /// turn comes.
    pub(in crate::engine) fn foresee_include(&self, task: &Task) -> Option<Vec<Task>> {
        if task.loop_items.is_some() {
            return None;
        }
        let magic = self.magic(task.role.as_deref());
        let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
        let Ok(Json::Object(args)) = self.render_json(&r, &task.args) else {
            return None;
        };
        let mut result = Map::new();
        for (key, arg) in [("include", "_raw_params"), ("_base_dir", "_base_dir")] {
            let v = args
                .get(arg)
                .or_else(|| (arg == "_raw_params").then(|| args.get("file")).flatten());
            result.insert(key.into(), v.cloned().unwrap_or(Json::Null));
        }
        self.load_include(task, &result).ok()
    }

    /// Finds and parses the file an `include_tasks` result names.
    pub(super) fn load_include(
        &self,
        task: &Task,
        result: &Map<String, Json>,
    ) -> Result<Vec<Task>, String> {
        let file = result
            .get("include")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let base = result
            .get("_base_dir")
            .and_then(Json::as_str)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.shared.playbook.dir.clone());
        let candidates = [base.join(&file), self.shared.playbook.dir.join(&file)];
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(format!(
                "{}: task file `{file}` not found (looked in {})",
                task.origin,
                crate::diag::display_path(&base)
            ));
        };
        let scope = crate::playbook::TaskScope {
            role: task.role.clone(),
            base_dir: base.clone(),
            playbook_dir: self.shared.playbook.dir.clone(),
            inherited: crate::playbook::Inherited {
                tags: task.tags.clone(),
                become_: task.become_,
                become_user: task.become_user.clone(),
                vars: task.vars.clone(),
                environment: task.environment.clone(),
                any_errors_fatal: Some(task.any_errors_fatal),
                ..Default::default()
            },
            depth: 0,
            roles: None,
        };
        crate::playbook::parse_tasks_file(path, &scope).map_err(|e| e.to_string())
    }
}
