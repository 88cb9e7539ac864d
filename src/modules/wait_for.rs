//! `wait_for`: wait on the host until a TCP port opens or closes, or a file
//! appears (optionally containing `search_regex`) or goes away.
//!
//! One `sh` loop on the host, so the wait costs one remote command. A port is
//! tried with `nc -z` when the host's nc has it, else busybox's `nc`, else
//! `curl telnet://`, else bash's `/dev/tcp` — Debian's minimal images have at
//! least one. `search_regex` is an extended regular expression (`grep -E`),
//! for files only. Like Ansible's module, it never reports a change; rprov
//! runs nothing in check mode, so there it is reported as not run.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change};
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

fn num(cx: &PlanCx, key: &str, default: f64) -> Result<f64, PlanError> {
    let v = match cx.args.get(key) {
        None | Some(Json::Null) => return Ok(default),
        Some(Json::Number(n)) => n.as_f64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    v.filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| {
        PlanError::Fail(format!(
            "`{key}` must be a number of seconds, got {}",
            cx.args.get(key).cloned().unwrap_or(Json::Null)
        ))
    })
}

/// The port test, as a shell function `_rp_open HOST PORT SECONDS`.
const PORT_OPEN: &str = r#"_rp_open() {
  if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- ' -z'; then
    nc -z -w "$3" "$1" "$2" >/dev/null 2>&1; return
  fi
  if command -v busybox >/dev/null 2>&1 && busybox nc --help 2>&1 | grep -q -- '-w'; then
    timeout "$3" busybox nc -w 1 "$1" "$2" </dev/null >/dev/null 2>&1; return
  fi
  if command -v curl >/dev/null 2>&1; then
    _rp_c=$(curl -s -o /dev/null -w '%{time_connect}' --connect-timeout "$3" --max-time "$3" "telnet://$1:$2" </dev/null)
    [ -n "$_rp_c" ] && [ "$_rp_c" != 0.000000 ]; return
  fi
  timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}
"#;

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let host = cx
        .str_arg("host")?
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match cx.args.get("port") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|p| (1..=65535).contains(p))
                .ok_or_else(|| PlanError::Fail(format!("`port` must be 1-65535, got {v}")))?,
        ),
    };
    let path = cx.str_arg("path")?;
    let state = cx.str_arg("state")?.unwrap_or_else(|| "started".into());
    let timeout = num(cx, "timeout", 300.0)?.ceil() as u64;
    let delay = num(cx, "delay", 0.0)?;
    let sleep = num(cx, "sleep", 1.0)?;
    let connect_timeout = num(cx, "connect_timeout", 5.0)?.ceil().max(1.0) as u64;
    let regex = cx.str_arg("search_regex")?;
    let msg = cx.str_arg("msg")?;
    if port.is_some() && path.is_some() {
        return Err(PlanError::Fail(
            "`wait_for` takes `port` or `path`, not both".into(),
        ));
    }
    if regex.is_some() && path.is_none() {
        return Err(PlanError::Fail(
            "`search_regex` is supported with `path` only by rprov".into(),
        ));
    }
    let what;
    let cond = match (&port, &path, state.as_str()) {
        (Some(p), None, "started" | "present") => {
            what = format!("{host}:{p}");
            format!("_rp_open {} {p} {connect_timeout}", quote(&host))
        }
        (Some(p), None, "stopped" | "absent") => {
            what = format!("{host}:{p}");
            format!("! _rp_open {} {p} {connect_timeout}", quote(&host))
        }
        (None, Some(f), "started" | "present") => {
            what = f.clone();
            match &regex {
                Some(r) => format!("[ -f {q} ] && grep -Eq -- {} {q}", quote(r), q = quote(f)),
                None => format!("[ -e {} ]", quote(f)),
            }
        }
        (None, Some(f), "stopped" | "absent") => {
            what = f.clone();
            format!("[ ! -e {} ]", quote(f))
        }
        (None, None, _) => {
            what = format!("{timeout}s");
            "false".into()
        }
        (_, _, s) => {
            return Err(PlanError::Fail(format!(
                "`state` must be started, stopped, present or absent, got `{s}`"
            )))
        }
    };
    // Waiting on nothing is a plain sleep of `timeout` seconds, and succeeds.
    let sleep_only = port.is_none() && path.is_none();
    let timeout_msg = msg.unwrap_or_else(|| match (&path, state.as_str()) {
        (Some(_), "absent" | "stopped") => format!("Timeout when waiting for {what} to be absent."),
        (Some(_), _) if regex.is_some() => {
            format!(
                "Timeout when waiting for {} in {what}",
                regex.as_deref().unwrap_or("")
            )
        }
        (Some(_), _) => format!("Timeout when waiting for file {what}"),
        (None, "stopped" | "absent") => format!("Timeout when waiting for {what} to stop."),
        _ => format!("Timeout when waiting for {what}"),
    });
    let script = format!(
        "{PORT_OPEN}\
         sleep {delay}\n\
         _rp_t0=$(date +%s)\n\
         while :; do\n\
         \x20 if {cond}; then echo \"rp_elapsed=$(( $(date +%s) - _rp_t0 ))\"; exit 0; fi\n\
         \x20 if [ $(( $(date +%s) - _rp_t0 )) -ge {timeout} ]; then echo \"rp_elapsed=$(( $(date +%s) - _rp_t0 ))\"; echo rp_timeout={t}; echo {m}; exit 0; fi\n\
         \x20 sleep {sleep}\n\
         done\n",
        t = if sleep_only { "no" } else { "yes" },
        m = quote(&format!("rp_msg={}", timeout_msg.replace('\n', " "))),
    );
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("state".into(), json!(state));
    if let Some(p) = port {
        result.insert("port".into(), json!(p));
        result.insert("host".into(), json!(host));
    }
    if let Some(p) = &path {
        result.insert("path".into(), json!(p));
    }
    if let Some(r) = &regex {
        result.insert("search_regex".into(), json!(r));
    }
    Ok(Decision::Run {
        waits_for: if sleep_only {
            format!("a pause of {timeout}s: not waited in check mode")
        } else {
            format!("{what} on the host: not waited for in check mode")
        },
        action: Action {
            output: OutputMode::Parse(parse_output),
            ..change::checked(
                vec![Change::Raw {
                    script,
                    why: "the wait is a loop on the host, polling until the condition holds \
                          or the timeout passes: one remote command however long it takes",
                }],
                result,
            )?
        },
    })
}

fn parse_output(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("changed".into(), json!(false));
    let mut timed_out = false;
    let mut msg = String::new();
    for l in stdout.lines() {
        if let Some(v) = l.strip_prefix("rp_elapsed=") {
            m.insert(
                "elapsed".into(),
                json!(v.trim().parse::<u64>().unwrap_or(0)),
            );
        } else if l == "rp_timeout=yes" {
            timed_out = true;
        } else if let Some(v) = l.strip_prefix("rp_msg=") {
            msg = v.to_string();
        }
    }
    if status != 0 {
        m.insert("failed".into(), json!(true));
        m.insert(
            "msg".into(),
            json!(format!(
                "wait_for failed (exit {status}): {}",
                stderr.trim()
            )),
        );
    } else if timed_out {
        m.insert("failed".into(), json!(true));
        m.insert("msg".into(), json!(msg));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;

    fn run(args: Json) -> Map<String, Json> {
        let f = Fixture::new("wait_for", args);
        let Decision::Run { action, .. } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&action.script)
            .output()
            .unwrap();
        let mut m = action.result.clone();
        m.extend(parse_output(
            out.status.code().unwrap_or(-1),
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        ));
        m
    }

    #[test]
    fn file_present_and_absent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ready");
        std::fs::write(&p, "status: up\n").unwrap();
        let path = p.display().to_string();
        let m = run(json!({"path": path, "search_regex": "up$", "timeout": 2}));
        assert!(!m.contains_key("failed"), "{m:?}");
        // Found before the timeout (not a wall-time figure: a loaded
        // machine may take a second to start the script).
        assert!(m["elapsed"].as_u64().is_some_and(|s| s < 2), "{m:?}");
        let m = run(json!({"path": path, "state": "absent", "timeout": 1, "sleep": 0.2}));
        assert_eq!(m["failed"], json!(true));
        assert!(m["msg"].as_str().unwrap().contains("to be absent"), "{m:?}");
    }

    #[test]
    fn port_open_and_closed() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let m = run(json!({"port": port, "timeout": 3}));
        assert!(!m.contains_key("failed"), "{m:?}");
        drop(l);
        let m = run(json!({"port": port, "state": "stopped", "timeout": 3}));
        assert!(!m.contains_key("failed"), "{m:?}");
    }

    #[test]
    fn bad_arguments() {
        for a in [
            json!({"port": 0}),
            json!({"port": 80, "path": "/x"}),
            json!({"port": 80, "search_regex": "x"}),
            json!({"port": 80, "state": "drained"}),
            json!({"port": 80, "timeout": "soon"}),
        ] {
            let f = Fixture::new("wait_for", a.clone());
            assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))), "{a}");
        }
    }
}
