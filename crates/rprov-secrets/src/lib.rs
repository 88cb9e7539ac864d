//! Secrets for rprov: an age-encrypted YAML map of variables (`secrets.age`), the
//! `rprov secrets` command that manages it, Ansible vault reading, and a
//! [`Redactor`] that masks every secret value in output.
//!
//! Why age: one small, audited format with interoperable CLIs (`age`, `rage`), keys
//! that fit in a line, and SSH keys usable as recipients, so a team can encrypt to
//! the keys it already has. The file is armored on write so it diffs in git.
//!
//! The API is synchronous on purpose: decryption is CPU work (scrypt takes about a
//! second by design) and may ask on the terminal. rprov decrypts `secrets.age` and
//! every `vars_files` entry with a literal path once per run before its async
//! runtime starts; a `vars_files` path that needs a host's variables is decrypted
//! on first use in `tokio::task::spawn_blocking`, and cached for the other hosts.
//!
//! Modules: [`identity`] (where keys come from), `sshkey` (passphrase-protected
//! SSH keys), `file` (decrypt, parse, encrypt, atomic write), [`vault`] (Ansible vault), [`redact`] (masking), [`edit`] (the
//! editor round trip), [`cli`] (the subcommand), [`error`].
#![deny(missing_docs)]

use std::path::Path;

pub mod cli;
pub mod edit;
pub mod error;
mod file;
pub mod identity;
mod keypath;
pub mod redact;
mod sshkey;
pub mod vault;

pub use error::SecretsError;
pub use identity::{recipients_path, IdentityOptions};
pub use redact::Redactor;
pub use vault::{decrypt_vault, is_vault, load_vault_vars, read_vault_password_file};

/// Variables as loaded from a secrets or vars file, in file order.
pub type Vars = indexmap::IndexMap<String, serde_json::Value>;

/// A decrypted secrets file.
#[derive(Clone)]
pub struct Secrets {
    /// The variables, to be merged like a vars file.
    pub vars: Vars,
    redactor: Redactor,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys only: a stray `{:?}` must not print secrets.
        f.debug_struct("Secrets")
            .field("keys", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Secrets {
    /// A redactor masking every value of this file (see [`Redactor`] for the rules).
    pub fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }
}

/// Decrypts and parses the secrets file at `path`.
///
/// Identities come from `ids` and, when it names none, from `RPROV_AGE_IDENTITY`,
/// `SOPS_AGE_KEY_FILE` and `~/.config/rprov/identity.txt`; a passphrase-encrypted
/// file reads `ids.passphrase_file` or asks on the terminal.
pub fn load(path: &Path, ids: &IdentityOptions) -> Result<Secrets, SecretsError> {
    load_with_env(path, ids, &identity::process_env)
}

/// Like [`load`], but `Ok(None)` when the file does not exist (a playbook without
/// secrets is normal).
pub fn load_if_exists(path: &Path, ids: &IdentityOptions) -> Result<Option<Secrets>, SecretsError> {
    match load(path, ids) {
        Ok(s) => Ok(Some(s)),
        Err(SecretsError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`load`] with an explicit environment lookup (for tests and embedding).
pub fn load_with_env(
    path: &Path,
    ids: &IdentityOptions,
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Secrets, SecretsError> {
    let opened = file::decrypt_file(path, ids, env)?;
    let vars = file::parse_vars(&opened.plaintext, path)?;
    let redactor = Redactor::from_vars(&vars);
    Ok(Secrets { vars, redactor })
}

#[cfg(test)]
mod tests {
    /// The engine moves `Secrets` out of `spawn_blocking` and shares the redactor.
    #[test]
    fn secrets_and_redactor_cross_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<super::Secrets>();
        assert_send_sync::<super::Redactor>();
        assert_send_sync::<super::SecretsError>();
    }
}
