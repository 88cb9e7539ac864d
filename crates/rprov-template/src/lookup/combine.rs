//! The `nested`, `together` and `indexed_items` lookups (`with_nested`,
//! `with_together` and `with_indexed_items` loops), as ansible-core's.

use serde_json::{json, Value as Json};

/// One level of `terms` flattened into the list, as Ansible's
/// `LookupBase._flatten`.
fn flatten(terms: Vec<Json>) -> Vec<Json> {
    terms
        .into_iter()
        .flat_map(|t| match t {
            Json::Array(inner) => inner,
            other => vec![other],
        })
        .collect()
}

/// The lists a lookup combines: each term a list (a lone value is a list of
/// one, as Ansible's listify).
fn lists(terms: Json) -> Vec<Vec<Json>> {
    match terms {
        Json::Array(terms) => terms
            .into_iter()
            .map(|t| match t {
                Json::Array(l) => l,
                other => vec![other],
            })
            .collect(),
        other => vec![vec![other]],
    }
}

/// `with_nested`: every combination, first list outermost, each one
/// flattened a level.
pub fn nested(terms: Json) -> Result<Vec<Json>, String> {
    let lists = lists(terms);
    if lists.is_empty() {
        return Err("with_nested requires at least one element in the nested list".into());
    }
    let mut combos: Vec<Vec<Json>> = vec![Vec::new()];
    for list in lists {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                list.iter().map(move |x| {
                    let mut c = c.clone();
                    c.push(x.clone());
                    c
                })
            })
            .collect();
    }
    Ok(combos
        .into_iter()
        .map(|c| Json::Array(flatten(c)))
        .collect())
}

/// `with_together`: the lists side by side, the shorter ones padded with
/// null, each row flattened a level.
pub fn together(terms: Json) -> Result<Vec<Json>, String> {
    let lists = lists(terms);
    if lists.is_empty() {
        return Err("with_together requires at least one element in each list".into());
    }
    let rows = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..rows)
        .map(|i| {
            let row = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                .collect();
            Json::Array(flatten(row))
        })
        .collect())
}

/// `with_indexed_items`: `[index, item]` for each item of the flattened
/// list.
pub fn indexed_items(terms: Json) -> Result<Vec<Json>, String> {
    // A lone value is a list of one (Ansible listifies the terms first).
    let terms = match terms {
        Json::Array(terms) => terms,
        other => vec![other],
    };
    Ok(flatten(terms)
        .into_iter()
        .enumerate()
        .map(|(i, x)| json!([i, x]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what ansible-core 2.19's lookups return.
    #[test]
    fn as_ansibles_lookups() {
        assert_eq!(
            nested(json!([["a", "b"], [1, 2]])).unwrap(),
            vec![
                json!(["a", 1]),
                json!(["a", 2]),
                json!(["b", 1]),
                json!(["b", 2])
            ]
        );
        assert_eq!(
            nested(json!([["a"], [[1, 2]]])).unwrap(),
            vec![json!(["a", 1, 2])]
        );
        assert!(nested(json!([])).is_err());
        assert_eq!(
            together(json!([["a", "b", "c"], [1, 2]])).unwrap(),
            vec![json!(["a", 1]), json!(["b", 2]), json!(["c", null])]
        );
        assert_eq!(
            indexed_items(json!(["a", ["b", "c"]])).unwrap(),
            vec![json!([0, "a"]), json!([1, "b"]), json!([2, "c"])]
        );
        assert_eq!(
            indexed_items(json!({"a": 1})).unwrap(),
            vec![json!([0, {"a": 1}])]
        );
    }
}
