//! Shared by the VM test binaries: boot (or reuse) the test VM, and an
//! inventory that reaches it with the repository's generated key and host key.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `vagrant/testvm.sh up`, failing the test with what the script said when the
/// VM does not come up. A busy machine boots the TCG guest slowly: allow more
/// than testvm's default 240 s.
pub fn up() {
    let script = root().join("vagrant/testvm.sh");
    assert!(script.exists(), "missing {}", script.display());
    let up = Command::new(&script)
        .arg("up")
        .env("RPROV_VM_BOOT_TIMEOUT", "600")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        up.status.success(),
        "the test VM did not boot (`vagrant/testvm.sh up` failed; see vagrant/README.md for qemu, debootstrap and the image build):\n{}{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr)
    );
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
