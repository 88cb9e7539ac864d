//! `setup`: gather the host's facts, as a task.
//!
//! Roles call it when a play did not gather facts (ansible-core's own
//! `setup_remote_tmp_dir` role does, with `gather_subset: distribution`). rprov
//! has one fact set, read by a POSIX sh snippet (`probe::facts`), so the
//! probe that answers `gather_facts: yes` answers this module too; asking for
//! it also makes the facts the host's `ansible_*` variables, as Ansible's
//! fact injection does. Once gathered, the facts are not read again in the
//! same run: what rprov gathers (OS, kernel, users, addresses) does not
//! change under a play.
//!
//! `gather_subset` is accepted and checked against Ansible's subset names,
//! but rprov always has its whole (small) set. `filter` keeps the facts whose
//! `ansible_`-prefixed name matches one of its shell-style patterns, as
//! Ansible's `fnmatch` filter does; the variables keep all facts.

use serde_json::{json, Map, Value as Json};

use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};
use crate::probe::facts::local;
use crate::probe::{Fact, Probe};

/// The subsets ansible-core's `setup` knows (`gather_subset`, optionally
/// negated with `!` or `-`).
const SUBSETS: &[&str] = &[
    "all",
    "min",
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "apparmor",
    "architecture",
    "caps",
    "chroot",
    "cmdline",
    "date_time",
    "default_ipv4",
    "default_ipv6",
    "devices",
    "distribution",
    "distribution_major_version",
    "distribution_release",
    "distribution_version",
    "dns",
    "effective_group_ids",
    "effective_user_id",
    "env",
    "facter",
    "fibre_channel_wwn",
    "fips",
    "hardware",
    "interfaces",
    "iscsi",
    "kernel",
    "kernel_version",
    "local",
    "lsb",
    "loadavg",
    "machine",
    "machine_id",
    "mounts",
    "network",
    "nvme",
    "ohai",
    "os_family",
    "pkg_mgr",
    "platform",
    "processor",
    "processor_cores",
    "processor_count",
    "python",
    "python_version",
    "real_user_id",
    "selinux",
    "service_mgr",
    "ssh_host_key_dsa_public",
    "ssh_host_key_ecdsa_public",
    "ssh_host_key_ed25519_public",
    "ssh_host_key_rsa_public",
    "ssh_host_pub_keys",
    "ssh_pub_keys",
    "system",
    "system_capabilities",
    "system_capabilities_enforced",
    "systemd",
    "user",
    "user_dir",
    "user_gecos",
    "user_gid",
    "user_id",
    "user_shell",
    "user_uid",
    "virtual",
    "virtualization_role",
    "virtualization_type",
];

module_args! {
    /// `setup`'s arguments.
    pub struct Args {
        /// Subset names, a list or one comma-separated string (kind Any, as
        /// the table has always shown it).
        gather_subset: Option<Json> ["gather_subset"],
        /// Shell-style patterns, a list or one comma-separated string.
        filter: Option<Json> ["filter"],
        /// Accepted and not read: rprov's facts come from one quick
        /// snippet, with no collector to time out.
        #[allow(dead_code)]
        gather_timeout: Option<i64> ["gather_timeout"],
        /// The folder of the local (`.fact`) facts, read on its own for
        /// this task (the gathered facts read `/etc/ansible/facts.d`).
        fact_path: Option<String> ["fact_path"],
    }
}

module_args! {
    /// `gather_facts` as a task (ansible-core's action runs `setup` with the
    /// task's arguments): `setup`'s, and `parallel`, which changes nothing
    /// here, as a host's facts are one probe.
    pub struct GatherArgs {
        gather_subset: Option<Json> ["gather_subset"],
        filter: Option<Json> ["filter"],
        gather_timeout: Option<i64> ["gather_timeout"],
        fact_path: Option<String> ["fact_path"],
        #[allow(dead_code)]
        parallel: Option<bool> ["parallel"],
    }
}

/// `gather_facts` as a task: `setup` with its arguments.
pub fn plan_gather(cx: &PlanCx) -> Result<Decision, PlanError> {
    let g = GatherArgs::from_cx(cx)?;
    plan_with(
        cx,
        Args {
            gather_subset: g.gather_subset,
            filter: g.filter,
            gather_timeout: g.gather_timeout,
            fact_path: g.fact_path,
        },
    )
}

/// A list argument given as a YAML list or a comma-separated string.
fn list(key: &str, value: Option<&Json>) -> Result<Vec<String>, String> {
    match value {
        None => Ok(Vec::new()),
        Some(Json::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| match v {
                Json::String(s) => Ok(s.trim().to_string()),
                other => Err(format!("`{key}` must be a list of strings, got {other}")),
            })
            .collect(),
        Some(other) => Err(format!("`{key}` must be a list of strings, got {other}")),
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    plan_with(cx, Args::from_cx(cx)?)
}

/// Checks `gather_subset` (a list, or one comma-separated string) as
/// ansible-core's `get_collector_names` does: a subset asked for must be
/// one it knows; excluding one it does not know (`!any`) is ignored. The
/// play keyword is checked by the same words.
pub fn check_subsets(value: Option<&Json>) -> Result<(), String> {
    for subset in list("gather_subset", value)? {
        if subset.starts_with(['!', '-']) {
            continue;
        }
        let name = subset.as_str();
        if !SUBSETS.contains(&name) {
            return Err(format!(
                "Bad subset '{name}' given to Ansible. gather_subset options allowed: {}",
                SUBSETS.join(", ")
            ));
        }
    }
    Ok(())
}

fn plan_with(cx: &PlanCx, args: Args) -> Result<Decision, PlanError> {
    check_subsets(args.gather_subset.as_ref()).map_err(PlanError::Fail)?;
    let mut patterns = Vec::new();
    for p in list("filter", args.filter.as_ref()).map_err(PlanError::Fail)? {
        let glob = globset::Glob::new(&p)
            .map_err(|e| PlanError::Fail(format!("`filter`: `{p}` is not a pattern: {e}")))?;
        patterns.push(glob.compile_matcher());
    }
    // `fact_path` replaces `ansible_local` with the facts of its folder.
    let local_probe = args.fact_path.as_deref().map(|dir| Probe::Shell {
        script: local::script_in(dir),
    });
    let mut need = Vec::new();
    let facts = match cx.facts.get(&Probe::Facts) {
        Some(Fact::Facts(Json::Object(m))) => Some(m),
        _ => {
            need.push(Probe::Facts);
            None
        }
    };
    let local_out = match &local_probe {
        Some(p) => match cx.facts.get(p) {
            Some(Fact::Text(out)) => Some(out),
            _ => {
                need.push(p.clone());
                None
            }
        },
        None => None,
    };
    let Some(facts) = facts.filter(|_| need.is_empty()) else {
        return Err(PlanError::Need(need));
    };
    let mut facts = facts.clone();
    if let (Some(dir), Some(out)) = (args.fact_path.as_deref(), local_out) {
        local::parse_in(out, dir, &mut facts);
    }
    let mut shown = Map::new();
    for (k, v) in &facts {
        let name = format!("ansible_{k}");
        if patterns.is_empty() || patterns.iter().any(|p| p.is_match(&name)) {
            shown.insert(name, v.clone());
        }
    }
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("ansible_facts".into(), Json::Object(shown));
    Ok(Decision::Ok { result, msg: None })
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;

    fn gathered() -> Fact {
        Fact::Facts(json!({
            "distribution": "Debian",
            "distribution_version": "12.5",
            "os_family": "Debian",
            "kernel": "6.1.0",
        }))
    }

    fn facts_of(args: Json) -> Result<Map<String, Json>, PlanError> {
        let mut f = Fixture::new("setup", args);
        f.fact(Probe::Facts, gathered());
        match plan(&f.cx())? {
            Decision::Ok { result, .. } => Ok(result["ansible_facts"]
                .as_object()
                .cloned()
                .unwrap_or_default()),
            other => panic!("setup decided {other:?}"),
        }
    }

    #[test]
    fn asks_for_the_facts_probe_first() {
        let f = Fixture::new("setup", json!({"gather_subset": "distribution"}));
        assert!(matches!(plan(&f.cx()), Err(PlanError::Need(p)) if p == vec![Probe::Facts]));
    }

    #[test]
    fn gather_facts_as_a_task_is_setup_with_its_arguments() {
        let mut f = Fixture::new(
            "gather_facts",
            json!({"filter": "ansible_kernel", "parallel": true}),
        );
        f.fact(Probe::Facts, gathered());
        match plan_gather(&f.cx()).expect("plans") {
            Decision::Ok { result, .. } => {
                let facts = result["ansible_facts"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(facts.keys().collect::<Vec<_>>(), ["ansible_kernel"]);
            }
            other => panic!("gather_facts decided {other:?}"),
        }
        let refused = Fixture::new("gather_facts", json!({"gather_subset": "nonsense"}));
        assert!(matches!(plan_gather(&refused.cx()), Err(e) if !matches!(e, PlanError::Need(_))));
    }

    #[test]
    fn returns_facts_under_their_ansible_names() {
        let all = facts_of(json!({})).expect("plans");
        assert_eq!(all["ansible_distribution"], "Debian");
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn filter_keeps_matching_names_only() {
        let some = facts_of(json!({"filter": ["ansible_distribution*", "ansible_kernel"]}))
            .expect("plans");
        let mut names: Vec<_> = some.keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "ansible_distribution",
                "ansible_distribution_version",
                "ansible_kernel"
            ]
        );
        let one = facts_of(json!({"filter": "ansible_os_family"})).expect("plans");
        assert_eq!(one.keys().collect::<Vec<_>>(), ["ansible_os_family"]);
    }

    #[test]
    fn an_unknown_subset_is_refused_with_ansibles_words() {
        let err = facts_of(json!({"gather_subset": ["!all", "distributoin"]})).unwrap_err();
        assert!(
            matches!(&err, PlanError::Fail(m) if m.starts_with("Bad subset 'distributoin' given to Ansible")),
            "{err:?}"
        );
        assert!(facts_of(json!({"gather_subset": ["!all", "!min", "network"]})).is_ok());
    }

    #[test]
    fn fact_path_reads_the_local_facts_of_its_folder() {
        let mut f = Fixture::new(
            "setup",
            json!({"fact_path": "/tmp/my facts", "filter": "*local*"}),
        );
        f.fact(Probe::Facts, gathered());
        let probe = Probe::Shell {
            script: local::script_in("/tmp/my facts"),
        };
        assert!(matches!(plan(&f.cx()), Err(PlanError::Need(p)) if p == vec![probe.clone()]));
        assert!(local::script_in("/tmp/my facts").starts_with("_rp_ld='/tmp/my facts'\n"));
        use base64::Engine as _;
        let e = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        f.fact(
            probe,
            Fact::Text(format!(
                "local=f 0 {} {}\n",
                e("prefs.fact"),
                e("[general]\nbar=loaded\n")
            )),
        );
        match plan(&f.cx()) {
            Ok(Decision::Ok { result, .. }) => assert_eq!(
                result["ansible_facts"],
                json!({"ansible_local": {"prefs": {"general": {"bar": "loaded"}}}})
            ),
            other => panic!("setup decided {other:?}"),
        }
    }

    #[test]
    fn excluding_an_unknown_subset_is_ignored_as_ansible_does() {
        // ansible-core's own module_utils_facts.system.selinux target.
        assert!(facts_of(json!({"gather_subset": ["!all", "!any", "selinux"]})).is_ok());
        assert!(facts_of(json!({"gather_subset": "-nosuch,min"})).is_ok());
    }
}
