//! Text filters: `quote`, `basename`, `dirname`, `splitext`, `path_join`,
//! `expanduser`, `b64encode`, `b64decode`, `wordcount`, `comment`,
//! `to_uuid`, Jinja2's `indent` as it is (minijinja's drops a final line
//! break), Jinja2's `replace` with its `count`, and Jinja2's `center`, `truncate`, `filesizeformat`,
//! `striptags` and `forceescape`, which minijinja leaves out.
//!
//! Path filters follow Python's `posixpath` (the controller is POSIX), and
//! `quote` is `shlex.quote`, since rendered commands run under `sh` on the
//! target.

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};
use sha1::{Digest, Sha1};

use super::{as_text, bind_args, filter_error, py_repr, py_str, py_type_name, require_defined};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("quote", quote);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
    env.add_filter("expanduser", expanduser);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("wordcount", wordcount);
    env.add_filter("comment", comment);
    env.add_filter("to_uuid", to_uuid);
    env.add_filter("center", center);
    env.add_filter("replace", replace);
    env.add_filter("indent", indent);
    env.add_filter("truncate", truncate);
    env.add_filter("filesizeformat", |v: f64, binary: Option<bool>| {
        minijinja_contrib::filters::filesizeformat(v, binary)
    });
    env.add_filter("striptags", |v: &Value| {
        as_text(v).map(minijinja_contrib::filters::striptags)
    });
    env.add_filter("forceescape", |v: &Value| {
        as_text(v).map(|s| minijinja::HtmlEscape(&s).to_string())
    });
}

/// Jinja2's `replace(old, new, count=None)`: the first `count`
/// occurrences only when given (minijinja's takes no count).
pub fn replace(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "replace";
    let s = as_text(value)?;
    let [old, new, count] = bind_args(NAME, &args, &kwargs, ["old", "new", "count"])?;
    let text = |v: Option<Value>, what: &str| match v {
        Some(v) => as_text(&v),
        None => Err(filter_error(NAME, format!("missing argument '{what}'"))),
    };
    let (old, new) = (text(old, "old")?, text(new, "new")?);
    let count = match count.filter(|c| !c.is_none()) {
        None => None,
        Some(c) => {
            Some(i64::try_from(c).map_err(|_| filter_error(NAME, "count must be an integer"))?)
        }
    };
    Ok(match count {
        // Python's `str.replace`: a negative count is every occurrence.
        Some(n) if n >= 0 => s.replacen(&old, &new, usize::try_from(n).unwrap_or(usize::MAX)),
        _ => s.replace(&old, &new),
    })
}

/// Jinja2 3.1's `indent(width=4, first=False, blank=False)`, `width` a
/// number of spaces or the text to indent with. As Jinja2 it appends a line
/// break before splitting into lines, so a final line break is kept
/// (`to_nice_yaml | indent(2)` ends with one).
pub fn indent(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "indent";
    let s = as_text(value)?;
    let [width, first, blank] = bind_args(NAME, &args, &kwargs, ["width", "first", "blank"])?;
    let indention = match &width {
        None => "    ".to_string(),
        Some(w) => match w.as_str() {
            Some(text) => text.to_string(),
            None => " ".repeat(
                usize::try_from(w.clone())
                    .map_err(|_| filter_error(NAME, "width must be a number or a string"))?,
            ),
        },
    };
    let lines = super::py_splitlines(&format!("{s}\n"));
    let mut rv = if blank.is_some_and(|b| b.is_true()) {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut lines = lines.iter();
        let head = lines.next().cloned().unwrap_or_default();
        let rest: Vec<String> = lines
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{indention}{l}")
                }
            })
            .collect();
        if rest.is_empty() {
            head
        } else {
            format!("{head}\n{}", rest.join("\n"))
        }
    };
    if first.is_some_and(|f| f.is_true()) {
        rv.insert_str(0, &indention);
    }
    Ok(rv)
}

/// Jinja2's `center(width=80)`: Python's `str.center`, the odd space of
/// padding on the left when the width is odd.
pub fn center(value: &Value, width: Option<usize>) -> Result<String, Error> {
    let s = as_text(value)?;
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return Ok(s);
    }
    let (left, right) = crate::str_methods::center_split(width - len, width);
    Ok(format!("{}{s}{}", " ".repeat(left), " ".repeat(right)))
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`:
/// text longer than `length` plus `leeway` cut to `length` with `end`,
/// at the last space unless `killwords`.
pub fn truncate(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "truncate";
    let s = as_text(value)?;
    let [length, killwords, end, leeway] = bind_args(
        NAME,
        &args,
        &kwargs,
        ["length", "killwords", "end", "leeway"],
    )?;
    let number = |v: Option<Value>, default: usize| -> Result<usize, Error> {
        v.filter(|v| !v.is_none()).map_or(Ok(default), |v| {
            usize::try_from(v).map_err(|_| filter_error(NAME, "expected a whole number"))
        })
    };
    let length = number(length, 255)?;
    let leeway = number(leeway, 5)?;
    let killwords = killwords.is_some_and(|k| k.is_true());
    let end = end.map_or_else(|| "...".to_string(), |e| e.to_string());
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let Some(keep) = length.checked_sub(end.chars().count()) else {
        return Err(filter_error("truncate", "expected length >= len(end)"));
    };
    let head: String = chars[..keep].iter().collect();
    let head = if killwords {
        head.as_str()
    } else {
        head.rsplit_once(' ')
            .map_or(head.as_str(), |(before, _)| before)
    };
    Ok(format!("{head}{end}"))
}

/// POSIX shell quoting, as Python's `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

/// Ansible's `quote`.
pub fn quote(value: &Value) -> Result<String, Error> {
    Ok(shell_quote(&as_text(value)?))
}

/// `os.path.basename`: the part after the last `/`.
pub fn basename(value: &Value) -> Result<String, Error> {
    let s = as_text(value)?;
    Ok(s.rsplit('/').next().unwrap_or_default().to_string())
}

/// `os.path.dirname`: the part before the last `/`, trailing slashes removed
/// unless it is the root.
pub fn dirname(value: &Value) -> Result<String, Error> {
    let s = as_text(value)?;
    let head = match s.rfind('/') {
        Some(i) => &s[..=i],
        None => "",
    };
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        Ok(head.trim_end_matches('/').to_string())
    } else {
        Ok(head.to_string())
    }
}

/// `os.path.expanduser`, on the controller as Ansible's filter runs: a
/// leading `~` is `$HOME` (the user's passwd entry without it), `~name`
/// that user's home; a user the controller does not know leaves the path
/// as it is.
pub fn expanduser(value: &Value) -> Result<String, Error> {
    let s = as_text(value)?;
    let Some(rest) = s.strip_prefix('~') else {
        return Ok(s);
    };
    let i = rest.find('/').unwrap_or(rest.len());
    let (name, tail) = rest.split_at(i);
    let home = if name.is_empty() {
        std::env::var("HOME")
            .ok()
            .or_else(|| passwd_home(|_, uid| Some(uid) == own_uid()))
    } else {
        passwd_home(|n, _| n == name)
    };
    let Some(home) = home else {
        return Ok(s);
    };
    let joined = format!("{}{tail}", home.trim_end_matches('/'));
    Ok(if joined.is_empty() {
        "/".into()
    } else {
        joined
    })
}

/// The home directory of the first `/etc/passwd` entry that `matches`
/// (by name and uid).
fn passwd_home(matches: impl Fn(&str, u32) -> bool) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let uid = f.get(2)?.parse().ok()?;
        matches(f.first()?, uid).then(|| f.get(5).map(|h| h.to_string()))?
    })
}

/// The controller process's uid: the owner of its `/proc/self`.
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// `os.path.splitext` as a two-item list `[root, ext]`; leading dots of the
/// file name do not start an extension (`.bashrc` has none).
pub fn splitext(value: &Value) -> Result<Value, Error> {
    let s = as_text(value)?;
    let name_start = s.rfind('/').map_or(0, |i| i + 1);
    let name = &s[name_start..];
    let leading_dots = name.len() - name.trim_start_matches('.').len();
    let split = name
        .rfind('.')
        .filter(|&i| i >= leading_dots && leading_dots < name.len());
    Ok(match split {
        Some(i) => {
            let at = name_start + i;
            Value::from(vec![s[..at].to_string(), s[at..].to_string()])
        }
        None => Value::from(vec![s.clone(), String::new()]),
    })
}

/// Ansible's `path_join`: a string is returned as is; a list is joined like
/// `os.path.join` (an absolute part discards what came before).
pub fn path_join(value: &Value) -> Result<String, Error> {
    require_defined(value)?;
    if value.kind() == ValueKind::String {
        return as_text(value);
    }
    let mut out = String::new();
    for part in value.try_iter().map_err(|e| filter_error("path_join", e))? {
        let part = as_text(&part)?;
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// Ansible's `b64encode(encoding='utf-8', urlsafe=False)`: the text's bytes
/// in `encoding`, standard (or URL-safe) alphabet with padding.
pub fn b64encode(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "b64encode";
    let [encoding, urlsafe] = super::bind_args(NAME, &args, &kwargs, ["encoding", "urlsafe"])?;
    let codec = Codec::named(NAME, encoding.as_ref())?;
    let bytes = codec.encode(NAME, &as_text(value)?)?;
    Ok(base64_engine(urlsafe.as_ref()).encode(bytes))
}

/// Ansible's `b64decode(encoding='utf-8', urlsafe=False)`. Bytes that are
/// not text in `encoding` become U+FFFD: ansible-core keeps them as
/// surrogate escapes ("garbled output but no traceback", as its own
/// `binary` target puts it), which a Rust string cannot hold; the filter
/// must not fail where Ansible's does not.
pub fn b64decode(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "b64decode";
    let [encoding, urlsafe] = super::bind_args(NAME, &args, &kwargs, ["encoding", "urlsafe"])?;
    let codec = Codec::named(NAME, encoding.as_ref())?;
    let text = as_text(value)?;
    let bytes = base64_engine(urlsafe.as_ref())
        .decode(text.trim())
        .map_err(|e| filter_error(NAME, e))?;
    Ok(codec.decode(&bytes))
}

fn base64_engine(urlsafe: Option<&Value>) -> base64::engine::GeneralPurpose {
    if urlsafe.is_some_and(Value::is_true) {
        base64::engine::general_purpose::URL_SAFE
    } else {
        base64::engine::general_purpose::STANDARD
    }
}

/// The Python codecs `b64encode`/`b64decode` take by name (those a
/// playbook uses: Windows' UTF-16 above all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Utf8,
    Latin1,
    Ascii,
    /// With a byte-order mark: little-endian when encoding (as Python on
    /// x86 and ARM), either when decoding.
    Utf16,
    Utf16Le,
    Utf16Be,
}

impl Codec {
    /// Python's codec lookup: case, `_` and `-` do not matter.
    fn named(filter: &str, name: Option<&Value>) -> Result<Self, Error> {
        let Some(name) = name.filter(|v| !v.is_none()) else {
            return Ok(Codec::Utf8);
        };
        let text = as_text(name)?;
        let key: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        Ok(match key.as_str() {
            "utf8" | "u8" | "utf" => Codec::Utf8,
            "latin1" | "latin" | "l1" | "iso88591" | "88591" => Codec::Latin1,
            "ascii" | "usascii" => Codec::Ascii,
            "utf16" | "u16" => Codec::Utf16,
            "utf16le" => Codec::Utf16Le,
            "utf16be" => Codec::Utf16Be,
            _ => {
                return Err(filter_error(
                    filter,
                    format!("unknown encoding: {text} (rprov knows utf-8, latin-1, ascii, utf-16, utf-16-le and utf-16-be)"),
                ))
            }
        })
    }

    fn encode(self, filter: &str, text: &str) -> Result<Vec<u8>, Error> {
        let narrow = |name: &str, max: u32| {
            text.chars()
                .map(|c| {
                    u8::try_from(u32::from(c))
                        .ok()
                        .filter(|b| u32::from(*b) <= max)
                        .ok_or_else(|| {
                            filter_error(
                                filter,
                                format!("'{name}' codec can't encode character {c:?}"),
                            )
                        })
                })
                .collect::<Result<Vec<u8>, Error>>()
        };
        let utf16 = |le: bool| {
            text.encode_utf16()
                .flat_map(move |u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
        };
        Ok(match self {
            Codec::Utf8 => text.as_bytes().to_vec(),
            Codec::Latin1 => narrow("latin-1", 0xff)?,
            Codec::Ascii => narrow("ascii", 0x7f)?,
            Codec::Utf16 => [0xff, 0xfe].into_iter().chain(utf16(true)).collect(),
            Codec::Utf16Le => utf16(true).collect(),
            Codec::Utf16Be => utf16(false).collect(),
        })
    }

    fn decode(self, bytes: &[u8]) -> String {
        let utf16 = |b: &[u8], le: bool| {
            let units: Vec<u16> = b
                .chunks(2)
                .map(|c| match (c, le) {
                    ([x, y], true) => u16::from_le_bytes([*x, *y]),
                    ([x, y], false) => u16::from_be_bytes([*x, *y]),
                    // An odd last byte is no character.
                    _ => 0xfffd,
                })
                .collect();
            String::from_utf16_lossy(&units)
        };
        match self {
            Codec::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Codec::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Codec::Ascii => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{fffd}'
                    }
                })
                .collect(),
            Codec::Utf16 => match bytes {
                [0xfe, 0xff, rest @ ..] => utf16(rest, false),
                [0xff, 0xfe, rest @ ..] => utf16(rest, true),
                _ => utf16(bytes, true),
            },
            Codec::Utf16Le => utf16(bytes, true),
            Codec::Utf16Be => utf16(bytes, false),
        }
    }
}

/// Jinja's `wordcount`: the number of words (runs of word characters).
pub fn wordcount(value: &Value) -> Result<usize, Error> {
    let s = as_text(value)?;
    Ok(s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .count())
}

/// The comment styles of Ansible's `comment` filter: name, `beginning`,
/// `decoration`, `end`.
const COMMENT_STYLES: [(&str, &str, &str, &str); 5] = [
    ("plain", "", "# ", ""),
    ("erlang", "", "% ", ""),
    ("c", "", "// ", ""),
    ("cblock", "/*", " * ", " */"),
    ("xml", "<!--", " - ", "-->"),
];

/// A text parameter of `comment`: `None` when Python would find it false
/// (`none`, `''`), else its text.
fn comment_text(v: &Value) -> Option<String> {
    if v.is_none() || v.is_undefined() {
        return None;
    }
    Some(py_str(v)).filter(|s| !s.is_empty())
}

/// Ansible's `comment(style='plain', **kw)`: the text with each line
/// decorated (`# `), between a prefix and a postfix line (the decoration
/// without its trailing space) and, for `cblock` and `xml`, a beginning
/// and an end line. `decoration`, `prefix`, `prefix_count`, `postfix`,
/// `postfix_count`, `beginning`, `end` and `newline` override the style.
pub fn comment(value: &Value, style: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "comment";
    require_defined(value)?;
    let style = match style {
        Some(_) if kwargs.has("style") => {
            return Err(filter_error(
                NAME,
                "comment() got multiple values for argument 'style'",
            ));
        }
        Some(s) => s,
        None => kwargs
            .get::<Option<Value>>("style")?
            .unwrap_or_else(|| Value::from("plain")),
    };
    let Some((_, beginning, decoration, end)) = COMMENT_STYLES
        .iter()
        .find(|(name, ..)| Some(*name) == style.as_str())
    else {
        return Err(filter_error(
            NAME,
            format!(
                "Invalid style {}. Available styles: plain, erlang, c, cblock, xml",
                py_repr(&style)
            ),
        ));
    };
    let text = value.as_str().ok_or_else(|| {
        filter_error(
            NAME,
            format!(
                "'{}' object has no attribute 'replace'",
                py_type_name(value)
            ),
        )
    })?;
    // Every keyword is taken (ansible-core ignores the ones it does not
    // know); the known ones are read below.
    let given = |key: &str| -> Result<Option<Value>, Error> {
        if kwargs.has(key) {
            kwargs.get::<Value>(key).map(Some)
        } else {
            Ok(None)
        }
    };
    let get_str = |key: &str, default: &str| -> Result<String, Error> {
        match given(key)? {
            None => Ok(default.to_string()),
            Some(v) => v.as_str().map(str::to_string).ok_or_else(|| {
                filter_error(
                    NAME,
                    format!("the '{key}' argument must be str, not {}", py_type_name(&v)),
                )
            }),
        }
    };
    let decoration = get_str("decoration", decoration)?;
    let newline = get_str("newline", "\n")?;
    let edge = decoration.trim_end().to_string();
    let opt = |key: &str, default: &str| -> Result<Option<String>, Error> {
        Ok(match given(key)? {
            None => Some(default.to_string()).filter(|s| !s.is_empty()),
            Some(v) => comment_text(&v),
        })
    };
    let beginning = opt("beginning", beginning)?;
    let prefix = opt("prefix", &edge)?;
    let end = opt("end", end)?;
    let postfix = given("postfix")?;
    let prefix_count = match given("prefix_count")? {
        None => 1,
        Some(v) => py_int(&v).ok_or_else(|| {
            filter_error(
                NAME,
                format!("invalid literal for int() with base 10: {}", py_repr(&v)),
            )
        })?,
    };
    let postfix_count = match given("postfix_count")? {
        None => 1,
        Some(v)
            if matches!(v.kind(), ValueKind::Bool)
                || (v.kind() == ValueKind::Number && v.is_integer()) =>
        {
            i64::try_from(v.clone()).unwrap_or(i64::from(v.is_true()))
        }
        Some(v) => {
            return Err(filter_error(
                NAME,
                format!(
                    "'{}' object cannot be interpreted as an integer",
                    py_type_name(&v)
                ),
            ))
        }
    };
    for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
        let _ = kwargs.get::<Value>(&key);
    }
    kwargs.assert_all_used()?;
    let postfix = match postfix {
        None => edge.clone(),
        Some(v) if v.is_none() && postfix_count > 0 => {
            return Err(filter_error(
                NAME,
                "sequence item 1: expected str instance, NoneType found",
            ))
        }
        Some(v) => py_str(&v),
    };
    let repeated = |unit: usize, count: i64| -> Result<usize, Error> {
        let n = usize::try_from(count.max(0)).unwrap_or(usize::MAX);
        let size = unit.saturating_mul(n);
        if size > crate::limits::max_render_size() {
            return Err(filter_error(NAME, crate::limits::too_large("the comment")));
        }
        Ok(n)
    };
    let mut out = String::new();
    if let Some(b) = &beginning {
        out.push_str(b);
        out.push_str(&newline);
    }
    if let Some(p) = &prefix {
        let line = if *p != newline {
            format!("{p}{newline}")
        } else {
            newline.clone()
        };
        out.push_str(&line.repeat(repeated(line.len(), prefix_count)?));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out.push_str(&body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    let post_line = format!("{newline}{postfix}");
    out.push_str(&post_line.repeat(repeated(post_line.len(), postfix_count)?));
    if let Some(e) = &end {
        out.push_str(&newline);
        out.push_str(e);
    }
    Ok(out)
}

/// Python's `int(v)` for what `comment`'s `prefix_count` may be.
fn py_int(v: &Value) -> Option<i64> {
    match v.kind() {
        ValueKind::Bool => Some(i64::from(v.is_true())),
        ValueKind::Number if v.is_integer() => i64::try_from(v.clone()).ok(),
        ValueKind::Number => f64::try_from(v.clone())
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f.trunc() as i64),
        ValueKind::String => v.as_str()?.trim().replace('_', "").parse().ok(),
        _ => None,
    }
}

/// ansible-core's namespace for `to_uuid`.
const UUID_NAMESPACE_ANSIBLE: [u8; 16] = [
    0x36, 0x1e, 0x6d, 0x51, 0xfa, 0xec, 0x44, 0x4a, 0x90, 0x79, 0x34, 0x13, 0x86, 0xda, 0x8e, 0x2e,
];

/// Python's `uuid.UUID(text)`: 32 hex digits, with `urn:`, `uuid:`,
/// braces and dashes allowed around and between them.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex_digits = text
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "");
    if hex_digits.len() != 32 {
        return None;
    }
    let bytes = hex::decode(&hex_digits).ok()?;
    bytes.try_into().ok()
}

/// Ansible's `to_uuid(namespace=...)`: the name-based (version 5, SHA-1)
/// UUID of the text in ansible-core's namespace (or `namespace`).
pub fn to_uuid(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "to_uuid";
    require_defined(value)?;
    let [namespace] = super::bind_args(NAME, &args, &kwargs, ["namespace"])?;
    let ns = match namespace {
        None => UUID_NAMESPACE_ANSIBLE,
        Some(ns) => {
            let bad = |why: &str| {
                filter_error(
                    NAME,
                    format!("Invalid value '{}' for 'namespace': {why}", py_str(&ns)),
                )
            };
            match ns.as_str() {
                Some(s) => {
                    parse_uuid(s).ok_or_else(|| bad("badly formed hexadecimal UUID string"))?
                }
                None => {
                    return Err(bad(&format!(
                        "'{}' object has no attribute 'replace'",
                        py_type_name(&ns)
                    )))
                }
            }
        }
    };
    let digest = Sha1::new()
        .chain_update(ns)
        .chain_update(py_str(value).as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}
