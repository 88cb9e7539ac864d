//! The repository's own roles (roles/), where a check needs no VM: run in
//! `--check` on the local connection, so nothing is written to this machine.
//! What they do on a real host is tests/vm_site.rs.

mod common;

use std::fs;
use std::path::Path;

use common::{rprov, Run};

/// A play of the pds role alone (with a stand-in for caddy's shared handler)
/// in `dir`, whose `roles` links to the repository's.
fn pds_play(dir: &Path) {
    fs::write(dir.join("hosts.ini"), "box ansible_connection=local\n").expect("inventory");
    fs::write(
        dir.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  roles:\n    - pds\n  handlers:\n    - name: reload caddy\n      debug: {msg: reload}\n",
    )
    .expect("play");
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("roles"),
        dir.join("roles"),
    )
    .expect("link roles");
}

fn check_pds(dir: &Path, vars: &str) -> Run {
    rprov(
        dir,
        [
            "apply",
            "-i",
            "hosts.ini",
            "play.yml",
            "--check",
            "--output",
            "json",
            "-e",
            vars,
        ],
    )
}

const ASSERT_TASK: &str = "pds : on-demand TLS has an ask endpoint";

fn status_of(run: &Run, task: &str) -> String {
    run.tasks()
        .iter()
        .find(|t| t["task"] == task)
        .and_then(|t| t["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no task `{task}`\n{}", run.dump()))
}

/// With automatic HTTPS on, the PDS's site needs Caddy's on-demand TLS, which
/// needs an `ask` URL: without one the role stops before its own tasks, with
/// a message saying what to set.
#[test]
fn pds_stops_early_without_an_on_demand_tls_ask_url() {
    let work = tempfile::tempdir().expect("tempdir");
    pds_play(work.path());

    let run = check_pds(
        work.path(),
        r#"{"caddy_tls": true, "caddy_on_demand_tls_ask": ""}"#,
    );
    run.expect_code(2);
    assert_eq!(status_of(&run, ASSERT_TASK), "failed", "{}", run.dump());
    let failed = run
        .tasks()
        .into_iter()
        .find(|t| t["task"] == ASSERT_TASK)
        .expect("the assert task");
    let msg = failed["msg"].as_str().unwrap_or("");
    assert!(
        msg.contains("caddy_on_demand_tls_ask")
            && msg.contains("http://127.0.0.1:3000/tls-check")
            && msg.contains("*.pds.example.com"),
        "the message names the variable and the PDS's own check: {msg}"
    );
    let after: Vec<String> = run
        .tasks()
        .iter()
        .map(|t| t["task"].as_str().unwrap_or("").to_string())
        .skip_while(|t| t != ASSERT_TASK)
        .skip(1)
        .collect();
    assert!(
        after.is_empty(),
        "tasks ran after the failed assert: {after:?}"
    );

    // With an ask URL, or without automatic HTTPS, the check passes.
    for vars in [
        r#"{"caddy_tls": true, "caddy_on_demand_tls_ask": "http://127.0.0.1:3000/tls-check"}"#,
        r#"{"caddy_tls": false, "caddy_on_demand_tls_ask": ""}"#,
    ] {
        let run = check_pds(work.path(), vars);
        assert_eq!(
            status_of(&run, ASSERT_TASK),
            "ok",
            "with {vars}:\n{}",
            run.dump()
        );
    }
}
