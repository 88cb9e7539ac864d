//! `include_tasks`: a task file loaded when its turn comes, its tasks run in
//! this task's place (with this task's loop variables).

use super::*;

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    if task.args.get("_action").is_some() {
        return templated_action(h, task, layer);
    }
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
        inline: None,
    }
}

/// The task of a templated `action:` (see `playbook::task::templated_action`)
/// with its module's name rendered for this host: only the name is rendered
/// here, the task's arguments and keywords are rendered when it runs.
fn templated_action(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match written_args(h, task, layer, &["_action"]) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    let name = match args.get("_action") {
        Some(Json::String(s)) if !s.trim().is_empty() && !s.contains("{{") => s.trim().to_string(),
        other => {
            return ItemOutcome::failed(format!(
                "{}: the templated `action` names no module: {}",
                task.origin,
                other.cloned().unwrap_or(Json::Null)
            ))
            .into()
        }
    };
    let key = args
        .get("_action_key")
        .and_then(Json::as_str)
        .unwrap_or("action")
        .to_string();
    let action = match args.get("_action_args") {
        Some(Json::String(rest)) if !rest.is_empty() => json!(format!("{name} {rest}")),
        Some(Json::Object(m)) => {
            let mut m = m.clone();
            m.insert("module".into(), json!(name));
            Json::Object(m)
        }
        _ => json!(name),
    };
    let mut inner = match args.get("_task") {
        Some(Json::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    inner.insert(key, action);
    Local::Include {
        file: Json::Null,
        base_dir: args.get("_base_dir").cloned().unwrap_or(Json::Null),
        inline: Some(Json::Array(vec![Json::Object(inner)])),
    }
}

impl HostRunner {
    /// Loads and runs a dynamic `include_tasks` file.
    pub(in crate::engine::host) async fn run_include(
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
    pub(in crate::engine) fn foresee_include(&self, task: &Task) -> Option<Vec<Task>> {
        if task.loop_items.is_some() || task.args.get("_action").is_some() {
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

    /// Finds and parses the file an `include_tasks` result names.
    pub(in crate::engine::host) fn load_include(
        &self,
        task: &Task,
        result: &Map<String, Json>,
    ) -> Result<Vec<Task>, String> {
        if let Some(inline) = result.get("_inline") {
            return self.load_inline(task, inline, result);
        }
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
        crate::playbook::parse_tasks_file(path, &include_scope(self, task, base))
            .map_err(|e| e.to_string())
    }

    /// Parses the tasks an include carries itself (a templated `action:`'s
    /// task), as if they were its file, at the including task's place.
    fn load_inline(
        &self,
        task: &Task,
        inline: &Json,
        result: &Map<String, Json>,
    ) -> Result<Vec<Task>, String> {
        let base = result
            .get("_base_dir")
            .and_then(Json::as_str)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.shared.playbook.dir.clone());
        let text = serde_json::to_string(inline).map_err(|e| e.to_string())?;
        let doc = crate::yaml::parse_str(&text, &task.origin.path).map_err(|e| e.to_string())?;
        crate::playbook::parse_task_list(&doc, &doc.root, &include_scope(self, task, base))
            .map_err(|e| format!("{}: {}", task.origin, e.message))
    }
}

/// Where an include's tasks are parsed: the including task's role, what it
/// passes down, and `base` for the files they name.
fn include_scope(h: &HostRunner, task: &Task, base: PathBuf) -> crate::playbook::TaskScope {
    crate::playbook::TaskScope {
        role: task.role.clone(),
        base_dir: base,
        playbook_dir: h.shared.playbook.dir.clone(),
        inherited: crate::playbook::Inherited {
            tags: task.tags.clone(),
            become_: task.become_,
            become_user: task.become_user.clone(),
            vars: task.vars.clone(),
            environment: task.environment.clone(),
            any_errors_fatal: Some(task.any_errors_fatal),
            ..Default::default()
        },
        depth: 0,
        roles: None,
        in_handlers: false,
    }
}
