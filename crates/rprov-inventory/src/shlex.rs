//! A POSIX shell-word splitter with Python `shlex.split` semantics.
//!
//! Ansible splits INI host lines with `shlex.split(line, comments=True)` and
//! `ansible_ssh_common_args` / `ansible_ssh_extra_args` with `shlex.split`. Matching
//! its quoting rules exactly matters: `b="x y"` must give `x y`, `a=b#c` ends the
//! line at `#`, and a backslash escapes only a few characters inside double quotes.
//! The rules are small enough that writing them here beats a dependency.

/// Split `s` into words. With `comments`, a `#` outside quotes ends the line
/// (also in the middle of a word, as Python's shlex does).
pub(crate) fn split(s: &str, comments: bool) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' if comments => {
                break;
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(n) => cur.push(n),
                    None => return Err("no character after the final backslash".into()),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err("no closing quotation (')".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('\\' | '"' | '$' | '`')) => cur.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err("no closing quotation (\")".into()),
                        },
                        Some(n) => cur.push(n),
                        None => return Err("no closing quotation (\")".into()),
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn like_python_shlex() {
        // Expected values come from Python 3.11 `shlex.split(s, comments=True)`.
        assert_eq!(split("a=b#c d", true).unwrap(), ["a=b"]);
        assert_eq!(split("a=\"x#y\" #c", true).unwrap(), ["a=x#y"]);
        assert_eq!(
            split(r#"a="x\ny\"" b=c\ d"#, true).unwrap(),
            ["a=x\\ny\"", "b=c d"]
        );
        assert_eq!(split("h c='z y' e=", true).unwrap(), ["h", "c=z y", "e="]);
        assert_eq!(split("''", false).unwrap(), [""]);
        assert_eq!(split("  ", false).unwrap(), Vec::<String>::new());
        assert_eq!(split("-o 'A B' #x", false).unwrap(), ["-o", "A B", "#x"]);
    }

    #[test]
    fn errors() {
        assert!(split("a='x", true)
            .unwrap_err()
            .contains("closing quotation"));
        assert!(split("a=\"x", true)
            .unwrap_err()
            .contains("closing quotation"));
        assert!(split("a\\", true).unwrap_err().contains("backslash"));
    }
}
