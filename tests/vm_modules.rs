//! The system modules (user, group, authorized_key, lineinfile, blockinfile,
//! hostname, timezone, apt, package, ufw) applied for real: locally as root
//! where that is harmless, and inside the Debian test VM (vagrant/testvm.sh)
//! for what must not touch this machine. Each: apply, re-apply reports
//! changed 0, and `--check` with changed input shows the diff and leaves the
//! host as it was (read back on the host, not only by a third run).
//!
//! - users, groups, keys, lines, blocks, host name, time zone: one play, each
//!   task's input changed in one `--check` run.
//! - apt/package: the VM has no network, so the test builds two tiny .debs
//!   here (`dpkg-deb --build`, version 1.0 and 2.0 of `rprov-dummy`, and
//!   `rprov-other`), puts them in a local `file:` repository in the VM (a
//!   Packages file written by the test, `deb [trusted=yes] file:/… ./`) with
//!   the Debian sources set aside for the test, and installs, upgrades,
//!   downgrades and removes them for real.
//! - ufw: defaults, rules with ports, protocols, comments and interfaces,
//!   an inserted rule, enabled; its files are saved before and put back after.
//! - service_facts on systemd, checked against `systemctl is-active` and
//!   `is-enabled`, and `reboot` (a new boot id after it) followed by
//!   wait_for_connection; `reboot` in `--check` does not reboot.
//!
//! The VM tests boot the VM once (`vagrant/testvm.sh up`, reusing it when it
//! already runs), run one at a time, and fail, naming what is missing, when
//! the VM cannot boot.

use std::path::Path;
use std::process::Command;

mod vm_common;

use vm_common::{apply, vm_ok, vm_put, vm_sh, with_cleanup};

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

    with_cleanup(
        || {
            let a = apply(d, &base);
            assert_eq!(a.counts_of("localhost"), (6, 0), "first run:\n{}", a.text);
            let a = apply(d, &base);
            assert_eq!(a.counts_of("localhost"), (0, 0), "second run:\n{}", a.text);

            let conf = std::fs::read_to_string(d.join("t/conf")).expect("conf");
            let keys =
                std::fs::read_to_string(d.join("t/home/.ssh/authorized_keys")).expect("keys");
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
            let a = apply(d, &check);
            assert_eq!(a.counts_of("localhost"), (4, 0), "check run:\n{}", a.text);
            assert!(a.text.contains("shell: /bin/sh → /bin/bash"), "{}", a.text);
            assert!(a.text.contains("+b=3"), "{}", a.text);
            assert_eq!(
                std::fs::read_to_string(d.join("t/conf")).expect("conf"),
                conf
            );
            assert_eq!(
                std::fs::read_to_string(d.join("t/home/.ssh/authorized_keys")).expect("keys"),
                keys
            );
            let a = apply(d, &base);
            assert_eq!(a.counts_of("localhost"), (0, 0), "after check:\n{}", a.text);
        },
        || {
            let a = apply(d, &["-i", "hosts.ini", "cleanup.yml"]);
            assert_eq!(a.counts_of("localhost").1, 0, "cleanup:\n{}", a.text);
        },
    );
}

/// A scratch directory with the VM's inventory and `files`.
fn vm_workdir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    vm_common::write_inventory(tmp.path());
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text).expect("write play");
    }
    tmp
}

const VM_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - group: {name: rprovmod-vg, gid: "{{ gid | default(23461) }}"}
    - user: {name: rprovmod-vu, groups: [rprovmod-vg], shell: "{{ shell | default('/bin/bash') }}"}
    - authorized_key: {user: rprovmod-vu, key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx2 {{ who | default('vm@test') }}"}
    - lineinfile: {path: /etc/rprovmod.conf, line: "setting={{ setting | default('one') }}", regexp: "^setting=", create: true}
    - blockinfile: {path: /etc/rprovmod.conf, block: "{{ block | default('k=v') }}"}
    # sudo resolves the host name: without this line each sudo waits ~20 s
    # for DNS, which the VM does not have.
    - lineinfile: {path: /etc/hosts, regexp: '^127\.0\.1\.2\s', line: "127.0.1.2 {{ host_name | default('rprovmod-vm') }}"}
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
    - lineinfile: {path: /etc/hosts, regexp: '^127\.0\.1\.2\s', state: absent}
    - timezone: {name: Etc/UTC}
"#;

/// What the VM play manages, read on the host: compared before and after a
/// `--check` run.
const VM_STATE: &str = "getent passwd rprovmod-vu; getent group rprovmod-vg; \
    sha256sum /home/rprovmod-vu/.ssh/authorized_keys /etc/rprovmod.conf /etc/hosts; cat /etc/rprovmod.conf; \
    hostname; cat /etc/hostname; readlink /etc/localtime";

/// user, group, authorized_key, lineinfile, blockinfile, hostname, timezone
/// and apt/package (of installed packages) inside the VM; then every one of
/// the first seven (and the host name's /etc/hosts line) with changed input
/// under `--check`.
#[test]
fn vm_system_modules_apply_reapply_check() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = vm_workdir(&[("play.yml", VM_PLAY), ("restore.yml", VM_RESTORE)]);
    let d = tmp.path();
    let base = ["-i", "hosts.ini", "play.yml"];

    with_cleanup(
        || {
            let a = apply(d, &base);
            let (changed, failed) = a.counts();
            assert_eq!(failed, 0, "first run:\n{}", a.text);
            assert!(changed >= 5, "first run changed {changed}:\n{}", a.text);
            let a = apply(d, &base);
            assert_eq!(a.counts(), (0, 0), "second run:\n{}", a.text);

            let before = vm_ok("reading the state", VM_STATE);
            let mut check = base.to_vec();
            check.extend([
                "--check",
                "-e",
                "tz=America/New_York",
                "-e",
                "host_name=other-vm",
                "-e",
                "setting=two",
                "-e",
                "shell=/bin/sh",
                "-e",
                "gid=23462",
                "-e",
                "who=other@vm",
                "-e",
                r#"{"block": "k=w"}"#,
            ]);
            let a = apply(d, &check);
            assert_eq!(a.counts(), (8, 0), "check run:\n{}", a.text);
            a.expect_diffs(&[
                "gid: 23461 → 23462",
                "shell: /bin/bash → /bin/sh",
                "-ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx2 vm@test\n",
                "+ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx2 other@vm\n",
                "-setting=one\n",
                "+setting=two\n",
                "-k=v\n",
                "+k=w\n",
                "-127.0.1.2 rprovmod-vm\n",
                "+127.0.1.2 other-vm\n",
                "hostname: rprovmod-vm → other-vm",
                "Europe/Oslo → America/New_York",
            ]);
            assert_eq!(
                vm_ok("reading the state", VM_STATE),
                before,
                "--check changed the host"
            );
            let a = apply(d, &base);
            assert_eq!(a.counts(), (0, 0), "after check:\n{}", a.text);
        },
        || {
            let a = apply(d, &["-i", "hosts.ini", "restore.yml"]);
            assert_eq!(a.counts().1, 0, "restore:\n{}", a.text);
        },
    );
}

/// Builds `NAME_VERSION_all.deb` in `dir` with `dpkg-deb --build`: a file
/// `/usr/share/NAME/version` holding the version, and for `rprov-dummy` a
/// postinst that writes what /usr/sbin/policy-rc.d answered (or `none`).
fn build_deb(dir: &Path, name: &str, version: &str) -> Vec<u8> {
    let root = dir.join(format!("{name}-{version}"));
    let share = root.join("usr/share").join(name);
    std::fs::create_dir_all(root.join("DEBIAN")).expect("mkdir DEBIAN");
    std::fs::create_dir_all(&share).expect("mkdir share");
    std::fs::write(share.join("version"), format!("{version}\n")).expect("version file");
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: rprov tests <rprov@example.invalid>\n\
             Section: misc\nPriority: optional\nDescription: rprov test package {version}\n \
             Installs one text file; built by tests/vm_modules.rs.\n"
        ),
    )
    .expect("control");
    if name == "rprov-dummy" {
        use std::os::unix::fs::PermissionsExt;
        let postinst = root.join("DEBIAN/postinst");
        std::fs::write(
            &postinst,
            "#!/bin/sh\nif [ -x /usr/sbin/policy-rc.d ]; then /usr/sbin/policy-rc.d rprov-dummy start; echo $? > /var/lib/rprov-dummy.policy; else echo none > /var/lib/rprov-dummy.policy; fi\nexit 0\n",
        )
        .expect("postinst");
        std::fs::set_permissions(&postinst, std::fs::Permissions::from_mode(0o755))
            .expect("chmod postinst");
    }
    let deb = dir.join(format!("{name}_{version}_all.deb"));
    let out = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group", "-Zgzip"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run dpkg-deb (package dpkg) to build the test packages: {e}")
        });
    assert!(
        out.status.success(),
        "dpkg-deb --build failed:\n{}",
        vm_common::text(&out)
    );
    std::fs::read(&deb).expect("read the built .deb")
}

/// The local repository in the VM.
const REPO: &str = "/srv/rprov-repo";

/// Puts a .deb into the VM's repository and rewrites its Packages file from
/// the control fields of every .deb there (what `apt-ftparchive` would write).
fn publish(name: &str, deb: &[u8]) {
    vm_put(&format!("{REPO}/{name}"), deb);
    vm_ok(
        "writing the Packages file",
        &format!(
            "cd {REPO} && for d in *.deb; do dpkg-deb -f \"$d\"; echo \"Filename: ./$d\"; \
             echo \"Size: $(stat -c %s \"$d\")\"; echo \"SHA256: $(sha256sum \"$d\" | cut -d' ' -f1)\"; echo; \
             done > Packages.tmp && mv Packages.tmp Packages"
        ),
    );
}

/// Only the test's repository is an apt source while the apt test runs (the
/// guest cannot reach Debian's mirror): the other sources and the package
/// lists are moved aside, and [`APT_RESTORE`] puts them back.
const APT_SETUP: &str = "set -e
mkdir -p /var/lib/rprov-apt-saved/sources.list.d
[ ! -e /etc/apt/sources.list ] || mv /etc/apt/sources.list /var/lib/rprov-apt-saved/
for f in /etc/apt/sources.list.d/*; do [ -e \"$f\" ] && mv \"$f\" /var/lib/rprov-apt-saved/sources.list.d/; done
cp -a /var/lib/apt/lists /var/lib/rprov-apt-saved/lists
[ ! -e /var/lib/apt/periodic/update-success-stamp ] || cp -a /var/lib/apt/periodic/update-success-stamp /var/lib/rprov-apt-saved/
echo 'deb [trusted=yes] file:/srv/rprov-repo ./' > /etc/apt/sources.list.d/rprov-test.list
# The lists the image came with are older than any cache_valid_time here.
rm -f /var/lib/apt/periodic/update-success-stamp
touch -d '2 days ago' /var/lib/apt/lists
chmod 0755 /srv/rprov-repo
";

const APT_RESTORE: &str = "
dpkg --purge rprov-dummy rprov-other rprov-third >/dev/null 2>&1 || true
rm -rf /srv/rprov-repo /etc/apt/sources.list.d/rprov-test.list /var/lib/rprov-dummy.policy
s=/var/lib/rprov-apt-saved
if [ -d $s ]; then
  [ ! -e $s/sources.list ] || mv $s/sources.list /etc/apt/sources.list
  for f in $s/sources.list.d/*; do [ -e \"$f\" ] && mv \"$f\" /etc/apt/sources.list.d/; done
  rm -rf /var/lib/apt/lists && mv $s/lists /var/lib/apt/lists
  rm -f /var/lib/apt/periodic/update-success-stamp
  [ ! -e $s/update-success-stamp ] || mv $s/update-success-stamp /var/lib/apt/periodic/
  rm -rf $s
fi
rm -f /var/cache/apt/*.bin
";

const APT_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - name: refresh the lists
      apt: {update_cache: true, cache_valid_time: "{{ valid | default(3600) }}"}
    - name: rprov-dummy
      apt:
        name: "{{ dummy | default('rprov-dummy') }}"
        state: "{{ dummy_state | default('present') }}"
        allow_downgrade: "{{ downgrade | default(false) }}"
        dpkg_options: force-confdef,force-confold
        lock_timeout: 120
        policy_rc_d: 101
    - name: rprov-other
      package: {name: "{{ other | default('rprov-other') }}", state: "{{ other_state | default('present') }}"}
    - name: only upgrade what is there
      apt: {name: rprov-third, state: latest, only_upgrade: true}
"#;

/// `apt: deb=` of a .deb file in the VM.
const DEB_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - apt: {deb: /srv/rprov-debs/rprov-dummy_2.0_all.deb}
"#;

/// `dpkg-query` of the test packages in the VM: `name version` lines.
fn installed() -> String {
    let (_, out) = vm_sh(
        "dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}\\n' rprov-dummy rprov-other rprov-third 2>/dev/null | grep ' installed$' | cut -d' ' -f1,2",
    );
    out
}

/// apt and package making real changes: install, re-apply, `--check` of a
/// new package, upgrade to 2.0 from a refreshed cache (`cache_valid_time`),
/// downgrade, remove; a .deb file (`deb:`) installed and left alone after.
#[test]
fn vm_apt_real_packages() {
    let work = tempfile::tempdir().expect("tempdir");
    let debs = [
        (
            "rprov-dummy_1.0_all.deb",
            build_deb(work.path(), "rprov-dummy", "1.0"),
        ),
        (
            "rprov-dummy_2.0_all.deb",
            build_deb(work.path(), "rprov-dummy", "2.0"),
        ),
        (
            "rprov-other_1.0_all.deb",
            build_deb(work.path(), "rprov-other", "1.0"),
        ),
        (
            "rprov-third_1.0_all.deb",
            build_deb(work.path(), "rprov-third", "1.0"),
        ),
    ];
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = vm_workdir(&[("apt.yml", APT_PLAY), ("deb.yml", DEB_PLAY)]);
    let d = tmp.path();
    let play = |extra: &[&str]| {
        let mut args = vec!["-i", "hosts.ini", "apt.yml"];
        args.extend(extra);
        apply(d, &args)
    };

    with_cleanup(
        || {
            vm_ok("clearing a previous run", APT_RESTORE);
            for (name, deb) in [&debs[0], &debs[2], &debs[3]] {
                publish(name, deb);
            }
            vm_ok("setting up the local repository", APT_SETUP);

            // 1. install (and the first cache refresh).
            let a = play(&[]);
            assert_eq!(a.counts(), (3, 0), "first run:\n{}", a.text);
            let diffs = a.diffs();
            assert!(
                diffs.contains("install: rprov-dummy") && diffs.contains("install: rprov-other"),
                "{diffs}"
            );
            assert_eq!(installed(), "rprov-dummy 1.0\nrprov-other 1.0\n");
            let policy = vm_ok(
                "reading what the postinst saw",
                "cat /var/lib/rprov-dummy.policy; ls /usr/sbin/policy-rc.d 2>&1 || true",
            );
            assert!(
                policy.starts_with("101\n") && policy.contains("No such file"),
                "policy-rc.d answered 101 while apt ran and is gone after: {policy}"
            );

            // 2. again: the cache is valid, everything is there.
            let a = play(&[]);
            assert_eq!(a.counts(), (0, 0), "second run:\n{}", a.text);

            // 3. --check of a new package: named, not installed.
            let a = play(&["--check", "-e", "other=rprov-third"]);
            assert_eq!(a.counts(), (1, 0), "check run:\n{}", a.text);
            assert!(a.diffs().contains("install: rprov-third"), "{}", a.diffs());
            assert_eq!(installed(), "rprov-dummy 1.0\nrprov-other 1.0\n");

            // 4. 2.0 published; a cache older than cache_valid_time is
            // refreshed, and latest upgrades.
            publish("rprov-dummy_2.0_all.deb", &debs[1].1);
            std::thread::sleep(std::time::Duration::from_secs(2));
            let a = play(&["-e", "valid=1", "-e", "dummy_state=latest"]);
            assert_eq!(a.counts(), (2, 0), "upgrade run:\n{}", a.text);
            let diffs = a.diffs();
            assert!(
                diffs.contains("cache: update (last updated")
                    && diffs.contains("upgrade: rprov-dummy (1.0 → 2.0)"),
                "{diffs}"
            );
            assert_eq!(installed(), "rprov-dummy 2.0\nrprov-other 1.0\n");
            assert_eq!(
                vm_ok(
                    "reading the package's file",
                    "cat /usr/share/rprov-dummy/version"
                ),
                "2.0\n"
            );
            let a = play(&["-e", "dummy_state=latest"]);
            assert_eq!(a.counts(), (0, 0), "latest again:\n{}", a.text);

            // 5. an older version, allowed to downgrade.
            let a = play(&["-e", "dummy=rprov-dummy=1.0", "-e", "downgrade=true"]);
            assert_eq!(a.counts(), (1, 0), "downgrade run:\n{}", a.text);
            assert!(
                a.diffs().contains("version: rprov-dummy (2.0 → 1.0)"),
                "{}",
                a.diffs()
            );
            assert_eq!(installed(), "rprov-dummy 1.0\nrprov-other 1.0\n");

            // 6. absent: --check removes nothing, then both go.
            let gone = ["-e", "dummy_state=absent", "-e", "other_state=absent"];
            let mut check = gone.to_vec();
            check.push("--check");
            let a = play(&check);
            assert_eq!(a.counts(), (2, 0), "check absent:\n{}", a.text);
            let diffs = a.diffs();
            assert!(
                diffs.contains("remove: rprov-dummy") && diffs.contains("remove: rprov-other"),
                "{diffs}"
            );
            assert_eq!(installed(), "rprov-dummy 1.0\nrprov-other 1.0\n");
            let a = play(&gone);
            assert_eq!(a.counts(), (2, 0), "absent:\n{}", a.text);
            assert_eq!(installed(), "");
            let a = play(&gone);
            assert_eq!(a.counts(), (0, 0), "absent again:\n{}", a.text);

            // 7. a .deb file on the host (`deb:`): --check names it and
            // installs nothing, then it is installed, then left alone.
            vm_put("/srv/rprov-debs/rprov-dummy_2.0_all.deb", &debs[1].1);
            let deb = |extra: &[&str]| {
                let mut args = vec!["-i", "hosts.ini", "deb.yml"];
                args.extend(extra);
                apply(d, &args)
            };
            let a = deb(&["--check"]);
            assert_eq!(a.counts(), (1, 0), "check deb:\n{}", a.text);
            assert!(
                a.diffs().contains(
                    "install: rprov-dummy 2.0 (from /srv/rprov-debs/rprov-dummy_2.0_all.deb)"
                ),
                "{}",
                a.diffs()
            );
            assert_eq!(installed(), "");
            let a = deb(&[]);
            assert_eq!(a.counts(), (1, 0), "deb:\n{}", a.text);
            assert_eq!(installed(), "rprov-dummy 2.0\n");
            let a = deb(&[]);
            assert_eq!(a.counts(), (0, 0), "deb again:\n{}", a.text);
            let a = play(&gone);
            assert_eq!(a.counts(), (1, 0), "absent after deb:\n{}", a.text);
            assert_eq!(installed(), "");
        },
        || {
            vm_ok("restoring apt's sources", APT_RESTORE);
            vm_ok("removing the .deb files", "rm -rf /srv/rprov-debs");
        },
    );
}

const UFW_PLAY: &str = r#"
- hosts: vagrant
  become: true
  gather_facts: false
  tasks:
    - community.general.ufw: {default: deny, direction: incoming}
    - community.general.ufw: {default: allow, direction: outgoing}
    - community.general.ufw: {rule: allow, port: "22", proto: tcp, comment: ssh}
    - community.general.ufw: {rule: allow, port: "{{ web_port | default(18090) }}", proto: tcp, comment: "rprov test web"}
    - community.general.ufw: {rule: allow, interface: lo, direction: in, port: "18091", proto: udp}
    - community.general.ufw: {rule: allow, route: true, interface_in: lo, interface_out: rprovx0, port: "18092", proto: tcp}
    - community.general.ufw: {rule: deny, port: "18099", proto: tcp, insert: 0, insert_relative_to: first-ipv4}
    - community.general.ufw: {state: enabled}
"#;

/// ufw's files, saved before the test and put back after it (and ufw
/// disabled or reloaded to match).
const UFW_SAVE: &str =
    "set -e; rm -rf /var/lib/rprov-ufw-saved; mkdir -p /var/lib/rprov-ufw-saved; \
    tar -C / -cf /var/lib/rprov-ufw-saved/ufw.tar etc/ufw etc/default/ufw";
const UFW_RESTORE: &str = "set -e; if [ -f /var/lib/rprov-ufw-saved/ufw.tar ]; then \
    ufw --force disable >/dev/null; rm -rf /etc/ufw; tar -C / -xf /var/lib/rprov-ufw-saved/ufw.tar; \
    if grep -q '^ENABLED=yes' /etc/ufw/ufw.conf; then ufw --force enable >/dev/null; fi; \
    rm -rf /var/lib/rprov-ufw-saved; fi";
const UFW_STATE: &str = "ufw status verbose; sha256sum /etc/ufw/user.rules /etc/ufw/user6.rules /etc/ufw/ufw.conf /etc/default/ufw";

/// community.general.ufw: default + direction, rules with port, proto,
/// comment and interfaces, an inserted rule, state enabled. Re-applying is a
/// no-op (so the rules match what ufw stores, interfaces included), and a
/// changed port under `--check` shows the rule and changes nothing.
#[test]
fn vm_ufw_rules_apply_reapply_check() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = vm_workdir(&[("ufw.yml", UFW_PLAY)]);
    let d = tmp.path();
    let base = ["-i", "hosts.ini", "ufw.yml"];
    vm_ok("saving ufw's files", UFW_SAVE);

    with_cleanup(
        || {
            let a = apply(d, &base);
            let (changed, failed) = a.counts();
            assert_eq!(failed, 0, "first run:\n{}", a.text);
            assert!(changed >= 5, "first run changed {changed}:\n{}", a.text);
            let status = vm_ok("ufw status", "ufw status verbose; ufw status numbered");
            for want in [
                "Status: active",
                "Default: deny (incoming), allow (outgoing)",
                "22/tcp                     ALLOW IN    Anywhere                   # ssh",
                "18090/tcp                  ALLOW IN    Anywhere                   # rprov test web",
                "18091/udp on lo            ALLOW IN    Anywhere",
                "18092/tcp on rprovx0       ALLOW FWD   Anywhere on lo",
                "[ 1] 18099/tcp                  DENY IN     Anywhere",
            ] {
                assert!(status.contains(want), "ufw shows `{want}`:\n{status}");
            }

            let a = apply(d, &base);
            assert_eq!(a.counts(), (0, 0), "second run:\n{}", a.text);

            let before = vm_ok("reading ufw", UFW_STATE);
            let a = apply(
                d,
                &[
                    "-i",
                    "hosts.ini",
                    "ufw.yml",
                    "--check",
                    "-e",
                    "web_port=18095",
                ],
            );
            assert_eq!(a.counts(), (1, 0), "check run:\n{}", a.text);
            assert!(
                a.diffs()
                    .contains("rule added: allow in port 18095/tcp (comment rprov test web)"),
                "{}",
                a.diffs()
            );
            assert_eq!(
                vm_ok("reading ufw", UFW_STATE),
                before,
                "--check changed ufw"
            );
        },
        || {
            vm_ok("restoring ufw's files", UFW_RESTORE);
        },
    );
}

const VM_REBOOT_PLAY: &str = r#"
- hosts: vagrant
  gather_facts: false
  tasks:
    - name: services before
      service_facts:
      register: sf
    - name: boot id before
      command: cat /proc/sys/kernel/random/boot_id
      register: boot1
      changed_when: false
    # `--force` stops the services at once (a TCG guest's orderly shutdown
    # kept sshd answering for a long time); `reboot` starts the command
    # detached and waits for a new boot id, however long the old boot lasts.
    - name: reboot
      become: true
      reboot:
        reboot_command: systemd-run --on-active=2 /bin/systemctl reboot --force
        post_reboot_delay: 5
        # A TCG boot on a busy 2-core machine has taken minutes (vm_site
        # waits as long).
        reboot_timeout: 600
        connect_timeout: 10
      register: r
    # The host is up again: the first attempt answers.
    - name: wait for it
      wait_for_connection:
        timeout: 60
      register: w
    - name: boot id after
      command: cat /proc/sys/kernel/random/boot_id
      register: boot2
      changed_when: false
    - name: services after
      service_facts:
    - name: a new boot, and the facts of both
      assert:
        that:
          - boot1.stdout != boot2.stdout
          - r is changed
          - r.rebooted
          - r.elapsed >= 5
          - w is not changed
          - w.elapsed < 60
          - sf.ansible_facts.services['ssh.service'].source == 'systemd'
          - ansible_facts.services['ssh.service'].state == 'running'
"#;

/// `reboot` in `--check`: a change, and nothing done.
const VM_REBOOT_CHECK_PLAY: &str = r#"
- hosts: vagrant
  gather_facts: false
  tasks:
    - name: reboot
      become: true
      reboot:
"#;

/// `service_facts` on systemd (the loopback host has none), `reboot` and
/// `wait_for_connection` after it: the VM reboots, the ssh master rprov
/// held dies with the old boot, and the play goes on over a new connection
/// to the new boot. What service_facts says is compared
/// with `systemctl` asked directly.
#[test]
fn vm_service_facts_and_wait_for_connection_across_a_reboot() {
    vm_common::up();
    let _vm = vm_common::serial();
    let tmp = vm_workdir(&[
        ("play.yml", VM_REBOOT_PLAY),
        ("check.yml", VM_REBOOT_CHECK_PLAY),
    ]);
    let a = apply(tmp.path(), &["-i", "hosts.ini", "play.yml"]);
    assert_eq!(a.code, 0, "{}", a.text);
    assert_eq!(a.counts().1, 0, "{}", a.text);
    let result = |task: &str| -> serde_json::Value {
        a.lines
            .iter()
            .find(|l| l["event"] == "task" && l["task"] == task)
            .map(|l| l["result"].clone())
            .unwrap_or_else(|| panic!("no task {task}:\n{}", a.text))
    };
    let services = result("services after")["ansible_facts"]["services"].clone();
    let units = services.as_object().cloned().unwrap_or_default();
    assert!(units.len() > 20, "{services}");
    // A template unit is listed from the unit files, with its file state.
    assert!(units.contains_key("getty@.service"), "{services}");
    for unit in ["ssh.service", "systemd-journald.service", "getty@.service"] {
        let active = vm_ok("is-active", &format!("systemctl is-active {unit} || true"));
        let enabled = vm_ok(
            "is-enabled",
            &format!("systemctl is-enabled {unit} || true"),
        );
        let s = &units[unit];
        assert_eq!(s["source"], "systemd", "{unit}: {s}");
        if unit != "getty@.service" {
            let running = active.trim() == "active";
            assert_eq!(s["state"] == "running", running, "{unit}: {s} vs {active}");
        }
        assert_eq!(s["status"].as_str(), Some(enabled.trim()), "{unit}: {s}");
    }

    // In --check, `reboot` reports a change and leaves the host alone.
    let boot_id = || vm_ok("boot id", "cat /proc/sys/kernel/random/boot_id");
    let before = boot_id();
    let a = apply(tmp.path(), &["-i", "hosts.ini", "check.yml", "--check"]);
    assert_eq!(a.code, 0, "{}", a.text);
    assert_eq!(a.counts(), (1, 0), "{}", a.text);
    assert_eq!(boot_id(), before, "--check rebooted the host");
}
