//! `group_vars/` and `host_vars/` directories, as Ansible's `host_group_vars` plugin
//! finds them.
//!
//! For an entity NAME, the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that
//! exists is used; when it is a directory, every file in it (recursively, sorted,
//! skipping hidden files and `~` backups, with no extension or one of those) is
//! read in order and later files replace earlier keys. We read them all when the
//! inventory is loaded so that a broken vars file is reported before any host is
//! contacted.
//!
//! Ansible vault files and inline `!vault` values are decrypted through a
//! [`VaultDecrypt`] the caller gives (this crate knows no cryptography); without
//! one, a vault file is an error and inline values stay as their vault text.

use crate::error::InventoryError;
use crate::{yaml, Vars, VaultDecrypt};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The variables found in one directory's `group_vars/` and `host_vars/`.
#[derive(Debug, Clone, Default)]
pub(crate) struct VarsDir {
    pub groups: HashMap<String, Vars>,
    pub hosts: HashMap<String, Vars>,
    /// Entries of `group_vars/` and `host_vars/` for groups and hosts the
    /// inventory does not have (yet): `group_by` and `add_host` may make
    /// them during the run, and then their variables apply, as ansible-core
    /// reads them for any group or host it has. Read now, with the others,
    /// but an error in one is said only if its group or host comes to be.
    pub later_groups: HashMap<String, Result<Vars, String>>,
    pub later_hosts: HashMap<String, Result<Vars, String>>,
}

impl VarsDir {
    pub fn load<'a>(
        dir: &Path,
        groups: impl IntoIterator<Item = &'a String>,
        hosts: impl IntoIterator<Item = &'a String>,
        vault: Option<&dyn VaultDecrypt>,
    ) -> Result<VarsDir, InventoryError> {
        let mut out = VarsDir::default();
        let gdir = dir.join("group_vars");
        if gdir.is_dir() {
            for g in groups {
                if let Some(v) = load_entity(&gdir, g, vault)? {
                    out.groups.insert(g.clone(), v);
                }
            }
            out.later_groups = load_others(&gdir, &out.groups, vault);
        }
        let hdir = dir.join("host_vars");
        if hdir.is_dir() {
            for h in hosts {
                if let Some(v) = load_entity(&hdir, h, vault)? {
                    out.hosts.insert(h.clone(), v);
                }
            }
            out.later_hosts = load_others(&hdir, &out.hosts, vault);
        }
        Ok(out)
    }

    /// Moves the variables of `group` from [`VarsDir::later_groups`] to the
    /// others, now that the group exists; the error of a file that did not
    /// load.
    pub fn adopt_group(&mut self, group: &str) -> Result<(), String> {
        adopt(&mut self.later_groups, &mut self.groups, group)
    }

    /// [`VarsDir::adopt_group`] for a host `add_host` made.
    pub fn adopt_host(&mut self, host: &str) -> Result<(), String> {
        adopt(&mut self.later_hosts, &mut self.hosts, host)
    }
}

fn adopt(
    later: &mut HashMap<String, Result<Vars, String>>,
    now: &mut HashMap<String, Vars>,
    name: &str,
) -> Result<(), String> {
    match later.remove(name) {
        Some(Ok(v)) => {
            now.insert(name.to_string(), v);
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => Ok(()),
    }
}

/// The entities of `base` (`group_vars/` or `host_vars/`) other than those
/// in `known`, each with its variables or why they did not load.
fn load_others(
    base: &Path,
    known: &HashMap<String, Vars>,
    vault: Option<&dyn VaultDecrypt>,
) -> HashMap<String, Result<Vars, String>> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return HashMap::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let p = Path::new(&n);
            match p.extension().and_then(|x| x.to_str()) {
                _ if n.starts_with('.') || n.ends_with('~') => None,
                None => Some(n),
                Some(x) if EXTENSIONS.contains(&x) => {
                    p.file_stem().map(|s| s.to_string_lossy().into_owned())
                }
                Some(_) => None,
            }
        })
        .filter(|n| !known.contains_key(n))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| match load_entity(base, &n, vault) {
            Ok(Some(v)) => Some((n, Ok(v))),
            Ok(None) => None,
            Err(e) => Some((n, Err(e.to_string()))),
        })
        .collect()
}

fn load_entity(
    base: &Path,
    name: &str,
    vault: Option<&dyn VaultDecrypt>,
) -> Result<Option<Vars>, InventoryError> {
    // A host or group name with a path separator must not escape the directory.
    if name.contains('/') || name.contains('\\') || name == ".." || name == "." {
        return Ok(None);
    }
    let files = find_vars_files(base, name)?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut vars = Vars::new();
    for f in files {
        vars.extend(read_vars_file(&f, vault)?);
    }
    Ok(Some(vars))
}

fn find_vars_files(base: &Path, name: &str) -> Result<Vec<PathBuf>, InventoryError> {
    let candidates = std::iter::once(base.join(name))
        .chain(EXTENSIONS.iter().map(|e| base.join(format!("{name}.{e}"))));
    for c in candidates {
        if c.is_dir() {
            let mut found = Vec::new();
            dir_files(&c, &mut found, 0)?;
            return Ok(found);
        }
        if c.is_file() {
            return Ok(vec![c]);
        }
    }
    Ok(Vec::new())
}

fn dir_files(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) -> Result<(), InventoryError> {
    if depth > 32 {
        return Ok(());
    }
    let io = |source| InventoryError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let p = dir.join(&n);
        let ext = Path::new(&n).extension().and_then(|e| e.to_str());
        if p.is_dir() && ext.is_none() {
            dir_files(&p, found, depth + 1)?;
        } else if p.is_file() && ext.is_none_or(|e| EXTENSIONS.contains(&e)) {
            found.push(p);
        }
    }
    Ok(())
}

/// Read one YAML/JSON vars file into a map (an empty file is no variables).
pub(crate) fn read_vars_file(
    path: &Path,
    vault: Option<&dyn VaultDecrypt>,
) -> Result<Vars, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = if is_vault(&text) {
        let Some(v) = vault else {
            return Err(InventoryError::Vault {
                path: path.to_path_buf(),
            });
        };
        v.decrypt(path, None, &text)
            .map_err(|message| InventoryError::VaultDecrypt {
                path: path.to_path_buf(),
                key: None,
                message,
            })?
    } else {
        text
    };
    let mut vars: Vars = match yaml::parse_value(&text, path)? {
        None => Vars::new(),
        Some(Value::Object(m)) => m.into_iter().collect(),
        Some(_) => {
            return Err(InventoryError::parse(
                path,
                1,
                "a vars file must be a mapping of variable names to values",
                "write `name: value` lines at the top level",
            ))
        }
    };
    if let Some(v) = vault {
        for (k, value) in vars.iter_mut() {
            decrypt_inline(path, k, value, v)?;
        }
    }
    Ok(vars)
}

fn is_vault(text: &str) -> bool {
    text.trim_start().starts_with("$ANSIBLE_VAULT")
}

/// Replaces inline `!vault` values (read as strings starting with the vault
/// header) by their plaintext.
fn decrypt_inline(
    path: &Path,
    key: &str,
    value: &mut Value,
    vault: &dyn VaultDecrypt,
) -> Result<(), InventoryError> {
    match value {
        Value::String(s) if is_vault(s) => {
            let plain = vault.decrypt(path, Some(key), s).map_err(|message| {
                InventoryError::VaultDecrypt {
                    path: path.to_path_buf(),
                    key: Some(key.to_string()),
                    message,
                }
            })?;
            *value = Value::String(plain);
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                decrypt_inline(path, &format!("{key}.{i}"), item, vault)?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                decrypt_inline(path, &format!("{key}.{k}"), item, vault)?;
            }
        }
        _ => {}
    }
    Ok(())
}
