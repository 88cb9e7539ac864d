//! Reusing ssh masters across runs (opt-in): where their sockets live and
//! what they are called.
//!
//! A persisted master runs with `ControlPersist=SECONDS` and its socket sits
//! at a stable path, so the next run finds it and skips the login. Two things
//! must never happen: another user talking to our master, and a run reusing a
//! master made with other settings (another key, another ProxyJump, another
//! idle bound). So the sockets live in one per-user directory of mode 0700,
//! and a socket's name is a digest of everything that shapes the connection;
//! a different setting gives a different name and its own login.
//!
//! ssh itself ends a master `SECONDS` after its last client is gone, whether
//! rprov exited or was killed: the bound holds without rprov's help.

use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Whether masters outlive the run, and for how long after their last use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Persist {
    /// Not said by the run (`--persist`, `RPROV_PERSIST`): a
    /// `ControlPersist` among a host's ssh arguments decides, as it would
    /// for Ansible; none means off.
    #[default]
    FromSshArgs,
    /// Off, whatever the ssh arguments say: every run logs in afresh.
    Off,
    /// Masters live on this many seconds after their last use.
    For(NonZeroU32),
}

impl Persist {
    /// The idle bound for a host whose ssh arguments set `ControlPersist`
    /// to `from_args` (the first one, as ssh keeps the first value).
    pub(crate) fn seconds(self, from_args: Option<&str>) -> Option<NonZeroU32> {
        match self {
            Persist::For(s) => Some(s),
            Persist::Off => None,
            Persist::FromSshArgs => from_args.and_then(parse_control_persist),
        }
    }
}

/// ssh's `ControlPersist` value as a bounded number of seconds: `60`, `60s`,
/// `10m`, `1h30m` (ssh's time format). `yes` and `0` mean "forever" to ssh,
/// which rprov will not do (no bound on what it leaves behind), and `no`
/// means off: all three, and anything unreadable, give `None`, today's
/// behaviour, as when the option is absent.
pub(crate) fn parse_control_persist(value: &str) -> Option<NonZeroU32> {
    let v = value.trim().to_ascii_lowercase();
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    if !digits.is_empty() {
        total = total.checked_add(digits.parse().ok()?)?;
    }
    NonZeroU32::new(u32::try_from(total).ok()?)
}

/// The longest directory we put sockets in: the `openssh` crate starts a
/// master at `DIR/.ssh-connectionXXXXXX/master` (30 more bytes), and unix
/// socket paths end at about 104 bytes.
const MAX_DIR_LEN: usize = 64;

/// The per-user directory for persisted masters' sockets, made (0700) if
/// missing: `$XDG_RUNTIME_DIR/rprov-cp` (a tmpfs only this user reads, gone
/// at logout), else `~/.cache/rprov/cp`, else `/tmp/rprov-cp-UID`, the first
/// short enough for socket paths. Refused when it is not a directory of
/// ours that only we can enter.
pub(crate) fn socket_dir() -> std::io::Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let uid = rustix::process::getuid().as_raw();
    let candidates = [
        env("XDG_RUNTIME_DIR").map(|d| d.join("rprov-cp")),
        env("HOME").map(|h| h.join(".cache/rprov/cp")),
        Some(PathBuf::from(format!("/tmp/rprov-cp-{uid}"))),
    ];
    let dir = candidates
        .into_iter()
        .flatten()
        .find(|d| d.is_absolute() && d.as_os_str().len() <= MAX_DIR_LEN)
        .ok_or_else(|| std::io::Error::other("no directory short enough for ssh sockets"))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid {
        return Err(std::io::Error::other(format!(
            "{} is not a directory owned by this user",
            dir.display()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// The socket's name: 24 hex digits of a digest of every setting that
/// shapes the connection (each part length-prefixed, so no two lists of
/// parts give the same text). ~/.ssh/config is not among them: a change
/// there takes effect once the master idles out.
pub(crate) fn socket_name(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(b"rprov-persist-1\0");
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut name = String::with_capacity(24);
    for b in &digest[..12] {
        let _ = write!(name, "{b:02x}");
    }
    name
}

/// Removes the `openssh` crate's launch directories (ssh's log, and the
/// master's own socket path) whose master has exited, once older than `age`:
/// younger ones may be a login in flight, whose socket is not there yet.
pub(crate) fn remove_old_launch_dirs(dir: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .starts_with(".ssh-connection")
        {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a > age);
        // ssh removes its socket as it exits. Not asked by connecting: a
        // connection is a use, and would keep a master past its time.
        if old && !e.path().join("master").exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ssh_time_values() {
        let s = |v: &str| parse_control_persist(v).map(NonZeroU32::get);
        assert_eq!(s("60"), Some(60));
        assert_eq!(s("60s"), Some(60));
        assert_eq!(s("10m"), Some(600));
        assert_eq!(s("1h30m"), Some(5400));
        assert_eq!(s("2S"), Some(2));
        // Forever, off, and nonsense: not persisted.
        for v in ["yes", "0", "no", "true", "", "5x", "m"] {
            assert_eq!(s(v), None, "{v:?}");
        }
    }

    #[test]
    fn explicit_setting_beats_ssh_args() {
        let two = NonZeroU32::new(2);
        assert_eq!(Persist::Off.seconds(Some("60s")), None);
        assert_eq!(Persist::FromSshArgs.seconds(None), None);
        assert_eq!(
            Persist::FromSshArgs.seconds(Some("60s")),
            NonZeroU32::new(60)
        );
        assert_eq!(
            Persist::For(two.unwrap_or(NonZeroU32::MIN)).seconds(Some("60s")),
            two
        );
    }

    #[test]
    fn names_differ_with_any_part_and_stay_short() {
        let a = socket_name(&["u", "h", "22"]);
        assert_eq!(a.len(), 24);
        assert_eq!(a, socket_name(&["u", "h", "22"]));
        assert_ne!(a, socket_name(&["u", "h", "2222"]));
        assert_ne!(socket_name(&["ab", "c"]), socket_name(&["a", "bc"]));
    }
}
