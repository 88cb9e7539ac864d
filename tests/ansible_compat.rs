//! Ansible settings rprov used to accept and ignore, now carried out: the
//! `template` module's whitespace options, `copy` of a vault-encrypted source,
//! `environment` of plays and blocks, and the play and task keywords that act
//! across hosts (`order`, `throttle`, `any_errors_fatal`,
//! `max_fail_percentage`, `force_handlers`, `timeout`).
//!
//! The file modules go over a real sshd; the keywords that coordinate hosts
//! use `ansible_connection=local` hosts, which run the same engine on the
//! controller (no sshd per host needed to have several hosts).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{fixtures, rprov, target_dir, Run, USER};
use rprov_testbed::Sshd;

fn dir() -> PathBuf {
    fixtures().join("compat")
}

fn apply(inv: &Path, playbook: &str, base: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "apply".to_string(),
        "-i".into(),
        inv.display().to_string(),
        "-e".into(),
        format!("base_dir={}", base.display()),
        playbook.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    rprov(&dir(), args)
}

/// An inventory of `names`, each run on the controller.
fn local_hosts(work: &Path, names: &[&str]) -> PathBuf {
    let lines: String = names
        .iter()
        .map(|n| format!("{n} ansible_connection=local\n"))
        .collect();
    common::write_inventory(work, &lines)
}

fn exists(base: &Path, name: &str) -> bool {
    base.join(name).exists()
}

#[test]
fn template_options_vault_source_and_environment_over_ssh() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path();
    let vault = ["--vault-password-file", "vault-password.txt"];

    let mut extra = vec!["--diff"];
    extra.extend(vault);
    let run = apply(&inv, "files_and_env.yml", base, &extra);
    run.expect_code(0);
    assert_eq!(
        fs::read_to_string(base.join("ws.txt")).expect("ws.txt"),
        "begin\r\n\r\n  - 1\r\n\r\n  - 2\r\n\r\nend\r\n",
        "trim_blocks: no, lstrip_blocks: yes, newline_sequence: \\r\\n"
    );
    assert_eq!(
        fs::read_to_string(base.join("ws-default.txt")).expect("ws-default.txt"),
        "begin\n    - 1\n    - 2\n  end\n",
        "Ansible's defaults"
    );
    // The vault file arrives decrypted, and its text is in no diff.
    let plain =
        "db_password: \"correct horse battery staple\"\napi:\n  token: tok-0123456789abcdef\n";
    assert_eq!(
        fs::read_to_string(base.join("secret.yml")).expect("secret.yml"),
        plain
    );
    assert!(
        !run.all().contains("correct horse"),
        "the decrypted text was shown\n{}",
        run.dump()
    );
    assert!(
        run.stdout
            .contains("from a vault-encrypted source (not shown)"),
        "{}",
        run.dump()
    );
    // Play environment under block and task environment, the inner one winning.
    assert_eq!(
        fs::read_to_string(base.join("env.txt")).expect("env.txt"),
        "play task |play play block|unset kept last\n"
    );

    // Second run: nothing changes.
    let mut extra = vec!["--output", "json"];
    extra.extend(vault);
    let again = apply(&inv, "files_and_env.yml", base, &extra);
    again.expect_code(0);
    assert_eq!(again.recap("web1")["changed"], 0, "{}", again.dump());

    // Without the vault password, the copy fails and says what to pass.
    fs::remove_file(base.join("secret.yml")).expect("rm secret.yml");
    let run = apply(&inv, "files_and_env.yml", base, &[]);
    run.expect_code(2);
    assert!(
        run.all().contains(
            "no vault password was given (pass --vault-password-file, or `decrypt: no` to copy \
             the encrypted file as it is). A vault password or secret must be specified to \
             decrypt secret.vault"
        ),
        "{}",
        run.dump()
    );
    assert!(
        run.all().contains("--vault-password-file"),
        "{}",
        run.dump()
    );
    assert!(!exists(base, "secret.yml"));
}

#[test]
fn order_sets_the_order_hosts_start_in() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = local_hosts(work.path(), &["c", "a", "b"]);
    let run = apply(&inv, "order.yml", work.path(), &["--forks", "1"]);
    run.expect_code(0);
    assert_eq!(
        fs::read_to_string(work.path().join("order.log")).expect("order.log"),
        "a\nb\nc\nb\na\nc\n",
        "sorted, then reverse_inventory\n{}",
        run.dump()
    );
}

#[test]
fn throttle_limits_how_many_hosts_run_a_task_at_once() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = local_hosts(work.path(), &["a", "b"]);
    let run = apply(&inv, "throttle.yml", work.path(), &["--forks", "10"]);
    run.expect_code(0);
    let log = fs::read_to_string(work.path().join("throttle.log")).expect("throttle.log");
    let events: Vec<&str> = log
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(events, ["start", "end", "start", "end"], "{log}");
}

/// `any_errors_fatal` as ansible-core's linear strategy (checked with
/// ansible-playbook 2.19 on the same fixture): a failure that `a`'s rescue
/// handles still marks `b` failed after that task, inside its block, so `b`
/// runs its rescue too; an unrescued one on `a` stops `b` after the same
/// task, the slow one (the hosts wait for each other there), and no later
/// play runs.
#[test]
fn any_errors_fatal_stops_the_other_hosts_unless_rescued() {
    let work = tempfile::tempdir().expect("tempdir");
    let base = work.path();
    let inv = local_hosts(base, &["a", "b"]);
    let run = apply(&inv, "fatal.yml", base, &[]);
    run.expect_code(2);
    for h in ["a", "b"] {
        assert!(
            exists(base, &format!("{h}.rescued")),
            "{h}'s rescue ran\n{}",
            run.dump()
        );
        assert!(
            !exists(base, &format!("{h}.after")),
            "{h} went on\n{}",
            run.dump()
        );
        assert!(
            !exists(base, &format!("{h}.play2")),
            "{h} ran play 2\n{}",
            run.dump()
        );
    }
    assert!(
        run.all().contains(
            "error    [b] stopped after `fails on a, slow on b`: a failed and `any_errors_fatal` is set"
        ),
        "{}",
        run.dump()
    );
}

#[test]
fn max_fail_percentage_stops_the_play_above_the_share() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = local_hosts(work.path(), &["a", "b", "c"]);

    let base = tempfile::tempdir().expect("tempdir");
    let run = apply(&inv, "max_fail_30.yml", base.path(), &[]);
    run.expect_code(2);
    for h in ["b", "c"] {
        assert!(
            !exists(base.path(), &format!("{h}.after")),
            "{}",
            run.dump()
        );
    }
    assert!(run.all().contains("1 of 3 hosts failed"), "{}", run.dump());

    let base = tempfile::tempdir().expect("tempdir");
    let run = apply(&inv, "max_fail_50.yml", base.path(), &[]);
    run.expect_code(2);
    for h in ["b", "c"] {
        assert!(exists(base.path(), &format!("{h}.after")), "{}", run.dump());
    }
    assert!(!exists(base.path(), "a.after"));
}

#[test]
fn force_handlers_runs_notified_handlers_on_a_failed_host() {
    let work = tempfile::tempdir().expect("tempdir");
    let base = work.path();
    let inv = local_hosts(base, &["a", "b"]);
    let run = apply(&inv, "force_handlers.yml", base, &[]);
    run.expect_code(2);
    assert!(exists(base, "a.handled"), "force_handlers\n{}", run.dump());
    assert!(
        !exists(base, "b.handled"),
        "no force_handlers\n{}",
        run.dump()
    );
}

#[test]
fn timeout_stops_a_command_or_another_module_that_runs_too_long() {
    let work = tempfile::tempdir().expect("tempdir");
    let base = work.path();
    let inv = local_hosts(base, &["a"]);
    let started = Instant::now();
    let run = apply(&inv, "timeout.yml", base, &[]);
    run.expect_code(0);
    assert!(
        started.elapsed().as_secs() < 20,
        "the sleep was not stopped\n{}",
        run.dump()
    );
    assert_eq!(
        fs::read_to_string(base.join("timeout.txt")).expect("timeout.txt"),
        "done|False|True|124|True|1|Task failed: Timed out after 1 second(s).|True|Timeout -1 is invalid, it must be between 0 and 100000000.\n\
         True|True|Task failed: Timed out after 1 second(s).|True\n"
    );
}

/// `ansible_user`, `ansible_host`, `ansible_port`, `ansible_become` and
/// `ansible_become_user` are read from every variable layer, above the
/// `remote_user`/`become`/`become_user` keywords (of the play, a role
/// entry, a block or the task), as Ansible orders them. The
/// testbed's sshd takes its client key for any local account, so the login
/// user shows which setting won (`id -un`).
#[test]
fn connection_variables_from_every_layer_over_ssh() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let common_args = format!(
        "ansible_ssh_private_key_file={} ansible_ssh_common_args='{}'",
        sshd.key_file.display(),
        sshd.common_args().join(" ")
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let inv = common::write_inventory(
        work.path(),
        &format!(
            "web1 ansible_host=127.0.0.1 ansible_port={port} {common_args}\n\
             web2 ansible_host=127.0.0.1 ansible_port={port} ansible_user=rprovpw {common_args}\n\
             web3 ansible_host=127.0.0.2 ansible_port={closed} {common_args}\n",
            port = sshd.port
        ),
    );
    let base = work.path();
    let port = format!("sshd_port={}", sshd.port);
    let who = |host: &str, step: &str| {
        fs::read_to_string(base.join(format!("{host}-{step}.txt")))
            .unwrap_or_else(|e| panic!("{host}-{step}.txt: {e}"))
            .trim()
            .to_string()
    };

    // Commands over every connection (a new login is a new connection) are
    // counted.
    let run = apply(
        &inv,
        "conn_vars.yml",
        base,
        &["-e", &port, "--output", "json"],
    );
    run.expect_code(0);
    let counted: u64 = ["web1", "web2", "web3"]
        .iter()
        .map(|h| run.recap(h)["remote_commands"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counted, sshd.exec_count() as u64, "{}", run.dump());
    assert_eq!(
        who("web1", "p1"),
        "rprovtest",
        "remote_user when no variable names a user"
    );
    assert_eq!(
        who("web2", "p1"),
        "rprovpw",
        "inventory ansible_user over remote_user"
    );
    assert_eq!(who("web1", "p2"), "rprovpw", "play vars over remote_user");
    assert_eq!(who("web1", "p3a"), "rprovtest", "task vars");
    assert_eq!(
        who("web1", "p3b"),
        "rprovpw",
        "the next task logs in as before"
    );
    assert_eq!(
        who("web1", "p4a"),
        "rprovpw",
        "ansible_become_user over become_user"
    );
    assert_eq!(
        who("web1", "p4b"),
        "rprovtest",
        "ansible_become: false over become: true"
    );
    assert_eq!(
        who("web3", "p5"),
        "rprovtest",
        "ansible_host and ansible_port from play vars"
    );
    assert_eq!(who("web1", "p6a"), "rprovpw", "a task's remote_user");
    assert_eq!(
        who("web1", "p6b"),
        "rprovpw",
        "a block's remote_user, a template"
    );
    assert_eq!(who("web1", "p6c"), "rprovtest", "the next task's own");
    assert_eq!(who("web1", "p6d"), "rprovpw", "a role entry's remote_user");
    assert_eq!(
        who("web2", "p6c"),
        "rprovpw",
        "inventory ansible_user over a task's remote_user"
    );
    assert_eq!(who("web1", "p7a"), "rprovpw", "a task's become, a template");
    assert_eq!(
        who("web1", "p7b"),
        "rprovtest",
        "a block's become, a template"
    );
    assert_eq!(
        who("web1", "p7c"),
        "rprovpw",
        "a role entry's become, a template"
    );

    // -e wins over everything.
    let run = apply(
        &inv,
        "conn_vars.yml",
        base,
        &["-e", &port, "-e", "ansible_user=rprovtest"],
    );
    run.expect_code(0);
    for (host, step) in [("web2", "p1"), ("web1", "p2"), ("web1", "p3b")] {
        assert_eq!(
            who(host, step),
            "rprovtest",
            "{host} {step}: -e ansible_user"
        );
    }
    assert_eq!(who("web1", "p4a"), "rprovpw");
}

/// The speed contract with become: the first probe of a run answers for the
/// login user, root and a third user at once (each sudo nested in the same
/// remote command), so a run with nothing to change costs one command.
#[test]
fn one_remote_command_for_tasks_of_three_users_over_ssh() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path();
    let pw_dir = base.join("pw");
    fs::create_dir(&pw_dir).expect("mkdir pw");
    let chown = std::process::Command::new("chown")
        .args(["rprovpw:rprovpw", &pw_dir.display().to_string()])
        .status()
        .expect("chown");
    assert!(chown.success());

    let run = apply(&inv, "probe_users.yml", base, &["--output", "json"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 4, "{}", run.dump());
    assert_eq!(
        fs::read_to_string(base.join("login.txt")).ok().as_deref(),
        Some("rprovtest\n")
    );
    assert_eq!(
        fs::read_to_string(base.join("stat.txt")).ok().as_deref(),
        Some("True 0600\n")
    );
    use std::os::unix::fs::MetadataExt;
    let uid = |p: &Path| fs::metadata(p).expect("stat").uid();
    assert_eq!(uid(&base.join("root.txt")), 0);
    assert_eq!(uid(&pw_dir.join("pw.txt")), uid(&pw_dir));

    for extra in [&[][..], &["--check"][..]] {
        let before = sshd.exec_count();
        let mut args = vec!["--output", "json"];
        args.extend_from_slice(extra);
        let again = apply(&inv, "probe_users.yml", base, &args);
        again.expect_code(0);
        let r = again.recap("web1");
        assert_eq!(r["changed"], 0, "{}", again.dump());
        assert_eq!(
            sshd.exec_count() - before,
            1,
            "{extra:?}: one remote command\n{}",
            again.dump()
        );
        assert_eq!(r["remote_commands"], 1, "{}", again.dump());
    }
}

/// `--connect-limit 1` logs the hosts in one at a time: each login's turn
/// is given back once it is done (a turn kept would leave the second host
/// waiting for ever), and 0 is refused.
#[test]
fn connect_limit_lets_hosts_log_in_in_turn() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::write_inventory(
        work.path(),
        &format!(
            "{}\n{}\n",
            sshd.inventory_line("web1"),
            sshd.inventory_line("web2")
        ),
    );
    let target = target_dir(USER);
    let base = target.path();
    let run = apply(&inv, "logins.yml", base, &["--connect-limit", "1"]);
    run.expect_code(0);
    assert!(run.all().contains("2 host(s)"), "{}", run.dump());
    let refused = apply(&inv, "logins.yml", base, &["--connect-limit", "0"]);
    refused.expect_code(1);
    assert!(
        refused
            .all()
            .contains("invalid value '0' for '--connect-limit <N>'"),
        "{}",
        refused.dump()
    );
}

/// `set_stats` gathers the run's values (summed and joined over hosts) and
/// each host's; `show_custom_stats` prints them after the recap as
/// ansible-core's default callback does, and `--output json` has them
/// before the recap line.
#[test]
fn set_stats_are_shown_after_the_recap() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = local_hosts(work.path(), &["a", "b"]);
    let args = |extra: &[&str]| {
        let mut v = vec![
            "apply".to_string(),
            "-i".into(),
            inv.display().to_string(),
            "--forks".into(),
            "1".into(),
            "set_stats.yml".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = common::rprov_env(&dir(), args(&[]), &[("ANSIBLE_SHOW_CUSTOM_STATS", "yes")]);
    run.expect_code(0);
    let shown = run
        .stdout
        .split("CUSTOM STATS\n")
        .nth(1)
        .unwrap_or_default();
    // Python's `json.dumps(indent=1)` without its newlines; the names in
    // the order the hosts ran.
    let names = if run.stdout.find("ok       [a]") < run.stdout.find("ok       [b]") {
        r#"[  "a",  "b" ]"#
    } else {
        r#"[  "b",  "a" ]"#
    };
    assert_eq!(
        shown,
        format!(
            "\ta: {{ \"mine\": \"a\"}}\n\tb: {{ \"mine\": \"b\"}}\n\n\tRUN: {{ \"names\": {names}, \"total\": 20}}\n"
        ),
        "{}",
        run.dump()
    );
    // Not shown without the setting.
    let run = rprov(&dir(), args(&[]));
    run.expect_code(0);
    assert!(!run.stdout.contains("CUSTOM STATS"), "{}", run.dump());
    // In JSON, whatever the setting.
    let run = rprov(&dir(), args(&["--output", "json"]));
    run.expect_code(0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("\"custom_stats\""))
        .unwrap_or_else(|| panic!("no custom_stats line\n{}", run.dump()));
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(v["stats"]["_run"]["total"], 20, "{line}");
    assert_eq!(v["stats"]["a"]["mine"], "a", "{line}");
}
