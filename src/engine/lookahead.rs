//! Foreseeing what the next tasks will ask of the host, so one probe answers
//! them all.
//!
//! When a task needs facts it has not got, the executor plans the tasks after
//! it against the same (incomplete) cache and collects every probe they ask
//! for, up to the first task whose effect cannot be known (a command). The
//! plans made here are thrown away: they only decide what to ask. A task that
//! cannot be planned yet (its `when` or arguments use something not known) is
//! passed over; when its turn comes, it is planned for real.

use super::host::HostRunner;
use crate::modules::{self, PlanError};
use crate::playbook::{Task, Vars};
use crate::probe::Probe;

/// At most this many probes are batched into one command.
const MAX_BATCH: usize = 500;

pub fn collect(
    runner: &HostRunner,
    tasks: &[Task],
    start: usize,
    become_: &Option<String>,
) -> Vec<Probe> {
    let mut out: Vec<Probe> = Vec::new();
    for task in tasks.iter().skip(start) {
        if out.len() >= MAX_BATCH || task.block.is_some() || modules::is_opaque(&task.module) {
            break;
        }
        if modules::spec(&task.module).is_none_or(|s| s.local) || !runner.tags_match(task) {
            continue;
        }
        if runner.become_for(task.become_, task.become_user.as_deref()) != *become_ {
            continue;
        }
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
            if let Err(PlanError::Need(probes)) = runner.plan_now(task, layer, become_) {
                out.extend(probes);
            }
        }
    }
    out
}
