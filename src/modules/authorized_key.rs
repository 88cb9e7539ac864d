//! `authorized_key`: SSH public keys in a user's `authorized_keys`.
//!
//! Keys are matched by their key material and the file is read and written
//! exactly as ansible.posix's module does (see `authorized_keys_file`), so a
//! changed comment or `key_options` replaces that key instead of adding a
//! second one, and a host keyed by Ansible stays unchanged under rprov. The new file is computed here and written atomically, owned
//! by the user with mode 0600, in `~/.ssh` (0700) created when `manage_dir`.

use serde_json::json;

use super::authorized_keys_file::{self as keys_file, parse_options};
use super::change::{self, Change, Content, Read};
use super::files::Attrs;
use super::mode::Mode;
use super::sysargs::both;
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileKind;

choice! {
    /// Whether the keys are wanted in the file.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `authorized_key`'s arguments.
    pub struct Args {
        user: String ["user"],
        /// One key line or several (a `#` line or an empty one is skipped).
        key: String ["key"],
        state: State ["state"] = State::Present,
        exclusive: bool ["exclusive"] = false,
        /// The file; `~/.ssh/authorized_keys` of `user` when left out.
        path: Option<String> ["path"],
        manage_dir: bool ["manage_dir"] = true,
        key_options: Option<String> ["key_options"],
        comment: Option<String> ["comment"],
        /// Accepted but not acted on: the file is read through a link
        /// whichever it says.
        #[allow(dead_code)]
        follow: bool ["follow"] = false,
        /// Accepted but not acted on: `key` is never fetched from a URL.
        #[allow(dead_code)]
        validate_certs: bool ["validate_certs"] = true,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let Args {
        user,
        key: key_text,
        state,
        exclusive,
        path,
        manage_dir,
        key_options: options,
        comment,
        ..
    } = Args::from_cx(cx)?;
    let present = state == State::Present;
    let mut wanted = Vec::new();
    // As the module: every line that is not empty and not a `#` comment.
    for l in key_text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut k = keys_file::parse_key(l).ok_or_else(|| {
            PlanError::Fail(format!("authorized_key: invalid key specified: `{l}`"))
        })?;
        // key_options and comment override what the key line carries.
        if let Some(o) = &options {
            k.options = parse_options(o);
        }
        if let Some(c) = &comment {
            k.comment = c.clone();
        }
        wanted.push(k);
    }
    if wanted.is_empty() {
        return Err(PlanError::Fail("authorized_key: `key` holds no key".into()));
    }

    let pw = cx.ask_one(Read::Getent {
        db: "passwd",
        key: user.clone(),
    })?;
    let fields: Vec<&str> = pw.lines().next().unwrap_or_default().split(':').collect();
    if fields.len() < 7 {
        return Err(PlanError::Missing(format!(
            "authorized_key: user `{user}` does not exist on the host"
        )));
    }
    let (gid, home) = (fields[3].to_string(), fields[5].to_string());
    let path =
        path.unwrap_or_else(|| format!("{}/.ssh/authorized_keys", home.trim_end_matches('/')));
    let dir = super::files::parent(&path).to_string();
    let ((st, content), dst) = both(
        both(cx.file(&path, true), cx.content(&path)),
        cx.file(&dir, true),
    )?;
    let old = match st.kind {
        FileKind::Missing => String::new(),
        FileKind::File => content
            .and_then(|c| String::from_utf8(c).ok())
            .ok_or_else(|| {
                PlanError::Fail(format!("authorized_key: cannot read `{path}` as text"))
            })?,
        _ => {
            return Err(PlanError::Fail(format!(
                "authorized_key: `{path}` is not a regular file"
            )))
        }
    };

    // ansible.posix's file format and ordering, byte for byte.
    let new = keys_file::update(&old, &wanted, present, exclusive).unwrap_or_else(|| old.clone());

    let attrs = Attrs {
        owner: Some(user.clone()),
        group: Some(gid.clone()),
        mode: Some(Mode::Octal(0o600)),
    };
    let mut diff = Diff {
        path: path.clone(),
        ..Diff::default()
    };
    let mut changes = Vec::new();
    if manage_dir && (present || st.exists()) {
        let dir_attrs = Attrs {
            mode: Some(Mode::Octal(0o700)),
            ..attrs.clone()
        };
        match dst.kind {
            FileKind::Missing => diff.attrs.push(format!("{dir}: absent → directory 0700")),
            FileKind::Directory => diff.attrs.extend(
                dir_attrs
                    .changes(&dst)?
                    .into_iter()
                    .map(|c| format!("{dir}: {c}")),
            ),
            _ => {
                return Err(PlanError::Fail(format!(
                    "authorized_key: `{dir}` is not a directory"
                )))
            }
        }
        if !diff.attrs.is_empty() {
            changes.push(Change::MakeParents { path: dir.clone() });
            changes.push(Change::SetAttrs {
                path: dir.clone(),
                attrs: dir_attrs,
                current: 0o755,
                is_dir: true,
                no_deref: false,
            });
        }
    }
    let content_changes = new != old;
    let file_attr_changes = if st.exists() {
        attrs.changes(&st)?
    } else {
        Vec::new()
    };
    let mut result = serde_json::Map::new();
    result.insert("user".into(), json!(user));
    result.insert("key".into(), json!(key_text));
    result.insert("path".into(), json!(path));
    result.insert("state".into(), json!(state.as_str()));
    result.insert("exclusive".into(), json!(exclusive));
    if !content_changes && file_attr_changes.is_empty() && diff.attrs.is_empty() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    if !present && !st.exists() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    diff.attrs.extend(file_attr_changes);
    if content_changes || !st.exists() {
        if !st.exists() {
            diff.attrs.push("state: absent → file".into());
        }
        diff.before = Some(old);
        diff.after = Some(new.clone());
        changes.push(Change::Write {
            dest: path.clone(),
            attrs,
            existing: st,
            validate: None,
            backup: false,
            content: Content::Bytes(new.into_bytes()),
        });
    } else {
        changes.push(Change::SetAttrs {
            path: path.clone(),
            attrs,
            current: 0o600,
            is_dir: false,
            no_deref: false,
        });
    }
    let mut action = change::action(changes, &path)?;
    action.touches.push(dir);
    action.result = result;
    action.result.insert("changed".into(), json!(true));
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, fail_msg};
    use super::super::Decision;
    use crate::probe::{Fact, FileState, Probe};

    const K1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 alice@a";
    const K2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2 bob@b";

    fn run(args: serde_json::Value, file: Option<&str>) -> Result<Decision, super::PlanError> {
        let file = file.map(str::to_string);
        testing::run("authorized_key", args, move |p| match p {
            Probe::Shell { script } if script.starts_with("getent passwd") => Some(Fact::Text(
                "rprovmod-k:x:1005:1005::/home/rprovmod-k:/bin/sh\n".into(),
            )),
            Probe::File { path, .. } if path.ends_with("/.ssh") => Some(Fact::File(FileState {
                gid: 1005,
                ..testing::dir("700", "rprovmod-k")
            })),
            Probe::File { .. } => Some(Fact::File(match &file {
                Some(c) => FileState {
                    gid: 1005,
                    ..testing::file(c.as_bytes(), "600", "rprovmod-k")
                },
                None => FileState::missing(),
            })),
            Probe::Content { .. } => {
                Some(Fact::Content(file.as_ref().map(|c| c.as_bytes().to_vec())))
            }
            _ => None,
        })
    }

    use testing::after;

    #[test]
    fn adds_replaces_removes() {
        let d = run(
            json!({"user": "rprovmod-k", "key": format!("{K1}\n{K2}")}),
            None,
        )
        .unwrap();
        assert_eq!(after(&d), format!("{K1}\n{K2}\n"));
        assert!(testing::script(&d).contains("chmod 0600"));
        // Same key, other comment: replaced, and moved after the others as
        // ansible.posix does.
        let d = run(
            json!({"user": "rprovmod-k", "key": K1, "comment": "new"}),
            Some(&format!("# mine\n{K1}\n{K2}\n")),
        )
        .unwrap();
        assert_eq!(
            after(&d),
            format!("# mine\n{K2}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 new\n")
        );
        let d = run(
            json!({"user": "rprovmod-k", "key": K1, "exclusive": true}),
            Some(&format!("# x\n{K1}\n{K2}\n")),
        )
        .unwrap();
        assert_eq!(after(&d), format!("{K1}\n"));
        let d = run(
            json!({"user": "rprovmod-k", "key": K2, "state": "absent"}),
            Some(&format!("{K1}\n{K2}\n")),
        )
        .unwrap();
        assert_eq!(after(&d), format!("{K1}\n"));
    }

    #[test]
    fn a_key_without_a_comment_is_written_as_ansible_writes_it() {
        let bare = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1";
        let d = run(json!({"user": "rprovmod-k", "key": bare}), None).unwrap();
        assert_eq!(after(&d), format!("{bare} \n"));
        // A file Ansible wrote that way is left alone.
        let d = run(
            json!({"user": "rprovmod-k", "key": bare}),
            Some(&format!("{bare} \n")),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn no_change() {
        let d = run(
            json!({"user": "rprovmod-k", "key": K1}),
            Some(&format!("{K2}\n{K1}\n")),
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        let d = run(
            json!({"user": "rprovmod-k", "key": K1, "state": "absent"}),
            None,
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn errors() {
        let m = fail_msg(run(json!({"user": "rprovmod-k", "key": "not a key"}), None));
        assert!(m.contains("invalid key"), "{m}");
        let m = fail_msg(run(
            json!({"user": "rprovmod-k", "key": K1, "state": "maybe"}),
            None,
        ));
        assert!(m.contains("must be one of"), "{m}");
    }
}
