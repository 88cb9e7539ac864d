//! Test support: plan a module against facts given by a closure, the way the
//! executor would (probe, re-plan), without any host.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use super::{plan, Decision, PlanCx, PlanError, SearchPaths};
use crate::probe::{Fact, FileKind, FileState, Probe};

/// Plans `module` with `args`, answering every probe it asks for with
/// `answer`. A probe the closure does not know panics with the probe shown, so
/// a test names exactly the host state it depends on.
pub fn run(
    module: &str,
    args: Json,
    answer: impl Fn(&Probe) -> Option<Fact>,
) -> Result<Decision, PlanError> {
    let args: Map<String, Json> = match args {
        Json::Object(m) => m,
        other => panic!("args must be a mapping, got {other}"),
    };
    let mut facts: HashMap<Probe, Fact> = HashMap::new();
    let search = SearchPaths::default();
    let env = Map::new();
    let render = |_: &Path, _: &rprov_template::FileOptions| -> Result<String, String> {
        Err("no templates in tests".into())
    };
    for _ in 0..8 {
        let cx = PlanCx {
            module,
            args: &args,
            facts: &facts,
            search: &search,
            inventory_hostname: "testhost",
            want_diff: true,
            render: &render,
            vault_password: None,
            environment: &env,
            timeout: None,
            async_job: None,
            async_dir: &crate::modules::async_status::AsyncDir::DEFAULT,
            open_files: None,
        };
        match plan(&cx) {
            Err(PlanError::Need(probes)) => {
                for p in probes {
                    let f = answer(&p).unwrap_or_else(|| panic!("unexpected probe {p:?}"));
                    facts.insert(p, f);
                }
            }
            other => return other,
        }
    }
    panic!("{module} kept asking for facts")
}

/// A regular file's state as the stat probe reports it.
pub fn file(content: &[u8], mode: &str, owner: &str) -> FileState {
    FileState {
        kind: FileKind::File,
        mode: mode.into(),
        owner: owner.into(),
        group: owner.into(),
        uid: 0,
        gid: 0,
        size: content.len() as u64,
        nlink: 1,
        sha256: Some(hex::encode(Sha256::digest(content))),
        link_target: None,
    }
}

/// A directory's state.
pub fn dir(mode: &str, owner: &str) -> FileState {
    FileState {
        kind: FileKind::Directory,
        sha256: None,
        size: 4096,
        nlink: 1,
        ..file(b"", mode, owner)
    }
}

/// The script of a decision's action, or a panic naming the decision.
pub fn script(d: &Decision) -> &str {
    match d {
        Decision::Change { action, .. }
        | Decision::Run { action, .. }
        | Decision::Read { action }
        | Decision::Refresh { action, .. } => &action.script,
        Decision::Ok { .. } | Decision::Fallback(_) | Decision::WriteLocal(_) => {
            panic!("expected an action, got {d:?}")
        }
    }
}

/// The typed changes of a decision's action, or a panic.
pub fn changes(d: &Decision) -> &[super::change::Change] {
    match d {
        Decision::Change { action, .. }
        | Decision::Run { action, .. }
        | Decision::Read { action }
        | Decision::Refresh { action, .. } => &action.changes,
        Decision::Ok { .. } | Decision::Fallback(_) | Decision::WriteLocal(_) => {
            panic!("expected an action, got {d:?}")
        }
    }
}

/// The message of a failed plan, or a panic.
pub fn fail_msg(r: Result<Decision, PlanError>) -> String {
    match r {
        Err(PlanError::Fail(m) | PlanError::Missing(m)) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Plans a file-editing `module` on `path` holding `content` (None: the file
/// is missing), answering its stat and content probes.
pub fn run_on_file(
    module: &str,
    path: &str,
    mut args: Json,
    content: Option<&str>,
) -> Result<Decision, PlanError> {
    args["path"] = Json::String(path.to_string());
    run(module, args, |p| match p {
        Probe::File { .. } => Some(Fact::File(match content {
            Some(c) => file(c.as_bytes(), "644", "root"),
            None => FileState::missing(),
        })),
        Probe::Content { .. } => Some(Fact::Content(content.map(|c| c.as_bytes().to_vec()))),
        _ => None,
    })
}

/// The new text of a planned file change.
pub fn after(d: &Decision) -> String {
    match d {
        Decision::Change { diffs, .. } => diffs
            .first()
            .and_then(|x| x.after.clone())
            .unwrap_or_default(),
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Runs `script` with this machine's `sh`, `input` on its stdin: the shell
/// an action or a batch of them would get on a host.
pub fn run_sh(script: &str, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The script may exit before reading all of it (a failed check).
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}
