//! The encrypted file on disk: decrypting, parsing, encrypting and atomic writes.
//!
//! Why these rules:
//! - Armored and binary files are both read (age's `ArmoredReader` detects which),
//!   so files made by `age`, `rage` or sops-style tooling all work; rprov always
//!   writes armored files because they diff and merge sanely in git.
//! - Writes go to a temporary file in the same directory, are synced, then renamed
//!   over the old file: a crash, a full disk or an encryption error leaves the old
//!   file as it was, never a truncated one.
//! - A passphrase-encrypted file is re-encrypted with the same passphrase when it is
//!   edited, so `edit` never silently changes who can read it; `rekey` is the one
//!   command that switches to the recipients file.
//! - YAML errors never quote the decrypted text: see [`yaml_error`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use crate::identity::{self, Env, IdentityOptions};
use crate::{SecretsError, Vars};

/// How a file was unlocked, which decides how it is written back.
pub(crate) enum KeyMode {
    /// With a passphrase (age scrypt recipient).
    Passphrase(SecretString),
    /// With identities; written back to the recipients file.
    Identities,
}

/// A decrypted secrets file.
pub(crate) struct Opened {
    pub plaintext: Zeroizing<String>,
    pub mode: KeyMode,
}

/// Decrypts `path` with the identities found through `opts` and `env`.
pub(crate) fn decrypt_file(
    path: &Path,
    opts: &IdentityOptions,
    env: Env,
) -> Result<Opened, SecretsError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SecretsError::NotFound {
                path: path.to_owned(),
            })
        }
        Err(e) => return Err(SecretsError::io("reading", path, e)),
    };
    let corrupt = |reason: String| SecretsError::Corrupt {
        file: path.to_owned(),
        reason,
    };
    let reader = age::armor::ArmoredReader::new(data.as_slice());
    let decryptor = age::Decryptor::new(reader).map_err(|e| corrupt(describe(&e)))?;
    let (stream, mode) = if decryptor.is_scrypt() {
        let pw = identity::passphrase(opts, &path.display().to_string())?;
        let mut id = age::scrypt::Identity::new(pw.clone());
        // Accept the work factors age and rage produce on slow machines too.
        id.set_max_work_factor(22);
        let stream = decryptor
            .decrypt(std::iter::once(&id as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                    SecretsError::WrongPassphrase {
                        file: path.to_owned(),
                    }
                }
                other => corrupt(describe(&other)),
            })?;
        (stream, KeyMode::Passphrase(pw))
    } else {
        let sources = identity::discover(opts, env, path)?;
        let loaded = identity::load_identities(&sources, opts)?;
        let stream = decryptor
            .decrypt(loaded.ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => {
                    // A key that could not be unlocked explains it better.
                    let first = loaded
                        .problems
                        .lock()
                        .ok()
                        .and_then(|mut p| (!p.is_empty()).then(|| p.remove(0)));
                    first.unwrap_or_else(|| SecretsError::NoMatchingIdentity {
                        file: path.to_owned(),
                        tried: sources
                            .iter()
                            .map(|s| s.path.display().to_string())
                            .collect(),
                    })
                }
                other => corrupt(describe(&other)),
            })?;
        (stream, KeyMode::Identities)
    };
    let mut stream = stream;
    let mut plain = Zeroizing::new(Vec::new());
    stream
        .read_to_end(&mut plain)
        .map_err(|e| corrupt(format!("{e} (truncated or modified)")))?;
    let plaintext = String::from_utf8(std::mem::take(&mut *plain))
        .map_err(|_| corrupt("the decrypted content is not UTF-8 text".into()))?;
    Ok(Opened {
        plaintext: Zeroizing::new(plaintext),
        mode,
    })
}

fn describe(e: &age::DecryptError) -> String {
    match e {
        age::DecryptError::InvalidHeader => "invalid age header".into(),
        age::DecryptError::InvalidMac => {
            "the header MAC does not verify: the file was modified".into()
        }
        age::DecryptError::DecryptionFailed => {
            "decryption failed: the file was truncated or modified".into()
        }
        age::DecryptError::UnknownFormat => "unknown age format version".into(),
        other => other.to_string(),
    }
}

/// Parses decrypted YAML into variables. An empty document is an empty map.
pub(crate) fn parse_vars(text: &str, path: &Path) -> Result<Vars, SecretsError> {
    let value: serde_json::Value = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, text, path))?
    };
    match value {
        serde_json::Value::Object(map) => Ok(map.into_iter().collect()),
        serde_json::Value::Null => Ok(Vars::new()),
        other => Err(SecretsError::NotAMap {
            file: path.to_owned(),
            found: kind(&other),
        }),
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

/// Turns a parser error into line, column and a reason that cannot leak plaintext.
///
/// serde-saphyr can render a snippet of the source and its messages may quote
/// scalars (`invalid type: string "hunter2"`), so: snippets are switched off, the
/// location suffix is dropped (we report it separately), every quoted fragment is
/// replaced by `…`, and if any line of the source still shows up in the reason the
/// reason is replaced altogether.
pub(crate) fn yaml_error(e: &serde_saphyr::Error, source: &str, path: &Path) -> SecretsError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let formatter = serde_saphyr::DefaultMessageFormatter;
    let opts = serde_saphyr::render_options! {
        formatter: &formatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let rendered = e.render_with_options(opts);
    let first = rendered.lines().next().unwrap_or("").to_owned();
    let first = match first.find(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first,
    };
    // Drop serde-saphyr's developer hints ("set DuplicateKeyPolicy in Options").
    let first = match first.find(", set ") {
        Some(i) if first.contains("Options") => first[..i].to_owned(),
        _ => first,
    };
    let mut reason = strip_quoted(&first);
    let leaks = source
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() >= 4)
        .any(|l| reason.contains(l))
        || source
            .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
            .filter(|w| w.chars().count() >= 6)
            .any(|w| reason.contains(w));
    if leaks || reason.trim().is_empty() {
        reason = "syntax error".into();
    }
    SecretsError::Yaml {
        file: path.to_owned(),
        line,
        column,
        reason,
    }
}

/// Replaces `"..."`, `'...'` and `` `...` `` fragments with `…`.
fn strip_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['"', '\'', '`']) {
        let q = &rest[i..=i];
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(q) {
            Some(j) => {
                out.push('…');
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(q);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How to encrypt on write.
pub(crate) enum WriteKey {
    /// Age and SSH recipients from the recipients file.
    Recipients(Vec<Box<dyn age::Recipient + Send>>),
    /// The passphrase the file was opened with.
    Passphrase(SecretString),
}

impl WriteKey {
    /// The key to write `path` with: the passphrase it was opened with, else the
    /// recipients file beside it. Resolved before any editing starts so a missing
    /// recipients file is reported before the user spends time in the editor.
    pub(crate) fn for_file(path: &Path, mode: Option<&KeyMode>) -> Result<Self, SecretsError> {
        match mode {
            Some(KeyMode::Passphrase(pw)) => Ok(WriteKey::Passphrase(pw.clone())),
            _ => Ok(WriteKey::Recipients(identity::read_recipients(
                &identity::recipients_path(path),
            )?)),
        }
    }
}

/// Encrypts `plaintext` (armored) and atomically replaces `path` with it.
pub(crate) fn write_encrypted(
    path: &Path,
    plaintext: &str,
    key: &WriteKey,
) -> Result<(), SecretsError> {
    let enc_err = |reason: String| SecretsError::Encrypt {
        file: path.to_owned(),
        reason,
    };
    let encryptor = match key {
        WriteKey::Recipients(rs) => {
            age::Encryptor::with_recipients(rs.iter().map(|r| r.as_ref() as &dyn age::Recipient))
                .map_err(|e| enc_err(e.to_string()))?
        }
        WriteKey::Passphrase(pw) => age::Encryptor::with_user_passphrase(pw.clone()),
    };
    let mut out = Vec::new();
    {
        let armor =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                .map_err(|e| enc_err(e.to_string()))?;
        let mut w = encryptor
            .wrap_output(armor)
            .map_err(|e| enc_err(e.to_string()))?;
        w.write_all(plaintext.as_bytes())
            .map_err(|e| enc_err(e.to_string()))?;
        w.finish()
            .and_then(|armor| armor.finish())
            .map_err(|e| enc_err(e.to_string()))?;
    }
    write_atomic(path, &out)
}

/// Writes `bytes` to a temp file beside `path`, syncs it, then renames it over
/// `path`. Keeps the old file's permissions (new files get 0644: the content is
/// encrypted and usually committed).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SecretsError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let perms = std::fs::metadata(path)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
    let io = |e| SecretsError::io("writing", path, e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".rprov-secrets-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    std::fs::set_permissions(tmp.path(), perms).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    // Make the rename durable; failure here does not lose data, so ignore it.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_report_position_and_never_content() {
        let src = "a: 1\nb: [unclosed hunter2-secret\nc: \"x\n";
        let err = parse_vars(src, Path::new("s.age")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line "), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        let SecretsError::Yaml { line, .. } = err else {
            panic!("{msg}")
        };
        assert!(line >= 2, "{msg}");
    }

    #[test]
    fn non_map_top_level_is_rejected() {
        let err = parse_vars("- a\n- b\n", Path::new("s.age")).unwrap_err();
        assert!(err.to_string().contains("found a list"), "{err}");
        let err = parse_vars("just-a-secret-string\n", Path::new("s.age")).unwrap_err();
        assert!(!err.to_string().contains("just-a-secret"), "{err}");
        assert!(parse_vars("# nothing\n", Path::new("s.age"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn quoted_fragments_are_removed() {
        assert_eq!(
            strip_quoted(r#"invalid type: string "pw", expected x"#),
            "invalid type: string …, expected x"
        );
        assert_eq!(strip_quoted("it's fine"), "it's fine");
    }

    #[test]
    fn atomic_write_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
