//! `add_host`: adds a host (and groups) to the inventory in memory, as
//! Ansible's `add_host` action and `add_dynamic_host` do. It bypasses the
//! host loop: the first host of the play to reach it runs it once for all
//! (see `LocalModule::once`). Arguments other than the name and groups become
//! the host's variables, so `ansible_host`, `ansible_port` and `ansible_user`
//! say how later plays reach it. Runs in check mode too: it changes only the
//! inventory in memory. "changed" means the inventory changed.

use super::*;
use crate::modules::typed::module_args;

/// What an `add_host` asks for.
#[derive(Debug, PartialEq)]
struct NewHost {
    name: String,
    groups: Vec<String>,
    vars: Vars,
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match mapping_args(h, task, layer) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    let new = match wanted(&args) {
        Ok(n) => n,
        Err(msg) => return ItemOutcome::failed(format!("{}: {msg}", task.origin)).into(),
    };
    let changed = match h.shared.change_inventory_kept({
        let (name, groups, vars) = (new.name.clone(), new.groups.clone(), new.vars.clone());
        Arc::new(move |inv, _| inv.add_dynamic_host(&name, &groups, &vars))
    }) {
        Ok(c) => c,
        Err(msg) => return ItemOutcome::failed(format!("{}: {msg}", task.origin)).into(),
    };
    if changed && new.name == h.name {
        // This host's own new groups and variables apply from the next task.
        h.vars.inventory = h.shared.inventory().host_vars(&h.name);
    }
    let mut result = Map::new();
    result.insert("changed".into(), json!(changed));
    result.insert(
        "add_host".into(),
        json!({"host_name": new.name, "groups": new.groups, "host_vars": new.vars}),
    );
    let status = if changed { Status::Changed } else { Status::Ok };
    ItemOutcome::new(status, result).into()
}

module_args! {
    /// `add_host`'s named arguments; any other name is a variable of the
    /// new host (the spec is `open`), so they are read with `parse_named`.
    pub struct Args {
        /// The new host, with a port if `name:port`.
        name: Option<String> ["name", "hostname", "host"],
        // Three fields, not one with aliases: `groupname` wins over
        // `groups` over `group`, as Ansible's action reads them, while
        // `rprov modules` lists them in this order.
        groups: Option<Vec<String>> ["groups"],
        group: Option<Vec<String>> ["group"],
        groupname: Option<Vec<String>> ["groupname"],
    }
}

/// The host, its groups and variables from the rendered arguments.
fn wanted(args: &Map<String, Json>) -> Result<NewHost, String> {
    let typed = Args::parse_named("add_host", args).map_err(|e| match e {
        crate::modules::PlanError::Fail(m) => m,
        other => format!("{other:?}"),
    })?;
    let raw = typed
        .name
        .ok_or("one of `name`, `hostname` or `host` is required: the new host's name")?;
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("the host name is empty".into());
    }
    let (name, port) = split_port(raw);
    let groups = typed
        .groupname
        .or(typed.groups)
        .or(typed.group)
        .unwrap_or_default();
    let mut unique: Vec<String> = Vec::new();
    for g in groups {
        if !unique.contains(&g) {
            unique.push(g);
        }
    }
    // As Ansible's action: only these are not variables (`host` and
    // `group` are both, there).
    let special = ["name", "hostname", "groupname", "groups"];
    let mut vars: Vars = args
        .iter()
        .filter(|(k, _)| !special.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(p) = port {
        vars.insert("ansible_ssh_port".into(), json!(p));
    }
    Ok(NewHost {
        name,
        groups: unique,
        vars,
    })
}

/// `web1:2222` and `[::1]:2222` name a port; a bare IPv6 address does not.
fn split_port(raw: &str) -> (String, Option<u16>) {
    if let Some(rest) = raw.strip_prefix('[') {
        if let Some((host, port)) = rest.split_once("]:") {
            if let Ok(p) = port.parse() {
                return (host.to_string(), Some(p));
            }
        }
        return (raw.trim_matches(['[', ']']).to_string(), None);
    }
    match raw.split_once(':') {
        Some((host, port)) if !port.contains(':') => match port.parse() {
            Ok(p) => (host.to_string(), Some(p)),
            Err(_) => (raw.to_string(), None),
        },
        _ => (raw.to_string(), None),
    }
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
    fn name_groups_and_the_rest_as_variables() {
        let n = wanted(&args(json!({
            "name": "web9",
            "groups": "new, web",
            "ansible_host": "127.0.0.1",
            "ansible_port": 2222,
        })))
        .unwrap();
        assert_eq!(n.name, "web9");
        assert_eq!(n.groups, vec!["new", "web"]);
        assert_eq!(n.vars.get("ansible_port"), Some(&json!(2222)));
        assert!(!n.vars.contains_key("groups") && !n.vars.contains_key("name"));
    }

    #[test]
    fn aliases_and_ports() {
        let n = wanted(&args(json!({"hostname": "db:2200", "group": ["a", "a"]}))).unwrap();
        assert_eq!(n.name, "db");
        assert_eq!(n.groups, vec!["a"]);
        assert_eq!(n.vars.get("ansible_ssh_port"), Some(&json!(2200)));
        assert_eq!(split_port("[::1]:22"), ("::1".to_string(), Some(22)));
        assert_eq!(split_port("fe80::1"), ("fe80::1".to_string(), None));
    }

    #[test]
    fn a_name_is_required() {
        assert!(wanted(&args(json!({"groups": "x"})))
            .unwrap_err()
            .contains("required"));
    }
}
