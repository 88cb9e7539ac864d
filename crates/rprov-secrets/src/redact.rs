//! Masking secret values in everything rprov prints.
//!
//! Why a dedicated matcher instead of `str::replace` in a loop: secrets overlap (a
//! password inside a connection URL that is itself a secret), and replacing them one
//! after another would mask a fragment and leave the rest visible, or re-mask text
//! produced by an earlier replacement. An Aho-Corasick automaton with leftmost-longest
//! semantics finds, in one pass, the longest secret starting at each position, so a
//! secret that contains another is masked whole and replacements are never rescanned.
//!
//! Rules:
//! - Every string value (and every number, written as YAML would) is a pattern,
//!   replaced by `«secret:KEY»` where KEY is the dotted path (`db.password`,
//!   list items as `hosts.0`).
//! - Values shorter than [`MIN_SECRET_LEN`] characters are **not** masked: `yes`,
//!   `22` or `on` would otherwise blank out unrelated output everywhere.
//! - A multi-line value is also masked line by line (each line of at least
//!   [`MIN_SECRET_LEN`] characters), because a file diff shows a PEM key one line
//!   at a time and never as the whole value.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Values with fewer characters than this are not masked (too many false positives).
pub const MIN_SECRET_LEN: usize = 4;

/// Masks secret values in text and JSON. Cheap to clone (the automaton is shared).
#[derive(Clone, Default)]
pub struct Redactor {
    /// pattern → key, deduplicated; on a clash the first key wins.
    patterns: BTreeMap<String, String>,
    /// Built from `patterns`; `None` when there is nothing to mask.
    matcher: Option<Matcher>,
}

#[derive(Clone)]
struct Matcher {
    automaton: AhoCorasick,
    /// Replacement text per pattern id.
    replacements: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the values themselves.
        f.debug_struct("Redactor")
            .field("keys", &self.patterns.values().collect::<Vec<_>>())
            .finish()
    }
}

impl Redactor {
    /// Builds a redactor from `(dotted key, value)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut r = Redactor::default();
        for (key, value) in pairs {
            r.add(key, &value);
        }
        r.rebuild();
        r
    }

    /// Builds a redactor for every string or number leaf of `vars`.
    pub fn from_vars(vars: &crate::Vars) -> Self {
        let mut pairs = Vec::new();
        for (k, v) in vars {
            collect_leaves(k.clone(), v, &mut pairs);
        }
        Redactor::new(pairs)
    }

    fn add(&mut self, key: String, value: &str) {
        let mut candidates = vec![value];
        if value.contains('\n') {
            candidates.extend(value.lines().map(|l| l.trim_end_matches('\r')));
        }
        for c in candidates {
            if c.chars().count() >= MIN_SECRET_LEN && !self.patterns.contains_key(c) {
                self.patterns.insert(c.to_owned(), key.clone());
            }
        }
    }

    fn rebuild(&mut self) {
        if self.patterns.is_empty() {
            self.matcher = None;
            return;
        }
        let (pats, replacements): (Vec<&str>, Vec<String>) = self
            .patterns
            .iter()
            .map(|(p, k)| (p.as_str(), format!("«secret:{k}»")))
            .unzip();
        // Building can only fail when limits are exceeded (huge pattern sets); fall back
        // to masking nothing would leak, so fall back to the slower NFA with no limits.
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&pats)
            .or_else(|_| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                    .build(&pats)
            });
        self.matcher = automaton.ok().map(|automaton| Matcher {
            automaton,
            replacements,
        });
    }

    /// Replaces every secret in `text`; borrows when nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(m) = &self.matcher else {
            return Cow::Borrowed(text);
        };
        if m.automaton.find(text).is_none() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(m.automaton.replace_all(text, &m.replacements))
    }

    /// Redacts every string (and object key) inside a JSON value.
    pub fn redact_json(&self, v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(self.redact(s).into_owned()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.redact_json(i)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k).into_owned(), self.redact_json(v)))
                    .collect(),
            ),
            Value::Number(n) => {
                // A numeric secret (a PIN) printed as a JSON number is masked as a string.
                let s = n.to_string();
                match self.redact(&s) {
                    Cow::Borrowed(_) => v.clone(),
                    Cow::Owned(masked) => Value::String(masked),
                }
            }
            Value::Null | Value::Bool(_) => v.clone(),
        }
    }

    /// Adds all of `other`'s secrets to `self`.
    pub fn merge(&mut self, other: Redactor) {
        if other.patterns.is_empty() {
            return;
        }
        for (p, k) in other.patterns {
            self.patterns.entry(p).or_insert(k);
        }
        self.rebuild();
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The number of distinct patterns (whole values and lines of multi-line values).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }
}

/// Flattens a value into `(dotted key, text)` leaves; lists use the index as a segment.
fn collect_leaves(key: String, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match v {
        Value::String(s) => out.push((key, s.clone())),
        Value::Number(n) => out.push((key, n.to_string())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_leaves(format!("{key}.{i}"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                collect_leaves(format!("{key}.{k}"), item, out);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: serde_json::Value) -> crate::Vars {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn nested_keys_are_named_by_dotted_path() {
        let r = Redactor::from_vars(&vars(json!({
            "db": {"password": "hunter2-hunter2", "users": ["alice-pw", "bob-pw-x"]},
            "token": "abcd"
        })));
        assert_eq!(
            r.redact("pw=hunter2-hunter2 t=abcd u=bob-pw-x"),
            "pw=«secret:db.password» t=«secret:token» u=«secret:db.users.1»"
        );
    }

    #[test]
    fn short_values_are_not_masked() {
        let r = Redactor::new([("a".into(), "abc".into()), ("b".into(), "yes".into())]);
        assert!(r.is_empty());
        assert!(matches!(r.redact("abc yes"), Cow::Borrowed("abc yes")));
    }

    #[test]
    fn longest_secret_wins_when_one_contains_another() {
        let r = Redactor::new([
            ("pw".into(), "s3cret".into()),
            ("url".into(), "postgres://u:s3cret@db/app".into()),
        ]);
        assert_eq!(
            r.redact("connect postgres://u:s3cret@db/app with s3cret"),
            "connect «secret:url» with «secret:pw»"
        );
        // Overlapping, not nested: the leftmost match is taken whole.
        let r = Redactor::new([("a".into(), "abcdef".into()), ("b".into(), "defghi".into())]);
        assert_eq!(r.redact("abcdefghi"), "«secret:a»ghi");
    }

    #[test]
    fn multi_line_values_are_masked_whole_and_per_line() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----\n";
        let r = Redactor::new([("tls.key".into(), pem.into())]);
        assert_eq!(r.redact(pem), "«secret:tls.key»");
        let diff = "+MIIEvQIBADANBgkq\n+hkiG9w0BAQEFAASC\n";
        assert_eq!(r.redact(diff), "+«secret:tls.key»\n+«secret:tls.key»\n");
    }

    #[test]
    fn json_strings_keys_and_numbers_are_masked() {
        let r = Redactor::from_vars(&vars(json!({"pw": "p@ss-word", "pin": 987654})));
        let out = r.redact_json(&json!({
            "msg": "login with p@ss-word",
            "p@ss-word": [1, 987654, true, null, "x"],
        }));
        assert_eq!(
            out,
            json!({
                "msg": "login with «secret:pw»",
                "«secret:pw»": [1, "«secret:pin»", true, null, "x"],
            })
        );
    }

    #[test]
    fn merge_combines_and_debug_hides_values() {
        let mut a = Redactor::new([("a".into(), "alpha-secret".into())]);
        a.merge(Redactor::new([("b".into(), "beta-secret".into())]));
        assert_eq!(
            a.redact("alpha-secret beta-secret"),
            "«secret:a» «secret:b»"
        );
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("alpha-secret"), "{dbg}");
        let mut empty = Redactor::default();
        assert!(empty.is_empty());
        empty.merge(a);
        assert_eq!(empty.len(), 2);
    }
}
