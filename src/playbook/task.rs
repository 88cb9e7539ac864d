//! Parsing task lists: module detection, task keywords, free-form arguments,
//! `block`, and static `import_tasks` / `include_tasks`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::keywords::Keywords;
use super::role::{RoleLoader, RoleRequest};
use super::{Block, RoleData, RoleInstance, Task, Vars};
use crate::diag::{did_you_mean, LoadError};
use crate::modules;
use crate::yaml::{self, Document, Node, Value};
use rprov_template::kv::parse_free_form;

/// Keywords a task may carry besides its module. Anything else is the module.
const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "loop_control",
    "register",
    "changed_when",
    "failed_when",
    "notify",
    "listen",
    "tags",
    "become",
    "become_user",
    "become_method",
    "remote_user",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "diff",
    "args",
    "vars",
    "check_mode",
    "environment",
    "until",
    "retries",
    "delay",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "connection",
    "block",
    "rescue",
    "always",
    "collections",
    "debugger",
    "throttle",
    "any_errors_fatal",
    "timeout",
    "async",
    "poll",
    "module_defaults",
];

/// Task keywords of Ansible's that rprov does not carry out: refused with a
/// message of their own rather than taken for a second module.
const UNSUPPORTED_KEYWORDS: &[&str] = &["become_flags", "become_exe"];

/// What surrounding constructs (a role, an import, a block) pass down to the
/// tasks inside them.
#[derive(Clone, Debug, Default)]
pub struct Inherited {
    pub when: Vec<String>,
    pub tags: Vec<String>,
    /// The tags of each `include_tasks`/`include_role` around the task (see
    /// [`Task::include_gates`]).
    pub include_gates: Vec<Vec<String>>,
    pub become_: Option<bool>,
    /// `become: "{{ … }}"` of a block, role entry or import, for its tasks.
    pub become_template: Option<String>,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    /// `remote_user` of a block, a role entry or an import (the play's is
    /// [`crate::playbook::Play::remote_user`]).
    pub remote_user: Option<String>,
    pub vars: Vars,
    pub ignore_errors: Option<bool>,
    /// `ignore_errors: "{{ … }}"` of a block or role entry (see `Task`).
    pub ignore_errors_template: Option<String>,
    /// `ignore_unreachable` of the play, a role entry or a block, or its
    /// template (see `Task`).
    pub ignore_unreachable: Option<bool>,
    pub ignore_unreachable_template: Option<String>,
    pub no_log: Option<bool>,
    pub no_log_template: Option<String>,
    /// `check_mode` and `diff` of the play, a role entry, an import or a
    /// block: each task's own wins.
    pub check_mode: Option<bool>,
    pub check_mode_template: Option<String>,
    pub diff: Option<bool>,
    /// `run_once` and `delegate_to` on a block apply to its tasks.
    pub run_once: bool,
    pub delegate_local: bool,
    pub delegate_to: Option<String>,
    /// `delegate_facts` of a block, for its tasks: literal, or a template.
    pub delegate_facts: Option<bool>,
    pub delegate_facts_template: Option<String>,
    /// `environment:` mappings from the play down, outermost first.
    pub environment: Vec<Json>,
    pub any_errors_fatal: Option<bool>,
    pub throttle: Option<usize>,
    pub throttle_template: Option<String>,
    /// A block's boolean keyword that is no boolean (see `Task`).
    pub invalid: Option<String>,
    /// `run_once: "{{ … }}"` of a block (see `Task`).
    pub run_once_template: Option<String>,
    /// `notify` of a block (or an include's `apply`): its tasks that name
    /// no handler of their own notify these, as ansible-core's inherit it.
    pub notify: Vec<String>,
    /// `timeout` and where it was written (checked against each task's module).
    pub timeout: Option<(i64, crate::diag::Origin)>,
    /// `collections:` of the play (module lookup for the Ansible fallback).
    pub collections: Vec<String>,
    /// `module_defaults` from the play down, outermost first.
    pub module_defaults: Vec<super::keywords::ModuleDefaults>,
}

/// Where a task list lives, for resolving the files it imports.
#[derive(Clone)]
pub struct TaskScope {
    pub role: Option<Arc<RoleInstance>>,
    /// Directory that relative `import_tasks` paths resolve against first.
    pub base_dir: PathBuf,
    pub playbook_dir: PathBuf,
    pub inherited: Inherited,
    pub depth: usize,
    /// The task files being read around this list, outermost first
    /// (canonical paths): a file that includes one of them is a recursion,
    /// which an `include_tasks` leaves for when it runs (as ansible-core
    /// reads every include) and an `import_tasks` refuses.
    pub files: Vec<PathBuf>,
    /// Where `import_role`/`include_role` load their role: the play's loader,
    /// so the role's handlers and defaults join the play's. `None` in a task
    /// file included at run time, after the play was loaded.
    pub roles: Option<RoleLoader>,
    /// The collections' action groups, for `module_defaults: {group/…}`.
    pub action_groups: super::ActionGroups,
    /// Parsing a `handlers:` list: a named `include_tasks` of a static file
    /// stays one handler (its tasks a block under its name), so notifying
    /// that name runs the file, as in Ansible.
    pub in_handlers: bool,
    /// Parsing the tasks of a handler's block: a block among them is
    /// refused, as ansible-core refuses it.
    pub in_handler_block: bool,
}

/// Reads a task file (a YAML list of tasks).
pub fn parse_tasks_file(path: &Path, scope: &TaskScope) -> Result<Vec<Task>, LoadError> {
    if scope.depth > 32 {
        return Err(LoadError::new(
            crate::diag::Origin::file(path),
            "imports nested more than 32 deep",
        )
        .with_hint("an import_tasks probably includes itself"));
    }
    let doc = yaml::load_file(path)?;
    parse_task_list(&doc, &doc.root, scope)
}

/// Parses a YAML list of tasks from `doc`.
pub fn parse_task_list(
    doc: &Document,
    node: &Node,
    scope: &TaskScope,
) -> Result<Vec<Task>, LoadError> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let Some(items) = node.as_seq() else {
        return Err(LoadError::new(
            doc.origin(node),
            format!("expected a list of tasks, found {}", node.kind()),
        )
        .with_hint("each task starts with `- name: ...` at the same indentation"));
    };
    let mut out = Vec::new();
    for item in items {
        parse_task_into(doc, item, scope, &mut out)?;
    }
    Ok(out)
}

fn parse_task_into(
    doc: &Document,
    node: &Node,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    let Some(entries) = node.as_map() else {
        return Err(LoadError::new(
            doc.origin(node),
            format!("expected a task (a mapping), found {}", node.kind()),
        ));
    };
    let mut module: Option<(&Node, &Node)> = None;
    for (k, v) in entries {
        let key = k.key_string();
        if TASK_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        // `with_<lookup>`: a loop over that lookup's items.
        if let Some(lookup) = key.strip_prefix("with_") {
            if super::keywords::loop_lookup(&key).is_some() {
                continue;
            }
            let native = rprov_template::lookup::LOOKUPS.join(", ");
            let hint = match modules::ansible_jinja::has_lookup(lookup, &scope.playbook_dir) {
                Ok(true) => continue,
                Ok(false) => format!(
                    "neither rprov (its lookups: {native}) nor ansible-core on this machine has it; or write the items in `loop:`"
                ),
                Err(why) => format!(
                    "rprov's lookups: {native}; a lookup written in Python (a `lookup_plugins/` folder, a collection's) runs through the Ansible fallback, which is off: {} ({why})",
                    modules::ansible_fallback::ENABLE_HINT
                ),
            };
            return Err(LoadError::new(
                doc.origin(k),
                format!("`{key}` loops over the `{lookup}` lookup, which rprov does not have"),
            )
            .with_hint(hint));
        }
        if UNSUPPORTED_KEYWORDS.contains(&key.as_str()) {
            return Err(LoadError::new(
                doc.origin(k),
                format!("the task keyword `{key}` is not supported by rprov"),
            )
            .with_hint("rprov becomes another user with `sudo -n -H -u USER` (no password, no other flags or program); remove it"));
        }
        if let Some((first, _)) = module {
            return Err(LoadError::new(
                doc.origin(k),
                format!(
                    "this task has two modules or unknown keywords: `{}` and `{key}`",
                    first.key_string()
                ),
            )
            .with_hint(match did_you_mean(&key, TASK_KEYWORDS.iter().copied()) {
                Some(s) => format!("did you mean the keyword `{s}`?"),
                None => "a task runs exactly one module".to_string(),
            }));
        }
        module = Some((k, v));
    }

    let kw = Keywords::read(doc, node)?;

    if let Some(block) = node.get("block") {
        if module.is_some() {
            let (k, _) = module.unwrap_or((node, node));
            return Err(LoadError::new(
                doc.origin(k),
                format!("a block cannot also run the module `{}`", k.key_string()),
            ));
        }
        if scope.in_handler_block {
            // ansible-core's words: a handler's own block is its tasks (an
            // implicit block), one inside it is more than handlers can be.
            return Err(LoadError::new(
                doc.origin(node),
                "Using a block as a handler is not supported.",
            )
            .with_hint("write the block's tasks in the handler's block, or notify a handler that includes a task file"));
        }
        let mut inner_scope = scope.clone();
        inner_scope.in_handler_block = scope.in_handlers;
        kw.fold_into(&mut inner_scope.inherited);
        // The block's `collections:` is where its tasks look up a short
        // module name (Ansible's tasks inherit it from their block).
        if let Some(c) = node
            .get("collections")
            .and_then(super::keywords::comma_list)
        {
            inner_scope.inherited.collections = c;
        }
        let parse = |key: &str| -> Result<Vec<Task>, LoadError> {
            match node.get(key) {
                Some(n) => parse_task_list(doc, n, &inner_scope),
                None => Ok(Vec::new()),
            }
        };
        let block = Block {
            block: parse_task_list(doc, block, &inner_scope)?,
            rescue: parse("rescue")?,
            always: parse("always")?,
        };
        let mut task = kw.into_task(doc, node, "block", Json::Null, scope)?;
        task.block = Some(Arc::new(block));
        out.push(task);
        return Ok(());
    }

    let Some((mkey, mval)) = module else {
        return Err(LoadError::new(doc.origin(node), "this task has no module")
            .with_hint("add a module such as `copy:`, `template:` or `command:`"));
    };
    // `action: copy src=a dest=b` (or a mapping with `module:`) is the old
    // spelling of that module, and `local_action` the same with
    // `delegate_to: localhost`.
    let action_key = mkey.key_string();
    let local_action = action_key == "local_action";
    let (raw_name, local_args) = if local_action || action_key == "action" {
        let (n, rest) = split_action(doc, &action_key, mval)?;
        (n, Some(rest))
    } else {
        (mkey.key_string(), None)
    };
    // `action: "{{ module_var }} msg=hi"`: which module runs is known only
    // when the task runs, as in ansible-core, which renders it with the
    // task's variables then. The task is kept as written and loaded, with
    // its module's checks, at that point (see `ActionTemplate`).
    if local_args.is_some() && rprov_template::is_template(&raw_name) {
        let mut task = kw.into_task(doc, node, &raw_name, Json::Null, scope)?;
        task.delegate_local |= local_action;
        task.module_written = raw_name.clone();
        task.action_template = Some(Arc::new(ActionTemplate {
            doc: Document {
                path: doc.path.clone(),
                root: node.clone(),
            },
            key: action_key,
            written: raw_name,
            scope: TaskScope {
                roles: None,
                ..scope.clone()
            },
        }));
        out.push(task);
        return Ok(());
    }
    let name = modules::canonical_name(&raw_name);
    // ansible-core 2.19 removed `include`: its words, whatever the task's
    // condition (old roles still say `- include: other.yml`).
    if name == "include" {
        return Err(LoadError::new(
            doc.origin(mkey),
            "The 'ansible.builtin.include' action plugin has been removed. Use include_tasks or import_tasks instead.",
        )
        .with_hint("`include_tasks` includes the file when the task runs, `import_tasks` when the playbook loads"));
    }
    if let Some(file) = modules::rejected_by(&raw_name) {
        // ansible-core's words: to it a rejected module does not exist.
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("couldn't resolve module/action '{raw_name}'. This often indicates a misspelling, missing collection, or incorrect module path."),
        )
        .with_hint(format!(
            "`{name}` is in the `module_rejectlist` of {} (plugin_filters_cfg); remove it there to use it",
            file.display()
        )));
    }
    let collections = || {
        node.get("collections")
            .and_then(super::keywords::comma_list)
            .unwrap_or_else(|| scope.inherited.collections.clone())
    };
    // A custom module (`library/`) named like a native one is what Ansible
    // would run for a short or `ansible.legacy.` name, so it runs instead.
    let custom = modules::spec(name)
        .filter(|_| raw_name == name || raw_name.starts_with("ansible.legacy."))
        .and_then(|_| {
            modules::ansible_fallback::custom_module(&raw_name, &collections(), &scope.playbook_dir)
        });
    let native = modules::spec(name).filter(|_| custom.is_none());
    let Some(spec) = native else {
        let collections = collections();
        let found = match custom {
            Some(r) => custom_over_native(doc, mkey, &raw_name, r, scope),
            None => ansible_module(doc, mkey, &raw_name, &collections, scope),
        };
        let fqcn = match found {
            Ok(fqcn) => fqcn,
            // A module rprov cannot run, on a task that runs only on a
            // condition: the other system's task of a role written for
            // several (`yum` when RedHat, `pip` when not Linux). It fails if
            // it runs, with the same message; a host that skips it is fine,
            // as under ansible-playbook.
            Err((e, Deferrable::Yes)) if kw.is_conditional(&scope.inherited) => {
                out.push(failing_task(doc, node, kw, scope, raw_name, e)?);
                return Ok(());
            }
            Err((e, _)) => return Err(e),
        };
        let mut args = match local_args {
            Some(LocalArgs::Text(t)) => parse_free_form(&t, false),
            Some(LocalArgs::Map(m)) => m,
            None => module_args(doc, mkey, mval, false)?,
        };
        // `args:` with no value adds none, as in ansible-core.
        let mut args_template = None;
        match node.get("args").map(Node::to_json) {
            None | Some(Json::Null) => {}
            // The module's own line wins, as for a native module.
            Some(Json::Object(extra)) => {
                for (k, v) in extra {
                    args.entry(k).or_insert(v);
                }
            }
            // One template of the arguments, rendered when the task runs
            // (ansible-core checks a module's arguments only then).
            Some(text) if is_splat(&text) => args_template = text.as_str().map(str::to_string),
            Some(_) => {
                return Err(LoadError::new(
                    doc.origin(node),
                    "`args` must be a mapping, or one `{{ … }}` template of one",
                ));
            }
        }
        // A custom module's `module_defaults` may name it short, as Ansible
        // resolves that key to the same `ansible.legacy.` module. They give
        // what the task does not.
        let defaults_name = fqcn.strip_prefix("ansible.legacy.").unwrap_or(&fqcn);
        let defaults = kw
            .defaults_for(&scope.inherited, defaults_name, &scope.action_groups)
            .map_err(|m| LoadError::new(doc.origin(node), m))?;
        let args_defaults = under_template(&mut args, defaults, args_template.is_some());
        reserved_args(doc, mkey, "", &raw_name, &args)?;
        let mut task = kw.into_task(doc, node, &fqcn, Json::Object(args), scope)?;
        task.delegate_local |= local_action;
        task.collections = collections;
        task.module_written = raw_name;
        task.args_template = args_template;
        task.args_defaults = args_defaults;
        out.push(task);
        return Ok(());
    };

    // Arguments a module refuses fail the playbook when it loads, before any
    // host is touched; on a task that says `ignore_errors: true` they fail
    // the task when it runs instead, as in Ansible, whose modules check
    // their arguments only then: the author expects it may fail and goes on.
    // An `_ansible_…` argument is refused when ansible-core parses the
    // task, whatever `ignore_errors` says.
    let written_args = match &local_args {
        Some(LocalArgs::Text(t)) => parse_free_form(t, spec.free_form),
        Some(LocalArgs::Map(m)) => m.clone(),
        None => match mval.to_json() {
            Json::Object(m) => m,
            Json::String(t) => parse_free_form(&t, spec.free_form),
            _ => Map::new(),
        },
    };
    let extra_args = match node.get("args").map(Node::to_json) {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    };
    reserved_args(doc, mkey, spec.name, &raw_name, &written_args)?;
    reserved_args(doc, mkey, spec.name, &raw_name, &extra_args)?;
    // `package` hands its arguments to the host's package manager, whose
    // own they may be (`enablerepo` for yum): on a task that runs only on a
    // condition (the other system's task of a role written for several),
    // those apt does not take fail the task only if it runs.
    let ignores_errors = kw.ignores_errors(&scope.inherited)
        || (name == "package" && kw.is_conditional(&scope.inherited));
    let kept = ignores_errors.then(|| kw.clone());
    let call = ModuleCall {
        key: mkey,
        value: mval,
        name,
        written: &raw_name,
        local_args,
        local_action,
    };
    match native_task(doc, node, call, spec, kw, scope, out) {
        Err(e)
            if ignores_errors
                && !matches!(
                    name,
                    "import_tasks" | "include_tasks" | "import_role" | "include_role"
                ) =>
        {
            let Some(kw) = kept else { return Err(e) };
            out.push(failing_task(doc, node, kw, scope, raw_name, e)?);
            Ok(())
        }
        done => done,
    }
}

/// A task whose `action` (or `local_action`) names its module with a
/// template: the task as written and where, to be loaded once the name is
/// rendered on a host.
pub struct ActionTemplate {
    doc: Document,
    /// `action` or `local_action`.
    key: String,
    /// The module's name as written (the template).
    written: String,
    scope: TaskScope,
}

impl std::fmt::Debug for ActionTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ActionTemplate({})", self.written)
    }
}

impl ActionTemplate {
    /// The module's name as written.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// The task with its module named `module` (the template rendered),
    /// loaded and checked as the playbook's own tasks are.
    pub fn with_module(&self, module: &str) -> Result<Vec<Task>, LoadError> {
        let origin = self.doc.origin(&self.doc.root);
        if module.trim().is_empty() || rprov_template::is_template(module) {
            return Err(LoadError::new(
                origin,
                format!(
                    "`{}` renders to `{module}`, which is not a module name",
                    self.written
                ),
            ));
        }
        let mut root = self.doc.root.clone();
        if let Value::Map(entries) = &mut root.value {
            for (k, v) in entries.iter_mut() {
                if k.key_string() != self.key {
                    continue;
                }
                match &mut v.value {
                    Value::Str(s) => *s = s.replacen(&self.written, module.trim(), 1),
                    Value::Map(m) => {
                        for (mk, mv) in m.iter_mut() {
                            if mk.key_string() == "module" {
                                mv.value = Value::Str(module.trim().to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let doc = Document {
            path: self.doc.path.clone(),
            root,
        };
        let mut out = Vec::new();
        parse_task_into(&doc, &doc.root, &self.scope, &mut out)?;
        Ok(out)
    }
}

/// A task that fails with `e`'s message if it runs: one whose module or
/// arguments rprov refused, which Ansible would only fail when it runs
/// (see `parse_task`). Its result line names the module as written.
fn failing_task(
    doc: &Document,
    node: &Node,
    kw: Keywords,
    scope: &TaskScope,
    module_written: String,
    e: LoadError,
) -> Result<Task, LoadError> {
    let msg = e.task_message();
    let mut task = kw
        .for_failure()
        .into_task(doc, node, "fail", json!({ "msg": msg }), scope)?;
    task.module_written = module_written;
    Ok(task)
}

/// A task's module as written: its key and value in the task, the module's
/// canonical name and the name as written, and `local_action`'s parts.
struct ModuleCall<'a> {
    key: &'a Node,
    value: &'a Node,
    name: &'a str,
    written: &'a str,
    local_args: Option<LocalArgs>,
    local_action: bool,
}

/// The task of one of rprov's own modules, its arguments checked.
fn native_task(
    doc: &Document,
    node: &Node,
    call: ModuleCall<'_>,
    spec: &modules::ModuleSpec,
    kw: Keywords,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    let ModuleCall {
        key: mkey,
        value: mval,
        name,
        written: raw_name,
        local_args,
        local_action,
    } = call;
    // The text of an include or import is `key=value` words around the file
    // name (`include_tasks: file=x.yml`), as ansible-core's `parse_kv`
    // splits any module's but the command family's.
    let free_form = spec.free_form
        && !matches!(
            name,
            "include_tasks" | "import_tasks" | "include_role" | "import_role"
        );
    // `copy: "{{ copy_args }}"`: the arguments as one template (Ansible's
    // argument splat), rendered and checked when the task runs, for a
    // module that runs on the host and takes no free-form text (a
    // controller module takes the template as `_raw_params`, see
    // `check_args`).
    let on_host_splat = !free_form && !spec.is_local();
    let mut args_template = (on_host_splat && local_args.is_none())
        .then(|| mval.as_str().filter(|t| splat_text(t)).map(str::to_string))
        .flatten();
    let mut args = match local_args {
        _ if args_template.is_some() => Map::new(),
        Some(LocalArgs::Text(t)) => parse_free_form(&t, free_form),
        Some(LocalArgs::Map(m)) => m,
        None => module_args(doc, mkey, mval, free_form)?,
    };
    // `role` is ansible-core's other name for a role include's `name`
    // (`name` wins when both are given).
    if matches!(name, "include_role" | "import_role") {
        if let Some(role) = args.remove("role") {
            args.entry("name".to_string()).or_insert(role);
        }
    }
    if let Some(extra) = node.get("args") {
        match extra.to_json() {
            // `args:` with no value adds none, as in ansible-core.
            Json::Null => {}
            // The module's own line wins over `args:`, as in ansible-core
            // (`ModuleArgsParser`: `args:` first, then the action's).
            Json::Object(extra) => {
                for (k, v) in extra {
                    args.entry(k).or_insert(v);
                }
            }
            // `args: '{{ debug_args }}'`: one template that renders to the
            // arguments, those written on the module winning, for a module
            // that runs on the controller (as the splat of `assert: '{{ item
            // }}'`, see `check_args`).
            text if spec.is_local()
                && !spec.free_form
                && is_splat(&text)
                && !args.contains_key("_raw_params") =>
            {
                args.insert("_raw_params".into(), text);
            }
            // The same for a module that runs on the host, unless its own
            // line is a template already.
            Json::String(text) if on_host_splat && splat_text(&text) => {
                if args_template.is_some() {
                    return Err(LoadError::new(
                        doc.origin(extra),
                        "the module's arguments are one template already: give `args` as a mapping",
                    ));
                }
                args_template = Some(text);
            }
            _ => {
                return Err(LoadError::new(
                    doc.origin(extra),
                    "`args` must be a mapping, or one `{{ … }}` template of one",
                ))
            }
        }
    }

    if name == "include_tasks" || name == "include_role" {
        check_include_keywords(doc, node, mkey, name, scope.in_handlers)?;
    }
    if name == "import_tasks" || name == "include_tasks" {
        return expand_import(doc, mkey, node, name, &args, kw, scope, out);
    }
    // The task's own arguments win over `module_defaults`, as in Ansible.
    let defaults = kw
        .defaults_for(&scope.inherited, name, &scope.action_groups)
        .map_err(|m| LoadError::new(doc.origin(node), m))?;
    let mut args_defaults = under_template(&mut args, defaults, args_template.is_some());
    // ansible-core's `service` action hands a systemd host to the systemd
    // module, and that module's defaults fill in what is still missing
    // (`_apply_action_arg_defaults` with the module it picked); rprov's
    // `service` is always that one.
    if name == "service" {
        for module in ["systemd", "systemd_service"] {
            let defaults = kw
                .defaults_for(&scope.inherited, module, &scope.action_groups)
                .map_err(|m| LoadError::new(doc.origin(node), m))?;
            for (k, v) in under_template(&mut args, defaults, args_template.is_some()) {
                args_defaults.entry(k).or_insert(v);
            }
        }
    }

    check_args(doc, mkey, [Some(mval), node.get("args")], spec, &args)?;
    let meta_action = (name == "meta")
        .then(|| args.get("_raw_params").and_then(Json::as_str))
        .flatten()
        .map(str::trim);
    if meta_action == Some("end_role") && (scope.in_handlers || scope.role.is_none()) {
        // ansible-core's words, which scripts grep for.
        let whence = match scope.in_handlers {
            true => "from a handler",
            false => "from outside of a role",
        };
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("Cannot execute 'end_role' {whence}"),
        )
        .with_hint("`meta: end_role` ends the role whose tasks it is in; use `end_host` to end the play for a host"));
    }
    if (name == "import_role" || name == "include_role") && scope.in_handlers {
        // ansible-core's words, which scripts grep for.
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("Using '{name}' as a handler is not supported."),
        )
        .with_hint("notify a handler that runs the role's tasks, or put the handler in the role's handlers/"));
    }
    if name == "import_role" || name == "include_role" {
        let call = RoleCall {
            node,
            key: mkey,
            value: mval,
            module: name,
        };
        return expand_role(doc, call, &args, kw, scope, out);
    }
    let mut task = kw.into_task(doc, node, name, Json::Object(args), scope)?;
    task.delegate_local |= local_action;
    task.module_written = raw_name.to_string();
    task.args_template = args_template;
    task.args_defaults = args_defaults;
    // Free-form `k=v` arguments were all written on the module's line: an error in
    // one of them points there rather than at the task's first line.
    if mval.as_str().is_some() {
        if let Json::Object(parsed) = &task.args {
            let at = doc.origin(mval);
            task.arg_origins
                .extend(parsed.keys().map(|k| (k.clone(), at.clone())));
        }
    }
    // `args:` overrides the module's mapping, as it does for the values.
    for (k, v) in [Some(mval), node.get("args")]
        .into_iter()
        .flatten()
        .filter_map(Node::as_map)
        .flatten()
    {
        let key = k.key_string();
        task.arg_origins.retain(|(have, _)| *have != key);
        task.arg_origins.push((key, doc.origin(v)));
    }
    out.push(task);
    Ok(())
}

/// Whether a module rprov cannot run may wait until its task runs (see
/// `parse_task`): yes when Ansible has the module (or may: the fallback is
/// off, so nothing can tell), no for a name nobody has (a typo, found now).
enum Deferrable {
    Yes,
    No,
}

/// A module rprov does not have: Ansible's own, run through the fallback
/// (`modules::ansible_fallback`), if ansible-core on the controller has it.
/// Its fully qualified name, or the load error saying why it cannot run.
fn ansible_module(
    doc: &Document,
    mkey: &Node,
    raw_name: &str,
    collections: &[String],
    scope: &TaskScope,
) -> Result<String, (LoadError, Deferrable)> {
    use modules::ansible_fallback::{resolve, Resolution, CUSTOM_ONLY_HINT, ENABLE_HINT};
    let near = did_you_mean(modules::canonical_name(raw_name), modules::names());
    let at = doc.origin(mkey);
    match resolve(raw_name, collections, &scope.playbook_dir) {
        Resolution::Module(fqcn) | Resolution::Custom(fqcn) | Resolution::ControllerAction(fqcn) => {
            Ok(fqcn)
        }
        Resolution::ActionPlugin(fqcn) => Err((LoadError::new(
            at,
            format!(
                "module `{raw_name}` is not native to rprov, and Ansible's `{fqcn}` cannot run through the fallback: its work is done by an action plugin on Ansible's controller"
            ),
        )
        .with_hint("rewrite the task with rprov's modules (`rprov modules`), or run it with ansible-playbook"), Deferrable::Yes)),
        Resolution::NotFound => Err((LoadError::new(at, format!("unknown module `{raw_name}`"))
            .with_hint(match (near, collection_requirements(raw_name, scope)) {
                (_, Some(hint)) => hint,
                (Some(s), None) => format!("did you mean `{s}`?"),
                (None, None) => "neither rprov (`rprov modules`) nor ansible-core on this machine has it; for a collection's module, install the collection (`ansible-galaxy collection install NAMESPACE.NAME`)".to_string(),
            }), Deferrable::No)),
        Resolution::NotCustom(fqcn) => Err((LoadError::new(
            at,
            format!("module `{raw_name}` is not native to rprov, and the Ansible fallback runs only custom modules and plugins here, not ansible-core's or a collection's `{fqcn}`"),
        )
        .with_hint(match near {
            Some(s) => format!("did you mean `{s}`? Else, {CUSTOM_ONLY_HINT}"),
            None => CUSTOM_ONLY_HINT.to_string(),
        }), Deferrable::Yes)),
        // The first line does not depend on the machine: only the hint says
        // which Python was tried and why it could not import ansible-core.
        // Without ansible-core nothing tells a module of Ansible's from a
        // typo: a conditional task waits (its message keeps "did you mean").
        // A custom module that needs nothing of ansible-core runs anyway.
        Resolution::NoAnsible(_) if runs_without_ansible(raw_name, scope) => Ok(legacy_name(raw_name)),
        Resolution::NoAnsible(why) => Err((LoadError::new(
            at,
            format!("unknown module `{raw_name}`: it is not native to rprov, and the Ansible fallback is off"),
        )
        .with_hint(match near {
            Some(s) => format!("did you mean `{s}`? Else, {ENABLE_HINT} ({why})"),
            None => format!("{ENABLE_HINT} ({why})"),
        }), Deferrable::Yes)),
    }
}

/// A custom module that takes the place of the native module of its name
/// (`modules::ansible_fallback::custom_module`): its fully qualified name, or
/// why it cannot run. Running rprov's own module instead would quietly do
/// something else than the playbook's author wrote, so without ansible-core
/// it is an error (deferred on a conditional task, like any module that
/// cannot run).
fn custom_over_native(
    doc: &Document,
    mkey: &Node,
    raw_name: &str,
    found: modules::ansible_fallback::Resolution,
    scope: &TaskScope,
) -> Result<String, (LoadError, Deferrable)> {
    use modules::ansible_fallback::{Resolution, ENABLE_HINT};
    match found {
        Resolution::Custom(fqcn) | Resolution::Module(fqcn) | Resolution::ControllerAction(fqcn) => {
            Ok(fqcn)
        }
        Resolution::NoAnsible(_) if runs_without_ansible(raw_name, scope) => {
            Ok(legacy_name(raw_name))
        }
        Resolution::NoAnsible(why) => Err((
            LoadError::new(
                doc.origin(mkey),
                format!(
                    "module `{raw_name}` is a custom module of a `library/` folder, which Ansible runs instead of its builtin of that name, and the Ansible fallback is off"
                ),
            )
            .with_hint(format!(
                "write `ansible.builtin.{}` for rprov's own module; else, {ENABLE_HINT} ({why})",
                modules::canonical_name(raw_name)
            )),
            Deferrable::Yes,
        )),
        // `custom_module` answers only the two above.
        Resolution::ActionPlugin(_) | Resolution::NotFound | Resolution::NotCustom(_) => Err((
            LoadError::new(
                doc.origin(mkey),
                format!("custom module `{raw_name}` cannot run through the Ansible fallback"),
            ),
            Deferrable::Yes,
        )),
    }
}

/// Whether `raw_name` is a custom module rprov runs itself, with no
/// ansible-core on the controller (`modules::library_module`).
fn runs_without_ansible(raw_name: &str, scope: &TaskScope) -> bool {
    modules::library_module::LibraryModule::find(raw_name, &scope.playbook_dir).is_some()
}

/// The name Ansible resolves a custom module to: `ansible.legacy.NAME`.
fn legacy_name(raw_name: &str) -> String {
    let short = raw_name.strip_prefix("ansible.legacy.").unwrap_or(raw_name);
    format!("ansible.legacy.{short}")
}

/// For `namespace.collection.module` whose collection a requirements.yml
/// beside the playbook lists: the ansible-galaxy command that installs it.
fn collection_requirements(raw_name: &str, scope: &TaskScope) -> Option<String> {
    let (collection, _) = raw_name.rsplit_once('.')?;
    if !collection.contains('.') {
        return None;
    }
    let file = super::role::requirements_for_collection(&scope.playbook_dir, collection)?;
    Some(format!(
        "its collection `{collection}` is listed in {}: run `ansible-galaxy collection install -r {}` to install it",
        file.display(),
        file.display()
    ))
}

enum LocalArgs {
    Text(String),
    Map(Map<String, Json>),
}

/// The module and its arguments of an `action` or a `local_action`
/// (`key`): free-form text after the module's name, or a mapping with
/// `module:` whose other keys (and those of an `args:` mapping in it, as
/// ansible-core reads it) are the arguments.
fn split_action(doc: &Document, key: &str, val: &Node) -> Result<(String, LocalArgs), LoadError> {
    let bad = || {
        LoadError::new(
            doc.origin(val),
            format!(
                "`{key}` needs a module: `{key}: copy src=a dest=b`, or a mapping with `module:`"
            ),
        )
    };
    match &val.value {
        Value::Str(s) => {
            let s = s.trim_start();
            // A templated name (`{{ module_var }} msg=hi`) holds spaces.
            let templated = s
                .starts_with("{{")
                .then(|| s.find("}}").map(|end| s.split_at(end + 2)))
                .flatten();
            let (name, rest) =
                templated.unwrap_or_else(|| s.split_once(char::is_whitespace).unwrap_or((s, "")));
            if name.is_empty() {
                return Err(bad());
            }
            Ok((name.to_string(), LocalArgs::Text(rest.trim().to_string())))
        }
        Value::Map(_) => {
            let Json::Object(mut m) = val.to_json() else {
                return Err(bad());
            };
            let name = match m.remove("module") {
                Some(Json::String(name)) => name,
                _ => return Err(bad()),
            };
            match m.remove("args") {
                Some(Json::Object(args)) => m.extend(args),
                Some(other) => {
                    m.insert("args".into(), other);
                }
                None => {}
            }
            Ok((name, LocalArgs::Map(m)))
        }
        _ => Err(bad()),
    }
}

/// Refuses an argument named `_ansible_…` (the names of ansible-core's
/// internal arguments) in ansible-core's words, as its task parser does for
/// every module but those taking a command line.
fn reserved_args(
    doc: &Document,
    key: &Node,
    module: &str,
    written: &str,
    args: &Map<String, Json>,
) -> Result<(), LoadError> {
    if ["command", "shell", "raw", "script"].contains(&module) {
        return Ok(());
    }
    match args.keys().find(|k| k.starts_with("_ansible_")) {
        Some(bad) => Err(LoadError::new(
            doc.origin(key),
            format!(
                "Invalid parameter specified beginning with keyword '_ansible_' for action '{written}': '{bad}'. \
                 The prefix '_ansible_' is reserved for internal use only."
            ),
        )),
        None => Ok(()),
    }
}

/// Module arguments as a map: a mapping as is, free-form text under
/// `_raw_params` (with `key=value` words split out as Ansible does).
fn module_args(
    doc: &Document,
    key: &Node,
    val: &Node,
    free_form: bool,
) -> Result<Map<String, Json>, LoadError> {
    match &val.value {
        Value::Null => Ok(Map::new()),
        Value::Map(_) => match val.to_json() {
            Json::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        },
        Value::Str(s) => Ok(parse_free_form(s, free_form)),
        _ => Err(LoadError::new(
            doc.origin(val),
            format!(
                "arguments of `{}` must be a mapping or `key=value` text, found {}",
                key.key_string(),
                val.kind()
            ),
        )),
    }
}

/// Adds `defaults` (`module_defaults`) to `args` where the task gives no
/// value; with an arguments template they are kept apart instead and
/// returned, to go under the template's mapping when it is rendered.
fn under_template(
    args: &mut Map<String, Json>,
    defaults: Map<String, Json>,
    templated: bool,
) -> Map<String, Json> {
    if templated {
        return defaults;
    }
    for (k, v) in defaults {
        args.entry(k).or_insert(v);
    }
    Map::new()
}

/// A whole argument text that is one `{{ … }}` expression.
fn is_splat(v: &Json) -> bool {
    v.as_str().is_some_and(splat_text)
}

/// [`is_splat`] of a text.
fn splat_text(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("{{") && s.ends_with("}}") && s[2..s.len() - 2].find("}}").is_none()
}

fn check_args(
    doc: &Document,
    key: &Node,
    written: [Option<&Node>; 2],
    spec: &modules::ModuleSpec,
    args: &Map<String, Json>,
) -> Result<(), LoadError> {
    for name in args.keys() {
        if name == "_raw_params" {
            // `assert: '{{ item }}'`: the arguments are one template that
            // renders to a mapping (Ansible's argument splat), for the
            // modules that run on the controller.
            if spec.free_form || (spec.is_local() && is_splat(&args[name])) {
                continue;
            }
            // ansible-core's words first, which playbooks test for.
            return Err(LoadError::new(
                doc.origin(key),
                format!(
                    "Action 'ansible.builtin.{0}' does not support raw params: `{0}` does not take free-form text",
                    spec.name
                ),
            )
            .with_hint("write its arguments as a mapping or as key=value words"));
        }
        // An argument whose template may come to `omit` (`disablerepo: "{{
        // repo | default(omit) }}"` on a `package` task for every system) is
        // left out when it does, as in ansible-core; when it comes to a
        // value, the module refuses it as the task runs.
        let may_omit = args[name]
            .as_str()
            .is_some_and(|v| rprov_template::is_template(v) && v.contains("omit"));
        if spec.arg(name).is_none() && !spec.open && !may_omit {
            if VALID_ARGS_ACTIONS.contains(&spec.name) {
                return Err(invalid_options(doc, key, written, spec, args));
            }
            let all = spec.arg_names().collect::<Vec<_>>().join(", ");
            let hint = match did_you_mean(name, spec.arg_names()) {
                Some(s) => format!("did you mean `{s}`? `{}` takes: {all}", spec.name),
                None if all.is_empty() => format!("`{}` takes no arguments", spec.name),
                None => format!("`{}` takes: {all}", spec.name),
            };
            let at = args_node_for(key, written, doc, name);
            return Err(LoadError::new(
                at,
                format!("unknown argument `{name}` for module `{}`", spec.name),
            )
            .with_hint(hint));
        }
    }
    // Values of the wrong kind, and values rprov would not carry out;
    // templated ones are checked when planned (`modules::plan`).
    for (name, value) in args {
        if modules::args::has_template(value) {
            continue;
        }
        if let Some(arg) = spec.arg(name) {
            if let Err(m) = modules::args::check(spec.name, arg, value) {
                let at = args_value_node_for(key, written, doc, name);
                return Err(LoadError::new(at, m.msg).with_hint(m.hint));
            }
        }
        if let Some(r) = modules::refuse::refusal(spec.name, name, value) {
            let at = args_value_node_for(key, written, doc, name);
            return Err(LoadError::new(at, r.msg).with_hint(r.hint));
        }
    }
    Ok(())
}

/// The modules whose ansible-core action plugin lists the arguments it
/// takes (`_VALID_ARGS`) and refuses others in its own words, which
/// playbooks assert on (ansible-core's `wait_for_connection` target).
const VALID_ARGS_ACTIONS: &[&str] = &[
    "fail",
    "group_by",
    "reboot",
    "set_stats",
    "wait_for_connection",
];

/// ansible-core's refusal of every unknown argument of `spec`'s action at
/// once (`Invalid options for wait_for_connection: foo`), at the first one,
/// with rprov's hint of what the module takes.
fn invalid_options(
    doc: &Document,
    key: &Node,
    written: [Option<&Node>; 2],
    spec: &modules::ModuleSpec,
    args: &Map<String, Json>,
) -> LoadError {
    let unknown: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|n| *n != "_raw_params" && spec.arg(n).is_none())
        .collect();
    let first = unknown.first().copied().unwrap_or_default();
    let all = spec.arg_names().collect::<Vec<_>>().join(", ");
    LoadError::new(
        args_node_for(key, written, doc, first),
        format!("Invalid options for {}: {}", spec.name, unknown.join(",")),
    )
    .with_hint(format!("`{}` takes: {all}", spec.name))
    .in_ansible_words()
}

/// The key and value of argument `name` where it was written as a mapping
/// (under the module or under `args:`).
fn written_arg<'n>(written: [Option<&'n Node>; 2], name: &str) -> Option<&'n (Node, Node)> {
    written
        .into_iter()
        .flatten()
        .filter_map(Node::as_map)
        .flatten()
        .find(|(k, _)| k.key_string() == name)
}

/// The position of an argument's key (see [`written_arg`]), else the
/// module's key (`copy: a=1 b=2`).
fn args_node_for(
    key: &Node,
    written: [Option<&Node>; 2],
    doc: &Document,
    name: &str,
) -> crate::diag::Origin {
    written_arg(written, name).map_or_else(|| doc.origin(key), |(k, _)| doc.origin(k))
}

/// The position of an argument's value, else the module's key.
fn args_value_node_for(
    key: &Node,
    written: [Option<&Node>; 2],
    doc: &Document,
    name: &str,
) -> crate::diag::Origin {
    written_arg(written, name).map_or_else(|| doc.origin(key), |(_, v)| doc.origin(v))
}

#[allow(clippy::too_many_arguments)]
fn expand_import(
    doc: &Document,
    mkey: &Node,
    node: &Node,
    name: &str,
    args: &Map<String, Json>,
    kw: Keywords,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    if name == "include_tasks" && !kw.notify.is_empty() {
        let at = node.get("notify").unwrap_or(node);
        return Err(LoadError::new(
            doc.origin(at),
            "`notify` is not a keyword of `include_tasks` (ansible-core: \"'notify' is not a valid attribute for a TaskInclude\")",
        )
        .with_hint("use `import_tasks`, whose `notify` the tasks inside inherit, or put `notify` on those tasks"));
    }
    // ansible-core's `TaskInclude` takes these only (`apply` on an
    // include, whose tasks it is given to when read; an import's tasks
    // take the import's keywords directly), in its words.
    let valid: &[&str] = match name {
        "include_tasks" => &["file", "_raw_params", "apply"],
        _ => &["file", "_raw_params"],
    };
    let bad: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !valid.contains(k))
        .collect();
    if !bad.is_empty() {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("Invalid options for {name}: {}", bad.join(",")),
        ));
    }
    let file = args
        .get("_raw_params")
        .or_else(|| args.get("file"))
        .and_then(Json::as_str)
        .map(str::to_string);
    let Some(file) = file else {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("`{name}` needs a file name"),
        ));
    };
    // A name that uses only what is known when the playbook loads
    // (`role_path`, `playbook_dir`) is static, as Ansible imports it.
    let file = match (name, kw.loop_items.is_some()) {
        ("import_tasks", false) => load_time_name(&file, scope, &kw.vars).unwrap_or(file),
        _ => file,
    };
    let dynamic = file.contains("{{") || kw.loop_items.is_some();
    // An `include_tasks` read when it runs (see `load_include`): here its
    // file name and the directory it is looked for from.
    let at_run_time = |file: String, kw: Keywords, out: &mut Vec<Task>| {
        let mut args = args.clone();
        args.insert("_raw_params".into(), Json::String(file));
        args.insert(
            "_base_dir".into(),
            Json::String(scope.base_dir.display().to_string()),
        );
        // `apply:` is read now (its errors are load errors) and given to the
        // file's tasks when it is read; its templates are theirs, not
        // arguments of the include.
        let apply = read_apply(
            doc,
            node.get(&mkey.key_string()).and_then(|v| v.get("apply")),
        )?
        .map(|kw| Arc::new(IncludeApply(kw)));
        args.remove("apply");
        let mut task = kw.into_task(doc, node, "include_tasks", Json::Object(args), scope)?;
        task.include_apply = apply;
        task.include_inherited = Some(Arc::new(scope.inherited.clone()));
        task.module_written = written_module(mkey, name);
        out.push(task);
        Ok(())
    };
    if dynamic && name == "include_tasks" {
        // Resolved when it runs: the file name depends on variables or a loop.
        return at_run_time(file, kw, out);
    }
    if dynamic {
        return Err(LoadError::new(
            doc.origin(mkey),
            "`import_tasks` is static: it takes no loop, and its file name is rendered as the playbook loads, with the play's `vars`, the import's, `-e`, `role_path` and `playbook_dir` only",
        )
        .with_hint("use `include_tasks` for a file chosen at run time"));
    }
    // `apply:` keywords are those of a block around the included tasks.
    let mut applied;
    let outer = scope;
    let scope = match node.get(&mkey.key_string()).and_then(|v| v.get("apply")) {
        Some(apply) if name == "include_tasks" => {
            applied = scope.clone();
            if let Some(kw) = read_apply(doc, Some(apply))? {
                kw.fold_into(&mut applied.inherited);
            }
            &applied
        }
        _ => scope,
    };
    // A handler that is an include (named, or listening) runs as one: a
    // container, as any include; an unnamed one makes its tasks handlers.
    let how = match (name, scope.in_handlers && !kw.is_notifiable()) {
        ("import_tasks", _) => Fold::Import,
        (_, true) => Fold::HandlerInclude,
        (_, false) => Fold::Include,
    };
    let loaded = load_static(&file, doc, mkey, &kw, scope, how);
    match loaded {
        Ok((path, tasks)) if how == Fold::Include => {
            let mut args = args.clone();
            args.remove("apply");
            let mut include =
                kw.into_task(doc, node, "include_tasks", Json::Object(args), outer)?;
            let shown = std::path::absolute(&path).unwrap_or(path);
            include.static_include = Some(shown.display().to_string());
            include.module_written = written_module(mkey, name);
            include.block = Some(Arc::new(Block {
                block: tasks,
                rescue: Vec::new(),
                always: Vec::new(),
            }));
            out.push(include);
            Ok(())
        }
        Ok((_, tasks)) => {
            out.extend(tasks);
            Ok(())
        }
        // As in Ansible, an `include_tasks` file is read when the task runs:
        // one that is missing or does not load (a Windows-only file of a
        // shared role, say) fails only a host that reaches it.
        Err(_) if name == "include_tasks" => at_run_time(file, kw, out),
        Err(e) => Err(e),
    }
}

/// The keywords an `include_tasks` or `include_role` takes
/// (ansible-core's `TaskInclude.VALID_INCLUDE_KEYWORDS`, `with_*` loops
/// too): they are the include's own, which its tasks do not inherit (but
/// for `vars`), so one that would be theirs has no place there.
const INCLUDE_KEYWORDS: &[&str] = &[
    "action",
    "args",
    "collections",
    "debugger",
    "ignore_errors",
    "loop",
    "loop_control",
    "name",
    "no_log",
    "register",
    "run_once",
    "tags",
    "timeout",
    "vars",
    "when",
];

/// Refuses a keyword an include does not take, in ansible-core's words
/// (its default `invalid_task_attribute_failed`): `become` on an
/// `include_tasks` would not reach its tasks there, and silently dropping it
/// would run them as another user.
fn check_include_keywords(
    doc: &Document,
    node: &Node,
    mkey: &Node,
    name: &str,
    in_handlers: bool,
) -> Result<(), LoadError> {
    let class = match (name, in_handlers) {
        ("include_role", _) => "IncludeRole",
        (_, true) => "HandlerTaskInclude",
        (_, false) => "TaskInclude",
    };
    let module_key = mkey.key_string();
    for (k, _) in node.as_map().unwrap_or_default() {
        let key = k.key_string();
        // `notify` has a message of its own (`expand_import`).
        let allowed = key == module_key
            || INCLUDE_KEYWORDS.contains(&key.as_str())
            || key.starts_with("with_")
            || (key == "notify" && name == "include_tasks")
            // A handler's include answers a topic (`HandlerTaskInclude`).
            || (key == "listen" && in_handlers);
        if !allowed {
            return Err(LoadError::new(
                doc.origin(k),
                format!("'{key}' is not a valid attribute for a {class}"),
            )
            .with_hint(format!(
                "an include's keywords are its own: give its tasks `{key}` with `apply: {{{key}: …}}` under `{name}`, or use `{}`, whose tasks inherit its keywords",
                name.replace("include", "import")
            )));
        }
    }
    Ok(())
}

/// The module's name as the task wrote it (`ansible.builtin.include_tasks`)
/// from its key, else (`action: include_tasks …`) its canonical `name`.
fn written_module(mkey: &Node, name: &str) -> String {
    match mkey.key_string() {
        k if k == "action" || k == "local_action" => name.to_string(),
        k => k,
    }
}

/// How a task file read when the playbook loads gets the keywords of the
/// task that reads it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fold {
    /// `import_tasks`: all of them, on each task.
    Import,
    /// `include_tasks`: its `vars` (see [`Keywords::fold_into_include`]).
    Include,
    /// An unnamed `include_tasks` among handlers, whose tasks are handlers
    /// each: as an import, but for its tags.
    HandlerInclude,
}

/// `file` rendered with the variables known when the playbook loads, or
/// `None` when it uses others (or is no template).
fn load_time_name(file: &str, scope: &TaskScope, task_vars: &Vars) -> Option<String> {
    if !rprov_template::is_template(file) {
        return None;
    }
    render_at_load(scope, task_vars, &Json::String(file.to_string()))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
}

/// A value written on an import (see [`LoadVars::render`](super::role::LoadVars::render)), with
/// `playbook_dir` and `role_path`, the variables of the blocks around it and
/// `task_vars`, its own. In a task file included at run time, which has no
/// play to take variables from, only `playbook_dir` and `role_path`.
fn render_at_load(scope: &TaskScope, task_vars: &Vars, written: &Json) -> Result<Json, String> {
    let mut magic = Vars::new();
    magic.insert(
        "playbook_dir".into(),
        Json::String(scope.playbook_dir.display().to_string()),
    );
    if let Some(role) = &scope.role {
        magic.insert(
            "role_path".into(),
            Json::String(role.own.path.display().to_string()),
        );
    }
    match &scope.roles {
        Some(roles) => {
            roles
                .load_vars()
                .render(written, &magic, &[&scope.inherited.vars, task_vars])
        }
        None => super::role::LoadVars::default().render(written, &magic, &[]),
    }
}

/// The tasks of a task file named literally, read when the playbook loads.
fn load_static(
    file: &str,
    doc: &Document,
    mkey: &Node,
    kw: &Keywords,
    scope: &TaskScope,
    how: Fold,
) -> Result<(PathBuf, Vec<Task>), LoadError> {
    let path = resolve_task_file(file, scope, doc).ok_or_else(|| {
        LoadError::new(doc.origin(mkey), format!("task file `{file}` not found")).with_hint(
            format!(
                "looked in {}",
                search_dirs(scope, doc)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
    if scope.files.contains(&canonical) {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("`{file}` includes itself (through the files around it)"),
        )
        .with_hint("an include_tasks of it is read when it runs, as ansible-core reads it; an import_tasks cannot be"));
    }
    let mut inner = scope.clone();
    inner.depth += 1;
    inner.files.push(canonical);
    if let Some(dir) = path.parent() {
        if scope.role.is_none() {
            inner.base_dir = dir.to_path_buf();
        }
    }
    match how {
        Fold::Import => kw.fold_into(&mut inner.inherited),
        Fold::Include => kw.fold_into_include(&mut inner.inherited),
        Fold::HandlerInclude => kw.fold_into_handler_include(&mut inner.inherited),
    }
    let tasks = parse_tasks_file(&path, &inner)?;
    Ok((path, tasks))
}

/// An `import_role` or `include_role` task: the task, its module's key and
/// value, and the module's canonical name.
#[derive(Clone, Copy)]
struct RoleCall<'a> {
    node: &'a Node,
    key: &'a Node,
    value: &'a Node,
    module: &'a str,
}

/// The arguments of `include_role` that choose what is loaded: a template
/// in one makes the include dynamic.
const ROLE_FILE_ARGS: &[&str] = &[
    "name",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
];

/// ansible-core's words for a role's `tasks_from`, `vars_from`, … that is
/// not text, which scripts grep for.
fn not_a_file_name(key: &str, value: &Json) -> String {
    format!(
        "Expected a string for {key} but got {} instead",
        crate::modules::args::py_class(value)
    )
}

/// The yes/no arguments of a role import or include, which may be templates
/// (`public: "{{ expose | bool }}"`).
const ROLE_FLAG_ARGS: &[&str] = &["allow_duplicates", "public", "rolespec_validate"];

/// `import_role`, and `include_role` of a role named literally without a
/// loop, expanded when the playbook loads: the role's tasks take this task's
/// place with its keywords (`when`, `tags`, `become`, `vars`, and
/// `include_role`'s `apply`) passed down, its handlers join the play's, and
/// its defaults become visible play-wide. That costs nothing at run time and
/// keeps every check at load. An `include_role` whose role is known only on
/// a host (a templated name or file, a loop, a task file included at run
/// time) is loaded when it runs instead, as ansible-core loads every one
/// (see [`RoleInclude`]); `import_role` is static in ansible-core too.
fn expand_role(
    doc: &Document,
    call: RoleCall<'_>,
    args: &Map<String, Json>,
    kw: Keywords,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    let RoleCall {
        node,
        key: mkey,
        value: mval,
        module,
    } = call;
    // An include with a templated argument loads its role when it runs,
    // with the host's variables.
    let templated = ROLE_FILE_ARGS.iter().chain(ROLE_FLAG_ARGS).any(|k| {
        args.get(*k)
            .and_then(Json::as_str)
            .is_some_and(rprov_template::is_template)
    });
    // A role that is not there fails the include when it runs, as in
    // ansible-core, whose `include_role` loads its role then: a play may
    // include one only where a condition holds, or to fail on purpose.
    let missing = || match (args.get("name").and_then(Json::as_str), &scope.roles) {
        (Some(name), Some(roles)) => !roles.has_role(name),
        _ => false,
    };
    if module == "include_role"
        && (templated || kw.loop_items.is_some() || scope.roles.is_none() || missing())
    {
        return include_role_at_run_time(doc, call, args, kw, scope, out);
    }
    // An argument written as a template is rendered now, as ansible-core
    // renders an import's (see `render_at_load`).
    let rendered = |key: &str| -> Result<Option<Json>, LoadError> {
        let Some(written) = args.get(key) else {
            return Ok(None);
        };
        render_at_load(scope, &kw.vars, written).map(Some).map_err(|m| {
            LoadError::new(
                args_node_for(mkey, [Some(mval), None], doc, key),
                format!("`{module}` loads its role as the play loads, when `{key}` is rendered with the play's `vars`, the import's and `-e` only: {m}"),
            )
            .with_hint("use `include_role` for a role chosen when it runs")
        })
    };
    let text = |key: &str| -> Result<Option<String>, LoadError> {
        match rendered(key)? {
            None => Ok(None),
            Some(Json::String(s)) if s.trim().is_empty() && key == "name" => Err(LoadError::new(
                args_node_for(mkey, [Some(mval), None], doc, key),
                format!("`{module}` needs a role name, and `name` is empty"),
            )),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => Err(LoadError::new(
                args_node_for(mkey, [Some(mval), None], doc, key),
                match key.ends_with("_from") {
                    true => not_a_file_name(key, &other),
                    false => format!("`{key}` must be a string, found {other}"),
                },
            )),
        }
    };
    let Some(name) = text("name")? else {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("`{module}` needs the role's `name`"),
        )
        .with_hint(format!("e.g. `{module}: {{name: base}}`")));
    };
    if kw.loop_items.is_some() {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("`{module}` is static: it cannot loop"),
        )
        .with_hint("use `include_role`, which loads its role for each item when it runs"));
    }
    let Some(roles) = &scope.roles else {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("`{module}` inside a task file included at run time is not supported"),
        )
        .with_hint("use `include_role` there, or include that file with `import_tasks`"));
    };
    let mut inherited = scope.inherited.clone();
    match module {
        "include_role" => kw.fold_into_include(&mut inherited),
        _ => kw.fold_into(&mut inherited),
    }
    if let Some(kw) = read_apply(doc, mval.get("apply"))? {
        kw.fold_into(&mut inherited);
    }
    // A flag of an import may be a template of the play's variables, rendered
    // now as ansible-core renders an import's arguments.
    let flag = |key: &str| -> Result<Option<bool>, LoadError> {
        Ok(rendered(key)?.and_then(|v| crate::truthy::as_bool(&v)))
    };
    let once = Some(flag("allow_duplicates")? == Some(false));
    let from = |key: &str| -> Result<String, LoadError> {
        Ok(text(key)?
            .map(|f| {
                f.trim_end_matches(".yml")
                    .trim_end_matches(".yaml")
                    .to_string()
            })
            .unwrap_or_else(|| "main".into()))
    };
    let chain = role_chain(scope);
    let shown = name.clone();
    let req = RoleRequest {
        name,
        params: Default::default(),
        inherited,
        tasks_from: from("tasks_from")?,
        handlers_from: from("handlers_from")?,
        vars_from: from("vars_from")?,
        defaults_from: from("defaults_from")?,
        once,
        public: match args.get("public") {
            Some(_) => flag("public")? == Some(true),
            None => roles.default_public(module == "import_role"),
        },
        validate: flag("rolespec_validate")? != Some(false),
        parents: chain.0,
        imported_by: chain.1,
        included: module == "include_role",
    };
    let Some(applied) = roles.apply(doc, mkey, req, scope.depth + 1)? else {
        return Ok(());
    };
    if module != "include_role" {
        out.extend(applied.tasks);
        return Ok(());
    }
    // The include itself, whose `when` decides once whether the role's
    // tasks run (see `Task::static_include`).
    let mut args = args.clone();
    args.remove("apply");
    let mut include = kw.into_task(doc, node, "include_role", Json::Object(args), scope)?;
    include.static_include = Some(shown);
    include.module_written = written_module(mkey, module);
    include.block = Some(Arc::new(Block {
        block: applied.tasks,
        rescue: Vec::new(),
        always: Vec::new(),
    }));
    out.push(include);
    Ok(())
}

/// The dep chain and the importing roles of a role imported (or included)
/// from `scope`'s tasks: imported from a role's tasks, the role is that
/// role's dependent.
fn role_chain(scope: &TaskScope) -> (Vec<Arc<RoleData>>, Vec<Arc<RoleData>>) {
    let parents = scope
        .role
        .iter()
        .flat_map(|r| r.parents.iter().chain([&r.own]).cloned())
        .collect();
    let imported_by = scope
        .role
        .iter()
        .flat_map(|r| [&r.own].into_iter().chain(&r.imported_by).cloned())
        .collect();
    (parents, imported_by)
}

/// An `include_role` loaded when it runs: the task keeps its arguments
/// (rendered per host and loop item, as ansible-core's `IncludedFile`
/// renders them) and this, which loads the role then.
///
/// What the role's tasks inherit is what ansible-core gives the tasks of a
/// dynamic include: the keywords of what encloses the include (block,
/// play), the include's `vars`, and its `apply:` (the include's own `when`,
/// `tags` and the rest apply to the include task alone).
pub struct RoleInclude {
    /// The task as written, for the positions of errors.
    doc: Document,
    inherited: Inherited,
    parents: Vec<Arc<RoleData>>,
    imported_by: Vec<Arc<RoleData>>,
    depth: usize,
}

impl std::fmt::Debug for RoleInclude {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RoleInclude({})", self.doc.origin(&self.doc.root))
    }
}

/// An include's `apply:`, read as the keywords of a block around what it
/// includes (`None` without one).
fn read_apply(doc: &Document, apply: Option<&Node>) -> Result<Option<Keywords>, LoadError> {
    let Some(apply) = apply else {
        return Ok(None);
    };
    if apply.as_map().is_none() {
        return Err(LoadError::new(
            doc.origin(apply),
            "`apply` must be a mapping of task keywords",
        ));
    }
    Keywords::read(doc, apply).map(Some)
}

/// The `apply:` keywords of an `include_tasks` read when it runs.
#[derive(Clone)]
pub struct IncludeApply(Keywords);

impl IncludeApply {
    /// Adds the keywords to what the included file's tasks inherit.
    pub fn fold_into(&self, inherited: &mut Inherited) {
        self.0.fold_into(inherited);
    }
}

impl std::fmt::Debug for IncludeApply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncludeApply")
    }
}

/// What a dynamic `include_role` brought: the role's tasks (its
/// dependencies' first), its handlers and those of the roles it imports,
/// and the instances whose variables are public (`public: true`).
pub struct IncludedRole {
    pub tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    pub public: Vec<Arc<RoleInstance>>,
}

impl RoleInclude {
    /// Loads the role `args` (the include's arguments, rendered) name,
    /// with `loader` (see [`RoleLoader::detached`]).
    pub fn load(
        &self,
        loader: &RoleLoader,
        args: &Map<String, Json>,
    ) -> Result<IncludedRole, LoadError> {
        let origin = || self.doc.origin(&self.doc.root);
        let name = match args.get("name") {
            Some(Json::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(other) => {
                return Err(LoadError::new(
                    origin(),
                    format!("`include_role` needs a role name, and `name` is {other}"),
                ))
            }
            None => {
                return Err(LoadError::new(
                    origin(),
                    "`include_role` needs the role's `name`",
                ))
            }
        };
        let from = |key: &str| -> Result<String, LoadError> {
            match args.get(key) {
                None | Some(Json::Null) => Ok("main".into()),
                Some(Json::String(f)) => Ok(f
                    .trim_end_matches(".yml")
                    .trim_end_matches(".yaml")
                    .to_string()),
                Some(other) => Err(LoadError::new(origin(), not_a_file_name(key, other))),
            }
        };
        let flag = |key: &str| args.get(key).and_then(crate::truthy::as_bool);
        let req = RoleRequest {
            name,
            params: Default::default(),
            inherited: self.inherited.clone(),
            tasks_from: from("tasks_from")?,
            handlers_from: from("handlers_from")?,
            vars_from: from("vars_from")?,
            defaults_from: from("defaults_from")?,
            once: Some(flag("allow_duplicates") == Some(false)),
            // ansible-core's default for an include: private, unless
            // `private_role_vars` is set.
            public: flag("public").unwrap_or_else(|| loader.default_public(false)),
            validate: flag("rolespec_validate") != Some(false),
            parents: self.parents.clone(),
            imported_by: self.imported_by.clone(),
            // Loaded when it runs: its handlers join the host's then.
            included: false,
        };
        let applied = loader.apply(&self.doc, &self.doc.root, req, self.depth)?;
        let (public, handlers) = loader.clone().finish();
        Ok(IncludedRole {
            tasks: applied.map(|a| a.tasks).unwrap_or_default(),
            handlers,
            public,
        })
    }
}

/// The task of an `include_role` loaded when it runs (see [`RoleInclude`]).
fn include_role_at_run_time(
    doc: &Document,
    call: RoleCall<'_>,
    args: &Map<String, Json>,
    kw: Keywords,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    match args.get("name") {
        Some(Json::String(_)) => {}
        Some(other) => {
            return Err(LoadError::new(
                args_node_for(call.key, [Some(call.value), None], doc, "name"),
                format!("`name` must be a string, found {other}"),
            ))
        }
        None => {
            return Err(LoadError::new(
                doc.origin(call.key),
                "`include_role` needs the role's `name`",
            )
            .with_hint("e.g. `include_role: {name: base}`"))
        }
    }
    let mut inherited = scope.inherited.clone();
    inherited
        .vars
        .extend(kw.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(kw) = read_apply(doc, call.value.get("apply"))? {
        kw.fold_into(&mut inherited);
    }
    let (parents, imported_by) = role_chain(scope);
    let include = RoleInclude {
        doc: Document {
            path: doc.path.clone(),
            root: call.node.clone(),
        },
        inherited,
        parents,
        imported_by,
        depth: scope.depth + 1,
    };
    // `apply` was read above: its templates are the included tasks', not
    // arguments to render for the include.
    let mut args = args.clone();
    args.remove("apply");
    let mut task = kw.into_task(doc, call.node, "include_role", Json::Object(args), scope)?;
    task.role_include = Some(Arc::new(include));
    out.push(task);
    Ok(())
}

/// Where a task file named by a relative path is looked for: the including
/// file's base, its own directory, then the playbook's. A role's handlers
/// also find the role's `tasks/` files, as Ansible's include of a handler
/// looks in `handlers/` and then `tasks/` (ansible-core's own
/// `setup_remote_tmp_dir` role cleans up with `include_tasks:
/// default-cleanup.yml` from its handlers).
fn search_dirs(scope: &TaskScope, doc: &Document) -> Vec<PathBuf> {
    let mut dirs = vec![scope.base_dir.clone()];
    if let Some(d) = doc.path.parent() {
        dirs.push(d.to_path_buf());
    }
    if let Some(role) = &scope.role {
        let handler_dirs: Vec<PathBuf> = dirs
            .iter()
            .filter(|d| d.file_name().is_some_and(|n| n == "handlers"))
            .filter_map(|d| d.parent().map(|role| role.join("tasks")))
            .collect();
        dirs.extend(handler_dirs);
        // Then the role's own folder, as ansible-core's `path_dwim_relative`
        // looks last in a role (`import_tasks: tasks/x.yml` from handlers/).
        dirs.push(role.own.path.clone());
    }
    dirs.push(scope.playbook_dir.clone());
    dirs.dedup();
    dirs
}

pub fn resolve_task_file(file: &str, scope: &TaskScope, doc: &Document) -> Option<PathBuf> {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    search_dirs(scope, doc)
        .into_iter()
        .map(|d| d.join(p))
        .find(|c| c.is_file())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn tasks(yaml: &str) -> Vec<crate::playbook::Task> {
        let dir = tempfile::tempdir().expect("tempdir");
        let pb = dir.path().join("site.yml");
        std::fs::write(&pb, yaml).expect("write");
        let book = crate::playbook::load::load_playbook(&pb).unwrap_or_else(|e| panic!("{e}"));
        book.plays[0].sections.concat()
    }

    /// `include_tasks: file=t.yml`: the text of an include or import is
    /// `key=value` words, as ansible-core's `parse_kv` reads it.
    #[test]
    fn an_include_or_import_written_as_key_value_text_names_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("t.yml"), "- debug: msg=in-t\n").expect("write");
        std::fs::create_dir_all(dir.path().join("roles/r/tasks")).expect("mkdir");
        std::fs::write(
            dir.path().join("roles/r/tasks/main.yml"),
            "- debug: msg=in-r\n",
        )
        .expect("write");
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - include_tasks: file=t.yml\n    - import_tasks: file=t.yml\n    - import_role: name=r\n",
        )
        .expect("write");
        let book = crate::playbook::load::load_playbook(&pb).unwrap_or_else(|e| panic!("{e}"));
        let t = book.plays[0].sections.concat();
        // The include stands for its file's tasks (see `Task::static_include`).
        assert_eq!(t[0].module, "include_tasks");
        let file = dir.path().join("t.yml").display().to_string();
        assert_eq!(t[0].static_include.as_deref(), Some(file.as_str()));
        let included = &t[0].block.as_ref().expect("its tasks").block;
        let msgs: Vec<_> = included
            .iter()
            .chain(&t[1..])
            .map(|t| t.args["msg"].clone())
            .collect();
        assert_eq!(msgs, [json!("in-t"), json!("in-t"), json!("in-r")], "{t:?}");
    }

    /// A literal `include_role` without a loop is expanded when the
    /// playbook loads (as before); a templated name or a loop makes it a
    /// task that loads its role when it runs, with the include's `vars`
    /// and `apply` kept for the role's tasks and `apply` out of its
    /// arguments. `import_role` stays static.
    #[test]
    fn include_role_is_loaded_at_run_time_only_when_it_must() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tasks_dir = dir.path().join("roles/r/tasks");
        std::fs::create_dir_all(&tasks_dir).expect("mkdir");
        std::fs::write(tasks_dir.join("main.yml"), "- debug: msg=in-r\n").expect("write");
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n\
             \x20   - include_role:\n        name: \"{{ item }}\"\n        apply:\n          become: true\n      vars:\n        v: 1\n      loop: [r]\n\
             \x20   - include_role:\n        name: r\n\
             \x20   - include_role:\n        name: r\n      loop: [1]\n",
        )
        .expect("write");
        let book = crate::playbook::load::load_playbook(&pb).unwrap_or_else(|e| panic!("{e}"));
        let t = book.plays[0].sections.concat();
        assert_eq!(t.len(), 3, "{t:?}");
        assert_eq!(t[0].module, "include_role");
        let include = t[0].role_include.as_ref().expect("dynamic");
        assert_eq!(include.inherited.become_, Some(true));
        assert_eq!(include.inherited.vars.get("v"), Some(&json!(1)));
        assert_eq!(t[0].args, json!({"name": "{{ item }}"}));
        assert_eq!(t[1].module, "include_role");
        assert_eq!(t[1].static_include.as_deref(), Some("r"));
        assert!(t[1].role_include.is_none());
        let included = &t[1].block.as_ref().expect("the role's tasks").block;
        assert_eq!(included[0].module, "debug");
        assert!(t[2].role_include.is_some());

        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - import_role:\n        name: r\n      loop: [1]\n",
        )
        .expect("write");
        let err = crate::playbook::load::load_playbook(&pb).expect_err("refused");
        assert!(err.to_string().contains("is static"), "{err}");
    }

    /// `_ansible_…` arguments are ansible-core's own: refused in its words
    /// when the playbook loads, `ignore_errors` or not, but for the modules
    /// that take a command line.
    #[test]
    fn reserved_arguments_are_refused_as_ansible_refuses_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - ansible.builtin.set_fact:\n        _ansible_foo: bar\n      ignore_errors: yes\n",
        )
        .expect("write");
        let err = crate::playbook::load::load_playbook(&pb).expect_err("refused");
        assert!(
            err.to_string().contains(
                "Invalid parameter specified beginning with keyword '_ansible_' for action \
                 'ansible.builtin.set_fact': '_ansible_foo'. The prefix '_ansible_' is reserved for internal use only."
            ),
            "{err}"
        );
        let t = tasks("- hosts: all\n  tasks:\n    - command: echo _ansible_x=1\n");
        assert_eq!(t[0].module, "command");
    }

    /// The actions whose ansible-core plugin lists its arguments refuse
    /// the others in ansible-core's words: a task that ignores its errors
    /// registers exactly them (ansible-core's `wait_for_connection`
    /// target asserts on them); unignored, the load error names the place.
    #[test]
    fn unknown_arguments_of_listed_actions_fail_in_ansible_words() {
        let t = tasks(
            "- hosts: all\n  tasks:\n    - wait_for_connection:\n        foo: bar\n        timeout: 3\n        zip: 1\n      ignore_errors: yes\n",
        );
        assert_eq!(t[0].module, "fail");
        assert_eq!(
            t[0].args,
            json!({"msg": "Invalid options for wait_for_connection: foo,zip"})
        );
        // An argument splat is the arguments, not an option.
        let t = tasks(
            "- hosts: all\n  tasks:\n    - fail: '{{ opts }}'\n      args:\n        foo: 1\n      ignore_errors: yes\n",
        );
        assert_eq!(t[0].args, json!({"msg": "Invalid options for fail: foo"}));
        let dir = tempfile::tempdir().expect("tempdir");
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - fail:\n        msg: x\n        foo: 1\n",
        )
        .expect("write");
        let err = crate::playbook::load::load_playbook(&pb).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("site.yml:5:9: Invalid options for fail: foo"),
            "{text}"
        );
        assert!(text.contains("`fail` takes: msg"), "{text}");
        // Other modules keep rprov's words, with the misspelling's fix.
        let dir = tempfile::tempdir().expect("tempdir");
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - copy:\n        dest: /x\n        contnet: 1\n",
        )
        .expect("write");
        let err = crate::playbook::load::load_playbook(&pb).expect_err("refused");
        assert!(
            err.to_string().contains("unknown argument `contnet`"),
            "{err}"
        );
    }

    #[test]
    fn action_is_the_old_spelling_of_its_module() {
        let t = tasks(
            "- hosts: all\n  tasks:\n\
             \x20   - action: copy dest=/tmp/x content=hi\n\
             \x20   - action:\n        module: file\n        path: /tmp/y\n        args:\n          state: touch\n\
             \x20   - local_action: command touch /tmp/z\n",
        );
        assert_eq!(t[0].module, "copy");
        assert_eq!(t[0].args, json!({"dest": "/tmp/x", "content": "hi"}));
        assert!(!t[0].delegate_local);
        assert_eq!(t[1].module, "file");
        assert_eq!(t[1].args, json!({"path": "/tmp/y", "state": "touch"}));
        assert_eq!(t[2].module, "command");
        assert!(t[2].delegate_local);
    }

    /// `service` takes the `module_defaults` of `systemd` too, below its
    /// own, as ansible-core's service action does on a systemd host (the
    /// service target's check-mode task gives its name only there).
    #[test]
    fn service_takes_systemd_module_defaults_under_its_own() {
        let t = tasks(
            "- hosts: all\n  tasks:\n\
             \x20   - service:\n      module_defaults:\n        sysvinit:\n          name: other\n\
             \x20       ansible.builtin.systemd:\n          name: app\n          enabled: yes\n\
             \x20   - service:\n      module_defaults:\n        service:\n          enabled: no\n\
             \x20       systemd_service:\n          name: app\n          enabled: yes\n\
             \x20   - systemd:\n        name: x\n      module_defaults:\n        service:\n          enabled: no\n",
        );
        assert_eq!(t[0].module, "service");
        assert_eq!(t[0].args, json!({"name": "app", "enabled": true}));
        assert_eq!(t[1].args, json!({"name": "app", "enabled": false}));
        assert_eq!(t[2].args, json!({"name": "x"}));
    }

    #[test]
    fn connection_local_on_a_task_runs_it_on_the_controller_and_others_are_refused() {
        let t = tasks(
            "- hosts: all\n  tasks:\n\
             \x20   - command: id\n      connection: local\n\
             \x20   - command: id\n",
        );
        assert!(t[0].delegate_local);
        assert!(!t[1].delegate_local);
        let dir = tempfile::tempdir().expect("tempdir");
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - command: id\n      connection: ssh\n",
        )
        .expect("write");
        let err = crate::playbook::load::load_playbook(&pb).expect_err("refused");
        assert!(
            err.to_string().contains("only `connection: local`"),
            "{err}"
        );
    }
}
