//! A `rprov secrets edit` killed with SIGKILL cannot clean up after itself:
//! its plaintext stays in the private temp directory. The next edit finds the
//! directory's lock free and removes it, and says so.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn editor(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write editor");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
    p.display().to_string()
}

fn edit(work: &Path, tmp: &Path, editor: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rprov"))
        .current_dir(work)
        .args(["secrets", "--identity", "id.txt", "edit"])
        .env("EDITOR", editor)
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .expect("run rprov")
}

#[test]
fn plaintext_left_by_a_killed_edit_is_removed_by_the_next() {
    let work = tempfile::tempdir().expect("tempdir");
    let tmp = work.path().join("tmp");
    fs::create_dir(&tmp).expect("mkdir");
    let init = Command::new(env!("CARGO_BIN_EXE_rprov"))
        .current_dir(work.path())
        .args(["secrets", "--identity", "id.txt", "init"])
        .output()
        .expect("init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    // The editor writes a secret, then kills rprov (its nearest `rprov` ancestor).
    let killer = editor(
        work.path(),
        "killer.sh",
        "echo 'db_password: hunter2-plaintext' > \"$1\"\n\
         p=$PPID\n\
         while [ \"$p\" -gt 1 ]; do\n\
           if [ \"$(cat /proc/$p/comm)\" = rprov ]; then kill -9 \"$p\"; exit 0; fi\n\
           p=$(awk '{print $4}' /proc/$p/stat)\n\
         done\n\
         exit 1",
    );
    let out = edit(work.path(), &tmp, &killer);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9),
        "rprov was not killed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = fs::read_dir(&tmp).expect("tmp").flatten().collect();
    assert_eq!(
        left.len(),
        1,
        "the killed edit left its directory (the premise)"
    );
    let leftover = left[0].path();

    let quiet = editor(work.path(), "quiet.sh", "true");
    let out = edit(work.path(), &tmp, &quiet);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !leftover.exists(),
        "the plaintext of the killed edit is still there"
    );
    assert!(
        stderr.contains("plaintext left by an interrupted `rprov secrets edit`"),
        "{stderr}"
    );
    assert_eq!(fs::read_dir(&tmp).expect("tmp").count(), 0);
}
