//! The open-file limit, raised before a run that needs more than the default.
//!
//! Each connected host holds a socket to its ssh master for the whole run, and
//! each remote command in flight holds a mux socket and the pipes passed to
//! the master. At hundreds of hosts that passes the usual soft limit of 1024
//! (`ulimit -n`), and the failure would come as `Too many open files` on some
//! host halfway through. The soft limit may be raised up to the hard one
//! without privileges (as Go's runtime and the ssh client itself do), so a run
//! that may need more raises it at start and says so when the hard limit is
//! too low.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Open files kept per connected host for the run (the master's socket),
/// and per remote command in flight (mux socket, the three passed pipes and
/// their ends on our side).
const PER_HOST: u64 = 2;
const PER_COMMAND: u64 = 8;
/// The runtime, the reporter, the files being read and sent.
const BASE: u64 = 64;

/// About how many open files a run on `hosts` hosts, `forks` at once, needs.
pub fn needed(hosts: usize, forks: usize) -> u64 {
    let hosts = hosts as u64;
    BASE + hosts * PER_HOST + (forks as u64).min(hosts) * PER_COMMAND
}

/// What [`ensure`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Raised {
    /// The soft limit was already enough.
    Enough,
    /// The soft limit was raised from `from` to `to`.
    Raised { from: u64, to: u64 },
    /// The hard limit is below what the run needs; the soft limit was raised
    /// as far as it goes. The message says what to do.
    TooLow(String),
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit when it is below `need`.
pub fn ensure(need: u64) -> Raised {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    let soft = current.unwrap_or(u64::MAX);
    let hard = maximum.unwrap_or(u64::MAX);
    if soft >= need {
        return Raised::Enough;
    }
    let to = hard.max(soft);
    let raised = to > soft
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(to),
                maximum,
            },
        )
        .is_ok();
    let now = if raised { to } else { soft };
    if now >= need {
        return Raised::Raised { from: soft, to };
    }
    Raised::TooLow(format!(
        "this run may need about {need} open files but the limit is {now} (hard limit {hard}): \
         raise it (`ulimit -n {need}` as root, or `LimitNOFILE=` / limits.conf) or lower --forks"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_grows_with_hosts_and_concurrency() {
        assert_eq!(needed(1, 50), BASE + PER_HOST + PER_COMMAND);
        // forks above the host count add nothing.
        assert_eq!(needed(10, 50), needed(10, 10));
        assert!(
            needed(250, 250) > 1024,
            "250 hosts at once pass the usual soft limit"
        );
        assert!(needed(250, 50) < needed(250, 250));
    }

    #[test]
    fn a_need_below_the_soft_limit_changes_nothing() {
        let before = getrlimit(Resource::Nofile);
        assert_eq!(ensure(1), Raised::Enough);
        assert_eq!(getrlimit(Resource::Nofile), before);
    }

    #[test]
    fn a_need_above_the_hard_limit_says_what_to_do() {
        match ensure(u64::MAX - 1) {
            Raised::TooLow(msg) => {
                assert!(msg.contains("ulimit -n"), "{msg}");
                assert!(msg.contains("--forks"), "{msg}");
            }
            other => panic!("expected TooLow, got {other:?}"),
        }
    }
}
