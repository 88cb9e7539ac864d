//! What `set_stats` gathers over a run: per host, or for the whole run, as
//! ansible-core's `AggregateStats.custom` (its `_run` entry is the run's).
//!
//! A value is set, or with `aggregate` (the default) added to what is
//! there as ansible-core's `update_custom_stats` adds it: mappings merged
//! recursively, numbers summed, text and lists joined; a value of another
//! type than the one there is ignored, as there.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value as Json};

/// The run's custom stats.
#[derive(Default)]
pub struct CustomStats {
    inner: Mutex<Stats>,
}

#[derive(Default)]
struct Stats {
    per_host: BTreeMap<String, Map<String, Json>>,
    run: Option<Map<String, Json>>,
}

impl CustomStats {
    /// Records `data` for `host` (`None`: for the whole run).
    pub fn record(&self, host: Option<&str>, data: &Map<String, Json>, aggregate: bool) {
        let Ok(mut stats) = self.inner.lock() else {
            return;
        };
        let target = match host {
            Some(h) => stats.per_host.entry(h.to_string()).or_default(),
            None => stats.run.get_or_insert_with(Map::new),
        };
        for (k, v) in data {
            match target.get_mut(k) {
                Some(old) if aggregate => {
                    if let Some(sum) = added(old, v) {
                        *old = sum;
                    }
                }
                _ => {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }

    /// Everything recorded, as the default callback lists it: each host's
    /// (by name), then the run's under `_run`; `None` when nothing was.
    pub fn snapshot(&self) -> Option<Json> {
        let stats = self.inner.lock().ok()?;
        if stats.per_host.is_empty() && stats.run.is_none() {
            return None;
        }
        let mut out = Map::new();
        for (h, m) in &stats.per_host {
            out.insert(h.clone(), Json::Object(m.clone()));
        }
        if let Some(run) = &stats.run {
            out.insert("_run".into(), Json::Object(run.clone()));
        }
        Some(Json::Object(out))
    }
}

/// `old` with `new` added as Python's `+=` (and `merge_hash` for
/// mappings) adds them; `None` when the types differ, and ansible-core
/// keeps the old value.
fn added(old: &Json, new: &Json) -> Option<Json> {
    match (old, new) {
        (Json::Object(a), Json::Object(b)) => {
            let mut merged = a.clone();
            for (k, v) in b {
                let value = match (merged.get(k), v) {
                    (Some(Json::Object(_)), Json::Object(_)) => {
                        merged.get(k).and_then(|o| merge(o, v))
                    }
                    _ => Some(v.clone()),
                };
                if let Some(value) = value {
                    merged.insert(k.clone(), value);
                }
            }
            Some(Json::Object(merged))
        }
        (Json::String(a), Json::String(b)) => Some(Json::String(format!("{a}{b}"))),
        (Json::Array(a), Json::Array(b)) => Some(Json::Array(a.iter().chain(b).cloned().collect())),
        // An int takes an int (or a bool, Python's int), a float a float.
        (Json::Number(a), Json::Number(b)) if a.is_f64() == b.is_f64() => {
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                x.checked_add(y).map(Json::from)
            } else {
                serde_json::Number::from_f64(a.as_f64()? + b.as_f64()?).map(Json::Number)
            }
        }
        (Json::Number(a), Json::Bool(b)) if !a.is_f64() => a
            .as_i64()
            .and_then(|x| x.checked_add(i64::from(*b)).map(Json::from)),
        (Json::Bool(a), Json::Bool(b)) => Some(Json::from(i64::from(*a) + i64::from(*b))),
        _ => None,
    }
}

/// `merge_hash` of two mappings: `b`'s keys over `a`'s, mappings in both
/// merged in turn.
fn merge(a: &Json, b: &Json) -> Option<Json> {
    match (a, b) {
        (Json::Object(_), Json::Object(_)) => added(a, b),
        _ => Some(b.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Expected values are ansible-core 2.19's `AggregateStats` after the
    /// same `update_custom_stats`/`set_custom_stats` calls.
    #[test]
    fn aggregates_as_ansible() {
        let s = CustomStats::default();
        assert_eq!(s.snapshot(), None);
        s.record(
            None,
            &map(json!({"n": 10, "t": "a", "l": [1], "m": {"x": {"y": 1}}})),
            true,
        );
        s.record(
            None,
            &map(json!({"n": 15, "t": "b", "l": [2], "m": {"x": {"z": 2}}})),
            true,
        );
        // Another type than the one there: kept as it was.
        s.record(None, &map(json!({"n": "x", "f": 1.5})), true);
        s.record(None, &map(json!({"f": 1})), true);
        s.record(Some("h1"), &map(json!({"n": 1})), true);
        s.record(Some("h1"), &map(json!({"n": 5})), false);
        assert_eq!(
            s.snapshot(),
            Some(json!({
                "h1": {"n": 5},
                "_run": {"n": 25, "t": "ab", "l": [1, 2], "m": {"x": {"y": 1, "z": 2}}, "f": 1.5},
            }))
        );
    }
}
