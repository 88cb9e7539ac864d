//! Ansible's `key=value` argument text (`copy: src=a dest=b`, and a
//! lookup's inline options: `lookup('csvfile', 'key file=f.csv col=2')`) and
//! the free-form text of `command`/`shell`, split as Ansible's `split_args`
//! and `parse_kv` do.

use serde_json::{Map, Value as Json};

/// Splits Ansible's `key=value key2="quoted value"` argument text. For modules
/// that take free-form text (command, shell) only the option words such as
/// `creates=` are taken out and the rest is kept verbatim.
pub fn parse_free_form(text: &str, free_form: bool) -> Map<String, Json> {
    if let Some(params) = split_args(text) {
        return kv_args(&params, free_form.then_some(COMMAND_OPTIONS));
    }
    let words = split_words(text);
    let mut args = Map::new();
    let mut rest = Vec::new();
    for word in &words {
        match word.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && (!free_form || COMMAND_OPTIONS.contains(&k)) =>
            {
                args.insert(k.to_string(), Json::String(unquote(v)));
            }
            _ => rest.push(word.as_str()),
        }
    }
    if free_form {
        let raw = if rest.len() == words.len() {
            text.trim().to_string()
        } else {
            rest.join(" ")
        };
        if !raw.is_empty() {
            args.insert("_raw_params".into(), Json::String(raw));
        }
    } else if !rest.is_empty() {
        args.insert("_raw_params".into(), Json::String(rest.join(" ")));
    }
    args
}

/// The options `command`/`shell` take out of their free-form text (the rest
/// is the command), as Ansible's `parse_kv` with `check_raw`.
const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Argument text as Ansible's `parse_kv` reads it: `key=value` words are
/// arguments (any key, `set_fact: "{{ name }}=x"` too; with `only`, as for
/// `command`/`shell`'s free-form text, just those keys), and the other words
/// are joined back into `_raw_params` (`join_args`): line breaks kept, except
/// after a lone `\` outside quotes.
fn kv_args(params: &[String], only: Option<&[&str]>) -> Map<String, Json> {
    let mut args = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for p in params {
        // As ansible-core, escapes are decoded before the word is split at
        // its `=`; a word kept for the command is kept as written.
        let x = decode_escapes(p);
        // The first `=` not escaped with `\`, after the first character.
        let eq = x
            .char_indices()
            .skip(1)
            .find(|&(i, c)| c == '=' && !x[..i].ends_with('\\'))
            .map(|(i, _)| i);
        match eq.map(|i| (&x[..i], &x[i + 1..])) {
            Some((k, v)) if only.is_none_or(|keys| keys.contains(&k)) => {
                args.insert(k.trim().to_string(), Json::String(unquote(v.trim())));
            }
            // Only escaped `=`: a word of the command, unescaped.
            None if x.contains('=') => raw.push(x.replace("\\=", "=")),
            _ => raw.push(p.clone()),
        }
    }
    if !raw.is_empty() {
        let mut joined = String::new();
        for p in raw {
            if !joined.is_empty() && !joined.ends_with('\n') {
                joined.push(' ');
            }
            joined.push_str(&p);
        }
        args.insert("_raw_params".into(), Json::String(joined));
    }
    args
}

/// ansible-core's `_decode_escapes` of one `key=value` word: `\\`, `\'`,
/// `\"`, `\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\xhh`, `\uhhhh` and
/// `\Uhhhhhhhh` become the characters they name (so `regexp='\b'` is a
/// backspace and `regexp='\\b'` a word boundary, as in Ansible). Other
/// backslashes (`\1`, `\d`) are kept; so are `\N{name}` escapes, which
/// rprov does not decode.
fn decode_escapes(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let hex = |n: usize| {
            after
                .get(1..=n)
                .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32)
        };
        let (decoded, used) = match after.chars().next() {
            Some(c @ ('\\' | '\'' | '"')) => (Some(c), 1),
            Some('a') => (Some('\u{7}'), 1),
            Some('b') => (Some('\u{8}'), 1),
            Some('f') => (Some('\u{c}'), 1),
            Some('n') => (Some('\n'), 1),
            Some('r') => (Some('\r'), 1),
            Some('t') => (Some('\t'), 1),
            Some('v') => (Some('\u{b}'), 1),
            Some('x') => (hex(2), 3),
            Some('u') => (hex(4), 5),
            Some('U') => (hex(8), 9),
            _ => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Ansible's `split_args`: the text split on spaces, with words put back
/// together inside quotes and Jinja blocks, line breaks kept at the end of
/// the word before them, and a lone `\` outside quotes joining a line to the
/// next. None when a quote or Jinja block is left open.
fn split_args(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let mut params: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0usize, 0usize, 0usize);
    let last = |params: &mut Vec<String>| -> usize {
        if params.is_empty() {
            params.push(String::new());
        }
        params.len() - 1
    };
    for (line_no, line) in lines.iter().enumerate() {
        let mut continued = false;
        for (idx, token) in line.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                let i = last(&mut params);
                params[i].push(' ');
                continue;
            }
            if token == "\\" && quote.is_none() {
                continued = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let in_jinja = print > 0 || block > 0 || comment > 0;
            let mut appended = false;
            if quoted && !was_quoted && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || quoted || was_quoted {
                let i = last(&mut params);
                if idx > 0 {
                    params[i].push(' ');
                }
                params[i].push_str(token);
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                let (o, c) = (token.matches(open).count(), token.matches(close).count());
                if o != c {
                    *depth = (*depth + o).saturating_sub(c);
                }
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_jinja = print > 0 || block > 0 || comment > 0;
            if !in_jinja && quote.is_none() && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_no != lines.len() - 1 && !continued {
            let i = last(&mut params);
            params[i].push('\n');
        }
    }
    (print == 0 && block == 0 && comment == 0 && quote.is_none()).then_some(params)
}

/// The quote a word leaves open, given the one open before it (a quote
/// character after `\\` does not count), as Ansible's `_get_quote_state`.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// Splits on unquoted whitespace, keeping quotes inside words.
pub(super) fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    // Jinja blocks (`{{ a }}`) keep their inner spaces, as in Ansible's split_args.
    let mut depth = 0usize;
    let mut prev = '\0';
    for c in text.chars() {
        if quote.is_none() {
            if (prev == '{' && (c == '{' || c == '%')) || (prev == '%' && c == '}' && depth > 0) {
                if c == '}' {
                    depth -= 1;
                } else {
                    depth += 1;
                }
            } else if prev == '}' && c == '}' && depth > 0 {
                depth -= 1;
            }
        }
        prev = c;
        if depth > 0 && quote.is_none() {
            cur.push(c);
            continue;
        }
        match quote {
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_form_command_options() {
        let a = parse_free_form("touch /x creates=/x", true);
        assert_eq!(a["_raw_params"], "touch /x");
        assert_eq!(a["creates"], "/x");
        let a = parse_free_form("echo  'a=b'  c", true);
        assert_eq!(a["_raw_params"], "echo  'a=b'  c");
    }

    /// Expected values are what ansible-core 2.19's `parse_kv(text)`
    /// returns for the same text: escapes decoded before the split.
    #[test]
    fn key_value_escapes_as_ansible_decodes_them() {
        let cases: &[(&str, serde_json::Value)] = &[
            (
                r#"path=/x regexp='\b(.+)\b' replace='\"\1\"'"#,
                serde_json::json!({"path": "/x", "regexp": "\u{8}(.+)\u{8}", "replace": "\"\\1\""}),
            ),
            (
                r"regexp='\\b(.+)\\b' msg=a\tb\x41\u00e9",
                serde_json::json!({"regexp": "\\b(.+)\\b", "msg": "a\tbA\u{e9}"}),
            ),
            (r"x=\d+ y=\q", serde_json::json!({"x": "\\d+", "y": "\\q"})),
        ];
        for (text, want) in cases {
            assert_eq!(
                &Json::Object(parse_free_form(text, false)),
                want,
                "{text:?}"
            );
        }
    }

    /// Expected values are what ansible-core 2.19's
    /// `parse_kv(text, check_raw=True)` returns for the same text.
    #[test]
    fn free_form_text_as_ansible_splits_it() {
        let cases: &[(&str, serde_json::Value)] = &[
            (
                "echo this is a \\\n\"multiline echo\" \\\n\"with a new line\nin quotes\" \\\n| python3 -c 'print(1)'\necho \"second\"\n",
                serde_json::json!({"_raw_params": "echo this is a \"multiline echo\" \"with a new line\nin quotes\" | python3 -c 'print(1)'\necho \"second\"\n"}),
            ),
            (
                "echo {{ a }}  b chdir=/tmp\n  indented\n",
                serde_json::json!({"chdir": "/tmp", "_raw_params": "echo {{ a }}  b indented\n"}),
            ),
            ("ls \\\nfoo", serde_json::json!({"_raw_params": "ls foo"})),
            (
                "echo a\\=b stdin='x y'",
                serde_json::json!({"stdin": "x y", "_raw_params": "echo a=b"}),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(&Json::Object(parse_free_form(text, true)), want, "{text:?}");
        }
    }

    #[test]
    fn key_value_args() {
        let a = parse_free_form("src={{ a }}.txt dest=\"/tmp/x y\" mode=0644", false);
        assert_eq!(a["src"], "{{ a }}.txt");
        assert_eq!(a["dest"], "/tmp/x y");
        assert_eq!(a["mode"], "0644");
    }
}
