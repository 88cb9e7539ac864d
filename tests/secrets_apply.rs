//! Issue 4: secrets from secrets.age never reach the output. A full apply
//! over SSH with `--diff -v`, then with `--output json`, of a role that
//! renders secrets into a template and a copy: no secret value occurs in
//! stdout or stderr, the files on the host hold the real values with mode
//! 0600, and a changed secret shows as `«secret:KEY»` in the `--check` diff.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::age::encrypt_to as age_encrypt;
use common::{copy_dir, fixtures, one_host_inventory, rprov, target_dir, USER};
use rprov_testbed::Sshd;

const SECRETS: &[&str] = &[
    "s3cr3t-db-password",
    "tok_9f8e7d6c5b4a",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
];

fn secrets_yaml(password: &str) -> String {
    format!(
        "db:\n  password: {password}\napi_token: {}\ntls_key: |\n  -----BEGIN PRIVATE KEY-----\n  {}\n  -----END PRIVATE KEY-----\n",
        SECRETS[1], SECRETS[2]
    )
}

fn assert_no_secret(text: &str, what: &str, extra: &[&str]) {
    for s in SECRETS.iter().chain(extra) {
        assert!(
            !text.contains(s),
            "secret `{s}` leaked into {what}:\n{text}"
        );
    }
}

#[test]
fn secrets_are_masked_everywhere_and_land_on_the_host() {
    let sshd = Sshd::start(USER).expect("sshd");
    let work = tempfile::tempdir().expect("tempdir");
    let site = work.path().join("site");
    copy_dir(&fixtures().join("secrets_site"), &site);
    let target = target_dir(USER);

    let (id, recipient) = common::age::keygen(work.path(), "id.txt");
    age_encrypt(
        &secrets_yaml(SECRETS[0]),
        &recipient,
        &site.join("secrets.age"),
    );

    let inv = one_host_inventory(work.path(), &sshd, "h1");
    fs::write(
        &inv,
        format!(
            "{} target={} app_name=demo\n",
            sshd.inventory_line("h1"),
            target.path().display()
        ),
    )
    .expect("inventory");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = vec![
            "apply".into(),
            "-i".into(),
            inv.display().to_string(),
            "--identity".into(),
            id.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a.push(site.join("site.yml").display().to_string());
        a
    };

    // First run, human output with diffs and results.
    let run = rprov(work.path(), base(&["--diff", "-v"]));
    run.expect_code(0);
    assert_no_secret(&run.all(), "the --diff -v output", &[]);
    assert!(
        run.stdout.contains("«secret:db.password»"),
        "the diff should show the masked value:\n{}",
        run.dump()
    );

    // The host has the real values, readable by the owner only.
    let env = fs::read_to_string(target.path().join("app.env")).expect("app.env");
    assert!(env.contains(&format!("DB_PASSWORD={}", SECRETS[0])));
    let mode = fs::metadata(target.path().join("app.env"))
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // Second run as JSON: nothing changes, nothing leaks.
    let run = rprov(work.path(), base(&["--output", "json", "-v"]));
    run.expect_code(0);
    assert_no_secret(&run.all(), "the JSON output", &[]);
    assert_eq!(run.recap("h1")["changed"], 0, "{}", run.dump());

    // A changed secret shows as masked in the --check diff; the host is untouched.
    let new_password = "n3w-db-password-42";
    age_encrypt(
        &secrets_yaml(new_password),
        &recipient,
        &site.join("secrets.age"),
    );
    let run = rprov(work.path(), base(&["--check"]));
    run.expect_code(0);
    assert_no_secret(&run.all(), "the --check output", &[new_password]);
    assert!(
        run.stdout
            .contains("-«old line hidden: this file holds secrets»\n+DB_PASSWORD=«secret:"),
        "{}",
        run.dump()
    );
    assert!(fs::read_to_string(target.path().join("app.env"))
        .expect("app.env")
        .contains(SECRETS[0]));

    // A wrong identity is a clear error before any host is touched.
    let other = work.path().join("other.txt");
    assert!(Command::new("age-keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .expect("age-keygen")
        .status
        .success());
    let before = sshd.exec_count();
    let mut args = base(&[]);
    let pos = args
        .iter()
        .position(|a| a == &id.display().to_string())
        .expect("identity arg");
    args[pos] = other.display().to_string();
    let run = rprov(work.path(), args);
    run.expect_code(1);
    assert!(run.stderr.contains("secrets.age"), "{}", run.dump());
    assert_eq!(
        sshd.exec_count(),
        before,
        "no remote command before the secrets are readable"
    );
}
