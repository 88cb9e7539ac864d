//! The `serial:` play keyword: a play run on its hosts in batches, each batch
//! through the whole play (handlers included) before the next starts, so a
//! change rolls through a fleet a few hosts at a time.
//!
//! Sizes follow ansible-core's `_get_serialized_batches`: a number, a
//! percentage of the play's hosts (`"25%"`, rounded down, at least 1), or a
//! list of those whose last entry repeats until every host had its turn; a
//! size of 0 (or none) is one batch of every host.

use serde_json::Value as Json;

/// One entry of `serial:`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BatchSize {
    Hosts(usize),
    Percent(f64),
}

impl BatchSize {
    /// Reads one entry: `3`, `"3"`, `"30%"`. `None` when it is neither.
    pub fn parse(v: &Json) -> Option<BatchSize> {
        match v {
            Json::Number(n) => n.as_u64().map(|n| BatchSize::Hosts(n as usize)),
            Json::String(s) => {
                let s = s.trim();
                match s.strip_suffix('%') {
                    Some(p) => p
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=100.0).contains(p))
                        .map(BatchSize::Percent),
                    None => s.parse::<usize>().ok().map(BatchSize::Hosts),
                }
            }
            _ => None,
        }
    }

    /// How many hosts this entry takes of a play with `total` hosts.
    fn count(self, total: usize) -> usize {
        match self {
            BatchSize::Hosts(n) => n,
            BatchSize::Percent(p) => (((p / 100.0) * total as f64) as usize).max(1),
        }
    }
}

/// Splits `hosts` (already in the play's `order`) into batches.
pub fn batches(hosts: &[String], serial: &[BatchSize]) -> Vec<Vec<String>> {
    let total = hosts.len();
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let n = serial.get(i).map_or(0, |s| s.count(total));
        if n == 0 {
            out.push(rest.to_vec());
            break;
        }
        let (batch, after) = rest.split_at(n.min(rest.len()));
        out.push(batch.to_vec());
        rest = after;
        i = (i + 1).min(serial.len().saturating_sub(1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    fn sizes(b: &[Vec<String>]) -> Vec<usize> {
        b.iter().map(Vec::len).collect()
    }

    #[test]
    fn sizes_follow_ansible() {
        let p = |v: Json| BatchSize::parse(&v).unwrap();
        assert_eq!(sizes(&batches(&hosts(5), &[])), [5]);
        assert_eq!(sizes(&batches(&hosts(5), &[p(json!(2))])), [2, 2, 1]);
        assert_eq!(sizes(&batches(&hosts(5), &[p(json!(0))])), [5]);
        // A list: the last entry repeats.
        let list = [p(json!(1)), p(json!("2")), p(json!("50%"))];
        assert_eq!(sizes(&batches(&hosts(10), &list)), [1, 2, 5, 2]);
        // A percentage rounds down, but is at least one host.
        assert_eq!(sizes(&batches(&hosts(3), &[p(json!("25%"))])), [1, 1, 1]);
        assert_eq!(sizes(&batches(&hosts(8), &[p(json!("30%"))])), [2, 2, 2, 2]);
        // Order is kept.
        assert_eq!(batches(&hosts(3), &[p(json!(2))])[1], ["h3"]);
    }

    #[test]
    fn bad_entries_are_refused() {
        for v in [json!("x"), json!("150%"), json!(-1), json!([1]), json!(1.5)] {
            assert_eq!(BatchSize::parse(&v), None, "{v}");
        }
    }
}
