//! Issue 2, "Tests": a playbook of roles applied over SSH to a real loopback
//! sshd. First run changes, second run changes nothing in one remote command
//! (facts and the state of every task, become or not), handlers run once, and `--check` after an input change shows the
//! diff of exactly that file and leaves the host tree byte-identical.

mod common;

use std::fs;
use std::path::Path;

use common::{fixtures, recap_line, rprov, snapshot, target_dir, USER};
use rprov_testbed::Sshd;

fn apply(site: &Path, inv: &Path, base: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "apply".to_string(),
        "-i".into(),
        inv.display().to_string(),
        "--output".into(),
        "json".into(),
        "-e".into(),
        format!("base_dir={}", base.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("site.yml".into());
    rprov(site, args)
}

fn u64_of(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("recap lacks {k}: {v}"))
}

#[test]
fn roles_apply_idempotent_handlers_once_and_check_is_read_only() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path();
    let site = fixtures().join("roles_site");

    // First run: everything is new.
    let before = sshd.exec_count();
    let first = apply(&site, &inv, base, &[]).expect_code(0).stdout.clone();
    let first_run = common::Run {
        code: 0,
        stdout: first,
        stderr: String::new(),
    };
    let r1 = first_run.recap("web1");
    let first_cmds = (sshd.exec_count() - before) as u64;
    assert!(
        u64_of(&r1, "changed") >= 10,
        "first run should change most tasks: {r1}"
    );
    assert_eq!(u64_of(&r1, "failed"), 0, "{}", first_run.stdout);
    assert_eq!(
        u64_of(&r1, "remote_commands"),
        first_cmds,
        "recap vs sshd log"
    );
    let last = first_run.stdout.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        recap_line(
            "web1",
            u64_of(&r1, "ok"),
            u64_of(&r1, "changed"),
            0,
            u64_of(&r1, "skipped"),
            first_cmds
        ),
        "the recap line is a contract (issue 2, Output)"
    );
    // The loop + when: bob is not an admin.
    assert!(base.join("webapp/users/alice").exists());
    assert!(!base.join("webapp/users/bob").exists());
    assert!(base.join("webapp/users/carol").exists());
    // Role defaults along the dependency chain, role vars, play vars, role params.
    let conf = fs::read_to_string(base.join("webapp/app.conf")).expect("app.conf");
    assert_eq!(
        conf,
        "# WEBAPP managed by rprov\ngreeting = hello\nport = 8080\nuser alice admin\nuser bob\nuser carol admin\nadmins = alice,carol\nhost = web1\n"
    );
    // register + when: the size of the config as stat saw it.
    assert_eq!(
        fs::read_to_string(base.join("webapp/conf.size")).expect("conf.size"),
        format!("size={}\n", conf.len())
    );
    assert!(
        !base.join("webapp/debug.flag").exists(),
        "when: false must skip"
    );
    assert_eq!(
        fs::read_link(base.join("webapp/current.conf")).expect("link"),
        base.join("common/../webapp/app.conf")
    );
    // become: root owns this one; the rest belongs to the login user.
    let md = |p: &str| fs::symlink_metadata(base.join(p)).expect(p);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(md("common/root-only.conf").uid(), 0);
    assert_eq!(md("common/root-only.conf").mode() & 0o7777, 0o600);
    let test_uid = md("common/motd").uid();
    assert_ne!(test_uid, 0, "files without become belong to {USER}");
    assert_eq!(
        fs::read(base.join("common/motd")).expect("motd"),
        fs::read(site.join("roles/common/files/motd")).expect("fixture motd")
    );
    // Each handler ran once, after the tasks, in definition order.
    assert_eq!(
        fs::read_to_string(base.join("handlers.log")).expect("handlers.log"),
        "common\nwebapp\n"
    );

    // Second run: nothing to do, in one remote command: the speed contract
    // (issue 2), with the become tasks' probe nested in the same command.
    let before = sshd.exec_count();
    let second = apply(&site, &inv, base, &[]);
    second.expect_code(0);
    let r2 = second.recap("web1");
    let second_cmds = (sshd.exec_count() - before) as u64;
    assert_eq!(
        u64_of(&r2, "changed"),
        0,
        "second run changed something:\n{}",
        second.stdout
    );
    assert_eq!(
        u64_of(&r2, "remote_commands"),
        second_cmds,
        "recap vs sshd log"
    );
    assert_eq!(
        second_cmds, 1,
        "no-change run used {second_cmds} remote commands:\n{}",
        second.stdout
    );
    assert_eq!(
        second.stdout.lines().last().unwrap_or_default(),
        recap_line(
            "web1",
            u64_of(&r2, "ok"),
            0,
            0,
            u64_of(&r2, "skipped"),
            second_cmds
        )
    );
    assert_eq!(
        fs::read_to_string(base.join("handlers.log")).expect("handlers.log"),
        "common\nwebapp\n",
        "handlers must not run when nothing changed"
    );
    eprintln!("remote commands: first run {first_cmds}, no-change run {second_cmds}");

    // Change one input and dry-run: exactly one diff, and nothing written.
    let tree = snapshot(base);
    let before = sshd.exec_count();
    let check = rprov(
        &site,
        [
            "apply",
            "-i",
            &inv.display().to_string(),
            "--check",
            "-e",
            &format!("base_dir={}", base.display()),
            "-e",
            "greeting=bonjour",
            "site.yml",
        ],
    );
    check.expect_code(0);
    let conf_path = base.join("common/../webapp/app.conf").display().to_string();
    let minus: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.starts_with("--- "))
        .collect();
    let plus: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.starts_with("+++ "))
        .collect();
    assert_eq!(
        minus,
        [format!("--- before: {conf_path}")],
        "{}",
        check.stdout
    );
    assert_eq!(
        plus,
        [format!("+++ after: {conf_path}")],
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("-greeting = hello\n"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("+greeting = bonjour\n"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("@@ "), "{}", check.stdout);
    assert_eq!(snapshot(base), tree, "--check changed the host");
    assert!(sshd.exec_count() > before, "--check still probes the host");
}
