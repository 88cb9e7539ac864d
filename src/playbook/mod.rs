//! The host-independent model of a playbook: plays, roles and tasks as the user
//! wrote them, checked but not yet rendered.
//!
//! Loading resolves everything that does not depend on a host — role paths, role
//! dependencies, static imports, module names and their argument names, handler
//! names — so that a typo fails the run before any host is contacted. Rendering
//! (variables, templates, conditions) happens later, per host, in `compile`.

mod free_form;
mod keywords;
mod load;
mod role;
mod task;

use std::path::PathBuf;
use std::sync::Arc;

pub use free_form::parse_free_form;
pub use load::load_playbook;
pub use task::{parse_tasks_file, Inherited, TaskScope};

use crate::diag::Origin;

/// Variables as loaded from YAML: not yet rendered.
pub type Vars = indexmap::IndexMap<String, serde_json::Value>;

#[derive(Debug)]
pub struct Playbook {
    pub path: PathBuf,
    /// The directory of the playbook (`playbook_dir`), where `roles/`,
    /// `group_vars/` and `host_vars/` are looked up.
    pub dir: PathBuf,
    pub plays: Vec<Play>,
}

#[derive(Debug)]
pub struct Play {
    pub name: String,
    pub hosts: String,
    pub origin: Origin,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub gather_facts: bool,
    pub vars: Vars,
    pub vars_files: Vec<(String, Origin)>,
    /// pre_tasks, then role tasks and tasks, then post_tasks. Notified handlers
    /// run at the end of each section, as in Ansible.
    pub sections: Vec<Vec<Task>>,
    pub handlers: Vec<Task>,
    /// Every role instance of the play, dependencies first, for the defaults and
    /// vars of roles that Ansible makes visible play-wide.
    pub roles: Vec<Arc<RoleInstance>>,
}

/// A role as applied in a play: its files and the parameters it was given.
#[derive(Debug)]
pub struct RoleInstance {
    pub name: String,
    pub path: PathBuf,
    pub defaults: Vars,
    pub vars: Vars,
    pub params: Vars,
    /// Defaults of the roles this one depends on, nearest last, so that a role
    /// sees its dependencies' defaults as Ansible shows them.
    pub dependency_defaults: Vec<Arc<RoleInstance>>,
}

/// One task or handler as written, with the keywords rprov understands.
#[derive(Clone, Debug)]
pub struct Task {
    pub name: Option<String>,
    /// The module's canonical name (`ansible.builtin.` prefix removed).
    pub module: String,
    /// Module arguments, unrendered. Free-form text (`command: ls`) is kept under
    /// `_raw_params`, as Ansible does.
    pub args: serde_json::Value,
    pub origin: Origin,
    /// Where each argument's value was written (arguments given as a mapping),
    /// so an error in one names its own line.
    pub arg_origins: Vec<(String, Origin)>,
    pub when: Vec<String>,
    pub loop_items: Option<serde_json::Value>,
    pub loop_var: String,
    pub index_var: Option<String>,
    pub loop_label: Option<String>,
    pub register: Option<String>,
    pub changed_when: Option<Vec<String>>,
    pub failed_when: Option<Vec<String>>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub ignore_errors: bool,
    pub no_log: bool,
    pub diff: Option<bool>,
    pub check_mode: Option<bool>,
    pub vars: Vars,
    pub environment: Option<serde_json::Value>,
    pub until: Option<String>,
    pub retries: Option<serde_json::Value>,
    pub delay: Option<serde_json::Value>,
    pub run_once: bool,
    /// `delegate_to: localhost`: the task runs on the controller, with the
    /// host's variables.
    pub delegate_local: bool,
    pub role: Option<Arc<RoleInstance>>,
    /// For tasks from `block:` sections: what to run when this block fails.
    pub block: Option<Arc<Block>>,
}

/// `block:` with its `rescue:` and `always:` parts. The block task itself
/// carries the shared keywords (when, become, tags…), already folded into
/// each inner task at load time.
#[derive(Clone, Debug)]
pub struct Block {
    pub block: Vec<Task>,
    pub rescue: Vec<Task>,
    pub always: Vec<Task>,
}

impl Task {
    /// Where argument `key` was written, or the task when not known.
    pub fn arg_origin(&self, key: &str) -> &Origin {
        self.arg_origins
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&self.origin, |(_, o)| o)
    }

    /// The name shown in output: the task's name or, as Ansible does, the module.
    pub fn display_name(&self) -> String {
        let base = self.name.clone().unwrap_or_else(|| self.module.clone());
        match &self.role {
            Some(role) => format!("{} : {}", role.name, base),
            None => base,
        }
    }
}
