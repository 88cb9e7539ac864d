//! The facts rprov gathers (without Python) against ansible-core's `setup`
//! on the same host, over the same sshd: each fact listed here must be there
//! under both tools, with the same value (`*_SAME`), or with the same shape
//! where the value moves between two runs (`*_SHAPE`: a clock, free memory,
//! load): the same keys of a mapping, the same kind of items in a list, the
//! same JSON type of a value.

mod common;

use std::path::Path;

use common::{apply_json, fixtures, target_dir, USER};
use rprov_testbed::Sshd;
use serde_json::Value;

/// The interpreter ansible-core runs its `setup` module with on the host.
const TARGET_PYTHON: &str = "/usr/bin/python3";

/// The base facts.
const BASE_SAME: &[&str] = &[
    "architecture",
    "machine",
    "kernel",
    "system",
    "distribution",
    "distribution_release",
    "distribution_version",
    "distribution_major_version",
    "os_family",
    "hostname",
    "nodename",
    "fqdn",
    "user_id",
    "user_uid",
    "user_gid",
    "user_dir",
    "user_shell",
    "processor_vcpus",
    "memtotal_mb",
    "pkg_mgr",
    "service_mgr",
    "lsb",
];

/// `src/probe/facts/system.rs`.
const SYSTEM_SAME: &[&str] = &[
    "user_gecos",
    "real_user_id",
    "effective_user_id",
    "real_group_id",
    "effective_group_id",
    "dns",
    "domain",
    "kernel_version",
    "machine_id",
    "cmdline",
    "proc_cmdline",
    "userspace_bits",
    "userspace_architecture",
    "fips",
    "is_chroot",
    "selinux",
    "selinux_python_present",
    "apparmor",
    "ssh_host_key_rsa_public",
    "ssh_host_key_rsa_public_keytype",
    "ssh_host_key_ecdsa_public",
    "ssh_host_key_ecdsa_public_keytype",
    "ssh_host_key_ed25519_public",
    "ssh_host_key_ed25519_public_keytype",
    "distribution_minor_version",
    "distribution_file_path",
    "distribution_file_variety",
    "distribution_file_parsed",
    "system_vendor",
    "product_name",
    "product_version",
    "product_serial",
    "product_uuid",
    "bios_date",
    "bios_vendor",
    "bios_version",
    "board_asset_tag",
    "board_name",
    "board_serial",
    "board_vendor",
    "board_version",
    "chassis_asset_tag",
    "chassis_serial",
    "chassis_vendor",
    "chassis_version",
    "form_factor",
    "gather_subset",
    "module_setup",
    "hostnqn",
    "iscsi_iqn",
    "fibre_channel_wwn",
];
/// The clock, the uptime and the load move between the two runs.
const SYSTEM_SHAPE: &[&str] = &["date_time", "uptime_seconds", "loadavg"];

/// `src/probe/facts/network.rs`. `lo` and `eth0` (absent under both where
/// there is none) are whole interface facts; they would differ by `features`
/// on a host with `ethtool`, which rprov does not run.
const NETWORK_SAME: &[&str] = &[
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "default_ipv4",
    "default_ipv6",
    "locally_reachable_ips",
    "lo",
    "eth0",
];
/// `interfaces` by shape: Ansible's order is random (the list goes through a
/// set), rprov's is sorted.
const NETWORK_SHAPE: &[&str] = &["interfaces"];

/// `src/probe/facts/hardware.rs`.
const HARDWARE_SAME: &[&str] = &[
    "processor",
    "processor_count",
    "processor_cores",
    "processor_threads_per_core",
    "processor_nproc",
    "flags",
    "swaptotal_mb",
    "virtualization_type",
    "virtualization_role",
    "devices",
    "device_links",
    "lvm",
];
/// Free memory and mount sizes move between the runs; the tech lists are
/// Python sets, in an order that changes from one Ansible run to the next.
const HARDWARE_SHAPE: &[&str] = &[
    "memfree_mb",
    "swapfree_mb",
    "memory_mb",
    "mounts",
    "virtualization_tech_guest",
    "virtualization_tech_host",
];

/// `src/probe/facts/local.rs`.
/// (Inside `ansible_facts` it keeps its prefix, as ansible-core's.)
const LOCAL_SAME: &[&str] = &["ansible_local"];

/// A value's shape: its keys (each with its value's shape), its items' shape,
/// or its JSON type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
    }
}

fn facts_json(root: &Path) -> serde_json::Map<String, Value> {
    let path = root.join("facts.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        other => panic!("{}: not a JSON object: {other:?}", path.display()),
    }
}

#[test]
fn gathered_facts_are_ansibles() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let ansible = common::ansible_venv();
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory_with_python(work.path(), &sshd, "web1", TARGET_PYTHON);
    let dir = fixtures().join("facts_dump");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    let root = format!("root={}", by_ansible.path().display());
    let (ok, text) = common::ansible_playbook(
        &ansible,
        &dir,
        &inv,
        work.path(),
        &["-e", &root, "site.yml"],
        &[],
    );
    assert!(ok, "ansible-playbook failed:\n{text}");
    let root = format!("root={}", by_rprov.path().display());
    apply_json(&dir, &inv, &["-e", &root, "site.yml"]).expect_code(0);
    let a = facts_json(by_ansible.path());
    let r = facts_json(by_rprov.path());

    let mut wrong = Vec::new();
    let same = [
        BASE_SAME,
        SYSTEM_SAME,
        NETWORK_SAME,
        HARDWARE_SAME,
        LOCAL_SAME,
    ];
    for key in same.concat() {
        if a.get(key) != r.get(key) {
            wrong.push(format!(
                "{key}:\n  ansible {}\n  rprov   {}",
                a.get(key).map_or("(none)".into(), Value::to_string),
                r.get(key).map_or("(none)".into(), Value::to_string)
            ));
        }
    }
    for key in [SYSTEM_SHAPE, NETWORK_SHAPE, HARDWARE_SHAPE].concat() {
        let (sa, sr) = (a.get(key).map(shape), r.get(key).map(shape));
        if sa.is_none() || sa != sr {
            wrong.push(format!(
                "{key} (shape):\n  ansible {}\n  rprov   {}",
                sa.map_or("(none)".into(), |s| s.to_string()),
                sr.map_or("(none)".into(), |s| s.to_string())
            ));
        }
    }
    assert!(wrong.is_empty(), "facts differ:\n{}", wrong.join("\n"));
}
