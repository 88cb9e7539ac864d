//! Modules: what a task does on a host.
//!
//! A module is a pure decision over facts: [`plan`] reads the host state it
//! needs through [`PlanCx`] (asking for a probe when it is not known yet) and
//! returns a [`Decision`] — nothing to do, a change with its diff and the action
//! that makes it, or an action whose effect cannot be known without running it.
//! Modules never see check mode: the executor decides whether an action runs.
//!
//! Adding a module: a file here with its `plan` function, and a line in [`SPECS`]
//! (docs/adding-a-module.md walks through one).

pub mod ansible_fallback;
pub mod ansible_jinja;
pub mod args;
pub mod change;
pub(crate) mod command;
pub use command::NOT_FOUND_MARK;
mod copy;
mod copy_remote_tree;
pub(crate) use copy::vault_plaintext;
mod copy_tree;
mod cron;
mod deb822_repository;
mod debconf;
mod encoding;
mod fetch;
mod file;
mod file_times;
mod files;
mod find;
mod get_url;
mod getent;
mod known_hosts;
pub mod library_module;
mod mode;
pub mod refuse;
mod replace;
mod script;
mod service_facts;
pub(crate) mod setup;
mod slurp;
mod stat;
mod tempfile;
pub(crate) mod typed;
mod unarchive;
// System modules: users, packages, lines in files, host identity, firewall.
mod apt;
mod apt_key;
mod apt_repository;
mod assemble;
pub(crate) mod async_status;
mod authorized_key;
mod authorized_keys_file;
mod blockinfile;
mod hostname;
mod lineinfile;
mod sysargs;
mod sysctl;
#[cfg(test)]
pub(crate) mod testing;
mod timezone;
mod ufw;
mod user;
// systemd, rootless podman and waiting on services.
mod quadlet;
mod rolling_restart;
mod systemd;
mod uri;
mod user_scope;
mod wait_for;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};

use crate::probe::{Fact, FileState, Probe};

pub use args::{Arg, Kind};

/// A module's name and the arguments it accepts, checked when a playbook
/// loads and again, for templated values, when a task is planned (see
/// [`args`]).
pub struct ModuleSpec {
    pub name: &'static str,
    pub args: &'static [Arg],
    /// Takes free-form text (`command: ls -l`).
    pub free_form: bool,
    /// Where it runs (see [`Runs`]).
    pub runs: Runs,
    /// Takes any other argument names as well (`add_host`: they are the
    /// new host's variables; `set_fact`: the variables it sets); the named
    /// ones are still checked. A module with no arguments that is not open
    /// takes none (`service_facts`).
    pub open: bool,
    /// The module that does the work and takes the arguments this one does
    /// not name, as ansible-core's `package` action hands them to the
    /// package manager's module (`package: {name: x, update_cache: true}`
    /// is apt's `update_cache`).
    pub passes_to: Option<&'static str>,
    /// Its decision, for a module that runs on the host: the one place
    /// that says which function plans a task of this name.
    pub plan: Option<PlanFn>,
}

/// A host module's decision over the facts it asks for.
pub type PlanFn = fn(&PlanCx) -> Result<Decision, PlanError>;

/// Where a module runs, which decides how the engine treats its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runs {
    /// On the host: probe, plan against what the probe found, apply.
    Host,
    /// On the controller only (debug, set_fact…): no probe, no remote
    /// command. The engine runs it through its registry of local modules.
    Controller,
    /// Not over the open connection: it closes it and logs in afresh until
    /// the host answers (`wait_for_connection`, `reboot`), with no decision
    /// over facts.
    Reconnect,
}

impl ModuleSpec {
    /// Whether it runs on the controller only (see [`Runs::Controller`]).
    pub fn is_local(&self) -> bool {
        self.runs == Runs::Controller
    }

    /// The argument called `name`, if the module takes it.
    pub fn arg(&self, name: &str) -> Option<&'static Arg> {
        self.args
            .iter()
            .find(|a| a.name == name)
            .or_else(|| self.passed_to()?.arg(name))
    }

    /// The argument names, in the order they are documented (its own, then
    /// those of the module it passes the others to).
    pub fn arg_names(&self) -> impl Iterator<Item = &'static str> {
        let own = self.args.iter().map(|a| a.name);
        let passed = self
            .passed_to()
            .into_iter()
            .flat_map(|s| s.args.iter().map(|a| a.name))
            .filter(|n| !self.args.iter().any(|a| a.name == *n));
        own.chain(passed)
    }

    /// The spec of [`Self::passes_to`].
    fn passed_to(&self) -> Option<&'static ModuleSpec> {
        self.passes_to.and_then(spec)
    }
}

/// `[ "name", "state": Choice(&[…]), … ]`: an argument is text unless its
/// kind is given.
macro_rules! args {
    ($($arg:literal $(: $kind:expr)?),* $(,)?) => {
        &[$(Arg { name: $arg, kind: args!(@kind $($kind)?) }),*]
    };
    (@kind) => { Kind::Str };
    (@kind $k:expr) => { $k };
}

macro_rules! spec {
    // A module whose arguments are a `module_args!` struct: its table is the struct's.
    // `=> plan` is its decision (see [`ModuleSpec::plan`]).
    ($name:literal, typed $args:path => $plan:path) => {
        ModuleSpec { name: $name, args: <$args>::ARGS, free_form: false, runs: Runs::Host, open: false, passes_to: None, plan: Some($plan) }
    };
    // A module that hands the arguments it does not name to another
    // module, which checks them (`package` → `apt`).
    ($name:literal, typed $args:path => $plan:path, passes to $to:literal) => {
        ModuleSpec { name: $name, args: <$args>::ARGS, free_form: false, runs: Runs::Host, open: false, passes_to: Some($to), plan: Some($plan) }
    };
    ($name:literal, free typed $args:path => $plan:path) => {
        ModuleSpec { name: $name, args: <$args>::ARGS, free_form: true, runs: Runs::Host, open: false, passes_to: None, plan: Some($plan) }
    };
    // The same, for a module that runs on the controller.
    ($name:literal, local typed $args:path) => {
        ModuleSpec { name: $name, args: <$args>::ARGS, free_form: false, runs: Runs::Controller, open: false, passes_to: None, plan: None }
    };
    ($name:literal, local free typed $args:path) => {
        ModuleSpec { name: $name, args: <$args>::ARGS, free_form: true, runs: Runs::Controller, open: false, passes_to: None, plan: None }
    };
    ($name:literal, [$($t:tt)*]) => {
        ModuleSpec { name: $name, args: args!($($t)*), free_form: false, runs: Runs::Host, open: false, passes_to: None, plan: None }
    };
    ($name:literal, free, [$($t:tt)*]) => {
        ModuleSpec { name: $name, args: args!($($t)*), free_form: true, runs: Runs::Host, open: false, passes_to: None, plan: None }
    };
    ($name:literal, local, [$($t:tt)*]) => {
        ModuleSpec { name: $name, args: args!($($t)*), free_form: false, runs: Runs::Controller, open: false, passes_to: None, plan: None }
    };
    ($name:literal, local free, [$($t:tt)*]) => {
        ModuleSpec { name: $name, args: args!($($t)*), free_form: true, runs: Runs::Controller, open: false, passes_to: None, plan: None }
    };
    ($name:literal, reconnects, [$($t:tt)*]) => {
        ModuleSpec { name: $name, args: args!($($t)*), free_form: false, runs: Runs::Reconnect, open: false, passes_to: None, plan: None }
    };
}

/// `include_role` takes what `import_role` takes, and `apply` (last).
const INCLUDE_ROLE_ARGS: &[Arg] = args![
    "name",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "allow_duplicates": Kind::Bool,
    "public": Kind::Bool,
    "rolespec_validate": Kind::Bool,
    "apply": Kind::Any,
];
const IMPORT_ROLE_ARGS: &[Arg] = match INCLUDE_ROLE_ARGS.split_last() {
    Some((_, rest)) => rest,
    None => &[],
};

pub static SPECS: &[ModuleSpec] = &[
    spec!("copy", typed copy::Args => copy::plan_copy),
    spec!("template", typed copy::TemplateArgs => copy::plan_template),
    spec!("assemble", typed assemble::Args => assemble::plan),
    spec!("file", typed file::Args => file::plan),
    spec!("command", free typed command::Args => command::plan),
    spec!("shell", free typed command::ShellArgs => command::plan),
    spec!("raw", free typed command::RawArgs => command::plan),
    spec!("script", free typed script::Args => script::plan),
    spec!("stat", typed stat::Args => stat::plan),
    spec!("async_status", typed async_status::Args => async_status::plan),
    spec!("get_url", typed get_url::Args => get_url::plan),
    spec!("unarchive", typed unarchive::Args => unarchive::plan),
    spec!("find", typed find::Args => find::plan),
    spec!("setup", typed setup::Args => setup::plan),
    spec!("gather_facts", typed setup::GatherArgs => setup::plan_gather),
    spec!("service_facts", typed service_facts::Args => service_facts::plan),
    spec!("slurp", typed slurp::Args => slurp::plan),
    spec!("fetch", typed fetch::Args => fetch::plan),
    spec!("known_hosts", typed known_hosts::Args => known_hosts::plan),
    spec!("getent", typed getent::Args => getent::plan),
    spec!("tempfile", typed tempfile::Args => tempfile::plan),
    spec!("debug", local typed crate::engine::local_args::Debug),
    spec!("assert", local typed crate::engine::local_args::Assert),
    spec!("fail", local typed crate::engine::local_args::Fail),
    spec!(
        "validate_argument_spec",
        local typed crate::engine::local_args::ValidateArgumentSpec
    ),
    spec!("pause", local typed crate::engine::local_args::Pause),
    spec!("set_stats", local typed crate::engine::local_args::SetStats),
    spec!("include_vars", local free typed crate::engine::local_args::IncludeVars),
    spec!("group_by", local typed crate::engine::local_args::GroupBy),
    ModuleSpec {
        name: "add_host",
        args: crate::engine::local_args::AddHost::ARGS,
        free_form: false,
        runs: Runs::Controller,
        open: true,
        passes_to: None,
        plan: None,
    },
    // Takes any names: they are the variables it sets.
    ModuleSpec {
        name: "set_fact",
        args: &[],
        free_form: false,
        runs: Runs::Controller,
        open: true,
        passes_to: None,
        plan: None,
    },
    spec!("meta", local free, []),
    spec!("ping", typed PingArgs => plan_ping),
    spec!("include_tasks", local free, ["file", "apply": Kind::Any]),
    spec!("import_tasks", local free, ["file"]),
    ModuleSpec {
        name: "import_role",
        args: IMPORT_ROLE_ARGS,
        free_form: false,
        runs: Runs::Controller,
        open: false,
        passes_to: None,
        plan: None,
    },
    ModuleSpec {
        name: "include_role",
        args: INCLUDE_ROLE_ARGS,
        free_form: false,
        runs: Runs::Controller,
        open: false,
        passes_to: None,
        plan: None,
    },
    spec!("user", typed user::UserArgs => user::plan_user),
    spec!("group", typed user::group::GroupArgs => user::group::plan_group),
    spec!("authorized_key", typed authorized_key::Args => authorized_key::plan),
    spec!("apt", typed apt::Args => apt::plan),
    spec!("deb822_repository", typed deb822_repository::Args => deb822_repository::plan),
    spec!("apt_repository", typed apt_repository::Args => apt_repository::plan),
    spec!("apt_key", typed apt_key::Args => apt_key::plan),
    spec!("package", typed apt::PackageArgs => apt::plan, passes to "apt"),
    spec!("lineinfile", typed lineinfile::Args => lineinfile::plan),
    spec!("replace", typed replace::Args => replace::plan),
    spec!("blockinfile", typed blockinfile::Args => blockinfile::plan),
    spec!("cron", typed cron::Args => cron::plan),
    spec!("debconf", typed debconf::Args => debconf::plan),
    spec!("hostname", typed hostname::Args => hostname::plan),
    spec!("timezone", typed timezone::Args => timezone::plan),
    spec!("sysctl", typed sysctl::Args => sysctl::plan),
    spec!("ufw", typed ufw::Args => ufw::plan),
    spec!("systemd", typed systemd::Args => systemd::plan),
    spec!("systemd_service", typed systemd::Args => systemd::plan),
    spec!("service", typed systemd::Args => systemd::plan),
    spec!("quadlet", typed quadlet::Args => quadlet::plan),
    spec!("rolling_restart", typed rolling_restart::Args => rolling_restart::plan),
    spec!("uri", typed uri::Args => uri::plan),
    spec!(
        "wait_for_connection",
        reconnects,
        [
            "connect_timeout": Kind::Int,
            "delay": Kind::Int,
            "sleep": Kind::Int,
            "timeout": Kind::Int,
        ]
    ),
    spec!("wait_for", typed wait_for::Args => wait_for::plan),
    spec!(
        "reboot",
        reconnects,
        [
            "boot_time_command",
            "connect_timeout": Kind::Int,
            "msg",
            "post_reboot_delay": Kind::Num,
            "pre_reboot_delay": Kind::Num,
            "reboot_command",
            "reboot_timeout": Kind::Int,
            "search_paths": Kind::List,
            "test_command",
        ]
    ),
];

/// Collections whose module names rprov accepts with their prefix.
const PREFIXES: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "ansible.posix.",
    "community.general.",
];

/// `ansible.builtin.copy` → `copy`.
pub fn canonical_name(name: &str) -> &str {
    PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// The module reject list of the run (`plugin_filters_cfg`), set once by the CLI.
static REJECTED: std::sync::OnceLock<crate::ansible_cfg::plugin_filters::Rejected> =
    std::sync::OnceLock::new();

/// Sets the run's module reject list. Called once, by the CLI.
pub fn set_rejected(rejected: crate::ansible_cfg::plugin_filters::Rejected) {
    let _ = REJECTED.set(rejected);
}

/// The filter file that rejects module `name` (short or `ansible.builtin.`
/// name), if one does.
pub fn rejected_by(name: &str) -> Option<&'static Path> {
    let r = REJECTED.get()?;
    r.modules
        .contains(canonical_name(name))
        .then_some(r.file.as_path())
}

pub fn spec(name: &str) -> Option<&'static ModuleSpec> {
    SPECS.iter().find(|s| s.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

/// A change to show the user: a file's old and new text and/or attribute changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    pub path: String,
    /// Old and new text, when the content changes (None for binary or unknown).
    pub before: Option<String>,
    pub after: Option<String>,
    /// One line per attribute change: `mode: 0644 → 0600`, `state: absent → directory`.
    pub attrs: Vec<String>,
}

/// How the executor reads the output of an [`Action`].
#[derive(Clone, Copy, Debug)]
pub enum OutputMode {
    /// Exit 0 means done; anything else fails the task with the stderr text.
    Checked,
    /// A command's result: rc, stdout, stderr go into the registered result.
    /// `strip`: trailing line breaks are cut from stdout and stderr
    /// (`strip_empty_ends`, on by default as in Ansible).
    Command { strip: bool },
    /// The module reads the output itself (status, stdout, stderr) into
    /// result entries; `failed: true` among them fails the task with their
    /// `msg`, and `changed: false` reports it as ok. It must fail exactly
    /// when the status is not 0: a batch of changes (`engine::host::batch`)
    /// goes on past one that exited 0.
    Parse(ParseOutput),
}

/// See [`OutputMode::Parse`].
pub type ParseOutput = fn(i32, &str, &str) -> Map<String, Json>;

/// What must run on the host to make a change.
#[derive(Clone, Debug)]
pub struct Action {
    pub script: String,
    pub stdin: Option<Vec<u8>>,
    pub output: OutputMode,
    /// The result the task registers when the action succeeds (before rc/stdout).
    pub result: Map<String, Json>,
    /// Paths whose cached state is stale after this action.
    pub touches: Vec<String>,
    /// The action may change anything (a command): forget every cached fact.
    pub touches_everything: bool,
    /// The typed changes `script` was rendered from (see [`change`]): every
    /// module's action is made by [`change::checked`] or [`change::action`].
    pub changes: Vec<change::Change>,
}

#[derive(Clone, Debug)]
pub enum Decision {
    /// Already as desired.
    Ok {
        result: Map<String, Json>,
        msg: Option<String>,
    },
    /// A known change, shown as `diff`, made by `action`.
    Change { diffs: Vec<Diff>, action: Action },
    /// An action whose effect can only be known by running it (`command`).
    /// `waits_for` says what `--check`, which does not run it, cannot know
    /// (the answer of a URL, a port, a command's effect): shown on the task's
    /// `unknown` line.
    Run { action: Action, waits_for: String },
    /// An action that only reads the host (`async_status` asking about a
    /// job): run in `--check` too, as ansible-core runs a module that
    /// supports check mode.
    Read { action: Action },
    /// As desired by what the probe read, but what it read may be stale and
    /// `action` refreshes it before acting on the fresh state: `apt` with
    /// `update_cache` and packages that need nothing by the old cache, where a
    /// cache update alone is no change but the refreshed cache may offer an
    /// upgrade. A run performs `action`, whose `OutputMode::Parse` says
    /// whether anything changed; check mode reports `ok` with `msg` and does
    /// not refresh, as Ansible's apt module in check mode judges by the old
    /// cache. Modules still never see check mode: the executor decides.
    Refresh {
        result: Map<String, Json>,
        msg: Option<String>,
        action: Action,
    },
    /// Ansible's own module, run on the host through the fallback
    /// ([`ansible_fallback`]): in check mode too, with `_ansible_check_mode`,
    /// since the module itself says what it would do.
    Fallback(Box<ansible_fallback::Fallback>),
    /// A file to write on the controller, not the host (`fetch`): the
    /// executor writes it unless in check mode, where it reports the change.
    WriteLocal(Box<LocalWrite>),
}

/// What [`Decision::WriteLocal`] writes. The bytes were read from the host
/// by the probe, so writing needs no further remote command.
#[derive(Clone, Debug)]
pub struct LocalWrite {
    /// The controller path, replaced atomically (parents created).
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// What `--check` and `--diff` show.
    pub diffs: Vec<Diff>,
    /// The result the task registers.
    pub result: Map<String, Json>,
}

impl Decision {
    /// The result a run registers when this decision is all it does (`Ok`)
    /// or what its action starts from (`Change`); `None` for a decision
    /// whose result only running tells.
    pub fn result_mut(&mut self) -> Option<&mut Map<String, Json>> {
        match self {
            Decision::Ok { result, .. } => Some(result),
            Decision::Change { action, .. } => Some(&mut action.result),
            Decision::WriteLocal(w) => Some(&mut w.result),
            _ => None,
        }
    }
}

/// Why `plan` did not decide.
#[derive(Debug)]
pub enum PlanError {
    /// These facts are needed first; plan again once they are known.
    Need(Vec<Probe>),
    /// The task cannot be done as written (bad argument value, missing source).
    Fail(String),
    /// The host lacks something the task needs — a user, a unit, a file —
    /// that an earlier task of the run may be about to create (`user`, `apt`,
    /// `quadlet`). A failure, except in check mode after changes that were
    /// not made: then what the host would have cannot be known, and the
    /// task is `unknown` rather than a guessed failure.
    Missing(String),
}

impl From<String> for PlanError {
    fn from(s: String) -> Self {
        PlanError::Fail(s)
    }
}

/// Where a task finds its `src` files and templates: the role first, then the
/// playbook, as Ansible searches.
#[derive(Clone, Debug, Default)]
pub struct SearchPaths {
    pub role_path: Option<PathBuf>,
    pub task_dir: Option<PathBuf>,
    pub playbook_dir: PathBuf,
}

impl SearchPaths {
    /// Finds `src` in `kind` (`files` or `templates`) directories.
    pub fn find(&self, kind: &str, src: &str) -> Result<PathBuf, String> {
        let p = Path::new(src);
        if p.is_absolute() {
            return if p.exists() {
                Ok(p.to_path_buf())
            } else {
                Err(format!("source file `{src}` not found"))
            };
        }
        let mut tried = Vec::new();
        if let Some(r) = &self.role_path {
            tried.push(r.join(kind).join(p));
            tried.push(r.join(p));
        }
        if let Some(t) = &self.task_dir {
            tried.push(t.join(kind).join(p));
            tried.push(t.join(p));
        }
        tried.push(self.playbook_dir.join(kind).join(p));
        tried.push(self.playbook_dir.join(p));
        // Keep the first of each path: the task's directory is often the playbook's.
        let mut seen = std::collections::HashSet::new();
        tried.retain(|p| seen.insert(p.clone()));
        tried.iter().find(|c| c.exists()).cloned().ok_or_else(|| {
            format!(
                "source `{src}` not found; looked in {}",
                tried
                    .iter()
                    .map(|t| crate::diag::display_path(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

/// Renders a template file (its path) with the task's variables and the
/// `template` module's whitespace options.
pub type RenderFile<'a> =
    dyn Fn(&Path, &rprov_template::FileOptions) -> Result<String, String> + 'a;

/// Everything `plan` may read: rendered arguments and the facts known so far.
pub struct PlanCx<'a> {
    pub module: &'a str,
    pub args: &'a Map<String, Json>,
    pub facts: &'a HashMap<Probe, Fact>,
    pub search: &'a SearchPaths,
    /// The host's inventory name: `fetch` stores its copy under it.
    pub inventory_hostname: &'a str,
    /// Old content is fetched for diffs only when the user will see them.
    pub want_diff: bool,
    /// Renders a template file with the task's variables.
    pub render: &'a RenderFile<'a>,
    /// The `--vault-password-file` password, for `copy` of a vault-encrypted
    /// source (`decrypt: yes`, Ansible's default).
    pub vault_password: Option<&'a [u8]>,
    /// `environment:` of the task, rendered.
    pub environment: &'a Map<String, Json>,
    /// The task's `timeout` in seconds (command and shell only; the loader
    /// refuses it on other modules).
    pub timeout: Option<u64>,
    /// The task's `async` job (command and shell only, as `timeout`).
    pub async_job: Option<crate::playbook::AsyncJob>,
    /// `ansible_async_dir`: where jobs leave their files on the host.
    pub async_dir: &'a async_status::AsyncDir,
    /// `ansible_python_module_rlimit_nofile`: the limit of open files the
    /// programs a task runs (`command`, `shell`, `script`) start with, as
    /// ansible-core's module wrapper sets it before its module runs them.
    pub open_files: Option<u64>,
}

impl PlanCx<'_> {
    pub fn file(&self, path: &str, follow: bool) -> Result<FileState, PlanError> {
        let probe = Probe::File {
            path: path.to_string(),
            follow,
        };
        match self.facts.get(&probe) {
            Some(Fact::File(s)) => Ok(s.clone()),
            _ => Err(PlanError::Need(vec![probe])),
        }
    }

    /// The states of several paths, asking for all that are not known in one
    /// [`PlanError::Need`] (one probe batch, not one round trip each).
    pub fn files(&self, paths: &[String], follow: bool) -> Result<Vec<FileState>, PlanError> {
        all_known(paths, |p| self.file(p, follow))
    }

    /// What is at each of `paths` (a directory, a file, nothing): from a
    /// stat when one was read, else from what rprov itself made (a
    /// directory made by an earlier task is one without asking); the paths
    /// not known are asked for as stats, in one [`PlanError::Need`].
    pub fn kinds(&self, paths: &[String]) -> Result<Vec<crate::probe::FileKind>, PlanError> {
        all_known(paths, |p| {
            let kind = Probe::Kind {
                path: p.to_string(),
            };
            match self.facts.get(&kind) {
                Some(Fact::Kind(k)) => Ok(k.clone()),
                _ => self.file(p, false).map(|st| st.kind),
            }
        })
    }

    /// The contents of several paths, asking for all that are not known in
    /// one [`PlanError::Need`], as [`Self::files`].
    pub fn contents(&self, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>, PlanError> {
        all_known(paths, |p| self.content(p))
    }

    pub fn content(&self, path: &str) -> Result<Option<Vec<u8>>, PlanError> {
        let probe = Probe::Content {
            path: path.to_string(),
        };
        match self.facts.get(&probe) {
            Some(Fact::Content(c)) => Ok(c.clone()),
            _ => Err(PlanError::Need(vec![probe])),
        }
    }

    pub fn tree_differs(&self, probe: Probe) -> Result<bool, PlanError> {
        match self.facts.get(&probe) {
            Some(Fact::TreeDiffers(b)) => Ok(*b),
            _ => Err(PlanError::Need(vec![probe])),
        }
    }

    /// The stdout of a read-only shell snippet, run in the host's probe batch.
    /// Its answer is asked again after any action (nothing says what it read).
    fn read(&self, script: &str) -> Result<String, PlanError> {
        self.text(Probe::Shell {
            script: script.to_string(),
        })
    }

    /// The answers to typed `reads`, one section each, asked in the host's
    /// probe batch like [`Self::read`] (and, like it, asked again after any
    /// action).
    pub fn ask(&self, reads: &[change::Read]) -> Result<Vec<String>, PlanError> {
        let out = self.read(&change::read::render(reads))?;
        Ok(sysargs::sections(&out, reads.len()))
    }

    /// [`Self::ask`] of one read: its whole output.
    pub fn ask_one(&self, read: change::Read) -> Result<String, PlanError> {
        self.read(&change::read::render(std::slice::from_ref(&read)))
    }

    /// [`Self::ask_one`] of a read about `path` alone: its answer stays good
    /// until an action touches that path.
    pub fn ask_about(&self, path: &str, read: change::Read) -> Result<String, PlanError> {
        self.text(Probe::PathShell {
            path: path.to_string(),
            script: change::read::render(std::slice::from_ref(&read)),
        })
    }

    fn text(&self, probe: Probe) -> Result<String, PlanError> {
        match self.facts.get(&probe) {
            Some(Fact::Text(s)) => Ok(s.clone()),
            _ => Err(PlanError::Need(vec![probe])),
        }
    }

    /// A path as ansible-core's `type='path'` expands it on the host, for
    /// the user the task becomes: `$NAME` and `${NAME}` as that variable of
    /// the host's environment (left as written when it is unset or empty),
    /// then `~` and `~/…` as its `$HOME`, and `~name/…` as that user's home
    /// directory.
    pub fn expand_home(&self, path: &str) -> Result<String, PlanError> {
        let expanded = self.expand_vars(path)?;
        let path = expanded.as_str();
        let Some(rest) = path.strip_prefix('~') else {
            return Ok(path.to_string());
        };
        let i = rest.find('/').unwrap_or(rest.len());
        let (name, tail) = rest.split_at(i);
        let home = if name.is_empty() {
            self.ask_one(change::Read::Output(vec!["printenv".into(), "HOME".into()]))?
        } else {
            let entry = self.ask_one(change::Read::Getent {
                db: "passwd",
                key: name.to_string(),
            })?;
            match entry.trim().split(':').nth(5) {
                Some(h) => h.to_string(),
                None => return Ok(path.to_string()),
            }
        };
        let home = home.trim();
        if home.is_empty() {
            return Err(PlanError::Fail(format!(
                "`{path}`: the host's user has no $HOME to expand `~` with; give `path` in full"
            )));
        }
        Ok(format!("{}{tail}", home.trim_end_matches('/')))
    }

    /// Python's `os.path.expandvars` with the host's environment: each
    /// `$NAME` or `${NAME}` (letters, digits, `_`) that the host's
    /// environment sets (not empty), replaced by its value. A name is only
    /// ever an argument of `printenv`, never shell text; every name not yet
    /// known is asked for in the same probe round.
    fn expand_vars(&self, path: &str) -> Result<String, PlanError> {
        let missing = std::cell::RefCell::new(Vec::new());
        let failed = std::cell::RefCell::new(None);
        let out = rprov_template::filters::path::expand_vars_with(path, |name| {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            match self.ask_one(change::Read::Output(vec!["printenv".into(), name.into()])) {
                Ok(v) => {
                    Some(v.strip_suffix('\n').unwrap_or(&v).to_string()).filter(|v| !v.is_empty())
                }
                Err(PlanError::Need(n)) => {
                    missing.borrow_mut().extend(n);
                    None
                }
                Err(e) => {
                    failed.borrow_mut().get_or_insert(e);
                    None
                }
            }
        });
        if let Some(e) = failed.into_inner() {
            return Err(e);
        }
        let missing = missing.into_inner();
        if !missing.is_empty() {
            return Err(PlanError::Need(missing));
        }
        Ok(out)
    }

    pub fn str_arg(&self, key: &str) -> Result<Option<String>, PlanError> {
        match self.args.get(key) {
            None | Some(Json::Null) => Ok(None),
            // Python's `str()` (`True`, `['a']`), as ansible-core converts a
            // `str` argument.
            Some(other) => Ok(Some(args::py_text(other))),
        }
    }
}

/// Decides what a host module would do. Local modules (debug, set_fact…) are
/// handled by the executor itself.
pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    // Values written with variables are checked here, once rendered; the
    // literal ones already were when the playbook loaded. (Their kinds are
    // checked when the executor renders them: `HostRunner::render_args`.)
    for (key, value) in cx.args {
        if let Some(r) = refuse::refusal(cx.module, key, value) {
            return Err(PlanError::Fail(format!("{}\n= help: {}", r.msg, r.hint)));
        }
    }
    let expanded = home_paths(cx)?;
    let with_homes;
    let cx = match &expanded {
        Some(args) => {
            with_homes = PlanCx { args, ..*cx };
            &with_homes
        }
        None => cx,
    };
    let mut decision = with_unsafe_writes(cx, with_attributes(cx, plan_module(cx)?)?)?;
    if cx.want_diff {
        register_diff(cx.module, &mut decision);
    }
    Ok(decision)
}

/// `decision` with `extra` done after what it does (an `Ok` becomes a
/// change of `path`), and `line` added to its diff: for arguments every file
/// module takes (`attributes`, `file`'s times).
pub(crate) fn extend_decision(
    decision: Decision,
    path: &str,
    extra: Vec<change::Change>,
    line: String,
) -> Result<Decision, PlanError> {
    match decision {
        Decision::Ok { mut result, .. } => {
            result.insert("changed".into(), Json::Bool(true));
            let mut action = change::action(extra, path)?;
            action.result = result;
            action.touches = vec![path.to_string()];
            Ok(Decision::Change {
                diffs: vec![Diff {
                    path: path.to_string(),
                    attrs: vec![line],
                    ..Diff::default()
                }],
                action,
            })
        }
        Decision::Change {
            mut diffs,
            mut action,
        } => {
            action.changes.extend(extra);
            let change::Rendered { script, stdin } = change::render(&action.changes)?;
            action.script = script;
            action.stdin = stdin;
            action.result.insert("changed".into(), Json::Bool(true));
            match diffs.iter_mut().find(|d| d.path == path) {
                Some(d) => d.attrs.push(line),
                None => diffs.push(Diff {
                    path: path.to_string(),
                    attrs: vec![line],
                    ..Diff::default()
                }),
            }
            Ok(Decision::Change { diffs, action })
        }
        other => Ok(other),
    }
}

/// The modules that take ansible-core's `attributes` (`attr`): the file's
/// `chattr` flags.
const ATTRIBUTE_MODULES: &[&str] = &[
    "file",
    "copy",
    "template",
    "lineinfile",
    "blockinfile",
    "replace",
    "assemble",
];

/// ansible-core's `attributes` (`set_attributes_if_different`): `+i` adds,
/// `-i` removes, `i` or `=i` sets exactly; `chattr` runs when `lsattr`'s
/// flags (dashes dropped) are not the text given, or always for `-`, as
/// ansible-core compares them.
fn with_attributes(cx: &PlanCx, decision: Decision) -> Result<Decision, PlanError> {
    if !ATTRIBUTE_MODULES.contains(&cx.module) {
        return Ok(decision);
    }
    let Some(wanted) = ["attributes", "attr"]
        .iter()
        .find_map(|k| cx.args.get(*k).filter(|v| !v.is_null()))
        .map(args::py_text)
    else {
        return Ok(decision);
    };
    let result = match &decision {
        Decision::Ok { result, .. } => result,
        Decision::Change { action, .. } => &action.result,
        _ => return Ok(decision),
    };
    if matches!(
        result.get("state").and_then(Json::as_str),
        Some("absent" | "link" | "hard")
    ) {
        return Ok(decision);
    }
    let Some(path) = ["dest", "path"]
        .iter()
        .find_map(|k| result.get(*k).and_then(Json::as_str))
        .map(str::to_string)
    else {
        return Ok(decision);
    };
    let (op, flags) = match wanted.chars().next() {
        Some(c @ ('+' | '-')) => (c.to_string(), wanted[1..].to_string()),
        _ => ("=".to_string(), wanted.trim_start_matches('=').to_string()),
    };
    if flags.is_empty() {
        return Ok(decision);
    }
    let existing = if cx.file(&path, false)?.exists() {
        let out = cx.read(&format!(
            "lsattr -d -- {} 2>/dev/null || true\n",
            rprov_transport::quote(&path)
        ))?;
        out.split_whitespace().next().unwrap_or("").replace('-', "")
    } else {
        String::new()
    };
    if existing == flags && op != "-" {
        return Ok(decision);
    }
    let line = format!("attributes: {existing} → {op}{flags}");
    let chattr = change::Change::Run {
        argv: vec!["chattr".into(), format!("{op}{flags}"), path.clone()],
    };
    extend_decision(decision, &path, vec![chattr], line)
}

/// ansible-core's `unsafe_writes` (else `ANSIBLE_UNSAFE_WRITES` in the
/// task's `environment`, its fallback): the action's file writes may fall
/// back to writing in place ([`change::Change::UnsafeWrites`]).
fn with_unsafe_writes(cx: &PlanCx, decision: Decision) -> Result<Decision, PlanError> {
    let asked = match cx.args.get("unsafe_writes").filter(|v| !v.is_null()) {
        Some(v) => crate::truthy::as_bool(v) == Some(true),
        None => cx
            .environment
            .get("ANSIBLE_UNSAFE_WRITES")
            .is_some_and(|v| crate::truthy::as_bool(v) == Some(true)),
    };
    let Decision::Change { diffs, mut action } = decision else {
        return Ok(decision);
    };
    if asked
        && action
            .changes
            .iter()
            .any(|c| matches!(c, change::Change::Write { .. }))
    {
        action.changes.insert(0, change::Change::UnsafeWrites);
        let change::Rendered { script, stdin } = change::render(&action.changes)?;
        action.script = script;
        action.stdin = stdin;
    }
    Ok(Decision::Change { diffs, action })
}

/// The arguments of type `path` in ansible-core's modules (aliases too),
/// whose `$NAME`s and leading `~` the module expands on the host (and
/// `copy`'s `src` with `remote_src`).
const PATH_ARGS: &[(&str, &[&str])] = &[
    ("copy", &["dest"]),
    ("template", &["dest"]),
    ("file", &["path", "dest", "name"]),
    ("find", &["paths", "name", "path"]),
    ("stat", &["path", "dest", "name"]),
    ("slurp", &["src", "path"]),
    ("lineinfile", &["path", "dest", "destfile", "name"]),
    ("blockinfile", &["path", "dest", "destfile", "name"]),
    ("replace", &["path", "dest", "destfile", "name"]),
    ("assemble", &["dest"]),
    ("get_url", &["dest"]),
    ("unarchive", &["dest"]),
    ("tempfile", &["path"]),
];

/// The task's arguments with `$NAME`, `~` and `~user` expanded on the host
/// in its path arguments ([`PATH_ARGS`]), as ansible-core's `type='path'`
/// does for the user the task becomes; `None` when no such argument has
/// either.
fn home_paths(cx: &PlanCx) -> Result<Option<Map<String, Json>>, PlanError> {
    let Some((_, keys)) = PATH_ARGS.iter().find(|(m, _)| *m == cx.module) else {
        return Ok(None);
    };
    // `copy`'s `src` is a host path only with `remote_src` (else it is the
    // controller's file, found there).
    let remote_src = cx.module == "copy"
        && cx
            .args
            .get("remote_src")
            .and_then(crate::truthy::as_bool)
            .unwrap_or(false);
    let keys: Vec<&str> = keys
        .iter()
        .copied()
        .chain(remote_src.then_some("src"))
        .collect();
    let tilde = |v: &Json| match v {
        Json::String(s) => s.starts_with('~') || s.contains(",~") || s.contains('$'),
        Json::Array(a) => a.iter().any(|i| {
            i.as_str()
                .is_some_and(|s| s.starts_with('~') || s.contains('$'))
        }),
        _ => false,
    };
    if !keys.iter().any(|k| cx.args.get(*k).is_some_and(tilde)) {
        return Ok(None);
    }
    let mut args = cx.args.clone();
    for key in keys.iter() {
        let Some(v) = args.get_mut(*key) else {
            continue;
        };
        match v {
            // `find`'s `paths` may be one text of comma-separated paths.
            Json::String(s) if cx.module == "find" && s.contains(',') => {
                let parts = s
                    .split(',')
                    .map(|p| cx.expand_home(p))
                    .collect::<Result<Vec<_>, _>>()?;
                *s = parts.join(",");
            }
            Json::String(s) => *s = cx.expand_home(s)?,
            Json::Array(items) => {
                for item in items.iter_mut() {
                    if let Json::String(s) = item {
                        *s = cx.expand_home(s)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Some(args))
}

/// With diff mode on, a change's diff is in its registered result as
/// Ansible's `diff` (`before`, `after`, `before_header`, `after_header`; a
/// list for several files, and always for `copy` and `template`, whose
/// ansible-core action plugin gathers one per file), unless the module put
/// its own there. Only text content is registered: attribute changes and
/// unreadable content are the report's.
fn register_diff(module: &str, decision: &mut Decision) {
    let Decision::Change { diffs, action } = decision else {
        return;
    };
    if action.result.contains_key("diff") {
        return;
    }
    let mut list: Vec<serde_json::Value> = diffs
        .iter()
        .map(|d| {
            let mut m = serde_json::Map::new();
            m.insert("before_header".into(), json!(d.path));
            m.insert("after_header".into(), json!(d.path));
            if let (Some(b), Some(a)) = (&d.before, &d.after) {
                m.insert("before".into(), json!(b));
                m.insert("after".into(), json!(a));
            }
            serde_json::Value::Object(m)
        })
        .collect();
    let registered = match list.len() {
        0 => return,
        1 if !matches!(module, "copy" | "template") => list.remove(0),
        _ => serde_json::Value::Array(list),
    };
    action.result.insert("diff".into(), registered);
}

/// `fact` of each path, or every probe the unknown ones need, together.
fn all_known<T>(
    paths: &[String],
    fact: impl Fn(&str) -> Result<T, PlanError>,
) -> Result<Vec<T>, PlanError> {
    let mut known = Vec::with_capacity(paths.len());
    let mut need = Vec::new();
    for p in paths {
        match fact(p) {
            Ok(v) => known.push(v),
            Err(PlanError::Need(probes)) => need.extend(probes),
            Err(e) => return Err(e),
        }
    }
    if need.is_empty() {
        Ok(known)
    } else {
        Err(PlanError::Need(need))
    }
}

/// The module's own decision.
fn plan_module(cx: &PlanCx) -> Result<Decision, PlanError> {
    match spec(cx.module).and_then(|s| s.plan) {
        Some(plan) => plan(cx),
        None => Err(PlanError::Fail(format!(
            "module `{}` cannot run on a host",
            cx.module
        ))),
    }
}

typed::module_args! {
    /// `ping`'s one argument.
    pub struct PingArgs {
        /// What it answers with (`pong` when left out): text, as ansible-core
        /// takes it (`type: str`), so `5 / 1` answers `'5.0'`.
        data: Option<Json> ["data"],
    }
}

/// A value as ansible-core's `str` arguments take it: Python's `str()` of a
/// number, boolean or `None` (JSON for a list or a mapping).
fn as_str_arg(v: Json) -> String {
    match v {
        Json::String(s) => s,
        Json::Bool(b) => if b { "True" } else { "False" }.to_string(),
        Json::Null => "None".to_string(),
        Json::Number(n) if n.is_f64() => {
            rprov_template::filters::py_float_repr(n.as_f64().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

/// `ping` answers with its `data` once the host answered; `data: crash` fails the task, as
/// ansible-core's ping raises an exception for it (its documented way to
/// exercise a module failure), in the words ansible-core 2.19 reports.
///
/// It asks the host a trivial question first, in the probe batch: ping is
/// how a playbook checks that a host answers, so it must not succeed on a
/// host nothing else in the play would have logged in to.
fn plan_ping(cx: &PlanCx) -> Result<Decision, PlanError> {
    let data = PingArgs::from_cx(cx)?
        .data
        .map_or_else(|| "pong".to_string(), as_str_arg);
    if data == "crash" {
        return Err(PlanError::Fail("Task failed: Module failed: boom".into()));
    }
    // Answered by the host, so a host that cannot be reached is found
    // unreachable here, as by ansible-core's ping (which runs on the host).
    // In the probe batch: no round trip of its own.
    cx.ask_one(change::Read::Raw {
        script: "echo pong".into(),
        why: "ping: the host itself answers, as ansible-core's ping module does",
    })?;
    Ok(Decision::Ok {
        result: [("ping".to_string(), Json::String(data))]
            .into_iter()
            .collect(),
        msg: None,
    })
}

/// Whether the module's effect is unknown until it runs: the look-ahead probe
/// batch stops before such a task (docs/architecture.md, "probe").
pub fn is_opaque(module: &str) -> bool {
    matches!(
        module,
        "command" | "shell" | "raw" | "include_tasks" | "include_role" | "meta" | "block"
    ) || is_fallback(module)
        || spec(module).is_some_and(|s| s.runs == Runs::Reconnect)
}

/// Whether a task's module runs through the Ansible fallback: the loader
/// keeps such a task's module under its fully qualified name, which no
/// native module has.
pub fn is_fallback(module: &str) -> bool {
    spec(module).is_none() && module.contains('.')
}

#[cfg(test)]
mod ping_tests {
    use super::as_str_arg;
    use serde_json::json;

    /// ansible-core's `str` argument of a template's value: Python's
    /// `str()` (its targets assert `ping == '5.0'` for `5 / 1`).
    #[test]
    fn ping_data_is_text_as_python_writes_it() {
        assert_eq!(as_str_arg(json!(5.0)), "5.0");
        assert_eq!(as_str_arg(json!(5)), "5");
        assert_eq!(as_str_arg(json!(true)), "True");
        assert_eq!(as_str_arg(json!(null)), "None");
        assert_eq!(as_str_arg(json!("pong")), "pong");
    }
}

#[cfg(test)]
mod attribute_tests {
    use super::change::Change;
    use super::testing;
    use super::{Decision, Fact, Probe};
    use serde_json::json;

    /// `attributes` as ansible-core's `set_attributes_if_different`: chattr
    /// runs when lsattr's flags differ from the text given, always for `-`,
    /// and after the module's own change.
    #[test]
    fn attributes_follow_ansible_cores_comparison() {
        let plan = |wanted: &str, lsattr: &'static str| {
            testing::run(
                "file",
                json!({"path": "/srv/f", "attributes": wanted}),
                move |p| match p {
                    Probe::File { .. } => Some(Fact::File(testing::file(b"x", "644", "root"))),
                    Probe::Shell { script } if script.contains("lsattr -d") => {
                        Some(Fact::Text(format!("{lsattr} /srv/f\n")))
                    }
                    _ => None,
                },
            )
            .unwrap_or_else(|e| panic!("{e:?}"))
        };
        let chattr = |mode: &str| Change::Run {
            argv: vec!["chattr".into(), mode.into(), "/srv/f".into()],
        };
        assert_eq!(
            testing::changes(&plan("+i", "--------------------")),
            [chattr("+i")]
        );
        assert!(matches!(
            plan("+i", "----i---------------"),
            Decision::Ok { .. }
        ));
        assert!(matches!(
            plan("=i", "----i---------------"),
            Decision::Ok { .. }
        ));
        // `-` always runs, as in ansible-core.
        assert_eq!(
            testing::changes(&plan("-i", "--------------------")),
            [chattr("-i")]
        );
        // The flags compare as text: `e` beside `i` is a difference.
        assert_eq!(
            testing::changes(&plan("i", "----i--------e------")),
            [chattr("=i")]
        );
        // Empty asks for nothing.
        assert!(matches!(
            plan("", "--------------------"),
            Decision::Ok { .. }
        ));
    }
}
