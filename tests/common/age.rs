//! The `age` CLI for the secrets tests: identities and encrypted files.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A new age identity `dir/name`; returns its path and public key.
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let id = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&id)
        .output()
        .expect("age-keygen is needed: run scripts/testenv.sh (apt-get install age)");
    assert!(out.status.success(), "age-keygen failed");
    let public = fs::read_to_string(&id)
        .expect("identity")
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_string();
    (id, public)
}

/// Encrypts `plain` (armored) to an age or SSH public key.
pub fn encrypt_to(plain: &str, recipient: &str, out: &Path) {
    encrypt(plain, [OsStr::new("-r"), OsStr::new(recipient)], out);
}

/// Encrypts `plain` (armored) to the keys listed in `recipients_file` (`age -R`).
pub fn encrypt_to_file(plain: &str, recipients_file: &Path, out: &Path) {
    encrypt(plain, [OsStr::new("-R"), recipients_file.as_os_str()], out);
}

fn encrypt<'a>(plain: &str, to: impl IntoIterator<Item = &'a OsStr>, out: &Path) {
    let src = out.with_extension("plaintext-input");
    fs::write(&src, plain).expect("write plaintext");
    let status = Command::new("age")
        .args(to)
        .args(["-a", "-o"])
        .arg(out)
        .arg(&src)
        .status()
        .expect("the age CLI is needed: run scripts/testenv.sh (apt-get install age)");
    fs::remove_file(&src).expect("remove plaintext");
    assert!(status.success(), "age failed to encrypt {}", out.display());
}
