//! The public face: a target, how to connect to it, and a connection that runs
//! scripts and counts them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sudo::{self, SudoProblem};
use crate::{local, ssh, Output, Persist, Script, TransportError};

/// The only text on a remote command line. The script itself comes first on
/// stdin, after its length, and the caller's input follows it: a script holds
/// rendered arguments (an `Authorization` header, a password hash), and a
/// command line is readable by every user of the host in `ps` and
/// `/proc/*/cmdline`. `head -c` reads exactly that many bytes from a pipe, so
/// the caller's input is left for the script. The last line must be
/// [`END_MARK`]: a script cut short by a lost connection is never run.
const BOOTSTRAP: &str = "IFS= read -r _rp_n || exit 125
_rp_s=$(head -c \"$_rp_n\") || exit 125
case $_rp_s in *'\n# rprov: end of script') ;; \
*) echo 'rprov: the script arrived incomplete' >&2; exit 125 ;; esac
unset _rp_n
eval \"$_rp_s\"";

const END_MARK: &str = "# rprov: end of script";

/// `<length>\n<script>\n<END_MARK>` followed by the caller's input.
fn stdin_payload(script: &str, stdin: Option<&[u8]>) -> Vec<u8> {
    let body = format!("{script}\n{END_MARK}");
    let data = stdin.unwrap_or_default();
    let mut v = Vec::with_capacity(body.len() + data.len() + 12);
    v.extend_from_slice(format!("{}\n", body.len()).as_bytes());
    v.extend_from_slice(body.as_bytes());
    v.extend_from_slice(data);
    v
}

/// Shell text that, inside a script already running on the host as the login
/// user, runs `script` as `become_user` exactly as [`Connection::run`] would
/// (`sudo -n -H -u USER -- sh -c` the bootstrap, the script on sudo's stdin),
/// the stdin being a here-document ending at the line `end_tag` (a word of
/// letters, digits and `_`). One remote command can so do the work of
/// several users: the probe of a play that mixes become and non-become tasks.
///
/// `None` when a line of the script equals `end_tag` (it cannot be quoted in
/// a here-document): run the script on its own then. sudo's refusals are not
/// recognised here (its stderr joins the outer command's); a caller that got
/// no answer from the nested run runs the script through
/// [`Connection::run`], which reports them.
pub fn nested_as(script: &str, become_user: &str, end_tag: &str) -> Option<String> {
    let payload = String::from_utf8(stdin_payload(script, None)).ok()?;
    if payload.lines().any(|l| l == end_tag) || script.contains('\0') {
        return None;
    }
    Some(format!(
        "{} <<'{end_tag}'\n{payload}\n{end_tag}\n",
        sudo::command_line(BOOTSTRAP, Some(become_user))
    ))
}

/// A host to run commands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The inventory name (`inventory_hostname`), used in every message.
    pub name: String,
    /// How to reach it.
    pub kind: TargetKind,
}

/// How a target is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// Over the system OpenSSH client.
    Ssh(SshTarget),
    /// On the controller itself (`ansible_connection=local`).
    Local,
    /// A connection plugin rprov does not have (`ansible_connection=docker`):
    /// opening it fails with [`TransportError::UnsupportedConnection`], so
    /// the host is unreachable when a task needs it, not the run refused.
    Unsupported(String),
}

/// SSH connection parameters, as the inventory gives them. Unset fields are left to
/// ssh and the user's `~/.ssh/config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshTarget {
    /// `ansible_host`, or the inventory name.
    pub host: String,
    /// `ansible_port`.
    pub port: Option<u16>,
    /// `ansible_user`.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`; when set, only this key is offered.
    pub private_key_file: Option<PathBuf>,
    /// The user's ssh arguments (`ansible_ssh_args`, `_common_args`,
    /// `_extra_args` in Ansible's order), already split into words, e.g.
    /// `["-o", "UserKnownHostsFile=/x"]`. See the `ssh_config` module for what is
    /// supported; their `StrictHostKeyChecking` beats
    /// [`ConnectOptions::accept_new_host_keys`].
    pub extra_args: Vec<String>,
    /// For each word of `extra_args`, the variable it came from
    /// (`ansible_ssh_extra_args`, …). Only for naming the variable when ssh
    /// refuses an option; may be shorter than `extra_args`.
    pub extra_args_from: Vec<String>,
}

/// Connection policy, the same for all hosts of a run.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Accept and remember the key of a host not yet in known_hosts
    /// (`StrictHostKeyChecking=accept-new`). A *changed* key is still refused.
    /// rprov's default policy: a `StrictHostKeyChecking` in the target's own
    /// ssh arguments replaces it.
    pub accept_new_host_keys: bool,
    /// How long to wait for the TCP connection (ssh's ConnectTimeout; whole seconds,
    /// at least 1).
    pub connect_timeout: Duration,
    /// Whether ssh masters are kept for the next run (`--persist`): off
    /// unless asked for, since a kept master is a logged-in session left on
    /// the controller for that long after its last use.
    pub persist: Persist,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            persist: Persist::default(),
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
            TargetKind::Unsupported(connection) => {
                return Err(TransportError::UnsupportedConnection {
                    host: target.name.clone(),
                    connection: connection.clone(),
                })
            }
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
        let payload = stdin_payload(script.as_str(), stdin);
        let boot = Script::raw(BOOTSTRAP);
        let (out, via_sudo) = match &self.inner {
            Inner::Ssh(c) => (
                c.run(&boot, Some(&payload), become_user).await?,
                become_user,
            ),
            Inner::Local(c) => c.run(&boot, Some(&payload), become_user).await?,
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

    /// Ends the run's use of the connection: like [`Connection::close`],
    /// except that a master kept for later runs ([`ConnectOptions::persist`])
    /// is left running, to exit by itself once idle for its time.
    pub async fn release(self) -> Result<(), TransportError> {
        match self.inner {
            Inner::Ssh(c) => c.release().await,
            Inner::Local(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the bootstrap with `sh` on this machine, fed `payload`.
    fn boot(payload: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .args(["-c", BOOTSTRAP])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(payload).expect("write");
        drop(stdin);
        child.wait_with_output().expect("wait")
    }

    #[test]
    fn script_then_input_arrive_intact() {
        let script = "printf '%s|' \"$(cat)\"\nprintf 'last\\n\\n'\n\n";
        let out = boot(&stdin_payload(script, Some(b"line one\n\nline three")));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "line one\n\nline three|last\n\n"
        );
        assert_eq!(out.status.code(), Some(0));
        // No input: the script sees end of file at once.
        let out = boot(&stdin_payload("wc -c; exit 3", None));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn nested_script_arrives_intact_through_the_here_document() {
        // An outer script (fed to the bootstrap like any other) runs the
        // nested one; `sudo` is a shell function here that drops its options,
        // so no root is needed to see the here-document parsed by sh.
        let script = "printf '%s|' \"$(cat)\"\necho 'RPROV_END_1 is only text'; echo '$x' \"$0\"";
        let nested = nested_as(script, "root", "RPROV_END_1").expect("no clash");
        assert!(nested.starts_with(&sudo::command_line(BOOTSTRAP, Some("root"))));
        let outer = format!(
            "sudo() {{ while [ \"$1\" != -- ]; do shift; done; shift; \"$@\"; }}\necho before\n{nested}echo after\n"
        );
        let out = boot(&stdin_payload(&outer, Some(b"outer input")));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "before\n|RPROV_END_1 is only text\n$x sh\nafter\n",
            "{out:?}"
        );
        assert_eq!(
            nested_as("echo x\nRPROV_END_1\n", "root", "RPROV_END_1"),
            None
        );
    }

    #[test]
    fn a_script_cut_short_never_runs() {
        let payload = stdin_payload("touch /dev/null/never; echo ran", None);
        for cut in [1, 5, payload.len() / 2, payload.len() - 1] {
            let out = boot(&payload[..cut]);
            assert_eq!(out.status.code(), Some(125), "cut at {cut}");
            assert!(out.stdout.is_empty(), "cut at {cut}: {out:?}");
        }
    }
}
