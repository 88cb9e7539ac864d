//! Dates and times: `to_datetime` and `strftime`, and the `datetime` and
//! `timedelta` values they work with.
//!
//! `to_datetime` is Python's `datetime.strptime`: the format becomes a
//! regular expression as CPython's `_strptime` builds it (the C locale's
//! names, `%d` also matching ` 5`, case ignored, whitespace matching any
//! whitespace) and the fields are read with its rules (`%y` 69–99 is the
//! 1900s, `%I` with `%p`, `%j`, `%U`/`%W`/`%V` with a weekday, `%z`), with
//! its error messages. The result is a [`DateTime`]: it prints as Python's
//! `str(datetime)` (`2016-08-14 20:00:12`), has `year` … `microsecond`,
//! `strftime()`, `timestamp()`, `isoformat()`, `weekday()`, `date()`,
//! compares with `<`/`==`, and subtracting one from another gives a
//! [`TimeDelta`] with `days`, `seconds`, `microseconds` and
//! `total_seconds()`, as in Python. minijinja has no operator for objects,
//! so a subtraction whose operands are in parentheses or calls, in a
//! template that uses `to_datetime` or `now()`,
//! (`((a | to_datetime) - (b | to_datetime)).days`, the form Ansible's
//! documentation uses) is rewritten into a call of `__rprov_sub` before
//! compiling (see `chain.rs`); every other subtraction is left to
//! minijinja.
//!
//! `strftime` (the filter and the method) formats with the C library's
//! `strftime`, as Python's `time.strftime` does, so every directive and
//! flag glibc knows works, in the C locale; `%f`, `%z` and `%Z` of a
//! `datetime` are filled in first, as Python's `datetime.strftime` does.
//! The filter's time is the controller's local time, or UTC with
//! `utc=true`, as in Ansible.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{from_args, DynObject, Kwargs, Object, ObjectRepr, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::{bind_args, filter_error, py_type_name, require_defined};

/// The global function a rewritten subtraction calls.
pub(crate) const SUB_FUNCTION: &str = "__rprov_sub";

/// Adds the filters of this module and the date-aware subtraction function.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_datetime", to_datetime);
    env.add_filter("strftime", strftime);
    env.add_function(SUB_FUNCTION, subtract);
}

const US_PER_DAY: i64 = 86_400_000_000;
/// `date(1970, 1, 1).toordinal()`.
const UNIX_EPOCH_ORDINAL: i64 = 719_163;
/// `date(9999, 12, 31).toordinal()`.
const MAX_ORDINAL: i64 = 3_652_059;

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Python's `date(y, m, d).toordinal()` (1 is 0001-01-01), after its
/// checks.
fn ordinal(y: i64, m: i64, d: i64) -> Result<i64, String> {
    if !(1..=9999).contains(&y) {
        return Err(format!("year {y} is out of range"));
    }
    if !(1..=12).contains(&m) {
        return Err("month must be in 1..12".into());
    }
    if d < 1 || d > days_in_month(y, m) {
        return Err("day is out of range for month".into());
    }
    let py = y - 1;
    let before_month: i64 = (1..m).map(|mm| days_in_month(y, mm)).sum();
    Ok(py * 365 + py / 4 - py / 100 + py / 400 + before_month + d)
}

/// Year, month, day of an ordinal (day 1 is 0001-01-01, as Python's).
fn from_ordinal(n: i64) -> (i64, i64, i64) {
    crate::now::civil_from_days(n - UNIX_EPOCH_ORDINAL)
}

/// Whether a value is a `datetime` or a `date`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    DateTime,
    Date,
}

/// Python's `datetime.datetime` (or, from `.date()`, `datetime.date`):
/// a day, a time of day, and for an aware one its UTC offset.
#[derive(Clone, Debug)]
pub struct DateTime {
    kind: Kind,
    /// `toordinal()`.
    day: i64,
    /// Microseconds since midnight.
    time: i64,
    /// The UTC offset in microseconds, for an aware value.
    offset: Option<i64>,
    /// The zone's name from `%Z`, for an aware value.
    tzname: Option<String>,
}

/// Python's `datetime.timedelta`, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeDelta {
    us: i128,
}

impl TimeDelta {
    fn days(&self) -> i128 {
        self.us.div_euclid(i128::from(US_PER_DAY))
    }
    fn seconds(&self) -> i128 {
        self.us.rem_euclid(i128::from(US_PER_DAY)) / 1_000_000
    }
    fn microseconds(&self) -> i128 {
        self.us.rem_euclid(1_000_000)
    }
    fn total_seconds(&self) -> f64 {
        self.us as f64 / 1e6
    }
}

impl fmt::Display for TimeDelta {
    /// `str(timedelta)`: `[-]D day[s], H:MM:SS[.ffffff]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.days();
        if days != 0 {
            let plural = if days.abs() != 1 { "s" } else { "" };
            write!(f, "{days} day{plural}, ")?;
        }
        let s = self.seconds();
        write!(f, "{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)?;
        let us = self.microseconds();
        if us != 0 {
            write!(f, ".{us:06}")?;
        }
        Ok(())
    }
}

/// `+HH:MM[:SS[.ffffff]]` for an offset in microseconds (`sep` between
/// the parts: `:` for `str()`, nothing for `%z`).
fn format_offset(offset: i64, sep: &str) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    let (h, m, s, us) = (
        o / 3_600_000_000,
        o / 60_000_000 % 60,
        o / 1_000_000 % 60,
        o % 1_000_000,
    );
    let mut out = format!("{sign}{h:02}{sep}{m:02}");
    if s != 0 || us != 0 {
        out.push_str(&format!("{sep}{s:02}"));
        if us != 0 {
            out.push_str(&format!(".{us:06}"));
        }
    }
    out
}

impl DateTime {
    fn ymd(&self) -> (i64, i64, i64) {
        from_ordinal(self.day)
    }

    fn hms(&self) -> (i64, i64, i64, i64) {
        let t = self.time;
        (
            t / 3_600_000_000,
            t / 60_000_000 % 60,
            t / 1_000_000 % 60,
            t % 1_000_000,
        )
    }

    /// Monday is 0.
    fn weekday(&self) -> i64 {
        (self.day + 6) % 7
    }

    /// `isoformat(sep)`.
    fn isoformat(&self, sep: &str) -> String {
        let (y, mo, d) = self.ymd();
        let mut out = format!("{y:04}-{mo:02}-{d:02}");
        if self.kind == Kind::Date {
            return out;
        }
        let (h, mi, s, us) = self.hms();
        out.push_str(&format!("{sep}{h:02}:{mi:02}:{s:02}"));
        if us != 0 {
            out.push_str(&format!(".{us:06}"));
        }
        if let Some(o) = self.offset {
            out.push_str(&format_offset(o, ":"));
        }
        out
    }

    /// Microseconds since the epoch in UTC, for an aware value.
    fn utc_us(&self) -> Option<i128> {
        let o = self.offset?;
        Some(
            i128::from(self.day - UNIX_EPOCH_ORDINAL) * i128::from(US_PER_DAY)
                + i128::from(self.time)
                - i128::from(o),
        )
    }

    /// Microseconds since the epoch of the wall-clock fields.
    fn wall_us(&self) -> i128 {
        i128::from(self.day - UNIX_EPOCH_ORDINAL) * i128::from(US_PER_DAY) + i128::from(self.time)
    }

    /// `timestamp()`: an aware value's instant; a naive one is read as the
    /// controller's local time, as Python does.
    fn timestamp(&self) -> Result<f64, String> {
        if let Some(utc) = self.utc_us() {
            return Ok(utc as f64 / 1e6);
        }
        let (y, mo, d) = self.ymd();
        let (h, mi, s, us) = self.hms();
        let secs = local_mktime(y, mo, d, h, mi, s)?;
        Ok(secs as f64 + us as f64 / 1e6)
    }

    /// `self + delta`, with Python's `OverflowError` outside years 1–9999.
    fn shifted(&self, delta: i128) -> Result<DateTime, String> {
        let day_len = if self.kind == Kind::Date {
            // A date moves by whole days only.
            i128::from(US_PER_DAY) * (delta / i128::from(US_PER_DAY))
        } else {
            delta
        };
        let total = i128::from(self.day) * i128::from(US_PER_DAY) + i128::from(self.time) + day_len;
        let day = total.div_euclid(i128::from(US_PER_DAY));
        let time = total.rem_euclid(i128::from(US_PER_DAY));
        if !(1..=i128::from(MAX_ORDINAL)).contains(&day) {
            return Err("date value out of range".into());
        }
        Ok(DateTime {
            day: day as i64,
            time: time as i64,
            ..self.clone()
        })
    }

    fn py_type(&self) -> &'static str {
        match self.kind {
            Kind::DateTime => "datetime.datetime",
            Kind::Date => "datetime.date",
        }
    }

    /// `strftime(fmt)`, as Python's `datetime.strftime`: `%f`, `%z` and
    /// `%Z` filled in, the rest to the C library.
    fn strftime(&self, fmt: &str) -> Result<String, String> {
        let mut out = String::with_capacity(fmt.len());
        let mut chars = fmt.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                None => out.push('%'),
                Some('f') => out.push_str(&format!("{:06}", self.hms().3)),
                Some('z') => {
                    if let Some(o) = self.offset {
                        out.push_str(&format_offset(o, ""));
                    }
                }
                Some('Z') => {
                    if let Some(o) = self.offset {
                        out.push_str(&self.zone_name(o).replace('%', "%%"));
                    }
                }
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
            }
        }
        let (y, mo, d) = self.ymd();
        let (h, mi, s, _) = self.hms();
        let yday = self.day - ordinal(y, 1, 1).unwrap_or(self.day);
        let mut tm = wall_tm(y, mo, d, h, mi, s);
        tm.tm_wday = ((self.weekday() + 1) % 7) as libc::c_int;
        tm.tm_yday = yday as libc::c_int;
        tm.tm_isdst = -1;
        c_strftime(&out, &tm)
    }

    /// `tzname()`: the name `%Z` read, else `UTC` or `UTC±HH:MM`.
    fn zone_name(&self, offset: i64) -> String {
        if let Some(n) = &self.tzname {
            return n.clone();
        }
        if offset == 0 {
            "UTC".into()
        } else {
            format!("UTC{}", format_offset(offset, ":"))
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat(" "))
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (y, mo, d) = self.ymd();
        let (h, mi, s, us) = self.hms();
        let date_only = self.kind == Kind::Date;
        Some(Value::from(match key.as_str()? {
            "year" => y,
            "month" => mo,
            "day" => d,
            "hour" if !date_only => h,
            "minute" if !date_only => mi,
            "second" if !date_only => s,
            "microsecond" if !date_only => us,
            "tzinfo" if !date_only => {
                return Some(match self.offset {
                    Some(o) => Value::from(self.zone_name(o)),
                    None => Value::from(()),
                })
            }
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let err = |m: String| Error::new(ErrorKind::InvalidOperation, m);
        match method {
            "strftime" => {
                let (fmt,): (&str,) = from_args(args)?;
                self.strftime(fmt).map(Value::from).map_err(err)
            }
            "isoformat" => {
                let (sep, kwargs): (Option<&str>, Kwargs) = from_args(args)?;
                let sep = match sep {
                    Some(s) => s.to_string(),
                    None => kwargs
                        .get::<Option<String>>("sep")?
                        .unwrap_or_else(|| "T".into()),
                };
                kwargs.assert_all_used()?;
                Ok(Value::from(self.isoformat(&sep)))
            }
            "timestamp" if self.kind == Kind::DateTime => {
                let () = from_args(args)?;
                self.timestamp().map(Value::from).map_err(err)
            }
            "weekday" => {
                let () = from_args(args)?;
                Ok(Value::from(self.weekday()))
            }
            "isoweekday" => {
                let () = from_args(args)?;
                Ok(Value::from(self.weekday() + 1))
            }
            "toordinal" => {
                let () = from_args(args)?;
                Ok(Value::from(self.day))
            }
            "date" if self.kind == Kind::DateTime => {
                let () = from_args(args)?;
                Ok(Value::from_object(DateTime {
                    kind: Kind::Date,
                    time: 0,
                    offset: None,
                    tzname: None,
                    ..(**self).clone()
                }))
            }
            "utcoffset" if self.kind == Kind::DateTime => {
                let () = from_args(args)?;
                Ok(match self.offset {
                    Some(o) => Value::from_object(TimeDelta { us: i128::from(o) }),
                    None => Value::from(()),
                })
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<DateTime>()?;
        // A total order: naive values before aware ones (Python refuses to
        // order those), aware ones by their instant.
        let key = |d: &DateTime| match d.utc_us() {
            Some(utc) => (1, utc),
            None => (0, d.wall_us()),
        };
        Some(key(self).cmp(&key(other)))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl Object for TimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let n = match key.as_str()? {
            "days" => self.days(),
            "seconds" => self.seconds(),
            "microseconds" => self.microseconds(),
            _ => return None,
        };
        Some(i64::try_from(n).map_or_else(|_| Value::from(n), Value::from))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => {
                let () = from_args(args)?;
                Ok(Value::from(self.total_seconds()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<TimeDelta>()?;
        Some(self.us.cmp(&other.us))
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.us != 0
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A `struct tm` of a wall-clock date and time, the rest zeros.
fn wall_tm(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> libc::tm {
    let mut tm = blank_tm();
    tm.tm_year = (y - 1900) as libc::c_int;
    tm.tm_mon = (mo - 1) as libc::c_int;
    tm.tm_mday = d as libc::c_int;
    tm.tm_hour = h as libc::c_int;
    tm.tm_min = mi as libc::c_int;
    tm.tm_sec = s as libc::c_int;
    tm
}

/// A `struct tm` of zeros.
fn blank_tm() -> libc::tm {
    // SAFETY: `struct tm` is plain data (integers and, on glibc, a
    // nullable pointer to the zone's name), for which all zeros is valid.
    unsafe { std::mem::zeroed() }
}

/// C's `strftime(fmt, tm)`, grown as Python's `time.strftime` grows its
/// buffer (an empty result is accepted once the buffer is 256 times the
/// format), within the bound on rendered text.
fn c_strftime(fmt: &str, tm: &libc::tm) -> Result<String, String> {
    let cfmt = std::ffi::CString::new(fmt).map_err(|_| "embedded null character".to_string())?;
    let max = fmt
        .len()
        .saturating_mul(256)
        .clamp(1024, crate::limits::max_render_size().max(1024));
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: `buf` has `size` writable bytes, `cfmt` is a valid C
        // string and `tm` a valid `struct tm` that outlives the call; C's
        // strftime writes at most `size` bytes and returns how many.
        let n = unsafe {
            libc::strftime(
                buf.as_mut_ptr().cast::<libc::c_char>(),
                size,
                cfmt.as_ptr(),
                tm,
            )
        };
        if n > 0 || size >= max {
            buf.truncate(n);
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
        size = size.saturating_mul(2);
    }
}

/// The broken-down time of `secs` since the epoch: the controller's local
/// time, or UTC.
// `time_t` is `i64` on 64-bit targets but not everywhere.
#[allow(clippy::useless_conversion)]
fn broken_down(secs: i64, utc: bool) -> Result<libc::tm, String> {
    let t: libc::time_t = secs
        .try_into()
        .map_err(|_| "timestamp out of range for platform time_t".to_string())?;
    let mut tm = blank_tm();
    // SAFETY: both pointers are valid for the call; the `_r` functions
    // write only into `tm`.
    let ok = unsafe {
        if utc {
            !libc::gmtime_r(&t, &mut tm).is_null()
        } else {
            !libc::localtime_r(&t, &mut tm).is_null()
        }
    };
    if ok {
        Ok(tm)
    } else {
        Err("[Errno 75] Value too large for defined data type".into())
    }
}

/// Seconds since the epoch of a local wall-clock time (C's `mktime`, the
/// zone's daylight saving time guessed as Python does).
#[allow(clippy::useless_conversion)]
fn local_mktime(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Result<i64, String> {
    let mut tm = wall_tm(y, mo, d, h, mi, s);
    tm.tm_isdst = -1;
    // SAFETY: `tm` is a valid `struct tm` that mktime may normalise.
    let t = unsafe { libc::mktime(&mut tm) };
    if t == -1 && !(y == 1969 && mo == 12 && d == 31) {
        return Err("mktime argument out of range".into());
    }
    Ok(i64::from(t))
}

/// The current time as seconds and microseconds since the epoch.
fn now_parts() -> Result<(i64, i64), String> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    Ok((
        i64::try_from(d.as_secs()).map_err(|e| e.to_string())?,
        i64::from(d.subsec_micros()),
    ))
}

/// The current time as a naive [`DateTime`]: the controller's local time
/// (`datetime.now()`), or UTC (`datetime.utcnow()`).
pub(crate) fn now_value(utc: bool) -> Result<DateTime, String> {
    let (secs, us) = now_parts()?;
    let tm = broken_down(secs, utc)?;
    let day = ordinal(
        i64::from(tm.tm_year) + 1900,
        i64::from(tm.tm_mon) + 1,
        i64::from(tm.tm_mday),
    )?;
    let time = ((i64::from(tm.tm_hour) * 60 + i64::from(tm.tm_min)) * 60
        + i64::from(tm.tm_sec).min(59))
        * 1_000_000
        + us;
    Ok(DateTime {
        kind: Kind::DateTime,
        day,
        time,
        offset: None,
        tzname: None,
    })
}

/// The value of a [`DateTime`] as a template value.
pub(crate) fn datetime_value(d: DateTime) -> Value {
    Value::from_object(d)
}

/// `strftime` of a [`DateTime`], for `now(fmt=...)`.
pub(crate) fn format_datetime(d: &DateTime, fmt: &str) -> Result<String, String> {
    d.strftime(fmt)
}

/// Ansible's `strftime(second=None, utc=False)`: the format (the filter's
/// input) filled in with C's `strftime` for `second` since the epoch (now
/// without it), in the controller's local time or in UTC.
pub fn strftime(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "strftime";
    require_defined(value)?;
    let [second, utc] = bind_args(NAME, &args, &kwargs, ["second", "utc"])?;
    let fmt = value.as_str().ok_or_else(|| {
        filter_error(
            NAME,
            format!(
                "strftime() argument 1 must be str, not {}",
                py_type_name(value)
            ),
        )
    })?;
    let utc = utc.is_some_and(|u| u.is_true());
    let secs = match second.filter(|s| !s.is_none()) {
        None => now_parts().map_err(|e| filter_error(NAME, e))?.0,
        Some(s) => {
            let invalid = || {
                filter_error(
                    NAME,
                    format!("Invalid value for epoch value ({})", super::py_str(&s)),
                )
            };
            let f = match s.kind() {
                ValueKind::Bool => f64::from(u8::from(s.is_true())),
                ValueKind::Number => f64::try_from(s.clone()).map_err(|_| invalid())?,
                ValueKind::String => s
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| invalid())?,
                _ => return Err(invalid()),
            };
            if f.is_nan() {
                return Err(filter_error(NAME, "Invalid value NaN (not a number)"));
            }
            let floor = f.floor();
            if !(-9.2e18..9.2e18).contains(&floor) {
                return Err(filter_error(
                    NAME,
                    "timestamp out of range for platform time_t",
                ));
            }
            floor as i64
        }
    };
    let tm = broken_down(secs, utc).map_err(|e| filter_error(NAME, e))?;
    c_strftime(fmt, &tm).map_err(|e| filter_error(NAME, e))
}

/// One directive of `_strptime`'s regular expression.
fn directive_regex(c: char) -> Option<String> {
    let names = |list: &[&str], group: char| {
        let mut sorted: Vec<&str> = list.to_vec();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
        format!("(?P<{group}>{})", sorted.join("|"))
    };
    let abbreviated = |list: &[&'static str]| -> Vec<&'static str> {
        list.iter().map(|s| s.get(..3).unwrap_or(s)).collect()
    };
    Some(match c {
        'd' => r"(?P<d>3[0-1]|[1-2][0-9]|0[1-9]|[1-9]| [1-9])".into(),
        'f' => r"(?P<f>[0-9]{1,6})".into(),
        'H' => r"(?P<H>2[0-3]|[0-1][0-9]|[0-9])".into(),
        'I' => r"(?P<I>1[0-2]|0[1-9]|[1-9])".into(),
        'G' => r"(?P<G>[0-9][0-9][0-9][0-9])".into(),
        'j' => r"(?P<j>36[0-6]|3[0-5][0-9]|[1-2][0-9][0-9]|0[1-9][0-9]|00[1-9]|[1-9][0-9]|0[1-9]|[1-9])".into(),
        'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])".into(),
        'M' => r"(?P<M>[0-5][0-9]|[0-9])".into(),
        'S' => r"(?P<S>6[0-1]|[0-5][0-9]|[0-9])".into(),
        'U' => r"(?P<U>5[0-3]|[0-4][0-9]|[0-9])".into(),
        'W' => r"(?P<W>5[0-3]|[0-4][0-9]|[0-9])".into(),
        'w' => r"(?P<w>[0-6])".into(),
        'u' => r"(?P<u>[1-7])".into(),
        'V' => r"(?P<V>5[0-3]|0[1-9]|[1-4][0-9]|[0-9])".into(),
        'y' => r"(?P<y>[0-9][0-9])".into(),
        'Y' => r"(?P<Y>[0-9][0-9][0-9][0-9])".into(),
        'z' => r"(?P<z>[+-][0-9][0-9]:?[0-5][0-9](:?[0-5][0-9](\.[0-9]{1,6})?)?|(?-i:Z))".into(),
        'A' => names(&WEEKDAYS, 'A'),
        'a' => names(&abbreviated(&WEEKDAYS), 'a'),
        'B' => names(&MONTHS, 'B'),
        'b' => names(&abbreviated(&MONTHS), 'b'),
        'p' => names(&["am", "pm"], 'p'),
        'Z' => {
            let mut zones = vec!["utc".to_string(), "gmt".to_string()];
            for z in local_zone_names() {
                if !zones.contains(&z) {
                    zones.push(z);
                }
            }
            zones.sort_by_key(|z| std::cmp::Reverse(z.chars().count()));
            let alternatives: Vec<String> = zones.iter().map(|z| regex::escape(z)).collect();
            format!("(?P<Z>{})", alternatives.join("|"))
        }
        '%' => "%".into(),
        'c' => pattern("%a %b %d %H:%M:%S %Y").ok()?,
        'x' => pattern("%m/%d/%y").ok()?,
        'X' => pattern("%H:%M:%S").ok()?,
        _ => return None,
    })
}

/// The controller's zone names, lowercase, as Python's `time.tzname`
/// finds them: the zone in force on 1 January and on 1 July of this year.
fn local_zone_names() -> Vec<String> {
    let Ok((now, _)) = now_parts() else {
        return Vec::new();
    };
    let Ok(tm) = broken_down(now, false) else {
        return Vec::new();
    };
    let year = i64::from(tm.tm_year) + 1900;
    let mut names = Vec::new();
    for month in [1, 7] {
        let Ok(day) = ordinal(year, month, 1) else {
            continue;
        };
        let secs = (day - UNIX_EPOCH_ORDINAL) * 86_400;
        let Ok(tm) = broken_down(secs, false) else {
            continue;
        };
        if tm.tm_zone.is_null() {
            continue;
        }
        // SAFETY: glibc's `tm_zone` points at a NUL-terminated name that
        // lives as long as the zone data, which is never freed.
        let name = unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) };
        let name = name.to_string_lossy().to_lowercase();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `TimeRE.pattern(format)`: the regular expression for a format, or the
/// error `strptime` gives for a bad one.
fn pattern(format: &str) -> Result<String, String> {
    let mut escaped = String::with_capacity(format.len());
    for c in format.chars() {
        if "\\.^$*+?(){}[]|".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    // Runs of whitespace match any whitespace.
    let mut spaced = String::with_capacity(escaped.len());
    let mut in_space = false;
    for c in escaped.chars() {
        if c.is_whitespace() {
            if !in_space {
                spaced.push_str(r"\s+");
            }
            in_space = true;
        } else {
            spaced.push(c);
            in_space = false;
        }
    }
    let mut out = String::new();
    let mut chars = spaced.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            return Err(format!("stray % in format '{format}'"));
        };
        match directive_regex(d) {
            Some(re) => out.push_str(&re),
            None => {
                let bad = if d == '\\' {
                    "%".to_string()
                } else {
                    d.to_string()
                };
                return Err(format!("'{bad}' is a bad directive in format '{format}'"));
            }
        }
    }
    Ok(out)
}

/// Python's `datetime.strptime(text, format)`.
pub fn strptime(text: &str, format: &str) -> Result<DateTime, String> {
    let re = regex::RegexBuilder::new(&format!(r"\A(?:{})", pattern(format)?))
        .case_insensitive(true)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) if s.contains("duplicate capture group name") => {
                "redefinition of group name in the format".to_string()
            }
            other => other.to_string(),
        })?;
    let Some(found) = re.captures(text) else {
        return Err(format!(
            "time data {} does not match format {}",
            super::py_str_repr(text),
            super::py_str_repr(format)
        ));
    };
    let end = found.get(0).map_or(0, |m| m.end());
    if end != text.len() {
        return Err(format!("unconverted data remains: {}", &text[end..]));
    }
    let group = |name: &str| found.name(name).map(|m| m.as_str());
    let num = |name: &str| -> Option<i64> { group(name).and_then(|s| s.trim().parse().ok()) };
    let lower_index = |name: &str, list: &[&str], abbreviated: bool| -> Option<i64> {
        let g = group(name)?.to_lowercase();
        list.iter()
            .position(|n| if abbreviated { n[..3] == g } else { *n == g })
            .map(|i| i as i64)
    };
    let mut year: Option<i64> = None;
    let mut iso_year: Option<i64> = None;
    let mut month = 1;
    let mut day = 1;
    let (mut hour, mut minute, mut second, mut fraction) = (0, 0, 0, 0);
    let mut gmtoff: Option<i64> = None;
    let mut gmtoff_fraction = 0i64;
    let mut iso_week: Option<i64> = None;
    let mut week_of_year: Option<i64> = None;
    let mut week_starts_monday = false;
    let mut weekday: Option<i64> = None;
    let mut julian: Option<i64> = None;
    let names: Vec<&str> = re.capture_names().flatten().collect();
    for name in names {
        if found.name(name).is_none() {
            continue;
        }
        match name {
            "y" => {
                let y = num("y").unwrap_or(0);
                year = Some(if y <= 68 { y + 2000 } else { y + 1900 });
            }
            "Y" => year = num("Y"),
            "G" => iso_year = num("G"),
            "m" => month = num("m").unwrap_or(1),
            "B" => month = lower_index("B", &MONTHS, false).map_or(1, |i| i + 1),
            "b" => month = lower_index("b", &MONTHS, true).map_or(1, |i| i + 1),
            "d" => day = num("d").unwrap_or(1),
            "H" => hour = num("H").unwrap_or(0),
            "I" => {
                hour = num("I").unwrap_or(0);
                let ampm = group("p").unwrap_or_default().to_lowercase();
                if ampm.is_empty() || ampm == "am" {
                    if hour == 12 {
                        hour = 0;
                    }
                } else if ampm == "pm" && hour != 12 {
                    hour += 12;
                }
            }
            "M" => minute = num("M").unwrap_or(0),
            "S" => second = num("S").unwrap_or(0),
            "f" => {
                let s = group("f").unwrap_or_default();
                fraction = format!("{s:0<6}").parse().unwrap_or(0);
            }
            "A" => weekday = lower_index("A", &WEEKDAYS, false),
            "a" => weekday = lower_index("a", &WEEKDAYS, true),
            "w" => weekday = num("w").map(|w| if w == 0 { 6 } else { w - 1 }),
            "u" => weekday = num("u").map(|u| u - 1),
            "j" => julian = num("j"),
            "U" | "W" => {
                week_of_year = num(name);
                week_starts_monday = name == "W";
            }
            "V" => iso_week = num("V"),
            "z" => {
                let raw = group("z").unwrap_or_default();
                if raw == "Z" {
                    gmtoff = Some(0);
                } else {
                    let mut z = raw.to_string();
                    if z.as_bytes().get(3) == Some(&b':') {
                        z.remove(3);
                        if z.len() > 5 {
                            if z.as_bytes().get(5) != Some(&b':') {
                                return Err(format!("Inconsistent use of : in {raw}"));
                            }
                            z.remove(5);
                        }
                    }
                    let part = |a: usize, b: usize| -> i64 {
                        z.get(a..b.min(z.len()))
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0)
                    };
                    let (hours, minutes, seconds) = (part(1, 3), part(3, 5), part(5, 7));
                    let mut off = hours * 3600 + minutes * 60 + seconds;
                    let rem = z.get(8..).unwrap_or_default();
                    let mut frac: i64 = if rem.is_empty() {
                        0
                    } else {
                        format!("{rem:0<6}").parse().unwrap_or(0)
                    };
                    if z.starts_with('-') {
                        off = -off;
                        frac = -frac;
                    }
                    gmtoff = Some(off);
                    gmtoff_fraction = frac;
                }
            }
            _ => {}
        }
    }
    if year.is_none() && iso_year.is_some() {
        if iso_week.is_none() || weekday.is_none() {
            return Err("ISO year directive '%G' must be used with the ISO week directive '%V' and a weekday directive ('%A', '%a', '%w', or '%u').".into());
        }
        if julian.is_some() {
            return Err("Day of the year directive '%j' is not compatible with ISO year directive '%G'. Use '%Y' instead.".into());
        }
    } else if week_of_year.is_none() && iso_week.is_some() {
        return Err(if weekday.is_none() {
            "ISO week directive '%V' must be used with the ISO year directive '%G' and a weekday directive ('%A', '%a', '%w', or '%u').".into()
        } else {
            "ISO week directive '%V' is incompatible with the year directive '%Y'. Use the ISO year '%G' instead.".into()
        });
    }
    let mut leap_year_fix = false;
    let mut year = match year {
        Some(y) => y,
        None if month == 2 && day == 29 => {
            leap_year_fix = true;
            1904
        }
        None => 1900,
    };
    if julian.is_none() {
        if let Some(wd) = weekday {
            if let Some(week) = week_of_year {
                julian = Some(julian_from_u_or_w(year, week, wd, week_starts_monday)?);
            } else if let (Some(iy), Some(iw)) = (iso_year, iso_week) {
                let (y, j) = julian_from_v(iy, iw, wd + 1)?;
                year = y;
                julian = Some(j);
            }
            if let Some(j) = julian.filter(|j| *j <= 0) {
                year -= 1;
                julian = Some(j + if is_leap(year) { 366 } else { 365 });
            }
        }
    }
    let day_ordinal = match julian {
        None => ordinal(year, month, day)?,
        Some(j) => {
            let n = j - 1 + ordinal(year, 1, 1)?;
            if !(1..=MAX_ORDINAL).contains(&n) {
                return Err(format!("ordinal must be in 1..{MAX_ORDINAL}"));
            }
            let (_, m, d) = from_ordinal(n);
            month = m;
            day = d;
            n
        }
    };
    let day_ordinal = if leap_year_fix {
        // ansible-core asks for `datetime(1900, 2, 29)`, which Python refuses.
        ordinal(1900, month, day)?
    } else {
        day_ordinal
    };
    if !(0..=59).contains(&second) {
        return Err("second must be in 0..59".into());
    }
    let offset = match gmtoff {
        None => None,
        Some(off) => {
            let us = off * 1_000_000 + gmtoff_fraction;
            if us.abs() >= US_PER_DAY {
                return Err(format!(
                    "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), not {}.",
                    TimeDelta { us: i128::from(us) }
                ));
            }
            Some(us)
        }
    };
    Ok(DateTime {
        kind: Kind::DateTime,
        day: day_ordinal,
        time: ((hour * 60 + minute) * 60 + second) * 1_000_000 + fraction,
        tzname: offset.and(group("Z").map(str::to_string)),
        offset,
    })
}

/// `_calc_julian_from_U_or_W`.
fn julian_from_u_or_w(
    year: i64,
    week: i64,
    weekday: i64,
    monday_first: bool,
) -> Result<i64, String> {
    let jan1 = ordinal(year, 1, 1)?;
    let mut first_weekday = (jan1 + 6) % 7;
    let mut day_of_week = weekday;
    if !monday_first {
        first_weekday = (first_weekday + 1) % 7;
        day_of_week = (day_of_week + 1) % 7;
    }
    let week_0_length = (7 - first_weekday) % 7;
    Ok(if week == 0 {
        1 + day_of_week - first_weekday
    } else {
        1 + week_0_length + 7 * (week - 1) + day_of_week
    })
}

/// `_calc_julian_from_V`: the year and day of the year of an ISO week date.
fn julian_from_v(iso_year: i64, iso_week: i64, iso_weekday: i64) -> Result<(i64, i64), String> {
    let jan4 = ordinal(iso_year, 1, 4)?;
    let correction = (jan4 + 6) % 7 + 1 + 3;
    let mut ordinal_day = iso_week * 7 + iso_weekday - correction;
    let mut year = iso_year;
    if ordinal_day < 1 {
        ordinal_day += ordinal(year, 1, 1)?;
        year -= 1;
        ordinal_day -= ordinal(year, 1, 1)?;
    }
    Ok((year, ordinal_day))
}

/// Ansible's `to_datetime(format="%Y-%m-%d %H:%M:%S")`: the text read as
/// a date and time with Python's `datetime.strptime`.
pub fn to_datetime(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "to_datetime";
    require_defined(value)?;
    let [format] = bind_args(NAME, &args, &kwargs, ["format"])?;
    let text = value.as_str().ok_or_else(|| {
        filter_error(
            NAME,
            format!(
                "strptime() argument 1 must be str, not {}",
                py_type_name(value)
            ),
        )
    })?;
    let format = match &format {
        None => "%Y-%m-%d %H:%M:%S",
        Some(f) => f.as_str().ok_or_else(|| {
            filter_error(
                NAME,
                format!("strptime() argument 2 must be str, not {}", py_type_name(f)),
            )
        })?,
    };
    strptime(text, format)
        .map(datetime_value)
        .map_err(|e| filter_error(NAME, e))
}

/// What Python calls a value's type in `unsupported operand` messages.
fn operand_type(v: &Value) -> String {
    if let Some(d) = v.downcast_object_ref::<DateTime>() {
        return d.py_type().into();
    }
    if v.downcast_object_ref::<TimeDelta>().is_some() {
        return "datetime.timedelta".into();
    }
    py_type_name(v).into()
}

/// `a - b` where either may be a date, a `datetime` or a `timedelta`
/// (Python's arithmetic on them); anything else is minijinja's own `-`.
pub fn subtract(a: Value, b: Value) -> Result<Value, Error> {
    let unsupported = || {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "unsupported operand type(s) for -: '{}' and '{}'",
                operand_type(&a),
                operand_type(&b)
            ),
        )
    };
    let overflow = |m: String| Error::new(ErrorKind::InvalidOperation, m);
    if let Some(x) = a.downcast_object_ref::<DateTime>() {
        if let Some(y) = b.downcast_object_ref::<DateTime>() {
            if x.kind != y.kind {
                return Err(unsupported());
            }
            let us = match (x.utc_us(), y.utc_us()) {
                (Some(p), Some(q)) => p - q,
                (None, None) => x.wall_us() - y.wall_us(),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "can't subtract offset-naive and offset-aware datetimes",
                    ))
                }
            };
            return Ok(Value::from_object(TimeDelta { us }));
        }
        if let Some(t) = b.downcast_object_ref::<TimeDelta>() {
            return x.shifted(-t.us).map(Value::from_object).map_err(overflow);
        }
        return Err(unsupported());
    }
    if let Some(x) = a.downcast_object_ref::<TimeDelta>() {
        if let Some(y) = b.downcast_object_ref::<TimeDelta>() {
            return Ok(Value::from_object(TimeDelta { us: x.us - y.us }));
        }
        return Err(unsupported());
    }
    if b.downcast_object_ref::<DateTime>().is_some()
        || b.downcast_object_ref::<TimeDelta>().is_some()
    {
        return Err(unsupported());
    }
    // Neither is a date: minijinja's own subtraction, errors and all.
    let env = Environment::empty();
    let expr = env.compile_expression("a - b")?;
    expr.eval(minijinja::context! { a => a, b => b })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_pythons() {
        assert_eq!(ordinal(1, 1, 1), Ok(1));
        assert_eq!(ordinal(1970, 1, 1), Ok(UNIX_EPOCH_ORDINAL));
        assert_eq!(ordinal(9999, 12, 31), Ok(MAX_ORDINAL));
        for n in [1, 2, 59, 60, 365, 366, 719_163, 738_000, MAX_ORDINAL] {
            let (y, m, d) = from_ordinal(n);
            assert_eq!(ordinal(y, m, d), Ok(n));
        }
        assert!(ordinal(1900, 2, 29).is_err());
    }

    #[test]
    fn timedelta_text() {
        let td = |us: i128| TimeDelta { us }.to_string();
        assert_eq!(td(86_400_000_000 + 5), "1 day, 0:00:00.000005");
        assert_eq!(td(-86_400_000_000 + 5_000_000), "-1 day, 0:00:05");
        assert_eq!(td(3_600_000_000 * 49), "2 days, 1:00:00");
    }
}
