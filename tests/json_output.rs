//! Issue 2, "Output": `--output json` is JSON Lines — every line parses, task
//! events carry a status, the last line is the recap — and `no_log: true`
//! hides results (messages, diffs, registered output and loop items).

mod common;

use common::{fixtures, recap_line, rprov, target_dir, Run, USER};
use rprov_testbed::Sshd;
use serde_json::Value;

const STATUSES: &[&str] = &["ok", "changed", "failed", "skipped", "unknown"];

fn apply(sshd_inv: &std::path::Path, playbook: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "apply".to_string(),
        "-i".into(),
        sshd_inv.display().to_string(),
        "--output".into(),
        "json".into(),
        playbook.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    rprov(&fixtures().join("json_output"), args)
}

fn check_shape(run: &Run, host: &str) -> Vec<Value> {
    let lines = run.json_lines();
    assert!(lines.len() >= 3, "{}", run.dump());
    for v in &lines[..lines.len() - 1] {
        let event = v["event"].as_str();
        assert!(event.is_some(), "every line but the recap is an event: {v}");
        if event == Some("task") {
            assert_eq!(v["host"], host, "{v}");
            assert!(v["task"].is_string(), "{v}");
            let status = v["status"].as_str().unwrap_or_default();
            assert!(STATUSES.contains(&status), "task status {status:?}: {v}");
        }
    }
    let last = lines.last().expect("a last line");
    assert!(
        last["recap"][host].is_object(),
        "last line is the recap: {last}"
    );
    lines
}

#[test]
fn json_lines_statuses_and_no_log() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());

    // A secret-free run: every line JSON, statuses, no "censored" anywhere.
    let run = apply(&inv, "plain.yml", &["-e", &base]);
    run.expect_code(0);
    let lines = check_shape(&run, "web1");
    assert!(!run.stdout.contains("censored"), "{}", run.stdout);
    let tasks = run.tasks();
    let status_of = |name: &str| -> Vec<String> {
        tasks
            .iter()
            .filter(|t| t["task"] == name)
            .map(|t| t["status"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(status_of("a file"), ["changed"]);
    assert_eq!(status_of("a command"), ["ok"], "changed_when: false");
    assert_eq!(status_of("skipped"), ["skipped"]);
    assert_eq!(status_of("a loop"), ["changed", "changed"]);
    let loop_items: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["task"] == "a loop")
        .map(|t| &t["item"])
        .collect();
    assert_eq!(loop_items, [&Value::from("d1"), &Value::from("d2")]);
    let shown = tasks
        .iter()
        .find(|t| t["task"] == "show the command's output")
        .expect("debug task");
    assert!(shown.to_string().contains("hello"), "{shown}");
    assert!(lines.iter().any(|v| v["event"] == "play"));
    let r = run.recap("web1");
    assert_eq!(
        run.stdout.lines().last().unwrap_or_default(),
        recap_line(
            "web1",
            r["ok"].as_u64().unwrap_or(0),
            2,
            0,
            1,
            sshd.exec_count() as u64
        ),
        "{}",
        run.stdout
    );

    // The dry run of a change: JSON too, with the diff in the task event.
    let run = apply(
        &inv,
        "plain.yml",
        &["-e", &base, "--check", "-e", "ansible_hostname=x"],
    );
    run.expect_code(0);
    check_shape(&run, "web1");
    let file = run
        .tasks()
        .into_iter()
        .find(|t| t["task"] == "a file")
        .expect("file task");
    assert_eq!(file["status"], "changed", "{file}");
    assert!(
        file["diff"].is_array(),
        "a --check change carries its diff: {file}"
    );

    // no_log: status stays visible, everything else is hidden.
    let secret = "s3cr3t-TOKEN-value";
    let run = apply(&inv, "nolog.yml", &["-e", &base]);
    run.expect_code(0);
    check_shape(&run, "web1");
    assert!(
        !run.all().contains(secret),
        "the secret leaked:\n{}",
        run.dump()
    );
    let tasks = run.tasks();
    assert_eq!(tasks.len(), 5, "{}", run.stdout);
    for t in &tasks {
        assert!(t["censored"].is_string(), "no_log task not censored: {t}");
        for key in ["result", "msg", "diff"] {
            assert!(t.get(key).is_none(), "no_log task shows {key}: {t}");
        }
    }
    let failed = tasks.last().expect("the fail task");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["ignored"], true);
    // The token did reach the host: no_log hides output, not effects.
    let written = std::fs::read_to_string(target.path().join("token.conf")).expect("token.conf");
    assert_eq!(written, format!("token={secret}\n"));

    // Human output and --check diffs hide it as well, at any verbosity.
    let run = rprov(
        &fixtures().join("json_output"),
        [
            "apply",
            "-i",
            &inv.display().to_string(),
            "nolog.yml",
            "-e",
            &base,
            "-e",
            "token=another-SECRET",
            "--check",
            "-vvv",
        ],
    );
    run.expect_code(0);
    assert!(!run.all().contains("another-SECRET"), "{}", run.dump());
    assert!(run.stdout.contains("(item=None)"), "{}", run.dump());
}
