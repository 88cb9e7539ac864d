//! The password hash and its lock, as ansible-core's `user` treats them:
//! a value that does not look like a crypt(3) hash is set all the same,
//! with a warning; a lock is a `!` in front of the hash, and hashes are
//! compared without their `!`s ([`crate::modules::change::Read::SamePassword`]),
//! so locking never counts as a new password.

/// ansible-core's warning for a password that looks like clear text.
pub const UNHASHED: &str = "The input password appears not to have been hashed. \
     The 'password' argument must be encrypted for this module to work properly.";

/// Whether `p` looks like clear text rather than a crypt(3) hash, by
/// ansible-core's rules: `*`, `!` and `*************` disable an account
/// and pass; otherwise a `:`, `*` or `!`, no `$`, fewer than three
/// `$`-fields, a character outside `[a-zA-Z0-9./=]` in the last field, or a
/// last field of the wrong length for MD5, SHA-256, SHA-512 or yescrypt.
pub fn looks_unhashed(p: &str) -> bool {
    if matches!(p, "*" | "!" | "*************") {
        return false;
    }
    if p.contains([':', '*', '!']) || !p.contains('$') {
        return true;
    }
    let fields: Vec<&str> = p.split('$').collect();
    if fields.len() < 3 {
        return true;
    }
    let last = fields[fields.len() - 1];
    let bad_char = last
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '/' || c == '='));
    let wrong_length = match fields[1] {
        "1" => last.len() != 22,
        "5" | "y" => last.len() != 43,
        "6" => last.len() != 86,
        _ => false,
    };
    bad_char || wrong_length
}

/// The hash to set: `!` in front when the account is to be locked.
pub fn with_lock(hash: &str, lock: bool) -> String {
    let bare = hash.trim_start_matches('!');
    if lock && !matches!(hash, "*" | "!") {
        format!("!{bare}")
    } else {
        hash.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The target's passwords and what ansible-core says of them.
    #[test]
    fn hashed_or_not_as_ansible_core() {
        let sha512 = format!("$6$rounds=656000${}", "a".repeat(86));
        assert!(!looks_unhashed(&sha512));
        assert!(looks_unhashed("plaintextpassword"));
        assert!(looks_unhashed(&format!(
            "$6$rounds=656000${}+",
            "a".repeat(85)
        )));
        for disabled in ["!", "*", "*************"] {
            assert!(!looks_unhashed(disabled), "{disabled}");
        }
        assert!(!looks_unhashed(&format!(
            "$y$jCT$ZiF3$Ih{}",
            "b".repeat(41)
        )));
        assert!(looks_unhashed(&format!("$1$salt${}", "c".repeat(21))));
        assert!(looks_unhashed("$6$onlytwo"));
        assert!(!looks_unhashed("$2b$unknown"));
    }

    #[test]
    fn lock_is_a_leading_bang() {
        assert_eq!(with_lock("$6$x$y", true), "!$6$x$y");
        assert_eq!(with_lock("!$6$x$y", true), "!$6$x$y");
        assert_eq!(with_lock("$6$x$y", false), "$6$x$y");
        assert_eq!(with_lock("*", true), "*");
    }
}
