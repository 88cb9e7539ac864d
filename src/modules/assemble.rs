//! `assemble`: one file made of the fragments in a directory, as
//! ansible-core's `assemble` module and action.
//!
//! The fragments are the regular files of `src` (links followed; not its
//! subdirectories), in the order of their names, those whose name the
//! Python regular expression `regexp` finds (`re.search`), dot files left
//! out with `ignore_hidden`. A fragment that does not end with a line
//! break gets one before the next; `delimiter` (with Python's escapes, `\n`
//! and the like, decoded) goes between fragments, followed by a line break
//! when it has none. The result is written to `dest` as `copy` writes
//! (atomically, `validate`, `backup`, owner, group and mode), and only when
//! it differs, so a second run changes nothing and `--check` shows the
//! diff.
//!
//! With `remote_src: true` (the default) the fragments are on the host:
//! one probe lists them, a second reads them (each at most 1 MiB, the
//! probe's limit). With `remote_src: false` they are the controller's,
//! found as `copy` finds `src` (the role's and the playbook's `files/`), and
//! vault-encrypted ones are decrypted (`decrypt`, default true).

use serde_json::{json, Value as Json};

use super::change::Read;
use super::copy::{decrypt_source, is_vault_file, put, NewContent, Put};
use super::files::Attrs;
use super::mode::Mode;
use super::sysargs::both;
use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};
use crate::probe::FileKind;

module_args! {
    /// `assemble`'s arguments. `attributes`, `unsafe_writes` and the
    /// SELinux ones are taken and have no effect, as before.
    pub struct Args {
        /// The directory of fragments.
        src: String ["src"],
        dest: String ["dest"],
        /// Between fragments, with Python's escapes (`\n`) decoded.
        delimiter: Option<String> ["delimiter"],
        /// A Python regular expression the fragments' names must match.
        regexp: Option<String> ["regexp"],
        ignore_hidden: bool ["ignore_hidden"] = false,
        /// The fragments are on the host (Ansible's default), not the controller.
        remote_src: bool ["remote_src"] = true,
        decrypt: bool ["decrypt"] = true,
        backup: bool ["backup"] = false,
        validate: Option<String> ["validate"],
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        _unsafe_writes: bool ["unsafe_writes"] = false,
        _setype: Option<String> ["setype"],
        _seuser: Option<String> ["seuser"],
        _serole: Option<String> ["serole"],
        _selevel: Option<String> ["selevel"],
        _attributes: Option<Json> ["attributes", "attr"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let src = args.src;
    let regexp = match &args.regexp {
        Some(r) => Some(fancy_regex::Regex::new(r).map_err(|e| {
            PlanError::Fail(format!(
                "Invalid Regexp ({}) in \"{r}\"",
                rprov_template::filters::regex::python_words(&e)
            ))
        })?),
        None => None,
    };
    if let Some(v) = &args.validate {
        if !v.contains("%s") {
            return Err(PlanError::Fail(format!("validate must contain %s: {v}")));
        }
    }
    let ignore_hidden = args.ignore_hidden;
    let keep = |name: &str| -> Result<bool, PlanError> {
        if ignore_hidden && name.starts_with('.') {
            return Ok(false);
        }
        match &regexp {
            None => Ok(true),
            Some(re) => re
                .is_match(name)
                .map_err(|e| PlanError::Fail(format!("regexp: {e}"))),
        }
    };
    let fragments = if args.remote_src {
        host_fragments(cx, &src, &keep)?
    } else {
        controller_fragments(cx, &src, &keep, args.decrypt)?
    };
    let delimiter = args.delimiter.as_deref().map(py_unescape);
    let bytes = join(&fragments, delimiter.as_deref());
    // Always written when it differs: assemble has no `force`.
    let how = Put {
        attrs: Attrs::new(args.owner, args.group, args.mode),
        force: true,
        validate: args.validate,
        backup: args.backup,
        src: Some(src.clone()),
        follow: false,
    };
    let mut decision = put(cx, &args.dest, NewContent::Bytes(bytes), None, None, how)?;
    if let Some(result) = decision.result_mut() {
        result.insert("src".into(), json!(src));
        result.insert("state".into(), json!("file"));
        result.insert("msg".into(), json!("OK"));
    }
    Ok(decision)
}

/// The fragments in `src` on the host, by name.
fn host_fragments(
    cx: &PlanCx,
    src: &str,
    keep: &dyn Fn(&str) -> Result<bool, PlanError>,
) -> Result<Vec<Vec<u8>>, PlanError> {
    let list = Read::Output(
        [
            "find",
            "-L",
            src,
            "-mindepth",
            "1",
            "-maxdepth",
            "1",
            "-type",
            "f",
            "-printf",
            "%f\\n",
        ]
        .map(String::from)
        .to_vec(),
    );
    let (st, names) = both(cx.file(src, true), cx.ask_about(src, list))?;
    match st.kind {
        FileKind::Missing => {
            return Err(PlanError::Missing(format!("Source ({src}) does not exist")))
        }
        FileKind::Directory => {}
        _ => {
            return Err(PlanError::Fail(format!(
                "Source ({src}) is not a directory"
            )))
        }
    }
    let mut kept = Vec::new();
    for name in names.lines() {
        if keep(name)? {
            kept.push(name);
        }
    }
    let mut names = kept;
    names.sort_unstable();
    let paths: Vec<String> = names
        .iter()
        .map(|n| format!("{}/{n}", src.trim_end_matches('/')))
        .collect();
    cx.contents(&paths)?
        .into_iter()
        .zip(&paths)
        .map(|(c, p)| {
            c.ok_or_else(|| {
                PlanError::Fail(format!(
                    "cannot read fragment {p}: unreadable, or larger than the 1 MiB rprov reads"
                ))
            })
        })
        .collect()
}

/// The fragments in `src` on the controller, by name.
fn controller_fragments(
    cx: &PlanCx,
    src: &str,
    keep: &dyn Fn(&str) -> Result<bool, PlanError>,
    decrypt: bool,
) -> Result<Vec<Vec<u8>>, PlanError> {
    let dir = cx.search.find("files", src)?;
    if !dir.is_dir() {
        return Err(PlanError::Fail(format!(
            "Source ({src}) is not a directory"
        )));
    }
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| PlanError::Fail(format!("cannot list {}: {e}", dir.display())))?;
    let mut names = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep(&name)? && dir.join(&name).is_file() {
            names.push(name);
        }
    }
    names.sort_unstable();
    names
        .iter()
        .map(|n| {
            let path = dir.join(n);
            let bytes = std::fs::read(&path)
                .map_err(|e| PlanError::Fail(format!("cannot read {}: {e}", path.display())))?;
            if decrypt && is_vault_file(&bytes) {
                decrypt_source(cx, &path.display().to_string(), &bytes)
            } else {
                Ok(bytes)
            }
        })
        .collect()
}

/// The fragments joined as ansible-core's `assemble_from_fragments` joins
/// them.
fn join(fragments: &[Vec<u8>], delimiter: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in fragments.iter().enumerate() {
        if i > 0 {
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            if let Some(d) = delimiter.filter(|d| !d.is_empty()) {
                out.extend_from_slice(d);
                if !d.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
        }
        out.extend_from_slice(f);
    }
    out
}

/// Python's `codecs.escape_decode` of a text: `\n`, `\t`, `\\`, `\xhh`,
/// octal `\ooo` and the other escapes of a bytes literal; an unknown escape
/// is kept as written.
fn py_unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => match s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.extend_from_slice(b"\\x"),
            },
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected bytes are what ansible-core 2.19's `assemble_from_fragments`
    /// writes for the same fragments.
    #[test]
    fn joins_as_ansible() {
        let f = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(join(&f(&["a\n", "b\n"]), None), b"a\nb\n");
        // A fragment without a final line break gets one before the next,
        // not after the last.
        assert_eq!(join(&f(&["a", "b"]), None), b"a\nb");
        assert_eq!(
            join(&f(&["a\n", "b", "c\n"]), Some(b"#--")),
            b"a\n#--\nb\n#--\nc\n"
        );
        assert_eq!(join(&f(&["a", "b"]), Some(b"--\n")), b"a\n--\nb");
        assert_eq!(join(&f(&["only"]), Some(b"--")), b"only");
        assert_eq!(join(&[], Some(b"--")), b"");
    }

    #[test]
    fn delimiter_escapes_are_pythons() {
        assert_eq!(py_unescape(r"a\nb"), b"a\nb");
        assert_eq!(py_unescape(r"\t\\\x41\101\q"), b"\t\\AA\\q");
        assert_eq!(py_unescape("#--- delimiter ---#"), b"#--- delimiter ---#");
        assert_eq!(py_unescape(r"end\"), b"end\\");
    }
}
