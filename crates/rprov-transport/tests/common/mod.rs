//! Shared helpers: real sshd's from rprov-testbed and targets pointing at them.

#![allow(dead_code)]

use std::time::Duration;

use rprov_testbed::Sshd;
use rprov_transport::{ConnectOptions, SshTarget, Target, TargetKind};

/// The login user for tests (created by scripts/testenv.sh).
pub const USER: &str = "rprovtest";

/// Starts an sshd or fails the test with the harness's message (which says to run
/// scripts/testenv.sh when something is missing). Never skips.
pub fn sshd(user: &str) -> Sshd {
    match Sshd::start(user) {
        Ok(s) => s,
        Err(e) => panic!("cannot start the test sshd: {e}"),
    }
}

/// A target for `server` using its own known_hosts file.
pub fn target(server: &Sshd) -> Target {
    Target {
        name: format!("test-{}", server.port),
        kind: TargetKind::Ssh(SshTarget {
            host: server.addr.to_string(),
            port: Some(server.port),
            user: Some(server.user.clone()),
            private_key_file: Some(server.key_file.clone()),
            extra_args: server.common_args(),
            ..SshTarget::default()
        }),
    }
}

/// The same target, but with a different known_hosts file.
pub fn target_with_known_hosts(server: &Sshd, known_hosts: &std::path::Path) -> Target {
    let mut t = target(server);
    if let TargetKind::Ssh(s) = &mut t.kind {
        s.extra_args = vec![
            "-o".into(),
            format!("UserKnownHostsFile={}", known_hosts.display()),
        ];
    }
    t
}

pub fn strict() -> ConnectOptions {
    ConnectOptions {
        accept_new_host_keys: false,
        connect_timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    }
}
