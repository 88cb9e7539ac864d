//! Several hosts at once (local connection): `run_once` (one host runs the
//! task, every host registers its result, a failure fails them all) and
//! `hostvars` with what the other hosts learned.

mod common;

use std::fs;

use common::{rprov, Run};

const HOSTS: [&str; 4] = ["h1", "h2", "h3", "h4"];

fn apply(dir: &std::path::Path, playbook: &str, extra: &[&str]) -> Run {
    let inv: String = HOSTS
        .iter()
        .map(|h| format!("{h} ansible_connection=local\n"))
        .collect();
    fs::write(dir.join("hosts.ini"), inv).expect("inventory");
    fs::write(dir.join("play.yml"), playbook).expect("playbook");
    let out = format!("out={}", dir.display());
    let mut args = vec!["apply", "-i", "hosts.ini", "-e", &out, "--output", "json"];
    args.extend_from_slice(extra);
    args.push("play.yml");
    rprov(dir, args)
}

#[test]
fn one_host_runs_it_and_every_host_registers_the_result() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: migrate once
      shell: echo {{ inventory_hostname }} | tee -a {{ out }}/once.log
      run_once: true
      register: migrated
    - name: every host saw the result
      copy:
        content: "{{ migrated.stdout }}\n"
        dest: "{{ out }}/{{ inventory_hostname }}.seen"
        mode: "0644"
"#;
    let run = apply(work.path(), play, &["--forks", "2"]);
    run.expect_code(0);
    let log = fs::read_to_string(work.path().join("once.log")).expect("once.log");
    let ran_on: Vec<&str> = log.lines().collect();
    assert_eq!(ran_on.len(), 1, "ran more than once: {log}\n{}", run.dump());
    assert!(HOSTS.contains(&ran_on[0]), "{log}");
    for h in HOSTS {
        assert_eq!(
            fs::read_to_string(work.path().join(format!("{h}.seen"))).expect("seen"),
            format!("{}\n", ran_on[0]),
            "{h} did not register the run_once result"
        );
    }
    // One host reports it changed; the others say where it ran.
    let statuses: Vec<String> = run
        .tasks()
        .iter()
        .filter(|t| t["task"] == "migrate once")
        .map(|t| t["status"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "changed").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "ok").count(),
        3,
        "{statuses:?}"
    );
}

#[test]
fn a_failed_run_once_task_fails_every_host() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: fails once
      command: "false"
      run_once: true
    - name: never reached
      copy:
        content: "x\n"
        dest: "{{ out }}/{{ inventory_hostname }}.after"
"#;
    let run = apply(work.path(), play, &[]);
    run.expect_code(2);
    for h in HOSTS {
        assert_eq!(run.recap(h)["failed"], 1, "{h}\n{}", run.dump());
        assert!(!work.path().join(format!("{h}.after")).exists());
    }
}

#[test]
fn hostvars_shows_other_hosts_facts_and_set_facts_from_the_next_play() {
    let work = tempfile::tempdir().expect("tempdir");
    let play = r#"- hosts: all
  gather_facts: true
  tasks:
    - set_fact:
        color: "{{ inventory_hostname }}-blue"
    - command: echo {{ inventory_hostname }}-registered
      register: said
      changed_when: false
- hosts: h1
  gather_facts: false
  tasks:
    - copy:
        dest: "{{ out }}/seen.txt"
        content: |
          {% for h in groups['all'] | sort %}
          {{ h }} {{ hostvars[h].color }} {{ hostvars[h].said.stdout }} {{ hostvars[h].ansible_facts.hostname | length > 0 }}
          {% endfor %}
"#;
    let run = apply(work.path(), play, &[]);
    run.expect_code(0);
    let seen = fs::read_to_string(work.path().join("seen.txt")).expect("seen.txt");
    let want: String = HOSTS
        .iter()
        .map(|h| format!("{h} {h}-blue {h}-registered True\n"))
        .collect();
    assert_eq!(seen, want, "{}", run.dump());
}

/// rprov run under `ulimit` settings: `limits` is the shell's `ulimit` flags.
fn apply_under_ulimit(dir: &std::path::Path, limits: &str) -> Run {
    fs::write(
        dir.join("hosts.ini"),
        HOSTS
            .iter()
            .map(|h| format!("{h} ansible_connection=local\n"))
            .collect::<String>(),
    )
    .expect("inventory");
    fs::write(
        dir.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: cat /proc/self/limits\n      register: l\n    - debug:\n        msg: \"{{ l.stdout_lines | select('search', 'open files') | first }}\"\n",
    )
    .expect("playbook");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit {limits} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_rprov"))
        .args(["apply", "-v", "-i", "hosts.ini", "play.yml"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh and the rprov binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_low_soft_open_file_limit_is_raised_and_a_low_hard_one_is_reported() {
    let work = tempfile::tempdir().expect("tempdir");
    // 4 hosts at once need more than 70 open files by rprov's estimate.
    let run = apply_under_ulimit(work.path(), "-S -n 70");
    run.expect_code(0);
    assert!(
        run.all().contains("raised the open-file limit from 70 to "),
        "{}",
        run.dump()
    );
    // The raised limit is what the host's commands inherit, too.
    assert!(
        !run.all().contains("Max open files            70 "),
        "{}",
        run.dump()
    );
    // A hard limit that low cannot be raised: the run says what to do.
    let run = apply_under_ulimit(work.path(), "-n 70");
    assert!(
        run.all().contains("open files but the limit is 70") && run.all().contains("ulimit -n"),
        "{}",
        run.dump()
    );
}
