//! The local target, and a fleet of hosts in network namespaces (needs root).

mod common;

use common::{strict, target, USER};
use rprov_testbed::Fleet;
use rprov_transport::{Connection, Script, Target, TargetKind};

fn local() -> Target {
    Target {
        name: "localhost".into(),
        kind: TargetKind::Local,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_target_runs_sh_with_stdin() {
    let conn = Connection::open(&local(), &strict()).await.expect("open");
    let out = conn
        .run(
            &Script::raw("cat; echo e >&2; exit 4"),
            Some(&[0u8, 1, 255]),
            None,
        )
        .await
        .expect("run");
    assert_eq!(out.status, 4);
    assert_eq!(out.stdout, [0u8, 1, 255]);
    assert_eq!(out.stderr, b"e\n");
    assert_eq!(conn.commands_run(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_become_uses_sudo_only_for_another_user() {
    rprov_testbed::require_root("local become test").unwrap_or_else(|e| panic!("{e}"));
    let conn = Connection::open(&local(), &strict()).await.expect("open");
    // Already root: no sudo needed (works even where sudo is absent).
    let out = conn
        .run(&Script::raw("id -u"), None, Some("root"))
        .await
        .expect("run");
    assert_eq!(out.stdout_lossy(), "0\n");
    let out = conn
        .run(&Script::raw("id -un; echo $HOME"), None, Some(USER))
        .await
        .expect("run");
    assert_eq!(
        out.stdout_lossy(),
        format!("{USER}\n/home/{USER}\n"),
        "{}",
        out.stderr_lossy()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_hosts_answer_with_their_own_address() {
    let fleet = Fleet::start(3, USER).unwrap_or_else(|e| panic!("cannot start the fleet: {e}"));
    let mut handles = Vec::new();
    for host in &fleet.hosts {
        let t = target(host);
        let addr = host.addr.to_string();
        handles.push(tokio::spawn(async move {
            let conn = Connection::open(&t, &strict()).await.expect("connect");
            let out = conn
                .run(&Script::raw("ip -4 -o addr show dev eth0"), None, None)
                .await
                .expect("run");
            conn.close().await.expect("close");
            (addr, out.stdout_lossy())
        }));
    }
    for h in handles {
        let (addr, text) = h.await.expect("join");
        assert!(text.contains(&format!("inet {addr}/24")), "{addr}: {text}");
    }
    for host in &fleet.hosts {
        assert_eq!(host.exec_count(), 1, "{}", host.addr);
    }
}
