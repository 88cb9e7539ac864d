//! Digests and password hashing: `hash`, `sha1`, `md5`, `checksum`,
//! `password_hash`.
//!
//! `password_hash` implements SHA-crypt (`$6$` SHA-512 and `$5$` SHA-256,
//! Ulrich Drepper's specification, the algorithm glibc's `crypt` uses) on the
//! `sha2` crate, so no C library or extra crate is needed.
//!
//! Without a salt, Ansible picks a random one, so every run writes a new hash
//! and the `user` module reports a change each time. rprov's contract is that
//! a second run changes nothing, so the missing salt is derived from the
//! password and the hash type instead ([`derived_salt`]): the same password
//! always gives the same hash, which any crypt(3) still verifies. The price:
//! two accounts with the same password get the same hash (on any host), which
//! tells someone who can read both shadow files that the passwords are equal.
//! Give a salt (per host or per user) where that matters.

use md5::Md5;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::{as_text, filter_error};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("hash", hash);
    env.add_filter("sha1", |v: &Value| hex_digest::<Sha1>(v));
    env.add_filter("md5", |v: &Value| hex_digest::<Md5>(v));
    env.add_filter("checksum", |v: &Value| hex_digest::<Sha1>(v));
    env.add_filter("password_hash", password_hash);
}

fn hex_digest<D: Digest>(value: &Value) -> Result<String, Error> {
    Ok(hex::encode(D::digest(as_text(value)?.as_bytes())))
}

/// Ansible's `hash(hashtype='sha1')`: the hex digest of the text.
pub fn hash(value: &Value, hashtype: Option<String>) -> Result<String, Error> {
    match hashtype.as_deref().unwrap_or("sha1") {
        "sha1" => hex_digest::<Sha1>(value),
        "md5" => hex_digest::<Md5>(value),
        "sha224" => hex_digest::<Sha224>(value),
        "sha256" => hex_digest::<Sha256>(value),
        "sha384" => hex_digest::<Sha384>(value),
        "sha512" => hex_digest::<Sha512>(value),
        other => Err(filter_error(
            "hash",
            format!("unsupported hash type '{other}' (sha1, md5, sha224, sha256, sha384, sha512)"),
        )),
    }
}

/// The rounds SHA-crypt uses when none are given; also the value for which
/// the `rounds=` field is left out of the result.
pub const DEFAULT_ROUNDS: u32 = 5000;

/// The rounds ansible-core 2.19 hashes with when none are given: passlib's
/// defaults, pinned in its `utils/encrypt.py` so that every passlib version
/// writes the same hash (and a migrated `user` task sees no change).
fn implicit_rounds(ident: &str) -> u32 {
    match ident {
        "6" => 656_000,
        _ => 535_000,
    }
}

/// Ansible's `password_hash(hashtype, salt, rounds)` for `sha512` and
/// `sha256`, with ansible-core's rounds when none are given. Without a salt, one is derived from the password (see the
/// module docs).
pub fn password_hash(
    value: &Value,
    hashtype: Option<String>,
    salt: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let password = as_text(value)?;
    let hashtype = match hashtype {
        Some(h) => h,
        None => kwargs
            .get::<Option<String>>("hashtype")?
            .unwrap_or_else(|| "sha512".into()),
    };
    let salt = match salt {
        Some(s) => Some(s),
        None => kwargs.get::<Option<String>>("salt")?,
    };
    let rounds = kwargs.get::<Option<u32>>("rounds")?;
    kwargs.assert_all_used()?;
    let ident = match hashtype.as_str() {
        "sha512" | "sha512_crypt" => "6",
        "sha256" | "sha256_crypt" => "5",
        other => {
            return Err(filter_error(
                "password_hash",
                format!("unsupported hash type '{other}' (sha512, sha256)"),
            ))
        }
    };
    let salt = salt.unwrap_or_else(|| derived_salt(&password, ident));
    let rounds = Some(rounds.unwrap_or_else(|| implicit_rounds(ident)));
    if let Some(bad) = salt
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '/'))
    {
        return Err(filter_error(
            "password_hash",
            format!("invalid character {bad:?} in salt (allowed: a-z A-Z 0-9 . /)"),
        ));
    }
    Ok(if ident == "6" {
        sha_crypt::<Sha512>(&password, &salt, rounds)
    } else {
        sha_crypt::<Sha256>(&password, &salt, rounds)
    })
}

/// The salt used when none is given: 16 crypt(3) characters (the most
/// SHA-crypt uses) from a SHA-512 of the password and the hash type (`ident`,
/// `6` or `5`), so a re-run gives the same hash and nothing changes. See the
/// module docs for what this costs.
pub fn derived_salt(password: &str, ident: &str) -> String {
    let digest = Sha512::new()
        .chain_update(b"rprov password_hash salt\0")
        .chain_update(ident.as_bytes())
        .chain_update(b"\0")
        .chain_update(password.as_bytes())
        .finalize();
    digest
        .iter()
        .take(16)
        .map(|b| char::from(ITOA64[usize::from(b & 0x3f)]))
        .collect()
}

/// The crypt(3) base-64 alphabet.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Byte order in which SHA-512 crypt encodes the final digest.
const ORDER_512: [(usize, usize, usize); 21] = [
    (0, 21, 42),
    (22, 43, 1),
    (44, 2, 23),
    (3, 24, 45),
    (25, 46, 4),
    (47, 5, 26),
    (6, 27, 48),
    (28, 49, 7),
    (50, 8, 29),
    (9, 30, 51),
    (31, 52, 10),
    (53, 11, 32),
    (12, 33, 54),
    (34, 55, 13),
    (56, 14, 35),
    (15, 36, 57),
    (37, 58, 16),
    (59, 17, 38),
    (18, 39, 60),
    (40, 61, 19),
    (62, 20, 41),
];

/// Byte order in which SHA-256 crypt encodes the final digest.
const ORDER_256: [(usize, usize, usize); 10] = [
    (0, 10, 20),
    (21, 1, 11),
    (12, 22, 2),
    (3, 13, 23),
    (24, 4, 14),
    (15, 25, 5),
    (6, 16, 26),
    (27, 7, 17),
    (18, 28, 8),
    (9, 19, 29),
];

fn b64_from_24bit(out: &mut String, b2: u8, b1: u8, b0: u8, n: usize) {
    let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
    for _ in 0..n {
        out.push(char::from(ITOA64[(w & 0x3f) as usize]));
        w >>= 6;
    }
}

/// `bytes` repeated to exactly `len` bytes.
fn repeat_to(bytes: &[u8], len: usize) -> Vec<u8> {
    bytes.iter().copied().cycle().take(len).collect()
}

/// SHA-crypt of `password` with `salt` (cut to 16 characters) and `rounds`
/// (default 5000, clamped to 1000..=999999999 as glibc does), giving
/// `$6$salt$hash` for SHA-512 and `$5$salt$hash` for SHA-256.
pub fn sha_crypt<D: Digest>(password: &str, salt: &str, rounds: Option<u32>) -> String {
    let p = password.as_bytes();
    let s = &salt.as_bytes()[..salt.len().min(16)];
    let n = <D as Digest>::output_size();
    let rounds_given = rounds.filter(|r| *r != DEFAULT_ROUNDS);
    let rounds = rounds.unwrap_or(DEFAULT_ROUNDS).clamp(1000, 999_999_999);

    let b = D::new()
        .chain_update(p)
        .chain_update(s)
        .chain_update(p)
        .finalize();
    let mut a = D::new().chain_update(p).chain_update(s);
    a.update(repeat_to(&b, p.len()));
    let mut len = p.len();
    while len > 0 {
        if len & 1 == 1 {
            a.update(&b);
        } else {
            a.update(p);
        }
        len >>= 1;
    }
    let mut c = a.finalize().to_vec();

    let mut dp = D::new();
    for _ in 0..p.len() {
        dp.update(p);
    }
    let p_seq = repeat_to(&dp.finalize(), p.len());
    let mut ds = D::new();
    for _ in 0..(16 + usize::from(c[0])) {
        ds.update(s);
    }
    let s_seq = repeat_to(&ds.finalize(), s.len());

    for i in 0..rounds {
        let mut h = D::new();
        if i % 2 == 1 {
            h.update(&p_seq);
        } else {
            h.update(&c);
        }
        if i % 3 != 0 {
            h.update(&s_seq);
        }
        if i % 7 != 0 {
            h.update(&p_seq);
        }
        if i % 2 == 1 {
            h.update(&c);
        } else {
            h.update(&p_seq);
        }
        c = h.finalize().to_vec();
    }

    let (ident, mut out) = if n == 64 {
        ("6", String::new())
    } else {
        ("5", String::new())
    };
    if n == 64 {
        for (x, y, z) in ORDER_512 {
            b64_from_24bit(&mut out, c[x], c[y], c[z], 4);
        }
        b64_from_24bit(&mut out, 0, 0, c[63], 2);
    } else {
        for (x, y, z) in ORDER_256 {
            b64_from_24bit(&mut out, c[x], c[y], c[z], 4);
        }
        b64_from_24bit(&mut out, 0, c[31], c[30], 3);
    }
    let salt_text = String::from_utf8_lossy(s);
    match rounds_given {
        Some(_) => format!("${ident}$rounds={rounds}${salt_text}${out}"),
        None => format!("${ident}${salt_text}${out}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors from the SHA-crypt specification (checked with passlib).
    #[test]
    fn sha512_crypt_spec_vectors() {
        assert_eq!(
            sha_crypt::<Sha512>("Hello world!", "saltstring", None),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            sha_crypt::<Sha512>("Hello world!", "saltstringsaltstring", Some(10000)),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
    }

    #[test]
    fn sha256_crypt_spec_vector() {
        assert_eq!(
            sha_crypt::<Sha256>("Hello world!", "saltstring", None),
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
    }
}
