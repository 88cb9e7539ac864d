//! Python's `str` methods that minijinja's pycompat leaves out and real
//! templates call: `ljust`, `rjust`, `center` (with a fill character),
//! `zfill`, `partition`, `rpartition` and `swapcase`.

use minijinja::value::Value;
use minijinja::{Error, ErrorKind};

/// `method` of string `s` with `args`; `None` when it is not one of these.
pub fn call(s: &str, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let out = match method {
        "ljust" | "rjust" | "center" => pad(s, method, args),
        "zfill" => width(method, args.first(), args.len() == 1).map(|w| zfill(s, w).into()),
        "partition" | "rpartition" => sep(method, args).map(|sep| partition(s, &sep, method)),
        "swapcase" if args.is_empty() => Ok(swapcase(s).into()),
        _ => return None,
    };
    Some(out)
}

/// Python's `center` split of the padding: the odd column goes left when
/// the width is odd too.
pub fn center_split(pad: usize, width: usize) -> (usize, usize) {
    let left = pad / 2 + (pad & width & 1);
    (left, pad - left)
}

fn pad(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let w = width(method, args.first(), (1..=2).contains(&args.len()))?;
    let fill = match args.get(1) {
        None => ' ',
        Some(f) => {
            let mut chars = f.as_str().unwrap_or_default().chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(type_error(format!(
                        "The fill character must be exactly one character long ({method})"
                    )))
                }
            }
        }
    };
    let len = s.chars().count();
    let padding = w.saturating_sub(len);
    let (left, right) = match method {
        "ljust" => (0, padding),
        "rjust" => (padding, 0),
        _ => center_split(padding, w),
    };
    let fill = |n: usize| fill.to_string().repeat(n);
    Ok(format!("{}{s}{}", fill(left), fill(right)).into())
}

fn zfill(s: &str, w: usize) -> String {
    let len = s.chars().count();
    if w <= len {
        return s.to_string();
    }
    let zeros = "0".repeat(w - len);
    match s.strip_prefix(['+', '-']) {
        Some(rest) => format!("{}{zeros}{rest}", &s[..1]),
        None => format!("{zeros}{s}"),
    }
}

fn partition(s: &str, sep: &str, method: &str) -> Value {
    let found = match method {
        "partition" => s.find(sep),
        _ => s.rfind(sep),
    };
    let parts: [&str; 3] = match found {
        Some(i) => [&s[..i], sep, &s[i + sep.len()..]],
        None if method == "partition" => [s, "", ""],
        None => ["", "", s],
    };
    Value::from(parts.iter().map(|p| Value::from(*p)).collect::<Vec<_>>())
}

fn swapcase(s: &str) -> String {
    s.chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_uppercase() {
                Box::new(c.to_lowercase())
            } else if c.is_lowercase() {
                Box::new(c.to_uppercase())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect()
}

fn width(method: &str, w: Option<&Value>, arity_ok: bool) -> Result<usize, Error> {
    match w.map(|w| i64::try_from(w.clone())) {
        Some(Ok(n)) if arity_ok => Ok(usize::try_from(n).unwrap_or(0)),
        _ => Err(type_error(format!("{method}() takes an integer width"))),
    }
}

fn sep(method: &str, args: &[Value]) -> Result<String, Error> {
    match args {
        [s] if s.as_str().is_some_and(|s| !s.is_empty()) => {
            Ok(s.as_str().unwrap_or_default().to_string())
        }
        [s] if s.as_str().is_some() => Err(type_error("empty separator".to_string())),
        _ => Err(type_error(format!("{method}() takes one string separator"))),
    }
}

fn type_error(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_ok(s: &str, m: &str, args: &[Value]) -> Value {
        call(s, m, args).expect("a method").expect("no error")
    }

    #[test]
    fn pads_as_python() {
        assert_eq!(
            call_ok("x", "ljust", &[4.into(), "-".into()]).as_str(),
            Some("x---")
        );
        assert_eq!(call_ok("x", "rjust", &[3.into()]).as_str(), Some("  x"));
        assert_eq!(
            call_ok("x", "center", &[9.into(), "*".into()]).as_str(),
            Some("****x****")
        );
        // Python: 'ab'.center(5) == '  ab ' and 'a'.center(4) == ' a  '.
        assert_eq!(call_ok("ab", "center", &[5.into()]).as_str(), Some("  ab "));
        assert_eq!(call_ok("a", "center", &[4.into()]).as_str(), Some(" a  "));
        assert_eq!(call_ok("-7", "zfill", &[4.into()]).as_str(), Some("-007"));
        assert_eq!(call_ok("long", "zfill", &[2.into()]).as_str(), Some("long"));
        assert!(call("x", "ljust", &[4.into(), "ab".into()]).is_some_and(|r| r.is_err()));
    }

    #[test]
    fn partitions_and_swaps_as_python() {
        let p = call_ok("a-b-c", "partition", &["-".into()]);
        assert_eq!(p.to_string(), "['a', '-', 'b-c']");
        let p = call_ok("a-b-c", "rpartition", &["-".into()]);
        assert_eq!(p.to_string(), "['a-b', '-', 'c']");
        let p = call_ok("abc", "rpartition", &["-".into()]);
        assert_eq!(p.to_string(), "['', '', 'abc']");
        assert_eq!(call_ok("aB c", "swapcase", &[]).as_str(), Some("Ab C"));
        assert!(call("x", "upper", &[]).is_none());
    }
}
