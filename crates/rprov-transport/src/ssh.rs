//! SSH through the system client: one ControlMaster per host (`openssh` crate,
//! native mux), every command a multiplexed session over it.
//!
//! Each connection gets its own private control directory (a fresh
//! `/tmp/rprov-ssh-PID-*` dir, mode 0700): unix socket paths are limited to about
//! 100 bytes, so it must be short, and private so no other user can talk to our
//! master. Inventory ssh arguments become a config file in that directory (see
//! `ssh_config`).
//!
//! A master must not outlive rprov, even when rprov is killed with SIGKILL and
//! gets no chance to stop it. So masters run with a short `ControlPersist`
//! idle timeout, and rprov holds one mux control connection to each master for
//! as long as the connection is in use: ssh counts that as a client, so the
//! master never idles while rprov lives, and once the process is gone (its
//! sockets closed by the kernel) the master exits [`MASTER_IDLE`] later. The
//! directories such masters leave behind are removed by the next run
//! ([`remove_stale_control_dirs`]): the PID in the name tells whose they were.
//!
//! With [`ConnectOptions::persist`] (opt-in) a master is kept for the next
//! run instead: it runs with `ControlPersist=SECONDS` at a stable socket in a
//! per-user directory (see `persist`), the next run finds it there and
//! skips the login, and the end of a run lets it go rather than stopping it.
//! The bound is the same mechanism as above with SECONDS for the idle time:
//! held while rprov lives, gone SECONDS after its last use, SIGKILL or not.
//!
//! Host keys are checked strictly unless the caller opts into accept-new. When the
//! master fails to start, ssh's log (which the `openssh` crate returns as the
//! error text) tells unknown and changed host keys, failed logins and network
//! failures apart.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};

use crate::output::{pump, status_code};
use crate::{persist, ssh_config, sudo, ConnectOptions, Output, Script, SshTarget, TransportError};

/// Keepalive probe interval: a master whose host vanished notices after about
/// three missed probes instead of waiting for TCP to give up.
const SERVER_ALIVE: Duration = Duration::from_secs(15);

/// Extra time, beyond ConnectTimeout, that login may take (key exchange, auth,
/// a ProxyJump hop) before we give up on a master that does not come up.
const LOGIN_SLACK: Duration = Duration::from_secs(20);

/// How long a master lives on once no client holds it: the bound on how long
/// one outlives a killed rprov. Short, since rprov holds every master it uses,
/// but long enough for a busy controller to reach a master it just started:
/// at 250 logins on 2 cores, 5 s let some masters exit first (docs/scaling.md).
const MASTER_IDLE: NonZeroUsize = match NonZeroUsize::new(15) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// A launch directory of the `openssh` crate, in the directory of kept
/// masters, without a master and older than this is left over: removed.
/// Younger ones may be a login in flight (which may take up to the connect
/// timeout and [`LOGIN_SLACK`]).
const STALE_LAUNCH: Duration = Duration::from_secs(600);

/// Control directories are named `rprov-ssh-<pid of the rprov that made it>-…`.
const CONTROL_DIR_PREFIX: &str = "rprov-ssh-";

/// Where control directories go: `RPROV_CONTROL_DIR` if set (tests use their
/// own, to count what a run leaves behind), else `/tmp` (short, for the
/// socket path limit).
pub fn control_parent() -> PathBuf {
    std::env::var_os("RPROV_CONTROL_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// Removes the control directories of rprov processes that are gone (killed
/// before they could clean up), in `parent`. A directory whose master still
/// answers is left alone: it is at most [`MASTER_IDLE`] from exiting, and the
/// next run takes its directory. Returns how many were removed.
pub fn remove_stale_control_dirs(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(CONTROL_DIR_PREFIX))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path();
        let live_master = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| std::os::unix::net::UnixStream::connect(f.path()).is_ok());
        if !live_master && std::fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[derive(Debug)]
pub(crate) struct SshConnection {
    name: String,
    /// Held open for the connection's life: keeps the master from idling out
    /// while we use it, and lets it exit once we are gone (module docs).
    _lifeline: openssh_mux_client::Connection,
    // Field order matters: the session (master) goes before its directory.
    session: Session,
    /// The stable socket of a master kept between runs (`--persist`); a
    /// resumed session, which dropping does not stop.
    persisted: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl SshConnection {
    pub(crate) async fn open(
        name: &str,
        t: &SshTarget,
        opts: &ConnectOptions,
    ) -> Result<SshConnection, TransportError> {
        if t.host.is_empty() || t.host.starts_with('-') {
            // ssh would read "-oProxyCommand=…" as an option: never pass it through.
            return Err(TransportError::InvalidSshArgs {
                host: name.to_owned(),
                reason: format!("host address {:?} is not a host name", t.host),
            });
        }
        let parent = control_parent();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{CONTROL_DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(&parent)
            .map_err(|source| TransportError::Io {
                context: format!(
                    "{name}: creating a private ssh control directory in {}",
                    parent.display()
                ),
                source,
            })?;

        let user_args = (!t.extra_args.is_empty())
            .then(|| ssh_config::parse(&t.extra_args))
            .transpose()
            .and_then(|a| {
                let policy = a.as_ref().map(ssh_config::host_key_checking).transpose()?;
                Ok((a, policy.flatten()))
            })
            .map_err(|reason| TransportError::InvalidSshArgs {
                host: name.to_owned(),
                reason,
            })?;
        // The user's StrictHostKeyChecking wins, as on ssh's command line.
        let known_hosts = user_args.1.unwrap_or(if opts.accept_new_host_keys {
            KnownHosts::Add
        } else {
            KnownHosts::Strict
        });

        let timeout = opts.connect_timeout.max(Duration::from_secs(1));
        let mut b = SessionBuilder::default();
        b.known_hosts_check(known_hosts.clone())
            .connect_timeout(timeout)
            .server_alive_interval(SERVER_ALIVE)
            .control_persist(ControlPersist::IdleFor(MASTER_IDLE))
            .control_directory(dir.path());
        if let Some(user) = &t.user {
            b.user(user.clone());
        }
        if let Some(port) = t.port {
            b.port(port);
        }
        if let Some(key) = &t.private_key_file {
            b.keyfile(key);
        }
        if let Some(args) = &user_args.0 {
            let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
            let path = dir.path().join("ssh_config");
            std::fs::write(&path, ssh_config::render(args, home.as_deref())).map_err(|source| {
                TransportError::Io {
                    context: format!("{name}: writing {}", path.display()),
                    source,
                }
            })?;
            b.config_file(&path);
        }

        let limit = timeout + LOGIN_SLACK;
        let control_persist = user_args.0.as_ref().and_then(|a| {
            a.options
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("ControlPersist"))
                .map(|(_, v)| v.as_str())
        });
        if let Some(secs) = opts.persist.seconds(control_persist) {
            let parts = [
                t.host.clone(),
                t.port.map(|p| p.to_string()).unwrap_or_default(),
                t.user.clone().unwrap_or_default(),
                t.private_key_file
                    .as_ref()
                    .map(|k| k.display().to_string())
                    .unwrap_or_default(),
                t.extra_args.join("\0"),
                format!("{known_hosts:?}"),
                timeout.as_secs().to_string(),
                secs.to_string(),
            ];
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            return Self::open_persisted(name, t, &mut b, secs, limit, &parts, dir).await;
        }
        // A master that nobody holds exits MASTER_IDLE after it starts. On
        // a controller too busy to reach its socket by then (hundreds of
        // logins at once on a few cores), it is gone: one more login is
        // tried before the host counts as unreachable.
        let mut attempts = 0;
        let (session, lifeline) = loop {
            attempts += 1;
            let session = match tokio::time::timeout(limit, b.connect_mux(&t.host)).await {
                Err(_) => return Err(no_login(name, limit)),
                Ok(Err(e)) => return Err(connect_error(name, t, e)),
                Ok(Ok(s)) => s,
            };
            match openssh_mux_client::Connection::connect(session.control_socket()).await {
                Ok(lifeline) => break (session, lifeline),
                Err(_) if attempts < 2 => continue,
                Err(e) => return Err(master_silent(name, &e)),
            }
        };
        Ok(SshConnection {
            name: name.to_owned(),
            _lifeline: lifeline,
            session,
            persisted: None,
            _dir: dir,
        })
    }

    /// [`SshConnection::open`] with `--persist`: reuses the master at this
    /// setting's stable socket if one answers there, else logs in and
    /// publishes the new master's socket there for the next run (see
    /// [`persist`]).
    ///
    /// The `openssh` crate picks its master's socket path itself, in a fresh
    /// launch directory. The stable name is a second (hard) link to that
    /// socket, made only if the name is free: two runs logging in at once
    /// never take each other's name away, and a run keeps using its own
    /// master by its own path. ssh removes only that path when the master
    /// exits; the stable name is then dead, and the next run removes it and
    /// logs in. The launch directory (ssh's log) stays while the master
    /// lives; a later run removes it ([`persist::remove_old_launch_dirs`]).
    async fn open_persisted(
        name: &str,
        t: &SshTarget,
        b: &mut SessionBuilder,
        secs: std::num::NonZeroU32,
        limit: Duration,
        parts: &[&str],
        dir: tempfile::TempDir,
    ) -> Result<SshConnection, TransportError> {
        let cp = persist::socket_dir().map_err(|source| TransportError::Io {
            context: format!("{name}: the directory for ssh masters kept between runs (--persist)"),
            source,
        })?;
        persist::remove_old_launch_dirs(&cp, STALE_LAUNCH);
        let socket = cp.join(persist::socket_name(parts));
        let done = |lifeline, ctl: &Path, dir| SshConnection {
            name: name.to_owned(),
            _lifeline: lifeline,
            session: Session::resume_mux(ctl.into(), None),
            persisted: Some(socket.clone()),
            _dir: dir,
        };
        // A master at that name answers only to us (0700 directory) and was
        // made with these very settings (the name says so): it is reused.
        if let Ok(mut lifeline) = openssh_mux_client::Connection::connect(&socket).await {
            if lifeline.send_alive_check().await.is_ok() {
                return Ok(done(lifeline, &socket, dir));
            }
        }
        // Nothing there, or a dead master's socket.
        let _ = std::fs::remove_file(&socket);
        let idle = NonZeroUsize::new(secs.get() as usize).unwrap_or(NonZeroUsize::MIN);
        b.control_persist(ControlPersist::IdleFor(idle))
            .control_directory(&cp);
        let mut attempts = 0;
        let (lifeline, ctl) = loop {
            attempts += 1;
            let launched = match tokio::time::timeout(limit, b.launch_master(&t.host)).await {
                Err(_) => return Err(no_login(name, limit)),
                Ok(Err(e)) => return Err(connect_error(name, t, e)),
                Ok(Ok(d)) => d,
            };
            let ctl = launched.keep().join("master");
            let published = match std::fs::hard_link(&ctl, &socket) {
                Ok(()) => true,
                // Taken meanwhile by another run's login: this master serves
                // this run only, and exits SECONDS after it.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                Err(e) => {
                    return Err(TransportError::Io {
                        context: format!(
                            "{name}: linking the ssh master's socket to {}",
                            socket.display()
                        ),
                        source: e,
                    })
                }
            };
            match openssh_mux_client::Connection::connect(&ctl).await {
                Ok(lifeline) => break (lifeline, ctl),
                Err(e) => {
                    // Gone already (see MASTER_IDLE): its name goes too.
                    if published {
                        let _ = std::fs::remove_file(&socket);
                    }
                    if attempts >= 2 {
                        return Err(master_silent(name, &e));
                    }
                }
            }
        };
        Ok(done(lifeline, &ctl, dir))
    }

    /// The shell's exit status for a command it could not find.
    const COMMAND_NOT_FOUND: i32 = 127;
    /// The status of a command killed by a signal we cannot name (ssh's mux
    /// protocol does not say which): 128 + SIGKILL, the likeliest.
    const KILLED_BY_SIGNAL: i32 = 137;

    pub(crate) async fn run(
        &self,
        script: &Script,
        stdin: Option<&[u8]>,
        become_user: Option<&str>,
    ) -> Result<Output, TransportError> {
        // The remote sshd runs this line with the login shell: one command,
        // which `exec` puts in the login shell's place (dash, a common login
        // shell, would otherwise fork it and wait: a process per command).
        let line = format!("exec {}", sudo::command_line(script.as_str(), become_user));
        let mut child = self
            .session
            .raw_command(line)
            .stdin(if stdin.is_some() {
                openssh::Stdio::piped()
            } else {
                openssh::Stdio::null()
            })
            .stdout(openssh::Stdio::piped())
            .stderr(openssh::Stdio::piped())
            .spawn()
            .await
            .map_err(|e| self.run_error(e))?;
        let (stdout, mut stderr) = pump(
            child.stdin().take(),
            stdin,
            child.stdout().take(),
            child.stderr().take(),
        )
        .await
        .map_err(|source| TransportError::Io {
            context: format!("{}: transferring command input/output", self.name),
            source,
        })?;
        let status = match child.wait().await {
            Ok(status) => status_code(status),
            // The openssh crate reports a remote exit status of 127 as an
            // error ("remote command not found"). The remote command is
            // always `sh -c …`, so 127 is the script's own status (a program
            // in it not found, or sudo missing): the command ran and failed,
            // and the host is still there.
            Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Self::COMMAND_NOT_FOUND
            }
            // No exit status: the master is gone (the connection closed), or
            // the remote shell was killed by a signal; ssh's mux protocol
            // cannot tell which, the master's liveness can.
            Err(openssh::Error::RemoteProcessTerminated) if self.session.check().await.is_ok() => {
                stderr.extend_from_slice(
                    b"rprov: the command was killed by a signal on the host (out of memory, or a kill)\n",
                );
                Self::KILLED_BY_SIGNAL
            }
            Err(openssh::Error::RemoteProcessTerminated | openssh::Error::Disconnected) => {
                return Err(self.connection_closed())
            }
            Err(e) => return Err(self.run_error(e)),
        };
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Stops the master, a kept one too (its socket is removed: ssh cannot,
    /// see [`SshConnection::open_persisted`]).
    pub(crate) async fn close(self) -> Result<(), TransportError> {
        // The stable name goes with the master it names, not another's.
        let ours = self.persisted.as_deref().filter(|stable| {
            use std::os::unix::fs::MetadataExt;
            let inode = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
            inode(stable).is_some() && inode(stable) == inode(self.session.control_socket())
        });
        if let Some(stable) = ours {
            let _ = std::fs::remove_file(stable);
        }
        let name = self.name;
        self.session
            .close()
            .await
            .map_err(|source| TransportError::Ssh { host: name, source })
    }

    /// The end of the run for this connection: a kept master is let go (it
    /// exits its `ControlPersist` seconds after its last use, by ssh's own
    /// timer), any other is stopped as by [`SshConnection::close`].
    pub(crate) async fn release(self) -> Result<(), TransportError> {
        if self.persisted.is_some() {
            return Ok(());
        }
        self.close().await
    }

    /// The master is gone: said in words, not as the mux protocol's error.
    fn connection_closed(&self) -> TransportError {
        TransportError::Unreachable {
            host: self.name.clone(),
            reason: "connection lost: the SSH connection to it was closed during the run \
                     (the host rebooted or went off the network, its sshd restarted, or \
                     the local ssh process was killed); run again once it answers"
                .to_owned(),
        }
    }

    /// Errors while a command is started or awaited mean the master (or the host
    /// behind it) is gone, except for local pipe trouble.
    fn run_error(&self, e: openssh::Error) -> TransportError {
        match e {
            openssh::Error::InvalidCommand => TransportError::InvalidScript {
                host: self.name.clone(),
            },
            openssh::Error::ChildIo(source) => TransportError::Io {
                context: format!("{}: transferring command input/output", self.name),
                source,
            },
            openssh::Error::SshMux(_) => self.connection_closed(),
            other => TransportError::Unreachable {
                host: self.name.clone(),
                reason: format!("connection lost: {}", error_chain(&other)),
            },
        }
    }
}

fn no_login(name: &str, limit: Duration) -> TransportError {
    TransportError::Unreachable {
        host: name.to_owned(),
        reason: format!("no login within {}s", limit.as_secs()),
    }
}

fn master_silent(name: &str, e: &openssh_mux_client::Error) -> TransportError {
    TransportError::Unreachable {
        host: name.to_owned(),
        reason: format!(
            "the ssh master started but does not answer on its socket \
             (twice; is this machine overloaded?): {e}"
        ),
    }
}

/// Sorts a failed master start into the error the user can act on.
fn connect_error(name: &str, t: &SshTarget, e: openssh::Error) -> TransportError {
    let openssh::Error::Connect(io) = &e else {
        return TransportError::Ssh {
            host: name.to_owned(),
            source: e,
        };
    };
    let log = io.to_string();
    let host = name.to_owned();
    if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || log.contains("POSSIBLE DNS SPOOFING DETECTED")
        || log.contains("Host key for") && log.contains("has changed")
    {
        let address = match t.port {
            Some(p) if p != 22 => format!("[{}]:{p}", t.host),
            _ => t.host.clone(),
        };
        return TransportError::HostKeyChanged { host, address };
    }
    if log.contains("Host key verification failed") || log.contains("host key is known for") {
        return TransportError::HostKeyUnknown { host };
    }
    if let Some(reason) = refused_option(&log, t) {
        return TransportError::InvalidSshArgs { host, reason };
    }
    let reason = last_line(&log);
    if log.contains("Permission denied (") || log.contains("Too many authentication failures") {
        return TransportError::AuthenticationFailed { host, reason };
    }
    TransportError::Unreachable { host, reason }
}

/// When ssh refused an option of our generated config ("…/ssh_config: line
/// 2: Bad configuration option: bogus", then "terminating, 1 bad
/// configuration options"), which option it was, as the user wrote it, and
/// which inventory variable holds it. The last line alone reads as if the
/// host were unreachable.
fn refused_option(log: &str, t: &SshTarget) -> Option<String> {
    let (line, why) = log.lines().find_map(|l| {
        ["Bad configuration option: ", "Unsupported option "]
            .iter()
            .find_map(|m| l.split_once(m).map(|(_, kw)| (kw.trim(), m.trim())))
    })?;
    let keyword = line.trim_matches('"').to_ascii_lowercase();
    let words = &t.extra_args;
    // The word that sets it: `-oKeyword=…`, or the value after a bare `-o`.
    let at = words.iter().position(|w| {
        let w = w.trim_start_matches("-o").to_ascii_lowercase();
        w == keyword
            || w.starts_with(&format!("{keyword}="))
            || w.starts_with(&format!("{keyword} "))
    });
    let (var, written) = match at {
        Some(i) => {
            let start = if i > 0 && words[i - 1] == "-o" {
                i - 1
            } else {
                i
            };
            let var = t
                .extra_args_from
                .get(i)
                .map_or("the ssh arguments", String::as_str);
            let shown: Vec<String> = words[start..=i].iter().map(|w| format!("{w:?}")).collect();
            let name = words[i].trim_start_matches("-o");
            let name = name.split(['=', ' ']).next().unwrap_or(name);
            (var, format!("`{name}` ({})", shown.join(" ")))
        }
        None => (
            "ansible_ssh_args, ansible_ssh_common_args or ansible_ssh_extra_args",
            format!("`{keyword}`"),
        ),
    };
    let why = why.trim_end_matches(':');
    Some(format!(
        "ssh refused the option {written} of {var}: {why}; correct or remove it (`man ssh_config` lists the options)"
    ))
}

/// The last non-empty line of ssh's log: the actual error, after any warnings.
fn last_line(log: &str) -> String {
    log.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("ssh failed without a message")
        .to_owned()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(log: &str) -> TransportError {
        let t = SshTarget {
            host: "10.0.0.1".into(),
            port: Some(2222),
            ..Default::default()
        };
        connect_error(
            "web1",
            &t,
            openssh::Error::Connect(std::io::Error::other(log.to_owned())),
        )
    }

    #[test]
    fn tells_host_key_problems_apart() {
        let unknown = "No ED25519 host key is known for [10.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.";
        assert!(matches!(
            classify(unknown),
            TransportError::HostKeyUnknown { .. }
        ));
        let changed = "@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\nHost key verification failed.";
        match classify(changed) {
            TransportError::HostKeyChanged { address, .. } => {
                assert_eq!(address, "[10.0.0.1]:2222")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tells_network_from_auth() {
        let refused = "connect to host 10.0.0.1 port 2222: Connection refused";
        match classify(refused) {
            TransportError::Unreachable { reason, .. } => assert!(reason.contains("refused")),
            other => panic!("{other:?}"),
        }
        let denied = "rprovtest@10.0.0.1: Permission denied (publickey).";
        assert!(matches!(
            classify(denied),
            TransportError::AuthenticationFailed { .. }
        ));
    }
}
