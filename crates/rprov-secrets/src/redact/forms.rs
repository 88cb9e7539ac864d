//! The forms a secret takes once it has been escaped or encoded on its way to
//! the output.
//!
//! Why: a secret rarely reaches the terminal as the exact text it was stored as.
//! A template writes it into a JSON or YAML file (escaped), a task passes it
//! through `b64encode`, `urlencode` or `quote`, and `-v` prints results as JSON.
//! Masking only the stored text would let `p\"a\\ss` through. Each function here
//! mirrors one encoder rprov (or the Ansible filters it implements) uses, so the
//! masker can look for every form in the same single pass.
//!
//! Base64 is the subtle one: inside a longer encoded string (`user:pass` in an
//! HTTP Basic header) the secret starts at byte offset 0, 1 or 2 modulo 3, and
//! each offset gives different characters. For each offset we keep only the
//! characters that depend on the secret's bytes alone.

use base64::Engine as _;

/// Every derived form of `s` (the text itself included), unordered, possibly
/// with duplicates.
pub(super) fn derived(s: &str) -> Vec<String> {
    let mut out = vec![s.to_owned()];
    // Jinja's `upper`, `lower` and `capitalize` (a template that writes a
    // token in capitals still writes the token).
    out.push(s.to_uppercase());
    out.push(s.to_lowercase());
    out.push(capitalized(s));
    out.push(json_escaped(s, Ascii::Keep));
    out.push(json_escaped(s, Ascii::Escape));
    out.push(json_html_safe(s));
    out.push(yaml_double_quoted(s, Ascii::Keep));
    out.push(yaml_double_quoted(s, Ascii::Escape));
    out.push(s.replace('\'', "''"));
    out.push(s.replace('\'', "'\"'\"'"));
    out.push(s.replace('\'', "'\\''"));
    for set in &URL_SETS {
        out.push(percent_encoded(s, set));
    }
    out.extend(base64_forms(s.as_bytes()));
    out
}

/// Jinja's `capitalize`: the first character upper case, the rest lower.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

#[derive(Clone, Copy)]
enum Ascii {
    /// Non-ASCII characters are written as they are.
    Keep,
    /// Non-ASCII characters are escaped (`\u00e9` in JSON, `\xE9` in YAML).
    Escape,
}

/// The inside of a JSON string literal: serde_json's escapes, which are
/// Python's `json.dumps` (and rprov's `to_json`) with `ensure_ascii=False`;
/// with [`Ascii::Escape`], non-ASCII as lowercase `\uXXXX` UTF-16 units as
/// `json.dumps` does by default.
fn json_escaped(s: &str, ascii: Ascii) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted);
    match ascii {
        Ascii::Keep => inner.to_owned(),
        Ascii::Escape => {
            let mut out = String::with_capacity(inner.len());
            for c in inner.chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
            out
        }
    }
}

/// minijinja's `tojson`: JSON with `<`, `>`, `&` and `'` also escaped.
fn json_html_safe(s: &str) -> String {
    json_escaped(s, Ascii::Keep)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027")
}

/// The inside of a YAML double-quoted scalar as rprov's `to_yaml` writes it
/// (`\"`, `\\`, `\n`, `\t`, `\r`, `\xNN` for other control characters); with
/// [`Ascii::Escape`], non-ASCII as PyYAML writes it without `allow_unicode`.
fn yaml_double_quoted(s: &str, ascii: Ascii) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if matches!(ascii, Ascii::Escape) && !c.is_ascii() => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Which ASCII punctuation a URL encoder leaves alone, and whether it writes a
/// space as `+`.
struct UrlSet {
    keep: &'static str,
    plus_for_space: bool,
}

const URL_SETS: [UrlSet; 4] = [
    // RFC 3986 unreserved; Python's `quote(s, safe='')`.
    UrlSet {
        keep: "-._~",
        plus_for_space: false,
    },
    // Python's `quote(s)` (Ansible's `urlencode` on a string).
    UrlSet {
        keep: "-._~/",
        plus_for_space: false,
    },
    // minijinja's `urlencode`.
    UrlSet {
        keep: "-._/",
        plus_for_space: false,
    },
    // HTML forms (`application/x-www-form-urlencoded`), `quote_plus`.
    UrlSet {
        keep: "-._~*",
        plus_for_space: true,
    },
];

/// Percent-encodes the UTF-8 bytes of `s` that `set` does not keep (uppercase hex).
fn percent_encoded(s: &str, set: &UrlSet) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let c = char::from(b);
        if b.is_ascii_alphanumeric() || (b.is_ascii() && set.keep.contains(c)) {
            out.push(c);
        } else if b == b' ' && set.plus_for_space {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The standard base64 of `bytes` with padding, and for each byte offset 0, 1
/// and 2 the characters that encode only the secret's bits, in the standard
/// and the URL-safe alphabet.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut out = vec![base64::engine::general_purpose::STANDARD.encode(bytes)];
    for offset in 0..3usize {
        let mut buf = vec![0u8; offset];
        buf.extend_from_slice(bytes);
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&buf);
        // Character i holds bits 6i..6i+6; the first `8 * offset` bits are not ours.
        let start = (8 * offset).div_ceil(6);
        let end = (8 * buf.len()) / 6;
        if let Some(fragment) = enc.get(start..end) {
            out.push(fragment.to_owned());
            out.push(fragment.replace('+', "-").replace('/', "_"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = "p\"a\\ss'w{rd\tæøå";

    #[test]
    fn json_forms_match_serde_and_python() {
        let forms = derived(NASTY);
        let serde = serde_json::to_string(NASTY).unwrap();
        assert!(forms.contains(&serde[1..serde.len() - 1].to_string()));
        assert!(forms.contains(&r#"p\"a\\ss'w{rd\t\u00e6\u00f8\u00e5"#.to_string()));
        assert!(forms.contains(&r#"p\"a\\ss\u0027w{rd\tæøå"#.to_string()));
    }

    #[test]
    fn yaml_and_shell_forms() {
        let forms = derived(NASTY);
        assert!(forms.contains(&r#"p\"a\\ss'w{rd\tæøå"#.to_string()));
        assert!(forms.contains(&r#"p\"a\\ss'w{rd\t\xE6\xF8\xE5"#.to_string()));
        assert!(forms.contains(&"p\"a\\ss''w{rd\tæøå".to_string()));
        assert!(forms.contains(&"p\"a\\ss'\"'\"'w{rd\tæøå".to_string()));
    }

    #[test]
    fn case_forms_of_jinja_filters() {
        let forms = derived("hUnter2-Pass");
        for want in ["HUNTER2-PASS", "hunter2-pass", "Hunter2-pass"] {
            assert!(forms.contains(&want.to_string()), "{want} in {forms:?}");
        }
    }

    #[test]
    fn url_forms() {
        let forms = derived("a b/c~é");
        for want in [
            "a%20b%2Fc~%C3%A9",
            "a%20b/c~%C3%A9",
            "a%20b/c%7E%C3%A9",
            "a+b%2Fc~%C3%A9",
        ] {
            assert!(forms.contains(&want.to_string()), "{want} in {forms:?}");
        }
    }

    #[test]
    fn base64_fragments_are_found_at_every_offset() {
        let secret = "hunter2-pass";
        let forms = derived(secret);
        for prefix in ["", "u", "us", "user:", "admin:", "x:"] {
            let enc =
                base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{secret}!"));
            assert!(
                forms
                    .iter()
                    .filter(|f| f.len() >= 8)
                    .any(|f| enc.contains(f.as_str())),
                "no fragment of {secret} found in base64 of {prefix}{secret}!: {enc}"
            );
        }
    }
}
