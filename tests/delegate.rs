//! `delegate_to: localhost` (and the older `local_action`, and `connection:
//! local` on a task or block) over a real sshd: the delegated tasks run on the
//! controller (as the user running rprov) with the host's variables; the
//! others run on the host (as the ssh login user); the recap counts only the
//! host's commands; a second run changes nothing.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::{rprov, target_dir, USER};
use rprov_testbed::Sshd;

const PLAY: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: on the host
      copy:
        content: "host file of {{ inventory_hostname }}\n"
        dest: "{{ on_host }}/host.txt"
        mode: "0644"
    - name: a report for the controller
      delegate_to: localhost
      copy:
        content: "report of {{ inventory_hostname }}\n"
        dest: "{{ on_controller }}/{{ inventory_hostname }}.report"
        mode: "0600"
    - name: who runs where
      block:
        - name: delegated whoami
          command: id -un
          register: local_user
          changed_when: false
      delegate_to: localhost
    - name: the old spelling, free-form
      local_action: command touch {{ on_controller }}/legacy-{{ inventory_hostname }} creates={{ on_controller }}/legacy-{{ inventory_hostname }}
    - name: the old spelling, as a mapping
      local_action:
        module: copy
        content: "map form\n"
        dest: "{{ on_controller }}/map.txt"
    - name: connection local on a task
      connection: local
      command: id -un
      register: local_conn_user
      changed_when: false
    - name: connection local on a block
      connection: local
      block:
        - copy:
            content: "block of {{ inventory_hostname }}\n"
            dest: "{{ on_controller }}/block.txt"
    - name: remote whoami
      command: id -un
      register: remote_user
      changed_when: false
    - name: both answers, on the host
      copy:
        content: "{{ local_user.stdout }} {{ remote_user.stdout }} {{ local_conn_user.stdout }}\n"
        dest: "{{ on_host }}/users.txt"
        mode: "0644"
"#;

#[test]
fn delegated_tasks_run_on_the_controller_with_the_hosts_variables() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let on_host = target_dir(USER);
    let on_controller = tempfile::tempdir().expect("tempdir");
    fs::write(work.path().join("play.yml"), PLAY).expect("playbook");
    let vars = [
        format!("on_host={}", on_host.path().display()),
        format!("on_controller={}", on_controller.path().display()),
    ];
    let run = || {
        let inv = inv.display().to_string();
        rprov(
            work.path(),
            [
                "apply", "-i", &inv, "-e", &vars[0], "-e", &vars[1], "--output", "json", "play.yml",
            ],
        )
    };
    let before = sshd.exec_count();
    let first = run();
    first.expect_code(0);
    let host_cmds = (sshd.exec_count() - before) as u64;

    let report = on_controller.path().join("web1.report");
    assert_eq!(
        fs::read_to_string(&report).expect("report"),
        "report of web1\n"
    );
    let me = fs::metadata(on_controller.path()).expect("stat").uid();
    assert_eq!(
        fs::metadata(&report).expect("stat").uid(),
        me,
        "written by rprov's user"
    );
    assert!(
        on_controller.path().join("legacy-web1").exists(),
        "{}",
        first.dump()
    );
    assert_eq!(
        fs::read_to_string(on_controller.path().join("map.txt")).expect("map.txt"),
        "map form\n"
    );
    assert_eq!(
        fs::read_to_string(on_controller.path().join("block.txt")).expect("block.txt"),
        "block of web1\n"
    );
    let users = fs::read_to_string(on_host.path().join("users.txt")).expect("users");
    let local_name = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .expect("id")
            .stdout,
    )
    .expect("utf8");
    assert_eq!(
        users,
        format!("{0} {USER} {0}\n", local_name.trim()),
        "{}",
        first.dump()
    );
    assert_eq!(
        first.recap("web1")["remote_commands"],
        host_cmds,
        "the recap counts the host's commands only (sshd's log)"
    );

    let before = sshd.exec_count();
    let second = run();
    second.expect_code(0);
    assert_eq!(second.recap("web1")["changed"], 0, "{}", second.dump());
    // On the host: one probe for host.txt, then the remote `id -un` with the
    // probe for users.txt in the same command (a command makes every cached
    // fact stale; the next probe travels with it). The delegated tasks add
    // nothing there, and their probes never went to the host.
    assert_eq!(sshd.exec_count() - before, 2, "{}", second.dump());
}

/// Issue 16: `delegate_to` another inventory host runs the task there, over
/// that host's own connection (its address, port, login and key), with the
/// delegating host's variables; a name not in the inventory fails the task.
#[test]
fn tasks_delegated_to_an_inventory_host_run_there_with_the_hosts_variables() {
    let web = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let lb = Sshd::start("rprovpw").expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::write_inventory(
        work.path(),
        &format!(
            "{}\n{}\n",
            web.inventory_line("web1"),
            lb.inventory_line("lb")
        ),
    );
    let on_lb = target_dir("rprovpw");
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  vars:
    balancer: lb
  tasks:
    - name: who runs it
      command: id -un
      delegate_to: lb
      register: there
      changed_when: false
    - name: drain me
      copy:
        content: "drained {{{{ inventory_hostname }}}}\n"
        dest: "{}/drained"
      delegate_to: "{{{{ balancer }}}}"
    - name: who runs the rest
      command: id -un
      register: here
      changed_when: false
    - name: a host nobody knows
      command: "true"
      delegate_to: nosuchhost
      ignore_errors: true
"#,
        on_lb.path().display()
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");
    let run = common::apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    let stdout_of = |name: &str| {
        run.tasks()
            .into_iter()
            .find(|t| t["task"] == name)
            .map(|t| t["result"]["stdout"].clone())
            .unwrap_or_else(|| panic!("no task {name}\n{}", run.dump()))
    };
    assert_eq!(stdout_of("who runs it"), "rprovpw", "{}", run.dump());
    assert_eq!(stdout_of("who runs the rest"), USER, "{}", run.dump());
    // The delegated tasks went over lb's own connection: web1's count holds
    // its one command, and nothing lb ran.
    assert_eq!(run.recap("web1")["remote_commands"], 1, "{}", run.dump());
    let drained = on_lb.path().join("drained");
    assert_eq!(
        fs::read_to_string(&drained).expect("written on lb"),
        "drained web1\n"
    );
    let owner = fs::metadata(&drained).expect("stat").uid();
    let pw_uid = std::process::Command::new("id")
        .args(["-u", "rprovpw"])
        .output()
        .expect("id");
    assert_eq!(
        owner.to_string(),
        String::from_utf8_lossy(&pw_uid.stdout).trim(),
        "written by lb's login"
    );
    let unknown = run
        .tasks()
        .into_iter()
        .find(|t| t["task"] == "a host nobody knows")
        .expect("task");
    assert_eq!(unknown["status"], "failed", "{unknown}");
    assert!(
        unknown["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("delegate_to: `nosuchhost` is not a host of the inventory"),
        "{unknown}"
    );
    // The second run changes nothing, on either host.
    let again = common::apply_json(work.path(), &inv, &["play.yml"]);
    again.expect_code(0);
    assert_eq!(again.recap("web1")["changed"], 0, "{}", again.dump());
}
