//! `fetch` over a real sshd: a host's file copied to the controller under
//! `dest/<inventory_hostname>/<src>` (and `flat: yes`), the same bytes,
//! binary included; a second run changes nothing; `--check` writes nothing;
//! a missing file is ok with ansible-core's message under
//! `fail_on_missing: no` and fails the task otherwise.

mod common;

use std::fs;

use common::{apply_json, target_dir, USER};
use rprov_testbed::Sshd;

#[test]
fn fetch_copies_a_host_file_to_the_controller() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let r = root.path().display().to_string();
    let data: Vec<u8> = (0..=255u8).chain(b"end\n".iter().copied()).collect();
    fs::write(root.path().join("data.bin"), &data).expect("host file");
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - fetch:
        src: {r}/data.bin
        dest: out
    - fetch:
        src: {r}/data.bin
        dest: flat/
        flat: yes
    - fetch:
        src: {r}/missing
        dest: out
        fail_on_missing: no
      register: missing
    - assert:
        that:
          - missing is not changed
          - missing.msg == 'the remote file does not exist, not transferring, ignored'
"#
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");
    let tree = work.path().join("out/web1").join(r.trim_start_matches('/'));
    let fetched = tree.join("data.bin");
    let flat = work.path().join("flat/data.bin");

    let check = apply_json(work.path(), &inv, &["--check", "play.yml"]);
    check.expect_code(0);
    assert_eq!(check.recap("web1")["changed"], 2, "{}", check.dump());
    assert!(!work.path().join("out").exists(), "--check wrote nothing");
    assert!(!work.path().join("flat").exists(), "--check wrote nothing");

    let first = apply_json(work.path(), &inv, &["play.yml"]);
    first.expect_code(0);
    assert_eq!(first.recap("web1")["changed"], 2, "{}", first.dump());
    assert_eq!(fs::read(&fetched).expect("fetched"), data);
    assert_eq!(fs::read(&flat).expect("flat"), data);

    let again = apply_json(work.path(), &inv, &["play.yml"]);
    again.expect_code(0);
    assert_eq!(again.recap("web1")["changed"], 0, "{}", again.dump());

    // A change on the host is fetched again.
    fs::write(root.path().join("data.bin"), "new\n").expect("host file");
    let changed = apply_json(work.path(), &inv, &["play.yml"]);
    changed.expect_code(0);
    assert_eq!(changed.recap("web1")["changed"], 2, "{}", changed.dump());
    assert_eq!(fs::read(&fetched).expect("fetched"), b"new\n");

    // `fail_on_missing` is on by default.
    fs::write(
        work.path().join("fail.yml"),
        format!(
            "- hosts: web1\n  gather_facts: false\n  tasks:\n    - fetch: {{src: {r}/missing, dest: out}}\n"
        ),
    )
    .expect("playbook");
    let fail = apply_json(work.path(), &inv, &["fail.yml"]);
    assert_eq!(fail.recap("web1")["failed"], 1, "{}", fail.dump());
    assert!(
        fail.all()
            .contains("the remote file does not exist, not transferring, ignored"),
        "{}",
        fail.dump()
    );
}
