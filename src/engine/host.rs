//! One host's run through the plays: its connection, facts, registered
//! variables, probe cache and handler notifications.
//!
//! The probe cache holds what the host looked like when last probed, per sudo
//! user. An action marks the paths it touched as stale (a command marks
//! everything), so a later task never plans against a state that an earlier
//! task changed — the lesson of pyinfra 2's "interdependent operations".

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rprov_inventory::{ConnectionKind, ConnectionVars};
use rprov_template::{TemplateError, TemplateErrorKind, OMIT};
use rprov_transport::{Connection, Output, Script, SshTarget, Target, TargetKind, TransportError};
use serde_json::{json, Map, Value as Json};

use super::lookahead;
use super::vars::{names_in_value, HostvarsSource, Resolver};
use super::Shared;
use crate::modules::{self, Action, Decision, Diff, OutputMode, PlanCx, PlanError, SearchPaths};
use crate::playbook::{Block, Play, RoleInstance, Task, Vars};
use crate::probe::{self, Fact, Probe};
use crate::report::{HostStats, Status, TaskEvent};

/// Why a host stops running tasks.
#[derive(Debug)]
pub enum Stop {
    /// A task failed (and was not ignored or rescued).
    Failed,
    /// The host cannot be reached any more.
    Unreachable,
    /// `meta: end_host` / `end_play`.
    Ended,
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
}

impl ItemOutcome {
    fn new(status: Status, result: Map<String, Json>) -> Self {
        ItemOutcome {
            status,
            result,
            diffs: Vec::new(),
            msg: None,
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
        }
    }

    /// The result registered for a task that did not run in check mode: empty
    /// output rather than an undefined variable, marked `unknown`.
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
        }
    }
}

type Cache = HashMap<Option<String>, HashMap<Probe, Fact>>;

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
    conn: Option<Connection>,
    inventory_vars: Vars,
    facts_layer: Vars,
    facts_gathered: bool,
    /// set_fact and register results.
    host_facts: Vars,
    play_vars: Vars,
    vars_files: Vars,
    cache: Cache,
    stats: HostStats,
    stopped: Option<Stop>,
    notified: Vec<bool>,
    in_handlers: bool,
    /// Registered results of tasks that did not run in check mode.
    unknown_registers: HashSet<String>,
    nonce: u64,
}

impl HostRunner {
    pub fn new(name: String, shared: Arc<Shared>) -> Self {
        let inventory_vars = shared.inventory.host_vars(&name);
        HostRunner {
            name,
            shared,
            pi: 0,
            conn: None,
            inventory_vars,
            facts_layer: Vars::new(),
            facts_gathered: false,
            host_facts: Vars::new(),
            play_vars: Vars::new(),
            vars_files: Vars::new(),
            cache: Cache::new(),
            stats: HostStats::default(),
            stopped: None,
            notified: Vec::new(),
            in_handlers: false,
            unknown_registers: HashSet::new(),
            nonce: 0,
        }
    }

    /// Whether later plays should include this host (Ansible drops failed hosts).
    pub fn can_continue(&self) -> bool {
        matches!(self.stopped, None | Some(Stop::Ended))
    }

    pub async fn finish(mut self) -> HostStats {
        if let Some(c) = self.conn.take() {
            self.stats.remote_commands = c.commands_run();
            let _ = c.close().await;
        }
        self.stats
    }

    pub async fn run_play(&mut self, pi: usize) {
        self.pi = pi;
        if matches!(self.stopped, Some(Stop::Ended)) {
            self.stopped = None;
        }
        let shared = self.shared.clone();
        let play = &shared.playbook.plays[pi];
        self.notified = vec![false; play.handlers.len()];
        self.play_vars = play.vars.clone();
        let total: usize = play.sections.iter().map(Vec::len).sum();
        shared.reporter.host_start(&self.name, total as u64);

        if let Err(msg) = self.load_vars_files(play) {
            self.fail_host(&msg);
            return;
        }
        if play.gather_facts && !self.facts_gathered {
            let become_ = self.become_for(play.become_, play.become_user.as_deref());
            let mut probes = vec![Probe::Facts];
            if let Some((first, rest)) = play.sections.split_first() {
                let rest: Vec<_> = rest.iter().rev().map(|s| (s.as_slice(), 0)).collect();
                probes.extend(lookahead::collect(self, first, 0, &become_, &rest));
            }
            if let Err(stop) = self.probe(&become_, probes).await {
                self.stopped = Some(stop);
                return;
            }
        }
        for (si, tasks) in play.sections.iter().enumerate() {
            let rest: Vec<_> = play.sections[si + 1..]
                .iter()
                .rev()
                .map(|s| (s.as_slice(), 0))
                .collect();
            let res = match self.run_tasks(tasks, None, &rest).await {
                Ok(()) => self.flush_handlers().await,
                Err(stop) => Err(stop),
            };
            if let Err(stop) = res {
                self.stopped = Some(stop);
                break;
            }
        }
        if let Some(c) = &self.conn {
            self.stats.remote_commands = c.commands_run();
        }
    }

    fn fail_host(&mut self, msg: &str) {
        self.shared.reporter.host_error(&self.name, msg);
        self.stats.failed += 1;
        self.stopped = Some(Stop::Failed);
    }

    /// `vars_files` of the play (paths may use variables) and secrets.age.
    fn load_vars_files(&mut self, play: &Play) -> Result<(), String> {
        self.vars_files = self.shared.secrets.clone();
        let mut out = self.shared.secrets.clone();
        for (file, origin) in &play.vars_files {
            let name = {
                let magic = self.magic(None);
                let r = self.resolver(None, &[], &magic);
                self.render_string(&r, file)
                    .map_err(|e| format!("{origin}: {e}"))?
            };
            let path = self.shared.playbook.dir.join(&name);
            let loaded = crate::varsfile::load(
                &path,
                &self.shared.identities,
                self.shared.vault_password.as_deref(),
                &self.shared.reporter,
            )
            .map_err(|e| format!("{origin}: vars file `{name}`: {e}"))?;
            out.extend(loaded);
        }
        self.vars_files = out;
        Ok(())
    }

    fn play(&self) -> &Play {
        &self.shared.playbook.plays[self.pi]
    }

    /// The variable layers for a task, lowest precedence first (see DESIGN.md).
    /// `task_layers[0]` is the task's own `vars:`; later entries (loop
    /// variables, the result under test) go on top of everything.
    fn layers<'a>(
        &'a self,
        role: Option<&'a RoleInstance>,
        task_layers: &[&'a Vars],
        magic: &'a Vars,
    ) -> Vec<&'a Vars> {
        let play = self.play();
        let mut l: Vec<&Vars> = Vec::with_capacity(16 + play.roles.len() * 2);
        for r in &play.roles {
            l.push(&r.defaults);
        }
        if let Some(r) = role {
            for d in &r.dependency_defaults {
                l.push(&d.defaults);
            }
            l.push(&r.defaults);
        }
        l.push(&self.inventory_vars);
        l.push(&self.facts_layer);
        l.push(&self.play_vars);
        l.push(&self.vars_files);
        for r in &play.roles {
            l.push(&r.vars);
        }
        if let Some(r) = role {
            l.push(&r.vars);
        }
        l.extend(task_layers.iter().take(1).copied());
        l.push(&self.host_facts);
        if let Some(r) = role {
            l.push(&r.params);
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
            json!(sh.inventory.group_names(&self.name)),
        );
        m.insert("groups".into(), sh.groups.clone());
        m.insert(
            "playbook_dir".into(),
            json!(sh.playbook.dir.display().to_string()),
        );
        m.insert(
            "inventory_dir".into(),
            json!(sh
                .inventory
                .path()
                .parent()
                .map(|p| p.display().to_string())),
        );
        m.insert(
            "inventory_file".into(),
            json!(sh.inventory.path().display().to_string()),
        );
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
        m.insert("omit".into(), json!(OMIT));
        if let Some(r) = role {
            m.insert("role_path".into(), json!(r.path.display().to_string()));
            m.insert("role_name".into(), json!(r.name));
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
        .with_hostvars(self)
    }

    /// The sudo user for a task, or None to run as the login user.
    pub(super) fn become_for(
        &self,
        task_become: Option<bool>,
        task_user: Option<&str>,
    ) -> Option<String> {
        let host_become = self
            .inventory_vars
            .get("ansible_become")
            .and_then(crate::truthy::as_bool);
        if !task_become.or(host_become).unwrap_or(false) {
            return None;
        }
        let user = task_user
            .map(str::to_string)
            .or_else(|| {
                self.inventory_vars
                    .get("ansible_become_user")
                    .and_then(Json::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "root".to_string());
        let login = self
            .inventory_vars
            .get("ansible_user")
            .or_else(|| self.inventory_vars.get("ansible_ssh_user"))
            .and_then(Json::as_str);
        if login == Some(user.as_str()) {
            return None;
        }
        Some(user)
    }

    /// Whether `--tags` / `--skip-tags` select this task (handlers always run
    /// when notified, as in Ansible).
    pub(super) fn tags_match(&self, task: &Task) -> bool {
        if self.in_handlers {
            return true;
        }
        let opts = &self.shared.opts;
        let has = |t: &str| task.tags.iter().any(|x| x == t);
        if opts.skip_tags.iter().any(|s| has(s)) {
            return false;
        }
        if opts.tags.is_empty() {
            return !has("never");
        }
        if has("always") {
            return true;
        }
        opts.tags.iter().any(|t| match t.as_str() {
            "all" => !has("never"),
            "tagged" => !task.tags.is_empty(),
            "untagged" => task.tags.is_empty(),
            t => has(t),
        })
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

    fn eval(&self, r: &Resolver, expr: &str) -> Result<bool, TemplateError> {
        let ctx = r.context_for(&[], &[expr])?;
        self.shared.templater.eval_condition(expr, &ctx)
    }

    /// A template file rendered with the task's variables; errors name the
    /// file and line.
    fn render_template_file(&self, r: &Resolver, path: &Path) -> Result<String, String> {
        let shown = crate::diag::display_path(path);
        let source = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read template {shown}: {e}"))?;
        let names = self
            .shared
            .names
            .names(&self.shared.templater, &source, false);
        let ctx = r
            .context(names.iter().map(String::as_str))
            .map_err(|e| format!("{shown}: {e}"))?;
        self.shared
            .templater
            .render_file(&source, &shown, &ctx)
            .map_err(|e| {
                let at = match e.line {
                    Some(l) => format!("{shown}:{l}"),
                    None => shown.clone(),
                };
                format!("{at}: {}{}", e.message, undefined_help(&e))
            })
    }

    fn task_name(&self, task: &Task, extra: Option<&Vars>) -> String {
        let base = match &task.name {
            Some(n) if super::vars::is_template(n) => {
                let magic = self.magic(task.role.as_deref());
                let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
                let r = self.resolver(task.role.as_deref(), &layers, &magic);
                self.render_string(&r, n).unwrap_or_else(|_| n.clone())
            }
            Some(n) => n.clone(),
            None => task.module.clone(),
        };
        match &task.role {
            Some(role) => format!("{} : {base}", role.name),
            None => base,
        }
    }

    // ---- remote ----------------------------------------------------------

    fn target(&self) -> Result<Target, String> {
        let magic = self.magic(None);
        let r = self.resolver(None, &[], &magic);
        let mut vars = Vars::new();
        for (k, raw) in &self.inventory_vars {
            if k.starts_with("ansible_") {
                let v = match r.resolve(k) {
                    Some(Ok(v)) => v,
                    Some(Err(e)) => return Err(format!("variable {k}: {e}")),
                    None => raw.clone(),
                };
                vars.insert(k.clone(), v);
            }
        }
        let cv = ConnectionVars::from_vars(&self.name, &vars).map_err(|e| e.to_string())?;
        let kind = match cv.connection {
            ConnectionKind::Local => TargetKind::Local,
            ConnectionKind::Ssh => TargetKind::Ssh(SshTarget {
                host: cv.host,
                port: cv.port,
                user: cv.user,
                private_key_file: cv.private_key_file,
                extra_args: cv.ssh_common_args,
            }),
        };
        Ok(Target {
            name: self.name.clone(),
            kind,
        })
    }

    async fn connect(&mut self) -> Result<(), Stop> {
        if self.conn.is_some() {
            return Ok(());
        }
        let target = match self.target() {
            Ok(t) => t,
            Err(msg) => {
                self.shared.reporter.host_error(&self.name, &msg);
                self.stats.failed += 1;
                return Err(Stop::Failed);
            }
        };
        match Connection::open(&target, &self.shared.opts.connect).await {
            Ok(c) => {
                self.conn = Some(c);
                Ok(())
            }
            Err(e) => {
                self.shared.reporter.host_error(&self.name, &e.to_string());
                self.stats.unreachable = true;
                Err(Stop::Unreachable)
            }
        }
    }

    /// Runs a script on the host. `Err(Ok(msg))` is a task failure (sudo
    /// refused), `Err(Err(stop))` stops the host (unreachable).
    async fn remote(
        &mut self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: &Option<String>,
    ) -> Result<Output, Result<String, Stop>> {
        self.connect().await.map_err(Err)?;
        let Some(conn) = self.conn.as_ref() else {
            return Err(Err(Stop::Unreachable));
        };
        match conn
            .run(&Script::raw(script), stdin, become_.as_deref())
            .await
        {
            Ok(out) => Ok(out),
            Err(
                e @ (TransportError::SudoPasswordRequired { .. }
                | TransportError::SudoFailed { .. }),
            ) => Err(Ok(e.to_string())),
            Err(e) => {
                self.shared.reporter.host_error(&self.name, &e.to_string());
                self.stats.unreachable = true;
                Err(Err(Stop::Unreachable))
            }
        }
    }

    /// Answers `probes` in one remote command and caches the answers.
    async fn probe(
        &mut self,
        become_: &Option<String>,
        mut probes: Vec<Probe>,
    ) -> Result<(), Stop> {
        let known = self.cache.get(become_);
        let mut seen = HashSet::new();
        probes.retain(|p| known.is_none_or(|k| !k.contains_key(p)) && seen.insert(p.clone()));
        if probes.is_empty() {
            return Ok(());
        }
        self.nonce += 1;
        let nonce = format!("{}x{}", std::process::id(), self.nonce);
        let script = probe::script(&probes, &nonce);
        let out = match self.remote(&script, None, become_).await {
            Ok(o) => o,
            Err(Ok(msg)) => {
                self.fail_host(&msg);
                return Err(Stop::Failed);
            }
            Err(Err(stop)) => return Err(stop),
        };
        let facts = match probe::parse(&probes, &nonce, &out.stdout_lossy()) {
            Ok(f) => f,
            Err(e) => {
                let stderr = out.stderr_lossy();
                self.fail_host(&format!("{e}\n{}", stderr.trim()));
                return Err(Stop::Failed);
            }
        };
        for (p, f) in facts {
            if let Fact::Facts(v) = &f {
                self.set_facts(v.clone());
            }
            self.cache.entry(become_.clone()).or_default().insert(p, f);
        }
        Ok(())
    }

    fn set_facts(&mut self, facts: Json) {
        self.facts_layer.clear();
        if let Json::Object(m) = &facts {
            for (k, v) in m {
                self.facts_layer.insert(format!("ansible_{k}"), v.clone());
            }
        }
        self.facts_layer.insert("ansible_facts".into(), facts);
        self.facts_gathered = true;
    }

    /// Forgets cached state an action may have changed.
    fn invalidate(&mut self, action: &Action) {
        // Shell probes (packages, units, users) have no path to match: any
        // action may have changed what they saw.
        for c in self.cache.values_mut() {
            c.retain(|p, _| !matches!(p, Probe::Shell { .. }));
        }
        if action.touches_everything {
            for c in self.cache.values_mut() {
                c.retain(|p, _| matches!(p, Probe::Facts));
            }
            return;
        }
        for t in &action.touches {
            let t = t.trim_end_matches('/');
            for c in self.cache.values_mut() {
                c.retain(|p, _| match p.path() {
                    None => true,
                    Some(path) => {
                        let path = path.trim_end_matches('/');
                        !(path == t
                            || path.starts_with(&format!("{t}/"))
                            || t.starts_with(&format!("{path}/")))
                    }
                });
            }
        }
    }

    // ---- tasks -----------------------------------------------------------

    fn run_tasks<'a>(
        &'a mut self,
        tasks: &'a [Task],
        extra: Option<&'a Vars>,
        rest: Rest<'a>,
    ) -> BoxFut<'a, Result<(), Stop>> {
        Box::pin(async move {
            for i in 0..tasks.len() {
                match self.run_task(tasks, i, extra, rest).await? {
                    Flow::Next => {}
                    Flow::FlushHandlers => self.flush_handlers().await?,
                }
            }
            Ok(())
        })
    }

    /// Runs notified handlers in definition order, until none is left.
    async fn flush_handlers(&mut self) -> Result<(), Stop> {
        let shared = self.shared.clone();
        let handlers = &shared.playbook.plays[self.pi].handlers;
        while self.notified.iter().any(|n| *n) {
            for hi in 0..handlers.len() {
                if self.notified.get(hi).copied().unwrap_or(false) {
                    self.notified[hi] = false;
                    let was = std::mem::replace(&mut self.in_handlers, true);
                    let res = self.run_task(handlers, hi, None, &[]).await;
                    self.in_handlers = was;
                    res?;
                }
            }
        }
        Ok(())
    }

    fn notify(&mut self, task: &Task, extra: Option<&Vars>) {
        let shared = self.shared.clone();
        let handlers = &shared.playbook.plays[self.pi].handlers;
        for n in &task.notify {
            let name = if super::vars::is_template(n) {
                let magic = self.magic(task.role.as_deref());
                let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
                let r = self.resolver(task.role.as_deref(), &layers, &magic);
                self.render_string(&r, n).unwrap_or_else(|_| n.clone())
            } else {
                n.clone()
            };
            for (hi, h) in handlers.iter().enumerate() {
                if h.name.as_deref() == Some(name.as_str()) || h.listen.contains(&name) {
                    if let Some(slot) = self.notified.get_mut(hi) {
                        *slot = true;
                    }
                }
            }
        }
    }

    fn report(
        &mut self,
        task: &Task,
        name: &str,
        item: Option<&str>,
        o: &ItemOutcome,
        started: Instant,
    ) {
        let result = Json::Object(o.result.clone());
        let ev = TaskEvent {
            host: &self.name,
            task: name,
            item,
            status: o.status,
            diffs: if task.diff == Some(false) {
                &[]
            } else {
                &o.diffs
            },
            msg: o.msg.as_deref(),
            result: Some(&result),
            no_log: task.no_log,
            ignored: o.status == Status::Failed && task.ignore_errors,
            duration: started.elapsed(),
        };
        self.shared.reporter.task(&ev);
    }

    async fn run_task(
        &mut self,
        tasks: &[Task],
        i: usize,
        extra: Option<&Vars>,
        rest: Rest<'_>,
    ) -> Result<Flow, Stop> {
        let task = &tasks[i];
        if !self.tags_match(task) {
            return Ok(Flow::Next);
        }
        let started = Instant::now();
        let name = self.task_name(task, extra);
        self.shared.reporter.host_progress(&self.name, &name);

        if let Some(block) = &task.block {
            let rest = push_rest(rest, tasks, i + 1);
            return self
                .run_block(block, extra, &rest)
                .await
                .map(|_| Flow::Next);
        }
        if task.module == "meta" {
            return self.run_meta(task, &name, started);
        }

        let items = match &task.loop_items {
            None => None,
            Some(spec) => match self.loop_items(task, spec, extra) {
                Ok(v) => Some(v),
                Err(msg) => {
                    let o = ItemOutcome::failed(format!("{}: {msg}", task.origin));
                    return self.finish_task(task, &name, o, extra, started);
                }
            },
        };

        let Some(items) = items else {
            let layer = extra.cloned().unwrap_or_default();
            let o = self.run_item(tasks, i, &layer, rest).await?;
            return self
                .finish_task_with_include(tasks, i, &name, o, &layer, started, rest)
                .await;
        };

        let mut outcomes = Vec::new();
        for (idx, item) in items.into_iter().enumerate() {
            let mut layer = extra.cloned().unwrap_or_default();
            layer.insert(task.loop_var.clone(), item.clone());
            layer.insert("ansible_loop_var".into(), json!(task.loop_var));
            if let Some(iv) = &task.index_var {
                layer.insert(iv.clone(), json!(idx));
            }
            let item_started = Instant::now();
            let mut o = self.run_item(tasks, i, &layer, rest).await?;
            if task.module == "include_tasks" && o.status == Status::Ok {
                o = self
                    .run_include(task, &layer, o, &push_rest(rest, tasks, i + 1))
                    .await?;
            }
            let label = self.item_label(task, &layer, &item);
            self.report(task, &name, Some(&label), &o, item_started);
            o.result.insert(task.loop_var.clone(), item);
            o.result
                .insert("ansible_loop_var".into(), json!(task.loop_var));
            outcomes.push(o);
        }
        let status = if outcomes.iter().any(|o| o.status == Status::Failed) {
            Status::Failed
        } else if outcomes.iter().any(|o| o.status == Status::Changed) {
            Status::Changed
        } else if outcomes.iter().any(|o| o.status == Status::Unknown) {
            Status::Unknown
        } else if outcomes.iter().all(|o| o.status == Status::Skipped) {
            // Also an empty loop: nothing ran.
            Status::Skipped
        } else {
            Status::Ok
        };
        let mut result = Map::new();
        result.insert("changed".into(), json!(status == Status::Changed));
        result.insert("skipped".into(), json!(status == Status::Skipped));
        if status == Status::Failed {
            result.insert("failed".into(), json!(true));
            result.insert("msg".into(), json!("One or more items failed"));
        } else {
            result.insert("msg".into(), json!("All items completed"));
        }
        result.insert(
            "results".into(),
            Json::Array(
                outcomes
                    .into_iter()
                    .map(|o| Json::Object(o.result))
                    .collect(),
            ),
        );
        let agg = ItemOutcome {
            status,
            result,
            diffs: Vec::new(),
            msg: None,
        };
        self.conclude(task, agg, extra)
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish_task_with_include(
        &mut self,
        tasks: &[Task],
        i: usize,
        name: &str,
        o: ItemOutcome,
        layer: &Vars,
        started: Instant,
        rest: Rest<'_>,
    ) -> Result<Flow, Stop> {
        let task = &tasks[i];
        if task.module == "include_tasks" && o.status == Status::Ok {
            self.report(task, name, None, &o, started);
            self.stats.count(Status::Ok, false);
            let o = self
                .run_include(task, layer, o, &push_rest(rest, tasks, i + 1))
                .await?;
            if o.status == Status::Failed {
                self.report(task, name, None, &o, started);
                return self.conclude(task, o, Some(layer));
            }
            return Ok(Flow::Next);
        }
        self.finish_task(task, name, o, Some(layer), started)
    }

    fn finish_task(
        &mut self,
        task: &Task,
        name: &str,
        o: ItemOutcome,
        extra: Option<&Vars>,
        started: Instant,
    ) -> Result<Flow, Stop> {
        self.report(task, name, None, &o, started);
        self.conclude(task, o, extra)
    }

    /// Registers, notifies, counts; stops the host on an unignored failure.
    fn conclude(
        &mut self,
        task: &Task,
        o: ItemOutcome,
        extra: Option<&Vars>,
    ) -> Result<Flow, Stop> {
        let ignored = o.status == Status::Failed && task.ignore_errors;
        self.stats.count(o.status, ignored);
        if let Some(reg) = &task.register {
            if o.status == Status::Unknown {
                self.unknown_registers.insert(reg.clone());
            } else {
                self.unknown_registers.remove(reg);
            }
            self.host_facts.insert(reg.clone(), Json::Object(o.result));
        }
        if o.status == Status::Changed {
            self.notify(task, extra);
        }
        if o.status == Status::Failed && !ignored {
            return Err(Stop::Failed);
        }
        Ok(Flow::Next)
    }

    fn run_meta(&mut self, task: &Task, name: &str, started: Instant) -> Result<Flow, Stop> {
        let what = task
            .args
            .get("_raw_params")
            .and_then(Json::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let flow = match what.as_str() {
            "flush_handlers" => Flow::FlushHandlers,
            "noop" | "refresh_inventory" | "reset_connection" | "clear_host_errors" => Flow::Next,
            "end_host" | "end_play" => {
                let o = ItemOutcome::skipped(&format!("meta: {what}"));
                self.report(task, name, None, &o, started);
                return Err(Stop::Ended);
            }
            "clear_facts" => {
                self.host_facts.clear();
                Flow::Next
            }
            other => {
                let o =
                    ItemOutcome::failed(format!("{}: unknown meta action `{other}`", task.origin));
                self.report(task, name, None, &o, started);
                return self.conclude(task, o, None);
            }
        };
        Ok(flow)
    }

    fn run_block<'a>(
        &'a mut self,
        block: &'a Block,
        extra: Option<&'a Vars>,
        rest: Rest<'a>,
    ) -> BoxFut<'a, Result<(), Stop>> {
        Box::pin(async move {
            let mut result = self.run_tasks(&block.block, extra, rest).await;
            if matches!(result, Err(Stop::Failed)) && !block.rescue.is_empty() {
                // A rescued failure does not count against the host.
                self.stats.failed = self.stats.failed.saturating_sub(1);
                self.stats.count(Status::Ok, false);
                result = self.run_tasks(&block.rescue, extra, rest).await;
            }
            if !matches!(result, Err(Stop::Unreachable)) && !block.always.is_empty() {
                let always = self.run_tasks(&block.always, extra, rest).await;
                if result.is_ok() {
                    result = always;
                }
            }
            result
        })
    }

    pub(super) fn loop_items(
        &self,
        task: &Task,
        spec: &Json,
        extra: Option<&Vars>,
    ) -> Result<Vec<Json>, String> {
        let magic = self.magic(task.role.as_deref());
        let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
        let r = self.resolver(task.role.as_deref(), &layers, &magic);
        let (flatten, dict, spec) = match spec {
            Json::Object(m) if m.len() == 1 && m.contains_key("__rprov_flatten") => {
                (true, false, &m["__rprov_flatten"])
            }
            Json::Object(m) if m.len() == 1 && m.contains_key("__rprov_dict2items") => {
                (false, true, &m["__rprov_dict2items"])
            }
            other => (false, false, other),
        };
        let v = self.render_json(&r, spec).map_err(|e| e.to_string())?;
        if dict {
            let Json::Object(m) = v else {
                return Err("with_dict needs a mapping".into());
            };
            return Ok(m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect());
        }
        match v {
            Json::Array(items) if flatten => Ok(items
                .into_iter()
                .flat_map(|i| match i {
                    Json::Array(inner) => inner,
                    other => vec![other],
                })
                .collect()),
            Json::Array(items) => Ok(items),
            Json::Null => Ok(Vec::new()),
            Json::String(s) if flatten => Ok(vec![Json::String(s)]),
            other => Err(format!("`loop` needs a list, got {other}")),
        }
    }

    fn item_label(&self, task: &Task, layer: &Vars, item: &Json) -> String {
        if let Some(label) = &task.loop_label {
            let magic = self.magic(task.role.as_deref());
            let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
            if let Ok(s) = self.render_string(&r, label) {
                return s;
            }
        }
        match item {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// Runs one item of a task (the whole task when it has no loop).
    async fn run_item(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let task = &tasks[i];
        let check = self.effective_check(task);

        // In check mode, a task that depends on a command that did not run
        // cannot be evaluated honestly: it is unknown too.
        if check && !self.unknown_registers.is_empty() {
            let mut names = HashSet::new();
            names_in_value(
                &task.args,
                &self.shared.templater,
                &self.shared.names,
                &mut names,
            );
            for w in &task.when {
                names.extend(
                    self.shared
                        .names
                        .names(&self.shared.templater, w, true)
                        .iter()
                        .cloned(),
                );
            }
            if let Some(dep) = names.iter().find(|n| self.unknown_registers.contains(*n)) {
                return Ok(ItemOutcome::unknown(&format!(
                    "depends on `{dep}`, which is not known in check mode"
                )));
            }
        }

        {
            let magic = self.magic(task.role.as_deref());
            let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
            for cond in &task.when {
                match self.eval(&r, cond) {
                    Ok(true) => {}
                    Ok(false) => {
                        let mut o = ItemOutcome::skipped("Conditional result was False");
                        o.result.insert("false_condition".into(), json!(cond));
                        return Ok(o);
                    }
                    Err(e) => {
                        return Ok(ItemOutcome::failed(format!(
                            "{}: in `when: {cond}`: {e}",
                            task.origin
                        )))
                    }
                }
            }
        }

        let spec = modules::spec(&task.module);
        if spec.is_some_and(|s| s.local) {
            return Ok(self.run_local(task, layer));
        }
        self.run_host_module(tasks, i, layer, check, rest).await
    }

    fn effective_check(&self, task: &Task) -> bool {
        task.check_mode.unwrap_or(self.shared.opts.check)
    }

    /// Modules that run on the controller: debug, set_fact, assert, fail, include_tasks.
    fn run_local(&mut self, task: &Task, layer: &Vars) -> ItemOutcome {
        let rendered = {
            let magic = self.magic(task.role.as_deref());
            let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
            match task.module.as_str() {
                "assert" => {
                    let that: Vec<String> = match task.args.get("that") {
                        Some(Json::Array(a)) => a
                            .iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect(),
                        Some(Json::String(s)) => vec![s.clone()],
                        Some(Json::Bool(b)) => {
                            vec![if *b { "True".into() } else { "False".into() }]
                        }
                        _ => {
                            return ItemOutcome::failed(format!(
                                "{}: `assert` needs `that`",
                                task.origin
                            ))
                        }
                    };
                    for cond in &that {
                        match self.eval(&r, cond) {
                            Ok(true) => {}
                            Ok(false) => {
                                let msg = task
                                    .args
                                    .get("fail_msg")
                                    .or_else(|| task.args.get("msg"))
                                    .map(|m| {
                                        self.render_json(&r, m)
                                            .map(|v| json_text(&v))
                                            .unwrap_or_else(|e| e.to_string())
                                    })
                                    .unwrap_or_else(|| format!("Assertion failed: {cond}"));
                                let mut o = ItemOutcome::failed(msg);
                                o.result.insert("assertion".into(), json!(cond));
                                o.result.insert("evaluated_to".into(), json!(false));
                                return o;
                            }
                            Err(e) => {
                                return ItemOutcome::failed(format!(
                                    "{}: in assertion `{cond}`: {e}",
                                    task.origin
                                ))
                            }
                        }
                    }
                    let msg = task
                        .args
                        .get("success_msg")
                        .map(|m| {
                            self.render_json(&r, m)
                                .map(|v| json_text(&v))
                                .unwrap_or_default()
                        })
                        .unwrap_or_else(|| "All assertions passed".into());
                    let mut o = ItemOutcome::new(Status::Ok, Map::new());
                    o.result.insert("changed".into(), json!(false));
                    o.result.insert("msg".into(), json!(msg));
                    return o;
                }
                "debug" => {
                    let verbosity = task
                        .args
                        .get("verbosity")
                        .and_then(Json::as_u64)
                        .unwrap_or(0);
                    if u64::from(self.shared.reporter.verbose()) < verbosity {
                        return ItemOutcome::skipped("verbosity threshold not met");
                    }
                    let mut result = Map::new();
                    result.insert("changed".into(), json!(false));
                    let text = if let Some(var) = task.args.get("var").and_then(Json::as_str) {
                        let value = r
                            .context_for(&[], &[var])
                            .and_then(|ctx| self.shared.templater.eval_expr(var, &ctx));
                        let v = match value {
                            Ok(v) => v,
                            Err(e) => json!(format!("VARIABLE IS NOT DEFINED! ({e})")),
                        };
                        let text = format!(
                            "{var}: {}",
                            serde_json::to_string_pretty(&v).unwrap_or_default()
                        );
                        result.insert(var.to_string(), v);
                        text
                    } else {
                        let msg = task
                            .args
                            .get("msg")
                            .cloned()
                            .unwrap_or(json!("Hello world!"));
                        match self.render_json(&r, &msg) {
                            Ok(v) => {
                                let text = json_text(&v);
                                result.insert("msg".into(), v);
                                text
                            }
                            Err(e) => return ItemOutcome::failed(arg_error(&task.origin, &e)),
                        }
                    };
                    let mut o = ItemOutcome::new(Status::Ok, result);
                    o.msg = Some(format!("«debug»{text}"));
                    return o;
                }
                "fail" => {
                    let msg = task
                        .args
                        .get("msg")
                        .cloned()
                        .unwrap_or(json!("Failed as requested from task"));
                    return match self.render_json(&r, &msg) {
                        Ok(v) => ItemOutcome::failed(json_text(&v)),
                        Err(e) => ItemOutcome::failed(arg_error(&task.origin, &e)),
                    };
                }
                "set_fact" | "include_tasks" => match self.render_json(&r, &task.args) {
                    Ok(v) => v,
                    Err(e) => return ItemOutcome::failed(arg_error(&task.origin, &e)),
                },
                other => {
                    return ItemOutcome::failed(format!(
                        "{}: module `{other}` is not available here",
                        task.origin
                    ))
                }
            }
        };
        let Json::Object(args) = rendered else {
            return ItemOutcome::failed(format!("{}: arguments must be a mapping", task.origin));
        };
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        if task.module == "set_fact" {
            let mut facts = Map::new();
            for (k, v) in args {
                if k == "cacheable" {
                    continue;
                }
                self.host_facts.insert(k.clone(), v.clone());
                facts.insert(k, v);
            }
            result.insert("ansible_facts".into(), Json::Object(facts));
        } else {
            result.insert(
                "include".into(),
                args.get("_raw_params")
                    .or_else(|| args.get("file"))
                    .cloned()
                    .unwrap_or(Json::Null),
            );
            result.insert(
                "_base_dir".into(),
                args.get("_base_dir").cloned().unwrap_or(Json::Null),
            );
        }
        ItemOutcome::new(Status::Ok, result)
    }

    /// Loads and runs a dynamic `include_tasks` file.
    async fn run_include(
        &mut self,
        task: &Task,
        layer: &Vars,
        o: ItemOutcome,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let tasks = match self.load_include(task, &o.result) {
            Ok(t) => t,
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };
        self.run_tasks(&tasks, Some(layer), rest).await?;
        Ok(o)
    }

    /// The tasks of an `include_tasks` file, for the lookahead: `None` when
    /// its arguments cannot be rendered yet (a loop, or a variable only a
    /// later task sets) or the file does not load; it is then read when its
    /// turn comes.
    pub(super) fn foresee_include(&self, task: &Task) -> Option<Vec<Task>> {
        if task.loop_items.is_some() {
            return None;
        }
        let magic = self.magic(task.role.as_deref());
        let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
        let Ok(Json::Object(args)) = self.render_json(&r, &task.args) else {
            return None;
        };
        let mut result = Map::new();
        for (key, arg) in [("include", "_raw_params"), ("_base_dir", "_base_dir")] {
            let v = args
                .get(arg)
                .or_else(|| (arg == "_raw_params").then(|| args.get("file")).flatten());
            result.insert(key.into(), v.cloned().unwrap_or(Json::Null));
        }
        self.load_include(task, &result).ok()
    }

    /// Finds and parses the file an `include_tasks` result names.
    fn load_include(&self, task: &Task, result: &Map<String, Json>) -> Result<Vec<Task>, String> {
        let file = result
            .get("include")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let base = result
            .get("_base_dir")
            .and_then(Json::as_str)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.shared.playbook.dir.clone());
        let candidates = [base.join(&file), self.shared.playbook.dir.join(&file)];
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(format!(
                "{}: task file `{file}` not found (looked in {})",
                task.origin,
                crate::diag::display_path(&base)
            ));
        };
        let scope = crate::playbook::TaskScope {
            role: task.role.clone(),
            base_dir: base.clone(),
            playbook_dir: self.shared.playbook.dir.clone(),
            inherited: crate::playbook::Inherited {
                tags: task.tags.clone(),
                become_: task.become_,
                become_user: task.become_user.clone(),
                vars: task.vars.clone(),
                ..Default::default()
            },
            depth: 0,
        };
        crate::playbook::parse_tasks_file(path, &scope).map_err(|e| e.to_string())
    }

    /// Plans a host module, probing as needed, then acts unless in check mode.
    async fn run_host_module(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        check: bool,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let task = &tasks[i];
        let become_ = self.become_for(task.become_, task.become_user.as_deref());
        let retries = task.retries.as_ref().and_then(json_u64).unwrap_or(3);
        let delay = task.delay.as_ref().and_then(json_u64).unwrap_or(5);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let decision = self.decide(tasks, i, layer, &become_, rest).await?;
            let mut o = match decision {
                Err(msg) => ItemOutcome::failed(msg),
                Ok(d) => self.act(d, &become_, check).await?,
            };
            self.apply_conditions(task, layer, &mut o);
            let Some(until) = &task.until else {
                return Ok(o);
            };
            if o.status == Status::Unknown {
                return Ok(o);
            }
            let done = {
                let magic = self.magic(task.role.as_deref());
                let mut reg = Vars::new();
                if let Some(r) = &task.register {
                    reg.insert(r.clone(), Json::Object(o.result.clone()));
                }
                let r = self.resolver(task.role.as_deref(), &[&task.vars, layer, &reg], &magic);
                self.eval(&r, until)
            };
            match done {
                Ok(true) => {
                    o.result.insert("attempts".into(), json!(attempt));
                    return Ok(o);
                }
                Ok(false) if attempt <= retries => {
                    tokio::time::sleep(Duration::from_secs(delay)).await
                }
                Ok(false) => {
                    let mut f = ItemOutcome::failed(format!(
                        "gave up after {attempt} attempts: `until: {until}` stayed false"
                    ));
                    f.result.insert("attempts".into(), json!(attempt));
                    return Ok(f);
                }
                Err(e) => {
                    return Ok(ItemOutcome::failed(format!(
                        "{}: in `until: {until}`: {e}",
                        task.origin
                    )))
                }
            }
        }
    }

    /// Plans the task, running probe rounds until the module has the facts it
    /// needs. The first round also probes what the following tasks will need.
    async fn decide(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        become_: &Option<String>,
        rest: Rest<'_>,
    ) -> Result<Result<Decision, String>, Stop> {
        for round in 0..6 {
            match self.plan_now(&tasks[i], layer, become_) {
                Ok(d) => return Ok(Ok(d)),
                Err(PlanError::Fail(m)) => return Ok(Err(m)),
                Err(PlanError::Need(mut probes)) => {
                    if round == 0 {
                        // This task's other loop items and the tasks after it.
                        probes.extend(lookahead::collect(self, tasks, i, become_, rest));
                    }
                    self.probe(become_, probes).await?;
                }
            }
        }
        Ok(Err(format!(
            "{}: the module kept asking for more facts",
            tasks[i].origin
        )))
    }

    /// One planning attempt against the cached facts. Pure: no I/O to the host.
    pub(super) fn plan_now(
        &self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
    ) -> Result<Decision, PlanError> {
        self.plan_with(task, layer, become_, false)
    }

    /// A planning attempt for the lookahead only: an argument that cannot be
    /// rendered yet (it uses the result of an earlier task) is taken as empty,
    /// so that the task still asks for the state of the paths it names.
    pub(super) fn plan_ahead(
        &self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
    ) -> Result<Decision, PlanError> {
        self.plan_with(task, layer, become_, true)
    }

    fn plan_with(
        &self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
        lenient: bool,
    ) -> Result<Decision, PlanError> {
        let role = task.role.as_deref();
        let magic = self.magic(role);
        let r = self.resolver(role, &[&task.vars, layer], &magic);
        let at = |e: TemplateError| PlanError::Fail(arg_error(&task.origin, &e));
        let rendered = match &task.args {
            Json::Object(m) if lenient => Json::Object(
                m.iter()
                    .map(|(k, v)| {
                        let v = self
                            .render_json(&r, v)
                            .unwrap_or_else(|_| Json::String(String::new()));
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            args => self.render_json(&r, args).map_err(at)?,
        };
        let args = match rendered {
            Json::Object(m) => m
                .into_iter()
                .filter(|(_, v)| v.as_str() != Some(OMIT))
                .collect::<Map<_, _>>(),
            _ => Map::new(),
        };
        let environment = match &task.environment {
            Some(env) => match self.render_json(&r, env).map_err(at)? {
                Json::Object(m) => m,
                _ => {
                    return Err(PlanError::Fail(format!(
                        "{}: `environment` must be a mapping",
                        task.origin
                    )))
                }
            },
            None => Map::new(),
        };
        let search = SearchPaths {
            role_path: task.role.as_ref().map(|r| r.path.clone()),
            task_dir: task.origin.path.parent().map(Path::to_path_buf),
            playbook_dir: self.shared.playbook.dir.clone(),
        };
        let render = |p: &Path| self.render_template_file(&r, p);
        let empty = HashMap::new();
        let facts = self.cache.get(become_).unwrap_or(&empty);
        let cx = PlanCx {
            module: &task.module,
            args: &args,
            facts,
            search: &search,
            want_diff: task.diff != Some(false)
                && (self.shared.opts.diff || self.shared.opts.check),
            render: &render,
            environment: &environment,
        };
        modules::plan(&cx).map_err(|e| match e {
            PlanError::Fail(m) if !m.starts_with(&task.origin.to_string()) => {
                PlanError::Fail(format!("{}: {m}", task.origin))
            }
            other => other,
        })
    }

    async fn act(
        &mut self,
        d: Decision,
        become_: &Option<String>,
        check: bool,
    ) -> Result<ItemOutcome, Stop> {
        match d {
            Decision::Ok { result, msg } => {
                let mut o = ItemOutcome::new(Status::Ok, result);
                o.msg = msg;
                Ok(o)
            }
            Decision::Change { diffs, action } => {
                if check {
                    let mut o = ItemOutcome::new(Status::Changed, action.result);
                    o.diffs = diffs;
                    return Ok(o);
                }
                let mut o = self.run_action(action, become_).await?;
                o.diffs = diffs;
                Ok(o)
            }
            Decision::Run { action } => {
                if check {
                    return Ok(ItemOutcome::unknown("would run (not run in check mode)"));
                }
                self.run_action(action, become_).await
            }
        }
    }

    async fn run_action(
        &mut self,
        action: Action,
        become_: &Option<String>,
    ) -> Result<ItemOutcome, Stop> {
        let out = match self
            .remote(&action.script, action.stdin.as_deref(), become_)
            .await
        {
            Ok(o) => o,
            Err(Ok(msg)) => return Ok(ItemOutcome::failed(msg)),
            Err(Err(stop)) => return Err(stop),
        };
        self.invalidate(&action);
        let mut result = action.result;
        match action.output {
            OutputMode::Checked if out.status == 0 => Ok(ItemOutcome::new(Status::Changed, result)),
            OutputMode::Checked => {
                let err = out.stderr_lossy();
                let msg = if err.trim().is_empty() {
                    format!("failed with exit status {}", out.status)
                } else {
                    err.trim().to_string()
                };
                let mut o = ItemOutcome::failed(msg);
                o.result.insert("rc".into(), json!(out.status));
                Ok(o)
            }
            OutputMode::Parse(parse) => {
                result.extend(parse(out.status, &out.stdout_lossy(), &out.stderr_lossy()));
                if result.get("failed") == Some(&json!(true)) {
                    let msg = result
                        .get("msg")
                        .map(json_text)
                        .unwrap_or_else(|| format!("failed with exit status {}", out.status));
                    return Ok(ItemOutcome {
                        status: Status::Failed,
                        result,
                        diffs: Vec::new(),
                        msg: Some(msg),
                    });
                }
                let status = if result.get("changed") == Some(&json!(false)) {
                    Status::Ok
                } else {
                    Status::Changed
                };
                Ok(ItemOutcome::new(status, result))
            }
            OutputMode::Command => {
                let stdout = strip_newline(out.stdout_lossy());
                let stderr = strip_newline(out.stderr_lossy());
                result.insert("rc".into(), json!(out.status));
                result.insert(
                    "stdout_lines".into(),
                    json!(stdout.lines().collect::<Vec<_>>()),
                );
                result.insert(
                    "stderr_lines".into(),
                    json!(stderr.lines().collect::<Vec<_>>()),
                );
                result.insert("stdout".into(), json!(stdout));
                result.insert("stderr".into(), json!(stderr));
                if out.status != 0 {
                    result.insert("failed".into(), json!(true));
                    let msg = if stderr.is_empty() {
                        format!("non-zero return code {}", out.status)
                    } else {
                        format!("non-zero return code {}: {stderr}", out.status)
                    };
                    result.insert("msg".into(), json!(msg.clone()));
                    Ok(ItemOutcome {
                        status: Status::Failed,
                        result,
                        diffs: Vec::new(),
                        msg: Some(msg),
                    })
                } else {
                    Ok(ItemOutcome::new(Status::Changed, result))
                }
            }
        }
    }

    /// `changed_when` and `failed_when`, evaluated with the task's result
    /// available under its `register` name.
    fn apply_conditions(&self, task: &Task, layer: &Vars, o: &mut ItemOutcome) {
        if (task.changed_when.is_none() && task.failed_when.is_none())
            || o.status == Status::Unknown
            || o.status == Status::Skipped
        {
            return;
        }
        let magic = self.magic(task.role.as_deref());
        let mut reg = Vars::new();
        if let Some(r) = &task.register {
            reg.insert(r.clone(), Json::Object(o.result.clone()));
        }
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer, &reg], &magic);
        let all = |conds: &[String]| -> Result<bool, String> {
            for c in conds {
                match self.eval(&r, c) {
                    Ok(false) => return Ok(false),
                    Ok(true) => {}
                    Err(e) => return Err(format!("{}: in `{c}`: {e}", task.origin)),
                }
            }
            Ok(true)
        };
        if let Some(fw) = &task.failed_when {
            match all(fw) {
                Ok(true) => {
                    o.status = Status::Failed;
                    o.result.insert("failed".into(), json!(true));
                    o.result.insert("failed_when_result".into(), json!(true));
                    if o.msg.is_none() {
                        o.msg = Some(format!("failed_when: {}", fw.join(" and ")));
                    }
                }
                Ok(false) => {
                    if o.status == Status::Failed {
                        o.status = if o.result.get("changed") == Some(&json!(true)) {
                            Status::Changed
                        } else {
                            Status::Ok
                        };
                        o.msg = None;
                    }
                    o.result.insert("failed".into(), json!(false));
                    o.result.insert("failed_when_result".into(), json!(false));
                }
                Err(m) => {
                    *o = ItemOutcome::failed(m);
                    return;
                }
            }
        }
        if let Some(cw) = &task.changed_when {
            match all(cw) {
                Ok(changed) => {
                    o.result.insert("changed".into(), json!(changed));
                    if o.status != Status::Failed {
                        o.status = if changed { Status::Changed } else { Status::Ok };
                        if !changed {
                            o.diffs.clear();
                        }
                    }
                }
                Err(m) => *o = ItemOutcome::failed(m),
            }
        }
    }
}

impl HostvarsSource for HostRunner {
    fn hostvars(&self) -> &Json {
        self.shared.hostvars()
    }
}

/// A template error in a task's arguments: the task's file and line, the
/// message, and what to do about an undefined variable. A line inside a
/// one-line YAML string (`line 1`) tells nothing and is left out.
fn arg_error(origin: &impl std::fmt::Display, e: &TemplateError) -> String {
    let within = match e.line {
        Some(l) if l > 1 => format!(" (line {l} of the value)"),
        _ => String::new(),
    };
    format!("{origin}: {}{within}{}", e.message, undefined_help(e))
}

/// The hint for an undefined variable, or nothing.
fn undefined_help(e: &TemplateError) -> String {
    match (&e.kind, &e.undefined) {
        (TemplateErrorKind::Undefined, Some(name)) => format!(
            "\n= help: define `{name}` (play or role vars, role defaults, inventory, vars_files, -e) or give it a fallback: `{{{{ {name} | default(...) }}}}`"
        ),
        _ => String::new(),
    }
}

fn json_u64(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn strip_newline(mut s: String) -> String {
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
}

/// A rendered value as text for messages: strings as they are, the rest as JSON.
fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}
