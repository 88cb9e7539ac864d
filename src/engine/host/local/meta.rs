//! `meta`: steers the task list (flush_handlers, end_host, end_play,
//! clear_facts, noop and the ones with no effect on one host).

use super::*;

pub(super) fn run(
    h: &mut HostRunner,
    task: &Task,
    name: &str,
    started: Instant,
) -> Result<Flow, Stop> {
    let what = task
        .args
        .get("_raw_params")
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let flow = match what.as_str() {
        "flush_handlers" => Flow::FlushHandlers,
        "noop" | "refresh_inventory" | "reset_connection" => Flow::Next,
        "clear_host_errors" => {
            h.shared.clear_host_errors();
            Flow::Next
        }
        "end_host" | "end_play" => {
            let o = ItemOutcome::skipped(&format!("meta: {what}"));
            h.report(task, name, None, &o, started);
            return Err(Stop::Ended);
        }
        "clear_facts" => {
            h.vars.set.clear();
            Flow::Next
        }
        other => {
            let o = ItemOutcome::failed(format!("{}: unknown meta action `{other}`", task.origin));
            h.report(task, name, None, &o, started);
            return h.conclude(task, o, None);
        }
    };
    Ok(flow)
}
