//! Ansible's `now(utc=False, fmt=None)` global: the controller's current
//! time as a `datetime` (see [`crate::filters::time`]: it prints as
//! Python's `str(datetime)`, has `year`, `strftime()`…, and subtracts from
//! another `datetime`), in local time or, with `utc=true`, in UTC; with
//! `fmt`, that time formatted by `strftime`.
//!
//! [`date_time_utc`] formats the times rprov gives templates
//! (`template_run_date`, `template_mtime`) with a small strftime subset
//! (`%Y %m %d %H %M %S %f %s %%`).

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

/// Adds `now`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
}

fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let err = |e: String| Error::new(ErrorKind::InvalidOperation, format!("now(): {e}"));
    let now = crate::filters::time::now_value(utc.unwrap_or(false)).map_err(err)?;
    match fmt.filter(|f| !f.is_empty()) {
        Some(fmt) => crate::filters::time::format_datetime(&now, &fmt)
            .map(Value::from)
            .map_err(err),
        None => Ok(crate::filters::time::datetime_value(now)),
    }
}

/// `secs` since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), the form of
/// Ansible's `template_run_date` and `template_mtime`.
pub fn date_time_utc(secs: u64) -> String {
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), for the dates Ansible's facts and filters print.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
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
    fn run_dates() {
        assert_eq!(date_time_utc(1_796_272_401), "2026-12-03 04:33:21");
        assert_eq!(date_time_utc(0), "1970-01-01 00:00:00");
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
