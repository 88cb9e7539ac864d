//! Shared by the VM test binaries: boot (or reuse) the test VM, run commands
//! in it, and an inventory that reaches it with the repository's generated key
//! and host key.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// stdout and stderr of a finished command, as one text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `vagrant/testvm.sh ARGS` from the repository root. A busy machine boots
/// the TCG guest slowly: `up` and `reboot` wait up to 600 s for ssh, more
/// than testvm's default 240 s.
pub fn testvm(args: &[&str]) -> Output {
    let script = root().join("vagrant/testvm.sh");
    assert!(script.exists(), "missing {}", script.display());
    Command::new(&script)
        .current_dir(root())
        .args(args)
        .env("RPROV_VM_BOOT_TIMEOUT", "600")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
}

/// `vagrant/testvm.sh up`, failing the test with what the script said when the
/// VM does not come up. Reuses a running VM as it is.
pub fn up() {
    let up = testvm(&["up"]);
    assert!(
        up.status.success(),
        "the test VM did not boot (`vagrant/testvm.sh up` failed; see vagrant/README.md for qemu, debootstrap and the image build):\n{}",
        text(&up)
    );
}

/// A fresh VM: `down`, then `up`. The disk runs with `snapshot=on`, so the
/// boot after a `down` starts from the clean image whatever ran before.
pub fn up_fresh() {
    let down = testvm(&["down"]);
    assert!(
        down.status.success(),
        "`vagrant/testvm.sh down` failed:\n{}",
        text(&down)
    );
    up();
}

/// `vagrant/testvm.sh reboot`: the guest reboots (its disk state kept) and
/// ssh answers from the new boot.
pub fn reboot() {
    let r = testvm(&["reboot"]);
    assert!(
        r.status.success(),
        "`vagrant/testvm.sh reboot` failed:\n{}",
        text(&r)
    );
}

/// Runs `sh` text in the VM as root: (success, stdout + stderr).
pub fn vm_sh(script: &str) -> (bool, String) {
    let out = testvm(&["ssh", "sudo", "sh", "-c", &rprov_transport::quote(script)]);
    (out.status.success(), text(&out))
}

/// Writes `dir/hosts.ini` with the VM as host `vm` of group `vagrant`.
pub fn write_inventory(dir: &Path) {
    let key = root().join("vagrant/.vm/id_ed25519");
    let kh = root().join("vagrant/.vm/known_hosts");
    std::fs::write(
        dir.join("hosts.ini"),
        format!(
            "[vagrant]\nvm ansible_host=127.0.0.1 ansible_port=2222 ansible_user=vagrant ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'\n",
            key.display(),
            kh.display()
        ),
    )
    .expect("inventory");
}
