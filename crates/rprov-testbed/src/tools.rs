//! Finding the programs the harness runs, and running small helper commands.

use std::path::PathBuf;
use std::process::Command;

use crate::TestbedError;

/// Locations searched besides `$PATH`: Debian keeps `sshd` and `ip` in sbin dirs,
/// which are not on a non-root user's PATH.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Absolute path of `tool`, or [`TestbedError::ToolMissing`].
pub(crate) fn find(tool: &'static str) -> Result<PathBuf, TestbedError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .ok_or(TestbedError::ToolMissing { tool })
}

/// Checks that `sshd`, `ssh`, `ssh-keygen` and `ip` are installed.
///
/// Call it at the top of a test to fail with an actionable message before anything
/// else goes wrong in a more confusing way.
pub fn require_root_tools() -> Result<(), TestbedError> {
    for tool in ["sshd", "ssh", "ssh-keygen", "ip"] {
        find(tool)?;
    }
    Ok(())
}

/// Fails unless the process runs as root (needed for network namespaces).
pub fn require_root(what: &'static str) -> Result<(), TestbedError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err(TestbedError::NotRoot { what })
    }
}

/// Runs a command to completion; a non-zero exit is an error carrying its stderr.
pub(crate) fn run(cmd: &mut Command) -> Result<String, TestbedError> {
    let line = format!("{cmd:?}");
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(TestbedError::io(format!("cannot run {line}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(TestbedError::Command {
            command: line,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Checks that a local account exists (the harness authorizes keys for it).
pub(crate) fn require_user(user: &str) -> Result<(), TestbedError> {
    let ok = Command::new("id")
        .arg("-u")
        .arg(user)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(TestbedError::UserMissing {
            user: user.to_owned(),
        })
    }
}
