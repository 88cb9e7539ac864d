//! Globals: `lookup(name, ...)`, `query(name, ...)` (alias `q`).
//!
//! The lookups provisioning roles use, all run on the controller: `env` (an
//! environment variable, `''` when unset, as in Ansible), `file` (a
//! controller file; a relative name is looked for in the role's and the
//! playbook's `files/` and directories as Ansible looks, then in the current
//! directory; trailing newline stripped unless `rstrip=false`),
//! `first_found` (the first existing file of a list, searched the same way:
//! see [`first_found`]), `vars` (a variable by name, with `default=`),
//! `fileglob` (the files matching a wildcard name, searched the same way),
//! `pipe` and `lines` (a command's output, whole or by line), `list`,
//! `items`, `dict`, `nested`, `together`, `indexed_items`, `subelements`,
//! `sequence` and `random_choice` (what the `with_<name>` loops of the same
//! names iterate over), `varnames` (the names of variables matching a
//! regular expression), `csvfile` (a column of a controller CSV file, see
//! [`csvfile`]), `ini` (a value of a controller INI or properties file, see
//! [`ini`]), `unvault` (a controller file's text, decrypted when
//! ansible-vault encrypted it: `file` decrypts too, see [`LookupContext`]),
//! `inventory_hostnames` (the hosts a host pattern selects among the
//! `groups` variable), `password` (a random password kept in a controller file,
//! see [`password`]) and `template` (a template file rendered with the
//! task's variables, see [`template`]). A name may carry `ansible.builtin.`. Any other name
//! is an error naming the supported ones, rather than a silent empty string.
//!
//! `lookup` joins several results with `,` (unless `wantlist=true`); `query`
//! always returns a list.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;

mod combine;
mod config;
mod context;
mod csvfile;
mod ini;
mod password;
mod sequence;
mod subelements;
mod template;

pub use config::{ConfigSetting, ConfigSettings};
pub use context::{LookupContext, Plaintext};

/// The lookups rprov has, each also a `with_<name>` loop.
pub const LOOKUPS: &[&str] = &[
    "config",
    "csvfile",
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "indexed_items",
    "ini",
    "inventory_hostnames",
    "items",
    "lines",
    "list",
    "nested",
    "password",
    "pipe",
    "random_choice",
    "sequence",
    "subelements",
    "template",
    "together",
    "unvault",
    "varnames",
    "vars",
];

/// A lookup's own name: `ansible.builtin.sequence` is `sequence`.
pub fn short_name(name: &str) -> &str {
    ["ansible.builtin.", "ansible.legacy."]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// Adds `lookup`, `query` and `q`, reading controller files through `cx`
/// (registering them again replaces them).
pub fn register(env: &mut Environment<'static>, cx: LookupContext) {
    let cx = std::sync::Arc::new(cx);
    let for_lookup = cx.clone();
    env.add_function(
        "lookup",
        move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            lookup(state, &for_lookup, name, terms, kwargs)
        },
    );
    let for_query = cx.clone();
    env.add_function(
        "query",
        move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            query(state, &for_query, name, terms, kwargs)
        },
    );
    env.add_function(
        "q",
        move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            query(state, &cx, name, terms, kwargs)
        },
    );
}

fn lookup_error(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{}{msg}", failed_prefix(name)),
    )
}

/// How a lookup's error starts, in ansible-core 2.19's words.
pub fn failed_prefix(name: &str) -> String {
    format!("The lookup plugin '{name}' failed: ")
}

/// Runs lookup `name` on each term and returns one value per term.
fn run(
    state: &State,
    cx: &LookupContext,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let name = short_name(name);
    let text = |t: &Value| -> Result<String, Error> {
        if t.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        Ok(t.as_str().map_or_else(|| t.to_string(), str::to_string))
    };
    match name {
        // ansible-core's `config`: a setting by its name (`DEFAULT_FORKS`)
        // or a plugin's, as this run has it.
        "config" => config::config(state, cx, terms, kwargs),
        "env" => {
            // Kept as given: `default=undef()` makes an unset variable
            // undefined, as in ansible-core.
            let default = kwargs
                .has("default")
                .then(|| kwargs.peek::<Value>("default"))
                .transpose()?;
            if default.is_some() {
                kwargs.get::<Value>("default")?;
            }
            terms
                .iter()
                .map(|t| {
                    let var = text(t)?;
                    Ok(match std::env::var(&var) {
                        Ok(v) => Value::from(v),
                        Err(_) => default.clone().unwrap_or_else(|| Value::from("")),
                    })
                })
                .collect()
        }
        "file" => {
            let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            terms
                .iter()
                .map(|t| {
                    let path = text(t)?;
                    // A relative name: where Ansible's file lookup looks
                    // (the role's and the playbook's files), else here.
                    let found = find_file(state, "files", &path);
                    let content = cx
                        .read_text(
                            found.as_deref().unwrap_or(std::path::Path::new(&path)),
                            None,
                        )
                        .map_err(|e| lookup_error("file", format!("cannot read '{path}': {e}")))?;
                    let mut s = content.as_str();
                    if rstrip {
                        s = s.trim_end();
                    }
                    if lstrip {
                        s = s.trim_start();
                    }
                    Ok(Value::from(s))
                })
                .collect()
        }
        "vars" => {
            let default = kwargs.get::<Option<Value>>("default")?;
            terms
                .iter()
                .map(|t| {
                    // ansible-core's words for a name that is not text.
                    if t.as_str().is_none() && !t.is_undefined() {
                        return Err(lookup_error(
                            "vars",
                            format!(
                                "Variable name must be 'str' not '{}'",
                                crate::convert::py_type(t)
                            ),
                        ));
                    }
                    let var = text(t)?;
                    match state.lookup(&var).filter(|v| !v.is_undefined()) {
                        Some(v) => Ok(v),
                        None => default.clone().ok_or_else(|| {
                            lookup_error("vars", format!("No variable named '{var}' was found"))
                        }),
                    }
                })
                .collect()
        }
        // A controller file's contents, decrypted when ansible-vault
        // encrypted it (as `file` reads it, without stripping).
        "unvault" => terms
            .iter()
            .map(|t| {
                let path = text(t)?;
                let found = find_file(state, "files", &path).ok_or_else(|| {
                    lookup_error(
                        "unvault",
                        format!("Unable to find file matching \"{path}\""),
                    )
                })?;
                cx.read_text(&found, None)
                    .map(Value::from)
                    .map_err(|e| lookup_error("unvault", format!("cannot read '{path}': {e}")))
            })
            .collect(),
        "ini" => ini::run(state, cx, terms, kwargs),
        "inventory_hostnames" => inventory_hostnames(state, terms),
        "varnames" => varnames(state, terms),
        "template" => template::run(state, cx, terms, kwargs),
        "csvfile" => csvfile::run(state, terms, kwargs),
        "password" => password::run(state, terms, kwargs),
        "first_found" => first_found(state, terms, kwargs),
        // The controller's files matching a wildcard name (`*`, `?`,
        // `[…]` in the last part), as Ansible's `fileglob`: a relative
        // name is looked for where `file` looks, the first place with a
        // match giving all of its matches (sorted, files only).
        "fileglob" => {
            let mut out = Vec::new();
            for t in terms {
                let term = text(t)?;
                out.extend(fileglob(state, &term).into_iter().map(Value::from));
            }
            Ok(out)
        }
        // A command on the controller (`sh -c`), from the playbook's
        // directory as Ansible's basedir: its output without trailing white
        // space (`pipe`), or one item per line (`lines`).
        "pipe" | "lines" => {
            let mut out = Vec::new();
            for t in terms {
                let command = text(t)?;
                let stdout = controller_command(state, name, &command)?;
                if name == "pipe" {
                    out.push(Value::from(stdout.trim_end()));
                } else {
                    out.extend(stdout.lines().map(Value::from));
                }
            }
            Ok(out)
        }
        // One of the terms, picked at random.
        "random_choice" => {
            use std::hash::BuildHasher;
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            let seed = std::collections::hash_map::RandomState::new().hash_one(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let pick = (seed % terms.len() as u64) as usize;
            Ok(vec![terms[pick].clone()])
        }
        "nested" => over_json(name, terms, |t| combine::nested(Json::Array(t))),
        "together" => over_json(name, terms, |t| combine::together(Json::Array(t))),
        "indexed_items" => over_json(name, terms, |t| combine::indexed_items(Json::Array(t))),
        "subelements" => over_json(name, terms, |t| subelements::items(&t)),
        "sequence" => {
            let mut direct = serde_json::Map::new();
            for key in ["start", "end", "count", "stride", "format"] {
                if let Some(v) = kwargs.get::<Option<Value>>(key)? {
                    direct.insert(key.to_string(), crate::convert::from_value(&v)?);
                }
            }
            // Each item is text of a few bytes: the render limit bounds them.
            let max = crate::limits::max_render_size() / 8;
            over_json(name, terms, |t| sequence::items(&t, &direct, max))
        }
        // Each mapping's entries as `{key, value}` items (a `with_dict`
        // loop), in the mapping's order.
        "dict" => {
            let mut out = Vec::new();
            for t in terms {
                if t.kind() != minijinja::value::ValueKind::Map {
                    return Err(lookup_error(
                        "dict",
                        format!("the 'dict' lookup plugin expects a dictionary, got {t}"),
                    ));
                }
                for key in t.try_iter()? {
                    let value = t.get_item(&key)?;
                    out.push(Value::from(std::collections::BTreeMap::from([
                        ("key", key),
                        ("value", value),
                    ])));
                }
            }
            Ok(out)
        }
        // What it is given, unchanged (a `with_list` loop).
        "list" => Ok(terms.to_vec()),
        // Lists among the terms flattened one level (a `with_items` loop).
        "items" => Ok(terms
            .iter()
            .flat_map(|t| match t.kind() {
                minijinja::value::ValueKind::Seq => t.try_iter().into_iter().flatten().collect(),
                _ => vec![t.clone()],
            })
            .collect()),
        // A lookup rprov lacks: ansible-core's, a collection's or one of a
        // `lookup_plugins/` folder, when the run has Python plugins.
        other => match cx.python() {
            Some(p) => crate::python::lookup(p, state, other, terms, kwargs)?.ok_or_else(|| {
                lookup_error(
                    other,
                    format!(
                        "{}: neither rprov (which has {}) nor ansible-core has it",
                        not_found(other),
                        LOOKUPS.join(", ")
                    ),
                )
            }),
            None => Err(lookup_error(
                other,
                format!("{} (rprov has {})", not_found(other), LOOKUPS.join(", ")),
            )),
        },
    }
}

/// ansible-core's words for a lookup no one has.
pub fn not_found(name: &str) -> String {
    format!("lookup plugin '{name}' was not found")
}

/// `inventory_hostnames`: the hosts that the terms, host patterns as
/// `hosts:` takes them, select among the `groups` variable's groups, as
/// ansible-core's lookup (which builds an inventory from that variable, so
/// hosts `add_host` and `group_by` added count). A pattern that selects
/// nothing, or a bad one, gives no host, as there.
fn inventory_hostnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let groups = state
        .lookup("groups")
        .filter(|g| g.kind() == minijinja::value::ValueKind::Map)
        .ok_or_else(|| lookup_error("inventory_hostnames", "the `groups` variable is not set"))?;
    let mut members: Vec<(String, Vec<String>)> = Vec::new();
    for group in groups.try_iter()? {
        let hosts = groups.get_item(&group)?;
        let names = match hosts.try_iter() {
            Ok(it) => it.map(|h| h.to_string()).collect(),
            Err(_) => Vec::new(),
        };
        members.push((group.to_string(), names));
    }
    let mut patterns = Vec::new();
    for t in terms {
        flatten_text(t, &mut patterns)?;
    }
    let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let hosts = rprov_inventory::Inventory::select_in_groups(
        members.iter().map(|(g, h)| (g.as_str(), h.clone())),
        &patterns,
    )
    .unwrap_or_default();
    Ok(hosts.into_iter().map(Value::from).collect())
}

/// The strings of a term that may be a list of them (nested lists
/// flattened), as ansible-core's `split_host_pattern` takes a list.
fn flatten_text(v: &Value, out: &mut Vec<String>) -> Result<(), Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(s) = v.as_str() {
        out.push(s.to_string());
    } else if v.kind() == minijinja::value::ValueKind::Seq {
        for item in v.try_iter()? {
            flatten_text(&item, out)?;
        }
    } else {
        out.push(v.to_string());
    }
    Ok(())
}

/// `varnames`: the names of the variables that a Python regular expression
/// finds (`re.search`), term after term, as ansible-core's lookup. The names
/// are those the template's context holds (the engine gives a template that
/// uses this lookup every variable), not the environment's functions.
fn varnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut names = variable_names(state);
    names.sort();
    let mut out = Vec::new();
    for t in terms {
        let Some(term) = t.as_str() else {
            let shown = if t.kind() == minijinja::value::ValueKind::Bool {
                if t.is_true() { "True" } else { "False" }.to_string()
            } else {
                t.to_string()
            };
            return Err(lookup_error(
                "varnames",
                format!(
                    "Invalid setting identifier, \"{shown}\" is not a string, it is a <class '{}'>",
                    crate::convert::py_type(t)
                ),
            ));
        };
        let re = fancy_regex::Regex::new(term).map_err(|e| {
            lookup_error(
                "varnames",
                format!(
                    "Unable to use \"{term}\" as a search parameter: {}",
                    crate::filters::regex::python_words(&e)
                ),
            )
        })?;
        for n in &names {
            if re
                .is_match(n)
                .map_err(|e| lookup_error("varnames", format!("{term}: {e}")))?
            {
                out.push(Value::from(n.as_str()));
            }
        }
    }
    Ok(out)
}

/// The names of the variables the template's context holds, not the
/// environment's functions (`lookup`, `range`, …).
pub(crate) fn variable_names(state: &State) -> Vec<String> {
    let globals: std::collections::HashSet<&str> =
        state.env().globals().map(|(name, _)| name).collect();
    state
        .known_variables()
        .into_iter()
        .filter(|n| !globals.contains(n.as_ref()))
        .map(|n| n.into_owned())
        .collect()
}

/// A lookup written over JSON values: its terms converted to JSON, its
/// items back, its error the lookup's.
fn over_json(
    name: &str,
    terms: &[Value],
    lookup: impl FnOnce(Vec<Json>) -> Result<Vec<Json>, String>,
) -> Result<Vec<Value>, Error> {
    let terms = terms
        .iter()
        .map(crate::convert::from_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lookup(terms)
        .map_err(|m| lookup_error(name, m))?
        .iter()
        .map(crate::convert::to_value)
        .collect())
}

/// `lookup(name, *terms, wantlist=False, **options)`.
pub fn lookup(
    state: &State,
    cx: &LookupContext,
    name: String,
    terms: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let Some(values) = run_or_forgive(state, cx, &name, &terms, &kwargs)? else {
        return Ok(if wantlist {
            Value::from(Vec::<Value>::new())
        } else {
            Value::from(())
        });
    };
    if wantlist {
        return Ok(Value::from(values));
    }
    // ansible-core's munging without `wantlist`: no result is an empty
    // list, one is that element, several are joined with `,` when all are
    // text and returned as they are otherwise.
    let all_text = values.iter().all(|v| v.as_str().is_some());
    Ok(match values.len() {
        0 => Value::from(values),
        1 => values.into_iter().next().unwrap_or_default(),
        _ if all_text => Value::from(
            values
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => Value::from(values),
    })
}

/// `query(name, *terms, **options)`: always a list.
pub fn query(
    state: &State,
    cx: &LookupContext,
    name: String,
    terms: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let values = run_or_forgive(state, cx, &name, &terms, &kwargs)?.unwrap_or_default();
    Ok(Value::from(values))
}

/// [`run`], with ansible-core's `errors=` option: `strict` (the default)
/// fails the template; `warn` and `ignore` make a failing lookup's result
/// `None` (`[]` with `wantlist`, and from `query`), `warn` with ansible-core's
/// warning. An undefined term is not the lookup's failure and is never
/// forgiven. An option the lookup does not take is ignored, as ansible-core's
/// plugins ignore it, with a warning (a typo, most likely).
fn run_or_forgive(
    state: &State,
    cx: &LookupContext,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kwargs.get::<Option<String>>("errors")?;
    let result = run(state, cx, name, terms, kwargs);
    match result {
        Ok(values) => {
            for option in unused(kwargs) {
                kwargs.get::<Value>(&option)?;
                cx.warn(&format!(
                    "lookup('{name}') ignored the option `{option}`, which it does not take"
                ));
            }
            Ok(Some(values))
        }
        Err(e)
            if e.kind() != ErrorKind::UndefinedError
                && matches!(errors.as_deref(), Some("warn" | "ignore")) =>
        {
            if errors.as_deref() == Some("warn") {
                cx.warn(&format!(
                    "An error occurred while running the lookup plugin '{}': {}",
                    short_name(name),
                    e.detail().unwrap_or_default()
                ));
            }
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The keyword arguments no one has read. `Kwargs` tells only of the first
/// (`assert_all_used`): each is asked alone, on a copy with the others read.
fn unused(kwargs: &Kwargs) -> Vec<String> {
    let keys: Vec<&str> = kwargs.args().collect();
    keys.iter()
        .filter(|key| {
            let probe = kwargs.clone();
            for other in keys.iter().filter(|o| o != key) {
                let _ = probe.get::<Value>(other);
            }
            probe.assert_all_used().is_err()
        })
        .map(|k| k.to_string())
        .collect()
}

/// The output of `command` run by `sh -c` on the controller, from the
/// playbook's directory; a failure is the lookup's error, as Ansible's
/// `lookup_plugin.pipe(…) returned N`.
fn controller_command(state: &State, name: &str, command: &str) -> Result<String, Error> {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null());
    if let Some(dir) = state
        .lookup("playbook_dir")
        .filter(|v| !v.is_undefined() && !v.is_none())
    {
        cmd.current_dir(dir.to_string());
    }
    let out = cmd
        .output()
        .map_err(|e| lookup_error(name, format!("cannot run sh: {e}")))?;
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        return Err(lookup_error(
            name,
            format!(
                "lookup_plugin.{name}({command}) returned {code}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    if out.stdout.len() > crate::limits::max_render_size() {
        return Err(lookup_error(
            name,
            crate::limits::too_large("the command's output"),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The files `pattern` matches (see the `fileglob` arm of [`run`]).
fn fileglob(state: &State, pattern: &str) -> Vec<String> {
    use std::path::{Path, PathBuf};
    let (dir, name) = match pattern.rsplit_once('/') {
        Some(("", name)) => (Some("/"), name),
        Some((dir, name)) => (Some(dir), name),
        None => (None, pattern),
    };
    let dirs: Vec<PathBuf> = match dir {
        Some(d) if Path::new(d).is_absolute() => vec![PathBuf::from(d)],
        Some(d) => search_bases(state)
            .into_iter()
            .map(|b| b.join(d))
            .find(|p| p.is_dir())
            .into_iter()
            .collect(),
        None => search_bases(state),
    };
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut found: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| {
                let file = e.file_name().to_string_lossy().into_owned();
                wildcard_match(name, &file).then(|| d.join(&file).display().to_string())
            })
            .collect();
        if !found.is_empty() {
            found.sort();
            return found;
        }
    }
    Vec::new()
}

/// Python's `fnmatch` of one file name, as `glob` applies it: `*`, `?` and
/// `[…]`/`[!…]` sets; a leading `.` is matched only by a pattern that starts
/// with one.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    crate::filters::path::fnmatch(pattern, name)
}

/// Where a relative file name is looked for, as Ansible's
/// `path_dwim_relative_stack` looks from a role's task: the role's `files/`
/// and the role itself, its `tasks/files/` and `tasks/`, then the playbook
/// directory's `files/` and the playbook directory.
/// The controller file `name` names: itself when absolute, else the first
/// of [`search_dirs`] of kind `subdir` that has it; `None` when none does.
fn find_file(state: &State, subdir: &str, name: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(name);
    if path.is_absolute() {
        return Some(path.to_path_buf()).filter(|p| p.is_file());
    }
    search_dirs(state, subdir)
        .into_iter()
        .map(|d| d.join(path))
        .find(|p| p.is_file())
}

fn search_bases(state: &State) -> Vec<std::path::PathBuf> {
    search_dirs(state, "files")
}

/// The `with_<lookup>` loop being rendered on this thread: ansible-core's
/// `_LookupContext.invoked_as_with`, which some lookups heed.
struct WithLoop {
    /// The task's action as written.
    action: String,
    /// Whether what is undefined is left out of the terms.
    leaves_out_undefined: bool,
}

thread_local! {
    static WITH_LOOP: std::cell::RefCell<Option<WithLoop>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`, the render of the terms and items of a task's `with_<name>`
/// loop, the task running `action` (as written). For `first_found`, as
/// ansible-core's: what is undefined is left out of its terms (a name made
/// of an undefined variable, an undefined item of a variable's list or of a
/// mapping), and it searches the folder the action's name suggests
/// (`vars/` for `include_vars`, `templates/` for `template`, else
/// `files/`).
pub fn as_with_loop<T>(name: &str, action: &str, f: impl FnOnce() -> T) -> T {
    let here = WithLoop {
        action: action.to_string(),
        leaves_out_undefined: short_name(name) == "first_found",
    };
    let before = WITH_LOOP.with(|l| l.replace(Some(here)));
    let out = f();
    WITH_LOOP.with(|l| *l.borrow_mut() = before);
    out
}

/// Whether the loop being rendered leaves out what is undefined (see
/// [`as_with_loop`]): rendered values then lose their undefined items
/// instead of failing.
pub(crate) fn leaves_out_undefined() -> bool {
    WITH_LOOP.with(|l| l.borrow().as_ref().is_some_and(|l| l.leaves_out_undefined))
}

/// The folder `first_found` searches: by the loop's action, `files` outside
/// a loop.
fn first_found_subdir() -> &'static str {
    WITH_LOOP.with(|l| {
        let l = l.borrow();
        let action = l.as_ref().map_or("", |l| l.action.as_str());
        ["template", "var", "file"]
            .into_iter()
            .zip(["templates", "vars", "files"])
            .find(|(word, _)| action.contains(word))
            .map_or("files", |(_, dir)| dir)
    })
}

/// Where Ansible looks for a relative name of kind `subdir` (`files`,
/// `templates`), as its `path_dwim_relative_stack` walks the task's
/// `ansible_search_path` (its role and the roles that brought it in, the
/// task file's folder, the playbook's): in each, `subdir/` then the folder
/// itself, and for a task file's folder inside a role's `tasks/`, the
/// role's `subdir/` and `tasks/` first; the playbook directory's last.
/// Without a search path: the role's `subdir/` and the role itself, its
/// `tasks/subdir/` and `tasks/`, then the playbook directory's.
fn search_dirs(state: &State, subdir: &str) -> Vec<std::path::PathBuf> {
    use std::path::PathBuf;
    // Not `as_str`: the engine may hand these over as its own string-like
    // values.
    let var = |name: &str| {
        state
            .lookup(name)
            .filter(|v| !v.is_undefined() && !v.is_none())
            .map(|v| PathBuf::from(v.to_string()))
    };
    let search_path: Vec<PathBuf> = state
        .lookup("ansible_search_path")
        .filter(|v| v.kind() == minijinja::value::ValueKind::Seq)
        .and_then(|v| v.try_iter().ok())
        .map(|items| items.map(|p| PathBuf::from(p.to_string())).collect())
        .unwrap_or_default();
    let mut bases = Vec::new();
    if search_path.is_empty() {
        if let Some(role) = var("role_path") {
            bases.push(role.join(subdir));
            bases.push(role.clone());
            bases.push(role.join("tasks").join(subdir));
            bases.push(role.join("tasks"));
        }
    }
    for path in search_path {
        if let Some(tasks) = path.parent().filter(|p| p.ends_with("tasks")) {
            if let Some(role) = tasks.parent() {
                bases.push(role.join(subdir));
            }
            bases.push(tasks.to_path_buf());
        }
        bases.push(path.join(subdir));
        bases.push(path);
    }
    if let Some(pb) = var("playbook_dir") {
        bases.push(pb.join(subdir));
        bases.push(pb);
    }
    let mut seen = std::collections::HashSet::new();
    bases.retain(|b| seen.insert(b.clone()));
    bases
}

/// `first_found`: the first of the named files that exists, as an absolute
/// path (`[]` with `skip=true` when none does, else an error as Ansible's).
///
/// Terms are file names, lists of them, or mappings with `files` and
/// `paths` (as are the `files=`/`paths=` options; file names split at `,`
/// and `;`, paths at `:` too), a mapping's `skip` replacing the option's.
/// A relative name is looked for in [`search_dirs`] of `files/` (of the
/// folder a `with_first_found` loop's action names, see [`as_with_loop`]).
fn first_found(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    // Files split at `,` and `;`, paths at `:` too, as ansible-core's.
    let split_at = |v: &Value, at: &[char], out: &mut Vec<String>| -> Result<(), Error> {
        let mut push = |s: &str| {
            out.extend(
                s.split(at)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            )
        };
        if let Some(s) = v.as_str() {
            push(s);
        } else if v.is_undefined() || v.is_none() {
        } else {
            for item in v.try_iter()? {
                push(item.as_str().unwrap_or_default());
            }
        }
        Ok(())
    };
    let files_of = |v: &Value, out: &mut Vec<String>| split_at(v, &[',', ';'], out);
    let paths_of = |v: &Value, out: &mut Vec<String>| split_at(v, &[',', ':', ';'], out);
    let mut files = Vec::new();
    let mut paths = Vec::new();
    if let Some(f) = kwargs.get::<Option<Value>>("files")? {
        files_of(&f, &mut files)?;
    }
    if let Some(p) = kwargs.get::<Option<Value>>("paths")? {
        paths_of(&p, &mut paths)?;
    }
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    fn flatten(v: &Value, out: &mut Vec<Value>) -> Result<(), Error> {
        if v.as_str().is_some() || v.kind() == minijinja::value::ValueKind::Map {
            out.push(v.clone());
        } else if v.is_undefined() && leaves_out_undefined() {
        } else if v.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        } else if let Ok(items) = v.try_iter() {
            for item in items {
                flatten(&item, out)?;
            }
        } else {
            // ansible-core's words (its own closing parenthesis and all).
            return Err(lookup_error(
                "first_found",
                format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}').",
                    crate::convert::py_type(v)
                ),
            ));
        }
        Ok(())
    }
    let mut flat = Vec::new();
    for t in terms {
        flatten(t, &mut flat)?;
    }
    // (files, paths) groups: each mapping brings its own, plain names share
    // the options'.
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut plain = files;
    for t in &flat {
        if t.kind() == minijinja::value::ValueKind::Map {
            let mut f = Vec::new();
            let mut p = Vec::new();
            files_of(&t.get_attr("files")?, &mut f)?;
            paths_of(&t.get_attr("paths")?, &mut p)?;
            groups.push((f, p));
            // A mapping's options replace the lookup's, as ansible-core
            // sets them per term: the last one's `skip` decides.
            skip = t.get_attr("skip")?.is_true();
        } else {
            plain.push(t.as_str().map_or_else(|| t.to_string(), str::to_string));
        }
    }
    groups.insert(0, (plain, paths));

    // Not `as_str`: the engine may hand these over as its own string-like
    // values.
    let bases = search_dirs(state, first_found_subdir());
    let mut tried = Vec::new();
    for (files, paths) in &groups {
        let names: Vec<String> = if paths.is_empty() {
            files.clone()
        } else {
            paths
                .iter()
                .flat_map(|p| files.iter().map(move |f| format!("{p}/{f}")))
                .collect()
        };
        for name in names {
            let p = std::path::Path::new(&name);
            let candidates: Vec<_> = if p.is_absolute() {
                vec![p.to_path_buf()]
            } else {
                bases.iter().map(|b| b.join(p)).collect()
            };
            let found = candidates.iter().find(|c| c.exists()).cloned();
            tried.extend(candidates);
            if let Some(f) = found {
                return Ok(vec![Value::from(f.display().to_string())]);
            }
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(lookup_error(
        "first_found",
        format!(
            "No file was found when using first_found. (looked for {})",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}
