//! `copy` with `remote_src` of a directory on the host, as ansible-core's
//! `copy` module does it (`copy_directory`):
//!
//! - `src: dir/` copies what is inside `dir` into `dest`; `src: dir` copies
//!   `dir` itself, as `dest/dir`.
//! - A `dest` that is not there is a copy of the tree (`shutil.copytree`):
//!   directories and files keep their modes, and links stay links unless
//!   `local_follow: yes` copies what they point to.
//! - A `dest` that is there is merged into, level by level
//!   (`filecmp.dircmp`): what only the source has is copied, a file both
//!   have is copied over when its content differs, and what only `dest` has
//!   stays.
//! - `owner` and `group` are set on everything under `dest`, `mode` on
//!   `dest` itself.
//!
//! The two trees are listed with one `find` each, every path's state comes
//! in the host's probe batch, and the copies run in one remote command, each
//! file written atomically from its source on the host.
//!
//! Known difference: ansible-core's merge skips a link that only the source
//! has when `local_follow` is not given (and still reports a change, every
//! run); rprov copies it as a link, as `copytree` does for a new `dest`.

use std::collections::BTreeMap;

use super::change::{self, Change, Content, Read};
use super::copy;
use super::copy_tree::{dest_root, join, trimmed};
use super::files::{self, Attrs};
use super::mode::{self, Mode};
use super::sysargs::both;
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

/// More than this many entries is a job for an archive, not a task.
const MAX_ENTRIES: usize = 5000;

/// One entry of a tree listing (`find -printf '%y %Y %l %P'`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// `d`, `f`, `l`, … of the entry itself.
    own: char,
    /// The same after following a link (`N`: it points nowhere).
    followed: char,
    /// Where a link points, as written.
    target: String,
}

/// The entries under a directory, by path relative to it.
type Listing = BTreeMap<String, Entry>;

/// What the copy does: the changes, in order, and one diff per path.
#[derive(Default)]
struct Plan {
    changes: Vec<Change>,
    diffs: Vec<Diff>,
    touches: Vec<String>,
    /// Paths under `dest` the copy writes, which need no `owner`/`group`
    /// pass of their own afterwards.
    written: std::collections::HashSet<String>,
    /// Contents the diffs still need from the host, asked for together.
    need: Vec<crate::probe::Probe>,
}

/// `copy` of the host directory `src` (whose state is `src_root`) to the
/// task's `dest`.
pub fn plan(
    cx: &PlanCx,
    args: &copy::Args,
    src: &str,
    src_root: &FileState,
) -> Result<Decision, PlanError> {
    let src_dir = trimmed(src);
    let name = src_dir.rsplit('/').next().unwrap_or(&src_dir);
    let root = dest_root(&args.dest, src, name);
    // ansible-core's module gets `local_follow` only when the task gives it:
    // links stay links unless it says yes.
    let follow = args.local_follow && cx.args.contains_key("local_follow");

    let root_state = cx.file(&root, true);
    let src_listing = cx.ask_one(listing(&src_dir));
    let dest_listing = cx.ask_one(listing(&root));
    let ((root_state, src_listing), dest_listing) =
        both(both(root_state, src_listing), dest_listing)?;
    let src_tree = parse_listing(&src_listing)?;
    let dest_tree = match root_state.kind {
        FileKind::Directory => parse_listing(&dest_listing)?,
        FileKind::Missing => Listing::new(),
        _ => {
            return Err(PlanError::Fail(format!(
                "`dest: {root}` exists and is not a directory: it cannot take the directory `{src_dir}`"
            )))
        }
    };

    // Every path's state, asked for at once: the source's after links (its
    // content and mode), `dest`'s as they are.
    let src_paths: Vec<String> = src_tree.keys().map(|r| join(&src_dir, r)).collect();
    let dest_paths: Vec<String> = dest_tree.keys().map(|r| join(&root, r)).collect();
    // `dest`'s entries are also looked at themselves, for `owner` and
    // `group`, which are set on a link, not on what it points to.
    let ((src_states, dest_states), dest_own) = both(
        both(cx.files(&src_paths, true), cx.files(&dest_paths, true)),
        cx.files(&dest_paths, false),
    )?;
    let src_state: BTreeMap<&str, &FileState> = src_tree
        .keys()
        .map(String::as_str)
        .zip(src_states.iter())
        .collect();
    let dest_state: BTreeMap<&str, &FileState> = dest_tree
        .keys()
        .map(String::as_str)
        .zip(dest_states.iter())
        .collect();

    let owner_group = Attrs::new(args.owner.clone(), args.group.clone(), None);
    let root_mode = match &args.mode {
        Some(Mode::Preserve) => Some(Mode::Octal(mode::parse_octal(&src_root.mode))),
        other => other.clone(),
    };
    let root_attrs = Attrs {
        mode: root_mode,
        ..owner_group.clone()
    };
    let tree = Tree {
        cx,
        want_diff: cx.want_diff,
        src_dir: &src_dir,
        root: &root,
        src: &src_tree,
        src_state: &src_state,
        follow,
        owner_group: &owner_group,
    };

    let mut plan = Plan::default();
    if root_state.kind == FileKind::Missing {
        let parent = files::parent(&root);
        if parent != "/" && parent != "." {
            plan.changes.push(Change::MakeParents {
                path: parent.to_string(),
            });
        }
        let (diff, change) = files::create_dir(&root, &root_attrs)?;
        plan.add(&root, diff, change);
        tree.copy_under("", &mut plan)?;
    } else {
        tree.merge("", &dest_tree, &dest_state, &mut plan)?;
        // `chown_recursive`, then `dest`'s own attributes.
        if owner_group.owner.is_some() || owner_group.group.is_some() {
            for (rel, st) in dest_tree.keys().zip(&dest_own) {
                let path = join(&root, rel);
                if !plan.written.contains(&path) && st.exists() {
                    plan.set_attrs(&path, &owner_group, st, st.kind == FileKind::Link)?;
                }
            }
        }
        plan.set_attrs(&root, &root_attrs, &root_state, false)?;
    }

    if !plan.need.is_empty() {
        return Err(PlanError::Need(std::mem::take(&mut plan.need)));
    }
    let mut result = files::result(&root, !plan.diffs.is_empty());
    result.insert("src".into(), serde_json::json!(src));
    if plan.diffs.is_empty() {
        return Ok(Decision::Ok { result, msg: None });
    }
    let mut action = change::action(plan.changes, &root)?;
    action.result = result;
    action.touches = plan.touches;
    Ok(Decision::Change {
        diffs: plan.diffs,
        action,
    })
}

/// The source tree and how it is copied.
struct Tree<'a> {
    cx: &'a PlanCx<'a>,
    want_diff: bool,
    src_dir: &'a str,
    root: &'a str,
    src: &'a Listing,
    src_state: &'a BTreeMap<&'a str, &'a FileState>,
    follow: bool,
    owner_group: &'a Attrs,
}

impl Tree<'_> {
    /// The source's entries right under `dir` (relative), in name order.
    fn children<'t>(&'t self, dir: &'t str) -> impl Iterator<Item = (&'t String, &'t Entry)> {
        self.src
            .iter()
            .filter(move |(rel, _)| parent_rel(rel) == dir)
    }

    fn state(&self, rel: &str) -> Result<&FileState, PlanError> {
        self.src_state
            .get(rel)
            .copied()
            .ok_or_else(|| PlanError::Fail(format!("no state for {}", join(self.src_dir, rel))))
    }

    /// `copytree` of the source directory `dir` into `dest` (whose copy of
    /// `dir` is made already): everything under it is new.
    fn copy_under(&self, dir: &str, plan: &mut Plan) -> Result<(), PlanError> {
        for (rel, e) in self.children(dir) {
            self.copy_new(rel, e, plan)?;
        }
        Ok(())
    }

    /// Copies the source's `rel`, which `dest` does not have.
    fn copy_new(&self, rel: &str, e: &Entry, plan: &mut Plan) -> Result<(), PlanError> {
        let path = join(self.root, rel);
        let st = self.state(rel)?;
        match (e.own, e.followed) {
            ('l', 'f') if self.follow => self.write(rel, &path, st, &FileState::missing(), plan),
            ('l', _) => {
                plan.add(
                    &path,
                    Diff {
                        path: path.clone(),
                        attrs: vec![format!("state: absent → link to {}", e.target)],
                        ..Diff::default()
                    },
                    Change::Link {
                        path: path.clone(),
                        target: e.target.clone(),
                    },
                );
                // `chown_recursive` sets the link's own owner (`lchown`).
                if self.owner_group.owner.is_some() || self.owner_group.group.is_some() {
                    plan.changes.push(Change::SetAttrs {
                        path,
                        attrs: self.owner_group.clone(),
                        current: 0o777,
                        is_dir: false,
                        no_deref: true,
                    });
                }
                Ok(())
            }
            ('d', _) => {
                let attrs = Attrs {
                    mode: Some(Mode::Octal(mode::parse_octal(&st.mode))),
                    ..self.owner_group.clone()
                };
                let (diff, change) = files::create_dir(&path, &attrs)?;
                plan.add(&path, diff, change);
                self.copy_under(rel, plan)
            }
            ('f', _) => self.write(rel, &path, st, &FileState::missing(), plan),
            // Devices, sockets, pipes: `copytree` would fail on them.
            _ => Err(PlanError::Fail(format!(
                "`{}` is not a regular file, a directory or a link: rprov does not copy it",
                join(self.src_dir, rel)
            ))),
        }
    }

    /// `copy_diff_files`, `copy_left_only` and `copy_common_dirs` of the
    /// source's `dir` into the `dest` tree as it is.
    fn merge(
        &self,
        dir: &str,
        dest: &Listing,
        dest_state: &BTreeMap<&str, &FileState>,
        plan: &mut Plan,
    ) -> Result<(), PlanError> {
        for (rel, e) in self.children(dir) {
            let Some(d) = dest.get(rel) else {
                self.copy_new(rel, e, plan)?;
                continue;
            };
            let dst = dest_state
                .get(rel.as_str())
                .copied()
                .ok_or_else(|| PlanError::Fail(format!("no state for {}", join(self.root, rel))))?;
            match (e.followed, d.followed) {
                ('f', 'f') => {
                    let st = self.state(rel)?;
                    if st.sha256 == dst.sha256 {
                        continue;
                    }
                    // `shutil.copyfile` writes through a link in `dest`:
                    // the file it points to changes, the link stays.
                    let at = match d.own {
                        'l' => resolve(&join(self.root, rel), &d.target),
                        _ => join(self.root, rel),
                    };
                    if !plan.written.contains(&at) {
                        self.write(rel, &at, st, dst, plan)?;
                    }
                }
                ('d', 'd') if e.own == 'd' && d.own == 'd' => {
                    self.merge(rel, dest, dest_state, plan)?
                }
                // A file on one side and a directory on the other, or links
                // into directories: `dircmp` leaves them be.
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes the source file `rel` (state `st`) at `path` under `dest`
    /// (state `existing`), with its mode and the task's owner and group.
    fn write(
        &self,
        rel: &str,
        path: &str,
        st: &FileState,
        existing: &FileState,
        plan: &mut Plan,
    ) -> Result<(), PlanError> {
        let path = path.to_string();
        let attrs = Attrs {
            mode: Some(Mode::Octal(mode::parse_octal(&st.mode))),
            ..self.owner_group.clone()
        };
        let src = join(self.src_dir, rel);
        let mut diff = Diff {
            path: path.clone(),
            attrs: match existing.exists() {
                true => Vec::new(),
                false => vec![format!("state: absent → file (copy of {src})")],
            },
            ..Diff::default()
        };
        if self.want_diff {
            let before = match existing.exists() {
                true => plan.content(self.cx, &path),
                false => Some(Vec::new()),
            };
            diff.before = before.and_then(|b| String::from_utf8(b).ok());
            diff.after = plan
                .content(self.cx, &src)
                .and_then(|b| String::from_utf8(b).ok());
            if diff.before.is_none() || diff.after.is_none() {
                diff.attrs.push(format!(
                    "content: binary or large file ({} bytes) changes",
                    st.size
                ));
            }
        }
        plan.add(
            &path,
            diff,
            Change::Write {
                dest: path.clone(),
                attrs,
                existing: existing.clone(),
                validate: None,
                backup: false,
                content: Content::HostFile(src),
            },
        );
        Ok(())
    }
}

impl Plan {
    /// Sets `attrs` on the existing `path` (state `st`; the link itself
    /// when `no_deref`) where they differ, with one diff.
    fn set_attrs(
        &mut self,
        path: &str,
        attrs: &Attrs,
        st: &FileState,
        no_deref: bool,
    ) -> Result<(), PlanError> {
        let changed = attrs.changes(st)?;
        if changed.is_empty() {
            return Ok(());
        }
        let mut change = Change::set_attrs(path, attrs.clone(), st);
        if let Change::SetAttrs { no_deref: n, .. } = &mut change {
            *n = no_deref;
        }
        self.changes.push(change);
        self.diffs.push(Diff {
            path: path.to_string(),
            attrs: changed,
            ..Diff::default()
        });
        self.touches.push(path.to_string());
        Ok(())
    }

    /// A file's content for a diff, or `None` while it is asked for (or
    /// cannot be read).
    fn content(&mut self, cx: &PlanCx, path: &str) -> Option<Vec<u8>> {
        match cx.content(path) {
            Ok(c) => c,
            Err(PlanError::Need(n)) => {
                self.need.extend(n);
                None
            }
            Err(_) => None,
        }
    }

    fn add(&mut self, path: &str, diff: Diff, change: Change) {
        self.diffs.push(diff);
        self.changes.push(change);
        self.touches.push(path.to_string());
        self.written.insert(path.to_string());
    }
}

/// Lists what is under `dir` on the host, NUL-separated: each entry's own
/// type, its type after links, a link's target and the relative path.
fn listing(dir: &str) -> Read {
    Read::Output(vec![
        "find".into(),
        dir.into(),
        "-mindepth".into(),
        "1".into(),
        "-printf".into(),
        "%y\\0%Y\\0%l\\0%P\\0".into(),
    ])
}

fn parse_listing(out: &str) -> Result<Listing, PlanError> {
    let mut fields = out.split('\0');
    let mut listing = Listing::new();
    while let Some(own) = fields.next().filter(|f| !f.trim().is_empty()) {
        let (Some(followed), Some(target), Some(rel)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(PlanError::Fail(format!(
                "cannot read the listing of a directory on the host: {out:?}"
            )));
        };
        if listing.len() == MAX_ENTRIES {
            return Err(PlanError::Fail(format!(
                "the directory has more than {MAX_ENTRIES} entries; copy an archive and unpack it instead"
            )));
        }
        let first = |s: &str| s.trim().chars().next().unwrap_or('?');
        listing.insert(
            rel.to_string(),
            Entry {
                own: first(own),
                followed: first(followed),
                target: target.to_string(),
            },
        );
    }
    Ok(listing)
}

/// Where the link at `link` points: `target` itself when absolute, else
/// beside the link.
fn resolve(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        join(files::parent(link), target)
    }
}

/// The relative path of `rel`'s directory (`""` at the top).
fn parent_rel(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_reads_back_types_targets_and_paths() {
        let out = "d\0d\0\0sub\0f\0f\0\0sub/a b\0l\0f\0../x\0link\0l\0N\0nowhere\0dangling\0";
        let l = parse_listing(out).expect("parses");
        assert_eq!(l.len(), 4);
        assert_eq!(l["sub/a b"].own, 'f');
        assert_eq!(l["link"].target, "../x");
        assert_eq!(l["link"].followed, 'f');
        assert_eq!(l["dangling"].followed, 'N');
        assert!(parse_listing("").expect("empty").is_empty());
        assert!(parse_listing("d\0d\0").is_err());
        assert_eq!(parent_rel("a/b/c"), "a/b");
        assert_eq!(parent_rel("a"), "");
    }
}
