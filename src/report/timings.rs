//! `--timings`: where a run's wall time went, per host and phase, so a slow
//! run can be profiled without strace.
//!
//! The phases are the pipeline's (docs/architecture.md: load → compile → connect →
//! probe → plan → apply → report), cut where the time goes to a different
//! party: the controller's disk and CPU, the network handshake, the host.
//!
//! - **load**, once per run, not per host: from the start of `rprov apply` to
//!   the first host's start — inventory with group_vars/host_vars, playbook
//!   and roles, secrets.age and every vars file whose path needs no variable
//!   (decrypted there, once), and starting the async runtime.
//! - **connect**, per host: opening each connection (the SSH ControlMaster's
//!   start and login; a failed attempt, up to `--connect-timeout`, included)
//!   and closing it (`ssh -O exit`, also when a task changes the login and a
//!   new connection is needed). `connections` counts the attempts. Delegated
//!   tasks' controller "connection" opens nothing and is not counted.
//! - **probe**: the remote commands that read state — fact gathering and the
//!   batched probe of a task and of the tasks the lookahead foresaw. A probe
//!   with a nested `sudo` part per become user is still one command; the
//!   follow-up a refused nested part needs is another.
//! - **apply**: the remote commands of actions. A command counts where the
//!   pipeline sent it, not by what it does: a `uri`, `wait_for` or package
//!   install that checks and acts in one script is an action, because it ran
//!   as one; a `stat` is a probe. A probe (or a command) that carries the
//!   changes waiting in a batch (`engine::host::batch`) is an action too.
//! - **fallback**: the remote commands of tasks that ran Ansible's own
//!   module (`modules::ansible_fallback`): one per such task, each starting
//!   Python on the host, counted apart so their cost shows.
//! - **local**: the rest of the host's time, all on the controller —
//!   compiling (variables, loops, templates), the lookahead's planning,
//!   planning, reporting, vars files whose path has a variable (the first host
//!   to need one reads it), and waiting: `until`/`delay` retries, `throttle`,
//!   a `run_once` task another host runs. Tasks delegated to localhost run
//!   their commands on the controller: they are not remote commands (the
//!   recap does not count them either) and their time is local.
//! - **total**: the host's time inside its plays (not the wait for a fork or
//!   for other hosts between plays) plus closing its connection at the end.
//!
//! `probes + actions + fallbacks` equals the recap's `remote_commands`: both count
//! [`rprov_transport::Connection::commands_run`]. Times are taken with
//! [`Instant`] around the awaits that already exist, so measuring costs a
//! clock read and an addition per command; they are kept as [`Duration`]s
//! and shown in whole milliseconds, rounded down, so the parts never add up
//! to more than the total.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value as Json};

/// A remote command's phase (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Probe,
    Apply,
    /// A task run through the Ansible fallback.
    Fallback,
}

/// One host's time by phase, and how many commands and connections it took.
#[derive(Clone, Debug, Default)]
pub struct HostTimings {
    pub connect: Duration,
    pub connections: u64,
    pub probe: Duration,
    pub probes: u64,
    pub apply: Duration,
    pub actions: u64,
    pub fallback: Duration,
    pub fallbacks: u64,
    pub total: Duration,
}

impl HostTimings {
    /// Adds a connection attempt (or a close, with `opened` false) that
    /// started at `since`.
    pub fn connected(&mut self, since: Instant, opened: bool) {
        self.connect += since.elapsed();
        self.connections += u64::from(opened);
    }

    /// Adds `commands` remote commands of `phase` that started at `since`.
    pub fn ran(&mut self, phase: Phase, since: Instant, commands: u64) {
        let (time, count) = match phase {
            Phase::Probe => (&mut self.probe, &mut self.probes),
            Phase::Apply => (&mut self.apply, &mut self.actions),
            Phase::Fallback => (&mut self.fallback, &mut self.fallbacks),
        };
        *time += since.elapsed();
        *count += commands;
    }

    /// Adds host time (a play, the final close) that started at `since`.
    pub fn spent(&mut self, since: Instant) {
        self.total += since.elapsed();
    }

    /// The controller's share: the total less connect, probe and apply.
    pub fn local(&self) -> Duration {
        self.total
            .saturating_sub(self.connect + self.probe + self.apply + self.fallback)
    }

    fn add(&mut self, o: &HostTimings) {
        self.connect += o.connect;
        self.connections += o.connections;
        self.probe += o.probe;
        self.probes += o.probes;
        self.apply += o.apply;
        self.actions += o.actions;
        self.fallback += o.fallback;
        self.fallbacks += o.fallbacks;
        self.total += o.total;
    }
}

/// A run's timings: the load once, then each host's.
#[derive(Clone, Debug, Default)]
pub struct RunTimings {
    pub load: Duration,
    /// From the start of `rprov apply` to the recap.
    pub wall: Duration,
    pub hosts: Vec<(String, HostTimings)>,
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// The table printed after the recap.
pub fn render(t: &RunTimings) -> String {
    const HEAD: &str = "TIMINGS (ms)";
    const ALL: &str = "all hosts";
    let width = super::name_column(t.hosts.iter().map(|(h, _)| h.as_str()).chain([HEAD, ALL]));
    let mut out = format!(
        "\n{}  {:>5} {:>7} {:>6} {:>7} {:>7} {:>7} {:>9} {:>8} {:>7} {:>7}\n",
        super::pad(HEAD, width),
        "conns",
        "connect",
        "probes",
        "probe",
        "actions",
        "apply",
        "fallbacks",
        "fallback",
        "local",
        "total"
    );
    let row = |name: &str, h: &HostTimings| {
        format!(
            "{}  {:>5} {:>7} {:>6} {:>7} {:>7} {:>7} {:>9} {:>8} {:>7} {:>7}\n",
            super::pad(name, width),
            h.connections,
            ms(h.connect),
            h.probes,
            ms(h.probe),
            h.actions,
            ms(h.apply),
            h.fallbacks,
            ms(h.fallback),
            ms(h.local()),
            ms(h.total),
        )
    };
    let mut sum = HostTimings::default();
    for (h, ht) in &t.hosts {
        out.push_str(&row(h, ht));
        sum.add(ht);
    }
    out.push_str(&row(ALL, &sum));
    out.push_str(&format!(
        "load {} ms (once: inventory, playbook, roles, secrets, vars files); {} ms wall in all{}\n",
        ms(t.load),
        ms(t.wall),
        if t.hosts.len() > 1 {
            " (hosts run at once: their sum may exceed it)"
        } else {
            ""
        }
    ));
    out
}

/// The `{"timings": …}` line printed just before the JSON recap.
pub fn json_line(t: &RunTimings) -> String {
    let mut hosts = Map::new();
    for (h, ht) in &t.hosts {
        hosts.insert(
            h.clone(),
            json!({
                "connect_ms": ms(ht.connect) as u64,
                "connections": ht.connections,
                "probe_ms": ms(ht.probe) as u64,
                "probes": ht.probes,
                "apply_ms": ms(ht.apply) as u64,
                "actions": ht.actions,
                "fallback_ms": ms(ht.fallback) as u64,
                "fallbacks": ht.fallbacks,
                "local_ms": ms(ht.local()) as u64,
                "total_ms": ms(ht.total) as u64,
            }),
        );
    }
    let v = json!({"timings": {
        "load_ms": ms(t.load) as u64,
        "wall_ms": ms(t.wall) as u64,
        "hosts": Json::Object(hosts),
    }});
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(connect: u64, probe: u64, apply: u64, total: u64) -> HostTimings {
        HostTimings {
            connect: Duration::from_micros(connect),
            connections: 1,
            probe: Duration::from_micros(probe),
            probes: 1,
            apply: Duration::from_micros(apply),
            actions: 3,
            total: Duration::from_micros(total),
            ..HostTimings::default()
        }
    }

    fn sample() -> RunTimings {
        RunTimings {
            load: Duration::from_micros(12_900),
            wall: Duration::from_micros(240_000),
            hosts: vec![
                ("web1".into(), host(52_300, 38_000, 80_600, 182_000)),
                (
                    "a-much-longer-host-name".into(),
                    host(1_000, 2_000, 3_000, 10_000),
                ),
            ],
        }
    }

    #[test]
    fn table_is_aligned_with_a_total_line() {
        let text = render(&sample());
        let want = "
TIMINGS (ms)             conns connect probes   probe actions   apply fallbacks fallback   local   total
web1                         1      52      1      38       3      80         0        0      11     182
a-much-longer-host-name      1       1      1       2       3       3         0        0       4      10
all hosts                    2      53      2      40       6      83         0        0      15     192
load 12 ms (once: inventory, playbook, roles, secrets, vars files); 240 ms wall in all (hosts run at once: their sum may exceed it)
";
        assert_eq!(text, want);
        let lines: Vec<&str> = text.lines().skip(1).take(4).collect();
        assert!(
            lines.iter().all(|l| l.len() == lines[0].len()),
            "{lines:#?}"
        );
    }

    #[test]
    fn local_is_the_rest_and_never_negative() {
        let h = host(1_000, 2_000, 3_000, 10_000);
        assert_eq!(h.local(), Duration::from_micros(4_000));
        assert_eq!(host(5_000, 5_000, 5_000, 1_000).local(), Duration::ZERO);
    }

    #[test]
    fn json_line_has_every_field() {
        let v: Json = serde_json::from_str(&json_line(&sample())).unwrap();
        assert_eq!(v["timings"]["load_ms"], 12);
        assert_eq!(v["timings"]["wall_ms"], 240);
        let web1 = &v["timings"]["hosts"]["web1"];
        for (k, want) in [
            ("connect_ms", 52),
            ("connections", 1),
            ("probe_ms", 38),
            ("probes", 1),
            ("apply_ms", 80),
            ("actions", 3),
            ("local_ms", 11),
            ("total_ms", 182),
        ] {
            assert_eq!(web1[k], want, "{k}: {web1}");
        }
    }
}
