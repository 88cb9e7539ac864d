//! `unarchive` over a real sshd: a tar.gz and a zip built by the test, sent
//! from the controller, and a tar.gz already on the host (`remote_src`).
//! The first run unpacks each, the second changes nothing, `creates`
//! skips, and `--check` writes nothing.

mod common;

use std::fs;
use std::process::Command;

use common::{apply_json, target_dir, USER};
use rprov_testbed::Sshd;

fn build(dir: &std::path::Path, cmd: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .status()
        .expect("sh")
        .success();
    assert!(ok, "{cmd}");
}

#[test]
fn unpacks_once_then_reports_no_change() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    fs::create_dir_all(w.join("tree/app/conf")).expect("tree");
    fs::write(w.join("tree/app/README"), "hello\n").expect("README");
    fs::write(w.join("tree/app/conf/app.ini"), "[a]\nb=1\n").expect("ini");
    fs::create_dir(w.join("files")).expect("files");
    build(
        &w.join("tree"),
        "tar czf ../files/app.tgz app && zip -qr ../files/app.zip app",
    );
    let inv = common::one_host_inventory(w, &sshd, "web1");
    let root = target_dir(USER);
    let r = root.path().display().to_string();
    for d in ["tgz", "zip", "remote"] {
        let ok = Command::new("install")
            .args(["-d", "-o", USER, &format!("{r}/{d}")])
            .status()
            .expect("install -d")
            .success();
        assert!(ok);
    }
    fs::copy(w.join("files/app.tgz"), root.path().join("app.tgz")).expect("copy tgz");
    let _ = Command::new("chown")
        .args([USER, &format!("{r}/app.tgz")])
        .status();
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - unarchive:
        src: app.tgz
        dest: {r}/tgz
        list_files: true
      register: tgz
    - unarchive:
        src: app.zip
        dest: {r}/zip
      register: zip
    - unarchive:
        src: {r}/app.tgz
        dest: {r}/remote
        remote_src: true
        mode: "0750"
    - unarchive:
        src: app.tgz
        dest: {r}/tgz
        creates: {r}/tgz/app
      register: skipped
    - assert:
        that:
          - tgz.handler == 'TgzArchive'
          - zip.handler == 'ZipArchive'
          - "'app/conf/app.ini' in tgz.files"
          - tgz.state == 'directory'
          - skipped is not changed
          - skipped is skipped
"#
    );
    fs::write(w.join("play.yml"), &play).expect("playbook");

    // --check first: nothing is written anywhere.
    let run = apply_json(w, &inv, &["--check", "play.yml"]);
    run.expect_code(0);
    for d in ["tgz", "zip", "remote"] {
        assert!(
            !root.path().join(d).join("app").exists(),
            "{d} written in --check"
        );
    }
    assert_eq!(
        run.recap("web1")["changed"],
        1,
        "remote_src is known: {}",
        run.dump()
    );

    let run = apply_json(w, &inv, &["play.yml"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 3, "{}", run.dump());
    for d in ["tgz", "zip", "remote"] {
        assert_eq!(
            fs::read_to_string(root.path().join(d).join("app/conf/app.ini")).expect(d),
            "[a]\nb=1\n"
        );
    }
    let run = apply_json(w, &inv, &["play.yml"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 0, "{}", run.dump());
    let run = apply_json(w, &inv, &["--check", "play.yml"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 0, "{}", run.dump());
    // No temp directory stays behind.
    let left = fs::read_dir("/tmp")
        .expect("/tmp")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_string_lossy().starts_with(".rprov-")
                && e.metadata().is_ok_and(|m| m.is_dir())
                && std::os::unix::fs::MetadataExt::uid(&e.metadata().expect("meta")) == users_uid()
        })
        .count();
    assert_eq!(left, 0, "temp directories left in /tmp");
}

/// The test user's uid, whose temp directories the check looks for.
fn users_uid() -> u32 {
    let out = Command::new("id").args(["-u", USER]).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(u32::MAX)
}
