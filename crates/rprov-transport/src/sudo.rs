//! Running a script as another user through `sudo`, and recognising sudo's refusals.
//!
//! rprov never types passwords: sudo runs with `-n` (non-interactive), so a sudo
//! that wants a password fails at once with a known message instead of hanging.
//! We recognise that message only on sudo's own first stderr line with sudo's
//! status 1, so a script that merely prints similar text is not misread.

use crate::quote::quote;

/// argv for running `script` with `sh -c`, through sudo when `become_user` is set.
pub(crate) fn argv(script: &str, become_user: Option<&str>) -> Vec<String> {
    let mut v = Vec::with_capacity(8);
    if let Some(user) = become_user {
        v.extend(["sudo", "-n", "-H", "-u", user, "--"].map(String::from));
    }
    v.extend(["sh".to_owned(), "-c".to_owned(), script.to_owned()]);
    v
}

/// The same as one shell command line (for ssh, whose remote side runs it with the
/// login shell), each word quoted.
pub(crate) fn command_line(script: &str, become_user: Option<&str>) -> String {
    argv(script, become_user)
        .iter()
        .map(|w| quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What went wrong with sudo itself, if anything.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SudoProblem {
    /// sudo wanted a password (or a terminal to read one from).
    PasswordRequired,
    /// sudo refused or is not installed; carries its message.
    Failed(String),
}

/// Classifies the result of a command started through sudo.
pub(crate) fn classify(status: i32, stderr: &[u8]) -> Option<SudoProblem> {
    let text = String::from_utf8_lossy(stderr);
    let first = text.lines().next().unwrap_or("").trim();
    // sh reports a missing sudo as "sh: 1: sudo: not found" with status 127,
    // or "sh: 1: exec: sudo: not found" on the `exec` line ssh runs.
    if status == 127 && first.contains("sudo") && first.contains("not found") {
        return Some(SudoProblem::Failed("sudo is not installed".to_owned()));
    }
    if status != 1 || !first.starts_with("sudo:") {
        return None;
    }
    if first.contains("a password is required") || first.contains("a terminal is required") {
        return Some(SudoProblem::PasswordRequired);
    }
    // sudo's refusals; anything else on a "sudo:" line is left to the script.
    const REFUSALS: &[&str] = &[
        "is not in the sudoers file",
        "is not allowed to",
        "unknown user",
        "not allowed to execute",
        "may not run sudo",
        "no tty present",
        "account validation failure",
    ];
    if REFUSALS.iter().any(|r| first.contains(r)) {
        return Some(SudoProblem::Failed(
            first.trim_start_matches("sudo:").trim().to_owned(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_sudo_noninteractive() {
        assert_eq!(
            command_line("id -u", Some("root")),
            "sudo -n -H -u root -- sh -c 'id -u'"
        );
        assert_eq!(command_line("true", None), "sh -c true");
    }

    #[test]
    fn recognises_password_prompts() {
        assert_eq!(
            classify(1, b"sudo: a password is required\n"),
            Some(SudoProblem::PasswordRequired)
        );
        assert_eq!(
            classify(
                1,
                b"sudo: a terminal is required to read the password; either use the -S option"
            ),
            Some(SudoProblem::PasswordRequired)
        );
    }

    #[test]
    fn leaves_script_failures_alone() {
        assert_eq!(classify(1, b"grep: no match\n"), None);
        assert_eq!(classify(2, b"sudo: a password is required\n"), None);
        assert_eq!(classify(1, b"x\nsudo: a password is required\n"), None);
        assert_eq!(classify(0, b""), None);
    }

    #[test]
    fn recognises_refusals() {
        assert_eq!(
            classify(
                1,
                b"sudo: unknown user nosuch\nsudo: error initializing audit plugin\n"
            ),
            Some(SudoProblem::Failed("unknown user nosuch".to_owned()))
        );
        assert!(matches!(
            classify(127, b"sh: 1: sudo: not found\n"),
            Some(SudoProblem::Failed(_))
        ));
        assert!(matches!(
            classify(127, b"sh: 1: exec: sudo: not found\n"),
            Some(SudoProblem::Failed(_))
        ));
    }
}
