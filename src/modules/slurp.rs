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
    let bytes = match st.kind {
        FileKind::Missing => return Err(PlanError::Fail(format!("file not found: {src}"))),
        FileKind::Directory => {
            return Err(PlanError::Fail(
                "source is a directory and must be a file".into(),
            ))
        }
        _ => content.ok_or_else(|| {
            PlanError::Fail(format!(
                "`{src}` is larger than 1 MiB or unreadable: rprov's slurp reads smaller files"
            ))
        })?,
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
        let missing = testing::run_on_file("slurp", "/etc/motd", json!({"src": "/etc/motd"}), None);
        assert!(
            matches!(&missing, Err(super::PlanError::Fail(m)) if m == "file not found: /etc/motd"),
            "{missing:?}"
        );
    }
}
