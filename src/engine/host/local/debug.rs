//! `debug`: prints a message or a variable's value; nothing changes.

use super::*;
use crate::modules::typed::module_args;

module_args! {
    /// `debug`'s arguments. `msg` and `var` stay as written: `msg` is
    /// rendered only when shown, `var` is an expression to evaluate.
    pub struct Args {
        msg: Option<Json> ["msg"],
        var: Option<Json> ["var"],
        /// The `-v` count from which it shows anything.
        verbosity: i64 ["verbosity"] = 0,
    }
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match written_args(h, task, layer, &["verbosity"])
        .and_then(|m| Args::parse("debug", &m).map_err(|e| args_failed(task, e)))
    {
        Ok(a) => a,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    if i64::from(h.shared.reporter.verbose()) < args.verbosity {
        return ItemOutcome::skipped("verbosity threshold not met").into();
    }
    h.with_resolver(task, layer, |h, r| {
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        let text = if let Some(var) = args.var.as_ref().and_then(Json::as_str) {
            let value = r
                .context_for(&[], &[var])
                .and_then(|ctx| h.shared.templater.eval_expr(var, &ctx));
            // As ansible-core 2.19's `ReplacingMarkerBehavior`: an undefined
            // value is shown as a numbered placeholder with the reason, and a
            // warning lists it; any other error fails the task.
            let v = match value {
                Ok(v) => v,
                Err(e) if e.kind == TemplateErrorKind::Undefined => {
                    result.insert(
                        "warnings".into(),
                        json!([format!(
                            "Encountered 1 template error.\nerror 1 - {}",
                            e.message
                        )]),
                    );
                    // Which variable's value held it is said in the
                    // warning; the placeholder is ansible-core's words.
                    let bare = e
                        .message
                        .split_once(" (in the value of '")
                        .map_or(e.message.as_str(), |(m, _)| m);
                    json!(format!("<< error 1 - {bare} >>"))
                }
                // In check mode: a value a skipped task would have made.
                Err(e) if e.kind == TemplateErrorKind::NotKnown => {
                    json!(format!("<< not known in check mode - {} >>", e.message))
                }
                Err(e) => {
                    return ItemOutcome::failed(format!(
                        "{}: Error while resolving `var` expression: {e}",
                        task.arg_origin("var")
                    ))
                }
            };
            // Masked as a value: as JSON text a secret is escaped.
            let shown = h.shared.reporter.redact_json(&v);
            let text = format!(
                "{var}: {}",
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            );
            result.insert(var.to_string(), v);
            text
        } else {
            let msg = args.msg.clone().unwrap_or(json!("Hello world!"));
            match h.render_json(r, &msg) {
                Ok(v) => {
                    let text = json_text(&h.shared.reporter, &v);
                    result.insert("msg".into(), v);
                    text
                }
                Err(e) => return ItemOutcome::failed(arg_error(task.arg_origin("msg"), &e, r)),
            }
        };
        let mut o = ItemOutcome::new(Status::Ok, result);
        o.msg = Some(text);
        o.msg_kind = MsgKind::Debug;
        o
    })
    .into()
}
