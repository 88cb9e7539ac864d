//! Which ansible.cfg keys rprov reads, where each comes from, and which it
//! accepts without effect.
//!
//! Names, ini sections and environment variables are ansible-core 2.19's
//! (`lib/ansible/config/base.yml`, and the ssh connection plugin's options for
//! `host_key_checking`, `timeout` and the ssh arguments). When a setting has
//! several ini entries or variables, the last one present wins, as in
//! Ansible's `_loop_entries`.

/// How a raw value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Ansible's non-strict boolean: `y yes on 1 true t` are true, anything else false.
    Bool,
    /// A whole number (`10`, `10.0`).
    Int,
    /// Text, unquoted when it comes from the file.
    Str,
    /// One path: `~`, `$VAR` and `{{CWD}}` expanded, relative to the file's directory.
    Path,
    /// Paths separated by `,` (`inventory`).
    PathList,
    /// Paths separated by `:` (`roles_path`).
    PathSpec,
}

/// One setting rprov implements.
pub struct Key {
    /// The name shown by `rprov config` (the ini key).
    pub name: &'static str,
    /// `(section, key)` entries, lowest precedence first.
    pub ini: &'static [(&'static str, &'static str)],
    /// Environment variables, lowest precedence first.
    pub env: &'static [&'static str],
    pub kind: Kind,
}

const fn key(
    name: &'static str,
    ini: &'static [(&'static str, &'static str)],
    env: &'static [&'static str],
    kind: Kind,
) -> Key {
    Key {
        name,
        ini,
        env,
        kind,
    }
}

pub const INVENTORY: Key = key(
    "inventory",
    &[("defaults", "inventory")],
    &["ANSIBLE_INVENTORY"],
    Kind::PathList,
);
pub const ROLES_PATH: Key = key(
    "roles_path",
    &[("defaults", "roles_path")],
    &["ANSIBLE_ROLES_PATH"],
    Kind::PathSpec,
);
/// Where installed collections are (their roles, for `namespace.collection.role`).
pub const COLLECTIONS_PATH: Key = key(
    "collections_path",
    &[
        ("defaults", "collections_paths"),
        ("defaults", "collections_path"),
    ],
    &["ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_COLLECTIONS_PATH"],
    Kind::PathSpec,
);
/// Where Ansible looks for custom modules before its own (`DEFAULT_MODULE_PATH`):
/// the Ansible fallback runs one found there instead of a builtin of that name.
pub const LIBRARY: Key = key(
    "library",
    &[("defaults", "library")],
    &["ANSIBLE_LIBRARY"],
    Kind::PathSpec,
);
/// Where those modules' `module_utils` are (`DEFAULT_MODULE_UTILS_PATH`); read
/// by ansible-core itself when it builds a fallback module's payload.
pub const MODULE_UTILS: Key = key(
    "module_utils",
    &[("defaults", "module_utils")],
    &["ANSIBLE_MODULE_UTILS"],
    Kind::PathSpec,
);
pub const REMOTE_USER: Key = key(
    "remote_user",
    &[("defaults", "remote_user")],
    &["ANSIBLE_REMOTE_USER"],
    Kind::Str,
);
pub const REMOTE_PORT: Key = key(
    "remote_port",
    &[("defaults", "remote_port")],
    &["ANSIBLE_REMOTE_PORT"],
    Kind::Int,
);
pub const PRIVATE_KEY_FILE: Key = key(
    "private_key_file",
    &[("defaults", "private_key_file")],
    &["ANSIBLE_PRIVATE_KEY_FILE"],
    Kind::Path,
);
pub const HOST_KEY_CHECKING: Key = key(
    "host_key_checking",
    &[
        ("defaults", "host_key_checking"),
        ("ssh_connection", "host_key_checking"),
    ],
    &["ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"],
    Kind::Bool,
);
pub const BECOME: Key = key(
    "become",
    &[("privilege_escalation", "become")],
    &["ANSIBLE_BECOME"],
    Kind::Bool,
);
pub const BECOME_USER: Key = key(
    "become_user",
    &[("privilege_escalation", "become_user")],
    &["ANSIBLE_BECOME_USER"],
    Kind::Str,
);
pub const FORKS: Key = key(
    "forks",
    &[("defaults", "forks")],
    &["ANSIBLE_FORKS"],
    Kind::Int,
);
pub const VAULT_PASSWORD_FILE: Key = key(
    "vault_password_file",
    &[("defaults", "vault_password_file")],
    &["ANSIBLE_VAULT_PASSWORD_FILE"],
    Kind::Path,
);
pub const ERROR_ON_MISSING_HANDLER: Key = key(
    "error_on_missing_handler",
    &[("defaults", "error_on_missing_handler")],
    &["ANSIBLE_ERROR_ON_MISSING_HANDLER"],
    Kind::Bool,
);
pub const TIMEOUT: Key = key(
    "timeout",
    &[("defaults", "timeout"), ("ssh_connection", "timeout")],
    &["ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"],
    Kind::Int,
);
pub const GATHERING: Key = key(
    "gathering",
    &[("defaults", "gathering")],
    &["ANSIBLE_GATHERING"],
    Kind::Str,
);
pub const ANY_ERRORS_FATAL: Key = key(
    "any_errors_fatal",
    &[("defaults", "any_errors_fatal")],
    &["ANSIBLE_ANY_ERRORS_FATAL"],
    Kind::Bool,
);
pub const FORCE_HANDLERS: Key = key(
    "force_handlers",
    &[("defaults", "force_handlers")],
    &["ANSIBLE_FORCE_HANDLERS"],
    Kind::Bool,
);
/// `no_log`: the `no_log` of every task that does not say (its play's,
/// block's or own), as ansible-core's `DEFAULT_NO_LOG`.
pub const NO_LOG: Key = key(
    "no_log",
    &[("defaults", "no_log")],
    &["ANSIBLE_NO_LOG"],
    Kind::Bool,
);
/// `allow_broken_conditionals`: a conditional whose result is not a
/// boolean is taken for its truth (ansible-core 2.19's deprecated escape
/// hatch) instead of failing its task.
pub const ALLOW_BROKEN_CONDITIONALS: Key = key(
    "allow_broken_conditionals",
    &[("defaults", "allow_broken_conditionals")],
    &["ANSIBLE_ALLOW_BROKEN_CONDITIONALS"],
    Kind::Bool,
);
/// `private_role_vars`: a role's defaults and vars are its own tasks' only
/// (`roles:` and `import_role` too), unless an import says `public: true`.
pub const PRIVATE_ROLE_VARS: Key = key(
    "private_role_vars",
    &[("defaults", "private_role_vars")],
    &["ANSIBLE_PRIVATE_ROLE_VARS"],
    Kind::Bool,
);
/// Whether the recap is followed by the `set_stats` values, as
/// ansible-core's default callback's `show_custom_stats`.
pub const SHOW_CUSTOM_STATS: Key = key(
    "show_custom_stats",
    &[("defaults", "show_custom_stats")],
    &["ANSIBLE_SHOW_CUSTOM_STATS"],
    Kind::Bool,
);
/// ansible-core's `DEFAULT_DEBUG`: its debug trace on the screen. rprov
/// prints the lines of it that say what a play's flow did (handlers
/// flushed or not), which scripts grep.
pub const DEBUG: Key = key(
    "debug",
    &[("defaults", "debug")],
    &["ANSIBLE_DEBUG"],
    Kind::Bool,
);
/// ansible-core's `MODULE_STRICT_UTF8_RESPONSE`: JSON holding a lone UTF-16
/// surrogate is refused where it is read (`from_json`), or read with `?`.
pub const MODULE_STRICT_UTF8_RESPONSE: Key = key(
    "module_strict_utf8_response",
    &[("defaults", "module_strict_utf8_response")],
    &["ANSIBLE_MODULE_STRICT_UTF8_RESPONSE"],
    Kind::Bool,
);
/// `hash_behaviour`: `merge` deep-merges mappings a variable has at several
/// precedence levels instead of the higher one replacing the lower
/// (deprecated upstream, still honoured by ansible-core 2.19).
pub const HASH_BEHAVIOUR: Key = key(
    "hash_behaviour",
    &[("defaults", "hash_behaviour")],
    &["ANSIBLE_HASH_BEHAVIOUR"],
    Kind::Str,
);
pub const SSH_ARGS: Key = key(
    "ssh_args",
    &[("ssh_connection", "ssh_args")],
    &["ANSIBLE_SSH_ARGS"],
    Kind::Str,
);
pub const SSH_COMMON_ARGS: Key = key(
    "ssh_common_args",
    &[("ssh_connection", "ssh_common_args")],
    &["ANSIBLE_SSH_COMMON_ARGS"],
    Kind::Str,
);
pub const SSH_EXTRA_ARGS: Key = key(
    "ssh_extra_args",
    &[("ssh_connection", "ssh_extra_args")],
    &["ANSIBLE_SSH_EXTRA_ARGS"],
    Kind::Str,
);

/// What loading the inventory does with group names that are no valid
/// variable names (`never`, `ignore`, `always`, `silently`).
pub const TRANSFORM_INVALID_GROUP_CHARS: Key = key(
    "force_valid_group_names",
    &[("defaults", "force_valid_group_names")],
    &["ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS"],
    Kind::Str,
);

/// The plugin filter file: modules no playbook may use (`plugin_filters`).
pub const PLUGIN_FILTERS_CFG: Key = key(
    "plugin_filters_cfg",
    &[("defaults", "plugin_filters_cfg")],
    &["ANSIBLE_PLUGIN_FILTERS_CFG"],
    Kind::Path,
);

/// A file that gets the run's output too, each message with the time, the
/// process id and the user, as ansible-core's `log_path`.
pub const LOG_PATH: Key = key(
    "log_path",
    &[("defaults", "log_path")],
    &["ANSIBLE_LOG_PATH"],
    Kind::Path,
);
/// The verbosity of the `log_path` file when it is above `-v`'s.
pub const LOG_VERBOSITY: Key = key(
    "log_verbosity",
    &[("defaults", "log_verbosity")],
    &["ANSIBLE_LOG_VERBOSITY"],
    Kind::Int,
);

/// The fact cache plugin: `memory` (the default: nothing kept past the
/// run) or `jsonfile` (see `fact_cache`).
pub const CACHE_PLUGIN: Key = key(
    "fact_caching",
    &[("defaults", "fact_caching")],
    &["ANSIBLE_CACHE_PLUGIN"],
    Kind::Str,
);
/// `jsonfile`'s directory.
pub const CACHE_PLUGIN_CONNECTION: Key = key(
    "fact_caching_connection",
    &[("defaults", "fact_caching_connection")],
    &["ANSIBLE_CACHE_PLUGIN_CONNECTION"],
    Kind::Path,
);
/// What `jsonfile`'s file names start with.
pub const CACHE_PLUGIN_PREFIX: Key = key(
    "fact_caching_prefix",
    &[("defaults", "fact_caching_prefix")],
    &["ANSIBLE_CACHE_PLUGIN_PREFIX"],
    Kind::Str,
);
/// Seconds a cache entry stays fresh (0: for ever).
pub const CACHE_PLUGIN_TIMEOUT: Key = key(
    "fact_caching_timeout",
    &[("defaults", "fact_caching_timeout")],
    &["ANSIBLE_CACHE_PLUGIN_TIMEOUT"],
    Kind::Int,
);

/// Whether deprecation warnings are shown (ansible-core's default: yes).
pub const DEPRECATION_WARNINGS: Key = key(
    "deprecation_warnings",
    &[("defaults", "deprecation_warnings")],
    &["ANSIBLE_DEPRECATION_WARNINGS"],
    Kind::Bool,
);

/// `use_extra_vars` of inventory plugins that construct (`constructed`)
/// when their file does not set it: `-e` joins their variables.
pub const INVENTORY_ENABLED: Key = key(
    "enable_plugins",
    &[("inventory", "enable_plugins")],
    &["ANSIBLE_INVENTORY_ENABLED"],
    Kind::Str,
);
pub const STDOUT_CALLBACK: Key = key(
    "stdout_callback",
    &[("defaults", "stdout_callback")],
    &["ANSIBLE_STDOUT_CALLBACK"],
    Kind::Str,
);
pub const LOAD_CALLBACK_PLUGINS: Key = key(
    "bin_ansible_callbacks",
    &[("defaults", "bin_ansible_callbacks")],
    &["ANSIBLE_LOAD_CALLBACK_PLUGINS"],
    Kind::Bool,
);
pub const DUPLICATE_YAML_DICT_KEY: Key = key(
    "duplicate_dict_key",
    &[("defaults", "duplicate_dict_key")],
    &["ANSIBLE_DUPLICATE_YAML_DICT_KEY"],
    Kind::Str,
);
pub const INVENTORY_USE_EXTRA_VARS: Key = key(
    "use_extra_vars",
    &[("inventory_plugins", "use_extra_vars")],
    &["ANSIBLE_INVENTORY_USE_EXTRA_VARS"],
    Kind::Bool,
);
/// `home` (`ANSIBLE_HOME`): the root of Ansible's controller files,
/// answered by `lookup('config', 'ANSIBLE_HOME')`.
pub const HOME: Key = key(
    "home",
    &[("defaults", "home")],
    &["ANSIBLE_HOME"],
    Kind::Path,
);
/// `remote_tmp`: the `sh` shell plugin's temporary folder on hosts, answered
/// by `lookup('config', …)`; rprov writes no module files there.
pub const REMOTE_TMP: Key = key(
    "remote_tmp",
    &[("defaults", "remote_tmp")],
    &["ANSIBLE_REMOTE_TEMP", "ANSIBLE_REMOTE_TMP"],
    Kind::Str,
);
/// ansible-core 2.19's private `_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR`: what
/// meeting `!unsafe` text that holds a template does (`ignore`, `warning`,
/// `error`). Set in the environment only.
pub const UNTRUSTED_TEMPLATE_BEHAVIOR: Key = key(
    "_templar_untrusted_template_behavior",
    &[],
    &["_ANSIBLE_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR"],
    Kind::Str,
);

/// Every implemented setting, in the order `rprov config` lists them.
pub const ALL: &[&Key] = &[
    &INVENTORY,
    &ROLES_PATH,
    &COLLECTIONS_PATH,
    &LIBRARY,
    &MODULE_UTILS,
    &REMOTE_USER,
    &REMOTE_PORT,
    &PRIVATE_KEY_FILE,
    &HOST_KEY_CHECKING,
    &BECOME,
    &BECOME_USER,
    &FORKS,
    &VAULT_PASSWORD_FILE,
    &ERROR_ON_MISSING_HANDLER,
    &TIMEOUT,
    &GATHERING,
    &ANY_ERRORS_FATAL,
    &FORCE_HANDLERS,
    &NO_LOG,
    &SHOW_CUSTOM_STATS,
    &DEBUG,
    &MODULE_STRICT_UTF8_RESPONSE,
    &ALLOW_BROKEN_CONDITIONALS,
    &PRIVATE_ROLE_VARS,
    &HASH_BEHAVIOUR,
    &SSH_ARGS,
    &SSH_COMMON_ARGS,
    &SSH_EXTRA_ARGS,
    &TRANSFORM_INVALID_GROUP_CHARS,
    &PLUGIN_FILTERS_CFG,
    &LOG_PATH,
    &LOG_VERBOSITY,
    &DEPRECATION_WARNINGS,
    &CACHE_PLUGIN,
    &CACHE_PLUGIN_CONNECTION,
    &CACHE_PLUGIN_PREFIX,
    &CACHE_PLUGIN_TIMEOUT,
    &INVENTORY_USE_EXTRA_VARS,
    &INVENTORY_ENABLED,
    &STDOUT_CALLBACK,
    &LOAD_CALLBACK_PLUGINS,
    &DUPLICATE_YAML_DICT_KEY,
    &HOME,
    &REMOTE_TMP,
    &UNTRUSTED_TEMPLATE_BEHAVIOR,
];

/// Sections that only tune Ansible itself (colours, galaxy, other connection
/// plugins, callback plugins): accepted without a word.
const INTERNAL_SECTIONS: &[&str] = &[
    "colors",
    "galaxy",
    "paramiko_connection",
    "persistent_connection",
    "netconf_connection",
    "selinux",
    "jinja2",
    "testing",
];

/// Keys that only tune how Ansible itself works (its output, plugins,
/// Python, temp files, retries, control sockets, cows): nothing a host sees
/// changes, so rprov accepts them without a word.
const INTERNAL_KEYS: &[(&str, &str)] = &[
    ("defaults", "action_warnings"),
    ("defaults", "bin_ansible_callbacks"),
    ("defaults", "callback_plugins"),
    ("defaults", "callback_whitelist"),
    ("defaults", "callbacks_enabled"),
    ("defaults", "collections_on_ansible_version_mismatch"),
    ("defaults", "collections_scan_sys_path"),
    ("defaults", "command_warnings"),
    ("defaults", "cow_selection"),
    ("defaults", "cow_whitelist"),
    ("defaults", "cowpath"),
    ("defaults", "cowsay_enabled_stencils"),
    ("defaults", "devel_warning"),
    ("defaults", "display_args_to_stdout"),
    ("defaults", "display_ok_hosts"),
    ("defaults", "display_skipped_hosts"),
    ("defaults", "display_traceback"),
    ("defaults", "docsite_root_url"),
    ("defaults", "editor"),
    ("defaults", "force_color"),
    ("defaults", "internal_poll_interval"),
    ("defaults", "interpreter_python"),
    ("defaults", "inventory_unparsed_warning"),
    ("defaults", "local_tmp"),
    ("defaults", "localhost_warning"),
    ("defaults", "module_compression"),
    ("defaults", "nocolor"),
    ("defaults", "nocows"),
    ("defaults", "old_plugin_cache_clear"),
    ("defaults", "pager"),
    ("defaults", "pipelining"),
    ("defaults", "poll_interval"),
    ("defaults", "python_module_rlimit_nofile"),
    ("defaults", "retry_files_enabled"),
    ("defaults", "retry_files_save_path"),
    ("defaults", "system_warnings"),
    ("defaults", "target_log_info"),
    ("defaults", "use_persistent_connections"),
    ("defaults", "validate_action_group_metadata"),
    ("defaults", "verbose_to_stderr"),
    ("defaults", "verbosity"),
    ("connection", "pipelining"),
    ("ssh_connection", "control_path"),
    ("ssh_connection", "control_path_dir"),
    ("ssh_connection", "pipelining"),
    ("ssh_connection", "reconnection_retries"),
    ("ssh_connection", "retries"),
    ("ssh_connection", "scp_extra_args"),
    ("ssh_connection", "scp_if_ssh"),
    ("ssh_connection", "sftp_batch_mode"),
    ("ssh_connection", "sftp_extra_args"),
    ("ssh_connection", "ssh_transfer_method"),
    ("ssh_connection", "transfer_method"),
    ("ssh_connection", "usetty"),
    ("privilege_escalation", "agnostic_become_prompt"),
    ("privilege_escalation", "become_allow_same_user"),
    ("inventory", "inventory_unparsed_warning"),
];

/// What rprov does with a key of the file.
#[derive(Debug, PartialEq, Eq)]
pub enum Class {
    /// One of [`ALL`].
    Implemented,
    /// Tunes Ansible's internals only: accepted silently.
    Internal,
    /// Would change behaviour and rprov does not implement it: one warning.
    Unimplemented,
}

/// Classifies `[section] key = value`.
pub fn classify(section: &str, key: &str, value: &str) -> Class {
    if ALL
        .iter()
        .any(|k| k.ini.iter().any(|(s, n)| *s == section && *n == key))
    {
        return Class::Implemented;
    }
    let value = value.trim().to_ascii_lowercase();
    let internal = INTERNAL_SECTIONS.contains(&section)
        || section.starts_with("callback_")
        || INTERNAL_KEYS.contains(&(section, key))
        // What rprov does anyway.
        || (section, key) == ("privilege_escalation", "become_method") && value == "sudo"
        || (section, key) == ("defaults", "transport")
            && rprov_inventory::ConnectionKind::parse(&value)
                == Some(rprov_inventory::ConnectionKind::Ssh);
    if internal {
        Class::Internal
    } else {
        Class::Unimplemented
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_by_what_they_do() {
        assert_eq!(classify("defaults", "forks", "9"), Class::Implemented);
        assert_eq!(
            classify("ssh_connection", "host_key_checking", "no"),
            Class::Implemented
        );
        assert_eq!(
            classify("ssh_connection", "pipelining", "True"),
            Class::Internal
        );
        assert_eq!(classify("colors", "ok", "green"), Class::Internal);
        assert_eq!(
            classify("privilege_escalation", "become_method", "sudo"),
            Class::Internal
        );
        assert_eq!(
            classify("privilege_escalation", "become_method", "su"),
            Class::Unimplemented
        );
        assert_eq!(
            classify("defaults", "hash_behaviour", "merge"),
            Class::Implemented
        );
        assert_eq!(classify("diff", "always", "yes"), Class::Unimplemented);
        assert_eq!(
            classify("defaults", "fact_caching", "jsonfile"),
            Class::Implemented
        );
    }
}
