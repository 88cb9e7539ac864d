//! `user`: accounts, read with `getent` and `id`, changed with the
//! shadow-utils tools (useradd/usermod/userdel, chage) as ansible-core's
//! `user` changes them on Linux. `group` is in [`group`].
//!
//! A password hash is never an argument of a program (`useradd -p HASH` is in
//! `ps` for every user of the host): it reaches `chpasswd -e` on its stdin
//! through the shell's builtin `printf`, inside the script that `sh` reads on
//! its own stdin. An ssh key's passphrase reaches ssh-keygen the same way.
//!
//! One read snippet per account answers everything the decision needs (the
//! passwd entry, the groups, the lock, the aging fields, the home and key),
//! so a role's user tasks cost one probe round together. The diff lists each
//! attribute that changes, `shell: /bin/sh → /bin/bash`, so check mode is
//! honest.

mod aging;
pub mod group;
mod host_steps;
mod password;

use serde_json::{json, Map, Value as Json};

use rprov_transport::quote;

use super::change::{self, Change, Read};
use super::typed::{choice, module_args};
use super::{Action, Decision, Diff, OutputMode, PlanCx, PlanError};
use aging::{Expiry, PasswordDays};
use host_steps::{After, SshKey};

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

/// ansible-core's warning for `append` without `groups` (its missing space
/// included).
const APPEND_WITHOUT_GROUPS: &str = "'append' is set, but no 'groups' are specified. \
     Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.";

/// What is asked about one user, in one round: passwd entry, primary group
/// name, supplementary groups, the password's lock state (never the hash
/// itself: only `locked`/`unlocked`/`none` leaves the host), the aging
/// fields, whether a group of the user's name exists, then whether the
/// wanted hash is the one set (when there is one), the home and key
/// ([`host_steps::read`]) and each named group.
struct Asked<'a> {
    name: &'a str,
    /// `local`: the account is what /etc/passwd says, whatever NSS says.
    local: bool,
    hash: Option<&'a str>,
    home: Option<&'a str>,
    ssh: Option<&'a SshKey>,
    groups: &'a [&'a str],
}

impl Asked<'_> {
    fn reads(&self) -> Vec<Read> {
        let id = |flag: &str| Read::Output(vec!["id".into(), flag.into(), self.name.into()]);
        let mut reads = vec![
            Read::Getent {
                db: "passwd",
                key: self.name.into(),
            },
            id("-gn"),
            id("-nG"),
            Read::PasswordState(self.name.into()),
            Read::Raw {
                script: aging::read(self.name),
                why: "the shadow entry's aging fields alone (never its hash), or `none`",
            },
            Read::Getent {
                db: "group",
                key: self.name.into(),
            },
        ];
        if self.local {
            reads.push(Read::Raw {
                script: format!(
                    "while IFS= read -r _rp_l; do case \"$_rp_l\" in {}:*) printf '%s\\n' \"$_rp_l\"; break;; esac; done < /etc/passwd",
                    quote(self.name)
                ),
                why: "`local`: the account's line of /etc/passwd itself, not what NSS answers",
            });
        }
        if let Some(hash) = self.hash {
            reads.push(Read::SamePassword {
                user: self.name.into(),
                hash: hash.into(),
            });
        }
        reads.push(Read::Raw {
            // Each read runs in a subshell of its own: its `exit` ends it alone.
            script: host_steps::read(self.name, self.home, self.ssh),
            why: "the home and ssh key of the account, where its passwd entry says",
        });
        for g in self.groups {
            reads.push(Read::Getent {
                db: "group",
                key: g.to_string(),
            });
        }
        reads
    }
}

/// What the round says about a user.
struct UserFacts {
    entry: Option<Passwd>,
    primary: String,
    groups: Vec<String>,
    lock: String,
    /// `None`: no shadow entry.
    aging: Option<aging::Aging>,
    /// A group named as the user exists.
    own_group: bool,
    /// The wanted hash is set already (false when none is wanted).
    same_hash: bool,
    found: host_steps::Found,
    /// Each asked group's name and gid, `None` for one that does not exist.
    group_names: Vec<Option<(String, u64)>>,
}

fn read_user(cx: &PlanCx, asked: &Asked) -> Result<UserFacts, PlanError> {
    let s = cx.ask(&asked.reads())?;
    let mut rest = s.iter().skip(6);
    let mut next = || rest.next().map(String::as_str).unwrap_or_default();
    let mut entry = s[0].lines().next().and_then(parse_passwd);
    if asked.local {
        entry = next().lines().next().and_then(parse_passwd);
    }
    let same_hash = asked.hash.is_some() && next().trim() == "same";
    let found = host_steps::parse_read(next());
    let group_names = asked
        .groups
        .iter()
        .map(|_| {
            let line = next().lines().next().unwrap_or_default();
            let mut f = line.split(':');
            let name = f.next().filter(|n| !n.is_empty())?;
            let gid = f.nth(1).and_then(|g| g.trim().parse().ok())?;
            Some((name.to_string(), gid))
        })
        .collect();
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
        aging: aging::parse(&s[4]),
        own_group: !s[5].trim().is_empty(),
        same_hash,
        found,
        group_names,
    })
}

/// The programs that change accounts: shadow-utils', or libuser's for
/// `local` (which write /etc/passwd and /etc/group themselves, for hosts
/// whose accounts also come from a directory).
#[derive(Clone, Copy)]
struct Tools {
    local: bool,
}

impl Tools {
    fn add(self) -> &'static str {
        if self.local {
            "luseradd"
        } else {
            "useradd"
        }
    }
    fn modify(self) -> &'static str {
        if self.local {
            "lusermod"
        } else {
            "usermod"
        }
    }
    fn delete(self) -> &'static str {
        if self.local {
            "luserdel"
        } else {
            "userdel"
        }
    }
    /// libuser's tools are checked for first, as ansible-core does, so a
    /// host without them fails before anything changes.
    fn required(self, main: &str) -> Vec<Change> {
        if !self.local {
            return Vec::new();
        }
        let names: &[&str] = if main == "luserdel" {
            &[main]
        } else {
            &["lgroupmod", "lchage", main]
        };
        names
            .iter()
            .map(|n| Change::RequireCommand {
                name: n.to_string(),
            })
            .collect()
    }
    /// `lchage -E DAYS NAME`: libuser's tools have no `-e`.
    fn lchage(name: &str, e: Expiry) -> Change {
        cmd(vec![
            "lchage".into(),
            "-E".into(),
            e.days_arg(),
            name.into(),
        ])
    }
    /// `lgroupmod -M NAME GROUP` (add) or `-m` (remove).
    fn lgroupmod(flag: &str, name: &str, group: &str) -> Change {
        cmd(vec![
            "lgroupmod".into(),
            flag.into(),
            name.into(),
            group.into(),
        ])
    }
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

/// `usermod FLAG NAME` (or lusermod).
fn usermod(tools: Tools, flag: &str, name: &str) -> Change {
    cmd(vec![tools.modify().into(), flag.into(), name.into()])
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
        name: String ["name", "user"],
        state: State ["state"] = State::Present,
        shell: Option<String> ["shell"],
        home: Option<String> ["home"],
        create_home: bool ["create_home", "createhome"] = true,
        /// What a new home is made from (`useradd -k`), over /etc/skel.
        skeleton: Option<String> ["skeleton"],
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
        /// Seconds since the epoch of the account's last day; before the
        /// epoch: never.
        expires: Option<f64> ["expires"],
        password_expire_min: Option<i64> ["password_expire_min"],
        password_expire_max: Option<i64> ["password_expire_max"],
        password_expire_warn: Option<i64> ["password_expire_warn"],
        /// Days after the password expires that the account is disabled.
        password_expire_account_disable: Option<i64> ["password_expire_account_disable"],
        generate_ssh_key: bool ["generate_ssh_key"] = false,
        ssh_key_bits: i64 ["ssh_key_bits"] = 0,
        ssh_key_type: String ["ssh_key_type"] = "rsa".to_string(),
        ssh_key_file: Option<String> ["ssh_key_file"],
        ssh_key_comment: Option<String> ["ssh_key_comment"],
        ssh_key_passphrase: Option<String> ["ssh_key_passphrase"],
        /// The umask useradd makes a new home with (`-K UMASK=`).
        umask: Option<String> ["umask"],
        /// `UID_MIN`/`UID_MAX` for this creation only (`useradd -K`).
        uid_min: Option<i64> ["uid_min"],
        uid_max: Option<i64> ["uid_max"],
        /// libuser's tools (luseradd…) for hosts with central accounts.
        local: bool ["local"] = false,
        /// SELinux user for the account (`useradd -Z`).
        seuser: Option<String> ["seuser"],
        /// BSD, macOS and Solaris settings that ansible-core ignores on
        /// Linux; accepted so a role written for several systems runs.
        #[allow(dead_code)]
        login_class: Option<String> ["login_class"],
        #[allow(dead_code)]
        hidden: Option<bool> ["hidden"],
        #[allow(dead_code)]
        profile: Option<String> ["profile"],
        #[allow(dead_code)]
        authorization: Option<String> ["authorization"],
        #[allow(dead_code)]
        role: Option<String> ["role"],
    }
}

/// ansible-core's checks before anything else, in its order, and the
/// warnings it gives whatever the account's state.
fn check(a: &UserArgs) -> Result<(Option<Expiry>, Vec<String>), PlanError> {
    if a.local {
        for (set, arg) in [
            (a.umask.is_some(), "umask"),
            (a.uid_min.is_some(), "uid_min"),
            (a.uid_max.is_some(), "uid_max"),
        ] {
            if set {
                return Err(PlanError::Fail(format!(
                    "'{arg}' can not be used with 'local'"
                )));
            }
        }
    }
    let expiry = a
        .expires
        .map(Expiry::from_seconds)
        .transpose()
        .map_err(PlanError::Fail)?;
    let mut warnings = Vec::new();
    if a.groups.is_none() && a.append {
        warnings.push(APPEND_WITHOUT_GROUPS.to_string());
    }
    if a.password
        .as_deref()
        .is_some_and(|p| !p.is_empty() && password::looks_unhashed(p))
    {
        warnings.push(password::UNHASHED.to_string());
    }
    let name = &a.name;
    if name.is_empty() || name.contains([':', '\n', '/']) {
        return Err(PlanError::Fail(format!("user: invalid user name `{name}`")));
    }
    if a.password
        .as_ref()
        .is_some_and(|p| p.contains([':', '\n', '\r']))
    {
        return Err(PlanError::Fail(
            "user: `password` must be a crypt(3) hash, which has no `:` or line break".into(),
        ));
    }
    if let Some(s) = a
        .shell
        .iter()
        .chain(a.home.iter())
        .chain(a.umask.iter())
        .find(|s| s.contains([':', '\n']))
    {
        return Err(PlanError::Fail(format!(
            "user: `{s}` cannot contain `:` or a newline"
        )));
    }
    Ok((expiry, warnings))
}

/// `-K KEY=VALUE` words for useradd.
fn login_defs(words: &mut Vec<String>, key: &str, value: Option<String>) {
    if let Some(v) = value {
        words.extend(["-K".into(), format!("{key}={v}")]);
    }
}

fn result_with_warnings(mut result: Map<String, Json>, warnings: &[String]) -> Map<String, Json> {
    if !warnings.is_empty() {
        result.insert("warnings".into(), json!(warnings));
    }
    result
}

pub fn plan_user(cx: &PlanCx) -> Result<Decision, PlanError> {
    let mut a = UserArgs::from_cx(cx)?;
    let (expiry, warnings) = check(&a)?;
    // `path` arguments: `~` is the home of the user the task becomes.
    for p in [&mut a.shell, &mut a.home, &mut a.ssh_key_file] {
        if let Some(v) = p.as_mut() {
            *v = cx.expand_home(v)?;
        }
    }
    let name = a.name.clone();
    let ssh = a.generate_ssh_key.then(|| SshKey {
        file: a
            .ssh_key_file
            .clone()
            .unwrap_or_else(|| format!(".ssh/id_{}", a.ssh_key_type)),
        kind: a.ssh_key_type.clone(),
        bits: a.ssh_key_bits,
        comment: a.ssh_key_comment.clone(),
        passphrase: a.ssh_key_passphrase.clone(),
        force: a.force,
    });
    let present = a.state == State::Present;
    let mut named: Vec<&str> = Vec::new();
    if present {
        named.extend(a.group.iter().map(String::as_str));
        named.extend(a.groups.iter().flatten().map(String::as_str));
    }
    let asked = Asked {
        name: &name,
        local: a.local,
        hash: a
            .password
            .as_deref()
            .filter(|_| present && a.update_password == UpdatePassword::Always),
        home: a.home.as_deref(),
        ssh: ssh.as_ref(),
        groups: &named,
    };
    let f = read_user(cx, &asked)?;
    for (g, found) in named.iter().zip(&f.group_names) {
        if found.is_none() {
            return Err(PlanError::Fail(format!("Group {g} does not exist")));
        }
    }
    // `groups` by name: a gid names its group, as ansible-core resolves it.
    let skip = usize::from(a.group.is_some());
    let groups: Option<Vec<String>> = a.groups.as_ref().map(|gs| {
        gs.iter()
            .zip(f.group_names.iter().skip(skip))
            .map(|(g, n)| n.as_ref().map_or_else(|| g.clone(), |(n, _)| n.clone()))
            .collect()
    });
    let mut result = Map::new();
    result.insert("name".into(), json!(name));
    result.insert("state".into(), json!(a.state.as_str()));
    let diff_path = format!("user {name}");
    let tools = Tools { local: a.local };

    if !present {
        let result = result_with_warnings(result, &warnings);
        return plan_absent(&a, tools, f.entry.as_ref(), result, diff_path);
    }
    if a.password.is_some() {
        result.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
    }
    // The plan's warnings; once the host has run the steps, its report
    // gives them all again, with its own.
    let mut result = result_with_warnings(result, &warnings);
    if let Some(g) = &a.groups {
        result.insert("groups".into(), json!(g.join(",")));
    }
    let Some(cur) = f.entry.clone() else {
        let new = New {
            tools,
            groups,
            expiry,
            ssh: ssh.as_ref(),
            warnings: &warnings,
        };
        return plan_new(&a, &f, new, result, diff_path);
    };

    // An existing account: usermod with only what differs.
    let mut words = vec![tools.modify().to_string()];
    let mut attrs = Vec::new();
    // libuser's own steps after lusermod: lchage, lgroupmod.
    let mut local_steps = Vec::new();
    if let Some(u) = a.uid.filter(|u| *u != cur.uid) {
        words.extend(["-u".into(), u.to_string()]);
        attrs.push(format!("uid: {} → {u}", cur.uid));
        if a.non_unique {
            words.push("-o".into());
        }
    }
    // The primary group by its gid, as ansible-core passes it (lusermod
    // takes nothing else).
    let group_gid = f.group_names.first().filter(|_| a.group.is_some());
    if let (Some(g), Some(Some((_, gid)))) = (&a.group, group_gid) {
        if *gid != cur.gid {
            words.extend(["-g".into(), gid.to_string()]);
            attrs.push(format!("group: {} → {g}", f.primary));
        }
    }
    if let Some(c) = a.comment.as_ref().filter(|c| **c != cur.comment) {
        words.extend(["-c".into(), c.clone()]);
        attrs.push(format!("comment: {} → {c}", cur.comment));
    }
    if let Some(h) = a
        .home
        .as_ref()
        .filter(|h| h.trim_end_matches('/') != cur.home.trim_end_matches('/'))
    {
        words.extend(["-d".into(), h.clone()]);
        if a.move_home {
            words.push("-m".into());
        }
        attrs.push(format!("home: {} → {h}", cur.home));
    }
    if let Some(s) = a.shell.as_ref().filter(|s| **s != cur.shell) {
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
        if !missing.is_empty() || (!a.append && !extra.is_empty()) {
            let new: Vec<String> = if a.append {
                f.groups
                    .iter()
                    .chain(missing.iter().copied())
                    .cloned()
                    .collect()
            } else {
                want.iter().map(|g| g.to_string()).collect()
            };
            if a.local {
                for g in &missing {
                    local_steps.push(Tools::lgroupmod("-M", &name, g));
                }
                if !a.append {
                    for g in &extra {
                        local_steps.push(Tools::lgroupmod("-m", &name, g));
                    }
                }
            } else {
                if a.append {
                    words.push("-a".into());
                }
                words.extend(["-G".into(), new.join(",")]);
            }
            attrs.push(format!(
                "groups: {} → {}",
                f.groups.join(","),
                new.join(",")
            ));
        }
    }
    let current_expire = aging::expire_now(f.aging.as_ref());
    if let Some(e) = expiry.filter(|e| e.differs(current_expire)) {
        if a.local {
            local_steps.push(Tools::lchage(&name, e));
        } else {
            words.extend(["-e".into(), e.date_arg()]);
        }
        attrs.push(format!(
            "expires: {} → {}",
            expire_text(current_expire),
            expire_text(e.days())
        ));
    }
    if let Some(n) = a
        .password_expire_account_disable
        .filter(|n| f.aging.is_none_or(|g| g.inactive != *n))
    {
        words.extend(["-f".into(), n.to_string()]);
        attrs.push(format!(
            "password_expire_account_disable: {} → {n}",
            f.aging.map_or(-1, |g| g.inactive)
        ));
    }
    let mut changes = tools.required(tools.modify());
    if words.len() > 1 {
        words.push(name.clone());
        changes.push(cmd(words));
    }
    changes.extend(local_steps);
    let locked = f.lock == "locked";
    let lock = a.password_lock;
    match (&a.password, a.update_password) {
        // A new hash carries the lock, as ansible-core's `usermod -p '!HASH'`.
        (Some(p), UpdatePassword::Always) if !f.same_hash => {
            changes.push(Change::SetPassword {
                user: name.clone(),
                hash: password::with_lock(p, lock == Some(true)),
            });
            attrs.push("password: changed".into());
        }
        _ => match lock {
            Some(true) if !locked => {
                changes.push(usermod(tools, "-L", &name));
                attrs.push("password_lock: no → yes".into());
            }
            Some(false) if locked => {
                changes.push(usermod(tools, "-U", &name));
                attrs.push("password_lock: yes → no".into());
            }
            _ => {}
        },
    }
    let home = a.home.clone().unwrap_or(cur.home.clone());
    let make_home = a.create_home && !f.found.home_exists;
    if make_home {
        attrs.push(format!("home: {home} made"));
    }
    let days = PasswordDays {
        min: a.password_expire_min,
        max: a.password_expire_max,
        warn: a.password_expire_warn,
    };
    let chage = days.chage_flags(f.aging.as_ref(), false);
    if !chage.is_empty() {
        attrs.push(format!("password aging: chage {}", chage.join(" ")));
    }
    let mut key_warnings = Vec::new();
    if let Some(k) = &ssh {
        if key_is_made(k, &f.found, &mut key_warnings) {
            attrs.push(format!("ssh key: {} made", k.file));
        }
    }
    result.insert("uid".into(), json!(a.uid.unwrap_or(cur.uid)));
    result.insert("group".into(), json!(cur.gid));
    result.insert("home".into(), json!(home));
    result.insert(
        "shell".into(),
        json!(a.shell.clone().unwrap_or(cur.shell.clone())),
    );
    result.insert(
        "comment".into(),
        json!(a.comment.clone().unwrap_or(cur.comment.clone())),
    );
    result.insert("append".into(), json!(a.append));
    result.insert("move_home".into(), json!(a.move_home));
    if attrs.is_empty() {
        result.extend(f.found.report.clone());
        let all: Vec<String> = warnings.iter().chain(&key_warnings).cloned().collect();
        // The plan's warnings and the key's, over the plan's alone.
        let mut result = result_with_warnings(result, &all);
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    changes.push(Change::Raw {
        script: host_steps::script(&After {
            name: &name,
            home: a.home.as_deref(),
            create_home: make_home,
            skeleton: a.skeleton.as_deref(),
            // Decided again on the host, the same way: also reports the key.
            ssh: ssh.as_ref(),
            chage,
            warnings: &warnings,
        }),
        why: "the home, key and aging steps after usermod decide on the host, as ansible-core's do",
    });
    result.insert("changed".into(), json!(true));
    let mut action = action(changes, result, vec![cur.home.clone()])?;
    action.output = OutputMode::Parse(host_steps::parse);
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: diff_path,
            attrs,
            ..Diff::default()
        }],
        action,
    })
}

/// Field 8 of shadow as a date, or `never`.
fn expire_text(days: i64) -> String {
    if days < 0 {
        "never".into()
    } else {
        Expiry::Day(days).date_arg()
    }
}

/// Whether ansible-core's `ssh_key_gen` makes a key for an existing account
/// with what [`host_steps::read`] found, and its warnings.
fn key_is_made(k: &SshKey, found: &host_steps::Found, warnings: &mut Vec<String>) -> bool {
    use host_steps::{key_warning, PRIVATE_KEPT, PRIVATE_REPLACED, PUBLIC_KEPT, PUBLIC_REPLACED};
    let path = found
        .report
        .get("ssh_key_file")
        .and_then(Json::as_str)
        .unwrap_or(&k.file)
        .to_string();
    if found.key_exists {
        if !k.force {
            warnings.push(key_warning(PRIVATE_KEPT, &path));
            return false;
        }
        warnings.push(key_warning(PRIVATE_REPLACED, &path));
        if k.passphrase.is_some() {
            return false;
        }
    }
    if found.pub_exists {
        let public = format!("{path}.pub");
        if !k.force {
            warnings.push(key_warning(PUBLIC_KEPT, &public));
            return false;
        }
        warnings.push(key_warning(PUBLIC_REPLACED, &public));
    }
    true
}

fn plan_absent(
    a: &UserArgs,
    tools: Tools,
    entry: Option<&Passwd>,
    mut result: Map<String, Json>,
    diff_path: String,
) -> Result<Decision, PlanError> {
    let Some(e) = entry else {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    };
    let mut words = vec![tools.delete().to_string()];
    if a.remove {
        words.push("-r".into());
    }
    // luserdel has no `-f`.
    if a.force && !a.local {
        words.push("-f".into());
    }
    words.push(a.name.clone());
    result.insert("changed".into(), json!(true));
    result.insert("remove".into(), json!(a.remove));
    result.insert("force".into(), json!(a.force));
    let mut attrs = vec!["state: present → absent".to_string()];
    if a.remove {
        attrs.push(format!("home: {} removed", e.home));
    }
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: diff_path,
            attrs,
            ..Diff::default()
        }],
        action: action(
            tools
                .required(tools.delete())
                .into_iter()
                .chain([cmd(words)])
                .collect(),
            result,
            vec![e.home.clone()],
        )?,
    })
}

/// What a new account's plan needs besides the arguments.
struct New<'a> {
    tools: Tools,
    /// `groups` by name.
    groups: Option<Vec<String>>,
    expiry: Option<Expiry>,
    ssh: Option<&'a SshKey>,
    warnings: &'a [String],
}

/// A new account: useradd in ansible-core's order of words, the hash, then
/// the steps after it on the host (which report the uid useradd picked).
/// luseradd makes the home unless told not to and takes no groups or
/// expiry: lgroupmod and lchage follow it.
fn plan_new(
    a: &UserArgs,
    f: &UserFacts,
    new: New,
    mut result: Map<String, Json>,
    diff_path: String,
) -> Result<Decision, PlanError> {
    let New {
        tools,
        groups,
        expiry,
        ssh,
        warnings,
    } = new;
    let name = &a.name;
    let mut words = vec![tools.add().to_string()];
    let mut attrs = vec!["state: absent → present".to_string()];
    let mut opt = |words: &mut Vec<String>, flag: &str, v: Option<String>, label: &str| {
        if let Some(v) = v {
            attrs.push(format!("{label}: {v}"));
            words.extend([flag.into(), v]);
        }
    };
    opt(&mut words, "-u", a.uid.map(|u| u.to_string()), "uid");
    if a.uid.is_some() && a.non_unique {
        words.push("-o".into());
    }
    opt(&mut words, "-Z", a.seuser.clone(), "seuser");
    opt(&mut words, "-g", a.group.clone(), "group");
    if a.group.is_none() && f.own_group {
        // A group of the user's name exists already: useradd would refuse
        // to make it, so the account gets the default group, as in
        // ansible-core.
        words.push(if a.local { "-n" } else { "-N" }.into());
    }
    let groups = groups.filter(|g| !g.is_empty());
    if !a.local {
        opt(
            &mut words,
            "-G",
            groups.as_ref().map(|g| g.join(",")),
            "groups",
        );
    }
    opt(&mut words, "-c", a.comment.clone(), "comment");
    opt(&mut words, "-d", a.home.clone(), "home");
    opt(&mut words, "-s", a.shell.clone(), "shell");
    if !a.local {
        opt(&mut words, "-e", expiry.map(Expiry::date_arg), "expires");
    }
    opt(
        &mut words,
        "-f",
        a.password_expire_account_disable.map(|n| n.to_string()),
        "password_expire_account_disable",
    );
    if a.create_home {
        if !a.local {
            words.push("-m".into());
        }
        opt(&mut words, "-k", a.skeleton.clone(), "skeleton");
        login_defs(&mut words, "UMASK", a.umask.clone());
    } else {
        words.push("-M".into());
    }
    if a.system {
        words.push("-r".into());
    }
    login_defs(&mut words, "UID_MIN", a.uid_min.map(|n| n.to_string()));
    login_defs(&mut words, "UID_MAX", a.uid_max.map(|n| n.to_string()));
    words.push(name.clone());
    let mut changes = tools.required(tools.add());
    changes.push(cmd(words));
    if a.local {
        if let Some(e) = expiry {
            attrs.push(format!("expires: {}", expire_text(e.days())));
            changes.push(Tools::lchage(name, e));
        }
        for g in groups.iter().flatten() {
            changes.push(Tools::lgroupmod("-M", name, g));
        }
        if let Some(g) = &groups {
            attrs.push(format!("groups: {}", g.join(",")));
        }
    }
    if let Some(p) = &a.password {
        changes.push(Change::SetPassword {
            user: name.clone(),
            hash: password::with_lock(p, a.password_lock == Some(true)),
        });
        attrs.push("password: set".into());
    }
    let days = PasswordDays {
        min: a.password_expire_min,
        max: a.password_expire_max,
        warn: a.password_expire_warn,
    };
    let chage = days.chage_flags(None, true);
    if !chage.is_empty() {
        attrs.push(format!("password aging: chage {}", chage.join(" ")));
    }
    if let Some(k) = ssh {
        attrs.push(format!("ssh key: {} made", k.file));
    }
    changes.push(Change::Raw {
        script: host_steps::script(&After {
            name,
            home: a.home.as_deref(),
            create_home: a.create_home,
            skeleton: a.skeleton.as_deref(),
            ssh,
            chage,
            warnings,
        }),
        why: "the uid and home useradd picked are only known on the host",
    });
    result.insert("changed".into(), json!(true));
    result.insert("system".into(), json!(a.system));
    result.insert("create_home".into(), json!(a.create_home));
    if let Some(u) = a.uid {
        result.insert("uid".into(), json!(u));
    }
    if let Some(h) = &a.home {
        result.insert("home".into(), json!(h));
    }
    let touches: Vec<String> = a.home.iter().cloned().collect();
    let unknown_home = touches.is_empty();
    let mut action = action(changes, result, touches)?;
    // useradd picks the home (and the key goes under it): what rprov knew
    // of any path may be stale.
    action.touches_everything |= unknown_home;
    action.output = OutputMode::Parse(host_steps::parse);
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: diff_path,
            attrs,
            ..Diff::default()
        }],
        action,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::{json, Value as Json};

    use super::super::change::Change;
    use super::super::testing::{self, fail_msg};
    use super::super::Decision;
    use crate::probe::{Fact, Probe};

    pub(crate) fn run(words: &[&str]) -> Change {
        Change::Run {
            argv: words.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// What a host answers about one user.
    #[derive(Clone, Copy)]
    struct Host<'a> {
        passwd: &'a str,
        primary: &'a str,
        groups: &'a str,
        lock: &'a str,
        aging: &'a str,
        own_group: bool,
        same_hash: bool,
        /// [`super::host_steps::read`]'s lines.
        found: &'a str,
    }

    const NOBODY: Host = Host {
        passwd: "",
        primary: "",
        groups: "",
        lock: "none",
        aging: "none",
        own_group: false,
        same_hash: false,
        found: "",
    };

    const ALICE: Host = Host {
        passwd: "rprovmod-a:x:1001:1001:Alice:/home/rprovmod-a:/bin/sh",
        primary: "rprovmod-a",
        groups: "rprovmod-a sudo",
        lock: "unlocked",
        aging: "0:99999:7::",
        own_group: true,
        same_hash: false,
        found: "rp_user_home=yes\n",
    };

    /// The groups a task names (`group`, then `groups`), as the module asks
    /// about them.
    fn named_groups(args: &Json) -> Vec<String> {
        let mut named: Vec<String> = args["group"]
            .as_str()
            .map(str::to_string)
            .into_iter()
            .collect();
        match &args["groups"] {
            Json::String(s) => named.extend(s.split(',').map(|g| g.trim().to_string())),
            Json::Array(a) => named.extend(a.iter().map(|g| match g {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })),
            _ => {}
        }
        named
    }

    /// Plans `user` against `host`: the read round is answered section by
    /// section; a group `nosuch` does not exist, a number is the gid of a
    /// group `grpN`.
    fn run_user(args: Json, host: Host) -> Result<Decision, super::PlanError> {
        let sep = super::super::sysargs::SEP;
        let mut sections = vec![
            host.passwd.to_string(),
            host.primary.to_string(),
            host.groups.to_string(),
            host.lock.to_string(),
            host.aging.to_string(),
            if host.own_group {
                "x:x:1:".to_string()
            } else {
                String::new()
            },
        ];
        if args["local"] == json!(true) {
            sections.push(host.passwd.to_string());
        }
        let asks_hash = args["password"].is_string()
            && args["state"].as_str() != Some("absent")
            && args["update_password"].as_str() != Some("on_create");
        if asks_hash {
            sections.push(if host.same_hash { "same" } else { "differs" }.into());
        }
        sections.push(host.found.trim_end().to_string());
        if args["state"].as_str() != Some("absent") {
            for g in named_groups(&args) {
                sections.push(match g.as_str() {
                    "nosuch" => String::new(),
                    n if n.parse::<u64>().is_ok() => format!("grp{n}:x:{n}:"),
                    n => format!("{n}:x:1000:"),
                });
            }
        }
        let answer = sections.join(&format!("\n{sep}\n")) + "\n";
        testing::run("user", args, move |p| match p {
            Probe::Shell { script } if script.contains("cut -d: -f4-8") => {
                Some(Fact::Text(answer.clone()))
            }
            Probe::Shell { script } if script.contains("printenv") => {
                Some(Fact::Text("/root\n".into()))
            }
            _ => None,
        })
    }

    fn attrs(d: &Decision) -> Vec<String> {
        match d {
            Decision::Change { diffs, .. } => diffs[0].attrs.clone(),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    /// The commands of the action, without the steps after them.
    fn commands(d: &Decision) -> Vec<Change> {
        testing::changes(d)
            .iter()
            .filter(|c| !matches!(c, Change::Raw { .. }))
            .cloned()
            .collect()
    }

    /// The shell of the steps after useradd/usermod.
    fn after(d: &Decision) -> String {
        testing::changes(d)
            .iter()
            .find_map(|c| match c {
                Change::Raw { script, .. } => Some(script.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn result(d: &Decision) -> serde_json::Map<String, Json> {
        match d {
            Decision::Ok { result, .. } => result.clone(),
            Decision::Change { action, .. } => action.result.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn creates_a_missing_user() {
        let d = run_user(
            json!({"name": "rprovmod-a", "shell": "/bin/bash", "groups": "sudo, adm", "uid": 1001}),
            NOBODY,
        )
        .unwrap();
        assert_eq!(
            commands(&d),
            [run(&[
                "useradd",
                "-u",
                "1001",
                "-G",
                "sudo,adm",
                "-s",
                "/bin/bash",
                "-m",
                "rprovmod-a"
            ])]
        );
        assert!(attrs(&d).contains(&"shell: /bin/bash".to_string()));
        // The uid useradd picks is read back on the host.
        assert!(after(&d).contains("rp_user_passwd="), "{}", after(&d));
        // `~` in a path argument is the home of the user the task becomes.
        let d = run_user(json!({"name": "u2", "shell": "~/custom_shell"}), NOBODY).unwrap();
        assert_eq!(
            commands(&d),
            [run(&["useradd", "-s", "/root/custom_shell", "-m", "u2"])]
        );
    }

    /// useradd's words in ansible-core's order, with what only a creation
    /// takes (skeleton, umask, the uid range) and `-N` when a group of the
    /// user's name is there already.
    #[test]
    fn creation_only_arguments() {
        let d = run_user(
            json!({"name": "u3", "skeleton": "/dev/null", "umask": "077", "uid_min": 1500,
                   "uid_max": 1501, "expires": 2529881062u64, "password_expire_account_disable": 15,
                   "system": true}),
            Host {
                own_group: true,
                ..NOBODY
            },
        )
        .unwrap();
        assert_eq!(
            commands(&d),
            [run(&[
                "useradd",
                "-N",
                "-e",
                "2050-03-03",
                "-f",
                "15",
                "-m",
                "-k",
                "/dev/null",
                "-K",
                "UMASK=077",
                "-r",
                "-K",
                "UID_MIN=1500",
                "-K",
                "UID_MAX=1501",
                "u3"
            ])]
        );
        let d = run_user(
            json!({"name": "u4", "expires": -1, "create_home": false}),
            NOBODY,
        )
        .unwrap();
        assert_eq!(commands(&d), [run(&["useradd", "-e", "", "-M", "u4"])]);
        assert!(
            !after(&d).contains("mkdir -p"),
            "no home without create_home"
        );
    }

    #[test]
    fn no_change_when_it_matches() {
        let d = run_user(
            json!({"name": "rprovmod-a", "shell": "/bin/sh", "groups": ["sudo"], "uid": "1001",
                   "home": "/home/rprovmod-a/", "comment": "Alice", "password_lock": false}),
            ALICE,
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["uid"], json!(1001));
        assert_eq!(result["home"], json!("/home/rprovmod-a/"));
        assert!(!result.contains_key("warnings"), "{result:?}");
        // append: the wanted group is there already.
        let d = run_user(
            json!({"name": "rprovmod-a", "groups": "sudo", "append": true}),
            ALICE,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run_user(json!({"name": "nobody-here", "state": "absent"}), NOBODY).unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        // A gid in `groups` names its group.
        let d = run_user(
            json!({"name": "rprovmod-a", "groups": ["1006"], "append": true}),
            Host {
                groups: "rprovmod-a grp1006",
                ..ALICE
            },
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn modifies_only_what_differs() {
        let d = run_user(
            json!({"name": "rprovmod-a", "shell": "/bin/bash", "groups": "adm", "append": true,
                   "password_lock": true}),
            ALICE,
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
            commands(&d),
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
        let d = run_user(json!({"name": "rprovmod-a", "groups": []}), ALICE).unwrap();
        assert_eq!(commands(&d), [run(&["usermod", "-G", "", "rprovmod-a"])]);
        assert!(
            testing::script(&d).starts_with("set -e\nusermod -G '' rprovmod-a\n"),
            "{}",
            testing::script(&d)
        );
    }

    /// `expires` and the password's aging, against the shadow fields read.
    #[test]
    fn expiry_and_aging() {
        let args = json!({"name": "rprovmod-a", "expires": 2529881062u64, "password_expire_max": 10,
                          "password_expire_min": 0});
        let d = run_user(args.clone(), ALICE).unwrap();
        assert_eq!(
            commands(&d),
            [run(&["usermod", "-e", "2050-03-03", "rprovmod-a"])]
        );
        assert!(
            after(&d).contains("chage -M 10 rprovmod-a"),
            "{}",
            after(&d)
        );
        assert_eq!(
            attrs(&d),
            ["expires: never → 2050-03-03", "password aging: chage -M 10"]
        );
        let set = Host {
            aging: "0:10:7::29281",
            ..ALICE
        };
        assert!(matches!(run_user(args, set).unwrap(), Decision::Ok { .. }));
        // Never: an expiry date is removed; one that is unset stays so.
        let never = json!({"name": "rprovmod-a", "expires": -1});
        assert_eq!(
            commands(&run_user(never.clone(), set).unwrap()),
            [run(&["usermod", "-e", "", "rprovmod-a"])]
        );
        assert!(matches!(
            run_user(never.clone(), ALICE).unwrap(),
            Decision::Ok { .. }
        ));
        // No shadow entry reads as day 0, and gets one.
        let no_shadow = Host {
            aging: "none",
            ..ALICE
        };
        assert_eq!(
            commands(&run_user(never, no_shadow).unwrap()),
            [run(&["usermod", "-e", "", "rprovmod-a"])]
        );
        // Aging is left alone without a shadow entry, as ansible-core does.
        let d = run_user(
            json!({"name": "rprovmod-a", "password_expire_warn": 28}),
            no_shadow,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn removes() {
        let d = run_user(
            json!({"name": "rprovmod-a", "state": "absent", "remove": true}),
            ALICE,
        )
        .unwrap();
        assert_eq!(
            testing::changes(&d),
            [run(&["userdel", "-r", "rprovmod-a"])]
        );
    }

    /// The hash is compared on the host, without the `!` of a lock: locking
    /// is no new password, and a new hash carries the wanted lock.
    #[test]
    fn password_and_lock_as_ansible_core() {
        let hash = format!("$6$salt${}", "h".repeat(86));
        let d = run_user(json!({"name": "rprovmod-a", "password": hash}), ALICE).unwrap();
        assert_eq!(attrs(&d), vec!["password: changed"]);
        assert_eq!(result(&d)["password"], json!("NOT_LOGGING_PASSWORD"));
        assert!(!format!("{:?}", attrs(&d)).contains("$6"));
        assert!(!result(&d).contains_key("warnings"));
        let same = Host {
            same_hash: true,
            lock: "locked",
            ..ALICE
        };
        let d = run_user(
            json!({"name": "rprovmod-a", "password": hash, "password_lock": true}),
            same,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = run_user(
            json!({"name": "rprovmod-a", "password": hash, "password_lock": false}),
            same,
        )
        .unwrap();
        assert_eq!(commands(&d), [run(&["usermod", "-U", "rprovmod-a"])]);
        // A new hash with a lock: one `!HASH`, no usermod -L.
        let d = run_user(
            json!({"name": "rprovmod-a", "password": hash, "password_lock": true}),
            ALICE,
        )
        .unwrap();
        assert_eq!(
            commands(&d),
            [Change::SetPassword {
                user: "rprovmod-a".into(),
                hash: format!("!{hash}")
            }]
        );
        let d = run_user(json!({"name": "rprovmod-b", "password": hash}), NOBODY).unwrap();
        assert_eq!(commands(&d)[0], run(&["useradd", "-m", "rprovmod-b"]));
        let script = testing::script(&d);
        assert!(script.contains("| chpasswd -e\n"), "{script}");
        let m = fail_msg(run_user(json!({"name": "a", "password": "x:y"}), NOBODY));
        assert!(m.contains("crypt(3) hash"), "{m}");
    }

    /// ansible-core's warnings: present only when there is one.
    #[test]
    fn warnings_as_ansible_core() {
        let d = run_user(
            json!({"name": "rprovmod-a", "password": "plaintextpassword"}),
            ALICE,
        )
        .unwrap();
        assert_eq!(result(&d)["warnings"], json!([super::password::UNHASHED]),);
        assert!(after(&d).contains("appears not to have been hashed"));
        let d = run_user(json!({"name": "rprovmod-a", "append": true}), ALICE).unwrap();
        let w = result(&d)["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            w.starts_with("'append' is set, but no 'groups' are specified. Use 'groups'"),
            "{w}"
        );
    }

    /// The home fallback and an ssh key for an existing account, decided
    /// from what the host says is there.
    #[test]
    fn home_and_key_of_an_existing_account() {
        let no_home = Host {
            found: "rp_user_home=no\n",
            ..ALICE
        };
        let d = run_user(json!({"name": "rprovmod-a"}), no_home).unwrap();
        assert_eq!(attrs(&d), ["home: /home/rprovmod-a made"]);
        assert!(after(&d).contains("cp -a"), "{}", after(&d));
        let d = run_user(json!({"name": "rprovmod-a", "create_home": false}), no_home).unwrap();
        assert!(matches!(d, Decision::Ok { .. }));

        let key = json!({"name": "rprovmod-a", "generate_ssh_key": true});
        let d = run_user(key.clone(), ALICE).unwrap();
        assert_eq!(attrs(&d), ["ssh key: .ssh/id_rsa made"]);
        assert!(after(&d).contains("ssh-keygen -t rsa"), "{}", after(&d));
        let has_key = Host {
            found: "rp_user_home=yes\nrp_user_key=yes\nrp_user_pub=yes\n\
                    rp_user_ssh_key_file=/home/rprovmod-a/.ssh/id_rsa\n\
                    rp_user_ssh_fingerprint=3072 SHA256:x c (RSA)\n\
                    rp_user_ssh_public_key=ssh-rsa AAA c\n",
            ..ALICE
        };
        let d = run_user(key, has_key).unwrap();
        let r = result(&d);
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        assert_eq!(r["ssh_public_key"], json!("ssh-rsa AAA c"));
        assert_eq!(r["ssh_key_file"], json!("/home/rprovmod-a/.ssh/id_rsa"));
        assert_eq!(
            r["warnings"],
            json!(["Found existing ssh key private file \"/home/rprovmod-a/.ssh/id_rsa\", no force, so skipping ssh-keygen generation"])
        );
        let d = run_user(
            json!({"name": "rprovmod-a", "generate_ssh_key": true, "force": true}),
            has_key,
        )
        .unwrap();
        assert_eq!(attrs(&d), ["ssh key: .ssh/id_rsa made"]);
    }

    /// The script as `sh` runs it, with stand-ins for the shadow tools that
    /// record their arguments and stdin: the hash reaches chpasswd on stdin,
    /// and no program sees it as an argument.
    #[test]
    fn password_hash_is_only_on_chpasswd_stdin() {
        let d = run_user(
            json!({"name": "rprovmod-b", "password": "$6$salt$h4sh"}),
            NOBODY,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        for (tool, body) in [
            ("useradd", String::new()),
            ("chpasswd", String::new()),
            ("usermod", String::new()),
            ("chown", String::new()),
            (
                "getent",
                format!("echo 'rprovmod-b:x:4242:4242::{}:/bin/sh'", home.display()),
            ),
        ] {
            let p = dir.path().join(tool);
            std::fs::write(
                &p,
                format!("#!/bin/sh\necho \"{tool} $*\" >> \"$RP_LOG\"\n[ {tool} = getent ] || cat >> \"$RP_LOG\"\n{body}\n"),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let log = dir.path().join("log");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(testing::script(&d))
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("RP_LOG", &log)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(
            log.starts_with("useradd -m rprovmod-b\nchpasswd -e\nrprovmod-b:$6$salt$h4sh\n"),
            "{log}"
        );
        assert_eq!(log.matches("h4sh").count(), 1, "{log}");
        let r = super::host_steps::parse(0, &String::from_utf8_lossy(&out.stdout), "");
        assert_eq!(r["uid"], json!(4242));
    }

    /// `local`: libuser's tools, checked for first; groups and expiry by
    /// lgroupmod and lchage after them.
    #[test]
    fn local_accounts_use_libuser() {
        let need = |names: &[&str]| -> Vec<Change> {
            names
                .iter()
                .map(|n| Change::RequireCommand {
                    name: n.to_string(),
                })
                .collect()
        };
        let d = run_user(
            json!({"name": "lu", "local": true, "groups": ["t1", "t2"], "expires": 2529881062u64}),
            Host {
                own_group: true,
                ..NOBODY
            },
        )
        .unwrap();
        let mut want = need(&["lgroupmod", "lchage", "luseradd"]);
        want.extend([
            run(&["luseradd", "-n", "lu"]),
            run(&["lchage", "-E", "29281", "lu"]),
            run(&["lgroupmod", "-M", "lu", "t1"]),
            run(&["lgroupmod", "-M", "lu", "t2"]),
        ]);
        assert_eq!(commands(&d), want);
        let lu = Host {
            passwd: "lu:x:1500:100::/home/lu:/bin/sh",
            primary: "users",
            groups: "users t1 t2",
            ..ALICE
        };
        let d = run_user(
            json!({"name": "lu", "local": true, "groups": ["t3"], "append": true}),
            lu,
        )
        .unwrap();
        let mut want = need(&["lgroupmod", "lchage", "lusermod"]);
        want.push(run(&["lgroupmod", "-M", "lu", "t3"]));
        assert_eq!(commands(&d), want);
        let d = run_user(json!({"name": "lu", "local": true, "groups": ["t1"]}), lu).unwrap();
        assert_eq!(commands(&d)[3..], [run(&["lgroupmod", "-m", "lu", "t2"])]);
        let d = run_user(
            json!({"name": "lu", "local": true, "expires": -1}),
            Host {
                aging: "0:99999:7::29281",
                ..lu
            },
        )
        .unwrap();
        assert_eq!(commands(&d)[3..], [run(&["lchage", "-E", "-1", "lu"])]);
        // An account NSS knows but /etc/passwd does not is made locally.
        let d = run_user(
            json!({"name": "lu", "local": true}),
            Host { passwd: "", ..lu },
        )
        .unwrap();
        assert_eq!(commands(&d)[3..], [run(&["luseradd", "-n", "lu"])]);
        let d = run_user(
            json!({"name": "lu", "local": true, "state": "absent", "remove": true, "force": true}),
            lu,
        )
        .unwrap();
        let mut want = need(&["luserdel"]);
        want.push(run(&["luserdel", "-r", "lu"]));
        assert_eq!(commands(&d), want);
    }

    #[test]
    fn bad_values() {
        let m = fail_msg(run_user(json!({"name": "a", "state": "gone"}), NOBODY));
        assert!(m.contains("`state` must be one of present, absent"), "{m}");
        let m = fail_msg(run_user(json!({"name": "a", "uid": "x1"}), NOBODY));
        assert!(m.contains("non-negative integer"), "{m}");
        let m = fail_msg(run_user(json!({"name": "a:b"}), NOBODY));
        assert!(m.contains("invalid user name"), "{m}");
        let m = fail_msg(run_user(
            json!({"name": "a", "groups": ["sudo", "nosuch"]}),
            NOBODY,
        ));
        assert_eq!(m, "Group nosuch does not exist");
        let m = fail_msg(run_user(
            json!({"name": "a", "umask": "077", "local": true}),
            NOBODY,
        ));
        assert_eq!(m, "'umask' can not be used with 'local'");
        let m = fail_msg(run_user(
            json!({"name": "a", "uid_max": 2000, "local": true}),
            NOBODY,
        ));
        assert_eq!(m, "'uid_max' can not be used with 'local'");
    }
}
