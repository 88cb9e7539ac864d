//! Host modules: plan against the probed state (probing as needed), act
//! unless in check mode, then apply changed_when/failed_when/until.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use super::super::lookahead;
use super::compiled::CompiledTask;
use crate::modules::{self, Action, Decision, OutputMode, PlanCx, PlanError, SearchPaths};
use crate::playbook::{Task, Vars};
use crate::report::Status;

use super::*;

impl HostRunner {
    /// Plans a host module, probing as needed, then acts unless in check mode.
    pub(super) async fn run_host_module(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        check: bool,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let task = &tasks[i];
        let become_ = match self.reach(Some((task, layer))) {
            Ok(reach) => {
                self.aim(reach.target).await?;
                reach.become_user
            }
            Err(msg) => return Ok(ItemOutcome::failed(format!("{}: {msg}", task.origin))),
        };
        let (until, retries, delay) = match self.attempts_of(task, layer) {
            Ok(a) => a,
            Err(m) => return Ok(ItemOutcome::failed(m)),
        };
        // The task's `async` job and the folder of its files. On rprov's own
        // module it is waited for in the task's remote command, its seconds
        // a limit, its result a finished job's (see `runs_async_itself`); a
        // command's or a fallback module's plan reports its own error.
        let job = match self.async_job_here(task, layer) {
            Ok(job) => job,
            Err(m) if runs_async_itself(task) => {
                return Ok(ItemOutcome::failed(format!("{}: {m}", task.origin)))
            }
            Err(_) => None,
        };
        let native_job = job.clone().filter(|_| runs_async_itself(task));
        // A job that is waited for, of any module: ansible-playbook's lines
        // for it (see `Reporter::async_line`), its id chosen now.
        let waited = job
            .filter(|(j, _)| !j.background())
            .map(|(j, dir)| WaitedJob {
                every: j.poll,
                jid: modules::async_status::new_job_id(),
                dir,
                host: self.name.clone(),
                task_id: task as *const Task as usize,
                name: self.task_name(task, Some(layer)),
                handler: self.in_handlers,
                reporter: self.shared.reporter.clone(),
            });
        let mut attempt = 0;
        loop {
            attempt += 1;
            // `wait_for_connection` and `reboot` are no decision over
            // facts: they wait and reconnect (see `wait_connection` and
            // `reboot`).
            let one_attempt = async {
                let decision = if super::wait_connection::reconnects(task) {
                    let module = crate::modules::spec(&task.module).map(|s| s.name);
                    Err(if module == Some("reboot") {
                        self.reboot(task, layer, &become_, check).await?
                    } else {
                        self.wait_for_connection(task, layer, &become_, check)
                            .await?
                    })
                } else {
                    self.decide(tasks, i, layer, &become_, check, rest).await?
                };
                Ok::<_, Stop>(match decision {
                    Err(outcome) => outcome,
                    Ok(Decision::Run { action, .. })
                        if !check && action.touches_everything && fused::can_fuse(task) =>
                    {
                        self.run_fused(action, &become_, tasks, i, rest).await?
                    }
                    Ok(d) => self.act(d, &become_, check).await?,
                })
            };
            // ansible-core's `timeout` holds for each attempt, and an `async`
            // job's seconds for the job.
            let limit = match (watched_timeout(task), native_job.as_ref().map(|(j, _)| j)) {
                (Some(t), Some(j)) if j.seconds < t => Some((j.seconds, true)),
                (Some(t), _) => Some((t, false)),
                (None, Some(j)) => Some((j.seconds, true)),
                (None, None) => None,
            };
            let one_attempt = polled(one_attempt, waited.as_ref());
            let mut o = match limit {
                None => one_attempt.await?,
                Some((secs, by_job)) => {
                    match tokio::time::timeout(Duration::from_secs(secs), one_attempt).await {
                        Ok(o) => o?,
                        Err(_) if by_job => {
                            if let Some(w) = &waited {
                                w.done(true);
                            }
                            let mut o = self.stop_timed_out(secs).await;
                            let msg = format!(
                                "async task did not complete within the requested time - {secs}s"
                            );
                            o.result.remove("timedout");
                            o.result.insert("msg".into(), json!(msg));
                            o.msg = Some(msg);
                            return Ok(o);
                        }
                        Err(_) => return Ok(self.stop_timed_out(secs).await),
                    }
                }
            };
            if let Some((j, dir)) = native_job
                .as_ref()
                .filter(|_| !matches!(o.status, Status::Skipped | Status::Unknown))
            {
                let jid = modules::async_status::new_job_id();
                o = match j.background() {
                    true => self.leave_finished_job(o, &jid, dir, &become_).await?,
                    false => {
                        let module = std::mem::take(&mut o.result);
                        let file = dir.results_file(&jid);
                        o.result = modules::async_status::job_result(&jid, &file, module, "");
                        o
                    }
                };
            }
            if let Some(w) = waited
                .as_ref()
                .filter(|_| o.result.contains_key("ansible_job_id"))
            {
                o.result.insert("ansible_job_id".into(), json!(w.jid));
                o.result
                    .insert("results_file".into(), json!(w.dir.results_file(&w.jid)));
                w.done(o.status == Status::Failed);
            }
            if task.args_template.is_some() {
                args_splat_warning(&mut o.result);
            }
            // As Ansible, `changed_when` and `failed_when` see `attempts`.
            if until.retries() {
                o.result.insert("attempts".into(), json!(attempt));
            }
            self.apply_conditions(task, layer, &mut o);
            // The facts a module returns become the host's, as Ansible's
            // strategy sets them: from a result that is ok or changed.
            if matches!(o.status, Status::Ok | Status::Changed) {
                if let Some(Json::Object(facts)) = o.result.get("ansible_facts") {
                    let gathered =
                        modules::spec(&task.module).is_some_and(|s| s.name == "gather_facts");
                    self.take_facts(task, FactsKind::Module { gathered }, facts.clone());
                }
            }
            match self.until_verdict(task, layer, until, o, attempt, retries) {
                Tried::Done(o) => return Ok(o),
                Tried::Again => {
                    tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                    // The next attempt looks again: what the host had may
                    // have changed meanwhile (a background job, a service
                    // starting), so a `stat` retried until a file shows up
                    // must not answer from what it read the first time.
                    self.link_mut().forget_host_state();
                }
            }
        }
    }

    /// `task`'s `retries`, `delay` and what ends its attempts (see
    /// [`Until`]); `retries` and `delay` may be templates (`"{{ idx + 2
    /// }}"`), rendered with the task's variables and loop item, as Ansible's.
    pub(super) fn attempts_of<'t>(
        &self,
        task: &'t Task,
        layer: &Vars,
    ) -> Result<(Until<'t>, u64, f64), String> {
        let (retries, delay) = match (&task.until, &task.retries) {
            (None, None) => (0, 0.0),
            _ => self
                .retries_and_delay(task, layer)
                .map_err(|m| format!("{}: {m}", task.origin))?,
        };
        let until = match &task.until {
            Some(u) => Until::Holds(u),
            None if retries > 0 => Until::Succeeds,
            None => Until::Once,
        };
        Ok((until, retries, delay))
    }

    /// Whether `task` is done after attempt `attempt` (of `retries + 1`),
    /// whose outcome is `o`: its final outcome, or another attempt.
    pub(super) fn until_verdict(
        &self,
        task: &Task,
        layer: &Vars,
        until: Until<'_>,
        mut o: ItemOutcome,
        attempt: u64,
        retries: u64,
    ) -> Tried {
        let until = match until {
            Until::Once => return Tried::Done(o),
            _ if o.status == Status::Unknown => return Tried::Done(o),
            Until::Succeeds if o.status != Status::Failed => return Tried::Done(o),
            Until::Succeeds if attempt <= retries => return Tried::Again,
            // Out of attempts, the last failure is the task's, with
            // ansible-core's count (see below).
            Until::Succeeds => {
                o.result.insert("attempts".into(), json!(retries));
                return Tried::Done(o);
            }
            Until::Holds(until) => until,
        };
        let done = {
            let magic = self.task_magic(task);
            let mut reg = Vars::new();
            if let Some(r) = &task.register {
                reg.insert(r.clone(), Json::Object(o.result.clone()));
            }
            let r = self
                .resolver(task.role.as_deref(), &[&task.vars, layer, &reg], &magic)
                .with_untrusted(&[&reg], None)
                .with_final_layers(&[&reg]);
            self.eval(&r, until)
        };
        match done {
            Ok(true) => Tried::Done(o),
            Ok(false) if attempt <= retries => Tried::Again,
            // Out of attempts, ansible-core's result says one fewer than
            // ran: `retries` (its `attempts = retries - 1`, its
            // `retries` counting the first run too).
            // With `failed_when`, its verdict on the last attempt is the
            // task's, as Ansible judges a result by `failed_when_result`.
            Ok(false) if task.failed_when.is_some() => {
                o.result.insert("attempts".into(), json!(retries));
                Tried::Done(o)
            }
            Ok(false) => {
                let mut f = ItemOutcome::failed(format!(
                    "gave up after {attempt} attempts: `until: {until}` stayed false"
                ));
                f.result.insert("attempts".into(), json!(retries));
                Tried::Done(f)
            }
            Err(e) => Tried::Done(ItemOutcome::failed(format!(
                "{}: in `until: {until}`: {e}",
                task.origin
            ))),
        }
    }

    /// `until`'s `retries` (3 by default) and `delay` in seconds (5 by
    /// default, fractions allowed), rendered.
    fn retries_and_delay(&self, task: &Task, layer: &Vars) -> Result<(u64, f64), String> {
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        let number = |v: &Option<Json>, key: &str| -> Result<Option<f64>, String> {
            let Some(v) = v else { return Ok(None) };
            let v = self.render_json(&r, v).map_err(|e| format!("{key}: {e}"))?;
            let n = match &v {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match n {
                Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
                _ => Err(format!(
                    "`{key}` must be a number of seconds or times, got {v}"
                )),
            }
        };
        let retries = number(&task.retries, "retries")?;
        let delay = number(&task.delay, "delay")?;
        Ok((retries.map_or(3, |r| r as u64), delay.unwrap_or(5.0)))
    }

    /// Plans the task, running probe rounds until the module has the facts it
    /// needs. The first round also probes what the following tasks will need.
    /// A plan that cannot be made comes back as the task's outcome.
    pub(super) async fn decide(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        become_: &Option<String>,
        check: bool,
        rest: Rest<'_>,
    ) -> Result<Result<Decision, ItemOutcome>, Stop> {
        let mut compiled = None;
        for round in 0..6 {
            match self.plan_round(&tasks[i], layer, become_, &mut compiled) {
                Ok(d) => return Ok(Ok(d)),
                Err(PlanError::Fail(m)) => return Ok(Err(plan_failed(&tasks[i], &m))),
                Err(PlanError::Missing(m)) => {
                    return Ok(Err(self.missing(&tasks[i], &m, check)));
                }
                Err(PlanError::Need(probes)) => {
                    let mut probes: Vec<_> =
                        probes.into_iter().map(|p| (become_.clone(), p)).collect();
                    if round == 0 {
                        // This task's other loop items and the tasks after it;
                        // what they cannot know yet is no concern of this task.
                        let noted = self.refusals.take();
                        probes.extend(lookahead::collect(self, tasks, i, rest));
                        self.refusals.replace(noted);
                    }
                    self.probe(become_, probes).await?;
                }
            }
        }
        Ok(Err(ItemOutcome::failed(format!(
            "{}: the module kept asking for more facts",
            tasks[i].origin
        ))))
    }

    /// The outcome of a task whose host lacks something it needs. In check
    /// mode, once an earlier task of this host was left undone (a `user` to
    /// create, a package to install, a command that did not run), the host
    /// the task would meet is not the one probed: `unknown`, naming what is
    /// missing, rather than a failure the real run would not have. On a host
    /// where nothing was left undone (changes made for real before a task's
    /// own `check_mode: true` count as done) it is what it says: a failure,
    /// as Ansible's module fails in check mode too.
    fn missing(&self, task: &Task, m: &str, check: bool) -> ItemOutcome {
        if check && self.left_undone > 0 {
            ItemOutcome::unknown(&format!(
                "{} — not yet: an earlier change was not made in check mode",
                at_task(task, m)
            ))
        } else {
            plan_failed(task, m)
        }
    }

    /// A planning attempt for the lookahead only: an argument that cannot be
    /// rendered yet (it uses the result of an earlier task) is taken as empty,
    /// so that the task still asks for the state of the paths it names.
    pub(in crate::engine) fn plan_ahead(
        &self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
    ) -> Result<Decision, PlanError> {
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        let compiled = self.compile(&r, task, true).map_err(PlanError::Fail)?;
        self.plan_now(&r, task, become_, &compiled)
    }

    /// One planning round of [`Self::decide`]: the task is compiled in the
    /// first (and kept in `compiled` for the next), with the same variables.
    fn plan_round(
        &self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
        compiled: &mut Option<CompiledTask>,
    ) -> Result<Decision, PlanError> {
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        let compiled = match compiled {
            Some(c) => &*c,
            None => compiled.insert(self.compile(&r, task, false).map_err(PlanError::Fail)?),
        };
        self.plan_now(&r, task, become_, compiled)
    }

    /// One planning attempt against the cached facts, with the task's
    /// arguments rendered once for all attempts. Pure: no I/O to the host.
    fn plan_now(
        &self,
        r: &Resolver,
        task: &Task,
        become_: &Option<String>,
        compiled: &CompiledTask,
    ) -> Result<Decision, PlanError> {
        let args = &compiled.args;
        let async_job = self.async_job_of(task, r).map_err(PlanError::Fail)?;
        if modules::is_fallback(&task.module) {
            return Ok(self.fallback_decision(task, r, args.clone(), async_job));
        }
        let search = SearchPaths {
            role_path: task.role.as_ref().map(|r| r.own.path.clone()),
            task_dir: task.origin.path.parent().map(Path::to_path_buf),
            playbook_dir: self.shared.playbook.dir.clone(),
        };
        // `template_destpath`, as ansible-core: `dest` as the task gives it.
        let dest = args.get("dest").and_then(|d| d.as_str());
        let render = |p: &Path, opts: &rprov_template::FileOptions| {
            compiled.template(p, opts, || {
                self.render_template_file(r, task, p, dest, opts)
            })
        };
        let empty = HashMap::new();
        let facts = self.link().cache.get(become_).unwrap_or(&empty);
        let async_dir = async_dir(r);
        let cx = PlanCx {
            module: &task.module,
            args,
            facts,
            search: &search,
            inventory_hostname: &self.name,
            // A task's `diff:` wins over `--diff` (and `--check`, which
            // shows diffs in rprov's own output), as Ansible's task keyword.
            want_diff: task.diff.unwrap_or(
                self.shared.opts.diff
                    || (self.shared.opts.check && self.shared.opts.check_shows_diffs),
            ),
            render: &render,
            vault_password: self.shared.vault_password.as_deref(),
            environment: &compiled.environment,
            timeout: task_timeout(task)?,
            async_job,
            async_dir: &async_dir,
            open_files: Self::open_files_limit(task, r).map_err(PlanError::Fail)?,
        };
        let mut decision = modules::plan(&cx)?;
        if self.shared.reporter.verbose() >= 3 {
            with_invocation(&mut decision, &task.module, args);
        }
        Ok(decision)
    }

    pub(super) async fn act(
        &mut self,
        d: Decision,
        become_: &Option<String>,
        check: bool,
    ) -> Result<ItemOutcome, Stop> {
        match d {
            Decision::Ok { result, msg } => {
                // A module that found nothing to work on says `skipped`, as
                // Ansible's do (`service_facts` on a host without services).
                let status = if result.get("skipped") == Some(&json!(true)) {
                    Status::Skipped
                } else {
                    Status::Ok
                };
                let mut o = ItemOutcome::new(status, result);
                o.msg = msg;
                Ok(o)
            }
            Decision::Change { diffs, mut action } => {
                self.shared
                    .reporter
                    .hide_old_secret_content(&mut action.result);
                if check {
                    let mut o = ItemOutcome::new(Status::Changed, action.result);
                    o.diffs = diffs;
                    return Ok(o);
                }
                // Kept for the batch, it is reported as planned once it ran.
                let result = action.result.clone();
                let Some(action) = self.stage(action, become_) else {
                    let mut o = ItemOutcome::new(Status::Changed, result);
                    o.diffs = diffs;
                    return Ok(o);
                };
                let mut o = self.run_action(action, become_).await?;
                o.diffs = diffs;
                Ok(o)
            }
            Decision::Run { action, waits_for } => {
                if check {
                    return Ok(ItemOutcome::unknown(&format!("waits for {waits_for}")));
                }
                self.run_action(action, become_).await
            }
            Decision::Read { action } => self.run_action(action, become_).await,
            Decision::Refresh {
                result,
                msg,
                action,
            } => {
                if check {
                    let mut o = ItemOutcome::new(Status::Ok, result);
                    o.msg = msg;
                    return Ok(o);
                }
                self.run_action(action, become_).await
            }
            Decision::Fallback(fb) => self.run_fallback(&fb, become_, check).await,
            Decision::WriteLocal(w) => {
                let w = *w;
                if !check {
                    if let Err(e) = write_local(&w.path, &w.bytes) {
                        let mut o = ItemOutcome::failed(format!(
                            "Failed to fetch the file: writing {}: {e}",
                            w.path.display()
                        ));
                        o.result.insert("dest".into(), json!(w.path));
                        return Ok(o);
                    }
                }
                let mut o = ItemOutcome::new(Status::Changed, w.result);
                o.diffs = w.diffs;
                Ok(o)
            }
        }
    }

    /// The task's `async` job on this host (see [`Self::async_job_of`]) and
    /// its `ansible_async_dir`; `None` for a task without `async`.
    fn async_job_here(
        &self,
        task: &Task,
        layer: &Vars,
    ) -> Result<Option<(crate::playbook::AsyncJob, modules::async_status::AsyncDir)>, String> {
        if task.async_job.is_none() && task.async_template.is_none() {
            return Ok(None);
        }
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        Ok(self.async_job_of(task, &r)?.map(|job| (job, async_dir(&r))))
    }

    /// One of rprov's own modules left in the background (`poll: 0`): it has
    /// run in its task's remote command already, so its outcome `o` is left
    /// where `async_status` reads a finished job (one more remote command),
    /// and the task registers job `jid` as started, as ansible-core's does.
    async fn leave_finished_job(
        &mut self,
        mut o: ItemOutcome,
        jid: &str,
        dir: &modules::async_status::AsyncDir,
        become_: &Option<String>,
    ) -> Result<ItemOutcome, Stop> {
        let mut module = std::mem::take(&mut o.result);
        if o.status == Status::Failed {
            module.insert("failed".into(), json!(true));
            if let Some(msg) = o.msg.filter(|_| !module.contains_key("msg")) {
                module.insert("msg".into(), json!(msg));
            }
        }
        let files = modules::change::checked(
            vec![modules::change::Change::Raw {
                script: modules::async_status::finished_job_script(dir, jid, &module),
                why: "the files of a job that has finished, for `async_status`",
            }],
            Map::new(),
        );
        let left = match files {
            Ok(action) => self.run_action(action, become_).await?,
            Err(e) => ItemOutcome::failed(format!("writing the job's files: {e}")),
        };
        if left.status == Status::Failed {
            return Ok(left);
        }
        let started = modules::async_status::started_job(jid, &dir.results_file(jid));
        Ok(ItemOutcome::new(Status::Changed, started))
    }

    /// The task's `async` job on this host: as written, or its `async` and
    /// `poll` templates rendered with its variables, as ansible-core
    /// post-validates them (`omit` leaves `async` unset, a task that
    /// waits, and `poll` at its 15).
    fn async_job_of(
        &self,
        task: &Task,
        r: &crate::engine::vars::Resolver,
    ) -> Result<Option<crate::playbook::AsyncJob>, String> {
        let Some(t) = &task.async_template else {
            return Ok(task.async_job);
        };
        let number = |key: &str, written: &str| -> Result<Option<u64>, String> {
            let v = self
                .render_json(r, &Json::String(written.to_string()))
                .map_err(|e| format!("{}: {key}: {}", task.origin, e.message))?;
            let n = match &v {
                Json::String(s) if s == rprov_template::OMIT => return Ok(None),
                Json::Number(n) => n.as_u64(),
                Json::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            n.map(Some).ok_or_else(|| {
                format!(
                    "{}: `{key}` must be a whole number of 0 or more, found {v}",
                    task.origin
                )
            })
        };
        let Some(seconds) = number("async", &t.seconds)?.filter(|s| *s > 0) else {
            return Ok(None);
        };
        let poll = match &t.poll {
            Some(p) => number("poll", p)?.unwrap_or(15),
            None => 15,
        };
        Ok(Some(crate::playbook::AsyncJob { seconds, poll }))
    }

    /// `ansible_python_module_rlimit_nofile` for `task`: the limit of open
    /// files ansible-core's module wrapper sets, `None` when it is not set
    /// or `omit`; one that does not render fails the task.
    fn open_files_limit(task: &Task, r: &Resolver) -> Result<Option<u64>, String> {
        const VAR: &str = "ansible_python_module_rlimit_nofile";
        let value = match r.resolve(VAR) {
            None => return Ok(None),
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(format!("{}: {VAR}: {}", task.origin, e.message)),
        };
        let number = match &value {
            Json::Null => return Ok(None),
            Json::String(s) if s == rprov_template::OMIT || s.trim().is_empty() => return Ok(None),
            Json::String(s) => s.trim().parse::<u64>().ok(),
            Json::Number(n) => n.as_u64(),
            _ => None,
        };
        number.map(Some).ok_or_else(|| {
            format!(
                "{}: `{VAR}` must be a whole number of files, not {value}",
                task.origin
            )
        })
    }

    /// A task whose module is Ansible's own (`modules::ansible_fallback`):
    /// its rendered arguments and what Ansible would pass with them.
    fn fallback_decision(
        &self,
        task: &Task,
        r: &crate::engine::vars::Resolver,
        args: Map<String, Json>,
        async_job: Option<crate::playbook::AsyncJob>,
    ) -> Decision {
        let interpreter = match r.resolve("ansible_python_interpreter") {
            // `auto`, `auto_silent`, … ask for discovery, as in Ansible.
            Some(Ok(Json::String(s))) if !s.trim().is_empty() && !s.trim().starts_with("auto") => {
                Some(s.trim().to_string())
            }
            _ => None,
        };
        // A custom module's shebang interpreter is replaced by its
        // `ansible_NAME_interpreter` (`modules::library_module`).
        let interpreters = r
            .all_names()
            .into_iter()
            .filter_map(|n| {
                let name = n.strip_prefix("ansible_")?.strip_suffix("_interpreter")?;
                if name.is_empty() || (name == "python" && interpreter.is_none()) {
                    return None;
                }
                match r.resolve(&n) {
                    Some(Ok(Json::String(s))) => Some((name.to_string(), s)),
                    _ => None,
                }
            })
            .collect();
        // A custom action plugin runs on the controller with the task's
        // variables (every one but `hostvars`, as a Python lookup gets them).
        let controller_vars = matches!(
            modules::ansible_fallback::resolve(
                &task.module,
                &task.collections,
                &self.shared.playbook.dir
            ),
            modules::ansible_fallback::Resolution::ControllerAction(_)
        )
        .then(|| {
            r.all_names()
                .into_iter()
                .filter(|n| n != "hostvars")
                .filter_map(|n| match r.resolve(&n) {
                    Some(Ok(v)) => Some((n, v)),
                    _ => None,
                })
                .collect()
        });
        // Arguments as written, no template in them: trusted as templates
        // by ansible-core 2.19 (`debug`'s `var: item`), unlike rendered ones.
        let trusted = args
            .iter()
            .filter(|(k, v)| {
                v.as_str().is_some_and(|s| {
                    !crate::engine::vars::is_template(s) && task.args.get(k.as_str()) == Some(*v)
                })
            })
            .map(|(k, _)| k.clone())
            .collect();
        Decision::Fallback(Box::new(modules::ansible_fallback::Fallback {
            controller_vars,
            trusted,
            async_dir: async_dir(r),
            fqcn: task.module.clone(),
            args,
            collections: task.collections.clone(),
            diff: task.diff.unwrap_or(self.shared.opts.diff),
            no_log: self.no_log_of(task),
            interpreter,
            interpreters,
            playbook_dir: self.shared.playbook.dir.clone(),
            at: task.origin.to_string(),
            async_job,
        }))
    }

    /// Builds the module's payload with ansible-core on the controller and
    /// runs it with the host's Python: one remote command, in check mode too
    /// (the module is told, and says what it would do).
    async fn run_fallback(
        &mut self,
        fb: &modules::ansible_fallback::Fallback,
        become_: &Option<String>,
        check: bool,
    ) -> Result<ItemOutcome, Stop> {
        use modules::ansible_fallback::answer;
        if fb.controller_vars.is_some() && fb.async_job.is_some() {
            // As ansible-core's action plugins without `_supports_async`.
            return Ok(ItemOutcome::failed(format!(
                "{}: This action ({}) does not support async.",
                fb.at, fb.fqcn
            )));
        }
        if fb.controller_vars.is_some() {
            let ran = self.action_plugin_on_controller(fb, check, become_).await;
            let stdout = match ran {
                Ok(out) => out,
                Err(e) => {
                    return Ok(ItemOutcome::failed(format!(
                        "{}: ansible-core could not run the action plugin `{}`: {e}",
                        fb.at, fb.fqcn
                    )))
                }
            };
            return Ok(fallback_outcome(answer(fb, 0, &stdout, "", check)));
        }
        let built = {
            let fb = fb.clone();
            tokio::task::spawn_blocking(move || fb.payload(check)).await
        };
        let payload = match built {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                return Ok(ItemOutcome::failed(format!(
                    "{}: ansible-core could not build the module `{}`: {e}",
                    fb.at, fb.fqcn
                )))
            }
            Err(e) => {
                return Ok(ItemOutcome::failed(format!(
                    "{}: building `{}`: {e}",
                    fb.at, fb.fqcn
                )))
            }
        };
        let jid = fb.async_job.map(|_| modules::async_status::new_job_id());
        let script = match (fb.async_job, &jid) {
            (Some(job), Some(jid)) if job.background() => modules::async_status::background_script(
                &fb.script(&payload),
                jid,
                modules::async_status::Job::Module,
                &fb.async_dir,
            ),
            // Waited for, it may run its `async` seconds at most, as
            // ansible-core's wrapper kills it then.
            (Some(job), _) => format!(
                "exec timeout -k 5 {} sh -c {}\n",
                job.seconds,
                rprov_transport::quote(&fb.script(&payload))
            ),
            _ => fb.script(&payload),
        };
        let out = match self
            .remote(Phase::Fallback, &script, Some(payload.stdin()), become_)
            .await
        {
            Ok(o) => o,
            Err(Ok(msg)) => return Ok(ItemOutcome::failed(msg)),
            Err(Err(stop)) => return Err(stop),
        };
        // The module may have changed anything (as a command may).
        self.link_mut().forget_host_state();
        let Some(jid) = jid else {
            let a = answer(
                fb,
                out.status,
                &out.stdout_lossy(),
                &out.stderr_lossy(),
                check,
            );
            return Ok(fallback_outcome(a));
        };
        let background = fb.async_job.is_some_and(|j| j.background());
        let mut o = match background {
            true if out.status != 0 => ItemOutcome::failed(format!(
                "{}: could not start `{}` as a background job: {}",
                fb.at,
                fb.fqcn,
                out.stderr_lossy().trim()
            )),
            true => {
                let mut result = Map::new();
                result.insert("changed".into(), json!(true));
                result.insert("finished".into(), json!(false));
                ItemOutcome::new(Status::Changed, result)
            }
            // Waited for: the job's result, as `async_status` gives it.
            false => {
                let stderr = out.stderr_lossy();
                let mut o =
                    fallback_outcome(answer(fb, out.status, &out.stdout_lossy(), &stderr, check));
                let module = std::mem::take(&mut o.result);
                let file = fb.async_dir.results_file(&jid);
                o.result = modules::async_status::job_result(&jid, &file, module, &stderr);
                return Ok(o);
            }
        };
        o.result.insert("ansible_job_id".into(), json!(jid));
        o.result.insert("started".into(), json!(true));
        o.result.insert(
            "results_file".into(),
            json!(fb.async_dir.results_file(&jid)),
        );
        Ok(o)
    }

    pub(super) async fn run_action(
        &mut self,
        action: Action,
        become_: &Option<String>,
    ) -> Result<ItemOutcome, Stop> {
        let started = (std::time::SystemTime::now(), Instant::now());
        let out = match self
            .remote(
                Phase::Apply,
                &action.script,
                action.stdin.as_deref(),
                become_,
            )
            .await
        {
            Ok(o) => o,
            Err(Ok(msg)) => return Ok(ItemOutcome::failed(msg)),
            Err(Err(stop)) => return Err(stop),
        };
        self.link_mut().invalidate(&action);
        if out.status == 0 {
            self.link_mut().learn_made(&action);
        }
        Ok(self.timed_outcome_of(action, out, started))
    }

    /// [`HostRunner::outcome_of`], with a command's `start`, `end` and
    /// `delta` from when its remote command was sent (`started`).
    pub(super) fn timed_outcome_of(
        &self,
        action: Action,
        out: rprov_transport::Output,
        started: (std::time::SystemTime, Instant),
    ) -> ItemOutcome {
        let command = matches!(action.output, OutputMode::Command { .. });
        let mut o = self.outcome_of(action, out);
        if command {
            modules::command::insert_times(&mut o.result, started.0, started.1.elapsed());
        }
        o
    }

    /// What an action's output means for its task (see [`OutputMode`]).
    pub(super) fn outcome_of(&self, action: Action, out: rprov_transport::Output) -> ItemOutcome {
        let mut result = action.result;
        match action.output {
            OutputMode::Checked if out.status == 0 => ItemOutcome::new(Status::Changed, result),
            OutputMode::Checked => {
                let err = out.stderr_lossy();
                let msg = if err.trim().is_empty() {
                    format!("failed with exit status {}", out.status)
                } else {
                    err.trim().to_string()
                };
                let mut o = ItemOutcome::failed(msg);
                o.result.insert("rc".into(), json!(out.status));
                o
            }
            OutputMode::Parse(parse) => {
                result.extend(parse(out.status, &out.stdout_lossy(), &out.stderr_lossy()));
                if result.get("failed") == Some(&json!(true)) {
                    // A module that fails reports no change, as ansible-core's
                    // `fail_json` (the plan had said it would change).
                    result.insert("changed".into(), json!(false));
                    let msg = result
                        .get("msg")
                        .map(|m| json_text(&self.shared.reporter, m))
                        .unwrap_or_else(|| format!("failed with exit status {}", out.status));
                    return ItemOutcome {
                        status: Status::Failed,
                        result,
                        diffs: Vec::new(),
                        msg: Some(msg),
                        msg_kind: MsgKind::Message,
                        hidden: false,
                    };
                }
                let status = if result.get("changed") == Some(&json!(false)) {
                    Status::Ok
                } else {
                    Status::Changed
                };
                ItemOutcome::new(status, result)
            }
            OutputMode::Command { strip } => {
                let (mut stdout, mut stderr) = (out.stdout_lossy(), out.stderr_lossy());
                // A program that was not found ran nothing: its message is
                // the result's `msg`, not its stderr (as Ansible's ENOENT).
                let not_found = match stderr.strip_prefix(modules::NOT_FOUND_MARK) {
                    Some(m) if out.status == 2 => Some(m.trim_end().to_string()),
                    _ => None,
                };
                if not_found.is_some() {
                    stderr.clear();
                }
                if strip {
                    stdout = strip_newline(stdout);
                    stderr = strip_newline(stderr);
                }
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
                    let timeout = result.get("timeout").and_then(Json::as_u64);
                    // ansible-core's result says only "non-zero return code"
                    // (targets assert it); the line rprov prints adds the
                    // code and stderr.
                    let mut result_msg = None;
                    let msg = if let Some(m) = not_found {
                        m
                    } else if let (124, Some(secs), true) =
                        (out.status, timeout, result.contains_key("ansible_job_id"))
                    {
                        // ansible-core's words for an `async` job past its time.
                        format!("async task did not complete within the requested time - {secs}s")
                    } else if let (124, Some(secs)) = (out.status, timeout) {
                        // ansible-core's result of a task its `timeout` stopped.
                        result.insert(
                            "timedout".into(),
                            json!({"frame": "the command was stopped with TERM, then KILL 5 s later", "period": secs}),
                        );
                        format!("Task failed: Timed out after {secs} second(s).")
                    } else {
                        // rprov's `chdir` that failed says so on stderr,
                        // in ansible-core's words, which are its `msg`.
                        result_msg = Some(
                            match stderr.starts_with(crate::modules::change::CHDIR_FAILED) {
                                true => stderr.as_str(),
                                false => "non-zero return code",
                            },
                        );
                        match stderr.is_empty() {
                            true => format!("non-zero return code {}", out.status),
                            false => format!("non-zero return code {}: {stderr}", out.status),
                        }
                    };
                    result.insert("msg".into(), json!(result_msg.unwrap_or(&msg)));
                    ItemOutcome {
                        status: Status::Failed,
                        result,
                        diffs: Vec::new(),
                        msg: Some(msg),
                        msg_kind: MsgKind::Message,
                        hidden: false,
                    }
                } else {
                    // ansible-core's command module says nothing, as `""`.
                    result.entry("msg").or_insert(json!(""));
                    ItemOutcome::new(Status::Changed, result)
                }
            }
        }
    }

    /// `changed_when` and `failed_when`, evaluated with the task's result
    /// available under its `register` name.
    pub(super) fn apply_conditions(&self, task: &Task, layer: &Vars, o: &mut ItemOutcome) {
        if (task.changed_when.is_none() && task.failed_when.is_none())
            || o.status == Status::Unknown
            || o.status == Status::Skipped
        {
            return;
        }
        // The conditions see the failure as Ansible's do: with `exception`.
        note_exception(o);
        let magic = self.task_magic(task);
        // As Ansible: `changed_when` first, then `failed_when`, which sees the
        // result as `changed_when` left it (both read the registered result).
        let all = |result: &Map<String, Json>, conds: &[String]| -> Result<bool, String> {
            let mut reg = Vars::new();
            if let Some(r) = &task.register {
                reg.insert(r.clone(), Json::Object(result.clone()));
            }
            let r = self
                .resolver(task.role.as_deref(), &[&task.vars, layer, &reg], &magic)
                .with_untrusted(&[&reg], None)
                .with_final_layers(&[&reg]);
            for c in conds {
                match self.eval(&r, c) {
                    Ok(false) => return Ok(false),
                    Ok(true) => {}
                    Err(e) => return Err(format!("{}: in `{c}`: {e}", task.origin)),
                }
            }
            Ok(true)
        };
        if let Some(cw) = &task.changed_when {
            match all(&o.result, cw) {
                Ok(changed) => {
                    o.result.insert("changed".into(), json!(changed));
                    if o.status != Status::Failed {
                        o.status = if changed { Status::Changed } else { Status::Ok };
                        if !changed {
                            o.diffs.clear();
                        }
                    }
                }
                Err(m) => {
                    // As Ansible: the task fails and `failed_when` is not
                    // evaluated.
                    condition_failed(o, "changed_when_result", m);
                    return;
                }
            }
        }
        if let Some(fw) = &task.failed_when {
            match all(&o.result, fw) {
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
                    if let Some(e) = o.result.remove("exception") {
                        o.result
                            .insert("failed_when_suppressed_exception".into(), e);
                    }
                }
                Err(m) => condition_failed(o, "failed_when_result", m),
            }
        }
    }
}

/// A task's message with its place in front (`file:line:col: …`), unless
/// the message already starts there.
/// A task whose plan failed: the line shown says where the task is, the
/// registered `msg` is the module's own words, as Ansible's, and `changed`
/// is false (nothing ran: Ansible's failed module result says so, and roles
/// test it).
fn plan_failed(task: &Task, m: &str) -> ItemOutcome {
    let mut o = ItemOutcome::failed(at_task(task, m));
    let prefix = format!("{}: ", task.origin);
    o.result
        .insert("msg".into(), json!(m.strip_prefix(&prefix).unwrap_or(m)));
    o.result.insert("changed".into(), json!(false));
    o
}

fn at_task(task: &Task, m: &str) -> String {
    // A message that already names a place in the task's file (the task's
    // own, or one of its arguments') keeps it.
    let file = format!("{}:", crate::diag::display_path(&task.origin.path));
    let placed = m
        .strip_prefix(&file)
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if placed {
        m.to_string()
    } else {
        format!("{}: {m}", task.origin)
    }
}

/// A `changed_when`/`failed_when` that could not be evaluated: as Ansible,
/// the task fails with its result kept, and `key` (`failed_when_result`…)
/// says why.
fn condition_failed(o: &mut ItemOutcome, key: &str, m: String) {
    o.status = Status::Failed;
    o.result.insert("failed".into(), json!(true));
    o.result.insert(key.into(), json!(m));
    o.result.insert("msg".into(), json!(m));
    o.msg = Some(m);
    o.msg_kind = MsgKind::Message;
}

/// What Ansible 2.19 registers as a failed result's `exception` when it has
/// no Python traceback to show (rprov never has one).
const NO_TRACEBACK: &str = "(traceback unavailable)";

/// A failed result carries `exception`, as every failed result does in
/// ansible-core 2.19 (roles test `result.exception is defined`).
pub(super) fn note_exception(o: &mut ItemOutcome) {
    if o.status == Status::Failed && !o.result.contains_key("exception") {
        o.result.insert("exception".into(), json!(NO_TRACEBACK));
    }
}

/// The task's `timeout` in seconds, or its failure, in ansible-core's words,
/// when the value is out of the range ansible-core takes.
/// ansible-core's warning for arguments given as one template (its
/// `TaskArgsFinalizer`), first among the result's `warnings`.
fn args_splat_warning(result: &mut Map<String, Json>) {
    const WARNING: &str = "Using a template for task args is unsafe in some situations \
         (see https://docs.ansible.com/ansible/devel/reference_appendices/faq.html#argsplat-unsafe).";
    match result.get_mut("warnings") {
        Some(Json::Array(ws)) => ws.insert(0, json!(WARNING)),
        _ => {
            result.insert("warnings".into(), json!([WARNING]));
        }
    }
}

/// A task's `timeout` that the controller keeps: every module's but a
/// command's, which its host stops itself (coreutils `timeout`, see
/// `modules::command`). A value out of range fails the task when it plans
/// (see [`task_timeout`]).
pub(super) fn watched_timeout(task: &Task) -> Option<u64> {
    let secs = u64::try_from(task.timeout?).ok().filter(|s| *s > 0)?;
    let module = modules::canonical_name(&task.module);
    (!matches!(module, "command" | "shell" | "raw")).then_some(secs)
}

impl HostRunner {
    /// A task item its `timeout` stopped, as ansible-core's `TaskTimeoutError`
    /// says it. What it had running on the host is stopped with its
    /// connection (its session ends), and what rprov knew of the host is
    /// forgotten: the module may have changed some of it.
    pub(super) async fn stop_timed_out(&mut self, secs: u64) -> ItemOutcome {
        self.close_connection().await;
        self.link_mut().forget_host_state();
        timed_out(secs)
    }
}

/// The outcome of a task item its `timeout` stopped, as ansible-core's
/// `TaskTimeoutError` says it (a module that runs on the controller has no
/// remote command to stop: it is this alone).
pub(super) fn timed_out(secs: u64) -> ItemOutcome {
    let msg = format!("Task failed: Timed out after {secs} second(s).");
    let mut o = ItemOutcome::failed(msg.clone());
    o.result.insert("changed".into(), json!(false));
    o.result.insert("msg".into(), json!(msg));
    o.result.insert(
        "timedout".into(),
        json!({"frame": "the task was stopped on the controller", "period": secs}),
    );
    o
}

fn task_timeout(task: &Task) -> Result<Option<u64>, PlanError> {
    let max = crate::playbook::MAX_TIMEOUT;
    match task.timeout {
        Some(t) if !(0..=max).contains(&t) => Err(PlanError::Fail(format!(
            "Timeout {t} is invalid, it must be between 0 and {max}."
        ))),
        t => Ok(t.map(|t| t.unsigned_abs())),
    }
}

/// Writes `bytes` to `path` on the controller (`fetch`'s copy): parents
/// created, a temp file beside it renamed over it, so a reader never sees half
/// a file and two hosts fetching to one `flat` path leave one whole copy. The
/// old file's mode is kept; a new one gets 0644, as ansible-core's `open(…,
/// 'wb')` gives under the usual umask.
fn write_local(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let perms = std::fs::metadata(path)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
    let mut tmp = tempfile::Builder::new()
        .prefix(".rprov-fetch-")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), perms)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Adds ansible-core's `invocation` to what a host module's result will be,
/// for `-vvv`, where ansible-core shows it: `module_args`, the arguments as
/// rendered (ansible-core's also lists every option's default, which
/// rprov's argument lists do not hold). The options ansible-core's module
/// marks `no_log` (`copy`'s `content`), and any whose name says it is a
/// secret, are masked with ansible-core's placeholder.
fn with_invocation(decision: &mut Decision, module: &str, args: &Map<String, Json>) {
    let result = match decision {
        Decision::Ok { result, .. } | Decision::Refresh { result, .. } => result,
        Decision::Change { action, .. }
        | Decision::Run { action, .. }
        | Decision::Read { action } => &mut action.result,
        Decision::WriteLocal(w) => &mut w.result,
        // Ansible's own module says it itself.
        Decision::Fallback(_) => return,
    };
    let secret = |k: &str| {
        (module == "copy" && k == "content")
            || ["password", "passphrase", "secret", "token"]
                .iter()
                .any(|s| k.to_ascii_lowercase().contains(s))
    };
    let module_args: Map<String, Json> = args
        .iter()
        .map(|(k, v)| match secret(k) {
            true => (k.clone(), json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")),
            false => (k.clone(), v.clone()),
        })
        .collect();
    result.insert("invocation".into(), json!({ "module_args": module_args }));
}

/// A fallback module's answer as the task's outcome.
impl HostRunner {
    /// Runs a custom action plugin on the controller (see
    /// [`modules::ansible_fallback::Fallback::run_on_controller`]), the
    /// commands it runs on the host (its modules, the files it sends) going
    /// over this host's connection, under the task's `become`, while it waits.
    async fn action_plugin_on_controller(
        &mut self,
        fb: &modules::ansible_fallback::Fallback,
        check: bool,
        become_: &Option<String>,
    ) -> Result<String, String> {
        type Asked = (
            String,
            Vec<u8>,
            std::sync::mpsc::Sender<Result<(i32, Vec<u8>, Vec<u8>), String>>,
        );
        let (ask, mut asked) = tokio::sync::mpsc::unbounded_channel::<Asked>();
        let fb = fb.clone();
        let mut plugin = tokio::task::spawn_blocking(move || {
            let mut exec = |cmd: &str, stdin: Vec<u8>| {
                let (tx, rx) = std::sync::mpsc::channel();
                ask.send((cmd.to_string(), stdin, tx))
                    .map_err(|_| "rprov stopped running the task".to_string())?;
                rx.recv()
                    .map_err(|_| "rprov stopped running the task".to_string())?
            };
            fb.run_on_controller(check, &mut exec)
        });
        loop {
            tokio::select! {
                done = &mut plugin => return done.map_err(|e| e.to_string())?,
                Some((cmd, stdin, answer)) = asked.recv() => {
                    let out = match self.remote(Phase::Fallback, &cmd, Some(&stdin), become_).await {
                        Ok(o) => Ok((o.status, o.stdout, o.stderr)),
                        Err(Ok(msg)) => Err(msg),
                        Err(Err(_)) => Err("the host could not be reached".to_string()),
                    };
                    let _ = answer.send(out);
                }
            }
        }
    }
}

/// When a task with `until` or `retries` is done trying.
#[derive(Clone, Copy)]
pub(super) enum Until<'a> {
    /// No retries: after the first attempt.
    Once,
    /// `until:` this condition holds.
    Holds(&'a str),
    /// `retries` without `until`, as ansible-core 2.19: once it has not
    /// failed.
    Succeeds,
}

impl Until<'_> {
    /// Whether the task may try more than once (its result then says
    /// `attempts`).
    pub(super) fn retries(self) -> bool {
        !matches!(self, Until::Once)
    }
}

/// What [`HostRunner::until_verdict`] makes of an attempt.
pub(super) enum Tried {
    /// The task's outcome.
    Done(ItemOutcome),
    /// Try again after `delay`.
    Again,
}

fn fallback_outcome(a: modules::ansible_fallback::Answer) -> ItemOutcome {
    use modules::ansible_fallback::Status as Fb;
    let status = match a.status {
        Fb::Ok => Status::Ok,
        Fb::Changed => Status::Changed,
        Fb::Failed => Status::Failed,
        Fb::Skipped => Status::Skipped,
        Fb::Unknown => return ItemOutcome::unknown(a.msg.as_deref().unwrap_or("")),
    };
    ItemOutcome {
        status,
        result: a.result,
        diffs: a.diffs,
        msg: a.msg,
        msg_kind: MsgKind::Message,
        hidden: a.hidden,
    }
}

/// Whether `task`'s `async` job is rprov's to run: one of its own modules
/// (not a command's, whose host runs it as a job, nor a fallback module's).
/// ansible-core would run it in its async wrapper and poll it; rprov waits
/// for it in the task's own remote command and gives the finished job's
/// result, and with `poll: 0` runs it in place too, then leaves the finished
/// job (see `HostRunner::leave_finished_job`).
fn runs_async_itself(task: &Task) -> bool {
    modules::spec(&task.module).is_some_and(|s| !matches!(s.name, "command" | "shell" | "raw"))
}

/// The task's `ansible_async_dir`, else ansible-core's default.
fn async_dir(r: &Resolver) -> modules::async_status::AsyncDir {
    match r.resolve("ansible_async_dir") {
        Some(Ok(Json::String(s))) => modules::async_status::AsyncDir::new(Some(&s)),
        _ => modules::async_status::AsyncDir::default(),
    }
}

/// A task's `async` job that is waited for, as ansible-playbook reports it.
struct WaitedJob {
    /// `poll`: seconds between two `ASYNC POLL` lines.
    every: u64,
    jid: String,
    dir: modules::async_status::AsyncDir,
    host: String,
    task_id: usize,
    name: String,
    handler: bool,
    reporter: Arc<crate::report::Reporter>,
}

impl WaitedJob {
    fn line(&self, text: &str) {
        self.reporter
            .async_line(self.task_id, &self.name, self.handler, text);
    }

    /// `ASYNC OK` or `ASYNC FAILED`: the job ended.
    fn done(&self, failed: bool) {
        let word = if failed { "FAILED" } else { "OK" };
        self.line(&format!("ASYNC {word} on {}: jid={}", self.host, self.jid));
    }
}

/// `attempt`, with an `ASYNC POLL` line every `poll` seconds while it runs
/// when it is a job that is waited for: rprov waits for the job in its
/// task's own remote command, and says what ansible-core's polls would.
async fn polled<T>(attempt: impl std::future::Future<Output = T>, job: Option<&WaitedJob>) -> T {
    let Some(job) = job else {
        return attempt.await;
    };
    tokio::pin!(attempt);
    let every = Duration::from_secs(job.every.max(1));
    loop {
        tokio::select! {
            out = &mut attempt => return out,
            () = tokio::time::sleep(every) => job.line(&format!(
                "ASYNC POLL on {}: jid={} started=True finished=False",
                job.host, job.jid
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_shows_the_arguments_and_masks_secret_ones() {
        let mut d = Decision::Ok {
            result: Map::new(),
            msg: None,
        };
        let args = json!({"name": "web", "url_password": "hunter2", "Token": "t", "content": "c"});
        let Json::Object(args) = args else { return };
        with_invocation(&mut d, "uri", &args);
        let Decision::Ok { result, .. } = d else {
            panic!("not Ok")
        };
        assert_eq!(
            result["invocation"],
            json!({"module_args": {
                "name": "web",
                "url_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                "Token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                "content": "c",
            }})
        );
        let mut d = Decision::Ok {
            result: Map::new(),
            msg: None,
        };
        let Json::Object(args) = json!({"dest": "/d", "content": "SECRET"}) else {
            return;
        };
        with_invocation(&mut d, "copy", &args);
        let Decision::Ok { result, .. } = d else {
            panic!("not Ok")
        };
        assert_eq!(
            result["invocation"]["module_args"]["content"],
            "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        );
    }
}
