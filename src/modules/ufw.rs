//! `ufw` (also `community.general.ufw`): the Uncomplicated Firewall.
//!
//! State is read from ufw's own files, not from `ufw status` text: enabled
//! and log level from /etc/ufw/ufw.conf, default policies and IPv6 from
//! /etc/default/ufw, and rules from the `### tuple ###` lines ufw keeps in
//! /etc/ufw/user.rules and user6.rules. A wanted rule is rendered as the tuple
//! ufw would write for it (action, proto, ports, addresses, direction and
//! interface, hex comment), so the comparison is exact and a second run is a
//! no-op. Actions are plain ufw commands (`ufw allow ... comment '...'`,
//! `ufw default deny incoming`, `ufw --force enable`).
//!
//! Interfaces: `interface` goes with `direction` (`ufw allow in on eth0 …`);
//! `interface_in`/`interface_out` name the direction themselves, and both
//! together are for `route` rules only (`ufw route allow in on eth0 out on
//! eth1 …`), as Ansible's module has them. `insert` with `insert_relative_to`
//! (first-ipv4, last-ipv4, first-ipv6, last-ipv6) is turned into ufw's rule
//! number from the rules the host has, the way Ansible counts them.
//!
//! Gaps: service names as ports (`port: ssh`) and application profiles are
//! not resolved, so such rules always look missing; `insert` positions are
//! passed through but not compared (a rule that exists elsewhere is left
//! there). When ufw is not installed the task's effect is unknown until it
//! runs (an earlier task may install it).

use serde_json::{json, Map};

use super::change::{self, Change, Read};
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};

choice! {
    /// What `state` asks of ufw itself.
    pub enum State {
        Enabled = "enabled",
        Disabled = "disabled",
        Reloaded = "reloaded",
        Reset = "reset",
    }
}

choice! {
    /// A default policy (`default`/`policy`).
    pub enum Policy {
        Allow = "allow",
        Deny = "deny",
        Reject = "reject",
    }
}

choice! {
    /// `direction`: of a rule (`in`/`out`, or their long names) or of a
    /// default policy (also `routed`).
    pub enum Direction {
        In = "in",
        Out = "out",
        Incoming = "incoming",
        Outgoing = "outgoing",
        Routed = "routed",
    }
}

choice! {
    /// What a rule does with the traffic it matches.
    pub enum RuleAction {
        Allow = "allow",
        Deny = "deny",
        Reject = "reject",
        Limit = "limit",
    }
}

choice! {
    /// The protocols ufw's rules name.
    pub enum Proto {
        Any = "any",
        Tcp = "tcp",
        Udp = "udp",
        Ipv6 = "ipv6",
        Esp = "esp",
        Ah = "ah",
        Gre = "gre",
        Igmp = "igmp",
    }
}

choice! {
    /// `logging`: on, off or a log level.
    pub enum Logging {
        On = "on",
        Off = "off",
        Low = "low",
        Medium = "medium",
        High = "high",
        Full = "full",
    }
}

choice! {
    /// The rule `insert` counts from.
    pub enum RelativeTo {
        Zero = "zero",
        FirstIpv4 = "first-ipv4",
        LastIpv4 = "last-ipv4",
        FirstIpv6 = "first-ipv6",
        LastIpv6 = "last-ipv6",
    }
}

module_args! {
    /// `ufw`'s arguments, with Ansible's aliases.
    pub struct Args {
        state: Option<State> ["state"],
        default: Option<Policy> ["default", "policy"],
        direction: Option<Direction> ["direction"],
        rule: Option<RuleAction> ["rule"],
        /// `to_port`'s alias, taken when `to_port` is not given.
        port: Option<String> ["port"],
        proto: Proto ["proto", "protocol"] = Proto::Any,
        from_ip: String ["from_ip", "from", "src"] = "any".to_string(),
        from_port: String ["from_port"] = "any".to_string(),
        to_ip: String ["to_ip", "to", "dest"] = "any".to_string(),
        to_port: Option<String> ["to_port"],
        comment: Option<String> ["comment"],
        delete: bool ["delete"] = false,
        logging: Option<Logging> ["logging"],
        log: bool ["log"] = false,
        interface: Option<String> ["interface", "if"],
        interface_in: Option<String> ["interface_in", "if_in"],
        interface_out: Option<String> ["interface_out", "if_out"],
        route: bool ["route"] = false,
        insert: Option<i64> ["insert"],
        insert_relative_to: RelativeTo ["insert_relative_to"] = RelativeTo::Zero,
    }
}

fn conf_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}=")))
        .map(|v| v.trim().trim_matches('"').to_string())
}

/// The iptables target /etc/default/ufw names a policy by.
fn policy_word(p: Policy) -> &'static str {
    match p {
        Policy::Allow => "ACCEPT",
        Policy::Deny => "DROP",
        Policy::Reject => "REJECT",
    }
}

/// An address as ufw stores it: `any` is the whole family, a host drops /32.
fn addr(ip: &str, v6: bool) -> String {
    match ip {
        "any" | "" => if v6 { "::/0" } else { "0.0.0.0/0" }.to_string(),
        _ => ip
            .strip_suffix(if v6 { "/128" } else { "/32" })
            .unwrap_or(ip)
            .to_string(),
    }
}

/// The rule arguments of a task.
struct Rule {
    action: String,
    proto: String,
    from_ip: String,
    from_port: String,
    to_ip: String,
    to_port: String,
    direction: String,
    iface_in: Option<String>,
    iface_out: Option<String>,
    route: bool,
    log: bool,
    comment: Option<String>,
}

impl Rule {
    /// The `### tuple ###` line ufw writes for this rule in the v4 or v6 file.
    fn tuple(&self, v6: bool) -> String {
        let mut action = self.action.clone();
        if self.log {
            action.push_str("_log");
        }
        if self.route {
            action = format!("route:{action}");
        }
        // ufw writes the direction, or the interfaces with theirs.
        let ifaces = match (&self.iface_in, &self.iface_out) {
            (None, None) => self.direction.clone(),
            (Some(i), None) => format!("in_{i}"),
            (None, Some(o)) => format!("out_{o}"),
            (Some(i), Some(o)) => format!("in_{i}!out_{o}"),
        };
        let mut t = format!(
            "### tuple ### {action} {} {} {} {} {} {ifaces}",
            self.proto,
            self.to_port,
            addr(&self.to_ip, v6),
            self.from_port,
            addr(&self.from_ip, v6),
        );
        if let Some(c) = self.comment.as_ref().filter(|c| !c.is_empty()) {
            t.push_str(&format!(" comment={}", hex::encode(c.as_bytes())));
        }
        t
    }

    /// The tuple without its comment, to find a rule whose comment changed.
    fn key(&self, v6: bool) -> String {
        let t = self.tuple(v6);
        t.split(" comment=").next().unwrap_or(&t).to_string()
    }

    /// The ufw command for this rule (`delete` to remove it).
    fn command(&self, delete: bool, insert: Option<&str>) -> Change {
        let mut w: Vec<String> = vec!["ufw".into()];
        if delete {
            w.push("delete".into());
        }
        if let Some(n) = insert {
            w.extend(["insert".into(), n.into()]);
        }
        if self.route {
            w.push("route".into());
        }
        w.push(self.action.clone());
        if self.iface_in.is_none() && self.iface_out.is_none() {
            w.push(self.direction.clone());
        }
        if let Some(i) = &self.iface_in {
            w.extend(["in".into(), "on".into(), i.clone()]);
        }
        if let Some(o) = &self.iface_out {
            w.extend(["out".into(), "on".into(), o.clone()]);
        }
        if self.log {
            w.push("log".into());
        }
        w.extend(["from".into(), self.from_ip.clone()]);
        if self.from_port != "any" {
            w.extend(["port".into(), self.from_port.clone()]);
        }
        w.extend(["to".into(), self.to_ip.clone()]);
        if self.to_port != "any" {
            w.extend(["port".into(), self.to_port.clone()]);
        }
        if self.proto != "any" {
            w.extend(["proto".into(), self.proto.clone()]);
        }
        if let Some(c) = self.comment.as_ref().filter(|_| !delete) {
            w.extend(["comment".into(), c.clone()]);
        }
        Change::Run { argv: w }
    }

    fn describe(&self) -> String {
        let mut s = if self.route {
            format!("route {}", self.action)
        } else {
            self.action.clone()
        };
        match (&self.iface_in, &self.iface_out) {
            (None, None) => s.push_str(&format!(" {}", self.direction)),
            (i, o) => {
                if let Some(i) = i {
                    s.push_str(&format!(" in on {i}"));
                }
                if let Some(o) = o {
                    s.push_str(&format!(" out on {o}"));
                }
            }
        }
        if self.to_port != "any" {
            s.push_str(&format!(" port {}", self.to_port));
        }
        if self.proto != "any" {
            s.push_str(&format!("/{}", self.proto));
        }
        if self.from_ip != "any" {
            s.push_str(&format!(" from {}", self.from_ip));
        }
        if self.to_ip != "any" {
            s.push_str(&format!(" to {}", self.to_ip));
        }
        if let Some(c) = &self.comment {
            s.push_str(&format!(" (comment {c})"));
        }
        s
    }
}

/// The rule's direction and interfaces from `direction` + `interface`, or
/// from `interface_in`/`interface_out` (which name their direction; both
/// together only on a route rule), as Ansible's ufw module takes them.
fn interfaces(
    args: &Args,
    dir: &str,
) -> Result<(&'static str, Option<String>, Option<String>), PlanError> {
    let check = |name: &Option<String>| -> Result<Option<String>, PlanError> {
        match name {
            Some(n)
                if n.is_empty() || n.starts_with('-') || n.contains([' ', '!', '/', '\'', '"']) =>
            {
                Err(PlanError::Fail(format!(
                    "ufw: `{n}` is not an interface name"
                )))
            }
            other => Ok(other.clone()),
        }
    };
    let iface = check(&args.interface)?;
    let iface_in = check(&args.interface_in)?;
    let iface_out = check(&args.interface_out)?;
    let dir: &'static str = if dir == "out" { "out" } else { "in" };
    if iface_in.is_none() && iface_out.is_none() {
        return Ok(match (dir, iface) {
            ("out", i) => ("out", None, i),
            (_, i) => ("in", i, None),
        });
    }
    if iface.is_some() || args.direction.is_some() {
        return Err(PlanError::Fail(
            "ufw: `interface_in`/`interface_out` name the direction themselves: use them without `interface` and `direction`".into(),
        ));
    }
    if iface_in.is_some() && iface_out.is_some() && !args.route {
        return Err(PlanError::Fail(
            "ufw: `interface_in` together with `interface_out` needs `route: yes` (ufw takes both only on route rules)".into(),
        ));
    }
    let dir = if iface_in.is_some() { "in" } else { "out" };
    Ok((dir, iface_in, iface_out))
}

/// ufw's rule number for `insert` (+ `insert_relative_to`), from the rules
/// on the host: IPv4 rules are numbered first, then IPv6 (`ufw status
/// numbered`). `None`: append (also when the position is past the last rule,
/// where ufw refuses to insert).
fn insert_position(
    insert: Option<i64>,
    relative: RelativeTo,
    v4: &[&str],
    v6: &[&str],
) -> Result<Option<String>, PlanError> {
    let Some(n) = insert else {
        if relative != RelativeTo::Zero {
            return Err(PlanError::Fail(
                "ufw: `insert_relative_to` needs `insert`".into(),
            ));
        }
        return Ok(None);
    };
    if relative == RelativeTo::Zero {
        return Ok(Some(n.to_string()));
    }
    let count = |l: &[&str]| l.iter().filter(|x| !x.is_empty()).count() as i64;
    let (n4, n6) = (count(v4), count(v6));
    let last = n4 + n6;
    // The number of the rule `insert` counts from (0 is that rule itself).
    let base = match relative {
        RelativeTo::FirstIpv4 => 1,
        RelativeTo::LastIpv4 => n4.max(1),
        RelativeTo::FirstIpv6 => n4 + 1,
        _ if n6 > 0 => last,
        _ => last + 1,
    };
    let at = n + base;
    if at < 1 {
        return Err(PlanError::Fail(format!(
            "ufw: `insert: {n}` relative to {} is before the first rule (the host has {n4} IPv4 and {n6} IPv6 rules)",
            relative.as_str()
        )));
    }
    Ok((at <= last).then(|| at.to_string()))
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let (state, default, direction, logging) =
        (args.state, args.default, args.direction, args.logging);
    if state.is_none() && default.is_none() && args.rule.is_none() && logging.is_none() {
        return Err(PlanError::Fail(
            "ufw: one of state, default, rule or logging is required".into(),
        ));
    }
    let rule = match args.rule {
        None => None,
        Some(a) => {
            let dir = match direction {
                None | Some(Direction::In) | Some(Direction::Incoming) => "in",
                Some(Direction::Out) | Some(Direction::Outgoing) => "out",
                Some(d) => {
                    return Err(PlanError::Fail(format!(
                        "ufw: a rule's `direction` must be in or out, got `{}`",
                        d.as_str()
                    )))
                }
            };
            let (dir, iface_in, iface_out) = interfaces(&args, dir)?;
            Some(Rule {
                action: a.as_str().to_string(),
                proto: args.proto.as_str().to_string(),
                from_ip: args.from_ip.clone(),
                from_port: args.from_port.clone(),
                to_ip: args.to_ip.clone(),
                to_port: args
                    .to_port
                    .clone()
                    .or_else(|| args.port.clone())
                    .unwrap_or_else(|| "any".into()),
                direction: dir.into(),
                iface_in,
                iface_out,
                route: args.route,
                log: args.log,
                comment: args.comment.clone(),
            })
        }
    };

    let rules = |path: &str| Read::LinesStarting {
        path: path.into(),
        prefix: "### tuple",
    };
    let p = cx.ask(&[
        Read::HasCommand("ufw"),
        Read::File("/etc/ufw/ufw.conf".into()),
        Read::File("/etc/default/ufw".into()),
        rules("/etc/ufw/user.rules"),
        rules("/etc/ufw/user6.rules"),
    ])?;
    let installed = p[0].trim() == "yes";
    let (conf, defaults) = (&p[1], &p[2]);
    let (v4, v6): (Vec<&str>, Vec<&str>) = (
        p[3].lines().map(str::trim).collect(),
        p[4].lines().map(str::trim).collect(),
    );

    let mut attrs = Vec::new();
    let mut changes = Vec::new();
    let ufw = |words: &[&str]| Change::Run {
        argv: std::iter::once("ufw")
            .chain(words.iter().copied())
            .map(String::from)
            .collect(),
    };
    if let Some(policy) = default {
        let d = policy.as_str();
        let dir = match direction {
            None | Some(Direction::In) | Some(Direction::Incoming) => "incoming",
            Some(Direction::Out) | Some(Direction::Outgoing) => "outgoing",
            Some(Direction::Routed) => "routed",
        };
        let key = match dir {
            "incoming" => "DEFAULT_INPUT_POLICY",
            "outgoing" => "DEFAULT_OUTPUT_POLICY",
            _ => "DEFAULT_FORWARD_POLICY",
        };
        let cur = conf_value(defaults, key).unwrap_or_default();
        if cur != policy_word(policy) {
            attrs.push(format!(
                "default {dir}: {} → {}",
                cur.to_lowercase(),
                policy_word(policy).to_lowercase()
            ));
            changes.push(ufw(&["default", d, dir]));
        }
    }
    if let Some(level) = logging {
        let l = level.as_str();
        let cur = conf_value(conf, "LOGLEVEL").unwrap_or_else(|| "off".into());
        let ok = match level {
            Logging::On => cur != "off",
            _ => cur == l,
        };
        if !ok {
            attrs.push(format!("logging: {cur} → {l}"));
            changes.push(ufw(&["logging", l]));
        }
    }
    if let Some(r) = &rule {
        let is_v6 = |ip: &str| ip.contains(':');
        let is_v4 = |ip: &str| ip.contains('.');
        let ipv6_on = conf_value(defaults, "IPV6").is_none_or(|v| v == "yes");
        let fams: Vec<bool> = if is_v6(&r.from_ip) || is_v6(&r.to_ip) {
            vec![true]
        } else if is_v4(&r.from_ip) || is_v4(&r.to_ip) || !ipv6_on {
            vec![false]
        } else {
            vec![false, true]
        };
        let (rules4, rules6) = (&v4, &v6);
        let lines = |six: bool| if six { rules6 } else { rules4 };
        let insert = insert_position(args.insert, args.insert_relative_to, &v4, &v6)?;
        if args.delete {
            if fams.iter().any(|f| {
                lines(*f)
                    .iter()
                    .any(|l| l.split(" comment=").next() == Some(&r.key(*f)))
            }) {
                attrs.push(format!("rule removed: {}", r.describe()));
                changes.push(r.command(true, None));
            }
        } else if !fams
            .iter()
            .all(|f| lines(*f).contains(&r.tuple(*f).as_str()))
        {
            attrs.push(format!("rule added: {}", r.describe()));
            changes.push(r.command(false, insert.as_deref()));
        }
    }
    match state {
        Some(State::Enabled) if conf_value(conf, "ENABLED").as_deref() != Some("yes") => {
            attrs.push("state: disabled → enabled".into());
            changes.push(ufw(&["--force", "enable"]));
        }
        Some(State::Disabled) if conf_value(conf, "ENABLED").as_deref() == Some("yes") => {
            attrs.push("state: enabled → disabled".into());
            changes.push(ufw(&["disable"]));
        }
        Some(State::Reloaded) => {
            attrs.push("state: reloaded".into());
            changes.push(ufw(&["reload"]));
        }
        Some(State::Reset) => {
            attrs.push("state: reset".into());
            changes.push(ufw(&["--force", "reset"]));
        }
        _ => {}
    }
    let mut result = Map::new();
    if attrs.is_empty() && installed {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    let action = |changes: Vec<Change>, result: Map<String, serde_json::Value>| {
        let mut a = change::checked(changes, result)?;
        a.touches = vec!["/etc/ufw".into(), "/etc/default/ufw".into()];
        Ok::<_, PlanError>(a)
    };
    if !installed {
        // What ufw will hold is unknown until it exists (a task before may
        // install it); the commands run and fail clearly if it is still missing.
        changes.insert(0, Change::RequireCommand { name: "ufw".into() });
        return Ok(Decision::Run {
            waits_for: "ufw on the host: it is not installed yet, so its rules cannot be read"
                .into(),
            action: action(changes, result)?,
        });
    }
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: "ufw".into(),
            attrs,
            ..Diff::default()
        }],
        action: action(changes, result)?,
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

    const CONF: &str = "ENABLED=yes\nLOGLEVEL=low\n";
    const DEFAULTS: &str = "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\n";
    /// What ufw 0.36 writes for `ufw allow 22/tcp comment 'ssh'`.
    const V4: &str = "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737368";
    const V6: &str = "### tuple ### allow tcp 22 ::/0 any ::/0 in comment=737368";

    fn run(
        args: serde_json::Value,
        installed: bool,
        conf: &str,
        v4: &str,
        v6: &str,
    ) -> Result<Decision, super::PlanError> {
        let out = format!(
            "{}\n{SEP}\n{conf}{SEP}\n{DEFAULTS}{SEP}\n{v4}\n{SEP}\n{v6}\n",
            if installed { "yes" } else { "" }
        );
        testing::run("ufw", args, move |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(out.clone())),
            _ => None,
        })
    }

    fn attrs(d: &Decision) -> Vec<String> {
        match d {
            Decision::Change { diffs, .. } => diffs[0].attrs.clone(),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn rule_present_is_ok() {
        let args = json!({"rule": "allow", "port": "22", "proto": "tcp", "comment": "ssh"});
        let d = run(args.clone(), true, CONF, V4, V6).unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        // Only the v4 rule exists: the rule is added (ufw adds the v6 half).
        let d = run(args.clone(), true, CONF, V4, "").unwrap();
        assert_eq!(
            attrs(&d),
            vec!["rule added: allow in port 22/tcp (comment ssh)"]
        );
        assert_eq!(
            testing::script(&d),
            "set -e\nufw allow in from any to any port 22 proto tcp comment ssh\n"
        );
        // Another comment: re-added, which makes ufw update the comment.
        let d = run(
            json!({"rule": "allow", "port": "22", "proto": "tcp", "comment": "SSH"}),
            true,
            CONF,
            V4,
            V6,
        )
        .unwrap();
        assert!(matches!(d, Decision::Change { .. }));
    }

    #[test]
    fn delete_and_addresses() {
        let d = run(
            json!({"rule": "allow", "port": "22", "proto": "tcp", "delete": true}),
            true,
            CONF,
            V4,
            V6,
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["rule removed: allow in port 22/tcp"]);
        let d = run(
            json!({"rule": "allow", "port": "80", "delete": true}),
            true,
            CONF,
            V4,
            V6,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let v4 = "### tuple ### limit tcp 22 0.0.0.0/0 any 10.0.0.0/8 in";
        let d = run(
            json!({"rule": "limit", "port": "22", "proto": "tcp", "from_ip": "10.0.0.0/8"}),
            true,
            CONF,
            v4,
            "",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn state_default_logging() {
        let d = run(json!({"state": "enabled", "default": "deny", "direction": "incoming", "logging": "on"}), true, CONF, "", "").unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = run(
            json!({"state": "enabled", "default": "allow", "direction": "outgoing", "logging": "off"}),
            true,
            "ENABLED=no\nLOGLEVEL=low\n",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            attrs(&d),
            vec!["logging: low → off", "state: disabled → enabled"]
        );
        let d = run(
            json!({"default": "reject", "direction": "outgoing"}),
            true,
            CONF,
            "",
            "",
        )
        .unwrap();
        assert_eq!(testing::script(&d), "set -e\nufw default reject outgoing\n");
        let d = run(json!({"state": "reset"}), true, CONF, "", "").unwrap();
        assert!(testing::script(&d).contains("ufw --force reset"));
    }

    #[test]
    fn not_installed_is_unknown() {
        let d = run(json!({"state": "enabled"}), false, "", "", "").unwrap();
        let Decision::Run { action, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            action.changes,
            [
                Change::RequireCommand { name: "ufw".into() },
                Change::Run {
                    argv: vec!["ufw".into(), "--force".into(), "enable".into()]
                }
            ]
        );
    }

    #[test]
    fn bad_values() {
        let m = fail_msg(run(json!({"rule": "permit"}), true, CONF, "", ""));
        assert!(m.contains("`rule` must be one of"), "{m}");
        let m = fail_msg(run(json!({"default": "drop"}), true, CONF, "", ""));
        assert!(m.contains("`default` must be one of"), "{m}");
        let m = fail_msg(run(
            json!({"rule": "allow", "proto": "sctp2"}),
            true,
            CONF,
            "",
            "",
        ));
        assert!(m.contains("`proto` must be one of"), "{m}");
        let m = fail_msg(run(json!({"comment": "x"}), true, CONF, "", ""));
        assert!(m.contains("one of state, default, rule or logging"), "{m}");
    }

    #[test]
    fn interfaces() {
        let args = json!({"rule": "allow", "interface": "eth0", "direction": "in", "port": "80", "proto": "tcp"});
        let v4 = "### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in_eth0";
        let d = run(args.clone(), true, CONF, "", "").unwrap();
        assert_eq!(attrs(&d), vec!["rule added: allow in on eth0 port 80/tcp"]);
        assert_eq!(
            testing::script(&d),
            "set -e\nufw allow in on eth0 from any to any port 80 proto tcp\n"
        );
        let v6 = "### tuple ### allow tcp 80 ::/0 any ::/0 in_eth0";
        assert!(matches!(
            run(args, true, CONF, v4, v6).unwrap(),
            Decision::Ok { .. }
        ));
        let d = run(
            json!({"rule": "deny", "interface_out": "eth1", "to_ip": "10.0.0.0/8"}),
            true,
            CONF,
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            testing::script(&d),
            "set -e\nufw deny out on eth1 from any to 10.0.0.0/8\n"
        );
        let route = json!({"rule": "allow", "route": true, "interface_in": "eth0", "interface_out": "eth1"});
        let d = run(route.clone(), true, CONF, "", "").unwrap();
        assert_eq!(
            testing::script(&d),
            "set -e\nufw route allow in on eth0 out on eth1 from any to any\n"
        );
        let v4 = "### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_eth0!out_eth1";
        let v6 = "### tuple ### route:allow any any ::/0 any ::/0 in_eth0!out_eth1";
        assert!(matches!(
            run(route, true, CONF, v4, v6).unwrap(),
            Decision::Ok { .. }
        ));
        for (args, msg) in [
            (
                json!({"rule": "allow", "interface_in": "eth0", "interface_out": "eth1"}),
                "needs `route: yes`",
            ),
            (
                json!({"rule": "allow", "interface_in": "eth0", "direction": "in"}),
                "name the direction themselves",
            ),
            (
                json!({"rule": "allow", "interface": "eth0 ; reboot"}),
                "is not an interface name",
            ),
        ] {
            let m = fail_msg(run(args, true, CONF, "", ""));
            assert!(m.contains(msg), "{m}");
        }
    }

    #[test]
    fn insert_relative_to() {
        let v4 = "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in";
        let v6 = "### tuple ### allow tcp 22 ::/0 any ::/0 in\n### tuple ### allow tcp 80 ::/0 any ::/0 in";
        let cmd = |insert: i64, rel: &str| {
            let d = run(
                json!({"rule": "deny", "port": "20", "proto": "tcp", "insert": insert, "insert_relative_to": rel}),
                true,
                CONF,
                v4,
                v6,
            )
            .unwrap();
            testing::script(&d).to_string()
        };
        assert!(cmd(0, "first-ipv6").contains("ufw insert 3 deny"));
        assert!(cmd(-1, "last-ipv4").contains("ufw insert 1 deny"));
        assert!(cmd(2, "zero").contains("ufw insert 2 deny"));
        // Past the last rule: appended.
        assert!(cmd(1, "last-ipv6").starts_with("set -e\nufw deny"));
        let m = fail_msg(run(
            json!({"rule": "deny", "port": "20", "insert": -5, "insert_relative_to": "first-ipv4"}),
            true,
            CONF,
            v4,
            v6,
        ));
        assert!(m.contains("before the first rule"), "{m}");
        let m = fail_msg(run(
            json!({"rule": "deny", "port": "20", "insert_relative_to": "first-ipv4"}),
            true,
            CONF,
            v4,
            v6,
        ));
        assert!(m.contains("needs `insert`"), "{m}");
    }
}
