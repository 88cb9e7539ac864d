//! ansible.cfg and the `ANSIBLE_*` variables, read as ansible-core 2.19 reads
//! them, so a repository's existing configuration keeps meaning what it means.
//!
//! The file is the first of `$ANSIBLE_CONFIG` (a file, or a directory holding
//! `ansible.cfg`), `./ansible.cfg` (skipped, with a warning, when the current
//! directory is world-writable: anyone could plant one), `~/.ansible.cfg` and
//! `/etc/ansible/ansible.cfg` that exists and can be read; only that file is
//! read. For each setting an environment variable beats the file, and the
//! command line beats both (the caller applies its flags on top). Relative
//! paths in the file are relative to the file's directory, in a variable to
//! the current directory, as in Ansible.
//!
//! Booleans are Ansible's non-strict ones: a value that is not one of
//! `y yes on 1 true t` is false. rprov does the same but warns about a value
//! that is neither a known true nor a known false word, since for
//! `host_key_checking` a typo turns host key checking off.
//!
//! A key of the file that rprov does not implement and that would change what
//! happens to a host gets one warning naming it; keys that only tune
//! Ansible's internals ([`keys::classify`]) are accepted silently.

pub(crate) mod ini;
pub mod keys;
pub mod plugin_filters;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use ini::Ini;
use serde_json::Value as Json;

use crate::playbook::LoadOptions;
use rprov_template::lookup::{ConfigSetting, ConfigSettings};

/// Connection variables with their aliases, and the value each gets when a
/// host has none of them.
pub type ConnectionDefaults = Vec<(&'static [&'static str], Json)>;
use keys::{Class, Key, Kind};

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env(&'static str),
    /// The config file, at this line.
    File { path: PathBuf, line: usize },
}

/// ansible-core's default `ANSIBLE_COW_ACCEPTLIST`: the cowsay stencils
/// it would use (rprov draws no cows; the lookup answers it).
const COW_ACCEPTLIST: &[&str] = &[
    "bud-frogs",
    "bunny",
    "cheese",
    "daemon",
    "default",
    "dragon",
    "elephant-in-snake",
    "elephant",
    "eyes",
    "hellokitty",
    "kitty",
    "luke-koala",
    "meow",
    "milk",
    "moofasa",
    "moose",
    "ren",
    "sheep",
    "small",
    "stegosaurus",
    "stimpy",
    "supermilker",
    "three-eyes",
    "turkey",
    "turtle",
    "tux",
    "udder",
    "vader-koala",
    "vader",
    "www",
];

impl Origin {
    /// As ansible-core's config manager names an origin: `env: NAME`, or
    /// the config file's path.
    pub fn as_ansible_says(&self) -> String {
        match self {
            Origin::Env(name) => format!("env: {name}"),
            Origin::File { path, .. } => path.display().to_string(),
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Env(name) => write!(f, "env: {name}"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// `gathering`: whether a play without `gather_facts` gathers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gathering {
    /// Gather unless the play says `gather_facts: no` (Ansible's default).
    Implicit,
    /// Gather only when the play says `gather_facts: yes`.
    Explicit,
    /// Gather once per host for the run (rprov never gathers a host twice anyway).
    Smart,
}

/// Everything read from ansible.cfg and the environment. `None`: not set;
/// the caller's default applies.
#[derive(Debug, Default)]
pub struct AnsibleConfig {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    pub inventory: Option<Setting<Vec<PathBuf>>>,
    pub roles_path: Option<Setting<Vec<PathBuf>>>,
    pub collections_path: Option<Setting<Vec<PathBuf>>>,
    /// `library`: custom modules' folders, for the Ansible fallback.
    pub library: Option<Setting<Vec<PathBuf>>>,
    pub remote_user: Option<Setting<String>>,
    pub remote_port: Option<Setting<u16>>,
    pub private_key_file: Option<Setting<PathBuf>>,
    pub host_key_checking: Option<Setting<bool>>,
    pub become_: Option<Setting<bool>>,
    pub become_user: Option<Setting<String>>,
    pub forks: Option<Setting<usize>>,
    pub vault_password_file: Option<Setting<PathBuf>>,
    pub error_on_missing_handler: Option<Setting<bool>>,
    pub timeout: Option<Setting<u64>>,
    pub gathering: Option<Setting<Gathering>>,
    pub any_errors_fatal: Option<Setting<bool>>,
    pub force_handlers: Option<Setting<bool>>,
    pub no_log: Option<Setting<bool>>,
    pub show_custom_stats: Option<Setting<bool>>,
    /// `debug` (`ANSIBLE_DEBUG`): ansible-core's debug lines for a play's flow.
    pub debug: Option<Setting<bool>>,
    /// `module_strict_utf8_response`: see `rprov_template::filters::json_surrogates`.
    pub module_strict_utf8_response: Option<Setting<bool>>,
    /// `allow_broken_conditionals`: non-boolean conditionals taken for
    /// their truth.
    pub allow_broken_conditionals: Option<Setting<bool>>,
    /// `private_role_vars`: roles' variables are their own tasks' only.
    pub private_role_vars: Option<Setting<bool>>,
    /// `hash_behaviour = merge`: mappings are deep-merged across precedence
    /// levels (see `engine::vars`); `false` for `replace`, the default.
    pub hash_merge: Option<Setting<bool>>,
    pub ssh_args: Option<Setting<String>>,
    /// `home` (`ANSIBLE_HOME`) and `remote_tmp`: answered by
    /// `lookup('config', …)` only.
    pub home: Option<Setting<PathBuf>>,
    pub remote_tmp: Option<Setting<String>>,
    /// `_ANSIBLE_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR`.
    pub untrusted_templates: Option<Setting<rprov_template::trust::UntrustedTemplates>>,
    pub ssh_common_args: Option<Setting<String>>,
    pub ssh_extra_args: Option<Setting<String>>,
    /// `force_valid_group_names` (`ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS`).
    pub group_chars: Option<Setting<rprov_inventory::InvalidGroupChars>>,
    /// `plugin_filters_cfg`: the module reject list's file.
    pub plugin_filters_cfg: Option<Setting<PathBuf>>,
    /// `log_path` and `log_verbosity`: the log file of the run's output.
    pub log_path: Option<Setting<PathBuf>>,
    pub log_verbosity: Option<Setting<i64>>,
    /// `deprecation_warnings`: unset is yes.
    pub deprecation_warnings: Option<Setting<bool>>,
    /// `fact_caching`, `fact_caching_connection`, `fact_caching_prefix` and
    /// `fact_caching_timeout`: the fact cache (see [`crate::fact_cache`]).
    pub fact_cache: crate::fact_cache::Settings,
    /// `[inventory_plugins] use_extra_vars`: `-e` in `constructed` sources
    /// that do not say.
    pub inventory_use_extra_vars: Option<Setting<bool>>,
    /// `[inventory] enable_plugins` (`ANSIBLE_INVENTORY_ENABLED`): only
    /// `advanced_host_list` changes what rprov reads (ranges in host lists).
    pub inventory_enabled: Option<Setting<String>>,
    /// `stdout_callback`, which `ansible` (ad hoc) heeds only with
    /// `bin_ansible_callbacks` (`ANSIBLE_LOAD_CALLBACK_PLUGINS`), as
    /// ansible-core: `oneline` or `minimal`.
    pub stdout_callback: Option<Setting<String>>,
    pub load_callback_plugins: Option<Setting<bool>>,
    /// `duplicate_dict_key`: what a key set twice in a YAML mapping does.
    pub duplicate_dict_key: Option<Setting<crate::yaml::DuplicateKeys>>,
    /// `(name, value as shown, origin)` of every setting that is set, for `rprov config`.
    pub shown: Vec<(&'static str, String, Origin)>,
    /// Keys rprov ignores although they would change behaviour, values that
    /// are not what they look like, a skipped world-writable `./ansible.cfg`.
    pub warnings: Vec<String>,
}

/// What the process sees: its environment, directories and the system file.
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    /// `/etc/ansible/ansible.cfg`, replaceable in tests.
    pub system_file: PathBuf,
}

impl Environment<'static> {
    /// This process's environment.
    pub fn current() -> Result<Environment<'static>> {
        let cwd = std::env::current_dir()
            .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?;
        Ok(Environment {
            var: &|name| std::env::var(name).ok(),
            cwd,
            home: std::env::var_os("HOME").map(PathBuf::from),
            system_file: PathBuf::from("/etc/ansible/ansible.cfg"),
        })
    }
}

impl AnsibleConfig {
    /// Whether `ansible` (ad hoc) prints with the `oneline` callback:
    /// `stdout_callback = oneline` with `bin_ansible_callbacks` on.
    pub fn adhoc_one_line(&self) -> bool {
        self.load_callback_plugins.as_ref().is_some_and(|s| s.value)
            && self
                .stdout_callback
                .as_ref()
                .is_some_and(|s| matches!(s.value.trim(), "oneline" | "ansible.builtin.oneline"))
    }

    /// Whether the enabled inventory plugins include `advanced_host_list`:
    /// a host list given with `-i` then expands ranges (`web[1:3],`).
    pub fn advanced_host_list(&self) -> bool {
        self.inventory_enabled.as_ref().is_some_and(|s| {
            s.value.split(',').map(str::trim).any(|p| {
                matches!(
                    p,
                    "advanced_host_list" | "ansible.builtin.advanced_host_list"
                )
            })
        })
    }

    /// Finds and reads the config file and the `ANSIBLE_*` variables. An
    /// unreadable file, a broken line or a value of the wrong type is an error
    /// naming the file and line or the variable.
    pub fn load(env: &Environment) -> Result<AnsibleConfig> {
        let mut cfg = AnsibleConfig::default();
        let file = find(env, &mut cfg.warnings);
        let ini = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                let ini =
                    Ini::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                for (section, key, line) in ini.entries() {
                    let value = ini.get(section, key).map_or("", |v| v.0);
                    if keys::classify(section, key, value) == Class::Unimplemented {
                        cfg.warnings.push(format!(
                            "{}:{line}: [{section}] {key} is not implemented by rprov and has no effect",
                            path.display()
                        ));
                    }
                }
                Some((ini, path.clone()))
            }
            None => None,
        };
        cfg.file = file;
        let mut r = Reader {
            env,
            ini: ini.as_ref().map(|(i, p)| (i, p.as_path())),
            cfg: &mut cfg,
        };
        let inventory = r.paths(&keys::INVENTORY)?;
        let roles_path = r.paths(&keys::ROLES_PATH)?;
        let collections_path = r.paths(&keys::COLLECTIONS_PATH)?;
        let library = r.paths(&keys::LIBRARY)?;
        // Shown by `rprov config`; ansible-core reads it itself when it builds
        // a fallback module.
        r.paths(&keys::MODULE_UTILS)?;
        let remote_user = r.string(&keys::REMOTE_USER)?;
        let remote_port = r.int(&keys::REMOTE_PORT)?;
        let private_key_file = r.path(&keys::PRIVATE_KEY_FILE)?;
        let host_key_checking = r.boolean(&keys::HOST_KEY_CHECKING)?;
        let become_ = r.boolean(&keys::BECOME)?;
        let become_user = r.string(&keys::BECOME_USER)?;
        let forks = r.int(&keys::FORKS)?;
        let vault_password_file = r.path(&keys::VAULT_PASSWORD_FILE)?;
        let error_on_missing_handler = r.boolean(&keys::ERROR_ON_MISSING_HANDLER)?;
        let timeout = r.int(&keys::TIMEOUT)?;
        let gathering = r.string(&keys::GATHERING)?;
        let any_errors_fatal = r.boolean(&keys::ANY_ERRORS_FATAL)?;
        let force_handlers = r.boolean(&keys::FORCE_HANDLERS)?;
        let no_log = r.boolean(&keys::NO_LOG)?;
        let show_custom_stats = r.boolean(&keys::SHOW_CUSTOM_STATS)?;
        let debug = r.boolean(&keys::DEBUG)?;
        let module_strict_utf8_response = r.boolean(&keys::MODULE_STRICT_UTF8_RESPONSE)?;
        let allow_broken_conditionals = r.boolean(&keys::ALLOW_BROKEN_CONDITIONALS)?;
        let private_role_vars = r.boolean(&keys::PRIVATE_ROLE_VARS)?;
        let hash_behaviour = r.string(&keys::HASH_BEHAVIOUR)?;
        let ssh_args = r.string(&keys::SSH_ARGS)?;
        let home = r.path(&keys::HOME)?;
        let remote_tmp = r.string(&keys::REMOTE_TMP)?;
        let untrusted_templates = match r.string(&keys::UNTRUSTED_TEMPLATE_BEHAVIOR)? {
            None => None,
            Some(Setting { value, origin }) => {
                let Some(what) = rprov_template::trust::UntrustedTemplates::parse(&value) else {
                    bail!("{origin}: Invalid value '{value}' for config '_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR': it is one of error, warning, ignore");
                };
                Some(Setting {
                    value: what,
                    origin,
                })
            }
        };
        let ssh_common_args = r.string(&keys::SSH_COMMON_ARGS)?;
        let ssh_extra_args = r.string(&keys::SSH_EXTRA_ARGS)?;
        let group_chars = r.string(&keys::TRANSFORM_INVALID_GROUP_CHARS)?;
        let plugin_filters_cfg = r.path(&keys::PLUGIN_FILTERS_CFG)?;
        let log_path = r.path(&keys::LOG_PATH)?;
        let log_verbosity = r.int(&keys::LOG_VERBOSITY)?;
        let deprecation_warnings = r.boolean(&keys::DEPRECATION_WARNINGS)?;
        let cache_plugin = r.string(&keys::CACHE_PLUGIN)?;
        let cache_connection = r.path(&keys::CACHE_PLUGIN_CONNECTION)?;
        let cache_prefix = r.string(&keys::CACHE_PLUGIN_PREFIX)?;
        let cache_timeout = r.int(&keys::CACHE_PLUGIN_TIMEOUT)?;
        let inventory_use_extra_vars = r.boolean(&keys::INVENTORY_USE_EXTRA_VARS)?;
        let inventory_enabled = r.string(&keys::INVENTORY_ENABLED)?;
        let stdout_callback = r.string(&keys::STDOUT_CALLBACK)?;
        let load_callback_plugins = r.boolean(&keys::LOAD_CALLBACK_PLUGINS)?;
        let duplicate_dict_key = r.string(&keys::DUPLICATE_YAML_DICT_KEY)?;

        cfg.remote_port = range(remote_port, "remote_port", 1, u16::MAX.into())?;
        cfg.forks = range(forks, "forks", 1, 10_000)?;
        cfg.timeout = range(timeout, "timeout", 1, 86_400)?;
        cfg.fact_cache = crate::fact_cache::Settings {
            plugin: cache_plugin.map(|s| s.value),
            connection: cache_connection.map(|s| s.value),
            prefix: cache_prefix.map(|s| s.value),
            timeout: range::<u64>(cache_timeout, "fact_caching_timeout", 0, i64::MAX)?
                .map(|s| s.value),
        };
        cfg.gathering = match gathering {
            None => None,
            Some(s) => {
                let value = match s.value.trim().to_ascii_lowercase().as_str() {
                    "implicit" => Gathering::Implicit,
                    "explicit" => Gathering::Explicit,
                    "smart" => Gathering::Smart,
                    other => bail!(
                        "{}: gathering is {other:?}; use implicit, explicit or smart",
                        s.origin
                    ),
                };
                Some(Setting {
                    value,
                    origin: s.origin,
                })
            }
        };
        cfg.plugin_filters_cfg = plugin_filters_cfg;
        cfg.log_path = log_path;
        cfg.log_verbosity = log_verbosity;
        cfg.deprecation_warnings = deprecation_warnings;
        cfg.inventory_use_extra_vars = inventory_use_extra_vars;
        cfg.inventory_enabled = inventory_enabled;
        cfg.stdout_callback = stdout_callback;
        cfg.load_callback_plugins = load_callback_plugins;
        cfg.duplicate_dict_key = match duplicate_dict_key {
            None => None,
            Some(s) => {
                use crate::yaml::DuplicateKeys;
                let value = match s.value.trim().to_ascii_lowercase().as_str() {
                    "warn" => DuplicateKeys::Warn,
                    "error" => DuplicateKeys::Error,
                    "ignore" => DuplicateKeys::Ignore,
                    other => bail!(
                        "{}: duplicate_dict_key is {other:?}; use warn, error or ignore",
                        s.origin
                    ),
                };
                Some(Setting {
                    value,
                    origin: s.origin,
                })
            }
        };
        cfg.group_chars = match group_chars {
            None => None,
            Some(s) => match rprov_inventory::InvalidGroupChars::parse(&s.value) {
                Some(value) => Some(Setting {
                    value,
                    origin: s.origin,
                }),
                None => bail!(
                    "{}: force_valid_group_names is {:?}; use never, ignore, always or silently",
                    s.origin,
                    s.value
                ),
            },
        };
        cfg.hash_merge = match hash_behaviour {
            None => None,
            Some(s) => {
                let value = match s.value.trim() {
                    "merge" => true,
                    "replace" => false,
                    other => bail!(
                        "{}: hash_behaviour is {other:?}; use replace or merge",
                        s.origin
                    ),
                };
                Some(Setting {
                    value,
                    origin: s.origin,
                })
            }
        };
        cfg.inventory = inventory;
        cfg.roles_path = roles_path;
        cfg.collections_path = collections_path;
        cfg.library = library;
        cfg.remote_user = remote_user;
        cfg.private_key_file = private_key_file;
        cfg.host_key_checking = host_key_checking;
        cfg.become_ = become_;
        cfg.become_user = become_user;
        cfg.vault_password_file = vault_password_file;
        cfg.error_on_missing_handler = error_on_missing_handler;
        cfg.any_errors_fatal = any_errors_fatal;
        cfg.force_handlers = force_handlers;
        cfg.no_log = no_log;
        cfg.show_custom_stats = show_custom_stats;
        cfg.debug = debug;
        cfg.module_strict_utf8_response = module_strict_utf8_response;
        cfg.allow_broken_conditionals = allow_broken_conditionals;
        cfg.private_role_vars = private_role_vars;
        cfg.ssh_args = ssh_args;
        cfg.home = home;
        cfg.remote_tmp = remote_tmp;
        cfg.untrusted_templates = untrusted_templates;
        cfg.ssh_common_args = ssh_common_args;
        cfg.ssh_extra_args = ssh_extra_args;
        Ok(cfg)
    }

    /// What loading the playbook takes from the configuration. `roles_path`
    /// unset is Ansible's default (`~/.ansible/roles`, `/usr/share/ansible/roles`,
    /// `/etc/ansible/roles`).
    pub fn load_options(&self, home: Option<&Path>) -> LoadOptions {
        let roles_path = match &self.roles_path {
            Some(s) => s.value.clone(),
            None => home
                .map(|h| h.join(".ansible/roles"))
                .into_iter()
                .chain(["/usr/share/ansible/roles", "/etc/ansible/roles"].map(PathBuf::from))
                .collect(),
        };
        // Ansible's default: `~/.ansible/collections:/usr/share/ansible/collections`.
        let collections_path = match &self.collections_path {
            Some(s) => s.value.clone(),
            None => home
                .map(|h| h.join(".ansible/collections"))
                .into_iter()
                .chain([PathBuf::from("/usr/share/ansible/collections")])
                .collect(),
        };
        LoadOptions {
            roles_path,
            collections_path,
            error_on_missing_handler: self
                .error_on_missing_handler
                .as_ref()
                .is_none_or(|s| s.value),
            become_: self.become_.as_ref().map(|s| s.value),
            become_user: self.become_user.as_ref().map(|s| s.value.clone()),
            remote_user: self.remote_user.as_ref().map(|s| s.value.clone()),
            any_errors_fatal: self.any_errors_fatal.as_ref().map(|s| s.value),
            force_handlers: self.force_handlers.as_ref().is_some_and(|s| s.value),
            no_log: self.no_log.as_ref().is_some_and(|s| s.value),
            gather_facts: self
                .gathering
                .as_ref()
                .is_none_or(|s| s.value != Gathering::Explicit),
            private_role_vars: self.private_role_vars.as_ref().map(|s| s.value),
            extra_vars: Default::default(),
        }
    }

    /// The settings `lookup('config', …)` gives: ansible-core's own by its
    /// names (`lib/ansible/config/base.yml`) and those of the plugins rprov
    /// stands in for (the `ssh` connection, the `sh` shell), each as set,
    /// with where from, or as ansible-core's default.
    pub fn settings(&self) -> ConfigSettings {
        use serde_json::json;
        fn set<T>(
            s: &Option<Setting<T>>,
            default: Json,
            value: impl Fn(&T) -> Json,
        ) -> ConfigSetting {
            match s {
                Some(s) => ConfigSetting {
                    value: value(&s.value),
                    origin: s.origin.as_ansible_says(),
                    vars: Vec::new(),
                },
                None => ConfigSetting::default_value(default),
            }
        }
        let flag = |s: &Option<Setting<bool>>, default: bool| set(s, json!(default), |v| json!(v));
        let text = |s: &Option<Setting<String>>, default: Option<&str>| {
            set(s, default.map_or(Json::Null, |d| json!(d)), |v| json!(v))
        };
        let home_dir = std::env::var_os("HOME").map(PathBuf::from);
        let mut c = ConfigSettings::default();
        let mut core = |name: &str, s: ConfigSetting| {
            c.core.insert(name.to_string(), s);
        };
        core(
            "ALLOW_BROKEN_CONDITIONALS",
            flag(&self.allow_broken_conditionals, false),
        );
        core("DEFAULT_BECOME", flag(&self.become_, false));
        core(
            "DEFAULT_PRIVATE_ROLE_VARS",
            flag(&self.private_role_vars, false),
        );
        core("DEFAULT_BECOME_USER", text(&self.become_user, Some("root")));
        core("DEFAULT_REMOTE_USER", text(&self.remote_user, None));
        core("DEFAULT_FORKS", set(&self.forks, json!(5), |v| json!(v)));
        core(
            "DEFAULT_TIMEOUT",
            set(&self.timeout, json!(10), |v| json!(v)),
        );
        core("HOST_KEY_CHECKING", flag(&self.host_key_checking, true));
        core("ANY_ERRORS_FATAL", flag(&self.any_errors_fatal, false));
        core("DEFAULT_FORCE_HANDLERS", flag(&self.force_handlers, false));
        core("DEFAULT_NO_LOG", flag(&self.no_log, false));
        core("SHOW_CUSTOM_STATS", flag(&self.show_custom_stats, false));
        core("DEFAULT_DEBUG", flag(&self.debug, false));
        core(
            "MODULE_STRICT_UTF8_RESPONSE",
            flag(&self.module_strict_utf8_response, true),
        );
        let roles: Vec<String> = self
            .load_options(home_dir.as_deref())
            .roles_path
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        core(
            "DEFAULT_ROLES_PATH",
            ConfigSetting {
                origin: self
                    .roles_path
                    .as_ref()
                    .map_or("default".into(), |s| s.origin.as_ansible_says()),
                ..ConfigSetting::default_value(json!(roles))
            },
        );
        core(
            "DEPRECATION_WARNINGS",
            flag(&self.deprecation_warnings, true),
        );
        core(
            "ERROR_ON_MISSING_HANDLER",
            flag(&self.error_on_missing_handler, true),
        );
        core(
            "DEFAULT_HASH_BEHAVIOUR",
            set(&self.hash_merge, json!("replace"), |merge| {
                json!(if *merge { "merge" } else { "replace" })
            }),
        );
        // `~/.ansible`, the path expanded as ansible-core's `path` type does.
        let default_home =
            home_dir.map_or_else(|| json!("~/.ansible"), |h| json!(h.join(".ansible")));
        let ansible_home = set(&self.home, default_home, |p| json!(p));
        core("ANSIBLE_HOME", ansible_home.clone());
        core(
            "ANSIBLE_COW_ACCEPTLIST",
            ConfigSetting::default_value(json!(COW_ACCEPTLIST)),
        );
        // base.yml's entries for ansible-core's own tests of this lookup:
        // one a variable sets, one whose default is templated from another.
        core(
            "_Z_TEST_ENTRY",
            ConfigSetting::default_value(Json::Null).with_vars(&["_z_test_entry"]),
        );
        core(
            "_Z_TEST_ENTRY_3",
            ConfigSetting {
                origin: "default".into(),
                ..ansible_home
            },
        );
        let ssh = [
            (
                "remote_user",
                text(&self.remote_user, None).with_vars(&["ansible_user", "ansible_ssh_user"]),
            ),
            (
                "port",
                set(&self.remote_port, Json::Null, |v| json!(v))
                    .with_vars(&["ansible_port", "ansible_ssh_port"]),
            ),
        ];
        for (name, s) in ssh {
            c.plugin("connection", "ssh", name, s);
        }
        let remote_tmp =
            text(&self.remote_tmp, Some("~/.ansible/tmp")).with_vars(&["ansible_remote_tmp"]);
        c.plugin("shell", "sh", "remote_tmp", remote_tmp);
        c
    }

    /// Where custom modules are looked for after those of the playbook's and
    /// the roles' `library/` folders (`library`). Unset, Ansible's default:
    /// `~/.ansible/plugins/modules`, `/usr/share/ansible/plugins/modules`.
    pub fn library_path(&self, home: Option<&Path>) -> Vec<PathBuf> {
        match &self.library {
            Some(s) => s.value.clone(),
            None => home
                .map(|h| h.join(".ansible/plugins/modules"))
                .into_iter()
                .chain([PathBuf::from("/usr/share/ansible/plugins/modules")])
                .collect(),
        }
    }

    /// Connection variables the configuration sets for every host, each with
    /// its aliases: a host's own variable of any alias (from any layer) wins,
    /// as an inventory variable beats ansible.cfg in Ansible.
    pub fn connection_defaults(&self) -> ConnectionDefaults {
        let mut out: ConnectionDefaults = Vec::new();
        let mut add = |names: &'static [&'static str], v: Option<Json>| {
            if let Some(v) = v {
                out.push((names, v));
            }
        };
        add(
            &["ansible_port", "ansible_ssh_port"],
            self.remote_port.as_ref().map(|s| Json::from(s.value)),
        );
        add(
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
            self.private_key_file
                .as_ref()
                .map(|s| Json::from(s.value.display().to_string())),
        );
        add(
            &["ansible_host_key_checking", "ansible_ssh_host_key_checking"],
            self.host_key_checking.as_ref().map(|s| Json::from(s.value)),
        );
        for (names, s) in [
            (&["ansible_ssh_args"][..], &self.ssh_args),
            (&["ansible_ssh_common_args"][..], &self.ssh_common_args),
            (&["ansible_ssh_extra_args"][..], &self.ssh_extra_args),
        ] {
            add(names, s.as_ref().map(|s| Json::from(s.value.clone())));
        }
        out
    }

    /// `rprov config`: the file read and every setting that is set, with its origin.
    pub fn describe(&self) -> String {
        let mut out = match &self.file {
            Some(p) => format!("config file = {}\n", p.display()),
            None => "config file = None (looked at $ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg)\n".to_string(),
        };
        let width = self.shown.iter().map(|s| s.0.len()).max().unwrap_or(0);
        for (name, value, origin) in &self.shown {
            out.push_str(&format!("{name:<width$} = {value}  ({origin})\n"));
        }
        out
    }
}

fn range<T: TryFrom<i64>>(
    s: Option<Setting<i64>>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<Setting<T>>> {
    let Some(s) = s else { return Ok(None) };
    match T::try_from(s.value) {
        Ok(value) if (min..=max).contains(&s.value) => Ok(Some(Setting {
            value,
            origin: s.origin,
        })),
        _ => bail!(
            "{}: {name} is {}; expected a number from {min} to {max}",
            s.origin,
            s.value
        ),
    }
}

/// The config file Ansible would read, if any.
fn find(env: &Environment, warnings: &mut Vec<String>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    let from_env = (env.var)("ANSIBLE_CONFIG").map(|v| {
        let p = resolve(&v, &env.cwd, env);
        if p.is_dir() {
            p.join("ansible.cfg")
        } else {
            p
        }
    });
    candidates.extend(from_env.clone());
    let cwd_file = env.cwd.join("ansible.cfg");
    let world_writable = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&env.cwd).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
    };
    if !world_writable {
        candidates.push(cwd_file.clone());
    }
    if let Some(h) = &env.home {
        candidates.push(h.join(".ansible.cfg"));
    }
    candidates.push(env.system_file.clone());
    let found = candidates
        .into_iter()
        .find(|p| p.is_file() && std::fs::File::open(p).is_ok());
    if world_writable && cwd_file.exists() && found != from_env.clone().filter(|p| p.is_file()) {
        warnings.push(format!(
            "{} is ignored: the current directory is world-writable (as Ansible does; set ANSIBLE_CONFIG to use it)",
            cwd_file.display()
        ));
    }
    found
}

/// Ansible's `unfrackpath`: `{{CWD}}`, `$VAR`/`${VAR}` and `~` expanded, a
/// relative path joined to `base`.
fn resolve(path: &str, base: &Path, env: &Environment) -> PathBuf {
    let path = path.replace("{{CWD}}", &env.cwd.display().to_string());
    let expanded = expand_vars(&path, env);
    let expanded = match (expanded.strip_prefix('~'), &env.home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", home.display())
        }
        _ => expanded,
    };
    let p = PathBuf::from(expanded);
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// Python's `os.path.expandvars`: `$NAME` and `${NAME}` of set variables;
/// anything else is left as written.
fn expand_vars(s: &str, env: &Environment) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail, braced) = match after.strip_prefix('{') {
            Some(b) => match b.split_once('}') {
                Some((n, t)) => (n, t, true),
                None => ("", after, false),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..], false)
            }
        };
        match (!name.is_empty()).then(|| (env.var)(name)).flatten() {
            Some(v) => out.push_str(&v),
            None if name.is_empty() => out.push('$'),
            None if braced => out.push_str(&format!("${{{name}}}")),
            None => out.push_str(&format!("${name}")),
        }
        rest = if name.is_empty() { after } else { tail };
    }
    out.push_str(rest);
    out
}

/// Ansible's `unquote`: one pair of matching outer quotes removed.
fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

const TRUE_WORDS: &[&str] = &["y", "yes", "on", "1", "true", "t", "1.0"];
const FALSE_WORDS: &[&str] = &["n", "no", "off", "0", "false", "f", "0.0"];

/// Reads one setting after another from the environment, then the file.
struct Reader<'a, 'b> {
    env: &'a Environment<'a>,
    ini: Option<(&'a Ini, &'a Path)>,
    cfg: &'b mut AnsibleConfig,
}

impl Reader<'_, '_> {
    /// The raw text, its origin, and the directory relative paths start from.
    fn raw(&self, key: &Key) -> Result<Option<(String, Origin, PathBuf)>> {
        let from_env = key
            .env
            .iter()
            .rev()
            .find_map(|name| (self.env.var)(name).map(|v| (v, Origin::Env(name))));
        if let Some((v, origin)) = from_env {
            // An empty variable of a non-text setting means "unset" in Ansible.
            if !(v.is_empty() && key.kind != Kind::Str) {
                return Ok(Some((v, origin, self.env.cwd.clone())));
            }
        }
        let Some((ini, path)) = self.ini else {
            return Ok(None);
        };
        for (section, name) in key.ini.iter().rev() {
            if let Some((v, line)) = ini.get(section, name) {
                let dir = path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| self.env.cwd.clone());
                let origin = Origin::File {
                    path: path.to_path_buf(),
                    line,
                };
                let v = unquote(v).to_string();
                return Ok(Some((v, origin, dir)));
            }
        }
        Ok(None)
    }

    fn show(&mut self, key: &Key, value: String, origin: &Origin) {
        self.cfg.shown.push((key.name, value, origin.clone()));
    }

    fn string(&mut self, key: &Key) -> Result<Option<Setting<String>>> {
        let Some((value, origin, _)) = self.raw(key)? else {
            return Ok(None);
        };
        self.show(key, value.clone(), &origin);
        Ok(Some(Setting { value, origin }))
    }

    fn boolean(&mut self, key: &Key) -> Result<Option<Setting<bool>>> {
        let Some((raw, origin, _)) = self.raw(key)? else {
            return Ok(None);
        };
        let word = raw.trim().to_ascii_lowercase();
        let value = TRUE_WORDS.contains(&word.as_str());
        if !value && !FALSE_WORDS.contains(&word.as_str()) {
            self.cfg.warnings.push(format!(
                "{origin}: {} is {raw:?}, which is not a yes/no word: read as false, as Ansible does",
                key.name
            ));
        }
        self.show(key, if value { "True" } else { "False" }.into(), &origin);
        Ok(Some(Setting { value, origin }))
    }

    fn int(&mut self, key: &Key) -> Result<Option<Setting<i64>>> {
        let Some((raw, origin, _)) = self.raw(key)? else {
            return Ok(None);
        };
        let t = raw.trim();
        let value = t.parse::<i64>().ok().or_else(|| {
            t.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        });
        let Some(value) = value else {
            bail!("{origin}: {} is {raw:?}, not a whole number", key.name);
        };
        self.show(key, value.to_string(), &origin);
        Ok(Some(Setting { value, origin }))
    }

    fn path(&mut self, key: &Key) -> Result<Option<Setting<PathBuf>>> {
        let Some((raw, origin, dir)) = self.raw(key)? else {
            return Ok(None);
        };
        let value = resolve(raw.trim(), &dir, self.env);
        self.show(key, value.display().to_string(), &origin);
        Ok(Some(Setting { value, origin }))
    }

    fn paths(&mut self, key: &Key) -> Result<Option<Setting<Vec<PathBuf>>>> {
        let Some((raw, origin, dir)) = self.raw(key)? else {
            return Ok(None);
        };
        let sep = if key.kind == Kind::PathSpec { ':' } else { ',' };
        let value: Vec<PathBuf> = raw
            .split(sep)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| resolve(unquote(p), &dir, self.env))
            .collect();
        let shown: Vec<String> = value.iter().map(|p| p.display().to_string()).collect();
        self.show(key, shown.join(&sep.to_string()), &origin);
        Ok(Some(Setting { value, origin }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fixture {
        dir: tempfile::TempDir,
        vars: HashMap<String, String>,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().expect("tempdir");
            for d in ["cwd", "home", "etc", "elsewhere"] {
                std::fs::create_dir(dir.path().join(d)).expect("mkdir");
            }
            Fixture {
                dir,
                vars: HashMap::new(),
            }
        }
        fn path(&self, p: &str) -> PathBuf {
            self.dir.path().join(p)
        }
        fn write(&self, p: &str, text: &str) {
            std::fs::write(self.path(p), text).expect("write");
        }
        fn load(&self) -> Result<AnsibleConfig> {
            let vars = self.vars.clone();
            let lookup = move |n: &str| vars.get(n).cloned();
            AnsibleConfig::load(&Environment {
                var: &lookup,
                cwd: self.path("cwd"),
                home: Some(self.path("home")),
                system_file: self.path("etc/ansible.cfg"),
            })
        }
    }

    #[test]
    fn the_first_file_found_wins() {
        let mut f = Fixture::new();
        assert_eq!(f.load().expect("no file").file, None);
        f.write("etc/ansible.cfg", "[defaults]\nforks = 1\n");
        assert_eq!(f.load().expect("etc").file, Some(f.path("etc/ansible.cfg")));
        f.write("home/.ansible.cfg", "[defaults]\nforks = 2\n");
        assert_eq!(f.load().expect("home").forks.map(|s| s.value), Some(2));
        f.write("cwd/ansible.cfg", "[defaults]\nforks = 3\n");
        assert_eq!(f.load().expect("cwd").forks.map(|s| s.value), Some(3));
        f.write("elsewhere/ansible.cfg", "[defaults]\nforks = 4\n");
        f.vars.insert(
            "ANSIBLE_CONFIG".into(),
            f.path("elsewhere").display().to_string(),
        );
        let c = f.load().expect("env dir");
        assert_eq!(c.file, Some(f.path("elsewhere/ansible.cfg")));
        assert_eq!(c.forks.map(|s| s.value), Some(4));
        // ANSIBLE_CONFIG naming no file: the search goes on.
        f.vars
            .insert("ANSIBLE_CONFIG".into(), "/nonexistent.cfg".into());
        assert_eq!(
            f.load().expect("fallthrough").file,
            Some(f.path("cwd/ansible.cfg"))
        );
    }

    #[test]
    fn environment_beats_file_and_paths_are_relative_to_their_origin() {
        let mut f = Fixture::new();
        f.write(
            "cwd/ansible.cfg",
            "[defaults]\ninventory = inv/hosts.ini, /abs/hosts\nroles_path = roles:~/shared\nhost_key_checking = False\nremote_user = 'deploy'\n\
             [ssh_connection]\nhost_key_checking = yes\nssh_common_args = -o StrictHostKeyChecking=no\n",
        );
        let c = f.load().expect("load");
        let inv = c.inventory.expect("inventory");
        assert_eq!(
            inv.value,
            vec![f.path("cwd/inv/hosts.ini"), PathBuf::from("/abs/hosts")]
        );
        assert!(matches!(inv.origin, Origin::File { line: 2, .. }));
        assert_eq!(
            c.roles_path.expect("roles").value,
            vec![f.path("cwd/roles"), f.path("home/shared")]
        );
        // The later ini entry ([ssh_connection]) wins, as in Ansible.
        assert_eq!(c.host_key_checking.as_ref().map(|s| s.value), Some(true));
        assert_eq!(c.remote_user.expect("user").value, "deploy");
        assert_eq!(
            c.ssh_common_args.expect("args").value,
            "-o StrictHostKeyChecking=no"
        );
        f.vars
            .insert("ANSIBLE_HOST_KEY_CHECKING".into(), "False".into());
        f.vars
            .insert("ANSIBLE_INVENTORY".into(), "other.ini".into());
        let c = f.load().expect("load");
        let hkc = c.host_key_checking.expect("hkc");
        assert!(!hkc.value);
        assert_eq!(hkc.origin, Origin::Env("ANSIBLE_HOST_KEY_CHECKING"));
        assert_eq!(
            c.inventory.expect("inventory").value,
            vec![f.path("cwd/other.ini")]
        );
    }

    #[test]
    fn values_are_checked_and_odd_ones_warned_about() {
        let mut f = Fixture::new();
        f.write(
            "cwd/ansible.cfg",
            "[defaults]\nhost_key_checking = nope\nhash_behaviour = merge\nnocows = 1\nretry_files_enabled = False\n\
             [ssh_connection]\npipelining = True\ncontrol_path = %%(directory)s/%%%%h-%%%%p\n\
             [diff]\nalways = yes\n",
        );
        let c = f.load().expect("load");
        assert_eq!(c.host_key_checking.map(|s| s.value), Some(false));
        assert_eq!(c.hash_merge.map(|s| s.value), Some(true));
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("[diff] always"), "{:?}", c.warnings);
        assert!(c.warnings[1].contains("\"nope\""), "{:?}", c.warnings);
        f.vars
            .insert("ANSIBLE_HASH_BEHAVIOUR".into(), "deep".into());
        let e = f.load().unwrap_err().to_string();
        assert!(
            e.contains("ANSIBLE_HASH_BEHAVIOUR") && e.contains("replace or merge"),
            "{e}"
        );
        f.vars.remove("ANSIBLE_HASH_BEHAVIOUR");
        f.vars.insert("ANSIBLE_FORKS".into(), "many".into());
        let e = f.load().unwrap_err().to_string();
        assert!(e.contains("ANSIBLE_FORKS") && e.contains("many"), "{e}");
        f.vars.insert("ANSIBLE_FORKS".into(), "".into());
        f.vars
            .insert("ANSIBLE_GATHERING".into(), "sometimes".into());
        let e = f.load().unwrap_err().to_string();
        assert!(e.contains("gathering"), "{e}");
    }

    #[test]
    fn fact_cache_settings_come_from_file_and_environment() {
        let mut f = Fixture::new();
        assert_eq!(f.load().expect("none").fact_cache, Default::default());
        f.write(
            "cwd/ansible.cfg",
            "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = cache\nfact_caching_prefix = pre_\nfact_caching_timeout = 0\n",
        );
        let c = f.load().expect("file");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            c.fact_cache,
            crate::fact_cache::Settings {
                plugin: Some("jsonfile".into()),
                connection: Some(f.path("cwd/cache")),
                prefix: Some("pre_".into()),
                timeout: Some(0),
            }
        );
        for (k, v) in [
            ("ANSIBLE_CACHE_PLUGIN", "memory"),
            ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "/var/cache/facts"),
            ("ANSIBLE_CACHE_PLUGIN_PREFIX", "x_"),
            ("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "60"),
        ] {
            f.vars.insert(k.into(), v.into());
        }
        assert_eq!(
            f.load().expect("env").fact_cache,
            crate::fact_cache::Settings {
                plugin: Some("memory".into()),
                connection: Some(PathBuf::from("/var/cache/facts")),
                prefix: Some("x_".into()),
                timeout: Some(60),
            }
        );
        f.vars
            .insert("ANSIBLE_CACHE_PLUGIN_TIMEOUT".into(), "-1".into());
        let e = f.load().unwrap_err().to_string();
        assert!(e.contains("fact_caching_timeout"), "{e}");
    }

    #[test]
    fn expands_like_unfrackpath() {
        let mut f = Fixture::new();
        f.vars.insert("DIR".into(), "/srv".into());
        let env_vars = f.vars.clone();
        let lookup = move |n: &str| env_vars.get(n).cloned();
        let env = Environment {
            var: &lookup,
            cwd: f.path("cwd"),
            home: Some(f.path("home")),
            system_file: f.path("etc/ansible.cfg"),
        };
        assert_eq!(
            resolve("$DIR/x", Path::new("/b"), &env),
            PathBuf::from("/srv/x")
        );
        assert_eq!(
            resolve("${DIR}/x", Path::new("/b"), &env),
            PathBuf::from("/srv/x")
        );
        assert_eq!(
            resolve("$NOPE/x", Path::new("/b"), &env),
            PathBuf::from("/b/$NOPE/x")
        );
        assert_eq!(resolve("~/r", Path::new("/b"), &env), f.path("home/r"));
        assert_eq!(resolve("{{CWD}}/r", Path::new("/b"), &env), f.path("cwd/r"));
        f.vars.clear();
    }
}

#[cfg(test)]
mod apply_tests {
    use super::*;

    /// What the configuration gives the playbook loader and the connections,
    /// checked on a real playbook file.
    #[test]
    fn play_defaults_and_connection_defaults_come_from_the_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg_file = dir.path().join("ansible.cfg");
        std::fs::write(
            &cfg_file,
            "[defaults]\ngathering = explicit\nany_errors_fatal = yes\nforce_handlers = yes\nremote_user = deploy\nremote_port = 2200\nhost_key_checking = no\n\
             [privilege_escalation]\nbecome = True\nbecome_user = app\n[ssh_connection]\nssh_args = -C\n",
        )
        .expect("write");
        let var = |n: &str| (n == "ANSIBLE_CONFIG").then(|| "ansible.cfg".to_string());
        let cfg = AnsibleConfig::load(&Environment {
            var: &var,
            cwd: dir.path().to_path_buf(),
            home: None,
            system_file: dir.path().join("none"),
        })
        .expect("load");
        let opts = cfg.load_options(None);
        assert!(opts.error_on_missing_handler);
        let pb = dir.path().join("site.yml");
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks: []\n- hosts: all\n  gather_facts: yes\n  become: no\n  remote_user: other\n  any_errors_fatal: no\n  force_handlers: no\n  tasks: []\n",
        )
        .expect("write");
        let book = crate::playbook::load_playbook_with(&pb, &opts).expect("playbook");
        let (a, b) = (&book.plays[0], &book.plays[1]);
        assert_eq!(
            (
                a.gather_facts,
                a.any_errors_fatal,
                a.become_,
                a.remote_user.as_deref()
            ),
            (false, true, Some(true), Some("deploy"))
        );
        assert_eq!(a.become_user.as_deref(), Some("app"));
        assert_eq!((a.force_handlers, b.force_handlers), (true, false));
        assert_eq!(
            (
                b.gather_facts,
                b.any_errors_fatal,
                b.become_,
                b.remote_user.as_deref()
            ),
            (true, false, Some(false), Some("other"))
        );
        let conn: Vec<(&str, Json)> = cfg
            .connection_defaults()
            .into_iter()
            .map(|(names, v)| (names[0], v))
            .collect();
        assert_eq!(
            conn,
            vec![
                ("ansible_port", Json::from(2200)),
                ("ansible_host_key_checking", Json::from(false)),
                ("ansible_ssh_args", Json::from("-C")),
            ]
        );
    }
}
