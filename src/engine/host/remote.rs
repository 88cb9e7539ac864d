//! Reaching the host: the connection, the one-command probe, and forgetting
//! what an action made stale.

use std::collections::HashSet;

use rprov_inventory::{ConnectionKind, ConnectionVars};
use rprov_transport::{Connection, Output, Script, SshTarget, Target, TargetKind, TransportError};
use serde_json::Value as Json;

use crate::modules::Action;
use crate::playbook::Vars;
use crate::probe::{self, Fact, Probe};

use super::*;

impl HostRunner {
    pub(super) fn target(&self) -> Result<Target, String> {
        if self.delegated {
            return Ok(Target {
                name: "localhost".into(),
                kind: TargetKind::Local,
            });
        }
        let magic = self.magic(None);
        let r = self.resolver(None, &[], &magic);
        let mut vars = Vars::new();
        for (k, raw) in &self.inventory_vars {
            if k.starts_with("ansible_") {
                let v = match r.resolve(k) {
                    Some(Ok(v)) => v,
                    Some(Err(e)) => return Err(format!("variable {k}: {e}")),
                    None => raw.clone(),
                };
                vars.insert(k.clone(), v);
            }
        }
        let cv = ConnectionVars::from_vars(&self.name, &vars).map_err(|e| e.to_string())?;
        let kind = match cv.connection {
            ConnectionKind::Local => TargetKind::Local,
            ConnectionKind::Ssh => TargetKind::Ssh(SshTarget {
                host: cv.host,
                port: cv.port,
                user: cv.user,
                private_key_file: cv.private_key_file,
                extra_args: cv.ssh_common_args,
            }),
        };
        Ok(Target {
            name: self.name.clone(),
            kind,
        })
    }

    /// Whether a delegated task is running (its probes and actions go to the
    /// controller).
    pub(in crate::engine) fn is_delegated(&self) -> bool {
        self.delegated
    }

    /// Points `conn` and `cache` at the controller (`on`) or back at the host.
    pub(super) fn delegate(&mut self, on: bool) {
        if self.delegated != on {
            std::mem::swap(&mut self.conn, &mut self.local_conn);
            std::mem::swap(&mut self.cache, &mut self.local_cache);
            self.delegated = on;
        }
    }

    pub(super) async fn connect(&mut self) -> Result<(), Stop> {
        if self.conn.is_some() {
            return Ok(());
        }
        let target = match self.target() {
            Ok(t) => t,
            Err(msg) => {
                self.fail_host(&msg);
                return Err(Stop::Failed);
            }
        };
        match Connection::open(&target, &self.shared.opts.connect).await {
            Ok(c) => {
                self.conn = Some(c);
                Ok(())
            }
            Err(e) => {
                self.shared.reporter.host_error(&self.name, &e.to_string());
                self.stats.unreachable = true;
                self.host_lost(self.task_fatal);
                Err(Stop::Unreachable)
            }
        }
    }

    /// Runs a script on the host. `Err(Ok(msg))` is a task failure (sudo
    /// refused), `Err(Err(stop))` stops the host (unreachable).
    pub(super) async fn remote(
        &mut self,
        script: &str,
        stdin: Option<&[u8]>,
        become_: &Option<String>,
    ) -> Result<Output, Result<String, Stop>> {
        self.connect().await.map_err(Err)?;
        let Some(conn) = self.conn.as_ref() else {
            return Err(Err(Stop::Unreachable));
        };
        match conn
            .run(&Script::raw(script), stdin, become_.as_deref())
            .await
        {
            Ok(out) => Ok(out),
            Err(
                e @ (TransportError::SudoPasswordRequired { .. }
                | TransportError::SudoFailed { .. }),
            ) => Err(Ok(e.to_string())),
            Err(e) => {
                self.shared.reporter.host_error(&self.name, &e.to_string());
                self.stats.unreachable = true;
                self.host_lost(self.task_fatal);
                Err(Err(Stop::Unreachable))
            }
        }
    }

    /// Answers `probes` in one remote command and caches the answers.
    pub(super) async fn probe(
        &mut self,
        become_: &Option<String>,
        mut probes: Vec<Probe>,
    ) -> Result<(), Stop> {
        let known = self.cache.get(become_);
        let mut seen = HashSet::new();
        probes.retain(|p| known.is_none_or(|k| !k.contains_key(p)) && seen.insert(p.clone()));
        if probes.is_empty() {
            return Ok(());
        }
        self.nonce += 1;
        let nonce = format!("{}x{}", std::process::id(), self.nonce);
        let script = probe::script(&probes, &nonce);
        let out = match self.remote(&script, None, become_).await {
            Ok(o) => o,
            Err(Ok(msg)) => {
                self.fail_host(&msg);
                return Err(Stop::Failed);
            }
            Err(Err(stop)) => return Err(stop),
        };
        let facts = match probe::parse(&probes, &nonce, &out.stdout_lossy()) {
            Ok(f) => f,
            Err(e) => {
                let stderr = out.stderr_lossy();
                self.fail_host(&format!("{e}\n{}", stderr.trim()));
                return Err(Stop::Failed);
            }
        };
        for (p, f) in facts {
            if let Fact::Facts(v) = &f {
                self.set_facts(v.clone());
            }
            self.cache.entry(become_.clone()).or_default().insert(p, f);
        }
        Ok(())
    }

    pub(super) fn set_facts(&mut self, facts: Json) {
        self.facts_layer.clear();
        if let Json::Object(m) = &facts {
            for (k, v) in m {
                self.facts_layer.insert(format!("ansible_{k}"), v.clone());
            }
        }
        self.facts_layer.insert("ansible_facts".into(), facts);
        self.facts_gathered = true;
        self.shared.learn(&self.name, &self.facts_layer);
    }

    /// Forgets cached state an action may have changed.
    pub(super) fn invalidate(&mut self, action: &Action) {
        // Shell probes (packages, units, users) have no path to match: any
        // action may have changed what they saw.
        for c in self.cache.values_mut() {
            c.retain(|p, _| !matches!(p, Probe::Shell { .. }));
        }
        if action.touches_everything {
            for c in self.cache.values_mut() {
                c.retain(|p, _| matches!(p, Probe::Facts));
            }
            return;
        }
        for t in &action.touches {
            let t = t.trim_end_matches('/');
            for c in self.cache.values_mut() {
                c.retain(|p, _| match p.path() {
                    None => true,
                    Some(path) => {
                        let path = path.trim_end_matches('/');
                        !(path == t
                            || path.starts_with(&format!("{t}/"))
                            || t.starts_with(&format!("{path}/")))
                    }
                });
            }
        }
    }

    // ---- tasks -----------------------------------------------------------
}
