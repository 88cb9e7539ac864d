//! The part of Python's `ast.literal_eval` that INI inventory values go through.
//!
//! Ansible's INI plugin passes every value (`host a=1`, `[g:vars]` lines) through
//! `ast.literal_eval` and keeps the raw string when that fails. So `1` is an int,
//! `1.5` a float, `True` a bool, `None` null, `[1,2]` a list and `'x'` a string, while
//! `yes`, `true`, `0644` and `{k:1}` stay strings. Users depend on exactly this
//! (e.g. `ansible_port=22` being an int but `mode=0644` a string), so we evaluate
//! the same grammar: numbers, strings, True/False/None, lists, tuples, sets and dicts.
//! What JSON has no type for becomes what ansible-core 2.19 makes of it: sets
//! (`set()` too) lists, `...` and imaginary numbers (`1j`) their text.

use serde_json::{Map, Number, Value};

/// Evaluate `s` as a Python literal, or `None` when Python would fail.
pub(crate) fn literal_eval(s: &str) -> Option<Value> {
    let src = s.trim_start_matches([' ', '\t']);
    let mut p = Parser {
        s: src.as_bytes(),
        i: 0,
        src,
    };
    let v = p.expr(0)?;
    p.ws();
    if p.i == p.s.len() {
        Some(v)
    } else {
        None
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    src: &'a str,
}

const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skip whitespace and comments (Python allows both around a literal).
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                self.i += 1;
            } else if c == b'#' {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn expr(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        let c = self.peek()?;
        match c {
            b'[' => self.seq(b']', depth),
            b'(' => {
                // A parenthesised value or a tuple.
                self.i += 1;
                self.ws();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Some(Value::Array(vec![]));
                }
                let first = self.expr(depth + 1)?;
                self.ws();
                match self.peek()? {
                    b')' => {
                        self.i += 1;
                        Some(first)
                    }
                    b',' => {
                        self.i += 1;
                        let mut items = vec![first];
                        self.items_until(b')', &mut items, depth)?;
                        Some(Value::Array(items))
                    }
                    _ => None,
                }
            }
            b'{' => self.dict_or_set(depth),
            b'\'' | b'"' => self.strings(),
            b'-' | b'+' => {
                self.i += 1;
                self.ws();
                let v = self.number()?;
                if c == b'+' {
                    return Some(v);
                }
                if let Some(n) = v.as_i64() {
                    return Some(Value::Number(Number::from(n.checked_neg()?)));
                }
                Number::from_f64(-v.as_f64()?).map(Value::Number)
            }
            b'.' if self.src[self.i..].starts_with("...") => {
                // Ellipsis, which ansible-core keeps as its text.
                self.i += 3;
                Some(Value::String("...".into()))
            }
            b'0'..=b'9' | b'.' => self.number(),
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let word = &self.src[start..self.i];
                match word {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    // The empty set, which ansible-core makes a list.
                    "set" if self.src[self.i..].starts_with("()") => {
                        self.i += 2;
                        Some(Value::Array(vec![]))
                    }
                    _ => {
                        // String prefixes: u'', b'', r'' (and combinations) are literals.
                        let lower = word.to_ascii_lowercase();
                        if matches!(self.peek(), Some(b'\'' | b'"'))
                            && matches!(lower.as_str(), "u" | "b" | "r" | "br" | "rb")
                        {
                            self.i = start;
                            self.strings()
                        } else {
                            None
                        }
                    }
                }
            }
            _ => None,
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        self.items_until(close, &mut items, depth)?;
        Some(Value::Array(items))
    }

    /// Parse `a, b, c]` (with optional trailing comma) after the opener.
    fn items_until(&mut self, close: u8, items: &mut Vec<Value>, depth: usize) -> Option<()> {
        loop {
            self.ws();
            if self.peek()? == close {
                self.i += 1;
                return Some(());
            }
            items.push(self.expr(depth + 1)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn dict_or_set(&mut self, depth: usize) -> Option<Value> {
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr(depth + 1)?;
        self.ws();
        if self.peek()? != b':' {
            // A set: literal_eval accepts it; JSON has no sets, so a list it is.
            let mut items = vec![first];
            match self.peek()? {
                b'}' => self.i += 1,
                b',' => {
                    self.i += 1;
                    self.items_until(b'}', &mut items, depth)?;
                }
                _ => return None,
            }
            return Some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            let value = self.expr(depth + 1)?;
            let key_text = match key {
                Value::String(s) => s,
                // Unhashable keys are an error in Python too.
                Value::Array(_) | Value::Object(_) => return None,
                other => other.to_string(),
            };
            map.insert(key_text, value);
            self.ws();
            match self.peek()? {
                b'}' => {
                    self.i += 1;
                    return Some(Value::Object(map));
                }
                b',' => {
                    self.i += 1;
                    self.ws();
                    if self.peek()? == b'}' {
                        self.i += 1;
                        return Some(Value::Object(map));
                    }
                    key = self.expr(depth + 1)?;
                }
                _ => return None,
            }
        }
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut any = false;
        loop {
            self.ws();
            let start = self.i;
            let mut raw = false;
            while let Some(c) = self.peek() {
                match c {
                    b'r' | b'R' => raw = true,
                    b'u' | b'U' | b'b' | b'B' => {}
                    _ => break,
                }
                self.i += 1;
            }
            match self.peek() {
                Some(q @ (b'\'' | b'"')) => {
                    self.i += 1;
                    self.one_string(q, raw, &mut out)?;
                    any = true;
                }
                _ => {
                    self.i = start;
                    break;
                }
            }
        }
        any.then_some(Value::String(out))
    }

    fn one_string(&mut self, q: u8, raw: bool, out: &mut String) -> Option<()> {
        // Triple-quoted strings are rare in inventories; treat them as "not a literal".
        if self.s.get(self.i) == Some(&q) && self.s.get(self.i + 1) == Some(&q) {
            return None;
        }
        let rest = &self.src[self.i..];
        let mut chars = rest.char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                c if c as u32 == u32::from(q) => {
                    self.i += off + 1;
                    return Some(());
                }
                '\n' => return None,
                '\\' if raw => {
                    out.push('\\');
                    let (_, n) = chars.next()?;
                    out.push(n);
                }
                '\\' => {
                    let (_, n) = chars.next()?;
                    match n {
                        '\n' => {}
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'a' => out.push('\x07'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'v' => out.push('\x0b'),
                        '\\' | '\'' | '"' => out.push(n),
                        'x' | 'u' | 'U' => {
                            let len = match n {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let mut code = String::new();
                            for _ in 0..len {
                                code.push(chars.next()?.1);
                            }
                            out.push(char::from_u32(u32::from_str_radix(&code, 16).ok()?)?);
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
        None
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E'))
                && !self.src[start..self.i].starts_with("0x")
                && !self.src[start..self.i].starts_with("0X"))
        {
            self.i += 1;
        }
        let text = &self.src[start..self.i];
        parse_number(text)
    }
}

fn valid_underscores(digits: &str) -> bool {
    !digits.starts_with('_') && !digits.ends_with('_') && !digits.contains("__")
}

fn parse_number(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    // An imaginary number: ansible-core keeps Python's `str()` of it
    // (`1j`, `1.5j`, `2J` as `2j`).
    if let Some(im) = text.strip_suffix(['j', 'J']) {
        let f = parse_number(im)?.as_f64()?;
        return Some(Value::String(match f.fract() == 0.0 && f.abs() < 1e16 {
            true => format!("{}j", f as i64),
            false => format!("{f}j"),
        }));
    }
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits);
            if digits.is_empty() || !valid_underscores(digits) {
                return None;
            }
            let n = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
            return Some(Value::Number(n.into()));
        }
    }
    if !lower
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    let is_float = lower.contains(['.', 'e']);
    if !is_float {
        if !valid_underscores(&lower) {
            return None;
        }
        let digits = lower.replace('_', "");
        // Python 3 rejects leading zeros in ints (`0644`), except all zeros.
        if digits.len() > 1 && digits.starts_with('0') && digits.chars().any(|c| c != '0') {
            return None;
        }
        return digits.parse::<i64>().ok().map(|n| Value::Number(n.into()));
    }
    for part in lower.split(['.', 'e', '+', '-']) {
        if !part.is_empty() && !valid_underscores(part) {
            return None;
        }
    }
    let f: f64 = lower.replace('_', "").parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::literal_eval;
    use serde_json::json;

    #[test]
    fn scalars_like_python() {
        assert_eq!(literal_eval("1"), Some(json!(1)));
        assert_eq!(literal_eval(" 1 # c"), Some(json!(1)));
        assert_eq!(literal_eval("-3"), Some(json!(-3)));
        assert_eq!(literal_eval("1.5"), Some(json!(1.5)));
        assert_eq!(literal_eval("1e3"), Some(json!(1000.0)));
        assert_eq!(literal_eval("0x1F"), Some(json!(31)));
        assert_eq!(literal_eval("1_0"), Some(json!(10)));
        assert_eq!(literal_eval("00"), Some(json!(0)));
        assert_eq!(literal_eval("True"), Some(json!(true)));
        assert_eq!(literal_eval("False"), Some(json!(false)));
        assert_eq!(literal_eval("None"), Some(json!(null)));
        assert_eq!(literal_eval("'x y'"), Some(json!("x y")));
        assert_eq!(literal_eval("\"a\\tb\""), Some(json!("a\tb")));
        assert_eq!(literal_eval("'a' 'b'"), Some(json!("ab")));
        assert_eq!(literal_eval("u'a'"), Some(json!("a")));
    }

    #[test]
    fn not_literals_stay_strings() {
        for s in [
            "yes", "true", "false", "0644", "{k:1}", "foo=bar", "x y", "Nope", "", "1 2", "1__0",
            "'''x'''", "web01", "1.2.3.4", "--",
        ] {
            assert_eq!(literal_eval(s), None, "{s}");
        }
    }

    #[test]
    fn what_json_lacks_is_as_ansible_core_makes_it() {
        assert_eq!(
            literal_eval("[..., 1j, set(), {1, 2}, b'x', 2J, 1.5j]"),
            Some(json!(["...", "1j", [], [1, 2], "x", "2j", "1.5j"]))
        );
        assert_eq!(literal_eval("set"), None);
    }

    #[test]
    fn containers() {
        assert_eq!(
            literal_eval("[1, 'a', [True]]"),
            Some(json!([1, "a", [true]]))
        );
        assert_eq!(literal_eval("(1,2)"), Some(json!([1, 2])));
        assert_eq!(literal_eval("(1)"), Some(json!(1)));
        assert_eq!(literal_eval("{1,2}"), Some(json!([1, 2])));
        assert_eq!(
            literal_eval("{'k': 1, 'l': [2],}"),
            Some(json!({"k": 1, "l": [2]}))
        );
        assert_eq!(literal_eval("[".repeat(200).as_str()), None);
    }
}
