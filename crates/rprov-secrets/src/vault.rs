//! Reading Ansible vault files (format 1.1 and 1.2, cipher AES256).
//!
//! Why read vault at all: users migrating from Ansible have `group_vars/*/vault.yml`
//! files and `!vault` strings; rprov reads them in place (and `rprov secrets
//! import-vault` converts them) so migration is not a flag day. Only decryption is
//! implemented: rprov writes age, never vault.
//!
//! Format, as written by ansible-core's `VaultAES256`:
//! - a header line `$ANSIBLE_VAULT;1.1;AES256` (1.2 adds `;label`),
//! - then the hex encoding of three lines: hex(salt), hex(hmac), hex(ciphertext);
//! - PBKDF2-HMAC-SHA256 with 10000 iterations derives 80 bytes: an AES-256 key, an
//!   HMAC-SHA256 key and the 16-byte initial CTR counter;
//! - the HMAC covers the ciphertext and is checked in constant time *before*
//!   decrypting, so a wrong password is told apart from a damaged file;
//! - AES-256-CTR, then PKCS#7 unpadding (Ansible pads to 16 bytes even for CTR).

use std::path::Path;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{redact::Redactor, SecretsError, Vars};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

const HEADER: &str = "$ANSIBLE_VAULT";
const ITERATIONS: u32 = 10_000;

/// True when `text` starts with an Ansible vault header.
pub fn is_vault(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

/// Decrypts an Ansible vault (1.1 or 1.2, AES256) and returns the plaintext.
///
/// Leading indentation on each line is ignored, so the body of an `!vault |` block
/// can be passed as is.
pub fn decrypt_vault(text: &str, password: &[u8]) -> Result<String, SecretsError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines
        .next()
        .ok_or_else(|| SecretsError::VaultFormat("empty input".into()))?;
    let fields: Vec<&str> = header.split(';').collect();
    match fields.as_slice() {
        [HEADER, "1.1", cipher] | [HEADER, "1.2", cipher, _] => {
            if *cipher != "AES256" {
                return Err(SecretsError::VaultFormat(format!(
                    "cipher {cipher} is not supported (only AES256)"
                )));
            }
        }
        [HEADER, version, ..] => {
            return Err(SecretsError::VaultFormat(format!(
                "vault format version {version} is not supported (only 1.1 and 1.2)"
            )))
        }
        _ => {
            return Err(SecretsError::VaultFormat(
                "missing `$ANSIBLE_VAULT;1.1;AES256` header".into(),
            ))
        }
    }
    let body: String = lines.collect();
    let inner = hex::decode(body.as_bytes())
        .map_err(|e| SecretsError::VaultFormat(format!("body is not hex: {e}")))?;
    let inner = String::from_utf8(inner)
        .map_err(|_| SecretsError::VaultFormat("decoded body is not text".into()))?;
    let parts: Vec<&str> = inner.lines().collect();
    let [salt, mac, ciphertext] = parts.as_slice() else {
        return Err(SecretsError::VaultFormat(
            "decoded body must have three lines (salt, hmac, ciphertext); the file may be truncated".into(),
        ));
    };
    let unhex = |what: &str, s: &str| {
        hex::decode(s).map_err(|e| SecretsError::VaultFormat(format!("{what} is not hex: {e}")))
    };
    let salt = unhex("salt", salt)?;
    let mac = unhex("hmac", mac)?;
    let mut data = Zeroizing::new(unhex("ciphertext", ciphertext)?);

    let mut derived = Zeroizing::new([0u8; 80]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, ITERATIONS, derived.as_mut_slice());
    let (key1, rest) = derived.split_at(32);
    let (key2, iv) = rest.split_at(32);

    let mut hmac = <Hmac<Sha256> as Mac>::new_from_slice(key2)
        .map_err(|_| SecretsError::VaultFormat("bad HMAC key length".into()))?;
    hmac.update(&data);
    hmac.verify_slice(&mac)
        .map_err(|_| SecretsError::VaultPassword)?;

    let mut cipher = Aes256Ctr::new_from_slices(key1, iv)
        .map_err(|_| SecretsError::VaultFormat("bad key or IV length".into()))?;
    cipher.apply_keystream(&mut data);

    let pad = usize::from(
        *data
            .last()
            .ok_or_else(|| SecretsError::VaultFormat("empty ciphertext".into()))?,
    );
    if pad == 0
        || pad > 16
        || pad > data.len()
        || !data[data.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
    {
        return Err(SecretsError::VaultFormat("bad padding".into()));
    }
    let plain = &data[..data.len() - pad];
    String::from_utf8(plain.to_vec())
        .map_err(|_| SecretsError::VaultFormat("plaintext is not UTF-8".into()))
}

/// Reads a vault password file the way Ansible does.
///
/// If the file is executable it is run and its standard output is the password
/// (Ansible's "vault password client script"). Surrounding whitespace is stripped
/// either way, as Ansible strips it.
pub fn read_vault_password_file(path: &Path) -> Result<Vec<u8>, SecretsError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| SecretsError::io("reading vault password file", path, e))?;
    let raw = if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        // A bare name (`vaultpass`) is the file here, not a program on PATH.
        let script = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let out = std::process::Command::new(&script)
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| SecretsError::io("running vault password script", path, e))?;
        if !out.status.success() {
            return Err(SecretsError::io(
                "running vault password script",
                path,
                std::io::Error::other(format!("it exited with {}", out.status)),
            ));
        }
        out.stdout
    } else {
        std::fs::read(path).map_err(|e| SecretsError::io("reading vault password file", path, e))?
    };
    let raw = Zeroizing::new(raw);
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() {
        return Err(SecretsError::io(
            "reading vault password file",
            path,
            std::io::Error::other("it is empty"),
        ));
    }
    Ok(trimmed.to_vec())
}

/// Loads an Ansible vars file that is either a whole-file vault or plain YAML with
/// `!vault` tagged values, and returns its variables with a redactor.
///
/// For a whole-file vault every value is a secret. For a plain file only the values
/// that were vault-encrypted are secrets (and are returned decrypted).
pub fn load_vault_vars(path: &Path, password: &[u8]) -> Result<(Vars, Redactor), SecretsError> {
    let text = std::fs::read_to_string(path).map_err(|e| SecretsError::io("reading", path, e))?;
    if is_vault(&text) {
        let (_, vars, redactor) = decrypt_vault_vars(&text, password, path)?;
        return Ok((vars, redactor));
    }
    let mut vars = crate::file::parse_vars(&text, path)?;
    let mut secrets = Vec::new();
    for (k, v) in vars.iter_mut() {
        decrypt_inline(k.clone(), v, password, &mut secrets)?;
    }
    Ok((vars, Redactor::new(secrets)))
}

/// Decrypts a whole-file vault read from `path` and parses it as a YAML map of
/// variables (errors give a line, never the plaintext). Returns the plaintext
/// too, for callers that parse it their own way, and a redactor for every value.
pub fn decrypt_vault_vars(
    text: &str,
    password: &[u8],
    path: &Path,
) -> Result<(Zeroizing<String>, Vars, Redactor), SecretsError> {
    let plain = Zeroizing::new(decrypt_vault(text, password)?);
    let vars = crate::file::parse_vars(&plain, path)?;
    let redactor = Redactor::from_vars(&vars);
    Ok((plain, vars, redactor))
}

/// Replaces `!vault` strings (which parse as plain strings starting with the
/// header) by their plaintext, recording them as secrets.
fn decrypt_inline(
    key: String,
    v: &mut serde_json::Value,
    password: &[u8],
    secrets: &mut Vec<(String, String)>,
) -> Result<(), SecretsError> {
    use serde_json::Value;
    match v {
        Value::String(s) if is_vault(s) => {
            let plain = decrypt_vault(s, password)?;
            secrets.push((key, plain.clone()));
            *v = Value::String(plain);
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                decrypt_inline(format!("{key}.{i}"), item, password, secrets)?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                decrypt_inline(format!("{key}.{k}"), item, password, secrets)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &[u8] = b"vault-test-pw";
    /// The plaintext encrypted by `ansible-vault` (ansible-core 2.19) into the fixtures.
    const PLAIN: &str =
        "db_password: \"correct horse battery staple\"\napi:\n  token: tok-0123456789abcdef\n";

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn read(name: &str) -> String {
        std::fs::read_to_string(fixture(name)).unwrap()
    }

    #[test]
    fn decrypts_ansible_vault_1_1() {
        assert_eq!(
            decrypt_vault(&read("vault-1.1.yml"), PASSWORD).unwrap(),
            PLAIN
        );
    }

    #[test]
    fn decrypts_ansible_vault_1_2_with_label() {
        assert_eq!(
            decrypt_vault(&read("vault-1.2.yml"), PASSWORD).unwrap(),
            PLAIN
        );
    }

    #[test]
    fn wrong_password_is_an_hmac_mismatch() {
        let err = decrypt_vault(&read("vault-1.1.yml"), b"nope").unwrap_err();
        assert_eq!(err.to_string(), "vault password is wrong (HMAC mismatch)");
    }

    #[test]
    fn truncated_or_foreign_input_is_a_format_error() {
        let text = read("vault-1.1.yml");
        let truncated: String = text.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(matches!(
            decrypt_vault(&truncated, PASSWORD),
            Err(SecretsError::VaultFormat(_))
        ));
        assert!(matches!(
            decrypt_vault("a: b\n", PASSWORD),
            Err(SecretsError::VaultFormat(_))
        ));
        let other = text.replacen("AES256", "AES", 1);
        assert!(matches!(
            decrypt_vault(&other, PASSWORD),
            Err(SecretsError::VaultFormat(_))
        ));
    }

    #[test]
    fn tampered_ciphertext_fails_the_hmac() {
        let text = read("vault-1.1.yml");
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let last = lines.len() - 2;
        // Flip one hex digit of the (hex of hex) body near the end: the ciphertext.
        let line = &mut lines[last];
        let c = if line.ends_with('0') { '1' } else { '0' };
        line.pop();
        line.push(c);
        let err = decrypt_vault(&lines.join("\n"), PASSWORD).unwrap_err();
        assert!(
            matches!(
                err,
                SecretsError::VaultPassword | SecretsError::VaultFormat(_)
            ),
            "{err}"
        );
    }

    #[test]
    fn password_file_is_stripped_and_scripts_are_run() {
        assert_eq!(
            read_vault_password_file(&fixture("vault-password.txt")).unwrap(),
            PASSWORD
        );
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\necho '  vault-test-pw'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(read_vault_password_file(&script).unwrap(), PASSWORD);
    }

    #[test]
    fn vault_vars_whole_file_and_inline() {
        let (vars, r) = load_vault_vars(&fixture("vault-1.1.yml"), PASSWORD).unwrap();
        assert_eq!(vars["api"]["token"], "tok-0123456789abcdef");
        assert_eq!(r.redact("x tok-0123456789abcdef"), "x «secret:api.token»");

        let (vars, r) = load_vault_vars(&fixture("inline.yml"), PASSWORD).unwrap();
        assert_eq!(vars["inline_pw"], "inline-secret-value");
        assert_eq!(vars["plain_var"], "hello");
        assert_eq!(
            r.redact("inline-secret-value hello"),
            "«secret:inline_pw» hello"
        );
    }
}
