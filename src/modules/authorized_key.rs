//! `authorized_key`: SSH public keys in a user's `authorized_keys`.
//!
//! Keys are matched by type and key material, as Ansible does, so a changed
//! comment or `key_options` rewrites that line in place instead of adding a
//! second one. The new file is computed here and written atomically, owned
//! by the user with mode 0600, in `~/.ssh` (0700) created when `manage_dir`.

use regex::Regex;
use rprov_transport::quote;
use serde_json::json;

use super::files::{atomic_write_script, checked_action, Attrs};
use super::lineinfile::split_lines;
use super::mode::Mode;
use super::sysargs::{both, choice};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileKind;

/// `[options] type base64 [comment]`; `type` is what ssh-keygen writes.
fn key_re() -> Result<Regex, PlanError> {
    Regex::new(
        r"^(?:(.*?)\s+)?((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/]+=*)(?:\s+(.*))?$",
    )
    .map_err(|e| PlanError::Fail(format!("internal key pattern: {e}")))
}

/// A parsed key line; `id` (type and material) is what identifies it.
struct Key {
    id: (String, String),
    line: String,
}

fn parse_key(re: &Regex, line: &str) -> Option<Key> {
    let c = re.captures(line.trim())?;
    Some(Key {
        id: (c[2].to_string(), c[3].to_string()),
        line: line.trim().to_string(),
    })
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let user = cx.required_str("user")?;
    let key_text = cx.required_str("key")?;
    let state = choice(cx, "state", &["present", "absent"], Some("present"))?.unwrap_or_default();
    let exclusive = cx.bool_arg("exclusive", false)?;
    let manage_dir = cx.bool_arg("manage_dir", true)?;
    let options = cx.str_arg("key_options")?;
    let comment = cx.str_arg("comment")?;
    let re = key_re()?;
    let mut wanted = Vec::new();
    for l in key_text.lines().map(str::trim) {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let k = parse_key(&re, l).ok_or_else(|| {
            PlanError::Fail(format!("authorized_key: invalid key specified: `{l}`"))
        })?;
        // key_options and comment override what the key line carries.
        let line = match (&options, &comment) {
            (None, None) => k.line,
            _ => {
                let c = re.captures(&k.line).ok_or_else(|| {
                    PlanError::Fail(format!("authorized_key: invalid key specified: `{l}`"))
                })?;
                let opts = options.clone().or(c.get(1).map(|m| m.as_str().to_string()));
                let cmt = comment.clone().or(c.get(4).map(|m| m.as_str().to_string()));
                let mut parts: Vec<String> = opts.into_iter().filter(|o| !o.is_empty()).collect();
                parts.push(c[2].to_string());
                parts.push(c[3].to_string());
                parts.extend(cmt.filter(|c| !c.is_empty()));
                parts.join(" ")
            }
        };
        wanted.push(Key { id: k.id, line });
    }
    if wanted.is_empty() {
        return Err(PlanError::Fail("authorized_key: `key` holds no key".into()));
    }

    let pw = cx.read(&format!("getent passwd {}", quote(&user)))?;
    let fields: Vec<&str> = pw.lines().next().unwrap_or_default().split(':').collect();
    if fields.len() < 7 {
        return Err(PlanError::Missing(format!(
            "authorized_key: user `{user}` does not exist on the host"
        )));
    }
    let (gid, home) = (fields[3].to_string(), fields[5].to_string());
    let path = match cx.str_arg("path")? {
        Some(p) => p,
        None => format!("{}/.ssh/authorized_keys", home.trim_end_matches('/')),
    };
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

    let mut lines: Vec<String> = split_lines(&old)
        .into_iter()
        .map(|l| l.trim_end_matches(['\r', '\n']).to_string())
        .collect();
    let id_of = |l: &str| parse_key(&re, l).map(|k| k.id);
    if state == "present" {
        for w in &wanted {
            match lines.iter().position(|l| id_of(l).as_ref() == Some(&w.id)) {
                Some(i) => lines[i] = w.line.clone(),
                None => lines.push(w.line.clone()),
            }
        }
        if exclusive {
            lines.retain(|l| wanted.iter().any(|w| w.line == *l));
            lines.dedup();
        }
    } else {
        lines.retain(|l| !id_of(l).is_some_and(|id| wanted.iter().any(|w| w.id == id)));
    }
    let new: String = lines.iter().map(|l| format!("{l}\n")).collect();

    let attrs = Attrs {
        owner: Some(user.clone()),
        group: Some(gid.clone()),
        mode: Some(Mode::Octal(0o600)),
    };
    let mut diff = Diff {
        path: path.clone(),
        ..Diff::default()
    };
    let mut script = String::from("set -e\n");
    if manage_dir && (state == "present" || st.exists()) {
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
            let q = quote(&dir);
            script.push_str(&format!(
                "mkdir -p -- {q}\nchown {} {q}\nchmod 0700 {q}\n",
                quote(&format!("{user}:{gid}"))
            ));
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
    result.insert("state".into(), json!(state));
    result.insert("exclusive".into(), json!(exclusive));
    if !content_changes && file_attr_changes.is_empty() && diff.attrs.is_empty() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    if state == "absent" && !st.exists() {
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
        script.push_str(&atomic_write_script(
            &path,
            &attrs,
            &st,
            None,
            false,
            new.as_bytes(),
        )?);
    } else {
        script.push_str(&attrs.apply_lines(&quote(&path), 0o600, false, false)?);
    }
    let mut action = checked_action(script, Some(new.into_bytes()), &path);
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
        // Same key, other comment: replaced in place.
        let d = run(
            json!({"user": "rprovmod-k", "key": K1, "comment": "new"}),
            Some(&format!("# mine\n{K1}\n{K2}\n")),
        )
        .unwrap();
        assert_eq!(
            after(&d),
            format!("# mine\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 new\n{K2}\n")
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
