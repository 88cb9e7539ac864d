//! Play keywords whose value is a template, rendered when the play starts.
//!
//! ansible-core post-validates a play (`Play.post_validate`) with the
//! variables a play has before any host is chosen: the play's `vars` and
//! the extra vars (`-e`). So `strategy: "{{ test_strategy | default('linear') }}"`
//! `serial: "{{ batch | default(omit) }}"` and `order: "{{ myorder }}"` take their value from `-e` or the play's
//! `vars`. rprov renders them the same way, just before it chooses the
//! play's hosts, and checks the value as it checks a literal one. `hosts:`
//! itself may be a template (`hosts: "{{ targets }}"`): a string renders to a
//! pattern, a list to a list of patterns.

use crate::diag::{LoadError, Origin};
use crate::engine::{NamesCache, Resolver};

use super::{HostOrder, Play, Vars};

/// `strategy:` values rprov accepts. Inside a play each host goes at its
/// own pace (README, "plays"), which is what `free` and `host_pinned` do in
/// Ansible; of `linear`'s lockstep between tasks only what `throttle`
/// promises is kept: no two throttled tasks overlap (see
/// `engine::throttle_gate`).
const STRATEGIES: &[&str] = &[
    "linear",
    "free",
    "host_pinned",
    "ansible.builtin.linear",
    "ansible.builtin.free",
    "ansible.builtin.host_pinned",
];

/// A play keyword written as a template.
#[derive(Debug, Clone)]
pub struct Deferred {
    /// `hosts`, `serial`, `order` or `strategy`.
    pub key: &'static str,
    pub text: String,
    pub origin: Origin,
}

impl Deferred {
    pub fn new(key: &'static str, text: &str, origin: Origin) -> Self {
        Deferred {
            key,
            text: text.to_string(),
            origin,
        }
    }
}

/// `order:` as written (or rendered).
pub fn order(value: &str, origin: Origin) -> Result<HostOrder, LoadError> {
    HostOrder::parse(value).ok_or_else(|| {
        LoadError::new(origin, "unknown host `order`")
            .with_hint(format!("use one of {}", HostOrder::NAMES.join(", ")))
    })
}

/// `serial:` as written (or rendered): a number of hosts, a percentage or a
/// list of them; `omit` (a template's `default(omit)`) is no `serial`.
pub fn serial(
    value: &serde_json::Value,
    origin: Origin,
) -> Result<Vec<super::serial::BatchSize>, LoadError> {
    use serde_json::Value as J;
    if value.as_str() == Some(rprov_template::OMIT) {
        return Ok(Vec::new());
    }
    let items = match value {
        J::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    items
        .iter()
        .map(super::serial::BatchSize::parse)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            LoadError::new(
                origin,
                format!("`serial` must be a number of hosts, a percentage or a list of them, got {value}"),
            )
            .with_hint("e.g. `serial: 1`, `serial: \"25%\"` or `serial: [1, 5, \"25%\"]`")
        })
}

/// Checks `strategy:` as written (or rendered).
pub fn strategy(value: &str, origin: Origin) -> Result<(), LoadError> {
    if STRATEGIES.contains(&value) {
        return Ok(());
    }
    Err(
        LoadError::new(origin, format!("strategy `{value}` is not supported by rprov")).with_hint(
            "use `linear`, `free` or `host_pinned` (rprov runs each host at its own pace inside a play), or remove `strategy`",
        ),
    )
}

/// The pattern of a rendered `hosts:`: a string as it is (`web,db` and
/// `web:db` both name two), a number as its digits, a list as its items.
fn hosts_pattern(rendered: &serde_json::Value, d: &Deferred) -> Result<String, LoadError> {
    use serde_json::Value as J;
    let one = |v: &J| match v {
        J::String(s) => Some(s.trim().to_string()),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let patterns: Option<Vec<String>> = match rendered {
        J::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|p| vec![p]),
    };
    match patterns {
        Some(p) if p.iter().any(|s| !s.is_empty()) => Ok(p
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(",")),
        _ => Err(LoadError::new(
            d.origin.clone(),
            format!("`hosts` rendered to {rendered}, which is no host pattern"),
        )
        .with_hint("give `hosts:` a template that renders to a pattern or a list of patterns")),
    }
}

/// Whether `strategy` (checked) names ansible-core's `linear`.
pub fn is_linear(value: &str) -> bool {
    matches!(value, "linear" | "ansible.builtin.linear")
}

/// Renders the play's templated keywords with its `vars` under
/// `extra_vars`, and sets or checks them.
/// `text` rendered with what a play has before any host is chosen (its
/// `vars` and `-e`), as ansible-core post-validates a play; `None` when it
/// cannot be (a variable only a host has).
pub fn render_with_play(
    play: &Play,
    extra_vars: &Vars,
    templater: &rprov_template::Templater,
    text: &str,
) -> Option<serde_json::Value> {
    let names = NamesCache::default();
    let mut magic = Vars::default();
    magic.insert(
        "omit".into(),
        serde_json::Value::String(rprov_template::OMIT.into()),
    );
    let value = serde_json::Value::String(text.to_string());
    let resolver = Resolver::new(vec![&magic, &play.vars, extra_vars], templater, &names);
    resolver
        .context_for(&[&value], &[])
        .and_then(|ctx| templater.render_str(text, &ctx))
        .ok()
}

/// Tags as ansible-core's `evaluate_tags` makes them of those written as
/// templates (`tags: "{{ the_tags }}"`): each rendered with `render`, a
/// list giving its items; one that cannot be rendered stays as written.
pub fn render_tags(
    tags: &[String],
    render: impl Fn(&str) -> Option<serde_json::Value>,
) -> Vec<String> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::new();
    for tag in tags {
        if !rprov_template::is_template(tag) {
            out.push(tag.clone());
            continue;
        }
        match render(tag) {
            Some(serde_json::Value::Array(items)) => out.extend(items.iter().map(text)),
            Some(v) => out.push(text(&v)),
            None => out.push(tag.clone()),
        }
    }
    out
}

pub fn resolve(
    play: &mut Play,
    extra_vars: &Vars,
    templater: &rprov_template::Templater,
) -> Result<(), LoadError> {
    // A play's name is rendered then too (shown in its banner); one that
    // cannot be stays as written.
    if rprov_template::is_template(&play.name) {
        if let Some(v) = render_with_play(play, extra_vars, templater, &play.name) {
            play.name = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
        }
    }
    let names = NamesCache::default();
    let mut magic = Vars::default();
    magic.insert(
        "omit".into(),
        serde_json::Value::String(rprov_template::OMIT.into()),
    );
    for d in std::mem::take(&mut play.deferred) {
        let text = serde_json::Value::String(d.text.clone());
        let resolver = Resolver::new(vec![&magic, &play.vars, extra_vars], templater, &names);
        let rendered = resolver
            .context_for(&[&text], &[])
            .and_then(|ctx| templater.render_str(&d.text, &ctx))
            .map_err(|e| {
                LoadError::new(
                    d.origin.clone(),
                    format!("cannot render `{}`: {}", d.key, e.message),
                )
            })?;
        if d.key == "hosts" {
            play.hosts = hosts_pattern(&rendered, &d)?;
            play.hosts_written = match &rendered {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            continue;
        }
        if d.key == "serial" {
            play.serial = serial(&rendered, d.origin)?;
            continue;
        }
        let value = match rendered {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        match d.key {
            "order" => play.order = order(value.trim(), d.origin)?,
            _ => {
                strategy(value.trim(), d.origin)?;
                play.linear = is_linear(value.trim());
            }
        }
    }
    Ok(())
}
