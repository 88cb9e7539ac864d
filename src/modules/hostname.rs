//! `hostname`: the host's name, both the running one and /etc/hostname.
//!
//! With systemd running, `hostnamectl set-hostname` sets both; otherwise
//! /etc/hostname is written and `hostname NAME` sets the running name.
//! `use:` is accepted and ignored: the strategy follows what the host runs.

use serde_json::{json, Map};

use super::change::{self, Change, Content, Read};
use super::files::Attrs;
use super::typed::module_args;
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileState;

module_args! {
    /// `hostname`'s arguments.
    pub struct Args {
        name: String ["name"],
        /// Ansible's strategy (`systemd`, `debian`, …): accepted and
        /// never read, since what the host runs decides.
        #[allow(dead_code)]
        strategy: Option<String> ["use"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let name = Args::from_cx(cx)?.name.trim().to_string();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        return Err(PlanError::Fail(format!(
            "hostname: `{name}` is not a valid host name (letters, digits, `-` and `.`)"
        )));
    }
    let p = cx.ask(&[
        Read::Output(vec!["hostname".into()]),
        Read::File("/etc/hostname".into()),
        Read::Systemd {
            tool: "hostnamectl",
            args: &[],
        },
    ])?;
    let running = p[0].trim();
    let stored = p[1]
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let systemd = p[2].trim() == "systemd";
    let mut result = Map::new();
    result.insert("name".into(), json!(name));
    result.insert(
        "ansible_facts".into(),
        json!({"ansible_hostname": name.split('.').next().unwrap_or(&name), "ansible_nodename": name}),
    );
    let mut attrs = Vec::new();
    if running != name {
        attrs.push(format!("hostname: {running} → {name}"));
    }
    if stored != name {
        attrs.push(format!(
            "/etc/hostname: {} → {name}",
            if stored.is_empty() { "(none)" } else { stored }
        ));
    }
    if attrs.is_empty() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    let changes = if systemd {
        vec![Change::Run {
            argv: vec!["hostnamectl".into(), "set-hostname".into(), name.clone()],
        }]
    } else {
        vec![
            Change::Write {
                dest: "/etc/hostname".into(),
                attrs: Attrs::default(),
                existing: FileState::missing(),
                validate: None,
                backup: false,
                content: Content::Bytes(format!("{name}\n").into_bytes()),
            },
            Change::Run {
                argv: vec!["hostname".into(), name.clone()],
            },
        ]
    };
    let mut action = change::checked(changes, result)?;
    action.touches = vec!["/etc/hostname".into()];
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: "hostname".into(),
            attrs,
            ..Diff::default()
        }],
        action,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::change::{Change, Content};
    use super::super::sysargs::SEP;
    use super::super::testing::{self, fail_msg};
    use super::super::Decision;
    use crate::probe::{Fact, Probe};

    fn run(
        name: &str,
        running: &str,
        file: &str,
        systemd: bool,
    ) -> Result<Decision, super::PlanError> {
        let out = format!(
            "{running}\n{SEP}\n{file}\n{SEP}\n{}\n",
            if systemd { "systemd" } else { "" }
        );
        testing::run(
            "hostname",
            json!({"name": name, "use": "systemd"}),
            move |p| match p {
                Probe::Shell { .. } => Some(Fact::Text(out.clone())),
                _ => None,
            },
        )
    }

    #[test]
    fn hostname() {
        assert!(matches!(
            run("web1", "web1", "web1", true).unwrap(),
            Decision::Ok { .. }
        ));
        let d = run("web1", "old", "old", true).unwrap();
        assert_eq!(
            testing::changes(&d),
            [Change::Run {
                argv: vec!["hostnamectl".into(), "set-hostname".into(), "web1".into()]
            }]
        );
        let Decision::Change { diffs, .. } = &d else {
            panic!()
        };
        assert_eq!(
            diffs[0].attrs,
            vec!["hostname: old → web1", "/etc/hostname: old → web1"]
        );
        let d = run("web1", "web1", "", false).unwrap();
        let c = testing::changes(&d);
        assert!(
            matches!(&c[0], Change::Write { dest, content: Content::Bytes(b), .. }
                if dest == "/etc/hostname" && b == b"web1\n"),
            "{c:?}"
        );
        assert_eq!(
            c[1],
            Change::Run {
                argv: vec!["hostname".into(), "web1".into()]
            }
        );
        let m = fail_msg(run("bad_name;", "x", "x", true));
        assert!(m.contains("not a valid host name"), "{m}");
    }
}
