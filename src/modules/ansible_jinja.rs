//! Jinja plugins written in Python, run by the Ansible fallback's helper
//! (ansible-core on the controller, see [`super::ansible_fallback`]): the
//! filters and tests of `filter_plugins/` and `test_plugins/` folders (beside
//! the playbook, in its roles, in the `filter_plugins`/`test_plugins`
//! settings), a collection's filters and tests by their full names, and
//! every lookup rprov does not have (a `lookup_plugins/` folder's, a
//! collection's, ansible-core's own).
//!
//! A folder's filters and tests must be named before any template renders,
//! so the helper is asked for their names when the run starts, but only when
//! such a folder exists: a run without one does not pay for starting Python.
//! A collection's filter or a lookup rprov lacks starts the helper when it is
//! first called.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rprov_template::python::{PluginKind, PluginSetting, PythonPlugins};
use serde_json::{json, Map, Value as Json};

use super::ansible_fallback::{role_dirs, with_bridge, ENABLE_HINT};

/// The folders Ansible loads filters and tests from, beside a playbook or in
/// a role.
const JINJA_DIRS: &[&str] = &["filter_plugins", "test_plugins"];

/// The run's Python plugins.
pub struct AnsibleJinja {
    playbook_dir: PathBuf,
    filters: Vec<String>,
    tests: Vec<String>,
}

/// The Python plugins of the run whose playbook is in `playbook_dir`, once
/// the playbook and its roles are loaded; with a warning to show when a
/// filter or test folder exists but ansible-core cannot read it (no
/// ansible-core on the controller): its filters and tests stay unknown.
pub fn for_run(playbook_dir: &Path) -> (Arc<dyn PythonPlugins>, Option<String>) {
    let mut warning = None;
    let (filters, tests) = match has_jinja_folders(playbook_dir) {
        Some(folder) => {
            match with_bridge(playbook_dir, |b| b.ask(&json!({"op": "jinja_names"})))
                .and_then(|r| r)
            {
                Ok(m) => (names(&m, "filters"), names(&m, "tests")),
                Err(why) => {
                    warning = Some(format!(
                        "the filters and tests of {} are written in Python, which rprov runs through the Ansible fallback, and it is off: {ENABLE_HINT} ({why})",
                        folder.display()
                    ));
                    Default::default()
                }
            }
        }
        None => Default::default(),
    };
    let plugins = Arc::new(AnsibleJinja {
        playbook_dir: playbook_dir.to_path_buf(),
        filters,
        tests,
    });
    (plugins, warning)
}

/// The lookups rprov lacks that ansible-core was found to have.
static FOUND_LOOKUPS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Whether ansible-core on the controller has lookup `name` (for a
/// `with_<name>` loop, checked when the playbook loads), or why it cannot
/// be asked. Starts the helper.
pub fn has_lookup(name: &str, playbook_dir: &Path) -> Result<bool, String> {
    if known_lookup(name) {
        return Ok(true);
    }
    let answer = with_bridge(playbook_dir, |b| {
        b.ask(&json!({"op": "has_lookup", "name": name}))
    })?;
    let found = answer.is_ok_and(|m| m.get("found") == Some(&json!(true)));
    if found {
        FOUND_LOOKUPS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_default()
            .insert(name.to_string());
    }
    Ok(found)
}

/// Whether [`has_lookup`] found `name` before (asks nothing).
pub fn known_lookup(name: &str) -> bool {
    FOUND_LOOKUPS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|s| s.contains(name))
}

fn names(m: &Map<String, Json>, key: &str) -> Vec<String> {
    m.get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The first folder Ansible loads filters or tests from that exists: beside
/// the playbook, in a role loaded so far, in `$ANSIBLE_FILTER_PLUGINS` /
/// `$ANSIBLE_TEST_PLUGINS`, or Ansible's default `~/.ansible/plugins/`.
fn has_jinja_folders(playbook_dir: &Path) -> Option<PathBuf> {
    let beside = std::iter::once(playbook_dir.to_path_buf()).chain(role_dirs());
    let mut dirs: Vec<PathBuf> = beside
        .flat_map(|d| JINJA_DIRS.iter().map(move |j| d.join(j)))
        .collect();
    for var in ["ANSIBLE_FILTER_PLUGINS", "ANSIBLE_TEST_PLUGINS"] {
        if let Some(v) = std::env::var_os(var) {
            dirs.extend(std::env::split_paths(&v));
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let plugins = Path::new(&home).join(".ansible/plugins");
        dirs.extend(["filter", "test"].iter().map(|k| plugins.join(k)));
    }
    dirs.into_iter().find(|d| d.is_dir())
}

impl PythonPlugins for AnsibleJinja {
    fn names(&self) -> (Vec<String>, Vec<String>) {
        (self.filters.clone(), self.tests.clone())
    }

    fn call(
        &self,
        kind: PluginKind,
        name: &str,
        args: Vec<Json>,
        kwargs: Map<String, Json>,
        variables: Option<Json>,
    ) -> Result<Option<Json>, String> {
        let req = json!({
            "op": "jinja_call",
            "kind": kind.word(),
            "name": name,
            "args": args,
            "kwargs": kwargs,
            "variables": variables,
        });
        // The caller names the plugin before this text.
        let what = match kind {
            PluginKind::Lookup => format!("{}: rprov", rprov_template::lookup::not_found(name)),
            _ => "rprov".to_string(),
        };
        let Some(answer) = self.ask(&req, &what)? else {
            return Ok(None);
        };
        Ok(Some(answer.get("value").cloned().unwrap_or(Json::Null)))
    }

    fn setting(
        &self,
        plugin_type: &str,
        plugin_name: &str,
        name: &str,
        variables: Json,
    ) -> Result<Option<PluginSetting>, String> {
        let req = json!({
            "op": "plugin_setting",
            "plugin_type": plugin_type,
            "plugin_name": plugin_name,
            "name": name,
            "variables": variables,
        });
        let what = format!("Unable to load {plugin_type} plugin '{plugin_name}': rprov");
        let Some(answer) = self.ask(&req, &what)? else {
            return Ok(None);
        };
        if let Some(msg) = answer.get("undefined").and_then(Json::as_str) {
            return Ok(Some(PluginSetting::Undefined(msg.to_string())));
        }
        let value = answer.get("value").cloned().unwrap_or(Json::Null);
        let origin = answer
            .get("origin")
            .and_then(Json::as_str)
            .unwrap_or("default");
        Ok(Some(PluginSetting::Found(value, origin.to_string())))
    }
}

impl AnsibleJinja {
    /// Asks ansible-core `req`: its answer, `None` when it has no plugin of
    /// that name, or its error. `what` names what rprov lacks when the
    /// fallback is off.
    fn ask(&self, req: &Json, what: &str) -> Result<Option<Json>, String> {
        let answer = with_bridge(&self.playbook_dir, |b| b.ask(req))
            .map_err(|why| {
                format!("{what} does not have it, and the Ansible fallback that would run one written in Python is off: {ENABLE_HINT} ({why})")
            })
            .and_then(|r| r)?;
        if let Some(err) = answer.get("error").and_then(Json::as_str) {
            return Err(err.to_string());
        }
        if answer.get("found") == Some(&json!(false)) {
            return Ok(None);
        }
        Ok(Some(Json::Object(answer)))
    }
}
