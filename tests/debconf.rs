//! `debconf` over a real sshd, as root (`become`), on a question of an
//! installed package that is harmless to set (`tzdata tzdata/Areas`): the
//! first run changes it, the second changes nothing, `--check` shows the
//! diff and runs nothing. The original answer is put back at the end, even
//! when an assertion fails.

mod common;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use common::{apply_json, USER};
use rprov_testbed::Sshd;

const QUESTION: &str = "tzdata/Areas";

/// The answer `debconf-show tzdata` gives for [`QUESTION`] on this machine.
fn current() -> Option<String> {
    let out = Command::new("debconf-show").arg("tzdata").output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim_matches('*').trim() == QUESTION).then(|| v.trim().to_string())
    })
}

/// Sets the answer directly, for the restore.
fn set(value: &str) {
    let mut child = Command::new("debconf-set-selections")
        .stdin(Stdio::piped())
        .spawn()
        .expect("debconf-set-selections");
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = writeln!(stdin, "tzdata {QUESTION} select {value}");
    }
    let _ = child.wait();
}

/// Puts the original answer back when the test ends.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        set(&self.0);
    }
}

#[test]
fn debconf_sets_an_answer_once_as_root_over_ssh() {
    let Some(original) = current() else {
        eprintln!("skipped: tzdata has no {QUESTION} answer here");
        return;
    };
    let _restore = Restore(original.clone());
    let want = if original == "Europe" {
        "Asia"
    } else {
        "Europe"
    };
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  become: true
  tasks:
    - debconf:
        name: tzdata
        question: {QUESTION}
        vtype: select
        value: {want}
"#
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");

    let check = apply_json(work.path(), &inv, &["--check", "--diff", "play.yml"]);
    check.expect_code(0);
    assert_eq!(check.recap("web1")["changed"], 1, "{}", check.dump());
    assert!(
        check.all().contains(&format!("{QUESTION}: {want}")),
        "{}",
        check.dump()
    );
    assert_eq!(
        current().as_deref(),
        Some(original.as_str()),
        "--check ran it"
    );

    let first = apply_json(work.path(), &inv, &["play.yml"]);
    first.expect_code(0);
    assert_eq!(first.recap("web1")["changed"], 1, "{}", first.dump());
    assert_eq!(current().as_deref(), Some(want));

    let second = apply_json(work.path(), &inv, &["play.yml"]);
    second.expect_code(0);
    assert_eq!(second.recap("web1")["changed"], 0, "{}", second.dump());
}
