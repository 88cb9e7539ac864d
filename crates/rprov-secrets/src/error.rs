//! The one error type of this crate.
//!
//! Why one enum and not `anyhow`: the CLI and the engine both need to tell "you gave
//! me the wrong key" from "the file is broken" from "your YAML is wrong", and every
//! message here is written to be shown to a user as is. No variant ever carries
//! decrypted text: YAML errors keep only a line, a column and a sanitised reason.

use std::path::PathBuf;

/// Everything that can go wrong while reading, writing or editing secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What we were doing ("reading", "writing", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The secrets file does not exist.
    #[error("{} does not exist; create it with `rprov secrets edit --file {}` (after `rprov secrets init` if you have no identity yet)", path.display(), path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },

    /// No identity file was found anywhere we looked.
    #[error("no age identity found to decrypt {}; looked at: {}\n  = help: {hint}", file.display(), looked.join(", "))]
    NoIdentity {
        /// The encrypted file.
        file: PathBuf,
        /// Every place consulted, in order, with why it was skipped.
        looked: Vec<String>,
        /// What to do: the identity file near the secrets file that matches
        /// one of its recipients when there is one, else the ways to name one.
        hint: String,
    },

    /// An identity source was named explicitly (flag or env var) but is unusable.
    #[error("identity {} (from {origin}): {reason}", path.display())]
    BadIdentity {
        /// The identity file.
        path: PathBuf,
        /// Where the path came from (`--identity`, `RPROV_AGE_IDENTITY`, ...).
        origin: String,
        /// Why it could not be used.
        reason: String,
    },

    /// None of the identities could unwrap the file key.
    #[error("{} is not encrypted to any of the identities given (tried: {}); pass --identity or set RPROV_AGE_IDENTITY", file.display(), tried.join(", "))]
    NoMatchingIdentity {
        /// The encrypted file.
        file: PathBuf,
        /// The identity files tried.
        tried: Vec<String>,
    },

    /// The passphrase of a passphrase-encrypted file was wrong.
    #[error("wrong passphrase for {}", file.display())]
    WrongPassphrase {
        /// The encrypted file.
        file: PathBuf,
    },

    /// The passphrase of a passphrase-protected SSH key identity was wrong.
    #[error("wrong passphrase for SSH key {}{}", key.display(), from_file.as_ref().map(|f| format!(" (read from --passphrase-file {})", f.display())).unwrap_or_default())]
    WrongKeyPassphrase {
        /// The SSH private key.
        key: PathBuf,
        /// The passphrase file it was read from, if any.
        from_file: Option<PathBuf>,
    },

    /// A passphrase was needed but none could be obtained.
    #[error("{what} needs a passphrase, and there is no terminal to ask on; pass --passphrase-file FILE")]
    PassphraseUnavailable {
        /// What needed it.
        what: String,
    },

    /// The age file is malformed, truncated or was tampered with.
    #[error("{} is damaged or not an age file ({reason}); restore it from version control", file.display())]
    Corrupt {
        /// The encrypted file.
        file: PathBuf,
        /// What age reported.
        reason: String,
    },

    /// The decrypted text is not valid YAML. Never carries the text itself.
    #[error("YAML error in decrypted {} at line {line}, column {column}: {reason}", file.display())]
    Yaml {
        /// The file whose plaintext failed to parse.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// Parser reason with quoted source fragments removed.
        reason: String,
    },

    /// The decrypted YAML is valid but its top level is not a map.
    #[error("decrypted {} must be a YAML map of variables at top level, found {found}", file.display())]
    NotAMap {
        /// The file concerned.
        file: PathBuf,
        /// What was found instead ("a list", "a string", ...).
        found: &'static str,
    },

    /// The recipients file is missing or unusable.
    #[error("recipients file {}: {reason}", path.display())]
    Recipients {
        /// The recipients file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },

    /// Encryption failed.
    #[error("encrypting {}: {reason}", file.display())]
    Encrypt {
        /// The target file.
        file: PathBuf,
        /// What age reported.
        reason: String,
    },

    /// `init` refuses to overwrite an existing file.
    #[error("{} already exists; not overwriting it ({hint})", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
        /// What to do instead.
        hint: String,
    },

    /// A dotted key was not found, or walks through a non-map.
    #[error("key `{key}` {reason}")]
    Key {
        /// The dotted key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `set` read an empty value and `--allow-empty` was not given.
    #[error("refusing to set `{key}` to an empty value (stdin was empty); pipe the value in, or pass --allow-empty to store \"\"")]
    EmptyValue {
        /// The dotted key.
        key: String,
    },

    /// The editor could not be started or exited with a failure.
    #[error("editor `{editor}` {reason}; {} is unchanged", file.display())]
    Editor {
        /// The editor command.
        editor: String,
        /// What happened.
        reason: String,
        /// The secrets file, left as it was.
        file: PathBuf,
    },

    /// An edit was abandoned (empty file, or invalid YAML with no terminal to retry on).
    #[error("edit abandoned: {reason}; {} is unchanged", file.display())]
    EditAborted {
        /// Why.
        reason: String,
        /// The secrets file, left as it was.
        file: PathBuf,
    },

    /// The Ansible vault text is malformed.
    #[error("not a valid Ansible vault: {0}")]
    VaultFormat(String),

    /// The Ansible vault HMAC did not verify.
    #[error("vault password is wrong (HMAC mismatch)")]
    VaultPassword,
}

impl SecretsError {
    /// Shorthand for [`SecretsError::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        SecretsError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
