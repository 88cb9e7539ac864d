//! `copy` of a directory (`src: site/` or `src: site`), as Ansible does it: a
//! trailing slash copies what is inside into `dest`, without it the directory
//! itself lands in `dest`. Files are compared by sha256 and written atomically
//! one by one; every new or changed file is one diff. The whole tree goes in
//! one remote command: the files follow each other on stdin.
//!
//! Symbolic links in the source are followed (`local_follow: yes`, the
//! default), except one that points nowhere or to a directory the walk is
//! already inside (a loop), which lands on the host as a link, as
//! ansible-core's `_walk_dirs` decides. With `local_follow: no` every link is
//! put on the host as a link to the same text, as `file: state=link
//! force=yes` would.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::change::{self, Change, Content};
use super::copy;
use super::files::{self, Attrs};
use super::mode::Mode;
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileKind;

/// More than this many files is a job for a tarball or rsync, not a task.
const MAX_FILES: usize = 2000;

struct LocalFile {
    rel: String,
    bytes: Vec<u8>,
    mode: u32,
    /// Decrypted from ansible-vault: never shown in a diff.
    secret: bool,
}

/// A symbolic link of the source that lands on the host as a link.
struct LocalLink {
    rel: String,
    /// What it points to, as written (`readlink`).
    target: String,
}

/// What [`walk`] finds under a source directory.
struct Tree {
    /// Relative, parents first, `""` for the root.
    dirs: Vec<String>,
    files: Vec<LocalFile>,
    links: Vec<LocalLink>,
}

/// Copies the local directory `dir` (written `src` in the task) to the
/// task's `dest`.
pub fn plan_copy_tree(
    cx: &PlanCx,
    args: &copy::Args,
    dir: &Path,
    src: &str,
) -> Result<Decision, PlanError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let root = dest_root(&args.dest, src, &name);
    let Tree {
        dirs,
        files: mut local,
        links,
    } = walk(dir, args.local_follow)?;
    // Vault-encrypted files are decrypted as `copy` decrypts a single one
    // (`decrypt: yes`, the default); their plaintext never shows in a diff.
    if args.decrypt {
        for f in local.iter_mut().filter(|f| copy::is_vault_file(&f.bytes)) {
            let path = dir.join(&f.rel).display().to_string();
            f.bytes = copy::decrypt_source(cx, &path, &f.bytes)?;
            f.secret = true;
        }
    }
    let join = |rel: &str| join(&root, rel);

    let mut attrs = Attrs::new(args.owner.clone(), args.group.clone(), args.mode.clone());
    let dir_attrs = Attrs {
        mode: args.directory_mode.clone(),
        ..attrs.clone()
    };
    let preserve = attrs.mode == Some(Mode::Preserve);
    let force = args.force;

    // Ask for every path at once: one probe batch for the whole tree.
    let mut need = Vec::new();
    let mut state = |path: &str| match cx.file(path, true) {
        Ok(s) => Some(s),
        Err(PlanError::Need(n)) => {
            need.extend(n);
            None
        }
        Err(PlanError::Fail(_) | PlanError::Missing(_)) => None,
    };
    let dir_states: Vec<_> = dirs.iter().map(|d| state(&join(d))).collect();
    let file_states: Vec<_> = local.iter().map(|f| state(&join(&f.rel))).collect();
    // A link is looked at itself, not at what it points to.
    let link_states: Vec<_> = links
        .iter()
        .map(|l| match cx.file(&join(&l.rel), false) {
            Ok(s) => Some(s),
            Err(PlanError::Need(n)) => {
                need.extend(n);
                None
            }
            Err(_) => None,
        })
        .collect();
    if !need.is_empty() {
        return Err(PlanError::Need(need));
    }

    let mut changes = Vec::new();
    let mut diffs = Vec::new();
    let mut touches = Vec::new();
    for (d, st) in dirs.iter().zip(dir_states) {
        let path = join(d);
        let st = st.ok_or_else(|| format!("no state for {path}"))?;
        match st.kind {
            FileKind::Directory => {}
            FileKind::Missing => {
                // A missing `dest` is made with its missing parents, as
                // ansible-core's `copy` makes them.
                if d.is_empty() {
                    if let Some(parent) = Path::new(&path).parent().filter(|p| *p != Path::new("/"))
                    {
                        changes.push(Change::MakeParents {
                            path: parent.display().to_string(),
                        });
                    }
                }
                let (diff, change) = files::create_dir(&path, &dir_attrs)?;
                diffs.push(diff);
                changes.push(change);
                touches.push(path);
            }
            _ => {
                return Err(PlanError::Fail(format!(
                    "`{path}` exists and is not a directory"
                )))
            }
        }
    }
    // Old contents for the diffs, asked for together like the states.
    let mut need = Vec::new();
    for (f, st) in local.iter().zip(file_states) {
        let path = join(&f.rel);
        let st = st.ok_or_else(|| format!("no state for {path}"))?;
        if !matches!(st.kind, FileKind::Missing | FileKind::File | FileKind::Link) {
            return Err(PlanError::Fail(format!(
                "`{path}` exists and is not a regular file"
            )));
        }
        if preserve {
            attrs.mode = Some(Mode::Octal(f.mode));
        }
        let sha = hex::encode(Sha256::digest(&f.bytes));
        let same = st.sha256.as_deref() == Some(sha.as_str()) || (st.exists() && !force);
        let attr_changes = if st.exists() {
            attrs.changes(&st)?
        } else {
            Vec::new()
        };
        if same && attr_changes.is_empty() {
            continue;
        }
        let mut diff = Diff {
            path: path.clone(),
            attrs: attr_changes,
            ..Diff::default()
        };
        if same {
            changes.push(Change::set_attrs(&path, attrs.clone(), &st));
        } else {
            if !st.exists() {
                diff.attrs.insert(0, "state: absent → file".into());
            }
            if f.secret {
                diff.attrs
                    .push("content: from a vault-encrypted source (not shown)".to_string());
            } else if cx.want_diff {
                let before = if st.exists() {
                    match cx.content(&path) {
                        Ok(b) => b,
                        Err(PlanError::Need(n)) => {
                            need.extend(n);
                            None
                        }
                        Err(e) => return Err(e),
                    }
                } else {
                    Some(Vec::new())
                };
                diff.before = before.and_then(|b| String::from_utf8(b).ok());
                diff.after = String::from_utf8(f.bytes.clone()).ok();
                if diff.before.is_none() || diff.after.is_none() {
                    diff.attrs.push(format!(
                        "content: binary or large file ({} bytes) changes",
                        f.bytes.len()
                    ));
                }
            }
            changes.push(Change::Write {
                dest: path.clone(),
                attrs: attrs.clone(),
                existing: st,
                validate: None,
                backup: false,
                content: Content::Bytes(f.bytes.clone()),
            });
        }
        diffs.push(diff);
        touches.push(path);
    }

    if !need.is_empty() {
        return Err(PlanError::Need(need));
    }
    for (l, st) in links.iter().zip(link_states) {
        let path = join(&l.rel);
        let st = st.ok_or_else(|| format!("no state for {path}"))?;
        let was = match st.kind {
            FileKind::Link if st.link_target.as_deref() == Some(l.target.as_str()) => continue,
            FileKind::Link => format!("link to {}", st.link_target.as_deref().unwrap_or("?")),
            FileKind::Missing => "absent".to_string(),
            FileKind::File => "file".to_string(),
            _ => {
                return Err(PlanError::Fail(format!(
                    "`{path}` exists and is not a file or a link: it cannot become the link `{}` of the source",
                    l.target
                )))
            }
        };
        diffs.push(Diff {
            path: path.clone(),
            attrs: vec![format!("state: {was} → link to {}", l.target)],
            ..Diff::default()
        });
        changes.push(Change::Link {
            path: path.clone(),
            target: l.target.clone(),
        });
        touches.push(path);
    }
    let mut result = files::result(&root, !diffs.is_empty());
    result.insert("files".into(), serde_json::json!(local.len()));
    if diffs.is_empty() {
        return Ok(Decision::Ok { result, msg: None });
    }
    let mut action = change::action(changes, &root)?;
    action.result = result;
    action.touches = touches;
    Ok(Decision::Change { diffs, action })
}

/// Where a copy of the directory `src` (named `name`) lands under `dest`:
/// `dest` itself for `src/` (what is inside), `dest/name` for `src`.
pub(super) fn dest_root(dest: &str, src: &str, name: &str) -> String {
    let root = trimmed(dest);
    match src.ends_with('/') {
        true => root,
        false => join(&root, name),
    }
}

/// `path` without its trailing slashes (`/` stays `/`).
pub(super) fn trimmed(path: &str) -> String {
    let t = path.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.to_string()
    }
}

/// `rel` under `dir` (`dir` itself for `""`).
pub(super) fn join(dir: &str, rel: &str) -> String {
    if rel.is_empty() {
        dir.to_string()
    } else {
        format!("{}/{rel}", dir.trim_end_matches('/'))
    }
}

/// The directories, files and links under `dir`, sorted. Links are followed
/// when `follow` (`local_follow`), but for those [`LocalLink`] names.
fn walk(dir: &Path, follow: bool) -> Result<Tree, PlanError> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs = vec![String::new()];
    let mut files = Vec::new();
    let mut links = Vec::new();
    // Each directory to read, with the directories (links resolved) the walk
    // went through to reach it, itself last: a link to one of them, or above
    // the last, is a loop.
    let mut todo: Vec<(PathBuf, String, Vec<PathBuf>)> =
        vec![(dir.to_path_buf(), String::new(), Vec::new())];
    while let Some((abs, rel, mut chain)) = todo.pop() {
        let here = std::fs::canonicalize(&abs)
            .map_err(|e| format!("cannot read {}: {e}", abs.display()))?;
        chain.push(here.clone());
        let mut entries: Vec<_> = std::fs::read_dir(&abs)
            .map_err(|e| format!("cannot read {}: {e}", abs.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let own = std::fs::symlink_metadata(&path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            let followed = std::fs::metadata(&path);
            if own.file_type().is_symlink() {
                let as_link = match &followed {
                    _ if !follow => true,
                    // Points nowhere.
                    Err(_) => true,
                    Ok(md) if md.is_dir() => std::fs::canonicalize(&path).map_or(true, |target| {
                        here.starts_with(&target) || chain.contains(&target)
                    }),
                    Ok(_) => false,
                };
                if as_link {
                    let target = std::fs::read_link(&path)
                        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                    links.push(LocalLink {
                        rel: r,
                        target: target.to_string_lossy().into_owned(),
                    });
                    continue;
                }
            }
            let md = followed.map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            if md.is_dir() {
                if dirs.len() == MAX_FILES {
                    return Err(PlanError::Fail(format!(
                        "`{}` has more than {MAX_FILES} directories (a symlink loop?)",
                        dir.display()
                    )));
                }
                dirs.push(r.clone());
                subdirs.push((path, r, chain.clone()));
            } else if md.is_file() {
                if files.len() == MAX_FILES {
                    return Err(PlanError::Fail(format!(
                        "`{}` has more than {MAX_FILES} files; copy an archive and unpack it instead",
                        dir.display()
                    )));
                }
                let bytes = std::fs::read(&path)
                    .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                files.push(LocalFile {
                    rel: r,
                    bytes,
                    mode: md.permissions().mode() & 0o7777,
                    secret: false,
                });
            }
        }
        // Depth-first in name order, parents before children.
        todo.extend(subdirs.into_iter().rev());
    }
    Ok(Tree { dirs, files, links })
}
