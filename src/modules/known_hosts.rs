//! `known_hosts`: one host's key in an OpenSSH known_hosts file, decided as
//! ansible-core's module (2.19) decides it, without `ssh-keygen` on the host.
//!
//! ansible-core asks `ssh-keygen -F NAME` which lines are the host's; rprov
//! reads the file in the probe batch and matches each line itself, the way
//! OpenSSH does: a host field is a comma-separated list of patterns (`*` and
//! `?` wildcards, `!` negating, compared in lower case) or a hashed name
//! (`|1|salt|hmac`, HMAC-SHA1 of the name keyed by the salt). A key of the
//! same type as the one asked for is replaced in place of where it was
//! found (the new line goes at the end), an identical key is left, and the
//! file is rewritten with `copy`'s atomic write, keeping its owner and mode.
//! The result carries ansible-core's `diff` (`before`, `after` and their
//! headers), in `--check` too.
//!
//! `state: absent` without `key` removes every line of the host but those
//! of `@cert-authority` and `@revoked` (what `ssh-keygen -R` removes), and,
//! unlike `ssh-keygen -R`, leaves no `known_hosts.old` beside the file.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map};

use super::change::{self, Change, Content};
use super::files::Attrs;
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileKind;

/// ansible-core's default `path`.
const DEFAULT_PATH: &str = "~/.ssh/known_hosts";

choice! {
    /// Whether the host's key is wanted in the file.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `known_hosts`'s arguments.
    pub struct Args {
        /// Optional here so that leaving it out fails in this module's words.
        name: Option<String> ["name", "host"],
        key: Option<String> ["key"],
        path: String ["path"] = DEFAULT_PATH.to_string(),
        hash_host: bool ["hash_host"] = false,
        state: State ["state"] = State::Present,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let Args {
        name,
        key: key_arg,
        path: path_arg,
        hash_host,
        state,
    } = Args::from_cx(cx)?;
    let Some(name) = name else {
        return Err(PlanError::Fail("`known_hosts` needs `name`".into()));
    };
    let host = name.to_lowercase();
    let present = state == State::Present;
    let key = match key_arg.clone().filter(|k| !k.is_empty()) {
        None if present => {
            return Err(PlanError::Fail(
                "No key specified when adding a host".into(),
            ))
        }
        None => None,
        Some(k) => {
            let k = if hash_host { hashed_key(&host, &k)? } else { k };
            Some(if k.ends_with('\n') {
                k
            } else {
                format!("{k}\n")
            })
        }
    };
    if let Some(k) = &key {
        sanity_check(&host, k)?;
    }
    let path = cx.expand_home(&path_arg)?;
    let st = cx.file(&path, true)?;
    let before = match st.kind {
        FileKind::Missing => None,
        FileKind::File => match cx.content(&path)? {
            Some(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
                PlanError::Fail(format!("`{path}` is not text (UTF-8)"))
            })?),
            None => {
                return Err(PlanError::Fail(format!(
                    "`{path}` is larger than 1 MiB or unreadable; rprov reads known_hosts files up to 1 MiB"
                )))
            }
        },
        _ => {
            return Err(PlanError::Fail(format!(
                "`{path}` exists and is not a regular file"
            )))
        }
    };
    let text = before.as_deref().unwrap_or_default();
    let found = search(&host, key.as_deref(), before.as_deref())?;
    let ansible_after = diff_after(text, key.as_deref(), present, &found);
    let after = if !present && key.is_none() {
        without_host(text, &host)
    } else {
        ansible_after.clone()
    };

    // The arguments as given, as ansible-core's result has them.
    let mut result = Map::new();
    for (k, v) in [
        ("name", json!(name)),
        ("key", json!(key_arg)),
        ("path", json!(path)),
        ("hash_host", json!(hash_host)),
        ("state", json!(state.as_str())),
    ] {
        result.insert(k.into(), v);
    }
    result.insert(
        "diff".into(),
        json!({
            "before_header": if before.is_some() { path.as_str() } else { "/dev/null" },
            "after_header": path,
            "before": text,
            "after": ansible_after,
        }),
    );
    // ansible-core's `changed` (`replace_or_add or (state == "present") !=
    // found`) is this in every case but one: `ssh-keygen -R` of a host whose
    // only lines are `@cert-authority` or `@revoked`, which leaves the file
    // as it is, and rprov says so.
    if after == text {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    let diff = Diff {
        path: path.clone(),
        attrs: if before.is_none() {
            vec!["state: absent → file".into()]
        } else {
            Vec::new()
        },
        before: Some(text.to_string()),
        after: Some(after.clone()),
    };
    let write = Change::Write {
        dest: path.clone(),
        attrs: Attrs::default(),
        existing: st,
        validate: None,
        backup: false,
        content: Content::Bytes(after.into_bytes()),
    };
    let mut action = change::action(vec![write], &path)?;
    action.result = result;
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

/// The key line with its host field hashed (`|1|salt|hmac`), a new salt each
/// time, as ansible-core's `hash_host_key`.
fn hashed_key(host: &str, key: &str) -> Result<String, PlanError> {
    let mut salt = [0u8; 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut salt))
        .map_err(|e| PlanError::Fail(format!("cannot read /dev/urandom for `hash_host`: {e}")))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts: Vec<String> = key.split_whitespace().map(str::to_string).collect();
    let i = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    let Some(field) = parts.get_mut(i) else {
        return Err(PlanError::Fail(format!(
            "`key` is not a known_hosts line: {key}"
        )));
    };
    *field = format!(
        "|1|{}|{}",
        b64.encode(salt),
        b64.encode(hmac_sha1(&salt, host.as_bytes()))
    );
    Ok(parts.join(" "))
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// ansible-core's checks of `name` against `key`, with its words.
fn sanity_check(host: &str, key: &str) -> Result<(), PlanError> {
    let listed = host
        .char_indices()
        .any(|(i, c)| c == ',' && !host[..i].trim_end().is_empty());
    if listed {
        return Err(PlanError::Fail(
            "Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file."
                .into(),
        ));
    }
    if !key.lines().any(|l| line_matches(l, host)) {
        return Err(PlanError::Fail(
            "Host parameter does not match hashed host field in supplied key".into(),
        ));
    }
    Ok(())
}

/// Whether a known_hosts line is one of `host`'s, as `ssh-keygen -F` finds
/// them: comments and blank lines never are.
fn line_matches(line: &str, host: &str) -> bool {
    let mut words = line.split_whitespace();
    let Some(first) = words.next().filter(|w| !w.starts_with('#')) else {
        return false;
    };
    let field = if first.starts_with('@') {
        match words.next() {
            Some(f) => f,
            None => return false,
        }
    } else {
        first
    };
    if let Some(hashed) = field.strip_prefix("|1|") {
        let b64 = base64::engine::general_purpose::STANDARD;
        let Some((salt, mac)) = hashed.split_once('|') else {
            return false;
        };
        return match (b64.decode(salt), b64.decode(mac)) {
            (Ok(salt), Ok(mac)) => hmac_sha1(&salt, host.as_bytes()) == mac,
            _ => false,
        };
    }
    let mut matched = false;
    for pattern in field.split(',') {
        let (negated, p) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if wildcard(&p.to_lowercase(), host) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// OpenSSH's `match_pattern`: `*` any run of characters, `?` any one.
fn wildcard(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == '?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// What ansible-core's `search_for_host_key` answers (its `found`, whether
/// any line is the host's, is not needed: the file says it).
#[derive(Debug, Default, PartialEq)]
struct Found {
    /// The key asked for is not there as it is: it is added, or replaces
    /// the one at `line`.
    replace_or_add: bool,
    /// The line (1-based) of the same key, or of a key of the same type.
    line: Option<usize>,
}

/// A key line's fields, as ansible-core's `normalize_known_hosts_key`
/// compares them (the comment after the key is not one of them).
#[derive(Clone, Copy, PartialEq)]
struct Fields<'a> {
    marker: Option<&'a str>,
    host: &'a str,
    kind: &'a str,
    key: &'a str,
}

fn fields(line: &str) -> Option<Fields<'_>> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        [m, host, kind, key, ..] if m.starts_with('@') => Some(Fields {
            marker: Some(m),
            host,
            kind,
            key,
        }),
        [host, kind, key, ..] if !host.starts_with('@') => Some(Fields {
            marker: None,
            host,
            kind,
            key,
        }),
        _ => None,
    }
}

fn search(host: &str, key: Option<&str>, text: Option<&str>) -> Result<Found, PlanError> {
    let Some(text) = text else {
        return Ok(Found::default());
    };
    let mine: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| line_matches(l, host))
        .map(|(i, l)| (i + 1, l))
        .collect();
    let Some(key) = key.filter(|_| !mine.is_empty()) else {
        return Ok(Found::default());
    };
    let Some(new) = fields(key.trim()) else {
        return Err(PlanError::Fail(format!(
            "`key` is not a known_hosts line (host, key type, key): {}",
            key.trim()
        )));
    };
    for (n, line) in mine {
        let Some(old) = fields(line) else { continue };
        let same = |host| Fields { host, ..new } == old;
        if old
            .marker
            .is_some_and(|m| m.starts_with("@cert-authority") || m.starts_with("@revoke"))
        {
            if same(new.host) {
                return Ok(exact(n));
            }
            continue;
        }
        // A hashed name stays as it is hashed in the file.
        let host = if new.host.starts_with("|1|") && old.host.starts_with("|1|") {
            old.host
        } else {
            new.host
        };
        if same(host) {
            return Ok(exact(n));
        }
        if new.kind == old.kind {
            return Ok(Found {
                replace_or_add: true,
                line: Some(n),
            });
        }
    }
    Ok(Found {
        replace_or_add: true,
        line: None,
    })
}

fn exact(line: usize) -> Found {
    Found {
        replace_or_add: false,
        line: Some(line),
    }
}

/// `ssh-keygen -R`, what `state: absent` without a `key` runs: the host's
/// lines go, its CA and revocations stay.
fn without_host(text: &str, host: &str) -> String {
    text.split_inclusive('\n')
        .filter(|l| !line_matches(l, host) || fields(l).is_some_and(|f| f.marker.is_some()))
        .collect()
}

/// ansible-core's `compute_diff` `after`, which is also the file it writes
/// (but for `ssh-keygen -R`, see [`without_host`]): the found line dropped
/// when it is replaced or removed, the key appended when it is added.
fn diff_after(text: &str, key: Option<&str>, present: bool, found: &Found) -> String {
    let mut out = String::with_capacity(text.len() + key.map_or(0, str::len));
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if found.line == Some(i + 1) && (found.replace_or_add || !present) {
            continue;
        }
        out.push_str(line);
    }
    if let (true, Some(k)) = (present, key) {
        if found.replace_or_add || found.line.is_none() {
            out.push_str(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, fail_msg};
    use super::*;
    use crate::probe::{Fact, Probe};

    const FILE: &str = "example.com ssh-dss AAAAdss root@freezer\n\
        |1|d71/U7CbOH3Su+d2zxlbmiNfXtI=|g2YSPAVoK7bmg16FCOOPKTZe2BM= ssh-rsa AAAArsa\n\
        @cert-authority *.example.com ssh-ed25519 AAAAca\n\
        # example.net ssh-ed25519 AAAAc root@localhost\n";

    fn plan_on(
        args: serde_json::Value,
        content: Option<&'static str>,
    ) -> Result<Decision, PlanError> {
        let mut args = args;
        args["path"] = json!("/k/known_hosts");
        testing::run("known_hosts", args, move |p| match p {
            Probe::File { .. } => Some(Fact::File(match content {
                Some(c) => testing::file(c.as_bytes(), "644", "root"),
                None => crate::probe::FileState::missing(),
            })),
            Probe::Content { .. } => Some(Fact::Content(content.map(|c| c.as_bytes().to_vec()))),
            _ => None,
        })
    }

    fn written(d: &Decision) -> String {
        let Decision::Change { action, .. } = d else {
            panic!("expected a change, got {d:?}");
        };
        match &action.changes[0] {
            Change::Write {
                content: Content::Bytes(b),
                ..
            } => String::from_utf8(b.clone()).unwrap(),
            other => panic!("expected a write, got {other:?}"),
        }
    }

    /// The hashed entry in ansible-core's test file is `github.com`'s (as
    /// `ssh-keygen -F` says): the HMAC of the name with the salt before it.
    #[test]
    fn hashed_names_match_by_hmac() {
        let hashed = FILE.lines().nth(1).unwrap();
        assert!(line_matches(hashed, "github.com"));
        assert!(!line_matches(hashed, "example.org"));
        let mine = hashed_key("a.example", "x ssh-ed25519 AAAA").unwrap();
        assert!(
            mine.starts_with("|1|") && line_matches(&mine, "a.example"),
            "{mine}"
        );
    }

    #[test]
    fn patterns_match_as_openssh_matches_them() {
        assert!(line_matches("a.example.com,b ssh-rsa K", "a.example.com"));
        assert!(line_matches("*.example.com ssh-rsa K", "x.example.com"));
        assert!(line_matches("h?st ssh-rsa K", "host"));
        assert!(!line_matches(
            "*.example.com,!bad.example.com ssh-rsa K",
            "bad.example.com"
        ));
        assert!(line_matches("Host.Example ssh-rsa K", "host.example"));
        assert!(!line_matches("# host ssh-rsa K", "host"));
        assert!(line_matches(
            "@cert-authority *.example.com ssh-ed25519 K",
            "*.example.com"
        ));
    }

    /// The lines rprov takes for a host's are those `ssh-keygen -F` (what
    /// ansible-core asks) prints, on a file with every kind of entry.
    #[test]
    fn lines_found_are_ssh_keygens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let text = format!(
            "{FILE}a.example.com,b.example.com ssh-ed25519 K1\n\
             *.test,!bad.test ssh-ed25519 K2\n\
             [port.example]:2222 ssh-ed25519 K3\n\
             @revoked host.example.com ssh-ed25519 K4\n\
             h?st.example ssh-ed25519 K5\n"
        );
        std::fs::write(&path, &text).unwrap();
        for host in [
            "github.com",
            "example.com",
            "b.example.com",
            "host.example.com",
            "*.example.com",
            "x.test",
            "bad.test",
            "port.example",
            "[port.example]:2222",
            "host.example",
            "nobody",
        ] {
            let out = std::process::Command::new("ssh-keygen")
                .args(["-F", host, "-f"])
                .arg(&path)
                .output()
                .expect("ssh-keygen (openssh-client) is needed for this test");
            let theirs: Vec<usize> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split("found: line ").nth(1))
                .filter_map(|n| n.split_whitespace().next()?.parse().ok())
                .collect();
            let ours: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| line_matches(l, host))
                .map(|(i, _)| i + 1)
                .collect();
            assert_eq!(ours, theirs, "{host}");
        }
    }

    #[test]
    fn a_new_key_goes_at_the_end_and_the_same_key_is_left() {
        let key = "example.org ssh-rsa AAAAnew\n";
        let d = plan_on(json!({"name": "example.org", "key": key}), Some(FILE)).unwrap();
        assert_eq!(written(&d), format!("{FILE}{key}"));
        let again = format!("{FILE}{key}");
        let again: &'static str = Box::leak(again.into_boxed_str());
        let d = plan_on(json!({"name": "example.org", "key": key}), Some(again)).unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("expected ok, got {d:?}");
        };
        assert_eq!(result["diff"]["before"], result["diff"]["after"]);
    }

    /// A key of the same type is replaced where it was found: its line goes,
    /// the new one is appended, as ansible-core writes it.
    #[test]
    fn a_key_of_the_same_type_is_replaced() {
        let key = "github.com ssh-rsa AAAAother";
        let d = plan_on(json!({"name": "github.com", "key": key}), Some(FILE)).unwrap();
        let lines: Vec<String> = written(&d).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 4);
        assert!(!lines.iter().any(|l| l.contains("AAAArsa")));
        assert_eq!(lines[3], key);
    }

    /// `hash_host` against a hashed entry of the same key: no change, though
    /// each hashing draws a new salt.
    #[test]
    fn hashing_the_same_key_again_changes_nothing() {
        let d = plan_on(
            json!({"name": "github.com", "key": "github.com ssh-rsa AAAArsa", "hash_host": true}),
            Some(FILE),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn absent_without_a_key_keeps_cert_authorities() {
        let d = plan_on(
            json!({"name": "host.example.com", "state": "absent"}),
            Some("host.example.com ssh-rsa K\n@cert-authority *.example.com ssh-ed25519 C\n"),
        )
        .unwrap();
        assert_eq!(written(&d), "@cert-authority *.example.com ssh-ed25519 C\n");
    }

    #[test]
    fn ansible_cores_refusals_have_its_words() {
        let key = "example.org ssh-rsa K";
        let msg = fail_msg(plan_on(
            json!({"name": "example.org,acme.com", "key": key}),
            Some(FILE),
        ));
        assert!(
            msg.starts_with("Comma separated list of names is not supported."),
            "{msg}"
        );
        let msg = fail_msg(plan_on(
            json!({"name": "example.com", "key": key}),
            Some(FILE),
        ));
        assert_eq!(
            msg,
            "Host parameter does not match hashed host field in supplied key"
        );
        let msg = fail_msg(plan_on(json!({"name": "example.com"}), Some(FILE)));
        assert_eq!(msg, "No key specified when adding a host");
    }

    #[test]
    fn a_missing_file_is_made_with_the_key() {
        let d = plan_on(json!({"name": "h", "key": "h ssh-ed25519 K"}), None).unwrap();
        assert_eq!(written(&d), "h ssh-ed25519 K\n");
        let Decision::Change { action, .. } = &d else {
            unreachable!()
        };
        assert_eq!(action.result["diff"]["before_header"], json!("/dev/null"));
        // The arguments as given (ansible-core returns its params), though
        // the name is matched in lower case and the line ends with `\n`.
        let d = plan_on(json!({"name": "H", "key": "h ssh-ed25519 K"}), None).unwrap();
        let Decision::Change { action, .. } = &d else {
            panic!("expected a change, got {d:?}");
        };
        assert_eq!(action.result["name"], json!("H"));
        assert_eq!(action.result["key"], json!("h ssh-ed25519 K"));
    }
}
