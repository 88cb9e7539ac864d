//! `validate_argument_spec`: checks variables against an argument spec, as
//! ansible-core's action of that name, which is also the task ansible-core
//! puts first in a role whose `meta/argument_specs.yml` describes its entry
//! point (`playbook::role`).
//!
//! Each argument the spec names is taken from the task's variables (a role's
//! parameters are among them), with `provided_arguments` over them, and
//! checked as ansible-core's `ArgumentSpecValidator` does, in its order and
//! with its words: `required`, `default` (for the check only: no variable is
//! set, as in ansible-core), `type` (`str`, `int`, `float`, `bool`, `list`,
//! `dict`, `path`, `raw`, `jsonarg`; `bytes` and `bits` are taken as they
//! are), `elements`,
//! `choices`, `options` (nested, each error saying where), and arguments the
//! spec does not have. Not checked (documented in the README):
//! `mutually_exclusive`, `required_together`, `required_one_of`,
//! `required_if` and `required_by` inside `options`, and `aliases`.

use super::*;
use crate::modules::args::{py_class, py_type};
use crate::modules::args::{py_repr_value, py_text};
use crate::modules::typed::module_args;

module_args! {
    /// `validate_argument_spec`'s arguments, as written: the spec is data
    /// (its descriptions may hold `{{`), `provided_arguments` is rendered
    /// when read.
    pub struct Args {
        argument_spec: Option<Json> ["argument_spec"],
        provided_arguments: Option<Json> ["provided_arguments"],
        /// Handed back in the result (which role and entry point).
        validate_args_context: Option<Json> ["validate_args_context"],
    }
}

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match written_args(h, task, layer, &[])
        .and_then(|m| Args::parse("validate_argument_spec", &m).map_err(|e| args_failed(task, e)))
    {
        Ok(a) => a,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    h.with_resolver(task, layer, |h, r| validate_task(h, task, args, r))
        .into()
}

fn validate_task(h: &HostRunner, task: &Task, args: Args, r: &Resolver) -> ItemOutcome {
    let context = args.validate_args_context.unwrap_or(json!({}));
    // The spec is data, never rendered: its descriptions may hold `{{`.
    let spec = match args.argument_spec {
        Some(Json::Object(m)) => m,
        Some(other) => {
            return ItemOutcome::failed(format!(
                "Incorrect type for argument_spec, expected dict and got {}",
                py_class(&other)
            ))
        }
        None => {
            return ItemOutcome::failed(format!(
                "\"argument_spec\" arg is required in args: {}",
                py_text(&task.args)
            ))
        }
    };
    let provided = match &args.provided_arguments {
        None => Map::new(),
        Some(v) => match h.render_json(r, v) {
            Ok(Json::Object(m)) => m,
            Ok(other) => {
                return ItemOutcome::failed(format!(
                    "Incorrect type for provided_arguments, expected dict and got {}",
                    py_class(&other)
                ))
            }
            Err(e) => {
                return ItemOutcome::failed(h.template_failure(
                    task,
                    Some("provided_arguments"),
                    &e,
                    r,
                ))
            }
        },
    };
    let mut params = Map::new();
    for name in spec.keys() {
        match r.resolve(name) {
            Some(Ok(v)) => {
                params.insert(name.clone(), v);
            }
            Some(Err(e)) => return ItemOutcome::failed(format!("{}: {name}: {e}", task.origin)),
            None => {}
        }
    }
    params.extend(provided);
    let errors = validate(&spec, &mut params);
    let mut result = Map::new();
    result.insert("validate_args_context".into(), context);
    if errors.is_empty() {
        result.insert("changed".into(), json!(false));
        result.insert("msg".into(), json!("The arg spec validation passed"));
        let mut o = ItemOutcome::new(Status::Ok, result);
        o.msg = None;
        return o;
    }
    let msg = format!("Validation of arguments failed:\n{}", errors.join("\n"));
    let mut o = ItemOutcome::failed(msg);
    o.result.extend(result);
    o.result
        .insert("argument_spec_data".into(), Json::Object(spec));
    o.result.insert("argument_errors".into(), json!(errors));
    o
}

/// The errors of `params` against `spec`, in ansible-core's order: required,
/// types, choices, nested options, then arguments the spec does not have.
pub(super) fn validate(spec: &Map<String, Json>, params: &mut Map<String, Json>) -> Vec<String> {
    let mut errors = Vec::new();
    let mut unsupported = Vec::new();
    check(spec, params, &[], &mut errors, &mut unsupported);
    if !unsupported.is_empty() {
        // One message for all, as ansible-core's; the supported names are
        // those of the level of the last one (of a set, in ansible-core:
        // the same when one level has them all).
        unsupported.sort();
        let names: Vec<&str> = unsupported.iter().map(|(n, _)| n.as_str()).collect();
        let supported = unsupported
            .last()
            .map(|(_, s)| s.join(", "))
            .unwrap_or_default();
        errors.push(format!(
            "{}. Supported parameters include: {supported}.",
            names.join(", ")
        ));
    }
    errors
}

/// One level of options: `context` names the options above it.
fn check(
    spec: &Map<String, Json>,
    params: &mut Map<String, Json>,
    context: &[String],
    errors: &mut Vec<String>,
    unsupported: &mut Vec<(String, Vec<String>)>,
) {
    let found_in = |msg: String, quote: bool| -> String {
        match (context.is_empty(), quote) {
            (true, _) => msg,
            (false, false) => format!("{msg} found in {}", context.join(" -> ")),
            (false, true) => format!("{msg} found in '{}'.", context.join(" -> ")),
        }
    };
    let prefix = context.join(".");
    let mut here: Vec<String> = spec.keys().cloned().collect();
    here.sort();
    for name in params.keys() {
        if !spec.contains_key(name) {
            let shown = match prefix.is_empty() {
                true => name.clone(),
                false => format!("{prefix}.{name}"),
            };
            unsupported.push((shown, here.clone()));
        }
    }
    // Defaults count for the checks below, and set nothing.
    for (name, s) in spec {
        if let Some(d) = s.get("default").filter(|d| !d.is_null()) {
            params.entry(name.clone()).or_insert_with(|| d.clone());
        }
    }
    let mut missing: Vec<&str> = spec
        .iter()
        .filter(|(name, s)| {
            s.get("required").is_some_and(crate::truthy::is_truthy) && !params.contains_key(*name)
        })
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        errors.push(found_in(
            format!("missing required arguments: {}", missing.join(", ")),
            false,
        ));
    }
    for (name, s) in spec {
        let Some(value) = params.get(name).cloned() else {
            continue;
        };
        let required = s.get("required").is_some_and(crate::truthy::is_truthy);
        if value.is_null() && !required && s.get("default").is_none_or(Json::is_null) {
            continue;
        }
        let wanted = s.get("type").and_then(Json::as_str).unwrap_or("str");
        match convert(wanted, &value) {
            Ok(v) => {
                if let Some(elements) = s.get("elements").and_then(Json::as_str) {
                    let items = match &v {
                        Json::Array(a) => a.clone(),
                        _ => {
                            errors.push(
                                found_in(
                                    format!("Invalid type {wanted} for option '{}'", py_text(&v)),
                                    true,
                                ) + ", elements value check is supported only with 'list' type",
                            );
                            Vec::new()
                        }
                    };
                    let mut converted = Vec::new();
                    for item in items {
                        match convert(elements, &item) {
                            Ok(c) => converted.push(c),
                            Err(e) => {
                                let mut msg = format!("Elements value for option '{name}'");
                                if !context.is_empty() {
                                    msg += &format!(" found in '{}'", context.join(" -> "));
                                }
                                errors.push(format!(
                                    "{msg} is of type {} and we were unable to convert to {elements}: {e}",
                                    py_type(&item)
                                ));
                            }
                        }
                    }
                    params.insert(name.clone(), Json::Array(converted));
                } else {
                    params.insert(name.clone(), v);
                }
            }
            Err(e) => {
                let mut msg = format!("argument '{name}' is of type {}", py_type(&value));
                if !context.is_empty() {
                    msg += &format!(" found in '{}'.", context.join(" -> "));
                }
                errors.push(format!(
                    "{msg} and we were unable to convert to {wanted}: {e}"
                ));
            }
        }
    }
    for (name, s) in spec {
        let (Some(Json::Array(choices)), Some(value)) = (s.get("choices"), params.get(name)) else {
            continue;
        };
        let shown = |v: &Json| match v {
            Json::String(s) => s.clone(),
            other => py_text(other),
        };
        let listed = choices.iter().map(shown).collect::<Vec<_>>().join(", ");
        match value {
            Json::Array(items) => {
                let off: Vec<String> = items
                    .iter()
                    .filter(|i| !is_choice(i, choices))
                    .map(shown)
                    .collect();
                if !off.is_empty() {
                    errors.push(found_in(
                        format!(
                            "value of {name} must be one or more of: {listed}. Got no match for: {}",
                            off.join(", ")
                        ),
                        false,
                    ));
                }
            }
            v if !is_choice(v, choices) => errors.push(found_in(
                format!(
                    "value of {name} must be one of: {listed}, got: {}",
                    shown(v)
                ),
                false,
            )),
            _ => {}
        }
    }
    for (name, s) in spec {
        let Some(Json::Object(options)) = s.get("options") else {
            continue;
        };
        let mut inner = context.to_vec();
        inner.push(name.clone());
        match params.get_mut(name) {
            Some(Json::Object(sub)) => check(options, sub, &inner, errors, unsupported),
            Some(Json::Array(items)) => {
                for item in items {
                    if let Json::Object(sub) = item {
                        check(options, sub, &inner, errors, unsupported);
                    }
                }
            }
            // An absent dict option with required sub-options is checked
            // as an empty one only when ansible-core would set it: never
            // for role specs without `apply_defaults`.
            _ => {}
        }
    }
}

/// Whether `v` is among `choices`, where a boolean stands for the one yes
/// or no word among them, as ansible-core maps YAML's booleans back.
fn is_choice(v: &Json, choices: &[Json]) -> bool {
    if choices.contains(v) {
        return true;
    }
    let Json::Bool(b) = v else {
        return false;
    };
    let words = choices
        .iter()
        .filter(|c| c.as_str().and_then(crate::truthy::parse_bool) == Some(*b))
        .count();
    words == 1
}

/// `value` as the type `wanted`, or ansible-core's reason it is not one.
fn convert(wanted: &str, value: &Json) -> Result<Json, String> {
    match wanted {
        "str" | "path" => Ok(match value {
            Json::String(_) => value.clone(),
            Json::Null => json!(""),
            other => Json::String(py_text(other)),
        }),
        // `bytes` and `bits` ("1K", "2Mb") are not converted: taken as given.
        "raw" | "jsonarg" | "json" | "bytes" | "bits" => Ok(value.clone()),
        "int" => int(value).ok_or_else(|| format!("\"{}\" cannot be converted to an int", py_repr_value(value))),
        "float" => match value {
            Json::Number(n) => Ok(json!(n.as_f64())),
            Json::String(s) => s
                .trim()
                .parse::<f64>()
                .map(|f| json!(f))
                .map_err(|_| format!("{} cannot be converted to a float", py_class(value))),
            Json::Bool(b) => Ok(json!(if *b { 1.0 } else { 0.0 })),
            _ => Err(format!("{} cannot be converted to a float", py_class(value))),
        },
        "bool" => match value {
            Json::Bool(_) => Ok(value.clone()),
            Json::String(_) | Json::Number(_) => crate::truthy::as_bool(value).map(Json::Bool).ok_or_else(|| {
                format!(
                    "The value '{}' is not a valid boolean. Valid booleans include: {}",
                    match value {
                        Json::String(s) => s.clone(),
                        other => py_text(other),
                    },
                    "'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False"
                )
            }),
            _ => Err(format!("{} cannot be converted to a bool", py_class(value))),
        },
        "list" => match value {
            Json::Array(_) => Ok(value.clone()),
            Json::String(s) => Ok(json!(s.split(',').collect::<Vec<_>>())),
            Json::Number(_) => Ok(json!([py_text(value)])),
            _ => Err(format!("{} cannot be converted to a list", py_class(value))),
        },
        "dict" => match value {
            Json::Object(_) => Ok(value.clone()),
            Json::String(s) if s.starts_with('{') => serde_json::from_str::<Json>(s)
                .ok()
                .filter(Json::is_object)
                .ok_or_else(|| "unable to evaluate string as dictionary".to_string()),
            Json::String(s) if s.contains('=') => key_values(s)
                .ok_or_else(|| "unable to evaluate string in the \"key=value\" format as dictionary".to_string()),
            Json::String(_) => Err("dictionary requested, could not parse JSON or key=value".into()),
            _ => Err(format!("{} cannot be converted to a dict", py_class(value))),
        },
        other => Err(format!("type {other} is not one rprov knows")),
    }
}

/// An int, as Python's `int(Decimal(value))` without a decimal part.
fn int(value: &Json) -> Option<Json> {
    match value {
        Json::Number(n) if n.is_i64() || n.is_u64() => Some(value.clone()),
        Json::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| json!(f as i64)),
        Json::Bool(b) => Some(json!(i64::from(*b))),
        Json::String(s) => {
            let t = s.trim();
            t.parse::<i64>().ok().map(|i| json!(i)).or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && f.fract() == 0.0)
                    .map(|f| json!(f as i64))
            })
        }
        _ => None,
    }
}

/// `k1=v1 k2='v 2'` (or comma separated) as ansible-core's `check_type_dict`
/// reads it.
fn key_values(s: &str) -> Option<Json> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut quote, mut escape) = (None::<char>, false);
    for c in s.trim().chars() {
        match c {
            _ if escape => {
                field.push(c);
                escape = false;
            }
            '\\' => escape = true,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            c if quote == Some(c) => quote = None,
            ',' | ' ' if quote.is_none() => {
                if !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                }
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    let mut out = Map::new();
    for f in fields {
        let (k, v) = f.split_once('=')?;
        out.insert(k.to_string(), json!(v));
    }
    Some(Json::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(spec: Json, params: Json) -> Vec<String> {
        let (Json::Object(spec), Json::Object(mut params)) = (spec, params) else {
            panic!("mappings");
        };
        validate(&spec, &mut params)
    }

    #[test]
    fn errors_in_ansible_cores_words_and_order() {
        let spec = json!({
            "http_port": {"type": "int", "required": true},
            "mode": {"type": "str", "choices": ["a", "b"], "default": "a"},
        });
        assert_eq!(
            errors(spec.clone(), json!({"http_port": "8x", "mode": "c", "extra_param": 1})),
            [
                "argument 'http_port' is of type str and we were unable to convert to int: \"'8x'\" cannot be converted to an int",
                "value of mode must be one of: a, b, got: c",
                "extra_param. Supported parameters include: http_port, mode.",
            ]
        );
        assert_eq!(
            errors(spec.clone(), json!({})),
            ["missing required arguments: http_port"]
        );
        assert!(errors(spec, json!({"http_port": "80"})).is_empty());
    }

    /// A nested option the spec lacks lists the options of its own level,
    /// as ansible-core's (its roles_arg_spec target).
    #[test]
    fn unsupported_nested_option_lists_its_levels_options() {
        let spec = json!({
            "top": {"type": "str"},
            "multi": {"type": "dict", "options": {
                "second": {"type": "dict", "options": {
                    "third": {"type": "int", "required": true},
                }},
            }},
        });
        assert_eq!(
            errors(spec, json!({"multi": {"second": {"bogus": true}}})),
            [
                "missing required arguments: third found in multi -> second",
                "multi.second.bogus. Supported parameters include: third.",
            ]
        );
    }

    #[test]
    fn types_elements_and_nested_options() {
        let spec = json!({
            "flag": {"type": "bool"},
            "names": {"type": "list", "elements": "int"},
            "site": {"type": "dict", "options": {
                "host": {"required": true},
                "tls": {"type": "bool"},
            }},
        });
        assert_eq!(
            errors(spec.clone(), json!({"flag": "maybe", "names": ["1", "x"], "site": {"tls": "yes", "other": 1}})),
            [
                "argument 'flag' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False",
                "Elements value for option 'names' is of type str and we were unable to convert to int: \"'x'\" cannot be converted to an int",
                "missing required arguments: host found in site",
                "site.other. Supported parameters include: host, tls.",
            ]
        );
        assert!(errors(
            spec,
            json!({"flag": true, "names": [1, "2"], "site": {"host": "h"}})
        )
        .is_empty());
    }

    #[test]
    fn conversions_as_ansible_core() {
        assert_eq!(convert("int", &json!("12")), Ok(json!(12)));
        assert_eq!(convert("int", &json!(3.0)), Ok(json!(3)));
        assert!(convert("int", &json!(3.5)).is_err());
        assert_eq!(convert("list", &json!("a,b")), Ok(json!(["a", "b"])));
        assert_eq!(
            convert("list", &json!({"a": 1})),
            Err("<class 'dict'> cannot be converted to a list".into())
        );
        assert_eq!(
            convert("dict", &json!("a=1 b='x y'")),
            Ok(json!({"a": "1", "b": "x y"}))
        );
        assert_eq!(convert("str", &json!(5)), Ok(json!("5")));
        assert!(is_choice(&json!(true), &[json!("yes"), json!("no")]));
    }
}
