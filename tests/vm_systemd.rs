//! systemd, quadlet, rolling_restart, uri and wait_for inside the Debian test
//! VM (vagrant/testvm.sh: systemd, rootless podman 5, caddy).
//!
//! `vm_systemd_quadlet_rolling_restart` goes in stages, because each stage
//! needs the state of the one before and a VM boot costs a minute:
//! 1. A local image (`podman import` of a tarball holding busybox-static) and
//!    a rootless quadlet template `web@.container` for user `rpweb`, instances
//!    18000 and 18001 (busybox httpd serving `~rpweb/www/%i`), and a caddy of
//!    the test's own (`caddy-rpweb.service`, :18080) in front of both — ports
//!    and names apart from the roles', which may share the VM. Apply (systemd
//!    has the unit's new text), re-apply (changed 0), `--check` with a changed
//!    unit (diff shown, host unchanged).
//! 2. Reboot the VM (no rprov): both instances answer again.
//! 3. `rolling_restart` while a bounded load loop (a fixed number of requests
//!    through caddy) runs: zero failed requests.
//! 4. Instance 18000 made unhealthy (its ready file removed): the rolling
//!    restart stops there with a message naming it, and 18001 was not
//!    restarted and keeps serving.
//!
//! The other tests each set up and remove their own units:
//! - `vm_systemd_states_check_and_reloads`: systemd/service state, enabled and
//!   masked flipped under `--check` and for real, restarted, reloaded, a user
//!   unit, daemon-reload counted in PID 1's journal, daemon_reexec.
//! - `vm_quadlet_system_network_volume_container`: system-scope quadlets.
//! - `vm_rolling_restart_system_units`: `units: [a, b]` with `scope: system`.
//!
//! The VM is booted (or reused) once with `vagrant/testvm.sh up`, and the
//! tests take turns on it; when it cannot boot the test fails with testvm's
//! message. It never skips.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod vm_common;

use vm_common::{apply, root, vm_ok, vm_sh, with_cleanup};

const PLAY: &str = r#"
- hosts: vagrant
  gather_facts: false
  become: true
  vars:
    flavor: "1"
  handlers:
    - name: reload caddy-rpweb
      systemd: {name: caddy-rpweb, state: reloaded}
    - name: restart web
      rolling_restart:
        template: web@
        instances: [18000, 18001]
        user: rpweb
        health_url: "http://127.0.0.1:{instance}/ready"
        interval: 0.5
        timeout: 60
  tasks:
    - name: the service user
      user: {name: rpweb, shell: /bin/bash}
    - name: its systemd --user manager, lingering
      systemd: {name: default.target, state: started, scope: user, user: rpweb}
    - name: a local image (no registry in the VM)
      shell: |
        cd / && export XDG_RUNTIME_DIR=/run/user/$(id -u)
        podman image exists localhost/rpbb:1 && exit 0
        t=$(mktemp -d) && mkdir -p "$t/root/bin" && cp /bin/busybox "$t/root/bin/"
        tar -C "$t/root" -cf "$t/bb.tar" . && podman import -q "$t/bb.tar" localhost/rpbb:1
        rm -rf "$t"; echo imported
      become_user: rpweb
      register: img
      changed_when: "'imported' in img.stdout"
    - name: web roots
      file: {path: "/home/rpweb/www/{{ item }}", state: directory, owner: rpweb, group: rpweb}
      loop: [18000, 18001]
    - name: ready files
      copy: {dest: "/home/rpweb/www/{{ item }}/ready", content: "ok {{ item }}\n", owner: rpweb, group: rpweb}
      loop: [18000, 18001]
    - name: the web template and its instances
      quadlet:
        name: web@.container
        user: rpweb
        state: started
        instances: [18000, 18001]
        content: |
          [Unit]
          Description=web instance %i (flavor {{ flavor }})

          [Container]
          Image=localhost/rpbb:1
          Exec=/bin/busybox httpd -f -p 18080 -h /www
          PublishPort=127.0.0.1:%i:18080
          Volume=/home/rpweb/www/%i:/www:ro
          StopTimeout=2

          [Service]
          # At boot, under TCG on a busy machine, pulling the image and
          # starting the container took more than systemd's default 90 s.
          TimeoutStartSec=300

          [Install]
          WantedBy=default.target
      notify: restart web
    - name: a caddy of its own in front of both (the roles' caddy is left alone)
      copy:
        dest: /etc/caddy/rpweb.Caddyfile
        content: |
          # flavor {{ flavor }}
          {
            admin localhost:20190
            auto_https off
          }
          :18080 {
            reverse_proxy 127.0.0.1:18000 127.0.0.1:18001 {
              lb_policy round_robin
              lb_try_duration 10s
              lb_try_interval 100ms
              fail_duration 2s
            }
          }
      notify: reload caddy-rpweb
    - name: its unit
      copy:
        dest: /etc/systemd/system/caddy-rpweb.service
        content: |
          [Unit]
          Description=caddy in front of rpweb (rprov's VM test)
          After=network.target

          [Service]
          User=caddy
          Group=caddy
          Environment=HOME=/var/lib/caddy
          ExecStart=/usr/bin/caddy run --config /etc/caddy/rpweb.Caddyfile --adapter caddyfile
          ExecReload=/usr/bin/caddy reload --config /etc/caddy/rpweb.Caddyfile --adapter caddyfile --address localhost:20190 --force

          [Install]
          WantedBy=multi-user.target
    - systemd: {name: caddy-rpweb, state: started, enabled: true, daemon_reload: true}
    - wait_for: {port: "{{ item }}", timeout: 60}
      loop: [18000, 18001]
    - uri: {url: "http://127.0.0.1:{{ item }}/ready", return_content: true}
      register: ready
      loop: [18000, 18001]
      retries: 20
      delay: 1
      until: ready.status == 200
"#;

const ROLLING: &str = r#"
- hosts: vagrant
  gather_facts: false
  become: true
  tasks:
    - rolling_restart:
        template: web@
        instances: [18000, 18001]
        user: rpweb
        health_url: "http://127.0.0.1:{instance}/ready"
        interval: 0.5
        timeout: "{{ health_timeout | default(60) }}"
"#;

/// Polls `url` in the VM until it answers 200, for at most `secs`.
fn wait_http(url: &str, secs: u64) -> Result<Duration, String> {
    let t = Instant::now();
    let mut last = String::new();
    while t.elapsed() < Duration::from_secs(secs) {
        let (ok, out) = vm_sh(&format!(
            "curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 {}",
            rprov_transport::quote(url)
        ));
        if ok && out.trim() == "200" {
            return Ok(t.elapsed());
        }
        last = out;
        std::thread::sleep(Duration::from_secs(2));
    }
    Err(format!(
        "{url} did not answer 200 within {secs}s (last: {last})"
    ))
}

/// A property of one of `rpweb`'s user units.
fn user_prop(unit: &str, prop: &str) -> String {
    vm_ok(
        &format!("systemctl --user show {unit}"),
        &format!(
            "runuser -u rpweb -- env XDG_RUNTIME_DIR=/run/user/$(id -u rpweb) systemctl --user show -p {prop} --value {unit}"
        ),
    )
    .trim()
    .to_string()
}

/// `ActiveEnterTimestampMonotonic` of a user unit: changes at each (re)start.
fn started_at(unit: &str) -> String {
    user_prop(unit, "ActiveEnterTimestampMonotonic")
}

#[test]
fn vm_systemd_quadlet_rolling_restart() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    vm_common::write_inventory(d);
    std::fs::write(d.join("play.yml"), PLAY).expect("play");
    std::fs::write(d.join("rolling.yml"), ROLLING).expect("rolling");
    // A flavor of this run's own, so the first apply changes the unit (and
    // notifies its handlers) even on a VM where an earlier run left them.
    let flavor = format!(
        "flavor={}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    let base = ["-i", "hosts.ini", "play.yml", "-e", flavor.as_str()];

    // 1. apply, re-apply, check.
    let t = Instant::now();
    let a = apply(d, &base);
    let (changed, failed) = a.counts();
    assert_eq!(failed, 0, "first run:\n{}", a.text);
    // Handlers notified by copy (caddy) and quadlet (web) ran once each, after
    // the last task, in definition order.
    let tasks = a.tasks();
    let n = tasks.len();
    assert!(
        n >= 2 && tasks[n - 2..] == ["reload caddy-rpweb", "restart web"],
        "handlers at the end, once, in order: {tasks:?}"
    );
    assert_eq!(
        tasks.iter().filter(|t| **t == "restart web").count(),
        1,
        "{tasks:?}"
    );
    eprintln!(
        "first apply: changed {changed} in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    for port in [18000, 18001] {
        wait_http(&format!("http://127.0.0.1:{port}/ready"), 60).unwrap_or_else(|e| panic!("{e}"));
    }
    wait_http("http://127.0.0.1:18080/ready", 30).unwrap_or_else(|e| panic!("via caddy: {e}"));
    // The unit changed for real (this run's flavor): systemd has its new text.
    let desc = user_prop("web@18000.service", "Description");
    assert_eq!(
        desc,
        format!("web instance 18000 ({})", flavor.replace('=', " ")),
        "systemd --user did not pick up the changed unit"
    );

    let t = Instant::now();
    let a = apply(d, &base);
    assert_eq!(a.counts(), (0, 0), "second run:\n{}", a.text);
    eprintln!(
        "second apply (no change): {:.1}s",
        t.elapsed().as_secs_f64()
    );

    let before = started_at("web@18000.service");
    let mut check = base.to_vec();
    let check_flavor = format!("{flavor}-check");
    check.extend(["--check", "-e", check_flavor.as_str()]);
    let a = apply(d, &check);
    // The flavor changes the unit and the Caddyfile; each notifies its handler
    // (restart web, reload caddy-rpweb): four changes planned, none run.
    assert_eq!(a.counts(), (4, 0), "check run:\n{}", a.text);
    assert!(
        a.text
            .contains("would restart web@18000.service, web@18001.service"),
        "{}",
        a.text
    );
    assert!(
        a.text.contains(&format!(
            "-Description=web instance %i ({})",
            flavor.replace('=', " ")
        )) && a.text.contains(&format!(
            "+Description=web instance %i ({})",
            check_flavor.replace('=', " ")
        )),
        "the check run shows the unit's diff:\n{}",
        a.text
    );
    let (_, unit) = vm_sh("cat /home/rpweb/.config/containers/systemd/web@.container");
    assert!(
        unit.contains(&format!("({})", flavor.replace('=', " "))),
        "check mode changed the unit:\n{unit}"
    );
    assert_eq!(
        started_at("web@18000.service"),
        before,
        "check mode restarted a unit"
    );
    let a = apply(d, &base);
    assert_eq!(a.counts(), (0, 0), "after check:\n{}", a.text);

    // A rejected unit: the generator's own words, nothing written.
    std::fs::write(
        d.join("bad.yml"),
        "- hosts: vagrant\n  gather_facts: false\n  become: true\n  tasks:\n    - quadlet: {name: bad.container, user: rpweb, content: \"[Container]\\nExec=/bin/true\\n\"}\n",
    )
    .expect("bad play");
    let a = apply(d, &["-i", "hosts.ini", "bad.yml", "--check"]);
    assert_eq!(a.counts().1, 1, "bad unit:\n{}", a.text);
    assert!(
        a.text.contains("no Image or Rootfs key specified"),
        "generator error shown:\n{}",
        a.text
    );
    let (ok, _) = vm_sh("test -e /home/rpweb/.config/containers/systemd/bad.container");
    assert!(!ok, "a rejected unit was written");

    // 2. reboot without rprov: the instances come back by themselves.
    let t = Instant::now();
    // Under TCG, and with other tests sharing the VM, a reboot can take
    // minutes (user managers stopping containers, a slow boot): the shared
    // helper waits longer than testvm's default before calling it failed.
    vm_common::reboot();
    for port in [18000, 18001] {
        wait_http(&format!("http://127.0.0.1:{port}/ready"), 180)
            .unwrap_or_else(|e| panic!("after reboot: {e}"));
    }
    eprintln!(
        "after reboot: both instances answer {:.0}s after the reboot command",
        t.elapsed().as_secs_f64()
    );
    wait_http("http://127.0.0.1:18080/ready", 60)
        .unwrap_or_else(|e| panic!("caddy after reboot: {e}"));

    // 3. rolling restart under a bounded load through caddy.
    let requests = 300;
    let load = Command::new(root().join("vagrant/testvm.sh"))
        .args([
            "ssh",
            &format!(
                "ok=0; bad=0; i=0; while [ $i -lt {requests} ]; do i=$((i+1)); \
                 c=$(curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 http://127.0.0.1:18080/ready); \
                 if [ \"$c\" = 200 ]; then ok=$((ok+1)); else bad=$((bad+1)); echo \"request $i: $c\" >&2; fi; \
                 sleep 0.1; done; echo \"ok=$ok bad=$bad\""
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the load loop");
    let load_started = Instant::now();
    let load = std::thread::spawn(move || {
        let out = load.wait_with_output().expect("load loop");
        (out, Instant::now())
    });
    std::thread::sleep(Duration::from_secs(2));
    let before = (
        started_at("web@18000.service"),
        started_at("web@18001.service"),
    );
    let t = Instant::now();
    let a = apply(d, &["-i", "hosts.ini", "rolling.yml"]);
    let rolled = t.elapsed();
    let rolled_end = Instant::now();
    let (load, load_end) = load.join().expect("load thread");
    // The bounded load must cover the whole restart, or zero failures means nothing.
    assert!(
        load_end > rolled_end,
        "the load loop ({:.1}s) ended before the rolling restart did: make it longer",
        (load_end - load_started).as_secs_f64()
    );
    let load_out = String::from_utf8_lossy(&load.stdout).to_string();
    let load_err = String::from_utf8_lossy(&load.stderr).to_string();
    assert_eq!(a.counts(), (1, 0), "rolling restart:\n{}", a.text);
    let after = (
        started_at("web@18000.service"),
        started_at("web@18001.service"),
    );
    assert!(
        after.0 != before.0 && after.1 != before.1,
        "both instances restarted"
    );
    assert!(
        load_out.contains(&format!("ok={requests} bad=0")),
        "requests failed during the rolling restart: {load_out}\n{load_err}"
    );
    let secs = a
        .lines
        .iter()
        .find_map(|l| l.pointer("/result/seconds").cloned())
        .unwrap_or(Value::Null);
    eprintln!(
        "rolling restart of 2 instances: {:.1}s (per instance, restart to healthy: {secs}); load through caddy over {:.1}s: {}",
        rolled.as_secs_f64(),
        (load_end - load_started).as_secs_f64(),
        load_out.trim()
    );

    // 4. an unhealthy first instance: stop there, the other keeps serving.
    let (ok, out) = vm_sh("rm -f /home/rpweb/www/18000/ready");
    assert!(ok, "{out}");
    let before_8001 = started_at("web@18001.service");
    let t = Instant::now();
    let a = apply(
        d,
        &["-i", "hosts.ini", "rolling.yml", "-e", "health_timeout=8"],
    );
    eprintln!(
        "rolling restart with 18000 unhealthy: failed after {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(a.code, 2, "exit code 2 for a failed task:\n{}", a.text);
    assert_eq!(a.counts().1, 1, "{}", a.text);
    assert!(
        a.text
            .contains("rolling restart stopped at web@18000.service")
            && a.text
                .contains("did not answer 200 within 8s (last status 404")
            && a.text
                .contains("Not restarted (still serving): web@18001.service"),
        "the failure names the instance and why:\n{}",
        a.text
    );
    assert_eq!(
        started_at("web@18001.service"),
        before_8001,
        "web@18001 was restarted"
    );
    wait_http("http://127.0.0.1:18001/ready", 5)
        .unwrap_or_else(|e| panic!("18001 stopped serving: {e}"));

    // Healthy again for whoever uses the VM next.
    let a = apply(d, &base);
    assert_eq!(a.counts().1, 0, "restore:\n{}", a.text);
}

/// A property of a system unit (`systemctl show -p PROP --value`).
fn sys_prop(unit: &str, prop: &str) -> String {
    vm_ok(
        &format!("systemctl show {unit}"),
        &format!("systemctl show -p {prop} --value {unit}"),
    )
    .trim()
    .to_string()
}

const STATES_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - name: unit t1
      copy:
        dest: /etc/systemd/system/rprov-t1.service
        content: |
          [Unit]
          Description=rprov test unit t1 ({{ desc | default('one') }})

          [Service]
          ExecStart=/bin/sh -c 'trap "echo reloaded >> /run/rprov-t1.reloads" HUP; while :; do sleep 1 & wait $$!; done'
          ExecReload=/bin/kill -HUP $MAINPID

          [Install]
          WantedBy=multi-user.target
    # Masking links /etc/systemd/system/NAME to /dev/null: a unit to mask
    # lives elsewhere, as packaged units do.
    - file: {path: /usr/local/lib/systemd/system, state: directory}
    - name: unit t2
      copy:
        dest: /usr/local/lib/systemd/system/rprov-t2.service
        content: |
          [Unit]
          Description=rprov test unit t2

          [Service]
          Type=oneshot
          ExecStart=/bin/true
    - name: t1
      systemd:
        name: rprov-t1
        state: "{{ t1_state | default('started') }}"
        enabled: "{{ t1_enabled | default(true) }}"
        daemon_reload: true
    - name: t1 through service (no second reload)
      service: {name: rprov-t1, enabled: "{{ t1_enabled | default(true) }}"}
    - name: t2
      systemd: {name: rprov-t2, masked: "{{ t2_masked | default(false) }}"}
    - name: the user
      user: {name: rpunit, shell: /bin/sh}
    - name: a user unit, not enabled by itself
      quadlet:
        name: rprov-u1.service
        user: rpunit
        content: |
          [Unit]
          Description=rprov user unit u1

          [Service]
          ExecStart=/bin/sleep infinity

          [Install]
          WantedBy=default.target
    - name: u1
      systemd:
        name: rprov-u1
        scope: user
        user: rpunit
        enabled: "{{ u1_enabled | default(true) }}"
        state: started
"#;

const REEXEC_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - systemd: {daemon_reexec: true}
"#;

const STATES_CLEANUP: &str = "
systemctl unmask rprov-t2.service >/dev/null 2>&1 || true
systemctl disable --now rprov-t1.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/rprov-t1.service /usr/local/lib/systemd/system/rprov-t2.service /run/rprov-t1.reloads
systemctl daemon-reload
if id rpunit >/dev/null 2>&1; then
  loginctl disable-linger rpunit || true
  systemctl stop \"user@$(id -u rpunit).service\" || true
  userdel -r rpunit >/dev/null 2>&1 || true
fi
";

/// What the states test manages, read on the host.
const STATES_NOW: &str = "for u in rprov-t1 rprov-t2; do echo \"$u $(systemctl is-active $u) $(systemctl is-enabled $u)\"; done; \
    echo \"u1 $(runuser -u rpunit -- env XDG_RUNTIME_DIR=/run/user/$(id -u rpunit) systemctl --user is-active rprov-u1) \
    $(runuser -u rpunit -- env XDG_RUNTIME_DIR=/run/user/$(id -u rpunit) systemctl --user is-enabled rprov-u1)\"";

/// How many times the system manager reloaded (or re-executed) since
/// `cursor`, from PID 1's journal lines; polled for a moment, since the
/// journal may lag behind.
fn manager_events(cursor: &str, pattern: &str, expect: usize) -> usize {
    let mut n = 0;
    for _ in 0..10 {
        let out = vm_ok(
            "reading the journal",
            &format!(
                "journalctl --no-pager -q _PID=1 -o cat --after-cursor={} | grep -c {} || true",
                rprov_transport::quote(cursor),
                rprov_transport::quote(pattern)
            ),
        );
        n = out.trim().parse().unwrap_or(0);
        if n >= expect {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    n
}

fn journal_cursor() -> String {
    let out = vm_ok(
        "reading the journal cursor",
        "journalctl --no-pager -q -n 0 --show-cursor",
    );
    out.lines()
        .find_map(|l| l.strip_prefix("-- cursor: "))
        .unwrap_or_else(|| panic!("no cursor in: {out}"))
        .trim()
        .to_string()
}

/// systemd/service: `--check` of flipped state, enabled and masked (diff
/// shown, `is-active`/`is-enabled` unchanged), then each applied and
/// re-applied; stopped, masked, enabled: false, restarted, reloaded, a user
/// unit enabled; daemon-reload exactly once when a unit changed, never when
/// none did; daemon_reexec.
#[test]
fn vm_systemd_states_check_and_reloads() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    vm_common::write_inventory(d);
    std::fs::write(d.join("states.yml"), STATES_PLAY).expect("play");
    std::fs::write(d.join("reexec.yml"), REEXEC_PLAY).expect("play");
    let play = |extra: &[&str]| {
        let mut args = vec!["-i", "hosts.ini", "states.yml"];
        args.extend(extra);
        apply(d, &args)
    };

    with_cleanup(
        || {
            vm_ok("clearing a previous run", STATES_CLEANUP);
            let a = play(&[]);
            assert_eq!(a.counts().1, 0, "first run:\n{}", a.text);
            assert_eq!(
                vm_ok("reading unit states", STATES_NOW),
                "rprov-t1 active enabled\nrprov-t2 inactive static\nu1 active enabled\n"
            );
            let a = play(&[]);
            assert_eq!(a.counts(), (0, 0), "second run:\n{}", a.text);

            // --check of every flip: diffs, and nothing changed on the host.
            let flipped = [
                "-e",
                "t1_state=stopped",
                "-e",
                "t1_enabled=false",
                "-e",
                "t2_masked=true",
                "-e",
                "u1_enabled=false",
            ];
            let mut check = flipped.to_vec();
            check.push("--check");
            let a = play(&check);
            assert_eq!(a.counts(), (4, 0), "check run:\n{}", a.text);
            a.expect_diffs(&[
                "state: active → stopped",
                "enabled: enabled → disabled",
                "masked: static → masked",
                "rprov-u1.service (user rpunit)\n  enabled: enabled → disabled",
            ]);
            assert_eq!(
                vm_ok("reading unit states", STATES_NOW),
                "rprov-t1 active enabled\nrprov-t2 inactive static\nu1 active enabled\n",
                "--check changed a unit"
            );

            // Applied for real (the service task then finds t1 disabled
            // already: the first task's change is read back), then a no-op.
            let a = play(&flipped);
            assert_eq!(a.counts(), (3, 0), "flipped:\n{}", a.text);
            assert_eq!(
                vm_ok("reading unit states", STATES_NOW),
                "rprov-t1 inactive disabled\nrprov-t2 inactive masked\nu1 active disabled\n"
            );
            let a = play(&flipped);
            assert_eq!(a.counts(), (0, 0), "flipped again:\n{}", a.text);

            // restarted: always a change, a new start each time.
            let mut restarted = flipped.to_vec();
            restarted[1] = "t1_state=restarted";
            let a = play(&restarted);
            assert_eq!(a.counts(), (1, 0), "restarted (from stopped):\n{}", a.text);
            let first = sys_prop("rprov-t1", "ActiveEnterTimestampMonotonic");
            let pid = sys_prop("rprov-t1", "MainPID");
            let a = play(&restarted);
            assert_eq!(a.counts(), (1, 0), "restarted:\n{}", a.text);
            assert_ne!(
                sys_prop("rprov-t1", "ActiveEnterTimestampMonotonic"),
                first,
                "not restarted"
            );
            assert_ne!(sys_prop("rprov-t1", "MainPID"), pid, "same process");

            // reloaded: the running process gets its reload (one SIGHUP).
            let mut reloaded = flipped.to_vec();
            reloaded[1] = "t1_state=reloaded";
            let pid = sys_prop("rprov-t1", "MainPID");
            let a = play(&reloaded);
            assert_eq!(a.counts(), (1, 0), "reloaded:\n{}", a.text);
            let mut reloads = String::new();
            for _ in 0..20 {
                reloads = vm_ok(
                    "reading reloads",
                    "cat /run/rprov-t1.reloads 2>/dev/null || true",
                );
                if !reloads.is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            assert_eq!(reloads, "reloaded\n", "one reload reached the service");
            assert_eq!(
                sys_prop("rprov-t1", "MainPID"),
                pid,
                "reloaded, not restarted"
            );

            // A changed unit: exactly one daemon-reload (by the first task
            // that needs it), and systemd has the new text.
            let mut changed = flipped.to_vec();
            changed[1] = "t1_state=started";
            changed.extend(["-e", "desc=two"]);
            let cursor = journal_cursor();
            let a = play(&changed);
            assert_eq!(a.counts(), (2, 0), "changed unit:\n{}", a.text);
            assert!(a.diffs().contains("daemon-reload: needed"), "{}", a.diffs());
            assert_eq!(
                manager_events(&cursor, "^Reloading finished", 1),
                1,
                "one daemon-reload for one changed unit"
            );
            assert_eq!(
                sys_prop("rprov-t1", "Description"),
                "rprov test unit t1 (two)"
            );
            let cursor = journal_cursor();
            let a = play(&changed);
            assert_eq!(a.counts(), (0, 0), "changed unit, again:\n{}", a.text);
            std::thread::sleep(Duration::from_secs(1));
            assert_eq!(
                manager_events(&cursor, "^Reloading finished", 0),
                0,
                "no daemon-reload when no unit changed"
            );

            // daemon_reexec: always a change, and the manager re-executed.
            let cursor = journal_cursor();
            let a = apply(d, &["-i", "hosts.ini", "reexec.yml"]);
            assert_eq!(a.counts(), (1, 0), "daemon_reexec:\n{}", a.text);
            assert_eq!(
                manager_events(&cursor, "^Reexecuting", 1),
                1,
                "one daemon-reexec"
            );
        },
        || {
            vm_ok("removing the test units", STATES_CLEANUP);
        },
    );
}

const QUADLET_SYSTEM_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - name: a local image for root's podman (no registry in the VM)
      shell: |
        cd /
        podman image exists localhost/rpbb:1 && exit 0
        t=$(mktemp -d) && mkdir -p "$t/root/bin" && cp /bin/busybox "$t/root/bin/"
        tar -C "$t/root" -cf "$t/bb.tar" . && podman import -q "$t/bb.tar" localhost/rpbb:1
        rm -rf "$t"; echo imported
      register: img
      changed_when: "'imported' in img.stdout"
    # Root's podman sets up bridge networks with netavark, whose default
    # firewall driver needs `nft`; the image has iptables (for ufw) only.
    - file: {path: /etc/containers/containers.conf.d, state: directory}
    - copy:
        dest: /etc/containers/containers.conf.d/50-rprov-test.conf
        content: |
          [network]
          firewall_driver = "iptables"
    - quadlet:
        name: rpq.network
        scope: system
        content: |
          [Network]
          Label=rprov=test
          # {{ note | default('first') }}
    - quadlet:
        name: rpq.volume
        scope: system
        content: |
          [Volume]
          Label=rprov=test
    - quadlet: {name: rpq.container, scope: system, src: rpq.container, state: started}
"#;

/// The container unit, read from the play's `files/` (`src:`).
fn rpq_container(version: &str) -> String {
    format!(
        "[Unit]\nDescription=rpq system container ({version})\n\n[Container]\nImage=localhost/rpbb:1\n\
         Exec=/bin/busybox sh -c \"echo ok > /data/index.html && exec /bin/busybox httpd -f -p 8080 -h /data\"\n\
         Network=rpq.network\nVolume=rpq.volume:/data\nPublishPort=127.0.0.1:18110:8080\nStopTimeout=2\n\n\
         [Install]\nWantedBy=multi-user.target\n"
    )
}

const QUADLET_SYSTEM_CLEANUP: &str = "
systemctl stop rpq.service rpq-network.service rpq-volume.service >/dev/null 2>&1 || true
rm -f /etc/containers/systemd/rpq.container /etc/containers/systemd/rpq.network /etc/containers/systemd/rpq.volume
systemctl daemon-reload
cd / && podman rm -f systemd-rpq >/dev/null 2>&1 || true
podman network rm -f systemd-rpq >/dev/null 2>&1 || true
podman volume rm -f systemd-rpq >/dev/null 2>&1 || true
rm -f /etc/containers/containers.conf.d/50-rprov-test.conf
";

/// quadlet for the system (/etc/containers/systemd): a `.network`, a
/// `.volume` and a `.container` from `src:`; the generated services run and
/// the container answers through its published port; re-apply changes
/// nothing; `--check` of changed units shows their diffs and leaves files and
/// systemd as they were; applied, systemd has the new text.
#[test]
fn vm_quadlet_system_network_volume_container() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    vm_common::write_inventory(d);
    std::fs::write(d.join("quadlet.yml"), QUADLET_SYSTEM_PLAY).expect("play");
    std::fs::create_dir(d.join("files")).expect("files dir");
    std::fs::write(d.join("files/rpq.container"), rpq_container("v1")).expect("unit");
    let play = |extra: &[&str]| {
        let mut args = vec!["-i", "hosts.ini", "quadlet.yml"];
        args.extend(extra);
        apply(d, &args)
    };

    with_cleanup(
        || {
            vm_ok("clearing a previous run", QUADLET_SYSTEM_CLEANUP);
            let a = play(&[]);
            let (changed, failed) = a.counts();
            assert_eq!(failed, 0, "first run:\n{}", a.text);
            assert!(changed >= 3, "first run changed {changed}:\n{}", a.text);
            for (unit, state) in [
                ("rpq-network.service", "active"),
                ("rpq-volume.service", "active"),
                ("rpq.service", "active"),
            ] {
                assert_eq!(sys_prop(unit, "ActiveState"), state, "{unit}");
            }
            wait_http("http://127.0.0.1:18110/", 60)
                .unwrap_or_else(|e| panic!("the system container: {e}"));
            let objects = vm_ok(
                "podman objects",
                "cd / && podman network exists systemd-rpq && podman volume exists systemd-rpq && \
                 podman volume inspect -f '{{.Labels}}' systemd-rpq",
            );
            assert!(objects.contains("rprov:test"), "{objects}");

            let a = play(&[]);
            assert_eq!(a.counts(), (0, 0), "second run:\n{}", a.text);

            // Changed text under --check: diffs, nothing written or reloaded.
            std::fs::write(d.join("files/rpq.container"), rpq_container("v2")).expect("unit");
            let files = "sha256sum /etc/containers/systemd/rpq.*";
            let before = vm_ok("hashing the units", files);
            let a = play(&["--check", "-e", "note=second"]);
            assert_eq!(a.counts(), (2, 0), "check run:\n{}", a.text);
            a.expect_diffs(&[
                "-Description=rpq system container (v1)\n",
                "+Description=rpq system container (v2)\n",
                "-# first\n",
                "+# second\n",
            ]);
            assert_eq!(vm_ok("hashing the units", files), before);
            assert_eq!(
                sys_prop("rpq.service", "Description"),
                "rpq system container (v1)"
            );

            let a = play(&["-e", "note=second"]);
            assert_eq!(a.counts(), (2, 0), "changed units:\n{}", a.text);
            assert_eq!(
                sys_prop("rpq.service", "Description"),
                "rpq system container (v2)",
                "systemd did not pick up the changed unit"
            );
            let a = play(&["-e", "note=second"]);
            assert_eq!(a.counts(), (0, 0), "changed units, again:\n{}", a.text);
        },
        || {
            vm_ok("removing the quadlets", QUADLET_SYSTEM_CLEANUP);
        },
    );
}

const RR_SETUP_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - lineinfile: {path: /etc/hosts, regexp: " rprov-rr{{ item.n }}$", line: "{{ item.ip }} rprov-rr{{ item.n }}"}
      loop: [{n: a, ip: 127.0.0.2}, {n: b, ip: 127.0.0.3}]
    - file: {path: "/srv/rprov-rr/{{ item }}", state: directory}
      loop: [a, b]
    - copy: {dest: "/srv/rprov-rr/{{ item }}/ready", content: "ok {{ item }}\n"}
      loop: [a, b]
    - copy:
        dest: "/etc/systemd/system/rprov-rr{{ item.n }}.service"
        content: |
          [Unit]
          Description=rprov rolling restart test {{ item.n }}

          [Service]
          ExecStart=/bin/busybox httpd -f -p {{ item.ip }}:18200 -h /srv/rprov-rr/{{ item.n }}
      loop: [{n: a, ip: 127.0.0.2}, {n: b, ip: 127.0.0.3}]
    - systemd: {name: "rprov-rr{{ item }}", state: started, daemon_reload: true}
      loop: [a, b]
"#;

const RR_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - rolling_restart:
        units: [rprov-rra, rprov-rrb]
        scope: system
        health_url: "http://{instance}:18200/ready"
        interval: 0.5
        timeout: "{{ t | default(30) }}"
"#;

const RR_CLEANUP: &str = "
systemctl stop rprov-rra.service rprov-rrb.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/rprov-rra.service /etc/systemd/system/rprov-rrb.service
systemctl daemon-reload
sed -i '/ rprov-rr[ab]$/d' /etc/hosts
rm -rf /srv/rprov-rr
";

/// rolling_restart with `units: [a, b]` and `scope: system`: two system units
/// (busybox httpd on 127.0.0.2 and .3, named in /etc/hosts so `{instance}`
/// in the health URL is the unit's name), restarted in order, each healthy
/// before the next; with b unhealthy it stops at b, after a.
#[test]
fn vm_rolling_restart_system_units() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    vm_common::write_inventory(d);
    std::fs::write(d.join("setup.yml"), RR_SETUP_PLAY).expect("play");
    std::fs::write(d.join("rr.yml"), RR_PLAY).expect("play");

    with_cleanup(
        || {
            let a = apply(d, &["-i", "hosts.ini", "setup.yml"]);
            assert_eq!(a.counts().1, 0, "setup:\n{}", a.text);
            for n in ["a", "b"] {
                wait_http(&format!("http://rprov-rr{n}:18200/ready"), 30)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let before = (
                sys_prop("rprov-rra", "ActiveEnterTimestampMonotonic"),
                sys_prop("rprov-rrb", "ActiveEnterTimestampMonotonic"),
            );
            let a = apply(d, &["-i", "hosts.ini", "rr.yml", "--check"]);
            assert_eq!(a.counts(), (1, 0), "check:\n{}", a.text);
            assert!(
                a.diffs()
                    .contains("would restart rprov-rra.service, rprov-rrb.service"),
                "{}",
                a.diffs()
            );
            assert_eq!(
                sys_prop("rprov-rra", "ActiveEnterTimestampMonotonic"),
                before.0,
                "--check restarted a unit"
            );

            let a = apply(d, &["-i", "hosts.ini", "rr.yml"]);
            assert_eq!(a.counts(), (1, 0), "rolling restart:\n{}", a.text);
            let restarted = a
                .lines
                .iter()
                .find_map(|l| l.pointer("/result/restarted").cloned())
                .unwrap_or(Value::Null);
            assert_eq!(
                restarted,
                serde_json::json!(["rprov-rra.service", "rprov-rrb.service"]),
                "{}",
                a.text
            );
            let after = (
                sys_prop("rprov-rra", "ActiveEnterTimestampMonotonic"),
                sys_prop("rprov-rrb", "ActiveEnterTimestampMonotonic"),
            );
            let n = |s: &str| s.parse::<u64>().unwrap_or(0);
            assert!(
                n(&after.0) > n(&before.0) && n(&after.1) > n(&before.1),
                "both restarted: {before:?} → {after:?}"
            );
            assert!(n(&after.0) < n(&after.1), "a before b: {after:?}");

            // b unhealthy: a is restarted, then it stops at b.
            vm_ok("making b unhealthy", "rm -f /srv/rprov-rr/b/ready");
            let a = apply(d, &["-i", "hosts.ini", "rr.yml", "-e", "t=4"]);
            assert_eq!(a.code, 2, "a failed task:\n{}", a.text);
            assert!(
                a.text.contains("rolling restart stopped at rprov-rrb.service: http://rprov-rrb:18200/ready did not answer 200 within 4s (last status 404")
                    && a.text.contains("Restarted before it: rprov-rra.service"),
                "the failure names the unit and why:\n{}",
                a.text
            );
        },
        || {
            vm_ok("removing the test units", RR_CLEANUP);
        },
    );
}
