//! rprov-transport against real sshd's (rprov-testbed). Needs root and
//! scripts/testenv.sh; fails with a message saying so otherwise.

mod common;

use common::{sshd, strict, target, target_with_known_hosts, USER};
use rprov_transport::{quote, ConnectOptions, Connection, Script, TransportError};

async fn open(server: &rprov_testbed::Sshd) -> Connection {
    Connection::open(&target(server), &strict())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_a_command_and_captures_everything() {
    let server = sshd(USER);
    let conn = open(&server).await;
    let out = conn
        .run(
            &Script::raw("echo out; echo err >&2; id -un; exit 3"),
            None,
            None,
        )
        .await
        .expect("run");
    assert_eq!(out.status, 3, "a non-zero exit is an Output, not an error");
    assert_eq!(out.stdout, format!("out\n{USER}\n").into_bytes());
    assert_eq!(out.stderr, b"err\n");
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_round_trips_binary_data() {
    let server = sshd(USER);
    let conn = open(&server).await;
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let out = conn
        .run(&Script::raw("cat"), Some(&all_bytes), None)
        .await
        .expect("run");
    assert_eq!(out.stdout, all_bytes);

    // 5 MB of varied bytes, checked byte for byte.
    let big: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let out = conn
        .run(&Script::raw("cat"), Some(&big), None)
        .await
        .expect("run");
    assert_eq!(out.stdout.len(), big.len());
    assert!(out.stdout == big);

    // Input the command never reads is not an error.
    let out = conn
        .run(&Script::raw("true"), Some(&big), None)
        .await
        .expect("run");
    assert_eq!(out.status, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_is_not_on_the_remote_command_line() {
    // Scripts carry rendered arguments (tokens in headers, password hashes);
    // every user of the host can read command lines in /proc.
    let server = sshd(USER);
    let conn = open(&server).await;
    for become_user in [None, Some("root")] {
        let out = conn
            .run(
                &Script::raw(
                    "marker=not-in-argv-4711\n\
                     for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done",
                ),
                Some(b"input for the script\n"),
                become_user,
            )
            .await
            .expect("run");
        let seen = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status, 0, "{seen}");
        assert!(
            seen.contains("head -c"),
            "our own sh is among the processes:\n{seen}"
        );
        assert!(
            !seen.contains("not-in-argv-4711"),
            "the script's text is on a command line (become {become_user:?}):\n{seen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_stdout_and_stderr_together_do_not_deadlock() {
    let server = sshd(USER);
    let conn = open(&server).await;
    let script =
        Script::raw("head -c 10485760 /dev/zero; head -c 3000000 /dev/zero >&2; echo done >&2");
    let out = conn.run(&script, None, None).await.expect("run");
    assert_eq!(out.stdout.len(), 10 * 1024 * 1024);
    assert_eq!(out.stderr.len(), 3_000_000 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nasty_arguments_round_trip_through_the_remote_shell() {
    let server = sshd(USER);
    let conn = open(&server).await;
    let words = [
        "",
        "it's",
        "\"double\" 'single'",
        "$HOME `id` $(id) ${PATH}",
        "line1\nline2\n",
        "back\\slash",
        "*",
        "; exit 99 #",
        "-n",
        "~",
        "ünï ✓",
    ];
    let script = Script::cmd("printf").arg("%s\\0").args(words);
    for become_user in [None, Some("root")] {
        let out = conn.run(&script, None, become_user).await.expect("run");
        assert_eq!(out.status, 0, "{}", out.stderr_lossy());
        let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
        let want: Vec<&[u8]> = words
            .iter()
            .map(|w| w.as_bytes())
            .chain([&b""[..]])
            .collect();
        assert_eq!(got, want, "script was {script}");
    }
    // quote() alone, inside raw text.
    let raw = Script::raw(format!("x={}; printf %s \"$x\"", quote("a'b\n$c")));
    let out = conn.run(&raw, None, None).await.expect("run");
    assert_eq!(out.stdout, b"a'b\n$c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_counted_on_both_sides() {
    let server = sshd(USER);
    let conn = open(&server).await;
    assert_eq!(conn.commands_run(), 0, "connecting is not a command");
    assert_eq!(server.exec_count(), 0);
    for script in ["true", "false", "echo hi"] {
        conn.run(&Script::raw(script), None, None)
            .await
            .expect("run");
    }
    conn.run(&Script::raw("id -u"), None, Some("root"))
        .await
        .expect("run");
    assert_eq!(conn.commands_run(), 4);
    assert_eq!(
        server.exec_count(),
        4,
        "sudo runs inside the one remote command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_share_one_connection() {
    let server = sshd(USER);
    let conn = std::sync::Arc::new(open(&server).await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let conn = conn.clone();
        tasks.push(tokio::spawn(async move {
            conn.run(&Script::cmd("echo").arg(i.to_string()), None, None)
                .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let out = t.await.expect("join").expect("run");
        assert_eq!(out.stdout_lossy(), format!("{i}\n"));
    }
    assert_eq!(conn.commands_run(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_becomes_root_and_other_users() {
    let server = sshd(USER);
    let conn = open(&server).await;
    let out = conn
        .run(&Script::raw("id -u; echo $HOME"), None, Some("root"))
        .await
        .expect("run");
    assert_eq!(out.stdout_lossy(), "0\n/root\n", "{}", out.stderr_lossy());
    let out = conn
        .run(&Script::raw("cat"), Some(b"via sudo"), Some("rprovpw"))
        .await
        .expect("run");
    assert_eq!(out.stdout, b"via sudo");
    let out = conn
        .run(&Script::raw("exit 1"), None, Some("root"))
        .await
        .expect("run");
    assert_eq!(
        out.status, 1,
        "a script exiting 1 under sudo is not a sudo failure"
    );
    match conn
        .run(&Script::raw("true"), None, Some("no-such-user-x"))
        .await
    {
        Err(TransportError::SudoFailed { reason, .. }) => {
            assert!(reason.contains("unknown user"), "{reason}")
        }
        other => panic!("expected SudoFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_that_wants_a_password_is_reported() {
    let server = sshd("rprovpw");
    let conn = open(&server).await;
    match conn.run(&Script::raw("id -u"), None, Some("root")).await {
        Err(e @ TransportError::SudoPasswordRequired { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("NOPASSWD") && msg.contains("rprovpw"), "{msg}");
        }
        other => panic!("expected SudoPasswordRequired, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unreachable() {
    let server = sshd(USER);
    let mut t = target(&server);
    // A port that was free a moment ago; nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    if let rprov_transport::TargetKind::Ssh(s) = &mut t.kind {
        s.port = Some(port);
    }
    match Connection::open(&t, &strict()).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            assert!(e.is_host_unusable());
            assert!(e.to_string().contains("refused"), "{e}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused_unless_accept_new() {
    let server = sshd(USER);
    let dir = tempfile::tempdir().expect("tempdir");
    let kh = dir.path().join("known_hosts");
    std::fs::write(&kh, "").expect("write");
    let t = target_with_known_hosts(&server, &kh);
    match Connection::open(&t, &strict()).await {
        Err(e @ TransportError::HostKeyUnknown { .. }) => {
            assert!(e.to_string().contains("--accept-new-host-keys"), "{e}")
        }
        other => panic!("expected HostKeyUnknown, got {other:?}"),
    }
    let accept = ConnectOptions {
        accept_new_host_keys: true,
        ..strict()
    };
    let conn = Connection::open(&t, &accept)
        .await
        .expect("accept-new connects");
    let out = conn
        .run(&Script::raw("echo ok"), None, None)
        .await
        .expect("run");
    assert_eq!(out.stdout, b"ok\n");
    conn.close().await.expect("close");
    let remembered = std::fs::read_to_string(&kh).expect("read");
    assert!(!remembered.trim().is_empty(), "accept-new wrote the key");
    // Now known: strict works.
    Connection::open(&t, &strict())
        .await
        .expect("strict after accept-new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_host_key_is_refused_even_with_accept_new() {
    let server = sshd(USER);
    let dir = tempfile::tempdir().expect("tempdir");
    let kh = dir.path().join("known_hosts");
    std::fs::write(
        &kh,
        server.known_hosts_line_with_other_key().expect("other key"),
    )
    .expect("write");
    let t = target_with_known_hosts(&server, &kh);
    for accept_new_host_keys in [false, true] {
        let opts = ConnectOptions {
            accept_new_host_keys,
            ..strict()
        };
        match Connection::open(&t, &opts).await {
            Err(e @ TransportError::HostKeyChanged { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("ssh-keygen -R") && msg.contains(&server.host_pattern()),
                    "{msg}"
                );
            }
            other => panic!("expected HostKeyChanged, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_an_authentication_failure() {
    let server = sshd(USER);
    let other = sshd(USER);
    let mut t = target(&server);
    if let rprov_transport::TargetKind::Ssh(s) = &mut t.kind {
        s.private_key_file = Some(other.key_file.clone());
    }
    match Connection::open(&t, &strict()).await {
        Err(e @ TransportError::AuthenticationFailed { .. }) => assert!(e.is_host_unusable()),
        other => panic!("expected AuthenticationFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connection_mid_command_is_unreachable() {
    let server = sshd(USER);
    let conn = open(&server).await;
    let running = tokio::spawn(async move {
        let r = conn.run(&Script::raw("sleep 30"), None, None).await;
        (r, conn)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    drop(server); // kills sshd and its sessions
    let (r, conn) = tokio::time::timeout(std::time::Duration::from_secs(20), running)
        .await
        .expect("run returns once the server is gone")
        .expect("join");
    match r {
        Err(e @ TransportError::Unreachable { .. }) => assert!(e.is_host_unusable()),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    match conn.run(&Script::raw("true"), None, None).await {
        Err(TransportError::Unreachable { .. }) => {}
        other => panic!("expected Unreachable after the master died, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_ssh_args_are_rejected_not_ignored() {
    let server = sshd(USER);
    let mut t = target(&server);
    if let rprov_transport::TargetKind::Ssh(s) = &mut t.kind {
        s.extra_args
            .extend(["-L".to_owned(), "8080:localhost:80".to_owned()]);
    }
    match Connection::open(&t, &strict()).await {
        Err(TransportError::InvalidSshArgs { reason, .. }) => {
            assert!(reason.contains("-L"), "{reason}")
        }
        other => panic!("expected InvalidSshArgs, got {other:?}"),
    }
}
