//! `cron` (`ansible.builtin.cron`): one job or one variable in a user's
//! crontab, or in a file under /etc/cron.d.
//!
//! No Python on the host: the crontab is read with `crontab -l` (or the
//! `cron_file` is read), the new text is computed here exactly as
//! ansible-core's `CronTab` class computes it (a job is found by the
//! `#Ansible: NAME` line before it; every other line is kept as it is), and
//! the change installs it with `crontab FILE` or writes the cron file
//! atomically. So a second run finds its own text and changes nothing.

use regex::Regex;
use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use super::change::read::split_status;
use super::change::{self, Change, Content, Read};
use super::files::{self, Attrs};
use super::mode::Mode;
use super::sysargs::both;
use super::typed::{choice, module_args};
use super::{Decision, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::FileState;

choice! {
    /// Whether the job or variable is there.
    pub enum State { Present = "present", Absent = "absent" }
}

choice! {
    /// `special_time`: the `@word` that replaces the five time fields.
    pub enum Special {
        Reboot = "reboot",
        Yearly = "yearly",
        Annually = "annually",
        Monthly = "monthly",
        Weekly = "weekly",
        Daily = "daily",
        Hourly = "hourly",
    }
}

module_args! {
    /// `cron`'s arguments, with ansible-core's aliases and defaults.
    pub struct Args {
        name: String ["name"],
        user: Option<String> ["user"],
        job: Option<String> ["job", "value"],
        cron_file: Option<String> ["cron_file"],
        state: State ["state"] = State::Present,
        backup: bool ["backup"] = false,
        minute: String ["minute"] = "*".into(),
        hour: String ["hour"] = "*".into(),
        day: String ["day", "dom"] = "*".into(),
        month: String ["month"] = "*".into(),
        weekday: String ["weekday", "dow"] = "*".into(),
        special_time: Option<Special> ["special_time"],
        disabled: bool ["disabled"] = false,
        env: bool ["env"] = false,
        insertafter: Option<String> ["insertafter"],
        insertbefore: Option<String> ["insertbefore"],
    }
}

/// What starts the line naming the job on the line after it.
const MARKER: &str = "#Ansible: ";

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let fail = |m: &str| Err(PlanError::Fail(m.to_string()));
    let present = args.state == State::Present;
    if args.insertafter.is_some() && args.insertbefore.is_some() {
        return fail("parameters are mutually exclusive: insertafter|insertbefore");
    }
    let mut warnings = Vec::new();
    let cron_file = match args.cron_file.as_deref() {
        Some("/etc/crontab") => {
            return fail("Will not manage /etc/crontab via cron_file, see documentation.")
        }
        Some(f) => {
            let base = f.rsplit('/').next().unwrap_or(f);
            if base.is_empty()
                || !base
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                warnings.push(format!(
                    "Filename portion of cron_file (\"{base}\") should consist solely of upper- \
                     and lower-case letters, digits, underscores, and hyphens"
                ));
            }
            Some(if f.starts_with('/') {
                f.to_string()
            } else {
                format!("/etc/cron.d/{f}")
            })
        }
        None => None,
    };
    let time_given = [
        &args.minute,
        &args.hour,
        &args.day,
        &args.month,
        &args.weekday,
    ]
    .iter()
    .any(|f| f.as_str() != "*");
    if args.special_time.is_some() && time_given {
        return fail(
            "You cannot combine special_time with any of the time or day/date parameters.",
        );
    }
    if present {
        if cron_file.is_some() && args.user.is_none() {
            return fail("To use cron_file=... parameter you must specify user=... as well");
        }
        if args.job.is_none() {
            return fail("You must specify 'job' to install a new cron job or variable");
        }
        if (args.insertafter.is_some() || args.insertbefore.is_some()) && !args.env {
            return fail("Insertafter and insertbefore parameters are valid only with env=yes");
        }
    }
    if args.env && args.name.contains(' ') {
        return fail("Invalid name for environment variable");
    }

    // What is there now.
    let (mut tab, existing) = match &cron_file {
        Some(path) => {
            let (st, content) = both(cx.file(path, false), cx.content(path))?;
            let text = content
                .map(|c| String::from_utf8_lossy(&c).into_owned())
                .unwrap_or_default();
            (CronTab::from_file(&text, args.user.clone()), Some(st))
        }
        None => {
            let answer = cx.ask_one(Read::Raw {
                script: read_script(args.user.as_deref()),
                why: "the user's crontab and `crontab -l`'s status (1 is no crontab), with \
                      `-u` only for another user than the login, as ansible-core runs it",
            })?;
            let (out, rc) = split_status(&answer);
            match rc {
                Some(0 | 1) => {}
                Some(127) => {
                    return Err(PlanError::Missing(
                        "Failed to find required executable \"crontab\" (is cron installed?)"
                            .into(),
                    ))
                }
                _ => return fail("Unable to read crontab"),
            }
            (CronTab::from_listing(&out, args.user.clone()), None)
        }
    };
    let before_text = tab.n_existing.clone();
    let backup_text = tab.render();

    let mut changed = false;
    if args.env {
        let job = args.job.clone().unwrap_or_default();
        let decl = format!("{}=\"{}\"", args.name, job);
        let old = tab.find_env(&args.name)?;
        if present {
            match old {
                None => {
                    tab.add_env(
                        decl,
                        args.insertafter.as_deref(),
                        args.insertbefore.as_deref(),
                    )?;
                    changed = true;
                }
                Some((_, line)) if line != decl => {
                    tab.update_env(&args.name, Some(&decl))?;
                    changed = true;
                }
                Some(_) => {}
            }
        } else if old.is_some() {
            tab.update_env(&args.name, None)?;
            changed = true;
        }
    } else if present {
        let raw = args.job.clone().unwrap_or_default();
        if raw.trim_matches(['\r', '\n']).contains(['\r', '\n']) {
            warnings.push("Job should not contain line breaks".into());
        }
        let time = [
            args.minute.as_str(),
            &args.hour,
            &args.day,
            &args.month,
            &args.weekday,
        ];
        let job = tab.cron_job(time, &raw, args.special_time, args.disabled);
        match tab.find_job(&args.name, Some(&job)) {
            Found::None => {
                tab.lines.push(comment(&args.name));
                tab.lines.push(job);
                changed = true;
            }
            Found::Marked(line) => {
                if line != job {
                    tab.update_job(&args.name, Some(&job));
                    changed = true;
                }
            }
            Found::Named => {
                tab.update_job(&args.name, Some(&job));
                changed = true;
            }
        }
    } else if tab.find_job(&args.name, None) != Found::None {
        tab.update_job(&args.name, None);
        changed = true;
        if let Some(path) = cron_file.as_ref().filter(|_| tab.is_empty()) {
            // The file held nothing else: it goes, as in ansible-core.
            let mut result = Map::new();
            result.insert("changed".into(), json!(true));
            result.insert("cron_file".into(), json!(args.cron_file));
            result.insert("state".into(), json!(args.state.as_str()));
            let mut action = change::action(vec![Change::Remove { path: path.clone() }], path)?;
            action.result = result;
            return Ok(Decision::Change {
                diffs: vec![Diff {
                    path: path.clone(),
                    before: Some(before_text),
                    after: Some(String::new()),
                    attrs: vec!["state: file → absent".into()],
                }],
                action,
            });
        }
    }
    // Nothing else to do, but the text lacks its final line break.
    if !changed && !tab.n_existing.is_empty() && !tab.n_existing.ends_with(['\r', '\n']) {
        changed = true;
    }

    let mut result = Map::new();
    result.insert("jobs".into(), json!(tab.job_names()));
    result.insert("envs".into(), json!(tab.env_names()));
    result.insert("changed".into(), json!(changed));
    if args.cron_file.is_some() {
        result.insert("cron_file".into(), json!(args.cron_file));
    }
    if !warnings.is_empty() {
        result.insert("warnings".into(), json!(warnings));
    }
    if !changed {
        return Ok(Decision::Ok { result, msg: None });
    }
    let after = tab.render();
    let header = match (&cron_file, &args.user) {
        (Some(path), _) => path.clone(),
        (None, Some(u)) => format!("crontab for user \"{u}\""),
        (None, None) => "crontab".into(),
    };
    let backup = args.backup.then_some(backup_text.as_bytes());
    let mut action = match (&cron_file, existing) {
        (Some(path), Some(st)) => write_file(path, &st, after.as_bytes(), backup, result)?,
        _ => install(args.user.as_deref(), after.as_bytes(), backup, result)?,
    };
    if args.backup {
        action.output = OutputMode::Parse(files::parse_backup);
    }
    Ok(Decision::Change {
        diffs: vec![Diff {
            path: header,
            before: Some(before_text),
            after: Some(after),
            attrs: Vec::new(),
        }],
        action,
    })
}

/// `crontab -l` of the user (of the login when none is named), then its
/// status on a line of its own ([`split_status`]); 127 when there is no
/// `crontab` at all.
fn read_script(user: Option<&str>) -> String {
    let list = match user {
        Some(u) => {
            let q = quote(u);
            format!("if [ \"$(id -un)\" = {q} ]; then crontab -l; else crontab -u {q} -l; fi")
        }
        None => "crontab -l".into(),
    };
    format!(
        "if ! command -v crontab >/dev/null; then echo; echo '@rc 127'; exit 0; fi\n\
         {list} 2>/dev/null; _rp_rc=$?; echo; echo \"@rc $_rp_rc\""
    )
}

/// Shell that saves the crontab as it was read (the first `len` bytes of
/// stdin) to a new `/tmp/crontab…` file and prints its name, as
/// ansible-core's `backup` leaves it.
fn backup_script(old: &[u8]) -> String {
    format!(
        "_rp_b=$(mktemp -t crontabXXXXXXXX)\n\
         head -c {len} > \"$_rp_b\"\n\
         [ \"$(wc -c < \"$_rp_b\")\" -eq {len} ] || {{ echo 'rprov: the backup of the crontab arrived short' >&2; exit 5; }}\n\
         printf '%s\\n' \"$_rp_b\"\n",
        len = old.len()
    )
}

/// The action that installs `text` as the user's crontab: saved to a temp
/// file first and checked to be exactly what was sent (a cut connection must
/// not install half a crontab), then given to `crontab`.
fn install(
    user: Option<&str>,
    text: &[u8],
    backup: Option<&[u8]>,
    result: Map<String, Json>,
) -> Result<super::Action, PlanError> {
    let sum = hex::encode(Sha256::digest(text));
    let load = match user {
        Some(u) => {
            let q = quote(u);
            format!(
                "if [ \"$(id -un)\" = {q} ]; then crontab \"$_rp_t\"; else crontab -u {q} \"$_rp_t\"; fi"
            )
        }
        None => "crontab \"$_rp_t\"".into(),
    };
    let mut changes = Vec::new();
    let mut stdin = Vec::new();
    if let Some(old) = backup {
        changes.push(Change::Raw {
            script: backup_script(old),
            why: "ansible-core's backup: a new temp file named on the host, its name printed",
        });
        stdin.extend_from_slice(old);
    }
    changes.push(Change::Raw {
        script: format!(
            "_rp_t=$(mktemp)\n\
             trap 'rm -f \"$_rp_t\"' EXIT\n\
             head -c {len} > \"$_rp_t\"\n\
             if [ \"$(wc -c < \"$_rp_t\")\" -ne {len} ] || [ \"$(sha256sum < \"$_rp_t\")\" != '{sum}  -' ]; then \
             echo 'rprov: the crontab arrived short or altered (the connection was cut?); it is unchanged' >&2; exit 5; fi\n\
             {load}\n",
            len = text.len()
        ),
        why: "`crontab FILE` of a temp file checked to hold what was sent (with `-u` only \
              for another user than the login): no typed change installs a crontab",
    });
    stdin.extend_from_slice(text);
    let mut action = change::checked(changes, result)?;
    action.stdin = Some(stdin);
    Ok(action)
}

/// The action that writes the cron file (atomically; a new one 0644, as
/// ansible-core's umask 022 leaves it).
fn write_file(
    path: &str,
    existing: &FileState,
    text: &[u8],
    backup: Option<&[u8]>,
    result: Map<String, Json>,
) -> Result<super::Action, PlanError> {
    let mut changes = Vec::new();
    let mut stdin = Vec::new();
    if let Some(old) = backup {
        changes.push(Change::Raw {
            script: backup_script(old),
            why: "ansible-core's backup: a new temp file named on the host, its name printed",
        });
        stdin.extend_from_slice(old);
    }
    let attrs = Attrs {
        mode: (!existing.exists()).then_some(Mode::Octal(0o644)),
        ..Attrs::default()
    };
    changes.push(Change::Write {
        dest: path.to_string(),
        attrs,
        existing: existing.clone(),
        validate: None,
        backup: false,
        content: Content::Bytes(text.to_vec()),
    });
    stdin.extend_from_slice(text);
    let mut action = change::action(changes, path)?;
    action.result = result;
    action.stdin = Some(stdin);
    Ok(action)
}

/// `#Ansible: NAME`.
fn comment(name: &str) -> String {
    format!("{MARKER}{name}")
}

/// What [`CronTab::find_job`] found.
#[derive(Debug, PartialEq)]
enum Found {
    None,
    /// The line after the job's `#Ansible:` line.
    Marked(String),
    /// The job's exact line, which had no name (or `None`) and has one now:
    /// rewritten even though the line is the same.
    Named,
}

/// ansible-core's `CronTab`: the lines of a crontab, changed as it changes
/// them, rendered as it renders them.
struct CronTab {
    lines: Vec<String>,
    /// The text as read (for a user's crontab, without the header lines an
    /// old `crontab -l` prints): the diff's `before`.
    n_existing: String,
    user: Option<String>,
    /// Lines carry the user (a file under /etc/cron.d).
    in_file: bool,
}

impl CronTab {
    fn from_file(text: &str, user: Option<String>) -> Self {
        CronTab {
            lines: rprov_template::filters::py_splitlines(text),
            n_existing: text.to_string(),
            user,
            in_file: true,
        }
    }

    /// The text `crontab -l` printed, without the three header lines some
    /// crontabs print first (`# DO NOT EDIT THIS FILE …`).
    fn from_listing(out: &str, user: Option<String>) -> Self {
        let mut n_existing = out.to_string();
        let mut lines = Vec::new();
        for (count, l) in rprov_template::filters::py_splitlines(out)
            .into_iter()
            .enumerate()
        {
            if count > 2 || !is_header(&l) {
                lines.push(l);
            } else if let Some(at) = n_existing.find(&l) {
                let mut end = at + l.len();
                if n_existing[end..].starts_with(['\r', '\n']) {
                    end += 1;
                }
                n_existing.replace_range(at..end, "");
            }
        }
        CronTab {
            lines,
            n_existing,
            user,
            in_file: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    fn render(&self) -> String {
        let joined = self.lines.join("\n");
        if joined.is_empty() {
            joined
        } else {
            format!("{}\n", joined.trim_end_matches(['\r', '\n']))
        }
    }

    /// The job's line: the five fields (or `@special`), the user in a cron
    /// file, the command; `#` first when disabled.
    fn cron_job(
        &self,
        time: [&str; 5],
        job: &str,
        special: Option<Special>,
        disabled: bool,
    ) -> String {
        let job = job.trim_matches(['\r', '\n']);
        let prefix = if disabled { "#" } else { "" };
        let when = match special {
            Some(s) => format!("@{}", s.as_str()),
            None => time.join(" "),
        };
        match (&self.user, self.in_file) {
            (Some(u), true) => format!("{prefix}{when} {u} {job}"),
            // ansible-core prints Python's `None` for a file without a user
            // (only reached with `state: absent`, which writes no job).
            (None, true) => format!("{prefix}{when} None {job}"),
            _ => format!("{prefix}{when} {job}"),
        }
    }

    /// The job named `name`: the line after its `#Ansible:` line; else, with
    /// `job`, that exact line, given its `#Ansible:` line here when it has
    /// none (or names `None`).
    fn find_job(&mut self, name: &str, job: Option<&str>) -> Found {
        let mut current: Option<String> = None;
        for l in &self.lines {
            match current.take() {
                Some(c) if c == name => return Found::Marked(l.clone()),
                Some(_) => {}
                None if l.starts_with(MARKER) => current = Some(l.replace(MARKER, "")),
                None => {}
            }
        }
        let Some(job) = job else {
            return Found::None;
        };
        for i in 0..self.lines.len() {
            if self.lines[i] != job {
                continue;
            }
            // Python's `lines[i - 1]`: the last line, for the first.
            let prev = if i == 0 { self.lines.len() - 1 } else { i - 1 };
            if !self.lines[prev].starts_with(MARKER) {
                self.lines.insert(i, comment(name));
                return Found::Named;
            }
            if !name.is_empty() && self.lines[prev] == comment("None") {
                self.lines[prev] = comment(name);
                return Found::Named;
            }
        }
        Found::None
    }

    /// Every job named `name` replaced by `job` (kept with its `#Ansible:`
    /// line), or removed with it when `None`.
    fn update_job(&mut self, name: &str, job: Option<&str>) {
        let marker = comment(name);
        let mut out = Vec::with_capacity(self.lines.len() + 1);
        let mut pending: Option<String> = None;
        for l in self.lines.drain(..) {
            if let Some(c) = pending.take() {
                if let Some(j) = job {
                    out.push(c);
                    out.push(j.to_string());
                }
            } else if l == marker {
                pending = Some(l);
            } else {
                out.push(l);
            }
        }
        self.lines = out;
    }

    /// The index and line of the first `NAME=…` line (the name read as a
    /// regular expression, as ansible-core does).
    fn find_env(&self, name: &str) -> Result<Option<(usize, String)>, PlanError> {
        let re = env_re(name)?;
        Ok(self
            .lines
            .iter()
            .enumerate()
            .find(|(_, l)| re.is_match(l))
            .map(|(i, l)| (i, l.clone())))
    }

    /// The declaration first in the crontab, or after (before) the one named.
    fn add_env(
        &mut self,
        decl: String,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<(), PlanError> {
        let Some(other) = after.or(before) else {
            self.lines.insert(0, decl);
            return Ok(());
        };
        match self.find_env(other)? {
            Some((i, _)) => {
                let at = if after.is_some() { i + 1 } else { i };
                self.lines.insert(at, decl);
                Ok(())
            }
            None => Err(PlanError::Fail(format!(
                "Variable named '{other}' not found."
            ))),
        }
    }

    /// Every `NAME=…` line replaced by `decl`, or removed when `None`.
    fn update_env(&mut self, name: &str, decl: Option<&str>) -> Result<(), PlanError> {
        let re = env_re(name)?;
        let lines = std::mem::take(&mut self.lines);
        self.lines = lines
            .into_iter()
            .filter_map(|l| match (re.is_match(&l), decl) {
                (false, _) => Some(l),
                (true, Some(d)) => Some(d.to_string()),
                (true, None) => None,
            })
            .collect();
        Ok(())
    }

    /// The names on the `#Ansible:` lines.
    fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.starts_with(MARKER))
            .map(|l| l.replace(MARKER, ""))
            .collect()
    }

    /// The names of the lines that start `WORD=` (`\S+=`, as ansible-core
    /// matches them: a commented `#X=1` counts as `#X`).
    fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| {
                let word = l.split(char::is_whitespace).next().unwrap_or("");
                word.find('=').is_some_and(|i| i > 0)
            })
            .map(|l| l.split('=').next().unwrap_or("").to_string())
            .collect()
    }
}

/// `^NAME=`, the name as a regular expression (ansible-core does not
/// escape it).
fn env_re(name: &str) -> Result<Regex, PlanError> {
    Regex::new(&format!("^{name}="))
        .map_err(|e| PlanError::Fail(format!("cron: `{name}` as a variable name: {e}")))
}

/// The header lines an old `crontab -l` prints first (ansible-core's three
/// patterns, matched at the start of the line).
fn is_header(l: &str) -> bool {
    const EDIT: &str = "# DO NOT EDIT THIS FILE - edit the master and reinstall";
    let closes_after = |s: &str, word: &str| {
        s.find(word)
            .is_some_and(|i| s[i + word.len()..].contains(')'))
    };
    l.strip_prefix(EDIT).is_some_and(|r| !r.is_empty())
        || l.strip_prefix("# (/tmp/")
            .is_some_and(|r| closes_after(r, "installed on"))
        || l.strip_prefix("# (")
            .is_some_and(|r| closes_after(r, "version"))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::super::change::Change;
    use super::super::testing::{self, after, changes, fail_msg, run_sh};
    use super::super::{Decision, PlanError};
    use crate::probe::{Fact, FileState, Probe};

    /// Plans `args` against a user's crontab that `crontab -l` lists as
    /// `listing` with status `rc`.
    fn on_crontab(args: Json, listing: &str, rc: i32) -> Result<Decision, PlanError> {
        let answer = format!("{listing}\n@rc {rc}\n");
        testing::run("cron", args, move |p| match p {
            Probe::Shell { .. } => Some(Fact::Text(answer.clone())),
            _ => None,
        })
    }

    /// Plans `args` against a cron file holding `content` (None: missing).
    fn on_file(args: Json, content: Option<&str>) -> Result<Decision, PlanError> {
        let content = content.map(str::to_string);
        testing::run("cron", args, move |p| match p {
            Probe::File { .. } => Some(Fact::File(match &content {
                Some(c) => testing::file(c.as_bytes(), "644", "root"),
                None => FileState::missing(),
            })),
            Probe::Content { .. } => Some(Fact::Content(content.clone().map(String::into_bytes))),
            _ => None,
        })
    }

    fn result(d: &Decision) -> &serde_json::Map<String, Json> {
        match d {
            Decision::Ok { result, .. } => result,
            Decision::Change { action, .. } => &action.result,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn before(d: &Decision) -> String {
        match d {
            Decision::Change { diffs, .. } => diffs[0].before.clone().unwrap_or_default(),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn is_ok(d: &Decision) -> bool {
        matches!(d, Decision::Ok { .. })
    }

    const JOB: &str = "date > /tmp/cron_canary1";

    /// The integration target's first steps: added once, then found.
    #[test]
    fn adds_a_job_then_finds_it() {
        let args = json!({"name": "test cron task", "job": JOB});
        let d = on_crontab(args.clone(), "", 1).unwrap();
        let want = format!("#Ansible: test cron task\n* * * * * {JOB}\n");
        assert_eq!(after(&d), want);
        assert_eq!(before(&d), "");
        let Decision::Change { diffs, action } = &d else {
            unreachable!()
        };
        assert_eq!(diffs[0].path, "crontab");
        assert_eq!(action.stdin.as_deref(), Some(want.as_bytes()));
        assert!(
            action.script.contains("crontab \"$_rp_t\""),
            "{}",
            action.script
        );
        assert_eq!(action.result["jobs"], json!(["test cron task"]));
        assert_eq!(action.result["envs"], json!([]));
        let again = on_crontab(args, want.trim_end_matches('\n'), 0).unwrap();
        assert!(
            !is_ok(&again),
            "a crontab without its final line break is rewritten"
        );
        let again = on_crontab(json!({"name": "test cron task", "job": JOB}), &want, 0).unwrap();
        assert!(is_ok(&again), "{again:?}");
        assert_eq!(result(&again)["changed"], json!(false));
        assert_eq!(result(&again)["jobs"], json!(["test cron task"]));
    }

    /// The listing's own final line break and the marker protocol: the
    /// answer carries stdout as printed.
    #[test]
    fn a_changed_job_is_replaced_and_the_rest_kept() {
        let old = "MAILTO=\"\"\n# my own comment\n0 1 * * * /bin/mine\n#Ansible: backup\n0 3 * * * /bin/backup\n\n# tail\n";
        let d = on_crontab(
            json!({"name": "backup", "job": "/bin/backup --all", "hour": "4", "minute": "30", "user": "alice"}),
            old,
            0,
        )
        .unwrap();
        assert_eq!(
            after(&d),
            "MAILTO=\"\"\n# my own comment\n0 1 * * * /bin/mine\n#Ansible: backup\n30 4 * * * /bin/backup --all\n\n# tail\n"
        );
        let Decision::Change { diffs, action } = &d else {
            unreachable!()
        };
        assert_eq!(diffs[0].path, "crontab for user \"alice\"");
        assert!(action.script.contains("crontab -u alice \"$_rp_t\""));
        assert_eq!(action.result["envs"], json!(["MAILTO"]));
    }

    #[test]
    fn absent_removes_the_job_and_its_marker() {
        let old = "#Ansible: a\n* * * * * a\n#Ansible: b\n* * * * * b\n";
        let d = on_crontab(json!({"name": "a", "state": "absent"}), old, 0).unwrap();
        assert_eq!(after(&d), "#Ansible: b\n* * * * * b\n");
        assert_eq!(result(&d)["jobs"], json!(["b"]));
        let d = on_crontab(json!({"name": "zzz", "state": "absent"}), old, 0).unwrap();
        assert!(is_ok(&d));
        // No crontab at all: nothing to remove.
        let d = on_crontab(json!({"name": "a", "state": "absent", "job": JOB}), "", 1).unwrap();
        assert!(is_ok(&d));
    }

    #[test]
    fn special_time_and_disabled() {
        let d = on_crontab(
            json!({"name": "n", "job": "/bin/x", "special_time": "daily", "disabled": true}),
            "",
            1,
        )
        .unwrap();
        assert_eq!(after(&d), "#Ansible: n\n#@daily /bin/x\n");
        let msg = fail_msg(on_crontab(
            json!({"name": "n", "job": "x", "special_time": "reboot", "hour": "1"}),
            "",
            1,
        ));
        assert_eq!(
            msg,
            "You cannot combine special_time with any of the time or day/date parameters."
        );
    }

    #[test]
    fn env_variables() {
        let old = "#Ansible: j\n* * * * * j\n";
        let add = |args: Json, old: &str| after(&on_crontab(args, old, 0).unwrap());
        // First in the crontab, quoted.
        assert_eq!(
            add(json!({"name": "PATH", "env": true, "job": "/bin"}), old),
            "PATH=\"/bin\"\n#Ansible: j\n* * * * * j\n"
        );
        let with = "A=\"1\"\nB=\"2\"\n#Ansible: j\n* * * * * j\n";
        assert_eq!(
            add(
                json!({"name": "C", "env": true, "value": "3", "insertafter": "A"}),
                with
            ),
            "A=\"1\"\nC=\"3\"\nB=\"2\"\n#Ansible: j\n* * * * * j\n"
        );
        assert_eq!(
            add(
                json!({"name": "C", "env": true, "value": "3", "insertbefore": "B"}),
                with
            ),
            "A=\"1\"\nC=\"3\"\nB=\"2\"\n#Ansible: j\n* * * * * j\n"
        );
        // Changed in place; the same value changes nothing.
        assert_eq!(
            add(json!({"name": "B", "env": true, "value": "9"}), with),
            "A=\"1\"\nB=\"9\"\n#Ansible: j\n* * * * * j\n"
        );
        let same = on_crontab(json!({"name": "B", "env": true, "value": "2"}), with, 0).unwrap();
        assert!(is_ok(&same));
        assert_eq!(result(&same)["envs"], json!(["A", "B"]));
        // Removed.
        assert_eq!(
            add(json!({"name": "A", "env": true, "state": "absent"}), with),
            "B=\"2\"\n#Ansible: j\n* * * * * j\n"
        );
        let msg = fail_msg(on_crontab(
            json!({"name": "C", "env": true, "value": "3", "insertafter": "Z"}),
            with,
            0,
        ));
        assert_eq!(msg, "Variable named 'Z' not found.");
        let msg = fail_msg(on_crontab(
            json!({"name": "C", "job": "x", "insertafter": "A"}),
            with,
            0,
        ));
        assert_eq!(
            msg,
            "Insertafter and insertbefore parameters are valid only with env=yes"
        );
        let msg = fail_msg(on_crontab(
            json!({"name": "A B", "env": true, "job": "x"}),
            with,
            0,
        ));
        assert_eq!(msg, "Invalid name for environment variable");
    }

    /// A job line already there without a name gets its `#Ansible:` line
    /// (ansible-core reports that as a change).
    #[test]
    fn an_unnamed_job_is_adopted() {
        let old = "# mine\n* * * * * /bin/x\n";
        let d = on_crontab(json!({"name": "x", "job": "/bin/x"}), old, 0).unwrap();
        assert_eq!(after(&d), "# mine\n#Ansible: x\n* * * * * /bin/x\n");
        let old = "#Ansible: None\n* * * * * /bin/x\n";
        let d = on_crontab(json!({"name": "x", "job": "/bin/x"}), old, 0).unwrap();
        assert_eq!(after(&d), "#Ansible: x\n* * * * * /bin/x\n");
    }

    /// An old `crontab -l`'s header is not part of the crontab.
    #[test]
    fn header_lines_are_dropped() {
        let old = "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n\
                   # (/tmp/crontab.X installed on Mon Jan  1 00:00:00 2024)\n\
                   # (Cron version -- $Id: crontab.c,v 2.13 1994/01/17 03:20:37 vixie Exp $)\n\
                   #Ansible: j\n* * * * * j\n";
        let d = on_crontab(json!({"name": "j", "job": "j"}), old, 0).unwrap();
        assert!(is_ok(&d), "{d:?}");
    }

    #[test]
    fn reading_the_crontab_can_fail() {
        let msg = fail_msg(on_crontab(json!({"name": "j", "job": "j"}), "", 2));
        assert_eq!(msg, "Unable to read crontab");
        let r = on_crontab(json!({"name": "j", "job": "j"}), "", 127);
        assert!(matches!(r, Err(PlanError::Missing(_))), "{r:?}");
        let msg = fail_msg(on_crontab(json!({"name": "j"}), "", 1));
        assert_eq!(
            msg,
            "You must specify 'job' to install a new cron job or variable"
        );
    }

    #[test]
    fn backup_saves_the_old_crontab_first() {
        let old = "#Ansible: j\n* * * * * j\n";
        let d = on_crontab(json!({"name": "k", "job": "k", "backup": true}), old, 0).unwrap();
        let Decision::Change { action, .. } = &d else {
            unreachable!()
        };
        let new = format!("{old}#Ansible: k\n* * * * * k\n");
        assert_eq!(
            action.stdin.as_deref(),
            Some(format!("{old}{new}").as_bytes())
        );
        assert!(matches!(action.output, super::OutputMode::Parse(_)));
        assert!(action.script.contains("mktemp -t crontabXXXXXXXX"));
    }

    /// A cron file: the user on each line, a new file 0644, written by the
    /// atomic write; run here for real in a temp dir.
    #[test]
    fn cron_file_is_written_with_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cron_filename");
        let p = path.to_str().unwrap();
        let d = on_file(
            json!({"name": "simple cron job", "job": "echo \"_o/\"", "user": "root", "cron_file": p}),
            None,
        )
        .unwrap();
        let want = "#Ansible: simple cron job\n* * * * * root echo \"_o/\"\n";
        assert_eq!(after(&d), want);
        let Change::Write { attrs, .. } = &changes(&d)[0] else {
            panic!("{:?}", changes(&d))
        };
        assert_eq!(attrs.mode, Some(super::Mode::Octal(0o644)));
        assert_eq!(result(&d)["cron_file"], json!(p));
        let Decision::Change { action, .. } = &d else {
            unreachable!()
        };
        let out = run_sh(&action.script, action.stdin.as_deref().unwrap_or_default());
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        // #71207: a variable added keeps the job.
        let d = on_file(
            json!({"name": "FOO", "env": true, "value": "bar", "user": "root", "cron_file": p}),
            Some(want),
        )
        .unwrap();
        assert_eq!(after(&d), format!("FOO=\"bar\"\n{want}"));
        // Special time in a file.
        let d = on_file(
            json!({"name": "s", "job": "ls", "user": "root", "cron_file": p, "special_time": "hourly"}),
            None,
        )
        .unwrap();
        assert_eq!(after(&d), "#Ansible: s\n@hourly root ls\n");
    }

    /// Removing the last job removes the file (#57471), whitespace left or
    /// not; absent from a missing file, without `user`, is no change (#58493).
    #[test]
    fn cron_file_removal() {
        let args = json!({"name": "integration test cron", "cron_file": "cron_remove_name", "state": "absent"});
        let file = "#Ansible: integration test cron\n* * * * * root ls\n";
        let d = on_file(args.clone(), Some(file)).unwrap();
        assert_eq!(
            changes(&d),
            &[Change::Remove {
                path: "/etc/cron.d/cron_remove_name".into()
            }]
        );
        assert_eq!(result(&d)["state"], json!("absent"));
        let d = on_file(args.clone(), Some(&format!("{file}\n    \n\t\n"))).unwrap();
        assert!(matches!(changes(&d)[0], Change::Remove { .. }));
        let d = on_file(args.clone(), None).unwrap();
        assert!(is_ok(&d));
        assert_eq!(result(&d)["changed"], json!(false));
        // Another job stays, so the file does too.
        let d = on_file(
            args,
            Some(&format!("{file}#Ansible: other\n* * * * * root true\n")),
        )
        .unwrap();
        assert_eq!(after(&d), "#Ansible: other\n* * * * * root true\n");
    }

    #[test]
    fn cron_file_refusals() {
        let msg = fail_msg(on_file(
            json!({"name": "n", "job": "ls", "user": "root", "cron_file": "/etc/crontab"}),
            None,
        ));
        assert_eq!(
            msg,
            "Will not manage /etc/crontab via cron_file, see documentation."
        );
        let msg = fail_msg(on_file(
            json!({"name": "n", "job": "ls", "cron_file": "x"}),
            None,
        ));
        assert_eq!(
            msg,
            "To use cron_file=... parameter you must specify user=... as well"
        );
        // A file name cron skips is a warning, not a failure.
        let d = on_file(
            json!({"name": "n", "job": "ls", "user": "root", "cron_file": "a.b"}),
            None,
        )
        .unwrap();
        assert_eq!(result(&d)["warnings"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn python_line_semantics() {
        assert_eq!(
            rprov_template::filters::py_splitlines("a\r\nb\rc\n\nd"),
            ["a", "b", "c", "", "d"]
        );
        assert_eq!(
            rprov_template::filters::py_splitlines(""),
            Vec::<String>::new()
        );
        let tab = super::CronTab::from_file("#X=1\nA=2 3\n* * * * * a=b\n=x\n", None);
        assert_eq!(tab.env_names(), ["#X", "A"]);
    }
}
