//! Issue 16: `serial` runs a play on its hosts in batches, each batch through
//! the whole play (handlers included) before the next starts;
//! `max_fail_percentage` is judged per batch, and a batch that stops the play
//! stops it for the hosts after it (said, per host) and for later plays.
//! Hosts use the local connection: what is tested is the order of work.

mod common;

use std::fs;
use std::path::Path;

use common::{rprov, Run};

fn apply(dir: &Path, hosts: usize, playbook: &str) -> Run {
    let inv: String = (1..=hosts)
        .map(|i| format!("h{i} ansible_connection=local\n"))
        .collect();
    fs::write(dir.join("hosts.ini"), inv).expect("inventory");
    fs::write(dir.join("play.yml"), playbook).expect("playbook");
    let out = format!("out={}", dir.display());
    rprov(
        dir,
        [
            "apply",
            "-i",
            "hosts.ini",
            "-e",
            &out,
            "play.yml",
            "--forks",
            "10",
        ],
    )
}

fn log(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("order.log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// A task and a handler that append `host step` to order.log.
const STEPS: &str = r#"  tasks:
    - name: first
      shell: echo {{ inventory_hostname }} first >> {{ out }}/order.log
      notify: handler
    - name: second
      shell: echo {{ inventory_hostname }} second >> {{ out }}/order.log
    - name: maybe fail
      fail:
        msg: planned failure
      when: inventory_hostname in (fail_on | default([]))
  handlers:
    - name: handler
      shell: echo {{ inventory_hostname }} handler >> {{ out }}/order.log
"#;

#[test]
fn each_batch_runs_the_whole_play_before_the_next() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = format!("- hosts: all\n  gather_facts: false\n  serial: [1, 2]\n{STEPS}");
    let run = apply(work.path(), 3, &play);
    run.expect_code(0);
    let log = log(work.path());
    // h1 alone, handler included; then h2 and h3 together.
    assert_eq!(log[..3], ["h1 first", "h1 second", "h1 handler"], "{log:?}");
    let rest: std::collections::BTreeSet<&str> = log[3..].iter().map(String::as_str).collect();
    assert_eq!(
        rest,
        [
            "h2 first",
            "h2 second",
            "h2 handler",
            "h3 first",
            "h3 second",
            "h3 handler"
        ]
        .into_iter()
        .collect(),
        "{log:?}"
    );
    assert_eq!(run.stdout.matches("PLAY all").count(), 2, "{}", run.dump());
}

#[test]
fn a_batch_that_fails_stops_the_hosts_after_it_and_later_plays() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = format!(
        "- hosts: all\n  gather_facts: false\n  serial: 1\n  vars:\n    fail_on: [h1]\n{STEPS}\
         - hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo later >> {{{{ out }}}}/later.log\n"
    );
    let run = apply(work.path(), 3, &play);
    run.expect_code(2);
    assert_eq!(
        log(work.path()),
        ["h1 first", "h1 second"],
        "{}",
        run.dump()
    );
    for h in ["h2", "h3"] {
        assert!(
            run.stdout.contains(&format!(
                "[{h}] not run: the play stopped after batch 1 of 3 (`serial`): every host of the batch failed"
            )),
            "{}",
            run.dump()
        );
    }
    assert!(!work.path().join("later.log").exists(), "a later play ran");
}

#[test]
fn max_fail_percentage_is_judged_per_batch() {
    let work = tempfile::tempdir().expect("tempdir");
    // 1 of 6 hosts is 17% of the play, but 50% of its batch of 2.
    let play = format!(
        "- hosts: all\n  gather_facts: false\n  serial: 2\n  max_fail_percentage: 40\n  vars:\n    fail_on: [h3]\n{STEPS}"
    );
    let run = apply(work.path(), 6, &play);
    run.expect_code(2);
    let log = log(work.path());
    // Batch 2 ran (h4 may stop before its next task once h3's failure is
    // more than 40% of the batch: hosts go at their own pace).
    assert!(log.contains(&"h4 first".to_string()), "{log:?}");
    for h in ["h5", "h6"] {
        assert!(
            !log.iter().any(|l| l.starts_with(&format!("{h} "))),
            "{h} ran after its batch's share of failures stopped the play: {log:?}"
        );
        assert!(
            run.stdout.contains(&format!(
                "[{h}] not run: the play stopped after batch 2 of 3"
            )),
            "{}",
            run.dump()
        );
    }
    // Without serial the same failure is 17% of the play: everyone runs.
    let work = tempfile::tempdir().expect("tempdir");
    let play = play.replace("  serial: 2\n", "");
    let run = apply(work.path(), 6, &play);
    run.expect_code(2);
    assert!(log_has(work.path(), "h6 second"), "{}", run.dump());
}

fn log_has(dir: &Path, line: &str) -> bool {
    log(dir).iter().any(|l| l == line)
}

#[test]
fn a_serial_that_is_no_size_is_a_load_error() {
    let work = tempfile::tempdir().expect("tempdir");
    let run = apply(
        work.path(),
        1,
        "- hosts: all\n  serial: lots\n  tasks:\n    - ping:\n",
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "play.yml:2:11: `serial` must be a number of hosts, a percentage or a list of them"
        ),
        "{}",
        run.dump()
    );
}

#[test]
fn run_once_runs_once_per_batch_as_in_ansible() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = r#"- hosts: all
  gather_facts: false
  serial: 2
  tasks:
    - shell: echo {{ inventory_hostname }} >> {{ out }}/once.log
      run_once: true
"#;
    let run = apply(work.path(), 5, play);
    run.expect_code(0);
    let once = fs::read_to_string(work.path().join("once.log")).expect("once.log");
    assert_eq!(
        once.lines().count(),
        3,
        "batches of 2, 2, 1: {once}\n{}",
        run.dump()
    );
}
