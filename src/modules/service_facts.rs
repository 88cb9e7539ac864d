//! `service_facts`: the host's services as `ansible_facts.services`, read
//! without Python.
//!
//! What it reads and how it names things follow ansible-core's
//! `service_facts` module (2.19), whose rules are these:
//!
//! - **SysV** (`service --status-all`, Debian and Ubuntu's `service`), read
//!   when `service` is there and neither `chkconfig` nor `rc-status` is: a
//!   line `[ + ]  NAME` is `{name, state: running, source: sysv}`, `[ - ]` is
//!   `stopped`; `[ ? ]` lines are not services. A non-zero exit is a warning
//!   (the output is still read), except exit 4 without `/etc/init.d`, which
//!   is silence.
//! - **systemd**, read when `systemctl` is there and systemd is the init
//!   system (`/run/systemd/system/`, `/dev/.run/systemd/` or `/dev/.systemd/`
//!   exists, or `/proc/1/comm` is `systemd`): every line of `systemctl
//!   list-units --no-pager --type service --all --plain` that mentions
//!   `.service` gives `{name: FIELD1, state, status, source: systemd}`, where
//!   `state` is `running` when the SUB column is `running` and `stopped`
//!   otherwise, and `status` is `not-found`, `masked` or `failed` when one of
//!   those words is among the line's fields (its last word excepted), else
//!   the ACTIVE column. Then every line of `systemctl list-unit-files
//!   --no-pager --type service --all` that mentions `.service`: a unit
//!   already listed gets the file's state (`enabled`, `disabled`, `static`,
//!   `alias`, …) as its `status` unless that status is one of the three bad
//!   ones; a unit only in the file list (a template such as `getty@.service`,
//!   a disabled unit systemd has not loaded) is added with that `status` and
//!   the `state` `systemctl show UNIT --property=ActiveState` gives
//!   (`inactive`, …), or `unknown` when that fails. A listing that fails is
//!   a warning.
//! - SysV entries come first and systemd's override a SysV entry of the same
//!   name (they rarely share one: `ssh` and `ssh.service`).
//! - No services at all: the task is skipped with Ansible's message.
//!
//! Where Ansible leaves room: when a line holds more than one of the bad
//! words (a failed unit whose file was then removed: `not-found failed`),
//! Ansible takes whichever its Python set yields first, which varies from
//! run to run; rprov takes the first in the line (the LOAD column), so the
//! answer is stable and says why the unit cannot run.
//!
//! Not read (ansible-core reads them on such hosts; rprov says so in a
//! warning when their tools are present): upstart (`initctl`), RHEL 6-style
//! `chkconfig`, OpenRC, AIX SRC, OpenBSD `rcctl`, FreeBSD `service`.
//!
//! Cost: **one remote command**, as a read-only probe (it runs in `--check`
//! too, and the look-ahead batches it with the probes of the tasks around
//! it). Where Ansible starts one `systemctl show` process per unit file that
//! is not loaded, each from Python, rprov's script runs the same
//! `systemctl show` calls in one shell on the host. It never reports a change.

use serde_json::{json, Map, Value as Json};

use super::change::Read;
use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};

module_args! {
    /// `service_facts` takes no arguments: the struct is there so that one
    /// given anyway is refused, as for every module.
    pub struct Args {}
}

/// The shell functions of the probe, on their own so a test can run them
/// with stand-ins for `service` and `systemctl` on PATH.
///
/// `_sf_sysv` prints `= sysv RC INITD` (INITD 1 when `/etc/init.d` exists)
/// and `V line` for each line of `service --status-all`. `_sf_systemd`
/// prints `= units RC` then `U line` for each line of `list-units`,
/// `= files RC` then `F line` for `list-unit-files`, and for each unit only
/// in the second list `= show RC UNIT` then `S line` for its `ActiveState`.
/// `E line` is the stderr of the listing before it, when that failed. Every
/// line of command output carries a tag, so no output (a unit's
/// description) can pass for a header.
const FUNCTIONS: &str = r#"_sf_nl='
'
_sf_tag() { [ -n "$2" ] || return 0; printf '%s\n' "$2" | while IFS= read -r _sf_l; do printf '%s %s\n' "$1" "$_sf_l"; done; }
_sf_sysv() {
  _sf_o=$(service --status-all 2>/dev/null); _sf_rc=$?
  if [ -e /etc/init.d ]; then _sf_i=1; else _sf_i=0; fi
  printf '= sysv %s %s\n' "$_sf_rc" "$_sf_i"
  _sf_tag V "$_sf_o"
  [ "$_sf_rc" -eq 0 ] || _sf_tag E "$(service --status-all 2>&1 >/dev/null)"
}
_sf_systemd() {
  set -f
  _sf_u=$(systemctl list-units --no-pager --type service --all --plain 2>/dev/null); _sf_rc=$?
  printf '= units %s\n' "$_sf_rc"
  if [ "$_sf_rc" -eq 0 ]; then
    _sf_tag U "$_sf_u"
  else
    _sf_u=
    _sf_tag E "$(systemctl list-units --no-pager --type service --all --plain 2>&1 >/dev/null)"
  fi
  _sf_known=$_sf_nl
  while IFS= read -r _sf_l; do
    case $_sf_l in *.service*) set -- $_sf_l; _sf_known="$_sf_known$1$_sf_nl" ;; esac
  done <<_SF_EOF
$_sf_u
_SF_EOF
  _sf_f=$(systemctl list-unit-files --no-pager --type service --all 2>/dev/null); _sf_rc=$?
  printf '= files %s\n' "$_sf_rc"
  if [ "$_sf_rc" -ne 0 ]; then
    _sf_tag E "$(systemctl list-unit-files --no-pager --type service --all 2>&1 >/dev/null)"
    set +f
    return 0
  fi
  _sf_tag F "$_sf_f"
  while IFS= read -r _sf_l; do
    case $_sf_l in *.service*) ;; *) continue ;; esac
    set -- $_sf_l
    [ $# -ge 2 ] || continue
    case $_sf_known in *"$_sf_nl$1$_sf_nl"*) continue ;; esac
    _sf_known="$_sf_known$1$_sf_nl"
    _sf_s=$(systemctl show --property=ActiveState -- "$1" 2>/dev/null)
    printf '= show %s %s\n' "$?" "$1"
    _sf_tag S "$_sf_s"
  done <<_SF_EOF
$_sf_f
_SF_EOF
  set +f
}
"#;

/// Which listings run, as Ansible decides: the tools present, SysV's
/// listing when `service` is there without `chkconfig` or `rc-status`,
/// systemd's when systemd runs the host. `PATH` gets the sbin directories
/// Ansible's `get_bin_path` adds (a login user's PATH often lacks them).
const MAIN: &str = r#"LC_ALL=C LANG=C; export LC_ALL LANG
PATH="$PATH:/sbin:/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin"; export PATH
_sf_has() { command -v "$1" >/dev/null 2>&1; }
for _sf_t in chkconfig initctl rc-status; do _sf_has "$_sf_t" && printf '= tool %s\n' "$_sf_t"; done
if _sf_has service && ! _sf_has chkconfig && ! _sf_has rc-status; then _sf_sysv; fi
if _sf_has systemctl && { [ -d /run/systemd/system/ ] || [ -d /dev/.run/systemd/ ] || [ -d /dev/.systemd/ ] || [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }; then
  printf '= systemd\n'
  _sf_systemd
fi
"#;

/// The whole probe: one read-only script.
fn script() -> String {
    format!("{FUNCTIONS}{MAIN}")
}

/// The states of systemd units that say it cannot run (Ansible's
/// `BAD_STATES`).
const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

/// What Ansible answers when it finds no service.
const NONE_FOUND: &str =
    "Failed to find any services. This can be due to privileges or some other configuration issue.";

/// One command's part of the probe's output.
#[derive(Debug, Default)]
struct Listing {
    rc: i32,
    out: Vec<String>,
    err: Vec<String>,
}

/// The probe's output, split by its headers.
#[derive(Debug, Default)]
struct Scan {
    tools: Vec<String>,
    /// `service --status-all`, and whether `/etc/init.d` exists.
    sysv: Option<(Listing, bool)>,
    units: Option<Listing>,
    files: Option<Listing>,
    /// `systemctl show UNIT --property=ActiveState`, per unit.
    shows: Vec<(String, Listing)>,
}

fn read_scan(text: &str) -> Scan {
    let mut scan = Scan::default();
    // Which listing the tagged lines that follow belong to.
    enum At {
        None,
        Sysv,
        Units,
        Files,
        Show,
    }
    let mut at = At::None;
    for line in text.lines() {
        let (tag, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        if tag == "=" {
            // `= KIND [RC [UNIT]]`
            let parts: Vec<&str> = rest.splitn(3, ' ').collect();
            let listing = Listing {
                rc: parts.get(1).and_then(|r| r.parse().ok()).unwrap_or(-1),
                ..Listing::default()
            };
            let third = parts.get(2).copied().unwrap_or("");
            match parts.first().copied().unwrap_or("") {
                "tool" => scan
                    .tools
                    .push(parts.get(1).copied().unwrap_or("").to_string()),
                "sysv" => {
                    scan.sysv = Some((listing, third == "1"));
                    at = At::Sysv;
                }
                "units" => {
                    scan.units = Some(listing);
                    at = At::Units;
                }
                "files" => {
                    scan.files = Some(listing);
                    at = At::Files;
                }
                "show" => {
                    scan.shows.push((third.to_string(), listing));
                    at = At::Show;
                }
                _ => at = At::None,
            }
            continue;
        }
        let target = match at {
            At::Sysv => scan.sysv.as_mut().map(|(l, _)| l),
            At::Units => scan.units.as_mut(),
            At::Files => scan.files.as_mut(),
            At::Show => scan.shows.last_mut().map(|(_, l)| l),
            At::None => None,
        };
        let Some(l) = target else { continue };
        match tag {
            "V" | "U" | "F" | "S" => l.out.push(rest.to_string()),
            "E" => l.err.push(rest.to_string()),
            _ => {}
        }
    }
    scan
}

/// The services found, in Ansible's shape, and the warnings to give.
/// `Err` for output Ansible's module would have failed on.
fn services(scan: &Scan) -> Result<(Map<String, Json>, Vec<String>), String> {
    let mut services = Map::new();
    let mut warnings = Vec::new();
    for tool in &scan.tools {
        let what = match tool.as_str() {
            "chkconfig" => "chkconfig (SysV on RHEL-like systems)",
            "initctl" => "upstart",
            "rc-status" => "OpenRC",
            _ => continue,
        };
        warnings.push(format!(
            "`{tool}` is on this host: rprov's service_facts reads systemd and `service --status-all` only, not {what} services as Ansible's does"
        ));
    }
    if let Some((l, initd)) = &scan.sysv {
        // Exit 4 without /etc/init.d is no SysV at all (RHEL 9 without
        // chkconfig), and no warning.
        if l.rc != 4 || *initd {
            if l.rc != 0 {
                warnings.push(format!(
                    "Unable to query 'service' tool ({}): {}",
                    l.rc,
                    l.err.join("\n")
                ));
            }
            for line in &l.out {
                if let Some((name, state)) = sysv_line(line) {
                    services.insert(
                        name.to_string(),
                        json!({"name": name, "state": state, "source": "sysv"}),
                    );
                }
            }
        }
    }
    let units = scan.units.as_ref();
    for line in service_lines(units, "Could not list units from systemd", &mut warnings) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, _, active, sub, ..] = fields[..] else {
            return Err(format!(
                "Malformed output discovered from systemd list-units: {line}"
            ));
        };
        let head = &fields[..fields.len() - 1];
        let status = head
            .iter()
            .find(|f| BAD_STATES.contains(f))
            .copied()
            .unwrap_or(active);
        let state = if sub == "running" {
            "running"
        } else {
            "stopped"
        };
        services.insert(
            name.to_string(),
            json!({"name": name, "state": state, "status": status, "source": "systemd"}),
        );
    }
    let files = scan.files.as_ref();
    for line in service_lines(
        files,
        "Could not get unit files data from systemd",
        &mut warnings,
    ) {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(status)) = (fields.next(), fields.next()) else {
            return Err(format!(
                "Malformed output discovered from systemd list-unit-files: {line}"
            ));
        };
        match services.get_mut(name) {
            None => {
                let state = scan
                    .shows
                    .iter()
                    .find(|(u, _)| u == name)
                    .and_then(|(_, s)| active_state(s))
                    .unwrap_or_else(|| "unknown".to_string());
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                );
            }
            Some(Json::Object(entry)) => {
                let bad = entry
                    .get("status")
                    .and_then(Json::as_str)
                    .is_some_and(|s| BAD_STATES.contains(&s));
                if !bad {
                    entry.insert("status".into(), json!(status));
                }
            }
            Some(_) => {}
        }
    }
    Ok((services, warnings))
}

/// The lines of a systemd listing (if it ran) that mention `.service`, as
/// Ansible reads them; none, and Ansible's warning `{what}: {stderr}`, when
/// the listing failed.
fn service_lines<'a>(
    listing: Option<&'a Listing>,
    what: &str,
    warnings: &mut Vec<String>,
) -> Vec<&'a str> {
    match listing {
        Some(l) if l.rc != 0 => {
            warnings.push(format!("{what}: {}", l.err.join("\n")));
            Vec::new()
        }
        Some(l) => l
            .out
            .iter()
            .map(String::as_str)
            .filter(|l| l.contains(".service"))
            .collect(),
        None => Vec::new(),
    }
}

/// A line of `service --status-all`: `[ + ]  NAME` or `[ - ]  NAME`
/// (leading blanks allowed, at least one blank before the name).
fn sysv_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let (state, rest) = if let Some(r) = line.strip_prefix("[ + ]") {
        ("running", r)
    } else if let Some(r) = line.strip_prefix("[ - ]") {
        ("stopped", r)
    } else {
        return None;
    };
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let name = rest.trim_start();
    (!name.is_empty()).then_some((name, state))
}

/// `ActiveState=inactive` → `inactive`, as Ansible reads `systemctl show`:
/// only from a call that succeeded and printed something.
fn active_state(show: &Listing) -> Option<String> {
    let out = show.out.join("\n");
    (show.rc == 0 && !out.is_empty())
        .then(|| out.replace("ActiveState=", "").trim_end().to_string())
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    Args::from_cx(cx)?;
    let text = cx.ask_one(Read::Raw {
        script: script(),
        why: "systemctl's and service's listings, framed for the parser that reads \
              them as ansible-core does",
    })?;
    let (services, warnings) = services(&read_scan(&text)).map_err(PlanError::Fail)?;
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    if services.is_empty() {
        result.insert("skipped".into(), json!(true));
        result.insert("msg".into(), json!(NONE_FOUND));
    } else {
        result.insert(
            "ansible_facts".into(),
            json!({ "services": Json::Object(services) }),
        );
    }
    if !warnings.is_empty() {
        result.insert("warnings".into(), json!(warnings));
    }
    let msg = services_msg(&result);
    Ok(Decision::Ok { result, msg })
}

/// The task line's note: how many services, or why none.
fn services_msg(result: &Map<String, Json>) -> Option<String> {
    match result.get("ansible_facts") {
        Some(f) => f["services"]
            .as_object()
            .map(|s| format!("{} services", s.len())),
        None => Some(NONE_FOUND.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing;
    use crate::probe::{Fact, Probe};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/service_facts");

    /// A stand-in for `service` and `systemctl` that print the fixtures
    /// (`list-unit-files.txt` is the real output of this machine's
    /// systemctl; see oracle.py for the rest) and log each `systemctl show`.
    const STAND_IN: &str = r#"#!/bin/sh
case "$(basename "$0") $1" in
"service --status-all") cat "$FIX/status-all.txt"; echo ' [ ? ]  hwclock.sh' >&2 ;;
"systemctl list-units") cat "$FIX/list-units.txt" ;;
"systemctl list-unit-files") cat "$FIX/list-unit-files.txt" ;;
"systemctl show")
    [ "$2" = --property=ActiveState ] && [ "$3" = -- ] || exit 9
    printf '%s\n' "$4" >> "$LOG"
    case $4 in
    *@.service) echo "Failed to get properties: Unit name $4 is not valid." >&2; exit 1 ;;
    sshd.service) echo ActiveState=active ;;
    *) echo ActiveState=inactive ;;
    esac ;;
*) exit 9 ;;
esac
"#;

    /// Runs the probe's functions with the stand-ins first on PATH: the
    /// output, and the units `systemctl show` was asked about.
    fn run_functions(calls: &str) -> (String, Vec<String>) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        for tool in ["service", "systemctl"] {
            let p = dir.path().join(tool);
            std::fs::write(&p, STAND_IN).expect("write stand-in");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let log = dir.path().join("shown");
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{FUNCTIONS}{calls}"))
            .env("PATH", path)
            .env("FIX", FIXTURES)
            .env("LOG", &log)
            .env("LC_ALL", "C")
            .output()
            .expect("sh");
        assert!(out.status.success(), "{out:?}");
        let shown = std::fs::read_to_string(&log).unwrap_or_default();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            shown.lines().map(str::to_string).collect(),
        )
    }

    fn expected() -> Json {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/expected.json")).expect("expected.json");
        serde_json::from_str(&text).expect("expected.json is JSON")
    }

    /// The script's reading of the fixtures equals what ansible-core's own
    /// `ServiceScanService`/`SystemctlScanService` made of them
    /// (expected.json, computed by oracle.py): every unit, state, status and
    /// source, in Ansible's order.
    #[test]
    fn matches_ansibles_own_parsing() {
        let (out, shown) = run_functions("_sf_sysv\n_sf_systemd\n");
        let (services, warnings) = services(&read_scan(&out)).expect("parses");
        let want = expected();
        assert_eq!(Json::Object(services.clone()), want["services"]);
        let keys = |m: &Map<String, Json>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&services),
            want["services"].as_object().map(keys).unwrap_or_default(),
            "order"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        // `show` ran for the unit files systemd had not loaded, and only
        // for those: templates, aliases, disabled units.
        assert!(shown.contains(&"getty@.service".to_string()), "{shown:?}");
        assert!(shown.contains(&"sshd.service".to_string()), "{shown:?}");
        assert!(!shown.contains(&"ssh.service".to_string()), "{shown:?}");
        let loaded =
            std::fs::read_to_string(format!("{FIXTURES}/list-units.txt")).unwrap_or_default();
        let files =
            std::fs::read_to_string(format!("{FIXTURES}/list-unit-files.txt")).unwrap_or_default();
        let first = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
        let want_shown: Vec<String> = files
            .lines()
            .filter(|l| l.contains(".service"))
            .map(first)
            .filter(|u| {
                !loaded
                    .lines()
                    .any(|l| l.contains(".service") && first(l) == *u)
            })
            .collect();
        assert_eq!(shown, want_shown);
    }

    #[test]
    fn a_unit_name_with_a_backslash_survives_the_shell() {
        let (out, _) = run_functions("_sf_systemd\n");
        let (services, _) = services(&read_scan(&out)).expect("parses");
        let name = r"systemd-fsck@dev-disk-by\x2duuid-2b6c.service";
        assert_eq!(services[name]["name"], name);
        assert_eq!(services[name]["status"], "active");
    }

    #[test]
    fn failed_listings_are_warnings_as_in_ansible() {
        let out = "= sysv 1 1\nV  [ + ]  cron\nE oops\n= systemd\n= units 1\nE Failed to connect to bus: Host is down\n= files 1\nE no bus either\n";
        let (services, warnings) = services(&read_scan(out)).expect("parses");
        assert_eq!(services.keys().collect::<Vec<_>>(), ["cron"]);
        assert_eq!(
            warnings,
            [
                "Unable to query 'service' tool (1): oops",
                "Could not list units from systemd: Failed to connect to bus: Host is down",
                "Could not get unit files data from systemd: no bus either",
            ]
        );
        // Exit 4 without /etc/init.d: nothing, and no warning.
        let (none, quiet) = super::services(&read_scan("= sysv 4 0\nE x\n")).expect("parses");
        assert!(none.is_empty() && quiet.is_empty());
    }

    #[test]
    fn tools_rprov_does_not_read_are_named() {
        let out = "= tool chkconfig\n= systemd\n= units 0\nU a.service loaded active running A\n= files 0\n";
        let (services, warnings) = services(&read_scan(out)).expect("parses");
        assert_eq!(services["a.service"]["state"], "running");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("chkconfig"), "{warnings:?}");
    }

    #[test]
    fn a_header_in_a_description_is_only_text() {
        // A description cannot start a section: every output line is tagged.
        let out = "= systemd\n= units 0\nU a.service loaded active running = show 0 b.service\n= files 0\n";
        let (services, _) = services(&read_scan(out)).expect("parses");
        assert_eq!(services.keys().collect::<Vec<_>>(), ["a.service"]);
    }

    #[test]
    fn malformed_lines_fail_the_task() {
        let short = "= systemd\n= units 0\nU a.service loaded\n";
        let err = services(&read_scan(short)).unwrap_err();
        assert!(err.contains("list-units: a.service loaded"), "{err}");
        let short = "= systemd\n= units 0\n= files 0\nF b.service\n";
        let err = services(&read_scan(short)).unwrap_err();
        assert_eq!(
            err,
            "Malformed output discovered from systemd list-unit-files: b.service"
        );
    }

    fn plan_with(out: &str) -> Result<Decision, PlanError> {
        let out = out.to_string();
        testing::run("service_facts", json!({}), move |p| match p {
            Probe::Shell { script: s } if *s == script() => Some(Fact::Text(out.clone())),
            _ => None,
        })
    }

    #[test]
    fn registers_ansibles_shape_and_never_changes() {
        let out = "= systemd\n= units 0\nU ssh.service loaded active running OpenBSD Secure Shell server\n= files 0\nF ssh.service enabled enabled\n";
        let Ok(Decision::Ok { result, .. }) = plan_with(out) else {
            panic!("not ok: {:?}", plan_with(out));
        };
        assert_eq!(
            Json::Object(result),
            json!({
                "changed": false,
                "ansible_facts": {"services": {"ssh.service": {
                    "name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"
                }}}
            })
        );
    }

    #[test]
    fn no_services_is_skipped_with_ansibles_message() {
        let Ok(Decision::Ok { result, .. }) = plan_with("") else {
            panic!("not ok");
        };
        assert_eq!(result["skipped"], true);
        assert_eq!(result["msg"], NONE_FOUND);
        assert!(!result.contains_key("ansible_facts"));
    }

    /// The probe on this machine (no systemd as PID 1 here, `service` in
    /// /usr/sbin): it reads what `service --status-all` lists, and nothing
    /// of systemd.
    #[test]
    fn the_whole_script_runs_under_a_plain_sh() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("sh");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let scan = read_scan(&text);
        let booted = std::path::Path::new("/run/systemd/system").is_dir();
        assert_eq!(scan.units.is_some(), booted, "{text}");
        let has_service = std::path::Path::new("/usr/sbin/service").exists();
        assert_eq!(scan.sysv.is_some(), has_service, "{text}");
    }
}
