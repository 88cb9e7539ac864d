//! Issue 17: remote commands per run, counted exactly (by sshd's own log and
//! by the recap). A command that must run carries the probe of the tasks
//! after it in the same remote command, so a converged playbook of 15 tasks
//! with one registered `command` in the middle costs 2 remote commands: the
//! first probe, then the command with the next probe.

mod common;

use std::fs;

use common::{apply_json, target_dir, USER};
use rprov_testbed::Sshd;

fn playbook(dir: &str) -> String {
    let mut tasks = String::new();
    for i in 0..7 {
        tasks.push_str(&format!(
            "    - copy: {{content: \"file {i}\\n\", dest: \"{dir}/f{i}\", mode: \"0644\"}}\n"
        ));
    }
    tasks.push_str(
        "    - command: echo hello\n      register: greeting\n      changed_when: false\n",
    );
    for i in 7..14 {
        tasks.push_str(&format!(
            "    - lineinfile: {{path: \"{dir}/f{i}\", line: \"{{{{ greeting.stdout }}}} {i}\", create: true}}\n"
        ));
    }
    format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
}

#[test]
fn a_command_carries_the_next_probe() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let target = target_dir(USER);
    fs::write(
        work.path().join("site.yml"),
        playbook(&target.path().display().to_string()),
    )
    .expect("write");
    let inv = common::one_host_inventory(work.path(), &sshd, "h");

    let first = apply_json(work.path(), &inv, &[]);
    first.expect_code(0);
    assert_eq!(first.recap("h")["changed"], 14, "{}", first.dump());

    let before = sshd.exec_count();
    let again = apply_json(work.path(), &inv, &[]);
    again.expect_code(0);
    assert_eq!(again.recap("h")["changed"], 0, "{}", again.dump());
    assert_eq!(sshd.exec_count() - before, 2, "{}", again.dump());
    assert_eq!(again.recap("h")["remote_commands"], 2, "{}", again.dump());
    // What the command printed is its own, not the probe's.
    let greeting = again
        .tasks()
        .into_iter()
        .find(|t| t["task"] == "command")
        .expect("command task");
    assert_eq!(greeting["result"]["stdout"], "hello", "{greeting}");
    assert_eq!(
        fs::read_to_string(target.path().join("f9")).expect("f9"),
        "hello 9\n"
    );
}

/// `stat` reads its path in the first probe with the others, and that
/// answer stays good until a task changes that path: stats between changes
/// to other files cost no round trip; a stat of a file just changed is
/// asked again, and sees the new content.
#[test]
fn a_stat_is_probed_again_only_when_its_path_changed() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let target = target_dir(USER);
    let dir = target.path().display().to_string();
    for f in ["b", "d"] {
        fs::write(target.path().join(f), "x\n").expect("write");
    }
    fs::write(
        work.path().join("site.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{content: \"1\\n\", dest: \"{dir}/a\"}}\n\
             \x20   - stat: {{path: \"{dir}/b\"}}\n\
             \x20   - copy: {{content: \"1\\n\", dest: \"{dir}/c\"}}\n\
             \x20   - stat: {{path: \"{dir}/d\"}}\n\
             \x20   - copy: {{content: \"1\\n\", dest: \"{dir}/e\"}}\n\
             \x20   - stat: {{path: \"{dir}/a\"}}\n\
             \x20     register: a\n\
             \x20   - assert: {{that: \"a.stat.checksum == 'e5fa44f2b31c1fb553b6021e7360d07d5d91ff5e'\"}}\n"
        ),
    )
    .expect("write");
    let inv = common::one_host_inventory(work.path(), &sshd, "h");
    let run = apply_json(work.path(), &inv, &[]);
    run.expect_code(0);
    // The first probe, the three copies, and `a` asked again after its copy.
    assert_eq!(run.recap("h")["remote_commands"], 5, "{}", run.dump());
}
