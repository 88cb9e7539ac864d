//! `get_url`: a file downloaded on the host with `curl` (no Python there),
//! as ansible-core 2.19's get_url decides it:
//!
//! - `dest` an existing file, no `force`, a `checksum` it already has: no
//!   download, only `owner`/`group`/`mode` set if they differ (decided at
//!   plan time, so `--check` says `ok` or shows the attribute change);
//! - `dest` an existing file, no `force`, no checksum: a conditional GET
//!   (`If-Modified-Since` the file's mtime, curl's `-z`); a 304 leaves it
//!   as it is, as Ansible's module exits there;
//! - otherwise (missing `dest`, `force`, a checksum it lacks, `dest` a
//!   directory: the name then comes from `Content-Disposition` or the URL
//!   after redirects) it is downloaded.
//!
//! The download goes to a temp file next to the destination, is checked
//! against `checksum` (a digest, or `algo:URL` of a checksum file read on
//! the host), compared by sha1 with what is there, given its owner and mode,
//! then renamed over it: a failed or cut download, or a wrong checksum,
//! leaves the old file and no temp file. Only running tells what the server
//! answers, so every case that asks it is a `Decision::Run`: `unknown` in
//! `--check` (ansible-core's check mode sends a HEAD and guesses).

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Read};
use super::files::{self, Attrs};
use super::mode::{self, Mode};
use super::stat::Algorithm;
use super::typed::module_args;
use super::{Action, Decision, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

module_args! {
    /// `get_url`'s arguments, with ansible-core's names, aliases and defaults.
    pub struct Args {
        url: String ["url"],
        dest: String ["dest"],
        /// Download even when `dest` exists (a directory `dest` always is).
        force: bool ["force"] = false,
        backup: bool ["backup"] = false,
        /// `algo:digest` or `algo:URL` of a checksum file.
        checksum: String ["checksum"] = String::new(),
        /// Seconds without progress (ansible-core's socket timeout).
        timeout: u64 ["timeout"] = 10,
        headers: Option<Json> ["headers"],
        validate_certs: bool ["validate_certs"] = true,
        /// A CA bundle on the host that the server's certificate must chain
        /// to (curl's `--cacert`).
        ca_path: Option<String> ["ca_path"],
        use_proxy: bool ["use_proxy"] = true,
        url_username: Option<String> ["url_username", "username"],
        url_password: Option<String> ["url_password", "password"],
        /// curl sends basic credentials with the first request anyway.
        #[allow(dead_code)]
        force_basic_auth: bool ["force_basic_auth"] = false,
        http_agent: String ["http_agent"] = "ansible-httpget".to_string(),
        client_cert: Option<String> ["client_cert"],
        client_key: Option<String> ["client_key"],
        use_gssapi: bool ["use_gssapi"] = false,
        use_netrc: bool ["use_netrc"] = true,
        decompress: bool ["decompress"] = true,
        ciphers: Vec<String> ["ciphers"] = Vec::new(),
        unredirected_headers: Vec<String> ["unredirected_headers"] = Vec::new(),
        /// Where ansible-core keeps its temp file; rprov's is next to `dest`
        /// (so the rename is atomic), which changes nothing the task sees.
        #[allow(dead_code)]
        tmp_dest: Option<String> ["tmp_dest"],
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        /// The write is atomic either way.
        #[allow(dead_code)]
        unsafe_writes: bool ["unsafe_writes"] = false,
        attributes: Option<String> ["attributes", "attr"],
        /// SELinux contexts are accepted and ignored, as by rprov's file modules.
        #[allow(dead_code)]
        setype: Option<String> ["setype"],
        #[allow(dead_code)]
        seuser: Option<String> ["seuser"],
        #[allow(dead_code)]
        serole: Option<String> ["serole"],
        #[allow(dead_code)]
        selevel: Option<String> ["selevel"],
    }
}

/// What `checksum` asks the download to have.
#[derive(Clone, Debug, PartialEq)]
enum Expected {
    None,
    Digest(Algorithm, String),
    /// A checksum file to read the digest from, on the host.
    Url(Algorithm, String),
}

impl Expected {
    fn algorithm(&self) -> Option<Algorithm> {
        match self {
            Expected::None => None,
            Expected::Digest(a, _) | Expected::Url(a, _) => Some(*a),
        }
    }
}

/// The URL schemes ansible-core's get_url fetches (and curl too).
const SCHEMES: &[&str] = &["http", "https", "ftp", "file"];

fn scheme(url: &str) -> Option<String> {
    let (s, _) = url.split_once(':')?;
    let ok = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    ok.then(|| s.to_ascii_lowercase())
}

/// `checksum` as ansible-core reads it: `algo:value`, a value with a URL
/// scheme is a checksum file; otherwise every non-word character is dropped
/// (a pasted zero-width space) and the rest, lower-cased, must be hex.
fn parse_checksum(s: &str) -> Result<Expected, PlanError> {
    if s.is_empty() {
        return Ok(Expected::None);
    }
    let Some((algo, value)) = s.split_once(':') else {
        return Err(PlanError::Fail(
            "The checksum parameter has to be in format <algorithm>:<checksum>".into(),
        ));
    };
    let algo = <Algorithm as super::typed::ArgValue>::from_json(&json!(algo))
        .map_err(|why| PlanError::Fail(format!("`get_url`: the checksum algorithm {why}")))?;
    if scheme(value).is_some_and(|s| SCHEMES.contains(&s.as_str())) {
        return Ok(Expected::Url(algo, value.to_string()));
    }
    let hex: String = value
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .flat_map(char::to_lowercase)
        .collect();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PlanError::Fail("The checksum format is invalid".into()));
    }
    Ok(Expected::Digest(algo, hex))
}

/// The URL with a `user:password@` password masked, as ansible-core's
/// `mask_url` returns it.
pub(super) fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:********{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The last part of the URL's path, `index.html` when it has none
/// (ansible-core's `url_filename`): the name a checksum file lists.
fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => "index.html".to_string(),
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let a = Args::from_cx(cx)?;
    let refuse = |msg: &str| Err(PlanError::Fail(format!("`get_url`: {msg}")));
    if a.use_gssapi {
        return refuse("`use_gssapi` (Kerberos) is not supported by rprov");
    }
    if !a.unredirected_headers.is_empty() {
        return refuse("`unredirected_headers` is not supported by rprov (curl sends the headers on every redirect; it drops `Authorization` when the host changes)");
    }
    if a.attributes.as_deref().is_some_and(|s| !s.is_empty()) {
        return refuse("`attributes` (file attributes set with chattr) is not supported by rprov");
    }
    if a.mode == Some(Mode::Preserve) {
        return refuse("`mode: preserve` is only for copy and template");
    }
    match scheme(&a.url) {
        Some(s) if SCHEMES.contains(&s.as_str()) => {}
        _ => {
            return refuse(&format!(
                "`url: {}` must be an http, https, ftp or file URL",
                mask_url(&a.url)
            ))
        }
    }
    if a.dest.is_empty() {
        return refuse("`dest` must not be empty");
    }
    let expected = parse_checksum(&a.checksum)?;
    let attrs = Attrs {
        owner: a.owner.clone().filter(|s| !s.is_empty()),
        group: a.group.clone().filter(|s| !s.is_empty()),
        mode: a.mode.clone(),
    };
    let st = cx.file(&a.dest, true)?;
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("checksum_dest".into(), Json::Null);
    result.insert("checksum_src".into(), Json::Null);
    result.insert("dest".into(), json!(a.dest));
    result.insert("elapsed".into(), json!(0));
    result.insert("url".into(), json!(mask_url(&a.url)));

    // The checksum it already has: nothing to download.
    let mut mismatch = false;
    if st.kind == FileKind::File && !a.force {
        if let Expected::Digest(algo, want) = &expected {
            if &digest_of(cx, &a.dest, *algo, &st)? == want {
                return already_there(&a.dest, &attrs, &st, result);
            }
            mismatch = true;
        }
    }
    let script = download_script(&a, &st, &expected, &attrs, mismatch)?;
    let dest_dir = st.kind == FileKind::Directory;
    Ok(Decision::Run {
        waits_for: format!(
            "what {} answers: nothing is downloaded in check mode",
            mask_url(&a.url)
        ),
        action: Action {
            output: OutputMode::Parse(parse_output),
            // A file in a directory `dest` is named by the server.
            touches: vec![a.dest.clone()],
            touches_everything: dest_dir,
            ..change::checked(
                vec![Change::Raw {
                    script,
                    why: "a download whose outcome only the server's answer decides: curl with \
                          its URL, credentials and headers in a config file only the task's user \
                          can read, the file checked and renamed into place by the same script",
                }],
                result,
            )?
        },
    })
}

/// The digest of the file at `dest` (sha256 from its stat, else a read).
fn digest_of(
    cx: &PlanCx,
    dest: &str,
    algo: Algorithm,
    st: &FileState,
) -> Result<String, PlanError> {
    if let (Algorithm::Sha256, Some(sum)) = (algo, &st.sha256) {
        return Ok(sum.clone());
    }
    let out = cx.ask_about(
        dest,
        Read::Raw {
            script: format!("{}sum < {} 2>/dev/null", algo.as_str(), quote(dest)),
            why: "one digest coreutils computes, of the file as it is on the host",
        },
    )?;
    Ok(out.split_whitespace().next().unwrap_or("").to_string())
}

/// `dest` already holds the checksum asked for: ok, or its attributes set.
fn already_there(
    dest: &str,
    attrs: &Attrs,
    st: &FileState,
    mut result: Map<String, Json>,
) -> Result<Decision, PlanError> {
    let lines = attrs.changes(st)?;
    if lines.is_empty() {
        result.insert("msg".into(), json!("file already exists"));
        result.extend(files::stat_fields(st));
        return Ok(Decision::Ok { result, msg: None });
    }
    result.insert("changed".into(), json!(true));
    result.insert(
        "msg".into(),
        json!("file already exists but file attributes changed"),
    );
    let mut action = change::action(
        vec![
            Change::set_attrs(dest, attrs.clone(), st),
            Change::ReportStat {
                path: dest.to_string(),
            },
        ],
        dest,
    )?;
    action.output = OutputMode::Parse(files::parse_written);
    action.result = result;
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: dest.to_string(),
            attrs: lines,
            ..Diff::default()
        }],
        action,
    })
}

/// A value for curl's config file: double-quoted, `\\` and `"` escaped. A
/// line break would end the option (and could start another): refused.
pub(super) fn config_string(s: &str) -> Result<String, PlanError> {
    if s.contains(['\n', '\r']) {
        return Err(PlanError::Fail(
            "URLs, headers and credentials cannot contain line breaks".into(),
        ));
    }
    Ok(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// curl's config for `url`: the URL, credentials, headers, agent and TLS
/// settings, none of which may appear on a command line.
fn curl_config(a: &Args, url: &str, no_cache: bool) -> Result<String, PlanError> {
    let mut c = format!("url = {}\n", config_string(url)?);
    if let Some(u) = &a.url_username {
        let p = a.url_password.as_deref().unwrap_or("");
        c.push_str(&format!("user = {}\n", config_string(&format!("{u}:{p}"))?));
    }
    c.push_str(&format!("user-agent = {}\n", config_string(&a.http_agent)?));
    match &a.headers {
        None | Some(Json::Null) => {}
        Some(Json::Object(h)) => {
            for (k, v) in h {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                if k.is_empty() || k.contains([':', '\n', '\r']) {
                    return Err(PlanError::Fail(format!("`get_url`: invalid header `{k}`")));
                }
                c.push_str(&format!(
                    "header = {}\n",
                    config_string(&format!("{k}: {v}"))?
                ));
            }
        }
        Some(other) => {
            return Err(PlanError::Fail(format!(
                "`get_url`: `headers` must be a mapping, got {other}"
            )))
        }
    }
    if no_cache {
        c.push_str("header = \"Cache-Control: no-cache\"\n");
    }
    c.push_str(&tls_config(
        a.client_cert.as_deref(),
        a.client_key.as_deref(),
        &a.ciphers,
    )?);
    Ok(c)
}

/// curl config lines for a client certificate and key on the host and the
/// TLS ciphers to offer (`get_url`'s and `uri`'s arguments of those names).
pub(super) fn tls_config(
    cert: Option<&str>,
    key: Option<&str>,
    ciphers: &[String],
) -> Result<String, PlanError> {
    let mut c = String::new();
    if let Some(p) = cert {
        c.push_str(&format!("cert = {}\n", config_string(p)?));
    }
    if let Some(p) = key {
        c.push_str(&format!("key = {}\n", config_string(p)?));
    }
    if !ciphers.is_empty() {
        c.push_str(&format!(
            "ciphers = {}\n",
            config_string(&ciphers.join(":"))?
        ));
    }
    Ok(c)
}

/// Shell lines giving `target` (a quoted path or `"$var"`) the owner, group
/// and mode asked for. A symbolic mode goes to chmod itself, which applies
/// it to the mode the file has then, as ansible-core does.
pub(super) fn attr_lines(attrs: &Attrs, target: &str) -> String {
    let mut s = String::new();
    match (&attrs.owner, &attrs.group) {
        (Some(o), Some(g)) => s.push_str(&format!(
            "chown -- {} {target}\n",
            quote(&format!("{o}:{g}"))
        )),
        (Some(o), None) => s.push_str(&format!("chown -- {} {target}\n", quote(o))),
        (None, Some(g)) => s.push_str(&format!("chgrp -- {} {target}\n", quote(g))),
        (None, None) => {}
    }
    match &attrs.mode {
        Some(Mode::Octal(m)) => s.push_str(&format!("chmod {} {target}\n", mode::fmt(*m))),
        Some(Mode::Symbolic(spec)) => s.push_str(&format!(
            "chmod -- {} {target}\n",
            quote(&mode::explicit_who(spec))
        )),
        Some(Mode::Preserve) | None => {}
    }
    s
}

/// A checksum file's line for the file named `$_rp_fn`, in GNU
/// (`digest  name`, `*name`, `./name`) or BSD (`ALGO (name) = digest`)
/// form, or its one word when it is nothing else (ansible-core's
/// `parse_digest_lines`).
const DIGEST_AWK: &str = r#"{ l[NR] = $0; n[NR] = NF }
END {
  fn = ENVIRON["_rp_fn"]
  if (NR == 1 && n[1] == 1) { w = l[1]; gsub(/[ \t]/, "", w); print w; exit }
  for (i = 1; i <= NR; i++) {
    s = l[i]
    if (s ~ /^[A-Za-z0-9_]+ ?\(.+\) ?= [A-Za-z0-9_.]+$/) {
      d = s; sub(/.*= /, "", d)
      p = s; sub(/^[A-Za-z0-9_]+ ?\(/, "", p); sub(/\) ?= [A-Za-z0-9_.]+$/, "", p)
    } else if (s ~ /^[A-Za-z0-9_.]+[ \t]+./) {
      d = s; sub(/[ \t].*/, "", d)
      p = s; sub(/^[A-Za-z0-9_.]+[ \t]+/, "", p); sub(/^\*/, "", p); sub(/^[.\/]+/, "", p)
    } else continue
    if (p == fn) { print d; exit }
  }
}"#;

/// The one script of a download (see the module's doc). It prints
/// `rp_key=value` lines for [`parse_output`] and fails with ansible-core's
/// message on stderr.
fn download_script(
    a: &Args,
    st: &FileState,
    expected: &Expected,
    attrs: &Attrs,
    mismatch: bool,
) -> Result<String, PlanError> {
    let dest_dir = st.kind == FileKind::Directory;
    let dir = if dest_dir {
        a.dest.trim_end_matches('/').to_string()
    } else {
        files::parent(&a.dest).to_string()
    };
    let dir = if dir.is_empty() { "/".to_string() } else { dir };
    let sep = if dir.ends_with('/') { "" } else { "/" };
    let template = format!("{dir}{sep}{}get_url.XXXXXXXXXX", change::TEMP_PREFIX);
    // A checksum it lacks forces the download, as in ansible-core.
    let force = a.force || mismatch;
    let mut opts = format!(
        "curl -sS -L --connect-timeout {t} --speed-time {t} --speed-limit 1",
        t = a.timeout.max(1)
    );
    if !a.validate_certs {
        opts.push_str(" --insecure");
    }
    if let Some(ca) = &a.ca_path {
        opts.push_str(&format!(" --cacert {}", quote(ca)));
    }
    if !a.use_proxy {
        opts.push_str(" --noproxy '*'");
    }
    if a.decompress {
        opts.push_str(" --compressed");
    }
    if a.use_netrc {
        opts.push_str(" --netrc-optional");
    }
    let http = |url: &str| scheme(url).is_some_and(|s| s.starts_with("http"));
    let heredoc = |file: &str, config: &str| {
        format!("cat > \"$_rp_t/{file}\" <<'_RP_CURL_CONFIG'\n{config}_RP_CURL_CONFIG\n")
    };
    let mut s = format!(
        "set -e\n\
         printf 'rp_url=%s\\n' {url}\n\
         _rp_dir={qdir}\n\
         [ -d \"$_rp_dir\" ] || {{ printf 'Destination %s does not exist\\n' \"$_rp_dir\" >&2; exit 1; }}\n\
         [ -w \"$_rp_dir\" ] || {{ printf 'Destination %s is not writable\\n' \"$_rp_dir\" >&2; exit 1; }}\n\
         _rp_t=$(mktemp -d)\n\
         trap 'rm -rf \"$_rp_t\"' EXIT\n\
         trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM\n\
         _rp_dl=$(mktemp {template})\n\
         trap 'rm -rf \"$_rp_t\"; rm -f \"$_rp_dl\"' EXIT\n\
         _rp_fail() {{ printf '%s\\n' \"$1\" >&2; exit 1; }}\n\
         _rp_stat() {{ stat -c 'rp_stat=%u %g %a %s %U %G' -- \"$1\"; }}\n",
        url = quote(&mask_url(&a.url)),
        qdir = quote(&dir),
        template = quote(&template),
    );
    s.push_str(&heredoc("k", &curl_config(a, &a.url, force)?));
    if let Some(algo) = expected.algorithm() {
        s.push_str("_rp_sum=\n");
        let sum = format!("{}sum", algo.as_str());
        match expected {
            Expected::Digest(_, hex) => s.push_str(&format!("_rp_sum={}\n", quote(hex))),
            Expected::Url(_, curl_url) => {
                s.push_str(&heredoc("kc", &curl_config(a, curl_url, force)?));
                let masked = quote(&mask_url(curl_url));
                s.push_str(&format!(
                    "_rp_w=$({opts} -K \"$_rp_t/kc\" -o \"$_rp_t/c\" -w '%{{http_code}}' 2>\"$_rp_t/e\") || \
                     _rp_fail \"Request failed: $(head -c 2000 \"$_rp_t/e\")\"\n"
                ));
                if http(curl_url) {
                    s.push_str(&format!(
                        "[ \"$_rp_w\" = 200 ] || _rp_fail \"Request failed: HTTP Error $_rp_w for \"{masked}\n"
                    ));
                }
                s.push_str(&format!(
                    "_rp_sum=$(_rp_fn={fname} awk {awk} \"$_rp_t/c\")\n\
                     [ -n \"$_rp_sum\" ] || {{ printf \"Unable to find a checksum for file '%s' in '%s'\\n\" {fname} {masked} >&2; exit 1; }}\n\
                     _rp_sum=$(printf '%s' \"$_rp_sum\" | tr -cd '[:alnum:]_' | tr '[:upper:]' '[:lower:]')\n\
                     case $_rp_sum in ''|*[!0-9a-f]*) _rp_fail 'The checksum format is invalid';; esac\n",
                    fname = quote(&url_filename(&a.url)),
                    awk = quote(DIGEST_AWK),
                ));
                if !dest_dir && !a.force {
                    // It already has the checksum the file lists: no download.
                    let qd = quote(&a.dest);
                    s.push_str(&format!(
                        "if [ -f {qd} ] && [ \"$({sum} < {qd} | cut -d' ' -f1)\" = \"$_rp_sum\" ]; then\n\
                         _rp_b4=$(stat -c '%U %G %a' -- {qd})\n\
                         {attrs}\
                         if [ \"$(stat -c '%U %G %a' -- {qd})\" = \"$_rp_b4\" ]; then echo rp_changed=no; echo 'rp_msg=file already exists'; \
                         else echo rp_changed=yes; echo 'rp_msg=file already exists but file attributes changed'; fi\n\
                         _rp_stat {qd}\nexit 0\nfi\n",
                        attrs = attr_lines(attrs, &qd),
                    ));
                }
            }
            Expected::None => {}
        }
    }
    // A conditional request when the file is there and nothing forces it.
    s.push_str("set --\n");
    if !dest_dir && !force {
        let qd = quote(&a.dest);
        s.push_str(&format!("if [ -f {qd} ]; then set -- -z {qd}; fi\n"));
    }
    s.push_str(&format!(
        "_rp_rc=0\n\
         _rp_w=$({opts} \"$@\" -K \"$_rp_t/k\" -D \"$_rp_t/h\" -o \"$_rp_dl\" -w '%{{http_code}} %{{url_effective}}' 2>\"$_rp_t/e\") || _rp_rc=$?\n\
         _rp_code=${{_rp_w%% *}}; _rp_eff=${{_rp_w#* }}\n\
         printf 'rp_status_code=%s\\n' \"$_rp_code\"\n\
         [ \"$_rp_rc\" -eq 0 ] || _rp_fail \"Request failed: $(head -c 2000 \"$_rp_t/e\")\"\n\
         if [ \"$_rp_code\" = 304 ]; then echo rp_changed=no; echo 'rp_msg=HTTP Error 304: Not Modified'; _rp_stat {qd}; exit 0; fi\n",
        qd = quote(&a.dest),
    ));
    if http(&a.url) {
        s.push_str(
            "[ \"$_rp_code\" = 200 ] || { echo \"rp_response=HTTP Error $_rp_code\"; _rp_fail 'Request failed'; }\n",
        );
    }
    // The last response's length, for ansible-core's `OK (N bytes)`.
    s.push_str(
        "_rp_len=$(tr -d '\\r' < \"$_rp_t/h\" | awk '/^HTTP\\//{v=\"\"} tolower($1)==\"content-length:\"{v=$2} END{print v}')\n",
    );
    if dest_dir {
        s.push_str(
            "_rp_name=$(tr -d '\\r' < \"$_rp_t/h\" | awk '/^HTTP\\//{v=\"\"} tolower($0) ~ /^content-disposition:/{v=$0} END{print v}' \
             | sed -n 's/.*[Ff][Ii][Ll][Ee][Nn][Aa][Mm][Ee]=\"\\{0,1\\}\\([^\";]*\\).*/\\1/p')\n\
             _rp_name=${_rp_name##*/}\n\
             if [ -z \"$_rp_name\" ]; then _rp_p=${_rp_eff%%[?#]*}; _rp_p=${_rp_p#*://}; \
             case $_rp_p in */*) _rp_name=${_rp_p##*/};; esac; fi\n\
             [ -n \"$_rp_name\" ] || _rp_name=index.html\n\
             case $_rp_name in .|..) _rp_fail \"the server named the file '$_rp_name'\";; esac\n\
             _rp_dest=\"$_rp_dir/$_rp_name\"\n\
             printf 'rp_dest=%s\\n' \"$_rp_dest\"\n",
        );
    } else {
        s.push_str(&format!("_rp_dest={}\n", quote(&a.dest)));
    }
    if let Some(algo) = expected.algorithm() {
        s.push_str(&format!(
            "_rp_got=$({}sum < \"$_rp_dl\" | cut -d' ' -f1)\n\
             [ \"$_rp_got\" = \"$_rp_sum\" ] || _rp_fail \"The checksum for $_rp_dl did not match $_rp_sum; it was $_rp_got.\"\n",
            algo.as_str()
        ));
    }
    let backup = if a.backup {
        "if [ -f \"$_rp_dest\" ]; then _rp_b=\"$_rp_dest.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"; cp -p -- \"$_rp_dest\" \"$_rp_b\"; printf 'rp_backup_file=%s\\n' \"$_rp_b\"; fi\n"
    } else {
        ""
    };
    s.push_str(&format!(
        "[ ! -d \"$_rp_dest\" ] || _rp_fail \"Destination $_rp_dest is a directory\"\n\
         _rp_src=$(sha1sum < \"$_rp_dl\" | cut -d' ' -f1)\n\
         printf 'rp_checksum_src=%s\\nrp_src=%s\\n' \"$_rp_src\" \"$_rp_dl\"\n\
         _rp_old=\n\
         if [ -e \"$_rp_dest\" ]; then\n\
         [ -w \"$_rp_dest\" ] || _rp_fail \"Destination $_rp_dest is not writable\"\n\
         _rp_old=$(sha1sum < \"$_rp_dest\" | cut -d' ' -f1)\n\
         printf 'rp_checksum_dest=%s\\n' \"$_rp_old\"\n\
         fi\n\
         if [ \"$_rp_src\" != \"$_rp_old\" ]; then\n\
         if [ -e \"$_rp_dest\" ]; then chown --reference=\"$_rp_dest\" \"$_rp_dl\" 2>/dev/null || true; chmod --reference=\"$_rp_dest\" \"$_rp_dl\"; \
         else chmod \"$(printf '%o' $(( 0666 & ~$(umask) )))\" \"$_rp_dl\"; fi\n\
         {tmp_attrs}{backup}\
         mv -f -- \"$_rp_dl\" \"$_rp_dest\"\n\
         echo rp_changed=yes\n\
         else\n\
         _rp_b4=$(stat -c '%U %G %a' -- \"$_rp_dest\")\n\
         {dest_attrs}\
         if [ \"$(stat -c '%U %G %a' -- \"$_rp_dest\")\" = \"$_rp_b4\" ]; then echo rp_changed=no; else echo rp_changed=yes; fi\n\
         fi\n\
         printf 'rp_md5sum=%s\\n' \"$(md5sum < \"$_rp_dest\" | cut -d' ' -f1)\"\n\
         printf 'rp_msg=OK (%s bytes)\\n' \"${{_rp_len:-unknown}}\"\n\
         _rp_stat \"$_rp_dest\"\n",
        tmp_attrs = attr_lines(attrs, "\"$_rp_dl\""),
        dest_attrs = attr_lines(attrs, "\"$_rp_dest\""),
    ));
    Ok(s)
}

/// ansible-core's result from the script's `rp_key=value` lines: it fails
/// exactly when the script did, with its message.
fn parse_output(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    for line in stdout.lines() {
        let Some((k, v)) = line.strip_prefix("rp_").and_then(|l| l.split_once('=')) else {
            continue;
        };
        match k {
            "changed" => {
                m.insert("changed".into(), json!(v == "yes"));
            }
            "status_code" => {
                let code = v.parse::<i64>().ok().filter(|c| *c > 0);
                m.insert("status_code".into(), code.map_or(json!(-1), |c| json!(c)));
            }
            "stat" => {
                if let Some(st) = files::parse_stat_line(v, FileKind::File) {
                    m.extend(files::stat_fields(&st));
                }
            }
            "url" | "dest" | "msg" | "checksum_src" | "checksum_dest" | "md5sum" | "src"
            | "backup_file" | "response" => {
                m.insert(k.into(), json!(v));
            }
            _ => {}
        }
    }
    if status != 0 {
        m.insert("failed".into(), json!(true));
        let msg = match stderr.trim() {
            "" => format!("failed with exit status {status}"),
            err => err.to_string(),
        };
        m.insert("msg".into(), json!(msg));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{self, fail_msg};
    use crate::probe::{Fact, Probe};

    const SHA256_HELLO: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    fn with_dest(st: FileState) -> impl Fn(&Probe) -> Option<Fact> {
        move |p| match p {
            Probe::File { .. } => Some(Fact::File(st.clone())),
            _ => None,
        }
    }

    fn run_script(d: &Decision) -> Action {
        match d {
            Decision::Run { action, .. } => action.clone(),
            other => panic!("expected a download, got {other:?}"),
        }
    }

    #[test]
    fn a_file_with_the_checksum_is_left_alone() {
        let d = testing::run(
            "get_url",
            json!({"url": "http://h/f", "dest": "/srv/f", "checksum": format!("sha256:{}", SHA256_HELLO.to_uppercase())}),
            with_dest(testing::file(b"hello\n", "644", "root")),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["changed"], json!(false));
        assert_eq!(result["msg"], json!("file already exists"));
        assert_eq!(result["dest"], json!("/srv/f"));
        assert_eq!(result["mode"], json!("0644"));
    }

    #[test]
    fn a_file_with_the_checksum_gets_its_mode() {
        let d = testing::run(
            "get_url",
            json!({"url": "http://h/f", "dest": "/srv/f", "mode": "0600", "checksum": format!("sha256:{SHA256_HELLO}")}),
            with_dest(testing::file(b"hello\n", "644", "root")),
        )
        .unwrap();
        let Decision::Change { diffs, action } = &d else {
            panic!("{d:?}")
        };
        assert_eq!(diffs[0].attrs, ["mode: 0644 → 0600"]);
        assert!(matches!(action.changes[0], Change::SetAttrs { .. }));
        assert_eq!(
            action.result["msg"],
            json!("file already exists but file attributes changed")
        );
    }

    #[test]
    fn other_algorithms_read_the_digest_on_the_host() {
        let md5 = "b1946ac92492d2347c6235b4d2611184";
        let d = testing::run(
            "get_url",
            json!({"url": "http://h/f", "dest": "/srv/f", "checksum": format!("md5:{md5}")}),
            |p| match p {
                Probe::File { .. } => Some(Fact::File(testing::file(b"hello\n", "644", "root"))),
                Probe::PathShell { script, .. } if script.contains("md5sum") => {
                    Some(Fact::Text(format!("{md5}  -\n")))
                }
                _ => None,
            },
        )
        .unwrap();
        assert!(matches!(d, Decision::Ok { .. }), "{d:?}");
    }

    #[test]
    fn a_missing_file_or_a_wrong_checksum_is_downloaded() {
        let d = testing::run(
            "get_url",
            json!({"url": "http://h/f", "dest": "/srv/f"}),
            with_dest(FileState::missing()),
        )
        .unwrap();
        let a = run_script(&d);
        assert!(a.script.contains("then set -- -z /srv/f;"), "conditional");
        let d = testing::run(
            "get_url",
            json!({"url": "http://h/f", "dest": "/srv/f", "checksum": "sha256:00ff"}),
            with_dest(testing::file(b"hello\n", "644", "root")),
        )
        .unwrap();
        let a = run_script(&d);
        // A checksum it lacks forces the download: no conditional request.
        assert!(!a.script.contains(" -z "));
        assert!(a.script.contains("Cache-Control: no-cache"));
    }

    #[test]
    fn the_password_is_in_the_config_not_on_a_command_line() {
        let d = testing::run(
            "get_url",
            json!({"url": "https://h/f", "dest": "/srv/f", "username": "u", "password": "s3cr\"et",
                   "headers": {"X-Token": "t0k"}}),
            with_dest(FileState::missing()),
        )
        .unwrap();
        let a = run_script(&d);
        let config_start = a.script.find("<<'_RP_CURL_CONFIG'").unwrap();
        let config_end = a.script.find("\n_RP_CURL_CONFIG\n").unwrap();
        for secret in ["s3cr", "t0k"] {
            let at = a.script.find(secret).unwrap();
            assert!(
                config_start < at && at < config_end,
                "{secret} outside the config"
            );
            assert_eq!(a.script.matches(secret).count(), 1);
        }
        assert!(a.script.contains("user = \"u:s3cr\\\"et\""));
    }

    #[test]
    fn checksum_and_argument_errors() {
        let bad = |args: Json| {
            fail_msg(testing::run(
                "get_url",
                args,
                with_dest(FileState::missing()),
            ))
        };
        assert_eq!(
            bad(json!({"url": "http://h/f", "dest": "/f", "checksum": "abc"})),
            "The checksum parameter has to be in format <algorithm>:<checksum>"
        );
        assert_eq!(
            bad(json!({"url": "http://h/f", "dest": "/f", "checksum": "sha256:xyz"})),
            "The checksum format is invalid"
        );
        assert!(
            bad(json!({"url": "http://h/f", "dest": "/f", "checksum": "crc32:00"}))
                .contains("must be one of md5")
        );
        assert!(bad(json!({"url": "gopher://h/f", "dest": "/f"})).contains("must be an http"));
        assert!(
            bad(json!({"url": "http://h/f", "dest": "/f", "use_gssapi": true}))
                .contains("use_gssapi")
        );
        assert!(
            bad(json!({"url": "http://h/f", "dest": "/f", "headers": {"A": "x\ny"}}))
                .contains("line breaks")
        );
    }

    #[test]
    fn checksum_values_as_ansible_reads_them() {
        assert_eq!(
            parse_checksum("sha1:AB\u{200b}cd").unwrap(),
            Expected::Digest(Algorithm::Sha1, "abcd".into())
        );
        assert_eq!(
            parse_checksum("sha256:https://h/SHA256SUMS").unwrap(),
            Expected::Url(Algorithm::Sha256, "https://h/SHA256SUMS".into())
        );
        assert_eq!(mask_url("https://u:pw@h/x"), "https://u:********@h/x");
        assert_eq!(mask_url("https://h/x@y"), "https://h/x@y");
        assert_eq!(url_filename("http://h/a/b.tgz?x=1"), "b.tgz");
        assert_eq!(url_filename("http://h/"), "index.html");
        assert_eq!(url_filename("http://h"), "index.html");
    }

    /// The checksum file parser, with `awk` on this machine.
    #[test]
    fn digest_lines_in_gnu_bsd_and_bare_forms() {
        let pick = |file: &str, name: &str| {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("sums");
            std::fs::write(&p, file).unwrap();
            let out = std::process::Command::new("awk")
                .arg(DIGEST_AWK)
                .arg(&p)
                .env("_rp_fn", name)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let gnu = "aa11  other.tgz\nbb22 *app.tgz\ncc33  ./lib.tgz\n";
        assert_eq!(pick(gnu, "app.tgz"), "bb22");
        assert_eq!(pick(gnu, "lib.tgz"), "cc33");
        assert_eq!(pick(gnu, "missing.tgz"), "");
        assert_eq!(pick("SHA256 (app (1).tgz) = dd44\n", "app (1).tgz"), "dd44");
        assert_eq!(pick("ee55\n", "anything"), "ee55");
    }

    #[test]
    fn failures_keep_the_message_and_the_status() {
        let m = parse_output(
            1,
            "rp_url=http://h/f\nrp_status_code=404\nrp_response=HTTP Error 404\n",
            "Request failed\n",
        );
        assert_eq!(m["failed"], json!(true));
        assert_eq!(m["msg"], json!("Request failed"));
        assert_eq!(m["status_code"], json!(404));
        assert_eq!(m["response"], json!("HTTP Error 404"));
        let m = parse_output(
            0,
            "rp_url=http://h/f\nrp_status_code=200\nrp_checksum_src=ab\nrp_changed=yes\nrp_msg=OK (6 bytes)\nrp_stat=0 0 644 6 root root\n",
            "",
        );
        assert_eq!(m["changed"], json!(true));
        assert_eq!(m["size"], json!(6));
        assert_eq!(m["mode"], json!("0644"));
        assert_eq!(m["msg"], json!("OK (6 bytes)"));
        assert!(!m.contains_key("failed"));
    }
}
