//! Facts about the system itself, as ansible-core's `setup` names and shapes
//! them (`module_utils/facts/system/*.py`, the DMI and uptime parts of
//! `hardware/linux.py`, `network/{iscsi,nvme,fc_wwn}.py`): `date_time`, the
//! user's ids and gecos, `uptime_seconds` and `loadavg`, `dns` and `domain`,
//! `kernel_version`, `machine_id`, `cmdline` and `proc_cmdline`, the
//! userspace's bits and architecture, `fips`, `is_chroot`, SELinux and
//! AppArmor, the ssh host keys, the distribution file
//! (`distribution_file_*`, `distribution_minor_version`), DMI (vendor,
//! product, BIOS, board, chassis, `form_factor`), and the fixed ones
//! (`gather_subset`, `module_setup`, `hostnqn`, `iscsi_iqn`,
//! `fibre_channel_wwn`).
//!
//! The snippet runs one process on most hosts: one `date` prints the clock
//! three times (now, and on 1 January and 2 July, from which Python derives
//! `time.tzname`, hence `tz_dst`). Everything else is read with shell
//! builtins: each file Ansible reads is printed whole, line by line, as
//! `sys.file:PATH=LINE`, after a `sys.has:PATH=1` (`0` when empty) that says
//! it is a regular file, so the parser can tell a missing file from an empty
//! or unreadable one and apply Ansible's own rules to the content. Where
//! `/proc/1/root` cannot be read (a user that is not root), `is_chroot` needs
//! the inode of `/`: one `ls -di /` more, as Ansible runs `stat` there.
//! Rare fallbacks cost a process each: `getent passwd` for a user that is
//! not in /etc/passwd, `uname -v` without /proc/sys/kernel/version,
//! `getconf LONG_BIT` without /proc/self/maps, a plain `date` where it takes
//! no `-f` (busybox), `id` without /proc.
//!
//! Differences from ansible-core, on purpose:
//! - `userspace_bits` is the shell's, told from the top of its address
//!   space in /proc/self/maps (a 64-bit process maps its stack above 4 GiB);
//!   Ansible's is its Python's, read by `file` from the interpreter. Both
//!   are the userland's bits, unless the host mixes 32- and 64-bit ones.
//! - `tz_dst` is the zone's name on 1 January and 2 July of this year
//!   (whichever is further east); Python takes the same two dates, give or
//!   take a day (it counts years of 365.25 days from 1970). Without GNU
//!   `date -f` (busybox), `tz_dst` is `tz`, and `iso8601_micro` has
//!   `.000000` if that `date` knows no `%N`.
//! - `selinux_python_present` says whether `libselinux.so.1` is in one of
//!   the usual library directories, where Ansible asks `dlopen`; SELinux is
//!   `enabled` when selinuxfs is mounted on /sys/fs/selinux or /selinux and
//!   /etc/selinux/config exists (libselinux's own test).
//! - DMI without /sys/devices/virtual/dmi/id: every key is `NA`; Ansible
//!   would run `dmidecode` 18 times there (and get `NA` too unless root).
//! - `is_chroot` where `/proc/1/root` is unreadable compares the inode of
//!   `/` with 2 (256 on btrfs, 128 on xfs) as Ansible does, but takes the
//!   file system's type from /proc/mounts instead of `stat -f`.
//! - a distribution file that exists but cannot be read, or holds only
//!   blanks, makes Ansible's collector fail; here it is skipped.

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

/// Prints the `sys.` lines described in the module's doc, in a group whose
/// errors go nowhere (a missing file, a `date` without `-f`).
pub const SCRIPT: &str = r#"{
_rp_sys_cat() {
  [ -f "$1" ] || return 0
  if [ -s "$1" ]; then printf 'sys.has:%s=1\n' "$1"; else printf 'sys.has:%s=0\n' "$1"; fi
  [ -r "$1" ] || return 0
  while IFS= read -r _rp_l || [ -n "$_rp_l" ]; do printf 'sys.file:%s=%s\n' "$1" "$_rp_l"; done <"$1"
}
LC_ALL=C date -f - '+sys.date=%Y %m %d %H %M %S %s %N %w %W %z %A %Z' <<'_RP_SYS' || LC_ALL=C date '+sys.datenow=%Y %m %d %H %M %S %s %N %w %W %z %A %Z'
now
jan 1
jul 2
_RP_SYS
_rp_sys_ruid=
if [ -r /proc/$$/status ]; then
  while read -r _rp_k _rp_r _rp_e _rp_l; do
    case $_rp_k in
      Uid:) _rp_sys_ruid=$_rp_r; printf 'sys.uid=%s %s\n' "$_rp_r" "$_rp_e" ;;
      Gid:) printf 'sys.gid=%s %s\n' "$_rp_r" "$_rp_e" ;;
    esac
  done </proc/$$/status
else
  _rp_sys_ruid=$(id -ru)
  printf 'sys.uid=%s %s\nsys.gid=%s %s\n' "$_rp_sys_ruid" "$(id -u)" "$(id -rg)" "$(id -g)"
fi
_rp_sys_gecos() {
  _rp_n=${LOGNAME:-${USER:-${LNAME:-${USERNAME:-}}}}
  _rp_sys_byuid=
  if [ -r /etc/passwd ]; then
    while IFS=: read -r _rp_k _rp_p _rp_r _rp_e _rp_g _rp_l; do
      if [ -n "$_rp_n" ] && [ "$_rp_k" = "$_rp_n" ]; then printf 'sys.gecos=%s\n' "$_rp_g"; return; fi
      [ -z "$_rp_sys_byuid" ] && [ "$_rp_r" = "$_rp_sys_ruid" ] && _rp_sys_byuid=x$_rp_g
    done </etc/passwd
  fi
  if [ -n "$_rp_n" ] && _rp_l=$(getent passwd "$_rp_n"); then :
  elif [ -n "$_rp_sys_byuid" ]; then printf 'sys.gecos=%s\n' "${_rp_sys_byuid#x}"; return
  elif _rp_l=$(getent passwd "$_rp_sys_ruid"); then :
  else return
  fi
  _rp_l=${_rp_l#*:*:*:*:}
  printf 'sys.gecos=%s\n' "${_rp_l%%:*}"
}
_rp_sys_gecos
for _rp_f in /proc/uptime /proc/loadavg /etc/resolv.conf /proc/sys/kernel/version \
  /var/lib/dbus/machine-id /etc/machine-id /proc/cmdline /proc/sys/crypto/fips_enabled \
  /etc/iscsi/initiatorname.iscsi /etc/nvme/hostnqn /sys/class/fc_host/*/port_name /proc/sysinfo \
  /etc/altlinux-release /etc/oracle-release /etc/slackware-version /etc/centos-release \
  /etc/redhat-release /etc/vmware-release /etc/openwrt_release /etc/os-release \
  /etc/system-release /etc/alpine-release /etc/arch-release /etc/SuSE-release \
  /etc/gentoo-release /etc/lsb-release /etc/sourcemage-release /usr/lib/os-release \
  /etc/coreos/update.conf /etc/debian_version; do
  _rp_sys_cat "$_rp_f"
done
[ -r /proc/sys/kernel/version ] || printf 'sys.uname_v=%s\n' "$(uname -v)"
for _rp_f in /etc/ssh /etc/openssh /etc; do
  for _rp_k in dsa rsa ecdsa ed25519; do _rp_sys_cat "$_rp_f/ssh_host_${_rp_k}_key.pub"; done
done
if [ -e /sys/devices/virtual/dmi/id/product_name ]; then
  printf 'sys.dmi=1\n'
  for _rp_k in bios_date bios_vendor bios_version board_asset_tag board_name board_serial \
    board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version \
    chassis_type product_name product_serial product_uuid product_version sys_vendor; do
    _rp_sys_cat "/sys/devices/virtual/dmi/id/$_rp_k"
  done
fi
_rp_sys_top=
while read -r _rp_k _rp_l; do _rp_sys_top=$_rp_k; done </proc/$$/maps
if [ -n "$_rp_sys_top" ]; then printf 'sys.maps_top=%s\n' "$_rp_sys_top"; else printf 'sys.long_bit=%s\n' "$(getconf LONG_BIT)"; fi
if [ -n "${debian_chroot:-}" ]; then printf 'sys.chroot=1\n'
elif [ -e /proc/1/root/. ]; then
  if [ / -ef /proc/1/root/. ]; then printf 'sys.chroot=0\n'; else printf 'sys.chroot=1\n'; fi
else
  printf 'sys.root_ino=%s\n' "$(ls -di /)"
  _rp_sys_fs=
  while read -r _rp_k _rp_r _rp_e _rp_l; do [ "$_rp_r" != / ] || _rp_sys_fs=$_rp_e; done </proc/mounts
  printf 'sys.root_fs=%s\n' "$_rp_sys_fs"
fi
[ -e /sys/kernel/security/apparmor ] && printf 'sys.apparmor=1\n'
for _rp_f in /lib64 /usr/lib64 /lib /usr/lib /lib/*-linux-* /usr/lib/*-linux-* /usr/local/lib; do
  [ -e "$_rp_f/libselinux.so.1" ] || continue
  printf 'sys.selinux_lib=1\n'
  for _rp_k in /sys/fs/selinux /selinux; do
    [ -e "$_rp_k/enforce" ] || continue
    printf 'sys.selinux_mnt=%s\n' "$_rp_k"
    _rp_sys_cat "$_rp_k/enforce"
    _rp_sys_cat "$_rp_k/policyvers"
    _rp_sys_cat /etc/selinux/config
    break
  done
  break
done
true
} </dev/null 2>/dev/null
"#;

/// Adds this part's facts, read from the snippet's output `out`. Reads the
/// base part's `machine` (for `userspace_architecture`) and `fqdn` (for
/// `domain`), so it runs after it.
pub fn parse(out: &str, facts: &mut Map<String, Value>) {
    let raw = Raw::read(out);
    let text = |key: &str| facts.get(key).and_then(Value::as_str).unwrap_or("");
    let machine = text("machine").to_string();
    let domain = domain(text("fqdn"));
    let mut new = Map::new();
    if let Some(clock) = date_time(&raw) {
        new.insert("date_time".into(), clock);
    }
    user(&raw, &mut new);
    uptime_and_load(&raw, &mut new);
    new.insert(
        "dns".into(),
        dns(&raw.content("/etc/resolv.conf").unwrap_or_default()),
    );
    new.insert("domain".into(), domain.into());
    platform(&raw, &machine, &mut new);
    cmdline(&raw, &mut new);
    new.insert(
        "fips".into(),
        (raw.content("/proc/sys/crypto/fips_enabled").as_deref() == Some("1")).into(),
    );
    new.insert("is_chroot".into(), is_chroot(&raw).into());
    selinux(&raw, &mut new);
    let apparmor = if raw.flag("apparmor") {
        "enabled"
    } else {
        "disabled"
    };
    new.insert("apparmor".into(), json!({ "status": apparmor }));
    ssh_host_keys(&raw, &mut new);
    distribution_file(&raw, &mut new);
    dmi(&raw, &mut new);
    storage_initiators(&raw, &mut new);
    new.insert("gather_subset".into(), json!(["all"]));
    new.insert("module_setup".into(), true.into());
    facts.extend(new);
}

/// A file the snippet printed: whether it is not empty (its size, as
/// Ansible's `_file_exists` asks) and its lines (none when unreadable).
#[derive(Default)]
struct File<'a> {
    nonempty: bool,
    lines: Vec<&'a str>,
}

/// The snippet's `sys.` lines, sorted by what they say.
#[derive(Default)]
struct Raw<'a> {
    /// `sys.KEY=VALUE` lines other than files, each key's values in order.
    values: IndexMap<&'a str, Vec<&'a str>>,
    /// Files by path, in the order printed (the glob's for `fc_host`).
    files: IndexMap<&'a str, File<'a>>,
}

impl<'a> Raw<'a> {
    fn read(out: &'a str) -> Self {
        let mut raw = Raw::default();
        for line in out.lines() {
            let Some((key, value)) = line.strip_prefix("sys.").and_then(|l| l.split_once('='))
            else {
                continue;
            };
            if let Some(path) = key.strip_prefix("has:") {
                raw.files.entry(path).or_default().nonempty = value == "1";
            } else if let Some(path) = key.strip_prefix("file:") {
                raw.files.entry(path).or_default().lines.push(value);
            } else {
                raw.values.entry(key).or_default().push(value);
            }
        }
        raw
    }

    /// The first value of `key`.
    fn value(&self, key: &str) -> Option<&'a str> {
        self.values.get(key).and_then(|v| v.first()).copied()
    }

    /// All values of `key`.
    fn all(&self, key: &str) -> &[&'a str] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    fn flag(&self, key: &str) -> bool {
        self.value(key) == Some("1")
    }

    /// Ansible's `get_file_content(path)`: the content without surrounding
    /// whitespace, None when missing, unreadable or blank.
    fn content(&self, path: &str) -> Option<String> {
        let file = self.files.get(path)?;
        let text = file.lines.join("\n");
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

/// `domain`: what follows the first dot of `fqdn` (Ansible's platform
/// collector derives it so).
fn domain(fqdn: &str) -> String {
    fqdn.split_once('.')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

/// One line of `date`: `%Y %m %d %H %M %S %s %N %w %W %z %A %Z`.
struct Clock<'a> {
    year: &'a str,
    month: &'a str,
    day: &'a str,
    hour: &'a str,
    minute: &'a str,
    second: &'a str,
    epoch: &'a str,
    nanos: &'a str,
    weekday_number: &'a str,
    weeknumber: &'a str,
    offset: &'a str,
    weekday: &'a str,
    zone: &'a str,
}

impl<'a> Clock<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let mut f = line.splitn(13, ' ');
        Some(Clock {
            year: f.next()?,
            month: f.next()?,
            day: f.next()?,
            hour: f.next()?,
            minute: f.next()?,
            second: f.next()?,
            epoch: f.next()?,
            nanos: f.next()?,
            weekday_number: f.next()?,
            weeknumber: f.next()?,
            offset: f.next()?,
            weekday: f.next()?,
            zone: f.next()?,
        })
    }

    /// `%z` in seconds east of UTC.
    fn offset_seconds(&self) -> Option<i64> {
        let (sign, digits) = match self.offset.split_at_checked(1)? {
            ("+", d) => (1, d),
            ("-", d) => (-1, d),
            _ => return None,
        };
        let hours: i64 = digits.get(..2)?.parse().ok()?;
        let minutes: i64 = digits.get(2..4)?.parse().ok()?;
        Some(sign * (hours * 3600 + minutes * 60))
    }

    /// Python's `%f`: the microseconds (zeros where `date` has no `%N`).
    fn micros(&self) -> &'a str {
        match self.nanos.get(..6) {
            Some(m) if m.bytes().all(|b| b.is_ascii_digit()) => m,
            _ => "000000",
        }
    }
}

/// `date_time`, as Ansible's collector fills it: all strings, local time
/// but for `iso8601` and `iso8601_micro` (UTC, computed from the epoch).
fn date_time(raw: &Raw) -> Option<Value> {
    let (now, jan, jul) = match raw.value("datenow") {
        Some(line) => (Clock::parse(line)?, None, None),
        None => {
            let lines = raw.all("date");
            let at = |i: usize| lines.get(i).and_then(|l| Clock::parse(l));
            (at(0)?, at(1), at(2))
        }
    };
    let epoch: i64 = now.epoch.parse().ok()?;
    let micros = now.micros();
    let (y, mo, d, h, mi, s) = utc(epoch);
    let iso = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    let basic = format!(
        "{}{}{}T{}{}{}",
        now.year, now.month, now.day, now.hour, now.minute, now.second
    );
    Some(json!({
        "year": now.year,
        "month": now.month,
        "weekday": now.weekday,
        "weekday_number": now.weekday_number,
        "weeknumber": now.weeknumber,
        "day": now.day,
        "hour": now.hour,
        "minute": now.minute,
        "second": now.second,
        "epoch": now.epoch,
        "epoch_int": epoch.to_string(),
        "date": format!("{}-{}-{}", now.year, now.month, now.day),
        "time": format!("{}:{}:{}", now.hour, now.minute, now.second),
        "iso8601_micro": format!("{iso}.{micros}Z"),
        "iso8601": format!("{iso}Z"),
        "iso8601_basic": format!("{basic}{micros}"),
        "iso8601_basic_short": basic,
        "tz": now.zone,
        "tz_dst": tz_dst(jan.as_ref(), jul.as_ref()).unwrap_or(now.zone),
        "tz_offset": now.offset,
    }))
}

/// Python's `time.tzname[1]` on glibc: the zone's names in January and
/// July, the daylight one being that of the month further east of UTC
/// (January in the southern hemisphere), July's when they are level.
fn tz_dst<'a>(jan: Option<&Clock<'a>>, jul: Option<&Clock<'a>>) -> Option<&'a str> {
    let (jan, jul) = (jan?, jul?);
    if jan.offset_seconds()? > jul.offset_seconds()? {
        Some(jan.zone)
    } else {
        Some(jul.zone)
    }
}

/// The UTC calendar date and time of a Unix `epoch`.
fn utc(epoch: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (year, month, day) = rprov_template::civil_from_days(days);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The user collector's ids (Ansible's `effective_group_id` is the real
/// group id: it calls `os.getgid()` for both) and `user_gecos`.
fn user(raw: &Raw, facts: &mut Map<String, Value>) {
    let ids = |key: &str| -> Vec<u64> {
        raw.value(key)
            .unwrap_or("")
            .split_whitespace()
            .map_while(|n| n.parse().ok())
            .collect()
    };
    let (uid, gid) = (ids("uid"), ids("gid"));
    if let Some(gecos) = raw.value("gecos") {
        facts.insert("user_gecos".into(), gecos.into());
    }
    if let [real, effective, ..] = uid[..] {
        facts.insert("real_user_id".into(), real.into());
        facts.insert("effective_user_id".into(), effective.into());
    }
    if let Some(&real) = gid.first() {
        facts.insert("real_group_id".into(), real.into());
        facts.insert("effective_group_id".into(), real.into());
    }
}

/// `uptime_seconds` (an int, from the float in /proc/uptime) and `loadavg`
/// (floats, as `os.getloadavg()` reads them from /proc/loadavg).
fn uptime_and_load(raw: &Raw, facts: &mut Map<String, Value>) {
    let uptime = raw.content("/proc/uptime");
    let seconds = uptime
        .as_deref()
        .and_then(|u| u.split(' ').next())
        .and_then(|s| s.parse::<f64>().ok());
    if let Some(seconds) = seconds {
        // Python's int(float): towards zero.
        facts.insert("uptime_seconds".into(), (seconds.trunc() as i64).into());
    }
    let load = raw.content("/proc/loadavg").unwrap_or_default();
    let loads: Vec<f64> = load
        .split_whitespace()
        .take(3)
        .map_while(|v| v.parse().ok())
        .collect();
    if let [one, five, fifteen] = loads[..] {
        facts.insert(
            "loadavg".into(),
            json!({"1m": one, "5m": five, "15m": fifteen}),
        );
    }
}

/// `dns`, as Ansible's collector reads /etc/resolv.conf: every
/// `nameserver` line adds to `nameservers`, the last `domain`, `search`,
/// `sortlist` and `options` line wins; an option without a value (or with
/// an empty one) is `true`.
fn dns(text: &str) -> Value {
    let mut dns = Map::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (Some(&keyword), rest) = (tokens.first(), tokens.get(1..).unwrap_or_default()) else {
            continue;
        };
        match keyword {
            "nameserver" => {
                let list = dns.entry("nameservers").or_insert_with(|| json!([]));
                if let Value::Array(list) = list {
                    list.extend(rest.iter().map(|n| json!(n)));
                }
            }
            "domain" => {
                if let Some(domain) = rest.first() {
                    dns.insert("domain".into(), json!(domain));
                }
            }
            "search" | "sortlist" => {
                dns.insert(keyword.into(), json!(rest));
            }
            "options" => {
                let options: Map<String, Value> = rest
                    .iter()
                    .map(|o| match o.split_once(':') {
                        Some((k, v)) if !v.is_empty() => (k.to_string(), json!(v)),
                        Some((k, _)) => (k.to_string(), json!(true)),
                        None => (o.to_string(), json!(true)),
                    })
                    .collect();
                dns.insert("options".into(), Value::Object(options));
            }
            _ => {}
        }
    }
    Value::Object(dns)
}

/// The platform collector's `kernel_version` (`uname -v`), `machine_id`
/// (dbus's first, the first line), `userspace_bits` and
/// `userspace_architecture` (on x86 machines only, as Ansible).
fn platform(raw: &Raw, machine: &str, facts: &mut Map<String, Value>) {
    let version = raw
        .content("/proc/sys/kernel/version")
        .or_else(|| raw.value("uname_v").map(str::to_string));
    if let Some(version) = version {
        facts.insert("kernel_version".into(), version.into());
    }
    let machine_id = raw
        .content("/var/lib/dbus/machine-id")
        .or_else(|| raw.content("/etc/machine-id"));
    if let Some(id) = machine_id.as_deref().and_then(|m| m.lines().next()) {
        facts.insert("machine_id".into(), id.into());
    }
    let Some(bits) = userspace_bits(raw) else {
        return;
    };
    let x86 = machine == "x86_64"
        || ["i386", "i486", "i586", "i686", "i86pc"]
            .iter()
            .any(|m| machine.contains(m));
    let arch = match bits {
        "64" => "x86_64",
        _ => "i386",
    };
    facts.insert("userspace_bits".into(), bits.into());
    if x86 && (bits == "64" || bits == "32") {
        facts.insert("userspace_architecture".into(), arch.into());
    }
}

/// "64" when the shell's highest mapping starts above 4 GiB (more than 8
/// hex digits: a 64-bit process's stack always does), "32" otherwise; or
/// what `getconf LONG_BIT` said where there was no /proc.
fn userspace_bits(raw: &Raw) -> Option<&'static str> {
    if let Some(top) = raw.value("maps_top") {
        let start = top.split('-').next().unwrap_or("");
        return (!start.is_empty()).then_some(if start.len() > 8 { "64" } else { "32" });
    }
    match raw.value("long_bit")?.trim() {
        "64" => Some("64"),
        "32" => Some("32"),
        _ => None,
    }
}

/// `cmdline` (the last value of a repeated key) and `proc_cmdline` (a
/// repeated `key=value` makes a list), from the words of /proc/cmdline as
/// Python's non-POSIX `shlex.split` cuts them; an unclosed quote gives
/// empty dicts, as Ansible's collector catches the error.
fn cmdline(raw: &Raw, facts: &mut Map<String, Value>) {
    let Some(data) = raw.content("/proc/cmdline") else {
        return;
    };
    let words = split_non_posix(&data).unwrap_or_default();
    let mut last = Map::new();
    let mut all = Map::new();
    for word in &words {
        let Some((key, value)) = word.split_once('=') else {
            last.insert(word.clone(), true.into());
            all.insert(word.clone(), true.into());
            continue;
        };
        last.insert(key.into(), value.into());
        match all.get_mut(key) {
            Some(Value::Array(list)) => list.push(value.into()),
            Some(before) => *before = json!([before.clone(), value]),
            None => {
                all.insert(key.into(), value.into());
            }
        }
    }
    facts.insert("cmdline".into(), Value::Object(last));
    facts.insert("proc_cmdline".into(), Value::Object(all));
}

/// Python's `shlex.split(data, posix=False)`: words split on whitespace, a
/// word that starts with a quote ends at the closing quote (quotes kept),
/// quotes inside a word are plain characters. None where Python raises
/// "No closing quotation".
fn split_non_posix(data: &str) -> Option<Vec<String>> {
    enum State {
        Space,
        Word,
        Quote(char),
    }
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Space;
    let mut chars = data.chars();
    loop {
        let c = chars.next();
        match (&state, c) {
            (State::Space, None) => break,
            (State::Space, Some(c)) if is_space(c) => {}
            (State::Space, Some(c)) => {
                word.push(c);
                state = if c == '"' || c == '\'' {
                    State::Quote(c)
                } else {
                    State::Word
                };
            }
            (State::Quote(_), None) => return None,
            (State::Quote(q), Some(c)) => {
                let closes = c == *q;
                word.push(c);
                if closes {
                    words.push(std::mem::take(&mut word));
                    state = State::Space;
                }
            }
            (State::Word, None) => {
                words.push(word);
                break;
            }
            (State::Word, Some(c)) if is_space(c) => {
                words.push(std::mem::take(&mut word));
                state = State::Space;
            }
            (State::Word, Some(c)) => word.push(c),
        }
    }
    Some(words)
}

/// The chroot collector: `debian_chroot` set, or `/` is not PID 1's root;
/// where that cannot be read, `/` is not the file system's root inode.
fn is_chroot(raw: &Raw) -> bool {
    if let Some(flag) = raw.value("chroot") {
        return flag == "1";
    }
    let inode = raw
        .value("root_ino")
        .and_then(|l| l.split_whitespace().next())
        .and_then(|i| i.parse::<u64>().ok());
    let Some(inode) = inode else {
        return false;
    };
    let fs = raw.value("root_fs").unwrap_or("");
    let root = if fs.contains("btrfs") {
        256
    } else if fs.contains("xfs") {
        128
    } else {
        2
    };
    inode != root
}

/// `selinux` and `selinux_python_present`, as the collector fills them
/// through libselinux.
fn selinux(raw: &Raw, facts: &mut Map<String, Value>) {
    if !raw.flag("selinux_lib") {
        facts.insert(
            "selinux".into(),
            json!({"status": "Missing selinux Python library"}),
        );
        facts.insert("selinux_python_present".into(), false.into());
        return;
    }
    facts.insert("selinux_python_present".into(), true.into());
    let config = raw.content("/etc/selinux/config");
    let enabled = raw.files.contains_key("/etc/selinux/config");
    let Some(mnt) = raw.value("selinux_mnt").filter(|_| enabled) else {
        facts.insert("selinux".into(), json!({"status": "disabled"}));
        return;
    };
    let config = config.unwrap_or_default();
    let policyvers = raw
        .content(&format!("{mnt}/policyvers"))
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(json!("unknown"), Value::from);
    let mode = |n: Option<i64>| match n {
        Some(1) => "enforcing",
        Some(0) => "permissive",
        Some(-1) => "disabled",
        _ => "unknown",
    };
    // security_getenforce: -1 when the file cannot be read.
    let enforce = raw
        .content(&format!("{mnt}/enforce"))
        .map_or(Some(-1), |v| v.parse().ok());
    facts.insert(
        "selinux".into(),
        json!({
            "status": "enabled",
            "policyvers": policyvers,
            "config_mode": mode(config_mode(&config)),
            "mode": mode(enforce),
            "type": policy_type(&config),
        }),
    );
}

/// libselinux's `selinux_getenforcemode`: the first `SELINUX=` line whose
/// value starts (in any case) with enforcing, permissive or disabled.
fn config_mode(config: &str) -> Option<i64> {
    config.lines().find_map(|line| {
        let value = line.strip_prefix("SELINUX=")?.to_ascii_lowercase();
        [("enforcing", 1), ("permissive", 0), ("disabled", -1)]
            .iter()
            .find(|(word, _)| value.starts_with(word))
            .map(|(_, n)| *n)
    })
}

/// libselinux's `selinux_getpolicytype`: the last `SELINUXTYPE=` (any case,
/// after leading blanks), "targeted" without one.
fn policy_type(config: &str) -> String {
    let mut kind = "targeted".to_string();
    for line in config.lines() {
        let line = line.trim_start();
        if line.len() >= 12 && line[..12].eq_ignore_ascii_case("SELINUXTYPE=") {
            kind = line[12..].trim_end().to_string();
        }
    }
    kind
}

/// `ssh_host_key_ALGO_public` and `..._keytype`, from the first of
/// /etc/ssh, /etc/openssh and /etc with keys, walked as Ansible walks them
/// (it stops at the first algorithm already found, so a later directory
/// can still add the algorithms listed before it).
fn ssh_host_keys(raw: &Raw, facts: &mut Map<String, Value>) {
    let mut found = Map::new();
    'dirs: for dir in ["/etc/ssh", "/etc/openssh", "/etc"] {
        for algo in ["dsa", "rsa", "ecdsa", "ed25519"] {
            let name = format!("ssh_host_key_{algo}_public");
            if found.contains_key(&name) {
                break 'dirs;
            }
            let Some(data) = raw.content(&format!("{dir}/ssh_host_{algo}_key.pub")) else {
                continue;
            };
            let mut words = data.split_whitespace();
            if let (Some(kind), Some(key)) = (words.next(), words.next()) {
                found.insert(name.clone(), key.into());
                found.insert(format!("{name}_keytype"), kind.into());
            }
        }
    }
    facts.extend(found);
}

/// Ansible's `OSDIST_LIST`: the files it tries, in order, with the name
/// each would mean and whether an empty one is enough.
const DIST_FILES: &[(&str, &str, bool)] = &[
    ("/etc/altlinux-release", "Altlinux", false),
    ("/etc/oracle-release", "OracleLinux", false),
    ("/etc/slackware-version", "Slackware", false),
    ("/etc/centos-release", "CentOS", false),
    ("/etc/redhat-release", "RedHat", false),
    ("/etc/vmware-release", "VMwareESX", true),
    ("/etc/openwrt_release", "OpenWrt", false),
    ("/etc/os-release", "Amazon", false),
    ("/etc/system-release", "Amazon", false),
    ("/etc/alpine-release", "Alpine", false),
    ("/etc/arch-release", "Archlinux", true),
    ("/etc/os-release", "Archlinux", false),
    ("/etc/os-release", "SUSE", false),
    ("/etc/SuSE-release", "SUSE", false),
    ("/etc/gentoo-release", "Gentoo", false),
    ("/etc/os-release", "Debian", false),
    ("/etc/lsb-release", "Debian", false),
    ("/etc/lsb-release", "Mandriva", false),
    ("/etc/sourcemage-release", "SMGL", false),
    ("/usr/lib/os-release", "ClearLinux", false),
    ("/etc/coreos/update.conf", "Coreos", false),
    ("/etc/os-release", "Flatcar", false),
    ("/etc/os-release", "NA", false),
];

/// `distribution_file_path`, `distribution_file_variety`,
/// `distribution_file_parsed` and `distribution_minor_version`: the first
/// file of [`DIST_FILES`] that exists (not empty unless allowed) and that
/// its name's parser accepts; an allowed empty one stops the walk without
/// `distribution_file_parsed`, as in Ansible.
fn distribution_file(raw: &Raw, facts: &mut Map<String, Value>) {
    let id = os_release_id(raw);
    for &(path, name, allow_empty) in DIST_FILES {
        let Some(file) = raw.files.get(path) else {
            continue;
        };
        if allow_empty {
            facts.insert("distribution_file_path".into(), path.into());
            facts.insert("distribution_file_variety".into(), name.into());
            return;
        }
        if !file.nonempty {
            continue;
        }
        let Some(content) = raw.content(path) else {
            continue;
        };
        let data = content.trim_matches(['\'', '"', '\\']);
        let Some(minor) = parse_dist_file(raw, name, path, data, &id) else {
            continue;
        };
        facts.insert("distribution_file_path".into(), path.into());
        facts.insert("distribution_file_variety".into(), name.into());
        facts.insert("distribution_file_parsed".into(), true.into());
        if let Some(minor) = minor {
            facts.insert("distribution_minor_version".into(), minor.into());
        }
        return;
    }
}

/// Whether Ansible's parser for `name` takes the file (Some), with the
/// minor version it finds (Debian's from /etc/debian_version, Amazon's from
/// os-release's `VERSION_ID`).
fn parse_dist_file(
    raw: &Raw,
    name: &str,
    path: &str,
    data: &str,
    id: &str,
) -> Option<Option<String>> {
    let has = |s: &str| data.contains(s);
    let accepted = match name {
        // Names with a search string: taken whatever the content.
        "Altlinux" | "OracleLinux" | "RedHat" | "SMGL" | "Alpine" | "NA" => true,
        "Archlinux" => has("Arch Linux"),
        "Slackware" => has("Slackware"),
        "CentOS" => has("CentOS Stream") || has("TencentOS Server"),
        "OpenWrt" => has("OpenWrt"),
        "Mandriva" => has("Mandriva"),
        "SUSE" => data.to_lowercase().contains("suse"),
        "Coreos" => id == "coreos" && !data.is_empty(),
        "Flatcar" => id == "flatcar" && !data.is_empty(),
        "ClearLinux" => quoted_after(data, "NAME=\"").is_none_or(|n| n.contains("Clear Linux")),
        "Amazon" if has("Amazon") => {
            if path != "/etc/os-release" {
                return Some(None);
            }
            let version = quoted_after(data, "VERSION_ID=\"");
            let parts: Vec<&str> = version.map(|v| v.split('.').collect()).unwrap_or_default();
            return Some(match parts[..] {
                [_] => Some("NA".to_string()),
                [_, minor] => Some(minor.to_string()),
                _ => None,
            });
        }
        "Debian" if has("Debian") || has("Raspbian") => {
            let versions = raw.content("/etc/debian_version").unwrap_or_default();
            return Some(versions.lines().rev().find_map(|l| minor_of(l.trim())));
        }
        "Debian" => [
            "Ubuntu", "SteamOS", "Kali", "Parrot", "Devuan", "Cumulus", "Mint", "UOS", "Uos",
            "uos", "Deepin", "deepin", "LMDE",
        ]
        .iter()
        .any(|s| has(s)),
        // Gentoo has no parser in Ansible: never taken.
        _ => false,
    };
    accepted.then_some(None)
}

/// The `ID` of os-release (/etc's, else /usr/lib's), lowercased: what the
/// `distro` library calls the id, which Ansible's CoreOS and Flatcar
/// parsers ask.
fn os_release_id(raw: &Raw) -> String {
    let text = raw
        .content("/etc/os-release")
        .or_else(|| raw.content("/usr/lib/os-release"))
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("ID="))
        .map(|v| {
            v.trim()
                .trim_matches(['"', '\''])
                .to_lowercase()
                .replace(' ', "_")
        })
        .unwrap_or_default()
}

/// What the regex `TAG(.*)"` captures: after the first `TAG` whose line
/// has a `"` further on, up to that line's last `"`.
fn quoted_after<'a>(data: &'a str, tag: &str) -> Option<&'a str> {
    data.match_indices(tag).find_map(|(at, _)| {
        let rest = &data[at + tag.len()..];
        let line = rest.split('\n').next().unwrap_or("");
        line.rfind('"').map(|end| &line[..end])
    })
}

/// The second number of the first `DIGITS.DIGITS` in `line` (the regex
/// `(\d+)\.(\d+)`).
fn minor_of(line: &str) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_numeric() {
            i += 1;
            continue;
        }
        while i < chars.len() && chars[i].is_numeric() {
            i += 1;
        }
        if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| c.is_numeric()) {
            return Some(
                chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_numeric())
                    .collect(),
            );
        }
    }
    None
}

/// The DMI facts with the /sys/devices/virtual/dmi/id file each comes from.
const DMI: &[(&str, &str)] = &[
    ("bios_date", "bios_date"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("form_factor", "chassis_type"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
];

/// The SMBIOS chassis types, by number, as Ansible names them.
const FORM_FACTOR: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// The DMI facts: each file's content, `NA` when unreadable (the serials
/// and the uuid to all but root) or empty, all `NA` without DMI in /sys;
/// then IBM Z's /proc/sysinfo over them, as Ansible's hardware collector.
fn dmi(raw: &Raw, facts: &mut Map<String, Value>) {
    let has_dmi = raw.flag("dmi");
    for (key, file) in DMI {
        let data = has_dmi
            .then(|| raw.content(&format!("/sys/devices/virtual/dmi/id/{file}")))
            .flatten();
        let value = match (data, *key) {
            (Some(data), "form_factor") => form_factor(&data),
            (Some(data), _) => data,
            (None, _) => "NA".into(),
        };
        facts.insert((*key).into(), value.into());
    }
    if raw.files.contains_key("/proc/sysinfo") {
        sysinfo(&raw.content("/proc/sysinfo").unwrap_or_default(), facts);
    }
}

/// A chassis type's name (Python's list index, negative ones counting from
/// the end); `unknown (N)` past the list.
fn form_factor(data: &str) -> String {
    let len = FORM_FACTOR.len() as i64;
    let name = data
        .parse::<i64>()
        .ok()
        .map(|n| if n < 0 { n + len } else { n })
        .filter(|n| (0..len).contains(n))
        .and_then(|n| FORM_FACTOR.get(n as usize));
    match name {
        Some(name) => (*name).to_string(),
        None => format!("unknown ({data})"),
    }
}

/// IBM Z's /proc/sysinfo: `Manufacturer:`, `Type:` and `Sequence Code:`
/// (its leading zeros dropped) give the vendor, product name and serial;
/// the product's version and uuid are `NA` there.
fn sysinfo(text: &str, facts: &mut Map<String, Value>) {
    for key in [
        "system_vendor",
        "product_version",
        "product_serial",
        "product_name",
        "product_uuid",
    ] {
        facts.insert(key.into(), "NA".into());
    }
    let after = |line: &str, tag: &str| -> Option<String> {
        let rest = &line[line.find(tag)? + tag.len()..];
        let value = rest.trim_start();
        (value.len() < rest.len() && !value.is_empty()).then(|| value.to_string())
    };
    for line in text.lines() {
        let found = if line.starts_with("Manufacturer:") {
            after(line, "Manufacturer:").map(|v| ("system_vendor", v))
        } else if line.contains("Type:") {
            after(line, "Type:").map(|v| ("product_name", v))
        } else {
            after(line, "Sequence Code:")
                .and_then(|v| {
                    v.strip_prefix('0')
                        .map(|s| s.trim_start_matches('0').to_string())
                })
                .filter(|v| !v.is_empty())
                .map(|v| ("product_serial", v))
        };
        if let Some((key, value)) = found {
            facts.insert(key.into(), value.into());
        }
    }
}

/// `iscsi_iqn` and `hostnqn` (empty strings without one) and
/// `fibre_channel_wwn` (the port names without their `0x`).
fn storage_initiators(raw: &Raw, facts: &mut Map<String, Value>) {
    let first = |path: &str, wanted: &dyn Fn(&str) -> Option<String>| {
        raw.content(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !(l.starts_with('#') || l.starts_with(';') || l.trim().is_empty()))
            .find_map(wanted)
            .unwrap_or_default()
    };
    let iqn = first("/etc/iscsi/initiatorname.iscsi", &|l| {
        l.strip_prefix("InitiatorName=").map(str::to_string)
    });
    let nqn = first("/etc/nvme/hostnqn", &|l| {
        l.starts_with("nqn.").then(|| l.to_string())
    });
    facts.insert("iscsi_iqn".into(), iqn.into());
    facts.insert("hostnqn".into(), nqn.into());
    let mut wwns = Vec::new();
    for path in raw.files.keys() {
        let is_port = path.starts_with("/sys/class/fc_host/") && path.ends_with("/port_name");
        if !is_port {
            continue;
        }
        for line in raw.content(path).unwrap_or_default().lines() {
            wwns.push(Value::from(
                line.trim_end().chars().skip(2).collect::<String>(),
            ));
        }
    }
    facts.insert("fibre_channel_wwn".into(), Value::Array(wwns));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts of canned snippet output, over a base with `machine` and
    /// `fqdn` as the base part gives them.
    fn facts(out: &str) -> Map<String, Value> {
        let mut f = Map::new();
        f.insert("machine".into(), "x86_64".into());
        f.insert("fqdn".into(), "web1.example.com".into());
        parse(out, &mut f);
        f
    }

    /// `path`'s lines as the snippet prints them.
    fn file(path: &str, text: &str) -> String {
        let mut out = format!("sys.has:{path}={}\n", u8::from(!text.is_empty()));
        for line in text.lines() {
            out.push_str(&format!("sys.file:{path}={line}\n"));
        }
        out
    }

    #[test]
    fn date_time_as_python_gives_it() {
        let out = "sys.date=2026 12 05 01 39 03 1796395143 599923163 6 48 +1100 Saturday AEDT\n\
                   sys.date=2026 01 01 00 00 00 1767186000 000000000 4 00 +1100 Thursday AEDT\n\
                   sys.date=2026 07 02 00 00 00 1782914400 000000000 4 26 +1000 Thursday AEST\n";
        let f = facts(out);
        assert_eq!(
            f["date_time"],
            json!({
                "year": "2026", "month": "12", "weekday": "Saturday", "weekday_number": "6",
                "weeknumber": "48", "day": "05", "hour": "01", "minute": "39", "second": "03",
                "epoch": "1796395143", "epoch_int": "1796395143", "date": "2026-12-05",
                "time": "01:39:03", "iso8601_micro": "2026-12-04T14:39:03.599923Z",
                "iso8601": "2026-12-04T14:39:03Z", "iso8601_basic": "20261205T013903599923",
                "iso8601_basic_short": "20261205T013903", "tz": "AEDT", "tz_dst": "AEDT",
                "tz_offset": "+1100"
            })
        );
        // Northern hemisphere: July's name; no DST at all: the same name.
        let berlin = "sys.date=2026 01 10 10 00 00 1768035600 1 6 01 +0100 Saturday CET\n\
                      sys.date=2026 01 01 00 00 00 1767222000 0 4 00 +0100 Thursday CET\n\
                      sys.date=2026 07 02 00 00 00 1782943200 0 4 26 +0200 Thursday CEST\n";
        let f = facts(berlin);
        assert_eq!(f["date_time"]["tz_dst"], "CEST");
        // `%N` unknown to that date: zeros.
        assert_eq!(
            f["date_time"]["iso8601_micro"],
            "2026-01-10T09:00:00.000000Z"
        );
        // A date without -f: its one line, tz_dst is tz.
        let f = facts("sys.datenow=2026 01 10 10 00 00 1768035600 %N 6 01 +0100 Saturday CET\n");
        assert_eq!(f["date_time"]["tz_dst"], "CET");
        assert_eq!(f["date_time"]["iso8601_basic"], "20260110T100000000000");
        assert!(facts("").get("date_time").is_none());
    }

    #[test]
    fn utc_calendar() {
        assert_eq!(utc(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc(1_796_395_143), (2026, 12, 4, 14, 39, 3));
        assert_eq!(utc(-1), (1969, 12, 31, 23, 59, 59));
    }

    #[test]
    fn user_ids_and_gecos() {
        let f = facts("sys.uid=1001 0\nsys.gid=1002 1003\nsys.gecos=Web User,,,\n");
        assert_eq!(f["real_user_id"], 1001);
        assert_eq!(f["effective_user_id"], 0);
        assert_eq!(f["real_group_id"], 1002);
        // Ansible's collector reads getgid() for both.
        assert_eq!(f["effective_group_id"], 1002);
        assert_eq!(f["user_gecos"], "Web User,,,");
        let f = facts("sys.gecos=\n");
        assert_eq!(f["user_gecos"], "");
        assert!(f.get("real_user_id").is_none());
    }

    #[test]
    fn uptime_and_loadavg() {
        let out = file("/proc/uptime", "55396.97 72617.34\n")
            + &file("/proc/loadavg", "0.13 0.51 1.00 1/91 26518\n");
        let f = facts(&out);
        assert_eq!(f["uptime_seconds"], 55396);
        assert_eq!(f["loadavg"], json!({"1m": 0.13, "5m": 0.51, "15m": 1.0}));
        assert!(f["loadavg"]["15m"].is_f64());
        let f = facts("");
        assert!(f.get("uptime_seconds").is_none() && f.get("loadavg").is_none());
    }

    #[test]
    fn dns_as_ansible_reads_resolv_conf() {
        let conf = "# generated\n; old\nnameserver 10.0.0.1\nnameserver 10.0.0.2 10.0.0.3\n\
                    domain\ndomain example.com\nsearch a.example b.example\nsearch c.example\n\
                    options ndots:2 rotate timeout:\n  \n\tsortlist 10.0.0.0/8\n";
        let f = facts(&file("/etc/resolv.conf", conf));
        assert_eq!(
            f["dns"],
            json!({
                "nameservers": ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
                "domain": "example.com",
                "search": ["c.example"],
                "options": {"ndots": "2", "rotate": true, "timeout": true},
                "sortlist": ["10.0.0.0/8"],
            })
        );
        assert_eq!(f["domain"], "example.com");
        // Missing, empty, unreadable: `{}`.
        assert_eq!(facts("")["dns"], json!({}));
        assert_eq!(facts(&file("/etc/resolv.conf", ""))["dns"], json!({}));
        assert_eq!(facts("sys.has:/etc/resolv.conf=1\n")["dns"], json!({}));
        let mut f = Map::new();
        f.insert("fqdn".into(), "localhost".into());
        parse("", &mut f);
        assert_eq!(f["domain"], "");
    }

    #[test]
    fn cmdline_as_shlex_cuts_it() {
        let line = "BOOT_IMAGE=/vmlinuz root=UUID=abc ro quiet console=tty0 console=ttyS0,115200 \
                    \"a b\"c x=\"y z\" quiet";
        let f = facts(&file("/proc/cmdline", line));
        assert_eq!(
            f["cmdline"],
            json!({"BOOT_IMAGE": "/vmlinuz", "root": "UUID=abc", "ro": true, "quiet": true,
                   "console": "ttyS0,115200", "\"a b\"": true, "c": true, "x": "\"y",
                   "z\"": true})
        );
        assert_eq!(
            f["proc_cmdline"]["console"],
            json!(["tty0", "ttyS0,115200"])
        );
        assert_eq!(f["proc_cmdline"]["root"], "UUID=abc");
        // An unclosed quote: Python's shlex raises, the dicts stay empty.
        let f = facts(&file("/proc/cmdline", "ro \"quiet"));
        assert_eq!(f["cmdline"], json!({}));
        assert_eq!(f["proc_cmdline"], json!({}));
        assert!(facts("").get("cmdline").is_none());
        // A key first bare, then with values: Python makes [true, v, …].
        let f = facts(&file("/proc/cmdline", "a a=1 a=2"));
        assert_eq!(f["proc_cmdline"]["a"], json!([true, "1", "2"]));
        assert_eq!(f["cmdline"]["a"], "2");
    }

    #[test]
    fn platform_facts() {
        let out = file(
            "/proc/sys/kernel/version",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0\n",
        ) + &file("/etc/machine-id", "\nabc123\n")
            + "sys.maps_top=ffffffffff600000-ffffffffff601000\n";
        let f = facts(&out);
        assert_eq!(f["kernel_version"], "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0");
        assert_eq!(f["machine_id"], "abc123");
        assert_eq!(f["userspace_bits"], "64");
        assert_eq!(f["userspace_architecture"], "x86_64");
        // dbus's machine id first; a 32-bit userland.
        let out = file("/var/lib/dbus/machine-id", "dbus1\n")
            + &file("/etc/machine-id", "etc1\n")
            + "sys.maps_top=ffff0000-ffff1000\nsys.uname_v=#2 SMP\n";
        let f = facts(&out);
        assert_eq!(f["machine_id"], "dbus1");
        assert_eq!(f["userspace_bits"], "32");
        assert_eq!(f["userspace_architecture"], "i386");
        assert_eq!(f["kernel_version"], "#2 SMP");
        // Not x86: no userspace_architecture.
        let mut f = Map::new();
        f.insert("machine".into(), "aarch64".into());
        parse("sys.long_bit=64\n", &mut f);
        assert_eq!(f["userspace_bits"], "64");
        assert!(f.get("userspace_architecture").is_none());
        assert!(f.get("machine_id").is_none());
    }

    #[test]
    fn fips_chroot_apparmor_and_fixed_ones() {
        let f = facts("sys.chroot=0\n");
        assert_eq!(f["fips"], false);
        assert_eq!(f["is_chroot"], false);
        assert_eq!(f["apparmor"], json!({"status": "disabled"}));
        assert_eq!(f["gather_subset"], json!(["all"]));
        assert_eq!(f["module_setup"], true);
        assert_eq!(f["hostnqn"], "");
        assert_eq!(f["iscsi_iqn"], "");
        assert_eq!(f["fibre_channel_wwn"], json!([]));
        let out = file("/proc/sys/crypto/fips_enabled", "1\n") + "sys.apparmor=1\nsys.chroot=1\n";
        let f = facts(&out);
        assert_eq!(f["fips"], true);
        assert_eq!(f["is_chroot"], true);
        assert_eq!(f["apparmor"], json!({"status": "enabled"}));
        // /proc/1/root unreadable: the root inode against the file system's.
        assert_eq!(
            facts("sys.root_ino=2 /\nsys.root_fs=ext4\n")["is_chroot"],
            false
        );
        assert_eq!(
            facts("sys.root_ino=256 /\nsys.root_fs=btrfs\n")["is_chroot"],
            false
        );
        assert_eq!(
            facts("sys.root_ino=2 /\nsys.root_fs=xfs\n")["is_chroot"],
            true
        );
        assert_eq!(
            facts("sys.root_ino=   1234 /\nsys.root_fs=overlay\n")["is_chroot"],
            true
        );
    }

    #[test]
    fn storage_initiators_when_present() {
        let out = file(
            "/etc/iscsi/initiatorname.iscsi",
            "## DO NOT EDIT\n\nInitiatorName=iqn.1993-08.org.debian:01:44a4\nInitiatorName=x\n",
        ) + &file(
            "/etc/nvme/hostnqn",
            "# c\nfoo\nnqn.2014-08.org.nvmexpress:uuid:1\n",
        ) + &file("/sys/class/fc_host/host0/port_name", "0x21000014ff52a9bb\n")
            + &file("/sys/class/fc_host/host1/port_name", "0x21000014ff52a9bc\n");
        let f = facts(&out);
        assert_eq!(f["iscsi_iqn"], "iqn.1993-08.org.debian:01:44a4");
        assert_eq!(f["hostnqn"], "nqn.2014-08.org.nvmexpress:uuid:1");
        assert_eq!(
            f["fibre_channel_wwn"],
            json!(["21000014ff52a9bb", "21000014ff52a9bc"])
        );
    }

    #[test]
    fn selinux_states() {
        let f = facts("");
        assert_eq!(
            f["selinux"],
            json!({"status": "Missing selinux Python library"})
        );
        assert_eq!(f["selinux_python_present"], false);
        let f = facts("sys.selinux_lib=1\n");
        assert_eq!(f["selinux"], json!({"status": "disabled"}));
        assert_eq!(f["selinux_python_present"], true);
        // selinuxfs mounted but no config: libselinux says disabled.
        let f = facts("sys.selinux_lib=1\nsys.selinux_mnt=/sys/fs/selinux\n");
        assert_eq!(f["selinux"], json!({"status": "disabled"}));
        let out = String::from("sys.selinux_lib=1\nsys.selinux_mnt=/sys/fs/selinux\n")
            + &file("/sys/fs/selinux/enforce", "0\n")
            + &file("/sys/fs/selinux/policyvers", "33\n")
            + &file(
                "/etc/selinux/config",
                "# c\nSELINUX=Enforcing\n  SELINUXTYPE=targeted-mls  \n",
            );
        assert_eq!(
            facts(&out)["selinux"],
            json!({"status": "enabled", "policyvers": 33, "config_mode": "enforcing",
                   "mode": "permissive", "type": "targeted-mls"})
        );
        let out = String::from("sys.selinux_lib=1\nsys.selinux_mnt=/selinux\n")
            + "sys.has:/etc/selinux/config=0\n";
        assert_eq!(
            facts(&out)["selinux"],
            json!({"status": "enabled", "policyvers": "unknown", "config_mode": "unknown",
                   "mode": "disabled", "type": "targeted"})
        );
    }

    #[test]
    fn ssh_host_keys_as_ansible_walks_them() {
        let out = file("/etc/ssh/ssh_host_rsa_key.pub", "ssh-rsa AAAArsa root@h\n")
            + &file("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAed\n")
            + &file("/etc/ssh/ssh_host_ecdsa_key.pub", "")
            + "sys.has:/etc/ssh/ssh_host_dsa_key.pub=1\n"
            + &file("/etc/openssh/ssh_host_dsa_key.pub", "ssh-dss AAAAdsa\n")
            + &file(
                "/etc/openssh/ssh_host_ecdsa_key.pub",
                "ecdsa-sha2-nistp256 AAAAec\n",
            );
        let f = facts(&out);
        assert_eq!(f["ssh_host_key_rsa_public"], "AAAArsa");
        assert_eq!(f["ssh_host_key_rsa_public_keytype"], "ssh-rsa");
        assert_eq!(f["ssh_host_key_ed25519_public"], "AAAAed");
        assert_eq!(f["ssh_host_key_ed25519_public_keytype"], "ssh-ed25519");
        // /etc/openssh is walked up to the first algorithm already found.
        assert_eq!(f["ssh_host_key_dsa_public"], "AAAAdsa");
        assert!(f.get("ssh_host_key_ecdsa_public").is_none());
        assert!(facts("").keys().all(|k| !k.starts_with("ssh_host")));
    }

    const DEBIAN: &str =
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                          VERSION_ID=\"12\"\nID=debian\n";

    #[test]
    fn distribution_file_of_debian_and_others() {
        let out = file("/etc/os-release", DEBIAN)
            + &file("/usr/lib/os-release", DEBIAN)
            + &file("/etc/debian_version", "12.11\n");
        let f = facts(&out);
        assert_eq!(f["distribution_file_path"], "/etc/os-release");
        assert_eq!(f["distribution_file_variety"], "Debian");
        assert_eq!(f["distribution_file_parsed"], true);
        assert_eq!(f["distribution_minor_version"], "11");
        // Testing: no minor version.
        let out = file("/etc/os-release", DEBIAN) + &file("/etc/debian_version", "trixie/sid\n");
        assert!(facts(&out).get("distribution_minor_version").is_none());
        // Ubuntu: Debian's variety, no minor version.
        let f = facts(&file("/etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\n"));
        assert_eq!(f["distribution_file_variety"], "Debian");
        assert!(f.get("distribution_minor_version").is_none());
        // Rocky: /etc/centos-release is not Stream, redhat-release is taken.
        let out = file(
            "/etc/redhat-release",
            "Rocky Linux release 9.4 (Blue Onyx)\n",
        ) + &file("/etc/os-release", "NAME=\"Rocky Linux\"\nID=\"rocky\"\n");
        let f = facts(&out);
        assert_eq!(f["distribution_file_path"], "/etc/redhat-release");
        assert_eq!(f["distribution_file_variety"], "RedHat");
        // An empty /etc/arch-release is enough, and leaves no `parsed`.
        let out = file("/etc/arch-release", "") + &file("/etc/os-release", "NAME=\"Arch Linux\"\n");
        let f = facts(&out);
        assert_eq!(f["distribution_file_path"], "/etc/arch-release");
        assert_eq!(f["distribution_file_variety"], "Archlinux");
        assert!(f.get("distribution_file_parsed").is_none());
        // Amazon: the minor version of VERSION_ID, NA without one.
        let f = facts(&file(
            "/etc/os-release",
            "NAME=\"Amazon Linux\"\nVERSION_ID=\"2023\"\nID=\"amzn\"\n",
        ));
        assert_eq!(f["distribution_file_variety"], "Amazon");
        assert_eq!(f["distribution_minor_version"], "NA");
        // Something unknown: os-release's NA entry; Gentoo's file never parses.
        let out = file("/etc/gentoo-release", "Gentoo Base System release 2.14\n")
            + &file(
                "/usr/lib/os-release",
                "NAME=Gentoo\nPRETTY_NAME=\"Gentoo Linux\"\nID=gentoo\n",
            )
            + &file(
                "/etc/os-release",
                "NAME=Gentoo\nPRETTY_NAME=\"Gentoo Linux\"\nID=gentoo\n",
            );
        let f = facts(&out);
        assert_eq!(f["distribution_file_path"], "/etc/os-release");
        assert_eq!(f["distribution_file_variety"], "NA");
        // No file at all: no fact.
        assert!(facts("").get("distribution_file_path").is_none());
        // Flatcar needs its os-release id.
        let text = "NAME=\"Flatcar Container Linux by Kinvolk\"\nID=flatcar\nVERSION=3815.2.0\n";
        let f = facts(&file("/etc/os-release", text));
        assert_eq!(f["distribution_file_variety"], "Flatcar");
    }

    #[test]
    fn minor_and_quoted() {
        assert_eq!(minor_of("12.11").as_deref(), Some("11"));
        assert_eq!(minor_of("v1x2.3.4").as_deref(), Some("3"));
        assert_eq!(minor_of("bookworm/sid"), None);
        assert_eq!(minor_of("12."), None);
        assert_eq!(
            quoted_after("PRETTY_NAME=\"Clear Linux OS\"\nNAME=\"x\"", "NAME=\""),
            Some("Clear Linux OS")
        );
        assert_eq!(quoted_after("NAME=\"x\nNAME=\"y\" z", "NAME=\""), Some("y"));
        assert_eq!(quoted_after("NAME=x", "NAME=\""), None);
    }

    #[test]
    fn dmi_facts() {
        let base = "/sys/devices/virtual/dmi/id";
        let out = String::from("sys.dmi=1\n")
            + &file(
                &format!("{base}/product_name"),
                "Standard PC (Q35 + ICH9, 2009)\n",
            )
            + &file(&format!("{base}/sys_vendor"), "QEMU\n")
            + &file(&format!("{base}/chassis_type"), "1\n")
            + &file(&format!("{base}/bios_version"), "  \n")
            + &format!("sys.has:{base}/product_serial=1\n");
        let f = facts(&out);
        assert_eq!(f["product_name"], "Standard PC (Q35 + ICH9, 2009)");
        assert_eq!(f["system_vendor"], "QEMU");
        assert_eq!(f["form_factor"], "Other");
        assert_eq!(f["bios_version"], "NA");
        assert_eq!(f["product_serial"], "NA");
        assert_eq!(f["board_asset_tag"], "NA");
        assert_eq!(form_factor("99"), "unknown (99)");
        assert_eq!(form_factor("-1"), "Stick PC");
        assert_eq!(form_factor("x"), "unknown (x)");
        // No DMI in /sys: every key NA.
        let f = facts("");
        for (key, _) in DMI {
            assert_eq!(f[*key], "NA", "{key}");
        }
        // IBM Z.
        let sysinfo = "Manufacturer:         IBM\nType:                 3906\n\
                       Sequence Code:        00000000000ABCDE\n";
        let f = facts(&file("/proc/sysinfo", sysinfo));
        assert_eq!(f["system_vendor"], "IBM");
        assert_eq!(f["product_name"], "3906");
        assert_eq!(f["product_serial"], "ABCDE");
        assert_eq!(f["product_uuid"], "NA");
    }

    #[test]
    fn snippet_runs_under_dash_on_this_machine() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().all(|l| l.starts_with("sys.")), "{text}");
        let f = facts(&text);
        assert!(f["date_time"]["epoch"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok());
        assert!(f["real_user_id"].is_u64());
        assert!(f["uptime_seconds"].is_i64());
        assert!(f["is_chroot"].is_boolean());
    }
}
