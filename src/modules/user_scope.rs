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
//! Every script here defines the same shell functions, so the modules' probe
//! snippets and actions are written once for both scopes:
//! - `_rp_as CMD…` runs an external command as the scope's user (as is for the
//!   system scope),
//! - `_rp_sc ARGS…` runs `systemctl [--user] ARGS…`,
//! - `$_rp_u`, `$_rp_uid`, `$_rp_home` name the user (root for the system).

use std::collections::HashMap;

use rprov_transport::quote;

use super::{PlanCx, PlanError};

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

impl Scope {
    /// `scope: system|user|global` and rprov's `user:` (which implies `scope: user`).
    pub fn from_args(cx: &PlanCx) -> Result<Scope, PlanError> {
        let user = cx.str_arg("user")?.filter(|u| !u.is_empty());
        match (cx.str_arg("scope")?.as_deref(), user) {
            (None | Some("system"), None) => Ok(Scope::System),
            (Some("system"), Some(u)) => Err(PlanError::Fail(format!(
                "`user: {u}` drives that user's systemd --user; it cannot go with `scope: system`"
            ))),
            (None | Some("user"), Some(u)) => {
                if u.starts_with('-') || u.contains(['/', ':', '\n']) {
                    return Err(PlanError::Fail(format!("`user: {u}` is not a user name")));
                }
                Ok(Scope::User(Some(u)))
            }
            (Some("user"), None) => Ok(Scope::User(None)),
            (Some("global"), _) => Err(PlanError::Fail(
                "`scope: global` is not supported by rprov; use `scope: user` with `user:`".into(),
            )),
            (Some(other), _) => Err(PlanError::Fail(format!(
                "`scope` must be system or user, got `{other}`"
            ))),
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

    /// Shell text defining `_rp_u`, `_rp_uid`, `_rp_home`, `_rp_as` and `_rp_sc`.
    /// When the user does not exist, `_rp_uid` is empty (see [`Scope::require`]).
    pub fn prelude(&self) -> String {
        match self {
            Scope::System => "_rp_u=root; _rp_uid=0; _rp_home=/root\n\
                 _rp_as() { \"$@\"; }\n\
                 _rp_sc() { systemctl \"$@\"; }\n"
                .to_string(),
            Scope::User(u) => {
                let who = match u {
                    Some(u) => quote(u),
                    None => "\"$(id -un)\"".to_string(),
                };
                format!(
                    "_rp_u={who}\n\
                     _rp_uid=$(id -u -- \"$_rp_u\" 2>/dev/null || true)\n\
                     _rp_home=$(getent passwd \"$_rp_u\" | cut -d: -f6)\n\
                     _rp_as() {{\n\
                     \x20 if [ \"$(id -u)\" = \"$_rp_uid\" ]; then\n\
                     \x20   env XDG_RUNTIME_DIR=\"/run/user/$_rp_uid\" DBUS_SESSION_BUS_ADDRESS=\"unix:path=/run/user/$_rp_uid/bus\" \"$@\"\n\
                     \x20 elif [ \"$(id -u)\" = 0 ]; then\n\
                     \x20   (cd / && exec runuser -u \"$_rp_u\" -- env HOME=\"$_rp_home\" XDG_RUNTIME_DIR=\"/run/user/$_rp_uid\" DBUS_SESSION_BUS_ADDRESS=\"unix:path=/run/user/$_rp_uid/bus\" \"$@\")\n\
                     \x20 else\n\
                     \x20   echo \"acting as user $_rp_u needs become: yes (running as $(id -un))\" >&2; return 5\n\
                     \x20 fi\n\
                     }}\n\
                     _rp_sc() {{ _rp_as systemctl --user \"$@\"; }}\n"
                )
            }
        }
    }

    /// A snippet (after [`Scope::prelude`]) printing `rp_*=` lines that
    /// [`parse_info`] reads.
    pub fn info_snippet(&self) -> String {
        match self {
            Scope::System => "echo rp_user=root; echo rp_uid=0; echo rp_home=/root; \
                 echo rp_group=root; echo rp_linger=yes; echo rp_bus=yes\n"
                .to_string(),
            Scope::User(_) => "echo \"rp_user=$_rp_u\"; echo \"rp_uid=$_rp_uid\"; \
                 echo \"rp_home=$_rp_home\"\n\
                 echo \"rp_group=$(id -gn -- \"$_rp_u\" 2>/dev/null || id -g -- \"$_rp_u\" 2>/dev/null)\"\n\
                 if [ -e \"/var/lib/systemd/linger/$_rp_u\" ]; then echo rp_linger=yes; else echo rp_linger=no; fi\n\
                 if [ -n \"$_rp_uid\" ] && [ -S \"/run/user/$_rp_uid/bus\" ]; then echo rp_bus=yes; else echo rp_bus=no; fi\n"
                .to_string(),
        }
    }

    /// Shell lines (after the prelude) failing when the user does not exist.
    pub fn require(&self) -> &'static str {
        match self {
            Scope::System => "",
            Scope::User(_) => {
                "[ -n \"$_rp_uid\" ] || { echo \"no such user: $_rp_u\" >&2; exit 5; }\n"
            }
        }
    }

    /// Shell lines that enable lingering when it is off and wait (up to 30 s)
    /// until the user's manager answers. Nothing for the system scope.
    pub fn ensure_manager(&self) -> &'static str {
        match self {
            Scope::System => "",
            Scope::User(_) => {
                "if [ ! -e \"/var/lib/systemd/linger/$_rp_u\" ]; then loginctl enable-linger \"$_rp_u\"; fi\n\
                 _rp_i=0\n\
                 while [ ! -S \"/run/user/$_rp_uid/bus\" ]; do\n\
                 \x20 _rp_i=$((_rp_i + 1))\n\
                 \x20 if [ \"$_rp_i\" -gt 300 ]; then echo \"the systemd user manager of $_rp_u did not start: no /run/user/$_rp_uid/bus after 30s\" >&2; exit 6; fi\n\
                 \x20 sleep 0.1\n\
                 done\n"
            }
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

/// Shell lines (after the prelude) printing the properties of each unit, each
/// block introduced by `@rp-unit NAME`. Prints nothing for a unit when the
/// manager does not answer.
pub fn show_snippet(units: &[String], props: &str) -> String {
    let mut s = String::new();
    for u in units {
        s.push_str(&format!(
            "echo {}; _rp_sc show -p {props} -- {} 2>/dev/null || true\n",
            quote(&format!("@rp-unit {u}")),
            quote(u)
        ));
    }
    s
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

    /// The prelude is valid sh, and `_rp_as` runs commands as is for the
    /// current user.
    #[test]
    fn prelude_runs_in_sh() {
        let me = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
        let s = Scope::User(Some(me.clone()));
        let script = format!(
            "{}{}{}_rp_as sh -c 'echo \"$XDG_RUNTIME_DIR\"'\n",
            s.prelude(),
            s.require(),
            s.info_snippet()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let info = parse_info(&s, &text).unwrap();
        assert_eq!(info.user, me);
        assert!(text.contains(&format!("/run/user/{}", info.uid)));
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

        pub fn fact(&mut self, probe: Probe, fact: Fact) {
            self.facts.insert(probe, fact);
        }

        pub fn cx(&self) -> PlanCx<'_> {
            PlanCx {
                module: &self.module,
                args: &self.args,
                facts: &self.facts,
                search: &self.search,
                want_diff: self.want_diff,
                render: &*self.render,
                vault_password: None,
                environment: &self.env,
                timeout: None,
            }
        }
    }
}
