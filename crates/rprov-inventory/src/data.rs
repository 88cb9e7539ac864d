//! The inventory graph: groups, hosts and who contains whom.
//!
//! This mirrors ansible-core's `InventoryData`, because users see its quirks: `all`
//! and `ungrouped` always exist, `ungrouped` is the first child of `all`, groups
//! without a parent become children of `all` in the order they were created, a host
//! found in no group but `all` lands in `ungrouped`, and a group's hosts are its own
//! followed by its descendants' (breadth first, first seen wins). Depth (longest
//! path from `all`) and `ansible_group_priority` order group variables.

use crate::Vars;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    /// Hosts listed directly in this group, in the order first added.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    pub vars: Vars,
    pub priority: i64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct HostEntry {
    pub vars: Vars,
    /// The source that first named the host (its absolute path, or the
    /// host list as written): ansible-core's `inventory_file`, which the
    /// `constructed` plugin's templates see.
    pub source: Option<std::path::PathBuf>,
    /// Variables a `constructed` source composed: their value, and the
    /// value as ansible-inventory's `--list` JSON writes it (see
    /// [`crate::Inventory::legacy_json_var`]).
    pub composed: indexmap::IndexMap<String, (Value, Value)>,
}

#[derive(Debug, Clone)]
pub(crate) struct InventoryData {
    pub groups: IndexMap<String, Group>,
    pub hosts: IndexMap<String, HostEntry>,
    /// What happens to a group name a variable name could not be.
    pub group_chars: crate::InvalidGroupChars,
    /// Warnings for the user, each once, in ansible-core's words.
    pub warnings: Vec<String>,
    /// Groups [`InventoryData::reconcile`] hung under `all`, and hosts it
    /// put in `ungrouped`. ansible-core does that once, after the last
    /// source; the `constructed` plugin, which runs between sources, sees
    /// only what the sources before it wrote (a host in an INI `[web]`
    /// group is not yet in `all`), so it leaves these out.
    pub implicit_children: HashSet<String>,
    pub implicit_ungrouped: HashSet<String>,
}

pub(crate) const ALL: &str = "all";

/// Whether `c`, at index `i` of a group name, keeps the name from being a
/// variable name (ansible-core's `INVALID_VARIABLE_NAMES`, `^[\d\W]|[^\w]`).
fn bad_group_char(i: usize, c: char) -> bool {
    !(c.is_alphanumeric() || c == '_') || (i == 0 && c.is_numeric())
}

/// `name` with each character a variable name cannot have made `_`
/// (ansible-core's `to_safe_group_name` with `force=True`), as the
/// `constructed` plugin makes every group name, whatever
/// `force_valid_group_names` says.
pub(crate) fn safe_group_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| if bad_group_char(i, c) { '_' } else { c })
        .collect()
}
pub(crate) const UNGROUPED: &str = "ungrouped";

impl InventoryData {
    pub fn new() -> Self {
        let mut d = InventoryData {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
            group_chars: crate::InvalidGroupChars::default(),
            warnings: Vec::new(),
            implicit_children: HashSet::new(),
            implicit_ungrouped: HashSet::new(),
        };
        d.add_group(ALL);
        d.add_group(UNGROUPED);
        // Cannot fail: two fresh distinct groups.
        let _ = d.add_child(ALL, UNGROUPED);
        d
    }

    /// A group name as the inventory writes it, made a valid variable name
    /// or not as `group_chars` says (ansible-core's `to_safe_group_name`):
    /// a character that is not a letter, digit or `_`, and a leading digit,
    /// become `_` with `always` and `silently`; `never` (the default) and
    /// `always` warn once.
    pub fn group_name(&mut self, name: &str) -> String {
        use crate::InvalidGroupChars as C;
        if !name.chars().enumerate().any(|(i, c)| bad_group_char(i, c)) {
            return name.to_string();
        }
        let (out, warning) = match self.group_chars {
            C::Never => (name.to_string(), Some("Invalid characters were found in group names but not replaced, use -vvvv to see details")),
            C::Ignore => (name.to_string(), None),
            C::Always | C::Silently => {
                let fixed = safe_group_name(name);
                let warning = (self.group_chars == C::Always).then_some(
                    "Invalid characters were found in group names and automatically replaced, use -vvvv to see details",
                );
                (fixed, warning)
            }
        };
        if let Some(w) = warning {
            if !self.warnings.iter().any(|x| x == w) {
                self.warnings.push(w.to_string());
            }
        }
        out
    }

    pub fn add_group(&mut self, name: &str) {
        // Ansible's default ansible_group_priority is 1.
        self.groups
            .entry(name.to_string())
            .or_insert_with(|| Group {
                priority: 1,
                ..Group::default()
            });
    }

    /// Add a host (if new) and put it in `group` (if given).
    pub fn add_host(&mut self, name: &str, group: Option<&str>, port: Option<u16>) {
        let host = self.hosts.entry(name.to_string()).or_default();
        if let Some(p) = port {
            host.vars.insert("ansible_port".into(), Value::from(p));
        }
        if let Some(g) = group {
            if g == UNGROUPED {
                self.implicit_ungrouped.remove(name);
            }
            self.add_group(g);
            let Some(group) = self.groups.get_mut(g) else {
                return;
            };
            if !group.hosts.iter().any(|h| h == name) {
                group.hosts.push(name.to_string());
            }
        }
    }

    /// Make `child` a child group of `parent`; refuses cycles.
    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child {
            return Err(format!("group '{parent}' cannot be a child of itself"));
        }
        if self.descendants(child).iter().any(|g| g == parent) {
            return Err(format!(
                "adding '{child}' as a child of '{parent}' creates a cycle ('{parent}' is already inside '{child}')"
            ));
        }
        if parent == ALL {
            self.implicit_children.remove(child);
        }
        self.add_group(parent);
        self.add_group(child);
        if let Some(p) = self.groups.get_mut(parent) {
            if !p.children.iter().any(|c| c == child) {
                p.children.push(child.to_string());
            }
        }
        if let Some(c) = self.groups.get_mut(child) {
            if !c.parents.iter().any(|p| p == parent) {
                c.parents.push(parent.to_string());
            }
        }
        Ok(())
    }

    /// The hosts a group lists itself (none for a group it does not have).
    pub fn hosts_in<'a>(&'a self, group: &str) -> impl Iterator<Item = &'a String> + 'a {
        self.groups
            .get(group)
            .into_iter()
            .flat_map(|g| g.hosts.iter())
    }

    /// The child groups of a group (none for a group it does not have).
    pub fn children_of<'a>(&'a self, group: &str) -> impl Iterator<Item = &'a String> + 'a {
        self.groups
            .get(group)
            .into_iter()
            .flat_map(|g| g.children.iter())
    }

    /// Set a group variable; `ansible_group_priority` sets the priority instead.
    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) -> Result<(), String> {
        self.add_group(group);
        let Some(g) = self.groups.get_mut(group) else {
            return Ok(());
        };
        if key == "ansible_group_priority" {
            let p = match &value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match p {
                Some(p) => g.priority = p,
                None => {
                    return Err(format!(
                        "ansible_group_priority must be an integer, got {value}"
                    ))
                }
            }
        } else {
            g.vars.insert(key.to_string(), value);
        }
        Ok(())
    }

    pub fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        self.hosts
            .entry(host.to_string())
            .or_default()
            .vars
            .insert(key.to_string(), value);
    }

    /// Ansible's `reconcile_inventory`: hang orphan groups under `all` and put
    /// hosts that are in no group into `ungrouped` (and out of it otherwise).
    ///
    /// rprov reconciles after every source, ansible-core once after the
    /// last; so what the previous call did is undone first and done again
    /// over everything: groups hung under `all` come after those a source
    /// put there, in the order the groups were made, and a group a later
    /// source gave a parent is no orphan any more, as in ansible-core.
    pub fn reconcile(&mut self) {
        let undo: Vec<String> = self.implicit_children.drain().collect();
        for g in &undo {
            if let Some(all) = self.groups.get_mut(ALL) {
                all.children.retain(|c| c != g);
            }
            if let Some(grp) = self.groups.get_mut(g.as_str()) {
                grp.parents.retain(|p| p != ALL);
            }
        }
        if !self.implicit_ungrouped.is_empty() {
            let undo = std::mem::take(&mut self.implicit_ungrouped);
            if let Some(u) = self.groups.get_mut(UNGROUPED) {
                u.hosts.retain(|h| !undo.contains(h));
            }
        }
        let orphans: Vec<String> = self
            .groups
            .iter()
            .filter(|(n, g)| n.as_str() != ALL && g.parents.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for g in orphans {
            // An orphan cannot contain `all`, so no cycle is possible.
            let _ = self.add_child(ALL, &g);
            self.implicit_children.insert(g);
        }
        let mut direct: HashMap<String, Vec<String>> = HashMap::new();
        for (gname, g) in &self.groups {
            for h in &g.hosts {
                direct.entry(h.clone()).or_default().push(gname.clone());
            }
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in hosts {
            let groups = direct.get(&h).cloned().unwrap_or_default();
            let others = groups.iter().any(|g| g != ALL && g != UNGROUPED);
            let in_ungrouped = groups.iter().any(|g| g == UNGROUPED);
            if in_ungrouped && others {
                if let Some(u) = self.groups.get_mut(UNGROUPED) {
                    u.hosts.retain(|x| x != &h);
                }
                self.implicit_ungrouped.remove(&h);
            } else if !others && !in_ungrouped {
                self.add_host(&h, Some(UNGROUPED), None);
                self.implicit_ungrouped.insert(h);
            }
        }
    }

    /// The group and its descendants, breadth first, each once.
    pub fn descendants(&self, group: &str) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut order: Vec<String> = Vec::new();
        let mut frontier: Vec<&str> = vec![group];
        seen.insert(group);
        order.push(group.to_string());
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for g in frontier {
                for c in self
                    .groups
                    .get(g)
                    .map(|g| g.children.as_slice())
                    .unwrap_or(&[])
                {
                    if seen.insert(c.as_str()) {
                        order.push(c.clone());
                        next.push(c.as_str());
                    }
                }
            }
            frontier = next;
        }
        order
    }

    /// Hosts of a group and of its descendants, in Ansible's order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        let desc = self.descendants(group);
        for g in &desc {
            if let Some(g) = self.groups.get(g) {
                for h in &g.hosts {
                    if seen.insert(h.as_str()) {
                        out.push(h.clone());
                    }
                }
            }
        }
        out
    }

    /// Every group that contains the host, directly or through children,
    /// `all` included.
    pub fn host_groups(&self, host: &str) -> Vec<String> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut stack: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.hosts.iter().any(|h| h == host))
            .map(|(n, _)| n.clone())
            .collect();
        while let Some(g) = stack.pop() {
            if seen.insert(g.clone()) {
                if let Some(grp) = self.groups.get(&g) {
                    stack.extend(grp.parents.iter().cloned());
                }
            }
        }
        if self.hosts.contains_key(host) {
            seen.insert(ALL.to_string());
        }
        let mut v: Vec<String> = seen.into_iter().collect();
        v.sort();
        v
    }

    /// Longest path from `all` (which has depth 0), like Ansible's `Group.depth`.
    pub fn depth(&self, group: &str) -> usize {
        self.depth_over(group, false, &mut HashMap::new(), 0)
    }

    /// [`InventoryData::depth`], with `written` over the edges the sources
    /// wrote only (see [`InventoryData::written_host_groups`]).
    fn depth_over<'a>(
        &'a self,
        g: &'a str,
        written: bool,
        memo: &mut HashMap<&'a str, usize>,
        guard: usize,
    ) -> usize {
        if let Some(v) = memo.get(g) {
            return *v;
        }
        // The graph is acyclic (add_child refuses cycles); the guard is belt and braces.
        if guard > self.groups.len() {
            return 0;
        }
        let v = self
            .groups
            .get(g)
            .map(|grp| {
                grp.parents
                    .iter()
                    .filter(|p| !written || self.explicit_edge(p, g))
                    .map(|p| self.depth_over(p, written, memo, guard + 1) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(g, v);
        v
    }

    /// Whether `parent` holds `child` by what a source wrote, not by
    /// [`InventoryData::reconcile`].
    fn explicit_edge(&self, parent: &str, child: &str) -> bool {
        parent != ALL || !self.implicit_children.contains(child)
    }

    /// The groups holding `host` as the sources so far wrote them (see
    /// [`InventoryData::implicit_children`]), in variable-precedence order
    /// with depths counted the same way: what ansible-core's `Host.get_groups`
    /// gives the `constructed` plugin, `all` only if a source put the host
    /// (or a group of it) there.
    pub fn written_host_groups(&self, host: &str) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = self
            .groups
            .iter()
            .filter(|(n, g)| {
                g.hosts.iter().any(|h| h == host)
                    && (n.as_str() != UNGROUPED || !self.implicit_ungrouped.contains(host))
            })
            .map(|(n, _)| n.as_str())
            .collect();
        while let Some(g) = stack.pop() {
            if seen.insert(g) {
                if let Some(grp) = self.groups.get(g) {
                    stack.extend(
                        grp.parents
                            .iter()
                            .filter(|p| self.explicit_edge(p, g))
                            .map(String::as_str),
                    );
                }
            }
        }
        let mut memo = HashMap::new();
        let mut gs: Vec<(usize, i64, String)> = seen
            .into_iter()
            .map(|g| {
                let pr = self.groups.get(g).map_or(1, |x| x.priority);
                (self.depth_over(g, true, &mut memo, 0), pr, g.to_string())
            })
            .collect();
        gs.sort();
        gs.into_iter().map(|(_, _, g)| g).collect()
    }

    /// A host's groups in variable-precedence order: depth, then priority, then name.
    pub fn sorted_host_groups(&self, host: &str) -> Vec<String> {
        let mut gs: Vec<(usize, i64, String)> = self
            .host_groups(host)
            .into_iter()
            .map(|g| {
                let pr = self.groups.get(&g).map(|x| x.priority).unwrap_or(1);
                (self.depth(&g), pr, g)
            })
            .collect();
        gs.sort();
        gs.into_iter().map(|(_, _, g)| g).collect()
    }
}
