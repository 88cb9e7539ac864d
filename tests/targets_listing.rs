//! Every role-shaped integration target of ansible-core (its
//! `test/integration/targets/<name>/tasks/main.yml`, the pinned sdist of
//! tests/support/ansible-targets.sh) listed with `--list-tasks` by
//! ansible-playbook and by rprov, one play per target: the listings must be
//! the same text. A third-party oracle for loading: what ansible-core's own
//! tests write (imports, includes, roles, keywords, module arguments) must
//! load in rprov as it does in ansible-core, whether or not the target can
//! run here. Windows and network targets are left out (their modules are
//! in collections the venv does not have), as is a target ansible-playbook
//! itself cannot list here ([`ANSIBLE_CANNOT`]).
//!
//! A target rprov cannot load is listed in [`REFUSED`] with the words of
//! its error, and must still fail with them: fixing one means moving it out
//! of the list.

mod common;

use std::path::Path;
use std::process::Command;

/// Targets rprov refuses when the playbook loads, with the reason it gives.
const REFUSED: &[(&str, &str)] = &[];

/// Targets ansible-playbook cannot list here, and why.
const ANSIBLE_CANNOT: &[(&str, &str)] = &[(
    "setup_win_printargv",
    "its module `win_get_url` is in ansible.windows, which the venv does not have",
)];

/// The targets to list: every one with `tasks/main.yml` whose `aliases`
/// do not make it a Windows or network target.
fn listable(targets: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(targets)
        .unwrap_or_else(|e| panic!("{}: {e}", targets.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("tasks/main.yml").is_file())
        .filter(|e| {
            let aliases = std::fs::read_to_string(e.path().join("aliases")).unwrap_or_default();
            !aliases.contains("windows") && !aliases.contains("network/")
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn playbook(targets: &[&str]) -> String {
    targets
        .iter()
        .map(|t| format!("- hosts: testhost\n  gather_facts: false\n  roles: [{t}]\n"))
        .collect()
}

#[test]
fn ansible_core_targets_list_as_ansible() {
    let integration = common::ansible_integration();
    let targets = integration.join("targets");
    let venv = common::ansible_venv();
    let names = listable(&targets);
    assert!(
        names.len() >= 150,
        "{} holds {} role-shaped targets, expected some 170",
        targets.display(),
        names.len()
    );
    for (t, _) in REFUSED.iter().chain(ANSIBLE_CANNOT) {
        assert!(
            names.iter().any(|n| n == t),
            "{t} is listed here but is no target to list"
        );
    }
    let listed: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !REFUSED.iter().chain(ANSIBLE_CANNOT).any(|(x, _)| x == n))
        .collect();
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(w.join("inventory"), "testhost ansible_connection=local\n").expect("inventory");
    std::fs::write(w.join("targets.yml"), playbook(&listed)).expect("playbook");
    let roles = targets.display().to_string();
    let env = [("ANSIBLE_ROLES_PATH", roles.as_str())];
    let by_ansible = Command::new(&venv.playbook)
        .current_dir(w)
        .args(["-i", "inventory", "--list-tasks", "targets.yml"])
        .env("ANSIBLE_CONFIG", w.join("none.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", w.join("tmp"))
        .envs(env)
        .output()
        .expect("run ansible-playbook");
    assert!(
        by_ansible.status.success(),
        "ansible-playbook could not list the targets:\n{}",
        String::from_utf8_lossy(&by_ansible.stderr)
    );
    let expected = String::from_utf8_lossy(&by_ansible.stdout).into_owned();
    assert!(
        expected.lines().filter(|l| l.contains(" : ")).count() > 3000,
        "ansible-playbook listed too few tasks:\n{expected}"
    );
    // With the Ansible fallback on: targets use their own `library/`
    // modules, which ansible-core must find for rprov to load the task.
    let python = venv.python.display().to_string();
    let mut rprov_env = env.to_vec();
    rprov_env.push(("RPROV_ANSIBLE_PYTHON", python.as_str()));
    let rprov_list = |file: &str| {
        common::rprov_env(
            w,
            ["apply", "-i", "inventory", "--list-tasks", file],
            &rprov_env,
        )
    };
    let by_rprov = rprov_list("targets.yml");
    by_rprov.expect_code(0);
    common::assert_same_listing("the targets", &expected, &by_rprov.stdout);
    for (target, why) in REFUSED {
        let file = format!("{target}.yml");
        std::fs::write(w.join(&file), playbook(&[target])).expect("write");
        let run = rprov_list(&file);
        assert!(
            run.code == 1 && run.stderr.contains(why),
            "{target} no longer fails with `{why}`: move it out of REFUSED if it lists now\n{}",
            run.dump()
        );
    }
}
