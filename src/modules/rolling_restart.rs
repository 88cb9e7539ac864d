//! `rolling_restart` (rprov's own): restart units one at a time, each only
//! after the previous one answers its health URL, and stop at the first that
//! does not come back — so the ones not yet restarted keep serving.
//!
//! Units are `units: [a, b]` or `template: web@` with `instances: [8000, 8001]`
//! (`web@8000.service`, …), for the system or a user (`scope`, `user`, as
//! `systemd`). `health_url` may hold `{instance}` (and `{unit}`); it is polled
//! with `curl` every `interval` seconds until it answers `expect_status`
//! (default 200), for at most `timeout` seconds per unit.
//!
//! The whole loop is one remote `sh` script (one command, whatever the number
//! of units). A restart is always a change; in check mode the diff lists what
//! would be restarted, in order, and nothing runs. The units are probed first,
//! so a unit that does not exist fails the task before anything restarts.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read};
use super::typed::module_args;
use super::user_scope::{parse_info, parse_units, unit_name, Scope, ScopeArg};
use super::{Action, Decision, Diff, OutputMode, PlanCx, PlanError};

module_args! {
    /// `rolling_restart`'s arguments.
    pub struct Args {
        units: Vec<String> ["units"] = Vec::new(),
        /// A template unit (`web@`) whose `instances` are restarted.
        template: Option<String> ["template"],
        /// Names or numbers: a list, or one comma-separated string.
        instances: Option<Json> ["instances"],
        scope: Option<ScopeArg> ["scope"],
        user: Option<String> ["user"],
        /// May hold `{instance}` and `{unit}`.
        health_url: Option<String> ["health_url"],
        interval: f64 ["interval"] = 1.0,
        timeout: f64 ["timeout"] = 60.0,
        /// The HTTP status that means healthy (a number or its text).
        expect_status: Option<Json> ["expect_status"],
    }
}

impl Args {
    /// The manager these arguments drive.
    fn scope(&self) -> Result<Scope, PlanError> {
        Scope::from_args(self.scope, self.user.as_deref())
    }
}

/// One unit to restart and the URL telling it is back.
#[derive(Debug, PartialEq)]
struct Target {
    unit: String,
    url: Option<String>,
}

/// `instances`: a list of names or numbers, or one comma-separated string.
fn list_arg(key: &str, value: Option<&Json>) -> Result<Vec<String>, PlanError> {
    match value {
        None => Ok(Vec::new()),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| match v {
                Json::String(s) => Ok(s.clone()),
                Json::Number(n) => Ok(n.to_string()),
                other => Err(PlanError::Fail(format!(
                    "`{key}` must be a list of names, got {other}"
                ))),
            })
            .collect(),
        Some(Json::String(s)) => Ok(s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()),
        Some(Json::Number(n)) => Ok(vec![n.to_string()]),
        Some(other) => Err(PlanError::Fail(format!(
            "`{key}` must be a list, got {other}"
        ))),
    }
}

fn targets(args: &Args) -> Result<Vec<Target>, PlanError> {
    let units = &args.units;
    let insts = list_arg("instances", args.instances.as_ref())?;
    let url = &args.health_url;
    let pairs: Vec<(String, String)> = match (&args.template, units.is_empty()) {
        (Some(_), false) => {
            return Err(PlanError::Fail(
                "`rolling_restart` takes `units` or `template` with `instances`, not both".into(),
            ))
        }
        (Some(t), true) => {
            let base = t.trim_end_matches(".service");
            if !base.ends_with('@') || base.len() < 2 {
                return Err(PlanError::Fail(format!(
                    "`template: {t}` must be a template name such as web@"
                )));
            }
            if insts.is_empty() {
                return Err(PlanError::Fail("`template` needs `instances`".into()));
            }
            insts
                .iter()
                .map(|i| (format!("{base}{i}.service"), i.clone()))
                .collect()
        }
        (None, false) => {
            if !insts.is_empty() {
                return Err(PlanError::Fail(
                    "`instances` goes with `template`, not with `units`".into(),
                ));
            }
            units
                .iter()
                .map(|u| {
                    let full = unit_name(u);
                    // The instance of `web@8000.service` is 8000; a plain unit is its own.
                    let stem = full.rsplit_once('.').map(|(s, _)| s).unwrap_or(&full);
                    let inst = stem.split_once('@').map(|(_, i)| i).unwrap_or(stem);
                    (full.clone(), inst.to_string())
                })
                .collect()
        }
        (None, true) => {
            return Err(PlanError::Fail(
                "`rolling_restart` needs `units`, or `template` and `instances`".into(),
            ))
        }
    };
    let mut out = Vec::new();
    for (unit, inst) in pairs {
        if unit.starts_with('-') || unit.contains(['/', ' ', '\n']) {
            return Err(PlanError::Fail(format!("`{unit}` is not a unit name")));
        }
        let url = url
            .as_ref()
            .map(|u| u.replace("{instance}", &inst).replace("{unit}", &unit));
        out.push(Target { unit, url });
    }
    Ok(out)
}

/// `value` seconds of `key`, which must be finite and not negative.
fn secs(key: &str, value: f64) -> Result<f64, PlanError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(PlanError::Fail(format!(
            "`{key}` must be a number of seconds, got {value}"
        )))
    }
}

/// The loop that runs on the host, in the scope's manager (which runs: the
/// plan refuses a user's that does not, there being nothing to restart).
fn changes(
    scope: &Scope,
    targets: &[Target],
    expect: u16,
    timeout: u64,
    interval: f64,
) -> Vec<Change> {
    let mut s = format!(
        "\
_rp_done=''\n\
_rp_e=$(mktemp)\n\
trap 'rm -f \"$_rp_e\"' EXIT\n\
_rp_health() {{\n\
  _rp_t0=$(date +%s); _rp_code=''; _rp_err=''\n\
  while :; do\n\
    _rp_code=$(curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 -- \"$1\" 2>\"$_rp_e\") || true\n\
    _rp_err=$(head -c 300 \"$_rp_e\" | tr '\\n' ' ')\n\
    [ \"$_rp_code\" = {expect} ] && return 0\n\
    [ $(( $(date +%s) - _rp_t0 )) -ge {timeout} ] && return 1\n\
    sleep {interval}\n\
  done\n\
}}\n\
_rp_stop() {{\n\
  echo \"rolling restart stopped at $1: $2. Restarted before it:${{_rp_done:- none}}. Not restarted (still serving):${{3:- none}}\" >&2\n\
  exit 1\n\
}}\n\
_rp_one() {{\n\
  _rp_s=$(date +%s)\n\
  if ! _rp_out=$(_rp_sc restart -- \"$1\" 2>&1); then _rp_stop \"$1\" \"systemctl restart failed: $_rp_out\" \"$3\"; fi\n\
  if [ -n \"$2\" ] && ! _rp_health \"$2\"; then\n\
    _rp_st=$(_rp_sc show -p ActiveState,SubState --value -- \"$1\" 2>/dev/null | tr '\\n' ' ' | sed 's/ *$//')\n\
    _rp_stop \"$1\" \"$2 did not answer {expect} within {timeout}s (last status ${{_rp_code:-none}}${{_rp_err:+, $_rp_err}}; unit ${{_rp_st:-unknown}})\" \"$3\"\n\
  fi\n\
  echo \"rp_restarted=$1 $(( $(date +%s) - _rp_s ))\"\n\
  _rp_done=\"$_rp_done $1\"\n\
}}\n"
    );
    for (i, t) in targets.iter().enumerate() {
        let rest: Vec<&str> = targets[i + 1..].iter().map(|t| t.unit.as_str()).collect();
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(" {}", rest.join(" "))
        };
        s.push_str(&format!(
            "_rp_one {} {} {}\n",
            quote(&t.unit),
            quote(t.url.as_deref().unwrap_or("")),
            quote(&rest)
        ));
    }
    vec![
        Change::Manager {
            scope: scope.clone(),
            start: false,
        },
        Change::Raw {
            script: s,
            why: "the whole restart loop, health checks included, is one script on the host: \
                  one remote command whatever the number of units, and it stops at the first \
                  unit that does not come back",
        },
    ]
}

/// Reads `rp_restarted=UNIT SECONDS` lines into the result.
fn parse_output(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut restarted = Vec::new();
    let mut seconds = Map::new();
    for l in stdout.lines() {
        if let Some(rest) = l.strip_prefix("rp_restarted=") {
            let (u, s) = rest.rsplit_once(' ').unwrap_or((rest, ""));
            restarted.push(json!(u));
            seconds.insert(u.to_string(), json!(s.parse::<u64>().unwrap_or(0)));
        }
    }
    let mut m = Map::new();
    m.insert("changed".into(), json!(!restarted.is_empty()));
    m.insert("restarted".into(), Json::Array(restarted));
    m.insert("seconds".into(), Json::Object(seconds));
    if status != 0 {
        m.insert("failed".into(), json!(true));
        let msg = stderr.trim();
        m.insert(
            "msg".into(),
            json!(if msg.is_empty() {
                format!("rolling restart failed with exit status {status}")
            } else {
                msg.to_string()
            }),
        );
    }
    m
}

/// What is read before a rolling restart: the scope's user and each unit's
/// load and active state.
fn units_read(scope: &Scope, units: Vec<String>) -> Read {
    Read::Units {
        scope: scope.clone(),
        units,
        props: "Id,LoadState,ActiveState",
        is_enabled: false,
        quadlet_newer: false,
        any_needs_reload: false,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let scope = args.scope()?;
    let targets = targets(&args)?;
    let timeout = secs("timeout", args.timeout)?.ceil() as u64;
    let interval = secs("interval", args.interval)?;
    let expect = match &args.expect_status {
        None => 200,
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|c| (100..600).contains(c))
            .map(|c| c as u16)
            .ok_or_else(|| {
                PlanError::Fail(format!("`expect_status` must be an HTTP status, got {v}"))
            })?,
    };
    let units: Vec<String> = targets.iter().map(|t| t.unit.clone()).collect();
    let text = cx.ask_one(units_read(&scope, units.clone()))?;
    let info = parse_info(&scope, &text)?;
    let states = parse_units(&text);
    let where_ = scope.label(Some(&info));
    if scope.is_user() && !info.bus {
        return Err(PlanError::Fail(format!(
            "the systemd --user manager of {} is not running: nothing to restart (start the units first)",
            info.user
        )));
    }
    for u in &units {
        if states
            .get(u)
            .and_then(|p| p.get("LoadState"))
            .is_some_and(|l| l == "not-found")
        {
            return Err(PlanError::Missing(format!(
                "cannot restart {u} ({where_}): no such unit"
            )));
        }
    }
    let mut attrs: Vec<String> = vec![format!("would restart {}", units.join(", "))];
    attrs.extend(targets.iter().enumerate().map(|(i, t)| {
        let active = states
            .get(&t.unit)
            .and_then(|p| p.get("ActiveState"))
            .map(String::as_str)
            .unwrap_or("unknown");
        match &t.url {
            Some(url) => format!(
                "{}. restart {} ({active}), then wait for {url} to answer {expect}",
                i + 1,
                t.unit
            ),
            None => format!("{}. restart {} ({active})", i + 1, t.unit),
        }
    }));
    let mut result = Map::new();
    result.insert("changed".into(), json!(true));
    result.insert("units".into(), json!(units));
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: format!("rolling restart ({where_})"),
            attrs,
            ..Diff::default()
        }],
        action: Action {
            output: OutputMode::Parse(parse_output),
            ..change::checked(changes(&scope, &targets, expect, timeout, interval), result)?
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;

    fn probe_for(f: &Fixture, units: &[&str]) -> String {
        let scope = Args::from_cx(&f.cx()).unwrap().scope().unwrap();
        let units: Vec<String> = units.iter().map(|u| u.to_string()).collect();
        crate::modules::change::read::render(&[units_read(&scope, units)])
    }

    const INFO: &str =
        "rp_user=web\nrp_uid=1001\nrp_home=/home/web\nrp_group=web\nrp_linger=yes\nrp_bus=yes\n";

    #[test]
    fn template_instances_in_order_with_urls() {
        let mut f = Fixture::new(
            "rolling_restart",
            json!({"template": "web@", "instances": [8000, 8001], "user": "web",
                   "health_url": "http://127.0.0.1:{instance}/ready", "timeout": 30}),
        );
        let p = probe_for(&f, &["web@8000.service", "web@8001.service"]);
        f.answer(
            &p,
            &format!("{INFO}@rp-unit web@8000.service\nLoadState=loaded\nActiveState=active\n@rp-unit web@8001.service\nLoadState=loaded\nActiveState=active\n"),
        );
        let Decision::Change { diffs, action } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert_eq!(diffs[0].path, "rolling restart (user web)");
        assert_eq!(
            diffs[0].attrs[0],
            "would restart web@8000.service, web@8001.service"
        );
        assert_eq!(
            diffs[0].attrs[2],
            "2. restart web@8001.service (active), then wait for http://127.0.0.1:8001/ready to answer 200"
        );
        let s = &action.script;
        let a = s
            .find("_rp_one web@8000.service http://127.0.0.1:8000/ready ' web@8001.service'")
            .unwrap();
        let b = s
            .find("_rp_one web@8001.service http://127.0.0.1:8001/ready ''")
            .unwrap();
        assert!(a < b);
        assert!(s.contains("-ge 30 ]"));
    }

    #[test]
    fn missing_unit_fails_before_restarting() {
        let mut f = Fixture::new("rolling_restart", json!({"units": ["a", "b"]}));
        let p = probe_for(&f, &["a.service", "b.service"]);
        f.answer(
            &p,
            "rp_user=root\nrp_uid=0\nrp_bus=yes\n@rp-unit a.service\nLoadState=loaded\n@rp-unit b.service\nLoadState=not-found\n",
        );
        assert!(
            matches!(plan(&f.cx()), Err(PlanError::Missing(m)) if m.contains("cannot restart b.service"))
        );
    }

    #[test]
    fn argument_errors() {
        for args in [
            json!({}),
            json!({"template": "web", "instances": [1]}),
            json!({"template": "web@"}),
            json!({"units": ["a"], "template": "web@", "instances": [1]}),
            json!({"units": ["a"], "expect_status": "ok"}),
        ] {
            let f = Fixture::new("rolling_restart", args.clone());
            assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))), "{args}");
        }
    }

    #[test]
    fn output_parsing() {
        let m = parse_output(
            0,
            "rp_restarted=a.service 2\nrp_restarted=b.service 3\n",
            "",
        );
        assert_eq!(m["restarted"], json!(["a.service", "b.service"]));
        assert_eq!(m["seconds"]["b.service"], json!(3));
        assert!(!m.contains_key("failed"));
        let m = parse_output(
            1,
            "rp_restarted=a.service 2\n",
            "rolling restart stopped at b.service: x\n",
        );
        assert_eq!(m["failed"], json!(true));
        assert_eq!(m["msg"], json!("rolling restart stopped at b.service: x"));
    }

    /// The loop itself, run locally with a fake systemctl and curl: it stops at
    /// the first unit whose URL does not answer and leaves the rest alone.
    #[test]
    fn loop_stops_at_first_unhealthy_unit() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let log = dir.path().join("log");
        let write = |name: &str, body: &str| {
            let p = bin.join(name);
            std::fs::write(&p, body).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        write(
            "systemctl",
            &format!(
                "#!/bin/sh\necho \"$@\" >> {}\n[ \"$1\" = show ] && echo active\nexit 0\n",
                log.display()
            ),
        );
        // 8001 never answers 200.
        write(
            "curl",
            "#!/bin/sh\nfor a; do u=$a; done\ncase $u in *8001*) echo 'curl: (7) Failed to connect' >&2; printf 000; exit 7;; esac\nprintf 200\n",
        );
        let targets = ["8000", "8001", "8002"]
            .iter()
            .map(|i| Target {
                unit: format!("web@{i}.service"),
                url: Some(format!("http://127.0.0.1:{i}/ready")),
            })
            .collect::<Vec<_>>();
        let s = change::render(&changes(&Scope::System, &targets, 200, 1, 0.1))
            .unwrap()
            .script;
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        let m = parse_output(
            out.status.code().unwrap_or(-1),
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(m["restarted"], json!(["web@8000.service"]));
        let msg = m["msg"].as_str().unwrap();
        assert!(msg.starts_with("rolling restart stopped at web@8001.service: http://127.0.0.1:8001/ready did not answer 200 within 1s (last status 000, curl: (7) Failed to connect"), "{msg}");
        assert!(
            msg.contains("Not restarted (still serving): web@8002.service"),
            "{msg}"
        );
        let calls = std::fs::read_to_string(&log).unwrap();
        assert!(calls.contains("restart -- web@8001.service"));
        assert!(!calls.contains("web@8002"));
    }
}
