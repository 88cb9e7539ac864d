//! Issue 2, "Bad input": each mistake gets one clear message naming the file
//! and line and saying what to do, and the documented exit code — 1 for errors
//! found before any host is touched, 2 for a failed task, 4 for an unreachable
//! host. Never a panic (the `rprov` helper asserts it on every run).

mod common;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{fixtures, rprov, target_dir, Run, USER};
use rprov_testbed::{Fleet, Sshd};

fn dir() -> PathBuf {
    fixtures().join("bad_input")
}

fn apply(inv: &Path, playbook: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "apply".to_string(),
        "-i".into(),
        inv.display().to_string(),
        playbook.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    rprov(&dir(), args)
}

fn assert_says(run: &Run, needles: &[&str]) {
    let all = run.all();
    for n in needles {
        assert!(all.contains(n), "output lacks {n:?}\n{}", run.dump());
    }
}

/// Whether sshd saw any login at all (not just a command).
fn logged_in(sshd: &Sshd) -> bool {
    fs::read_to_string(&sshd.log)
        .unwrap_or_default()
        .contains("Accepted ")
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
    // dropped here: the port is closed again
}

#[test]
fn load_errors_exit_1_before_any_host_is_contacted() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");

    let cases: &[(&str, &[&str])] = &[
        (
            "malformed_yaml.yml",
            &["malformed_yaml.yml:6:", "YAML parsing failed", "help:"],
        ),
        (
            "unknown_module.yml",
            &[
                "unknown_module.yml:4:7: unknown module `cpoy`",
                "did you mean `copy`?",
            ],
        ),
        (
            "unknown_arg.yml",
            &[
                "unknown_arg.yml:6:9: unknown argument `contnet` for module `copy`",
                "did you mean `content`?",
            ],
        ),
        (
            "wrong_value.yml",
            &[
                "wrong_value.yml:8:16: `user`: `state` must be one of present, absent, got `presnt`",
                "did you mean `present`? `state` takes: present, absent",
            ],
        ),
        (
            "wrong_type.yml",
            &[
                "wrong_type.yml:6:15: `file`: `mode` must be a file mode, got a list ([1])",
                "help: octal as a string",
            ],
        ),
        (
            "removed_include.yml",
            &[
                "removed_include.yml:6:7: The 'ansible.builtin.include' action plugin has been removed. Use include_tasks or import_tasks instead.",
                "help: `include_tasks` includes the file when the task runs",
            ],
        ),
        (
            "missing_role.yml",
            &[
                "missing_role.yml:3:7",
                "role `nosuchrole` not found",
                "looked in",
            ],
        ),
        (
            "missing_vars_file.yml",
            &[
                "missing_vars_file.yml:5:7: vars file `vars/absent.yml` not found",
                "relative to the playbook's directory",
            ],
        ),
    ];
    for (playbook, needles) in cases {
        let run = apply(&inv, playbook, &[]);
        run.expect_code(1);
        assert!(run.stderr.starts_with("error: "), "{}", run.dump());
        assert_says(&run, needles);
        assert!(
            !run.stdout.contains("PLAY"),
            "{playbook}: no play may start\n{}",
            run.dump()
        );
    }

    // Malformed INI inventories: file, line and the fix.
    let ini_cases: &[(&str, &[&str])] = &[
        ("bad_hostvar.ini", &["bad_hostvar.ini:2:", "key=value"]),
        ("bad_section.ini", &["bad_section.ini:3:", "[web:children]"]),
    ];
    for (ini, needles) in ini_cases {
        let run = apply(&dir().join(ini), "unknown_handler.yml", &[]);
        run.expect_code(1);
        assert_says(&run, needles);
        let run = rprov(&dir(), ["inventory", "-i", ini]);
        run.expect_code(1);
        assert_says(&run, needles);
    }

    // A missing inventory is ansible-playbook's warning (the run would go on
    // with the implicit localhost; see tests/cli.rs), then the playbook's
    // error; and a missing playbook.
    let run = apply(&work.path().join("nope.ini"), "unknown_handler.yml", &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &[
            "Unable to parse",
            "nope.ini as an inventory source",
            "help:",
        ],
    );
    let run = apply(&inv, "no-such-playbook.yml", &[]);
    run.expect_code(1);
    assert_says(&run, &["no-such-playbook.yml"]);

    assert_eq!(sshd.exec_count(), 0, "a load error must not run anything");
    assert!(!logged_in(&sshd), "a load error must not even log in");
}

#[test]
fn task_errors_name_the_file_and_line_and_exit_2() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());

    // Undefined variable in a task argument: the variable, the task file and line.
    let run = apply(&inv, "undefined_arg.yml", &["-e", &base]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            // The argument's own line, not the task's.
            "undefined_arg.yml:9:",
            "'nosuchvar' is undefined",
            "help: define `nosuchvar`",
        ],
    );
    assert!(
        run.stdout.contains("ok       [web1] fine"),
        "{}",
        run.dump()
    );

    // A notification that names no handler: a warning before the run
    // naming the handlers there are; as ansible-core, the task fails when it
    // changes something, in ansible-core's words.
    let run = apply(&inv, "unknown_handler.yml", &[]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "warning: unknown_handler.yml:3:7: task `notifies a handler nobody defined` notifies `restart ghost`",
            "(handlers of this play: restart nginx)",
            "unknown_handler.yml:3:7: The requested handler 'restart ghost' was not found in either the main handlers list nor in the listening handlers list",
        ],
    );

    // A value from a template is checked once rendered, with the same message.
    let run = apply(&inv, "wrong_templated_value.yml", &[]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "wrong_templated_value.yml:10:",
            "`lineinfile`: `state` must be one of present, absent, got `presnt`",
            "did you mean `present`?",
        ],
    );

    // Free-form `k=v` arguments: the module's line, not the task's first line.
    let run = apply(&inv, "undefined_free_form.yml", &["-e", &base]);
    run.expect_code(2);
    assert_says(
        &run,
        &["undefined_free_form.yml:5:", "'nosuchvar' is undefined"],
    );

    // Undefined variable in a template: the template file and its line.
    let run = apply(
        &inv,
        "undefined_template.yml",
        &["-e", &base, "-e", "which_template=undefined.j2"],
    );
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "roles/web/tasks/main.yml:1:",
            "templates/undefined.j2:3: 'missing_in_template' is undefined",
            "help: define `missing_in_template`",
        ],
    );

    // Template syntax error: the template file, a line and what is wrong.
    let run = apply(
        &inv,
        "undefined_template.yml",
        &["-e", &base, "-e", "which_template=syntax.j2"],
    );
    run.expect_code(2);
    assert_says(&run, &["templates/syntax.j2:", "syntax error"]);

    // A `src` that is in none of the places searched.
    let run = apply(&inv, "missing_src.yml", &["-e", &base]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "missing_src.yml:4:",
            "`nosuchfile.txt` not found",
            "looked in",
        ],
    );

    // A templated `vars_files` name can only be checked per host, at run time.
    let run = apply(&inv, "templated_vars_file.yml", &["-e", &base]);
    run.expect_code(2);
    assert_says(
        &run,
        &["templated_vars_file.yml:4:", "vars file `vars/web1.yml`"],
    );

    // A become method other than sudo (or su), from a variable (any layer).
    let run = apply(
        &inv,
        "simple.yml",
        &["-e", &base, "-e", "ansible_become_method=doas"],
    );
    run.expect_code(2);
    assert_says(
        &run,
        &["simple.yml:4:", "rprov becomes another user with sudo only"],
    );

    // Nothing was written by any of the failed tasks.
    assert_eq!(
        fs::read_dir(target.path()).expect("read target").count(),
        0,
        "failed tasks left files behind"
    );
}

#[test]
fn unreachable_host_exits_4() {
    let work = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let inv = common::write_inventory(
        work.path(),
        &format!("ghost ansible_host=127.0.0.1 ansible_port={port} ansible_user={USER}\n"),
    );
    let run = apply(
        &inv,
        "simple.yml",
        &["-e", "base_dir=/nonexistent", "--connect-timeout", "3"],
    );
    run.expect_code(4);
    assert_says(&run, &["ghost", "unreachable"]);
    let run = apply(
        &inv,
        "simple.yml",
        &["-e", "base_dir=/nonexistent", "--output", "json"],
    );
    run.expect_code(4);
    assert_eq!(
        run.stdout.lines().last().unwrap_or_default(),
        "{\"recap\": {\"ghost\": {\"ok\": 0, \"changed\": 0, \"unknown\": 0, \"failed\": 0, \"skipped\": 0, \"unreachable\": 1, \"remote_commands\": 0, \"ignored\": 0, \"rescued\": 0}}}"
    );
}

#[test]
fn changed_host_key_is_refused_with_advice() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let known = work.path().join("known_hosts");
    fs::write(
        &known,
        sshd.known_hosts_line_with_other_key().expect("other key"),
    )
    .expect("write known_hosts");
    let line = sshd.inventory_line("web1").replace(
        &sshd.known_hosts.display().to_string(),
        &known.display().to_string(),
    );
    let inv = common::write_inventory(work.path(), &format!("{line}\n"));
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());
    for extra in [&[][..], &["--accept-new-host-keys"][..]] {
        let mut args = vec!["-e", base.as_str()];
        args.extend_from_slice(extra);
        let run = apply(&inv, "simple.yml", &args);
        run.expect_code(4);
        assert_says(&run, &["web1", "CHANGED", "ssh-keygen -R"]);
    }
    assert_eq!(sshd.exec_count(), 0);
    assert_eq!(fs::read_dir(target.path()).expect("read").count(), 0);
}

#[test]
fn sudo_that_wants_a_password_fails_the_task_with_advice() {
    let sshd = Sshd::start("rprovpw").expect("start sshd for rprovpw (scripts/testenv.sh)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir("rprovpw");
    let base = format!("base_dir={}", target.path().display());
    let run = apply(&inv, "become.yml", &["-e", &base]);
    run.expect_code(2);
    assert_says(&run, &["sudo on web1 wants a password", "NOPASSWD"]);
    assert!(!target.path().join("root.txt").exists());

    let run = apply(&inv, "become_mixed.yml", &["-e", &base]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "changed  [web1] as the login user",
            "sudo on web1 wants a password",
            "NOPASSWD",
        ],
    );
    assert_eq!(
        fs::read_to_string(target.path().join("mine.txt"))
            .ok()
            .as_deref(),
        Some("mine\n"),
        "{}",
        run.dump()
    );
    assert!(!target.path().join("root.txt").exists());
}

#[test]
fn one_unreachable_host_does_not_stop_the_others() {
    let fleet = Fleet::start(2, USER).expect("start fleet (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let mut inv = String::from("[web]\n");
    for (i, h) in fleet.hosts.iter().enumerate() {
        inv.push_str(&h.inventory_line(&format!("web{}", i + 1)));
        inv.push('\n');
    }
    inv.push_str(&format!(
        "ghost ansible_host=127.0.0.1 ansible_port={} ansible_user={USER}\n",
        closed_port()
    ));
    let inv = common::write_inventory(work.path(), &inv);
    let target = target_dir(USER);
    let base = format!("base_dir={}", target.path().display());
    let run = apply(&inv, "simple.yml", &["-e", &base, "--output", "json"]);
    run.expect_code(4);
    for (i, h) in ["web1", "web2"].iter().enumerate() {
        assert_eq!(
            fs::read_to_string(target.path().join(format!("{h}.txt"))).ok(),
            Some(format!("{h}\n")),
            "{}",
            run.dump()
        );
        let r = run.recap(h);
        assert_eq!(r["changed"], 1, "{}", run.dump());
        assert_eq!(r["unreachable"], 0);
        assert_eq!(r["remote_commands"], fleet.hosts[i].exec_count() as u64);
    }
    assert_eq!(run.recap("ghost")["unreachable"], 1, "{}", run.dump());
    assert!(
        run.json_lines()
            .iter()
            .any(|v| v["event"] == "host_error" && v["host"] == "ghost"),
        "{}",
        run.dump()
    );
}

/// Settings rprov does not carry out are refused when the playbook loads,
/// naming the file and line, rather than accepted and ignored.
#[test]
fn settings_rprov_would_ignore_are_refused_at_load_time() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let cases: &[(&str, &[&str])] = &[
        (
            "output_encoding.yml",
            &[
                "output_encoding.yml:6:",
                "`output_encoding: utf-16` is no character set rprov can write",
            ],
        ),
        (
            "attributes.yml",
            &[
                "attributes.yml:6:",
                "`attributes: +i` (file attributes set with chattr) is not supported",
                "help:",
            ],
        ),
        (
            "local_follow.yml",
            &["local_follow.yml:3:", "`local_follow` must be yes or no"],
        ),
        (
            "newline_sequence.yml",
            &["newline_sequence.yml:6:", "is not a line break"],
        ),
        (
            "strategy.yml",
            &[
                "strategy.yml:2:",
                "strategy `debug` is not supported",
                "own pace",
            ],
        ),
        (
            "become_method.yml",
            &["become_method.yml:3:", "only `become_method: sudo`"],
        ),
        (
            "vars_prompt.yml",
            &[
                "vars_prompt.yml:2:",
                "the play keyword `vars_prompt` is not supported",
            ],
        ),
        (
            "throttle_word.yml",
            &["throttle_word.yml:4:", "`throttle` must be a whole number"],
        ),
        (
            "order.yml",
            &["order.yml:2:", "unknown host `order`", "reverse_sorted"],
        ),
        (
            "include_tasks_notify.yml",
            &[
                "include_tasks_notify.yml:4:",
                "`notify` is not a keyword of `include_tasks`",
                "import_tasks",
            ],
        ),
    ];
    for (playbook, needles) in cases {
        let run = apply(&inv, &format!("refused/{playbook}"), &[]);
        run.expect_code(1);
        assert!(run.stderr.starts_with("error: "), "{}", run.dump());
        assert_says(&run, needles);
    }
    assert_eq!(sshd.exec_count(), 0, "a load error must not run anything");
    assert!(!logged_in(&sshd), "a load error must not even log in");
}

/// Arguments a module refuses are a load error, unless the task says
/// `ignore_errors: true`: then, as in Ansible (whose modules check their
/// arguments only when they run), the task fails with the same message when
/// it runs, that failure is ignored, and the play goes on. `async` on a
/// module that cannot take it is treated the same way.
#[test]
fn refused_arguments_under_ignore_errors_fail_when_the_task_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    let site = "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
        \x20   - copy: {dest: /nonexistent/x, contnet: hi}\n      ignore_errors: true\n      register: c\n\
        \x20   - add_host: notkeyvalue\n      ignore_errors: true\n      register: h\n\
        \x20   - script: nothere.sh\n      async: 10\n      ignore_errors: true\n      register: s\n\
        \x20   - copy:\n        dest: \"{{ out }}\"\n        content: \"{{ [c, h, s] | to_json }}\"\n";
    fs::write(work.path().join("site.yml"), site).expect("write");
    let run = rprov(
        work.path(),
        [
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            &format!("out={}", out.display()),
            "site.yml",
        ],
    );
    run.expect_code(0);
    let text = fs::read_to_string(&out).unwrap_or_default();
    let results: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\n{}", run.dump()));
    let wanted = [
        "site.yml:4:36: unknown argument `contnet` for module `copy`",
        "site.yml:7:7: Action 'ansible.builtin.add_host' does not support raw params: `add_host` does not take free-form text",
        // ansible-core's action refuses it when the task runs, in its words.
        "This action (script) does not support async.",
    ];
    for (r, msg) in results.as_array().expect("a list").iter().zip(wanted) {
        assert_eq!(r["failed"], true, "{r}");
        assert_eq!(r["changed"], false, "{r}");
        let got = r["msg"].as_str().unwrap_or_default();
        assert!(got.starts_with(msg), "{got}\nwanted {msg}");
    }
    assert_eq!(
        run.stdout.matches("failed (ignored)").count(),
        3,
        "{}",
        run.dump()
    );

    // Without `ignore_errors` the same task stops the playbook at load.
    fs::write(
        work.path().join("strict.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {dest: /nonexistent/x, contnet: hi}\n",
    )
    .expect("write");
    let run = rprov(
        work.path(),
        ["apply", "-i", "localhost,", "-c", "local", "strict.yml"],
    );
    run.expect_code(1);
    assert_says(&run, &["strict.yml:4:36: unknown argument `contnet`"]);
}
