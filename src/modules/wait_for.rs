//! `wait_for`: wait on the host until a TCP port opens or closes, or a file
//! appears (optionally containing `search_regex`) or goes away.
//!
//! One `sh` loop on the host, so the wait costs one remote command. A port is
//! tried with `nc -z` when the host's nc has it, else busybox's `nc`, else
//! `curl telnet://`, else bash's `/dev/tcp` — Debian's minimal images have at
//! least one. `search_regex` is a Perl-compatible regular expression (`grep -P`, as close to Python's `re` as the host has),
//! for files only. Like Ansible's module, it never reports a change; rprov
//! runs nothing in check mode, so there it is reported as not run.

use base64::Engine as _;
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change};
use super::typed::{choice, module_args};
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

choice! {
    /// What `state` waits for. `drained` (connections gone) is Ansible's
    /// and refused: rprov does not count a port's connections.
    pub enum State {
        Started = "started",
        Present = "present",
        Stopped = "stopped",
        Absent = "absent",
        Drained = "drained",
    }
}

module_args! {
    /// `wait_for`'s arguments.
    pub struct Args {
        /// Signed, so that a negative port gets the range message.
        port: Option<i64> ["port"],
        host: String ["host"] = "127.0.0.1".to_string(),
        path: Option<String> ["path"],
        state: State ["state"] = State::Started,
        timeout: f64 ["timeout"] = 300.0,
        delay: f64 ["delay"] = 0.0,
        sleep: f64 ["sleep"] = 1.0,
        search_regex: Option<String> ["search_regex"],
        connect_timeout: f64 ["connect_timeout"] = 5.0,
        msg: Option<String> ["msg"],
        /// Peers whose connections `drained` does not wait for.
        exclude_hosts: Option<Vec<String>> ["exclude_hosts"],
    }
}

/// The TCP states `drained` waits out, as `/proc/net/tcp` numbers them:
/// ansible-core's default `active_connection_states` (ESTABLISHED,
/// SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT).
const ACTIVE_STATES: &str = "01 02 03 04 05 06";

/// An IPv4 literal as `/proc/net/tcp` writes it (little-endian hex), or
/// `None` for anything else.
fn proc_hex(ip: &str) -> Option<String> {
    let a: std::net::Ipv4Addr = ip.parse().ok()?;
    let o = a.octets();
    Some(format!("{:02X}{:02X}{:02X}{:02X}", o[3], o[2], o[1], o[0]))
}

/// A shell condition that holds when no connection to local port `port`
/// (on `host`'s address, or any when `host` is 0.0.0.0 or not an IPv4
/// literal) is in an active state, leaving out peers in `exclude`, as
/// ansible-core's reading of `/proc/net/tcp` and `tcp6` counts them.
fn drained_condition(port: i64, host: &str, exclude: &[String]) -> String {
    let local = match proc_hex(host) {
        Some(h) if h != "00000000" => h,
        _ => String::new(),
    };
    let excluded: Vec<String> = exclude.iter().filter_map(|h| proc_hex(h)).collect();
    format!(
        "[ \"$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v port={port:04X} -v local={local} \
         -v states={states} -v skip={skip} \
         'BEGIN {{ n = split(states, s, \" \"); for (i = 1; i <= n; i++) active[s[i]] = 1; \
         m = split(skip, x, \",\"); for (i = 1; i <= m; i++) excluded[x[i]] = 1 }} \
         $2 == \"local_address\" {{ next }} \
         {{ split($2, l, \":\"); split($3, r, \":\"); ip = substr(r[1], length(r[1]) - 7) }} \
         l[2] == port && ($4 in active) && !(ip in excluded) && \
         (local == \"\" || substr(l[1], length(l[1]) - 7) == local) {{ c++ }} \
         END {{ print c + 0 }}')\" = 0 ]",
        states = quote(ACTIVE_STATES),
        skip = quote(&excluded.join(",")),
    )
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
    let args = Args::from_cx(cx)?;
    let host = args.host;
    let port = match args.port {
        None => None,
        Some(p) if (1..=65535).contains(&p) => Some(p),
        Some(p) => return Err(PlanError::Fail(format!("`port` must be 1-65535, got {p}"))),
    };
    let path = args.path;
    let state = args.state;
    let timeout = secs("timeout", args.timeout)?.ceil() as u64;
    let delay = secs("delay", args.delay)?;
    let sleep = secs("sleep", args.sleep)?;
    let connect_timeout = secs("connect_timeout", args.connect_timeout)?
        .ceil()
        .max(1.0) as u64;
    let regex = args.search_regex;
    let msg = args.msg;
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
    let cond = match (&port, &path, state) {
        (Some(p), None, State::Started | State::Present) => {
            what = format!("{host}:{p}");
            format!("_rp_open {} {p} {connect_timeout}", quote(&host))
        }
        (Some(p), None, State::Stopped | State::Absent) => {
            what = format!("{host}:{p}");
            format!("! _rp_open {} {p} {connect_timeout}", quote(&host))
        }
        (None, Some(f), State::Started | State::Present) => {
            what = f.clone();
            match &regex {
                // Python's `re.search(…, re.MULTILINE)` over the whole
                // file: PCRE (`grep -P`, `(?P<name>…)` and `\w` included)
                // with the file as one record (`-z`) and `(?m)`.
                Some(r) => format!(
                    "[ -f {q} ] && grep -Pzq -- {re} {q}",
                    re = quote(&format!("(?m){r}")),
                    q = quote(f)
                ),
                None => format!("[ -e {} ]", quote(f)),
            }
        }
        (Some(p), None, State::Drained) => {
            what = format!("{host}:{p}");
            drained_condition(*p, &host, args.exclude_hosts.as_deref().unwrap_or_default())
        }
        (None, Some(_), State::Drained) => {
            return Err(PlanError::Fail(
                "state=drained should only be used for checking a port in the wait_for module"
                    .into(),
            ))
        }
        (None, Some(f), State::Stopped | State::Absent) => {
            what = f.clone();
            format!("[ ! -e {} ]", quote(f))
        }
        (None, None, _) => {
            what = format!("{timeout}s");
            "false".into()
        }
        (_, _, s) => {
            return Err(PlanError::Fail(format!(
                "`state` must be started, stopped, present or absent, got `{}`",
                s.as_str()
            )))
        }
    };
    // Waiting on nothing is a plain sleep of `timeout` seconds, and succeeds.
    let sleep_only = port.is_none() && path.is_none();
    let timeout_msg = msg.unwrap_or_else(|| match (&path, state) {
        (Some(_), State::Absent | State::Stopped) => {
            format!("Timeout when waiting for {what} to be absent.")
        }
        (Some(_), _) if regex.is_some() => {
            format!(
                "Timeout when waiting for {} in {what}",
                regex.as_deref().unwrap_or("")
            )
        }
        (Some(_), _) => format!("Timeout when waiting for file {what}"),
        (None, State::Stopped | State::Absent) => {
            format!("Timeout when waiting for {what} to stop.")
        }
        _ => format!("Timeout when waiting for {what}"),
    });
    // What the regex matched, for `match_groups`/`match_groupdict` (read
    // on the controller from the match, with the regex, in base64: safe on
    // a line whatever they hold).
    let report_match = match (&regex, &path) {
        (Some(r), Some(f)) => format!(
            "echo rp_re={}; printf rp_match=; grep -Pzo -m1 -- {} {} | head -c 65536 | base64 -w0; echo; ",
            base64::engine::general_purpose::STANDARD.encode(r),
            quote(&format!("(?m){r}")),
            quote(f)
        ),
        _ => String::new(),
    };
    // As ansible-core, the clock starts before `delay`: `elapsed` counts
    // it, and the deadline is `timeout` from the start (a plain pause
    // sleeps `delay`, then `timeout`). The clock is read in nanoseconds and
    // the last sleep is cut to the deadline, so that `elapsed` (whole
    // seconds, as ansible-core's) is `timeout` when it runs out, not one
    // more on a busy host.
    let deadline_ms = if sleep_only {
        timeout * 1000 + (delay * 1000.0).ceil() as u64
    } else {
        timeout * 1000
    };
    let sleep_ms = (sleep * 1000.0).ceil() as u64;
    let script = format!(
        "{PORT_OPEN}\
         _rp_t0=$(date +%s%N)\n\
         _rp_ms() {{ echo $(( ($(date +%s%N) - _rp_t0) / 1000000 )); }}\n\
         sleep {delay}\n\
         while :; do\n\
         \x20 if {cond}; then echo \"rp_elapsed=$(( $(_rp_ms) / 1000 ))\"; {report_match}exit 0; fi\n\
         \x20 _rp_now=$(_rp_ms)\n\
         \x20 if [ $_rp_now -ge {deadline_ms} ]; then echo \"rp_elapsed=$(( _rp_now / 1000 ))\"; echo rp_timeout={t}; echo {m}; exit 0; fi\n\
         \x20 _rp_left=$(( {deadline_ms} - _rp_now ))\n\
         \x20 if [ $_rp_left -lt {sleep_ms} ]; then sleep $(( _rp_left / 1000 )).$(printf %03d $(( _rp_left % 1000 ))); else sleep {sleep}; fi\n\
         done\n",
        t = if sleep_only { "no" } else { "yes" },
        m = quote(&format!("rp_msg={}", timeout_msg.replace('\n', " "))),
    );
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("state".into(), json!(state.as_str()));
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
    let mut regex = None;
    let mut matched = None;
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
        } else if let Some(v) = l.strip_prefix("rp_re=") {
            regex = decode(v);
        } else if let Some(v) = l.strip_prefix("rp_match=") {
            matched = decode(v);
        }
    }
    if let (Some(re), Some(text)) = (regex, matched) {
        let (groups, named) = match_groups(&re, text.trim_end_matches('\0'));
        m.insert("match_groups".into(), json!(groups));
        m.insert("match_groupdict".into(), Json::Object(named));
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

fn decode(b64: &str) -> Option<String> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Python's `match.groups()` and `match.groupdict()` of `regex` over the
/// text PCRE matched on the host. A regex Rust's engine cannot compile
/// (look-around, back-references) gives none: the wait itself was PCRE's.
fn match_groups(regex: &str, text: &str) -> (Vec<Json>, Map<String, Json>) {
    let mut groups = Vec::new();
    let mut named = Map::new();
    let Ok(re) = regex::Regex::new(&format!("(?m){regex}")) else {
        return (groups, named);
    };
    let Some(caps) = re.captures(text) else {
        return (groups, named);
    };
    for (i, name) in re.capture_names().enumerate().skip(1) {
        let value = caps.get(i).map_or(Json::Null, |g| json!(g.as_str()));
        if let Some(n) = name {
            named.insert(n.to_string(), value.clone());
        }
        groups.push(value);
    }
    (groups, named)
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

    /// A wait that runs out reports `timeout` as `elapsed`, as ansible-core
    /// (whose own target asserts it): the last sleep is cut to the deadline
    /// instead of overshooting it by up to `sleep`.
    #[test]
    fn a_timeout_reports_the_timeout_as_elapsed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never").display().to_string();
        let m = run(json!({"path": path, "timeout": 2, "sleep": 1.5}));
        assert_eq!(m["failed"], json!(true), "{m:?}");
        assert_eq!(m["elapsed"], json!(2), "{m:?}");
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

    /// `drained` waits while a connection to the port is established, and
    /// not for one from an excluded peer.
    #[test]
    fn port_drained() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let m = run(json!({"port": port, "state": "drained", "timeout": 2}));
        assert!(!m.contains_key("failed"), "{m:?}");
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, _) = l.accept().unwrap();
        let m = run(json!({"port": port, "state": "drained", "timeout": 1}));
        assert_eq!(m.get("failed"), Some(&json!(true)), "{m:?}");
        let m = run(
            json!({"port": port, "state": "drained", "timeout": 1, "exclude_hosts": ["127.0.0.1"]}),
        );
        assert!(!m.contains_key("failed"), "{m:?}");
        drop((client, server));
    }

    #[test]
    fn match_groups_as_python() {
        let (g, d) = match_groups(r"completed (?P<foo>\w+) ([0-9]+)", "completed data 123");
        assert_eq!(g, vec![json!("data"), json!("123")]);
        assert_eq!(d.get("foo"), Some(&json!("data")));
    }

    #[test]
    fn bad_arguments() {
        for a in [
            json!({"port": 0}),
            json!({"port": 80, "path": "/x"}),
            json!({"port": 80, "search_regex": "x"}),
            json!({"path": "/x", "state": "drained"}),
            json!({"port": 80, "timeout": "soon"}),
        ] {
            let f = Fixture::new("wait_for", a.clone());
            assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))), "{a}");
        }
    }
}
