//! Issue 18: a module rprov does not implement natively runs as Ansible's own
//! module, built by ansible-core on the controller (the test venv made by
//! tests/support/ansible-venv.sh) and run with the host's Python over the
//! loopback sshd. Differential: the registered results of `dpkg_selections`
//! and a module of a tiny collection beside the playbook
//! (tests/fixtures/ansible_fallback/collections) equal what ansible-playbook
//! registers for the same tasks, in a normal, a `--check` and a `--diff` run.
//! `getent` (whose `ansible_facts` become the host's) ran through the
//! fallback until rprov had it natively; it stays in the playbook, so its
//! native result is compared with ansible-core's own in the same runs.
//!
//! If the venv cannot be made the test FAILS, as the differential test does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixtures, rprov_env, target_dir, USER};
use rprov_testbed::Sshd;
use serde_json::{Map, Value};

fn dir() -> PathBuf {
    fixtures().join("ansible_fallback")
}

/// Environment shared by both tools: no user configuration, a private HOME.
fn env_for(home: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        (
            "ANSIBLE_CONFIG".into(),
            home.join("none.cfg").display().to_string(),
        ),
        (
            "ANSIBLE_LOCAL_TEMP".into(),
            home.join("tmp").display().to_string(),
        ),
        ("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH".into(), "False".into()),
        (
            "ANSIBLE_COLLECTIONS_PATH".into(),
            home.join("collections").display().to_string(),
        ),
    ]
}

fn run_ansible(
    v: &common::AnsibleVenv,
    home: &Path,
    inv: &Path,
    root: &Path,
    extra: &[&str],
) -> String {
    let root = format!("root={}", root.display());
    let mut args = vec!["-e", &root, "site.yml"];
    args.extend(extra);
    let (ok, text) = common::ansible_playbook(v, &dir(), inv, home, &args, &env_for(home));
    assert!(ok, "ansible-playbook failed:\n{text}");
    text
}

fn run_rprov(
    v: &common::AnsibleVenv,
    home: &Path,
    inv: &Path,
    playbook: &str,
    root: &Path,
    extra: &[&str],
) -> common::Run {
    let root_var = format!("root={}", root.display());
    let inv = inv.display().to_string();
    let mut args = vec!["apply", "-i", &inv, "-e", &root_var, playbook];
    args.extend(extra);
    let mut env = env_for(home);
    env.push((
        "RPROV_ANSIBLE_PYTHON".into(),
        v.python.display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    rprov_env(&dir(), &args, &env)
}

/// The results the playbook wrote, with what legitimately differs between
/// two runs removed: the path prefix of each tool's own root.
fn results(root: &Path) -> Map<String, Value> {
    let text = std::fs::read_to_string(root.join("results.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", root.join("results.json").display()));
    let text = text.replace(&root.display().to_string(), "ROOT");
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        other => panic!("results.json is not a mapping: {other:?}"),
    }
}

/// What the module without check mode registered (the normal runs).
fn nocheck(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("nc.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Compares the registered results key by key, for a readable failure.
fn assert_same(what: &str, ansible: &Map<String, Value>, rprov: &Map<String, Value>) {
    for (k, a) in ansible {
        let r = rprov.get(k).unwrap_or(&Value::Null);
        assert_eq!(
            a, r,
            "{what}: registered `{k}` differs\nansible: {a}\nrprov:   {r}"
        );
    }
    assert_eq!(
        ansible.keys().collect::<Vec<_>>(),
        rprov.keys().collect::<Vec<_>>(),
        "{what}"
    );
}

#[test]
fn fallback_modules_register_what_ansible_registers() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let home = work.path();
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);

    // A normal run: marker files are written, a passwd entry read.
    run_ansible(&v, home, &inv, by_ansible.path(), &[]);
    let before = sshd.exec_count();
    let run = run_rprov(
        &v,
        home,
        &inv,
        "site.yml",
        by_rprov.path(),
        &["--output", "json", "--timings"],
    );
    run.expect_code(0);
    let remote = sshd.exec_count() - before;
    assert_same(
        "first run",
        &results(by_ansible.path()),
        &results(by_rprov.path()),
    );
    assert_eq!(nocheck(by_ansible.path()), nocheck(by_rprov.path()));
    assert_eq!(nocheck(by_rprov.path())["value"], "v1");
    for f in ["marker.txt", "marker2.txt"] {
        assert_eq!(
            std::fs::read(by_ansible.path().join(f)).ok(),
            std::fs::read(by_rprov.path().join(f)).ok(),
            "{f}"
        );
    }
    // Fallback tasks are marked and counted apart: one remote command each
    // (getent is native: not one of them).
    let lines = run.json_lines();
    let fallback_tasks = lines
        .iter()
        .filter(|l| l["event"] == "task" && l["fallback"] == true)
        .count();
    assert_eq!(fallback_tasks, 4, "{}", run.dump());
    let t = lines
        .iter()
        .find_map(|l| l.get("timings"))
        .unwrap_or_else(|| panic!("no timings line\n{}", run.dump()));
    let h = &t["hosts"]["web1"];
    assert_eq!(h["fallbacks"], 4, "{t}");
    let counted = h["probes"].as_u64().unwrap_or(0)
        + h["actions"].as_u64().unwrap_or(0)
        + h["fallbacks"].as_u64().unwrap_or(0);
    assert_eq!(counted, remote as u64, "{t}");
    eprintln!("measured: {remote} remote commands, timings {t}");

    // Second run: everything as it is.
    run_ansible(&v, home, &inv, by_ansible.path(), &[]);
    let run = run_rprov(
        &v,
        home,
        &inv,
        "site.yml",
        by_rprov.path(),
        &["--output", "json"],
    );
    run.expect_code(0);
    assert_same(
        "second run",
        &results(by_ansible.path()),
        &results(by_rprov.path()),
    );

    // --diff: the marker's diff comes back, the registered result has it.
    for root in [by_ansible.path(), by_rprov.path()] {
        std::fs::remove_file(root.join("marker.txt")).expect("rm marker");
    }
    run_ansible(&v, home, &inv, by_ansible.path(), &["--diff"]);
    let run = run_rprov(&v, home, &inv, "site.yml", by_rprov.path(), &["--diff"]);
    run.expect_code(0);
    assert!(run.stdout.contains("+hello"), "{}", run.dump());
    assert!(run.stdout.contains("(ansible)"), "{}", run.dump());
    assert_same(
        "--diff run",
        &results(by_ansible.path()),
        &results(by_rprov.path()),
    );

    // --check: the modules are told; marker reports the change it would make
    // and makes none; nocheck does not support check mode (`unknown`).
    // (results.json is written with `check_mode: false` by both tools.)
    for root in [by_ansible.path(), by_rprov.path()] {
        std::fs::remove_file(root.join("marker.txt")).expect("rm marker");
    }
    run_ansible(
        &v,
        home,
        &inv,
        by_ansible.path(),
        &["--check", "-e", "selection=hold"],
    );
    let run = run_rprov(
        &v,
        home,
        &inv,
        "site.yml",
        by_rprov.path(),
        &["--check", "--output", "json", "-e", "selection=hold"],
    );
    run.expect_code(0);
    assert!(!by_rprov.path().join("marker.txt").exists());
    assert_same(
        "--check run",
        &results(by_ansible.path()),
        &results(by_rprov.path()),
    );
    // A module without check mode: Ansible skips it, rprov says `unknown`.
    let nc = std::fs::read_to_string(by_ansible.path().join("nc.json")).unwrap_or_default();
    assert!(nc.contains("\"skipped\": true"), "{nc}");
    let status = |name: &str| -> String {
        run.tasks()
            .iter()
            .find(|t| t["task"] == name)
            .map(|t| t["status"].as_str().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no task {name}\n{}", run.dump()))
    };
    assert_eq!(status("dpkg selection"), "changed", "{}", run.dump());
    assert_eq!(
        status("marker by its full name"),
        "changed",
        "{}",
        run.dump()
    );
    assert_eq!(status("marker by its short name"), "ok", "{}", run.dump());
    assert_eq!(
        status("a module without check mode"),
        "unknown",
        "{}",
        run.dump()
    );
    // The selection was not changed on the host.
    let sel = Command::new("dpkg")
        .args(["--get-selections", "openssh-server"])
        .output()
        .expect("dpkg");
    assert!(String::from_utf8_lossy(&sel.stdout).contains("install"));
}

#[test]
fn failures_name_the_task_and_what_to_do() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);

    // A module that fails: its msg.
    let run = run_rprov(&v, home, &inv, "fails.yml", root.path(), &[]);
    run.expect_code(2);
    assert!(
        run.stdout.contains("marker failed as asked"),
        "{}",
        run.dump()
    );

    // No Python at the interpreter named: the task and the path.
    let run = run_rprov(
        &v,
        home,
        &inv,
        "fails.yml",
        root.path(),
        &["-e", "ansible_python_interpreter=/nonexistent/python3"],
    );
    run.expect_code(2);
    let all = run.all();
    assert!(all.contains("marker that fails"), "{}", run.dump());
    assert!(all.contains("/nonexistent/python3"), "{}", run.dump());
    assert!(all.contains("no Python on the host"), "{}", run.dump());
    assert!(all.contains("fails.yml:4:7: no Python"), "{}", run.dump());

    // Under become, as any task: the file is root's.
    let run = run_rprov(&v, home, &inv, "become.yml", root.path(), &[]);
    run.expect_code(0);
    let meta = std::fs::metadata(root.path().join("root-owned.txt"))
        .unwrap_or_else(|e| panic!("{e}\n{}", run.dump()));
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta),
        0,
        "{}",
        run.dump()
    );

    // A module that lives in an action plugin: refused at load, saying why.
    let run = run_rprov(&v, home, &inv, "action_plugin.yml", root.path(), &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("action_plugin.yml:5:7"),
        "{}",
        run.dump()
    );
    assert!(run.stderr.contains("action plugin"), "{}", run.dump());

    // A module no one has.
    let run = run_rprov(&v, home, &inv, "unknown.yml", root.path(), &[]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("unknown module `rprovtest.tiny.nosuchthing`"),
        "{}",
        run.dump()
    );
}

#[test]
fn without_ansible_core_the_load_error_says_how_to_enable_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::write_inventory(work.path(), "web1 ansible_host=127.0.0.1\n");
    let inv = inv.display().to_string();
    // A Python that cannot import ansible.
    let run = rprov_env(
        &dir(),
        ["apply", "-i", &inv, "site.yml"],
        &[
            ("RPROV_ANSIBLE_PYTHON", "/usr/bin/python3"),
            ("PYTHONPATH", ""),
        ],
    );
    run.expect_code(1);
    let err = &run.stderr;
    assert!(err.contains("site.yml:18:7"), "{}", run.dump());
    assert!(err.contains("dpkg_selections"), "{}", run.dump());
    assert!(err.contains("not native to rprov"), "{}", run.dump());
    assert!(err.contains("pip install ansible-core"), "{}", run.dump());
    assert!(err.contains("RPROV_ANSIBLE_PYTHON"), "{}", run.dump());

    // `rprov modules` says which modules are native and that the fallback is off.
    let run = rprov_env(
        &dir(),
        ["modules"],
        &[("RPROV_ANSIBLE_PYTHON", "/usr/bin/python3")],
    );
    run.expect_code(0);
    assert!(run.stdout.starts_with("Native modules"), "{}", run.dump());
    assert!(
        run.stdout.contains("fallback, which is off"),
        "{}",
        run.dump()
    );
}

/// A task whose module rprov cannot run, on a condition (the other system's
/// task of a role written for several: `yum` when RedHat), is no load error:
/// it is skipped like any task whose condition is false, and fails with the
/// load error's words only if it runs. Without a condition it stays a load
/// error (the test above).
#[test]
fn a_conditional_task_rprov_cannot_run_fails_only_if_it_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(
        work.path().join("site.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - name: only on RedHat\n      yum: name=httpd\n      when: ansible_os_family | default('Debian') == 'RedHat'\n\
         \x20   - name: on this host it runs\n      pip: name=requests\n      when: true\n      ignore_errors: true\n      register: p\n\
         \x20   - copy:\n        dest: \"{{ out }}/msg\"\n        content: \"{{ p.msg }}\"\n",
    )
    .expect("write");
    let run = rprov_env(
        work.path(),
        [
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            &format!("out={}", out.display()),
            "site.yml",
        ],
        &[
            ("RPROV_ANSIBLE_PYTHON", "/usr/bin/python3"),
            ("PYTHONPATH", ""),
        ],
    );
    run.expect_code(0);
    let msg = std::fs::read_to_string(out.join("msg")).unwrap_or_default();
    assert!(
        msg.contains("site.yml:8:7: unknown module `pip`"),
        "{msg}\n{}",
        run.dump()
    );
    assert!(msg.contains("Ansible fallback is off"), "{msg}");
    assert!(run.stdout.contains("skipped"), "{}", run.dump());
}

/// With ansible-core on the controller, a module that only an action's
/// redirect names (2.19's `yum`, redirected to `dnf`) resolves as
/// ansible-core resolves it: on a conditional task it waits, and without a
/// condition the load error names what it resolved to.
#[test]
fn a_module_ansible_core_redirects_resolves_as_it_does() {
    let v = common::ansible_venv();
    let py = v.python.display().to_string();
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("when.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - yum: name=httpd\n      when: false\n",
    )
    .expect("write");
    std::fs::write(
        w.join("always.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - yum: name=httpd\n",
    )
    .expect("write");
    let env = [("RPROV_ANSIBLE_PYTHON", py.as_str())];
    let apply = |file: &str| rprov_env(w, ["apply", "-i", "localhost,", "-c", "local", file], &env);
    let run = apply("when.yml");
    run.expect_code(0);
    assert!(run.stdout.contains("skipped"), "{}", run.dump());
    let run = apply("always.yml");
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("module `yum` is not native to rprov, and Ansible's `ansible.builtin.dnf`"),
        "{}",
        run.dump()
    );
}

/// Roles installed by ansible-galaxy are found where Ansible finds them: in
/// `~/.ansible/roles` (the default roles_path), in `$ANSIBLE_ROLES_PATH`, and
/// in the `roles/` of an installed collection (`namespace.collection.role`,
/// from `$ANSIBLE_COLLECTIONS_PATH`). A missing role that a requirements.yml
/// lists gets the ansible-galaxy command to install it.
#[test]
fn galaxy_roles_are_found_where_ansible_finds_them() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path().join("home");
    let pb = work.path().join("pb");
    let extra_roles = work.path().join("extra-roles");
    let write = |p: PathBuf, text: &str| {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    };
    let copy_task = |name: &str| {
        format!("- copy:\n    content: \"{name}\\n\"\n    dest: \"{{{{ root }}}}/{name}.txt\"\n")
    };
    write(
        home.join(".ansible/roles/homerole/tasks/main.yml"),
        &copy_task("homerole"),
    );
    write(
        extra_roles.join("envrole/tasks/main.yml"),
        &copy_task("envrole"),
    );
    write(
        pb.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  roles:\n    - homerole\n    - rprovtest.tiny.greet\n",
    );
    write(
        pb.join("short.yml"),
        "- hosts: all\n  gather_facts: false\n  collections: [rprovtest.tiny]\n  roles:\n    - greet\n",
    );
    write(
        pb.join("env.yml"),
        "- hosts: all\n  gather_facts: false\n  roles:\n    - envrole\n",
    );
    write(
        pb.join("missing.yml"),
        "- hosts: all\n  gather_facts: false\n  roles:\n    - geerlingguy.docker\n",
    );
    write(
        pb.join("roles/requirements.yml"),
        "- src: https://github.com/geerlingguy/ansible-role-docker.git\n  name: geerlingguy.docker\n",
    );
    write(
        pb.join("requirements.yml"),
        "collections:\n  - name: acme.missing\n    version: \">=1.0\"\n",
    );
    write(
        pb.join("missing_collection.yml"),
        "- hosts: all\n  gather_facts: false\n  roles:\n    - acme.missing.web\n",
    );
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let inv = inv.display().to_string();
    let root = target_dir(USER);
    let root_var = format!("root={}", root.path().display());
    let home_s = home.display().to_string();
    let colls = dir().join("collections").display().to_string();
    let env = [
        ("HOME", home_s.as_str()),
        ("ANSIBLE_COLLECTIONS_PATH", colls.as_str()),
    ];
    let run = rprov_env(
        &pb,
        ["apply", "-i", &inv, "-e", &root_var, "site.yml"],
        &env,
    );
    run.expect_code(0);
    assert!(root.path().join("homerole.txt").exists(), "{}", run.dump());
    let greet = std::fs::read_to_string(root.path().join("greet.txt")).unwrap_or_default();
    assert_eq!(greet, "hello from rprovtest.tiny.greet\n", "{}", run.dump());

    // The short name, with the play's `collections:`.
    std::fs::remove_file(root.path().join("greet.txt")).expect("rm greet");
    let run = rprov_env(
        &pb,
        ["apply", "-i", &inv, "-e", &root_var, "short.yml"],
        &env,
    );
    run.expect_code(0);
    assert!(root.path().join("greet.txt").exists(), "{}", run.dump());

    let extra = extra_roles.display().to_string();
    let run = rprov_env(
        &pb,
        ["apply", "-i", &inv, "-e", &root_var, "env.yml"],
        &[
            ("HOME", home_s.as_str()),
            ("ANSIBLE_ROLES_PATH", extra.as_str()),
        ],
    );
    run.expect_code(0);
    assert!(root.path().join("envrole.txt").exists(), "{}", run.dump());

    let run = rprov_env(&pb, ["apply", "-i", &inv, "missing.yml"], &env);
    run.expect_code(1);
    assert!(
        run.stderr.contains("role `geerlingguy.docker` not found"),
        "{}",
        run.dump()
    );
    assert!(
        run.stderr.contains("ansible-galaxy install -r")
            && run.stderr.contains("roles/requirements.yml"),
        "{}",
        run.dump()
    );
    let run = rprov_env(&pb, ["apply", "-i", &inv, "missing_collection.yml"], &env);
    run.expect_code(1);
    assert!(
        run.stderr.contains("ansible-galaxy collection install -r")
            && run.stderr.contains("pb/requirements.yml"),
        "{}",
        run.dump()
    );
}

/// A secret given to a fallback module is masked in its diff and in its
/// registered result, in human and JSON output, like any other.
#[test]
fn secrets_are_masked_in_fallback_results() {
    const SECRET: &str = "S3cr3t-Fallback-Value";
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let site = work.path().join("site");
    common::copy_dir(&dir(), &site);
    let (id, recipient) = common::age::keygen(work.path(), "id.txt");
    common::age::encrypt_to(
        &format!("fallback_secret: {SECRET}\n"),
        &recipient,
        &site.join("secrets.age"),
    );
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let py = v.python.display().to_string();
    let env = [("RPROV_ANSIBLE_PYTHON", py.as_str())];
    let inv = inv.display().to_string();
    let root_var = format!("root={}", root.path().display());
    let id = id.display().to_string();
    for extra in [&["--diff", "-v"][..], &["--output", "json", "--diff"][..]] {
        let _ = std::fs::remove_file(root.path().join("secret.txt"));
        let mut args = vec!["apply", "-i", &inv, "--identity", &id, "-e", &root_var];
        args.extend(extra);
        args.push("secret.yml");
        let run = rprov_env(&site, &args, &env);
        run.expect_code(0);
        assert!(
            !run.all().contains(SECRET),
            "{extra:?} leaked it\n{}",
            run.dump()
        );
        assert!(
            run.all().contains("«secret:"),
            "{extra:?}: nothing masked\n{}",
            run.dump()
        );
        assert!(run.all().contains("(ansible)") || run.all().contains("\"fallback\":true"));
        assert_eq!(
            std::fs::read_to_string(root.path().join("secret.txt")).unwrap_or_default(),
            SECRET
        );
    }
}

/// An unnamed task's line says its module as the task wrote it, as Ansible's
/// `TASK [...]` does (not the name it resolved to), and `collections:` of a
/// play, a block and a role's meta/main.yml is where short module names are
/// looked up, as in ansible-core (which runs the same playbooks here).
#[test]
fn unnamed_tasks_and_collections_as_ansible() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    let root = format!("root={}", by_ansible.path().display());
    let (ok, text) = common::ansible_playbook(
        &v,
        &dir(),
        &inv,
        home,
        &["-e", &root, "names.yml"],
        &env_for(home),
    );
    assert!(ok, "ansible-playbook failed:\n{text}");
    for line in [
        "TASK [dpkg_selections]",
        "TASK [marker]",
        "TASK [rprovtest.tiny.marker]",
        "TASK [ansible.builtin.stat]",
        "TASK [metacoll : marker]",
    ] {
        assert!(text.contains(line), "ansible says {line}:\n{text}");
    }

    let run = run_rprov(&v, home, &inv, "names.yml", by_rprov.path(), &[]);
    run.expect_code(0);
    for line in [
        "[web1] dpkg_selections (ansible)",
        "[web1] marker (ansible)",
        "[web1] rprovtest.tiny.marker (ansible)",
        "[web1] ansible.builtin.stat\n",
        "[web1] metacoll : marker (ansible)",
    ] {
        assert!(
            run.stdout.contains(line),
            "rprov says {line}\n{}",
            run.dump()
        );
    }
    for f in ["short.txt", "full.txt", "block.txt", "role.txt"] {
        let a = std::fs::read(by_ansible.path().join(f)).ok();
        assert!(a.is_some(), "ansible wrote no {f}");
        assert_eq!(a, std::fs::read(by_rprov.path().join(f)).ok(), "{f}");
    }

    // A role does not see the play's `collections:`: both tools refuse it.
    let (ok, text) = common::ansible_playbook(
        &v,
        &dir(),
        &inv,
        home,
        &["-e", &root, "role_no_inherit.yml"],
        &env_for(home),
    );
    assert!(!ok && text.contains("marker"), "ansible-playbook:\n{text}");
    let run = run_rprov(&v, home, &inv, "role_no_inherit.yml", by_rprov.path(), &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("unknown module `marker`")
            && run.stderr.contains("roles/nocoll/tasks/main.yml:2:3"),
        "{}",
        run.dump()
    );
    assert!(!by_rprov.path().join("never.txt").exists());
}

/// The fixture of custom modules: `library/` beside the playbook (with a
/// `ping` of its own and `module_utils/`), and roles with `library/` and
/// `module_utils/` (tests/fixtures/ansible_fallback_library).
fn library_dir() -> PathBuf {
    fixtures().join("ansible_fallback_library")
}

/// `changed=N` of `host` in ansible-playbook's recap.
fn ansible_changed(text: &str, host: &str) -> u64 {
    text.lines()
        .filter(|l| l.trim_start().starts_with(host) && l.contains("changed="))
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no recap line for {host}:\n{text}"))
}

/// Custom modules of `library/` folders, found where Ansible finds them: a
/// role's (from its tasks, from a `pre_tasks` task before it, from the play's
/// tasks after it; one importing the role's `module_utils/`), the playbook's
/// (importing the playbook's `module_utils/`, its argument from
/// `module_defaults` under its short name), and a `ping` of the playbook's
/// `library/` that both tools run instead of the builtin for `ping` and
/// `ansible.legacy.ping`, while `ansible.builtin.ping` stays the builtin;
/// modules in shell (old style and `WANT_JSON`) on a host without the Python
/// they are told about.
/// Registered results and changed counts equal ansible-playbook's, in a first
/// and a second run.
#[test]
fn custom_modules_of_library_folders_as_ansible() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    let root_a = format!("root={}", by_ansible.path().display());
    let root_r = format!("root={}", by_rprov.path().display());
    let inv_s = inv.display().to_string();
    let mut env = env_for(home);
    env.push((
        "RPROV_ANSIBLE_PYTHON".into(),
        v.python.display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // First run: every file is written; second: only the custom `ping`s and
    // the old-style shell module
    // (always changed) and the results file change.
    for (round, want_changed) in [(1, 8), (2, 4)] {
        let (ok, text) = common::ansible_playbook(
            &v,
            &library_dir(),
            &inv,
            home,
            &["-e", &root_a, "site.yml"],
            &env_for(home),
        );
        assert!(ok, "ansible-playbook failed:\n{text}");
        let run = rprov_env(
            &library_dir(),
            [
                "apply", "-i", &inv_s, "-e", &root_r, "--output", "json", "site.yml",
            ],
            &env,
        );
        run.expect_code(0);
        assert_eq!(
            ansible_changed(&text, "web1"),
            want_changed,
            "round {round}: {text}"
        );
        assert_eq!(
            run.recap("web1")["changed"],
            want_changed,
            "round {round}: {}",
            run.dump()
        );
        let (a, r) = (results(by_ansible.path()), results(by_rprov.path()));
        assert_same(&format!("round {round}"), &a, &r);
        assert_eq!(r["short_ping"]["custom"], "playbook library", "{r:?}");
        assert_eq!(r["legacy_ping"]["custom"], "playbook library", "{r:?}");
        assert_eq!(r["builtin_ping"], "pong", "{r:?}");
        assert_eq!(r["role_utilmod"]["said"], "HELLO!", "{r:?}");
        assert_eq!(r["pl"]["text"], "[beside the playbook]\n", "{r:?}");
        // The custom modules ran through the fallback; the builtin `ping` natively.
        let fallback: Vec<String> = run
            .tasks()
            .iter()
            .filter(|t| t["fallback"] == true)
            .filter_map(|t| t["task"].as_str().map(str::to_string))
            .collect();
        assert_eq!(fallback.len(), 9, "{fallback:?}\n{}", run.dump());
        // Shell modules, with no Python: arguments as a sourced k=v file and
        // as JSON.
        assert_eq!(r["sh_old"]["msg"], "hello world", "{r:?}");
        assert_eq!(r["sh_old"]["check"], "False", "{r:?}");
        assert_eq!(r["sh_json"]["msg"], "json says it all", "{r:?}");
    }
    for f in ["pre.txt", "role.txt", "later.txt", "pl.txt"] {
        let a = std::fs::read(by_ansible.path().join(f)).ok();
        assert!(a.is_some(), "ansible wrote no {f}");
        assert_eq!(a, std::fs::read(by_rprov.path().join(f)).ok(), "{f}");
    }
}

/// `async` on a module run through the fallback: with `poll: 0` it is a job
/// on the host that `async_status` reports with the module's own result;
/// waited for, the result carries the job's keys. `async` and `poll` as
/// templates are rendered per host (`omit` is a task that waits, a command
/// is a job too). `args:` as one template gives a fallback module the
/// arguments its own line does not. Registered results compared with
/// ansible-playbook's.
#[test]
fn async_fallback_modules_and_templated_async_as_ansible() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    let root_a = format!("root={}", by_ansible.path().display());
    let root_r = format!("root={}", by_rprov.path().display());
    let (ok, text) = common::ansible_playbook(
        &v,
        &library_dir(),
        &inv,
        home,
        &["-e", &root_a, "async.yml"],
        &env_for(home),
    );
    assert!(ok, "ansible-playbook failed:\n{text}");
    let mut env = env_for(home);
    env.push((
        "RPROV_ANSIBLE_PYTHON".into(),
        v.python.display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let inv_s = inv.display().to_string();
    let run = rprov_env(
        &library_dir(),
        ["apply", "-i", &inv_s, "-e", &root_r, "async.yml"],
        &env,
    );
    run.expect_code(0);
    let (a, r) = (results(by_ansible.path()), results(by_rprov.path()));
    assert_same("async", &a, &r);
    assert_eq!(r["job"]["text"], "[in the background]\n", "{r:?}");
    assert_eq!(r["started_finished"], false, "{r:?}");
    assert_eq!(r["waited_has_job"], true, "{r:?}");
    assert_eq!(r["cmd_job"], "from a job", "{r:?}");
    assert_eq!(
        r["templated_args"]["text"], "[from the module's line]\n",
        "{r:?}"
    );
    for f in ["bg.txt", "fg.txt", "omitted.txt", "from-args.txt"] {
        let a = std::fs::read(by_ansible.path().join(f)).ok();
        assert!(a.is_some(), "ansible wrote no {f}");
        assert_eq!(a, std::fs::read(by_rprov.path().join(f)).ok(), "{f}");
    }
}

/// Custom modules that carry nothing of Ansible (old style and `WANT_JSON`
/// shell modules) run with the fallback off: rprov builds them itself, with
/// the arguments file ansible-core writes (a quote in a value stays one word).
#[test]
fn custom_shell_modules_run_without_ansible_core() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let run = rprov_env(
        &library_dir(),
        [
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            &format!("out={}", out.display()),
            "--output",
            "json",
            "shell_only.yml",
        ],
        &[
            ("RPROV_ANSIBLE_PYTHON", "/usr/bin/python3"),
            ("PYTHONPATH", ""),
        ],
    );
    run.expect_code(0);
    let text = std::fs::read_to_string(out.join("shell.json")).unwrap_or_default();
    let r: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("shell.json: {e}: {text}\n{}", run.dump()));
    assert_eq!(r["sh_old"]["msg"], "hello it's me", "{r}");
    assert_eq!(r["sh_old"]["check"], "False", "{r}");
    assert_eq!(r["sh_old"]["changed"], true, "{r}");
    assert_eq!(r["sh_json"]["msg"], "json says all of it", "{r}");
    assert_eq!(run.recap("localhost")["failed"], 0, "{}", run.dump());
}

/// A custom module named like one of rprov's native modules, with the
/// fallback off: running rprov's own would do something else than the
/// playbook says, so it is a load error saying how to get either.
#[test]
fn a_custom_module_over_a_native_one_needs_the_fallback() {
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::write_inventory(work.path(), "web1 ansible_host=127.0.0.1\n");
    let inv = inv.display().to_string();
    let run = rprov_env(
        &library_dir(),
        ["apply", "-i", &inv, "off.yml"],
        &[
            ("RPROV_ANSIBLE_PYTHON", "/usr/bin/python3"),
            ("PYTHONPATH", ""),
        ],
    );
    run.expect_code(1);
    let err = &run.stderr;
    assert!(err.contains("off.yml:5:7"), "{}", run.dump());
    assert!(
        err.contains("custom module of a `library/` folder"),
        "{}",
        run.dump()
    );
    assert!(err.contains("ansible.builtin.ping"), "{}", run.dump());
    assert!(err.contains("pip install ansible-core"), "{}", run.dump());
}

/// The `library` setting (`ANSIBLE_LIBRARY`, here a folder whose modules sit
/// one folder down, as ansible-core's loader looks): its `getent` wins over
/// the builtin for both tools, `ansible.builtin.getent` stays the builtin.
#[test]
fn custom_modules_of_the_library_setting_as_ansible() {
    let v = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let inv =
        common::one_host_inventory_with_python(work.path(), &sshd, "web1", "/usr/bin/python3");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    let root_a = format!("root={}", by_ansible.path().display());
    let root_r = format!("root={}", by_rprov.path().display());
    let inv_s = inv.display().to_string();
    let mut env = env_for(home);
    env.push((
        "ANSIBLE_LIBRARY".into(),
        library_dir()
            .join("configured_library")
            .display()
            .to_string(),
    ));
    let (ok, text) = common::ansible_playbook(
        &v,
        &library_dir(),
        &inv,
        home,
        &["-e", &root_a, "configured.yml"],
        &env,
    );
    assert!(ok, "ansible-playbook failed:\n{text}");
    env.push((
        "RPROV_ANSIBLE_PYTHON".into(),
        v.python.display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = rprov_env(
        &library_dir(),
        [
            "apply",
            "-i",
            &inv_s,
            "-e",
            &root_r,
            "--output",
            "json",
            "configured.yml",
        ],
        &env,
    );
    run.expect_code(0);
    assert_eq!(ansible_changed(&text, "web1"), 1, "{text}");
    assert_eq!(run.recap("web1")["changed"], 1, "{}", run.dump());
    let (a, r) = (results(by_ansible.path()), results(by_rprov.path()));
    assert_same("library setting", &a, &r);
    assert_eq!(r["custom_ge"]["custom"], "library setting", "{r:?}");
    assert_eq!(r["builtin_ge"][0], "x", "{r:?}");
}

/// Filters, tests and lookups written in Python (`filter_plugins/`,
/// `test_plugins/`, `lookup_plugins/` beside the playbook and in a role, and
/// a collection's, by their full names; tests/fixtures/ansible_jinja_plugins)
/// and action plugins of `action_plugins/` with no module of their name run
/// through ansible-core on the
/// controller: arguments, keyword arguments, nested values, a `with_<lookup>`
/// loop and the lookup's view of the play's variables give what
/// ansible-playbook gives. A plugin's exception fails the task with its
/// words; without ansible-core a warning names the folder and how to enable
/// the fallback, and the filter is unknown.
#[test]
fn python_jinja_plugins_as_ansible() {
    let v = common::ansible_venv();
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let dir = fixtures().join("ansible_jinja_plugins");
    let inv = home.join("hosts");
    std::fs::write(
        &inv,
        format!(
            "localhost ansible_connection=local ansible_python_interpreter={}\n",
            v.python.display()
        ),
    )
    .expect("write inventory");
    let (by_ansible, by_rprov) = (home.join("a"), home.join("r"));
    for d in [&by_ansible, &by_rprov] {
        std::fs::create_dir(d).expect("mkdir");
    }
    let root_a = format!("root={}", by_ansible.display());
    let (ok, text) = common::ansible_playbook(
        &v,
        &dir,
        &inv,
        home,
        &["-e", &root_a, "site.yml"],
        &env_for(home),
    );
    assert!(ok, "ansible-playbook failed:\n{text}");
    let mut env = env_for(home);
    env.push((
        "RPROV_ANSIBLE_PYTHON".into(),
        v.python.display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let inv_s = inv.display().to_string();
    let root_r = format!("root={}", by_rprov.display());
    let run = rprov_env(
        &dir,
        ["apply", "-i", &inv_s, "-e", &root_r, "site.yml"],
        &env,
    );
    run.expect_code(0);
    let read = |d: &Path| -> Value {
        let text = std::fs::read_to_string(d.join("results.json")).expect("results.json");
        serde_json::from_str(&text).expect("results.json is JSON")
    };
    let (a, r) = (read(&by_ansible), read(&by_rprov));
    assert_eq!(a, r, "rprov's results differ from ansible-playbook's");
    assert_eq!(r["shout_args"], "HI???", "{r}");
    assert_eq!(r["looped"], serde_json::json!(["ba", "dc", "hello"]), "{r}");
    assert_eq!(r["selected"], serde_json::json!(["bb", "cc"]), "{r}");
    assert_eq!(r["role"], "said in a role", "{r}");
    // A controller action plugin with no module: its arguments and the
    // task's variables; one that raises fails its task with the text.
    assert_eq!(
        r["action"],
        serde_json::json!([true, {"a": 1, "b": "HELLO"}, "hello"]),
        "{r}"
    );
    assert_eq!(
        r["raised"],
        serde_json::json!([true, "Task failed: boom"]),
        "{r}"
    );
    // A controller action plugin that runs a module on its host: over the
    // host's connection.
    assert_eq!(r["on_host"], serde_json::json!(["hello", 0]), "{r}");
    // A collection's filter, test and lookup, by their full names.
    assert_eq!(r["collection_filter"], serde_json::json!([2, 0]), "{r}");
    assert_eq!(r["collection_test_is"], true, "{r}");
    assert_eq!(
        r["collection_lookup"],
        serde_json::json!(["x", "x", "y", "y"]),
        "{r}"
    );

    let run = rprov_env(&dir, ["apply", "-i", &inv_s, "broken.yml"], &env);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("filter broken: ValueError: the filter refuses 'x'"),
        "{}",
        run.dump()
    );

    let off = [("RPROV_ANSIBLE_PYTHON", "/nonexistent/python")];
    let run = rprov_env(&dir, ["apply", "-i", &inv_s, "broken.yml"], &off);
    run.expect_code(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("filter_plugins are written in Python, which rprov runs through the Ansible fallback, and it is off")
            && all.contains("RPROV_ANSIBLE_PYTHON"),
        "{}",
        run.dump()
    );
    assert!(all.contains("filter broken is unknown"), "{}", run.dump());
    // The `with_backwards` loop cannot run: refused when the playbook loads.
    let run = rprov_env(&dir, ["apply", "-i", &inv_s, "loop.yml"], &off);
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "`with_backwards` loops over the `backwards` lookup, which rprov does not have"
        ) && run
            .stderr
            .contains("runs through the Ansible fallback, which is off"),
        "{}",
        run.dump()
    );
    // Nor can an action plugin: refused when the playbook loads.
    let run = rprov_env(
        &dir,
        ["apply", "-i", &inv_s, "-e", &root_r, "site.yml"],
        &off,
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "unknown module `echo_args`: it is not native to rprov, and the Ansible fallback is off"
        ),
        "{}",
        run.dump()
    );
}

/// `--ansible-fallback custom`: the playbook's own Python plugins (an action
/// plugin, a filter, a test, a lookup) run through ansible-core, while
/// ansible-core's modules and a collection's plugins are refused: a builtin
/// module rprov lacks is a load error (skipped on a false condition), a
/// collection's filter fails its task. `off` refuses the custom ones too.
#[test]
fn the_fallback_can_be_limited_to_custom_plugins() {
    let v = common::ansible_venv();
    let work = tempfile::tempdir().expect("tempdir");
    let home = work.path();
    let dir = fixtures().join("ansible_jinja_plugins");
    let inv = home.join("hosts");
    std::fs::write(&inv, "localhost ansible_connection=local\n").expect("write inventory");
    let inv = inv.display().to_string();
    let mut env = env_for(home);
    env.push((
        "RPROV_ANSIBLE_PYTHON".into(),
        v.python.display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let apply = |scope: &str, playbook: &str| {
        let mut args = vec!["apply", "--output", "json", "-i", &inv, playbook];
        args.extend(["--ansible-fallback", scope]);
        rprov_env(&dir, &args, &env)
    };

    let run = apply("custom", "custom_only.yml");
    run.expect_code(2);
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("\"status\":\"failed\""))
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "one task fails, the collection's filter:\n{}",
        run.dump()
    );
    assert!(
        failed[0].contains("a collection's filter")
            && failed[0].contains("runs only custom plugins here"),
        "{}",
        run.dump()
    );
    for (task, status) in [
        ("the playbook's own action plugin", "changed"),
        ("\"task\":\"assert\"", "ok"),
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(task) && l.contains(&format!("\"status\":\"{status}\""))),
            "{task} should be {status}:\n{}",
            run.dump()
        );
    }

    let run = apply("custom", "custom_only_builtin.yml");
    run.expect_code(1);
    assert!(
        run.stderr.contains("custom_only_builtin.yml:5:7")
            && run
                .stderr
                .contains("runs only custom modules and plugins here, not ansible-core's or a collection's `ansible.builtin.pip`"),
        "{}",
        run.dump()
    );
    // With the whole fallback, the same module loads.
    let run = apply("all", "custom_only_builtin.yml");
    assert!(!run.stderr.contains("runs only custom"), "{}", run.dump());

    let run = apply("off", "custom_only.yml");
    run.expect_code(1);
    assert!(
        run.stderr.contains("echo_args") && run.stderr.contains("--ansible-fallback off"),
        "{}",
        run.dump()
    );
}
