//! Text filters: `quote`, `basename`, `dirname`, `splitext`, `path_join`,
//! `expanduser`, `b64encode`, `b64decode`, `wordcount`.
//!
//! Path filters follow Python's `posixpath` (the controller is POSIX), and
//! `quote` is `shlex.quote`, since rendered commands run under `sh` on the
//! target.

use base64::Engine as _;
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::{as_text, filter_error, require_defined};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("quote", quote);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
    env.add_filter("expanduser", expanduser);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("wordcount", wordcount);
}

/// POSIX shell quoting, as Python's `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

/// Ansible's `quote`.
pub fn quote(value: &Value) -> Result<String, Error> {
    Ok(shell_quote(&as_text(value)?))
}

/// `os.path.basename`: the part after the last `/`.
pub fn basename(value: &Value) -> Result<String, Error> {
    let s = as_text(value)?;
    Ok(s.rsplit('/').next().unwrap_or_default().to_string())
}

/// `os.path.dirname`: the part before the last `/`, trailing slashes removed
/// unless it is the root.
pub fn dirname(value: &Value) -> Result<String, Error> {
    let s = as_text(value)?;
    let head = match s.rfind('/') {
        Some(i) => &s[..=i],
        None => "",
    };
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        Ok(head.trim_end_matches('/').to_string())
    } else {
        Ok(head.to_string())
    }
}

/// `os.path.expanduser`, on the controller as Ansible's filter runs: a
/// leading `~` is `$HOME` (the user's passwd entry without it), `~name`
/// that user's home; a user the controller does not know leaves the path
/// as it is.
pub fn expanduser(value: &Value) -> Result<String, Error> {
    let s = as_text(value)?;
    let Some(rest) = s.strip_prefix('~') else {
        return Ok(s);
    };
    let i = rest.find('/').unwrap_or(rest.len());
    let (name, tail) = rest.split_at(i);
    let home = if name.is_empty() {
        std::env::var("HOME")
            .ok()
            .or_else(|| passwd_home(|_, uid| Some(uid) == own_uid()))
    } else {
        passwd_home(|n, _| n == name)
    };
    let Some(home) = home else {
        return Ok(s);
    };
    let joined = format!("{}{tail}", home.trim_end_matches('/'));
    Ok(if joined.is_empty() {
        "/".into()
    } else {
        joined
    })
}

/// The home directory of the first `/etc/passwd` entry that `matches`
/// (by name and uid).
fn passwd_home(matches: impl Fn(&str, u32) -> bool) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let uid = f.get(2)?.parse().ok()?;
        matches(f.first()?, uid).then(|| f.get(5).map(|h| h.to_string()))?
    })
}

/// The controller process's uid: the owner of its `/proc/self`.
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// `os.path.splitext` as a two-item list `[root, ext]`; leading dots of the
/// file name do not start an extension (`.bashrc` has none).
pub fn splitext(value: &Value) -> Result<Value, Error> {
    let s = as_text(value)?;
    let name_start = s.rfind('/').map_or(0, |i| i + 1);
    let name = &s[name_start..];
    let leading_dots = name.len() - name.trim_start_matches('.').len();
    let split = name
        .rfind('.')
        .filter(|&i| i >= leading_dots && leading_dots < name.len());
    Ok(match split {
        Some(i) => {
            let at = name_start + i;
            Value::from(vec![s[..at].to_string(), s[at..].to_string()])
        }
        None => Value::from(vec![s.clone(), String::new()]),
    })
}

/// Ansible's `path_join`: a string is returned as is; a list is joined like
/// `os.path.join` (an absolute part discards what came before).
pub fn path_join(value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    if value.kind() == ValueKind::String {
        return as_text(value);
    }
    let mut out = String::new();
    for part in value.try_iter().map_err(|e| filter_error("path_join", e))? {
        let part = as_text(&part)?;
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// Ansible's `b64encode` (UTF-8, standard alphabet with padding).
pub fn b64encode(value: &Value, _args: Rest<Value>) -> Result<String, Error> {
    Ok(base64::engine::general_purpose::STANDARD.encode(as_text(value)?))
}

/// Ansible's `b64decode`; the decoded bytes must be UTF-8 text.
pub fn b64decode(value: &Value, _args: Rest<Value>) -> Result<String, Error> {
    let text = as_text(value)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| filter_error("b64decode", e))?;
    String::from_utf8(bytes)
        .map_err(|_| filter_error("b64decode", "decoded data is not UTF-8 text"))
}

/// Jinja's `wordcount`: the number of words (runs of word characters).
pub fn wordcount(value: &Value) -> Result<usize, Error> {
    let s = as_text(value)?;
    Ok(s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .count())
}
