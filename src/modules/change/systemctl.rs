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
/// (see [`prelude`]). `ensure_manager`: a user's manager is started
/// (lingering enabled, its bus awaited) before any step runs.
pub fn header(scope: &Scope, ensure_manager: bool) -> String {
    let mut s = prelude(scope);
    s.push_str(require(scope));
    if ensure_manager {
        s.push_str(self::ensure_manager(scope));
    }
    s
}

/// The read of [`super::Read::Units`]: `rp_*=` lines about the scope's user
/// (see `user_scope::parse_info`) and, when the user exists, each unit's
/// `props` in a block introduced by `@rp-unit NAME`.
pub fn units_read(
    scope: &Scope,
    units: &[String],
    props: &str,
    is_enabled: bool,
    quadlet_newer: bool,
    any_needs_reload: bool,
) -> String {
    let mut s = prelude(scope);
    s.push_str(&info_snippet(scope));
    s.push_str("if [ -n \"$_rp_uid\" ]; then\n");
    s.push_str(&show_snippet(units, props, is_enabled));
    if quadlet_newer {
        // Quadlet sources edited since the generator last ran: only a
        // daemon-reload turns them into units.
        let (src, gen) = match scope {
            Scope::System => ("/etc/containers/systemd", "/run/systemd/generator"),
            Scope::User(_) => (
                "$_rp_home/.config/containers/systemd",
                "/run/user/$_rp_uid/systemd/generator",
            ),
        };
        s.push_str(&format!(
            "if [ -d \"{src}\" ] && [ -d \"{gen}\" ] && [ -n \"$(find \"{src}\" -newer \"{gen}\" -print 2>/dev/null | head -n 1)\" ]; then echo rp_quadlet_newer=yes; fi\n"
        ));
    }
    if any_needs_reload {
        s.push_str("_rp_sc show '*' -p Id,NeedDaemonReload 2>/dev/null | grep -q '^NeedDaemonReload=yes' && echo rp_unit_needs=yes\n");
    }
    s.push_str("fi\n");
    s
}

/// Shell text defining `_rp_u`, `_rp_uid`, `_rp_home`, `_rp_as` and `_rp_sc`.
/// When the user does not exist, `_rp_uid` is empty (see [`require`]).
fn prelude(scope: &Scope) -> String {
    match scope {
        Scope::System => "_rp_u=root; _rp_uid=0; _rp_home=/root\n\
             _rp_as() { \"$@\"; }\n\
             _rp_sc() { systemctl \"$@\"; }\n"
            .to_string(),
        Scope::User(u) => {
            let who = match u {
                Some(u) => quote(u),
                None => "\"$(id -un)\"".to_string(),
            };
            format!(
                "_rp_u={who}\n\
                 _rp_uid=$(id -u -- \"$_rp_u\" 2>/dev/null || true)\n\
                 _rp_home=$(getent passwd \"$_rp_u\" | cut -d: -f6)\n\
                 _rp_as() {{\n\
                 \x20 if [ \"$(id -u)\" = \"$_rp_uid\" ]; then\n\
                 \x20   env XDG_RUNTIME_DIR=\"/run/user/$_rp_uid\" DBUS_SESSION_BUS_ADDRESS=\"unix:path=/run/user/$_rp_uid/bus\" \"$@\"\n\
                 \x20 elif [ \"$(id -u)\" = 0 ]; then\n\
                 \x20   (cd / && exec runuser -u \"$_rp_u\" -- env HOME=\"$_rp_home\" XDG_RUNTIME_DIR=\"/run/user/$_rp_uid\" DBUS_SESSION_BUS_ADDRESS=\"unix:path=/run/user/$_rp_uid/bus\" \"$@\")\n\
                 \x20 else\n\
                 \x20   echo \"acting as user $_rp_u needs become: yes (running as $(id -un))\" >&2; return 5\n\
                 \x20 fi\n\
                 }}\n\
                 _rp_sc() {{ _rp_as systemctl --user \"$@\"; }}\n"
            )
        }
    }
}

/// A snippet (after [`prelude`]) printing `rp_*=` lines that
/// [`parse_info`] reads.
fn info_snippet(scope: &Scope) -> String {
    match scope {
        Scope::System => "echo rp_user=root; echo rp_uid=0; echo rp_home=/root; \
             echo rp_group=root; echo rp_linger=yes; echo rp_bus=yes\n"
            .to_string(),
        Scope::User(_) => "echo \"rp_user=$_rp_u\"; echo \"rp_uid=$_rp_uid\"; \
             echo \"rp_home=$_rp_home\"\n\
             echo \"rp_group=$(id -gn -- \"$_rp_u\" 2>/dev/null || id -g -- \"$_rp_u\" 2>/dev/null)\"\n\
             if [ -e \"/var/lib/systemd/linger/$_rp_u\" ]; then echo rp_linger=yes; else echo rp_linger=no; fi\n\
             if [ -n \"$_rp_uid\" ] && [ -S \"/run/user/$_rp_uid/bus\" ]; then echo rp_bus=yes; else echo rp_bus=no; fi\n"
            .to_string(),
    }
}

/// Shell lines (after the prelude) failing when the user does not exist.
fn require(scope: &Scope) -> &'static str {
    match scope {
        Scope::System => "",
        Scope::User(_) => "[ -n \"$_rp_uid\" ] || { echo \"no such user: $_rp_u\" >&2; exit 5; }\n",
    }
}

/// Shell lines that enable lingering when it is off, start the user's
/// manager and wait (up to 120 s) until it answers. Nothing for the system
/// scope. As root, `systemctl start user@UID` waits for the manager's own
/// start job instead of a fixed poll, so a slow host (a loaded CI machine, a
/// VM without KVM) gets the time its manager needs, and a manager that fails
/// is shown with its status rather than as a timeout.
fn ensure_manager(scope: &Scope) -> &'static str {
    match scope {
        Scope::System => "",
        Scope::User(_) => {
            "if [ ! -e \"/var/lib/systemd/linger/$_rp_u\" ]; then loginctl enable-linger \"$_rp_u\"; fi\n\
             if [ ! -S \"/run/user/$_rp_uid/bus\" ] && [ \"$(id -u)\" = 0 ]; then\n\
             \x20 if ! systemctl start \"user@$_rp_uid.service\"; then\n\
             \x20   echo \"the systemd user manager of $_rp_u did not start:\" >&2\n\
             \x20   systemctl status --no-pager --lines=10 \"user@$_rp_uid.service\" >&2\n\
             \x20   exit 6\n\
             \x20 fi\n\
             fi\n\
             _rp_i=0\n\
             while [ ! -S \"/run/user/$_rp_uid/bus\" ]; do\n\
             \x20 _rp_i=$((_rp_i + 1))\n\
             \x20 if [ \"$_rp_i\" -gt 1200 ]; then echo \"the systemd user manager of $_rp_u did not start: no /run/user/$_rp_uid/bus after 120s\" >&2; exit 6; fi\n\
             \x20 sleep 0.1\n\
             done\n"
        }
    }
}

/// Shell lines (after the prelude) printing the properties of each unit, each
/// block introduced by `@rp-unit NAME`. Prints nothing for a unit when the
/// manager does not answer.
fn show_snippet(units: &[String], props: &str, is_enabled: bool) -> String {
    let mut s = String::new();
    for u in units {
        s.push_str(&format!(
            "echo {}; _rp_sc show -p {props} -- {} 2>/dev/null || true\n",
            quote(&format!("@rp-unit {u}")),
            quote(u)
        ));
        if is_enabled {
            // Not the same as `UnitFileState`: `is-enabled` of an alias's
            // name says `alias` where `show` follows it to the unit. With
            // `--full` (ansible-core's `-l`) it lists the unit's symlinks
            // under the state: their number is read too.
            s.push_str(&format!(
                "_rp_e=$(_rp_sc is-enabled --full -- {} 2>/dev/null) && _rp_rc=0 || _rp_rc=$?\n\
                 printf 'rp_is_enabled=%s\\nrp_is_enabled_rc=%s\\nrp_is_enabled_lines=%s\\n' \"$(printf '%s\\n' \"$_rp_e\" | head -n 1)\" \"$_rp_rc\" \"$(printf '%s\\n' \"$_rp_e\" | wc -l)\"\n",
                quote(u)
            ));
        }
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

/// The `is-enabled` answers with exit status 0 that are not enabled for
/// ansible-core, as a `case` pattern (modules/systemd.rs's `ENABLED_NOT`).
pub(in crate::modules) const ENABLED_NOT_CASE: &str = "enabled-runtime|indirect|alias";

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
        // Enabled as ansible-core's systemd module reads `is-enabled --full`
        // (see `ansible_enabled` in modules/systemd.rs): exit status 0 and
        // an output other than one of ENABLED_NOT alone (`case` matches the
        // whole text, symlink lines included).
        Systemctl::Enable { unit, force } => {
            let q = quote(unit);
            let f = flag(*force, " --force");
            format!(
                "if _rp_e=$(_rp_sc is-enabled --full -- {q} 2>/dev/null); then case \"$_rp_e\" in {NOT}) _rp_sc enable{f} -- {q} ;; esac; else _rp_sc enable{f} -- {q}; fi\n",
                NOT = ENABLED_NOT_CASE
            )
        }
        Systemctl::Disable { unit, force } => {
            let q = quote(unit);
            let f = flag(*force, " --force");
            format!(
                "if _rp_e=$(_rp_sc is-enabled --full -- {q} 2>/dev/null); then case \"$_rp_e\" in {NOT}) ;; *) _rp_sc disable{f} -- {q} ;; esac; fi\n",
                NOT = ENABLED_NOT_CASE
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
    use crate::modules::user_scope::parse_info;

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
        fake_systemctl(
            dir.path(),
            &format!(
                "echo \"$*\" >> {log}\ncase \"$1\" in\n\
                 is-active) [ {active} = yes ] ;;\n\
                 is-enabled) printf '%b\\n' '{enabled}'; case '{enabled}' in enabled*|static*|indirect*|alias*|generated*|transient*) true ;; *) false ;; esac ;;\n\
                 start) [ \"$FAIL_START\" != yes ] ;;\n\
                 *) true ;;\nesac\n",
                log = log.display(),
                active = if active { "yes" } else { "no" },
            ),
        );
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

    /// A `systemctl` in `dir` that runs `body` (sh).
    fn fake_systemctl(dir: &std::path::Path, body: &str) {
        let fake = dir.join("systemctl");
        std::fs::write(&fake, format!("#!/bin/sh\n{body}")).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .unwrap();
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
    /// `enabled: yes` enables what ansible-core takes for not enabled, an
    /// `indirect` unit among them (exit status 0), and `enabled: no`
    /// disables what it takes for enabled, a `static` one among them, but
    /// not one enabled until the next boot only.
    #[test]
    fn enable_and_disable_read_is_enabled_as_ansible_core() {
        let enable = Systemctl::Enable {
            unit: unit("x.service"),
            force: false,
        };
        let disable = Systemctl::Disable {
            unit: unit("x.service"),
            force: false,
        };
        for (state, enables, disables) in [
            ("enabled", false, true),
            ("static", false, true),
            ("generated", false, true),
            ("transient", false, true),
            ("indirect", true, false),
            // With symlinks listed under it (`--full`), as ansible-core
            // reads `-l`: an indirect unit whose `Also=` unit is enabled.
            (
                "indirect\\n  /etc/systemd/system/sockets.target.wants/x.socket",
                false,
                true,
            ),
            ("alias", true, false),
            ("alias\\n  /etc/systemd/system/x.service", false, true),
            ("enabled-runtime", true, false),
            ("disabled", true, false),
            ("masked-runtime", true, false),
            ("linked", true, false),
        ] {
            for (op, step, runs) in [
                (&enable, "enable -- x.service", enables),
                (&disable, "disable -- x.service", disables),
            ] {
                let (log, ok) = run(std::slice::from_ref(op), false, state);
                assert!(ok, "{state}");
                assert_eq!(log.contains(step), runs, "{state}: {log}");
            }
        }
    }

    /// The probe prints `is-enabled`'s first line and exit status after the
    /// unit's properties, for an exit status other than 0 too.
    #[test]
    fn units_read_prints_is_enabled_and_its_status() {
        for (state, rc) in [("indirect", "0"), ("disabled", "1")] {
            let dir = tempfile::tempdir().unwrap();
            fake_systemctl(
                dir.path(),
                &format!(
                    "case \"$1\" in\n\
                     show) echo LoadState=loaded ;;\n\
                     is-enabled) echo {state}; echo '  /etc/systemd/system/a.target.wants/x.service'; [ {rc} = 0 ] ;;\n\
                     esac\n"
                ),
            );
            let script = format!(
                "set -e\n{}",
                units_read(
                    &Scope::System,
                    &[unit("x.service")],
                    "LoadState",
                    true,
                    false,
                    false
                )
            );
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            let units =
                crate::modules::user_scope::parse_units(&String::from_utf8_lossy(&out.stdout));
            let x = &units["x.service"];
            assert_eq!(x["LoadState"], "loaded");
            assert_eq!(x["rp_is_enabled"], state);
            assert_eq!(x["rp_is_enabled_rc"], rc);
            assert_eq!(x["rp_is_enabled_lines"].trim(), "2");
        }
    }

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

    /// The prelude is valid sh, and `_rp_as` runs commands as is for the
    /// current user.
    #[test]
    fn prelude_runs_in_sh() {
        let me = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
        let s = Scope::User(Some(me.clone()));
        let script = format!(
            "{}{}{}_rp_as sh -c 'echo \"$XDG_RUNTIME_DIR\"'\n",
            prelude(&s),
            require(&s),
            info_snippet(&s)
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let info = parse_info(&s, &text).unwrap();
        assert_eq!(info.user, me);
        assert!(text.contains(&format!("/run/user/{}", info.uid)));
    }
}
