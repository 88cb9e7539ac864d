//! `random` and `shuffle`, with Python's generator.
//!
//! With a `seed`, ansible-core builds `random.Random(seed)` and users rely
//! on the numbers it gives (a cron minute `{{ 59 | random(seed=inventory_hostname) }}`
//! must stay what Ansible chose for that host). So this module carries
//! CPython's Mersenne Twister (MT19937) with the seeding of `Random.seed`
//! (version 2: a `str` seed is its UTF-8 bytes followed by their SHA-512,
//! read as one big-endian integer; an `int` seed is its absolute value; a
//! `float` seed is Python's `hash()` of it), fed to `init_by_array` in
//! 32-bit words, least significant first, and `getrandbits`, `randrange`,
//! `choice` and `shuffle` drawing from it as CPython 3.11 does. Without a
//! seed the generator is seeded from the system's entropy, as Python's
//! `SystemRandom` (any randomness does).

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};
use sha2::{Digest, Sha512};

use super::{bind_args, filter_error, require_defined};

/// Adds the filters of this module.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
}

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// CPython's `random.Random` state: MT19937.
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    fn init_genrand(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        PyRandom { mt, index: N }
    }

    /// `init_by_array` of the reference implementation (an empty key is
    /// read as `[0]`, as CPython passes one zero word for the seed 0).
    pub fn from_key(key: &[u32]) -> Self {
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let mut r = Self::init_genrand(19_650_218);
        let mt = &mut r.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        r
    }

    /// Seeded from a non-negative integer given as big-endian bytes.
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let digits = &bytes[start..];
        // 32-bit words, least significant first.
        let key: Vec<u32> = digits
            .rchunks(4)
            .map(|chunk| chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
            .collect();
        Self::from_key(&key)
    }

    /// `Random(s)` for a `str` seed (version 2 seeding).
    pub fn from_str_seed(s: &str) -> Self {
        let mut bytes = s.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(s.as_bytes()));
        Self::from_be_bytes(&bytes)
    }

    /// `Random(n)` for an `int` seed.
    pub fn from_int_seed(n: i128) -> Self {
        Self::from_be_bytes(&n.unsigned_abs().to_be_bytes())
    }

    /// `Random(x)` for a `float` seed: CPython seeds from `hash(x)` taken
    /// as an unsigned machine word.
    pub fn from_float_seed(x: f64) -> Self {
        Self::from_be_bytes(&(py_hash_float(x) as u64).to_be_bytes())
    }

    /// A generator seeded from the system's entropy (a seed-less `random`).
    pub fn from_entropy() -> Self {
        let mut seed = [0u8; 32];
        let read = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed));
        if read.is_err() {
            // No /dev/urandom: the clock and the process are randomness
            // enough for a filter documented as unseeded.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let mixed = Sha512::new()
                .chain_update(now.to_le_bytes())
                .chain_update(std::process::id().to_le_bytes())
                .finalize();
            seed.copy_from_slice(&mixed[..32]);
        }
        Self::from_be_bytes(&seed)
    }

    fn generate(&mut self) {
        let mt = &mut self.mt;
        let mag = |y: u32| if y & 1 == 1 { MATRIX_A } else { 0 };
        for kk in 0..N - M {
            let y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
            mt[kk] = mt[kk + M] ^ (y >> 1) ^ mag(y);
        }
        for kk in N - M..N - 1 {
            let y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
            mt[kk] = mt[kk + M - N] ^ (y >> 1) ^ mag(y);
        }
        let y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
        mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ mag(y);
        self.index = 0;
    }

    /// The next 32 random bits (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.generate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k` up to 128.
    fn getrandbits(&mut self, k: u32) -> u128 {
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return u128::from(self.next_u32() >> (32 - k));
        }
        let mut out = 0u128;
        let mut left = k;
        let mut shift = 0;
        while left > 0 {
            let mut r = self.next_u32();
            if left < 32 {
                r >>= 32 - left;
            }
            out |= u128::from(r) << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `_randbelow(n)`: uniform in `[0, n)`, `n > 0`.
    pub fn below(&mut self, n: u128) -> u128 {
        let k = 128 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)` with Python's errors.
    pub fn randrange(&mut self, start: i128, stop: i128, step: i128) -> Result<i128, String> {
        let width = stop
            .checked_sub(start)
            .ok_or_else(|| "the range is too large".to_string())?;
        if step == 1 {
            if width > 0 {
                return Ok(start + self.below(width as u128) as i128);
            }
            return Err(format!(
                "empty range for randrange() ({start}, {stop}, {width})"
            ));
        }
        let n = if step > 0 {
            (width + step - 1).div_euclid(step)
        } else if step < 0 {
            (width + step + 1).div_euclid(step)
        } else {
            return Err("zero step for randrange()".into());
        };
        if n <= 0 {
            return Err("empty range for randrange()".into());
        }
        let pick = self.below(n as u128) as i128;
        step.checked_mul(pick)
            .and_then(|d| start.checked_add(d))
            .ok_or_else(|| "the range is too large".to_string())
    }

    /// `shuffle(x)`, in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u128 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// Python's `hash()` of a float (`_Py_HashDouble`): integral values hash as
/// the integer, others by the modular reduction modulo 2**61 - 1.
pub fn py_hash_float(v: f64) -> i64 {
    const BITS: i32 = 61;
    const MODULUS: u64 = (1 << BITS) - 1;
    if v.is_infinite() {
        return if v > 0.0 { 314_159 } else { -314_159 };
    }
    if v.is_nan() {
        return 0;
    }
    let (mut m, mut e) = frexp(v);
    let sign: i64 = if m < 0.0 {
        m = -m;
        -1
    } else {
        1
    };
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | (x >> (BITS - 28));
        m *= 268_435_456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 {
        e % BITS
    } else {
        BITS - 1 - ((-1 - e) % BITS)
    };
    x = ((x << e) & MODULUS) | (x >> (BITS - e));
    let h = (x as i64) * sign;
    if h == -1 {
        -2
    } else {
        h
    }
}

/// C's `frexp`: `v = m * 2**e` with `0.5 <= |m| < 1` (`(0.0, 0)` for zero).
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(v * f64::from_bits(0x4350_0000_0000_0000)); // 2**54
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022)
}

/// The generator `Random(seed)` makes, or `None` for no seed. A seed of
/// another type than Python accepts is Python's `TypeError`.
fn seeded(name: &str, seed: &Value) -> Result<Option<PyRandom>, Error> {
    Ok(Some(match seed.kind() {
        ValueKind::None | ValueKind::Undefined => return Ok(None),
        ValueKind::String => PyRandom::from_str_seed(seed.as_str().unwrap_or_default()),
        ValueKind::Bool => PyRandom::from_int_seed(i128::from(seed.is_true())),
        ValueKind::Number if seed.is_integer() => {
            let n = i128::try_from(seed.clone()).map_err(|e| filter_error(name, e))?;
            PyRandom::from_int_seed(n)
        }
        ValueKind::Number => {
            let x = f64::try_from(seed.clone()).map_err(|e| filter_error(name, e))?;
            PyRandom::from_float_seed(x)
        }
        _ => {
            return Err(filter_error(
                name,
                "The only supported seed types are: None,\nint, float, str, bytes, and bytearray.",
            ))
        }
    }))
}

/// An integer argument of `randrange` (Python's `_index`, or an integral
/// float, which Python 3.11 still takes with a warning).
fn range_arg(v: &Value, which: &str) -> Result<i128, String> {
    match v.kind() {
        ValueKind::Bool => Ok(i128::from(v.is_true())),
        ValueKind::Number if v.is_integer() => i128::try_from(v.clone()).map_err(|e| e.to_string()),
        ValueKind::Number => {
            let f = f64::try_from(v.clone()).map_err(|e| e.to_string())?;
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e38 {
                Ok(f as i128)
            } else {
                Err(format!("non-integer {which} for randrange()"))
            }
        }
        _ => Err(format!(
            "'{}' object cannot be interpreted as an integer",
            crate::convert::py_type(v)
        )),
    }
}

/// Ansible's `random(end, start=None, step=None, seed=None)`: for an
/// integer `end`, `randrange(start or 0, end, step or 1)`; for a list (or
/// a string) one of its items (`choice`).
pub fn random(end: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "random";
    require_defined(end)?;
    let [start, step, seed] = bind_args(NAME, &args, &kwargs, ["start", "step", "seed"])?;
    let mut rng = match seed
        .as_ref()
        .map(|s| seeded(NAME, s))
        .transpose()?
        .flatten()
    {
        Some(r) => r,
        None => PyRandom::from_entropy(),
    };
    // `if not start` / `if not step`: None, 0 and other false values.
    let given = |v: &Option<Value>| v.clone().filter(Value::is_true);
    match end.kind() {
        ValueKind::Number | ValueKind::Bool
            if end.is_integer() || end.kind() == ValueKind::Bool =>
        {
            let err = |m: String| filter_error(NAME, m);
            let stop = range_arg(end, "stop").map_err(err)?;
            let start = match given(&start) {
                Some(s) => range_arg(&s, "arg 1").map_err(err)?,
                None => 0,
            };
            let step = match given(&step) {
                Some(s) => range_arg(&s, "step").map_err(err)?,
                None => 1,
            };
            let n = rng.randrange(start, stop, step).map_err(err)?;
            Ok(i64::try_from(n).map_or_else(|_| Value::from(n), Value::from))
        }
        ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            if given(&start).is_some() || given(&step).is_some() {
                return Err(filter_error(
                    NAME,
                    "start and step can only be used with integer values",
                ));
            }
            choice(&mut rng, end)
        }
        _ => Err(filter_error(
            NAME,
            "random can only be used on sequences and integers",
        )),
    }
}

/// `Random.choice(seq)`: a string gives a character, a list an item; a
/// mapping is indexed by the number drawn, as Python does (so only a
/// mapping with that integer key has anything to give).
fn choice(rng: &mut PyRandom, seq: &Value) -> Result<Value, Error> {
    const NAME: &str = "random";
    if let Some(s) = seq.as_str() {
        let chars: Vec<char> = s.chars().collect();
        if chars.is_empty() {
            return Err(filter_error(NAME, "Cannot choose from an empty sequence"));
        }
        return Ok(Value::from(chars[rng.below(chars.len() as u128) as usize]));
    }
    let len = seq.len().unwrap_or(0);
    if len == 0 {
        return Err(filter_error(NAME, "Cannot choose from an empty sequence"));
    }
    let i = rng.below(len as u128) as usize;
    if seq.kind() == ValueKind::Map {
        let item = seq.get_item(&Value::from(i)).unwrap_or(Value::UNDEFINED);
        if item.is_undefined() {
            return Err(filter_error(NAME, i));
        }
        return Ok(item);
    }
    seq.try_iter()
        .map_err(|e| filter_error(NAME, e))?
        .nth(i)
        .ok_or_else(|| filter_error(NAME, "Cannot choose from an empty sequence"))
}

/// Ansible's `shuffle(seed=None)`: the items (a string's characters, a
/// mapping's keys) in a random order, the same order for the same seed
/// (a false seed, `0` or `''`, shuffles unseeded). What is not iterable is
/// returned as it is, and a seed Python refuses leaves the list unshuffled,
/// both as ansible-core (which swallows the error).
pub fn shuffle(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "shuffle";
    require_defined(value)?;
    let [seed] = bind_args(NAME, &args, &kwargs, ["seed"])?;
    let mut items: Vec<Value> = match value.kind() {
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => match value.try_iter() {
            Ok(it) => it.collect(),
            Err(_) => return Ok(value.clone()),
        },
        _ => return Ok(value.clone()),
    };
    let rng = match seed.filter(Value::is_true) {
        Some(s) => match seeded(NAME, &s) {
            Ok(r) => r,
            Err(_) => return Ok(Value::from(items)),
        },
        None => None,
    };
    rng.unwrap_or_else(PyRandom::from_entropy)
        .shuffle(&mut items);
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values checked against python3 (CPython 3.11) on the controller:
    // `random.Random(seed).getrandbits(32)` and friends.
    #[test]
    fn mersenne_twister_matches_cpython() {
        assert_eq!(PyRandom::from_int_seed(0).next_u32(), 3_626_764_237);
        assert_eq!(PyRandom::from_int_seed(42).next_u32(), 2_746_317_213);
        assert_eq!(PyRandom::from_int_seed(-42).next_u32(), 2_746_317_213);
    }

    #[test]
    fn float_hash_is_pythons() {
        assert_eq!(py_hash_float(3.0), 3);
        assert_eq!(py_hash_float(-1.0), -2);
        assert_eq!(py_hash_float(0.5), 1_152_921_504_606_846_976);
        assert_eq!(py_hash_float(1.5), 1_152_921_504_606_846_977);
    }
}
