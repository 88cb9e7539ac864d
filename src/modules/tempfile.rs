//! `tempfile`: create a uniquely named file or directory on the host and
//! return its `path` (ansible-core's `setup_remote_tmp_dir` role and many
//! others start with it).
//!
//! It runs coreutils' `mktemp` (Ansible's module uses Python's `mkstemp`
//! with the same `prefix`/`suffix` and eight random characters; `mktemp`
//! uses ten). Always a change, and unknown in check mode: the name does not
//! exist until it is made.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change};
use super::typed::{choice, module_args};
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

choice! {
    /// What `state` asks `mktemp` to make.
    pub enum State { Directory = "directory", File = "file" }
}

module_args! {
    /// `tempfile`'s arguments.
    pub struct Args {
        state: State ["state"] = State::File,
        /// The directory to make it in: `$TMPDIR`, else `/tmp`, when left out.
        path: Option<String> ["path"],
        prefix: String ["prefix"] = "ansible.".into(),
        suffix: String ["suffix"] = String::new(),
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let state = args.state.as_str();
    let dir_flag = match args.state {
        State::File => "",
        State::Directory => " -d",
    };
    let (prefix, suffix) = (args.prefix, args.suffix);
    // ansible-core's words: a name with a `/` is not its own basename.
    for (name, value) in [("prefix", &prefix), ("suffix", &suffix)] {
        if value.contains('/') {
            return Err(PlanError::Fail(format!(
                "{name} must be a valid file name component, got {}; put the directory in `path`",
                super::args::py_repr(value)
            )));
        }
    }
    // Python's gettempdir(): $TMPDIR, else /tmp.
    let dir = match &args.path {
        Some(p) => quote(p),
        None => "\"${TMPDIR:-/tmp}\"".to_string(),
    };
    let script = format!(
        "mktemp{dir_flag} -p {dir} --suffix={} {}\n",
        quote(&suffix),
        quote(&format!("{prefix}XXXXXXXXXX"))
    );
    let mut result = Map::new();
    result.insert("changed".into(), json!(true));
    result.insert("state".into(), json!(state));
    Ok(Decision::Run {
        action: Action {
            output: OutputMode::Parse(parse_output),
            ..change::checked(
                vec![Change::Raw {
                    script,
                    why: "`mktemp` makes the name on the host and prints it: the path is \
                          known only from its output",
                }],
                result,
            )?
        },
        waits_for: format!("the path of a new temporary {state}: nothing is created in check mode"),
    })
}

fn parse_output(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    if status == 0 {
        m.insert("changed".into(), json!(true));
        m.insert("path".into(), json!(stdout.trim_end_matches('\n')));
    } else {
        m.insert("failed".into(), json!(true));
        m.insert(
            "msg".into(),
            json!(format!("mktemp failed (exit {status}): {}", stderr.trim())),
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;

    fn script(args: Json) -> String {
        let f = Fixture::new("tempfile", args);
        match plan(&f.cx()) {
            Ok(Decision::Run { action, .. }) => action.script,
            other => panic!("tempfile decided {other:?}"),
        }
    }

    #[test]
    fn a_directory_with_prefix_and_suffix_in_the_default_temp_dir() {
        assert_eq!(
            script(json!({"state": "directory", "suffix": ".test"})),
            "set -e\nmktemp -d -p \"${TMPDIR:-/tmp}\" --suffix=.test ansible.XXXXXXXXXX\n"
        );
    }

    #[test]
    fn a_file_under_a_given_path_is_quoted() {
        assert_eq!(
            script(json!({"path": "/tmp/a b", "prefix": "x$(id)"})),
            "set -e\nmktemp -p '/tmp/a b' --suffix='' 'x$(id)XXXXXXXXXX'\n"
        );
    }

    #[test]
    fn the_path_made_is_returned() {
        let m = parse_output(0, "/tmp/ansible.abc.test\n", "");
        assert_eq!(m["path"], "/tmp/ansible.abc.test");
        assert_eq!(m["changed"], true);
        let m = parse_output(1, "", "mktemp: failed to create directory");
        assert_eq!(m["failed"], true);
    }

    #[test]
    fn a_slash_in_the_prefix_is_refused() {
        let f = Fixture::new("tempfile", json!({"prefix": "a/b"}));
        match plan(&f.cx()) {
            Err(PlanError::Fail(m)) => assert!(
                m.starts_with("prefix must be a valid file name component, got 'a/b'"),
                "{m}"
            ),
            _ => panic!("a `/` in the prefix was taken"),
        }
    }
}
