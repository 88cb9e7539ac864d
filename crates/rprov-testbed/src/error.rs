//! The one error type of the harness. Messages are meant to be read by a developer
//! whose test just failed, so they say what to do next.

use std::path::PathBuf;

/// Why a test server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestbedError {
    /// A program the harness needs is not installed.
    #[error("{tool} not installed: run scripts/testenv.sh (as root)")]
    ToolMissing {
        /// The program's name, e.g. `sshd`.
        tool: &'static str,
    },
    /// The local account the server should authorize does not exist.
    #[error("test user {user:?} does not exist: run scripts/testenv.sh (as root)")]
    UserMissing {
        /// The account name.
        user: String,
    },
    /// Network namespaces need root.
    #[error("{what} needs root (network namespaces, sshd on port 22); run the tests as root")]
    NotRoot {
        /// What was attempted.
        what: &'static str,
    },
    /// A helper command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the message.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// sshd exited or never started listening.
    #[error("sshd on {addr} did not start: {reason}; its log {log:?} ends with:\n{log_tail}")]
    SshdStart {
        /// `ip:port` it was meant to listen on.
        addr: String,
        /// What went wrong.
        reason: String,
        /// Path of the server log.
        log: PathBuf,
        /// Last lines of the log.
        log_tail: String,
    },
    /// No free subnet/bridge slot was found for a fleet.
    #[error("no free slot for a test fleet (bridges rprovbr0..rprovbr255 all in use)")]
    NoFreeSlot,
    /// Local I/O (temp dirs, files, spawning).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl TestbedError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestbedError {
        let context = context.into();
        move |source| TestbedError::Io { context, source }
    }
}
