//! Issue 13, "Security": no value a task renders is ever run as shell on the
//! host. Every argument of every module `rprov modules` lists is fed a value
//! full of shell syntax (`$(…)`, backticks, `${…}`, quotes, a backslash, a
//! newline; and, in a second run, a NUL byte), one task per argument, over a
//! real loopback sshd as an unprivileged user. The value's command
//! substitutions would each create a file in a canary directory: the host
//! must have run none of them, every task must be reported (nothing took the
//! host down), and where a task names a path it cannot use, it names the
//! value literally.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{apply_json, target_dir, USER};
use rprov_testbed::Sshd;
use serde_json::{json, Value};

/// Modules whose tasks are expanded when the playbook loads (their argument
/// names a file or role on the controller, never reaching a host), or that
/// end the play (`meta`): fed separately below or not at all.
const LOAD_TIME: &[&str] = &[
    "include_tasks",
    "import_tasks",
    "import_role",
    "include_role",
    "meta",
];

/// Arguments that are shell text by definition: `shell`'s command is run by
/// `sh`, as the user asked.
const SHELL_BY_DESIGN: &[(&str, &str)] = &[
    ("shell", "cmd"),
    ("raw", "_raw_params"),
    // A script's arguments are shell text in ansible-core; its first word
    // must name a controller file, or nothing runs.
    ("script", "_raw_params"),
    ("script", "cmd"),
    // `reboot`'s commands are run by the host's shell in ansible-core too.
    ("reboot", "boot_time_command"),
    ("reboot", "reboot_command"),
    ("reboot", "test_command"),
];

/// Paths on the controller that the task creates (`fetch`'s `dest`, made
/// with its parents as ansible-core's `makedirs_safe`): no shell sees them,
/// and the value is fed under the test's directory so that the directories
/// it names are not left outside it (`/nonexistent/…` would be created).
const CONTROLLER_PATHS: &[(&str, &str)] = &[("fetch", "dest")];

/// The minimal arguments that make each module's task plan, so that the
/// hostile argument is the one under test. Paths point into `dir`.
fn base_args(module: &str, dir: &Path) -> Value {
    let d = dir.display();
    match module {
        "copy" => json!({"dest": format!("{d}/copy-out"), "content": "x"}),
        "template" => json!({"src": "t.j2", "dest": format!("{d}/tpl-out")}),
        "file" => json!({"path": format!("{d}/file-out"), "state": "touch"}),
        "command" | "shell" => json!({"cmd": "true"}),
        "raw" => json!({"_raw_params": "true"}),
        "script" => json!({"_raw_params": "s.sh"}),
        "getent" => json!({"database": "passwd", "key": "root"}),
        "async_status" => json!({"jid": "j1.2"}),
        "known_hosts" => {
            json!({"name": "h", "key": "h ssh-ed25519 AAAAC3", "path": format!("{d}/known_hosts")})
        }
        "slurp" => json!({"src": "/etc/hostname"}),
        "fetch" => json!({"src": "/etc/hostname", "dest": format!("{d}/fetched")}),
        "assemble" => json!({"src": format!("{d}"), "dest": format!("{d}/assembled")}),
        "pause" => json!({"seconds": 0}),
        "replace" => json!({"path": format!("{d}/li"), "regexp": "zzz", "replace": "y"}),
        "stat" => json!({"path": format!("{d}")}),
        "find" => json!({"paths": format!("{d}"), "contains": "x"}),
        "debug" | "fail" => json!({"msg": "m"}),
        "assert" => json!({"that": ["true"]}),
        "validate_argument_spec" => json!({"argument_spec": {"x": {"type": "str"}}}),
        "set_fact" => json!({"x": 1}),
        "set_stats" => json!({"data": {"x": 1}}),
        "include_vars" => json!({"file": "/dev/null"}),
        "group_by" => json!({"key": "rprov-hostile-group"}),
        "add_host" => json!({"name": "rprov-hostile-added"}),
        "ping" => json!({}),
        "setup" => json!({"gather_subset": "min"}),
        "gather_facts" => json!({"gather_subset": "min", "parallel": true}),
        "tempfile" => json!({"path": format!("{d}"), "prefix": "t."}),
        "user" => json!({"name": "rprov-hostile-nobody"}),
        "group" => json!({"name": "rprov-hostile-nogroup"}),
        "authorized_key" => json!({
            "user": USER,
            "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGQ3dV0hOZ1bJ7iS5z1bXgWmHVzr9rZlU1o2bq8VbK1d x@y",
            "path": format!("{d}/authorized_keys"),
            "manage_dir": false,
        }),
        "apt" | "package" => json!({"name": "rprov-no-such-package", "state": "present"}),
        // The unprivileged login cannot write /etc/apt/sources.list.d: the
        // write fails, and nothing of the value may run on the way.
        "apt_repository" => json!({
            "repo": "deb http://127.0.0.1:9/ stable main",
            "update_cache": false,
        }),
        "deb822_repository" => json!({
            "name": "rprov-hostile",
            "uris": "http://127.0.0.1:9/",
            "suites": "stable",
        }),
        // A keyring of its own in `dir` (never the host's); the login is
        // not root, so apt-key adds nothing.
        "apt_key" => json!({"id": "12345678", "keyring": format!("{d}/ring.gpg")}),
        "lineinfile" => json!({"path": format!("{d}/li"), "line": "x", "create": true}),
        "blockinfile" => json!({"path": format!("{d}/bi"), "block": "x", "create": true}),
        "hostname" => json!({"name": "rprov-hostile"}),
        "timezone" => json!({"name": "Etc/UTC"}),
        // A key no kernel has, in a file of its own in `dir`; the login is
        // not root, so neither `sysctl -w` nor `sysctl -p` can set anything.
        "sysctl" => json!({
            "name": "rprov.hostile.key",
            "value": "1",
            "sysctl_file": format!("{d}/sysctl.conf"),
            "sysctl_set": true,
        }),
        // A package no host has: the login is not root, so setting it fails.
        "debconf" => json!({
            "name": "rprov-hostile-pkg",
            "question": "rprov-hostile/q",
            "vtype": "string",
            "value": "x",
        }),
        // A file of its own in `dir`: the test login's crontab is left alone.
        "cron" => json!({
            "name": "rprov-hostile",
            "job": "true",
            "user": USER,
            "cron_file": format!("{d}/cronfile"),
        }),
        "ufw" => json!({"rule": "allow", "port": "22"}),
        "systemd" | "systemd_service" | "service" => {
            json!({"name": "rprov-hostile.service", "state": "started"})
        }
        "quadlet" => json!({
            "name": "rprov-hostile.container",
            "content": "[Container]\nImage=localhost/x\n",
            "scope": "system",
        }),
        "rolling_restart" => json!({
            "units": ["rprov-hostile.service"],
            "health_url": "http://127.0.0.1:9/",
            "scope": "system",
        }),
        "uri" => json!({"url": "http://127.0.0.1:9/", "timeout": 2}),
        "get_url" => {
            json!({"url": "http://127.0.0.1:9/f", "dest": format!("{d}/dl"), "timeout": 2})
        }
        "wait_for" => json!({"path": format!("{d}/exists"), "timeout": 1}),
        "unarchive" => {
            json!({"src": format!("{d}/a.tgz"), "dest": format!("{d}"), "remote_src": true})
        }
        // No text arguments: nothing hostile to feed them, but listed so a
        // text argument added later is.
        "service_facts" => json!({}),
        "wait_for_connection" => json!({"timeout": 5}),
        // A stand-in `shutdown` (written by `run_hostile`) that does
        // nothing: the boot id never changes, and the wait ends at once.
        "reboot" => json!({"search_paths": [format!("{d}")], "reboot_timeout": 1}),
        other => panic!(
            "module `{other}` is new: give it base arguments in tests/hostile_args.rs so its \
             arguments are fed hostile values too"
        ),
    }
}

/// Each module and its arguments that take text, as `rprov modules --json`
/// lists them, and whether it takes any other name too (`set_fact`).
/// Booleans, numbers and choices refuse other text when the playbook loads,
/// naming the value (tests/bad_input.rs), so no shell syntax reaches a host
/// through them.
fn modules() -> BTreeMap<String, (Vec<String>, bool)> {
    let run = common::rprov(Path::new("."), ["modules", "--json"]);
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).expect("modules --json");
    let mut out = BTreeMap::new();
    for m in doc["modules"].as_array().expect("modules") {
        let args = m["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter(|a| ["str", "list", "mode", "any"].contains(&a["type"].as_str().unwrap_or("")))
            .map(|a| a["name"].as_str().expect("name").to_string())
            .collect();
        let any = m["any_args"] == true;
        out.insert(m["name"].as_str().expect("name").to_string(), (args, any));
    }
    out
}

/// One task per module argument, the argument set to `evil`.
fn tasks(dir: &Path, evil: &str) -> Vec<Value> {
    let mut tasks = Vec::new();
    for (module, (args, any)) in modules() {
        if LOAD_TIME.contains(&module.as_str()) {
            continue;
        }
        let base = base_args(&module, dir);
        let mut names = args.clone();
        if names.is_empty() && any {
            names.push("x".into()); // set_fact: any name
        }
        for arg in names {
            if SHELL_BY_DESIGN.contains(&(module.as_str(), arg.as_str()))
                || std::env::var("HOSTILE_SKIP").is_ok_and(|v| v == format!("{module} {arg}"))
            {
                continue;
            }
            let mut a = base.clone();
            a[arg.as_str()] = if CONTROLLER_PATHS.contains(&(module.as_str(), arg.as_str())) {
                json!(format!("{}/{evil}", dir.display()))
            } else {
                json!(evil)
            };
            tasks.push(json!({
                "name": format!("{module} {arg}"),
                module.as_str(): a,
                "ignore_errors": true,
            }));
        }
    }
    tasks
}

/// The playbook as JSON (which is YAML: no escaping of ours stands between
/// the value and rprov), task `i` on line `i + 2`.
fn playbook(tasks: &[Value]) -> String {
    let lines: Vec<String> = tasks.iter().map(Value::to_string).collect();
    format!(
        "[{{\"hosts\": \"all\", \"gather_facts\": false, \"tasks\": [\n{}\n]}}]\n",
        lines.join(",\n")
    )
}

/// The line a load error points at (`site.yml:LINE:COL: …`).
fn error_line(stderr: &str) -> Option<usize> {
    let rest = stderr.split("site.yml:").nth(1)?;
    rest.split(':').next()?.parse().ok()
}

fn run_hostile(evil_with: impl Fn(&Path) -> String, label: &str) {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("work");
    let dest = target_dir(USER);
    let canary = target_dir(USER);
    fs::write(dest.path().join("exists"), "present\n").expect("write");
    fs::write(work.path().join("t.j2"), "t\n").expect("write");
    fs::write(work.path().join("s.sh"), "#!/bin/sh\ntrue\n").expect("write");
    let shutdown = dest.path().join("shutdown");
    fs::write(&shutdown, "#!/bin/sh\ntrue\n").expect("write");
    fs::set_permissions(
        &shutdown,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let evil = evil_with(canary.path());
    let literal = serde_json::to_string(&evil).expect("json");
    let literal = &literal[1..literal.len() - 1];
    let mut tasks = tasks(dest.path(), &evil);
    let inv = common::one_host_inventory(work.path(), &sshd, "h");
    // Arguments refused when the playbook loads never reach the host: each
    // such refusal must name the value, then the task is left out and the
    // rest is run.
    let mut refused = Vec::new();
    let run = loop {
        fs::write(work.path().join("site.yml"), playbook(&tasks)).expect("write");
        let run = apply_json(work.path(), &inv, &[]);
        if run.code != 1 {
            break run;
        }
        let line = error_line(&run.stderr)
            .unwrap_or_else(|| panic!("{label}: a load error without a line\n{}", run.dump()));
        assert!(
            line >= 2 && line - 2 < tasks.len(),
            "{label}: load error outside the tasks\n{}",
            run.dump()
        );
        let task = tasks.remove(line - 2);
        let first_line = evil.lines().next().unwrap_or_default();
        assert!(
            run.stderr.contains(first_line) || run.stderr.contains(literal),
            "{label}: the load error for `{}` does not name the value\n{}",
            task["name"],
            run.dump()
        );
        refused.push(task["name"].to_string());
        assert!(
            refused.len() < 60,
            "{label}: most tasks refused: {refused:?}"
        );
    };
    let n = tasks.len();
    assert!(
        run.code == 0 || run.code == 2,
        "{label}: unexpected exit\n{}",
        run.dump()
    );
    let planted: Vec<_> = fs::read_dir(canary.path())
        .expect("canary dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        planted.is_empty(),
        "{label}: the host ran shell from a rendered value (canaries {planted:?})\n{}",
        run.dump()
    );
    let tasks = run.tasks();
    assert_eq!(
        tasks.len(),
        n,
        "{label}: not every task was reported (did one take the host down?)\n{}",
        run.dump()
    );
    assert_eq!(run.recap("h")["unreachable"], 0, "{label}\n{}", run.dump());
    // Tasks whose path cannot be used name it: as it was written, or (a NUL,
    // which no host path can hold) by the argument's name.
    for (name, arg) in [
        ("copy dest", "dest"),
        ("template dest", "dest"),
        ("stat path", "path"),
    ] {
        let t = tasks
            .iter()
            .find(|t| t["task"] == name)
            .unwrap_or_else(|| panic!("{label}: no task {name}\n{}", run.dump()));
        let text = t.to_string();
        if evil.contains('\0') {
            assert!(
                text.contains(&format!("`{arg}` contains a NUL byte")),
                "{label}: `{name}` does not say what is wrong: {text}"
            );
        } else if name == "stat path" {
            assert_eq!(t["result"]["stat"]["exists"], false, "{label}: {text}");
        } else {
            // The missing directory, as written: the value up to its last `/`.
            let dir = evil.rsplit_once('/').map_or(evil.as_str(), |(d, _)| d);
            let dir = serde_json::to_string(dir).expect("json");
            assert!(
                text.contains(&format!("Destination directory {}", &dir[1..dir.len() - 1])),
                "{label}: `{name}` does not name the value literally: {text}"
            );
            // A module that failed changed nothing, as ansible-core says.
            assert_eq!(t["result"]["changed"], false, "{label}: {text}");
        }
    }
}

#[test]
fn shell_syntax_in_any_argument_never_runs_on_the_host() {
    run_hostile(
        |c| {
            let c = c.display();
            format!(
                "/nonexistent/a$(touch {c}/dollar)b`touch {c}/backtick`c${{HOME:+$(touch {c}/param)}}'q\"dq\\bs\nnl;touch {c}/semi"
            )
        },
        "shell syntax",
    );
}

#[test]
fn a_nul_byte_in_any_argument_is_an_error_not_a_crash() {
    run_hostile(
        |c| format!("/nonexistent/nul\0$(touch {}/nul)", c.display()),
        "NUL byte",
    );
}
