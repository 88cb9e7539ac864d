//! The INI inventory format, following ansible-core's `ini` inventory plugin.
//!
//! The plugin's behaviour is the specification, quirks included, because users'
//! inventories were written against it: hosts before any section are `ungrouped`;
//! `#` and `;` start comment lines; host lines are split like a POSIX shell
//! (`shlex`, with `#` comments) and each `key=value` goes through Python's
//! `literal_eval` (see [`crate::pyliteral`]); `[g:vars]` lines are `key=value` split at
//! the first `=` and evaluated the same way; a group named in `[p:children]` must be
//! defined somewhere in the file, and a `[g:vars]` section needs `g` to be defined
//! by a `[g]` or `[g:children]` section or as someone's child. Ansible rejects both
//! of those at the end of the file, and so do we, naming the line.

use crate::data::InventoryData;
use crate::error::InventoryError;
use crate::{pyliteral, range, shlex};
use serde_json::Value;
use std::path::Path;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Vars,
    Children,
}

struct Pending {
    line: usize,
    state: State,
    name: String,
    /// (parent, line of the child entry)
    parents: Vec<(String, usize)>,
}

/// `_parse_value`: a Python literal when it is one, else the string as written.
pub(crate) fn parse_value(v: &str) -> Value {
    pyliteral::literal_eval(v).unwrap_or_else(|| Value::String(v.to_string()))
}

/// Parse `text` (the content of `path`) into `data`.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    data: &mut InventoryData,
) -> Result<(), InventoryError> {
    let err = |line: usize, msg: String, hint: &str| InventoryError::parse(path, line, msg, hint);
    let mut pending: Vec<Pending> = Vec::new();
    let mut group = crate::data::UNGROUPED.to_string();
    let mut state = State::Hosts;

    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && !line.contains(']') {
            return Err(err(
                lineno,
                format!("section header `{line}` is not closed"),
                "write it as [group], [group:vars] or [group:children]",
            ));
        }
        if line.starts_with('[') {
            if let Some((name, tag)) = parse_section(line) {
                state = match tag {
                    None | Some("hosts") => State::Hosts,
                    Some("vars") => State::Vars,
                    Some("children") => State::Children,
                    Some(other) => {
                        return Err(err(
                            lineno,
                            format!("section [{name}:{other}] has unknown type '{other}'"),
                            &format!("use [{name}], [{name}:vars] or [{name}:children]"),
                        ))
                    }
                };
                group = data.group_name(name);
                if !data.groups.contains_key(&group) {
                    if state == State::Vars && !pending.iter().any(|p| p.name == group) {
                        pending.push(Pending {
                            line: lineno,
                            state,
                            name: group.clone(),
                            parents: vec![],
                        });
                    }
                    data.add_group(&group);
                }
                if state != State::Vars {
                    if let Some(i) = pending.iter().position(|p| p.name == group) {
                        match pending[i].state {
                            State::Children => {
                                add_pending_children(&group, &mut pending, data, path)?
                            }
                            _ => {
                                pending.remove(i);
                            }
                        }
                    }
                }
                continue;
            }
            if line.ends_with(']') {
                return Err(err(
                    lineno,
                    format!("invalid section header '{line}'"),
                    "write [group], [group:vars] or [group:children] with no spaces inside the brackets",
                ));
            }
        }
        match state {
            State::Hosts => {
                let tokens = shlex::split(line, true).map_err(|e| {
                    err(
                        lineno,
                        format!("cannot split host line: {e}"),
                        "close the quote, or escape it with a backslash",
                    )
                })?;
                let Some((first, rest)) = tokens.split_first() else {
                    continue;
                };
                let (hosts, port) = range::expand_host_pattern(first)
                    .map_err(|e| err(lineno, e.message, &e.hint))?;
                let mut vars = Vec::new();
                for t in rest {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(err(
                            lineno,
                            format!("expected key=value host variable after '{first}', got '{t}'"),
                            "write variables as key=value; quote values with spaces, like key=\"a b\"",
                        ));
                    };
                    if k.is_empty() {
                        return Err(err(
                            lineno,
                            format!("empty variable name in '{t}'"),
                            "write key=value",
                        ));
                    }
                    vars.push((k.to_string(), parse_value(v)));
                }
                for h in hosts {
                    data.add_host(&h, Some(&group), port);
                    for (k, v) in &vars {
                        data.set_host_var(&h, k, v.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(
                        lineno,
                        format!("expected key=value in [{group}:vars], got '{line}'"),
                        "each line of a :vars section is key=value",
                    ));
                };
                let (k, v) = (k.trim(), v.trim());
                if k.is_empty() {
                    return Err(err(
                        lineno,
                        format!("empty variable name in '{line}'"),
                        "write key=value",
                    ));
                }
                data.set_group_var(&group, k, parse_value(v)).map_err(|m| {
                    err(
                        lineno,
                        m,
                        "write a whole number, like ansible_group_priority=10",
                    )
                })?;
            }
            State::Children => {
                let Some(child) = parse_group_name(line) else {
                    return Err(err(
                        lineno,
                        format!("expected a group name in [{group}:children], got '{line}'"),
                        "list one group name per line, without spaces or ':'",
                    ));
                };
                let child = &data.group_name(child);
                if data.groups.contains_key(child.as_str()) {
                    data.add_child(&group, child)
                        .map_err(|m| err(lineno, m, "remove one of the :children entries"))?;
                } else if let Some(p) = pending.iter_mut().find(|p| &p.name == child) {
                    p.parents.push((group.clone(), lineno));
                } else {
                    pending.push(Pending {
                        line: lineno,
                        state: State::Children,
                        name: child.to_string(),
                        parents: vec![(group.clone(), lineno)],
                    });
                }
            }
        }
    }
    if let Some(p) = pending.first() {
        return Err(match p.state {
            State::Vars => err(
                p.line,
                format!("section [{0}:vars] is for group '{0}', which is not defined", p.name),
                &format!(
                    "add a [{0}] section (it may be empty), or list {0} under a [parent:children] section",
                    p.name
                ),
            ),
            _ => {
                let parent = p.parents.last().map(|(g, _)| g.as_str()).unwrap_or("?");
                err(
                    p.line,
                    format!("section [{parent}:children] includes undefined group '{}'", p.name),
                    &format!("add a [{0}] section (it may be empty) or a [{0}:children] section", p.name),
                )
            }
        });
    }
    Ok(())
}

/// Resolve children that were named before their group was defined.
fn add_pending_children(
    group: &str,
    pending: &mut Vec<Pending>,
    data: &mut InventoryData,
    path: &Path,
) -> Result<(), InventoryError> {
    let mut stack = vec![group.to_string()];
    let mut guard = 0usize;
    while let Some(g) = stack.pop() {
        guard += 1;
        if guard > 100_000 {
            break;
        }
        let Some(i) = pending
            .iter()
            .position(|p| p.name == g && p.state == State::Children)
        else {
            continue;
        };
        let p = pending.remove(i);
        for (parent, line) in p.parents {
            data.add_child(&parent, &g).map_err(|m| {
                InventoryError::parse(path, line, m, "remove one of the :children entries")
            })?;
            stack.push(parent);
        }
    }
    Ok(())
}

/// `[name]` or `[name:tag]`, optionally followed by a comment.
fn parse_section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let inner = &rest[..close];
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let (name, tag) = match inner.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (inner, None),
    };
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == ']' || c == ':')
    {
        return None;
    }
    if let Some(t) = tag {
        if t.is_empty() || !t.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
    }
    Some((name, tag))
}

fn parse_group_name(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    if name.is_empty() || name.contains([':', ']']) || !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    Some(name)
}
