//! `apt_key` (ansible-core's, deprecated upstream): an OpenPGP key in an
//! `apt-key` keyring (the default one, or `keyring`).
//!
//! As ansible-core's module (`modules/apt_key.py`): a key is present when
//! its id is among the `pub`/`sub` lines of `apt-key adv --list-public-keys
//! --keyid-format=long` that are not expired, compared by the id's last 16
//! hex digits, or by its last 8 when the id given has 8. Without `id`, the
//! id is the first key `gpg --with-colons` finds in `file`, `data` or what
//! `url` serves (downloaded with curl on the host, also in `--check`, as
//! ansible-core downloads it to know the id). A key is added with `apt-key
//! add` (a file, or `data`/the download on stdin) or `apt-key adv --recv`
//! from `keyserver` (five tries), removed with `apt-key del` of its last 8
//! digits, and the listing is read again to check the change took.
//!
//! `apt-key` and `gpg` must be on the host. Debian trixie has no `apt-key`:
//! the task fails there, naming deb822_repository (its `signed_by`) as the
//! replacement; ansible-core 2.19 fails there too (its `exit_json` call
//! with a positional message raises).

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read};
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};

choice! {
    /// Whether the key is wanted.
    pub enum State { Present = "present", Absent = "absent" }
}

module_args! {
    /// ansible-core `apt_key`'s arguments.
    pub struct Args {
        id: Option<String> ["id"],
        url: Option<String> ["url"],
        data: Option<String> ["data"],
        file: Option<String> ["file"],
        keyring: Option<String> ["keyring"],
        validate_certs: bool ["validate_certs"] = true,
        keyserver: Option<String> ["keyserver"],
        state: State ["state"] = State::Present,
    }
}

/// ansible-core's message when the binding fails because a key that was
/// added or removed is not as it should be.
fn no_error(what: &str) -> String {
    format!(
        "apt-key did not return an error, but {what} (check that the id is correct and *not* a subkey)"
    )
}

/// ansible-core's `parse_key_id`: the id's last 8 hex digits (for `apt-key
/// del`), its last 16 (compared with the listing) and the whole id (for
/// `--recv`), upper case, without `0x`.
pub fn parse_key_id(id: &str) -> Result<(String, String, String), String> {
    let id = id.trim().to_uppercase();
    let id = id.strip_prefix("0X").unwrap_or(&id).to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("Invalid key_id".into());
    }
    let n = id.len();
    if n != 8 && n != 16 && n <= 16 {
        return Err("Invalid key_id".into());
    }
    let short = id[n - 8..].to_string();
    let fp = if n > 16 {
        id[n - 16..].to_string()
    } else {
        id.clone()
    };
    Ok((short, fp, id))
}

/// ansible-core's `parse_output_for_keys`: the ids of the `pub` and `sub`
/// lines that are not expired, in `apt-key`'s `pub rsa4096/ID …` form or
/// gpg's colon form (`pub:-:…:ID:…`); their last 8 digits when `short`.
pub fn parse_keys(output: &str, short: bool) -> Vec<String> {
    let mut found = Vec::new();
    for line in output.split('\n') {
        if !(line.starts_with("pub") || line.starts_with("sub")) || line.contains("expired") {
            continue;
        }
        let apt_form = line.split_whitespace().nth(1).and_then(|code| {
            let parts: Vec<&str> = code.split('/').collect();
            (parts.len() == 2).then(|| parts[1].to_string())
        });
        let id = match apt_form {
            Some(id) => id,
            None => match line.split(':').nth(4) {
                Some(id) => id.to_string(),
                None => continue,
            },
        };
        found.push(id);
    }
    if short {
        for k in &mut found {
            let n = k.chars().count();
            *k = k.chars().skip(n.saturating_sub(8)).collect();
        }
    }
    found
}

/// The status [`key_read`] gives a download that failed (no command
/// exits with it).
const DOWNLOAD_FAILED: i32 = -1;

/// `curl` of `url` into `"$_rp_kh/key"` (`$_rp_kh` a temp directory), `-k` without
/// certificate checks.
fn curl(url: &str, validate_certs: bool) -> String {
    format!(
        "curl -fsSL{} -o \"$_rp_kh/key\" -- {}",
        if validate_certs { "" } else { "k" },
        quote(url)
    )
}

/// A read printing what `gpg --with-colons` finds in the key (a file, the
/// data, or a download), then `@rc N` (or [`DOWNLOAD_FAILED`]). gpg gets a
/// directory of its own that is removed after, so reading changes nothing
/// (it would make `~/.gnupg`).
fn key_read(file: Option<&str>, data: Option<&str>, url: Option<&str>, validate: bool) -> Read {
    let gpg = "LC_ALL=C gpg --homedir \"$_rp_kh\" --batch --with-colons";
    let body = match (file, data, url) {
        (Some(f), _, _) => format!("{gpg} {} 2>/dev/null; _rp_rc=$?", quote(f)),
        (_, Some(d), _) => format!("printf '%s' {} | {gpg} - 2>/dev/null; _rp_rc=$?", quote(d)),
        (_, _, Some(u)) => format!(
            "if {} 2>/dev/null; then {gpg} \"$_rp_kh/key\" 2>/dev/null; _rp_rc=$?; else _rp_rc={DOWNLOAD_FAILED}; fi",
            curl(u, validate)
        ),
        _ => "_rp_rc=1".to_string(),
    };
    // No `exit`: the read runs in the probe batch with other tasks' reads.
    Read::Raw {
        script: format!(
            "if _rp_kh=$(mktemp -d); then\n{body}\nrm -rf \"$_rp_kh\"\nelse _rp_rc=1; fi\necho; echo \"@rc $_rp_rc\"\n"
        ),
        why: "gpg needs a directory of its own for a read that must change nothing",
    }
}

/// `apt-key` with `--keyring` when one is named.
fn apt_key(keyring: Option<&str>, rest: &[&str]) -> Vec<String> {
    let mut argv = vec!["apt-key".to_string()];
    if let Some(k) = keyring {
        argv.extend(["--keyring".to_string(), k.to_string()]);
    }
    argv.extend(rest.iter().map(|s| s.to_string()));
    argv
}

/// The keys `apt-key` lists, as a [`Read::Status`] answer. A `keyring`
/// that does not exist yet lists nothing without asking: `apt-key` would
/// make it (empty), and a read changes nothing.
fn listing_read(keyring: Option<&str>, list: &[String]) -> Read {
    match keyring {
        None => Read::Status(list.to_vec()),
        Some(k) => Read::Raw {
            script: format!(
                "if [ -e {} ]; then {} 2>/dev/null; _rp_rc=$?; echo; echo \"@rc $_rp_rc\"; \
                 else echo; echo '@rc 0'; fi\n",
                quote(k),
                change::words(list)
            ),
            why: "listing a keyring that does not exist would make it",
        },
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let a = Args::from_cx(cx)?;
    let sources = [&a.data, &a.file, &a.keyserver, &a.url];
    if sources.iter().filter(|s| s.is_some()).count() > 1 {
        return Err(PlanError::Fail(
            "parameters are mutually exclusive: data|file|keyserver|url".into(),
        ));
    }
    let keyring = a.keyring.as_deref();
    let list = apt_key(
        keyring,
        &["adv", "--list-public-keys", "--keyid-format=long"],
    );
    let mut reads = vec![
        Read::HasCommand("apt-key"),
        Read::HasCommand("gpg"),
        listing_read(keyring, &list),
    ];
    let id_from_key = a.id.as_deref().is_none_or(str::is_empty);
    if id_from_key {
        if a.keyserver.is_some() {
            return Err(PlanError::Fail(
                "Missing key_id, required with keyserver.".into(),
            ));
        }
        reads.push(key_read(
            a.file.as_deref(),
            a.data.as_deref(),
            a.url.as_deref(),
            a.validate_certs,
        ));
    }
    let answers = cx.ask(&reads)?;
    if answers[0].trim() != "yes" {
        return Err(PlanError::Fail(
            "Failed to find required executable \"apt-key\" (Debian trixie and later have none). \
             Apt-key has been deprecated. See the deb822_repository as an alternative."
                .into(),
        ));
    }
    if answers[1].trim() != "yes" {
        return Err(PlanError::Fail(
            "Failed to find required executable \"gpg\": apt_key needs it on the host \
             (ansible-core reports ok and does nothing there)"
                .into(),
        ));
    }
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    let id = if id_from_key {
        let (out, rc) =
            change::read::split_status(answers.get(3).map(String::as_str).unwrap_or(""));
        match (rc, &a.url) {
            (Some(DOWNLOAD_FAILED), Some(u)) => {
                return Err(PlanError::Fail(format!("Failed to download key at {u}")))
            }
            (Some(0), _) => parse_keys(&out, false).into_iter().next(),
            (_, _) if a.file.is_none() && a.data.is_none() && a.url.is_none() => None,
            _ => {
                return Err(PlanError::Fail(format!(
                    "Unable to extract key from '{}'",
                    a.file.as_deref().unwrap_or("inline data")
                )))
            }
        }
    } else {
        a.id.clone()
    };
    r.insert("id".into(), json!(id));
    let (short, fp, key_id) = parse_key_id(id.as_deref().unwrap_or(""))
        .map_err(|m| PlanError::Fail(format!("{m} (id: {})", id.as_deref().unwrap_or(""))))?;
    r.insert("short_id".into(), json!(short));
    r.insert("fp".into(), json!(fp));
    r.insert("key_id".into(), json!(key_id));
    let short_format = key_id.len() == 8;
    let (listing, rc) = change::read::split_status(&answers[2]);
    if rc != Some(0) {
        return Err(PlanError::Fail(format!(
            "Unable to list public keys (`{}` exited {})",
            list.join(" "),
            rc.map_or("without a status".to_string(), |c| c.to_string())
        )));
    }
    let keys = parse_keys(&listing, short_format);
    r.insert("before".into(), json!(keys));
    let wanted = if short_format { &short } else { &fp };
    let present = keys.contains(wanted);
    // Lines that print the keys a listing holds, one per line, as
    // `parse_keys` reads them.
    let awk = format!(
        "awk '/^(pub|sub)/ && !/expired/ {{ n = split($2, a, \"/\"); if (n == 2) k = a[2]; \
         else {{ if (split($0, c, \":\") < 5) next; k = c[5] }} {} print k }}'",
        if short_format {
            "if (length(k) > 8) k = substr(k, length(k) - 7);"
        } else {
            ""
        }
    );
    let relist = format!("{} 2>/dev/null | {awk}", change::words(&list));
    let fail = |msg: &str| format!("{{ printf '%s\\n' {} >&2; exit 1; }}", quote(msg));
    let mut stdin = None;
    let (script, diff_line) = match a.state {
        State::Present if present => {
            return Ok(Decision::Ok {
                result: r,
                msg: None,
            })
        }
        State::Absent if !keys.contains(&fp) => {
            return Ok(Decision::Ok {
                result: r,
                msg: None,
            })
        }
        State::Present => {
            let add = if let Some(f) = &a.file {
                format!(
                    "{} >/dev/null 2>&1 || {}",
                    change::words(&apt_key(keyring, &["add", f])),
                    fail(&format!("Unable to add a key from file {f}"))
                )
            } else if let Some(ks) = &a.keyserver {
                let mut argv = apt_key(keyring, &["adv", "--no-tty", "--keyserver", ks]);
                let proxy = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]
                    .iter()
                    .find_map(|k| cx.environment.get(*k).and_then(Json::as_str))
                    .filter(|p| !p.is_empty());
                if let Some(p) = proxy {
                    argv.extend(["--keyserver-options".to_string(), format!("http-proxy={p}")]);
                }
                argv.extend(["--recv".to_string(), key_id.clone()]);
                format!(
                    "_rp_i=0; until LC_ALL=C {} >/dev/null 2>&1; do _rp_i=$((_rp_i + 1)); \
                     [ \"$_rp_i\" -lt 5 ] || {}; done",
                    change::words(&argv),
                    fail(&format!("Error fetching key {key_id} from keyserver: {ks}"))
                )
            } else if let Some(d) = &a.data {
                stdin = Some(d.clone().into_bytes());
                format!(
                    "{} >/dev/null 2>&1 || {}",
                    change::words(&apt_key(keyring, &["add", "-"])),
                    fail("Unable to add a key from binary data")
                )
            } else if let Some(u) = &a.url {
                format!(
                    "_rp_kh=$(mktemp -d)\n{} 2>/dev/null || {{ rm -rf \"$_rp_kh\"; {}; }}\n\
                     {} \"$_rp_kh/key\" >/dev/null 2>&1 || {{ rm -rf \"$_rp_kh\"; {}; }}\nrm -rf \"$_rp_kh\"",
                    curl(u, a.validate_certs),
                    fail(&format!("Failed to download key at {u}")),
                    change::words(&apt_key(keyring, &["add"])),
                    fail("Unable to add a key from binary data")
                )
            } else {
                // An id alone names no key to add: a change in `--check`,
                // this failure in a run, as in ansible-core.
                fail("No key to add ... how did i get here?!?!")
            };
            (
                format!(
                    "{add}\n{relist} | grep -qxF {} || {}\n",
                    quote(wanted),
                    fail(&no_error("failed to add the key"))
                ),
                format!("key {key_id}: absent → present"),
            )
        }
        State::Absent => (
            format!(
                "{} >/dev/null 2>&1 || {}\n! {relist} | grep -qxF {} || {}\n",
                change::words(&apt_key(keyring, &["del", &short])),
                fail(&format!("Unable to remove a key with id {short}")),
                quote(&fp),
                fail(&no_error("the key was not removed"))
            ),
            format!("key {key_id}: present → absent"),
        ),
    };
    r.insert("changed".into(), json!(true));
    let mut action = change::checked(
        vec![Change::Raw {
            script,
            why: "apt-key's add, adv --recv and del, then its listing read again to check the change took, as ansible-core does",
        }],
        r,
    )?;
    action.stdin = stdin;
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: keyring.unwrap_or("apt-key keyring").to_string(),
            attrs: vec![diff_line],
            ..Diff::default()
        }],
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::sysargs::SEP;
    use crate::modules::testing::{self, fail_msg};
    use crate::probe::{Fact, Probe};

    const LISTING: &str = "Executing: /tmp/x/gpg.1.sh --list-public-keys --keyid-format=long\n\
        /etc/apt/trusted.gpg\n--------------------\n\
        pub   rsa4096/B7C5D7D6350947F8 2023-01-21 [SC] [expires: 2031-01-19]\n      \
        B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8\nuid  [ unknown] Someone\n\
        sub   rsa4096/1111222233334444 2023-01-21 [E]\n\
        pub   rsa2048/AAAABBBBCCCCDDDD 2012-01-01 [SC] [expired: 2016-01-01]\n";

    #[test]
    fn key_ids_are_cut_as_ansible_core_cuts_them() {
        assert_eq!(
            parse_key_id("0xb8b80b5b623eab6ad8775c45b7c5d7d6350947f8").unwrap(),
            (
                "350947F8".into(),
                "B7C5D7D6350947F8".into(),
                "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8".into()
            )
        );
        assert_eq!(parse_key_id("350947f8").unwrap().1, "350947F8");
        assert!(parse_key_id("12345").is_err());
        assert!(parse_key_id("zz345678").is_err());
    }

    #[test]
    fn listings_are_read_as_ansible_core_reads_them() {
        assert_eq!(
            parse_keys(LISTING, false),
            ["B7C5D7D6350947F8", "1111222233334444"]
        );
        assert_eq!(parse_keys(LISTING, true), ["350947F8", "33334444"]);
        let colons = "pub:-:255:22:F8D2585B8783D481:1674492243:1926780243::-:\nuid:::x\n";
        assert_eq!(parse_keys(colons, false), ["F8D2585B8783D481"]);
    }

    fn run(args: Json, key: &str) -> Result<Decision, PlanError> {
        let out = format!("yes\n{SEP}\nyes\n{SEP}\n{LISTING}\n@rc 0\n{SEP}\n{key}");
        testing::run("apt_key", args, move |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(out.clone())),
            _ => None,
        })
    }

    #[test]
    fn a_listed_key_is_present_and_an_unlisted_one_is_added() {
        let d = run(
            json!({"id": "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"}),
            "",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
        // An expired key is not present.
        let d = run(
            json!({"id": "AAAABBBBCCCCDDDD", "keyserver": "keyserver.ubuntu.com"}),
            "",
        )
        .unwrap();
        let s = testing::script(&d);
        assert!(s.contains("--recv AAAABBBBCCCCDDDD"), "{s}");
        // The id of a file's first key.
        let d = run(
            json!({"file": "/k.gpg", "state": "absent"}),
            "pub:-:255:22:1111222233334444:1:2::-:\n\n@rc 0\n",
        )
        .unwrap();
        let s = testing::script(&d);
        assert!(s.contains("apt-key del 33334444"), "{s}");
        let d = run(
            json!({"data": "-----BEGIN PGP PUBLIC KEY BLOCK-----", "id": "0x12345678"}),
            "",
        )
        .unwrap();
        let Decision::Change { action, .. } = &d else {
            panic!("{d:?}")
        };
        assert!(action.stdin.is_some());
    }

    #[test]
    fn failures_say_what_ansible_core_says() {
        let m = fail_msg(run(json!({"data": "x", "url": "http://h/"}), ""));
        assert_eq!(
            m,
            "parameters are mutually exclusive: data|file|keyserver|url"
        );
        let m = fail_msg(run(json!({"keyserver": "k"}), ""));
        assert_eq!(m, "Missing key_id, required with keyserver.");
        let m = fail_msg(run(json!({"file": "/k"}), "\n@rc 2\n"));
        assert_eq!(m, "Unable to extract key from '/k'");
        let m = fail_msg(run(json!({"url": "http://h/k"}), "\n@rc -1\n"));
        assert_eq!(m, "Failed to download key at http://h/k");
        let no_apt_key = testing::run("apt_key", json!({"id": "12345678"}), |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(format!("\n{SEP}\nyes\n{SEP}\n\n@rc 127\n"))),
            _ => None,
        });
        assert!(fail_msg(no_apt_key).contains("deb822_repository"));
    }
}
