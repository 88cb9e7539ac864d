//! A connection to one host (or the controller) and what was probed through
//! it.
//!
//! A host runner has a link of its own and, for each host its tasks are
//! delegated to, another one kept for the rest of the run: a delegated task
//! never plans against this host's probe cache, never runs over this host's
//! connection, and the next task delegated to the same host reuses its
//! master and what it probed.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rprov_transport::{Connection, Target};

use crate::modules::Action;
use crate::probe::{self, Fact, Probe};

/// What was probed, per sudo user (`None`: the login user).
pub(super) type Cache = HashMap<Option<String>, HashMap<Probe, Fact>>;

#[derive(Default)]
pub(super) struct Link {
    /// The open connection, if any.
    pub conn: Option<Connection>,
    /// Where `conn` goes, or the next connection will.
    pub target: Option<Target>,
    pub cache: Cache,
    /// Remote commands run over this link's connections already closed.
    closed_commands: u64,
}

impl Link {
    /// A link to `target`, nothing open yet.
    pub fn to(target: Target) -> Self {
        Link {
            target: Some(target),
            ..Link::default()
        }
    }

    /// Remote commands run over this link, its closed connections included.
    pub fn commands_run(&self) -> u64 {
        self.closed_commands + self.conn.as_ref().map_or(0, Connection::commands_run)
    }

    /// Closes the open connection (stops its ssh master), if there is one,
    /// keeping the count of the commands it ran. A master whose host is gone
    /// (a reboot) is given a few seconds to answer, then left to exit on its
    /// own (`ControlPersist`, see `rprov_transport`). Whether one was open.
    pub async fn close(&mut self) -> bool {
        let Some(c) = self.conn.take() else {
            return false;
        };
        self.closed_commands += c.commands_run();
        let _ = tokio::time::timeout(Duration::from_secs(5), c.close()).await;
        true
    }

    /// [`Link::close`] at the end of the run: a master kept for later runs
    /// (`--persist`) is left to exit on its own once idle for its time.
    pub async fn release(&mut self) -> bool {
        let Some(c) = self.conn.take() else {
            return false;
        };
        self.closed_commands += c.commands_run();
        let _ = tokio::time::timeout(Duration::from_secs(5), c.release()).await;
        true
    }

    /// Whether `probe` as `user` is answered already.
    pub fn knows(&self, user: &Option<String>, probe: &Probe) -> bool {
        self.cache.get(user).is_some_and(|k| k.contains_key(probe))
    }

    /// Forgets everything probed but the facts: after something that may
    /// have changed anything on the host (a command, a fallback module, a
    /// reboot).
    pub fn forget_host_state(&mut self) {
        for c in self.cache.values_mut() {
            c.retain(|p, _| matches!(p, Probe::Facts));
        }
    }

    /// Forgets what `action` may have changed.
    pub fn invalidate(&mut self, action: &Action) {
        // Shell probes (packages, units, users) have no path to match: any
        // action may have changed what they saw. A `PathShell` has its path,
        // and goes stale with it below.
        for c in self.cache.values_mut() {
            c.retain(|p, _| !matches!(p, Probe::Shell { .. }));
        }
        if action.touches_everything {
            self.forget_host_state();
            return;
        }
        // A file with more than one name (a hard link) changes under all of
        // them: when the action touched one, what was read of any path but
        // a directory may be stale, whichever name it was read by.
        if self.touches_linked_file(action) {
            for c in self.cache.values_mut() {
                c.retain(|p, fact| {
                    p.path().is_none()
                        || matches!(fact, Fact::File(st) if st.kind == probe::FileKind::Directory)
                        || matches!(fact, Fact::Kind(probe::FileKind::Directory))
                });
            }
        }
        // A path read through `..` or `.` (a link's target, `dir/../x`) names
        // what the action may have touched under another spelling.
        if !action.touches.is_empty() {
            for c in self.cache.values_mut() {
                c.retain(|p, _| p.path().is_none_or(|path| !is_roundabout(path)));
            }
        }
        let made: HashSet<&str> = made_dirs(action).collect();
        for t in &action.touches {
            let t = t.trim_end_matches('/');
            for c in self.cache.values_mut() {
                c.retain(|p, fact| match p.path() {
                    None => true,
                    Some(path) => {
                        let path = path.trim_end_matches('/');
                        if path == t {
                            return false;
                        }
                        // A directory made where there was none had nothing
                        // under it: what was missing there still is.
                        if path.starts_with(&format!("{t}/")) {
                            return made.contains(t);
                        }
                        // Above the touched path only what covers a tree is
                        // stale: an existing directory's own stat (kind,
                        // owner, mode) stays. `file: state=directory` asks
                        // for every ancestor, and forgetting the shared ones
                        // after each task would cost the next a probe.
                        !t.starts_with(&format!("{path}/"))
                            || matches!((p, &*fact), (Probe::File { .. }, Fact::File(st))
                                if st.kind == probe::FileKind::Directory)
                            || matches!(fact, Fact::Kind(probe::FileKind::Directory))
                    }
                });
            }
        }
    }

    /// Whether `action` touches a regular file known to have more than one
    /// name.
    fn touches_linked_file(&self, action: &Action) -> bool {
        let touched: HashSet<&str> = action
            .touches
            .iter()
            .map(|t| t.trim_end_matches('/'))
            .collect();
        self.cache.values().flat_map(|c| c.iter()).any(|(p, fact)| {
            matches!(fact, Fact::File(st) if st.kind == probe::FileKind::File && st.nlink > 1)
                && p.path()
                    .is_some_and(|path| touched.contains(path.trim_end_matches('/')))
        })
    }

    /// What `action`, which succeeded (or will, in a batch that stops the
    /// host otherwise), made known without asking: each directory it made
    /// is one. The next `file: state=directory` below it then needs no probe
    /// of its parents.
    pub fn learn_made(&mut self, action: &Action) {
        for path in made_dirs(action) {
            for c in self.cache.values_mut() {
                c.insert(
                    Probe::Kind {
                        path: path.to_string(),
                    },
                    Fact::Kind(probe::FileKind::Directory),
                );
            }
        }
    }
}

/// The directories `action` makes (each a [`Change::MakeDir`]), without a
/// trailing `/`.
///
/// [`Change::MakeDir`]: crate::modules::change::Change::MakeDir
fn made_dirs(action: &Action) -> impl Iterator<Item = &str> {
    action.changes.iter().filter_map(|c| match c {
        crate::modules::change::Change::MakeDir { path, .. } => Some(path.trim_end_matches('/')),
        _ => None,
    })
}

/// Whether `path` has a `.` or `..` component: it may name a path an
/// action touched under its plain spelling.
fn is_roundabout(path: &str) -> bool {
    path.split('/').any(|c| c == "." || c == "..")
}
