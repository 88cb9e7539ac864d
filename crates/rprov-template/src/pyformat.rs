//! Python's `%` formatting of a string literal: `"%s/x" % (path)`,
//! `"%(name)s" % vars`, as Ansible's templates (Python's Jinja) allow.
//!
//! minijinja's `%` is the remainder of numbers only, so before a template is
//! compiled, a string literal followed by `%` and its right operand is
//! rewritten into a call of [`FUNCTION`] (see `crate::chain`): `'%s' % (x)`
//! becomes `__rprov_pyformat('%s', (x))`. The conversions of Python's
//! printf-style formatting are supported: `%s %r %a %d %i %u %f %F %e %E %g
//! %G %x %X %o %c %%`, with a `(key)`, flags `-+ 0#`, a width and a precision.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use crate::filters::{py_float_repr, py_repr, py_str};

/// The global function a rewritten `%` calls.
pub(crate) const FUNCTION: &str = "__rprov_pyformat";

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// One conversion of the format.
struct Spec {
    key: Option<String>,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: Option<usize>,
    precision: Option<usize>,
    conv: char,
}

/// Splits `fmt` into its literal text and conversions (`None` for text).
fn parse(fmt: &str) -> Result<Vec<(String, Option<Spec>)>, Error> {
    let mut out = Vec::new();
    let mut chars = fmt.chars().peekable();
    let mut text = String::new();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut k = String::new();
            let mut depth = 1;
            for c in chars.by_ref() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                k.push(c);
            }
            key = Some(k);
        }
        let mut spec = Spec {
            key,
            left: false,
            zero: false,
            plus: false,
            space: false,
            alt: false,
            width: None,
            precision: None,
            conv: 's',
        };
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        // Python accepts and ignores a length modifier.
        while matches!(chars.peek(), Some('h' | 'l' | 'L')) {
            chars.next();
        }
        let Some(conv) = chars.next() else {
            return Err(err("incomplete format"));
        };
        if conv == '%' {
            text.push('%');
            continue;
        }
        if !"sradiufFeEgGxXoc".contains(conv) {
            return Err(err(format!(
                "unsupported format character '{conv}' (0x{:x})",
                conv as u32
            )));
        }
        spec.conv = conv;
        out.push((std::mem::take(&mut text), Some(spec)));
    }
    out.push((text, None));
    Ok(out)
}

/// `fmt % args` as Python computes it.
pub(crate) fn pyformat(fmt: String, args: Value) -> Result<String, Error> {
    let parts = parse(&fmt)?;
    let specs = parts.iter().filter(|(_, s)| s.is_some()).count();
    let keyed = parts
        .iter()
        .any(|(_, s)| s.as_ref().is_some_and(|s| s.key.is_some()));
    // A tuple gives the positional arguments; anything else is one argument
    // (minijinja has no tuples: a sequence counts as the arguments when its
    // length is the number of conversions, else as one value).
    let positional: Vec<Value> = match args.kind() {
        _ if keyed => Vec::new(),
        ValueKind::Seq if specs != 1 || args.len() == Some(1) => args.try_iter()?.collect(),
        _ => vec![args.clone()],
    };
    if !keyed && positional.len() < specs {
        return Err(err("not enough arguments for format string"));
    }
    if !keyed && positional.len() > specs {
        return Err(err("not all arguments converted during string formatting"));
    }
    let mut out = String::new();
    let mut next = positional.into_iter();
    for (text, spec) in parts {
        out.push_str(&text);
        let Some(spec) = spec else { continue };
        let value = match &spec.key {
            Some(k) => {
                if args.kind() != ValueKind::Map {
                    return Err(err("format requires a mapping"));
                }
                let v = args.get_item(&Value::from(k.as_str()))?;
                if v.is_undefined() {
                    return Err(err(format!("KeyError: '{k}'")));
                }
                v
            }
            None => next.next().unwrap_or_default(),
        };
        out.push_str(&convert(&spec, &value)?);
    }
    Ok(out)
}

fn number(v: &Value, spec: &Spec) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(v.clone())
            .map_err(|_| err(format!("%{} format: a real number is required", spec.conv))),
        _ => Err(err(format!(
            "%{} format: a real number is required, not {}",
            spec.conv,
            crate::filters::py_type_name(v)
        ))),
    }
}

fn integer(v: &Value, spec: &Spec) -> Result<i128, Error> {
    if let Ok(i) = i128::try_from(v.clone()) {
        return Ok(i);
    }
    Ok(number(v, spec)?.trunc() as i128)
}

/// One conversion of `v`, padded.
fn convert(spec: &Spec, v: &Value) -> Result<String, Error> {
    let signed = |neg: bool, digits: String| -> (String, String) {
        let sign = if neg {
            "-"
        } else if spec.plus {
            "+"
        } else if spec.space {
            " "
        } else {
            ""
        };
        (sign.to_string(), digits)
    };
    let (sign, body) = match spec.conv {
        's' => (String::new(), truncate(py_str(v), spec.precision)),
        'r' | 'a' => (String::new(), truncate(py_repr(v), spec.precision)),
        'c' => (
            String::new(),
            match v.as_str() {
                Some(s) if s.chars().count() == 1 => s.to_string(),
                _ => char::from_u32(integer(v, spec)? as u32)
                    .map(String::from)
                    .ok_or_else(|| err("%c arg not in range"))?,
            },
        ),
        'd' | 'i' | 'u' => {
            let i = integer(v, spec)?;
            let mut digits = i.unsigned_abs().to_string();
            if let Some(p) = spec.precision {
                digits = format!("{digits:0>p$}");
            }
            signed(i < 0, digits)
        }
        'x' | 'X' | 'o' => {
            let i = integer(v, spec)?;
            let n = i.unsigned_abs();
            let (mut digits, prefix) = match spec.conv {
                'x' => (format!("{n:x}"), "0x"),
                'X' => (format!("{n:X}"), "0X"),
                _ => (format!("{n:o}"), "0o"),
            };
            if spec.alt {
                digits = format!("{prefix}{digits}");
            }
            signed(i < 0, digits)
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let x = number(v, spec)?;
            let p = spec.precision.unwrap_or(6);
            let digits = match spec.conv {
                'f' | 'F' => format!("{:.p$}", x.abs()),
                'e' | 'E' => exponent(x.abs(), p, spec.conv == 'E'),
                _ => general(x.abs(), p.max(1), spec.conv == 'G'),
            };
            signed(x.is_sign_negative() && x != 0.0, digits)
        }
        _ => (String::new(), py_float_repr(0.0)),
    };
    let len = sign.chars().count() + body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        return Ok(sign + &body);
    }
    let pad = width - len;
    Ok(if spec.left {
        format!("{sign}{body}{}", " ".repeat(pad))
    } else if spec.zero && !matches!(spec.conv, 's' | 'r' | 'a' | 'c') {
        format!("{sign}{}{body}", "0".repeat(pad))
    } else {
        format!("{}{sign}{body}", " ".repeat(pad))
    })
}

fn truncate(s: String, precision: Option<usize>) -> String {
    match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s,
    }
}

/// `%e`: one digit, `.`, `p` digits, `e±XX`.
fn exponent(x: f64, p: usize, upper: bool) -> String {
    let s = format!("{x:.p$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!(
        "{mantissa}{e}{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// `%g`: `%e` or `%f` by the exponent, trailing zeros dropped.
fn general(x: f64, p: usize, upper: bool) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.abs().log10().floor() as i32;
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= p as i32 {
        let s = exponent(x, p - 1, upper);
        let (m, e) = s.split_at(s.find(['e', 'E']).unwrap_or(s.len()));
        format!("{}{e}", strip(m.to_string()))
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip(format!("{x:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: Value) -> String {
        pyformat(fmt.to_string(), args).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn formats_as_python() {
        assert_eq!(f("%s/hello.gbk", Value::from("/tmp/x")), "/tmp/x/hello.gbk");
        assert_eq!(
            f(
                "%s and %d",
                Value::from(vec![Value::from("a"), Value::from(3)])
            ),
            "a and 3"
        );
        assert_eq!(
            f(
                "%5s|%-5s|",
                Value::from(vec![Value::from("a"), Value::from("b")])
            ),
            "    a|b    |"
        );
        assert_eq!(f("%05d", Value::from(-42)), "-0042");
        assert_eq!(f("%.2f", Value::from(1.23456)), "1.23");
        assert_eq!(
            f(
                "%x %o %#x",
                Value::from(vec![Value::from(255), Value::from(8), Value::from(255)])
            ),
            "ff 10 0xff"
        );
        assert_eq!(f("100%%", Value::from(vec![] as Vec<Value>)), "100%");
        assert_eq!(f("%r", Value::from("a")), "'a'");
        assert_eq!(f("%s", Value::from(true)), "True");
        assert_eq!(
            f("%s", Value::from(vec![Value::from(1), Value::from(2)])),
            "[1, 2]"
        );
        assert_eq!(f("%e", Value::from(12345.678)), "1.234568e+04");
        assert_eq!(f("%g", Value::from(0.0001)), "0.0001");
        assert_eq!(f("%g", Value::from(1e20)), "1e+20");
        let m = crate::convert::to_value(&serde_json::json!({"name": "web", "n": 2}));
        assert_eq!(f("%(name)s-%(n)02d", m), "web-02");
        assert!(f("%s %s", Value::from("a")).starts_with("ERR"));
        assert!(f("%d", Value::from("a")).starts_with("ERR"));
    }
}
