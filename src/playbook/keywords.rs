//! Task keywords (`when`, `loop`, `register`, `notify`, `become`…): read and
//! type-checked at load time, and passed down from imports, blocks and roles.

use serde_json::{json, Value as Json};

use super::task::{Inherited, TaskScope};
use super::{AsyncJob, AsyncTemplate, Flag, LoopExtended, Task, Vars};
use crate::diag::{LoadError, Origin};
use crate::yaml::{Document, Node, Value};

/// The keywords of one task, read and type-checked.
#[derive(Clone)]
pub(super) struct Keywords {
    name: Option<String>,
    when: Vec<String>,
    pub(super) loop_items: Option<Json>,
    loop_var: String,
    index_var: Option<String>,
    loop_extended: Option<LoopExtended>,
    loop_label: Option<String>,
    loop_pause: f64,
    loop_break_when: Vec<String>,
    register: Option<String>,
    changed_when: Option<Vec<String>>,
    failed_when: Option<Vec<String>>,
    pub(super) notify: Vec<String>,
    listen: Vec<String>,
    tags: Vec<String>,
    become_: Option<bool>,
    /// `become: "{{ … }}"`: rendered on each host when the task runs.
    become_template: Option<String>,
    become_user: Option<String>,
    /// `remote_user`: the login of the task's connection, when no
    /// `ansible_user` variable names one.
    remote_user: Option<String>,
    /// `become_method`: sudo, or su (see `check_become_method`).
    become_method: Option<String>,
    ignore_errors: Option<bool>,
    /// `ignore_errors: "{{ … }}"`: decided per host when the task ends.
    ignore_errors_template: Option<String>,
    ignore_unreachable: Option<bool>,
    /// `ignore_unreachable: "{{ … }}"`: decided per host when the task starts.
    ignore_unreachable_template: Option<String>,
    no_log: Option<bool>,
    /// `no_log: "{{ … }}"`: rendered on each host when the task starts.
    no_log_template: Option<String>,
    diff: Option<bool>,
    check_mode: Option<bool>,
    /// `check_mode: "{{ … }}"`: rendered on each host when the task starts.
    check_mode_template: Option<String>,
    pub(super) vars: Vars,
    environment: Option<Json>,
    any_errors_fatal: Option<bool>,
    throttle: Option<usize>,
    /// `throttle: "{{ … }}"`: rendered on each host when the task starts.
    throttle_template: Option<String>,
    timeout: Option<(i64, Origin)>,
    async_job: Option<(i64, Origin)>,
    poll: Option<(i64, Origin)>,
    /// `async` or `poll` written as a template: both as written, and where
    /// `async` is.
    async_template: Option<(AsyncTemplate, Origin)>,
    until: Option<String>,
    retries: Option<Json>,
    delay: Option<Json>,
    run_once: bool,
    /// `run_once: "{{ … }}"`: rendered on each host when the task starts.
    run_once_template: Option<String>,
    delegate_local: bool,
    delegate_to: Option<String>,
    delegate_facts: Option<bool>,
    /// `delegate_facts: "{{ … }}"`: rendered on each host when the task's
    /// facts come in.
    delegate_facts_template: Option<String>,
    module_defaults: Vec<ModuleDefaults>,
    /// A boolean keyword whose value is no boolean (`diff: yes.`): the
    /// task fails when it runs, in ansible-core's words (see `run_time_bool`).
    invalid: Option<String>,
}

/// One `module_defaults` entry: the module as written, and its arguments.
pub type ModuleDefaults = (String, serde_json::Map<String, serde_json::Value>);

/// `module_defaults` of a play, block or task: a mapping of modules to their
/// default arguments, or a list of such mappings (merged in order); a key
/// `group/NAME` is an action group (see `action_groups`).
pub fn module_defaults(doc: &Document, node: &Node) -> Result<Vec<ModuleDefaults>, LoadError> {
    let Some(n) = node.get("module_defaults") else {
        return Ok(Vec::new());
    };
    let maps: Vec<&Node> = match &n.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        _ => vec![n],
    };
    let mut out = Vec::new();
    for m in maps {
        let Some(entries) = m.as_map() else {
            return Err(LoadError::new(
                doc.origin(m),
                "`module_defaults` maps modules to their default arguments",
            ));
        };
        for (k, v) in entries {
            let module = k.key_string();
            let Some(args) = json_map(v) else {
                return Err(LoadError::new(
                    doc.origin(v),
                    format!("the default arguments of `{module}` must be a mapping"),
                ));
            };
            out.push((module, args.into_iter().collect()));
        }
    }
    Ok(out)
}

/// A keyword that must be a literal whole number (`throttle`, `timeout`),
/// and where it was written. rprov reads such keywords when the playbook
/// loads, so a template is an error. With `negative`, a value below 0 is
/// kept: a `timeout` out of ansible-core's range (0 to [`MAX_TIMEOUT`])
/// fails its task when it runs, with ansible-core's message.
fn whole_number(
    doc: &Document,
    node: &Node,
    key: &str,
    negative: bool,
) -> Result<Option<(i64, Origin)>, LoadError> {
    let Some(n) = node.get(key) else {
        return Ok(None);
    };
    let v = match &n.value {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match v {
        Some(v) if negative || v >= 0 => Ok(Some((v, doc.origin(n)))),
        _ => {
            let found = match &n.value {
                Value::Int(i) => i.to_string(),
                Value::Str(s) => format!("`{s}`"),
                _ => n.kind().to_string(),
            };
            let want = if negative { "" } else { " of 0 or more" };
            Err(LoadError::new(
                doc.origin(n),
                format!("`{key}` must be a whole number{want}, found {found}"),
            )
            .with_hint(
                "rprov reads it when the playbook loads: write the number itself, not a template",
            ))
        }
    }
}

/// The largest `timeout` ansible-core takes (BSD's alarm limit).
pub const MAX_TIMEOUT: i64 = 100_000_000;

/// Modules whose ansible-core action plugin does not support `async`
/// (`_supports_async` unset): such a task fails when it runs.
const NO_ASYNC_ACTIONS: &[&str] = &[
    "script",
    "copy",
    "template",
    "assemble",
    "fetch",
    "unarchive",
    "debug",
    "assert",
    "fail",
    "set_fact",
    "set_stats",
    "pause",
    "add_host",
    "group_by",
    "include_vars",
    "reboot",
    "wait_for_connection",
    "validate_argument_spec",
];

/// The names `delegate_to` takes as the controller itself.
pub use rprov_inventory::LOCALHOST;

impl Keywords {
    pub(super) fn read(doc: &Document, node: &Node) -> Result<Self, LoadError> {
        let str_of = |key: &str| -> Result<Option<String>, LoadError> {
            match node.get(key) {
                None => Ok(None),
                Some(n) => scalar_string(n).map(Some).ok_or_else(|| {
                    LoadError::new(
                        doc.origin(n),
                        format!("`{key}` must be a string, found {}", n.kind()),
                    )
                }),
            }
        };
        let bool_of = |key: &str| yes_no(doc, node, key);
        let mut invalid = None;
        let mut run_bool = |key: &str| run_time_bool(doc, node, key, &mut invalid);
        let list_of = |key: &str| -> Result<Vec<String>, LoadError> {
            match node.get(key) {
                None => Ok(Vec::new()),
                Some(n) => string_list(n).ok_or_else(|| {
                    LoadError::new(
                        doc.origin(n),
                        format!(
                            "`{key}` must be a string or a list of strings, found {}",
                            n.kind()
                        ),
                    )
                }),
            }
        };
        let cond_of = |key: &str| -> Result<Option<Vec<String>>, LoadError> {
            node.get(key).map(|n| conditions(doc, n, key)).transpose()
        };

        let mut loop_items = None;
        let loop_keys = node
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, n)| {
                let key = k.key_string();
                (matches!(
                    key.as_str(),
                    "loop" | "with_items" | "with_list" | "with_dict"
                ) || loop_lookup(&key).is_some())
                .then_some((key, n))
            });
        for (key, n) in loop_keys {
            if loop_items.is_some() {
                return Err(LoadError::new(
                    doc.origin(n),
                    "a task can have only one loop",
                ));
            }
            let v = n.to_json();
            loop_items = Some(match key.as_str() {
                "loop" => v,
                "with_items" => json!({"__rprov_flatten": v}),
                "with_dict" => json!({"__rprov_dict2items": v}),
                "with_list" => json!({"__rprov_listify": v}),
                // Run by the template engine's lookup of that name, as
                // `query(name, *terms)`, when the loop runs (so a wrong
                // sequence is a task failure a `rescue` catches, as in
                // Ansible).
                other => json!({"__rprov_lookup": {
                    "name": loop_lookup(other).unwrap_or_default(),
                    "terms": v,
                }}),
            });
        }
        let (mut loop_var, mut index_var, mut loop_label) = ("item".to_string(), None, None);
        let mut loop_pause = 0.0;
        let mut loop_break_when = Vec::new();
        let (mut extended, mut allitems) = (false, true);
        if let Some(lc) = node.get("loop_control") {
            let Some(entries) = lc.as_map() else {
                return Err(LoadError::new(
                    doc.origin(lc),
                    "`loop_control` must be a mapping",
                ));
            };
            for (k, v) in entries {
                if k.key_string() == "break_when" {
                    loop_break_when = conditions(doc, v, "break_when")?;
                    continue;
                }
                let val = scalar_string(v);
                match (k.key_string().as_str(), val) {
                    ("loop_var", Some(s)) => loop_var = s,
                    ("index_var", Some(s)) => index_var = Some(s),
                    ("label", Some(s)) => loop_label = Some(s),
                    ("pause", Some(s)) => match s.trim().parse::<f64>() {
                        Ok(p) if p.is_finite() && p >= 0.0 => loop_pause = p,
                        _ => {
                            return Err(LoadError::new(
                                doc.origin(v),
                                format!("`pause` must be a number of seconds, got `{s}`"),
                            )
                            .with_hint("e.g. `pause: 2` or `pause: 0.5`"))
                        }
                    },
                    (key @ ("extended" | "extended_allitems"), Some(s)) => {
                        let Some(on) = crate::truthy::parse_bool(&s) else {
                            return Err(LoadError::new(
                                doc.origin(v),
                                format!("`{key}` must be a boolean, got `{s}`"),
                            ));
                        };
                        if key == "extended" {
                            extended = on;
                        } else {
                            allitems = on;
                        }
                    }
                    (other, _) => {
                        return Err(LoadError::new(
                            doc.origin(k),
                            format!("unknown loop_control option `{other}`"),
                        )
                        .with_hint(
                            "rprov knows loop_var, index_var, label, pause, extended, extended_allitems and break_when",
                        ))
                    }
                }
            }
        }
        let vars = match node.get("vars") {
            None => Vars::new(),
            Some(n) => json_map(n)
                .ok_or_else(|| LoadError::new(doc.origin(n), "`vars` must be a mapping"))?,
        };
        check_become_method(doc, node)?;
        let throttle_template = node.get("throttle").and_then(|n| match &n.value {
            Value::Str(s) if s.contains("{{") => Some(s.clone()),
            _ => None,
        });
        let throttle = match throttle_template {
            Some(_) => None,
            None => whole_number(doc, node, "throttle", false)?
                .map(|(n, _)| usize::try_from(n).unwrap_or(usize::MAX)),
        };
        let timeout = whole_number(doc, node, "timeout", true)?.filter(|(n, _)| *n != 0);
        // `async` or `poll` as a template: the host renders them.
        let written = |key: &str| node.get(key).and_then(scalar_string);
        let async_template = match (
            templated(node, "async"),
            templated(node, "poll"),
            node.get("async"),
        ) {
            (None, None, _) | (_, _, None) => None,
            (_, _, Some(n)) => Some((
                AsyncTemplate {
                    seconds: written("async").unwrap_or_default(),
                    poll: written("poll"),
                },
                doc.origin(n),
            )),
        };
        let templates = async_template.is_some();
        // `async: 0` is a task that waits, as in ansible-core.
        let async_job = match templates {
            true => None,
            false => whole_number(doc, node, "async", false)?.filter(|(n, _)| *n != 0),
        };
        let poll = match templates || templated(node, "poll").is_some() {
            true => None,
            false => whole_number(doc, node, "poll", false)?,
        };
        let run_once_template = node.get("run_once").and_then(|n| match &n.value {
            Value::Str(s) if s.contains("{{") => Some(s.clone()),
            _ => None,
        });
        let run_once = match run_once_template {
            Some(_) => false,
            None => bool_of("run_once")?.unwrap_or(false),
        };
        let (delegate_local, delegate_to) = match node.get("delegate_to") {
            None => (false, None),
            Some(n) => match scalar_string(n) {
                Some(h) if LOCALHOST.contains(&h.as_str()) => (true, None),
                Some(h) if !h.trim().is_empty() => (false, Some(h)),
                _ => {
                    return Err(LoadError::new(
                        doc.origin(n),
                        "`delegate_to` must name a host: `localhost` or one of the inventory",
                    ))
                }
            },
        };
        // `connection: local` on a task (or block) runs it on the controller
        // with the host's variables: what `delegate_to: localhost` does.
        let delegate_local = delegate_local
            || match node.get("connection") {
                None => false,
                Some(n) => match scalar_string(n).as_deref() {
                    Some("local" | "ansible.builtin.local") => true,
                    _ => {
                        return Err(LoadError::new(
                            doc.origin(n),
                            "only `connection: local` is carried out on a task or block",
                        )
                        .with_hint("set `ansible_connection` for the host in the inventory, or `connection:` on the play"))
                    }
                },
            };
        Ok(Keywords {
            // `name:` with nothing after it is a task without a name, as in
            // ansible-core (its `systemd` integration target has one).
            name: match node.get("name") {
                Some(n) if matches!(n.value, Value::Null) => None,
                _ => str_of("name")?,
            },
            when: cond_of("when")?.unwrap_or_default(),
            loop_items,
            loop_var,
            index_var,
            loop_extended: extended.then_some(LoopExtended { allitems }),
            loop_label,
            loop_pause,
            loop_break_when,
            register: register_of(doc, node)?,
            changed_when: cond_of("changed_when")?,
            failed_when: cond_of("failed_when")?,
            notify: list_of("notify")?,
            listen: list_of("listen")?,
            tags: match node.get("tags") {
                None => Vec::new(),
                Some(n) => comma_list(n).ok_or_else(|| {
                    LoadError::new(
                        doc.origin(n),
                        format!(
                            "`tags` must be a string or a list of strings, found {}",
                            n.kind()
                        ),
                    )
                })?,
            },
            become_: match templated(node, "become") {
                Some(_) => None,
                None => run_bool("become")?,
            },
            become_template: templated(node, "become").map(str::to_string),
            become_user: str_of("become_user")?,
            remote_user: str_of("remote_user")?,
            become_method: str_of("become_method")?,
            ignore_errors: match templated(node, "ignore_errors") {
                Some(_) => None,
                None => bool_of("ignore_errors")?,
            },
            ignore_errors_template: templated(node, "ignore_errors").map(str::to_string),
            ignore_unreachable: match templated(node, "ignore_unreachable") {
                Some(_) => None,
                None => bool_of("ignore_unreachable")?,
            },
            ignore_unreachable_template: templated(node, "ignore_unreachable").map(str::to_string),
            no_log: match templated(node, "no_log") {
                Some(_) => None,
                None => run_bool("no_log")?,
            },
            no_log_template: templated(node, "no_log")
                .filter(|s| !is_bare_omit(s))
                .map(str::to_string),
            diff: run_bool("diff")?,
            check_mode: match templated(node, "check_mode") {
                Some(_) => None,
                None => run_bool("check_mode")?,
            },
            check_mode_template: templated(node, "check_mode")
                .filter(|s| !is_bare_omit(s))
                .map(str::to_string),
            vars,
            environment: node.get("environment").map(Node::to_json),
            any_errors_fatal: run_bool("any_errors_fatal")?,
            throttle,
            throttle_template,
            timeout,
            async_job,
            async_template,
            poll,
            until: str_of("until")?,
            retries: node.get("retries").map(Node::to_json),
            delay: node.get("delay").map(Node::to_json),
            run_once,
            run_once_template,
            delegate_local,
            delegate_to,
            delegate_facts: match templated(node, "delegate_facts") {
                Some(_) => None,
                None => bool_of("delegate_facts")?,
            },
            delegate_facts_template: templated(node, "delegate_facts").map(str::to_string),
            module_defaults: module_defaults(doc, node)?,
            invalid,
        })
    }

    /// The default arguments `module_defaults` gives `module` (canonical, or
    /// a fallback module's full name) here, as ansible-core's
    /// `get_action_args_with_defaults` makes them: the mappings of the
    /// play, each block and the task merged entry by entry (an inner one's
    /// entry for a module or group replacing an outer one's whole), then
    /// the defaults of every group the module is in, then the module's own
    /// over them. A group no collection has is an error in ansible-core's
    /// words.
    pub(super) fn defaults_for(
        &self,
        inherited: &Inherited,
        module: &str,
        groups: &super::ActionGroups,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let module = crate::modules::canonical_name(module);
        let mut merged: indexmap::IndexMap<String, &serde_json::Map<String, serde_json::Value>> =
            indexmap::IndexMap::new();
        for (key, args) in inherited
            .module_defaults
            .iter()
            .chain(&self.module_defaults)
        {
            let key = match key.strip_prefix("group/") {
                Some(group) => format!("group/{}", super::ActionGroups::qualified(group)),
                None => crate::modules::canonical_name(key).to_string(),
            };
            merged.insert(key, args);
        }
        let mut out = serde_json::Map::new();
        for (key, args) in &merged {
            if let Some(group) = key.strip_prefix("group/") {
                let members = groups.members(group)?;
                if members
                    .iter()
                    .any(|m| crate::modules::canonical_name(m) == module)
                {
                    out.extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        if let Some(args) = merged.get(module) {
            out.extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(out)
    }

    /// Passes this (import or block) task's keywords down to the tasks inside.
    /// Whether a handler could be notified by this task: it has a name or
    /// listens to a topic.
    pub(super) fn is_notifiable(&self) -> bool {
        self.name.is_some() || !self.listen.is_empty()
    }

    /// Whether the task runs only on a condition: its own `when`, or one
    /// from around it (a block, an import, a role entry).
    pub(super) fn is_conditional(&self, inh: &Inherited) -> bool {
        !self.when.is_empty() || !inh.when.is_empty()
    }

    /// Whether the task, its block or its role says `ignore_errors: true`,
    /// or may say so when its template is rendered on a host.
    pub(super) fn ignores_errors(&self, inh: &Inherited) -> bool {
        match (&self.ignore_errors, &self.ignore_errors_template) {
            (Some(b), _) => *b,
            (None, Some(_)) => true,
            (None, None) => inh.ignore_errors == Some(true) || inh.ignore_errors_template.is_some(),
        }
    }

    /// These keywords for a task that only fails: `async` and `timeout`,
    /// which only commands take, are dropped (see `task::failing_task`).
    pub(super) fn for_failure(mut self) -> Self {
        self.async_job = None;
        self.async_template = None;
        self.poll = None;
        self.timeout = None;
        self
    }

    /// What an `include_tasks` or `include_role` expanded when the playbook
    /// loads passes down to the tasks it brings in: its `vars` only, as
    /// ansible-core's `Task._get_parent_attribute` passes over a dynamic
    /// include to what encloses it. Its `when` is decided once, on the
    /// include itself (the container task the loader makes of it); its tags
    /// select the include (an include gate), not its tasks. `run_once` is
    /// the exception rprov makes: it is kept on the tasks, the nearest it
    /// comes to ansible-core including the file for the first host alone.
    /// (A handler's include is folded as an import: see `load_static`.)
    pub(super) fn fold_into_include(&self, inh: &mut Inherited) {
        let mut gate = inh.tags.clone();
        gate.extend(self.tags.iter().cloned());
        inh.include_gates.push(gate);
        for (k, v) in &self.vars {
            inh.vars.insert(k.clone(), v.clone());
        }
        inh.run_once |= self.run_once;
        if self.run_once_template.is_some() {
            inh.run_once_template = self.run_once_template.clone();
        }
    }

    /// [`Keywords::fold_into`] for an include read in a handlers section:
    /// the named block it becomes is notified and run as a whole, so its
    /// keywords go on its tasks, but for its tags (an include gate).
    pub(super) fn fold_into_handler_include(&self, inh: &mut Inherited) {
        let mut gate = inh.tags.clone();
        gate.extend(self.tags.iter().cloned());
        let tags = std::mem::take(&mut inh.tags);
        self.fold_into(inh);
        inh.tags = tags;
        inh.include_gates.push(gate);
    }

    pub(super) fn fold_into(&self, inh: &mut Inherited) {
        inh.when.extend(self.when.iter().cloned());
        inh.tags.extend(self.tags.iter().cloned());
        if self.become_.is_some() || self.become_template.is_some() {
            inh.become_ = self.become_;
            inh.become_template = self.become_template.clone();
        }
        if self.become_user.is_some() {
            inh.become_user = self.become_user.clone();
        }
        if self.remote_user.is_some() {
            inh.remote_user = self.remote_user.clone();
        }
        if self.become_method.is_some() {
            inh.become_method = self.become_method.clone();
        }
        for (k, v) in &self.vars {
            inh.vars.insert(k.clone(), v.clone());
        }
        if self.ignore_errors.is_some() || self.ignore_errors_template.is_some() {
            inh.ignore_errors = self.ignore_errors;
            inh.ignore_errors_template = self.ignore_errors_template.clone();
        }
        if self.ignore_unreachable.is_some() || self.ignore_unreachable_template.is_some() {
            inh.ignore_unreachable = self.ignore_unreachable;
            inh.ignore_unreachable_template = self.ignore_unreachable_template.clone();
        }
        if self.no_log.is_some() || self.no_log_template.is_some() {
            inh.no_log = self.no_log;
            inh.no_log_template = self.no_log_template.clone();
        }
        if self.check_mode.is_some() || self.check_mode_template.is_some() {
            inh.check_mode = self.check_mode;
            inh.check_mode_template = self.check_mode_template.clone();
        }
        if self.diff.is_some() {
            inh.diff = self.diff;
        }
        inh.run_once |= self.run_once;
        if self.run_once_template.is_some() {
            inh.run_once_template = self.run_once_template.clone();
        }
        if !self.notify.is_empty() {
            inh.notify = self.notify.clone();
        }
        inh.delegate_local |= self.delegate_local;
        if self.delegate_to.is_some() {
            inh.delegate_to = self.delegate_to.clone();
        }
        if self.delegate_facts.is_some() || self.delegate_facts_template.is_some() {
            inh.delegate_facts = self.delegate_facts;
            inh.delegate_facts_template = self.delegate_facts_template.clone();
        }
        inh.environment.extend(self.environment.iter().cloned());
        if self.any_errors_fatal.is_some() {
            inh.any_errors_fatal = self.any_errors_fatal;
        }
        if self.throttle.is_some() || self.throttle_template.is_some() {
            inh.throttle_template = self.throttle_template.clone();
            inh.throttle = self.throttle;
        }
        if self.timeout.is_some() {
            inh.timeout = self.timeout.clone();
        }
        inh.module_defaults
            .extend(self.module_defaults.iter().cloned());
        if self.invalid.is_some() {
            inh.invalid = self.invalid.clone();
        }
    }

    pub(super) fn into_task(
        mut self,
        doc: &Document,
        node: &Node,
        module: &str,
        args: Json,
        scope: &TaskScope,
    ) -> Result<Task, LoadError> {
        let inh = &scope.inherited;
        let mut when = inh.when.clone();
        let mut tags = inh.tags.clone();
        let mut vars = inh.vars.clone();
        let mut environment = inh.environment.clone();
        if module != "block" {
            when.extend(self.when);
            tags.extend(self.tags);
            vars.extend(self.vars);
            environment.extend(self.environment);
        }
        let timeout = self.timeout.or_else(|| inh.timeout.clone());
        // ansible-core's action plugins that do not take `async` fail the
        // task when it runs, in its words.
        let mut invalid = self.invalid.or_else(|| inh.invalid.clone());
        let has_async = self.async_job.is_some() || self.async_template.is_some();
        if has_async && NO_ASYNC_ACTIONS.contains(&module) {
            invalid
                .get_or_insert_with(|| format!("This action ({module}) does not support async."));
            self.async_job = None;
            self.async_template = None;
        }
        // ansible-core polls every 15 s unless `poll` says otherwise.
        let async_job = self.async_job.map(|(seconds, _)| AsyncJob {
            seconds: seconds.unsigned_abs(),
            poll: self.poll.map_or(15, |(p, _)| p.unsigned_abs()),
        });
        Ok(Task {
            name: self.name,
            static_include: None,
            collections: inh.collections.clone(),
            action_template: None,
            role_include: None,
            include_apply: None,
            include_inherited: None,
            gated: false,
            include_gates: inh.include_gates.clone(),
            module: module.to_string(),
            module_written: module.to_string(),
            args,
            origin: doc.origin(node),
            arg_origins: Vec::new(),
            when,
            loop_items: self.loop_items,
            loop_var: self.loop_var,
            index_var: self.index_var,
            loop_extended: self.loop_extended,
            loop_label: self.loop_label,
            loop_pause: self.loop_pause,
            loop_break_when: self.loop_break_when,
            register: self.register,
            changed_when: self.changed_when,
            failed_when: self.failed_when,
            notify: match self.notify.is_empty() {
                true => inh.notify.clone(),
                false => self.notify,
            },
            listen: self.listen,
            tags,
            // A task's own `become` wins, literal or template, over what
            // encloses it.
            become_template: match self.become_.is_some() || self.become_template.is_some() {
                true => self.become_template,
                false => inh.become_template.clone(),
            },
            become_: self.become_.or(inh.become_),
            become_user: self.become_user.or_else(|| inh.become_user.clone()),
            remote_user: self.remote_user.or_else(|| inh.remote_user.clone()),
            become_method: self.become_method.or_else(|| inh.become_method.clone()),
            ignore_errors: match (&self.ignore_errors, &self.ignore_errors_template) {
                (None, None) => inh.ignore_errors.unwrap_or(false),
                (own, _) => own.unwrap_or(false),
            },
            ignore_errors_template: match (&self.ignore_errors, &self.ignore_errors_template) {
                (None, None) => inh.ignore_errors_template.clone(),
                (_, own) => own.clone(),
            },
            ignore_unreachable: match (&self.ignore_unreachable, &self.ignore_unreachable_template)
            {
                (None, None) => inh.ignore_unreachable.unwrap_or(false),
                (own, _) => own.unwrap_or(false),
            },
            ignore_unreachable_template: match (
                &self.ignore_unreachable,
                &self.ignore_unreachable_template,
            ) {
                (None, None) => inh.ignore_unreachable_template.clone(),
                (_, own) => own.clone(),
            },
            // A template hides the task's output until the host renders
            // it (see `Task::no_log_template`).
            no_log: match (&self.no_log, &self.no_log_template) {
                (None, None) => inh.no_log.unwrap_or(false) || inh.no_log_template.is_some(),
                (own, template) => own.unwrap_or(false) || template.is_some(),
            },
            no_log_template: match (&self.no_log, &self.no_log_template) {
                (None, None) => inh.no_log_template.clone(),
                (_, own) => own.clone(),
            },
            diff: self.diff.or(inh.diff),
            check_mode: match (&self.check_mode, &self.check_mode_template) {
                (None, None) => inh.check_mode,
                (own, _) => *own,
            },
            check_mode_template: match (&self.check_mode, &self.check_mode_template) {
                (None, None) => inh.check_mode_template.clone(),
                (_, own) => own.clone(),
            },
            vars,
            environment,
            any_errors_fatal: self
                .any_errors_fatal
                .or(inh.any_errors_fatal)
                .unwrap_or(false),
            throttle: match (&self.throttle, &self.throttle_template) {
                (None, None) => inh.throttle.unwrap_or(0),
                (own, _) => own.unwrap_or(0),
            },
            throttle_template: match (&self.throttle, &self.throttle_template) {
                (None, None) => inh.throttle_template.clone(),
                (_, own) => own.clone(),
            },
            timeout: timeout.map(|(n, _)| n),
            async_job,
            async_template: self.async_template.map(|(t, _)| t),
            args_template: None,
            args_defaults: serde_json::Map::new(),
            until: self.until,
            retries: self.retries,
            delay: self.delay,
            run_once: self.run_once || inh.run_once,
            run_once_template: self
                .run_once_template
                .or_else(|| inh.run_once_template.clone()),
            delegate_local: self.delegate_local || inh.delegate_local,
            delegate_to: self.delegate_to.or_else(|| inh.delegate_to.clone()),
            delegate_facts: match (self.delegate_facts, self.delegate_facts_template) {
                (Some(b), _) => Some(Flag::Literal(b)),
                (None, Some(t)) => Some(Flag::Template(t)),
                (None, None) => match (inh.delegate_facts, &inh.delegate_facts_template) {
                    (Some(b), _) => Some(Flag::Literal(b)),
                    (None, t) => t.clone().map(Flag::Template),
                },
            },
            invalid_keyword: invalid,
            role: scope.role.clone(),
            block: None,
        })
    }
}

/// A scalar as text (`when: x == 1` and `when: true` both give a string).
pub fn scalar_string(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// The `register:` name, refused at load unless it is a variable name, as
/// ansible-core 2.19 refuses it ("Invalid 'register' specified"): `register: 5`
/// or `register: "a b-c"` would otherwise store a result no template can read.
fn register_of(doc: &Document, node: &Node) -> Result<Option<String>, LoadError> {
    let Some(n) = node.get("register") else {
        return Ok(None);
    };
    match scalar_string(n) {
        Some(name) if is_variable_name(&name) => Ok(Some(name)),
        // In ansible-core's words, which scripts grep for.
        Some(name) => {
            let of_type = match &n.value {
                Value::Int(_) => " of type 'int'",
                Value::Float(_) => " of type 'float'",
                Value::Bool(_) => " of type 'bool'",
                _ => "",
            };
            Err(LoadError::new(
                doc.origin(n),
                format!("Invalid 'register' specified: Invalid variable name '{name}'{of_type}."),
            )
            .with_hint(VARIABLE_NAME_HINT))
        }
        None => Err(LoadError::new(
            doc.origin(n),
            format!("`register` must be a variable name, found {}", n.kind()),
        )
        .with_hint(VARIABLE_NAME_HINT)),
    }
}

/// What a variable name may look like, for hints.
pub const VARIABLE_NAME_HINT: &str = "a variable name starts with a letter or `_` and holds only letters, digits and `_` (like `web_result`)";

/// Ansible's `validate_variable_name`: an ASCII identifier that Jinja does not
/// read as a constant or operator (`true`, `None`, `not`…).
pub fn is_variable_name(s: &str) -> bool {
    const JINJA_KEYWORDS: &[&str] = &["true", "false", "none", "True", "False", "None", "not"];
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !JINJA_KEYWORDS.contains(&s)
}

/// The text of keyword `key` when it is a template (`ignore_errors: "{{ …
/// }}"`), which the task renders on each host when it starts.
fn templated<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    match &node.get(key)?.value {
        Value::Str(s) if s.contains("{{") => Some(s.as_str()),
        _ => None,
    }
}

/// A keyword that is a literal yes/no (`check_mode`, `no_log`…) of a task,
/// block or play: a template is refused, as rprov decides these at load.
pub fn yes_no(doc: &Document, node: &Node, key: &str) -> Result<Option<bool>, LoadError> {
    match node.get(key) {
        None => Ok(None),
        Some(n) => match &n.value {
            Value::Bool(b) => Ok(Some(*b)),
            // ansible-core sets a keyword templated to `omit` to its default:
            // unset, so it is inherited.
            Value::Str(s) if is_bare_omit(s) => Ok(None),
            Value::Str(s) if s.contains("{{") => Err(LoadError::new(
                doc.origin(n),
                format!("`{key}` must be a literal yes/no in rprov, not a template"),
            )),
            Value::Str(s) => crate::truthy::parse_bool(s).map(Some).ok_or_else(|| {
                LoadError::new(
                    doc.origin(n),
                    format!("`{key}` must be yes or no, found `{s}`"),
                )
            }),
            _ => Err(LoadError::new(
                doc.origin(n),
                format!("`{key}` must be yes or no, found {}", n.kind()),
            )),
        },
    }
}

/// Whether a keyword's text is the template `{{ omit }}` alone.
pub fn is_bare_omit(s: &str) -> bool {
    s.trim()
        .strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        .is_some_and(|inner| inner.trim() == "omit")
}

/// A boolean task keyword: as [`yes_no`], but a value that is no boolean
/// (`diff: yes.`, `no_log: [1]`) is no load error: ansible-core validates a
/// task's keywords when the task runs (`post_validate`), so the task fails
/// there, in its words, and `ignore_errors` and `rescue` apply. The first
/// such keyword's message goes to `invalid`; the keyword counts as unset.
fn run_time_bool(
    doc: &Document,
    node: &Node,
    key: &str,
    invalid: &mut Option<String>,
) -> Result<Option<bool>, LoadError> {
    let Some(n) = node.get(key) else {
        return Ok(None);
    };
    match (&n.value, yes_no(doc, node, key)) {
        (_, Ok(b)) => Ok(b),
        (Value::Str(s), Err(e)) if s.contains("{{") => Err(e),
        (_, Err(_)) => {
            let shown = match &n.value {
                Value::Str(s) => crate::modules::args::py_repr(s),
                _ => n.to_json().to_string(),
            };
            invalid.get_or_insert_with(|| {
                format!(
                    "{}: The value {shown} could not be converted to 'bool'.",
                    doc.origin(n)
                )
            });
            Ok(None)
        }
    }
}

/// A string or a list of strings, as `when:`, `notify:` and `listen:`
/// accept: a string is one item, whatever commas it holds (Ansible wraps it
/// in a list), so `when: v in ['1.0', '2.0']` stays one expression.
/// The conditions of a `when` (or `changed_when`, …) named `key`: one
/// expression per string, commas and all, or a list of them; a YAML boolean
/// is its Python spelling.
pub fn conditions(doc: &Document, n: &Node, key: &str) -> Result<Vec<String>, LoadError> {
    match &n.value {
        Value::Bool(b) => Ok(vec![if *b { "True" } else { "False" }.to_string()]),
        _ => string_list(n).ok_or_else(|| {
            LoadError::new(
                doc.origin(n),
                format!("`{key}` must be a condition or a list of conditions"),
            )
        }),
    }
}

pub fn string_list(n: &Node) -> Option<Vec<String>> {
    match &n.value {
        Value::Seq(items) => items.iter().map(scalar_string).collect(),
        _ => scalar_string(n).map(|s| vec![s]),
    }
}

/// [`string_list`], where a string without a template is split at commas:
/// `tags: a, b` (Ansible's `_load_tags`) and host patterns (`hosts: web,db`).
pub fn comma_list(n: &Node) -> Option<Vec<String>> {
    match &n.value {
        Value::Str(s) if s.contains(',') && !s.contains("{{") => Some(
            s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        ),
        _ => string_list(n),
    }
}

/// `become_method` (of a play, role entry, block or task) must be sudo, the
/// only way rprov becomes another user, or su, which rprov accepts where no
/// other user is needed (the login is already the one to become) and refuses
/// when a task needs it (see `engine::host::remote`).
pub fn check_become_method(doc: &Document, node: &Node) -> Result<(), LoadError> {
    match node.get("become_method") {
        Some(m) if !m.as_str().is_some_and(is_become_method) => Err(LoadError::new(
            doc.origin(m),
            "only `become_method: sudo` (or `su` where no other user is needed) is supported",
        )
        .with_hint(
            "rprov becomes another user with `sudo -n`; remove `become_method` or set it to sudo",
        )),
        _ => Ok(()),
    }
}

/// The `become_method` values rprov takes (see [`check_become_method`]).
pub fn is_become_method(m: &str) -> bool {
    matches!(
        m.strip_prefix("ansible.builtin.").unwrap_or(m),
        "sudo" | "su"
    )
}

pub fn json_map(n: &Node) -> Option<Vars> {
    match n.to_json() {
        Json::Object(m) => Some(m.into_iter().collect()),
        Json::Null => Some(Vars::new()),
        _ => None,
    }
}

/// The lookup a `with_<name>` keyword loops over, when rprov has it or
/// ansible-core was found to have it (`modules::ansible_jinja::has_lookup`).
pub fn loop_lookup(key: &str) -> Option<&str> {
    key.strip_prefix("with_").filter(|name| {
        rprov_template::lookup::LOOKUPS.contains(name)
            || crate::modules::ansible_jinja::known_lookup(name)
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn lists(yaml: &str) -> (Option<Vec<String>>, Option<Vec<String>>) {
        let doc = crate::yaml::parse_str(yaml, Path::new("t.yml")).unwrap();
        (string_list(&doc.root), comma_list(&doc.root))
    }

    #[test]
    fn only_comma_lists_split_strings() {
        let (one, split) = lists("v in ['1.0', '2.0']");
        assert_eq!(one.unwrap(), ["v in ['1.0', '2.0']"]);
        assert_eq!(split.unwrap(), ["v in ['1.0'", "'2.0']"]);
        let (one, split) = lists("web, db");
        assert_eq!(one.unwrap(), ["web, db"]);
        assert_eq!(split.unwrap(), ["web", "db"]);
        // A YAML list is a list for both, its items kept whole.
        let (one, split) = lists("[\"a, b\", c]");
        assert_eq!(one.unwrap(), ["a, b", "c"]);
        assert_eq!(split.unwrap(), ["a, b", "c"]);
    }

    fn keywords(yaml: &str) -> Result<Keywords, LoadError> {
        let doc = crate::yaml::parse_str(yaml, Path::new("t.yml")).unwrap();
        Keywords::read(&doc, &doc.root)
    }

    #[test]
    fn an_empty_name_is_no_name_and_a_list_is_refused() {
        let kw = keywords("name:\nassert: {that: [true]}\n").unwrap();
        assert_eq!(kw.name, None);
        let kw = keywords("name: check\nassert: {that: [true]}\n").unwrap();
        assert_eq!(kw.name.as_deref(), Some("check"));
        assert!(keywords("name: [a]\nassert: {that: [true]}\n").is_err());
    }
}
