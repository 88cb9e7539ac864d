//! Modules that run on the controller: no probe, no remote command. Each is
//! a small file here and a line in [`LOCAL`]; the engine finds a task's
//! module there and dispatches through it, never by matching names.
//!
//! Most take the task (and its loop variables) and give a [`Local`]: a result
//! like a module's on a host, or tasks to run next in the task's place
//! (`include_tasks`). `meta` steers the task list itself, before `when:` and
//! delegation, so it is a [`Runs::Control`]. A module with `once` runs for
//! all hosts of the play on the first host that reaches it (Ansible's
//! `BYPASS_HOST_LOOP`: `add_host`), as `run_once` does.

mod add_host;
mod assert;
mod debug;
mod fail;
mod group_by;
mod include_role;
mod include_tasks;
mod include_vars;
pub(in crate::engine::host) mod meta;
mod pause;
mod set_fact;
mod set_stats;
pub(super) mod validate_argument_spec;

/// Each module's `module_args!` struct, named for `modules::SPECS` (the
/// modules themselves stay private to the engine).
pub(crate) mod args {
    pub(crate) use super::add_host::Args as AddHost;
    pub(crate) use super::assert::Args as Assert;
    pub(crate) use super::debug::Args as Debug;
    pub(crate) use super::fail::Args as Fail;
    pub(crate) use super::group_by::Args as GroupBy;
    pub(crate) use super::include_vars::Args as IncludeVars;
    pub(crate) use super::pause::Args as Pause;
    pub(crate) use super::set_stats::Args as SetStats;
    pub(crate) use super::validate_argument_spec::Args as ValidateArgumentSpec;
}

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Map, Value as Json};

use crate::playbook::{Task, Vars};
use crate::report::Status;

use super::*;

/// A module run for one host and item: the runner, the task, its loop
/// variables.
pub(super) type ItemFn = fn(&mut HostRunner, &Task, &Vars) -> Local;

/// A step of the task list: the runner, the task, its shown name, when it
/// started.
pub(super) type ControlFn = fn(&mut HostRunner, &Task, &str, Instant) -> Result<Flow, Stop>;

/// How a local module runs.
pub(super) enum Runs {
    /// Per host and loop item, after `when:`, like any module.
    Item(ItemFn),
    /// Steers the task list (`meta`): runs before `when:`, throttling and
    /// delegation, and says what the list does next.
    Control(ControlFn),
}

/// A module that runs on the controller.
pub(super) struct LocalModule {
    pub name: &'static str,
    pub runs: Runs,
    /// Runs once for all the play's hosts (Ansible's `BYPASS_HOST_LOOP`).
    pub once: bool,
    /// `changed_when`/`failed_when` apply to its result (as they do to every
    /// task in Ansible; not to `include_tasks`, whose result is its tasks).
    pub conditions: bool,
}

/// What a local module did.
pub(super) enum Local {
    /// A result, as a module on a host gives one.
    Done(ItemOutcome),
    /// Load this task file and run its tasks next (`include_tasks`):
    /// `file` as given, found from `base_dir` (the including file's folder).
    Include { file: Json, base_dir: Json },
    /// Wait on the controller (`pause`), then give its result.
    Pause(pause::Pause),
}

impl From<ItemOutcome> for Local {
    fn from(o: ItemOutcome) -> Self {
        Local::Done(o)
    }
}

/// Every local module. The argument checks are in `modules::SPECS` (the
/// entries with `local`); `registry_matches_specs` holds the two together.
pub(super) static LOCAL: &[LocalModule] = &[
    item("debug", debug::run).with_conditions(),
    item("assert", assert::run).with_conditions(),
    item("fail", fail::run).with_conditions(),
    item("set_fact", set_fact::run).with_conditions(),
    item("set_stats", set_stats::run).with_conditions(),
    item("include_tasks", include_tasks::run),
    item("include_role", include_role::run),
    item("include_vars", include_vars::run).with_conditions(),
    item("group_by", group_by::run).with_conditions(),
    item("validate_argument_spec", validate_argument_spec::run).with_conditions(),
    LocalModule {
        once: true,
        ..item("add_host", add_host::run).with_conditions()
    },
    LocalModule {
        once: true,
        ..item("pause", pause::run)
    },
    LocalModule {
        name: "meta",
        runs: Runs::Control(meta::run),
        once: false,
        conditions: false,
    },
];

const fn item(name: &'static str, run: ItemFn) -> LocalModule {
    LocalModule {
        name,
        runs: Runs::Item(run),
        once: false,
        conditions: false,
    }
}

impl LocalModule {
    const fn with_conditions(self) -> Self {
        LocalModule {
            conditions: true,
            ..self
        }
    }
}

/// The local module called `name` (canonical, without `ansible.builtin.`).
pub(super) fn find(name: &str) -> Option<&'static LocalModule> {
    LOCAL.iter().find(|m| m.name == name)
}

/// The task-list step of `name`, when it is one (`meta`).
pub(super) fn control(name: &str) -> Option<ControlFn> {
    match find(name)?.runs {
        Runs::Control(f) => Some(f),
        Runs::Item(_) => None,
    }
}

/// The task's arguments rendered for this item, as the mapping a module
/// reads; else why not (the task's failure message).
fn mapping_args(h: &HostRunner, task: &Task, layer: &Vars) -> Result<Map<String, Json>, String> {
    match h.with_resolver(task, layer, |h, r| h.render_args(r, task)) {
        Ok(Json::Object(args)) => Ok(args),
        Ok(_) => Err(format!("{}: arguments must be a mapping", task.origin)),
        Err(e) => Err(e),
    }
}

/// The task's arguments as written (a module renders its free values when
/// it needs them, as `debug`'s `msg`), with the ones in `render` rendered:
/// those of a kind the typed parse checks (`verbosity`, `quiet`), which a
/// template may give.
fn written_args(
    h: &HostRunner,
    task: &Task,
    layer: &Vars,
    render: &[&str],
) -> Result<Map<String, Json>, String> {
    // No arguments at all (`- debug:`) is an empty mapping, as it was when
    // the module read them by name.
    let mut args = match &task.args {
        Json::Object(m) => m.clone(),
        _ => Map::new(),
    };
    h.with_resolver(task, layer, |h, r| {
        for name in render {
            if let Some(v) = args
                .get_mut(*name)
                .filter(|v| crate::modules::args::has_template(v))
            {
                *v = h
                    .render_json(r, v)
                    .map_err(|e| h.template_failure(task, Some(name), &e, r))?;
            }
        }
        Ok(args)
    })
}

/// A typed argument parse's failure as the task's message, at the task.
fn args_failed(task: &Task, e: crate::modules::PlanError) -> String {
    match e {
        crate::modules::PlanError::Fail(m) => format!("{}: {m}", task.origin),
        // `parse` fails only with `Fail`; anything else is shown as it is.
        other => format!("{}: {other:?}", task.origin),
    }
}

/// Whether the task runs once for all hosts (`run_once:`, or a module that
/// bypasses the host loop).
pub(in crate::engine) fn runs_once(task: &Task) -> bool {
    task.run_once || find(&task.module).is_some_and(|m| m.once)
}

/// Whether a task's ok result names tasks to run next (`include_tasks`, and
/// an `include_role` loaded when it runs).
pub(in crate::engine) fn includes(task: &Task) -> bool {
    task.module == "include_tasks" || task.role_include.is_some()
}

impl HostRunner {
    /// Runs a local module for one item.
    pub(super) async fn run_local(&mut self, task: &Task, layer: &Vars) -> ItemOutcome {
        let Some(module) = find(&task.module) else {
            return ItemOutcome::failed(format!(
                "{}: module `{}` is not available here",
                task.origin, task.module
            ));
        };
        let Runs::Item(run) = module.runs else {
            return ItemOutcome::failed(format!(
                "{}: `{}` steers the task list and takes no loop",
                task.origin, task.module
            ));
        };
        let splat;
        let task = match self.splat(task, layer) {
            Ok(None) => task,
            Ok(Some(t)) => {
                splat = t;
                &splat
            }
            Err(msg) => return ItemOutcome::failed(msg),
        };
        let mut o = match run(self, task, layer) {
            Local::Done(o) => o,
            Local::Include { file, base_dir } => {
                let mut result = Map::new();
                result.insert("changed".into(), json!(false));
                result.insert("include".into(), file);
                result.insert("_base_dir".into(), base_dir);
                self.name_included_file(&mut result);
                ItemOutcome::new(Status::Ok, result)
            }
            Local::Pause(p) => {
                let name = self.task_name(task, Some(layer));
                self.pause(&name, p).await
            }
        };
        if module.conditions {
            self.apply_conditions(task, layer, &mut o);
        }
        o
    }

    /// The resolver for a local task's item (`layer`: loop variables).
    pub(in crate::engine::host) fn with_resolver<T>(
        &self,
        task: &Task,
        layer: &Vars,
        f: impl FnOnce(&Self, &Resolver) -> T,
    ) -> T {
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        f(self, &r)
    }

    /// `assert: '{{ item }}'`: arguments written as one template are
    /// rendered (with the loop variables) to a mapping and become the
    /// arguments, those under `args:` winning, as Ansible's argument splat.
    /// `None` when the task has no such text (or the module takes free-form
    /// text: that is its own).
    fn splat(&self, task: &Task, layer: &Vars) -> Result<Option<Task>, String> {
        let Some(spec) = crate::modules::spec(&task.module) else {
            return Ok(None);
        };
        let Some(raw) = task.args.get("_raw_params").filter(|_| !spec.free_form) else {
            return Ok(None);
        };
        let rendered = self.with_resolver(task, layer, |h, r| {
            h.render_json(r, raw)
                .map_err(|e| arg_error(&task.origin, &e, r))
        })?;
        let mut args = match rendered {
            Json::Object(args) => args,
            // `args: '{{ omit }}'`: no arguments from it.
            Json::String(s) if s == rprov_template::OMIT => Map::new(),
            other => {
                return Err(format!(
                    "Task failed: Finalization of task args for 'ansible.builtin.{}' failed: Task args must resolve to a 'dict' not '{}'.",
                    task.module,
                    crate::modules::args::py_type(&other)
                ))
            }
        };
        // An argument that renders to `omit` is not given.
        args.retain(|_, v| v.as_str() != Some(rprov_template::OMIT));
        if let Json::Object(written) = &task.args {
            for (k, v) in written.iter().filter(|(k, _)| *k != "_raw_params") {
                args.insert(k.clone(), v.clone());
            }
        }
        if !spec.args.is_empty() && !spec.open {
            if let Some(k) = args.keys().find(|k| spec.arg(k).is_none()) {
                let all = spec.arg_names().collect::<Vec<_>>().join(", ");
                return Err(format!(
                    "{}: unknown argument `{k}` for module `{}` (from `{raw}`)\n= help: `{}` takes: {all}",
                    task.origin, spec.name, spec.name
                ));
            }
        }
        if task.module == "assert" && task.loop_items.is_some() {
            let made = self
                .loop_made_texts
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(that) = args.get_mut("that") {
                mark_untrusted(that, &made);
            }
        }
        let mut t = task.clone();
        t.args = Json::Object(args);
        Ok(Some(t))
    }
}

impl HostRunner {
    /// The variables a `run_once` task set on the host that ran it, set on
    /// this one too: ansible-core gives the `ansible_facts` of a `run_once`
    /// result to every host of the play (its strategy's `get_task_hosts`),
    /// so a `set_fact` or `include_vars` run once defines its names
    /// everywhere, with the one value the host that ran it computed.
    pub(in crate::engine::host) fn adopt_run_once_vars(
        &mut self,
        task: &Task,
        result: &Map<String, Json>,
    ) {
        // With `delegate_facts` they went to the host it was delegated to.
        if self.delegates_facts(task) {
            return;
        }
        let Some(Json::Object(facts)) = result.get("ansible_facts") else {
            return;
        };
        let kind = match task.module.as_str() {
            "set_fact" => FactsKind::SetFact {
                // Text written in the playbook keeps its trust; what a
                // template made does not (see `set_fact::written_trust`).
                trusted: facts
                    .keys()
                    .filter(|k| {
                        let written = task.args.get(k.as_str()).and_then(Json::as_str);
                        !written.is_some_and(rprov_template::is_template)
                    })
                    .cloned()
                    .collect(),
                cacheable: task
                    .args
                    .get("cacheable")
                    .and_then(crate::truthy::as_bool)
                    .unwrap_or(false),
            },
            "include_vars" => FactsKind::IncludeVars,
            _ => return,
        };
        self.apply_facts(Delivery {
            kind,
            facts: facts.clone(),
        });
    }
}

/// The key under which an argument splat hands `assert` a condition that
/// its loop item's template made (see `tasks::loop_made_texts`): evaluated,
/// it fails as untrusted, as in ansible-core 2.19.
pub(super) const UNTRUSTED: &str = "__rprov_untrusted";

/// `that` (a condition or a list of them) with each condition in `made`
/// wrapped under [`UNTRUSTED`].
fn mark_untrusted(that: &mut Json, made: &std::collections::HashSet<String>) {
    match that {
        Json::String(s) if made.contains(s.as_str()) => {
            *that = json!({ UNTRUSTED: s.clone() });
        }
        Json::Array(items) => items.iter_mut().for_each(|i| mark_untrusted(i, made)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Load-time argument checks come from `SPECS`; what runs comes from
    /// `LOCAL`: a local module must be in both.
    #[test]
    fn registry_matches_specs() {
        for m in LOCAL {
            let spec = crate::modules::spec(m.name);
            assert!(
                spec.is_some_and(|s| s.is_local()),
                "{} is run locally but has no local spec",
                m.name
            );
        }
        // Expanded when the playbook loads: they never reach the engine.
        let at_load = ["import_tasks", "import_role"];
        for s in crate::modules::SPECS.iter().filter(|s| s.is_local()) {
            assert!(
                find(s.name).is_some() || at_load.contains(&s.name),
                "{} is declared local but the engine has no local module for it",
                s.name
            );
        }
        // A module that runs on the host has its decision in its entry;
        // one that does not run there has none.
        for s in crate::modules::SPECS {
            assert_eq!(
                s.plan.is_some(),
                s.runs == crate::modules::Runs::Host,
                "{}: a host module needs `=> plan` in SPECS, and only a host module has one",
                s.name
            );
        }
    }
}
