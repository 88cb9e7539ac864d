//! Typed changes: what a module wants done on a host, before it is shell.
//!
//! A module decides *what* must change (a directory made, a mode set, a path
//! removed); [`render`] alone decides *how* that is said in shell, so quoting
//! happens here and nowhere else, and module tests assert on the changes, not
//! on substrings of a script. A module that needs shell no change here says
//! uses [`Change::Raw`], with its reason (a loop on the host, a protocol its
//! parser reads): `grep -n 'why:' src/modules` lists them all.

pub mod read;
pub(super) mod systemctl;
mod write;

use rprov_transport::quote;
use serde_json::{Map, Value as Json};

pub use self::read::Read;
pub use self::systemctl::Systemctl;
pub(crate) use self::write::temp_path;
pub use self::write::TEMP_PREFIX;
use self::write::{atomic_write_of, attr_lines, Source};
use super::files::{self, Attrs};
use super::mode::{self, Mode};
use super::user_scope::Scope;
use super::{Action, OutputMode};
use crate::probe::FileState;

/// What a command whose `chdir` cannot be entered prints on stderr:
/// ansible-core's words, which become the task's `msg`.
pub const CHDIR_FAILED: &str = "Unable to change directory before execution:";

/// One change to a path on the host.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A missing directory is made (never `mkdir -p`: each missing parent is
    /// its own `MakeDir`), then given `attrs`. One that appeared since the
    /// probe is taken as it is and given `attrs`.
    MakeDir { path: String, attrs: Attrs },
    /// Owner, group and mode of an existing path. `current` is its mode now
    /// (a symbolic mode is resolved against it); `no_deref` sets owner and
    /// group of a link itself (and leaves its mode, which Linux ignores).
    SetAttrs {
        path: String,
        attrs: Attrs,
        current: u32,
        is_dir: bool,
        no_deref: bool,
    },
    /// Owner, group and mode of a directory and everything under it
    /// (`recurse: yes`); a symbolic mode applies to each entry on its own.
    SetAttrsTree {
        path: String,
        attrs: Attrs,
        current: u32,
    },
    /// The path and, for a directory, everything under it.
    Remove { path: String },
    /// A symbolic link at `path` to `target`, replacing a link or file there.
    Link { path: String, target: String },
    /// A hard link at `path` of the file `target` (of what it points to when
    /// `follow` and it is a link), made beside `path` and renamed over
    /// whatever is there, so `path` is never missing in between.
    HardLink {
        path: String,
        target: String,
        follow: bool,
    },
    /// `touch` of the path, updating the times named.
    Touch { path: String, times: Times },
    /// The writes after it may fall back to writing the file in place when
    /// an atomic replacement cannot be made (an immutable directory, a file
    /// bind-mounted in a container): ansible-core's `unsafe_writes`.
    UnsafeWrites,
    /// The file's modification and/or access time set to a local time of
    /// the host (`YYYY-MM-DD HH:MM:SS`, `touch -d`), or to the time it runs
    /// (`now`): `file`'s timestamps.
    SetTimes {
        path: String,
        mtime: Option<String>,
        atime: Option<String>,
    },
    /// The directory and any missing parents, with default owner and mode
    /// (`mkdir -p`: lineinfile's `create: yes`, as Ansible makes them).
    MakeParents { path: String },
    /// `dest` replaced atomically by `content` (see
    /// [`write::atomic_write_of`]): owner and mode set on a temp file before
    /// any byte is written, what arrived checked against the bytes sent,
    /// `validate` run on it, `backup` made, then renamed into place.
    /// `existing` is what is at `dest` now: its owner and mode are kept
    /// unless `attrs` names them.
    Write {
        dest: String,
        attrs: Attrs,
        existing: FileState,
        validate: Option<String>,
        backup: bool,
        content: Content,
    },
    /// The systemd manager the [`Change::Systemctl`] steps after it talk to
    /// (the system's or a user's). `start`: a user's manager that is not
    /// running is started first (lingering enabled, its bus awaited).
    Manager { scope: Scope, start: bool },
    /// One `systemctl` step. `if_running`: only when the manager runs (for
    /// a step that tidies up and has no reason to start a user's manager).
    Systemctl { op: Systemctl, if_running: bool },
    /// Fails the action, before anything else, when the host has no `name`
    /// command (a tool a task before was to install).
    RequireCommand { name: String },
    /// `user`'s password hash set with `chpasswd -e`, the hash on its stdin
    /// from the shell's builtin `printf` (never a program's argument, so
    /// never in `ps`).
    SetPassword { user: String, hash: String },
    /// An environment variable for the commands after it (a name of
    /// letters, digits and `_`: anything else is refused).
    Export { name: String, value: String },
    /// The soft limit of open files of the commands after it, at most the
    /// hard limit (as ansible-core's module wrapper sets it).
    LimitOpenFiles { soft: u64 },
    /// The working directory of the commands after it; the action fails
    /// when it cannot be entered.
    ChangeDir { path: String },
    /// One command, its words quoted here (`hostnamectl set-hostname NAME`).
    Run { argv: Vec<String> },
    /// Prints the path's uid, gid, mode, size, owner and group on a line of
    /// its own, after [`files::STAT_TAG`]: what the file is once written,
    /// which `copy` and `template` return as Ansible's do (read by
    /// [`files::parse_written`]).
    ReportStat { path: String },
    /// [`Change::ReportStat`] of a symbolic link itself, printed only when
    /// what it points to exists: Ansible's `file` reports a link's owner,
    /// mode and size after `state: link` only then (its `os.path.exists`
    /// follows the link). Read by [`files::parse_link_written`].
    ReportLink { path: String },
    /// Shell no typed change says, written by the module; `why` says why.
    Raw { script: String, why: &'static str },
}

/// Where a [`Change::Write`]'s new content comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// These bytes, sent on the action's stdin.
    Bytes(Vec<u8>),
    /// A file already on the host (`copy` with `remote_src`).
    HostFile(String),
}

impl Change {
    /// [`Change::SetAttrs`] of the existing path whose state is `st`.
    pub fn set_attrs(path: &str, attrs: Attrs, st: &FileState) -> Change {
        Change::SetAttrs {
            path: path.to_string(),
            attrs,
            current: mode::parse_octal(&st.mode),
            is_dir: st.kind == crate::probe::FileKind::Directory,
            no_deref: false,
        }
    }
}

/// Which times [`Change::Touch`] updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    Both,
    AccessOnly,
    ModificationOnly,
}

/// A script and the stdin it reads.
#[derive(Debug, PartialEq)]
pub struct Rendered {
    pub script: String,
    pub stdin: Option<Vec<u8>>,
}

/// The shell that makes `changes`, in order, stopping at the first failure,
/// and its stdin: the new content of every [`Change::Write`] of bytes, one
/// after another (each write takes exactly its own length of it).
pub fn render(changes: &[Change]) -> Result<Rendered, String> {
    let writes = changes
        .iter()
        .filter(|c| {
            matches!(
                c,
                Change::Write {
                    content: Content::Bytes(_),
                    ..
                }
            )
        })
        .count();
    let mut script = String::from("set -e\n");
    let mut stdin: Option<Vec<u8>> = None;
    let mut manager = false;
    for c in changes {
        match c {
            Change::Manager { .. } => manager = true,
            Change::Systemctl { op, .. } if !manager => {
                return Err(format!(
                    "internal error: `{op:?}` rendered before the manager it talks to"
                ))
            }
            _ => {}
        }
        if let Change::Write {
            content: Content::Bytes(b),
            ..
        } = c
        {
            stdin.get_or_insert_with(Vec::new).extend_from_slice(b);
        }
        render_one(c, writes == 1, &mut script)?;
    }
    Ok(Rendered { script, stdin })
}

/// The shell lines of one change (no `set -e`), for a module that still
/// assembles the rest of its script by hand. A write of bytes takes the next
/// `len` bytes of stdin, so several can share it.
pub fn lines(change: &Change) -> Result<String, String> {
    let mut s = String::new();
    render_one(change, false, &mut s)?;
    Ok(s)
}

/// A name the shell takes for a variable.
fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One command line of `argv`, each word quoted: for a [`Change::Raw`]
/// script that runs a command inside its own shell.
pub fn words(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// The action that makes `changes` and registers `result` when it succeeds:
/// exit 0 is done, anything else fails the task with its stderr. It touches
/// no probed path (the caller adds those it does).
pub fn checked(changes: Vec<Change>, result: Map<String, Json>) -> Result<Action, String> {
    let Rendered { script, stdin } = render(&changes)?;
    Ok(Action {
        script,
        stdin,
        output: OutputMode::Checked,
        result,
        touches: Vec::new(),
        touches_everything: false,
        changes,
    })
}

/// `all_stdin`: a write of bytes is the only one, and reads stdin to its end.
fn render_one(change: &Change, all_stdin: bool, s: &mut String) -> Result<(), String> {
    match change {
        Change::MakeDir { path, attrs } => {
            let q = quote(path);
            // Made meanwhile by someone else (another run, a service) is no
            // failure, as in Ansible's `ensure_directory` (EEXIST and a
            // directory); any other failure shows mkdir's own message.
            s.push_str(&format!(
                "mkdir -- {q} 2>/dev/null || [ -d {q} ] || mkdir -- {q}\n"
            ));
            s.push_str(&attr_lines(attrs, &q, 0o755, true, false)?);
        }
        Change::SetAttrs {
            path,
            attrs,
            current,
            is_dir,
            no_deref,
        } => s.push_str(&attr_lines(
            attrs,
            &quote(path),
            *current,
            *is_dir,
            *no_deref,
        )?),
        Change::SetAttrsTree {
            path,
            attrs,
            current,
        } => s.push_str(&tree_lines(attrs, &quote(path), *current)?),
        Change::Remove { path } => s.push_str(&format!("rm -rf -- {}\n", quote(path))),
        Change::Link { path, target } => {
            s.push_str(&format!("ln -sfn -- {} {}\n", quote(target), quote(path)))
        }
        Change::HardLink {
            path,
            target,
            follow,
        } => {
            let tmp = quote(&format!("{}/.rprov-hard.", files::parent(path)));
            let q = quote(path);
            s.push_str(&format!(
                "_rp_h={tmp}$$\nln -{} -- {} \"$_rp_h\"\nmv -f -- \"$_rp_h\" {q} || {{ rm -f -- \"$_rp_h\"; exit 1; }}\n",
                if *follow { 'L' } else { 'P' },
                quote(target)
            ));
        }
        Change::Touch { path, times } => {
            let flag = match times {
                Times::Both => "",
                Times::AccessOnly => " -a",
                Times::ModificationOnly => " -m",
            };
            s.push_str(&format!("touch{flag} -- {}\n", quote(path)));
        }
        Change::SetTimes { path, mtime, atime } => {
            for (flag, at) in [("-m", mtime), ("-a", atime)] {
                match at.as_deref() {
                    None => {}
                    Some("now") => s.push_str(&format!("touch -c {flag} -- {}\n", quote(path))),
                    Some(at) => s.push_str(&format!(
                        "touch -c {flag} -d {} -- {}\n",
                        quote(at),
                        quote(path)
                    )),
                }
            }
        }
        Change::UnsafeWrites => s.push_str("_rp_unsafe=1\n"),
        Change::MakeParents { path } => s.push_str(&format!("mkdir -p -- {}\n", quote(path))),
        Change::Write {
            dest,
            attrs,
            existing,
            validate,
            backup,
            content,
        } => {
            let source = match content {
                Content::Bytes(b) if all_stdin => Source::Stdin(b),
                Content::Bytes(b) => Source::StdinNext(b),
                Content::HostFile(p) => Source::HostFile(p),
            };
            s.push_str(&atomic_write_of(
                dest,
                attrs,
                existing,
                validate.as_deref(),
                *backup,
                source,
            )?);
        }
        Change::Manager { scope, start } => s.push_str(&systemctl::header(scope, *start)),
        Change::Systemctl { op, if_running } => s.push_str(&systemctl::line(op, *if_running)),
        Change::RequireCommand { name } => {
            let q = quote(name);
            s.push_str(&format!(
                "command -v {q} >/dev/null || {{ printf '%s is not installed on the host\\n' {q} >&2; exit 127; }}\n"
            ));
        }
        Change::SetPassword { user, hash } => {
            s.push_str(&format!(
                "printf '%s\\n' {} | chpasswd -e\n",
                quote(&format!("{user}:{hash}"))
            ));
        }
        Change::Run { argv } => {
            s.push_str(&words(argv));
            s.push('\n');
        }
        Change::ReportStat { path } => s.push_str(&format!(
            "stat -c '{}%u %g %a %s %U %G' -- {}\n",
            files::STAT_TAG,
            quote(path)
        )),
        Change::ReportLink { path } => {
            let p = quote(path);
            s.push_str(&format!(
                "if [ -e {p} ]; then stat -c '{}%u %g %a %s %U %G' -- {p}; fi\n",
                files::STAT_TAG
            ))
        }
        Change::Export { name, value } => {
            if !is_env_name(name) {
                return Err(format!("invalid environment variable name `{name}`"));
            }
            s.push_str(&format!("{name}={}; export {name}\n", quote(value)))
        }
        Change::LimitOpenFiles { soft } => s.push_str(&format!(
            "_rp_hard=$(ulimit -H -n); if [ \"$_rp_hard\" != unlimited ] && [ \"$_rp_hard\" -lt {soft} ]; \
             then ulimit -S -n \"$_rp_hard\"; else ulimit -S -n {soft}; fi\n"
        )),
        Change::ChangeDir { path } => {
            // Ansible's command module's words when it cannot enter `chdir`.
            // `-P`: the program sees the physical directory in `$PWD`, as
            // under Ansible, which starts it there with `chdir(2)`.
            let q = quote(path);
            s.push_str(&format!(
                "cd -P -- {q} 2>/dev/null || {{ printf '{CHDIR_FAILED} %s\\n' {q} >&2; exit 1; }}\n"
            ));
        }
        Change::Raw { script, .. } => {
            s.push_str(script);
            if !script.ends_with('\n') {
                s.push('\n');
            }
        }
    }
    Ok(())
}

/// chown/chmod of a whole tree, as `recurse: yes` asks.
fn tree_lines(attrs: &Attrs, q: &str, cur: u32) -> Result<String, String> {
    let mut s = String::new();
    match (&attrs.owner, &attrs.group) {
        (Some(o), Some(g)) => s.push_str(&format!("chown -R {} {q}\n", quote(&format!("{o}:{g}")))),
        (Some(o), None) => s.push_str(&format!("chown -R {} {q}\n", quote(o))),
        (None, Some(g)) => s.push_str(&format!("chgrp -R {} {q}\n", quote(g))),
        (None, None) => {}
    }
    match &attrs.mode {
        // chmod applies it to each entry as `Mode::resolve` does (`X` per
        // entry); a clause without `u`/`g`/`o` means all of them, not the umask.
        Some(Mode::Symbolic(spec)) => s.push_str(&format!(
            "chmod -R {} {q}\n",
            quote(&mode::explicit_who(spec))
        )),
        Some(m) => s.push_str(&format!(
            "chmod -R {} {q}\n",
            mode::fmt(m.resolve(cur, true)?)
        )),
        None => {}
    }
    Ok(s)
}

/// The action that makes `changes` to `path` (and the paths inside it):
/// exit 0 is done, anything else fails the task with its stderr.
pub fn action(changes: Vec<Change>, path: &str) -> Result<Action, String> {
    let Rendered { script, stdin } = render(&changes)?;
    let mut a = files::checked_action(script, stdin, path);
    a.changes = changes;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a rendered script under `sh`.
    fn sh(script: &str) -> std::process::Output {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    }

    /// The limit of open files is the soft one asked for, never above the
    /// hard limit (as ansible-core's wrapper takes the smaller).
    #[test]
    fn open_files_are_limited_for_the_commands_after() {
        let run = |soft: u64| {
            let r = render(&[
                Change::LimitOpenFiles { soft },
                Change::Run {
                    argv: vec![
                        "sh".into(),
                        "-c".into(),
                        "ulimit -S -n; ulimit -H -n".into(),
                    ],
                },
            ])
            .unwrap();
            let out = sh(&r.script);
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let out = run(123);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("123"));
        let hard = lines.next().unwrap().to_string();
        if let Ok(hard) = hard.parse::<u64>() {
            assert_eq!(
                run(hard + 1000).lines().next(),
                Some(hard.to_string().as_str())
            );
        }
    }

    fn attrs(owner: &str, mode: &str) -> Attrs {
        Attrs {
            owner: Some(owner.into()),
            group: None,
            mode: Mode::parse(&serde_json::json!(mode)).unwrap(),
        }
    }

    /// Every path is quoted once, here: a name with spaces, quotes and `$`
    /// reaches each command as one word.
    #[test]
    fn paths_are_quoted_in_every_change() {
        let p = "/srv/it's a $dir";
        let q = quote(p);
        let s = render(&[
            Change::MakeDir {
                path: p.into(),
                attrs: attrs("u", "0700"),
            },
            Change::Touch {
                path: p.into(),
                times: Times::AccessOnly,
            },
            Change::Link {
                path: p.into(),
                target: "../$HOME x".into(),
            },
            Change::Remove { path: p.into() },
            Change::Run {
                argv: vec!["hostname".into(), p.into()],
            },
        ])
        .unwrap()
        .script;
        assert_eq!(
            s,
            format!(
                "set -e\nmkdir -- {q} 2>/dev/null || [ -d {q} ] || mkdir -- {q}\nchown u {q}\nchmod 0700 {q}\ntouch -a -- {q}\nln -sfn -- {} {q}\nrm -rf -- {q}\nhostname {q}\n",
                quote("../$HOME x")
            )
        );
    }

    #[test]
    fn a_symbolic_mode_resolves_against_the_current_one_or_per_entry() {
        let m = Attrs {
            mode: Mode::parse(&serde_json::json!("g+w")).unwrap(),
            ..Attrs::default()
        };
        let one = render(&[Change::SetAttrs {
            path: "/d".into(),
            attrs: m.clone(),
            current: 0o750,
            is_dir: true,
            no_deref: false,
        }])
        .unwrap()
        .script;
        assert_eq!(one, "set -e\nchmod 0770 /d\n");
        let tree = render(&[Change::SetAttrsTree {
            path: "/d".into(),
            attrs: m,
            current: 0o750,
        }])
        .unwrap()
        .script;
        assert_eq!(tree, "set -e\nchmod -R g+w /d\n");
    }

    #[test]
    fn a_link_keeps_its_mode_and_gets_its_owner_without_following() {
        let s = render(&[Change::SetAttrs {
            path: "/l".into(),
            attrs: attrs("u", "0600"),
            current: 0,
            is_dir: false,
            no_deref: true,
        }])
        .unwrap()
        .script;
        assert_eq!(s, "set -e\nchown -h u /l\n");
    }

    fn write(dest: &str, bytes: &[u8]) -> Change {
        Change::Write {
            dest: dest.into(),
            attrs: Attrs::default(),
            existing: FileState::missing(),
            validate: None,
            backup: false,
            content: Content::Bytes(bytes.to_vec()),
        }
    }

    /// One write reads stdin to its end; several share it, each taking
    /// exactly its own length, in order.
    #[test]
    fn writes_share_one_stdin_in_order() {
        let one = render(&[write("/a", b"alpha")]).unwrap();
        assert_eq!(one.stdin.as_deref(), Some(&b"alpha"[..]));
        assert!(one.script.contains("cat > \"$t\""), "{}", one.script);
        let two = render(&[write("/a", b"alpha"), write("/b", b"be")]).unwrap();
        assert_eq!(two.stdin.as_deref(), Some(&b"alphabe"[..]));
        let a = two
            .script
            .find("head -c 5 > ")
            .expect("first write reads 5 bytes");
        let b = two
            .script
            .find("head -c 2 > ")
            .expect("second write reads 2 bytes");
        assert!(a < b, "{}", two.script);
        assert!(!two.script.contains("cat > \"$t\""), "{}", two.script);
    }

    /// A variable name the shell would read as code is refused, not run.
    #[test]
    fn an_export_needs_a_shell_name() {
        let export = |name: &str| {
            render(&[Change::Export {
                name: name.into(),
                value: "$(id)".into(),
            }])
        };
        let ok = export("_A1").unwrap().script;
        assert_eq!(ok, "set -e\n_A1='$(id)'; export _A1\n");
        for bad in ["A B", "1A", "", "A;id"] {
            let e = export(bad).unwrap_err();
            assert!(
                e.contains("invalid environment variable name"),
                "{bad}: {e}"
            );
        }
    }

    /// A missing tool fails the action before anything runs, naming it.
    /// Through a symbolic link, `chdir` gives the program the physical
    /// directory, as Ansible's `chdir(2)` does.
    #[test]
    fn a_change_of_directory_is_physical() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("-link")).unwrap();
        let r = render(&[
            Change::ChangeDir {
                path: dir.path().join("-link").to_str().unwrap().into(),
            },
            Change::Run {
                argv: vec!["sh".into(), "-c".into(), "echo \"$PWD\"".into()],
            },
        ])
        .unwrap();
        let out = sh(&r.script);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            real.to_str().unwrap()
        );
    }

    #[test]
    fn a_missing_command_stops_the_action() {
        let r = render(&[
            Change::RequireCommand {
                name: "rprov-no-such-tool".into(),
            },
            Change::Run {
                argv: vec!["echo".into(), "ran".into()],
            },
        ])
        .unwrap();
        let out = sh(&r.script);
        assert_eq!(out.status.code(), Some(127));
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "rprov-no-such-tool is not installed on the host\n"
        );
    }

    /// A directory made by someone else between the probe and the change (a
    /// second run, or hosts sharing a filesystem) is no failure; a parent
    /// that is a file still is, with mkdir's message.
    #[test]
    fn a_directory_that_appeared_meanwhile_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d").display().to_string();
        let make = render(&[Change::MakeDir {
            path: d.clone(),
            attrs: Attrs::default(),
        }])
        .unwrap()
        .script;
        assert!(sh(&make).status.success());
        assert!(sh(&make).status.success(), "made again: exists now");
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let under_file = render(&[Change::MakeDir {
            path: f.join("sub").display().to_string(),
            attrs: Attrs::default(),
        }])
        .unwrap()
        .script;
        let out = sh(&under_file);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Not a directory"),
            "{out:?}"
        );
    }
}
