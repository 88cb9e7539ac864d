//! Issue 14: the human output of a representative run is a snapshot, so a
//! change to what users read is reviewed on purpose (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test --test human_output` and read the diff).
//! One run shows every kind of task line: ok, changed with its diff, a
//! command, a debug message, skipped, a loop, an ignored failure, a failure
//! and the recap; then the same playbook in `--check`, where the command is
//! `unknown` and what depends on it says so. Durations, temp paths and the
//! ssh port are filtered out.

mod common;

use std::fs;

use common::{apply_human, fixtures, target_dir, Run, USER};
use rprov_testbed::Sshd;

/// The run's stdout with what changes between runs replaced.
fn filtered(run: &Run, base: &str) -> String {
    // "1 host(s) in 0.5s", and " 1.2s" after a slow task's name.
    without_durations(&run.stdout.replace(base, "[BASE]"))
}

/// Replaces durations (`0.5s`) with `[TIME]`, without a regex dependency:
/// a run of digits, a dot, digits and `s` at a word's end.
fn without_durations(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.split(' ')
                .map(|w| {
                    let t = w.strip_suffix('s').unwrap_or("");
                    let is_time = !t.is_empty()
                        && t.contains('.')
                        && t.chars().all(|c| c.is_ascii_digit() || c == '.');
                    if is_time {
                        "[TIME]"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_human_output_of_every_kind_of_task() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path().display().to_string();
    fs::write(target.path().join("same.txt"), "same\n").expect("write");
    fs::write(target.path().join("changes.txt"), "line one\nline two\n").expect("write");
    let dir = fixtures().join("snapshot");
    let e = format!("base_dir={base}");

    let check = apply_human(&dir, &inv, &["--check", "--diff", "-e", &e]);
    check.expect_code(2);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("check_run", filtered(&check, &base));
    });

    let run = apply_human(&dir, &inv, &["--diff", "-e", &e]);
    run.expect_code(2);
    settings.bind(|| {
        insta::assert_snapshot!("applied_run", filtered(&run, &base));
    });
}
