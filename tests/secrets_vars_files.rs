//! Issue 4 audit: encrypted `vars_files`, an inline `!vault` play variable,
//! and vault files in `group_vars/` and
//! `host_vars/`, for two hosts. A passphrase age file (`--passphrase-file`),
//! an Ansible vault file and an inline `!vault` value (`--vault-password-file`),
//! an age file whose path needs a host variable, and vaults next to the
//! inventory: both hosts get every value, byte for byte (`{{` in a vault value
//! included), and none is printed. Without the passphrase (and no terminal) or
//! without the vault password, the run stops before any host is contacted,
//! once, with a message naming the file and the flag.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use age::secrecy::SecretString;
use common::{copy_dir, fixtures, rprov, rprov_detached, target_dir, Run, USER};
use rprov_testbed::Sshd;

const PP_SECRET: &str = "pass-phrase-file-secret-31";
const ENV_SECRET: &str = "per-env-secret-{{ nope }}-12";
const VAULT_DB: &str = "v@ult {{ not_a_var }} pw";
const PLAINTEXT_SECRETS: &[&str] = &[
    PP_SECRET,
    ENV_SECRET,
    VAULT_DB,
    "vault-token-4242",
    "file-inline-secret-66",
    "group-vault-secret-77",
    "host-inline-secret-55",
    "play-inline-secret-88",
];

/// A passphrase-encrypted age file, made with the age crate (work factor 10,
/// so the test is quick; `age -p` interop is tested in rprov-secrets).
fn age_passphrase(plain: &str, pass: &str, out: &Path) {
    let mut r = age::scrypt::Recipient::new(SecretString::from(pass.to_owned()));
    r.set_work_factor(10);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .expect("encryptor");
    let mut bytes = Vec::new();
    let mut w = enc.wrap_output(&mut bytes).expect("wrap");
    w.write_all(plain.as_bytes()).expect("write");
    w.finish().expect("finish");
    fs::write(out, bytes).expect("write age file");
}

fn assert_nothing_printed(run: &Run) {
    for s in PLAINTEXT_SECRETS {
        assert!(!run.all().contains(s), "`{s}` leaked:\n{}", run.dump());
    }
}

#[test]
fn encrypted_vars_files_and_inventory_vaults_reach_both_hosts() {
    let a = Sshd::start(USER).expect("sshd a");
    let b = Sshd::start(USER).expect("sshd b");
    let work = tempfile::tempdir().expect("tempdir");
    let site = work.path().join("site");
    copy_dir(&fixtures().join("secrets_vars"), &site);
    let (id, recipient) = common::age::keygen(work.path(), "id.txt");
    age_passphrase(
        &format!("pp_secret: {PP_SECRET}\n"),
        "pp-pass-9",
        &site.join("pp.age"),
    );
    fs::create_dir_all(site.join("per-env")).expect("mkdir");
    common::age::encrypt_to(
        &format!("env_secret: '{ENV_SECRET}'\n"),
        &recipient,
        &site.join("per-env/prod.age"),
    );
    let pass = work.path().join("pp.txt");
    fs::write(&pass, "pp-pass-9\n").expect("passphrase file");

    let (t1, t2) = (target_dir(USER), target_dir(USER));
    // The inventory lives beside group_vars/ and host_vars/.
    let inv = site.join("hosts.ini");
    fs::write(
        &inv,
        format!(
            "{} target={} env_name=prod\n{} target={} env_name=prod\n",
            a.inventory_line("h1"),
            t1.path().display(),
            b.inventory_line("h2"),
            t2.path().display()
        ),
    )
    .expect("inventory");
    let vault_pw = site.join("vault-password.txt");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "apply".into(),
            "-i".into(),
            inv.display().to_string(),
            "--identity".into(),
            id.display().to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(site.join("site.yml").display().to_string());
        v
    };
    let pass_arg = pass.display().to_string();
    let vault_arg = vault_pw.display().to_string();

    let run = rprov(
        work.path(),
        args(&[
            "--passphrase-file",
            &pass_arg,
            "--vault-password-file",
            &vault_arg,
            "--diff",
            "-v",
        ]),
    );
    run.expect_code(0);
    assert_nothing_printed(&run);
    assert!(
        run.stdout.contains("+vault=«secret:vault_db_password»"),
        "{}",
        run.dump()
    );
    let expected = |host_secret: &str| {
        format!(
            "pp={PP_SECRET}\nvault={VAULT_DB}\ntoken=vault-token-4242\ninline=file-inline-secret-66\n\
             plain=plain-value\nenv={ENV_SECRET}\ngroup=group-vault-secret-77\nhost={host_secret}\n\
             play=play-inline-secret-88\n"
        )
    };
    for (dir, host_secret) in [(&t1, "host-inline-secret-55"), (&t2, "none")] {
        let got = fs::read_to_string(dir.path().join("values.txt")).expect("values.txt");
        assert_eq!(got, expected(host_secret));
    }

    // `rprov inventory` reads the same vaults and shows their values masked.
    let inv_arg = inv.display().to_string();
    let host_h1 = |password_file: &str| {
        rprov(
            work.path(),
            [
                "inventory",
                "-i",
                &inv_arg,
                "--host",
                "h1",
                "--vault-password-file",
                password_file,
            ],
        )
    };
    let run = host_h1(&vault_arg);
    run.expect_code(0);
    assert_nothing_printed(&run);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(shown["gv_secret"], "«secret:gv_secret»", "{}", run.dump());
    assert_eq!(shown["hv_secret"], "«secret:hv_secret»", "{}", run.dump());
    assert_eq!(shown["host_plain"], "not-secret", "{}", run.dump());

    // A password script named without a directory is the file in the
    // current directory, as in Ansible (`--vault-password-file vaultpass`),
    // not a program looked up on PATH.
    let pw = fs::read_to_string(&vault_pw).expect("vault password");
    let script = work.path().join("vaultpass");
    fs::write(&script, format!("#!/bin/sh\necho '{}'\n", pw.trim())).expect("script");
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let run = host_h1("vaultpass");
    run.expect_code(0);
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(shown["gv_secret"], "«secret:gv_secret»", "{}", run.dump());
    let run = rprov(work.path(), ["inventory", "-i", &inv_arg]);
    run.expect_code(1);
    assert_says(
        &run,
        "vault.yml: pass --vault-password-file FILE to read it",
    );

    // No passphrase and no terminal: one clear error, before any host.
    let before = (a.exec_count(), b.exec_count());
    let detached_args = args(&["--vault-password-file", &vault_arg]);
    let detached_args: Vec<&str> = detached_args.iter().map(String::as_str).collect();
    let run = rprov_detached(work.path(), &detached_args, None, &[]);
    assert_eq!(run.code, 1, "{}", run.dump());
    let msg = "needs a passphrase, and there is no terminal to ask on; pass --passphrase-file FILE";
    assert_eq!(run.stderr.matches(msg).count(), 1, "{}", run.dump());
    assert!(run.stderr.contains("pp.age"), "{}", run.dump());
    assert_eq!(
        (a.exec_count(), b.exec_count()),
        before,
        "a host was contacted"
    );

    // No vault password: the inventory's vault file is named, with the flag.
    let run = rprov(work.path(), args(&["--passphrase-file", &pass_arg]));
    run.expect_code(1);
    assert_says(
        &run,
        &format!(
            "{}: it is encrypted with ansible-vault: pass --vault-password-file FILE",
            site.join("group_vars/all/vault.yml").display()
        ),
    );
    assert_eq!(
        (a.exec_count(), b.exec_count()),
        before,
        "a host was contacted"
    );

    // A missing .age in vars_files says how to create it.
    fs::remove_file(site.join("pp.age")).expect("rm");
    let run = rprov(
        work.path(),
        args(&[
            "--passphrase-file",
            &pass_arg,
            "--vault-password-file",
            &vault_arg,
        ]),
    );
    run.expect_code(1);
    assert_says(
        &run,
        "create it with `rprov secrets edit --file site/pp.age`",
    );
}

fn assert_says(run: &Run, text: &str) {
    assert!(
        run.stderr.contains(text),
        "expected {text:?}:\n{}",
        run.dump()
    );
}
