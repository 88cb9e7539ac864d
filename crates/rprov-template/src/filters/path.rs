//! Path filters beyond `basename`/`dirname` (see [`super::text`]):
//! `realpath`, `relpath`, `normpath`, `expandvars`, `commonpath`,
//! `fileglob`, and the Windows ones `win_basename`, `win_dirname`,
//! `win_splitdrive`.
//!
//! As in Ansible they follow Python's `posixpath` (and `ntpath` for the
//! `win_` ones) and look at the controller: `realpath` resolves the
//! controller's symbolic links, `relpath` and relative names start from
//! the current directory, `expandvars` reads the controller's
//! environment, `fileglob` lists the controller's files (sorted by name
//! in each directory, where Python keeps the directory's own order).

use std::collections::HashMap;
use std::path::Path;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::{bind_args, filter_error, py_type_name, require_defined};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("realpath", realpath);
    env.add_filter("relpath", relpath);
    env.add_filter("normpath", normpath);
    env.add_filter("expandvars", expandvars);
    env.add_filter("commonpath", commonpath);
    env.add_filter("fileglob", fileglob);
    env.add_filter("win_basename", win_basename);
    env.add_filter("win_dirname", win_dirname);
    env.add_filter("win_splitdrive", win_splitdrive);
}

/// A path argument: text, as `os.fspath` takes it (anything else is its
/// `TypeError`).
fn path_arg(name: &str, v: &Value) -> Result<String, Error> {
    require_defined(v)?;
    v.as_str().map(str::to_string).ok_or_else(|| {
        filter_error(
            name,
            format!(
                "expected str, bytes or os.PathLike object, not {}",
                py_type_name(v)
            ),
        )
    })
}

/// `posixpath.join(a, b)`.
pub(crate) fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_string()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `posixpath.split`: the head (trailing slashes removed unless it is all
/// slashes) and the part after the last `/`.
pub(crate) fn split(p: &str) -> (String, String) {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = p.split_at(i);
    let trimmed = head.trim_end_matches('/');
    let head = if trimmed.is_empty() { head } else { trimmed };
    (head.to_string(), tail.to_string())
}

/// `posixpath.normpath`: `.` and `..` parts and repeated slashes removed
/// without looking at the filesystem (two leading slashes are kept, as
/// POSIX allows).
pub fn normpath_str(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let initial = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial == 0 && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(comp);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let joined = format!("{}{}", "/".repeat(initial), comps.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The controller's current directory, as `os.getcwd()`.
fn cwd(name: &str) -> Result<String, Error> {
    std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .map_err(|e| filter_error(name, e))
}

/// `posixpath.abspath`.
fn abspath(name: &str, p: &str) -> Result<String, Error> {
    if p.starts_with('/') {
        Ok(normpath_str(p))
    } else {
        Ok(normpath_str(&join(&cwd(name)?, p)))
    }
}

/// Ansible's `normpath`.
pub fn normpath(value: &Value) -> Result<String, Error> {
    Ok(normpath_str(&path_arg("normpath", value)?))
}

/// Ansible's `realpath`: the controller path with every symbolic link
/// resolved (parts that do not exist are kept as written; a link loop
/// leaves the rest of the path unresolved), made absolute.
pub fn realpath(value: &Value) -> Result<String, Error> {
    const NAME: &str = "realpath";
    let p = path_arg(NAME, value)?;
    let mut seen = HashMap::new();
    let (resolved, _) = join_realpath(String::new(), &p, &mut seen, 0);
    abspath(NAME, &resolved)
}

/// `os.path.realpath` of a controller path (relative to the current
/// directory; kept relative if that cannot be read).
pub(crate) fn realpath_str(p: &str) -> String {
    let mut seen = HashMap::new();
    let (resolved, _) = join_realpath(String::new(), p, &mut seen, 0);
    abspath("realpath", &resolved).unwrap_or_else(|_| normpath_str(&resolved))
}

/// The link-by-link walk of `posixpath._joinrealpath` (non-strict):
/// `path` (already resolved) joined with `rest`, and whether every link
/// resolved. `depth` bounds the nesting of link targets.
fn join_realpath(
    mut path: String,
    rest: &str,
    seen: &mut HashMap<String, Option<String>>,
    depth: usize,
) -> (String, bool) {
    let mut rest = rest.to_string();
    if rest.starts_with('/') {
        rest.remove(0);
        path = "/".into();
    }
    while !rest.is_empty() {
        let (name, tail) = match rest.split_once('/') {
            Some((n, t)) => (n.to_string(), t.to_string()),
            None => (std::mem::take(&mut rest), String::new()),
        };
        rest = tail;
        if name.is_empty() || name == "." {
            continue;
        }
        if name == ".." {
            if path.is_empty() {
                path = "..".into();
            } else {
                let (head, last) = split(&path);
                path = if last == ".." {
                    join(&join(&head, ".."), "..")
                } else {
                    head
                };
            }
            continue;
        }
        let newpath = join(&path, &name);
        let is_link = std::fs::symlink_metadata(&newpath).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            path = newpath;
            continue;
        }
        match seen.get(&newpath) {
            Some(Some(done)) => {
                path = done.clone();
                continue;
            }
            Some(None) => return (join(&newpath, &rest), false),
            None => {}
        }
        let Ok(target) = std::fs::read_link(&newpath) else {
            path = newpath;
            continue;
        };
        if depth > 256 {
            return (join(&newpath, &rest), false);
        }
        seen.insert(newpath.clone(), None);
        let (resolved, ok) = join_realpath(path, &target.to_string_lossy(), seen, depth + 1);
        if !ok {
            return (join(&resolved, &rest), false);
        }
        seen.insert(newpath, Some(resolved.clone()));
        path = resolved;
    }
    (path, true)
}

/// Ansible's `relpath(start=os.curdir)`: the path relative to `start`
/// (both made absolute from the controller's current directory).
pub fn relpath(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "relpath";
    let path = path_arg(NAME, value)?;
    let [start] = bind_args(NAME, &args, &kwargs, ["start"])?;
    if path.is_empty() {
        return Err(filter_error(NAME, "no path specified"));
    }
    let start = match start.filter(|s| !s.is_none()) {
        Some(s) => path_arg(NAME, &s)?,
        None => ".".into(),
    };
    let start_abs = abspath(NAME, &start)?;
    let path_abs = abspath(NAME, &path)?;
    let start_list: Vec<&str> = start_abs.split('/').filter(|x| !x.is_empty()).collect();
    let path_list: Vec<&str> = path_abs.split('/').filter(|x| !x.is_empty()).collect();
    let common = start_list
        .iter()
        .zip(&path_list)
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel: Vec<&str> = vec![".."; start_list.len() - common];
    rel.extend(&path_list[common..]);
    if rel.is_empty() {
        return Ok(".".into());
    }
    Ok(rel.join("/"))
}

/// Ansible's `expandvars`: `$NAME` and `${NAME}` replaced by the
/// controller's environment variables; unknown ones are left as written.
pub fn expandvars(value: &Value) -> Result<String, Error> {
    let path = path_arg("expandvars", value)?;
    Ok(expand_vars_with(&path, |n| std::env::var(n).ok()))
}

/// `posixpath.expandvars` with `lookup` for the environment.
pub fn expand_vars_with(path: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    if !path.contains('$') {
        return path.to_string();
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        // `\$(\w+|\{[^}]*\})` in ASCII mode.
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(close) => (Some(&braced[..close]), close + 2),
                None => (None, 0),
            }
        } else {
            let n = after.find(|c: char| !word(c)).unwrap_or(after.len());
            if n == 0 {
                (None, 0)
            } else {
                (Some(&after[..n]), n)
            }
        };
        match name.and_then(&lookup) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[i..i + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Ansible's `commonpath`: the longest path the listed paths share.
pub fn commonpath(value: &Value) -> Result<String, Error> {
    const NAME: &str = "commonpath";
    require_defined(value)?;
    if !matches!(value.kind(), ValueKind::Seq) {
        return Err(filter_error(
            NAME,
            format!(
                "|commonpath expects sequence, got <class '{}'> instead.",
                py_type_name(value)
            ),
        ));
    }
    let paths: Vec<String> = value
        .try_iter()
        .map_err(|e| filter_error(NAME, e))?
        .map(|p| path_arg(NAME, &p))
        .collect::<Result<_, _>>()?;
    if paths.is_empty() {
        return Err(filter_error(NAME, "commonpath() arg is an empty sequence"));
    }
    let absolute = paths[0].starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(filter_error(NAME, "Can't mix absolute and relative paths"));
    }
    let split: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect()
        })
        .collect();
    let mut common: Vec<&str> = split[0].clone();
    for s in &split[1..] {
        let n = common.iter().zip(s).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    Ok(format!(
        "{}{}",
        if absolute { "/" } else { "" },
        common.join("/")
    ))
}

/// Whether a glob pattern has wildcards (`*`, `?`, `[`).
fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Python's `fnmatch` of one name (case-sensitive, as on POSIX): `*`, `?`,
/// `[…]` and `[!…]`; a `[` without its `]` is itself. Linear backtracking
/// on the last `*`, so many stars cost no more than one.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // One step of the pattern at `pi` against `c`: `Some(next pi)` if it
    // matches (not for `*`).
    let step = |pi: usize, c: char| -> Option<usize> {
        match p[pi] {
            '?' => Some(pi + 1),
            '[' => {
                let mut j = pi + 1;
                if j < p.len() && p[j] == '!' {
                    j += 1;
                }
                if j < p.len() && p[j] == ']' {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    return (c == '[').then_some(pi + 1);
                }
                let (negate, set) = match p[pi + 1] {
                    '!' => (true, &p[pi + 2..j]),
                    _ => (false, &p[pi + 1..j]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                (hit != negate).then_some(j + 1)
            }
            lit => (lit == c).then_some(pi + 1),
        }
    };
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi + 1, ni));
            pi += 1;
            continue;
        }
        if pi < p.len() {
            if let Some(next) = step(pi, n[ni]) {
                pi = next;
                ni += 1;
                continue;
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Python's `glob.glob(pattern)` (not recursive): the names that match,
/// each directory's entries taken in name order.
pub(crate) fn glob(pattern: &str) -> Vec<String> {
    let (dir, base) = split(pattern);
    if !has_magic(pattern) {
        let exists = if base.is_empty() {
            Path::new(&dir).is_dir()
        } else {
            std::fs::symlink_metadata(pattern).is_ok()
        };
        return if exists {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        };
    }
    if dir.is_empty() {
        return glob_in_dir("", &base);
    }
    let dirs = if dir != pattern && has_magic(&dir) {
        glob_dirs(&dir)
    } else {
        vec![dir]
    };
    let mut out = Vec::new();
    for d in dirs {
        if has_magic(&base) {
            out.extend(glob_in_dir(&d, &base).iter().map(|n| join(&d, n)));
        } else if base.is_empty() {
            if Path::new(&d).is_dir() {
                out.push(join(&d, &base));
            }
        } else if std::fs::symlink_metadata(join(&d, &base)).is_ok() {
            out.push(join(&d, &base));
        }
    }
    out
}

/// The directories a pattern names (the parents of a glob's last part).
fn glob_dirs(pattern: &str) -> Vec<String> {
    glob(pattern)
        .into_iter()
        .filter(|d| Path::new(d).is_dir())
        .collect()
}

/// The names in `dir` (the current directory for `""`) that match
/// `pattern`; hidden names only for a pattern that starts with `.`.
fn glob_in_dir(dir: &str, pattern: &str) -> Vec<String> {
    let listing = std::fs::read_dir(if dir.is_empty() { "." } else { dir });
    let Ok(entries) = listing else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| pattern.starts_with('.') || !n.starts_with('.'))
        .filter(|n| fnmatch(pattern, n))
        .collect();
    names.sort();
    names
}

/// Ansible's `fileglob`: the controller's regular files matching the
/// pattern.
pub fn fileglob(value: &Value) -> Result<Value, Error> {
    let pattern = path_arg("fileglob", value)?;
    Ok(Value::from(
        glob(&pattern)
            .into_iter()
            .filter(|p| Path::new(p).is_file())
            .collect::<Vec<_>>(),
    ))
}

/// `ntpath.splitdrive`: a drive letter (`C:`) or UNC share
/// (`\\host\share`) and the rest.
pub fn nt_splitdrive(p: &str) -> (String, String) {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() >= 2 {
        let norm: Vec<char> = chars
            .iter()
            .map(|&c| if c == '/' { '\\' } else { c })
            .collect();
        if norm[0] == '\\' && norm[1] == '\\' {
            let prefix: String = norm.iter().take(8).collect::<String>().to_uppercase();
            let start = if prefix == "\\\\?\\UNC\\" { 8 } else { 2 };
            let find = |from: usize| (from..norm.len()).find(|&i| norm[i] == '\\');
            let Some(index) = find(start) else {
                return (p.to_string(), String::new());
            };
            let Some(index2) = find(index + 1) else {
                return (p.to_string(), String::new());
            };
            return (
                chars[..index2].iter().collect(),
                chars[index2..].iter().collect(),
            );
        }
        if norm[1] == ':' {
            return (chars[..2].iter().collect(), chars[2..].iter().collect());
        }
    }
    (String::new(), p.to_string())
}

/// `ntpath.split`.
fn nt_split(p: &str) -> (String, String) {
    let (drive, rest) = nt_splitdrive(p);
    let i = rest.rfind(['/', '\\']).map_or(0, |i| i + 1);
    let (head, tail) = rest.split_at(i);
    let trimmed = head.trim_end_matches(['/', '\\']);
    let head = if trimmed.is_empty() { head } else { trimmed };
    (format!("{drive}{head}"), tail.to_string())
}

/// Ansible's `win_basename` (`ntpath.basename`).
pub fn win_basename(value: &Value) -> Result<String, Error> {
    Ok(nt_split(&path_arg("win_basename", value)?).1)
}

/// Ansible's `win_dirname` (`ntpath.dirname`).
pub fn win_dirname(value: &Value) -> Result<String, Error> {
    Ok(nt_split(&path_arg("win_dirname", value)?).0)
}

/// Ansible's `win_splitdrive` (`ntpath.splitdrive`), as a two-item list.
pub fn win_splitdrive(value: &Value) -> Result<Value, Error> {
    let (drive, rest) = nt_splitdrive(&path_arg("win_splitdrive", value)?);
    Ok(Value::from(vec![drive, rest]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("*.txt", "a.txt"));
        assert!(!fnmatch("*.txt", "a.txt.bak"));
        assert!(fnmatch("a?c", "abc"));
        assert!(fnmatch("[!a]*", "bcd"));
        assert!(!fnmatch("[!a]*", "abc"));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(fnmatch("[x", "[x"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch(
            "*a*a*a*a*a*a*a*a*b",
            &"a".repeat(200).replace("aa", "ab")
        ));
        assert!(!fnmatch("*a*a*a*a*a*a*a*a*c", &"a".repeat(250)));
    }

    #[test]
    fn expandvars_like_python() {
        let env = |n: &str| (n == "HOME").then(|| "/root".to_string());
        assert_eq!(expand_vars_with("$HOME/x", env), "/root/x");
        assert_eq!(expand_vars_with("${HOME}x", env), "/rootx");
        assert_eq!(expand_vars_with("$NOPE/$HOME", env), "$NOPE//root");
        assert_eq!(expand_vars_with("${}$ ${HOME", env), "${}$ ${HOME");
    }
}
