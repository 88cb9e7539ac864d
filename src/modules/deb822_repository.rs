//! `deb822_repository`: an APT source as a deb822 `.sources` file in
//! `/etc/apt/sources.list.d`.
//!
//! The file text is computed on the controller exactly as ansible-core's
//! module dumps its `Deb822` object (fields in the order of the arguments'
//! names, sorted; booleans `yes`/`no`; lists joined by spaces; a value of
//! several lines folded with each line indented and an empty one as `.`),
//! so a file written by either is left alone by the other. It is written
//! with the atomic write, mode 0644 unless `mode` says otherwise. No cache
//! update: ansible-core's module has none either (`apt: update_cache` is
//! the way).
//!
//! `signed_by` is, as in ansible-core, a key file on the host (named as
//! it is, and returned as `key_filename`), an inline key block or
//! fingerprint (written into the file), or a URL: the key is fetched by
//! `curl` on the host in the read (ansible-core downloads it in check mode
//! too), and written to `/etc/apt/keyrings/<name>.asc` (ASCII-armored) or
//! `.gpg` when its bytes differ, the file naming that path.

use base64::Engine;
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use super::change::{self, Change, Content, Read};
use super::files::{self, Attrs};
use super::mode::Mode;
use super::sysargs::both;
use super::typed::{choice, module_args};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

/// Where ansible-core puts the keys it downloads (and removes with
/// `state: absent`).
const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

/// Where the `.sources` files go.
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

choice! {
    /// Whether the repository's file is wanted.
    pub enum State { Present = "present", Absent = "absent" }
}

module_args! {
    /// `deb822_repository`'s arguments: ansible-core's, each a deb822 field
    /// but `mode` and `state`.
    pub struct Args {
        allow_downgrade_to_insecure: Option<bool> ["allow_downgrade_to_insecure"],
        allow_insecure: Option<bool> ["allow_insecure"],
        allow_weak: Option<bool> ["allow_weak"],
        architectures: Option<Vec<String>> ["architectures"],
        by_hash: Option<bool> ["by_hash"],
        check_date: Option<bool> ["check_date"],
        check_valid_until: Option<bool> ["check_valid_until"],
        components: Option<Vec<String>> ["components"],
        date_max_future: Option<i64> ["date_max_future"],
        enabled: Option<bool> ["enabled"],
        inrelease_path: Option<String> ["inrelease_path"],
        languages: Option<Vec<String>> ["languages"],
        /// The repository's name: `X-Repolib-Name`, and the file's name once
        /// normalised ([`slug`]).
        name: String ["name"],
        pdiffs: Option<bool> ["pdiffs"],
        /// A key file on the host, a key block or fingerprint, or a URL.
        signed_by: Option<String> ["signed_by"],
        suites: Option<Vec<String>> ["suites"],
        targets: Option<Vec<String>> ["targets"],
        trusted: Option<bool> ["trusted"],
        /// `deb` and/or `deb-src` (checked in [`plan`]: a list of choices).
        types: Vec<String> ["types"] = vec!["deb".to_string()],
        uris: Option<Vec<String>> ["uris"],
        mode: Mode ["mode"] = Mode::Octal(0o644),
        state: State ["state"] = State::Present,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let slug = slug(&args.name);
    let dest = format!("{SOURCES_DIR}/{slug}.sources");
    if args.state == State::Absent {
        return absent(cx, &slug, &dest);
    }
    if let Some(bad) = args
        .types
        .iter()
        .find(|t| !matches!(t.as_str(), "deb" | "deb-src"))
    {
        return Err(PlanError::Fail(format!(
            "value of types must be one or more of: deb, deb-src. Got no match for: {bad}"
        )));
    }
    // A single-line `signed_by` may be a key file on the host (followed, as
    // Python's `os.path.isfile`); its state is asked with the file's.
    let key_path = args.signed_by.as_deref().filter(|v| !v.contains('\n'));
    let (st, content) = both(cx.file(&dest, false), cx.content(&dest))?;
    let mut key_change: Option<KeyWrite> = None;
    let key_filename = match key_path {
        Some(k) => {
            let ks = cx.file(k, true)?;
            if ks.kind == FileKind::File {
                Some(k.to_string())
            } else if has_scheme(k) {
                key_change = fetch_key(cx, k, &slug)?;
                Some(
                    key_change
                        .as_ref()
                        .map_or(k.to_string(), |w| w.path.clone()),
                )
            } else {
                None
            }
        }
        None => None,
    };
    // A downloaded key is named in the file by its path, as ansible-core's.
    let mut args = args;
    if let (Some(w), Some(_)) = (&key_change, &args.signed_by) {
        args.signed_by = Some(w.path.clone());
    }
    let repo = render(&args);
    let mut result = Map::new();
    result.insert("repo".into(), json!(repo));
    result.insert("dest".into(), json!(dest));
    result.insert("key_filename".into(), json!(key_filename));

    let old = content.map(|c| String::from_utf8_lossy(&c).into_owned());
    let attrs = Attrs {
        mode: Some(args.mode),
        ..Attrs::default()
    };
    let same = st.kind == FileKind::File && old.as_deref() == Some(repo.as_str());
    let mut attr_lines = if st.exists() {
        attrs.changes(&st)?
    } else {
        vec!["state: absent → file".into()]
    };
    let key_changes = match &key_change {
        Some(w) => w.changes()?,
        None => (Vec::new(), Vec::new()),
    };
    if same && attr_lines.is_empty() && key_changes.0.is_empty() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    let mut diff = Diff {
        path: dest.clone(),
        ..Diff::default()
    };
    let (mut changes, mut diffs) = key_changes;
    let change = if same && attr_lines.is_empty() {
        None
    } else if same {
        Some(Change::set_attrs(&dest, attrs, &st))
    } else {
        diff.before = Some(old.unwrap_or_default());
        diff.after = Some(repo.clone());
        Some(Change::Write {
            dest: dest.clone(),
            attrs,
            existing: st,
            validate: None,
            backup: false,
            content: Content::Bytes(repo.into_bytes()),
        })
    };
    if let Some(c) = change {
        diff.attrs.append(&mut attr_lines);
        changes.push(c);
        diffs.push(diff);
    }
    let mut action = change::action(changes, &dest)?;
    if let Some(w) = &key_change {
        action.touches.push(w.path.clone());
        action.touches.push(KEYRINGS_DIR.to_string());
    }
    action.result = result;
    Ok(Decision::Change { diffs, action })
}

/// `state: absent`: the `.sources` file goes, and the keys ansible-core
/// would have downloaded for it. `key_filename` is the `.gpg` one whether
/// or not it was there, as ansible-core returns it.
fn absent(cx: &PlanCx, slug: &str, dest: &str) -> Result<Decision, PlanError> {
    let asc = format!("{KEYRINGS_DIR}/{slug}.asc");
    let gpg = format!("{KEYRINGS_DIR}/{slug}.gpg");
    let (src, (a, g)) = both(
        cx.file(dest, false),
        both(cx.file(&asc, false), cx.file(&gpg, false)),
    )?;
    let mut result = Map::new();
    result.insert("repo".into(), Json::Null);
    result.insert("dest".into(), json!(dest));
    result.insert("key_filename".into(), json!(gpg));
    let gone: Vec<(&str, FileState)> = [(dest, src), (asc.as_str(), a), (gpg.as_str(), g)]
        .into_iter()
        .filter(|(_, st)| st.exists())
        .collect();
    if gone.is_empty() {
        result.insert("changed".into(), json!(false));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    let diffs = gone
        .iter()
        .map(|(path, st)| Diff {
            path: path.to_string(),
            attrs: vec![format!("state: {} → absent", kind_word(st))],
            ..Diff::default()
        })
        .collect();
    let changes = gone
        .iter()
        .map(|(path, _)| Change::Remove {
            path: path.to_string(),
        })
        .collect();
    let mut action = change::action(changes, dest)?;
    for (path, _) in &gone[..] {
        if !action.touches.iter().any(|t| t == path) {
            action.touches.push(path.to_string());
        }
    }
    action.result = result;
    Ok(Decision::Change { diffs, action })
}

/// A key fetched from a URL, to be at `path` (`/etc/apt/keyrings/<name>.asc`
/// or `.gpg`), and what is there now.
struct KeyWrite {
    path: String,
    bytes: Vec<u8>,
    existing: FileState,
    dir: FileState,
}

impl KeyWrite {
    /// The changes and diffs that put the key in place, mode 0644, the
    /// keyrings directory made 0755 first if missing, as ansible-core's
    /// `ensure_keyrings_dir`; none when it is there already.
    fn changes(&self) -> Result<(Vec<Change>, Vec<Diff>), String> {
        let attrs = Attrs {
            mode: Some(Mode::Octal(0o644)),
            ..Attrs::default()
        };
        let same = self.existing.kind == FileKind::File
            && self.existing.sha256.as_deref()
                == Some(hex::encode(Sha256::digest(&self.bytes)).as_str());
        let mut attr_lines = if self.existing.exists() {
            attrs.changes(&self.existing)?
        } else {
            vec!["state: absent → file".into()]
        };
        let mut changes = Vec::new();
        let mut diffs = Vec::new();
        if !self.dir.exists() {
            let (d, c) = files::create_dir(
                KEYRINGS_DIR,
                &Attrs {
                    owner: Some("root".into()),
                    group: Some("root".into()),
                    mode: Some(Mode::Octal(0o755)),
                },
            )?;
            diffs.push(d);
            changes.push(c);
        }
        if same && attr_lines.is_empty() {
            return Ok((changes, diffs));
        }
        let mut diff = Diff {
            path: self.path.clone(),
            ..Diff::default()
        };
        if same {
            changes.push(Change::set_attrs(&self.path, attrs, &self.existing));
        } else {
            if !attr_lines.iter().any(|l| l.starts_with("state:")) {
                attr_lines.insert(0, "content: the key fetched differs".into());
            }
            changes.push(Change::Write {
                dest: self.path.clone(),
                attrs,
                existing: self.existing.clone(),
                validate: None,
                backup: false,
                content: Content::Bytes(self.bytes.clone()),
            });
        }
        diff.attrs = attr_lines;
        diffs.push(diff);
        Ok((changes, diffs))
    }
}

/// The key at `url`, fetched by `curl` on the host (the URL given in its
/// config on stdin, never on a command line), and what is at both of its
/// possible paths; `None` when the server sent nothing (ansible-core then
/// names the URL itself in the file).
fn fetch_key(cx: &PlanCx, url: &str, slug: &str) -> Result<Option<KeyWrite>, PlanError> {
    if url.contains(['\n', '\r']) {
        return Err(PlanError::Fail(
            "Could not fetch signed_by key: a URL cannot contain line breaks".into(),
        ));
    }
    let config = format!(
        "url = {}\nuser-agent = \"ansible-httpget\"\n",
        super::get_url::config_string(url)?
    );
    let curl = |out: &str| {
        format!(
            "printf '%s' {} | curl -q -K - -f -s -S -L --max-time 30 {out}",
            quote(&config)
        )
    };
    let script = format!(
        "if ! command -v curl >/dev/null; then echo 'nocurl'; exit 0; fi\n\
         _rp_b=$({} | base64 -w0)\n\
         if [ -n \"$_rp_b\" ]; then printf 'ok %s\\n' \"$_rp_b\"; \
         elif _rp_e=$({} 2>&1); then echo 'empty'; \
         else printf 'fail %s\\n' \"$_rp_e\"; fi\n",
        curl(""),
        curl("-o /dev/null")
    );
    let asc = format!("{KEYRINGS_DIR}/{slug}.asc");
    let gpg = format!("{KEYRINGS_DIR}/{slug}.gpg");
    let (answer, (dir, (a, g))) = both(
        cx.ask_one(Read::Raw {
            script,
            why: "the `signed_by` key from its URL, as ansible-core fetches it (in check mode \
                  too): curl with the URL in its config on stdin, the bytes base64-encoded",
        }),
        both(
            cx.file(KEYRINGS_DIR, true),
            both(cx.file(&asc, false), cx.file(&gpg, false)),
        ),
    )?;
    let answer = answer.trim_end();
    let bytes = if let Some(b) = answer.strip_prefix("ok ") {
        base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| PlanError::Fail(format!("Could not fetch signed_by key: {e}")))?
    } else if answer == "empty" {
        return Ok(None);
    } else if answer == "nocurl" {
        return Err(PlanError::Missing(
            "Could not fetch signed_by key: the host has no `curl`".into(),
        ));
    } else {
        let why = answer.strip_prefix("fail ").unwrap_or(answer);
        return Err(PlanError::Fail(format!(
            "Could not fetch signed_by key: {why}"
        )));
    };
    let armored = bytes.windows(ARMOR.len()).any(|w| w == ARMOR.as_bytes());
    let (path, existing) = if armored { (asc, a) } else { (gpg, g) };
    Ok(Some(KeyWrite {
        path,
        bytes,
        existing,
        dir,
    }))
}

/// What makes a key ASCII-armored (`.asc`), as ansible-core's `is_armored`.
const ARMOR: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/// The word a diff line uses for what is at a path.
fn kind_word(st: &FileState) -> &'static str {
    match st.kind {
        FileKind::Directory => "directory",
        FileKind::Link => "link",
        _ => "file",
    }
}

/// ansible-core's file name for `name`: lower case, runs of `_` and
/// whitespace as one `-`, then anything but `a-z`, `0-9` and `-` dropped.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in name.to_lowercase().chars() {
        if c == '_' || c.is_whitespace() {
            if !in_run {
                out.push('-');
            }
            in_run = true;
            continue;
        }
        in_run = false;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
        }
    }
    out
}

/// Whether `v` starts with a URL scheme as Python's `urlsplit` finds one:
/// a letter, then letters, digits, `+`, `-` or `.`, then `:`.
fn has_scheme(v: &str) -> bool {
    match v.split_once(':') {
        Some((scheme, _)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// The `.sources` text, as ansible-core's `Deb822(...).dump()`: fields in
/// the order of the arguments' names, sorted.
fn render(args: &Args) -> String {
    let flag = |b: &Option<bool>| b.map(|b| if b { "yes" } else { "no" }.to_string());
    let list = |l: &Option<Vec<String>>| l.as_ref().map(|l| l.join(" "));
    let fields: [(&str, Option<String>); 20] = [
        (
            "Allow-Downgrade-To-Insecure",
            flag(&args.allow_downgrade_to_insecure),
        ),
        ("Allow-Insecure", flag(&args.allow_insecure)),
        ("Allow-Weak", flag(&args.allow_weak)),
        ("Architectures", list(&args.architectures)),
        ("By-Hash", flag(&args.by_hash)),
        ("Check-Date", flag(&args.check_date)),
        ("Check-Valid-Until", flag(&args.check_valid_until)),
        ("Components", list(&args.components)),
        (
            "Date-Max-Future",
            args.date_max_future.map(|n| n.to_string()),
        ),
        ("Enabled", flag(&args.enabled)),
        ("Inrelease-Path", args.inrelease_path.clone()),
        ("Languages", list(&args.languages)),
        ("X-Repolib-Name", Some(args.name.clone())),
        ("Pdiffs", flag(&args.pdiffs)),
        ("Signed-By", args.signed_by.clone()),
        ("Suites", list(&args.suites)),
        ("Targets", list(&args.targets)),
        ("Trusted", flag(&args.trusted)),
        ("Types", Some(args.types.join(" "))),
        ("Uris", list(&args.uris)),
    ];
    let mut out = String::new();
    for (field, value) in fields {
        let Some(value) = value else { continue };
        let field = if field == "Uris" { "URIs" } else { field };
        let value = if value.contains('\n') {
            multiline(&value)
        } else {
            value
        };
        if value.is_empty() || value.starts_with('\n') {
            out.push_str(&format!("{field}:{value}\n"));
        } else {
            out.push_str(&format!("{field}: {value}\n"));
        }
    }
    out
}

/// A value of several lines as deb822 folds it: on the lines after the
/// field's, each stripped and indented by four spaces, an empty one as `.`.
fn multiline(v: &str) -> String {
    v.trim()
        .lines()
        .map(|l| match l.trim() {
            "" => "    .".to_string(),
            l => format!("    {l}"),
        })
        .fold(String::new(), |acc, l| acc + "\n" + &l)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::change::Change;
    use super::super::testing::{self, after, changes, fail_msg};
    use super::super::{Decision, PlanError};
    use super::slug;
    use crate::probe::{Fact, FileState, Probe};

    const DEST: &str = "/etc/apt/sources.list.d/rprov-ref-test.sources";

    /// ansible-core 2.19's file for [`full_args`], as its module wrote it.
    const FULL: &str = "Architectures: amd64 arm64\n\
Components: main contrib\n\
Date-Max-Future: 10\n\
Enabled: no\n\
X-Repolib-Name: RProv_ref Test\n\
Pdiffs: no\n\
Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mQINBGE\n    =abcd\n    -----END PGP PUBLIC KEY BLOCK-----\n\
Suites: bookworm bookworm-updates\n\
Trusted: yes\n\
Types: deb deb-src\n\
URIs: http://deb.example.org/debian\n";

    fn full_args() -> serde_json::Value {
        json!({
            "name": "RProv_ref Test",
            "types": ["deb", "deb-src"],
            "uris": "http://deb.example.org/debian",
            "suites": ["bookworm", "bookworm-updates"],
            "components": "main contrib",
            "architectures": ["amd64", "arm64"],
            "enabled": false,
            "trusted": true,
            "pdiffs": false,
            "date_max_future": 10,
            "signed_by": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGE\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n",
        })
    }

    /// Plans against a host where the sources file holds `content` (mode
    /// `mode`) and the only regular file besides is `/etc/hostname`.
    fn on(
        args: serde_json::Value,
        content: Option<&str>,
        mode: &str,
    ) -> Result<Decision, PlanError> {
        testing::run("deb822_repository", args, |p| match p {
            Probe::File { path, .. } if path.ends_with(".sources") => {
                Some(Fact::File(match content {
                    Some(c) => testing::file(c.as_bytes(), mode, "root"),
                    None => FileState::missing(),
                }))
            }
            Probe::File { path, .. } if path == "/etc/hostname" => {
                Some(Fact::File(testing::file(b"h\n", "644", "root")))
            }
            Probe::File { .. } => Some(Fact::File(FileState::missing())),
            Probe::Content { .. } => Some(Fact::Content(content.map(|c| c.as_bytes().to_vec()))),
            _ => None,
        })
    }

    fn result(d: &Decision) -> &serde_json::Map<String, serde_json::Value> {
        match d {
            Decision::Ok { result, .. } => result,
            Decision::Change { action, .. } => &action.result,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_are_normalised_as_ansible_core() {
        assert_eq!(slug("RProv_ref Test"), "rprov-ref-test");
        assert_eq!(slug("Docker CE (stable)"), "docker-ce-stable");
        assert_eq!(slug("a__ \t b.c"), "a-bc");
    }

    #[test]
    fn new_file_is_ansible_cores_text_mode_0644() {
        let d = on(full_args(), None, "644").unwrap();
        assert_eq!(after(&d), FULL);
        let Change::Write { dest, attrs, .. } = &changes(&d)[0] else {
            panic!("a write")
        };
        assert_eq!(dest, DEST);
        assert_eq!(attrs.mode, Some(super::Mode::Octal(0o644)));
        let r = result(&d);
        assert_eq!(r["repo"], json!(FULL));
        assert_eq!(r["dest"], json!(DEST));
        assert_eq!(r["key_filename"], json!(null));
        assert_eq!(r["changed"], json!(true));
    }

    #[test]
    fn same_file_is_no_change_and_mode_alone_is_fixed() {
        let d = on(full_args(), Some(FULL), "644").unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
        assert_eq!(result(&d)["changed"], json!(false));
        let d = on(full_args(), Some(FULL), "600").unwrap();
        assert!(matches!(changes(&d)[0], Change::SetAttrs { .. }));
    }

    #[test]
    fn key_file_on_the_host_is_named_and_empty_list_has_no_space() {
        let args = json!({
            "name": "rprov-ref2",
            "uris": ["http://a.example/x", "http://b.example/y"],
            "suites": "stable",
            "components": [],
            "signed_by": "/etc/hostname",
        });
        let d = on(args, None, "644").unwrap();
        // ansible-core 2.19's text for these arguments.
        assert_eq!(
            after(&d),
            "Components:\nX-Repolib-Name: rprov-ref2\nSigned-By: /etc/hostname\n\
             Suites: stable\nTypes: deb\nURIs: http://a.example/x http://b.example/y\n"
        );
        assert_eq!(result(&d)["key_filename"], json!("/etc/hostname"));
    }

    /// Plans with `signed_by` a URL whose fetch answers `answer`, on a host
    /// with no keyrings directory and no sources file.
    fn with_url_key(answer: &str) -> Result<Decision, PlanError> {
        let answer = answer.to_string();
        testing::run(
            "deb822_repository",
            json!({"name": "x", "signed_by": "https://example.org/key.asc"}),
            move |p| match p {
                Probe::Shell { .. } => Some(Fact::Text(answer.clone())),
                Probe::File { .. } => Some(Fact::File(FileState::missing())),
                Probe::Content { .. } => Some(Fact::Content(None)),
                _ => None,
            },
        )
    }

    #[test]
    fn url_key_is_fetched_into_keyrings_and_named_by_path() {
        use base64::Engine;
        let key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        let d = with_url_key(&format!("ok {b64}\n")).unwrap();
        let c = changes(&d);
        assert!(matches!(&c[0], Change::MakeDir { path, .. } if path == "/etc/apt/keyrings"));
        let Change::Write { dest, content, .. } = &c[1] else {
            panic!("the key written: {c:?}")
        };
        assert_eq!(dest, "/etc/apt/keyrings/x.asc");
        assert_eq!(content, &super::Content::Bytes(key.as_bytes().to_vec()));
        let Decision::Change { diffs, action } = &d else {
            panic!("a change")
        };
        assert_eq!(
            diffs
                .last()
                .and_then(|d| d.after.clone())
                .unwrap_or_default(),
            "X-Repolib-Name: x\nSigned-By: /etc/apt/keyrings/x.asc\nTypes: deb\n"
        );
        assert_eq!(
            action.result["key_filename"],
            json!("/etc/apt/keyrings/x.asc")
        );
        // A binary key is `.gpg`.
        let b64 = base64::engine::general_purpose::STANDARD.encode([0x99u8, 1, 2]);
        let d = with_url_key(&format!("ok {b64}\n")).unwrap();
        assert!(
            matches!(&changes(&d)[1], Change::Write { dest, .. } if dest == "/etc/apt/keyrings/x.gpg")
        );
        let m = fail_msg(with_url_key(
            "fail curl: (22) The requested URL returned error: 404\n",
        ));
        assert_eq!(
            m,
            "Could not fetch signed_by key: curl: (22) The requested URL returned error: 404"
        );
    }

    #[test]
    fn bad_type_is_refused() {
        let m = fail_msg(on(json!({"name": "x", "types": "rpm"}), None, "644"));
        assert!(m.contains("deb, deb-src"), "{m}");
    }

    #[test]
    fn absent_removes_the_file_and_its_keys() {
        let d = on(
            json!({"name": "RProv_ref Test", "state": "absent"}),
            Some(FULL),
            "644",
        )
        .unwrap();
        assert_eq!(
            changes(&d),
            &[Change::Remove {
                path: DEST.to_string()
            }]
        );
        let r = result(&d);
        assert_eq!(r["repo"], json!(null));
        assert_eq!(
            r["key_filename"],
            json!("/etc/apt/keyrings/rprov-ref-test.gpg")
        );
        let d = on(
            json!({"name": "RProv_ref Test", "state": "absent"}),
            None,
            "644",
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }));
    }
}
