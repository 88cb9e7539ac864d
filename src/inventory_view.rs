//! What `ansible-inventory` prints: `--list` as JSON or YAML (with or
//! without `--export`), `--host` and `--graph [--vars]`, laid out as
//! ansible-core 2.19's `lib/ansible/cli/inventory.py` lays them out, so that
//! scripts diffing its output (ansible-core's own integration targets do)
//! read the same text from rprov.

use rprov_inventory::{Inventory, Vars};
use serde_json::{Map, Value};

/// The group every inventory has.
const ALL: &str = "all";

/// ansible-inventory's view of a loaded inventory.
pub struct View<'a> {
    pub inv: &'a Inventory,
    /// `--export`: hosts and groups with their own variables (groups get a
    /// `vars` key) instead of each host's merged variables.
    pub export: bool,
    /// `-e`: over every host's merged variables, as ansible-core's
    /// VariableManager puts them (not with `--export`, which reads the
    /// inventory alone).
    pub extra: &'a Vars,
}

impl View<'_> {
    /// A host's variables as `--host` and `--list` show them.
    pub fn host_vars(&self, host: &str) -> Vars {
        if self.export {
            return self.inv.host_own_vars(host);
        }
        let mut vars = self.inv.host_vars(host);
        vars.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }

    /// `--list` as JSON: each group with its `hosts` (of `available`),
    /// `children` and, with `--export`, `vars`, empty keys and empty groups
    /// left out; `_meta.hostvars` for each available host with variables.
    pub fn list_json(&self, available: &[String]) -> Value {
        let mut out = Map::new();
        let mut seen = std::collections::HashSet::new();
        self.json_group(ALL, available, &mut seen, &mut out);
        let hostvars: Map<String, Value> = available
            .iter()
            .map(|h| (h.clone(), self.host_vars(h)))
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| {
                let vars = v
                    .into_iter()
                    .map(|(k, v)| match self.inv.legacy_json_var(&h, &k, &v) {
                        Some(shown) => (k, shown.clone()),
                        None => (k, v),
                    })
                    .collect();
                (h, Value::Object(vars))
            })
            .collect();
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        // ansible-core names the JSON encoding profile it used.
        meta.insert("profile".into(), Value::from("inventory_legacy"));
        out.insert("_meta".into(), Value::Object(meta));
        Value::Object(out)
    }

    fn json_group(
        &self,
        name: &str,
        available: &[String],
        seen: &mut std::collections::HashSet<String>,
        out: &mut Map<String, Value>,
    ) {
        let Some((hosts, children)) = self.inv.group_members(name) else {
            return;
        };
        let mut entry = Map::new();
        if name != ALL {
            let hosts: Vec<Value> = hosts
                .iter()
                .filter(|h| available.contains(h))
                .map(|h| Value::from(h.as_str()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::from(children.to_vec()));
        }
        for child in children {
            if !seen.contains(child) {
                self.json_group(child, available, seen, out);
                seen.insert(child.clone());
            }
        }
        if self.export {
            let vars = self.inv.group_own_vars(name);
            if !vars.is_empty() {
                entry.insert("vars".into(), Value::Object(vars.into_iter().collect()));
            }
        }
        if !entry.is_empty() {
            out.insert(name.to_string(), Value::Object(entry));
        }
    }

    /// `--list --yaml`: the inventory as a YAML inventory file, groups
    /// nested under their parents' `children`, each host's variables under
    /// its first group only.
    pub fn list_yaml(&self, available: &[String]) -> Value {
        let mut seen_hosts = std::collections::HashSet::new();
        let mut seen_groups = std::collections::HashSet::new();
        let mut out = Map::new();
        if let Some(entry) = self.yaml_group(ALL, available, &mut seen_hosts, &mut seen_groups) {
            out.insert(ALL.into(), entry);
        }
        Value::Object(out)
    }

    fn yaml_group(
        &self,
        name: &str,
        available: &[String],
        seen_hosts: &mut std::collections::HashSet<String>,
        seen_groups: &mut std::collections::HashSet<String>,
    ) -> Option<Value> {
        let (hosts, children) = self.inv.group_members(name)?;
        let mut entry = Map::new();
        let mut kids = Map::new();
        for child in children.iter().filter(|c| c.as_str() != ALL) {
            if seen_groups.contains(child) {
                kids.insert(child.clone(), Value::Object(Map::new()));
            } else {
                if let Some(e) = self.yaml_group(child, available, seen_hosts, seen_groups) {
                    kids.insert(child.clone(), e);
                }
                seen_groups.insert(child.clone());
            }
        }
        if !kids.is_empty() {
            entry.insert("children".into(), Value::Object(kids));
        }
        let mut members = Map::new();
        if name != ALL {
            for h in hosts.iter().filter(|h| available.contains(h)) {
                // A host's variables are written once, under its first group.
                let vars = match seen_hosts.insert(h.clone()) {
                    true => self.host_vars(h),
                    false => Vars::new(),
                };
                members.insert(h.clone(), Value::Object(vars.into_iter().collect()));
            }
        }
        if !members.is_empty() {
            entry.insert("hosts".into(), Value::Object(members));
        }
        if self.export {
            let vars = self.inv.group_own_vars(name);
            if !vars.is_empty() {
                entry.insert("vars".into(), Value::Object(vars.into_iter().collect()));
            }
        }
        (!entry.is_empty()).then_some(Value::Object(entry))
    }

    /// `--graph [GROUP] [--vars]`: the group tree from `group` down, hosts
    /// under their groups (not under `all`), with `--vars` each host's and
    /// group's variables as `{name = value}` lines; `None` for a group the
    /// inventory does not have.
    pub fn graph(&self, group: &str, show_vars: bool) -> Option<String> {
        self.inv.group_members(group)?;
        let mut lines = Vec::new();
        self.graph_group(group, 0, show_vars, &mut lines);
        Some(lines.join("\n"))
    }

    fn graph_group(&self, name: &str, depth: usize, show_vars: bool, out: &mut Vec<String>) {
        let Some((hosts, children)) = self.inv.group_members(name) else {
            return;
        };
        out.push(graph_line(&format!("@{name}:"), depth));
        for child in children {
            self.graph_group(child, depth + 1, show_vars, out);
        }
        if name != ALL {
            for h in hosts {
                out.push(graph_line(h, depth + 1));
                if show_vars {
                    graph_vars(&self.host_vars(h), depth + 2, out);
                }
            }
        }
        if show_vars {
            graph_vars(&self.inv.group_own_vars(name), depth + 1, out);
        }
    }
}

/// One line of the graph, `  |` once per level and `--` before the name.
fn graph_line(name: &str, depth: usize) -> String {
    match depth {
        0 => name.to_string(),
        d => format!("{}--{name}", "  |".repeat(d)),
    }
}

/// Variables as graph lines, sorted by name, values as Python's `str()`.
fn graph_vars(vars: &Vars, depth: usize, out: &mut Vec<String>) {
    let mut sorted: Vec<_> = vars.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in sorted {
        let shown = rprov_template::filters::py_str_json(v);
        out.push(graph_line(&format!("{{{k} = {shown}}}"), depth));
    }
}
