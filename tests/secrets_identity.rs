//! Issue 4 audit: identities. A passphrase-protected SSH key works with
//! `--passphrase-file`; a wrong passphrase and a missing terminal are told as
//! such (not as a damaged file, not as "not encrypted to any identity"); on a
//! terminal the passphrase is asked once for all the files of a run; and a
//! broken identity found by discovery does not hide a good one.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::age::{encrypt_to, encrypt_to_file, keygen};
use common::{rprov_detached, Run};

/// rprov in `home` (its `HOME`), detached from any terminal.
fn rprov_at(home: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    rprov_detached(home, args, Some(home), env)
}

const KEY_PASS: &str = "key-pass-7";
const SECRET: &str = "ssh-key-protected-secret-88";

/// Encrypts to the public half of the SSH key `key` (`key.pub`).
fn encrypt_to_file_key(plain: &str, key: &Path, out: &Path) {
    encrypt_to_file(plain, &key.with_extension("pub"), out);
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An ed25519 key protected by `KEY_PASS`, and files encrypted to it.
fn ssh_key(dir: &Path) -> PathBuf {
    let key = dir.join("id_ed25519");
    ok(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", KEY_PASS, "-C", "test", "-f"])
        .arg(&key));
    key
}

#[test]
fn passphrase_protected_ssh_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let key = ssh_key(home);
    let file = home.join("secrets.age");
    encrypt_to_file_key(&format!("pw: {SECRET}\n"), &key, &file);
    let (key_s, file_s) = (key.display().to_string(), file.display().to_string());
    let view = |extra: &[&str]| {
        let mut a = vec!["secrets", "--file", &file_s, "--identity", &key_s];
        a.extend_from_slice(extra);
        a.push("view");
        rprov_at(home, &a, &[])
    };

    let good = home.join("good.txt");
    fs::write(&good, format!("{KEY_PASS}\n")).expect("write");
    let run = view(&["--passphrase-file", &good.display().to_string()]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("pw: {SECRET}\n"));

    let bad = home.join("bad.txt");
    fs::write(&bad, "not-the-pass\n").expect("write");
    let run = view(&["--passphrase-file", &bad.display().to_string()]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "wrong passphrase for SSH key {key_s} (read from --passphrase-file {})",
            bad.display()
        )),
        "{}",
        run.dump()
    );
    assert!(!run.stderr.contains("damaged"), "{}", run.dump());

    let run = view(&[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "SSH key {key_s} needs a passphrase, and there is no terminal to ask on; pass --passphrase-file FILE"
        )),
        "{}",
        run.dump()
    );
    assert!(!run.stderr.contains("not encrypted to"), "{}", run.dump());

    // A file not encrypted to the key never asks for its passphrase.
    let (other_id, other_pub) = keygen(home, "other.txt");
    let other_file = home.join("other.age");
    encrypt_to(&format!("pw: {SECRET}\n"), &other_pub, &other_file);
    let run = rprov_at(
        home,
        &[
            "secrets",
            "--file",
            &other_file.display().to_string(),
            "--identity",
            &key_s,
            "--identity",
            &other_id.display().to_string(),
            "view",
        ],
        &[],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, format!("pw: {SECRET}\n"));
}

/// On a terminal the key's passphrase is asked once, for secrets.age and a
/// vars file both encrypted to it (`script` gives rprov a terminal; the
/// passphrase is typed once, and a second prompt would read end of file).
#[test]
fn ssh_key_passphrase_is_asked_once_per_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let key = ssh_key(home);
    encrypt_to_file_key("pw: first-secret-0001\n", &key, &home.join("secrets.age"));
    encrypt_to_file_key("more: second-secret-0002\n", &key, &home.join("more.age"));
    fs::write(
        home.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  vars_files: [more.age]\n  tasks:\n    - debug:\n        msg: \"{{ pw }} {{ more }}\"\n",
    )
    .expect("playbook");
    fs::write(home.join("hosts.ini"), "ctl ansible_connection=local\n").expect("inventory");
    let cmd = format!(
        "{} apply -i hosts.ini --identity {} site.yml",
        env!("CARGO_BIN_EXE_rprov"),
        key.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(sleep 2; printf '%s\\n' '{KEY_PASS}') | script -qec '{cmd}' /dev/null"
        ))
        .current_dir(home)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("RPROV_AGE_IDENTITY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .output()
        .expect("sh and script (bsdutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.matches("Passphrase for SSH key").count(),
        1,
        "asked more than once:\n{text}"
    );
    assert!(text.contains("«secret:pw» «secret:more»"), "{text}");
    assert!(!text.contains("first-secret-0001"), "{text}");
}

/// A broken `$RPROV_AGE_IDENTITY` is skipped with a warning when the default
/// identity works; named with `--identity`, the same file is an error.
#[test]
fn a_broken_discovered_identity_does_not_hide_a_good_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let config = home.join(".config/rprov");
    fs::create_dir_all(&config).expect("mkdir");
    let (_, public) = keygen(&config, "identity.txt");
    let file = home.join("secrets.age");
    encrypt_to(&format!("pw: {SECRET}\n"), &public, &file);
    let junk = home.join("junk.txt");
    fs::write(&junk, "not a key\n").expect("write");
    let file_s = file.display().to_string();

    let run = rprov_at(
        home,
        &["secrets", "--file", &file_s, "view"],
        &[("RPROV_AGE_IDENTITY", &junk)],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, format!("pw: {SECRET}\n"));
    assert!(
        run.stderr.contains(&format!(
            "warning: identity {} (from RPROV_AGE_IDENTITY)",
            junk.display()
        )),
        "{}",
        run.dump()
    );

    let run = rprov_at(
        home,
        &[
            "secrets",
            "--file",
            &file_s,
            "--identity",
            &junk.display().to_string(),
            "view",
        ],
        &[],
    );
    run.expect_code(1);
    assert!(
        run.stderr
            .contains(&format!("identity {} (from --identity)", junk.display())),
        "{}",
        run.dump()
    );
}
