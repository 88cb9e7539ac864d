//! Per-host counters and the recap table.

use std::time::Duration;

use console::style;
use serde_json::Value as Json;

use super::Status;

#[derive(Clone, Debug, Default)]
pub struct HostStats {
    pub ok: u64,
    pub changed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unknown: u64,
    pub ignored: u64,
    /// Failures a block's `rescue` took over (also counted in `ok`).
    pub rescued: u64,
    /// Facts gathered at a play's start: ansible-core's `Gathering Facts`
    /// task, an `ok` in its recap; rprov's own recap counts tasks only.
    pub facts_gathered: u64,
    /// Of `skipped`, the `meta` tasks whose `when` was false: ansible-core's
    /// stats do not count a `meta` result.
    pub meta_skipped: u64,
    /// Ignored failures whose result says `changed` (ansible-core counts
    /// them as changed; rprov's own recap does not).
    pub ignored_changed: u64,
    /// How often the host was found unreachable: more than once when
    /// `meta: clear_host_errors` let a later task try again (ansible-core's
    /// recap counts each; rprov's says 0 or 1).
    pub unreachable_times: u64,
    /// Of `failed` and `unreachable_times`, how many `meta:
    /// clear_host_errors` forgave: the host took part in later plays, and
    /// only later failures make the run's exit code, as in ansible-core.
    pub failed_cleared: u64,
    pub unreachable_cleared: u64,
    pub remote_commands: u64,
}

impl HostStats {
    /// Whether the host was found unreachable at least once.
    pub fn is_unreachable(&self) -> bool {
        self.unreachable_times > 0
    }

    pub fn count(&mut self, s: Status, ignored: bool) {
        match s {
            Status::Ok => self.ok += 1,
            Status::Changed => self.changed += 1,
            Status::Failed if ignored => self.ignored += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
            Status::Unknown => self.unknown += 1,
        }
    }
}

/// The last line of `--output json`. Its exact text is a contract scripts rely
/// on, so it is written out here rather than left to a serializer's spacing:
/// `{"recap": {"HOST": {"ok": N, "changed": N, "unknown": N, "failed": N, "skipped": N, "unreachable": 0, "remote_commands": N, "ignored": N, "rescued": N}}}`
/// (`unknown`: tasks whose effect could not be known, in check mode;
/// `ignored`: failures `ignore_errors` let pass, counted nowhere else;
/// `rescued`: failures a `rescue:` took over, also counted in `ok`).
pub fn json_line(stats: &[(String, HostStats)]) -> String {
    let hosts: Vec<String> = stats
        .iter()
        .map(|(h, s)| {
            format!(
                "{}: {{\"ok\": {}, \"changed\": {}, \"unknown\": {}, \"failed\": {}, \"skipped\": {}, \"unreachable\": {}, \"remote_commands\": {}, \"ignored\": {}, \"rescued\": {}}}",
                Json::String(h.clone()),
                s.ok,
                s.changed,
                s.unknown,
                s.failed,
                s.skipped,
                u8::from(s.is_unreachable()),
                s.remote_commands,
                s.ignored,
                s.rescued
            )
        })
        .collect();
    format!("{{\"recap\": {{{}}}}}", hosts.join(", "))
}

/// What `set_stats` gathered, as ansible-core's default callback shows it
/// with `show_custom_stats`: a `CUSTOM STATS` heading, a line per host
/// (sorted), then the run's as `RUN`, each value JSON with sorted keys on
/// one line (`{ "my_int": 25}`).
pub fn custom_stats(custom: &Json) -> String {
    let mut out = String::from("\nCUSTOM STATS\n");
    let Json::Object(m) = custom else {
        return out;
    };
    let mut hosts: Vec<&String> = m.keys().filter(|k| *k != "_run").collect();
    hosts.sort();
    for h in hosts {
        out.push_str(&format!("\t{h}: {}\n", one_line(&m[h])));
    }
    if let Some(run) = m.get("_run") {
        out.push_str(&format!("\n\tRUN: {}\n", one_line(run)));
    }
    out
}

/// Python's `json.dumps(v, indent=1, sort_keys=True)` with its newlines
/// removed, as the default callback prints custom stats.
fn one_line(v: &Json) -> String {
    fn sorted(v: &Json) -> Json {
        match v {
            Json::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Json::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Json::Array(a) => Json::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(&sorted(v), &mut ser).is_err() {
        return v.to_string();
    }
    String::from_utf8_lossy(&buf).replace('\n', "")
}

pub fn render(stats: &[(String, HostStats)], elapsed: Duration, color: bool) -> String {
    let width = super::name_column(stats.iter().map(|(h, _)| h.as_str()).chain(["RECAP"]));
    let mut out = format!(
        "\n{}  {:>4} {:>7} {:>7} {:>6} {:>7} {:>11} {:>8}\n",
        super::pad("RECAP", width),
        "ok",
        "changed",
        "unknown",
        "failed",
        "skipped",
        "unreachable",
        "commands",
    );
    for (h, s) in stats {
        let line = format!(
            "{}  {:>4} {:>7} {:>7} {:>6} {:>7} {:>11} {:>8}",
            super::pad(h, width),
            s.ok,
            s.changed,
            s.unknown,
            s.failed,
            s.skipped,
            u8::from(s.is_unreachable()),
            s.remote_commands,
        );
        let painted = if !color {
            line
        } else if s.failed > 0 || s.is_unreachable() {
            style(line).red().to_string()
        } else if s.changed > 0 {
            style(line).yellow().to_string()
        } else {
            style(line).green().to_string()
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out.push_str(&format!(
        "{} host(s) in {:.1}s\n",
        stats.len(),
        elapsed.as_secs_f64()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recap_line_is_exact() {
        let s = HostStats {
            ok: 3,
            changed: 1,
            unknown: 4,
            skipped: 2,
            remote_commands: 2,
            ignored: 5,
            rescued: 1,
            ..HostStats::default()
        };
        let line = json_line(&[
            ("web\"1".to_string(), s),
            (
                "db".to_string(),
                HostStats {
                    unreachable_times: 1,
                    ..HostStats::default()
                },
            ),
        ]);
        assert_eq!(
            line,
            r#"{"recap": {"web\"1": {"ok": 3, "changed": 1, "unknown": 4, "failed": 0, "skipped": 2, "unreachable": 0, "remote_commands": 2, "ignored": 5, "rescued": 1}, "db": {"ok": 0, "changed": 0, "unknown": 0, "failed": 0, "skipped": 0, "unreachable": 1, "remote_commands": 0, "ignored": 0, "rescued": 0}}}"#
        );
        let v: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(v["recap"]["db"]["unreachable"], 1);
        assert_eq!(v["recap"]["web\"1"]["unknown"], 4);
    }

    /// Issue 13: a 65,536-character host name panicked here ("Formatting
    /// argument out of range": `format!` widths stop at u16::MAX).
    #[test]
    fn a_huge_host_name_does_not_break_the_table() {
        let long = "h".repeat(65_536);
        let out = render(
            &[
                (long.clone(), HostStats::default()),
                ("db".to_string(), HostStats::default()),
            ],
            Duration::from_secs(1),
            false,
        );
        let rows: Vec<&str> = out.lines().collect();
        assert!(rows[2].starts_with(&long), "{}", &rows[2][..80]);
        // The column is capped, so the short names' rows stay short.
        assert!(rows[3].len() < 200, "{}", rows[3]);
        assert!(rows[3].starts_with("db "), "{}", rows[3]);
    }
}
