//! The version schemes of ansible-core's `version` test (`version_type`):
//! `loose` (distutils' LooseVersion), `strict` (StrictVersion), `semver`
//! (ansible's SemanticVersion) and `pep440` (packaging's Version). Each
//! parses to a key that orders as that scheme orders; a version the scheme
//! refuses is an error in the scheme's own words, which ansible-core puts
//! after "Version comparison failed: ".

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// The schemes, as ansible-core names them.
pub const TYPES: &[&str] = &["loose", "strict", "semver", "semantic", "pep440"];

/// Compares `a` with `b` under `scheme` (one of [`TYPES`]).
pub fn compare(scheme: &str, a: &str, b: &str) -> Result<Ordering, String> {
    match scheme {
        "strict" => Ok(strict(a)?.cmp(&strict(b)?)),
        "semver" | "semantic" => Ok(semver(a)?.cmp(&semver(b)?)),
        "pep440" => Ok(pep440(a)?.cmp(&pep440(b)?)),
        _ => Ok(crate::jinja_tests::compare_versions(a, b)),
    }
}

/// A StrictVersion's order: major, minor, patch, then (1 for a release, or
/// 0 with the pre-release's letter and number).
type StrictKey = (u64, u64, u64, (u8, char, u64));

/// StrictVersion: `N.N[.N][(a|b)N]`; a pre-release sorts before its release.
fn strict(v: &str) -> Result<StrictKey, String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$").expect("a valid regex")
    });
    let bad = || format!("invalid version number '{v}'");
    let c = RE.captures(v).ok_or_else(bad)?;
    let num = |i: usize| -> Result<u64, String> {
        c.get(i)
            .map_or(Ok(0), |m| m.as_str().parse().map_err(|_| bad()))
    };
    let pre = match c.get(4) {
        Some(l) => (0, l.as_str().chars().next().unwrap_or('a'), num(5)?),
        None => (1, ' ', 0),
    };
    Ok((num(1)?, num(2)?, num(3)?, pre))
}

/// One dot-separated identifier of a semver pre-release: numbers sort
/// before words, numbers by value, words as text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Num(u64),
    Word(String),
}

/// A semantic version's order: major, minor, patch, whether it is a
/// release, then its pre-release identifiers.
type SemverKey = (u64, u64, u64, bool, Vec<Ident>);

/// SemanticVersion (semver 2.0.0): `MAJOR.MINOR.PATCH[-pre][+build]`; the
/// build is ignored, a pre-release sorts before its release.
fn semver(v: &str) -> Result<SemverKey, String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$",
        )
        .expect("a valid regex")
    });
    let bad = || format!("invalid semantic version '{v}'");
    let c = RE.captures(v).ok_or_else(bad)?;
    let num = |i: usize| -> Result<u64, String> {
        c.get(i)
            .map_or(Ok(0), |m| m.as_str().parse().map_err(|_| bad()))
    };
    let pre: Vec<Ident> = c
        .get(4)
        .map(|m| {
            m.as_str()
                .split('.')
                .map(|p| match p.parse() {
                    Ok(n) => Ident::Num(n),
                    Err(_) => Ident::Word(p.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((num(1)?, num(2)?, num(3)?, pre.is_empty(), pre))
}

/// A PEP 440 version's order: release, pre-release, post-release, dev.
type Pep440Key = (Vec<u64>, (i8, u8, u64), i64, (i8, u64));

/// PEP 440: the release (trailing zeros dropped), then pre-release
/// (`a` < `b` < `rc`), post-release and dev-release, as packaging orders
/// them: `1.0.dev0` < `1.0a1` < `1.0` < `1.0.post1`.
fn pep440(v: &str) -> Result<Pep440Key, String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^v?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$",
        )
        .expect("a valid regex")
    });
    let bad = || format!("Invalid version: '{v}'");
    let c = RE.captures(v.trim()).ok_or_else(bad)?;
    let n = |i: usize| -> Result<u64, String> {
        match c.get(i).map(|m| m.as_str()) {
            None | Some("") => Ok(0),
            Some(s) => s.parse().map_err(|_| bad()),
        }
    };
    let mut release = c
        .get(1)
        .map(|m| m.as_str())
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<Vec<_>, _>>()?;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let has_post = c.get(4).is_some() || c.get(5).is_some();
    let has_dev = c.get(6).is_some();
    let pre = match c.get(2).map(|m| m.as_str().to_lowercase()) {
        Some(kind) => {
            let rank = match kind.as_str() {
                "a" | "alpha" => 0,
                "b" | "beta" => 1,
                _ => 2,
            };
            (0, rank, n(3)?)
        }
        // A dev release of the final version sorts before its pre-releases.
        None if has_dev && !has_post => (-1, 0, 0),
        None => (1, 0, 0),
    };
    let post = if has_post { (n(4)? + n(5)?) as i64 } else { -1 };
    let dev = if has_dev { (0, n(6)?) } else { (1, 0) };
    Ok((release, pre, post, dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_orders_and_refuses_as_its_python_class() {
        assert_eq!(compare("strict", "1.0", "1.0.0"), Ok(Ordering::Equal));
        assert_eq!(compare("strict", "1.0a1", "1.0"), Ok(Ordering::Less));
        assert_eq!(
            compare("strict", "nope", "1.0"),
            Err("invalid version number 'nope'".into())
        );
        assert_eq!(compare("semver", "1.2.3", "2.0.0"), Ok(Ordering::Less));
        assert_eq!(compare("semver", "1.0.0-rc.1", "1.0.0"), Ok(Ordering::Less));
        assert_eq!(compare("semver", "1.0.0-2", "1.0.0-10"), Ok(Ordering::Less));
        assert_eq!(
            compare("semver", "nope", "1.0.0"),
            Err("invalid semantic version 'nope'".into())
        );
        assert_eq!(compare("pep440", "2.14.0rc1", "2.14.0"), Ok(Ordering::Less));
        assert_eq!(compare("pep440", "1.0.dev0", "1.0a1"), Ok(Ordering::Less));
        assert_eq!(compare("pep440", "1.0.post1", "1.0"), Ok(Ordering::Greater));
        assert_eq!(compare("pep440", "1.0", "1"), Ok(Ordering::Equal));
        assert_eq!(compare("loose", "1.10", "1.9"), Ok(Ordering::Greater));
    }
}
