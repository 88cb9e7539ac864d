//! `reboot`: restart the host and wait until it is back, as ansible-core's
//! action plugin of that name (its Linux behaviour).
//!
//! The boot id (`boot_time_command`, by default
//! `cat /proc/sys/kernel/random/boot_id`) is read over the open connection;
//! then the reboot command starts, detached, so that the remote command
//! returns before the host goes down (Ansible runs it attached and takes a
//! dropped connection for success; rprov would take it for an unreachable
//! host). By default it is Ansible's Linux one, `shutdown -r <minutes>
//! '<msg>'`, `shutdown` looked up in `search_paths`, the minutes being
//! `pre_reboot_delay` divided by 60 as Ansible divides them; a
//! `reboot_command` replaces it (its first word looked up the same way when
//! it is not a path). After `post_reboot_delay`, the connection is dropped
//! and opened afresh (`connect_timeout`, as `wait_for_connection`'s
//! attempts) until the boot id differs, then `test_command` (`whoami`) must
//! succeed, each within `reboot_timeout` (600) seconds, with Ansible's
//! backoff between attempts (1, 2, 4, 8, then 12 seconds). Every command
//! runs as the task's `become` user, as Ansible's are sudoable.
//!
//! The result is Ansible's: `rebooted`, `changed`, `elapsed` (whole seconds
//! from the reboot command), and its failure messages. In check mode it
//! reports a change and does nothing, as Ansible's. Over a local connection
//! it fails, as Ansible's, rather than reboot the controller. What was
//! probed is forgotten afterwards, as after `wait_for_connection`.

use std::time::{Duration, Instant};

use rprov_transport::{quote, Output, TargetKind};
use serde_json::{json, Map, Value as Json};

use crate::playbook::{Task, Vars};
use crate::report::Status;

use super::wait_connection::whole_seconds;
use super::*;

/// Ansible's defaults.
const REBOOT_TIMEOUT: i64 = 600;
const BOOT_TIME_COMMAND: &str = "cat /proc/sys/kernel/random/boot_id";
const TEST_COMMAND: &str = "whoami";
const MESSAGE: &str = "Reboot initiated by Ansible";
const SHUTDOWN: &str = "shutdown";
const SEARCH_PATHS: &[&str] = &["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"];
/// The longest pause between two attempts, as Ansible's `max_fail_sleep`.
const MAX_FAIL_SLEEP: u64 = 12;

/// The task's arguments, read.
#[derive(Debug, PartialEq)]
struct Args {
    boot_time_command: String,
    test_command: String,
    connect_timeout: Option<u64>,
    reboot_timeout: u64,
    post_reboot_delay: u64,
    /// The shell text that reboots, its program found on the host first.
    command: RebootCommand,
}

/// What reboots the host: a program (a name looked up in `search_paths`,
/// or a path) and the shell text of its arguments.
#[derive(Debug, PartialEq)]
struct RebootCommand {
    program: String,
    args: String,
    search_paths: Vec<String>,
}

impl RebootCommand {
    /// A script that finds the program, starts it detached (a second later,
    /// its output dropped, so that this command returns first) and exits 0,
    /// or exits 127 when it is nowhere in `search_paths`.
    fn script(&self) -> String {
        let detached = |path: &str| {
            let run = if self.args.is_empty() {
                path.to_string()
            } else {
                format!("{path} {}", self.args)
            };
            format!("( sleep 1; exec {run} ) </dev/null >/dev/null 2>&1 &\n")
        };
        if self.program.starts_with('/') {
            // A path in the user's `reboot_command` is the user's shell text.
            return format!("{}exit 0\n", detached(&self.program));
        }
        let dirs: Vec<String> = self.search_paths.iter().map(|d| quote(d)).collect();
        format!(
            "for d in {dirs}; do\n  if [ -e \"$d\"/{name} ]; then\n    {run}    exit 0\n  fi\ndone\nexit 127\n",
            dirs = dirs.join(" "),
            name = quote(&self.program),
            run = detached(&format!("\"$d\"/{}", quote(&self.program))),
        )
    }

    /// Ansible's message when the program is not found.
    fn not_found(&self) -> String {
        let paths: Vec<String> = self.search_paths.iter().map(|p| format!("'{p}'")).collect();
        format!(
            "Unable to find command \"{}\" in search paths: [{}]",
            self.program,
            paths.join(", ")
        )
    }
}

/// A text argument, or `None` when missing. Ansible refuses anything but a
/// string for the commands (`check_type_str` without conversion).
fn text(task: &Task, args: &Map<String, Json>, name: &str) -> Result<Option<String>, String> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{}: Invalid value given for '{name}': '{other}' is not a string and conversion is not allowed.",
            task.arg_origin(name)
        )),
    }
}

/// Reads the task's rendered arguments as Ansible's plugin does.
fn read_args(task: &Task, args: &Map<String, Json>) -> Result<Args, String> {
    // Ansible takes a negative delay as none.
    // As ansible-core's `_check_delay`: Python's `int()` of the value (a
    // number loses its fraction, as `-0.5` does), below 0 taken as 0.
    let delay = |name: &str| -> Result<u64, String> {
        match args.get(name) {
            Some(Json::Number(n)) if n.as_i64().is_some_and(|n| n < 0) => Ok(0),
            Some(Json::Number(n)) if !n.is_i64() && !n.is_u64() => {
                Ok(n.as_f64().map_or(0, |f| f.trunc().max(0.0) as u64))
            }
            Some(Json::String(s)) if s.trim().parse::<i64>().is_ok_and(|n| n < 0) => Ok(0),
            _ => whole_seconds(task, args, name, 0),
        }
    };
    let connect_timeout = match args.get("connect_timeout") {
        None | Some(Json::Null) => None,
        Some(_) => Some(whole_seconds(task, args, "connect_timeout", 0)?),
    };
    let search_paths = match args.get("search_paths") {
        None | Some(Json::Null) => SEARCH_PATHS.iter().map(|s| s.to_string()).collect(),
        Some(Json::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{}: 'search_paths' must be a string or flat list of strings, got {other}",
                    task.arg_origin("search_paths")
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "{}: 'search_paths' must be a string or flat list of strings, got {other}",
                task.arg_origin("search_paths")
            ))
        }
    };
    let command = match text(task, args, "reboot_command")? {
        Some(c) => {
            let (program, rest) = c.split_once(' ').unwrap_or((c.as_str(), ""));
            if program.is_empty() {
                return Err(format!(
                    "{}: Invalid value given for 'reboot_command': it names no command",
                    task.arg_origin("reboot_command")
                ));
            }
            RebootCommand {
                program: program.to_string(),
                args: rest.to_string(),
                search_paths,
            }
        }
        None => {
            let msg = match args.get("msg") {
                None | Some(Json::Null) => MESSAGE.to_string(),
                Some(Json::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            RebootCommand {
                program: SHUTDOWN.to_string(),
                args: format!("-r {} {}", delay("pre_reboot_delay")? / 60, quote(&msg)),
                search_paths,
            }
        }
    };
    // Ansible runs an empty `boot_time_command` as its default.
    let boot_time_command = text(task, args, "boot_time_command")?
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| BOOT_TIME_COMMAND.to_string());
    let test_command = match args.get("test_command") {
        None | Some(Json::Null) => TEST_COMMAND.to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    Ok(Args {
        boot_time_command,
        test_command,
        connect_timeout,
        reboot_timeout: whole_seconds(task, args, "reboot_timeout", REBOOT_TIMEOUT)?,
        post_reboot_delay: delay("post_reboot_delay")?,
        command,
    })
}

/// Ansible's pause after the `failures`-th failed attempt (from 0): 2^n
/// seconds, at most 12 (without its random fraction).
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(failures).min(MAX_FAIL_SLEEP))
}

/// A failed outcome with Ansible's keys, `extra` added.
fn failed(msg: String, extra: &[(&str, Json)]) -> ItemOutcome {
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    for (k, v) in extra {
        result.insert((*k).into(), v.clone());
    }
    result.insert("failed".into(), json!(true));
    result.insert("msg".into(), json!(msg));
    let mut o = ItemOutcome::new(Status::Failed, result);
    o.msg = Some(msg);
    o
}

impl HostRunner {
    /// Runs `reboot` for `task` (its loop variables in `layer`).
    pub(super) async fn reboot(
        &mut self,
        task: &Task,
        layer: &Vars,
        become_: &Option<String>,
        check: bool,
    ) -> Result<ItemOutcome, Stop> {
        if matches!(
            self.link().target.as_ref().map(|t| &t.kind),
            Some(TargetKind::Local)
        ) {
            let msg = format!(
                "Running {} with local connection would reboot the control node.",
                task.module
            );
            return Ok(failed(
                msg,
                &[("elapsed", json!(0)), ("rebooted", json!(false))],
            ));
        }
        if check {
            let mut result = Map::new();
            result.insert("changed".into(), json!(true));
            result.insert("elapsed".into(), json!(0));
            result.insert("rebooted".into(), json!(true));
            return Ok(ItemOutcome::new(Status::Changed, result));
        }
        let args = match self.with_resolver(task, layer, |h, r| h.render_args(r, task)) {
            Ok(Json::Object(m)) => m,
            Ok(_) => Map::new(),
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };
        let args = match read_args(task, &args) {
            Ok(a) => a,
            Err(msg) => return Ok(ItemOutcome::failed(msg)),
        };

        // The boot id before, over the open connection.
        let before = match self
            .remote_now(Phase::Apply, &args.boot_time_command, None, become_)
            .await
        {
            Ok(out) if out.status == 0 => out.stdout_lossy().trim().to_string(),
            Ok(out) => {
                let msg = format!(
                    "{}: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
                    task.module,
                    out.status,
                    out.stdout_lossy(),
                    out.stderr_lossy()
                );
                // Ansible's key, as its plugin spells it here.
                return Ok(failed(msg, &[("reboot", json!(false))]));
            }
            Err(Ok(msg)) => return Ok(failed(msg, &[("reboot", json!(false))])),
            Err(Err(stop)) => return Err(stop),
        };

        let ran = self
            .remote_now(Phase::Apply, &args.command.script(), None, become_)
            .await;
        let start = Instant::now();
        let why = match ran {
            Ok(out) if out.status == 0 => None,
            Ok(out) if out.status == 127 => Some(args.command.not_found()),
            Ok(out) => Some(format!(
                "Reboot command failed. Error was: '{}, {}'",
                out.stdout_lossy().trim(),
                out.stderr_lossy().trim()
            )),
            Err(Ok(msg)) => Some(msg),
            Err(Err(stop)) => return Err(stop),
        };
        if let Some(msg) = why {
            return Ok(failed(
                msg,
                &[("elapsed", json!(0)), ("rebooted", json!(false))],
            ));
        }
        // From here on the host may be anywhere in its reboot.
        self.link_mut().forget_host_state();
        tokio::time::sleep(Duration::from_secs(args.post_reboot_delay)).await;

        let waited = match self.wait_for_new_boot(&args, &before, become_).await? {
            Ok(()) => self.wait_for_test_command(&args, become_).await?,
            Err(e) => Err(e),
        };
        self.link_mut().forget_host_state();
        let elapsed = json!(start.elapsed().as_secs());
        if let Err(msg) = waited {
            // The connection of a failed attempt is no use to the next task.
            self.close_connection().await;
            return Ok(failed(
                msg,
                &[("elapsed", elapsed), ("rebooted", json!(true))],
            ));
        }
        let mut result = Map::new();
        result.insert("changed".into(), json!(true));
        result.insert("elapsed".into(), elapsed);
        result.insert("rebooted".into(), json!(true));
        Ok(ItemOutcome::new(Status::Changed, result))
    }

    /// Logs in afresh until the boot id is another than `before`. The inner
    /// `Err` is Ansible's timeout message.
    async fn wait_for_new_boot(
        &mut self,
        args: &Args,
        before: &str,
        become_: &Option<String>,
    ) -> Result<Result<(), String>, Stop> {
        let deadline = Instant::now() + Duration::from_secs(args.reboot_timeout);
        let mut failures = 0;
        while Instant::now() < deadline {
            if self.shared.interrupt.requested().is_some() {
                return Err(Stop::Interrupted);
            }
            let now = self
                .run_afresh(args.connect_timeout, &args.boot_time_command, become_)
                .await;
            match now {
                // Empty, as FreeBSD answers just before it goes down: not yet.
                Ok(out) if out.status == 0 => {
                    let id = out.stdout_lossy().trim().to_string();
                    if !id.is_empty() && id != before {
                        return Ok(Ok(()));
                    }
                }
                Ok(_) | Err(_) => {}
            }
            tokio::time::sleep(backoff(failures)).await;
            failures += 1;
        }
        Ok(Err(format!(
            "Timed out waiting for last boot time check (timeout={})",
            args.reboot_timeout
        )))
    }

    /// Runs `test_command` until it succeeds, over the connection the boot
    /// id came through, afresh after a failure to reach the host.
    async fn wait_for_test_command(
        &mut self,
        args: &Args,
        become_: &Option<String>,
    ) -> Result<Result<(), String>, Stop> {
        let deadline = Instant::now() + Duration::from_secs(args.reboot_timeout);
        let mut failures = 0;
        while Instant::now() < deadline {
            if self.shared.interrupt.requested().is_some() {
                return Err(Stop::Interrupted);
            }
            let ran: Result<Output, String> = if self.link().conn.is_some() {
                self.run_over_link(&args.test_command, become_).await
            } else {
                self.run_afresh(args.connect_timeout, &args.test_command, become_)
                    .await
            };
            // Ansible shows why an attempt failed only in its debug output.
            if matches!(ran, Ok(ref out) if out.status == 0) {
                return Ok(Ok(()));
            }
            tokio::time::sleep(backoff(failures)).await;
            failures += 1;
        }
        Ok(Err(format!(
            "Timed out waiting for post-reboot test command (timeout={})",
            args.reboot_timeout
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::playbook::{Inherited, TaskScope};

    /// A `reboot` task as the loader makes it.
    fn task() -> Task {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tasks.yml");
        std::fs::write(&path, "- reboot:\n").expect("write");
        let scope = TaskScope {
            role: None,
            base_dir: dir.path().to_path_buf(),
            playbook_dir: dir.path().to_path_buf(),
            inherited: Inherited::default(),
            depth: 0,
            files: Vec::new(),
            roles: None,
            action_groups: Default::default(),
            in_handlers: false,
            in_handler_block: false,
        };
        let mut tasks = crate::playbook::parse_tasks_file(&path, &scope).expect("parse");
        tasks.remove(0)
    }

    fn read(args: Json) -> Result<Args, String> {
        let Json::Object(m) = args else {
            panic!("not a mapping: {args}")
        };
        read_args(&task(), &m)
    }

    #[test]
    fn the_defaults_are_ansibles_linux_ones() {
        let a = read(json!({})).expect("args");
        assert_eq!(a.boot_time_command, "cat /proc/sys/kernel/random/boot_id");
        assert_eq!(a.test_command, "whoami");
        assert_eq!((a.reboot_timeout, a.post_reboot_delay), (600, 0));
        assert_eq!(a.connect_timeout, None);
        assert_eq!(a.command.program, "shutdown");
        assert_eq!(a.command.args, "-r 0 'Reboot initiated by Ansible'");
        assert_eq!(
            a.command.search_paths,
            ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"]
        );
    }

    #[test]
    fn the_delay_is_in_whole_minutes_and_the_message_quoted() {
        let a =
            read(json!({"pre_reboot_delay": "125", "msg": "it's $HOME", "post_reboot_delay": -3}))
                .expect("args");
        assert_eq!(a.command.args, format!("-r 2 {}", quote("it's $HOME")));
        assert_eq!(a.post_reboot_delay, 0);
    }

    /// ansible-core's reboot target gives fractions and negatives.
    #[test]
    fn delays_lose_their_fraction_and_are_never_negative() {
        let a = read(json!({"post_reboot_delay": -0.5, "pre_reboot_delay": -61})).expect("args");
        assert_eq!(a.post_reboot_delay, 0);
        assert_eq!(a.command.args, "-r 0 'Reboot initiated by Ansible'");
        let a = read(json!({"post_reboot_delay": 2.9})).expect("args");
        assert_eq!(a.post_reboot_delay, 2);
    }

    #[test]
    fn a_reboot_command_is_split_at_its_first_space() {
        let a = read(json!({
            "reboot_command": "systemd-run --on-active=2 /bin/systemctl reboot --force",
            "search_paths": "/opt/bin, /usr/bin",
            "connect_timeout": 10,
            "reboot_timeout": "60",
        }))
        .expect("args");
        assert_eq!(a.command.program, "systemd-run");
        assert_eq!(
            a.command.args,
            "--on-active=2 /bin/systemctl reboot --force"
        );
        assert_eq!(a.command.search_paths, ["/opt/bin", "/usr/bin"]);
        assert_eq!((a.connect_timeout, a.reboot_timeout), (Some(10), 60));
    }

    #[test]
    fn commands_must_be_text_and_timeouts_whole_seconds() {
        let e = read(json!({"boot_time_command": ["uptime"]})).expect_err("refused");
        assert!(
            e.contains("Invalid value given for 'boot_time_command'"),
            "{e}"
        );
        let e = read(json!({"reboot_command": 3})).expect_err("refused");
        assert!(
            e.contains("Invalid value given for 'reboot_command'"),
            "{e}"
        );
        let e = read(json!({"reboot_timeout": -1})).expect_err("refused");
        assert!(e.contains("not negative"), "{e}");
        let e = read(json!({"search_paths": [["/bin"]]})).expect_err("refused");
        assert!(e.contains("flat list of strings"), "{e}");
    }

    /// The script returns at once, and the program runs a second later with
    /// its arguments, found in the search paths; one found nowhere is 127.
    #[test]
    fn the_reboot_command_runs_detached_from_the_search_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        let log = dir.path().join("log");
        let fake = bin.join("shutdown");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf '%s|' \"$@\" > {}\n",
                quote(&log.to_string_lossy())
            ),
        )
        .expect("write");
        let chmod = std::process::Command::new("chmod")
            .arg("755")
            .arg(&fake)
            .status()
            .expect("chmod");
        assert!(chmod.success());
        let mut a = read(json!({"msg": "it's now"})).expect("args");
        a.command.search_paths = vec!["/nonexistent".into(), bin.to_string_lossy().into()];
        let run = |script: String| {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .expect("sh")
        };
        let started = Instant::now();
        let out = run(a.command.script());
        assert!(out.status.success(), "{out:?}");
        assert!(started.elapsed() < Duration::from_millis(900));
        assert!(!log.exists(), "ran before the command returned");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !log.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(100));
        let got = std::fs::read_to_string(&log).expect("the program ran");
        assert_eq!(got, "-r|0|it's now|");

        a.command.search_paths = vec!["/nonexistent".into()];
        assert_eq!(run(a.command.script()).status.code(), Some(127));
        assert_eq!(
            a.command.not_found(),
            "Unable to find command \"shutdown\" in search paths: ['/nonexistent']"
        );
    }
}
