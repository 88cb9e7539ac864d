//! `script`: a script of the controller run on the host, as ansible-core's
//! `script` action (which the Ansible fallback cannot run: its work is done
//! on Ansible's controller).
//!
//! The first word of the free-form text (or `cmd`), split as Python's
//! `shlex` splits it, names the script: found as `copy` finds `src` (the
//! role's and the playbook's `files/`), decrypted when it is
//! vault-encrypted (`decrypt`, default true). The rest of the text is the
//! script's arguments, given to the host's shell as written, as
//! ansible-core does (`script: backup.sh "{{ db }}"`). The script travels on
//! the command's stdin into a fresh private directory under `/tmp`, is run
//! there (with `executable` when given, from `chdir` when given) and removed
//! whatever its exit. `creates`/`removes` skip it, with ansible-core's
//! message, when the path exists or does not. Its effect is unknown until it
//! runs: in `--check` it is `unknown` (ansible-core says `skipped`).

use rprov_transport::quote;
use serde_json::json;

use super::change::{self, Change};
use super::copy::{decrypt_source, is_vault_file};
use super::typed::module_args;
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

module_args! {
    /// `script`'s arguments besides its free-form text (`_raw_params`,
    /// which the loader names with `_` and this struct leaves alone).
    pub struct Args {
        /// The script and its arguments, when not given as free-form text.
        cmd: Option<String> ["cmd"],
        creates: Option<String> ["creates"],
        removes: Option<String> ["removes"],
        chdir: Option<String> ["chdir"],
        executable: Option<String> ["executable"],
        decrypt: bool ["decrypt"] = true,
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let raw = match (cx.str_arg("_raw_params")?, args.cmd) {
        (Some(_), Some(_)) => {
            return Err(PlanError::Fail(
                "parameters are mutually exclusive: _raw_params|cmd".into(),
            ))
        }
        (Some(t), None) | (None, Some(t)) if !t.trim().is_empty() => t,
        _ => {
            return Err(PlanError::Fail(
                "one of the following is required: _raw_params, cmd".into(),
            ))
        }
    };
    if let Some(creates) = args.creates {
        if cx.file(&creates, true)?.exists() {
            return Ok(skipped(format!(
                "{creates} exists, matching creates option"
            )));
        }
    }
    if let Some(removes) = args.removes {
        if !cx.file(&removes, true)?.exists() {
            return Ok(skipped(format!(
                "{removes} does not exist, matching removes option"
            )));
        }
    }
    let chdir = args.chdir;
    if let Some(dir) = chdir.as_deref().filter(|d| !d.starts_with('/')) {
        return Err(PlanError::Fail(format!(
            "chdir {dir} must be an absolute path for a Unix-aware remote node"
        )));
    }
    let raw = raw.trim();
    let words = shlex::split(raw)
        .ok_or_else(|| PlanError::Fail(format!("cannot split `{raw}` (unbalanced quotes?)")))?;
    let source = words
        .first()
        .ok_or_else(|| PlanError::Fail("the script's name is empty".into()))?;
    let path = cx.search.find("files", source)?;
    let mut bytes = std::fs::read(&path)
        .map_err(|e| PlanError::Fail(format!("cannot read {}: {e}", path.display())))?;
    if args.decrypt && is_vault_file(&bytes) {
        bytes = decrypt_source(cx, source, &bytes)?;
    }

    // A directory of the controller's choosing (`mkdir` refuses one that
    // exists), and a name the shell needs no quotes for, so the path can
    // stand in for the script's name inside the command text, quoted or not.
    let dir = format!("/tmp/rprov-script.{}", token());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
        .unwrap_or_else(|| "script".into());
    let on_host = format!("{dir}/{name}");
    let command = raw.replacen(source.as_str(), &on_host, 1);
    let command = match args.executable {
        Some(exe) => format!("{} {command}", quote(&exe)),
        None => command,
    };

    let mut changes = super::command::surroundings(cx, chdir.as_deref());
    let run = match cx.timeout {
        Some(secs) => format!("timeout -k 5 {secs} /bin/sh -c {}", quote(&command)),
        None => format!("/bin/sh -c {}", quote(&command)),
    };
    changes.push(Change::Raw {
        script: format!(
            "_rp_dir={d}\nmkdir -m 700 \"$_rp_dir\" || exit 1\ntrap 'rm -rf \"$_rp_dir\"' EXIT\ncat > {f} && chmod 700 {f} || exit 1\n{run} </dev/null\nexit $?\n",
            d = quote(&dir),
            f = quote(&on_host),
        ),
        why: "the script is written from stdin into a private directory, run by the host's \
              shell with its arguments as written (as ansible-core's script action), and the \
              directory removed on every exit",
    });
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(true));
    Ok(Decision::Run {
        waits_for: "the script's result: scripts do not run in check mode".into(),
        action: Action {
            stdin: Some(bytes),
            output: OutputMode::Command { strip: true },
            touches_everything: true,
            ..change::checked(changes, result)?
        },
    })
}

/// ansible-core's result for a script that `creates`/`removes` skips.
fn skipped(msg: String) -> Decision {
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("skipped".into(), json!(true));
    result.insert("msg".into(), json!(msg));
    Decision::Ok {
        result,
        msg: Some(msg),
    }
}

/// Twelve characters `[0-9a-z]` that differ between calls.
fn token() -> String {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new().hash_one(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let mut n = seed;
    (0..12)
        .map(|_| {
            let c = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
            n /= 36;
            char::from(c)
        })
        .collect()
}
