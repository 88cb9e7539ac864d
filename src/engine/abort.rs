//! `any_errors_fatal` and `max_fail_percentage`: one host's failure stops the
//! play on the others.
//!
//! Ansible's linear strategy checks after each task, while every host waits
//! at the same task. rprov's hosts go at their own pace inside a play, so the
//! stop is a flag: a failing host raises it at once, and every other host
//! looks at it before each task it starts and stops there. A host that ran
//! ahead may already be past the task that failed (README, "plays"). Once the
//! flag is up, no later play runs, as in Ansible, where every host of the
//! play counts as failed.

use std::sync::Mutex;

#[derive(Default)]
pub struct PlayAbort {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    play: usize,
    hosts: usize,
    failed: usize,
    reason: Option<String>,
}

impl PlayAbort {
    /// A new play starts on `hosts` hosts.
    pub fn start(&self, play: usize, hosts: usize) {
        *self.lock() = State {
            play,
            hosts,
            ..State::default()
        };
    }

    /// `host` failed (or became unreachable) for good in `play`: raises the
    /// flag when the failure is fatal or the play's share of failed hosts is
    /// now above `max_fail_percentage`. Each host is counted once per play.
    pub fn host_failed(
        &self,
        play: usize,
        host: &str,
        fatal: bool,
        max_fail_percentage: Option<f64>,
    ) {
        let mut s = self.lock();
        if s.play != play {
            return;
        }
        s.failed += 1;
        if s.reason.is_some() {
            return;
        }
        if fatal {
            s.reason = Some(format!("{host} failed and `any_errors_fatal` is set"));
        } else if let Some(max) = max_fail_percentage {
            let share = s.failed as f64 * 100.0 / s.hosts.max(1) as f64;
            if share > max {
                s.reason = Some(format!(
                    "{} of {} hosts failed ({share:.0}%), more than `max_fail_percentage: {max}`",
                    s.failed, s.hosts
                ));
            }
        }
    }

    /// Why `play` was stopped on all hosts, if it was.
    pub fn reason(&self, play: usize) -> Option<String> {
        let s = self.lock();
        (s.play == play).then(|| s.reason.clone()).flatten()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_failure_stops_the_play() {
        let a = PlayAbort::default();
        a.start(0, 3);
        assert_eq!(a.reason(0), None);
        a.host_failed(0, "web1", true, None);
        assert!(a.reason(0).unwrap().contains("web1 failed"));
        a.start(1, 3);
        assert_eq!(a.reason(1), None, "a new play starts clean");
    }

    #[test]
    fn max_fail_percentage_counts_hosts_above_the_share() {
        let a = PlayAbort::default();
        a.start(0, 4);
        a.host_failed(0, "a", false, Some(25.0));
        assert_eq!(a.reason(0), None, "25% is not more than 25%");
        a.host_failed(0, "b", false, Some(25.0));
        assert!(a.reason(0).unwrap().contains("2 of 4 hosts failed"));
        a.start(1, 2);
        a.host_failed(1, "a", false, None);
        assert_eq!(a.reason(1), None, "without either keyword nothing stops");
        a.host_failed(0, "late", true, None);
        assert_eq!(a.reason(1), None, "a failure of an earlier play is ignored");
    }
}
