//! Driving a systemd manager: the system's, or one user's `systemctl --user`.
//!
//! rprov's `systemd`, `quadlet` and `rolling_restart` modules act on either the
//! system manager or a user's manager (rootless podman lives there). A user's
//! manager is reached the way that works without a login session: as root,
//! `runuser -u USER -- env XDG_RUNTIME_DIR=/run/user/UID systemctl --user …`;
//! as that user, the same without `runuser`. No `machinectl shell` (it loses
//! output without a terminal) and no `sudo -i`.
//!
//! A user's manager runs while the user is logged in, or always when lingering
//! is enabled: the modules enable lingering (part of the change they report)
//! and then wait for the manager's bus socket before talking to it.
//!
//! The reads and changes of a scope (`Read::Units`, `Change::Manager`,
//! `Change::Systemctl`) are rendered in `change/systemctl.rs`, which defines
//! the same shell functions for both scopes:
//! - `_rp_as CMD…` runs an external command as the scope's user (as is for the
//!   system scope),
//! - `_rp_sc ARGS…` runs `systemctl [--user] ARGS…`,
//! - `$_rp_u`, `$_rp_uid`, `$_rp_home` name the user (root for the system).

use std::collections::HashMap;

use super::typed::choice;
use super::PlanError;

/// Which systemd manager a task drives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    System,
    /// A user's manager; `None` is the user the task runs as (`become_user`,
    /// or the login user).
    User(Option<String>),
}

/// What the info snippet found out about the scope's user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeInfo {
    pub user: String,
    pub uid: u32,
    pub home: String,
    /// The user's primary group (a name, or the gid when it has none).
    pub group: String,
    /// `/var/lib/systemd/linger/USER` exists (always true for the system).
    pub linger: bool,
    /// The manager answers: its bus socket exists (always true for the system).
    pub bus: bool,
}

choice! {
    /// The manager `scope` names. `global` is Ansible's, for every user's
    /// manager at once: accepted as a word so that a role naming it gets
    /// rprov's own refusal, not "must be one of".
    pub enum ScopeArg {
        System = "system",
        User = "user",
        Global = "global",
    }
}

impl Scope {
    /// `scope: system|user|global` and rprov's `user:` (which implies `scope: user`).
    pub fn from_args(scope: Option<ScopeArg>, user: Option<&str>) -> Result<Scope, PlanError> {
        let user = user.filter(|u| !u.is_empty());
        match (scope, user) {
            (None | Some(ScopeArg::System), None) => Ok(Scope::System),
            (Some(ScopeArg::System), Some(u)) => Err(PlanError::Fail(format!(
                "`user: {u}` drives that user's systemd --user; it cannot go with `scope: system`"
            ))),
            (None | Some(ScopeArg::User), Some(u)) => {
                if u.starts_with('-') || u.contains(['/', ':', '\n']) {
                    return Err(PlanError::Fail(format!("`user: {u}` is not a user name")));
                }
                Ok(Scope::User(Some(u.to_string())))
            }
            (Some(ScopeArg::User), None) => Ok(Scope::User(None)),
            (Some(ScopeArg::Global), _) => Err(PlanError::Fail(
                "`scope: global` is not supported by rprov; use `scope: user` with `user:`".into(),
            )),
        }
    }

    pub fn is_user(&self) -> bool {
        matches!(self, Scope::User(_))
    }

    /// For messages and diffs: `system`, `user alice`.
    pub fn label(&self, info: Option<&ScopeInfo>) -> String {
        match (self, info) {
            (Scope::System, _) => "system".into(),
            (Scope::User(_), Some(i)) => format!("user {}", i.user),
            (Scope::User(Some(u)), None) => format!("user {u}"),
            (Scope::User(None), None) => "user".into(),
        }
    }
}

/// `key=value` lines into a map (the last value wins); other lines are ignored.
pub fn key_values(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// Reads the output of [`Scope::info_snippet`].
pub fn parse_info(scope: &Scope, text: &str) -> Result<ScopeInfo, PlanError> {
    let kv = key_values(text);
    let get = |k: &str| kv.get(k).cloned().unwrap_or_default();
    let user = get("rp_user");
    let uid = get("rp_uid");
    if uid.is_empty() {
        let who = if user.is_empty() {
            scope.label(None)
        } else {
            format!("user {user}")
        };
        return Err(PlanError::Missing(format!(
            "{who} does not exist on the host (create it first, e.g. with the `user` module)"
        )));
    }
    let uid = uid
        .parse::<u32>()
        .map_err(|_| PlanError::Fail(format!("unexpected uid `{uid}` for user {user}")))?;
    Ok(ScopeInfo {
        user,
        uid,
        home: get("rp_home"),
        group: get("rp_group"),
        linger: get("rp_linger") == "yes",
        bus: get("rp_bus") == "yes",
    })
}

/// The properties of units, from `show_snippet` output: one map per unit name.
pub fn parse_units(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@rp-unit ") {
            current = Some(name.to_string());
            out.entry(name.to_string()).or_default();
            continue;
        }
        if let (Some(c), Some((k, v))) = (&current, line.split_once('=')) {
            if let Some(m) = out.get_mut(c) {
                m.insert(k.to_string(), v.to_string());
            }
        }
    }
    out
}

/// Completes a unit name the way systemctl does: no suffix means `.service`.
pub fn unit_name(name: &str) -> String {
    const SUFFIXES: &[&str] = &[
        ".service",
        ".socket",
        ".timer",
        ".target",
        ".path",
        ".mount",
        ".automount",
        ".slice",
        ".scope",
        ".swap",
        ".device",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_in_blocks() {
        let text = "@rp-unit a.service\nActiveState=active\nSubState=running\n\n\
                    @rp-unit b@1.service\nActiveState=inactive\n";
        let u = parse_units(text);
        assert_eq!(u["a.service"]["ActiveState"], "active");
        assert_eq!(u["b@1.service"]["ActiveState"], "inactive");
        assert!(!u["b@1.service"].contains_key("SubState"));
    }

    #[test]
    fn info_of_missing_user_fails() {
        let s = Scope::User(Some("nobody2".into()));
        let e = parse_info(&s, "rp_user=nobody2\nrp_uid=\nrp_home=\n").unwrap_err();
        assert!(matches!(e, PlanError::Missing(m) if m.contains("user nobody2 does not exist")));
        let i = parse_info(
            &s,
            "rp_user=web\nrp_uid=1001\nrp_home=/home/web\nrp_group=web\nrp_linger=no\nrp_bus=yes\n",
        )
        .unwrap();
        assert_eq!(i.uid, 1001);
        assert!(!i.linger && i.bus);
    }

    #[test]
    fn unit_names_default_to_service() {
        assert_eq!(unit_name("caddy"), "caddy.service");
        assert_eq!(unit_name("web@8000"), "web@8000.service");
        assert_eq!(unit_name("etl.timer"), "etl.timer");
    }
}

/// Facts in, decision out: a `PlanCx` over fixed arguments and probe answers.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::HashMap;

    use serde_json::{Map, Value as Json};

    use crate::modules::{PlanCx, SearchPaths};
    use crate::probe::{Fact, Probe};

    type Render = Box<crate::modules::RenderFile<'static>>;

    pub struct Fixture {
        pub module: String,
        pub args: Map<String, Json>,
        pub facts: HashMap<Probe, Fact>,
        pub search: SearchPaths,
        pub env: Map<String, Json>,
        pub render: Render,
        pub want_diff: bool,
    }

    impl Fixture {
        pub fn new(module: &str, args: Json) -> Self {
            Fixture {
                module: module.to_string(),
                args: args.as_object().cloned().unwrap_or_default(),
                facts: HashMap::new(),
                search: SearchPaths::default(),
                env: Map::new(),
                render: Box::new(|p, _| std::fs::read_to_string(p).map_err(|e| e.to_string())),
                want_diff: true,
            }
        }

        pub fn answer(&mut self, script: &str, out: &str) {
            self.facts.insert(
                Probe::Shell {
                    script: script.to_string(),
                },
                Fact::Text(out.to_string()),
            );
        }

        /// Answers what [`crate::modules::PlanCx::ask_one`] asks with `read`.
        pub fn answer_read(&mut self, read: crate::modules::change::Read, out: &str) {
            self.answer(&crate::modules::change::read::render(&[read]), out);
        }

        pub fn fact(&mut self, probe: Probe, fact: Fact) {
            self.facts.insert(probe, fact);
        }

        pub fn cx(&self) -> PlanCx<'_> {
            PlanCx {
                module: &self.module,
                args: &self.args,
                facts: &self.facts,
                search: &self.search,
                inventory_hostname: "testhost",
                want_diff: self.want_diff,
                render: &*self.render,
                vault_password: None,
                environment: &self.env,
                timeout: None,
                async_job: None,
                async_dir: &crate::modules::async_status::AsyncDir::DEFAULT,
                open_files: None,
            }
        }
    }
}
