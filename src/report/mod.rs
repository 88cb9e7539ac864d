//! One reporter owns the terminal: task lines, diffs, progress bars, the recap
//! and `--output json`.
//!
//! Hosts run concurrently, so every line names its host and is written whole
//! under a lock. Progress bars are drawn only on a terminal, never in JSON or
//! verbose mode (they would interleave with the lines). Every string that
//! leaves the reporter goes through the [`Redactor`] first, so a secret cannot
//! reach the terminal through a diff, a message or a registered result.

mod adhoc;
mod ansible;
mod diff;
mod error_chain;
pub mod log_file;
mod recap;
mod source_context;
pub mod timings;

pub use error_chain::ErrorLink;

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rprov_secrets::Redactor;
use serde_json::{json, Value as Json};

pub use recap::HostStats;
pub use timings::{HostTimings, Phase, RunTimings};

use crate::modules::Diff;

/// The widest the host-name column of a table (recap, timings) gets. Host
/// names come from the inventory and have no length limit; past this width a
/// name overflows its own row instead of pushing every other row's numbers
/// off the screen.
const NAME_COLUMN_MAX: usize = 48;

/// The width of a table's name column: the longest of `names`, capped at
/// [`NAME_COLUMN_MAX`].
fn name_column<'a>(names: impl IntoIterator<Item = &'a str>) -> usize {
    names
        .into_iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(NAME_COLUMN_MAX)
}

/// `s` padded with spaces to `width` characters. Written out rather than with
/// `format!("{s:<width$}")`, whose width panics past 65,535 ("Formatting
/// argument out of range"), a size a user can reach.
fn pad(s: &str, width: usize) -> String {
    let mut out = String::with_capacity(s.len() + width);
    out.push_str(s);
    out.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(s.chars().count()),
    ));
    out
}

/// The outcome of one task (or loop item) on one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    /// Check mode: the task would run, its effect cannot be known.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
        }
    }
}

/// What the user asked the output to look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// ansible-playbook's own screen output (see `ansible.rs`).
    Ansible,
    /// `rprov adhoc`'s: a block per host, as `ansible` prints it (see
    /// `adhoc.rs`).
    Minimal,
    /// `rprov adhoc -o`'s: a line per host.
    OneLine,
}

/// What a task event's `msg` is, so the printers decide by type, never by
/// the text: a debug task's output and what an unknown task waits for are
/// always shown, other messages of tasks that did not fail only with `-v`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MsgKind {
    /// A result's message (a failure, a skip reason, a note).
    #[default]
    Message,
    /// The output of `debug`.
    Debug,
    /// Check mode: why the task is unknown (what it waits for).
    Unknown,
}

impl MsgKind {
    /// The name `--output json` gives it (`msg_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::Message => "message",
            MsgKind::Debug => "debug",
            MsgKind::Unknown => "unknown",
        }
    }
}

pub struct TaskEvent<'a> {
    pub host: &'a str,
    pub task: &'a str,
    pub item: Option<&'a str>,
    pub status: Status,
    pub diffs: &'a [Diff],
    pub msg: Option<&'a str>,
    pub msg_kind: MsgKind,
    pub result: Option<&'a Json>,
    pub no_log: bool,
    pub ignored: bool,
    /// The host could not be reached during the task, and the task's
    /// `ignore_unreachable` kept it in the play (then `ignored` too).
    pub unreachable: bool,
    pub duration: Duration,
    /// The task ran Ansible's own module through the fallback: its line
    /// says `(ansible)`, its JSON event `"fallback": true`.
    pub fallback: bool,
    /// The module's canonical name: ansible-core's output treats `debug`
    /// and `assert` results apart.
    pub action: &'a str,
    /// A handler's result (`RUNNING HANDLER` in ansible-playbook's output).
    pub handler: bool,
    /// Tells tasks apart for `--output ansible`'s banners: a banner is
    /// printed when the task changes, as ansible-core prints one per task.
    pub task_id: usize,
    /// A `run_once` task's result that another host ran: ansible-core shows
    /// only the host that ran it, and counts it for that host alone.
    pub ran_elsewhere: bool,
    /// Where the task is written, for the `Origin:` of ansible-core's
    /// `[ERROR]` block.
    pub origin: Option<&'a crate::diag::Origin>,
    /// The chain of errors behind a failure, when rprov knows it (a
    /// template in the task's arguments): ansible-core's `[ERROR]` block.
    pub cause: &'a [ErrorLink],
    /// `assert: {quiet: true}`: ansible-playbook shows the result only when
    /// verbose, as it does any module's.
    pub quiet: bool,
    /// The host the task ran on for this one (`delegate_to`), as
    /// ansible-core's callbacks label it: its name, and its `ansible_host`
    /// in parentheses when that differs (`web1 -> db(10.0.0.5)`).
    pub delegated: Option<&'a str>,
}

pub struct Reporter {
    format: Format,
    verbose: u8,
    color: bool,
    show_diff: bool,
    redactor: Mutex<Redactor>,
    progress: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    out: Mutex<()>,
    /// `--output ansible`: the task whose banner was printed last.
    last_banner: Mutex<Option<usize>>,
    /// `log_path`: a file that gets what is shown, too.
    log: Option<log_file::LogFile>,
    /// The deprecations said so far (their first lines): each is said once
    /// per run, as ansible-core says them.
    deprecations_said: Mutex<std::collections::HashSet<String>>,
    /// The warnings [`Reporter::warn_once`] said so far.
    warnings_said: Mutex<std::collections::HashSet<String>>,
    /// ansible.cfg's `debug` (`ANSIBLE_DEBUG`).
    debug: bool,
}

impl Reporter {
    pub fn new(format: Format, verbose: u8, show_diff: bool) -> Self {
        let tty = console::Term::stdout().is_term();
        let progress = (tty && format == Format::Human && verbose == 0)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Reporter {
            format,
            verbose,
            color: tty && console::colors_enabled(),
            show_diff,
            redactor: Mutex::new(Redactor::default()),
            progress,
            bars: Mutex::new(HashMap::new()),
            out: Mutex::new(()),
            last_banner: Mutex::new(None),
            log: None,
            deprecations_said: Mutex::default(),
            warnings_said: Mutex::default(),
            debug: false,
        }
    }

    /// Also prints ansible-core's debug lines (see [`Reporter::debug`]).
    pub fn with_debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// A line of ansible-core's debug trace (`ANSIBLE_DEBUG`), as its
    /// `Display.debug` prints it: process id and time first. rprov has
    /// only the lines that say what a play's flow did.
    pub fn debug(&self, msg: &str) {
        if self.debug && self.format != Format::Json {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let pid = std::process::id();
            self.emit(&self.redact(&format!("{pid:>6} {now:.5}: {msg}\n")));
        }
    }

    /// Also writes everything shown to `log` (ansible.cfg's `log_path`).
    pub fn with_log(mut self, log: log_file::LogFile) -> Self {
        self.log = Some(log);
        self
    }

    /// A message of verbosity `level` (3 for `-vvv`): shown at that `-v`,
    /// else only logged when `log_verbosity` reaches it, as ansible-core's
    /// `display.vvv`.
    pub fn verbose_line(&self, level: u8, msg: &str) {
        if self.verbose >= level {
            match self.format {
                Format::Json => {}
                Format::Ansible | Format::Minimal | Format::OneLine => {
                    self.emit(&self.redact(&format!("{msg}\n")))
                }
                Format::Human => self.note(msg),
            }
        } else if let Some(log) = self.log.as_ref().filter(|l| l.verbosity >= level) {
            log.write(log_file::Level::Info, &self.redact(msg));
        }
    }

    /// Adds secret values to mask (from secrets.age and vault files).
    pub fn add_secrets(&self, r: Redactor) {
        if let Ok(mut mine) = self.redactor.lock() {
            mine.merge(r);
        }
    }

    pub fn redact(&self, s: &str) -> String {
        match self.redactor.lock() {
            Ok(r) => r.redact(s).into_owned(),
            Err(_) => s.to_string(),
        }
    }

    /// Masks secrets in a structured value; use it *before* turning a value
    /// into text, so that escaping (`\"`, `\t`, `\u00e6`) cannot hide one.
    pub fn redact_json(&self, v: &Json) -> Json {
        match self.redactor.lock() {
            Ok(r) => r.redact_json(v),
            Err(_) => Json::Null,
        }
    }

    /// Hides the old content of a registered `diff` whose file holds
    /// secrets, as printed diffs do (see `diff::hide_registered_old`).
    pub fn hide_old_secret_content(&self, result: &mut serde_json::Map<String, Json>) {
        match self.redactor.lock() {
            Ok(r) => diff::hide_registered_old(result, &r),
            // Without the redactor nothing says which file is safe to show.
            Err(_) => {
                result.remove("diff");
            }
        }
    }

    /// Every secret value of the run, for the engine to keep them literal.
    pub fn secret_values(&self) -> Vec<String> {
        match self.redactor.lock() {
            Ok(r) => r.secret_values().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Writes to stdout without tearing progress bars or other hosts' lines.
    fn emit(&self, text: &str) {
        let _guard = self.out.lock();
        if let Some(log) = &self.log {
            log.write(log_file::Level::Info, text);
        }
        let write = || {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`rprov apply | head`) is not an error worth a panic.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        };
        match &self.progress {
            Some(mp) => mp.suspend(write),
            None => write(),
        }
    }

    fn json_line(&self, v: Json) {
        let v = self.redact_json(&v);
        self.emit(&format!("{v}\n"));
    }

    pub fn play_start(&self, name: &str, hosts: &[String]) {
        match self.format {
            Format::Json => self.json_line(json!({"event": "play", "name": name, "hosts": hosts})),
            Format::Ansible => {
                if let Ok(mut last) = self.last_banner.lock() {
                    *last = None;
                }
                let text = ansible::play(name, hosts.len(), ansible::columns());
                self.emit(&self.redact(&text));
            }
            Format::Minimal | Format::OneLine => {}
            Format::Human => {
                let title = format!(
                    "PLAY {name} ({} host{})",
                    hosts.len(),
                    if hosts.len() == 1 { "" } else { "s" }
                );
                self.emit(&format!("{}\n", self.paint_bold(&self.redact(&title))));
            }
        }
    }

    /// A play whose pattern matched no host: said only in ansible-playbook's
    /// output, which has a line for it (rprov's own output says it before
    /// the run, as a warning).
    pub fn play_without_hosts(&self, name: &str) {
        if self.format == Format::Ansible {
            self.emit(&self.redact(&ansible::play(name, 0, ansible::columns())));
        }
    }

    pub fn host_start(&self, host: &str, tasks: u64) {
        if self.format == Format::Json {
            self.json_line(json!({"event": "host_start", "host": host}));
        }
        if let Some(mp) = &self.progress {
            let bar = mp.add(ProgressBar::new(tasks));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>16.bold} [{bar:30}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(host.to_string());
            if let Ok(mut bars) = self.bars.lock() {
                bars.insert(host.to_string(), bar);
            }
        }
    }

    pub fn host_progress(&self, host: &str, task: &str) {
        if let Ok(bars) = self.bars.lock() {
            if let Some(b) = bars.get(host) {
                b.set_message(self.redact(task));
                b.inc(1);
            }
        }
    }

    /// A loop task of `items` items: the bar counts one step per item, as the
    /// task lines and the recap do (the task itself was counted as one step
    /// when it started).
    pub fn host_loop_items(&self, host: &str, items: usize) {
        if let Ok(bars) = self.bars.lock() {
            if let Some(b) = bars.get(host) {
                match items {
                    0 => {
                        b.dec(1);
                        b.dec_length(1);
                    }
                    n => b.inc_length(n as u64 - 1),
                }
            }
        }
    }

    pub fn host_done(&self, host: &str) {
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(b) = bars.remove(host) {
                b.finish_and_clear();
            }
        }
    }

    pub fn task(&self, ev: &TaskEvent) {
        match self.format {
            Format::Json => {
                let mut line = json!({
                    "event": "task",
                    "host": ev.host,
                    "task": ev.task,
                    "status": ev.status.as_str(),
                    "duration_ms": ev.duration.as_millis() as u64,
                });
                if let Some(i) = ev.item {
                    // no_log hides the item too: it often is the secret.
                    line["item"] = if ev.no_log { Json::Null } else { json!(i) };
                }
                if ev.ignored {
                    line["ignored"] = json!(true);
                }
                if ev.unreachable {
                    line["unreachable"] = json!(true);
                }
                if ev.fallback {
                    line["fallback"] = json!(true);
                }
                if ev.no_log {
                    line["censored"] = json!("the output has been hidden due to the fact that 'no_log: true' was specified for this result");
                } else {
                    if let Some(m) = ev.msg {
                        line["msg"] = json!(m);
                        line["msg_kind"] = json!(ev.msg_kind.as_str());
                    }
                    if !ev.diffs.is_empty() && (self.show_diff || ev.status == Status::Changed) {
                        let r = self.redactor.lock().map(|r| r.clone()).unwrap_or_default();
                        line["diff"] = ev.diffs.iter().map(|d| diff::to_json(d, &r)).collect();
                    }
                    if let Some(r) = ev.result {
                        line["result"] = r.clone();
                    }
                }
                self.json_line(line);
            }
            Format::Human => self.emit(&self.human_task(ev)),
            Format::Ansible if ev.ran_elsewhere => {}
            Format::Ansible => self.ansible_task(ev),
            Format::Minimal | Format::OneLine => self.emit(&self.adhoc_task(ev)),
        }
    }

    fn adhoc_task(&self, ev: &TaskEvent) -> String {
        let mut text = self.changed_diffs(ev);
        // Masked as a value first: as JSON text a secret is escaped.
        let result = ev.result.map(|r| self.redact_json(r));
        let ev = TaskEvent {
            result: result.as_ref(),
            ..*ev
        };
        let lines = adhoc::result(&ev, self.verbose, self.format == Format::OneLine);
        text.push_str(&self.paint_status(ev.status, &lines));
        self.redact(&text)
    }

    /// The diffs of a changed result shown with `--diff` (not of a no_log
    /// one), as Ansible's output shows them before the result.
    fn changed_diffs(&self, ev: &TaskEvent) -> String {
        let mut text = String::new();
        if self.show_diff && !ev.no_log && ev.status == Status::Changed {
            let r = self.redactor.lock().map(|r| r.clone()).unwrap_or_default();
            for d in ev.diffs {
                text.push_str(&diff::render(d, self.color, &r));
            }
        }
        text
    }

    /// Writes `body` under the banner of task `key`, printing the banner
    /// first when the last one printed was another task's. The banner lock
    /// is held through the write: hosts go at their own pace, and a slow
    /// host's result must not land under a banner another host printed
    /// between the check and the write.
    fn emit_under_banner(&self, key: usize, banner: impl FnOnce() -> String, body: &str) {
        let Ok(mut last) = self.last_banner.lock() else {
            return self.emit(body);
        };
        if last.replace(key) == Some(key) {
            if !body.is_empty() {
                self.emit(body);
            }
        } else {
            self.emit(&format!("{}{body}", banner()));
        }
    }

    fn ansible_task(&self, ev: &TaskEvent) {
        let banner = || self.redact(&ansible::task_banner(ev, ansible::columns()));
        self.emit_under_banner(ev.task_id, banner, &self.ansible_result(ev));
    }

    /// A task result's lines in ansible-playbook's words, without its banner.
    fn ansible_result(&self, ev: &TaskEvent) -> String {
        let mut text = String::new();
        if let Some(line) = ansible::error_line(ev) {
            text.push_str(&line);
        }
        text.push_str(&self.changed_diffs(ev));
        // Masked as a value first: as JSON text a secret is escaped.
        let result = ev.result.map(|r| self.redact_json(r));
        let ev = TaskEvent {
            result: result.as_ref(),
            ..*ev
        };
        let lines = ansible::result_lines(&ev, self.verbose);
        text.push_str(&match self.color {
            false => lines,
            true => {
                let status = if ev.ignored {
                    Status::Skipped
                } else {
                    ev.status
                };
                self.paint_status(status, &lines)
            }
        });
        self.redact(&text)
    }

    fn human_task(&self, ev: &TaskEvent) -> String {
        let status = match (ev.status, ev.ignored) {
            (Status::Failed, true) if ev.unreachable => "unreachable (ignored)".to_string(),
            (Status::Failed, true) => "failed (ignored)".to_string(),
            (s, _) => s.as_str().to_string(),
        };
        let word = self.paint_status(ev.status, &format!("{status:<8}"));
        let mut line = format!(
            "{word} {} {}",
            self.paint_dim(&format!("[{}]", ev.host)),
            ev.task
        );
        if ev.fallback {
            line.push_str(&self.paint_dim(" (ansible)"));
        }
        if let Some(i) = ev.item {
            // As Ansible: a no_log loop shows `(item=None)`.
            let shown = if ev.no_log { "None" } else { i };
            line.push_str(&format!(" (item={shown})"));
        }
        if ev.duration >= Duration::from_secs(1) {
            line.push_str(&self.paint_dim(&format!(" {:.1}s", ev.duration.as_secs_f64())));
        }
        line.push('\n');
        if ev.no_log {
            if matches!(ev.status, Status::Failed) {
                line.push_str("    (output hidden: no_log: true)\n");
            }
            return self.redact(&line);
        }
        if let Some(m) = ev.msg {
            // Why a task is unknown: what it waits for is the part of a dry
            // run a reader needs, on every `unknown` line.
            if matches!(ev.status, Status::Failed)
                || matches!(ev.msg_kind, MsgKind::Debug | MsgKind::Unknown)
                || self.verbose > 0
            {
                for l in m.lines() {
                    line.push_str(&format!("    {l}\n"));
                }
            }
        }
        if self.show_diff && !ev.diffs.is_empty() {
            for d in ev.diffs {
                let r = self.redactor.lock().map(|r| r.clone()).unwrap_or_default();
                line.push_str(&diff::render(d, self.color, &r));
            }
        }
        if self.verbose > 0 {
            if let Some(r) = ev.result {
                // Masked as a value first: as JSON text a secret is escaped.
                let pretty = serde_json::to_string_pretty(&self.redact_json(r)).unwrap_or_default();
                for l in pretty.lines() {
                    line.push_str(&format!("    {l}\n"));
                }
            }
        }
        self.redact(&line)
    }

    /// A SIGINT or SIGTERM arrived: says what happens now, on stderr (it is
    /// not a result, and JSON consumers read stdout).
    pub fn interrupt_received(&self, signal: &str, first: bool) {
        let text = if first {
            format!(
                "{signal}: stopping: no new task starts, tasks in flight finish; \
                 press Ctrl-C again to stop at once\n"
            )
        } else {
            format!("{signal} again: stopping at once\n")
        };
        self.to_stderr(&text);
    }

    /// A warning about the configuration or the playbook, before any host is
    /// touched. On stderr in both formats: stdout stays task events (or JSON).
    pub fn warn(&self, msg: &str) {
        let word = match self.format {
            Format::Ansible | Format::Minimal | Format::OneLine => "[WARNING]:",
            Format::Human | Format::Json => "warning:",
        };
        self.labelled(style(word).yellow(), msg);
    }

    /// `msg` on stderr after `label`, coloured when the terminal is.
    fn labelled(&self, label: console::StyledObject<&str>, msg: &str) {
        let label = label.force_styling(self.color);
        self.to_stderr(&format!("{label} {msg}\n"));
    }

    /// [`Reporter::warn`], once per run however many hosts and items meet
    /// the same words (a lookup's warning, rendered for each of them).
    pub fn warn_once(&self, msg: &str) {
        if self
            .warnings_said
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(msg.to_string())
        {
            self.warn(msg);
        }
    }

    /// Something ansible-core still does and will stop doing, in its words:
    /// `[DEPRECATION WARNING]: …` on stderr, like [`Reporter::warn`].
    pub fn deprecation(&self, msg: &str) {
        let first = msg.lines().next().unwrap_or_default().to_string();
        if !self
            .deprecations_said
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(first)
        {
            return;
        }
        let word = match self.format {
            Format::Ansible | Format::Minimal | Format::OneLine => "[DEPRECATION WARNING]:",
            Format::Human | Format::Json => "deprecated:",
        };
        self.labelled(style(word).magenta(), msg);
    }

    /// An error that does not stop the run nor change its exit status (as
    /// ansible-playbook's `[ERROR]:` lines), on stderr like [`Reporter::warn`].
    pub fn error(&self, msg: &str) {
        let label = if self.color {
            style("error:").red().to_string()
        } else {
            "error:".to_string()
        };
        self.to_stderr(&format!("{label} {msg}\n"));
    }

    /// A `meta` task that ran: ansible-playbook's banner of the task
    /// (`TASK [meta]`, `RUNNING HANDLER [h]`), shown in `--output ansible`
    /// output, and at `-vv` what it did (`META: noop`). A meta task has no
    /// result line.
    pub fn meta(&self, task_id: usize, task: &str, handler: bool, msg: &str) {
        if self.format == Format::Ansible {
            self.under_task_banner(task_id, task, handler, "");
        }
        self.vv(&format!("META: {msg}"));
    }

    /// `--output ansible`: ansible-playbook's line for an `async` job it
    /// waits for (`ASYNC POLL on web1: jid=… started=True finished=False`,
    /// `ASYNC OK on web1: jid=…`), under the banner of its task.
    pub fn async_line(&self, task_id: usize, task: &str, handler: bool, line: &str) {
        if self.format == Format::Ansible {
            self.under_task_banner(task_id, task, handler, &self.redact(&format!("{line}\n")));
        }
    }

    /// [`Reporter::emit_under_banner`] with the banner of task `task`.
    fn under_task_banner(&self, task_id: usize, task: &str, handler: bool, body: &str) {
        let banner = || {
            self.redact(&ansible::named_task_banner(
                task,
                handler,
                ansible::columns(),
            ))
        };
        self.emit_under_banner(task_id, banner, body);
    }

    /// What ansible-playbook shows at `-vv` on stdout (`META: ending play`),
    /// in human and `--output ansible` output at `-vv` and more.
    pub fn vv(&self, msg: &str) {
        if self.format != Format::Json && self.verbose >= 2 {
            self.emit(&format!("{msg}\n"));
        }
    }

    /// A line for the user that is not a task result (`-v`: which ansible.cfg
    /// was read), on stderr like [`Reporter::warn`].
    pub fn note(&self, msg: &str) {
        self.to_stderr(&format!("{msg}\n"));
    }

    fn to_stderr(&self, text: &str) {
        let text = self.redact(text);
        let _guard = self.out.lock();
        if let Some(log) = &self.log {
            log.write(log_file::level_of(&text), &text);
        }
        let write = || {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        };
        match &self.progress {
            Some(mp) => mp.suspend(write),
            None => write(),
        }
    }

    /// The run was stopped by `signal`: said just before the recap (in JSON
    /// as its own line; the recap stays the last line).
    pub fn interrupted(&self, signal: &str) {
        match self.format {
            Format::Json => self.json_line(json!({"event": "interrupted", "signal": signal})),
            Format::Human | Format::Ansible | Format::Minimal | Format::OneLine => {
                let text =
                    format!("INTERRUPTED by {signal}: later tasks and handlers did not run\n");
                self.emit(&self.paint_status(Status::Failed, &text));
            }
        }
    }

    /// A host-level problem (unreachable, a task error outside a task line).
    pub fn host_error(&self, host: &str, msg: &str) {
        match self.format {
            Format::Json => {
                self.json_line(json!({"event": "host_error", "host": host, "msg": msg}))
            }
            Format::Ansible => {
                let text = format!(
                    "fatal: [{host}]: FAILED! => {}\n",
                    ansible::dump(&json!({"msg": msg}), false)
                );
                self.emit(&self.redact(&text));
            }
            Format::Minimal | Format::OneLine => {
                let text = adhoc::host_error(host, msg, self.format == Format::OneLine);
                self.emit(&self.redact(&self.paint_status(Status::Failed, &text)));
            }
            Format::Human => {
                let text = format!(
                    "{} {} {}\n",
                    self.paint_status(Status::Failed, "error   "),
                    self.paint_dim(&format!("[{host}]")),
                    msg.replace('\n', "\n    ")
                );
                self.emit(&self.redact(&text));
            }
        }
    }

    /// A loop task whose failed items were ignored: ansible-playbook says
    /// `...ignoring` once, after the items (the items' own lines do not).
    pub fn loop_failure_ignored(&self) {
        if self.format == Format::Ansible {
            self.emit("...ignoring\n");
        }
    }

    /// A host that could not be reached: a host error, in ansible-core's
    /// words under `--output ansible`.
    /// `host` starts gathering facts for play `play`: ansible-playbook's
    /// `TASK [Gathering Facts]` banner, so that what comes of it (an
    /// unreachable host too) follows it there.
    pub fn gathering_facts(&self, play: usize) {
        if self.format != Format::Ansible {
            return;
        }
        let banner = || ansible::named_task_banner("Gathering Facts", false, ansible::columns());
        self.emit_under_banner(usize::MAX - play, banner, "");
    }

    /// `host`'s facts were gathered for play `play`: ansible-playbook's
    /// `TASK [Gathering Facts]` and its `ok:` line. rprov's own formats say
    /// nothing: gathering is the play's first probe, not a task.
    pub fn facts_gathered(&self, host: &str, play: usize) {
        if self.format != Format::Ansible {
            return;
        }
        let result = json!({});
        let ev = TaskEvent {
            host,
            task: "Gathering Facts",
            item: None,
            status: Status::Ok,
            diffs: &[],
            msg: None,
            msg_kind: MsgKind::Message,
            result: Some(&result),
            no_log: false,
            ignored: false,
            unreachable: false,
            duration: Duration::ZERO,
            fallback: false,
            action: "gather_facts",
            handler: false,
            // No task's address: one banner per play, whichever host.
            task_id: usize::MAX - play,
            ran_elsewhere: false,
            origin: None,
            cause: &[],
            quiet: false,
            delegated: None,
        };
        self.ansible_task(&ev);
    }

    /// `host` could not be reached for facts, and the play's
    /// `ignore_unreachable` keeps it in the play.
    pub fn unreachable_ignored(&self, host: &str, msg: &str) {
        match self.format {
            Format::Ansible => {
                let text = ansible::unreachable(host, msg) + "...ignoring\n";
                self.emit(&self.redact(&text));
            }
            Format::Human | Format::Json | Format::Minimal | Format::OneLine => {
                self.host_error(host, &format!("{msg} (ignored: ignore_unreachable)"))
            }
        }
    }

    pub fn unreachable(&self, host: &str, msg: &str) {
        match self.format {
            Format::Ansible => self.emit(&self.redact(&ansible::unreachable(host, msg))),
            Format::Minimal | Format::OneLine => {
                let text = adhoc::unreachable(host, msg, self.format == Format::OneLine);
                self.emit(&self.redact(&self.paint_status(Status::Failed, &text)));
            }
            Format::Human | Format::Json => self.host_error(host, msg),
        }
    }

    /// The recap, and with `--timings` the phase table after it (or, in
    /// JSON, its line just before: the recap stays the last line).
    /// `custom`: what `set_stats` gathered (each host's, and the run's
    /// under `_run`); in JSON its line comes before the recap, and on the
    /// terminal, with `show_custom` (ansible.cfg's `show_custom_stats`),
    /// after it as ansible-core's default callback shows it.
    pub fn recap(
        &self,
        stats: &[(String, HostStats)],
        elapsed: Duration,
        timings: Option<&RunTimings>,
        custom: Option<&Json>,
        show_custom: bool,
    ) {
        match self.format {
            Format::Json => {
                let mut text = String::new();
                if let Some(custom) = custom {
                    let line = json!({"event": "custom_stats", "stats": custom});
                    text.push_str(&self.redact(&line.to_string()));
                    text.push('\n');
                }
                if let Some(t) = timings {
                    text.push_str(&format!("{}\n", timings::json_line(t)));
                }
                text.push_str(&recap::json_line(stats));
                text.push('\n');
                self.emit(&text);
            }
            Format::Ansible => {
                let columns = ansible::columns();
                let mut text = ansible::recap(stats, columns, self.color);
                if let Some(custom) = custom.filter(|_| show_custom) {
                    let body = recap::custom_stats(custom);
                    let body = body.strip_prefix("\nCUSTOM STATS\n").unwrap_or(&body);
                    let banner = ansible::banner("CUSTOM STATS:", columns);
                    text.push_str(&self.redact(&format!("{banner}{body}\n")));
                }
                if let Some(t) = timings {
                    text.push_str(&timings::render(t));
                }
                self.emit(&text);
            }
            // As `ansible`: no recap, the results were the report.
            Format::Minimal | Format::OneLine => {
                if let Some(t) = timings {
                    self.emit(&timings::render(t));
                }
            }
            Format::Human => {
                let mut text = recap::render(stats, elapsed, self.color);
                if let Some(t) = timings {
                    text.push_str(&timings::render(t));
                }
                if let Some(custom) = custom.filter(|_| show_custom) {
                    text.push_str(&self.redact(&recap::custom_stats(custom)));
                }
                self.emit(&text);
            }
        }
    }

    fn paint_status(&self, s: Status, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        match s {
            Status::Ok => style(text).green().to_string(),
            Status::Changed => style(text).yellow().to_string(),
            Status::Failed => style(text).red().bold().to_string(),
            Status::Skipped => style(text).cyan().to_string(),
            Status::Unknown => style(text).magenta().to_string(),
        }
    }

    fn paint_dim(&self, text: &str) -> String {
        if self.color {
            style(text).dim().to_string()
        } else {
            text.to_string()
        }
    }

    fn paint_bold(&self, text: &str) -> String {
        if self.color {
            style(text).bold().to_string()
        } else {
            text.to_string()
        }
    }
}
