//! The Ansible fallback: a module rprov does not implement natively runs as
//! Ansible's own module, built by ansible-core on the controller.
//!
//! When a task names a module that is not in [`super::SPECS`], the loader
//! asks ansible-core (imported by a Python on the controller: `--ansible-python`,
//! `$RPROV_ANSIBLE_PYTHON`, else `python3`) whether it knows the module, with
//! the task's `collections:` (its own, else its block's, its role's or its
//! play's, as the loader passes them down; a role's come from its
//! collection and `meta/main.yml`, not from the play). ansible-core finds it as it would for
//! `ansible-playbook`: its builtins, collections on its `collections_path`
//! (ansible.cfg, `$ANSIBLE_COLLECTIONS_PATH`, `~/.ansible/collections`,
//! `/usr/share/ansible/collections`) and `ansible_collections/` beside the
//! playbook. A module whose work is done by an action plugin on the controller
//! (`synchronize`, …) cannot run this way and is refused
//! at load.
//!
//! To run the task, the same Python builds the module's AnsiballZ payload with
//! ansible-core's own `module_common.modify_module` (so its `module_utils` and
//! collection imports resolve exactly as in Ansible), with the arguments
//! Ansible adds (`_ansible_check_mode`, `_ansible_diff`, `_ansible_no_log`, …).
//! rprov sends the payload on stdin to `<python> -` on the host, as Ansible
//! does with pipelining: **one remote command per task**, over the host's
//! existing connection, under `become` like any task. The host's Python is
//! `ansible_python_interpreter`, else the first of Ansible's fallback list
//! that exists there. A module in another language (old style, `WANT_JSON`,
//! binary: see [`Built::ArgsFile`]) needs no Python: it runs under its own
//! shebang's interpreter, in the same one command. The module's JSON answer
//! becomes the task's result.
//!
//! Custom modules: Ansible also finds modules in the `library/` folder beside
//! the playbook, in the `library/` of every legacy role loaded so far (for
//! the rest of the run, as Ansible's `add_all_plugin_dirs`; a role of a
//! collection adds none) and in its `library` setting (`$ANSIBLE_LIBRARY`,
//! ansible.cfg, default `~/.ansible/plugins/modules`), in that order, with
//! `module_utils/` beside each for their imports. The helper gets the roles'
//! folders ([`add_role_dir`]) and ansible-core searches them as Ansible does. A
//! custom module named like one of rprov's native modules wins over it when the
//! task names it short or `ansible.legacy.` (as it wins over Ansible's builtin;
//! `ansible.builtin.NAME` stays the builtin, here rprov's): see
//! [`custom_module`].
//!
//! Why a long-lived helper: importing ansible takes about half a second, so
//! one helper process per run answers every question (load-time lookups and
//! payload builds) over a pipe, one JSON line each way. Payloads are cached
//! per (module, arguments) for the run.
//!
//! Check mode is the module's business here, not the executor's: the task runs
//! with `_ansible_check_mode: true`, and a module that does not support check
//! mode answers `skipped`, which rprov reports as `unknown`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Map, Value as Json};

use super::library_module::LibraryModule;
use super::Diff;

/// The helper script, run with the controller's Python.
const HELPER: &str = include_str!("ansible_fallback.py");

/// The ansible-core version whose module arguments rprov passes, and whose
/// semantics rprov follows (`ansible_version`).
pub const ANSIBLE_VERSION: &str = "2.19.14";

/// Ansible's `INTERPRETER_PYTHON_FALLBACK`, tried in order on the host when
/// `ansible_python_interpreter` is not set.
pub const PYTHON_CANDIDATES: &[&str] = &[
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "python3.8",
    "/usr/bin/python3",
    "python3",
];

/// The controller Python given with `--ansible-python` (which clap also takes
/// from `$RPROV_ANSIBLE_PYTHON`).
static PYTHON: OnceLock<PathBuf> = OnceLock::new();

/// The one helper process of this run, started by the first question.
static BRIDGE: Mutex<Option<State>> = Mutex::new(None);

/// Legacy roles loaded so far that have a plugin folder (`library/`,
/// `module_utils/`, `filter_plugins/`, …), in load order: Ansible searches
/// them in that order.
static ROLE_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The configured `library` path (ansible.cfg, `$ANSIBLE_LIBRARY`, or
/// Ansible's default), set once by the CLI.
static LIBRARY_PATH: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Sets the configured `library` path. Called once, by the CLI.
pub fn set_library_path(paths: Vec<PathBuf>) {
    let _ = LIBRARY_PATH.set(paths);
}

/// A legacy role was loaded, or a playbook imported from another folder:
/// its `library/` and `module_utils/` join the search of every later lookup,
/// as in Ansible, and so do its Jinja plugin folders (see
/// [`super::ansible_jinja`]). Does not start the helper.
pub fn add_role_dir(role: &Path) {
    if ![
        "library",
        "module_utils",
        "action_plugins",
        "filter_plugins",
        "test_plugins",
        "lookup_plugins",
    ]
    .iter()
    .any(|d| role.join(d).is_dir())
    {
        return;
    }
    let mut dirs = ROLE_DIRS.lock().unwrap_or_else(|p| p.into_inner());
    if !dirs.iter().any(|d| d == role) {
        dirs.push(role.to_path_buf());
    }
}

/// The roles given to [`add_role_dir`] so far.
pub(super) fn role_dirs() -> Vec<PathBuf> {
    ROLE_DIRS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Sets the controller Python (`--ansible-python`). Called once, by the CLI.
pub fn set_python(p: PathBuf) {
    let _ = PYTHON.set(p);
}

/// What the fallback may run (`--ansible-fallback`, `$RPROV_ANSIBLE_FALLBACK`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// ansible-core's modules and plugins, collections' and custom ones.
    #[default]
    All,
    /// Only custom modules and plugins (`library/`, `action_plugins/`,
    /// `filter_plugins/`, … and the settings naming such folders): a
    /// builtin module rprov lacks is refused as if ansible-core were absent,
    /// so the playbook's own Python runs and nothing of Ansible's does.
    Custom,
    /// None: the helper is never started.
    Off,
}

static SCOPE: OnceLock<Scope> = OnceLock::new();

/// Sets what the fallback may run. Called once, by the CLI.
pub fn set_scope(scope: Scope) {
    let _ = SCOPE.set(scope);
}

fn scope() -> Scope {
    SCOPE.get().copied().unwrap_or_default()
}

/// The one-line way to let the fallback run ansible-core's own modules and
/// plugins when `--ansible-fallback custom` keeps them out.
pub const CUSTOM_ONLY_HINT: &str = "`--ansible-fallback custom` ($RPROV_ANSIBLE_FALLBACK) lets the Ansible fallback run only custom modules and plugins; drop it to run ansible-core's and collections' too";

/// The Python that imports ansible-core, and where that choice came from.
fn python() -> (PathBuf, &'static str) {
    if let Some(p) = PYTHON.get() {
        return (p.clone(), "--ansible-python or $RPROV_ANSIBLE_PYTHON");
    }
    match std::env::var_os("RPROV_ANSIBLE_PYTHON") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), "$RPROV_ANSIBLE_PYTHON"),
        _ => (PathBuf::from("python3"), "python3 on PATH"),
    }
}

/// `ansible_playbook_python`: the controller's Python, as ansible-core's
/// `sys.executable` (the one the fallback runs), with a bare name such as
/// `python3` found on PATH; the name as given when it is not there.
pub fn controller_python() -> &'static str {
    static FOUND: OnceLock<String> = OnceLock::new();
    FOUND.get_or_init(|| {
        let (p, _) = python();
        let found = match p.components().count() {
            1 => std::env::var_os("PATH")
                .map(|path| {
                    std::env::split_paths(&path)
                        .map(|d| d.join(&p))
                        .collect::<Vec<PathBuf>>()
                })
                .unwrap_or_default()
                .into_iter()
                .find(|c: &PathBuf| c.is_file()),
            _ => std::path::absolute(&p).ok(),
        };
        found.unwrap_or(p).display().to_string()
    })
}

/// The one-line way to enable the fallback.
pub const ENABLE_HINT: &str = "to run modules rprov lacks as Ansible's own, install ansible-core on this machine: `python3 -m venv ~/.rprov-ansible && ~/.rprov-ansible/bin/pip install ansible-core && export RPROV_ANSIBLE_PYTHON=~/.rprov-ansible/bin/python`";

enum State {
    Ready(Bridge),
    /// ansible-core could not be imported: why, with the Python tried.
    Unavailable(String),
}

pub(super) struct Bridge {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    version: String,
    resolved: HashMap<String, Resolution>,
    payloads: HashMap<String, Arc<Built>>,
    /// How many of [`ROLE_DIRS`] the helper has been given.
    role_dirs_sent: usize,
}

impl Bridge {
    fn start(playbook_dir: &Path) -> Result<Bridge, String> {
        let (py, from) = python();
        let shown = format!("`{}` ({from})", py.display());
        let mut child = Command::new(&py)
            .arg("-c")
            .arg(HELPER)
            .arg(playbook_dir)
            .arg(match scope() {
                Scope::Custom => "custom",
                Scope::All | Scope::Off => "all",
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{shown} could not be started: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(format!("{shown}: no pipe to the helper"));
        };
        let mut b = Bridge {
            _child: child,
            stdin,
            stdout: BufReader::new(stdout),
            version: String::new(),
            resolved: HashMap::new(),
            payloads: HashMap::new(),
            role_dirs_sent: 0,
        };
        let first = b.read().map_err(|e| format!("{shown}: {e}"))?;
        if let Some(err) = first.get("error").and_then(Json::as_str) {
            return Err(format!("ansible-core cannot be imported by {shown}: {err}"));
        }
        match first.get("ready").and_then(Json::as_str) {
            Some(v) => b.version = format!("{v} (via {shown})"),
            None => return Err(format!("{shown}: unexpected answer {first:?}")),
        }
        Ok(b)
    }

    fn read(&mut self) -> Result<Map<String, Json>, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("the helper exited without an answer".into()),
            Ok(_) => match serde_json::from_str(&line) {
                Ok(Json::Object(m)) => Ok(m),
                _ => Err(format!("the helper answered {:?}", line.trim())),
            },
            Err(e) => Err(format!("cannot read the helper's answer: {e}")),
        }
    }

    pub(super) fn ask(&mut self, req: &Json) -> Result<Map<String, Json>, String> {
        let mut line = req.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("cannot write to the ansible-core helper: {e}"))?;
        self.read()
    }

    /// [`Self::ask`], answering on the way each command the helper asks to
    /// run on the host (`{"exec": …}`, see `host_connection` in the helper)
    /// with `exec`'s exit status, stdout and stderr.
    fn ask_running(
        &mut self,
        req: &Json,
        exec: &mut HostExec<'_>,
    ) -> Result<Map<String, Json>, String> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut m = self.ask(req)?;
        while let Some(cmd) = m.get("exec").and_then(Json::as_str).map(str::to_string) {
            let stdin = m
                .get("stdin_b64")
                .and_then(Json::as_str)
                .and_then(|s| b64.decode(s).ok())
                .unwrap_or_default();
            let answer = match exec(&cmd, stdin) {
                Ok((rc, out, err)) => json!({
                    "rc": rc,
                    "stdout_b64": b64.encode(out),
                    "stderr_b64": b64.encode(err),
                }),
                Err(e) => json!({ "error": e }),
            };
            m = self.ask(&answer)?;
        }
        Ok(m)
    }

    /// Gives the helper the roles' folders it has not seen yet. A name looked
    /// up before may now resolve elsewhere, so the lookups are forgotten.
    fn send_role_dirs(&mut self) -> Result<(), String> {
        let new: Vec<String> = {
            let dirs = ROLE_DIRS.lock().unwrap_or_else(|p| p.into_inner());
            dirs.iter()
                .skip(self.role_dirs_sent)
                .map(|d| d.display().to_string())
                .collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        let m = self.ask(&json!({"op": "add_dirs", "paths": new}))?;
        if let Some(err) = m.get("error").and_then(Json::as_str) {
            return Err(format!(
                "ansible-core could not add the roles' plugin folders: {err}"
            ));
        }
        self.role_dirs_sent += new.len();
        self.resolved.clear();
        Ok(())
    }
}

/// Runs a command on the task's host for an action plugin: its exit
/// status, stdout and stderr, or why it could not run.
pub type HostExec<'a> = dyn FnMut(&str, Vec<u8>) -> Result<(i32, Vec<u8>, Vec<u8>), String> + 'a;

/// Runs `f` with the run's helper, starting it on first use.
pub(super) fn with_bridge<T>(
    playbook_dir: &Path,
    f: impl FnOnce(&mut Bridge) -> T,
) -> Result<T, String> {
    let mut guard = BRIDGE.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        *guard = Some(match scope() {
            Scope::Off => State::Unavailable(
                "`--ansible-fallback off` ($RPROV_ANSIBLE_FALLBACK) turned it off".to_string(),
            ),
            Scope::All | Scope::Custom => match Bridge::start(playbook_dir) {
                Ok(b) => State::Ready(b),
                Err(e) => State::Unavailable(e),
            },
        });
    }
    match guard.as_mut() {
        Some(State::Ready(b)) => {
            b.send_role_dirs()?;
            Ok(f(b))
        }
        Some(State::Unavailable(why)) => Err(why.clone()),
        None => Err("the ansible-core helper did not start".into()),
    }
}

/// The ansible-core version the fallback would use, or why it is off.
pub fn available(playbook_dir: &Path) -> Result<String, String> {
    with_bridge(playbook_dir, |b| b.version.clone())
}

/// What ansible-core on the controller makes of a module name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A module it can build: its fully qualified name.
    Module(String),
    /// A custom module (a `library/` folder, the `library` setting) it can
    /// build: its fully qualified name (`ansible.legacy.NAME`).
    Custom(String),
    /// A module whose work is done by an action plugin on the controller.
    ActionPlugin(String),
    /// A custom action plugin with no module of its name (an
    /// `action_plugins/` folder's): run on the controller by ansible-core,
    /// with the task's variables, its commands on the host run by rprov.
    ControllerAction(String),
    /// Not a module ansible-core knows.
    NotFound,
    /// ansible-core's or a collection's module or action plugin, which
    /// `--ansible-fallback custom` keeps out: its fully qualified name.
    NotCustom(String),
    /// ansible-core is not importable: why.
    NoAnsible(String),
}

/// Asks ansible-core about `name` as a task with `collections:` would.
pub fn resolve(name: &str, collections: &[String], playbook_dir: &Path) -> Resolution {
    let key = format!("{name}\0{}", collections.join(","));
    let asked = with_bridge(playbook_dir, |b| {
        if let Some(r) = b.resolved.get(&key) {
            return r.clone();
        }
        let r = match b.ask(&json!({"op": "resolve", "name": name, "collections": collections})) {
            Ok(m) if m.get("found") == Some(&json!(true)) => {
                let fqcn = m
                    .get("fqcn")
                    .and_then(Json::as_str)
                    .unwrap_or(name)
                    .to_string();
                if m.get("controller_action") == Some(&json!(true)) {
                    Resolution::ControllerAction(fqcn)
                } else if m.get("action_plugin") == Some(&json!(true)) {
                    Resolution::ActionPlugin(fqcn)
                } else if m.get("library") == Some(&json!(true)) {
                    Resolution::Custom(fqcn)
                } else {
                    Resolution::Module(fqcn)
                }
            }
            Ok(m) => match m.get("not_custom").and_then(Json::as_str) {
                Some(fqcn) => Resolution::NotCustom(fqcn.to_string()),
                None => Resolution::NotFound,
            },
            Err(e) => Resolution::NoAnsible(e),
        };
        b.resolved.insert(key, r.clone());
        r
    });
    asked.unwrap_or_else(Resolution::NoAnsible)
}

/// A custom module that a task naming `name` (one of rprov's native modules,
/// written short or `ansible.legacy.NAME`) runs instead of rprov's, as Ansible
/// runs it instead of its builtin: `None` when there is none (the helper is
/// not started unless a custom module folder holds a file of that name),
/// else ansible-core's answer: [`Resolution::Custom`] when the custom module is
/// the one Ansible would pick, [`Resolution::NoAnsible`] when nothing can
/// build it.
pub fn custom_module(
    name: &str,
    collections: &[String],
    playbook_dir: &Path,
) -> Option<Resolution> {
    find_custom_file(name, playbook_dir)?;
    match resolve(name, collections, playbook_dir) {
        r @ (Resolution::Custom(_) | Resolution::NoAnsible(_)) => Some(r),
        _ => None,
    }
}

/// Ansible's `MODULE_IGNORE_EXTS`: files of these extensions in a module
/// folder are no modules (documentation, editor backups).
const MODULE_IGNORE_EXTS: &[&str] = &[
    "pyc", "pyo", "swp", "bak", "rpm", "md", "txt", "rst", "yaml", "yml", "ini",
];

/// The module file named `name` in `dir`: `name` itself or `name.EXT`
/// (`hello.py`, `hello.sh`), as ansible-core's loader finds a module by its
/// file's stem (the first in name order when several extensions are there).
fn module_in_folder(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|path| {
            path.file_stem().is_some_and(|s| s == name)
                && path
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| !MODULE_IGNORE_EXTS.contains(&x))
                && !path.to_string_lossy().ends_with('~')
                && path.is_file()
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The file of the custom module `name` in a folder Ansible searches (see
/// [`module_in_folder`]): the playbook's `library/`, the roles' and the
/// configured path (with its subfolders two deep, as ansible-core's loader).
fn custom_file(
    name: &str,
    playbook_dir: &Path,
    roles: &[PathBuf],
    configured: &[PathBuf],
) -> Option<PathBuf> {
    let has = |dir: &Path| module_in_folder(dir, name);
    if let Some(found) = std::iter::once(playbook_dir)
        .chain(roles.iter().map(PathBuf::as_path))
        .find_map(|d| has(&d.join("library")))
    {
        return Some(found);
    }
    let subdirs = |d: &Path| -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs
    };
    configured.iter().find_map(|dir| {
        has(dir).or_else(|| {
            subdirs(dir)
                .iter()
                .find_map(|s| has(s).or_else(|| subdirs(s).iter().find_map(|t| has(t))))
        })
    })
}

/// The file of the custom module a task naming `name` (short or
/// `ansible.legacy.NAME`) runs, found where Ansible looks (the roles loaded
/// so far included), without ansible-core.
pub fn find_custom_file(name: &str, playbook_dir: &Path) -> Option<PathBuf> {
    let short = name.strip_prefix("ansible.legacy.").unwrap_or(name);
    if short.contains('.') {
        return None;
    }
    let roles = ROLE_DIRS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let configured = LIBRARY_PATH.get().map(Vec::as_slice).unwrap_or_default();
    custom_file(short, playbook_dir, &roles, configured)
}

/// A task that runs Ansible's module: what the executor needs to build and
/// run it. Made at plan time; the executor adds check mode.
#[derive(Clone, Debug)]
pub struct Fallback {
    pub fqcn: String,
    pub args: Map<String, Json>,
    pub collections: Vec<String>,
    /// `_ansible_diff`: the task's `diff:` or `--diff`.
    pub diff: bool,
    pub no_log: bool,
    /// `ansible_python_interpreter` of the host, if set.
    pub interpreter: Option<String>,
    /// Every `ansible_NAME_interpreter` of the host by NAME (`python`,
    /// `bash`): what replaces a custom module's shebang interpreter.
    pub interpreters: BTreeMap<String, String>,
    pub playbook_dir: PathBuf,
    /// The task's `file:line:col`, for errors that are rprov's, not the module's.
    pub at: String,
    /// For a custom action plugin run on the controller
    /// ([`Resolution::ControllerAction`]): the task's variables it gets.
    pub controller_vars: Option<Map<String, Json>>,
    /// The arguments whose text is as the task wrote it, not rendered from
    /// a template: ansible-core trusts those as templates (an action plugin
    /// may render them, as `debug` does its `var`).
    pub trusted: Vec<String>,
    /// `ansible_async_dir`: where an async job leaves its files.
    pub async_dir: super::async_status::AsyncDir,
    /// The task's `async`: the module runs as a job on the host, in the
    /// background with `poll: 0` (see `async_status`).
    pub async_job: Option<crate::playbook::AsyncJob>,
}

impl Fallback {
    /// The module's arguments with those Ansible adds
    /// (`ActionBase._update_module_args`).
    pub fn module_args(&self, check: bool) -> Map<String, Json> {
        let mut a = self.args.clone();
        let set = [
            ("_ansible_check_mode", json!(check)),
            ("_ansible_no_log", json!(self.no_log)),
            ("_ansible_debug", json!(false)),
            ("_ansible_diff", json!(self.diff)),
            ("_ansible_verbosity", json!(0)),
            ("_ansible_version", json!(ANSIBLE_VERSION)),
            ("_ansible_module_name", json!(self.fqcn)),
            ("_ansible_syslog_facility", json!("LOG_USER")),
            (
                "_ansible_selinux_special_fs",
                json!(["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"]),
            ),
            ("_ansible_shell_executable", json!("/bin/sh")),
            ("_ansible_keep_remote_files", json!(false)),
            ("_ansible_tmpdir", Json::Null),
            ("_ansible_remote_tmp", json!("~/.ansible/tmp")),
            ("_ansible_ignore_unknown_opts", json!(false)),
            ("_ansible_target_log_info", Json::Null),
            ("_ansible_tracebacks_for", json!([])),
        ];
        for (k, v) in set {
            a.insert(k.to_string(), v);
        }
        a
    }

    /// The module as ansible-core builds it for this task (cached for the
    /// run per module and arguments). A custom module that needs nothing of
    /// ansible-core (`super::library_module`) is built by rprov itself, so
    /// it runs the same with ansible-core on the controller or without.
    pub fn payload(&self, check: bool) -> Result<Arc<Built>, String> {
        if let Some(m) = LibraryModule::find(&self.fqcn, &self.playbook_dir) {
            return Ok(Arc::new(
                m.build(&self.module_args(check), &self.interpreters),
            ));
        }
        let req = json!({
            "op": "build",
            "name": self.fqcn,
            "args": self.module_args(check),
            "collections": self.collections,
        });
        let key = req.to_string();
        with_bridge(&self.playbook_dir, |b| {
            if let Some(p) = b.payloads.get(&key) {
                return Ok(p.clone());
            }
            let m = b.ask(&req)?;
            let built = Arc::new(Built::from_answer(&m)?);
            b.payloads.insert(key, built.clone());
            Ok(built)
        })?
    }

    /// Runs the task's action plugin on the controller
    /// ([`Resolution::ControllerAction`]): its result, as a module's JSON
    /// answer is read (see [`answer`]). Each command it runs on the host
    /// is `exec`'s to run.
    pub fn run_on_controller(
        &self,
        check: bool,
        exec: &mut HostExec<'_>,
    ) -> Result<String, String> {
        let req = json!({
            "op": "run_action",
            "name": self.fqcn,
            "args": self.args,
            "trusted": self.trusted,
            "variables": self.controller_vars,
            "check": check,
        });
        let m = with_bridge(&self.playbook_dir, |b| b.ask_running(&req, exec))??;
        if let Some(err) = m.get("error").and_then(Json::as_str) {
            return Err(err.to_string());
        }
        // The plugin raised: the task fails with its text, in ansible-core's
        // words.
        if let Some(raised) = m.get("raised").and_then(Json::as_str) {
            return Ok(
                json!({"failed": true, "msg": format!("Task failed: {raised}")}).to_string(),
            );
        }
        Ok(m.get("result").cloned().unwrap_or_default().to_string())
    }

    /// The interpreters tried on the host, as shown in errors.
    pub fn tried(&self) -> String {
        match &self.interpreter {
            Some(p) => format!("`{p}` (ansible_python_interpreter)"),
            None => format!("{} (Ansible's fallback list)", PYTHON_CANDIDATES.join(", ")),
        }
    }

    /// The remote command for `built`, whose stdin is [`Built::stdin`].
    pub fn script(&self, built: &Built) -> String {
        match built {
            Built::AnsiballZ(_) => self.python_script(),
            Built::ArgsFile {
                shebang,
                args,
                remote_name,
                ..
            } => args_file_script(shebang.as_deref(), args, remote_name),
        }
    }

    /// The host's Python reading the AnsiballZ payload on stdin. A
    /// candidate must also start (`-c ''`): a pyenv shim for a version that is
    /// not installed is on PATH but cannot run anything.
    fn python_script(&self) -> String {
        let q = rprov_transport::quote;
        let marker = q(NO_PYTHON);
        if let Some(p) = &self.interpreter {
            // As Ansible: the interpreter named is used as it is.
            return format!(
                "if command -v {p} >/dev/null 2>&1; then exec {p} -; fi\nprintf '%s\\n' {marker} >&2\nexit 127\n",
                p = q(p)
            );
        }
        let list = PYTHON_CANDIDATES
            .iter()
            .map(|c| q(c))
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "for p in {list}; do if command -v \"$p\" >/dev/null 2>&1 && \"$p\" -c '' >/dev/null 2>&1; then exec \"$p\" -; fi; done\n\
             printf '%s\\n' {marker} >&2\nexit 127\n"
        )
    }
}

/// A module as ansible-core built it for one task.
#[derive(Debug)]
pub enum Built {
    /// A new-style module's AnsiballZ script, for the host's Python on stdin
    /// (as Ansible runs it with pipelining).
    AnsiballZ(String),
    /// An old-style, `WANT_JSON` or binary module (any language): Ansible
    /// copies it and a file of its arguments to the host and runs
    /// `INTERPRETER MODULE ARGS_FILE`, the interpreter from its shebang line
    /// (a binary runs itself). No Python is needed on the host unless the
    /// module is written in it.
    ArgsFile {
        module: Vec<u8>,
        /// The shebang line as ansible-core rewrote it, `None` for a binary.
        shebang: Option<String>,
        /// The arguments file: `k=v` words (old style) or JSON.
        args: String,
        /// The module's file name on the host, as Ansible names it.
        remote_name: String,
    },
}

impl Built {
    /// Reads the helper's answer to a `build` request.
    fn from_answer(m: &Map<String, Json>) -> Result<Built, String> {
        if let Some(p) = m.get("payload").and_then(Json::as_str) {
            return Ok(Built::AnsiballZ(p.to_string()));
        }
        let Some(b64) = m.get("payload_b64").and_then(Json::as_str) else {
            return Err(m
                .get("error")
                .and_then(Json::as_str)
                .unwrap_or("ansible-core built no payload")
                .to_string());
        };
        use base64::Engine as _;
        let module = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("the helper's module is not base64: {e}"))?;
        let text = |k: &str| m.get(k).and_then(Json::as_str).map(str::to_string);
        Ok(Built::ArgsFile {
            module,
            shebang: text("shebang"),
            args: text("args").unwrap_or_default(),
            remote_name: text("remote_name").unwrap_or_else(|| "AnsiballZ_module".into()),
        })
    }

    /// What the remote command reads on stdin.
    pub fn stdin(&self) -> &[u8] {
        match self {
            Built::AnsiballZ(p) => p.as_bytes(),
            Built::ArgsFile { module, .. } => module,
        }
    }
}

/// The remote command of an [`Built::ArgsFile`] module: the module from
/// stdin and its arguments into a private temporary folder, then
/// `INTERPRETER MODULE ARGS_FILE` (the shebang's words, as the kernel splits
/// them), the folder removed however it ends.
fn args_file_script(shebang: Option<&str>, args: &str, remote_name: &str) -> String {
    let q = rprov_transport::quote;
    let interpreter: Vec<String> = shebang
        .and_then(|s| s.strip_prefix("#!"))
        .map(|s| s.split_whitespace().map(q).collect())
        .unwrap_or_default();
    let mut run = interpreter;
    run.push(format!("\"$d\"/{}", q(remote_name)));
    run.push("\"$d\"/args".to_string());
    format!(
        "d=$(mktemp -d) || exit 1\n\
         trap 'rm -rf \"$d\"' EXIT\n\
         cat >\"$d\"/{name} && chmod 0700 \"$d\"/{name} && printf '%s' {args} >\"$d\"/args || exit 1\n\
         {run}\n",
        name = q(remote_name),
        args = q(args),
        run = run.join(" ")
    )
}

/// What the remote script prints when no interpreter is there.
const NO_PYTHON: &str = "rprov-fallback: no python interpreter";

/// How a task ends, from the module's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Failed,
    /// Check mode, and the module does not support it.
    Unknown,
    Skipped,
}

/// The module's answer, mapped onto rprov's outcome.
#[derive(Debug)]
pub struct Answer {
    pub status: Status,
    pub result: Map<String, Json>,
    pub msg: Option<String>,
    pub diffs: Vec<Diff>,
    /// The result said `_ansible_no_log` (any true value, as Python reads
    /// it): it is shown censored, as a `no_log` task's.
    pub hidden: bool,
}

/// Reads the module's output: Ansible's result JSON on stdout (lines before
/// it, such as a login banner, are skipped as Ansible skips them).
pub fn answer(fb: &Fallback, rc: i32, stdout: &str, stderr: &str, check: bool) -> Answer {
    let failed = |msg: String, result: Map<String, Json>| Answer {
        status: Status::Failed,
        result,
        msg: Some(msg),
        diffs: Vec::new(),
        hidden: false,
    };
    let Some(mut result) = json_object(stdout).map(|mut r| {
        warn_of_junk_after(stdout, &mut r);
        r
    }) else {
        if rc == 127 && stderr.contains(NO_PYTHON) {
            return failed(
                format!(
                    "{}: no Python on the host to run Ansible's module `{}`: tried {}\n= help: install python3 on the host, or set `ansible_python_interpreter` to its path",
                    fb.at,
                    fb.fqcn,
                    fb.tried()
                ),
                Map::new(),
            );
        }
        let mut r = Map::new();
        r.insert("rc".into(), json!(rc));
        r.insert("module_stdout".into(), json!(stdout));
        r.insert("module_stderr".into(), json!(stderr));
        let tail = stderr.trim().lines().last().unwrap_or("").to_string();
        return failed(
            format!(
                "{}: Ansible's module `{}` gave no result (exit status {rc}){}",
                fb.at,
                fb.fqcn,
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            ),
            r,
        );
    };
    // As Ansible's `remove_internal_keys`; the `invocation` (the arguments
    // the module saw) is not in what Ansible registers either.
    // Any true value, as Python's `bool()` reads it (Jinja's truth is the same).
    let hidden = result
        .get("_ansible_no_log")
        .is_some_and(crate::truthy::is_truthy);
    result.retain(|k, _| !k.starts_with("_ansible_") && k != "invocation");
    let diffs = result.get("diff").map(diffs_of).unwrap_or_default();
    let failed = result.get("failed").and_then(crate::truthy::as_bool) == Some(true);
    captured_error(&mut result, failed);
    if failed {
        let msg = result
            .get("msg")
            .map(|m| match m {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| format!("Ansible's module `{}` failed", fb.fqcn));
        result.insert("failed".into(), json!(true));
        return Answer {
            status: Status::Failed,
            result,
            msg: Some(msg),
            diffs,
            hidden,
        };
    }
    let changed = result.get("changed").and_then(crate::truthy::as_bool) == Some(true);
    result.insert("changed".into(), json!(changed));
    result.insert("failed".into(), json!(false));
    let skipped = result.get("skipped").and_then(crate::truthy::as_bool) == Some(true);
    let (status, msg) = if skipped && check {
        (
            Status::Unknown,
            Some(format!(
                "Ansible's module `{}` does not support check mode",
                fb.fqcn
            )),
        )
    } else if skipped {
        (
            Status::Skipped,
            result.get("msg").and_then(Json::as_str).map(str::to_string),
        )
    } else if changed {
        (Status::Changed, None)
    } else {
        (Status::Ok, None)
    };
    Answer {
        status,
        result,
        msg,
        diffs,
        hidden,
    }
}

/// A module result's `exception` as ansible-core's task executor leaves it
/// (`AnsibleModuleCapturedError.normalize_result_exception`, then
/// `result_dict_from_exception`): ansible-core 2.19's modules send an error
/// summary (`{"event": {"msg": …}}`), older ones a traceback's text; either
/// becomes the traceback text (`(traceback unavailable)` without one), and a
/// failed result without a `msg` gets ansible-core's, from the error.
fn captured_error(result: &mut Map<String, Json>, failed: bool) {
    let Some(exception) = result.remove("exception") else {
        return;
    };
    let text = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_string);
    let (msg, traceback) = match &exception {
        Json::Object(summary) => {
            let event = summary.get("event");
            (
                text(event.and_then(|e| e.get("msg"))),
                text(event.and_then(|e| e.get("formatted_traceback"))),
            )
        }
        other => (
            text(result.get("msg")),
            Some(match other {
                Json::String(s) => s.clone(),
                v => v.to_string(),
            }),
        ),
    };
    let traceback = traceback
        .map(|t| t.trim_end().to_string())
        .filter(|t| !t.is_empty());
    result.insert(
        "exception".into(),
        json!(traceback.unwrap_or_else(|| "(traceback unavailable)".into())),
    );
    if failed && !result.contains_key("msg") {
        let why = msg.unwrap_or_else(|| "Unknown error.".into());
        result.insert(
            "msg".into(),
            json!(format!("Task failed: Module failed: {why}")),
        );
    }
}

/// The first JSON object in the output, from the first line starting with `{`
/// after blanks (ansible-core's `_filter_non_json_lines` with `objects_only`:
/// a line starting with `[` is junk too); what follows the object is junk.
pub(super) fn json_object(stdout: &str) -> Option<Map<String, Json>> {
    let mut at = 0;
    let start = stdout.split_inclusive('\n').find_map(|line| {
        let here = at;
        at += line.len();
        let blanks = line.len() - line.trim_start().len();
        line.trim_start().starts_with('{').then_some(here + blanks)
    })?;
    let mut it = serde_json::Deserializer::from_str(&stdout[start..]).into_iter::<Json>();
    match it.next() {
        Some(Ok(Json::Object(m))) => Some(m),
        _ => None,
    }
}

/// ansible-core's warning about text a module printed after its JSON
/// (`_filter_non_json_lines`): the lines after the last one that ends with
/// `}`, when any of them is not blank, added to `result`'s `warnings`.
pub(super) fn warn_of_junk_after(stdout: &str, result: &mut Map<String, Json>) {
    let lines: Vec<&str> = stdout.lines().collect();
    let Some(last) = lines.iter().rposition(|l| l.trim_end().ends_with('}')) else {
        return;
    };
    let junk = &lines[last + 1..];
    if junk.iter().all(|l| l.trim().is_empty()) {
        return;
    }
    let warning = format!(
        "Module invocation had junk after the JSON data: {}",
        junk.join("\n")
    );
    match result.get_mut("warnings") {
        Some(Json::Array(ws)) => ws.push(json!(warning)),
        _ => {
            result.insert("warnings".into(), json!([warning]));
        }
    }
}

/// A module's `diff` (one mapping or a list of them) as rprov's diffs.
fn diffs_of(d: &Json) -> Vec<Diff> {
    let items: Vec<&Json> = match d {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let text = |v: Option<&Json>| -> Option<String> {
        match v? {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => serde_json::to_string_pretty(other).ok().map(|s| s + "\n"),
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Json::Object(m) = item else { continue };
        let path = m
            .get("after_header")
            .or_else(|| m.get("before_header"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(p) = m.get("prepared").and_then(Json::as_str) {
            out.push(Diff {
                path: path.clone(),
                attrs: p.lines().map(str::to_string).collect(),
                ..Diff::default()
            });
        }
        let (before, after) = (text(m.get("before")), text(m.get("after")));
        if before.is_some() || after.is_some() {
            out.push(Diff {
                path,
                before: Some(before.unwrap_or_default()),
                after: Some(after.unwrap_or_default()),
                attrs: Vec::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ansible-core 2.19's module error summary becomes its task result:
    /// the message from the error, the traceback's text in `exception`; a
    /// module's own `msg` stays, and an old module's traceback text is kept.
    #[test]
    fn a_module_error_summary_reads_as_ansible_core_registers_it() {
        let summary = r#"{"failed": true, "exception": {"event": {"msg": "failing via exception", "__ansible_type": "Event"}, "__ansible_type": "ErrorSummary"}}"#;
        let a = answer(&fb(), 1, summary, "", false);
        assert_eq!(a.status, Status::Failed);
        assert_eq!(
            a.result["msg"],
            json!("Task failed: Module failed: failing via exception")
        );
        assert_eq!(a.result["exception"], json!("(traceback unavailable)"));
        assert_eq!(
            a.msg.as_deref(),
            Some("Task failed: Module failed: failing via exception")
        );
        let own = r#"{"failed": true, "msg": "boom", "exception": "Traceback (most recent call last):\n  x\n"}"#;
        let a = answer(&fb(), 1, own, "", false);
        assert_eq!(a.result["msg"], json!("boom"));
        assert_eq!(
            a.result["exception"],
            json!("Traceback (most recent call last):\n  x")
        );
        // Not failed: the summary is made text, nothing else changes.
        let ok = r#"{"changed": false, "exception": {"event": {"msg": "noted"}}}"#;
        let a = answer(&fb(), 0, ok, "", false);
        assert_eq!(a.status, Status::Ok);
        assert!(!a.result.contains_key("msg"));
        assert_eq!(a.result["exception"], json!("(traceback unavailable)"));
    }

    #[test]
    fn junk_after_the_json_is_a_warning_and_no_log_hides_the_result() {
        let a = answer(
            &fb(),
            0,
            "before\n{\"changed\": false, \"_ansible_no_log\": \"yeppers\"}\nafter\n\n",
            "",
            false,
        );
        assert_eq!(
            a.result["warnings"],
            json!(["Module invocation had junk after the JSON data: after\n"])
        );
        assert!(a.hidden);
        // Blank lines after the JSON are no junk; a false `_ansible_no_log`
        // hides nothing.
        let a = answer(&fb(), 0, "{\"_ansible_no_log\": 0}\n\n", "", false);
        assert!(!a.result.contains_key("warnings"));
        assert!(!a.hidden);
    }

    fn fb() -> Fallback {
        Fallback {
            fqcn: "ansible.builtin.dpkg_selections".into(),
            args: Map::new(),
            collections: Vec::new(),
            diff: false,
            no_log: false,
            interpreter: None,
            interpreters: BTreeMap::new(),
            playbook_dir: PathBuf::from("."),
            at: "site.yml:3:7".into(),
            controller_vars: None,
            trusted: Vec::new(),
            async_dir: Default::default(),
            async_job: None,
        }
    }

    #[test]
    fn maps_results() {
        let a = answer(&fb(), 0, "banner\n{\"changed\": true, \"_ansible_no_log\": false, \"diff\": {\"before\": \"a\\n\", \"after\": \"b\\n\"}}\n", "", false);
        assert_eq!(a.status, Status::Changed);
        assert!(!a.result.contains_key("_ansible_no_log"));
        assert_eq!(a.diffs.len(), 1);
        let a = answer(
            &fb(),
            1,
            "{\"failed\": true, \"msg\": \"missing required arguments: selection\"}",
            "",
            false,
        );
        assert_eq!(a.status, Status::Failed);
        assert_eq!(
            a.msg.as_deref(),
            Some("missing required arguments: selection")
        );
        let a = answer(
            &fb(),
            0,
            "{\"skipped\": true, \"msg\": \"remote module does not support check mode\"}",
            "",
            true,
        );
        assert_eq!(a.status, Status::Unknown);
        // Junk around the object, a list line included, is skipped as
        // ansible-core skips it; the object may be indented.
        let a = answer(
            &fb(),
            0,
            "junk\n[ a list]\n  {\"msg\": \"good\"}\nmore junk\n",
            "",
            false,
        );
        assert_eq!(a.result.get("msg"), Some(&json!("good")));
        let a = answer(&fb(), 0, "{\"ansible_facts\": {}}", "", false);
        assert_eq!(a.status, Status::Ok);
        assert_eq!(a.result.get("changed"), Some(&json!(false)));
    }

    #[test]
    fn custom_modules_are_looked_for_where_ansible_looks() {
        let t = tempfile::tempdir().expect("tempdir");
        let (book, role, conf) = (t.path().join("b"), t.path().join("r"), t.path().join("c"));
        for d in [
            book.join("library"),
            role.join("library"),
            conf.join("one/two"),
        ] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let write = |p: PathBuf| std::fs::write(p, "#!/usr/bin/python\n").expect("write");
        write(book.join("library/ping.py"));
        write(role.join("library/stat"));
        write(conf.join("one/two/getent.py"));
        write(book.join("library/cron.sh"));
        write(book.join("library/copy.md"));
        let roles = [role.clone()];
        let conf = [conf];
        let found = |n: &str| custom_file(n, &book, &roles, &conf).is_some();
        assert!(found("ping") && found("stat") && found("getent") && found("cron"));
        // Documentation beside a module is no module.
        assert!(!found("copy"));
        // A role's folder counts only once the role is loaded.
        assert!(custom_file("stat", &book, &[], &conf).is_none());
    }

    /// The script of a module in another language, run by `sh` as the
    /// host runs it: the module reads its arguments file (a quote in a value
    /// stays one word), runs under its shebang's interpreter with arguments
    /// (`/usr/bin/env sh`), and the temporary folder is gone afterwards.
    #[test]
    fn an_args_file_module_runs_under_its_shebang_and_leaves_nothing() {
        let t = tempfile::tempdir().expect("tempdir");
        let module = "#!/usr/bin/env sh\n. \"$1\"\nprintf '{\"msg\": \"%s|%s\"}' \"$name\" \"$(dirname \"$0\")\"\n";
        let script = args_file_script(
            Some("#!/usr/bin/env sh"),
            "name='it'\\''s me' ",
            "AnsiballZ_hello.sh",
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("TMPDIR", t.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().map(|mut i| i.write_all(module.as_bytes()));
                c.wait_with_output()
            })
            .expect("run sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{script}\n{stdout}");
        let (said, dir) = stdout
            .trim_start_matches("{\"msg\": \"")
            .trim_end_matches("\"}")
            .split_once('|')
            .expect("two parts");
        assert_eq!(said, "it's me");
        assert!(dir.starts_with(&t.path().display().to_string()), "{dir}");
        assert!(!Path::new(dir).exists(), "{dir} was left behind");
        assert_eq!(std::fs::read_dir(t.path()).expect("ls").count(), 0);
    }

    #[test]
    fn names_the_missing_interpreter() {
        let mut f = fb();
        f.interpreter = Some("/nope/python".into());
        let a = answer(&f, 127, "", NO_PYTHON, false);
        assert_eq!(a.status, Status::Failed);
        assert!(
            a.msg
                .as_deref()
                .is_some_and(|m| m.contains("/nope/python") && m.starts_with("site.yml:3:7: ")),
            "{a:?}"
        );
        let built = Built::AnsiballZ(String::new());
        assert!(
            f.script(&built).contains("exec /nope/python -"),
            "{}",
            f.script(&built)
        );
        let a = answer(&f, 1, "", "Traceback\nImportError: x", false);
        assert!(
            a.msg
                .as_deref()
                .is_some_and(|m| m.contains("ImportError: x")),
            "{a:?}"
        );
    }
}
