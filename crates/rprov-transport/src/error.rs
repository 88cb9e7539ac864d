//! Transport errors, each with a message that tells the user what to do.
//!
//! The split that matters to callers: [`TransportError::is_host_unusable`] errors
//! mean "this host could not be used" (reported as unreachable, the run goes on with
//! the other hosts); the rest are local problems or sudo refusing. A command that
//! ran and exited non-zero is never an error (see [`crate::Output`]).

/// Why a host could not be connected to or a command could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No SSH connection: refused, timed out, name not resolved, or the connection
    /// died while a command was running.
    #[error(
        "{host} is unreachable: {reason} (check its ansible_host/ansible_port, that sshd runs there, \
         and that `ssh` reaches it from this machine)"
    )]
    Unreachable {
        /// Inventory name of the host.
        host: String,
        /// What ssh said, or what we saw.
        reason: String,
    },
    /// Strict host key checking found no key for this host.
    #[error(
        "host key for {host} is not known: verify it and add it to known_hosts \
         (e.g. ssh-keyscan, then compare the fingerprint), or pass --accept-new-host-keys"
    )]
    HostKeyUnknown {
        /// Inventory name of the host.
        host: String,
    },
    /// known_hosts holds a different key for this host.
    #[error(
        "host key for {host} has CHANGED: this could be an attack (someone \
         impersonating the host); if the host was re-installed, remove the old key with \
         `ssh-keygen -R {address}` and connect again"
    )]
    HostKeyChanged {
        /// Inventory name of the host.
        host: String,
        /// The name known_hosts uses for it (`addr` or `[addr]:port`).
        address: String,
    },
    /// The server rejected every key (or wanted a password, which rprov never types).
    #[error(
        "authentication to {host} failed: {reason}; check ansible_user and \
         ansible_ssh_private_key_file, or load the key into ssh-agent"
    )]
    AuthenticationFailed {
        /// Inventory name of the host.
        host: String,
        /// What ssh said.
        reason: String,
    },
    /// `sudo -n` refused because it wanted a password.
    #[error(
        "sudo on {host} wants a password to become {become_user}: configure NOPASSWD \
         sudo for {login_user} on {host}, or connect as a user that has it"
    )]
    SudoPasswordRequired {
        /// Inventory name of the host.
        host: String,
        /// The user we logged in as (who ran sudo), or "the login user" if ssh chose it.
        login_user: String,
        /// The user we asked sudo for.
        become_user: String,
    },
    /// sudo refused or is missing, for a reason other than a password.
    #[error("sudo on {host} failed to become {become_user}: {reason}")]
    SudoFailed {
        /// Inventory name of the host.
        host: String,
        /// The user we asked sudo for.
        become_user: String,
        /// sudo's own message.
        reason: String,
    },
    /// The inventory's ssh arguments could not be applied.
    #[error("ssh arguments for {host} are not supported: {reason}")]
    InvalidSshArgs {
        /// Inventory name of the host.
        host: String,
        /// Which argument and why.
        reason: String,
    },
    /// The script contains a NUL byte, which no command line can carry.
    #[error("script for {host} contains a NUL byte")]
    InvalidScript {
        /// Inventory name of the host.
        host: String,
    },
    /// A local process (ssh, sh, sudo) could not be started or talked to.
    #[error("{context}")]
    Io {
        /// What was being done, naming the host.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `ansible_connection` names a connection plugin rprov does not have:
    /// the host cannot be reached, as ansible-core cannot reach a host whose
    /// plugin fails.
    #[error(
        "{host} is unreachable: rprov has no connection plugin `{connection}` (ansible_connection); \
         it connects with ssh (also smart, paramiko) or local"
    )]
    UnsupportedConnection {
        /// Inventory name of the host.
        host: String,
        /// The connection as written.
        connection: String,
    },
    /// The ssh multiplexing layer failed in a way not covered above.
    #[error("ssh to {host} failed")]
    Ssh {
        /// Inventory name of the host.
        host: String,
        /// The `openssh` crate's error.
        #[source]
        source: openssh::Error,
    },
}

impl TransportError {
    /// True when the host itself could not be used (unreachable, host key or
    /// authentication problems): what Ansible reports as UNREACHABLE.
    pub fn is_host_unusable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable { .. }
                | TransportError::HostKeyUnknown { .. }
                | TransportError::HostKeyChanged { .. }
                | TransportError::AuthenticationFailed { .. }
                | TransportError::UnsupportedConnection { .. }
        )
    }
}
