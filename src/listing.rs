//! `--list-hosts`, `--list-tasks` and `--list-tags`: what a run would touch,
//! printed as ansible-playbook prints it, so scripts and habits that read
//! that output keep working. No host is contacted; as in ansible-playbook,
//! only what a play has before any host is chosen (its `vars` and `-e`)
//! renders templates, in play names (see `deferred`) and tags.
//!
//! One difference: ansible-playbook prints a play's hosts and tags from a
//! Python set, in no fixed order; rprov prints hosts in the order the play
//! runs them and tags sorted.

use std::fmt::Write;
use std::path::Path;

use crate::playbook::{Play, Playbook, Task};

/// What to list.
pub struct Listing<'a> {
    pub hosts: bool,
    pub tasks: bool,
    pub tags_used: bool,
    pub tags: &'a [String],
    pub skip_tags: &'a [String],
    /// `-e`, with a play's `vars` what templated tags are rendered with.
    pub extra_vars: &'a crate::playbook::Vars,
    pub templater: &'a rprov_template::Templater,
}

/// The listing of `playbook`, each play with the hosts it would run on
/// (`plays_hosts`, in play order), under the name of its file, its plays
/// numbered from 1 in each file, as ansible-playbook lists them.
pub fn render(playbook: &Playbook, plays_hosts: &[Vec<String>], what: &Listing) -> String {
    let mut out = String::new();
    let mut plays = playbook.plays.iter().enumerate();
    for (path, count) in &playbook.files {
        out.push_str(&syntax_ok(path));
        for (n, (i, play)) in plays.by_ref().take(*count).enumerate() {
            let hosts = plays_hosts.get(i).map(Vec::as_slice).unwrap_or_default();
            render_play(&mut out, n + 1, play, hosts, what);
        }
    }
    out
}

/// `rprov adhoc --list-hosts`, as ansible-core's `ansible --list-hosts`
/// prints it: the count, then a host per line.
pub fn adhoc_hosts(hosts: &[String]) -> String {
    let mut out = format!("  hosts ({}):\n", hosts.len());
    for h in hosts {
        let _ = writeln!(out, "    {h}");
    }
    out
}

fn render_play(out: &mut String, number: usize, play: &Play, hosts: &[String], what: &Listing) {
    let mut play_tags = play.tags.clone();
    play_tags.sort();
    play_tags.dedup();
    let _ = writeln!(
        out,
        "\n  play #{} ({}): {}\tTAGS: [{}]",
        number,
        play.hosts_written,
        play.name,
        play_tags.join(",")
    );
    // As ansible-playbook: a task's tags (its play's, blocks' and role's
    // among them) rendered with the play's vars and `-e`, beside the
    // play's own as written.
    let tags_of = |task: &Task| -> Vec<String> {
        let mut tags = crate::playbook::render_tags(&task.tags, |t| {
            crate::playbook::render_with_play(play, what.extra_vars, what.templater, t)
        });
        tags.extend(play.tags.iter().cloned());
        tags
    };
    if what.hosts {
        let _ = writeln!(out, "    pattern: ['{}']", play.hosts);
        let _ = writeln!(out, "    hosts ({}):", hosts.len());
        for h in hosts {
            let _ = writeln!(out, "      {h}");
        }
    }
    if what.tasks || what.tags_used {
        let mut tasks = Vec::new();
        for task in play.sections.iter().flatten() {
            selected(task, what, &tags_of, &mut tasks);
        }
        if what.tasks {
            out.push_str("    tasks:\n");
            for task in &tasks {
                // As ansible-playbook: a named task of a role after the
                // role's name, an unnamed one as its action alone; an
                // `include_role` by its own name or action only.
                let include_role = task.module == "include_role";
                let name = match (&task.role, task.name.as_deref()) {
                    (Some(r), Some(name)) if !include_role => format!("{} : {name}", r.name()),
                    (_, Some(name)) => name.to_string(),
                    (_, None) => task.module_written.clone(),
                };
                let _ = writeln!(out, "      {name}\tTAGS: [{}]", sorted(&tags_of(task)));
            }
        }
        if what.tags_used {
            let all: Vec<String> = play
                .tags
                .iter()
                .cloned()
                .chain(tasks.iter().flat_map(|t| tags_of(t)))
                .collect();
            let _ = writeln!(out, "      TASK TAGS: [{}]", sorted(&all));
        }
    }
}

/// `tags` sorted, each once, as ansible-playbook lists them.
fn sorted(tags: &[String]) -> String {
    let mut tags = tags.to_vec();
    tags.sort();
    tags.dedup();
    tags.join(", ")
}

/// `task` (or a block's tasks) into `out` when the tags select it. An
/// include expanded when the playbook loaded is listed as itself, not the
/// tasks it brings in, and a block by its `block:` tasks alone (not its
/// `rescue:` or `always:`), as ansible-playbook lists them (see
/// `Task::static_include`).
fn selected<'a>(
    task: &'a Task,
    what: &Listing,
    tags_of: &dyn Fn(&Task) -> Vec<String>,
    out: &mut Vec<&'a Task>,
) {
    if let (Some(block), None) = (&task.block, &task.static_include) {
        for t in &block.block {
            selected(t, what, tags_of, out);
        }
    } else if task.selected_with(&tags_of(task), what.tags, what.skip_tags) && !task.is_implicit() {
        out.push(task);
    }
}

/// What `--syntax-check` prints for a playbook that loaded.
pub fn syntax_ok(path: &Path) -> String {
    format!("\nplaybook: {}\n", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(text: &str) -> (tempfile::TempDir, Playbook) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.yml");
        std::fs::write(&path, text).expect("write");
        let mut pb = crate::playbook::load_playbook(&path).expect("load");
        // As given on the command line: the listing names it so.
        pb.files[0].0 = "site.yml".into();
        (dir, pb)
    }

    #[test]
    fn tasks_are_listed_with_their_sorted_tags_and_blocks_opened() {
        let (_dir, pb) = playbook(
            "- name: first\n  hosts: web\n  tags: [p1]\n  tasks:\n    - name: one {{ x }}\n      debug: msg=a\n      tags: [b, a]\n    - block:\n        - command: 'true'\n      tags: blk\n    - debug: msg=n\n      tags: [never]\n",
        );
        let what = Listing {
            hosts: true,
            tasks: true,
            tags_used: false,
            tags: &[],
            skip_tags: &[],
            extra_vars: &Default::default(),
            templater: &rprov_template::Templater::new(),
        };
        let out = render(&pb, &[vec!["web1".into()]], &what);
        assert_eq!(
            out,
            "\nplaybook: site.yml\n\n  play #1 (web): first\tTAGS: [p1]\n    pattern: ['web']\n    hosts (1):\n      web1\n    tasks:\n      one {{ x }}\tTAGS: [a, b, p1]\n      command\tTAGS: [blk, p1]\n"
        );
        let only_b = ["b".to_string()];
        let what = Listing {
            hosts: false,
            tasks: true,
            tags_used: true,
            tags: &only_b,
            skip_tags: &[],
            extra_vars: &Default::default(),
            templater: &rprov_template::Templater::new(),
        };
        let out = render(&pb, &[], &what);
        assert!(
            out.ends_with(
                "    tasks:\n      one {{ x }}\tTAGS: [a, b, p1]\n      TASK TAGS: [a, b, p1]\n"
            ),
            "{out}"
        );
    }

    /// As ansible-playbook (its `tags` target): the play's name and the
    /// tasks' templated tags rendered with the play's vars and `-e`, the
    /// play's own tags beside them as written, its hosts as written; and
    /// `--tags` selects by the rendered tags.
    #[test]
    fn templates_render_with_the_plays_vars_and_extra_vars() {
        let (_dir, mut pb) = playbook(
            "- name: deploy {{ env }}\n  hosts: a,b\n  vars:\n    t: tag1\n  tags: \"{{ t }}\"\n  tasks:\n    - name: one\n      debug: msg=a\n      tags: \"{{ more }}\"\n    - name: two\n      debug: msg=b\n",
        );
        let mut extra = crate::playbook::Vars::new();
        extra.insert("env".into(), serde_json::json!("prod"));
        extra.insert("more".into(), serde_json::json!(["m1", "m2"]));
        let templater = rprov_template::Templater::new();
        for play in &mut pb.plays {
            crate::playbook::resolve_deferred(play, &extra, &templater).expect("resolve");
        }
        let m1 = ["m1".to_string()];
        let mut what = Listing {
            hosts: false,
            tasks: true,
            tags_used: false,
            tags: &[],
            skip_tags: &[],
            extra_vars: &extra,
            templater: &templater,
        };
        let out = render(&pb, &[], &what);
        assert_eq!(
            out,
            "\nplaybook: site.yml\n\n  play #1 (a,b): deploy prod\tTAGS: [{{ t }}]\n    tasks:\n      one\tTAGS: [m1, m2, tag1, {{ t }}]\n      two\tTAGS: [tag1, {{ t }}]\n"
        );
        what.tags = &m1;
        let out = render(&pb, &[], &what);
        assert!(
            out.ends_with("    tasks:\n      one\tTAGS: [m1, m2, tag1, {{ t }}]\n"),
            "{out}"
        );
    }
}
