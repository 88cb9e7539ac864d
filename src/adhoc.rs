//! `rprov adhoc` (and rprov run as `ansible`): one module on the hosts of a
//! pattern, as ansible-core's `ansible` command runs it: a one-play,
//! one-task playbook, without facts, whose task is the module with `-a`'s
//! arguments. The play goes through the same loader and engine as a
//! playbook's, so an ad-hoc task means exactly what the same task means in
//! a playbook.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value as Json};

use crate::cli::AdhocArgs;

/// The modules whose arguments are a command line, not `key=value` pairs,
/// which cannot run without one (ansible-core's `MODULE_REQUIRE_ARGS`).
const REQUIRE_ARGS: &[&str] = &["command", "shell", "raw", "script"];

/// The name the ad-hoc play's file has in messages.
pub const PLAY_NAME: &str = "<adhoc>";

/// The text of the one-play playbook that runs `args`'s module (JSON, which
/// is YAML), or the error ansible-core gives for a task it would not run.
pub fn playbook_text(args: &AdhocArgs) -> Result<String> {
    let module = args.module_name.trim();
    let short = module
        .strip_prefix("ansible.builtin.")
        .or_else(|| module.strip_prefix("ansible.legacy."))
        .unwrap_or(module);
    let given = args.args.as_deref().unwrap_or("");
    // `--list-hosts` runs nothing, so it needs no arguments.
    if REQUIRE_ARGS.contains(&short) && given.trim().is_empty() && !args.run.list_hosts {
        let mut msg = format!("No argument passed to {module} module");
        if args.pattern.ends_with(".yml") || args.pattern.ends_with(".yaml") {
            msg.push_str(" (did you mean to run ansible-playbook?)");
        }
        bail!(crate::run::OptionsError(msg));
    }
    if short == "import_playbook" {
        bail!(crate::run::OptionsError(format!(
            "'{module}' is not a valid action for ad-hoc commands"
        )));
    }
    let mut task = Map::new();
    let args_value = module_args(given);
    if rprov_template::is_template(module) {
        // A module named by a template is known when the task runs: the
        // `action:` form, which rprov loads then (as ansible-core templates
        // `-m`).
        let action = match args_value {
            Json::Object(mut m) => {
                m.insert("module".into(), Json::String(module.to_string()));
                Json::Object(m)
            }
            Json::String(s) => Json::String(format!("{module} {s}")),
            _ => Json::String(module.to_string()),
        };
        task.insert("action".into(), action);
    } else {
        task.insert(module.to_string(), args_value);
    }
    if let Some(t) = args.task_timeout.filter(|t| *t > 0) {
        task.insert("timeout".into(), json!(t));
    }
    // As ansible-core: `async` and `poll` only when asked for, and never on
    // the include/import actions, which take neither.
    let includes = [
        "include_tasks",
        "import_tasks",
        "include_role",
        "import_role",
    ];
    if !includes.contains(&short) && (args.background.is_some() || args.poll.is_some()) {
        task.insert("async".into(), json!(args.background.unwrap_or(0)));
        task.insert("poll".into(), json!(args.poll.unwrap_or(DEFAULT_POLL)));
    }
    let play = json!([{
        "name": "Ansible Ad-Hoc",
        "hosts": args.pattern,
        "gather_facts": false,
        "tasks": [Json::Object(task)],
    }]);
    Ok(play.to_string())
}

/// `-P`'s default: ansible-core's `DEFAULT_POLL_INTERVAL`.
const DEFAULT_POLL: u64 = 15;

/// `-a` as a task takes it: a JSON object as the arguments mapping, else the
/// text as written after `module:` in a playbook (`key=value` pairs, or a
/// command line for `command` and its kind), nothing as no arguments.
fn module_args(given: &str) -> Json {
    let trimmed = given.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        if let Ok(Json::Object(map)) = serde_json::from_str::<Json>(trimmed) {
            if !map.is_empty() {
                return Json::Object(map);
            }
        }
    }
    match trimmed.is_empty() {
        true => Json::Null,
        false => Json::String(given.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_taken_as_a_task_takes_them() {
        assert_eq!(module_args(""), Json::Null);
        assert_eq!(module_args("echo hi"), json!("echo hi"));
        assert_eq!(
            module_args("path=/x state=touch"),
            json!("path=/x state=touch")
        );
        assert_eq!(module_args(r#"{"msg": "x"}"#), json!({"msg": "x"}));
        // Not JSON after all: the text, as ansible-core falls back to parse_kv.
        assert_eq!(module_args("{{ cmd }}"), json!("{{ cmd }}"));
    }
}
