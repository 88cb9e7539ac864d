//! `rprov adhoc`'s output: a block per host as ansible-core's `minimal`
//! callback prints it for `ansible`, or a line per host as its `oneline`
//! callback (`-o`). The module's own output is the point of an ad-hoc run,
//! so a command's stdout is shown as it is, not as JSON.

use serde_json::{Map, Value as Json};

use super::ansible::{abridged, censored, dump};
use super::{Status, TaskEvent};

/// The modules whose result is shown as their output (`rc=N >>` and
/// stdout), not as JSON: ansible-core's `MODULE_NO_JSON`.
const NO_JSON: &[&str] = &["command", "shell", "raw"];

/// One host's result.
pub(super) fn result(ev: &TaskEvent, verbose: u8, one_line: bool) -> String {
    let host = ev.host;
    let result = ev.result.cloned().unwrap_or(Json::Object(Map::new()));
    let result = match ev.no_log {
        true => censored(&result),
        false => result,
    };
    let as_output = NO_JSON.contains(&ev.action)
        && !ev.no_log
        && result.get("ansible_job_id").is_none()
        && result.get("module_stderr").is_none();
    let caption = match ev.status {
        Status::Skipped | Status::Unknown => return format!("{host} | SKIPPED\n"),
        Status::Failed if ev.unreachable => {
            return unreachable_result(host, &result, verbose, one_line)
        }
        Status::Failed if as_output => "FAILED",
        Status::Failed => "FAILED!",
        Status::Changed => "CHANGED",
        Status::Ok => "SUCCESS",
    };
    if as_output {
        return output(host, caption, &result, one_line);
    }
    // `oneline` leaves a `debug` result whole (`changed` too), `minimal`
    // abridges it as ansible-playbook's output does.
    let action = if one_line { "" } else { ev.action };
    let shown = abridged(&result, action, verbose);
    format!("{host} | {caption} => {}\n", json_text(&shown, one_line))
}

/// A host that could not be reached.
pub(super) fn unreachable(host: &str, msg: &str, one_line: bool) -> String {
    let mut r = Map::new();
    r.insert("changed".into(), Json::Bool(false));
    r.insert("msg".into(), Json::String(msg.to_string()));
    r.insert("unreachable".into(), Json::Bool(true));
    unreachable_result(host, &Json::Object(r), 0, one_line)
}

/// An error on a host outside a task's result.
pub(super) fn host_error(host: &str, msg: &str, one_line: bool) -> String {
    let mut r = Map::new();
    r.insert("msg".into(), Json::String(msg.to_string()));
    format!(
        "{host} | FAILED! => {}\n",
        json_text(&Json::Object(r), one_line)
    )
}

fn unreachable_result(host: &str, result: &Json, verbose: u8, one_line: bool) -> String {
    let mut shown = abridged(result, "", verbose);
    if let Json::Object(m) = &mut shown {
        m.insert("unreachable".into(), Json::Bool(true));
    }
    format!("{host} | UNREACHABLE! => {}\n", json_text(&shown, one_line))
}

/// A command's result as its output: `rc=N >>` and stdout, stderr and msg
/// one after the other (`minimal`), or each labelled on the line (`oneline`).
fn output(host: &str, caption: &str, result: &Json, one_line: bool) -> String {
    let text = |k: &str| result.get(k).and_then(Json::as_str).unwrap_or("");
    let rc = match result.get("rc") {
        Some(Json::Number(n)) => n.to_string(),
        _ => "-1".to_string(),
    };
    if !one_line {
        return format!(
            "{host} | {caption} | rc={rc} >>\n{}{}{}\n",
            text("stdout"),
            text("stderr"),
            text("msg")
        );
    }
    let mut line = format!(
        "{host} | {caption} | rc={rc} | (stdout) {}",
        escaped(text("stdout"))
    );
    if !text("stderr").is_empty() {
        line.push_str(&format!(" (stderr) {}", escaped(text("stderr"))));
    }
    line.push('\n');
    line
}

/// ansible-core's one-line form of a multi-line text: newlines written as
/// `\n`, carriage returns dropped.
fn escaped(s: &str) -> String {
    s.replace('\r', "").replace('\n', "\\n")
}

/// A result as JSON: indented by four, as `minimal` dumps it, or that text
/// with its newlines taken out, as `oneline` does.
fn json_text(v: &Json, one_line: bool) -> String {
    match one_line {
        false => dump(v, true),
        true => dump(v, true)
            .lines()
            .map(|l| l.trim_start_matches("    "))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::ansible::tests::event;
    use super::*;

    /// The texts ansible-core 2.19's `ansible` prints for the same results
    /// (`ansible localhost -m ping`, `-a 'echo hi'`, `-m fail`, and `-o`).
    #[test]
    fn results_read_as_ansible_core_prints_them() {
        let ping = json!({"changed": false, "ping": "pong"});
        assert_eq!(
            result(&event(Status::Ok, &ping, "ping"), 0, false),
            "web1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
        );
        assert_eq!(
            result(&event(Status::Ok, &ping, "ping"), 0, true),
            "web1 | SUCCESS => {\"changed\": false,\"ping\": \"pong\"}\n"
        );
        let echo = json!({"changed": true, "rc": 0, "stdout": "hi", "stderr": ""});
        assert_eq!(
            result(&event(Status::Changed, &echo, "command"), 0, false),
            "web1 | CHANGED | rc=0 >>\nhi\n"
        );
        assert_eq!(
            result(&event(Status::Changed, &echo, "command"), 0, true),
            "web1 | CHANGED | rc=0 | (stdout) hi\n"
        );
        let failed = json!({"changed": true, "rc": 3, "stdout": "", "stderr": "err",
                            "msg": "non-zero return code", "failed": true});
        assert_eq!(
            result(&event(Status::Failed, &failed, "shell"), 0, false),
            "web1 | FAILED | rc=3 >>\nerrnon-zero return code\n"
        );
        let fail = json!({"changed": false, "msg": "boom", "failed": true});
        assert_eq!(
            result(&event(Status::Failed, &fail, "fail"), 0, false),
            "web1 | FAILED! => {\n    \"changed\": false,\n    \"msg\": \"boom\"\n}\n"
        );
        assert_eq!(
            result(&event(Status::Skipped, &fail, "fail"), 0, false),
            "web1 | SKIPPED\n"
        );
    }
}
