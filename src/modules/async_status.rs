//! `async` jobs: a command started in the background (`async: N`,
//! `poll: 0`), and `async_status`, which asks about it.
//!
//! ansible-core leaves a job's result as JSON in `~/.ansible_async/<jid>`,
//! written by its Python wrapper. rprov has no Python on the host, so the
//! job leaves three files beside where that one would be: `<jid>.out` and
//! `<jid>.err` (the command's output) and `<jid>.rc` (its exit status,
//! moved into place when the command has ended, so its presence means
//! "finished"). `async_status` reads them in one remote command and gives
//! the result ansible-core's gives: `finished`, and once finished the
//! command's `rc`, `stdout`, `stderr` and their `_lines`.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change};
use super::typed::{choice, module_args};
use super::{Action, Decision, OutputMode, PlanCx, PlanError};

/// Where jobs leave their files, as ansible-core's default `async_dir`.
const ASYNC_DIR: &str = "~/.ansible_async";

/// The folder on the host where jobs leave their files: the task's
/// `ansible_async_dir`, else ansible-core's default, `~/.ansible_async`.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncDir(std::borrow::Cow<'static, str>);

impl Default for AsyncDir {
    fn default() -> Self {
        AsyncDir::DEFAULT
    }
}

impl AsyncDir {
    /// ansible-core's default.
    pub const DEFAULT: AsyncDir = AsyncDir(std::borrow::Cow::Borrowed(ASYNC_DIR));

    /// The folder the variable `ansible_async_dir` names, if set.
    pub fn new(var: Option<&str>) -> Self {
        match var.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => AsyncDir(v.to_string().into()),
            None => AsyncDir::default(),
        }
    }

    /// The folder as one shell word, `~` expanded by the host's shell.
    pub fn shell(&self) -> String {
        match self.0.strip_prefix('~') {
            Some("") => "\"$HOME\"".to_string(),
            Some(rest) if rest.starts_with('/') => format!("\"$HOME\"{}", quote(rest)),
            _ => quote(&self.0),
        }
    }

    /// The `results_file` a job's task registers, as written.
    pub fn results_file(&self, jid: &str) -> String {
        format!("{}/{jid}", self.0.trim_end_matches('/'))
    }

    /// A script that makes the folder, as ansible-core's async wrapper does
    /// for every async task (polled ones too).
    pub fn make(&self) -> String {
        let dir = self.shell();
        format!("mkdir -p {dir} && chmod 700 {dir}")
    }
}

/// Largest output of a job that `async_status` brings back, per stream.
const MAX_OUTPUT: usize = 4 << 20;

choice! {
    /// What `async_status` does with the job.
    pub enum Mode {
        Status = "status",
        Cleanup = "cleanup",
    }
}

module_args! {
    /// `async_status`'s arguments.
    pub struct Args {
        /// The `ansible_job_id` the job's task registered.
        jid: String ["jid"],
        mode: Mode ["mode"] = Mode::Status,
    }
}

/// A new job id in ansible-core's shape (`j<12 digits>.<pid>`): unique
/// within the controller's run and very unlikely to meet another run's.
pub fn new_job_id() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = (nanos as u64).wrapping_add(COUNT.fetch_add(1, Ordering::Relaxed) * 7919);
    format!("j{:012}.{}", n % 1_000_000_000_000, std::process::id())
}

/// `action` (a command's) started in the background instead: the host's
/// remote command returns at once, the command goes on detached from the
/// session (its input and output are files), and the task registers the
/// job (`finished: false`), as ansible-core's `poll: 0`.
pub fn in_background(action: Action, jid: &str, dir: &AsyncDir) -> Result<Action, String> {
    let script = background_script(&action.script, jid, Job::Command, dir);
    let mut result = action.result;
    result.insert("finished".into(), json!(false));
    result.insert("changed".into(), json!(true));
    Ok(Action {
        touches_everything: true,
        ..change::checked(
            vec![Change::Raw {
                script,
                why: "a detached background job whose exit status lands in a file when it \
                      ends: no typed change starts a process and leaves it running",
            }],
            result,
        )?
    })
}

/// What a task that started a job in the background (`poll: 0`) registers,
/// as ansible-core's async wrapper answers.
pub fn started_job(jid: &str, results_file: &str) -> Map<String, Json> {
    let mut r = Map::new();
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert("started".into(), json!(true));
    r.insert("finished".into(), json!(false));
    r.insert("results_file".into(), json!(results_file));
    r.insert("changed".into(), json!(true));
    r
}

/// The script that leaves the files of job `jid` that has finished with the
/// module result `module`, as a background module's job leaves them (its
/// output the module's JSON; its exit status last, which says "finished").
pub fn finished_job_script(dir: &AsyncDir, jid: &str, module: &Map<String, Json>) -> String {
    let make = dir.make();
    let at = format!("{}/{}", dir.shell(), quote(jid));
    let json = Json::Object(module.clone()).to_string();
    format!(
        "{make} || exit 1\n\
         printf '%s\\n' {} >{at}.out && : >{at}.err && : >{at}.module && echo 0 >{at}.rc\n",
        quote(&json)
    )
}

/// What a background job runs, for what `async_status` makes of its
/// output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Job {
    /// A command: its result is its exit status and output.
    Command,
    /// A module run through the Ansible fallback, its payload on the remote
    /// command's stdin: its result is the JSON it prints.
    Module,
}

/// The remote script that starts `script` as background job `jid` and
/// returns at once. The job runs in a session of its own (`setsid`):
/// nothing that ends the login's session or process group (the remote
/// command returning, the connection closing) reaches it. A module's job
/// reads the payload the remote command got on stdin, kept in `<jid>.in`
/// (removed when the job ends), and leaves `<jid>.module` to say its output
/// is a module's JSON.
pub fn background_script(script: &str, jid: &str, kind: Job, dir: &AsyncDir) -> String {
    let make = dir.make();
    let dir = dir.shell();
    let j = quote(jid);
    let module = kind == Job::Module;
    // `$1` is the job's file prefix.
    let job = format!(
        "sh -c {} <{} >\"$1.out\" 2>\"$1.err\"; \
         echo $? >\"$1.rc.part\" && mv \"$1.rc.part\" \"$1.rc\"{}",
        quote(script),
        if module { "\"$1.in\"" } else { "/dev/null" },
        if module { "; rm -f \"$1.in\"" } else { "" },
    );
    let mut out = format!("{make} || exit 1\n");
    if module {
        out.push_str(&format!(
            "(umask 077 && cat >{dir}/{j}.in) || exit 1\n: >{dir}/{j}.module\n"
        ));
    }
    out.push_str(&format!(
        ": >{dir}/{j}.out\n\
         setsid sh -c {} rprov-job {dir}/{j} </dev/null >/dev/null 2>&1 &\n",
        quote(&job)
    ));
    out
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let dir = cx.async_dir.shell();
    let j = quote(&args.jid);
    let script = match args.mode {
        Mode::Status => format!(
            "_rp_j={dir}/{j}\n\
             printf '%s\\n' {j} \"$_rp_j\"\n\
             if [ -f \"$_rp_j.rc\" ]; then\n\
             echo finished; cat \"$_rp_j.rc\"\n\
             head -c {MAX_OUTPUT} \"$_rp_j.out\" 2>/dev/null | base64 -w0; echo\n\
             head -c {MAX_OUTPUT} \"$_rp_j.err\" 2>/dev/null | base64 -w0; echo\n\
             if [ -f \"$_rp_j.module\" ]; then echo module; fi\n\
             elif [ -f \"$_rp_j.out\" ]; then echo running\n\
             else echo missing; fi\n"
        ),
        Mode::Cleanup => format!(
            "_rp_j={dir}/{j}\n\
             printf '%s\\n' {j} \"$_rp_j\"\n\
             rm -f \"$_rp_j.out\" \"$_rp_j.err\" \"$_rp_j.rc\" \"$_rp_j.rc.part\" \"$_rp_j.in\" \"$_rp_j.module\"\n\
             echo erased\n"
        ),
    };
    let action = change::checked(
        vec![Change::Raw {
            script,
            why: "reads (or removes) the files a background job leaves, base64 for the output",
        }],
        Map::new(),
    )?;
    let action = Action {
        output: OutputMode::Parse(parse),
        ..action
    };
    Ok(match args.mode {
        // Asking only reads: in `--check` too.
        Mode::Status => Decision::Read { action },
        Mode::Cleanup => Decision::Run {
            waits_for: "the removal of the job's files".into(),
            action,
        },
    })
}

/// The job's state as ansible-core's `async_status` returns it.
fn parse(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut r = Map::new();
    let mut lines = stdout.lines();
    let jid = lines.next().unwrap_or_default().to_string();
    // The job's file as the host's shell expanded it.
    let results_file = lines.next().unwrap_or_default().to_string();
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert("results_file".into(), json!(results_file));
    r.insert("started".into(), json!(true));
    let fail = |r: &mut Map<String, Json>, msg: String| {
        r.insert("failed".into(), json!(true));
        r.insert("finished".into(), json!(true));
        r.insert("msg".into(), json!(msg));
    };
    if status != 0 {
        fail(&mut r, format!("could not read the job: {}", stderr.trim()));
        return r;
    }
    match lines.next() {
        Some("running") => {
            r.insert("finished".into(), json!(false));
            r.insert("changed".into(), json!(false));
        }
        Some("erased") => {
            r.insert("erased".into(), json!(results_file));
            r.insert("changed".into(), json!(false));
        }
        Some("finished") => {
            let rc: i64 = lines
                .next()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(-1);
            let text = |l: Option<&str>| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(l.unwrap_or_default().trim())
                    .unwrap_or_default();
                let s = String::from_utf8_lossy(&bytes).into_owned();
                // ansible-core's command strips one trailing newline.
                s.strip_suffix('\n').map(str::to_string).unwrap_or(s)
            };
            let out = text(lines.next());
            let err = text(lines.next());
            if lines.next() == Some("module") {
                module_result(&mut r, rc, &out, &err);
                return r;
            }
            r.insert("finished".into(), json!(true));
            r.insert("changed".into(), json!(true));
            r.insert("rc".into(), json!(rc));
            r.insert(
                "stdout_lines".into(),
                json!(out.lines().collect::<Vec<_>>()),
            );
            r.insert(
                "stderr_lines".into(),
                json!(err.lines().collect::<Vec<_>>()),
            );
            r.insert("stdout".into(), json!(out));
            r.insert("stderr".into(), json!(err));
            if rc != 0 {
                r.insert("failed".into(), json!(true));
                r.insert("msg".into(), json!("non-zero return code"));
            }
        }
        // ansible-core's words; the job's id is in `ansible_job_id`.
        _ => fail(&mut r, "could not find job".to_string()),
    }
    r
}

/// A module job's result: the JSON it printed, as the module's task
/// would have registered it, in the job's shape (see [`job_result`]);
/// output that is no JSON fails it, as in ansible-core.
fn module_result(r: &mut Map<String, Json>, rc: i64, out: &str, err: &str) {
    match super::ansible_fallback::json_object(out) {
        Some(mut module) => {
            super::ansible_fallback::warn_of_junk_after(out, &mut module);
            module.retain(|k, _| !k.starts_with("_ansible_") && k != "invocation");
            let changed = module.get("changed").and_then(crate::truthy::as_bool) == Some(true);
            module.insert("changed".into(), json!(changed));
            let text = |k: &str| {
                r.get(k)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let (jid, file) = (text("ansible_job_id"), text("results_file"));
            *r = job_result(&jid, &file, module, err);
        }
        None => {
            r.insert("finished".into(), json!(true));
            r.insert("failed".into(), json!(true));
            r.insert("changed".into(), json!(false));
            r.insert("rc".into(), json!(rc));
            r.insert("module_stdout".into(), json!(out));
            r.insert("module_stderr".into(), json!(err));
            r.insert(
                "msg".into(),
                json!(format!(
                    "the job's module gave no result (exit status {rc})"
                )),
            );
        }
    }
}

/// A finished module job's result as ansible-core's async wrapper gives it,
/// in its order: the job's keys, the module's other output (none, for a
/// module that prints only its JSON) and its stderr, then the module's
/// result, then whether it failed.
pub fn job_result(
    jid: &str,
    results_file: &str,
    mut module: Map<String, Json>,
    stderr: &str,
) -> Map<String, Json> {
    let failed = module
        .remove("failed")
        .and_then(|f| crate::truthy::as_bool(&f))
        == Some(true);
    let mut r = Map::new();
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert("results_file".into(), json!(results_file));
    r.insert("started".into(), json!(true));
    r.insert("finished".into(), json!(true));
    r.insert("stdout".into(), json!(""));
    // As the wrapper read it: a last newline stays (`stderr_lines` has
    // none).
    r.insert("stderr".into(), json!(stderr));
    r.insert("stdout_lines".into(), json!([]));
    r.insert(
        "stderr_lines".into(),
        json!(stderr.lines().collect::<Vec<_>>()),
    );
    for (k, v) in module {
        r.entry(k).or_insert(v);
    }
    r.insert("failed".into(), json!(failed));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module job's stderr keeps its last newline, as ansible-core's
    /// async wrapper reads it.
    #[test]
    fn a_module_jobs_stderr_is_kept_whole() {
        let mut module = Map::new();
        module.insert("changed".into(), json!(true));
        let r = job_result(
            "j1.2",
            "/root/.ansible_async/j1.2",
            module,
            "printed to stderr\n",
        );
        assert_eq!(r["results_file"], json!("/root/.ansible_async/j1.2"));
        assert_eq!(r["stderr"], json!("printed to stderr\n"));
        assert_eq!(r["stderr_lines"], json!(["printed to stderr"]));
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["failed"], json!(false));
    }

    #[test]
    fn a_finished_job_gives_the_commands_result() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let out = format!(
            "j1.2\n/root/.ansible_async/j1.2\nfinished\n3\n{}\n{}\n",
            b64("one\ntwo\n"),
            b64("bad\n")
        );
        let r = parse(0, &out, "");
        assert_eq!(r["finished"], json!(true));
        assert_eq!(r["rc"], json!(3));
        assert_eq!(r["stdout"], json!("one\ntwo"));
        assert_eq!(r["stdout_lines"], json!(["one", "two"]));
        assert_eq!(r["stderr"], json!("bad"));
        assert_eq!(r["failed"], json!(true));
    }

    #[test]
    fn running_missing_and_erased() {
        let file = "/root/.ansible_async/j1.2";
        assert_eq!(
            parse(0, &format!("j1.2\n{file}\nrunning\n"), "")["finished"],
            json!(false)
        );
        let missing = parse(0, &format!("j1.2\n{file}\nmissing\n"), "");
        assert_eq!(missing["failed"], json!(true));
        assert_eq!(missing["msg"], json!("could not find job"));
        assert_eq!(missing["ansible_job_id"], json!("j1.2"));
        assert_eq!(missing["results_file"], json!(file));
        assert_eq!(
            parse(0, &format!("j1.2\n{file}\nerased\n"), "")["erased"],
            json!(file)
        );
    }

    /// `ansible_async_dir` as the host's shell reads it: `~` expanded there,
    /// anything else one quoted word.
    #[test]
    fn the_async_dir_is_one_shell_word() {
        assert_eq!(AsyncDir::new(None).shell(), "\"$HOME\"/.ansible_async");
        assert_eq!(AsyncDir::new(Some("~")).shell(), "\"$HOME\"");
        assert_eq!(
            AsyncDir::new(Some("/tmp/my jobs")).shell(),
            "'/tmp/my jobs'"
        );
        assert_eq!(AsyncDir::new(Some("$(reboot)")).shell(), "'$(reboot)'");
        assert_eq!(
            AsyncDir::new(Some("/tmp/jobs/")).results_file("j1.2"),
            "/tmp/jobs/j1.2"
        );
    }

    #[test]
    fn job_ids_differ() {
        let a = new_job_id();
        let b = new_job_id();
        assert_ne!(a, b);
        assert!(a.starts_with('j') && a.contains('.'), "{a}");
    }

    #[test]
    fn the_background_wrapper_quotes_the_command() {
        let action = change::checked(
            vec![Change::Raw {
                script: "echo '$(x)'\n".into(),
                why: "test",
            }],
            Map::new(),
        )
        .unwrap();
        let bg = in_background(action.clone(), "j1.2", &AsyncDir::DEFAULT).unwrap();
        assert!(bg.script.contains("setsid sh -c '"), "{}", bg.script);
        assert!(
            bg.script
                .contains("\nmkdir -p \"$HOME\"/.ansible_async && chmod 700"),
            "{}",
            bg.script
        );
        // The command is quoted twice (job in the wrapper, wrapper for setsid).
        assert!(bg.script.contains("$(x)"), "{}", bg.script);
        assert!(!bg.script.contains("\n$(x)"), "{}", bg.script);
        assert_eq!(bg.result["finished"], json!(false));
        assert!(bg.touches_everything);
        // `ansible_async_dir`: one quoted word wherever the files are named.
        let dir = AsyncDir::new(Some("/tmp/my jobs"));
        let bg = in_background(action, "j1.2", &dir).unwrap();
        assert!(
            bg.script.contains(": >'/tmp/my jobs'/j1.2.out"),
            "{}",
            bg.script
        );
        assert!(
            bg.script.contains("rprov-job '/tmp/my jobs'/j1.2 "),
            "{}",
            bg.script
        );
    }
}
