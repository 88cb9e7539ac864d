//! The `sequence` lookup (a `with_sequence` loop), as ansible-core's. Either `key=value` words
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

/// The items of `lookup('sequence', *terms, **direct)` (a `with_sequence`
/// loop): `direct` options first, each term's own overriding them, as
/// ansible-core's lookup sets them; with options and no terms, one empty
/// term. Each term is text or a mapping.
pub fn items(terms: &[Json], direct: &Map<String, Json>, max: usize) -> Result<Vec<Json>, String> {
    let base = parse_map(direct)?;
    let empty = [Json::String(String::new())];
    let terms = if terms.is_empty() && !direct.is_empty() {
        &empty[..]
    } else {
        terms
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
        out.extend(generate(&spec.over(&base), max.saturating_sub(out.len()))?);
    }
    Ok(out)
}

impl Spec {
    /// These options where set, `base`'s elsewhere.
    fn over(self, base: &Spec) -> Spec {
        Spec {
            start: self.start.or(base.start),
            end: self.end.or(base.end),
            count: self.count.or(base.count),
            stride: self.stride.or(base.stride),
            format: self.format.or_else(|| base.format.clone()),
        }
    }
}

fn parse_text(s: &str) -> Result<Spec, String> {
    if let Some(spec) = parse_short(s.trim())? {
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

/// `[start-]end[/stride][:format]`, matched as ansible-core's `SHORTCUT`
/// pattern matches it: each number is `0?x?[0-9a-f]+` (any case), so `A-4`
/// is the short form with a start that is not a number — an error, not
/// `key=value` text.
fn parse_short(s: &str) -> Result<Option<Spec>, String> {
    static SHORTCUT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        let num = "(0?x?[0-9a-f]+)";
        regex::Regex::new(&format!("(?i)^(?:{num}-)?{num}(?:/{num})?(?::(.+))?$"))
            .expect("the shortcut pattern is valid")
    });
    let Some(c) = SHORTCUT.captures(s) else {
        return Ok(None);
    };
    let field = |i: usize, name: &str| c.get(i).map(|m| field_number(name, m.as_str())).transpose();
    Ok(Some(Spec {
        start: field(1, "start")?,
        end: field(2, "end")?,
        count: None,
        stride: field(3, "stride")?,
        format: c.get(4).map(|m| m.as_str().to_string()),
    }))
}

/// A numeric field, failing in ansible-core's words for a value its
/// option check refuses.
fn field_number(name: &str, text: &str) -> Result<i64, String> {
    number(text).map_err(|_| {
        format!("with_sequence: `{name}` has an invalid value: `{text}` is not a number")
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
            "start" => spec.start = Some(field_number(k, &text)?),
            "end" => spec.end = Some(field_number(k, &text)?),
            "count" => spec.count = Some(field_number(k, &text)?),
            "stride" => spec.stride = Some(field_number(k, &text)?),
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
            "the sequence has {len} items, more than the {max} that fit the limit on rendered text; {}",
            crate::limits::RAISE_HINT
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
        items(&[v], &Map::new(), 1000)
            .unwrap()
            .into_iter()
            .map(|j| j.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn options_given_directly_are_the_base_of_each_term() {
        let direct: Map<String, Json> =
            serde_json::from_value(json!({"count": 5, "start": 10})).unwrap();
        let seq = |terms: &[Json]| -> Vec<Json> { items(terms, &direct, 100).unwrap() };
        assert_eq!(
            seq(&[]),
            [
                json!("10"),
                json!("11"),
                json!("12"),
                json!("13"),
                json!("14")
            ]
        );
        assert_eq!(seq(&[json!("start=1 count=2")]), [json!("1"), json!("2")]);
        assert!(items(&[], &Map::new(), 100).unwrap().is_empty());
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
            ("end=five", "`end` has an invalid value"),
            ("start=A end=3", "`start` has an invalid value"),
            ("A-4/2", "`start` has an invalid value"),
            ("1-B/2", "`end` has an invalid value"),
            (
                "start=0 junk=3",
                "unrecognized arguments to with_sequence: `junk`",
            ),
        ] {
            let e = items(&[json!(v)], &Map::new(), 100).unwrap_err();
            assert!(e.contains(want), "{v}: {e}");
        }
        assert!(items(&[json!("count=1000")], &Map::new(), 10)
            .unwrap_err()
            .contains("limit"));
    }
}
