//! `lookup('config', NAME, …)`: a setting of ansible-core (`DEFAULT_FORKS`)
//! or, with `plugin_type` and `plugin_name`, of a plugin (the `ssh`
//! connection's `remote_user`), as this run has it, in ansible-core's words.
//!
//! A setting's value comes from the run's configuration (ansible.cfg, the
//! environment, the default) unless a variable the setting names is defined
//! for the task, which wins, as in ansible-core's config manager: the last
//! of its variables that is defined. `show_origin=True` gives `[value,
//! origin]` per term, the origin as ansible-core words it (`default`, `env:
//! ANSIBLE_FORKS`, the config file, `var: ansible_ssh_user`). A plugin rprov
//! does not know is asked of the Python plugins (a `lookup_plugins/`
//! folder's), when the run has them.

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};
use serde_json::Value as Json;

use super::{lookup_error, LookupContext};
use crate::python::PluginSetting;

/// One setting as the run has it, before the task's variables.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigSetting {
    /// As configured, or the default.
    pub value: Json,
    /// Where the value comes from, in ansible-core's words.
    pub origin: String,
    /// The variables that set it for a task, lowest precedence first.
    pub vars: Vec<String>,
}

impl ConfigSetting {
    /// A setting at its default, which no variable sets.
    pub fn default_value(value: Json) -> Self {
        ConfigSetting {
            value,
            origin: "default".into(),
            vars: Vec::new(),
        }
    }

    /// This setting, set by the variables `vars` for a task.
    pub fn with_vars(mut self, vars: &[&str]) -> Self {
        self.vars = vars.iter().map(|v| v.to_string()).collect();
        self
    }
}

/// The settings `lookup('config', …)` answers: ansible-core's own by name,
/// and plugins' by plugin type and name.
#[derive(Clone, Debug, Default)]
pub struct ConfigSettings {
    /// ansible-core's own, by their names in its `base.yml`.
    pub core: BTreeMap<String, ConfigSetting>,
    /// By plugin type (`connection`) and short name (`ssh`), then setting.
    pub plugins: BTreeMap<(String, String), BTreeMap<String, ConfigSetting>>,
}

impl ConfigSettings {
    /// Adds `plugin_name`'s (of `plugin_type`) setting `name`.
    pub fn plugin(&mut self, plugin_type: &str, plugin_name: &str, name: &str, s: ConfigSetting) {
        self.plugins
            .entry((plugin_type.into(), plugin_name.into()))
            .or_default()
            .insert(name.into(), s);
    }
}

/// The lookup's own options, which it answers about itself too
/// (`plugin_type='lookup', plugin_name='config'`).
pub(super) fn own_options() -> BTreeMap<String, ConfigSetting> {
    [
        ("_terms", Json::Null),
        ("on_missing", Json::from("error")),
        ("plugin_type", Json::Null),
        ("plugin_name", Json::Null),
        ("show_origin", Json::Bool(false)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ConfigSetting::default_value(v)))
    .collect()
}

/// What `on_missing` asks of a setting nobody defines.
#[derive(Clone, Copy, PartialEq)]
enum OnMissing {
    Error,
    Warn,
    Skip,
}

/// A setting's answer: its value and origin, or that no definition exists
/// (`on_missing` decides), or an error that stops the lookup.
enum Answer {
    Found(Json, String),
    Undefined(String),
}

pub(super) fn config(
    state: &State,
    cx: &LookupContext,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    const NAME: &str = "config";
    let on_missing = match kwargs.get::<Option<Value>>("on_missing")? {
        None => OnMissing::Error,
        Some(v) => match v.as_str() {
            Some("error") => OnMissing::Error,
            Some("warn") => OnMissing::Warn,
            Some("skip") => OnMissing::Skip,
            _ => {
                return Err(lookup_error(
                    NAME,
                    format!(
                        "Invalid value {} for config 'on_missing' for 'config' lookup plugin. Valid values are: error, warn, skip",
                        crate::filters::py_repr(&v)
                    ),
                ))
            }
        },
    };
    let text = |k: &str| -> Result<Option<String>, Error> {
        Ok(kwargs
            .get::<Option<Value>>(k)?
            .filter(|v| !v.is_none() && !v.is_undefined())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)))
    };
    let plugin_type = text("plugin_type")?;
    let plugin_name = text("plugin_name")?;
    let show_origin = kwargs
        .get::<Option<Value>>("show_origin")?
        .is_some_and(|v| v.is_true());
    let plugin =
        match (plugin_type, plugin_name) {
            (None, None) => None,
            (Some(t), Some(n)) => Some((t, n)),
            _ => return Err(lookup_error(
                NAME,
                "Both plugin_type and plugin_name are required, cannot use one without the other.",
            )),
        };
    let mut out = Vec::new();
    for term in terms {
        let Some(key) = term.as_str() else {
            return Err(lookup_error(
                NAME,
                format!(
                    "Invalid setting identifier, {} is not a <class 'str'>, its a <class '{}'>.",
                    crate::filters::py_repr(term),
                    crate::convert::py_type(term)
                ),
            ));
        };
        let answer = match &plugin {
            None => core_setting(state, cx, key),
            Some((t, n)) => plugin_setting(state, cx, t, n, key)?,
        };
        match answer {
            Answer::Found(value, origin) => {
                let value = crate::convert::to_value(&value);
                out.push(match show_origin {
                    true => Value::from(vec![value, Value::from(origin)]),
                    false => value,
                });
            }
            Answer::Undefined(msg) => match on_missing {
                OnMissing::Error => return Err(lookup_error(NAME, msg)),
                OnMissing::Warn => cx.warn(&format!("Skipping {key}. {msg}")),
                OnMissing::Skip => {}
            },
        }
    }
    Ok(out)
}

/// ansible-core's label of a setting in its messages: `'port'`, or
/// `'port' for 'ssh' connection plugin`.
fn label(key: &str, plugin: Option<(&str, &str)>) -> String {
    match plugin {
        None => format!("'{key}'"),
        Some((t, n)) => format!("'{key}' for '{n}' {t} plugin"),
    }
}

fn core_setting(state: &State, cx: &LookupContext, key: &str) -> Answer {
    match cx.settings().core.get(key) {
        Some(s) => resolved(state, s),
        None => Answer::Undefined(format!(
            "No config definition exists for {}.",
            label(key, None)
        )),
    }
}

fn plugin_setting(
    state: &State,
    cx: &LookupContext,
    plugin_type: &str,
    plugin_name: &str,
    key: &str,
) -> Result<Answer, Error> {
    let short = super::short_name(plugin_name);
    let plugin = Some((plugin_type, plugin_name));
    let undefined = || {
        Ok(Answer::Undefined(format!(
            "No config definition exists for {}.",
            label(key, plugin)
        )))
    };
    if plugin_type == "lookup" && short == "config" {
        return match own_options().get(key) {
            Some(s) => Ok(resolved(state, s)),
            None => undefined(),
        };
    }
    if let Some(settings) = cx
        .settings()
        .plugins
        .get(&(plugin_type.to_string(), short.to_string()))
    {
        return match settings.get(key) {
            Some(s) => Ok(resolved(state, s)),
            None => undefined(),
        };
    }
    let unable = || {
        lookup_error(
            "config",
            format!("Unable to load {plugin_type} plugin '{plugin_name}'."),
        )
    };
    if plugin_type == "lookup" && super::LOOKUPS.contains(&short) {
        return Err(lookup_error(
            "config",
            format!("rprov does not list the settings of its '{plugin_name}' lookup plugin"),
        ));
    }
    let Some(python) = cx.python() else {
        return Err(unable());
    };
    let variables = crate::python::variables(state);
    match python.setting(plugin_type, plugin_name, key, variables) {
        Ok(Some(PluginSetting::Found(value, origin))) => Ok(Answer::Found(value, origin)),
        Ok(Some(PluginSetting::Undefined(msg))) => Ok(Answer::Undefined(msg)),
        Ok(None) => Err(unable()),
        Err(e) => Err(lookup_error("config", e)),
    }
}

/// `s` for the template's task: the last of its variables that is defined,
/// else its configured value.
fn resolved(state: &State, s: &ConfigSetting) -> Answer {
    let by_var = s.vars.iter().rev().find_map(|name| {
        let v = state.lookup(name)?;
        if v.is_undefined() || v.is_none() {
            return None;
        }
        let j = crate::convert::from_value(&v).ok()?;
        Some((j, format!("var: {name}")))
    });
    match by_var {
        Some((value, origin)) => Answer::Found(value, origin),
        None => Answer::Found(s.value.clone(), s.origin.clone()),
    }
}
