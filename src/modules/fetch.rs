//! `fetch`: a file of the host copied to the controller, as ansible-core's
//! action plugin of that name (`plugins/action/fetch.py`).
//!
//! The one module whose change is on the controller, not the host. The file
//! is read by the probe (its stat, following links, and its bytes, in one
//! read-only command batched with the probes around it), so the plan already
//! holds what it would write: it compares the bytes' sha1 with the
//! controller's copy and returns [`Decision::Ok`] when they match, else a
//! [`Decision::WriteLocal`] that the executor carries out on the controller
//! (atomically, parents created) and skips in `--check`. The probe reads
//! files up to 1 MiB ([`crate::probe::MAX_DIFF_BYTES`]); a larger one fails
//! the task with a message saying so.
//!
//! Where the copy goes, as ansible-core: `dest/<inventory_hostname>/<src>`,
//! or with `flat: yes` `dest` itself (`dest/<basename of src>` when `dest`
//! ends with `/`); a relative `dest` is relative to the playbook's directory
//! (ansible-core's loader base directory, also for a task in a role) and `~`
//! is the controller user's home.

use std::path::{Path, PathBuf};

use md5::Md5;
use serde_json::{json, Map, Value as Json};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::sysargs::both;
use super::typed::module_args;
use super::{Decision, Diff, LocalWrite, PlanCx, PlanError};
use crate::probe::{FileKind, MAX_DIFF_BYTES};

module_args! {
    /// `fetch`'s arguments.
    pub struct Args {
        /// The host's file. Optional here, as `dest`, to fail with
        /// ansible-core's message.
        src: Option<String> ["src"],
        dest: Option<String> ["dest"],
        flat: bool ["flat"] = false,
        fail_on_missing: bool ["fail_on_missing"] = true,
        validate_checksum: bool ["validate_checksum"] = true,
    }
}

/// ansible-core's words for a file that is not there.
const MISSING: &str = "the remote file does not exist, not transferring, ignored";
/// ansible-core's words for a directory.
const IS_DIR: &str = "remote file is a directory, fetch cannot work on directories";

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let (Some(src), Some(dest)) = (args.src, args.dest) else {
        return Err(PlanError::Fail("src and dest are required".into()));
    };
    let src = cx.expand_home(&src)?;
    let (st, content) = both(cx.file(&src, true), cx.content(&src))?;
    // Not there or not readable: `fail_on_missing` says whether the task
    // fails; otherwise it is ok with the same message, as ansible-core's.
    let unusable = |msg: String| {
        if args.fail_on_missing {
            return Err(PlanError::Fail(msg));
        }
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        result.insert("file".into(), json!(src));
        result.insert("msg".into(), json!(msg));
        Ok(Decision::Ok {
            result,
            msg: Some(msg),
        })
    };
    let bytes = match st.kind {
        FileKind::Missing => return unusable(MISSING.into()),
        FileKind::Directory if args.fail_on_missing => return Err(PlanError::Fail(IS_DIR.into())),
        FileKind::Directory => {
            let msg = format!("{IS_DIR}, not transferring, ignored");
            let mut result = Map::new();
            result.insert("changed".into(), json!(false));
            result.insert("msg".into(), json!(msg));
            return Ok(Decision::Ok {
                result,
                msg: Some(msg),
            });
        }
        _ if st.size > MAX_DIFF_BYTES => {
            return Err(PlanError::Fail(format!(
                "`{src}` is {} bytes: rprov's fetch reads files up to {MAX_DIFF_BYTES} bytes (1 MiB) through its probe",
                st.size
            )))
        }
        _ => match content {
            Some(b) => b,
            None => return unusable(format!("File is not readable: {src}")),
        },
    };
    // The stat's sha256 and the bytes come from one probe command: a
    // mismatch is a file that changed between the two reads (or bytes
    // damaged on the way), which `validate_checksum` refuses to store.
    if args.validate_checksum {
        if let Some(want) = &st.sha256 {
            if *want != hex::encode(Sha256::digest(&bytes)) {
                return Err(PlanError::Fail(format!(
                    "checksum mismatch: `{src}` changed while it was read; run again"
                )));
            }
        }
    }
    let path = local_dest(cx, &src, &dest, args.flat)?;
    let remote_checksum = hex::encode(Sha1::digest(&bytes));
    let old = std::fs::read(&path).ok();
    let dest_text = path.to_string_lossy().into_owned();
    let mut result = Map::new();
    result.insert("md5sum".into(), json!(hex::encode(Md5::digest(&bytes))));
    result.insert("dest".into(), json!(dest_text));
    result.insert("checksum".into(), json!(remote_checksum));
    if old.as_deref().map(|o| hex::encode(Sha1::digest(o))) == Some(remote_checksum.clone()) {
        result.insert("changed".into(), json!(false));
        result.insert("file".into(), json!(src));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    result.insert("remote_md5sum".into(), Json::Null);
    result.insert("remote_checksum".into(), json!(remote_checksum));
    // A header and a summary line, no text: Ansible's fetch shows no diff,
    // and fetched files are often keys.
    let diff = Diff {
        path: dest_text,
        before: None,
        after: None,
        attrs: vec![match &old {
            None => format!("fetched from {src}: {} bytes, new file", bytes.len()),
            Some(o) => format!(
                "fetched from {src}: {} bytes (was {})",
                bytes.len(),
                o.len()
            ),
        }],
    };
    Ok(Decision::WriteLocal(Box::new(LocalWrite {
        path,
        bytes,
        diffs: vec![diff],
        result,
    })))
}

/// The controller path the copy goes to, as ansible-core's action plugin
/// computes it (normalized lexically, as its `os.path.normpath`).
fn local_dest(cx: &PlanCx, src: &str, dest: &str, flat: bool) -> Result<PathBuf, PlanError> {
    let joined = if flat {
        if Path::new(dest).is_dir() && !dest.ends_with('/') {
            return Err(PlanError::Fail(
                "dest is an existing directory, use a trailing slash if you want to fetch src into that directory".into(),
            ));
        }
        let mut d = dest.to_string();
        if d.ends_with('/') {
            let base = src.rsplit('/').next().unwrap_or(src);
            d.push_str(base);
            if Path::new(&d).is_dir() {
                return Err(PlanError::Fail(format!(
                    "calculated dest '{d}' is an existing directory, use another path that does not point to an existing directory"
                )));
            }
        }
        if d.starts_with('/') {
            d
        } else {
            from_playbook(cx, &d)
        }
    } else {
        format!(
            "{}/{}/{src}",
            from_playbook(cx, dest),
            cx.inventory_hostname
        )
    };
    Ok(PathBuf::from(rprov_template::filters::path::normpath_str(
        &joined,
    )))
}

/// A controller path as ansible-core's `path_dwim`: `~` is the controller
/// user's home, a relative path is under the playbook's directory.
fn from_playbook(cx: &PlanCx, p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    if p == "~" || p.starts_with("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return format!("{}{}", home.to_string_lossy(), &p[1..]);
        }
    }
    cx.search
        .playbook_dir
        .join(p)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing;
    use super::super::{Decision, PlanError};
    use crate::probe::{Fact, FileState, Probe};

    /// Plans `fetch` against a host whose `/etc/motd` holds `content`
    /// (None: missing).
    fn run(args: serde_json::Value, content: Option<&[u8]>) -> Result<Decision, PlanError> {
        testing::run("fetch", args, |p| match p {
            Probe::File { .. } => Some(Fact::File(match content {
                Some(c) => testing::file(c, "644", "root"),
                None => FileState::missing(),
            })),
            Probe::Content { .. } => Some(Fact::Content(content.map(<[u8]>::to_vec))),
            _ => None,
        })
    }

    #[test]
    fn first_fetch_writes_under_dest_host_path() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().display().to_string();
        let d = run(json!({"src": "/etc/motd", "dest": dest}), Some(b"hi\n")).unwrap();
        let Decision::WriteLocal(w) = d else {
            panic!("{d:?}")
        };
        assert_eq!(w.path, dir.path().join("testhost/etc/motd"));
        assert_eq!(w.bytes, b"hi\n");
        // sha1/md5 of b"hi\n", as Python's hashlib gives them.
        assert_eq!(
            w.result["checksum"],
            "55ca6286e3e4f4fba5d0448333fa99fc5a404a73"
        );
        assert_eq!(w.result["remote_checksum"], w.result["checksum"]);
        assert_eq!(w.result["md5sum"], "764efa883dda1e11db47671c4a3bbd9e");
        assert_eq!(w.result["changed"], true);
        assert!(!w.result.contains_key("file"));
    }

    #[test]
    fn same_bytes_on_the_controller_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("motd"), b"hi\n").unwrap();
        let dest = format!("{}/", dir.path().display());
        let d = run(
            json!({"src": "/etc/motd", "dest": dest, "flat": true}),
            Some(b"hi\n"),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["changed"], false);
        assert_eq!(result["file"], "/etc/motd");
        assert_eq!(
            result["dest"],
            dir.path().join("motd").display().to_string()
        );
    }

    #[test]
    fn flat_refuses_an_existing_directory_without_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().display().to_string();
        let m = testing::fail_msg(run(
            json!({"src": "/etc/motd", "dest": dest, "flat": true}),
            Some(b"x"),
        ));
        assert!(m.starts_with("dest is an existing directory"), "{m}");
        std::fs::create_dir(dir.path().join("motd")).unwrap();
        let m = testing::fail_msg(run(
            json!({"src": "/etc/motd", "dest": format!("{dest}/"), "flat": true}),
            Some(b"x"),
        ));
        assert!(m.starts_with("calculated dest '"), "{m}");
    }

    #[test]
    fn missing_file_fails_or_is_ignored_per_fail_on_missing() {
        let m = testing::fail_msg(run(json!({"src": "/etc/motd", "dest": "/tmp/x"}), None));
        assert_eq!(m, super::MISSING);
        let d = run(
            json!({"src": "/etc/motd", "dest": "/tmp/x", "fail_on_missing": false}),
            None,
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["msg"], super::MISSING);
        assert_eq!(result["changed"], false);
        assert_eq!(result["file"], "/etc/motd");
    }

    #[test]
    fn directory_fails_unless_fail_on_missing_is_off() {
        let dir_state = |p: &Probe| match p {
            Probe::File { .. } => Some(Fact::File(testing::dir("755", "root"))),
            Probe::Content { .. } => Some(Fact::Content(None)),
            _ => None,
        };
        let m = testing::fail_msg(testing::run(
            "fetch",
            json!({"src": "/etc", "dest": "/tmp/x"}),
            dir_state,
        ));
        assert_eq!(m, super::IS_DIR);
        let d = testing::run(
            "fetch",
            json!({"src": "/etc", "dest": "/tmp/x", "fail_on_missing": "no"}),
            dir_state,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn a_file_over_the_probe_limit_fails_clearly() {
        let m = testing::fail_msg(testing::run(
            "fetch",
            json!({"src": "/big", "dest": "/tmp/x"}),
            |p| match p {
                Probe::File { .. } => Some(Fact::File(FileState {
                    size: 2 << 20,
                    nlink: 1,
                    ..testing::file(b"", "644", "root")
                })),
                Probe::Content { .. } => Some(Fact::Content(None)),
                _ => None,
            },
        ));
        assert!(m.contains("up to 1048576 bytes"), "{m}");
    }

    #[test]
    fn relative_dest_is_under_the_playbook_and_args_are_required() {
        let m = testing::fail_msg(run(json!({"src": "/etc/motd"}), Some(b"x")));
        assert_eq!(m, "src and dest are required");
        // testing's SearchPaths has an empty playbook directory.
        let d = run(json!({"src": "/etc/motd", "dest": "out"}), Some(b"x")).unwrap();
        let Decision::WriteLocal(w) = d else {
            panic!("{d:?}")
        };
        assert_eq!(w.path, std::path::Path::new("out/testhost/etc/motd"));
    }
}
