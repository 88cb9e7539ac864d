//! `wait_for_connection`: wait until the host answers again (after a
//! reboot, or a first boot), as ansible-core's action plugin of that name.
//!
//! Its arguments and defaults are Ansible's: `delay` (0) seconds first, then
//! attempts until one succeeds or `timeout` (600) seconds have passed since
//! the delay ended, `sleep` (1) seconds after each failed one. Each attempt
//! resets the connection, as Ansible's does: the ssh master of the host is
//! closed (after a reboot it is dead, or talks to a TCP connection that
//! will never answer) and a new one is opened through the same
//! `Connection::open` every task uses, with `connect_timeout` (5) as ssh's
//! ConnectTimeout; then a trivial command (`echo pong`, rprov's ping) runs
//! over it, as the task's `become` user when it has one, as Ansible runs its
//! ping module. The result is Ansible's: `elapsed` (whole seconds, the delay
//! included), and on a timeout `failed` with
//! `timed out waiting for ping module test: <the last attempt's error>`
//! (which names the host). In check mode it is skipped, as Ansible's plugin
//! skips itself (`check_mode: false` on the task makes it run).
//!
//! What the probe cache held is forgotten afterwards (the host may have
//! rebooted): the next task probes afresh; the gathered facts stay, as in
//! Ansible. Unlike Ansible, `connect_timeout` bounds each attempt's TCP
//! connect (Ansible's ssh plugin ignores it and uses its own `timeout`).

use std::time::{Duration, Instant};

use rprov_transport::{Output, Script};
use serde_json::{json, Map, Value as Json};

use crate::playbook::{Task, Vars};
use crate::report::Status;

use super::*;

/// Whether `task`'s module logs in afresh instead of running over the open
/// connection (`wait_for_connection`): no decision over facts.
pub(super) fn reconnects(task: &Task) -> bool {
    crate::modules::spec(&task.module).is_some_and(|s| s.runs == crate::modules::Runs::Reconnect)
}

/// The whole number of seconds `args` gives as `name` (`default` when it
/// is missing), refused when negative, in the words of the task's origin.
pub(super) fn whole_seconds(
    task: &Task,
    args: &Map<String, Json>,
    name: &str,
    default: i64,
) -> Result<u64, String> {
    let n = match args.get(name) {
        None | Some(Json::Null) => default,
        Some(Json::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Json::String(s)) => s.trim().parse().unwrap_or(-1),
        Some(other) => {
            return Err(format!(
                "{}: `{name}` must be a whole number of seconds, got {other}",
                task.arg_origin(name)
            ))
        }
    };
    u64::try_from(n).map_err(|_| {
        format!(
            "{}: `{name}` must be a whole number of seconds, not negative: {n}",
            task.arg_origin(name)
        )
    })
}

/// Ansible's defaults, in seconds.
const CONNECT_TIMEOUT: i64 = 5;
const DELAY: i64 = 0;
const SLEEP: i64 = 1;
const TIMEOUT: i64 = 600;

impl HostRunner {
    /// Runs `wait_for_connection` for `task` (its loop variables in `layer`).
    pub(super) async fn wait_for_connection(
        &mut self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
        check: bool,
    ) -> Result<ItemOutcome, Stop> {
        let args = match self.with_resolver(task, layer, |h, r| h.render_args(r, task)) {
            Ok(Json::Object(m)) => m,
            Ok(_) => Map::new(),
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };
        let seconds = |name: &str, default: i64| whole_seconds(task, &args, name, default);
        let read = (|| {
            Ok::<_, String>((
                seconds("connect_timeout", CONNECT_TIMEOUT)?,
                seconds("delay", DELAY)?,
                seconds("sleep", SLEEP)?,
                seconds("timeout", TIMEOUT)?,
            ))
        })();
        let (connect_timeout, delay, sleep, timeout) = match read {
            Ok(v) => v,
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };
        if check {
            // What Ansible registers: its plugin's `skipped`, with the
            // `changed` and `failed` its executor adds to a result that ran.
            let mut result = Map::new();
            result.insert("changed".into(), json!(false));
            result.insert("failed".into(), json!(false));
            result.insert("skipped".into(), json!(true));
            let mut o = ItemOutcome::new(Status::Skipped, result);
            o.msg = Some("skipped in check mode, as Ansible's wait_for_connection".into());
            return Ok(o);
        }

        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(delay)).await;
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let mut error = None;
        let mut reached = false;
        while Instant::now() < deadline {
            if self.shared.interrupt.requested().is_some() {
                return Err(Stop::Interrupted);
            }
            match self.ping_afresh(connect_timeout, become_).await {
                Ok(()) => {
                    reached = true;
                    break;
                }
                Err(e) => {
                    error = Some(e);
                    tokio::time::sleep(Duration::from_secs(sleep)).await;
                }
            }
        }
        // Whatever was probed may be gone: a reboot clears /tmp, restarts
        // services. The next task probes afresh.
        self.link_mut().forget_host_state();
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("elapsed".into(), json!(start.elapsed().as_secs()));
        if reached {
            return Ok(ItemOutcome::new(Status::Ok, result));
        }
        // The connection of a failed attempt is no use to the next task.
        self.close_connection().await;
        let why =
            error.unwrap_or_else(|| format!("no attempt was made within `timeout: {timeout}`"));
        let msg = format!("timed out waiting for ping module test: {why}");
        result.insert("failed".into(), json!(true));
        result.insert("msg".into(), json!(msg));
        let mut o = ItemOutcome::new(Status::Failed, result);
        o.msg = Some(msg);
        Ok(o)
    }

    /// One attempt: a new connection (the old one closed first), then
    /// `echo pong` over it. `Err` says why it failed.
    async fn ping_afresh(
        &mut self,
        connect_timeout: u64,
        become_: &Option<String>,
    ) -> Result<(), String> {
        let out = self
            .run_afresh(Some(connect_timeout), "echo pong", become_)
            .await?;
        if out.status == 0 && out.stdout_lossy().trim() == "pong" {
            Ok(())
        } else {
            Err(format!(
                "ping test failed (exit status {}): {}",
                out.status,
                out.stderr_lossy().trim()
            ))
        }
    }

    /// Closes the connection, opens a new one (ssh's ConnectTimeout
    /// `connect_timeout` seconds, the run's own when `None`) and runs the
    /// shell text `script` over it, as `become_`. The new connection is
    /// kept for what follows. `Err` says why no output came back.
    pub(super) async fn run_afresh(
        &mut self,
        connect_timeout: Option<u64>,
        script: &str,
        become_: &Option<String>,
    ) -> Result<Output, String> {
        self.close_connection().await;
        let Some(target) = self.link().target.clone() else {
            return Err("no host to connect to".into());
        };
        let mut opts = self.shared.opts.connect.clone();
        if let Some(t) = connect_timeout {
            opts.connect_timeout = Duration::from_secs(t.max(1));
        }
        let conn = self
            .open_connection(&target, &opts)
            .await
            .map_err(|e| e.to_string())?;
        self.link_mut().conn = Some(conn);
        self.run_over_link(script, become_).await
    }

    /// Runs the shell text `script` over the open connection, as `become_`,
    /// counted as an applied command. A failed run closes the connection
    /// (it may be one to a host that went down). `Err` says why no output
    /// came back.
    pub(super) async fn run_over_link(
        &mut self,
        script: &str,
        become_: &Option<String>,
    ) -> Result<Output, String> {
        let Some(conn) = self.link().conn.as_ref() else {
            return Err("no connection to the host".into());
        };
        let started = Instant::now();
        let ran = conn
            .run(&Script::raw(script), None, become_.as_deref())
            .await;
        if !self.is_delegated() {
            self.timings.ran(Phase::Apply, started, 1);
        }
        match ran {
            Ok(out) => Ok(out),
            Err(e) => {
                self.close_connection().await;
                Err(e.to_string())
            }
        }
    }
}
