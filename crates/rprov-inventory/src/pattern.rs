//! Host patterns (`--limit`, `hosts:`), evaluated as ansible-core's `InventoryManager`.
//!
//! A pattern is split on `,` when it has one, else on `:` (not inside `[...]`).
//! Terms run in Ansible's order regardless of how they were written: plain terms
//! (union) first, then `&` terms (intersection), then `!` terms (exclusion); with
//! no plain term the base is `all`. A term matches groups by name (fnmatch glob,
//! or a regex after `~`, anchored at the start as Python's `re.match`) and also
//! hosts when no group matched or the term looks like a glob/regex/address.
//! `name[0]`, `name[1:3]` and `name[-1]` select by position. Order follows the
//! inventory. Ansible warns about a term that matches nothing; we only fail when
//! the whole pattern selects no host.

use crate::data::InventoryData;
use crate::error::InventoryError;
use regex::Regex;

/// `implicit` names the host a term such as `localhost` selects when the
/// inventory has no host of that name (Ansible's implicit localhost).
pub(crate) fn select(
    data: &InventoryData,
    pattern: &str,
    implicit: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, InventoryError> {
    select_terms(data, pattern, &split_pattern(pattern), implicit)
}

/// The hosts that the patterns in `patterns` select together, as
/// ansible-core's `get_hosts` given a list: each is split, and their terms
/// are evaluated as one pattern's.
pub(crate) fn select_all(
    data: &InventoryData,
    patterns: &[&str],
    implicit: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, InventoryError> {
    let terms: Vec<String> = patterns.iter().flat_map(|p| split_pattern(p)).collect();
    select_terms(data, &patterns.join(","), &terms, implicit)
}

/// [`select`] of terms already split; `pattern` is what errors show.
fn select_terms(
    data: &InventoryData,
    pattern: &str,
    terms: &[String],
    implicit: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, InventoryError> {
    let mut regular = Vec::new();
    let mut intersect = Vec::new();
    let mut exclude = Vec::new();
    for t in terms {
        if let Some(r) = t.strip_prefix('!') {
            exclude.push(r);
        } else if let Some(r) = t.strip_prefix('&') {
            intersect.push(r);
        } else {
            regular.push(t.as_str());
        }
    }
    if regular.is_empty() {
        regular.push("all");
    }
    let mut hosts: Vec<String> = Vec::new();
    for t in regular {
        for h in match_term(data, t, implicit)? {
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
    }
    for t in intersect {
        let that = match_term(data, t, implicit)?;
        hosts.retain(|h| that.contains(h));
    }
    for t in exclude {
        let that = match_term(data, t, implicit)?;
        hosts.retain(|h| !that.contains(h));
    }
    if hosts.is_empty() {
        return Err(InventoryError::NoMatch {
            pattern: pattern.to_string(),
        });
    }
    Ok(hosts)
}

/// Split like Ansible's `split_host_pattern`.
fn split_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if looks_like_address_with_colons(pattern) {
        vec![pattern.to_string()]
    } else {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut depth = 0usize;
        for c in pattern.chars() {
            match c {
                '[' => {
                    depth += 1;
                    cur.push(c);
                }
                ']' => {
                    depth = depth.saturating_sub(1);
                    cur.push(c);
                }
                ':' if depth == 0 => out.push(std::mem::take(&mut cur)),
                c if c.is_whitespace() && depth == 0 => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// A bare IPv6 address (`fe80::1`) is one pattern, not a list split on `:`.
/// Only a real address: host names made of hex digits (`A:B:C`, the hosts
/// `A`, `B` and `C`) are a list, as ansible-core's `parse_address` decides.
fn looks_like_address_with_colons(p: &str) -> bool {
    p.parse::<std::net::Ipv6Addr>().is_ok()
}

fn match_term(
    data: &InventoryData,
    term: &str,
    implicit: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, InventoryError> {
    let (expr, subscript) = if term.starts_with('~') {
        (term, None)
    } else {
        split_subscript(term)
    };
    let matcher = Matcher::new(expr)?;
    let mut results: Vec<String> = Vec::new();
    let groups: Vec<&String> = data.groups.keys().filter(|g| matcher.is_match(g)).collect();
    for g in &groups {
        results.extend(data.group_hosts(g));
    }
    let special = expr.starts_with('~') || expr.contains(['.', '?', '*', '[']);
    if groups.is_empty() || special {
        results.extend(data.hosts.keys().filter(|h| matcher.is_match(h)).cloned());
    }
    let mut seen = std::collections::HashSet::new();
    results.retain(|h| seen.insert(h.clone()));
    if results.is_empty() && crate::LOCALHOST.contains(&expr) {
        results.push(implicit(expr));
    }
    Ok(match subscript {
        None => results,
        Some((start, end)) => apply_subscript(results, start, end),
    })
}

/// `web[1]`, `web[-1]`, `web[0:2]`, `web[1:]` → (expr, (start, end)).
#[allow(clippy::type_complexity)]
fn split_subscript(term: &str) -> (&str, Option<(i64, Option<Option<i64>>)>) {
    let Some(inner) = term.strip_suffix(']') else {
        return (term, None);
    };
    let Some(open) = inner.rfind('[') else {
        return (term, None);
    };
    let (expr, spec) = (&inner[..open], &inner[open + 1..]);
    if expr.is_empty() {
        return (term, None);
    }
    if let Ok(n) = spec.parse::<i64>() {
        return (expr, Some((n, None)));
    }
    if let Some((a, b)) = spec.split_once([':', '-']) {
        if a.chars().all(|c| c.is_ascii_digit())
            && !a.is_empty()
            && b.chars().all(|c| c.is_ascii_digit())
        {
            if let Ok(a) = a.parse::<i64>() {
                return (expr, Some((a, Some(b.parse::<i64>().ok()))));
            }
        }
    }
    (term, None)
}

fn apply_subscript(hosts: Vec<String>, start: i64, end: Option<Option<i64>>) -> Vec<String> {
    let len = hosts.len() as i64;
    let idx = |i: i64| if i < 0 { len + i } else { i };
    match end {
        None => {
            let i = idx(start);
            if i >= 0 && i < len {
                vec![hosts[i as usize].clone()]
            } else {
                Vec::new()
            }
        }
        Some(end) => {
            let s = idx(start).clamp(0, len) as usize;
            let e = end.map(|e| (e + 1).clamp(0, len)).unwrap_or(len) as usize;
            if s >= e {
                Vec::new()
            } else {
                hosts[s..e].to_vec()
            }
        }
    }
}

enum Matcher {
    Glob(globset::GlobMatcher),
    Regex(Regex),
}

impl Matcher {
    fn new(expr: &str) -> Result<Matcher, InventoryError> {
        if let Some(re) = expr.strip_prefix('~') {
            // Python's re.match anchors at the start only.
            return Regex::new(&format!("^(?:{re})"))
                .map(Matcher::Regex)
                .map_err(|e| InventoryError::Pattern {
                    pattern: expr.to_string(),
                    message: format!("bad regular expression: {e}"),
                });
        }
        globset::GlobBuilder::new(expr)
            .literal_separator(false)
            .backslash_escape(false)
            .build()
            .map(|g| Matcher::Glob(g.compile_matcher()))
            .map_err(|e| InventoryError::Pattern {
                pattern: expr.to_string(),
                message: format!("bad glob: {}", e.kind()),
            })
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(g) => g.is_match(name),
            Matcher::Regex(r) => r.is_match(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_pattern;

    #[test]
    fn splitting() {
        assert_eq!(split_pattern("a:b"), ["a", "b"]);
        assert_eq!(split_pattern("a,!b"), ["a", "!b"]);
        assert_eq!(split_pattern("a:&b:!c"), ["a", "&b", "!c"]);
        assert_eq!(split_pattern("web[0:2]:db"), ["web[0:2]", "db"]);
        assert_eq!(split_pattern("fe80::1"), ["fe80::1"]);
        assert_eq!(split_pattern(" a , b "), ["a", "b"]);
    }
}
