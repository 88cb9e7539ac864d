//! `delegate_facts`: the facts a delegated task returns go to the host it was
//! delegated to, as ansible-core's strategy sets them on that host
//! (`get_delegated_hosts`) instead of the task's own.
//!
//! Each host runs in its own runner, at its own pace, and owns its variable
//! layers; no runner writes another's. So a delegated fact is posted here, to
//! the receiving host's box, and that host's runner takes it before its next
//! task (or when its next play starts, if it is in none now). Meanwhile the
//! other hosts already see it in `hostvars` (see [`super::Shared::learn`]),
//! as in ansible-core, where the value is set on the host when the result
//! comes in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{Map, Value as Json};

/// How a host takes facts of a kind, as ansible-core's strategy sets them.
#[derive(Debug, Clone, PartialEq)]
pub enum FactsKind {
    /// `set_fact`: variables at `set_fact` precedence; `trusted` names the
    /// values whose text stays trusted as an expression, `cacheable` makes
    /// them facts too (and puts them in the fact cache).
    SetFact {
        trusted: Vec<String>,
        cacheable: bool,
    },
    /// `include_vars`: host variables at `include_vars` precedence.
    IncludeVars,
    /// A module's `ansible_facts` (`setup`, `gather_facts` when `gathered`,
    /// `service_facts`, …): the host's facts.
    Module { gathered: bool },
}

/// Facts of one task result on their way to a host.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub kind: FactsKind,
    pub facts: Map<String, Json>,
}

/// The facts waiting for each host, in the order they were set.
#[derive(Default)]
pub struct Mailbox {
    waiting: Mutex<HashMap<String, Vec<Delivery>>>,
    /// How many deliveries wait in all: checked before the lock, so that
    /// the runs that never delegate facts pay one atomic read per task.
    count: AtomicUsize,
}

impl Mailbox {
    /// Posts `delivery` for `host`.
    pub fn post(&self, host: &str, delivery: Delivery) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.entry(host.to_string()).or_default().push(delivery);
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// What waits for `host`, oldest first, taken out of the box.
    pub fn take(&self, host: &str) -> Vec<Delivery> {
        if self.count.load(Ordering::SeqCst) == 0 {
            return Vec::new();
        }
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let taken = waiting.remove(host).unwrap_or_default();
        self.count.fetch_sub(taken.len(), Ordering::SeqCst);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(k: &str, v: Json) -> Delivery {
        let mut facts = Map::new();
        facts.insert(k.into(), v);
        Delivery {
            kind: FactsKind::IncludeVars,
            facts,
        }
    }

    #[test]
    fn each_host_takes_its_own_in_order_once() {
        let m = Mailbox::default();
        assert!(m.take("a").is_empty());
        m.post("a", delivery("x", json!(1)));
        m.post("b", delivery("y", json!(2)));
        m.post("a", delivery("x", json!(3)));
        let a = m.take("a");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].facts["x"], json!(1));
        assert_eq!(a[1].facts["x"], json!(3));
        assert!(m.take("a").is_empty(), "taken once");
        assert_eq!(m.take("b")[0].facts["y"], json!(2));
        assert_eq!(m.count.load(Ordering::SeqCst), 0);
    }
}
