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
#[allow(dead_code)] // each suite renders its own part of the page
#[path = "conformance/report.rs"]
mod report;
#[path = "conformance/runner.rs"]
mod runner;
#[path = "conformance/shared.rs"]
mod shared;

use std::path::PathBuf;

use common::USER;
use expected::{Expected, FallbackVerdict};
use rprov_testbed::Sshd;
use runner::{Bench, Outcome};
use shared::VERSION;

/// The target's Python, for ansible's modules (rprov needs none).
const TARGET_PYTHON: &str = "/usr/bin/python3";

#[test]
fn ansible_core_integration_targets_match_the_expected_list() {
    let integration = shared::integration();
    // The venv's ansible-playbook, checked to be a file: a wrong path would
    // make every target look like an ansible-core failure.
    let venv = common::ansible_venv();
    let (list, partial) = shared::load_list("tests/conformance/expected.yml", &integration);

    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let scratch = tempfile::tempdir().expect("temp dir");
    let bench = Bench {
        integration,
        ansible_playbook: venv.playbook,
        ansible_python: venv.python,
        rprov: PathBuf::from(env!("CARGO_BIN_EXE_rprov")),
        host_line: format!(
            "{} ansible_become=yes ansible_python_interpreter={TARGET_PYTHON}",
            sshd.inventory_line("testhost")
        ),
        scratch: scratch.path().to_path_buf(),
        ansible_cache: shared::ansible_cache(),
        rerun_ansible: shared::rerun_ansible(),
    };

    let mut results = Vec::new();
    let mut fallbacks = Vec::new();
    for e in &list {
        let ansible = bench.ansible(&e.target);
        let rprov = ansible
            .passed
            .then(|| bench.run(runner::Tool::Rprov, &e.target));
        shared::say(&e.target, &ansible, rprov.as_ref());
        // A target rprov fails by itself, again with ansible-core running
        // the Python plugins it ships and nothing else of Ansible's.
        let fallback = rprov
            .as_ref()
            .filter(|o| !o.passed)
            .map(|_| bench.run_with_fallback(&e.target));
        if let Some(f) = &fallback {
            eprintln!(
                "{}: with its own plugins through the Ansible fallback: {}",
                e.target,
                if f.passed { "pass" } else { "fail" }
            );
        }
        results.push((ansible, rprov));
        fallbacks.push(fallback);
    }

    let mut wrong = shared::mismatches(&list, &results);
    wrong.extend(fallback_mismatches(&list, &fallbacks));
    assert!(
        wrong.is_empty(),
        "the conformance results differ from tests/conformance/expected.yml (update it when a \
         target got better; a target that got worse is a regression):\n\n{}",
        wrong.join("\n\n")
    );

    if partial {
        eprintln!("RPROV_CONFORMANCE_ONLY is set: docs/conformance.md and the README headline were not checked");
        return;
    }
    let rows = report::rows(&list, &results, &fallbacks);
    shared::check_page_part(false, &report::page(VERSION, &rows));
    shared::check_readme(&report::headline(&rows));
}

/// Each target rprov fails against its `with_fallback` entry: one message
/// per mismatch.
fn fallback_mismatches(list: &[Expected], fallbacks: &[Option<Outcome>]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (e, f) in list.iter().zip(fallbacks) {
        let seen = f.as_ref().map(|o| {
            if o.passed {
                FallbackVerdict::Pass
            } else {
                FallbackVerdict::Fail
            }
        });
        if seen != e.with_fallback {
            let tail = f.as_ref().map_or(String::new(), |o| {
                let start = o.output.len().saturating_sub(4000);
                let start = (start..o.output.len())
                    .find(|&i| o.output.is_char_boundary(i))
                    .unwrap_or(o.output.len());
                o.output[start..].to_string()
            });
            wrong.push(format!(
                "{}: expected with_fallback {:?}, seen {:?} (rprov with `--ansible-fallback \
                 custom`; write `with_fallback: pass|fail` for every target rprov fails):\n{tail}",
                e.target, e.with_fallback, seen
            ));
        }
    }
    wrong
}
