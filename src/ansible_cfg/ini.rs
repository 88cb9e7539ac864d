//! The part of Python's `configparser` that ansible.cfg files rely on.
//!
//! Ansible reads its config with `ConfigParser(inline_comment_prefixes=(';',))`:
//! `key = value` or `key: value` lines under `[section]` headers, keys
//! case-insensitive, whole-line comments with `#` or `;`, an inline comment
//! only after whitespace and `;`, indented lines continuing the previous value,
//! `[DEFAULT]` values visible in every section, and duplicate sections or
//! keys an error (configparser is strict). Ansible reads values with
//! `raw=True`, so `%` is not interpolated: `%%h` stays `%%h`. Writing it by
//! hand is a few dozen lines; no crate follows these rules exactly.

use std::collections::BTreeMap;

/// One parsed file: section → key → raw value (before interpolation), each
/// with the line it came from. Keys are lower case.
#[derive(Debug, Default)]
pub struct Ini {
    sections: BTreeMap<String, BTreeMap<String, (String, usize)>>,
    /// Sections in file order (for warnings in the order the user wrote them).
    order: Vec<String>,
}

const DEFAULT: &str = "DEFAULT";

impl Ini {
    /// Parses `text`; an error names the line.
    pub fn parse(text: &str) -> Result<Ini, String> {
        Self::parse_with(text, true)
    }

    /// [`Self::parse`], with or without `;` comments after a value (plain
    /// `ConfigParser()`, which Ansible's local facts use, has none).
    pub fn parse_with(text: &str, inline_comments: bool) -> Result<Ini, String> {
        let strip = |v: &str| -> String {
            match inline_comments {
                true => strip_inline_comment(v).to_owned(),
                false => v.to_owned(),
            }
        };
        let mut ini = Ini::default();
        // (section, key, indent of the key line) of the value being read.
        let mut current: Option<(String, String, usize)> = None;
        let mut section: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_end_matches('\r');
            let stripped = line.trim();
            if stripped.is_empty() || stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let Some((s, k, key_indent)) = &current {
                if indent > *key_indent {
                    let value = strip(stripped);
                    if let Some((v, _)) = ini
                        .sections
                        .get_mut(s.as_str())
                        .and_then(|m| m.get_mut(k.as_str()))
                    {
                        if !v.is_empty() {
                            v.push('\n');
                        }
                        v.push_str(&value);
                    }
                    continue;
                }
            }
            if let Some(name) = stripped.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                if ini.sections.contains_key(name) {
                    return Err(format!("line {line_no}: section [{name}] appears twice"));
                }
                ini.sections.insert(name.to_owned(), BTreeMap::new());
                ini.order.push(name.to_owned());
                section = Some(name.to_owned());
                current = None;
                continue;
            }
            let Some(sec) = &section else {
                return Err(format!(
                    "line {line_no}: `{stripped}` comes before any [section] header"
                ));
            };
            let Some(at) = stripped.find(['=', ':']) else {
                return Err(format!(
                    "line {line_no}: `{stripped}` is neither `key = value` nor a [section]"
                ));
            };
            let key = stripped[..at].trim().to_ascii_lowercase();
            if key.is_empty() {
                return Err(format!("line {line_no}: a value without a key"));
            }
            let value = strip(stripped[at + 1..].trim());
            let keys = ini.sections.entry(sec.clone()).or_default();
            if keys.contains_key(&key) {
                return Err(format!(
                    "line {line_no}: `{key}` appears twice in section [{sec}]"
                ));
            }
            keys.insert(key.clone(), (value, line_no));
            current = Some((sec.clone(), key, indent));
        }
        Ok(ini)
    }

    /// The value of `key` in `section` (or `[DEFAULT]`), as written, and its line.
    pub fn get(&self, section: &str, key: &str) -> Option<(&str, usize)> {
        [section, DEFAULT]
            .iter()
            .find_map(|s| self.sections.get(*s).and_then(|m| m.get(key)))
            .map(|(v, l)| (v.as_str(), *l))
    }

    /// Each section but `[DEFAULT]`, in file order, with its keys and values
    /// and `[DEFAULT]`'s it does not have (configparser's `options`).
    pub fn sections(&self) -> Vec<(&str, Vec<(&str, &str)>)> {
        let defaults = self.sections.get(DEFAULT);
        self.order
            .iter()
            .filter(|s| s.as_str() != DEFAULT)
            .map(|s| {
                let own = self.sections.get(s);
                let mut keys: Vec<(&str, &str)> = own
                    .into_iter()
                    .flatten()
                    .map(|(k, (v, _))| (k.as_str(), v.as_str()))
                    .collect();
                for (k, (v, _)) in defaults.into_iter().flatten() {
                    if !own.is_some_and(|m| m.contains_key(k)) {
                        keys.push((k.as_str(), v.as_str()));
                    }
                }
                (s.as_str(), keys)
            })
            .collect()
    }

    /// Every `(section, key, line)` except `[DEFAULT]`'s, in file order of sections.
    pub fn entries(&self) -> Vec<(&str, &str, usize)> {
        let mut out = Vec::new();
        for s in &self.order {
            if let Some(keys) = self.sections.get(s) {
                for (k, (_, line)) in keys {
                    out.push((s.as_str(), k.as_str(), *line));
                }
            }
        }
        out.sort_by_key(|e| e.2);
        out
    }
}

/// `value ; comment` → `value` (a `;` right after whitespace starts a comment).
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b';' && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_configparser_reads() {
        let ini = Ini::parse(
            "# comment\n; comment\n[defaults]\nInventory = ./hosts ; the hosts\nforks: 7\nremote_user=deploy#not a comment\n\
             [ssh_connection]\nssh_args = -o ControlPersist=60s\n    -o ServerAliveInterval=5\ncontrol_path = %%(directory)s/%%%%h\n\
             [DEFAULT]\nbase = /srv\n[paths]\nroles = %(base)s/roles\n",
        )
        .expect("parses");
        let get = |s, k| ini.get(s, k).map(|v| v.0.to_string());
        assert_eq!(get("defaults", "inventory").as_deref(), Some("./hosts"));
        assert_eq!(get("defaults", "forks").as_deref(), Some("7"));
        assert_eq!(
            get("defaults", "remote_user").as_deref(),
            Some("deploy#not a comment")
        );
        assert_eq!(
            get("ssh_connection", "ssh_args").as_deref(),
            Some("-o ControlPersist=60s\n-o ServerAliveInterval=5")
        );
        // raw=True: no interpolation.
        assert_eq!(
            get("ssh_connection", "control_path").as_deref(),
            Some("%%(directory)s/%%%%h")
        );
        assert_eq!(get("paths", "roles").as_deref(), Some("%(base)s/roles"));
        assert_eq!(get("paths", "base").as_deref(), Some("/srv"));
        assert_eq!(get("defaults", "missing"), None);
    }

    #[test]
    fn refuses_what_configparser_refuses() {
        assert!(Ini::parse("forks = 5\n").is_err());
        assert!(Ini::parse("[defaults]\nforks = 5\nFORKS = 6\n").is_err());
        assert!(Ini::parse("[a]\n[a]\n").is_err());
        let e = Ini::parse("[a]\njust words\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
