//! `pause`: waits on the controller, for `seconds` or `minutes`, or until
//! the user presses Enter after `prompt`, as ansible-core's `pause` action.
//!
//! Like Ansible's it bypasses the host loop: the play waits once, not once
//! per host. A duration under one second waits one second (ansible-core
//! truncates to whole seconds and waits at least one). A prompt without a
//! duration reads a line when standard input is a terminal; otherwise it
//! does not wait and warns, as ansible-core does when stdin is not
//! interactive. The result has ansible-core's fields: `stdout` (`Paused for
//! 2 seconds`), `start`, `stop`, `delta`, `echo`, `user_input`.

use std::io::IsTerminal;
use std::time::Duration;

use super::*;
use crate::modules::args::Kind;
use crate::modules::typed::{module_args, ArgValue};

module_args! {
    /// `pause`'s arguments.
    pub struct Args {
        seconds: Option<Whole> ["seconds"],
        minutes: Option<Whole> ["minutes"],
        prompt: Option<String> ["prompt"],
        /// Whether the answer to `prompt` is shown as it is typed.
        echo: bool ["echo"] = true,
    }
}

/// A duration as ansible-core's `int` argument takes it: a number whose
/// fraction is cut (as Python's `int`), or text holding a whole one. Shown
/// as a number, which the loader checks a literal one against.
#[derive(Clone, Copy, Debug)]
pub struct Whole(i64);

impl ArgValue for Whole {
    const KIND: Kind = Kind::Num;
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
                .map(Whole)
                .ok_or_else(|| format!("must be a whole number, got {v}")),
            Json::String(s) => s.trim().parse::<i64>().map(Whole).map_err(|_| {
                format!("is of type str and we were unable to convert to int: invalid literal for int() with base 10: '{s}'")
            }),
            other => Err(format!("must be a whole number, got {other}")),
        }
    }
}

/// What the task asked for, checked: the wait, or a prompt to answer.
pub(in crate::engine::host) struct Pause {
    /// Seconds to wait (at least 1), and whether they were given in minutes.
    pub wait: Option<(u64, bool)>,
    /// Text shown before waiting, or before reading the answer.
    pub prompt: Option<String>,
    pub echo: bool,
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match mapping_args(h, task, layer) {
        Ok(a) => a,
        Err(m) => return ItemOutcome::failed(m).into(),
    };
    match parse(&args) {
        Ok(p) => Local::Pause(p),
        Err(m) => ItemOutcome::failed(format!("{}: {m}", task.origin)).into(),
    }
}

/// Checks the arguments as ansible-core's argument spec does: `minutes` and
/// `seconds` whole numbers (a fraction is cut, as Python's `int`), not both.
pub(super) fn parse(args: &Map<String, Json>) -> Result<Pause, String> {
    let args = Args::parse("pause", args).map_err(|e| match e {
        crate::modules::PlanError::Fail(m) => m,
        other => format!("{other:?}"),
    })?;
    let wait = match (args.minutes, args.seconds) {
        (Some(_), Some(_)) => {
            return Err("parameters are mutually exclusive: minutes|seconds".into())
        }
        (Some(Whole(m)), None) => Some(((m.saturating_mul(60)).max(1) as u64, true)),
        (None, Some(Whole(s))) => Some((s.max(1) as u64, false)),
        (None, None) => None,
    };
    let prompt = args.prompt.filter(|p| !p.is_empty());
    let echo = args.echo;
    Ok(Pause { wait, prompt, echo })
}

impl HostRunner {
    /// Waits as `p` says and gives the result.
    pub(super) async fn pause(&self, task_name: &str, p: Pause) -> ItemOutcome {
        let reporter = &self.shared.reporter;
        let hidden = if p.echo { "" } else { " (output is hidden)" };
        let started = std::time::Instant::now();
        let start = now_text();
        let mut user_input = String::new();
        let mut warnings = Vec::new();
        match p.wait {
            Some((secs, _)) => {
                let shown = p.prompt.as_deref().map(|t| format!("[{task_name}]\n{t}\n"));
                reporter.note(&format!(
                    "{}Pausing for {secs} seconds{hidden}",
                    shown.unwrap_or_default()
                ));
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
            None if std::io::stdin().is_terminal() => {
                let text = p
                    .prompt
                    .as_deref()
                    .unwrap_or("Press enter to continue, Ctrl+C to interrupt");
                reporter.note(&format!("[{task_name}]\n{text}{hidden}:"));
                let read = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map(|_| line)
                })
                .await;
                match read {
                    Ok(Ok(line)) => user_input = line.trim_end_matches(['\r', '\n']).to_string(),
                    _ => warnings.push(json!("could not read the answer to the prompt")),
                }
            }
            None => warnings.push(json!(
                "Not waiting for response to prompt as stdin is not interactive"
            )),
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (amount, unit) = match p.wait {
            Some((_, true)) => (elapsed / 60.0, "minutes"),
            _ => (elapsed, "seconds"),
        };
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("rc".into(), json!(0));
        result.insert("stderr".into(), json!(""));
        result.insert(
            "stdout".into(),
            json!(format!("Paused for {} {unit}", py_round2(amount))),
        );
        result.insert("start".into(), json!(start));
        result.insert("stop".into(), json!(now_text()));
        result.insert("delta".into(), json!(elapsed as u64));
        result.insert("echo".into(), json!(p.echo));
        result.insert("user_input".into(), json!(user_input));
        if !warnings.is_empty() {
            result.insert("warnings".into(), Json::Array(warnings));
        }
        ItemOutcome::new(Status::Ok, result)
    }
}

/// A number rounded to two places and printed as Python prints a float
/// (`2.0`, `0.52`).
fn py_round2(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{r:.1}")
    } else {
        format!("{r}")
    }
}

/// The controller's time now, as ansible-core's `str(datetime.now())` in UTC.
fn now_text() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:06}",
        rprov_template::date_time_utc(now.as_secs()),
        now.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => unreachable!("test arguments are a mapping"),
        }
    }

    #[test]
    fn durations_as_ansible_counts_them() {
        let wait = |v: Json| parse(&args(v)).map(|p| p.wait);
        assert_eq!(wait(json!({"seconds": 3})), Ok(Some((3, false))));
        // int(0.5) is 0, and ansible-core waits at least one second.
        assert_eq!(wait(json!({"seconds": 0.5})), Ok(Some((1, false))));
        assert_eq!(wait(json!({"seconds": "2"})), Ok(Some((2, false))));
        assert_eq!(wait(json!({"minutes": 2})), Ok(Some((120, true))));
        assert_eq!(wait(json!({})), Ok(None));
        assert_eq!(
            wait(json!({"seconds": 1, "minutes": 1})).unwrap_err(),
            "parameters are mutually exclusive: minutes|seconds"
        );
        assert!(wait(json!({"seconds": "soon"}))
            .unwrap_err()
            .contains("invalid literal for int() with base 10: 'soon'"));
    }

    #[test]
    fn stdout_numbers_print_as_python_floats() {
        assert_eq!(py_round2(2.0004), "2.0");
        assert_eq!(py_round2(0.516), "0.52");
        assert_eq!(py_round2(1.0 / 60.0), "0.02");
    }
}
