//! Issue 5 end to end: `site.yml` (base, podman, caddy, pds, kollektivkart)
//! applied to the Debian test VM (vagrant/testvm.sh) through the repository's
//! own inventory (`inventory/hosts.ini --limit vagrant`) and example secrets.
//!
//! One test, in stages, because each needs the state of the one before and a
//! VM boot costs a minute:
//! 1. Stand-in images built in the VM (scripts/vm-standins.sh: `podman import`
//!    of a static busybox serving `busybox httpd`), then `--check` on the
//!    fresh VM: no task fails (those needing a user, file or unit that an
//!    earlier task would create are `unknown`) and nothing is written.
//! 2. The first apply.
//!    Through Caddy (in the VM on :80 with the site's Host, and through the
//!    forwarded 127.0.0.1:8080 when it exists) the PDS health endpoint and
//!    the kollektivkart page answer; the ETL timer is listed with its next
//!    trigger; `sshd -t` passes; ufw is active with 22, 80 and 443.
//! 3. The README's first-screen commands, verbatim, in a fresh copy of the
//!    repository as a clone has it (git's files, no `target/`), as a newcomer
//!    runs them after `scripts/run-main.sh`: they succeed. Then the second
//!    apply changes nothing (its remote commands are printed).
//! 4. `--check` from a copy of the playbook tree (site.yml, roles/,
//!    inventory/, secrets) in which one template file is edited (a line added
//!    to the base role's fail2ban jail) shows exactly that file's diff — the
//!    added line, at its destination — and the handler it notifies, and a hash
//!    of /etc and of the app users' files is the same before and after.
//! 5. After `vagrant/testvm.sh reboot`, everything comes back without rprov:
//!    both sites through Caddy, sshd, fail2ban (with its sshd jail), ufw (with
//!    its rules), caddy, the PDS, both kollektivkart instances and the timer.
//! 6. Starting the ETL service runs the nightly rolling restart (a script on
//!    the host, not rprov) while a load loop (a request every ~0.1 s through
//!    Caddy, from a transient unit inside the VM, from before the ETL until
//!    after it) runs: zero failed requests.
//!
//! The test always starts from a fresh VM: `vagrant/testvm.sh down` then `up`
//! (the disk runs with `snapshot=on`, so the boot is a clean image whatever
//! other VM tests did before), and it checks that the VM is clean before the
//! first apply. When the VM cannot boot, the test fails with testvm's
//! message. It never skips.

mod vm_common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use vm_common::{apply_with_env, root, text, vm_ok, vm_put, vm_sh, Applied};

const IDENTITY: &str = "inventory/test-identity.txt";

/// `systemctl --user` as an app user, the way that works without a login.
fn user_systemctl(user: &str, args: &str) -> String {
    format!("runuser -u {user} -- env XDG_RUNTIME_DIR=/run/user/$(id -u {user}) systemctl --user {args}")
}

/// `rprov apply -i inventory/hosts.ini --limit vagrant --output json ARGS`
/// in `tree` (the repository root, or a copy of its playbook tree), with the
/// documented test identity.
fn apply(tree: &Path, extra: &[&str]) -> Applied {
    let mut args = vec!["-i", "inventory/hosts.ini", "--limit", "vagrant"];
    args.extend_from_slice(extra);
    apply_with_env(
        tree,
        &args,
        &[("RPROV_AGE_IDENTITY", &root().join(IDENTITY))],
    )
}

/// Polls `url` from inside the VM (with `Host: host` when given) until it
/// answers 200, for at most `secs`; returns the body.
fn wait_http(url: &str, host: Option<&str>, secs: u64) -> Result<String, String> {
    let t = Instant::now();
    let header = host
        .map(|h| format!("-H {}", rprov_transport::quote(&format!("Host: {h}"))))
        .unwrap_or_default();
    let mut last = String::new();
    while t.elapsed() < Duration::from_secs(secs) {
        let (ok, out) = vm_sh(&format!(
            "curl -sS --max-time 5 -w '\\n%{{http_code}}' {header} {}",
            rprov_transport::quote(url)
        ));
        if ok {
            if let Some((body, code)) = out.trim_end().rsplit_once('\n') {
                if code.trim() == "200" {
                    return Ok(body.to_string());
                }
            }
        }
        last = out;
        std::thread::sleep(Duration::from_secs(2));
    }
    Err(format!(
        "{url} (Host: {}) did not answer 200 within {secs}s; last answer: {last}",
        host.unwrap_or("-")
    ))
}

/// Polls `url` on the controller (through a qemu port forward).
fn wait_http_local(url: &str, secs: u64) -> Result<String, String> {
    let t = Instant::now();
    let mut last = String::new();
    while t.elapsed() < Duration::from_secs(secs) {
        match Command::new("curl")
            .args(["-sS", "--max-time", "5", "-w", "\n%{http_code}", url])
            .output()
        {
            Ok(o) => {
                let s = text(&o);
                if let Some((body, code)) = s.trim_end().rsplit_once('\n') {
                    if o.status.success() && code.trim() == "200" {
                        return Ok(body.to_string());
                    }
                }
                last = s;
            }
            Err(e) => return Err(format!("cannot run curl on the controller: {e}")),
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    Err(format!(
        "{url} did not answer 200 within {secs}s; last: {last}"
    ))
}

/// Lists everything a provisioner could change — /etc, /usr/local/bin and the
/// app users' homes (minus podman's storage and caches under `.local` and
/// `.cache`, which the containers change by themselves) — one line per entry
/// with type, mode, owner, group, link target and modification time, then a
/// sha256 of every file, into `/tmp/rprov-state.NAME` in the VM. Returns the
/// number of lines and the hash of the list.
fn state_hash(name: &str) -> String {
    let roots = "/etc /usr/local/bin /var/lib/pds /var/lib/kollektivkart";
    let skip = "\\( -path /etc/ld.so.cache -o -path '/var/lib/*/.local' -o -path '/var/lib/*/.cache' \\) -prune -o";
    let list = format!("/tmp/rprov-state.{name}");
    vm_ok(
        "hash /etc and the app users' files",
        &format!(
            "find {roots} -xdev {skip} \\( -type f -o -type l -o -type d \\) \
             -printf '%p %y %m %u %g %l %T@\\n' | sort > {list}; \
             find {roots} -xdev {skip} -type f -exec sha256sum {{}} + | sort >> {list}; \
             wc -l < {list}; sha256sum < {list}"
        ),
    )
}

/// `ActiveEnterTimestampMonotonic` of a kollektivkart instance: changes at
/// each (re)start.
fn started_at(unit: &str) -> u64 {
    let out = vm_ok(
        "systemctl show",
        &user_systemctl(
            "kollektivkart",
            &format!("show -p ActiveEnterTimestampMonotonic --value {unit}"),
        ),
    );
    out.trim().parse().unwrap_or(0)
}

fn wait_stack(secs: u64, when: &str) {
    let health = wait_http("http://127.0.0.1/xrpc/_health", Some("pds.localhost"), secs)
        .unwrap_or_else(|e| panic!("{when}: the PDS through Caddy: {e}"));
    assert!(
        health.contains("version"),
        "{when}: PDS health body: {health}"
    );
    let page = wait_http("http://127.0.0.1/", Some("kollektivkart.localhost"), secs)
        .unwrap_or_else(|e| panic!("{when}: kollektivkart through Caddy: {e}"));
    assert!(
        page.contains("kollektivkart"),
        "{when}: kollektivkart page: {page}"
    );
    for port in [8000, 8001] {
        wait_http(&format!("http://127.0.0.1:{port}/ready"), None, secs)
            .unwrap_or_else(|e| panic!("{when}: instance {port}: {e}"));
    }
}

/// ufw is active, denies incoming by default and allows 22, 80 and 443.
fn assert_ufw(when: &str) {
    let ufw = vm_ok("ufw status", "ufw status verbose");
    assert!(
        ufw.contains("Status: active"),
        "{when}: ufw is not active:\n{ufw}"
    );
    assert!(
        ufw.contains("Default: deny (incoming)"),
        "{when}: ufw does not deny incoming:\n{ufw}"
    );
    for port in ["22/tcp", "80/tcp", "443/tcp"] {
        assert!(
            ufw.lines()
                .any(|l| l.starts_with(port) && l.contains("ALLOW IN")),
            "{when}: ufw lacks an allow rule for {port}:\n{ufw}"
        );
    }
}

/// The system units and the app users' units of the stack, as
/// `(user, unit)`; `None` is the system manager.
const UNITS: &[(Option<&str>, &str)] = &[
    (None, "ssh.service"),
    (None, "fail2ban.service"),
    (None, "ufw.service"),
    (None, "caddy.service"),
    (Some("pds"), "pds.service"),
    (Some("kollektivkart"), "kollektivkart@8000.service"),
    (Some("kollektivkart"), "kollektivkart@8001.service"),
    (Some("kollektivkart"), "kollektivkart-etl.timer"),
];

/// Waits (at most `secs`) until every unit of [`UNITS`] is active and
/// fail2ban has its sshd jail loaded; panics naming the ones that are not.
fn wait_services(secs: u64, when: &str) {
    let t = Instant::now();
    loop {
        let mut down = Vec::new();
        for (user, unit) in UNITS {
            let cmd = match user {
                None => format!("systemctl is-active {unit}"),
                Some(u) => user_systemctl(u, &format!("is-active {unit}")),
            };
            let (_, state) = vm_sh(&cmd);
            if state.trim() != "active" {
                down.push(format!(
                    "{unit}{}: {}",
                    user.map(|u| format!(" (user {u})")).unwrap_or_default(),
                    state.trim()
                ));
            }
        }
        let (_, jail) = vm_sh("fail2ban-client status sshd");
        if !jail.contains("Currently banned") {
            down.push(format!("fail2ban's sshd jail: {}", jail.trim()));
        }
        if down.is_empty() {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "{when}: not back within {secs}s:\n  {}",
            down.join("\n  ")
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// The files of the repository's playbook tree: what `rprov apply -i
/// inventory/hosts.ini` reads (besides the VM's keys under vagrant/.vm).
const PLAYBOOK_TREE: &[&str] = &[
    "site.yml",
    "roles",
    "inventory",
    "secrets.age",
    "secrets.recipients",
];

/// The README's first screen (everything before its first `## ` heading):
/// its indented command lines, in order, comments kept.
fn readme_first_screen() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    readme
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A fresh clone's files, with the working tree's content (uncommitted
/// edits and new files included): what `git ls-files` lists, copied into
/// `dst`. Nothing gitignored comes along (no `target/`, no `vagrant/.vm`).
fn fresh_clone(dst: &Path) {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(out.status.success(), "git ls-files: {}", text(&out));
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let rel = Path::new(std::str::from_utf8(name).expect("UTF-8 file names"));
        let from = root().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dst.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("mkdir in the clone");
        }
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", rel.display()));
    }
}

/// Runs the README's first-screen commands after the first (which this test's
/// stages 0–2 stand for: stand-ins, image, boot, apply) in a fresh clone, as
/// one bash script that stops at the first failure. What run-main leaves
/// behind is there: the VM's keys in `vagrant/.vm` (a link to this checkout's,
/// which booted the VM) and `rprov` on PATH (run-main's `cargo install`; here
/// the binary under test, since the tests build no release binary). No
/// identity is set: the commands must set what they need.
fn run_first_screen() -> String {
    let lines = readme_first_screen();
    assert!(
        lines.len() > 2
            && lines[0].starts_with("scripts/run-main.sh")
            && lines[1].starts_with("scripts/test-all.sh"),
        "the README's first two commands are scripts/run-main.sh and scripts/test-all.sh: {lines:?}"
    );
    let clone = tempfile::tempdir().expect("tempdir");
    fresh_clone(clone.path());
    std::os::unix::fs::symlink(root().join("vagrant/.vm"), clone.path().join("vagrant/.vm"))
        .expect("link vagrant/.vm into the clone");
    let bin = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rprov"), bin.path().join("rprov"))
        .expect("link rprov");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!("set -euo pipefail\n{}\n", lines[2..].join("\n"));
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(clone.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("RPROV_AGE_IDENTITY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash: {e}"));
    let all = text(&out);
    assert!(
        out.status.success(),
        "the README's first-screen commands failed in a fresh clone (exit {:?}):\n{script}\n---\n{all}",
        out.status.code()
    );
    all
}

/// Copies the playbook tree into `dst`, with `dst/vagrant` a link to the
/// repository's vagrant/ (the inventory names the VM's key as
/// `vagrant/.vm/id_ed25519`, relative to where rprov runs).
fn copy_playbook_tree(dst: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .args(PLAYBOOK_TREE)
        .arg(dst)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run cp: {e}"));
    assert!(
        out.status.success(),
        "copying the playbook tree: {}",
        text(&out)
    );
    std::os::unix::fs::symlink(root().join("vagrant"), dst.join("vagrant"))
        .unwrap_or_else(|e| panic!("link {}/vagrant: {e}", dst.display()));
}

#[test]
fn vm_site_reference_stack() {
    // 0. A fresh VM, checked clean, and the stand-in images.
    vm_common::up_fresh();
    let (_, used) = vm_sh(
        "ls -d /var/lib/pds /var/lib/kollektivkart /etc/caddy/proxies.d /home/* 2>/dev/null | grep -v '^/home/vagrant$' || true",
    );
    assert!(
        used.trim().is_empty(),
        "the VM is not fresh after `vagrant/testvm.sh down` and `up` (found: {}): its disk should run with snapshot=on",
        used.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let role = std::fs::read_to_string(root().join("roles/kollektivkart/tasks/main.yml"))
        .expect("roles/kollektivkart/tasks/main.yml");
    assert!(
        !role.contains("validate:"),
        "the kollektivkart quadlets must be applied with the generator's validation on"
    );
    let standins = Command::new(root().join("scripts/vm-standins.sh"))
        .current_dir(root())
        .output()
        .expect("run scripts/vm-standins.sh");
    assert!(
        standins.status.success(),
        "building the stand-in images in the VM failed:\n{}",
        text(&standins)
    );
    eprintln!("stand-ins: {}", text(&standins).trim().replace('\n', "; "));

    // 1. The dry run a newcomer starts with, on the fresh VM: every change
    //    planned, none failed (tasks that need a user, file or unit an earlier
    //    task would create are `unknown`), nothing written.
    let fresh = state_hash("fresh");
    let dry = apply(&root(), &["--check"]);
    assert_eq!(dry.code, 0, "--check on a fresh VM failed:\n{}", dry.text);
    assert_eq!(dry.n("failed"), 0, "{}", dry.text);
    assert!(
        dry.n("changed") >= 20,
        "--check on a fresh VM plans most tasks as changes: {}",
        dry.recap()
    );
    assert_eq!(
        state_hash("fresh-after"),
        fresh,
        "--check on a fresh VM wrote to it"
    );
    let unknown = dry
        .lines
        .iter()
        .filter(|l| l["event"] == "task" && l["status"] == "unknown")
        .count();
    eprintln!(
        "--check on the fresh VM: {:.1}s, changed {}, unknown {unknown}, {} remote commands, nothing written",
        dry.secs,
        dry.n("changed"),
        dry.n("remote_commands")
    );

    // 2. First apply.
    let first = apply(&root(), &[]);
    assert_eq!(first.code, 0, "first apply failed:\n{}", first.text);
    assert_eq!(first.n("failed"), 0, "{}", first.text);
    eprintln!(
        "first apply: {:.1}s, ok {} changed {} skipped {}, {} remote commands",
        first.secs,
        first.n("ok"),
        first.n("changed"),
        first.n("skipped"),
        first.n("remote_commands")
    );
    assert!(
        first.n("changed") >= 30,
        "on a fresh VM most tasks change: {}",
        first.recap()
    );
    wait_stack(120, "after the first apply");
    // Through the port forward of testvm.sh (127.0.0.1:8080 -> guest 80):
    // *.localhost names resolve to the loopback address in curl.
    let (_, fwd) = Command::new("sh")
        .args(["-c", "ps -o args= -p \"$(cat vagrant/.vm/qemu.pid)\""])
        .current_dir(root())
        .output()
        .map(|o| (o.status.success(), text(&o)))
        .unwrap_or((false, String::new()));
    assert!(
        fwd.contains("127.0.0.1:8080-:80"),
        "testvm.sh runs qemu without the HTTP forward 127.0.0.1:8080 -> guest 80 (qemu: {})",
        fwd.trim()
    );
    let page = wait_http_local("http://kollektivkart.localhost:8080/", 30)
        .unwrap_or_else(|e| panic!("through the forwarded port: {e}"));
    assert!(page.contains("kollektivkart"), "{page}");
    let h = wait_http_local("http://pds.localhost:8080/xrpc/_health", 30)
        .unwrap_or_else(|e| panic!("through the forwarded port: {e}"));
    assert!(h.contains("version"), "{h}");
    eprintln!("through the forwarded port 8080: both sites answer");
    let timers = vm_ok(
        "list-timers",
        &user_systemctl("kollektivkart", "list-timers --all --no-pager"),
    );
    let line = timers
        .lines()
        .find(|l| l.contains("kollektivkart-etl.timer"))
        .unwrap_or_else(|| panic!("the ETL timer is not listed:\n{timers}"));
    assert!(
        !line.trim_start().starts_with('-') && !line.contains("n/a"),
        "the ETL timer has no next trigger: {line}"
    );
    eprintln!(
        "timer: {}",
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    vm_ok("sshd -t", "/usr/sbin/sshd -t");
    assert_ufw("after the first apply");
    wait_services(60, "after the first apply");
    let modes = vm_ok(
        "env file modes",
        "stat -c '%n %a %U' /var/lib/pds/pds.env /var/lib/kollektivkart/.config/kollektivkart/kollektivkart.env",
    );
    assert!(
        modes.contains("/var/lib/pds/pds.env 600 pds")
            && modes.contains("kollektivkart.env 600 kollektivkart"),
        "env files must be 0600 and owned by the app user:\n{modes}"
    );
    let sudoers = vm_ok(
        "sudo as admin",
        "runuser -u admin -- sudo -n true && echo admin-sudo-ok",
    );
    assert!(sudoers.contains("admin-sudo-ok"), "{sudoers}");

    // 3. The README's first screen, as a newcomer types it after run-main.
    let t = Instant::now();
    let shown = run_first_screen();
    assert!(
        shown.contains("RECAP") && !shown.contains("warning: "),
        "the first screen's commands ran, but printed no recap or a warning:\n{shown}"
    );
    eprintln!(
        "README first screen in a fresh clone: {} commands, all succeeded in {:.0}s",
        readme_first_screen().len() - 2,
        t.elapsed().as_secs_f64()
    );

    // Second apply: nothing to change, in few remote commands.
    let second = apply(&root(), &[]);
    assert_eq!(second.code, 0, "second apply failed:\n{}", second.text);
    assert_eq!(
        second.n("changed"),
        0,
        "the second apply changed something: {:?}\n{}",
        second
            .changed_tasks()
            .iter()
            .map(|t| t["task"].to_string())
            .collect::<Vec<_>>(),
        second.text
    );
    eprintln!(
        "second apply: changed 0 in {:.1}s, {} remote commands",
        second.secs,
        second.n("remote_commands")
    );

    // 4. --check from a copy of the playbook tree with one template edited:
    //    that file's diff only, nothing written.
    let copy = tempfile::tempdir().expect("tempdir");
    copy_playbook_tree(copy.path());
    let template = "roles/base/templates/fail2ban-sshd.local.j2";
    let added = "port     = ssh";
    let original = std::fs::read_to_string(copy.path().join(template))
        .unwrap_or_else(|e| panic!("{template}: {e}"));
    assert!(
        !original.contains(added),
        "{template} already has `{added}`"
    );
    std::fs::write(copy.path().join(template), format!("{original}{added}\n"))
        .unwrap_or_else(|e| panic!("{template}: {e}"));
    let before = state_hash("before");
    let check = apply(copy.path(), &["--check"]);
    let after = state_hash("after");
    assert_eq!(check.code, 0, "check run failed:\n{}", check.text);
    let changed = check.changed_tasks();
    let tasks: Vec<&str> = changed
        .iter()
        .map(|t| t["task"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        tasks,
        vec!["base : fail2ban jail for sshd", "base : restart fail2ban"],
        "--check: only the edited template's task and the handler it notifies\n{}",
        check.text
    );
    let diffs: Vec<Value> = changed
        .iter()
        .flat_map(|t| t["diff"].as_array().cloned().unwrap_or_default())
        .collect();
    // File diffs have absolute paths; the handler is reported as the unit
    // that would restart ("fail2ban.service (system)"), without a file.
    let files: Vec<&Value> = diffs
        .iter()
        .filter(|d| d["path"].as_str().is_some_and(|p| p.starts_with('/')))
        .collect();
    let jail = "/etc/fail2ban/jail.d/rprov-sshd.local";
    assert_eq!(
        files.iter().map(|d| d["path"].as_str()).collect::<Vec<_>>(),
        vec![Some(jail)],
        "--check shows exactly the jail file's diff\n{}",
        check.text
    );
    let unified = files[0]["unified"].as_str().unwrap_or("");
    let edits: Vec<&str> = unified
        .lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .collect();
    assert_eq!(
        edits,
        vec![format!("+{added}")],
        "the diff is the added line, nothing else:\n{unified}"
    );
    if before != after {
        let (_, d) = vm_sh("diff /tmp/rprov-state.before /tmp/rprov-state.after | head -40");
        panic!("--check changed the host (/etc or the app users' files):\n{d}");
    }
    eprintln!(
        "--check after adding `{added}` to {template} (in a copy of the tree): changed tasks {tasks:?}, one file diff ({jail}), host unchanged ({} entries hashed)",
        before.lines().next().unwrap_or("?").trim()
    );

    // 5. Reboot: everything comes back without rprov.
    let t = Instant::now();
    vm_common::reboot();
    // 169 s on an idle 2-core machine (qemu TCG); over 300 s when it is busy
    // with other work. The test is about coming back, not how fast.
    wait_stack(600, "after the reboot");
    wait_services(120, "after the reboot");
    eprintln!(
        "after reboot: PDS and both kollektivkart instances through Caddy, sshd, fail2ban, ufw, caddy and the ETL timer active {:.0}s after the reboot command",
        t.elapsed().as_secs_f64()
    );
    vm_ok("sshd -t", "/usr/sbin/sshd -t");
    assert_ufw("after the reboot");

    // 6. The ETL, then its rolling restart on the host, under load through
    //    Caddy: a request every ~0.1 s from before the ETL starts until a stop
    //    file appears after it ended (at most 15 minutes), so the load spans
    //    the whole restart however fast or slow the VM is.
    let before = (
        started_at("kollektivkart@8000.service"),
        started_at("kollektivkart@8001.service"),
    );
    // A transient unit of its own (`systemd-run`), not a `&` job: trixie's
    // sudo runs commands in a pty of their own (`use_pty`) and ends what is
    // left in it when the ssh command returns, and the unit outlives any
    // ssh session.
    vm_put(
        "/tmp/rprov-load.sh",
        b"rm -f /tmp/rprov-load.out /tmp/rprov-load.err /tmp/rprov-load.stop; ok=0; bad=0; i=0; start=$(date +%s)\n\
          while [ ! -e /tmp/rprov-load.stop ] && [ $(( $(date +%s) - start )) -lt 900 ]; do i=$((i+1))\n\
          c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Host: kollektivkart.localhost' http://127.0.0.1/)\n\
          if [ \"$c\" = 200 ]; then ok=$((ok+1)); else bad=$((bad+1)); echo \"request $i: $c\" >> /tmp/rprov-load.err; fi\n\
          echo $i > /tmp/rprov-load.progress; sleep 0.1; done\n\
          echo \"requests=$i ok=$ok failed=$bad seconds=$(( $(date +%s) - start )) end=$(date +%s)\" > /tmp/rprov-load.out\n",
    );
    vm_ok(
        "start the load loop",
        "systemctl reset-failed rprov-load.service 2>/dev/null; systemd-run --unit=rprov-load --collect /bin/sh /tmp/rprov-load.sh",
    );
    std::thread::sleep(Duration::from_secs(2));
    let invocation = |what: &str| {
        vm_ok(
            what,
            &user_systemctl(
                "kollektivkart",
                "show -p InvocationID --value kollektivkart-etl.service",
            ),
        )
        .trim()
        .to_string()
    };
    let prev_invocation = invocation("ETL invocation");
    let t = Instant::now();
    vm_ok(
        "start the ETL",
        &user_systemctl(
            "kollektivkart",
            "start --no-block kollektivkart-etl.service",
        ),
    );
    // Wait for the oneshot (ETL + ExecStartPost rolling restart) to finish.
    let mut state = String::new();
    while t.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_secs(3));
        // One property per call: `show -p A,B` prints them in its own order.
        let (_, a) = vm_sh(&user_systemctl(
            "kollektivkart",
            "show -p ActiveState --value kollektivkart-etl.service",
        ));
        let (_, r) = vm_sh(&user_systemctl(
            "kollektivkart",
            "show -p Result --value kollektivkart-etl.service",
        ));
        state = format!("{} {}", a.trim(), r.trim());
        // `activating`, `deactivating` and `reloading` are on the way; only a
        // settled state (`inactive`, `failed`) ends the wait.
        let settled = state.starts_with("inactive") || state.starts_with("failed");
        if settled && invocation("ETL invocation") != prev_invocation {
            break;
        }
    }
    let etl_secs = t.elapsed().as_secs_f64();
    let etl_end = Instant::now();
    let journal = vm_ok(
        "ETL journal",
        "journalctl --no-pager -o cat _UID=$(id -u kollektivkart) --since '-15min' | grep -E 'stand-in ETL|kollektivkart@[0-9]+ (is ready|did not)|restarting kollektivkart@' || true",
    );
    assert!(
        state.starts_with("inactive success"),
        "the ETL service did not succeed (state: {state}):\n{journal}"
    );
    // Let the load run a little past the ETL, then stop it and read its result.
    std::thread::sleep(Duration::from_secs(3));
    vm_ok("stop the load loop", "touch /tmp/rprov-load.stop");
    let mut load = String::new();
    while etl_end.elapsed() < Duration::from_secs(60) {
        let (_, s) = vm_sh("cat /tmp/rprov-load.out 2>/dev/null");
        if s.contains("requests=") {
            load = s.trim().to_string();
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    if load.is_empty() {
        let (_, status) = vm_sh(
            "cat /tmp/rprov-load.progress; systemctl status --no-pager rprov-load.service; journalctl --no-pager -u rprov-load.service | tail -20",
        );
        panic!("the load loop did not write its result within 60s of being stopped:\n{status}");
    }
    // The load must have outlasted the ETL (both times from the VM's clock).
    let load_end: u64 = load
        .split_whitespace()
        .find_map(|w| w.strip_prefix("end="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("load loop result without end time: {load}"));
    let etl_done = vm_ok(
        "ETL end time",
        &user_systemctl(
            "kollektivkart",
            "show --timestamp=unix -p InactiveEnterTimestamp --value kollektivkart-etl.service",
        ),
    );
    let etl_done: u64 = etl_done
        .trim()
        .trim_start_matches('@')
        .parse()
        .unwrap_or_else(|_| panic!("cannot read the ETL's end time: {etl_done}"));
    assert!(
        load_end > etl_done,
        "the load loop ({load}) ended before the ETL's rolling restart did (at {etl_done}): make it longer"
    );
    let after = (
        started_at("kollektivkart@8000.service"),
        started_at("kollektivkart@8001.service"),
    );
    assert!(
        after.0 > before.0 && after.1 > before.1,
        "the ETL did not restart both instances (before {before:?}, after {after:?}):\n{journal}"
    );
    assert!(
        after.0 < after.1,
        "instances restarted in the wrong order: {after:?}"
    );
    let (_, errs) = vm_sh("cat /tmp/rprov-load.err 2>/dev/null | head -20");
    assert!(
        load.contains(" failed=0 ") && !load.contains(" ok=0 "),
        "requests failed through Caddy during the rolling restart: {load}\n{errs}\n{journal}"
    );
    eprintln!(
        "ETL + rolling restart on the host: {etl_secs:.0}s; load through Caddy: {load}\n{}",
        journal.trim()
    );
}
