//! File modes as Ansible accepts them: `0644`, `"644"`, `0o644`, YAML's octal
//! integer, and symbolic `u=rw,g=r,o=` / `u+x,go-w`.

use serde_json::Value as Json;

/// A mode request: absolute bits, or symbolic clauses applied to the current mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Octal(u32),
    Symbolic(String),
    /// `mode: preserve` (copy/template): keep the source file's mode.
    Preserve,
}

impl Mode {
    pub fn parse(v: &Json) -> Result<Option<Mode>, String> {
        match v {
            Json::Null => Ok(None),
            // YAML 1.1 read `0644` as the number 420: its bits are the mode.
            Json::Number(n) => n
                .as_u64()
                .filter(|m| *m <= 0o7777)
                .map(|m| Some(Mode::Octal(m as u32)))
                .ok_or_else(|| format!("invalid mode {n}")),
            Json::String(s) => {
                let s = s.trim();
                if s == "preserve" {
                    return Ok(Some(Mode::Preserve));
                }
                let digits = s.strip_prefix("0o").unwrap_or(s);
                if !digits.is_empty() && digits.chars().all(|c| c.is_digit(8)) {
                    return u32::from_str_radix(digits, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .map(|m| Some(Mode::Octal(m)))
                        .ok_or_else(|| format!("invalid mode `{s}`"));
                }
                apply_symbolic(s, 0, false)?;
                Ok(Some(Mode::Symbolic(s.to_string())))
            }
            other => Err(format!(
                "invalid mode {other}: use an octal string like '0644'"
            )),
        }
    }

    /// The bits this mode gives a path whose current bits are `current`.
    pub fn resolve(&self, current: u32, is_dir: bool) -> Result<u32, String> {
        match self {
            Mode::Octal(m) => Ok(*m),
            Mode::Symbolic(s) => apply_symbolic(s, current, is_dir),
            Mode::Preserve => Ok(current),
        }
    }
}

/// Applies chmod-style symbolic clauses to `mode`.
fn apply_symbolic(spec: &str, mut mode: u32, is_dir: bool) -> Result<u32, String> {
    for clause in spec.split(',') {
        let bad = || format!("invalid symbolic mode `{spec}`");
        let op_pos = clause.find(['=', '+', '-']).ok_or_else(bad)?;
        let (who_s, rest) = clause.split_at(op_pos);
        let mut who = 0u32;
        for c in who_s.chars() {
            who |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return Err(bad()),
            };
        }
        if who == 0 {
            who = 0o7777;
        }
        let op = rest.chars().next().ok_or_else(bad)?;
        let mut perm = 0u32;
        for c in rest[1..].chars() {
            perm |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || mode & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return Err(bad()),
            };
        }
        let bits = perm & who;
        mode = match op {
            '=' => (mode & !(who & 0o7777)) | bits,
            '+' => mode | bits,
            '-' => mode & !bits,
            _ => return Err(bad()),
        };
    }
    Ok(mode)
}

/// `spec` with `a` written out where a clause names no one (`+x` → `a+x`),
/// so that `chmod` applies it as [`Mode::resolve`] does instead of masking
/// it with the umask.
pub fn explicit_who(spec: &str) -> String {
    spec.split(',')
        .map(|clause| {
            if clause.starts_with(['=', '+', '-']) {
                format!("a{clause}")
            } else {
                clause.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `stat %a` output (`644`, `0644`).
pub fn parse_octal(s: &str) -> u32 {
    u32::from_str_radix(s.trim(), 8).unwrap_or(0)
}

pub fn fmt(m: u32) -> String {
    format!("{m:04o}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms() {
        assert_eq!(
            Mode::parse(&json!(0o644)).unwrap(),
            Some(Mode::Octal(0o644))
        );
        assert_eq!(
            Mode::parse(&json!("0600")).unwrap(),
            Some(Mode::Octal(0o600))
        );
        assert_eq!(
            Mode::parse(&json!("755")).unwrap(),
            Some(Mode::Octal(0o755))
        );
        assert!(Mode::parse(&json!("rwx")).is_err());
        assert!(Mode::parse(&json!("0999")).is_err());
    }

    #[test]
    fn symbolic() {
        let m = Mode::parse(&json!("u=rw,g=r,o=")).unwrap().unwrap();
        assert_eq!(m.resolve(0o777, false).unwrap(), 0o640);
        let m = Mode::parse(&json!("go-w")).unwrap().unwrap();
        assert_eq!(m.resolve(0o666, false).unwrap(), 0o644);
        assert_eq!(explicit_who("u=rwX,+x,g-w"), "u=rwX,a+x,g-w");
        let m = Mode::parse(&json!("a+X")).unwrap().unwrap();
        assert_eq!(m.resolve(0o644, true).unwrap(), 0o755);
        assert_eq!(m.resolve(0o644, false).unwrap(), 0o644);
    }
}
