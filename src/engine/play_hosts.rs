//! `ansible_play_hosts_all`, `ansible_play_hosts`, `ansible_play_batch` and
//! the older `play_hosts`: the running play's hosts as ansible-core gives
//! them to templates. All of the play's hosts (those that failed in earlier
//! plays too); those still in it (neither failed in an earlier play nor in
//! this one, nor ended by `meta: end_host`); and those of the current
//! `serial` batch still in it.
//!
//! rprov's hosts go through a play at their own pace, so "failed in this
//! play" is as of the moment a task reads it, where ansible-core's linear
//! strategy reads it at the same task on every host.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::{json, Value as Json};

#[derive(Default)]
pub struct PlayHosts {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    all: Vec<String>,
    batch: Vec<String>,
    removed: HashSet<String>,
}

impl PlayHosts {
    /// A play starts on `all` (its pattern's hosts), of which `out` failed
    /// in an earlier play.
    pub fn start_play(&self, all: &[String], out: impl IntoIterator<Item = String>) {
        *self.lock() = State {
            all: all.to_vec(),
            batch: Vec::new(),
            removed: out.into_iter().collect(),
        };
    }

    /// The play's next `serial` batch starts (all of it without `serial`).
    pub fn start_batch(&self, batch: &[String]) {
        self.lock().batch = batch.to_vec();
    }

    /// `host` failed or became unreachable in this play for good, or ended
    /// its play (`meta: end_host`).
    pub fn remove(&self, host: &str) {
        self.lock().removed.insert(host.to_string());
    }

    /// The variables, by name.
    pub fn vars(&self) -> [(&'static str, Json); 4] {
        let s = self.lock();
        let left = |hosts: &[String]| -> Json {
            json!(hosts
                .iter()
                .filter(|h| !s.removed.contains(*h))
                .collect::<Vec<_>>())
        };
        let batch = left(&s.batch);
        [
            ("ansible_play_hosts_all", json!(s.all)),
            ("ansible_play_hosts", left(&s.all)),
            ("ansible_play_batch", batch.clone()),
            ("play_hosts", batch),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn failed_hosts_leave_the_play_and_its_batch_not_the_list_of_all() {
        let p = PlayHosts::default();
        p.start_play(&names(&["a", "b", "c", "d"]), names(&["b"]));
        p.start_batch(&names(&["a", "c"]));
        p.remove("c");
        let vars = p.vars();
        assert_eq!(vars[0].1, json!(["a", "b", "c", "d"]));
        assert_eq!(vars[1].1, json!(["a", "d"]));
        assert_eq!(vars[2].1, json!(["a"]));
        assert_eq!(vars[3], ("play_hosts", json!(["a"])));
    }
}
