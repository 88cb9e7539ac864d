//! ansible-core's plugin filter file (`plugin_filters_cfg`): a YAML file
//! whose `module_rejectlist` names modules no playbook may use.
//!
//! Read as ansible-core reads it (`_load_plugin_filter` in
//! lib/ansible/plugins/loader.py): unset, `/etc/ansible/plugin_filters.yml`
//! if it exists; a file that is missing (when set), not YAML, without
//! `filter_version`, of another version than `1.0`, or whose list is not a
//! list, is skipped with ansible-core's warning; `stat` in the list stops the
//! run, as ansible-core cannot work without it. A rejected module is a load
//! error at the task that uses it, in ansible-core's words
//! (`playbook::task`); lookups and filters are not affected.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The modules a filter file rejects, and that file.
#[derive(Debug, Clone, Default)]
pub struct Rejected {
    pub file: PathBuf,
    pub modules: BTreeSet<String>,
}

/// Reads the filter file: `configured` (plugin_filters_cfg), else the
/// system one. Its warnings go to `warn`.
pub fn load(configured: Option<&Path>, warn: &mut dyn FnMut(String)) -> Result<Option<Rejected>> {
    let file = configured.map_or_else(
        || PathBuf::from("/etc/ansible/plugin_filters.yml"),
        Path::to_path_buf,
    );
    let shown = file.display();
    if !file.exists() {
        if configured.is_some() {
            warn(format!(
                "The plugin filter file, {shown} does not exist. Skipping."
            ));
        }
        return Ok(None);
    }
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            warn(format!(
                "The plugin filter file, {shown} was not parsable. Skipping: {e}"
            ));
            return Ok(None);
        }
    };
    let data: serde_json::Value = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let why = rprov_inventory::yaml_error_message(&e);
            warn(format!(
                "The plugin filter file, {shown} was not parsable. Skipping: {why}"
            ));
            return Ok(None);
        }
    };
    let Some(version) = data.get("filter_version") else {
        warn(format!(
            "The plugin filter file, {shown} was invalid. Skipping."
        ));
        return Ok(None);
    };
    let version = match version {
        serde_json::Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    if version != "1.0" {
        warn(format!(
            "The plugin filter file, {shown} was a version not recognized by this version of Ansible. Skipping."
        ));
        return Ok(None);
    }
    let modules: BTreeSet<String> = match data.get("module_rejectlist") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => {
            warn(format!(
                "Unable to parse the plugin filter file {shown} as module_rejectlist is not a list. Skipping."
            ));
            return Ok(None);
        }
    };
    if modules.contains("stat") {
        bail!(
            "The stat module was specified in the module reject list file, {shown}, but Ansible will not function without the stat module.  Please remove stat from the reject list.\n  = help: rprov keeps ansible-core's rule; remove `stat` from `module_rejectlist`"
        );
    }
    Ok(Some(Rejected { file, modules }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: Option<&str>) -> (Result<Option<Rejected>>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("filters.yml");
        if let Some(t) = text {
            std::fs::write(&file, t).unwrap();
        }
        let mut warnings = Vec::new();
        let r = load(Some(&file), &mut |w| warnings.push(w));
        (r, warnings)
    }

    #[test]
    fn reads_the_reject_list() {
        let (r, w) = load_text(Some(
            "filter_version: 1.0\nmodule_rejectlist:\n  - copy\n  - pause\n",
        ));
        let r = r.unwrap().unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(r.modules.iter().collect::<Vec<_>>(), ["copy", "pause"]);
    }

    /// What ansible-core skips with a warning, and `stat`, which stops it.
    #[test]
    fn skips_what_ansible_core_skips_and_refuses_stat() {
        for (text, says) in [
            (None, "does not exist. Skipping."),
            (
                Some("module_rejectlist: [copy]\n"),
                "was invalid. Skipping.",
            ),
            (
                Some("filter_version: '2.0'\nmodule_rejectlist: [copy]\n"),
                "a version not recognized",
            ),
            (
                Some("filter_version: 1.0\nmodule_rejectlist:\n"),
                "module_rejectlist is not a list",
            ),
            (Some("filter_version: [\n"), "was not parsable"),
        ] {
            let (r, w) = load_text(text);
            assert!(r.unwrap().is_none(), "{text:?}");
            assert!(w.len() == 1 && w[0].contains(says), "{text:?}: {w:?}");
        }
        let (r, _) = load_text(Some("filter_version: '1.0'\nmodule_rejectlist: [stat]\n"));
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("The stat module was specified in the module reject list file,"),
            "{e}"
        );
        assert!(e.contains("but Ansible will not function without the stat module.  Please remove stat from the reject list."), "{e}");
    }
}
