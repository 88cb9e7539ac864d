//! Changes applied together: a host's planned changes travel in one remote
//! command instead of one each.
//!
//! A change whose effect is known when it is planned (a file, a line, a
//! directory, a user, a unit: an [`Action`] read by exit status alone) is
//! not run at once. It is kept, with the tasks after it planned against
//! what the host will be once it ran (the paths it touches are forgotten, so
//! a later task on the same path asks again), and their outcomes wait with
//! it. The kept changes run, in task order, at the front of the next remote
//! command the host needs anyway (a probe, a command, a module that reads
//! its output) or, when none comes, at the end of the task list. Each runs
//! in a subshell of its own behind a marker; the first that fails stops the
//! rest. Then the waiting outcomes are reported in order, exactly as they
//! would have been one by one: those before the failure as they were
//! planned, the failing one with its message, and nothing after it, which
//! never ran.
//!
//! Only a task whose failure stops the host may wait (no `ignore_errors`,
//! `register`, conditions, loop, check mode); another task on the host
//! carries what is kept in its own remote command, or sends it before it is
//! reported. A task that does something on the controller first (a local
//! module, delegation, `run_once`) sends it before it starts, and so do
//! block boundaries, so a failure is rescued by the block it happened in. A file's bytes go through
//! the same channel, each action reading exactly its own (`head -c`), and
//! every write still checks length and checksum before it installs a file.

use std::time::Instant;

use rprov_transport::Output;
use serde_json::json;

use crate::modules::{Action, OutputMode};
use crate::playbook::{Task, Vars};
use crate::report::Phase;

use super::*;

/// A task whose outcome waits for the kept changes to run.
pub(super) struct Deferred {
    task: Task,
    name: String,
    extra: Vars,
    started: Instant,
    /// The outcome as planned: what is reported when the change (if any)
    /// succeeds.
    outcome: ItemOutcome,
    /// The change still to make; `None` for a task that needed none.
    action: Option<Action>,
}

/// The changes kept for one remote command, as one sudo user.
#[derive(Default)]
pub(super) struct Batch {
    become_: Option<String>,
    entries: Vec<Deferred>,
}

impl Batch {
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl HostRunner {
    /// Whether `task` may carry the kept changes in its own remote command:
    /// it runs on this host, and nothing of it happens on the controller
    /// before it reaches the host (no local module, delegation, block or
    /// `run_once`). Any other task sends them first.
    pub(super) fn fusable(&self, task: &Task) -> bool {
        task.block.is_none()
            && local::find(&task.module).is_none()
            && task.delegate_to.is_none()
            && !task.delegate_local
            && !local::runs_once(task)
            && task.module != "wait_for_connection"
            && !self.is_delegated()
    }

    /// Whether `task` may also wait in the batch: it can be fused, its
    /// failure would stop the host, and its outcome changes nothing the
    /// next task reads (no `register`, conditions, retries or loop).
    pub(super) fn batchable(&self, task: &Task) -> bool {
        self.fusable(task)
            && task.loop_items.is_none()
            && task.register.is_none()
            && task.changed_when.is_none()
            && task.failed_when.is_none()
            && task.until.is_none()
            && !task.ignore_errors
            && !task.any_errors_fatal
            && task.throttle == 0
            && !self.effective_check(task)
    }

    /// Keeps `action` (a change just planned, to run as `become_`) for the
    /// batch when it can wait: the paths it touches are forgotten now, so
    /// the tasks after it plan against the host it will make. Gives the
    /// action back when it must run now.
    pub(super) fn stage(&mut self, action: Action, become_: &Option<String>) -> Option<Action> {
        let fits = self.staging
            && matches!(action.output, OutputMode::Checked)
            && !action.touches_everything
            && (self.batch.is_empty() || self.batch.become_ == *become_);
        if !fits {
            return Some(action);
        }
        self.invalidate(&action);
        self.learn_made(&action);
        self.staged = Some((action, become_.clone()));
        None
    }

    /// Puts the outcome of a task in the batch when it must wait: it kept a
    /// change, or it is `batchable`, changes kept before it have not run
    /// yet and it needed nothing of the host. Gives the outcome back when
    /// the task is done (the batch, if any, has been sent).
    pub(super) async fn defer(
        &mut self,
        batchable: bool,
        task: &Task,
        name: &str,
        o: ItemOutcome,
        extra: &Vars,
        started: Instant,
    ) -> Result<Option<ItemOutcome>, Stop> {
        let staged = self.staged.take();
        let waits = match &staged {
            Some(_) => true,
            // A failure stops the host: the kept changes run first, and the
            // failure is reported after them.
            None => {
                batchable
                    && !self.batch.is_empty()
                    && matches!(o.status, Status::Ok | Status::Skipped)
            }
        };
        if !waits {
            self.flush_batch().await?;
            return Ok(Some(o));
        }
        let action = staged.map(|(action, become_)| {
            if self.batch.is_empty() {
                self.batch.become_ = become_;
            }
            action
        });
        self.batch.entries.push(Deferred {
            task: task.clone(),
            name: name.to_string(),
            extra: extra.clone(),
            started,
            outcome: o,
            action,
        });
        Ok(None)
    }

    /// Sends the kept changes, if any, in one remote command of their own.
    pub(super) async fn flush_batch(&mut self) -> Result<(), Stop> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        match self.run_batch(batch, Phase::Apply, ":", None).await {
            Ok(_) => Ok(()),
            Err(Err(stop)) => Err(stop),
            // `run_batch` reports sudo's refusal as the first change's.
            Err(Ok(_)) => Err(Stop::Failed),
        }
    }

    /// Runs `script` on the host, after the kept changes when there are any
    /// (in the same remote command when they are the same sudo user's).
    /// Errors as [`HostRunner::remote_now`]; a kept change that failed stops
    /// the host before `script` runs.
    pub(super) async fn remote(
        &mut self,
        phase: Phase,
        script: &str,
        stdin: Option<&[u8]>,
        become_: &Option<String>,
    ) -> Result<Output, Result<String, Stop>> {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            if batch.become_ == *become_ {
                return self.run_batch(batch, phase, script, stdin).await;
            }
            self.run_batch(batch, Phase::Apply, ":", None).await?;
        }
        self.remote_now(phase, script, stdin, become_).await
    }

    /// The kept changes, then `script`, in one remote command; the waiting
    /// outcomes reported in order. `script`'s own output comes back.
    async fn run_batch(
        &mut self,
        batch: Batch,
        phase: Phase,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<Output, Result<String, Stop>> {
        self.nonce += 1;
        let marker = format!("RPROV-BATCH-{}x{}", std::process::id(), self.nonce);
        let mut input = Vec::new();
        let mut text = format!("_rp_bm='{marker}'\n");
        for (k, e) in batch.entries.iter().enumerate() {
            let Some(a) = &e.action else { continue };
            text.push_str(&part(k, &a.script, a.stdin.as_deref()));
            input.extend_from_slice(a.stdin.as_deref().unwrap_or_default());
        }
        text.push_str(&format!(
            "printf '\\n%s end\\n' \"$_rp_bm\"; printf '\\n%s end\\n' \"$_rp_bm\" >&2\n{script}\n"
        ));
        input.extend_from_slice(stdin.unwrap_or_default());
        let ran = self
            .remote_now(phase, &text, Some(&input), &batch.become_)
            .await;
        let (reached, out) = match ran {
            Ok(out) => {
                let (reached, out) = split(&marker, out);
                (reached, Some(out))
            }
            // sudo refused: nothing ran, the first change fails with that.
            Err(Ok(msg)) => (Reached::Failed(first_action(&batch), Err(msg)), None),
            Err(Err(stop)) => return Err(Err(stop)),
        };
        for (k, e) in batch.entries.into_iter().enumerate() {
            let o = match &reached {
                Reached::Failed(f, _) if k > *f => break,
                Reached::Failed(f, why) if k == *f => failure(self, e.action, why),
                _ => e.outcome,
            };
            self.finish_task(&e.task, &e.name, o, Some(&e.extra), e.started)
                .map_err(Err)?;
        }
        match (reached, out) {
            (Reached::End, Some(out)) => Ok(out),
            // `finish_task` of the failed change stopped the host above.
            _ => Err(Err(Stop::Failed)),
        }
    }
}

/// How far a batch got.
#[derive(Debug, PartialEq)]
enum Reached {
    /// Every kept change ran; the script after them too.
    End,
    /// The change of entry `.0` failed (with its own output, or sudo's
    /// refusal): nothing after it ran.
    Failed(usize, Result<Output, String>),
}

/// The shell text that runs one kept change (entry `k`) behind its marker:
/// in a subshell reading exactly its own bytes of stdin (what it leaves
/// unread is drained, so the next change starts at its own), stopping the
/// batch with its status when it fails. The script runs as it would alone:
/// its `set -e` holds.
fn part(k: usize, script: &str, stdin: Option<&[u8]>) -> String {
    // Not `… || exit`: that would turn off the script's own `set -e`. A part
    // without input gets none, and never drains the parts after it.
    let run = match stdin {
        Some(b) => format!(
            "head -c {} | ( (\n{script}\n); _rp_br=$?; cat >/dev/null; exit $_rp_br )",
            b.len()
        ),
        None => format!("(\n{script}\n) </dev/null"),
    };
    format!(
        "printf '\\n%s {k}\\n' \"$_rp_bm\"; printf '\\n%s {k}\\n' \"$_rp_bm\" >&2\n\
         {run}\n\
         _rp_br=$?; [ \"$_rp_br\" -eq 0 ] || exit \"$_rp_br\"\n"
    )
}

fn first_action(batch: &Batch) -> usize {
    batch
        .entries
        .iter()
        .position(|e| e.action.is_some())
        .unwrap_or(0)
}

/// The failed entry's outcome, as running its action alone would have
/// given it.
fn failure(h: &HostRunner, action: Option<Action>, why: &Result<Output, String>) -> ItemOutcome {
    let mut o = match (action, why) {
        (Some(a), Ok(out)) => h.outcome_of(a, out.clone()),
        (_, Err(msg)) => ItemOutcome::failed(msg.clone()),
        (None, Ok(out)) => {
            ItemOutcome::failed(format!("the batch stopped with exit status {}", out.status))
        }
    };
    o.result.entry("failed").or_insert(json!(true));
    super::act::note_exception(&mut o);
    o
}

/// Where the batch stopped, and the script's own output (what follows the
/// `end` marker) when it got there. Output cut short of any marker (the
/// script never started) is the first change's failure.
fn split(marker: &str, out: Output) -> (Reached, Output) {
    let stdout = segments(marker, &out.stdout);
    let stderr = segments(marker, &out.stderr);
    let own = |token: &str, segs: &[(String, Vec<u8>)]| {
        segs.iter()
            .rfind(|(t, _)| t == token)
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    };
    let last = stdout.last().map(|(t, _)| t.clone());
    match last.as_deref() {
        Some("end") => {
            let out = Output {
                status: out.status,
                stdout: own("end", &stdout),
                stderr: own("end", &stderr),
            };
            (Reached::End, out.clone())
        }
        Some(k) => {
            let failed = Output {
                // A part that exits 0 never stops the batch: output cut
                // short after its marker is a failure all the same.
                status: if out.status == 0 { 1 } else { out.status },
                stdout: own(k, &stdout),
                stderr: own(k, &stderr),
            };
            let f = k.parse().unwrap_or(0);
            (Reached::Failed(f, Ok(failed)), empty())
        }
        None => {
            let status = if out.status == 0 { 1 } else { out.status };
            let failed = Output { status, ..out };
            (Reached::Failed(0, Ok(failed)), empty())
        }
    }
}

fn empty() -> Output {
    Output {
        status: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
    }
}

/// The parts of `buf` behind each `\n<marker> <token>\n` line, by token, up
/// to the `end` marker's, which runs to the end.
fn segments(marker: &str, buf: &[u8]) -> Vec<(String, Vec<u8>)> {
    let head = format!("\n{marker} ");
    let head = head.as_bytes();
    let mut found: Vec<(String, usize, usize)> = Vec::new();
    let mut at = 0;
    while let Some(pos) = find(&buf[at..], head) {
        let start = at + pos;
        let token_from = start + head.len();
        let Some(nl) = buf[token_from..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let token = String::from_utf8_lossy(&buf[token_from..token_from + nl]).into_owned();
        let end = token == "end";
        found.push((token, start, token_from + nl + 1));
        at = token_from + nl + 1;
        // What follows `end` is the script's own, markers or not.
        if end {
            break;
        }
    }
    (0..found.len())
        .map(|i| {
            let end = found.get(i + 1).map_or(buf.len(), |n| n.1);
            (found[i].0.clone(), buf[found[i].2..end].to_vec())
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(status: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_script_after_the_batch_keeps_its_own_output() {
        let o = out(
            3,
            "\nM 0\nnoise\nM 1\n\nM end\nmine\nM 2 not a marker\n",
            "\nM 0\n\nM end\nerr\n",
        );
        let (reached, own) = split("M", o);
        assert_eq!(reached, Reached::End);
        assert_eq!(own.stdout, b"mine\nM 2 not a marker\n");
        assert_eq!(own.stderr, b"err\n");
        assert_eq!(own.status, 3);
    }

    #[test]
    fn a_failed_part_gives_its_own_output_and_status() {
        let o = out(
            2,
            "\nM 0\n\nM 3\nhalf",
            "\nM 0\nwarn\n\nM 3\nno space left\n",
        );
        let (reached, _) = split("M", o);
        assert_eq!(
            reached,
            Reached::Failed(3, Ok(out(2, "half", "no space left\n")))
        );
    }

    #[test]
    fn output_without_markers_fails_the_first_change() {
        let (reached, _) = split("M", out(0, "", "rprov: the script arrived incomplete\n"));
        assert_eq!(
            reached,
            Reached::Failed(0, Ok(out(1, "", "rprov: the script arrived incomplete\n")))
        );
    }

    /// The batch script itself, run by `sh`: each part reads exactly its
    /// own bytes, a part that reads none of them leaves the next its own,
    /// a script's `set -e` holds, and a failing part stops the rest.
    #[test]
    fn parts_share_stdin_and_the_first_failure_stops_the_rest() {
        use std::io::Write;
        let script = format!(
            "_rp_bm='M'\n{}{}{}{}{}{}printf '\\n%s end\\n' \"$_rp_bm\"\ncat\n",
            part(0, "cat > \"$D/a\"", Some(b"alpha")),
            part(1, "true", Some(b"ignored")),
            part(2, "cat > \"$D/b\"", None),
            part(3, "cat > \"$D/c\"", Some(b"gamma")),
            part(4, "set -e; false; echo survived > \"$D/e\"", None),
            part(5, "echo broken >&2; exit 7", None),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("D", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"alphaignoredgammarest")
            .expect("write");
        let done = child.wait_with_output().expect("wait");
        assert_eq!(done.status.code(), Some(1));
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect(f);
        assert_eq!(read("a"), "alpha");
        assert_eq!(read("b"), "", "a part without input read the next one's");
        assert_eq!(read("c"), "gamma");
        let (reached, _) = split(
            "M",
            out(
                1,
                &String::from_utf8_lossy(&done.stdout),
                &String::from_utf8_lossy(&done.stderr),
            ),
        );
        // The script's `set -e` stopped it, and the batch, there.
        assert!(!dir.path().join("e").exists());
        assert_eq!(reached, Reached::Failed(4, Ok(out(1, "", ""))));
    }
}
