//! The public face: a target, how to connect to it, and a connection that runs
//! scripts and counts them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sudo::{self, SudoProblem};
use crate::{local, ssh, Output, Script, TransportError};

/// A host to run commands on.
#[derive(Debug, Clone)]
pub struct Target {
    /// The inventory name (`inventory_hostname`), used in every message.
    pub name: String,
    /// How to reach it.
    pub kind: TargetKind,
}

/// How a target is reached.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// Over the system OpenSSH client.
    Ssh(SshTarget),
    /// On the controller itself (`ansible_connection=local`).
    Local,
}

/// SSH connection parameters, as the inventory gives them. Unset fields are left to
/// ssh and the user's `~/.ssh/config`.
#[derive(Debug, Clone, Default)]
pub struct SshTarget {
    /// `ansible_host`, or the inventory name.
    pub host: String,
    /// `ansible_port`.
    pub port: Option<u16>,
    /// `ansible_user`.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`; when set, only this key is offered.
    pub private_key_file: Option<PathBuf>,
    /// `ansible_ssh_common_args`, already split into words, e.g.
    /// `["-o", "UserKnownHostsFile=/x"]`. See the `ssh_config` module for what is
    /// supported.
    pub extra_args: Vec<String>,
}

/// Connection policy, the same for all hosts of a run.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Accept and remember the key of a host not yet in known_hosts
    /// (`StrictHostKeyChecking=accept-new`). A *changed* key is always refused.
    pub accept_new_host_keys: bool,
    /// How long to wait for the TCP connection (ssh's ConnectTimeout; whole seconds,
    /// at least 1).
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// An open connection to one host. `Send + Sync`: commands may run concurrently
/// over it (each is its own multiplexed session).
#[derive(Debug)]
pub struct Connection {
    name: String,
    login_user: Option<String>,
    inner: Inner,
    commands: AtomicU64,
}

#[derive(Debug)]
enum Inner {
    Ssh(ssh::SshConnection),
    Local(local::LocalConnection),
}

impl Connection {
    /// Connects to the target: for SSH, starts the ControlMaster and logs in (the
    /// login is not counted as a command). Fails with an error that says what to
    /// do when the host is unreachable, its key is unknown or changed, or the login
    /// is refused.
    pub async fn open(
        target: &Target,
        opts: &ConnectOptions,
    ) -> Result<Connection, TransportError> {
        let (inner, login_user) = match &target.kind {
            TargetKind::Ssh(t) => (
                Inner::Ssh(ssh::SshConnection::open(&target.name, t, opts).await?),
                t.user.clone(),
            ),
            TargetKind::Local => (
                Inner::Local(local::LocalConnection::new(&target.name)),
                None,
            ),
        };
        Ok(Connection {
            name: target.name.clone(),
            login_user,
            inner,
            commands: AtomicU64::new(0),
        })
    }

    /// Runs `script` with `sh -c` on the host as one command, as `become_user` via
    /// `sudo -n -H -u USER` if given, with `stdin` fed to it if given (otherwise
    /// stdin is empty). Returns its status and full output.
    ///
    /// A non-zero exit is a normal [`Output`]. Errors are: the host could not be
    /// used (including a connection lost mid-command), or sudo refused (password
    /// required, user not allowed).
    pub async fn run(
        &self,
        script: &Script,
        stdin: Option<&[u8]>,
        become_user: Option<&str>,
    ) -> Result<Output, TransportError> {
        if script.as_str().contains('\0') {
            return Err(TransportError::InvalidScript {
                host: self.name.clone(),
            });
        }
        self.commands.fetch_add(1, Ordering::Relaxed);
        let (out, via_sudo) = match &self.inner {
            Inner::Ssh(c) => (c.run(script, stdin, become_user).await?, become_user),
            Inner::Local(c) => c.run(script, stdin, become_user).await?,
        };
        if let Some(become_user) = via_sudo {
            match sudo::classify(out.status, &out.stderr) {
                Some(SudoProblem::PasswordRequired) => {
                    return Err(TransportError::SudoPasswordRequired {
                        host: self.name.clone(),
                        login_user: self
                            .login_user
                            .clone()
                            .unwrap_or_else(|| "the login user".to_owned()),
                        become_user: become_user.to_owned(),
                    })
                }
                Some(SudoProblem::Failed(reason)) => {
                    return Err(TransportError::SudoFailed {
                        host: self.name.clone(),
                        become_user: become_user.to_owned(),
                        reason,
                    })
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// Number of commands run over this connection so far: every call of
    /// [`Connection::run`], successful or not. Connecting is not counted.
    pub fn commands_run(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// The target's inventory name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection (stops the SSH ControlMaster). Dropping a connection
    /// also stops it, but without reporting errors.
    pub async fn close(self) -> Result<(), TransportError> {
        match self.inner {
            Inner::Ssh(c) => c.close().await,
            Inner::Local(_) => Ok(()),
        }
    }
}
