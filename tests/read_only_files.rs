//! Files whose mode takes away the owner's write bit (`mode: "0400"`, the
//! usual mode of a key or a secrets file), written by a login that is not
//! root, over a real sshd: the atomic write gives its temp file the final
//! mode before any byte, and a read-only mode must not keep the login from
//! writing its own temp file. Also a read-only file replaced without a
//! `mode:` (it keeps its mode), and templates. A second run changes nothing.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::{apply_json, target_dir, USER};
use rprov_testbed::Sshd;

#[test]
fn read_only_modes_are_written_by_a_login_that_is_not_root() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let r = root.path().display().to_string();
    fs::write(
        work.path().join("t.j2"),
        "key for {{ inventory_hostname }}\n",
    )
    .expect("template");
    // A read-only file of the login's, there before the run.
    let ro = root.path().join("read-only");
    fs::write(&ro, "old\n").expect("write");
    let out = std::process::Command::new("id")
        .args(["-u", USER])
        .output()
        .expect("id");
    let uid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("uid");
    std::os::unix::fs::chown(&ro, Some(uid), None).expect("chown");
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o444)).expect("chmod");
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - copy:
        content: "secret\n"
        dest: {r}/secret
        mode: "0400"
    - copy:
        content: "new\n"
        dest: {r}/read-only
    - template:
        src: t.j2
        dest: {r}/key
        mode: "0444"
"#
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 3, "{}", run.dump());
    let mode = |name: &str| {
        fs::metadata(root.path().join(name))
            .expect("written")
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(
        fs::read_to_string(root.path().join("secret")).expect("secret"),
        "secret\n"
    );
    assert_eq!(mode("secret"), 0o400);
    assert_eq!(fs::read_to_string(&ro).expect("read-only"), "new\n");
    assert_eq!(mode("read-only"), 0o444, "the replaced file keeps its mode");
    assert_eq!(
        fs::read_to_string(root.path().join("key")).expect("key"),
        "key for web1\n"
    );
    assert_eq!(mode("key"), 0o444);
    let leftovers: Vec<_> = fs::read_dir(root.path())
        .expect("read")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".rprov-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    let again = apply_json(work.path(), &inv, &["play.yml"]);
    again.expect_code(0);
    assert_eq!(again.recap("web1")["changed"], 0, "{}", again.dump());
}
