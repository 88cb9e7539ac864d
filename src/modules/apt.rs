//! `apt` and `package`: Debian packages.
//!
//! One read snippet answers the whole task: `dpkg-query` for what is
//! installed, `apt-cache policy` for candidates (state `latest`, and to fail
//! early on a name apt does not know), the age of the package lists for
//! `update_cache`/`cache_valid_time`, and `apt-get -s` for `upgrade`. The
//! diff names the packages to install, upgrade or remove; the action runs
//! `apt-get` non-interactively and keeps existing config files.
//!
//! Idempotence of `update_cache`: the cache's age is the newer of
//! `/var/lib/apt/periodic/update-success-stamp` and the mtime of
//! `/var/lib/apt/lists`, and after a successful update the stamp is touched,
//! so with `cache_valid_time` a second run does not update again (a
//! `cache_valid_time` alone asks for an update, as in Ansible). Without it
//! every run updates. As Ansible's module, the update is a change only when it
//! is all the task does (no packages, no `upgrade`); otherwise the task changed
//! only when apt installed, removed or upgraded something. Packages that need
//! nothing by the current cache make a [`Decision::Refresh`]: the run updates
//! the cache and then lets apt-get decide on the refreshed one (`latest`,
//! `upgrade`), counting a change from its `0 upgraded, 0 newly installed, 0 to
//! remove` summary as Ansible does; check mode judges by the current cache and
//! reports ok, as Ansible's does.
//!
//! apt-get's options follow Ansible's arguments: `dpkg_options` (default
//! `force-confdef,force-confold`, each becomes `-o Dpkg::Options::=--OPT`),
//! `lock_timeout` (60 s, `-o DPkg::Lock::Timeout=`), `force` (the four
//! `--allow-*` flags Ansible uses instead of the deprecated `--force-yes`),
//! `allow_unauthenticated`, `allow_downgrade`, `allow_change_held_packages`,
//! `fail_on_autoremove` (`--no-remove`), `only_upgrade` (packages that are not
//! installed are left alone, `--only-upgrade`), `policy_rc_d` (a temporary
//! `/usr/sbin/policy-rc.d` exiting with that code while apt runs; an existing
//! one is put back), `update_cache_retries`/`update_cache_retry_max_delay`
//! (5 tries, waits 1, 2, 4… s capped at 12), `clean` (a change when package
//! files are in /var/cache/apt/archives) and `autoclean` (a change when
//! `apt-get -s autoclean` would delete something).
//!
//! Not supported: `deb:` files, `name` globs, virtual packages (a name only
//! provided by others is reported as not available), `build-dep`.

use std::collections::HashMap;

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read, Times};
use super::sysargs::{sections, sep_line};
use super::typed::{choice, module_args, ArgValue};
use super::{Action, Decision, Diff, OutputMode, PlanCx, PlanError};

choice! {
    /// What `state` asks of the named packages (`installed` is `present`,
    /// `removed` is `absent`).
    pub enum State {
        Present = "present",
        Installed = "installed",
        Absent = "absent",
        Removed = "removed",
        Latest = "latest",
        /// The packages' build dependencies (`apt-get build-dep`), as
        /// ansible-core's: installed when apt-get would install any.
        BuildDep = "build-dep",
    }
}

choice! {
    /// `upgrade`: none, apt-get's `upgrade --with-new-pkgs` (`yes`, `safe`)
    /// or `dist-upgrade` (`full`, `dist`).
    pub enum Upgrade {
        No = "no",
        Yes = "yes",
        Safe = "safe",
        Full = "full",
        Dist = "dist",
    }
}

/// `-o DPkg::Lock::Timeout` default, as Ansible's `lock_timeout`.
const LOCK_TIMEOUT: u64 = 60;

module_args! {
    /// `apt`'s arguments, with Ansible's aliases.
    pub struct Args {
        /// Packages, each a name with an optional `=VERSION` (`*` ending a
        /// version prefix) or `:ARCH`.
        name: Vec<String> ["name", "pkg", "package"] = Vec::new(),
        state: State ["state"] = State::Present,
        update_cache: bool ["update_cache", "update-cache"] = false,
        /// Seconds the package lists stay fresh; any value asks for an update.
        cache_valid_time: u64 ["cache_valid_time"] = 0,
        /// A boolean or one of [`Upgrade`]'s words, read by [`Args::upgrade`].
        upgrade: Option<Json> ["upgrade"],
        /// Left out: apt's own configuration decides.
        install_recommends: Option<bool> ["install_recommends", "install-recommends"],
        autoremove: bool ["autoremove"] = false,
        purge: bool ["purge"] = false,
        default_release: Option<String> ["default_release", "default-release"],
        force: bool ["force"] = false,
        lock_timeout: u64 ["lock_timeout"] = LOCK_TIMEOUT,
        /// Comma-separated dpkg options, read by [`apt_get`].
        dpkg_options: Option<Json> ["dpkg_options"],
        only_upgrade: bool ["only_upgrade"] = false,
        allow_downgrade: bool ["allow_downgrade"] = false,
        allow_unauthenticated: bool ["allow_unauthenticated"] = false,
        allow_change_held_packages: bool ["allow_change_held_packages"] = false,
        autoclean: bool ["autoclean"] = false,
        clean: bool ["clean"] = false,
        /// The exit code of a temporary policy-rc.d while apt runs.
        policy_rc_d: Option<u64> ["policy_rc_d"],
        fail_on_autoremove: bool ["fail_on_autoremove"] = false,
        update_cache_retries: u64 ["update_cache_retries"] = 5,
        update_cache_retry_max_delay: u64 ["update_cache_retry_max_delay"] = 12,
        /// Taken and without effect: rprov always runs apt-get.
        _force_apt_get: bool ["force_apt_get"] = false,
        /// A .deb file on the host, installed with its dependencies.
        deb: Option<String> ["deb"],
    }
}

impl Args {
    /// `upgrade` as a word: a YAML boolean is `yes` or `no`.
    fn upgrade(&self, module: &str) -> Result<Upgrade, PlanError> {
        match &self.upgrade {
            None => Ok(Upgrade::No),
            Some(Json::Bool(b)) => Ok(if *b { Upgrade::Yes } else { Upgrade::No }),
            Some(v) => Upgrade::from_json(v)
                .map_err(|why| PlanError::Fail(format!("`{module}`: `upgrade` {why}"))),
        }
    }
}

module_args! {
    /// `package`'s arguments: the generic package module, carried out by
    /// apt with [`PackageArgs::apt`].
    pub struct PackageArgs {
        /// `name` and `state` head `package`'s own table (`rprov modules`);
        /// apt reads them, with the rest (see [`PackageArgs::apt`]).
        #[allow(dead_code)]
        name: Vec<String> ["name"] = Vec::new(),
        #[allow(dead_code)]
        state: Option<String> ["state"],
        /// The package manager Ansible should use: only apt (or `auto`).
        manager: Option<String> ["use"],
    }
}

impl PackageArgs {
    /// The `apt` task a `package` task is: its arguments but `use`, as
    /// ansible-core's `package` action hands them to apt on Debian (so
    /// `update_cache` and the rest of apt's are taken), failing for another
    /// package manager or an argument apt does not take (in `package`'s
    /// name).
    fn apt(cx: &PlanCx) -> Result<Args, PlanError> {
        let own = Self::parse_named("package", cx.args)?;
        if let Some(u) = own.manager.filter(|u| u != "auto" && u != "apt") {
            return Err(PlanError::Fail(format!(
                "package: `use: {u}` is not supported; rprov manages packages with apt"
            )));
        }
        let mut apt = cx.args.clone();
        apt.remove("use");
        Args::parse("package", &apt)
    }
}

/// What dpkg says about one package: its status words and version.
#[derive(Debug, Default, Clone)]
struct Pkg {
    installed: Option<String>,
    config_only: bool,
}

fn parse_dpkg(out: &str) -> HashMap<String, Pkg> {
    let mut m = HashMap::new();
    for l in out.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() < 3 {
            continue;
        }
        let status = f[1];
        let p = Pkg {
            installed: (status.ends_with(" installed")).then(|| f[2].to_string()),
            config_only: status.ends_with(" config-files"),
        };
        m.insert(f[0].to_string(), p);
    }
    m
}

/// `apt-cache policy` blocks: package → (installed, candidate).
fn parse_policy(out: &str) -> HashMap<String, (Option<String>, Option<String>)> {
    let mut m = HashMap::new();
    let mut cur: Option<String> = None;
    for l in out.lines() {
        if !l.starts_with(' ') && l.ends_with(':') {
            let name = l.trim_end_matches(':');
            let base = name.split(':').next().unwrap_or(name).to_string();
            m.insert(base.clone(), (None, None));
            cur = Some(base);
            continue;
        }
        let Some(c) = &cur else { continue };
        let t = l.trim();
        let val = |s: &str| (s != "(none)").then(|| s.to_string());
        if let Some(v) = t.strip_prefix("Installed: ") {
            if let Some(e) = m.get_mut(c) {
                e.0 = val(v);
            }
        } else if let Some(v) = t.strip_prefix("Candidate: ") {
            if let Some(e) = m.get_mut(c) {
                e.1 = val(v);
            }
        }
    }
    m
}

/// `curl=8.5*` → (`curl`, `Some("8.5*")`); `libc6:amd64` keeps its arch for apt
/// but is looked up as `libc6`.
fn split_spec(spec: &str) -> (String, Option<String>) {
    match spec.split_once('=') {
        Some((n, v)) => (n.to_string(), Some(v.to_string())),
        None => (spec.to_string(), None),
    }
}

fn version_matches(want: &str, have: &str) -> bool {
    match want.strip_suffix('*') {
        Some(prefix) => have.starts_with(prefix),
        None => want == have,
    }
}

/// How the task's apt-get commands run: options from the task's arguments.
#[derive(Debug)]
struct AptGet {
    /// Options for every apt-get call that changes packages (`-y -q …`).
    opts: Vec<String>,
    /// More options for `install` only (`--only-upgrade`, `--no-remove`).
    install: Vec<String>,
    /// What runs before the first apt-get call (a temporary policy-rc.d).
    setup: Option<Change>,
    /// `apt-get update`, with its retries.
    update: Change,
}

fn apt_get(m: &str, args: &Args) -> Result<AptGet, PlanError> {
    let mut opts: Vec<String> = vec!["-y".into(), "-q".into()];
    let dpkg = match &args.dpkg_options {
        None | Some(Json::Null) => "force-confdef,force-confold".to_string(),
        Some(v) => String::from_json(v)
            .map_err(|why| PlanError::Fail(format!("`{m}`: `dpkg_options` {why}")))?,
    };
    for o in dpkg.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let o = o.trim_start_matches('-');
        if o.is_empty()
            || !o
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-=_./".contains(c))
        {
            return Err(PlanError::Fail(format!(
                "{m}: `dpkg_options` is a comma-separated list of dpkg options such as force-confdef,force-confold; `{o}` is not one"
            )));
        }
        opts.extend(["-o".into(), format!("Dpkg::Options::=--{o}")]);
    }
    let lock_opt = [
        "-o".to_string(),
        format!("DPkg::Lock::Timeout={}", args.lock_timeout),
    ];
    opts.extend(lock_opt.iter().cloned());
    match args.install_recommends {
        Some(false) => opts.push("--no-install-recommends".into()),
        Some(true) => opts.push("--install-recommends".into()),
        None => {}
    }
    if let Some(r) = &args.default_release {
        opts.extend(["-t".into(), r.clone()]);
    }
    // Ansible's `force` is these four (apt-get's `--force-yes` is deprecated).
    for (asked, flag) in [
        (args.allow_unauthenticated, "--allow-unauthenticated"),
        (args.allow_downgrade, "--allow-downgrades"),
        (false, "--allow-remove-essential"),
        (
            args.allow_change_held_packages,
            "--allow-change-held-packages",
        ),
    ] {
        if args.force || asked {
            opts.push(flag.into());
        }
    }
    let mut install = Vec::new();
    if args.only_upgrade {
        install.push("--only-upgrade".to_string());
    }
    if args.fail_on_autoremove {
        install.push("--no-remove".to_string());
    }
    let setup = match args.policy_rc_d {
        None => None,
        Some(code) if code > 255 => {
            return Err(PlanError::Fail(format!(
                "{m}: `policy_rc_d` is an exit code (0-255), got {code}"
            )))
        }
        // invoke-rc.d asks /usr/sbin/policy-rc.d whether maintainer scripts may
        // start services; the task's own one is there only while apt runs.
        Some(code) => Some(Change::Raw {
            script: format!(
                "_rp_prc=/usr/sbin/policy-rc.d\n\
                 if [ -e \"$_rp_prc\" ] || [ -L \"$_rp_prc\" ]; then mv -f \"$_rp_prc\" \"$_rp_prc.rprov-saved\"; fi\n\
                 trap 'rm -f \"$_rp_prc\"; if [ -e \"$_rp_prc.rprov-saved\" ] || [ -L \"$_rp_prc.rprov-saved\" ]; then mv -f \"$_rp_prc.rprov-saved\" \"$_rp_prc\"; fi' EXIT\n\
                 printf '#!/bin/sh\\nexit {code}\\n' > \"$_rp_prc\" && chmod 0755 \"$_rp_prc\"\n"
            ),
            why: "the task's own policy-rc.d exists only while apt runs: an EXIT trap puts \
                  back the one that was there, whatever happens",
        }),
    };
    let retries = args.update_cache_retries;
    let max_delay = args.update_cache_retry_max_delay;
    let mut update_argv: Vec<String> = vec!["apt-get".into(), "update".into(), "-q".into()];
    update_argv.extend(lock_opt);
    let update = update_change(update_argv, retries, max_delay);
    Ok(AptGet {
        opts,
        install,
        setup,
        update,
    })
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let m = cx.module;
    let args = if m == "package" {
        PackageArgs::apt(cx)?
    } else {
        Args::from_cx(cx)?
    };
    let state = match args.state {
        State::Installed => State::Present,
        State::Removed => State::Absent,
        s => s,
    };
    let valid_time = args.cache_valid_time;
    // As Ansible (since 2.4): a `cache_valid_time` asks for an update too.
    let update_cache = args.update_cache || valid_time > 0;
    let upgrade = args.upgrade(m)?;
    let (purge, autoremove, only_upgrade, clean, autoclean) = (
        args.purge,
        args.autoremove,
        args.only_upgrade,
        args.clean,
        args.autoclean,
    );
    let apt = apt_get(m, &args)?;
    if let Some(deb) = &args.deb {
        return plan_deb(cx, &args, deb, apt, state, update_cache, upgrade);
    }
    let names = args.name;
    for n in &names {
        if split_spec(n).0.contains(['*', '?', '[']) || n.ends_with(".deb") || n.starts_with('-') {
            return Err(PlanError::Fail(format!(
                "{m}: `{n}`: package globs, .deb files and options are not supported"
            )));
        }
    }
    if names.is_empty()
        && !update_cache
        && upgrade == Upgrade::No
        && !autoremove
        && !clean
        && !autoclean
    {
        return Err(PlanError::Fail(format!(
            "{m}: one of name, update_cache, upgrade, autoremove, clean or autoclean is required"
        )));
    }

    let bases: Vec<String> = names.iter().map(|n| split_spec(n).0).collect();
    let qnames = bases.iter().map(|n| quote(n)).collect::<Vec<_>>().join(" ");
    // One read, in parts split by `sections`: apt-get present; dpkg's view;
    // candidates; the cache's age; upgrade, autoremove and autoclean
    // simulations; package files to clean. A part not asked for is empty.
    let only = |asked: bool, text: String| if asked { text } else { String::new() };
    let policy_part = if state == State::Latest {
        format!("apt-cache policy -- {qnames} 2>/dev/null\n")
    } else {
        // `apt-cache policy` is slow (seconds on a small host): ask it only
        // about packages dpkg does not have installed, to tell "not
        // installed" from "no such package".
        format!(
            "_rp_need=''\n\
             for _rp_p in {qnames}; do case \"\n$_rp_dpkg\" in *\"\n$_rp_p\tinstall ok installed\"*) ;; *) _rp_need=\"$_rp_need $_rp_p\" ;; esac; done\n\
             [ -z \"$_rp_need\" ] || apt-cache policy -- $_rp_need 2>/dev/null\n"
        )
    };
    let upgrade_cmd = match upgrade {
        Upgrade::Dist | Upgrade::Full => Some("dist-upgrade"),
        Upgrade::Yes | Upgrade::Safe => Some("upgrade --with-new-pkgs"),
        Upgrade::No => None,
    };
    let parts = [
        "command -v apt-get >/dev/null || echo NOAPT\n".to_string(),
        only(
            !names.is_empty(),
            format!(
                "_rp_dpkg=$(dpkg-query -W -f='${{Package}}\\t${{Status}}\\t${{Version}}\\n' -- {qnames} 2>/dev/null)\n\
                 printf '%s\\n' \"$_rp_dpkg\"\n"
            ),
        ),
        only(!names.is_empty(), policy_part),
        only(
            update_cache,
            "echo \"$(date +%s) $(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || echo 0) $(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0)\"\n".into(),
        ),
        upgrade_cmd
            .map(|u| format!("apt-get -s -q {u} 2>/dev/null | grep '^Inst ' || true\n"))
            .unwrap_or_default(),
        only(
            autoremove,
            "apt-get -s -q autoremove 2>/dev/null | grep '^Remv ' || true\n".into(),
        ),
        only(
            clean,
            "find /var/cache/apt/archives -maxdepth 2 -type f -name '*.deb' 2>/dev/null | wc -l\n"
                .into(),
        ),
        only(
            autoclean,
            "apt-get -s -q autoclean 2>/dev/null | grep '^Del [^/]' || true\n".into(),
        ),
        // What `build-dep` would install (a simulation); its error (no
        // `deb-src` line, no such source package) when it cannot say.
        only(
            state == State::BuildDep,
            format!(
                "if _rp_bd=$(apt-get -s -q build-dep -- {qnames} 2>&1); then printf '%s\\n' \"$_rp_bd\" | grep '^Inst ' || true; \
                 else echo BUILDDEP_FAILED; printf '%s\\n' \"$_rp_bd\" | grep '^E:' | tail -3; fi\n"
            ),
        ),
    ];
    let out = cx.ask_one(Read::Raw {
        script: parts.join(&format!("{}\n", sep_line())),
        why: "dpkg's view is kept in a shell variable so that apt-cache, which is slow, \
              is asked only about packages dpkg has not installed",
    })?;
    let s = sections(&out, 9);
    if s[0].contains("NOAPT") {
        return Err(PlanError::Fail(format!(
            "{m}: apt-get not found: rprov manages packages with apt (Debian family) only"
        )));
    }
    let dpkg = parse_dpkg(&s[1]);
    let policy = parse_policy(&s[2]);

    let mut attrs = Vec::new();
    let mut changes = vec![Change::Export {
        name: "DEBIAN_FRONTEND".into(),
        value: "noninteractive".into(),
    }];
    changes.extend(apt.setup);
    let mut cache_updated = false;
    // The cache update is kept apart from `attrs`: alone it is a change only
    // when it is the task's only action (see the end of this function).
    let mut cache_attr = None;
    if update_cache {
        let t: Vec<u64> = s[3]
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let (now, stamp) = match t.as_slice() {
            [now, a, b] => (*now, (*a).max(*b)),
            _ => (0, 0),
        };
        let age = now.saturating_sub(stamp);
        if valid_time == 0 || age > valid_time {
            cache_updated = true;
            cache_attr = Some(if valid_time == 0 {
                "cache: update".to_string()
            } else {
                format!("cache: update (last updated {age}s ago, valid for {valid_time}s)")
            });
            changes.push(apt.update);
            changes.push(Change::MakeParents {
                path: "/var/lib/apt/periodic".into(),
            });
            changes.push(Change::Touch {
                path: "/var/lib/apt/periodic/update-success-stamp".into(),
                times: Times::Both,
            });
        }
    }

    let (mut install, mut remove, mut upgrades) = (Vec::new(), Vec::new(), Vec::new());
    let mut versions = Vec::new();
    // `state: latest` packages at the old cache's candidate: whether the
    // refreshed cache offers a newer one is known only after the update.
    let mut latest_after_update = Vec::new();
    for (spec, base) in names.iter().zip(&bases) {
        let (_, version) = split_spec(spec);
        let lookup = base.split(':').next().unwrap_or(base);
        let p = dpkg.get(lookup).cloned().unwrap_or_default();
        let (_, candidate) = policy.get(lookup).cloned().unwrap_or((None, None));
        match state {
            // Not the packages themselves (see below).
            State::BuildDep => {}
            State::Absent => {
                if p.installed.is_some() || (purge && p.config_only) {
                    remove.push(base.clone());
                }
            }
            // Only what is installed is upgraded; the rest is left alone.
            _ if only_upgrade && p.installed.is_none() => {}
            _ => {
                let ok = match (&p.installed, &version) {
                    (None, _) => false,
                    (Some(have), Some(want)) => version_matches(want, have),
                    (Some(_), None) => true,
                };
                if !ok {
                    if candidate.is_none() && version.is_none() && !cache_updated {
                        return Err(PlanError::Fail(format!(
                            "{m}: No package matching '{base}' is available"
                        )));
                    }
                    if let (Some(have), Some(want)) = (&p.installed, &version) {
                        versions.push(format!("{base} ({have} → {want})"));
                    }
                    install.push(spec.clone());
                } else if state == State::Latest {
                    match (&p.installed, &candidate) {
                        (Some(have), Some(c)) if have != c => {
                            upgrades.push(format!("{base} ({have} → {c})"));
                            install.push(base.clone());
                        }
                        // What the refreshed cache will offer is known only then.
                        (Some(_), _) if cache_updated => latest_after_update.push(base.clone()),
                        _ => {}
                    }
                }
            }
        }
    }
    // `apt-get VERB OPTS… [EXTRA…] [-- PACKAGES…]`.
    let apt_get = |verb: &str, extra: &[String], packages: &[String]| {
        let mut argv: Vec<String> = vec!["apt-get".into(), verb.into()];
        argv.extend(apt.opts.iter().cloned());
        argv.extend(extra.iter().cloned());
        if !packages.is_empty() {
            argv.push("--".into());
            argv.extend(packages.iter().cloned());
        }
        argv
    };
    // What runs after the cache update and counts as a change only when
    // apt-get says it did something (see `counted`).
    let mut after_update = Vec::new();
    if install.is_empty() && !latest_after_update.is_empty() {
        after_update.push(counted(&apt_get(
            "install",
            &apt.install,
            &latest_after_update,
        )));
    }
    if !install.is_empty() {
        let listed = |n: &String, list: &[String]| {
            list.iter()
                .any(|u| u.starts_with(&format!("{} ", split_spec(n).0)))
        };
        let new: Vec<&str> = install
            .iter()
            .filter(|n| !listed(n, &upgrades) && !listed(n, &versions))
            .map(|s| s.as_str())
            .collect();
        if !new.is_empty() {
            attrs.push(format!("install: {}", new.join(", ")));
        }
        if !versions.is_empty() {
            attrs.push(format!("version: {}", versions.join(", ")));
        }
        if !upgrades.is_empty() {
            attrs.push(format!("upgrade: {}", upgrades.join(", ")));
        }
        // After a cache update the same transaction takes whatever newer
        // version the refreshed cache offers for the `latest` ones.
        install.extend(latest_after_update.iter().cloned());
        changes.push(Change::Run {
            argv: apt_get("install", &apt.install, &install),
        });
    }
    if state == State::BuildDep {
        if let Some(why) = s[8].strip_prefix("BUILDDEP_FAILED") {
            return Err(PlanError::Fail(format!(
                "{m}: apt-get build-dep failed: {}",
                why.trim()
            )));
        }
        let deps: Vec<&str> = s[8]
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        if !deps.is_empty() {
            attrs.push(format!("build-dep: {}", deps.join(", ")));
            changes.push(Change::Run {
                argv: apt_get("build-dep", &[], &bases),
            });
        }
    }
    if !remove.is_empty() {
        attrs.push(format!(
            "{}: {}",
            if purge { "purge" } else { "remove" },
            remove.join(", ")
        ));
        let extra: Vec<String> = if autoremove {
            vec!["--autoremove".into()]
        } else {
            Vec::new()
        };
        changes.push(Change::Run {
            argv: apt_get(if purge { "purge" } else { "remove" }, &extra, &remove),
        });
    }
    if let Some(u) = upgrade_cmd {
        let pkgs: Vec<&str> = s[4]
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        if !pkgs.is_empty() {
            attrs.push(format!("{u}: {}", pkgs.join(", ")));
            changes.push(Change::Run {
                argv: apt_get(u, &[], &[]),
            });
        } else if cache_updated {
            // Nothing to upgrade by the old cache; the refreshed one decides.
            after_update.push(counted(&apt_get(u, &[], &[])));
        }
    }
    if autoremove && remove.is_empty() {
        let pkgs: Vec<&str> = s[5]
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        if !pkgs.is_empty() {
            attrs.push(format!("autoremove: {}", pkgs.join(", ")));
            changes.push(Change::Run {
                argv: apt_get("autoremove", &[], &[]),
            });
        }
    }
    if clean {
        let n: u64 = s[6].trim().parse().unwrap_or(0);
        if n > 0 {
            attrs.push(format!(
                "clean: {n} package file{} in /var/cache/apt/archives",
                if n == 1 { "" } else { "s" }
            ));
            changes.push(Change::Run {
                argv: vec!["apt-get".into(), "clean".into()],
            });
        }
    }
    if autoclean {
        let pkgs: Vec<&str> = s[7]
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        if !pkgs.is_empty() {
            attrs.push(format!("autoclean: {}", pkgs.join(", ")));
            changes.push(Change::Run {
                argv: vec!["apt-get".into(), "autoclean".into(), "-q".into()],
            });
        }
    }

    let mut result = Map::new();
    result.insert("cache_updated".into(), json!(cache_updated));
    let action = |changes: Vec<Change>, output: OutputMode, result: Map<_, _>| {
        Ok::<_, PlanError>(Action {
            output,
            // A package may write anywhere (config files, units, users).
            touches_everything: true,
            ..change::checked(changes, result)?
        })
    };
    // As Ansible: a cache update is a change when it is all the task does
    // (no packages, no upgrade). With packages or `upgrade` the task changed
    // only when apt installed, removed or upgraded something.
    let only_the_cache = names.is_empty() && upgrade_cmd.is_none();
    match cache_attr {
        Some(c) if attrs.is_empty() && !only_the_cache => {
            changes.extend(after_update);
            result.insert("changed".into(), json!(false));
            return Ok(Decision::Refresh {
                msg: Some(format!(
                    "{c}; by the current cache nothing else to do (a run acts on the refreshed one)"
                )),
                action: action(changes, OutputMode::Parse(parse_counted), result.clone())?,
                result,
            });
        }
        Some(c) => attrs.insert(0, c),
        None => {}
    }
    changes.extend(after_update);
    if attrs.is_empty() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: "packages".into(),
            attrs,
            ..Diff::default()
        }],
        action: action(changes, OutputMode::Checked, result)?,
    })
}

/// `apt: deb=FILE`: the .deb file on the host, installed with what it
/// depends on (`apt-get install /path/FILE.deb`) unless the same version of
/// its package is installed, as ansible-core compares them. ansible-core
/// installs it with `dpkg -i` after its missing dependencies; one apt-get
/// transaction does both.
fn plan_deb(
    cx: &PlanCx,
    args: &Args,
    deb: &str,
    apt: AptGet,
    state: State,
    update_cache: bool,
    upgrade: Upgrade,
) -> Result<Decision, PlanError> {
    let m = cx.module;
    // ansible-core's words for each.
    if !args.name.is_empty() || upgrade != Upgrade::No {
        return Err(PlanError::Fail(format!(
            "{m}: parameters are mutually exclusive: deb|package|upgrade"
        )));
    }
    if state != State::Present {
        return Err(PlanError::Fail(format!(
            "{m}: deb only supports state=present"
        )));
    }
    if deb.contains("://") {
        return Err(PlanError::Fail(format!(
            "{m}: `deb` is a file on the host here; rprov does not download it: fetch `{deb}` with get_url first"
        )));
    }
    if update_cache {
        return Err(PlanError::Fail(format!(
            "{m}: `update_cache` with `deb` is not supported: update the cache in a task of its own"
        )));
    }
    // apt-get takes a file only as a path (`./x.deb`, not `x.deb`).
    let path = if deb.starts_with('/') || deb.starts_with("./") || deb.starts_with("../") {
        deb.to_string()
    } else {
        format!("./{deb}")
    };
    let q = quote(&path);
    let out = cx.ask_one(Read::Raw {
        script: format!(
            "command -v apt-get >/dev/null || echo NOAPT\n\
             [ -r {q} ] || echo NOFILE\n\
             _rp_p=$(dpkg-deb -f {q} Package 2>/dev/null) && _rp_v=$(dpkg-deb -f {q} Version 2>/dev/null) || echo NOTADEB\n\
             printf '%s\\t%s\\n' \"$_rp_p\" \"$_rp_v\"\n\
             _rp_h=$(dpkg-query -W -f='${{Status}}\\t${{Version}}' -- \"$_rp_p\" 2>/dev/null | sed -n 's/^install ok installed\\t//p')\n\
             printf '%s\\n' \"$_rp_h\"\n\
             [ -n \"$_rp_h\" ] && dpkg --compare-versions \"$_rp_h\" eq \"$_rp_v\" && echo SAME\n"
        ),
        why: "the package and version come from the file itself, compared with dpkg's own version order",
    })?;
    let lines: Vec<&str> = out.lines().collect();
    if lines.contains(&"NOAPT") {
        return Err(PlanError::Fail(format!(
            "{m}: apt-get not found: rprov manages packages with apt (Debian family) only"
        )));
    }
    if lines.contains(&"NOFILE") {
        return Err(PlanError::Fail(format!(
            "{m}: Unable to install package: {deb} does not exist or cannot be read on the host"
        )));
    }
    if lines.contains(&"NOTADEB") {
        return Err(PlanError::Fail(format!(
            "{m}: Unable to install package: {deb} is not a Debian package (dpkg-deb cannot read it)"
        )));
    }
    let mut rest = lines.iter();
    let (package, version) = rest
        .next()
        .and_then(|l| l.split_once('\t'))
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .unwrap_or_default();
    let installed = rest
        .next()
        .map(|l| l.trim())
        .unwrap_or_default()
        .to_string();
    let mut result = Map::new();
    if lines.contains(&"SAME") {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    let attr = if installed.is_empty() {
        format!("install: {package} {version} (from {deb})")
    } else {
        format!("version: {package} ({installed} → {version}) from {deb}")
    };
    let mut changes = vec![Change::Export {
        name: "DEBIAN_FRONTEND".into(),
        value: "noninteractive".into(),
    }];
    changes.extend(apt.setup);
    let mut argv: Vec<String> = vec!["apt-get".into(), "install".into()];
    argv.extend(apt.opts);
    argv.extend(apt.install);
    argv.extend(["--".into(), path]);
    changes.push(Change::Run { argv });
    result.insert("changed".into(), json!(true));
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: "packages".into(),
            attrs: vec![attr],
            ..Diff::default()
        }],
        action: Action {
            output: OutputMode::Checked,
            touches_everything: true,
            ..change::checked(changes, result)?
        },
    })
}

/// The line a [`counted`] command prints when apt-get did something.
const COUNTED_CHANGE: &str = "rprov-apt: changed";

/// `cmd` (an apt-get call that may have nothing to do) as shell lines that
/// print its output and then [`COUNTED_CHANGE`] unless apt-get's summary says
/// `0 upgraded, 0 newly installed, 0 to remove`: Ansible's own test
/// (`APT_GET_ZERO`) of whether an upgrade did anything. The summary is read
/// in the C locale; a failing apt-get fails the script (`set -e`).
fn counted(argv: &[String]) -> Change {
    let cmd = change::words(argv);
    let script = format!(
        "_rp_out=$(LC_ALL=C {cmd})
         printf '%s\n' \"$_rp_out\"
         case \"$_rp_out\" in *\"
0 upgraded, 0 newly installed, 0 to remove\"*) ;; *) echo '{COUNTED_CHANGE}' ;; esac
"
    );
    Change::Raw {
        script,
        why: "whether apt-get did anything is read from its own summary, as Ansible does",
    }
}

/// The result of a [`Decision::Refresh`] action: changed when a [`counted`]
/// command did something, failed (with apt's stderr) when the script did.
fn parse_counted(status: i32, stdout: &str, stderr: &str) -> Map<String, serde_json::Value> {
    let mut r = Map::new();
    if status != 0 {
        r.insert("failed".into(), json!(true));
        let err = stderr.trim();
        r.insert(
            "msg".into(),
            json!(if err.is_empty() {
                format!("apt-get failed with exit status {status}")
            } else {
                err.to_string()
            }),
        );
        return r;
    }
    r.insert(
        "changed".into(),
        json!(stdout.lines().any(|l| l == COUNTED_CHANGE)),
    );
    let apt_out: Vec<&str> = stdout.lines().filter(|l| *l != COUNTED_CHANGE).collect();
    r.insert("stdout".into(), json!(apt_out.join("\n")));
    r
}

/// `apt-get update` (`argv`), tried `retries` times with a doubling wait of
/// at most `max_delay` seconds, as Ansible's `update_cache_retries`
/// (`apt` and `apt_repository`).
pub(super) fn update_change(argv: Vec<String>, retries: u64, max_delay: u64) -> Change {
    let retries = retries.max(1);
    if retries == 1 {
        return Change::Run { argv };
    }
    Change::Raw {
        why: "apt-get update retried with a doubling wait, as Ansible's `update_cache_retries`",
        script: format!(
            "_rp_try=1; _rp_wait=1\n\
             until {update}; do\n\
             \x20 if [ \"$_rp_try\" -ge {retries} ]; then echo \"apt-get update failed {retries} times\" >&2; exit 1; fi\n\
             \x20 sleep \"$_rp_wait\"; _rp_try=$((_rp_try + 1)); _rp_wait=$((_rp_wait * 2)); [ \"$_rp_wait\" -le {max_delay} ] || _rp_wait={max_delay}\n\
             done\n",
            update = change::words(&argv)
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::change::{Change, Times};
    use super::super::sysargs::SEP;
    use super::super::testing::{self, fail_msg};
    use super::super::Decision;
    use crate::probe::{Fact, Probe};

    /// Answers the snippet with dpkg lines, policy text, cache times, simulation.
    fn run(
        args: serde_json::Value,
        dpkg: &str,
        policy: &str,
        times: &str,
        sim: &str,
    ) -> Result<Decision, super::PlanError> {
        run_module("apt", args, dpkg, policy, times, sim)
    }

    /// [`run`] for `module` (`apt`, or `package`, which is apt).
    fn run_module(
        module: &str,
        args: serde_json::Value,
        dpkg: &str,
        policy: &str,
        times: &str,
        sim: &str,
    ) -> Result<Decision, super::PlanError> {
        let out = format!("{SEP}\n{dpkg}\n{SEP}\n{policy}\n{SEP}\n{times}\n{SEP}\n{sim}\n");
        testing::run(module, args, move |p| match p {
            Probe::Shell { script }
                if script.contains("dpkg-query") || script.contains("apt-get") =>
            {
                Some(Fact::Text(out.clone()))
            }
            _ => None,
        })
    }

    const CURL: &str = "curl\tinstall ok installed\t8.5.0-2";
    const POLICY: &str = "curl:\n  Installed: 8.5.0-2\n  Candidate: 8.6.0-1\n  Version table:\njq:\n  Installed: (none)\n  Candidate: 1.7-1\nnope:\n  Installed: (none)\n  Candidate: (none)\n";

    fn attrs(d: &Decision) -> Vec<String> {
        match d {
            Decision::Change { diffs, .. } => diffs[0].attrs.clone(),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    /// Answers the `deb` read with `out`.
    fn deb(args: serde_json::Value, out: &str) -> Result<Decision, super::PlanError> {
        let out = out.to_string();
        testing::run("apt", args, move |p| match p {
            Probe::Shell { script } if script.contains("dpkg-deb -f") => {
                Some(Fact::Text(out.clone()))
            }
            _ => None,
        })
    }

    #[test]
    fn a_deb_file_is_installed_unless_its_version_is() {
        let d = deb(json!({"deb": "/tmp/app_1.0_all.deb"}), "app\t1.0\n\n").unwrap();
        assert_eq!(
            attrs(&d),
            vec!["install: app 1.0 (from /tmp/app_1.0_all.deb)"]
        );
        assert!(testing::script(&d).contains("Lock::Timeout=60 -- /tmp/app_1.0_all.deb\n"));
        let d = deb(json!({"deb": "app.deb"}), "app\t2.0\n1.0\n").unwrap();
        assert_eq!(attrs(&d), vec!["version: app (1.0 → 2.0) from app.deb"]);
        assert!(testing::script(&d).contains("-- ./app.deb\n"));
        let d = deb(json!({"deb": "/tmp/app.deb"}), "app\t1.0\n1:1.0\nSAME\n").unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        for (args, out, msg) in [
            (
                json!({"deb": "/x.deb"}),
                "NOFILE\n",
                "/x.deb does not exist",
            ),
            (
                json!({"deb": "/x.deb"}),
                "NOTADEB\n",
                "is not a Debian package",
            ),
            (
                json!({"deb": "/x.deb", "name": "y"}),
                "",
                "mutually exclusive: deb|package|upgrade",
            ),
            (
                json!({"deb": "/x.deb", "state": "absent"}),
                "",
                "deb only supports state=present",
            ),
            (
                json!({"deb": "https://e.org/x.deb"}),
                "",
                "fetch `https://e.org/x.deb` with get_url first",
            ),
        ] {
            let e = fail_msg(deb(args.clone(), out));
            assert!(e.contains(msg), "{args}: {e}");
        }
    }

    #[test]
    fn installs_missing_packages_by_name() {
        let d = run(json!({"name": ["curl", "jq"]}), CURL, POLICY, "", "").unwrap();
        assert_eq!(attrs(&d), vec!["install: jq"]);
        assert!(testing::script(&d).contains("apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=60 -- jq\n"));
        let d = run(
            json!({"name": "curl,jq", "install_recommends": false}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert!(testing::script(&d).contains("--no-install-recommends -- jq"));
    }

    /// `package` is apt with its arguments but `use`, apt's own included
    /// (`update_cache`, as roles written for Debian pass it), as
    /// ansible-core's `package` action hands them over; another manager
    /// and an argument apt does not take are refused.
    #[test]
    fn package_hands_its_arguments_to_apt() {
        let package = |args| run_module("package", args, CURL, POLICY, "", "");
        let d =
            package(json!({"name": "jq", "update_cache": true, "use": "auto"})).expect("planned");
        let script = testing::script(&d);
        assert!(script.contains("apt-get update"), "{script}");
        assert!(script.contains("-- jq"), "{script}");
        let e = fail_msg(package(json!({"name": "jq", "use": "dnf"})));
        assert!(e.contains("`use: dnf` is not supported"), "{e}");
        let e = fail_msg(package(json!({"name": "jq", "enablerepo": "epel"})));
        assert!(e.contains("enablerepo"), "{e}");
        let spec = crate::modules::spec("package").expect("package");
        assert!(spec.arg("update_cache").is_some() && spec.arg("use").is_some());
        assert!(spec.arg("enablerepo").is_none());
    }

    #[test]
    fn present_and_latest() {
        let d = run(json!({"name": "curl"}), CURL, POLICY, "", "").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run(
            json!({"name": "curl", "state": "latest"}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["upgrade: curl (8.5.0-2 → 8.6.0-1)"]);
        let d = run(json!({"name": "curl=8.5*"}), CURL, POLICY, "", "").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn absent() {
        let d = run(
            json!({"name": "curl", "state": "absent", "purge": true}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["purge: curl"]);
        let d = run(
            json!({"name": "jq", "state": "absent"}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        let d = run(
            json!({"name": "jq", "state": "absent", "purge": true}),
            "jq\tdeinstall ok config-files\t1.7-1",
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["purge: jq"]);
    }

    #[test]
    fn update_cache_respects_valid_time() {
        let a = json!({"update_cache": true, "cache_valid_time": 3600});
        let d = run(a.clone(), "", "", "10000 9000 100", "").unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["cache_updated"], json!(false));
        let d = run(a, "", "", "10000 5000 100", "").unwrap();
        assert_eq!(
            attrs(&d),
            vec!["cache: update (last updated 5000s ago, valid for 3600s)"]
        );
        assert!(testing::changes(&d).contains(&Change::Touch {
            path: "/var/lib/apt/periodic/update-success-stamp".into(),
            times: Times::Both
        }));
        let d = run(json!({"update_cache": true}), "", "", "10000 9999 100", "").unwrap();
        assert_eq!(attrs(&d), vec!["cache: update"]);
    }

    /// Issue 11 item 3: with packages, a cache update alone is no change.
    /// `latest` at the old cache's candidate is decided by the refreshed
    /// cache, in the run: apt-get's own summary says whether it upgraded.
    #[test]
    fn latest_with_a_cache_update_in_the_same_task() {
        let same = "curl:\n  Installed: 8.5.0-2\n  Candidate: 8.5.0-2\n";
        let a = json!({"name": "curl", "state": "latest", "update_cache": true});
        let d = run(a.clone(), CURL, same, "10000 100 100", "").unwrap();
        let Decision::Refresh { result, msg, .. } = &d else {
            panic!("expected a refresh, got {d:?}")
        };
        assert_eq!(result["changed"], json!(false));
        assert!(
            msg.as_deref().unwrap_or("").starts_with("cache: update;"),
            "{msg:?}"
        );
        let s = testing::script(&d);
        let update = s.find("apt-get update").unwrap();
        let install = s.find("_rp_out=$(LC_ALL=C apt-get install").unwrap();
        assert!(update < install, "{s}");
        assert!(s.contains("-- curl)\n"), "{s}");
        // A newer candidate in the old cache is a known upgrade.
        let d = run(a, CURL, POLICY, "10000 100 100", "").unwrap();
        assert_eq!(
            attrs(&d),
            vec!["cache: update", "upgrade: curl (8.5.0-2 → 8.6.0-1)"]
        );
    }

    #[test]
    fn present_with_a_cache_update_only_updates() {
        let a = json!({"name": "curl", "update_cache": true});
        let d = run(a, CURL, POLICY, "10000 100 100", "").unwrap();
        let Decision::Refresh { action, .. } = &d else {
            panic!("expected a refresh, got {d:?}")
        };
        assert!(matches!(action.output, super::OutputMode::Parse(_)));
        let s = testing::script(&d);
        assert!(
            s.contains("apt-get update") && !s.contains("apt-get install"),
            "{s}"
        );
        // Something to install: a change, after the update.
        let d = run(
            json!({"name": ["curl", "jq"], "update_cache": true}),
            CURL,
            POLICY,
            "10000 100 100",
            "",
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["cache: update", "install: jq"]);
    }

    #[test]
    fn upgrade_with_a_cache_update_counts_what_apt_did() {
        let d = run(
            json!({"upgrade": "dist", "update_cache": true}),
            "",
            "",
            "10000 100 100",
            "",
        )
        .unwrap();
        assert!(matches!(d, Decision::Refresh { .. }), "{d:?}");
        assert!(testing::script(&d).contains("_rp_out=$(LC_ALL=C apt-get dist-upgrade -y -q"));
    }

    #[test]
    fn cache_valid_time_alone_asks_for_an_update() {
        let d = run(
            json!({"cache_valid_time": 3600}),
            "",
            "",
            "10000 5000 100",
            "",
        )
        .unwrap();
        assert_eq!(
            attrs(&d),
            vec!["cache: update (last updated 5000s ago, valid for 3600s)"]
        );
    }

    /// The `counted` lines run in sh with apt-get's two kinds of summary.
    #[test]
    fn counted_reads_apt_gets_summary() {
        let sh = |summary: &str| {
            let counted = super::counted(&[
                "printf".into(),
                format!("Reading package lists...\\n{summary}\\n"),
            ]);
            let script = super::change::render(&[counted]).unwrap().script;
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            super::parse_counted(0, &String::from_utf8_lossy(&out.stdout), "")
        };
        let r = sh("0 upgraded, 0 newly installed, 0 to remove and 138 not upgraded.");
        assert_eq!(r["changed"], json!(false), "{r:?}");
        let r = sh("1 upgraded, 0 newly installed, 0 to remove and 137 not upgraded.");
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert!(
            !r["stdout"].as_str().unwrap().contains("rprov-apt"),
            "{r:?}"
        );
        let r = super::parse_counted(100, "", "E: Could not get lock\n");
        assert_eq!(r["failed"], json!(true));
        assert_eq!(r["msg"], json!("E: Could not get lock"));
    }

    #[test]
    fn upgrade_lists_packages() {
        let sim = "Inst curl [8.5.0-2] (8.6.0-1 Debian:13/stable [amd64])";
        let d = run(json!({"upgrade": "dist"}), "", "", "", sim).unwrap();
        assert_eq!(attrs(&d), vec!["dist-upgrade: curl"]);
        let d = run(json!({"upgrade": "dist"}), "", "", "", "").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }

    #[test]
    fn errors() {
        let m = fail_msg(run(json!({"name": "nope"}), "", POLICY, "", ""));
        assert!(m.contains("No package matching 'nope' is available"), "{m}");
        let m = fail_msg(run(
            json!({"name": "curl", "state": "fixed"}),
            "",
            "",
            "",
            "",
        ));
        assert!(m.contains("must be one of"), "{m}");
        let m = fail_msg(run(json!({"name": "lib*"}), "", "", "", ""));
        assert!(m.contains("globs"), "{m}");
        let m = fail_msg(run(json!({"upgrade": "sometimes"}), "", "", "", ""));
        assert!(m.contains("must be one of"), "{m}");
    }

    #[test]
    fn apt_get_options_from_arguments() {
        let d = run(
            json!({"name": "jq", "dpkg_options": "force-confnew", "lock_timeout": 5, "force": true}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert!(testing::script(&d).contains(
            "apt-get install -y -q -o Dpkg::Options::=--force-confnew -o DPkg::Lock::Timeout=5 \
             --allow-unauthenticated --allow-downgrades --allow-remove-essential --allow-change-held-packages -- jq\n"
        ));
        let d = run(
            json!({"name": "jq", "allow_downgrade": true, "fail_on_autoremove": true}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        let s = testing::script(&d);
        assert!(s.contains("--allow-downgrades --no-remove -- jq\n"), "{s}");
        assert!(!s.contains("--allow-unauthenticated"), "{s}");
        let m = fail_msg(run(
            json!({"name": "jq", "dpkg_options": "force-confold;rm -rf /"}),
            CURL,
            POLICY,
            "",
            "",
        ));
        assert!(
            m.contains("`dpkg_options` is a comma-separated list"),
            "{m}"
        );
    }

    #[test]
    fn only_upgrade_leaves_missing_packages_alone() {
        let a = json!({"name": ["curl", "jq"], "state": "latest", "only_upgrade": true});
        let d = run(a, CURL, POLICY, "", "").unwrap();
        assert_eq!(attrs(&d), vec!["upgrade: curl (8.5.0-2 → 8.6.0-1)"]);
        assert!(testing::script(&d).contains("--only-upgrade -- curl\n"));
        let d = run(
            json!({"name": "jq", "only_upgrade": true}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn another_version_of_an_installed_package() {
        let d = run(
            json!({"name": "curl=8.4.0-1", "allow_downgrade": true}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["version: curl (8.5.0-2 → 8.4.0-1)"]);
        assert!(testing::script(&d).contains("--allow-downgrades -- curl=8.4.0-1\n"));
    }

    /// The temporary policy-rc.d, run in sh against a scratch directory: the
    /// code is there while apt runs, and an existing file is put back after.
    #[test]
    fn policy_rc_d_is_temporary() {
        let d = run(
            json!({"name": "jq", "policy_rc_d": 101}),
            CURL,
            POLICY,
            "",
            "",
        )
        .unwrap();
        let s = testing::script(&d);
        let setup_end = s.find("apt-get install").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let prc = dir.path().join("policy-rc.d");
        std::fs::write(&prc, "old\n").unwrap();
        let setup = s[..setup_end]
            .replace("/usr/sbin/policy-rc.d", &prc.display().to_string())
            .replace(
                "DEBIAN_FRONTEND=noninteractive; export DEBIAN_FRONTEND\n",
                "",
            );
        let script = format!("{setup}\"$_rp_prc\" start || echo \"during=$?\"\n");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("during=101"),
            "{out:?}"
        );
        assert_eq!(std::fs::read_to_string(&prc).unwrap(), "old\n");
        let m = fail_msg(run(
            json!({"name": "jq", "policy_rc_d": 300}),
            CURL,
            POLICY,
            "",
            "",
        ));
        assert!(m.contains("exit code"), "{m}");
    }

    #[test]
    fn update_retries() {
        let d = run(
            json!({"update_cache": true, "update_cache_retries": 3, "update_cache_retry_max_delay": 2}),
            "",
            "",
            "10000 100 100",
            "",
        )
        .unwrap();
        let s = testing::script(&d);
        assert!(
            s.contains("until apt-get update -q -o DPkg::Lock::Timeout=60; do"),
            "{s}"
        );
        assert!(s.contains("-ge 3 ]") && s.contains("_rp_wait=2"), "{s}");
        let d = run(
            json!({"update_cache": true, "update_cache_retries": 1}),
            "",
            "",
            "10000 100 100",
            "",
        )
        .unwrap();
        assert!(testing::script(&d).contains("\napt-get update -q -o DPkg::Lock::Timeout=60\n"));
    }

    #[test]
    fn clean_and_autoclean_only_when_there_is_something() {
        let out = |files: &str, del: &str| {
            format!("{SEP}\n{SEP}\n{SEP}\n{SEP}\n{SEP}\n{SEP}\n{files}\n{SEP}\n{del}\n")
        };
        let plan = |a: serde_json::Value, o: String| {
            testing::run("apt", a, move |p| match p {
                Probe::Shell { .. } => Some(Fact::Text(o.clone())),
                _ => None,
            })
        };
        let d = plan(json!({"clean": true}), out("0", "")).unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = plan(json!({"clean": true}), out("2", "")).unwrap();
        assert_eq!(
            attrs(&d),
            vec!["clean: 2 package files in /var/cache/apt/archives"]
        );
        assert!(testing::script(&d).contains("apt-get clean\n"));
        let d = plan(
            json!({"autoclean": true}),
            out("", "Del rprov-dummy 1.0 [1200 B]"),
        )
        .unwrap();
        assert_eq!(attrs(&d), vec!["autoclean: rprov-dummy"]);
    }

    /// `state: build-dep`, as ansible-core's: `apt-get build-dep` when its
    /// simulation would install something, nothing otherwise; a simulation
    /// that fails (no `deb-src`) fails the task with apt-get's words.
    #[test]
    fn build_dep_installs_only_what_is_missing() {
        let out = |dpkg: &str, sim: &str| {
            format!("{SEP}\n{dpkg}\n{SEP}\n{SEP}\n{SEP}\n{SEP}\n{SEP}\n{SEP}\n{SEP}\n{sim}\n")
        };
        let plan = |o: String| {
            testing::run(
                "apt",
                json!({"name": "curl", "state": "build-dep"}),
                move |p| match p {
                    Probe::Shell { .. } => Some(Fact::Text(o.clone())),
                    _ => None,
                },
            )
        };
        let d = plan(out(CURL, "")).unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = plan(out(
            "",
            "Inst libssl-dev (3.0 Debian:12) []\nInst zlib1g-dev (1.2 Debian:12) []",
        ))
        .unwrap();
        assert_eq!(attrs(&d), vec!["build-dep: libssl-dev, zlib1g-dev"]);
        assert!(
            testing::script(&d).contains("apt-get build-dep"),
            "{}",
            testing::script(&d)
        );
        let e = plan(out(
            "",
            "BUILDDEP_FAILED\nE: You must put some 'deb-src' URIs in your sources.list",
        ))
        .unwrap_err();
        assert!(
            matches!(&e, super::PlanError::Fail(m) if m.contains("deb-src")),
            "{e:?}"
        );
    }
}
