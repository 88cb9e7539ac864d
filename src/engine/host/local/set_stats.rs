//! `set_stats`: values the run gathers for its end, as ansible-core's
//! `set_stats` action and its strategy record them: `data` for this host
//! (`per_host`) or for the whole run (the default), added to what earlier
//! tasks set (`aggregate`, the default) or set over it. The recap is
//! followed by them with ansible.cfg's `show_custom_stats`, and
//! `--output json` has them in a `custom_stats` line (see
//! `engine::custom_stats`). The task's result is `ansible_stats`, as
//! Ansible's; it never changes anything.

use super::*;
use crate::modules::typed::module_args;
use crate::playbook::is_variable_name;

module_args! {
    /// `set_stats`'s arguments.
    pub struct Args {
        /// The values, by name.
        data: Option<Json> ["data"],
        /// Whether they are this host's (else the run's).
        per_host: Option<Json> ["per_host"],
        /// Whether they are added to what is there (else set over it).
        aggregate: Option<Json> ["aggregate"],
    }
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match mapping_args(h, task, layer) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    let args = match Args::parse("set_stats", &args) {
        Ok(a) => a,
        Err(e) => return ItemOutcome::failed(args_failed(task, e)).into(),
    };
    let data = match args.data {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(m)) => m,
        Some(_) => {
            return ItemOutcome::failed(
                "The 'data' option needs to be a dictionary/hash".to_string(),
            )
            .into()
        }
    };
    if let Some(bad) = data.keys().find(|k| !is_variable_name(k)) {
        return ItemOutcome::failed(format!(
            "Invalid variable name '{bad}'. Variable names must be strings starting with a \
             letter or underscore character, and contain only letters, numbers and underscores."
        ))
        .into();
    }
    let per_host = args.per_host.as_ref().is_some_and(lenient_bool);
    let aggregate = args.aggregate.as_ref().is_none_or(lenient_bool);
    if !data.is_empty() {
        // As ansible-core's strategy: a `run_once` task's values are every
        // host's of the batch.
        let hosts: Vec<Option<String>> = if !per_host {
            vec![None]
        } else if task.run_once {
            h.shared
                .play_hosts
                .vars()
                .into_iter()
                .find(|(name, _)| *name == "ansible_play_batch")
                .and_then(|(_, v)| serde_json::from_value::<Vec<String>>(v).ok())
                .unwrap_or_default()
                .into_iter()
                .map(Some)
                .collect()
        } else {
            vec![Some(h.name.clone())]
        };
        for host in hosts {
            h.shared
                .custom_stats
                .record(host.as_deref(), &data, aggregate);
        }
    }
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert(
        "ansible_stats".into(),
        json!({"data": data, "per_host": per_host, "aggregate": aggregate}),
    );
    ItemOutcome::new(Status::Ok, result).into()
}

/// ansible-core's `boolean(value, strict=False)`: the yes words (and
/// `True`, `1`) are true, anything else false.
fn lenient_bool(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() == Some(1.0),
        Json::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_booleans_as_ansible() {
        assert!(is_variable_name("my_int"));
        assert!(is_variable_name("_x1"));
        assert!(!is_variable_name(".bad"));
        assert!(!is_variable_name("1x"));
        assert!(is_variable_name("for"));
        assert!(!is_variable_name("None"));
        assert!(!is_variable_name("é"));
        assert!(lenient_bool(&json!("yes")));
        assert!(lenient_bool(&json!(true)));
        assert!(!lenient_bool(&json!("x")));
        assert!(!lenient_bool(&json!(0)));
    }
}
