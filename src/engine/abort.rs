//! `any_errors_fatal` and `max_fail_percentage`: one host's failure stops the
//! play on the others.
//!
//! Ansible's linear strategy checks after each task, while every host waits
//! at the same task, and marks every other host failed: each goes to the
//! `rescue:` or `always:` of the block it is in, or stops. rprov keeps such a
//! play's hosts in lock-step too (`lockstep`), and the stop is a flag with a
//! generation: a failing host raises it at once, and every other host looks
//! at it before its next task and, once per generation, fails there as marked
//! (its block's `rescue:` may take it back). Once the flag is up, no later
//! play runs, as in Ansible, where every host of the play counts as failed.
//! A fatal failure that a `rescue:` handles marks the other hosts all the
//! same (ansible-core 2.19), without stopping the later plays.

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
    /// Each time the hosts were marked failed in this play: the index of
    /// the task (in the failing host's count, see `lockstep`) that failed.
    /// A host looks only at marks of tasks before the one it starts, which
    /// every host has finished by then.
    marks: Vec<usize>,
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
        task: usize,
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
            s.marks.push(task);
        } else if let Some(max) = max_fail_percentage {
            let share = s.failed as f64 * 100.0 / s.hosts.max(1) as f64;
            if share > max {
                s.reason = Some(format!(
                    "{} of {} hosts failed ({share:.0}%), more than `max_fail_percentage: {max}`",
                    s.failed, s.hosts
                ));
                s.marks.push(task);
            }
        }
    }

    /// A task with `any_errors_fatal` failed on a host inside a block whose
    /// `rescue:` handles it: the other hosts are marked failed all the same,
    /// as ansible-core 2.19 marks them, but the play is not stopped.
    pub fn rescued_fatal(&self, play: usize, task: usize) {
        let mut s = self.lock();
        if s.play == play {
            s.marks.push(task);
        }
    }

    /// How many times the hosts of `play` were marked failed so far.
    pub fn generation(&self, play: usize) -> usize {
        let s = self.lock();
        if s.play == play {
            s.marks.len()
        } else {
            0
        }
    }

    /// For a host that has seen `seen` marks and starts its task number
    /// `task`: how many marks it has seen once it looked at those of tasks
    /// before this one (a mark of this task or a later one, from a host
    /// that ran ahead inside it, waits for its next task).
    pub fn seen_before(&self, play: usize, seen: usize, task: usize) -> usize {
        let s = self.lock();
        if s.play != play {
            return seen;
        }
        seen + s
            .marks
            .iter()
            .skip(seen)
            .take_while(|&&at| at < task)
            .count()
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
        a.host_failed(0, "web1", true, None, 3);
        assert!(a.reason(0).unwrap().contains("web1 failed"));
        assert_eq!(a.generation(0), 1);
        a.rescued_fatal(0, 5);
        assert_eq!(
            a.generation(0),
            2,
            "a rescued fatal failure marks the hosts"
        );
        assert_eq!(
            a.seen_before(0, 0, 3),
            0,
            "task 3 failed: seen before task 4"
        );
        assert_eq!(a.seen_before(0, 0, 4), 1);
        assert_eq!(a.seen_before(0, 1, 6), 2);
        a.start(1, 3);
        assert_eq!(a.reason(1), None, "a new play starts clean");
        assert_eq!(a.generation(1), 0);
        a.rescued_fatal(1, 0);
        assert_eq!(a.reason(1), None, "and does not stop the play");
    }

    #[test]
    fn max_fail_percentage_counts_hosts_above_the_share() {
        let a = PlayAbort::default();
        a.start(0, 4);
        a.host_failed(0, "a", false, Some(25.0), 0);
        assert_eq!(a.reason(0), None, "25% is not more than 25%");
        a.host_failed(0, "b", false, Some(25.0), 0);
        assert!(a.reason(0).unwrap().contains("2 of 4 hosts failed"));
        a.start(1, 2);
        a.host_failed(1, "a", false, None, 0);
        assert_eq!(a.reason(1), None, "without either keyword nothing stops");
        a.host_failed(0, "late", true, None, 0);
        assert_eq!(a.reason(1), None, "a failure of an earlier play is ignored");
    }
}
