//! Several sshd's, each a separate network host in its own network namespace.
//!
//! Layout of one fleet, in slot `X` (0..=255):
//!
//! ```text
//!  root namespace                       namespace rprovtb-X-i (i = 1..=n)
//!  bridge rprovbrX 10.213.X.1/24  ──veth rpvXhI ── eth0 10.213.X.(i+1)/24, sshd on :22
//! ```
//!
//! The slot is claimed by creating the bridge: interface names are unique on the
//! machine, so `ip link add rprovbrX` is an atomic lock even between test processes
//! running in parallel. The bridge's alias records the owner's pid; a bridge whose
//! owner is dead was left by a killed run and is cleaned up (sshd's, namespaces,
//! bridge) before the slot is reused. Every fleet has its own /24, so there are no
//! address clashes between fleets. Traffic never leaves the machine.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use crate::sshd::Placement;
use crate::tools::{find, require_root, require_root_tools, run};
use crate::{proc, Sshd, TestbedError};

/// Marker written to the bridge's alias, followed by the owner's pid.
const ALIAS_PREFIX: &str = "rprov-testbed pid=";

/// Largest fleet: host addresses are .2 ..= .251 of the slot's /24.
const MAX_HOSTS: usize = 250;

/// Several sshd's, each in its own network namespace with its own address
/// (10.213.X.2, .3, …) and port 22. Dropping it stops the servers and removes the
/// namespaces and the bridge.
///
/// The namespaces share the filesystem and the users with the machine: they are
/// separate network hosts, not separate systems.
#[derive(Debug)]
pub struct Fleet {
    /// The servers, in address order.
    pub hosts: Vec<Sshd>,
    slot: u8,
    namespaces: Vec<String>,
}

impl Fleet {
    /// Starts `n` servers (1..=250) authorizing `user`, each in its own namespace.
    /// Needs root, iproute2 and the OpenSSH server (see `scripts/testenv.sh`).
    pub fn start(n: usize, user: &str) -> Result<Fleet, TestbedError> {
        require_root("Fleet::start")?;
        require_root_tools()?;
        if n == 0 || n > MAX_HOSTS {
            return Err(TestbedError::Command {
                command: format!("Fleet::start({n})"),
                status: "invalid".to_owned(),
                stderr: format!("a fleet has 1..={MAX_HOSTS} hosts"),
            });
        }
        let slot = claim_slot()?;
        // From here on, Drop cleans up whatever was created, even on error.
        let mut fleet = Fleet {
            hosts: Vec::with_capacity(n),
            slot,
            namespaces: Vec::with_capacity(n),
        };
        remove_namespaces(slot);
        let bridge = bridge_name(slot);
        ip(&[
            "addr",
            "add",
            &format!("10.213.{slot}.1/24"),
            "dev",
            &bridge,
        ])?;
        ip(&["link", "set", &bridge, "up"])?;

        for i in 1..=n {
            let ns = format!("{}{i}", ns_prefix(slot));
            let host_if = format!("rpv{slot}h{i}");
            // Index offset by 1 keeps .1 for the bridge.
            let last = u8::try_from(i + 1).map_err(|_| TestbedError::NoFreeSlot)?;
            let addr = Ipv4Addr::new(10, 213, slot, last);
            ip(&["netns", "add", &ns])?;
            fleet.namespaces.push(ns.clone());
            ip(&[
                "link", "add", &host_if, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            ip(&["link", "set", &host_if, "master", &bridge, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        }
        for (i, ns) in fleet.namespaces.clone().iter().enumerate() {
            let last = u8::try_from(i + 2).map_err(|_| TestbedError::NoFreeSlot)?;
            let placement = Placement {
                addr: IpAddr::V4(Ipv4Addr::new(10, 213, slot, last)),
                port: 22,
                netns: Some(ns),
            };
            fleet.hosts.push(Sshd::start_at(user, &placement)?);
        }
        Ok(fleet)
    }

    /// Name of the bridge joining the namespaces (`rprovbrX`).
    pub fn bridge(&self) -> String {
        bridge_name(self.slot)
    }

    /// Names of the network namespaces, one per host, in host order.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// Inventory lines for all hosts, named `{prefix}1`, `{prefix}2`, …
    pub fn inventory_lines(&self, prefix: &str) -> String {
        self.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| h.inventory_line(&format!("{prefix}{}", i + 1)) + "\n")
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Servers first (they run inside the namespaces), then the network.
        self.hosts.clear();
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
        remove_namespaces(self.slot);
        let _ = ip(&["link", "del", &bridge_name(self.slot)]);
    }
}

fn bridge_name(slot: u8) -> String {
    format!("rprovbr{slot}")
}

fn ns_prefix(slot: u8) -> String {
    format!("rprovtb-{slot}-")
}

fn ip(args: &[&str]) -> Result<String, TestbedError> {
    run(Command::new(find("ip")?).args(args))
}

/// Claims a free slot by creating its bridge, reclaiming slots of dead owners.
fn claim_slot() -> Result<u8, TestbedError> {
    // Start at a pid-dependent slot so parallel processes rarely contend.
    let start = (std::process::id() % 256) as usize;
    for k in 0..256 {
        let Ok(slot) = u8::try_from((start + k) % 256) else {
            continue;
        };
        if try_claim(slot)? {
            return Ok(slot);
        }
    }
    Err(TestbedError::NoFreeSlot)
}

/// Claims `slot` if it is free or was left behind by a dead process.
fn try_claim(slot: u8) -> Result<bool, TestbedError> {
    let bridge = bridge_name(slot);
    for _ in 0..2 {
        if ip(&["link", "add", "name", &bridge, "type", "bridge"]).is_ok() {
            fs::write(
                format!("/sys/class/net/{bridge}/ifalias"),
                format!("{ALIAS_PREFIX}{}\n", std::process::id()),
            )
            .map_err(TestbedError::io(format!("labelling bridge {bridge}")))?;
            return Ok(true);
        }
        if !owner_is_dead(&bridge) {
            return Ok(false);
        }
        // Left behind by a killed run: clean up and try this slot once more.
        remove_namespaces(slot);
        let _ = ip(&["link", "del", &bridge]);
    }
    Ok(false)
}

/// True when the bridge carries our label and its owner process is gone. An
/// unlabelled bridge may be one being set up right now, so it counts as in use.
fn owner_is_dead(bridge: &str) -> bool {
    let alias = fs::read_to_string(format!("/sys/class/net/{bridge}/ifalias")).unwrap_or_default();
    match alias
        .trim()
        .strip_prefix(ALIAS_PREFIX)
        .map(str::parse::<i32>)
    {
        Some(Ok(pid)) => !proc::alive(pid),
        _ => false,
    }
}

/// Kills every process in the slot's namespaces and deletes them.
fn remove_namespaces(slot: u8) {
    let prefix = ns_prefix(slot);
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    for ns in list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
    {
        if let Ok(pids) = ip(&["netns", "pids", ns]) {
            proc::kill_all(pids.lines().filter_map(|p| p.trim().parse().ok()));
        }
        let _ = ip(&["netns", "del", ns]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot whose owner died (bridge labelled with a dead pid, a namespace with a
    /// process still running in it) is cleaned up and reclaimed.
    #[test]
    fn stale_slot_from_a_killed_run_is_reclaimed() {
        require_root("stale slot test").unwrap_or_else(|e| panic!("{e}"));
        let slot = 251;
        let bridge = bridge_name(slot);
        let ns = format!("{}1", ns_prefix(slot));
        let mut dead = Command::new("true").spawn().expect("spawn true");
        let dead_pid = dead.id();
        dead.wait().expect("wait");
        // Leftovers of a run killed with SIGKILL.
        let _ = ip(&["link", "del", &bridge]);
        ip(&["link", "add", "name", &bridge, "type", "bridge"]).expect("bridge");
        fs::write(
            format!("/sys/class/net/{bridge}/ifalias"),
            format!("{ALIAS_PREFIX}{dead_pid}\n"),
        )
        .expect("alias");
        let _ = ip(&["netns", "add", &ns]);
        let mut orphan = Command::new("ip")
            .args(["netns", "exec", &ns, "sleep", "600"])
            .spawn()
            .expect("orphan");

        assert!(try_claim(slot).expect("claim"), "stale slot reclaimed");
        let alias = fs::read_to_string(format!("/sys/class/net/{bridge}/ifalias")).expect("alias");
        assert_eq!(
            alias.trim(),
            format!("{ALIAS_PREFIX}{}", std::process::id())
        );
        assert!(!ip(&["netns", "list"]).expect("list").contains(&ns));
        assert!(orphan.wait().is_ok(), "the orphan was killed");
        // Now it is ours and alive: nobody else may take it.
        assert!(!try_claim(slot).expect("claim"));
        let _ = ip(&["link", "del", &bridge]);
    }
}
