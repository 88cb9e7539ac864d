//! Ansible inventories as ansible-core reads them: INI and YAML files, host
//! ranges, `group_vars/` and `host_vars/`, host patterns and connection variables.
//!
//! rprov runs existing Ansible repositories unchanged, so the reference for every
//! behaviour here is ansible-core 2.19 rather than a cleaner design of our own: the
//! order of `groups['all']`, which INI values are ints, and the precedence of
//! group variables all show up in users' templates. Where Ansible only warns about
//! something that is almost certainly a mistake (an unknown key in a YAML group, a
//! malformed host range) we fail with the file and line instead.
//!
//! Loading is two-stage: [`Inventory::load`] reads and validates everything up front
//! (so a broken vars file is reported before any host is contacted), and the
//! per-host questions ([`Inventory::host_vars`], [`Inventory::select`]) are then
//! pure lookups.
//!
//! Deliberate differences from ansible-core (each one turns a warning or a
//! surprising result into an error that names the file and line):
//! - a YAML group with a key other than `hosts`/`children`/`vars` is an error;
//! - `host:notaport` is an error (Ansible makes a host literally named so);
//! - malformed ranges (`web[01:]`, `web[1:3:0]`, unequal padded widths) are errors
//!   with the expected form, and one pattern may expand to at most 100000 hosts;
//! - a host pattern that selects nothing is an error (Ansible warns and runs
//!   nothing); terms that match nothing inside a larger pattern are ignored.
//!
//! Vault files and `!vault` values in `group_vars/` and `host_vars/` are read
//! through a [`VaultDecrypt`] given to [`Inventory::load_with`].
//!
//! A pattern naming `localhost` (or `127.0.0.1`, `::1`) when the inventory
//! has no such host selects Ansible's implicit localhost: a host in no group
//! (not in `all` either), reached with `ansible_connection=local`, with the
//! variables of `all` and its own `host_vars/` file.
//!
//! Of the inventory plugins, `generator` and `constructed` are read (a YAML
//! file with `plugin: generator` or `plugin: constructed`); another
//! `plugin:` is refused by name. A `constructed` source works on the hosts
//! of the sources before it, so it is read with [`Inventory::add_source`].
//!
//! Not done yet: inventory directories and scripts, other plugins, and
//! `hash_behaviour=merge`.

#![deny(missing_docs)]

mod connection;
mod constructed;
mod data;
mod error;
mod generator;
mod ini;
mod pattern;
mod pyliteral;
mod range;
mod shlex;
mod vars_dirs;
mod yaml;

pub use connection::{boolean, ConnectionKind, ConnectionVars};
pub use error::{InventoryError, Location};
pub use yaml::{budget_for as yaml_budget, yaml_error_message};

use data::{InventoryData, ALL};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use vars_dirs::VarsDir;

/// Decrypts Ansible vault text found in `group_vars/` and `host_vars/` files.
///
/// This crate has no cryptography: the caller decides how (and whether) vault
/// text is decrypted, and learns which values were secret.
pub trait VaultDecrypt {
    /// The plaintext of `text`, found in `path`: a whole vault file when `key`
    /// is `None`, else the inline `!vault` value of the (dotted) variable `key`.
    /// The error is a message for the user (what is wrong, what to do).
    fn decrypt(&self, path: &Path, key: Option<&str>, text: &str) -> Result<String, String>;
}

/// The names that mean the controller itself (ansible-core's `C.LOCALHOST`).
pub const LOCALHOST: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Variables, in the order they were defined.
pub type Vars = indexmap::IndexMap<String, serde_json::Value>;

/// What loading does with a group name that is no valid variable name
/// (`web-servers`, `1st`): ansible-core's `TRANSFORM_INVALID_GROUP_CHARS`
/// (`force_valid_group_names` in ansible.cfg).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvalidGroupChars {
    /// Keep the name, and warn (ansible-core's default).
    #[default]
    Never,
    /// Keep the name without a warning.
    Ignore,
    /// Replace each invalid character with `_`, and warn.
    Always,
    /// Replace each invalid character with `_` without a warning.
    Silently,
}

impl InvalidGroupChars {
    /// The setting's value as ansible.cfg and the environment write it.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "never" => Some(Self::Never),
            "ignore" => Some(Self::Ignore),
            "always" => Some(Self::Always),
            "silently" => Some(Self::Silently),
            _ => None,
        }
    }
}

/// Renders the templates of inventory plugins that have them (`generator`,
/// `constructed`).
///
/// This crate has no template engine: the caller gives one.
pub trait Render {
    /// `template` rendered with `vars` (a mapping): a single `{{ expr }}`
    /// keeps its value's type, as Ansible's templating does. The error is a
    /// message for the user.
    fn render(&self, template: &str, vars: &Value) -> Result<Value, String>;

    /// A bare Jinja expression (`var1 + var2`, no braces) evaluated with
    /// `vars`, keeping its value's type, as a `when:` is: `constructed`'s
    /// `compose`, `groups` and `keyed_groups` are such expressions.
    fn evaluate(&self, expr: &str, vars: &Value) -> Result<Value, String>;

    /// Python's `str()` of a value that is not a string (`None`, `True`,
    /// `['a', 1]`): `constructed` names groups after values that way.
    fn py_str(&self, value: &Value) -> String;
}

/// How to load an inventory file.
#[derive(Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// Renders plugin templates; without it a `generator` inventory is an
    /// error.
    pub render: Option<&'a dyn Render>,
    /// Decrypts vault files and `!vault` values (without it, a vault file is
    /// an error and `!vault` values are kept as their vault text).
    pub vault: Option<&'a dyn VaultDecrypt>,
    /// What happens to group names that are no valid variable names.
    pub group_chars: InvalidGroupChars,
    /// The run's `-e` variables, which a `constructed` source with
    /// `use_extra_vars` gives its `compose` and `keyed_groups`.
    pub extra_vars: Option<&'a Vars>,
    /// ansible.cfg's `[inventory_plugins] use_extra_vars`
    /// (`ANSIBLE_INVENTORY_USE_EXTRA_VARS`): `use_extra_vars` of a
    /// `constructed` source that does not say.
    pub use_extra_vars: bool,
}

/// A loaded inventory with its vars directories.
#[derive(Debug, Clone)]
pub struct Inventory {
    path: PathBuf,
    data: InventoryData,
    /// The inventory's own directory first, then each `add_vars_dir` (later wins).
    vars_dirs: Vec<VarsDir>,
    /// The implicit localhost's name, once a pattern selected it: the first
    /// localhost name asked for, as ansible-core names it after the pattern
    /// that created it.
    implicit: std::sync::OnceLock<String>,
    /// ansible.cfg's `hash_behaviour = merge`: a variable that is a mapping
    /// at several levels (groups, `group_vars/`, the host, inventory
    /// sources) is their deep merge, not the highest level's mapping.
    hash_merge: bool,
}

/// The directory whose `group_vars/` and `host_vars/` go with the source
/// `path`: the one it is in.
fn vars_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Which parser an inventory file needs.
fn is_yaml(path: &Path, text: &str) -> bool {
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        if matches!(ext, "yml" | "yaml" | "json") {
            return true;
        }
        if ext == "ini" {
            return false;
        }
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        None => false,
        Some(l) => {
            l.starts_with("---") || l.starts_with('{') || {
                // `all:` or `web:` alone on the line (maybe with a comment) opens a
                // YAML mapping; an INI host line never ends in a bare ':'.
                let key = l.split('#').next().unwrap_or("").trim_end();
                key.ends_with(':')
                    && !key[..key.len() - 1].is_empty()
                    && !key[..key.len() - 1].contains([':', ' ', '[', '='])
            }
        }
    }
}

impl Inventory {
    /// Load an INI or YAML inventory file (YAML when the name ends in `.yml`,
    /// `.yaml` or `.json`, or the content opens a YAML mapping such as `all:`;
    /// INI otherwise), then `group_vars/` and `host_vars/` next to it.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        Self::load_with(path, None)
    }

    /// [`Inventory::load`], decrypting vault files and values with `vault`
    /// (without one, a vault file is an error and `!vault` values are kept as
    /// their vault text).
    pub fn load_with(
        path: &Path,
        vault: Option<&dyn VaultDecrypt>,
    ) -> Result<Inventory, InventoryError> {
        Self::load_opts(
            path,
            LoadOptions {
                vault,
                ..LoadOptions::default()
            },
        )
    }

    /// [`Inventory::load`] with `opts`; see [`Inventory::warnings`] for what
    /// loading had to say.
    pub fn load_opts(path: &Path, opts: LoadOptions<'_>) -> Result<Inventory, InventoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_at(&text, path, opts)
    }

    /// Warnings for the user from loading (group names that are no valid
    /// variable names), each once, in ansible-core's words.
    pub fn warnings(&self) -> &[String] {
        &self.data.warnings
    }

    /// Whether an `-i` value is a host list (`web1,web2:2222,`) rather than a
    /// file: as ansible-core's `host_list` plugin, a comma in something that
    /// is no path.
    pub fn is_host_list(source: &str) -> bool {
        source.contains(',') && !Path::new(source).exists()
    }

    /// An inventory of the hosts named in a host list (`web1, web2:2222,`),
    /// each in `ungrouped`, as ansible-core's `host_list` plugin makes it: a
    /// `:port` suffix is the host's `ansible_port`, and a name that is no
    /// address is kept as written. It has no `group_vars/` or `host_vars/`
    /// of its own (Ansible reads none for a host list).
    pub fn from_host_list(source: &str) -> Inventory {
        let mut data = InventoryData::new();
        for h in source.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let (host, port) = range::split_port(h).unwrap_or_else(|_| (h.to_string(), None));
            if !data.hosts.contains_key(&host) {
                data.add_host(&host, Some(data::UNGROUPED), port);
            }
        }
        for entry in data.hosts.values_mut() {
            entry.source = Some(PathBuf::from(source));
        }
        data.reconcile();
        Inventory {
            path: PathBuf::from(source),
            data,
            vars_dirs: Vec::new(),
            implicit: std::sync::OnceLock::new(),
            hash_merge: false,
        }
    }

    /// An inventory of a host list whose names may hold ranges
    /// (`web[1:3],db`), as ansible-core's `advanced_host_list` plugin reads
    /// it when `ANSIBLE_INVENTORY_ENABLED` (or ansible.cfg's `[inventory]
    /// enable_plugins`) names it. A name whose range is refused is kept as
    /// written (`local[1:]`), with ansible-core's `-vvv` note in the
    /// second value; a bound that is no number fails the whole source, as
    /// its `ValueError` does there.
    pub fn from_advanced_host_list(source: &str) -> Result<(Inventory, Vec<String>), String> {
        let mut names = Vec::new();
        let mut notes = Vec::new();
        for h in source.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            match range::expand_host_pattern(h) {
                Ok((hosts, port)) => names.extend(hosts.into_iter().map(|n| (n, port))),
                Err(e) if e.not_a_number => {
                    return Err(format!(
                        "Invalid data from string, could not parse: {}: {}",
                        e.message, e.hint
                    ))
                }
                Err(e) => {
                    notes.push(format!(
                        "Unable to parse address from hostname, leaving unchanged: {}",
                        e.hint
                    ));
                    names.push((h.to_string(), None));
                }
            }
        }
        let mut inv = Inventory::from_host_list("");
        inv.path = PathBuf::from(source);
        for (host, port) in names {
            if !inv.data.hosts.contains_key(&host) {
                inv.data.add_host(&host, Some(data::UNGROUPED), port);
            }
        }
        for entry in inv.data.hosts.values_mut() {
            entry.source = Some(PathBuf::from(source));
        }
        inv.data.reconcile();
        Ok((inv, notes))
    }

    /// Parse inventory text as if it were read from `path` (whose directory is
    /// searched for `group_vars/` and `host_vars/`).
    pub fn from_str_at(text: &str, path: &Path) -> Result<Inventory, InventoryError> {
        Self::parse_at(text, path, LoadOptions::default())
    }

    fn parse_at(
        text: &str,
        path: &Path,
        opts: LoadOptions<'_>,
    ) -> Result<Inventory, InventoryError> {
        let mut data = InventoryData::new();
        data.group_chars = opts.group_chars;
        if is_yaml(path, text) {
            yaml::parse(text, path, &mut data, &opts)?;
        } else {
            ini::parse(text, path, &mut data)?;
        }
        let source = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        for entry in data.hosts.values_mut() {
            entry.source = Some(source.clone());
        }
        data.reconcile();
        let mut inv = Inventory {
            path: path.to_path_buf(),
            data,
            vars_dirs: Vec::new(),
            implicit: std::sync::OnceLock::new(),
            hash_merge: false,
        };
        inv.add_vars_dir_with(&vars_dir_of(path), opts.vault)?;
        Ok(inv)
    }

    /// Deep-merges mappings across levels from now on (ansible.cfg's
    /// `hash_behaviour = merge`), as ansible-core's `combine_vars` does.
    pub fn set_hash_merge(&mut self, on: bool) {
        self.hash_merge = on;
    }

    /// Adds another inventory source (a second `-i`), as ansible-core reads
    /// several into one inventory: its groups, hosts and children join
    /// these, its variables go over these (merged under `hash_behaviour =
    /// merge`), and its `group_vars/` and `host_vars/` come after these.
    pub fn absorb(&mut self, other: Inventory) -> Result<(), InventoryError> {
        let merge = self.hash_merge;
        let at = other.path.clone();
        // Hosts first, in the order the source has them (`groups['all']`).
        for (name, host) in &other.data.hosts {
            if !self.data.hosts.contains_key(name) {
                self.data.add_host(name, None, None);
                if let Some(h) = self.data.hosts.get_mut(name) {
                    h.source = host.source.clone();
                }
            }
        }
        for (name, group) in other.data.groups {
            self.data.add_group(&name);
            for h in &group.hosts {
                // Put there by reconciling on both sides, or on the one
                // side that has it.
                let implicit = name == data::UNGROUPED
                    && other.data.implicit_ungrouped.contains(h)
                    && (!self.data.hosts_in(&name).any(|x| x == h)
                        || self.data.implicit_ungrouped.contains(h));
                self.data.add_host(h, Some(&name), None);
                if implicit {
                    self.data.implicit_ungrouped.insert(h.clone());
                }
            }
            for c in &group.children {
                let implicit = name == ALL
                    && other.data.implicit_children.contains(c)
                    && (!self.data.children_of(&name).any(|x| x == c)
                        || self.data.implicit_children.contains(c));
                self.data
                    .add_child(&name, c)
                    .map_err(|message| InventoryError::Parse {
                        location: Location {
                            path: at.clone(),
                            line: 1,
                            column: None,
                        },
                        message,
                        hint: String::new(),
                    })?;
                if implicit {
                    self.data.implicit_children.insert(c.clone());
                }
            }
            if let Some(g) = self.data.groups.get_mut(&name) {
                if group.priority != 1 {
                    g.priority = group.priority;
                }
                combine(&mut g.vars, &group.vars, merge);
            }
        }
        for (name, host) in other.data.hosts {
            if let Some(h) = self.data.hosts.get_mut(&name) {
                combine(&mut h.vars, &host.vars, merge);
            }
        }
        self.data.reconcile();
        for w in other.data.warnings {
            if !self.data.warnings.contains(&w) {
                self.data.warnings.push(w);
            }
        }
        self.vars_dirs.extend(other.vars_dirs);
        self.adopt_all()
    }

    /// Reads the inventory source `path` into this inventory, after the
    /// sources already read: a `constructed` configuration works on the
    /// hosts and variables these made (see the `constructed` module), any
    /// other source is read on its own and [absorbed](Inventory::absorb).
    ///
    /// A `constructed` source that fails part way keeps what it did for the
    /// hosts before the failing one, as ansible-core's does.
    pub fn add_source(&mut self, path: &Path, opts: LoadOptions<'_>) -> Result<(), InventoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // Only a YAML file naming the plugin can be one: others are not
        // parsed twice.
        if is_yaml(path, &text) && text.contains("constructed") {
            if let Some(Value::Object(top)) = yaml::parse_value(&text, path)? {
                if constructed::is_config(&top) {
                    let cx = constructed::Context {
                        render: opts.render,
                        extra_vars: opts.extra_vars,
                        use_extra_vars: opts.use_extra_vars,
                        vars_dirs: &self.vars_dirs,
                        hash_merge: self.hash_merge,
                    };
                    let done = constructed::apply(&top, &text, path, &mut self.data, &cx);
                    self.data.reconcile();
                    done?;
                    let dir = vars_dir_of(path);
                    self.add_vars_dir_with(&dir, opts.vault)?;
                    return self.adopt_all();
                }
            }
        }
        let mut other = Self::parse_at(&text, path, opts)?;
        other.hash_merge = self.hash_merge;
        self.absorb(other)
    }

    /// Gives every vars dir the groups and hosts the inventory now has: a
    /// `group_vars/` file of one source applies to a group another source
    /// (or `constructed`) made, as ansible-core reads them once every
    /// source is in.
    fn adopt_all(&mut self) -> Result<(), InventoryError> {
        let groups: Vec<String> = self.data.groups.keys().cloned().collect();
        let hosts: Vec<String> = self.data.hosts.keys().cloned().collect();
        for vd in &mut self.vars_dirs {
            for g in &groups {
                vd.adopt_group(g).map_err(InventoryError::Deferred)?;
            }
            for h in &hosts {
                vd.adopt_host(h).map_err(InventoryError::Deferred)?;
            }
        }
        Ok(())
    }

    /// The inventory file this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Add `group_vars/` and `host_vars/` found in another directory (the
    /// playbook's); they take precedence over those loaded before, as in Ansible.
    pub fn add_vars_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        self.add_vars_dir_with(dir, None)
    }

    /// [`Inventory::add_vars_dir`], decrypting vault files and values with
    /// `vault` (see [`Inventory::load_with`]).
    pub fn add_vars_dir_with(
        &mut self,
        dir: &Path,
        vault: Option<&dyn VaultDecrypt>,
    ) -> Result<(), InventoryError> {
        // The implicit localhost may be selected later: its `host_vars/` too.
        let implicit: Vec<String> = LOCALHOST
            .iter()
            .filter(|h| !self.data.hosts.contains_key(**h))
            .map(|h| h.to_string())
            .collect();
        let hosts = self.data.hosts.keys().chain(&implicit);
        let vd = VarsDir::load(dir, self.data.groups.keys(), hosts, vault)?;
        self.vars_dirs.push(vd);
        Ok(())
    }

    /// Host names matched by an Ansible pattern, in inventory order: names,
    /// groups, `a:b` / `a,b`, `a:!b`, `a:&b`, globs, `~regex`, `all`/`*`, and
    /// subscripts like `web[0]`. Errors when the whole pattern selects nothing.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        pattern::select(&self.data, pattern, &|name| self.localhost_for(name))
    }

    /// The host names that `patterns` select among `groups` (each group's
    /// name and hosts, as the `groups` variable holds them), as
    /// ansible-core's `inventory_hostnames` lookup selects them: from an
    /// inventory made of those groups alone, without nesting or variables,
    /// the patterns of the list taken together, a localhost name that no
    /// group holds being the implicit localhost.
    pub fn select_in_groups<'a>(
        groups: impl IntoIterator<Item = (&'a str, Vec<String>)>,
        patterns: &[&str],
    ) -> Result<Vec<String>, InventoryError> {
        let mut data = data::InventoryData::new();
        for (group, hosts) in groups {
            data.add_group(group);
            for host in hosts {
                data.add_host(&host, Some(group), None);
            }
        }
        pattern::select_all(&data, patterns, &|name| name.to_string())
    }

    /// The host a localhost name selects when no inventory host has that
    /// name: a localhost-like host of the inventory (`127.0.0.1` for
    /// `localhost`), else the implicit localhost, which exists from then on
    /// (as ansible-core's `Inventory.get_host` makes it on first use).
    pub fn localhost_for(&self, name: &str) -> String {
        let listed = self
            .data
            .hosts
            .keys()
            .find(|h| LOCALHOST.contains(&h.as_str()));
        match listed {
            Some(h) => h.clone(),
            None => self.implicit.get_or_init(|| name.to_string()).clone(),
        }
    }

    /// The implicit localhost's name, if a pattern selected it.
    pub fn implicit_localhost(&self) -> Option<&str> {
        self.implicit.get().map(String::as_str)
    }

    /// The variables of the implicit localhost, as ansible-core gives them:
    /// `group_vars/all`, then the inventory's `all` variables with
    /// `ansible_connection=local` and `ansible_python_interpreter` (the
    /// controller's Python, see [`controller_python`]) over them (its own
    /// host variables), then its `host_vars/` file.
    fn implicit_localhost_vars(&self, host: &str) -> Vars {
        let mut out = Vars::new();
        for vd in &self.vars_dirs {
            if let Some(v) = vd.groups.get(ALL) {
                combine(&mut out, v, self.hash_merge);
            }
        }
        if let Some(all) = self.data.groups.get(ALL) {
            combine(&mut out, &all.vars, self.hash_merge);
        }
        out.insert(
            "ansible_python_interpreter".into(),
            Value::String(controller_python()),
        );
        out.insert("ansible_connection".into(), Value::String("local".into()));
        for vd in &self.vars_dirs {
            if let Some(v) = vd.hosts.get(host) {
                combine(&mut out, v, self.hash_merge);
            }
        }
        out
    }

    /// All variables of a host, merged in Ansible's precedence (lowest first):
    /// inventory-file group vars (`all` first, then by depth, priority, name);
    /// `group_vars/all` of each vars dir; `group_vars/<group>` of each vars dir;
    /// inventory-file host vars; `host_vars/<host>` of each vars dir. Later vars
    /// dirs win over earlier ones. Top-level keys are replaced, never merged.
    /// An unknown host has no variables.
    pub fn host_vars(&self, host: &str) -> Vars {
        let mut out = Vars::new();
        let Some(entry) = self.data.hosts.get(host) else {
            if self.implicit_localhost() == Some(host) {
                return self.implicit_localhost_vars(host);
            }
            return out;
        };
        let groups = self.data.sorted_host_groups(host);
        for g in &groups {
            if let Some(grp) = self.data.groups.get(g) {
                combine(&mut out, &grp.vars, self.hash_merge);
            }
        }
        for vd in &self.vars_dirs {
            if let Some(v) = vd.groups.get(ALL) {
                combine(&mut out, v, self.hash_merge);
            }
        }
        for vd in &self.vars_dirs {
            for g in groups.iter().filter(|g| g.as_str() != ALL) {
                if let Some(v) = vd.groups.get(g) {
                    combine(&mut out, v, self.hash_merge);
                }
            }
        }
        combine(&mut out, &entry.vars, self.hash_merge);
        for vd in &self.vars_dirs {
            if let Some(v) = vd.hosts.get(host) {
                combine(&mut out, v, self.hash_merge);
            }
        }
        out
    }

    /// Groups the host belongs to (transitively), sorted by name, without `all`:
    /// Ansible's `group_names`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        self.data
            .host_groups(host)
            .into_iter()
            .filter(|g| g != ALL)
            .collect()
    }

    /// Every group (`all` and `ungrouped` included) with its hosts, transitively,
    /// in inventory order: Ansible's `groups` variable.
    pub fn groups(&self) -> indexmap::IndexMap<String, Vec<String>> {
        self.data
            .groups
            .keys()
            .map(|g| (g.clone(), self.data.group_hosts(g)))
            .collect()
    }

    /// `group_by` at run time (Ansible's `add_dynamic_group`): creates
    /// `group` and `parents` if new, makes `group` a child of each parent and
    /// puts `host` in it. Returns whether the inventory changed (as Ansible's
    /// `changed`), or why it cannot (a cycle).
    pub fn add_dynamic_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, String> {
        let mut changed = false;
        for p in parents {
            if !self.data.groups.contains_key(p.as_str()) {
                changed = true;
            }
            let known = self
                .data
                .groups
                .get(p.as_str())
                .is_some_and(|g| g.children.iter().any(|c| c == group));
            if !known {
                self.data.add_child(p, group)?;
                changed = true;
            }
        }
        self.data.add_group(group);
        let has = self
            .data
            .groups
            .get(group)
            .is_some_and(|g| g.hosts.iter().any(|h| h == host));
        if !has {
            self.data.add_host(host, Some(group), None);
            changed = true;
        }
        if changed {
            self.data.reconcile();
            for g in parents.iter().map(String::as_str).chain([group]) {
                self.adopt_group_vars(g)?;
            }
        }
        Ok(changed)
    }

    /// The `group_vars/` of a group made at run time, from every vars dir.
    fn adopt_group_vars(&mut self, group: &str) -> Result<(), String> {
        for vd in &mut self.vars_dirs {
            vd.adopt_group(group)?;
        }
        Ok(())
    }

    /// `add_host` at run time (Ansible's `add_dynamic_host`): the host (new
    /// ones join `all`), its variables merged over those it has, and the
    /// groups it joins. Returns whether the inventory changed.
    pub fn add_dynamic_host(
        &mut self,
        host: &str,
        groups: &[String],
        vars: &Vars,
    ) -> Result<bool, String> {
        let mut changed = false;
        if !self.data.hosts.contains_key(host) {
            self.data.add_host(host, None, None);
            for vd in &mut self.vars_dirs {
                vd.adopt_host(host)?;
            }
            changed = true;
        }
        for (k, v) in vars {
            let same = self
                .data
                .hosts
                .get(host)
                .is_some_and(|h| h.vars.get(k) == Some(v));
            if !same {
                self.data.set_host_var(host, k, v.clone());
                changed = true;
            }
        }
        for g in groups {
            let has = self
                .data
                .groups
                .get(g.as_str())
                .is_some_and(|grp| grp.hosts.iter().any(|h| h == host));
            if !has {
                self.data.add_host(host, Some(g), None);
                changed = true;
            }
        }
        if changed {
            self.data.reconcile();
            for g in groups {
                self.adopt_group_vars(g)?;
            }
        }
        Ok(changed)
    }

    /// All hosts in inventory order (the order of `groups['all']`).
    pub fn hosts(&self) -> Vec<String> {
        self.data.group_hosts(ALL)
    }

    /// A group's own hosts and child groups, in the order they were added
    /// (as ansible-core's `group.hosts` and `group.child_groups`), or `None`
    /// for a group the inventory does not have.
    pub fn group_members(&self, name: &str) -> Option<(&[String], &[String])> {
        self.data
            .groups
            .get(name)
            .map(|g| (g.hosts.as_slice(), g.children.as_slice()))
    }

    /// A group's variables as `ansible-inventory --export` and `--graph
    /// --vars` show them: its inventory variables, then its `group_vars/`
    /// files over them, and `ansible_group_priority` when it is not the
    /// default 1 (ansible-core keeps the priority apart and adds it back).
    pub fn group_own_vars(&self, name: &str) -> Vars {
        let mut out = Vars::new();
        let Some(g) = self.data.groups.get(name) else {
            return out;
        };
        combine(&mut out, &g.vars, self.hash_merge);
        for vd in &self.vars_dirs {
            if let Some(v) = vd.groups.get(name) {
                combine(&mut out, v, self.hash_merge);
            }
        }
        if g.priority != 1 {
            out.insert("ansible_group_priority".into(), Value::from(g.priority));
        }
        out
    }

    /// A host's own variables, without those of its groups, as
    /// `ansible-inventory --export` shows them: its inventory variables,
    /// then its `host_vars/` files over them.
    pub fn host_own_vars(&self, host: &str) -> Vars {
        let mut out = Vars::new();
        if let Some(entry) = self.data.hosts.get(host) {
            combine(&mut out, &entry.vars, self.hash_merge);
        }
        for vd in &self.vars_dirs {
            if let Some(v) = vd.hosts.get(host) {
                combine(&mut out, v, self.hash_merge);
            }
        }
        out
    }

    /// How ansible-inventory's `--list` JSON writes `value`, the variable
    /// `name` of `host`, if a `constructed` source composed it and it still
    /// has that value: text the expression made rather than passed on
    /// from a file as `{"__ansible_unsafe": text}`, as ansible-core 2.19
    /// marks text it does not trust. `None` means as it is.
    pub fn legacy_json_var(&self, host: &str, name: &str, value: &Value) -> Option<&Value> {
        let (plain, shown) = self.data.hosts.get(host)?.composed.get(name)?;
        (plain == value).then_some(shown)
    }

    /// `ansible-inventory --list` compatible JSON (keys sorted, as it prints them).
    pub fn to_list_json(&self) -> Value {
        let mut top = Map::new();
        let mut hostvars = Map::new();
        for h in self.hosts() {
            let vars = self.host_vars(&h);
            if !vars.is_empty() {
                hostvars.insert(h, Value::Object(vars.into_iter().collect()));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        top.insert("_meta".into(), Value::Object(meta));
        let mut seen = std::collections::HashSet::new();
        self.format_group(ALL, &mut top, &mut seen);
        sort_keys(Value::Object(top))
    }

    fn format_group(
        &self,
        name: &str,
        out: &mut Map<String, Value>,
        seen: &mut std::collections::HashSet<String>,
    ) {
        let Some(g) = self.data.groups.get(name) else {
            return;
        };
        let mut entry = Map::new();
        if name != ALL && !g.hosts.is_empty() {
            entry.insert("hosts".into(), Value::from(g.hosts.clone()));
        }
        if !g.children.is_empty() {
            entry.insert("children".into(), Value::from(g.children.clone()));
        }
        for c in &g.children {
            if seen.insert(c.clone()) {
                self.format_group(c, out, seen);
            }
        }
        if !entry.is_empty() {
            out.insert(name.to_string(), Value::Object(entry));
        }
    }
}

/// ansible-core's `combine_vars`: `vars` over `out`, each variable
/// replacing the one below it, or with `merge` (`hash_behaviour = merge`)
/// deep-merged into it when both are mappings (lists are replaced).
fn combine(out: &mut Vars, vars: &Vars, merge: bool) {
    for (k, v) in vars {
        match out.get_mut(k) {
            Some(below) if merge => merge_value(below, v),
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `over` merged into `base`: mappings key by key, recursively; anything
/// else replaced (ansible-core's `merge_hash` with `list_merge='replace'`).
pub fn merge_value(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge_value(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The controller's Python, which ansible-core gives the implicit localhost
/// as `ansible_python_interpreter` (its own `sys.executable`; playbooks run
/// `{{ ansible_python_interpreter }} -c ...` on it): the first `python3` on
/// `PATH`, else `/usr/bin/python3`. rprov itself needs no Python.
fn controller_python() -> String {
    static FOUND: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join("python3"))
                .find(|p| p.is_file())
                .map_or_else(
                    || "/usr/bin/python3".to_string(),
                    |p| p.display().to_string(),
                )
        })
        .clone()
}

#[cfg(test)]
mod tests;
