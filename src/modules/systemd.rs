//! `systemd` / `systemd_service` / `service`: a unit's state, enablement and
//! masking, for the system manager or a user's (`scope: user`, `user:`).
//!
//! One probe snippet per unit reads `systemctl show -p ActiveState,SubState,
//! UnitFileState,LoadState,NeedDaemonReload` (plus, for a user, lingering and
//! whether the manager answers). The decision is made from that: enable and
//! start only when not already so, `restarted` is always a change, and a
//! daemon-reload happens only when systemd reports the unit changed on disk
//! (`NeedDaemonReload=yes`), or — when asked for with `daemon_reload: yes` —
//! when the unit is not loaded yet or a quadlet source is newer than the
//! generated units. A reload nobody needs is not done, so a re-run reports no
//! change. The action's steps are guarded (`is-active || start`), so they stay
//! right when a user's manager was not running at probe time.
//!
//! `daemon_reexec: yes` runs `systemctl daemon-reexec` first; like `restarted`
//! it is always a change (nothing tells when one is due). `force: yes` adds
//! `--force` to enable and mask (replace conflicting symlinks). `sleep` (of
//! `service`) waits that long between the stop and the start of `restarted`.
//! The SysV-only arguments `pattern`, `runlevel` and `arguments`/`args` mean
//! nothing to systemd: `service` drops them with a warning, as Ansible's
//! does on a systemd host; `systemd` refuses them, as Ansible's does.

use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read, Systemctl};
use super::typed::{choice, module_args};
use super::user_scope::{key_values, parse_info, parse_units, unit_name, Scope, ScopeArg};
use super::{Action, Decision, Diff, PlanCx, PlanError};

choice! {
    /// What `state` asks of the unit.
    pub enum State {
        Started = "started",
        Stopped = "stopped",
        Restarted = "restarted",
        Reloaded = "reloaded",
    }
}

module_args! {
    /// The arguments of `systemd`, `systemd_service` and `service`: one
    /// table for the three, as roles use them interchangeably.
    pub struct Args {
        /// `service` and `unit` are `systemd`'s aliases.
        name: Option<String> ["name", "service", "unit"],
        state: Option<State> ["state"],
        /// Left out: enablement is left as it is.
        enabled: Option<bool> ["enabled"],
        masked: Option<bool> ["masked"],
        daemon_reload: bool ["daemon_reload", "daemon-reload"] = false,
        daemon_reexec: bool ["daemon_reexec", "daemon-reexec"] = false,
        scope: Option<ScopeArg> ["scope"],
        user: Option<String> ["user"],
        no_block: bool ["no_block"] = false,
        force: bool ["force"] = false,
        /// SysV init's, refused by [`refuse_sysv_args`] (a value of any type).
        pattern: Option<Json> ["pattern"],
        /// `service`'s seconds between stop and start (a number or its text).
        sleep: Option<Json> ["sleep"],
        /// `arguments` and its alias `args` are separate fields so that the
        /// refusal names the one the task wrote.
        arguments: Option<Json> ["arguments"],
        args: Option<Json> ["args"],
        runlevel: Option<Json> ["runlevel"],
        /// `use` (a keyword in Rust): which service manager.
        use_: Option<String> ["use"],
    }
}

impl Args {
    /// The manager these arguments drive.
    fn scope(&self) -> Result<Scope, PlanError> {
        Scope::from_args(self.scope, self.user.as_deref())
    }
}

const PROPS: &str = "Id,ActiveState,SubState,UnitFileState,LoadState,NeedDaemonReload";

/// What `systemctl is-enabled` prints with exit status 0 that ansible-core's
/// systemd module still takes for not enabled, so that `enabled: yes` runs
/// `systemctl enable` (and `enabled: no` does nothing): a unit enabled only
/// until the next boot, one enabled through its `Also=` units or another
/// name (`indirect`), and an alias's own name.
const ENABLED_NOT: &[&str] = &["enabled-runtime", "indirect", "alias"];

/// Whether ansible-core's systemd module takes the unit for enabled, by what
/// `systemctl is-enabled --full` printed (its first line, and how many lines
/// there were) and its exit status: status 0 and an output other than one
/// of [`ENABLED_NOT`] alone. `--full` (ansible-core's `-l`) lists the
/// symlinks that enable the unit under its state, so an `indirect` unit
/// whose `Also=` socket is enabled, or an alias's name whose unit is, counts
/// as enabled: `enabled: yes` enables such a unit once, not on every run.
/// `static`, `generated` and `transient` are enabled (`enabled: no` runs
/// `systemctl disable` on them, a change on every run, as there), and
/// `disabled`, `linked`, `masked` and their `-runtime` forms are not.
/// Without the status (a probe that did not read it), the status
/// `is-enabled` gives each state stands in.
fn ansible_enabled(is_enabled: &str, rc: Option<i32>, lines: usize) -> bool {
    let rc = rc.unwrap_or(match is_enabled {
        "enabled" | "enabled-runtime" | "static" | "indirect" | "alias" | "generated"
        | "transient" => 0,
        _ => 1,
    });
    rc == 0 && (lines > 1 || !ENABLED_NOT.contains(&is_enabled))
}

/// What is read for `units` in `scope`: user info, each unit's properties,
/// whether quadlet sources are newer than the generated units and, with
/// `any_needs_reload`, whether any unit wants a daemon-reload.
fn units_read(scope: &Scope, units: Vec<String>, any_needs_reload: bool) -> Read {
    Read::Units {
        scope: scope.clone(),
        units,
        props: PROPS,
        is_enabled: true,
        quadlet_newer: true,
        any_needs_reload,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let scope = args.scope()?;
    let state = args.state;
    let enabled = args.enabled;
    let masked = args.masked;
    let reload_asked = args.daemon_reload;
    let no_block = args.no_block;
    let reexec = args.daemon_reexec;
    let force = args.force;
    let sleep = sleep_arg(args.sleep.as_ref())?;
    let warnings = refuse_sysv_args(cx.module, &args)?;
    let name = args.name.filter(|n| !n.is_empty());
    let Some(name) = name else {
        if state.is_some() || enabled.is_some() || masked.is_some() {
            return Err(PlanError::Fail(format!(
                "`{}` needs `name` for state, enabled or masked",
                cx.module
            )));
        }
        return plan_reload_only(cx, &scope, reload_asked, reexec);
    };
    if name.starts_with('-') {
        return Err(PlanError::Fail(format!(
            "`name: {name}` is not a unit name"
        )));
    }
    let unit = unit_name(&name);
    let text = cx.ask_one(units_read(&scope, vec![unit.clone()], false))?;
    let info = parse_info(&scope, &text)?;
    let kv = key_values(&text);
    let units = parse_units(&text);
    let empty = Default::default();
    let props = units.get(&unit).unwrap_or(&empty);
    let prop = |k: &str| props.get(k).map(String::as_str).unwrap_or("");
    // A user's manager that is not running cannot be asked: its unit's state
    // is unknown, and the guarded steps decide on the host.
    let known = info.bus && !prop("LoadState").is_empty();
    let where_ = scope.label(Some(&info));

    let mut attrs = Vec::new();
    let mut steps: Vec<Systemctl> = Vec::new();
    if scope.is_user() && !info.linger {
        attrs.push(format!("linger ({}): no → yes", info.user));
    }
    if scope.is_user() && !info.bus {
        attrs.push(format!(
            "systemd --user manager of {}: not running → running",
            info.user
        ));
    }
    let not_found = known && prop("LoadState") == "not-found";
    let quadlet_newer = kv.get("rp_quadlet_newer").is_some_and(|v| v == "yes");
    let reload = known
        && (prop("NeedDaemonReload") == "yes" || (reload_asked && (not_found || quadlet_newer)));
    if reexec {
        attrs.push("daemon-reexec: requested".into());
        steps.push(Systemctl::DaemonReexec);
    }
    if reload {
        attrs.push("daemon-reload: needed".into());
        steps.push(Systemctl::DaemonReload);
    }
    // As ansible-core's systemd module (its `service` hands systemd hosts to
    // it): any `state` or `enabled` of a unit systemd does not know fails,
    // `stopped` and `enabled: false` too, with its message; `masked` alone
    // does not (systemd masks a unit that does not exist). After an asked
    // daemon-reload the unit may be there: that is for systemctl to say.
    if not_found && (state.is_some() || enabled.is_some()) && !reload_asked {
        return Err(PlanError::Missing(format!(
            "Could not find the requested service {name}: host ({where_}: LoadState=not-found)"
        )));
    }
    let file_state = if known {
        prop("UnitFileState")
    } else {
        "unknown"
    };
    let file_state = if file_state.is_empty() {
        "disabled"
    } else {
        file_state
    };
    // What ansible-core decides enablement and masking by; `UnitFileState`
    // when the probe did not say.
    let file_state = match prop("rp_is_enabled") {
        s if known && !s.is_empty() => s,
        _ => file_state,
    };
    let is_enabled_rc = prop("rp_is_enabled_rc").parse::<i32>().ok();
    let is_enabled_lines = prop("rp_is_enabled_lines").trim().parse().unwrap_or(1);
    let now_enabled = known && ansible_enabled(file_state, is_enabled_rc, is_enabled_lines);

    if masked == Some(false) && (!known || file_state == "masked") {
        if known {
            attrs.push("masked: yes → no".into());
        }
        steps.push(Systemctl::Unmask { unit: unit.clone() });
    }
    match enabled {
        Some(true) if !known || !now_enabled => {
            attrs.push(format!("enabled: {file_state} → enabled"));
            steps.push(Systemctl::Enable {
                unit: unit.clone(),
                force,
            });
        }
        Some(false) if !known || now_enabled => {
            attrs.push(format!("enabled: {file_state} → disabled"));
            steps.push(Systemctl::Disable {
                unit: unit.clone(),
                force,
            });
        }
        _ => {}
    }
    if masked == Some(true) && (!known || file_state != "masked") {
        attrs.push(format!("masked: {file_state} → masked"));
        steps.push(Systemctl::Mask {
            unit: unit.clone(),
            force,
        });
    }

    let active = prop("ActiveState");
    let running = matches!(active, "active" | "reloading")
        || (active == "activating" && prop("SubState") != "auto-restart");
    let shown = if !known {
        "unknown"
    } else if not_found {
        "not-found"
    } else {
        active
    };
    let mut result_state = state.map(State::as_str);
    match state {
        Some(State::Started) if !known || !running => {
            attrs.push(format!("state: {shown} → started"));
            steps.push(Systemctl::Start {
                unit: unit.clone(),
                no_block,
            });
        }
        Some(State::Stopped) if !known || running || active == "activating" => {
            attrs.push(format!("state: {shown} → stopped"));
            steps.push(Systemctl::Stop {
                unit: unit.clone(),
                no_block,
            });
        }
        Some(State::Restarted) => {
            attrs.push(format!("state: {shown} → restarted"));
            steps.push(Systemctl::Restart {
                unit: unit.clone(),
                no_block,
                sleep,
            });
            // ansible-core registers `started` for `restarted` and
            // `reloaded`: the state the unit is left in.
            result_state = Some(State::Started.as_str());
        }
        Some(State::Reloaded) => {
            attrs.push(format!("state: {shown} → reloaded"));
            steps.push(Systemctl::Reload {
                unit: unit.clone(),
                no_block,
            });
            result_state = Some(State::Started.as_str());
        }
        _ => {}
    }

    let mut result = Map::new();
    if !warnings.is_empty() {
        result.insert("warnings".into(), json!(warnings));
    }
    // The name as the task gave it (`ansible_test`, not `ansible_test.service`),
    // as ansible-core returns it.
    result.insert("name".into(), json!(name));
    if let Some(s) = &result_state {
        result.insert("state".into(), json!(s));
    }
    if let Some(e) = enabled {
        result.insert("enabled".into(), json!(e));
    }
    if known {
        // `rp_*`: rprov's own reads, not properties of the unit.
        let status: Map<String, Json> = props
            .iter()
            .filter(|(k, _)| !k.starts_with("rp_"))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        result.insert("status".into(), Json::Object(status));
    }
    // NeedDaemonReload alone, with nothing to do for the unit, is left to the
    // task that changes the unit (the next reload picks it up).
    if steps.is_empty() || (reload && attrs.len() == 1 && !reload_asked && state.is_none()) {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: format!("{unit} ({where_})"),
            attrs,
            ..Diff::default()
        }],
        action: steps_action(scope, steps, result)?,
    })
}

/// `sleep` of `service`: seconds between stop and start of `restarted`.
fn sleep_arg(sleep: Option<&Json>) -> Result<Option<u64>, PlanError> {
    match sleep {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .map(Some)
            .ok_or_else(|| {
                PlanError::Fail(format!("`sleep` must be a number of seconds, got {v}"))
            }),
    }
}

/// SysV init arguments that systemd has no use for: refused by `systemd`,
/// whose ansible-core module has none of them; dropped by `service`, with
/// ansible-core's warning for each (its service action does so on a
/// systemd host: the `service` target gives `pattern`), which are returned.
fn refuse_sysv_args(module: &str, args: &Args) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    let sysv = [
        ("pattern", &args.pattern),
        ("runlevel", &args.runlevel),
        ("arguments", &args.arguments),
        ("args", &args.args),
    ];
    for (key, value) in sysv {
        match value {
            None => {}
            Some(Json::String(s)) if s.is_empty() => {}
            Some(_) if super::canonical_name(module) == "service" => {
                warnings.push(format!("Ignoring \"{key}\" as it is not used in \"systemd\""));
            }
            Some(_) => {
                return Err(PlanError::Fail(format!(
                    "`{module}`: `{key}` is a SysV init argument and rprov manages services with systemd only: remove it (Ansible drops it with a warning on systemd hosts)"
                )))
            }
        }
    }
    if let Some(u) = args
        .use_
        .as_ref()
        .filter(|u| !["auto", "systemd", "service"].contains(&u.as_str()))
    {
        return Err(PlanError::Fail(format!(
            "`{module}`: `use: {u}` is not supported; rprov manages services with systemd"
        )));
    }
    Ok(warnings)
}

/// `daemon_reload: yes` without a unit: reload when quadlet sources are newer
/// than the generated units or a loaded unit needs it; otherwise nothing.
/// `daemon_reexec: yes` without a unit: always re-executes the manager.
fn plan_reload_only(
    cx: &PlanCx,
    scope: &Scope,
    asked: bool,
    reexec: bool,
) -> Result<Decision, PlanError> {
    let mut result = Map::new();
    if !asked && !reexec {
        return Err(PlanError::Fail(format!(
            "`{}` needs `name`, `daemon_reload: yes` or `daemon_reexec: yes`",
            cx.module
        )));
    }
    let text = cx.ask_one(units_read(scope, Vec::new(), true))?;
    let info = parse_info(scope, &text)?;
    let kv = key_values(&text);
    let needed = asked
        && (kv.get("rp_quadlet_newer").is_some_and(|v| v == "yes")
            || kv.get("rp_unit_needs").is_some_and(|v| v == "yes")
            || !info.bus);
    if !needed && !reexec {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok {
            result,
            msg: Some("no unit changed on disk: daemon-reload not needed".into()),
        });
    }
    let (mut attrs, mut steps) = (Vec::new(), Vec::new());
    if reexec {
        attrs.push("daemon-reexec: requested".to_string());
        steps.push(Systemctl::DaemonReexec);
    }
    if needed {
        attrs.push("daemon-reload: needed".to_string());
        steps.push(Systemctl::DaemonReload);
    }
    result.insert("changed".into(), json!(true));
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: format!("systemd ({})", scope.label(Some(&info))),
            attrs,
            ..Diff::default()
        }],
        action: steps_action(scope.clone(), steps, result)?,
    })
}

/// The action running `steps` in the scope's manager, started first if it
/// is a user's that does not run.
fn steps_action(
    scope: Scope,
    steps: Vec<Systemctl>,
    result: Map<String, Json>,
) -> Result<Action, PlanError> {
    let mut changes = vec![Change::Manager { scope, start: true }];
    changes.extend(steps.into_iter().map(|op| Change::Systemctl {
        op,
        if_running: false,
    }));
    Ok(change::checked(changes, result)?)
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;

    fn show(active: &str, file: &str, load: &str, reload: &str) -> String {
        format!(
            "rp_user=root\nrp_uid=0\nrp_home=/root\nrp_group=root\nrp_linger=yes\nrp_bus=yes\n\
             @rp-unit caddy.service\nId=caddy.service\nActiveState={active}\nSubState=x\n\
             UnitFileState={file}\nLoadState={load}\nNeedDaemonReload={reload}\n"
        )
    }

    fn run(args: serde_json::Value, out: &str) -> Result<Decision, PlanError> {
        let mut f = Fixture::new("systemd", args);
        let scope = Args::from_cx(&f.cx())?.scope()?;
        let unit = unit_name(f.args["name"].as_str().unwrap_or("x"));
        f.answer_read(units_read(&scope, vec![unit], false), out);
        plan(&f.cx())
    }

    #[test]
    fn started_and_enabled_is_ok() {
        let d = run(
            json!({"name": "caddy", "state": "started", "enabled": true}),
            &show("active", "enabled", "loaded", "no"),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        // The name as given, without the `.service` systemctl adds.
        assert_eq!(result["name"], json!("caddy"));
    }

    #[test]
    fn stopped_and_disabled_starts_and_enables() {
        let d = run(
            json!({"name": "caddy", "state": "started", "enabled": true}),
            &show("inactive", "disabled", "loaded", "no"),
        )
        .unwrap();
        let Decision::Change { diffs, action } = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            diffs[0].attrs,
            ["enabled: disabled → enabled", "state: inactive → started"]
        );
        assert!(action.script.contains("_rp_sc enable -- caddy.service"));
        assert!(action.script.contains("_rp_sc start -- caddy.service"));
        assert!(!action.script.contains("daemon-reload"));
    }

    #[test]
    fn need_daemon_reload_reloads_before_restart() {
        let d = run(
            json!({"name": "caddy", "state": "restarted"}),
            &show("active", "enabled", "loaded", "yes"),
        )
        .unwrap();
        let Decision::Change { action, .. } = d else {
            panic!()
        };
        let r = action.script.find("daemon-reload").unwrap();
        let s = action.script.find("restart --").unwrap();
        assert!(r < s);
    }

    #[test]
    fn restarted_is_always_a_change_and_stopped_is_ok_when_inactive() {
        let d = run(
            json!({"name": "caddy", "state": "restarted"}),
            &show("active", "enabled", "loaded", "no"),
        )
        .unwrap();
        let Decision::Change { action, .. } = &d else {
            panic!("{d:?}")
        };
        // Registered as ansible-core's: the state the unit is left in.
        assert_eq!(action.result["state"], json!("started"));
        let d = run(
            json!({"name": "caddy", "state": "stopped"}),
            &show("inactive", "enabled", "loaded", "no"),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn missing_unit_fails_unless_reload_asked() {
        let e = run(
            json!({"name": "caddy", "state": "started"}),
            &show("inactive", "", "not-found", "no"),
        )
        .unwrap_err();
        assert!(matches!(e, PlanError::Missing(m) if m.contains("Could not find")));
        let d = run(
            json!({"name": "caddy", "state": "started", "daemon_reload": true}),
            &show("inactive", "", "not-found", "no"),
        )
        .unwrap();
        let Decision::Change { action, .. } = d else {
            panic!()
        };
        assert!(action.script.contains("daemon-reload"));
    }

    #[test]
    fn missing_unit_fails_for_any_state_or_enabled_but_not_for_masked() {
        for args in [
            json!({"name": "caddy", "state": "stopped"}),
            json!({"name": "caddy", "enabled": false}),
            json!({"name": "caddy", "state": "restarted"}),
        ] {
            let e = run(args.clone(), &show("inactive", "", "not-found", "no")).unwrap_err();
            let PlanError::Missing(m) = e else {
                panic!("{args}: {e:?}")
            };
            // ansible-core's words, which its integration target searches for.
            assert!(
                m.starts_with("Could not find the requested service caddy: host"),
                "{args}: {m}"
            );
        }
        let d = run(
            json!({"name": "caddy", "masked": true}),
            &show("inactive", "", "not-found", "no"),
        )
        .unwrap();
        assert!(
            crate::modules::testing::script(&d).contains("_rp_sc mask -- caddy.service"),
            "{d:?}"
        );
    }

    #[test]
    fn reload_asked_but_not_needed_is_ok() {
        let d = run(
            json!({"name": "caddy", "state": "started", "daemon_reload": true}),
            &show("active", "enabled", "loaded", "no"),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn user_scope_without_linger_enables_it() {
        let out =
            "rp_user=web\nrp_uid=1001\nrp_home=/home/web\nrp_group=web\nrp_linger=no\nrp_bus=no\n\
                   @rp-unit web@8000.service\n";
        let d = run(
            json!({"name": "web@8000", "state": "started", "scope": "user", "user": "web"}),
            out,
        )
        .unwrap();
        let Decision::Change { diffs, action } = d else {
            panic!()
        };
        assert!(diffs[0].attrs[0].starts_with("linger (web): no → yes"));
        assert!(diffs[0].path.contains("user web"));
        assert!(action.script.contains("loginctl enable-linger"));
        assert!(action.script.contains("runuser -u"));
        assert!(action
            .script
            .contains("is-active --quiet -- web@8000.service ||"));
    }

    /// [`show`] with what `systemctl is-enabled --full` printed (its first
    /// line, with no symlink listed under it) and its status.
    fn show_is(file: &str, is_enabled: &str, rc: i32) -> String {
        show_is_lines(file, is_enabled, rc, 1)
    }

    /// [`show_is`] of an output of `lines` lines.
    fn show_is_lines(file: &str, is_enabled: &str, rc: i32, lines: usize) -> String {
        format!(
            "{}rp_is_enabled={is_enabled}\nrp_is_enabled_rc={rc}\nrp_is_enabled_lines={lines}\n",
            show("inactive", file, "loaded", "no")
        )
    }

    /// Changed or not, and the diff's lines.
    fn outcome(args: serde_json::Value, out: &str) -> Option<Vec<String>> {
        match run(args.clone(), out) {
            Ok(Decision::Ok { .. }) => None,
            Ok(Decision::Change { diffs, .. }) => Some(diffs[0].attrs.clone()),
            other => panic!("{args}: {other:?}"),
        }
    }

    /// Enablement as ansible-core's systemd module reads `is-enabled -l`:
    /// an `indirect` unit (the systemd target's `Also=` unit, the service
    /// target's unit with a second name) and an alias's name are enabled by
    /// `enabled: yes` while no symlink is listed under the state, and are
    /// enabled once one is; a `static` one is disabled by `enabled: no`; one
    /// enabled until the next boot only is enabled for good and left by
    /// `enabled: no`.
    #[test]
    fn enablement_states_as_ansible_core() {
        let yes = json!({"name": "caddy", "enabled": true});
        let no = json!({"name": "caddy", "enabled": false});
        assert_eq!(
            outcome(yes.clone(), &show_is("indirect", "indirect", 0)),
            Some(vec!["enabled: indirect → enabled".to_string()])
        );
        assert_eq!(
            outcome(no.clone(), &show_is("indirect", "indirect", 0)),
            None
        );
        // Its `Also=` socket enabled, the systemd target's second `enabled:
        // yes` is no change.
        let also_enabled = show_is_lines("indirect", "indirect", 0, 2);
        assert_eq!(outcome(yes.clone(), &also_enabled), None);
        assert!(outcome(no.clone(), &also_enabled).is_some());
        assert_eq!(
            outcome(yes.clone(), &show_is_lines("enabled", "alias", 0, 3)),
            None
        );
        // `show` follows an alias to its unit; `is-enabled` does not.
        assert_eq!(
            outcome(yes.clone(), &show_is("enabled", "alias", 0)),
            Some(vec!["enabled: alias → enabled".to_string()])
        );
        assert_eq!(outcome(yes.clone(), &show_is("static", "static", 0)), None);
        assert_eq!(
            outcome(no.clone(), &show_is("static", "static", 0)),
            Some(vec!["enabled: static → disabled".to_string()])
        );
        assert!(outcome(
            yes.clone(),
            &show_is("enabled-runtime", "enabled-runtime", 0)
        )
        .is_some());
        assert_eq!(
            outcome(
                no.clone(),
                &show_is("enabled-runtime", "enabled-runtime", 0)
            ),
            None
        );
        assert_eq!(
            outcome(yes.clone(), &show_is("enabled", "enabled", 0)),
            None
        );
        assert!(outcome(no.clone(), &show_is("enabled", "enabled", 0)).is_some());
        // The status decides: an unknown answer with status 0 is enabled.
        assert_eq!(outcome(yes.clone(), &show_is("bad", "new-state", 0)), None);
        assert!(outcome(yes, &show_is("disabled", "disabled", 1)).is_some());
        // Masked means `masked`, not `masked-runtime`.
        let mask = json!({"name": "caddy", "masked": true});
        assert!(outcome(mask, &show_is("masked-runtime", "masked-runtime", 1)).is_some());
        let unmask = json!({"name": "caddy", "masked": false});
        assert_eq!(
            outcome(unmask, &show_is("masked-runtime", "masked-runtime", 1)),
            None
        );
    }

    /// The rule the probe decides by is the one the host's guard runs.
    #[test]
    fn the_guard_on_the_host_has_the_same_exceptions() {
        assert_eq!(ENABLED_NOT.join("|"), change::systemctl::ENABLED_NOT_CASE);
    }

    /// rprov's own reads are not among the unit's properties in `status`.
    #[test]
    fn status_holds_only_the_units_properties() {
        let d = run(
            json!({"name": "caddy", "enabled": true}),
            &show_is("enabled", "enabled", 0),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        let status = result["status"].as_object().unwrap();
        assert_eq!(status["UnitFileState"], json!("enabled"));
        assert!(!status.keys().any(|k| k.starts_with("rp_")), "{status:?}");
    }

    #[test]
    fn generated_units_count_as_enabled() {
        let d = run(
            json!({"name": "caddy", "enabled": true}),
            &show("active", "generated", "loaded", "no"),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn bad_arguments_fail() {
        let mut f = Fixture::new("systemd", json!({"name": "x", "state": "running"}));
        assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))));
        f = Fixture::new(
            "systemd",
            json!({"name": "x", "scope": "system", "user": "a"}),
        );
        assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))));
        f = Fixture::new("systemd", json!({"state": "started"}));
        assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))));
    }

    #[test]
    fn daemon_reexec_is_always_a_change_and_runs_first() {
        let d = run(
            json!({"name": "caddy", "state": "started", "daemon_reexec": true}),
            &show("active", "enabled", "loaded", "no"),
        )
        .unwrap();
        let Decision::Change { diffs, action } = d else {
            panic!("{d:?}")
        };
        assert_eq!(diffs[0].attrs, ["daemon-reexec: requested"]);
        assert!(action.script.contains("_rp_sc daemon-reexec\n"));
        // Without a unit: reexec, and a reload only when one is needed.
        let mut f = Fixture::new("systemd", json!({"daemon_reexec": true}));
        f.answer_read(
            units_read(&Scope::System, Vec::new(), true),
            "rp_user=root\nrp_uid=0\nrp_bus=yes\nrp_linger=yes\n",
        );
        let Decision::Change { diffs, action } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert_eq!(diffs[0].attrs, ["daemon-reexec: requested"]);
        assert!(action.script.ends_with("_rp_sc daemon-reexec\n"));
    }

    #[test]
    fn force_and_sleep() {
        let d = run(
            json!({"name": "caddy", "enabled": true, "masked": false, "force": true}),
            &show("active", "disabled", "loaded", "no"),
        )
        .unwrap();
        assert!(
            crate::modules::testing::script(&d).contains("_rp_sc enable --force -- caddy.service")
        );
        let d = run(
            json!({"name": "caddy", "state": "restarted", "sleep": 2}),
            &show("active", "enabled", "loaded", "no"),
        )
        .unwrap();
        let s = crate::modules::testing::script(&d);
        assert!(
            s.contains("_rp_sc stop -- caddy.service\nsleep 2\n_rp_sc start -- caddy.service ||"),
            "{s}"
        );
    }

    /// `systemd` refuses SysV init's arguments; `service` drops them with
    /// ansible-core's warning (the service target's `pattern`).
    #[test]
    fn sysv_arguments_are_dropped_by_service_with_a_warning() {
        for k in ["pattern", "runlevel", "arguments", "args"] {
            let mut args = json!({"name": "caddy", "state": "started"});
            args[k] = json!("x");
            let mut f = Fixture::new("service", args);
            f.answer_read(
                units_read(&Scope::System, vec!["caddy.service".into()], false),
                &show("active", "enabled", "loaded", "no"),
            );
            let Ok(Decision::Ok { result, .. }) = plan(&f.cx()) else {
                panic!("{k} refused")
            };
            assert_eq!(
                result["warnings"],
                json!([format!("Ignoring \"{k}\" as it is not used in \"systemd\"")])
            );
        }
    }

    #[test]
    fn sysv_arguments_are_refused() {
        for (k, v) in [
            ("pattern", json!("caddy")),
            ("runlevel", json!("3")),
            ("arguments", json!("-x")),
            ("use", json!("sysvinit")),
        ] {
            let mut args = json!({"name": "caddy", "state": "started"});
            args[k] = v;
            let f = Fixture::new(if k == "use" { "service" } else { "systemd" }, args);
            let Err(PlanError::Fail(m)) = plan(&f.cx()) else {
                panic!("{k} accepted")
            };
            assert!(m.contains(k), "{m}");
        }
    }
}
