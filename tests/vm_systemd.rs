//! systemd, quadlet, rolling_restart, uri and wait_for inside the Debian test
//! VM (vagrant/testvm.sh: systemd, rootless podman 5, caddy).
//!
//! One test, in stages, because each stage needs the state of the one before
//! and a VM boot costs a minute:
//! 1. A local image (`podman import` of a tarball holding busybox-static) and
//!    a rootless quadlet template `web@.container` for user `rpweb`, instances
//!    18000 and 18001 (busybox httpd serving `~rpweb/www/%i`), and a caddy of
//!    the test's own (`caddy-rpweb.service`, :18080) in front of both — ports
//!    and names apart from the roles', which may share the VM. Apply, re-apply (changed 0), `--check` with a changed unit
//!    (diff shown, host unchanged).
//! 2. Reboot the VM (no rprov): both instances answer again.
//! 3. `rolling_restart` while a bounded load loop (a fixed number of requests
//!    through caddy) runs: zero failed requests.
//! 4. Instance 18000 made unhealthy (its ready file removed): the rolling
//!    restart stops there with a message naming it, and 18001 was not
//!    restarted and keeps serving.
//!
//! The VM is booted (or reused) with `vagrant/testvm.sh up`; when it cannot
//! boot the test fails with testvm's message. It never skips.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod vm_common;

use vm_common::{root, vm_sh};

struct Applied {
    code: i32,
    lines: Vec<Value>,
    text: String,
}

impl Applied {
    fn counts(&self) -> (u64, u64) {
        let r = self
            .lines
            .iter()
            .rev()
            .find_map(|l| l.get("recap").and_then(|r| r.get("vm")).cloned())
            .unwrap_or_else(|| panic!("no recap for vm in:\n{}", self.text));
        (
            r["changed"].as_u64().unwrap_or(99),
            r["failed"].as_u64().unwrap_or(99),
        )
    }
}

fn apply(cwd: &Path, args: &[&str]) -> Applied {
    let out = Command::new(env!("CARGO_BIN_EXE_rprov"))
        .current_dir(cwd)
        .arg("apply")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run rprov: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    Applied {
        code: out.status.code().unwrap_or(-1),
        lines: stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        text,
    }
}

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

/// `ActiveEnterTimestampMonotonic` of a user unit: changes at each (re)start.
fn started_at(unit: &str) -> String {
    let (ok, out) = vm_sh(&format!(
        "runuser -u rpweb -- env XDG_RUNTIME_DIR=/run/user/$(id -u rpweb) systemctl --user show -p ActiveEnterTimestampMonotonic --value {unit}"
    ));
    assert!(ok, "systemctl show {unit}: {out}");
    out.trim().to_string()
}

#[test]
fn vm_systemd_quadlet_rolling_restart() {
    vm_common::up();
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
    let tasks: Vec<&str> = a
        .lines
        .iter()
        .filter(|l| l["event"] == "task")
        .filter_map(|l| l["task"].as_str())
        .collect();
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
