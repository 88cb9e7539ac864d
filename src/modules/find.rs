//! `find`: the files under directories that meet every criterion given, as
//! ansible-core's `find` module returns them.
//!
//! The host has no Python, so the walk is split: one read-only probe runs
//! GNU `find` over each of `paths` (no deeper than `recurse`/`depth` can
//! reach) and prints every entry with its `lstat` fields, NUL-separated;
//! the controller then replays Python's `os.walk` over that listing (each
//! directory's entries in the order the host lists them, files before
//! directories, top-down), so `examined`, `limit`, `depth` and the order of
//! `files` come out as ansible-core's do. Name patterns (`fnmatch` or a
//! Python regular expression, `re.match`), `age`, `size`, `hidden` and
//! `mode` are matched on the controller. Only `contains` and
//! `get_checksum` need the files' bytes: a second probe, for the candidates
//! alone, decodes each with `iconv` (`encoding`, UTF-8 by default) and
//! matches it with `grep -P` (Perl-compatible, the nearest the host has to
//! Python's `re`), and hashes it with `{algorithm}sum`.
//!
//! It never changes anything: `Decision::Ok`, in check mode too.

use std::collections::HashMap;

use rprov_template::filters::path::{fnmatch, normpath_str};
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::args::py_repr;
use super::change::Read;
use super::mode::Mode;
use super::stat::Algorithm;
use super::typed::{choice, module_args};
use super::{Decision, PlanCx, PlanError};

choice! {
    /// What kind of entry `file_type` selects.
    pub enum FileType {
        Any = "any",
        Directory = "directory",
        File = "file",
        Link = "link",
    }
}

choice! {
    /// The time `age` is measured from.
    pub enum AgeStamp {
        Atime = "atime",
        Ctime = "ctime",
        Mtime = "mtime",
    }
}

module_args! {
    /// `find`'s arguments, with Ansible's aliases and defaults.
    pub struct Args {
        /// Directories to search: a list or one comma-separated string.
        paths: Vec<String> ["paths", "name", "path"],
        patterns: Vec<String> ["patterns", "pattern"] = Vec::new(),
        excludes: Vec<String> ["excludes", "exclude"] = Vec::new(),
        contains: Option<String> ["contains"],
        read_whole_file: bool ["read_whole_file"] = false,
        file_type: FileType ["file_type"] = FileType::File,
        age: Option<String> ["age"],
        age_stamp: AgeStamp ["age_stamp"] = AgeStamp::Mtime,
        size: Option<String> ["size"],
        recurse: bool ["recurse"] = false,
        hidden: bool ["hidden"] = false,
        follow: bool ["follow"] = false,
        get_checksum: bool ["get_checksum"] = false,
        checksum_algorithm: Algorithm ["checksum_algorithm", "checksum", "checksum_algo"] = Algorithm::Sha1,
        use_regex: bool ["use_regex"] = false,
        depth: Option<i64> ["depth"],
        /// Raw in Ansible: it refuses anything but text, so a YAML octal
        /// number (`0644`, read as 420) fails as it does there.
        mode: Option<Json> ["mode"],
        exact_mode: bool ["exact_mode"] = true,
        encoding: Option<String> ["encoding"],
        limit: Option<i64> ["limit"],
    }
}

/// `find -printf` fields after the tag and followed type: path, `ls -l`
/// mode, size, uid, gid, user, group, inode, device, links, atime, mtime,
/// ctime. Under `-L` they describe what a link leads to, so a link's own
/// fields come from `stat` ([`STAT_FIELDS`], the same fields).
const FIND_FIELDS: &str = "%M\\0%s\\0%U\\0%G\\0%u\\0%g\\0%i\\0%D\\0%n\\0%A@\\0%T@\\0%C@\\0";
const STAT_FIELDS: &str = "%A\\0%s\\0%u\\0%g\\0%U\\0%G\\0%i\\0%d\\0%h\\0%.9X\\0%.9Y\\0%.9Z\\0";
/// Tokens in one entry: `F`, followed type, path, the 12 fields, the flag.
const RECORD: usize = 16;

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let q = Query::new(&args)?;
    let listing = cx.ask_one(Read::Raw {
        script: listing_script(&args),
        why: "GNU find's NUL-separated listing of each tree with lstat fields, \
              which the controller walks as Python's os.walk",
    })?;
    let listing = parse_listing(&listing).map_err(PlanError::Fail)?;

    // First pass: the regular files whose bytes are needed.
    let mut wanted = Vec::new();
    walk(&q, &listing, &Bytes::default(), &mut |e| {
        wanted.push(e.to_string())
    });
    let bytes = if wanted.is_empty() || (q.contains.is_none() && !q.checksum) {
        Bytes::default()
    } else {
        let out = cx.ask_one(Read::Raw {
            script: bytes_script(&q, &args, &wanted),
            why: "each candidate's contains match (iconv, grep -P) and checksum, \
                  in the order asked",
        })?;
        parse_bytes(&wanted, q.greps(), q.checksum, &out)?
    };
    let outcome = walk(&q, &listing, &bytes, &mut |_| {});

    let mut result = Map::new();
    result.insert("files".into(), Json::Array(outcome.files.clone()));
    result.insert("changed".into(), json!(false));
    let msg = if !outcome.warnings.is_empty() {
        "Not all paths examined, check warnings for details"
    } else if outcome.limited {
        "Limit of matches reached"
    } else {
        "All paths examined"
    };
    result.insert("msg".into(), json!(msg));
    result.insert("matched".into(), json!(outcome.files.len()));
    result.insert("examined".into(), json!(outcome.examined));
    result.insert("skipped_paths".into(), Json::Object(outcome.skipped));
    if !outcome.warnings.is_empty() {
        result.insert("warnings".into(), json!(outcome.warnings));
    }
    Ok(Decision::Ok { result, msg: None })
}

/// The criteria, checked and converted once (ansible-core's up-front
/// failures, in its words).
struct Query {
    patterns: Vec<Matcher>,
    excludes: Vec<Matcher>,
    /// The pattern, or why Python's `re` would refuse it (raised only when
    /// a file reaches the content check).
    contains: Option<Result<String, String>>,
    file_type: FileType,
    age: Option<f64>,
    age_stamp: AgeStamp,
    size: Option<i64>,
    recurse: bool,
    hidden: bool,
    follow: bool,
    checksum: bool,
    depth: Option<i64>,
    mode: Option<u32>,
    exact_mode: bool,
    encoding: Option<String>,
    limit: Option<usize>,
}

/// A name pattern: a glob (`fnmatch`) or a Python regular expression
/// matched at the start of the name (`re.match`).
enum Matcher {
    Glob(String),
    Regex(fancy_regex::Regex),
}

impl Matcher {
    fn new(pattern: &str, regex: bool) -> Result<Self, PlanError> {
        if !regex {
            return Ok(Matcher::Glob(pattern.to_string()));
        }
        fancy_regex::Regex::new(&format!(r"\A(?:{pattern})"))
            .map(Matcher::Regex)
            .map_err(|e| {
                PlanError::Fail(format!(
                    "{} in pattern {pattern:?}",
                    rprov_template::filters::regex::python_words(&e)
                ))
            })
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(p) => fnmatch(p, name),
            Matcher::Regex(r) => r.is_match(name).unwrap_or(false),
        }
    }
}

impl Query {
    fn new(args: &Args) -> Result<Self, PlanError> {
        let fail = |m: String| PlanError::Fail(m);
        let mode = match &args.mode {
            None => None,
            Some(Json::String(s)) if s.is_empty() => None,
            Some(Json::String(s)) => Some(parse_mode(s).map_err(fail)?),
            Some(other) => {
                let kind = match other {
                    Json::Number(n) if n.is_f64() => "float",
                    Json::Number(_) => "int",
                    Json::Bool(_) => "bool",
                    Json::Array(_) => "list",
                    _ => "dict",
                };
                return Err(fail(format!(
                    "argument 'mode' is not a string and conversion is not allowed, value is of type {kind}"
                )));
            }
        };
        let patterns = if args.patterns.is_empty() {
            vec![if args.use_regex { ".*" } else { "*" }.to_string()]
        } else {
            args.patterns.clone()
        };
        let matchers = |ps: &[String]| -> Result<Vec<Matcher>, PlanError> {
            ps.iter().map(|p| Matcher::new(p, args.use_regex)).collect()
        };
        let age = match &args.age {
            None => None,
            Some(a) => Some(
                with_unit(
                    a,
                    &[
                        ('s', 1),
                        ('m', 60),
                        ('h', 3600),
                        ('d', 86400),
                        ('w', 604800),
                    ],
                )
                .ok_or_else(|| fail("failed to process age".into()))? as f64,
            ),
        };
        let size = match &args.size {
            None => None,
            Some(s) => Some(
                with_unit(
                    s,
                    &[
                        ('b', 1),
                        ('k', 1 << 10),
                        ('m', 1 << 20),
                        ('g', 1 << 30),
                        ('t', 1 << 40),
                    ],
                )
                .ok_or_else(|| fail("failed to process size".into()))?,
            ),
        };
        let limit = match args.limit {
            Some(n) if n <= 0 => {
                return Err(fail(format!(
                    "limit cannot be {n} (use None for unlimited)"
                )))
            }
            n => n.map(|n| n as usize),
        };
        let contains = args.contains.as_ref().map(|c| {
            fancy_regex::Regex::new(c)
                .map(|_| c.clone())
                .map_err(|e| rprov_template::filters::regex::python_words(&e))
        });
        Ok(Query {
            patterns: matchers(&patterns)?,
            excludes: matchers(&args.excludes)?,
            contains,
            file_type: args.file_type,
            age,
            age_stamp: args.age_stamp,
            size,
            recurse: args.recurse,
            hidden: args.hidden,
            follow: args.follow,
            checksum: args.get_checksum,
            // `depth: 0` is Python's falsy: no limit.
            depth: args.depth.filter(|d| *d != 0),
            mode,
            exact_mode: args.exact_mode,
            encoding: args.encoding.clone(),
            limit,
        })
    }

    /// Whether `contains` is to be matched on the host: a valid pattern,
    /// and files asked for (it is ignored for other types).
    fn greps(&self) -> bool {
        matches!(self.contains, Some(Ok(_))) && self.file_type == FileType::File
    }

    /// `pfilter`: a name one of the patterns matches and no exclude does.
    fn name_matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(name))
            && !self.excludes.iter().any(|e| e.matches(name))
    }

    fn age_matches(&self, e: &Entry, now: f64) -> bool {
        let stamp = match self.age_stamp {
            AgeStamp::Atime => e.atime,
            AgeStamp::Ctime => e.ctime,
            AgeStamp::Mtime => e.mtime,
        };
        match self.age {
            None => true,
            Some(a) if a >= 0.0 => now - stamp >= a.abs(),
            Some(a) => now - stamp <= a.abs(),
        }
    }

    fn size_matches(&self, e: &Entry) -> bool {
        match self.size {
            None => true,
            Some(s) if s >= 0 => e.size >= s.unsigned_abs(),
            Some(s) => e.size <= s.unsigned_abs(),
        }
    }

    fn mode_matches(&self, e: &Entry) -> bool {
        match self.mode {
            None => true,
            Some(m) if self.exact_mode => e.perm == m,
            Some(m) => e.perm & m != 0,
        }
    }
}

/// `mode` as `int(mode, 8)` reads it, else as symbolic clauses applied to
/// no bits (`_symbolic_mode_to_octal` of a zero mode).
fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.trim();
    let digits = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
        .unwrap_or(digits);
    if let Ok(m) = u32::from_str_radix(&digits.replace('_', ""), 8) {
        return Ok(m & 0o7777);
    }
    Mode::Symbolic(s.to_string())
        .resolve(0, false)
        .map(|m| m & 0o7777)
}

/// A number with an optional one-letter unit (`1w`, `-5k`), as
/// `^(-?\d+)(s|m|h|d|w)?$` on the lowered text.
fn with_unit(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let t = text.to_lowercase();
    let (digits, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let (_, m) = units.iter().find(|(u, _)| *u == c)?;
            (&t[..t.len() - 1], *m)
        }
        _ => (t.as_str(), 1),
    };
    let body = digits.strip_prefix('-').unwrap_or(digits);
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok()?.checked_mul(mult)
}

/// A path for the shell: quoted, with a leading `~` as the task user's home
/// (the `path` type's `expanduser`, done where the module runs).
fn shell_path(p: &str) -> String {
    match p.strip_prefix('~') {
        Some("") => "\"$HOME\"".into(),
        Some(rest) if rest.starts_with('/') => format!("\"$HOME\"{}", quote(rest)),
        _ => quote(p),
    }
}

/// The listing probe: the host's clock, then for each path its name as the
/// host expands it, what it is (`X` no directory, `R` unreadable, `D` a
/// directory) and, for a directory, one record per entry.
fn listing_script(args: &Args) -> String {
    let mut s = String::from("printf 'T\\0%s\\0' \"$(date +%s.%N)\"\n");
    let maxdepth = if !args.recurse {
        " -maxdepth 1".to_string()
    } else {
        match args.depth {
            // One level deeper than asked: os.walk lists those entries
            // (they count as examined) before it stops.
            Some(d) if d > 0 => format!(" -maxdepth {}", d + 1),
            _ => String::new(),
        }
    };
    let entry = if args.follow {
        format!(
            "-L \"$_rp_p\" -mindepth 1{maxdepth} -printf 'F\\0%y\\0%p\\0' \
             \\( -xtype l -exec stat --printf '{STAT_FIELDS}' -- {{}} \\; -o -printf '{FIND_FIELDS}' \\)"
        )
    } else {
        format!("-H \"$_rp_p\" -mindepth 1{maxdepth} -printf 'F\\0%Y\\0%p\\0{FIND_FIELDS}'")
    };
    for p in &args.paths {
        s.push_str(&format!(
            "_rp_p={}\nprintf 'P\\0%s\\0' \"$_rp_p\"\n\
             if [ ! -d \"$_rp_p\" ]; then printf 'X\\0'\n\
             elif [ ! -r \"$_rp_p\" ]; then printf 'R\\0'\n\
             else printf 'D\\0'; find {entry} \\( -type d ! -readable -printf 'u\\0' -o -printf '-\\0' \\)\n\
             fi\n",
            shell_path(p)
        ));
    }
    s
}

/// One entry of the listing, with `lstat`'s fields.
#[derive(Clone, Debug)]
struct Entry {
    /// As the host printed it (the key of its directory's entries).
    raw: String,
    /// `os.walk` counts it a directory (links followed).
    walk_dir: bool,
    /// `ls -l`'s type letter of the entry itself.
    kind: char,
    perm: u32,
    size: u64,
    uid: u64,
    gid: u64,
    user: String,
    group: String,
    inode: u64,
    dev: u64,
    nlink: u64,
    atime: f64,
    mtime: f64,
    ctime: f64,
    /// A directory the task's user cannot list.
    unreadable: bool,
}

/// One of `paths`, as the host saw it.
#[derive(Debug)]
struct Root {
    path: String,
    state: char,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Listing {
    now: f64,
    roots: Vec<Root>,
}

fn parse_listing(out: &str) -> Result<Listing, String> {
    let bad = || format!("unexpected listing from the host (is GNU find there?): {out:?}");
    let mut tokens = out.trim_start().split('\0').peekable();
    if tokens.next() != Some("T") {
        return Err(bad());
    }
    let now: f64 = tokens.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
    let mut roots = Vec::new();
    loop {
        match tokens.next() {
            Some("P") => {}
            Some(t) if t.trim().is_empty() => break,
            None => break,
            Some(_) => return Err(bad()),
        }
        let path = tokens.next().ok_or_else(bad)?.to_string();
        let state = tokens
            .next()
            .and_then(|t| t.chars().next())
            .ok_or_else(bad)?;
        let mut entries = Vec::new();
        while tokens.next_if_eq(&"F").is_some() {
            let rec: Vec<&str> = tokens.by_ref().take(RECORD - 1).collect();
            entries.push(entry(&rec).ok_or_else(bad)?);
        }
        roots.push(Root {
            path,
            state,
            entries,
        });
    }
    Ok(Listing { now, roots })
}

fn entry(f: &[&str]) -> Option<Entry> {
    let [followed, path, lsmode, size, uid, gid, user, group, inode, dev, nlink, atime, mtime, ctime, flag] =
        f
    else {
        return None;
    };
    let name = |n: &str, id: &str| {
        if n == "UNKNOWN" || n == id {
            String::new()
        } else {
            n.to_string()
        }
    };
    Some(Entry {
        raw: path.to_string(),
        walk_dir: *followed == "d",
        kind: lsmode.chars().next()?,
        perm: ls_perm(lsmode)?,
        size: size.parse().ok()?,
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        user: name(user, uid),
        group: name(group, gid),
        inode: inode.parse().ok()?,
        dev: dev.parse().ok()?,
        nlink: nlink.parse().ok()?,
        atime: atime.parse().ok()?,
        mtime: mtime.parse().ok()?,
        ctime: ctime.parse().ok()?,
        unreadable: *flag == "u",
    })
}

/// The permission bits of an `ls -l` mode (`-rwsr-x--T`).
fn ls_perm(m: &str) -> Option<u32> {
    let c: Vec<char> = m.chars().collect();
    if c.len() < 10 {
        return None;
    }
    let mut bits = 0;
    for (who, special) in [(0usize, 0o4000), (1, 0o2000), (2, 0o1000)] {
        let shift = 6 - 3 * who as u32;
        let [r, w, x] = [c[1 + 3 * who], c[2 + 3 * who], c[3 + 3 * who]];
        if r == 'r' {
            bits |= 4 << shift;
        }
        if w == 'w' {
            bits |= 2 << shift;
        }
        match x {
            'x' => bits |= 1 << shift,
            's' | 't' => bits |= (1 << shift) | special,
            'S' | 'T' => bits |= special,
            _ => {}
        }
    }
    Some(bits)
}

/// What the second probe said of each candidate's bytes.
#[derive(Default)]
struct Bytes {
    /// The second probe answered (the first pass runs before it).
    known: bool,
    /// `y`, `n` or `e` (not in the encoding) by path, when `contains` asked.
    contains: HashMap<String, char>,
    checksum: HashMap<String, Option<String>>,
    /// The host's `iconv` does not know `encoding`.
    unknown_encoding: bool,
}

fn bytes_script(q: &Query, args: &Args, paths: &[String]) -> String {
    let mut s = String::new();
    let enc = quote(q.encoding.as_deref().unwrap_or("UTF-8"));
    let pattern = match &q.contains {
        Some(Ok(p)) if q.greps() => {
            // A line break in the pattern would split it into two for grep.
            let p = p.replace('\n', "\\n");
            Some(if args.read_whole_file {
                quote(&python_dollar(&p))
            } else {
                quote(&format!("^(?:{p})"))
            })
        }
        _ => None,
    };
    if pattern.is_some() {
        s.push_str(&format!(
            "if printf '' | iconv -f {enc} -t UTF-8 >/dev/null 2>&1; then printf 'K\\0'; else printf 'U\\0'; fi\n"
        ));
    }
    let z = if args.read_whole_file { "z" } else { "" };
    let algo = args.checksum_algorithm.as_str();
    for p in paths {
        s.push_str(&format!("_rp_f={}\n", quote(p)));
        if let Some(pat) = &pattern {
            s.push_str(&format!(
                "if [ ! -r \"$_rp_f\" ]; then printf 'n\\0'\n\
                 elif ! iconv -f {enc} -t UTF-8 < \"$_rp_f\" >/dev/null 2>&1; then printf 'e\\0'\n\
                 elif iconv -f {enc} -t UTF-8 < \"$_rp_f\" | LC_ALL=C.UTF-8 grep -Pq{z} -e {pat}; then printf 'y\\0'\n\
                 else printf 'n\\0'; fi\n"
            ));
        }
        if q.checksum {
            s.push_str(&format!(
                "if [ -r \"$_rp_f\" ]; then printf '%s\\0' \"$({algo}sum < \"$_rp_f\" | cut -d' ' -f1)\"; else printf '\\0'; fi\n"
            ));
        }
    }
    s
}

/// Python's `$` (no `MULTILINE`) matches at the end and before a last
/// line break; `grep -Pz`'s only at the very end. PCRE's `\Z` is Python's
/// `$`, so each `$` outside a character class and not escaped becomes one,
/// unless the pattern turns multi-line matching on itself.
fn python_dollar(p: &str) -> String {
    let multiline = p.match_indices("(?").any(|(i, _)| {
        p[i + 2..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .any(|c| c == 'm')
    });
    if multiline {
        return p.to_string();
    }
    let mut out = String::with_capacity(p.len() + 4);
    let mut chars = p.chars().peekable();
    let mut class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if !class => {
                class = true;
                out.push(c);
                // A `]` first in the class (after `^`) is itself.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if class => {
                class = false;
                out.push(c);
            }
            '$' if !class => out.push_str("\\Z"),
            _ => out.push(c),
        }
    }
    out
}

fn parse_bytes(
    paths: &[String],
    contains: bool,
    checksum: bool,
    out: &str,
) -> Result<Bytes, PlanError> {
    let bad = || PlanError::Fail(format!("unexpected answer from the host: {out:?}"));
    let mut tokens = out.trim_start_matches('\n').split('\0');
    let mut b = Bytes {
        known: true,
        ..Bytes::default()
    };
    if contains {
        b.unknown_encoding = tokens.next() == Some("U");
    }
    for p in paths {
        if contains {
            let c = tokens
                .next()
                .and_then(|t| t.chars().next())
                .ok_or_else(bad)?;
            b.contains.insert(p.clone(), c);
        }
        if checksum {
            let t = tokens.next().ok_or_else(bad)?;
            b.checksum
                .insert(p.clone(), (!t.is_empty()).then(|| t.to_string()));
        }
    }
    Ok(b)
}

/// What the walk found.
#[derive(Default)]
struct Outcome {
    files: Vec<Json>,
    examined: usize,
    skipped: Map<String, Json>,
    warnings: Vec<String>,
    limited: bool,
}

/// Why a path's walk stopped early (ansible-core's exception, caught per
/// path).
struct Abort(String);

/// Python's walk over the listing. `candidate` is told of every regular
/// file whose bytes a criterion or checksum needs (the first pass, before
/// they are known).
fn walk(q: &Query, listing: &Listing, bytes: &Bytes, candidate: &mut dyn FnMut(&str)) -> Outcome {
    let mut o = Outcome::default();
    for root in &listing.roots {
        let npath = root.path.clone();
        let aborted = match root.state {
            'X' => Err(Abort(format!("'{npath}' is not a directory"))),
            'R' => {
                o.skipped
                    .insert(npath.clone(), json!(permission_denied(&npath)));
                Ok(())
            }
            _ => walk_root(q, listing.now, root, bytes, candidate, &mut o),
        };
        if let Err(Abort(why)) = aborted {
            o.warnings.push(format!(
                "Skipped '{npath}' path due to this access issue: {why}\n"
            ));
            o.skipped.insert(npath, json!(why));
        }
    }
    o
}

fn permission_denied(path: &str) -> String {
    format!("[Errno 13] Permission denied: {}", py_repr(path))
}

fn walk_root(
    q: &Query,
    now: f64,
    root: &Root,
    bytes: &Bytes,
    candidate: &mut dyn FnMut(&str),
    o: &mut Outcome,
) -> Result<(), Abort> {
    let key = |p: &str| p.trim_end_matches('/').to_string();
    let mut children: HashMap<String, Vec<&Entry>> = HashMap::new();
    for e in &root.entries {
        let parent = e.raw.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        children.entry(key(parent)).or_default().push(e);
    }
    let top_slashes = format!("{}/", root.path.trim_end_matches('/'))
        .matches('/')
        .count() as i64;
    // Directories still to walk, last first: each with the path os.walk
    // names it by when it cannot list it.
    let mut stack: Vec<(String, Option<&str>)> = vec![(key(&root.path), None)];
    while let Some((dir, unreadable)) = stack.pop() {
        if let Some(path) = unreadable {
            // os.walk's onerror: recorded, no warning.
            o.skipped
                .insert(path.to_string(), json!(permission_denied(path)));
            continue;
        }
        let kids = children.get(&dir).map(Vec::as_slice).unwrap_or(&[]);
        let (dirs, files): (Vec<&Entry>, Vec<&Entry>) = kids.iter().partition(|e| e.walk_dir);
        o.examined += kids.len();
        let mut prune = false;
        for e in files.iter().chain(dirs.iter()) {
            let path = normpath_str(&e.raw);
            if let Some(max) = q.depth {
                if path.matches('/').count() as i64 - top_slashes + 1 > max {
                    prune = true;
                    continue;
                }
            }
            let name = e.raw.rsplit('/').next().unwrap_or(&e.raw);
            if name.starts_with('.') && !q.hidden {
                continue;
            }
            if let Some(r) = select(q, now, e, &path, bytes, candidate)? {
                o.files.push(r);
            }
            if q.limit == Some(o.files.len()) {
                o.limited = true;
                break;
            }
        }
        if !q.recurse || q.limit == Some(o.files.len()) {
            break;
        }
        if prune {
            continue;
        }
        for d in dirs.iter().rev() {
            if d.kind == 'l' && !q.follow {
                continue;
            }
            stack.push((key(&d.raw), d.unreadable.then_some(d.raw.as_str())));
        }
    }
    Ok(())
}

/// The entry's result when it meets the criteria for `file_type`.
fn select(
    q: &Query,
    now: f64,
    e: &Entry,
    path: &str,
    bytes: &Bytes,
    candidate: &mut dyn FnMut(&str),
) -> Result<Option<Json>, Abort> {
    let regular = e.kind == '-';
    let common = |e: &Entry| q.name_matches(name_of(&e.raw)) && q.age_matches(e, now);
    let selected = match q.file_type {
        FileType::Any => {
            if !(common(e) && q.mode_matches(e)) {
                return Ok(None);
            }
            if regular && q.checksum {
                candidate(&e.raw);
            }
            !regular || q.size_matches(e)
        }
        FileType::Directory => e.kind == 'd' && common(e) && q.mode_matches(e),
        FileType::Link => e.kind == 'l' && common(e) && q.mode_matches(e),
        FileType::File => {
            if !(regular && common(e) && q.size_matches(e)) {
                return Ok(None);
            }
            if q.contains.is_some() || q.checksum {
                candidate(&e.raw);
            }
            contains(q, e, path, bytes)? && q.mode_matches(e)
        }
    };
    if !selected {
        return Ok(None);
    }
    let mut r = statinfo(e, path);
    if regular && q.checksum {
        let sum = bytes.checksum.get(&e.raw).cloned().flatten();
        r.insert("checksum".into(), json!(sum));
    }
    Ok(Some(Json::Object(r)))
}

fn name_of(raw: &str) -> &str {
    raw.rsplit('/').next().unwrap_or(raw)
}

/// `contentfilter`: whether the file holds the pattern; its failures stop
/// the walk of the whole path, as the exception does in ansible-core.
fn contains(q: &Query, e: &Entry, path: &str, bytes: &Bytes) -> Result<bool, Abort> {
    let pattern = match &q.contains {
        None => return Ok(true),
        Some(p) => p,
    };
    if let Err(why) = pattern {
        return Err(Abort(why.clone()));
    }
    if !bytes.known {
        // The first pass: not known yet.
        return Ok(true);
    }
    if bytes.unknown_encoding {
        return Err(Abort(format!(
            "unknown encoding: {}",
            q.encoding.as_deref().unwrap_or("utf-8")
        )));
    }
    match bytes.contains.get(&e.raw) {
        Some('y') => Ok(true),
        Some('e') => Err(Abort(format!(
            "Failed to read the file {path} due to an encoding error. current encoding: {}",
            q.encoding
                .as_deref()
                .unwrap_or("None (default determined by the Python built-in function \"open\")")
        ))),
        _ => Ok(false),
    }
}

/// ansible-core's `statinfo`, keys in its order, after `path`.
fn statinfo(e: &Entry, path: &str) -> Map<String, Json> {
    let mut m = Map::new();
    let is = |c: char| e.kind == c;
    let bit = |b: u32| e.perm & b != 0;
    m.insert("path".into(), json!(path));
    m.insert("mode".into(), json!(format!("{:04o}", e.perm)));
    m.insert("isdir".into(), json!(is('d')));
    m.insert("ischr".into(), json!(is('c')));
    m.insert("isblk".into(), json!(is('b')));
    m.insert("isreg".into(), json!(is('-')));
    m.insert("isfifo".into(), json!(is('p')));
    m.insert("islnk".into(), json!(is('l')));
    m.insert("issock".into(), json!(is('s')));
    m.insert("uid".into(), json!(e.uid));
    m.insert("gid".into(), json!(e.gid));
    m.insert("size".into(), json!(e.size));
    m.insert("inode".into(), json!(e.inode));
    m.insert("dev".into(), json!(e.dev));
    m.insert("nlink".into(), json!(e.nlink));
    m.insert("atime".into(), json!(e.atime));
    m.insert("mtime".into(), json!(e.mtime));
    m.insert("ctime".into(), json!(e.ctime));
    m.insert("gr_name".into(), json!(e.group));
    m.insert("pw_name".into(), json!(e.user));
    for (name, b) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        m.insert(name.into(), json!(bit(b)));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::run;
    use crate::probe::{Fact, Probe};
    use std::path::Path;

    /// Plans `find` with `args`, answering its probes by running them with
    /// this machine's `sh` (GNU find, iconv and grep, as on a Debian host).
    fn find_here(args: Json) -> Result<Map<String, Json>, PlanError> {
        let d = run("find", args, |p| match p {
            Probe::Shell { script } => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!(
                        "LC_ALL=C; export LC_ALL\n( {script}\n) </dev/null 2>/dev/null"
                    ))
                    .output()
                    .ok()?;
                Some(Fact::Text(
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                ))
            }
            _ => None,
        })?;
        match d {
            Decision::Ok { result, .. } => Ok(result),
            other => panic!("find decided {other:?}"),
        }
    }

    fn failure(args: Json) -> String {
        match find_here(args) {
            Err(PlanError::Fail(m)) => m,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    /// ansible-core's `find` integration target's tree: two chains of four
    /// directories with a file in each, and three files at the top.
    fn target_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["a/b/c/d", "e/f/g/h"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for f in [
            "a/1.txt",
            "a/b/2.jpg",
            "a/b/c/3",
            "a/b/c/d/4.xml",
            "e/5.json",
            "e/f/6.swp",
            "e/f/g/7.img",
            "e/f/g/h/8.ogg",
        ] {
            std::fs::write(d.join(f), "data").unwrap();
        }
        std::fs::write(
            d.join("a.txt"),
            "this is a file that has\na few lines in it\n",
        )
        .unwrap();
        std::fs::write(
            d.join("log.txt"),
            "01/01- OK\n01/02- OK\n01/03- KO\n01/04- OK\n",
        )
        .unwrap();
        std::fs::write(
            d.join("hello_world.gbk"),
            b"\xc4\xe3\xba\xc3\xca\xc0\xbd\xe7",
        )
        .unwrap();
        dir
    }

    fn paths_of(r: &Map<String, Json>, root: &Path) -> Vec<String> {
        let prefix = format!("{}/", root.display());
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(&prefix)
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn counts_and_depth_as_the_integration_target() {
        let t = target_tree();
        let p = t.path().display().to_string();
        let r = find_here(json!({"paths": p, "file_type": "directory", "recurse": true})).unwrap();
        assert_eq!(
            (r["matched"].clone(), r["examined"].clone()),
            (json!(8), json!(19))
        );
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["msg"], json!("All paths examined"));
        assert_eq!(r["skipped_paths"], json!({}));
        let r = find_here(json!({"paths": p, "recurse": true, "file_type": "any"})).unwrap();
        assert_eq!(
            (r["matched"].clone(), r["examined"].clone()),
            (json!(19), json!(19))
        );
        let r = find_here(json!({"paths": p, "recurse": true, "file_type": "any", "depth": 2}))
            .unwrap();
        assert_eq!(
            (r["matched"].clone(), r["examined"].clone()),
            (json!(9), json!(13))
        );
        let r = find_here(json!({"paths": p, "recurse": true, "depth": 2})).unwrap();
        assert_eq!(
            (r["matched"].clone(), r["examined"].clone()),
            (json!(5), json!(13))
        );
        // Not recursing: the top's entries only.
        let r = find_here(json!({"path": p})).unwrap();
        assert_eq!(
            (r["matched"].clone(), r["examined"].clone()),
            (json!(3), json!(5))
        );
    }

    #[test]
    fn files_carry_stat_fields_with_ansibles_names() {
        use std::os::unix::fs::MetadataExt;
        let t = target_tree();
        let p = t.path().display().to_string();
        let r = find_here(json!({"paths": p, "patterns": "a.txt", "get_checksum": true})).unwrap();
        let f = &r["files"][0];
        let md = std::fs::metadata(t.path().join("a.txt")).unwrap();
        assert_eq!(f["path"], json!(format!("{p}/a.txt")));
        assert_eq!(f["mode"], json!(format!("{:04o}", md.mode() & 0o7777)));
        assert_eq!(f["isreg"], json!(true));
        assert_eq!(f["isdir"], json!(false));
        assert_eq!(f["size"], json!(md.size()));
        assert_eq!(f["inode"], json!(md.ino()));
        assert_eq!(f["dev"], json!(md.dev()));
        assert_eq!(f["uid"], json!(md.uid()));
        assert!(f["pw_name"].is_string() && f["gr_name"].is_string());
        assert!((f["mtime"].as_f64().unwrap() - md.mtime() as f64).abs() < 1.0);
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["path", "mode", "isdir"]);
        assert_eq!(keys.last(), Some(&"checksum"));
        // sha1 of the file, as Python's hashlib gives it.
        let sum = hex::encode(<sha1::Sha1 as sha2::Digest>::digest(
            std::fs::read(t.path().join("a.txt")).unwrap(),
        ));
        assert_eq!(f["checksum"], json!(sum));
    }

    #[test]
    fn patterns_excludes_regex_and_limit() {
        let t = target_tree();
        let p = t.path().display().to_string();
        let r = find_here(json!({"paths": p, "patterns": "*.xml,*.img", "recurse": true})).unwrap();
        let mut found = paths_of(&r, t.path());
        found.sort();
        assert_eq!(found, ["a/b/c/d/4.xml", "e/f/g/7.img"]);
        let r = find_here(
            json!({"paths": p, "recurse": true, "use_regex": true, "exclude": ".*\\.ogg"}),
        )
        .unwrap();
        assert_eq!(r["matched"], json!(10));
        assert!(!paths_of(&r, t.path()).contains(&"e/f/g/h/8.ogg".to_string()));
        // re.match: anchored at the start only.
        let r =
            find_here(json!({"paths": p, "recurse": true, "use_regex": true, "patterns": ["\\d"]}))
                .unwrap();
        assert_eq!(r["matched"], json!(8));
        let r = find_here(json!({"paths": p, "recurse": true, "limit": 2})).unwrap();
        assert_eq!(r["matched"], json!(2));
        assert_eq!(r["msg"], json!("Limit of matches reached"));
    }

    #[test]
    fn contains_by_line_and_by_whole_file() {
        let t = target_tree();
        let p = t.path().display().to_string();
        let matched = |contains: &str, whole: bool| {
            find_here(json!({"paths": p, "patterns": "*.txt", "contains": contains, "read_whole_file": whole}))
                .unwrap()["matched"]
                .clone()
        };
        assert_eq!(matched("KO$", true), json!(0));
        assert_eq!(matched("OK$", true), json!(1));
        assert_eq!(matched(".*KO$", false), json!(1));
        assert_eq!(matched("has\na few", true), json!(1));
        assert_eq!(matched("has\na few", false), json!(0));
        let gbk = |enc: &str| {
            find_here(
                json!({"paths": p, "patterns": "*.gbk", "contains": "你好世界", "encoding": enc}),
            )
            .unwrap()
        };
        assert_eq!(gbk("gbk")["matched"], json!(1));
        let r = gbk("utf-8");
        assert_eq!(
            r["msg"],
            json!("Not all paths examined, check warnings for details")
        );
        assert_eq!(
            r["skipped_paths"][&p],
            json!(format!(
                "Failed to read the file {p}/hello_world.gbk due to an encoding error. current encoding: utf-8"
            ))
        );
        assert_eq!(
            gbk("idontexist")["skipped_paths"][&p],
            json!("unknown encoding: idontexist")
        );
    }

    #[test]
    fn a_path_that_is_no_directory_is_skipped_with_a_warning() {
        let t = target_tree();
        let file = t.path().join("a.txt").display().to_string();
        let r = find_here(json!({"paths": [file.clone()]})).unwrap();
        assert_eq!(r["files"], json!([]));
        assert_eq!(
            r["skipped_paths"],
            json!({&file: format!("'{file}' is not a directory")})
        );
        assert_eq!(
            r["msg"],
            json!("Not all paths examined, check warnings for details")
        );
        assert_eq!(r["warnings"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn mode_octal_and_symbolic() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        for m in [0o644, 0o444, 0o400, 0o700, 0o666] {
            let f = t.path().join(format!("mode_{m:04o}"));
            std::fs::write(&f, "").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(m)).unwrap();
        }
        let p = t.path().display().to_string();
        let names = |mode: &str, exact: bool| {
            let r = find_here(json!({"paths": p, "mode": mode, "exact_mode": exact})).unwrap();
            let mut n = paths_of(&r, t.path());
            n.sort();
            n
        };
        assert_eq!(names("0644", true), ["mode_0644"]);
        assert_eq!(names("u=rw,g=r,o=r", true), ["mode_0644"]);
        assert_eq!(names("o=r", false), ["mode_0444", "mode_0644", "mode_0666"]);
        assert_eq!(names("0004", false), names("o=r", false));
    }

    #[test]
    fn refused_as_ansible_refuses() {
        assert_eq!(
            failure(json!({"paths": "/x", "limit": 0})),
            "limit cannot be 0 (use None for unlimited)"
        );
        assert_eq!(
            failure(json!({"paths": "/x", "age": "1y"})),
            "failed to process age"
        );
        assert_eq!(
            failure(json!({"paths": "/x", "size": "2q"})),
            "failed to process size"
        );
        assert_eq!(
            failure(json!({"paths": "/x", "mode": 420})),
            "argument 'mode' is not a string and conversion is not allowed, value is of type int"
        );
        assert!(failure(json!({})).contains("`paths`"));
    }

    #[test]
    fn units_and_modes_convert_as_python() {
        let age = [
            ('s', 1),
            ('m', 60),
            ('h', 3600),
            ('d', 86400),
            ('w', 604800),
        ];
        assert_eq!(with_unit("1w", &age), Some(604800));
        assert_eq!(with_unit("-2D", &age), Some(-172800));
        assert_eq!(with_unit("30", &age), Some(30));
        assert_eq!(with_unit("1.5d", &age), None);
        assert_eq!(with_unit("", &age), None);
        assert_eq!(python_dollar(r"OK$"), r"OK\Z");
        assert_eq!(python_dollar(r"a\$[$]$"), r"a\$[$]\Z");
        assert_eq!(python_dollar(r"[]$]x$"), r"[]$]x\Z");
        assert_eq!(python_dollar(r"(?im)OK$"), r"(?im)OK$");
        assert_eq!(parse_mode("0o755"), Ok(0o755));
        assert_eq!(parse_mode("u=r"), Ok(0o400));
        assert_eq!(ls_perm("-rwsr-x--T"), Some(0o5750));
        assert_eq!(ls_perm("drwxr-sr-x"), Some(0o2755));
    }

    /// A listing answered by hand: the walk's order is the host's, files
    /// before directories, each directory's entries before the next one's.
    #[test]
    fn walks_top_down_in_the_hosts_order() {
        let rec = |ty: &str, path: &str, ls: &str| {
            format!("F\0{ty}\0{path}\0{ls}\x000\x000\x000\0root\0root\x001\x002\x001\x001.0\x001.0\x001.0\0-\0")
        };
        let out = format!(
            "T\x00100.0\0P\0/r\0D\0{}{}{}{}",
            rec("d", "/r/d", "drwxr-xr-x"),
            rec("f", "/r/d/x", "-rw-r--r--"),
            rec("f", "/r/b", "-rw-r--r--"),
            rec("d", "/r/l", "lrwxrwxrwx"),
        );
        let d = run(
            "find",
            json!({"paths": "/r", "recurse": true, "file_type": "any"}),
            |p| matches!(p, Probe::Shell { .. }).then(|| Fact::Text(out.clone())),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        let order: Vec<&str> = result["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        // The link to a directory is listed with the directories but not
        // walked into (follow is off).
        assert_eq!(order, ["/r/b", "/r/d", "/r/l", "/r/d/x"]);
        assert_eq!(result["examined"], json!(4));
    }
}
