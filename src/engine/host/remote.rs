//! Reaching the host: the connection, the one-command probe, and forgetting
//! what an action made stale.
//!
//! How to reach the host and whom to become are read as Ansible reads them:
//! the connection variables (`ansible_user`, `ansible_host`, `ansible_port`,
//! `ansible_become`, `ansible_become_user`, …) from every variable layer —
//! inventory, play and task vars, role vars, set_fact, `-e` — and above the
//! keywords (`remote_user`, `become`, `become_user`), which only apply when no
//! variable says otherwise. A task whose variables name another login than
//! the open connection's gets a new connection.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use rprov_inventory::{ConnectionKind, ConnectionVars};
use rprov_transport::{Connection, Output, Script, SshTarget, Target, TargetKind, TransportError};
use serde_json::{Map, Value as Json};

use super::super::lookahead::UserProbe;
use crate::playbook::Vars;
use crate::probe::{self, Fact, Probe};

use super::link::Link;
use super::*;

/// The variables that say how to reach a host and whom to become there.
const CONNECTION_VARS: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_connection",
    "ansible_ssh_args",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_host_key_checking",
    "ansible_ssh_host_key_checking",
    "ansible_become",
    "ansible_become_user",
    "ansible_become_method",
];

/// How a task reaches the host: the connection, and the sudo user (`None`:
/// the login user itself).
pub(in crate::engine) struct Reach {
    pub target: Target,
    pub become_user: Option<String>,
}

impl HostRunner {
    /// How `task` (with its loop variables `layer`) reaches the host, or the
    /// play itself when `task` is `None` (facts are gathered that way).
    pub(in crate::engine) fn reach(&self, task: Option<(&Task, &Vars)>) -> Result<Reach, String> {
        let play = self.play();
        let (role, keyword_become, keyword_user, keyword_method) = match task {
            Some((t, _)) => (
                t.role.as_deref(),
                t.become_,
                t.become_user.as_deref(),
                t.become_method.as_deref(),
            ),
            None => (
                None,
                play.become_,
                play.become_user.as_deref(),
                play.become_method.as_deref(),
            ),
        };
        let magic = match task {
            Some((t, _)) => self.task_magic(t),
            None => self.magic(None),
        };
        let layers: Vec<&Vars> = match task {
            Some((t, layer)) => vec![&t.vars, layer],
            None => Vec::new(),
        };
        let r = self.resolver(role, &layers, &magic);
        // `become: "{{ … }}"` is rendered with the task's variables, as
        // ansible-core post-validates its keywords.
        let keyword_become = match (
            keyword_become,
            task.and_then(|(t, _)| t.become_template.as_deref()),
        ) {
            (None, Some(template)) => {
                let v = self
                    .render_json(&r, &Json::String(template.to_string()))
                    .map_err(|e| format!("Error processing keyword 'become': {}", e.message))?;
                Some(crate::truthy::as_bool(&v).ok_or_else(|| {
                    format!("Error processing keyword 'become': The value {v} could not be converted to 'bool'.")
                })?)
            }
            (literal, _) => literal,
        };
        let mut vars = Vars::new();
        for name in CONNECTION_VARS {
            match r.resolve(name) {
                Some(Ok(v)) => {
                    vars.insert(name.to_string(), v);
                }
                Some(Err(e)) => return Err(format!("variable {name}: {e}")),
                None => {}
            }
        }
        // `remote_user:` (the task's, a block's or role's, else the play's)
        // is the login only when no variable names one; a template is
        // rendered with the task's variables, as ansible-core templates its
        // keywords.
        if !vars.contains_key("ansible_user") && !vars.contains_key("ansible_ssh_user") {
            let keyword = task
                .and_then(|(t, _)| t.remote_user.as_deref())
                .or(play.remote_user.as_deref());
            if let Some(u) = keyword {
                let u = match super::super::vars::is_template(u) {
                    true => self
                        .render_string(&r, u)
                        .map_err(|e| format!("remote_user: {e}"))?,
                    false => u.to_string(),
                };
                vars.insert("ansible_user".into(), Json::String(u));
            }
        }
        // ansible.cfg and ANSIBLE_* come last: any variable beats them.
        for (names, value) in &self.shared.opts.connection_defaults {
            if !names.iter().any(|n| vars.contains_key(*n)) {
                vars.insert(names[0].to_string(), value.clone());
            }
        }
        let method = match vars.get("ansible_become_method") {
            Some(m) => match m.as_str().filter(|m| crate::playbook::is_become_method(m)) {
                Some(m) => m.to_string(),
                None => {
                    return Err(format!(
                        "ansible_become_method is {m}: rprov becomes another user with sudo only"
                    ))
                }
            },
            None => keyword_method.unwrap_or("sudo").to_string(),
        };
        // `become_user: "{{ … }}"` is rendered with the task's variables, as
        // Ansible templates its keywords.
        let keyword_user = match keyword_user {
            Some(u) if super::super::vars::is_template(u) => Some(
                self.render_string(&r, u)
                    .map_err(|e| format!("become_user: {e}"))?,
            ),
            other => other.map(str::to_string),
        };
        let (cv, unsupported) = connection_vars(&self.name, &vars)?;
        let become_user = if cv.become_.or(keyword_become).unwrap_or(false) {
            let user = cv
                .become_user
                .clone()
                .or(keyword_user)
                .unwrap_or_else(|| "root".to_string());
            (cv.user.as_deref() != Some(user.as_str())).then_some(user)
        } else {
            None
        };
        // `su` needs a password rprov never types: it is taken where the
        // login already is the user to become (nothing to do), and a task
        // that needs another user fails, saying so.
        let local = unsupported.is_none() && cv.connection == ConnectionKind::Local;
        let become_user = match become_user {
            Some(u) if method.ends_with("su") && !method.ends_with("sudo") => {
                let login = match local {
                    true => Some(local_user()),
                    false => cv.user.clone(),
                };
                if login.as_deref() != Some(u.as_str()) {
                    return Err(format!(
                        "become_method su: rprov becomes another user with `sudo -n` only, and this task would become {u} (login {}); use `become_method: sudo`",
                        login.as_deref().unwrap_or("as ssh chooses")
                    ));
                }
                None
            }
            other => other,
        };
        // A delegated task goes where its delegation says (that host's own
        // connection variables).
        let target = match self.delegated.as_ref().and_then(|(_, l)| l.target.clone()) {
            Some(t) => t,
            None => target_of(&self.name, cv, unsupported),
        };
        Ok(Reach {
            target,
            become_user,
        })
    }

    /// Makes the next remote command go to `target`: a connection open to
    /// another target (another login, host or port) is closed first, and
    /// what was probed through it is forgotten.
    pub(super) async fn aim(&mut self, target: Target) -> Result<(), Stop> {
        if self.delegated.is_some() {
            return Ok(());
        }
        if self.own.conn.is_some() && self.own.target.as_ref() != Some(&target) {
            // What is kept for this connection goes before it closes.
            self.flush_batch().await?;
            self.close_connection().await;
            self.own.cache.clear();
        }
        self.own.target = Some(target);
        Ok(())
    }

    /// Closes the connection of the task at hand (see [`Link::close`]), its
    /// time counted as connecting.
    pub(super) async fn close_connection(&mut self) {
        let closing = Instant::now();
        if self.link_mut().close().await && !self.is_delegated() {
            self.timings.connected(closing, false);
        }
    }

    /// The link the task at hand runs over: the delegated host's while a
    /// delegated task runs, else this host's own.
    pub(super) fn link(&self) -> &Link {
        match &self.delegated {
            Some((_, l)) => l,
            None => &self.own,
        }
    }

    /// [`Self::link`], to change.
    pub(super) fn link_mut(&mut self) -> &mut Link {
        match &mut self.delegated {
            Some((_, l)) => l,
            None => &mut self.own,
        }
    }

    /// Opens a connection to `target` with `opts` (the one way rprov
    /// connects; `connect` and `wait_for_connection` both come here), its
    /// time counted as connecting.
    pub(super) async fn open_connection(
        &mut self,
        target: &Target,
        opts: &rprov_transport::ConnectOptions,
    ) -> Result<Connection, TransportError> {
        let opening = Instant::now();
        // Waiting for a turn counts as connecting; the connect timeout only
        // starts once the login does. The semaphore is never closed.
        let _turn = self.shared.connecting.acquire().await.ok();
        let opened = Connection::open(target, opts).await;
        if self.delegated.is_none() {
            self.timings.connected(opening, true);
        }
        opened
    }

    /// Remote commands run on this host so far, over every connection (a
    /// delegated task's ran elsewhere and are not counted).
    pub(super) fn commands_run(&self) -> u64 {
        self.own.commands_run()
    }

    /// Whether a delegated task is running (its probes and actions go to
    /// another host, or the controller).
    pub(in crate::engine) fn is_delegated(&self) -> bool {
        self.delegated.is_some()
    }

    /// Runs the next tasks over the link to the host a task is delegated
    /// to (`Some`), or back over this host's own (`None`). A link kept from
    /// an earlier delegation is reused while its target is the same; one to
    /// another login or address (its variables changed) is closed and
    /// forgotten.
    pub(super) async fn delegate(&mut self, to: Option<(String, Target)>) {
        if let Some((name, link)) = self.delegated.take() {
            self.delegates.insert(name, link);
        }
        self.delegate_shown = to.as_ref().and_then(|(name, _)| self.delegate_label(name));
        if let Some((name, target)) = to {
            let link = match self.delegates.remove(&name) {
                Some(l) if l.target.as_ref() == Some(&target) => l,
                Some(mut old) => {
                    old.close().await;
                    Link::to(target)
                }
                None => Link::to(target),
            };
            self.delegated = Some((name, link));
        }
    }

    /// How results say a task ran on `to`, as ansible-core's `host_label`:
    /// nothing for this host itself; else its name, and the `ansible_host`
    /// it is reached at in parentheses when that differs.
    fn delegate_label(&self, to: &str) -> Option<String> {
        if to == self.name {
            return None;
        }
        let address = self
            .shared
            .inventory()
            .host_vars(to)
            .get("ansible_host")
            .cloned();
        Some(match address {
            Some(Json::String(a)) if a != to => format!("{to}({a})"),
            _ => to.to_string(),
        })
    }

    /// Where `task` is delegated to, if anywhere: `localhost` (the
    /// controller) or an inventory host, reached with that host's own
    /// connection variables (its address, port, login, key, ssh arguments),
    /// as Ansible does. `Err` names what is wrong with `delegate_to`.
    /// `layer`: the loop item's variables, for a `delegate_to` that names
    /// the item (see [`delegated_per_item`]).
    pub(super) fn delegation(
        &self,
        task: &Task,
        layer: &Vars,
    ) -> Result<Option<(String, Target)>, String> {
        let local = || {
            Some((
                "localhost".to_string(),
                Target {
                    name: "localhost".into(),
                    kind: TargetKind::Local,
                },
            ))
        };
        if task.delegate_local {
            return Ok(local());
        }
        let Some(raw) = &task.delegate_to else {
            return Ok(None);
        };
        let name = if super::super::vars::is_template(raw) {
            let magic = self.task_magic(task);
            let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
            self.render_string(&r, raw)
                .map_err(|e| format!("{}: delegate_to: {}", task.origin, e.message))?
        } else {
            raw.clone()
        };
        let name = name.trim().to_string();
        // `delegate_to: "{{ 'localhost' if x else omit }}"`: not delegated,
        // as ansible-core leaves an omitted keyword unset.
        if name == rprov_template::OMIT {
            return Ok(None);
        }
        if crate::playbook::LOCALHOST.contains(&name.as_str()) {
            return Ok(local());
        }
        let inventory = self.shared.inventory();
        if !inventory.hosts().contains(&name) {
            return Err(format!(
                "{}: delegate_to: `{name}` is not a host of the inventory (rprov delegates to `localhost` or an inventory host)",
                task.origin
            ));
        }
        let mut vars = inventory.host_vars(&name);
        for (names, value) in &self.shared.opts.connection_defaults {
            if !names.iter().any(|n| vars.contains_key(*n)) {
                vars.insert(names[0].to_string(), value.clone());
            }
        }
        let (cv, unsupported) = connection_vars(&name, &vars)?;
        Ok(Some((name.clone(), target_of(&name, cv, unsupported))))
    }

    pub(super) async fn connect(&mut self) -> Result<(), Stop> {
        if self.link().conn.is_some() {
            return Ok(());
        }
        let target = match self.link().target.clone() {
            Some(t) => t,
            None => match self.reach(None) {
                Ok(r) => r.target,
                Err(msg) => {
                    self.fail_host(&msg);
                    return Err(Stop::Failed);
                }
            },
        };
        let opts = self.shared.opts.connect.clone();
        match self.open_connection(&target, &opts).await {
            Ok(c) => {
                self.link_mut().conn = Some(c);
                Ok(())
            }
            Err(e) => Err(self.lost(e.to_string())),
        }
    }

    /// Runs a script on the host, its time and count going to `phase`.
    /// `Err(Ok(msg))` is a task failure (sudo refused), `Err(Err(stop))`
    /// stops the host (unreachable).
    pub(super) async fn remote_now(
        &mut self,
        phase: Phase,
        script: &str,
        stdin: Option<&[u8]>,
        become_: &Option<String>,
    ) -> Result<Output, Result<String, Stop>> {
        self.connect().await.map_err(Err)?;
        let Some(conn) = self.link().conn.as_ref() else {
            return Err(Err(Stop::Unreachable));
        };
        let host = self
            .link()
            .target
            .as_ref()
            .map_or(self.name.as_str(), |t| t.name.as_str());
        self.shared
            .reporter
            .verbose_line(3, &exec_line(host, script, become_.as_deref()));
        let (started, before) = (Instant::now(), conn.commands_run());
        let ran = conn
            .run(&Script::raw(script), stdin, become_.as_deref())
            .await;
        let commands = conn.commands_run() - before;
        // A delegated task's commands ran elsewhere: local time (see
        // `report::timings`), and not this host's remote commands.
        if !self.is_delegated() {
            self.timings.ran(phase, started, commands);
        }
        match ran {
            Ok(out) => Ok(out),
            Err(
                e @ (TransportError::SudoPasswordRequired { .. }
                | TransportError::SudoFailed { .. }),
            ) => Err(Ok(e.to_string())),
            Err(e) => Err(Err(self.lost(e.to_string()))),
        }
    }

    /// Answers `probes`, each asked as its sudo user, in one remote command,
    /// and caches the answers.
    ///
    /// The probes of `become_` (the task at hand) must be answered; those of
    /// other users (tasks further on) are asked ahead in the same command,
    /// which then runs as the login user with a nested `sudo -n` for each
    /// become user ([`rprov_transport::nested_as`]), every part with markers
    /// of its own. A nested part that gives no answer (sudo refused, or the
    /// part could not be nested) is simply not cached: the task at hand is
    /// asked again on its own below, and a later task when it comes, through
    /// [`Connection::run`], which reports sudo's refusal as the task's error.
    pub(super) async fn probe(
        &mut self,
        become_: &Option<String>,
        probes: Vec<UserProbe>,
    ) -> Result<(), Stop> {
        let mut groups: Vec<(Option<String>, Vec<Probe>)> = vec![(become_.clone(), Vec::new())];
        let mut seen = HashSet::new();
        for (user, p) in probes {
            if self.link().knows(&user, &p) || !seen.insert((user.clone(), p.clone())) {
                continue;
            }
            match groups.iter_mut().find(|(u, _)| *u == user) {
                Some((_, g)) => g.push(p),
                None => groups.push((user, vec![p])),
            }
        }
        groups.retain(|(_, g)| !g.is_empty());
        if groups.len() <= 1 {
            return match groups.pop() {
                Some((user, probes)) => self.probe_as(&user, probes).await,
                None => Ok(()),
            };
        }
        self.nonce += 1;
        let base = format!("{}x{}", std::process::id(), self.nonce);
        let mut script = String::new();
        let mut asked = Vec::new();
        for (gi, (user, probes)) in groups.into_iter().enumerate() {
            let nonce = format!("{base}u{gi}");
            let part = probe::script(&probes, &nonce);
            let text = match &user {
                None => Some(part),
                Some(u) => rprov_transport::nested_as(&part, u, &format!("RPROV_END_{base}u{gi}")),
            };
            if let Some(t) = text {
                script.push_str(&t);
                asked.push((user, probes, nonce));
            }
        }
        let out = match self.remote(Phase::Probe, &script, None, &None).await {
            Ok(o) => o,
            Err(Ok(msg)) => {
                self.fail_host(&msg);
                return Err(Stop::Failed);
            }
            Err(Err(stop)) => return Err(stop),
        };
        let stdout = out.stdout_lossy();
        for (user, probes, nonce) in &asked {
            match probe::parse(probes, nonce, &stdout) {
                Ok(facts) => self.store(user, facts),
                // The login user's own part is not behind a sudo: its
                // failure is the host's.
                Err(e) if user.is_none() => {
                    let stderr = out.stderr_lossy();
                    self.fail_host(&format!("{e}\n{}", stderr.trim()));
                    return Err(Stop::Failed);
                }
                Err(_) => {}
            }
        }
        let missing: Vec<Probe> = asked
            .into_iter()
            .filter(|(u, _, _)| u == become_)
            .flat_map(|(_, probes, _)| probes)
            .filter(|p| !self.link().knows(become_, p))
            .collect();
        match missing.is_empty() {
            true => Ok(()),
            false => self.probe_as(become_, missing).await,
        }
    }

    /// Answers `probes` as `become_` in one remote command of their own.
    async fn probe_as(&mut self, become_: &Option<String>, probes: Vec<Probe>) -> Result<(), Stop> {
        self.nonce += 1;
        let nonce = format!("{}x{}", std::process::id(), self.nonce);
        let script = probe::script(&probes, &nonce);
        let out = match self.remote(Phase::Probe, &script, None, become_).await {
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
        self.store(become_, facts);
        Ok(())
    }

    /// Caches what a probe as `become_` found.
    pub(super) fn store(&mut self, become_: &Option<String>, facts: HashMap<Probe, Fact>) {
        for (p, f) in facts {
            // A delegated task's probe found the other host's facts: they
            // become this host's (or the other's, with `delegate_facts`)
            // through the task's result, as ansible-core sets them.
            if let (Fact::Facts(v), false) = (&f, self.is_delegated()) {
                self.set_facts(v.clone());
            }
            self.link_mut()
                .cache
                .entry(become_.clone())
                .or_default()
                .insert(p, f);
        }
    }

    /// The gathered facts (`setup`, `gather_facts`), shared for `hostvars`
    /// (see [`super::host_vars::HostVars::gathered`]).
    pub(super) fn set_facts(&mut self, facts: Json) {
        self.vars.gathered(&facts);
        self.shared.learn(&self.name, &self.vars.facts);
    }

    /// Facts a module returned, shared for `hostvars` (see
    /// [`super::host_vars::HostVars::module_facts`]).
    pub(super) fn learn_module_facts(&mut self, facts: &Map<String, Json>) {
        self.vars.module_facts(facts);
        self.shared.learn(&self.name, &self.vars.facts);
    }

    /// Writes what the fact cache keeps of this host (see
    /// [`super::host_vars::HostVars::cached`]). A write that fails is a
    /// warning naming the file, and the run goes on.
    pub(super) fn write_fact_cache(&self) {
        if let Some(cached) = &self.vars.cached {
            if let Err(w) = self.shared.fact_cache.set(&self.name, cached) {
                self.shared.reporter.warn(&w);
            }
        }
    }

    /// The play's gather step found the host's facts (as `become_`): they
    /// go to the fact cache under the names ansible-core's `setup` returns
    /// them with, and `_ansible_facts_gathered` with them, as its
    /// `gather_facts` action adds it (`gathering = smart` reads it).
    pub(super) fn cache_gathered(&mut self, become_: &Option<String>) {
        if self.vars.cached.is_none() {
            return;
        }
        let Some(Fact::Facts(Json::Object(found))) = self
            .own
            .cache
            .get(become_)
            .and_then(|probed| probed.get(&Probe::Facts))
        else {
            return;
        };
        let raw: Vec<(String, Json)> = found
            .iter()
            .map(|(k, v)| (returned_name(k), v.clone()))
            .chain([(
                crate::fact_cache::GATHERED_KEY.to_string(),
                Json::Bool(true),
            )])
            .collect();
        if self.vars.cache(raw) {
            self.write_fact_cache();
        }
    }

    /// Facts a module returned, or a `set_fact` marked `cacheable`, to the
    /// fact cache as they are named there (`gathered`: by `gather_facts`).
    pub(super) fn cache_facts(&mut self, facts: &Map<String, Json>, gathered: bool) {
        let flag = gathered.then(|| {
            (
                crate::fact_cache::GATHERED_KEY.to_string(),
                Json::Bool(true),
            )
        });
        let raw = facts
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(flag);
        if self.vars.cache(raw) {
            self.write_fact_cache();
        }
    }

    /// `meta: clear_facts`: the host's facts are forgotten, in the fact
    /// cache too (see [`super::host_vars::HostVars::clear_facts`]).
    pub(super) fn clear_facts(&mut self) {
        self.vars.clear_facts();
        self.shared.learn(
            &self.name,
            [(&"ansible_facts".to_string(), &Json::Object(Map::new()))],
        );
        if let Err(w) = self.shared.fact_cache.delete(&self.name) {
            self.shared.reporter.warn(&w);
        }
    }

    // ---- tasks -----------------------------------------------------------
}

/// The name ansible-core's `setup` returns the gathered fact `k` (as rprov's
/// probe names it) under: `ansible_k`, but `gather_subset` and
/// `module_setup`, which it returns bare, and `local`, which is
/// `ansible_local`.
fn returned_name(k: &str) -> String {
    match k {
        "gather_subset" | "module_setup" => k.to_string(),
        _ => format!("ansible_{k}"),
    }
}

/// The transport's target for connection settings.
/// The user rprov runs as on the controller (the login of a local
/// connection).
fn local_user() -> String {
    if rustix::process::geteuid().is_root() {
        return "root".to_string();
    }
    ["LOGNAME", "USER"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| rustix::process::geteuid().as_raw().to_string())
}

/// ansible-core's `-vvv` line for a remote command (`<web1> EXEC /bin/sh -c
/// '…'`): the script's first line, shortened, and how many lines follow.
fn exec_line(host: &str, script: &str, become_: Option<&str>) -> String {
    let mut lines = script.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or_default().trim();
    let first: String = match first.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &first[..i]),
        None => first.to_string(),
    };
    let more = lines.count();
    let via = become_.map_or(String::new(), |u| format!(" (as {u} via sudo)"));
    match more {
        0 => format!("<{host}> EXEC /bin/sh -c '{first}'{via}"),
        n => format!("<{host}> EXEC /bin/sh -c '{first}' (and {n} more lines){via}"),
    }
}

/// A host's connection settings from its variables, and the connection
/// plugin it names if rprov has none of that name: such a host is
/// unreachable when a task needs it (see [`TargetKind::Unsupported`]), as
/// ansible-core fails the host at run time rather than refusing the inventory.
fn connection_vars(name: &str, vars: &Vars) -> Result<(ConnectionVars, Option<String>), String> {
    match ConnectionVars::from_vars(name, vars) {
        Ok(cv) => Ok((cv, None)),
        Err(rprov_inventory::InventoryError::ConnectionVar { var, .. })
            if var == "ansible_connection" =>
        {
            let written = match vars.get("ansible_connection") {
                Some(Json::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let mut rest = vars.clone();
            rest.shift_remove("ansible_connection");
            let cv = ConnectionVars::from_vars(name, &rest).map_err(|e| e.to_string())?;
            Ok((cv, Some(written)))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn target_of(name: &str, cv: ConnectionVars, unsupported: Option<String>) -> Target {
    let kind = match (unsupported, cv.connection) {
        (Some(connection), _) => TargetKind::Unsupported(connection),
        (None, ConnectionKind::Local) => TargetKind::Local,
        (None, ConnectionKind::Ssh) => TargetKind::Ssh(SshTarget {
            host: cv.host,
            port: cv.port,
            user: cv.user,
            private_key_file: cv.private_key_file,
            extra_args: cv.ssh_args,
            extra_args_from: cv.ssh_args_from.iter().map(|s| s.to_string()).collect(),
        }),
    };
    Target {
        name: name.to_string(),
        kind,
    }
}

/// Whether `task` is delegated item by item: a loop whose `delegate_to` is
/// a template, rendered for each item (`delegate_to: "{{ item }}"`), as
/// ansible-core's `TaskExecutor` renders it inside the loop.
pub(super) fn delegated_per_item(task: &Task) -> bool {
    task.loop_items.is_some()
        && task
            .delegate_to
            .as_deref()
            .is_some_and(super::super::vars::is_template)
}
