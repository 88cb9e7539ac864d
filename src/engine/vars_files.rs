//! The run's `vars_files`, each read (and decrypted) once and shared by every
//! host and play that names it.
//!
//! Why a cache: decrypting is CPU work (scrypt for an `age -p` file takes about
//! a second on purpose) and a passphrase-protected file asks on the terminal;
//! per host and play that is N prompts and N seconds on the async runtime's
//! threads. Files whose path is literal are loaded before the runtime starts
//! ([`VarsFiles::preload`]); a path with a template (`vars/{{ env }}.yml`) is
//! known only per host, so it is loaded on first use in `spawn_blocking`, and
//! the hosts that ask at the same time wait for that one load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::Shared;
use crate::playbook::Vars;

type Slot = Arc<OnceCell<Result<Arc<Vars>, String>>>;

/// Loaded vars files by path; failures are kept too, so every host reports
/// the same error without asking again.
#[derive(Default)]
pub struct VarsFiles {
    slots: Mutex<HashMap<PathBuf, Slot>>,
}

impl VarsFiles {
    fn slot(&self, path: &Path) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(path.to_path_buf()).or_default().clone()
    }

    /// Loads `path` now, on the calling thread (before the runtime starts).
    pub fn preload(&self, shared: &Shared, path: &Path) -> Result<(), String> {
        let slot = self.slot(path);
        if slot.get().is_none() {
            // Only the main thread preloads, before any host runs: no race.
            let _ = slot.set(load(shared, path));
        }
        match slot.get() {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// The variables of `path` when it was loaded already and could be read.
    pub fn loaded(&self, path: &Path) -> Option<Arc<Vars>> {
        match self.slot(path).get() {
            Some(Ok(vars)) => Some(vars.clone()),
            _ => None,
        }
    }

    /// The variables of `path`, loaded on first use off the runtime's threads.
    pub async fn get(&self, shared: &Arc<Shared>, path: &Path) -> Result<Arc<Vars>, String> {
        let slot = self.slot(path);
        slot.get_or_init(|| {
            let shared = shared.clone();
            let path = path.to_path_buf();
            async move {
                tokio::task::spawn_blocking(move || load(&shared, &path))
                    .await
                    .unwrap_or_else(|e| Err(format!("internal error: loading stopped: {e}")))
            }
        })
        .await
        .clone()
    }
}

/// Reads one file and registers its secrets with the run.
fn load(shared: &Shared, path: &Path) -> Result<Arc<Vars>, String> {
    let loaded = crate::varsfile::load(path, &shared.identities, shared.vault_password.as_deref())?;
    if let Some(r) = loaded.secrets {
        shared.reporter.add_secrets(r);
    }
    Ok(Arc::new(loaded.vars))
}
