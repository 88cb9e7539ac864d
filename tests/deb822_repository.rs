//! `deb822_repository` and `apt_repository` over a real sshd, as root
//! through `become`: each writes its file into the host's
//! /etc/apt/sources.list.d (neither module has another destination) with
//! ansible-core's text and mode; a second run changes nothing, `--check`
//! writes nothing, and `state: absent` removes it. The files have random
//! names and are removed whatever happens.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{apply_json, USER};
use rprov_testbed::Sshd;

/// Removes the test's file however the test ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[test]
fn sources_file_written_reapplied_and_removed_as_root() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("rprov-test-{}-{nanos}", std::process::id());
    let path = PathBuf::from(format!("/etc/apt/sources.list.d/{name}.sources"));
    let _cleanup = Cleanup(path.clone());
    let task = |state: &str| {
        format!(
            r#"- hosts: web1
  gather_facts: false
  tasks:
    - deb822_repository:
        name: "{name}"
        types: [deb, deb-src]
        uris: http://deb.example.org/debian
        suites: bookworm
        components: [main, contrib]
        enabled: false
        signed_by: |
          -----BEGIN PGP PUBLIC KEY BLOCK-----

          mQINBGE
          -----END PGP PUBLIC KEY BLOCK-----
        state: {state}
      become: true
"#
        )
    };
    fs::write(work.path().join("present.yml"), task("present")).expect("playbook");
    fs::write(work.path().join("absent.yml"), task("absent")).expect("playbook");
    let want = format!(
        "Components: main contrib\nEnabled: no\nX-Repolib-Name: {name}\nSigned-By:\n    \
         -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mQINBGE\n    \
         -----END PGP PUBLIC KEY BLOCK-----\nSuites: bookworm\nTypes: deb deb-src\n\
         URIs: http://deb.example.org/debian\n"
    );

    let check = apply_json(work.path(), &inv, &["--check", "present.yml"]);
    check.expect_code(0);
    assert_eq!(check.recap("web1")["changed"], 1, "{}", check.dump());
    assert!(!path.exists(), "--check wrote {}", path.display());

    let first = apply_json(work.path(), &inv, &["present.yml"]);
    first.expect_code(0);
    assert_eq!(first.recap("web1")["changed"], 1, "{}", first.dump());
    assert_eq!(fs::read_to_string(&path).expect("sources file"), want);
    let md = fs::metadata(&path).expect("sources file");
    assert_eq!(md.permissions().mode() & 0o7777, 0o644);
    let result = &first.tasks()[0]["result"];
    assert_eq!(result["repo"], want.as_str(), "{}", first.dump());
    assert_eq!(result["dest"], path.display().to_string());

    let second = apply_json(work.path(), &inv, &["present.yml"]);
    second.expect_code(0);
    assert_eq!(second.recap("web1")["changed"], 0, "{}", second.dump());

    let gone = apply_json(work.path(), &inv, &["absent.yml"]);
    gone.expect_code(0);
    assert_eq!(gone.recap("web1")["changed"], 1, "{}", gone.dump());
    assert!(!path.exists());
    let again = apply_json(work.path(), &inv, &["absent.yml"]);
    again.expect_code(0);
    assert_eq!(again.recap("web1")["changed"], 0, "{}", again.dump());
}

/// `apt_repository` the same way: a `deb` line in its own `.list` file
/// (`filename`), no cache update; re-applied, then removed.
#[test]
fn list_file_written_reapplied_and_removed_as_root() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("rprov-test-{}-{nanos}", std::process::id());
    let path = PathBuf::from(format!("/etc/apt/sources.list.d/{name}.list"));
    let _cleanup = Cleanup(path.clone());
    let task = |state: &str| {
        format!(
            r#"- hosts: web1
  gather_facts: false
  tasks:
    - apt_repository:
        repo: "deb [trusted=yes] http://deb.example.org/{name} stable main"
        filename: "{name}"
        mode: "0600"
        update_cache: false
        state: {state}
      become: true
"#
        )
    };
    fs::write(work.path().join("present.yml"), task("present")).expect("playbook");
    fs::write(work.path().join("absent.yml"), task("absent")).expect("playbook");

    let check = apply_json(work.path(), &inv, &["--check", "present.yml"]);
    check.expect_code(0);
    assert_eq!(check.recap("web1")["changed"], 1, "{}", check.dump());
    assert!(!path.exists(), "--check wrote {}", path.display());

    let first = apply_json(work.path(), &inv, &["present.yml"]);
    first.expect_code(0);
    assert_eq!(first.recap("web1")["changed"], 1, "{}", first.dump());
    assert_eq!(
        fs::read_to_string(&path).expect("list file"),
        format!("deb [trusted=yes] http://deb.example.org/{name} stable main\n")
    );
    let md = fs::metadata(&path).expect("list file");
    assert_eq!(md.permissions().mode() & 0o7777, 0o600);

    let second = apply_json(work.path(), &inv, &["present.yml"]);
    second.expect_code(0);
    assert_eq!(second.recap("web1")["changed"], 0, "{}", second.dump());

    let gone = apply_json(work.path(), &inv, &["absent.yml"]);
    gone.expect_code(0);
    assert_eq!(gone.recap("web1")["changed"], 1, "{}", gone.dump());
    assert!(!path.exists());
}
