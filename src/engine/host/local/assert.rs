//! `assert`: fails unless every condition in `that` holds.

use super::*;

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    h.with_resolver(task, layer, |h, r| assert(h, task, r))
        .into()
}

fn assert(h: &HostRunner, task: &Task, r: &Resolver) -> ItemOutcome {
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
                let msg = task
                    .args
                    .get("fail_msg")
                    .or_else(|| task.args.get("msg"))
                    .map(|m| text(m).unwrap_or_else(|e| e.to_string()))
                    .unwrap_or_else(|| format!("Assertion failed: {cond}"));
                let mut o = ItemOutcome::failed(msg);
                o.result.insert("assertion".into(), json!(cond));
                o.result.insert("evaluated_to".into(), json!(false));
                return o;
            }
            Err(e) => {
                return ItemOutcome::failed(format!("{}: in assertion `{cond}`: {e}", task.origin))
            }
        }
    }
    let msg = task
        .args
        .get("success_msg")
        .map(|m| text(m).unwrap_or_default())
        .unwrap_or_else(|| "All assertions passed".into());
    let mut o = ItemOutcome::new(Status::Ok, Map::new());
    o.result.insert("changed".into(), json!(false));
    o.result.insert("msg".into(), json!(msg));
    o
}
