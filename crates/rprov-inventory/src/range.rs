//! Host names with ranges and ports, as Ansible's `_expand_hostpattern` reads them.
//!
//! Both the INI and the YAML inventory accept `web[01:10].example.com`,
//! `web[1:10:2]`, `db-[a:c]`, several ranges in one name, and a `:PORT` suffix
//! (`host:2222`, `[::1]:2222`). Ansible's own expansion quietly turns many typos into
//! odd host names or Python tracebacks; we follow its results for every valid
//! spelling and reject the rest with a message that shows the expected form.

/// Why a host pattern was rejected; the caller adds file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeError {
    pub message: String,
    pub hint: String,
    /// A bound or step is no number (nor letter): where ansible-core's
    /// `expand_hostname_range` fails with Python's `ValueError` rather than
    /// refusing the range, which fails a whole `advanced_host_list` source.
    pub not_a_number: bool,
}

/// Hard cap on how many hosts a single pattern may expand to, so a typo such as
/// `web[1:99999999]` is an error instead of an out-of-memory.
const MAX_EXPANSION: usize = 100_000;

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Split off an optional port and expand ranges: `web[1:2]:22` → (`[web1, web2]`, 22).
pub(crate) fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), RangeError> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err(RangeError {
            message: "empty host name".into(),
            hint: "write a host name or address".into(),
            not_a_number: false,
        });
    }
    if pattern.ends_with(':') {
        return Err(RangeError {
            message: format!("invalid host pattern \"{pattern}\": it ends in ':'"),
            hint: "a ':' after a host name introduces a port, like host:2222".into(),
            not_a_number: false,
        });
    }
    let (name, port) = split_port(pattern)?;
    let hosts = expand_ranges(&name, pattern)?;
    for h in &hosts {
        if h == "---" {
            return Err(RangeError {
                message: "invalid host pattern \"---\"".into(),
                hint: "'---' starts a YAML document; name the file .yml to read it as YAML".into(),
                not_a_number: false,
            });
        }
    }
    Ok((hosts, port))
}

/// Separate `name:port`, `[v6]:port`; leave bare IPv6 addresses alone.
pub(crate) fn split_port(pattern: &str) -> Result<(String, Option<u16>), RangeError> {
    // Bracketed IPv6, optionally with a port: [2001:db8::1]:22
    if let Some(rest) = pattern.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let inner = &rest[..end];
            if is_ipv6_like(inner) {
                let after = &rest[end + 1..];
                if after.is_empty() {
                    return Ok((inner.to_string(), None));
                }
                if let Some(p) = after.strip_prefix(':') {
                    return Ok((inner.to_string(), Some(parse_port(p, pattern)?)));
                }
            }
        }
    }
    let colons = outside_brackets_colons(pattern);
    match colons.as_slice() {
        [] => Ok((pattern.to_string(), None)),
        [i] => {
            let (name, port) = (&pattern[..*i], &pattern[*i + 1..]);
            Ok((name.to_string(), Some(parse_port(port, pattern)?)))
        }
        // Two or more colons: an IPv6 address without a port.
        _ => Ok((pattern.to_string(), None)),
    }
}

fn is_ipv6_like(s: &str) -> bool {
    s.matches(':').count() >= 2
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '%')
}

fn outside_brackets_colons(s: &str) -> Vec<usize> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => out.push(i),
            _ => {}
        }
    }
    out
}

fn parse_port(p: &str, pattern: &str) -> Result<u16, RangeError> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(RangeError {
            message: format!("invalid port \"{p}\" in \"{pattern}\""),
            hint: "write host:PORT with a port from 1 to 65535".into(),
            not_a_number: false,
        }),
    }
}

/// Expand the first `[a:b(:s)]` and recurse on the results, as Ansible does.
fn expand_ranges(name: &str, whole: &str) -> Result<Vec<String>, RangeError> {
    let mut out = Vec::new();
    expand_into(name, whole, &mut out)?;
    Ok(out)
}

fn bad(whole: &str, hint: &str) -> RangeError {
    RangeError {
        message: format!("invalid host range \"{whole}\""),
        hint: hint.to_string(),
        not_a_number: false,
    }
}

/// [`bad`], for a bound or step that is no number (see
/// [`RangeError::not_a_number`]).
fn not_a_number(whole: &str, hint: &str) -> RangeError {
    RangeError {
        not_a_number: true,
        ..bad(whole, hint)
    }
}

fn expand_into(name: &str, whole: &str, out: &mut Vec<String>) -> Result<(), RangeError> {
    let Some(open) = name.find('[') else {
        if name.contains(']') {
            return Err(bad(
                whole,
                "found ']' without '['; expected [START:END] like web[01:10]",
            ));
        }
        out.push(name.to_string());
        return Ok(());
    };
    let Some(close_rel) = name[open..].find(']') else {
        return Err(bad(
            whole,
            "'[' is not closed; expected [START:END] like web[01:10]",
        ));
    };
    let close = open + close_rel;
    let (head, spec, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let bounds: Vec<&str> = spec.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(bad(
            whole,
            "expected [START:END] or [START:END:STEP] like web[01:10] or web[1:9:2]",
        ));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        // ansible-core's words first: scripts grep for them.
        return Err(bad(
            whole,
            "host range must specify end value: expected [START:END] like web[01:10]",
        ));
    }
    let step: usize = match bounds.get(2) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(not_a_number(
                    whole,
                    "STEP must be a positive number, like web[1:9:2]",
                ))
            }
        },
    };
    let width = if beg.len() > 1 && beg.starts_with('0') {
        if beg.len() != end.len() {
            return Err(bad(
                whole,
                "zero-padded START and END must have the same width, like web[01:10]",
            ));
        }
        Some(beg.len())
    } else {
        None
    };
    let items: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(b), Some(e)) if beg.len() == 1 && end.len() == 1 => {
            if b > e {
                return Err(bad(whole, "START must come before END, like db-[a:c]"));
            }
            LETTERS[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let (Ok(b), Ok(e)) = (beg.parse::<u64>(), end.parse::<u64>()) else {
                return Err(not_a_number(
                    whole,
                    "START and END must be numbers or single letters, like web[01:10] or db-[a:c]",
                ));
            };
            if b > e {
                return Err(bad(
                    whole,
                    &format!("START {beg} comes after END {end}, so [{spec}] names no host; write [{end}:{beg}]"),
                ));
            }
            if e.saturating_sub(b) / step as u64 > MAX_EXPANSION as u64 {
                return Err(bad(
                    whole,
                    "the range is too large (more than 100000 hosts)",
                ));
            }
            (b..=e)
                .step_by(step)
                .map(|n| {
                    // Padded by hand: a `format!` width past 65,535 panics.
                    let digits = n.to_string();
                    let zeros = width.unwrap_or(0).saturating_sub(digits.len());
                    "0".repeat(zeros) + &digits
                })
                .collect()
        }
    };
    for item in items {
        if out.len() > MAX_EXPANSION {
            return Err(bad(
                whole,
                "the range is too large (more than 100000 hosts)",
            ));
        }
        expand_into(&format!("{head}{item}{tail}"), whole, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> (Vec<String>, Option<u16>) {
        expand_host_pattern(p).unwrap()
    }

    #[test]
    fn plain_and_port() {
        assert_eq!(ok("web1"), (vec!["web1".to_string()], None));
        assert_eq!(ok("web1:2222"), (vec!["web1".to_string()], Some(2222)));
        assert_eq!(ok("10.0.0.1:22"), (vec!["10.0.0.1".to_string()], Some(22)));
        assert_eq!(ok("[::1]:2222"), (vec!["::1".to_string()], Some(2222)));
        assert_eq!(ok("fe80::1"), (vec!["fe80::1".to_string()], None));
    }

    #[test]
    fn numeric_ranges_keep_width() {
        let (h, _) = ok("web[01:03].example.com");
        assert_eq!(
            h,
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        let (h, _) = ok("web[1:10:4]");
        assert_eq!(h, ["web1", "web5", "web9"]);
        let (h, _) = ok("web[:2]");
        assert_eq!(h, ["web0", "web1", "web2"]);
        let (h, _) = ok("web[8:10]");
        assert_eq!(h, ["web8", "web9", "web10"]);
    }

    #[test]
    fn alpha_and_multiple_ranges_with_port() {
        let (h, _) = ok("db-[a:c]");
        assert_eq!(h, ["db-a", "db-b", "db-c"]);
        let (h, p) = ok("r[1:2]-[x:y]:2200");
        assert_eq!(h, ["r1-x", "r1-y", "r2-x", "r2-y"]);
        assert_eq!(p, Some(2200));
    }

    #[test]
    fn errors() {
        for (p, hint) in [
            ("web[01:]", "expected [START:END] like web[01:10]"),
            ("web[1]", "expected [START:END] or [START:END:STEP]"),
            ("web[01:100]", "same width"),
            ("web[1:3:0]", "STEP must be a positive number"),
            ("web[c:a]", "START must come before END"),
            ("web[1:x]", "numbers or single letters"),
            ("web[1:3", "is not closed"),
            ("web]", "without '['"),
            ("web[1:9999999]", "too large"),
            ("web:", "introduces a port"),
            ("web:http", "port from 1 to 65535"),
            ("web:70000", "port from 1 to 65535"),
            ("---", "YAML"),
        ] {
            let e = expand_host_pattern(p).unwrap_err();
            assert!(e.hint.contains(hint), "{p}: {e:?}");
        }
        let e = expand_host_pattern("web[01:]").unwrap_err();
        assert_eq!(e.message, "invalid host range \"web[01:]\"");
    }

    /// Issue 13: `web[3:1]` made an empty group (Ansible's `range(3, 2)` is
    /// empty too) and the run exited 0 having done nothing.
    #[test]
    fn a_backwards_range_is_an_error_naming_it() {
        let e = expand_host_pattern("web[3:1].example.com").unwrap_err();
        assert_eq!(e.message, "invalid host range \"web[3:1].example.com\"");
        assert_eq!(
            e.hint,
            "START 3 comes after END 1, so [3:1] names no host; write [1:3]"
        );
        let e = expand_host_pattern("web[10:02]").unwrap_err();
        assert!(e.hint.contains("START 10 comes after END 02"), "{e:?}");
        assert!(expand_host_pattern("web[09:10]").is_ok());
    }

    /// A zero-padded range wider than `format!` allows (65,535) pads by hand.
    #[test]
    fn very_wide_padding_does_not_panic() {
        let w = 70_000;
        let p = format!("h[{}1:{}2]", "0".repeat(w - 1), "0".repeat(w - 1));
        let (h, _) = expand_host_pattern(&p).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].len(), w + 1);
        assert!(h[1].ends_with("02"));
    }
}
