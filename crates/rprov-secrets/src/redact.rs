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
//! - Every string value (and every number, written as YAML would) is a secret,
//!   replaced by `«secret:KEY»` where KEY is the dotted path (`db.password`,
//!   list items as `hosts.0`).
//! - Values shorter than [`MIN_SECRET_LEN`] characters are **not** masked: `yes`,
//!   `22` or `on` would otherwise blank out unrelated output everywhere.
//! - A multi-line value is also masked line by line (each line of at least
//!   [`MIN_SECRET_LEN`] characters), because a file diff shows a PEM key one line
//!   at a time and never as the whole value.
//! - The forms a secret takes when escaped or encoded (JSON and YAML escapes,
//!   shell quoting, URL encoding, base64 at every byte offset: see `forms`) are
//!   masked as the secret itself.
//!
//! Text masking is the safety net; structured values (task results, `debug`
//! output) are masked with [`Redactor::redact_json`] *before* they are turned
//! into text, so the escaping of the printer never matters.

mod forms;

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use indexmap::IndexMap;

/// How a mask starts and ends: `«secret:KEY»`.
const MASK_OPEN: &str = "«secret:";
const MASK_CLOSE: char = '»';

/// Values with fewer characters than this are not masked (too many false positives).
pub const MIN_SECRET_LEN: usize = 4;

/// Masks secret values in text and JSON. Cheap to clone (everything is shared).
#[derive(Clone, Default)]
pub struct Redactor {
    /// Every secret value (of any length) → its key, in the order added; on a
    /// clash the first key wins.
    values: Arc<IndexMap<String, String>>,
    /// pattern → key: the values long enough to mask, their lines and derived forms.
    patterns: Arc<IndexMap<String, String>>,
    /// Built from `patterns`; `None` when there is nothing to mask.
    matcher: Option<Matcher>,
}

#[derive(Clone)]
struct Matcher {
    automaton: AhoCorasick,
    /// Replacement text per pattern id.
    replacements: Arc<Vec<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the values themselves.
        let mut keys: Vec<&String> = self.values.values().collect();
        keys.dedup();
        f.debug_struct("Redactor").field("keys", &keys).finish()
    }
}

impl Redactor {
    /// Builds a redactor from `(dotted key, value)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut values = IndexMap::new();
        for (key, value) in pairs {
            values.entry(value).or_insert(key);
        }
        Redactor::from_values(values)
    }

    /// Builds a redactor for every string or number leaf of `vars`.
    pub fn from_vars(vars: &crate::Vars) -> Self {
        let mut pairs = Vec::new();
        for (k, v) in vars {
            collect_leaves(k.clone(), v, &mut pairs);
        }
        Redactor::new(pairs)
    }

    fn from_values(values: IndexMap<String, String>) -> Self {
        let mut patterns: IndexMap<String, String> = IndexMap::new();
        for (value, key) in &values {
            let mut candidates = vec![value.as_str()];
            if value.contains('\n') {
                candidates.extend(value.lines().map(|l| l.trim_end_matches('\r')));
            }
            for c in candidates {
                if c.chars().count() < MIN_SECRET_LEN {
                    continue;
                }
                for form in forms::derived(c) {
                    if form.chars().count() >= MIN_SECRET_LEN {
                        patterns.entry(form).or_insert_with(|| key.clone());
                    }
                }
            }
        }
        let matcher = build_matcher(&patterns);
        Redactor {
            values: Arc::new(values),
            patterns: Arc::new(patterns),
            matcher,
        }
    }

    /// Replaces every secret in `text`; borrows when nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(m) = &self.matcher else {
            return Cow::Borrowed(text);
        };
        if m.automaton.find(text).is_none() {
            return Cow::Borrowed(text);
        }
        let replace = |t: &str| m.automaton.replace_all(t, m.replacements.as_slice());
        // Text masked before (a line built from masked parts) keeps its
        // masks as they are: a secret whose value is part of its own name
        // (`root` in `«secret:root_user»`) must not be masked inside the
        // mask. Only a mask of one of this redactor's keys is kept, so text
        // made to look like a mask cannot carry a secret out.
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(MASK_OPEN) {
            let after = &rest[start + MASK_OPEN.len()..];
            let Some(len) = after.find(MASK_CLOSE) else {
                break;
            };
            let key = &after[..len];
            let end = start + MASK_OPEN.len() + len + MASK_CLOSE.len_utf8();
            if self.values.values().any(|k| k == key) {
                out.push_str(&replace(&rest[..start]));
                out.push_str(&rest[start..end]);
            } else {
                out.push_str(&replace(&rest[..end]));
            }
            rest = &rest[end..];
        }
        out.push_str(&replace(rest));
        Cow::Owned(out)
    }

    /// Redacts every string (and object key) inside a JSON value.
    pub fn redact_json(&self, v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.matcher.is_none() {
            return v.clone();
        }
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
        if other
            .values
            .iter()
            .all(|(v, _)| self.values.contains_key(v))
        {
            return;
        }
        let mut values = (*self.values).clone();
        for (v, k) in other.values.iter() {
            values.entry(v.clone()).or_insert_with(|| k.clone());
        }
        *self = Redactor::from_values(values);
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The number of distinct patterns (values, lines of multi-line values and
    /// their derived forms).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Every secret value, short ones included: what the engine must treat as
    /// literal text (never render as a template).
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

fn build_matcher(patterns: &IndexMap<String, String>) -> Option<Matcher> {
    if patterns.is_empty() {
        return None;
    }
    let (pats, replacements): (Vec<&str>, Vec<String>) = patterns
        .iter()
        .map(|(p, k)| (p.as_str(), format!("{MASK_OPEN}{k}{MASK_CLOSE}")))
        .unzip();
    // Building can only fail when limits are exceeded (huge pattern sets); masking
    // nothing would leak, so fall back to the slower NFA with no limits.
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&pats)
        .or_else(|_| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(&pats)
        });
    automaton.ok().map(|automaton| Matcher {
        automaton,
        replacements: Arc::new(replacements),
    })
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
        empty.merge(a.clone());
        assert_eq!(empty.len(), a.len());
        assert_eq!(empty.secret_values().count(), 2);
    }

    #[test]
    fn escaped_and_encoded_forms_are_masked_as_the_secret() {
        use base64::Engine as _;
        let secret = "p\"a\\ss'w{rd\tæøå";
        let r = Redactor::new([("db.pw".into(), secret.into())]);
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let texts = [
            serde_json::to_string(&serde_json::json!({"cmd": secret})).unwrap(),
            serde_json::to_string_pretty(&serde_json::json!([secret])).unwrap(),
            format!("Authorization: Basic {}", b64(&format!("admin:{secret}"))),
            format!("x={}", b64(secret)),
            format!("sh -c 'echo {}'", secret.replace('\'', "'\"'\"'")),
            format!(
                "url=https://h/?p={}",
                "p%22a%5Css%27w%7Brd%09%C3%A6%C3%B8%C3%A5"
            ),
            format!("pw: \"{}\"", r#"p\"a\\ss'w{rd\t\xE6\xF8\xE5"#),
        ];
        for t in texts {
            let out = r.redact(&t);
            assert!(out.contains("«secret:db.pw»"), "not masked: {t} → {out}");
            assert!(!out.contains("ss'w") && !out.contains("w{rd"), "{out}");
        }
    }

    #[test]
    fn short_values_are_still_known_as_secrets() {
        let r = Redactor::new([
            ("a".into(), "{{".into()),
            ("b".into(), "long-enough".into()),
        ]);
        let values: Vec<&str> = r.secret_values().collect();
        assert_eq!(values, ["{{", "long-enough"]);
        assert_eq!(r.redact("{{ long-enough"), "{{ «secret:b»");
    }

    /// Masking masked text again changes nothing, even when a secret's
    /// value is part of its own name; text made to look like a mask is
    /// still masked inside.
    #[test]
    fn masks_are_not_masked_again() {
        let r = Redactor::new([("vaulted_root_string".to_string(), "root".to_string())]);
        let once = r.redact("user root");
        assert_eq!(once, "user «secret:vaulted_root_string»");
        assert_eq!(r.redact(&once), once);
        assert_eq!(
            r.redact("«secret:root» «secret:vaulted_root_string»"),
            "«secret:«secret:vaulted_root_string»» «secret:vaulted_root_string»"
        );
    }
}
