//! `fail`: fails the host with a message.

use super::*;

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let msg = task
        .args
        .get("msg")
        .cloned()
        .unwrap_or(json!("Failed as requested from task"));
    h.with_resolver(task, layer, |h, r| match h.render_json(r, &msg) {
        Ok(v) => ItemOutcome::failed(json_text(&h.shared.reporter, &v)),
        Err(e) => ItemOutcome::failed(arg_error(task.arg_origin("msg"), &e, r)),
    })
    .into()
}
