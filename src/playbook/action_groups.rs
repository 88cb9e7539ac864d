//! Action groups for `module_defaults: {group/NAME: …}`: the modules a
//! collection lists under `action_groups` in its `meta/runtime.yml`, as
//! ansible-core's `Base._resolve_group` reads them.
//!
//! `group/ns.coll.name` is the group `ns.coll.name` (or `name`) of that
//! collection; a name without a collection (`group/aws`) is one of
//! ansible-core's own groups, each of which only gathers collections' groups
//! (its `ansible_builtin_runtime.yml`). A group's entries are module names,
//! short for the collection's own, and one `metadata` mapping whose
//! `extend_group` adds other groups' modules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::yaml::{self, Value};

/// ansible-core 2.19's own groups (`lib/ansible/config/ansible_builtin_runtime.yml`,
/// its `action_groups` but for the test ones): each extends collections'
/// groups of the same purpose.
const BUILTIN: &[(&str, &[&str])] = &[
    ("aws", &["amazon.aws.aws", "community.aws.aws"]),
    ("acme", &["community.crypto.acme"]),
    ("azure", &["azure.azcollection.azure"]),
    ("cpm", &["wti.remote.cpm"]),
    (
        "docker",
        &["community.general.docker", "community.docker.docker"],
    ),
    ("gcp", &["google.cloud.gcp"]),
    (
        "k8s",
        &[
            "community.kubernetes.k8s",
            "community.general.k8s",
            "community.kubevirt.k8s",
            "community.okd.k8s",
            "kubernetes.core.k8s",
        ],
    ),
    ("os", &["openstack.cloud.os"]),
    ("ovirt", &["ovirt.ovirt.ovirt", "community.general.ovirt"]),
    ("vmware", &["community.vmware.vmware"]),
];

/// Resolves groups against the collections of a run (the playbook's
/// `collections/`, then `collections_path`), each group once.
#[derive(Clone, Default)]
pub struct ActionGroups(Arc<Inner>);

#[derive(Default)]
struct Inner {
    dirs: Vec<PathBuf>,
    resolved: Mutex<HashMap<String, Arc<Vec<String>>>>,
}

impl std::fmt::Debug for ActionGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ActionGroups").field(&self.0.dirs).finish()
    }
}

impl ActionGroups {
    /// Groups of the collections under `dirs`, each a collections path
    /// entry (holding `ansible_collections/`, or that folder itself).
    pub fn new(dirs: impl IntoIterator<Item = PathBuf>) -> Self {
        ActionGroups(Arc::new(Inner {
            dirs: dirs.into_iter().collect(),
            resolved: Mutex::default(),
        }))
    }

    /// The group's full name: `ansible.builtin.NAME` for a short one, as
    /// ansible-core qualifies it.
    pub fn qualified(name: &str) -> String {
        match is_fqcr(name) {
            true => name.to_string(),
            false => format!("ansible.builtin.{name}"),
        }
    }

    /// The modules (full names) of group `name` (as written after
    /// `group/`). A group no collection has is an error in ansible-core's
    /// words.
    pub fn members(&self, name: &str) -> Result<Arc<Vec<String>>, String> {
        let fq = Self::qualified(name);
        if let Some(found) = self.cached(&fq) {
            return Ok(found);
        }
        let mut seen = Vec::new();
        let members = self.resolve(&fq, &mut seen).ok_or_else(|| {
            format!(
                "Error loading module_defaults: could not resolve the module_defaults group {fq}"
            )
        })?;
        let members = Arc::new(members);
        self.0
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fq, members.clone());
        Ok(members)
    }

    fn cached(&self, fq: &str) -> Option<Arc<Vec<String>>> {
        let resolved = self.0.resolved.lock().unwrap_or_else(|e| e.into_inner());
        resolved.get(fq).cloned()
    }

    /// `fq`'s modules, those of the groups it extends after its own
    /// (`None`: no such group); `seen` breaks groups that extend each other.
    fn resolve(&self, fq: &str, seen: &mut Vec<String>) -> Option<Vec<String>> {
        if seen.iter().any(|s| s == fq) {
            return Some(Vec::new());
        }
        seen.push(fq.to_string());
        let (collection, extends, mut members) = match fq.strip_prefix("ansible.builtin.") {
            Some(short) => {
                let (_, extends) = BUILTIN.iter().find(|(n, _)| *n == short)?;
                let extends = extends.iter().map(|s| s.to_string()).collect();
                ("ansible.builtin".to_string(), extends, Vec::new())
            }
            None => {
                let collection = fq.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
                let (extends, members) = self.group_in_collection(&collection, fq)?;
                (collection, extends, members)
            }
        };
        for extended in extends {
            let extended = match is_fqcr(&extended) {
                true => extended,
                false => format!("{collection}.{extended}"),
            };
            // An extended group that is not there adds nothing, as in
            // ansible-core (`mandatory=False`).
            members.extend(self.resolve(&extended, seen).unwrap_or_default());
        }
        Some(members)
    }

    /// The group `fq` of `collection`'s `meta/runtime.yml`: the groups it
    /// extends and its own modules, by their full names.
    fn group_in_collection(
        &self,
        collection: &str,
        fq: &str,
    ) -> Option<(Vec<String>, Vec<String>)> {
        let (ns, coll) = collection.split_once('.')?;
        let runtime = self.0.dirs.iter().find_map(|d| {
            let base = match d.ends_with("ansible_collections") {
                true => d.clone(),
                false => d.join("ansible_collections"),
            };
            let p = base.join(ns).join(coll).join("meta/runtime.yml");
            p.is_file().then_some(p)
        })?;
        let doc = yaml::load_file(&runtime).ok()?;
        let groups = doc.root.get("action_groups")?;
        let resource = fq.strip_prefix(&format!("{collection}.")).unwrap_or(fq);
        let group = groups.get(fq).or_else(|| groups.get(resource))?;
        let Value::Seq(entries) = &group.value else {
            return Some((Vec::new(), Vec::new()));
        };
        let mut extends = Vec::new();
        let mut members = Vec::new();
        for e in entries {
            match (
                e.as_str(),
                e.get("metadata").and_then(|m| m.get("extend_group")),
            ) {
                (Some(module), _) => members.push(match is_fqcr(module) {
                    true => module.to_string(),
                    false => format!("{collection}.{module}"),
                }),
                (None, Some(x)) => match (&x.value, x.as_str()) {
                    (_, Some(one)) => extends.push(one.to_string()),
                    (Value::Seq(many), _) => {
                        extends.extend(many.iter().filter_map(|g| g.as_str().map(str::to_string)))
                    }
                    _ => {}
                },
                (None, None) => {}
            }
        }
        Some((extends, members))
    }
}

/// Whether `name` is a fully qualified collection reference (`ns.coll.name`).
fn is_fqcr(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3 && parts.iter().all(|p| !p.is_empty())
}

/// The collections path entries rprov reads groups from, as it finds
/// collection roles: the playbook's `collections/`, then `collections_path`.
pub fn collection_dirs(playbook_dir: &Path, collections_path: &[PathBuf]) -> Vec<PathBuf> {
    std::iter::once(playbook_dir.join("collections"))
        .chain(collections_path.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(root: &Path, ns: &str, coll: &str, runtime: &str) {
        let meta = root
            .join("ansible_collections")
            .join(ns)
            .join(coll)
            .join("meta");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("runtime.yml"), runtime).unwrap();
    }

    #[test]
    fn groups_resolve_short_full_extended_and_builtin_names() {
        let dir = tempfile::tempdir().unwrap();
        collection(
            dir.path(),
            "acme",
            "web",
            "action_groups:\n  web:\n    - server\n    - other.coll.thing\n    - metadata:\n        extend_group: acme.web.more\n  more:\n    - extra\n  acme.web.loop:\n    - metadata:\n        extend_group: [loop]\n    - looped\n",
        );
        collection(
            dir.path(),
            "amazon",
            "aws",
            "action_groups:\n  aws:\n    - ec2_instance\n",
        );
        let g = ActionGroups::new([dir.path().to_path_buf()]);
        assert_eq!(
            *g.members("acme.web.web").unwrap(),
            ["acme.web.server", "other.coll.thing", "acme.web.extra"]
        );
        // A group named with its collection in the file; extending itself.
        assert_eq!(*g.members("acme.web.loop").unwrap(), ["acme.web.looped"]);
        // ansible-core's own `aws` gathers the collections' that are there.
        assert_eq!(*g.members("aws").unwrap(), ["amazon.aws.ec2_instance"]);
        assert_eq!(
            g.members("acme.web.nope").unwrap_err(),
            "Error loading module_defaults: could not resolve the module_defaults group acme.web.nope"
        );
        assert!(g.members("nosuch").is_err());
    }
}
