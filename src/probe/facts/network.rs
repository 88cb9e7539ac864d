//! Network facts, as ansible-core's `setup` names and shapes them on Linux
//! (`module_utils/facts/network/linux.py`): `interfaces`,
//! `all_ipv4_addresses`, `all_ipv6_addresses`, the whole `default_ipv4` and
//! `default_ipv6`, `locally_reachable_ips`, and one fact per interface
//! (`eth0`, `lo`, `br_lan` for `br-lan`, `eth0_1` for the alias `eth0:1`).
//!
//! Where ansible-core runs `ip` three times per interface, the snippet runs it
//! twice in all: one `ip -batch` for the addresses (`ip -o addr`), the two
//! default routes (the same `ip route get 8.8.8.8` and
//! `ip -6 route get 2404:6800:400a:800::1012` as Ansible) and the IPv4 local
//! table, and one `ip -6 route show table local` (a batch line cannot ask
//! for a family). The interfaces come from one `find` in /sys/class/net, so
//! they are walked in the directory's order, as Ansible's `glob` walks them
//! (that order is `all_ipv4_addresses`'s; the shell's `*` would sort them);
//! their /sys files are read with shell builtins. In all, four processes:
//! the subshell, two `ip`, one `find`. A host whose `ip` has no `-batch`
//! (busybox) runs the commands one by one; a host without `ip` (looked for
//! in `PATH` and the sbin directories, as Ansible's `get_bin_path` does)
//! gets no network fact at all, as under Ansible.
//!
//! Differences from ansible-core, on purpose:
//! - `interfaces` is sorted by name: Ansible's order is random (the list
//!   passes through a set on its way out of the module), so no order can
//!   match it.
//! - a bridge's `interfaces` (its ports) are sorted by name; Ansible keeps
//!   the directory's order.
//! - `features`, `timestamping`, `hw_timestamp_filters` and `phc_index` are
//!   not gathered: Ansible reads them with two `ethtool` runs per interface
//!   (and only where `ethtool` is installed).
//! - primary and secondary addresses are told apart by the `secondary`
//!   (IPv4) and `temporary` (IPv6) flags of one `ip -o addr`, where Ansible
//!   runs `ip addr show primary|secondary dev X`: both are the kernel's
//!   `IFA_F_SECONDARY` bit, so the split is the same (on busybox, whose `ip`
//!   knows no `primary`, Ansible files secondaries as primaries).
//! - where Ansible's collector fails on odd `/sys` content (an empty `mtu`
//!   or `flags`, an empty bonding `mode`), the key is left out instead.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

/// Prints `net.has-ip` when there is an `ip` to ask, then
/// `net.ip <line>` for each line of `ip`'s output, `net.dev <name>` for each
/// entry of /sys/class/net in directory order, `net.sys <name> <file>
/// <first line>` for each of its files that exists (empty for a directory
/// or an unreadable file; `pciid` and `module` are the names the `device`
/// and `device/driver/module` links resolve to), and `net.port <bridge>
/// <port>` for a bridge's ports. Interface names have no whitespace, so the
/// fields split on spaces. All in a subshell: it changes directory, `PATH`,
/// `IFS` and globbing for itself only.
pub const SCRIPT: &str = r#"
(
PATH=$PATH:/sbin:/usr/sbin:/usr/local/sbin
command -v ip >/dev/null || exit 0
echo net.has-ip
_rp_o=$(ip -o -force -batch - <<'_RP_NET'
addr
route get 8.8.8.8
route get 2404:6800:400a:800::1012
route show table local
_RP_NET
)
[ -n "$_rp_o" ] || _rp_o=$(ip -o addr; ip -4 route get 8.8.8.8; ip -6 route get 2404:6800:400a:800::1012; ip -4 route show table local)
_rp_o="$_rp_o
$(ip -6 route show table local)"
set -f
IFS='
'
for _rp_l in $_rp_o; do printf 'net.ip %s\n' "$_rp_l"; done
unset IFS
_rp_dev() {
  _rp_p=/sys/class/net/$1
  [ -d "$_rp_p" ] || return
  printf 'net.dev %s\n' "$1"
  for _rp_k in address mtu operstate type flags speed bridge bridge/bridge_id bridge/stp_state bonding bonding/slaves bonding/mode bonding/miimon bonding/lacp_rate bonding/primary bonding/all_slaves_active bonding_slave bonding_slave/perm_hwaddr; do
    [ -e "$_rp_p/$_rp_k" ] || continue
    _rp_v=
    [ -d "$_rp_p/$_rp_k" ] || read -r _rp_v <"$_rp_p/$_rp_k"
    printf 'net.sys %s %s %s\n' "$1" "$_rp_k" "$_rp_v"
  done
  cd -P "$_rp_p/device" && printf 'net.sys %s pciid %s\n' "$1" "${PWD##*/}"
  cd -P "$_rp_p/device/driver/module" && printf 'net.sys %s module %s\n' "$1" "${PWD##*/}"
  [ -d "$_rp_p/bridge" ] || return
  for _rp_b in "$_rp_p"/brif/*; do
    [ -e "$_rp_b" ] && printf 'net.port %s %s\n' "$1" "${_rp_b##*/}"
  done
}
_rp_d=$(cd /sys/class/net && find . ! -name . -prune)
if [ -n "$_rp_d" ]; then
  for _rp_n in $_rp_d; do set +f; _rp_dev "${_rp_n#./}"; done
else
  set +f
  for _rp_n in /sys/class/net/*; do _rp_dev "${_rp_n##*/}"; done
fi
true
) </dev/null 2>/dev/null
"#;

/// The address Ansible asks the IPv4 route to (`default_ipv4`).
const PROBE_V4: &str = "8.8.8.8";
/// The address Ansible asks the IPv6 route to (`default_ipv6`).
const PROBE_V6: &str = "2404:6800:400a:800::1012";

/// Adds this part's facts, read from the snippet's output `out`.
pub fn parse(out: &str, facts: &mut Map<String, Value>) {
    let raw = Raw::read(out);
    if raw.has_ip {
        Network::build(&raw).insert_into(facts);
    }
}

/// The snippet's lines, sorted by what they say.
#[derive(Default)]
struct Raw<'a> {
    /// `ip` was found: Ansible gathers no network fact without it.
    has_ip: bool,
    /// /sys/class/net's entries, in directory order.
    devices: Vec<&'a str>,
    /// Per interface, its /sys files (and `pciid`, `module`) by name.
    sys: HashMap<&'a str, HashMap<&'a str, &'a str>>,
    /// A bridge's ports.
    ports: HashMap<&'a str, Vec<&'a str>>,
    /// The lines of `ip -o addr`, in its order.
    addrs: Vec<AddrLine<'a>>,
    /// The first line of `ip route get 8.8.8.8`, in words.
    route4: Option<Vec<&'a str>>,
    /// The first line of `ip -6 route get 2404:…`, in words.
    route6: Option<Vec<&'a str>>,
    /// The destinations of the `local` routes (IPv4 table, then IPv6).
    local: Vec<&'a str>,
}

/// One address of `ip -o addr`.
struct AddrLine<'a> {
    /// The interface it is on.
    device: &'a str,
    /// Its words from `inet`/`inet6` to the end of the record (before `\`):
    /// the words of the line Ansible reads in `ip addr show`'s output.
    words: Vec<&'a str>,
}

impl AddrLine<'_> {
    /// The kernel's `IFA_F_SECONDARY`, shown as `secondary` on IPv4 (before
    /// the label, the last word) and `temporary` on IPv6: what Ansible's
    /// `ip addr show secondary` lists.
    fn secondary(&self) -> bool {
        match self.words.first() {
            Some(&"inet") => {
                let flags = &self.words[..self.words.len().saturating_sub(1)];
                flags.iter().skip(2).any(|w| *w == "secondary")
            }
            _ => self.words.iter().skip(2).any(|w| *w == "temporary"),
        }
    }
}

impl<'a> Raw<'a> {
    /// Sorts the `net.` lines of `out`.
    fn read(out: &'a str) -> Self {
        let mut raw = Raw::default();
        for line in out.lines() {
            if line == "net.has-ip" {
                raw.has_ip = true;
            } else if let Some(rest) = line.strip_prefix("net.ip ") {
                raw.read_ip(rest);
            } else if let Some(name) = line.strip_prefix("net.dev ") {
                raw.devices.push(name);
            } else if let Some(rest) = line.strip_prefix("net.sys ") {
                let mut f = rest.splitn(3, ' ');
                if let (Some(dev), Some(file)) = (f.next(), f.next()) {
                    let value = f.next().unwrap_or("").trim();
                    raw.sys.entry(dev).or_default().insert(file, value);
                }
            } else if let Some(rest) = line.strip_prefix("net.port ") {
                if let Some((bridge, port)) = rest.split_once(' ') {
                    raw.ports.entry(bridge).or_default().push(port);
                }
            }
        }
        raw
    }

    /// Files one line of `ip`'s output: an address (`4: eth0    inet …`), a
    /// route to one of the probe addresses (the line starts with it, as
    /// Ansible checks), or a route of the local table (`local 10.0.0.1 …`).
    /// With `-o`, a record's continuation follows a `\` on the same line.
    fn read_ip(&mut self, line: &'a str) {
        let record = line.split('\\').next().unwrap_or("");
        let words: Vec<&str> = record.split_whitespace().collect();
        match words.as_slice() {
            [index, device, family, ..]
                if is_index(index) && (*family == "inet" || *family == "inet6") =>
            {
                // Only the name is written here; should an `ip` write
                // `veth0@if5` or `eth0:` as `ip link` does, keep the name.
                let device = device.split('@').next().unwrap_or(device);
                self.addrs.push(AddrLine {
                    device: device.trim_end_matches(':'),
                    words: words[2..].to_vec(),
                });
            }
            [first, ..] if *first == PROBE_V4 && self.route4.is_none() => {
                self.route4 = Some(words);
            }
            [first, ..] if *first == PROBE_V6 && self.route6.is_none() => {
                self.route6 = Some(words);
            }
            ["local", destination, ..] => self.local.push(destination),
            _ => {}
        }
    }
}

/// `4:`, the interface index that starts a line of `ip -o addr`.
fn is_index(word: &str) -> bool {
    word.strip_suffix(':')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// What an interface lends the default route's dict when one of its
/// addresses is the route's source.
struct Link {
    /// The `address` file as read, even `00:00:00:00:00:00` or empty.
    macaddress: String,
    mtu: Option<Value>,
    kind: Value,
}

/// The network facts being built, as Ansible's collector builds them.
#[derive(Default)]
struct Network {
    /// By name (an alias's `eth0:1` included), each interface's dict.
    interfaces: BTreeMap<String, Map<String, Value>>,
    default_ipv4: Map<String, Value>,
    default_ipv6: Map<String, Value>,
    all_ipv4: Vec<Value>,
    all_ipv6: Vec<Value>,
    locally_reachable: Value,
}

impl Network {
    /// Walks the interfaces in directory order, each one's primary
    /// addresses, then its secondary ones (as Ansible's two `ip` runs).
    fn build(raw: &Raw) -> Self {
        let mut net = Network {
            default_ipv4: route_default(raw.route4.as_deref(), PROBE_V4),
            default_ipv6: route_default(raw.route6.as_deref(), PROBE_V6),
            locally_reachable: locally_reachable(&raw.local),
            ..Network::default()
        };
        let empty = HashMap::new();
        for &device in &raw.devices {
            let sys = raw.sys.get(device).unwrap_or(&empty);
            let ports = raw.ports.get(device).map_or(&[][..], Vec::as_slice);
            let dict = link_facts(device, sys, ports);
            let link = Link {
                macaddress: sys.get("address").copied().unwrap_or("").to_string(),
                mtu: dict.get("mtu").cloned(),
                kind: dict
                    .get("type")
                    .cloned()
                    .unwrap_or_else(|| "unknown".into()),
            };
            net.interfaces.insert(device.to_string(), dict);
            let mine = || raw.addrs.iter().filter(|a| a.device == device);
            let primary = mine().filter(|a| !a.secondary()).map(|a| (a, false));
            let secondary = mine().filter(|a| a.secondary()).map(|a| (a, true));
            for (addr, is_secondary) in primary.chain(secondary) {
                match addr.words.first() {
                    Some(&"inet") => net.add_ipv4(device, &addr.words, is_secondary, &link),
                    Some(&"inet6") => net.add_ipv6(device, &addr.words, &link),
                    _ => {}
                }
            }
        }
        net
    }

    /// One IPv4 address of `device`, filed as Ansible files it: on the
    /// interface its label names (an alias such as `eth0:1` gets a dict of
    /// its own, made anew for each of its addresses), as `ipv4` for the
    /// first primary one and in `ipv4_secondaries` for the others; a
    /// secondary one of an alias also in the device's `ipv4_secondaries`.
    fn add_ipv4(&mut self, device: &str, words: &[&str], secondary: bool, link: &Link) {
        let Some(addr) = Ipv4::parse(words) else {
            return;
        };
        let label = words.last().copied().unwrap_or(device);
        let entry = addr.to_json();
        if label != device {
            self.interfaces.insert(label.to_string(), Map::new());
        }
        let target = self.interfaces.entry(label.to_string()).or_default();
        if !secondary && !target.contains_key("ipv4") {
            target.insert("ipv4".into(), entry.clone());
        } else {
            push(target, "ipv4_secondaries", entry.clone());
        }
        if secondary {
            let dict = self.interfaces.entry(device.to_string()).or_default();
            let list = dict
                .entry("ipv4_secondaries")
                .or_insert_with(|| Value::Array(Vec::new()));
            if label != device {
                if let Value::Array(list) = list {
                    list.push(entry);
                }
            }
        }
        if self.default_ipv4.get("address").and_then(Value::as_str) == Some(addr.address.as_str()) {
            let d = &mut self.default_ipv4;
            d.insert("broadcast".into(), addr.broadcast.clone().into());
            d.insert("netmask".into(), addr.netmask().to_string().into());
            d.insert("network".into(), addr.network().to_string().into());
            d.insert("prefix".into(), addr.prefix_text.clone().into());
            d.insert("macaddress".into(), link.macaddress.clone().into());
            if let Some(mtu) = &link.mtu {
                d.insert("mtu".into(), mtu.clone());
            }
            d.insert("type".into(), link.kind.clone());
            d.insert("alias".into(), label.into());
        }
        if !addr.address.starts_with("127.") {
            self.all_ipv4.push(addr.address.into());
        }
    }

    /// One IPv6 address of `device` (`inet6 ADDR/LEN scope S …`, or
    /// `inet6 ADDR peer PEER/LEN scope S …` on a point-to-point link).
    fn add_ipv6(&mut self, device: &str, words: &[&str], link: &Link) {
        let parsed = if words.get(2) == Some(&"peer") {
            words
                .get(3)
                .and_then(|w| w.split_once('/'))
                .and_then(|(_, prefix)| Some((*words.get(1)?, prefix, *words.get(5)?)))
        } else {
            words
                .get(1)
                .and_then(|w| w.split_once('/'))
                .and_then(|(address, prefix)| Some((address, prefix, *words.get(3)?)))
        };
        let Some((address, prefix, scope)) = parsed else {
            return;
        };
        let dict = self.interfaces.entry(device.to_string()).or_default();
        push(
            dict,
            "ipv6",
            json!({"address": address, "prefix": prefix, "scope": scope}),
        );
        if self.default_ipv6.get("address").and_then(Value::as_str) == Some(address) {
            let d = &mut self.default_ipv6;
            d.insert("prefix".into(), prefix.into());
            d.insert("scope".into(), scope.into());
            d.insert("macaddress".into(), link.macaddress.clone().into());
            if let Some(mtu) = &link.mtu {
                d.insert("mtu".into(), mtu.clone());
            }
            d.insert("type".into(), link.kind.clone());
        }
        if address != "::1" {
            self.all_ipv6.push(address.into());
        }
    }

    /// The facts, under Ansible's names: an alias's `:` becomes `_` (in
    /// `interfaces` too), and a fact's name has `_` for `-` (Ansible's fact
    /// namespace does it to every name; `interfaces` keeps the `-`).
    fn insert_into(self, facts: &mut Map<String, Value>) {
        let interfaces: BTreeMap<String, Map<String, Value>> = self
            .interfaces
            .into_iter()
            .map(|(name, dict)| (name.replace(':', "_"), dict))
            .collect();
        let names = interfaces.keys().cloned().map(Value::String).collect();
        facts.insert("interfaces".into(), Value::Array(names));
        for (name, dict) in interfaces {
            facts.insert(name.replace('-', "_"), Value::Object(dict));
        }
        facts.insert("default_ipv4".into(), Value::Object(self.default_ipv4));
        facts.insert("default_ipv6".into(), Value::Object(self.default_ipv6));
        facts.insert("all_ipv4_addresses".into(), Value::Array(self.all_ipv4));
        facts.insert("all_ipv6_addresses".into(), Value::Array(self.all_ipv6));
        facts.insert("locally_reachable_ips".into(), self.locally_reachable);
    }
}

/// `locally_reachable_ips`: the destinations of the `local` routes, each
/// once, IPv6 ones told by their `:`.
fn locally_reachable(local: &[&str]) -> Value {
    let (mut v4, mut v6): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for &destination in local {
        let list = if destination.contains(':') {
            &mut v6
        } else {
            &mut v4
        };
        if !list.contains(&destination) {
            list.push(destination);
        }
    }
    json!({"ipv4": v4, "ipv6": v6})
}

/// Appends `item` to the list `key` of `dict`, making the list if need be.
fn push(dict: &mut Map<String, Value>, key: &str, item: Value) {
    if let Value::Array(list) = dict.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
        list.push(item);
    }
}

/// The start of `default_ipv4`/`default_ipv6`: `interface`, `address` and
/// `gateway` from the words of `ip route get PROBE` (its `dev`, `src` and
/// `via`); `{}` without a route there.
fn route_default(words: Option<&[&str]>, probe: &str) -> Map<String, Value> {
    let mut dict = Map::new();
    for pair in words.unwrap_or_default().windows(2) {
        let key = match pair[0] {
            "dev" => "interface",
            "src" => "address",
            "via" if pair[1] != probe => "gateway",
            _ => continue,
        };
        dict.insert(key.into(), pair[1].into());
    }
    dict
}

/// An interface's own dict, from its /sys files, with the keys in
/// Ansible's order. A bond with a `primary` hides its `perm_macaddress`,
/// `pciid`, `speed` and `promisc`, as in Ansible (its collector looks for
/// those under the bond's `bonding/all_slaves_active` once it read it).
fn link_facts(device: &str, sys: &HashMap<&str, &str>, ports: &[&str]) -> Map<String, Value> {
    let mut dict = Map::new();
    dict.insert("device".into(), device.into());
    let file = |name: &str| sys.get(name).copied();
    let text = |name: &str| file(name).filter(|v| !v.is_empty());
    if let Some(mac) = text("address").filter(|m| *m != "00:00:00:00:00:00") {
        dict.insert("macaddress".into(), mac.into());
    }
    if let Some(mtu) = text("mtu").and_then(|v| v.parse::<i64>().ok()) {
        dict.insert("mtu".into(), mtu.into());
    }
    if let Some(state) = file("operstate") {
        dict.insert("active".into(), (state != "down").into());
    }
    if let Some(module) = text("module") {
        dict.insert("module".into(), module.into());
    }
    if let Some(kind) = file("type") {
        dict.insert("type".into(), link_type(kind).into());
    }
    if file("bridge").is_some() {
        dict.insert("type".into(), "bridge".into());
        dict.insert("interfaces".into(), json!(ports));
        if let Some(id) = file("bridge/bridge_id") {
            dict.insert("id".into(), id.into());
        }
        if let Some(stp) = file("bridge/stp_state") {
            dict.insert("stp".into(), (stp == "1").into());
        }
    }
    let hidden = file("bonding").is_some() && bonding(&mut dict, &file);
    if hidden {
        return dict;
    }
    if file("bonding_slave").is_some() {
        let perm = file("bonding_slave/perm_hwaddr").unwrap_or("");
        dict.insert("perm_macaddress".into(), perm.into());
    }
    if let Some(pciid) = text("pciid") {
        dict.insert("pciid".into(), pciid.into());
    }
    if let Some(speed) = text("speed").and_then(|v| v.parse::<i64>().ok()) {
        dict.insert("speed".into(), speed.into());
    }
    let flags = text("flags").map(|v| v.trim_start_matches("0x"));
    if let Some(flags) = flags.and_then(|v| i64::from_str_radix(v, 16).ok()) {
        dict.insert("promisc".into(), (flags & 0x100 != 0).into());
    }
    dict
}

/// A bond's keys; true when it has a `primary` (see [`link_facts`]).
fn bonding<'a>(dict: &mut Map<String, Value>, file: &impl Fn(&str) -> Option<&'a str>) -> bool {
    dict.insert("type".into(), "bonding".into());
    let slaves: Vec<&str> = file("bonding/slaves")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    dict.insert("slaves".into(), json!(slaves));
    for key in ["mode", "miimon", "lacp_rate"] {
        let first = file(&format!("bonding/{key}")).and_then(|v| v.split_whitespace().next());
        if let Some(first) = first {
            dict.insert(key.into(), first.into());
        }
    }
    let Some(primary) = file("bonding/primary").filter(|p| !p.is_empty()) else {
        return false;
    };
    dict.insert("primary".into(), primary.into());
    if let Some(all) = file("bonding/all_slaves_active") {
        dict.insert("all_slaves_active".into(), (all == "1").into());
    }
    true
}

/// Ansible's name for a /sys `type` (an ARPHRD_* number).
fn link_type(number: &str) -> &'static str {
    match number {
        "1" => "ether",
        "32" => "infiniband",
        "512" => "ppp",
        "772" => "loopback",
        "65534" => "tunnel",
        _ => "unknown",
    }
}

/// An IPv4 address of `ip addr`: `inet ADDR/LEN [brd BCAST] …`, or
/// `inet ADDR peer …` (a point-to-point link, taken as a /32 as Ansible
/// does).
struct Ipv4 {
    /// As `ip` wrote it.
    address: String,
    parsed: Ipv4Addr,
    /// The prefix length as `ip` wrote it: Ansible's `prefix` is a string.
    prefix_text: String,
    prefix: u32,
    broadcast: String,
}

impl Ipv4 {
    fn parse(words: &[&str]) -> Option<Self> {
        let spec = words.get(1)?;
        let (address, prefix_text) = spec.split_once('/').unwrap_or((spec, "32"));
        let prefix: u32 = prefix_text.parse().ok().filter(|p| *p <= 32)?;
        let parsed = address.parse().ok()?;
        let broadcast = match (words.len() > 3, words.get(2), words.get(3)) {
            (true, Some(&"brd"), Some(b)) if spec.contains('/') => b.to_string(),
            _ => String::new(),
        };
        Some(Ipv4 {
            address: address.to_string(),
            parsed,
            prefix_text: prefix_text.to_string(),
            prefix,
            broadcast,
        })
    }

    fn mask(&self) -> u32 {
        u32::MAX.checked_shl(32 - self.prefix).unwrap_or(0)
    }

    fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.parsed) & self.mask())
    }

    fn to_json(&self) -> Value {
        json!({
            "address": self.address,
            "broadcast": self.broadcast,
            "netmask": self.netmask().to_string(),
            "network": self.network().to_string(),
            "prefix": self.prefix_text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This part's facts for snippet output `out`.
    fn facts(out: &str) -> Map<String, Value> {
        let mut facts = Map::new();
        parse(out, &mut facts);
        facts
    }

    /// A host with one Ethernet interface, IPv4 and IPv6 default routes
    /// (iproute2's `-batch` output, as `ip -o` writes it).
    const ONE_NIC: &str = r"net.has-ip
net.ip 1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
net.ip 1: lo    inet6 ::1/128 scope host \       valid_lft forever preferred_lft forever
net.ip 4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\       valid_lft forever preferred_lft forever
net.ip 4: eth0    inet6 fd00::2/64 scope global nodad \       valid_lft forever preferred_lft forever
net.ip 4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \       valid_lft forever preferred_lft forever
net.ip 8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \    cache 
net.ip 2404:6800:400a:800::1012 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium
net.ip local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 
net.ip local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 
net.ip broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 
net.ip local 192.0.2.2 dev eth0 proto kernel scope host src 192.0.2.2 
net.ip local ::1 dev lo proto kernel metric 0 pref medium
net.ip local fd00::2 dev eth0 proto kernel metric 0 pref medium
net.ip local fd00::2 dev eth0 proto kernel metric 0 pref medium
net.ip multicast ff00::/8 dev eth0 proto kernel metric 256 pref medium
net.dev lo
net.sys lo address 00:00:00:00:00:00
net.sys lo mtu 65536
net.sys lo operstate unknown
net.sys lo type 772
net.sys lo flags 0x9
net.sys lo speed 
net.dev eth0
net.sys eth0 address 02:fc:00:00:00:01
net.sys eth0 mtu 1400
net.sys eth0 operstate up
net.sys eth0 type 1
net.sys eth0 flags 0x1103
net.sys eth0 speed 1000
net.sys eth0 pciid 0000:00:03.0
net.sys eth0 module e1000
";

    #[test]
    fn one_interface_as_ansible_shapes_it() {
        let f = facts(ONE_NIC);
        assert_eq!(f["interfaces"], json!(["eth0", "lo"]));
        assert_eq!(f["all_ipv4_addresses"], json!(["192.0.2.2"]));
        // Loopback left out, link-local kept.
        assert_eq!(
            f["all_ipv6_addresses"],
            json!(["fd00::2", "fe80::fc:ff:fe00:1"])
        );
        assert_eq!(
            f["default_ipv4"],
            json!({"address": "192.0.2.2", "alias": "eth0", "broadcast": "192.0.2.255",
                   "gateway": "192.0.2.1", "interface": "eth0", "macaddress": "02:fc:00:00:00:01",
                   "mtu": 1400, "netmask": "255.255.255.0", "network": "192.0.2.0",
                   "prefix": "24", "type": "ether"})
        );
        assert_eq!(
            f["default_ipv6"],
            json!({"address": "fd00::2", "gateway": "fd00::1", "interface": "eth0",
                   "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "prefix": "64",
                   "scope": "global", "type": "ether"})
        );
        assert_eq!(
            f["eth0"],
            json!({"device": "eth0", "active": true, "type": "ether", "mtu": 1400,
                   "macaddress": "02:fc:00:00:00:01", "promisc": true, "speed": 1000,
                   "pciid": "0000:00:03.0", "module": "e1000",
                   "ipv4": {"address": "192.0.2.2", "broadcast": "192.0.2.255",
                            "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"},
                   "ipv6": [{"address": "fd00::2", "prefix": "64", "scope": "global"},
                            {"address": "fe80::fc:ff:fe00:1", "prefix": "64", "scope": "link"}]})
        );
        // No MAC for an all-zero address, no speed where /sys gave none.
        assert_eq!(
            f["lo"],
            json!({"device": "lo", "active": true, "type": "loopback", "mtu": 65536,
                   "promisc": false,
                   "ipv4": {"address": "127.0.0.1", "broadcast": "", "netmask": "255.0.0.0",
                            "network": "127.0.0.0", "prefix": "8"},
                   "ipv6": [{"address": "::1", "prefix": "128", "scope": "host"}]})
        );
        assert_eq!(
            f["locally_reachable_ips"],
            json!({"ipv4": ["127.0.0.0/8", "127.0.0.1", "192.0.2.2"],
                   "ipv6": ["::1", "fd00::2"]})
        );
    }

    #[test]
    fn no_default_route_gives_empty_dicts() {
        let out: String = ONE_NIC
            .lines()
            .filter(|l| !l.starts_with("net.ip 8.8.8.8") && !l.starts_with("net.ip 2404:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let f = facts(&out);
        assert_eq!(f["default_ipv4"], json!({}));
        assert_eq!(f["default_ipv6"], json!({}));
        assert_eq!(f["all_ipv4_addresses"], json!(["192.0.2.2"]));
    }

    #[test]
    fn ipv6_only_host() {
        let out = r"net.has-ip
net.ip 1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
net.ip 1: lo    inet6 ::1/128 scope host \       valid_lft forever preferred_lft forever
net.ip 2: ens3    inet6 2001:db8::5/64 scope global dynamic mngtmpaddr \       valid_lft 86000sec preferred_lft 14000sec
net.ip 2: ens3    inet6 2001:db8::a1b2/64 scope global temporary dynamic \       valid_lft 86000sec preferred_lft 14000sec
net.ip 2: ens3    inet6 fe80::1/64 scope link \       valid_lft forever preferred_lft forever
net.ip 2404:6800:400a:800::1012 from :: via fe80::fe dev ens3 proto ra src 2001:db8::a1b2 metric 100 pref medium
net.dev lo
net.sys lo mtu 65536
net.dev ens3
net.sys ens3 address 52:54:00:12:34:56
net.sys ens3 mtu 1500
net.sys ens3 type 1
";
        let f = facts(out);
        assert_eq!(f["default_ipv4"], json!({}));
        assert_eq!(f["all_ipv4_addresses"], json!([]));
        // The temporary (secondary) address comes after the others, as
        // Ansible's second `ip addr show secondary` run lists it.
        assert_eq!(
            f["all_ipv6_addresses"],
            json!(["2001:db8::5", "fe80::1", "2001:db8::a1b2"])
        );
        assert_eq!(
            f["default_ipv6"],
            json!({"address": "2001:db8::a1b2", "gateway": "fe80::fe", "interface": "ens3",
                   "macaddress": "52:54:00:12:34:56", "mtu": 1500, "prefix": "64",
                   "scope": "global", "type": "ether"})
        );
        assert_eq!(f["locally_reachable_ips"], json!({"ipv4": [], "ipv6": []}));
    }

    #[test]
    fn dashes_aliases_and_secondaries_as_ansible_names_them() {
        let out = r"net.has-ip
net.ip 4: veth-a    inet 10.1.0.2/24 scope global veth-a\       valid_lft forever preferred_lft forever
net.ip 4: veth-a    inet 10.2.0.2/16 scope global veth-a:2\       valid_lft forever preferred_lft forever
net.ip 4: veth-a    inet 10.1.0.3/24 scope global secondary veth-a\       valid_lft forever preferred_lft forever
net.ip 4: veth-a    inet 10.1.0.9/24 scope global secondary veth-a:1\       valid_lft forever preferred_lft forever
net.ip 8.8.8.8 via 10.2.0.1 dev veth-a src 10.2.0.2 uid 1000 \    cache 
net.dev veth-a
net.sys veth-a address 9e:53:2c:19:88:7d
net.sys veth-a mtu 1500
net.sys veth-a type 1
";
        let f = facts(out);
        assert_eq!(f["interfaces"], json!(["veth-a", "veth-a_1", "veth-a_2"]));
        let v4 = |a: &str, p: &str, m: &str, n: &str| json!({"address": a, "broadcast": "", "netmask": m, "network": n, "prefix": p});
        let a = &f["veth_a"];
        assert_eq!(a["device"], "veth-a");
        assert_eq!(a["ipv4"], v4("10.1.0.2", "24", "255.255.255.0", "10.1.0.0"));
        assert_eq!(
            a["ipv4_secondaries"],
            json!([
                v4("10.1.0.3", "24", "255.255.255.0", "10.1.0.0"),
                v4("10.1.0.9", "24", "255.255.255.0", "10.1.0.0")
            ])
        );
        assert_eq!(
            f["veth_a_2"],
            json!({"ipv4": v4("10.2.0.2", "16", "255.255.0.0", "10.2.0.0")})
        );
        assert_eq!(
            f["veth_a_1"],
            json!({"ipv4_secondaries": [v4("10.1.0.9", "24", "255.255.255.0", "10.1.0.0")]})
        );
        assert_eq!(f["default_ipv4"]["alias"], "veth-a:2");
        assert_eq!(f["default_ipv4"]["mtu"], 1500);
        assert_eq!(f["default_ipv4"]["gateway"], "10.2.0.1");
        assert_eq!(f["default_ipv6"], json!({}));
        assert_eq!(
            f["all_ipv4_addresses"],
            json!(["10.1.0.2", "10.2.0.2", "10.1.0.3", "10.1.0.9"])
        );
    }

    #[test]
    fn point_to_point_bridge_and_bond() {
        let out = r"net.has-ip
net.ip 7: t0    inet 10.9.0.1 peer 10.9.0.2/32 scope global t0\       valid_lft forever preferred_lft forever
net.ip 7: t0    inet6 fd00:9::1 peer fd00:9::2/128 scope global nodad \       valid_lft forever preferred_lft forever
net.dev t0
net.sys t0 mtu 1500
net.sys t0 operstate unknown
net.sys t0 type 65534
net.sys t0 flags 0x10d1
net.dev br-lan
net.sys br-lan address 42:63:08:03:76:d8
net.sys br-lan operstate down
net.sys br-lan type 1
net.sys br-lan bridge 
net.sys br-lan bridge/bridge_id 8000.4263080376d8
net.sys br-lan bridge/stp_state 0
net.port br-lan eth1
net.port br-lan eth2
net.dev bond0
net.sys bond0 type 1
net.sys bond0 bonding 
net.sys bond0 bonding/slaves eth3 eth4
net.sys bond0 bonding/mode active-backup 1
net.sys bond0 bonding/miimon 100
net.sys bond0 bonding/lacp_rate slow 0
net.sys bond0 bonding/primary eth3
net.sys bond0 bonding/all_slaves_active 0
net.sys bond0 speed 1000
net.sys bond0 flags 0x1403
net.dev eth3
net.sys eth3 bonding_slave 
net.sys eth3 bonding_slave/perm_hwaddr 52:54:00:aa:bb:cc
net.sys eth3 speed 
";
        let f = facts(out);
        assert_eq!(
            f["t0"],
            json!({"device": "t0", "mtu": 1500, "active": true, "type": "tunnel", "promisc": false,
                   "ipv4": {"address": "10.9.0.1", "broadcast": "", "netmask": "255.255.255.255",
                            "network": "10.9.0.1", "prefix": "32"},
                   "ipv6": [{"address": "fd00:9::1", "prefix": "128", "scope": "global"}]})
        );
        assert_eq!(
            f["br_lan"],
            json!({"device": "br-lan", "macaddress": "42:63:08:03:76:d8", "active": false,
                   "type": "bridge", "interfaces": ["eth1", "eth2"],
                   "id": "8000.4263080376d8", "stp": false})
        );
        // A bond with a primary: no speed or promisc, as in Ansible.
        assert_eq!(
            f["bond0"],
            json!({"device": "bond0", "type": "bonding", "slaves": ["eth3", "eth4"],
                   "mode": "active-backup", "miimon": "100", "lacp_rate": "slow",
                   "primary": "eth3", "all_slaves_active": false})
        );
        assert_eq!(
            f["eth3"],
            json!({"device": "eth3", "perm_macaddress": "52:54:00:aa:bb:cc"})
        );
    }

    #[test]
    fn one_by_one_output_reads_the_same() {
        // `ip` without `-batch` (busybox): `route get` on two lines.
        let out = r"net.has-ip
net.ip 2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\       valid_lft forever preferred_lft forever
net.ip 8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 
net.ip     cache 
net.dev eth0
net.sys eth0 mtu 1500
";
        let f = facts(out);
        assert_eq!(f["default_ipv4"]["gateway"], "192.0.2.1");
        assert_eq!(f["default_ipv4"]["network"], "192.0.2.0");
    }

    #[test]
    fn without_ip_there_are_no_network_facts() {
        assert!(facts("arch=x86_64\nnet.dev eth0\n").is_empty());
    }

    #[test]
    fn odd_lines_are_skipped() {
        let out = "net.has-ip\nnet.ip 1: lo    inet 300.1.1.1/8 scope host lo\nnet.ip 1: lo    inet6\nnet.ip 1: lo    inet 1.2.3.4/33 lo\nnet.ip 8.8.8.8\nnet.sys\nnet.sys lo\nnet.port br0\nnet.dev lo\nnet.sys lo mtu many\nnet.sys lo flags 0xzz\n";
        let f = facts(out);
        assert_eq!(f["lo"], json!({"device": "lo"}));
        assert_eq!(f["default_ipv4"], json!({}));
        assert_eq!(f["all_ipv4_addresses"], json!([]));
    }

    #[test]
    fn the_snippet_runs_quietly_here() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.lines().all(|l| l.starts_with("net.")), "{stdout}");
        let f = facts(&stdout);
        if stdout.starts_with("net.has-ip") {
            assert!(f["interfaces"].as_array().unwrap().contains(&json!("lo")));
            assert_eq!(f["lo"]["type"], "loopback");
        }
    }
}
