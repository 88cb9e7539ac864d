//! Facts without Python: a POSIX sh snippet that prints `key=value` lines,
//! parsed into Ansible's `ansible_*` names.
//!
//! The snippet is one script run once per host in its probe. The base part
//! here gives the facts every play reads (distribution, user, environment);
//! each other part adds a family of ansible-core's `setup` facts with the
//! same names and shapes, its lines under a prefix of its own:
//! [`system`], [`network`], [`hardware`], [`local`] (`/etc/ansible/facts.d`).
//! A part must stay cheap (a few processes): every play that gathers facts
//! pays for it on every host.

mod hardware;
pub mod local;
mod network;
mod system;

use serde_json::{json, Map, Value};

/// The whole facts snippet.
pub fn script() -> String {
    [
        BASE,
        system::SCRIPT,
        network::SCRIPT,
        hardware::SCRIPT,
        local::SCRIPT,
    ]
    .concat()
}

/// Parses the snippet's output into `ansible_*` facts (without the prefix
/// inside `ansible_facts`, as Ansible does it).
pub fn parse(out: &str) -> Result<Value, String> {
    let mut facts = parse_base(out)?;
    if let Value::Object(m) = &mut facts {
        system::parse(out, m);
        network::parse(out, m);
        hardware::parse(out, m);
        local::parse(out, m);
    }
    Ok(facts)
}

/// The base part. `fqdn` is Python's `socket.getfqdn()`, as Ansible's:
/// the first address of the node name (`getent ahosts`, or `getent hosts`
/// where there is no `ahosts`), that address's names (`getent hosts ADDR`,
/// a reverse lookup), the first with a dot, else the canonical one; the
/// node name where a lookup fails (or there is no `getent`: busybox).
/// `service_mgr` prints PID 1's name and, only when that name says nothing,
/// the Linux guess; [`service_mgr`] decides.
const BASE: &str = r#"_rp_fact() { printf '%s=%s\n' "$1" "$2"; }
_rp_fact arch "$(uname -m)"
_rp_fact kernel "$(uname -r)"
_rp_fact system "$(uname -s)"
_rp_node=$(uname -n)
_rp_fact nodename "$_rp_node"
_rp_getfqdn() {
  _rp_fqdn=$1
  set -f
  set -- $(getent ahosts "$1" 2>/dev/null || getent hosts "$1" 2>/dev/null)
  if [ $# -gt 0 ]; then
    set -- $(getent hosts "$1" 2>/dev/null)
    if [ $# -gt 1 ]; then
      shift
      _rp_fqdn=$1
      for _rp_n in "$@"; do case $_rp_n in *.*) _rp_fqdn=$_rp_n; break ;; esac; done
    fi
  fi
  set +f
}
_rp_getfqdn "$_rp_node"
_rp_fact fqdn "$_rp_fqdn"
_rp_fact user_id "$(id -un)"
_rp_fact user_uid "$(id -u)"
_rp_fact user_gid "$(id -g)"
_rp_fact nproc "$(nproc 2>/dev/null || echo 1)"
_rp_fact memtotal_kb "$(awk '/^MemTotal:/{print $2}' /proc/meminfo 2>/dev/null)"
if [ -r /etc/os-release ]; then
  while IFS='=' read -r k v; do
    case "$k" in ID|ID_LIKE|VERSION_ID|VERSION_CODENAME|NAME|PRETTY_NAME) v=${v#\"}; v=${v%\"}; _rp_fact "os_$k" "$v" ;; esac
  done < /etc/os-release
fi
[ -r /etc/debian_version ] && _rp_fact debian_version "$(cat /etc/debian_version)"
command -v apt-get >/dev/null 2>&1 && _rp_fact pkg_mgr apt
_rp_p1=
[ -r /proc/1/comm ] && read -r _rp_p1 </proc/1/comm 2>/dev/null
[ -z "$_rp_p1" ] && [ -L /sbin/init ] && _rp_p1=$(readlink /sbin/init 2>/dev/null)
_rp_fact service_mgr_pid1 "$_rp_p1"
_rp_bin() { command -v "$1" >/dev/null 2>&1 || [ -x "/sbin/$1" ] || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }
_rp_p1=${_rp_p1##*/}
case $_rp_p1 in
  ''|init|*sh)
    _rp_sm=
    if _rp_bin systemctl && { [ -d /run/systemd/system/ ] || [ -d /dev/.run/systemd/ ] || [ -d /dev/.systemd/ ]; }; then _rp_sm=systemd
    elif _rp_bin initctl && [ -d /etc/init/ ]; then _rp_sm=upstart
    elif [ -e /sbin/openrc ]; then _rp_sm=openrc
    elif _rp_bin systemctl && [ -L /sbin/init ] && _rp_sm=$(readlink /sbin/init) && [ "${_rp_sm##*/}" = systemd ]; then _rp_sm=systemd
    elif [ -d /etc/init.d/ ]; then _rp_sm=sysvinit
    elif [ -d /etc/dinit.d/ ]; then _rp_sm=dinit
    else _rp_sm=
    fi
    _rp_fact service_mgr_linux "$_rp_sm" ;;
esac
if _rp_bin systemctl && { [ -d /run/systemd/system/ ] || [ -d /dev/.run/systemd/ ] || [ -d /dev/.systemd/ ]; } && _rp_sv=$(systemctl --version 2>/dev/null); then
  _rp_fact systemd_version_line "$(printf '%s\n' "$_rp_sv" | sed -n 1p)"
  _rp_fact systemd_features "$(printf '%s\n' "$_rp_sv" | sed -n 2p)"
fi
if command -v lsb_release >/dev/null 2>&1 && _rp_lsb=$(lsb_release -a 2>/dev/null); then
  printf '%s\n' "$_rp_lsb" | while IFS= read -r l; do printf 'lsb_bin=%s\n' "$l"; done
fi
[ -r /etc/lsb-release ] && while IFS= read -r l || [ -n "$l" ]; do printf 'lsb_file=%s\n' "$l"; done </etc/lsb-release
if _rp_py=$(command -v python3 2>/dev/null); then _rp_fact python_executable "$_rp_py"; _rp_fact python_version "$("$_rp_py" -V 2>&1)"; fi
env | while IFS= read -r line; do case "$line" in [A-Za-z_]*=*) printf 'env.%s\n' "$line" ;; esac; done
"#;

/// The base part's facts.
fn parse_base(out: &str) -> Result<Value, String> {
    let mut raw = std::collections::HashMap::new();
    let mut env = Map::new();
    let (mut lsb_bin, mut lsb_file) = (Vec::new(), Vec::new());
    for line in out.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k == "lsb_bin" {
            lsb_bin.push(v);
        } else if k == "lsb_file" {
            lsb_file.push(v);
        } else if let Some(name) = k.strip_prefix("env.") {
            env.insert(name.to_string(), Value::String(v.to_string()));
        } else {
            raw.insert(k.to_string(), v.to_string());
        }
    }
    let get = |k: &str| raw.get(k).cloned().unwrap_or_default();
    if get("arch").is_empty() {
        return Err("the facts script printed nothing (is /bin/sh a POSIX shell?)".into());
    }
    let id = get("os_ID");
    let distribution = match id.as_str() {
        "debian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".to_string(),
        "fedora" => "Fedora".to_string(),
        "centos" => "CentOS".to_string(),
        "rhel" => "RedHat".to_string(),
        "rocky" => "Rocky".to_string(),
        "almalinux" => "AlmaLinux".to_string(),
        "arch" => "Archlinux".to_string(),
        "alpine" => "Alpine".to_string(),
        "" => get("system"),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    };
    let like = get("os_ID_LIKE");
    let family = match id.as_str() {
        "debian" | "ubuntu" => "Debian",
        "rhel" | "centos" | "fedora" | "rocky" | "almalinux" => "RedHat",
        "arch" => "Archlinux",
        "alpine" => "Alpine",
        _ if like.contains("debian") => "Debian",
        _ if like.contains("rhel") || like.contains("fedora") => "RedHat",
        _ => distribution.as_str(),
    }
    .to_string();
    let debian_version = get("debian_version");
    let version = if id == "debian" && debian_version.starts_with(|c: char| c.is_ascii_digit()) {
        debian_version
    } else {
        get("os_VERSION_ID")
    };
    let major = version.split('.').next().unwrap_or("").to_string();
    let nodename = get("nodename");
    let hostname = nodename.split('.').next().unwrap_or("").to_string();
    let num = |k: &str| get(k).trim().parse::<u64>().ok();
    let home = env.get("HOME").cloned().unwrap_or(Value::Null);
    let shell = env.get("SHELL").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "architecture": get("arch"),
        "machine": get("arch"),
        "kernel": get("kernel"),
        "system": get("system"),
        "distribution": distribution,
        "distribution_release": get("os_VERSION_CODENAME"),
        "distribution_version": version,
        "distribution_major_version": major,
        "os_family": family,
        "hostname": hostname,
        "nodename": nodename,
        "fqdn": get("fqdn"),
        "user_id": get("user_id"),
        "user_uid": num("user_uid"),
        "user_gid": num("user_gid"),
        "user_dir": home,
        "user_shell": shell,
        "processor_vcpus": num("nproc"),
        "memtotal_mb": num("memtotal_kb").map(|k| k / 1024),
        "pkg_mgr": get("pkg_mgr"),
        "service_mgr": service_mgr(
            &get("service_mgr_pid1"),
            &get("service_mgr_linux"),
            &get("system"),
            &distribution,
        ),
        "env": Value::Object(env),
    }))
    .map(|mut facts| {
        // Ansible's SystemdFactCollector, on a host systemd manages:
        // `systemctl --version`'s second word and its second line.
        if let Some(version) = get("systemd_version_line")
            .split(' ')
            .nth(1)
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            facts["systemd"] = json!({"features": get("systemd_features"), "version": version});
        }
        facts["lsb"] = lsb(&lsb_bin, &lsb_file);
        if let Some(python) = python(&get("python_executable"), &get("python_version")) {
            // `python_version` is `platform.python_version()`: "3.11.2".
            let version = get("python_version");
            let version = version.trim().trim_start_matches("Python ");
            facts["python_version"] = json!(version);
            facts["python"] = python;
        }
        facts
    })
}

/// `lsb` as Ansible's LSBFactCollector reads it: `lsb_release -a`'s lines
/// (`bin`), else /etc/lsb-release's (`file`); `major_release` is the
/// release's first dotted part; quotes and backslashes are stripped from
/// the ends of each value. Empty where neither says anything.
fn lsb(bin: &[&str], file: &[&str]) -> Value {
    /// The lines' values, each under the key of the first label its line
    /// holds (the value is what follows `sep`).
    fn fields(lines: &[&str], sep: char, labels: &[(&str, &str)]) -> Map<String, Value> {
        let mut facts = Map::new();
        for line in lines {
            let Some((_, value)) = line.split_once(sep) else {
                continue;
            };
            let key = labels
                .iter()
                .find_map(|(label, key)| line.contains(label).then_some(*key));
            if let Some(key) = key {
                facts.insert(key.into(), json!(value.trim()));
            }
        }
        facts
    }
    let mut facts = fields(
        bin,
        ':',
        &[
            ("LSB Version:", "release"),
            ("Distributor ID:", "id"),
            ("Description:", "description"),
            ("Release:", "release"),
            ("Codename:", "codename"),
        ],
    );
    if facts.is_empty() {
        facts = fields(
            file,
            '=',
            &[
                ("DISTRIB_ID", "id"),
                ("DISTRIB_RELEASE", "release"),
                ("DISTRIB_DESCRIPTION", "description"),
                ("DISTRIB_CODENAME", "codename"),
            ],
        );
    }
    if let Some(release) = facts.get("release").and_then(Value::as_str) {
        let major = release.split('.').next().unwrap_or_default().to_string();
        facts.insert("major_release".into(), json!(major));
    }
    for v in facts.values_mut() {
        if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
            *v = json!(s.trim_matches(['\'', '"', '\\']));
        }
    }
    Value::Object(facts)
}

/// `service_mgr` as Ansible's ServiceMgrFactCollector decides it: PID 1's
/// name (/proc/1/comm, else where /sbin/init links to), mapped for a few
/// inits, unless it is `init` or ends in `sh` (a shell in a container);
/// then by system, and on Linux by the snippet's `linux` guess (systemd's
/// canaries, upstart, OpenRC, an /sbin/init that links to systemd,
/// sysvinit, dinit); `service` when nothing tells. Ansible asks `ps` when
/// /proc/1/comm cannot be read; where /proc hides PID 1, `ps` sees no PID 1
/// either, so this skips it.
fn service_mgr(pid1: &str, linux: &str, system: &str, distribution: &str) -> String {
    let name = pid1.rsplit('/').next().unwrap_or("").trim();
    let trusted = !(name.is_empty() || name == "init" || name.ends_with("sh"));
    let chosen = if trusted {
        match name {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
    } else if distribution == "MacOSX" || system == "Darwin" {
        "launchd"
    } else if system.contains("BSD") || system == "Bitrig" || system == "DragonFly" {
        "bsdinit"
    } else if system == "AIX" {
        "src"
    } else if system == "SunOS" {
        "smf"
    } else if distribution == "OpenWrt" {
        "openwrt_init"
    } else if distribution == "SMGL" {
        "simpleinit_msb"
    } else if system == "Linux" {
        linux
    } else {
        ""
    };
    if chosen.is_empty() { "service" } else { chosen }.to_string()
}

/// `ansible_python` for the host's `python3`, the interpreter Ansible's
/// discovery picks on the distributions rprov knows: its path and its version
/// from `python3 -V` ("Python 3.11.2", "Python 3.13.0rc1"). None without a
/// python3 (rprov needs none), so the fact is undefined there.
fn python(executable: &str, version: &str) -> Option<Value> {
    if executable.is_empty() {
        return None;
    }
    let v = version.trim().strip_prefix("Python ")?;
    let mut parts = v.splitn(3, '.');
    let major: u64 = parts.next()?.parse().ok()?;
    let minor: u64 = parts.next()?.parse().ok()?;
    let rest = parts.next().unwrap_or("0");
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let micro: u64 = rest[..digits].parse().unwrap_or(0);
    let suffix = &rest[digits..];
    let level_len = suffix
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(suffix.len());
    let releaselevel = match &suffix[..level_len] {
        "" | "+" => "final",
        "a" => "alpha",
        "b" => "beta",
        "rc" => "candidate",
        _ => return None,
    };
    let serial: u64 = suffix[level_len..].parse().unwrap_or(0);
    Some(json!({
        "executable": executable,
        "has_sslcontext": true,
        "type": "cpython",
        "version": {
            "major": major,
            "minor": minor,
            "micro": micro,
            "releaselevel": releaselevel,
            "serial": serial,
        },
        "version_info": [major, minor, micro, releaselevel, serial],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_this_machine() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script())
            .output()
            .unwrap();
        let f = parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert!(!f["architecture"].as_str().unwrap().is_empty());
        assert!(f["env"]["PATH"].is_string());
        assert!(!f["user_id"].as_str().unwrap().is_empty());
    }

    #[test]
    fn lsb_as_ansible_reads_it() {
        let bin = [
            "Distributor ID:\tDebian",
            "Description:\tDebian GNU/Linux 12 (bookworm)",
            "Release:\t12",
            "Codename:\tbookworm",
        ];
        assert_eq!(
            lsb(&bin, &["DISTRIB_ID=Other"]),
            json!({"id": "Debian", "description": "Debian GNU/Linux 12 (bookworm)", "release": "12", "codename": "bookworm", "major_release": "12"})
        );
        let file = [
            "DISTRIB_ID=Ubuntu",
            "DISTRIB_RELEASE=22.04",
            "DISTRIB_CODENAME=jammy",
            "DISTRIB_DESCRIPTION=\"Ubuntu 22.04.4 LTS\"",
        ];
        assert_eq!(
            lsb(&[], &file),
            json!({"id": "Ubuntu", "release": "22.04", "codename": "jammy", "description": "Ubuntu 22.04.4 LTS", "major_release": "22"})
        );
        assert_eq!(lsb(&[], &[]), json!({}));
    }

    #[test]
    fn python_as_ansible_reports_it() {
        let base = "arch=x86_64\npython_executable=/usr/bin/python3\n";
        let f = parse(&format!("{base}python_version=Python 3.11.2\n")).unwrap();
        assert_eq!(
            f["python"],
            json!({"executable": "/usr/bin/python3", "has_sslcontext": true, "type": "cpython",
                   "version": {"major": 3, "minor": 11, "micro": 2, "releaselevel": "final", "serial": 0},
                   "version_info": [3, 11, 2, "final", 0]})
        );
        assert_eq!(f["python_version"], "3.11.2");
        let f = parse(&format!("{base}python_version=Python 3.13.0rc1\n")).unwrap();
        assert_eq!(f["python_version"], "3.13.0rc1");
        assert_eq!(
            f["python"]["version_info"],
            json!([3, 13, 0, "candidate", 1])
        );
        // No python3 on the host: no fact, as the facts of a host without it.
        let f = parse("arch=x86_64\n").unwrap();
        assert!(f.get("python").is_none() && f.get("python_version").is_none());
    }

    #[test]
    fn service_mgr_as_ansible_decides_it() {
        assert_eq!(service_mgr("systemd", "", "Linux", "Debian"), "systemd");
        assert_eq!(
            service_mgr("process_api", "", "Linux", "Debian"),
            "process_api"
        );
        assert_eq!(service_mgr("procd", "", "Linux", "OpenWrt"), "openwrt_init");
        assert_eq!(
            service_mgr("/sbin/runit-init", "", "Linux", "Void"),
            "runit"
        );
        // A shell or `init` as PID 1 says nothing: the Linux guess decides.
        assert_eq!(service_mgr("bash", "systemd", "Linux", "Debian"), "systemd");
        assert_eq!(
            service_mgr("init", "sysvinit", "Linux", "Debian"),
            "sysvinit"
        );
        assert_eq!(service_mgr("", "", "Linux", "Debian"), "service");
        assert_eq!(service_mgr("", "", "FreeBSD", "FreeBSD"), "bsdinit");
        let f = parse("arch=x86_64\nsystem=Linux\nservice_mgr_pid1=sh\nservice_mgr_linux=openrc\n")
            .unwrap();
        assert_eq!(f["service_mgr"], "openrc");
    }

    /// `systemd` as Ansible's systemd collector makes it of `systemctl
    /// --version`; none where systemd does not manage the host.
    #[test]
    fn systemd_version_and_features() {
        let base = "arch=x86_64\n";
        let f = parse(&format!(
            "{base}systemd_version_line=systemd 257 (257.13-1~deb13u1)\n\
             systemd_features=+PAM +AUDIT -SELINUX\n"
        ))
        .unwrap();
        assert_eq!(
            f["systemd"],
            json!({"features": "+PAM +AUDIT -SELINUX", "version": 257})
        );
        assert!(parse(base).unwrap().get("systemd").is_none());
    }

    #[test]
    fn debian_mapping() {
        let out = "arch=x86_64\nos_ID=debian\nos_VERSION_ID=12\nos_VERSION_CODENAME=bookworm\ndebian_version=12.5\nnodename=web1.example.com\nenv.HOME=/root\n";
        let f = parse(out).unwrap();
        assert_eq!(f["distribution"], "Debian");
        assert_eq!(f["os_family"], "Debian");
        assert_eq!(f["distribution_version"], "12.5");
        assert_eq!(f["distribution_major_version"], "12");
        assert_eq!(f["distribution_release"], "bookworm");
        assert_eq!(f["hostname"], "web1");
    }
}
