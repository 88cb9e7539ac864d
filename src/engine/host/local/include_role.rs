//! `include_role` loaded when it runs: its arguments rendered for the host
//! and loop item (a templated `name` or `tasks_from`), the role loaded then,
//! and its tasks run in this task's place with this task's loop variables,
//! as ansible-core's strategies run the role of an `IncludedFile`.
//!
//! The literal `include_role` without a loop never comes here: the loader
//! expands it when the playbook loads (`playbook::task`), which needs no
//! work per host.

use super::*;

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let mut args = match mapping_args(h, task, layer) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    // An argument that is `omit` is not given (`tasks_from: "{{ omit }}"`).
    args.retain(|_, v| v.as_str() != Some(rprov_template::OMIT));
    // ansible-core's result of an `include_role` task: what it includes.
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("include_args".into(), Json::Object(args));
    ItemOutcome::new(Status::Ok, result).into()
}

impl HostRunner {
    /// Loads the role an `include_role` outcome names and runs its tasks;
    /// its handlers join this host's, and its variables, when `public`,
    /// are seen by the host's later tasks. A role that cannot be loaded
    /// (not found, a missing `tasks_from`) fails the include on this host,
    /// as in ansible-core, where a `rescue:` may handle it.
    pub(in crate::engine::host) async fn run_include_role(
        &mut self,
        task: &Task,
        layer: &Vars,
        o: ItemOutcome,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        let Some(include) = &task.role_include else {
            return Ok(o);
        };
        let args = match o.result.get("include_args") {
            Some(Json::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let loader = self.play().role_loader.detached();
        let included = match include.load(&loader, &args) {
            Ok(i) => i,
            Err(e) => return Ok(ItemOutcome::failed(e.task_message())),
        };
        self.add_handlers(included.handlers);
        self.vars.public_roles.extend(included.public);
        let ran = self.run_tasks(&included.tasks, Some(layer), rest).await;
        self.spent_includes.push(included.tasks);
        ran?;
        Ok(o)
    }

    /// Adds the handlers of a role included at run time to this host's,
    /// after the play's, as ansible-core appends them to the play's list.
    /// A handler already there (the same role's, included before or
    /// imported when the play loaded) is not added twice: a notification
    /// runs it once.
    fn add_handlers(&mut self, handlers: Vec<Task>) {
        if handlers.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        let play = &shared.playbook.plays[self.pi];
        let mut list: Vec<Task> = self.extra_handlers.as_ref().clone();
        for h in handlers {
            let known = play
                .handlers
                .iter()
                .chain(list.iter())
                .any(|x| x.origin == h.origin);
            if !known {
                list.push(h);
                self.notified.push(false);
            }
        }
        self.extra_handlers = Arc::new(list);
    }
}
