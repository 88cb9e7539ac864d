//! `lookup('csvfile', key, file=…, col=…)`: a column of the first row of a
//! controller CSV file whose key column holds `key`, as ansible-core's
//! `csvfile` lookup.
//!
//! Options are given as keyword arguments or, the older way, inside each
//! term after the key (`'Smith file=people.csv delimiter=, col=1'`, split
//! and unescaped as Ansible's `parse_kv`). `file` (default `ansible.csv`) is
//! looked for where the `file` lookup looks; `delimiter` (default `TAB`,
//! which means a tab) is one character; `col` (default 1) and `keycol`
//! (default 0) count from 0; `default` is the answer when no row matches
//! (nothing when it is not given). Rows are read as Python's `csv` module
//! reads Excel's dialect: `"` quotes a field, `""` is a quote inside it, a
//! quoted field may span lines, and `\r\n` ends a row as `\n` does.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};

use super::{find_file, lookup_error};

const OPTIONS: &[&str] = &["file", "col", "keycol", "delimiter", "default", "encoding"];

/// The options of one term, keyword arguments overridden by inline ones.
struct Options {
    file: String,
    col: usize,
    keycol: usize,
    delimiter: char,
    default: Option<Value>,
}

pub(super) fn run(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut given: Vec<(String, Value)> = Vec::new();
    for name in OPTIONS {
        if let Some(v) = kwargs.get::<Option<Value>>(name)? {
            given.push((name.to_string(), v));
        }
    }
    if terms.is_empty() {
        return Err(fail("Search key is required but was not found"));
    }
    let mut out = Vec::new();
    for term in terms {
        let text = term
            .as_str()
            .map_or_else(|| term.to_string(), str::to_string);
        let kv = crate::kv::parse_free_form(&text, false);
        let Some(key) = kv.get("_raw_params").and_then(|v| v.as_str()) else {
            return Err(fail("Search key is required but was not found"));
        };
        let mut opts_given = given.clone();
        for (name, value) in kv.iter().filter(|(k, _)| *k != "_raw_params") {
            if !OPTIONS.contains(&name.as_str()) {
                return Err(fail(format!("'{name}' is not a valid option")));
            }
            opts_given.push((name.clone(), crate::convert::to_value(value)));
        }
        let opts = options(&opts_given)?;
        let found = find_file(state, "files", &opts.file)
            .unwrap_or_else(|| std::path::PathBuf::from(&opts.file));
        let content = crate::limits::read_text_file(&found, crate::limits::max_render_size())
            .map_err(|e| fail(format!("csvfile: {}: {e}", opts.file)))?;
        let row = rows(&content, opts.delimiter)
            .into_iter()
            .find(|r| r.get(opts.keycol).map(String::as_str) == Some(key));
        let value = match row {
            Some(r) => Some(Value::from(r.get(opts.col).cloned().ok_or_else(|| {
                fail(format!(
                    "csvfile: the matching row has no column {}",
                    opts.col
                ))
            })?)),
            None => opts.default.clone(),
        };
        match value {
            Some(v) if v.kind() == minijinja::value::ValueKind::Seq => out.extend(v.try_iter()?),
            Some(v) => out.push(v),
            None => {}
        }
    }
    Ok(out)
}

fn fail(msg: impl std::fmt::Display) -> Error {
    lookup_error("csvfile", msg)
}

/// The options from what was given, the last value of a name winning.
fn options(given: &[(String, Value)]) -> Result<Options, Error> {
    let get = |name: &str| given.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let whole = |name: &str, dflt: usize| -> Result<usize, Error> {
        match get(name) {
            None => Ok(dflt),
            Some(v) => text(v).trim().parse::<usize>().map_err(|_| {
                fail(format!(
                    "Invalid type for configuration option '{name}': '{}' has an invalid value: it is not a whole number",
                    text(v)
                ))
            }),
        }
    };
    if let Some(enc) = get("encoding").map(text) {
        if !matches!(
            enc.to_ascii_lowercase().replace('_', "-").as_str(),
            "utf-8" | "utf8"
        ) {
            return Err(fail(format!(
                "`encoding: {enc}` is not supported: rprov reads UTF-8"
            )));
        }
    }
    let delimiter = match get("delimiter").map(text).as_deref() {
        None | Some("TAB") => '\t',
        Some(d) => {
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(fail(format!(
                        "\"delimiter\" must be a 1-character string, not {d:?}"
                    )))
                }
            }
        }
    };
    Ok(Options {
        file: get("file").map_or_else(|| "ansible.csv".to_string(), text),
        col: whole("col", 1)?,
        keycol: whole("keycol", 0)?,
        delimiter,
        default: get("default").cloned().filter(|v| !v.is_none()),
    })
}

/// The rows of a CSV text, as Python's `csv.reader` with the Excel dialect
/// and `delimiter` reads them.
fn rows(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    // Whether the field began with a quote (only then does `"` quote).
    let mut started_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !started_quoted => {
                quoted = true;
                started_quoted = true;
            }
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                started_quoted = false;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if !row.is_empty() || !field.is_empty() || started_quoted {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                started_quoted = false;
            }
            c => field.push(c),
        }
    }
    if !row.is_empty() || !field.is_empty() || started_quoted {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::rows;

    /// Expected rows are CPython 3.11's `csv.reader(f, dialect=csv.excel,
    /// delimiter=…)` of the same text.
    #[test]
    fn rows_as_pythons_csv_reader() {
        assert_eq!(
            rows("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\nlast,\n", ','),
            vec![
                vec!["a".to_string(), "b".into()],
                vec!["x, y".into(), "say \"hi\"".into()],
                vec!["last".into(), "".into()],
            ]
        );
        assert_eq!(
            rows("k\tv\"w\n\"multi\nline\"\tz", '\t'),
            vec![
                vec!["k".to_string(), "v\"w".into()],
                vec!["multi\nline".into(), "z".into()],
            ]
        );
    }
}
