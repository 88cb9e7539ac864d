//! What lookups need from the run that a template's variables do not hold,
//! and how they read controller files.
//!
//! ansible-core's lookups read controller files through its loader
//! (`get_text_file_contents`), which decrypts an ansible-vault file with the
//! run's vault password: `file`, `unvault` and `ini` all do. This crate
//! knows no vault password and no vault cipher, so the run hands its
//! decryption over as a [`LookupContext`] (see
//! [`crate::Templater::with_lookup_context`]); without one, an encrypted
//! file is an error, as in an Ansible run without vault secrets.

use std::path::Path;
use std::sync::Arc;

/// The plaintext of a controller file's bytes: `Ok(None)` when they are not
/// an ansible-vault file (read them as they are), the decrypted bytes when
/// they are. The error is shown as the lookup's message.
pub type Plaintext = dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, String> + Send + Sync;

/// The run's side of the lookups: how to decrypt vault files.
#[derive(Clone, Default)]
pub struct LookupContext {
    plaintext: Option<Arc<Plaintext>>,
    /// Ansible's settings and plugins', for `lookup('config', NAME)`.
    settings: Arc<super::ConfigSettings>,
    /// Runs the lookups rprov lacks (see [`crate::python`]).
    python: Option<Arc<dyn crate::python::PythonPlugins>>,
    /// Says what a lookup let pass that the user should know of (an option
    /// it ignored, an error `errors='warn'` forgave).
    warn: Option<Arc<Warn>>,
}

/// Where a lookup's warnings go.
pub type Warn = dyn Fn(&str) + Send + Sync;

impl std::fmt::Debug for LookupContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupContext")
            .field("decrypts", &self.plaintext.is_some())
            .finish()
    }
}

impl LookupContext {
    /// A context whose lookups read vault files through `plaintext`.
    pub fn with_plaintext(
        plaintext: impl Fn(&[u8]) -> Result<Option<Vec<u8>>, String> + Send + Sync + 'static,
    ) -> Self {
        LookupContext {
            plaintext: Some(Arc::new(plaintext)),
            settings: Arc::default(),
            python: None,
            warn: None,
        }
    }

    /// This context with `plugins` running the lookups rprov lacks.
    pub fn with_python(mut self, plugins: Arc<dyn crate::python::PythonPlugins>) -> Self {
        self.python = Some(plugins);
        self
    }

    /// This context with the lookups' warnings going to `warn`.
    pub fn with_warn(mut self, warn: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warn = Some(Arc::new(warn));
        self
    }

    /// Warns of `msg`, when the run listens.
    pub(super) fn warn(&self, msg: &str) {
        if let Some(warn) = &self.warn {
            warn(msg);
        }
    }

    pub(super) fn python(&self) -> Option<&Arc<dyn crate::python::PythonPlugins>> {
        self.python.as_ref()
    }

    /// This context with Ansible's settings, for `lookup('config', NAME)`.
    pub fn with_settings(mut self, settings: super::ConfigSettings) -> Self {
        self.settings = Arc::new(settings);
        self
    }

    pub(super) fn settings(&self) -> &super::ConfigSettings {
        &self.settings
    }

    /// A controller file's contents as a lookup reads them: decrypted when
    /// ansible-vault encrypted it, bounded by the render size limit.
    pub(super) fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        let bytes = crate::limits::read_file(path, crate::limits::max_render_size())
            .map_err(|e| e.to_string())?;
        match &self.plaintext {
            Some(plaintext) => Ok(plaintext(&bytes)?.unwrap_or(bytes)),
            None if bytes.trim_ascii_start().starts_with(b"$ANSIBLE_VAULT;") => Err(
                "it is encrypted with ansible-vault and no vault password was given \
                     (pass --vault-password-file)"
                    .to_string(),
            ),
            None => Ok(bytes),
        }
    }

    /// [`LookupContext::read`], decoded as text in `encoding` (a Python
    /// codec name; UTF-8 when `None`).
    pub(super) fn read_text(&self, path: &Path, encoding: Option<&str>) -> Result<String, String> {
        decode(self.read(path)?, encoding.unwrap_or("utf-8"))
    }
}

/// `bytes` decoded as Python's `bytes.decode(encoding)` with strict errors:
/// UTF-8, ASCII and Latin-1 (ISO 8859-1) under their Python names, and the
/// other single- and multi-byte encodings under the names the WHATWG
/// Encoding Standard gives them (`iso8859-15`, `cp1252`, `shift_jis`, …).
pub(super) fn decode(bytes: Vec<u8>, encoding: &str) -> Result<String, String> {
    let name = encoding.trim().to_ascii_lowercase().replace('_', "-");
    let not_text = || format!("it is not valid {encoding} text");
    match name.as_str() {
        "utf-8" | "utf8" | "u8" | "utf" | "cp65001" => String::from_utf8(bytes)
            .map_err(|_| "it is not UTF-8 text; use `copy` for binary files".to_string()),
        "ascii" | "us-ascii" | "646" => {
            if bytes.is_ascii() {
                String::from_utf8(bytes).map_err(|_| not_text())
            } else {
                Err(not_text())
            }
        }
        // The WHATWG standard reads these labels as windows-1252, which
        // differs from Python's Latin-1 at 0x80–0x9f.
        "latin-1" | "latin1" | "iso8859-1" | "iso-8859-1" | "8859" | "cp819" | "l1" | "latin" => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        _ => {
            let enc = encoding_rs::Encoding::for_label(name.as_bytes())
                .or_else(|| encoding_rs::Encoding::for_label(encoding.trim().as_bytes()))
                .ok_or_else(|| format!("unknown encoding: {encoding}"))?;
            enc.decode_without_bom_handling_and_without_replacement(&bytes)
                .map(|s| s.into_owned())
                .ok_or_else(not_text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected texts are CPython 3.11's `bytes.decode(encoding)`.
    #[test]
    fn decodes_as_python() {
        assert_eq!(decode(b"\xe9t\xe9".to_vec(), "iso8859-1").unwrap(), "été");
        assert_eq!(decode(b"\x80".to_vec(), "latin-1").unwrap(), "\u{80}");
        assert_eq!(decode(b"\xa4".to_vec(), "iso8859-15").unwrap(), "€");
        assert_eq!(decode("été".as_bytes().to_vec(), "UTF-8").unwrap(), "été");
        assert!(decode(b"\xe9".to_vec(), "utf-8").is_err());
        assert!(decode(b"\xe9".to_vec(), "ascii").is_err());
        assert!(decode(b"x".to_vec(), "no-such-codec").is_err());
    }

    #[test]
    fn vault_files_need_the_run_to_decrypt_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        std::fs::write(&path, "$ANSIBLE_VAULT;1.1;AES256\n6162\n").unwrap();
        let err = LookupContext::default().read(&path).unwrap_err();
        assert!(err.contains("no vault password"), "{err}");
        let cx = LookupContext::with_plaintext(|b| {
            Ok(b.starts_with(b"$ANSIBLE_VAULT;").then(|| b"plain".to_vec()))
        });
        assert_eq!(cx.read(&path).unwrap(), b"plain");
        let other = dir.path().join("o");
        std::fs::write(&other, "as is").unwrap();
        assert_eq!(cx.read(&other).unwrap(), b"as is");
    }
}
