//! `command` and `shell`: run a program. Their effect is unknown until they
//! run, so in check mode they are reported as `unknown` (docs/architecture.md).

use rprov_transport::quote;
use serde_json::{json, Value as Json};

use super::{Action, Decision, OutputMode, PlanCx, PlanError};

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let shell = cx.module == "shell";
    let text = cx.str_arg("_raw_params")?.or(cx.str_arg("cmd")?);
    let body = match (text, cx.args.get("argv")) {
        (Some(t), None) if shell => t,
        (Some(t), None) => {
            // `command` runs the program directly, without a shell: split the
            // words on the controller and quote each one.
            let words = shlex::split(&t).ok_or_else(|| {
                PlanError::Fail(format!(
                    "cannot split the command `{t}` (unbalanced quotes?)"
                ))
            })?;
            words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
        }
        (None, Some(Json::Array(argv))) if !shell => argv
            .iter()
            .map(|a| match a {
                Json::String(s) => quote(s),
                other => quote(&other.to_string()),
            })
            .collect::<Vec<_>>()
            .join(" "),
        (Some(_), Some(_)) => {
            return Err(PlanError::Fail(
                "give the command as text or as `argv`, not both".into(),
            ))
        }
        _ => return Err(PlanError::Fail(format!("`{}` needs a command", cx.module))),
    };
    let cmd_display = body.clone();

    // As in Ansible, a relative `creates`/`removes` is looked up in `chdir`.
    let chdir = cx.str_arg("chdir")?;
    let in_chdir = |p: String| match &chdir {
        Some(dir) if !p.starts_with('/') => format!("{}/{p}", dir.trim_end_matches('/')),
        _ => p,
    };
    if let Some(creates) = cx.str_arg("creates")?.map(in_chdir) {
        if cx.file(&creates, true)?.exists() {
            return Ok(skip(&format!("skipped, since {creates} exists")));
        }
    }
    if let Some(removes) = cx.str_arg("removes")?.map(in_chdir) {
        if !cx.file(&removes, true)?.exists() {
            return Ok(skip(&format!("skipped, since {removes} does not exist")));
        }
    }

    let mut script = String::new();
    for (k, v) in cx.environment {
        if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || k.is_empty() {
            return Err(PlanError::Fail(format!(
                "invalid environment variable name `{k}`"
            )));
        }
        let v = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        script.push_str(&format!("{k}={}; export {k}\n", quote(&v)));
    }
    if let Some(dir) = &chdir {
        script.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    }
    // `timeout:` (coreutils) stops the command and its children with TERM,
    // then KILL 5 s later, and exits 124 (read in the executor).
    let exec = match cx.timeout {
        Some(secs) => format!("exec timeout -k 5 {secs}"),
        None => "exec".to_string(),
    };
    if shell {
        let exe = cx
            .str_arg("executable")?
            .unwrap_or_else(|| "/bin/sh".into());
        script.push_str(&format!("{exec} {} -c {}\n", quote(&exe), quote(&body)));
    } else {
        script.push_str(&format!("{exec} {body}\n"));
    }
    let stdin = match cx.str_arg("stdin")? {
        Some(mut s) => {
            if cx.bool_arg("stdin_add_newline", true)? {
                s.push('\n');
            }
            Some(s.into_bytes())
        }
        None => None,
    };
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(true));
    result.insert("cmd".into(), json!(cmd_display));
    if let Some(secs) = cx.timeout {
        result.insert("timeout".into(), json!(secs));
    }
    Ok(Decision::Run {
        waits_for: "the command's result: commands do not run in check mode".into(),
        action: Action {
            script,
            stdin,
            output: OutputMode::Command,
            result,
            touches: Vec::new(),
            touches_everything: true,
        },
    })
}

fn skip(msg: &str) -> Decision {
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("rc".into(), json!(0));
    result.insert("stdout".into(), json!(msg));
    result.insert("stdout_lines".into(), json!([msg]));
    result.insert("stderr".into(), json!(""));
    result.insert("stderr_lines".into(), json!([]));
    Decision::Ok {
        result,
        msg: Some(msg.to_string()),
    }
}
