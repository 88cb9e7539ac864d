//! `ansible_local`: the custom facts of `/etc/ansible/facts.d/*.fact`, as
//! ansible-core reads them. An executable file is run and its output read,
//! any other file is read; the text is JSON, else INI (each section a
//! mapping of its keys, with `[DEFAULT]`'s), else the fact is ansible-core's
//! error message. The fact is named after the file, without `.fact`.
//!
//! The facts gathered with the others read `/etc/ansible/facts.d`; `setup`
//! with `fact_path` reads its folder with [`script_in`] and [`parse_in`].
//!
//! Differences from ansible-core, each for a reason: a failing script's
//! message has no stderr (the snippet keeps no temporary file to hold it);
//! INI values' `%(name)s` references are not resolved (`%%` is `%`, and a
//! `%` that interpolation would refuse is ansible-core's error).

use base64::Engine as _;
use serde_json::{Map, Value};

/// One line per fact file: `local=KIND RC NAME CONTENT`, with the name and
/// content in base64 (both may hold anything), KIND `x` for a script (RC its
/// exit status), `f` for a file that was read or `s` for a link to nothing.
/// The folder is `$_rp_ld`, set by [`script_in`], else the default.
pub const SCRIPT: &str = r#"_rp_ld=${_rp_ld:-/etc/ansible/facts.d}
if [ -d "$_rp_ld" ]; then
  for _rp_lf in "$_rp_ld"/*.fact; do
    [ -e "$_rp_lf" ] || [ -L "$_rp_lf" ] || continue
    _rp_ln=$(printf '%s' "${_rp_lf##*/}" | base64 -w0)
    if [ ! -e "$_rp_lf" ]; then
      printf 'local=s 0 %s\n' "$_rp_ln"
    elif [ -x "$_rp_lf" ]; then
      _rp_lo=$("$_rp_lf" 2>/dev/null </dev/null); _rp_lr=$?
      printf 'local=x %s %s %s\n' "$_rp_lr" "$_rp_ln" "$(printf '%s' "$_rp_lo" | base64 -w0)"
    else
      printf 'local=f 0 %s %s\n' "$_rp_ln" "$(base64 -w0 < "$_rp_lf" 2>/dev/null)"
    fi
  done
fi
"#;

const DIR: &str = "/etc/ansible/facts.d";

/// The snippet over `dir`, `setup`'s `fact_path`, for a [`Probe::Shell`].
///
/// [`Probe::Shell`]: crate::probe::Probe::Shell
pub fn script_in(dir: &str) -> String {
    format!("_rp_ld={}\n{SCRIPT}", rprov_transport::quote(dir))
}

/// Adds `local`: `{}` when there are no fact files, as ansible-core.
pub fn parse(out: &str, facts: &mut Map<String, Value>) {
    parse_in(out, DIR, facts);
}

/// [`parse`] of the output of [`script_in`]`(dir)`, whose paths the
/// messages name.
pub fn parse_in(out: &str, dir: &str, facts: &mut Map<String, Value>) {
    let dir = dir.trim_end_matches('/');
    let mut local = Map::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix("local=") else {
            continue;
        };
        let mut words = rest.split(' ');
        let (Some(kind), Some(rc), Some(name), content) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            continue;
        };
        let Some(name) = decode(name).and_then(|n| String::from_utf8(n).ok()) else {
            continue;
        };
        let path = format!("{dir}/{name}");
        let key = name.replace(".fact", "");
        let value = match (kind, rc) {
            // Python's words for the `os.stat` that fails on a dangling link.
            ("s", _) => Value::String(format!(
                "Could not stat fact ({path}): [Errno 2] No such file or directory: '{path}'"
            )),
            ("x", rc) if rc != "0" => Value::String(format!(
                "Failure executing fact script ({path}), rc: {rc}, err: "
            )),
            _ => fact(
                &path,
                &decode(content.unwrap_or_default()).unwrap_or_default(),
            ),
        };
        local.insert(key, value);
    }
    facts.insert("local".into(), Value::Object(local));
}

fn decode(b64: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// A fact file's text as ansible-core reads it: JSON, else INI, else its
/// error message.
fn fact(path: &str, bytes: &[u8]) -> Value {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Value::String(format!(
            "error loading fact - output of running \"{path}\" was not utf-8"
        ));
    };
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    let ini = match crate::ansible_cfg::ini::Ini::parse_with(text, false) {
        Ok(ini) => ini,
        Err(_) => {
            return Value::String(format!(
                "error loading facts as JSON or ini - please check content: {path}"
            ))
        }
    };
    let mut out = Map::new();
    for (section, keys) in ini.sections() {
        let mut values = Map::new();
        for (k, v) in keys {
            if let Some(bad) = bad_interpolation(v) {
                return Value::String(format!(
                    "error loading facts as ini - please check content: {path} ('%' must be \
                     followed by '%' or '(', found: '{bad}')"
                ));
            }
            values.insert(k.to_string(), Value::String(v.replace("%%", "%")));
        }
        out.insert(section.to_string(), Value::Object(values));
    }
    Value::Object(out)
}

/// Where a value has a `%` that Python's `ConfigParser` interpolation
/// refuses (neither `%%` nor `%(`): the rest of the value from it, as its
/// error names it. ansible-core reads fact files with interpolation on, so
/// such a file is its error, not a value.
fn bad_interpolation(v: &str) -> Option<&str> {
    let mut rest = v;
    while let Some(i) = rest.find('%') {
        let after = &rest[i + 1..];
        match after.chars().next() {
            Some('%') => rest = &after[1..],
            Some('(') => rest = after,
            _ => return Some(&rest[i..]),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(kind: &str, rc: i32, name: &str, content: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!("local={kind} {rc} {} {}\n", e(name), e(content))
    }

    fn local(out: &str) -> Value {
        let mut facts = Map::new();
        parse(out, &mut facts);
        facts.remove("local").unwrap_or_default()
    }

    #[test]
    fn json_ini_scripts_and_errors_as_ansible() {
        let out = [
            line("f", 0, "app.fact", r#"{"version": 3, "tags": ["a"]}"#),
            line(
                "f",
                0,
                "site.fact",
                "[DEFAULT]\nzone = eu\n[web]\nPort = 80\nname: x ; not a comment\n",
            ),
            line("x", 0, "gen.fact", "{\"ok\": true}\n"),
            line("x", 3, "broken.fact", ""),
            line("f", 0, "bad.fact", "not json, no section"),
        ]
        .concat();
        assert_eq!(
            local(&out),
            json!({
                "app": {"version": 3, "tags": ["a"]},
                "site": {"web": {"port": "80", "name": "x ; not a comment", "zone": "eu"}},
                "gen": {"ok": true},
                "broken": "Failure executing fact script (/etc/ansible/facts.d/broken.fact), rc: 3, err: ",
                "bad": "error loading facts as JSON or ini - please check content: /etc/ansible/facts.d/bad.fact",
            })
        );
    }

    #[test]
    fn a_dangling_link_and_a_stray_percent_are_ansibles_errors() {
        let out = [
            line("s", 0, "dead.fact", ""),
            line("f", 0, "bad.fact", "[s]\nvalue = this is a % bad % fact\n"),
            line("f", 0, "ok.fact", "[s]\nv = 100%% sure\n"),
        ]
        .concat();
        let mut facts = Map::new();
        parse_in(&out, "/tmp/f/", &mut facts);
        assert_eq!(
            facts["local"],
            json!({
                "dead": "Could not stat fact (/tmp/f/dead.fact): [Errno 2] No such file or directory: '/tmp/f/dead.fact'",
                "bad": "error loading facts as ini - please check content: /tmp/f/bad.fact ('%' must be followed by '%' or '(', found: '% bad % fact')",
                "ok": {"s": {"v": "100% sure"}},
            })
        );
    }

    #[test]
    fn no_fact_files_is_an_empty_mapping() {
        assert_eq!(local("arch=x86_64\n"), json!({}));
    }

    #[test]
    fn the_snippet_reads_files_and_runs_scripts() {
        // The snippet with its directory moved to a temporary one.
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("facts.d");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("a.fact"), "{\"x\": 1}").expect("write");
        let script = d.join("b.fact");
        std::fs::write(&script, "#!/bin/sh\necho '{\"y\": 2}'\nexit 0\n").expect("write");
        std::fs::write(d.join("c.fact"), "#!/bin/sh\nexit 4\n").expect("write");
        for f in ["b.fact", "c.fact"] {
            std::process::Command::new("chmod")
                .args(["+x"])
                .arg(d.join(f))
                .status()
                .expect("chmod");
        }
        std::os::unix::fs::symlink(dir.path().join("nothing"), d.join("dead.fact"))
            .expect("symlink");
        let snippet = script_in(&d.display().to_string());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&snippet)
            .output()
            .expect("sh");
        let text = String::from_utf8_lossy(&out.stdout).replace(&d.display().to_string(), DIR);
        let got = local(&text);
        assert!(
            got["dead"]
                .as_str()
                .is_some_and(|m| m.starts_with("Could not stat fact")),
            "{text}"
        );
        assert_eq!(got["a"], json!({"x": 1}), "{text}");
        assert_eq!(got["b"], json!({"y": 2}), "{text}");
        assert_eq!(
            got["c"],
            json!("Failure executing fact script (/etc/ansible/facts.d/c.fact), rc: 4, err: "),
            "{text}"
        );
    }
}
