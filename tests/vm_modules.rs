//! The system modules (user, group, authorized_key, lineinfile, blockinfile,
//! hostname, timezone, apt) applied for real: locally as root where that is
//! harmless, and inside the Debian test VM (vagrant/testvm.sh) for what must
//! not touch this machine. Each: apply, re-apply reports changed 0, and
//! `--check` with changed input reports changes but leaves the host as it was.
//!
//! The VM test boots the VM with `vagrant/testvm.sh up` (reusing it when it
//! already runs) and fails, naming what is missing, when it cannot.
//! ufw is not in the VM image and the VM has no network to install it, so
//! ufw is covered by the fixture tests in src/modules/ufw.rs only.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod vm_common;

/// Runs `rprov apply` with `args` in `cwd`; returns (exit code, JSON lines, all output).
fn apply(cwd: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rprov"))
        .current_dir(cwd)
        .arg("apply")
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run rprov");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (out.status.code().unwrap_or(-1), lines, text)
}

/// The recap counters of `host`.
fn recap(lines: &[Value], host: &str, text: &str) -> Value {
    lines
        .iter()
        .rev()
        .find_map(|l| l.get("recap").and_then(|r| r.get(host)).cloned())
        .unwrap_or_else(|| panic!("no recap for {host} in:\n{text}"))
}

fn counts(lines: &[Value], host: &str, text: &str) -> (u64, u64) {
    let r = recap(lines, host, text);
    (
        r["changed"].as_u64().unwrap_or(99),
        r["failed"].as_u64().unwrap_or(99),
    )
}

const LOCAL_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - group: {name: rprovmod-lg, gid: "{{ gid | default(23457) }}"}
    - user: {name: rprovmod-lu, shell: "{{ shell | default('/bin/sh') }}", groups: rprovmod-lg, home: "{{ dir }}/home", comment: "rprov test"}
    - authorized_key:
        user: rprovmod-lu
        key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx1 {{ who | default('test@x') }}"
    - lineinfile: {path: "{{ dir }}/conf", line: "a=1", create: true, mode: "0640"}
    - lineinfile: {path: "{{ dir }}/conf", regexp: "^b=", line: "b={{ b | default(2) }}"}
    - blockinfile: {path: "{{ dir }}/conf", block: "x\ny"}
"#;

const LOCAL_CLEANUP: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - user: {name: rprovmod-lu, state: absent, remove: true}
    - group: {name: rprovmod-lg, state: absent}
"#;

/// user/group/authorized_key/lineinfile/blockinfile against this machine as
/// root, with throwaway `rprovmod-*` accounts removed at the end.
#[test]
fn local_system_modules_apply_reapply_check() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    assert!(is_root, "this test creates throwaway users: run it as root");
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::write(
        d.join("hosts.ini"),
        "[local]\nlocalhost ansible_connection=local\n",
    )
    .expect("inventory");
    std::fs::write(d.join("play.yml"), LOCAL_PLAY).expect("play");
    std::fs::write(d.join("cleanup.yml"), LOCAL_CLEANUP).expect("cleanup");
    let dir = format!("dir={}", d.join("t").display());
    std::fs::create_dir(d.join("t")).expect("mkdir");
    let base = ["-i", "hosts.ini", "play.yml", "-e", dir.as_str()];

    let result = std::panic::catch_unwind(|| {
        let (_, l, t) = apply(d, &base);
        let (changed, failed) = counts(&l, "localhost", &t);
        assert_eq!((changed, failed), (6, 0), "first run:\n{t}");
        let (_, l, t) = apply(d, &base);
        assert_eq!(counts(&l, "localhost", &t), (0, 0), "second run:\n{t}");

        let conf = std::fs::read_to_string(d.join("t/conf")).expect("conf");
        let keys = std::fs::read_to_string(d.join("t/home/.ssh/authorized_keys")).expect("keys");
        let mut check = base.to_vec();
        check.extend([
            "--check",
            "-e",
            "shell=/bin/bash",
            "-e",
            "b=3",
            "-e",
            "who=other@y",
            "-e",
            "gid=23458",
        ]);
        let (_, l, t) = apply(d, &check);
        assert_eq!(counts(&l, "localhost", &t), (4, 0), "check run:\n{t}");
        assert!(t.contains("shell: /bin/sh → /bin/bash"), "{t}");
        assert!(t.contains("+b=3"), "{t}");
        assert_eq!(
            std::fs::read_to_string(d.join("t/conf")).expect("conf"),
            conf
        );
        assert_eq!(
            std::fs::read_to_string(d.join("t/home/.ssh/authorized_keys")).expect("keys"),
            keys
        );
        let (_, l, t) = apply(d, &base);
        assert_eq!(counts(&l, "localhost", &t), (0, 0), "after check:\n{t}");
    });
    let (_, l, t) = apply(d, &["-i", "hosts.ini", "cleanup.yml"]);
    assert_eq!(counts(&l, "localhost", &t).1, 0, "cleanup:\n{t}");
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

const VM_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - group: {name: rprovmod-vg}
    - user: {name: rprovmod-vu, groups: [rprovmod-vg], shell: /bin/bash}
    - authorized_key: {user: rprovmod-vu, key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx2 vm@test"}
    - lineinfile: {path: /etc/rprovmod.conf, line: "setting={{ setting | default('one') }}", regexp: "^setting=", create: true}
    - blockinfile: {path: /etc/rprovmod.conf, block: "k=v"}
    - hostname: {name: "{{ host_name | default('rprovmod-vm') }}"}
    - community.general.timezone: {name: "{{ tz | default('Europe/Oslo') }}"}
    - apt: {name: [openssh-server, sudo], state: present}
    - package: {name: sudo}
"#;

const VM_RESTORE: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - user: {name: rprovmod-vu, state: absent, remove: true}
    - group: {name: rprovmod-vg, state: absent}
    - file: {path: /etc/rprovmod.conf, state: absent}
    - hostname: {name: rprov-vm}
    - timezone: {name: Etc/UTC}
"#;

/// hostname, timezone and apt must not run on this machine: inside the VM.
#[test]
fn vm_system_modules_apply_reapply_check() {
    vm_common::up();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    vm_common::write_inventory(d);
    std::fs::write(d.join("play.yml"), VM_PLAY).expect("play");
    std::fs::write(d.join("restore.yml"), VM_RESTORE).expect("restore");
    let base = ["-i", "hosts.ini", "play.yml"];

    let result = std::panic::catch_unwind(|| {
        let (_, l, t) = apply(d, &base);
        let (changed, failed) = counts(&l, "vm", &t);
        assert_eq!(failed, 0, "first run:\n{t}");
        assert!(changed >= 5, "first run changed {changed}:\n{t}");
        let (_, l, t) = apply(d, &base);
        assert_eq!(counts(&l, "vm", &t), (0, 0), "second run:\n{t}");

        let mut check = base.to_vec();
        check.extend([
            "--check",
            "-e",
            "tz=America/New_York",
            "-e",
            "host_name=other-vm",
            "-e",
            "setting=two",
        ]);
        let (_, l, t) = apply(d, &check);
        assert_eq!(counts(&l, "vm", &t), (3, 0), "check run:\n{t}");
        assert!(t.contains("Europe/Oslo → America/New_York"), "{t}");
        assert!(t.contains("+setting=two"), "{t}");
        // Nothing changed on the host: the original input is still a no-op.
        let (_, l, t) = apply(d, &base);
        assert_eq!(counts(&l, "vm", &t), (0, 0), "after check:\n{t}");
    });
    let (_, l, t) = apply(d, &["-i", "hosts.ini", "restore.yml"]);
    assert_eq!(counts(&l, "vm", &t).1, 0, "restore:\n{t}");
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
