//! Building shell command lines without injection.
//!
//! A remote command passes through at least one shell (the login shell that sshd
//! runs it with), often two (`sudo … sh -c`). Every piece of user data that ends up
//! in a command line therefore goes through [`quote`]; raw shell text has to be
//! asked for by name ([`Script::raw`]).

use std::fmt;

/// Quotes `s` for a POSIX shell so that it is read back as exactly one word equal
/// to `s`, whatever it contains (spaces, quotes, `$`, newlines, the empty string).
///
/// Words made only of characters that are never special are left bare, which keeps
/// logged commands readable; everything else is wrapped in single quotes, with each
/// embedded `'` written as `'\''`.
pub fn quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A POSIX `sh` script to run on a host.
///
/// Build one from a program and its arguments with [`Script::cmd`] (each argument
/// quoted), or from shell text you wrote yourself with [`Script::raw`].
#[derive(Clone, PartialEq, Eq)]
pub struct Script(String);

impl Script {
    /// Shell text used as is: pipes, redirections, `&&` and variables keep their
    /// meaning. Never put unquoted user data in it; use [`quote`] or [`Script::arg`].
    pub fn raw(text: impl Into<String>) -> Self {
        Script(text.into())
    }

    /// A simple command: `program`, quoted. Add arguments with [`Script::arg`].
    pub fn cmd(program: impl AsRef<str>) -> Self {
        Script(quote(program.as_ref()))
    }

    /// Appends one argument, quoted so it reaches the program unchanged.
    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.0.push(' ');
        self.0.push_str(&quote(arg.as_ref()));
        self
    }

    /// Appends several arguments, each quoted.
    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        args.into_iter().fold(self, Script::arg)
    }

    /// Appends shell text unquoted (e.g. `2>&1` or `| sha256sum`).
    pub fn raw_arg(mut self, text: impl AsRef<str>) -> Self {
        self.0.push(' ');
        self.0.push_str(text.as_ref());
        self
    }

    /// The script text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Script").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round-trips through a real local `sh`: `printf '%s\0' WORD` must print WORD.
    fn through_sh(word: &str) -> String {
        let script = Script::cmd("printf").arg("%s").arg(word);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .output()
            .expect("sh runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8")
    }

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("/etc/ssh/sshd_config"), "/etc/ssh/sshd_config");
        assert_eq!(quote("a=b,c:d@e%f+g"), "a=b,c:d@e%f+g");
    }

    #[test]
    fn empty_string_is_an_empty_word() {
        assert_eq!(quote(""), "''");
        assert_eq!(through_sh(""), "");
    }

    #[test]
    fn single_quotes_are_escaped() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("'"), "''\\'''");
    }

    #[test]
    fn nasty_words_round_trip_through_sh() {
        for word in [
            "it's",
            "''",
            "\"double\"",
            "$HOME `id` $(id)",
            "a\nb\n",
            "\n",
            "tab\there",
            "back\\slash\\",
            "*?[a-z]",
            "; rm -rf / #",
            "-n",
            "~root",
            "a b  c",
            "ünïcödé ✓",
            "!!",
        ] {
            assert_eq!(through_sh(word), word, "quoted as {}", quote(word));
        }
    }

    #[test]
    fn builder_quotes_each_argument() {
        let s = Script::cmd("echo").args(["a b", "c"]).raw_arg("2>&1");
        assert_eq!(s.as_str(), "echo 'a b' c 2>&1");
    }
}
