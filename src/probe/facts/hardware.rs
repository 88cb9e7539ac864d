//! Hardware facts, as ansible-core's `setup` names and shapes them on Linux
//! (its `hardware/linux.py` and `virtual/linux.py`): the processor list and
//! counts ([`cpu`]), memory and swap ([`memory`]), the mounts with their
//! sizes ([`mounts`]), virtualization ([`virt`]), the block devices and their
//! links ([`devices`]) and LVM ([`lvm`]). Also `flags`, which Ansible's
//! processor collector reports too, and `memtotal_mb` again (the base's
//! value, from the same `/proc/meminfo` line).
//!
//! # What the host runs
//!
//! [`SCRIPT`] gathers raw data; every rule of Ansible's is applied here, on
//! the controller, where it can be tested. On a host it execs:
//!
//! - one `ls -ld` over `/sys/block/*` and `/dev/disk/by-{id,uuid,label}/*`
//!   (the symlink targets Python reads with `readlink`),
//! - `lspci -D` when it is installed (the `host` of a PCI block device),
//! - one `awk` reading `/proc/cpuinfo`, `/proc/meminfo`, the mount table,
//!   `/proc/self/{status,mountinfo}`, `/proc/1/{cgroup,environ}`,
//!   `/proc/modules`, `/proc/xen/capabilities` and the `ls`/`lspci` lines,
//! - one `stat -f` for every mount's size at once,
//!
//! so three or four processes; sysfs and DMI files are read with the shell's
//! `read`. Only some hosts pay more: `timeout 10 stat -f` (two) when there
//! are network mounts, `vgs`, `lvs` and `pvs` as root with LVM installed
//! (Ansible runs them there too), `lscpu` on s390.
//!
//! Every line starts with `hw.` and a tag; see the `parse` of each module for
//! the tags it reads. Mount lines carry the mount table's own escapes
//! (`\040` for a space), so a path cannot split a line.
//!
//! # Where the facts differ from Ansible's
//!
//! - `processor_vcpus` is set as Ansible defines it (threads per core ×
//!   cores × sockets from `/proc/cpuinfo`), overwriting the base part's
//!   `nproc`; without a readable `/proc/cpuinfo` the base's value stays
//!   (Ansible then has none).
//! - Mount UUIDs come from `/dev/disk/by-uuid` (the udev database `lsblk`
//!   and `udevadm` read), not from running `lsblk` and one `udevadm` per
//!   mount: on a host without udev, where `lsblk` as root probes devices
//!   itself, `uuid` is "N/A".
//! - Mount sizes: paths holding a newline get none. Network mounts are sized
//!   by one `stat` under a 10 s `timeout` (Ansible: a timeout per mount);
//!   when it expires every network mount left without sizes gets Ansible's
//!   timeout `note` (and, as there, no `uuid`).
//! - Bind mounts are found as `findmnt` finds them (the mount's root in
//!   `/proc/self/mountinfo` is not `/`), without running `findmnt`, only
//!   when it is installed (as Ansible).
//! - `devices`: `serial` is always sysfs' `device/serial`; Ansible asks
//!   `sg_inq` instead when sg3-utils is installed. `holders` are listed in
//!   name order (Ansible: directory order).
//! - Virtualization: the `dmidecode -s system-product-name` check (as root)
//!   reads the same string from sysfs instead.
//! - `virtualization_tech_guest`/`_host` are Python sets, listed in an
//!   order that changes from run to run under Ansible; here they keep the
//!   order the checks found them in.
//! - `uptime_seconds`, DMI and s390 `sysinfo`, from the same collector in
//!   Ansible, are the system part's.

mod cpu;
mod devices;
mod lvm;
mod memory;
mod mounts;
mod virt;

use serde_json::{Map, Value};

/// Appended to the facts snippet. POSIX sh; every file may be missing or
/// unreadable (containers, non-root users) and no error reaches stderr.
///
/// The awk prints the mount points to size (`hw.@L`: local, `hw.@N`:
/// network), the uid (`hw.@uid`) and whether the host is s390 (`hw.@s390`)
/// on its stderr, which the shell captures, while its facts go straight to
/// stdout: the shell never holds the whole output in a variable.
pub const SCRIPT: &str = r##"_rp_hw_attr() {
  _rp_hw_v=
  [ -r "$2/$3" ] && read -r _rp_hw_v 2>/dev/null <"$2/$3"
  [ -z "$_rp_hw_v" ] || printf 'hw.%s %s %s\n' "$1" "$3" "$_rp_hw_v"
}
_rp_hw_holders() {
  for _rp_hw_h in "$2"/holders/dm-*; do
    [ -e "$_rp_hw_h" ] || continue
    _rp_hw_v=
    [ -r "$_rp_hw_h/dm/name" ] && read -r _rp_hw_v 2>/dev/null <"$_rp_hw_h/dm/name"
    printf 'hw.%s %s %s\n' "$1" "${_rp_hw_h##*/}" "$_rp_hw_v"
  done
}
_rp_hw_block() {
  [ -d /sys/block ] && [ -r /sys/block ] || return 0
  echo hw.sysblock
  for _rp_hw_d in /sys/block/*; do
    [ -e "$_rp_hw_d" ] || continue
    _rp_hw_n=${_rp_hw_d##*/}
    if [ -L "$_rp_hw_d" ]; then _rp_hw_k=link; elif [ -e "$_rp_hw_d/device" ]; then _rp_hw_k=device; else _rp_hw_k=plain; fi
    printf 'hw.dev %s %s\n' "$_rp_hw_n" "$_rp_hw_k"
    for _rp_hw_a in device/vendor device/model device/sas_address device/sas_device_handle device/serial removable queue/discard_max_hw_bytes queue/discard_granularity queue/rotational queue/scheduler queue/logical_block_size queue/hw_sector_size size dm/name; do
      _rp_hw_attr "dattr $_rp_hw_n" "$_rp_hw_d" "$_rp_hw_a"
    done
    _rp_hw_holders "dhold $_rp_hw_n" "$_rp_hw_d"
    for _rp_hw_s in "$_rp_hw_d"/slaves/*; do
      [ -e "$_rp_hw_s" ] && printf 'hw.slave %s %s\n' "$_rp_hw_n" "${_rp_hw_s##*/}"
    done
    for _rp_hw_p in "$_rp_hw_d"/*"$_rp_hw_n"*; do
      [ -d "$_rp_hw_p" ] || continue
      _rp_hw_q=${_rp_hw_p##*/}
      printf 'hw.part %s %s\n' "$_rp_hw_n" "$_rp_hw_q"
      for _rp_hw_a in start queue/logical_block_size queue/hw_sector_size size; do
        _rp_hw_attr "pattr $_rp_hw_n $_rp_hw_q" "$_rp_hw_p" "$_rp_hw_a"
      done
      _rp_hw_holders "phold $_rp_hw_n $_rp_hw_q" "$_rp_hw_p"
    done
  done
  return 0
}
_rp_hw_prefix() { while IFS= read -r _rp_hw_l; do printf 'hw.%s %s\n' "$1" "$_rp_hw_l"; done; }
_rp_hw_stat() {
  _rp_hw_k=$1
  shift
  while IFS= read -r _rp_hw_l; do
    case $_rp_hw_l in "hw.@$_rp_hw_k "*) set -- "$@" "${_rp_hw_l#hw.@? }" ;; esac
  done <<_RP_HW_EOF
$_rp_hw_paths
_RP_HW_EOF
  [ $# -gt 0 ] || return 0
  if [ "$_rp_hw_k" = L ]; then
    stat -f -c 'hw.df %a %b %c %d %S %s %n' "$@" 2>/dev/null
  elif command -v timeout >/dev/null 2>&1; then
    timeout 10 stat -f -c 'hw.df %a %b %c %d %S %s %n' "$@" 2>/dev/null
    [ $? -lt 124 ] || echo hw.dftimeout
  else
    echo hw.dftimeout
  fi
  return 0
}
_rp_hw_mtab=/proc/mounts
[ -e /etc/mtab ] && _rp_hw_mtab=/etc/mtab
_rp_hw_fm=
command -v findmnt >/dev/null 2>&1 && _rp_hw_fm=1
{ _rp_hw_paths=$({ ls -ld /sys/block/* /dev/disk/by-id/* /dev/disk/by-uuid/* /dev/disk/by-label/*
  if command -v lspci >/dev/null; then echo '#pci'; lspci -D; fi; } 2>/dev/null | awk -v mtab="$_rp_hw_mtab" -v findmnt="$_rp_hw_fm" '
function trim(s) { sub(/^[ \t\r\n]+/, "", s); sub(/[ \t\r\n]+$/, "", s); return s }
function unesc(s,   n, a, i, r) {
  gsub(/\\040/, " ", s); gsub(/\\011/, "\t", s); gsub(/\\012/, "\n", s)
  n = split(s, a, /\\134/); r = a[1]
  for (i = 2; i <= n; i++) r = r "\\" a[i]
  return r
}
function head(s) { print "hw.@" s > "/dev/stderr" }
BEGIN {
  n = split("model name|Processor|vendor_id|cpu|Vendor|processor|physical id|core id|cpu cores|siblings|# processors|max thread id|ncpus active|machine", t, "|")
  for (i = 1; i <= n; i++) cpukey[t[i]] = 1
  n = split("MemTotal MemFree SwapTotal SwapFree Buffers Cached SwapCached", t, " ")
  for (i = 1; i <= n; i++) memkey[t[i]] = 1
  f = "/proc/cpuinfo"; r = (getline l < f)
  if (r >= 0) print "hw.cpuinfo"
  for (; r > 0; r = (getline l < f)) {
    i = index(l, ":"); k = trim(i ? substr(l, 1, i - 1) : l)
    if (k == "flags") { v = i ? trim(substr(l, i + 1)) : ""; flags = v; fl = 1; if (!index(v, "vme")) novme = 1 }
    else if (k in cpukey) print "hw.cpu " l
    if (k == "vendor_id" && index(l, "IBM/S390")) head("s390")
  }
  close(f)
  if (fl) print "hw.flags " flags
  if (novme) print "hw.novme"
  f = "/proc/meminfo"; r = (getline l < f)
  if (r >= 0) print "hw.meminfo"
  for (; r > 0; r = (getline l < f)) {
    i = index(l, ":"); k = substr(l, 1, i - 1)
    if (i && (k in memkey)) { split(substr(l, i + 1), t, " "); print "hw.mem " k " " t[1] }
  }
  close(f)
  f = "/proc/self/status"
  while ((getline l < f) > 0) {
    if (l ~ /^Cpus_allowed_list:/) print "hw.affinity " trim(substr(l, 19))
    else if (l ~ /^Uid:/) { split(l, t, " "); print "hw.uid " t[2]; head("uid " t[2]) }
    else if (l ~ /^VxID:/) print "hw.vxid " l
  }
  close(f)
  f = "/proc/1/cgroup"
  while ((getline l < f) > 0) print "hw.cgroup1 " l
  close(f)
  f = "/proc/1/environ"; n = 0
  while ((getline l < f) > 0) t[++n] = l
  close(f)
  if (n && length("\0") == 1) { env = t[1]; for (i = 2; i <= n; i++) env = env "\n" t[i]; n = split(env, t, "\0") }
  for (i = 1; i <= n; i++) {
    w = (index(t[i], "container=lxc") ? " lxc" : "") (index(t[i], "container=podman") ? " podman" : "") (t[i] ~ /^container=./ ? " container" : "")
    if (w != "") print "hw.env1" w
  }
  f = "/proc/xen/capabilities"
  while ((getline l < f) > 0) if (index(l, "control_d")) print "hw.xencap"
  close(f)
  f = "/proc/modules"
  while ((getline l < f) > 0) { split(l, t, " "); if (t[1] == "kvm" || t[1] == "vboxdrv" || t[1] == "virtio") print "hw.mod " t[1] }
  close(f)
  while (findmnt && (getline l < "/proc/self/mountinfo") > 0) { split(l, t, " "); if (t[4] != "/") print "hw.bind " t[5] }
  f = mtab
  while ((getline l < f) > 0) {
    n = split(l, t, " "); c = substr(t[1], 1, 1)
    if (n < 4 || t[3] == "none" || (c != "/" && c != "\\" && !index(t[1], ":/"))) continue
    print "hw.mnt " l
    m = unesc(t[2])
    if (index(m, "\n") || (m in seen)) continue
    seen[m] = 1
    net = index(t[1], ":") || substr(t[1], 1, 2) == "//" || t[3] ~ /^(nfs|cifs|smb|ceph|gluster|fuse|9p|afs|lustre|davfs|sshfs)/
    head((net ? "N " : "L ") m)
  }
  close(f)
}
$0 == "#pci" { pci = 1; next }
pci { if ($1 in pciwant) print "hw.pci " $0; next }
{
  i = index($0, " -> "); if (!i) next
  n = split(substr($0, 1, i - 1), t, " "); p = t[n]; v = substr($0, i + 4)
  print "hw.link " p " " v
  if (substr(p, 1, 11) != "/sys/block/") next
  n = split(v, t, "/")
  for (j = 1; j <= n; j++) if (t[j] ~ /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f][.][0-7]$/) pciwant[t[j]] = 1
}' 2>&1 >&3); } 3>&1
_rp_hw_paths="
$_rp_hw_paths
"
_rp_hw_stat L
case $_rp_hw_paths in *'
hw.@N '*) _rp_hw_stat N ;; esac
_rp_hw_block
for _rp_hw_a in vz:/proc/vz lve:/proc/lve bc:/proc/bc xen:/proc/xen dockerenv:/.dockerenv dockerinit:/.dockerinit kvmdev:/dev/kvm; do
  [ -e "${_rp_hw_a#*:}" ] && printf 'hw.exists %s\n' "${_rp_hw_a%%:*}"
done
[ -d /rhev/ ] && for _rp_hw_a in /proc/[0-9]*/comm; do
  read -r _rp_hw_v 2>/dev/null <"$_rp_hw_a" || continue
  case $_rp_hw_v in vdsm|vdsmd) echo hw.vdsm; break ;; esac
done
if [ -e /proc/xen ]; then echo hw.xen; else
  _rp_hw_v=; read -r _rp_hw_v 2>/dev/null </sys/hypervisor/type; [ "$_rp_hw_v" = xen ] && echo hw.xen
fi
_rp_hw_attr sdcontainer /run/systemd container
for _rp_hw_a in product_name sys_vendor product_family bios_vendor; do
  _rp_hw_attr dmi /sys/devices/virtual/dmi/id "$_rp_hw_a"
done
command -v dmidecode >/dev/null 2>&1 && echo hw.dmidecode
case $_rp_hw_paths in *'
hw.@s390
'*)
  if command -v lscpu >/dev/null 2>&1; then echo hw.lscpu; lscpu 2>/dev/null | _rp_hw_prefix lscpuline; fi ;;
esac
case $_rp_hw_paths in *'
hw.@uid 0
'*)
  if command -v vgs >/dev/null 2>&1; then
    echo hw.lvm
    vgs --noheadings --nosuffix --units g --separator , 2>/dev/null | _rp_hw_prefix vgs
    command -v lvs >/dev/null 2>&1 && lvs --noheadings --nosuffix --units g --separator , 2>/dev/null | _rp_hw_prefix lvs
    command -v pvs >/dev/null 2>&1 && pvs --noheadings --nosuffix --units g --separator , 2>/dev/null | _rp_hw_prefix pvs
  fi ;;
esac
:
"##;

/// Adds this part's facts, read from the snippet's output `out`.
pub fn parse(out: &str, facts: &mut Map<String, Value>) {
    let hw = Lines::new(out);
    cpu::add(&hw, facts);
    memory::add(&hw, facts);
    mounts::add(&hw, facts);
    virt::add(&hw, facts);
    devices::add(&hw, facts);
    lvm::add(&hw, facts);
}

/// This part's lines of the snippet's output, in order: the tag after `hw.`
/// and the rest of the line after one space (empty for a bare tag).
struct Lines<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Lines<'a> {
    fn new(out: &'a str) -> Self {
        Self(
            out.lines()
                .filter_map(|l| l.strip_prefix("hw."))
                .map(|l| l.split_once(' ').unwrap_or((l, "")))
                .collect(),
        )
    }

    /// The rest of every line tagged `tag`.
    fn all<'s>(&'s self, tag: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.0
            .iter()
            .filter(move |(t, _)| *t == tag)
            .map(|(_, r)| *r)
    }

    /// The rest of the first line tagged `tag`.
    fn first(&self, tag: &str) -> Option<&'a str> {
        self.all(tag).next()
    }

    /// Whether a line is tagged `tag`.
    fn has(&self, tag: &str) -> bool {
        self.first(tag).is_some()
    }
}

/// Undoes the mount table's escapes as Ansible does (any `\` and three
/// octal digits is that code point: `\040` a space, `\134` a backslash).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .and_then(|d| u32::from_str_radix(d, 8).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `round()` of a quotient of ints: halves go to the even integer.
fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_by_tag() {
        let hw = Lines::new("x=1\nhw.a 1 2\nhw.b\nhw.a 3\nenv.hw.a=4\n");
        assert_eq!(hw.all("a").collect::<Vec<_>>(), ["1 2", "3"]);
        assert!(hw.has("b"));
        assert_eq!(hw.first("b"), Some(""));
        assert!(!hw.has("c"));
    }

    #[test]
    fn unescapes_as_ansible() {
        assert_eq!(unescape(r"/mnt/a\040b\011c"), "/mnt/a b\tc");
        assert_eq!(unescape(r"\134040"), r"\040");
        assert_eq!(unescape(r"a\9b\"), r"a\9b\");
        assert_eq!(unescape(r"x\0"), r"x\0");
    }

    #[test]
    fn rounds_as_python() {
        assert_eq!(py_round(0.5), 0);
        assert_eq!(py_round(1.5), 2);
        assert_eq!(py_round(2.5), 2);
        assert_eq!(py_round(2.0 / 3.0), 1);
    }

    /// The snippet on this machine: runs under dash, prints nothing on
    /// stderr, and gives the facts every Linux host has.
    #[test]
    fn script_runs_here() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().all(|l| l.starts_with("hw.")), "{text}");
        let mut facts = Map::new();
        facts.insert("architecture".into(), std::env::consts::ARCH.into());
        parse(&text, &mut facts);
        for key in [
            "processor",
            "processor_count",
            "processor_nproc",
            "memory_mb",
            "mounts",
            "virtualization_role",
            "devices",
            "lvm",
        ] {
            assert!(facts.contains_key(key), "{key} missing in {facts:?}");
        }
        assert!(facts["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mount"] == "/" && m["size_total"].is_u64()));
    }
}
