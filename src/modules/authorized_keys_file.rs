//! The `authorized_keys` file as ansible.posix's `authorized_key` module reads
//! and writes it, so a host provisioned by Ansible and then by rprov (or the
//! other way round) reports no change.
//!
//! What that takes (ansible.posix, `plugins/modules/authorized_key.py`):
//! - a key is identified by its base64 material alone;
//! - a line is split on whitespace (no quoting), the first word that is a
//!   known key type is the type, the words before it are the options, the
//!   word after it the key, the rest (joined by single spaces) the comment;
//! - options are split on commas outside quotes and written back as
//!   `k=v,flag`; a key line is written `[options ]type key comment\n`, so a
//!   key without a comment ends in a space;
//! - lines that are comments or not keys are kept as they were;
//! - when anything changes the whole file is written again in that form:
//!   existing entries keep their order, a new key or one whose type, options
//!   or comment changed goes after them, in the order given;
//! - when nothing changes the file is not written at all.

use indexmap::IndexMap;
use regex::Regex;

/// Key types ansible.posix accepts.
const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// Options in order, every occurrence kept.
pub type Options = Vec<(String, Option<String>)>;

/// One key as the module sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub material: String,
    pub kind: String,
    pub options: Options,
    pub comment: String,
}

/// A line of the file: a key, or anything else kept verbatim (with its line end).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Key(Key),
    Verbatim(String),
}

/// Parses a key line; `None` when it holds no key (a comment, blank or
/// invalid line).
pub fn parse_key(raw: &str) -> Option<Key> {
    let raw = raw.replace(r"\#", "#");
    let words: Vec<&str> = raw
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.first() == Some(&"#") {
        return None;
    }
    let at = words.iter().position(|w| KEY_TYPES.contains(w))?;
    let material = words.get(at + 1)?;
    Some(Key {
        material: (*material).to_string(),
        kind: words[at].to_string(),
        options: parse_options(&words[..at].join(" ")),
        comment: words.get(at + 2..).unwrap_or_default().join(" "),
    })
}

/// `no-pty,command="a,b",from=x` → options, commas inside quotes kept.
pub fn parse_options(text: &str) -> Options {
    let mut out: Options = Vec::new();
    if text.is_empty() {
        return out;
    }
    let Ok(re) = Regex::new(r#"(?:[^,"']|"[^"]*"|'[^']*')+"#) else {
        return out;
    };
    // Python's re.split(...)[1:-1]: each match, and the text between matches.
    let mut parts = Vec::new();
    let mut last = None;
    for m in re.find_iter(text) {
        if let Some(end) = last {
            parts.push(&text[end..m.start()]);
        }
        parts.push(m.as_str());
        last = Some(m.end());
    }
    for part in parts {
        // Every occurrence is kept, in order (the module's `keydict`).
        out.push(match part.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None if part == "," => continue,
            None => (part.to_string(), None),
        });
    }
    out
}

/// The line ansible.posix writes for `k`.
pub fn serialize(k: &Key) -> String {
    let mut line = String::new();
    if !k.options.is_empty() {
        let opts: Vec<String> = k
            .options
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name}={v}"),
                None => name.clone(),
            })
            .collect();
        line.push_str(&opts.join(","));
        line.push(' ');
    }
    line.push_str(&format!("{} {} {}\n", k.kind, k.material, k.comment));
    line
}

/// The module's comparison: the options compare as a dict of each name's
/// values, so `a,b` and `b,a` are the same.
fn same_key(a: &Key, b: &Key) -> bool {
    fn by_name(o: &Options) -> IndexMap<&str, Vec<&Option<String>>> {
        let mut m: IndexMap<&str, Vec<&Option<String>>> = IndexMap::new();
        for (k, v) in o {
            m.entry(k.as_str()).or_default().push(v);
        }
        m.sort_keys();
        m
    }
    (&a.material, &a.kind, &a.comment) == (&b.material, &b.kind, &b.comment)
        && by_name(&a.options) == by_name(&b.options)
}

/// The new file text for `wanted` keys, or `None` when the module would not
/// write the file.
pub fn update(old: &str, wanted: &[Key], present: bool, exclusive: bool) -> Option<String> {
    // Entries by identity (key material, or the verbatim line), with their rank.
    let mut entries: IndexMap<String, (Entry, usize)> = IndexMap::new();
    for (rank, line) in split_lines_keep_ends(old).into_iter().enumerate() {
        match parse_key(line) {
            Some(k) => entries.insert(k.material.clone(), (Entry::Key(k), rank)),
            None => entries.insert(line.to_string(), (Entry::Verbatim(line.to_string()), rank)),
        };
    }
    let first_new_rank = entries.len();
    let mut write = false;
    let mut keep = Vec::new();
    for (rank, w) in wanted.iter().enumerate() {
        let existing = entries.get(&w.material).map(|(e, _)| e);
        let same = matches!(existing, Some(Entry::Key(k)) if same_key(k, w));
        let matched = existing.is_some() && (same || !present);
        if present {
            keep.push(w.material.clone());
            if existing.is_some() && !same {
                entries.shift_remove(&w.material);
                write = true;
            }
            if !matched {
                entries.insert(
                    w.material.clone(),
                    (Entry::Key(w.clone()), first_new_rank + rank),
                );
                write = true;
            }
        } else if matched {
            entries.shift_remove(&w.material);
            write = true;
        }
    }
    if present && exclusive {
        let before = entries.len();
        entries.retain(|id, _| keep.contains(id));
        write |= entries.len() != before;
    }
    if !write {
        return None;
    }
    let mut ordered: Vec<&(Entry, usize)> = entries.values().collect();
    ordered.sort_by_key(|(_, rank)| *rank);
    Some(
        ordered
            .into_iter()
            .map(|(e, _)| match e {
                Entry::Key(k) => serialize(k),
                Entry::Verbatim(l) => l.clone(),
            })
            .collect(),
    )
}

/// Python's `str.splitlines(True)` for the line ends a text file has.
fn split_lines_keep_ends(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' | b'\n' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push(&text[start..end]);
        start = end;
        i = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1";
    const B: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2";

    fn key(line: &str) -> Key {
        parse_key(line).expect("a key")
    }

    // The expected texts below are what ansible.posix 1.6 (ansible 11.13)
    // `parsekeys`/`serialize`/`enforce_state` produce for the same inputs,
    // checked by running its functions.

    #[test]
    fn a_key_without_a_comment_ends_in_a_space() {
        assert_eq!(
            update("", &[key(A)], true, false).as_deref(),
            Some(format!("{A} \n").as_str())
        );
        // And is then left alone.
        assert_eq!(update(&format!("{A} \n"), &[key(A)], true, false), None);
    }

    #[test]
    fn options_and_comments_are_normalised_when_the_file_is_written() {
        let old = format!(
            "# managed\n{A}   alice  at home\nno-pty,command=\"echo a,b\"  {B}\n\nnot a key\n"
        );
        let mut c = key(&format!("{B} carol"));
        c.options = parse_options("from=\"10.0.0.1\",no-pty,no-pty");
        let got = update(&old, &[c], true, false).expect("written");
        assert_eq!(
            got,
            format!("# managed\n{A} alice at home\n\nnot a key\nfrom=\"10.0.0.1\",no-pty,no-pty {B} carol\n")
        );
        // Nothing to do: not written, odd spacing and all.
        let same = key(&format!("{A} alice at home"));
        assert_eq!(update(&old, &[same], true, false), None);
    }

    #[test]
    fn exclusive_and_absent() {
        let old = format!("# c\n{A} a\n{B} b\n");
        assert_eq!(
            update(&old, &[key(&format!("{B} b"))], true, true).as_deref(),
            Some(format!("{B} b\n").as_str())
        );
        assert_eq!(
            update(&old, &[key(&format!("{A} other comment"))], false, false).as_deref(),
            Some(format!("# c\n{B} b\n").as_str())
        );
        assert_eq!(update("", &[key(A)], false, false), None);
    }

    #[test]
    fn options_split_like_the_module() {
        assert_eq!(
            parse_options(r#"no-pty,command="a,b",x='1,2',from=h"#),
            vec![
                ("no-pty".into(), None),
                ("command".into(), Some(r#""a,b""#.into())),
                ("x".into(), Some("'1,2'".into())),
                ("from".into(), Some("h".into())),
            ]
        );
        assert_eq!(parse_key("# ssh-ed25519 AAAA"), None);
        assert_eq!(parse_key("ssh-ed25519"), None);
        assert_eq!(key("ssh-rsa AAAA x  y").comment, "x y");
        let k = key(&format!("a,b=1,a {A} x"));
        assert_eq!(serialize(&k), format!("a,b=1,a {A} x\n"));
        // Options in another order are the same options: nothing to write.
        let old = format!("b=1,a,a {A} x\n");
        assert_eq!(update(&old, &[k], true, false), None);
    }
}
