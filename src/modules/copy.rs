//! `copy` and `template`: put bytes at a path, with owner, group and mode; and
//! `copy` with `remote_src` from a file already on the host (a directory:
//! `copy_remote_tree`).

use rprov_template::FileOptions;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::change::{self, Change, Content};
use super::encoding::OutputEncoding;
use super::files::{self, Attrs};
use super::mode::{self, Mode};
use super::typed::module_args;
use super::{Decision, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

module_args! {
    /// `copy`'s arguments. `checksum`, `unsafe_writes` and the SELinux ones
    /// are taken and have no effect here (`unsafe_writes` is read by
    /// `with_unsafe_writes`, `attributes` by `with_attributes`).
    pub struct Args {
        src: Option<String> ["src"],
        /// Read as it is: Ansible writes a mapping or a list as JSON and a
        /// boolean as Python's `str()` does.
        content: Option<Json> ["content"],
        dest: String ["dest"],
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        backup: bool ["backup"] = false,
        force: bool ["force"] = true,
        validate: Option<String> ["validate"],
        remote_src: bool ["remote_src"] = false,
        /// The mode of the directories a copy of a tree makes.
        directory_mode: Option<Mode> ["directory_mode"],
        follow: bool ["follow"] = false,
        decrypt: bool ["decrypt"] = true,
        _checksum: Option<String> ["checksum"],
        /// Whether links in a source directory are followed (see
        /// `copy_tree`).
        local_follow: bool ["local_follow"] = true,
        _unsafe_writes: bool ["unsafe_writes"] = false,
        _setype: Option<String> ["setype"],
        _seuser: Option<String> ["seuser"],
        _serole: Option<String> ["serole"],
        _selevel: Option<String> ["selevel"],
        _attributes: Option<Json> ["attributes", "attr"],
    }
}

impl Args {
    /// How [`put`] writes `dest`.
    fn put(&self) -> Put {
        Put {
            attrs: Attrs::new(self.owner.clone(), self.group.clone(), self.mode.clone()),
            force: self.force,
            validate: self.validate.clone(),
            backup: self.backup,
            src: self.src.clone(),
            follow: self.follow,
        }
    }
}

module_args! {
    /// `template`'s arguments. `unsafe_writes` and the SELinux ones are
    /// taken and have no effect here; an `output_encoding` rprov cannot
    /// write is refused (see `refuse`).
    pub struct TemplateArgs {
        src: String ["src"],
        dest: String ["dest"],
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        backup: bool ["backup"] = false,
        force: bool ["force"] = true,
        validate: Option<String> ["validate"],
        /// Text, not a choice: the break may also be written as its escape
        /// (`'\n'` in single quotes in YAML), see `refuse`.
        newline_sequence: Option<String> ["newline_sequence"],
        trim_blocks: bool ["trim_blocks"] = FileOptions::default().trim_blocks,
        lstrip_blocks: bool ["lstrip_blocks"] = FileOptions::default().lstrip_blocks,
        variable_start_string: Option<String> ["variable_start_string"],
        variable_end_string: Option<String> ["variable_end_string"],
        block_start_string: Option<String> ["block_start_string"],
        block_end_string: Option<String> ["block_end_string"],
        comment_start_string: Option<String> ["comment_start_string"],
        comment_end_string: Option<String> ["comment_end_string"],
        follow: bool ["follow"] = false,
        output_encoding: Option<String> ["output_encoding"],
        _unsafe_writes: bool ["unsafe_writes"] = false,
        _setype: Option<String> ["setype"],
        _seuser: Option<String> ["seuser"],
        _serole: Option<String> ["serole"],
        _selevel: Option<String> ["selevel"],
        _attributes: Option<Json> ["attributes", "attr"],
    }
}

pub fn plan_copy(cx: &PlanCx) -> Result<Decision, PlanError> {
    check_required(cx.args)?;
    let args = Args::from_cx(cx)?;
    let dest_arg = &args.dest;
    if args.remote_src {
        return plan_remote_src(cx, &args);
    }
    let (bytes, src_name, src_mode) = match (&args.content, &args.src) {
        (Some(_), Some(_)) => {
            return Err(PlanError::Fail(
                "`copy` takes `src` or `content`, not both".into(),
            ))
        }
        (Some(c), None) => {
            let text = match c {
                Json::String(s) => s.clone(),
                // Python's `str()` of a boolean, as Ansible's copy writes it.
                Json::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                // Ansible writes structured content as Python's
                // `json.dumps` does (`", "` and `": "` between items).
                Json::Array(_) | Json::Object(_) => rprov_template::filters::json::dumps(
                    c,
                    rprov_template::filters::json::DumpOptions {
                        indent: None,
                        sort_keys: false,
                        ensure_ascii: true,
                    },
                ),
                other => other.to_string(),
            };
            (text.into_bytes(), None, None)
        }
        (None, Some(src)) => {
            let path = cx.search.find("files", src)?;
            if path.is_dir() {
                return super::copy_tree::plan_copy_tree(cx, &args, &path, src);
            }
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let decrypted = if args.decrypt && is_vault_file(&bytes) {
                Some(decrypt_source(cx, src, &bytes)?)
            } else {
                None
            };
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o7777)
                .ok();
            let base = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(plain) = decrypted {
                let new = NewContent::Decrypted(plain);
                return put(cx, dest_arg, new, base.as_deref(), m, args.put());
            }
            (bytes, base, m)
        }
        (None, None) => return Err(PlanError::Fail("`copy` needs `src` or `content`".into())),
    };
    put(
        cx,
        dest_arg,
        NewContent::Bytes(bytes),
        src_name.as_deref(),
        src_mode,
        args.put(),
    )
}

/// ansible-core's checks of `src`, `content` and `dest`, in its order and
/// words (which playbooks test for): an empty `src` is none, where it would
/// name the role's `files/` directory itself.
fn check_required(args: &serde_json::Map<String, Json>) -> Result<(), PlanError> {
    let given = |k: &str| args.get(k).filter(|v| !v.is_null());
    let text = |k: &str| given(k).and_then(Json::as_str).unwrap_or_default();
    let src = given("src").is_some_and(|v| v.as_str() != Some(""));
    let content = given("content").is_some();
    let dest = given("dest").is_some_and(|v| v.as_str() != Some(""));
    let msg = if !src && !content {
        "src (or content) is required"
    } else if !dest {
        "dest is required"
    } else if src && content {
        "src and content are mutually exclusive"
    } else if content && text("dest").ends_with('/') {
        "can not use content with a dir as dest"
    } else {
        return Ok(());
    };
    Err(PlanError::Fail(msg.into()))
}

/// Whether a source file is an ansible-vault file, which `copy` decrypts
/// (`decrypt: yes`, the default) as Ansible does.
pub(super) fn is_vault_file(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"$ANSIBLE_VAULT;")
}

/// The plaintext of a vault-encrypted `src`, with the run's vault password.
/// Without one, the message ends in ansible-core's words, which playbooks
/// assert on (its `copy` target).
pub(super) fn decrypt_source(cx: &PlanCx, src: &str, bytes: &[u8]) -> Result<Vec<u8>, PlanError> {
    if cx.vault_password.is_none() {
        return Err(PlanError::Fail(format!(
            "ansible-vault encrypted it, and no vault password was given (pass \
             --vault-password-file, or `decrypt: no` to copy the encrypted file as it is). \
             A vault password or secret must be specified to decrypt {src}"
        )));
    }
    match vault_plaintext(bytes, cx.vault_password) {
        Ok(plain) => Ok(plain.unwrap_or_else(|| bytes.to_vec())),
        Err(e) => Err(PlanError::Fail(format!("`{src}`: {e}"))),
    }
}

/// The plaintext of a controller file's bytes when ansible-vault encrypted
/// them (`None` when it did not), with the run's vault password: what
/// `copy` and its kin decrypt, and what the lookups that read files
/// (`file`, `unvault`, `ini`) read, as Ansible's loader gives both.
pub(crate) fn vault_plaintext(
    bytes: &[u8],
    password: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, String> {
    if !is_vault_file(bytes) {
        return Ok(None);
    }
    let Some(password) = password else {
        return Err(
            "it is encrypted with ansible-vault and no vault password was given \
             (pass --vault-password-file)"
                .to_string(),
        );
    };
    let text = String::from_utf8_lossy(bytes);
    rprov_secrets::decrypt_vault(&text, password)
        .map(|plain| Some(plain.into_bytes()))
        .map_err(|e| e.to_string())
}

pub fn plan_template(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = TemplateArgs::from_cx(cx)?;
    let path = cx.search.find("templates", &args.src)?;
    let defaults = FileOptions::default();
    let newline_sequence = match &args.newline_sequence {
        None => defaults.newline_sequence,
        Some(s) => FileOptions::parse_newline(s).ok_or_else(|| {
            PlanError::Fail(format!("`newline_sequence: {s:?}` is not a line break"))
        })?,
    };
    let opts = FileOptions {
        trim_blocks: args.trim_blocks,
        lstrip_blocks: args.lstrip_blocks,
        newline_sequence,
        delimiters: rprov_template::Delimiters {
            variable_start: args.variable_start_string,
            variable_end: args.variable_end_string,
            block_start: args.block_start_string,
            block_end: args.block_end_string,
            comment_start: args.comment_start_string,
            comment_end: args.comment_end_string,
        },
        ..defaults
    };
    let text = (cx.render)(&path, &opts).map_err(PlanError::Fail)?;
    // A name rprov cannot write was refused (see `refuse`).
    let label = args.output_encoding.unwrap_or_default();
    let bytes = match OutputEncoding::parse(&label) {
        Some(enc) => enc.encode(&text, &label).map_err(PlanError::Fail)?,
        None => {
            return Err(PlanError::Fail(format!(
                "`output_encoding: {label}` is no character set rprov can write"
            )))
        }
    };
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o7777)
        .ok();
    // Into a directory under the template's own name, `.j2` and all, as
    // Ansible's template action hands its rendering to copy.
    let base = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let how = Put {
        attrs: Attrs::new(args.owner, args.group, args.mode),
        force: args.force,
        validate: args.validate,
        backup: args.backup,
        src: Some(args.src),
        follow: args.follow,
    };
    put(
        cx,
        &args.dest,
        NewContent::Bytes(bytes),
        base.as_deref(),
        m,
        how,
    )
}

/// What [`put`] takes from the task besides the content: copy's,
/// template's and assemble's arguments alike.
pub(super) struct Put {
    pub attrs: Attrs,
    /// Replace a file whose content differs (else only its attributes).
    pub force: bool,
    pub validate: Option<String>,
    pub backup: bool,
    /// The task's `src`, which the result names when the file is written.
    pub src: Option<String>,
    /// `follow`: a `dest` that is a symbolic link is written through (the
    /// file it points to changes, the link stays), else replaced.
    pub follow: bool,
}

/// What a file should hold: bytes from the controller, or a file on the host.
pub(super) enum NewContent<'a> {
    Bytes(Vec<u8>),
    /// The plaintext of a vault-encrypted source: a secret, never in a diff.
    Decrypted(Vec<u8>),
    HostFile {
        path: &'a str,
        state: FileState,
    },
}

/// Decides how to make `dest_arg` hold `new`.
pub(super) fn put(
    cx: &PlanCx,
    dest_arg: &str,
    new: NewContent,
    src_name: Option<&str>,
    src_mode: Option<u32>,
    how: Put,
) -> Result<Decision, PlanError> {
    let Put {
        mut attrs,
        force,
        validate,
        backup,
        src,
        follow,
    } = how;
    if attrs.mode == Some(Mode::Preserve) {
        attrs.mode = src_mode.map(Mode::Octal);
    }
    // `dest: /etc/app/` or an existing directory means "into that directory";
    // one written with its `/` is made when missing, parents and all, as
    // ansible-core's copy makes it.
    let mut dest = dest_arg.to_string();
    let mut make_dir = None;
    if dest.ends_with('/') {
        let name = src_name.ok_or_else(|| {
            PlanError::Fail(format!(
                "can not use content with a dir as dest (`dest: {dest_arg}` is a directory: give a file name)"
            ))
        })?;
        let dir = dest.trim_end_matches('/');
        if !dir.is_empty() && !cx.file(dir, true)?.exists() {
            make_dir = Some(dir.to_string());
        }
        dest = format!("{dest}{name}");
    } else {
        let st = cx.file(&dest, true)?;
        if st.kind == FileKind::Directory {
            let name = src_name.ok_or_else(|| {
                PlanError::Fail(format!(
                    "can not use content with a dir as dest (`dest: {dest_arg}` is a directory: give a file name)"
                ))
            })?;
            dest = format!("{}/{name}", dest.trim_end_matches('/'));
        }
    }
    // `follow`: a link is written through, at the path it resolves to
    // (ansible-core's `realpath`), and stays a link.
    if follow && cx.file(&dest, false)?.kind == FileKind::Link {
        let real = cx.ask_one(super::change::Read::Output(vec![
            "realpath".into(),
            "-m".into(),
            "--".into(),
            dest.clone(),
        ]))?;
        let real = real.trim_end_matches('\n');
        if !real.is_empty() {
            dest = real.to_string();
        }
    }
    let st = cx.file(&dest, true)?;
    let want_sha = match &new {
        NewContent::Bytes(b) | NewContent::Decrypted(b) => hex::encode(Sha256::digest(b)),
        NewContent::HostFile { state, .. } => state.sha256.clone().unwrap_or_default(),
    };
    // The result's `checksum` is sha1, as Ansible's (roles compare it with a
    // `stat` result's, also sha1). Only the sha256 of a file already on the
    // host is known: no checksum then, rather than one of another kind.
    let checksum = match &new {
        NewContent::Bytes(b) | NewContent::Decrypted(b) => Some(hex::encode(sha1::Sha1::digest(b))),
        NewContent::HostFile { .. } => None,
    };

    match st.kind {
        FileKind::Directory => {
            return Err(PlanError::Fail(format!(
                "`{dest}` is a directory, not a file"
            )))
        }
        FileKind::Other => {
            return Err(PlanError::Fail(format!(
                "`{dest}` exists and is not a regular file"
            )))
        }
        _ => {}
    }
    let same_content = st.sha256.as_deref() == Some(want_sha.as_str()) || (st.exists() && !force);
    let attr_changes = if st.exists() {
        attrs.changes(&st)?
    } else {
        Vec::new()
    };

    if same_content && attr_changes.is_empty() {
        let mut result = files::result(&dest, false);
        result.extend(files::stat_fields(&st));
        if let Some(c) = &checksum {
            result.insert("checksum".into(), serde_json::json!(c));
        }
        return Ok(Decision::Ok { result, msg: None });
    }
    if same_content {
        let change = Change::set_attrs(&dest, attrs, &st);
        return Ok(Decision::Change {
            diffs: vec![Diff {
                path: dest.clone(),
                attrs: attr_changes,
                ..Diff::default()
            }],
            action: reporting(vec![change], &dest, checksum, None)?,
        });
    }

    let mut diff = Diff {
        path: dest.clone(),
        attrs: attr_changes,
        ..Diff::default()
    };
    if !st.exists() {
        diff.attrs.insert(0, "state: absent → file".to_string());
        if let Some(m) = &attrs.mode {
            diff.attrs
                .push(format!("mode: {}", mode::fmt(m.resolve(0o644, false)?)));
        }
    }
    if let NewContent::Decrypted(_) = &new {
        diff.attrs
            .push("content: from a vault-encrypted source (not shown)".to_string());
    } else if cx.want_diff {
        let before = if st.exists() {
            cx.content(&dest)?
        } else {
            Some(Vec::new())
        };
        let (after, len) = match &new {
            NewContent::Bytes(b) | NewContent::Decrypted(b) => (Some(b.clone()), b.len() as u64),
            NewContent::HostFile { path, state } => (cx.content(path)?, state.size),
        };
        diff.before = before.and_then(|b| String::from_utf8(b).ok());
        diff.after = after.and_then(|b| String::from_utf8(b).ok());
        if diff.before.is_none() || diff.after.is_none() {
            diff.attrs.push(format!(
                "content: binary or large file ({len} bytes) changes"
            ));
        }
    }
    let (content, md5) = match new {
        NewContent::Bytes(b) | NewContent::Decrypted(b) => {
            let md5 = hex::encode(md5::Md5::digest(&b));
            (Content::Bytes(b), Some(md5))
        }
        NewContent::HostFile { path, .. } => (Content::HostFile(path.to_string()), None),
    };
    let write = Change::Write {
        dest: dest.clone(),
        attrs,
        existing: st,
        validate,
        backup,
        content,
    };
    let changes = match make_dir {
        Some(path) => {
            diff.attrs
                .insert(0, format!("directory {path}: absent → made"));
            vec![Change::MakeParents { path }, write]
        }
        None => vec![write],
    };
    let mut action = reporting(changes, &dest, checksum, md5)?;
    if let Some(src) = src {
        action.result.insert("src".into(), serde_json::json!(src));
    }
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

/// The action that makes `changes` to `dest` and then reports the file as
/// Ansible's copy does: owner, group, mode, size (see
/// [`files::parse_written`]), its sha1 `checksum` and `md5sum` when known.
fn reporting(
    mut changes: Vec<Change>,
    dest: &str,
    checksum: Option<String>,
    md5: Option<String>,
) -> Result<super::Action, String> {
    changes.push(Change::ReportStat {
        path: dest.to_string(),
    });
    let mut action = change::action(changes, dest)?;
    action.output = OutputMode::Parse(files::parse_written);
    for (key, sum) in [("checksum", checksum), ("md5sum", md5)] {
        if let Some(sum) = sum {
            action.result.insert(key.into(), serde_json::json!(sum));
        }
    }
    Ok(action)
}

/// `remote_src: yes`: `src` is a file on the host. Compared by sha256 like a
/// local source, and copied atomically on the host (`cat` into the temp file).
fn plan_remote_src(cx: &PlanCx, args: &Args) -> Result<Decision, PlanError> {
    let src = args.src.clone().ok_or_else(|| {
        PlanError::Fail("`remote_src: yes` needs `src`, a path on the host".into())
    })?;
    if args.content.is_some() {
        return Err(PlanError::Fail(
            "`remote_src` copies `src`; it does not take `content`".into(),
        ));
    }
    let st = cx.file(&src, true)?;
    match st.kind {
        FileKind::File => {}
        FileKind::Missing => {
            return Err(PlanError::Missing(format!(
                "`src: {src}` does not exist on the host"
            )))
        }
        FileKind::Directory => return super::copy_remote_tree::plan(cx, args, &src, &st),
        // ansible-core's words (a device, a pipe, a socket).
        _ => {
            return Err(PlanError::Fail(format!(
                "Cannot copy invalid source '{src}': not a file"
            )))
        }
    }
    let name = src.rsplit('/').next().unwrap_or(&src).to_string();
    let mode = mode::parse_octal(&st.mode);
    let new = NewContent::HostFile {
        path: &src,
        state: st,
    };
    let mut decision = put(cx, &args.dest, new, Some(&name), Some(mode), args.put())?;
    if let Some(result) = decision.result_mut() {
        result.insert("src".into(), serde_json::json!(src));
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// ansible-core's words, in its order; an empty `src` is none (it would
    /// otherwise name the role's `files/` directory and copy all of it).
    #[test]
    fn src_content_and_dest_are_checked_as_ansible_core_checks_them() {
        let check = |v: Json| {
            let Json::Object(m) = v else {
                panic!("not a mapping")
            };
            match check_required(&m) {
                Ok(()) => String::new(),
                Err(PlanError::Fail(msg)) => msg,
                Err(other) => panic!("{other:?}"),
            }
        };
        assert_eq!(
            check(json!({"src": "", "dest": "/d"})),
            "src (or content) is required"
        );
        assert_eq!(check(json!({"dest": "/d"})), "src (or content) is required");
        assert_eq!(check(json!({"src": "f"})), "dest is required");
        assert_eq!(
            check(json!({"src": "f", "content": "x", "dest": "/d"})),
            "src and content are mutually exclusive"
        );
        assert_eq!(
            check(json!({"content": "x", "dest": "/d/"})),
            "can not use content with a dir as dest"
        );
        assert_eq!(check(json!({"content": "", "dest": "/d"})), "");
    }
}
