//! `user` and `group`: accounts, read with `getent` and `id`, changed with
//! the shadow-utils tools (useradd/usermod/userdel, groupadd/groupmod/groupdel).
//!
//! A password hash is never an argument of a program (`useradd -p HASH` is in
//! `ps` for every user of the host): it reaches `chpasswd -e` on its stdin
//! through the shell's builtin `printf`, inside the script that `sh` reads on
//! its own stdin.
//!
//! One read snippet per account answers everything the decision needs (the
//! passwd entry, the groups, whether the password is locked), so a role's
//! user tasks cost one probe round together. The diff lists each attribute
//! that changes, `shell: /bin/sh → /bin/bash`, so check mode is honest.

use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read};
use super::typed::{choice, module_args};
use super::{Action, Decision, Diff, OutputMode, PlanCx, PlanError};

/// A passwd entry as `getent passwd` prints it.
#[derive(Debug, Clone, PartialEq)]
struct Passwd {
    uid: u64,
    gid: u64,
    comment: String,
    home: String,
    shell: String,
}

fn parse_passwd(line: &str) -> Option<Passwd> {
    let f: Vec<&str> = line.trim_end().split(':').collect();
    if f.len() < 7 {
        return None;
    }
    Some(Passwd {
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        comment: f[4].to_string(),
        home: f[5].to_string(),
        shell: f[6].to_string(),
    })
}

/// What is read about one user: passwd entry, primary group name,
/// supplementary groups, and the password field's lock state (never the
/// hash itself: only `locked`/`unlocked`/`none` leaves the host).
fn user_reads(name: &str) -> [Read; 4] {
    let id = |flag: &str| Read::Output(vec!["id".into(), flag.into(), name.into()]);
    [
        Read::Getent {
            db: "passwd",
            key: name.into(),
        },
        id("-gn"),
        id("-nG"),
        Read::PasswordState(name.into()),
    ]
}

/// What the snippet says about a user.
struct UserFacts {
    entry: Option<Passwd>,
    primary: String,
    groups: Vec<String>,
    lock: String,
}

fn read_user(cx: &PlanCx, name: &str) -> Result<UserFacts, PlanError> {
    let s = cx.ask(&user_reads(name))?;
    let entry = s[0].lines().next().and_then(parse_passwd);
    let primary = s[1].trim().to_string();
    Ok(UserFacts {
        groups: s[2]
            .split_whitespace()
            .filter(|g| *g != primary)
            .map(str::to_string)
            .collect(),
        entry,
        primary,
        lock: s[3].trim().to_string(),
    })
}

fn action(
    changes: Vec<Change>,
    result: Map<String, Json>,
    touches: Vec<String>,
) -> Result<Action, PlanError> {
    let mut a = change::checked(changes, result)?;
    a.touches = touches;
    Ok(a)
}

/// One command of these words.
fn cmd(words: Vec<String>) -> Change {
    Change::Run { argv: words }
}

/// `usermod FLAG NAME`.
fn usermod(flag: &str, name: &str) -> Change {
    cmd(vec!["usermod".into(), flag.into(), name.into()])
}

choice! {
    /// Whether the account (user or group) is wanted.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

choice! {
    /// When `password` is set on an existing account.
    pub enum UpdatePassword {
        Always = "always",
        OnCreate = "on_create",
    }
}

module_args! {
    /// `user`'s arguments.
    pub struct UserArgs {
        name: String ["name"],
        state: State ["state"] = State::Present,
        shell: Option<String> ["shell"],
        home: Option<String> ["home"],
        create_home: bool ["create_home", "createhome"] = true,
        /// Supplementary groups: exactly these, or these added with `append`.
        groups: Option<Vec<String>> ["groups"],
        append: bool ["append"] = false,
        system: bool ["system"] = false,
        uid: Option<u64> ["uid"],
        /// The primary group.
        group: Option<String> ["group"],
        comment: Option<String> ["comment"],
        /// Left out: the lock is left as it is.
        password_lock: Option<bool> ["password_lock"],
        remove: bool ["remove"] = false,
        /// A crypt(3) hash, never a clear-text password.
        password: Option<String> ["password"],
        update_password: UpdatePassword ["update_password"] = UpdatePassword::Always,
        move_home: bool ["move_home"] = false,
        force: bool ["force"] = false,
        non_unique: bool ["non_unique"] = false,
    }
}

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

pub fn plan_user(cx: &PlanCx) -> Result<Decision, PlanError> {
    let UserArgs {
        name,
        state,
        shell,
        home,
        create_home,
        groups,
        append,
        system,
        uid,
        group,
        comment,
        password_lock: lock,
        remove,
        password,
        update_password,
        move_home,
        force,
        non_unique,
    } = UserArgs::from_cx(cx)?;
    if name.is_empty() || name.contains([':', '\n', '/']) {
        return Err(PlanError::Fail(format!("user: invalid user name `{name}`")));
    }
    if password
        .as_ref()
        .is_some_and(|p| p.contains([':', '\n', '\r']))
    {
        return Err(PlanError::Fail(
            "user: `password` must be a crypt(3) hash, which has no `:` or line break".into(),
        ));
    }
    if let Some(s) = shell
        .iter()
        .chain(home.iter())
        .find(|s| s.contains([':', '\n']))
    {
        return Err(PlanError::Fail(format!(
            "user: `{s}` cannot contain `:` or a newline"
        )));
    }

    let f = read_user(cx, &name)?;
    let mut result = Map::new();
    result.insert("name".into(), json!(name));
    result.insert("state".into(), json!(state.as_str()));
    let diff_path = format!("user {name}");

    if state == State::Absent {
        let Some(e) = f.entry else {
            result.insert("changed".into(), json!(false));
            return Ok(Decision::Ok { result, msg: None });
        };
        let mut words = vec!["userdel".to_string()];
        if remove {
            words.push("-r".into());
        }
        if force {
            words.push("-f".into());
        }
        words.push(name.clone());
        result.insert("changed".into(), json!(true));
        result.insert("remove".into(), json!(remove));
        let mut attrs = vec!["state: present → absent".to_string()];
        if remove {
            attrs.push(format!("home: {} removed", e.home));
        }
        return Ok(Decision::Change {
            diffs: vec![Diff {
                path: diff_path,
                attrs,
                ..Diff::default()
            }],
            action: action(vec![cmd(words)], result, vec![e.home])?,
        });
    }

    let Some(cur) = f.entry else {
        // A new account.
        let mut words = vec!["useradd".to_string()];
        let mut attrs = vec!["state: absent → present".to_string()];
        let mut opt = |flag: &str, v: &Option<String>, label: &str| {
            if let Some(v) = v {
                words.push(flag.into());
                words.push(v.clone());
                attrs.push(format!("{label}: {v}"));
            }
        };
        opt("-u", &uid.map(|u| u.to_string()), "uid");
        opt("-g", &group, "group");
        opt("-c", &comment, "comment");
        opt("-d", &home, "home");
        opt("-s", &shell, "shell");
        if let Some(g) = groups.as_ref().filter(|g| !g.is_empty()) {
            words.push("-G".into());
            words.push(g.join(","));
            attrs.push(format!("groups: {}", g.join(",")));
        }
        if password.is_some() {
            attrs.push("password: set".into());
        }
        if non_unique {
            words.push("-o".into());
        }
        if system {
            words.push("-r".into());
        }
        words.push(if create_home { "-m" } else { "-M" }.into());
        words.push(name.clone());
        let mut changes = vec![cmd(words)];
        if let Some(p) = &password {
            changes.push(Change::SetPassword {
                user: name.clone(),
                hash: p.clone(),
                unless_same: false,
            });
        }
        if lock == Some(true) {
            changes.push(usermod("-L", &name));
            attrs.push("password_lock: yes".into());
        }
        result.insert("changed".into(), json!(true));
        result.insert("system".into(), json!(system));
        result.insert("create_home".into(), json!(create_home));
        if let Some(u) = uid {
            result.insert("uid".into(), json!(u));
        }
        if let Some(h) = &home {
            result.insert("home".into(), json!(h));
        }
        let touches = home.into_iter().collect();
        return Ok(Decision::Change {
            diffs: vec![Diff {
                path: diff_path,
                attrs,
                ..Diff::default()
            }],
            action: action(changes, result, touches)?,
        });
    };

    // An existing account: usermod with only what differs.
    let mut words = vec!["usermod".to_string()];
    let mut attrs = Vec::new();
    if let Some(u) = uid.filter(|u| *u != cur.uid) {
        words.extend(["-u".into(), u.to_string()]);
        attrs.push(format!("uid: {} → {u}", cur.uid));
        if non_unique {
            words.push("-o".into());
        }
    }
    if let Some(g) = group
        .as_ref()
        .filter(|g| **g != f.primary && **g != cur.gid.to_string())
    {
        words.extend(["-g".into(), g.clone()]);
        attrs.push(format!("group: {} → {g}", f.primary));
    }
    if let Some(c) = comment.as_ref().filter(|c| **c != cur.comment) {
        words.extend(["-c".into(), c.clone()]);
        attrs.push(format!("comment: {} → {c}", cur.comment));
    }
    if let Some(h) = home
        .as_ref()
        .filter(|h| h.trim_end_matches('/') != cur.home.trim_end_matches('/'))
    {
        words.extend(["-d".into(), h.clone()]);
        if move_home {
            words.push("-m".into());
        }
        attrs.push(format!("home: {} → {h}", cur.home));
    }
    if let Some(s) = shell.as_ref().filter(|s| **s != cur.shell) {
        words.extend(["-s".into(), s.clone()]);
        attrs.push(format!("shell: {} → {s}", cur.shell));
    }
    if let Some(want) = &groups {
        let want: Vec<&String> = want.iter().filter(|g| **g != f.primary).collect();
        let missing: Vec<&String> = want
            .iter()
            .copied()
            .filter(|g| !f.groups.contains(g))
            .collect();
        let extra: Vec<&String> = f.groups.iter().filter(|g| !want.contains(g)).collect();
        if !missing.is_empty() || (!append && !extra.is_empty()) {
            let new: Vec<String> = if append {
                f.groups
                    .iter()
                    .chain(missing.iter().copied())
                    .cloned()
                    .collect()
            } else {
                want.iter().map(|g| g.to_string()).collect()
            };
            if append {
                words.push("-a".into());
            }
            words.extend(["-G".into(), new.join(",")]);
            attrs.push(format!(
                "groups: {} → {}",
                f.groups.join(","),
                new.join(",")
            ));
        }
    }
    let mut changes = Vec::new();
    if words.len() > 1 {
        words.push(name.clone());
        changes.push(cmd(words));
    }
    let locked = f.lock == "locked";
    if let Some(p) = &password {
        // Comparing needs the hash, which never leaves the host: the check
        // runs there and the command only acts when it differs.
        if update_password == UpdatePassword::Always {
            changes.push(Change::SetPassword {
                user: name.clone(),
                hash: p.clone(),
                unless_same: true,
            });
        }
    }
    match lock {
        Some(true) if !locked => {
            changes.push(usermod("-L", &name));
            attrs.push("password_lock: no → yes".into());
        }
        Some(false) if locked => {
            changes.push(usermod("-U", &name));
            attrs.push("password_lock: yes → no".into());
        }
        _ => {}
    }
    result.insert("uid".into(), json!(uid.unwrap_or(cur.uid)));
    result.insert("group".into(), json!(cur.gid));
    result.insert(
        "home".into(),
        json!(home.clone().unwrap_or(cur.home.clone())),
    );
    result.insert(
        "shell".into(),
        json!(shell.clone().unwrap_or(cur.shell.clone())),
    );
    result.insert(
        "comment".into(),
        json!(comment.clone().unwrap_or(cur.comment.clone())),
    );
    result.insert("system".into(), json!(system));
    result.insert("append".into(), json!(append));
    if let Some(g) = &groups {
        result.insert("groups".into(), json!(g.join(",")));
    }
    if attrs.is_empty() && (password.is_none() || update_password != UpdatePassword::Always) {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    if attrs.is_empty() {
        // Only the password may differ; whether it does is known on the host.
        if let Some(p) = &password {
            return password_only(cx, &name, p, result, changes);
        }
    }
    result.insert("changed".into(), json!(true));
    let touches = vec![cur.home.clone()];
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: diff_path,
            attrs,
            ..Diff::default()
        }],
        action: action(changes, result, touches)?,
    })
}

/// The password hash is compared on the host by a read snippet that prints
/// only `same` or `differs`, so the hash never reaches the controller's output.
fn password_only(
    cx: &PlanCx,
    name: &str,
    hash: &str,
    mut result: Map<String, Json>,
    changes: Vec<Change>,
) -> Result<Decision, PlanError> {
    let same = cx.ask_one(Read::SamePassword {
        user: name.into(),
        hash: hash.into(),
    })?;
    if same.trim() == "same" {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: format!("user {name}"),
            attrs: vec!["password: changed".into()],
            ..Diff::default()
        }],
        action: action(changes, result, Vec::new())?,
    })
}

/// After `groupadd NAME` and `getent group NAME`: fails as
/// [`OutputMode::Checked`], else the new group's `gid`.
fn parse_created_group(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    if status != 0 {
        return super::files::failed(status, stderr);
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

    use super::super::change::Change;
    use super::super::testing::{self, fail_msg};
    use super::super::Decision;
    use crate::probe::{Fact, Probe};

    fn run(words: &[&str]) -> Change {
        Change::Run {
            argv: words.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// Answers the user snippet with `passwd`, primary group, groups and lock.
    fn run_user(
        args: serde_json::Value,
        facts: Option<(&str, &str, &str, &str)>,
    ) -> Result<Decision, super::PlanError> {
        let name = args["name"].as_str().unwrap_or_default().to_string();
        let reads = crate::modules::change::read::render(&super::user_reads(&name));
        testing::run("user", args, |p| match p {
            Probe::Shell { script } if *script == reads => {
                let sep = super::super::sysargs::SEP;
                Some(Fact::Text(match facts {
                    None => format!("{sep}\n{sep}\n{sep}\nnone\n"),
                    Some((pw, pg, gs, lock)) => {
                        format!("{pw}\n{sep}\n{pg}\n{sep}\n{gs}\n{sep}\n{lock}\n")
                    }
                }))
            }
            Probe::Shell { script } if script.contains("echo same") => {
                Some(Fact::Text("differs\n".into()))
            }
            _ => None,
        })
    }

    const ALICE: (&str, &str, &str, &str) = (
        "rprovmod-a:x:1001:1001:Alice:/home/rprovmod-a:/bin/sh",
        "rprovmod-a",
        "rprovmod-a sudo",
        "unlocked",
    );

    fn attrs(d: &Decision) -> Vec<String> {
        match d {
            Decision::Change { diffs, .. } => diffs[0].attrs.clone(),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn creates_a_missing_user() {
        let d = run_user(
            json!({"name": "rprovmod-a", "shell": "/bin/bash", "groups": "sudo, adm", "uid": 1001}),
            None,
        )
        .unwrap();
        assert_eq!(
            testing::changes(&d),
            [run(&[
                "useradd",
                "-u",
                "1001",
                "-s",
                "/bin/bash",
                "-G",
                "sudo,adm",
                "-m",
                "rprovmod-a"
            ])]
        );
        assert!(attrs(&d).contains(&"shell: /bin/bash".to_string()));
    }

    #[test]
    fn no_change_when_it_matches() {
        let d = run_user(
            json!({"name": "rprovmod-a", "shell": "/bin/sh", "groups": ["sudo"], "uid": "1001",
                   "home": "/home/rprovmod-a/", "comment": "Alice", "password_lock": false}),
            Some(ALICE),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["uid"], json!(1001));
        assert_eq!(result["home"], json!("/home/rprovmod-a/"));
        // append: the wanted group is there already.
        let d = run_user(
            json!({"name": "rprovmod-a", "groups": "sudo", "append": true}),
            Some(ALICE),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run_user(json!({"name": "nobody-here", "state": "absent"}), None).unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn modifies_only_what_differs() {
        let d = run_user(
            json!({"name": "rprovmod-a", "shell": "/bin/bash", "groups": "adm", "append": true,
                   "password_lock": true}),
            Some(ALICE),
        )
        .unwrap();
        assert_eq!(
            attrs(&d),
            vec![
                "shell: /bin/sh → /bin/bash",
                "groups: sudo → sudo,adm",
                "password_lock: no → yes"
            ]
        );
        assert_eq!(
            testing::changes(&d),
            [
                run(&[
                    "usermod",
                    "-s",
                    "/bin/bash",
                    "-a",
                    "-G",
                    "sudo,adm",
                    "rprovmod-a"
                ]),
                run(&["usermod", "-L", "rprovmod-a"])
            ]
        );
        // Without append the list is exact.
        let d = run_user(json!({"name": "rprovmod-a", "groups": []}), Some(ALICE)).unwrap();
        assert_eq!(
            testing::changes(&d),
            [run(&["usermod", "-G", "", "rprovmod-a"])]
        );
        assert_eq!(testing::script(&d), "set -e\nusermod -G '' rprovmod-a\n");
    }

    #[test]
    fn removes() {
        let d = run_user(
            json!({"name": "rprovmod-a", "state": "absent", "remove": true}),
            Some(ALICE),
        )
        .unwrap();
        assert_eq!(
            testing::changes(&d),
            [run(&["userdel", "-r", "rprovmod-a"])]
        );
    }

    #[test]
    fn password_is_compared_on_the_host() {
        let d = run_user(
            json!({"name": "rprovmod-a", "password": "$6$x$y"}),
            Some(ALICE),
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["password: changed"]);
        assert!(!format!("{d:?}").contains("diffs: [Diff { path: \"user rprovmod-a\", before: None, after: None, attrs: [\"password: $6"));
        // The hash reaches chpasswd on stdin, never a program's arguments.
        assert_eq!(
            testing::script(&d),
            "set -e\n[ \"$(getent shadow rprovmod-a | cut -d: -f2)\" = '$6$x$y' ] || printf '%s\\n' 'rprovmod-a:$6$x$y' | chpasswd -e\n"
        );
        let d = run_user(json!({"name": "rprovmod-b", "password": "$6$x$y"}), None).unwrap();
        let script = testing::script(&d);
        assert!(!script.contains("-p"), "{script}");
        assert!(
            script.ends_with("\nprintf '%s\\n' 'rprovmod-b:$6$x$y' | chpasswd -e\n"),
            "{script}"
        );
        let m = fail_msg(run_user(json!({"name": "a", "password": "x:y"}), None));
        assert!(m.contains("crypt(3) hash"), "{m}");
    }

    /// The script as `sh` runs it, with stand-ins for the shadow tools that
    /// record their arguments and stdin: the hash reaches chpasswd on stdin,
    /// and no program sees it as an argument.
    #[test]
    fn password_hash_is_only_on_chpasswd_stdin() {
        let d = run_user(
            json!({"name": "rprovmod-b", "password": "$6$salt$h4sh"}),
            None,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for tool in ["useradd", "chpasswd", "usermod"] {
            let p = dir.path().join(tool);
            std::fs::write(
                &p,
                format!("#!/bin/sh\necho \"{tool} $*\" >> \"$RP_LOG\"\ncat >> \"$RP_LOG\"\n"),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let log = dir.path().join("log");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(testing::script(&d))
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("RP_LOG", &log)
            .stdin(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "useradd -m rprovmod-b\nchpasswd -e\nrprovmod-b:$6$salt$h4sh\n"
        );
    }

    #[test]
    fn bad_values() {
        let m = fail_msg(run_user(json!({"name": "a", "state": "gone"}), None));
        assert!(m.contains("`state` must be one of present, absent"), "{m}");
        let m = fail_msg(run_user(json!({"name": "a", "uid": "x1"}), None));
        assert!(m.contains("non-negative integer"), "{m}");
        let m = fail_msg(run_user(json!({"name": "a:b"}), None));
        assert!(m.contains("invalid user name"), "{m}");
    }

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
