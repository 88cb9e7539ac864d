//! rprov linked as `ansible-inventory` against ansible-core 2.19's own
//! `ansible-inventory`, on the same inventories (INI with nested groups and
//! variables, YAML, `group_vars/` and `host_vars/`, the `generator` plugin):
//! the same exit status, the same `--list` JSON text, the same `--graph`
//! text, the same YAML data, the same error words.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    common::fixtures().join("ansible_inventory")
}

/// The exit status, stdout and stderr of `program args` run in the fixture.
fn run(program: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(fixture())
        // Neither reads an ansible.cfg of the machine's.
        .env("ANSIBLE_CONFIG", fixture().join("no-ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The two programs: ansible-core's, and rprov under the name.
fn programs() -> (PathBuf, PathBuf, tempfile::TempDir) {
    let venv = common::ansible_venv();
    let ansible = venv.playbook.with_file_name("ansible-inventory");
    let shim = tempfile::tempdir().expect("temp dir");
    let rprov = shim.path().join("ansible-inventory");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rprov"), &rprov).expect("link");
    (ansible, rprov, shim)
}

/// One command line's exit status, stdout and stderr under each program,
/// and all of it as a message for a failed assertion.
struct Both {
    ansible: (i32, String, String),
    rprov: (i32, String, String),
    what: String,
}

fn both(ansible: &Path, rprov: &Path, args: &[&str]) -> Both {
    let (a_code, a_out, a_err) = run(ansible, args);
    let (r_code, r_out, r_err) = run(rprov, args);
    let what = format!(
        "ansible-inventory {}\n--- ansible-core ({a_code}):\n{a_out}{a_err}\n--- rprov ({r_code}):\n{r_out}{r_err}",
        args.join(" ")
    );
    Both {
        ansible: (a_code, a_out, a_err),
        rprov: (r_code, r_out, r_err),
        what,
    }
}

#[test]
fn list_host_and_graph_are_ansible_inventorys() {
    let (ansible, rprov, _shim) = programs();
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for source in ["hosts.ini", "hosts.yml", "generator.yml"] {
        for action in [
            &["--list"][..],
            &["--list", "--export"],
            &["--list", "--limit", "web1,app1,build_web_runner"],
            &["--list", "--export", "--limit", "prod:app:launch"],
            &["--graph"],
            &["--graph", "--vars"],
            &["--host", "web1"],
            &["--host", "app2"],
            &["--host", "launch_api_runner"],
            &["--list", "--yaml"],
            &["--list", "--export", "-y"],
        ] {
            let mut args = vec!["-i", source];
            args.extend_from_slice(action);
            cases.push(args);
        }
    }
    cases.extend([
        vec!["-i", "hosts.ini", "--graph", "prod", "--vars"],
        vec![
            "-i",
            "hosts.ini",
            "--list",
            "--playbook-dir",
            "playbooks",
            "-e",
            "extra=1",
        ],
        vec![
            "-i",
            "hosts.ini",
            "--host",
            "web1",
            "--playbook-dir",
            "playbooks",
        ],
        vec!["-i", "hosts.ini", "--list", "--limit", "nosuch"],
    ]);
    let mut listed = 0;
    for args in &cases {
        let Both {
            ansible: (a_code, a_out, _),
            rprov: (r_code, r_out, _),
            what,
        } = both(&ansible, &rprov, args);
        // `--host` of a host another source has is an error in both.
        assert_eq!(r_code, a_code, "{what}");
        listed += usize::from(a_code == 0);
        if a_code != 0 {
            assert_eq!(r_out, a_out, "{what}");
        } else if args.contains(&"--yaml") || args.contains(&"-y") {
            // PyYAML writes a mapping met twice as an anchor and an alias
            // (`&id001`, `*id001`); the data is what counts.
            let a: serde_json::Value = serde_saphyr::from_str(&a_out).expect("ansible's YAML");
            let r: serde_json::Value =
                serde_saphyr::from_str(&r_out).unwrap_or_else(|e| panic!("{e}\n{what}"));
            assert_eq!(r, a, "{what}");
        } else {
            if !args.contains(&"--graph") {
                let a: serde_json::Value = serde_json::from_str(&a_out).expect("ansible's JSON");
                let r: serde_json::Value =
                    serde_json::from_str(&r_out).unwrap_or_else(|e| panic!("{e}\n{what}"));
                assert_eq!(r, a, "{what}");
            }
            // JSON as json.dumps(sort_keys=True, indent=4) writes it, and
            // the graph, text for text.
            assert_eq!(r_out, a_out, "{what}");
        }
    }
    assert!(
        listed >= 30,
        "only {listed} of {} cases printed",
        cases.len()
    );
}

#[test]
fn errors_are_ansible_inventorys() {
    let (ansible, rprov, _shim) = programs();
    for (args, words) in [
        (
            &["-i", "hosts.ini", "--host", "nosuch"][..],
            "You must pass a single valid host to --host parameter",
        ),
        (
            &["-i", "hosts.ini", "--host", "web"],
            "You must pass a single valid host to --host parameter",
        ),
        (
            &["-i", "hosts.ini", "--graph", "nosuch"],
            "Pattern must be valid group name when using --graph",
        ),
        (&["-i", "hosts.ini"], "No action selected"),
        (
            &["-i", "hosts.ini", "--list", "--graph"],
            "Conflicting options used",
        ),
    ] {
        let (a_code, _, a_err) = run(&ansible, args);
        let (r_code, r_out, r_err) = run(&rprov, args);
        let what = format!(
            "ansible-inventory {}\n{a_err}\n--- rprov:\n{r_out}{r_err}",
            args.join(" ")
        );
        assert_eq!(a_code, 5, "{what}");
        assert_eq!(r_code, a_code, "{what}");
        let line = format!("[ERROR]: {words}");
        assert!(a_err.contains(&line) && r_err.contains(&line), "{what}");
    }
    // An inventory that does not parse is a warning, and the list is empty.
    let args = ["-i", "no-such-inventory.ini", "--list"];
    let (a_code, a_out, _) = run(&ansible, &args);
    let (r_code, r_out, r_err) = run(&rprov, &args);
    assert_eq!(
        (r_code, r_out.as_str()),
        (a_code, a_out.as_str()),
        "{r_err}"
    );
    assert!(r_err.contains("[WARNING]: Unable to parse"), "{r_err}");
}

#[test]
fn output_writes_the_file() {
    let (ansible, rprov, _shim) = programs();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut texts = Vec::new();
    for (name, program) in [("a.json", &ansible), ("r.json", &rprov)] {
        let file = dir.path().join(name);
        let file_arg = file.to_str().expect("UTF-8 temp path");
        let (code, out, err) = run(
            program,
            &["-i", "hosts.ini", "--list", "--output", file_arg],
        );
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        texts.push(std::fs::read_to_string(&file).expect("the output file"));
    }
    assert_eq!(texts[1], texts[0]);
}

/// The `constructed` plugin after INI and YAML sources, as ansible-core
/// runs it: `compose`, `groups`, `keyed_groups` (prefix, separator,
/// `default_value`, `trailing_separator`, `parent_group`, a list or a
/// mapping as the key), names made valid, an undefined variable skipped,
/// `use_vars_plugins`, `leading_separator`, `use_extra_vars` with `-e`,
/// `--limit` by a constructed group; and with `strict: true` the source
/// failing (a warning, the other sources listed).
#[test]
fn constructed_sources_are_ansible_inventorys() {
    let (ansible, rprov, _shim) = programs();
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for first in ["hosts.ini", "hosts.yml"] {
        for config in ["constructed.yml", "constructed-vars.yml"] {
            for action in [
                &["--list"][..],
                &["--list", "--export"],
                &["--graph"],
                &["--graph", "--vars"],
                &["--host", "web1"],
                &["--host", "app2"],
            ] {
                let mut args = vec!["-i", first, "-i", config];
                args.extend_from_slice(action);
                cases.push(args);
            }
        }
    }
    cases.extend([
        vec![
            "-i",
            "hosts.ini",
            "-i",
            "constructed.yml",
            "--list",
            "--limit",
            "web_servers_eu:kind_other",
        ],
        vec!["-i", "hosts.ini", "-i", "constructed-strict.yml", "--graph"],
        vec!["-i", "constructed.yml", "-i", "hosts.ini", "--graph"],
        // Sources of two formats: `all`'s children and `ungrouped` in
        // the order ansible-core's one reconciling after the last gives.
        vec!["-i", "hosts.ini", "-i", "hosts.yml", "--list"],
        vec!["-i", "hosts.yml", "-i", "hosts.ini", "--list"],
        vec![
            "-i",
            "hosts.yml",
            "-i",
            "constructed-extra.yml",
            "-e",
            "zone=eu",
            "--list",
        ],
        vec![
            "-i",
            "hosts.yml",
            "-i",
            "constructed-extra.yml",
            "-e",
            "zone=eu",
            "--graph",
        ],
    ]);
    let mut listed = 0;
    for args in &cases {
        let Both {
            ansible: (a_code, a_out, a_err),
            rprov: (r_code, r_out, r_err),
            what,
        } = both(&ansible, &rprov, args);
        assert_eq!(r_code, a_code, "{what}");
        listed += usize::from(a_code == 0 && !a_out.is_empty());
        assert_eq!(r_out, a_out, "{what}");
        // A source that fails is said to, by both.
        if args.contains(&"constructed-strict.yml") {
            for err in [&a_err, &r_err] {
                assert!(err.contains("no_such_var"), "{what}");
                assert!(err.contains("Unable to parse"), "{what}");
            }
        }
    }
    assert!(
        listed >= 25,
        "only {listed} of {} cases printed",
        cases.len()
    );
}
