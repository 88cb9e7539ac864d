//! `rprov secrets edit` with scripted editors, and the other subcommands.
//! Every edit test checks that no plaintext is left in the temp root afterwards.

mod common;

use std::path::{Path, PathBuf};

use clap::Parser;
use common::*;
use rprov_secrets::cli::{SecretsArgs, SecretsCommand};
use rprov_secrets::{load_with_env, IdentityOptions, SecretsError};

const SECRET: &str = "s3cret-value-xyz";

/// A sandbox with an identity, a recipients file and a secrets file.
fn setup() -> (Sandbox, PathBuf, PathBuf) {
    let sb = Sandbox::new();
    let (id, public) = keygen(sb.dir.path(), "id.txt");
    std::fs::write(sb.path("secrets.recipients"), format!("{public}\n")).unwrap();
    let f = sb.path("secrets.age");
    age_encrypt(&format!("# a comment\npw: {SECRET}\n"), &public, &f, true);
    (sb, id, f)
}

fn vars_of(sb: &Sandbox, f: &Path, id: &Path) -> rprov_secrets::Vars {
    let ids = IdentityOptions {
        identity_files: vec![id.to_owned()],
        passphrase_file: None,
    };
    load_with_env(f, &ids, &sb.env()).unwrap().vars
}

#[test]
fn edit_changed_content_is_reencrypted_and_comments_kept() {
    let (sb, id, f) = setup();
    let perms = sb.path("perms");
    let ed = sb.editor(
        "ed.sh",
        &format!(
            "stat -c '%a' \"$(dirname \"$1\")\" \"$1\" > {}\nsed -i 's/^pw: .*/pw: new-value-123/' \"$1\"",
            perms.display()
        ),
    );
    sb.secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap();
    assert_eq!(vars_of(&sb, &f, &id)["pw"], "new-value-123");
    assert_eq!(age_decrypt(&f, &id), "# a comment\npw: new-value-123\n");
    assert_eq!(std::fs::read_to_string(perms).unwrap(), "700\n600\n");
    sb.assert_tmp_empty();
}

#[test]
fn edit_unchanged_leaves_bytes_and_mtime_alone() {
    let (sb, id, f) = setup();
    let before = std::fs::read(&f).unwrap();
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let ed = sb.editor("ed.sh", "touch \"$1\"");
    sb.secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), before);
    assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), mtime);
    sb.assert_tmp_empty();
}

#[test]
fn edit_invalid_yaml_without_terminal_fails_and_keeps_old_file() {
    let (sb, id, f) = setup();
    let before = std::fs::read(&f).unwrap();
    let ed = sb.editor("ed.sh", "printf 'pw: [broken s3cret-value-xyz\\n' > \"$1\"");
    let err = sb
        .secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SecretsError::EditAborted { .. }), "{msg}");
    assert!(
        msg.contains("line 1") && msg.contains("is unchanged"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET), "{msg}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    sb.assert_tmp_empty();

    // Not a map is refused the same way.
    let ed = sb.editor("ed2.sh", "printf -- '- a\\n- b\\n' > \"$1\"");
    let err = sb
        .secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap_err();
    assert!(err.to_string().contains("must be a YAML map"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    sb.assert_tmp_empty();
}

#[test]
fn edit_yaml_error_reopens_editor_when_interactive() {
    let (sb, id, f) = setup();
    let count = sb.path("count");
    let seen = sb.path("seen");
    // First run: break the YAML. Second run: record what was shown, then fix it.
    let ed = sb.editor(
        "ed.sh",
        &format!(
            "if [ ! -e {c} ]; then touch {c}; printf 'pw: [x\\n' > \"$1\"; else cp \"$1\" {s}; printf 'pw: fixed-1234\\n' > \"$1\"; fi",
            c = count.display(),
            s = seen.display()
        ),
    );
    let mut opts = sb.edit_opts(&ed);
    opts.interactive = true;
    sb.secrets(&f, &[&id], SecretsCommand::Edit, &opts, "")
        .unwrap();
    assert_eq!(vars_of(&sb, &f, &id)["pw"], "fixed-1234");
    let shown = std::fs::read_to_string(seen).unwrap();
    assert!(shown.starts_with("#! rprov: YAML error"), "{shown}");
    assert!(
        shown.contains("at line 3"),
        "line numbers count the header: {shown}"
    );
    assert!(shown.ends_with("pw: [x\n"), "{shown}");
    sb.assert_tmp_empty();

    // Quitting without fixing abandons the edit.
    let before = std::fs::read(&f).unwrap();
    let ed = sb.editor(
        "ed2.sh",
        "grep -q rprov \"$1\" || printf 'pw: [x\\n' > \"$1\"",
    );
    let mut opts = sb.edit_opts(&ed);
    opts.interactive = true;
    let err = sb
        .secrets(&f, &[&id], SecretsCommand::Edit, &opts, "")
        .unwrap_err();
    assert!(err.to_string().contains("not fixed"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    sb.assert_tmp_empty();
}

#[test]
fn edit_editor_failure_keeps_old_file() {
    let (sb, id, f) = setup();
    let before = std::fs::read(&f).unwrap();
    let ed = sb.editor("ed.sh", "echo 'pw: changed-1234' > \"$1\"; exit 3");
    let err = sb
        .secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap_err();
    assert!(err.to_string().contains("exited with status 3"), "{err}");
    assert!(err.to_string().contains("is unchanged"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    sb.assert_tmp_empty();

    let err = sb
        .secrets(
            &f,
            &[&id],
            SecretsCommand::Edit,
            &sb.edit_opts("/nonexistent/editor"),
            "",
        )
        .unwrap_err();
    assert!(matches!(err, SecretsError::Editor { .. }), "{err}");
    sb.assert_tmp_empty();

    // Emptying the file abandons the edit rather than deleting every secret.
    let ed = sb.editor("ed3.sh", ": > \"$1\"");
    let err = sb
        .secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap_err();
    assert!(err.to_string().contains("left empty"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    sb.assert_tmp_empty();
}

/// Ctrl-C reaches the editor (it dies of SIGINT), rprov survives it (it ignores
/// SIGINT while the plaintext exists) and removes the temp directory.
#[test]
fn edit_ctrl_c_kills_the_editor_not_rprov() {
    let (sb, id, f) = setup();
    let before = std::fs::read(&f).unwrap();
    let marker = sb.path("survived");
    let ed = sb.editor(
        "ed.sh",
        &format!(
            "kill -INT {pid}\nkill -INT $$\necho yes > {m}",
            pid = std::process::id(),
            m = marker.display()
        ),
    );
    let err = sb
        .secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap_err();
    assert!(err.to_string().contains("was interrupted (Ctrl-C"), "{err}");
    assert!(!marker.exists(), "the editor should have died of SIGINT");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    sb.assert_tmp_empty();
}

#[test]
fn edit_creates_a_missing_file() {
    let (sb, id, _) = setup();
    let f = sb.path("new.age");
    let ed = sb.editor("ed.sh", "echo 'a: b-value' >> \"$1\"");
    sb.secrets(&f, &[&id], SecretsCommand::Edit, &sb.edit_opts(&ed), "")
        .unwrap();
    assert_eq!(vars_of(&sb, &f, &id)["a"], "b-value");
    // Leaving the template as is creates nothing.
    let g = sb.path("other.age");
    sb.secrets(&g, &[&id], SecretsCommand::Edit, &sb.edit_opts("true"), "")
        .unwrap();
    assert!(!g.exists());
    sb.assert_tmp_empty();
}

#[test]
fn view_get_set_rm() {
    let (sb, id, f) = setup();
    let o = sb.edit_opts("false");
    assert_eq!(
        sb.secrets(&f, &[&id], SecretsCommand::View, &o, "")
            .unwrap(),
        format!("# a comment\npw: {SECRET}\n")
    );
    let get = |key: &str| sb.secrets(&f, &[&id], SecretsCommand::Get { key: key.into() }, &o, "");
    assert_eq!(get("pw").unwrap(), format!("{SECRET}\n"));

    sb.secrets(
        &f,
        &[&id],
        SecretsCommand::Set {
            key: "db.key".into(),
            allow_empty: false,
        },
        &o,
        "line1\nline2\n",
    )
    .unwrap();
    sb.secrets(
        &f,
        &[&id],
        SecretsCommand::Set {
            key: "db.user".into(),
            allow_empty: false,
        },
        &o,
        "admin-user\r\n",
    )
    .unwrap();
    // An empty stdin is refused (and the file left alone) unless --allow-empty.
    let before = std::fs::read(&f).unwrap();
    let set_empty = |allow_empty: bool| {
        sb.secrets(
            &f,
            &[&id],
            SecretsCommand::Set {
                key: "db.empty".into(),
                allow_empty,
            },
            &o,
            "",
        )
    };
    let err = set_empty(false).unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing to set `db.empty` to an empty value")
            && err.to_string().contains("--allow-empty"),
        "{err}"
    );
    assert_eq!(std::fs::read(&f).unwrap(), before);
    set_empty(true).unwrap();
    assert_eq!(get("db.empty").unwrap(), "\n");
    assert_eq!(get("db.key").unwrap(), "line1\nline2\n");
    assert_eq!(get("db.user").unwrap(), "admin-user\n");
    let db = get("db").unwrap();
    assert!(db.contains("user: admin-user"), "{db}");
    assert!(get("nope")
        .unwrap_err()
        .to_string()
        .contains("`nope` is not set"));

    sb.secrets(
        &f,
        &[&id],
        SecretsCommand::Rm {
            key: "db.user".into(),
        },
        &o,
        "",
    )
    .unwrap();
    assert!(get("db.user").is_err());
    assert!(sb
        .secrets(
            &f,
            &[&id],
            SecretsCommand::Rm {
                key: "db.user".into()
            },
            &o,
            ""
        )
        .is_err());
    assert_eq!(vars_of(&sb, &f, &id)["pw"], SECRET);
}

#[test]
fn rekey_encrypts_to_the_current_recipients() {
    let (sb, id, f) = setup();
    let (id2, public2) = keygen(sb.dir.path(), "id2.txt");
    let rec = sb.path("secrets.recipients");
    let mut text = std::fs::read_to_string(&rec).unwrap();
    text.push_str(&format!("# a second person\n{public2}\n"));
    std::fs::write(&rec, text).unwrap();
    sb.secrets(
        &f,
        &[&id],
        SecretsCommand::Rekey,
        &sb.edit_opts("false"),
        "",
    )
    .unwrap();
    assert_eq!(
        age_decrypt(&f, &id2),
        format!("# a comment\npw: {SECRET}\n")
    );
    assert_eq!(age_decrypt(&f, &id), format!("# a comment\npw: {SECRET}\n"));

    // A broken recipients file stops the rekey and keeps the file.
    let before = std::fs::read(&f).unwrap();
    std::fs::write(&rec, "garbage\n").unwrap();
    let err = sb
        .secrets(
            &f,
            &[&id],
            SecretsCommand::Rekey,
            &sb.edit_opts("false"),
            "",
        )
        .unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
}

#[test]
fn init_creates_identity_and_recipients_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let f = sb.path("proj/secrets.age");
    std::fs::create_dir_all(sb.path("proj")).unwrap();
    sb.secrets(&f, &[], SecretsCommand::Init, &sb.edit_opts("false"), "")
        .unwrap();
    let id = sb.path("home/.config/rprov/identity.txt");
    assert_eq!(
        std::fs::metadata(&id).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let rec = std::fs::read_to_string(sb.path("proj/secrets.recipients")).unwrap();
    let public = String::from_utf8(run(std::process::Command::new("age-keygen")
        .arg("-y")
        .arg(&id)))
    .unwrap();
    assert!(rec.contains(public.trim()), "{rec}");

    let before = std::fs::read(&id).unwrap();
    let err = sb
        .secrets(&f, &[], SecretsCommand::Init, &sb.edit_opts("false"), "")
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&id).unwrap(), before);

    // The new identity works end to end with the default path.
    sb.secrets(
        &f,
        &[],
        SecretsCommand::Set {
            key: "k".into(),
            allow_empty: false,
        },
        &sb.edit_opts("false"),
        "value-1\n",
    )
    .unwrap();
    assert_eq!(age_decrypt(&f, &id), "k: value-1\n");
}

#[test]
fn import_vault_writes_secrets_age() {
    let (sb, id, _) = setup();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let f = sb.path("imported.age");
    let cmd = |pw: &str| SecretsCommand::ImportVault {
        file: fixtures.join("vault-1.1.yml"),
        vault_password_file: Some(fixtures.join(pw)),
    };
    sb.secrets(
        &f,
        &[&id],
        cmd("vault-password.txt"),
        &sb.edit_opts("false"),
        "",
    )
    .unwrap();
    assert_eq!(
        vars_of(&sb, &f, &id)["api"]["token"],
        "tok-0123456789abcdef"
    );
    let err = sb
        .secrets(
            &f,
            &[&id],
            cmd("vault-password.txt"),
            &sb.edit_opts("false"),
            "",
        )
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    let wrong = sb.path("wrong.txt");
    std::fs::write(&wrong, "nope\n").unwrap();
    let g = sb.path("other.age");
    let err = sb
        .secrets(
            &g,
            &[&id],
            SecretsCommand::ImportVault {
                file: fixtures.join("vault-1.1.yml"),
                vault_password_file: Some(wrong),
            },
            &sb.edit_opts("false"),
            "",
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "vault password is wrong (HMAC mismatch)");
    assert!(!g.exists());
}

#[derive(clap::Parser)]
struct Top {
    #[command(subcommand)]
    cmd: TopCmd,
}

#[derive(clap::Subcommand)]
enum TopCmd {
    Secrets(SecretsArgs),
}

#[test]
fn clap_definition_embeds_and_has_help_everywhere() {
    use clap::CommandFactory;
    Top::command().debug_assert();
    let top = Top::try_parse_from([
        "rprov",
        "secrets",
        "--file",
        "x.age",
        "--identity",
        "a",
        "--identity",
        "b",
        "import-vault",
        "v.yml",
        "--vault-password-file",
        "pw",
    ])
    .unwrap();
    let TopCmd::Secrets(args) = top.cmd;
    assert_eq!(args.identity.len(), 2);
    assert!(matches!(args.command, SecretsCommand::ImportVault { .. }));
    let mut cmd = Top::command();
    let secrets = cmd.find_subcommand_mut("secrets").unwrap();
    for sub in secrets.get_subcommands() {
        assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        for arg in sub.get_arguments() {
            assert!(
                arg.get_help().is_some(),
                "{} {} has no help",
                sub.get_name(),
                arg.get_id()
            );
        }
    }
    for arg in secrets.get_arguments() {
        assert!(
            arg.get_help().is_some() || arg.get_id() == "help",
            "{} has no help",
            arg.get_id()
        );
    }
    // `set` takes no value argument: values never come from the command line.
    assert!(Top::try_parse_from(["rprov", "secrets", "set", "k", "value"]).is_err());
}
