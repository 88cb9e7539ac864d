//! How a [`super::Change::Write`] and attribute changes are said in shell:
//! the atomic write (temp file, attributes first, content checked, renamed
//! into place) and `chown`/`chmod` lines.

use rprov_transport::quote;

use crate::modules::files::{parent, Attrs};
use crate::modules::mode;
use crate::probe::{FileKind, FileState};

/// Shell lines setting these attributes on `target` (a quoted path or `"$t"`).
/// `current` is the mode the path has now (for symbolic modes).
pub fn attr_lines(
    attrs: &Attrs,
    target: &str,
    current: u32,
    is_dir: bool,
    no_deref: bool,
) -> Result<String, String> {
    let mut s = String::new();
    let h = if no_deref { "-h " } else { "" };
    match (&attrs.owner, &attrs.group) {
        (Some(o), Some(g)) => s.push_str(&format!(
            "chown {h}{} {target}\n",
            quote(&format!("{o}:{g}"))
        )),
        (Some(o), None) => s.push_str(&format!("chown {h}{} {target}\n", quote(o))),
        (None, Some(g)) => s.push_str(&format!("chgrp {h}{} {target}\n", quote(g))),
        (None, None) => {}
    }
    if let Some(m) = &attrs.mode {
        if !no_deref {
            s.push_str(&format!(
                "chmod {} {target}\n",
                mode::fmt(m.resolve(current, is_dir)?)
            ));
        }
    }
    Ok(s)
}

/// Where the new content of an atomic write comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// All of stdin, which carries these bytes.
    Stdin(&'a [u8]),
    /// The next bytes of stdin, which carry these bytes (several files on
    /// one stdin, one after another).
    StdinNext(&'a [u8]),
    /// A file on the host (`copy` with `remote_src`).
    HostFile(&'a str),
}

/// The temp file's name, chosen on the controller rather than by `mktemp` so
/// that `validate`'s `%s` is a known, plain word (see [`validate_command`]).
/// Random enough that two runs never pick the same one.
pub(crate) fn temp_path(dest: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(now.to_le_bytes());
    h.update(dest.as_bytes());
    let hash = hex::encode(h.finalize());
    let dir = parent(dest);
    let sep = if dir.ends_with('/') { "" } else { "/" };
    format!("{dir}{sep}{TEMP_PREFIX}{}", &hash[..16])
}

/// Every temp file of an atomic write starts with this (in the destination's
/// directory); tests look for leftovers by it.
pub const TEMP_PREFIX: &str = ".rprov-";

/// A script that writes the content from `source` to `dest` atomically: a
/// temp file in the same directory gets its final owner and mode *before*
/// any byte is written (so a secret is never readable by others), is checked
/// to hold exactly the content (length and sha256: a controller killed
/// mid-transfer leaves the host a short stdin, and a prefix must never be
/// installed), is validated, then renamed over `dest`. An interrupted run
/// leaves the old file or the new one, never a torn one, and no temp file.
pub fn atomic_write_of(
    dest: &str,
    attrs: &Attrs,
    existing: &FileState,
    validate: Option<&str>,
    backup: bool,
    source: Source,
) -> Result<String, String> {
    let dir = parent(dest);
    let d = quote(dir);
    let q = quote(dest);
    let tmp = temp_path(dest);
    // `set -C` makes `>` fail on an existing file: the temp file is ours alone
    // (and the trap that removes it is set only once it is).
    // A signal (the connection dropped, the shell's output closed) ends the
    // script through `exit`, so the EXIT trap still removes the temp file.
    let mut s = format!(
        "set -e\n\
         [ -d {d} ] || {{ printf 'Destination directory %s does not exist\\n' {d} >&2; exit 3; }}\n\
         t={}\n\
         (umask 077; set -C; : > \"$t\") || {{ [ -n \"${{_rp_unsafe:-}}\" ] && t=$(mktemp); }}\n\
         trap 'rm -f \"$t\"' EXIT\n\
         trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM\n",
        quote(&tmp)
    );
    // Keep what the user did not ask to change: the ACLs and extended
    // attributes of the file being replaced (as ansible-core's atomic_move
    // copies them with `shutil.copystat`), its owner, group and mode, or the
    // umask default for a new file. A `cp` without attribute support skips
    // the first.
    if existing.kind == FileKind::File {
        s.push_str(&format!(
            "cp --attributes-only --preserve=mode,xattr -- {q} \"$t\" 2>/dev/null || true\n"
        ));
    }
    if existing.exists() {
        if attrs.owner.is_none() || attrs.group.is_none() {
            s.push_str(&format!(
                "chown --reference={q} \"$t\" 2>/dev/null || true\n"
            ));
        }
        if attrs.mode.is_none() {
            s.push_str(&format!("chmod --reference={q} \"$t\"\n"));
        }
    } else if attrs.mode.is_none() {
        s.push_str("chmod \"$(printf '%o' $(( 0666 & ~$(umask) )))\" \"$t\"\n");
    }
    let current = if existing.exists() {
        mode::parse_octal(&existing.mode)
    } else {
        0o644
    };
    s.push_str(&attr_lines(attrs, "\"$t\"", current, false, false)?);
    // A mode without the owner's write bit (`0400`, or a read-only file being
    // replaced) keeps a login that is not root from writing its own temp
    // file: the bit is added for the write and taken back before the rename.
    // Group and others never get more than the final mode gives them.
    s.push_str("_rp_ro=; [ -w \"$t\" ] || { _rp_ro=$(stat -c %a \"$t\"); chmod u+w \"$t\"; }\n");
    match source {
        Source::Stdin(bytes) => {
            s.push_str("cat > \"$t\"\n");
            s.push_str(&verify_received(dest, bytes));
        }
        Source::StdinNext(bytes) => {
            s.push_str(&format!("head -c {} > \"$t\"\n", bytes.len()));
            s.push_str(&verify_received(dest, bytes));
        }
        Source::HostFile(src) => s.push_str(&format!("cat -- {} > \"$t\"\n", quote(src))),
    }
    s.push_str("[ -z \"$_rp_ro\" ] || chmod \"$_rp_ro\" \"$t\"\n");
    if let Some(v) = validate {
        s.push_str(&format!(
            "if ! _rp_out=$({} 2>&1); then printf 'validation failed: %s\\n' \"$_rp_out\" >&2; exit 4; fi\n",
            validate_command(v, &tmp)?
        ));
    }
    if backup && existing.kind == FileKind::File {
        // Ansible's name for it, printed for `backup_file` (see `files::parse_written`).
        s.push_str(&format!(
            "_rp_b={q}.$$.\"$(date +%Y-%m-%d@%H:%M:%S)\"~\ncp -p {q} \"$_rp_b\"\nprintf '%s\\n' \"$_rp_b\"\n"
        ));
    }
    // `unsafe_writes`: where the rename cannot be made (the temp file is
    // elsewhere, the destination is a mount point, the directory immutable),
    // the content is written into the file itself, as ansible-core's
    // `_unsafe_writes`.
    s.push_str(&format!(
        "if ! mv -f \"$t\" {q} 2>/dev/null; then\n\
         [ -n \"${{_rp_unsafe:-}}\" ] || mv -f \"$t\" {q}\n\
         cat \"$t\" > {q}; rm -f \"$t\"\n\
         fi\ntrap - EXIT\n"
    ));
    Ok(s)
}

/// Shell lines that fail the write (the EXIT trap removes the temp file)
/// unless the temp file holds exactly `bytes`: a connection cut mid-transfer
/// gives the host a short stdin, which `cat` takes for the end of the file.
fn verify_received(dest: &str, bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let sum = hex::encode(Sha256::digest(bytes));
    format!(
        "_rp_n=$(wc -c < \"$t\")\n\
         if [ \"$_rp_n\" -ne {len} ] || [ \"$(sha256sum < \"$t\")\" != '{sum}  -' ]; then \
         printf 'rprov: %s: received %s of {len} bytes or other bytes than were sent \
         (the connection was cut?); the file is unchanged\\n' {q} \"$_rp_n\" >&2; exit 5; fi\n",
        len = bytes.len(),
        q = quote(dest),
    )
}

/// `validate` as Ansible runs it: the text is split into words like a shell
/// would (no expansion), `%s` in each word becomes the temp file's path and
/// `%%` a `%`, and each word is quoted, so the validator gets the words the
/// user wrote whatever they contain. The temp path is a plain word when the
/// destination's directory is (the usual case), so a `%s` inside a nested
/// `sh -c '…'` reads it right too.
fn validate_command(v: &str, tmp: &str) -> Result<String, String> {
    if !v.contains("%s") {
        return Err(format!("validate must contain %s: {v}"));
    }
    let words =
        shlex::split(v).ok_or_else(|| format!("`validate` has an unclosed quote: `{v}`"))?;
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        let mut word = String::with_capacity(w.len());
        let mut chars = w.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek()) {
                ('%', Some('s')) => {
                    chars.next();
                    word.push_str(tmp);
                }
                ('%', Some('%')) => {
                    chars.next();
                    word.push('%');
                }
                _ => word.push(c),
            }
        }
        out.push(quote(&word));
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::mode::Mode;
    use crate::modules::testing::run_sh;
    use crate::probe::FileState;

    /// [`atomic_write_of`] of `content`, sent on stdin.
    fn atomic_write_script(
        dest: &str,
        attrs: &Attrs,
        existing: &FileState,
        validate: Option<&str>,
        backup: bool,
        content: &[u8],
    ) -> Result<String, String> {
        atomic_write_of(
            dest,
            attrs,
            existing,
            validate,
            backup,
            Source::Stdin(content),
        )
    }

    #[test]
    fn atomic_write_runs_locally() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt").display().to_string();
        let write = |content: &[u8], validate| {
            let s = atomic_write_script(
                &dest,
                &mode_600(),
                &FileState::missing(),
                validate,
                false,
                content,
            )
            .unwrap();
            run_sh(&s, content)
        };
        let out = write(b"hello\n", Some("grep -q hello %s"));
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        // Failing validation leaves the old file and no temp file behind.
        let out = write(b"bye\n", Some("grep -q hello %s"));
        assert_eq!(out.status.code(), Some(4), "{out:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn a_short_or_altered_stdin_is_never_installed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("big").display().to_string();
        std::fs::write(&dest, "old\n").unwrap();
        let new: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let st = FileState::missing();
        let s = atomic_write_script(&dest, &mode_600(), &st, None, false, &new).unwrap();
        // The connection cut: the host sees end of input after a prefix.
        for cut in [0, 1, new.len() / 2, new.len() - 1] {
            let out = run_sh(&s, &new[..cut]);
            assert_eq!(out.status.code(), Some(5), "cut at {cut}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(&format!("received {cut} of {} bytes", new.len())),
                "{err}"
            );
            assert_eq!(std::fs::read(&dest).unwrap(), b"old\n", "cut at {cut}");
            assert_eq!(names(dir.path()), ["big"], "cut at {cut}");
        }
        // As many bytes, but not the ones sent.
        let mut other = new.clone();
        other[1000] ^= 1;
        assert_eq!(run_sh(&s, &other).status.code(), Some(5));
        assert_eq!(std::fs::read(&dest).unwrap(), b"old\n");
        // Several files on one stdin: a cut in the second leaves the first new
        // and the second old.
        let d2 = dir.path().join("second").display().to_string();
        std::fs::write(&d2, "old2\n").unwrap();
        let write = |dest: &str, bytes: &[u8]| crate::modules::change::Change::Write {
            dest: dest.to_string(),
            attrs: mode_600(),
            existing: st.clone(),
            validate: None,
            backup: false,
            content: crate::modules::change::Content::Bytes(bytes.to_vec()),
        };
        let two = crate::modules::change::render(&[
            write(&dest, b"first\n"),
            write(&d2, b"second file\n"),
        ])
        .unwrap()
        .script;
        let out = run_sh(&two, b"first\nsecond");
        assert_eq!(out.status.code(), Some(5), "{out:?}");
        assert_eq!(std::fs::read(&dest).unwrap(), b"first\n");
        assert_eq!(std::fs::read(&d2).unwrap(), b"old2\n");
        assert_eq!(names(dir.path()), ["big", "second"]);
    }

    #[test]
    fn validate_gets_the_temp_path_in_any_quoting_context() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("conf").display().to_string();
        let content = b"the content\n";
        let st = FileState::missing();
        // Inside the single quotes of a nested `sh -c`: the validator reads
        // the file (Ansible splits validate into words, without a shell).
        let s = atomic_write_script(
            &dest,
            &mode_600(),
            &st,
            Some("sh -c 'cat %s; exit 1'"),
            false,
            content,
        )
        .unwrap();
        let out = run_sh(&s, content);
        assert_eq!(out.status.code(), Some(4));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err, "validation failed: the content\n");
        // `%%` is a literal percent sign, as in Python's `%` formatting.
        let s = atomic_write_script(
            &dest,
            &mode_600(),
            &st,
            Some("sh -c 'printf 100%%; test -s \"$0\"' %s"),
            false,
            content,
        )
        .unwrap();
        let out = run_sh(&s, content);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read(&dest).unwrap(), content);
        assert!(validate_command("true", "/x").is_err());
        assert!(validate_command("sh -c 'oops %s", "/x").is_err());
    }

    #[test]
    fn hostile_paths_reach_the_host_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let pwned = dir.path().join("pwned");
        for evil in [
            format!("$(touch {})", pwned.display()),
            format!("`touch {}`", pwned.display()),
            "$HOME".to_string(),
            "a'b\"c\\d".to_string(),
            "new\nline".to_string(),
        ] {
            let missing = dir.path().join(&evil).join("f").display().to_string();
            let s = atomic_write_script(
                &missing,
                &mode_600(),
                &FileState::missing(),
                None,
                false,
                b"x",
            )
            .unwrap();
            let out = run_sh(&s, b"x");
            assert_eq!(out.status.code(), Some(3), "{evil}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                err,
                format!(
                    "Destination directory {} does not exist\n",
                    dir.path().join(&evil).display()
                )
            );
            assert!(!pwned.exists(), "{evil} ran on the host");
            // In a directory that exists the file is written byte for byte.
            let d = dir.path().join(format!("ok {}", evil.replace('/', "_")));
            std::fs::create_dir_all(&d).unwrap();
            let dest = d.join("f").display().to_string();
            let s = atomic_write_script(
                &dest,
                &mode_600(),
                &FileState::missing(),
                Some("test -s %s"),
                false,
                b"x",
            )
            .unwrap();
            let out = run_sh(&s, b"x");
            assert!(out.status.success(), "{evil}: {out:?}");
            assert_eq!(std::fs::read(&dest).unwrap(), b"x");
            assert!(!pwned.exists(), "{evil} ran on the host");
        }
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// The file replaced keeps its ACLs (and other extended attributes),
    /// as ansible-core's `atomic_move` keeps them: a rewrite must not take
    /// away access someone was given with `setfacl`.
    #[test]
    fn a_rewrite_keeps_the_acls_of_the_file_it_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("shared.txt");
        std::fs::write(&dest, "old\n").unwrap();
        let set = std::process::Command::new("setfacl")
            .args(["-m", "u:nobody:rw"])
            .arg(&dest)
            .status()
            .expect("setfacl (Debian's `acl` package; scripts/testenv.sh installs it)");
        assert!(
            set.success(),
            "setfacl failed: is the temp dir on a filesystem with ACLs?"
        );
        let existing = crate::modules::testing::file(b"old\n", "644", "root");
        let s = atomic_write_script(
            &dest.display().to_string(),
            &Attrs::default(),
            &existing,
            None,
            false,
            b"new\n",
        )
        .unwrap();
        let out = run_sh(&s, b"new\n");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
        let acl = std::process::Command::new("getfacl")
            .arg("--omit-header")
            .arg(&dest)
            .output()
            .expect("getfacl");
        let acl = String::from_utf8_lossy(&acl.stdout);
        assert!(acl.contains("user:nobody:rw-"), "ACL lost:\n{acl}");
    }

    fn mode_600() -> Attrs {
        Attrs {
            mode: Some(Mode::Octal(0o600)),
            ..Default::default()
        }
    }
}
