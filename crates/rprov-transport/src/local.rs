//! `ansible_connection=local`: scripts run with `sh -c` on the controller.
//!
//! Becoming another user uses sudo exactly as on a remote host, except when that
//! user is the one we already are: then sudo is skipped, as Ansible does, so a local
//! run as root or as the target user needs no sudo at all.

use std::process::Stdio;

use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::output::{pump, status_code};
use crate::{sudo, Output, Script, TransportError};

#[derive(Debug)]
pub(crate) struct LocalConnection {
    name: String,
    /// Our user name, looked up once on first use of `become`.
    me: OnceCell<String>,
}

impl LocalConnection {
    pub(crate) fn new(name: &str) -> Self {
        LocalConnection {
            name: name.to_owned(),
            me: OnceCell::new(),
        }
    }

    async fn current_user(&self) -> Result<&str, TransportError> {
        self.me
            .get_or_try_init(|| async {
                let out = Command::new("id")
                    .arg("-un")
                    .stdin(Stdio::null())
                    .output()
                    .await
                    .map_err(|source| self.io("running `id -un`", source))?;
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
            })
            .await
            .map(String::as_str)
    }

    /// Runs the script; also returns the user sudo was used for, if it was.
    pub(crate) async fn run<'a>(
        &self,
        script: &Script,
        stdin: Option<&[u8]>,
        become_user: Option<&'a str>,
    ) -> Result<(Output, Option<&'a str>), TransportError> {
        let via_sudo = match become_user {
            Some(u) if u != self.current_user().await? => Some(u),
            _ => None,
        };
        let argv = sudo::argv(script.as_str(), via_sudo);
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| self.io("building the command", std::io::Error::other("empty argv")))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| self.io(&format!("starting {program}"), source))?;
        let (stdout, stderr) = pump(
            child.stdin.take(),
            stdin,
            child.stdout.take(),
            child.stderr.take(),
        )
        .await
        .map_err(|source| self.io("talking to the local command", source))?;
        let status = child
            .wait()
            .await
            .map_err(|source| self.io("waiting for the local command", source))?;
        Ok((
            Output {
                status: status_code(status),
                stdout,
                stderr,
            },
            via_sudo,
        ))
    }

    fn io(&self, what: &str, source: std::io::Error) -> TransportError {
        TransportError::Io {
            context: format!("{} (local): {what}", self.name),
            source,
        }
    }
}
