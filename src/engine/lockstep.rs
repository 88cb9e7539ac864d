//! Lock-step hosts, for the plays where one host's failure stops the others
//! (`any_errors_fatal`, `max_fail_percentage`).
//!
//! rprov's hosts go at their own pace inside a play, which is what makes a
//! play fast (a host's planned changes travel in one remote command). But the
//! promise of `any_errors_fatal` is that no host goes past the task that
//! failed: a rolling deploy that failed on one host must not go on to restart
//! the others. ansible-core keeps it with its linear strategy, every host
//! waiting at each task for the others. In a play that can stop every host,
//! rprov does the same: before its next task a host waits until every other
//! host of the play has finished as many tasks, and only then looks at the
//! stop flag (`abort`). A host that waits sends what it had batched first, so
//! a failure in the batch is known before anyone passes.
//!
//! Hosts that run different tasks (an `include_tasks` of another file, a
//! block skipped on one host) count tasks, not names: a host may then wait
//! at another task than the others, which costs time, never a deadlock (the
//! host with the fewest tasks done never waits). A host that ends its play
//! (done, failed, unreachable, `end_host`) leaves, and a host waiting for a
//! fork joins only once it starts.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

pub struct Lockstep {
    state: Mutex<State>,
    /// Bumped on every change of [`State::done`], to wake the waiters.
    changed: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    /// Whether the running play (batch) keeps its hosts in lock-step.
    on: bool,
    /// Tasks finished by each host running the play now.
    done: HashMap<String, usize>,
}

impl Default for Lockstep {
    fn default() -> Self {
        Lockstep {
            state: Mutex::default(),
            changed: watch::Sender::new(0),
        }
    }
}

impl Lockstep {
    /// A play (or `serial` batch) starts: in lock-step when `on`.
    pub fn start(&self, on: bool) {
        *self.lock() = State {
            on,
            done: HashMap::new(),
        };
        self.bump();
    }

    pub fn on(&self) -> bool {
        self.lock().on
    }

    /// `host` starts the play (it has its fork, or is about to).
    pub fn join(&self, host: &str) {
        let mut s = self.lock();
        if s.on {
            s.done.entry(host.to_string()).or_insert(0);
        }
    }

    /// `host` ended its play: nobody waits for it any more.
    pub fn leave(&self, host: &str) {
        if self.lock().done.remove(host).is_some() {
            self.bump();
        }
    }

    /// `host` has finished `tasks` tasks: returns once every host of the
    /// play has finished at least as many, or left.
    pub async fn finished(&self, host: &str, tasks: usize) {
        let mut rx = self.changed.subscribe();
        {
            let mut s = self.lock();
            if !s.on {
                return;
            }
            s.done.insert(host.to_string(), tasks);
        }
        self.bump();
        loop {
            rx.borrow_and_update();
            if self.lock().done.values().all(|&n| n >= tasks) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A host taking part in the running play: it leaves when dropped, however
/// its play ends (a cancelled host too), so no other host waits for it.
pub struct Member {
    shared: std::sync::Arc<super::Shared>,
    host: String,
}

impl Member {
    pub fn join(shared: &std::sync::Arc<super::Shared>, host: &str) -> Member {
        shared.lockstep.join(host);
        Member {
            shared: shared.clone(),
            host: host.to_string(),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.shared.lockstep.leave(&self.host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// A host that finished a task waits for the slower host to finish as
    /// many, and goes on once it has, or once it left.
    #[tokio::test]
    async fn waits_for_the_slowest_host_or_its_leaving() {
        let l = Arc::new(Lockstep::default());
        l.start(true);
        l.join("a");
        l.join("b");
        let fast = {
            let l = l.clone();
            tokio::spawn(async move { l.finished("a", 1).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!fast.is_finished(), "a went on before b finished its task");
        l.finished("b", 1).await;
        tokio::time::timeout(Duration::from_secs(5), fast)
            .await
            .expect("a went on once b caught up")
            .expect("join");

        let fast = {
            let l = l.clone();
            tokio::spawn(async move { l.finished("a", 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!fast.is_finished());
        l.leave("b");
        tokio::time::timeout(Duration::from_secs(5), fast)
            .await
            .expect("a went on once b left")
            .expect("join");
    }

    /// Off (a play that stops no other host), nobody waits.
    #[tokio::test]
    async fn off_nobody_waits() {
        let l = Lockstep::default();
        l.start(false);
        l.join("a");
        l.join("b");
        tokio::time::timeout(Duration::from_secs(5), l.finished("a", 3))
            .await
            .expect("no wait");
    }
}
