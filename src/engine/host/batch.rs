//! Changes applied together: a host's planned changes travel in one remote
//! command instead of one each.
//!
//! A change whose effect is known when it is planned (a file, a line, a
//! directory, a user, a unit: an [`Action`] that fails by its exit status
//! alone, whatever else it reads of its output) is not run at once. It is
//! kept, with the tasks after it planned against what the host will be once
//! it ran (the paths it touches are forgotten, so a later task on the same
//! path asks again), and their outcomes wait with it. The kept changes run, in task order, at the front of the next remote
//! command the host needs anyway (a probe, a command, a module that reads
//! its output) or, when none comes, at the end of the task list. Each runs
//! in a subshell of its own behind a marker; the first that fails stops the
//! rest. Then the waiting outcomes are reported in order, exactly as they
//! would have been one by one: those before the failure as they were
//! planned, the failing one with its message, and nothing after it, which
//! never ran.
//!
//! Only a task whose failure stops the host may wait (no `ignore_errors`,
//! `register`, conditions, retries, check mode); another task on the host
//! carries what is kept in its own remote command, or sends it before it is
//! reported. A task that does something on the controller first (a local
//! module, delegation, `run_once`) sends it before it starts, and so do
//! block boundaries, so a failure is rescued by the block it happened in.
//! A loop's items wait like tasks, but one that fails does not stop the
//! items after it: the batch stops at the loop's end, as Ansible fails the
//! task after its last item.
//!
//! A file's bytes go through the same channel, each action reading exactly
//! its own (`head -c`), and every write still checks length and checksum
//! before it installs a file.

use std::collections::HashMap;
use std::time::Instant;

use rprov_transport::Output;
use serde_json::{json, Map, Value as Json};

use crate::modules::{Action, OutputMode};
use crate::playbook::{Task, Vars};
use crate::report::Phase;

use super::tasks::loop_outcome;

use super::*;

/// A task (or loop item) whose outcome waits for the kept changes to run.
pub(super) struct Deferred {
    task: Task,
    name: String,
    started: Instant,
    /// The change still to make; `None` for one that needed none.
    action: Option<Action>,
    waiting: Waiting,
    /// Where the task is in the play: its address and step (see
    /// `HostRunner::unreachable_at`).
    at: (usize, usize),
}

/// What waits, and what is done with it once the changes before it ran.
enum Waiting {
    /// A task's outcome as planned: reported and concluded (registered,
    /// counted, handlers notified).
    Task { outcome: ItemOutcome, extra: Vars },
    /// A loop item's: reported; its task concludes at its `LoopEnd`.
    Item(WaitingItem),
    /// The end of a loop some of whose items wait: its task concludes with
    /// every item's outcome (`None` where an item waited, filled in order
    /// from `HostRunner::loop_items`).
    LoopEnd {
        loop_id: u64,
        outcomes: Vec<Option<ItemOutcome>>,
        extra: Vars,
    },
}

/// A loop item that waits: its outcome as planned, its label, and what the
/// loop's `results` say of it besides (`item`, `ansible_loop_var`, …).
pub(super) struct WaitingItem {
    /// Which run of a loop task it belongs to (see `HostRunner::loop_items`).
    pub loop_id: u64,
    pub outcome: ItemOutcome,
    pub label: String,
    pub keys: Map<String, Json>,
    pub extra: Vars,
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

    /// Whether a waiting entry is a task of a role applied once per host
    /// under `key` (`RoleInstance::once_key`): that role ran a task.
    pub(super) fn has_role(&self, key: &str) -> bool {
        self.entries.iter().any(|d| {
            d.task
                .role
                .as_ref()
                .and_then(|r| r.once_key.as_deref())
                .is_some_and(|k| k == key)
        })
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
            && task.run_once_template.is_none()
            && !wait_connection::reconnects(task)
            && super::act::watched_timeout(task).is_none()
            && task.async_job.is_none()
            && task.async_template.is_none()
            && !self.is_delegated()
    }

    /// Whether `task` may also wait in the batch: it can be fused, its
    /// failure would stop the host, and its outcome changes nothing the
    /// next task reads (no `register`, conditions or retries). A loop's
    /// items may wait too: one that fails does not stop the others, as in
    /// Ansible, and the loop's task fails after its last.
    pub(super) fn batchable(&self, task: &Task) -> bool {
        self.fusable(task)
            && task.register.is_none()
            && task.changed_when.is_none()
            && task.failed_when.is_none()
            && task.until.is_none()
            && task.retries.is_none()
            && !task.ignore_errors
            && task.ignore_errors_template.is_none()
            && !task.any_errors_fatal
            && task.throttle == 0
            && task.throttle_template.is_none()
            && !self.effective_check(task)
    }

    /// Keeps `action` (a change just planned, to run as `become_`) for the
    /// batch when it can wait: the paths it touches are forgotten now, so
    /// the tasks after it plan against the host it will make. Gives the
    /// action back when it must run now.
    pub(super) fn stage(&mut self, action: Action, become_: &Option<String>) -> Option<Action> {
        let fits = self.staging
            && matches!(action.output, OutputMode::Checked | OutputMode::Parse(_))
            && !action.touches_everything
            && (self.batch.is_empty() || self.batch.become_ == *become_);
        if !fits {
            return Some(action);
        }
        self.link_mut().invalidate(&action);
        self.link_mut().learn_made(&action);
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
        let extra = extra.clone();
        self.wait(
            staged,
            task,
            name,
            started,
            Waiting::Task { outcome: o, extra },
        );
        Ok(None)
    }

    /// Puts a loop item in the batch (see `run_task_body`): with the change
    /// it kept, or behind the changes kept before it.
    pub(super) fn wait_for_item(
        &mut self,
        staged: Option<(Action, Option<String>)>,
        task: &Task,
        name: &str,
        started: Instant,
        item: WaitingItem,
    ) {
        self.wait(staged, task, name, started, Waiting::Item(item));
    }

    /// Puts the end of a loop some of whose items wait in the batch: the
    /// task concludes when they ran.
    pub(super) fn wait_for_loop(
        &mut self,
        task: &Task,
        name: &str,
        started: Instant,
        loop_id: u64,
        outcomes: Vec<Option<ItemOutcome>>,
        extra: Vars,
    ) {
        let waiting = Waiting::LoopEnd {
            loop_id,
            outcomes,
            extra,
        };
        self.wait(None, task, name, started, waiting);
    }

    /// A loop's item outcomes, those that waited filled in from what the
    /// batches they waited in found.
    pub(super) fn fill_loop(
        &mut self,
        loop_id: u64,
        outcomes: Vec<Option<ItemOutcome>>,
    ) -> Vec<ItemOutcome> {
        let mut ran = self.take_loop_items(loop_id).into_iter();
        outcomes
            .into_iter()
            .map(|o| {
                o.or_else(|| ran.next())
                    .unwrap_or_else(|| ItemOutcome::failed("the item's outcome was lost"))
            })
            .collect()
    }

    /// The outcomes of loop `loop_id`'s items that ran in a batch, in order.
    fn take_loop_items(&mut self, loop_id: u64) -> Vec<ItemOutcome> {
        let (mine, others) = std::mem::take(&mut self.loop_items)
            .into_iter()
            .partition::<Vec<_>, _>(|(id, _)| *id == loop_id);
        self.loop_items = others;
        mine.into_iter().map(|(_, o)| o).collect()
    }

    fn wait(
        &mut self,
        staged: Option<(Action, Option<String>)>,
        task: &Task,
        name: &str,
        started: Instant,
        waiting: Waiting,
    ) {
        let action = staged.map(|(action, become_)| {
            if self.batch.is_empty() {
                self.batch.become_ = become_;
            }
            action
        });
        self.batch.entries.push(Deferred {
            task: task.clone(),
            name: name.to_string(),
            started,
            action,
            waiting,
            at: (std::ptr::from_ref(task) as usize, self.steps),
        });
    }

    /// Sends the kept changes, if any, in one remote command of their own.
    pub(super) async fn flush_batch(&mut self) -> Result<(), Stop> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        match self.run_batch(batch, ":", None).await {
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
                return self.run_batch(batch, script, stdin).await;
            }
            self.run_batch(batch, ":", None).await?;
        }
        self.remote_now(phase, script, stdin, become_).await
    }

    /// The kept changes, then `script`, in one remote command; the waiting
    /// outcomes reported in order. `script`'s own output comes back. A host
    /// lost meanwhile was lost at the first task that waited.
    async fn run_batch(
        &mut self,
        batch: Batch,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<Output, Result<String, Stop>> {
        let first = batch.entries.first().map(|e| e.at);
        let ran = self.send_batch(batch, script, stdin).await;
        if let (Err(Err(Stop::Unreachable)), Some((address, step)), None) =
            (&ran, first, self.unreachable_at)
        {
            self.unreachable_at = Some((Some(address), step));
        }
        ran
    }

    async fn send_batch(
        &mut self,
        batch: Batch,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<Output, Result<String, Stop>> {
        self.nonce += 1;
        let marker = format!("RPROV-BATCH-{}x{}", std::process::id(), self.nonce);
        let mut input = Vec::new();
        let mut text = format!("_rp_bm='{marker}'; _rp_lf=0\n");
        for (k, e) in batch.entries.iter().enumerate() {
            match (&e.action, &e.waiting) {
                (Some(a), w) => {
                    let item = matches!(w, Waiting::Item(_));
                    text.push_str(&part(k, &a.script, a.stdin.as_deref(), item));
                    input.extend_from_slice(a.stdin.as_deref().unwrap_or_default());
                }
                (None, Waiting::LoopEnd { .. }) => text.push_str(&gate(k)),
                (None, _) => {}
            }
        }
        text.push_str(&format!(
            "printf '\\n%s end\\n' \"$_rp_bm\"; printf '\\n%s end\\n' \"$_rp_bm\" >&2\n{script}\n"
        ));
        input.extend_from_slice(stdin.unwrap_or_default());
        // The command makes changes: its time is the apply phase's, whatever
        // `script` does after them.
        let ran = self
            .remote_now(Phase::Apply, &text, Some(&input), &batch.become_)
            .await;
        let ran = match ran {
            Ok(out) => split(&marker, out),
            // sudo refused: nothing ran, the first change fails with that.
            Err(Ok(msg)) => Ran {
                reached: Reached::Failed(first_action(&batch), Err(msg)),
                own: empty(),
                parts: HashMap::new(),
            },
            Err(Err(stop)) => {
                let changed = batch.entries.iter().filter(|e| e.action.is_some());
                if let Some(msg) = lost(changed.map(|e| e.name.as_str())) {
                    self.shared.reporter.host_error(&self.name, &msg);
                }
                return Err(Err(stop));
            }
        };
        let stop = match &ran.reached {
            Reached::End => None,
            Reached::Failed(f, why) => Some((*f, why)),
        };
        for (k, e) in batch.entries.into_iter().enumerate() {
            let here = match stop {
                Some((f, _)) if k > f => break,
                Some((f, why)) if k == f => Some(why),
                _ => None,
            };
            match e.waiting {
                Waiting::Task { outcome, extra } => {
                    let o = match here {
                        Some(why) => failure(self, e.action, why),
                        None => self.settled(e.action, outcome, ran.parts.get(&k)),
                    };
                    self.finish_task(&e.task, &e.name, o, Some(&extra), e.started)
                        .map_err(Err)?;
                }
                Waiting::Item(item) => {
                    let mut o = match (here, ran.parts.get(&k)) {
                        (Some(why), _) => failure(self, e.action, why),
                        (None, Some(out)) if out.status != 0 => {
                            failure(self, e.action, &Ok(out.clone()))
                        }
                        (None, out) => self.settled(e.action, item.outcome, out),
                    };
                    o.result.extend(item.keys);
                    self.report(&e.task, &e.name, Some(&item.label), &o, e.started);
                    self.loop_items.push((item.loop_id, o));
                    if here.is_some() {
                        // Cut short inside the loop: it ends here, failed.
                        let o = loop_outcome(self.take_loop_items(item.loop_id));
                        self.conclude(&e.task, o, Some(&item.extra)).map_err(Err)?;
                    }
                }
                Waiting::LoopEnd {
                    loop_id,
                    outcomes,
                    extra,
                } => {
                    let o = loop_outcome(self.fill_loop(loop_id, outcomes));
                    self.conclude(&e.task, o, Some(&extra)).map_err(Err)?;
                }
            }
        }
        match ran.reached {
            Reached::End => Ok(ran.own),
            // The failed change's task stopped the host above.
            Reached::Failed(..) => Err(Err(Stop::Failed)),
        }
    }

    /// The outcome of a change that ran in the batch: as planned, or, for
    /// an action that reads its output (a file's stat after it is written,
    /// apt's count of what it did), what its own output says.
    fn settled(
        &self,
        action: Option<Action>,
        planned: ItemOutcome,
        out: Option<&Output>,
    ) -> ItemOutcome {
        match (action, out) {
            (Some(a), Some(out)) if matches!(a.output, OutputMode::Parse(_)) => {
                let mut o = self.outcome_of(a, out.clone());
                o.diffs = planned.diffs;
                o
            }
            _ => planned,
        }
    }
}

/// What a batch's output says.
struct Ran {
    reached: Reached,
    /// The output of the script after the kept changes (when it ran).
    own: Output,
    /// Each change's own output, by entry: with status 0, or a loop item's
    /// own status.
    parts: HashMap<usize, Output>,
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
/// its `set -e` holds. A loop `item`'s failure does not stop the batch: its
/// status is printed and noted for its loop's [`gate`].
fn part(k: usize, script: &str, stdin: Option<&[u8]>, item: bool) -> String {
    // Not `… || exit`: that would turn off the script's own `set -e`. A part
    // without input gets none, and never drains the parts after it.
    let run = match stdin {
        Some(b) => format!(
            "head -c {} | ( (\n{script}\n); _rp_br=$?; cat >/dev/null; exit $_rp_br )",
            b.len()
        ),
        None => format!("(\n{script}\n) </dev/null"),
    };
    let after = if item {
        format!(
            "_rp_br=$?; printf '\\n%s {k}=%s\\n' \"$_rp_bm\" \"$_rp_br\"; \
             printf '\\n%s {k}=%s\\n' \"$_rp_bm\" \"$_rp_br\" >&2; \
             [ \"$_rp_br\" -eq 0 ] || _rp_lf=$_rp_br\n"
        )
    } else {
        "_rp_br=$?; [ \"$_rp_br\" -eq 0 ] || exit \"$_rp_br\"\n".to_string()
    };
    format!("{}{run}\n{after}", begin(k))
}

/// The end of a loop (entry `k`): the batch stops here when one of its
/// items failed.
fn gate(k: usize) -> String {
    format!("{}[ \"$_rp_lf\" -eq 0 ] || exit \"$_rp_lf\"\n", begin(k))
}

/// The marker that entry `k` begins, on stdout and stderr.
fn begin(k: usize) -> String {
    format!("printf '\\n%s {k}\\n' \"$_rp_bm\"; printf '\\n%s {k}\\n' \"$_rp_bm\" >&2\n")
}

/// What to say of a batch whose command lost the connection: which tasks'
/// changes were in it (`changed`, in order; a loop's items share a name),
/// since each may or may not have been made (a file is the old one or the
/// new one, never torn). `None` when it held no change.
fn lost<'a>(changed: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for name in changed {
        if names.last() != Some(&name) {
            names.push(name);
        }
    }
    let listed = match names.as_slice() {
        [] => return None,
        [one] => format!("`{one}`"),
        [first, .., last] => format!("{} tasks, `{first}` to `{last}`", names.len()),
    };
    Some(format!(
        "the connection was lost while the changes of {listed} were being made in one remote command; \
         some may have been made (a file is the old one or the new one, never torn): run again to see which"
    ))
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

/// Where the batch stopped, the script's own output (what follows the `end`
/// marker) when it got there, and each loop item's status. Output cut short
/// of any marker (the script never started) is the first change's failure.
fn split(marker: &str, out: Output) -> Ran {
    let stdout = segments(marker, &out.stdout);
    let stderr = segments(marker, &out.stderr);
    let own = |token: &str, segs: &[(String, Vec<u8>)]| {
        segs.iter()
            .rfind(|(t, _)| t == token)
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    };
    let part = |k: &str, status: i32| Output {
        status,
        stdout: own(k, &stdout),
        stderr: own(k, &stderr),
    };
    // An item's `k=rc` marker follows its `k`: its status replaces the 0.
    let mut parts = HashMap::new();
    for (t, _) in &stdout {
        let (k, rc) = t.split_once('=').unwrap_or((t, "0"));
        if let (Ok(n), Ok(rc)) = (k.parse::<usize>(), rc.parse::<i32>()) {
            parts.insert(n, part(k, rc));
        }
    }
    // A part that exits 0 never stops the batch: output cut short after its
    // marker is a failure all the same.
    let status = if out.status == 0 { 1 } else { out.status };
    let last = stdout.last().map(|(t, _)| t.clone());
    let reached = match last.as_deref() {
        Some("end") => {
            let own = part("end", out.status);
            return Ran {
                reached: Reached::End,
                own,
                parts,
            };
        }
        Some(t) => {
            let k = t.split('=').next().unwrap_or(t);
            Reached::Failed(k.parse().unwrap_or(0), Ok(part(k, status)))
        }
        None => Reached::Failed(0, Ok(Output { status, ..out })),
    };
    Ran {
        reached,
        own: empty(),
        parts,
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
        let Ran {
            reached,
            own,
            parts,
        } = split("M", o);
        assert_eq!(reached, Reached::End);
        // Each change's own output, read by a module that parses it.
        assert_eq!(parts[&0], out(0, "noise", ""));
        assert_eq!(parts[&1].stdout, b"");
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
        let reached = split("M", o).reached;
        assert_eq!(
            reached,
            Reached::Failed(3, Ok(out(2, "half", "no space left\n")))
        );
    }

    #[test]
    fn output_without_markers_fails_the_first_change() {
        let reached = split("M", out(0, "", "rprov: the script arrived incomplete\n")).reached;
        assert_eq!(
            reached,
            Reached::Failed(0, Ok(out(1, "", "rprov: the script arrived incomplete\n")))
        );
    }

    /// Runs `script` with `sh`, `input` on its stdin, `$D` a fresh directory.
    fn sh(script: &str, input: &[u8]) -> (tempfile::TempDir, Output) {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = rprov_transport::quote(&dir.path().display().to_string());
        let done = crate::modules::testing::run_sh(&format!("D={d}\n{script}"), input);
        let out = Output {
            status: done.status.code().unwrap_or(-1),
            stdout: done.stdout,
            stderr: done.stderr,
        };
        (dir, out)
    }

    /// A loop item that fails lets the next items run, then its loop's gate
    /// stops the batch; each item's status comes back.
    #[test]
    fn a_failed_item_stops_the_batch_at_its_loop_end() {
        let script = format!(
            "_rp_bm='M'; _rp_lf=0\n{}{}{}{}{}printf '\\n%s end\\n' \"$_rp_bm\"\n",
            part(0, "cat > \"$D/a\"", Some(b"alpha"), true),
            part(1, "echo no >&2; exit 3", None, true),
            part(2, "cat > \"$D/c\"", Some(b"gamma"), true),
            gate(3),
            part(4, "touch \"$D/after\"", None, false),
        );
        let (dir, done) = sh(&script, b"alphagamma");
        assert_eq!(done.status, 3);
        assert!(
            dir.path().join("c").exists(),
            "the item after the failed one ran"
        );
        assert!(
            !dir.path().join("after").exists(),
            "the task after the loop ran"
        );
        let ran = split("M", done);
        assert_eq!(ran.reached, Reached::Failed(3, Ok(out(3, "", ""))));
        assert_eq!(ran.parts[&0].status, 0);
        assert_eq!(ran.parts[&1], out(3, "", "no\n"));
        assert_eq!(ran.parts[&2].status, 0);
    }

    /// A lost connection names the tasks whose changes were in flight.
    #[test]
    fn a_lost_batch_names_its_tasks() {
        assert_eq!(lost([].into_iter()), None);
        let one = lost(["conf", "conf"].into_iter()).unwrap();
        assert!(one.contains("of `conf` were"), "{one}");
        let many = lost(["a", "b", "b", "c"].into_iter()).unwrap();
        assert!(many.contains("of 3 tasks, `a` to `c`"), "{many}");
        assert!(many.contains("command; some may"), "{many}");
        assert!(many.contains("run again"), "{many}");
    }

    /// The batch script itself, run by `sh`: each part reads exactly its
    /// own bytes, a part that reads none of them leaves the next its own,
    /// a script's `set -e` holds, and a failing part stops the rest.
    #[test]
    fn parts_share_stdin_and_the_first_failure_stops_the_rest() {
        let script = format!(
            "_rp_bm='M'\n{}{}{}{}{}{}printf '\\n%s end\\n' \"$_rp_bm\"\ncat\n",
            part(0, "cat > \"$D/a\"", Some(b"alpha"), false),
            part(1, "true", Some(b"ignored"), false),
            part(2, "cat > \"$D/b\"", None, false),
            part(3, "cat > \"$D/c\"", Some(b"gamma"), false),
            part(4, "set -e; false; echo survived > \"$D/e\"", None, false),
            part(5, "echo broken >&2; exit 7", None, false),
        );
        let (dir, done) = sh(&script, b"alphaignoredgammarest");
        assert_eq!(done.status, 1);
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect(f);
        assert_eq!(read("a"), "alpha");
        assert_eq!(read("b"), "", "a part without input read the next one's");
        assert_eq!(read("c"), "gamma");
        // The script's `set -e` stopped it, and the batch, there.
        assert!(!dir.path().join("e").exists());
        let reached = split("M", done).reached;
        assert_eq!(reached, Reached::Failed(4, Ok(out(1, "", ""))));
    }
}
