//! `group`: groups, read with `getent`, changed with groupadd, groupmod and
//! groupdel.

use serde_json::{json, Map, Value as Json};

use super::super::change::Read;
use super::super::typed::module_args;
use super::super::{Decision, Diff, OutputMode, PlanCx, PlanError};
use super::{action, cmd, State};

module_args! {
    /// `group`'s arguments.
    pub struct GroupArgs {
        name: String ["name"],
        state: State ["state"] = State::Present,
        gid: Option<u64> ["gid"],
        system: bool ["system"] = false,
        force: bool ["force"] = false,
        /// Refused when set: lgroupadd is not supported.
        local: bool ["local"] = false,
        non_unique: bool ["non_unique"] = false,
        /// `GID_MIN` for this creation only (`groupadd -K`), over
        /// /etc/login.defs; an existing group is left as it is.
        gid_min: Option<u64> ["gid_min"],
        /// `GID_MAX` for this creation only, as `gid_min`.
        gid_max: Option<u64> ["gid_max"],
    }
}

/// After `groupadd NAME` and `getent group NAME`: fails as
/// [`OutputMode::Checked`], else the new group's `gid`.
fn parse_created_group(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    if status != 0 {
        return super::super::files::failed(status, stderr);
    }
    let mut m = Map::new();
    if let Some(g) = stdout
        .lines()
        .next()
        .and_then(|l| l.split(':').nth(2))
        .and_then(|g| g.trim().parse::<u64>().ok())
    {
        m.insert("gid".into(), json!(g));
    }
    m
}

pub fn plan_group(cx: &PlanCx) -> Result<Decision, PlanError> {
    let GroupArgs {
        name,
        state,
        gid,
        system,
        force,
        local,
        non_unique,
        gid_min,
        gid_max,
    } = GroupArgs::from_cx(cx)?;
    // ansible-core's own words, checked before anything else as its
    // constructor does.
    if local && gid_min.is_some() {
        return Err(PlanError::Fail(
            "'gid_min' can not be used with 'local'".into(),
        ));
    }
    if local && gid_max.is_some() {
        return Err(PlanError::Fail(
            "'gid_max' can not be used with 'local'".into(),
        ));
    }
    if local {
        return Err(PlanError::Fail(
            "group: `local: yes` (lgroupadd, for hosts with central accounts) is not supported by rprov".into(),
        ));
    }
    if name.is_empty() || name.contains([':', '\n']) {
        return Err(PlanError::Fail(format!(
            "group: invalid group name `{name}`"
        )));
    }
    let out = cx.ask_one(Read::Getent {
        db: "group",
        key: name.clone(),
    })?;
    let cur_gid: Option<u64> = out
        .lines()
        .next()
        .and_then(|l| l.split(':').nth(2))
        .and_then(|g| g.parse().ok());
    let mut result = Map::new();
    result.insert("name".into(), json!(name));
    result.insert("state".into(), json!(state.as_str()));
    result.insert("system".into(), json!(system));
    let path = format!("group {name}");
    let change = |attrs: Vec<String>, words: Vec<String>, mut result: Map<String, Json>| {
        result.insert("changed".into(), json!(true));
        Ok(Decision::Change {
            diffs: vec![Diff {
                path: path.clone(),
                attrs,
                ..Diff::default()
            }],
            action: action(vec![cmd(words)], result, Vec::new())?,
        })
    };
    match (state, cur_gid) {
        (State::Absent, None) | (State::Present, Some(_)) if gid.is_none() || gid == cur_gid => {
            result.insert("changed".into(), json!(false));
            if let Some(g) = cur_gid {
                result.insert("gid".into(), json!(g));
            }
            Ok(Decision::Ok { result, msg: None })
        }
        (State::Absent, Some(_)) => {
            // `force`: remove it even when it is a user's primary group.
            let mut words = vec!["groupdel".to_string()];
            if force {
                words.push("-f".into());
            }
            words.push(name.clone());
            change(vec!["state: present → absent".into()], words, result)
        }
        (State::Present, None) => {
            let mut words = vec!["groupadd".to_string()];
            let mut attrs = vec!["state: absent → present".to_string()];
            if let Some(g) = gid {
                words.extend(["-g".into(), g.to_string()]);
                attrs.push(format!("gid: {g}"));
                result.insert("gid".into(), json!(g));
            }
            if non_unique {
                words.push("-o".into());
            }
            if system {
                words.push("-r".into());
            }
            for (key, value) in [("GID_MIN", gid_min), ("GID_MAX", gid_max)] {
                if let Some(v) = value {
                    words.extend(["-K".into(), format!("{key}={v}")]);
                }
            }
            words.push(name.clone());
            if gid.is_some() {
                return change(attrs, words, result);
            }
            // groupadd picks the gid: read it back, as ansible-core registers
            // the new group's `gid` (roles compare them).
            result.insert("changed".into(), json!(true));
            let getent = cmd(vec!["getent".into(), "group".into(), name.clone()]);
            let mut action = action(vec![cmd(words), getent], result, Vec::new())?;
            action.output = OutputMode::Parse(parse_created_group);
            Ok(Decision::Change {
                diffs: vec![Diff {
                    path: path.clone(),
                    attrs,
                    ..Diff::default()
                }],
                action,
            })
        }
        (_, cur) => {
            let g = gid.unwrap_or_default();
            let mut words = vec!["groupmod".to_string(), "-g".into(), g.to_string()];
            if non_unique {
                words.push("-o".into());
            }
            words.push(name.clone());
            result.insert("gid".into(), json!(g));
            change(
                vec![format!("gid: {} → {g}", cur.unwrap_or_default())],
                words,
                result,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::testing::{self, fail_msg};
    use super::super::super::Decision;
    use super::super::tests::run;
    use crate::probe::{Fact, Probe};

    fn run_group(args: serde_json::Value, entry: &str) -> Result<Decision, super::PlanError> {
        let entry = entry.to_string();
        testing::run("group", args, move |p| match p {
            Probe::Shell { script } if script.starts_with("getent group") => {
                Some(Fact::Text(entry.clone()))
            }
            _ => None,
        })
    }

    #[test]
    fn groups() {
        let d = run_group(json!({"name": "app", "gid": 2000, "system": true}), "").unwrap();
        assert_eq!(
            testing::changes(&d),
            [run(&["groupadd", "-g", "2000", "-r", "app"])]
        );
        let d = run_group(json!({"name": "app", "gid": 2000}), "app:x:2000:\n").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run_group(json!({"name": "app"}), "app:x:2000:\n").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run_group(json!({"name": "app", "gid": 2001}), "app:x:2000:\n").unwrap();
        assert_eq!(
            testing::changes(&d),
            [run(&["groupmod", "-g", "2001", "app"])]
        );
        let d = run_group(json!({"name": "app", "state": "absent"}), "app:x:2000:\n").unwrap();
        assert_eq!(testing::changes(&d), [run(&["groupdel", "app"])]);
        let d = run_group(json!({"name": "app", "state": "absent"}), "").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let m = fail_msg(run_group(json!({"name": "app", "gid": -1}), ""));
        assert!(m.contains("non-negative"), "{m}");
        let d = run_group(
            json!({"name": "app", "state": "absent", "force": true}),
            "app:x:2000:\n",
        )
        .unwrap();
        assert_eq!(testing::changes(&d), [run(&["groupdel", "-f", "app"])]);
        let m = fail_msg(run_group(json!({"name": "app", "local": true}), ""));
        assert!(m.contains("`local: yes`"), "{m}");
    }

    /// `gid_min`/`gid_max` bound the gid groupadd picks (`-K`, ansible-core's
    /// order of words), and a group made without a `gid` registers the one
    /// it got: the group target compares them.
    #[test]
    fn gid_range_and_the_picked_gid() {
        let d = run_group(
            json!({"name": "app", "gid_min": 1500, "gid_max": 1501, "system": true}),
            "",
        )
        .unwrap();
        assert_eq!(
            testing::changes(&d),
            [
                run(&[
                    "groupadd",
                    "-r",
                    "-K",
                    "GID_MIN=1500",
                    "-K",
                    "GID_MAX=1501",
                    "app"
                ]),
                run(&["getent", "group", "app"]),
            ]
        );
        let Decision::Change { action, .. } = d else {
            panic!("expected a change")
        };
        let super::OutputMode::Parse(parse) = action.output else {
            panic!("expected the output parsed")
        };
        assert_eq!(parse(0, "app:x:1500:\n", "")["gid"], json!(1500));
        let failed = parse(4, "", "groupadd: can't create group\n");
        assert_eq!(failed["failed"], json!(true));
        assert_eq!(failed["msg"], json!("groupadd: can't create group"));
        // An existing group is not moved into the range, as ansible-core's
        // group_mod never passes them.
        let d = run_group(json!({"name": "app", "gid_max": 1999}), "app:x:8000:\n").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let m = fail_msg(run_group(
            json!({"name": "app", "gid_min": 1000, "local": true}),
            "",
        ));
        assert_eq!(m, "'gid_min' can not be used with 'local'");
        let m = fail_msg(run_group(
            json!({"name": "app", "gid_max": 2000, "local": true}),
            "",
        ));
        assert_eq!(m, "'gid_max' can not be used with 'local'");
    }
}
