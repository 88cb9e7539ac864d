//! Shared pieces of the parser fuzz tests (issue 13): a proptest
//! configuration that is the same on every machine, and text built from the
//! tokens a grammar cares about.
//!
//! Random bytes rarely get past a parser's first check; text made mostly of
//! the grammar's own tokens (brackets, colons, keys, template braces) reaches
//! the code behind it. A fixed seed keeps CI deterministic, a fixed case count
//! keeps each test to a few seconds, and no failure files are written into
//! the source tree.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// `cases` cases from a fixed seed, without failure persistence.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(13),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text of up to `max` pieces: mostly `tokens`, some short words, some
/// arbitrary characters.
pub fn text_of(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            5 => prop::sample::select(tokens).prop_map(str::to_string),
            1 => "[a-z0-9_.-]{1,5}",
            1 => any::<char>().prop_map(String::from),
        ],
        0..max,
    )
    .prop_map(|parts| parts.concat())
}
