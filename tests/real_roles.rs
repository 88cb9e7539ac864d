//! Third-party roles, read as ansible-playbook reads them: every role of
//! the collections bundled in the `ansible` package (12.3.0, pinned by
//! sha256 in tests/support/ansible-venv.sh: community.zabbix, mongodb,
//! proxysql, dellemc, netapp, ovirt, grafana, … — some hundred roles nobody
//! here wrote) is listed with `--list-tasks` by ansible-playbook and by
//! rprov, and the two listings must be the same text: the roles load, their
//! static imports and includes, blocks, tags, names and role dependencies
//! are read alike. Modules rprov lacks resolve through the Ansible fallback,
//! as they would for a user who has the collection installed.
//!
//! A role rprov cannot load yet is listed in [`REFUSED`] with the words of
//! its error, and must still fail with them: fixing one means moving it out
//! of the list, never skipping it silently.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Roles rprov refuses when the playbook loads, with the reason it gives.
const REFUSED: &[(&str, &str)] = &[];

/// `namespace.collection.role` of every role under `root`'s
/// `ansible_collections/<ns>/<coll>/roles/<role>/tasks/main.yml`, sorted.
fn roles_of(root: &Path) -> Vec<String> {
    let mut roles = Vec::new();
    let dirs = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|it| {
                it.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    for ns in dirs(&root.join("ansible_collections")) {
        for coll in dirs(&ns) {
            for role in dirs(&coll.join("roles")) {
                if role.join("tasks/main.yml").is_file() {
                    if let (Some(n), Some(c), Some(r)) = (name(&ns), name(&coll), name(&role)) {
                        roles.push(format!("{n}.{c}.{r}"));
                    }
                }
            }
        }
    }
    roles
}

/// A playbook of one play per role, named after it.
fn playbook(roles: &[&str]) -> String {
    roles
        .iter()
        .map(|r| {
            format!("- name: {r}\n  hosts: localhost\n  gather_facts: false\n  roles:\n    - {r}\n")
        })
        .collect()
}

#[test]
fn third_party_roles_list_as_ansible() {
    let (venv, all) = common::ansible_venv_with_all_collections();
    let roles = roles_of(&all);
    assert!(
        roles.len() >= 100,
        "{} holds {} roles, expected the package's hundred or so",
        all.display(),
        roles.len()
    );
    for (role, _) in REFUSED {
        assert!(
            roles.iter().any(|r| r == role),
            "{role} is listed as refused but the package has no such role"
        );
    }
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    let listed: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| !REFUSED.iter().any(|(x, _)| x == r))
        .collect();
    std::fs::write(w.join("roles.yml"), playbook(&listed)).expect("write");
    let collections = all.display().to_string();
    // Only the package's collections: no roles path of the machine's.
    let env = [
        ("ANSIBLE_COLLECTIONS_PATH", collections.as_str()),
        ("ANSIBLE_ROLES_PATH", "/nonexistent"),
    ];
    let by_ansible = Command::new(&venv.playbook)
        .current_dir(w)
        .args([
            "-i",
            "localhost,",
            "-c",
            "local",
            "--list-tasks",
            "roles.yml",
        ])
        .envs(env)
        .output()
        .expect("run ansible-playbook");
    assert!(
        by_ansible.status.success(),
        "ansible-playbook could not list the roles:\n{}",
        String::from_utf8_lossy(&by_ansible.stderr)
    );
    let expected = String::from_utf8_lossy(&by_ansible.stdout).into_owned();
    let python = venv.python.display().to_string();
    let mut rprov_env = env.to_vec();
    rprov_env.push(("RPROV_ANSIBLE_PYTHON", python.as_str()));
    let rprov_list = |file: &str| {
        let args = [
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "--list-tasks",
            file,
        ];
        common::rprov_env(w, args, &rprov_env)
    };
    let by_rprov = rprov_list("roles.yml");
    by_rprov.expect_code(0);
    assert!(
        expected.lines().filter(|l| l.contains(" : ")).count() > 500,
        "ansible-playbook listed too few tasks:\n{expected}"
    );
    common::assert_same_listing("the roles", &expected, &by_rprov.stdout);
    for (role, why) in REFUSED {
        let file = format!("{}.yml", role.replace('.', "_"));
        std::fs::write(w.join(&file), playbook(&[role])).expect("write");
        let run = rprov_list(&file);
        assert!(
            run.code == 1 && run.stderr.contains(why),
            "{role} no longer fails with `{why}`: move it out of REFUSED if it lists now\n{}",
            run.dump()
        );
    }
}
