//! Issue 15, "a newcomer's first hour": the messages a new user meets, each
//! tested by its text. The README's first-screen commands themselves are run
//! in `tests/vm_site.rs` (they need the VM that `scripts/run-main.sh` boots).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{apply_human, rprov, Run, USER};
use rprov_testbed::Sshd;

/// The repository root: its inventory, example secrets and test identity are
/// what a newcomer types commands against.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// rprov in `cwd` with HOME in an empty directory (no default identity),
/// no identity in the environment, and `stdin` fed to it.
fn rprov_fresh(cwd: &Path, args: &[&str], stdin: &str) -> Run {
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rprov"))
        .current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("RPROV_AGE_IDENTITY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the rprov binary");
    if let Some(mut s) = child.stdin.take() {
        s.write_all(stdin.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("rprov output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_says(run: &Run, wants: &[&str]) {
    let all = run.all();
    for w in wants {
        assert!(all.contains(w), "the output lacks {w:?}\n{}", run.dump());
    }
}

#[test]
fn limit_typo_suggests_the_group() {
    for cmd in ["apply", "inventory"] {
        let run = rprov(
            &root(),
            [cmd, "-i", "inventory/hosts.ini", "--limit", "vagrnt"],
        );
        run.expect_code(1);
        assert_says(
            &run,
            &[
                "--limit vagrnt: no host or group matches 'vagrnt'",
                "help: did you mean `vagrant`?",
            ],
        );
    }
    // Each misspelt part of a longer pattern is named.
    let run = rprov(
        &root(),
        [
            "apply",
            "-i",
            "inventory/hosts.ini",
            "--limit",
            "vagrnt:tset",
        ],
    );
    run.expect_code(1);
    assert_says(
        &run,
        &["did you mean `vagrant` for `vagrnt`, `test` for `tset`?"],
    );
}

#[test]
fn playbook_not_found_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("inventory/hosts.ini"),
        dir.path().join("hosts.ini"),
    )
    .expect("copy inventory");
    let run = rprov(dir.path(), ["apply", "-i", "hosts.ini"]);
    run.expect_code(1);
    let cwd = std::fs::canonicalize(dir.path()).expect("canonical tempdir");
    assert_says(
        &run,
        &[
            "playbook not found",
            &format!(
                "looked for `site.yml` in the current directory ({})",
                cwd.display()
            ),
        ],
    );
}

/// Every pattern form the README's flag table lists for `--limit` is in
/// `rprov apply --help`.
#[test]
fn limit_help_lists_every_pattern_form_of_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `-l, --limit PATTERN`"))
        .expect("the README's --limit row");
    let desc = row.split('|').nth(2).expect("a description column");
    let forms: Vec<&str> = desc.split('`').skip(1).step_by(2).collect();
    assert!(forms.len() >= 6, "{row}");
    let help = rprov(&root(), ["apply", "--help"]);
    help.expect_code(0);
    for f in forms {
        assert!(
            help.stdout.contains(&format!("`{f}")),
            "apply --help lacks the pattern form `{f}` the README lists\n{}",
            help.stdout
        );
    }
}

#[test]
fn no_identity_names_the_committed_test_identity() {
    let hint = [
        "inventory/test-identity.txt holds the identity of a key listed in secrets.recipients",
        "`export RPROV_AGE_IDENTITY=inventory/test-identity.txt`",
        "`rprov secrets init` makes a new identity, which cannot decrypt an existing file",
    ];
    let run = rprov_fresh(
        &root(),
        &[
            "apply",
            "-i",
            "inventory/hosts.ini",
            "--limit",
            "vagrant",
            "--check",
        ],
        "",
    );
    run.expect_code(1);
    assert_says(&run, &hint);
    let run = rprov_fresh(&root(), &["secrets", "get", "pds_admin_password"], "");
    run.expect_code(1);
    assert_says(&run, &hint);
}

/// `--identity` (and `--file`) after the subcommand, as `apply --identity`.
#[test]
fn secrets_identity_after_the_subcommand() {
    let run = rprov_fresh(
        &root(),
        &[
            "secrets",
            "get",
            "pds_admin_password",
            "--identity",
            "inventory/test-identity.txt",
            "--file",
            "secrets.age",
        ],
        "",
    );
    run.expect_code(0);
    assert!(run.stdout.starts_with("example-admin"), "{}", run.dump());
}

#[test]
fn secrets_set_without_recipients_names_the_keys_it_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(root().join("secrets.age"), dir.path().join("secrets.age")).expect("copy");
    std::fs::copy(
        root().join("inventory/test-identity.txt"),
        dir.path().join("me.txt"),
    )
    .expect("copy");
    let public = std::fs::read_to_string(root().join("secrets.recipients"))
        .expect("secrets.recipients")
        .lines()
        .find(|l| l.starts_with("age1"))
        .expect("an age recipient")
        .to_string();
    let run = rprov_fresh(
        dir.path(),
        &["secrets", "set", "new_key", "--identity", "me.txt"],
        "value\n",
    );
    run.expect_code(1);
    assert_says(
        &run,
        &[
            "recipients file secrets.recipients: does not exist",
            "list the key of every identity that should read the file",
            "`age-keygen -y FILE`",
            "To keep the file readable with the identity you use now, it needs at least:",
            &format!("{public}    (your identity me.txt)"),
        ],
    );
}

/// A playbook on one loopback sshd host, in a fresh directory.
fn playbook_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write fixture");
    }
    dir
}

#[test]
fn undefined_variable_gets_did_you_mean_at_load_and_when_rendered() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let target = common::target_dir(USER);
    let dir = playbook_dir(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  vars:\n    base_fail2ban_maxretry: 5\n  tasks:\n    - name: jail\n      template:\n        src: jail.j2\n        dest: \"{{ base_dir }}/jail.local\"\n",
        ),
        (
            "templates/jail.j2",
            "[sshd]\nmaxretry = {{ base_fail2ban_maxretyr }}\nbantime = {{ base_fail2ban_bantime | default(600) }}\n",
        ),
    ]);
    let inv = common::one_host_inventory(dir.path(), &sshd, "web1");
    let base = format!("base_dir={}", target.path().display());
    let run = apply_human(dir.path(), &inv, &["-e", &base]);
    run.expect_code(2);
    // Before any host: stderr, ahead of the run.
    assert!(
        run.stderr.contains(
            "warning: templates/jail.j2:2: variable `base_fail2ban_maxretyr` is defined nowhere"
        ) && run
            .stderr
            .contains("did you mean `base_fail2ban_maxretry`?"),
        "{}",
        run.dump()
    );
    // An optional variable (used only with `default`) is no typo.
    assert!(
        !run.stderr.contains("base_fail2ban_bantime"),
        "{}",
        run.dump()
    );
    // When the task renders it: the template's line and the near name.
    assert_says(
        &run,
        &[
            "jail.j2:2: 'base_fail2ban_maxretyr' is undefined",
            "help: did you mean `base_fail2ban_maxretry`? Otherwise define `base_fail2ban_maxretyr`",
        ],
    );
    // Defined with -e: no warning, and the file is written.
    let run = apply_human(
        dir.path(),
        &inv,
        &["-e", &base, "-e", "base_fail2ban_maxretyr=3"],
    );
    run.expect_code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.dump());
}

/// The load-time check reads the tasks of blocks (their `block:` part too)
/// and of includes expanded when the playbook loads: a typo there is
/// found, and a fact a block or an included file sets is defined for the
/// tasks after it.
#[test]
fn undefined_variables_are_found_inside_blocks_and_includes() {
    let dir = playbook_dir(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - block:\n        - set_fact:\n            from_block: 1\n        - debug:\n            msg: \"{{ typo_in_block }}\"\n\
             \x20   - include_tasks: inc.yml\n\
             \x20   - debug:\n        msg: \"{{ from_block }} {{ from_include }}\"\n",
        ),
        (
            "inc.yml",
            "- set_fact:\n    from_include: 2\n- debug:\n    msg: \"{{ typo_in_include }}\"\n",
        ),
    ]);
    let run = rprov(
        dir.path(),
        [
            "apply",
            "-i",
            "localhost,",
            "-c",
            "local",
            "--check",
            "site.yml",
        ],
    );
    for typo in ["typo_in_block", "typo_in_include"] {
        assert!(
            run.stderr
                .contains(&format!("variable `{typo}` is defined nowhere")),
            "{typo}\n{}",
            run.dump()
        );
    }
    for fact in ["from_block", "from_include"] {
        assert!(
            !run.stderr.contains(&format!("`{fact}`")),
            "{fact}\n{}",
            run.dump()
        );
    }
}

/// The repository's own site.yml uses no variable that is defined nowhere:
/// the warning has no false alarm on the reference stack.
#[test]
fn the_reference_stack_has_no_undefined_variable_warning() {
    let run = rprov_fresh(
        &root(),
        &[
            "apply",
            "-i",
            "inventory/hosts.ini",
            "--limit",
            "test",
            "--check",
            "--connect-timeout",
            "1",
            "--identity",
            "inventory/test-identity.txt",
        ],
        "",
    );
    // The example hosts are in a documentation range: unreachable.
    run.expect_code(4);
    assert!(!run.stderr.contains("warning"), "{}", run.dump());
}

/// In `--check`, every `unknown` line says what it waits for (a `uri` check,
/// each item of a command loop), and the recap counts a loop task once, by
/// its aggregate status, as Ansible's recap does (the differential tests hold
/// rprov to Ansible's changed counts).
#[test]
fn check_unknown_lines_say_why_and_the_recap_counts_tasks_as_ansible() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let dir = playbook_dir(&[(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: health\n      uri:\n        url: http://watcher:s3cret@127.0.0.1:9/health\n    - name: each\n      command: echo {{ item }}\n      loop: [a, b]\n    - name: say\n      debug:\n        msg: \"{{ item }}\"\n      loop: [x, y, z]\n",
    )]);
    let inv = common::one_host_inventory(dir.path(), &sshd, "web1");
    let run = apply_human(dir.path(), &inv, &["--check"]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let unknown: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("unknown"))
        .collect();
    assert_eq!(unknown.len(), 3, "{}", run.stdout);
    for i in &unknown {
        let next = lines.get(i + 1).copied().unwrap_or("");
        assert!(
            next.starts_with("    waits for "),
            "`{}` says nothing about what it waits for\n{}",
            lines[*i],
            run.stdout
        );
    }
    assert_says(
        &run,
        &[
            "waits for the answer of GET http://127.0.0.1:9/health: no request is sent in check mode",
            "waits for the command's result: commands do not run in check mode",
        ],
    );
    assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
    let recap: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("web1 "))
        .expect("the recap line")
        .split_whitespace()
        .collect();
    // RECAP ok changed unknown failed skipped unreachable commands
    // `say` (3 items) is one ok task; `health` and `each` (2 items) are two
    // unknown tasks.
    assert_eq!(recap[1], "1", "{}", run.stdout);
    assert_eq!(recap[3], "2", "unknown: one per task\n{}", run.stdout);
}
