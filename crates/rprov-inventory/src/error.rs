//! Errors of inventory loading, pattern matching and connection settings.
//!
//! Every error that comes from a file names the file and the 1-based line (and
//! column when the YAML parser knows it), then says what is wrong and, where we
//! can, what to write instead. The engine prints these as they are, so the text is
//! written for the person who edits the inventory, not for a developer.

use std::fmt;
use std::path::PathBuf;

/// A position in an inventory or vars file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it (or as found next to it).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong while reading an inventory or using it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// A syntax or meaning error at a known place in a file.
    #[error("{location}: {}", joined(.message, .hint))]
    Parse {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
        /// What to do about it (may be empty).
        hint: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A vars file is vault-encrypted and no vault password was given.
    #[error("vault-encrypted vars file {}: pass --vault-password-file FILE to read it", .path.display())]
    Vault {
        /// The encrypted file.
        path: PathBuf,
    },
    /// Vault text in a vars file could not be decrypted.
    #[error("{}{}: {message}", .path.display(), .key.as_ref().map(|k| format!(" (value of `{k}`)")).unwrap_or_default())]
    VaultDecrypt {
        /// The vars file.
        path: PathBuf,
        /// The variable (dotted) for an inline `!vault` value; none for a whole file.
        key: Option<String>,
        /// What went wrong and what to do.
        message: String,
    },
    /// A host pattern matched no host at all.
    #[error("no host or group matches '{pattern}'")]
    NoMatch {
        /// The whole pattern as given.
        pattern: String,
    },
    /// A host pattern could not be understood (bad regex, bad glob).
    #[error("invalid host pattern '{pattern}': {message}")]
    Pattern {
        /// The offending part of the pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// An error found while reading a vars file, said once its group or
    /// host came to be (the text names the file and line).
    #[error("{0}")]
    Deferred(String),
    /// A connection variable of a host has a value we cannot use.
    #[error("host {host}: invalid {var}: {message}")]
    ConnectionVar {
        /// inventory_hostname.
        host: String,
        /// The variable, e.g. `ansible_port`.
        var: String,
        /// Why, and what is accepted.
        message: String,
    },
}

fn hint_suffix(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!(": {hint}")
    }
}

/// A message that ends a sentence (ansible-core's words, kept with their
/// full stop) takes its hint as a sentence of its own.
fn joined(message: &str, hint: &str) -> String {
    let mut chars = hint.chars();
    match (message.ends_with('.'), chars.next()) {
        (true, Some(first)) => format!("{message} {}{}", first.to_uppercase(), chars.as_str()),
        _ => format!("{message}{}", hint_suffix(hint)),
    }
}

impl InventoryError {
    /// A parse error at `path:line`.
    pub(crate) fn parse(
        path: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        InventoryError::Parse {
            location: Location {
                path: path.into(),
                line,
                column: None,
            },
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Where in a file the error is, if it is about a file position.
    pub fn location(&self) -> Option<&Location> {
        match self {
            InventoryError::Parse { location, .. } => Some(location),
            _ => None,
        }
    }
}
