//! Walking task lists: loops, blocks, handlers, meta, and what a task's
//! outcome does next (register, notify, stop).

use std::time::Instant;

use serde_json::{json, Map, Value as Json};

use super::super::vars::unknown_value;
use crate::playbook::{Block, Task, Vars};
use crate::report::{Status, TaskEvent};

use super::*;

impl HostRunner {
    pub(super) fn run_tasks<'a>(
        &'a mut self,
        tasks: &'a [Task],
        extra: Option<&'a Vars>,
        rest: Rest<'a>,
    ) -> BoxFut<'a, Result<(), Stop>> {
        Box::pin(async move {
            for i in 0..tasks.len() {
                match self.run_task(tasks, i, extra, rest).await? {
                    Flow::Next => {}
                    Flow::FlushHandlers => {
                        self.flush_handlers().await?;
                        // The handlers were a step of their own: no host
                        // goes on while one may still fail in them.
                        if !self.in_handlers && self.shared.lockstep.on() {
                            self.lockstep_barrier("after running handlers", true)
                                .await?;
                        }
                    }
                }
            }
            // A batch never outlives its task list: a block's failure is
            // rescued by that block, and the play's handlers see it.
            self.flush_batch().await
        })
    }

    /// Runs notified handlers in definition order (the play's, then those
    /// of roles included at run time), until none is left.
    pub(super) async fn flush_handlers(&mut self) -> Result<(), Stop> {
        let shared = self.shared.clone();
        let handlers = &shared.playbook.plays[self.pi].handlers;
        // Handlers are notified when the changes that notify them ran.
        self.flush_batch().await?;
        // One pass in the handlers' order, as ansible-core's iterator makes
        // it: a handler that a handler notifies runs in this pass when it
        // comes later, else at the next flush (so handlers that notify each
        // other, or themselves, do not run forever).
        let extra = self.extra_handlers.clone();
        for hi in 0..handlers.len() + extra.len() {
            if self.notified.get(hi).copied().unwrap_or(false) {
                self.notified[hi] = false;
                let (list, at) = match hi.checked_sub(handlers.len()) {
                    None => (handlers.as_slice(), hi),
                    Some(e) => (extra.as_slice(), e),
                };
                let was = std::mem::replace(&mut self.in_handlers, true);
                let res = self.run_task(list, at, None, &[]).await;
                self.in_handlers = was;
                res?;
                self.flush_batch().await?;
            }
        }
        Ok(())
    }

    /// Marks the handlers `task` notifies. Returns the names that reached
    /// none where the loader could not check them (a templated name, or a
    /// play that includes roles at run time); it checked the others.
    pub(super) fn notify(&mut self, task: &Task, extra: Option<&Vars>) -> Vec<String> {
        let shared = self.shared.clone();
        let handlers = &shared.playbook.plays[self.pi].handlers;
        let included = self.extra_handlers.clone();
        let all: Vec<&Task> = handlers.iter().chain(included.iter()).collect();
        // A handler named by a template is named only now: the loader could
        // not check the notifications against it.
        let templated_handlers = all.iter().any(|h| {
            h.name
                .as_deref()
                .is_some_and(super::super::vars::is_template)
        });
        let templated = templated_handlers
            || task
                .notify
                .iter()
                .any(|n| super::super::vars::is_template(n));
        let magic = templated.then(|| self.task_magic(task));
        let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
        let r = magic
            .as_ref()
            .map(|m| self.resolver(task.role.as_deref(), &layers, m));
        // A templated notification may name several handlers (a list), and
        // a handler's templated name is rendered before it is compared, as
        // ansible-core renders both.
        let mut names: Vec<(String, bool)> = Vec::new();
        for n in &task.notify {
            match (&r, super::super::vars::is_template(n)) {
                (Some(r), true) => match self.render_json(r, &Json::String(n.clone())) {
                    Ok(Json::Array(items)) => names.extend(items.iter().map(|i| {
                        let s = i.as_str().map_or_else(|| i.to_string(), str::to_string);
                        (s, true)
                    })),
                    Ok(Json::String(s)) => names.push((s, true)),
                    Ok(other) => names.push((other.to_string(), true)),
                    Err(_) => names.push((n.clone(), true)),
                },
                _ => names.push((n.clone(), false)),
            }
        }
        let handler_names: Vec<Option<String>> = all
            .iter()
            .map(|h| match (&r, h.name.as_deref()) {
                // An included role's handler before its include ran here:
                // not a handler of this host yet.
                _ if h.gated && !self.entered(h) => None,
                (Some(r), Some(n)) if super::super::vars::is_template(n) => {
                    match self.render_string(r, n) {
                        Ok(name) => Some(name),
                        Err(e) => {
                            // ansible-core's words; the handler may still
                            // answer to its `listen` topics.
                            if h.listen.is_empty() {
                                self.shared.reporter.warn(&format!(
                                    "Handler '{n}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {e}"
                                ));
                            }
                            None
                        }
                    }
                }
                (_, n) => n.map(str::to_string),
            })
            .collect();
        let mut missing = Vec::new();
        for (name, was_template) in names {
            let open: Vec<bool> = all.iter().map(|h| !h.gated || self.entered(h)).collect();
            let chosen = handlers_for(&all, &handler_names, &open, &name);
            let found = !chosen.is_empty();
            for hi in chosen {
                if let Some(slot) = self.notified.get_mut(hi) {
                    *slot = true;
                }
            }
            // One the loader could name was warned about before the run: it
            // is refused now only when that fails the task.
            let unchecked = was_template || templated_handlers || self.dynamic_roles();
            if !found && (unchecked || self.shared.playbook.error_on_missing_handler) {
                missing.push(name);
            }
        }
        missing
    }

    /// Whether `task` belongs to a role application that `meta: end_role`
    /// ended on this host: that role's own tasks, and those of the roles
    /// its tasks imported. Such a task is passed over without a word, as
    /// ansible-core's iterator moves past the role.
    fn in_ended_role(&self, task: &Task) -> bool {
        // The role's handlers still run when notified, and its implicit end
        // (ansible-core's `end_role` stops at its `role_complete`).
        if self.ended_roles.is_empty() || self.in_handlers || task.is_implicit() {
            return false;
        }
        task.role.as_ref().is_some_and(|r| {
            std::iter::once(&r.own)
                .chain(&r.imported_by)
                .any(|d| self.ended_roles.contains(&(Arc::as_ptr(d) as usize)))
        })
    }

    /// Whether `task` is of a role applied once per host whose earlier
    /// application completed here: passed over without a word, as
    /// ansible-core's iterator passes over a role that `has_run`.
    fn role_done(&self, task: &Task) -> bool {
        !self.in_handlers
            && task
                .role
                .as_ref()
                .and_then(|r| r.once_key.as_ref())
                .is_some_and(|k| self.roles_done.contains(k))
    }

    /// Whether `task`'s role (applied once per host) ran a task here,
    /// reported or waiting in the batch.
    pub(super) fn role_ran(&self, task: &Task) -> bool {
        task.role
            .as_ref()
            .and_then(|r| r.once_key.as_ref())
            .is_some_and(|k| self.roles_ran.contains(k) || self.batch.has_role(k))
    }

    /// Whether a task of `handler`'s role application reached this host.
    fn entered(&self, handler: &Task) -> bool {
        handler
            .role
            .as_ref()
            .is_some_and(|r| self.entered_roles.contains(&(Arc::as_ptr(r) as usize)))
    }

    /// Whether the current play includes roles at run time (see
    /// [`crate::playbook::Play::includes_roles_at_run_time`]).
    fn dynamic_roles(&self) -> bool {
        self.shared.playbook.plays[self.pi].includes_roles_at_run_time()
    }

    pub(super) fn report(
        &mut self,
        task: &Task,
        name: &str,
        item: Option<&str>,
        o: &ItemOutcome,
        started: Instant,
    ) {
        if let Some(r) = &task.role {
            self.entered_roles.insert(Arc::as_ptr(r) as usize);
            if let Some(key) = &r.once_key {
                // As ansible-core's `role_ran`: ok or failed, not skipped
                // nor unreachable, and not another host's `run_once`.
                let reached = o.result.get("unreachable") != Some(&json!(true));
                if !self.following_run_once
                    && reached
                    && matches!(o.status, Status::Ok | Status::Changed | Status::Failed)
                {
                    self.roles_ran.insert(key.clone());
                }
            }
        }
        let cause = self.take_failure_cause(o);
        let result = Json::Object(o.result.clone());
        // Only an unreachable host that `ignore_unreachable` kept in the
        // play has a task result (see `Self::unreachable_ignored`).
        let unreachable = o.result.get("unreachable") == Some(&json!(true));
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
            msg_kind: o.msg_kind,
            result: Some(&result),
            no_log: self.no_log_of(task) || o.hidden,
            // An item that could not reach the host is shown failed; the
            // loop's own line says whether that was ignored.
            ignored: o.status == Status::Failed
                && ((unreachable && item.is_none()) || self.ignores_errors(task)),
            unreachable,
            duration: started.elapsed(),
            fallback: crate::modules::is_fallback(&task.module),
            action: &task.module,
            handler: self.in_handlers,
            task_id: task as *const Task as usize,
            ran_elsewhere: self.following_run_once,
            delegated: self.delegate_shown.as_deref(),
            origin: (task.origin.line > 0).then_some(&task.origin),
            cause: &cause,
            quiet: task.module == "assert"
                && task
                    .args
                    .get("quiet")
                    .and_then(crate::truthy::as_bool)
                    .unwrap_or(false),
        };
        self.shared.reporter.task(&ev);
        // What a module asks the user to know (Ansible's `warnings`).
        if !self.no_log_of(task) {
            if let Some(Json::Array(ws)) = o.result.get("warnings") {
                for w in ws.iter().filter_map(Json::as_str) {
                    self.shared
                        .reporter
                        .warn(&format!("[{}] {name}: {w}", self.name));
                }
            }
        }
    }

    pub(super) async fn run_task(
        &mut self,
        tasks: &[Task],
        i: usize,
        extra: Option<&Vars>,
        rest: Rest<'_>,
    ) -> Result<Flow, Stop> {
        let task = &tasks[i];
        if !self.tags_match(task)
            || !self.reached_start(task)
            || self.in_ended_role(task)
            || self.role_done(task)
        {
            return Ok(Flow::Next);
        }
        let address = std::ptr::from_ref(task) as usize;
        let step = match (task.block.is_some() || self.in_handlers, self.resume_after) {
            (true, _) => None,
            // Coming back after `clear_host_errors`: passed over up to the
            // task that made the host unreachable, that one included.
            (false, Some(Some(at))) => {
                self.steps += 1;
                if at == address {
                    self.resume_after = None;
                }
                return Ok(Flow::Next);
            }
            (false, _) => {
                self.steps += 1;
                Some(self.steps)
            }
        };
        let lockstep = task.block.is_none() && !self.in_handlers && self.shared.lockstep.on();
        let result = self.run_one_task(tasks, i, extra, rest).await;
        if let (Err(Stop::Unreachable), Some(step), None) = (&result, step, self.unreachable_at) {
            self.unreachable_at = Some((Some(address), step));
        }
        if !lockstep {
            return result;
        }
        // A play that one failure stops everywhere (engine::lockstep): the
        // task's change is sent now, not batched, and this host waits until
        // every host has finished as many tasks; then a failure on another
        // host marks this one failed here, inside the block it is in, so
        // that block's `rescue:` and `always:` run, as in ansible-core.
        let result = match result {
            Ok(flow) => self.flush_batch().await.map(|()| flow),
            failed => failed,
        };
        let after = format!("after `{}`", self.task_name(task, extra));
        let passed = self.lockstep_barrier(&after, result.is_ok()).await;
        match result {
            Ok(flow) => passed.map(|()| flow),
            failed => failed,
        }
    }

    /// One step of a lock-step play done: waits until every host has done
    /// as many, then (when `look`: this host did not fail the step itself)
    /// stops (`Stop::Aborted`) if another host's failure stopped the play
    /// meanwhile; `after` says where, for the message.
    async fn lockstep_barrier(&mut self, after: &str, look: bool) -> Result<(), Stop> {
        self.tasks_done += 1;
        self.shared
            .lockstep
            .finished(&self.name, self.tasks_done)
            .await;
        match look && self.newly_aborted(after) {
            true => Err(Stop::Aborted),
            false => Ok(()),
        }
    }

    async fn run_one_task(
        &mut self,
        tasks: &[Task],
        i: usize,
        extra: Option<&Vars>,
        rest: Rest<'_>,
    ) -> Result<Flow, Stop> {
        let task = &tasks[i];
        let started = Instant::now();
        // Facts another host's delegated task set for this one are its own
        // from its next task on.
        self.receive_facts();
        let name = self.task_name(task, extra);
        // Interrupted: no new task, handlers included (engine::interrupt).
        let interrupted = self.shared.interrupt.requested().is_some();
        // Handlers still run when forced (`force_handlers`); in lock-step a
        // host looks after each task instead (`run_task`).
        let aborted = !self.in_handlers
            && !self.shared.lockstep.on()
            && self.newly_aborted(&format!("before `{name}`"));
        // A task that cannot wait in a batch sends what waits first, and
        // so does a host that stops here: what was planned before ran. A
        // role's implicit end needs only to know whether the role ran a
        // task, which a waiting task of it says too. A role made public
        // changes only what the next tasks are planned with.
        let known_end = match task.implicit_action() {
            Some("role_public") => true,
            Some(_) => self.role_ran(task),
            None => false,
        };
        if interrupted || aborted || (!self.fusable(task) && !known_end) {
            self.flush_batch().await?;
        }
        if interrupted {
            return Err(Stop::Interrupted);
        }
        // Another host ran `meta: end_play` (or `end_batch`): this host's
        // play ends here too, quietly, as in ansible-core.
        if !self.in_handlers && self.shared.ended(self.pi) {
            self.flush_batch().await?;
            return Err(Stop::Ended);
        }
        if aborted {
            return Err(Stop::Aborted);
        }
        self.shared.reporter.host_progress(&self.name, &name);

        if let Some(block) = &task.block {
            if let Some(shown) = &task.static_include {
                if let Some(flow) = self.open_include(task, &name, shown, extra, started)? {
                    return Ok(flow);
                }
            }
            let rest = push_rest(rest, tasks, i + 1);
            return self
                .run_block(block, extra, &rest)
                .await
                .map(|_| Flow::Next);
        }
        if let Some(action) = &task.action_template {
            // Rendered before `when` is decided, as ansible-core does: a
            // name that does not render fails the task even when false.
            // The module is known now: the task is loaded as written with
            // it (its checks included) and runs in its place.
            let loaded = self
                .render_string(
                    &self.resolver(
                        task.role.as_deref(),
                        &[&task.vars, extra.unwrap_or(&Vars::new())],
                        &self.task_magic(task),
                    ),
                    action.written(),
                )
                .map_err(|e| format!("{}: {}: {e}", task.origin, action.written()))
                .and_then(|module| action.with_module(&module).map_err(|e| e.task_message()));
            return match loaded {
                Ok(loaded) => {
                    let rest = push_rest(rest, tasks, i + 1);
                    self.run_tasks(&loaded, extra, &rest)
                        .await
                        .map(|()| Flow::Next)
                }
                Err(msg) => self.finish_task(task, &name, ItemOutcome::failed(msg), extra, started),
            };
        }
        // A keyword ansible-core refuses when the task runs (`diff: yes.`,
        // `async` on `script`) fails it here, once its `when` holds (a loop
        // is not started).
        if let Some(msg) = &task.invalid_keyword {
            let o = match task.loop_items {
                Some(_) => None,
                None => self.when_outcome(task, extra.unwrap_or(&Vars::new())),
            };
            let o = o.unwrap_or_else(|| {
                let mut o = ItemOutcome::failed(msg.clone());
                o.result.insert("changed".into(), json!(false));
                o
            });
            return self.finish_task(task, &name, o, extra, started);
        }
        if let Some(control) = local::control(&task.module) {
            // A `meta` task's `when` decides as any task's does: a false one
            // skips it (`meta: end_host` guarded by a condition ended the
            // host whatever the condition said).
            if let Some(mut o) = self.when_outcome(task, extra.unwrap_or(&Vars::new())) {
                if o.status == Status::Skipped && task.module == "meta" {
                    local::meta::skipped_as_ansible(self, task, &mut o);
                }
                return self.finish_task(task, &name, o, extra, started);
            }
            return control(self, task, &name, started);
        }
        let throttle = match self.throttle_of(task) {
            Ok(n) => n,
            Err(msg) => {
                let o = ItemOutcome::failed(msg);
                return self.finish_task(task, &name, o, extra, started);
            }
        };
        // Under `linear`, no other throttled task runs meanwhile (see
        // `engine::throttle_gate`); a task that waits for another host does
        // not take the gate.
        let waits_for_others = local::runs_once(task) || self.runs_once_here(task);
        let _gate = if throttle > 0 && self.play().linear && !waits_for_others {
            let gate = self.shared.throttle_gate.clone();
            Some(gate.enter(self.pi, task.origin.to_string()).await)
        } else {
            None
        };
        let _throttled = if throttle > 0 {
            let sem = self.shared.throttle(self.pi, task, throttle);
            Some(sem.acquire_owned().await)
        } else {
            None
        };
        let was_fatal = std::mem::replace(&mut self.task_fatal, task.any_errors_fatal);
        // A templated `ignore_unreachable` on a loop is decided item by item
        // (see `run_task_body`); until then an unreachable host is caught.
        let ignore_unreachable =
            unreachable_per_item(task) || self.ignores_unreachable(task, &Vars::new());
        let was_ignoring = std::mem::replace(&mut self.ignoring_unreachable, ignore_unreachable);
        let delegate = if self.is_delegated() || remote::delegated_per_item(task) {
            None
        } else {
            match self.delegation(task, extra.unwrap_or(&Vars::new())) {
                Ok(d) => d,
                Err(msg) => {
                    self.task_fatal = was_fatal;
                    self.ignoring_unreachable = was_ignoring;
                    return self.finish_task(task, &name, ItemOutcome::failed(msg), extra, started);
                }
            }
        };
        let delegated = delegate.is_some();
        if delegated {
            self.delegate(delegate).await;
        }
        let flow = if local::runs_once(task) || self.runs_once_here(task) {
            self.run_task_once(tasks, i, extra, rest, &name, started)
                .await
        } else {
            self.run_task_body(tasks, i, extra, rest, &name, started)
                .await
        };
        if delegated {
            self.delegate(None).await;
        }
        // A loop delegated item by item kept its last item's label.
        self.delegate_shown = None;
        self.task_fatal = was_fatal;
        self.ignoring_unreachable = was_ignoring;
        match flow {
            Err(Stop::Unreachable) => match self.unreachable_msg.take() {
                Some(msg) => self.unreachable_ignored(task, &name, msg, extra, started),
                None => Err(Stop::Unreachable),
            },
            other => other,
        }
    }

    /// The task's host (or the host it was delegated to) could not be
    /// reached, and its `ignore_unreachable` keeps the host in the play, as
    /// ansible-core: the result says `unreachable` (not `failed`), is
    /// registered, and the recap counts it ignored (ansible-core's: ok and
    /// ignored).
    fn unreachable_ignored(
        &mut self,
        task: &Task,
        name: &str,
        msg: String,
        extra: Option<&Vars>,
        started: Instant,
    ) -> Result<Flow, Stop> {
        self.conclude_unreachable_ignored(task, name, unreachable_outcome(msg), extra, started)
    }

    /// [`Self::unreachable_ignored`] for an outcome already made (a loop's,
    /// whose items were all unreachable and ignored).
    fn conclude_unreachable_ignored(
        &mut self,
        task: &Task,
        name: &str,
        mut o: ItemOutcome,
        extra: Option<&Vars>,
        started: Instant,
    ) -> Result<Flow, Stop> {
        self.report(task, name, None, &o, started);
        o.status = Status::Ok;
        let flow = self.conclude(task, o, extra);
        // Counted as an ignored failure is: `ignored`, not `ok` (ansible-core
        // counts both, and `--output ansible` adds the ignored to ok).
        self.stats.ok = self.stats.ok.saturating_sub(1);
        self.stats.ignored += 1;
        flow
    }

    /// `run_once`: the first host here runs the task for all; the others wait
    /// for its outcome and register it as their own.
    async fn run_task_once(
        &mut self,
        tasks: &[Task],
        i: usize,
        extra: Option<&Vars>,
        rest: Rest<'_>,
        name: &str,
        started: Instant,
    ) -> Result<Flow, Stop> {
        let task = &tasks[i];
        let seen = self
            .run_once_seen
            .entry(run_once::Key::new(
                self.pi,
                self.shared.batch(),
                &task.origin,
                0,
            ))
            .or_insert(0);
        let key = run_once::Key::new(self.pi, self.shared.batch(), &task.origin, *seen);
        *seen += 1;
        match self.shared.run_once.claim(key.clone(), &self.name) {
            run_once::Claim::Follower { leader, slot } => {
                let o = match run_once::wait(slot).await {
                    None => ItemOutcome::failed(format!(
                        "{}: run_once: {leader} stopped before it finished this task",
                        task.origin
                    )),
                    Some(p) => {
                        let status = match p.status {
                            Status::Failed | Status::Unknown | Status::Skipped => p.status,
                            Status::Ok | Status::Changed => Status::Ok,
                        };
                        if status == Status::Ok {
                            self.adopt_run_once_vars(task, &p.result);
                        }
                        let mut o = ItemOutcome::new(status, p.result.clone());
                        o.msg = Some(match status {
                            Status::Failed => format!("failed on {} (run_once)", p.host),
                            _ => format!("ran once, on {}", p.host),
                        });
                        o
                    }
                };
                // Another host ran it: this host's role did not run a task.
                self.following_run_once = true;
                let flow = self.finish_task(task, name, o, extra, started);
                self.following_run_once = false;
                flow
            }
            run_once::Claim::Leader(publisher) => {
                self.run_once_leading.push((key.clone(), publisher));
                let flow = self
                    .run_task_body(tasks, i, extra, rest, name, started)
                    .await;
                // `conclude` published the outcome. Still here: the task was
                // an include that ran its tasks (ok), or the host stopped
                // (dropping the publisher tells the others).
                if let Some(pos) = self.run_once_leading.iter().rposition(|(k, _)| *k == key) {
                    let (_, publisher) = self.run_once_leading.remove(pos);
                    if flow.is_ok() {
                        publisher.publish(Status::Ok, &Map::new());
                    }
                }
                flow
            }
        }
    }

    async fn run_task_body(
        &mut self,
        tasks: &[Task],
        i: usize,
        extra: Option<&Vars>,
        rest: Rest<'_>,
        name: &str,
        started: Instant,
    ) -> Result<Flow, Stop> {
        let task = &tasks[i];
        let name = name.to_string();
        if let Err(msg) = self.decide_keywords(task, extra) {
            return self.finish_task(task, &name, ItemOutcome::failed(msg), extra, started);
        }
        let items = match &task.loop_items {
            None => None,
            Some(spec) => {
                self.refusals.take();
                let items = self.loop_items(task, spec, extra);
                let refused = self.refusals.take();
                match items {
                    Ok(v) => {
                        self.shared.reporter.host_loop_items(&self.name, v.len());
                        Some(v)
                    }
                    Err(msg) => {
                        // As Ansible: items that cannot be made are an error
                        // only for a task whose `when` (without an item) holds.
                        let layer = extra.cloned().unwrap_or_default();
                        let skipped = self
                            .when_outcome(task, &layer)
                            .filter(|o| o.status == Status::Skipped);
                        let o = match (skipped, refused) {
                            (Some(o), _) => o,
                            // The items are not known: neither is what the task does.
                            (None, Some(r)) => {
                                ItemOutcome::unknown(&format!("the loop {}", r.describe()))
                            }
                            (None, None) => ItemOutcome::failed(format!("{}: {msg}", task.origin)),
                        };
                        return self.finish_task(task, &name, o, extra, started);
                    }
                }
            }
        };

        let Some(items) = items else {
            let layer = extra.cloned().unwrap_or_default();
            self.staging = self.batchable(task);
            let o = self.run_item(tasks, i, &layer, rest).await;
            let staging = std::mem::take(&mut self.staging);
            let o = match o {
                Ok(o) => match self.defer(staging, task, &name, o, &layer, started).await? {
                    Some(o) => o,
                    None => return Ok(Flow::Next),
                },
                Err(stop) => {
                    self.staged = None;
                    return Err(stop);
                }
            };
            return self
                .finish_task_with_include(tasks, i, &name, o, &layer, started, rest)
                .await;
        };

        // `None`: the item waits in a batch (see `batch`).
        let mut outcomes: Vec<Option<ItemOutcome>> = Vec::new();
        // `break_when` needs each item's result before the next item runs:
        // no item may wait in a batch.
        // Nor may it where each item decides whether an unreachable host is
        // ignored.
        let per_item = unreachable_per_item(task);
        // Delegated to a host each item names (see `delegated_per_item`);
        // not when an enclosing delegation holds already.
        let per_item_delegation = remote::delegated_per_item(task) && !self.is_delegated();
        let batchable = self.batchable(task) && task.loop_break_when.is_empty() && !per_item;
        let mut unreachable = UnreachableItems::default();
        // The items of an include that ran: what each brings in runs after
        // the loop.
        let mut included: Vec<(Vars, ItemOutcome)> = Vec::new();
        self.loop_seq += 1;
        let loop_id = self.loop_seq;

        let loop_var = match self.loop_var(task, extra) {
            Ok(v) => v,
            Err(m) => return self.finish_task(task, &name, ItemOutcome::failed(m), extra, started),
        };
        // As Ansible: within the loop, `register` names the last item's
        // result (a label may show it; the next item may use it).
        let mut last_result: Option<Json> = None;
        for (idx, item) in items.iter().enumerate() {
            if idx > 0 && task.loop_pause > 0.0 {
                tokio::time::sleep(std::time::Duration::from_secs_f64(task.loop_pause)).await;
            }
            let mut layer = extra.cloned().unwrap_or_default();
            if let (Some(reg), Some(last)) = (&task.register, &last_result) {
                layer.insert(reg.clone(), last.clone());
            }
            layer.insert(loop_var.clone(), item.clone());
            layer.insert("ansible_loop_var".into(), json!(loop_var));
            if let Some(iv) = &task.index_var {
                layer.insert(iv.clone(), json!(idx));
                layer.insert("ansible_index_var".into(), json!(iv));
            }
            let extended = task
                .loop_extended
                .map(|ext| loop_info(&items, idx, ext.allitems));
            if let Some(info) = &extended {
                layer.insert("ansible_loop".into(), info.clone());
            }
            let item_started = Instant::now();
            self.staging = batchable;
            let o = match per_item_delegation {
                false => self.run_item(tasks, i, &layer, rest).await,
                true => match self.delegation(task, &layer) {
                    Ok(to) => {
                        self.delegate(to).await;
                        let o = self.run_item(tasks, i, &layer, rest).await;
                        // Its result still says where it ran.
                        let shown = self.delegate_shown.take();
                        self.delegate(None).await;
                        self.delegate_shown = shown;
                        o
                    }
                    Err(msg) => {
                        // An item that names no host to run on ran nowhere.
                        self.delegate_shown = None;
                        Ok(ItemOutcome::failed(msg))
                    }
                },
            };
            self.staging = false;
            let o = match (o, per_item) {
                (Err(Stop::Unreachable), true) => match self.unreachable_msg.take() {
                    Some(msg) => {
                        let ignored = self.ignores_unreachable(task, &layer);
                        unreachable.add(&msg, ignored);
                        Ok(unreachable_outcome(msg))
                    }
                    None => Err(Stop::Unreachable),
                },
                (o, _) => o,
            };
            let mut o = o.inspect_err(|_| self.staged = None)?;
            // An item waits in the batch when it kept a change or changes
            // kept before it wait; else what waits runs before it is reported.
            let staged = self.staged.take();
            let waits = batchable && (staged.is_some() || !self.batch.is_empty());
            if !waits {
                self.flush_batch().await?;
            }
            // As ansible-core: each item's include is reported first, and
            // the files (or roles) are run in turn after the loop.
            if local::includes(task) && o.status == Status::Ok {
                included.push((
                    layer.clone(),
                    ItemOutcome::new(Status::Ok, o.result.clone()),
                ));
            }
            if let Some(reg) = &task.register {
                let this = Json::Object(o.result.clone());
                layer.insert(reg.clone(), this.clone());
                last_result = Some(this);
            }
            self.refusals.take();
            let label = self.item_label(task, &layer, item);
            // A label on a value not known in check mode shows the item.
            let unknown = self.refusals.take().is_some();
            let label = match label {
                Ok(label) => label,
                Err((shown, _)) if unknown || o.status == Status::Unknown => shown,
                Err((shown, e)) => {
                    o.status = Status::Failed;
                    let msg = format!("Failed to template loop_control.label: {e}");
                    o.result.insert("failed".into(), json!(true));
                    o.result.insert("msg".into(), json!(msg));
                    o.msg = Some(msg);
                    shown
                }
            };
            if idx > 0 {
                self.shared.reporter.host_progress(&self.name, &name);
            }
            // What the loop's `results` say of the item besides its result.
            let mut keys = Map::new();
            keys.insert(loop_var.clone(), item.clone());
            keys.insert("ansible_loop_var".into(), json!(loop_var));
            if let Some(iv) = &task.index_var {
                keys.insert(iv.clone(), json!(idx));
                keys.insert("ansible_index_var".into(), json!(iv));
            }
            if let Some(info) = extended {
                keys.insert("ansible_loop".into(), info);
            }
            if waits {
                let item = batch::WaitingItem {
                    loop_id,
                    outcome: o,
                    label,
                    keys,
                    extra: extra.cloned().unwrap_or_default(),
                };
                self.wait_for_item(staged, task, &name, item_started, item);
                outcomes.push(None);
                continue;
            }
            // Shown too: ansible-playbook prints an item's result with them.
            o.result.extend(keys);
            self.report(task, &name, Some(&label), &o, item_started);
            let stop = match self.breaks_loop(task, &layer) {
                Ok(stop) => stop,
                Err(msg) => {
                    o.status = Status::Failed;
                    o.result.insert("failed".into(), json!(true));
                    o.result.insert("msg".into(), json!(msg));
                    o.msg = Some(msg);
                    true
                }
            };
            outcomes.push(Some(o));
            if stop {
                break;
            }
        }
        // Items that waited in a batch have their outcomes when it ran.
        if !self.batch.is_empty() && outcomes.iter().any(Option::is_none) {
            let extra = extra.cloned().unwrap_or_default();
            self.wait_for_loop(task, &name, started, loop_id, outcomes, extra);
            return Ok(Flow::Next);
        }
        let agg = loop_outcome(self.fill_loop(loop_id, outcomes));
        // As ansible-core's TaskExecutor: a loop that could not reach the
        // host on some item is unreachable, and ignored only when each of
        // those items said so.
        if let Some(msg) = unreachable.last_msg {
            if !unreachable.all_ignored {
                self.unreachable(&msg);
                return Err(Stop::Unreachable);
            }
            let mut agg = agg;
            agg.status = Status::Failed;
            agg.result.insert("unreachable".into(), json!(true));
            agg.result.remove("failed");
            agg.result
                .insert("msg".into(), json!("All items completed"));
            agg.msg = Some(msg);
            return self.conclude_unreachable_ignored(task, &name, agg, extra, started);
        }
        // The recap counts a loop task once, by its aggregate status, as
        // Ansible's does (its lines show each item); but for an include,
        // whose every file (or role) included counts, as there.
        let flow = self.conclude(task, agg, extra)?;
        self.stats.ok += (included.len() as u64).saturating_sub(1);
        for (layer, o) in included {
            let o = self
                .run_include(task, &layer, o, &push_rest(rest, tasks, i + 1))
                .await?;
            if o.status == Status::Failed {
                self.report(task, &name, None, &o, started);
                return self.conclude(task, o, extra);
            }
        }
        Ok(flow)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish_task_with_include(
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
        if local::includes(task) && o.status == Status::Ok {
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

    /// The include a container task stands for (see
    /// `Task::static_include`), as ansible-core runs one: its `when` is
    /// decided once, here, and a false one skips it (one result for the
    /// include, none for what it brings in); else it is reported as
    /// included, its tasks to run next. `Some` when they are not to run.
    /// While `--start-at-task` still looks for its task, the include is
    /// walked into without a result, as a block is.
    fn open_include(
        &mut self,
        task: &Task,
        name: &str,
        shown: &str,
        extra: Option<&Vars>,
        started: Instant,
    ) -> Result<Option<Flow>, Stop> {
        if self.start_pending.is_some() {
            return Ok(None);
        }
        let layer = extra.cloned().unwrap_or_default();
        if let Some(o) = self.when_outcome(task, &layer) {
            return self.finish_task(task, name, o, extra, started).map(Some);
        }
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("include".into(), json!(shown));
        if let Json::Object(args) = &task.args {
            result.insert("include_args".into(), Json::Object(args.clone()));
        }
        match self.finish_task(
            task,
            name,
            ItemOutcome::new(Status::Ok, result),
            extra,
            started,
        )? {
            Flow::Next => Ok(None),
            other => Ok(Some(other)),
        }
    }

    pub(super) fn finish_task(
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
    pub(super) fn conclude(
        &mut self,
        task: &Task,
        o: ItemOutcome,
        extra: Option<&Vars>,
    ) -> Result<Flow, Stop> {
        let ignored = o.status == Status::Failed && self.ignores_errors(task);
        if ignored && task.loop_items.is_some() && o.result.contains_key("results") {
            self.shared.reporter.loop_failure_ignored();
        }
        // As ansible-core: a `run_once` result counts for the host that ran
        // it, not for the hosts that took it. A failure stops those too,
        // and rprov's recap says so (ansible-core's leaves them out).
        if !self.following_run_once || o.status == Status::Failed {
            self.stats.count(o.status, ignored);
        }
        if ignored && o.result.get("changed") == Some(&json!(true)) {
            self.stats.ignored_changed += 1;
        }
        if o.status == Status::Skipped && task.module == "meta" && !self.following_run_once {
            self.stats.meta_skipped += 1;
        }
        if o.status == Status::Unknown
            || (o.status == Status::Changed && self.effective_check(task))
        {
            self.left_undone += 1;
        }
        if o.status == Status::Failed && !ignored {
            let failed_task = json!({
                "name": task.name.clone().unwrap_or_default(),
                "action": task.module_written,
                "args": task.args,
            });
            self.last_failure = Some((failed_task, Json::Object(o.result.clone())));
        }
        if local::runs_once(task) || task.run_once_template.is_some() {
            let mine = self
                .run_once_leading
                .iter()
                .rposition(|(k, _)| k.is_for(self.pi, &task.origin));
            if let Some(pos) = mine {
                let (_, publisher) = self.run_once_leading.remove(pos);
                publisher.publish(o.status, &o.result);
            }
        }
        if let Some(reg) = &task.register {
            let unknown =
                o.status == Status::Unknown || o.result.get("unknown") == Some(&json!(true));
            let result = Json::Object(o.result);
            self.shared.learn(&self.name, [(reg, &result)]);
            // This host's later tasks must not evaluate against a guess.
            let value = if unknown { unknown_value(reg) } else { result };
            self.vars.set.insert(reg.clone(), value);
            self.vars.trusted_set.remove(reg);
        }
        if o.status == Status::Changed {
            for name in self.notify(task, extra) {
                // ansible-core's words, when the notification is made.
                let msg = format!(
                    "{}: The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list",
                    task.origin
                );
                if !self.shared.playbook.error_on_missing_handler {
                    self.shared.reporter.warn(&format!("[{}] {msg}", self.name));
                    continue;
                }
                // ansible-core stops the run there; here the host fails (a
                // `rescue:` around the task still takes it).
                self.fail_host(&msg);
                return Err(Stop::Failed);
            }
        }
        if o.status == Status::Failed && !ignored {
            self.host_failed(task.any_errors_fatal);
            return Err(Stop::Failed);
        }
        Ok(Flow::Next)
    }

    pub(super) fn run_block<'a>(
        &'a mut self,
        block: &'a Block,
        extra: Option<&'a Vars>,
        rest: Rest<'a>,
    ) -> BoxFut<'a, Result<(), Stop>> {
        Box::pin(async move {
            let rescued = !block.rescue.is_empty();
            self.rescue_depth += usize::from(rescued);
            let mut result = self.run_tasks(&block.block, extra, rest).await;
            self.rescue_depth -= usize::from(rescued);
            if matches!(result, Err(Stop::Aborted)) && rescued {
                // Marked failed by another host's failure (engine::abort):
                // the rescue takes this host back, as in ansible-core, which
                // counts no failure and no rescue for it.
                self.abort_note = None;
                result = self.run_tasks(&block.rescue, extra, rest).await;
            } else if matches!(result, Err(Stop::Failed)) && rescued {
                // A rescued failure does not count against the host.
                self.stats.failed = self.stats.failed.saturating_sub(1);
                self.stats.count(Status::Ok, false);
                self.stats.rescued += 1;
                // As Ansible: what failed becomes the host's (non-persistent)
                // facts, as data, not templates, for the rescue and after.
                if let Some((failed_task, failed_result)) = self.last_failure.take() {
                    self.vars
                        .set
                        .insert("ansible_failed_task".into(), failed_task);
                    self.vars
                        .set
                        .insert("ansible_failed_result".into(), failed_result);
                }
                result = self.run_tasks(&block.rescue, extra, rest).await;
            }
            // A host marked failed runs its `always:` too (ansible-core).
            if !matches!(result, Err(Stop::Unreachable)) && !block.always.is_empty() {
                let always = self.run_tasks(&block.always, extra, rest).await;
                if result.is_ok() {
                    result = always;
                }
            }
            result
        })
    }

    pub(in crate::engine) fn loop_items(
        &self,
        task: &Task,
        spec: &Json,
        extra: Option<&Vars>,
    ) -> Result<Vec<Json>, String> {
        let magic = self.task_magic(task);
        let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
        let r = self.resolver(task.role.as_deref(), &layers, &magic);
        // `with_items` flattens one level; `with_dict` turns a mapping into
        // key/value items; `with_list` takes one value that is not a list as
        // its one item (Ansible's listify of a lookup's terms), where `loop`
        // refuses it.
        let marked = |key: &str| match spec {
            Json::Object(m) if m.len() == 1 => m.get(key),
            _ => None,
        };
        let (flatten, dict, listify, spec) = if let Some(v) = marked("__rprov_flatten") {
            (true, false, false, v)
        } else if let Some(v) = marked("__rprov_dict2items") {
            (false, true, false, v)
        } else if let Some(v) = marked("__rprov_listify") {
            (false, false, true, v)
        } else {
            (false, false, false, spec)
        };
        let max = self.shared.opts.max_loop_items;
        self.loop_made_texts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if let Some(l) = marked("__rprov_lookup") {
            let name = l.get("name").and_then(Json::as_str).unwrap_or_default();
            let terms = l.get("terms").cloned().unwrap_or_default();
            return self.lookup_items(task, &layers, &magic, name, terms, max);
        }
        let v = self.render_json(&r, spec).map_err(|e| e.to_string())?;
        let mut made = std::collections::HashSet::new();
        loop_made_texts(spec, &v, &mut made);
        *self
            .loop_made_texts
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = made;
        let count = match &v {
            Json::Array(a) => a.len(),
            Json::Object(m) if dict => m.len(),
            _ => 0,
        };
        if count > max {
            return Err(too_many_items(count, max));
        }
        if dict {
            let Json::Object(m) = v else {
                // Ansible's words (its `dict` lookup), which roles test for.
                let kind = match &v {
                    Json::Array(_) => "list",
                    Json::String(_) => "str",
                    Json::Number(_) => "number",
                    Json::Bool(_) => "bool",
                    _ => "none",
                };
                return Err(format!(
                    "with_dict: the 'dict' lookup plugin expects a dictionary, got {v} of type {kind}"
                ));
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
            other if listify => Ok(vec![other]),
            other => Err(format!("`loop` needs a list, got {other}")),
        }
    }

    /// The items of a `with_<name>` loop that the template engine's lookup
    /// of that name gives: its terms rendered as variables are (lazily, so a
    /// term may name any variable), a lone term taken as a list of one (as
    /// Ansible's listify), then `query(name, *terms)`.
    fn lookup_items(
        &self,
        task: &Task,
        layers: &[&Vars],
        magic: &Vars,
        name: &str,
        terms: Json,
        max: usize,
    ) -> Result<Vec<Json>, String> {
        // The terms are a variable named after the keyword, so an error in
        // them says "in the value of 'with_nested'".
        let keyword = format!("with_{name}");
        let t = keyword.as_str();
        let layer: Vars = [(keyword.clone(), terms)].into_iter().collect();
        let layers: Vec<&Vars> = layers.iter().copied().chain([&layer]).collect();
        let r = self.resolver(task.role.as_deref(), &layers, magic);
        let expr = format!(
            "{{{{ query('{name}', *({t} if {t} is sequence and {t} is not string and {t} is not mapping else [{t}])) }}}}"
        );
        let rendered = rprov_template::lookup::as_with_loop(name, &task.module_written, || {
            self.render_json(&r, &Json::String(expr))
        });
        let items = match rendered {
            Ok(Json::Array(items)) => items,
            Ok(other) => return Err(format!("with_{name}: the lookup gave {other}, not a list")),
            // The line is the made-up expression's: left out. The lookup's
            // own words name the loop keyword the user wrote.
            Err(e) => {
                let m = e.message;
                let prefix = rprov_template::lookup::failed_prefix(name);
                let m = m.strip_prefix(&prefix).unwrap_or(&m);
                return Err(if m.contains(&keyword) {
                    m.to_string()
                } else {
                    format!("{keyword}: {m}")
                });
            }
        };
        if items.len() > max {
            return Err(too_many_items(items.len(), max));
        }
        Ok(items)
    }

    /// The name each item is given (`loop_control: loop_var`, `item` by
    /// default), rendered when it is a template as Ansible allows.
    fn loop_var(&self, task: &Task, extra: Option<&Vars>) -> Result<String, String> {
        if !super::super::vars::is_template(&task.loop_var) {
            return Ok(task.loop_var.clone());
        }
        let magic = self.task_magic(task);
        let layers: Vec<&Vars> = [&task.vars].into_iter().chain(extra).collect();
        let r = self.resolver(task.role.as_deref(), &layers, &magic);
        self.render_string(&r, &task.loop_var)
            .map_err(|e| format!("{}: in `loop_var: {}`: {e}", task.origin, task.loop_var))
    }

    /// How an item is shown: its `loop_control: label`, else the item. A
    /// label that cannot be rendered is the item's failure, as in Ansible:
    /// `Err` holds the item as shown and the error.
    pub(super) fn item_label(
        &self,
        task: &Task,
        layer: &Vars,
        item: &Json,
    ) -> Result<String, (String, String)> {
        // As ansible-core shows it: Python's `str()` (`True`, `{'a': 1}`),
        // masked as a value first (in that text a secret is escaped).
        let shown = match item {
            Json::String(s) => s.clone(),
            other => crate::modules::args::py_text(&self.shared.reporter.redact_json(other)),
        };
        let Some(label) = &task.loop_label else {
            return Ok(shown);
        };
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        self.render_string(&r, label)
            .map_err(|e| (shown, e.to_string()))
    }

    /// Whether the task's `loop_control: break_when` holds after an item
    /// (`layer`: the item's variables and its registered result), as
    /// ansible-core evaluates it: all of its conditions.
    fn breaks_loop(&self, task: &Task, layer: &Vars) -> Result<bool, String> {
        if task.loop_break_when.is_empty() {
            return Ok(false);
        }
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        for cond in &task.loop_break_when {
            match self.eval(&r, cond) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => {
                    return Err(format!(
                        "{}: loop_control.break_when: {}",
                        task.origin, e.message
                    ))
                }
            }
        }
        Ok(true)
    }

    /// Runs one item of a task (the whole task when it has no loop).
    pub(super) async fn run_item(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        // A fresh log: what this item asks for that is not known makes it
        // unknown, whichever way its evaluation went (see `vars`).
        self.refusals.take();
        self.deprecated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mut o = self.evaluate_item(tasks, i, layer, rest).await?;
        self.take_deprecations(&tasks[i], layer, &mut o);
        // As Ansible's TaskExecutor: a result that ran says whether it
        // changed and whether it failed (a skipped one does not; a loop's
        // aggregate does not).
        if matches!(o.status, Status::Ok | Status::Changed | Status::Failed) {
            if !o.result.contains_key("changed") {
                o.result
                    .insert("changed".into(), json!(o.status == Status::Changed));
            }
            if !o.result.contains_key("failed") {
                o.result
                    .insert("failed".into(), json!(o.status == Status::Failed));
            }
        }
        super::act::note_exception(&mut o);
        Ok(match self.refusals.take() {
            Some(r) if o.status != Status::Unknown => ItemOutcome::unknown(&r.describe()),
            _ => o,
        })
    }

    /// What the item did that ansible-core deprecates, said as ansible-core
    /// says it (`[DEPRECATION WARNING]: …`) and put in its result's
    /// `deprecations`, unless deprecation warnings are off (the
    /// `ansible_deprecation_warnings` variable, else ansible.cfg's
    /// `deprecation_warnings`), as ansible-core then records none.
    fn take_deprecations(&self, task: &Task, layer: &Vars, o: &mut ItemOutcome) {
        let noted = std::mem::take(&mut *self.deprecated.lock().unwrap_or_else(|p| p.into_inner()));
        if noted.is_empty() {
            return;
        }
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        let enabled = match r.resolve("ansible_deprecation_warnings") {
            Some(Ok(v)) => crate::truthy::as_bool(&v).unwrap_or(true),
            _ => self
                .shared
                .opts
                .ansible_settings
                .core
                .get("DEPRECATION_WARNINGS")
                .and_then(|s| crate::truthy::as_bool(&s.value))
                .unwrap_or(true),
        };
        if !enabled {
            return;
        }
        let list: Vec<Json> = noted
            .iter()
            .map(|msg| {
                self.shared.reporter.deprecation(&format!(
                    "{msg} This feature will be removed from ansible-core version 2.23."
                ));
                json!({"msg": msg, "version": "2.23"})
            })
            .collect();
        o.result.insert("deprecations".into(), Json::Array(list));
    }

    async fn evaluate_item(
        &mut self,
        tasks: &[Task],
        i: usize,
        layer: &Vars,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let task = &tasks[i];
        let check = self.effective_check(task);
        if let Some(o) = self.when_outcome(task, layer) {
            return Ok(o);
        }

        if local::find(&task.module).is_some() {
            // `until`/`retries` hold for controller modules too (an
            // `assert` retried until a condition holds).
            let (until, retries, delay) = match self.attempts_of(task, layer) {
                Ok(a) => a,
                Err(m) => return Ok(ItemOutcome::failed(m)),
            };
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut o = match super::act::watched_timeout(task) {
                    None => self.run_local(task, layer).await,
                    Some(secs) => tokio::time::timeout(
                        std::time::Duration::from_secs(secs),
                        self.run_local(task, layer),
                    )
                    .await
                    .unwrap_or_else(|_| super::act::timed_out(secs)),
                };
                if until.retries() {
                    o.result.insert("attempts".into(), json!(attempt));
                }
                match self.until_verdict(task, layer, until, o, attempt, retries) {
                    super::act::Tried::Done(o) => return Ok(o),
                    super::act::Tried::Again => {
                        tokio::time::sleep(std::time::Duration::from_secs_f64(delay)).await;
                    }
                }
            }
        }
        self.run_host_module(tasks, i, layer, check, rest).await
    }

    /// What `task`'s `when` makes of it with the variables `layer`: skipped
    /// at the first condition that is false, failed at one that cannot be
    /// evaluated; `None` when they all hold.
    fn when_outcome(&self, task: &Task, layer: &Vars) -> Option<ItemOutcome> {
        let magic = self.task_magic(task);
        let r = self.resolver(task.role.as_deref(), &[&task.vars, layer], &magic);
        for cond in &task.when {
            match self.eval(&r, cond) {
                Ok(true) => {}
                Ok(false) => {
                    let mut o = ItemOutcome::skipped("Conditional result was False");
                    // `when: false` is a YAML boolean, which ansible-core
                    // reports as one (the loader keeps it as `False`).
                    let shown = match cond.as_str() {
                        "False" => json!(false),
                        _ => json!(cond),
                    };
                    o.result.insert("false_condition".into(), shown);
                    return Some(o);
                }
                Err(e) => {
                    let msg = format!("{}: in `when: {cond}`: {e}", task.origin);
                    // ansible-core's chain for it (without the place of
                    // the `when`, which rprov does not keep).
                    self.note_failure_cause(
                        &msg,
                        vec![
                            ErrorLink::new("Task failed.", Some(task.origin.clone())),
                            ErrorLink::new(
                                format!("Error while evaluating conditional: {}", e.message),
                                None,
                            ),
                        ],
                    );
                    return Some(ItemOutcome::failed(msg));
                }
            }
        }
        None
    }

    /// Whether `task` runs in check mode on this host: its `check_mode`
    /// (a templated one as rendered when it started, see
    /// `HostRunner::decide_keywords`), else the run's `--check`.
    pub(super) fn effective_check(&self, task: &Task) -> bool {
        match (&task.check_mode_template, self.check_now) {
            (Some(_), Some((at, check))) if at == std::ptr::from_ref(task) as usize => check,
            _ => task.check_mode.unwrap_or(self.shared.opts.check),
        }
    }
}

/// Whether `task` decides item by item whether a host it cannot reach stays
/// in the play: a loop with `ignore_unreachable` (templated or not), whose
/// items all run, as ansible-core's, each trying to reach the host anew.
fn unreachable_per_item(task: &Task) -> bool {
    task.loop_items.is_some()
        && (task.ignore_unreachable || task.ignore_unreachable_template.is_some())
}

/// The result of a task (or item) that could not reach its host, as
/// ansible-core registers it.
fn unreachable_outcome(msg: String) -> ItemOutcome {
    let mut result = Map::new();
    result.insert("unreachable".into(), json!(true));
    result.insert("changed".into(), json!(false));
    result.insert("msg".into(), json!(msg));
    let mut o = ItemOutcome::new(Status::Failed, result);
    o.msg = Some(msg);
    o
}

/// The items of one loop that could not reach the host.
struct UnreachableItems {
    /// Why the last of them could not: `None` while every item reached it.
    last_msg: Option<String>,
    /// Whether each of them had `ignore_unreachable`.
    all_ignored: bool,
}

impl Default for UnreachableItems {
    fn default() -> Self {
        UnreachableItems {
            last_msg: None,
            all_ignored: true,
        }
    }
}

impl UnreachableItems {
    fn add(&mut self, msg: &str, ignored: bool) {
        self.last_msg = Some(msg.to_string());
        self.all_ignored &= ignored;
    }
}

/// A loop task's own outcome from its items' (as Ansible's: failed when one
/// failed, changed when one changed, `results` in item order).
pub(super) fn loop_outcome(outcomes: Vec<ItemOutcome>) -> ItemOutcome {
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
    // As ansible-core's: changed when any item's result says so, a failed
    // item's too (a command that ran and failed).
    let changed = status == Status::Changed
        || outcomes
            .iter()
            .any(|o| o.result.get("changed") == Some(&json!(true)));
    let mut result = Map::new();
    result.insert("changed".into(), json!(changed));
    result.insert("skipped".into(), json!(status == Status::Skipped));
    if outcomes.iter().any(|o| o.status == Status::Unknown) {
        // Some items did not run: what the loop registers is not known.
        result.insert("unknown".into(), json!(true));
    }
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
    ItemOutcome::new(status, result)
}

/// `ansible_loop` of item `idx` of `all` (`loop_control: extended`), with
/// the fields Ansible's TaskExecutor sets; `allitems` unless turned off.
fn loop_info(all: &[Json], idx: usize, allitems: bool) -> Json {
    let len = all.len();
    let mut m = Map::new();
    m.insert("index".into(), json!(idx + 1));
    m.insert("index0".into(), json!(idx));
    m.insert("first".into(), json!(idx == 0));
    m.insert("last".into(), json!(idx + 1 == len));
    m.insert("length".into(), json!(len));
    m.insert("revindex".into(), json!(len - idx));
    m.insert("revindex0".into(), json!(len - idx - 1));
    if allitems {
        m.insert("allitems".into(), json!(all));
    }
    if let Some(next) = all.get(idx + 1) {
        m.insert("nextitem".into(), next.clone());
    }
    if let Some(prev) = idx.checked_sub(1).and_then(|p| all.get(p)) {
        m.insert("previtem".into(), prev.clone());
    }
    Json::Object(m)
}

/// The failure of a loop over more items than `--max-loop-items` allows.
fn too_many_items(count: usize, max: usize) -> String {
    format!(
        "the loop has {count} items, more than the limit of {max}; raise it with --max-loop-items N if this is intended"
    )
}

/// The handlers (their indexes) a notification of `name` runs, as
/// ansible-core's `search_handlers_by_notification` picks them: the play's
/// own handlers are searched first, then each role's, the last role loaded
/// first (their blocks in reverse), each in its written order; the first
/// handler so named runs, and every handler listening to `name`, but only
/// the first of those sharing a name. `names` are the handlers' names as
/// rendered.
fn handlers_for(
    handlers: &[&Task],
    names: &[Option<String>],
    open: &[bool],
    name: &str,
) -> Vec<usize> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, h) in handlers.iter().enumerate() {
        let same = groups.last().and_then(|g| g.last()).is_some_and(|&p| {
            match (&handlers[p].role, &h.role) {
                (None, None) => true,
                (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
                _ => false,
            }
        });
        match groups.last_mut() {
            Some(g) if same => g.push(i),
            _ => groups.push(vec![i]),
        }
    }
    let order: Vec<usize> = groups.into_iter().rev().flatten().collect();
    let named = |i: usize| {
        names
            .get(i)
            .and_then(Option::as_deref)
            .is_some_and(|n| handlers[i].named_as(n, name))
    };
    let mut chosen: Vec<usize> = order
        .iter()
        .copied()
        .find(|&i| named(i))
        .into_iter()
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for &i in &order {
        if !open.get(i).copied().unwrap_or(true) || !handlers[i].listens_to(name) {
            continue;
        }
        if let Some(n) = names.get(i).and_then(Option::as_deref) {
            if seen.contains(&n) {
                continue;
            }
            seen.push(n);
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen
}

/// The texts in a loop's rendered items (`rendered`) that a template of the
/// loop as written (`written`) made: ansible-core 2.19 does not trust them
/// as expressions, so an argument splat (`assert: '{{ item }}'`) cannot run
/// one as a condition. A template that only fetches a variable keeps that
/// value, and its trust.
fn loop_made_texts(written: &Json, rendered: &Json, out: &mut std::collections::HashSet<String>) {
    match (written, rendered) {
        (Json::String(w), Json::String(r))
            if super::super::vars::is_template(w)
                && rprov_template::trust::fetched_variable(w).is_none() =>
        {
            out.insert(r.clone());
        }
        (Json::Array(w), Json::Array(r)) if w.len() == r.len() => {
            for (w, r) in w.iter().zip(r) {
                loop_made_texts(w, r, out);
            }
        }
        (Json::Object(w), Json::Object(r)) => {
            for (k, w) in w {
                if let Some(r) = r.get(k) {
                    loop_made_texts(w, r, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod loop_info_tests {
    use super::*;

    #[test]
    fn middle_item_sees_both_neighbours() {
        let all = [json!("a"), json!("b"), json!("c")];
        let m = loop_info(&all, 1, true);
        assert_eq!(m["index"], json!(2));
        assert_eq!(m["index0"], json!(1));
        assert_eq!(m["revindex"], json!(2));
        assert_eq!(m["revindex0"], json!(1));
        assert_eq!(m["previtem"], json!("a"));
        assert_eq!(m["nextitem"], json!("c"));
        assert_eq!(m["first"], json!(false));
        assert_eq!(m["last"], json!(false));
        assert_eq!(m["allitems"], json!(["a", "b", "c"]));
        let last = loop_info(&all, 2, false);
        assert!(last.get("nextitem").is_none() && last.get("allitems").is_none());
        assert_eq!(last["last"], json!(true));
    }
}
