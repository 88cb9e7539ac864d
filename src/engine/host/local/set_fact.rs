//! `set_fact`: variables for this host, above play and role vars (Ansible's
//! `set_fact` precedence), for the rest of the run.

use rprov_template::TemplateErrorKind;

use super::super::super::vars::{unknown_value, Refusal};
use super::*;

/// A `set_fact`'s values: those rendered, and those not known (with why).
#[derive(Default)]
struct Facts {
    known: Map<String, Json>,
    unknown: Vec<(String, Refusal)>,
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let rendered = h.with_resolver(task, layer, |h, r| h.render_facts(task, r));
    match rendered {
        Ok(facts) => h.set_fact(facts).into(),
        Err(msg) => ItemOutcome::failed(msg).into(),
    }
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
                continue;
            }
            // A name that is itself not known is kept as written: nothing
            // can use it under a name no one knows anyway.
            let (name, value) = match self.render_string(r, key) {
                Ok(name) => {
                    let v = self.render_json(r, raw);
                    (name, v)
                }
                Err(e) => (key.clone(), Err(e)),
            };
            match value {
                // `spam: "{{ omit }}"` sets nothing, as an omitted argument
                // of any module is left out in ansible-core.
                Ok(v) if v.as_str() == Some(rprov_template::OMIT) => {}
                Ok(v) => {
                    facts.known.insert(name, v);
                }
                Err(e) => match (e.kind, self.refusals.take()) {
                    (TemplateErrorKind::NotKnown, Some(refusal)) => {
                        facts.unknown.push((name, refusal))
                    }
                    _ => return Err(arg_error(task.arg_origin(key), &e, r)),
                },
            }
        }
        Ok(facts)
    }

    /// Sets what `render_facts` found: known values as they are, the others
    /// as `unknown_value`s (then the task is unknown).
    fn set_fact(&mut self, facts: Facts) -> ItemOutcome {
        for (k, v) in &facts.known {
            self.vars.set.insert(k.clone(), v.clone());
            self.shared.learn(&self.name, [(k, v)]);
        }
        if let Some((_, first)) = facts.unknown.first() {
            let msg = first.describe();
            for (k, refusal) in &facts.unknown {
                self.vars
                    .set
                    .insert(k.clone(), unknown_value(&refusal.root));
            }
            return ItemOutcome::unknown(&msg);
        }
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("ansible_facts".into(), Json::Object(facts.known));
        ItemOutcome::new(Status::Ok, result)
    }
}
