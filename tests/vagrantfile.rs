//! Issue 15: `vagrant/Vagrantfile` is exercised, as far as this machine can:
//! `vagrant validate --ignore-provider` loads it with the real Vagrant
//! (Debian's `vagrant` package, installed by scripts/testenv.sh) and checks
//! every config option; no provider (VirtualBox, libvirt) is installed here,
//! so no box is booted or provisioned (vagrant/README.md says what was and was
//! not tested). A copy with an option Vagrant does not know must fail the same
//! check, so a pass means something.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `vagrant validate --ignore-provider` in `dir`, with Vagrant's state
/// (`.vagrant/`) in a temp dir rather than the checkout.
fn validate(dir: &Path) -> Output {
    let state = tempfile::tempdir().expect("tempdir");
    Command::new("vagrant")
        .args(["validate", "--ignore-provider", "--no-color"])
        .current_dir(dir)
        .env("VAGRANT_DOTFILE_PATH", state.path())
        .env("VAGRANT_CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `vagrant` ({e}): install it with scripts/testenv.sh (apt-get install vagrant)")
        })
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn vagrantfile_validates() {
    let out = validate(&root().join("vagrant"));
    assert!(
        out.status.success() && text(&out).contains("Vagrantfile validated successfully"),
        "vagrant validate failed on vagrant/Vagrantfile:\n{}",
        text(&out)
    );

    // The same file with an option Vagrant does not have is refused.
    let copy = tempfile::tempdir().expect("tempdir");
    let original =
        std::fs::read_to_string(root().join("vagrant/Vagrantfile")).expect("vagrant/Vagrantfile");
    let broken = original.replacen(
        "Vagrant.configure(\"2\") do |config|",
        "Vagrant.configure(\"2\") do |config|\n  config.vm.no_such_option = 1",
        1,
    );
    assert_ne!(broken, original, "the Vagrantfile's configure block moved");
    std::fs::write(copy.path().join("Vagrantfile"), broken).expect("write copy");
    let out = validate(copy.path());
    assert!(
        !out.status.success() && text(&out).contains("no_such_option"),
        "vagrant validate accepted an unknown option:\n{}",
        text(&out)
    );
}
