//! The VM tests fail with a clear message when the VM cannot run, instead of
//! being skipped: without qemu on PATH, the tests' boot helper (which runs
//! `vagrant/testvm.sh up`) fails naming the missing command and the way to
//! install it, and boots nothing. Needs no VM and takes milliseconds.

use std::path::Path;

mod vm_common;

/// A directory of links to every command on the usual PATH except qemu's.
fn path_without_qemu(bin: &Path) {
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = bin.join(&name);
            if name.to_string_lossy().starts_with("qemu-system") || link.exists() {
                continue;
            }
            std::os::unix::fs::symlink(e.path(), &link)
                .unwrap_or_else(|err| panic!("link {}: {err}", link.display()));
        }
    }
}

#[test]
fn vm_up_without_qemu_names_it_and_boots_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    path_without_qemu(tmp.path());
    assert!(
        !tmp.path().join("qemu-system-x86_64").exists()
            && tmp.path().join("bash").exists()
            && tmp.path().join("ssh").exists(),
        "the test PATH should lack only qemu"
    );
    let pid_file = vm_common::root().join("vagrant/.vm/qemu.pid");
    let before = std::fs::read_to_string(&pid_file).ok();

    let err = vm_common::boot(Some(tmp.path().as_os_str().to_owned()))
        .expect_err("`vagrant/testvm.sh up` succeeded without qemu on PATH");

    for want in [
        "the test VM did not boot",
        "missing command(s): qemu-system-x86_64",
        "run 'vagrant/testvm.sh deps' (as root)",
    ] {
        assert!(err.contains(want), "the failure says `{want}`:\n{err}");
    }
    assert_eq!(
        std::fs::read_to_string(&pid_file).ok(),
        before,
        "testvm.sh touched the VM's pid file although it could not boot"
    );
}
