//! Variables that no layer defines, found before any host is touched.
//!
//! Every template a run can render is known once the playbook is loaded: the
//! task arguments, conditions and loops, and the template files the `template`
//! tasks name. So is every place a variable can come from: the inventory, the
//! plays' `vars` and literal `vars_files`, secrets, role defaults, vars and
//! params, task vars, `register`, `set_fact`, loop variables, facts
//! (`ansible_*`, and those the fact cache holds) and the magic variables. A name used somewhere and defined
//! nowhere is almost always a typo (`base_fail2ban_maxretyr`), and would
//! otherwise show up minutes into a run on a slow host, after the tasks before
//! it have changed things. It is reported as a warning, not an error: a
//! `when: x is defined` on the task makes an undefined name legal, and
//! telling those apart would mean evaluating the templates. A name every use
//! of which goes straight into `default` or a definedness test (`{{ port |
//! default(80) }}`, the idiom of optional role variables) is reported only
//! when a defined name is near it (`{{ app_prot | default(80) }}`).
//!
//! When the playbook can define names that only exist at run time (a
//! `vars_files` path with a template, `include_vars`, `include_tasks` or
//! `include_role` of a file not known at load, `set_fact` with templated
//! keys), nothing is reported: the check would guess.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::Value as Json;

use super::vars::is_template;
use super::Shared;
use crate::modules::SearchPaths;
use crate::playbook::{Play, Task};

/// Names every host has without any layer defining them (see `magic` in
/// `host`); Jinja's own globals are `rprov_template::GLOBALS`.
const MAGIC: &[&str] = &[
    "hostvars",
    "groups",
    "group_names",
    "inventory_hostname",
    "inventory_hostname_short",
    "inventory_dir",
    "inventory_file",
    "playbook_dir",
    "ansible_playbook_python",
    "role_name",
    "role_path",
    "item",
    "vars",
    "play_hosts",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_batch",
    "role_names",
    "ansible_role_names",
    "ansible_play_role_names",
    "ansible_dependent_role_names",
    // In template files (engine::host::template_vars).
    "template_host",
    "template_path",
    "template_fullpath",
    "template_mtime",
    "template_uid",
    "template_run_date",
    "template_destpath",
    "ansible_managed",
];

/// A name used in a template and defined nowhere.
#[derive(Debug)]
pub struct Undefined {
    pub name: String,
    /// The first place it is used: a task (`file:line`) or a template file.
    pub at: String,
    /// The closest defined name, when one is near (a typo).
    pub near: Option<String>,
}

/// Each name used in a template and defined nowhere, in name order.
/// Plays without hosts (`plays_hosts`, in play order) are left out: they do
/// not run.
pub fn undefined_everywhere(shared: &Shared, plays_hosts: &[Vec<String>]) -> Vec<Undefined> {
    let mut defined: HashSet<String> = MAGIC
        .iter()
        .chain(rprov_template::GLOBALS)
        .map(|s| s.to_string())
        .collect();
    let mut used: BTreeMap<String, Use> = BTreeMap::new();
    let inv = shared.inventory();
    let implicit = inv.implicit_localhost().map(str::to_string);
    for h in inv.hosts().into_iter().chain(implicit) {
        defined.extend(inv.host_vars(&h).into_keys());
    }
    defined.extend(shared.opts.extra_vars.keys().cloned());
    defined.extend(shared.secrets.keys().cloned());
    defined.extend(shared.cached_fact_names());
    for (play, _) in shared
        .playbook
        .plays
        .iter()
        .zip(plays_hosts)
        .filter(|(_, hosts)| !hosts.is_empty())
    {
        if !collect_play(shared, play, &mut defined, &mut used) {
            return Vec::new();
        }
    }
    let mut candidates: Vec<&str> = defined
        .iter()
        .map(String::as_str)
        .filter(|d| !MAGIC.contains(d) && !rprov_template::GLOBALS.contains(d))
        .collect();
    candidates.sort_unstable();
    used.into_iter()
        .filter(|(name, _)| {
            !defined.contains(name)
                && !name.starts_with("ansible_")
                && name != super::vars::ALL_NAMES
        })
        .filter_map(|(name, u)| {
            // A guarded name is reported only as a typo of a defined one.
            let near = if u.guarded {
                Some(crate::diag::typo_of(&name, candidates.iter().copied())?)
            } else {
                crate::diag::did_you_mean(&name, candidates.iter().copied())
            };
            Some(Undefined {
                near: near.map(str::to_string),
                name,
                at: u.at,
            })
        })
        .collect()
}

/// Where a name is first used, and whether every use of it is guarded (see
/// [`rprov_template::only_guarded`]).
struct Use {
    at: String,
    guarded: bool,
}

/// Notes that `source` (a template or an expression, at `at`) uses `name`.
fn record(used: &mut BTreeMap<String, Use>, name: &str, source: &str, at: impl FnOnce() -> String) {
    let guarded = rprov_template::only_guarded(source, name);
    used.entry(name.to_string())
        .and_modify(|u| u.guarded &= guarded)
        .or_insert_with(|| Use { at: at(), guarded });
}

/// Adds what `play` defines and uses; false when it can define names that
/// are only known at run time.
fn collect_play(
    shared: &Shared,
    play: &Play,
    defined: &mut HashSet<String>,
    used: &mut BTreeMap<String, Use>,
) -> bool {
    defined.extend(play.vars.keys().cloned());
    let origin = play.origin.to_string();
    note(
        shared,
        &Json::Object(play.vars.clone().into_iter().collect()),
        &origin,
        used,
    );
    for entry in &play.vars_files {
        if entry.names.iter().any(|n| is_template(n)) {
            return false;
        }
        // Loaded (and decrypted) once, by `Shared::preload_vars_files`.
        let found = entry
            .names
            .iter()
            .find_map(|n| crate::playbook::find_vars_file(&shared.playbook.dir, n));
        match found.and_then(|path| shared.vars_files.loaded(&path)) {
            Some(vars) => defined.extend(vars.keys().cloned()),
            None => return false,
        }
    }
    let roles = play.roles.iter().flat_map(|r| {
        std::iter::once(&r.own)
            .chain(r.dependencies.iter())
            .chain(r.parents.iter())
    });
    for role in roles {
        for vars in [&role.defaults, &role.vars, &role.params] {
            defined.extend(vars.keys().cloned());
            let at = role.path.display().to_string();
            note(
                shared,
                &Json::Object(vars.clone().into_iter().collect()),
                &at,
                used,
            );
        }
    }
    let mut tasks: Vec<&Task> = Vec::new();
    for section in &play.sections {
        flatten(section, &mut tasks);
    }
    flatten(&play.handlers, &mut tasks);
    for task in tasks {
        if !collect_task(shared, task, defined, used) {
            return false;
        }
    }
    true
}

/// Every task of `list`, with those of their blocks (`block:`, `rescue:`,
/// `always:`) and of the includes expanded when the playbook loaded, at any
/// depth.
fn flatten<'a>(list: &'a [Task], out: &mut Vec<&'a Task>) {
    for t in list {
        out.push(t);
        if let Some(b) = &t.block {
            for part in [&b.block, &b.rescue, &b.always] {
                flatten(part, out);
            }
        }
    }
}

fn collect_task(
    shared: &Shared,
    task: &Task,
    defined: &mut HashSet<String>,
    used: &mut BTreeMap<String, Use>,
) -> bool {
    match task.module.as_str() {
        // An include expanded when the playbook loaded: its tasks are in
        // the list.
        "include_tasks" | "include_role" if task.static_include.is_some() => {}
        "include_vars" | "include_tasks" | "include_role" => return false,
        "set_fact" => match &task.args {
            Json::Object(m) => {
                if m.keys().any(|k| is_template(k)) {
                    return false;
                }
                defined.extend(m.keys().cloned());
            }
            _ => return false,
        },
        _ => {}
    }
    defined.extend(task.register.iter().cloned());
    defined.insert(task.loop_var.clone());
    defined.extend(task.index_var.iter().cloned());
    defined.extend(task.vars.keys().cloned());
    let at = task.origin.to_string();
    note(shared, &task.args, &at, used);
    note(
        shared,
        &Json::Object(task.vars.clone().into_iter().collect()),
        &at,
        used,
    );
    for expr in task
        .when
        .iter()
        .chain(task.changed_when.iter().flatten())
        .chain(task.failed_when.iter().flatten())
        .chain(task.until.iter())
    {
        let names = shared.names.names(&shared.templater, expr, true);
        for n in names.iter() {
            record(used, n, expr, || at.clone());
        }
    }
    for v in task
        .loop_items
        .iter()
        .chain(task.retries.iter())
        .chain(task.delay.iter())
    {
        note(shared, v, &at, used);
    }
    if let Some(name) = &task.name {
        note(shared, &Json::String(name.clone()), &at, used);
    }
    // The template files `template` (src) and `quadlet` (template) render.
    let file = match task.module.as_str() {
        "template" => task.args.get("src"),
        "quadlet" => task.args.get("template"),
        _ => None,
    };
    if let Some(src) = file.and_then(Json::as_str).filter(|s| !is_template(s)) {
        let search = SearchPaths {
            role_path: task.role.as_ref().map(|r| r.own.path.clone()),
            task_dir: task.origin.path.parent().map(Path::to_path_buf),
            playbook_dir: shared.playbook.dir.clone(),
        };
        if let Ok(path) = search.find("templates", src) {
            if let Ok(source) = rprov_template::limits::read_text_file(
                &path,
                rprov_template::limits::max_render_size(),
            ) {
                let shown = crate::diag::display_path(&path);
                let names = shared.names.names(&shared.templater, &source, false);
                for n in names.iter().filter(|n| !n.starts_with(super::vars::MAYBE)) {
                    record(used, n, &source, || {
                        match source.lines().position(|l| l.contains(n.as_str())) {
                            Some(i) => format!("{shown}:{}", i + 1),
                            None => shown.clone(),
                        }
                    });
                }
            }
        }
    }
    true
}

/// Records the names `v`'s templates use, at `at` unless already seen.
fn note(shared: &Shared, v: &Json, at: &str, used: &mut BTreeMap<String, Use>) {
    match v {
        Json::String(s) if is_template(s) => {
            let names = shared.names.names(&shared.templater, s, false);
            for n in names.iter().filter(|n| !n.starts_with(super::vars::MAYBE)) {
                record(used, n, s, || at.to_string());
            }
        }
        Json::Array(items) => items.iter().for_each(|i| note(shared, i, at, used)),
        Json::Object(m) => m.iter().for_each(|(k, v)| {
            note(shared, &Json::String(k.clone()), at, used);
            note(shared, v, at, used);
        }),
        _ => {}
    }
}
