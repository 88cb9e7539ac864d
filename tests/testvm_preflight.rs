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

/// The image build uses the Debian mirror (and HTTP proxy) this machine's apt
/// is configured with, read from its sources, unless RPROV_VM_MIRROR says
/// otherwise: a machine behind a local mirror or apt cache builds the image.
/// The apt configuration is a stand-in given through APT_CONFIG.
#[test]
fn image_build_uses_apts_mirror_and_proxy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::create_dir_all(d.join("parts")).expect("mkdir");
    // The machine's own release: the script picks the source of that suite.
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let codename = os
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .unwrap_or_else(|| panic!("no VERSION_CODENAME in /etc/os-release:\n{os}"));
    std::fs::write(
        d.join("sources.list"),
        format!(
            "deb http://mirror.example:3142/debian-security {codename}-security main\n\
             deb http://mirror.example:3142/debian {codename} main\n"
        ),
    )
    .expect("sources.list");
    std::fs::write(
        d.join("apt.conf"),
        format!(
            "Dir::Etc::SourceList \"{0}/sources.list\";\nDir::Etc::SourceParts \"{0}/parts\";\nAcquire::http::Proxy \"http://proxy.example:8080\";\n",
            d.display()
        ),
    )
    .expect("apt.conf");
    let run = |mirror: Option<&str>| {
        let mut cmd = std::process::Command::new(vm_common::root().join("vagrant/testvm.sh"));
        cmd.arg("mirror")
            .env("APT_CONFIG", d.join("apt.conf"))
            .env_remove("http_proxy")
            .env_remove("RPROV_VM_MIRROR");
        if let Some(m) = mirror {
            cmd.env("RPROV_VM_MIRROR", m);
        }
        let out = cmd.output().expect("run vagrant/testvm.sh mirror");
        assert!(out.status.success(), "{}", vm_common::text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        run(None),
        "http://mirror.example:3142/debian (proxy http://proxy.example:8080)"
    );
    assert_eq!(
        run(Some("http://other.example/debian")),
        "http://other.example/debian (proxy http://proxy.example:8080)"
    );
}
