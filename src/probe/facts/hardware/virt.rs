//! `virtualization_type`, `virtualization_role`,
//! `virtualization_tech_guest` and `virtualization_tech_host`: Ansible's
//! Linux checks in its order. The first check that finds something sets
//! type and role; every check that finds something adds its technology.
//!
//! Lines read: `hw.cgroup1` (`/proc/1/cgroup`), `hw.env1 [lxc] [podman]
//! [container]` (one per item of `/proc/1/environ` that matched),
//! `hw.exists vz|lve|bc|xen|dockerenv|dockerinit|kvmdev`, `hw.sdcontainer
//! container <value>` (`/run/systemd/container`), `hw.xencap`, `hw.dmi <file>
//! <value>`, `hw.vxid <line>`, `hw.cpu <line>`, `hw.lscpu` (installed) and
//! `hw.lscpuline <line>` (s390 only), `hw.mod kvm|vboxdrv|virtio`,
//! `hw.vdsm` (`/rhev` exists and vdsm runs), `hw.dmidecode` (installed),
//! `hw.uid`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::Lines;

/// Compiles one of the fixed patterns below (they are valid; a failure
/// would only make the check never match).
fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static DOCKER: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"/docker(/|-[0-9a-f]+\.scope)"));
static LXC_MACHINE: LazyLock<Option<Regex>> = LazyLock::new(|| re("/machine.slice/machine-lxc"));
static CONTAINERD: LazyLock<Option<Regex>> =
    LazyLock::new(|| re("/system.slice/containerd.service"));
static VXID: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^VxID:\s+\d+"));
static VXID_HOST: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^VxID:\s+0"));
/// `/proc/cpuinfo` lines that name a virtual CPU, with the technology.
static CPU_TECH: LazyLock<Vec<(Option<Regex>, &str)>> = LazyLock::new(|| {
    [
        ("^model name.*QEMU Virtual CPU", "kvm"),
        ("^vendor_id.*User Mode Linux", "uml"),
        ("^model name.*UML", "uml"),
        ("^machine.*CHRP IBM pSeries .emulated by qemu.", "kvm"),
        ("^vendor_id.*PowerVM Lx86", "powervm_lx86"),
        ("^vendor_id.*IBM/S390", "PR/SM"),
    ]
    .into_iter()
    .map(|(p, t)| (re(p), t))
    .collect()
});

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(s))
}

/// The facts as the checks build them up.
#[derive(Default)]
struct Virt {
    kind: Option<String>,
    role: Option<String>,
    found: bool,
    guest: Vec<String>,
    host: Vec<String>,
}

impl Virt {
    fn add_guest(&mut self, tech: &str) {
        if !self.guest.iter().any(|t| t == tech) {
            self.guest.push(tech.to_string());
        }
    }

    fn add_host(&mut self, tech: &str) {
        if !self.host.iter().any(|t| t == tech) {
            self.host.push(tech.to_string());
        }
    }

    /// Type and role from the first check that finds something.
    fn claim(&mut self, kind: &str, role: &str) {
        if !self.found {
            self.kind = Some(kind.to_string());
            self.role = Some(role.to_string());
            self.found = true;
        }
    }

    /// A guest technology, and the type (without touching the role).
    fn guest_type(&mut self, tech: &str) {
        self.add_guest(tech);
        if !self.found {
            self.kind = Some(tech.to_string());
            self.found = true;
        }
    }

    /// Containers: cgroups, pid 1's environment, OpenVZ, systemd, Docker.
    fn containers(&mut self, hw: &Lines) {
        for line in hw.all("cgroup1") {
            if matches(&DOCKER, line) {
                self.add_guest("docker");
                self.claim("docker", "guest");
            }
            if line.contains("/lxc/") || matches(&LXC_MACHINE, line) {
                self.add_guest("lxc");
                self.claim("lxc", "guest");
            }
            if matches(&CONTAINERD, line) {
                self.add_guest("containerd");
                self.claim("containerd", "guest");
            }
        }
        for item in hw.all("env1") {
            for tech in item.split_whitespace() {
                self.add_guest(tech);
                self.claim(tech, "guest");
            }
        }
        let exists = |name: &str| hw.all("exists").any(|e| e == name);
        if exists("vz") && !exists("lve") {
            self.kind = Some("openvz".into());
            let role = if exists("bc") {
                self.add_host("openvz");
                "host"
            } else {
                self.add_guest("openvz");
                "guest"
            };
            if !self.found {
                self.role = Some(role.into());
            }
            self.found = true;
        }
        let systemd = hw
            .all("sdcontainer")
            .find_map(|l| l.strip_prefix("container "));
        if let Some(name) = systemd {
            self.add_guest(name);
            self.claim(name, "guest");
        }
        if exists("dockerenv") || exists("dockerinit") {
            self.add_guest("docker");
            self.claim("docker", "guest");
        }
        let engines = ["docker", "lxc", "podman", "openvz", "containerd"];
        if systemd.is_some() || self.guest.iter().any(|t| engines.contains(&t.as_str())) {
            self.add_guest("container");
        }
        if exists("xen") {
            if hw.has("xencap") {
                self.add_host("xen");
                self.claim("xen", "host");
            } else {
                self.claim("xen", "guest");
            }
            self.found = true;
        }
    }

    /// The hypervisor DMI names (guest checks, role left as assumed).
    fn dmi(&mut self, hw: &Lines) {
        let dmi = |file: &str| {
            hw.all("dmi")
                .find_map(|l| l.strip_prefix(file)?.strip_prefix(' '))
        };
        let product = dmi("product_name");
        let vendor = dmi("sys_vendor");
        let bios = dmi("bios_vendor");
        let is = |v: Option<&str>, names: &[&str]| v.is_some_and(|v| names.contains(&v));
        if is(
            product,
            &[
                "KVM",
                "KVM Server",
                "Bochs",
                "AHV",
                "CloudStack KVM Hypervisor",
            ],
        ) {
            self.guest_type("kvm");
        }
        if vendor == Some("oVirt") {
            self.guest_type("oVirt");
        }
        if vendor == Some("Red Hat") {
            if dmi("product_family") == Some("RHV") {
                self.guest_type("RHV");
            } else if product == Some("RHEV Hypervisor") {
                self.guest_type("RHEV");
            }
        }
        if product.is_some_and(|p| p.starts_with("VMware")) {
            self.guest_type("VMware");
        }
        if is(product, &["OpenStack Compute", "OpenStack Nova"]) {
            self.guest_type("openstack");
        }
        if bios == Some("Xen") {
            self.guest_type("xen");
        }
        if bios == Some("innotek GmbH") {
            self.guest_type("virtualbox");
        }
        if is(bios, &["Amazon EC2", "DigitalOcean", "Hetzner", "Linode"]) {
            self.guest_type("kvm");
        }
        let kvm_vendors = [
            "QEMU",
            "Amazon EC2",
            "DigitalOcean",
            "Google",
            "Scaleway",
            "Nutanix",
        ];
        if is(vendor, &kvm_vendors) {
            self.guest_type("kvm");
        }
        if vendor == Some("KubeVirt") {
            self.guest_type("KubeVirt");
        }
        if vendor == Some("Microsoft Corporation") {
            self.guest_type("VirtualPC");
        }
        if vendor == Some("Parallels Software International Inc.") {
            self.guest_type("parallels");
        }
        if vendor == Some("OpenStack Foundation") {
            self.guest_type("openstack");
        }
    }

    /// Linux-VServer contexts.
    fn vserver(&mut self, hw: &Lines) {
        for line in hw.all("vxid").filter(|l| matches(&VXID, l)) {
            if !self.found {
                self.kind = Some("linux_vserver".into());
            }
            let (role, host) = if matches(&VXID_HOST, line) {
                ("host", true)
            } else {
                ("guest", false)
            };
            if host {
                self.add_host("linux_vserver");
            } else {
                self.add_guest("linux_vserver");
            }
            if !self.found {
                self.role = Some(role.into());
            }
            self.found = true;
        }
    }

    /// Virtual CPUs named in `/proc/cpuinfo` (and s390's hypervisor).
    fn cpuinfo(&mut self, hw: &Lines) {
        for line in hw.all("cpu") {
            let Some(tech) = CPU_TECH
                .iter()
                .find(|(re, _)| re.as_ref().is_some_and(|re| re.is_match(line)))
                .map(|(_, t)| *t)
            else {
                continue;
            };
            self.add_guest(tech);
            if !self.found {
                self.kind = Some(tech.into());
            }
            if tech == "PR/SM" {
                self.s390_hypervisor(hw);
            }
            if !self.found {
                let lpar = self.kind.as_deref() == Some("PR/SM");
                self.role = Some(if lpar { "LPAR" } else { "guest" }.into());
                self.found = true;
            }
        }
    }

    /// s390: the `Hypervisor` lscpu names, or `ibm_systemz` without lscpu.
    fn s390_hypervisor(&mut self, hw: &Lines) {
        if !hw.has("lscpu") {
            self.add_guest("ibm_systemz");
            if !self.found {
                self.kind = Some("ibm_systemz".into());
            }
            return;
        }
        for line in hw.all("lscpuline") {
            let (key, val) = line.split_once(':').unwrap_or((line, ""));
            if key.trim() == "Hypervisor" {
                let tech = val.trim();
                self.add_guest(tech);
                if !self.found {
                    self.kind = Some(tech.into());
                }
            }
        }
    }

    /// Hypervisor modules, `dmidecode` (read from sysfs) and `/dev/kvm`.
    fn host_side(&mut self, hw: &Lines) {
        let module = |name: &str| hw.all("mod").any(|m| m == name);
        if module("kvm") {
            self.add_host("kvm");
            if !self.found {
                self.kind = Some("kvm".into());
                self.role = Some("host".into());
            }
            if hw.has("vdsm") {
                self.add_host("RHEV");
                if !self.found {
                    self.kind = Some("RHEV".into());
                }
            }
            self.found = true;
        }
        if module("vboxdrv") {
            self.add_host("virtualbox");
            self.claim("virtualbox", "host");
        }
        if module("virtio") {
            self.add_host("kvm");
            self.claim("kvm", "guest");
        }
        let root = hw.first("uid") == Some("0");
        if hw.has("dmidecode") && root {
            let product = hw.all("dmi").find_map(|l| l.strip_prefix("product_name "));
            if let Some(product) = product {
                if product.starts_with("VMware") {
                    self.add_guest("VMware");
                    self.claim("VMware", "guest");
                }
                if product.contains("BHYVE") {
                    self.add_guest("bhyve");
                    self.claim("bhyve", "guest");
                }
            }
        }
        if hw.all("exists").any(|e| e == "kvmdev") {
            self.add_host("kvm");
            self.claim("kvm", "host");
        }
    }
}

/// Adds the four virtualization facts.
pub(super) fn add(hw: &Lines, facts: &mut Map<String, Value>) {
    let mut v = Virt::default();
    v.containers(hw);
    // Assume a guest for the DMI checks; no DMI match takes it back.
    if !v.found {
        v.role = Some("guest".into());
    }
    v.dmi(hw);
    if !v.found {
        v.role = None;
    }
    v.vserver(hw);
    v.cpuinfo(hw);
    v.host_side(hw);
    if !v.found {
        v.kind = Some("NA".into());
        v.role = Some("NA".into());
    }
    facts.insert("virtualization_type".into(), json!(v.kind));
    facts.insert("virtualization_role".into(), json!(v.role));
    facts.insert("virtualization_tech_guest".into(), json!(v.guest));
    facts.insert("virtualization_tech_host".into(), json!(v.host));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virt(out: &str) -> (Value, Value, Value, Value) {
        let mut f = Map::new();
        add(&Lines::new(out), &mut f);
        (
            f["virtualization_type"].clone(),
            f["virtualization_role"].clone(),
            f["virtualization_tech_guest"].clone(),
            f["virtualization_tech_host"].clone(),
        )
    }

    #[test]
    fn docker_with_dev_kvm() {
        let out = "hw.cgroup1 0::/\nhw.exists dockerenv\nhw.exists kvmdev\n";
        assert_eq!(
            virt(out),
            (
                json!("docker"),
                json!("guest"),
                json!(["docker", "container"]),
                json!(["kvm"])
            )
        );
    }

    #[test]
    fn docker_cgroup_v1() {
        let out = "hw.cgroup1 12:pids:/docker/0123abcd\nhw.cgroup1 1:name=systemd:/system.slice/docker-0123abcd.scope\n";
        let (t, r, g, h) = virt(out);
        assert_eq!(
            (t, r, g, h),
            (
                json!("docker"),
                json!("guest"),
                json!(["docker", "container"]),
                json!([])
            )
        );
    }

    #[test]
    fn systemd_nspawn_and_podman() {
        let (t, _, g, _) = virt("hw.sdcontainer container systemd-nspawn\n");
        assert_eq!(t, "systemd-nspawn");
        assert_eq!(g, json!(["systemd-nspawn", "container"]));
        let (t, r, g, _) = virt("hw.env1 podman container\n");
        assert_eq!((t, r), (json!("podman"), json!("guest")));
        assert_eq!(g, json!(["podman", "container"]));
    }

    #[test]
    fn kvm_guest_by_dmi_keeps_assumed_role() {
        let out = "hw.dmi product_name Standard PC (Q35 + ICH9, 2009)\nhw.dmi sys_vendor QEMU\nhw.dmi bios_vendor SeaBIOS\n";
        assert_eq!(
            virt(out),
            (json!("kvm"), json!("guest"), json!(["kvm"]), json!([]))
        );
    }

    #[test]
    fn bare_metal_kvm_host() {
        let out = "hw.dmi sys_vendor Dell Inc.\nhw.mod kvm\nhw.exists kvmdev\n";
        assert_eq!(
            virt(out),
            (json!("kvm"), json!("host"), json!([]), json!(["kvm"]))
        );
    }

    #[test]
    fn nothing_found() {
        assert_eq!(virt(""), (json!("NA"), json!("NA"), json!([]), json!([])));
    }

    #[test]
    fn qemu_cpu_without_dmi() {
        let out = "hw.cpu model name\t: QEMU Virtual CPU version 2.5+\n";
        assert_eq!(
            virt(out),
            (json!("kvm"), json!("guest"), json!(["kvm"]), json!([]))
        );
    }

    #[test]
    fn xen_dom0_and_openvz() {
        let (t, r, _, h) = virt("hw.exists xen\nhw.xencap\n");
        assert_eq!((t, r, h), (json!("xen"), json!("host"), json!(["xen"])));
        let (t, r, g, _) = virt("hw.exists vz\n");
        assert_eq!(
            (t, r, g),
            (
                json!("openvz"),
                json!("guest"),
                json!(["openvz", "container"])
            )
        );
    }

    #[test]
    fn s390_lpar() {
        let out = "hw.cpu vendor_id       : IBM/S390\n";
        assert_eq!(
            virt(out),
            (
                json!("ibm_systemz"),
                json!("guest"),
                json!(["PR/SM", "ibm_systemz"]),
                json!([])
            )
        );
        let out = "hw.cpu vendor_id : IBM/S390\nhw.lscpu\nhw.lscpuline Model name: x\n";
        assert_eq!(virt(out).0, "PR/SM");
        assert_eq!(virt(out).1, "LPAR");
        let out = "hw.cpu vendor_id : IBM/S390\nhw.lscpu\nhw.lscpuline Hypervisor:  z/VM 7.1.0\n";
        assert_eq!(virt(out).0, "z/VM 7.1.0");
        assert_eq!(virt(out).2, json!(["PR/SM", "z/VM 7.1.0"]));
    }

    #[test]
    fn vmware_by_dmidecode_as_root() {
        let out = "hw.dmidecode\nhw.uid 0\nhw.dmi product_name VMware7,1\n";
        assert_eq!(
            virt(out),
            (
                json!("VMware"),
                json!("guest"),
                json!(["VMware"]),
                json!([])
            )
        );
    }
}
