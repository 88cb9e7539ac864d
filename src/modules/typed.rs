//! Typed module arguments: a module declares its arguments once, as a struct
//! (with [`module_args!`]), and gets from that one declaration
//!
//! - the argument list of its [`super::ModuleSpec`] — names, Ansible's
//!   aliases and each one's [`Kind`] — which the loader checks literal values
//!   against (with "did you mean") and the executor checks rendered values
//!   against, before any plan;
//! - the struct its `plan` reads: a field per argument, of its Rust type
//!   (`bool`, `u64`, an enum of the words a choice takes, `Option<…>` when it
//!   may be left out), filled from whichever of its names the task used.
//!
//! So a module's arguments cannot drift between the table that is checked
//! and the code that reads them: the kind shown by `rprov modules` is the
//! type's ([`ArgValue::KIND`]), and a name the struct does not have is
//! refused when the playbook loads.

use serde_json::{Map, Value as Json};

use super::args::Kind;
use super::mode::Mode;
use super::PlanError;

/// A Rust type a module argument can have, and how a task's value becomes it.
pub trait ArgValue: Sized {
    /// The kind the loader and `rprov modules` know it by.
    const KIND: Kind;
    /// The value, or what it must be (`must be yes or no, got `maybe``).
    fn from_json(v: &Json) -> Result<Self, String>;
    /// What an argument the task left out is, when leaving it out is fine
    /// (`None` for an `Option`); an argument with neither this nor a
    /// declared default is required.
    fn absent() -> Option<Self> {
        None
    }
}

/// Text: any other value is taken as its text, as ansible-core converts a
/// `str` argument (Python's `str()`: `True`, `['a', 'b']`, `{'k': 1}`).
impl ArgValue for String {
    const KIND: Kind = Kind::Str;
    fn from_json(v: &Json) -> Result<Self, String> {
        Ok(match v {
            // ansible-core 2.19 takes `None` as empty text here.
            Json::Null => String::new(),
            other => super::args::py_text(other),
        })
    }
}

/// Ansible's booleans (`yes`/`no`, `on`/`off`, `1`/`0`, …).
impl ArgValue for bool {
    const KIND: Kind = Kind::Bool;
    fn from_json(v: &Json) -> Result<Self, String> {
        crate::truthy::as_bool(v).ok_or_else(|| format!("must be yes or no, got {v}"))
    }
}

/// A whole number, or text holding one.
impl ArgValue for i64 {
    const KIND: Kind = Kind::Int;
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Number(n) => n.as_i64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("must be a whole number, got {v}"))
    }
}

/// A whole number that cannot be negative (an id, a count).
impl ArgValue for u64 {
    const KIND: Kind = Kind::Int;
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Number(n) => n.as_u64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("must be a non-negative integer, got {v}"))
    }
}

/// A number, whole or not.
impl ArgValue for f64 {
    const KIND: Kind = Kind::Num;
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("must be a number, got {v}"))
    }
}

/// A list as Ansible takes one: a YAML list, or one string of
/// comma-separated items (`groups: "sudo,docker"`); items trimmed, empty
/// ones dropped.
impl ArgValue for Vec<String> {
    const KIND: Kind = Kind::List;
    fn from_json(v: &Json) -> Result<Self, String> {
        let item = |v: &Json| match v {
            Json::String(s) => Ok(s.trim().to_string()),
            Json::Number(n) => Ok(n.to_string()),
            other => Err(format!("must be a list of strings, got {other}")),
        };
        let items = match v {
            Json::Array(a) => a.iter().map(item).collect::<Result<Vec<_>, _>>()?,
            Json::String(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
            other => vec![item(other)?],
        };
        Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
    }
}

/// A file mode, octal or symbolic.
impl ArgValue for Mode {
    const KIND: Kind = Kind::Mode;
    fn from_json(v: &Json) -> Result<Self, String> {
        Mode::parse(v)?.ok_or_else(|| format!("must be a file mode, got {v}"))
    }
}

/// Anything: the module reads the value itself (a mapping, a body).
impl ArgValue for Json {
    const KIND: Kind = Kind::Any;
    fn from_json(v: &Json) -> Result<Self, String> {
        Ok(v.clone())
    }
}

/// An argument that may be left out.
impl<T: ArgValue> ArgValue for Option<T> {
    const KIND: Kind = T::KIND;
    fn from_json(v: &Json) -> Result<Self, String> {
        T::from_json(v).map(Some)
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}

/// The field given by any of `names` (an argument and its aliases, the
/// first one set wins), or its default, or the failure of a required one.
/// `null` counts as left out, as in Ansible.
pub fn field<T: ArgValue>(
    module: &str,
    args: &Map<String, Json>,
    names: &[&str],
    default: Option<T>,
) -> Result<T, PlanError> {
    let given = names
        .iter()
        .find_map(|n| args.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)));
    match given {
        Some((name, v)) => {
            T::from_json(v).map_err(|why| PlanError::Fail(format!("`{module}`: `{name}` {why}")))
        }
        None => default.or_else(T::absent).ok_or_else(|| {
            PlanError::Fail(format!("`{module}` needs the argument `{}`", names[0]))
        }),
    }
}

/// Refuses an argument name that no field has (names starting with `_` are
/// the loader's own, like `_raw_params`). The loader already refused literal
/// ones; this keeps a struct and its table honest when a name is computed.
pub fn deny_unknown(
    module: &str,
    args: &Map<String, Json>,
    known: &[super::Arg],
) -> Result<(), PlanError> {
    match args
        .keys()
        .find(|k| !k.starts_with('_') && !known.iter().any(|a| a.name == k.as_str()))
    {
        Some(k) => Err(PlanError::Fail(format!(
            "`{module}` does not take the argument `{k}`"
        ))),
        None => Ok(()),
    }
}

/// An enum of the words an argument takes (`state: present|absent`), with
/// [`ArgValue`] (its kind is the choice of those words) and `as_str`.
///
/// ```ignore
/// choice! {
///     /// What `state` asks for.
///     pub enum State { Present = "present", Absent = "absent" }
/// }
/// ```
macro_rules! choice {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// The words, in the order `rprov modules` shows them.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word as the task wrote it.
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl $crate::modules::typed::ArgValue for $name {
            const KIND: $crate::modules::args::Kind = $crate::modules::args::Kind::Choice(Self::WORDS);
            fn from_json(v: &serde_json::Value) -> Result<Self, String> {
                match v.as_str() {
                    $(Some($word) => Ok($name::$variant),)+
                    _ => Err(format!("must be one of {}, got {v}", Self::WORDS.join(", "))),
                }
            }
        }
    };
}
pub(crate) use choice;

/// A module's arguments as a struct: each field lists its names (the
/// argument first, then Ansible's aliases) and, optionally, its default.
/// A field with neither a default nor an `Option` type is required.
///
/// ```ignore
/// module_args! {
///     /// `slurp`'s arguments.
///     pub struct Args {
///         /// The file to read.
///         src: String ["src", "path"],
///         follow: bool ["follow"] = false,
///     }
/// }
/// ```
///
/// It makes `Args::ARGS` (the table for [`super::ModuleSpec::args`]),
/// `Args::from_cx(cx)`, `Args::parse` and `Args::parse_named`.
macro_rules! module_args {
    (
        $(#[$m:meta])* $vis:vis struct $name:ident {
            $($(#[$fm:meta])* $field:ident : $ty:ty [$($alias:literal),+] $(= $default:expr)?),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Debug)]
        $vis struct $name { $($(#[$fm])* pub $field: $ty),* }

        impl $name {
            /// Every name each field answers to, with the field type's kind.
            pub const ARGS: &'static [$crate::modules::args::Arg] = &[
                $($($crate::modules::args::Arg {
                    name: $alias,
                    kind: <$ty as $crate::modules::typed::ArgValue>::KIND,
                },)+)*
            ];

            /// The task's arguments, as this module reads them.
            #[allow(dead_code)]
            pub fn from_cx(cx: &$crate::modules::PlanCx) -> Result<Self, $crate::modules::PlanError> {
                Self::parse(cx.module, cx.args)
            }

            /// [`Self::from_cx`] of a bare argument map (tests, and modules
            /// that read another module's arguments).
            #[allow(dead_code)]
            pub fn parse(
                module: &str,
                args: &serde_json::Map<String, serde_json::Value>,
            ) -> Result<Self, $crate::modules::PlanError> {
                $crate::modules::typed::deny_unknown(module, args, Self::ARGS)?;
                Self::parse_named(module, args)
            }

            /// [`Self::parse`] for a module that takes any other names as
            /// well ([`super::ModuleSpec::open`]: `add_host`'s variables):
            /// only the fields' names are read, the rest left to it.
            #[allow(dead_code, unused_variables)]
            pub fn parse_named(
                module: &str,
                args: &serde_json::Map<String, serde_json::Value>,
            ) -> Result<Self, $crate::modules::PlanError> {
                Ok(Self {
                    $($field: $crate::modules::typed::field::<$ty>(module, args, &[$($alias),+], {
                        #[allow(unused_mut, unused_assignments)]
                        let mut default: Option<$ty> = None;
                        $(default = Some($default);)?
                        default
                    })?,)*
                })
            }
        }
    };
}
pub(crate) use module_args;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    choice! {
        enum State { Present = "present", Absent = "absent" }
    }

    module_args! {
        struct Args {
            path: String ["path", "dest", "name"],
            state: State ["state"] = State::Present,
            follow: bool ["follow"] = false,
            uid: Option<u64> ["uid"],
            groups: Vec<String> ["groups"] = Vec::new(),
        }
    }

    fn parse(v: Json) -> Result<Args, PlanError> {
        let Json::Object(m) = v else {
            panic!("an object")
        };
        Args::parse("m", &m)
    }

    fn fail(r: Result<Args, PlanError>) -> String {
        match r {
            Err(PlanError::Fail(m)) => m,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn table_lists_every_name_with_its_kind() {
        let names: Vec<_> = Args::ARGS.iter().map(|a| a.name).collect();
        assert_eq!(
            names,
            ["path", "dest", "name", "state", "follow", "uid", "groups"]
        );
        assert_eq!(Args::ARGS[3].kind, Kind::Choice(&["present", "absent"]));
        assert_eq!(Args::ARGS[4].kind, Kind::Bool);
        assert_eq!(Args::ARGS[5].kind, Kind::Int);
        assert_eq!(Args::ARGS[6].kind, Kind::List);
    }

    #[test]
    fn defaults_aliases_and_conversions() {
        let a =
            parse(json!({"dest": "/x", "follow": "yes", "uid": "7", "groups": "a, b,"})).unwrap();
        assert_eq!(a.path, "/x");
        assert_eq!(a.state, State::Present);
        assert!(a.follow);
        assert_eq!(a.uid, Some(7));
        assert_eq!(a.groups, ["a", "b"]);
        let a = parse(json!({"path": "/y", "state": "absent", "uid": null})).unwrap();
        assert_eq!((a.state, a.uid, a.follow), (State::Absent, None, false));
    }

    #[test]
    fn wrong_values_name_the_argument() {
        assert_eq!(fail(parse(json!({}))), "`m` needs the argument `path`");
        assert_eq!(
            fail(parse(json!({"path": "/x", "state": "presnt"}))),
            "`m`: `state` must be one of present, absent, got \"presnt\""
        );
        assert_eq!(
            fail(parse(json!({"path": "/x", "follow": "maybe"}))),
            "`m`: `follow` must be yes or no, got \"maybe\""
        );
        assert_eq!(
            fail(parse(json!({"path": "/x", "colour": 1}))),
            "`m` does not take the argument `colour`"
        );
        assert_eq!(
            fail(parse(json!({"name": "/x", "uid": -1}))),
            "`m`: `uid` must be a non-negative integer, got -1"
        );
    }
}
