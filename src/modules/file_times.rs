//! `file`'s `modification_time` and `access_time` given as a timestamp
//! (`202001011200.0` in `modification_time_format`, by default
//! `%Y%m%d%H%M.%S`), as ansible-core's `get_timestamp_for_time` reads them:
//! a local time of the host. The text is parsed on the controller; the
//! host turns it into seconds (`date -d`, its own time zone, as Python's
//! `time.mktime` there) and compares them with the file's, so a time already
//! set is no change, as in ansible-core.

use super::{PlanCx, PlanError};

/// Ansible's default `modification_time_format` and `access_time_format`.
pub const DEFAULT_FORMAT: &str = "%Y%m%d%H%M.%S";

/// A time to set: `YYYY-MM-DD HH:MM:SS`, which GNU `date -d` and `touch -d`
/// read as the host's local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp(pub String);

/// A time `modification_time`/`access_time` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// `now`: the time the task runs.
    Now,
    /// A timestamp.
    At(Stamp),
}

impl Wanted {
    /// The timestamp asked for, if it is one.
    pub fn stamp(&self) -> Option<&Stamp> {
        match self {
            Wanted::Now => None,
            Wanted::At(s) => Some(s),
        }
    }

    /// The time as `Change::SetTimes` takes it.
    pub fn into_change_value(self) -> String {
        match self {
            Wanted::Now => "now".into(),
            Wanted::At(s) => s.0,
        }
    }
}

/// What an argument's value asks for: nothing (unset or `preserve`), `now`,
/// or a timestamp in `format` (ansible-core's default when unset).
pub fn wanted(value: Option<&str>, format: Option<&str>) -> Result<Option<Wanted>, String> {
    match value {
        None | Some("preserve") => Ok(None),
        Some("now") => Ok(Some(Wanted::Now)),
        Some(t) => parse(t, format.unwrap_or(DEFAULT_FORMAT)).map(|s| Some(Wanted::At(s))),
    }
}

/// Parses `text` with the `strptime` directives ansible-core's default
/// formats use (`%Y %y %m %d %H %M %S %%`, other characters literal).
pub fn parse(text: &str, format: &str) -> Result<Stamp, String> {
    let fail = |why: &str| {
        format!("Error while obtaining timestamp for time {text} using format {format}: {why}")
    };
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (1900i64, 1i64, 1i64, 0i64, 0i64, 0i64);
    let mut rest = text;
    let mut f = format.chars();
    let digits = |rest: &mut &str, max: usize| -> Option<i64> {
        let n = rest
            .chars()
            .take(max)
            .take_while(char::is_ascii_digit)
            .count();
        if n == 0 {
            return None;
        }
        let v = rest[..n].parse().ok();
        *rest = &rest[n..];
        v
    };
    while let Some(c) = f.next() {
        if c != '%' {
            rest = rest.strip_prefix(c).ok_or_else(|| {
                fail(&format!(
                    "time data {text:?} does not match format {format:?}"
                ))
            })?;
            continue;
        }
        let directive = f.next().unwrap_or('%');
        let value = match directive {
            '%' => {
                rest = rest.strip_prefix('%').ok_or_else(|| fail("no '%'"))?;
                continue;
            }
            'Y' => digits(&mut rest, 4),
            'y' => digits(&mut rest, 2).map(|v| if v < 69 { 2000 + v } else { 1900 + v }),
            'm' | 'd' | 'H' | 'M' | 'S' => digits(&mut rest, 2),
            other => {
                return Err(fail(&format!(
                    "rprov does not read %{other} in a time format"
                )))
            }
        }
        .ok_or_else(|| {
            fail(&format!(
                "time data {text:?} does not match format {format:?}"
            ))
        })?;
        match directive {
            'Y' | 'y' => y = value,
            'm' => mo = value,
            'd' => d = value,
            'H' => h = value,
            'M' => mi = value,
            _ => s = value,
        }
    }
    if !rest.is_empty() {
        return Err(fail(&format!("unconverted data remains: {rest}")));
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 61 {
        return Err(fail("a field is out of range"));
    }
    Ok(Stamp(format!(
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"
    )))
}

/// Which of the given times `path` does not have yet: `(mtime, atime)`,
/// asked of the host in one read (an absent file has neither).
pub fn differ(
    cx: &PlanCx,
    path: &str,
    mtime: Option<&Stamp>,
    atime: Option<&Stamp>,
) -> Result<(bool, bool), PlanError> {
    let q = rprov_transport::quote;
    let secs = |s: Option<&Stamp>| match s {
        Some(s) => format!("$(date -d {} +%s)", q(&s.0)),
        None => "-".into(),
    };
    let script = format!(
        "echo \"{} {} $(stat -c '%Y %X' -- {} 2>/dev/null)\"\n",
        secs(mtime),
        secs(atime),
        q(path)
    );
    let out = cx.read(&script)?;
    let words: Vec<&str> = out.split_whitespace().collect();
    let (want_m, want_a) = (words.first().copied(), words.get(1).copied());
    let (have_m, have_a) = (words.get(2).copied(), words.get(3).copied());
    Ok((
        mtime.is_some() && want_m != have_m,
        atime.is_some() && want_a != have_a,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_as_ansible_core_reads_them() {
        assert_eq!(
            parse("202001011200.0", DEFAULT_FORMAT),
            Ok(Stamp("2020-01-01 12:00:00".into()))
        );
        assert_eq!(
            parse("199912312359.59", DEFAULT_FORMAT),
            Ok(Stamp("1999-12-31 23:59:59".into()))
        );
        assert_eq!(
            parse("2021-03-04 05:06", "%Y-%m-%d %H:%M"),
            Ok(Stamp("2021-03-04 05:06:00".into()))
        );
        let bad = parse("yesterday", DEFAULT_FORMAT).unwrap_err();
        assert!(
            bad.starts_with(
                "Error while obtaining timestamp for time yesterday using format %Y%m%d%H%M.%S"
            ),
            "{bad}"
        );
        assert!(parse("202013011200.0", DEFAULT_FORMAT).is_err());
        assert!(parse("202001011200.0x", DEFAULT_FORMAT).is_err());
    }
}
