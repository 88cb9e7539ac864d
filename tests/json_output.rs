//! Issue 2, "Output": `--output json` is JSON Lines — every line parses, task
//! events carry a status, the last line is the recap — and `no_log: true`
//! hides results (messages, diffs, registered output and loop items).
//! `--timings` adds one line before the recap (JSON) or a table after it.

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
    // The message's kind is a field, never a marker inside the text.
    assert_eq!(shown["msg_kind"], "debug", "{shown}");
    assert!(
        !run.stdout.contains('«'),
        "a marker in the JSON: {}",
        run.stdout
    );
    assert!(lines.iter().any(|v| v["event"] == "play"));
    let r = run.recap("web1");
    assert_eq!(
        run.stdout.lines().last().unwrap_or_default(),
        recap_line(
            "web1",
            r["ok"].as_u64().unwrap_or(0),
            // "a file", and "a loop" once (not per item), as Ansible counts.
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
    let command = run
        .tasks()
        .into_iter()
        .find(|t| t["task"] == "a command")
        .expect("command task");
    assert_eq!(command["status"], "unknown", "{command}");
    assert_eq!(command["msg_kind"], "unknown", "{command}");
    assert_eq!(
        command["msg"], "waits for the command's result: commands do not run in check mode",
        "{command}"
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

/// The fields of each host's `--timings` entry.
const TIMING_FIELDS: &[&str] = &[
    "connect_ms",
    "connections",
    "probe_ms",
    "probes",
    "apply_ms",
    "actions",
    "local_ms",
    "total_ms",
];

#[test]
fn timings_come_before_the_recap_and_add_up() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());

    // A first run (actions) and a second (probes only).
    for round in ["first", "again"] {
        let before = sshd.exec_count() as u64;
        let run = apply(&inv, "timings.yml", &["-e", &base, "--timings"]);
        run.expect_code(0);
        let lines = run.json_lines();
        let n = lines.len();
        assert!(n >= 2, "{}", run.dump());
        // The recap stays the last line, byte for byte; the timings line is
        // the one just before it, and the only one.
        let r = run.recap("web1");
        let num = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("recap {k}: {r}"));
        let remote = num("remote_commands");
        assert_eq!(
            run.stdout.lines().last().unwrap_or_default(),
            recap_line("web1", num("ok"), num("changed"), 0, num("skipped"), remote),
            "{round}\n{}",
            run.stdout
        );
        let t = &lines[n - 2]["timings"];
        assert!(
            t.is_object(),
            "{round}: no timings line before the recap\n{}",
            run.stdout
        );
        assert_eq!(
            lines.iter().filter(|v| v.get("timings").is_some()).count(),
            1,
            "{}",
            run.stdout
        );
        let ms = |v: &Value, k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("{round}: `{k}` is not a count of ms: {t}"))
        };
        let load = ms(t, "load_ms");
        assert!(ms(t, "wall_ms") >= load, "{t}");
        let hosts = t["hosts"].as_object().expect("timings.hosts");
        assert_eq!(hosts.keys().collect::<Vec<_>>(), ["web1"], "{t}");
        let h = &t["hosts"]["web1"];
        let f: std::collections::HashMap<&str, u64> =
            TIMING_FIELDS.iter().map(|k| (*k, ms(h, k))).collect();
        assert_eq!(f.len(), TIMING_FIELDS.len());
        assert!(
            f["total_ms"] >= f["connect_ms"] + f["probe_ms"] + f["apply_ms"] + f["local_ms"],
            "{round}: the parts exceed the total: {h}"
        );
        // Probes and actions (no fallback task here) are the recap's remote commands, which are
        // what sshd itself saw; the delegated task's command is neither.
        assert_eq!(f["probes"] + f["actions"], remote, "{round}: {h}");
        assert_eq!(sshd.exec_count() as u64 - before, remote, "{round}: {h}");
        assert_eq!(f["connections"], 1, "{round}: {h}");
        assert!(
            f["probes"] >= 1,
            "{round}: facts and files were probed: {h}"
        );
        // The command runs every time; the files only the first time.
        match round {
            "first" => assert!(f["actions"] >= 4, "{h}"),
            _ => assert_eq!(f["actions"], 1, "{h}\n{}", run.stdout),
        }
    }

    // Human output: the table comes after the recap, one row per host and
    // a total; nothing of it without the flag.
    let human = |extra: &[&str]| {
        let mut args = vec!["apply", "-i"];
        let inv = inv.display().to_string();
        args.push(&inv);
        args.extend(["timings.yml", "-e", &base]);
        args.extend(extra);
        let run = rprov(&fixtures().join("json_output"), &args);
        run.expect_code(0);
        run
    };
    let run = human(&["--timings"]);
    let out: Vec<&str> = run.stdout.lines().collect();
    let at = |prefix: &str| {
        out.iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting with {prefix:?}\n{}", run.stdout))
    };
    let (recap, table) = (at("RECAP"), at("TIMINGS (ms)"));
    assert!(recap < table, "{}", run.stdout);
    let head: Vec<&str> = out[table].split_whitespace().collect();
    assert_eq!(
        head,
        [
            "TIMINGS",
            "(ms)",
            "conns",
            "connect",
            "probes",
            "probe",
            "actions",
            "apply",
            "fallbacks",
            "fallback",
            "local",
            "total"
        ],
        "{}",
        run.stdout
    );
    for (offset, name) in [(1, "web1"), (2, "all hosts")] {
        let row = out.get(table + offset).copied().unwrap_or_default();
        assert!(row.starts_with(name), "{name}: {row}\n{}", run.stdout);
        let cells = row[name.len()..].split_whitespace().count();
        assert_eq!(cells, 10, "{row}");
    }
    assert!(out[table + 3].starts_with("load "), "{}", run.stdout);
    let plain = human(&[]);
    assert!(!plain.stdout.contains("TIMINGS"), "{}", plain.stdout);
    assert!(
        plain
            .stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("1 host(s) in ")),
        "without --timings the recap ends the output\n{}",
        plain.stdout
    );
}
