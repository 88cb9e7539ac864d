//! `rprov adhoc`: one module on the hosts of a pattern over a real sshd, as
//! Ansible's `ansible` runs it. A change is made once and is no change the
//! second time, `--check` writes nothing, `-b` becomes root, `--json` gives
//! `apply`'s JSON events, and a host that cannot be reached does not stop
//! the others (exit 4), nor does a failing one (exit 2).

mod common;

use std::fs;

use common::{rprov, target_dir, write_inventory, USER};
use rprov_testbed::Sshd;

#[test]
fn adhoc_runs_one_module_on_the_pattern_s_hosts() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    // `gone` is a closed port: unreachable.
    let inv = write_inventory(
        work.path(),
        &format!(
            "[web]\n{}\n[db]\ngone ansible_host=127.0.0.1 ansible_port=1 ansible_user={USER}\n",
            sshd.inventory_line("web1")
        ),
    );
    let inv = inv.display().to_string();
    let out = target_dir(USER);
    let dest = out.path().join("motd");
    let copy_args = format!(
        "content='hello from adhoc\n' dest={} mode=0640",
        dest.display()
    );
    let adhoc = |extra: &[&str]| {
        let mut args = vec!["adhoc", "-i", inv.as_str()];
        args.extend_from_slice(extra);
        rprov(work.path(), args)
    };

    // --check: what would change, as a diff, and nothing written.
    let run = adhoc(&["web", "-m", "copy", "-a", &copy_args, "--check"]);
    run.expect_code(0);
    assert!(run.stdout.contains("+hello from adhoc\n"), "{}", run.dump());
    assert!(run.stdout.contains("web1 | CHANGED => {"), "{}", run.dump());
    assert!(!dest.exists(), "--check wrote {}", dest.display());

    let run = adhoc(&["web", "-m", "copy", "-a", &copy_args]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("web1 | CHANGED => {"),
        "{}",
        run.dump()
    );
    assert!(run.stdout.contains("\"mode\": \"0640\""), "{}", run.dump());
    assert_eq!(
        fs::read_to_string(&dest).expect("the copied file"),
        "hello from adhoc\n"
    );
    let run = adhoc(&["web", "-m", "copy", "-a", &copy_args]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("web1 | SUCCESS => {"),
        "{}",
        run.dump()
    );

    // The default module is `command`; its output is shown as it is.
    let run = adhoc(&["web1", "-a", "id -un"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("web1 | CHANGED | rc=0 >>\n{USER}\n"));
    let run = adhoc(&["web1", "-b", "-a", "id -un"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "web1 | CHANGED | rc=0 >>\nroot\n");

    // --json: apply's events, one per line.
    // -vvv: the module's arguments, as ansible-core's `invocation`; not
    // below it.
    let run = adhoc(&["web1", "-m", "ping", "-a", "data=reachable", "-vvv"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "\"invocation\": {\n        \"module_args\": {\n            \"data\": \"reachable\"\n"
        ),
        "{}",
        run.dump()
    );
    let run = adhoc(&["web1", "-m", "ping", "-a", "data=reachable", "-vv"]);
    run.expect_code(0);
    assert!(!run.stdout.contains("invocation"), "{}", run.dump());

    let run = adhoc(&["web1", "-m", "ping", "--json"]);
    run.expect_code(0);
    let events = run.json_lines();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "task" && e["status"] == "ok" && e["result"]["ping"] == "pong"),
        "{}",
        run.dump()
    );

    // One host unreachable: the other still runs, and the exit code says so.
    let run = adhoc(&["all", "-m", "ping", "-T", "3"]);
    run.expect_code(4);
    assert!(run.stdout.contains("web1 | SUCCESS => {"), "{}", run.dump());
    assert!(
        run.stdout.contains("gone | UNREACHABLE! => {"),
        "{}",
        run.dump()
    );

    // A failing module: FAILED! with its message, exit 2.
    let missing = out.path().join("missing");
    let run = adhoc(&[
        "web1",
        "-m",
        "file",
        "-a",
        &format!("path={} state=file", missing.display()),
    ]);
    run.expect_code(2);
    assert!(
        run.stdout.starts_with("web1 | FAILED! => {"),
        "{}",
        run.dump()
    );

    // include_vars of an ansible-vault file: the whole result is hidden, as
    // ansible-core hides it, not only the encrypted values.
    let fixtures = common::fixtures().join("secrets_vars");
    let vault_file = fixtures.join("vault.yml").display().to_string();
    let password = fixtures.join("vault-password.txt").display().to_string();
    let run = adhoc(&[
        "web1",
        "-m",
        "include_vars",
        "-a",
        &vault_file,
        "--vault-password-file",
        &password,
    ]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("\"censored\": \"the output has been hidden"),
        "{}",
        run.dump()
    );
    assert!(!run.stdout.contains("vault_db"), "{}", run.dump());

    // `ansible_playbook_python`: this machine's Python, found on PATH.
    let run = adhoc(&[
        "localhost",
        "-m",
        "debug",
        "-a",
        "msg={{ ansible_playbook_python }}",
        "-o",
    ]);
    run.expect_code(0);
    let shown: serde_json::Value = run
        .stdout
        .split_once("=> ")
        .and_then(|(_, json)| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no result in {}", run.dump()));
    let python = shown["msg"].as_str().unwrap_or_default();
    assert!(
        python.starts_with('/') && std::path::Path::new(python).is_file(),
        "{}",
        run.dump()
    );

    // A pattern that names no host runs nothing, and says so.
    let run = adhoc(&["nosuchgroup", "-m", "ping"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("No hosts matched"), "{}", run.dump());
}
