//! Issue 2, "Bad input": in a multi-host run one failing host does not stop
//! the others. Three sshd's in their own network namespaces (a testbed
//! Fleet); a task fails on one host only: the others run every task of every
//! play, the failed host stops where it failed, the recap says so, and the
//! exit code is 2.

mod common;

use common::{apply_json, statuses, target_dir, write_inventory, USER};
use rprov_testbed::Fleet;

const PLAY: &str = r#"- hosts: all
  gather_facts: true
  tasks:
    - name: before
      copy:
        content: "{{ inventory_hostname }} {{ ansible_hostname | length > 0 }}\n"
        dest: "{{ out }}/{{ inventory_hostname }}.1"
    - name: fails on h2
      fail:
        msg: "h2 fails here"
      when: inventory_hostname == 'h2'
    - name: after
      copy:
        content: "after\n"
        dest: "{{ out }}/{{ inventory_hostname }}.2"
- hosts: all
  gather_facts: false
  tasks:
    - name: next play
      copy:
        content: "next\n"
        dest: "{{ out }}/{{ inventory_hostname }}.3"
"#;

#[test]
fn one_failing_host_does_not_stop_the_others() {
    let fleet = Fleet::start(3, USER).unwrap_or_else(|e| panic!("cannot start the fleet: {e}"));
    let work = tempfile::tempdir().expect("tempdir");
    let inv = write_inventory(work.path(), &fleet.inventory_lines("h"));
    std::fs::write(work.path().join("play.yml"), PLAY).expect("playbook");
    let out = target_dir(USER);
    let dir = out.path();
    let run = apply_json(
        work.path(),
        &inv,
        &["-e", &format!("out={}", dir.display()), "play.yml"],
    );
    run.expect_code(2);

    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    for (i, host) in ["h1", "h2", "h3"].iter().enumerate() {
        // Each host was reached at its own address, facts and all.
        assert!(fleet.hosts[i].exec_count() >= 2, "{host} ran no commands");
        assert_eq!(read(&format!("{host}.1")), Some(format!("{host} True\n")));
        let recap = run.recap(host);
        let has_rest = *host != "h2";
        assert_eq!(read(&format!("{host}.2")).is_some(), has_rest, "{host}");
        assert_eq!(read(&format!("{host}.3")).is_some(), has_rest, "{host}");
        assert_eq!(recap["failed"], u64::from(!has_rest), "{host}: {recap}");
        assert_eq!(recap["unreachable"], 0, "{host}: {recap}");
        assert_eq!(
            recap["changed"],
            if has_rest { 3 } else { 1 },
            "{host}: {recap}"
        );
        let tasks: Vec<String> = run
            .tasks()
            .iter()
            .filter(|t| t["host"] == *host)
            .map(|t| {
                format!(
                    "{} {}",
                    t["task"].as_str().unwrap_or(""),
                    t["status"].as_str().unwrap_or("")
                )
            })
            .collect();
        let want: &[&str] = if has_rest {
            &[
                "before changed",
                "fails on h2 skipped",
                "after changed",
                "next play changed",
            ]
        } else {
            &["before changed", "fails on h2 failed"]
        };
        assert_eq!(tasks, want, "{host}\n{}", run.dump());
    }
    assert!(
        statuses(&run)
            .iter()
            .any(|(n, s)| n == "fails on h2" && s == "failed"),
        "{}",
        run.dump()
    );

    // The human recap again (nothing left to change but h2's failure).
    let out_var = format!("out={}", dir.display());
    let human = common::apply_human(work.path(), &inv, &["-e", &out_var, "play.yml"]);
    human.expect_code(2);
    let row = |host: &str| -> Vec<String> {
        human
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("RECAP"))
            .find(|l| l.split_whitespace().next() == Some(host))
            .unwrap_or_else(|| panic!("no recap row for {host}\n{}", human.dump()))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // RECAP ok changed unknown failed skipped unreachable commands
    for host in ["h1", "h3"] {
        assert_eq!(
            row(host)[2..7],
            ["0", "0", "0", "1", "0"],
            "{}",
            human.dump()
        );
    }
    assert_eq!(
        row("h2")[2..7],
        ["0", "0", "1", "0", "0"],
        "{}",
        human.dump()
    );
}

/// `meta: clear_host_errors` at a later task than the one a host was lost
/// at brings it back in the same play, as ansible-core's linear strategy
/// picks it up: after the other hosts, from the task after the one it was
/// lost at. A `clear_host_errors` that ran before it was lost again does not
/// bring it back twice; a failed host is not brought back in the same play.
#[test]
fn an_unreachable_host_comes_back_after_clear_host_errors() {
    let sshd =
        rprov_testbed::Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    // `gone`: nothing listens on port 1, so every login is refused at once.
    let inv = write_inventory(
        work.path(),
        &format!(
            "{}\n{}\ngone ansible_host=127.0.0.1 ansible_port=1\n",
            sshd.inventory_line("up"),
            sshd.inventory_line("failing")
        ),
    );
    std::fs::write(
        work.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: first
      fail:
        msg: failing fails
      when: inventory_hostname == 'failing'
    - name: lost here
      command: "true"
    - meta: clear_host_errors
      when: inventory_hostname == 'up'
    - name: tried again
      command: "true"
    - meta: clear_host_errors
      when: inventory_hostname == 'up'
    - name: last
      command: "true"
"#,
    )
    .expect("playbook");
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    // The failed host decides the exit code, as in ansible-playbook.
    run.expect_code(2);
    // `gone`'s events: lost at `lost here` (no task result, a host error),
    // back for the tasks after it once `up` is through the play, lost again
    // at `tried again`, and not back a third time.
    let events = run.json_lines();
    let gone: Vec<String> = events
        .iter()
        .filter(|e| e["host"] == "gone")
        .map(|e| match e["event"].as_str() {
            Some("task") => format!(
                "{} {}",
                e["task"].as_str().unwrap_or(""),
                e["status"].as_str().unwrap_or("")
            ),
            other => other.unwrap_or("").to_string(),
        })
        .collect();
    assert_eq!(
        gone,
        [
            "host_start",
            "first skipped",
            "host_error",
            "host_start",
            "meta skipped",
            "host_error"
        ],
        "{}",
        run.dump()
    );
    let position = |f: &dyn Fn(&serde_json::Value) -> bool| {
        events
            .iter()
            .position(f)
            .unwrap_or_else(|| panic!("{}", run.dump()))
    };
    let up_done = position(&|e| e["host"] == "up" && e["task"] == "last");
    let gone_back = position(&|e| e["host"] == "gone" && e["task"] == "meta");
    assert!(up_done < gone_back, "{}", run.dump());
    // A failed host stays out for the rest of its play.
    let failing = run
        .tasks()
        .into_iter()
        .filter(|t| t["host"] == "failing")
        .count();
    assert_eq!(failing, 1, "{}", run.dump());
}
