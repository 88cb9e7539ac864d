//! `--output ansible`: the screen output of ansible-playbook's `default`
//! stdout callback, line for line, for the scripts and CI jobs that read it
//! (`grep failed=0`, `grep -c '"msg": "A"'`). rprov started as
//! `ansible-playbook` prints this.
//!
//! It follows ansible-core 2.19's `plugins/callback/default.py` and the
//! `_dump_results`/`_clean_results` helpers of its base class: banners of
//! stars to the terminal's width (79 columns off a terminal), one line per
//! host and result, results as Python's `json.dumps(sort_keys=True)` writes
//! them, and the recap's `ok=N changed=N …` columns with Ansible's counting
//! (a changed task is also ok, an ignored failure is ok and ignored, a
//! rescued one only rescued). rprov's `unknown` (check mode: the effect of a
//! command cannot be known) has no Ansible word; ansible-core skips such a
//! task in check mode, so it is shown and counted as skipped.

use rprov_template::filters::json::DumpOptions;
use serde_json::{Map, Value as Json};

use super::{ErrorLink, HostStats, Status, TaskEvent};

/// The width ansible-core's banners fill: the terminal's width less one, at
/// least 79 (ansible-core's `Display._set_column_width`).
pub(super) fn columns() -> usize {
    let tty = console::Term::stdout();
    match tty.is_term() {
        true => usize::from(tty.size().1).saturating_sub(1).max(79),
        false => 79,
    }
}

/// A banner line: a blank line, then `msg` and stars up to `columns` (at
/// least three).
pub(super) fn banner(msg: &str, columns: usize) -> String {
    let msg = msg.trim();
    let stars = columns.saturating_sub(msg.chars().count()).max(3);
    format!("\n{msg} {}\n", "*".repeat(stars))
}

/// The line that opens a play, and the one that says it has no host.
pub(super) fn play(name: &str, hosts: usize, columns: usize) -> String {
    let mut out = match name.trim() {
        "" => banner("PLAY", columns),
        n => banner(&format!("PLAY [{n}]"), columns),
    };
    if hosts == 0 {
        out.push_str("skipping: no hosts matched\n");
    }
    out
}

/// The banner of the task an event belongs to.
pub(super) fn task_banner(ev: &TaskEvent, columns: usize) -> String {
    named_task_banner(ev.task, ev.handler, columns)
}

/// The banner of task `task` (`RUNNING HANDLER` for a handler).
pub(super) fn named_task_banner(task: &str, handler: bool, columns: usize) -> String {
    let prefix = if handler { "RUNNING HANDLER" } else { "TASK" };
    banner(&format!("{prefix} [{}]", task.trim()), columns)
}

/// ansible-core 2.19's `[ERROR]` block for a failed result, which its
/// default callback prints on stdout before the `fatal:` line (ignored or
/// not): the event's chain of causes when the engine knows it (a template
/// in the arguments, a conditional), else `Task failed: Module failed: MSG`
/// for a module's failure on the host, `Action failed` for what its
/// controller side (or `failed_when`) decided, with the task's `Origin:`.
/// Another message that already says `Task failed:` is shown as it is.
/// None for other results, and for a host that could not be reached.
pub(super) fn error_line(ev: &TaskEvent) -> Option<String> {
    if ev.status != Status::Failed || ev.unreachable {
        return None;
    }
    // The chain says what failed in the task (a template, a conditional),
    // not what its result held: ansible-core prints it under `no_log` too.
    if !ev.cause.is_empty() {
        return Some(super::error_chain::render(ev.cause));
    }
    let result = ev.result.and_then(Json::as_object);
    let msg = match ev.no_log {
        true => "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
        false => result
            .and_then(|r| r.get("msg"))
            .and_then(Json::as_str)
            .unwrap_or_default(),
    };
    if msg.starts_with("Task failed:") {
        return Some(format!("[ERROR]: {msg}\n"));
    }
    let decided_here = result.and_then(|r| r.get("failed_when_result")) == Some(&Json::Bool(true))
        || crate::modules::spec(ev.action).is_some_and(|s| s.is_local());
    let kind = if decided_here { "Action" } else { "Module" };
    let mut chain = vec![ErrorLink::new(
        format!("Task failed: {kind} failed."),
        ev.origin.cloned(),
    )];
    if !msg.is_empty() {
        chain.push(ErrorLink::new(msg, None));
    }
    Some(super::error_chain::render(&chain))
}

/// The lines of one result (without its banner): `ok: [host]`,
/// `changed: [host] => (item=x)`, `fatal: [host]: FAILED! => {…}`, and
/// `...ignoring` after an ignored failure.
pub(super) fn result_lines(ev: &TaskEvent, verbose: u8) -> String {
    let shown = |r: &Json, indent: bool| dump(&abridged(r, ev.action, verbose), indent);
    let result = ev.result.cloned().unwrap_or(Json::Object(Map::new()));
    let result = match ev.no_log {
        true => censored(&result),
        false => result,
    };
    // A censored result keeps only `censored` and `changed`, not the
    // callback's `_ansible_verbose_always`: shown only when verbose.
    let always = !ev.no_log && (ev.action == "debug" || (ev.action == "assert" && !ev.quiet));
    let indent = always || verbose > 2;
    let label = match (ev.item, ev.no_log) {
        (None, _) => None,
        (Some(_), true) => Some("(censored due to no_log)"),
        (Some(i), false) => Some(i),
    };
    let host = ev.host;
    // ansible-core's `host_label`: the results of a task run elsewhere say
    // where (its skipped lines do not).
    let labelled = match ev.delegated {
        Some(to) => format!("{host} -> {to}"),
        None => host.to_string(),
    };
    if let Some(what) = included(ev) {
        // ansible-core's `v2_playbook_on_include`, which labels it whether
        // or not it loops, so a no_log one is censored either way.
        let mut line = format!("included: {what} for {host}");
        match (ev.no_log, label) {
            (true, _) => line.push_str(" => (item=(censored due to no_log))"),
            (false, Some(i)) => line.push_str(&format!(" => (item={i})")),
            (false, None) => {}
        }
        line.push('\n');
        return line;
    }
    let mut out = match (ev.status, label) {
        (Status::Failed, None) if ev.unreachable => {
            format!(
                "fatal: [{labelled}]: UNREACHABLE! => {}",
                shown(&result, false)
            )
        }
        (Status::Failed, None) => {
            format!("fatal: [{labelled}]: FAILED! => {}", shown(&result, indent))
        }
        (Status::Failed, Some(i)) => {
            format!(
                "failed: [{labelled}] (item={i}) => {}",
                shown(&result, indent)
            )
        }
        (Status::Skipped | Status::Unknown, None) => format!("skipping: [{host}]"),
        (Status::Skipped | Status::Unknown, Some(i)) => {
            format!("skipping: [{host}] => (item={i}) ")
        }
        (Status::Ok | Status::Changed, item) => {
            let word = match ev.status {
                Status::Changed => "changed",
                _ => "ok",
            };
            let mut line = format!("{word}: [{labelled}]");
            if let Some(i) = item {
                line.push_str(&format!(" => (item={i})"));
            }
            if always || verbose > 0 {
                line.push_str(&format!(" => {}", shown(&result, indent)));
            }
            line
        }
    };
    if matches!(ev.status, Status::Skipped | Status::Unknown) && verbose > 0 {
        out.push_str(&format!(" => {}", shown(&result, indent)));
    }
    out.push('\n');
    // A loop's is said once, after its items (`Reporter::loop_failure_ignored`).
    if ev.ignored && ev.item.is_none() {
        out.push_str("...ignoring\n");
    }
    out
}

/// What an include that ran names on its `included:` line: the task file
/// (as found) or the role. `None` for any other result.
fn included(ev: &TaskEvent) -> Option<String> {
    if ev.status != Status::Ok || !matches!(ev.action, "include_tasks" | "include_role") {
        return None;
    }
    let result = ev.result?;
    match result.get("include") {
        Some(Json::String(what)) => Some(what.clone()),
        _ => result
            .pointer("/include_args/name")
            .and_then(Json::as_str)
            .map(str::to_string),
    }
}

/// A host ansible-core could not reach, in its words.
pub(super) fn unreachable(host: &str, msg: &str) -> String {
    let mut r = Map::new();
    r.insert("changed".into(), Json::Bool(false));
    r.insert("msg".into(), Json::String(msg.to_string()));
    r.insert("unreachable".into(), Json::Bool(true));
    format!(
        "fatal: [{host}]: UNREACHABLE! => {}\n",
        dump(&Json::Object(r), false)
    )
}

/// `PLAY RECAP` and a line per host, hosts sorted by name as ansible-core
/// sorts them.
pub(super) fn recap(stats: &[(String, HostStats)], columns: usize, color: bool) -> String {
    let mut out = banner("PLAY RECAP", columns);
    let mut sorted: Vec<&(String, HostStats)> = stats.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (host, s) in sorted {
        let c = Counts::of(s);
        // ansible-core lists the hosts it counted a result for (its
        // `AggregateStats.processed`): not one whose every task was another
        // host's `run_once`, nor one of a play without tasks.
        if c.is_empty() {
            continue;
        }
        let paint = |text: String, n: u64, st: console::Style| match color && n != 0 {
            true => st.apply_to(text).to_string(),
            false => text,
        };
        let name = super::pad(host, 26);
        let name = match color {
            false => name,
            true if c.failed != 0 || c.unreachable != 0 => console::style(name).red().to_string(),
            true if c.changed != 0 => console::style(name).yellow().to_string(),
            true => console::style(name).green().to_string(),
        };
        let cells = [
            ("ok", c.ok, console::Style::new().green()),
            ("changed", c.changed, console::Style::new().yellow()),
            ("unreachable", c.unreachable, console::Style::new().red()),
            ("failed", c.failed, console::Style::new().red()),
            ("skipped", c.skipped, console::Style::new().cyan()),
            ("rescued", c.rescued, console::Style::new().magenta()),
            ("ignored", c.ignored, console::Style::new().magenta()),
        ]
        .map(|(word, n, st)| paint(super::pad(&format!("{word}={n}"), word.len() + 5), n, st));
        out.push_str(&format!("{name} : {}\n", cells.join(" ")));
    }
    out.push('\n');
    out
}

/// A host's recap figures as ansible-core counts them.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    ok: u64,
    changed: u64,
    unreachable: u64,
    failed: u64,
    skipped: u64,
    rescued: u64,
    ignored: u64,
}

impl Counts {
    fn is_empty(&self) -> bool {
        [
            self.ok,
            self.changed,
            self.unreachable,
            self.failed,
            self.skipped,
            self.rescued,
            self.ignored,
        ]
        .iter()
        .all(|n| *n == 0)
    }

    fn of(s: &HostStats) -> Counts {
        Counts {
            // rprov counts a rescued failure as ok, ansible-core as rescued
            // only; a changed task and an ignored failure are also ok there.
            ok: s.ok.saturating_sub(s.rescued) + s.changed + s.ignored + s.facts_gathered,
            changed: s.changed + s.ignored_changed,
            unreachable: s.unreachable_times,
            failed: s.failed,
            skipped: (s.skipped + s.unknown).saturating_sub(s.meta_skipped),
            rescued: s.rescued,
            ignored: s.ignored,
        }
    }
}

/// The no_log form of a result: ansible-core keeps only whether it changed
/// and how often it was tried.
pub(super) fn censored(result: &Json) -> Json {
    let mut r = Map::new();
    r.insert(
        "censored".into(),
        Json::String(
            "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
                .into(),
        ),
    );
    for k in ["attempts", "changed", "retries"] {
        if let Some(v) = result.get(k) {
            r.insert(k.into(), v.clone());
        }
    }
    Json::Object(r)
}

/// The part of a result ansible-core shows: no `_ansible_*` keys, no
/// `failed`/`skipped`/`exception`/`warnings`/`deprecations` (said
/// elsewhere), no `invocation`
/// or `diff` below `-vvv`; a `debug` result only its `msg`, or only its
/// variable.
pub(super) fn abridged(result: &Json, action: &str, verbose: u8) -> Json {
    let Json::Object(map) = result else {
        return result.clone();
    };
    let mut map = map.clone();
    map.retain(|k, _| !k.starts_with("_ansible_"));
    // `failed` and `skipped` are said by the line's first word.
    for k in ["failed", "skipped", "exception", "warnings", "deprecations"] {
        map.remove(k);
    }
    if verbose < 3 {
        map.remove("invocation");
        map.remove("diff");
    }
    if action == "debug" {
        if map.contains_key("msg") {
            map.retain(|k, _| k == "msg" || k.starts_with('_'));
        } else {
            for k in [
                "changed",
                "failed",
                "skipped",
                "invocation",
                "skip_reason",
                "ansible_loop_var",
                "ansible_index_var",
                "ansible_loop",
            ] {
                map.remove(k);
            }
        }
    }
    Json::Object(map)
}

/// `v` as Python's `json.dumps(v, sort_keys=True, ensure_ascii=False)`
/// writes it: `", "` and `": "` between items on one line, or items on lines
/// of their own indented by four spaces.
pub(super) fn dump(v: &Json, indent: bool) -> String {
    rprov_template::filters::json::dumps(
        v,
        DumpOptions {
            indent: indent.then_some(4),
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    /// A result of `action` on `web1`, for the printers' tests.
    pub(in crate::report) fn event<'a>(
        status: Status,
        result: &'a Json,
        action: &'a str,
    ) -> TaskEvent<'a> {
        TaskEvent {
            host: "web1",
            task: "t",
            item: None,
            status,
            diffs: &[],
            msg: None,
            msg_kind: Default::default(),
            result: Some(result),
            no_log: false,
            ignored: false,
            duration: Duration::ZERO,
            fallback: false,
            action,
            handler: false,
            task_id: 0,
            quiet: false,
            delegated: None,
            unreachable: false,
            ran_elsewhere: false,
            origin: None,
            cause: &[],
        }
    }

    /// The exact text of Python's `json.dumps(..., sort_keys=True)`, as
    /// `python3 -c` prints it for the same value.
    #[test]
    fn dumps_as_python() {
        let v = json!({"b": [1, {"y": "é\n\"", "x": null}], "a": true, "c": {}, "d": [], "e": 1.5});
        assert_eq!(
            dump(&v, false),
            r#"{"a": true, "b": [1, {"x": null, "y": "é\n\""}], "c": {}, "d": [], "e": 1.5}"#
        );
        assert_eq!(
            dump(&json!({"x": {"a": [1, 2]}, "m": "\u{1}"}), true),
            "{\n    \"m\": \"\\u0001\",\n    \"x\": {\n        \"a\": [\n            1,\n            2\n        ]\n    }\n}"
        );
    }

    #[test]
    fn banners_fill_the_width() {
        assert_eq!(
            banner("TASK [t]", 79),
            format!("\nTASK [t] {}\n", "*".repeat(71))
        );
        let long = "x".repeat(100);
        assert_eq!(banner(&long, 79), format!("\n{long} ***\n"));
        assert_eq!(
            play("", 0, 79).lines().nth(2),
            Some("skipping: no hosts matched")
        );
    }

    #[test]
    fn results_read_as_ansible_core_prints_them() {
        let debug = json!({"changed": false, "failed": false, "nested_var": "A"});
        assert_eq!(
            result_lines(&event(Status::Ok, &debug, "debug"), 0),
            "ok: [web1] => {\n    \"nested_var\": \"A\"\n}\n"
        );
        let msg = json!({"changed": false, "msg": "hi", "failed": false});
        assert_eq!(
            result_lines(&event(Status::Ok, &msg, "debug"), 0),
            "ok: [web1] => {\n    \"msg\": \"hi\"\n}\n"
        );
        let failed = json!({"changed": false, "msg": "boom", "failed": true, "exception": "x"});
        let mut ev = event(Status::Failed, &failed, "fail");
        ev.ignored = true;
        assert_eq!(
            result_lines(&ev, 0),
            "fatal: [web1]: FAILED! => {\"changed\": false, \"msg\": \"boom\"}\n...ignoring\n"
        );
        let changed = json!({"changed": true, "rc": 0});
        let mut ev = event(Status::Changed, &changed, "command");
        ev.item = Some("2");
        assert_eq!(result_lines(&ev, 0), "changed: [web1] => (item=2)\n");
        assert_eq!(
            result_lines(&event(Status::Unknown, &changed, "command"), 0),
            "skipping: [web1]\n"
        );
        ev.no_log = true;
        ev.status = Status::Failed;
        assert_eq!(
            result_lines(&ev, 0),
            "failed: [web1] (item=(censored due to no_log)) => {\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\", \"changed\": true}\n"
        );
    }

    /// ansible-core's counting: changed and ignored tasks are also ok, a
    /// rescued failure is only rescued, rprov's unknown is skipped.
    #[test]
    fn the_recap_counts_as_ansible_core() {
        let s = HostStats {
            ok: 3,
            changed: 2,
            ignored: 1,
            rescued: 1,
            ignored_changed: 1,
            unknown: 1,
            skipped: 1,
            ..HostStats::default()
        };
        let text = recap(&[("web1".into(), s)], 79, false);
        let line = text.lines().nth(2).unwrap_or_default();
        assert_eq!(
            line,
            "web1                       : ok=5    changed=3    unreachable=0    failed=0    skipped=2    rescued=1    ignored=1   "
        );
    }

    /// A host with no result counted (every task was another host's
    /// `run_once`) is not listed, as ansible-core lists only the hosts its
    /// stats processed.
    #[test]
    fn the_recap_leaves_out_hosts_without_a_counted_result() {
        let ran = HostStats {
            ok: 1,
            ..HostStats::default()
        };
        let stats = [
            ("web1".to_string(), ran),
            ("web2".to_string(), HostStats::default()),
        ];
        let text = recap(&stats, 79, false);
        assert!(text.contains("\nweb1 "), "{text}");
        assert!(!text.contains("web2"), "{text}");
    }
}
