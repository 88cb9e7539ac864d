//! `assert`: fails unless every condition in `that` holds.

use super::*;
use crate::modules::typed::module_args;

module_args! {
    /// `assert`'s arguments, as written: the conditions are evaluated and
    /// the messages rendered only when they are needed.
    pub struct Args {
        that: Option<Json> ["that"],
        fail_msg: Option<Json> ["fail_msg"],
        msg: Option<Json> ["msg"],
        success_msg: Option<Json> ["success_msg"],
        /// Taken and checked as Ansible's; it changes only how verbose
        /// Ansible's callback is, and rprov's output is the same either way.
        #[allow(dead_code)]
        quiet: bool ["quiet"] = false,
    }
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match written_args(h, task, layer, &["quiet"])
        .and_then(|m| Args::parse("assert", &m).map_err(|e| args_failed(task, e)))
    {
        Ok(a) => a,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    h.with_resolver(task, layer, |h, r| assert(h, task, &args, r))
        .into()
}

fn assert(h: &HostRunner, task: &Task, args: &Args, r: &Resolver) -> ItemOutcome {
    let that: Vec<String> = match &args.that {
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
        _ => return ItemOutcome::failed(format!("{}: `assert` needs `that`", task.origin)),
    };
    let text = |m: &Json| {
        h.render_json(r, m)
            .map(|v| json_text(&h.shared.reporter, &v))
    };
    for cond in &that {
        match h.eval(r, cond) {
            Ok(true) => {}
            Ok(false) => {
                let own = args
                    .fail_msg
                    .as_ref()
                    .or(args.msg.as_ref())
                    .map(|m| text(m).unwrap_or_else(|e| e.to_string()));
                // Without a message of the task's, the line shown names the
                // condition; the registered `msg` is ansible-core's words.
                let mut o = match own {
                    Some(msg) => ItemOutcome::failed(msg),
                    None => {
                        let mut o = ItemOutcome::failed(format!("Assertion failed: {cond}"));
                        o.result.insert("msg".into(), json!("Assertion failed"));
                        o
                    }
                };
                o.result.insert("assertion".into(), json!(cond));
                o.result.insert("evaluated_to".into(), json!(false));
                return o;
            }
            Err(e) => {
                return ItemOutcome::failed(format!("{}: in assertion `{cond}`: {e}", task.origin))
            }
        }
    }
    let msg = args
        .success_msg
        .as_ref()
        .map(|m| text(m).unwrap_or_default())
        .unwrap_or_else(|| "All assertions passed".into());
    let mut o = ItemOutcome::new(Status::Ok, Map::new());
    o.result.insert("changed".into(), json!(false));
    o.result.insert("msg".into(), json!(msg));
    o
}
