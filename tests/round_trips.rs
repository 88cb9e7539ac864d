//! Issue 17: remote commands per run, counted exactly (by sshd's own log and
//! by the recap). A command that must run carries the probe of the tasks
//! after it in the same remote command, so a converged playbook of 15 tasks
//! with one registered `command` in the middle costs 2 remote commands: the
//! first probe, then the command with the next probe. Changes known when
//! planned wait and travel together, in front of the next remote command or
//! at the end of the task list: a first run of that playbook costs 3.

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

    let before = sshd.exec_count();
    let first = apply_json(work.path(), &inv, &[]);
    first.expect_code(0);
    assert_eq!(first.recap("h")["changed"], 14, "{}", first.dump());
    // The probe; the 7 copies with the command and its probe; the 7 lines.
    assert_eq!(sshd.exec_count() - before, 3, "{}", first.dump());
    assert_eq!(first.recap("h")["remote_commands"], 3, "{}", first.dump());
    // Each task reported once, in task order, as it would be alone.
    let names: Vec<String> = first
        .tasks()
        .iter()
        .map(|t| t["task"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected: Vec<&str> = std::iter::repeat_n("copy", 7)
        .chain(["command"])
        .chain(std::iter::repeat_n("lineinfile", 7))
        .collect();
    assert_eq!(names, expected, "{}", first.dump());

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
    // The first probe; then the three copies with `a` asked again after its
    // copy, in one command.
    assert_eq!(run.recap("h")["remote_commands"], 2, "{}", run.dump());
}

/// A change that fails in the middle of a batch: the changes before it are
/// made and reported, it is reported with its own message, and the tasks
/// after it neither run nor show, as when each change was its own command.
/// A loopback sshd, a target directory on it, and a playbook made for
/// that directory.
struct Bed {
    sshd: Sshd,
    work: tempfile::TempDir,
    target: tempfile::TempDir,
    inv: std::path::PathBuf,
}

impl Bed {
    fn new(site: impl FnOnce(&str) -> String) -> Bed {
        let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
        let work = tempfile::tempdir().expect("tempdir");
        let target = target_dir(USER);
        let yml = site(&target.path().display().to_string());
        fs::write(work.path().join("site.yml"), yml).expect("write");
        let inv = common::one_host_inventory(work.path(), &sshd, "h");
        Bed {
            sshd,
            work,
            target,
            inv,
        }
    }

    fn apply(&self) -> common::Run {
        apply_json(self.work.path(), &self.inv, &[])
    }
}

#[test]
fn a_failure_inside_a_batch_stops_it_there() {
    let bed = Bed::new(|dir| {
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{content: \"1\\n\", dest: \"{dir}/a\"}}\n\
             \x20   - file: {{path: \"{dir}/d\", state: directory}}\n\
             \x20   - name: not allowed\n\
             \x20     copy: {{content: \"2\\n\", dest: \"{dir}/b\", owner: root}}\n\
             \x20   - copy: {{content: \"3\\n\", dest: \"{dir}/c\"}}\n"
        )
    });
    let (sshd, target) = (&bed.sshd, &bed.target);
    let before = sshd.exec_count();
    let run = bed.apply();
    run.expect_code(2);
    assert_eq!(sshd.exec_count() - before, 2, "{}", run.dump());
    let shown: Vec<(String, String)> = run
        .tasks()
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            (s("task"), s("status"))
        })
        .collect();
    let pairs: Vec<(&str, &str)> = shown
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("copy", "changed"),
            ("file", "changed"),
            ("not allowed", "failed")
        ],
        "{}",
        run.dump()
    );
    // The copy that ran in the batch reports the file as the host read it
    // back after the write, as a copy run alone does.
    let copied = &run.tasks()[0]["result"];
    assert_eq!(copied["size"], 2, "{copied}");
    assert_eq!(copied["owner"], USER, "{copied}");
    assert_eq!(copied["state"], "file", "{copied}");
    let failed = &run.tasks()[2];
    let msg = failed["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("chown") || msg.contains("ermitted"),
        "{failed}\n{}",
        run.dump()
    );
    assert_eq!(
        fs::read_to_string(target.path().join("a")).expect("a"),
        "1\n"
    );
    assert!(target.path().join("d").is_dir());
    assert!(
        !target.path().join("b").exists(),
        "the failed copy installed b"
    );
    assert!(
        !target.path().join("c").exists(),
        "a task after the failure ran"
    );
    assert_eq!(run.recap("h")["changed"], 2, "{}", run.dump());
    assert_eq!(run.recap("h")["failed"], 1, "{}", run.dump());
}

/// A failure kept in a batch inside a block is rescued by that block, and
/// a handler notified by a kept change runs once the change was made.
#[test]
fn a_batch_keeps_to_its_block_and_notifies_once_made() {
    let bed = Bed::new(|dir| {
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{content: \"1\\n\", dest: \"{dir}/a\"}}\n\
             \x20     notify: mark\n\
             \x20   - block:\n\
             \x20       - copy: {{content: \"2\\n\", dest: \"{dir}/b\"}}\n\
             \x20       - copy: {{content: \"3\\n\", dest: \"{dir}/c\", owner: root}}\n\
             \x20       - copy: {{content: \"4\\n\", dest: \"{dir}/d\"}}\n\
             \x20     rescue:\n\
             \x20       - copy: {{content: \"rescued\\n\", dest: \"{dir}/r\"}}\n\
             \x20   - copy: {{content: \"5\\n\", dest: \"{dir}/e\"}}\n\
             \x20 handlers:\n\
             \x20   - name: mark\n\
             \x20     copy: {{content: \"handled\\n\", dest: \"{dir}/h\"}}\n"
        )
    });
    let target = &bed.target;
    let run = bed.apply();
    run.expect_code(0);
    let read = |f: &str| fs::read_to_string(target.path().join(f)).unwrap_or_default();
    assert_eq!(read("b"), "2\n");
    assert!(
        !target.path().join("d").exists(),
        "a task after the failure ran\n{}",
        run.dump()
    );
    assert_eq!(read("r"), "rescued\n");
    assert_eq!(read("e"), "5\n");
    assert_eq!(read("h"), "handled\n");
    assert_eq!(run.recap("h")["failed"], 0, "{}", run.dump());
}

/// A directory made by a kept change is known to be one: the next
/// `file: state=directory` below it needs no probe of its parents, so a tree
/// of directories and files costs the first probe and one batch.
#[test]
fn directories_made_in_a_batch_need_no_probe_below_them() {
    let bed = Bed::new(|dir| {
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - file: {{path: \"{dir}/d\", state: directory, mode: \"0750\"}}\n\
             \x20   - file: {{path: \"{dir}/d/e/f\", state: directory, mode: \"0700\"}}\n\
             \x20   - copy: {{content: \"x\\n\", dest: \"{dir}/d/e/f/x\", mode: \"0600\"}}\n\
             \x20   - file: {{path: \"{dir}/d/g\", state: directory}}\n"
        )
    });
    let before = bed.sshd.exec_count();
    let run = bed.apply();
    run.expect_code(0);
    assert_eq!(run.recap("h")["changed"], 4, "{}", run.dump());
    assert_eq!(bed.sshd.exec_count() - before, 2, "{}", run.dump());
    let mode = |p: &str| {
        use std::os::unix::fs::PermissionsExt;
        let m = fs::metadata(bed.target.path().join(p)).expect(p);
        format!("{:o}", m.permissions().mode() & 0o7777)
    };
    assert_eq!(
        [mode("d"), mode("d/e"), mode("d/e/f"), mode("d/e/f/x")],
        ["750", "700", "700", "600"]
    );
    assert!(bed.target.path().join("d/g").is_dir());
    let again = bed.apply();
    again.expect_code(0);
    assert_eq!(again.recap("h")["changed"], 0, "{}", again.dump());
    assert_eq!(again.recap("h")["remote_commands"], 1, "{}", again.dump());
}

/// A loop's items wait in the batch like tasks, and keep Ansible's loop
/// semantics there: an item that fails does not stop the items after it,
/// the loop's task fails after its last item, and nothing after it runs.
#[test]
fn a_failed_item_in_a_batch_fails_its_loop_after_the_last_item() {
    let bed = Bed::new(|dir| {
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{content: \"a\\n\", dest: \"{dir}/a\"}}\n\
             \x20   - name: items\n\
             \x20     copy: {{content: \"{{{{ item }}}}\\n\", dest: \"{dir}/{{{{ item }}}}\", owner: \"{{{{ 'root' if item == 'y' else omit }}}}\"}}\n\
             \x20     loop: [x, y, z]\n\
             \x20   - copy: {{content: \"after\\n\", dest: \"{dir}/after\"}}\n"
        )
    });
    let before = bed.sshd.exec_count();
    let run = bed.apply();
    run.expect_code(2);
    assert_eq!(bed.sshd.exec_count() - before, 2, "{}", run.dump());
    let shown: Vec<String> = run
        .tasks()
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            format!("{} {} {}", s("task"), s("item"), s("status"))
        })
        .collect();
    assert_eq!(
        shown,
        [
            "copy  changed",
            "items x changed",
            "items y failed",
            "items z changed",
        ],
        "{}",
        run.dump()
    );
    let read = |f: &str| fs::read_to_string(bed.target.path().join(f)).unwrap_or_default();
    assert_eq!([read("a"), read("x"), read("z")], ["a\n", "x\n", "z\n"]);
    assert!(!bed.target.path().join("y").exists());
    assert!(
        !bed.target.path().join("after").exists(),
        "a task after the loop ran"
    );
    assert_eq!(run.recap("h")["failed"], 1, "{}", run.dump());
    assert_eq!(run.recap("h")["changed"], 1, "{}", run.dump());
}
