//! `slurp`: a file of the host, base64-encoded in the result, as
//! ansible-core's `slurp` returns it (`content`, `encoding: base64`,
//! `source`). The file is read by the probe (one read-only command, batched
//! with the probes around it, in `--check` too) and never reported as a
//! change. Files over the probe's 1 MiB limit are refused with a message.

use base64::Engine as _;
use serde_json::{json, Map};

use super::sysargs::both;
use super::typed::module_args;
use super::{Decision, PlanCx, PlanError};
use crate::probe::FileKind;

module_args! {
    /// `slurp`'s arguments.
    pub struct Args {
        /// The file to read. Optional here to fail with ansible-core's message.
        src: Option<String> ["src", "path"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let src = Args::from_cx(cx)?
        .src
        .ok_or_else(|| PlanError::Fail("missing required arguments: src".into()))?;
    let (st, content) = both(cx.file(&src, true), cx.content(&src))?;
    let bytes = match (st.kind, content) {
        (FileKind::Missing | FileKind::Directory, _) | (_, None) => {
            return Err(PlanError::Fail(why_unreadable(cx, &src)?))
        }
        (_, Some(bytes)) => bytes,
    };
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert(
        "content".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(&bytes)),
    );
    result.insert("encoding".into(), json!("base64"));
    result.insert("source".into(), json!(src));
    Ok(Decision::Ok {
        result,
        msg: Some(format!("{} bytes", bytes.len())),
    })
}

/// Why `src` could not be read, in ansible-core's words (its `open()`
/// errors: ENOENT, EISDIR, EACCES, and the rest as "Unable to slurp file"),
/// asked of the host as the task's user only when the read failed.
fn why_unreadable(cx: &PlanCx, src: &str) -> Result<String, PlanError> {
    Ok(why_message(cx.read(&why_script(src))?.trim(), src))
}

/// The host's read behind [`why_unreadable`]: one word for the case.
fn why_script(src: &str) -> String {
    format!(
        "p={}\n\
         if [ -d \"$p\" ]; then if [ -r \"$p\" ]; then echo isdir; else echo unreadable; fi\n\
         elif [ -e \"$p\" ]; then if [ -r \"$p\" ]; then echo large; else echo unreadable; fi\n\
         else case $(LC_ALL=C ls -d -- \"$p\" 2>&1) in\n\
         *'Permission denied'*) echo unreadable;; *'Not a directory'*) echo other;; *) echo missing;; esac\n\
         fi\n",
        rprov_transport::quote(src)
    )
}

fn why_message(word: &str, src: &str) -> String {
    match word {
        "isdir" => format!("Source is a directory and must be a file: {src}"),
        "unreadable" => format!("File is not readable: {src}"),
        "large" => format!("`{src}` is larger than 1 MiB: rprov's slurp reads smaller files"),
        "other" => format!("Unable to slurp file: {src}"),
        _ => format!("File not found: {src}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing;
    use super::super::Decision;

    #[test]
    fn content_is_base64_as_ansibles() {
        let d = testing::run_on_file(
            "slurp",
            "/etc/motd",
            json!({"src": "/etc/motd"}),
            Some("hi\n"),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        // base64.b64encode(b"hi\n") in Python.
        assert_eq!(result["content"], "aGkK");
        assert_eq!(result["encoding"], "base64");
        assert_eq!(result["source"], "/etc/motd");
    }

    /// The host's answer to why a path cannot be slurped, run by `sh` on
    /// real paths, in ansible-core's words.
    #[test]
    fn failures_are_told_apart_as_ansible_core_tells_them() {
        let t = tempfile::tempdir().expect("tempdir");
        let file = t.path().join("f");
        std::fs::write(&file, "x").expect("write");
        let why = |p: &std::path::Path| {
            let p = p.display().to_string();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(super::why_script(&p))
                .output()
                .expect("sh");
            super::why_message(String::from_utf8_lossy(&out.stdout).trim(), &p)
        };
        assert!(why(t.path()).starts_with("Source is a directory and must be a file: "));
        assert!(why(&t.path().join("nope/x")).starts_with("File not found: "));
        assert!(why(&file.join("x")).starts_with("Unable to slurp file: "));
    }
}
