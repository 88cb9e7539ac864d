//! `command` and `shell`: run a program. Their effect is unknown until they
//! run, so in check mode they are reported as `unknown` (docs/architecture.md).

use rprov_transport::quote;
use serde_json::{json, Value as Json};

use super::change::{self, Change, Read};
use super::typed::module_args;
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

module_args! {
    /// `command`'s arguments besides its free-form text (`_raw_params`,
    /// which the loader names with `_` and this struct leaves alone). It is
    /// also what `shell` and `raw` are read as (see [`ShellArgs`], [`RawArgs`]).
    pub struct Args {
        cmd: Option<String> ["cmd"],
        /// The words, as a list of any scalars (each taken as its text).
        argv: Option<Json> ["argv"],
        creates: Option<String> ["creates"],
        removes: Option<String> ["removes"],
        chdir: Option<String> ["chdir"],
        stdin: Option<String> ["stdin"],
        stdin_add_newline: bool ["stdin_add_newline"] = true,
        strip_empty_ends: bool ["strip_empty_ends"] = true,
        expand_argument_vars: bool ["expand_argument_vars"] = true,
        /// Not used by `command` (Ansible's warning is returned); `shell`'s shell.
        executable: Option<String> ["executable"],
        /// Gone from ansible-core (it only toggled warnings); accepted so
        /// that old roles still load, and not read.
        #[allow(dead_code)]
        warn: Option<Json> ["warn"],
    }
}

module_args! {
    /// `shell`'s arguments: `command`'s without `argv`, in Ansible's order.
    pub struct ShellArgs {
        cmd: Option<String> ["cmd"],
        creates: Option<String> ["creates"],
        removes: Option<String> ["removes"],
        chdir: Option<String> ["chdir"],
        stdin: Option<String> ["stdin"],
        stdin_add_newline: bool ["stdin_add_newline"] = true,
        strip_empty_ends: bool ["strip_empty_ends"] = true,
        executable: Option<String> ["executable"],
        /// In the table because Ansible's shell documents it, but refused
        /// when given: the shell expands its own words.
        expand_argument_vars: Option<bool> ["expand_argument_vars"],
        #[allow(dead_code)]
        warn: Option<Json> ["warn"],
    }
}

module_args! {
    /// `raw`'s one argument besides its free-form text.
    pub struct RawArgs {
        executable: Option<String> ["executable"],
    }
}

impl From<RawArgs> for Args {
    fn from(raw: RawArgs) -> Args {
        Args {
            cmd: None,
            argv: None,
            creates: None,
            removes: None,
            chdir: None,
            stdin: None,
            stdin_add_newline: true,
            strip_empty_ends: true,
            expand_argument_vars: true,
            executable: raw.executable,
            warn: None,
        }
    }
}

/// The task's arguments read as the module's own struct, then as
/// [`Args`], which the plan reads for all three.
fn args_of(cx: &PlanCx) -> Result<Args, PlanError> {
    match cx.module {
        "shell" => {
            let a = ShellArgs::from_cx(cx)?;
            if a.expand_argument_vars.is_some() {
                // Ansible's shell refuses it when the task runs (its words
                // follow): the shell itself expands, and there is nothing to
                // turn off.
                return Err(PlanError::Fail(
                    "Unsupported parameters for (shell) module: expand_argument_vars".into(),
                ));
            }
            Ok(Args {
                cmd: a.cmd,
                argv: None,
                creates: a.creates,
                removes: a.removes,
                chdir: a.chdir,
                stdin: a.stdin,
                stdin_add_newline: a.stdin_add_newline,
                strip_empty_ends: a.strip_empty_ends,
                expand_argument_vars: true,
                executable: a.executable,
                warn: a.warn,
            })
        }
        "raw" => RawArgs::from_cx(cx).map(Args::from),
        _ => Args::from_cx(cx),
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    // `raw` is a command line for the host's shell, as `shell` (rprov
    // needs no Python on the host for either).
    let shell = matches!(cx.module, "shell" | "raw");
    let args = args_of(cx)?;
    let text = cx.str_arg("_raw_params")?.or(args.cmd);
    // The program `command` runs, found as Python's subprocess finds it.
    let mut program = None;
    // `command`'s words, each given to the program as one argument.
    let mut argv_words: Vec<String> = Vec::new();
    let body = match (text, args.argv.as_ref()) {
        (Some(t), None) if shell => t,
        (Some(t), None) => {
            // `command` runs the program directly, without a shell: split the
            // words on the controller and quote each one.
            let words = shlex::split(&t).ok_or_else(|| {
                PlanError::Fail(format!(
                    "cannot split the command `{t}` (unbalanced quotes?)"
                ))
            })?;
            program = words.first().cloned();
            argv_words = words;
            String::new()
        }
        (None, Some(Json::Array(argv))) if !shell => {
            let words: Vec<String> = argv
                .iter()
                .map(|a| match a {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            program = words.first().cloned();
            argv_words = words;
            String::new()
        }
        (Some(_), Some(_)) => {
            return Err(PlanError::Fail(
                "give the command as text or as `argv`, not both: parameters are mutually exclusive: _raw_params, cmd, argv".into(),
            ))
        }
        // Ansible's words follow (roles and its own tests match on them).
        _ => {
            return Err(PlanError::Fail(format!(
                "`{}` needs a command: one of the following is required: _raw_params, cmd, argv",
                cx.module
            )))
        }
    };
    // As Ansible's run_command: `$NAME`/`${NAME}` of the environment and a
    // leading `~` are expanded in each word (not split or globbed), unless
    // `expand_argument_vars: false`.
    let expand = args.expand_argument_vars;
    let mut setup = String::new();
    let body = if shell {
        body
    } else {
        argv_words
            .iter()
            .enumerate()
            .map(|(i, w)| match expansion(w, i) {
                Some(lines) if expand => {
                    setup.push_str(&lines);
                    format!("\"$_rp_a{i}\"")
                }
                _ => quote(w),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // ansible-core's `cmd`: the shell's text, or the command's words.
    let cmd_shown = if shell {
        json!(body)
    } else {
        json!(argv_words)
    };

    // As in Ansible, a relative `creates`/`removes` is looked up in `chdir`.
    let chdir = args.chdir;
    let in_chdir = |p: String| match &chdir {
        Some(dir) if !p.starts_with('/') => format!("{}/{p}", dir.trim_end_matches('/')),
        _ => p,
    };
    if let Some(creates) = args.creates.map(in_chdir) {
        if matches_something(cx, &creates)? {
            return Ok(skip(
                &format!("Did not run command since '{creates}' exists"),
                &format!("skipped, since {creates} exists"),
                &cmd_shown,
            ));
        }
    }
    if let Some(removes) = args.removes.map(in_chdir) {
        if !matches_something(cx, &removes)? {
            return Ok(skip(
                &format!("Did not run command since '{removes}' does not exist"),
                &format!("skipped, since {removes} does not exist"),
                &cmd_shown,
            ));
        }
    }

    let mut changes = surroundings(cx, chdir.as_deref());
    let mut script = setup;
    // An `async` task, waited for or not, makes the folder of jobs, as
    // ansible-core's async wrapper does.
    if cx.async_job.is_some() {
        script.push_str(&format!("{} || exit 1\n", cx.async_dir.make()));
    }
    if let Some(p) = program
        .as_ref()
        .filter(|p| !expand || expansion(p, 0).is_none())
    {
        script.push_str(&not_found_check(p));
    }
    // `timeout:` (coreutils) stops the command and its children with TERM,
    // then KILL 5 s later, and exits 124 (read in the executor). An `async`
    // job may run its `async` seconds at most, as ansible-core's wrapper
    // kills it then.
    let limit = match (cx.timeout, cx.async_job.map(|j| j.seconds)) {
        (Some(t), Some(a)) => Some(t.min(a)),
        (t, a) => t.or(a),
    };
    let exec = match limit {
        Some(secs) => format!("exec timeout -k 5 {secs}"),
        None => "exec".to_string(),
    };
    if shell {
        let exe = args.executable.as_deref().unwrap_or("/bin/sh");
        script.push_str(&format!("{exec} {} -c {}\n", quote(exe), quote(&body)));
    } else {
        script.push_str(&format!("{exec} {body}\n"));
    }
    changes.push(Change::Raw {
        script,
        why: "the program runs as Ansible's run_command runs it: each word expanded on the \
              host, a program that is not there reported as rc 2, and `exec`'d so that \
              `timeout` and signals reach it",
    });
    let stdin = match args.stdin {
        Some(mut s) => {
            if args.stdin_add_newline {
                s.push('\n');
            }
            Some(s.into_bytes())
        }
        None => None,
    };
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(true));
    result.insert("cmd".into(), cmd_shown);
    if let (false, Some(exe)) = (shell, &args.executable) {
        // Ansible's command module accepts it, says so and runs without it.
        result.insert(
            "warnings".into(),
            json!([format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{exe}'."
            )]),
        );
    }
    if let Some(secs) = limit {
        result.insert("timeout".into(), json!(secs));
    }
    if let Some(job) = cx.async_job {
        let jid = super::async_status::new_job_id();
        result.insert("ansible_job_id".into(), json!(jid));
        result.insert("started".into(), json!(true));
        result.insert("finished".into(), json!(true));
        result.insert(
            "results_file".into(),
            json!(cx.async_dir.results_file(&jid)),
        );
        if job.background() {
            if stdin.is_some() {
                return Err(PlanError::Fail(
                    "`stdin` cannot be given to a job started in the background (`poll: 0`)".into(),
                ));
            }
            let action = change::checked(changes, result)?;
            return Ok(Decision::Run {
                waits_for: "the command's result: commands do not run in check mode".into(),
                action: super::async_status::in_background(action, &jid, cx.async_dir)?,
            });
        }
    }
    Ok(Decision::Run {
        waits_for: "the command's result: commands do not run in check mode".into(),
        action: Action {
            stdin,
            output: OutputMode::Command {
                strip: args.strip_empty_ends,
            },
            touches_everything: true,
            ..change::checked(changes, result)?
        },
    })
}

/// Shell lines that set `_rp_a{i}` to `word` with Python's
/// `os.path.expandvars` then `expanduser` applied, as Ansible's run_command
/// does to each argument: `$NAME` and `${NAME}` become the variable's value
/// when it is set and stay as written when not; a leading `~` or `~user`
/// becomes the home directory. `None` when the word has nothing to expand.
/// ansible-core's `start`, `end` and `delta` of a command that ran from
/// `started` for `elapsed`: `2026-12-04 11:00:00.123456` (UTC) and
/// `0:00:03.004567`. rprov times the remote command on the controller, so
/// the round trip to the host is included.
pub fn insert_times(
    result: &mut serde_json::Map<String, Json>,
    started: std::time::SystemTime,
    elapsed: std::time::Duration,
) {
    let stamp = |t: std::time::SystemTime| {
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        format!(
            "{}.{:06}",
            rprov_template::date_time_utc(d.as_secs()),
            d.subsec_micros()
        )
    };
    let secs = elapsed.as_secs();
    result.insert("start".into(), json!(stamp(started)));
    result.insert("end".into(), json!(stamp(started + elapsed)));
    result.insert(
        "delta".into(),
        json!(format!(
            "{}:{:02}:{:02}.{:06}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            elapsed.subsec_micros()
        )),
    );
}

fn expansion(word: &str, i: usize) -> Option<String> {
    let var = format!("_rp_a{i}");
    let mut lines = format!("{var}=\n");
    let mut rest = word;
    let mut expanded = false;
    // `~` or `~/…`, `~user` or `~user/…`: the shell's own tilde expansion of
    // a plain name, which leaves an unknown user's word as written.
    if let Some(after) = rest.strip_prefix('~') {
        let end = after.find('/').unwrap_or(after.len());
        let user = &after[..end];
        if user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            lines.push_str(&format!("{var}=~{user}\n"));
            if end < after.len() {
                // Python strips the home's trailing `/` before adding the rest.
                lines.push_str(&format!("{var}=${{{var}%/}}\n"));
            }
            rest = &after[end..];
            expanded = true;
        }
    }
    let mut literal = String::new();
    let flush = |literal: &mut String, lines: &mut String| {
        if !literal.is_empty() {
            lines.push_str(&format!("{var}=\"${var}\"{}\n", quote(literal)));
            literal.clear();
        }
    };
    let mut chars = rest.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '$' {
            literal.push(c);
            continue;
        }
        let tail = &rest[at + 1..];
        let (name, len) = match tail.strip_prefix('{') {
            Some(t) => match t.find('}') {
                Some(e) => (&t[..e], e + 2),
                None => ("", 0),
            },
            None => {
                let n = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                (&tail[..n], n)
            }
        };
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name {
            literal.push(c);
            continue;
        }
        let written = &rest[at..at + 1 + len];
        flush(&mut literal, &mut lines);
        lines.push_str(&format!(
            "if [ -n \"${{{name}+set}}\" ]; then {var}=\"${var}${name}\"; else {var}=\"${var}\"{}; fi\n",
            quote(written)
        ));
        expanded = true;
        for _ in 0..len {
            chars.next();
        }
    }
    flush(&mut literal, &mut lines);
    expanded.then_some(lines)
}

/// Begins the stderr of a `command` whose program was not found: what
/// follows is the result's `msg`, and its `stderr` stays empty, as in
/// Ansible, where no process ever ran (see `OutputMode::Command`).
pub const NOT_FOUND_MARK: &str = "@@rprov-not-found@@ ";

/// Fails as Ansible's `command` does when its program cannot be run: rc 2
/// (ENOENT from Python's subprocess) rather than the shell's 127, which a
/// program may also return of itself. Searched like `execvp`: a name with a
/// `/` as a path, any other in `$PATH`; shell builtins do not count.
fn not_found_check(program: &str) -> String {
    let q = quote(program);
    let msg = quote(&format!(
        "{NOT_FOUND_MARK}[Errno 2] No such file or directory: b'{program}'"
    ));
    format!(
        "_rp_found=\n\
         case {q} in\n\
         */*) [ -e {q} ] && _rp_found=1 ;;\n\
         *) _rp_ifs=$IFS; IFS=:\n\
            for _rp_d in $PATH; do\n\
              if [ -f \"${{_rp_d:-.}}\"/{q} ] && [ -x \"${{_rp_d:-.}}\"/{q} ]; then _rp_found=1; break; fi\n\
            done\n\
            IFS=$_rp_ifs ;;\n\
         esac\n\
         [ -n \"$_rp_found\" ] || {{ printf '%s\\n' {msg} >&2; exit 2; }}\n"
    )
}

/// Whether `path` exists, or, when it holds `*` or `?`, whether anything
/// matches it (Python's `glob.glob`, which Ansible's `creates`/`removes`
/// use), read on the host.
fn matches_something(cx: &PlanCx, path: &str) -> Result<bool, PlanError> {
    if !path.contains(['*', '?']) {
        return Ok(cx.file(path, true)?.exists());
    }
    let out = cx.ask_one(Read::AnyMatches(path.to_string()))?;
    Ok(out.trim() == "yes")
}

/// The task's `environment:` exported, its limit of open files set and its
/// `chdir` entered, before a program runs (`command`, `shell`, `script`).
/// A name the shell cannot take is refused by the renderer.
pub(super) fn surroundings(cx: &PlanCx, chdir: Option<&str>) -> Vec<Change> {
    let mut changes: Vec<Change> = cx
        .environment
        .iter()
        .map(|(k, v)| Change::Export {
            name: k.clone(),
            value: match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            },
        })
        .collect();
    if let Some(soft) = cx.open_files {
        changes.push(Change::LimitOpenFiles { soft });
    }
    if let Some(dir) = chdir {
        changes.push(Change::ChangeDir {
            path: dir.to_string(),
        });
    }
    changes
}

/// The result of a command `creates`/`removes` did not let run, as
/// ansible-core's command module gives it: `msg` says why, `stdout` says it
/// in its older words, and the times are null.
fn skip(msg: &str, stdout: &str, cmd: &Json) -> Decision {
    let mut result = serde_json::Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("cmd".into(), cmd.clone());
    result.insert("msg".into(), json!(msg));
    result.insert("rc".into(), json!(0));
    for time in ["start", "end", "delta"] {
        result.insert(time.into(), Json::Null);
    }
    result.insert("stdout".into(), json!(stdout));
    result.insert("stdout_lines".into(), json!([stdout]));
    result.insert("stderr".into(), json!(""));
    result.insert("stderr_lines".into(), json!([]));
    Decision::Ok {
        result,
        msg: Some(msg.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exit status of the check for `program`, run by the local `sh`.
    /// `creates` with a glob asks the host, with the literal parts quoted:
    /// a `$(…)` in the path is a name, not a command.
    #[test]
    fn times_are_ansible_cores_format() {
        let mut r = serde_json::Map::new();
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_764_846_000_123_456);
        insert_times(&mut r, at, std::time::Duration::from_micros(3_723_004_567));
        assert_eq!(r["start"], json!("2025-12-04 11:00:00.123456"));
        assert_eq!(r["end"], json!("2025-12-04 12:02:03.128023"));
        assert_eq!(r["delta"], json!("1:02:03.004567"));
    }

    #[test]
    fn creates_and_removes_take_a_glob() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a $(touch pwned) b");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("afile.txt"), "").unwrap();
        let run = |args: serde_json::Value| {
            crate::modules::testing::run("command", args, |p| match p {
                crate::probe::Probe::Shell { script } => {
                    let out = std::process::Command::new("sh")
                        .arg("-c")
                        .arg(script)
                        .current_dir(dir.path())
                        .output()
                        .unwrap();
                    Some(crate::probe::Fact::Text(
                        String::from_utf8_lossy(&out.stdout).into_owned(),
                    ))
                }
                _ => None,
            })
            .unwrap()
        };
        let at = |p: &str| format!("{}/{p}", d.display());
        let skipped = |d: &Decision| matches!(d, Decision::Ok { .. });
        assert!(skipped(&run(
            json!({"cmd": "true", "creates": at("afile.*")})
        )));
        assert!(!skipped(&run(
            json!({"cmd": "true", "creates": at("bfile.?xt")})
        )));
        assert!(skipped(&run(
            json!({"cmd": "true", "removes": at("nothing*")})
        )));
        assert!(!dir.path().join("pwned").exists(), "the path ran as shell");
    }

    fn check_status(program: &str) -> i32 {
        let script = format!("{}exit 0\n", not_found_check(program));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh");
        out.status.code().unwrap_or(-1)
    }

    #[test]
    fn a_program_not_found_is_rc_2_as_in_ansible() {
        assert_eq!(check_status("no-such-program-rprov"), 2);
        assert_eq!(check_status("/no/such/program"), 2);
        // `cd` is a shell builtin, not a program subprocess could run.
        assert_eq!(check_status("cd"), 2);
        // Found in $PATH (a builtin too, but also a program), or by path.
        assert_eq!(check_status("echo"), 0);
        assert_eq!(check_status("/bin/sh"), 0);
        assert_eq!(check_status("it's odd"), 2);
    }

    /// `executable` is for `shell`; `command` takes it, warns as Ansible
    /// does, and runs the program without a shell.
    #[test]
    fn command_with_executable_warns_and_ignores_it() {
        let d = super::super::testing::run(
            "command",
            serde_json::json!({"_raw_params": "echo hi", "executable": "/bin/bash"}),
            |_| None,
        )
        .unwrap();
        let Decision::Run { action, .. } = d else {
            panic!("expected a run, got {d:?}");
        };
        assert!(!action.script.contains("/bin/bash"), "{}", action.script);
        let w = action.result["warnings"][0].as_str().unwrap_or_default();
        assert!(w.contains("Not using '/bin/bash'"), "{w}");
        // ansible-core's `cmd`: the command's words; the shell's text.
        assert_eq!(action.result["cmd"], serde_json::json!(["echo", "hi"]));
        let d = super::super::testing::run(
            "shell",
            serde_json::json!({"_raw_params": "echo hi", "executable": "/bin/bash"}),
            |_| None,
        )
        .unwrap();
        let Decision::Run { action, .. } = d else {
            panic!("expected a run, got {d:?}");
        };
        assert!(
            action.script.contains("exec /bin/bash -c"),
            "{}",
            action.script
        );
        assert!(!action.result.contains_key("warnings"));
        assert_eq!(action.result["cmd"], serde_json::json!("echo hi"));
    }

    /// Runs `command`'s planned script with `sh`, `HOME=/h` and the given
    /// environment, and returns what the program printed.
    fn run_command(args: serde_json::Value, env: &[(&str, &str)]) -> String {
        let d = super::super::testing::run("command", args, |_| None).unwrap();
        let Decision::Run { action, .. } = d else {
            panic!("expected a run, got {d:?}");
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&action.script)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/h")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}\n{}", action.script);
        String::from_utf8(out.stdout).unwrap()
    }

    /// As Ansible's run_command: variables of the environment and a leading
    /// `~` are expanded in each word, once, without splitting or globbing;
    /// unset variables stay as written.
    #[test]
    fn command_words_get_variables_and_home_expanded_as_ansible() {
        let printed = run_command(
            serde_json::json!({"_raw_params":
                "printf '%s|' $HOME ${NOPE} ~ ~/x a$HOME/b '$V' ~nosuchuser/x $ 5$ ${1}"}),
            &[("V", "two words * $HOME")],
        );
        assert_eq!(
            printed,
            "/h|${NOPE}|/h|/h/x|a/h/b|two words * $HOME|~nosuchuser/x|$|5$|${1}|"
        );
        // The root's home (`/`) gives `/x`, not `//x`, as Python's expanduser.
        let printed = run_command(
            serde_json::json!({"argv": ["printf", "%s|", "~/x"]}),
            &[("HOME", "/")],
        );
        assert_eq!(printed, "/x|");
        let printed = run_command(
            serde_json::json!({"_raw_params": "printf '%s|' $HOME ~",
                               "expand_argument_vars": false}),
            &[],
        );
        assert_eq!(printed, "$HOME|~|");
    }
}
