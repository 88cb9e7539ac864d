//! ansible-core's fact cache: facts kept from one run to the next.
//!
//! ansible.cfg's `fact_caching` (`ANSIBLE_CACHE_PLUGIN`) picks the plugin.
//! `memory`, the default, keeps nothing past the run: rprov then behaves as
//! it always did. `jsonfile` keeps one file per host in the directory
//! `fact_caching_connection` names, as ansible-core 2.19's plugin of that
//! name (`plugins/cache/jsonfile.py`, `BaseFileCacheModule`) lays it out, so
//! rprov and ansible-playbook can share a cache directory:
//!
//! - the file is `<fact_caching_prefix><schema>_<host>` (ansible-core's
//!   `PluginInterposer` puts `s1_` before the host name: the schema of its
//!   cache serialisation), with no prefix when none is set;
//! - it holds `{"__payload__": "<the facts as JSON text>"}`, the facts being
//!   what ansible-core's `VariableManager` keeps per host: module facts
//!   under their returned names (`ansible_hostname`, `gather_subset`), the
//!   `set_fact` values marked `cacheable`, and `_ansible_facts_gathered`
//!   once the gather step ran;
//! - an entry older than `fact_caching_timeout` seconds (default 86400;
//!   0: never) counts as absent, and is left for the next write to replace;
//! - names starting with `.` are never entries.
//!
//! Values ansible-core wrote with its data tags (`{"__ansible_type":
//! "_AnsibleTaggedStr", "value": …, "tags": […]}`) read as their plain
//! value: rprov has no tags. What rprov writes carries none, which
//! ansible-core reads as untagged values.
//!
//! Writes are atomic: the new content goes to a hidden temporary file in the
//! same directory, which is then renamed over the entry, so a run killed at
//! any point leaves the old entry or the new one, never a torn one (a killed
//! run may leave the hidden temporary file, which no reader looks at). There
//! is no fsync, as in ansible-core: only a power loss at the wrong moment
//! could leave a damaged entry, which then reads as a warning. A file that
//! is not a cache entry (not JSON, no payload) is a warning naming it and
//! reads as no facts (ansible-core deletes it and stops the run).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value as Json};

/// The key ansible-core's `PluginInterposer` wraps the facts under.
const PAYLOAD_KEY: &str = "__payload__";

/// What ansible-core's `PluginInterposer` puts before every host name: its
/// cache serialisation's schema (`_cache_persistence._Profile.schema_id`).
pub const SCHEMA_PREFIX: &str = "s1_";

/// The key ansible-core's data tagging marks a serialised tagged value with.
const ANSIBLE_TYPE_KEY: &str = "__ansible_type";

/// The fact ansible-core's `gather_facts` action adds: `gathering = smart`
/// does not gather again for a host whose cached facts have it.
pub const GATHERED_KEY: &str = "_ansible_facts_gathered";

/// `fact_caching_timeout`'s default, in seconds (a day).
pub const DEFAULT_TIMEOUT: u64 = 86_400;

/// The cache settings of ansible.cfg and the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `fact_caching`; `None`: `memory`.
    pub plugin: Option<String>,
    /// `fact_caching_connection`: the directory of `jsonfile`.
    pub connection: Option<PathBuf>,
    /// `fact_caching_prefix`.
    pub prefix: Option<String>,
    /// `fact_caching_timeout` in seconds; `None`: [`DEFAULT_TIMEOUT`].
    pub timeout: Option<u64>,
}

/// The fact cache of a run.
#[derive(Debug)]
pub enum FactCache {
    /// Nothing kept past the run.
    Memory,
    /// One JSON file per host.
    JsonFile(JsonFile),
}

/// The `jsonfile` cache: its directory, the prefix of its file names and how
/// long an entry stays fresh.
#[derive(Debug)]
pub struct JsonFile {
    dir: PathBuf,
    prefix: String,
    /// `None`: entries never expire (`fact_caching_timeout = 0`).
    timeout: Option<Duration>,
}

/// A plugin name as ansible-core resolves it: short, `ansible.builtin.` or
/// `ansible.legacy.`.
fn builtin_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

impl FactCache {
    /// The cache `settings` ask for. A plugin rprov does not have, or a
    /// `jsonfile` without a usable directory, is a warning and the `memory`
    /// cache, as ansible-core falls back to `memory` when its cache plugin
    /// cannot be loaded.
    pub fn open(settings: &Settings) -> (FactCache, Option<String>) {
        let name = settings
            .plugin
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("memory");
        match builtin_name(name) {
            "memory" => (FactCache::Memory, None),
            "jsonfile" => {
                let Some(dir) = settings
                    .connection
                    .as_ref()
                    .filter(|d| !d.as_os_str().is_empty())
                else {
                    return (
                        FactCache::Memory,
                        Some("error, 'jsonfile' cache plugin requires the 'fact_caching_connection' config option to be set (to a writeable directory path); facts are not cached".to_string()),
                    );
                };
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return (
                        FactCache::Memory,
                        Some(format!(
                            "Error in 'jsonfile' cache plugin while trying to create cache dir {}: {e}; facts are not cached",
                            dir.display()
                        )),
                    );
                }
                let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
                (
                    FactCache::JsonFile(JsonFile {
                        dir: dir.clone(),
                        prefix: settings.prefix.clone().unwrap_or_default(),
                        timeout: (timeout > 0).then(|| Duration::from_secs(timeout)),
                    }),
                    None,
                )
            }
            other => (
                FactCache::Memory,
                Some(format!(
                    "cache plugin '{other}' (fact_caching) is not one rprov has (memory, jsonfile): facts are kept for this run only"
                )),
            ),
        }
    }

    /// Whether facts outlive the run.
    pub fn is_persistent(&self) -> bool {
        matches!(self, FactCache::JsonFile(_))
    }

    /// The facts cached for `host`: `None` when there are none, or they
    /// expired. `Err` names a file that is no cache entry, or that could
    /// not be read.
    pub fn get(&self, host: &str) -> Result<Option<Map<String, Json>>, String> {
        match self {
            FactCache::Memory => Ok(None),
            FactCache::JsonFile(j) => j.get(host),
        }
    }

    /// Replaces `host`'s cached facts with `facts`.
    pub fn set(&self, host: &str, facts: &Map<String, Json>) -> Result<(), String> {
        match self {
            FactCache::Memory => Ok(()),
            FactCache::JsonFile(j) => j.set(host, facts),
        }
    }

    /// Forgets `host`'s facts (`--flush-cache`, `meta: clear_facts`).
    pub fn delete(&self, host: &str) -> Result<(), String> {
        match self {
            FactCache::Memory => Ok(()),
            FactCache::JsonFile(j) => j.delete(host),
        }
    }
}

impl JsonFile {
    /// The file of `host`'s entry.
    pub fn path(&self, host: &str) -> PathBuf {
        self.dir
            .join(format!("{}{SCHEMA_PREFIX}{host}", self.prefix))
    }

    fn get(&self, host: &str) -> Result<Option<Map<String, Json>>, String> {
        // ansible-core: the empty key is never an entry.
        if host.is_empty() {
            return Ok(None);
        }
        let path = self.path(host);
        let unreadable =
            |e: std::io::Error| format!("cannot read the fact cache file {}: {e}", path.display());
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable(e)),
        };
        if self.expired(&meta) {
            return Ok(None);
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable(e)),
        };
        decode(&text).map(Some).map_err(|why| {
            format!(
                "the fact cache file {} is corrupt, or does not otherwise hold a cache entry ({why}): its facts are not used, and the next write replaces it",
                path.display()
            )
        })
    }

    /// Whether an entry last written as `meta` says is past the timeout.
    fn expired(&self, meta: &std::fs::Metadata) -> bool {
        let Some(timeout) = self.timeout else {
            return false;
        };
        meta.modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > timeout)
    }

    fn set(&self, host: &str, facts: &Map<String, Json>) -> Result<(), String> {
        let path = self.path(host);
        let text = encode(facts);
        write_atomically(&self.dir, &path, text.as_bytes()).map_err(|e| {
            format!(
                "Error in 'jsonfile' cache plugin while trying to write to {}: {e}",
                path.display()
            )
        })
    }

    fn delete(&self, host: &str) -> Result<(), String> {
        let path = self.path(host);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!(
                "cannot remove the fact cache file {}: {e}",
                path.display()
            )),
        }
    }
}

/// The variables cached facts give their host, as ansible-core's
/// `VariableManager.get_vars` makes them: all of them in `ansible_facts`,
/// named without their `ansible_` prefix (`namespace_facts`; `ansible_local`
/// keeps it), and each under its own name too, but for those its
/// `clean_facts` keeps out of the variables: internal `_ansible_*` keys,
/// connection and become variables, interpreters.
pub fn variables(raw: &Map<String, Json>) -> Map<String, Json> {
    let mut vars = Map::new();
    let mut namespaced = Map::new();
    for (k, v) in raw {
        let short = match k.strip_prefix("ansible_") {
            Some(s) if k != "ansible_local" => s,
            _ => k.as_str(),
        };
        namespaced.insert(short.to_string(), v.clone());
        if !kept_out(k) {
            vars.insert(k.clone(), v.clone());
        }
    }
    vars.insert("ansible_facts".into(), Json::Object(namespaced));
    vars
}

/// Connection variables and their kin: ansible-core's `MAGIC_VARIABLE_MAPPING`
/// and `COMMON_CONNECTION_VARS`.
const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_module_compression",
    "ansible_shell_type",
    "ansible_shell_executable",
    "ansible_ssh_host",
    "ansible_host",
    "ansible_ssh_user",
    "ansible_user",
    "ansible_ssh_pass",
    "ansible_password",
    "ansible_ssh_port",
    "ansible_port",
    "ansible_ssh_pipelining",
    "ansible_pipelining",
    "ansible_ssh_timeout",
    "ansible_timeout",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_network_os",
    "ansible_connection_user",
    "ansible_ssh_executable",
    "ansible_ssh_common_args",
    "ansible_sftp_extra_args",
    "ansible_scp_extra_args",
    "ansible_ssh_extra_args",
    "ansible_ssh_transfer_method",
    "ansible_docker_extra_args",
    "ansible_become",
    "ansible_become_method",
    "ansible_become_user",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_become_exe",
    "ansible_become_flags",
    // RESTRICTED_RESULT_KEYS
    "ansible_rsync_path",
    "ansible_playbook_python",
    "ansible_facts",
];

/// Whether ansible-core's `clean_facts` keeps the fact `k` out of the
/// host's variables (it stays in `ansible_facts`).
fn kept_out(k: &str) -> bool {
    if k.starts_with("_ansible_") {
        return true;
    }
    if k.starts_with("ansible_ssh_host_key_") {
        return false;
    }
    let plugin_var = ["local", "ssh", "paramiko_ssh", "psrp", "winrm"]
        .iter()
        .any(|c| k.starts_with(&format!("ansible_{c}_")))
        && !k.ends_with("_bridge")
        && !k.ends_with("_gwbridge");
    CONNECTION_VARS.contains(&k)
        || plugin_var
        || k.starts_with("ansible_become_")
        || (k.starts_with("ansible_") && k.ends_with("_interpreter"))
}

/// The text of an entry: the facts as JSON text, under [`PAYLOAD_KEY`].
fn encode(facts: &Map<String, Json>) -> String {
    let payload = Json::Object(facts.clone()).to_string();
    let mut outer = Map::new();
    outer.insert(PAYLOAD_KEY.into(), Json::String(payload));
    Json::Object(outer).to_string()
}

/// The facts of an entry's text, tags taken off.
fn decode(text: &str) -> Result<Map<String, Json>, String> {
    let outer: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(Json::String(payload)) = outer.get(PAYLOAD_KEY) else {
        return Err(format!("no `{PAYLOAD_KEY}` text"));
    };
    let facts: Json = serde_json::from_str(payload).map_err(|e| format!("payload: {e}"))?;
    match untag(facts) {
        Json::Object(m) => Ok(m),
        _ => Err("the payload is no mapping".into()),
    }
}

/// A value ansible-core serialised with its data tags, as a plain value: a
/// tagged value's `value`, a date's or time's ISO 8601 text, and the fields
/// of any other serialised type.
fn untag(v: Json) -> Json {
    match v {
        Json::Object(mut m) => {
            if m.contains_key(ANSIBLE_TYPE_KEY) {
                if let Some(value) = m.remove("value") {
                    return untag(value);
                }
                if let Some(iso) = m.remove("iso8601") {
                    return iso;
                }
                m.remove(ANSIBLE_TYPE_KEY);
            }
            Json::Object(m.into_iter().map(|(k, v)| (k, untag(v))).collect())
        }
        Json::Array(a) => Json::Array(a.into_iter().map(untag).collect()),
        other => other,
    }
}

/// Writes `bytes` to `path` through a hidden temporary file in `dir`
/// renamed over it, mode 0644 as ansible-core leaves its entries.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut tmp = tempfile::Builder::new()
        .prefix(".rprov-facts-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jsonfile(dir: &Path, prefix: Option<&str>, timeout: Option<u64>) -> FactCache {
        let (cache, warning) = FactCache::open(&Settings {
            plugin: Some("jsonfile".into()),
            connection: Some(dir.to_path_buf()),
            prefix: prefix.map(String::from),
            timeout,
        });
        assert_eq!(warning, None);
        cache
    }

    fn facts(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => panic!("not a mapping"),
        }
    }

    #[test]
    fn an_entry_is_the_payload_in_a_file_named_as_ansible_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = jsonfile(dir.path(), Some("prefix_"), None);
        let f = facts(json!({"ansible_foobar": "x", "_ansible_facts_gathered": true}));
        cache.set("web1", &f).expect("set");
        let file = dir.path().join("prefix_s1_web1");
        let text = std::fs::read_to_string(&file).expect("file");
        let outer: Json = serde_json::from_str(&text).expect("json");
        let payload: Json =
            serde_json::from_str(outer["__payload__"].as_str().expect("payload")).expect("inner");
        assert_eq!(payload, Json::Object(f.clone()));
        assert_eq!(cache.get("web1").expect("get"), Some(f));
        assert_eq!(cache.get("web2").expect("absent"), None);
        // Nothing else is left in the directory: the temporary file was renamed.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("prefix_s1_web1")]);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        cache.delete("web1").expect("delete");
        assert_eq!(cache.get("web1").expect("deleted"), None);
        cache.delete("web1").expect("deleting nothing is fine");
    }

    #[test]
    fn no_prefix_is_the_schema_and_the_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let FactCache::JsonFile(j) = jsonfile(dir.path(), None, None) else {
            panic!("not jsonfile");
        };
        assert_eq!(j.path("db"), dir.path().join("s1_db"));
    }

    #[test]
    fn ansible_tagged_values_read_as_plain_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = jsonfile(dir.path(), None, None);
        let payload = json!({
            "ansible_foobar": {"__ansible_type": "_AnsibleTaggedStr", "value": "bar",
                "tags": [{"__ansible_type": "TrustedAsTemplate"}]},
            "nested": {"__ansible_type": "_AnsibleTaggedDict",
                "value": {"k": {"__ansible_type": "_AnsibleTaggedInt", "value": 3, "tags": []}},
                "tags": []},
            "when": {"__ansible_type": "AnsibleSerializableDate", "iso8601": "2026-01-02"},
            "plain": [1, "two"],
        });
        let text = json!({"__payload__": payload.to_string()}).to_string();
        std::fs::write(dir.path().join("s1_h"), text).expect("write");
        assert_eq!(
            cache.get("h").expect("get"),
            Some(facts(json!({
                "ansible_foobar": "bar",
                "nested": {"k": 3},
                "when": "2026-01-02",
                "plain": [1, "two"],
            })))
        );
    }

    #[test]
    fn a_corrupt_entry_is_an_error_naming_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = jsonfile(dir.path(), Some("p_"), None);
        for bad in [
            "{\"__payload__\": \"{\\\"a\\\":",
            "{}",
            "[1]",
            "{\"__payload__\": \"[1]\"}",
        ] {
            std::fs::write(dir.path().join("p_s1_h"), bad).expect("write");
            let e = cache.get("h").expect_err(bad);
            assert!(e.contains("p_s1_h") && e.contains("corrupt"), "{e}");
        }
        // The next write replaces it.
        let f = facts(json!({"a": 1}));
        cache.set("h", &f).expect("set");
        assert_eq!(cache.get("h").expect("get"), Some(f));
    }

    #[test]
    fn an_old_entry_is_absent_unless_the_timeout_is_zero() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = facts(json!({"a": 1}));
        jsonfile(dir.path(), None, Some(60))
            .set("h", &f)
            .expect("set");
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("s1_h"))
            .and_then(|file| file.set_modified(old))
            .expect("age the file");
        assert_eq!(
            jsonfile(dir.path(), None, Some(60)).get("h").expect("get"),
            None
        );
        assert_eq!(
            jsonfile(dir.path(), None, Some(0)).get("h").expect("get"),
            Some(f.clone())
        );
        assert_eq!(
            jsonfile(dir.path(), None, Some(7200))
                .get("h")
                .expect("get"),
            Some(f)
        );
    }

    #[test]
    fn cached_facts_become_variables_as_ansible_injects_them() {
        let v = variables(&facts(json!({
            "ansible_hostname": "h",
            "ansible_local": {"x": 1},
            "gather_subset": ["all"],
            "_ansible_facts_gathered": true,
            "ansible_host": "10.0.0.9",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_host_key_rsa_public": "AAAA",
            "ansible_ssh_common_args": "-o X",
            "ansible_local_br0": {"bridge": true},
        })));
        assert_eq!(
            v,
            facts(json!({
                "ansible_hostname": "h",
                "ansible_local": {"x": 1},
                "gather_subset": ["all"],
                "ansible_ssh_host_key_rsa_public": "AAAA",
                "ansible_facts": {
                    "hostname": "h",
                    "ansible_local": {"x": 1},
                    "gather_subset": ["all"],
                    "_ansible_facts_gathered": true,
                    "host": "10.0.0.9",
                    "python_interpreter": "/usr/bin/python3",
                    "ssh_host_key_rsa_public": "AAAA",
                    "ssh_common_args": "-o X",
                    "local_br0": {"bridge": true},
                },
            }))
        );
    }

    #[test]
    fn plugins_and_their_fallback() {
        assert!(matches!(
            FactCache::open(&Settings::default()),
            (FactCache::Memory, None)
        ));
        let (c, w) = FactCache::open(&Settings {
            plugin: Some("ansible.builtin.jsonfile".into()),
            ..Settings::default()
        });
        assert!(!c.is_persistent());
        assert!(w.is_some_and(|w| w.contains("fact_caching_connection")));
        let (c, w) = FactCache::open(&Settings {
            plugin: Some("redis".into()),
            connection: Some("/tmp".into()),
            ..Settings::default()
        });
        assert!(!c.is_persistent());
        assert!(w.is_some_and(|w| w.contains("'redis'")));
        let dir = tempfile::tempdir().expect("tempdir");
        let deeper = dir.path().join("a/b");
        let (c, w) = FactCache::open(&Settings {
            plugin: Some("jsonfile".into()),
            connection: Some(deeper.clone()),
            ..Settings::default()
        });
        assert!(c.is_persistent() && w.is_none());
        assert!(deeper.is_dir(), "the directory is made");
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("write");
        let (c, w) = FactCache::open(&Settings {
            plugin: Some("jsonfile".into()),
            connection: Some(file),
            ..Settings::default()
        });
        assert!(!c.is_persistent());
        assert!(w.is_some_and(|w| w.contains("create cache dir")));
    }
}
