//! `uri`: an HTTP request made on the host with `curl` (no Python there).
//!
//! Its answer is live, so it is always run (a `Decision::Run`; in check mode it
//! is reported as not run). A GET or HEAD reports `changed: false`, as
//! Ansible's module does; other methods report a change. The result holds
//! `status`, `url`, `msg`, `content` (with `return_content`), `json` (when the
//! body is JSON) and the response headers in lower case. `creates` and
//! `removes` leave the request out, as ansible-core's module does. `retries`,
//! `delay` and `until` are task keywords the executor handles.

use base64::Engine as _;
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change};
use super::get_url::config_string;
use super::typed::{choice, module_args, ArgValue};
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

choice! {
    /// How `body` is sent. `form-multipart` is Ansible's and refused.
    pub enum BodyFormat {
        Raw = "raw",
        Json = "json",
        FormUrlencoded = "form-urlencoded",
        FormMultipart = "form-multipart",
    }
}

module_args! {
    /// `uri`'s arguments. `user` and `password` are Ansible's aliases of
    /// `url_username` and `url_password`, kept as fields of their own
    /// because the table lists them after both.
    pub struct Args {
        url: String ["url"],
        method: String ["method"] = "GET".to_string(),
        /// One status, a list of them, or one comma-separated string.
        status_code: Option<Json> ["status_code"],
        return_content: bool ["return_content"] = false,
        /// A mapping of header names to values.
        headers: Option<Json> ["headers"],
        /// Text, or a structure `body_format` encodes.
        body: Option<Json> ["body"],
        body_format: BodyFormat ["body_format"] = BodyFormat::Raw,
        timeout: f64 ["timeout"] = 30.0,
        validate_certs: bool ["validate_certs"] = true,
        /// A CA bundle on the host that the server's certificate must chain
        /// to (curl's `--cacert`).
        ca_path: Option<String> ["ca_path"],
        /// A word (`none`, `safe`, `all`, …), read as text.
        follow_redirects: Option<Json> ["follow_redirects"],
        url_username: Option<String> ["url_username"],
        url_password: Option<String> ["url_password"],
        user: Option<String> ["user"],
        password: Option<String> ["password"],
        /// Not read: curl sends the credentials with the first request
        /// whichever way it is set.
        #[allow(dead_code)]
        force_basic_auth: bool ["force_basic_auth"] = false,
        /// No request when this path exists on the host.
        creates: Option<String> ["creates"],
        /// No request unless this path exists on the host.
        removes: Option<String> ["removes"],
        /// A file on the host the answer's body is written to (into a
        /// directory: under the URL's last name, `index.html` for none).
        dest: Option<String> ["dest"],
        /// curl's proxies from the environment, unless `no` (`--noproxy`).
        use_proxy: bool ["use_proxy"] = true,
        http_agent: String ["http_agent"] = "ansible-httpget".to_string(),
        client_cert: Option<String> ["client_cert"],
        client_key: Option<String> ["client_key"],
        ciphers: Vec<String> ["ciphers"] = Vec::new(),
        decompress: bool ["decompress"] = true,
        use_netrc: bool ["use_netrc"] = true,
        /// A Unix socket on the host to send the request over (curl's
        /// `--unix-socket`).
        unix_socket: Option<String> ["unix_socket"],
        /// Taken, as ansible-core's: the request is sent whatever it says.
        #[allow(dead_code)]
        force: bool ["force"] = false,
        /// Refused when set (see `plan`).
        use_gssapi: bool ["use_gssapi"] = false,
        unredirected_headers: Vec<String> ["unredirected_headers"] = Vec::new(),
        src: Option<String> ["src"],
        #[allow(dead_code)]
        remote_src: bool ["remote_src"] = false,
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Json> ["mode"],
        attributes: Option<String> ["attributes", "attr"],
        #[allow(dead_code)]
        unsafe_writes: bool ["unsafe_writes"] = false,
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

/// Largest body brought back to the controller.
const MAX_BODY: usize = 4 << 20;

fn status_codes(status_code: Option<&Json>) -> Result<Vec<u16>, PlanError> {
    let bad =
        |v: &Json| PlanError::Fail(format!("`status_code` must be a status or a list, got {v}"));
    let one = |v: &Json| -> Result<u16, PlanError> {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|c| (100..600).contains(c))
            .map(|c| c as u16)
            .ok_or_else(|| bad(v))
    };
    match status_code {
        None => Ok(vec![200]),
        Some(Json::Array(a)) => a.iter().map(one).collect(),
        Some(Json::String(s)) if s.contains(',') => s
            .split(',')
            .map(|x| one(&Json::String(x.trim().to_string())))
            .collect(),
        Some(v) => Ok(vec![one(v)?]),
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let refuse = |msg: &str| Err(PlanError::Fail(format!("`uri`: {msg}")));
    if args.use_gssapi {
        return refuse("`use_gssapi` (Kerberos) is not supported by rprov");
    }
    if !args.unredirected_headers.is_empty() {
        return refuse("`unredirected_headers` is not supported by rprov (curl sends the headers on every redirect; it drops `Authorization` when the host changes)");
    }
    if args.src.is_some() {
        return refuse("`src` (a body read from a file) is not supported by rprov: give the file's content as `body`, with `lookup('file', …)`");
    }
    if args.owner.is_some()
        || args.group.is_some()
        || args.mode.is_some()
        || args.attributes.is_some()
    {
        return refuse("`owner`, `group`, `mode` and `attributes` of `dest` are not supported by rprov: set them with a `file` task after it");
    }
    let url = args.url;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(PlanError::Fail(format!(
            "`url: {url}` must start with http:// or https://"
        )));
    }
    let method = args.method.to_ascii_uppercase();
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(PlanError::Fail(format!(
            "`method: {method}` is not an HTTP method"
        )));
    }
    let codes = status_codes(args.status_code.as_ref())?;
    // As ansible-core's module: a plain path (no glob), the request left
    // out with `changed: false` and the reason as `stdout`.
    if let Some(p) = &args.creates {
        if cx.file(p, true)?.exists() {
            return Ok(not_sent(&format!("skipped, since '{p}' exists")));
        }
    }
    if let Some(p) = &args.removes {
        if !cx.file(p, true)?.exists() {
            return Ok(not_sent(&format!("skipped, since '{p}' does not exist")));
        }
    }
    let return_content = args.return_content;
    let validate_certs = args.validate_certs;
    // Read as text, as ansible-core's `str` argument (a YAML `yes` is `True`).
    let follow_redirects = args
        .follow_redirects
        .as_ref()
        .map(<String as ArgValue>::from_json)
        .transpose()
        .map_err(|why| PlanError::Fail(format!("`follow_redirects` {why}")))?;
    let follow = match follow_redirects.as_deref() {
        None | Some("safe") => matches!(method.as_str(), "GET" | "HEAD"),
        Some("all" | "yes" | "true" | "urllib2") => true,
        Some("none" | "no" | "false") => false,
        Some(o) => {
            return Err(PlanError::Fail(format!(
                "`follow_redirects` must be none, safe or all, got `{o}`"
            )))
        }
    };
    // Whole seconds, as curl's `--max-time` is given them.
    let timeout = match args.timeout {
        t if t >= 0.0 && t.fract() == 0.0 && t <= u64::MAX as f64 => t as u64,
        t => {
            return Err(PlanError::Fail(format!(
                "`timeout` must be seconds, got {t}"
            )))
        }
    };
    let body_format = args.body_format;
    let mut headers: Vec<(String, String)> = Vec::new();
    match &args.headers {
        None => {}
        Some(Json::Object(h)) => {
            for (k, v) in h {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if k.contains([':', '\n', '\r']) || v.contains(['\n', '\r']) {
                    return Err(PlanError::Fail(format!("invalid header `{k}`")));
                }
                headers.push((k.clone(), v));
            }
        }
        Some(other) => {
            return Err(PlanError::Fail(format!(
                "`headers` must be a mapping, got {other}"
            )))
        }
    }
    let has_header =
        |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let body: Option<Vec<u8>> = match (&args.body, body_format) {
        (None, _) => None,
        (Some(b), BodyFormat::Json) => {
            if !has_header(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            let text = match b {
                // A string is taken as JSON text already, as Ansible does.
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(text.into_bytes())
        }
        (Some(Json::String(s)), BodyFormat::Raw) => Some(s.clone().into_bytes()),
        (Some(other), BodyFormat::Raw) => Some(other.to_string().into_bytes()),
        (Some(Json::Object(m)), BodyFormat::FormUrlencoded) => {
            if !has_header(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            let enc = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                            (b as char).to_string()
                        }
                        b' ' => "+".into(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            Some(
                m.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                        format!("{}={}", enc(k), enc(&v))
                    })
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes(),
            )
        }
        (Some(_), f) => {
            return Err(PlanError::Fail(format!(
                "`body_format` must be raw, json or form-urlencoded (with a mapping), got `{}`",
                f.as_str()
            )))
        }
    };

    // `dest`: the body goes to a file beside it, moved into place when the
    // answer is one of `status_code` (not 304), as ansible-core's
    // `atomic_move`: over an existing file with its mode and owner. An
    // existing file makes the request conditional (`If-Modified-Since` its
    // time, curl's `-z`), as ansible-core's.
    // (Into a directory, the request is not conditional, as in ansible-core,
    // which names the file only after it.)
    let (dest, conditional) = match &args.dest {
        None => (None, false),
        Some(d) => match cx.file(d, true)?.kind {
            crate::probe::FileKind::Directory => (
                Some(format!(
                    "{}/{}",
                    d.trim_end_matches('/'),
                    url_filename(&url)
                )),
                false,
            ),
            kind => (Some(d.clone()), kind == crate::probe::FileKind::File),
        },
    };
    let mut curl = format!("curl -sS -X {} --max-time {timeout}", quote(&method));
    if let (Some(d), true) = (&dest, conditional) {
        curl.push_str(&format!(" -z {}", quote(d)));
    }
    if method == "HEAD" {
        curl.push_str(" -I");
    }
    if !validate_certs {
        curl.push_str(" --insecure");
    }
    if let Some(ca) = &args.ca_path {
        curl.push_str(&format!(" --cacert {}", quote(ca)));
    }
    if follow {
        curl.push_str(" -L");
    }
    if !args.use_proxy {
        curl.push_str(" --noproxy '*'");
    }
    if args.decompress {
        curl.push_str(" --compressed");
    }
    if args.use_netrc {
        curl.push_str(" --netrc-optional");
    }
    if let Some(socket) = &args.unix_socket {
        curl.push_str(&format!(" --unix-socket {}", quote(socket)));
    }
    // The URL (it may carry a token in its query or `user:pass@`),
    // credentials and headers go in a curl config file readable by the task's
    // user only, never on curl's command line, which every user of the host
    // can read.
    let mut config = format!("url = {}\n", config_string(&url)?);
    if let (Some(u), Some(p)) = (
        args.url_username.or(args.user),
        args.url_password.or(args.password),
    ) {
        config.push_str(&format!("user = {}\n", config_string(&format!("{u}:{p}"))?));
    }
    for (k, v) in &headers {
        config.push_str(&format!(
            "header = {}\n",
            config_string(&format!("{k}: {v}"))?
        ));
    }
    config.push_str(&format!(
        "user-agent = {}\n",
        config_string(&args.http_agent)?
    ));
    config.push_str(&super::get_url::tls_config(
        args.client_cert.as_deref(),
        args.client_key.as_deref(),
        &args.ciphers,
    )?);
    curl.push_str(" -K \"$_rp_k\"");
    if body.is_some() {
        curl.push_str(" --data-binary @-");
    }
    let codes_s: Vec<String> = codes.iter().map(u16::to_string).collect();
    let (body_file, write_dest) = match &dest {
        None => ("$(mktemp)".to_string(), String::new()),
        Some(d) => {
            let (dir, name) = d.rsplit_once('/').unwrap_or((".", d.as_str()));
            let dir = if dir.is_empty() { "/" } else { dir };
            let temp = format!(
                "$(mktemp {})",
                quote(&format!("{dir}/.rprov-{name}.XXXXXX"))
            );
            let d = quote(d);
            // Written only when its bytes differ, as ansible-core's
            // `write_file`, and a change either way, as its result says.
            let write = format!(
                "_rp_s=${{_rp_w%% *}}\n\
                 if [ $_rp_rc -eq 0 ] && [ \"$_rp_s\" != 304 ]; then case \",{codes},\" in *\",$_rp_s,\"*)\n\
                 if [ -e {d} ] && cmp -s \"$_rp_b\" {d}; then _rp_r={d}\n\
                 else\n\
                 if [ -e {d} ]; then chmod --reference={d} \"$_rp_b\"; chown --reference={d} \"$_rp_b\" 2>/dev/null\n\
                 else chmod \"$(printf '%04o' $(( 0666 & ~0$(umask) )))\" \"$_rp_b\"; fi\n\
                 mv -f \"$_rp_b\" {d} && _rp_r={d}\n\
                 fi\n\
                 echo rp_written=yes ;;\n\
                 esac; fi\n",
                codes = codes_s.join(","),
            );
            (temp, write)
        }
    };
    // `set +e`: curl's own failure is part of the answer, read by the parser.
    let script = format!(
        "set +e\n\
         _rp_b={body_file}; _rp_r=\"$_rp_b\"; _rp_h=$(mktemp); _rp_e=$(mktemp); _rp_k=$(mktemp)\n\
         trap 'rm -f \"$_rp_b\" \"$_rp_h\" \"$_rp_e\" \"$_rp_k\"' EXIT\n\
         cat > \"$_rp_k\" <<'_RP_CURL_CONFIG'\n{config}_RP_CURL_CONFIG\n\
         _rp_w=$({curl} -D \"$_rp_h\" -o \"$_rp_b\" -w '%{{http_code}} %{{url_effective}}' 2>\"$_rp_e\")\n\
         _rp_rc=$?\n\
         {write_dest}\
         echo \"rp_curl=$_rp_rc $_rp_w\"\n\
         echo rp_expect={codes}\n\
         echo rp_return_content={rc}\n\
         echo rp_changed={changed}\n\
         echo @rp-stderr; head -c 2000 \"$_rp_e\"; echo\n\
         echo @rp-headers; cat \"$_rp_h\"\n\
         echo @rp-body; head -c {MAX_BODY} \"$_rp_r\" | base64 -w 0; echo\n\
         exit 0\n",
        codes = codes_s.join(","),
        rc = if return_content { "yes" } else { "no" },
        changed = if matches!(method.as_str(), "GET" | "HEAD") { "no" } else { "yes" },
    );
    let mut result = Map::new();
    result.insert("url".into(), json!(url));
    if let Some(d) = &dest {
        result.insert("path".into(), json!(d));
    }
    Ok(Decision::Run {
        waits_for: format!(
            "the answer of {method} {}: no request is sent in check mode",
            without_userinfo(&url)
        ),
        action: Action {
            stdin: body,
            output: OutputMode::Parse(parse_output),
            touches_everything: method != "GET" && method != "HEAD",
            touches: dest.into_iter().collect(),
            ..change::checked(
                vec![Change::Raw {
                    script,
                    why: "one request: the URL, credentials and headers in a curl config \
                          file only the task's user can read (never on a command line), the \
                          answer read back in parts",
                }],
                result,
            )?
        },
    })
}

/// ansible-core's result when `creates` or `removes` leaves the request out.
fn not_sent(why: &str) -> Decision {
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("stdout".into(), json!(why));
    Decision::Ok {
        result,
        msg: Some(why.to_string()),
    }
}

/// Turns the script's sections into Ansible's `uri` result.
fn parse_output(_status: i32, stdout: &str, _stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    let mut section = "";
    let (mut curl_line, mut expect, mut ret, mut changed) = ("", "", false, false);
    let (mut err, mut headers, mut body_b64) = (String::new(), Vec::new(), String::new());
    for line in stdout.lines() {
        match line {
            "@rp-stderr" | "@rp-headers" | "@rp-body" => {
                section = line;
                continue;
            }
            _ => {}
        }
        match section {
            "" => {
                if let Some(v) = line.strip_prefix("rp_curl=") {
                    curl_line = v;
                } else if let Some(v) = line.strip_prefix("rp_expect=") {
                    expect = v;
                } else if let Some(v) = line.strip_prefix("rp_return_content=") {
                    ret = v == "yes";
                } else if let Some(v) = line.strip_prefix("rp_changed=") {
                    changed |= v == "yes";
                } else if line == "rp_written=yes" {
                    // `dest` was written: a change, as in ansible-core.
                    changed = true;
                }
            }
            "@rp-stderr" => {
                err.push_str(line.trim());
                err.push(' ');
            }
            "@rp-headers" => headers.push(line.trim_end_matches('\r')),
            _ => body_b64.push_str(line.trim()),
        }
    }
    let mut parts = curl_line.splitn(3, ' ');
    let rc: i32 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(-1);
    let status: u16 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let url = parts.next().unwrap_or("").to_string();
    m.insert("changed".into(), json!(changed));
    m.insert(
        "status".into(),
        json!(if status == 0 { -1 } else { i64::from(status) }),
    );
    if !url.is_empty() {
        m.insert("url".into(), json!(url));
    }
    // The last response's headers (after redirects), lower-cased as Ansible does.
    let mut last = Vec::new();
    for h in headers {
        if h.starts_with("HTTP/") {
            last.clear();
        } else if let Some((k, v)) = h.split_once(':') {
            last.push((
                k.trim().to_ascii_lowercase().replace('-', "_"),
                v.trim().to_string(),
            ));
        }
    }
    let mut content_type = String::new();
    for (k, v) in last {
        if k == "content_type" {
            content_type = v.clone();
        }
        m.insert(k, json!(v));
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(body_b64.as_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).into_owned();
    if ret {
        m.insert("content".into(), json!(text));
    }
    if content_type.contains("json") || (ret && text.trim_start().starts_with(['{', '['])) {
        if let Ok(j) = serde_json::from_str::<Json>(&text) {
            m.insert("json".into(), j);
        }
    }
    m.insert("elapsed".into(), json!(0));
    let ok_codes: Vec<u16> = expect.split(',').filter_map(|c| c.parse().ok()).collect();
    let err = err.trim().to_string();
    if rc != 0 && status == 0 {
        m.insert("failed".into(), json!(true));
        let msg = if err.is_empty() {
            format!("Status code was -1 and not {ok_codes:?}: curl exited with {rc}")
        } else {
            format!("Status code was -1 and not {ok_codes:?}: Request failed: {err}")
        };
        m.insert("msg".into(), json!(msg));
    } else if !ok_codes.contains(&status) {
        m.insert("failed".into(), json!(true));
        m.insert(
            "msg".into(),
            json!(format!(
                "Status code was {status} and not {ok_codes:?}: HTTP Error {status}"
            )),
        );
    } else {
        m.insert("msg".into(), json!(format!("OK ({} bytes)", body.len())));
    }
    m
}

/// The name a download into a directory gets, as ansible-core's
/// `url_filename`: the last part of the URL's path, `index.html` for none.
fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "",
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => "index.html".to_string(),
    }
}

/// `url` without a `user:password@` part, for messages.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;

    fn run_local(action: &Action, fake_curl: &str) -> Map<String, Json> {
        run_local_in(action, fake_curl, &tempfile::tempdir().unwrap())
    }

    fn run_local_in(
        action: &Action,
        fake_curl: &str,
        dir: &tempfile::TempDir,
    ) -> Map<String, Json> {
        let p = dir.path().join("curl");
        std::fs::write(&p, fake_curl).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&action.script)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("RP_TEST_DIR", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            if let Some(b) = &action.stdin {
                stdin.write_all(b).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        parse_output(0, &String::from_utf8_lossy(&out.stdout), "")
    }

    /// A curl stand-in: writes headers to -D, a JSON body to -o, prints -w,
    /// and keeps its arguments and -K config where the test can see them.
    const FAKE: &str = r#"#!/bin/sh
printf '%s\n' "$@" > "$RP_TEST_DIR/argv"
while [ $# -gt 0 ]; do
  case $1 in -D) h=$2; shift;; -o) o=$2; shift;; -K) cp "$2" "$RP_TEST_DIR/config"; ls -l "$2" | cut -c1-10 > "$RP_TEST_DIR/config.mode"; shift;; esac; shift
done
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n' > "$h"
printf '{"ok": true}' > "$o"
printf '200 http://x/'
"#;

    /// `creates`/`removes`: the request is left out, as ansible-core's
    /// module says, when the path is there (or is not).
    #[test]
    fn creates_and_removes_leave_the_request_out() {
        let plan_with = |extra: Json, exists: bool| {
            let mut args = json!({"url": "http://x/", "method": "POST"});
            if let (Some(a), Json::Object(e)) = (args.as_object_mut(), extra) {
                a.extend(e);
            }
            crate::modules::testing::run("uri", args, |p| match p {
                crate::probe::Probe::File { .. } => Some(crate::probe::Fact::File(if exists {
                    crate::modules::testing::file(b"", "644", "root")
                } else {
                    crate::probe::FileState::missing()
                })),
                _ => None,
            })
            .unwrap()
        };
        let said = |d: &Decision| match d {
            Decision::Ok { result, .. } => {
                assert_eq!(result["changed"], json!(false));
                result["stdout"].as_str().unwrap_or_default().to_string()
            }
            _ => "sent".to_string(),
        };
        let created = plan_with(json!({"creates": "/etc/done"}), true);
        assert_eq!(said(&created), "skipped, since '/etc/done' exists");
        assert_eq!(
            said(&plan_with(json!({"creates": "/etc/done"}), false)),
            "sent"
        );
        let gone = plan_with(json!({"removes": "/etc/todo"}), false);
        assert_eq!(said(&gone), "skipped, since '/etc/todo' does not exist");
        assert_eq!(
            said(&plan_with(json!({"removes": "/etc/todo"}), true)),
            "sent"
        );
    }

    #[test]
    fn get_parses_status_json_and_is_not_a_change() {
        let f = Fixture::new(
            "uri",
            json!({"url": "http://127.0.0.1:8000/ready", "return_content": true}),
        );
        let Decision::Run { action, .. } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        let m = run_local(&action, FAKE);
        assert_eq!(m["status"], json!(200));
        assert_eq!(m["json"], json!({"ok": true}));
        assert_eq!(m["content"], json!("{\"ok\": true}"));
        assert_eq!(m["content_type"], json!("application/json"));
        assert_eq!(m["changed"], json!(false));
        assert!(!m.contains_key("failed"));
    }

    #[test]
    fn unexpected_status_fails_and_post_is_a_change() {
        let f = Fixture::new(
            "uri",
            json!({"url": "http://h/x", "method": "post", "body": {"a": 1}, "body_format": "json", "status_code": [201, 202]}),
        );
        let Decision::Run { action, .. } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert_eq!(action.stdin.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert!(action.script.contains("-X POST"));
        assert!(action
            .script
            .contains("header = \"Content-Type: application/json\""));
        let m = run_local(&action, FAKE);
        assert_eq!(m["failed"], json!(true));
        assert_eq!(
            m["msg"],
            json!("Status code was 200 and not [201, 202]: HTTP Error 200")
        );
        assert_eq!(m["changed"], json!(true));
    }

    /// `ca_path` names the host's CA bundle to curl, as ansible-core's
    /// `ca_path` does to its SSL context.
    #[test]
    fn ca_path_is_curls_cacert() {
        let f = Fixture::new(
            "uri",
            json!({"url": "https://h/x", "ca_path": "/etc/ssl/private ca.pem"}),
        );
        let Decision::Run { action, .. } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert!(
            action
                .script
                .contains(" --cacert '/etc/ssl/private ca.pem'"),
            "{}",
            action.script
        );
    }

    #[test]
    fn credentials_and_headers_stay_off_the_command_line() {
        let f = Fixture::new(
            "uri",
            json!({"url": "http://h/x?token=url-tok-9", "url_username": "admin", "url_password": "pa\"ss\\word",
                   "headers": {"Authorization": "Bearer tok-123"}}),
        );
        let Decision::Run { action, .. } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        let dir = tempfile::tempdir().unwrap();
        let m = run_local_in(&action, FAKE, &dir);
        assert_eq!(m["status"], json!(200));
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert!(
            !argv.contains("tok-123") && !argv.contains("admin") && !argv.contains("url-tok-9"),
            "{argv}"
        );
        let config = std::fs::read_to_string(dir.path().join("config")).unwrap();
        assert_eq!(
            config,
            "url = \"http://h/x?token=url-tok-9\"\nuser = \"admin:pa\\\"ss\\\\word\"\nheader = \"Authorization: Bearer tok-123\"\nuser-agent = \"ansible-httpget\"\n"
        );
        let mode = std::fs::read_to_string(dir.path().join("config.mode")).unwrap();
        assert_eq!(mode.trim(), "-rw-------", "the config is the user's alone");
        let f = Fixture::new(
            "uri",
            json!({"url": "http://h/x", "headers": {"X": "a\nInjected: b"}}),
        );
        assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))));
    }

    #[test]
    fn connection_failure_has_curls_words() {
        let m = parse_output(
            0,
            "rp_curl=7 000 http://h/\nrp_expect=200\nrp_return_content=no\nrp_changed=no\n@rp-stderr\ncurl: (7) Failed to connect\n@rp-headers\n@rp-body\n\n",
            "",
        );
        assert_eq!(m["status"], json!(-1));
        assert!(m["msg"]
            .as_str()
            .unwrap()
            .contains("curl: (7) Failed to connect"));
    }

    #[test]
    fn bad_arguments() {
        for a in [
            json!({"url": "ftp://x"}),
            json!({"url": "http://x", "status_code": "abc"}),
            json!({"url": "http://x", "headers": ["a"]}),
            json!({"url": "http://x", "method": "G T"}),
        ] {
            let f = Fixture::new("uri", a.clone());
            assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(_))), "{a}");
        }
    }
}
