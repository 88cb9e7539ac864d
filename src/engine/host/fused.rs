//! A command and the probe after it, in one remote command.
//!
//! A `command` (or `shell`) may change anything, so every fact known about
//! the host is forgotten once it ran, and the next task would need a probe
//! round trip of its own. Instead, the probes the following tasks will ask
//! for (with nothing known, the look-ahead names them all) travel in the same
//! script, after the command: one round trip where there were two. The
//! command runs in a subshell with its output in files, so what it prints is
//! given back byte for byte, apart from the probe's.
//!
//! Only the login user's or the command's own sudo user's probes are fused
//! (a nested sudo part is left to the next probe), and only for a task run
//! once (no loop, no `until`): a command run again would make the probe
//! stale at once.

use rprov_transport::Output;

use super::super::lookahead;
use super::*;
use crate::modules::Action;
use crate::playbook::Task;
use crate::probe::{self, Probe};

impl HostRunner {
    /// Runs `action` (a command) followed by the probes of the tasks after
    /// `tasks[i]`, and caches what they found. Falls back to the command on
    /// its own when there is nothing to probe.
    pub(super) async fn run_fused(
        &mut self,
        action: Action,
        become_: &Option<String>,
        tasks: &[Task],
        i: usize,
        rest: Rest<'_>,
    ) -> Result<ItemOutcome, Stop> {
        // The command may change anything: nothing known holds after it, so
        // the look-ahead names every probe the next tasks need.
        self.link_mut().invalidate(&action);
        let noted = self.refusals.take();
        let probes: Vec<Probe> = lookahead::collect(self, tasks, i + 1, rest)
            .into_iter()
            .filter(|(user, _)| user == become_)
            .map(|(_, p)| p)
            .collect();
        self.refusals.replace(noted);
        if probes.is_empty() {
            return self.run_action(action, become_).await;
        }
        self.nonce += 1;
        let nonce = format!("{}x{}", std::process::id(), self.nonce);
        let script = fused_script(&action.script, &probe::script(&probes, &nonce));
        let started = (std::time::SystemTime::now(), std::time::Instant::now());
        let out = match self
            .remote(Phase::Apply, &script, action.stdin.as_deref(), become_)
            .await
        {
            Ok(o) => o,
            Err(Ok(msg)) => return Ok(ItemOutcome::failed(msg)),
            Err(Err(stop)) => return Err(stop),
        };
        let status = out.status;
        let stderr = out.stderr_lossy();
        let Some((command, probe_stdout)) = split(out) else {
            // The script itself was stopped: the transport says why when it
            // knows (a signal), else the output was cut short.
            let why = stderr
                .lines()
                .rfind(|l| l.starts_with("rprov: "))
                .map(|l| l.trim_start_matches("rprov: ").to_string())
                .unwrap_or_else(|| match status {
                    129..=192 => format!(
                        "the command was killed by signal {} on the host (out of memory, or a kill)",
                        status - 128
                    ),
                    _ => format!("the command's output came back incomplete (exit status {status})"),
                });
            let mut o = ItemOutcome::failed(why);
            o.result.insert("rc".into(), serde_json::json!(status));
            return Ok(o);
        };
        // A probe part that failed is only not cached: the next task asks again.
        if let Ok(facts) = probe::parse(&probes, &nonce, &String::from_utf8_lossy(&probe_stdout)) {
            self.store(become_, facts);
        }
        Ok(self.timed_outcome_of(action, command, started))
    }
}

/// Whether the command of `task` may carry the next probe.
pub(super) fn can_fuse(task: &Task) -> bool {
    task.loop_items.is_none() && task.until.is_none() && task.retries.is_none()
}

/// The command in a subshell, its status and output saved; then a header
/// line (`STATUS STDOUT-LENGTH`) and its stdout on stdout, its stderr's length
/// and its stderr on stderr; then the probe.
fn fused_script(command: &str, probe: &str) -> String {
    format!(
        "_rp_fd=$(mktemp -d) || exit 125\n\
         trap 'rm -rf \"$_rp_fd\"' EXIT\n\
         (\n{command}\n) >\"$_rp_fd/o\" 2>\"$_rp_fd/e\"\n\
         _rp_frc=$?\n\
         printf '%s %s\\n' \"$_rp_frc\" \"$(wc -c < \"$_rp_fd/o\")\"\n\
         cat \"$_rp_fd/o\"\n\
         printf '%s\\n' \"$(wc -c < \"$_rp_fd/e\")\" >&2\n\
         cat \"$_rp_fd/e\" >&2\n\
         {probe}\n"
    )
}

/// Splits the fused script's output into the command's own output and the
/// probe's stdout. `None` when the headers are missing or short.
fn split(out: Output) -> Option<(Output, Vec<u8>)> {
    let (status, stdout, rest) = {
        let nl = out.stdout.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&out.stdout[..nl]).ok()?;
        let (rc, len) = header.trim().split_once(' ')?;
        let (rc, len): (i32, usize) = (rc.parse().ok()?, len.trim().parse().ok()?);
        let body = out.stdout.get(nl + 1..nl + 1 + len)?.to_vec();
        (rc, body, out.stdout.get(nl + 1 + len..)?.to_vec())
    };
    let stderr = {
        let nl = out.stderr.iter().position(|&b| b == b'\n')?;
        let len: usize = std::str::from_utf8(&out.stderr[..nl])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        out.stderr.get(nl + 1..nl + 1 + len)?.to_vec()
    };
    Some((
        Output {
            status,
            stdout,
            stderr,
        },
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a fused script with this machine's `sh`.
    fn run(command: &str, probe: &str, input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(fused_script(command, probe))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        let _ = child.stdin.take().expect("stdin").write_all(input);
        let out = child.wait_with_output().expect("wait");
        Output {
            status: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    #[test]
    fn the_command_output_comes_back_byte_for_byte_then_the_probe() {
        let out = run(
            "printf 'a\\nb'; printf 'oops\\n\\n' >&2; cat; exit 3",
            "echo probed; echo probe-err >&2",
            b"in\0put",
        );
        let (cmd, probe) = split(out).expect("split");
        assert_eq!(cmd.status, 3);
        assert_eq!(cmd.stdout, b"a\nbin\0put");
        assert_eq!(cmd.stderr, b"oops\n\n");
        assert_eq!(probe, b"probed\n");
    }

    #[test]
    fn an_exit_or_set_e_in_the_command_stays_in_it() {
        let (cmd, probe) =
            split(run("set -e; false; echo never", "echo probed", b"")).expect("split");
        assert_eq!(cmd.status, 1);
        assert!(cmd.stdout.is_empty());
        assert_eq!(probe, b"probed\n");
    }

    #[test]
    fn a_cut_output_is_not_mistaken_for_a_result() {
        let out = Output {
            status: 0,
            stdout: b"0 10\nshort".to_vec(),
            stderr: b"0\n".to_vec(),
        };
        assert!(split(out).is_none());
    }
}
