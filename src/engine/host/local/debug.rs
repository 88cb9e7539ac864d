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
    // ansible-core's argument spec: `msg` and `var` are mutually exclusive
    // (a value that may render to `omit` is left to be seen).
    let given = |v: &Option<Json>| match v {
        None | Some(Json::Null) => false,
        Some(Json::String(s)) => {
            !(s.contains("omit") && crate::modules::args::has_template(&json!(s)))
        }
        Some(_) => true,
    };
    if given(&args.msg) && given(&args.var) {
        return ItemOutcome::failed("parameters are mutually exclusive: msg|var".to_string())
            .into();
    }
    if i64::from(h.shared.reporter.verbose()) < args.verbosity {
        return ItemOutcome::skipped("verbosity threshold not met").into();
    }
    h.with_resolver(task, layer, |h, r| {
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        let var = match args.var.as_ref() {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.as_str()),
            Some(other) => return ItemOutcome::failed(not_text(task, other)),
        };
        let text = if let Some((var, value)) = var.and_then(|w| var_value(h, r, w)) {
            let var = var.as_str();
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
            // A value that is `omit` cannot be left out here: ansible-core
            // shows its placeholder and warns.
            let v = if v.as_str() == Some(rprov_template::OMIT) {
                result.insert(
                    "warnings".into(),
                    json!(["The result of the `var` expression could not be omitted; a placeholder was used instead."]),
                );
                json!("<<Omit>>")
            } else {
                v
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
                Err(e) => return ItemOutcome::failed(h.template_failure(task, Some("msg"), &e, r)),
            }
        };
        let mut o = ItemOutcome::new(Status::Ok, result);
        o.msg = Some(text);
        o.msg_kind = MsgKind::Debug;
        o
    })
    .into()
}

/// The text `debug`'s `var` names and the value of that expression. As
/// ansible-core 2.19: `var` is rendered as any argument is, and what it
/// renders to is evaluated as an expression, which ansible-core does only
/// for text it trusts (see [`rprov_template::trust`]): written in the
/// playbook, or fetched from a trusted variable (`var: "{{ name }}"`); an
/// `!unsafe` value or text a template made is refused. A template that
/// renders to something else than text is that value. `None`: `var` is
/// omitted (`"{{ omit }}"`), and `msg` is shown, as ansible-core drops an
/// omitted argument.
fn var_value(
    h: &HostRunner,
    r: &Resolver,
    written: &str,
) -> Option<(String, Result<Json, TemplateError>)> {
    let t = &h.shared.templater;
    let evaluate = |text: &str| {
        r.context_for(&[], &[text])
            .and_then(|ctx| t.eval_expr(text, &ctx))
    };
    if !rprov_template::is_template(written) {
        return Some((written.to_string(), evaluate(written)));
    }
    let source = Json::String(written.to_string());
    let rendered = r
        .context_for(&[&source], &[])
        .and_then(|ctx| t.render_str(written, &ctx));
    Some(match rendered {
        Ok(Json::String(text)) if text == rprov_template::OMIT => return None,
        Ok(Json::String(text)) => {
            let via = rprov_template::trust::fetched_variable(written);
            if via.is_some_and(|name| r.trusts(name)) {
                let value = evaluate(&text);
                (text, value)
            } else {
                (
                    written.to_string(),
                    Err(rprov_template::trust::untrusted_error()),
                )
            }
        }
        other => (written.to_string(), other),
    })
}

/// ansible-core's refusal of a `var` that is not text (its argument spec
/// takes a string without conversion), in its words.
fn not_text(task: &Task, v: &Json) -> String {
    let kind = match v {
        Json::Object(_) => "dict",
        Json::Array(_) => "list",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Null => "NoneType",
    };
    format!(
        "{}: argument 'var' is of type {kind} and we were unable to convert to _check_type_str_no_conversion: '{}' is not a string and conversion is not allowed",
        task.arg_origin("var"),
        crate::modules::args::py_repr_value(v)
    )
}
