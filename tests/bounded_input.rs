//! Issue 13, items 6–9: no input panics or exhausts the machine, every limit
//! says which one it is and how to raise it, and messages a user reads name
//! the file and say what to do instead of quoting a library's internals.
//! Each test runs the CLI as a user would (the `rprov` helper fails on any
//! panic) against hosts with `ansible_connection=local` unless ssh itself is
//! what is tested.

mod common;

use std::fs;
use std::path::Path;

use common::{rprov, Run};

/// Writes `files` (name, text) into `dir`.
fn write_all(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, text).expect("write fixture");
    }
}

/// `rprov apply -i INV PLAYBOOK EXTRA…` in `dir`.
fn apply(dir: &Path, inv: &str, playbook: &str, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "-i", inv, playbook];
    args.extend_from_slice(extra);
    rprov(dir, args)
}

fn assert_says(run: &Run, needles: &[&str]) {
    let all = run.all();
    for n in needles {
        assert!(all.contains(n), "output lacks {n:?}\n{}", run.dump());
    }
}

/// A play of one `debug` task on every host, without facts.
const DEBUG_PLAY: &str = "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: msg=hi\n";

#[test]
fn a_65536_character_host_name_runs_and_is_recapped() {
    let work = tempfile::tempdir().expect("tempdir");
    let name = "h".repeat(65_536);
    let inv = format!("[web]\n{name} ansible_connection=local\n");
    write_all(
        work.path(),
        &[("hosts.ini", &inv), ("play.yml", DEBUG_PLAY)],
    );
    let run = run_play(&work, &[]);
    run.expect_code(0);
    let recap_row = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&name))
        .unwrap_or_else(|| panic!("no recap row\n{}", &run.stdout[..200]));
    assert!(recap_row.ends_with(" 0"), "{}", &recap_row[name.len()..]);
}

#[test]
fn a_backwards_host_range_is_an_error_naming_it() {
    let work = tempfile::tempdir().expect("tempdir");
    write_all(
        work.path(),
        &[
            ("hosts.ini", "[web]\nweb[3:1]\n[db]\nd ansible_connection=local\n"),
            (
                "hosts.yml",
                "all:\n  children:\n    web:\n      hosts:\n        web[3:1]:\n    db:\n      hosts:\n        d: {ansible_connection: local}\n",
            ),
            ("play.yml", DEBUG_PLAY),
        ],
    );
    let run = run_play(&work, &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &["hosts.ini:2: invalid host range \"web[3:1]\": START 3 comes after END 1, so [3:1] names no host; write [1:3]"],
    );
    let run = apply(work.path(), "hosts.yml", "play.yml", &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &[
            "hosts.yml:5",
            "invalid host range \"web[3:1]\"",
            "write [1:3]",
        ],
    );
}

/// A host on the controller, for plays that need no ssh.
const LOCAL_INV: &str = "localhost ansible_connection=local\n";

#[test]
fn register_names_that_are_not_variable_names_are_refused_at_load() {
    let work = tempfile::tempdir().expect("tempdir");
    for (value, shown, col) in [
        ("5", "5' of type 'int", 17),
        ("\"a b-c\"", "a b-c", 17),
        ("true", "True' of type 'bool", 17),
    ] {
        let play = format!(
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: msg=hi\n      register: {value}\n"
        );
        write_all(
            work.path(),
            &[("hosts.ini", LOCAL_INV), ("play.yml", &play)],
        );
        let run = run_play(&work, &[]);
        run.expect_code(1);
        assert_says(
            &run,
            &[
                &format!("play.yml:5:{col}: Invalid 'register' specified: Invalid variable name '{shown}'."),
                "help: a variable name starts with a letter or `_` and holds only letters, digits and `_` (like `web_result`)",
            ],
        );
        assert!(!run.all().contains("RECAP"), "ran tasks\n{}", run.dump());
    }
}

#[test]
fn an_impossible_port_is_a_configuration_error_before_any_host() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: \"true\"\n";
    write_all(
        work.path(),
        &[
            (
                "hosts.ini",
                "h1 ansible_host=127.0.0.1 ansible_port=99999\nh2 ansible_connection=local\n",
            ),
            ("play.yml", play),
        ],
    );
    let run = run_play(&work, &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &[
            "hosts.ini: host h1: invalid ansible_port: expected a port from 1 to 65535, got 99999",
            "help: correct ansible_port of h1 where the inventory sets it (hosts.ini, group_vars/, host_vars/) or override it with -e",
        ],
    );
    // Nothing ran, not even on the host that was fine.
    assert!(!run.all().contains("RECAP"), "{}", run.dump());
    // -e, the highest precedence, may fix it for this run.
    let run = run_play(
        &work,
        &["-l", "h1", "-e", "ansible_port=1", "--connect-timeout", "1"],
    );
    assert!(!run.all().contains("99999"), "{}", run.dump());
}

/// A temporary directory with `hosts.ini` (one local host), `play.yml`
/// holding `playbook` and `more` files.
fn local_case(playbook: &str, more: &[(&str, &str)]) -> tempfile::TempDir {
    let work = tempfile::tempdir().expect("tempdir");
    write_all(
        work.path(),
        &[("hosts.ini", LOCAL_INV), ("play.yml", playbook)],
    );
    write_all(work.path(), more);
    work
}

/// `rprov apply -i hosts.ini play.yml EXTRA…` in a [`local_case`].
fn run_play(work: &tempfile::TempDir, extra: &[&str]) -> Run {
    apply(work.path(), "hosts.ini", "play.yml", extra)
}

/// Playbook text: one play on every host, no facts, with `vars` and `tasks`
/// given as YAML lines already indented for their place.
fn play(vars: &str, tasks: &str) -> String {
    format!("- hosts: all\n  gather_facts: no\n  vars:\n{vars}  tasks:\n{tasks}")
}

#[test]
fn a_self_doubling_variable_stops_at_the_render_limit() {
    let mut vars = String::from("    v0: \"xxxxxxxxxxxxxxxx\"\n");
    for i in 1..40 {
        vars.push_str(&format!(
            "    v{i}: \"{{{{ v{} ~ v{} }}}}\"\n",
            i - 1,
            i - 1
        ));
    }
    let text = play(&vars, "    - debug: msg=\"{{ v39 | length }}\"\n");
    let work = local_case(&text, &[]);
    let run = run_play(&work, &["--max-render-size", "1M"]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "play.yml:",
            "the value of this expression is larger than the 1 MiB limit on rendered text; raise the limit with --max-render-size BYTES (e.g. 256M) if this is intended",
            "(in the value of 'v17')",
        ],
    );
}

#[test]
fn a_template_that_renders_too_much_names_the_limit_and_the_file() {
    let tasks = "    - template: {src: big.j2, dest: \"{{ out }}\"}\n";
    let text = play("    out: /nonexistent/never-written\n", tasks);
    let big = "{% for i in range(2000) %}{{ 'x' * 1000 }}\n{% endfor %}";
    let work = local_case(&text, &[("templates/big.j2", big)]);
    let run = run_play(&work, &["--max-render-size", "1M"]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "big.j2",
            "the rendered template is larger than the 1 MiB limit on rendered text",
            "--max-render-size",
        ],
    );
    // Under the default limit it renders (and fails only on the missing directory).
    let run = run_play(&work, &["--check"]);
    assert!(
        !run.all().contains("limit on rendered text"),
        "{}",
        run.dump()
    );
}

#[test]
fn a_template_src_that_is_a_device_is_refused_at_once() {
    let tasks = "    - template: {src: /dev/zero, dest: /tmp/never}\n";
    let work = local_case(&play("    x: 1\n", tasks), &[]);
    let run = run_play(&work, &["--check"]);
    run.expect_code(2);
    assert_says(
        &run,
        &["play.yml:6:7:", "cannot read template /dev/zero: it is not a regular file (a device, FIFO or socket); name a regular file"],
    );
}

#[test]
fn variable_expansion_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
    let mut vars = String::from("    v0: x\n");
    for i in 1..3000 {
        vars.push_str(&format!("    v{i}: \"{{{{ v{} }}}}\"\n", i - 1));
    }
    let text = play(&vars, "    - debug: msg=\"{{ v2999 }}\"\n");
    let work = local_case(&text, &[]);
    let run = run_play(&work, &[]);
    run.expect_code(2);
    assert_says(
        &run,
        &[
            "play.yml:",
            "variables nest more than 100 deep (v2999 → v2998 → v2997 → … → v2900 → v2899)",
            "a variable whose value names another counts one level",
        ],
    );
}

#[test]
fn a_loop_longer_than_the_limit_names_it_and_the_flag() {
    let tasks = "    - debug: msg=\"{{ item }}\"\n      loop: \"{{ range(0, 20000) | list }}\"\n";
    let work = local_case(&play("    x: 1\n", tasks), &[]);
    let run = run_play(&work, &[]);
    run.expect_code(2);
    assert_says(
        &run,
        &["play.yml:6:7:", "the loop has 20000 items, more than the limit of 10000; raise it with --max-loop-items N if this is intended"],
    );
    let run = run_play(&work, &["--max-loop-items", "20000", "-o", "json"]);
    run.expect_code(0);
}

#[test]
fn yaml_mistakes_read_as_advice_not_as_library_internals() {
    let two_docs = "- hosts: all\n  tasks: []\n---\n- hosts: all\n  tasks: []\n";
    let run = run_play(&local_case(two_docs, &[]), &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &["play.yml:4:1: YAML parsing failed: a second YAML document starts here (after a `---` line); rprov reads one document per file: remove the `---` or move what follows to a file of its own"],
    );
    // A key set twice: as ansible-core (`duplicate_dict_key`), a warning
    // and the last value by default, an error or nothing when asked.
    let dup = "- hosts: all\n  gather_facts: no\n  tasks:\n    - name: a\n      name: b\n      debug: msg=x\n";
    let run = run_play(&local_case(dup, &[]), &[]);
    run.expect_code(0);
    assert_says(
        &run,
        &["play.yml:5:7: Found duplicate mapping key 'name'. Using last defined value only."],
    );
    assert!(run.stdout.contains("] b"), "{}", run.dump());
    let cfg = |policy: &str| format!("[defaults]\nduplicate_dict_key = {policy}\n");
    let run = run_play(&local_case(dup, &[("ansible.cfg", &cfg("error"))]), &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &["play.yml:5:7: YAML parsing failed: `name` is set twice in the same mapping; remove one of them (this is the second)"],
    );
    let run = run_play(&local_case(dup, &[("ansible.cfg", &cfg("ignore"))]), &[]);
    run.expect_code(0);
    assert!(!run.all().contains("duplicate"), "{}", run.dump());
    // An unquoted `{{ var }}` value is a mapping with a mapping for a key.
    let unquoted = "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug:\n        msg: {{ inventory_hostname }}\n";
    let run = run_play(&local_case(unquoted, &[]), &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &[
            "play.yml:5:",
            "This may be an issue with missing quotes around a template block",
            "raw: \"{{ some_var }}\"",
        ],
    );
    let work = local_case(DEBUG_PLAY, &[("hosts.yml", "all:\n  hosts:\n    ~:\n")]);
    let run = apply(work.path(), "hosts.yml", "play.yml", &[]);
    run.expect_code(1);
    assert_says(
        &run,
        &["hosts.yml:3:5: YAML parsing failed: an empty (null) key or name here; write a name, or quote it (`\"~\"`, `\"null\"`) if that is the name you mean"],
    );
    let all = run.all();
    assert!(!all.contains("Option<String>"), "{}", run.dump());
}

#[test]
fn a_valid_10_mb_playbook_loads() {
    // A 10 MB play of about a million values (a host list in `vars`): four
    // times serde-saphyr's default budget of 250,000 nodes.
    let mut vars = String::from("    allowed:\n");
    let mut i = 0;
    while vars.len() < 10_000_000 {
        vars.push_str(&format!(
            "      - 10.{}.{}.{}\n",
            i / 65536 % 256,
            i / 256 % 256,
            i % 256
        ));
        i += 1;
    }
    let text = play(&vars, "    - debug: msg=\"{{ allowed | length }}\"\n");
    let run = run_play(&local_case(&text, &[]), &["-v"]);
    run.expect_code(0);
    assert_says(&run, &[&i.to_string()]);
}

#[test]
fn an_ssh_option_ssh_refuses_is_named_with_its_variable() {
    let sshd = rprov_testbed::Sshd::start(common::USER)
        .expect("start sshd (run scripts/testenv.sh as root)");
    let line = sshd.inventory_line("h1");
    let work = local_case(
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: \"true\"\n",
        &[(
            "ssh.ini",
            &format!(
                "{line} ansible_ssh_common_args=\"-o ServerAliveCountMax=2\" ansible_ssh_extra_args=\"-o Bogus=yes\"\n"
            ),
        )],
    );
    let run = apply(work.path(), "ssh.ini", "play.yml", &[]);
    run.expect_code(4);
    assert_says(
        &run,
        &["ssh refused the option `Bogus` (\"-o\" \"Bogus=yes\") of ansible_ssh_extra_args: Bad configuration option; correct or remove it (`man ssh_config` lists the options)"],
    );
    assert!(
        !run.all()
            .contains("terminating, 1 bad configuration options"),
        "{}",
        run.dump()
    );
}
