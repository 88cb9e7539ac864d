//! Issue 16, session reuse across runs: with `--persist SECONDS` a host's ssh
//! master outlives the run and the next run uses it instead of logging in;
//! without it every run logs in. Logins are counted from the loopback sshd's
//! own log ("Accepted publickey for"), masters from the process table.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{target_dir, Run, USER};
use rprov_testbed::Sshd;

/// Logins sshd accepted since it started.
fn logins(sshd: &Sshd) -> usize {
    fs::read_to_string(&sshd.log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("Accepted publickey for "))
        .count()
}

/// A project: three files to copy into `dest`, and an inventory of one host.
struct Bed {
    sshd: Sshd,
    work: tempfile::TempDir,
    _target: tempfile::TempDir,
    /// `XDG_RUNTIME_DIR` of the runs: the kept masters' sockets go in
    /// `rprov-cp` below it.
    runtime: tempfile::TempDir,
    /// The runs' per-run control directories (`RPROV_CONTROL_DIR`).
    ctl: tempfile::TempDir,
}

impl Bed {
    fn new(tasks: &str) -> Bed {
        let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
        let work = tempfile::tempdir().expect("tempdir");
        let target = target_dir(USER);
        let mut site = String::from("- hosts: all\n  gather_facts: false\n  tasks:\n");
        for i in 0..3 {
            site.push_str(&format!(
                "    - copy: {{content: \"file {i}\\n\", dest: \"{}/f{i}\"}}\n",
                target.path().display()
            ));
        }
        site.push_str(tasks);
        fs::write(work.path().join("site.yml"), site).expect("write");
        common::one_host_inventory(work.path(), &sshd, "h");
        let short = |p| {
            tempfile::Builder::new()
                .prefix(p)
                .tempdir_in("/tmp")
                .expect("dir")
        };
        Bed {
            sshd,
            work,
            _target: target,
            runtime: short("rpp"),
            ctl: short("rpc"),
        }
    }

    fn cp(&self) -> std::path::PathBuf {
        self.runtime.path().join("rprov-cp")
    }

    fn env(&self) -> Vec<(&str, String)> {
        vec![
            ("XDG_RUNTIME_DIR", self.runtime.path().display().to_string()),
            ("RPROV_CONTROL_DIR", self.ctl.path().display().to_string()),
        ]
    }

    /// `rprov apply --output json ARGS` with `RPROV_PERSIST` unset.
    fn apply(&self, args: &[&str]) -> Run {
        let mut all = vec!["apply", "-i", "hosts.ini", "--output", "json"];
        all.extend_from_slice(args);
        all.push("site.yml");
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::rprov_env(self.work.path(), all, &env)
    }

    /// The ssh masters this bed's runs kept (their command line names the
    /// socket directory).
    fn masters(&self) -> Vec<u32> {
        processes_using(&self.cp())
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        // Masters a failed test left: ours, by pid.
        for pid in self.masters() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// Processes whose command line mentions `dir`.
fn processes_using(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmd) = fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmd).contains(&needle) {
            if let Ok(pid) = e.file_name().to_string_lossy().parse() {
                found.push(pid);
            }
        }
    }
    found
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

#[test]
fn a_second_run_reuses_the_kept_master_and_reports_alike() {
    let bed = Bed::new("");
    let first = bed.apply(&["--persist", "30"]);
    first.expect_code(0);
    assert_eq!(first.recap("h")["changed"], 3, "{}", first.dump());
    assert_eq!(logins(&bed.sshd), 1);
    assert_eq!(bed.masters().len(), 1, "the master outlives the run");

    let execs = bed.sshd.exec_count();
    let second = bed.apply(&["--persist", "30"]);
    second.expect_code(0);
    assert_eq!(second.recap("h")["changed"], 0, "{}", second.dump());
    assert_eq!(second.recap("h")["ok"], 3, "{}", second.dump());
    assert_eq!(logins(&bed.sshd), 1, "no new login:\n{}", second.dump());
    assert_eq!(
        second.recap("h")["remote_commands"],
        (bed.sshd.exec_count() - execs) as u64,
        "{}",
        second.dump()
    );
    assert_eq!(bed.masters().len(), 1);

    // The same from the environment.
    let third = bed.apply_env_persist("30");
    third.expect_code(0);
    assert_eq!(logins(&bed.sshd), 1, "{}", third.dump());

    // `--persist 0` turns it off: a login of its own, stopped at the end;
    // the kept master is left alone.
    let off = bed.apply(&["--persist", "0"]);
    off.expect_code(0);
    assert_eq!(logins(&bed.sshd), 2, "{}", off.dump());
    assert_eq!(bed.masters().len(), 1);
}

impl Bed {
    fn apply_env_persist(&self, secs: &str) -> Run {
        let mut env = self.env();
        env.push(("RPROV_PERSIST", secs.to_owned()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::rprov_env(
            self.work.path(),
            ["apply", "-i", "hosts.ini", "--output", "json", "site.yml"],
            &env,
        )
    }
}

#[test]
fn without_the_setting_every_run_logs_in_and_leaves_nothing() {
    let bed = Bed::new("");
    for n in 1..=2 {
        bed.apply(&[]).expect_code(0);
        assert_eq!(logins(&bed.sshd), n);
    }
    assert!(!bed.cp().exists(), "no directory for kept masters is made");
    assert!(
        eventually(Duration::from_secs(5), || processes_using(bed.ctl.path())
            .is_empty()),
        "the masters were stopped"
    );
}

#[test]
fn a_changed_connection_setting_logs_in_again() {
    let bed = Bed::new("");
    bed.apply(&["--persist", "30"]).expect_code(0);
    assert_eq!(logins(&bed.sshd), 1);
    // Another idle bound: another master (one of 30 s must not serve a run
    // that promised 31).
    bed.apply(&["--persist", "31"]).expect_code(0);
    assert_eq!(logins(&bed.sshd), 2);
    // Other ssh arguments.
    let inv = bed.work.path().join("hosts.ini");
    let line = fs::read_to_string(&inv).expect("inventory");
    fs::write(
        &inv,
        format!(
            "{} ansible_ssh_extra_args='-o ServerAliveCountMax=4'\n",
            line.trim_end()
        ),
    )
    .expect("write");
    let run = bed.apply(&["--persist", "30"]);
    run.expect_code(0);
    assert_eq!(logins(&bed.sshd), 3, "{}", run.dump());
    // And back: the first master again.
    fs::write(&inv, line).expect("write");
    bed.apply(&["--persist", "30"]).expect_code(0);
    assert_eq!(logins(&bed.sshd), 3);
    assert_eq!(bed.masters().len(), 3);
}

#[test]
fn an_idle_kept_master_exits_after_its_time_and_the_next_run_logs_in() {
    let bed = Bed::new("");
    bed.apply(&["--persist", "2"]).expect_code(0);
    assert_eq!(bed.masters().len(), 1);
    // ssh counts idle time in whole seconds: gone within about 2 s, with
    // slack for a busy machine.
    assert!(
        eventually(Duration::from_secs(8), || bed.masters().is_empty()),
        "the master outlived its 2 s"
    );
    // Its stable name is left behind (ssh removes only its own path): dead,
    // removed, and a fresh login.
    let run = bed.apply(&["--persist", "2"]);
    run.expect_code(0);
    assert_eq!(run.recap("h")["changed"], 0, "{}", run.dump());
    assert_eq!(logins(&bed.sshd), 2);
}

#[test]
fn a_killed_run_leaves_no_master_beyond_its_time() {
    // A command still running on the host is a use of the master (ssh ends
    // it only once the command ends): this one ends 4 s in.
    let bed = Bed::new("    - command: sleep 4\n");
    let env = bed.env();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rprov"))
        .current_dir(bed.work.path())
        .args(["apply", "-i", "hosts.ini", "--persist", "2", "site.yml"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("RPROV_PERSIST")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rprov");
    // Killed while `sleep` runs on the host.
    let sleeping = eventually(Duration::from_secs(30), || {
        bed.sshd.exec_count() >= 2 && !bed.masters().is_empty()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(sleeping, "the run never reached its command");
    // The command's 4 s at most, then 2 s idle, and slack for a busy
    // machine.
    assert!(
        eventually(Duration::from_secs(12), || bed.masters().is_empty()),
        "a master outlived the killed run: {:?}",
        bed.masters()
    );
    // The next run finds the dead socket and logs in afresh.
    let run = bed.apply(&["--persist", "2"]);
    run.expect_code(0);
    assert_eq!(logins(&bed.sshd), 2, "{}", run.dump());
}

/// A connection closed in the run (`wait_for_connection` opens a new one
/// per attempt, as after a reboot) stops its kept master and takes the name
/// with it; the new connection's master is the one kept.
#[test]
fn a_connection_closed_in_the_run_stops_its_kept_master() {
    let bed = Bed::new("    - wait_for_connection: {timeout: 20}\n");
    let run = bed.apply(&["--persist", "30"]);
    run.expect_code(0);
    assert_eq!(logins(&bed.sshd), 2, "{}", run.dump());
    assert!(
        eventually(Duration::from_secs(5), || bed.masters().len() == 1),
        "{:?}",
        bed.masters()
    );
    // The next run takes the master kept, then reconnects once itself.
    bed.apply(&["--persist", "30"]).expect_code(0);
    assert_eq!(logins(&bed.sshd), 3);
}

/// An Ansible user's `ControlPersist` (ansible.cfg `ssh_args`) keeps masters
/// as Ansible's would, bounded the same way; `--persist 0` overrides it.
#[test]
fn control_persist_in_ansible_cfg_ssh_args_keeps_the_master() {
    let bed = Bed::new("");
    fs::write(
        bed.work.path().join("ansible.cfg"),
        "[ssh_connection]\nssh_args = -C -o ControlMaster=auto -o ControlPersist=30s\n",
    )
    .expect("write");
    for _ in 0..2 {
        let run = bed.apply(&[]);
        run.expect_code(0);
        assert_eq!(logins(&bed.sshd), 1, "{}", run.dump());
    }
    assert_eq!(bed.masters().len(), 1);
    bed.apply(&["--persist", "0"]).expect_code(0);
    assert_eq!(logins(&bed.sshd), 2);
}
