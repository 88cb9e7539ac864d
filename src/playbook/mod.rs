//! The host-independent model of a playbook: plays, roles and tasks as the user
//! wrote them, checked but not yet rendered.
//!
//! Loading resolves everything that does not depend on a host — role paths, role
//! dependencies, static imports, module names and their argument names, handler
//! names — so that a typo fails the run before any host is contacted. Rendering
//! (variables, templates, conditions) happens later, per host, in `compile`.

mod action_groups;
pub use action_groups::ActionGroups;
mod deferred;
pub use deferred::{render_tags, render_with_play, resolve as resolve_deferred};
mod keywords;
pub use keywords::{is_become_method, is_variable_name, LOCALHOST, MAX_TIMEOUT};
mod load;
mod role;
pub mod serial;
mod task;

use std::path::PathBuf;
use std::sync::Arc;

pub use load::{
    load_playbook, load_playbook_text, load_playbook_with, load_playbooks_with, LoadOptions,
    PLAYBOOK_NOT_FOUND,
};
pub use role::RoleLoader;
pub use rprov_template::kv::parse_free_form;
pub use task::{
    parse_task_list, parse_tasks_file, ActionTemplate, IncludedRole, Inherited, RoleInclude,
    TaskScope,
};

use crate::diag::Origin;

/// Variables as loaded from YAML: not yet rendered.
pub type Vars = indexmap::IndexMap<String, serde_json::Value>;

/// A yes/no keyword as written: a literal, or a template the host renders
/// when the task runs, as ansible-core post-validates its keywords.
#[derive(Clone, Debug, PartialEq)]
pub enum Flag {
    Literal(bool),
    Template(String),
}

#[derive(Debug)]
pub struct Playbook {
    pub path: PathBuf,
    /// The directory of the playbook (`playbook_dir`), where `roles/`,
    /// `group_vars/` and `host_vars/` are looked up.
    pub dir: PathBuf,
    pub plays: Vec<Play>,
    /// The playbook files given on the command line, in order, each with how
    /// many of `plays` it brought: several run as one, as
    /// `ansible-playbook a.yml b.yml` runs them (one recap, facts and failed
    /// hosts carried from one to the next).
    pub files: Vec<(PathBuf, usize)>,
    /// Problems that are not errors under the configuration (a `notify:` of
    /// no handler with `error_on_missing_handler = False`), to show once.
    pub warnings: Vec<String>,
    /// What ansible-core 2.19 still does but will stop doing (a `when:`
    /// written as a template), each said once as its deprecation warning.
    pub deprecations: Vec<String>,
    /// What the playbook's `!vault` values hold, decrypted as it loaded
    /// (see `yaml::vault_values`): the values `is vault_encrypted` is true of.
    pub vault_values: Vec<String>,
    /// ansible.cfg's `error_on_missing_handler`: a notification that reaches
    /// no handler when it is made (a templated name, or a play whose roles
    /// are included at run time) fails the task, else it is a warning.
    pub error_on_missing_handler: bool,
    /// The collections' action groups, for the `module_defaults` of task
    /// files included at run time.
    pub action_groups: ActionGroups,
}

/// One entry of a play's `vars_files`: a file, or a list of them of which
/// the first found is read (Ansible's "conditional include" of vars files).
#[derive(Debug)]
pub struct VarsFile {
    pub names: Vec<String>,
    pub origin: Origin,
}

/// Where `name`, a `vars_files` entry, is read from: as ansible-core's
/// `path_dwim_relative_stack`, `vars/NAME` in the playbook's directory
/// (unless NAME already starts with `vars/`), then `NAME` there. `None` when
/// neither is a file.
pub fn find_vars_file(playbook_dir: &std::path::Path, name: &str) -> Option<PathBuf> {
    vars_file_candidates(playbook_dir, name)
        .into_iter()
        .find(|p| p.is_file())
}

/// The paths [`find_vars_file`] tries, in order.
pub fn vars_file_candidates(playbook_dir: &std::path::Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !name.starts_with('/') && name.split('/').next() != Some("vars") {
        out.push(playbook_dir.join("vars").join(name));
    }
    out.push(playbook_dir.join(name));
    out
}

#[derive(Debug)]
pub struct Play {
    pub name: String,
    pub hosts: String,
    /// `hosts` as written (a list joined with commas), as ansible-playbook
    /// shows it in its listings.
    pub hosts_written: String,
    pub origin: Origin,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    /// `become_method` of the play: sudo or su.
    pub become_method: Option<String>,
    /// `ignore_unreachable` of the play (literal): gathering facts from a
    /// host that cannot be reached is ignored too, as in ansible-core.
    pub ignore_unreachable: bool,
    /// The `remote_user` keyword: the login when no `ansible_user` variable
    /// (from any layer) names one, as in Ansible.
    pub remote_user: Option<String>,
    /// The `connection` keyword (`local`, `ssh`), as the lowest variable
    /// layer `{ansible_connection: …}`: any `ansible_connection` variable
    /// beats it, and it beats ansible.cfg, as in Ansible.
    pub connection: Option<Vars>,
    pub gather_facts: bool,
    /// `fact_path`: the folder of custom facts (`*.fact`) gathering reads
    /// for `ansible_local`, in place of `/etc/ansible/facts.d`.
    pub fact_path: Option<String>,
    /// Conditions of the `import_playbook` that brought the play in: facts
    /// are gathered only on the hosts where they hold, as ansible-core.
    pub gather_when: Vec<String>,
    /// The play's own `environment:` (its tasks have it too): fact
    /// gathering runs with it, as ansible-core's `setup` task does.
    pub environment: Vec<serde_json::Value>,
    /// The play's own `tags` (its tasks have them too, with their own).
    pub tags: Vec<String>,
    /// `any_errors_fatal`: a failed or unreachable host stops the play on all
    /// hosts (tasks inherit it too, see [`Task::any_errors_fatal`]).
    pub any_errors_fatal: bool,
    /// `max_fail_percentage`: stop the play on all hosts once more than this
    /// share of its hosts failed.
    pub max_fail_percentage: Option<f64>,
    /// `force_handlers`: a host whose task failed still runs the handlers
    /// notified so far.
    pub force_handlers: bool,
    /// `order`: the order in which the play's hosts are started.
    pub order: HostOrder,
    /// The play's `strategy` is `linear` (ansible-core's default), not
    /// `free` or `host_pinned`. Hosts go at their own pace either way; it
    /// decides only whether throttled tasks may overlap (see
    /// `engine::throttle_gate`).
    pub linear: bool,
    /// Keywords written as templates (`order`, `strategy`), rendered when
    /// the play starts (see [`resolve_deferred`]); `order` holds the
    /// default until then.
    pub deferred: Vec<deferred::Deferred>,
    /// `serial`: the batches the play runs its hosts in (empty: all at once).
    pub serial: Vec<serial::BatchSize>,
    pub vars: Vars,
    pub vars_files: Vec<VarsFile>,
    /// pre_tasks, then role tasks and tasks, then post_tasks. Notified handlers
    /// run at the end of each section, as in Ansible.
    pub sections: Vec<Vec<Task>>,
    pub handlers: Vec<Task>,
    /// The play's public roles (its `roles:` and every `import_role`, not
    /// `include_role`), in load order: their defaults and vars, with those of
    /// their dependencies, are visible to every task of the play.
    pub roles: Vec<Arc<RoleInstance>>,
    /// Where a dynamic `include_role` finds its role when it runs: the
    /// play's role search paths, with nothing loaded (see
    /// [`RoleLoader::detached`]).
    pub role_loader: RoleLoader,
}

impl Play {
    /// Whether `--tags` and `--skip-tags` select the `meta: flush_handlers`
    /// ansible-core adds after each section of the play: tagged `always`,
    /// with the play's tags.
    pub fn section_flush_selected(&self, tags: &[String], skip_tags: &[String]) -> bool {
        let mut own = self.tags.clone();
        own.push("always".to_string());
        tags_select(&own, tags, skip_tags)
    }

    /// Whether one host's failure can stop the play on every host
    /// (`any_errors_fatal` on the play or on any of its tasks and blocks,
    /// `max_fail_percentage`): such a play runs its hosts in lock-step (see
    /// `engine::lockstep`).
    pub fn stops_every_host(&self) -> bool {
        fn any_fatal(tasks: &[Task]) -> bool {
            tasks.iter().any(|t| {
                t.any_errors_fatal
                    || t.block.as_ref().is_some_and(|b| {
                        any_fatal(&b.block) || any_fatal(&b.rescue) || any_fatal(&b.always)
                    })
            })
        }
        self.any_errors_fatal
            || self.max_fail_percentage.is_some()
            || self.sections.iter().any(|s| any_fatal(s))
    }

    /// Whether the play includes a role when it runs (`include_role` with a
    /// templated name, a loop…): the loader cannot know that role's handlers,
    /// so it leaves the play's notifications to be checked when made.
    pub fn includes_roles_at_run_time(&self) -> bool {
        fn any(tasks: &[Task]) -> bool {
            tasks.iter().any(|t| {
                t.role_include.is_some()
                    || t.block
                        .as_ref()
                        .is_some_and(|b| any(&b.block) || any(&b.rescue) || any(&b.always))
            })
        }
        self.sections.iter().any(|s| any(s)) || any(&self.handlers)
    }
}

/// A play's `order:` keyword.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
    Shuffle,
}

impl HostOrder {
    pub const NAMES: &'static [&'static str] = &[
        "inventory",
        "reverse_inventory",
        "sorted",
        "reverse_sorted",
        "shuffle",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "inventory" => HostOrder::Inventory,
            "reverse_inventory" => HostOrder::ReverseInventory,
            "sorted" => HostOrder::Sorted,
            "reverse_sorted" => HostOrder::ReverseSorted,
            "shuffle" => HostOrder::Shuffle,
            _ => return None,
        })
    }

    /// Puts `hosts` (in inventory order) into this order. `seed` drives
    /// `shuffle`; the same seed gives the same order.
    pub fn arrange(self, hosts: &mut [String], seed: u64) {
        match self {
            HostOrder::Inventory => {}
            HostOrder::ReverseInventory => hosts.reverse(),
            HostOrder::Sorted => hosts.sort(),
            HostOrder::ReverseSorted => {
                hosts.sort();
                hosts.reverse();
            }
            HostOrder::Shuffle => {
                // Fisher-Yates with xorshift64*: no need for a crate to shuffle
                // a host list.
                let mut x = seed | 1;
                for i in (1..hosts.len()).rev() {
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
                    hosts.swap(i, (r % (i as u64 + 1)) as usize);
                }
            }
        }
    }
}

/// What one role brings by itself: its files and the parameters it was
/// applied with (Ansible's `Role` object). Shared by the roles related to it,
/// whose variables it is part of.
#[derive(Debug)]
pub struct RoleData {
    pub name: String,
    pub path: PathBuf,
    pub defaults: Vars,
    pub vars: Vars,
    pub params: Vars,
}

impl RoleData {
    /// `role_name`: a collection's role by its own name (`ansible_role_name`
    /// is the full `ns.coll.role`), any other by the name it was found by
    /// (a Galaxy role `geerlingguy.docker` keeps its dot), as ansible-core's
    /// `get_name(include_role_fqcn=False)`.
    pub fn short_name(&self) -> &str {
        match role::is_collection_role(&self.path) {
            true => self.name.rsplit('.').next().unwrap_or(&self.name),
            false => &self.name,
        }
    }
}

/// `loop_control: extended: true`: each item sees `ansible_loop` (its
/// position, neighbours and the loop's length), as Ansible's TaskExecutor
/// sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopExtended {
    /// `extended_allitems` (default on): `ansible_loop.allitems` too.
    pub allitems: bool,
}

/// A role as applied in a play: its own data and that of the roles around it,
/// from which its tasks' variables are layered as Ansible layers them
/// (`Role.get_default_vars(dep_chain)`, `get_vars`, `get_role_params` and
/// the task-role layers of `VariableManager.get_vars`).
#[derive(Debug)]
pub struct RoleInstance {
    pub own: Arc<RoleData>,
    /// Ansible's dep chain: the roles whose `dependencies:` (or whose tasks'
    /// `import_role`/`include_role`) brought this one in, outermost first.
    /// The same role reached through two roles has two instances, each
    /// seeing its own chain.
    pub parents: Vec<Arc<RoleData>>,
    /// Every dependency, recursively, in the order they run (Ansible's
    /// `get_all_dependencies`).
    pub dependencies: Vec<Arc<RoleData>>,
    /// The roles whose tasks imported this one (or a role that depends on
    /// it), nearest first: `ansible_parent_role_names` and `_paths`.
    pub imported_by: Vec<Arc<RoleData>>,
    /// For a role applied once per host (`roles:` and dependencies, unless
    /// its meta allows duplicates): the role and its parameters, shared by
    /// every application of it. Once an application has run a task on a
    /// host and reached its end there, the later ones are passed over on
    /// that host, as ansible-core's `Role.has_run`.
    pub once_key: Option<Arc<str>>,
}

impl RoleInstance {
    pub fn name(&self) -> &str {
        &self.own.name
    }

    /// The defaults this role shows every task of the play (when public):
    /// its dependencies', then its own.
    pub fn exported_defaults(&self) -> impl Iterator<Item = &Vars> {
        self.dependencies
            .iter()
            .map(|d| &d.defaults)
            .chain([&self.own.defaults])
    }

    /// The role vars (`vars/`) this role shows every task of the play (when
    /// public): its dependencies', then its own.
    pub fn exported_vars(&self) -> impl Iterator<Item = &Vars> {
        self.dependencies
            .iter()
            .map(|d| &d.vars)
            .chain([&self.own.vars])
    }

    /// The defaults its own tasks see above the play's: its dependencies',
    /// then its dep chain's (nearest last), then its own.
    pub fn task_defaults(&self) -> impl Iterator<Item = &Vars> {
        self.dependencies
            .iter()
            .chain(&self.parents)
            .map(|d| &d.defaults)
            .chain([&self.own.defaults])
    }

    /// The role vars its own tasks see: its dep chain's, its dependencies',
    /// then its own.
    pub fn task_vars(&self) -> impl Iterator<Item = &Vars> {
        self.parents
            .iter()
            .chain(&self.dependencies)
            .map(|d| &d.vars)
            .chain([&self.own.vars])
    }

    /// The role params its own tasks see: its dep chain's, then its own.
    pub fn task_params(&self) -> impl Iterator<Item = &Vars> {
        self.parents
            .iter()
            .map(|d| &d.params)
            .chain([&self.own.params])
    }
}

/// One task or handler as written, with the keywords rprov understands.
#[derive(Clone, Debug)]
pub struct Task {
    pub name: Option<String>,
    /// This task is an `include_tasks` of a file named literally or an
    /// `include_role` of a role named literally, expanded when the playbook
    /// loads: its `block` holds the tasks it brings in, which run only if
    /// its own `when` holds when it is reached (decided once, as
    /// ansible-core decides an include's). This is what the include names
    /// on ansible-playbook's `included:` line: the file's absolute path, or
    /// the role.
    pub static_include: Option<String>,
    /// The module's canonical name (`ansible.builtin.` prefix removed).
    pub module: String,
    /// The module's name as the task wrote it (`dpkg_selections`,
    /// `ansible.builtin.copy`): what an unnamed task is called on its task
    /// line, as in Ansible, whatever name it resolved to.
    pub module_written: String,
    /// Module arguments, unrendered. Free-form text (`command: ls`) is kept under
    /// `_raw_params`, as Ansible does.
    pub args: serde_json::Value,
    pub origin: Origin,
    /// Where each argument's value was written (arguments given as a mapping),
    /// so an error in one names its own line.
    pub arg_origins: Vec<(String, Origin)>,
    pub when: Vec<String>,
    pub loop_items: Option<serde_json::Value>,
    pub loop_var: String,
    pub index_var: Option<String>,
    /// `loop_control: extended`: `ansible_loop` set for each item.
    pub loop_extended: Option<LoopExtended>,
    pub loop_label: Option<String>,
    /// `loop_control: pause`: seconds to wait between loop items.
    pub loop_pause: f64,
    /// `loop_control: break_when`: conditions evaluated after each item
    /// (with the item and the registered result of it); when all hold, the
    /// loop stops there, as in ansible-core 2.18+.
    pub loop_break_when: Vec<String>,
    pub register: Option<String>,
    pub changed_when: Option<Vec<String>>,
    pub failed_when: Option<Vec<String>>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<bool>,
    /// `become: "{{ … }}"` of the task or what encloses it (then
    /// `become_` is `None`): rendered with the task's variables when it
    /// runs, as ansible-core templates its keywords (see
    /// `engine::host::remote::HostRunner::reach`).
    pub become_template: Option<String>,
    pub become_user: Option<String>,
    /// `remote_user` of the task or what encloses it (a block, a role
    /// entry, an import; the play's is [`Play::remote_user`]), maybe a
    /// template.
    pub remote_user: Option<String>,
    /// `become_method` of the task or what encloses it: sudo or su.
    pub become_method: Option<String>,
    pub ignore_errors: bool,
    /// `ignore_errors: "{{ … }}"` (as in `ignore_errors: "{{ ansible_check_mode }}"`):
    /// rendered on each host when the task fails; `ignore_errors` is false then.
    pub ignore_errors_template: Option<String>,
    /// `ignore_unreachable`: a host that cannot be reached during this task
    /// stays in the play; the task's result says `unreachable` and the recap
    /// counts it ok and ignored, as ansible-core's.
    pub ignore_unreachable: bool,
    /// `ignore_unreachable: "{{ … }}"`: rendered on each host when the task
    /// starts; `ignore_unreachable` is false then.
    pub ignore_unreachable_template: Option<String>,
    pub no_log: bool,
    /// `no_log: "{{ … }}"` (of the task or what encloses it): rendered on
    /// each host when the task starts, its truth deciding; until then, and
    /// when it cannot be rendered, `no_log` is true (a secret stays hidden).
    pub no_log_template: Option<String>,
    pub diff: Option<bool>,
    pub check_mode: Option<bool>,
    /// `check_mode: "{{ … }}"` (of the task or what encloses it): rendered
    /// on each host when the task starts, deciding as `check_mode` does.
    pub check_mode_template: Option<String>,
    pub vars: Vars,
    /// `environment:` of the play, enclosing blocks, roles and imports and the
    /// task itself, outermost first; each is a mapping once rendered, and an
    /// inner one wins for a name both set.
    pub environment: Vec<serde_json::Value>,
    /// `any_errors_fatal` of the task or what encloses it.
    pub any_errors_fatal: bool,
    /// `throttle`: at most this many hosts run the task at once (0: no limit).
    pub throttle: usize,
    /// `throttle: "{{ … }}"`: rendered on each host when the task starts,
    /// as ansible-core's strategies do; `throttle` is 0 then.
    pub throttle_template: Option<String>,
    /// `timeout` in seconds (command and shell): the command is stopped and
    /// the task fails when it runs longer. As written: a value out of
    /// ansible-core's range fails the task when it runs.
    pub timeout: Option<i64>,
    /// `async` (with `poll`): the command runs for at most this long, and
    /// with `poll: 0` in the background (see [`AsyncJob`]).
    pub async_job: Option<AsyncJob>,
    /// `async`/`poll` as templates (then `async_job` is `None`).
    pub async_template: Option<AsyncTemplate>,
    /// The arguments as one template that renders to a mapping when the
    /// task runs (Ansible's argument splat): `copy: "{{ copy_args }}"` of one
    /// of rprov's modules that runs on the host, or `args: "{{ … }}"` of such
    /// a module or one run through the Ansible fallback. Its mapping goes
    /// under the arguments written as a mapping or `key=value` words, and
    /// over `module_defaults` ([`Task::args_defaults`]), as ansible-core
    /// layers them.
    pub args_template: Option<String>,
    /// The `module_defaults` of a task with an [`Task::args_template`]:
    /// they give what neither the written arguments nor the template do
    /// (without a template they are in `args` already).
    pub args_defaults: serde_json::Map<String, serde_json::Value>,
    pub until: Option<String>,
    pub retries: Option<serde_json::Value>,
    pub delay: Option<serde_json::Value>,
    pub run_once: bool,
    /// `run_once: "{{ … }}"`: rendered on each host when the task starts,
    /// and the task runs once if it is true there; `run_once` is false then.
    pub run_once_template: Option<String>,
    /// A boolean keyword of the task (or its block) whose value is no
    /// boolean, as the message the task fails with when it runs
    /// (ansible-core validates keywords then, not at load).
    pub invalid_keyword: Option<String>,
    /// `delegate_to: localhost`: the task runs on the controller, with the
    /// host's variables.
    pub delegate_local: bool,
    /// `delegate_to` another host (as written; may be a template): the task
    /// runs there, over that host's connection, with this host's variables.
    pub delegate_to: Option<String>,
    /// `delegate_facts`: the facts the task returns (`set_fact`, `setup`,
    /// `include_vars`, any module's `ansible_facts`) go to the host it was
    /// delegated to, not to its own host (see `engine::delegated_facts`).
    /// A template is rendered with the task's variables when its facts
    /// come in (`omit` is no).
    pub delegate_facts: Option<Flag>,
    pub role: Option<Arc<RoleInstance>>,
    /// For tasks from `block:` sections: what to run when this block fails.
    pub block: Option<Arc<Block>>,
    /// `collections:` of the task, else of its play: where a short module
    /// name run through the Ansible fallback is looked up.
    pub collections: Vec<String>,
    /// `action: "{{ name }} args"` (or `module: "{{ name }}"`): the module is
    /// known only when the task runs; see [`task::ActionTemplate`].
    pub action_template: Option<Arc<task::ActionTemplate>>,
    /// `include_role` whose role is known only when it runs (a templated
    /// name or `tasks_from`, a loop, or a task file included at run time):
    /// what it needs to load the role then; see [`task::RoleInclude`].
    pub role_include: Option<Arc<task::RoleInclude>>,
    /// The `apply:` of an `include_tasks` whose file is read when it runs:
    /// the keywords its tasks get, as those of a block around them.
    pub include_apply: Option<Arc<task::IncludeApply>>,
    /// What encloses an `include_tasks` whose file is read when it runs
    /// (blocks, role, play): the file's tasks inherit that and the
    /// include's `vars`, not the include's own keywords, as ansible-core's
    /// `_get_parent_attribute` passes over a dynamic include.
    pub include_inherited: Option<Arc<task::Inherited>>,
    /// A handler of a role a literal `include_role` brings in (expanded when
    /// the playbook loads): it answers notifications on a host only once a
    /// task of its role has run there, as ansible-core adds an included
    /// role's handlers when the include runs.
    pub gated: bool,
    /// The tags of each `include_tasks` or `include_role` this task came
    /// in by, with what those inherited: each must be selected by `--tags`
    /// and `--skip-tags` for the task to run, as an include's tags select
    /// the include, not what it brings in (that takes `apply: {tags: …}`).
    pub include_gates: Vec<Vec<String>>,
}

/// `block:` with its `rescue:` and `always:` parts. The block task itself
/// carries the shared keywords (when, become, tags…), already folded into
/// each inner task at load time.
#[derive(Clone, Debug)]
pub struct Block {
    pub block: Vec<Task>,
    pub rescue: Vec<Task>,
    pub always: Vec<Task>,
}

/// A task's `async` and `poll`, as ansible-core runs a job: with `poll` > 0
/// the task waits for the command, which may run `seconds` at most (the
/// polling itself is rprov's one remote command); with `poll: 0` the command
/// is started in the background and the task goes on at once, leaving a
/// job `async_status` asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncJob {
    pub seconds: u64,
    pub poll: u64,
}

impl AsyncJob {
    /// Started in the background (`poll: 0`).
    pub fn background(&self) -> bool {
        self.poll == 0
    }
}

/// `async` or `poll` written as a template (`async: "{{ timeout | default(omit)
/// }}"`): the host renders both when the task runs (see
/// `engine::host::HostRunner::async_job_of`). Each as written, literal or
/// template; `poll` unset is ansible-core's 15.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncTemplate {
    pub seconds: String,
    pub poll: Option<String>,
}

/// Whether `--tags` and `--skip-tags` select something tagged `own`, as
/// Ansible's: `never` only when asked for by name, `always` unless skipped
/// by name, and the special `all`, `tagged` and `untagged`.
fn tags_select(own: &[String], tags: &[String], skip_tags: &[String]) -> bool {
    // ansible-core's `Taggable.evaluate_tags`: a task without tags is
    // tagged `untagged`; no `--tags` is `--tags all`.
    let untagged = own.is_empty();
    let has = |t: &str| match untagged {
        true => t == "untagged",
        false => own.iter().any(|x| x == t),
    };
    let asked = |list: &[String], t: &str| list.iter().any(|x| x == t);
    let run = match tags.is_empty() {
        true => !has("never"),
        false => {
            has("always")
                || (asked(tags, "all") && !has("never"))
                || tags.iter().any(|t| has(t))
                || (asked(tags, "tagged") && !untagged && !has("never"))
        }
    };
    if !run || skip_tags.is_empty() {
        return run;
    }
    if asked(skip_tags, "all") {
        return has("always") && !asked(skip_tags, "always");
    }
    !(skip_tags.iter().any(|t| has(t)) || (asked(skip_tags, "tagged") && !untagged))
}

impl Task {
    /// Whether rprov added this task itself (a role's `meta:
    /// role_complete` or `meta: role_public`): never listed nor shown.
    pub fn is_implicit(&self) -> bool {
        self.implicit_action().is_some()
    }

    /// The `meta` action of a task rprov added itself (see
    /// [`Task::is_implicit`]).
    pub fn implicit_action(&self) -> Option<&str> {
        if self.module != "meta" {
            return None;
        }
        self.args
            .get("_raw_params")
            .and_then(serde_json::Value::as_str)
            .filter(|a| matches!(*a, "role_complete" | "role_public"))
    }

    /// Whether this handler runs for a `notify:` of `notified`: its name or
    /// one of its `listen:` topics (see [`Task::named`], [`Task::listens_to`]).
    pub fn answers(&self, notified: &str) -> bool {
        self.named(notified) || self.listens_to(notified)
    }

    /// Whether `notified` is this handler's name, or its name after its
    /// role's (`role : name`, the role's full or short name).
    pub fn named(&self, notified: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|n| self.named_as(n, notified))
    }

    /// [`Task::named`] with the handler's name as rendered (`name`).
    pub fn named_as(&self, name: &str, notified: &str) -> bool {
        self.role_qualified(name, notified)
    }

    /// Whether `notified` is one of this handler's `listen:` topics, alone
    /// or after its role's name, as ansible-core's handlers listen.
    pub fn listens_to(&self, notified: &str) -> bool {
        self.listen
            .iter()
            .any(|topic| self.role_qualified(topic, notified))
    }

    /// `notified` is `own`, or `role : own` for this task's role.
    fn role_qualified(&self, own: &str, notified: &str) -> bool {
        if own == notified {
            return true;
        }
        let (Some(role), Some((prefix, rest))) = (&self.role, notified.split_once(" : ")) else {
            return false;
        };
        let full = role.name();
        let short = full.rsplit('.').next().unwrap_or(full);
        rest == own && (prefix == full || prefix == short)
    }

    /// Whether `--tags` and `--skip-tags` select this task, as Ansible's:
    /// `never` only when asked for by name, `always` unless skipped by name,
    /// and the special `all`, `tagged` and `untagged`.
    pub fn selected_by(&self, tags: &[String], skip_tags: &[String]) -> bool {
        self.selected_with(&self.tags, tags, skip_tags)
    }

    /// [`Task::selected_by`] with the task's tags as `own` (its templated
    /// ones rendered, see `render_tags`).
    pub fn selected_with(&self, own: &[String], tags: &[String], skip_tags: &[String]) -> bool {
        tags_select(own, tags, skip_tags)
            && self
                .include_gates
                .iter()
                .all(|gate| tags_select(gate, tags, skip_tags))
    }

    /// Where argument `key` was written, or the task when not known.
    pub fn arg_origin(&self, key: &str) -> &Origin {
        self.arg_origins
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&self.origin, |(_, o)| o)
    }

    /// What an unnamed task is called, as ansible-core's `get_name`: the
    /// module as written, not what it resolved to; an `include_role` adds
    /// the role as written (`include_role : web`, `IncludeRole.get_name`).
    pub fn unnamed(&self) -> String {
        match (self.module.as_str(), self.args.get("name")) {
            ("include_role", Some(serde_json::Value::String(role))) => {
                format!("{} : {role}", self.module_written)
            }
            _ => self.module_written.clone(),
        }
    }

    /// The name shown in output: the task's name or, as Ansible does, the module.
    pub fn display_name(&self) -> String {
        let base = self.name.clone().unwrap_or_else(|| self.module.clone());
        match &self.role {
            Some(role) => format!("{} : {}", role.name(), base),
            None => base,
        }
    }
}
