//! Typed reads: what a module asks of a host before it decides, before it is
//! shell.
//!
//! The twin of [`super::Change`] for the probe side. A module names what it
//! wants to know (a file's content, a `getent` entry, whether a glob matches
//! anything); [`render`] alone says it in shell, so a value a task rendered
//! reaches a read only through [`quote`] here. Reads are asked together in one
//! probe batch ([`crate::modules::PlanCx::ask`]) and answered in order, one
//! section each. A read this file cannot say is a [`Read::Raw`] with its
//! reason, like [`super::Change::Raw`].

use rprov_transport::quote;

use crate::modules::sysargs::sep_line;
use crate::modules::user_scope::Scope;

/// One question to the host. Each answers on stdout, never fails the batch,
/// and never changes anything.
#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    /// The file's content; nothing when it is missing or unreadable.
    File(String),
    /// Where the symbolic link at the path points; nothing when it is none.
    LinkTarget(String),
    /// `yes` when the path is a regular file (after links).
    IsFile(String),
    /// `yes` when both paths are the same file (device and inode, after
    /// links): a hard link of the other.
    SameFile(String, String),
    /// `yes` when anything matches the pattern. `*` and `?` are wildcards,
    /// every other character is taken literally (Python's `glob.glob`, which
    /// Ansible's `creates`/`removes` use).
    AnyMatches(String),
    /// Each distinct `type|mode` (`stat`'s `%F|%a`) of the path and what is
    /// under it; links are left out (chmod never changes them).
    TreeModes(String),
    /// `yes` when the command is on the `PATH`.
    HasCommand(&'static str),
    /// `yes` when systemd runs the host and `tool` is installed, then what
    /// `tool args` prints when `args` is not empty.
    Systemd {
        tool: &'static str,
        args: &'static [&'static str],
    },
    /// What a read-only command prints on stdout (its errors are dropped).
    Output(Vec<String>),
    /// What a read-only command prints on stdout (its errors are dropped),
    /// then its exit status: [`split_status`] takes them apart.
    Status(Vec<String>),
    /// The entry for `key` in a `getent` database; nothing when none.
    Getent { db: &'static str, key: String },
    /// The lines of a file that start with `prefix`.
    LinesStarting { path: String, prefix: &'static str },
    /// Whether a user's password is `none` (empty), `locked` (`!…`) or
    /// `unlocked`. Only that word leaves the host, never the hash.
    PasswordState(String),
    /// `same` when the user's password hash is `hash`, both without leading
    /// `!`s (a lock), else `differs`: the comparison is made on the host, so
    /// the hash never reaches the output.
    SamePassword { user: String, hash: String },
    /// What a systemd manager says: the scope's user (`rp_*=` lines) and the
    /// `props` of each unit; `is_enabled` adds what `systemctl is-enabled`
    /// prints of each unit and its exit status (`rp_is_enabled=`,
    /// `rp_is_enabled_rc=`), `quadlet_newer` whether quadlet sources
    /// changed since the generator ran, `any_needs_reload` whether any unit
    /// wants a daemon-reload. Rendered by [`super::systemctl::units_read`].
    Units {
        scope: Scope,
        units: Vec<String>,
        props: &'static str,
        is_enabled: bool,
        quadlet_newer: bool,
        any_needs_reload: bool,
    },
    /// A snippet none of the above says, with the reason (a protocol its
    /// parser reads, a loop on the host). `grep -n 'why:' src/modules`.
    Raw { script: String, why: &'static str },
}

/// The shell for `reads`, their answers separated by a line
/// [`crate::modules::sysargs::sections`] splits on.
pub fn render(reads: &[Read]) -> String {
    if let [one] = reads {
        return render_one(one);
    }
    // Each answer is captured and printed with one newline at its end, so
    // an answer without one (a file's last line) does not swallow the
    // separator after it.
    let sep = format!("\n{}\n", sep_line());
    reads
        .iter()
        .map(|r| {
            format!(
                "_rp_o=$({}\n)\n[ -z \"$_rp_o\" ] || printf '%s\\n' \"$_rp_o\"",
                render_one(r).trim_end_matches('\n')
            )
        })
        .collect::<Vec<_>>()
        .join(&sep)
}

fn render_one(read: &Read) -> String {
    match read {
        Read::File(p) => format!("cat -- {} 2>/dev/null", quote(p)),
        Read::LinkTarget(p) => format!("readlink -- {} 2>/dev/null", quote(p)),
        Read::IsFile(p) => format!("[ -f {} ] && echo yes", quote(p)),
        Read::SameFile(a, b) => format!("[ {} -ef {} ] && echo yes", quote(a), quote(b)),
        Read::AnyMatches(pattern) => format!(
            "for _rp_f in {}; do if [ -e \"$_rp_f\" ] || [ -L \"$_rp_f\" ]; then echo yes; break; fi; done",
            glob(pattern)
        ),
        Read::TreeModes(p) => format!(
            "find {} ! -type l -exec stat -c '%F|%a' {{}} + | sort -u",
            quote(p)
        ),
        Read::HasCommand(c) => format!("command -v {} >/dev/null && echo yes", quote(c)),
        Read::Systemd { tool, args } => {
            let mut s = format!(
                "if [ -d /run/systemd/system ] && command -v {t} >/dev/null; then echo systemd",
                t = quote(tool)
            );
            if !args.is_empty() {
                let argv: Vec<String> = std::iter::once(*tool)
                    .chain(args.iter().copied())
                    .map(str::to_string)
                    .collect();
                s.push_str(&format!("; {} 2>/dev/null", super::words(&argv)));
            }
            s.push_str("; fi");
            s
        }
        Read::Output(argv) => format!("{} 2>/dev/null", super::words(argv)),
        // A line break before the status line, so output without a final one
        // keeps its last line to itself; `split_status` removes it again.
        Read::Status(argv) => format!(
            "{} 2>/dev/null; _rp_rc=$?; echo; echo \"@rc $_rp_rc\"",
            super::words(argv)
        ),
        Read::Getent { db, key } => format!("getent {} {}", quote(db), quote(key)),
        Read::LinesStarting { path, prefix } => {
            // A fixed string at the start of a line: `grep -F` has no anchor,
            // so the prefix is compared by the shell instead.
            format!(
                "while IFS= read -r _rp_l || [ -n \"$_rp_l\" ]; do case $_rp_l in {}*) printf '%s\\n' \"$_rp_l\";; esac; done < {} 2>/dev/null",
                quote(prefix),
                quote(path)
            )
        }
        Read::PasswordState(user) => format!(
            "_rp_p=$(getent shadow {} 2>/dev/null | cut -d: -f2); case \"$_rp_p\" in '') echo none;; '!'*) echo locked;; *) echo unlocked;; esac",
            quote(user)
        ),
        Read::SamePassword { user, hash } => format!(
            "[ \"$(getent shadow {} | cut -d: -f2 | sed 's/^!*//')\" = {} ] && echo same || echo differs",
            quote(user),
            quote(hash.trim_start_matches('!'))
        ),
        Read::Units {
            scope,
            units,
            props,
            is_enabled,
            quadlet_newer,
            any_needs_reload,
        } => super::systemctl::units_read(
            scope,
            units,
            props,
            *is_enabled,
            *quadlet_newer,
            *any_needs_reload,
        ),
        Read::Raw { script, .. } => script.clone(),
    }
}

/// A glob pattern as a shell word: the wildcards bare, everything between
/// them quoted.
fn glob(pattern: &str) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    for c in pattern.chars() {
        if matches!(c, '*' | '?') {
            if !literal.is_empty() {
                out.push_str(&quote(&literal));
                literal.clear();
            }
            out.push(c);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() {
        out.push_str(&quote(&literal));
    }
    out
}

/// A [`Read::Status`] answer as the command's output and exit status; the
/// status is `None` when the answer does not end with one (a probe cut
/// short).
pub fn split_status(answer: &str) -> (String, Option<i32>) {
    let body = answer.strip_suffix('\n').unwrap_or(answer);
    let Some((out, last)) = body.rsplit_once('\n') else {
        return (answer.to_string(), None);
    };
    match last.strip_prefix("@rc ").and_then(|n| n.parse().ok()) {
        Some(rc) => (out.to_string(), Some(rc)),
        None => (answer.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::sysargs::sections;
    use std::process::Command;

    /// Runs `script` in `dir` (where a hostile value's `touch` would land).
    fn sh_in(dir: &std::path::Path, script: &str) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every read runs with a hostile value and answers its own section;
    /// nothing the value says is run.
    #[test]
    fn hostile_values_are_read_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let evil = format!("{d}/$(touch pwned)'\"; touch pwned2 #");
        std::fs::write(&evil, "line one\nkey: value\n").unwrap();
        std::os::unix::fs::symlink(&evil, format!("{d}/link")).unwrap();
        let reads = vec![
            Read::File(evil.clone()),
            Read::LinkTarget(format!("{d}/link")),
            Read::IsFile(evil.clone()),
            Read::AnyMatches(format!("{d}/$(touch pwned)*")),
            Read::Output(vec!["printf".into(), "%s".into(), evil.clone()]),
            Read::LinesStarting {
                path: evil.clone(),
                prefix: "key:",
            },
            Read::Getent {
                db: "passwd",
                key: "$(touch pwned)".into(),
            },
            Read::SamePassword {
                user: "nobody".into(),
                hash: "'; touch pwned3; '".into(),
            },
            Read::HasCommand("sh"),
            Read::Status(vec!["printf".into(), "%s".into(), evil.clone()]),
            Read::Status(vec![
                "sh".into(),
                "-c".into(),
                "printf 'a\\n\\n'; exit 3".into(),
            ]),
        ];
        let out = sh_in(dir.path(), &render(&reads));
        let s = sections(&out, reads.len());
        assert_eq!(s[0], "line one\nkey: value\n");
        assert_eq!(s[1].trim(), evil);
        assert_eq!(s[2], "yes\n");
        assert_eq!(s[3], "yes\n");
        assert_eq!(s[4], format!("{evil}\n"));
        assert_eq!(s[5], "key: value\n");
        assert_eq!(s[6], "");
        assert_eq!(s[7], "differs\n");
        assert_eq!(s[8], "yes\n");
        assert_eq!(split_status(&s[9]), (evil.clone(), Some(0)));
        assert_eq!(split_status(&s[10]), ("a\n\n".to_string(), Some(3)));
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with("pwned")), "{names:?}");
    }

    #[test]
    fn missing_things_answer_nothing() {
        let reads = vec![
            Read::File("/nonexistent/rprov".into()),
            Read::LinkTarget("/nonexistent/rprov".into()),
            Read::IsFile("/nonexistent/rprov".into()),
            Read::AnyMatches("/nonexistent/rprov*".into()),
            Read::LinesStarting {
                path: "/nonexistent/rprov".into(),
                prefix: "#",
            },
            Read::HasCommand("rprov-no-such-command"),
        ];
        let out = sh_in(std::path::Path::new("/"), &render(&reads));
        assert_eq!(sections(&out, reads.len()), vec![""; reads.len()], "{out}");
    }

    #[test]
    fn a_last_line_without_newline_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("rules");
        std::fs::write(&f, "### tuple a\nother\n### tuple b").unwrap();
        let out = sh_in(
            dir.path(),
            &render(&[Read::LinesStarting {
                path: f.to_str().unwrap().into(),
                prefix: "### tuple",
            }]),
        );
        assert_eq!(out, "### tuple a\n### tuple b\n");
    }
}
