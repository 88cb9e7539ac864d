//! One host's run through the plays: its connection, facts, registered
//! variables, probe cache and handler notifications.
//!
//! The probe cache holds what the host looked like when last probed, per sudo
//! user. An action marks the paths it touched as stale (a command marks
//! everything), so a later task never plans against a state that an earlier
//! task changed — the lesson of pyinfra 2's "interdependent operations".

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

mod act;
mod batch;
mod compiled;
mod facts_to;
mod fused;
mod host_vars;
mod link;
pub(in crate::engine) mod local;
mod reboot;
mod remote;
mod tasks;
mod template_vars;
mod wait_connection;

use rprov_template::{TemplateError, TemplateErrorKind, OMIT};
use serde_json::{json, Map, Value as Json};

use super::delegated_facts::{Delivery, FactsKind};
use super::lookahead;
use super::run_once;
use super::vars::{HostvarsSource, Refusals, Resolver};
use super::Shared;
use crate::modules::Diff;
use crate::playbook::{Play, RoleInstance, Task, Vars};
use crate::probe::Probe;
use crate::report::{ErrorLink, HostStats, HostTimings, MsgKind, Phase, Status};
pub(in crate::engine) use host_vars::namespaced as namespaced_fact;

/// Why a host stops running tasks.
#[derive(Debug)]
pub enum Stop {
    /// A task failed (and was not ignored or rescued).
    Failed,
    /// The host cannot be reached any more.
    Unreachable,
    /// `meta: end_host` / `end_play`.
    Ended,
    /// Another host's failure stopped the play (`any_errors_fatal`,
    /// `max_fail_percentage`).
    Aborted,
    /// The user interrupted the run (SIGINT, SIGTERM): no further task.
    Interrupted,
}

/// What a task asks of the task list around it.
enum Flow {
    Next,
    FlushHandlers,
}

/// The outcome of one task item, before it is reported.
pub(super) struct ItemOutcome {
    status: Status,
    result: Map<String, Json>,
    diffs: Vec<Diff>,
    msg: Option<String>,
    /// What `msg` is, for the printers (see `report::MsgKind`).
    msg_kind: MsgKind,
    /// The result is shown censored, as a `no_log` task's, whatever the
    /// task says: ansible-core's `_ansible_no_log` in a result
    /// (`include_vars` of a vault file).
    hidden: bool,
}

impl ItemOutcome {
    fn new(status: Status, result: Map<String, Json>) -> Self {
        ItemOutcome {
            status,
            result,
            diffs: Vec::new(),
            msg: None,
            msg_kind: MsgKind::Message,
            hidden: false,
        }
    }

    fn failed(msg: impl Into<String>) -> Self {
        let msg = msg.into();
        let mut result = Map::new();
        result.insert("failed".into(), json!(true));
        result.insert("msg".into(), json!(msg.clone()));
        ItemOutcome {
            status: Status::Failed,
            result,
            diffs: Vec::new(),
            msg: Some(msg),
            msg_kind: MsgKind::Message,
            hidden: false,
        }
    }

    fn skipped(reason: &str) -> Self {
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("skipped".into(), json!(true));
        result.insert("skip_reason".into(), json!(reason));
        ItemOutcome {
            status: Status::Skipped,
            result,
            diffs: Vec::new(),
            msg: None,
            msg_kind: MsgKind::Message,
            hidden: false,
        }
    }

    /// The outcome of a task that did not run in check mode, or that needed a
    /// value not known. Its result has the shape of a command's, with empty
    /// output, for the output and `hostvars`; what it registers for this
    /// host's later tasks is `vars::unknown_value` (see `conclude`).
    fn unknown(msg: &str) -> Self {
        let mut result = Map::new();
        for (k, v) in [
            ("changed", json!(false)),
            ("unknown", json!(true)),
            ("rc", json!(0)),
            ("stdout", json!("")),
            ("stdout_lines", json!([])),
            ("stderr", json!("")),
            ("stderr_lines", json!([])),
            ("msg", json!(msg)),
        ] {
            result.insert(k.into(), v);
        }
        ItemOutcome {
            status: Status::Unknown,
            result,
            diffs: Vec::new(),
            msg: Some(msg.to_string()),
            msg_kind: MsgKind::Unknown,
            hidden: false,
        }
    }
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the run goes once the current task list ends: the task lists around
/// it (an including file, an enclosing block, the play's later sections),
/// each with the index to resume at, innermost last. Only the lookahead reads
/// it, so that one probe also covers the tasks after an include, a block or a
/// role boundary.
pub(super) type Rest<'a> = &'a [(&'a [Task], usize)];

/// `rest` with `(tasks, next)` pushed as the innermost continuation.
fn push_rest<'a>(rest: Rest<'a>, tasks: &'a [Task], next: usize) -> Vec<(&'a [Task], usize)> {
    let mut v = rest.to_vec();
    v.push((tasks, next));
    v
}

pub struct HostRunner {
    pub name: String,
    shared: Arc<Shared>,
    pi: usize,
    /// This host's connection and probe cache.
    own: link::Link,
    /// This host's own variable layers.
    vars: host_vars::HostVars,
    stats: HostStats,
    /// Tasks of this host left undone so far: changed in check mode, or
    /// unknown. A later task that finds something missing may be meeting
    /// one of them (see `act::HostRunner::missing`).
    left_undone: u64,
    stopped: Option<Stop>,
    /// Which handlers are notified: the play's, then `extra_handlers`.
    notified: Vec<bool>,
    /// Handlers of the roles this host included at run time in the
    /// current play (see `local::include_role`), after the play's.
    extra_handlers: Arc<Vec<Task>>,
    /// The tasks of each file (or role) included at run time, kept once
    /// they ran: a task's address is its identity in the report (a new
    /// `TASK` banner), and a file included again must not reuse the
    /// memory of the last one.
    spent_includes: Vec<Vec<Task>>,
    /// A templated `no_log` as rendered for the running task (its address,
    /// the truth): see [`HostRunner::no_log_of`].
    no_log_now: Option<(usize, bool)>,
    /// A templated `check_mode` likewise (see `HostRunner::effective_check`).
    check_now: Option<(usize, bool)>,
    /// The role applications (their `RoleInstance`s' addresses) a task of
    /// which reached this host in the current play: they open their
    /// [`Task::gated`] handlers.
    entered_roles: std::collections::HashSet<usize>,
    /// The role applications (their `RoleData`s' addresses) `meta:
    /// end_role` ended on this host in the current play.
    ended_roles: std::collections::HashSet<usize>,
    /// Roles applied once per host (their `RoleInstance::once_key`) that
    /// ran a task here (ok, changed or failed), and those of them whose
    /// application then reached its end: the later ones are passed over.
    roles_ran: std::collections::HashSet<Arc<str>>,
    roles_done: std::collections::HashSet<Arc<str>>,
    /// The task being reported is a `run_once` task another host ran.
    following_run_once: bool,
    /// The last template failure in a task's arguments: its message, and
    /// the chain of errors ansible-core prints for it (see
    /// [`HostRunner::template_failure`]); taken by the next report, which
    /// uses it when its result's `msg` is that message. Kept here, beside
    /// the message, because the message reaches the report as text through
    /// the planning code (`PlanError::Fail`, module results).
    failure_cause: std::sync::Mutex<Option<(String, Vec<ErrorLink>)>>,
    in_handlers: bool,
    /// Values not known (see `vars::unknown_value`) that the task item being
    /// evaluated asked for.
    refusals: Refusals,
    /// Text the running loop's items got by rendering a template
    /// (see `loop_made_texts`).
    loop_made_texts: std::sync::Mutex<std::collections::HashSet<String>>,
    /// What ansible-core deprecates that the task item being evaluated did
    /// (see `deprecations`).
    deprecated: std::sync::Mutex<Vec<&'static str>>,
    nonce: u64,
    /// How many times this host reached each run_once task (key with nth 0).
    run_once_seen: HashMap<run_once::Key, u32>,
    /// The links to the hosts tasks were delegated to (the controller as
    /// `localhost`), by inventory name, kept for the rest of the run.
    delegates: HashMap<String, link::Link>,
    /// The delegated task running now: the host it goes to and that host's
    /// link, out of `delegates` meanwhile. `own` is left as it is.
    delegated: Option<(String, link::Link)>,
    /// How the results of the running task (or loop item) say where it ran
    /// when delegated (see `TaskEvent::delegated`).
    delegate_shown: Option<String>,
    /// run_once tasks this host is running for the others, innermost last.
    run_once_leading: Vec<(run_once::Key, run_once::Publisher)>,
    /// How many enclosing blocks with a `rescue:` the current task is in: a
    /// failure there is handled, not a failure of the host.
    rescue_depth: usize,
    /// The task and result of the last failure not ignored: a `rescue:`
    /// sees them as `ansible_failed_task` and `ansible_failed_result`.
    last_failure: Option<(Json, Json)>,
    /// This host's failure in the current play was counted (see `abort`).
    failure_counted: bool,
    /// Tasks this host started in the current play, for `engine::lockstep`.
    tasks_done: usize,
    /// The generation of the play's stop flag this host has seen
    /// (`engine::abort`): a newer one fails it at its next task.
    abort_seen: usize,
    /// Why, and before which task, a stop flag failed this host: reported
    /// when that ends its play, not when a `rescue:` takes it back.
    abort_note: Option<(String, String)>,
    /// The running task has `any_errors_fatal` (for failures outside
    /// `conclude`: unreachable, a probe that cannot be read).
    task_fatal: bool,
    /// Where this host's time went, for `--timings`.
    timings: HostTimings,
    /// Changes kept to run together with the next remote command (see
    /// `batch`), and the outcomes waiting for them.
    batch: batch::Batch,
    /// The task being run may keep its change in `batch`.
    staging: bool,
    /// The change the task being run kept, and its sudo user.
    staged: Option<(crate::modules::Action, Option<String>)>,
    /// The outcomes of loop items that waited in a batch which ran before
    /// their loop ended, in order (see `batch::HostRunner::fill_loop`).
    loop_items: Vec<(u64, ItemOutcome)>,
    /// Runs of loop tasks so far: each run's id.
    loop_seq: u64,
    /// The running task has `ignore_unreachable`: losing the host (or its
    /// delegate) ends the task, not the host's play.
    ignoring_unreachable: bool,
    /// Why the host was lost while `ignoring_unreachable`, for the task's
    /// result.
    unreachable_msg: Option<String>,
    /// `--start-at-task`: tasks are skipped until one matches this.
    start_pending: Option<String>,
    /// The tasks of the play reached so far (those a block holds, not the
    /// block itself): where in the play a task is, comparable between hosts
    /// that run the same tasks (see [`HostRunner::unreachable_at`]).
    steps: usize,
    /// Where in the play this host became unreachable: the task's address
    /// (`None`: while gathering facts) and its step.
    unreachable_at: Option<(Option<usize>, usize)>,
    /// Coming back after `meta: clear_host_errors` (see
    /// [`HostRunner::resume_play`]): the tasks up to the one at this address,
    /// and it, are passed over. `Some(None)`: facts are not gathered again.
    resume_after: Option<Option<usize>>,
}

impl HostRunner {
    pub fn new(name: String, shared: Arc<Shared>) -> Self {
        let inventory_vars = shared.inventory().host_vars(&name);
        let literal = shared.literal_values();
        let mut vars = host_vars::HostVars::new(inventory_vars, literal);
        // Facts cached by an earlier run are the host's from the start, as
        // ansible-core's VariableManager reads them; `gathering = smart`
        // then does not gather for a host whose facts were gathered.
        let cached = shared.cached_facts(&name);
        if let Some(raw) = &cached {
            vars.load_cached(raw);
            vars.facts_gathered = shared.opts.smart_gathering
                && raw
                    .get(crate::fact_cache::GATHERED_KEY)
                    .is_some_and(crate::truthy::is_truthy);
        }
        if shared.fact_cache.is_persistent() {
            vars.cached = Some(cached.unwrap_or_default());
        }
        HostRunner {
            name,
            shared,
            pi: 0,
            own: link::Link::default(),
            vars,
            stats: HostStats::default(),
            left_undone: 0,
            stopped: None,
            notified: Vec::new(),
            extra_handlers: Arc::default(),
            spent_includes: Vec::new(),
            no_log_now: None,
            check_now: None,
            entered_roles: Default::default(),
            ended_roles: Default::default(),
            roles_ran: Default::default(),
            roles_done: Default::default(),
            following_run_once: false,
            failure_cause: Default::default(),
            in_handlers: false,
            refusals: Refusals::default(),
            loop_made_texts: Default::default(),
            deprecated: Default::default(),
            nonce: 0,
            run_once_seen: HashMap::new(),
            delegates: HashMap::new(),
            delegated: None,
            delegate_shown: None,
            run_once_leading: Vec::new(),
            rescue_depth: 0,
            last_failure: None,
            failure_counted: false,
            tasks_done: 0,
            abort_seen: 0,
            abort_note: None,
            task_fatal: false,
            timings: HostTimings::default(),
            batch: batch::Batch::default(),
            staging: false,
            staged: None,
            loop_items: Vec::new(),
            loop_seq: 0,
            start_pending: None,
            steps: 0,
            unreachable_at: None,
            resume_after: None,
            ignoring_unreachable: false,
            unreachable_msg: None,
        }
    }

    /// Whether later plays should include this host (Ansible drops failed hosts).
    pub fn can_continue(&self) -> bool {
        matches!(self.stopped, None | Some(Stop::Ended))
    }

    /// `meta: clear_host_errors` ran: a host that failed, or could not be
    /// reached, takes part in the next play (and logs in afresh), as in
    /// ansible-core. Its counts stay.
    pub fn clear_errors(&mut self) {
        if matches!(self.stopped, Some(Stop::Failed | Stop::Unreachable)) {
            self.stopped = None;
        }
        self.stats.failed_cleared = self.stats.failed;
        self.stats.unreachable_cleared = self.stats.unreachable_times;
    }

    /// Closes the connection; the host's counters and timings.
    pub async fn finish(mut self) -> (HostStats, HostTimings) {
        self.stats.remote_commands = self.commands_run();
        let closing = Instant::now();
        if self.own.release().await {
            self.timings.connected(closing, false);
            self.timings.spent(closing);
        }
        for (_, mut link) in self.delegates.drain() {
            link.release().await;
        }
        (self.stats, self.timings)
    }

    pub async fn run_play(&mut self, pi: usize) {
        let started = Instant::now();
        self.unreachable_at = None;
        self.play_on(pi).await;
        self.timings.spent(started);
    }

    /// The step (see [`HostRunner::steps`]) at which this host became
    /// unreachable in the play it ran last, if it did and is stopped by it.
    pub fn unreachable_step(&self) -> Option<usize> {
        match self.stopped {
            Some(Stop::Unreachable) => self.unreachable_at.map(|(_, step)| step),
            _ => None,
        }
    }

    /// Runs play `pi` again from the task after the one where this host
    /// became unreachable, once `meta: clear_host_errors` ran later in the
    /// play: ansible-core's linear strategy picks such a host up after the
    /// others have run the play's tasks. Its counts stay.
    pub async fn resume_play(&mut self, pi: usize) {
        let Some((at, _)) = self.unreachable_at.take() else {
            return;
        };
        self.stopped = None;
        self.stats.unreachable_cleared = self.stats.unreachable_times;
        self.resume_after = Some(at);
        let started = Instant::now();
        self.play_on(pi).await;
        self.resume_after = None;
        self.timings.spent(started);
    }

    async fn play_on(&mut self, pi: usize) {
        self.pi = pi;
        if matches!(self.stopped, Some(Stop::Ended)) {
            self.stopped = None;
        }
        let shared = self.shared.clone();
        let play = &shared.playbook.plays[pi];
        self.failure_counted = false;
        self.tasks_done = 0;
        self.steps = 0;
        self.abort_seen = 0;
        self.abort_note = None;
        if shared.interrupt.requested().is_some() {
            self.stopped = Some(Stop::Interrupted);
            return;
        }
        if let Some(reason) = shared.abort.reason(pi) {
            self.stop_aborted(&reason, &format!("before `{}`", play.name));
            return;
        }
        self.start_pending = match shared.play_start(pi) {
            super::start_at::PlayStart::All => None,
            super::start_at::PlayStart::Nothing => return,
            super::start_at::PlayStart::From(p) => Some(p),
        };
        self.notified = vec![false; play.handlers.len()];
        self.extra_handlers = Arc::default();
        self.entered_roles.clear();
        self.ended_roles.clear();
        self.roles_ran.clear();
        self.roles_done.clear();
        self.vars.public_roles.clear();
        self.vars.play = play.vars.clone();
        self.receive_facts();
        if shared.inventory_changed() {
            // `add_host` may have given this host new variables.
            self.vars.inventory = shared.inventory().host_vars(&self.name);
        }
        let total: usize = play.sections.iter().map(Vec::len).sum();
        shared.reporter.host_start(&self.name, total as u64);

        if let Err(msg) = self.load_vars_files(play).await {
            self.fail_host(&msg);
            return;
        }
        // Coming back after `clear_host_errors`: facts were gathered or
        // tried before.
        let resumed = self.resume_after.is_some();
        let gather = match play.gather_facts && !self.vars.facts_gathered && !resumed {
            true => self.gather_conditions_hold(play),
            false => Ok(false),
        };
        let gather = match gather {
            Ok(g) => g,
            Err(msg) => {
                self.fail_host(&msg);
                return;
            }
        };
        if gather {
            let become_ = match self.reach(None) {
                Ok(reach) => {
                    if let Err(stop) = self.aim(reach.target).await {
                        self.stopped = Some(stop);
                        return;
                    }
                    reach.become_user
                }
                Err(msg) => {
                    self.fail_host(&msg);
                    return;
                }
            };
            // The play's environment, which ansible-core's `setup` runs
            // with, so that `ansible_env` shows it.
            let play_env = {
                let magic = self.magic(None);
                let r = self.resolver(None, &[], &magic);
                self.render_environment(&r, &play.environment, &play.origin, true)
            };
            let play_env = match play_env {
                Ok(env) => env,
                Err(msg) => {
                    self.fail_host(&msg);
                    return;
                }
            };
            let mut probes = vec![(become_.clone(), Probe::Facts)];
            // The play's `fact_path`: `ansible_local` from that folder.
            let local_probe = play.fact_path.as_deref().map(|dir| Probe::Shell {
                script: crate::probe::facts::local::script_in(dir),
            });
            if let Some(p) = &local_probe {
                probes.push((become_.clone(), p.clone()));
            }
            if let Some((first, rest)) = play.sections.split_first() {
                let rest: Vec<_> = rest.iter().rev().map(|s| (s.as_slice(), 0)).collect();
                probes.extend(lookahead::collect(self, first, 0, &rest));
            }
            // The play's `ignore_unreachable` covers gathering facts: the
            // host stays in the play, and its tasks try again.
            let was = std::mem::replace(&mut self.ignoring_unreachable, play.ignore_unreachable);
            self.shared.reporter.gathering_facts(self.pi);
            let probed = self.probe(&become_, probes).await;
            self.ignoring_unreachable = was;
            if let (Ok(()), Some(p), Some(dir)) = (&probed, &local_probe, play.fact_path.as_deref())
            {
                if let Some(crate::probe::Fact::Text(out)) = self
                    .link()
                    .cache
                    .get(&become_)
                    .and_then(|c| c.get(p))
                    .cloned()
                {
                    let mut facts = serde_json::Map::new();
                    crate::probe::facts::local::parse_in(&out, dir, &mut facts);
                    if let Some(local) = facts.remove("local") {
                        self.set_facts(serde_json::json!({ "local": local }));
                    }
                }
            }
            match probed {
                Ok(()) => {
                    self.cache_gathered(&become_);
                    self.shared.reporter.facts_gathered(&self.name, self.pi);
                    self.stats.facts_gathered += 1;
                }
                Err(Stop::Unreachable) if self.unreachable_msg.is_some() => {
                    let msg = self.unreachable_msg.take().unwrap_or_default();
                    self.shared.reporter.unreachable_ignored(&self.name, &msg);
                    self.stats.ignored += 1;
                }
                Err(stop) => {
                    if matches!(stop, Stop::Unreachable) {
                        self.unreachable_at = Some((None, 0));
                    }
                    self.stopped = Some(stop);
                    return;
                }
            }
            if !play_env.is_empty() {
                self.set_env_facts(play_env);
            }
        }
        if self.resume_after == Some(None) {
            self.resume_after = None;
        }
        for (si, tasks) in play.sections.iter().enumerate() {
            let rest: Vec<_> = play.sections[si + 1..]
                .iter()
                .rev()
                .map(|s| (s.as_slice(), 0))
                .collect();
            let res = match self.run_tasks(tasks, None, &rest).await {
                Ok(()) => {
                    self.say_section_flush(play);
                    self.flush_handlers().await
                }
                Err(stop) => Err(stop),
            };
            if let Err(stop) = res {
                if let (Stop::Aborted, Some((reason, before))) = (&stop, self.abort_note.take()) {
                    self.stop_aborted(&reason, &before);
                }
                // `force_handlers`: what was notified before the failure runs.
                if play.force_handlers && matches!(stop, Stop::Failed | Stop::Aborted) {
                    let _ = self.flush_handlers().await;
                }
                self.stopped = Some(stop);
                break;
            }
        }
        self.stats.remote_commands = self.commands_run();
    }

    /// Whether the `when` of the `import_playbook` that brought `play` in
    /// holds on this host (no condition: it does).
    fn gather_conditions_hold(&self, play: &Play) -> Result<bool, String> {
        let magic = self.magic(None);
        let r = self.resolver(None, &[], &magic);
        for cond in &play.gather_when {
            match self.eval(&r, cond) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => return Err(format!("{}: when: {}", play.origin, e.message)),
            }
        }
        Ok(true)
    }

    /// The gathered `env` facts with `env` set over them, as the host's
    /// environment is when fact gathering runs with the play's
    /// `environment:` (values as the shell has them: text).
    fn set_env_facts(&mut self, env: serde_json::Map<String, Json>) {
        let mut merged = match self.vars.facts.get("ansible_env") {
            Some(Json::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        for (k, v) in env {
            let text = match v {
                Json::String(s) => s,
                other => other.to_string(),
            };
            merged.insert(k, Json::String(text));
        }
        self.set_facts(serde_json::json!({ "env": merged }));
    }

    pub(super) fn fail_host(&mut self, msg: &str) {
        self.shared.reporter.host_error(&self.name, msg);
        self.stats.failed += 1;
        self.stopped = Some(Stop::Failed);
        self.host_failed(self.task_fatal);
    }

    /// This host failed in the current play: unless a `rescue:` will handle
    /// it (a task failure inside a block that has one), counts it for
    /// `max_fail_percentage` and, when `fatal` or the play has
    /// `any_errors_fatal`, stops the play on every host.
    pub(super) fn host_failed(&mut self, fatal: bool) {
        if self.rescue_depth > 0 {
            if fatal || self.shared.playbook.plays[self.pi].any_errors_fatal {
                self.shared.abort.rescued_fatal(self.pi, self.tasks_done);
                self.abort_seen = self.shared.abort.generation(self.pi);
            }
            return;
        }
        self.host_lost(fatal);
    }

    /// [`Self::host_failed`] for what no `rescue:` handles (unreachable).
    pub(super) fn host_lost(&mut self, fatal: bool) {
        if self.failure_counted {
            return;
        }
        self.failure_counted = true;
        self.shared.play_hosts.remove(&self.name);
        let play = &self.shared.playbook.plays[self.pi];
        self.shared.abort.host_failed(
            self.pi,
            &self.name,
            fatal || play.any_errors_fatal,
            play.max_fail_percentage,
            self.tasks_done,
        );
        // This host's own failure marks the others, not itself again.
        self.abort_seen = self.shared.abort.generation(self.pi);
    }

    /// Whether the play's stop flag was raised (again) since this host last
    /// looked: then it fails `at` (`before `task``, `after `task``), as
    /// ansible-core marks it.
    pub(super) fn newly_aborted(&mut self, at: &str) -> bool {
        // In lock-step, the marks of the tasks this host has finished (the
        // others have finished them too); otherwise every mark.
        let limit = match self.shared.lockstep.on() {
            true => self.tasks_done,
            false => usize::MAX,
        };
        let seen = self
            .shared
            .abort
            .seen_before(self.pi, self.abort_seen, limit);
        if seen <= self.abort_seen {
            return false;
        }
        self.abort_seen = seen;
        let reason =
            self.shared.abort.reason(self.pi).unwrap_or_else(|| {
                "a task with `any_errors_fatal` failed on another host".to_string()
            });
        self.abort_note = Some((reason, at.to_string()));
        true
    }

    /// Stops this host because another host's failure stopped the play,
    /// `at` a task (`before `name``).
    pub(super) fn stop_aborted(&mut self, reason: &str, at: &str) {
        self.shared
            .reporter
            .host_error(&self.name, &format!("stopped {at}: {reason}"));
        self.stopped = Some(Stop::Aborted);
    }

    /// `vars_files` of the play (paths may use variables) and secrets.age.
    /// Each file is read once per run (see `engine::vars_files`).
    async fn load_vars_files(&mut self, play: &Play) -> Result<(), String> {
        self.vars.vars_files = self.shared.secrets.clone();
        let mut out = self.shared.secrets.clone();
        for entry in &play.vars_files {
            let origin = &entry.origin;
            // The first of the entry's names that is found, as ansible-core.
            let mut looked = Vec::new();
            let mut tried = Vec::new();
            let mut found = None;
            for file in &entry.names {
                let name = {
                    let magic = self.magic(None);
                    let r = self.resolver(None, &[], &magic);
                    self.render_string(&r, file)
                        .map_err(|e| format!("{origin}: {e}"))?
                };
                let dir = &self.shared.playbook.dir;
                if let Some(path) = crate::playbook::find_vars_file(dir, &name) {
                    found = Some((name, path));
                    break;
                }
                tried.push(format!("`{name}`"));
                looked.extend(
                    crate::playbook::vars_file_candidates(dir, &name)
                        .iter()
                        .map(|p| crate::diag::display_path(p)),
                );
            }
            let Some((name, path)) = found else {
                let what = match tried.as_slice() {
                    [one] => format!("vars file {one} not found"),
                    many => format!("none of the vars files {} was found", many.join(", ")),
                };
                return Err(format!(
                    "{origin}: {what}: looked for {}",
                    looked.join(", ")
                ));
            };
            let loaded = self
                .shared
                .vars_files
                .get(&self.shared, &path)
                .await
                .map_err(|e| format!("{origin}: vars file `{name}`: {e}"))?;
            out.extend(loaded.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        self.vars.vars_files = out;
        self.vars.literal = self.shared.literal_values();
        Ok(())
    }

    fn play(&self) -> &Play {
        &self.shared.playbook.plays[self.pi]
    }

    /// The variable layers for a task, lowest precedence first (see docs/architecture.md).
    /// `task_layers[0]` is the task's own `vars:`; later entries (loop
    /// variables, the result under test) go on top of everything.
    fn layers<'a>(
        &'a self,
        role: Option<&'a RoleInstance>,
        task_layers: &[&'a Vars],
        magic: &'a Vars,
    ) -> Vec<&'a Vars> {
        let play = self.play();
        let mut l: Vec<&Vars> = Vec::with_capacity(16 + play.roles.len() * 4);
        l.push(
            play.connection
                .as_ref()
                .unwrap_or(&self.shared.connection_default),
        );
        // Every public role's defaults, then the task's role's with its
        // chain's above them (Ansible's task-role layer).
        // Roles included at run time with `public: true` come after the
        // play's, for the tasks after their include.
        for r in play.roles.iter().chain(&self.vars.public_roles) {
            l.extend(r.exported_defaults());
        }
        if let Some(r) = role {
            l.extend(r.task_defaults());
        }
        l.push(&self.vars.inventory);
        l.push(&self.vars.facts);
        l.push(&self.vars.play);
        l.push(&self.vars.vars_files);
        for r in play.roles.iter().chain(&self.vars.public_roles) {
            l.extend(r.exported_vars());
        }
        if let Some(r) = role {
            l.extend(r.task_vars());
        }
        l.extend(task_layers.iter().take(1).copied());
        l.push(&self.vars.included);
        l.push(&self.vars.set);
        if let Some(r) = role {
            l.extend(r.task_params());
        }
        l.push(&self.shared.opts.extra_vars);
        l.push(magic);
        l.extend(task_layers.iter().skip(1).copied());
        l
    }

    /// Magic variables Ansible defines for every task.
    fn magic(&self, role: Option<&RoleInstance>) -> Vars {
        let sh = &self.shared;
        let mut m = Vars::new();
        m.insert("inventory_hostname".into(), json!(self.name));
        m.insert(
            "inventory_hostname_short".into(),
            json!(self.name.split('.').next().unwrap_or(&self.name)),
        );
        m.insert(
            "group_names".into(),
            json!(sh.inventory().group_names(&self.name)),
        );
        m.insert("groups".into(), sh.groups());
        m.insert(
            "playbook_dir".into(),
            json!(sh.playbook.dir.display().to_string()),
        );
        // As ansible-core: an inventory file by its absolute path.
        // A host list (`-i a,b`) is no file: no folder (`None`).
        let inventory = sh.inventory();
        let written = inventory.path();
        let (source, dir) = match written.exists() {
            true => {
                let abs = std::path::absolute(written).unwrap_or_else(|_| written.to_path_buf());
                let dir = abs.parent().map(|p| p.display().to_string());
                (abs, dir)
            }
            false => (written.to_path_buf(), None),
        };
        m.insert("inventory_dir".into(), json!(dir));
        m.insert("inventory_file".into(), json!(source.display().to_string()));
        m.insert(
            "ansible_playbook_python".into(),
            json!(crate::modules::ansible_fallback::controller_python()),
        );
        m.insert("ansible_version".into(), ansible_version());
        m.insert("ansible_forks".into(), json!(sh.opts.forks));
        m.insert("ansible_verbosity".into(), json!(sh.opts.verbosity));
        m.insert("ansible_check_mode".into(), json!(sh.opts.check));
        m.insert("ansible_diff_mode".into(), json!(sh.opts.diff));
        m.insert(
            "ansible_run_tags".into(),
            json!(if sh.opts.tags.is_empty() {
                vec!["all".to_string()]
            } else {
                sh.opts.tags.clone()
            }),
        );
        m.insert("ansible_skip_tags".into(), json!(sh.opts.skip_tags));
        m.insert("ansible_play_name".into(), json!(self.play().name));
        for (name, hosts) in sh.play_hosts.vars() {
            m.insert(name.into(), hosts);
        }
        // The play's roles and their dependencies, as ansible-core's
        // `_get_magic_variables` lists them (each name once).
        let mut play_roles: Vec<&str> = Vec::new();
        let mut dependent: Vec<&str> = Vec::new();
        for r in &self.play().roles {
            play_roles.push(r.name());
            for d in &r.dependencies {
                if !dependent.contains(&d.name.as_str()) {
                    dependent.push(&d.name);
                }
            }
        }
        let mut all = dependent.clone();
        for r in &play_roles {
            if !all.contains(r) {
                all.push(r);
            }
        }
        m.insert("ansible_role_names".into(), json!(all));
        m.insert("ansible_play_role_names".into(), json!(play_roles));
        m.insert("role_names".into(), json!(play_roles));
        m.insert("ansible_dependent_role_names".into(), json!(dependent));
        m.insert("omit".into(), json!(OMIT));
        if let Some(r) = role {
            m.insert("role_path".into(), json!(r.own.path.display().to_string()));
            m.insert("role_name".into(), json!(r.own.short_name()));
            m.insert("ansible_role_name".into(), json!(r.name()));
            // Ansible sets these only for a role imported or included from
            // another role's tasks (its include parameters).
            if !r.imported_by.is_empty() {
                let names: Vec<&str> = r.imported_by.iter().map(|p| p.name.as_str()).collect();
                let paths: Vec<String> = r
                    .imported_by
                    .iter()
                    .map(|p| p.path.display().to_string())
                    .collect();
                m.insert("ansible_parent_role_names".into(), json!(names));
                m.insert("ansible_parent_role_paths".into(), json!(paths));
            }
        }
        m
    }

    /// [`Self::magic`] of `task`'s role, with the variables that depend on
    /// the task itself: `ansible_search_path`, as Ansible's
    /// `get_search_path` makes it (the role and the roles that brought it in,
    /// innermost first; the task's own directory; the playbook's).
    fn task_magic(&self, task: &Task) -> Vars {
        let mut m = self.magic(task.role.as_deref());
        let mut path: Vec<String> = Vec::new();
        let mut add = |p: &Path| {
            let p = p.display().to_string();
            if !path.contains(&p) {
                path.push(p);
            }
        };
        if let Some(r) = &task.role {
            add(&r.own.path);
            for parent in r.parents.iter().rev() {
                add(&parent.path);
            }
        }
        if let Some(dir) = task.origin.path.parent() {
            add(dir);
        }
        add(&self.shared.playbook.dir);
        m.insert("ansible_search_path".into(), json!(path));
        // A delegated task sees its delegate's variables, keyed by its name,
        // as ansible-core's `get_delegated_vars_and_hostname` gives them:
        // the delegate's inventory variables, with `inventory_hostname` still
        // the host the task runs for.
        if let Some((delegate, _)) = &self.delegated {
            let mut vars = self.shared.inventory().host_vars(delegate);
            vars.insert("inventory_hostname".into(), json!(self.name));
            m.insert(
                "ansible_delegated_vars".into(),
                json!({ delegate.as_str(): vars }),
            );
        }
        m
    }

    fn resolver<'a>(
        &'a self,
        role: Option<&'a RoleInstance>,
        task_layers: &[&'a Vars],
        magic: &'a Vars,
    ) -> Resolver<'a> {
        Resolver::new(
            self.layers(role, task_layers, magic),
            &self.shared.templater,
            &self.shared.names,
        )
        .with_literal(&self.vars.literal)
        .with_final_layers(&[&self.vars.facts, &self.vars.set])
        .with_untrusted(
            &[&self.vars.facts, &self.vars.set],
            Some(&self.vars.trusted_set),
        )
        .with_hostvars(self)
        .with_refusals(&self.refusals)
        .with_hash_merge(self.shared.opts.hash_merge)
    }

    /// The sudo user for `task`, or None to run as the login user (see
    /// [`Self::reach`]).
    pub(in crate::engine) fn become_for(
        &self,
        task: &Task,
        layer: &Vars,
    ) -> Result<Option<String>, String> {
        self.reach(Some((task, layer))).map(|r| r.become_user)
    }

    /// Whether a failure of `task` is ignored: its `ignore_errors`, or that
    /// keyword's template rendered for this host (`"{{ ansible_check_mode }}"`)
    /// and read as Ansible reads a boolean; a template that does not render
    /// ignores nothing.
    pub(super) fn ignores_errors(&self, task: &Task) -> bool {
        let Some(template) = &task.ignore_errors_template else {
            return task.ignore_errors;
        };
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
        self.render_string(&r, template)
            .ok()
            .and_then(|s| crate::truthy::parse_bool(s.trim()))
            .unwrap_or(false)
    }

    /// The task's `throttle` (0: none): its template rendered for this host
    /// and read as Python's `int()` reads it; one that does not render or is
    /// not a whole number fails the task in ansible-core's words.
    pub(super) fn throttle_of(&self, task: &Task) -> Result<usize, String> {
        let Some(template) = &task.throttle_template else {
            return Ok(task.throttle);
        };
        let fail = |why: String| {
            format!(
                "{}: Failed to convert the throttle value to an integer: {why}",
                task.origin
            )
        };
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
        let v = Json::String(template.clone());
        let rendered = r
            .context_for(&[&v], &[])
            .and_then(|ctx| self.shared.templater.render_str(template, &ctx))
            .map_err(|e| fail(e.message))?;
        let n = match &rendered {
            Json::Number(n) => n.as_i64(),
            Json::Bool(b) => Some(i64::from(*b)),
            Json::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let shown = match &rendered {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        match n {
            Some(n) => Ok(usize::try_from(n).unwrap_or(0)),
            None => Err(fail(format!(
                "invalid literal for int() with base 10: '{shown}'"
            ))),
        }
    }

    /// Whether `task`'s `run_once` template, rendered for this host, is
    /// true (read as Ansible reads a boolean; one that does not render is
    /// false).
    pub(super) fn runs_once_here(&self, task: &Task) -> bool {
        let Some(template) = &task.run_once_template else {
            return false;
        };
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
        self.render_string(&r, template)
            .ok()
            .and_then(|s| crate::truthy::parse_bool(s.trim()))
            .unwrap_or(false)
    }

    /// Whether `task` keeps the host in the play when it cannot be reached:
    /// its `ignore_unreachable`, or that keyword's template rendered for
    /// this host when the task starts, or for each item of its loop (`layer`:
    /// the item's variables; see `run_task_body`).
    pub(super) fn ignores_unreachable(&self, task: &Task, layer: &Vars) -> bool {
        let Some(template) = &task.ignore_unreachable_template else {
            return task.ignore_unreachable;
        };
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        self.render_string(&r, template)
            .ok()
            .and_then(|s| crate::truthy::parse_bool(s.trim()))
            .unwrap_or(false)
    }

    /// The host (or the delegate of the running task) cannot be reached:
    /// the host stops, unless the running task ignores that (see
    /// [`Self::ignores_unreachable`]); then its connection is dropped, so a
    /// later task connects anew, and the task ends with `msg`.
    pub(super) fn lost(&mut self, msg: String) -> Stop {
        if self.ignoring_unreachable {
            self.link_mut().conn = None;
            self.unreachable_msg = Some(msg);
        } else {
            self.unreachable(&msg);
        }
        Stop::Unreachable
    }

    /// The host could not be reached and nothing keeps it in the play: it
    /// is counted unreachable and leaves the play.
    pub(super) fn unreachable(&mut self, msg: &str) {
        self.shared.reporter.unreachable(&self.name, msg);
        self.stats.unreachable_times += 1;
        self.host_lost(self.task_fatal);
    }

    /// ansible-core's debug line for the handlers flush it adds after each
    /// section of a play (`ANSIBLE_DEBUG`): whether it runs them.
    fn say_section_flush(&self, play: &Play) {
        let opts = &self.shared.opts;
        if !play.section_flush_selected(&opts.tags, &opts.skip_tags) {
            return;
        }
        let msg = match self.notified.iter().any(|n| *n) {
            true => format!("META: triggered running handlers for {}", self.name),
            false => format!("No handler notifications for {}, skipping.", self.name),
        };
        self.shared.reporter.debug(&msg);
    }

    /// Whether `--tags` / `--skip-tags` select this task (handlers always run
    /// when notified, as in Ansible).
    pub(in crate::engine) fn tags_match(&self, task: &Task) -> bool {
        // A block is never selected itself: its tasks carry its tags, and
        // one tagged inside an untagged block runs under `--tags`. An
        // include is (its tags select it, not its tasks).
        if self.in_handlers || (task.block.is_some() && task.static_include.is_none()) {
            return true;
        }
        let opts = &self.shared.opts;
        if !task.tags.iter().any(|t| rprov_template::is_template(t)) {
            return task.selected_by(&opts.tags, &opts.skip_tags);
        }
        // Tags written as templates are rendered with the task's variables
        // on this host, as ansible-core's `evaluate_tags`.
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
        let own = crate::playbook::render_tags(&task.tags, |t| {
            self.render_json(&r, &Json::String(t.to_string())).ok()
        });
        task.selected_with(&own, &opts.tags, &opts.skip_tags)
    }

    /// Whether `task`'s output is hidden: its `no_log`, or what its
    /// templated `no_log` rendered to on this host when it started (see
    /// [`HostRunner::decide_keywords`]).
    pub(super) fn no_log_of(&self, task: &Task) -> bool {
        match (&task.no_log_template, self.no_log_now) {
            (Some(_), Some((at, hidden))) if at == std::ptr::from_ref(task) as usize => hidden,
            _ => task.no_log,
        }
    }

    /// Renders a task's templated `no_log` and `check_mode` with its
    /// variables as it starts on this host, as ansible-core post-validates
    /// the keywords: `no_log` shows the output only when false, anything
    /// else keeping it hidden; `check_mode` is its truth. A template that
    /// fails fails the task (its output hidden), in ansible-core's words.
    pub(super) fn decide_keywords(
        &mut self,
        task: &Task,
        extra: Option<&Vars>,
    ) -> Result<(), String> {
        if task.no_log_template.is_none() && task.check_mode_template.is_none() {
            return Ok(());
        }
        let at = std::ptr::from_ref(task) as usize;
        self.no_log_now = Some((at, true));
        let magic = self.task_magic(task);
        let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
        let r = self.resolver(task.role.as_deref(), &layers, &magic);
        let truth = |keyword: &str, template: &str| {
            self.render_json(&r, &Json::String(template.to_string()))
                .map(|v| crate::truthy::as_bool(&v))
                .map_err(|e| {
                    format!(
                        "Task failed: Error processing keyword '{keyword}': {}",
                        e.message
                    )
                })
        };
        let no_log = task
            .no_log_template
            .as_deref()
            .map(|t| truth("no_log", t))
            .transpose()?;
        let check = task
            .check_mode_template
            .as_deref()
            .map(|t| truth("check_mode", t))
            .transpose()?;
        self.no_log_now = Some((at, no_log.is_none_or(|b| b != Some(false))));
        self.check_now = check.map(|b| (at, b.unwrap_or(false)));
        Ok(())
    }

    /// Whether `task` runs under `--start-at-task`: not before the first
    /// task that matches (blocks are walked into, never matched themselves).
    fn reached_start(&mut self, task: &Task) -> bool {
        let Some(pattern) = &self.start_pending else {
            return true;
        };
        if task.block.is_some() {
            return true;
        }
        if super::start_at::matches(task, pattern) {
            self.start_pending = None;
            return true;
        }
        false
    }

    // ---- rendering -------------------------------------------------------

    fn render_string(&self, r: &Resolver, s: &str) -> Result<String, TemplateError> {
        let v = Json::String(s.to_string());
        let ctx = r.context_for(&[&v], &[])?;
        Ok(match self.shared.templater.render_str(s, &ctx)? {
            Json::String(s) => s,
            other => other.to_string(),
        })
    }

    fn render_json(&self, r: &Resolver, v: &Json) -> Result<Json, TemplateError> {
        let ctx = r.context_for(&[v], &[])?;
        self.shared.templater.render_value(v, &ctx)
    }

    /// Renders a task's arguments. On an error, the argument that failed is
    /// found (only then, one by one) so the message names its own line.
    fn render_args(&self, r: &Resolver, task: &Task) -> Result<Json, String> {
        let rendered = self.render_json(r, &task.args).map_err(|e| {
            let failed = match &task.args {
                Json::Object(m) => m
                    .iter()
                    .find(|(_, v)| self.render_json(r, v).is_err())
                    .map(|(k, _)| k.as_str()),
                _ => None,
            };
            self.template_failure(task, failed, &e, r)
        })?;
        // A templated value of the wrong kind, with the message a literal
        // one gets when the playbook loads (see `modules::args`).
        if let (Json::Object(m), Some(spec)) = (&rendered, crate::modules::spec(&task.module)) {
            for (k, v) in m {
                if let Some(arg) = spec.arg(k) {
                    crate::modules::args::check(spec.name, arg, v)
                        .map_err(|e| format!("{}: {e}", task.arg_origin(k)))?;
                }
            }
        }
        // A NUL can be in no path, name or command on a host: refused here,
        // as this task's failure, before any script holds it.
        if let Json::Object(m) = &rendered {
            if let Some((k, _)) = m.iter().find(|(_, v)| holds_nul(v)) {
                return Err(format!(
                    "{}: `{k}` contains a NUL byte, which no path, name or command on a host can hold",
                    task.arg_origin(k)
                ));
            }
        }
        Ok(rendered)
    }

    /// A conditional's truth, as ansible-core 2.19 evaluates one: an
    /// expression as written; a conditional that is entirely a template is
    /// rendered, and text it renders to is an expression in its turn only if
    /// ansible-core would trust it (see [`rprov_template::trust`]).
    fn eval(&self, r: &Resolver, expr: &str) -> Result<bool, TemplateError> {
        let t = &self.shared.templater;
        let trimmed = expr.trim();
        let ctx = if rprov_template::is_all_template(trimmed) {
            r.context_for(&[&Json::String(trimmed.to_string())], &[])?
        } else {
            expression_context(r, expr)?
        };
        let allow_broken = self.shared.opts.allow_broken_conditionals;
        match t.conditional(expr, &ctx)? {
            rprov_template::Conditional::Value(v) => {
                if rprov_template::is_all_template(trimmed) {
                    self.deprecate(CONDITIONAL_AS_TEMPLATE);
                }
                boolean_result(&v, allow_broken)
            }
            rprov_template::Conditional::Indirect { text, via } => {
                // As ansible-core: text that is empty is no conditional,
                // whoever wrote it.
                if text.trim().is_empty() {
                    return Err(TemplateError::new(
                        TemplateErrorKind::Other,
                        "Empty conditional expressions are not allowed.",
                    ));
                }
                if !via.is_some_and(|name| r.trusts(&name)) {
                    return Err(rprov_template::trust::untrusted_error());
                }
                let ctx = expression_context(r, &text)?;
                boolean_result(&t.eval_conditional_expression(&text, &ctx)?, allow_broken)
            }
        }
    }

    /// Notes that the task item being evaluated does what ansible-core
    /// deprecates (see `tasks::HostRunner::take_deprecations`).
    fn deprecate(&self, msg: &'static str) {
        let mut d = self.deprecated.lock().unwrap_or_else(|p| p.into_inner());
        if !d.contains(&msg) {
            d.push(msg);
        }
    }

    /// A template file rendered with the task's variables; errors name the
    /// file and line.
    fn render_template_file(
        &self,
        r: &Resolver,
        task: &Task,
        path: &Path,
        dest: Option<&str>,
        opts: &rprov_template::FileOptions,
    ) -> Result<String, String> {
        let shown = crate::diag::display_path(path);
        let source =
            rprov_template::limits::read_text_file(path, rprov_template::limits::max_render_size())
                .map_err(|e| format!("cannot read template {shown}: {e}"))?;
        let sh = &self.shared;
        let includes = if rprov_template::loads_others(&source) {
            template_search_path(task, &sh.playbook.dir, path)
        } else {
            rprov_template::IncludePath::default()
        };
        // The variables of the files it pulls in are the template's too.
        let mut names: Vec<String> = sh.names.names(&sh.templater, &source, false).to_vec();
        for (_, text) in includes.reachable(&source) {
            names.extend(sh.names.names(&sh.templater, &text, false).iter().cloned());
        }
        // Names are found by parsing with the default delimiters: a file
        // with others (given by the task or its own `#jinja2:` line) gets
        // every variable.
        if !opts.delimiters.is_default() || rprov_template::has_header(&source) {
            names.push(super::vars::ALL_NAMES.to_string());
        }
        let ctx = r
            .context(names.iter().map(String::as_str))
            .map_err(|e| format!("{shown}: {e}"))?;
        let ctx = template_vars::add(ctx, path, dest, &names);
        self.shared
            .templater
            .render_file_in(&source, &shown, &ctx, opts, &includes)
            .map_err(|e| {
                let at = match e.line {
                    Some(l) => format!("{shown}:{l}"),
                    None => shown.clone(),
                };
                format!("{at}: {}{}", e.message, undefined_help(&e, r))
            })
    }

    fn task_name(&self, task: &Task, extra: Option<&Vars>) -> String {
        let base = match &task.name {
            Some(n) if super::vars::is_template(n) => {
                let magic = self.task_magic(task);
                let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
                let r = self.resolver(task.role.as_deref(), &layers, &magic);
                self.render_string(&r, n).unwrap_or_else(|_| n.clone())
            }
            Some(n) => n.clone(),
            None => task.unnamed(),
        };
        // An `include_role` is not named after the role it is in, as
        // ansible-core's banner shows it.
        match &task.role {
            Some(role) if task.module != "include_role" => format!("{} : {base}", role.name()),
            _ => base,
        }
    }

    // ---- remote ----------------------------------------------------------
}

impl HostvarsSource for HostRunner {
    fn hostvars(&self) -> Json {
        self.shared.hostvars_now()
    }
}

/// ansible-core's `ansible_version` of the release whose semantics rprov
/// follows, so that a role's version check (`ansible_version.full is
/// version('2.14', '>=')`) reads it as that release.
fn ansible_version() -> Json {
    let full = crate::modules::ansible_fallback::ANSIBLE_VERSION;
    let mut parts = full.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    json!({
        "string": full,
        "full": full,
        "major": parts.next().unwrap_or(0),
        "minor": parts.next().unwrap_or(0),
        "revision": parts.next().unwrap_or(0),
    })
}

/// Whether a NUL byte is in any string (or key) of `v`.
fn holds_nul(v: &Json) -> bool {
    match v {
        Json::String(s) => s.contains('\0'),
        Json::Array(a) => a.iter().any(holds_nul),
        Json::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A template error in a task's arguments: the task's file and line, the
/// message, and what to do about an undefined variable. A line inside a
/// one-line YAML string (`line 1`) tells nothing and is left out.
///
/// It starts with `Task failed:` as ansible-core 2.19's message for a task
/// that raised an error (its `AnsibleTaskError`) does, which playbooks test
/// with `result.msg is contains "Task failed:"`.
fn arg_error(origin: &impl std::fmt::Display, e: &TemplateError, r: &Resolver) -> String {
    let (within, help) = error_details(e, r);
    format!("{TASK_FAILED}{origin}: {}{within}{help}", e.message)
}

/// What rprov adds to a template error's message: the line within a
/// multi-line value, and the help (for an undefined variable, the closest
/// name and how to define it).
fn error_details(e: &TemplateError, r: &Resolver) -> (String, String) {
    let within = match e.line {
        Some(l) if l > 1 => format!(" (line {l} of the value)"),
        _ => String::new(),
    };
    let help = match &e.help {
        Some(h) => format!("\n= help: {h}"),
        None => undefined_help(e, r),
    };
    (within, help)
}

/// A template in argument `arg` of a task running `action` failed: the
/// message ansible-core 2.19 registers for it (`Task failed: Finalization
/// of task args for 'ansible.builtin.debug' failed: Error while resolving
/// value for 'msg': …`), which playbooks match with `is search`, then where
/// the value is written and what to do about an undefined variable, as
/// [`arg_error`] tells them.
fn finalization_error(
    action: &str,
    arg: Option<&str>,
    origin: &impl std::fmt::Display,
    e: &TemplateError,
    r: &Resolver,
) -> String {
    let (within, help) = error_details(e, r);
    let resolving = arg.map_or_else(String::new, |a| {
        format!("Error while resolving value for '{a}': ")
    });
    format!(
        "{TASK_FAILED}Finalization of task args for '{action}' failed: {resolving}{}{within}\nOrigin: {origin}{help}",
        e.message
    )
}

impl HostRunner {
    /// A template in `task`'s argument `arg` failed: ansible-core's message
    /// (see [`finalization_error`]), and the chain of errors ansible-core 2.19 prints for
    /// it kept for the report of the failure (`--output ansible`'s
    /// `[ERROR]` block: the task's arguments, the value, the template's
    /// error).
    pub(super) fn template_failure(
        &self,
        task: &Task,
        arg: Option<&str>,
        e: &TemplateError,
        r: &Resolver,
    ) -> String {
        let origin = arg.map_or(&task.origin, |k| task.arg_origin(k));
        let action = match task.module_written.contains('.') {
            true => task.module_written.clone(),
            false => format!("ansible.builtin.{}", task.module),
        };
        let msg = finalization_error(&action, arg, origin, e, r);
        let mut chain = vec![ErrorLink::new(
            format!("{TASK_FAILED}Finalization of task args for '{action}' failed."),
            Some(task.origin.clone()),
        )];
        if let Some(arg) = arg {
            chain.push(ErrorLink::new(
                format!("Error while resolving value for '{arg}'."),
                Some(origin.clone()),
            ));
        }
        chain.push(ErrorLink {
            msg: e.message.clone(),
            origin: None,
            help: e.help.clone(),
        });
        self.note_failure_cause(&msg, chain);
        msg
    }

    /// Keeps `chain` for the report of the failure whose message is `msg`.
    pub(super) fn note_failure_cause(&self, msg: &str, chain: Vec<ErrorLink>) {
        if let Ok(mut cause) = self.failure_cause.lock() {
            *cause = Some((msg.to_string(), chain));
        }
    }

    /// The chain of errors behind a failed result, when the last template
    /// failure made its message; cleared either way.
    fn take_failure_cause(&self, o: &ItemOutcome) -> Vec<ErrorLink> {
        let Ok(mut cause) = self.failure_cause.lock() else {
            return Vec::new();
        };
        match cause.take() {
            Some((msg, chain))
                if o.status == Status::Failed
                    && o.result.get("msg").and_then(Json::as_str) == Some(msg.as_str()) =>
            {
                chain
            }
            _ => Vec::new(),
        }
    }
}

/// The start of the message of a task that failed on an error rather than
/// by its module's verdict, as ansible-core 2.19 words it.
const TASK_FAILED: &str = "Task failed: ";

/// The hint for an undefined variable, or nothing: the closest name in scope
/// when one is near (a typo such as `maxretyr` for `maxretry` is the usual
/// cause, and module names get the same "did you mean"), then how to define it.
fn undefined_help(e: &TemplateError, r: &Resolver) -> String {
    match (&e.kind, &e.undefined) {
        (TemplateErrorKind::Undefined, Some(name)) => {
            let names = r.all_names();
            let near = (!name.contains('.'))
                .then(|| crate::diag::did_you_mean(name, names.iter().map(String::as_str)))
                .flatten()
                .map(|s| format!("did you mean `{s}`? Otherwise "))
                .unwrap_or_default();
            format!(
                "\n= help: {near}define `{name}` (play or role vars, role defaults, inventory, vars_files, -e) or give it a fallback: `{{{{ {name} | default(...) }}}}`"
            )
        }
        _ => String::new(),
    }
}

fn strip_newline(mut s: String) -> String {
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
}

/// A rendered value as text for messages: strings as they are, the rest as
/// JSON. Secrets are masked in the value first: as JSON text they would be
/// escaped (`\"`, `\t`, `\u00e6`) and no longer match.
fn json_text(reporter: &crate::report::Reporter, v: &Json) -> String {
    match reporter.redact_json(v) {
        Json::String(s) => s,
        other => serde_json::to_string_pretty(&other).unwrap_or_default(),
    }
}

/// Where a template file's includes are found, as Ansible's `template`
/// action builds it: the task's role and the roles that depend on it
/// (nearest first), the task file's directory, the playbook's directory and
/// the template's own directory, each one's `templates/` first.
fn template_search_path(
    task: &Task,
    playbook_dir: &Path,
    source: &Path,
) -> rprov_template::IncludePath {
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    if let Some(role) = &task.role {
        dirs.push(role.own.path.clone());
        dirs.extend(role.parents.iter().rev().map(|p| p.path.clone()));
    }
    dirs.extend(task.origin.path.parent().map(Path::to_path_buf));
    dirs.push(playbook_dir.to_path_buf());
    dirs.extend(source.parent().map(Path::to_path_buf));
    rprov_template::IncludePath::new(dirs)
}

/// A conditional's result as ansible-core 2.19 takes it: a boolean, or else
/// (unless ansible.cfg's `allow_broken_conditionals` says to take its truth)
/// an error in ansible-core's words. rprov keeps no origin of values, so the
/// message says `<unknown>` where ansible-core names the value's file.
fn boolean_result(v: &Json, allow_broken: bool) -> Result<bool, TemplateError> {
    match v {
        Json::Bool(b) => Ok(*b),
        other if allow_broken => Ok(rprov_template::is_true(other)),
        other => {
            let type_name = match other {
                Json::Null => "NoneType",
                Json::Number(n) if n.is_f64() => "float",
                Json::Number(_) => "int",
                Json::String(_) => "str",
                Json::Array(_) => "list",
                Json::Object(_) => "dict",
                Json::Bool(_) => "bool",
            };
            let truth = if rprov_template::is_true(other) {
                "True"
            } else {
                "False"
            };
            Err(TemplateError::new(
                TemplateErrorKind::Other,
                format!(
                    "Conditional result ({truth}) was derived from value of type '{type_name}' at '<unknown>'. Conditionals must have a boolean result."
                ),
            ))
        }
    }
}

/// The context for evaluating conditional expression `expr`: its variables
/// and those of the templates in its string constants, which ansible-core
/// 2.19 renders (see `Templater::eval_conditional_expression`).
fn expression_context(r: &Resolver, expr: &str) -> Result<Json, TemplateError> {
    let embedded: Vec<Json> = rprov_template::trust::embedded_templates(expr)
        .into_iter()
        .map(Json::String)
        .collect();
    let values: Vec<&Json> = embedded.iter().collect();
    r.context_for(&values, &[expr])
}

/// ansible-core 2.19's deprecation of a conditional that is entirely a
/// template and renders to no text (`when: "{{ x == 1 }}"`), to be removed in
/// 2.23.
const CONDITIONAL_AS_TEMPLATE: &str =
    "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}.";
