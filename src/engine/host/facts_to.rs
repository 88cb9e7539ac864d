//! Where the facts a task returns go: to this host, or, with
//! `delegate_facts`, to the host the task was delegated to (see
//! `engine::delegated_facts`). `set_fact`, `include_vars`, a module's
//! `ansible_facts` and a `run_once` result adopted from another host all
//! come through [`HostRunner::apply_facts`], so each kind is set one way
//! wherever it comes from.

use serde_json::{Map, Value as Json};

use super::HostRunner;
use crate::engine::delegated_facts::{Delivery, FactsKind};
use crate::playbook::{Flag, Task};

impl HostRunner {
    /// Sets `facts` of `kind`, which `task` returned, on this host; or posts
    /// them to the host the task was delegated to, when its
    /// `delegate_facts` says so.
    pub(super) fn take_facts(&mut self, task: &Task, kind: FactsKind, facts: Map<String, Json>) {
        let delivery = Delivery { kind, facts };
        match self.facts_recipient(task) {
            Some(to) => self.post_facts(&to, delivery),
            None => self.apply_facts(delivery),
        }
    }

    /// The other host the facts `task` returns go to: the one it runs
    /// delegated to, when it has `delegate_facts` (a task delegated to its
    /// own host keeps them here).
    pub(super) fn facts_recipient(&self, task: &Task) -> Option<String> {
        let (to, _) = self.delegated.as_ref()?;
        (*to != self.name && self.delegates_facts(task)).then(|| to.clone())
    }

    /// `task`'s `delegate_facts` on this host: a template is rendered with
    /// the task's variables, `omit` (and anything not true) meaning no. A
    /// template that fails is no too, with a warning: the facts are then
    /// the task's own host's, as without the keyword.
    pub(super) fn delegates_facts(&self, task: &Task) -> bool {
        match &task.delegate_facts {
            None => false,
            Some(Flag::Literal(b)) => *b,
            Some(Flag::Template(template)) => {
                let magic = self.task_magic(task);
                let r = self.resolver(task.role.as_deref(), &[&task.vars], &magic);
                match self.render_json(&r, &Json::String(template.clone())) {
                    Ok(v) => crate::truthy::as_bool(&v).unwrap_or(false),
                    Err(e) => {
                        self.shared.reporter.warn(&format!(
                            "[{}] {}: delegate_facts: {}; the facts stay with {}",
                            self.name, task.origin, e.message, self.name
                        ));
                        false
                    }
                }
            }
        }
    }

    /// Posts facts for `to`'s runner, and shows them in `hostvars[to]` now.
    fn post_facts(&self, to: &str, delivery: Delivery) {
        // Facts for the controller make the implicit localhost, when the
        // inventory has none, as ansible-core makes it on first use.
        if crate::playbook::LOCALHOST.contains(&to)
            && !self.shared.inventory().hosts().iter().any(|h| h == to)
        {
            self.shared.inventory().localhost_for(to);
        }
        match delivery.kind {
            FactsKind::Module { .. } => self.shared.learn_module_facts(to, &delivery.facts),
            _ => self.shared.learn(to, delivery.facts.iter()),
        }
        self.shared.delegated_facts.post(to, delivery);
    }

    /// Takes the facts other hosts' delegated tasks set for this one, in
    /// the order they were set.
    pub(super) fn receive_facts(&mut self) {
        for delivery in self.shared.delegated_facts.take(&self.name) {
            self.apply_facts(delivery);
        }
    }

    /// Sets facts on this host as ansible-core's strategy sets each kind.
    pub(super) fn apply_facts(&mut self, delivery: Delivery) {
        let Delivery { kind, facts } = delivery;
        match kind {
            FactsKind::SetFact { trusted, cacheable } => {
                for (k, v) in &facts {
                    self.vars.set.insert(k.clone(), v.clone());
                    match trusted.contains(k) {
                        true => self.vars.trusted_set.insert(k.clone()),
                        false => self.vars.trusted_set.remove(k),
                    };
                }
                self.shared.learn(&self.name, facts.iter());
                // Cacheable values are facts too (below the play's vars in
                // a later run, which reads them from the cache; above them
                // in this one, as `set_fact`), as in ansible-core.
                if cacheable && !facts.is_empty() {
                    self.learn_module_facts(&facts);
                    self.cache_facts(&facts, false);
                }
            }
            FactsKind::IncludeVars => {
                for (k, v) in &facts {
                    self.vars.included.insert(k.clone(), v.clone());
                }
                self.shared.learn(&self.name, facts.iter());
            }
            FactsKind::Module { gathered } => {
                self.learn_module_facts(&facts);
                self.cache_facts(&facts, gathered);
            }
        }
    }
}
