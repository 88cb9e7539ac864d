//! `set_fact`: variables for this host, above play and role vars (Ansible's
//! `set_fact` precedence), for the rest of the run.

use rprov_template::TemplateErrorKind;

use super::super::super::delegated_facts::FactsKind;
use super::super::super::vars::{unknown_value, Refusal};
use super::*;
use crate::playbook::is_variable_name;

/// A `set_fact`'s values: those rendered, and those not known (with why).
#[derive(Default)]
struct Facts {
    known: Map<String, Json>,
    unknown: Vec<(String, Refusal)>,
    /// `cacheable: true`: the values are the host's facts too, and go to
    /// the fact cache, as ansible-core's strategy sets them.
    cacheable: bool,
    /// The known names whose text ansible-core trusts as an expression (see
    /// [`written_trust`]).
    trusted: Vec<String>,
}

/// Whether the value a `set_fact` sets from `raw` (as written) keeps
/// ansible-core's trust: text written in the playbook does, and so does a
/// value that only fetches a trusted variable (`"{{ x }}"`, which keeps the
/// value's tags); what a template computes is new, untrusted text.
fn written_trust(raw: &Json, r: &Resolver) -> bool {
    match raw {
        Json::String(s) if rprov_template::is_template(s) => {
            rprov_template::trust::fetched_variable(s).is_some_and(|root| r.trusts(root))
        }
        _ => true,
    }
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let rendered = h.with_resolver(task, layer, |h, r| h.render_facts(task, r));
    match rendered {
        Ok(facts) => h.set_fact(task, facts).into(),
        Err(msg) => ItemOutcome::failed(msg).into(),
    }
}

/// ansible-core's help for a name `validate_variable_name` refuses.
const VARIABLE_NAMES: &str = "Variable names must be strings starting with a letter or \
     underscore character, and contain only letters, numbers and underscores.";

/// A refused name as ansible-core's `validate_variable_name` describes it
/// (`name '1' of type 'int'`): a key templated to a number is not a string,
/// and Python's names for the types are what users see there.
fn key_description(name: &Json) -> String {
    let (shown, kind) = match name {
        Json::String(s) => (Some(s.clone()), None),
        Json::Number(n) if n.is_f64() => (Some(n.to_string()), Some("float")),
        Json::Number(n) => (Some(n.to_string()), Some("int")),
        Json::Bool(b) => (Some(if *b { "True" } else { "False" }.into()), Some("bool")),
        Json::Null => (Some("None".into()), Some("NoneType")),
        Json::Array(_) => (None, Some("list")),
        Json::Object(_) => (None, Some("dict")),
    };
    let mut d = match shown {
        Some(s) => format!("name '{s}'"),
        None => "name".to_string(),
    };
    if let Some(kind) = kind {
        d.push_str(&format!(" of type '{kind}'"));
    }
    d
}

impl HostRunner {
    /// The values of a `set_fact`, each rendered on its own so that one
    /// computed from a value not known (check mode) is told apart: it will be
    /// not known itself, and its later users unknown too.
    fn render_facts(&self, task: &Task, r: &Resolver) -> Result<Facts, String> {
        let Json::Object(args) = &task.args else {
            return Err(format!("{}: arguments must be a mapping", task.origin));
        };
        let mut facts = Facts::default();
        for (key, raw) in args {
            if key == "cacheable" {
                facts.cacheable = self.cacheable(task, r, raw)?;
                continue;
            }
            // A name that is itself not known is kept as written: nothing
            // can use it under a name no one knows anyway.
            let (name, value) = match self.render_json(r, &Json::String(key.clone())) {
                Ok(Json::String(name)) if is_variable_name(&name) => {
                    let v = self.render_json(r, raw);
                    (name, v)
                }
                Ok(name) => {
                    return Err(format!(
                        "{TASK_FAILED}{}: Invalid variable {}. {VARIABLE_NAMES}",
                        task.arg_origin(key),
                        key_description(&name)
                    ))
                }
                Err(e) => (key.clone(), Err(e)),
            };
            match value {
                // `spam: "{{ omit }}"` sets nothing, as an omitted argument
                // of any module is left out in ansible-core.
                Ok(v) if v.as_str() == Some(rprov_template::OMIT) => {}
                Ok(v) => {
                    if written_trust(raw, r) {
                        facts.trusted.push(name.clone());
                    }
                    facts.known.insert(name, v);
                }
                Err(e) => match (e.kind, self.refusals.take()) {
                    (TemplateErrorKind::NotKnown, Some(refusal)) => {
                        facts.unknown.push((name, refusal))
                    }
                    _ => return Err(self.template_failure(task, Some(key), &e, r)),
                },
            }
        }
        Ok(facts)
    }

    /// `cacheable`, rendered and read as ansible-core's strict `boolean()`.
    fn cacheable(&self, task: &Task, r: &Resolver, raw: &Json) -> Result<bool, String> {
        let v = self
            .render_json(r, raw)
            .map_err(|e| self.template_failure(task, Some("cacheable"), &e, r))?;
        crate::truthy::as_bool(&v).ok_or_else(|| {
            let shown = match &v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "{TASK_FAILED}{}: The value '{shown}' is not a valid boolean. Valid booleans include: \
                 'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False",
                task.arg_origin("cacheable")
            )
        })
    }

    /// Sets what `render_facts` found (on this host, or on the host the
    /// task was delegated to with `delegate_facts`): known values as they
    /// are, the others as `unknown_value`s (then the task is unknown).
    fn set_fact(&mut self, task: &Task, facts: Facts) -> ItemOutcome {
        if !facts.known.is_empty() {
            let kind = FactsKind::SetFact {
                trusted: facts.trusted,
                cacheable: facts.cacheable,
            };
            self.take_facts(task, kind, facts.known.clone());
        }
        if let Some((_, first)) = facts.unknown.first() {
            let msg = first.describe();
            let unknown: Map<String, Json> = facts
                .unknown
                .iter()
                .map(|(k, refusal)| (k.clone(), unknown_value(&refusal.root)))
                .collect();
            match self.facts_recipient(task) {
                Some(_) => {
                    let kind = FactsKind::SetFact {
                        trusted: Vec::new(),
                        cacheable: false,
                    };
                    self.take_facts(task, kind, unknown);
                }
                None => self.vars.set.extend(unknown),
            }
            return ItemOutcome::unknown(&msg);
        }
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("ansible_facts".into(), Json::Object(facts.known));
        ItemOutcome::new(Status::Ok, result)
    }
}
