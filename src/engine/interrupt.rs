//! Ctrl-C and SIGTERM: stop cleanly, then at once.
//!
//! The first SIGINT or SIGTERM asks every host to start no new task (and no
//! handler); a task already running on a host finishes, so a file is written
//! whole or not at all (writes are atomic and checked on the host). The run
//! then closes every SSH master, prints the recap marked interrupted, and
//! exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process killed by
//! that signal. A second signal stops waiting for the tasks in flight: their
//! host runs are dropped, which closes their masters too (a cut transfer is
//! discarded by the host, never installed).

use std::sync::atomic::{AtomicI32, Ordering};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

/// What the user asked by signal, shared by every host of the run.
#[derive(Default)]
pub struct Interrupt {
    /// The first signal's number, 0 while none came.
    first: AtomicI32,
    /// Woken by the second signal: drop the host runs still going.
    now: Notify,
}

impl Interrupt {
    /// The signal that asked the run to stop (`SIGINT` = 2, `SIGTERM` = 15).
    pub fn requested(&self) -> Option<i32> {
        match self.first.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// Resolves on the second signal.
    pub async fn abort_now(&self) {
        self.now.notified().await;
    }

    /// Records a signal: the first asks to stop, any later one to stop at once.
    /// Returns whether it was the first.
    pub fn record(&self, signo: i32) -> bool {
        if self
            .first
            .compare_exchange(0, signo, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return true;
        }
        self.now.notify_waiters();
        // A waiter that is not waiting yet still sees it.
        self.now.notify_one();
        false
    }

    /// Listens for SIGINT and SIGTERM until the run ends, calling `said` with
    /// the signal and whether it was the first. Fails only when the handlers
    /// cannot be installed.
    pub async fn listen(&self, said: impl Fn(i32, bool)) -> std::io::Result<()> {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        loop {
            let signo = tokio::select! {
                _ = int.recv() => SIGINT,
                _ = term.recv() => SIGTERM,
            };
            let first = self.record(signo);
            said(signo, first);
        }
    }
}

/// The exit status of a run stopped by `signo`: 128 + the signal's number.
pub fn exit_code(signo: i32) -> i32 {
    128 + signo
}

/// A signal's name for messages.
pub fn name(signo: i32) -> &'static str {
    match signo {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The signal numbers, as on every Linux and BSD.
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_signal_asks_second_aborts() {
        let i = Interrupt::default();
        assert_eq!(i.requested(), None);
        assert!(i.record(2));
        assert_eq!(i.requested(), Some(2));
        assert_eq!(exit_code(2), 130);
        assert!(!i.record(15), "a later signal is not the first");
        assert_eq!(i.requested(), Some(2), "the first one decides the exit");
        // The abort was signalled before anyone waited: it is not lost.
        tokio::time::timeout(std::time::Duration::from_secs(5), i.abort_now())
            .await
            .expect("abort_now resolves after a second signal");
    }
}
