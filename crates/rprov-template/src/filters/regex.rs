//! Ansible's regular-expression filters: `regex_replace`, `regex_search`,
//! `regex_findall`, `regex_escape`.
//!
//! Patterns are Python `re` syntax, run by `fancy-regex` (the `regex` crate
//! underneath, with backtracking only for the parts that need it): named
//! groups `(?P<name>...)`, look-ahead and look-behind and backreferences work
//! as in Python. Python's `\1` and `\g<name>` in replacements are translated
//! to the crate's `${1}` and `${name}`.

use fancy_regex::{Regex, RegexBuilder};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};

use super::{as_text, filter_error};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
}

/// Compiles a Python-style pattern with the `ignorecase`/`multiline` flags.
pub(crate) fn compile(
    name: &str,
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
) -> Result<Regex, Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| {
            filter_error(
                name,
                format!(
                    "invalid regular expression {pattern:?}: {}",
                    python_words(&e)
                ),
            )
        })
}

/// A pattern error in the words of Python's `re` where a playbook may look
/// for them (`nothing to repeat at position 0`), else the crate's own.
pub fn python_words(e: &fancy_regex::Error) -> String {
    use fancy_regex::{Error as E, ParseError as P};
    match e {
        E::ParseError(at, P::TargetNotRepeatable) => format!("nothing to repeat at position {at}"),
        E::ParseError(at, P::UnclosedOpenParen) => {
            format!("missing ), unterminated subpattern at position {at}")
        }
        other => other.to_string(),
    }
}

/// A failure while matching (the backtracking limit), as a template error.
pub(crate) fn run_error(name: &str, e: fancy_regex::Error) -> Error {
    filter_error(name, format!("regular expression failed: {e}"))
}

/// Reads the `ignorecase` and `multiline` keyword arguments.
fn flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    Ok((
        kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    ))
}

/// Translates a Python replacement string (`\1`, `\g<1>`, `\g<name>`, `\n`,
/// `\\`) into the `regex` crate's syntax (`${1}`, `${name}`), escaping `$`.
pub fn translate_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        if num.len() == 2 {
                            break;
                        }
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// Ansible's `regex_replace(pattern='', replacement='', ignorecase=False,
/// multiline=False, count=0)`.
pub fn regex_replace(
    value: &Value,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let text = as_text(value)?;
    let (ignorecase, multiline) = flags(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let re = compile(
        "regex_replace",
        pattern.as_deref().unwrap_or_default(),
        ignorecase,
        multiline,
    )?;
    let repl = translate_replacement(replacement.as_deref().unwrap_or_default());
    re.try_replacen(&text, count, repl.as_str())
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| run_error("regex_replace", e))
}

/// Ansible's `regex_search(pattern, *groups, ignorecase=False,
/// multiline=False)`: the first match (or `none`); with group arguments
/// (`'\\1'`, `'\\g<name>'`) a list of those groups of the first match.
pub fn regex_search(
    value: &Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let text = as_text(value)?;
    let (ignorecase, multiline) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = compile("regex_search", &pattern, ignorecase, multiline)?;
    let Some(caps) = re
        .captures(text.as_str())
        .map_err(|e| run_error("regex_search", e))?
    else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            match name.parse::<usize>() {
                Ok(i) => caps.get(i),
                Err(_) => caps.name(name),
            }
        } else if let Some(Ok(i)) = g.strip_prefix('\\').map(str::parse::<usize>) {
            caps.get(i)
        } else {
            return Err(filter_error(
                "regex_search",
                format!("unknown group argument {g:?} (use '\\\\1' or '\\\\g<name>')"),
            ));
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// Ansible's `regex_findall(pattern, ignorecase=False, multiline=False)`, as
/// Python's `re.findall`: whole matches without groups, the group with one,
/// lists of groups with several.
pub fn regex_findall(value: &Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let text = as_text(value)?;
    let (ignorecase, multiline) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = compile("regex_findall", &pattern, ignorecase, multiline)?;
    let groups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(text.as_str()) {
        let caps = caps.map_err(|e| run_error("regex_findall", e))?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str()).to_string();
        out.push(match groups {
            0 => Value::from(group(0)),
            1 => Value::from(group(1)),
            n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// Ansible's `regex_escape` (Python's `re.escape`).
pub fn regex_escape(value: &Value) -> Result<String, Error> {
    let text = as_text(value)?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !(c.is_alphanumeric() || c == '_') && c.is_ascii() {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}
