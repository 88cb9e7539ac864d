//! Issue 12: conformance against ansible-core's own integration targets.
//!
//! The ansible-core sdist is fetched from PyPI at a pinned version with its
//! sha256 checked (tests/support/ansible-targets.sh, cached under
//! `${XDG_CACHE_HOME:-$HOME/.cache}/rprov/`), and each target named in
//! `tests/conformance/expected.yml` is run unchanged, as ansible-test runs a
//! role target, first with ansible-playbook (the spec) and then with rprov,
//! over a real loopback sshd (see `conformance/runner.rs`).
//!
//! The test asserts that the results match the checked-in list exactly: a
//! target that passed and now fails is a regression, a target that now passes
//! or fails later must be written down, and ansible-core's own verdict is part
//! of it. It then regenerates `docs/conformance.md` and checks the page and
//! the README's headline are what was seen. If the sdist cannot be fetched
//! the test FAILS: a conformance test that skips itself proves nothing.

mod common;

#[path = "conformance/expected.rs"]
mod expected;
#[path = "conformance/report.rs"]
mod report;
#[path = "conformance/runner.rs"]
mod runner;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::USER;
use expected::{AnsibleVerdict, RprovVerdict};
use rprov_testbed::Sshd;
use runner::{Bench, Tool};

/// The ansible-core version of the sdist (and of the venv's ansible-playbook).
const VERSION: &str = "2.19.14";

/// The target's Python, for ansible's modules (rprov needs none).
const TARGET_PYTHON: &str = "/usr/bin/python3";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a support script and returns the path it prints, failing the test
/// with the script's own message when it cannot.
fn support_path(script: &str, what: &str) -> PathBuf {
    let script = root().join("tests/support").join(script);
    let out = Command::new("sh")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: the conformance test needs {what}:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The entry `expected.yml` would need for what was seen, to paste.
fn as_entry(target: &str, ansible: &runner::Outcome, rprov: Option<&runner::Outcome>) -> String {
    let mut s = format!("- target: {target}\n");
    match rprov {
        None => {
            s.push_str("  ansible: fail\n");
            if let Some(f) = &ansible.failure {
                s.push_str(&format!("  first_failing_task: {:?}\n", f.task));
            }
        }
        Some(o) => {
            s.push_str("  ansible: pass\n");
            if o.passed {
                s.push_str("  rprov: pass\n");
            } else {
                s.push_str("  rprov: fail\n");
                if let Some(f) = &o.failure {
                    s.push_str(&format!("  first_failing_task: {:?}\n", f.task));
                }
            }
        }
    }
    s
}

/// Where ansible-core's verdicts are cached, beside the sdist.
fn ansible_cache() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(cache.join(format!("rprov/conformance-ansible-{VERSION}")))
}

#[test]
fn ansible_core_integration_targets_match_the_expected_list() {
    let integration = support_path(
        "ansible-targets.sh",
        &format!("ansible-core {VERSION}'s sdist from PyPI (and python3-venv)"),
    );
    // The venv's ansible-playbook, checked to be a file: a wrong path would
    // make every target look like an ansible-core failure.
    let ansible_playbook = common::ansible_venv().playbook;
    let list_path = root().join("tests/conformance/expected.yml");
    let text = std::fs::read_to_string(&list_path)
        .unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));
    let mut list = expected::load(&text).unwrap_or_else(|e| panic!("{e}"));
    // `RPROV_CONFORMANCE_ONLY=a,b`: only these targets, checked against
    // their entries; the page and the headline are then not checked.
    let only: Option<Vec<String>> = std::env::var("RPROV_CONFORMANCE_ONLY")
        .ok()
        .map(|v| v.split(',').map(|t| t.trim().to_string()).collect());
    if let Some(only) = &only {
        for t in only {
            assert!(
                list.iter().any(|e| &e.target == t),
                "RPROV_CONFORMANCE_ONLY names {t}, which tests/conformance/expected.yml does not list"
            );
        }
        list.retain(|e| only.contains(&e.target));
    }
    for e in &list {
        assert!(
            integration.join("targets").join(&e.target).is_dir(),
            "expected.yml names {}, which ansible-core {VERSION} does not have",
            e.target
        );
    }

    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let scratch = tempfile::tempdir().expect("temp dir");
    let bench = Bench {
        integration,
        ansible_playbook,
        rprov: PathBuf::from(env!("CARGO_BIN_EXE_rprov")),
        host_line: format!(
            "{} ansible_become=yes ansible_python_interpreter={TARGET_PYTHON}",
            sshd.inventory_line("testhost")
        ),
        scratch: scratch.path().to_path_buf(),
        ansible_cache: ansible_cache(),
        // `RPROV_CONFORMANCE_ANSIBLE=rerun`: run ansible-core on every target
        // again, as on a machine that never ran it.
        rerun_ansible: std::env::var("RPROV_CONFORMANCE_ANSIBLE").as_deref() == Ok("rerun"),
    };

    let mut results = Vec::new();
    for e in &list {
        let ansible = bench.ansible(&e.target);
        let rprov = ansible.passed.then(|| bench.run(Tool::Rprov, &e.target));
        eprintln!(
            "{}: ansible-core {} ({:.1} s), rprov {}",
            e.target,
            if ansible.passed { "pass" } else { "fail" },
            ansible.secs,
            match &rprov {
                None => "not run".to_string(),
                Some(o) if o.passed => format!("pass ({:.1} s)", o.secs),
                Some(o) => format!(
                    "fail ({:.1} s) at {:?}",
                    o.secs,
                    o.failure.as_ref().map(|f| (&f.task, &f.why))
                ),
            }
        );
        results.push((ansible, rprov));
    }

    // Each target against its entry; all mismatches at once.
    let mut wrong = Vec::new();
    for (e, (ansible, rprov)) in list.iter().zip(&results) {
        let seen_ansible = if ansible.passed {
            AnsibleVerdict::Pass
        } else {
            AnsibleVerdict::Fail
        };
        let failing = |o: &runner::Outcome| o.failure.as_ref().map(|f| f.task.clone());
        let matches = match (seen_ansible, e.ansible, rprov) {
            // Where ansible-core itself fails a target depends on the
            // machine (timestamps, the user it runs as): that it fails is
            // what the entry says; rprov is not compared there.
            (AnsibleVerdict::Fail, AnsibleVerdict::Fail, _) => true,
            (AnsibleVerdict::Pass, AnsibleVerdict::Pass, Some(o)) => match e.rprov {
                Some(RprovVerdict::Pass) => o.passed,
                Some(RprovVerdict::Fail | RprovVerdict::KnownDifference) => {
                    !o.passed && failing(o) == e.first_failing_task
                }
                None => false,
            },
            _ => false,
        };
        if !matches {
            let shown = rprov.as_ref().unwrap_or(ansible);
            wrong.push(format!(
                "{}: expected ansible {:?} rprov {:?} at {:?}; seen:\n{}{}",
                e.target,
                e.ansible,
                e.rprov,
                e.first_failing_task,
                as_entry(&e.target, ansible, rprov.as_ref()),
                shown
                    .output
                    .chars()
                    .rev()
                    .take(6000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the conformance results differ from tests/conformance/expected.yml (update it when a \
         target got better; a target that got worse is a regression):\n\n{}",
        wrong.join("\n\n")
    );

    if only.is_some() {
        eprintln!("RPROV_CONFORMANCE_ONLY is set: docs/conformance.md and the README headline were not checked");
        return;
    }
    let rows: Vec<report::Row> = list
        .iter()
        .zip(&results)
        .map(|(e, (a, r))| report::Row {
            expected: e,
            ansible: a,
            rprov: r.as_ref(),
        })
        .collect();
    let page = report::page(VERSION, &rows);
    let doc = root().join("docs/conformance.md");
    let current = std::fs::read_to_string(&doc).unwrap_or_default();
    if current != page {
        if std::env::var_os("RPROV_CONFORMANCE_BLESS").is_some() {
            std::fs::write(&doc, &page).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
        } else {
            panic!(
                "docs/conformance.md is not what this run saw; rerun with \
                 RPROV_CONFORMANCE_BLESS=1 to rewrite it. The page would be:\n{page}"
            );
        }
    }
    let headline = report::headline(&rows);
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("{headline} (")),
        "README.md must state the headline `{headline}` followed by its link to docs/conformance.md"
    );
}
