//! `vars_files` entries: plain YAML, age-encrypted files, Ansible vault files
//! and plain YAML with inline `!vault` values (for users migrating).
//!
//! Loading is synchronous and may be slow (scrypt, PBKDF2) or ask on the
//! terminal; the engine loads each file once per run (see
//! `engine::vars_files`) and never on its async runtime's threads.

use std::path::Path;
use std::sync::Mutex;

use rprov_secrets::Redactor;

use crate::playbook::Vars;

/// A loaded vars file.
pub struct Loaded {
    pub vars: Vars,
    /// The values to mask and keep literal, for encrypted files and values.
    pub secrets: Option<Redactor>,
}

/// Reads a vars file. An age file (`*.age`) is decrypted with the run's
/// identities; vault-encrypted files and files with `!vault` values need
/// `--vault-password-file`. Values from either are masked in all output and
/// never rendered as templates, like secrets.age values.
pub fn load(
    path: &Path,
    ids: &rprov_secrets::IdentityOptions,
    vault_password: Option<&[u8]>,
) -> Result<Loaded, String> {
    if path.extension().is_some_and(|e| e == "age") {
        let secrets = rprov_secrets::load(path, ids).map_err(|e| e.to_string())?;
        return Ok(Loaded {
            secrets: Some(secrets.redactor()),
            vars: secrets.vars.into_iter().collect(),
        });
    }
    let shown = crate::diag::display_path(path);
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if rprov_secrets::vault::is_vault(&text) {
        let pw = vault_password.ok_or(
            "it is encrypted with ansible-vault: pass --vault-password-file \
             (or move it into secrets.age with `rprov secrets import-vault`)",
        )?;
        return load_vault(path, pw);
    }
    let doc = crate::yaml::parse_str(&text, path).map_err(|e| e.to_string())?;
    let vars: Vars = match doc.root.to_json() {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        serde_json::Value::Null => Vars::new(),
        _ => return Err("a vars file must be a mapping of names to values".to_string()),
    };
    if !vars.values().any(has_inline_vault) {
        return Ok(Loaded {
            vars,
            secrets: None,
        });
    }
    let pw = vault_password.ok_or(
        "it holds `!vault` encrypted values: pass --vault-password-file \
         (or move them into secrets.age with `rprov secrets edit`)",
    )?;
    load_vault(path, pw)
}

fn load_vault(path: &Path, password: &[u8]) -> Result<Loaded, String> {
    let (vars, redactor) =
        rprov_secrets::load_vault_vars(path, password).map_err(|e| e.to_string())?;
    Ok(Loaded {
        vars,
        secrets: Some(redactor),
    })
}

/// Decrypts vault files and `!vault` values in `group_vars/` and `host_vars/`
/// for the inventory, and remembers what it decrypted, to be masked and kept
/// literal like every other secret.
pub struct InventoryVault<'a> {
    password: Option<&'a [u8]>,
    secrets: Mutex<Redactor>,
}

impl<'a> InventoryVault<'a> {
    /// `password` from `--vault-password-file`; without one, vault text is an
    /// error that names the flag.
    pub fn new(password: Option<&'a [u8]>) -> Self {
        InventoryVault {
            password,
            secrets: Mutex::new(Redactor::default()),
        }
    }

    /// What was decrypted.
    pub fn into_secrets(self) -> Redactor {
        self.secrets.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl rprov_inventory::VaultDecrypt for InventoryVault<'_> {
    fn decrypt(&self, path: &Path, key: Option<&str>, text: &str) -> Result<String, String> {
        let Some(pw) = self.password else {
            return Err(match key {
                None => "it is encrypted with ansible-vault: pass --vault-password-file FILE",
                Some(_) => "it is an ansible-vault `!vault` value: pass --vault-password-file FILE",
            }
            .to_string());
        };
        let (plain, redactor) = match key {
            None => {
                let (plain, _, r) = rprov_secrets::vault::decrypt_vault_vars(text, pw, path)
                    .map_err(|e| e.to_string())?;
                (plain.to_string(), r)
            }
            Some(k) => {
                let plain = rprov_secrets::decrypt_vault(text, pw).map_err(|e| e.to_string())?;
                let r = Redactor::new([(k.to_string(), plain.clone())]);
                (plain, r)
            }
        };
        if let Ok(mut mine) = self.secrets.lock() {
            mine.merge(redactor);
        }
        Ok(plain)
    }
}

/// Whether `v` holds an inline `!vault` value (read as a string that starts
/// with the vault header).
pub fn has_inline_vault(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => rprov_secrets::vault::is_vault(s),
        serde_json::Value::Array(a) => a.iter().any(has_inline_vault),
        serde_json::Value::Object(m) => m.values().any(has_inline_vault),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/rprov-secrets/tests/fixtures")
            .join(name)
    }

    #[test]
    fn inline_vault_values_are_decrypted_and_secret() {
        let ids = rprov_secrets::IdentityOptions::default();
        let loaded = load(&fixture("inline.yml"), &ids, Some(b"vault-test-pw")).unwrap();
        assert_eq!(loaded.vars["inline_pw"], "inline-secret-value");
        assert_eq!(loaded.vars["plain_var"], "hello");
        let r = loaded.secrets.expect("a redactor");
        assert_eq!(
            r.redact("inline-secret-value hello"),
            "«secret:inline_pw» hello"
        );
    }

    #[test]
    fn inline_vault_without_password_names_the_flag() {
        let ids = rprov_secrets::IdentityOptions::default();
        let err = load(&fixture("inline.yml"), &ids, None).err().unwrap();
        assert!(err.contains("`!vault`"), "{err}");
        assert!(err.contains("--vault-password-file"), "{err}");
        let err = load(&fixture("vault-1.1.yml"), &ids, None).err().unwrap();
        assert!(err.contains("ansible-vault"), "{err}");
    }
}
