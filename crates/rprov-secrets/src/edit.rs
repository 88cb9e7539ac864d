//! `rprov secrets edit`: the only place plaintext touches the disk.
//!
//! Why it is built this way:
//! - The plaintext copy lives in a fresh directory under `$TMPDIR` (mode 0700, file
//!   0600) that is a [`tempfile::TempDir`], so it is removed when this function
//!   returns, on success, on error and on panic. The editor's swap and backup files
//!   land in the same directory and go with it.
//! - Ctrl-C: the terminal sends SIGINT to the whole foreground process group. The
//!   editor must get it (vim uses it; a script should die of it) but rprov must not
//!   die before removing the directory. So SIGINT is *ignored* in rprov while the
//!   directory exists, and reset to the default in the child between fork and exec
//!   (an ignored disposition would otherwise be inherited). A SIGKILL or SIGTERM
//!   still leaves the directory behind: each edit holds a lock on a file in its
//!   directory for as long as it runs, and the next edit removes every such
//!   directory whose lock is free (its rprov is gone). By default the directory is
//!   on a RAM-backed file system (`$XDG_RUNTIME_DIR`, else `/dev/shm`) unless
//!   `$TMPDIR` says otherwise, so the plaintext does not reach a disk.
//! - The file is re-encrypted only when its content changed, so an unchanged edit
//!   leaves the file's bytes and mtime alone (no noise in git).
//! - Invalid YAML re-opens the editor with the error as a comment at the top rather
//!   than throwing the edit away. Quitting without touching the file after such an
//!   error abandons the edit. Without a terminal on stdin nobody could fix it, so the
//!   error is returned at once (no endless loop in CI).
//! - The write key (recipients or passphrase) is resolved *before* the editor opens,
//!   so a missing recipients file is reported before the user does any work.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::file::{self, WriteKey};
use crate::identity::{Env, IdentityOptions};
use crate::SecretsError;

/// How to run the editor; [`EditOptions::from_env`] reads the usual variables.
#[derive(Clone, Debug)]
pub struct EditOptions {
    /// A shell command line; the file name is appended as an argument.
    pub editor: String,
    /// The directory in which the private temp directory is created.
    pub temp_root: PathBuf,
    /// Whether stdin is a terminal: a person can fix a YAML error, and `set` asks
    /// for the value without echo instead of reading stdin.
    pub interactive: bool,
}

impl EditOptions {
    /// `$EDITOR`, else `$VISUAL`, else `vi`; temp files under `$TMPDIR` (else `/tmp`);
    /// interactive when stdin is a terminal.
    pub fn from_env() -> Self {
        let editor = ["EDITOR", "VISUAL"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "vi".into());
        EditOptions {
            editor,
            temp_root: default_temp_root(),
            interactive: std::io::stdin().is_terminal(),
        }
    }
}

/// What an edit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditOutcome {
    /// The content was not changed; the file was not touched.
    Unchanged,
    /// The file was re-encrypted (or created).
    Written,
}

/// Marks the rprov-written error lines at the top of the temp file.
const ERROR_PREFIX: &str = "#! rprov: ";

const NEW_FILE_TEMPLATE: &str = "# rprov secrets: a YAML map of variables, encrypted with age.\n# Example:\n#   db_password: correct horse battery staple\n";

/// Edits `path` (created if missing) and re-encrypts it if the content changed.
pub(crate) fn edit(
    path: &Path,
    ids: &IdentityOptions,
    env: Env,
    opts: &EditOptions,
) -> Result<EditOutcome, SecretsError> {
    let (original, mode) = match file::decrypt_file(path, ids, env) {
        Ok(o) => (o.plaintext, Some(o.mode)),
        Err(SecretsError::NotFound { .. }) => (Zeroizing::new(NEW_FILE_TEMPLATE.to_owned()), None),
        Err(e) => return Err(e),
    };
    let key = WriteKey::for_file(path, mode.as_ref())?;

    let _sigint = SigintIgnored::new();
    remove_abandoned(&opts.temp_root);
    let dir = tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(&opts.temp_root)
        .map_err(|e| {
            SecretsError::io("creating a private temp directory in", &opts.temp_root, e)
        })?;
    // Held until this function returns; the OS drops it if rprov is killed.
    let lock = std::fs::File::create(dir.path().join(LOCK_FILE))
        .map_err(|e| SecretsError::io("creating a lock file in", dir.path(), e))?;
    lock.try_lock().map_err(|e| {
        SecretsError::io(
            "locking",
            dir.path().join(LOCK_FILE),
            std::io::Error::other(e.to_string()),
        )
    })?;
    let tmp = dir.path().join("secrets.yaml");
    let result = edit_loop(path, &tmp, &original, mode.is_none(), &key, opts);
    // Remove the plaintext now and report if that failed; Drop would hide it.
    let dir_path = dir.path().to_owned();
    let closed = dir.close();
    let outcome = result?;
    closed.map_err(|e| SecretsError::io("removing the temp directory", dir_path, e))?;
    Ok(outcome)
}

const DIR_PREFIX: &str = "rprov-secrets-";
const LOCK_FILE: &str = ".rprov-edit.lock";

/// `$TMPDIR` if the user set it; else a RAM-backed directory of this user
/// (`$XDG_RUNTIME_DIR`, then `/dev/shm`); else the system's temp directory.
fn default_temp_root() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some() {
        return std::env::temp_dir();
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    [runtime, Some(PathBuf::from("/dev/shm"))]
        .into_iter()
        .flatten()
        .find(|d| d.is_dir() && writable(d))
        .unwrap_or_else(std::env::temp_dir)
}

fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Removes this user's edit directories under `root` whose edit is over: an
/// rprov killed mid-edit (SIGKILL, SIGTERM, a closed terminal) left its
/// plaintext there. A live edit holds its lock, and is left alone. Says on
/// stderr what it removed.
fn remove_abandoned(root: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for e in entries.flatten() {
        let path = e.path();
        let ours = e.file_name().to_string_lossy().starts_with(DIR_PREFIX)
            && std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == me);
        if !ours {
            continue;
        }
        let free = match std::fs::File::open(path.join(LOCK_FILE)) {
            Ok(f) => f.try_lock().is_ok(),
            // Between tempdir creation and its lock; or an edit by an older rprov.
            Err(_) => std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(3600)),
        };
        if free && std::fs::remove_dir_all(&path).is_ok() {
            eprintln!(
                "rprov: removed {}: plaintext left by an interrupted `rprov secrets edit`",
                path.display()
            );
        }
    }
}

fn edit_loop(
    path: &Path,
    tmp: &Path,
    original: &str,
    is_new: bool,
    key: &WriteKey,
    opts: &EditOptions,
) -> Result<EditOutcome, SecretsError> {
    let mut content = Zeroizing::new(original.to_owned());
    let mut header = String::new();
    loop {
        let shown = Zeroizing::new(format!("{header}{}", content.as_str()));
        write_private(tmp, &shown)?;
        run_editor(&opts.editor, tmp, path)?;
        let edited = Zeroizing::new(
            std::fs::read_to_string(tmp).map_err(|e| SecretsError::io("reading back", tmp, e))?,
        );
        let body = Zeroizing::new(strip_header(&edited).to_owned());
        if body.as_str() == original {
            return Ok(EditOutcome::Unchanged);
        }
        if !header.is_empty() && body.as_str() == content.as_str() {
            return Err(SecretsError::EditAborted {
                reason: "the YAML error was not fixed".into(),
                file: path.to_owned(),
            });
        }
        let only_comments = body
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            if is_new {
                return Ok(EditOutcome::Unchanged);
            }
            return Err(SecretsError::EditAborted {
                reason: "the file was left empty (to remove every secret, leave `{}`)".into(),
                file: path.to_owned(),
            });
        }
        match file::parse_vars(&body, path) {
            Ok(_) => {
                file::write_encrypted(path, &body, key)?;
                return Ok(EditOutcome::Written);
            }
            Err(err) => {
                if !opts.interactive {
                    return Err(SecretsError::EditAborted {
                        reason: format!(
                            "{err} (stdin is not a terminal, so the editor is not re-opened)"
                        ),
                        file: path.to_owned(),
                    });
                }
                header = error_header(&err);
                eprintln!("{}", shifted(&err, header.lines().count()));
                content = body;
            }
        }
    }
}

/// The comment block shown above the content after a YAML error, with line numbers
/// as the user will see them.
fn error_header(err: &SecretsError) -> String {
    const HEADER_LINES: usize = 2;
    format!(
        "{ERROR_PREFIX}{}\n{ERROR_PREFIX}Fix it and save, or quit without saving to abandon the edit.\n",
        shifted(err, HEADER_LINES)
    )
}

/// The error text with its line moved down by `by` header lines.
fn shifted(err: &SecretsError, by: usize) -> String {
    match err {
        SecretsError::Yaml {
            file,
            line,
            column,
            reason,
        } => SecretsError::Yaml {
            file: file.clone(),
            line: line + by as u64,
            column: *column,
            reason: reason.clone(),
        }
        .to_string(),
        other => other.to_string(),
    }
}

fn strip_header(text: &str) -> &str {
    let mut rest = text;
    while rest.starts_with(ERROR_PREFIX) {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest
}

/// Writes the plaintext copy with mode 0600 (created that way, never widened).
fn write_private(path: &Path, text: &str) -> Result<(), SecretsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| SecretsError::io("writing the temp copy", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| SecretsError::io("writing the temp copy", path, e))
}

/// Runs `editor FILE` through `sh -c`, as git does, so `EDITOR="code --wait"` works.
fn run_editor(editor: &str, tmp: &Path, secrets: &Path) -> Result<(), SecretsError> {
    use std::os::unix::process::CommandExt;
    let fail = |reason: String| SecretsError::Editor {
        editor: editor.to_owned(),
        reason,
        file: secrets.to_owned(),
    };
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(tmp);
    // SAFETY: between fork and exec only async-signal-safe calls are allowed;
    // signal(2) is one. It restores the default SIGINT action that the parent
    // ignores, so Ctrl-C reaches the editor as usual.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let status = cmd
        .status()
        .map_err(|e| fail(format!("could not be started: {e}")))?;
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    Err(fail(match (status.code(), status.signal()) {
        // 130 is how a shell reports a child that died of SIGINT.
        (Some(130), _) => "was interrupted (Ctrl-C, exit status 130)".into(),
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(libc::SIGINT)) => "was interrupted (Ctrl-C)".into(),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "failed".into(),
    }))
}

/// Process-wide SIGINT-ignored state, reference counted so overlapping edits (tests
/// run them on parallel threads) restore the original action exactly once.
static SIGINT_STATE: Mutex<(usize, Option<SavedAction>)> = Mutex::new((0, None));

struct SavedAction(libc::sigaction);

// SAFETY: a plain C struct of a handler address, flags and a mask; no thread affinity.
unsafe impl Send for SavedAction {}

/// Ignores SIGINT until dropped.
struct SigintIgnored;

impl SigintIgnored {
    fn new() -> Self {
        let mut state = SIGINT_STATE.lock().unwrap_or_else(|p| p.into_inner());
        if state.0 == 0 {
            // SAFETY: sigaction with a zeroed struct, SIG_IGN and an empty mask is the
            // documented way to ignore a signal; `old` receives the previous action.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = libc::SIG_IGN;
                libc::sigemptyset(&mut new.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGINT, &new, &mut old) == 0 {
                    state.1 = Some(SavedAction(old));
                }
            }
        }
        state.0 += 1;
        SigintIgnored
    }
}

impl Drop for SigintIgnored {
    fn drop(&mut self) {
        let mut state = SIGINT_STATE.lock().unwrap_or_else(|p| p.into_inner());
        state.0 = state.0.saturating_sub(1);
        if state.0 == 0 {
            if let Some(SavedAction(old)) = state.1.take() {
                // SAFETY: restores the action saved by `new`.
                unsafe {
                    libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_stripped() {
        let t = format!("{ERROR_PREFIX}err\n{ERROR_PREFIX}fix\na: 1\n");
        assert_eq!(strip_header(&t), "a: 1\n");
        assert_eq!(strip_header("a: 1\n"), "a: 1\n");
    }

    #[test]
    fn abandoned_edit_directories_are_removed_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let mk = |name: &str| {
            let d = root.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("secrets.yaml"), "db_password: hunter2\n").unwrap();
            std::fs::File::create(d.join(LOCK_FILE)).unwrap();
            d
        };
        let dead = mk("rprov-secrets-dead");
        let live = mk("rprov-secrets-live");
        let other = root.path().join("not-ours");
        std::fs::create_dir(&other).unwrap();
        let held = std::fs::File::open(live.join(LOCK_FILE)).unwrap();
        held.try_lock().unwrap();
        remove_abandoned(root.path());
        assert!(!dead.exists(), "the dead edit's plaintext is still there");
        assert!(
            live.join("secrets.yaml").exists(),
            "a live edit lost its file"
        );
        assert!(other.exists());
        drop(held);
        remove_abandoned(root.path());
        assert!(!live.exists());
    }
}
