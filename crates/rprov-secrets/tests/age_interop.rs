//! Files made by the `age` CLI are read by rprov, and files written by rprov are
//! read by the `age` CLI; passphrase files; SSH keys; every bad-input error.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use rprov_secrets::cli::SecretsCommand;
use rprov_secrets::{load_with_env, IdentityOptions, SecretsError};

const PLAIN: &str = "db:\n  password: hunter2-very-secret\nport: 5432\n";
const SECRET: &str = "hunter2-very-secret";

fn ids(p: &Path) -> IdentityOptions {
    IdentityOptions {
        identity_files: vec![p.to_owned()],
        passphrase_file: None,
    }
}

#[test]
fn age_cli_files_armored_and_binary_are_loaded() {
    let sb = Sandbox::new();
    let (id, public) = keygen(sb.dir.path(), "id.txt");
    for armor in [true, false] {
        let f = sb.path(if armor { "a.age" } else { "b.age" });
        age_encrypt(PLAIN, &public, &f, armor);
        let s = load_with_env(&f, &ids(&id), &sb.env()).unwrap();
        assert_eq!(s.vars["db"]["password"], SECRET);
        assert_eq!(s.vars["port"], 5432);
        assert_eq!(
            s.redactor().redact(&format!("pw={SECRET}")),
            "pw=«secret:db.password»"
        );
    }
}

#[test]
fn identities_from_env_sops_and_default_path() {
    let mut sb = Sandbox::new();
    let (id, public) = keygen(sb.dir.path(), "id.txt");
    let f = sb.path("s.age");
    age_encrypt(PLAIN, &public, &f, true);
    let none = IdentityOptions::default();

    sb.vars
        .insert("RPROV_AGE_IDENTITY".into(), id.clone().into());
    assert!(load_with_env(&f, &none, &sb.env()).is_ok());
    sb.vars.remove("RPROV_AGE_IDENTITY");

    sb.vars
        .insert("SOPS_AGE_KEY_FILE".into(), id.clone().into());
    assert!(load_with_env(&f, &none, &sb.env()).is_ok());
    sb.vars.remove("SOPS_AGE_KEY_FILE");

    let err = load_with_env(&f, &none, &sb.env()).unwrap_err();
    assert!(matches!(err, SecretsError::NoIdentity { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("looked at") && msg.contains(".config/rprov/identity.txt"),
        "{msg}"
    );

    let def = sb.path("home/.config/rprov/identity.txt");
    std::fs::create_dir_all(def.parent().unwrap()).unwrap();
    std::fs::copy(&id, &def).unwrap();
    assert!(load_with_env(&f, &none, &sb.env()).is_ok());
}

#[test]
fn rprov_written_files_decrypt_with_age_cli() {
    let sb = Sandbox::new();
    let (id, public) = keygen(sb.dir.path(), "id.txt");
    std::fs::write(sb.path("secrets.recipients"), format!("# me\n{public}\n")).unwrap();
    let f = sb.path("secrets.age");
    let opts = sb.edit_opts("false");
    sb.secrets(
        &f,
        &[&id],
        SecretsCommand::Set {
            key: "db.password".into(),
            allow_empty: false,
        },
        &opts,
        &format!("{SECRET}\n"),
    )
    .unwrap();
    let bytes = std::fs::read_to_string(&f).unwrap();
    assert!(
        bytes.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{bytes}"
    );
    let plain = age_decrypt(&f, &id);
    assert!(plain.contains("password: hunter2-very-secret"), "{plain}");
}

#[test]
fn ssh_ed25519_and_rsa_keys_work_as_identities() {
    let sb = Sandbox::new();
    require("ssh-keygen", "openssh-client");
    for (kind, bits) in [("ed25519", None), ("rsa", Some("2048"))] {
        let key = sb.path(&format!("id_{kind}"));
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-t", kind, "-N", "", "-C", "test", "-f"])
            .arg(&key);
        if let Some(b) = bits {
            cmd.args(["-b", b]);
        }
        run(&mut cmd);
        let f = sb.path(&format!("{kind}.age"));
        let src = sb.path("in.yml");
        std::fs::write(&src, PLAIN).unwrap();
        run(Command::new(age())
            .arg("-R")
            .arg(key.with_extension("pub"))
            .arg("-o")
            .arg(&f)
            .arg(&src));
        let s = load_with_env(&f, &ids(&key), &sb.env()).unwrap();
        assert_eq!(s.vars["db"]["password"], SECRET, "{kind}");

        // And rprov encrypts to an SSH recipient that `age -d -i KEY` opens.
        let dir = sb.path(kind);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(key.with_extension("pub"), dir.join("secrets.recipients")).unwrap();
        let out = dir.join("secrets.age");
        sb.secrets(
            &out,
            &[&key],
            SecretsCommand::Set {
                key: "k".into(),
                allow_empty: false,
            },
            &sb.edit_opts("false"),
            "v4lue\n",
        )
        .unwrap();
        assert_eq!(age_decrypt(&out, &key), "k: v4lue\n");
    }
}

/// `age -p` reads the passphrase from the terminal only; `script` gives it one.
#[test]
fn age_cli_passphrase_file_is_loaded_with_passphrase_file() {
    let sb = Sandbox::new();
    require("script", "bsdutils");
    let src = sb.path("in.yml");
    std::fs::write(&src, PLAIN).unwrap();
    let f = sb.path("p.age");
    let cmd = format!(
        "{} -p -a -o {} {}",
        age().display(),
        f.display(),
        src.display()
    );
    let feed = "sleep 1; printf 'pass-phrase-42\\n'; sleep 1; printf 'pass-phrase-42\\n'; sleep 1";
    run(Command::new("sh").arg("-c").arg(format!(
        "({feed}) | script -qec '{cmd}' /dev/null >/dev/null"
    )));
    assert!(std::fs::read_to_string(&f)
        .unwrap()
        .starts_with("-----BEGIN AGE"));

    let pw = sb.path("pw.txt");
    std::fs::write(&pw, "pass-phrase-42\n").unwrap();
    let opts = IdentityOptions {
        identity_files: vec![],
        passphrase_file: Some(pw.clone()),
    };
    // One decryption only: age -p uses scrypt work factor 18, which takes tens of
    // seconds in an unoptimised test build.
    let s = load_with_env(&f, &opts, &sb.env()).unwrap();
    assert_eq!(s.vars["db"]["password"], SECRET);
}

/// A scrypt file made with the age crate (binary, low work factor to keep the test
/// fast) loads, and editing it keeps it passphrase-encrypted.
#[test]
fn crate_made_scrypt_binary_file_loads_and_stays_passphrase_encrypted() {
    use age::secrecy::SecretString;
    use std::io::Write;
    let sb = Sandbox::new();
    let f = sb.path("s.age");
    let mut r = age::scrypt::Recipient::new(SecretString::from("pw-1234".to_owned()));
    r.set_work_factor(10);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(PLAIN.as_bytes()).unwrap();
    w.finish().unwrap();
    std::fs::write(&f, &out).unwrap();

    let pw = sb.path("pw.txt");
    std::fs::write(&pw, "pw-1234").unwrap();
    let opts = IdentityOptions {
        identity_files: vec![],
        passphrase_file: Some(pw.clone()),
    };
    assert_eq!(
        load_with_env(&f, &opts, &sb.env()).unwrap().vars["port"],
        5432
    );

    let bad_pw = sb.path("bad.txt");
    std::fs::write(&bad_pw, "wrong\n").unwrap();
    let bad = IdentityOptions {
        identity_files: vec![],
        passphrase_file: Some(bad_pw),
    };
    let err = load_with_env(&f, &bad, &sb.env()).unwrap_err();
    assert!(matches!(err, SecretsError::WrongPassphrase { .. }), "{err}");
    assert!(!err.to_string().contains(SECRET));

    // `set` with no recipients file: written back with the same passphrase.
    let args = rprov_secrets::cli::SecretsArgs {
        file: f.clone(),
        identity: vec![],
        passphrase_file: Some(pw.clone()),
        command: SecretsCommand::Set {
            key: "extra".into(),
            allow_empty: false,
        },
    };
    let env = sb.env();
    rprov_secrets::cli::run_with(
        args,
        &env,
        &sb.edit_opts("false"),
        &mut "x-value".as_bytes(),
        &mut Vec::new(),
    )
    .unwrap();
    let s = load_with_env(&f, &opts, &sb.env()).unwrap();
    assert_eq!(s.vars["extra"], "x-value");
    assert_eq!(s.vars["db"]["password"], SECRET);
}

#[test]
fn bad_input_errors_are_clear_and_never_show_plaintext() {
    let sb = Sandbox::new();
    let (id, public) = keygen(sb.dir.path(), "id.txt");
    let (other, _) = keygen(sb.dir.path(), "other.txt");
    let f = sb.path("secrets.age");
    age_encrypt(PLAIN, &public, &f, true);
    let env = sb.env();
    let check = |err: SecretsError, want: &str| {
        let msg = err.to_string();
        assert!(msg.contains(want), "expected {want:?} in: {msg}");
        assert!(
            !msg.contains(SECRET) && !msg.contains("hunter2"),
            "leak: {msg}"
        );
        assert!(
            !format!("{err:?}").contains(SECRET),
            "leak in Debug: {err:?}"
        );
    };

    // Wrong identity.
    let err = load_with_env(&f, &ids(&other), &env).unwrap_err();
    check(
        err,
        &format!(
            "secrets.age is not encrypted to any of the identities given (tried: {}); pass --identity or set RPROV_AGE_IDENTITY",
            other.display()
        ),
    );
    // Identity file that is not one.
    let junk = sb.path("junk.txt");
    std::fs::write(&junk, "not a key\n").unwrap();
    check(
        load_with_env(&f, &ids(&junk), &env).unwrap_err(),
        "junk.txt (from --identity)",
    );
    // Missing file.
    check(
        load_with_env(&sb.path("nope.age"), &ids(&id), &env).unwrap_err(),
        "does not exist",
    );

    // Tampered: flip one byte in the binary payload.
    let bin = sb.path("bin.age");
    age_encrypt(PLAIN, &public, &bin, false);
    let mut bytes = std::fs::read(&bin).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x01;
    std::fs::write(&bin, &bytes).unwrap();
    check(load_with_env(&bin, &ids(&id), &env).unwrap_err(), "damaged");
    // Truncated.
    age_encrypt(PLAIN, &public, &bin, false);
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() - 10]).unwrap();
    check(load_with_env(&bin, &ids(&id), &env).unwrap_err(), "damaged");
    // Header only.
    std::fs::write(&bin, &bytes[..40]).unwrap();
    check(load_with_env(&bin, &ids(&id), &env).unwrap_err(), "damaged");
    // Not age at all.
    std::fs::write(&bin, "db_password: plain\n").unwrap();
    check(
        load_with_env(&bin, &ids(&id), &env).unwrap_err(),
        "not an age file",
    );

    // YAML error inside the decrypted text: line and column, no content.
    let y = sb.path("y.age");
    age_encrypt("ok: 1\nbad: [hunter2-very-secret\n", &public, &y, true);
    let err = load_with_env(&y, &ids(&id), &env).unwrap_err();
    assert!(matches!(err, SecretsError::Yaml { line: 2, .. }), "{err}");
    check(err, "at line 2, column");
    age_encrypt("pw: \"hunter2-very-secret\n", &public, &y, true);
    check(
        load_with_env(&y, &ids(&id), &env).unwrap_err(),
        "YAML error",
    );

    // Not a map.
    age_encrypt("- hunter2-very-secret\n", &public, &y, true);
    check(
        load_with_env(&y, &ids(&id), &env).unwrap_err(),
        "must be a YAML map",
    );
    age_encrypt("hunter2-very-secret\n", &public, &y, true);
    check(
        load_with_env(&y, &ids(&id), &env).unwrap_err(),
        "found a string",
    );
}
