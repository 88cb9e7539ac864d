//! Issue 2, "What a user can do": `rprov inventory --list/--host` output shape,
//! `--limit` patterns, shell completions and the top-level help.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::{fixtures, rprov};
use serde_json::Value;

fn dir() -> std::path::PathBuf {
    fixtures().join("inventory_cli")
}

fn list(limit: Option<&str>) -> Value {
    let mut args = vec!["inventory", "-i", "hosts.ini", "--list"];
    if let Some(l) = limit {
        args.extend(["--limit", l]);
    }
    let run = rprov(&dir(), args);
    run.expect_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{}", run.dump()))
}

/// Every host named in any group of `ansible-inventory --list` JSON.
fn hosts_of(list: &Value) -> BTreeSet<String> {
    list.as_object()
        .expect("an object")
        .iter()
        .filter(|(g, _)| *g != "_meta")
        .flat_map(|(_, v)| v["hosts"].as_array().cloned().unwrap_or_default())
        .map(|h| h.as_str().expect("host names are strings").to_string())
        .collect()
}

fn set(hosts: &[&str]) -> BTreeSet<String> {
    hosts.iter().map(|h| h.to_string()).collect()
}

#[test]
fn inventory_list_has_the_ansible_inventory_shape() {
    let l = list(None);
    let obj = l.as_object().expect("an object");
    assert!(obj.contains_key("_meta"));
    assert!(l["_meta"]["hostvars"].is_object());
    // Groups: hosts or children lists, `all` holds the top-level groups.
    let children: BTreeSet<&str> = l["all"]["children"]
        .as_array()
        .expect("all.children")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        children,
        ["ungrouped", "eu", "prod", "misc"].into_iter().collect()
    );
    assert_eq!(
        l["web"]["hosts"],
        serde_json::json!(["web01", "web02", "web03"])
    );
    assert_eq!(
        l["db"]["hosts"],
        serde_json::json!(["db-a", "db-b", "web02"])
    );
    assert_eq!(l["prod"]["children"], serde_json::json!(["web", "db"]));
    assert_eq!(
        hosts_of(&l),
        set(&["web01", "web02", "web03", "db-a", "db-b", "lonely"])
    );
    // Variables as ansible-core types them: inline INI values are literals.
    let web01 = &l["_meta"]["hostvars"]["web01"];
    assert_eq!(web01["http_port"], 8080);
    assert_eq!(web01["env"], "production");
    assert_eq!(
        web01["role_name"], "frontend",
        "group_vars/ next to the inventory"
    );
    assert_eq!(l["_meta"]["hostvars"]["db-a"]["ansible_host"], "10.0.0.5");
}

#[test]
fn inventory_host_shows_one_hosts_variables() {
    let run = rprov(&dir(), ["inventory", "-i", "hosts.ini", "--host", "web02"]);
    run.expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        v,
        serde_json::json!({"env": "production", "http_port": 8080, "role_name": "frontend"})
    );
    let run = rprov(&dir(), ["inventory", "-i", "hosts.ini", "--host", "nosuch"]);
    run.expect_code(1);
    assert!(run.stderr.contains("nosuch"), "{}", run.dump());
}

#[test]
fn limit_patterns() {
    let cases: &[(&str, &[&str])] = &[
        ("web", &["web01", "web02", "web03"]),
        ("web:db", &["web01", "web02", "web03", "db-a", "db-b"]),
        ("web,db", &["web01", "web02", "web03", "db-a", "db-b"]),
        ("prod:!eu", &["web02", "web03", "db-b"]),
        ("web:&eu", &["web01"]),
        ("db:&eu:!web", &["db-a"]),
        ("web0*", &["web01", "web02", "web03"]),
        ("db-?", &["db-a", "db-b"]),
        ("~web0[12]", &["web01", "web02"]),
        (
            "all",
            &["web01", "web02", "web03", "db-a", "db-b", "lonely"],
        ),
        ("all:!prod", &["lonely"]),
        ("lonely:web03", &["lonely", "web03"]),
    ];
    for (pattern, want) in cases {
        assert_eq!(
            hosts_of(&list(Some(pattern))),
            set(want),
            "--limit {pattern}"
        );
    }
    let run = rprov(
        &dir(),
        ["inventory", "-i", "hosts.ini", "--limit", "nosuch"],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("nosuch"), "{}", run.dump());
}

#[test]
fn apply_honours_limit() {
    let work = tempfile::tempdir().expect("tempdir");
    // The fixture inventory, every host on the local connection.
    let text = fs::read_to_string(dir().join("hosts.ini")).expect("fixture");
    let inv = work.path().join("hosts.ini");
    fs::write(
        &inv,
        format!("{text}\n[all:vars]\nansible_connection=local\n"),
    )
    .expect("write");
    fs::create_dir(work.path().join("group_vars")).expect("mkdir");
    let out = work.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    let base = format!("base_dir={}", out.display());
    let playbook = dir().join("touch.yml");
    let run = rprov(
        work.path(),
        [
            "apply",
            "-i",
            &inv.display().to_string(),
            "--limit",
            "prod:!eu",
            "-e",
            &base,
            &playbook.display().to_string(),
        ],
    );
    run.expect_code(0);
    let written: BTreeSet<String> = fs::read_dir(&out)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, set(&["web02", "web03", "db-b"]), "{}", run.dump());

    let run = rprov(
        work.path(),
        [
            "apply",
            "-i",
            &inv.display().to_string(),
            "--limit",
            "nosuch",
            "-e",
            &base,
            &playbook.display().to_string(),
        ],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("nosuch"), "{}", run.dump());
}

#[test]
fn completions_and_help() {
    let cwd = std::env::temp_dir();
    let run = rprov(&cwd, ["completions", "bash"]);
    run.expect_code(0);
    for word in ["_rprov()", "complete ", "apply", "inventory", "--limit"] {
        assert!(run.stdout.contains(word), "bash completion lacks {word:?}");
    }
    for shell in ["zsh", "fish"] {
        rprov(&cwd, ["completions", shell]).expect_code(0);
    }
    let run = rprov(&cwd, ["--help"]);
    run.expect_code(0);
    for word in ["apply", "inventory", "secrets", "completions", "Examples:"] {
        assert!(
            run.stdout.contains(word),
            "--help lacks {word:?}\n{}",
            run.stdout
        );
    }
    let run = rprov(&cwd, ["apply", "--help"]);
    run.expect_code(0);
    for word in ["--check", "--limit", "--extra-vars", "--output", "site.yml"] {
        assert!(run.stdout.contains(word), "apply --help lacks {word:?}");
    }
    // Usage errors exit 1 (clap's default 2 means "a task failed" in rprov).
    // Without an inventory rprov runs against the implicit localhost, as
    // ansible-playbook, so a bare `apply` in an empty folder says what it
    // looked for and how to name the playbook and the inventory.
    let empty = tempfile::tempdir().expect("empty folder");
    let run = rprov(empty.path(), ["apply"]);
    run.expect_code(1);
    for word in ["site.yml: playbook not found", "rprov apply -i hosts.ini"] {
        assert!(run.stderr.contains(word), "{}", run.dump());
    }
    rprov(&cwd, ["--bogus"]).expect_code(1);
}

/// Without an inventory (no -i, none in ansible.cfg or $ANSIBLE_INVENTORY,
/// no /etc/ansible/hosts), rprov does what ansible-playbook does: only the
/// implicit `localhost` exists, with ansible-core's warning. A play for
/// `localhost` runs; one for `all` matches nothing, and rprov says why.
#[test]
fn without_an_inventory_only_the_implicit_localhost_exists() {
    assert!(
        !std::path::Path::new("/etc/ansible/hosts").exists(),
        "this test needs a machine without /etc/ansible/hosts (Ansible's default inventory)"
    );
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    std::fs::write(
        work.path().join("local.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: {}\n        content: \"{{{{ groups['all'] | length }}}}\"\n",
            out.display()
        ),
    )
    .expect("write");
    std::fs::write(
        work.path().join("all.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
    )
    .expect("write");

    let run = common::rprov(work.path(), ["apply", "local.yml"]);
    run.expect_code(0);
    assert_eq!(std::fs::read_to_string(&out).unwrap_or_default(), "0");
    assert!(
        run.stderr
            .contains("No inventory was parsed, only implicit localhost is available"),
        "{}",
        run.dump()
    );

    let run = common::rprov(work.path(), ["apply", "all.yml"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no inventory was given")
            && run.stderr.contains("`all` does not match it"),
        "{}",
        run.dump()
    );
    let run = common::rprov(work.path(), ["inventory", "--list"]);
    run.expect_code(0);

    // An inventory that is not there is ansible-playbook's warning, and the
    // run goes on with the implicit `localhost` (ansible-core's var_templating
    // target passes `-i inventory` from a folder without one), whose
    // `ansible_python_interpreter` is the controller's Python.
    std::fs::write(
        work.path().join("python.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: {}\n        content: \"{{{{ ansible_python_interpreter }}}}\"\n",
            out.display()
        ),
    )
    .expect("write");
    let run = common::rprov(work.path(), ["apply", "-i", "inventory", "python.yml"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("Unable to parse")
            && run.stderr.contains("inventory as an inventory source"),
        "{}",
        run.dump()
    );
    let python = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(python.ends_with("/python3"), "{python}");
    // With no host at all to run on, the missing file is named.
    let run = common::rprov(work.path(), ["apply", "-i", "nope.ini", "all.yml"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("inventory nope.ini not found"),
        "{}",
        run.dump()
    );
}

/// Linked as `ansible-playbook`, rprov is `rprov apply` with ansible-playbook's
/// command line and exit codes: several playbooks run in order as one run,
/// listed each under its own name; 2 for a failed task, 4 for a playbook that
/// does not load, 1 for one that is not there, 2 for an unknown flag.
#[test]
fn linked_as_ansible_playbook_it_takes_ansible_playbooks_command_line() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    let exe = w.join("ansible-playbook");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rprov"), &exe).expect("link");
    let out = w.join("out");
    let write = |name: &str, text: String| std::fs::write(w.join(name), text).expect("write");
    write(
        "one.yml",
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: first\n      set_fact: {{from_one: 1}}\n    - copy: {{dest: {}, content: one}}\n",
            out.display()
        ),
    );
    write(
        "two.yml",
        format!(
            "- name: second\n  hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {{dest: {}, content: \"{{{{ from_one }}}} two\"}}\n",
            out.display()
        ),
    );
    write(
        "fails.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - fail: {msg: no}\n".into(),
    );
    write(
        "broken.yml",
        "- hosts: localhost\n  tasks:\n    - no_such_module_here: {}\n".into(),
    );
    let run = |args: &[&str]| common::run_as(&exe, w, args, &[]);

    // The second playbook sees the first's facts: one run, in order,
    // reported in ansible-playbook's own words.
    let both = run(&[
        "-i",
        "localhost,",
        "-c",
        "local",
        "one.yml",
        "two.yml",
        "--flush-cache",
    ]);
    both.expect_code(0);
    assert_eq!(std::fs::read_to_string(&out).unwrap_or_default(), "1 two");
    assert!(
        both.stdout.contains("\nPLAY [second] ****")
            && both.stdout.contains("\nTASK [first] ****")
            && both.stdout.contains(
                "\nlocalhost                  : ok=3    changed=2    unreachable=0    failed=0 "
            ),
        "{}",
        both.dump()
    );

    let listed = run(&["one.yml", "two.yml", "--list-tasks"]);
    listed.expect_code(0);
    assert!(
        listed
            .stdout
            .contains("playbook: one.yml\n\n  play #1 (localhost): localhost")
            && listed
                .stdout
                .contains("playbook: two.yml\n\n  play #1 (localhost): second"),
        "{}",
        listed.dump()
    );

    // A known difference: ansible-playbook runs playbooks of several folders
    // together, each with its own `playbook_dir`; rprov says it cannot.
    std::fs::create_dir(w.join("sub")).expect("mkdir");
    std::fs::copy(w.join("two.yml"), w.join("sub/two.yml")).expect("copy");
    let apart = run(&["-i", "localhost,", "one.yml", "sub/two.yml"]);
    apart.expect_code(4);
    assert!(
        apart.stderr.contains("share one `playbook_dir`"),
        "{}",
        apart.dump()
    );

    run(&["-i", "localhost,", "-c", "local", "fails.yml"]).expect_code(2);
    let broken = run(&["-i", "localhost,", "broken.yml"]);
    broken.expect_code(4);
    assert!(broken.stderr.contains("broken.yml:3"), "{}", broken.dump());
    run(&["-i", "localhost,", "missing.yml"]).expect_code(1);
    run(&["--no-such-flag", "one.yml"]).expect_code(2);
    // As rprov, the same errors keep rprov's codes.
    common::rprov(w, ["apply", "-i", "localhost,", "broken.yml"]).expect_code(1);
    common::rprov(w, ["apply", "--no-such-flag"]).expect_code(1);
}

/// `ping` is how a playbook checks that a host answers: it fails, as
/// unreachable, on a host that does not, even when no other task of the play
/// would have logged in.
#[test]
fn ping_finds_a_host_that_does_not_answer() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    // Port 1 on loopback: nothing listens there, the login is refused at once.
    std::fs::write(
        w.join("hosts.ini"),
        "gone ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n    - debug: msg=after\n",
    )
    .expect("write");
    let run = rprov(w, ["apply", "-i", "hosts.ini", "site.yml", "-o", "json"]);
    run.expect_code(4);
    let recap: Value = run
        .stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON recap\n{}", run.dump()));
    assert_eq!(recap["recap"]["gone"]["unreachable"], 1, "{}", run.dump());
    assert_eq!(recap["recap"]["gone"]["ok"], 0, "{}", run.dump());

    // `ignore_unreachable`: the host stays in the play, the task's result
    // says unreachable, and ansible-playbook's recap counts it ok and ignored.
    std::fs::write(
        w.join("ignoring.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n      ignore_unreachable: true\n      register: p\n    - debug: msg=\"after {{ p.unreachable }}\"\n      delegate_to: localhost\n",
    )
    .expect("write");
    let run = rprov(
        w,
        ["apply", "-i", "hosts.ini", "ignoring.yml", "-o", "ansible"],
    );
    run.expect_code(0);
    assert!(
        run.stdout.contains("fatal: [gone]: UNREACHABLE! => ")
            && run.stdout.contains("\n...ignoring\n")
            && run.stdout.contains("\"msg\": \"after True\"")
            && run.stdout.contains(
                "gone                       : ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=1 "
            ),
        "{}",
        run.dump()
    );
}

/// `ignore_unreachable` on a loop, as ansible-core 2.19 (checked by hand
/// against it, and its `ignore_unreachable` target): every item runs and
/// tries the host anew; a templated keyword is decided per item; the loop is
/// unreachable, and ignored only when every unreachable item ignored it.
#[test]
fn ignore_unreachable_on_a_loop_is_decided_item_by_item() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts.ini"),
        "gone ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n",
    )
    .expect("write");
    let site = "- hosts: all\n  gather_facts: false\n  tasks:\n\
        \x20   - ping:\n      ignore_unreachable: \"{{ item }}\"\n      loop: [true, true]\n      register: all_ignored\n\
        \x20   - debug: msg=\"{{ all_ignored.unreachable }} {{ all_ignored.results | map(attribute='unreachable') | list }}\"\n      delegate_to: localhost\n\
        \x20   - ping:\n      ignore_unreachable: \"{{ item }}\"\n      loop: [false, true]\n\
        \x20   - debug: msg=never\n      delegate_to: localhost\n";
    std::fs::write(w.join("site.yml"), site).expect("write");
    let run = rprov(w, ["apply", "-i", "hosts.ini", "site.yml", "-o", "ansible"]);
    run.expect_code(4);
    let out = &run.stdout;
    assert_eq!(
        out.matches("failed: [gone] (item=").count(),
        4,
        "each item of both loops tries the host\n{}",
        run.dump()
    );
    assert_eq!(out.matches("...ignoring\n").count(), 1, "{}", run.dump());
    // Items are shown as ansible-core shows them: Python's str() of the value.
    assert!(
        out.contains("failed: [gone] (item=True) => ")
            && out.contains("failed: [gone] (item=False) => "),
        "{}",
        run.dump()
    );
    assert!(
        out.contains("\"msg\": \"True [True, True]\"")
            && !out.contains("never")
            && out.contains(
                "gone                       : ok=2    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=1 "
            ),
        "{}",
        run.dump()
    );
}

/// `--start-at-task` (ansible-playbook's and `rprov apply`'s): the tasks
/// before the first matching one (by name, `role : name` or glob) do not
/// run, plays before it run nothing, later plays run whole; no match is an
/// error line after the recap, with the exit status left as it is.
#[test]
fn start_at_task_skips_the_tasks_before_the_match() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::create_dir_all(w.join("roles/r/tasks")).expect("mkdir");
    let touch = |name: &str, file: &str| {
        format!(
            "    - name: {name}\n      copy: {{dest: {}, content: x}}\n",
            w.join(file).display()
        )
    };
    std::fs::write(
        w.join("roles/r/tasks/main.yml"),
        format!(
            "- name: in role\n  copy: {{dest: {}, content: x}}\n",
            w.join("role").display()
        ),
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n{}{}- hosts: localhost\n  gather_facts: false\n  roles: [r]\n  tasks:\n{}{}",
            touch("write a", "a"),
            touch("write b", "b"),
            touch("write c", "c"),
            touch("write d", "d"),
        ),
    )
    .expect("write");
    let exists =
        |names: &[&str]| -> Vec<bool> { names.iter().map(|n| w.join(n).exists()).collect() };
    let clean = || {
        for f in ["a", "b", "c", "d", "role"] {
            let _ = std::fs::remove_file(w.join(f));
        }
    };
    let apply = |at: &str| {
        common::rprov(
            w,
            [
                "apply",
                "-i",
                "localhost,",
                "-c",
                "local",
                "site.yml",
                "--start-at-task",
                at,
            ],
        )
    };

    apply("wr?te b").expect_code(0);
    assert_eq!(
        exists(&["a", "b", "role", "c", "d"]),
        [false, true, true, true, true]
    );
    clean();
    apply("r : in role").expect_code(0);
    assert_eq!(
        exists(&["a", "b", "role", "c", "d"]),
        [false, false, true, true, true]
    );
    clean();
    apply("write d").expect_code(0);
    assert_eq!(
        exists(&["a", "b", "role", "c", "d"]),
        [false, false, false, false, true]
    );
    clean();
    let run = apply("no such task");
    run.expect_code(0);
    assert_eq!(exists(&["a", "b", "role", "c", "d"]), [false; 5]);
    assert!(
        run.stderr.contains(
            "No matching task \"no such task\" found. Note: --start-at-task can only follow static includes."
        ),
        "{}",
        run.dump()
    );
}

/// `order:` and `strategy:` written as templates take their value from the
/// play's vars and `-e` when the play starts (as ansible-core post-validates
/// a play), and a value rprov does not know is the same load error as a
/// literal one; `host_pinned` runs like `free`.
#[test]
fn templated_order_and_strategy_are_rendered_with_the_plays_vars() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts"),
        "[all:vars]\nansible_connection=local\n[g]\nhostB\nhostA\nhostC\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        format!(
            "- hosts: g\n  gather_facts: false\n  order: '{{{{ myorder | default(\"inventory\") }}}}'\n  strategy: \"{{{{ s | default(plays_strategy) }}}}\"\n  vars:\n    plays_strategy: host_pinned\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {}\n",
            w.join("seen").display()
        ),
    )
    .expect("write");
    let seen = || {
        let text = std::fs::read_to_string(w.join("seen")).unwrap_or_default();
        let _ = std::fs::remove_file(w.join("seen"));
        text.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "-i", "hosts", "--forks", "1", "site.yml"];
        args.extend_from_slice(extra);
        common::rprov(w, args)
    };

    apply(&[]).expect_code(0);
    assert_eq!(seen(), ["hostB", "hostA", "hostC"]);
    apply(&["-e", "myorder=reverse_sorted", "-e", "s=linear"]).expect_code(0);
    assert_eq!(seen(), ["hostC", "hostB", "hostA"]);

    let run = apply(&["-e", "myorder=backwards"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("unknown host `order`"),
        "{}",
        run.dump()
    );
    let run = apply(&["-e", "s=bogus"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("strategy `bogus` is not supported by rprov"),
        "{}",
        run.dump()
    );
    assert!(seen().is_empty(), "a play that does not load runs nothing");
}

/// `hosts:` written as a template takes its pattern from `-e` or the play's
/// vars when the play starts: a string (digits too) or a list of patterns,
/// as in ansible-core's hosts_field target.
#[test]
fn templated_hosts_are_rendered_with_extra_vars_and_play_vars() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts"),
        "[all:vars]\nansible_connection=local\n[g]\n42\nb\nc\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        format!(
            "- hosts: \"{{{{ target }}}}\"\n  gather_facts: false\n  vars:\n    mine: [b, c]\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {}\n",
            w.join("seen").display()
        ),
    )
    .expect("write");
    let seen = |extra: &str| {
        common::rprov(
            w,
            [
                "apply", "-i", "hosts", "--forks", "1", "site.yml", "-e", extra,
            ],
        )
        .expect_code(0);
        let text = std::fs::read_to_string(w.join("seen")).unwrap_or_default();
        let _ = std::fs::remove_file(w.join("seen"));
        let mut hosts: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        hosts.sort();
        hosts
    };
    assert_eq!(seen("target=42"), ["42"]);
    assert_eq!(seen(r#"{"target": 42}"#), ["42"]);
    assert_eq!(seen(r#"{"target": ["42", "c"]}"#), ["42", "c"]);
    assert_eq!(seen("target={{ mine }}"), ["b", "c"]);
    let run = common::rprov(w, ["apply", "-i", "hosts", "site.yml"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("cannot render `hosts`"),
        "{}",
        run.dump()
    );
}

/// `throttle:` written as a template is rendered on each host when the
/// task starts, as ansible-core's strategies do; a value that is not a
/// whole number, or does not render, fails the task in ansible-core's words.
#[test]
fn templated_throttle_is_rendered_per_host_when_the_task_starts() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("site.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: throttled\n      debug: msg=hi\n      throttle: \"{{ n }}\"\n",
    )
    .expect("write");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "-i", "localhost,", "-c", "local", "site.yml"];
        args.extend_from_slice(extra);
        common::rprov(w, args)
    };
    apply(&["-e", "n=1"]).expect_code(0);
    let run = apply(&["-e", "n=nope"]);
    run.expect_code(2);
    assert!(
        run.all().contains(
            "Failed to convert the throttle value to an integer: invalid literal for int() with base 10: 'nope'"
        ),
        "{}",
        run.dump()
    );
    let run = apply(&[]);
    run.expect_code(2);
    assert!(
        run.all()
            .contains("Failed to convert the throttle value to an integer: 'n' is undefined"),
        "{}",
        run.dump()
    );
}

/// `run_once:` written as a template is rendered on each host when the task
/// starts: true runs the task once for all the play's hosts, false on each.
#[test]
fn templated_run_once_is_rendered_when_the_task_starts() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts"),
        "a ansible_connection=local\nb ansible_connection=local\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {}\n      run_once: \"{{{{ flag }}}}\"\n",
            w.join("ran").display()
        ),
    )
    .expect("write");
    let lines = |flag: &str| {
        common::rprov(w, ["apply", "-i", "hosts", "site.yml", "-e", flag]).expect_code(0);
        let text = std::fs::read_to_string(w.join("ran")).unwrap_or_default();
        let _ = std::fs::remove_file(w.join("ran"));
        text.lines().count()
    };
    assert_eq!(lines("flag=true"), 1);
    assert_eq!(lines("flag=false"), 2);
}

/// `run_once` on a play applies to each of its tasks, as ansible-core's
/// tasks inherit it from their play.
#[test]
fn run_once_on_a_play_runs_each_task_once() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts"),
        "a ansible_connection=local\nb ansible_connection=local\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  run_once: true\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {0}\n    - shell: echo again >> {0}\n",
            w.join("ran").display()
        ),
    )
    .expect("write");
    common::rprov(w, ["apply", "-i", "hosts", "site.yml"]).expect_code(0);
    let text = std::fs::read_to_string(w.join("ran")).unwrap_or_default();
    assert_eq!(text.lines().count(), 2, "{text}");
}

/// A key that is no play keyword is refused in ansible-core's words (the
/// includes target greps them), and `include_tasks`' `apply:` passes its
/// keywords (here `notify`) to the included tasks as a block around them.
#[test]
fn play_keys_are_refused_as_ansible_does_and_include_apply_notifies() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(w.join("bad.yml"), "- include_tasks: x.yml\n").expect("write");
    let run = common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "bad.yml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("'include_tasks' is not a valid attribute for a Play"),
        "{}",
        run.dump()
    );
    std::fs::write(
        w.join("change.yml"),
        "- debug: msg=changing\n  changed_when: true\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        "- hosts: localhost\n  gather_facts: false\n  pre_tasks:\n    - include_tasks:\n        file: change.yml\n        apply:\n          notify: hello\n  handlers:\n    - name: hello\n      set_fact: hello=world\n  tasks:\n    - assert: {that: [\"hello == 'world'\"]}\n",
    )
    .expect("write");
    common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "site.yml"]).expect_code(0);
}

/// `meta: end_play` ends the play for every host, its later `serial`
/// batches included, and the next play runs; `meta: end_batch` ends only
/// the batch; a meta task skipped by its `when` says why in ansible-core's
/// words, and `-vv` shows its `META:` line.
#[test]
fn end_play_and_end_batch_end_the_play_or_batch_for_every_host() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts"),
        "a ansible_connection=local\nb ansible_connection=local\n",
    )
    .expect("write");
    let log = w.join("log");
    let play = |meta: &str| {
        format!(
            "- hosts: all\n  gather_facts: false\n  serial: 1\n  tasks:\n    - shell: echo {{{{ inventory_hostname }}}} >> {0}\n    - meta: {meta}\n    - shell: echo after >> {0}\n- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo next >> {0}\n    - meta: end_host\n      when: false\n",
            log.display()
        )
    };
    let apply = |meta: &str| {
        std::fs::write(w.join("site.yml"), play(meta)).expect("write");
        let run = common::rprov(w, ["apply", "-i", "hosts", "site.yml", "-vv"]);
        run.expect_code(0);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        (text, run)
    };
    let (text, run) = apply("end_play");
    assert_eq!(text, "a\nnext\nnext\n", "{}", run.dump());
    assert!(run.stdout.contains("META: ending play\n"), "{}", run.dump());
    assert!(
        run.stdout.contains(
            "\"skip_reason\": \"end_host conditional evaluated to False, continuing execution for a\""
        ),
        "{}",
        run.dump()
    );
    let (text, run) = apply("end_batch");
    assert_eq!(text, "a\nb\nnext\nnext\n", "{}", run.dump());
    assert!(
        run.stdout.contains("META: ending batch\n"),
        "{}",
        run.dump()
    );
}

/// Playbook shapes ansible-core refuses when it loads them are refused in
/// its words, which scripts grep for (its `playbook` target); the empty
/// forms it takes (`roles: null`, `vars_files: null`, one `vars_files`
/// name, `vars_prompt: null`) load, and `user` is `remote_user`.
#[test]
fn playbook_shapes_are_checked_as_ansible_core_checks_them() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(w.join("some_vars.yml"), "a_variable: yep\n").expect("write");
    let refused: &[(&str, &str)] = &[
        ("[]\n", "A playbook must contain at least one play"),
        (
            "- hosts: []\n  tasks: []\n",
            "Hosts list cannot be empty. Please check your playbook",
        ),
        (
            "- hosts: localhost\n  tasks: 123\n",
            "A malformed block was encountered while loading tasks: 123 should be a list or None",
        ),
        (
            "- hosts: localhost\n  pre_tasks: 123\n",
            "A malformed block was encountered while loading pre_tasks",
        ),
        (
            "- hosts: localhost\n  roles: 123\n",
            "A malformed role declaration was encountered.",
        ),
        (
            "- hosts: localhost\n  roles:\n    - foo,bar\n",
            "Invalid old style role requirement: foo,bar",
        ),
        (
            "- hosts: localhost\n  vars_prompt:\n    - foo: bar\n",
            "Invalid vars_prompt data structure, missing 'name' key",
        ),
        (
            "- hosts: localhost\n  remote_user: a\n  user: b\n  tasks: []\n",
            "both 'user' and 'remote_user' are set for this play.",
        ),
    ];
    for (text, says) in refused {
        std::fs::write(w.join("p.yml"), text).expect("write");
        let run = common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "p.yml"]);
        run.expect_code(1);
        assert!(run.stderr.contains(says), "{text:?}\n{}", run.dump());
        assert!(
            run.stderr.contains("p.yml:"),
            "{text:?}: no position\n{}",
            run.dump()
        );
    }
    std::fs::write(
        w.join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  roles: null\n  vars_prompt: null\n  vars_files: some_vars.yml\n  user: nobody\n  tasks:\n    - assert: {that: a_variable == 'yep'}\n- hosts: localhost\n  gather_facts: false\n  vars_files: null\n",
    )
    .expect("write");
    common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "p.yml"]).expect_code(0);
}

/// What ansible-core checks when a task runs fails that task, where
/// `ignore_errors` and `rescue` apply: a boolean keyword that is no boolean,
/// `async` on an action that takes none; `become_method: su` runs where no
/// other user is needed and fails a task that would need one.
#[test]
fn keywords_checked_when_the_task_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(w.join("s.sh"), "#!/bin/sh\necho hi\n").expect("write");
    std::fs::write(
        w.join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n      diff: yes.\n      ignore_errors: true\n      register: bad_diff\n    - debug: msg=x\n      diff: yes.\n      when: false\n      register: skipped_diff\n    - script: s.sh\n      async: 2\n      ignore_errors: true\n      register: script_async\n    - command: echo {{ ansible_user_id | default('me') }}\n      become: true\n      become_user: \"{{ lookup('pipe', 'id -un') }}\"\n      become_method: su\n      register: same_user\n    - command: id -un\n      become: true\n      become_user: rprov-nobody-such-user\n      become_method: su\n      ignore_errors: true\n      register: other_user\n    - assert:\n        that:\n          - bad_diff is failed\n          - bad_diff.msg is contains(\"The value 'yes.' could not be converted to 'bool'.\")\n          - skipped_diff is skipped\n          - script_async is failed\n          - script_async.msg == 'This action (script) does not support async.'\n          - same_user is success\n          - other_user is failed\n          - other_user.msg is contains('become_method su')\n",
    )
    .expect("write");
    let run = common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "p.yml"]);
    run.expect_code(0);
}

/// An `ansible_connection` naming a plugin rprov lacks makes the host
/// unreachable when it is needed, not the inventory unusable: the other
/// hosts run, and a play's `ignore_unreachable` covers gathering its facts.
#[test]
fn unknown_connection_plugin_is_unreachable_at_run_time() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts"),
        "good ansible_connection=local\nodd ansible_connection=bad_plugin\n",
    )
    .expect("write");
    std::fs::write(
        w.join("p.yml"),
        "- hosts: all\n  gather_facts: true\n  ignore_unreachable: true\n  tasks:\n    - ping:\n    - debug: {msg: still here}\n",
    )
    .expect("write");
    let run = common::rprov(w, ["apply", "-i", "hosts", "p.yml", "--output", "ansible"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("rprov has no connection plugin `bad_plugin`"),
        "{}",
        run.dump()
    );
    assert!(run.stdout.contains("...ignoring"), "{}", run.dump());
    assert!(run.stdout.contains("ok: [odd]"), "{}", run.dump());
    std::fs::write(
        w.join("p.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n",
    )
    .expect("write");
    let run = common::rprov(w, ["apply", "-i", "hosts", "p.yml"]);
    run.expect_code(4);
    assert!(run.all().contains("bad_plugin"), "{}", run.dump());
}

/// `--check` shows every change as a diff in rprov's own output; as
/// ansible-playbook (`--output ansible`) only `--diff` does, as its own, and
/// then `-vvv`'s `invocation` masks `copy`'s `content`, a `no_log` option
/// of ansible-core's module (its `copy` target greps for the secret).
#[test]
fn check_shows_diffs_as_each_output_does() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(w.join("hosts"), "here ansible_connection=local\n").expect("write");
    let dest = w.join("out.txt");
    std::fs::write(
        w.join("p.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: {}\n        content: \"{{{{ secret }}}}\"\n",
            dest.display()
        ),
    )
    .expect("write");
    let apply = |extra: &[&str]| {
        let mut args = vec![
            "apply",
            "-i",
            "hosts",
            "p.yml",
            "--check",
            "-e",
            "secret=SEKRIT",
        ];
        args.extend_from_slice(extra);
        let run = common::rprov(w, args);
        run.expect_code(0);
        run
    };
    let own = apply(&[]);
    assert!(own.stdout.contains("+SEKRIT"), "{}", own.dump());
    let as_ansible = apply(&["--output", "ansible", "-vvv"]);
    assert!(
        !as_ansible.all().contains("SEKRIT"),
        "{}",
        as_ansible.dump()
    );
    assert!(
        as_ansible
            .stdout
            .contains("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"),
        "{}",
        as_ansible.dump()
    );
    let with_diff = apply(&["--output", "ansible", "--diff"]);
    assert!(with_diff.stdout.contains("+SEKRIT"), "{}", with_diff.dump());
    assert!(!dest.exists(), "--check wrote {}", dest.display());
}

/// `log_path` gets the output in ansible-core's log format, and with
/// `log_verbosity` 3 the `EXEC` lines that `-v` does not show; a
/// `plugin_filters_cfg` reject list refuses a module in ansible-core's
/// words; a `when:` written as a template gets its deprecation warning.
#[test]
fn log_path_plugin_filters_and_deprecations_follow_ansible_cfg() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    let log = w.join("run.log");
    std::fs::write(
        w.join("ansible.cfg"),
        format!(
            "[defaults]\nlog_path = {}\nlog_verbosity = 3\nplugin_filters_cfg = filters.yml\n",
            log.display()
        ),
    )
    .expect("write");
    std::fs::write(
        w.join("filters.yml"),
        "filter_version: '1.0'\nmodule_rejectlist:\n  - copy\n",
    )
    .expect("write");
    std::fs::write(
        w.join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: normal task\n      ping:\n    - name: templated when\n      ping:\n      when: \"{{ 1 == 2 }}\"\n",
    )
    .expect("write");
    let env = [("ANSIBLE_CONFIG", "ansible.cfg")];
    let args = [
        "apply",
        "-i",
        "localhost,",
        "-c",
        "local",
        "p.yml",
        "-v",
        "--output",
        "ansible",
    ];
    let run = common::rprov_env(w, args, &env);
    run.expect_code(0);
    assert!(!run.all().contains("EXEC"), "{}", run.dump());
    assert!(
        run.stderr.contains(
            "[DEPRECATION WARNING]: Conditionals should not be surrounded by templating delimiters"
        ),
        "{}",
        run.dump()
    );
    let text = std::fs::read_to_string(&log).expect("the log file");
    assert!(
        text.contains(" n=ansible INFO| TASK [normal task]"),
        "{text}"
    );
    assert!(
        text.contains(" n=ansible INFO| <localhost> EXEC /bin/sh -c"),
        "{text}"
    );
    assert!(
        text.contains(" n=ansible INFO| [DEPRECATION WARNING]: Conditionals"),
        "{text}"
    );
    std::fs::write(
        w.join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {content: x, dest: /tmp/never}\n",
    )
    .expect("write");
    let run = common::rprov_env(
        w,
        ["apply", "-i", "localhost,", "-c", "local", "p.yml"],
        &env,
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "p.yml:4:7: couldn't resolve module/action 'copy'. This often indicates a misspelling"
        ),
        "{}",
        run.dump()
    );
    assert!(run.stderr.contains("module_rejectlist"), "{}", run.dump());
}

/// `is vault_encrypted` is true of a playbook's `!vault` value, which rprov
/// decrypts as it loads (ansible-core's test_core target: a `set_fact` of
/// one), and false of other values, its plaintext written out included.
#[test]
fn a_playbooks_vault_value_is_vault_encrypted() {
    let work = tempfile::tempdir().expect("tempdir");
    // `ansible-vault encrypt_string 'play-inline-secret-88'` (ansible-core
    // 2.19), password `vault-test-pw-2`.
    let vaulted = "!vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          65646233383339363931353939336636636237363963626563303835393539343961303630306461\n          3361386366353434666239656132666363366535643364380a353761323036356436313936393133\n          38626631653163356231653832303939343036313161333365303636646336636134306563333731\n          3033666132316265370a366132633561303963326131376633353339646630343866346237386439\n          62623762356531343462383630333436343739386563356132643232303430363230\n";
    std::fs::write(work.path().join("pw"), "vault-test-pw-2\n").expect("write");
    std::fs::write(
        work.path().join("vault.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - set_fact:\n        v: {vaulted}\n    - assert:\n        that:\n          - v is vault_encrypted\n          - inventory_hostname is not vault_encrypted\n          - v == 'play-inline-secret-88'\n"
        ),
    )
    .expect("write");
    let run = common::rprov(
        work.path(),
        ["apply", "--vault-password-file", "pw", "vault.yml"],
    );
    run.expect_code(0);
}

/// `ANSIBLE_HASH_BEHAVIOUR=merge` (ansible.cfg's `hash_behaviour`): a
/// mapping in `-e` is merged over the play's, as ansible-core's hash target
/// checks; without it the higher one replaces the lower.
#[test]
fn hash_behaviour_merge_merges_mappings_across_levels() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        work.path().join("hash.yml"),
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    h: {a: 1, deep: {x: 1}}\n  tasks:\n    - assert:\n        that: h == want\n",
    )
    .expect("write");
    let run_with = |behaviour: &str, want: &str| {
        let want = format!(r#"{{"want": {want}}}"#);
        common::rprov_env(
            work.path(),
            [
                "apply",
                "-e",
                r#"{"h": {"b": 2, "deep": {"y": 2}}}"#,
                "-e",
                &want,
                "hash.yml",
            ],
            &[("ANSIBLE_HASH_BEHAVIOUR", behaviour)],
        )
    };
    run_with("merge", r#"{"a": 1, "b": 2, "deep": {"x": 1, "y": 2}}"#).expect_code(0);
    run_with("replace", r#"{"b": 2, "deep": {"y": 2}}"#).expect_code(0);
    run_with("merge", r#"{"b": 2, "deep": {"y": 2}}"#).expect_code(2);
}

/// Several `-i` sources are read into one inventory, as ansible-playbook
/// reads them: the hosts of both, the later source's variables over the
/// earlier's.
#[test]
fn several_inventory_sources_make_one_inventory() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("a.ini"), "[web]\nweb1 v=a\n").expect("write");
    std::fs::write(
        work.path().join("b.yml"),
        "all:\n  hosts:\n    web1:\n      v: b\n    db1:\n",
    )
    .expect("write");
    let run = common::rprov(
        work.path(),
        ["inventory", "-i", "a.ini", "-i", "b.yml", "--list"],
    );
    run.expect_code(0);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        list["_meta"]["hostvars"]["web1"]["v"], "b",
        "{}",
        run.stdout
    );
    assert_eq!(
        list["ungrouped"]["hosts"],
        serde_json::json!(["db1"]),
        "{}",
        run.stdout
    );
    assert_eq!(
        list["web"]["hosts"],
        serde_json::json!(["web1"]),
        "{}",
        run.stdout
    );
}

/// A notification the loader cannot check (a templated handler name) that
/// reaches no handler when it is made stops the host in ansible-core's
/// words (ansible-playbook exits 1 there, rprov 2 as for a failed host), or
/// with `error_on_missing_handler = False` is a warning and the run goes on.
#[test]
fn a_notification_that_reaches_no_handler_at_run_time() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  vars: {hname: nope}\n  tasks:\n    - command: 'true'\n      notify: '{{ hname }}'\n    - debug: {msg: after the notification}\n  handlers:\n    - name: real\n      debug: {msg: handler}\n",
    )
    .expect("write");
    let said = "The requested handler 'nope' was not found in either the main handlers list nor in the listening handlers list";
    let run = common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "p.yml"]);
    run.expect_code(2);
    assert!(run.all().contains(said), "{}", run.dump());
    assert!(
        !run.all().contains("after the notification"),
        "{}",
        run.dump()
    );
    let run = common::rprov_env(
        w,
        ["apply", "-i", "localhost,", "-c", "local", "p.yml"],
        &[("ANSIBLE_ERROR_ON_MISSING_HANDLER", "false")],
    );
    run.expect_code(0);
    assert!(run.all().contains(said), "{}", run.dump());
    assert!(
        run.all().contains("after the notification"),
        "{}",
        run.dump()
    );
}

/// A `constructed` source after an INI one, for `rprov apply`: its groups
/// select a play's hosts and `--limit`'s, its `compose` variables reach
/// the tasks, and a bad configuration stops the run naming the file, the
/// line and what is wrong.
#[test]
fn constructed_groups_and_variables_reach_plays_and_limit() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("hosts.ini"),
        "[web]\nw1 role=front ansible_connection=local\nw2 role=back ansible_connection=local\nw3 role=front ansible_connection=local\n",
    )
    .expect("write");
    std::fs::write(
        w.join("constructed.yml"),
        "plugin: constructed\ncompose:\n  label: role ~ '-' ~ inventory_hostname\ngroups:\n  front-ends: role == 'front'\nkeyed_groups:\n  - key: role\n    prefix: role\n",
    )
    .expect("write");
    std::fs::write(
        w.join("site.yml"),
        format!(
            "- hosts: front_ends\n  gather_facts: false\n  tasks:\n    - shell: echo {{{{ label }}}} {{{{ group_names | join(',') }}}} >> {}\n",
            w.join("seen").display()
        ),
    )
    .expect("write");
    let seen = |limit: Option<&str>| {
        let mut args = vec![
            "apply",
            "-i",
            "hosts.ini",
            "-i",
            "constructed.yml",
            "--forks",
            "1",
            "site.yml",
        ];
        if let Some(l) = limit {
            args.extend(["--limit", l]);
        }
        common::rprov(w, args).expect_code(0);
        let text = std::fs::read_to_string(w.join("seen")).unwrap_or_default();
        let _ = std::fs::remove_file(w.join("seen"));
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    assert_eq!(
        seen(None),
        [
            "front-w1 front_ends,role_front,web",
            "front-w3 front_ends,role_front,web"
        ]
    );
    assert_eq!(
        seen(Some("role_front:!w3")),
        ["front-w1 front_ends,role_front,web"]
    );
    std::fs::write(
        w.join("constructed.yml"),
        "plugin: constructed\nkeyed_groups:\n  - key: role\n    perfix: role\n",
    )
    .expect("write");
    let run = common::rprov(
        w,
        [
            "apply",
            "-i",
            "hosts.ini",
            "-i",
            "constructed.yml",
            "site.yml",
        ],
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("constructed.yml:4")
            && run
                .stderr
                .contains("unknown option 'perfix' of a keyed group"),
        "{}",
        run.dump()
    );
}

/// Arguments third-party roles give that ansible-core takes: `systemd`'s
/// `unit` and `service` aliases, `apt`'s `force_apt_get`, and `package`
/// arguments of another system's package manager on a task that runs only
/// on a condition (refused when the playbook loads without one, as an
/// argument apt does not take).
#[test]
fn arguments_of_real_roles_load() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("roles.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - systemd: {unit: x.service, state: started}\n      when: false\n\
         \x20   - systemd: {service: x.service, enabled: true}\n      when: false\n\
         \x20   - apt: {name: x, force_apt_get: true}\n      when: false\n\
         \x20   - package: {name: redis, enablerepo: epel}\n      when: ansible_os_family | default('Debian') == 'RedHat'\n",
    )
    .expect("write");
    std::fs::write(
        w.join("always.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - package: {name: redis, enablerepo: epel}\n",
    )
    .expect("write");
    let run = common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "roles.yml"]);
    run.expect_code(0);
    let skipped = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("skipped"))
        .count();
    assert_eq!(skipped, 4, "{}", run.dump());
    let run = common::rprov(
        w,
        ["apply", "-i", "localhost,", "-c", "local", "always.yml"],
    );
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("unknown argument `enablerepo` for module `package`"),
        "{}",
        run.dump()
    );
    // One whose template may come to `omit` loads (community.zabbix's
    // `disablerepo: "{{ … | default(omit) }}"`): left out when it does,
    // refused by the module when the task runs with a value.
    std::fs::write(
        w.join("omitted.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - package: {name: coreutils, disablerepo: \"{{ nothing | default(omit) }}\"}\n      check_mode: true\n\
         \x20   - package: {name: coreutils, disablerepo: \"{{ 'x' | default(omit) }}\"}\n      check_mode: true\n",
    )
    .expect("write");
    let run = common::rprov(
        w,
        ["apply", "-i", "localhost,", "-c", "local", "omitted.yml"],
    );
    run.expect_code(2);
    assert!(
        run.stdout.contains("ok       [localhost] package")
            && run
                .stdout
                .contains("`package` does not take the argument `disablerepo`"),
        "{}",
        run.dump()
    );
}

/// Handlers that notify each other, or themselves, run once per flush, in
/// their order, as ansible-core's (rprov ran them forever); a failed
/// task in ansible-playbook's output gets ansible-core 2.19's `[ERROR]`
/// line; a block inside a handler's block is refused in
/// ansible-core's words.
/// `ANSIBLE_DEBUG`: the lines of ansible-core's debug trace that say
/// whether the handlers flush after a section ran, which scripts grep; the
/// flush is tagged `always` with the play's tags, so `--skip-tags` of the
/// play's tag drops it (ansible-core's `handlers` target checks both).
#[test]
fn ansible_debug_says_whether_the_section_flush_runs_handlers() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("tagged.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tags: whole\n  tasks:\n\
         \x20   - debug: {}\n      changed_when: true\n      notify: h\n      tags: mine\n\
         \x20 handlers:\n    - name: h\n      debug: {msg: h ran}\n",
    )
    .expect("write");
    let run_with = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "--output",
            "ansible",
        ];
        args.extend(extra);
        args.push("tagged.yml");
        let run = common::rprov_env(w, &args, env);
        run.expect_code(0);
        run
    };
    let debug = [("ANSIBLE_DEBUG", "1")];
    let run = run_with(&["--tags", "mine"], &debug);
    let triggered = run
        .stdout
        .matches(": META: triggered running handlers for localhost")
        .count();
    assert_eq!(triggered, 1, "{}", run.dump());
    assert!(
        run.stdout
            .contains(": No handler notifications for localhost, skipping."),
        "{}",
        run.dump()
    );
    assert_eq!(run.stdout.matches("h ran").count(), 1, "{}", run.dump());
    let run = run_with(&["--skip-tags", "whole"], &debug);
    assert!(!run.stdout.contains("META:"), "{}", run.dump());
    assert!(
        !run.stdout.contains("No handler notifications"),
        "{}",
        run.dump()
    );
    // Without ANSIBLE_DEBUG, none of it.
    let run = run_with(&[], &[]);
    assert!(
        !run.stdout.contains("handler notifications"),
        "{}",
        run.dump()
    );
}

#[test]
fn handlers_that_notify_each_other_run_once_per_flush() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    std::fs::write(
        w.join("loop.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      notify: [h1, self]\n\
         \x20 handlers:\n    - name: h1\n      debug: {msg: h1 ran}\n      changed_when: true\n      notify: h2\n\
         \x20   - name: h2\n      debug: {msg: h2 ran}\n      changed_when: true\n      notify: h1\n\
         \x20   - name: self\n      debug: {msg: self ran}\n      changed_when: true\n      notify: self\n\
         \x20   - command: 'false'\n      listen: h2\n      ignore_errors: true\n",
    )
    .expect("write");
    let run = common::rprov(
        w,
        [
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "--output",
            "ansible",
            "loop.yml",
        ],
    );
    run.expect_code(0);
    // Once in the flush after the tasks and once in the one after the (empty)
    // post_tasks, where they are still notified: ansible-playbook's count.
    for ran in ["h1 ran", "h2 ran", "self ran"] {
        assert_eq!(run.stdout.matches(ran).count(), 2, "{ran}\n{}", run.dump());
    }
    assert!(
        run.stdout
            .contains("[ERROR]: Task failed: Module failed: non-zero return code"),
        "{}",
        run.dump()
    );
    std::fs::write(
        w.join("block.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks: []\n  handlers:\n    - name: h\n      block:\n        - debug: {}\n        - block:\n            - debug: {}\n",
    )
    .expect("write");
    let run = common::rprov(w, ["apply", "-i", "localhost,", "-c", "local", "block.yml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("block.yml:8:11: Using a block as a handler is not supported."),
        "{}",
        run.dump()
    );
}
