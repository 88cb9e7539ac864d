//! `import_role` and `include_role` on the local connection: a role's tasks
//! take the place of the import, its handlers and defaults join the play, its
//! dependencies are applied once, and an `import_role` that cannot be
//! expanded at load time is refused before any host is touched (an
//! `include_role` of a role known only at run time is loaded then: see the
//! differential test `include_role_at_run_time_as_ansible`).

mod common;

use std::fs;
use std::path::Path;

use common::{fixtures, rprov, Run};

fn local_inventory(dir: &Path) -> String {
    let inv = dir.join("hosts.ini");
    fs::write(&inv, "box ansible_connection=local\n").expect("write inventory");
    inv.display().to_string()
}

fn apply(work: &Path, playbook: &Path, extra: &[&str]) -> Run {
    let out = format!("out={}", work.join("out").display());
    let inv = local_inventory(work);
    let mut args = vec!["apply", "-i", &inv, "-e", &out, "--output", "json"];
    args.extend_from_slice(extra);
    let pb = playbook.display().to_string();
    args.push(&pb);
    rprov(work, args)
}

fn read(work: &Path, name: &str) -> String {
    fs::read_to_string(work.join("out").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn import_and_include_role_apply_the_role_in_place() {
    let work = tempfile::tempdir().expect("tempdir");
    fs::create_dir(work.path().join("out")).expect("mkdir");
    let site = fixtures().join("roles_import/site.yml");

    let first = apply(work.path(), &site, &[]);
    first.expect_code(0);
    let names: Vec<String> = first
        .tasks()
        .iter()
        .map(|t| t["task"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("dep : ")).count(),
        1,
        "the dependency is applied once for three imports: {names:?}"
    );
    assert!(
        names.iter().any(|n| n == "greet : greeting"),
        "role tasks are shown with the role's name: {names:?}"
    );
    // vars on the import reach the role's tasks; defaults fill the rest.
    assert_eq!(
        read(work.path(), "greet-world.txt"),
        "hello world (after dep)\n"
    );
    assert!(
        !work.path().join("out/greet-nobody.txt").exists(),
        "the include whose `when` is false ran"
    );
    assert_eq!(read(work.path(), "extra.txt"), "extra hello\n");
    assert_eq!(read(work.path(), "play.txt"), "hello from the play\n");
    assert_eq!(read(work.path(), "dep.log"), "dep\n");
    // The imported role's handler ran once, at the end.
    assert_eq!(read(work.path(), "handlers.log"), "greeted\n");

    let second = apply(work.path(), &site, &[]);
    second.expect_code(0);
    assert_eq!(second.recap("box")["changed"], 0, "{}", second.dump());
    assert_eq!(read(work.path(), "handlers.log"), "greeted\n");

    // `apply: {tags: [extra]}` tags the included tasks, and the include's
    // own `tags` select the include: only the include tagged both ways
    // runs its tasks, as under ansible-core.
    fs::remove_file(work.path().join("out/extra.txt")).expect("rm");
    fs::remove_file(work.path().join("out/play.txt")).expect("rm");
    let tagged = apply(work.path(), &site, &["--tags", "extra"]);
    tagged.expect_code(0);
    assert_eq!(read(work.path(), "extra.txt"), "extra hello\n");
    assert!(
        !work.path().join("out/play.txt").exists(),
        "--tags extra ran an untagged task\n{}",
        tagged.dump()
    );
}

#[test]
fn role_imports_rprov_cannot_expand_are_refused_at_load_time() {
    let work = tempfile::tempdir().expect("tempdir");
    fs::create_dir(work.path().join("out")).expect("mkdir");
    let roles = fixtures().join("roles_import/roles");
    let cases = [
        (
            "- import_role:\n    name: \"{{ which }}\"\n",
            "when `name` is rendered with the play's `vars`, the import's and `-e` only: 'which' is undefined",
        ),
        (
            "- import_role:\n    name: greet\n  loop: [a, b]\n",
            "`import_role` is static: it cannot loop",
        ),
        (
            "- import_role:\n    name: nosuch\n",
            "role `nosuch` not found",
        ),
        (
            "- import_role:\n    name: greet\n    tasks_from: missing\n",
            "role `greet` has no tasks/missing.yml",
        ),
        (
            "- import_role:\n    nmae: greet\n",
            "unknown argument `nmae`",
        ),
    ];
    for (tasks, want) in cases {
        let pb = work.path().join("play.yml");
        fs::write(
            &pb,
            format!(
                "- hosts: all\n  gather_facts: false\n  tasks:\n{}",
                indent(tasks)
            ),
        )
        .expect("write");
        // Roles are looked up beside the playbook.
        let link = work.path().join("roles");
        if !link.exists() {
            std::os::unix::fs::symlink(&roles, &link).expect("symlink roles");
        }
        let run = apply(work.path(), &pb, &[]);
        run.expect_code(1);
        assert!(run.stderr.contains(want), "want {want:?}\n{}", run.dump());
        assert!(
            run.stderr.contains("play.yml:"),
            "the error names the file and line\n{}",
            run.dump()
        );
        assert!(
            fs::read_dir(work.path().join("out"))
                .expect("out")
                .next()
                .is_none(),
            "nothing may run when loading fails"
        );
    }
}

/// An `include_role` of a role that is not there loads (ansible-core loads
/// its role when it runs): skipped by its `when`, it is nothing; reached, it
/// fails that task, which a `rescue:` takes.
#[test]
fn include_role_of_a_missing_role_fails_when_it_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    fs::create_dir(work.path().join("out")).expect("mkdir");
    let pb = work.path().join("play.yml");
    fs::write(
        &pb,
        "- hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - include_role:\n        name: nosuch\n      when: false\n\
         \x20   - block:\n        - include_role:\n            name: nosuch\n\
         \x20     rescue:\n        - copy:\n            content: \"{{ ansible_failed_result.msg }}\"\n\
         \x20           dest: \"{{ out }}/why\"\n",
    )
    .expect("write");
    let run = apply(work.path(), &pb, &[]);
    run.expect_code(0);
    assert_eq!(run.recap("box")["skipped"], 1, "{}", run.dump());
    assert_eq!(run.recap("box")["rescued"], 1, "{}", run.dump());
    assert!(
        read(work.path(), "why").contains("role `nosuch` not found"),
        "{}",
        run.dump()
    );
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Issue 12 (what ansible-core's `setup_remote_tmp_dir` role does): `setup`
/// with `gather_subset` and `filter` as a task, a `first_found` include of
/// the role's own task file, a `tempfile` directory, and a handler that
/// includes a file of the role's `tasks/` (it loads, and runs when notified). An `include_tasks`
/// whose file does not load (here a module rprov lacks) fails only if it
/// runs.
#[test]
fn a_role_like_setup_remote_tmp_dir_runs() {
    let work = tempfile::tempdir().expect("tempdir");
    let role = work.path().join("roles/tmpdir");
    for d in ["tasks", "handlers"] {
        fs::create_dir_all(role.join(d)).expect("mkdir");
    }
    let write = |p: &str, text: &str| fs::write(work.path().join(p), text).expect("write");
    write(
        "roles/tmpdir/tasks/main.yml",
        "- setup:\n    gather_subset: distribution\n    filter: ansible_distribution*\n  register: gathered\n\
         - include_tasks: \"{{ lookup('first_found', files) }}\"\n  vars:\n    files: [nosuch.yml, default.yml]\n\
         - include_tasks: windows.yml\n  when: false\n",
    );
    write(
        "roles/tmpdir/tasks/default.yml",
        "- tempfile:\n    state: directory\n    suffix: .test\n  register: made\n  notify: clean up\n\
         - copy:\n    dest: \"{{ out }}/seen\"\n    content: \"{{ made.path is match('.*/ansible\\\\..*\\\\.test$') }} {{ gathered.ansible_facts.keys() | select('match', 'ansible_distribution') | list | length > 0 }} {{ gathered.ansible_facts.ansible_kernel is defined }}\"\n\
         - copy:\n    dest: \"{{ out }}/made\"\n    content: \"{{ made.path }}\"\n",
    );
    write(
        "roles/tmpdir/tasks/cleanup.yml",
        "- file:\n    path: \"{{ made.path }}\"\n    state: absent\n",
    );
    write(
        "roles/tmpdir/tasks/windows.yml",
        "- win_file:\n    path: C:\\\\x\n    state: absent\n",
    );
    write(
        "roles/tmpdir/handlers/main.yml",
        "- name: clean up\n  include_tasks: cleanup.yml\n",
    );
    write(
        "site.yml",
        "- hosts: box\n  gather_facts: false\n  roles: [tmpdir]\n",
    );
    fs::create_dir(work.path().join("out")).expect("mkdir out");
    let run = apply(work.path(), &work.path().join("site.yml"), &[]);
    run.expect_code(0);
    assert_eq!(
        read(work.path(), "seen"),
        "True True False",
        "{}",
        run.dump()
    );
    let made = read(work.path(), "made");
    assert!(made.ends_with(".test"), "{made}");
    // The handler is a named `include_tasks` of the role's tasks/cleanup.yml:
    // notified by its name, it runs the file, which removes the directory.
    assert!(
        !Path::new(&made).exists(),
        "the handler should have removed {made}\n{}",
        run.dump()
    );
}

/// `private_role_vars` (`ANSIBLE_PRIVATE_ROLE_VARS`), as ansible-core's
/// `Role` takes it: unset, a `roles:` entry's defaults are the play's and
/// an `include_role`'s are not; set, it decides for both.
#[test]
fn private_role_vars_decides_whose_defaults_the_play_sees() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    for (path, text) in [
        ("roles/r/defaults/main.yml", "r_default: 1\n"),
        ("roles/r/tasks/main.yml", "- debug:\n    msg: r\n"),
        ("roles/i/defaults/main.yml", "i_default: 1\n"),
        ("roles/i/tasks/main.yml", "- debug:\n    msg: i\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  roles: [r]\n  tasks:\n\
             \x20   - include_role:\n        name: i\n\
             \x20   - copy:\n        content: \"{{ r_default is defined }} {{ i_default is defined }}\\n\"\n\
             \x20       dest: \"{{ out }}/seen\"\n",
        ),
    ] {
        let p = w.join(path);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }
    fs::create_dir(w.join("out")).expect("mkdir");
    let inv = local_inventory(w);
    let out = format!("out={}", w.join("out").display());
    for (setting, seen) in [
        (None, "True False\n"),
        (Some("1"), "False False\n"),
        (Some("0"), "True True\n"),
    ] {
        let env: Vec<(&str, &str)> = setting
            .map(|v| ("ANSIBLE_PRIVATE_ROLE_VARS", v))
            .into_iter()
            .collect();
        let run = common::rprov_env(w, ["apply", "-i", &inv, "-e", &out, "site.yml"], &env);
        run.expect_code(0);
        assert_eq!(
            read(w, "seen"),
            seen,
            "ANSIBLE_PRIVATE_ROLE_VARS={setting:?}\n{}",
            run.dump()
        );
    }
}
