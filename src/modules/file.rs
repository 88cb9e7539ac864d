//! `file`: directories, links, touch and absent, with owner, group and mode.

use super::change::{self, Change, Read, Times};
use super::file_times;
use super::files::{self, Attrs};
use super::mode::{self, Mode};
use super::sysargs::both;
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::{FileKind, Probe};

choice! {
    /// What `state` asks the path to be.
    pub enum State {
        Absent = "absent",
        Directory = "directory",
        File = "file",
        Hard = "hard",
        Link = "link",
        Touch = "touch",
    }
}

module_args! {
    /// `file`'s arguments. The time formats, `unsafe_writes` and the
    /// SELinux ones are taken and have no effect, as before; `attributes`
    /// is refused (see `refuse`).
    pub struct Args {
        /// Optional here only to keep the module's own message.
        path: Option<String> ["path", "dest", "name"],
        /// Left out: what the path already is (`file` when missing,
        /// `directory` with `recurse`).
        state: Option<State> ["state"],
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        recurse: bool ["recurse"] = false,
        /// The target of a link (`state: link` or `hard`).
        src: Option<String> ["src"],
        force: bool ["force"] = false,
        follow: bool ["follow"] = true,
        /// `now`, `preserve` (a touched file's times kept) or a timestamp in
        /// the `_format` below (see `file_times`), for `touch`, `file` and
        /// `directory`.
        access_time: Option<String> ["access_time"],
        modification_time: Option<String> ["modification_time"],
        _access_time_format: Option<String> ["access_time_format"],
        _modification_time_format: Option<String> ["modification_time_format"],
        _unsafe_writes: bool ["unsafe_writes"] = false,
        _setype: Option<String> ["setype"],
        _seuser: Option<String> ["seuser"],
        _serole: Option<String> ["serole"],
        _selevel: Option<String> ["selevel"],
        _attributes: Option<serde_json::Value> ["attributes", "attr"],
        /// ansible-core's internal argument (its action plugins ask with it
        /// whether a file looks binary): set, nothing else is done.
        diff_peek: Option<serde_json::Value> ["_diff_peek"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    if Args::from_cx(cx)?.diff_peek.is_some() {
        return diff_peek(cx);
    }
    let decision = plan_state(cx)?;
    let mut decision = with_timestamps(cx, &Args::from_cx(cx)?, decision)?;
    // ansible-core's `file` names a file, a directory or an absent path
    // `path` only (a link and a touched file `dest`).
    let result = match &mut decision {
        Decision::Ok { result, .. } => Some(result),
        Decision::Change { action, .. } => Some(&mut action.result),
        _ => None,
    };
    if let Some(result) = result {
        if result.contains_key("path")
            && matches!(
                result.get("state").and_then(serde_json::Value::as_str),
                Some("file" | "directory" | "absent")
            )
        {
            result.remove("dest");
        }
    }
    Ok(decision)
}

/// `_diff_peek`: whether the file's first 8 KiB hold a NUL byte, as
/// ansible-core's `execute_diff_peek` guesses that a file is binary (one it
/// cannot read is text); nothing changes.
fn diff_peek(cx: &PlanCx) -> Result<Decision, PlanError> {
    let path = Args::from_cx(cx)?
        .path
        .ok_or_else(|| PlanError::Fail("missing required arguments: path".into()))?;
    let probe = Probe::Shell {
        script: format!(
            "head -c 8192 -- {} 2>/dev/null | tr -dc '\\000' | wc -c",
            rprov_transport::quote(&path)
        ),
    };
    let Some(crate::probe::Fact::Text(nuls)) = cx.facts.get(&probe) else {
        return Err(PlanError::Need(vec![probe]));
    };
    let st = cx.file(&path, false)?;
    let mut result = serde_json::Map::new();
    result.insert("path".into(), serde_json::json!(path));
    result.insert("changed".into(), serde_json::json!(false));
    let binary = nuls.trim().parse::<u64>().is_ok_and(|n| n > 0);
    result.insert("appears_binary".into(), serde_json::json!(binary));
    // As ansible-core's `exit_json` adds them for a `path` that is there.
    if st.exists() {
        let state = match st.kind {
            FileKind::Directory => "directory",
            FileKind::Link => "link",
            _ => "file",
        };
        result.extend(files::stat_fields(&st));
        result = with_state(result, state);
    }
    Ok(Decision::Ok { result, msg: None })
}

/// An existing file's or directory's result, as ansible-core's `file`
/// returns it: the path, `state`, and its owner, group, their ids, mode and
/// size.
fn stat_result(
    path: &str,
    state: &str,
    st: &crate::probe::FileState,
) -> serde_json::Map<String, serde_json::Value> {
    let mut result = files::result(path, false);
    result.extend(files::stat_fields(st));
    with_state(result, state)
}

/// A touched path's result as ansible-core's `file` gives it: under `dest`,
/// not `path`.
fn touched(
    mut result: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    if let Some(path) = result.remove("path") {
        result.insert("dest".into(), path);
    }
    result
}

/// The action of `changes` to `path`, which then reports the path's owner,
/// group, mode and size with `state`, as ansible-core's `file` does.
fn action_reporting(
    mut changes: Vec<Change>,
    path: &str,
    state: &str,
) -> Result<super::Action, String> {
    changes.push(Change::ReportStat {
        path: path.to_string(),
    });
    let mut action = change::action(changes, path)?;
    action.output = super::OutputMode::Parse(match state {
        "directory" => files::parse_dir_written,
        _ => files::parse_written,
    });
    action.result = with_state(action.result, state);
    Ok(action)
}

/// `modification_time`/`access_time` of a `file` or `directory` state (a
/// touch sets its own): `now` sets the time whenever the task runs, a
/// timestamp when the path does not have it, as ansible-core's
/// `update_timestamp_for_file`; added to what the state does.
fn with_timestamps(cx: &PlanCx, args: &Args, decision: Decision) -> Result<Decision, PlanError> {
    if args.state == Some(State::Touch) {
        return Ok(decision);
    }
    let result = match &decision {
        Decision::Ok { result, .. } => result,
        Decision::Change { action, .. } => &action.result,
        _ => return Ok(decision),
    };
    if !matches!(
        result.get("state").and_then(serde_json::Value::as_str),
        Some("file" | "directory")
    ) {
        return Ok(decision);
    }
    let Some(path) = args.path.clone() else {
        return Ok(decision);
    };
    let (mtime, atime) = wanted_times(args)?;
    if mtime.is_none() && atime.is_none() {
        return Ok(decision);
    }
    let (ms, at) = (
        mtime.as_ref().and_then(file_times::Wanted::stamp),
        atime.as_ref().and_then(file_times::Wanted::stamp),
    );
    let (m_differs, a_differs) =
        if (ms.is_some() || at.is_some()) && cx.file(&path, false)?.exists() {
            file_times::differ(cx, &path, ms, at)?
        } else {
            (ms.is_some(), at.is_some())
        };
    let set_m = mtime == Some(file_times::Wanted::Now) || m_differs;
    let set_a = atime == Some(file_times::Wanted::Now) || a_differs;
    if !set_m && !set_a {
        return Ok(decision);
    }
    let times = Change::SetTimes {
        path: path.clone(),
        mtime: mtime
            .filter(|_| set_m)
            .map(file_times::Wanted::into_change_value),
        atime: atime
            .filter(|_| set_a)
            .map(file_times::Wanted::into_change_value),
    };
    super::extend_decision(decision, &path, vec![times], "times: updated".into())
}

/// `modification_time` and `access_time` as asked for, each in its format.
fn wanted_times(
    args: &Args,
) -> Result<(Option<file_times::Wanted>, Option<file_times::Wanted>), PlanError> {
    let one = |value: &Option<String>, format: &Option<String>| {
        file_times::wanted(value.as_deref(), format.as_deref()).map_err(PlanError::Fail)
    };
    Ok((
        one(&args.modification_time, &args._modification_time_format)?,
        one(&args.access_time, &args._access_time_format)?,
    ))
}

fn plan_state(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let path = args
        .path
        .clone()
        .ok_or_else(|| PlanError::Fail("`file` needs `path`".into()))?;
    let attrs = Attrs::new(args.owner.clone(), args.group.clone(), args.mode.clone());
    let (recurse, follow) = (args.recurse, args.follow);
    if args.state == Some(State::Directory) {
        // The parents' kinds come in the same probe batch as the path's
        // state: a missing directory needs them to know which ones to make.
        match (cx.kinds(&ancestors(&path)), cx.file(&path, false)) {
            (Err(PlanError::Need(mut a)), Err(PlanError::Need(b))) => {
                a.extend(b);
                return Err(PlanError::Need(a));
            }
            (Err(e), _) => return Err(e),
            _ => {}
        }
    }
    // What a link's `src` names, in the same probe batch as the path.
    let link_src = match (args.state, &args.src) {
        (Some(State::Link), Some(src)) => {
            let absrc = link_src_path(&path, src);
            both(cx.file(&path, false), cx.file(&absrc, true))?;
            Some(absrc)
        }
        _ => None,
    };
    let st = cx.file(&path, false)?;
    let state = match args.state {
        Some(s) => s,
        None if recurse => State::Directory,
        None if st.kind == FileKind::Directory => State::Directory,
        None if st.kind == FileKind::Link => State::Link,
        None => State::File,
    };
    let ok = |msg: Option<String>| Decision::Ok {
        result: with_state(files::result(&path, false), state.as_str()),
        msg,
    };

    match state {
        State::Absent => {
            if !st.exists() {
                return Ok(ok(None));
            }
            let what = match st.kind {
                FileKind::Directory => "directory",
                FileKind::Link => "link",
                _ => "file",
            };
            let diff = Diff {
                path: path.clone(),
                attrs: vec![format!("state: {what} → absent")],
                ..Diff::default()
            };
            let changes = vec![Change::Remove { path: path.clone() }];
            let mut action = change::action(changes, &path)?;
            // `state: absent` registered after a removal too, as ansible-core's.
            action.result = with_state(action.result, state.as_str());
            Ok(Decision::Change {
                diffs: vec![diff],
                action,
            })
        }
        State::Directory => {
            let mut diff = Diff {
                path: path.clone(),
                ..Diff::default()
            };
            // What the result shows: the directory, through a link followed.
            let mut shown = st.clone();
            let cur = match st.kind {
                FileKind::Directory => mode::parse_octal(&st.mode),
                FileKind::Missing => return create_with_parents(cx, &path, &attrs, state.as_str()),
                FileKind::Link if follow => {
                    let tgt = cx.file(&path, true)?;
                    if tgt.kind != FileKind::Directory {
                        return Err(PlanError::Fail(format!(
                            "`{path}` is a link to something that is not a directory"
                        )));
                    }
                    shown = tgt.clone();
                    mode::parse_octal(&tgt.mode)
                }
                _ => {
                    return Err(PlanError::Fail(format!(
                        "`{path}` exists and is not a directory"
                    )))
                }
            };
            diff.attrs.extend(attrs.changes(&st)?);
            if recurse && st.kind == FileKind::Directory && tree_differs(cx, &path, &attrs, cur)? {
                diff.attrs
                    .push("contents: owner, group or mode change below".into());
            }
            if diff.attrs.is_empty() {
                return Ok(Decision::Ok {
                    result: stat_result(&path, "directory", &shown),
                    msg: None,
                });
            }
            let change = if recurse {
                Change::SetAttrsTree {
                    path: path.clone(),
                    attrs,
                    current: cur,
                }
            } else {
                Change::SetAttrs {
                    path: path.clone(),
                    attrs,
                    current: cur,
                    is_dir: true,
                    no_deref: false,
                }
            };
            Ok(Decision::Change {
                diffs: vec![diff],
                action: action_reporting(vec![change], &path, "directory")?,
            })
        }
        State::Touch => {
            let mut diff = Diff {
                path: path.clone(),
                ..Diff::default()
            };
            let cur = if st.exists() {
                mode::parse_octal(&st.mode)
            } else {
                0o644
            };
            // Ansible's `modification_time`/`access_time`: `now` (touch's
            // default), `preserve` (an existing file's times kept, which makes
            // touch idempotent) or a timestamp, set unless the file has it.
            let (mtime, atime) = wanted_times(&args)?;
            let mstamp = mtime.as_ref().and_then(file_times::Wanted::stamp).cloned();
            let astamp = atime.as_ref().and_then(file_times::Wanted::stamp).cloned();
            let keep_mtime =
                args.modification_time.as_deref() == Some("preserve") || mstamp.is_some();
            let keep_atime = args.access_time.as_deref() == Some("preserve") || astamp.is_some();
            let touch = match (keep_mtime, keep_atime) {
                _ if !st.exists() => Some(Times::Both),
                (false, false) => Some(Times::Both),
                (true, false) => Some(Times::AccessOnly),
                (false, true) => Some(Times::ModificationOnly),
                (true, true) => None,
            };
            let (set_m, set_a) = if mstamp.is_some() || astamp.is_some() {
                if st.exists() {
                    file_times::differ(cx, &path, mstamp.as_ref(), astamp.as_ref())?
                } else {
                    (mstamp.is_some(), astamp.is_some())
                }
            } else {
                (false, false)
            };
            if !st.exists() {
                diff.attrs.push("state: absent → file".into());
            } else {
                diff.attrs.extend(attrs.changes(&st)?);
                if touch.is_some() || set_m || set_a {
                    diff.attrs.push("times: updated".into());
                }
            }
            if diff.attrs.is_empty() {
                return Ok(Decision::Ok {
                    result: touched(stat_result(&path, "file", &st)),
                    msg: None,
                });
            }
            let mut changes: Vec<Change> = touch
                .map(|times| Change::Touch {
                    path: path.clone(),
                    times,
                })
                .into_iter()
                .collect();
            if set_m || set_a {
                changes.push(Change::SetTimes {
                    path: path.clone(),
                    mtime: mstamp.filter(|_| set_m).map(|s| s.0),
                    atime: astamp.filter(|_| set_a).map(|s| s.0),
                });
            }
            changes.push(Change::SetAttrs {
                path: path.clone(),
                attrs,
                current: cur,
                is_dir: st.kind == FileKind::Directory,
                no_deref: false,
            });
            // Like Ansible, touch reports a change unless both times are preserved.
            let mut action = action_reporting(changes, &path, "file")?;
            action.result = touched(action.result);
            Ok(Decision::Change {
                diffs: vec![diff],
                action,
            })
        }
        State::Link => {
            let src = args.src.clone().ok_or_else(|| {
                PlanError::Fail("`state: link` needs `src` (the link's target)".into())
            })?;
            // As Ansible's: a link to nothing is made only on purpose.
            let absrc = link_src.unwrap_or_else(|| link_src_path(&path, &src));
            let src_exists = cx.file(&absrc, true)?.exists();
            if !src_exists && !args.force {
                return Err(PlanError::Missing(format!(
                    "src file does not exist, use 'force=yes' if you really want to create \
                     the link: {absrc}"
                )));
            }
            let mut diff = Diff {
                path: path.clone(),
                ..Diff::default()
            };
            match st.kind {
                FileKind::Link if st.link_target.as_deref() == Some(src.as_str()) => {}
                FileKind::Link => diff.attrs.push(format!(
                    "link: {} → {src}",
                    st.link_target.clone().unwrap_or_default()
                )),
                FileKind::Missing => diff.attrs.push(format!("state: absent → link to {src}")),
                FileKind::Directory => {
                    return Err(PlanError::Fail(format!(
                        "`{path}` is a directory; refusing to replace it with a link"
                    )))
                }
                _ if args.force => diff.attrs.push(format!("state: file → link to {src}")),
                _ => {
                    return Err(PlanError::Fail(format!(
                        "`{path}` exists and is not a link; set `force: yes` to replace it"
                    )))
                }
            }
            let owner_changes = if st.kind == FileKind::Link {
                let a = Attrs {
                    mode: None,
                    ..attrs.clone()
                };
                a.changes(&st)?
            } else {
                Vec::new()
            };
            diff.attrs.extend(owner_changes);
            // Ansible's result for a link: `dest` and `src`, then the link's
            // own owner, mode, size and `state: link` when what it points
            // to exists (no `path`).
            let mut result = files::result(&path, false);
            result.remove("path");
            result.insert("src".into(), serde_json::json!(src));
            if diff.attrs.is_empty() {
                // The link is `src`: what it points to is what `src` names.
                if src_exists {
                    result.extend(files::stat_fields(&st));
                    result.insert("state".into(), serde_json::json!("link"));
                }
                return Ok(Decision::Ok { result, msg: None });
            }
            let changes = vec![
                Change::Link {
                    path: path.clone(),
                    target: src,
                },
                Change::SetAttrs {
                    path: path.clone(),
                    attrs: Attrs {
                        mode: None,
                        ..attrs
                    },
                    current: 0,
                    is_dir: false,
                    no_deref: true,
                },
                Change::ReportLink { path: path.clone() },
            ];
            let mut action = change::action(changes, &path)?;
            action.output = super::OutputMode::Parse(files::parse_link_written);
            result.insert("changed".into(), serde_json::json!(true));
            action.result = result;
            Ok(Decision::Change {
                diffs: vec![diff],
                action,
            })
        }
        State::File => {
            let st = if st.kind == FileKind::Link && follow {
                cx.file(&path, true)?
            } else {
                st
            };
            match st.kind {
                FileKind::Missing => Err(PlanError::Missing(format!(
                    "file `{path}` does not exist; use `state: touch` to create it"
                ))),
                FileKind::Directory => Err(PlanError::Fail(format!(
                    "`{path}` is a directory, not a file"
                ))),
                _ => {
                    let changes = attrs.changes(&st)?;
                    if changes.is_empty() {
                        return Ok(Decision::Ok {
                            result: stat_result(&path, "file", &st),
                            msg: None,
                        });
                    }
                    let diff = Diff {
                        path: path.clone(),
                        attrs: changes,
                        ..Diff::default()
                    };
                    let change = Change::set_attrs(&path, attrs, &st);
                    Ok(Decision::Change {
                        diffs: vec![diff],
                        action: action_reporting(vec![change], &path, "file")?,
                    })
                }
            }
        }
        State::Hard => plan_hard(cx, &args, &path, &st, attrs),
    }
}

/// `state: hard`: `path` is the same file as `src`, as Ansible's
/// `ensure_hardlink` decides: a missing path or a symbolic link (to another
/// target) is replaced, another file only with `force: yes`; owner, group and
/// mode then apply to the file both names share.
fn plan_hard(
    cx: &PlanCx,
    args: &Args,
    path: &str,
    st: &crate::probe::FileState,
    attrs: Attrs,
) -> Result<Decision, PlanError> {
    let follow = args.follow;
    let src = args
        .src
        .clone()
        .ok_or_else(|| PlanError::Fail("`state: hard` needs `src` (the file to link to)".into()))?;
    let src_st = cx.file(&src, follow)?;
    if !src_st.exists() {
        return Err(PlanError::Missing(format!("src `{src}` does not exist")));
    }
    let mut diff = Diff {
        path: path.to_string(),
        ..Diff::default()
    };
    let linked = match st.kind {
        FileKind::Missing => {
            diff.attrs
                .push(format!("state: absent → hard link of {src}"));
            false
        }
        // Ansible compares a link's target with `src` as text.
        FileKind::Link if st.link_target.as_deref() == Some(src.as_str()) => true,
        FileKind::Link => {
            diff.attrs.push(format!("state: link → hard link of {src}"));
            false
        }
        FileKind::File
            if cx
                .ask_one(Read::SameFile(path.to_string(), src.clone()))?
                .trim()
                == "yes" =>
        {
            true
        }
        FileKind::File if args.force => {
            diff.attrs
                .push(format!("state: another file → hard link of {src}"));
            false
        }
        FileKind::File => {
            return Err(PlanError::Fail(format!(
                "Cannot link, `{path}` is another file; set `force: yes` to replace it"
            )))
        }
        _ => {
            return Err(PlanError::Fail(format!(
                "Cannot link, `{path}` exists and is not a file"
            )))
        }
    };
    diff.attrs.extend(attrs.changes(&src_st)?);
    let mut result = files::result(path, false);
    result.insert("src".into(), serde_json::json!(src));
    if diff.attrs.is_empty() {
        return Ok(Decision::Ok { result, msg: None });
    }
    let mut changes = Vec::new();
    if !linked {
        changes.push(Change::HardLink {
            path: path.to_string(),
            target: src.clone(),
            follow,
        });
    }
    changes.push(Change::set_attrs(path, attrs, &src_st));
    let mut action = change::action(changes, path)?;
    action.result.insert("src".into(), serde_json::json!(src));
    // The file both names share changed.
    action.touches.push(src);
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

/// Where a link at `path` to `src` points: `src` taken from the link's
/// folder, as Ansible's `file` checks it.
fn link_src_path(path: &str, src: &str) -> String {
    if src.starts_with('/') {
        return src.to_string();
    }
    let dir = files::parent(path);
    if dir.ends_with('/') {
        format!("{dir}{src}")
    } else {
        format!("{dir}/{src}")
    }
}

/// The directories above `path`, outermost first (`/a/b/c`: `/a`, `/a/b`;
/// `a/b`: `a`).
fn ancestors(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches('/');
    trimmed
        .match_indices('/')
        .map(|(i, _)| &trimmed[..i])
        .filter(|a| !a.is_empty() && !a.ends_with('/'))
        .map(str::to_string)
        .collect()
}

/// `state: directory` of a missing path: every missing directory down to it
/// is made with the owner, group and mode asked for, one diff each, as
/// Ansible's `ensure_directory` does; parents that exist are left alone.
fn create_with_parents(
    cx: &PlanCx,
    path: &str,
    attrs: &Attrs,
    state: &str,
) -> Result<Decision, PlanError> {
    let above = ancestors(path);
    let kinds = cx.kinds(&above)?;
    let mut missing = Vec::new();
    for (dir, kind) in above.into_iter().zip(kinds) {
        match kind {
            FileKind::Missing => missing.push(dir),
            FileKind::Directory | FileKind::Link if missing.is_empty() => {}
            _ => {
                return Err(PlanError::Fail(format!(
                    "cannot create `{path}`: `{dir}` exists and is not a directory"
                )))
            }
        }
    }
    missing.push(path.to_string());
    let mut diffs = Vec::new();
    let mut changes = Vec::new();
    for dir in &missing {
        let (diff, change) = files::create_dir(dir, attrs)?;
        diffs.push(diff);
        changes.push(change);
    }
    let action = action_reporting(changes, path, state)?;
    Ok(Decision::Change { diffs, action })
}

/// Whether anything under the directory `path` (itself included) differs from
/// the owner, group or mode asked for. A symbolic mode gives each entry its
/// own bits (`u=rwX` makes directories, not files, executable), so its check
/// reads the distinct (type, mode) pairs of the tree — a few lines whatever
/// its size — and applies the mode to each here.
fn tree_differs(cx: &PlanCx, path: &str, attrs: &Attrs, cur: u32) -> Result<bool, PlanError> {
    let (octal, symbolic) = match &attrs.mode {
        Some(m @ Mode::Symbolic(_)) => (None, Some(m)),
        Some(m) => (Some(mode::fmt(m.resolve(cur, true)?)), None),
        None => (None, None),
    };
    let owners = cx.tree_differs(Probe::Tree {
        path: path.to_string(),
        owner: attrs.owner.clone(),
        group: attrs.group.clone(),
        mode: octal,
    });
    let modes = match symbolic {
        // Links are left out: chmod never changes them.
        Some(_) => cx.ask_one(Read::TreeModes(path.to_string())).map(Some),
        None => Ok(None),
    };
    let (owners, modes) = both(owners, modes)?;
    let Some((m, modes)) = symbolic.zip(modes) else {
        return Ok(owners);
    };
    for line in modes.lines() {
        let Some((kind, bits)) = line.rsplit_once('|') else {
            continue;
        };
        let bits = mode::parse_octal(bits);
        if m.resolve(bits, kind == "directory")? != bits {
            return Ok(true);
        }
    }
    Ok(owners)
}

fn with_state(
    mut m: serde_json::Map<String, serde_json::Value>,
    state: &str,
) -> serde_json::Map<String, serde_json::Value> {
    m.insert("state".into(), serde_json::json!(state));
    m
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{self, dir, fail_msg};
    use super::*;
    use crate::probe::{Fact, FileState};

    /// Plans `file` with `args` on a host where only `existing` directories
    /// (and `/`) exist.
    fn on_host(args: serde_json::Value, existing: &[&str]) -> Result<Decision, PlanError> {
        let existing: Vec<String> = existing.iter().map(|s| s.to_string()).collect();
        testing::run("file", args, move |p| match p {
            Probe::File { path, .. } if existing.contains(path) => {
                Some(Fact::File(dir("711", "root")))
            }
            Probe::File { .. } => Some(Fact::File(FileState::missing())),
            _ => None,
        })
    }

    /// `state: absent` registers `path` and `state` whether it removed
    /// something or not (the service target reads them after a removal).
    /// A timestamp is set when the file does not have it (the host is asked,
    /// here by `sh` on a real file), and then it is no change: ansible-core's
    /// `modification_time` on `state: file`.
    #[test]
    fn timestamps_are_set_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let path = f.display().to_string();
        let plan = || {
            testing::run(
                "file",
                json!({"path": path, "modification_time": "202001011200.0", "access_time": "preserve"}),
                |p| match p {
                    Probe::File { .. } => Some(Fact::File(testing::file(b"x", "644", "root"))),
                    Probe::Shell { script } => Some(Fact::Text(
                        String::from_utf8_lossy(&testing::run_sh(script, b"").stdout).into_owned(),
                    )),
                    _ => None,
                },
            )
            .unwrap()
        };
        let d = plan();
        assert!(
            testing::changes(&d).contains(&Change::SetTimes {
                path: path.clone(),
                mtime: Some("2020-01-01 12:00:00".into()),
                atime: None,
            }),
            "{d:?}"
        );
        assert!(testing::run_sh(testing::script(&d), b"").status.success());
        assert!(matches!(plan(), Decision::Ok { .. }), "set once");
        let d = testing::run(
            "file",
            json!({"path": path, "modification_time": "yesterday"}),
            |_| Some(Fact::File(testing::file(b"x", "644", "root"))),
        );
        assert!(
            testing::fail_msg(d).contains("Error while obtaining timestamp for time yesterday"),
        );
    }

    #[test]
    fn absent_registers_path_and_state() {
        for (existing, changed) in [(&["/srv", "/srv/x"][..], true), (&["/srv"][..], false)] {
            let d = on_host(json!({"path": "/srv/x", "state": "absent"}), existing).unwrap();
            let result = match d {
                Decision::Change { action, .. } => action.result,
                Decision::Ok { result, .. } => result,
                other => panic!("{other:?}"),
            };
            assert_eq!(result["state"], json!("absent"), "changed: {changed}");
            assert_eq!(result["path"], json!("/srv/x"), "changed: {changed}");
        }
    }

    /// `state: hard` as Ansible decides it: the same file is ok, another
    /// file needs `force`, a missing path is linked.
    #[test]
    fn hard_links_are_made_only_where_ansible_makes_them() {
        let plan = |args: serde_json::Value, at_path: FileState, same: bool| {
            testing::run("file", args, move |p| match p {
                Probe::File { path, .. } if path == "/srv/b" => Some(Fact::File(at_path.clone())),
                Probe::File { .. } => Some(Fact::File(testing::file(b"x", "644", "root"))),
                Probe::Shell { script } if script.contains("-ef") => {
                    Some(Fact::Text(if same { "yes\n" } else { "" }.into()))
                }
                _ => None,
            })
        };
        let args = json!({"path": "/srv/b", "src": "/srv/a", "state": "hard"});
        let other = testing::file(b"y", "644", "root");
        let same = plan(args.clone(), other.clone(), true).unwrap();
        assert!(matches!(same, Decision::Ok { .. }), "{same:?}");
        let msg = fail_msg(plan(args.clone(), other.clone(), false));
        assert!(msg.contains("force: yes"), "{msg}");
        let mut forced = args.clone();
        forced["force"] = json!(true);
        for d in [
            plan(forced, other, false),
            plan(args, FileState::missing(), false),
        ] {
            let Decision::Change { action, .. } = d.unwrap() else {
                panic!("expected a change");
            };
            assert_eq!(
                action.changes[0],
                Change::HardLink {
                    path: "/srv/b".into(),
                    target: "/srv/a".into(),
                    follow: true
                }
            );
        }
    }

    /// The rendered hard link, run by sh, replaces another file with a
    /// second name of `src` and leaves no temp file.
    #[test]
    fn a_hard_link_replaces_the_file_there() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b b"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let r = change::render(&[Change::HardLink {
            path: b.display().to_string(),
            target: a.display().to_string(),
            follow: true,
        }])
        .unwrap();
        let out = testing::run_sh(&r.script, b"");
        assert!(out.status.success(), "{out:?}");
        let ino = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&a), ino(&b));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn ancestors_outermost_first() {
        assert_eq!(ancestors("/a/b/c"), ["/a", "/a/b"]);
        assert_eq!(ancestors("/a/b/c/"), ["/a", "/a/b"]);
        assert_eq!(ancestors("/a"), Vec::<String>::new());
        assert_eq!(ancestors("a/b"), ["a"]);
    }

    /// What `--check` shows: one diff per directory created, each with the
    /// attributes it gets; the parent that exists is not among them.
    #[test]
    fn directory_diff_lists_each_directory_created() {
        let d = on_host(
            json!({"path": "/srv/home/u/.config", "state": "directory",
                   "owner": "u", "group": "u", "mode": "0700"}),
            &["/srv"],
        )
        .unwrap();
        let Decision::Change { diffs, action } = &d else {
            panic!("expected a change, got {d:?}");
        };
        let paths: Vec<&str> = diffs.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["/srv/home", "/srv/home/u", "/srv/home/u/.config"]);
        for x in diffs {
            assert_eq!(
                x.attrs,
                [
                    "state: absent → directory",
                    "owner: u",
                    "group: u",
                    "mode: 0700"
                ]
            );
        }
        // Each one made and given its attributes in turn, never `mkdir -p`.
        let attrs = Attrs {
            owner: Some("u".into()),
            group: Some("u".into()),
            mode: Mode::parse(&json!("0700")).unwrap(),
        };
        let mut want: Vec<Change> = paths
            .iter()
            .map(|p| Change::MakeDir {
                path: p.to_string(),
                attrs: attrs.clone(),
            })
            .collect();
        // Then the last one's owner, group, mode and size, for the result.
        want.push(Change::ReportStat {
            path: paths[paths.len() - 1].to_string(),
        });
        assert_eq!(action.changes, want);
    }

    /// A link's owner is set on the link itself, and its mode never: Linux
    /// has no link modes and `chmod` would follow it.
    #[test]
    fn link_owner_is_set_on_the_link_and_its_mode_is_left() {
        let d = testing::run(
            "file",
            json!({"path": "/srv/l", "src": "/etc/t", "state": "link",
                   "owner": "u", "mode": "0600"}),
            |p| match p {
                Probe::File { path, .. } if path == "/etc/t" => {
                    Some(Fact::File(testing::file(b"x", "644", "root")))
                }
                Probe::File { .. } => Some(Fact::File(FileState::missing())),
                _ => None,
            },
        )
        .unwrap();
        let Decision::Change { action, .. } = &d else {
            panic!("expected a change, got {d:?}");
        };
        assert_eq!(
            action.changes,
            [
                Change::Link {
                    path: "/srv/l".into(),
                    target: "/etc/t".into()
                },
                Change::SetAttrs {
                    path: "/srv/l".into(),
                    attrs: Attrs {
                        owner: Some("u".into()),
                        ..Attrs::default()
                    },
                    current: 0,
                    is_dir: false,
                    no_deref: true,
                },
                Change::ReportLink {
                    path: "/srv/l".into()
                },
            ]
        );
    }

    /// The result of `state: link`, made or already there, is Ansible's:
    /// `dest`, `src`, and the link's own fields with `state: link` when
    /// what it points to exists; none of them when it dangles.
    #[test]
    fn link_result_is_ansibles() {
        let link = FileState {
            kind: FileKind::Link,
            link_target: Some("t".into()),
            ..testing::file(b"t", "777", "root")
        };
        let already = |target_exists: bool| {
            let link = link.clone();
            testing::run(
                "file",
                json!({"path": "/srv/l", "src": "t", "state": "link", "force": !target_exists}),
                move |p| match p {
                    Probe::File {
                        path,
                        follow: false,
                    } if path == "/srv/l" => Some(Fact::File(link.clone())),
                    Probe::File { path, follow: true } if path == "/srv/t" && target_exists => {
                        Some(Fact::File(testing::file(b"x", "644", "root")))
                    }
                    Probe::File { .. } => Some(Fact::File(FileState::missing())),
                    _ => None,
                },
            )
            .unwrap()
        };
        let Decision::Ok { result, .. } = already(true) else {
            panic!("an existing link is ok")
        };
        assert_eq!(result["state"], json!("link"));
        assert_eq!(result["mode"], json!("0777"));
        assert_eq!(result["src"], json!("t"));
        assert_eq!(result["dest"], json!("/srv/l"));
        assert!(!result.contains_key("path"), "{result:?}");
        let Decision::Ok { result, .. } = already(false) else {
            panic!("an existing link is ok")
        };
        assert!(!result.contains_key("state"), "{result:?}");

        let made = testing::run(
            "file",
            json!({"path": "/srv/l", "src": "t", "state": "link"}),
            |p| match p {
                Probe::File { path, .. } if path == "/srv/t" => {
                    Some(Fact::File(testing::file(b"x", "644", "root")))
                }
                Probe::File { .. } => Some(Fact::File(FileState::missing())),
                _ => None,
            },
        )
        .unwrap();
        let Decision::Change { action, .. } = made else {
            panic!("a missing link is made")
        };
        let super::super::OutputMode::Parse(parse) = action.output else {
            panic!("the made link is reported")
        };
        let read = parse(0, "rprov-stat 0 0 777 1 root root\n", "");
        assert_eq!(read["state"], json!("link"));
        assert_eq!(read["size"], json!(1));
        assert!(parse(0, "", "").is_empty());
        assert!(action.script.contains("if [ -e /srv/l ]; then stat -c"));

        // A link to nothing is refused without `force`, in Ansible's words.
        let refused = testing::run(
            "file",
            json!({"path": "/srv/l", "src": "t", "state": "link"}),
            |p| match p {
                Probe::File { .. } => Some(Fact::File(FileState::missing())),
                _ => None,
            },
        );
        let Err(PlanError::Missing(m)) = refused else {
            panic!("{refused:?}")
        };
        assert!(
            m.starts_with("src file does not exist, use 'force=yes'") && m.ends_with(": /srv/t"),
            "{m}"
        );
    }

    #[test]
    fn directory_under_a_file_fails_before_anything_runs() {
        let r = testing::run(
            "file",
            json!({"path": "/srv/f/sub", "state": "directory"}),
            |p| match p {
                Probe::File { path, .. } if path == "/srv" => Some(Fact::File(dir("755", "root"))),
                Probe::File { path, .. } if path == "/srv/f" => {
                    Some(Fact::File(testing::file(b"x", "644", "root")))
                }
                Probe::File { .. } => Some(Fact::File(FileState::missing())),
                _ => None,
            },
        );
        assert!(fail_msg(r).contains("`/srv/f` exists and is not a directory"));
    }
}
