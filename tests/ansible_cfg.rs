//! Issue 11: ansible.cfg and `ANSIBLE_*` variables over a real loopback sshd.
//! The user's ssh arguments and `host_key_checking` decide host key checking
//! as in Ansible, while rprov's own default stays strict and a changed key
//! stays refused unless the user turned checking off; a missing handler
//! fails the task that notifies it unless `error_on_missing_handler` says
//! otherwise.

mod common;

use std::fs;
use std::path::Path;

use common::{rprov_env, target_dir, Run, USER};
use rprov_testbed::Sshd;

const PING: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: look at /\n      stat:\n        path: /\n";

/// `web1` reached through `sshd` with these `ansible_ssh_common_args` and
/// more inline variables.
fn inventory_line(sshd: &Sshd, common_args: &str, more: &str) -> String {
    format!(
        "web1 ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_common_args='{common_args}' {more}\n",
        sshd.addr,
        sshd.port,
        sshd.user,
        sshd.key_file.display()
    )
}

fn apply_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["apply", "--output", "json"];
    all.extend_from_slice(args);
    rprov_env(dir, all, env)
}

/// The only `warning:` line of the run's stderr.
fn the_one_warning(run: &Run) -> &str {
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.dump());
    warnings[0]
}

#[test]
fn the_inventorys_ssh_args_can_turn_host_key_checking_off() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    fs::write(work.path().join("ping.yml"), PING).expect("playbook");
    // What throw-away VMs are often given: no known_hosts, no checking.
    let off = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null";
    common::write_inventory(work.path(), &inventory_line(&sshd, off, ""));
    let run = apply_in(work.path(), &["-i", "hosts.ini", "ping.yml"], &[]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["ok"], 1, "{}", run.dump());

    // Without the user's StrictHostKeyChecking=no, rprov's default is strict.
    let only_file = "-o UserKnownHostsFile=/dev/null";
    common::write_inventory(work.path(), &inventory_line(&sshd, only_file, ""));
    let run = apply_in(work.path(), &["-i", "hosts.ini", "ping.yml"], &[]);
    run.expect_code(4);
    assert!(run.all().contains("web1"), "{}", run.dump());
}

#[test]
fn a_changed_host_key_is_refused_unless_checking_is_turned_off() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    fs::write(dir.join("ping.yml"), PING).expect("playbook");
    let known = dir.join("known_hosts");
    let other = sshd.known_hosts_line_with_other_key().expect("other key");
    fs::write(&known, &other).expect("write known_hosts");
    let kh = format!("-o UserKnownHostsFile={}", known.display());
    let inv = |common: &str, more: &str| {
        common::write_inventory(dir, &inventory_line(&sshd, common, more));
    };
    let cfg = |text: Option<&str>| match text {
        Some(t) => fs::write(dir.join("ansible.cfg"), t).expect("ansible.cfg"),
        None => {
            let _ = fs::remove_file(dir.join("ansible.cfg"));
        }
    };
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["-i", "hosts.ini", "ping.yml"];
        args.extend_from_slice(extra);
        apply_in(dir, &args, env)
    };
    let refused = |r: Run, why: &str| {
        r.expect_code(4);
        assert!(r.all().contains("CHANGED"), "{why}\n{}", r.dump());
    };

    // Not turned off: refused, whatever rprov's or the user's accept-new says.
    inv(&kh, "");
    refused(run(&[], &[]), "default");
    refused(
        run(&["--accept-new-host-keys"], &[]),
        "--accept-new-host-keys",
    );
    inv(&format!("-o StrictHostKeyChecking=accept-new {kh}"), "");
    refused(run(&[], &[]), "StrictHostKeyChecking=accept-new");
    inv(&kh, "");
    cfg(Some("[defaults]\nhost_key_checking = True\n"));
    refused(run(&[], &[]), "host_key_checking = True");
    // An ANSIBLE_* variable beats the file, and a host variable beats both.
    refused(run(&[], &[("ANSIBLE_HOST_KEY_CHECKING", "yes")]), "env yes");
    cfg(Some("[defaults]\nhost_key_checking = False\n"));
    inv(&kh, "ansible_host_key_checking=true");
    refused(
        run(&[], &[]),
        "ansible_host_key_checking=true beats the file",
    );
    // The user's own StrictHostKeyChecking comes after ssh_args and Ansible's
    // `-o StrictHostKeyChecking=no`: theirs loses, as on Ansible's command line.
    inv(&format!("-o StrictHostKeyChecking=yes {kh}"), "");
    let r = run(&[], &[]);
    r.expect_code(0);
    assert_eq!(r.recap("web1")["ok"], 1, "{}", r.dump());

    // Turned off: connects, as ssh and Ansible do.
    inv(&kh, "");
    let r = run(&[], &[]);
    r.expect_code(0);
    cfg(None);
    let r2 = run(&[], &[("ANSIBLE_HOST_KEY_CHECKING", "False")]);
    r2.expect_code(0);
    inv(&format!("-o StrictHostKeyChecking=no {kh}"), "");
    let r3 = run(&[], &[]);
    r3.expect_code(0);
    for r in [r, r2, r3] {
        assert_eq!(r.recap("web1")["ok"], 1, "{}", r.dump());
    }
    // Nobody wrote the real key into the user's file.
    assert_eq!(fs::read_to_string(&known).expect("read"), other);
}

#[test]
fn ansible_cfg_gives_inventory_roles_login_and_ssh_args() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let repo = work.path().join("repo");
    let role_tasks = repo.join("shared-roles/greet/tasks");
    fs::create_dir_all(&role_tasks).expect("mkdir role");
    fs::create_dir_all(repo.join("inventory")).expect("mkdir inventory");
    fs::write(
        role_tasks.join("main.yml"),
        "- name: greet\n  copy:\n    content: \"hello from the config\\n\"\n    dest: \"{{ base_dir }}/greeting\"\n",
    )
    .expect("role");
    fs::write(
        repo.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  roles:\n    - greet\n",
    )
    .expect("playbook");
    // Neither login, key nor known_hosts in the inventory: ansible.cfg has them.
    fs::write(
        repo.join("inventory/hosts.ini"),
        format!(
            "web1 ansible_host={} ansible_port={}\n",
            sshd.addr, sshd.port
        ),
    )
    .expect("inventory");
    fs::write(
        repo.join("ansible.cfg"),
        format!(
            "# a repository's usual ansible.cfg\n[defaults]\ninventory = inventory/hosts.ini\nroles_path = shared-roles\n\
             remote_user = {USER}\nprivate_key_file = {}\nforks = 3\nretry_files_enabled = False\nnocows = 1\n\
             stdout_callback = yaml\njinja2_extensions = jinja2.ext.do\n\n[ssh_connection]\npipelining = True\n\
             control_path = %(directory)s/%%h-%%r\nssh_common_args = -o UserKnownHostsFile={}\n",
            sshd.key_file.display(),
            sshd.known_hosts.display()
        ),
    )
    .expect("ansible.cfg");
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());

    let run = apply_in(&repo, &["-e", &base, "-v"], &[]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 1, "{}", run.dump());
    assert_eq!(
        fs::read_to_string(target.path().join("greeting")).expect("written"),
        "hello from the config\n"
    );
    let cfg_path = repo.join("ansible.cfg");
    assert!(
        run.stderr
            .contains(&format!("Using {} as config file", cfg_path.display())),
        "{}",
        run.dump()
    );
    // One warning, for the one key that would change behaviour.
    let warning = the_one_warning(&run);
    assert!(
        warning.contains("jinja2_extensions") && warning.contains("ansible.cfg:11"),
        "{}",
        run.dump()
    );

    // `rprov config` names the file and where each setting came from.
    let shown = rprov_env(&repo, ["config"], &[("ANSIBLE_FORKS", "7")]);
    shown.expect_code(0);
    let words = shown
        .stdout
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for part in [
        format!("config file = {}", cfg_path.display()),
        format!("remote_user = {USER} ({}:5)", cfg_path.display()),
        "forks = 7 (env: ANSIBLE_FORKS)".to_string(),
        format!(
            "inventory = {} ({}:3)",
            repo.join("inventory/hosts.ini").display(),
            cfg_path.display()
        ),
    ] {
        assert!(words.contains(&part), "{part}\n{}", shown.dump());
    }

    // The environment beats the file: another login is refused by sshd.
    let run = apply_in(
        &repo,
        &["-e", &base],
        &[("ANSIBLE_REMOTE_USER", "rprov-no-such-user")],
    );
    run.expect_code(4);
    // And the command line beats the environment.
    let run = apply_in(
        &repo,
        &["-e", &base, "-i", "inventory/hosts.ini"],
        &[("ANSIBLE_INVENTORY", "missing.ini")],
    );
    run.expect_code(0);
    let run = apply_in(
        &repo,
        &["-e", &base],
        &[("ANSIBLE_INVENTORY", "missing.ini")],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("missing.ini"), "{}", run.dump());

    // ANSIBLE_CONFIG from elsewhere: the file's relative paths stay relative to it.
    let run = apply_in(
        work.path(),
        &["-e", &base, "repo/site.yml"],
        &[("ANSIBLE_CONFIG", cfg_path.to_str().unwrap_or_default())],
    );
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 0, "{}", run.dump());
}

/// A notification of a handler that does not exist is a warning before the
/// run; the task fails when it changes something (ansible-core's default),
/// or with `error_on_missing_handler = False` the notification does nothing.
#[test]
fn a_missing_handler_fails_the_task_that_notifies_it_unless_the_configuration_says_otherwise() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    common::write_inventory(dir, &format!("{}\n", sshd.inventory_line("web1")));
    fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: write the config\n      copy:\n        content: \"x\\n\"\n        dest: \"{{ base_dir }}/app.conf\"\n      notify: restart the app\n\
         \x20 handlers:\n    - name: restart the ap\n      copy:\n        content: \"ran\\n\"\n        dest: \"{{ base_dir }}/handler-ran\"\n",
    )
    .expect("playbook");

    for (cfg, env) in [
        (None, None),
        (Some("[defaults]\nerror_on_missing_handler = False\n"), None),
        (None, Some(("ANSIBLE_ERROR_ON_MISSING_HANDLER", "False"))),
    ] {
        match cfg {
            Some(t) => fs::write(dir.join("ansible.cfg"), t).expect("ansible.cfg"),
            None => {
                let _ = fs::remove_file(dir.join("ansible.cfg"));
            }
        }
        let target = target_dir(USER);
        let base = format!("base_dir={}", target.path().display());
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let run = apply_in(dir, &["-i", "hosts.ini", "-e", &base], &env);
        if cfg.is_none() && env.is_empty() {
            // Named before the run; as ansible-core, the task that changes
            // something (its file written) then fails in ansible-core's words.
            run.expect_code(2);
            for part in [
                "task `write the config` notifies `restart the app`",
                "did you mean `restart the ap`",
                "error_on_missing_handler",
                "The requested handler 'restart the app' was not found",
            ] {
                assert!(run.all().contains(part), "{part}\n{}", run.dump());
            }
            assert!(target.path().join("app.conf").exists());
            assert!(!target.path().join("handler-ran").exists());
            continue;
        }
        run.expect_code(0);
        let warning = the_one_warning(&run);
        assert!(
            warning.contains("task `write the config`") && warning.contains("`restart the app`"),
            "{}",
            run.dump()
        );
        assert_eq!(run.recap("web1")["changed"], 1, "{}", run.dump());
        assert!(target.path().join("app.conf").exists());
        // The notification does nothing: no handler ran.
        assert!(
            !target.path().join("handler-ran").exists(),
            "{}",
            run.dump()
        );
    }
}
