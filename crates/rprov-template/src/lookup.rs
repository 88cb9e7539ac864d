//! Globals: `lookup(name, ...)`, `query(name, ...)` (alias `q`).
//!
//! Only the lookups provisioning roles use are supported, and all of them run
//! on the controller: `env` (an environment variable, `''` when unset, as in
//! Ansible), `file` (a controller file relative to the current directory,
//! trailing newline stripped unless `rstrip=false`) and `vars` (a variable by
//! name, with `default=`). Any other name is an error naming the supported
//! ones, rather than a silent empty string.
//!
//! `lookup` joins several results with `,` (unless `wantlist=true`); `query`
//! always returns a list.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

/// Adds `lookup`, `query` and `q`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup_error(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("lookup('{name}'): {msg}"),
    )
}

/// Runs lookup `name` on each term and returns one value per term.
fn run(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let text = |t: &Value| -> Result<String, Error> {
        if t.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        Ok(t.as_str().map_or_else(|| t.to_string(), str::to_string))
    };
    match name {
        "env" => {
            let default = kwargs.get::<Option<Value>>("default")?;
            terms
                .iter()
                .map(|t| {
                    let var = text(t)?;
                    Ok(match std::env::var(&var) {
                        Ok(v) => Value::from(v),
                        Err(_) => default.clone().unwrap_or_else(|| Value::from("")),
                    })
                })
                .collect()
        }
        "file" => {
            let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            terms
                .iter()
                .map(|t| {
                    let path = text(t)?;
                    let content = crate::limits::read_text_file(
                        std::path::Path::new(&path),
                        crate::limits::max_render_size(),
                    )
                    .map_err(|e| lookup_error("file", format!("cannot read '{path}': {e}")))?;
                    let mut s = content.as_str();
                    if rstrip {
                        s = s.trim_end();
                    }
                    if lstrip {
                        s = s.trim_start();
                    }
                    Ok(Value::from(s))
                })
                .collect()
        }
        "vars" => {
            let default = kwargs.get::<Option<Value>>("default")?;
            terms
                .iter()
                .map(|t| {
                    let var = text(t)?;
                    match state.lookup(&var).filter(|v| !v.is_undefined()) {
                        Some(v) => Ok(v),
                        None => default.clone().ok_or_else(|| {
                            lookup_error("vars", format!("no variable named '{var}'"))
                        }),
                    }
                })
                .collect()
        }
        other => Err(lookup_error(
            other,
            "unknown lookup plugin (rprov supports 'env', 'file' and 'vars')",
        )),
    }
}

/// `lookup(name, *terms, wantlist=False, **options)`.
pub fn lookup(
    state: &State,
    name: String,
    terms: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let values = run(state, &name, &terms, &kwargs)?;
    kwargs.assert_all_used()?;
    if wantlist {
        return Ok(Value::from(values));
    }
    Ok(match values.len() {
        1 => values.into_iter().next().unwrap_or_default(),
        _ => Value::from(
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
        ),
    })
}

/// `query(name, *terms, **options)`: always a list.
pub fn query(
    state: &State,
    name: String,
    terms: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let values = run(state, &name, &terms, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(Value::from(values))
}
