//! The `#jinja2:` first line of a template file.
//!
//! A template may set its own Jinja options on its first line, as
//! ansible-core reads them: `#jinja2: lstrip_blocks: True, variable_start_string: '[['`.
//! Pairs are split at every comma, each at its first colon, and each value
//! is a Python literal (a quoted string, `True`, `False` or `None`). The
//! line is not part of the output. ansible-core's errors are kept word for
//! word, since a `rescue:` may match on them.

use crate::FileOptions;

/// What a template file starts with when it sets its own options.
pub const PREFIX: &str = "#jinja2:";

/// Whether `source` sets its own options (and may use other delimiters, so
/// its variables cannot be listed with the default ones).
pub fn has_header(source: &str) -> bool {
    source.starts_with(PREFIX)
}

/// A Python literal as the header allows.
#[derive(Debug, PartialEq)]
enum Literal {
    Str(String),
    Bool(bool),
    None,
}

/// Splits the header off `source`: the options it gives on top of `opts`,
/// and the rest of the text. A source without a header is returned as is.
pub(crate) fn split<'a>(
    source: &'a str,
    opts: &FileOptions,
) -> Result<(FileOptions, &'a str), String> {
    let Some(after) = source.strip_prefix(PREFIX) else {
        return Ok((opts.clone(), source));
    };
    let Some(eol) = after.find('\n') else {
        return Err(format!("Missing newline after '{PREFIX}' override."));
    };
    let (line, rest) = (&after[..eol], &after[eol + 1..]);
    let mut opts = opts.clone();
    for pair in line.split(',') {
        if pair.trim().is_empty() {
            return Err(format!("Empty '{PREFIX}' override pair not allowed."));
        }
        let Some((key, value)) = pair.split_once(':') else {
            return Err(format!(
                "Missing key-value separator `:` in '{PREFIX}' override pair '{pair}'."
            ));
        };
        let key = key.trim();
        let value = literal(value.trim())
            .ok_or_else(|| format!("'{PREFIX}' override {key}: {value:?} is not a Python literal rprov reads (a quoted string, True, False or None)."))?;
        apply(&mut opts, key, value)?;
    }
    Ok((opts, rest))
}

/// Sets option `key` of `opts` to `value`.
fn apply(opts: &mut FileOptions, key: &str, value: Literal) -> Result<(), String> {
    let wrong = |want: &str| format!("'{PREFIX}' override {key} must be {want}.");
    let d = &mut opts.delimiters;
    let text = |v: Literal| match v {
        Literal::Str(s) => Ok(s),
        _ => Err(wrong("a string")),
    };
    let optional = |v: Literal| match v {
        Literal::Str(s) => Ok(Some(s)),
        Literal::None => Ok(None),
        Literal::Bool(_) => Err(wrong("a string or None")),
    };
    let flag = |v: Literal| match v {
        Literal::Bool(b) => Ok(b),
        _ => Err(wrong("True or False")),
    };
    match key {
        "block_start_string" => d.block_start = Some(text(value)?),
        "block_end_string" => d.block_end = Some(text(value)?),
        "variable_start_string" => d.variable_start = Some(text(value)?),
        "variable_end_string" => d.variable_end = Some(text(value)?),
        "comment_start_string" => d.comment_start = Some(text(value)?),
        "comment_end_string" => d.comment_end = Some(text(value)?),
        "line_statement_prefix" => opts.line_statement_prefix = optional(value)?,
        "line_comment_prefix" => opts.line_comment_prefix = optional(value)?,
        "trim_blocks" => opts.trim_blocks = flag(value)?,
        "lstrip_blocks" => opts.lstrip_blocks = flag(value)?,
        "newline_sequence" => {
            opts.newline_sequence = FileOptions::parse_newline(&text(value)?)
                .ok_or_else(|| wrong("'\\n', '\\r\\n' or '\\r'"))?;
        }
        // rprov always keeps the template's own final line breaks, as
        // ansible-core's `template` module does by default.
        "keep_trailing_newline" if flag(value)? => {}
        "keep_trailing_newline" => {
            return Err(format!(
                "'{PREFIX}' override keep_trailing_newline: False is not supported by rprov."
            ))
        }
        _ => return Err(format!("Invalid '{PREFIX}' override key '{key}'.")),
    }
    Ok(())
}

/// Reads a Python literal: `'text'` or `"text"` with backslash escapes,
/// `True`, `False`, `None`.
fn literal(s: &str) -> Option<Literal> {
    match s {
        "True" => return Some(Literal::Bool(true)),
        "False" => return Some(Literal::Bool(false)),
        "None" => return Some(Literal::None),
        _ => {}
    }
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = s[1..].strip_suffix(quote)?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            other @ ('\\' | '\'' | '"') => out.push(other),
            // Python keeps an unknown escape as written.
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(Literal::Str(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_from_the_first_line() {
        let (opts, rest) = split(
            "#jinja2: lstrip_blocks: True, variable_start_string: '[[' ,variable_end_string:\"]]\", line_statement_prefix:\":\"\nbody\n",
            &FileOptions::default(),
        )
        .unwrap();
        assert_eq!(rest, "body\n");
        assert!(opts.lstrip_blocks && opts.trim_blocks);
        assert_eq!(opts.delimiters.variable_start.as_deref(), Some("[["));
        assert_eq!(opts.delimiters.variable_end.as_deref(), Some("]]"));
        assert_eq!(opts.line_statement_prefix.as_deref(), Some(":"));
        let (same, rest) = split("#jinja2 is just text\n", &FileOptions::default()).unwrap();
        assert_eq!(
            (same, rest),
            (FileOptions::default(), "#jinja2 is just text\n")
        );
    }

    #[test]
    fn bad_headers_get_ansible_cores_words() {
        let err = |s: &str| split(s, &FileOptions::default()).unwrap_err();
        assert_eq!(
            err("#jinja2: lstrip_blocks=True\n"),
            "Missing key-value separator `:` in '#jinja2:' override pair ' lstrip_blocks=True'."
        );
        assert_eq!(
            err("#jinja2: a: 'b'\n"),
            "Invalid '#jinja2:' override key 'a'."
        );
        assert_eq!(
            err("#jinja2: trim_blocks: True,\n"),
            "Empty '#jinja2:' override pair not allowed."
        );
        assert_eq!(
            err("#jinja2: trim_blocks: True"),
            "Missing newline after '#jinja2:' override."
        );
        assert!(err("#jinja2: trim_blocks: yes\n").contains("not a Python literal"));
        assert!(err("#jinja2: trim_blocks: 'x'\n").contains("must be True or False"));
    }
}
