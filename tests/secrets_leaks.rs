//! Issue 4 audit: secrets must not leak once escaped or encoded. Secrets with
//! a `"`, a `\`, a `'`, a tab and non-ASCII go through templates, copy
//! content, `b64encode`, `urlencode`, `to_json`, `quote`, `debug: var=`, a
//! `debug` map, a failing `assert` and `fail`, a loop over map items and a
//! command's cmd/stdout under `-v`; then `--output json` of a run with
//! changes, and `--check --diff` after the secrets changed. Neither a value
//! nor any of its derived forms may appear in stdout or stderr. A secret with
//! template syntax (`{{ x }}`) lands on the host byte for byte.

mod common;

use std::fs;
use std::path::Path;

use base64::Engine as _;
use common::age::encrypt_to as age_encrypt;
use common::{copy_dir, fixtures, rprov, target_dir, Run, USER};
use rprov_testbed::Sshd;

const PW: &str = "p\"a\\ss'w{rd\tæø-Ω9";
const CURLY: &str = "a{{ x }}b{% if %}c{#";
const API: &str = "k3y\"with\\quote\t€-api";
const OTHER: &str = "s3c0nd'v4l\"x-Ω";
const NEW_PW: &str = "n3w\"p\\w'{d}\tå-new";

fn yaml_quoted(s: &str) -> String {
    serde_json::to_string(s).expect("json string")
}

fn secrets_yaml(pw: &str) -> String {
    format!(
        "pw: {}\ncurly: {}\ncreds:\n  api: {}\n  other: {}\n",
        yaml_quoted(pw),
        // Single-quoted YAML keeps `{{` and `\` as they are.
        format_args!("'{}'", CURLY.replace('\'', "''")),
        yaml_quoted(API),
        yaml_quoted(OTHER),
    )
}

/// The forms a secret takes on its way out, computed here independently of
/// rprov's masker, plus distinctive fragments of the raw text.
fn forms(s: &str) -> Vec<String> {
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    let json = serde_json::to_string(s).expect("json");
    let json_inner = json[1..json.len() - 1].to_string();
    let ascii: String = json_inner
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect();
    let url: String = s
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/._-".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut out = vec![
        s.to_string(),
        json_inner,
        ascii,
        s.replace('\'', "'\"'\"'"),
        url,
        b64(s),
        b64(&format!("admin:{s}")),
    ];
    // Any four characters with punctuation in them: a partial leak.
    let chars: Vec<char> = s.chars().collect();
    for w in chars.windows(4) {
        if w.iter()
            .any(|c| !c.is_ascii_alphanumeric() && !"-_.".contains(*c))
        {
            out.push(w.iter().collect());
        }
    }
    out
}

fn assert_no_leak(run: &Run, what: &str, secrets: &[&str]) {
    let all = run.all();
    for s in secrets {
        for f in forms(s) {
            assert!(
                !all.contains(&f),
                "a form of a secret ({f:?}) leaked into {what}:\n{}",
                run.dump()
            );
        }
    }
}

#[test]
fn escaped_and_encoded_secrets_never_reach_the_output() {
    let sshd = Sshd::start(USER).expect("sshd");
    let work = tempfile::tempdir().expect("tempdir");
    let site = work.path().join("site");
    copy_dir(&fixtures().join("secrets_leaks"), &site);
    let (id, recipient) = common::age::keygen(work.path(), "id.txt");
    age_encrypt(&secrets_yaml(PW), &recipient, &site.join("secrets.age"));
    let t1 = target_dir(USER);
    let t2 = target_dir(USER);
    let inv = work.path().join("hosts.ini");
    fs::write(
        &inv,
        format!(
            "{} target={}\n",
            sshd.inventory_line("h1"),
            t1.path().display()
        ),
    )
    .expect("inventory");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = vec!["apply".into(), "-i".into(), inv.display().to_string()];
        a.extend(["--identity".into(), id.display().to_string()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a.push(site.join("site.yml").display().to_string());
        a
    };
    let secrets = [PW, API, OTHER];

    // A run that changes everything, with diffs and results shown.
    let run = rprov(work.path(), args(&["--diff", "-v"]));
    run.expect_code(0);
    assert_no_leak(&run, "the --diff -v output", &secrets);
    for masked in ["«secret:pw»", "«secret:creds.api»", "«secret:curly»"] {
        assert!(
            run.stdout.contains(masked),
            "{masked} missing:\n{}",
            run.dump()
        );
    }
    assert!(
        !run.all().contains("b{% if %}c"),
        "the curly secret leaked:\n{}",
        run.dump()
    );
    // The failing assert and fail ran (and were ignored), showing masked text.
    assert!(
        run.stdout.contains("bad password «secret:pw»"),
        "{}",
        run.dump()
    );

    // The host has the real values, byte for byte, template syntax included.
    let read = |dir: &Path, f: &str| fs::read_to_string(dir.join(f)).expect(f);
    assert_eq!(read(t1.path(), "curly.txt"), CURLY);
    assert_eq!(
        read(t1.path(), "copy.txt"),
        format!("pw={PW}\ncurly={CURLY}\n")
    );
    let forms_file = read(t1.path(), "forms.txt");
    assert!(
        forms_file.starts_with(&format!("RAW={PW}\n")),
        "{forms_file}"
    );
    assert!(
        forms_file.contains(&format!("CURLY={CURLY}\n")),
        "{forms_file}"
    );

    // `--output json` of a run with changes (another target directory).
    let target2 = format!("target={}", t2.path().display());
    let run = rprov(
        work.path(),
        args(&["--output", "json", "-v", "--diff", "-e", &target2]),
    );
    run.expect_code(0);
    assert_no_leak(&run, "the JSON output", &secrets);
    let changed: Vec<_> = run
        .tasks()
        .into_iter()
        .filter(|t| t["status"] == "changed")
        .collect();
    assert!(changed.len() >= 3, "{}", run.dump());
    assert!(
        run.recap("h1")["changed"].as_u64() >= Some(3),
        "{}",
        run.dump()
    );
    assert_eq!(read(t2.path(), "curly.txt"), CURLY);

    // The secrets change: `--check --diff` shows masked lines only, neither
    // the new nor the old values.
    age_encrypt(&secrets_yaml(NEW_PW), &recipient, &site.join("secrets.age"));
    let run = rprov(work.path(), args(&["--check", "--diff", "-v"]));
    run.expect_code(0);
    assert_no_leak(&run, "the --check --diff output", &[PW, NEW_PW, API, OTHER]);
    assert!(run.stdout.contains("+RAW=«secret:pw»"), "{}", run.dump());
    assert_eq!(
        read(t1.path(), "copy.txt"),
        format!("pw={PW}\ncurly={CURLY}\n"),
        "--check wrote to the host"
    );
}
