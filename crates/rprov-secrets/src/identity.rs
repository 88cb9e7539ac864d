//! Where keys come from: identity discovery, passphrases and recipients files.
//!
//! Why the crate reads the environment itself instead of the CLI passing everything
//! in: the engine (`rprov apply`) and `rprov secrets` must find keys the same way,
//! and the lookup order is part of the product (a user with a sops setup expects
//! `SOPS_AGE_KEY_FILE` to just work). The order is:
//!
//! 1. every `--identity FILE` given; if any is given, nothing else is consulted,
//! 2. otherwise `RPROV_AGE_IDENTITY`, `SOPS_AGE_KEY_FILE` and
//!    `$XDG_CONFIG_HOME/rprov/identity.txt` (default `~/.config/rprov/identity.txt`),
//!    all that exist are tried in that order. A file named by an environment variable
//!    that does not exist is an error rather than silently skipped.
//!
//! An identity file is either an age identity file (`AGE-SECRET-KEY-1...` lines,
//! `#` comments) or an OpenSSH private key (ed25519 or RSA). A passphrase-protected
//! SSH key reads `--passphrase-file` or asks on the terminal, once per run (see
//! `sshkey`). An unusable identity found by discovery is skipped with a warning;
//! one named with `--identity` is an error.
//!
//! Passphrase-encrypted secrets files (age's scrypt recipient) need no identity: the
//! passphrase comes from `--passphrase-file` or a no-echo prompt on `/dev/tty`.

use std::ffi::OsString;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};

use crate::sshkey::{LockedSshKey, Problems};
use crate::SecretsError;

/// Where to look for identities beyond the environment.
#[derive(Clone, Debug, Default)]
pub struct IdentityOptions {
    /// `--identity FILE`, in order. When non-empty, the environment is not consulted.
    pub identity_files: Vec<PathBuf>,
    /// `--passphrase-file FILE` for passphrase-encrypted secrets files.
    pub passphrase_file: Option<PathBuf>,
}

/// The environment variable naming an rprov identity file.
pub const ENV_IDENTITY: &str = "RPROV_AGE_IDENTITY";
/// The environment variable sops users already have.
pub const ENV_SOPS: &str = "SOPS_AGE_KEY_FILE";

/// The origin of identities named on the command line.
const ORIGIN_FLAG: &str = "--identity";

/// An identity file and where its path came from (for error messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub path: PathBuf,
    pub origin: String,
}

/// Environment lookup, injectable so tests need not mutate the process environment.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The process environment.
pub(crate) fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The default identity path: `$XDG_CONFIG_HOME/rprov/identity.txt`, else
/// `$HOME/.config/rprov/identity.txt`.
pub(crate) fn default_identity_path(env: Env) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("rprov").join("identity.txt"))
}

/// Finds the identity files to try for `file`, or says where it looked.
pub(crate) fn discover(
    opts: &IdentityOptions,
    env: Env,
    file: &Path,
) -> Result<Vec<Source>, SecretsError> {
    if !opts.identity_files.is_empty() {
        return Ok(opts
            .identity_files
            .iter()
            .map(|p| Source {
                path: p.clone(),
                origin: ORIGIN_FLAG.into(),
            })
            .collect());
    }
    let mut found = Vec::new();
    let mut looked = Vec::new();
    for var in [ENV_IDENTITY, ENV_SOPS] {
        match env(var) {
            Some(p) => {
                let path = PathBuf::from(p);
                if !path.exists() {
                    return Err(SecretsError::BadIdentity {
                        path,
                        origin: var.into(),
                        reason: "does not exist".into(),
                    });
                }
                found.push(Source {
                    path,
                    origin: var.into(),
                });
            }
            None => looked.push(format!("${var} (not set)")),
        }
    }
    match default_identity_path(env) {
        Some(path) if path.exists() => found.push(Source {
            path,
            origin: "default path".into(),
        }),
        Some(path) => looked.push(format!("{} (does not exist)", path.display())),
        None => looked.push("~/.config/rprov/identity.txt ($HOME not set)".into()),
    }
    if found.is_empty() {
        return Err(SecretsError::NoIdentity {
            file: file.to_owned(),
            looked,
            hint: no_identity_hint(file),
        });
    }
    Ok(found)
}

/// What to tell a user who has no identity for `file`. `rprov secrets init`
/// makes a *new* identity, which cannot decrypt a file that already exists, so
/// it is not the answer there. A repository that ships an identity for its
/// example secrets (rprov's own `inventory/test-identity.txt`) gets that file
/// named, with the line to paste: it is found by content, as an age identity
/// in the secrets file's directory or one level below whose public key is
/// listed in the `secrets.recipients` beside the file.
fn no_identity_hint(file: &Path) -> String {
    let init = "`rprov secrets init` makes a new identity, which cannot decrypt an existing file";
    if let Some(found) = matching_identity_near(file) {
        let shown = relative_to_cwd(&found);
        return format!(
            "{shown} holds the identity of a key listed in {}: `export RPROV_AGE_IDENTITY={shown}` (or pass `--identity {shown}`); {init}",
            relative_to_cwd(&recipients_path(file)).display(),
            shown = shown.display()
        );
    }
    if file.exists() {
        format!(
            "pass `--identity FILE` or `export RPROV_AGE_IDENTITY=FILE` with an identity {} was encrypted to (one of the keys in {}); {init}",
            file.display(),
            recipients_path(file).display()
        )
    } else {
        "pass `--identity FILE` or `export RPROV_AGE_IDENTITY=FILE`, or run `rprov secrets init` to make a new identity".into()
    }
}

/// The public keys of the identities `opts` and `env` name (age identity
/// files, and SSH keys with a `.pub` beside them), each with the file it came
/// from: what a missing recipients file should list so that its user can
/// still read what they write. Unreadable sources are left out.
pub(crate) fn own_public_keys(
    opts: &IdentityOptions,
    env: Env,
    file: &Path,
) -> Vec<(String, PathBuf)> {
    let Ok(sources) = discover(opts, env, file) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for src in sources {
        let Ok(text) = std::fs::read_to_string(&src.path) else {
            continue;
        };
        for id in text
            .lines()
            .filter_map(|l| age::x25519::Identity::from_str(l.trim()).ok())
        {
            keys.push((id.to_public().to_string(), src.path.clone()));
        }
        if text.contains("PRIVATE KEY") {
            let mut pub_path = src.path.clone().into_os_string();
            pub_path.push(".pub");
            if let Ok(public) = std::fs::read_to_string(&pub_path) {
                if let Some(line) = public.lines().find(|l| l.starts_with("ssh-")) {
                    keys.push((line.trim().to_string(), src.path.clone()));
                }
            }
        }
    }
    keys
}

/// `path` relative to the current directory when it lies below it (what a
/// user pastes), else as it is.
fn relative_to_cwd(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    std::env::current_dir()
        .ok()
        .and_then(|cwd| abs.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}

/// An age identity file in `file`'s directory or one level below (hidden
/// directories skipped, small files only) whose public key is one of the
/// recipients listed beside `file`. Only called on the error path.
fn matching_identity_near(file: &Path) -> Option<PathBuf> {
    let recipients = std::fs::read_to_string(recipients_path(file)).ok()?;
    let wanted: Vec<&str> = recipients
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("age1"))
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let visible = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.starts_with('.') && n != "target")
    };
    let mut candidates: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let p = entry.path();
        if !visible(&p) {
            continue;
        }
        if p.is_dir() {
            if let Ok(sub) = std::fs::read_dir(&p) {
                candidates.extend(sub.flatten().map(|e| e.path()).filter(|p| p.is_file()));
            }
        } else {
            candidates.push(p);
        }
    }
    candidates.sort();
    candidates.into_iter().find(|p| {
        let small = std::fs::metadata(p).is_ok_and(|m| m.len() <= 16 * 1024);
        small
            && std::fs::read_to_string(p).is_ok_and(|text| {
                text.lines()
                    .filter_map(|l| age::x25519::Identity::from_str(l.trim()).ok())
                    .any(|id| wanted.contains(&id.to_public().to_string().as_str()))
            })
    })
}

/// The identities to decrypt one file with, and where problems met while using
/// them (a wrong SSH key passphrase, no terminal) are recorded.
pub(crate) struct Loaded {
    pub ids: Vec<Box<dyn age::Identity>>,
    pub problems: Problems,
}

/// Reads and parses every identity in `sources`.
///
/// A file named with `--identity` must be usable. One found by discovery (an
/// environment variable, the default path) that is not is skipped with a
/// warning, so a broken `$SOPS_AGE_KEY_FILE` does not hide a good
/// `~/.config/rprov/identity.txt`; if none is usable, the first problem is the error.
pub(crate) fn load_identities(
    sources: &[Source],
    opts: &IdentityOptions,
) -> Result<Loaded, SecretsError> {
    let problems = Problems::default();
    let mut ids = Vec::new();
    let mut skipped = None;
    for src in sources {
        match load_identity_file(src, opts, &problems) {
            Ok(found) => ids.extend(found),
            Err(e) if src.origin != ORIGIN_FLAG => {
                eprintln!("warning: {e}; trying the other identities");
                skipped.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    match skipped {
        Some(e) if ids.is_empty() => Err(e),
        _ => Ok(Loaded { ids, problems }),
    }
}

fn bad(src: &Source, reason: impl Into<String>) -> SecretsError {
    SecretsError::BadIdentity {
        path: src.path.clone(),
        origin: src.origin.clone(),
        reason: reason.into(),
    }
}

fn load_identity_file(
    src: &Source,
    opts: &IdentityOptions,
    problems: &Problems,
) -> Result<Vec<Box<dyn age::Identity>>, SecretsError> {
    let data = zeroize::Zeroizing::new(
        std::fs::read(&src.path).map_err(|e| bad(src, format!("cannot read it: {e}")))?,
    );
    let is_ssh = data
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY"));
    if is_ssh {
        let filename = src.path.display().to_string();
        let id = age::ssh::Identity::from_buffer(data.as_slice(), Some(filename))
            .map_err(|e| bad(src, format!("not a usable SSH private key: {e}")))?;
        return match id {
            age::ssh::Identity::Unsupported(k) => Err(bad(src, Unsupported(&k).to_string())),
            age::ssh::Identity::Encrypted(_) => Ok(vec![Box::new(LockedSshKey::new(
                &src.path,
                &data,
                id,
                opts,
                problems.clone(),
            ))]),
            age::ssh::Identity::Unencrypted(_) => Ok(vec![Box::new(id)]),
        };
    }
    let file =
        age::IdentityFile::from_buffer(data.as_slice()).map_err(|e| bad(src, e.to_string()))?;
    let ids = file
        .into_identities()
        .map_err(|e| bad(src, e.to_string()))?;
    if ids.is_empty() {
        return Err(bad(
            src,
            "contains no identity (expected AGE-SECRET-KEY-1... lines or an SSH private key)",
        ));
    }
    Ok(ids)
}

struct Unsupported<'a>(&'a age::ssh::UnsupportedKey);

impl fmt::Display for Unsupported<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display(f, None)
    }
}

/// Prompts on `/dev/tty` without echo; `None` when there is no terminal.
pub(crate) fn prompt_secret(prompt: &str) -> Option<String> {
    rpassword::prompt_password(prompt).ok()
}

/// Reads a passphrase file: one trailing newline stripped, the rest kept as is.
pub(crate) fn passphrase_from_file(path: &Path) -> Result<SecretString, SecretsError> {
    let raw = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| SecretsError::io("reading passphrase file", path, e))?,
    );
    let pw = raw
        .strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(&raw);
    if pw.is_empty() {
        return Err(SecretsError::io(
            "reading passphrase file",
            path,
            std::io::Error::other("it is empty"),
        ));
    }
    Ok(SecretString::from(pw.to_owned()))
}

/// Gets the passphrase for `what`: from `--passphrase-file` (one trailing newline
/// stripped, the rest kept as is) or a terminal prompt.
pub(crate) fn passphrase(opts: &IdentityOptions, what: &str) -> Result<SecretString, SecretsError> {
    if let Some(path) = &opts.passphrase_file {
        return passphrase_from_file(path);
    }
    prompt_secret(&format!("Passphrase for {what}: "))
        .filter(|p| !p.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| SecretsError::PassphraseUnavailable { what: what.into() })
}

/// `secrets.recipients` in the same directory as the secrets file.
pub fn recipients_path(secrets_file: &Path) -> PathBuf {
    match secrets_file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("secrets.recipients"),
        _ => PathBuf::from("secrets.recipients"),
    }
}

/// Parses a recipients file: age (`age1...`) and SSH (`ssh-ed25519`, `ssh-rsa`)
/// public keys, one per line; blank lines and `#` comments are ignored.
pub(crate) fn read_recipients(
    path: &Path,
) -> Result<Vec<Box<dyn age::Recipient + Send>>, SecretsError> {
    let err = |reason: String| SecretsError::Recipients {
        path: path.to_owned(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(err(
                "does not exist; new content is encrypted to the public keys listed in it, one per line (age `age1…` or SSH `ssh-ed25519 …`): list the key of every identity that should read the file (an age identity file shows its key on its `# public key:` line, `age-keygen -y FILE` prints it, an SSH key's is in FILE.pub), or run `rprov secrets init` for a new identity and this file".into(),
            ))
        }
        Err(e) => return Err(err(format!("cannot read it: {e}"))),
    };
    let mut out: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Ok(r) = age::x25519::Recipient::from_str(line) {
            out.push(Box::new(r));
        } else {
            match age::ssh::Recipient::from_str(line) {
                Ok(r) => out.push(Box::new(r)),
                Err(_) => {
                    return Err(err(format!(
                        "line {}: not an age (age1...) or SSH (ssh-ed25519, ssh-rsa) public key",
                        n + 1
                    )))
                }
            }
        }
    }
    if out.is_empty() {
        return Err(err("lists no recipients".into()));
    }
    Ok(out)
}

/// Where `init` writes a new identity: the first `--identity`, else
/// `RPROV_AGE_IDENTITY`, else the default path.
pub(crate) fn init_identity_path(
    opts: &IdentityOptions,
    env: Env,
) -> Result<PathBuf, SecretsError> {
    if let Some(p) = opts.identity_files.first() {
        return Ok(p.clone());
    }
    if let Some(p) = env(ENV_IDENTITY) {
        return Ok(PathBuf::from(p));
    }
    default_identity_path(env).ok_or_else(|| SecretsError::BadIdentity {
        path: PathBuf::from("~/.config/rprov/identity.txt"),
        origin: "default path".into(),
        reason: "$HOME is not set; pass --identity FILE".into(),
    })
}

/// Creates a new X25519 identity at `identity` (mode 0600, never overwriting) and a
/// recipients file with its public key at `recipients` (never overwriting).
/// Returns the public key.
pub(crate) fn init(identity: &Path, recipients: &Path) -> Result<String, SecretsError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

    for (path, hint) in [
        (
            identity,
            "use it as is, or pass --identity NEW_FILE".to_string(),
        ),
        (
            recipients,
            "add the new public key to it by hand".to_string(),
        ),
    ] {
        if path.exists() {
            return Err(SecretsError::AlreadyExists {
                path: path.to_owned(),
                hint,
            });
        }
    }
    let key = age::x25519::Identity::generate();
    let public = key.to_public().to_string();
    if let Some(dir) = identity.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| SecretsError::io("creating directory", dir, e))?;
    }
    let created = chrono_free_comment();
    // create_new: a file that appeared since the check above is still not overwritten.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(identity)
        .map_err(|e| SecretsError::io("creating identity file", identity, e))?;
    let body = zeroize::Zeroizing::new(format!(
        "# rprov age identity{created}\n# public key: {public}\n{}\n",
        key.to_string().expose_secret()
    ));
    f.write_all(body.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| SecretsError::io("writing identity file", identity, e))?;
    let mut r = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(recipients)
        .map_err(|e| SecretsError::io("creating recipients file", recipients, e))?;
    writeln!(
        r,
        "# Public keys that can decrypt the secrets file beside this one (age or SSH),\n# one per line. Run `rprov secrets rekey` after changing this file.\n{public}"
    )
    .map_err(|e| SecretsError::io("writing recipients file", recipients, e))?;
    Ok(public)
}

/// A `, created at unix time N` suffix, without pulling in a date crate.
fn chrono_free_comment() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!(", created at unix time {}", d.as_secs()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_os_str().to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn explicit_identities_win_over_environment() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[(ENV_IDENTITY, &dir.path().join("nope"))]);
        let opts = IdentityOptions {
            identity_files: vec!["a".into(), "b".into()],
            passphrase_file: None,
        };
        let found = discover(&opts, &env, Path::new("secrets.age")).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].origin, "--identity");
    }

    #[test]
    fn environment_then_sops_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.txt");
        let home = dir.path().join("home");
        let def = home.join(".config/rprov/identity.txt");
        std::fs::create_dir_all(def.parent().unwrap()).unwrap();
        for p in [&a, &b, &def] {
            std::fs::write(p, "").unwrap();
        }
        let env = env_of(&[(ENV_IDENTITY, &a), (ENV_SOPS, &b), ("HOME", &home)]);
        let found = discover(&IdentityOptions::default(), &env, Path::new("s.age")).unwrap();
        let paths: Vec<_> = found.iter().map(|s| s.path.clone()).collect();
        assert_eq!(paths, vec![a, b, def]);
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[("HOME", dir.path())]);
        let err = discover(&IdentityOptions::default(), &env, Path::new("s.age")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("$RPROV_AGE_IDENTITY (not set)"), "{msg}");
        assert!(msg.contains("$SOPS_AGE_KEY_FILE (not set)"), "{msg}");
        assert!(
            msg.contains(".config/rprov/identity.txt (does not exist)"),
            "{msg}"
        );
    }

    #[test]
    fn env_var_naming_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[(ENV_SOPS, &dir.path().join("missing.txt"))]);
        let err = discover(&IdentityOptions::default(), &env, Path::new("s.age")).unwrap_err();
        assert!(err.to_string().contains("SOPS_AGE_KEY_FILE"), "{err}");
    }

    #[test]
    fn recipients_file_accepts_age_ssh_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.recipients");
        let age_pub = age::x25519::Identity::generate().to_public().to_string();
        std::fs::write(
            &p,
            format!("# team\n{age_pub}\n\n  # laptop\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@example\n"),
        )
        .unwrap();
        assert_eq!(read_recipients(&p).unwrap().len(), 2);
        std::fs::write(&p, "# only a comment\n").unwrap();
        assert!(read_recipients(&p)
            .err()
            .unwrap()
            .to_string()
            .contains("no recipients"));
        std::fs::write(&p, "age1nope\n").unwrap();
        assert!(read_recipients(&p)
            .err()
            .unwrap()
            .to_string()
            .contains("line 1"));
    }

    #[test]
    fn recipients_path_is_beside_the_file() {
        assert_eq!(
            recipients_path(Path::new("secrets.age")),
            PathBuf::from("secrets.recipients")
        );
        assert_eq!(
            recipients_path(Path::new("x/prod.age")),
            PathBuf::from("x/secrets.recipients")
        );
    }
}
