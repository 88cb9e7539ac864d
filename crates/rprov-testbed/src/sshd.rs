//! One real `/usr/sbin/sshd`, configured from scratch in a temp dir.
//!
//! Each server gets its own ed25519 host key, its own client key, its own
//! `authorized_keys` and a `known_hosts` file holding exactly its host key, so tests
//! never touch `~/.ssh` and never depend on each other. The server logs at VERBOSE
//! to a file in the temp dir; [`Sshd::exec_count`] reads that log to count the
//! remote commands a test caused.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tools::{find, require_root, require_user, run};
use crate::{proc, TestbedError};

/// How long to wait for a fresh sshd to accept TCP connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a loopback port that turned out to be taken is re-picked.
const PORT_ATTEMPTS: usize = 5;

/// The VERBOSE-level line sshd writes when a client's `exec` request starts a
/// command (`session.c: do_exec`). One line per remote command; the ControlMaster's
/// own login (`ssh -N`) starts no session and is not counted.
const EXEC_MARKERS: &[&str] = &[
    "Starting session: command ",
    "Starting session: forced-command ",
];

/// A running sshd. Dropping it kills the server (and any sessions still open) and
/// removes its temp dir.
#[derive(Debug)]
pub struct Sshd {
    /// Address the server listens on.
    pub addr: IpAddr,
    /// Port the server listens on.
    pub port: u16,
    /// The account the client key is authorized for.
    pub user: String,
    /// Client private key authorized for [`Sshd::user`].
    pub key_file: PathBuf,
    /// A known_hosts file holding this server's host key (and nothing else).
    pub known_hosts: PathBuf,
    /// The server's log (LogLevel VERBOSE).
    pub log: PathBuf,
    child: Child,
    host_pub: String,
    /// The network namespace it runs in, if any.
    netns: Option<String>,
    // Declared last so the directory outlives the process that uses it.
    dir: tempfile::TempDir,
}

/// Where and how to start a server.
pub(crate) struct Placement<'a> {
    pub addr: IpAddr,
    pub port: u16,
    /// Network namespace to run in (`ip netns exec`), if any.
    pub netns: Option<&'a str>,
}

impl Sshd {
    /// Starts a real sshd on 127.0.0.1 and a free port, authorizing a fresh client
    /// key for `user`, and waits until it accepts connections.
    ///
    /// Needs root (sshd must switch to `user`), the OpenSSH server and the test
    /// users from `scripts/testenv.sh`; otherwise the error says what is missing.
    pub fn start(user: &str) -> Result<Sshd, TestbedError> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let placement = Placement {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port,
                netns: None,
            };
            match Sshd::start_at(user, &placement) {
                // Another test may have grabbed the port between our probe and
                // sshd's bind; pick another one.
                Err(e @ TestbedError::SshdStart { .. }) if e.to_string().contains("in use") => {
                    last = Some(e)
                }
                other => return other,
            }
        }
        Err(last.unwrap_or(TestbedError::NoFreeSlot))
    }

    /// Starts a server at an explicit address, port and optional namespace.
    pub(crate) fn start_at(user: &str, at: &Placement<'_>) -> Result<Sshd, TestbedError> {
        require_root("starting sshd for another user")?;
        let sshd = find("sshd")?;
        let keygen = find("ssh-keygen")?;
        find("ssh")?;
        require_user(user)?;
        fs::create_dir_all("/run/sshd").map_err(TestbedError::io("mkdir -p /run/sshd"))?;

        let dir = tempfile::Builder::new()
            .prefix("rprov-sshd-")
            .tempdir()
            .map_err(TestbedError::io("creating sshd temp dir"))?;
        // sshd reads authorized_keys as the target user, so the dir must be
        // traversable by it. The private keys inside stay 0600.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .map_err(TestbedError::io("chmod sshd temp dir"))?;
        let d = dir.path();

        let host_key = d.join("host_ed25519");
        let key_file = d.join("client_ed25519");
        keygen_ed25519(&keygen, &host_key, "rprov-testbed-host")?;
        keygen_ed25519(&keygen, &key_file, "rprov-testbed-client")?;
        let client_pub = read(&d.join("client_ed25519.pub"))?;
        let host_pub = read(&d.join("host_ed25519.pub"))?;

        let authorized = d.join("authorized_keys");
        write(&authorized, &client_pub)?;
        fs::set_permissions(&authorized, fs::Permissions::from_mode(0o644))
            .map_err(TestbedError::io("chmod authorized_keys"))?;

        let known_hosts = d.join("known_hosts");
        write(
            &known_hosts,
            &format!(
                "{} {}\n",
                host_pattern(at.addr, at.port),
                key_only(&host_pub)
            ),
        )?;

        let log = d.join("sshd.log");
        let config = d.join("sshd_config");
        write(
            &config,
            &format!(
                "ListenAddress {addr}\n\
                 Port {port}\n\
                 HostKey {host_key}\n\
                 PidFile {pid}\n\
                 AuthorizedKeysFile {authorized}\n\
                 StrictModes no\n\
                 UsePAM yes\n\
                 UseDNS no\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 LogLevel VERBOSE\n\
                 MaxSessions 100\n\
                 MaxStartups 100\n\
                 Subsystem sftp internal-sftp\n",
                addr = at.addr,
                port = at.port,
                host_key = host_key.display(),
                pid = d.join("sshd.pid").display(),
                authorized = authorized.display(),
            ),
        )?;

        let netns = at.netns.map(str::to_owned);
        let child = spawn(&sshd, netns.as_deref(), &config, &log)?;

        let mut server = Sshd {
            addr: at.addr,
            port: at.port,
            user: user.to_owned(),
            key_file,
            known_hosts,
            log,
            child,
            host_pub,
            netns,
            dir,
        };
        server.wait_listening()?;
        Ok(server)
    }

    /// Stops the server and every session it serves, as a host that goes
    /// down does: clients' connections are cut. [`Sshd::restart`] brings it
    /// back.
    pub fn stop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            proc::kill_tree(pid);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a stopped server again at the same address and port, with the
    /// same keys and log (a host back from a reboot), and waits until it
    /// accepts connections.
    pub fn restart(&mut self) -> Result<(), TestbedError> {
        let sshd = find("sshd")?;
        let config = self.dir.path().join("sshd_config");
        self.child = spawn(&sshd, self.netns.as_deref(), &config, &self.log)?;
        self.wait_listening()
    }

    /// Polls until the port accepts TCP connections, failing early if sshd exits.
    fn wait_listening(&mut self) -> Result<(), TestbedError> {
        let sock = SocketAddr::new(self.addr, self.port);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.start_error(format!("sshd exited with {status}")));
            }
            if TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.start_error(format!(
                    "not accepting connections after {}s",
                    START_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn start_error(&self, reason: String) -> TestbedError {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        let reason = if tail.contains("Address already in use") {
            format!("{reason} (address in use)")
        } else {
            reason
        };
        TestbedError::SshdStart {
            addr: format!("{}:{}", self.addr, self.port),
            reason,
            log: self.log.clone(),
            log_tail: tail,
        }
    }

    /// An Ansible INI inventory line for this server:
    /// `name ansible_host=… ansible_port=… ansible_user=… ansible_ssh_private_key_file=… ansible_ssh_common_args='-o UserKnownHostsFile=…'`.
    pub fn inventory_line(&self, name: &str) -> String {
        format!(
            "{name} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            self.addr,
            self.port,
            self.user,
            self.key_file.display(),
            self.known_hosts.display()
        )
    }

    /// The ssh options a client needs besides host, port, user and key:
    /// `["-o", "UserKnownHostsFile=…"]` (what `ansible_ssh_common_args` holds).
    pub fn common_args(&self) -> Vec<String> {
        vec![
            "-o".to_owned(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
        ]
    }

    /// How this server is named in known_hosts: `[127.0.0.1]:2222`, or the bare
    /// address on port 22.
    pub fn host_pattern(&self) -> String {
        host_pattern(self.addr, self.port)
    }

    /// A known_hosts line naming this server but carrying a different, freshly
    /// generated key: what a client sees after the host was re-installed (or
    /// impersonated). For "host key changed" tests.
    pub fn known_hosts_line_with_other_key(&self) -> Result<String, TestbedError> {
        let keygen = find("ssh-keygen")?;
        let other = self.dir.path().join("other_ed25519");
        let _ = fs::remove_file(&other);
        let _ = fs::remove_file(other.with_extension("pub"));
        keygen_ed25519(&keygen, &other, "rprov-testbed-other")?;
        let public = read(&self.dir.path().join("other_ed25519.pub"))?;
        Ok(format!("{} {}\n", self.host_pattern(), key_only(&public)))
    }

    /// Number of remote commands (`exec` requests) sshd started since it was
    /// started, counted from the VERBOSE log's "Starting session: command" lines.
    /// Shell and subsystem (sftp) sessions are not counted.
    pub fn exec_count(&self) -> usize {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| EXEC_MARKERS.iter().any(|m| l.contains(m)))
            .count()
    }

    /// This server's public host key line (`ssh-ed25519 AAAA… comment`).
    pub fn host_public_key(&self) -> &str {
        &self.host_pub
    }

    /// The temp dir holding keys, config and log (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The listener's process id (sshd itself, or `ip netns exec` turned sshd).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Kill per-connection children too (they `setsid`), then reap the listener.
        self.stop();
    }
}

/// Starts `sshd` in the foreground with `config`, logging to `log`, inside
/// `netns` when given.
fn spawn(
    sshd: &Path,
    netns: Option<&str>,
    config: &Path,
    log: &Path,
) -> Result<Child, TestbedError> {
    let mut cmd = match netns {
        Some(ns) => {
            // `ip netns exec` execs sshd directly, so the child pid is sshd's.
            let mut c = Command::new(find("ip")?);
            c.args(["netns", "exec", ns]).arg(sshd);
            c
        }
        None => Command::new(sshd),
    };
    cmd.arg("-D")
        .arg("-f")
        .arg(config)
        .arg("-E")
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn()
        .map_err(TestbedError::io(format!("spawning {}", sshd.display())))
}

fn host_pattern(addr: IpAddr, port: u16) -> String {
    if port == 22 {
        addr.to_string()
    } else {
        format!("[{addr}]:{port}")
    }
}

/// `ssh-ed25519 AAAA…` without the trailing comment.
fn key_only(public: &str) -> String {
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn keygen_ed25519(keygen: &Path, path: &Path, comment: &str) -> Result<(), TestbedError> {
    run(Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path))?;
    Ok(())
}

/// A port that was free a moment ago (the kernel picks it for an ephemeral bind).
fn free_port() -> Result<u16, TestbedError> {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(TestbedError::io("binding 127.0.0.1:0 to find a free port"))?;
    let port = l
        .local_addr()
        .map_err(TestbedError::io("reading local port"))?
        .port();
    Ok(port)
}

fn read(path: &Path) -> Result<String, TestbedError> {
    fs::read_to_string(path).map_err(TestbedError::io(format!("reading {}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), TestbedError> {
    fs::write(path, text).map_err(TestbedError::io(format!("writing {}", path.display())))
}
