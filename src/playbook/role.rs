//! Finding and loading roles: defaults, vars, meta dependencies, tasks and handlers.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::keywords::json_map;
use super::task::{parse_tasks_file, Inherited, TaskScope};
use super::{RoleInstance, Task, Vars};
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
];

/// Collects the roles of one play in execution order.
pub struct RoleLoader<'a> {
    pub playbook_dir: &'a Path,
    /// Name and parameters of roles already applied, to run each once unless
    /// `allow_duplicates: true`.
    seen: HashSet<String>,
    pub instances: Vec<Arc<RoleInstance>>,
    pub tasks: Vec<Task>,
    pub handlers: Vec<Task>,
}

impl<'a> RoleLoader<'a> {
    pub fn new(playbook_dir: &'a Path) -> Self {
        RoleLoader {
            playbook_dir,
            seen: HashSet::new(),
            instances: Vec::new(),
            tasks: Vec::new(),
            handlers: Vec::new(),
        }
    }

    /// Loads a role entry from a play's `roles:` (or a `dependencies:` list)
    /// with its dependencies first. Returns the instance, or `None` when the
    /// same role with the same parameters was already applied.
    pub fn load(
        &mut self,
        doc: &Document,
        entry: &Node,
        inherited: &Inherited,
        depth: usize,
    ) -> Result<Vec<Arc<RoleInstance>>, LoadError> {
        if depth > 16 {
            return Err(LoadError::new(
                doc.origin(entry),
                "role dependencies nested more than 16 deep",
            )
            .with_hint("two roles probably depend on each other"));
        }
        let (name, params, mut inh) = self.read_entry(doc, entry, inherited)?;
        let path = self.find_role(&name).ok_or_else(|| {
            LoadError::new(doc.origin(entry), format!("role `{name}` not found")).with_hint(
                format!(
                    "looked in {}",
                    self.search_paths(&name)
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;

        let defaults = load_vars_dir(&path.join("defaults"))?;
        let vars = load_vars_dir(&path.join("vars"))?;
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
            serde_json::to_string(&params).unwrap_or_default()
        );
        if !allow_duplicates && !self.seen.insert(key) {
            return Ok(Vec::new());
        }

        // Dependencies run first and inherit this entry's when/tags/become.
        let mut deps: Vec<Arc<RoleInstance>> = Vec::new();
        if let Some(meta) = &meta {
            if let Some(list) = meta.root.get("dependencies") {
                let Some(items) = list.as_seq() else {
                    if list.is_null() {
                        return self.finish(name, path, defaults, vars, params, deps, inh);
                    }
                    return Err(LoadError::new(
                        meta.origin(list),
                        "`dependencies` must be a list of roles",
                    ));
                };
                for dep in items {
                    let loaded = self.load(meta, dep, &inh.inherited, depth + 1)?;
                    for d in loaded {
                        deps.extend(d.dependency_defaults.iter().cloned());
                        deps.push(d);
                    }
                }
            }
        }
        inh.depth = depth;
        self.finish(name, path, defaults, vars, params, deps, inh)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        name: String,
        path: PathBuf,
        defaults: Vars,
        vars: Vars,
        params: Vars,
        deps: Vec<Arc<RoleInstance>>,
        inh: RoleInherited,
    ) -> Result<Vec<Arc<RoleInstance>>, LoadError> {
        let instance = Arc::new(RoleInstance {
            name,
            path: path.clone(),
            defaults,
            vars,
            params,
            dependency_defaults: deps,
        });
        self.instances.push(instance.clone());
        let scope = TaskScope {
            role: Some(instance.clone()),
            base_dir: path.join("tasks"),
            playbook_dir: self.playbook_dir.to_path_buf(),
            inherited: inh.inherited,
            depth: 0,
        };
        if let Some(p) = yaml::find_yaml(&path.join("tasks"), "main") {
            self.tasks.extend(parse_tasks_file(&p, &scope)?);
        }
        if let Some(p) = yaml::find_yaml(&path.join("handlers"), "main") {
            let mut hscope = scope.clone();
            hscope.base_dir = path.join("handlers");
            self.handlers.extend(parse_tasks_file(&p, &hscope)?);
        }
        Ok(vec![instance])
    }

    fn read_entry(
        &self,
        doc: &Document,
        entry: &Node,
        inherited: &Inherited,
    ) -> Result<(String, Vars, RoleInherited), LoadError> {
        let mut inh = RoleInherited {
            inherited: inherited.clone(),
            depth: 0,
        };
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
            .ok_or_else(|| {
                LoadError::new(doc.origin(entry), "role entry without `role:` or `name:`")
            })?
            .to_string();
        let mut params = Vars::new();
        for (k, v) in entries {
            let key = k.key_string();
            if !ROLE_KEYWORDS.contains(&key.as_str()) {
                params.insert(key, v.to_json());
            }
        }
        if let Some(v) = entry.get("vars") {
            let m = json_map(v)
                .ok_or_else(|| LoadError::new(doc.origin(v), "`vars` must be a mapping"))?;
            params.extend(m);
        }
        if let Some(t) = entry.get("tags") {
            inh.inherited
                .tags
                .extend(super::keywords::string_list(t).unwrap_or_default());
        }
        if let Some(w) = entry.get("when") {
            inh.inherited
                .when
                .extend(super::keywords::string_list(w).unwrap_or_default());
        }
        if let Some(b) = entry.get("become") {
            inh.inherited.become_ = crate::truthy::as_bool(&b.to_json());
        }
        if let Some(u) = entry.get("become_user").and_then(Node::as_str) {
            inh.inherited.become_user = Some(u.to_string());
        }
        Ok((name, params, inh))
    }

    fn search_paths(&self, name: &str) -> Vec<PathBuf> {
        let mut dirs = vec![self.playbook_dir.join("roles")];
        if let Ok(env) = std::env::var("ANSIBLE_ROLES_PATH") {
            dirs.extend(env.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
        }
        dirs.push(self.playbook_dir.to_path_buf());
        dirs.into_iter().map(|d| d.join(name)).collect()
    }

    fn find_role(&self, name: &str) -> Option<PathBuf> {
        let as_path = Path::new(name);
        if as_path.is_absolute() {
            return as_path.is_dir().then(|| as_path.to_path_buf());
        }
        self.search_paths(name).into_iter().find(|p| p.is_dir())
    }
}

struct RoleInherited {
    inherited: Inherited,
    depth: usize,
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
