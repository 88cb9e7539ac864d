//! Running a loaded playbook against hosts: plays in order, the hosts of a play
//! concurrently (up to `--forks`), each host through probe → plan → apply.
//!
//! Plays run in lockstep like Ansible's (play 2 starts when play 1 is done on
//! every host), but inside a play each host goes at its own pace: a slow host
//! never holds up a fast one between tasks.

mod abort;
pub(crate) mod custom_stats;
mod defined;
mod delegated_facts;
mod host;
mod interrupt;
mod lockstep;
mod lookahead;
mod play_hosts;
mod run_once;
mod start_at;
mod throttle_gate;
mod vars;
mod vars_files;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rprov_inventory::Inventory;
use rprov_template::Templater;
use rprov_transport::ConnectOptions;
use serde_json::Value as Json;
use tokio::sync::Semaphore;

pub use defined::undefined_everywhere;
/// The argument structs of the modules that run on the controller, for
/// `modules::SPECS`.
pub(crate) use host::local::args as local_args;
pub use interrupt::exit_code as interrupt_exit_code;
pub use vars::{NamesCache, Resolver};

use crate::playbook::{find_vars_file, Playbook, Vars};
use crate::report::{HostStats, Reporter, RunTimings};

/// What the user asked for on the command line.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    /// `--check` shows every change as a diff, `--diff` or not: rprov's
    /// own output; as `ansible-playbook` (`--output ansible`) only `--diff`
    /// does, as its own.
    pub check_shows_diffs: bool,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub forks: usize,
    /// How many `-v` were given (`ansible_verbosity`).
    pub verbosity: u8,
    /// `--connect-limit`: how many connections may be opening at once.
    pub connect_limit: usize,
    pub connect: ConnectOptions,
    pub extra_vars: Vars,
    pub limit: Option<String>,
    /// `--timings`: print where the time went (see `report::timings`).
    pub timings: bool,
    /// `--max-loop-items`: the most items a task's loop may have.
    pub max_loop_items: usize,
    /// ansible.cfg's `show_custom_stats`: the recap is followed by what
    /// `set_stats` gathered.
    pub show_custom_stats: bool,
    /// ansible.cfg's `hash_behaviour = merge`: a variable's mappings at
    /// several precedence levels are deep-merged (see [`vars::Resolver`]).
    pub hash_merge: bool,
    /// Connection variables from ansible.cfg and `ANSIBLE_*`, for hosts that
    /// do not set them.
    pub connection_defaults: crate::ansible_cfg::ConnectionDefaults,
    /// `--start-at-task`: the name (or glob) of the task to start at.
    pub start_at_task: Option<String>,
    /// ansible.cfg's `gathering = smart`: a host whose cached facts were
    /// gathered is not gathered again.
    pub smart_gathering: bool,
    /// ansible.cfg's `allow_broken_conditionals`: a conditional whose result
    /// is not a boolean is taken for its truth instead of failing.
    pub allow_broken_conditionals: bool,
    /// Ansible's settings by their names (`DEFAULT_FORKS`, …), for
    /// `lookup('config', …)`.
    pub ansible_settings: rprov_template::lookup::ConfigSettings,
    /// What meeting `!unsafe` text that holds a template does.
    pub untrusted_templates: rprov_template::trust::UntrustedTemplates,
}

/// Everything the hosts of a run share, read-only.
pub struct Shared {
    /// The inventory as loaded, then as `group_by` and `add_host` changed it
    /// during the run (see [`Shared::inventory`]).
    inventory: std::sync::RwLock<Arc<Inventory>>,
    pub playbook: Playbook,
    pub templater: Templater,
    pub names: NamesCache,
    pub opts: RunOptions,
    pub reporter: Arc<Reporter>,
    /// Variables from secrets.age, loaded like a vars file in every play.
    pub secrets: Vars,
    /// The lowest variable layer: `ansible_connection` as the host is
    /// reached when nothing names it (ansible.cfg's or rprov's `ssh`), so a
    /// template can always name it, as in Ansible.
    pub connection_default: Vars,
    /// Vault password for `vars_files` encrypted with ansible-vault.
    pub vault_password: Option<Vec<u8>>,
    /// Identities for age-encrypted `vars_files`.
    pub identities: rprov_secrets::IdentityOptions,
    /// Every `vars_files` entry, loaded once per run.
    vars_files: vars_files::VarsFiles,
    /// `groups` as of the last inventory change.
    groups: std::sync::RwLock<Json>,
    /// `hostvars` of the inventory as it was when first asked for; hosts
    /// added at run time get theirs in [`Shared::hostvars_now`].
    hostvars: OnceLock<Json>,
    /// How many times `group_by`/`add_host` changed the inventory.
    inventory_changes: std::sync::atomic::AtomicUsize,
    /// Who runs each `run_once` task, and its outcome for the other hosts.
    run_once: run_once::RunOnce,
    /// What each host learned during the run (facts, set_fact, register), for
    /// `hostvars` as the other hosts see it.
    learned: std::sync::Mutex<HashMap<String, serde_json::Map<String, Json>>>,
    /// Facts tasks delegated with `delegate_facts` set for other hosts,
    /// until those hosts' runners take them.
    delegated_facts: delegated_facts::Mailbox,
    /// Whether the current play was stopped on all hosts (any_errors_fatal).
    abort: abort::PlayAbort,
    /// Whether the running play keeps its hosts at the same task, and how
    /// far each got (see `lockstep`).
    lockstep: lockstep::Lockstep,
    /// The running play's hosts, for `ansible_play_hosts` and its kin.
    play_hosts: play_hosts::PlayHosts,
    /// Logins in progress, at most `--connect-limit` (see
    /// `host::remote::open_connection`).
    pub connecting: Semaphore,
    /// One semaphore per task with `throttle:`, shared by the hosts.
    throttles: std::sync::Mutex<HashMap<(usize, String), Arc<Semaphore>>>,
    /// One throttled task at a time under the `linear` strategy (see
    /// `throttle_gate`).
    pub throttle_gate: Arc<throttle_gate::ThrottleGate>,
    /// Whether the user asked the run to stop (SIGINT, SIGTERM).
    interrupt: interrupt::Interrupt,
    /// The `serial` batch of the play running now (batches run one after
    /// another): run_once runs once per batch.
    batch: std::sync::atomic::AtomicUsize,
    /// `meta: clear_host_errors` ran: the hosts that failed or could not be
    /// reached so far take part in the next play again.
    host_errors_cleared: std::sync::atomic::AtomicBool,
    /// Where in the play (each host's steps, see `HostRunner::steps`)
    /// `meta: clear_host_errors` ran in the running pass of a batch: a host
    /// that became unreachable at an earlier step comes back in the same
    /// play (see `run_batch`).
    clears: std::sync::Mutex<Vec<usize>>,
    /// What `set_stats` gathered, shown after the recap.
    pub custom_stats: custom_stats::CustomStats,
    /// How each play starts under `--start-at-task` (see `start_at`), and
    /// whether any task matched it.
    start_at: (Vec<start_at::PlayStart>, bool),
    /// `meta: end_play` (play, no batch) or `meta: end_batch` (play and
    /// batch) ran: the other hosts end there too, before their next task.
    ended: std::sync::Mutex<Option<(usize, Option<usize>)>>,
    /// Reads the inventory's source again, for `meta: refresh_inventory`
    /// (`None`: no inventory was given, only the implicit localhost).
    pub inventory_source: Option<InventorySource>,
    /// What `add_host` and `group_by` changed, in order: done again on the
    /// inventory `meta: refresh_inventory` reads, as ansible-core keeps its
    /// dynamic hosts and groups.
    dynamic_changes: std::sync::Mutex<Vec<InventoryChange>>,
    /// The `refresh_inventory` tasks already run, by play, batch and task:
    /// the first host to reach one refreshes for all, as ansible-core runs
    /// that meta task once for the hosts of the play.
    refreshed: std::sync::Mutex<HashSet<(usize, usize, String)>>,
    /// The fact cache (ansible.cfg's `fact_caching`): `memory` unless the
    /// caller sets another.
    pub fact_cache: crate::fact_cache::FactCache,
    /// Facts the cache held for each host when the run started (`None`:
    /// none), read by [`Shared::preload_fact_cache`], taken by the host's
    /// runner when it starts.
    cached_at_start: std::sync::Mutex<HashMap<String, Option<serde_json::Map<String, Json>>>>,
}

/// Reads the inventory from its source (see [`Shared::inventory_source`]).
pub type InventorySource = Box<dyn Fn() -> Result<Inventory, String> + Send + Sync>;

/// An `add_host` or `group_by` change of the inventory, kept to be made
/// again after `meta: refresh_inventory` (then with `true`).
pub type InventoryChange = Arc<dyn Fn(&mut Inventory, bool) -> Result<bool, String> + Send + Sync>;

/// How the run's lookups read controller files: ansible-vault files
/// decrypted with the run's vault password, as `copy` decrypts them.
fn lookup_context(vault_password: Option<Vec<u8>>) -> rprov_template::lookup::LookupContext {
    rprov_template::lookup::LookupContext::with_plaintext(move |bytes| {
        crate::modules::vault_plaintext(bytes, vault_password.as_deref())
    })
}

impl Shared {
    /// `meta: clear_host_errors`, run at `step` of the play by some host:
    /// see [`Shared::host_errors_cleared`] and [`Shared::clears`].
    pub fn clear_host_errors(&self, step: usize) {
        self.host_errors_cleared
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.clears
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(step);
    }

    /// The steps at which `meta: clear_host_errors` ran since this was last
    /// asked.
    fn take_clears(&self) -> Vec<usize> {
        std::mem::take(&mut *self.clears.lock().unwrap_or_else(|p| p.into_inner()))
    }
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        inventory: Inventory,
        playbook: Playbook,
        opts: RunOptions,
        reporter: Arc<Reporter>,
        secrets: Vars,
        vault_password: Option<Vec<u8>>,
        identities: rprov_secrets::IdentityOptions,
    ) -> Self {
        let groups = serde_json::to_value(inventory.groups()).unwrap_or(Json::Null);
        let connection = opts
            .connection_defaults
            .iter()
            .find(|(names, _)| names.contains(&"ansible_connection"))
            .map_or_else(|| Json::String("ssh".into()), |(_, v)| v.clone());
        let connecting = Semaphore::new(opts.connect_limit.max(1));
        let start_at = start_at::plan(
            &playbook,
            opts.start_at_task.as_deref(),
            &opts.tags,
            &opts.skip_tags,
        );
        let connection_default = [("ansible_connection".to_string(), connection)]
            .into_iter()
            .collect();
        let (python, python_off) = crate::modules::ansible_jinja::for_run(&playbook.dir);
        if let Some(warning) = python_off {
            reporter.warn(&warning);
        }
        let templater = Templater::new()
            .with_lookup_context(
                lookup_context(vault_password.clone())
                    .with_settings(opts.ansible_settings.clone())
                    .with_python(python.clone())
                    .with_warn({
                        let reporter = reporter.clone();
                        move |msg: &str| reporter.warn_once(msg)
                    }),
            )
            .with_untrusted_templates(opts.untrusted_templates, {
                let reporter = reporter.clone();
                move |msg: &str| reporter.warn_once(msg)
            })
            .with_vault_values(playbook.vault_values.iter().cloned())
            .with_python_plugins(&python);
        Shared {
            connection_default,
            inventory: std::sync::RwLock::new(Arc::new(inventory)),
            playbook,
            templater,
            names: NamesCache::default(),
            opts,
            reporter,
            secrets,
            vault_password,
            identities,
            vars_files: vars_files::VarsFiles::default(),
            groups: std::sync::RwLock::new(groups),
            hostvars: OnceLock::new(),
            inventory_changes: Default::default(),
            run_once: run_once::RunOnce::default(),
            learned: Default::default(),
            delegated_facts: Default::default(),
            abort: abort::PlayAbort::default(),
            lockstep: lockstep::Lockstep::default(),
            play_hosts: play_hosts::PlayHosts::default(),
            throttles: Default::default(),
            throttle_gate: Default::default(),
            connecting,
            interrupt: interrupt::Interrupt::default(),
            batch: Default::default(),
            host_errors_cleared: Default::default(),
            clears: Default::default(),
            custom_stats: Default::default(),
            start_at,
            ended: std::sync::Mutex::new(None),
            inventory_source: None,
            dynamic_changes: Default::default(),
            refreshed: Default::default(),
            fact_cache: crate::fact_cache::FactCache::Memory,
            cached_at_start: Default::default(),
        }
    }

    /// Reads the fact cache's entries of `hosts` once, when the run starts:
    /// each host's runner starts with its facts, and `hostvars` shows them
    /// for every host, as ansible-core's VariableManager reads them from
    /// its cache. An entry that cannot be read is a warning naming its
    /// file, and that host has no cached facts.
    pub fn preload_fact_cache(&self, hosts: impl IntoIterator<Item = String>) {
        if !self.fact_cache.is_persistent() {
            return;
        }
        for host in hosts {
            let facts = self.read_fact_cache(&host);
            if let Some(raw) = &facts {
                let vars = crate::fact_cache::variables(raw);
                self.learn(&host, &vars);
            }
            self.cached_at_start
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(host, facts);
        }
    }

    /// The facts the cache held for `host` when the run started (read now
    /// for a host [`Shared::preload_fact_cache`] did not know, as one
    /// `add_host` added).
    pub(crate) fn cached_facts(&self, host: &str) -> Option<serde_json::Map<String, Json>> {
        if !self.fact_cache.is_persistent() {
            return None;
        }
        let preloaded = self
            .cached_at_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(host);
        match preloaded {
            Some(facts) => facts,
            None => self.read_fact_cache(host),
        }
    }

    /// The variable names the cached facts of the run's hosts give, before
    /// their runners start (for [`undefined_everywhere`]).
    fn cached_fact_names(&self) -> Vec<String> {
        let cached = self
            .cached_at_start
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cached
            .values()
            .flatten()
            .flat_map(|raw| {
                crate::fact_cache::variables(raw)
                    .into_iter()
                    .map(|(k, _)| k)
            })
            .collect()
    }

    fn read_fact_cache(&self, host: &str) -> Option<serde_json::Map<String, Json>> {
        match self.fact_cache.get(host) {
            Ok(facts) => facts,
            Err(w) => {
                self.reporter.warn(&w);
                None
            }
        }
    }

    /// `meta: refresh_inventory` of the task at `origin`: the inventory read
    /// again from its source, with what `add_host` and `group_by` added
    /// made again (a change that no longer applies, as a `group_by` of a
    /// host the source dropped, is left out). Later plays select their
    /// hosts from it. Done once per task, play and batch, by the first host
    /// to reach it; false when it was done already.
    pub fn refresh_inventory(&self, pi: usize, origin: &str) -> Result<bool, String> {
        let key = (pi, self.batch(), origin.to_string());
        if !self
            .refreshed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key)
        {
            return Ok(false);
        }
        let Some(source) = &self.inventory_source else {
            return Ok(false);
        };
        let mut inv = source()?;
        let changes = self
            .dynamic_changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for change in changes {
            let _ = change(&mut inv, true);
        }
        let mut slot = self.inventory.write().unwrap_or_else(|e| e.into_inner());
        let groups = serde_json::to_value(inv.groups()).unwrap_or(Json::Null);
        *slot = Arc::new(inv);
        *self.groups.write().unwrap_or_else(|e| e.into_inner()) = groups;
        self.inventory_changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(true)
    }

    /// [`Self::change_inventory`] for a change that is kept, and made
    /// again on the inventory `meta: refresh_inventory` reads.
    pub fn change_inventory_kept(&self, change: InventoryChange) -> Result<bool, String> {
        let changed = self.change_inventory(|inv| change(inv, false))?;
        self.dynamic_changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(change);
        Ok(changed)
    }

    /// `meta: end_play` (`batch` None) or `end_batch` ran in play `pi`.
    pub(crate) fn end(&self, pi: usize, batch: Option<usize>) {
        let mut e = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        // end_play wins over end_batch.
        if !matches!(*e, Some((p, None)) if p == pi) {
            *e = Some((pi, batch));
        }
    }

    /// Whether the hosts of play `pi`'s running batch are to end before
    /// their next task (`meta: end_play` or `end_batch` ran there).
    pub(crate) fn ended(&self, pi: usize) -> bool {
        let e = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        match *e {
            Some((p, None)) => p == pi,
            Some((p, Some(b))) => p == pi && b == self.batch(),
            None => false,
        }
    }

    /// Whether `meta: end_play` ended play `pi` (its later batches do not run).
    fn play_ended(&self, pi: usize) -> bool {
        let e = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        matches!(*e, Some((p, None)) if p == pi)
    }

    /// How play `pi` starts on the hosts of its batch running now: only its
    /// first batch starts at `--start-at-task`'s task, as in ansible-core.
    fn play_start(&self, pi: usize) -> start_at::PlayStart {
        match self.start_at.0.get(pi) {
            Some(start_at::PlayStart::From(_)) if self.batch() > 0 => start_at::PlayStart::All,
            Some(s) => s.clone(),
            None => start_at::PlayStart::All,
        }
    }

    /// Loads the `vars_files` whose paths need no variables, for every play
    /// that has hosts: before the async runtime starts, so decryption (and a
    /// passphrase prompt) happens once, on this thread, before any host is
    /// touched. Paths with templates are loaded when a host first needs them.
    pub fn preload_vars_files(&self, plays_hosts: &[Vec<String>]) -> Result<(), String> {
        for (play, hosts) in self.playbook.plays.iter().zip(plays_hosts) {
            if hosts.is_empty() {
                continue;
            }
            for entry in &play.vars_files {
                if entry.names.iter().any(|n| vars::is_template(n)) {
                    continue;
                }
                let found = entry
                    .names
                    .iter()
                    .find_map(|n| Some((n, find_vars_file(&self.playbook.dir, n)?)));
                if let Some((name, path)) = found {
                    self.vars_files
                        .preload(self, &path)
                        .map_err(|e| format!("{}: vars file `{name}`: {e}", entry.origin))?;
                }
            }
        }
        Ok(())
    }

    /// The secret values known so far that hold template syntax: the
    /// resolver keeps them as they are (see `vars`).
    pub fn literal_values(&self) -> Arc<HashSet<String>> {
        Arc::new(
            self.reporter
                .secret_values()
                .into_iter()
                .filter(|v| vars::looks_like_template(v))
                .collect(),
        )
    }

    /// The `serial` batch of the play running now.
    pub fn batch(&self) -> usize {
        self.batch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The semaphore that lets at most `n` hosts (the task's `throttle`, as
    /// the first host to reach it rendered it) run `task` of play `pi` at once.
    pub fn throttle(&self, pi: usize, task: &crate::playbook::Task, n: usize) -> Arc<Semaphore> {
        let mut map = self.throttles.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((pi, task.origin.to_string()))
            .or_insert_with(|| Arc::new(Semaphore::new(n.max(1))))
            .clone()
    }

    /// Records variables `host` learned (facts, set_fact, register), so that
    /// the other hosts see them in `hostvars`.
    /// The inventory as of now: the loaded one, with what `group_by` and
    /// `add_host` added so far.
    pub fn inventory(&self) -> Arc<Inventory> {
        self.inventory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ansible's `groups` variable as of now.
    pub fn groups(&self) -> Json {
        self.groups
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Changes the inventory at run time (`group_by`, `add_host`): `change`
    /// says whether it changed anything. Later tasks see the new `groups`,
    /// and later plays select their hosts from the new inventory.
    pub fn change_inventory(
        &self,
        change: impl FnOnce(&mut Inventory) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let mut slot = self.inventory.write().unwrap_or_else(|e| e.into_inner());
        let mut inv = Inventory::clone(&slot);
        let changed = change(&mut inv)?;
        if changed {
            let groups = serde_json::to_value(inv.groups()).unwrap_or(Json::Null);
            *slot = Arc::new(inv);
            *self.groups.write().unwrap_or_else(|e| e.into_inner()) = groups;
            self.inventory_changes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(changed)
    }

    /// Whether `group_by` or `add_host` changed the inventory in this run.
    pub fn inventory_changed(&self) -> bool {
        self.inventory_changes
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    }

    pub fn learn<'a>(&self, host: &str, vars: impl IntoIterator<Item = (&'a String, &'a Json)>) {
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        let entry = learned.entry(host.to_string()).or_default();
        for (k, v) in vars {
            entry.insert(k.clone(), v.clone());
        }
    }

    /// Records facts a module returned for `host` (see
    /// `host_vars::HostVars::module_facts`): variables of their own names,
    /// and in `ansible_facts` without the `ansible_` prefix, over what the
    /// host's `ansible_facts` held.
    pub fn learn_module_facts(&self, host: &str, facts: &serde_json::Map<String, Json>) {
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        let entry = learned.entry(host.to_string()).or_default();
        let mut all = match entry.get("ansible_facts") {
            Some(Json::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        for (k, v) in facts {
            all.insert(host::namespaced_fact(k).to_string(), v.clone());
            entry.insert(k.clone(), v.clone());
        }
        entry.insert("ansible_facts".into(), Json::Object(all));
    }

    /// `hostvars` as of now: the inventory's variables of every host, with
    /// what each host learned so far on top (as Ansible shows other hosts'
    /// facts once they were gathered).
    pub fn hostvars_now(&self) -> Json {
        let mut all = self.hostvars().clone();
        if self.inventory_changed() {
            self.add_runtime_hostvars(&mut all);
        }
        let learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        if let Json::Object(hosts) = &mut all {
            for (host, vars) in learned.iter() {
                let entry = match hosts.get_mut(host) {
                    Some(h) => Some(h),
                    // The implicit localhost, made after `hostvars` was
                    // built (facts delegated to it): as any host.
                    None if self.inventory().implicit_localhost() == Some(host.as_str()) => {
                        let mut m: serde_json::Map<String, Json> =
                            self.inventory().host_vars(host).into_iter().collect();
                        m.insert("inventory_hostname".into(), Json::String(host.clone()));
                        hosts.insert(host.clone(), Json::Object(m));
                        hosts.get_mut(host)
                    }
                    None => None,
                };
                if let Some(Json::Object(h)) = entry {
                    h.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        all
    }

    /// Hosts `add_host` added, and `group_names` as `group_by` changed them.
    fn add_runtime_hostvars(&self, all: &mut Json) {
        let Json::Object(hosts) = all else {
            return;
        };
        let inv = self.inventory();
        for h in inv.hosts() {
            let names = serde_json::to_value(inv.group_names(&h)).unwrap_or(Json::Null);
            let entry = hosts.entry(h.clone()).or_insert_with(|| {
                let mut m: serde_json::Map<String, Json> = inv.host_vars(&h).into_iter().collect();
                m.insert("inventory_hostname".into(), Json::String(h.clone()));
                Json::Object(m)
            });
            if let Json::Object(m) = entry {
                m.insert("group_names".into(), names);
            }
        }
    }

    /// `hostvars`: every host's inventory variables, rendered. Built on first use.
    pub fn hostvars(&self) -> &Json {
        self.hostvars.get_or_init(|| {
            let literal = self.literal_values();
            let mut all = serde_json::Map::new();
            let inv = self.inventory();
            let groups = self.groups();
            // The implicit localhost is no host of `all`, but `hostvars` has it.
            let implicit = inv.implicit_localhost().map(str::to_string);
            for h in inv.hosts().into_iter().chain(implicit) {
                let vars = inv.host_vars(&h);
                let mut magic = Vars::new();
                magic.insert("inventory_hostname".into(), Json::String(h.clone()));
                magic.insert("groups".into(), groups.clone());
                let r = Resolver::new(vec![&vars, &magic], &self.templater, &self.names)
                    .with_literal(&literal);
                let mut rendered = serde_json::Map::new();
                for (k, raw) in &vars {
                    let v = r
                        .resolve(k)
                        .and_then(Result::ok)
                        .unwrap_or_else(|| raw.clone());
                    rendered.insert(k.clone(), v);
                }
                rendered.insert("inventory_hostname".into(), Json::String(h.clone()));
                rendered.insert(
                    "group_names".into(),
                    serde_json::to_value(inv.group_names(&h)).unwrap_or(Json::Null),
                );
                all.insert(h, Json::Object(rendered));
            }
            Json::Object(all)
        })
    }
}

/// The result of a whole run, for the recap and the exit code.
pub struct RunOutcome {
    pub stats: Vec<(String, HostStats)>,
    /// The signal that stopped the run early, if one did.
    pub interrupted: Option<i32>,
}

impl RunOutcome {
    /// Whether a host failed (after the last `meta: clear_host_errors`).
    pub fn any_failed(&self) -> bool {
        self.stats.iter().any(|(_, s)| s.failed > s.failed_cleared)
    }
    /// Whether a host was unreachable (after the last `clear_host_errors`).
    pub fn any_unreachable(&self) -> bool {
        self.stats
            .iter()
            .any(|(_, s)| s.unreachable_times > s.unreachable_cleared)
    }
}

/// Runs play `pi` on the hosts of one batch, concurrently up to `--forks`,
/// and puts their runners back into `runners` (a second Ctrl-C drops the
/// runs still going: their connections close as they drop).
async fn run_batch(
    shared: &Arc<Shared>,
    pi: usize,
    batch: &[String],
    runners: &mut HashMap<String, host::HostRunner>,
    forks: &Arc<Semaphore>,
) {
    shared.take_clears();
    run_hosts(shared, pi, batch, runners, forks, false).await;
    // ansible-core's linear strategy picks a host that became unreachable
    // back up, after the others ran the play's tasks, when a host ran
    // `meta: clear_host_errors` later in the play: it goes on from the task
    // after the one it was lost at (a `clear_host_errors` that ran before it
    // was lost again does not count). Not in a lock-step play, whose hosts
    // must stay at the same task.
    while !shared.lockstep.on() && shared.interrupt.requested().is_none() {
        let clears = shared.take_clears();
        let back: Vec<String> = batch
            .iter()
            .filter(|h| {
                runners
                    .get(*h)
                    .and_then(host::HostRunner::unreachable_step)
                    .is_some_and(|lost| clears.iter().any(|c| *c > lost))
            })
            .cloned()
            .collect();
        if back.is_empty() {
            break;
        }
        run_hosts(shared, pi, &back, runners, forks, true).await;
    }
}

/// Runs play `pi` on `hosts` (see [`run_batch`]); `resume`: each from where
/// it became unreachable (see `HostRunner::resume_play`).
async fn run_hosts(
    shared: &Arc<Shared>,
    pi: usize,
    batch: &[String],
    runners: &mut HashMap<String, host::HostRunner>,
    forks: &Arc<Semaphore>,
    resume: bool,
) {
    let mut set = tokio::task::JoinSet::new();
    // The hosts that start at once join the lock-step before any of them
    // runs: one that started first must not pass a task before the others
    // are counted. Those waiting for a fork join when they get it.
    let starting = forks.available_permits().min(batch.len());
    for h in &batch[..starting] {
        shared.lockstep.join(h);
    }
    for h in batch {
        let mut runner = runners
            .remove(h)
            .unwrap_or_else(|| host::HostRunner::new(h.clone(), shared.clone()));
        let shared = shared.clone();
        // Taken here, in the play's host order (`order:`), so that with
        // fewer forks than hosts they start in that order.
        let permit = forks.clone().acquire_owned().await;
        set.spawn(async move {
            let _permit = permit;
            let _in_step = lockstep::Member::join(&shared, &runner.name);
            match resume {
                true => runner.resume_play(pi).await,
                false => runner.run_play(pi).await,
            }
            shared.reporter.host_done(&runner.name);
            runner
        });
    }
    loop {
        let joined = tokio::select! {
            j = set.join_next() => j,
            () = shared.interrupt.abort_now() => {
                set.abort_all();
                continue;
            }
        };
        match joined {
            None => break,
            Some(Ok(runner)) => {
                runners.insert(runner.name.clone(), runner);
            }
            Some(Err(e)) if e.is_cancelled() => {}
            Some(Err(e)) => shared
                .reporter
                .host_error("?", &format!("internal error: a host's run stopped: {e}")),
        }
    }
}

/// The hosts of `play` in the inventory as it is now (see
/// [`Shared::change_inventory`]), in the play's `order`.
fn hosts_now(shared: &Shared, play: &crate::playbook::Play) -> Vec<String> {
    let inv = shared.inventory();
    let mut hosts = inv.select(&play.hosts).unwrap_or_default();
    if let Some(limit) = &shared.opts.limit {
        let keep = inv.select(limit).unwrap_or_default();
        hosts.retain(|h| keep.contains(h));
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    play.order.arrange(&mut hosts, seed);
    hosts
}

/// Runs every play on its hosts. Load errors were found before this point;
/// what fails here fails per host, and the other hosts go on. `load` is the
/// time loading took, for `--timings`.
pub async fn run(
    shared: Arc<Shared>,
    plays_hosts: Vec<Vec<String>>,
    load: std::time::Duration,
) -> RunOutcome {
    let started = Instant::now();
    let mut runners: HashMap<String, host::HostRunner> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let forks = Arc::new(Semaphore::new(shared.opts.forks.max(1)));
    let listener = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let reporter = shared.reporter.clone();
            let said = move |signo: i32, first: bool| {
                reporter.interrupt_received(interrupt::name(signo), first);
            };
            if let Err(e) = shared.interrupt.listen(said).await {
                shared.reporter.host_error(
                    "rprov",
                    &format!("cannot handle Ctrl-C cleanly (signal handlers: {e})"),
                );
            }
        })
    };

    'plays: for (pi, hosts) in plays_hosts.iter().enumerate() {
        let play = &shared.playbook.plays[pi];
        // `group_by` and `add_host` changed the inventory: the play's pattern
        // (and --limit) select from it as it is now, as Ansible's do.
        let now;
        let hosts = if shared.inventory_changed() {
            now = hosts_now(&shared, play);
            &now
        } else {
            hosts
        };
        if shared
            .host_errors_cleared
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            for r in runners.values_mut() {
                r.clear_errors();
            }
        }
        let active: Vec<String> = hosts
            .iter()
            .filter(|h| runners.get(*h).is_none_or(|r| r.can_continue()))
            .cloned()
            .collect();
        shared
            .play_hosts
            .start_play(hosts, hosts.iter().filter(|h| !active.contains(h)).cloned());
        // `serial`: each batch runs the whole play before the next starts.
        // As ansible-core, batches are cut from all the play's hosts, those
        // that failed in an earlier play too, and those then left out.
        let batches: Vec<Vec<String>> = crate::playbook::serial::batches(hosts, &play.serial)
            .into_iter()
            .map(|b| b.into_iter().filter(|h| active.contains(h)).collect())
            .filter(|b: &Vec<String>| !b.is_empty())
            .collect();
        if hosts.is_empty() {
            shared.reporter.play_without_hosts(&play.name);
        }
        for (bi, batch) in batches.iter().enumerate() {
            shared.reporter.play_start(&play.name, batch);
            shared.abort.start(pi, batch.len());
            shared.lockstep.start(play.stops_every_host());
            shared.play_hosts.start_batch(batch);
            shared.batch.store(bi, std::sync::atomic::Ordering::SeqCst);
            for h in batch {
                if !order.contains(h) {
                    order.push(h.clone());
                }
            }
            run_batch(&shared, pi, batch, &mut runners, &forks).await;
            if shared.interrupt.requested().is_some() {
                break 'plays;
            }
            // `meta: end_play` ends the play's later batches too, as in
            // ansible-core; the next play runs as usual.
            if shared.play_ended(pi) {
                break;
            }
            // Stopped on all hosts (`any_errors_fatal`, `max_fail_percentage`,
            // judged per batch), or every host of the batch failed: as in
            // Ansible, the play's later batches and the later plays do not run
            // (a host a `rescue:` took back after being marked included).
            let all_failed = batch
                .iter()
                .all(|h| runners.get(h).is_none_or(|r| !r.can_continue()));
            let reason = shared.abort.reason(pi).or_else(|| {
                (all_failed && batches.len() > 1)
                    .then(|| "every host of the batch failed".to_string())
            });
            if let Some(reason) = reason {
                for h in batches[bi + 1..].iter().flatten() {
                    shared.reporter.host_error(
                        h,
                        &format!(
                            "not run: the play stopped after batch {} of {} (`serial`): {reason}",
                            bi + 1,
                            batches.len()
                        ),
                    );
                }
                break 'plays;
            }
        }
    }

    let mut stats = Vec::new();
    let mut timings = RunTimings {
        load,
        ..RunTimings::default()
    };
    // Every master is told to exit at once: closed one after another they
    // add ~10 ms per host to the end of the run (0.5 s at 50 hosts).
    let mut closing = tokio::task::JoinSet::new();
    for (i, h) in order.into_iter().enumerate() {
        if let Some(r) = runners.remove(&h) {
            closing.spawn(async move { (i, h, r.finish().await) });
        }
    }
    let mut finished = Vec::new();
    while let Some(joined) = closing.join_next().await {
        match joined {
            Ok(done) => finished.push(done),
            Err(e) => shared
                .reporter
                .host_error("?", &format!("internal error: closing a connection: {e}")),
        }
    }
    finished.sort_by_key(|(i, ..)| *i);
    for (_, h, (s, t)) in finished {
        stats.push((h.clone(), s));
        timings.hosts.push((h, t));
    }
    let elapsed = started.elapsed();
    timings.wall = load + elapsed;
    let timings = shared.opts.timings.then_some(&timings);
    listener.abort();
    let interrupted = shared.interrupt.requested();
    if let Some(signo) = interrupted {
        shared.reporter.interrupted(interrupt::name(signo));
    }
    let custom = shared.custom_stats.snapshot();
    shared.reporter.recap(
        &stats,
        elapsed,
        timings,
        custom.as_ref(),
        shared.opts.show_custom_stats,
    );
    // After the recap, as ansible-playbook says it.
    if let (Some(pattern), false) = (&shared.opts.start_at_task, shared.start_at.1) {
        shared.reporter.error(&start_at::no_match_message(pattern));
    }
    RunOutcome { stats, interrupted }
}
