//! `password`: a random password kept in a controller file, as ansible-core's
//! lookup of that name.
//!
//! The term is a path with optional `key=value` options (`length`, `chars`,
//! `seed`; also given as the lookup's keyword arguments). A file that exists is
//! read (its first line's password, before any ` salt=`); otherwise a password
//! is generated and written there (directories `0700`, the file `0600`), except
//! for `/dev/null`, which gives a new password every time. A relative path is
//! relative to the playbook's directory.
//!
//! Where rprov does more than ansible-core: the file is written to a temporary
//! name and linked into place only if it is still absent, so two hosts (or two
//! runs) asking at once agree on one password and nobody reads a torn file.
//!
//! `seed` gives what ansible-core gives for it: Python's `random.Random(seed)`
//! and its `choice` (the generator of the `random` filter), so a playbook that derives its passwords from a seed gets the same
//! passwords after the move to rprov. `encrypt` (passlib's hashes) is refused:
//! hash the plain password with the `password_hash` filter instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};

use super::lookup_error;
use crate::filters::random::PyRandom;

const OPTIONS: &[&str] = &["length", "encrypt", "chars", "ident", "seed"];
const DEFAULT_LENGTH: usize = 20;

/// One password file made at a time in this process: the hosts of a run
/// render their tasks in parallel.
static WRITING: Mutex<()> = Mutex::new(());

pub(super) fn run(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut direct: Vec<(String, Value)> = Vec::new();
    for name in OPTIONS {
        if let Some(v) = kwargs.get::<Option<Value>>(name)? {
            direct.push((name.to_string(), v));
        }
    }
    let mut out = Vec::new();
    for term in terms {
        let text = term
            .as_str()
            .map_or_else(|| term.to_string(), str::to_string);
        let (relpath, mut given) = parse_term(&text)?;
        given.splice(0..0, direct.iter().cloned());
        let opts = Options::from(&given)?;
        let path = match Path::new(&relpath) {
            p if p.is_absolute() => p.to_path_buf(),
            p => playbook_dir(state).join(p),
        };
        out.push(Value::from(password_at(&path, &opts)?));
    }
    Ok(out)
}

fn fail(msg: impl std::fmt::Display) -> Error {
    lookup_error("password", msg)
}

/// The path and the `key=value` options of a term, as ansible-core's
/// `_parse_parameters`: the path ends at the first space unless what follows
/// is not an option (a path with spaces).
fn parse_term(term: &str) -> Result<(String, Vec<(String, Value)>), Error> {
    let Some((first, rest)) = term.split_once(' ') else {
        return Ok((term.to_string(), Vec::new()));
    };
    let mut params = crate::kv::parse_free_form(rest, false);
    let mut relpath = first.to_string();
    if let Some(raw) = params.remove("_raw_params") {
        relpath = format!("{relpath} {}", raw.as_str().unwrap_or_default());
        if !term.starts_with(&relpath) {
            return Err(fail(
                "Unrecognized value after key=value parameters given to password lookup",
            ));
        }
    }
    let mut unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !OPTIONS.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(fail(format!(
            "Unrecognized parameter(s) given to password lookup: {}",
            unknown.join(", ")
        )));
    }
    let given = params
        .into_iter()
        .map(|(k, v)| (k, crate::convert::to_value(&v)))
        .collect();
    Ok((relpath, given))
}

struct Options {
    length: usize,
    chars: Vec<char>,
    seed: Option<String>,
}

impl Options {
    /// The options from what was given, the last value of a name winning.
    fn from(given: &[(String, Value)]) -> Result<Options, Error> {
        let get = |name: &str| given.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        if get("encrypt").is_some_and(|v| v.is_true()) {
            return Err(fail(
                "`encrypt` is not supported by rprov: take the plain password and hash it with the `password_hash` filter",
            ));
        }
        let length = match get("length") {
            None => DEFAULT_LENGTH,
            Some(v) => text(v).trim().parse::<usize>().map_err(|_| {
                fail(format!(
                    "Invalid type for configuration option 'length': '{}' is not a whole number",
                    text(v)
                ))
            })?,
        };
        let specs: Vec<String> = match get("chars") {
            None => vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
            Some(v) if v.as_str().is_some() => {
                // A comma-separated string; `,,` stands for a comma.
                let s = text(v);
                let mut specs = Vec::new();
                if s.contains(",,") {
                    specs.push(",".to_string());
                }
                specs.extend(
                    s.replace(",,", ",")
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
                specs
            }
            Some(v) => v.try_iter()?.map(|c| text(&c)).collect(),
        };
        let chars: Vec<char> = specs
            .iter()
            .flat_map(|s| char_set(s).chars().collect::<Vec<_>>())
            .filter(|c| *c != '"' && *c != '\'')
            .collect();
        if chars.is_empty() && length > 0 {
            return Err(fail("`chars` leaves no character to choose from"));
        }
        Ok(Options {
            length,
            chars,
            seed: get("seed").filter(|v| !v.is_none()).map(text),
        })
    }
}

/// Python's `string` constant of that name, or the text itself.
fn char_set(spec: &str) -> String {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCTUATION: &str = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    const WHITESPACE: &str = " \t\n\r\x0b\x0c";
    match spec {
        "ascii_letters" => format!("{LOWER}{UPPER}"),
        "ascii_lowercase" => LOWER.into(),
        "ascii_uppercase" => UPPER.into(),
        "digits" => DIGITS.into(),
        "hexdigits" => "0123456789abcdefABCDEF".into(),
        "octdigits" => "01234567".into(),
        "punctuation" => PUNCTUATION.into(),
        "whitespace" => WHITESPACE.into(),
        "printable" => format!("{DIGITS}{LOWER}{UPPER}{PUNCTUATION}{WHITESPACE}"),
        other => other.into(),
    }
}

fn playbook_dir(state: &State) -> PathBuf {
    state
        .lookup("playbook_dir")
        .filter(|v| !v.is_undefined() && !v.is_none())
        .map_or_else(|| PathBuf::from("."), |v| PathBuf::from(v.to_string()))
}

/// The password kept at `path`, made and written there when it is absent.
fn password_at(path: &Path, opts: &Options) -> Result<String, Error> {
    if path == Path::new("/dev/null") {
        return generate(opts);
    }
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(kept) = read(path)? {
        return Ok(kept);
    }
    let password = generate(opts)?;
    match write_new(path, &password) {
        Ok(()) => Ok(password),
        // Another run made it meanwhile: its password is the one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path)?
            .ok_or_else(|| fail(format!("{}: vanished while being read", path.display()))),
        Err(e) => Err(fail(format!("writing {}: {e}", path.display()))),
    }
}

/// The password in the file, without a ` salt=…` part; `None` when there is
/// no file.
fn read(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim_end();
            let password = match text.rfind(" salt=") {
                Some(at) => &text[..at],
                None => text,
            };
            Ok(Some(password.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(format!("reading {}: {e}", path.display()))),
    }
}

/// Writes `password` to a new file at `path`, whole or not at all; fails
/// with `AlreadyExists` when a file is there already.
fn write_new(path: &Path, password: &str) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // Made 0600 by tempfile, and removed unless linked into place.
    let mut tmp = tempfile::Builder::new()
        .prefix(".rprov-password.")
        .tempfile_in(dir)?;
    tmp.write_all(format!("{password}\n").as_bytes())?;
    tmp.as_file().sync_all()?;
    // A hard link never replaces a file that is there.
    std::fs::hard_link(tmp.path(), path)
}

fn generate(opts: &Options) -> Result<String, Error> {
    let n = opts.chars.len();
    let mut out = String::with_capacity(opts.length);
    match &opts.seed {
        Some(seed) => {
            // `choice` of `random.Random(seed)`, as ansible-core draws.
            let mut mt = PyRandom::from_str_seed(seed);
            for _ in 0..opts.length {
                out.push(opts.chars[mt.below(n as u128) as usize]);
            }
        }
        None => {
            let mut random = std::fs::File::open("/dev/urandom")
                .map_err(|e| fail(format!("/dev/urandom: {e}")))?;
            for _ in 0..opts.length {
                out.push(opts.chars[uniform_below(&mut random, n)?]);
            }
        }
    }
    Ok(out)
}

/// A uniform index below `n` from the system's randomness (rejection
/// sampling, so no character is likelier than another).
fn uniform_below(random: &mut std::fs::File, n: usize) -> Result<usize, Error> {
    use std::io::Read as _;
    let bound = u32::try_from(n).map_err(|_| fail("too many characters"))?;
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut b = [0u8; 4];
        random
            .read_exact(&mut b)
            .map_err(|e| fail(format!("/dev/urandom: {e}")))?;
        let r = u32::from_le_bytes(b);
        if r < zone {
            return Ok((r % bound) as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(chars: &str, length: usize, seed: Option<&str>) -> Options {
        Options {
            length,
            chars: chars.chars().collect(),
            seed: seed.map(str::to_string),
        }
    }

    /// Reference values from CPython 3.11:
    /// `''.join(random.Random(seed).choice(chars) for _ in range(n))`.
    #[test]
    fn a_seed_gives_pythons_password() {
        let default = format!("{}{}", char_set("ascii_letters"), "0123456789.,:-_");
        for (seed, chars, n, want) in PYTHON_VECTORS {
            let chars = if chars.is_empty() { &default } else { *chars };
            assert_eq!(
                generate(&opts(chars, *n, Some(seed))).expect("generates"),
                *want,
                "seed {seed:?}"
            );
        }
    }

    #[test]
    fn terms_split_into_a_path_and_options() {
        let (p, o) = parse_term("creds/db length=8 chars=digits").expect("parses");
        assert_eq!(p, "creds/db");
        assert_eq!(o.len(), 2);
        assert!(parse_term("creds/db lenght=8").is_err());
        let (p, o) = parse_term("/tmp/with space").expect("parses");
        assert_eq!((p.as_str(), o.len()), ("/tmp/with space", 0));
    }

    #[test]
    fn the_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/pw");
        let o = opts("ab", 12, None);
        let first = password_at(&path, &o).expect("made");
        assert_eq!(first.len(), 12);
        assert!(first.chars().all(|c| c == 'a' || c == 'b'));
        assert_eq!(password_at(&path, &o).expect("read"), first);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("sub")), 0o700);
        std::fs::write(&path, "kept salt=abcdefgh\n").expect("write");
        assert_eq!(password_at(&path, &o).expect("read"), "kept");
        let leftovers = std::fs::read_dir(dir.path().join("sub"))
            .expect("ls")
            .count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }

    const PYTHON_VECTORS: &[(&str, &str, usize, &str)] = &[
        ("web1", "", 20, "PHReYru8meWgwuf2LQh8"),
        ("inventory_hostname", "", 30, "Jk2TQqdwkMnt-OlFy4Zk63q_47M3Fu"),
        ("", "", 10, "6AXCRaPUg6"),
        ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "", 16, "wPCVPeqncGQu7ArH"),
        ("héllo", "0123456789", 12, "041403025653"),
        ("db", "ab", 25, "baaaabaabbabababbbbaaabab"),
    ];
}
