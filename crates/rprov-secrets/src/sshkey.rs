//! Passphrase-protected SSH private keys as age identities.
//!
//! Why not age's own `ssh::Identity::with_callbacks`: it asks for the passphrase
//! for every SSH stanza of every file, before it knows whether the stanza is for
//! this key, and reports a wrong passphrase as a broken file (and no terminal as
//! "not encrypted to any identity"). Here:
//!
//! - the stanza's key tag is compared with the key's public half (which OpenSSH
//!   stores unencrypted) first, so a file not encrypted to this key never asks;
//! - the passphrase comes from `--passphrase-file` or the terminal (three tries),
//!   and the unlocked key is kept for the rest of the process, so a run asks once
//!   however many files and stanzas it decrypts;
//! - what went wrong (wrong passphrase, no terminal) is recorded in a [`Problems`]
//!   list that the caller turns into the error when no identity could decrypt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use age::secrecy::SecretString;
use age_core::format::{FileKey, Stanza};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::identity::{passphrase_from_file, prompt_secret, IdentityOptions};
use crate::SecretsError;

/// Why identities could not be used, collected while decrypting one file.
pub(crate) type Problems = Arc<Mutex<Vec<SecretsError>>>;

/// Keys unlocked so far in this process, by path: asked for once per run.
fn unlocked_keys() -> &'static Mutex<HashMap<PathBuf, age::ssh::Identity>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, age::ssh::Identity>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// How many times a passphrase is asked for on the terminal.
const TRIES: usize = 3;

/// An encrypted SSH key, unlocked on first use by a stanza addressed to it.
pub(crate) struct LockedSshKey {
    path: PathBuf,
    key: age::ssh::Identity,
    /// `(stanza tag, key tag)` from the public half, when it could be read.
    addressed_by: Option<(String, String)>,
    passphrase_file: Option<PathBuf>,
    unlocked: OnceLock<Option<age::ssh::Identity>>,
    problems: Problems,
}

impl LockedSshKey {
    /// `key` must be an encrypted key read from `text` (the file at `path`).
    pub(crate) fn new(
        path: &Path,
        text: &[u8],
        key: age::ssh::Identity,
        opts: &IdentityOptions,
        problems: Problems,
    ) -> Self {
        LockedSshKey {
            path: path.to_owned(),
            key,
            addressed_by: openssh_public_key(text).and_then(|blob| stanza_address(&blob)),
            passphrase_file: opts.passphrase_file.clone(),
            unlocked: OnceLock::new(),
            problems,
        }
    }

    fn is_for_me(&self, stanza: &Stanza) -> bool {
        match &self.addressed_by {
            Some((tag, key_tag)) => {
                stanza.tag == *tag && stanza.args.first().is_some_and(|a| a == key_tag)
            }
            // Unknown public half: any SSH stanza may be ours.
            None => matches!(stanza.tag.as_str(), "ssh-ed25519" | "ssh-rsa"),
        }
    }

    fn record(&self, e: SecretsError) {
        if let Ok(mut p) = self.problems.lock() {
            p.push(e);
        }
    }

    /// The unlocked key, from the process cache or by asking for the passphrase.
    fn unlock(&self) -> Option<age::ssh::Identity> {
        let cache = unlocked_keys();
        if let Some(k) = cache.lock().ok().and_then(|c| c.get(&self.path).cloned()) {
            return Some(k);
        }
        let age::ssh::Identity::Encrypted(enc) = &self.key else {
            return Some(self.key.clone());
        };
        let what = format!("SSH key {}", self.path.display());
        let tries = if self.passphrase_file.is_some() {
            1
        } else {
            TRIES
        };
        for attempt in 0..tries {
            let pw: SecretString = match &self.passphrase_file {
                Some(f) => match passphrase_from_file(f) {
                    Ok(pw) => pw,
                    Err(e) => {
                        self.record(e);
                        return None;
                    }
                },
                None => {
                    let prompt = if attempt == 0 {
                        format!("Passphrase for {what}: ")
                    } else {
                        format!("Wrong passphrase, try again ({what}): ")
                    };
                    match prompt_secret(&prompt).filter(|p| !p.is_empty()) {
                        Some(p) => SecretString::from(p),
                        None => {
                            self.record(SecretsError::PassphraseUnavailable { what });
                            return None;
                        }
                    }
                }
            };
            if let Ok(key) = enc.decrypt(pw) {
                let id = age::ssh::Identity::from(key);
                if let Ok(mut c) = cache.lock() {
                    c.insert(self.path.clone(), id.clone());
                }
                return Some(id);
            }
        }
        self.record(SecretsError::WrongKeyPassphrase {
            key: self.path.clone(),
            from_file: self.passphrase_file.clone(),
        });
        None
    }
}

impl age::Identity for LockedSshKey {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if !self.is_for_me(stanza) {
            return None;
        }
        let key = self.unlocked.get_or_init(|| self.unlock()).as_ref()?;
        age::Identity::unwrap_stanza(key, stanza)
    }
}

/// The public key blob of an `openssh-key-v1` private key file, which is stored
/// unencrypted after the cipher, KDF and key count.
fn openssh_public_key(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN OPENSSH PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let mut rest = raw.strip_prefix(b"openssh-key-v1\0")?;
    for _ in 0..3 {
        // cipher name, KDF name, KDF options
        read_string(&mut rest)?;
    }
    let (count, after) = rest.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*count) != 1 {
        return None;
    }
    rest = after;
    read_string(&mut rest).map(<[u8]>::to_vec)
}

/// Reads an SSH wire-format string (u32 length, bytes).
fn read_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, after) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    if after.len() < len {
        return None;
    }
    let (s, after) = after.split_at(len);
    *rest = after;
    Some(s)
}

/// The age stanza tag (`ssh-ed25519`, `ssh-rsa`) and key tag (unpadded base64
/// of the first 4 bytes of SHA-256 of the public key blob) that address a file
/// key to this public key, as age's SSH recipients write them.
fn stanza_address(blob: &[u8]) -> Option<(String, String)> {
    let mut rest = blob;
    let kind = std::str::from_utf8(read_string(&mut rest)?)
        .ok()?
        .to_owned();
    if !matches!(kind.as_str(), "ssh-ed25519" | "ssh-rsa") {
        return None;
    }
    let digest = Sha256::digest(blob);
    let tag = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&digest[..4]);
    Some((kind, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A public key (from a `.pub` file) and an `openssh-key-v1` file around it,
    /// built here so no private key is committed.
    const PUBLIC: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN";

    fn string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap().to_be_bytes());
        out.extend_from_slice(s);
    }

    fn key_file(public: &[u8]) -> String {
        let mut raw = b"openssh-key-v1\0".to_vec();
        string(&mut raw, b"aes256-ctr");
        string(&mut raw, b"bcrypt");
        string(&mut raw, b"0123456789abcdef0123");
        raw.extend_from_slice(&1u32.to_be_bytes());
        string(&mut raw, public);
        string(&mut raw, &[0u8; 64]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{b64}\n-----END OPENSSH PRIVATE KEY-----\n")
    }

    #[test]
    fn public_half_gives_the_stanza_address() {
        let public = base64::engine::general_purpose::STANDARD
            .decode(PUBLIC)
            .unwrap();
        let blob = openssh_public_key(key_file(&public).as_bytes()).expect("public key blob");
        assert_eq!(blob, public);
        let (kind, tag) = stanza_address(&blob).expect("address");
        assert_eq!(kind, "ssh-ed25519");
        // Computed independently (Python: base64 of sha256(blob)[:4], unpadded).
        assert_eq!(tag, "PYX4ow");
        assert!(openssh_public_key(b"not a key").is_none());
        assert!(openssh_public_key(
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
        )
        .is_none());
    }
}
