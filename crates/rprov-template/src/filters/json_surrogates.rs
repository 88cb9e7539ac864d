//! JSON text whose strings hold a lone UTF-16 surrogate (`"\udc80"`), which
//! Python's `json.loads` accepts and a Rust string cannot hold.
//!
//! ansible-core 2.19 refuses such a string where it deserializes
//! (`from_json` included) unless `MODULE_STRICT_UTF8_RESPONSE` is off; then
//! the string keeps the surrogate, which its output prints as `?`. rprov
//! does the same: refused in ansible-core's words, or read with `?` in its
//! place.

use std::sync::atomic::{AtomicBool, Ordering};

static STRICT: AtomicBool = AtomicBool::new(true);

/// ansible.cfg's `module_strict_utf8_response` (`ANSIBLE_MODULE_STRICT_UTF8_RESPONSE`).
pub fn set_strict(on: bool) {
    STRICT.store(on, Ordering::Relaxed);
}

fn strict() -> bool {
    STRICT.load(Ordering::Relaxed)
}

/// ansible-core's help for the refusal.
pub const HELP: &str = "This check can be disabled with the `MODULE_STRICT_UTF8_RESPONSE` setting.";

/// A lone surrogate found in a JSON string: its code unit, where it is
/// (counted in characters of the decoded string: Python's index), and the
/// byte range of its `\uXXXX` escape in the JSON text.
#[derive(Debug, PartialEq)]
struct Lone {
    unit: u16,
    at: usize,
    span: (usize, usize),
}

/// `text` ready for a JSON parser: unchanged when no string holds a lone
/// surrogate; else ansible-core's refusal (the strict default), or the
/// text with each lone surrogate's escape made `?`.
pub fn prepare(text: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let lones = find(text);
    let Some(first) = lones.first() else {
        return Ok(std::borrow::Cow::Borrowed(text));
    };
    if strict() {
        // Python names a run of them together.
        let run = 1 + lones
            .windows(2)
            .take_while(|w| w[1].at == w[0].at + 1 && w[1].span.0 == w[0].span.1)
            .count();
        let what = match run {
            1 => format!("character '\\u{:04x}' in position {}", first.unit, first.at),
            n => format!("characters in position {}-{}", first.at, first.at + n - 1),
        };
        return Err(format!(
            "Refusing to deserialize an invalid UTF8 string value: 'utf-8' codec can't encode {what}: surrogates not allowed"
        ));
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for l in &lones {
        out.push_str(&text[last..l.span.0]);
        out.push('?');
        last = l.span.1;
    }
    out.push_str(&text[last..]);
    Ok(std::borrow::Cow::Owned(out))
}

/// Every lone surrogate escape inside the JSON strings of `text`.
fn find(text: &str) -> Vec<Lone> {
    let b = text.as_bytes();
    let mut found: Vec<Lone> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        // A string: count its decoded characters as Python would.
        i += 1;
        let mut chars = 0usize;
        while i < b.len() && b[i] != b'"' {
            if b[i] != b'\\' {
                // One character, whatever its UTF-8 length.
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                i += len;
                chars += 1;
                continue;
            }
            match (b.get(i + 1), unit_at(b, i)) {
                (Some(b'u'), Some(u)) if (0xD800..0xDC00).contains(&u) => match unit_at(b, i + 6) {
                    Some(low) if (0xDC00..0xE000).contains(&low) => {
                        i += 12;
                    }
                    _ => {
                        found.push(Lone {
                            unit: u,
                            at: chars,
                            span: (i, i + 6),
                        });
                        i += 6;
                    }
                },
                (Some(b'u'), Some(u)) if (0xDC00..0xE000).contains(&u) => {
                    found.push(Lone {
                        unit: u,
                        at: chars,
                        span: (i, i + 6),
                    });
                    i += 6;
                }
                (Some(b'u'), Some(_)) => i += 6,
                _ => i += 2,
            }
            chars += 1;
        }
        i += 1;
    }
    found
}

/// The code unit of a `\uXXXX` escape starting at `i`, if it is one.
fn unit_at(b: &[u8], i: usize) -> Option<u16> {
    if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
        return None;
    }
    let hex = std::str::from_utf8(b.get(i + 2..i + 6)?).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lone_surrogates_where_python_counts_them() {
        let l = find(r#"["x", "hi \udc80 mom"]"#);
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].unit, l[0].at), (0xdc80, 3));
        // A pair is one character; escapes and multi-byte text count one each.
        let l = find(r#""\ud83d\ude00é\n\ud800""#);
        assert_eq!((l[0].unit, l[0].at), (0xd800, 3));
        assert!(find(r#"{"a": "\ud83d\ude00 \u00e9 \\udc80"}"#).is_empty());
    }

    #[test]
    fn strict_refuses_in_ansible_cores_words_and_lax_reads_a_question_mark() {
        let text = r#""hi \udc80 mom""#;
        set_strict(true);
        let e = prepare(text).unwrap_err();
        assert_eq!(
            e,
            "Refusing to deserialize an invalid UTF8 string value: 'utf-8' codec can't encode character '\\udc80' in position 3: surrogates not allowed"
        );
        let e = prepare(r#""ab\udc80\udc81""#).unwrap_err();
        assert!(e.contains("characters in position 2-3"), "{e}");
        set_strict(false);
        assert_eq!(prepare(text).unwrap(), r#""hi ? mom""#);
        set_strict(true);
        assert_eq!(prepare(r#""plain""#).unwrap(), r#""plain""#);
    }
}
