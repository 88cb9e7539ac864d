//! `group_by`: puts this host in a group made at run time (and the group in
//! its `parents`), as Ansible's `group_by` action and its strategy do. Later
//! tasks see the new `groups` and `group_names`; later plays can target the
//! group in `hosts:`. Runs in check mode too: it changes only the inventory
//! in memory. "changed" means the inventory changed (a new group, or the host
//! new in it), as Ansible's `add_dynamic_group` reports.

use super::*;
use crate::modules::args::Kind;
use crate::modules::typed::{module_args, ArgValue};

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match mapping_args(h, task, layer) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    let (key, parents) = match wanted(&args) {
        Ok(w) => w,
        Err(msg) => return ItemOutcome::failed(format!("{}: {msg}", task.origin)).into(),
    };
    let host = h.name.clone();
    let changed = match h.shared.change_inventory_kept({
        let (host, key, parents) = (host.clone(), key.clone(), parents.clone());
        // A host the refreshed source no longer has is not brought
        // back by its grouping, as in ansible-core.
        Arc::new(
            move |inv, refresh| match refresh && !inv.hosts().contains(&host) {
                true => Ok(false),
                false => inv.add_dynamic_group(&host, &key, &parents),
            },
        )
    }) {
        Ok(changed) => changed,
        Err(msg) => {
            return ItemOutcome::failed(format!("{}: group_by `{key}`: {msg}", task.origin)).into()
        }
    };
    if changed {
        // The new group's group_vars apply from the next task on, as
        // ansible-core computes a host's variables for each task.
        h.vars.inventory = h.shared.inventory().host_vars(&host);
    }
    let mut result = Map::new();
    result.insert("changed".into(), json!(changed));
    result.insert("add_group".into(), json!(key));
    result.insert("parent_groups".into(), json!(parents));
    let status = if changed { Status::Changed } else { Status::Ok };
    ItemOutcome::new(status, result).into()
}

module_args! {
    /// `group_by`'s arguments.
    pub struct Args {
        /// The group to put the host in.
        key: Option<String> ["key"],
        parents: Option<Groups> ["parents"],
    }
}

/// Group names as Ansible's `group_by` action takes `parents`: a list, or
/// one name (never split at commas, unlike a list argument's text).
#[derive(Clone, Debug)]
pub struct Groups(Vec<String>);

impl ArgValue for Groups {
    const KIND: Kind = Kind::List;
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::String(s) => Ok(Groups(vec![s.clone()])),
            Json::Array(a) => a
                .iter()
                .map(|p| match p {
                    Json::String(s) => Ok(s.clone()),
                    other => Err(format!("must be group names, got {other}")),
                })
                .collect::<Result<_, _>>()
                .map(Groups),
            other => Err(format!("must be a list of groups, got {other}")),
        }
    }
}

/// The group and its parents from the rendered arguments, with spaces made
/// dashes as Ansible's action does.
fn wanted(args: &Map<String, Json>) -> Result<(String, Vec<String>), String> {
    let args = Args::parse("group_by", args).map_err(|e| match e {
        crate::modules::PlanError::Fail(m) => m,
        other => format!("{other:?}"),
    })?;
    let key = match args.key {
        Some(s) if !s.trim().is_empty() => s.replace(' ', "-"),
        Some(_) => return Err("`key` is empty: it names the group to put the host in".into()),
        None => return Err("the `key` argument is required: the group to put the host in".into()),
    };
    let parents = match args.parents {
        None => vec!["all".to_string()],
        Some(Groups(g)) => g.into_iter().map(|p| p.replace(' ', "-")).collect(),
    };
    Ok((key, parents))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn key_and_parents_as_ansible_reads_them() {
        let (k, p) = wanted(&args(json!({"key": "os Debian"}))).unwrap();
        assert_eq!(k, "os-Debian");
        assert_eq!(p, vec!["all"]);
        let (_, p) = wanted(&args(json!({"key": "a", "parents": "web tier"}))).unwrap();
        assert_eq!(p, vec!["web-tier"]);
        let (_, p) = wanted(&args(json!({"key": "a", "parents": ["x", "y"]}))).unwrap();
        assert_eq!(p, vec!["x", "y"]);
        // One name, as Ansible's action: a list argument's text would split.
        let (_, p) = wanted(&args(json!({"key": "a", "parents": "x,y"}))).unwrap();
        assert_eq!(p, vec!["x,y"]);
    }

    #[test]
    fn key_is_required() {
        assert!(wanted(&args(json!({}))).unwrap_err().contains("required"));
        assert!(wanted(&args(json!({"key": " "}))).is_err());
        assert!(wanted(&args(json!({"key": "a", "parents": {"x": 1}}))).is_err());
    }
}
