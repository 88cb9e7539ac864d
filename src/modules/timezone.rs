//! `timezone` (also `community.general.timezone`): the host's time zone.
//!
//! Read from `timedatectl` when systemd runs, else from the /etc/localtime
//! link, else /etc/timezone. Changed with `timedatectl set-timezone`, or by
//! linking /etc/localtime and writing /etc/timezone. The zone must exist in
//! the host's /usr/share/zoneinfo (tzdata), checked before anything changes.
//! `hwclock` is not supported.

use serde_json::{json, Map};

use super::change::{self, Change, Content, Read};
use super::files::Attrs;
use super::typed::module_args;
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileState;

module_args! {
    /// `timezone`'s arguments.
    pub struct Args {
        name: String ["name"],
        /// Refused: rprov does not set the hardware clock.
        hwclock: Option<String> ["hwclock"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let name = args.name.trim().to_string();
    if args.hwclock.is_some() {
        return Err(PlanError::Fail(
            "timezone: `hwclock` is not supported by rprov".into(),
        ));
    }
    if name.is_empty()
        || name.starts_with('/')
        || name.split('/').any(|p| p == ".." || p.is_empty())
    {
        return Err(PlanError::Fail(format!(
            "timezone: `{name}` is not a time zone name"
        )));
    }
    let zone = format!("/usr/share/zoneinfo/{name}");
    let p = cx.ask(&[
        Read::Systemd {
            tool: "timedatectl",
            args: &["show", "-p", "Timezone", "--value"],
        },
        Read::LinkTarget("/etc/localtime".into()),
        Read::File("/etc/timezone".into()),
        Read::IsFile(zone.clone()),
    ])?;
    let mut sd = p[0].lines();
    let systemd = sd.next() == Some("systemd");
    let from_link = p[1].trim().split("zoneinfo/").nth(1).map(str::to_string);
    let from_file = p[2].trim();
    let current = match (systemd, sd.next().map(str::trim).filter(|s| !s.is_empty())) {
        (true, Some(z)) => z.to_string(),
        _ => from_link.clone().unwrap_or_else(|| from_file.to_string()),
    };
    let mut result = Map::new();
    result.insert("name".into(), json!(name));
    // Without systemd, both the link and /etc/timezone must say the zone.
    let etc_tz_wrong = !systemd && !from_file.is_empty() && from_file != name;
    if current == name && from_link.as_deref() == Some(name.as_str()) && !etc_tz_wrong {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    if p[3].trim() != "yes" {
        return Err(PlanError::Fail(format!(
            "timezone: `{name}` is not a known time zone on the host (no {zone}; is tzdata installed?)"
        )));
    }
    result.insert("changed".into(), json!(true));
    let changes = if systemd {
        vec![Change::Run {
            argv: vec!["timedatectl".into(), "set-timezone".into(), name.clone()],
        }]
    } else {
        vec![
            Change::Link {
                path: "/etc/localtime".into(),
                target: zone.clone(),
            },
            Change::Write {
                dest: "/etc/timezone".into(),
                attrs: Attrs::default(),
                existing: FileState::missing(),
                validate: None,
                backup: false,
                content: Content::Bytes(format!("{name}\n").into_bytes()),
            },
        ]
    };
    let mut action = change::checked(changes, result)?;
    action.touches = vec!["/etc/localtime".into(), "/etc/timezone".into()];
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: "timezone".into(),
            attrs: vec![format!(
                "timezone: {} → {name}",
                if current.is_empty() {
                    "(unknown)"
                } else {
                    &current
                }
            )],
            ..Diff::default()
        }],
        action,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::change::Change;
    use super::super::sysargs::SEP;
    use super::super::testing::{self, fail_msg};
    use super::super::Decision;
    use crate::probe::{Fact, Probe};

    fn run(
        name: &str,
        sd: Option<&str>,
        link: &str,
        file: &str,
        known: bool,
    ) -> Result<Decision, super::PlanError> {
        let sd = sd.map(|z| format!("systemd\n{z}")).unwrap_or_default();
        let out = format!(
            "{sd}\n{SEP}\n{link}\n{SEP}\n{file}\n{SEP}\n{}\n",
            if known { "yes" } else { "" }
        );
        testing::run("timezone", json!({"name": name}), move |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(out.clone())),
            _ => None,
        })
    }

    #[test]
    fn timezone() {
        let d = run(
            "Europe/Oslo",
            Some("Europe/Oslo"),
            "/usr/share/zoneinfo/Europe/Oslo",
            "",
            true,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run(
            "Europe/Oslo",
            Some("Etc/UTC"),
            "/usr/share/zoneinfo/Etc/UTC",
            "",
            true,
        )
        .unwrap();
        assert_eq!(
            testing::changes(&d),
            [Change::Run {
                argv: vec![
                    "timedatectl".into(),
                    "set-timezone".into(),
                    "Europe/Oslo".into()
                ]
            }]
        );
        let Decision::Change { diffs, .. } = &d else {
            panic!()
        };
        assert_eq!(diffs[0].attrs, vec!["timezone: Etc/UTC → Europe/Oslo"]);
        let d = run(
            "Europe/Oslo",
            None,
            "../usr/share/zoneinfo/Etc/UTC",
            "Etc/UTC",
            true,
        )
        .unwrap();
        assert_eq!(
            testing::changes(&d)[0],
            Change::Link {
                path: "/etc/localtime".into(),
                target: "/usr/share/zoneinfo/Europe/Oslo".into()
            }
        );
        let d = run(
            "Europe/Oslo",
            None,
            "/usr/share/zoneinfo/Europe/Oslo",
            "Europe/Oslo",
            true,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let m = fail_msg(run("Mars/Olympus", Some("Etc/UTC"), "", "", false));
        assert!(m.contains("not a known time zone"), "{m}");
        let m = fail_msg(run("../etc/passwd", Some("Etc/UTC"), "", "", false));
        assert!(m.contains("not a time zone name"), "{m}");
    }
}
