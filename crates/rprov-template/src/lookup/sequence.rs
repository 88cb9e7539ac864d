//! `with_sequence`: Ansible's `sequence` lookup. Either `key=value` words
//! (`start=0 end=10 stride=2 format=%02d`, or `count=N` instead of `end`) or
//! the short form `[start-]end[/stride][:format]` (`5`, `2-10/2`,
//! `4:host%02d`). Numbers may be written in hex (`0x3f`) or octal (`0o17`,
//! `017`). The items are text, each number put through `format` (`%d` by
//! default), as Ansible's are.

use serde_json::{Map, Value as Json};

/// What the sequence asks for, before it is checked.
#[derive(Debug, Default)]
struct Spec {
    start: Option<i64>,
    end: Option<i64>,
    count: Option<i64>,
    stride: Option<i64>,
    format: Option<String>,
}

/// The items of a `with_sequence` value (text, a mapping, or a list of
/// either), or what is wrong with it.
pub fn items(v: &Json, max: usize) -> Result<Vec<Json>, String> {
    let terms: Vec<&Json> = match v {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for term in terms {
        let spec = match term {
            Json::String(s) => parse_text(s)?,
            Json::Object(m) => parse_map(m)?,
            // Ansible's lookup fails on a number (`with_sequence: 3`).
            Json::Number(n) => {
                return Err(format!(
                    "with_sequence: `{n}` is a number, and the sequence is text: write `end={n}` or quote it (`\"{n}\"`)"
                ))
            }
            other => {
                return Err(format!(
                    "with_sequence takes `start=… end=…` text, got {other}"
                ))
            }
        };
        out.extend(generate(&spec, max.saturating_sub(out.len()))?);
    }
    Ok(out)
}

/// Checks a literal value when the playbook loads.
pub fn check(v: &Json) -> Result<(), String> {
    items(v, usize::MAX).map(|_| ())
}

fn parse_text(s: &str) -> Result<Spec, String> {
    if let Some(spec) = parse_short(s.trim()) {
        return Ok(spec);
    }
    let mut m = Map::new();
    for word in s.split_whitespace() {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "unrecognized with_sequence argument `{word}`: write `start=1 end=5` (or count=, stride=, format=) or the short form `1-5`"
            ));
        };
        m.insert(
            k.to_string(),
            Json::String(v.trim_matches(['"', '\'']).to_string()),
        );
    }
    parse_map(&m)
}

/// `[start-]end[/stride][:format]`.
fn parse_short(s: &str) -> Option<Spec> {
    let (nums, format) = match s.split_once(':') {
        Some((n, f)) if !f.is_empty() => (n, Some(f.to_string())),
        Some(_) => return None,
        None => (s, None),
    };
    let (range, stride) = match nums.split_once('/') {
        Some((r, st)) => (r, Some(number(st).ok()?)),
        None => (nums, None),
    };
    let (start, end) = match range.split_once('-') {
        Some((a, b)) => (Some(number(a).ok()?), number(b).ok()?),
        None => (None, number(range).ok()?),
    };
    Some(Spec {
        start,
        end: Some(end),
        count: None,
        stride,
        format,
    })
}

fn parse_map(m: &Map<String, Json>) -> Result<Spec, String> {
    let mut spec = Spec::default();
    for (k, v) in m {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            other => {
                return Err(format!(
                    "with_sequence: `{k}` must be a number, got {other}"
                ))
            }
        };
        match k.as_str() {
            "start" => spec.start = Some(number(&text)?),
            "end" => spec.end = Some(number(&text)?),
            "count" => spec.count = Some(number(&text)?),
            "stride" => spec.stride = Some(number(&text)?),
            "format" => spec.format = Some(text),
            other => {
                return Err(format!(
                    "unrecognized arguments to with_sequence: `{other}` (it takes start, end, count, stride, format)"
                ))
            }
        }
    }
    Ok(spec)
}

/// A number as Python's `int(x, 0)` reads it (and `017` as octal, as
/// Ansible's lookup does).
fn number(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let lower = t.to_ascii_lowercase();
    let parsed = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16)
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8)
    } else {
        lower.parse()
    };
    parsed
        .map(|n| if neg { -n } else { n })
        .map_err(|_| format!("with_sequence: `{s}` is not a number"))
}

fn generate(spec: &Spec, max: usize) -> Result<Vec<Json>, String> {
    let start = spec.start.unwrap_or(1);
    let stride = spec.stride.unwrap_or(1);
    let format = spec.format.as_deref().unwrap_or("%d");
    let end = match (spec.end, spec.count) {
        (None, None) => return Err("must specify count or end in with_sequence".into()),
        (Some(_), Some(_)) => {
            return Err("can't specify both count and end in with_sequence".into())
        }
        (Some(e), None) => e,
        (None, Some(0)) => return Ok(Vec::new()),
        (None, Some(c)) => start
            .checked_add(
                c.checked_mul(stride)
                    .ok_or("with_sequence: count too large")?,
            )
            .and_then(|e| e.checked_sub(1))
            .ok_or("with_sequence: count too large")?,
    };
    if stride > 0 && end < start {
        return Err("to count backwards make stride negative".into());
    }
    if stride < 0 && end > start {
        return Err("to count forward don't make stride negative".into());
    }
    if stride == 0 {
        return Ok(Vec::new());
    }
    if format.matches('%').count() != 1 {
        return Err(format!("bad formatting string: {format}"));
    }
    let len = (end.abs_diff(start) / stride.unsigned_abs()).saturating_add(1);
    if len > max as u64 {
        return Err(format!(
            "the loop has {len} items, more than the limit of {max}; raise it with --max-loop-items N if this is intended"
        ));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Json::String(printf(format, i)?));
        i += stride;
    }
    Ok(out)
}

/// `format % n` for the one `%` conversion a sequence format has: flags
/// `-`, `0`, `+`, a width, and `d`, `i`, `u`, `x`, `X`, `o`, `s`.
fn printf(format: &str, n: i64) -> Result<String, String> {
    let bad = || format!("problem formatting {n} with {format:?}");
    let at = format.find('%').ok_or_else(bad)?;
    let (before, rest) = (&format[..at], &format[at + 1..]);
    let mut chars = rest.char_indices();
    let (mut left, mut zero, mut plus) = (false, false, false);
    let mut width = String::new();
    let conv = loop {
        let (_, c) = chars.next().ok_or_else(bad)?;
        match c {
            '-' if width.is_empty() => left = true,
            '0' if width.is_empty() => zero = true,
            '+' if width.is_empty() => plus = true,
            '0'..='9' => width.push(c),
            c => break c,
        }
    };
    let after: String = chars.map(|(_, c)| c).collect();
    let digits = match conv {
        'd' | 'i' | 'u' | 's' => n.unsigned_abs().to_string(),
        'x' => format!("{:x}", n.unsigned_abs()),
        'X' => format!("{:X}", n.unsigned_abs()),
        'o' => format!("{:o}", n.unsigned_abs()),
        _ => return Err(bad()),
    };
    let sign = if n < 0 {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    let width: usize = width.parse().unwrap_or(0);
    let body_len = sign.len() + digits.len();
    let pad = width.saturating_sub(body_len);
    let body = if left {
        format!("{sign}{digits}{}", " ".repeat(pad))
    } else if zero && conv != 's' {
        format!("{sign}{}{digits}", "0".repeat(pad))
    } else {
        format!("{}{sign}{digits}", " ".repeat(pad))
    };
    Ok(format!("{before}{body}{after}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seq(v: Json) -> Vec<String> {
        items(&v, 1000)
            .unwrap()
            .into_iter()
            .map(|j| j.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_examples_of_ansibles_lookup() {
        assert_eq!(seq(json!("5")), ["1", "2", "3", "4", "5"]);
        assert_eq!(seq(json!("5-8")), ["5", "6", "7", "8"]);
        assert_eq!(seq(json!("2-10/2")), ["2", "4", "6", "8", "10"]);
        assert_eq!(
            seq(json!("4:host%02d")),
            ["host01", "host02", "host03", "host04"]
        );
        assert_eq!(
            seq(json!("start=5 end=11 stride=2 format=0x%02x")),
            ["0x05", "0x07", "0x09", "0x0b"]
        );
        assert_eq!(seq(json!("count=5")), ["1", "2", "3", "4", "5"]);
        assert_eq!(
            seq(json!("start=0x0f00 count=4 format=%04x")),
            ["0f00", "0f01", "0f02", "0f03"]
        );
        assert_eq!(
            seq(json!("start=0 count=5 stride=2")),
            ["0", "2", "4", "6", "8"]
        );
        assert_eq!(
            seq(json!("start=1 count=5 stride=2")),
            ["1", "3", "5", "7", "9"]
        );
        assert_eq!(seq(json!("start=0 count=3")), ["0", "1", "2"]);
        assert_eq!(seq(json!("start=10 end=0 stride=-5")), ["10", "5", "0"]);
        assert_eq!(seq(json!({"start": 1, "end": 3})), ["1", "2", "3"]);
        assert!(seq(json!("count=0")).is_empty());
    }

    #[test]
    fn wrong_sequences_say_why() {
        for (v, want) in [
            ("start=1", "must specify count or end"),
            ("end=3 count=2", "can't specify both"),
            ("start=5 end=1", "make stride negative"),
            ("start=1 end=5 stride=-1", "don't make stride negative"),
            ("end=5 format=%d%d", "bad formatting string"),
            ("end=5 step=2", "unrecognized arguments"),
            ("end=five", "not a number"),
        ] {
            let e = items(&json!(v), 100).unwrap_err();
            assert!(e.contains(want), "{v}: {e}");
        }
        assert!(items(&json!("count=1000"), 10)
            .unwrap_err()
            .contains("limit"));
    }
}
