//! Foreseeing what the next tasks will ask of the host, so one probe answers
//! them all.
//!
//! When a task needs facts it has not got, the executor plans the tasks after
//! it against the same (incomplete) cache and collects every probe they ask
//! for, up to the first task whose effect cannot be known (a command). The
//! scan goes on past the end of the current task list into the lists around
//! it (the rest of an including file, a role boundary, the play's later
//! sections), into blocks, and into `include_tasks` files whose name is
//! already known. Each probe is tagged with the sudo user of the task that
//! asks for it: the executor answers the probes of every user in one remote
//! command (a `sudo` for each become user nested inside it, see
//! `HostRunner::probe`), so a run whose tasks change nothing costs one remote
//! command, become or not. The plans made here are thrown away:
//! they only decide what to ask. A task that cannot be planned yet (its
//! `when` or arguments use something not known) is passed over; when its turn
//! comes, it is planned for real; an argument that uses an earlier task's
//! result is taken as empty, which still names the paths to probe. A probe asked for too early is harmless:
//! an action marks what it touched as stale.

use super::host::{HostRunner, Rest};
use crate::modules::{self, PlanError};
use crate::playbook::{Task, Vars};
use crate::probe::Probe;

/// At most this many probes are batched into one command.
const MAX_BATCH: usize = 500;

/// How deep the scan follows `include_tasks` inside `include_tasks`.
const MAX_INCLUDE_DEPTH: usize = 8;

/// A probe and the sudo user (`None`: the login user) it is asked as.
pub type UserProbe = (Option<String>, Probe);

pub fn collect(
    runner: &HostRunner,
    tasks: &[Task],
    start: usize,
    rest: Rest<'_>,
) -> Vec<UserProbe> {
    let mut out: Vec<UserProbe> = Vec::new();
    if !scan(runner, tasks, start, 0, &mut out) {
        return out;
    }
    for (tasks, next) in rest.iter().rev() {
        if !scan(runner, tasks, *next, 0, &mut out) {
            break;
        }
    }
    out
}

/// Collects the probes of `tasks[start..]`; false when the scan must stop
/// there (an opaque task, or the batch is full).
fn scan(
    runner: &HostRunner,
    tasks: &[Task],
    start: usize,
    depth: usize,
    out: &mut Vec<UserProbe>,
) -> bool {
    for task in tasks.iter().skip(start) {
        if out.len() >= MAX_BATCH {
            return false;
        }
        if !runner.tags_match(task) {
            continue;
        }
        if let Some(block) = &task.block {
            // rescue and always run only in special cases: stop after the block.
            if !scan(runner, &block.block, 0, depth, out) {
                return false;
            }
            continue;
        }
        if super::host::local::includes(task) && depth < MAX_INCLUDE_DEPTH {
            match runner.foresee_include(task) {
                Some(included) => {
                    if !scan(runner, &included, 0, depth + 1, out) {
                        return false;
                    }
                    continue;
                }
                None => return false,
            }
        }
        // A role's implicit end changes nothing the next tasks see; a role
        // made public (`role_public`) does, and is taken as not yet made.
        if task.is_implicit() {
            continue;
        }
        // A module named by a template may be any module: opaque.
        if modules::is_opaque(&task.module) || task.action_template.is_some() {
            return false;
        }
        if modules::spec(&task.module).is_none_or(|s| s.is_local()) {
            continue;
        }
        // Probes go to where the task runs: the host, or the controller. A
        // task delegated to another host probes that host when it runs.
        if task.delegate_local != runner.is_delegated() || task.delegate_to.is_some() {
            continue;
        }
        let Ok(user) = runner.become_for(task, &Vars::new()) else {
            continue;
        };
        let layers: Vec<Vars> = match &task.loop_items {
            None => vec![Vars::new()],
            Some(spec) => match runner.loop_items(task, spec, None) {
                Ok(items) => items
                    .into_iter()
                    .map(|i| {
                        let mut v = Vars::new();
                        v.insert(task.loop_var.clone(), i);
                        v
                    })
                    .collect(),
                Err(_) => continue,
            },
        };
        // `when` is not evaluated here: it may depend on results not known
        // yet, and an unneeded stat costs nothing.
        for layer in &layers {
            if let Err(PlanError::Need(probes)) = runner.plan_ahead(task, layer, &user) {
                out.extend(probes.into_iter().map(|p| (user.clone(), p)));
            }
        }
    }
    true
}
