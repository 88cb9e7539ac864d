//! `fail`: fails the host with a message.

use super::*;
use crate::modules::typed::module_args;

module_args! {
    /// `fail`'s argument, rendered only when the task fails with it.
    pub struct Args {
        msg: Option<Json> ["msg"],
    }
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match written_args(h, task, layer, &[]) {
        Ok(m) => m,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    let msg = match Args::parse("fail", &args) {
        Ok(a) => a.msg,
        Err(e) => return ItemOutcome::failed(args_failed(task, e)).into(),
    }
    .unwrap_or(json!("Failed as requested from task"));
    h.with_resolver(task, layer, |h, r| match h.render_json(r, &msg) {
        Ok(v) => ItemOutcome::failed(json_text(&h.shared.reporter, &v)),
        Err(e) => ItemOutcome::failed(h.template_failure(task, Some("msg"), &e, r)),
    })
    .into()
}
