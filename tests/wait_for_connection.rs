//! Issue 18: `wait_for_connection` is native (`src/engine/host/wait_connection.rs`):
//! each attempt opens a new ssh connection and runs a trivial command, until
//! one answers or `timeout` passes. Over the loopback sshd, side by side with
//! ansible-core's action plugin on the same host: a host that answers, a port
//! that is closed, `--check`; then a host that goes down and comes back
//! (its sshd and every session killed, then started again on the same port)
//! while rprov waits for it. And `reboot`, built on the same reconnection,
//! beside ansible-core's plugin with a stand-in boot id (nothing reboots).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{apply_json, fixtures, target_dir, USER};
use rprov_testbed::Sshd;
use serde_json::{Map, Value};

fn dir() -> PathBuf {
    fixtures().join("wait_for_connection")
}

/// What the playbook registered from `wait_for_connection`.
fn registered(root: &Path) -> Map<String, Value> {
    let path = root.join("w.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        other => panic!("{}: not a mapping: {other:?}", path.display()),
    }
}

/// Runs site.yml with both tools on `inv` (with `extra`), each into its own
/// root: what each registered, and rprov's run.
fn both(
    inv: &Path,
    home: &Path,
    extra: &[&str],
) -> (Map<String, Value>, Map<String, Value>, common::Run) {
    both_with("site.yml", inv, home, extra)
}

/// [`both`] with another playbook of the fixtures.
fn both_with(
    playbook: &str,
    inv: &Path,
    home: &Path,
    extra: &[&str],
) -> (Map<String, Value>, Map<String, Value>, common::Run) {
    let v = common::ansible_venv();
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    let root = format!("root={}", by_ansible.path().display());
    let mut args = vec!["-e", &root, playbook];
    args.extend(extra);
    let (ok, text) = common::ansible_playbook(&v, &dir(), inv, home, &args, &[]);
    assert!(ok, "ansible-playbook {extra:?} failed:\n{text}");
    let root = format!("root={}", by_rprov.path().display());
    let mut args = vec!["-e", &root, playbook];
    args.extend(extra);
    let run = apply_json(&dir(), inv, &args);
    run.expect_code(0);
    (
        registered(by_ansible.path()),
        registered(by_rprov.path()),
        run,
    )
}

/// The keys of a registered result, but Ansible's `exception` (its
/// traceback of a failure, "(traceback unavailable)" here), which rprov has
/// no equivalent of.
fn keys(m: &Map<String, Value>) -> Vec<&String> {
    let mut k: Vec<_> = m.keys().filter(|k| *k != "exception").collect();
    k.sort();
    k
}

/// The status of the task `name` in rprov's JSON events.
fn status(run: &common::Run, name: &str) -> String {
    run.tasks()
        .iter()
        .find(|t| t["task"] == name)
        .and_then(|t| t["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no task {name}\n{}", run.dump()))
}

/// An inventory in `dir` whose one host, `web1`, is a loopback port that
/// nothing listens on (it was free a moment ago), and the port.
fn closed_port_inventory(dir: &Path) -> (PathBuf, u16) {
    let port = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        l.local_addr().expect("addr").port()
    };
    let inv = common::write_inventory(
        dir,
        &format!("web1 ansible_host=127.0.0.1 ansible_port={port} ansible_user={USER}\n"),
    );
    (inv, port)
}

#[test]
fn a_host_that_answers_is_reached_at_once() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let before = sshd.exec_count();
    let (a, r, run) = both(&inv, work.path(), &[]);
    assert_eq!(status(&run, "wait for the host"), "ok", "{}", run.dump());
    assert_eq!(keys(&a), keys(&r), "ansible: {a:?}\nrprov: {r:?}");
    assert_eq!(r["failed"], false);
    assert_eq!(r["changed"], false);
    // Reached on the first attempt, not after the 60 s timeout.
    let elapsed = r["elapsed"].as_u64().unwrap_or(u64::MAX);
    assert!(elapsed < 60, "{r:?}");
    // rprov's attempt is one command on the host (Ansible's ping is one more).
    assert!(sshd.exec_count() - before >= 2, "{}", run.dump());
}

#[test]
fn a_closed_port_fails_after_the_timeout_naming_the_host() {
    let work = tempfile::tempdir().expect("tempdir");
    let (inv, port) = closed_port_inventory(work.path());
    let (a, r, run) = both(&inv, work.path(), &["-e", "wfc_timeout=2"]);
    assert_eq!(keys(&a), keys(&r), "ansible: {a:?}\nrprov: {r:?}");
    for (who, m) in [("ansible", &a), ("rprov", &r)] {
        assert_eq!(m["failed"], true, "{who}: {m:?}");
        let msg = m["msg"].as_str().unwrap_or("");
        assert!(
            msg.starts_with("timed out waiting for ping module test: ")
                && msg.contains("Connection refused")
                && msg.contains(&format!("port {port}")),
            "{who}: {msg}"
        );
        // It tried until the timeout had passed.
        assert!(m["elapsed"].as_u64().unwrap_or(0) >= 2, "{who}: {m:?}");
    }
    let msg = r["msg"].as_str().unwrap_or("");
    assert!(msg.contains("web1"), "{msg}");
    // A task failure (ignored here), not an unreachable host.
    assert_eq!(
        status(&run, "wait for the host"),
        "failed",
        "{}",
        run.dump()
    );
    assert_eq!(run.recap("web1")["unreachable"], 0, "{}", run.dump());
    assert_eq!(status(&run, "results"), "changed", "{}", run.dump());
}

/// Ansible's plugin skips itself in check mode: no connection is tried, so
/// a closed port is no failure either.
#[test]
fn check_mode_skips_it_as_ansible_does() {
    let work = tempfile::tempdir().expect("tempdir");
    let (inv, _) = closed_port_inventory(work.path());
    let (a, r, run) = both(&inv, work.path(), &["--check"]);
    assert_eq!(a, r, "registered results differ");
    assert_eq!(r["skipped"], true, "{r:?}");
    assert_eq!(
        status(&run, "wait for the host"),
        "skipped",
        "{}",
        run.dump()
    );
    assert_eq!(run.recap("web1")["unreachable"], 0, "{}", run.dump());
}

/// The host goes away under a running play (sshd and its sessions killed:
/// the ssh master rprov holds is dead) and comes back on the same port:
/// `wait_for_connection` reconnects and the next task runs over the new
/// connection.
#[test]
fn a_host_that_goes_down_and_comes_back_is_reconnected() {
    let mut sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let root_var = format!("root={}", root.path().display());
    let args: Vec<String> = ["-e", &root_var, "reboot.yml", "--timings"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let inv2 = inv.clone();
    let running = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        apply_json(&dir(), &inv2, &args)
    });
    // The play is past `before`: take the host down, then bring it back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !root.path().join("before.txt").exists() {
        assert!(Instant::now() < deadline, "`before` never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    // (its command has returned: the file is renamed into place just
    // before the script ends; the task's 5 s delay is still running)
    std::thread::sleep(Duration::from_secs(1));
    sshd.stop();
    std::thread::sleep(Duration::from_secs(2));
    sshd.restart().expect("restart sshd");
    let before_restart = sshd.exec_count();
    let run = running.join().expect("rprov thread");
    run.expect_code(0);
    assert_eq!(
        status(&run, "wait for the host to come back"),
        "ok",
        "{}",
        run.dump()
    );
    let after = std::fs::read_to_string(root.path().join("after.txt")).unwrap_or_default();
    let elapsed: u64 = after.trim().parse().unwrap_or(0);
    assert!(
        elapsed >= 5,
        "the delay was waited: {after:?}\n{}",
        run.dump()
    );
    // The attempt and `after` ran on the restarted server.
    assert!(sshd.exec_count() > before_restart, "{}", run.dump());
    let t = run
        .json_lines()
        .into_iter()
        .find_map(|l| l.get("timings").cloned())
        .unwrap_or_else(|| panic!("no timings\n{}", run.dump()));
    assert!(
        t["hosts"]["web1"]["connections"].as_u64().unwrap_or(0) >= 2,
        "{t}"
    );
}

/// `reboot` with a "boot id" that changes at every reading and a reboot
/// command that does nothing: the whole sequence (boot id, command, a new
/// connection, the new boot id, `whoami`) runs on the loopback host, and
/// registers what ansible-core's plugin registers; in `--check` both report
/// a change and run nothing.
#[test]
fn reboot_registers_what_ansible_registers() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let (a, r, run) = both_with("fake_reboot.yml", &inv, work.path(), &[]);
    assert_eq!(status(&run, "reboot"), "changed", "{}", run.dump());
    assert_eq!(keys(&a), keys(&r), "ansible: {a:?}\nrprov: {r:?}");
    for (who, m) in [("ansible", &a), ("rprov", &r)] {
        assert_eq!(m["changed"], true, "{who}: {m:?}");
        assert_eq!(m["rebooted"], true, "{who}: {m:?}");
        assert!(
            m["elapsed"].as_u64().is_some_and(|e| e < 30),
            "{who}: {m:?}"
        );
    }

    let (a, r, run) = both_with("fake_reboot.yml", &inv, work.path(), &["--check"]);
    assert_eq!(a, r, "registered results differ in --check");
    assert_eq!(status(&run, "reboot"), "changed", "{}", run.dump());
    assert_eq!(r["rebooted"], true, "{r:?}");
}
