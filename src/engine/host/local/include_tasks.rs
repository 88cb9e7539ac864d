//! `include_tasks`: a task file loaded when its turn comes, its tasks run in
//! this task's place (with this task's loop variables).

use super::*;

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match mapping_args(h, task, layer) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    Local::Include {
        file: args
            .get("_raw_params")
            .or_else(|| args.get("file"))
            .cloned()
            .unwrap_or(Json::Null),
        base_dir: args.get("_base_dir").cloned().unwrap_or(Json::Null),
    }
}

impl HostRunner {
    /// Loads and runs a dynamic `include_tasks` file (or the role of a
    /// dynamic `include_role`).
    pub(in crate::engine::host) async fn run_include(
        &mut self,
        task: &Task,
        layer: &Vars,
        o: ItemOutcome,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        if task.role_include.is_some() {
            return self.run_include_role(task, layer, o, rest).await;
        }
        let tasks = match self.load_include(task, &o.result) {
            Ok(t) => t,
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };
        let ran = self.run_tasks(&tasks, Some(layer), rest).await;
        self.spent_includes.push(tasks);
        ran?;
        Ok(o)
    }

    /// The tasks of an `include_tasks` file, for the lookahead: `None` when
    /// its arguments cannot be rendered yet (a loop, or a variable only a
    /// later task sets) or the file does not load; it is then read when its
    /// turn comes.
    pub(in crate::engine) fn foresee_include(&self, task: &Task) -> Option<Vec<Task>> {
        // A role is loaded when its include runs: what it does is not
        // foreseen.
        if task.loop_items.is_some() || task.role_include.is_some() {
            return None;
        }
        let magic = self.task_magic(task);
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

    /// The folder of the file that includes, which an `include_tasks`
    /// result carries (else the playbook's).
    fn include_base(&self, result: &Map<String, Json>) -> PathBuf {
        result
            .get("_base_dir")
            .and_then(Json::as_str)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.shared.playbook.dir.clone())
    }

    /// The file an `include_tasks` result names, looked for from the
    /// including file's folder, then the playbook's; `Err` says where it
    /// was looked for.
    fn include_path(&self, result: &Map<String, Json>) -> Result<PathBuf, (String, PathBuf)> {
        let file = result
            .get("include")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let base = self.include_base(result);
        let candidates = [base.join(&file), self.shared.playbook.dir.join(&file)];
        match candidates.into_iter().find(|p| p.is_file()) {
            Some(path) => Ok(path),
            None => Err((file, base)),
        }
    }

    /// Names the file an `include_tasks` result includes by its absolute
    /// path, as ansible-playbook's `included:` line does (a file not found
    /// keeps its name; loading it fails next).
    pub(in crate::engine::host) fn name_included_file(&self, result: &mut Map<String, Json>) {
        if let Ok(path) = self.include_path(result) {
            let path = std::path::absolute(&path).unwrap_or(path);
            result.insert("include".into(), json!(path.display().to_string()));
        }
    }

    /// Finds and parses the file an `include_tasks` result names.
    pub(in crate::engine::host) fn load_include(
        &self,
        task: &Task,
        result: &Map<String, Json>,
    ) -> Result<Vec<Task>, String> {
        let base = self.include_base(result);
        let path = match self.include_path(result) {
            Ok(path) => path,
            Err((file, base)) => {
                return Err(format!(
                    "{}: task file `{file}` not found (looked in {})",
                    task.origin,
                    crate::diag::display_path(&base)
                ))
            }
        };
        let mut scope = crate::playbook::TaskScope {
            role: task.role.clone(),
            base_dir: base.clone(),
            playbook_dir: self.shared.playbook.dir.clone(),
            inherited: match &task.include_inherited {
                Some(around) => crate::playbook::Inherited {
                    vars: task.vars.clone(),
                    ..around.as_ref().clone()
                },
                None => crate::playbook::Inherited {
                    tags: task.tags.clone(),
                    become_: task.become_,
                    become_template: task.become_template.clone(),
                    become_user: task.become_user.clone(),
                    vars: task.vars.clone(),
                    environment: task.environment.clone(),
                    any_errors_fatal: Some(task.any_errors_fatal),
                    ..Default::default()
                },
            },
            depth: 0,
            files: Vec::new(),
            roles: None,
            action_groups: self.shared.playbook.action_groups.clone(),
            // A file a handler includes is read as handlers are (a block
            // nested in its block is refused, as ansible-core refuses it).
            in_handlers: self.in_handlers,
            in_handler_block: false,
        };
        if let Some(apply) = &task.include_apply {
            apply.fold_into(&mut scope.inherited);
        }
        crate::playbook::parse_tasks_file(&path, &scope).map_err(|e| e.to_string())
    }
}
