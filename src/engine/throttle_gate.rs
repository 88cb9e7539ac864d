//! `throttle` under the `linear` strategy: one throttled task at a time.
//!
//! ansible-core's `linear` strategy runs a task on every host before any
//! host starts the next, so a `throttle: 3` task never overlaps another
//! task: at most 3 hosts run anything. rprov's hosts go at their own pace
//! inside a play, so a host that finished a `throttle: 8` task could start
//! a `throttle: 3` one while 8 others still run theirs (ansible-core's
//! `throttle` target counts them with lock files). The gate keeps that
//! promise for throttled tasks only: a host enters a throttled task once no
//! host is inside another one, and hosts inside the same task share it (the
//! task's own semaphore limits how many run). A task that waits for other
//! hosts (`run_once`) does not pass through it, so no host holds the gate
//! while it waits for one that cannot enter.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Which throttled task is running (play and task), and on how many hosts.
#[derive(Default)]
pub struct ThrottleGate {
    inside: Mutex<(Option<(usize, String)>, usize)>,
    left: Notify,
}

/// A host inside a throttled task; leaving it opens the gate to the next
/// task once no host is left inside.
pub struct Inside {
    gate: Arc<ThrottleGate>,
}

impl ThrottleGate {
    /// Waits until no host is inside another throttled task than `task`
    /// of play `pi`, then enters it.
    pub async fn enter(self: &Arc<Self>, pi: usize, task: String) -> Inside {
        let key = (pi, task);
        loop {
            let left = self.left.notified();
            tokio::pin!(left);
            left.as_mut().enable();
            {
                let mut inside = self.inside.lock().unwrap_or_else(|e| e.into_inner());
                if inside.0.is_none() || inside.0.as_ref() == Some(&key) {
                    inside.0 = Some(key);
                    inside.1 += 1;
                    return Inside { gate: self.clone() };
                }
            }
            left.await;
        }
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let mut inside = self.gate.inside.lock().unwrap_or_else(|e| e.into_inner());
        inside.1 = inside.1.saturating_sub(1);
        if inside.1 == 0 {
            inside.0 = None;
            self.gate.left.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn another_task_waits_until_the_first_is_left() {
        let gate = Arc::new(ThrottleGate::default());
        let a1 = gate.enter(0, "a".into()).await;
        let a2 = gate.enter(0, "a".into()).await;
        let g = gate.clone();
        let b = tokio::spawn(async move { g.enter(0, "b".into()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!b.is_finished(), "b entered while a was running");
        drop(a1);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!b.is_finished(), "b entered while a host was still in a");
        drop(a2);
        let inside_b = tokio::time::timeout(std::time::Duration::from_secs(5), b)
            .await
            .expect("b entered once a was left")
            .expect("join");
        drop(inside_b);
        let _again = gate.enter(0, "a".into()).await;
    }
}
