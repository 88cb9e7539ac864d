//! Finding and loading roles: defaults, vars, meta dependencies, tasks and handlers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use super::keywords::json_map;
use super::task::{parse_tasks_file, Inherited, TaskScope};
use super::{RoleData, RoleInstance, Task, Vars};
use crate::diag::{LoadError, Origin};
use crate::yaml::{self, Document, Node};

/// Keys of a role entry that are keywords rather than role parameters.
const ROLE_KEYWORDS: &[&str] = &[
    "role",
    "name",
    "tags",
    "when",
    "become",
    "become_user",
    "vars",
    "environment",
    "any_errors_fatal",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "become_method",
    "remote_user",
    "check_mode",
    "diff",
    "run_once",
    "collections",
    "debugger",
];

/// Keywords ansible-core takes on a role entry that rprov does not carry out
/// there: refused, so they are not quietly taken for role parameters.
const ROLE_KEYWORDS_REFUSED: &[&str] = &[
    "connection",
    "port",
    "module_defaults",
    "throttle",
    "timeout",
    "delegate_to",
    "delegate_facts",
    "become_flags",
    "become_exe",
];

/// What a role is applied with: from a play's `roles:`, a `dependencies:` list,
/// or an `import_role`/`include_role` task.
pub struct RoleRequest {
    pub name: String,
    pub params: Vars,
    pub inherited: Inherited,
    /// `tasks_from`, `handlers_from`, `vars_from`, `defaults_from`: file stems
    /// under the role's directories, `main` unless the import names another.
    pub tasks_from: String,
    pub handlers_from: String,
    pub vars_from: String,
    pub defaults_from: String,
    /// Whether a role already applied with the same parameters is skipped on
    /// a host where it completed. `None`: the role's meta decides (skipped
    /// unless it says `allow_duplicates: true`), as for `roles:` and
    /// dependencies. An import or include decides itself, its own
    /// `allow_duplicates` (true unless given) overriding the meta's, as
    /// ansible-core's `IncludeRole` sets the role's.
    pub once: Option<bool>,
    /// Whether the role's defaults and vars are visible to the whole play:
    /// Ansible's `public`, true for the play's `roles:` and `import_role`,
    /// false for `include_role` and dependencies (which are visible through
    /// the role that depends on them).
    pub public: bool,
    /// Whether the role's argument specs are checked before its tasks
    /// (`rolespec_validate`, true unless an import or include says no).
    pub validate: bool,
    /// The dep chain: the roles that brought this one in, outermost first.
    pub parents: Vec<Arc<RoleData>>,
    /// The roles whose tasks imported this one, nearest first.
    pub imported_by: Vec<Arc<RoleData>>,
    /// Brought in by a literal `include_role` (or as a dependency of such a
    /// role): its handlers are [`Task::gated`].
    pub included: bool,
}

impl RoleRequest {
    fn main(name: String, params: Vars, inherited: Inherited) -> Self {
        RoleRequest {
            name,
            params,
            inherited,
            tasks_from: "main".into(),
            handlers_from: "main".into(),
            vars_from: "main".into(),
            defaults_from: "main".into(),
            once: None,
            public: true,
            validate: true,
            parents: Vec::new(),
            imported_by: Vec::new(),
            included: false,
        }
    }
}

/// A role as applied: its instance, and its tasks with its dependencies' first.
pub struct AppliedRole {
    pub instance: Arc<RoleInstance>,
    pub tasks: Vec<Task>,
}

/// Collects the roles of one play. Cheap to clone: clones share what was
/// loaded, so a role imported from a task list (`import_role`) lands in the
/// same play-wide list of instances and handlers as the play's `roles:`.
#[derive(Clone)]
pub struct RoleLoader {
    playbook_dir: PathBuf,
    /// `roles_path` of ansible.cfg or `$ANSIBLE_ROLES_PATH` (or Ansible's default).
    roles_path: Vec<PathBuf>,
    /// `collections_path` (ansible.cfg, `$ANSIBLE_COLLECTIONS_PATH`, or
    /// Ansible's default), for roles of installed collections.
    collections_path: Vec<PathBuf>,
    /// `private_role_vars` (ansible.cfg, `$ANSIBLE_PRIVATE_ROLE_VARS`), when
    /// set: see [`RoleLoader::default_public`].
    private_role_vars: Option<bool>,
    /// The collections' action groups, for `module_defaults`.
    pub action_groups: super::ActionGroups,
    /// The variables an import's templates are rendered with as the play
    /// loads (see [`LoadVars::render`]).
    load_vars: Arc<LoadVars>,
    loaded: Arc<Mutex<Loaded>>,
}

/// What a play has to render templates with as it loads: its `vars` (an
/// `import_playbook`'s among them) and `-e`.
#[derive(Default)]
pub struct LoadVars {
    pub play: Vars,
    pub extra: Vars,
}

impl LoadVars {
    /// A value written on an import (a role's `name`, `public`, a
    /// `tasks_from`, an `import_tasks` file), rendered when it is a template,
    /// as ansible-core renders it as the play loads: with `magic`
    /// (`playbook_dir`, `role_path`), the play's `vars`, the import's own
    /// `vars` (`task`: its block's and its own), and `-e`, in that order of
    /// precedence. No inventory or fact exists yet.
    pub fn render(&self, written: &Json, magic: &Vars, task: &[&Vars]) -> Result<Json, String> {
        match written {
            Json::String(t) if rprov_template::is_template(t) => {
                let mut layers = vec![magic, &self.play];
                layers.extend_from_slice(task);
                layers.push(&self.extra);
                super::load::render_at_load(t, &layers)
            }
            other => Ok(other.clone()),
        }
    }
}

#[derive(Default)]
struct Loaded {
    /// Roles already applied, by path and parameters; `None` while the
    /// first one is still loading.
    seen: HashMap<String, Option<Arc<RoleInstance>>>,
    instances: Vec<Arc<RoleInstance>>,
    handlers: Vec<Task>,
    /// Handler files already loaded.
    handler_files: HashSet<PathBuf>,
}

impl std::fmt::Debug for RoleLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleLoader")
            .field("playbook_dir", &self.playbook_dir)
            .finish_non_exhaustive()
    }
}

impl RoleLoader {
    pub fn new(playbook_dir: &Path, roles_path: &[PathBuf], collections_path: &[PathBuf]) -> Self {
        RoleLoader {
            playbook_dir: playbook_dir.to_path_buf(),
            roles_path: roles_path.to_vec(),
            collections_path: collections_path.to_vec(),
            private_role_vars: None,
            load_vars: Arc::default(),
            action_groups: super::ActionGroups::new(super::action_groups::collection_dirs(
                playbook_dir,
                collections_path,
            )),
            loaded: Arc::default(),
        }
    }

    /// This loader with `private_role_vars` as the configuration says.
    pub fn with_private_role_vars(mut self, private: Option<bool>) -> Self {
        self.private_role_vars = private;
        self
    }

    /// This loader rendering an import's templates with `vars`: see
    /// [`LoadVars::render`].
    pub fn with_load_vars(mut self, vars: LoadVars) -> Self {
        self.load_vars = Arc::new(vars);
        self
    }

    /// The variables an import's templates are rendered with.
    pub fn load_vars(&self) -> &LoadVars {
        &self.load_vars
    }

    /// Whether a role whose entry or import does not say `public` shows its
    /// defaults and vars to the rest of the play, as ansible-core's `Role`
    /// decides: a static one (`roles:`, `import_role`) does and an
    /// `include_role` does not, unless `private_role_vars` is set, which
    /// then decides for both.
    pub fn default_public(&self, is_static: bool) -> bool {
        self.private_role_vars.map_or(is_static, |private| !private)
    }

    /// A loader with the same search paths and nothing loaded: a dynamic
    /// `include_role` loads its role with one when it runs, so what that
    /// role brings (its handlers, its public variables) is that include's
    /// alone, whatever the play loaded or another host included.
    pub fn detached(&self) -> Self {
        RoleLoader {
            playbook_dir: self.playbook_dir.clone(),
            roles_path: self.roles_path.clone(),
            collections_path: self.collections_path.clone(),
            private_role_vars: self.private_role_vars,
            action_groups: self.action_groups.clone(),
            load_vars: self.load_vars.clone(),
            loaded: Arc::default(),
        }
    }

    /// The lock is only ever held for a push or a lookup, never while a file
    /// is parsed, so nested imports cannot deadlock; a panic while holding it
    /// leaves plain data behind, which is still usable.
    fn loaded(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every role instance and every role handler loaded so far, in order.
    /// How many role handlers are loaded so far.
    pub fn handler_count(&self) -> usize {
        self.loaded().handlers.len()
    }

    pub fn finish(self) -> (Vec<Arc<RoleInstance>>, Vec<Task>) {
        let mut loaded = self.loaded();
        (
            std::mem::take(&mut loaded.instances),
            std::mem::take(&mut loaded.handlers),
        )
    }

    /// Registers the plugin folders (`library/`, `module_utils/`) of the
    /// legacy roles a play's `roles:` names, before its `pre_tasks` are read:
    /// Ansible loads a play's roles first, so its `pre_tasks` see their
    /// modules. An entry that cannot be read or found is left to [`Self::load`]
    /// to report.
    pub fn register_plugin_dirs(&self, doc: &Document, entries: &[Node], inherited: &Inherited) {
        for entry in entries {
            let Ok((name, _, _)) = read_entry(doc, entry, inherited) else {
                continue;
            };
            let found = inherited
                .collections
                .iter()
                .filter(|_| !name.contains('.'))
                .find_map(|c| self.find_role(&format!("{c}.{name}")))
                .or_else(|| self.find_role(&name));
            if let Some(path) = found.filter(|p| !is_collection_role(p)) {
                crate::modules::ansible_fallback::add_role_dir(&path);
            }
        }
    }

    /// Loads a role entry from a play's `roles:` with its dependencies first.
    /// Its tasks are empty when the same role with the same parameters was
    /// already applied.
    pub fn load(
        &self,
        doc: &Document,
        entry: &Node,
        inherited: &Inherited,
        depth: usize,
    ) -> Result<Option<AppliedRole>, LoadError> {
        let (name, params, inherited) = read_entry(doc, entry, inherited)?;
        let req = RoleRequest {
            public: self.default_public(true),
            ..RoleRequest::main(name, params, inherited)
        };
        self.apply(doc, entry, req, depth)
    }

    /// Applies a role: reads its defaults, vars and meta, its dependencies
    /// (first), its tasks and handlers. `at` is where it was asked for, for errors.
    pub fn apply(
        &self,
        doc: &Document,
        at: &Node,
        req: RoleRequest,
        depth: usize,
    ) -> Result<Option<AppliedRole>, LoadError> {
        if depth > 16 {
            return Err(
                LoadError::new(doc.origin(at), "roles nested more than 16 deep")
                    .with_hint("two roles probably depend on (or import) each other"),
            );
        }
        let mut name = req.name;
        // A short name is first looked up in the play's `collections:` (or
        // the dependent role's collection), then in the roles paths, as
        // Ansible's `RoleDefinition` does; found in a collection, the role
        // is named by its full name there (`ns.coll.role : task`).
        let in_collections = req
            .inherited
            .collections
            .iter()
            .filter(|_| !name.contains('.'))
            .find_map(|c| {
                let full = format!("{c}.{name}");
                self.find_role(&full).map(|path| (full, path))
            });
        let found = match in_collections {
            Some((full, path)) => {
                name = full;
                Some(path)
            }
            None => self.find_role(&name),
        };
        let path = found.ok_or_else(|| {
            let looked = format!(
                "looked in {}",
                self.search_paths(&name)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let collection = name.rsplit_once('.').map(|(c, _)| c).filter(|c| c.contains('.'));
            let hint = match (self.requirements_listing(&name), collection) {
                (Some(file), _) => format!(
                    "it is listed in {}: run `ansible-galaxy install -r {}` to install it ({looked})",
                    file.display(),
                    file.display()
                ),
                (None, Some(c)) => match requirements_for_collection(&self.playbook_dir, c) {
                    Some(file) => format!(
                        "its collection `{c}` is listed in {}: run `ansible-galaxy collection install -r {}` to install it ({looked})",
                        file.display(),
                        file.display()
                    ),
                    None => looked,
                },
                (None, None) => looked,
            };
            LoadError::new(doc.origin(at), format!("role `{name}` not found")).with_hint(hint)
        })?;
        let from = |dir: &str, stem: &str| -> Result<Option<PathBuf>, LoadError> {
            let found = yaml::find_yaml(&path.join(dir), stem);
            if found.is_none() && stem != "main" {
                return Err(LoadError::new(
                    doc.origin(at),
                    format!("role `{name}` has no {dir}/{stem}.yml"),
                ));
            }
            // `tasks_from: ../../x` or an absolute path reaches outside the
            // role: refused, in ansible-core's words.
            if let Some(f) = found
                .as_ref()
                .filter(|f| !lexically(f).starts_with(lexically(&path.join(dir))))
            {
                return Err(LoadError::new(
                    doc.origin(at),
                    format!(
                        "Failed loading '{}' for role ({name}) as it is not inside the expected role path: '{}'",
                        f.display(),
                        path.join(dir).display()
                    ),
                )
                .with_hint(format!("name a file under the role's {dir}/ folder")));
            }
            Ok(found)
        };
        let defaults = match from("defaults", &req.defaults_from)? {
            Some(p) if req.defaults_from != "main" => vars_file(&p)?,
            _ => load_vars_dir(&path.join("defaults"))?,
        };
        let vars = match from("vars", &req.vars_from)? {
            Some(p) if req.vars_from != "main" => vars_file(&p)?,
            _ => load_vars_dir(&path.join("vars"))?,
        };
        let tasks_file = from("tasks", &req.tasks_from)?;
        let handlers_file = from("handlers", &req.handlers_from)?;
        let meta = match yaml::find_yaml(&path.join("meta"), "main") {
            Some(p) => Some(yaml::load_file(&p)?),
            None => None,
        };
        let allow_duplicates = meta
            .as_ref()
            .and_then(|m| m.root.get("allow_duplicates"))
            .and_then(|n| crate::truthy::as_bool(&n.to_json()))
            .unwrap_or(false);

        let key = format!(
            "{}|{}",
            path.display(),
            serde_json::to_string(&req.params).unwrap_or_default()
        );
        // A role applied again with the same parameters is loaded again:
        // whether it runs is decided on each host, by whether an earlier
        // application completed there (`once_key`).
        let once = req.once.unwrap_or(!allow_duplicates);
        let repeated = self.loaded().seen.contains_key(&key);
        if !repeated {
            self.loaded().seen.insert(key.clone(), None);
        }

        let included = req.included;
        // A role nested in another's folder (`ovirt.ovirt.infra.roles.mac_pools`)
        // is named by its collection and its own folder, `ovirt.ovirt.mac_pools`,
        // as ansible-core's collection reference takes the last part.
        let name = match name.split('.').collect::<Vec<_>>()[..] {
            [ns, coll, _, .., last] if is_collection_role(&path) => format!("{ns}.{coll}.{last}"),
            _ => name,
        };
        let own = Arc::new(RoleData {
            name,
            path: path.clone(),
            defaults,
            vars,
            params: req.params,
        });
        // A role's tasks (and the names of its dependencies) are looked up
        // in its own collection and its meta's `collections:`, not in the
        // play's: Ansible's roles do not inherit `collections`.
        let mut inherited = req.inherited;
        inherited.collections = role_collections(&path, meta.as_ref());
        // Dependencies run first and inherit this entry's when/tags/become;
        // their dep chain is this role's with this role at its end.
        let mut chain = req.parents.clone();
        chain.push(own.clone());
        let mut deps: Vec<Arc<RoleData>> = Vec::new();
        let mut tasks = Vec::new();
        if let Some(meta) = &meta {
            match meta.root.get("dependencies") {
                Some(list) if !list.is_null() => {
                    let Some(items) = list.as_seq() else {
                        return Err(LoadError::new(
                            meta.origin(list),
                            "`dependencies` must be a list of roles",
                        ));
                    };
                    for dep in items {
                        let (name, params, inherited) = read_entry(meta, dep, &inherited)?;
                        let dep_req = RoleRequest {
                            public: false,
                            parents: chain.clone(),
                            imported_by: req.imported_by.clone(),
                            included: req.included,
                            ..RoleRequest::main(name, params, inherited)
                        };
                        if let Some(d) = self.apply(meta, dep, dep_req, depth + 1)? {
                            deps.extend(d.instance.dependencies.iter().cloned());
                            deps.push(d.instance.own.clone());
                            tasks.extend(d.tasks);
                        }
                    }
                }
                _ => {}
            }
        }

        // After its dependencies', before its own tasks are read: where
        // Ansible's `_load_role_data` adds a legacy role's plugin folders.
        if !is_collection_role(&path) {
            crate::modules::ansible_fallback::add_role_dir(&path);
        }
        let instance = Arc::new(RoleInstance {
            own,
            parents: req.parents,
            dependencies: deps,
            imported_by: req.imported_by,
            once_key: once.then(|| Arc::from(key.as_str())),
        });
        {
            let mut loaded = self.loaded();
            let first = loaded.seen.entry(key).or_default();
            if first.is_none() {
                *first = Some(instance.clone());
            }
            // A literal `include_role`'s role is shown to the play only once
            // the include runs on a host (see `role_public`).
            if req.public && !req.included && !(once && repeated) {
                loaded.instances.push(instance.clone());
            }
        }
        let scope = TaskScope {
            role: Some(instance.clone()),
            base_dir: path.join("tasks"),
            playbook_dir: self.playbook_dir.clone(),
            inherited,
            depth,
            files: Vec::new(),
            roles: Some(self.clone()),
            action_groups: self.action_groups.clone(),
            in_handlers: false,
            in_handler_block: false,
        };
        let params = &instance.own.params;
        let validation = match req.validate {
            true => argument_spec_task(&path, meta.as_ref(), &req.tasks_from, params)?,
            false => None,
        };
        if let Some(validation) = validation {
            let doc = yaml::parse_str(&validation.text, &validation.file)?;
            tasks.extend(super::task::parse_task_list(&doc, &doc.root, &scope)?);
        }
        if let Some(p) = tasks_file {
            tasks.extend(parse_tasks_file(&p, &scope)?);
        }
        if once && !tasks.is_empty() {
            tasks.push(role_complete(&scope)?);
        }
        if req.public && included {
            tasks.insert(0, role_public(&scope)?);
        }
        // A role imported twice has one set of handlers: a notification
        // runs its handler once, as Ansible does.
        let handlers_file = handlers_file.filter(|p| self.loaded().handler_files.insert(p.clone()));
        if let Some(p) = handlers_file {
            let mut hscope = scope;
            hscope.base_dir = path.join("handlers");
            hscope.in_handlers = true;
            let mut handlers = parse_tasks_file(&p, &hscope)?;
            for h in &mut handlers {
                h.gated = included;
            }
            self.loaded().handlers.extend(handlers);
        }
        Ok(Some(AppliedRole { instance, tasks }))
    }

    fn search_paths(&self, name: &str) -> Vec<PathBuf> {
        // `namespace.collection.role`: the role of an installed collection
        // first. A name of that shape may also be a plain role's folder
        // (ansible-core's own `module_utils_facts.system.selinux`), so the
        // roles paths follow, as ansible-core's `RoleDefinition` falls back
        // to them when no collection has the role.
        // A role nested in another's folder is `ns.coll.outer.roles.inner`
        // (ovirt.ovirt's `infra.roles.mac_pools`), its parts the folders
        // under `roles/`, as ansible-core's collection loader reads them.
        let parts: Vec<&str> = name.split('.').collect();
        let mut dirs = Vec::new();
        if let [ns, coll, ref role @ ..] = parts[..] {
            let role = role.join("/");
            if !ns.is_empty() && !coll.is_empty() && parts[2..].iter().all(|p| !p.is_empty()) {
                dirs.extend(
                    std::iter::once(self.playbook_dir.join("collections"))
                        .chain(self.collections_path.iter().cloned())
                        .map(|d| {
                            // A path entry may be the `ansible_collections` dir itself.
                            let base = if d.ends_with("ansible_collections") {
                                d
                            } else {
                                d.join("ansible_collections")
                            };
                            base.join(ns).join(coll).join("roles").join(&role)
                        }),
                );
            }
        }
        let plain = std::iter::once(self.playbook_dir.join("roles"))
            .chain(self.roles_path.iter().cloned())
            .chain(std::iter::once(self.playbook_dir.clone()));
        dirs.extend(plain.map(|d| d.join(name)));
        dirs
    }

    /// The `requirements.yml` (beside the playbook, or in `roles/`) that
    /// lists the role `name`, for the hint to install it with ansible-galaxy.
    fn requirements_listing(&self, name: &str) -> Option<PathBuf> {
        let candidates = [
            self.playbook_dir.join("requirements.yml"),
            self.playbook_dir.join("roles/requirements.yml"),
            self.playbook_dir.join("requirements.yaml"),
            self.playbook_dir.join("roles/requirements.yaml"),
        ];
        candidates.into_iter().find(|f| {
            let Ok(text) = std::fs::read_to_string(f) else {
                return false;
            };
            requirements_names(&text).iter().any(|n| n == name)
        })
    }

    /// Whether a role of that name is found where roles are looked for.
    pub fn has_role(&self, name: &str) -> bool {
        self.find_role(name).is_some()
    }

    fn find_role(&self, name: &str) -> Option<PathBuf> {
        let as_path = Path::new(name);
        if as_path.is_absolute() {
            return as_path.is_dir().then(|| as_path.to_path_buf());
        }
        self.search_paths(name).into_iter().find(|p| p.is_dir())
    }
}

/// The requirements.yml (beside the playbook, or in `roles/`) whose
/// `collections:` list the collection `namespace.name`, for the hint to
/// install it with `ansible-galaxy collection install -r`.
pub fn requirements_for_collection(playbook_dir: &Path, collection: &str) -> Option<PathBuf> {
    [
        "requirements.yml",
        "roles/requirements.yml",
        "collections/requirements.yml",
        "requirements.yaml",
    ]
    .into_iter()
    .map(|f| playbook_dir.join(f))
    .find(|f| {
        let Ok(text) = std::fs::read_to_string(f) else {
            return false;
        };
        let Ok(serde_json::Value::Object(doc)) = serde_saphyr::from_str::<serde_json::Value>(&text)
        else {
            return false;
        };
        let Some(serde_json::Value::Array(list)) = doc.get("collections") else {
            return false;
        };
        list.iter().any(|e| match e {
            serde_json::Value::String(s) => s == collection,
            serde_json::Value::Object(m) => {
                m.get("name").and_then(|n| n.as_str()) == Some(collection)
            }
            _ => false,
        })
    })
}

/// The role names a requirements.yml installs: a list of entries (or the
/// `roles:` list of the newer format), each `name:` (else the last part of
/// `src:`, without `.git` and a `,version`), or a bare string.
fn requirements_names(text: &str) -> Vec<String> {
    let Ok(doc) = serde_saphyr::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let list = match &doc {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(m) => match m.get("roles") {
            Some(serde_json::Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let from_src = |src: &str| -> String {
        let s = src.split(',').next().unwrap_or(src);
        let last = s
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(s);
        last.trim_end_matches(".git").to_string()
    };
    list.iter()
        .filter_map(|e| match e {
            serde_json::Value::String(s) => Some(from_src(s)),
            serde_json::Value::Object(m) => match (m.get("name"), m.get("src")) {
                (Some(serde_json::Value::String(n)), _) => Some(n.clone()),
                (_, Some(serde_json::Value::String(s))) => Some(from_src(s)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Where a role's tasks look up short module names, as Ansible's
/// `Role._load_role_data` builds the list: the role's own collection (for a
/// role inside `ansible_collections/NS/COLL/roles/`), then its
/// The task ansible-core puts first in a role whose entry point (`main`, or
/// `tasks_from`) has an argument spec: the spec's `options` checked against
/// the role's variables and parameters (`validate_argument_spec`), tagged
/// `always`. Its YAML text, and the file the spec came from.
struct ValidationTask {
    text: String,
    file: PathBuf,
}

/// The argument specs of a role: `meta/argument_specs.yml` when there is
/// one (then `meta/main.yml`'s are not read, as in ansible-core), else the
/// `argument_specs` of `meta/main.yml`.
fn argument_spec_task(
    path: &Path,
    meta: Option<&Document>,
    entry: &str,
    params: &Vars,
) -> Result<Option<ValidationTask>, LoadError> {
    let (specs, file) = match yaml::find_yaml(&path.join("meta"), "argument_specs") {
        Some(f) => (
            yaml::load_file(&f)?
                .root
                .get("argument_specs")
                .map(Node::to_json),
            f,
        ),
        None => match meta {
            Some(m) => (
                m.root.get("argument_specs").map(Node::to_json),
                m.path.to_path_buf(),
            ),
            None => return Ok(None),
        },
    };
    let Some(spec) = specs
        .as_ref()
        .and_then(|s| s.get(entry))
        .filter(|s| !s.is_null())
    else {
        return Ok(None);
    };
    let mut name = format!("Validating arguments against arg spec '{entry}'");
    if let Some(d) = spec.get("short_description").and_then(|d| d.as_str()) {
        name = format!("{name} - {d}");
    }
    let role = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let task = serde_json::json!([{
        "name": name,
        "ansible.builtin.validate_argument_spec": {
            "argument_spec": spec.get("options").cloned().unwrap_or(serde_json::json!({})),
            "provided_arguments": params,
            "validate_args_context": {
                "type": "role",
                "name": role,
                "argument_spec_name": entry,
                "path": path.display().to_string(),
            },
        },
        "tags": ["always"],
    }]);
    Ok(Some(ValidationTask {
        text: task.to_string(),
        file,
    }))
}

/// `meta/main.yml` `collections:`, then `ansible.builtin` (a collection's
/// role) or `ansible.legacy` (any other) unless one of them is listed.
fn role_collections(path: &Path, meta: Option<&Document>) -> Vec<String> {
    let parts: Vec<&str> = path
        .iter()
        .rev()
        .take(5)
        .filter_map(|p| p.to_str())
        .collect();
    let own = match parts[..] {
        [_, "roles", coll, ns, "ansible_collections"] => Some(format!("{ns}.{coll}")),
        _ => None,
    };
    let mut out: Vec<String> = own.iter().cloned().collect();
    let listed = meta
        .and_then(|m| m.root.get("collections"))
        .and_then(super::keywords::comma_list)
        .unwrap_or_default();
    for c in listed {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if !out.is_empty()
        && !out
            .iter()
            .any(|c| c == "ansible.builtin" || c == "ansible.legacy")
    {
        out.push(
            if own.is_some() {
                "ansible.builtin"
            } else {
                "ansible.legacy"
            }
            .to_string(),
        );
    }
    out
}

/// A `roles:` or `dependencies:` entry: a name, or a mapping of `role:`/`name:`,
/// keywords, and parameters.
fn read_entry(
    doc: &Document,
    entry: &Node,
    inherited: &Inherited,
) -> Result<(String, Vars, Inherited), LoadError> {
    let mut inh = inherited.clone();
    if let Some(name) = entry.as_str() {
        return Ok((name.to_string(), Vars::new(), inh));
    }
    let Some(entries) = entry.as_map() else {
        return Err(LoadError::new(
            doc.origin(entry),
            format!("expected a role name or mapping, found {}", entry.kind()),
        ));
    };
    let name = entry
        .get("role")
        .or_else(|| entry.get("name"))
        .and_then(Node::as_str)
        .ok_or_else(|| LoadError::new(doc.origin(entry), "role entry without `role:` or `name:`"))?
        .to_string();
    let mut params = Vars::new();
    for (k, v) in entries {
        let key = k.key_string();
        if ROLE_KEYWORDS_REFUSED.contains(&key.as_str()) {
            return Err(LoadError::new(
                doc.origin(k),
                format!("`{key}` on a role entry is not supported by rprov"),
            )
            .with_hint(format!(
                "set `{key}` on the play or on the role's tasks instead; see the README's table of supported Ansible features"
            )));
        }
        if !ROLE_KEYWORDS.contains(&key.as_str()) {
            params.insert(key, v.to_json());
        }
    }
    if let Some(v) = entry.get("vars") {
        let m =
            json_map(v).ok_or_else(|| LoadError::new(doc.origin(v), "`vars` must be a mapping"))?;
        params.extend(m);
    }
    if let Some(t) = entry.get("tags") {
        inh.tags
            .extend(super::keywords::comma_list(t).unwrap_or_default());
    }
    if let Some(w) = entry.get("when") {
        inh.when
            .extend(super::keywords::string_list(w).unwrap_or_default());
    }
    if let Some(b) = entry.get("become") {
        match b.as_str().filter(|s| s.contains("{{")) {
            Some(t) => {
                inh.become_ = None;
                inh.become_template = Some(t.to_string());
            }
            None => {
                inh.become_ = crate::truthy::as_bool(&b.to_json());
                inh.become_template = None;
            }
        }
    }
    if let Some(u) = entry.get("become_user").and_then(Node::as_str) {
        inh.become_user = Some(u.to_string());
    }
    if let Some(m) = entry.get("become_method").and_then(Node::as_str) {
        inh.become_method = Some(m.to_string());
    }
    if let Some(u) = entry.get("remote_user").and_then(Node::as_str) {
        inh.remote_user = Some(u.to_string());
    }
    if let Some(e) = entry.get("environment") {
        inh.environment.push(e.to_json());
    }
    super::keywords::check_become_method(doc, entry)?;
    let flag = |key: &str| super::keywords::yes_no(doc, entry, key);
    if let Some(b) = flag("any_errors_fatal")? {
        inh.any_errors_fatal = Some(b);
    }
    if let Some(b) = flag("ignore_errors")? {
        inh.ignore_errors = Some(b);
    }
    if let Some(b) = flag("ignore_unreachable")? {
        inh.ignore_unreachable = Some(b);
    }
    if let Some(b) = flag("no_log")? {
        inh.no_log = Some(b);
    }
    if let Some(b) = flag("check_mode")? {
        inh.check_mode = Some(b);
    }
    if let Some(b) = flag("diff")? {
        inh.diff = Some(b);
    }
    inh.run_once |= flag("run_once")?.unwrap_or(false);
    Ok((name, params, inh))
}

/// Reads `defaults/` or `vars/`: `main.yml`, or every file in a `main/` directory.
fn load_vars_dir(dir: &Path) -> Result<Vars, LoadError> {
    let mut out = Vars::new();
    if let Some(p) = yaml::find_yaml(dir, "main") {
        merge_vars_file(&p, &mut out)?;
    } else if dir.join("main").is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("main"))
            .map_err(|e| LoadError::new(Origin::file(dir), format!("cannot read directory: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
            .collect();
        files.sort();
        for f in files {
            merge_vars_file(&f, &mut out)?;
        }
    }
    Ok(out)
}

fn vars_file(path: &Path) -> Result<Vars, LoadError> {
    let mut out = Vars::new();
    merge_vars_file(path, &mut out)?;
    Ok(out)
}

/// Reads a YAML vars file (a mapping) into `out`.
pub fn merge_vars_file(path: &Path, out: &mut Vars) -> Result<(), LoadError> {
    let doc = yaml::load_file(path)?;
    match doc.root.to_json() {
        Json::Object(m) => out.extend(m),
        Json::Null => {}
        _ => {
            return Err(LoadError::new(
                doc.origin(&doc.root),
                format!("a vars file must be a mapping, found {}", doc.root.kind()),
            ))
        }
    }
    Ok(())
}

/// A role inside a collection (`ansible_collections/NS/COLL/roles/NAME`):
/// Ansible adds no plugin folders of such a role.
pub(super) fn is_collection_role(path: &Path) -> bool {
    path.components()
        .any(|c| c.as_os_str() == "ansible_collections")
}

/// `path` made absolute with its `.` and `..` taken out, as written (links
/// not followed), to tell whether it lies under another.
fn lexically(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The implicit last task of a role applied once per host: `meta:
/// role_complete`, tagged `always` and without conditions, as ansible-core's
/// `Role.compile` adds it; it marks the role done on a host that ran one of
/// its tasks (see `RoleInstance::once_key`), and is never shown.
fn role_complete(scope: &TaskScope) -> Result<Task, LoadError> {
    let mut scope = scope.clone();
    scope.inherited.when.clear();
    scope.inherited.tags.clear();
    scope.inherited.include_gates.clear();
    implicit_task(&scope, "role_complete")
}

/// The implicit first task of a role a literal `include_role` brings in
/// with `public: true`: `meta: role_public`, which shows the role's
/// defaults and vars to the host's later tasks when it runs. It keeps the
/// include's conditions and tag gates, so a role whose include is skipped
/// (`when: false`, or not selected by `--tags`) stays private, as
/// ansible-core makes an included role public only when the include runs.
/// Tagged `always`: the include's own tags decide, through its gates.
fn role_public(scope: &TaskScope) -> Result<Task, LoadError> {
    let mut scope = scope.clone();
    scope.inherited.tags.clear();
    implicit_task(&scope, "role_public")
}

/// A `meta: what` task tagged `always`, with `scope`'s keywords.
fn implicit_task(scope: &TaskScope, what: &str) -> Result<Task, LoadError> {
    let text = format!("- meta: {what}\n  tags: [always]\n");
    let file = format!("<{what}>");
    let doc = yaml::parse_str(&text, Path::new(&file))?;
    let mut tasks = super::task::parse_task_list(&doc, &doc.root, scope)?;
    tasks
        .pop()
        .ok_or_else(|| LoadError::new(Origin::file(Path::new(&file)), "no implicit task"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_dir(base: &Path) -> PathBuf {
        let tasks = base.join("tasks");
        std::fs::create_dir_all(&tasks).expect("mkdir");
        std::fs::write(tasks.join("main.yml"), "- debug: msg=hi\n").expect("write");
        base.to_path_buf()
    }

    #[test]
    fn a_dotted_role_name_falls_back_to_the_roles_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let roles = dir.path().join("targets");
        let plain = role_dir(&roles.join("module_utils_facts.system.selinux"));
        let loader = RoleLoader::new(dir.path(), std::slice::from_ref(&roles), &[]);
        assert_eq!(
            loader.find_role("module_utils_facts.system.selinux"),
            Some(plain)
        );
    }

    #[test]
    fn a_collection_role_comes_before_a_plain_role_of_the_same_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        role_dir(&dir.path().join("roles/acme.web.nginx"));
        let in_collection = role_dir(
            &dir.path()
                .join("collections/ansible_collections/acme/web/roles/nginx"),
        );
        let loader = RoleLoader::new(dir.path(), &[], &[]);
        assert_eq!(loader.find_role("acme.web.nginx"), Some(in_collection));
    }
}
