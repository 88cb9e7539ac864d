//! How a [`Systemctl`] change is said in shell.
//!
//! Every step is guarded on the host (`is-enabled`, `is-active`) as well as
//! decided from the probe, so a unit that reached the wanted state between
//! the probe and the action (another run, a service that started itself) is
//! left alone rather than restarted or failed. A start that fails shows the
//! unit's `systemctl status` on stderr, which becomes the task's message.

use rprov_transport::quote;

use crate::modules::user_scope::Scope;

/// One `systemctl` step on a unit, or on the manager itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Systemctl {
    /// `daemon-reexec`: the manager re-executes itself.
    DaemonReexec,
    /// `daemon-reload`: unit files (and quadlet sources) read again.
    DaemonReload,
    /// `unmask`, when the unit is masked.
    Unmask { unit: String },
    /// `enable`, unless the unit is enabled already.
    Enable { unit: String, force: bool },
    /// `disable`, when the unit is enabled.
    Disable { unit: String, force: bool },
    /// `mask`, unless the unit is masked already.
    Mask { unit: String, force: bool },
    /// `start`, unless the unit is active.
    Start { unit: String, no_block: bool },
    /// `stop`, when the unit is active.
    Stop { unit: String, no_block: bool },
    /// `restart` always; with `sleep`, a stop, that many seconds, a start.
    Restart {
        unit: String,
        no_block: bool,
        sleep: Option<u64>,
    },
    /// `reload` when the unit is active, else `start` (Ansible's `reloaded`).
    Reload { unit: String, no_block: bool },
}

/// The shell defining the scope's `_rp_sc`, run once at the top of a script
/// (see [`Scope::prelude`]). `ensure_manager`: a user's manager is started
/// (lingering enabled, its bus awaited) before any step runs.
pub fn header(scope: &Scope, ensure_manager: bool) -> String {
    let mut s = scope.prelude();
    s.push_str(scope.require());
    if ensure_manager {
        s.push_str(scope.ensure_manager());
    }
    s
}

/// The line of one step. `if_running`: only when the scope's manager is
/// running (its bus exists, or it is the system's), and nothing otherwise —
/// for steps that tidy up and have no reason to start a user's manager.
pub fn line(op: &Systemctl, if_running: bool) -> String {
    let step = step(op);
    if if_running {
        format!("if [ -S \"/run/user/$_rp_uid/bus\" ] || [ \"$_rp_uid\" = 0 ]; then\n{step}fi\n")
    } else {
        step
    }
}

fn step(op: &Systemctl) -> String {
    let flag = |on: bool, text: &'static str| if on { text } else { "" };
    match op {
        Systemctl::DaemonReexec => "_rp_sc daemon-reexec\n".into(),
        Systemctl::DaemonReload => "_rp_sc daemon-reload\n".into(),
        Systemctl::Unmask { unit } => {
            let q = quote(unit);
            format!(
                "if [ \"$(_rp_sc is-enabled -- {q} 2>/dev/null)\" = masked ]; then _rp_sc unmask -- {q}; fi\n"
            )
        }
        Systemctl::Enable { unit, force } => {
            let q = quote(unit);
            let f = flag(*force, " --force");
            format!("_rp_sc is-enabled --quiet -- {q} 2>/dev/null || _rp_sc enable{f} -- {q}\n")
        }
        Systemctl::Disable { unit, force } => {
            let q = quote(unit);
            let f = flag(*force, " --force");
            format!(
                "case \"$(_rp_sc is-enabled -- {q} 2>/dev/null)\" in enabled|enabled-runtime) _rp_sc disable{f} -- {q} ;; esac\n"
            )
        }
        Systemctl::Mask { unit, force } => {
            let q = quote(unit);
            let f = flag(*force, " --force");
            format!(
                "[ \"$(_rp_sc is-enabled -- {q} 2>/dev/null)\" = masked ] || _rp_sc mask{f} -- {q}\n"
            )
        }
        Systemctl::Start { unit, no_block } => {
            let q = quote(unit);
            let start = start_or_status(&q, flag(*no_block, " --no-block"));
            format!("_rp_sc is-active --quiet -- {q} || {start}\n")
        }
        Systemctl::Stop { unit, no_block } => {
            let q = quote(unit);
            let nb = flag(*no_block, " --no-block");
            format!(
                "if _rp_sc is-active --quiet -- {q} 2>/dev/null; then _rp_sc stop{nb} -- {q}; fi\n"
            )
        }
        Systemctl::Restart {
            unit,
            no_block,
            sleep,
        } => {
            let q = quote(unit);
            let nb = flag(*no_block, " --no-block");
            let fail = status_on_failure(&q);
            match sleep {
                None => format!("_rp_sc restart{nb} -- {q} || {fail}\n"),
                Some(secs) => {
                    format!("_rp_sc stop -- {q}\nsleep {secs}\n_rp_sc start{nb} -- {q} || {fail}\n")
                }
            }
        }
        Systemctl::Reload { unit, no_block } => {
            let q = quote(unit);
            let nb = flag(*no_block, " --no-block");
            let start = start_or_status(&q, nb);
            format!(
                "if _rp_sc is-active --quiet -- {q}; then _rp_sc reload{nb} -- {q}; else {start}; fi\n"
            )
        }
    }
}

fn start_or_status(q: &str, nb: &str) -> String {
    format!("_rp_sc start{nb} -- {q} || {}", status_on_failure(q))
}

/// Keeps the failed command's exit status, after showing why on stderr.
fn status_on_failure(q: &str) -> String {
    format!(
        "{{ _rp_rc=$?; _rp_sc status --no-pager --lines=15 -- {q} >&2 || true; exit $_rp_rc; }}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::change::{render, Change};

    /// Runs the rendered `ops` (system scope) with a fake `systemctl` that
    /// logs its arguments and answers `is-active`/`is-enabled` as told;
    /// returns the log and whether the script succeeded.
    fn run(ops: &[Systemctl], active: bool, enabled: &str) -> (String, bool) {
        run_failing_start(ops, active, enabled, false)
    }

    fn run_failing_start(
        ops: &[Systemctl],
        active: bool,
        enabled: &str,
        fail_start: bool,
    ) -> (String, bool) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let fake = dir.path().join("systemctl");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\necho \"$*\" >> {log}\ncase \"$1\" in\n\
                 is-active) [ {active} = yes ] ;;\n\
                 is-enabled) echo {enabled}; [ {enabled} = enabled ] ;;\n\
                 start) [ \"$FAIL_START\" != yes ] ;;\n\
                 *) true ;;\nesac\n",
                log = log.display(),
                active = if active { "yes" } else { "no" },
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .unwrap();
        let mut changes = vec![Change::Manager {
            scope: Scope::System,
            start: true,
        }];
        changes.extend(ops.iter().map(|op| Change::Systemctl {
            op: op.clone(),
            if_running: false,
        }));
        let script = render(&changes).unwrap().script;
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("FAIL_START", if fail_start { "yes" } else { "no" })
            .output()
            .unwrap();
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        (log, out.status.success())
    }

    fn unit(u: &str) -> String {
        u.to_string()
    }

    /// Each step looks at the unit on the host first: a unit already in the
    /// wanted state is not touched, whatever the probe said.
    #[test]
    fn steps_are_guarded_on_the_host() {
        let start = Systemctl::Start {
            unit: unit("a b.service"),
            no_block: false,
        };
        let (log, ok) = run(std::slice::from_ref(&start), true, "enabled");
        assert!(ok);
        assert_eq!(log, "is-active --quiet -- a b.service\n");
        let (log, ok) = run(&[start], false, "enabled");
        assert!(ok);
        assert!(log.ends_with("start -- a b.service\n"), "{log}");

        let enable = Systemctl::Enable {
            unit: unit("x.service"),
            force: true,
        };
        let (log, _) = run(std::slice::from_ref(&enable), false, "enabled");
        assert!(!log.contains("enable --force"), "{log}");
        let (log, _) = run(&[enable], false, "disabled");
        assert!(log.contains("enable --force -- x.service"), "{log}");

        let stop = Systemctl::Stop {
            unit: unit("x.service"),
            no_block: true,
        };
        let (log, _) = run(std::slice::from_ref(&stop), false, "enabled");
        assert!(!log.contains("stop"), "{log}");
        let (log, _) = run(&[stop], true, "enabled");
        assert!(log.contains("stop --no-block -- x.service"), "{log}");

        let (log, _) = run(
            &[Systemctl::Unmask {
                unit: unit("x.service"),
            }],
            false,
            "masked",
        );
        assert!(log.contains("unmask -- x.service"), "{log}");
    }

    /// A start that fails fails the script with the unit's status shown.
    #[test]
    fn a_failed_start_shows_the_status_and_fails() {
        let start = Systemctl::Start {
            unit: unit("x.service"),
            no_block: false,
        };
        let (log, ok) = run_failing_start(&[start], false, "enabled", true);
        assert!(!ok, "a failed start fails the script");
        assert!(
            log.ends_with("status --no-pager --lines=15 -- x.service\n"),
            "{log}"
        );
        // Not active: `reloaded` starts it, with the same report.
        let reload = Systemctl::Reload {
            unit: unit("x.service"),
            no_block: false,
        };
        let (log, ok) = run_failing_start(&[reload], false, "enabled", true);
        assert!(!ok);
        assert!(log.contains("start -- x.service\nstatus"), "{log}");
        let script = render(&[
            Change::Manager {
                scope: Scope::System,
                start: true,
            },
            Change::Systemctl {
                op: Systemctl::Restart {
                    unit: unit("x.service"),
                    no_block: false,
                    sleep: Some(2),
                },
                if_running: false,
            },
        ])
        .unwrap()
        .script;
        assert!(
            script.contains("_rp_sc stop -- x.service\nsleep 2\n_rp_sc start -- x.service || { _rp_rc=$?; _rp_sc status --no-pager --lines=15 -- x.service >&2"),
            "{script}"
        );
    }

    /// A step before its manager is a bug in the module, reported as such.
    #[test]
    fn a_step_needs_its_manager_first() {
        let e = render(&[Change::Systemctl {
            op: Systemctl::DaemonReload,
            if_running: false,
        }])
        .unwrap_err();
        assert!(e.contains("before the manager"), "{e}");
    }
}
