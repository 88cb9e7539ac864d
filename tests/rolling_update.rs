//! Issue 16: the README's rolling update (examples/rolling-web/site.yml) on
//! three hosts in network namespaces — two web servers behind a load balancer
//! host. `serial: 1` and `delegate_to` the balancer drain, update and re-add
//! one web host at a time; a client sends requests to the balancer through
//! the whole run, and none of them fails.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{rprov, target_dir, USER};
use rprov_testbed::Fleet;

const WEB_PORT: u16 = 8000;
const LB_PORT: u16 = 8080;

/// Kills what the test started (and the web servers the play restarted),
/// however the test ends.
struct Processes {
    children: Vec<Child>,
    pattern: String,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("pkill").args(["-f", &self.pattern]).status();
    }
}

fn in_netns(ns: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ip netns exec")
}

/// One GET of `/` from `addr`: the status code and the body.
fn get(addr: SocketAddr) -> Result<(u16, String), String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: lb\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line: {text:?}"))?;
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    Ok((status, body))
}

fn wait_ok(addr: SocketAddr) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if matches!(get(addr), Ok((200, _))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{addr} did not answer 200 within 30 s");
}

#[test]
fn a_rolling_update_behind_a_balancer_loses_no_request() {
    let fleet = Fleet::start(3, USER).expect("start the fleet (root, scripts/testenv.sh)");
    let ns = fleet.namespaces().to_vec();
    let addr = |i: usize| fleet.hosts[i].addr;
    let base = target_dir(USER);
    let mut procs = Processes {
        children: Vec::new(),
        pattern: base.path().display().to_string(),
    };
    let backends = base.path().join("backends");
    let mut listed = String::new();
    for (i, name) in ["web1", "web2"].iter().enumerate() {
        let root = base.path().join(name);
        fs::create_dir(&root).expect("mkdir");
        fs::write(root.join("index.html"), format!("version 1 from {name}\n")).expect("write");
        let status = Command::new("chown")
            .args(["-R", &format!("{USER}:{USER}")])
            .arg(&root)
            .status()
            .expect("chown");
        assert!(status.success());
        procs.children.push(in_netns(
            &ns[i],
            &[
                "runuser",
                "-u",
                USER,
                "--",
                "/usr/bin/python3",
                "-m",
                "http.server",
                &WEB_PORT.to_string(),
                "--bind",
                &addr(i).to_string(),
                "--directory",
                &root.display().to_string(),
            ],
        ));
        listed.push_str(&format!("{}:{WEB_PORT}\n", addr(i)));
    }
    fs::write(&backends, listed).expect("backends");
    let _ = Command::new("chown")
        .arg(format!("{USER}:{USER}"))
        .arg(&backends)
        .status();
    let lb_script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/lb.py");
    let lb_listen = format!("{}:{LB_PORT}", addr(2));
    procs.children.push(in_netns(
        &ns[2],
        &[
            "/usr/bin/python3",
            &lb_script.display().to_string(),
            &lb_listen,
            &backends.display().to_string(),
        ],
    ));
    let lb: SocketAddr = lb_listen.parse().expect("lb address");
    wait_ok(lb);
    for i in 0..2 {
        wait_ok(SocketAddr::new(addr(i), WEB_PORT));
    }

    // The client: a bounded loop against the balancer while the play runs.
    let done = Arc::new(AtomicBool::new(false));
    let client = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut results = Vec::new();
            let start = Instant::now();
            while !done.load(Ordering::SeqCst)
                && results.len() < 5000
                && start.elapsed() < Duration::from_secs(300)
            {
                results.push(get(lb));
                std::thread::sleep(Duration::from_millis(20));
            }
            results
        })
    };

    let work = tempfile::tempdir().expect("tempdir");
    let lines: Vec<String> = fleet
        .inventory_lines("h")
        .lines()
        .map(String::from)
        .collect();
    let inv = common::write_inventory(
        work.path(),
        &format!(
            "[web]\n{}\n{}\n[lb]\n{}\n",
            lines[0].replacen("h1 ", "web1 ", 1),
            lines[1].replacen("h2 ", "web2 ", 1),
            lines[2].replacen("h3 ", "lb ", 1)
        ),
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rolling-web");
    let run = rprov(
        &example,
        [
            "apply",
            "-i",
            &inv.display().to_string(),
            "site.yml",
            "-e",
            &format!("web_port={WEB_PORT}"),
            "-e",
            &format!("lb_backends={}", backends.display()),
            "-e",
            &format!("web_base={}", base.path().display()),
            "-e",
            "version=2",
        ],
    );
    // A little traffic after the play too: the last host is back in service.
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    let results = client.join().expect("client thread");
    run.expect_code(0);

    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Ok((200, _)) => None,
            Ok((code, body)) => Some(format!("{code}: {body}")),
            Err(e) => Some(e.clone()),
        })
        .collect();
    assert!(
        results.len() >= 50,
        "only {} requests were made during the run",
        results.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the rolling update: {failures:?}\n{}",
        failures.len(),
        results.len(),
        run.dump()
    );
    let bodies: Vec<&str> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|(_, b)| b.as_str()))
        .collect();
    for want in [
        "version 1 from web2",
        "version 2 from web1",
        "version 2 from web2",
    ] {
        assert!(
            bodies.iter().any(|b| b.trim() == want),
            "never served `{want}` during the run"
        );
    }
    // One host at a time: web1 was drained, updated and back before web2 left.
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("out of the balancer") || l.contains("back into the balancer"))
        .collect();
    assert_eq!(order.len(), 4, "{}", run.dump());
    assert!(
        order[0].contains("[web1]") && order[1].contains("[web1]"),
        "{order:?}"
    );
    assert!(
        order[2].contains("[web2]") && order[3].contains("[web2]"),
        "{order:?}"
    );
    let listed = fs::read_to_string(&backends).expect("backends");
    assert_eq!(
        listed.lines().count(),
        2,
        "both back in the balancer: {listed}"
    );
}
