//! The `subelements` lookup (a `with_subelements` loop), as ansible-core's.

/// `subelements(list_or_dict, "dotted.key"[, {skip_missing}])`: `[element,
/// entry]` for each entry of each element's list, as ansible-core's lookup
/// pairs them — the element without that list (it is popped), elements
/// marked `skipped` left out, and a dict's values taken as the elements.
pub fn items(terms: &[serde_json::Value]) -> Result<Vec<serde_json::Value>, String> {
    use serde_json::Value as Json;
    let usage = "subelements lookup expects a list of two or three items, ";
    if !(2..=3).contains(&terms.len()) {
        return Err(usage.to_string());
    }
    let (Some(path), true) = (
        terms[1].as_str(),
        terms[0].is_array() || terms[0].is_object(),
    ) else {
        return Err(format!(
            "{usage}first a dict or a list, second a string pointing to the subkey"
        ));
    };
    let skipped = |m: &serde_json::Map<String, Json>| {
        m.get("skipped").is_some_and(|v| v != &Json::Bool(false))
    };
    let elements: Vec<Json> = match &terms[0] {
        Json::Object(m) if skipped(m) => return Ok(Vec::new()),
        Json::Object(m) => m.values().cloned().collect(),
        Json::Array(a) => a.clone(),
        _ => Vec::new(),
    };
    let flags = match terms.get(2) {
        None => serde_json::Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => {
            return Err(format!(
                "{usage}the optional third item must be a dict with flags ['skip_missing']"
            ))
        }
    };
    let skip_missing = flags.get("skip_missing").is_some_and(|v| match v {
        Json::Bool(b) => *b,
        Json::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t"
        ),
        Json::Number(n) => n.as_f64() == Some(1.0),
        _ => false,
    });
    let keys: Vec<&str> = path.split('.').collect();
    let last = keys.last().copied().unwrap_or_default();
    let mut out = Vec::new();
    for element in elements {
        let Json::Object(element) = element else {
            return Err(format!(
                "subelements lookup expects a dictionary, got '{element}'"
            ));
        };
        if skipped(&element) {
            continue;
        }
        // The walk down the keys, as ansible-core's loop: a missing key is
        // passed over with skip_missing (and then the list is empty).
        let mut descended: Vec<&str> = Vec::new();
        let mut list = None;
        let mut node = &element;
        for key in &keys {
            let Some(value) = node.get(*key) else {
                if skip_missing {
                    continue;
                }
                return Err(format!(
                    "could not find '{key}' key in iterated item '{}'",
                    Json::Object(node.clone())
                ));
            };
            if *key != last {
                match value {
                    Json::Object(next) => {
                        node = next;
                        descended.push(key);
                    }
                    _ if skip_missing => continue,
                    _ => {
                        return Err(format!(
                            "the key {key} should point to a dictionary, got '{value}'"
                        ))
                    }
                }
            } else {
                let Json::Array(items) = value else {
                    return Err(format!(
                        "the key {key} should point to a list, got '{value}'"
                    ));
                };
                list = Some(items.clone());
            }
        }
        let Some(list) = list else { continue };
        // ansible-core pops the list out of the element it pairs.
        let mut element = Json::Object(element);
        let pointer: String = descended
            .iter()
            .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
            .collect();
        if let Some(Json::Object(parent)) = element.pointer_mut(&pointer) {
            parent.shift_remove(last);
        }
        for entry in list {
            out.push(Json::Array(vec![element.clone(), entry]));
        }
    }
    Ok(out)
}
