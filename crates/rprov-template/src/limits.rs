//! Bounds on what templating may read and produce.
//!
//! A template is code the user wrote, and code can loop: `{{ a ~ a }}` in a
//! variable that a second variable doubles again reaches gigabytes in thirty
//! steps, and a template `src: /dev/zero` never ends. Without bounds the
//! process dies with `memory allocation of … bytes failed` or hangs, and the
//! user never learns which file did it. So every rendered text is written
//! through a [`BoundedWriter`] and every source file is read with
//! [`read_text_file`]; both stop at a size the caller sets (`--max-render-size`
//! on the command line) with an error that names the limit and the flag.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default bound on one rendered template or variable value, and on a
/// source file read for templating: far above any real configuration file,
/// far below what takes a machine down.
pub const DEFAULT_MAX_RENDER_SIZE: usize = 64 * 1024 * 1024;

/// The bound in force. Process-wide, because it belongs to the run (one
/// command-line flag) and lookups and filters, which minijinja calls without
/// any handle on the [`crate::Templater`], must honour it too.
static MAX_RENDER_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_RENDER_SIZE);

/// Sets the bound on rendered text and template sources (`--max-render-size`).
pub fn set_max_render_size(max: usize) {
    MAX_RENDER_SIZE.store(max, Ordering::Relaxed);
}

/// The bound on rendered text and template sources, in bytes.
pub fn max_render_size() -> usize {
    MAX_RENDER_SIZE.load(Ordering::Relaxed)
}

/// The message for a rendered value over the bound.
pub fn too_large(what: &str) -> String {
    format!(
        "{what} is larger than the {} limit on rendered text; {RAISE_HINT}",
        human_size(max_render_size())
    )
}

/// Roughly how many bytes a value takes as text: its strings and one byte
/// per other scalar, key and element. Enough to tell megabytes from
/// gigabytes without serializing.
pub fn approx_size(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) => s.len(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(approx_size)
            .fold(a.len(), usize::saturating_add),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| k.len().saturating_add(approx_size(v)))
            .fold(m.len(), usize::saturating_add),
        _ => 1,
    }
}

/// How a limit is raised, for messages.
pub const RAISE_HINT: &str =
    "raise the limit with --max-render-size BYTES (e.g. 256M) if this is intended";

/// A writer that refuses to hold more than `max` bytes: minijinja stops
/// rendering at the first refused write, before the text is built.
pub struct BoundedWriter {
    out: Vec<u8>,
    max: usize,
    /// Set once a write was refused.
    pub exceeded: bool,
}

impl BoundedWriter {
    /// An empty buffer that holds at most `max` bytes.
    pub fn new(max: usize) -> Self {
        BoundedWriter {
            out: Vec::new(),
            max,
            exceeded: false,
        }
    }

    /// The text written (minijinja writes whole UTF-8 strings).
    pub fn into_string(self) -> String {
        String::from_utf8(self.out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

impl io::Write for BoundedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.max {
            self.exceeded = true;
            return Err(io::Error::other("rendered text too large"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A human size: `64 MiB`, `512 KiB`, `100 bytes`.
pub fn human_size(n: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.trailing_zeros() >= 20 {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n.trailing_zeros() >= 10 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// Parses a size as `--max-render-size` takes it: bytes, or with a suffix
/// `K`, `M`, `G` (powers of 1024; `KiB`, `MB`… are read the same).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = t[digits.len()..].to_ascii_uppercase();
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size: write bytes or a number with K, M or G"))?;
    let mult: usize = match unit.as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("`{s}`: unknown unit, use K, M or G")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Reads a text file that templating uses (a template `src:`, a `lookup('file')`),
/// refusing what is not a regular file (a device such as `/dev/zero` never
/// ends, a FIFO blocks) and stopping at `max` bytes. The error says which.
pub fn read_text_file(path: &Path, max: usize) -> io::Result<String> {
    let buf = read_file(path, max)?;
    String::from_utf8(buf).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not UTF-8 text; use `copy` for binary files",
        )
    })
}

/// The bytes of a file that templating uses, with the checks of
/// [`read_text_file`] but no decoding (for lookups that decrypt or decode
/// themselves).
pub fn read_file(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {kind}; name a regular file"),
        ));
    }
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut buf)?;
    if buf.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is larger than the {} limit; {RAISE_HINT}",
                human_size(max)
            ),
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("x").is_err());
        assert!(parse_size("5T").is_err());
        assert_eq!(human_size(64 << 20), "64 MiB");
        assert_eq!(human_size(100), "100 bytes");
    }

    #[test]
    fn writer_stops_at_the_bound() {
        let mut w = BoundedWriter::new(4);
        assert!(w.write_all(b"abc").is_ok());
        assert!(w.write_all(b"de").is_err());
        assert!(w.exceeded);
        assert_eq!(w.into_string(), "abc");
    }

    #[test]
    fn devices_and_large_files_are_refused() {
        let e = read_text_file(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_text_file(dir.path(), 10).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let p = dir.path().join("big");
        std::fs::write(&p, "x".repeat(11)).unwrap();
        let e = read_text_file(&p, 10).unwrap_err();
        assert!(
            e.to_string().contains("larger than the 10 bytes limit"),
            "{e}"
        );
        assert!(e.to_string().contains("--max-render-size"), "{e}");
        assert_eq!(read_text_file(&p, 11).unwrap().len(), 11);
    }
}
