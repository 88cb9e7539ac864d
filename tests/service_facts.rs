//! Issue 18: `service_facts` is native (`src/modules/service_facts.rs`): no
//! Python on the host, one remote command, Ansible's `ansible_facts.services`.
//!
//! The loopback host has no systemd as PID 1 (docs: TESTBED), so what it
//! lists here is what `service --status-all` lists, exactly as ansible-core's
//! module lists it on the same host: the differential test compares the two
//! registered results whole. The systemd half is compared with ansible-core's
//! own parsing code in the module's unit tests (fixtures in
//! tests/fixtures/service_facts), and runs for real in the VM
//! (`tests/vm_modules.rs`).

mod common;

use std::path::{Path, PathBuf};

use common::{apply_json, fixtures, rprov, target_dir, USER};
use rprov_testbed::Sshd;
use serde_json::Value;

fn dir() -> PathBuf {
    fixtures().join("service_facts")
}

/// What the playbook registered from `service_facts`, as it wrote it.
fn registered(root: &Path) -> Value {
    let path = root.join("results.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

#[test]
fn registers_what_ansible_registers() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    for extra in [&[][..], &["--check"][..]] {
        let root = format!("root={}", by_ansible.path().display());
        let mut args = vec!["-e", &root, "site.yml"];
        args.extend(extra);
        let (ok, text) = common::ansible_playbook(&v, &dir(), &inv, work.path(), &args, &[]);
        assert!(ok, "ansible-playbook {extra:?} failed:\n{text}");

        let root = format!("root={}", by_rprov.path().display());
        let mut args = vec!["-e", &root, "site.yml"];
        args.extend(extra);
        let run = apply_json(&dir(), &inv, &args);
        run.expect_code(0);
        let status = run
            .tasks()
            .iter()
            .find(|t| t["task"] == "service facts")
            .map(|t| t["status"].clone());
        assert_eq!(status, Some("ok".into()), "{extra:?}\n{}", run.dump());
        assert!(
            run.tasks().iter().all(|t| t.get("fallback").is_none()),
            "{}",
            run.dump()
        );

        let (a, r) = (registered(by_ansible.path()), registered(by_rprov.path()));
        assert_eq!(a, r, "{extra:?}: registered results differ");
        let services = r["ansible_facts"]["services"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(services.contains_key("ssh"), "{extra:?}: {r}");
        assert_eq!(r["changed"], false);
        let sources: Vec<&str> = services
            .values()
            .filter_map(|s| s["source"].as_str())
            .collect();
        let booted = Path::new("/run/systemd/system").is_dir();
        assert!(
            booted || sources.iter().all(|s| *s == "sysv"),
            "no systemd here, yet {sources:?}"
        );
    }
}

/// The probe is the task's only remote command, and no Python is used: the
/// host's interpreter is named as one that does not exist.
#[test]
fn one_remote_command_and_no_python() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/nonexistent/python3");
    for extra in [&[][..], &["--check"][..]] {
        let before = sshd.exec_count();
        let mut args = vec!["only.yml", "-v"];
        args.extend(extra);
        let run = apply_json(&dir(), &inv, &args);
        run.expect_code(0);
        assert_eq!(sshd.exec_count() - before, 1, "{extra:?}\n{}", run.dump());
        let recap = run.recap("web1");
        assert_eq!(recap["remote_commands"], 1, "{}", run.dump());
        assert_eq!(recap["ok"], 1, "{}", run.dump());
        assert_eq!(recap["changed"], 0, "{}", run.dump());
        let task = &run.tasks()[0];
        assert_eq!(task["task"], "service_facts", "{}", run.dump());
        assert!(
            task["result"]["ansible_facts"]["services"]["ssh"].is_object(),
            "{}",
            run.dump()
        );
    }
}

#[test]
fn an_argument_is_refused_when_the_playbook_loads() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::write_inventory(work.path(), "web1 ansible_host=127.0.0.1\n");
    let inv = inv.display().to_string();
    let run = rprov(&dir(), ["apply", "-i", &inv, "bad_arg.yml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("unknown argument `pattern` for module `service_facts`"),
        "{}",
        run.dump()
    );
    assert!(run.stderr.contains("bad_arg.yml:5:9"), "{}", run.dump());
    assert!(
        run.stderr.contains("`service_facts` takes no arguments"),
        "{}",
        run.dump()
    );
}

/// `rprov modules` lists both modules of issue 18 as native, run on the host.
#[test]
fn modules_lists_them_as_native() {
    let run = rprov(&dir(), ["modules", "--json"]);
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).expect("modules --json");
    for name in ["service_facts", "wait_for_connection"] {
        let m = doc["modules"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["name"] == name))
            .unwrap_or_else(|| panic!("{name} not listed\n{}", run.dump()));
        assert_eq!(m["native"], true, "{m}");
        assert_eq!(m["runs_on"], "host", "{m}");
    }
    let run = rprov(&dir(), ["modules"]);
    run.expect_code(0);
    let native = run.stdout.split("fallback").next().unwrap_or("");
    assert!(native.contains("\nservice_facts "), "{}", run.dump());
    assert!(native.contains("(no arguments)"), "{}", run.dump());
    assert!(
        native.contains("\nwait_for_connection ") && native.contains("connect_timeout, delay"),
        "{}",
        run.dump()
    );
}
