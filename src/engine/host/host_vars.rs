//! The variable layers one host gathers as the run goes: what the inventory
//! gives it, the facts it reports, the play's and the vars files' variables,
//! what `include_vars`, `set_fact` and `register` added. The layers of the
//! playbook itself (roles, tasks, `-e`) are shared by every host and stay
//! in the playbook; `HostRunner::layers` stacks both in Ansible's order.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::playbook::{RoleInstance, Vars};

pub(super) struct HostVars {
    /// The inventory's variables of this host (`add_host` may change them).
    pub inventory: Vars,
    /// Gathered facts and facts modules returned, each as `ansible_NAME`,
    /// and all of them in `ansible_facts`.
    pub facts: Vars,
    /// Facts were gathered once: a later play's `gather_facts` is a no-op.
    pub facts_gathered: bool,
    /// What the fact cache keeps of this host, as ansible-core's fact cache
    /// holds it: facts under the names they were returned with
    /// (`ansible_hostname`, `gather_subset`, `_ansible_facts_gathered`), to
    /// be written whole after each change. `None` when the cache keeps
    /// nothing past the run (`memory`): then there is nothing to track.
    pub cached: Option<Map<String, Json>>,
    /// The running play's `vars:`.
    pub play: Vars,
    /// The running play's `vars_files` and the secrets.
    pub vars_files: Vars,
    /// What `include_vars` loaded: above task vars, below set_fact (Ansible's
    /// precedence), for the rest of the run.
    pub included: Vars,
    /// `set_fact` and `register` results.
    pub set: Vars,
    /// The names in `set` whose text ansible-core would trust as an
    /// expression: a `set_fact` of text written in the playbook (or of a
    /// trusted variable), never a registered result. See
    /// [`crate::engine::vars::Resolver::trusts`].
    pub trusted_set: HashSet<String>,
    /// Roles this host included at run time with `public: true` in the
    /// running play: their defaults and vars are seen as a play role's.
    pub public_roles: Vec<Arc<RoleInstance>>,
    /// Secret values with template syntax, never rendered (refreshed when
    /// vars files bring new secrets).
    pub literal: Arc<HashSet<String>>,
}

impl HostVars {
    pub fn new(inventory: Vars, literal: Arc<HashSet<String>>) -> Self {
        // As in ansible-core, `ansible_facts` is always defined: `{}` until
        // facts are gathered (roles test `ansible_facts == {}`).
        let mut facts = Vars::new();
        facts.insert("ansible_facts".into(), Json::Object(Map::new()));
        HostVars {
            inventory,
            facts,
            facts_gathered: false,
            cached: None,
            play: Vars::new(),
            vars_files: Vars::new(),
            included: Vars::new(),
            set: Vars::new(),
            trusted_set: HashSet::new(),
            public_roles: Vec::new(),
            literal,
        }
    }

    /// The gathered facts (`setup`, `gather_facts`): each as `ansible_NAME`
    /// and in `ansible_facts`, added to what modules set before (as
    /// Ansible's fact cache is updated, not replaced: `services` from an
    /// earlier `service_facts` stays).
    pub fn gathered(&mut self, facts: &Json) {
        let mut all = self.ansible_facts();
        if let Json::Object(m) = facts {
            for (k, v) in m {
                self.facts.insert(format!("ansible_{k}"), v.clone());
                // As ansible-core's `namespace_facts`: `ansible_local` keeps
                // its prefix inside `ansible_facts`.
                let key = if k == "local" { "ansible_local" } else { k };
                all.insert(key.to_string(), v.clone());
            }
        }
        self.facts.insert("ansible_facts".into(), Json::Object(all));
        self.facts_gathered = true;
    }

    /// Facts a module returned (its result's `ansible_facts`): as Ansible
    /// injects them, variables of their own name (`services`,
    /// `ansible_hostname`), and in `ansible_facts` without the `ansible_`
    /// prefix (`ansible_facts.hostname`; `ansible_local` keeps it), as
    /// Ansible's `namespace_facts` does.
    pub fn module_facts(&mut self, facts: &Map<String, Json>) {
        let mut all = self.ansible_facts();
        for (k, v) in facts {
            all.insert(namespaced(k).to_string(), v.clone());
            self.facts.insert(k.clone(), v.clone());
        }
        self.facts.insert("ansible_facts".into(), Json::Object(all));
    }

    /// Facts read from the fact cache when the run starts: visible without
    /// gathering, at the facts' precedence (see
    /// [`crate::fact_cache::variables`]).
    pub fn load_cached(&mut self, raw: &Map<String, Json>) {
        self.facts.extend(crate::fact_cache::variables(raw));
    }

    /// Adds `facts` (as they were returned) to what the fact cache keeps;
    /// false when it keeps nothing past the run.
    pub fn cache(&mut self, facts: impl IntoIterator<Item = (String, Json)>) -> bool {
        match &mut self.cached {
            Some(cached) => {
                cached.extend(facts);
                true
            }
            None => false,
        }
    }

    /// `meta: clear_facts`: the facts are gone (`set_fact` values stay, as
    /// in ansible-core), and the next play that gathers gathers again.
    pub fn clear_facts(&mut self) {
        self.facts = Vars::new();
        self.facts
            .insert("ansible_facts".into(), Json::Object(Map::new()));
        self.facts_gathered = false;
        if let Some(cached) = &mut self.cached {
            cached.clear();
        }
    }

    fn ansible_facts(&self) -> Map<String, Json> {
        match self.facts.get("ansible_facts") {
            Some(Json::Object(m)) => m.clone(),
            _ => Map::new(),
        }
    }
}

/// A returned fact's name inside `ansible_facts`: without its `ansible_`
/// prefix, but `ansible_local`, which keeps it (ansible-core's
/// `namespace_facts`).
pub(in crate::engine) fn namespaced(k: &str) -> &str {
    match k.strip_prefix("ansible_") {
        Some(s) if k != "ansible_local" => s,
        _ => k,
    }
}
