//! Shared helpers: the real `age` CLI, key generation and a sandboxed environment.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rprov_secrets::cli::{SecretsArgs, SecretsCommand};
use rprov_secrets::edit::EditOptions;
use rprov_secrets::SecretsError;

/// Fails (never skips) when a CLI the tests need is missing.
pub fn require(bin: &str, package: &str) -> PathBuf {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "`{bin}` not found: install the {package} package (apt-get install {package})"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

pub fn age() -> PathBuf {
    require("age", "age")
}

/// Runs a command, asserting success, returning stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.stderr(Stdio::piped()).output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A new age identity file in `dir`; returns (identity path, public key).
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    require("age-keygen", "age");
    let p = dir.join(name);
    run(Command::new("age-keygen").arg("-o").arg(&p));
    let public = String::from_utf8(run(Command::new("age-keygen").arg("-y").arg(&p))).unwrap();
    (p, public.trim().to_owned())
}

/// Encrypts `plain` with the age CLI to `recipient`.
pub fn age_encrypt(plain: &str, recipient: &str, out: &Path, armor: bool) {
    let src = out.with_extension("plain-input");
    std::fs::write(&src, plain).unwrap();
    let mut cmd = Command::new(age());
    cmd.arg("-r").arg(recipient).arg("-o").arg(out);
    if armor {
        cmd.arg("-a");
    }
    run(cmd.arg(&src));
    std::fs::remove_file(&src).unwrap();
}

/// Decrypts with the age CLI.
pub fn age_decrypt(file: &Path, identity: &Path) -> String {
    String::from_utf8(run(Command::new(age())
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)))
    .unwrap()
}

/// An environment with only HOME set (to an empty dir), so the developer's real
/// identity is never picked up.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub vars: HashMap<String, OsString>,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let mut vars = HashMap::new();
        vars.insert("HOME".to_string(), home.into_os_string());
        Sandbox { dir, vars }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn env(&self) -> impl Fn(&str) -> Option<OsString> + '_ {
        move |k| self.vars.get(k).cloned()
    }

    /// The temp root the edit command uses.
    pub fn tmp(&self) -> PathBuf {
        self.path("tmp")
    }

    pub fn edit_opts(&self, editor: &str) -> EditOptions {
        EditOptions {
            editor: editor.to_owned(),
            temp_root: self.tmp(),
            interactive: false,
        }
    }

    /// Runs `rprov secrets` on `file` with stdin `input`; returns stdout.
    pub fn secrets(
        &self,
        file: &Path,
        identity: &[&Path],
        command: SecretsCommand,
        opts: &EditOptions,
        input: &str,
    ) -> Result<String, SecretsError> {
        let args = SecretsArgs {
            file: file.to_owned(),
            identity: identity.iter().map(|p| p.to_path_buf()).collect(),
            passphrase_file: None,
            command,
        };
        let mut out = Vec::new();
        let env = self.env();
        rprov_secrets::cli::run_with(args, &env, opts, &mut input.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// Writes an executable editor script and returns its path as an EDITOR value.
    pub fn editor(&self, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    }

    pub fn assert_tmp_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "plaintext left behind: {left:?}");
    }
}
