//! What `user` does on the host after `useradd`/`usermod`, in ansible-core's
//! order: a missing home directory made (the "home fallback"), an ssh key
//! generated, the password's aging set with `chage`; then the account as it
//! now is, reported back.
//!
//! A new account's uid, gid and home are only known once useradd has run,
//! so these steps read them there and decide there; for an existing
//! account [`read`] asks the same questions first, and the plan runs these
//! steps only when something would change.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

/// What `generate_ssh_key` asks for.
#[derive(Debug, Clone)]
pub struct SshKey {
    /// `ssh_key_file` with `~` expanded: absolute, or under the home.
    pub file: String,
    pub kind: String,
    /// 0: ssh-keygen's default for the type.
    pub bits: i64,
    /// `None`: ansible-core's "ansible-generated on HOST", with the host's
    /// own name.
    pub comment: Option<String>,
    pub passphrase: Option<String>,
    pub force: bool,
}

/// What the steps after useradd/usermod need.
#[derive(Debug, Clone)]
pub struct After<'a> {
    pub name: &'a str,
    /// The home the account is given (`home`), or `None` for the one its
    /// passwd entry names.
    pub home: Option<&'a str>,
    /// Make the home when it is missing.
    pub create_home: bool,
    pub skeleton: Option<&'a str>,
    pub ssh: Option<&'a SshKey>,
    /// `chage`'s flags, empty for none.
    pub chage: Vec<String>,
    /// Warnings the plan found, reported with the host's.
    pub warnings: &'a [String],
}

/// What starts each line of the report; the rest of the line is the value.
const TAG: &str = "rp_user_";

/// Sets `_rp_pw`, `_rp_uid`, `_rp_gid` and `_rp_h` (the home) for `name`.
fn account_vars(name: &str, home: Option<&str>) -> String {
    let home = match home {
        Some(h) => quote(h),
        None => "\"$(printf '%s\\n' \"$_rp_pw\" | cut -d: -f6)\"".into(),
    };
    format!(
        "_rp_pw=$(getent passwd {name}) || {{ echo {missing} >&2; exit 1; }}\n\
         _rp_uid=$(printf '%s\\n' \"$_rp_pw\" | cut -d: -f3)\n\
         _rp_gid=$(printf '%s\\n' \"$_rp_pw\" | cut -d: -f4)\n\
         _rp_h={home}\n",
        name = quote(name),
        missing = quote(&format!("user {name} does not exist")),
    )
}

/// Sets `_rp_k` to the key's path: absolute as given, else under the home.
fn key_var(key: &SshKey) -> String {
    if key.file.starts_with('/') {
        format!("_rp_k={}\n", quote(&key.file))
    } else {
        format!("_rp_k=\"$_rp_h\"/{}\n", quote(&key.file))
    }
}

/// The home's mode as ansible-core's `create_homedir` sets it: 0755, or
/// what /etc/login.defs says (`HOME_MODE` wins; else `0777 & ~UMASK`).
const HOME_MODE: &str = "awk 'function oct(s,  v, i) { v = 0; for (i = 1; i <= length(s); i++) v = v * 8 + substr(s, i, 1); return v }\n\
     BEGIN { m = 493 }\n\
     /^HOME_MODE[ \\t]+[0-9]+$/ { m = oct($2); exit }\n\
     /^UMASK[ \\t]+[0-9]+$/ { m = 511 - oct($2) % 512 }\n\
     END { printf \"%o\\n\", m }' /etc/login.defs";

fn home_fallback(skeleton: Option<&str>) -> String {
    let skel = quote(skeleton.unwrap_or("/etc/skel"));
    format!(
        "if [ ! -e \"$_rp_h\" ]; then\n\
         _rp_skel={skel}\n\
         if [ -e \"$_rp_skel\" ] && [ \"$_rp_skel\" != /dev/null ]; then\n\
         mkdir -p -- \"$(dirname -- \"$_rp_h\")\"; cp -a -- \"$_rp_skel\" \"$_rp_h\"\n\
         else mkdir -p -- \"$_rp_h\"; fi\n\
         if [ -e /etc/login.defs ]; then chmod \"$({HOME_MODE})\" \"$_rp_h\"; fi\n\
         chown -R \"$_rp_uid:$_rp_gid\" -- \"$_rp_h\"\n\
         fi\n"
    )
}

/// ansible-core's warnings about an existing key, `%s` for its path: the
/// plan says them of what it read ([`key_warning`]), the host of what it
/// finds ([`warn`]).
pub const PRIVATE_KEPT: &str =
    "Found existing ssh key private file \"%s\", no force, so skipping ssh-keygen generation";
pub const PRIVATE_REPLACED: &str = "Overwriting existing ssh key private file \"%s\"";
pub const PUBLIC_KEPT: &str =
    "Found existing ssh key public file \"%s\", no force, so skipping ssh-keygen generation";
pub const PUBLIC_REPLACED: &str = "Overwriting existing ssh key public file \"%s\"";

/// One of the warnings above about `path`.
pub fn key_warning(fmt: &str, path: &str) -> String {
    fmt.replacen("%s", path, 1)
}

/// One warning line of the report, its text made by the shell from `fmt`
/// (a `printf` format with `%s` for `path`, a shell word such as `"$_rp_k"`).
fn warn(fmt: &str, path: &str) -> String {
    format!(
        "printf {} \"{path}\"\n",
        quote(&format!("{TAG}warning={fmt}\\n"))
    )
}

/// ansible-core's `ssh_key_gen`: keeps an existing key unless `force`, a
/// missing `.ssh` made 0700 and the account's, the key generated and given
/// to the account. The passphrase reaches ssh-keygen through an askpass
/// program reading it from the environment, never from an argument.
fn ssh_key_steps(name: &str, key: &SshKey) -> String {
    let mut s = key_var(key);
    if !key.file.starts_with('/') {
        s.push_str(&format!(
            "[ -e \"$_rp_h\" ] || {{ echo {} >&2; exit 1; }}\n",
            quote(&format!("User {name} home directory does not exist"))
        ));
    }
    s.push_str(
        "_rp_d=$(dirname -- \"$_rp_k\")\n\
         if [ ! -e \"$_rp_d\" ]; then mkdir -m 0700 -- \"$_rp_d\"; chown \"$_rp_uid:$_rp_gid\" -- \"$_rp_d\"; fi\n\
         _rp_gen=1; _rp_yes=n\n\
         if [ -e \"$_rp_k\" ]; then\n",
    );
    if key.force {
        s.push_str(&warn(PRIVATE_REPLACED, "$_rp_k"));
        // ansible-core's passphrase path meets ssh-keygen's "Overwrite
        // (y/n)?" and leaves the key as it is.
        s.push_str(if key.passphrase.is_some() {
            "_rp_gen=\n"
        } else {
            "_rp_yes=y\n"
        });
    } else {
        s.push_str(&warn(PRIVATE_KEPT, "$_rp_k"));
        s.push_str("_rp_gen=\n");
    }
    s.push_str("fi\nif [ -n \"$_rp_gen\" ] && [ -e \"$_rp_k.pub\" ]; then\n");
    if key.force {
        s.push_str(&warn(PUBLIC_REPLACED, "$_rp_k.pub"));
        s.push_str("rm -f -- \"$_rp_k.pub\"\n");
    } else {
        s.push_str(&warn(PUBLIC_KEPT, "$_rp_k.pub"));
        s.push_str("_rp_gen=\n");
    }
    s.push_str("fi\nif [ -n \"$_rp_gen\" ]; then\n");
    let mut argv = vec!["ssh-keygen".to_string(), "-t".into(), quote(&key.kind)];
    if key.bits > 0 {
        argv.extend(["-b".into(), key.bits.to_string()]);
    }
    let comment = match &key.comment {
        Some(c) => quote(c),
        None => "\"ansible-generated on $(hostname)\"".into(),
    };
    argv.extend(["-C".into(), comment, "-f".into(), "\"$_rp_k\"".into()]);
    let keygen = argv.join(" ");
    match &key.passphrase {
        None => s.push_str(&format!(
            "printf '%s\\n' \"$_rp_yes\" | {keygen} -N '' >/dev/null\n"
        )),
        Some(p) => s.push_str(&format!(
            "_RP_KEY_PASSPHRASE={}; export _RP_KEY_PASSPHRASE\n\
             _rp_ap=$(mktemp)\n\
             printf '#!/bin/sh\\nprintf \"%%s\\\\n\" \"$_RP_KEY_PASSPHRASE\"\\n' > \"$_rp_ap\"; chmod 0700 \"$_rp_ap\"\n\
             if ! SSH_ASKPASS=\"$_rp_ap\" SSH_ASKPASS_REQUIRE=force {keygen} </dev/null >/dev/null; then rm -f -- \"$_rp_ap\"; exit 1; fi\n\
             rm -f -- \"$_rp_ap\"; unset _RP_KEY_PASSPHRASE\n{check}",
            quote(p),
            // An askpass program that cannot run (a `noexec` /tmp) leaves
            // ssh-keygen with an empty passphrase and exit 0: a key that
            // opens without one is taken back.
            check = if p.is_empty() {
                ""
            } else {
                "if ssh-keygen -y -P '' -f \"$_rp_k\" </dev/null >/dev/null 2>&1; then rm -f -- \"$_rp_k\" \"$_rp_k.pub\"; \
                 echo 'ssh-keygen made the key without its passphrase: its askpass program could not run (is /tmp mounted noexec?)' >&2; exit 1; fi\n"
            }
        )),
    }
    s.push_str(
        "chown \"$_rp_uid:$_rp_gid\" -- \"$_rp_k\" \"$_rp_k.pub\"\n\
         fi\n",
    );
    s
}

/// The report lines about the key, as ansible-core returns them:
/// `ssh_key_file`, `ssh_fingerprint` (empty when there is none),
/// `ssh_public_key` (absent when unreadable).
const KEY_REPORT: &str = "printf 'rp_user_ssh_key_file=%s\\n' \"$_rp_k\"\n\
     printf 'rp_user_ssh_fingerprint=%s\\n' \"$(ssh-keygen -l -f \"$_rp_k\" </dev/null 2>/dev/null || true)\"\n\
     if [ -r \"$_rp_k.pub\" ]; then printf 'rp_user_ssh_public_key=%s\\n' \"$(cat -- \"$_rp_k.pub\")\"; fi\n";

/// The steps after useradd/usermod, then the report [`parse`] reads.
pub fn script(a: &After) -> String {
    let mut s = account_vars(a.name, a.home);
    for w in a.warnings {
        s.push_str(&format!(
            "printf '%s\\n' {}\n",
            quote(&format!("{TAG}warning={w}"))
        ));
    }
    if a.create_home {
        s.push_str(&home_fallback(a.skeleton));
    }
    if let Some(key) = a.ssh {
        s.push_str(&ssh_key_steps(a.name, key));
    }
    if !a.chage.is_empty() {
        let mut argv = vec!["chage".to_string()];
        argv.extend(a.chage.iter().cloned());
        argv.push(a.name.to_string());
        let words: Vec<String> = argv.iter().map(|w| quote(w)).collect();
        s.push_str(&words.join(" "));
        s.push('\n');
    }
    if a.ssh.is_some() {
        s.push_str(KEY_REPORT);
    }
    s.push_str(&format!(
        "printf 'rp_user_passwd=%s\\n' \"$(getent passwd {})\"\n",
        quote(a.name)
    ));
    s
}

/// What an existing account's plan needs to know first: whether its home
/// exists and, for `generate_ssh_key`, the key's state and report.
pub fn read(name: &str, home: Option<&str>, ssh: Option<&SshKey>) -> String {
    let mut s = account_vars(name, home);
    s.push_str("[ -e \"$_rp_h\" ] && echo rp_user_home=yes || echo rp_user_home=no\n");
    if let Some(key) = ssh {
        s.push_str(&key_var(key));
        s.push_str(
            "[ -e \"$_rp_k\" ] && echo rp_user_key=yes || echo rp_user_key=no\n\
             [ -e \"$_rp_k.pub\" ] && echo rp_user_pub=yes || echo rp_user_pub=no\n",
        );
        s.push_str(KEY_REPORT);
    }
    s
}

/// [`read`]'s answers.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub home_exists: bool,
    pub key_exists: bool,
    pub pub_exists: bool,
    /// `ssh_key_file`, `ssh_fingerprint`, `ssh_public_key` as reported.
    pub report: Map<String, Json>,
}

pub fn parse_read(out: &str) -> Found {
    let mut f = Found {
        report: report(out),
        ..Found::default()
    };
    for line in out.lines() {
        match line.trim_end() {
            "rp_user_home=yes" => f.home_exists = true,
            "rp_user_key=yes" => f.key_exists = true,
            "rp_user_pub=yes" => f.pub_exists = true,
            _ => {}
        }
    }
    f
}

/// The result entries the report lines say.
fn report(out: &str) -> Map<String, Json> {
    let mut m = Map::new();
    let mut warnings = Vec::new();
    for line in out.lines() {
        let Some((key, value)) = line.strip_prefix(TAG).and_then(|l| l.split_once('=')) else {
            continue;
        };
        match key {
            "warning" => warnings.push(json!(value)),
            "ssh_key_file" | "ssh_fingerprint" | "ssh_public_key" => {
                m.insert(key.into(), json!(value.trim()));
            }
            "passwd" => {
                let f: Vec<&str> = value.split(':').collect();
                if f.len() >= 7 {
                    let num = |s: &str| s.parse::<u64>().map_or(json!(s), |n| json!(n));
                    m.insert("uid".into(), num(f[2]));
                    m.insert("group".into(), num(f[3]));
                    m.insert("comment".into(), json!(f[4]));
                    m.insert("home".into(), json!(f[5]));
                    m.insert("shell".into(), json!(f[6]));
                }
            }
            _ => {}
        }
    }
    if m.contains_key("ssh_key_file") && !m.contains_key("ssh_public_key") {
        m.insert("ssh_public_key".into(), Json::Null);
    }
    if !warnings.is_empty() {
        m.insert("warnings".into(), Json::Array(warnings));
    }
    m
}

/// The action's output: the report's entries, or the failure's message.
pub fn parse(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    if status != 0 {
        return super::super::files::failed(status, stderr);
    }
    report(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(file: &str, force: bool, passphrase: Option<&str>) -> SshKey {
        SshKey {
            file: file.into(),
            kind: "rsa".into(),
            bits: 0,
            comment: None,
            passphrase: passphrase.map(str::to_string),
            force,
        }
    }

    fn after<'a>(key: Option<&'a SshKey>, warnings: &'a [String]) -> After<'a> {
        After {
            name: "u1",
            home: None,
            create_home: true,
            skeleton: None,
            ssh: key,
            chage: vec!["-M".into(), "10".into()],
            warnings,
        }
    }

    /// The script as `sh` runs it, in a scratch root: getent, chown, chage
    /// and ssh-keygen are stand-ins that record their arguments, so the
    /// decisions (fallback, keep or overwrite a key) are the shell's own.
    fn run(
        script: impl Fn(&std::path::Path) -> String,
        setup: impl Fn(&std::path::Path),
    ) -> (tempfile::TempDir, String, i32) {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let home = dir.join("home");
        let tools = [
            (
                "getent",
                format!("echo \"u1:x:4242:4243::{}:/bin/sh\"", home.display()),
            ),
            ("chown", "echo \"chown $*\" >> \"$RP_LOG\"".to_string()),
            ("chage", "echo \"chage $*\" >> \"$RP_LOG\"".to_string()),
            (
                "ssh-keygen",
                "echo \"ssh-keygen $* stdin=$(cat) askpass=${SSH_ASKPASS:+yes}\" >> \"$RP_LOG\"\n\
                 case \" $* \" in *' -l '*) echo '3072 SHA256:x c (RSA)'; exit 0;; esac\n\
                 case \" $* \" in *' -y '*) exit 1;; esac\n\
                 while [ $# -gt 0 ]; do [ \"$1\" = -f ] && f=$2; shift; done\n\
                 : > \"$f\"; echo 'ssh-rsa AAA c' > \"$f.pub\""
                    .to_string(),
            ),
            ("hostname", "echo box".to_string()),
        ];
        for (name, body) in tools {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        setup(&dir);
        let log = dir.join("log");
        std::fs::write(&log, "").unwrap();
        let out = std::process::Command::new("sh")
            .arg("-ec")
            .arg(script(&dir))
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("RP_LOG", &log)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        (tmp, stdout, out.status.code().unwrap_or(-1))
    }

    #[test]
    fn makes_a_missing_home_keys_and_aging_then_reports() {
        let k = key(".ssh/id_rsa", false, None);
        let w = ["plan says".to_string()];
        let (dir, out, rc) = run(|_| script(&after(Some(&k), &w)), |_| {});
        assert_eq!(rc, 0, "{out}");
        let home = dir.path().join("home");
        assert!(home.join(".ssh/id_rsa.pub").exists());
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(log.contains("chown -R 4242:4243 -- "), "{log}");
        assert!(
            log.contains("ssh-keygen -t rsa -C ansible-generated on box -f "),
            "{log}"
        );
        assert!(log.contains("chage -M 10 u1"), "{log}");
        let r = parse(0, &out, "");
        assert_eq!(r["uid"], json!(4242));
        assert_eq!(r["warnings"], json!(["plan says"]));
        assert_eq!(r["ssh_public_key"], json!("ssh-rsa AAA c"));
        assert_eq!(r["ssh_fingerprint"], json!("3072 SHA256:x c (RSA)"));
        assert_eq!(
            r["ssh_key_file"],
            json!(format!("{}/.ssh/id_rsa", home.display()))
        );
    }

    #[test]
    fn an_existing_key_is_kept_without_force_and_replaced_with_it() {
        let make = |d: &std::path::Path| {
            std::fs::create_dir_all(d.join("home/.ssh")).unwrap();
            std::fs::write(d.join("home/.ssh/id_rsa.pub"), "old\n").unwrap();
        };
        let k = key(".ssh/id_rsa", false, None);
        let (dir, out, rc) = run(|_| script(&after(Some(&k), &[])), make);
        assert_eq!(rc, 0);
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(!log.contains("-N"), "no key made: {log}");
        assert!(out.contains("no force, so skipping"), "{out}");
        let k = key(".ssh/id_rsa", true, None);
        let (dir, out, _) = run(|_| script(&after(Some(&k), &[])), make);
        assert!(
            out.contains("Overwriting existing ssh key public file"),
            "{out}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("home/.ssh/id_rsa.pub")).unwrap(),
            "ssh-rsa AAA c\n"
        );
    }

    /// The passphrase is never a word of a command: ssh-keygen gets it from
    /// an askpass program that reads the environment.
    #[test]
    fn the_passphrase_is_no_argument() {
        let (dir, _, rc) = run(
            |d| {
                let k = key(
                    &format!("{}/keys/id", d.display()),
                    false,
                    Some("s3cret phrase"),
                );
                let s = script(&after(Some(&k), &[]));
                assert!(s.contains("SSH_ASKPASS_REQUIRE=force"), "{s}");
                s
            },
            |_| {},
        );
        assert_eq!(rc, 0);
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(log.contains("askpass=yes"), "{log}");
        assert!(!log.contains("s3cret"), "{log}");
    }

    #[test]
    fn a_failure_is_its_stderr() {
        let r = parse(1, "", "User u1 home directory does not exist\n");
        assert_eq!(r["failed"], json!(true));
        assert_eq!(r["msg"], json!("User u1 home directory does not exist"));
        let f = parse_read("rp_user_home=yes\nrp_user_key=no\nrp_user_pub=yes\n");
        assert!(f.home_exists && f.pub_exists && !f.key_exists);
    }
}
