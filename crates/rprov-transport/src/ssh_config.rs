//! Turning inventory ssh arguments (`ansible_ssh_common_args`) into an ssh_config.
//!
//! `openssh::SessionBuilder` has no hook for arbitrary `ssh` options, but it can
//! pass `-F FILE`. So the arguments become a private config file: their options
//! under `Host *` first (in ssh_config the first value wins, so they override the
//! user's config just as `-o` would on the command line), then `Include` of the
//! user's `~/.ssh/config` and the system `/etc/ssh/ssh_config`, which `-F` would
//! otherwise skip. Without extra arguments no file is written and ssh reads the
//! user's configuration as usual.

use std::path::{Path, PathBuf};

use openssh::KnownHosts;

/// Parsed inventory ssh arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SshArgs {
    /// `(Keyword, value)` pairs, in the order given.
    pub options: Vec<(String, String)>,
    /// A config file given with `-F`, read instead of `~/.ssh/config`.
    pub config_file: Option<PathBuf>,
}

/// Parses `-o K=V`, `-oK=V`, `-o 'K V'`, `-J`, `-i`, `-p`, `-l`, `-F`, and the
/// flags `-4 -6 -A -a -C -q -T -x -X -Y`. Anything else is rejected rather than
/// silently dropped, so a user never believes an option is in effect when it is not.
pub(crate) fn parse(args: &[String]) -> Result<SshArgs, String> {
    let mut out = SshArgs::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(flag) = arg.strip_prefix('-').and_then(|f| f.chars().next()) else {
            return Err(format!(
                "unexpected argument {arg:?} (only options are allowed)"
            ));
        };
        let flag_only = arg.len() == 2;
        let mut value = || -> Result<String, String> {
            if flag_only {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{arg} needs a value"))
            } else {
                Ok(arg[2..].to_owned())
            }
        };
        match flag {
            'o' => {
                let v = value()?;
                out.options.push(split_option(&v)?);
            }
            'J' => out.options.push(("ProxyJump".into(), value()?)),
            'i' => out.options.push(("IdentityFile".into(), value()?)),
            'p' => out.options.push(("Port".into(), value()?)),
            'l' => out.options.push(("User".into(), value()?)),
            'F' => out.config_file = Some(PathBuf::from(value()?)),
            _ if flag_only => {
                let (k, v) = match flag {
                    '4' => ("AddressFamily", "inet"),
                    '6' => ("AddressFamily", "inet6"),
                    'A' => ("ForwardAgent", "yes"),
                    'a' => ("ForwardAgent", "no"),
                    'C' => ("Compression", "yes"),
                    'q' => ("LogLevel", "QUIET"),
                    'x' => ("ForwardX11", "no"),
                    'X' => ("ForwardX11", "yes"),
                    'Y' => ("ForwardX11Trusted", "yes"),
                    // No tty is what we want anyway.
                    'T' => continue,
                    _ => return Err(format!("unsupported ssh option {arg}")),
                };
                out.options.push((k.into(), v.into()));
            }
            _ => return Err(format!("unsupported ssh option {arg}")),
        }
    }
    for (k, v) in &out.options {
        if v.contains(['\n', '\r']) || k.contains(['\n', '\r']) {
            return Err(format!("option {k} contains a line break"));
        }
    }
    Ok(out)
}

/// What the user's arguments say about host keys: the first
/// `StrictHostKeyChecking` among them, since ssh keeps the first value of an
/// option. `None` when they say nothing, and rprov's own policy applies.
///
/// This cannot be left to the config file: the `openssh` crate always puts a
/// `-o StrictHostKeyChecking=…` on the command line, and the command line
/// beats any file. So the user's value becomes that command-line option.
/// With `no`, ssh connects to a host whose key changed (as `ssh` and Ansible
/// do when told so); with `yes` or `accept-new` a changed key is refused.
pub(crate) fn host_key_checking(args: &SshArgs) -> Result<Option<KnownHosts>, String> {
    let Some((_, v)) = args
        .options
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("StrictHostKeyChecking"))
    else {
        return Ok(None);
    };
    Ok(Some(match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "ask" => KnownHosts::Strict,
        "accept-new" => KnownHosts::Add,
        "no" | "false" | "off" => KnownHosts::Accept,
        _ => {
            return Err(format!(
                "StrictHostKeyChecking {v:?} is not one of yes, no, accept-new, ask"
            ))
        }
    }))
}

/// `Key=Value` or `Key Value` (how ssh itself reads `-o`).
fn split_option(s: &str) -> Result<(String, String), String> {
    let s = s.trim();
    let at = s
        .find(|c: char| c == '=' || c.is_whitespace())
        .ok_or_else(|| format!("-o {s:?} has no value (expected Key=Value)"))?;
    let key = &s[..at];
    let value = s[at..].trim_start_matches(|c: char| c == '=' || c.is_whitespace());
    if key.is_empty() || value.is_empty() {
        return Err(format!("-o {s:?} is not Key=Value"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// The config file text. `home` is the user's home dir, if known; includes are
/// written as absolute paths because relative ones would resolve against ~/.ssh.
pub(crate) fn render(args: &SshArgs, home: Option<&Path>) -> String {
    let mut text = String::from("# written by rprov from the inventory's ssh arguments\nHost *\n");
    for (k, v) in &args.options {
        text.push_str(&format!("  {k} {v}\n"));
    }
    match &args.config_file {
        Some(file) => text.push_str(&format!("Include \"{}\"\n", file.display())),
        None => {
            if let Some(user) = home.map(|h| h.join(".ssh/config")).filter(|p| p.exists()) {
                text.push_str(&format!("Include \"{}\"\n", user.display()));
            }
            let system = Path::new("/etc/ssh/ssh_config");
            if system.exists() {
                text.push_str(&format!("Include \"{}\"\n", system.display()));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_usual_forms() {
        let p = parse(&args(&[
            "-o",
            "UserKnownHostsFile=/x",
            "-oServerAliveInterval=5",
            "-o",
            "ProxyCommand ssh -W %h:%p bastion",
            "-J",
            "jump@bastion",
            "-i",
            "/k",
            "-p2222",
            "-C",
        ]))
        .expect("valid");
        assert_eq!(
            p.options,
            vec![
                ("UserKnownHostsFile".into(), "/x".into()),
                ("ServerAliveInterval".into(), "5".into()),
                ("ProxyCommand".into(), "ssh -W %h:%p bastion".into()),
                ("ProxyJump".into(), "jump@bastion".into()),
                ("IdentityFile".into(), "/k".into()),
                ("Port".into(), "2222".into()),
                ("Compression".into(), "yes".into()),
            ]
        );
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        assert!(parse(&args(&["-L", "80:localhost:80"])).is_err());
        assert!(parse(&args(&["-o"])).is_err());
        assert!(parse(&args(&["-o", "NoValue"])).is_err());
        assert!(parse(&args(&["host"])).is_err());
        assert!(parse(&args(&["-o", "A=b\nHost evil"])).is_err());
    }

    #[test]
    fn the_first_strict_host_key_checking_decides() {
        let policy = |a: &[&str]| host_key_checking(&parse(&args(a)).expect("valid"));
        assert!(matches!(policy(&["-C"]), Ok(None)));
        assert!(matches!(
            policy(&[
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "StrictHostKeyChecking=yes"
            ]),
            Ok(Some(KnownHosts::Accept))
        ));
        assert!(matches!(
            policy(&["-ostricthostkeychecking accept-new"]),
            Ok(Some(KnownHosts::Add))
        ));
        assert!(matches!(
            policy(&[
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "StrictHostKeyChecking=no"
            ]),
            Ok(Some(KnownHosts::Strict))
        ));
        assert!(policy(&["-o", "StrictHostKeyChecking=maybe"]).is_err());
    }

    #[test]
    fn renders_options_before_includes() {
        let p = parse(&args(&["-o", "UserKnownHostsFile=/x"])).expect("valid");
        let text = render(&p, None);
        let opt = text.find("UserKnownHostsFile /x").expect("option written");
        if let Some(inc) = text.find("Include") {
            assert!(opt < inc);
        }
        let p = parse(&args(&["-F", "/my/config"])).expect("valid");
        assert!(render(&p, None).contains("Include \"/my/config\"\n"));
        assert!(!render(&p, None).contains("/etc/ssh/ssh_config"));
    }
}
