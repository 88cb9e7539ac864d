//! Jinja plugins written in Python: the filters, tests and lookups of a
//! playbook's or a role's `filter_plugins/`, `test_plugins/` and
//! `lookup_plugins/`, and a collection's, by their full names
//! (`community.general.json_query`), which rprov cannot run itself. Whoever
//! builds the templater may hand it a [`PythonPlugins`] that runs them
//! (rprov's Ansible fallback: ansible-core on the controller); without one
//! they are errors that say so.
//!
//! Values cross as JSON. A filter or test of a plugin folder must be
//! registered by its short name before a template uses it (the template
//! engine resolves names when it renders, with no hook for an unknown one),
//! so the runner lists them up front. A collection's cannot be listed, and
//! Jinja takes no dotted filter names: the template text calls them through
//! [`FILTER_FUNCTION`] and [`TEST_FUNCTION`] instead (see `chain`). A lookup
//! is looked for only when rprov has none of its name.

use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::{Map, Value as Json};

use crate::convert::{from_value, to_value};

/// What kind of Jinja plugin a call is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// `value | name(args…)`: the input is the first argument.
    Filter,
    /// `value is name(args…)`: the input is the first argument; the answer
    /// is taken for its truth.
    Test,
    /// `lookup('name', terms…)`: the arguments are the terms; the answer is
    /// the list of items.
    Lookup,
}

impl PluginKind {
    /// The word ansible-core uses for the kind (`filter`, `test`, `lookup`).
    pub fn word(self) -> &'static str {
        match self {
            PluginKind::Filter => "filter",
            PluginKind::Test => "test",
            PluginKind::Lookup => "lookup",
        }
    }
}

/// Runs Jinja plugins written in Python.
pub trait PythonPlugins: Send + Sync {
    /// The short names of the filters and of the tests it has, to be
    /// registered before any template renders.
    fn names(&self) -> (Vec<String>, Vec<String>);

    /// Calls plugin `name` of `kind` with positional `args`, keyword
    /// `kwargs` and (for a lookup) the template's `variables`. `Ok(None)`: it
    /// has no plugin of that name. `Err`: the plugin's own error text.
    fn call(
        &self,
        kind: PluginKind,
        name: &str,
        args: Vec<Json>,
        kwargs: Map<String, Json>,
        variables: Option<Json>,
    ) -> Result<Option<Json>, String>;

    /// Setting `name` of plugin `plugin_name` of type `plugin_type`, as
    /// ansible-core's config manager resolves it with the template's
    /// `variables` (`lookup('config', …, plugin_type=…, plugin_name=…)`).
    /// `Ok(None)`: it has no such plugin.
    fn setting(
        &self,
        plugin_type: &str,
        plugin_name: &str,
        name: &str,
        variables: Json,
    ) -> Result<Option<PluginSetting>, String>;
}

/// A plugin's setting as the Python plugins answer it.
#[derive(Clone, Debug, PartialEq)]
pub enum PluginSetting {
    /// Its value and where that comes from (`default`, `var: x`, …).
    Found(Json, String),
    /// The plugin defines no such setting: ansible-core's message.
    Undefined(String),
}

/// The filter a collection's filter is called through, its name first (the
/// template text is rewritten so, see `chain`): Jinja takes no dotted filter
/// names, and a collection's filters cannot be listed before they are used.
pub(crate) const FILTER_FUNCTION: &str = "__rprov_python_filter";

/// The same for a collection's test.
pub(crate) const TEST_FUNCTION: &str = "__rprov_python_test";

/// The stand-ins for [`FILTER_FUNCTION`] and [`TEST_FUNCTION`] of a templater
/// without Python plugins: a collection's filter or test is an error naming
/// it.
pub(crate) fn register_absent(env: &mut Environment<'static>) {
    fn absent(kind: PluginKind, name: &str) -> Error {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{} {name} is unknown: a collection's {} is written in Python, which rprov runs only through its Ansible fallback",
                kind.word(),
                kind.word()
            ),
        )
    }
    env.add_filter(
        FILTER_FUNCTION,
        |_: Value, name: String, _: Rest<Value>, _: Kwargs| -> Result<Value, Error> {
            Err(absent(PluginKind::Filter, &name))
        },
    );
    env.add_test(
        TEST_FUNCTION,
        |_: Value, name: String, _: Rest<Value>, _: Kwargs| -> Result<bool, Error> {
            Err(absent(PluginKind::Test, &name))
        },
    );
}

/// Registers every filter and test `plugins` names in `env`, in place of a
/// native one of the same name (as a `filter_plugins/` filter takes the
/// place of ansible-core's own for its short name).
pub(crate) fn register(env: &mut Environment<'static>, plugins: &Arc<dyn PythonPlugins>) {
    let p = plugins.clone();
    env.add_filter(
        FILTER_FUNCTION,
        move |value: Value, name: String, args: Rest<Value>, kwargs: Kwargs| {
            answer(&p, PluginKind::Filter, &name, value, &args, &kwargs)
        },
    );
    let p = plugins.clone();
    env.add_test(
        TEST_FUNCTION,
        move |value: Value, name: String, args: Rest<Value>, kwargs: Kwargs| {
            answer(&p, PluginKind::Test, &name, value, &args, &kwargs).map(|v| v.is_true())
        },
    );
    let (filters, tests) = plugins.names();
    for name in filters {
        let p = plugins.clone();
        let n = name.clone();
        env.add_filter(
            name,
            move |value: Value, args: Rest<Value>, kwargs: Kwargs| {
                answer(&p, PluginKind::Filter, &n, value, &args, &kwargs)
            },
        );
    }
    for name in tests {
        let p = plugins.clone();
        let n = name.clone();
        env.add_test(
            name,
            move |value: Value, args: Rest<Value>, kwargs: Kwargs| {
                answer(&p, PluginKind::Test, &n, value, &args, &kwargs).map(|v| v.is_true())
            },
        );
    }
}

/// A filter's or test's answer for `value`.
fn answer(
    plugins: &Arc<dyn PythonPlugins>,
    kind: PluginKind,
    name: &str,
    value: Value,
    args: &[Value],
    kwargs: &Kwargs,
) -> Result<Value, Error> {
    match call_json(plugins, kind, name, Some(value), args, kwargs, None)? {
        Some(v) => Ok(to_value(&v)),
        None => Err(Error::new(
            ErrorKind::UnknownFilter,
            format!("{} {name} is unknown", kind.word()),
        )),
    }
}

/// Runs lookup `name` through `plugins`: its items, or `None` when it has
/// no lookup of that name either. `wantlist` and `errors` are the caller's
/// (ansible-core takes them off before the plugin runs).
pub(crate) fn lookup(
    plugins: &Arc<dyn PythonPlugins>,
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let items = match call_json(
        plugins,
        PluginKind::Lookup,
        name,
        None,
        terms,
        kwargs,
        Some(variables(state)),
    )? {
        None => return Ok(None),
        Some(Json::Array(items)) => items,
        Some(other) => vec![other],
    };
    Ok(Some(items.iter().map(to_value).collect()))
}

/// The template's variables as a Python lookup is given them.
pub(crate) fn variables(state: &State) -> Json {
    let mut variables = Map::new();
    for var in crate::lookup::variable_names(state) {
        // Every host's variables would cross for each call: left out, as
        // lookups written for a task seldom read other hosts.
        if var == "hostvars" {
            continue;
        }
        if let Some(v) = state.lookup(&var) {
            if let Ok(j) = from_value(&v) {
                variables.insert(var, j);
            }
        }
    }
    Json::Object(variables)
}

fn call_json(
    plugins: &Arc<dyn PythonPlugins>,
    kind: PluginKind,
    name: &str,
    input: Option<Value>,
    args: &[Value],
    kwargs: &Kwargs,
    variables: Option<Json>,
) -> Result<Option<Json>, Error> {
    let mut positional = Vec::with_capacity(args.len() + 1);
    for v in input.iter().chain(args) {
        if v.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        positional.push(from_value(v)?);
    }
    let mut named = Map::new();
    for key in kwargs.args() {
        if kind == PluginKind::Lookup && ["wantlist", "errors"].contains(&key) {
            continue;
        }
        let v: Value = kwargs.get(key)?;
        named.insert(key.to_string(), from_value(&v)?);
    }
    plugins
        .call(kind, name, positional, named, variables)
        .map_err(|msg| {
            let shown = match kind {
                PluginKind::Lookup => format!("{}{msg}", crate::lookup::failed_prefix(name)),
                _ => format!("{} {name}: {msg}", kind.word()),
            };
            Error::new(ErrorKind::InvalidOperation, shown)
        })
}
