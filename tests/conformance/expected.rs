//! `tests/conformance/expected.yml`: the checked-in verdict on every target
//! the suite runs. The test asserts that what it sees matches this list
//! exactly, so a regression fails it and an improvement makes it fail until
//! the list (and docs/conformance.md) say so.

use serde::Deserialize;

/// What ansible-core does with a target on this testbed.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AnsibleVerdict {
    Pass,
    Fail,
}

/// What rprov does with a target ansible-core passes.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RprovVerdict {
    Pass,
    /// A gap: `first_failing_task` names where it stops.
    Fail,
    /// rprov differs on purpose; `reason` says why.
    KnownDifference,
}

/// What rprov does with a target it fails when `--ansible-fallback custom`
/// lets ansible-core on the controller run the Python modules and plugins
/// the target ships (its `library/`, `action_plugins/`, …), and nothing else
/// of Ansible's.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackVerdict {
    Pass,
    Fail,
}

/// One entry of the list.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub target: String,
    pub ansible: AnsibleVerdict,
    /// Absent when ansible-core fails the target (rprov is not run).
    #[serde(default)]
    pub rprov: Option<RprovVerdict>,
    /// The first failing task of the tool that fails (rprov, or ansible-core
    /// when it fails), `(load)` for a load error.
    #[serde(default)]
    pub first_failing_task: Option<String>,
    /// Why a known difference is one, or what a gap (`fail`), or
    /// ansible-core's own failure on this testbed, comes from.
    #[serde(default)]
    pub reason: Option<String>,
    /// rprov's verdict with `--ansible-fallback custom`, for a target it
    /// fails with the fallback off (only the file-level suite runs it).
    #[serde(default)]
    pub with_fallback: Option<FallbackVerdict>,
}

/// Reads and checks the list: the fields each verdict needs, no target twice.
pub fn load(text: &str) -> Result<Vec<Expected>, String> {
    let list: Vec<Expected> =
        serde_saphyr::from_str(text).map_err(|e| format!("expected.yml: {e}"))?;
    let mut seen = std::collections::BTreeSet::new();
    for e in &list {
        if !seen.insert(e.target.as_str()) {
            return Err(format!("expected.yml: {} is listed twice", e.target));
        }
        let needs_task = match (e.ansible, e.rprov) {
            (AnsibleVerdict::Fail, None) => true,
            (AnsibleVerdict::Fail, Some(_)) => {
                return Err(format!(
                    "expected.yml: {}: no rprov verdict on a target ansible-core fails",
                    e.target
                ))
            }
            (AnsibleVerdict::Pass, None) => {
                return Err(format!("expected.yml: {}: rprov: is missing", e.target))
            }
            (AnsibleVerdict::Pass, Some(RprovVerdict::Pass)) => false,
            (AnsibleVerdict::Pass, Some(_)) => true,
        };
        if needs_task != e.first_failing_task.is_some() {
            return Err(format!(
                "expected.yml: {}: first_failing_task is {} for this verdict",
                e.target,
                if needs_task { "needed" } else { "not wanted" }
            ));
        }
        let may_fall_back = matches!(
            e.rprov,
            Some(RprovVerdict::Fail | RprovVerdict::KnownDifference)
        );
        if e.with_fallback.is_some() && !may_fall_back {
            return Err(format!(
                "expected.yml: {}: with_fallback is only for a target rprov fails",
                e.target
            ));
        }
        let reason_ok = match (e.ansible, e.rprov) {
            (_, Some(RprovVerdict::KnownDifference)) => e.reason.is_some(),
            // A gap, or ansible-core's own failure here, may say what causes
            // it, for the page.
            (_, Some(RprovVerdict::Fail)) | (AnsibleVerdict::Fail, None) => true,
            _ => e.reason.is_none(),
        };
        if !reason_ok {
            return Err(format!(
                "expected.yml: {}: a reason is needed for a known-difference, allowed for a \
                 fail of either tool, and wanted nowhere else",
                e.target
            ));
        }
    }
    Ok(list)
}
