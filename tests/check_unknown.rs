//! Issue 2, "Modules": in check mode a command task is `unknown`, and a later
//! task that uses its registered result is still evaluated sensibly — never an
//! undefined-variable crash or a false failure. Over a real sshd: under
//! `--check` the commands and every task that depends on them (through
//! set_fact, set_fact of a set_fact, a template file, play and task vars, a
//! loop, `when`, `assert`, `failed_when`, `changed_when`, `until`, `debug`, a
//! register) are `unknown`, the independent ones are planned as usual, the run
//! exits 0 and nothing is written. Without `--check` the same playbook applies,
//! and its second run changes nothing.

mod common;

use std::fs;
use std::path::Path;

use common::{apply_json, fixtures, snapshot, statuses, target_dir, Run, USER};
use rprov_testbed::Sshd;

fn apply(inv: &Path, base: &Path, check: bool) -> Run {
    let base = format!("base_dir={}", base.display());
    let mut args = vec!["-e", &base, "site.yml"];
    if check {
        args.push("--check");
    }
    apply_json(&fixtures().join("check_unknown"), inv, &args)
}

/// Every task of the fixture in order, with its status under `--check`.
const EXPECTED_IN_CHECK: &[(&str, &str)] = &[
    ("independent file before", "changed"),
    ("read the words", "unknown"),
    ("read a JSON list", "unknown"),
    ("facts from the output", "unknown"),
    ("a fact from a fact", "unknown"),
    ("template that uses the facts", "unknown"),
    ("copy that uses a fact of a fact", "unknown"),
    ("copy that uses only the known fact", "changed"),
    ("assert on the output", "unknown"),
    ("assert on nothing unknown", "ok"),
    ("a file per line", "unknown"),
    ("a file per JSON item", "unknown"),
    ("show a var", "unknown"),
    ("show a message", "unknown"),
    ("through a play variable", "unknown"),
    ("through a task variable", "unknown"),
    ("when on the output", "unknown"),
    ("failed_when on the output", "unknown"),
    ("changed_when on the output", "unknown"),
    ("until on the output", "unknown"),
    ("a register of an unknown task", "unknown"),
    ("uses that register", "unknown"),
    ("independent file after", "changed"),
    ("independent debug", "ok"),
];

/// The tasks that use a command's result, directly or not.
const DEPENDANTS: &[&str] = &[
    "facts from the output",
    "a fact from a fact",
    "template that uses the facts",
    "copy that uses a fact of a fact",
    "assert on the output",
    "a file per line",
    "a file per JSON item",
    "show a var",
    "show a message",
    "through a play variable",
    "through a task variable",
    "when on the output",
    "failed_when on the output",
    "changed_when on the output",
    "until on the output",
    "a register of an unknown task",
    "uses that register",
];

#[test]
fn check_mode_reports_dependants_of_commands_as_unknown_then_applies() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path();

    // --check: unknown for the commands and everything that uses them.
    let tree = snapshot(base);
    let check = apply(&inv, base, true);
    check.expect_code(0);
    let got = statuses(&check);
    let want: Vec<(String, String)> = EXPECTED_IN_CHECK
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(got, want, "{}", check.dump());
    // Each dependant says what it waits for, never an undefined variable.
    for t in check.tasks() {
        let name = t["task"].as_str().unwrap_or_default();
        if DEPENDANTS.contains(&name) {
            let msg = t["msg"].as_str().unwrap_or_default();
            assert!(
                msg.contains("depends on `") && msg.contains("not known in check mode"),
                "{name}: {t}"
            );
        }
    }
    let msg_of = |name: &str| -> String {
        check
            .tasks()
            .iter()
            .find(|t| t["task"] == name)
            .map(|t| t["msg"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    // The chain is named: the template's fact comes from `out`.
    for (task, part) in [
        ("template that uses the facts", "`greeting` → `out`"),
        ("through a play variable", "`first_line` → `out`"),
        ("uses that register", "`st`"),
        ("independent debug", "constant is fixed"),
    ] {
        assert!(msg_of(task).contains(part), "{task}: {}", msg_of(task));
    }
    assert!(!check.all().contains("undefined"), "{}", check.dump());
    // The human output says what every unknown task waits for, the commands
    // included (issue 15).
    let base_var = format!("base_dir={}", base.display());
    let human = common::apply_human(
        &fixtures().join("check_unknown"),
        &inv,
        &["-e", &base_var, "site.yml", "--check"],
    );
    human.expect_code(0);
    assert!(
        human.stdout.contains("`greeting` → `out`"),
        "{}",
        human.dump()
    );
    assert!(
        human
            .stdout
            .contains("waits for the command's result: commands do not run in check mode"),
        "{}",
        human.dump()
    );
    let recap = check.recap("web1");
    assert_eq!(recap["failed"], 0, "{recap}");
    // The JSON recap counts the unknown tasks too (the human one always did),
    // in the human recap's column order.
    let unknown = want.iter().filter(|(_, s)| s == "unknown").count() as u64;
    assert!(unknown > 0);
    assert_eq!(recap["unknown"], unknown, "{recap}");
    let n = |k: &str| recap[k].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        check.stdout.lines().last().unwrap_or_default(),
        common::recap_line_unknown(
            "web1",
            n("ok"),
            n("changed"),
            unknown,
            0,
            n("skipped"),
            n("remote_commands")
        )
    );
    assert_eq!(snapshot(base), tree, "--check wrote to the host");

    // The real run applies everything.
    let first = apply(&inv, base, false);
    first.expect_code(0);
    let read = |p: &str| fs::read_to_string(base.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(read("greeting.txt"), "ONE-TWO (fixed)\n");
    assert_eq!(read("shout.txt"), "ONE-TWO!\n");
    assert_eq!(read("constant.txt"), "fixed\n");
    assert_eq!(read("line-one"), "one\n");
    assert_eq!(read("line-two"), "two\n");
    assert_eq!(read("json-x"), "x\n");
    assert_eq!(read("json-y"), "y\n");
    assert_eq!(read("first.txt"), "one\n");
    assert_eq!(read("second.txt"), "two\n");
    // `"{{ bool }}\n"` is the boolean itself, as in ansible-core 2.19 (Jinja
    // drops the final line break), and copy writes Python's `str()` of it.
    assert_eq!(read("st.txt"), "False");
    assert!(base.join("when-dir").is_dir());
    assert!(base.join("after").is_dir());
    let shown = first
        .tasks()
        .into_iter()
        .find(|t| t["task"] == "show a var")
        .expect("debug var task");
    assert_eq!(shown["status"], "ok", "{shown}");
    assert!(shown.to_string().contains("one\\ntwo"), "{shown}");
    let failed: Vec<_> = statuses(&first)
        .into_iter()
        .filter(|(_, s)| s != "ok" && s != "changed")
        .collect();
    assert!(failed.is_empty(), "{failed:?}\n{}", first.dump());

    // And a second run changes nothing.
    let second = apply(&inv, base, false);
    second.expect_code(0);
    assert_eq!(second.recap("web1")["changed"], 0, "{}", second.stdout);
    assert_eq!(second.recap("web1")["failed"], 0, "{}", second.stdout);
}

/// A task whose host lacks what an earlier, undone change would have made (a
/// file a command creates, a user, a unit a package installs) is `unknown`
/// under `--check`, not a failure the real run would not have; with nothing
/// undone before it, the same task fails as it should.
#[test]
fn missing_prerequisites_of_undone_changes_are_unknown_in_check() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path();
    let dir = fixtures().join("check_missing");
    let base_var = format!("base_dir={}", base.display());
    let run = |extra: &[&str]| {
        let mut args = vec!["-e", base_var.as_str(), "site.yml"];
        args.extend_from_slice(extra);
        apply_json(&dir, &inv, &args)
    };

    let tree = snapshot(base);
    let check = run(&["--check"]);
    check.expect_code(0);
    let want = [
        ("the directory", "changed"),
        ("a command makes the file", "unknown"),
        ("edit a line", "unknown"),
        ("edit a block", "unknown"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(statuses(&check), want, "{}", check.dump());
    let edit = check
        .tasks()
        .into_iter()
        .find(|t| t["task"] == "edit a line")
        .expect("the lineinfile task");
    let msg = edit["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("does not exist") && msg.contains("earlier change was not made"),
        "{edit}"
    );
    assert_eq!(snapshot(base), tree, "--check wrote to the host");

    // Nothing undone before it: the missing file is the user's mistake.
    let alone = run(&["--check", "--tags", "edit"]);
    alone.expect_code(2);
    assert_eq!(alone.recap("web1")["failed"], 1, "{}", alone.dump());
    assert!(alone.all().contains("does not exist"), "{}", alone.dump());

    // The real run makes the file and edits it; the next changes nothing.
    run(&[]).expect_code(0);
    let conf = fs::read_to_string(base.join("conf/app.conf")).expect("app.conf");
    assert!(
        conf.contains("port = 80\n") && conf.contains("workers = 2\n"),
        "{conf}"
    );
    let again = run(&[]);
    again.expect_code(0);
    assert_eq!(again.recap("web1")["changed"], 0, "{}", again.stdout);
}

/// `check_mode` on a play, a block, an `import_tasks`, a role entry and in
/// an `include_tasks`' `apply:` applies to every task under it, and a task's
/// own wins, as in ansible-core (checked by hand against ansible-playbook
/// 2.19: the same files written; `check_mode` on the include itself is
/// refused there, and by rprov). It was ignored everywhere but on a task, so
/// "check mode" blocks wrote to the host.
#[test]
fn check_mode_of_plays_blocks_imports_and_roles_reaches_their_tasks() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let target = target_dir(USER);
    let base = target.path();
    let w = work.path();
    let copy = |name: &str| format!("- copy: {{dest: \"{{{{ base }}}}/{name}\", content: x}}\n");
    fs::write(w.join("imported.yml"), copy("imported")).expect("write");
    fs::write(w.join("included.yml"), copy("included")).expect("write");
    fs::create_dir_all(w.join("roles/r/tasks")).expect("mkdir");
    fs::write(w.join("roles/r/tasks/main.yml"), copy("role")).expect("write");
    let site = format!(
        "- hosts: all\n  gather_facts: false\n  roles:\n    - role: r\n      check_mode: true\n  tasks:\n\
         \x20   - block:\n        - {}\
         \x20       - copy: {{dest: \"{{{{ base }}}}/own_wins\", content: x}}\n          check_mode: false\n      check_mode: true\n\
         \x20   - import_tasks: imported.yml\n      check_mode: true\n\
         \x20   - include_tasks:\n        file: included.yml\n        apply:\n          check_mode: true\n\
         \x20   - {}\
         - hosts: all\n  gather_facts: false\n  check_mode: true\n  tasks:\n    - {}",
        copy("block").trim_start_matches("- "),
        copy("written").trim_start_matches("- "),
        copy("play").trim_start_matches("- "),
    );
    fs::write(w.join("site.yml"), site).expect("write");
    let b = format!("base={}", base.display());
    let run = apply_json(w, &inv, &["-e", &b, "site.yml"]);
    run.expect_code(0);
    let mut written: Vec<String> = fs::read_dir(base)
        .expect("read target")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    written.sort();
    assert_eq!(written, ["own_wins", "written"], "{}", run.dump());
    // Each check-mode task still reports what it would change.
    assert_eq!(run.recap("web1")["changed"], 7, "{}", run.dump());
}
