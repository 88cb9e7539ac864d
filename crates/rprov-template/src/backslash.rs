//! Ansible's backslash rule for string constants in `{{ }}`.
//!
//! A template written in YAML has its backslashes read twice: by YAML
//! (`"\\1"` is `\1`), then by Jinja (`'\1'` would be the character 1).
//! ansible-core reads them once: its lexer doubles every backslash of a
//! string constant inside `{{ }}` before Jinja decodes it, so the constant
//! holds the text between its quotes as written. That is why the role idiom
//! `msg: "{{ name | regex_replace('^(.*)_x$', '\\1') }}"` gets the
//! back-reference `\1`, and `"{{ 'a\\nb' }}"` is four characters.
//!
//! The rule covers templates taken from playbook data (task arguments,
//! variables), and only their `{{ }}` tags: not `{% %}` tags, not template
//! files (`template`, `lookup('template')`) and not bare expressions
//! (`when`, `that`, `debug`'s `var`), which decode escapes as Jinja does.

use std::borrow::Cow;

use crate::chain::{each_tag, Kind};
use crate::Delimiters;

/// `source` (a template from playbook data) with each string constant of
/// its `{{ }}` tags that holds a backslash rewritten into a constant holding
/// the text between its quotes as written.
pub(crate) fn keep_backslashes(source: &str) -> Cow<'_, str> {
    if !source.contains('\\') {
        return Cow::Borrowed(source);
    }
    let mut out = String::new();
    let mut copied = 0;
    each_tag(
        source,
        &Delimiters::default(),
        |inner, body, tokens, is_expression| {
            if !is_expression {
                return;
            }
            for t in tokens.iter().filter(|t| t.kind == Kind::Str) {
                let literal = &body[t.start..t.end];
                let Some(text) = as_written(literal) else {
                    continue;
                };
                out.push_str(&source[copied..inner + t.start]);
                out.push_str(&crate::trust::string_literal(text));
                copied = inner + t.end;
            }
        },
    );
    if copied == 0 {
        return Cow::Borrowed(source);
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// The text between the quotes of string constant `literal` when it holds
/// a backslash and is closed; `None` when there is nothing to rewrite.
fn as_written(literal: &str) -> Option<&str> {
    let quote = literal.chars().next()?;
    let text = literal.get(1..literal.len() - 1)?;
    (literal.len() >= 2 && literal.ends_with(quote) && text.contains('\\')).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::keep_backslashes;

    #[test]
    fn expression_constants_keep_their_backslashes() {
        let cases = [
            // ansible-core's own example: the back-reference survives.
            (
                r"{{ x | regex_replace('(\d)', '\1') }}",
                r#"{{ x | regex_replace("(\\d)", "\\1") }}"#,
            ),
            (r"a {{ 'a\nb' }} b", r#"a {{ "a\\nb" }} b"#),
            // A quote escaped in the constant stays escaped, backslash kept.
            (r#"{{ 'a\'b' }}"#, r#"{{ "a\\'b" }}"#),
            (r#"{{ "x\"y" }}"#, r#"{{ "x\\\"y" }}"#),
            // Statements, comments and raw blocks decode as Jinja does.
            (
                r"{% set s = 'a\nb' %}{{ s }}",
                r"{% set s = 'a\nb' %}{{ s }}",
            ),
            (
                r"{# 'a\nb' #}{% raw %}{{ 'a\nb' }}{% endraw %}",
                r"{# 'a\nb' #}{% raw %}{{ 'a\nb' }}{% endraw %}",
            ),
            // Constants without a backslash, and unclosed ones, are left.
            (r"{{ 'a' ~ '\t' }}", r#"{{ 'a' ~ "\\t" }}"#),
            ("{{ 'a\\", "{{ 'a\\"),
            ("no backslash {{ 'x' }}", "no backslash {{ 'x' }}"),
        ];
        for (source, want) in cases {
            assert_eq!(keep_backslashes(source), want, "{source}");
        }
    }
}
