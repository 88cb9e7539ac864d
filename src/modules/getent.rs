//! `getent`: an entry (or all entries) of a name-service database as the
//! fact `getent_<database>`, read without Python.
//!
//! As ansible-core's `getent` (2.19): each output line is split at `split`
//! (`:` for `passwd`, `shadow`, `group` and `gshadow`, whitespace
//! otherwise); its first field is the key and the rest the value, and a key
//! seen again turns its value into a list of the values. getent's exit
//! status 1, 2 and 3 fail the task with ansible-core's words, except a key
//! not found with `fail_key: no`, which sets the key to `null`.
//!
//! Cost: one read-only probe (it runs in `--check` too, batched with the
//! probes of the tasks around it). It never reports a change.

use serde_json::{json, Map, Value as Json};

use super::change::read::split_status;
use super::change::Read;
use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};

/// ansible-core's words for getent's exit status 2.
const KEY_NOT_FOUND: &str = "One or more supplied key could not be found in the database.";

/// The databases whose fields `:` separates.
const COLON: [&str; 4] = ["passwd", "shadow", "group", "gshadow"];

module_args! {
    /// `getent`'s arguments.
    pub struct Args {
        database: String ["database"],
        key: Option<String> ["key"],
        /// getent's `-s`: the name service to ask instead of nsswitch's.
        service: Option<String> ["service"],
        /// What separates a line's fields (see [`COLON`] for the default).
        split: Option<String> ["split"],
        fail_key: bool ["fail_key"] = true,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let Args {
        database,
        key,
        service,
        split,
        fail_key,
    } = Args::from_cx(cx)?;
    let split = match split {
        Some(s) if s.is_empty() => {
            return Err(PlanError::Fail(
                "`split` must not be empty: leave it out to split at whitespace".into(),
            ))
        }
        Some(s) => Some(s),
        None if COLON.contains(&database.as_str()) => Some(":".to_string()),
        None => None,
    };
    let mut argv = vec!["getent".to_string()];
    if let Some(s) = &service {
        argv.extend(["-s".to_string(), s.clone()]);
    }
    argv.push(database.clone());
    argv.extend(key.clone());

    let (out, rc) = split_status(&cx.ask_one(Read::Status(argv))?);
    let fact = format!("getent_{database}");
    let fail = |msg: &str| Err(PlanError::Fail(msg.to_string()));
    let entries = match rc {
        Some(0) => entries(&out, split.as_deref()),
        Some(1) => return fail("Missing arguments, or database unknown."),
        Some(2) if !fail_key => {
            let mut m = Map::new();
            m.insert(key.unwrap_or_default(), Json::Null);
            let mut result = result_with(&fact, m);
            result.insert("msg".into(), json!(KEY_NOT_FOUND));
            return Ok(Decision::Ok {
                result,
                msg: Some(KEY_NOT_FOUND.to_string()),
            });
        }
        Some(2) => return fail(KEY_NOT_FOUND),
        Some(3) => return fail("Enumeration not supported on this database."),
        // 127: no getent on the host.
        Some(127) => return fail("Failed to find required executable \"getent\" in paths"),
        _ => return fail("Unexpected failure!"),
    };
    let msg = Some(format!("{} entries", entries.len()));
    Ok(Decision::Ok {
        result: result_with(&fact, entries),
        msg,
    })
}

fn result_with(fact: &str, entries: Map<String, Json>) -> Map<String, Json> {
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert(
        "ansible_facts".into(),
        json!({ fact: Json::Object(entries) }),
    );
    result
}

/// The lines as ansible-core files them: the first field is the key, the
/// others its value; a key seen again holds a list of its values.
fn entries(out: &str, split: Option<&str>) -> Map<String, Json> {
    let mut entries = Map::new();
    // The keys whose value is already the list of their values.
    let mut listed = std::collections::HashSet::new();
    for line in out.lines() {
        let fields: Vec<&str> = match split {
            Some(s) => line.split(s).collect(),
            None => line.split_whitespace().collect(),
        };
        let Some((first, rest)) = fields.split_first() else {
            continue;
        };
        let value = json!(rest);
        match entries.get_mut(*first) {
            None => {
                entries.insert(first.to_string(), value);
            }
            Some(Json::Array(all)) if listed.contains(*first) => all.push(value),
            Some(old) => {
                *old = json!([old.take(), value]);
                listed.insert(first.to_string());
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing;
    use crate::probe::{Fact, Probe};

    fn plan_with(args: Json, answer: &'static str) -> Result<Decision, PlanError> {
        testing::run("getent", args, move |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(answer.to_string())),
            _ => None,
        })
    }

    /// Expected values: what ansible-core 2.19's getent sets for the same
    /// getent output.
    #[test]
    fn lines_are_filed_as_ansible_files_them() {
        let out = "root:x:0:0:root:/root:/bin/bash\n";
        let e = entries(out, Some(":"));
        assert_eq!(
            Json::Object(e),
            json!({"root": ["x", "0", "0", "root", "/root", "/bin/bash"]})
        );
        // Whitespace splitting, and a key seen three times.
        let out = "ssh 22/tcp\nssh 22/udp\nssh 22/sctp\nhttp  80/tcp www\n";
        assert_eq!(
            Json::Object(entries(out, None)),
            json!({
                "ssh": [["22/tcp"], ["22/udp"], ["22/sctp"]],
                "http": ["80/tcp", "www"],
            })
        );
    }

    #[test]
    fn exit_statuses_fail_in_ansibles_words() {
        let ok = plan_with(
            json!({"database": "passwd", "key": "root"}),
            "root:x:0:0:root:/root:/bin/bash\n\n@rc 0\n",
        );
        let Ok(Decision::Ok { result, .. }) = ok else {
            panic!("{ok:?}")
        };
        assert_eq!(
            result["ansible_facts"]["getent_passwd"]["root"][5],
            "/bin/bash"
        );
        assert_eq!(result["changed"], false);

        let missing = plan_with(json!({"database": "passwd", "key": "nobody2"}), "\n@rc 2\n");
        assert!(
            matches!(&missing, Err(PlanError::Fail(m)) if m.starts_with("One or more supplied key")),
            "{missing:?}"
        );
        let tolerated = plan_with(
            json!({"database": "passwd", "key": "nobody2", "fail_key": false}),
            "\n@rc 2\n",
        );
        let Ok(Decision::Ok { result, .. }) = tolerated else {
            panic!("{tolerated:?}")
        };
        assert_eq!(
            result["ansible_facts"]["getent_passwd"],
            json!({"nobody2": null})
        );
        let unknown = plan_with(json!({"database": "nope"}), "\n@rc 1\n");
        assert!(matches!(&unknown, Err(PlanError::Fail(m)) if m.contains("database unknown")));
    }
}
