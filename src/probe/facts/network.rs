//! Network facts, as ansible-core's `setup` names and shapes them:
//! `interfaces`, `all_ipv4_addresses`, `all_ipv6_addresses`, the whole
//! `default_ipv4`/`default_ipv6`, and one fact per interface.

use serde_json::{Map, Value};

pub const SCRIPT: &str = "";

/// Adds this part's facts, read from the snippet's output `out`.
pub fn parse(_out: &str, _facts: &mut Map<String, Value>) {}
