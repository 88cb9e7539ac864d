//! `vars_files` entries: plain YAML, age-encrypted files, or Ansible vault
//! files for users migrating.

use std::path::Path;

use crate::playbook::Vars;
use crate::report::Reporter;

/// Reads a vars file. An age file (`*.age`) is decrypted with the run's
/// identities; vault-encrypted files need `--vault-password-file`. Values from
/// either are masked in all output like secrets.age values.
pub fn load(
    path: &Path,
    ids: &rprov_secrets::IdentityOptions,
    vault_password: Option<&[u8]>,
    reporter: &Reporter,
) -> Result<Vars, String> {
    if path.extension().is_some_and(|e| e == "age") {
        let secrets = rprov_secrets::load(path, ids).map_err(|e| e.to_string())?;
        reporter.add_secrets(secrets.redactor());
        return Ok(secrets.vars.into_iter().collect());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", crate::diag::display_path(path)))?;
    if text.trim_start().starts_with("$ANSIBLE_VAULT") {
        let pw = vault_password.ok_or(
            "it is encrypted with ansible-vault: pass --vault-password-file \
             (or move it into secrets.age with `rprov secrets import-vault`)",
        )?;
        let (vars, redactor) =
            rprov_secrets::load_vault_vars(path, pw).map_err(|e| e.to_string())?;
        reporter.add_secrets(redactor);
        return Ok(vars);
    }
    let doc = crate::yaml::parse_str(&text, path).map_err(|e| e.to_string())?;
    match doc.root.to_json() {
        serde_json::Value::Object(m) => Ok(m.into_iter().collect()),
        serde_json::Value::Null => Ok(Vars::new()),
        _ => Err("a vars file must be a mapping of names to values".to_string()),
    }
}
