//! `template`'s `output_encoding`: the rendered text written in another
//! character set, as ansible-core writes it with Python's codecs (strictly:
//! a character the set cannot hold fails the task, never a `?`).
//!
//! Python's names are taken for UTF-8, Latin-1 (code points 0–255 as
//! bytes) and ASCII; every other name is looked up in the WHATWG Encoding
//! Standard's labels (`windows-1252`, `cp1252`, `iso-8859-15`, `koi8-r`,
//! `shift_jis`, …). A label WHATWG can only decode (UTF-16, `replacement`)
//! is refused.

/// A character set a template can be written in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutputEncoding {
    Utf8,
    Latin1,
    Ascii,
    Other(&'static encoding_rs::Encoding),
}

impl OutputEncoding {
    /// The encoding `label` names (Python's spelling, any case, `_` for
    /// `-`); the empty label is UTF-8, as ansible-core's default.
    pub fn parse(label: &str) -> Option<OutputEncoding> {
        let name = label.trim().to_ascii_lowercase().replace('_', "-");
        match name.as_str() {
            "" | "utf-8" | "utf8" | "u8" => Some(OutputEncoding::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => {
                Some(OutputEncoding::Latin1)
            }
            "ascii" | "us-ascii" => Some(OutputEncoding::Ascii),
            _ => {
                let enc = encoding_rs::Encoding::for_label(name.as_bytes())?;
                (enc.output_encoding() == enc && enc != encoding_rs::UTF_8)
                    .then_some(OutputEncoding::Other(enc))
            }
        }
    }

    /// `text` in this encoding, or which character it cannot hold.
    pub fn encode(self, text: &str, label: &str) -> Result<Vec<u8>, String> {
        let unmappable = |c: char| {
            format!("`output_encoding: {label}` cannot hold the character {c:?} (U+{:04X}) of the rendered template", c as u32)
        };
        let below = |max: u32| -> Result<Vec<u8>, String> {
            text.chars()
                .map(|c| {
                    u8::try_from(c as u32)
                        .ok()
                        .filter(|&b| u32::from(b) <= max)
                        .ok_or_else(|| unmappable(c))
                })
                .collect()
        };
        match self {
            OutputEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
            OutputEncoding::Latin1 => below(0xff),
            OutputEncoding::Ascii => below(0x7f),
            OutputEncoding::Other(enc) => {
                let (bytes, _, lossy) = enc.encode(text);
                if !lossy {
                    return Ok(bytes.into_owned());
                }
                // Name the first character the set lacks.
                let bad = text
                    .chars()
                    .find(|c| enc.encode(c.encode_utf8(&mut [0; 4])).2)
                    .unwrap_or('\u{fffd}');
                Err(unmappable(bad))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes Python 3 gives for `"€ä".encode(name)`.
    #[test]
    fn encodes_as_python_does() {
        let enc = |label: &str| OutputEncoding::parse(label).unwrap().encode("€ä", label);
        assert_eq!(enc("windows-1252").unwrap(), [0x80, 0xe4]);
        assert_eq!(enc("CP1252").unwrap(), [0x80, 0xe4]);
        assert_eq!(enc("utf_8").unwrap(), "€ä".as_bytes());
        assert_eq!(enc("iso-8859-15").unwrap(), [0xa4, 0xe4]);
        let err = enc("latin-1").unwrap_err();
        assert!(err.contains("U+20AC"), "{err}");
        assert_eq!(
            OutputEncoding::Latin1.encode("ä", "latin-1").unwrap(),
            [0xe4]
        );
        assert!(OutputEncoding::Ascii.encode("ä", "ascii").is_err());
        assert!(OutputEncoding::parse("").is_some());
        assert!(OutputEncoding::parse("utf-16").is_none());
        assert!(OutputEncoding::parse("klingon").is_none());
    }
}
