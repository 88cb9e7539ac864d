//! Ansible's `key=value` argument text (`copy: src=a dest=b`) and the
//! free-form text of `command`/`shell`, split as Ansible's `split_args` does.

use serde_json::{Map, Value as Json};

/// Splits Ansible's `key=value key2="quoted value"` argument text. For modules
/// that take free-form text (command, shell) only the option words such as
/// `creates=` are taken out and the rest is kept verbatim.
pub fn parse_free_form(text: &str, free_form: bool) -> Map<String, Json> {
    const COMMAND_OPTIONS: &[&str] = &["creates", "removes", "chdir", "executable", "stdin"];
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

    #[test]
    fn key_value_args() {
        let a = parse_free_form("src={{ a }}.txt dest=\"/tmp/x y\" mode=0644", false);
        assert_eq!(a["src"], "{{ a }}.txt");
        assert_eq!(a["dest"], "/tmp/x y");
        assert_eq!(a["mode"], "0644");
    }
}
