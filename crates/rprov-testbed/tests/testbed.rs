//! The harness itself against real sshd's: a plain `ssh` client logs in, commands
//! are counted, fleets get distinct addresses and are cleaned up.

use std::process::Command;

use rprov_testbed::{Fleet, Sshd};

fn ssh(server: &Sshd, command: &str) -> std::process::Output {
    Command::new("ssh")
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .args(server.common_args())
        .arg("-i")
        .arg(&server.key_file)
        .arg("-p")
        .arg(server.port.to_string())
        .arg(format!("{}@{}", server.user, server.addr))
        .arg(command)
        .output()
        .expect("running ssh")
}

#[test]
fn sshd_accepts_the_client_key_and_counts_commands() {
    let server = Sshd::start("rprovtest").expect("start sshd");
    assert_eq!(server.exec_count(), 0);
    let out = ssh(&server, "id -un");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "rprovtest");
    let out = ssh(&server, "exit 3");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(server.exec_count(), 2);
    assert!(server.inventory_line("web1").starts_with(&format!(
        "web1 ansible_host=127.0.0.1 ansible_port={} ansible_user=rprovtest",
        server.port
    )));
}

#[test]
fn dropping_sshd_stops_it() {
    let server = Sshd::start("rprovtest").expect("start sshd");
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", server.pid()));
    let dir = server.dir().to_owned();
    assert!(proc_dir.exists());
    drop(server);
    // The process, not the port: tests run in parallel, and another test's sshd
    // (or a client's ephemeral port) may take the freed port at once.
    assert!(!proc_dir.exists(), "sshd still running after drop");
    assert!(!dir.exists());
}

#[test]
fn fleet_hosts_have_their_own_addresses() {
    let fleet = Fleet::start(3, "rprovtest").expect("start fleet");
    let mut seen = Vec::new();
    for host in &fleet.hosts {
        assert_eq!(host.port, 22);
        let out = ssh(host, "ip -4 -o addr show dev eth0");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("inet {}/24", host.addr)), "{text}");
        seen.push(host.addr);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3);
    assert_eq!(fleet.inventory_lines("h").lines().count(), 3);
    let bridge = fleet.bridge();
    let namespaces = fleet.namespaces().to_vec();
    drop(fleet);
    // (Not a TCP probe: this machine's default route may answer any address.)
    assert!(!std::path::Path::new(&format!("/sys/class/net/{bridge}")).exists());
    let list = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let list = String::from_utf8_lossy(&list.stdout);
    for ns in namespaces {
        assert!(!list.contains(&ns), "{ns} still exists: {list}");
    }
}

#[test]
fn missing_user_fails_with_a_fix() {
    let err = Sshd::start("rprov-no-such-user").expect_err("no such user");
    let msg = err.to_string();
    assert!(msg.contains("run scripts/testenv.sh"), "{msg}");
}
