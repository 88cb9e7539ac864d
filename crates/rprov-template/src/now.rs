//! Ansible's `now(utc=False, fmt=None)` global: the controller's current
//! time, as text. With `fmt`, a strftime subset (`%Y %m %d %H %M %S %f %s
//! %%`); without, Python's `str(datetime)` form. rprov knows no time zones:
//! the time is UTC whether or not `utc` is given (the controllers it runs on
//! are usually set to UTC; a difference is written in the README).

use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind};

/// Adds `now`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
}

fn now(kwargs: Kwargs) -> Result<String, Error> {
    let _utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("now(): {e}")))?;
    let fmt = fmt.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S.%f".to_string());
    format(&fmt, d.as_secs(), d.subsec_micros())
}

/// `secs` since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), the form of
/// Ansible's `template_run_date` and `template_mtime`.
pub fn date_time_utc(secs: u64) -> String {
    // Every directive of this format is known: it cannot fail.
    format("%Y-%m-%d %H:%M:%S", secs, 0).unwrap_or_default()
}

/// `fmt` filled in for `secs` and `micros` since the epoch (UTC).
fn format(fmt: &str, secs: u64, micros: u32) -> Result<String, Error> {
    let (y, mo, d) = civil(secs / 86_400);
    let rem = secs % 86_400;
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{y:04}")),
            Some('m') => out.push_str(&format!("{mo:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('H') => out.push_str(&format!("{:02}", rem / 3600)),
            Some('M') => out.push_str(&format!("{:02}", rem % 3600 / 60)),
            Some('S') => out.push_str(&format!("{:02}", rem % 60)),
            Some('f') => out.push_str(&format!("{micros:06}")),
            Some('s') => out.push_str(&secs.to_string()),
            Some('%') => out.push('%'),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "now(): rprov does not know the format `%{}` (it knows %Y %m %d %H %M %S %f %s %%)",
                        other.map(String::from).unwrap_or_default()
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: u64) -> (i64, i64, i64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            format("%Y-%m-%d %H:%M:%S.%f", 1_796_272_401, 42).unwrap(),
            "2026-12-03 04:33:21.000042"
        );
        assert_eq!(format("%s.%f", 5, 7).unwrap(), "5.000007");
        assert_eq!(format("100%%", 0, 0).unwrap(), "100%");
        assert!(format("%Z", 0, 0).is_err());
    }

    #[test]
    fn in_a_template() {
        let mut env = Environment::new();
        register(&mut env);
        let t = env
            .render_str("{{ now(fmt='%Y') | int > 2000 }}", ())
            .unwrap();
        assert_eq!(t.to_lowercase(), "true");
    }
}
