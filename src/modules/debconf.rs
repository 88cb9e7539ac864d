//! `debconf`: one answer in the debconf database, or the package's answers.
//!
//! As ansible-core's module: the current answers come from `debconf-show
//! PKG` (its `* question: value` lines), a `password` question is compared
//! against `debconf-get-selections` (debconf-show never prints passwords),
//! and the change is one `debconf-set-selections` line. Both the comparison
//! of a password and the line that sets one stay off every command line: the
//! password probe compares with the shell's builtin `[` on the host (only
//! `same` or `differs` comes back), and the selection line reaches
//! `debconf-set-selections` on stdin.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read};
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};

/// The file debconf keeps answers in: what the `debconf-show` probe is about,
/// and what a change makes stale.
const CONFIG_DAT: &str = "/var/cache/debconf/config.dat";
/// Where debconf keeps passwords (root only).
const PASSWORDS_DAT: &str = "/var/cache/debconf/passwords.dat";
/// How a password shows in a diff.
const MASK: &str = "********";

choice! {
    /// The type of the answer, as `debconf-set-selections` takes it.
    pub enum Vtype {
        Boolean = "boolean",
        Error = "error",
        Multiselect = "multiselect",
        Note = "note",
        Password = "password",
        Seen = "seen",
        Select = "select",
        String = "string",
        Text = "text",
        Title = "title",
    }
}

module_args! {
    /// `debconf`'s arguments, with Ansible's aliases.
    pub struct Args {
        name: String ["name", "pkg"],
        question: Option<String> ["question", "selection", "setting"],
        vtype: Option<Vtype> ["vtype"],
        /// Text, a boolean for `boolean`, or a list for `multiselect`.
        value: Option<Json> ["value", "answer"],
        /// `debconf-set-selections -u`: leave the question unseen.
        unseen: bool ["unseen"] = false,
    }
}

/// The answer the task wants, in the form it is compared in.
#[derive(Debug, PartialEq)]
enum Wanted {
    Text(String),
    /// A `multiselect` given as a list: compared as a sorted set of items.
    Set(Vec<String>),
}

impl Wanted {
    /// As `debconf-set-selections` takes it (a set `, `-joined).
    fn line_value(&self) -> String {
        match self {
            Wanted::Text(s) => s.clone(),
            Wanted::Set(items) => items.join(", "),
        }
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let given = [
        args.question.is_some(),
        args.vtype.is_some(),
        args.value.is_some(),
    ];
    if given.contains(&true) && given.contains(&false) {
        return Err(PlanError::Fail(
            "parameters are required together: question, vtype, value".into(),
        ));
    }
    let prev = selections(cx, &args.name)?;
    let (Some(question), Some(vtype), Some(value)) = (&args.question, args.vtype, &args.value)
    else {
        // A query: the package's answers.
        return Ok(unchanged(prev));
    };
    let wanted = wanted(vtype, value)?;
    let changed = match prev.get(question) {
        None => true,
        Some(existing) => {
            let existing = existing.as_str().unwrap_or_default();
            match (&wanted, vtype) {
                (_, Vtype::Password) => !same_password(cx, &args.name, question, &wanted)?,
                (Wanted::Text(w), Vtype::Boolean) => *w != existing.to_lowercase(),
                (Wanted::Set(w), _) => {
                    let mut have: Vec<String> =
                        existing.split(',').map(|i| i.trim().to_string()).collect();
                    have.sort();
                    *w != have
                }
                (Wanted::Text(w), _) => w != existing,
            }
        }
    };
    if !changed {
        return Ok(unchanged(prev));
    }
    let before = prev
        .get(question)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let after = wanted.line_value();
    let mut result = Map::new();
    result.insert("changed".into(), json!(true));
    result.insert("msg".into(), json!(""));
    result.insert("current".into(), json!({ question.as_str(): after }));
    result.insert("previous".into(), json!({ question.as_str(): before }));
    let mut argv = vec!["debconf-set-selections".to_string()];
    if args.unseen {
        argv.push("-u".into());
    }
    let mut action = change::checked(vec![Change::Run { argv }], result)?;
    action.stdin =
        Some(format!("{} {question} {} {after}\n", args.name, vtype.as_str()).into_bytes());
    action.touches = vec![CONFIG_DAT.into(), PASSWORDS_DAT.into()];
    // A password is never shown: its change is an attribute line alone.
    let diff = if vtype == Vtype::Password {
        Diff {
            path: format!("debconf {}", args.name),
            attrs: vec![format!("{question}: password {MASK} set (not shown)")],
            ..Diff::default()
        }
    } else {
        Diff {
            path: format!("debconf {}", args.name),
            before: Some(format!("{question}: {before}\n")),
            after: Some(format!("{question}: {after}\n")),
            attrs: Vec::new(),
        }
    };
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

/// Nothing to do: `current` is every answer the package has.
fn unchanged(prev: Map<String, Json>) -> Decision {
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("msg".into(), json!(""));
    result.insert("current".into(), Json::Object(prev));
    Decision::Ok { result, msg: None }
}

/// The value as ansible-core compares it: a boolean's text lower-cased
/// (`True` and `"TRUE"` are `true`, as debconf stores it), a `multiselect`
/// list sorted, anything else text.
fn wanted(vtype: Vtype, value: &Json) -> Result<Wanted, PlanError> {
    match (vtype, value) {
        (Vtype::Boolean, Json::Bool(b)) => Ok(Wanted::Text(b.to_string())),
        (Vtype::Boolean, Json::String(s)) => Ok(Wanted::Text(s.to_lowercase())),
        (Vtype::Boolean, Json::Number(n)) => Ok(Wanted::Text(n.to_string())),
        (Vtype::Multiselect, Json::Array(items)) => {
            let mut set = items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    PlanError::Fail(format!(
                        "Invalid value provided for 'multiselect': every item must be a \
                         string, got {value}"
                    ))
                })?;
            set.sort();
            Ok(Wanted::Set(set))
        }
        (_, Json::String(s)) => Ok(Wanted::Text(s.clone())),
        // ansible-core fails on these too, when it joins the selection line.
        (vtype, other) => Err(PlanError::Fail(format!(
            "`debconf`: `value` must be a string for vtype `{}`, got {other}",
            vtype.as_str()
        ))),
    }
}

/// The package's answers from `debconf-show`, question → value.
fn selections(cx: &PlanCx, pkg: &str) -> Result<Map<String, Json>, PlanError> {
    let answer = cx.ask_about(
        CONFIG_DAT,
        Read::Status(vec!["debconf-show".into(), pkg.into()]),
    )?;
    let (out, rc) = change::read::split_status(&answer);
    match rc {
        Some(0) => Ok(parse_show(&out)),
        Some(127) => Err(PlanError::Fail(
            "Failed to find required executable \"debconf-show\" (is debconf installed?)".into(),
        )),
        rc => Err(PlanError::Fail(format!(
            "`debconf-show {pkg}` failed (exit status {})",
            rc.map_or_else(|| "unknown".to_string(), |r| r.to_string())
        ))),
    }
}

/// `debconf-show`'s lines: `* question: value` (`*` when seen), each split
/// at its first `:` and trimmed, as ansible-core reads them.
fn parse_show(out: &str) -> Map<String, Json> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim_matches('*').trim().to_string(), json!(v.trim())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Whether `debconf-get-selections` holds this password already: ansible-core
/// reads the password there, since debconf-show omits it. The comparison is
/// made on the host with builtins, so the password is on no command line and
/// never comes back.
fn same_password(
    cx: &PlanCx,
    pkg: &str,
    question: &str,
    wanted: &Wanted,
) -> Result<bool, PlanError> {
    let line = format!("{pkg}\t{question}\tpassword\t{}", wanted.line_value());
    let script = format!(
        "command -v debconf-get-selections >/dev/null 2>&1 || {{ echo missing; exit 0; }}\n\
         _rp_want={}\n\
         debconf-get-selections 2>/dev/null | {{ _rp_r=differs; \
         while IFS= read -r _rp_l; do [ \"$_rp_l\" != \"$_rp_want\" ] || _rp_r=same; done; \
         echo \"$_rp_r\"; }}\n",
        quote(&line)
    );
    let out = cx.ask_about(
        PASSWORDS_DAT,
        Read::Raw {
            script,
            why: "a password compared on the host with builtins: only `same` or `differs` \
                  leaves it",
        },
    )?;
    match out.trim() {
        "same" => Ok(true),
        "differs" => Ok(false),
        "missing" => Err(PlanError::Fail(
            "Failed to find required executable \"debconf-get-selections\" (install \
             debconf-utils): a password question is compared against it"
                .into(),
        )),
        other => Err(PlanError::Fail(format!(
            "unexpected answer from the debconf password probe: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, fail_msg};
    use super::*;
    use crate::probe::{Fact, Probe};

    const SHOW: &str = "* tzdata/Areas: Europe\n  tzdata/Zones/Europe: Berlin\n\
                        * libnss-ldapd/nsswitch: group, passwd, shadow\n\
                        * pkg/flag: True\n* pkg/pw: (password omitted)\n";

    /// Plans with `debconf-show` printing `show` and the password probe
    /// answering `pw`.
    fn run(args: Json, show: &str, pw: &'static str) -> Result<Decision, PlanError> {
        let show = format!("{show}\n@rc 0\n");
        testing::run("debconf", args, move |p| match p {
            Probe::PathShell { script, .. } if script.contains("debconf-show") => {
                Some(Fact::Text(show.clone()))
            }
            Probe::PathShell { script, .. } if script.contains("debconf-get-selections") => {
                Some(Fact::Text(format!("{pw}\n")))
            }
            _ => None,
        })
    }

    fn change(r: Result<Decision, PlanError>) -> (Vec<Diff>, super::super::Action) {
        match r {
            Ok(Decision::Change { diffs, action }) => (diffs, action),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn query_returns_every_answer() {
        let Ok(Decision::Ok { result, .. }) = run(json!({"name": "tzdata"}), SHOW, "") else {
            panic!("expected ok");
        };
        assert_eq!(result["current"]["tzdata/Areas"], json!("Europe"));
        assert_eq!(result["current"]["tzdata/Zones/Europe"], json!("Berlin"));
    }

    #[test]
    fn same_answer_is_no_change() {
        let r = run(
            json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": "Europe"}),
            SHOW,
            "",
        );
        assert!(matches!(r, Ok(Decision::Ok { .. })), "{r:?}");
    }

    #[test]
    fn new_answer_goes_on_stdin() {
        let (diffs, action) = change(run(
            json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select",
                   "value": "$(touch /tmp/x)", "unseen": true}),
            SHOW,
            "",
        ));
        assert_eq!(
            action.changes,
            vec![Change::Run {
                argv: vec!["debconf-set-selections".into(), "-u".into()]
            }]
        );
        assert!(!action.script.contains("touch"));
        assert_eq!(
            action.stdin.as_deref(),
            Some(&b"tzdata tzdata/Areas select $(touch /tmp/x)\n"[..])
        );
        assert_eq!(diffs[0].before.as_deref(), Some("tzdata/Areas: Europe\n"));
        assert_eq!(action.result["previous"], json!({"tzdata/Areas": "Europe"}));
        assert_eq!(
            action.result["current"],
            json!({"tzdata/Areas": "$(touch /tmp/x)"})
        );
    }

    #[test]
    fn unknown_question_is_a_change_from_empty() {
        let (_, action) = change(run(
            json!({"name": "tzdata", "question": "tzdata/New", "vtype": "string", "value": "x"}),
            SHOW,
            "",
        ));
        assert_eq!(action.result["previous"], json!({"tzdata/New": ""}));
    }

    #[test]
    fn booleans_compare_lower_cased() {
        for v in [json!(true), json!("TRUE"), json!("true")] {
            let r = run(
                json!({"name": "pkg", "question": "pkg/flag", "vtype": "boolean", "value": v}),
                SHOW,
                "",
            );
            assert!(matches!(r, Ok(Decision::Ok { .. })), "{v}: {r:?}");
        }
        let (_, action) = change(run(
            json!({"name": "pkg", "question": "pkg/flag", "vtype": "boolean", "value": "FALSE"}),
            SHOW,
            "",
        ));
        assert_eq!(
            action.stdin.as_deref(),
            Some(&b"pkg pkg/flag boolean false\n"[..])
        );
    }

    #[test]
    fn multiselect_list_compares_as_a_set_and_text_as_text() {
        let q = json!({"name": "libnss-ldapd", "question": "libnss-ldapd/nsswitch",
                       "vtype": "multiselect", "value": ["shadow", "group", "passwd"]});
        assert!(matches!(run(q, SHOW, ""), Ok(Decision::Ok { .. })));
        // Given as text it is compared as text, as ansible-core does.
        let (_, action) = change(run(
            json!({"name": "libnss-ldapd", "question": "libnss-ldapd/nsswitch",
                   "vtype": "multiselect", "value": "shadow, group, passwd"}),
            SHOW,
            "",
        ));
        assert_eq!(
            action.stdin.as_deref(),
            Some(&b"libnss-ldapd libnss-ldapd/nsswitch multiselect shadow, group, passwd\n"[..])
        );
        let (_, action) = change(run(
            json!({"name": "libnss-ldapd", "question": "libnss-ldapd/nsswitch",
                   "vtype": "multiselect", "value": ["shadow", "group"]}),
            SHOW,
            "",
        ));
        assert_eq!(
            action.stdin.as_deref(),
            Some(&b"libnss-ldapd libnss-ldapd/nsswitch multiselect group, shadow\n"[..])
        );
        let msg = fail_msg(run(
            json!({"name": "libnss-ldapd", "question": "libnss-ldapd/nsswitch",
                   "vtype": "multiselect", "value": ["group", 1]}),
            SHOW,
            "",
        ));
        assert!(msg.contains("Invalid value provided"), "{msg}");
    }

    #[test]
    fn password_compared_on_the_host_and_masked() {
        let args =
            json!({"name": "pkg", "question": "pkg/pw", "vtype": "password", "value": "s3cret"});
        assert!(matches!(
            run(args.clone(), SHOW, "same"),
            Ok(Decision::Ok { .. })
        ));
        let (diffs, action) = change(run(args, SHOW, "differs"));
        assert!(!action.script.contains("s3cret"));
        assert_eq!(diffs[0].before, None);
        assert!(diffs[0].attrs.iter().all(|a| !a.contains("s3cret")));
        let msg = fail_msg(run(
            json!({"name": "pkg", "question": "pkg/pw", "vtype": "password", "value": "x"}),
            SHOW,
            "missing",
        ));
        assert!(msg.contains("debconf-get-selections"), "{msg}");
    }

    #[test]
    fn question_vtype_value_go_together() {
        let msg = fail_msg(run(
            json!({"name": "tzdata", "question": "tzdata/Areas"}),
            SHOW,
            "",
        ));
        assert!(msg.contains("required together"), "{msg}");
    }

    #[test]
    fn missing_debconf_show_fails() {
        let r = testing::run("debconf", json!({"name": "tzdata"}), |_| {
            Some(Fact::Text("\n@rc 127\n".into()))
        });
        assert!(fail_msg(r).contains("debconf-show"));
    }

    #[test]
    fn show_lines_parse_as_ansible_core() {
        let m = parse_show("* a/b: x: y\n  c/d:\nnoise\n");
        assert_eq!(m["a/b"], json!("x: y"));
        assert_eq!(m["c/d"], json!(""));
        assert_eq!(m.len(), 2);
    }
}
