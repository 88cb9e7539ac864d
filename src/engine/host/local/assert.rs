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
    let args = match written_args(h, task, layer, &["quiet"]).and_then(|m| {
        // `that:` given no value: ansible-core's conditional's own words.
        if m.get("that").is_some_and(Json::is_null) {
            return Err("Task failed: Empty conditional expressions are not allowed.".to_string());
        }
        Args::parse("assert", &m).map_err(|e| args_failed(task, e))
    }) {
        Ok(a) => a,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    h.with_resolver(task, layer, |h, r| assert(h, task, &args, r))
        .into()
}

/// `that` as ansible-core's assert reads it when it is entirely a template
/// (`that: "{{ conditions }}"`): a template that renders to a list is that
/// list of conditions. A variable's list is taken as written, its items not
/// rendered (ansible-core resolves only to the container), each a
/// conditional in its turn: trusted when the variable is (see
/// `Resolver::trusts`; an `!unsafe` item is a template of itself, refused
/// when evaluated). `None`: `that` is one conditional.
fn templated_list(h: &HostRunner, r: &Resolver, that: &str) -> Option<Vec<(String, bool)>> {
    let trimmed = that.trim();
    if !rprov_template::is_all_template(trimmed) {
        return None;
    }
    let source = Json::String(trimmed.to_string());
    let rendered = r
        .context_for(&[&source], &[])
        .and_then(|ctx| h.shared.templater.render_str(trimmed, &ctx))
        .ok()?;
    let Json::Array(items) = rendered else {
        return None;
    };
    let reference = rprov_template::trust::fetched_variable(trimmed);
    let written = reference
        .filter(|name| trimmed[2..trimmed.len() - 2].trim() == *name)
        .and_then(|name| r.written(name))
        .and_then(|v| match v {
            Json::Array(w) if w.len() == items.len() => Some(w),
            _ => None,
        });
    let trusted = reference.is_some_and(|name| r.trusts(name));
    Some(
        written
            .unwrap_or(items)
            .iter()
            .map(|v| (condition_text(v), trusted || !v.is_string()))
            .collect(),
    )
}

/// A condition of `that` and whether it may be evaluated: not when an
/// argument splat marked it as made by its loop item's template (see
/// `super::UNTRUSTED`).
fn splat_condition(v: &Json) -> (String, bool) {
    match v.get(super::UNTRUSTED) {
        Some(Json::String(s)) => (s.clone(), false),
        _ => (condition_text(v), true),
    }
}

/// A condition as text: a string as it is, a boolean in Python's spelling,
/// anything else as JSON.
fn condition_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    }
}

fn assert(h: &HostRunner, task: &Task, args: &Args, r: &Resolver) -> ItemOutcome {
    let listed = match &args.that {
        Some(Json::String(s)) => templated_list(h, r, s),
        _ => None,
    };
    let that: Vec<(String, bool)> = match (&args.that, listed) {
        (_, Some(list)) => list,
        (Some(Json::Array(a)), None) => a.iter().map(splat_condition).collect(),
        (Some(v @ Json::Object(_)), None) => vec![splat_condition(v)],
        (Some(Json::String(s)), None) => vec![(s.clone(), true)],
        (Some(Json::Bool(b)), None) => vec![(condition_text(&Json::Bool(*b)), true)],
        // ansible-core's argument check's words.
        _ => return ItemOutcome::failed("missing required arguments: that"),
    };
    let text = |m: &Json| {
        h.render_json(r, m)
            .map(|v| json_text(&h.shared.reporter, &v))
    };
    for (cond, trusted) in &that {
        let value = if *trusted {
            h.eval(r, cond)
        } else {
            Err(rprov_template::trust::untrusted_error())
        };
        match value {
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
