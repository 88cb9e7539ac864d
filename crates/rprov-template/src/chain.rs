//! Ansible's chained undefined, for tests and `default`.
//!
//! In Ansible, looking up an attribute of an undefined value gives another
//! undefined value, and only using it (printing, iterating, branching on it)
//! is an error. So `a.b.c is defined` is false and `a.b.c | default('x')` is
//! `'x'` when `a`, or `a.b`, does not exist: roles write
//! `when: ansible_local.app.version is defined` and
//! `{{ cfg.tls.port | default(443) }}` all the time. minijinja's strict mode
//! fails at the lookup itself, and its `Chainable` mode would also print
//! undefined values as empty text, which rprov never wants.
//!
//! So before an expression or template is compiled, a lookup chain whose
//! value goes straight into a test (`is defined`, `is not none`, …) or into
//! `default`/`d` is rewritten into a call of [`FUNCTION`], which walks the
//! chain and stops at the first missing step with an undefined value:
//! `a.b['c'].0 is defined` becomes `__rprov_chain(a, "b", 'c', 0) is defined`.
//! Every other lookup keeps minijinja's strict behaviour, and a chain that
//! resolves gives exactly the value the lookup would have.

use std::borrow::Cow;

use minijinja::value::{Rest, Value};
use minijinja::{Error, ErrorKind};

use crate::Delimiters;

/// The global function a rewritten chain calls.
pub(crate) const FUNCTION: &str = "__rprov_chain";

/// Walks `root` through `keys` as Jinja's `.name` and `[key]` lookups do,
/// giving undefined at the first step that does not exist instead of
/// failing. A key that is itself undefined (`a[missing]`) is still an error.
pub(crate) fn chain(root: Value, keys: Rest<Value>) -> Result<Value, Error> {
    let mut value = root;
    for key in keys.iter() {
        if value.is_undefined() {
            return Ok(value);
        }
        if key.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                "the key of a lookup is undefined",
            ));
        }
        value = value.get_item(key)?;
    }
    Ok(value)
}

/// Whether `text` can hold a chain this module rewrites; most templates
/// cannot, and are compiled as they are.
fn may_need(text: &str) -> bool {
    text.contains("is") || text.contains('|') || text.contains("now(") || has_literal_percent(text)
}

/// Whether `text` may hold a string literal followed by `%` (Python's
/// formatting, see [`rewrite_percent_formats`]).
fn has_literal_percent(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        (c == b'\'' || c == b'"')
            && b[i + 1..]
                .iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|&c| c == b'%')
    })
}

/// A bare expression (`when:`, `that:`, the inside of `{{ }}`) with its
/// chains rewritten.
pub(crate) fn rewrite_expr(expr: &str) -> Cow<'_, str> {
    if !may_need(expr) {
        return Cow::Borrowed(expr);
    }
    let tokens = lex(expr, None).0;
    rewrite_all(expr, &tokens, false).map_or(Cow::Borrowed(expr), Cow::Owned)
}

/// A template's text with the chains of its `{{ }}` and `{% %}` tags
/// rewritten; comments and `{% raw %}` blocks are left alone.
pub(crate) fn rewrite_template<'a>(source: &'a str, delims: &Delimiters) -> Cow<'a, str> {
    if !may_need(source) {
        return Cow::Borrowed(source);
    }
    let mut out = String::new();
    let mut copied = 0;
    each_tag(source, delims, |inner, body, tokens, _| {
        if let Some(new) = rewrite_all(body, tokens, true) {
            out.push_str(&source[copied..inner]);
            out.push_str(&new);
            copied = inner + body.len();
        }
    });
    if copied == 0 {
        return Cow::Borrowed(source);
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// Calls `f` with where each `{{ }}` and `{% %}` tag's inside starts in
/// `source`, that inside, its tokens, and whether it is an expression tag
/// (`{{ }}`); comments and `{% raw %}` blocks are skipped.
pub(crate) fn each_tag(
    source: &str,
    delims: &Delimiters,
    mut f: impl FnMut(usize, &str, &[Token], bool),
) {
    let d = |o: &Option<String>, default: &'static str| o.clone().unwrap_or(default.into());
    let var = (
        d(&delims.variable_start, "{{"),
        d(&delims.variable_end, "}}"),
    );
    let block = (d(&delims.block_start, "{%"), d(&delims.block_end, "%}"));
    let comment = (d(&delims.comment_start, "{#"), d(&delims.comment_end, "#}"));
    let mut at = 0;
    while at < source.len() {
        let rest = &source[at..];
        let Some((offset, open)) = [&var.0, &block.0, &comment.0]
            .into_iter()
            .filter_map(|open| rest.find(open.as_str()).map(|i| (i, open)))
            .min_by_key(|(i, open)| (*i, usize::MAX - open.len()))
        else {
            break;
        };
        let inner = at + offset + open.len();
        if *open == comment.0 {
            at = source[inner..]
                .find(comment.1.as_str())
                .map_or(source.len(), |i| inner + i + comment.1.len());
            continue;
        }
        let close = if *open == var.0 { &var.1 } else { &block.1 };
        let (tokens, end) = lex(&source[inner..], Some(close));
        let body = &source[inner..inner + end];
        if *open == block.0 && is_tag(&tokens, body, "raw") {
            at = end_of_raw(source, inner + end, &block).unwrap_or(source.len());
            continue;
        }
        f(inner, body, &tokens, *open == var.0);
        at = inner + end;
    }
}

/// The string literals given as arguments to `lookup`, `query` and `q` in
/// the tags of template `source` that hold template syntax, as `(start,
/// end, text)` (the literal's bytes, quotes included, and its text). The
/// lookup's name is not among them. ansible-core 2.19 renders such an
/// argument before the lookup runs (`lookup('pipe', 'echo {{ x }}')`), as
/// Ansible always did, where other string constants of a template stay text.
pub(crate) fn lookup_arg_templates(source: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    if !["lookup(", "query(", "q("]
        .iter()
        .any(|c| source.contains(c))
    {
        return out;
    }
    each_tag(source, &Delimiters::default(), |inner, body, tokens, _| {
        let word = |t: &Token| &body[t.start..t.end];
        for i in 0..tokens.len() {
            let is_call = tokens[i].kind == Kind::Name
                && ["lookup", "query", "q"].contains(&word(&tokens[i]))
                && tokens
                    .get(i + 1)
                    .is_some_and(|t| t.kind == Kind::Punct(b'(') && t.start == tokens[i].end)
                && !(i > 0 && tokens[i - 1].kind == Kind::Punct(b'.'));
            if !is_call {
                continue;
            }
            for a in string_arguments(tokens, i + 1) {
                if a.position > 0 || a.named {
                    let t = &tokens[a.token];
                    let text = crate::trust::literal_text(word(t));
                    if crate::is_template(&text) {
                        out.push((inner + t.start, inner + t.end, text));
                    }
                }
            }
        }
    });
    out
}

/// Whether a block tag's first word is `word` (`{%- raw %}`).
fn is_tag(tokens: &[Token], body: &str, word: &str) -> bool {
    tokens
        .iter()
        .find(|t| !matches!(t.kind, Kind::Punct(b'-' | b'+')))
        .is_some_and(|t| t.kind == Kind::Name && &body[t.start..t.end] == word)
}

/// Where the `{% endraw %}` tag after `from` ends.
fn end_of_raw(source: &str, from: usize, block: &(String, String)) -> Option<usize> {
    let mut at = from;
    loop {
        let open = at + source[at..].find(block.0.as_str())?;
        let inner = open + block.0.len();
        let (tokens, end) = lex(&source[inner..], Some(&block.1));
        if is_tag(&tokens, &source[inner..inner + end], "endraw") {
            return Some(inner + end);
        }
        at = inner;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Name,
    Int,
    Str,
    Punct(u8),
    /// Any other character (a non-ASCII one, in a place Jinja would refuse).
    Other,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Splits Jinja expression text into tokens, as far as chains need. With
/// `close`, stops at that delimiter outside brackets and strings and returns
/// where it starts (the text's length if it never comes).
fn lex(text: &str, close: Option<&str>) -> (Vec<Token>, usize) {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(close) = close {
            if depth == 0 && text[i..].starts_with(close) {
                return (tokens, i);
            }
        }
        let c = bytes[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'_' || c.is_ascii_alphabetic() {
            while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            Kind::Name
        } else if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            Kind::Int
        } else if c == b'\'' || c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            Kind::Str
        } else if c.is_ascii() {
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += 1;
            Kind::Punct(c)
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            Kind::Other
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    (tokens, text.len())
}

/// Words that never start a lookup chain.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
];

/// The filters a chain is rewritten for (also as `ansible.builtin.<name>`,
/// see [`feeds_test_or_default`]).
const DEFAULTS: &[&str] = &["default", "d"];

/// `text` with its chains (see [`rewrite_tokens`]) and its date
/// subtractions (see [`rewrite_subtractions`]) rewritten, or `None` when
/// it has neither.
///
/// `in_tag`: `text` is the inside of a `{{ }}` or `{% %}` tag, where a `-`
/// right after the opening delimiter is Jinja's whitespace control, not
/// a minus.
fn rewrite_all(text: &str, tokens: &[Token], in_tag: bool) -> Option<String> {
    let chained = rewrite_tokens(text, tokens);
    let current = chained.as_deref().unwrap_or(text);
    let dated = if current.contains("to_datetime") || current.contains("now(") {
        let (marker, body) = match current.strip_prefix('-') {
            Some(rest) if in_tag => ("-", rest),
            _ => ("", current),
        };
        rewrite_subtractions(body)
            .map(|new| format!("{marker}{new}"))
            .or(chained)
    } else {
        chained
    };
    let current = dated.as_deref().unwrap_or(text);
    let formatted = if has_literal_percent(current) {
        rewrite_percent_formats(current).or(dated)
    } else {
        dated
    };
    let current = formatted.as_deref().unwrap_or(text);
    let shortened = short_names(current).or(formatted);
    let current = shortened.as_deref().unwrap_or(text);
    python_names(current).or(shortened)
}

/// `text` with each string literal followed by `%` and its right operand
/// (`'%s/x' % (path)`, `"%s" % name.attr[0]`, `'%d' % 3`) made a call of
/// Python's formatting ([`crate::pyformat::FUNCTION`]), or `None` when it has
/// none. The literal must be a whole left operand (nothing binds it first),
/// as in `a == '%s' % b`.
fn rewrite_percent_formats(text: &str) -> Option<String> {
    let function = crate::pyformat::FUNCTION;
    let mut current = text.to_string();
    let mut changed = false;
    for _ in 0..64 {
        let tokens = lex(&current, None).0;
        let word = |t: &Token| &current[t.start..t.end];
        let found = (1..tokens.len()).find_map(|i| {
            if tokens[i].kind != Kind::Punct(b'%') || tokens[i - 1].kind != Kind::Str {
                return None;
            }
            // `%}` closes a tag: not an operator.
            if tokens
                .get(i + 1)
                .is_some_and(|t| t.kind == Kind::Punct(b'}') && t.start == tokens[i].end)
            {
                return None;
            }
            // `%` binds tighter than `+`, `-` and `~`, so a literal after
            // them is a whole left operand too.
            let before = i.checked_sub(2).map(|s| &tokens[s]);
            if !opens_operand(&current, before)
                && !before.is_some_and(|t| matches!(t.kind, Kind::Punct(b'+' | b'-' | b'~')))
            {
                return None;
            }
            let first = tokens.get(i + 1)?;
            let mut end = match first.kind {
                Kind::Punct(b'(') => matching_paren(&tokens, i + 1, true)?,
                // A mapping (`'%(a)s' % {'a': 1}`) or a list literal.
                Kind::Punct(b'{') => matching_close(&tokens, i + 1, b'{', b'}')?,
                Kind::Punct(b'[') => matching_bracket(&tokens, i + 1)?,
                Kind::Name if !KEYWORDS[..3].contains(&word(first)) => i + 1,
                Kind::Str | Kind::Int => i + 1,
                _ => return None,
            };
            // Attribute, subscript, call and filter steps: they bind
            // tighter than `%`.
            {
                loop {
                    match tokens.get(end + 1).map(|t| t.kind) {
                        Some(Kind::Punct(b'|'))
                            if tokens.get(end + 2).is_some_and(|t| t.kind == Kind::Name) =>
                        {
                            end += 2
                        }
                        Some(Kind::Punct(b'.'))
                            if tokens
                                .get(end + 2)
                                .is_some_and(|t| matches!(t.kind, Kind::Name | Kind::Int)) =>
                        {
                            end += 2
                        }
                        Some(Kind::Punct(b'(')) => end = matching_paren(&tokens, end + 1, true)?,
                        Some(Kind::Punct(b'[')) => end = matching_bracket(&tokens, end + 1)?,
                        _ => break,
                    }
                }
            }
            Some((
                tokens[i - 1].start,
                tokens[i - 1].end,
                tokens[i + 1].start,
                tokens[end].end,
            ))
        });
        let Some((a, lit_end, right, b)) = found else {
            break;
        };
        current = format!(
            "{}{function}({}, {}){}",
            &current[..a],
            &current[a..lit_end],
            &current[right..b],
            &current[b..]
        );
        changed = true;
    }
    changed.then_some(current)
}

/// The index of the `]` matching the `[` at `at`.
fn matching_bracket(tokens: &[Token], at: usize) -> Option<usize> {
    matching_close(tokens, at, b'[', b']')
}

/// The index of the `close` matching the `open` at `at`.
fn matching_close(tokens: &[Token], at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0i64;
    for (i, t) in tokens.iter().enumerate().skip(at) {
        match t.kind {
            Kind::Punct(c) if c == open => depth += 1,
            Kind::Punct(c) if c == close => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return Some(i);
        }
    }
    None
}

/// `text` with the fully qualified names of filters and tests
/// (`x | ansible.builtin.to_json`, `x is ansible.builtin.match(…)`, also
/// `ansible.legacy.`) cut to the short names rprov registers them under, or
/// `None` when it has none.
fn short_names(text: &str) -> Option<String> {
    if !text.contains("ansible.") {
        return None;
    }
    let (tokens, _) = lex(text, None);
    let word = |t: &Token| &text[t.start..t.end];
    let is_name = |t: &Token, w: &[&str]| t.kind == Kind::Name && w.contains(&word(t));
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for i in 1..tokens.len() {
        let after_filter_or_test = tokens[i - 1].kind == Kind::Punct(b'|')
            || is_name(&tokens[i - 1], &["is"])
            || (is_name(&tokens[i - 1], &["not"]) && i >= 2 && is_name(&tokens[i - 2], &["is"]));
        let Some([a, dot1, b, dot2, name]) = tokens.get(i..i + 5) else {
            break;
        };
        let joined = dot1.start == a.end
            && b.start == dot1.end
            && dot2.start == b.end
            && name.start == dot2.end;
        if after_filter_or_test
            && joined
            && is_name(a, &["ansible"])
            && dot1.kind == Kind::Punct(b'.')
            && is_name(b, &["builtin", "legacy"])
            && dot2.kind == Kind::Punct(b'.')
            && name.kind == Kind::Name
        {
            cuts.push((a.start, name.start));
        }
    }
    cuts.extend(named_by_string(text, &tokens));
    cuts.sort_unstable();
    if cuts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in cuts {
        out.push_str(&text[from..start]);
        from = end;
    }
    out.push_str(&text[from..]);
    Some(out)
}

/// Where the `ansible.builtin.`/`ansible.legacy.` prefix is, to cut, of each
/// test or filter named by a string constant (see [`names_given_as_text`]).
fn named_by_string(text: &str, tokens: &[Token]) -> Vec<(usize, usize)> {
    names_given_as_text(text, tokens)
        .into_iter()
        .filter_map(|(_, t)| {
            let inside = text.get(t.start + 1..t.end)?;
            let prefix = ["ansible.builtin.", "ansible.legacy."]
                .into_iter()
                .find(|p| inside.starts_with(p))?;
            Some((t.start + 1, t.start + 1 + prefix.len()))
        })
        .collect()
}

/// The string constants that name a test or a filter to the filters that
/// take one (`select('match', 'b')`, `map('quote')`, `selectattr('name',
/// 'search', 'o')`), each with whether it names a test.
fn names_given_as_text(text: &str, tokens: &[Token]) -> Vec<(bool, Token)> {
    let word = |t: &Token| &text[t.start..t.end];
    let mut names = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let (position, test) = match word(t) {
            "select" | "reject" => (0, true),
            "map" => (0, false),
            "selectattr" | "rejectattr" => (1, true),
            _ => continue,
        };
        let called = t.kind == Kind::Name
            && i > 0
            && tokens[i - 1].kind == Kind::Punct(b'|')
            && tokens
                .get(i + 1)
                .is_some_and(|p| p.kind == Kind::Punct(b'(') && p.start == t.end);
        if !called {
            continue;
        }
        // The constant that is the whole argument at `position`.
        let named = string_arguments(tokens, i + 1)
            .into_iter()
            .find(|a| a.position == position && !a.named);
        if let Some(a) = named {
            names.push((test, tokens[a.token]));
        }
    }
    names
}

/// A string constant that is a whole argument of a call.
struct StringArgument {
    /// The argument's place among the call's (keyword ones counted too).
    position: usize,
    /// Its token's index.
    token: usize,
    /// A keyword argument's value (`default='x'`).
    named: bool,
}

/// The string constants that are whole arguments of the call whose `(` is
/// `tokens[open]`.
fn string_arguments(tokens: &[Token], open: usize) -> Vec<StringArgument> {
    let mut out = Vec::new();
    let (mut depth, mut position) = (0usize, 0usize);
    for j in open..tokens.len() {
        match tokens[j].kind {
            Kind::Punct(b'(' | b'[' | b'{') => depth += 1,
            Kind::Punct(b')' | b']' | b'}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            Kind::Punct(b',') if depth == 1 => position += 1,
            Kind::Str if depth == 1 && j > open => {
                let opens = matches!(tokens[j - 1].kind, Kind::Punct(b'(' | b',' | b'='));
                let closes = tokens
                    .get(j + 1)
                    .is_some_and(|t| matches!(t.kind, Kind::Punct(b',' | b')')));
                if opens && closes {
                    out.push(StringArgument {
                        position,
                        token: j,
                        named: tokens[j - 1].kind == Kind::Punct(b'='),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The tests and filters that `source`'s string constants name to `select`,
/// `reject`, `selectattr`, `rejectattr` and `map`, as `(is_test, name)`:
/// minijinja's error for one it does not have names none.
pub(crate) fn names_in_text(source: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    each_tag(source, &Delimiters::default(), |_, body, tokens, _| {
        for (test, t) in names_given_as_text(body, tokens) {
            out.push((test, crate::trust::literal_text(&body[t.start..t.end])));
        }
    });
    if out.is_empty() {
        let (tokens, _) = lex(source, None);
        for (test, t) in names_given_as_text(source, &tokens) {
            out.push((test, crate::trust::literal_text(&source[t.start..t.end])));
        }
    }
    out
}

/// `text` with each filter and test of a collection (`x |
/// community.general.json_query(q)`, `x is ns.coll.test`) made a call of
/// the filter or test that runs Jinja plugins written in Python
/// ([`crate::python`]): `x | __rprov_python_filter('community.general.json_query', q)`.
/// `ansible.builtin.` and `ansible.legacy.` names are cut to short ones
/// before (see [`short_names`]). `None` when it has none.
fn python_names(text: &str) -> Option<String> {
    if !text.contains('.') {
        return None;
    }
    let (tokens, _) = lex(text, None);
    let word = |t: &Token| &text[t.start..t.end];
    let is_name = |t: &Token, w: &[&str]| t.kind == Kind::Name && w.contains(&word(t));
    let joined = |a: &Token, b: &Token| a.end == b.start;
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 1;
    while i < tokens.len() {
        let filter = tokens[i - 1].kind == Kind::Punct(b'|');
        let test = is_name(&tokens[i - 1], &["is"])
            || (is_name(&tokens[i - 1], &["not"]) && i >= 2 && is_name(&tokens[i - 2], &["is"]));
        if !(filter || test) || tokens[i].kind != Kind::Name {
            i += 1;
            continue;
        }
        // The dotted name: `ns.coll.name`, or deeper (`ns.coll.sub.name`).
        let mut last = i;
        while let (Some(dot), Some(next)) = (tokens.get(last + 1), tokens.get(last + 2)) {
            if dot.kind != Kind::Punct(b'.')
                || next.kind != Kind::Name
                || !joined(&tokens[last], dot)
                || !joined(dot, next)
            {
                break;
            }
            last += 2;
        }
        if last - i < 4 {
            i = last + 1;
            continue;
        }
        let function = if filter {
            crate::python::FILTER_FUNCTION
        } else {
            crate::python::TEST_FUNCTION
        };
        out.push_str(&text[copied..tokens[i].start]);
        out.push_str(&format!(
            "{function}({}",
            crate::trust::string_literal(&text[tokens[i].start..tokens[last].end])
        ));
        match tokens.get(last + 1) {
            // Its arguments follow: they become the call's, after the name.
            Some(open) if open.kind == Kind::Punct(b'(') && joined(&tokens[last], open) => {
                if tokens
                    .get(last + 2)
                    .is_some_and(|t| t.kind != Kind::Punct(b')'))
                {
                    out.push_str(", ");
                }
                copied = open.end;
            }
            _ => {
                out.push(')');
                copied = tokens[last].end;
            }
        }
        i = last + 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Tokens after which an operand in parentheses is a whole operand of a
/// binary `-` (nothing binds tighter to its left).
fn opens_operand(text: &str, t: Option<&Token>) -> bool {
    match t {
        None => true,
        Some(t) => match t.kind {
            Kind::Punct(c) => b"([{,:=<>!".contains(&c),
            Kind::Name => matches!(
                &text[t.start..t.end],
                "and" | "or" | "not" | "in" | "if" | "elif" | "else" | "return"
            ),
            _ => false,
        },
    }
}

/// Tokens before which an operand in parentheses is a whole right operand
/// of a binary `-` (nothing binds tighter to its right).
fn closes_operand(text: &str, t: Option<&Token>) -> bool {
    match t {
        None => true,
        Some(t) => match t.kind {
            Kind::Punct(c) => b")]},:=<>!+-".contains(&c),
            Kind::Name => matches!(
                &text[t.start..t.end],
                "and" | "or" | "not" | "in" | "if" | "else"
            ),
            _ => false,
        },
    }
}

/// The index of the bracket matching the one at `at` (`(` or `)`),
/// searching in `dir`.
fn matching_paren(tokens: &[Token], at: usize, forward: bool) -> Option<usize> {
    let mut depth = 0i64;
    let mut i = at;
    loop {
        match tokens.get(i)?.kind {
            Kind::Punct(b'(') => depth += if forward { 1 } else { -1 },
            Kind::Punct(b')') => depth += if forward { -1 } else { 1 },
            _ => {}
        }
        if depth == 0 {
            return Some(i);
        }
        i = if forward { i + 1 } else { i.checked_sub(1)? };
    }
}

/// `text` with its first subtraction of two operands in parentheses or
/// calls (`(a | to_datetime) - (b | to_datetime)`, `now() - (x)`) that no
/// tighter operator binds made a call of the date-aware subtraction
/// ([`crate::filters::time::SUB_FUNCTION`]), repeated while there is one.
/// minijinja has no operator for objects, so this is how a `datetime`
/// minus a `datetime` gives a `timedelta` as in Python; the function
/// leaves other values to minijinja's own `-`.
fn rewrite_subtractions(text: &str) -> Option<String> {
    let sub = crate::filters::time::SUB_FUNCTION;
    let mut current = text.to_string();
    let mut changed = false;
    // Each pass rewrites one subtraction; a long chain is cut short.
    for _ in 0..64 {
        let tokens = lex(&current, None).0;
        let word = |t: &Token| &current[t.start..t.end];
        let is_call_name = |i: usize| {
            tokens
                .get(i)
                .is_some_and(|t| t.kind == Kind::Name && !KEYWORDS.contains(&word(t)))
        };
        let found = (1..tokens.len()).find_map(|i| {
            if tokens[i].kind != Kind::Punct(b'-') || tokens[i - 1].kind != Kind::Punct(b')') {
                return None;
            }
            let open = matching_paren(&tokens, i - 1, false)?;
            let start = if open > 0 && is_call_name(open - 1) {
                open - 1
            } else {
                open
            };
            if !opens_operand(&current, start.checked_sub(1).map(|s| &tokens[s])) {
                return None;
            }
            let right_open = match tokens.get(i + 1)?.kind {
                Kind::Punct(b'(') => i + 1,
                Kind::Name
                    if is_call_name(i + 1) && tokens.get(i + 2)?.kind == Kind::Punct(b'(') =>
                {
                    i + 2
                }
                _ => return None,
            };
            let close = matching_paren(&tokens, right_open, true)?;
            if !closes_operand(&current, tokens.get(close + 1)) {
                return None;
            }
            Some((
                tokens[start].start,
                tokens[i].start,
                tokens[i].end,
                tokens[close].end,
            ))
        });
        let Some((a, minus, after_minus, b)) = found else {
            break;
        };
        let rewritten = format!(
            "{}{sub}({}, {}){}",
            &current[..a],
            current[a..minus].trim_end(),
            current[after_minus..b].trim_start(),
            &current[b..]
        );
        current = rewritten;
        changed = true;
    }
    changed.then_some(current)
}

/// `text` with every chain in `tokens` that feeds a test or `default`
/// rewritten, or `None` when there is none.
fn rewrite_tokens(text: &str, tokens: &[Token]) -> Option<String> {
    let word = |t: &Token| &text[t.start..t.end];
    let punct = |i: usize, c: u8| tokens.get(i).is_some_and(|t| t.kind == Kind::Punct(c));
    let name = |i: usize| tokens.get(i).filter(|t| t.kind == Kind::Name).map(word);
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < tokens.len() {
        let starts_chain = name(i).is_some_and(|w| !KEYWORDS.contains(&w))
            && !(i > 0
                && (punct(i - 1, b'.')
                    || punct(i - 1, b'|')
                    || punct(i - 1, b')')
                    || punct(i - 1, b']')
                    || name(i - 1) == Some("is")
                    || (name(i - 1) == Some("not") && i > 1 && name(i - 2) == Some("is"))));
        if !starts_chain {
            i += 1;
            continue;
        }
        let (keys, next) = accessors(text, tokens, i + 1);
        if keys.is_empty() || !feeds_test_or_default(text, tokens, next) {
            i = next.max(i + 1);
            continue;
        }
        out.push_str(&text[copied..tokens[i].start]);
        out.push_str(FUNCTION);
        out.push('(');
        out.push_str(word(&tokens[i]));
        for key in keys {
            out.push_str(", ");
            out.push_str(&key);
        }
        out.push(')');
        copied = tokens[next - 1].end;
        i = next;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The keys of the `.name`, `.0` and `[key]` steps from token `i` on, as
/// Jinja literals or names, and the index of the first token after them.
/// A step whose key is not a single literal or name ends the chain.
fn accessors(text: &str, tokens: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let word = |t: &Token| &text[t.start..t.end];
    let kind = |i: usize| tokens.get(i).map(|t| t.kind);
    let mut keys = Vec::new();
    loop {
        match (kind(i), kind(i + 1), kind(i + 2), kind(i + 3)) {
            (Some(Kind::Punct(b'.')), Some(Kind::Name), ..) => {
                keys.push(format!("\"{}\"", word(&tokens[i + 1])));
                i += 2;
            }
            (Some(Kind::Punct(b'.')), Some(Kind::Int), ..) => {
                keys.push(word(&tokens[i + 1]).to_string());
                i += 2;
            }
            (
                Some(Kind::Punct(b'[')),
                Some(Kind::Str | Kind::Int | Kind::Name),
                Some(Kind::Punct(b']')),
                _,
            ) if !KEYWORDS.contains(&word(&tokens[i + 1])) => {
                keys.push(word(&tokens[i + 1]).to_string());
                i += 3;
            }
            (
                Some(Kind::Punct(b'[')),
                Some(Kind::Punct(b'-')),
                Some(Kind::Int),
                Some(Kind::Punct(b']')),
            ) => {
                keys.push(format!("-{}", word(&tokens[i + 2])));
                i += 4;
            }
            _ => return (keys, i),
        }
    }
}

/// Whether the tokens from `i` on are `is [not] <test>` or `| default`
/// (`d`, also as `ansible.builtin.default`).
fn feeds_test_or_default(text: &str, tokens: &[Token], i: usize) -> bool {
    let Some(next) = tokens.get(i) else {
        return false;
    };
    match next.kind {
        Kind::Name => &text[next.start..next.end] == "is",
        Kind::Punct(b'|') => {
            let mut j = i + 1;
            // A collection's name: `ansible.builtin.default`.
            while tokens
                .get(j + 1)
                .is_some_and(|t| t.kind == Kind::Punct(b'.'))
            {
                j += 2;
            }
            tokens
                .get(j)
                .filter(|t| t.kind == Kind::Name)
                .is_some_and(|t| DEFAULTS.contains(&&text[t.start..t.end]))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> String {
        rewrite_expr(s).into_owned()
    }

    #[test]
    fn chains_into_tests_and_default_are_rewritten() {
        assert_eq!(
            expr("a.b.c is defined"),
            "__rprov_chain(a, \"b\", \"c\") is defined"
        );
        assert_eq!(
            expr("a['b'][0].1 is not defined"),
            "__rprov_chain(a, 'b', 0, 1) is not defined"
        );
        assert_eq!(
            expr("x and a.b | default('D') == 'D'"),
            "x and __rprov_chain(a, \"b\") | default('D') == 'D'"
        );
        assert_eq!(
            expr("hostvars[h].v | ansible.builtin.d(1)"),
            "__rprov_chain(hostvars, h, \"v\") | d(1)"
        );
        assert_eq!(
            expr("l[-1].x is none"),
            "__rprov_chain(l, -1, \"x\") is none"
        );
    }

    #[test]
    fn percent_formats_of_literals_are_rewritten() {
        assert_eq!(
            expr("p[d] == (\"x %s/y\" % (d))"),
            "p[d] == (__rprov_pyformat(\"x %s/y\", (d)))"
        );
        assert_eq!(
            expr("'%s-%d' % (a.b[0], n | int) ~ 'z'"),
            "__rprov_pyformat('%s-%d', (a.b[0], n | int)) ~ 'z'"
        );
        assert_eq!(
            expr("'%s' % name.attr['k'] | upper"),
            "__rprov_pyformat('%s', name.attr['k'] | upper)"
        );
        assert_eq!(expr("x + '%d' % 3"), "x + __rprov_pyformat('%d', 3)");
        assert_eq!(
            expr("'%(a)s-%(b)s' % {'a': 1, 'b': [2]} ~ 'z'"),
            "__rprov_pyformat('%(a)s-%(b)s', {'a': 1, 'b': [2]}) ~ 'z'"
        );
        // A remainder of numbers, and `%` inside a literal, stay.
        assert_eq!(expr("n % 2 == 0"), "n % 2 == 0");
        assert_eq!(expr("'100%' == x"), "'100%' == x");
        assert_eq!(
            rewrite_template("{% if '%s' % x %}y{% endif %}", &Delimiters::default()),
            "{% if __rprov_pyformat('%s', x) %}y{% endif %}"
        );
    }

    #[test]
    fn date_subtractions_are_rewritten() {
        assert_eq!(
            expr("((a | to_datetime) - (b | to_datetime)).days"),
            "(__rprov_sub((a | to_datetime), (b | to_datetime))).days"
        );
        assert_eq!(
            expr("(now() - (b | to_datetime('%Y'))).total_seconds() > 5"),
            "(__rprov_sub(now(), (b | to_datetime('%Y')))).total_seconds() > 5"
        );
        assert_eq!(
            expr("(now()) - (now()) - (now())"),
            "__rprov_sub(__rprov_sub((now()), (now())), (now()))"
        );
        let d = Delimiters::default();
        assert_eq!(
            rewrite_template("{{- (now()) - (x) -}}", &d),
            "{{- __rprov_sub((now()), (x)) -}}"
        );
    }

    #[test]
    fn subtractions_bound_tighter_are_left_alone() {
        for s in [
            // `-` binds looser than these: the operands are not the groups.
            "a * (now()) - (x)",
            "-(now()) - (x)",
            "(now()) - (x) | int",
            "(now()) - (x).days",
            "(now()) - (x) is number",
            "a ~ (now()) - (x)",
            "x.f(now()) - (y)",
            // Neither `to_datetime` nor `now()`: nothing to do.
            "(a) - (b)",
            "a - b | to_datetime",
        ] {
            assert_eq!(expr(s), s, "{s}");
        }
    }

    #[test]
    fn collection_filters_and_tests_call_the_python_plugins() {
        assert_eq!(
            python_names("x | community.general.json_query('a[0]') | length"),
            Some(
                "x | __rprov_python_filter(\"community.general.json_query\", 'a[0]') | length"
                    .into()
            )
        );
        assert_eq!(
            python_names("ip | ansible.utils.ipaddr"),
            Some("ip | __rprov_python_filter(\"ansible.utils.ipaddr\")".into())
        );
        assert_eq!(
            python_names("x is not ns.coll.sub.t() and y"),
            Some("x is not __rprov_python_test(\"ns.coll.sub.t\") and y".into())
        );
        assert_eq!(python_names("x | to_json and a.b.c"), None);
        assert_eq!(python_names("x | a.b"), None);
    }

    #[test]
    fn fully_qualified_filters_and_tests_get_their_short_names() {
        assert_eq!(
            expr("x | ansible.builtin.to_json | ansible.legacy.b64encode"),
            "x | to_json | b64encode"
        );
        assert_eq!(
            expr("x is ansible.builtin.match('a') and y is not ansible.builtin.string"),
            "x is match('a') and y is not string"
        );
        // Not a filter or test position (another collection's filter is
        // Python's: see `collection_filters_and_tests_call_the_python_plugins`).
        assert_eq!(
            expr("l | select('ansible.builtin.match', 'ansible.builtin.x') | map('ansible.legacy.quote')"),
            "l | select('match', 'ansible.builtin.x') | map('quote')"
        );
        assert_eq!(
            expr("u | selectattr('ansible.builtin.x', 'ansible.builtin.search', 'o')"),
            "u | selectattr('ansible.builtin.x', 'search', 'o')"
        );
        for s in ["ansible.builtin.x", "'x | ansible.builtin.to_json'"] {
            assert_eq!(expr(s), s);
        }
    }

    #[test]
    fn other_lookups_are_left_alone() {
        for s in [
            "a.b.c",
            "a.b.c | length",
            "a is defined",
            "x | default(a.b)",
            "a.b.items() is defined",
            "f(x).b is defined",
            "a[b + 1].c is defined",
            "'a.b is defined'",
        ] {
            assert_eq!(expr(s), s, "{s}");
        }
    }

    #[test]
    fn templates_rewrite_tags_only() {
        let d = Delimiters::default();
        let t = |s: &str| rewrite_template(s, &d).into_owned();
        assert_eq!(
            t("a.b is defined {{ a.b is defined }}"),
            "a.b is defined {{ __rprov_chain(a, \"b\") is defined }}"
        );
        assert_eq!(
            t("{% if a.b is defined %}{# a.b is defined #}{% endif %}"),
            "{% if __rprov_chain(a, \"b\") is defined %}{# a.b is defined #}{% endif %}"
        );
        assert_eq!(
            t("{% raw %}{{ a.b is defined }}{% endraw %}{{ {'k': {'v': 1}}.k is defined }}"),
            "{% raw %}{{ a.b is defined }}{% endraw %}{{ {'k': {'v': 1}}.k is defined }}"
        );
        assert_eq!(
            t("{{ '}}' ~ a.b | d('x') }}"),
            "{{ '}}' ~ __rprov_chain(a, \"b\") | d('x') }}"
        );
        let other = Delimiters {
            variable_start: Some("[[".into()),
            variable_end: Some("]]".into()),
            ..Delimiters::default()
        };
        assert_eq!(
            rewrite_template("{{ a.b is defined }} [[ a.b is defined ]]", &other),
            "{{ a.b is defined }} [[ __rprov_chain(a, \"b\") is defined ]]"
        );
    }
}
