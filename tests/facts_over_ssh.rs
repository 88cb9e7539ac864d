//! Issue 2, "Facts": the facts rprov gathers over SSH (in its first remote
//! command, without Python) are the host's, under `ansible_*` and
//! `ansible_facts.*`. The test reads each one on the host independently —
//! over plain `ssh`, and from /etc/os-release — and compares.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{apply_json, fixtures, ssh, target_dir, USER};
use rprov_testbed::Sshd;

/// `KEY=value` lines of /etc/os-release, quotes removed.
fn os_release() -> BTreeMap<String, String> {
    let text = fs::read_to_string("/etc/os-release").expect("/etc/os-release");
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

#[test]
fn gathered_facts_match_the_host() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());
    let run = apply_json(&fixtures().join("facts"), &inv, &["-e", &base, "site.yml"]);
    run.expect_code(0);
    let got: BTreeMap<String, String> = fs::read_to_string(target.path().join("facts.txt"))
        .expect("facts.txt")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();

    // What the host says, read without rprov.
    let remote = ssh(
        &sshd,
        // `fqdn` is Python's `socket.getfqdn()`, as ansible-core's.
        r#"uname -m; hostname; python3 -c 'import socket; print(socket.getfqdn())'; id -un; printf '%s\n' "$HOME" "$PATH" "$USER""#,
    );
    let lines: Vec<&str> = remote.lines().collect();
    assert_eq!(lines.len(), 7, "{remote}");
    let os = os_release();
    let id = os.get("ID").cloned().unwrap_or_default();
    let like = os.get("ID_LIKE").cloned().unwrap_or_default();
    assert!(
        id == "debian" || like.split(' ').any(|l| l == "debian"),
        "this test knows the facts of Debian-family hosts; /etc/os-release says ID={id} ID_LIKE={like}"
    );
    let version = if id == "debian" {
        // Ansible's (and rprov's) Debian version is the point release.
        fs::read_to_string("/etc/debian_version")
            .expect("/etc/debian_version")
            .trim()
            .to_string()
    } else {
        os.get("VERSION_ID").cloned().unwrap_or_default()
    };
    let mut distribution = id.clone();
    if let Some(first) = distribution.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    let short_host = lines[1].split('.').next().unwrap_or_default();
    let want = [
        ("architecture", lines[0]),
        ("distribution", distribution.as_str()),
        (
            "distribution_release",
            os.get("VERSION_CODENAME").map(String::as_str).unwrap_or(""),
        ),
        ("distribution_version", version.as_str()),
        ("os_family", "Debian"),
        ("hostname", short_host),
        ("fqdn", lines[2]),
        ("user_id", lines[3]),
        ("env.HOME", lines[4]),
        ("env.PATH", lines[5]),
        ("env.USER", lines[6]),
    ];
    assert_eq!(lines[3], USER, "the login user");
    for (key, value) in want {
        assert!(!value.is_empty(), "the host gave no {key}");
        for shown in [key.to_string(), format!("facts.{key}")] {
            assert_eq!(
                got.get(&shown).map(String::as_str),
                Some(value),
                "{shown}\n{got:#?}"
            );
        }
    }
    assert_eq!(got.len(), 22, "{got:#?}");
}

/// A play's `fact_path`: gathering reads `ansible_local` from that folder
/// (a JSON fact, and an executable one whose output is read), as ansible-core.
#[test]
fn a_plays_fact_path_is_where_local_facts_come_from() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let facts = root.path().join("facts.d");
    fs::create_dir(&facts).expect("mkdir");
    fs::write(facts.join("plain.fact"), "{\"a\": 1}\n").expect("plain");
    fs::write(facts.join("run.fact"), "#!/bin/sh\necho '{\"b\": 2}'\n").expect("run");
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(facts.join("run.fact"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let r = root.path().display();
    let play = format!(
        "- hosts: web1\n  fact_path: {r}/facts.d\n  tasks:\n    - copy:\n        dest: {r}/local\n        content: \"{{{{ ansible_local.plain.a }}}} {{{{ ansible_facts.ansible_local.run.b }}}}\\n\"\n"
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    assert_eq!(
        fs::read_to_string(root.path().join("local")).expect("local"),
        "1 2\n",
        "{}",
        run.dump()
    );
}
