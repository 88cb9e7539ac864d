//! `meta`: steers the task list (flush_handlers, end_host, end_play,
//! clear_facts, refresh_inventory, noop and the ones with no effect on one
//! host).

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
    // ansible-core's banner of the task and, at -vv, its words for what
    // the action did; none for rprov's own implicit ones.
    let said = |h: &HostRunner, msg: &str| {
        if !task.is_implicit() {
            let id = task as *const Task as usize;
            h.shared.reporter.meta(id, name, h.in_handlers, msg);
        }
    };
    let flow = match what.as_str() {
        // ansible-core's words; its run stops there.
        "flush_handlers" if h.in_handlers => {
            let o = ItemOutcome::failed("flush_handlers cannot be used as a handler".to_string());
            h.report(task, name, None, &o, started);
            return h.conclude(task, o, None);
        }
        "flush_handlers" => {
            said(h, &format!("triggered running handlers for {}", h.name));
            Flow::FlushHandlers
        }
        "noop" => {
            said(h, "noop");
            Flow::Next
        }
        "reset_connection" => {
            said(h, "reset connection");
            Flow::Next
        }
        "refresh_inventory" => {
            if let Err(msg) = h.shared.refresh_inventory(h.pi, &task.origin.to_string()) {
                let o = ItemOutcome::failed(format!("{}: refresh_inventory: {msg}", task.origin));
                h.report(task, name, None, &o, started);
                return h.conclude(task, o, None);
            }
            // This host's groups and variables as the source has them now.
            h.vars.inventory = h.shared.inventory().host_vars(&h.name);
            said(h, "inventory successfully refreshed");
            Flow::Next
        }
        "clear_host_errors" => {
            h.shared.clear_host_errors(h.steps);
            said(h, "cleared host errors");
            Flow::Next
        }
        "end_host" | "end_play" | "end_batch" => {
            // ansible-core's words for what it does, shown at -vv.
            let msg = match what.as_str() {
                "end_host" => {
                    // As ansible-core's `end_host`: out of the play's hosts
                    // (`ansible_play_hosts`) for its other hosts too.
                    h.shared.play_hosts.remove(&h.name);
                    format!("ending play for {}", h.name)
                }
                "end_play" => {
                    h.shared.end(h.pi, None);
                    "ending play".to_string()
                }
                _ => {
                    h.shared.end(h.pi, Some(h.shared.batch()));
                    "ending batch".to_string()
                }
            };
            said(h, &msg);
            let o = ItemOutcome::skipped(&msg);
            h.report(task, name, None, &o, started);
            return Err(Stop::Ended);
        }
        "clear_facts" => {
            h.clear_facts();
            said(h, "facts cleared");
            Flow::Next
        }
        // The implicit end of a role applied once per host (see
        // `playbook::role`): done here if one of its tasks ran.
        "role_complete" => {
            if let Some(key) = task.role.as_ref().and_then(|r| r.once_key.as_ref()) {
                if h.role_ran(task) {
                    h.roles_done.insert(key.clone());
                }
            }
            Flow::Next
        }
        // A literal `include_role` with `public: true` ran here (see
        // `playbook::role`): its role's variables are the host's play's now.
        "role_public" => {
            if let Some(role) = &task.role {
                if !h.vars.public_roles.iter().any(|r| Arc::ptr_eq(r, role)) {
                    h.vars.public_roles.push(role.clone());
                }
            }
            Flow::Next
        }
        "end_role" => {
            // The loader refuses it outside a role's tasks.
            if let Some(role) = &task.role {
                h.ended_roles.insert(Arc::as_ptr(&role.own) as usize);
                let msg = format!("ending role {} for {}", role.name(), h.name);
                said(h, &msg);
            }
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

/// A `meta` task skipped by its `when`: ansible-core's skip reason for that
/// action (`end_host conditional evaluated to False, continuing execution
/// for web1`), also shown at -vv as `META: …`.
pub(in crate::engine::host) fn skipped_as_ansible(
    h: &HostRunner,
    task: &Task,
    o: &mut ItemOutcome,
) {
    let what = task
        .args
        .get("_raw_params")
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim();
    let host = &h.name;
    let rest = match what {
        "flush_handlers" => format!(", not running handlers for {host}"),
        "clear_facts" => format!(", not clearing facts and fact cache for {host}"),
        "clear_host_errors" => format!(", not clearing host error state for {host}"),
        "end_batch" => ", continuing current batch".to_string(),
        "end_play" => ", continuing play".to_string(),
        "end_host" => format!(", continuing execution for {host}"),
        "end_role" => match &task.role {
            Some(r) => format!(", continuing role {} for {host}", r.name()),
            None => return,
        },
        _ => return,
    };
    let reason = format!("{what} conditional evaluated to False{rest}");
    let id = task as *const Task as usize;
    let name = task.name.as_deref().unwrap_or(&task.module_written);
    h.shared.reporter.meta(id, name, h.in_handlers, &reason);
    o.result
        .insert("skip_reason".into(), Json::String(reason.clone()));
    o.msg = Some(reason);
}
