//! `--start-at-task NAME`: skip every task before the first one named NAME,
//! as ansible-playbook does.
//!
//! ansible-core decides it when a play's iterator is built
//! (`executor/play_iterator.py`): it walks each host's tasks, without
//! running them, to the first whose name, or `role : name` (the module for
//! an unnamed task), is NAME or matches it as an `fnmatch` glob. The tasks
//! before it never run; facts are still gathered in that play. A play in
//! which no task matches runs nothing at all, and once one play matched the
//! later plays, and the later `serial` batches of that play, run whole. The
//! walk follows only what is there before the run: tasks that a dynamic
//! include would bring cannot be started at. No match in any play is an
//! error message at the end of the run, with the run's exit status as it is.
//!
//! The walk meets the same tasks whatever the host (it evaluates no `when`),
//! so rprov decides once, before the run, which play holds the match, and
//! each host skips tasks up to the first that matches.

use crate::playbook::{Playbook, Task};

/// How one play starts under `--start-at-task`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlayStart {
    /// Every task runs (no `--start-at-task`, or an earlier play matched).
    All,
    /// No task of the play matches, nor did one of an earlier play: nothing
    /// runs, not even fact gathering.
    Nothing,
    /// The tasks before the first one matching this pattern are skipped.
    From(String),
}

/// The message ansible-playbook prints when no task matched.
pub fn no_match_message(pattern: &str) -> String {
    format!(
        "No matching task \"{pattern}\" found. Note: --start-at-task can only follow static includes."
    )
}

/// How each play of `playbook` starts, and whether a task matched.
/// `tags` and `skip_tags` are those of the command line: a task they leave
/// out is not there to start at, as ansible-core filters tasks by tags
/// before it walks them.
pub fn plan(
    playbook: &Playbook,
    pattern: Option<&str>,
    tags: &[String],
    skip_tags: &[String],
) -> (Vec<PlayStart>, bool) {
    let Some(pattern) = pattern else {
        return (vec![PlayStart::All; playbook.plays.len()], true);
    };
    let mut matched = false;
    let starts = playbook
        .plays
        .iter()
        .map(|play| {
            if matched {
                return PlayStart::All;
            }
            let found = play
                .sections
                .iter()
                .any(|s| holds_match(s, pattern, tags, skip_tags));
            if found {
                matched = true;
                PlayStart::From(pattern.to_string())
            } else {
                PlayStart::Nothing
            }
        })
        .collect();
    (starts, matched)
}

/// Whether `tasks` (blocks walked into, as a run with no failure walks
/// them: `block:` then `always:`) hold a task matching `pattern`.
fn holds_match(tasks: &[Task], pattern: &str, tags: &[String], skip_tags: &[String]) -> bool {
    tasks.iter().any(|t| {
        if !t.selected_by(tags, skip_tags) {
            return false;
        }
        match &t.block {
            Some(b) => {
                holds_match(&b.block, pattern, tags, skip_tags)
                    || holds_match(&b.always, pattern, tags, skip_tags)
            }
            None => matches(t, pattern),
        }
    })
}

/// ansible-core's test: the task's own name, or its full name (`role : name`,
/// or the module for an unnamed task), equal to `pattern` or matching it as a
/// glob.
pub fn matches(task: &Task, pattern: &str) -> bool {
    let fnmatch = rprov_template::filters::path::fnmatch;
    let own = task
        .name
        .as_deref()
        .is_some_and(|n| n == pattern || (!n.is_empty() && fnmatch(pattern, n)));
    let base = match task.name.as_deref() {
        Some(n) if !n.is_empty() => n,
        _ => task.module_written.as_str(),
    };
    let full = match &task.role {
        Some(role) => format!("{} : {base}", role.name()),
        None => base.to_string(),
    };
    own || full == pattern || fnmatch(pattern, &full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(yaml: &str) -> Playbook {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("site.yml");
        std::fs::write(&path, yaml).expect("write playbook");
        crate::playbook::load_playbook(&path).expect("playbook loads")
    }

    const TWO_PLAYS: &str = "
- hosts: localhost
  tasks:
    - debug: msg=one
    - name: second
      debug: msg=two
- hosts: localhost
  tasks:
    - block:
        - name: in block
          debug: msg=three
      always:
        - name: cleanup step
          debug: msg=four
";

    #[test]
    fn the_play_holding_the_match_starts_there_and_later_plays_run_whole() {
        let pb = playbook(TWO_PLAYS);
        let (starts, found) = plan(&pb, Some("sec*"), &[], &[]);
        assert!(found);
        assert_eq!(starts, vec![PlayStart::From("sec*".into()), PlayStart::All]);
    }

    #[test]
    fn plays_before_the_match_run_nothing_and_always_tasks_can_be_started_at() {
        let pb = playbook(TWO_PLAYS);
        let (starts, found) = plan(&pb, Some("cleanup step"), &[], &[]);
        assert!(found);
        assert_eq!(
            starts,
            vec![PlayStart::Nothing, PlayStart::From("cleanup step".into())]
        );
    }

    #[test]
    fn unnamed_tasks_match_by_module_and_no_match_is_reported() {
        let pb = playbook(TWO_PLAYS);
        let (starts, found) = plan(&pb, Some("debug"), &[], &[]);
        assert!(found);
        assert_eq!(starts[0], PlayStart::From("debug".into()));
        let (starts, found) = plan(&pb, Some("no such task"), &[], &[]);
        assert!(!found);
        assert_eq!(starts, vec![PlayStart::Nothing, PlayStart::Nothing]);
        assert!(no_match_message("x").starts_with("No matching task \"x\" found."));
    }

    #[test]
    fn tasks_left_out_by_tags_cannot_be_started_at() {
        let pb = playbook(TWO_PLAYS);
        // As ansible-core: `--skip-tags all` leaves only `always` tasks.
        let (_, found) = plan(&pb, Some("second"), &[], &["all".into()]);
        assert!(
            !found,
            "skip-tags all leaves out every task not tagged always"
        );
        let (_, found) = plan(&pb, Some("second"), &["other".into()], &[]);
        assert!(!found);
    }
}
