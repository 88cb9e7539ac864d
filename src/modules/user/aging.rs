//! Account aging as ansible-core's `user` decides it: `expires` (the
//! account's last day, shadow field 8), the password's minimum, maximum and
//! warning days (fields 4–6) and the days after expiry the account is
//! disabled (field 7).
//!
//! Only these fields are read (`cut -d: -f4-8`): the hash in field 2 never
//! leaves the host.

use rprov_transport::quote;

/// The aging fields of an account's shadow entry; an empty field is -1, as
/// glibc's `getspnam` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aging {
    pub min: i64,
    pub max: i64,
    pub warn: i64,
    pub inactive: i64,
    pub expire: i64,
}

/// The shell that prints fields 4–8 of `name`'s shadow entry, or `none`
/// when it has none (a passwd line without a shadow line).
pub fn read(name: &str) -> String {
    format!(
        "_rp_s=$(getent shadow {} 2>/dev/null) && printf '%s\\n' \"$_rp_s\" | cut -d: -f4-8 || echo none",
        quote(name)
    )
}

/// What [`read`] printed: `None` when the account has no shadow entry.
pub fn parse(s: &str) -> Option<Aging> {
    let s = s.trim();
    if s.is_empty() || s == "none" {
        return None;
    }
    let f: Vec<i64> = s
        .split(':')
        .map(|v| v.trim().parse().unwrap_or(-1))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(-1);
    Some(Aging {
        min: at(0),
        max: at(1),
        warn: at(2),
        inactive: at(3),
        expire: at(4),
    })
}

/// `expires`: ansible-core takes it as seconds since the epoch, and anything
/// before the epoch as "never".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    /// Days since the epoch (UTC), as shadow stores it.
    Day(i64),
}

/// The last second `expires` may name: 9999-12-31T23:59:59Z, the last day
/// useradd's `-e YYYY-MM-DD` can spell.
const LAST_SECOND: f64 = 253_402_300_799.0;

impl Expiry {
    pub fn from_seconds(expires: f64) -> Result<Expiry, String> {
        if !expires.is_finite() || expires > LAST_SECOND {
            // ansible-core's words ("None" is in its message too).
            return Err(format!(
                "Invalid value for 'expires' None: {expires} is not a time before the year 10000"
            ));
        }
        let seconds = expires.floor();
        if seconds < 0.0 {
            return Ok(Expiry::Never);
        }
        // Whole seconds below 2^53: exact as an integer.
        Ok(Expiry::Day(seconds as i64 / 86_400))
    }

    /// useradd's and usermod's `-e` value: a UTC date, or empty for never.
    pub fn date_arg(self) -> String {
        match self {
            Expiry::Never => String::new(),
            Expiry::Day(d) => {
                let (y, m, d) = rprov_template::civil_from_days(d);
                format!("{y:04}-{m:02}-{d:02}")
            }
        }
    }

    /// Days since the epoch, or -1 for never: shadow's field 8.
    pub fn days(self) -> i64 {
        match self {
            Expiry::Never => -1,
            Expiry::Day(d) => d,
        }
    }

    /// libuser's `lchage -E` value.
    pub fn days_arg(self) -> String {
        self.days().to_string()
    }

    /// Whether an account whose field 8 says `current` needs changing.
    /// `current` is -1 when the field is empty and 0 when the account has
    /// no shadow entry (ansible-core reads a missing entry so).
    pub fn differs(self, current: i64) -> bool {
        match self {
            Expiry::Never => current >= 0,
            Expiry::Day(d) => current < 0 || current != d,
        }
    }
}

/// What `expires` is set to on an existing account: `current` from its
/// shadow entry, 0 without one.
pub fn expire_now(aging: Option<&Aging>) -> i64 {
    aging.map_or(0, |a| a.expire)
}

/// The password's wanted minimum, maximum and warning days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordDays {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub warn: Option<i64>,
}

impl PasswordDays {
    /// `chage`'s flags for what differs from `current`, in ansible-core's
    /// order; every given one when `current` is unknown (a new account),
    /// none when the account has no shadow entry (ansible-core leaves it).
    pub fn chage_flags(&self, current: Option<&Aging>, new_account: bool) -> Vec<String> {
        let mut flags = Vec::new();
        for (flag, want, now) in [
            ("-m", self.min, current.map(|a| a.min)),
            ("-M", self.max, current.map(|a| a.max)),
            ("-W", self.warn, current.map(|a| a.warn)),
        ] {
            let Some(want) = want else { continue };
            if new_account || now.is_some_and(|n| n != want) {
                flags.push(flag.into());
                flags.push(want.to_string());
            }
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_with_empty_as_minus_one() {
        assert_eq!(
            parse("0:99999:7::\n"),
            Some(Aging {
                min: 0,
                max: 99999,
                warn: 7,
                inactive: -1,
                expire: -1
            })
        );
        assert_eq!(parse("5:10:28:15:29281").map(|a| a.expire), Some(29281));
        assert_eq!(parse("none\n"), None);
        assert_eq!(expire_now(None), 0);
    }

    /// The target's values: 2529881062 is 2050-03-03 (day 29281), 0 is the
    /// epoch's day, anything before the epoch is never.
    #[test]
    fn expiry_as_ansible_core() {
        let e = Expiry::from_seconds(2529881062.0).unwrap();
        assert_eq!(e, Expiry::Day(29281));
        assert_eq!(e.date_arg(), "2050-03-03");
        assert_eq!(e.days_arg(), "29281");
        let zero = Expiry::from_seconds(0.0).unwrap();
        assert_eq!(zero.date_arg(), "1970-01-01");
        assert!(!zero.differs(0));
        assert!(zero.differs(-1));
        let never = Expiry::from_seconds(-1.0).unwrap();
        assert_eq!(never, Expiry::Never);
        assert_eq!(Expiry::from_seconds(-0.5).unwrap(), Expiry::Never);
        assert_eq!(never.date_arg(), "");
        assert_eq!(never.days_arg(), "-1");
        assert!(never.differs(0), "no shadow entry reads as 0: set never");
        assert!(!never.differs(-1));
        assert!(!Expiry::from_seconds(-2529881062.0).unwrap().differs(-1));
        assert!(e.differs(29280) && !e.differs(29281));
        assert!(Expiry::from_seconds(f64::NAN).is_err());
        assert!(Expiry::from_seconds(1e15)
            .unwrap_err()
            .contains("'expires'"));
    }

    #[test]
    fn chage_only_what_differs() {
        let now = parse("0:99999:7::").unwrap();
        let want = PasswordDays {
            min: Some(0),
            max: Some(10),
            warn: None,
        };
        assert_eq!(want.chage_flags(Some(&now), false), ["-M", "10"]);
        assert_eq!(want.chage_flags(Some(&now), true), ["-m", "0", "-M", "10"]);
        assert!(want.chage_flags(None, false).is_empty());
        let zero = PasswordDays {
            min: Some(0),
            max: Some(0),
            warn: Some(28),
        };
        assert_eq!(
            zero.chage_flags(Some(&parse("5:10:7::").unwrap()), false),
            ["-m", "0", "-M", "0", "-W", "28"]
        );
    }
}
