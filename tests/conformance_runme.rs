//! Issue 12, second half: ansible-core's `runme.sh` integration targets, run
//! unchanged with rprov standing in for `ansible-playbook`,
//! `ansible-inventory` and `ansible` (ad hoc).
//!
//! Every target of the pinned sdist (tests/support/ansible-targets.sh, the
//! same cache as tests/conformance.rs) that has a `runme.sh` is classified
//! from its files (`conformance_runme/classify.rs`): out of scope, with the
//! line or alias that says why, or a plain `ansible-playbook` target. Each
//! plain target is run as `ansible-test integration` runs a script target:
//! in a scratch copy of the targets tree (the cache is never written), cwd
//! the target's folder, `../../inventory` holding `testhost` with a local
//! connection, `OUTPUT_DIR` and `INVENTORY_PATH` set, ansible-test's
//! `ANSIBLE_*` settings, and a timeout. It runs first with the venv's
//! ansible-playbook (the verdict is cached, keyed by the target's content,
//! the ansible-core version and this runner's revision), then, if that
//! passed, with only an `ansible-playbook`, an `ansible-inventory` and an
//! `ansible` that are rprov on PATH.
//!
//! For the rprov run the venv is NOT on PATH: a script that also calls
//! `ansible-config` or python's tools fails there honestly rather than borrowing
//! Ansible's. (Such scripts are out of scope anyway when the call is found
//! statically.) rprov's Ansible fallback runs only the Python modules and
//! plugins the target ships (`--ansible-fallback custom`), as in the
//! file-level suite's second run: everything of Ansible's own is rprov's.
//!
//! The verdicts must equal `tests/conformance/expected-runme.yml`;
//! `RPROV_CONFORMANCE_BLESS=1` rewrites it and `docs/conformance-runme.md`.
//! The page's table is checked against what was seen on every run; its
//! excerpts of rprov's output are refreshed only when blessing.

mod common;

#[path = "conformance_runme/classify.rs"]
mod classify;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The ansible-core version of the sdist and the venv.
const VERSION: &str = "2.19.14";

/// Bump when what a target sees or how its verdict is read changes: cached
/// ansible-core verdicts of other revisions are then not used.
const RUNNER_REVISION: u32 = 2;

/// Seconds one `runme.sh` may take under rprov before it counts as failed.
const TIMEOUT_SECS: u64 = 120;

/// The same under ansible-playbook, which needs minutes for the larger
/// targets when these 2-core machines are busy; its verdict is cached, so
/// this is paid once per machine.
const ANSIBLE_TIMEOUT_SECS: u64 = 300;

/// The Python of `testhost`. ansible-test gives its controller's; the venv's
/// is under /root, which a target that becomes an unprivileged user
/// (`remote_tmp`) cannot run, so the system's (rprov needs none).
const TARGET_PYTHON: &str = "/usr/bin/python3";

/// Targets run at once. Each gets its own copy of the targets tree and
/// output dir; two cores here, and ansible-playbook is CPU-bound.
const JOBS: usize = 3;

/// What ansible-test's `ansible_environment` and `integration_environment`
/// put in the environment of a script target, minus coverage, junit and
/// Python paths. Given to both tools.
const ANSIBLE_TEST_ENV: &[(&str, &str)] = &[
    ("ANSIBLE_FORCE_COLOR", "false"),
    ("ANSIBLE_NOCOLOR", "1"),
    ("ANSIBLE_FORCE_HANDLERS", "true"),
    ("ANSIBLE_HOST_PATTERN_MISMATCH", "error"),
    ("ANSIBLE_INVENTORY", "/dev/null"),
    ("ANSIBLE_DEPRECATION_WARNINGS", "false"),
    ("ANSIBLE_HOST_KEY_CHECKING", "false"),
    ("ANSIBLE_RETRY_FILES_ENABLED", "false"),
    ("ANSIBLE_LIBRARY", "/dev/null"),
    ("ANSIBLE_DEVEL_WARNING", "false"),
    ("ANSIBLE_TEST_CI", ""),
    ("ANSIBLE_TEST_COVERAGE", ""),
    ("ANSIBLE_TEST_ANSIBLE_VERSION", VERSION),
    ("PAGER", "/bin/cat"),
    ("NO_COLOR", "1"),
];

/// Why rprov fails each runme.sh target it fails, written by hand from its
/// output: a *known difference* is rprov differing from ansible-core on
/// purpose (or where it cannot follow), *not yet* is work left. The test
/// asserts that exactly the failing targets are listed, so no failure goes
/// unexplained and no explanation outlives its failure.
const WHY_RPROV_FAILS: &[(&str, &str)] = &[
    (
        "include_import",
        "not yet: every step before `run_once/playbook.yml` passes (templated imports, \
         handler addressing, `allow_duplicates`, …); there an `include_tasks` with `run_once` \
         runs on the first host of the play under ansible-core and on the first host to reach \
         it under rprov, so another host gets the included `set_fact`. Steps after it also \
         differ: an included file that does not parse stops the whole run under ansible-core, \
         while rprov fails the host and a `rescue` takes it, and two steps grep ansible-core's \
         words for an include without a file and for a missing nested import",
    ),
    (
        "include_vars",
        "known difference: asserts ansible-core 2.19's internal trust tag \
         (`ansible._protomatter.tagged_with(\"TrustedAsTemplate\")`, a test plugin of its \
         private collection); rprov has no trust tags (every task before it passes)",
    ),
    (
        "lookup_env",
        "known difference: asserts where a value came from through ansible-core 2.19's \
         private `ansible._protomatter.origin` filter; rprov keeps no origin on values",
    ),
    (
        "remote_tmp",
        "known difference: counts the `AnsiballZ_*.py` files ansible-core's Python modules \
         leave in `ansible_remote_tmp`; rprov runs no Python module on the host and writes none",
    ),
    (
        "set_fact",
        "known difference: asserts ansible-core 2.19's internal trust tag \
         (`ansible._protomatter.tagged_with(\"TrustedAsTemplate\")`) of a fact; rprov has no \
         trust tags",
    ),
    (
        "templating_lookup_args",
        "known difference: hands undefined values to the target's own Python lookups and \
         asserts on how ansible-core 2.19 passes them (its `Marker` objects to a lookup that \
         sets `accept_args_markers`, an undefined result from one that does not); rprov \
         renders a lookup's arguments before calling it, so the undefined value fails the \
         template, as the same lookup in `assert` does",
    ),
    (
        "var_templating",
        "known difference: its last step greps `-vvvv` output for ansible-core's sudo command \
         line (`sudo -H -S`); rprov runs sudo as `sudo -n -H -u USER --` (it never types a \
         password on sudo's stdin) and shows the remote command, not its become wrapper (the \
         steps before it pass)",
    ),
];

/// [`WHY_RPROV_FAILS`]' reason for `target`.
fn why_rprov_fails(target: &str) -> Option<&'static str> {
    WHY_RPROV_FAILS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, why)| *why)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The expected verdict of one target, as `expected-runme.yml` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_of_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ansible: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rprov: Option<Verdict>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    fn of(passed: bool) -> Self {
        if passed {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One run of a target's `runme.sh`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Run {
    passed: bool,
    /// The exit code, or -1 when killed.
    code: i32,
    timed_out: bool,
    secs: f64,
    /// The last lines of the combined output, paths made stable.
    tail: String,
}

/// The targets folder and the tools, shared by all runs.
struct Bench {
    targets: PathBuf,
    venv_bin: PathBuf,
    /// The venv's Python, importing ansible-core: rprov's Ansible fallback,
    /// limited to the target's own Python plugins.
    venv_python: PathBuf,
    /// A folder holding only `ansible-playbook`, `ansible-inventory` and `ansible`, which are rprov.
    shim_bin: PathBuf,
    cache: Option<PathBuf>,
    rerun_ansible: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Ansible,
    Rprov,
}

impl Bench {
    /// Runs `target`'s runme.sh with `tool` as ansible-playbook.
    fn run(&self, tool: Tool, target: &str) -> Run {
        let scratch = tempfile::Builder::new()
            .prefix(&format!("rprov-runme-{target}-"))
            .tempdir()
            .expect("temp dir");
        let integration = scratch.path().join("test/integration");
        let targets = integration.join("targets");
        std::fs::create_dir_all(&integration).expect("mkdir test/integration");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&self.targets)
            .arg(&targets)
            .status()
            .expect("run cp");
        assert!(
            copied.success(),
            "could not copy {}",
            self.targets.display()
        );
        let inventory = integration.join("inventory");
        std::fs::write(
            &inventory,
            format!(
                "[testgroup]\ntesthost ansible_connection=local ansible_pipelining=yes \
                 ansible_python_interpreter={TARGET_PYTHON}\n"
            ),
        )
        .expect("write inventory");
        let config = integration.join("integration.cfg");
        std::fs::write(&config, "").expect("write integration.cfg");
        let output_dir = scratch.path().join("output_dir");
        std::fs::create_dir(&output_dir).expect("mkdir output_dir");
        let log_path = scratch.path().join("log");
        let log = std::fs::File::create(&log_path).expect("create log");
        let cwd = targets.join(target);

        let system_path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let path = match tool {
            Tool::Ansible => format!("{}:{system_path}", self.venv_bin.display()),
            Tool::Rprov => format!("{}:{system_path}", self.shim_bin.display()),
        };
        let timeout = match tool {
            Tool::Ansible => ANSIBLE_TIMEOUT_SECS,
            Tool::Rprov => TIMEOUT_SECS,
        };
        let mut cmd = Command::new("timeout");
        cmd.args(["--kill-after=10", &timeout.to_string(), "./runme.sh"])
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        for (k, _) in std::env::vars_os() {
            let k_str = k.to_string_lossy();
            if k_str.starts_with("ANSIBLE_") || k_str.starts_with("RPROV_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(ANSIBLE_TEST_ENV.iter().copied())
            .env("PATH", path)
            .env("ANSIBLE_CONFIG", &config)
            .env("ANSIBLE_PLAYBOOK_DIR", &cwd)
            .env("OUTPUT_DIR", &output_dir)
            .env("INVENTORY_PATH", &inventory)
            .env("ANSIBLE_LOCAL_TEMP", scratch.path().join("tmp"))
            // ansible-core runs the Python modules and plugins the target
            // ships, and nothing else of Ansible's.
            .env("RPROV_ANSIBLE_PYTHON", &self.venv_python)
            .env("RPROV_ANSIBLE_FALLBACK", "custom");
        let started = Instant::now();
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("running {target}/runme.sh: {e}"));
        let secs = started.elapsed().as_secs_f64();
        let out = String::from_utf8_lossy(&std::fs::read(&log_path).unwrap_or_default())
            .replace(&cwd.display().to_string(), "$TARGET")
            .replace(&scratch.path().display().to_string(), "$SCRATCH");
        let code = status.code().unwrap_or(-1);
        let timed_out = code == 124 || code == 137 || code == -1;
        let tail = excerpt(&out);
        Run {
            passed: status.success(),
            code,
            timed_out,
            secs,
            tail,
        }
    }

    /// ansible-core's verdict on `target`, from the cache when this
    /// version, runner revision and target content have been run before.
    fn ansible(&self, target: &str) -> Run {
        let Some(cache) = &self.cache else {
            return self.run(Tool::Ansible, target);
        };
        let file = cache.join(format!(
            "{target}-{}.json",
            content_hash(&self.targets.join(target))
        ));
        if !self.rerun_ansible {
            if let Some(r) = std::fs::read(&file)
                .ok()
                .and_then(|b| serde_json::from_slice::<Run>(&b).ok())
            {
                return r;
            }
        }
        let r = self.run(Tool::Ansible, target);
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let stored = std::fs::create_dir_all(cache)
            .and_then(|()| std::fs::write(&tmp, serde_json::to_vec_pretty(&r).unwrap_or_default()))
            .and_then(|()| std::fs::rename(&tmp, &file));
        if let Err(e) = stored {
            eprintln!("could not cache {}: {e}", file.display());
        }
        r
    }
}

/// What a reader needs to see why a run failed: 14 lines from the last line
/// that reports an error or a failed task (rprov's `error:` and `failed`
/// lines, ansible's `fatal:`/`ERROR`) — `set -e` stops a runme.sh at the
/// first command that fails, so earlier ones are expected failures — else
/// the last 15 lines.
fn excerpt(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let first = lines.iter().rposition(|l| {
        let l = l.trim_start();
        l.starts_with("error:")
            || (l.starts_with("failed ") && !l.starts_with("failed (ignored)"))
            || l.starts_with("fatal:")
            || l.starts_with("ERROR")
            || l.starts_with("[ERROR]")
    });
    match first {
        Some(i) => lines[i..lines.len().min(i + 14)].join("\n"),
        None => lines[lines.len().saturating_sub(15)..].join("\n"),
    }
}

/// sha256 over the paths and contents of every file under `dir`, sorted:
/// a change to the target (a new sdist) invalidates its cached verdict.
fn content_hash(dir: &Path) -> String {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(dir, &mut all);
    all.sort();
    let mut h = Sha256::new();
    for p in all {
        h.update(
            p.strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update([0]);
        h.update(std::fs::read(&p).unwrap_or_default());
        h.update([0]);
    }
    let d = h.finalize();
    d.iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Runs `f` over `items` on [`JOBS`] threads, results in input order.
fn parallel<T: Send>(items: &[String], f: impl Fn(&str) -> T + Sync) -> Vec<T> {
    let next = Mutex::new(0usize);
    let results: Mutex<BTreeMap<usize, T>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("queue lock");
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().expect("results lock").insert(i, r);
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_values()
        .collect()
}

/// The YAML of the expected list (one entry per target, reasons quoted).
fn render_expected(entries: &[Entry]) -> String {
    let mut s = String::from(
        "# ansible-core's runme.sh integration targets under rprov as ansible-playbook, ansible-inventory and ansible.\n\
         # Written by tests/conformance_runme.rs with RPROV_CONFORMANCE_BLESS=1; see\n\
         # docs/conformance-runme.md. `ansible` is ansible-core's own verdict on this\n\
         # machine; `rprov` is given only where ansible-core passes.\n",
    );
    for e in entries {
        let _ = writeln!(s, "- target: {}", e.target);
        if let Some(r) = &e.out_of_scope {
            let quoted = serde_json::to_string(r).unwrap_or_default();
            let _ = writeln!(s, "  out_of_scope: {quoted}");
        }
        for (k, v) in [("ansible", e.ansible), ("rprov", e.rprov)] {
            if let Some(v) = v {
                let v = if v == Verdict::Pass { "pass" } else { "fail" };
                let _ = writeln!(s, "  {k}: {v}");
            }
        }
    }
    s
}

struct Seen {
    entry: Entry,
    ansible: Option<Run>,
    rprov: Option<Run>,
}

fn headline(seen: &[Seen]) -> String {
    let out = seen
        .iter()
        .filter(|s| s.entry.out_of_scope.is_some())
        .count();
    let ansible_pass = seen
        .iter()
        .filter(|s| s.entry.ansible == Some(Verdict::Pass))
        .count();
    let rprov_pass = seen
        .iter()
        .filter(|s| s.entry.rprov == Some(Verdict::Pass))
        .count();
    format!(
        "{rprov_pass} of {ansible_pass} runme.sh targets that pass under ansible-core pass under \
         rprov as ansible-playbook, ansible-inventory and ansible; {out} of {} out of scope",
        seen.len()
    )
}

/// The table part of the page: one row per target, nothing that varies
/// between runs with the same verdicts.
fn table(seen: &[Seen]) -> String {
    let mut s = String::from("| target | ansible-core | rprov | why |\n|---|---|---|---|\n");
    for x in seen {
        let e = &x.entry;
        let cell = |v: Option<Verdict>| match v {
            Some(Verdict::Pass) => "pass",
            Some(Verdict::Fail) => "fail",
            None => "—",
        };
        let why = match (&e.out_of_scope, e.ansible, e.rprov) {
            (Some(r), _, _) => format!("out of scope: {}", r.replace('|', "\\|")),
            (None, Some(Verdict::Fail), _) => {
                "fails under ansible-core on this machine; not counted".to_string()
            }
            (None, _, Some(Verdict::Fail)) => match why_rprov_fails(&e.target) {
                Some(why) => format!("{} ([output](#{}))", why.replace('|', "\\|"), e.target),
                None => format!("[output](#{})", e.target),
            },
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            e.target,
            cell(e.ansible),
            cell(e.rprov),
            why
        );
    }
    s
}

fn page(seen: &[Seen], table: &str) -> String {
    let mut s = format!(
        "# Conformance: ansible-core's runme.sh targets\n\n\
         **{}.**\n\n\
         Generated by `tests/conformance_runme.rs` (`RPROV_CONFORMANCE_BLESS=1 cargo test --test \
         conformance_runme`) from ansible-core {VERSION}'s sdist. Each of its {} \
         integration targets with a `runme.sh` is either out of scope, for the reason read from \
         its files, or run unchanged the way `ansible-test integration` runs it (local \
         connection to `testhost`, `OUTPUT_DIR`, `INVENTORY_PATH`, ansible-test's `ANSIBLE_*` \
         settings, {ANSIBLE_TIMEOUT_SECS} s each under ansible-playbook and {TIMEOUT_SECS} s under rprov): first with ansible-playbook {VERSION}, then with \
         rprov as the only `ansible-playbook`, `ansible-inventory` and `ansible` on PATH (the venv with Ansible's other tools is \
         not on PATH then, and rprov's Ansible fallback runs only the Python modules and plugins the target ships, `--ansible-fallback custom`). A target \
         that fails under ansible-core on this machine is listed and not counted.\n\n\
         Cost, measured on a 2-core machine that other work kept at load 20–40: with \
         ansible-core's verdicts cached (`~/.cache/rprov/conformance-runme-ansible-{VERSION}/`, \
         keyed by each target's content) the test takes about 3 minutes; without them \
         about 27 minutes, nearly all of it ansible-playbook (some 47 minutes of it run \
         three targets at a time). CI should keep that cache between runs.\n\n",
        headline(seen),
        seen.len()
    );
    s.push_str(table);
    s.push_str("\n## Why rprov fails\n\nFor each failing target, why (a known difference, or what is not done yet), then the last lines of its output.\n");
    for x in seen {
        let (Some(r), Some(Verdict::Fail)) = (&x.rprov, x.entry.rprov) else {
            continue;
        };
        let why = why_rprov_fails(&x.entry.target)
            .map(|w| format!("{w}.\n\n"))
            .unwrap_or_default();
        let _ = write!(
            s,
            "\n### {}\n\n{why}exit code {}{}\n\n```\n{}\n```\n",
            x.entry.target,
            r.code,
            if r.timed_out { " (timed out)" } else { "" },
            printable(&r.tail).replace("```", "'''")
        );
    }
    s
}

#[test]
fn ansible_core_runme_targets_match_the_expected_list() {
    let started = Instant::now();
    let integration = common::ansible_integration();
    let targets = integration.join("targets");
    let venv = common::ansible_venv();
    let venv_bin = venv
        .playbook
        .parent()
        .expect("the venv's bin folder")
        .to_path_buf();

    // The rprov stand-in: a folder with only `ansible-playbook`,
    // `ansible-inventory` and `ansible` in it, links to rprov, which acts as each under
    // its name (its flags and exit codes).
    let shim = tempfile::tempdir().expect("temp dir");
    for tool in ["ansible-playbook", "ansible-inventory", "ansible"] {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rprov"), shim.path().join(tool))
            .expect("link the tool to rprov");
    }

    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|c| {
            c.join(format!(
                "rprov/conformance-runme-ansible-{VERSION}/r{RUNNER_REVISION}"
            ))
        });
    let bench = Bench {
        targets: targets.clone(),
        venv_bin,
        venv_python: venv.python.clone(),
        shim_bin: shim.path().to_path_buf(),
        cache,
        rerun_ansible: std::env::var("RPROV_CONFORMANCE_ANSIBLE").as_deref() == Ok("rerun"),
    };

    let mut names: Vec<String> = std::fs::read_dir(&targets)
        .expect("read targets")
        .flatten()
        .filter(|e| e.path().join("runme.sh").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() > 150,
        "only {} runme.sh targets in {}: not the sdist this test was written for",
        names.len(),
        targets.display()
    );
    let reasons: Vec<Option<String>> = names
        .iter()
        .map(|n| classify::out_of_scope(&targets.join(n)))
        .collect();
    for (n, r) in names.iter().zip(&reasons) {
        if let Some(r) = r {
            eprintln!("{n}: out of scope: {r}");
        }
    }
    // `RPROV_CONFORMANCE_ONLY=a,b`: run only these targets and check only
    // their entries; the page is then not checked.
    let only: Option<Vec<String>> = std::env::var("RPROV_CONFORMANCE_ONLY")
        .ok()
        .map(|v| v.split(',').map(|t| t.trim().to_string()).collect());
    let plain: Vec<String> = names
        .iter()
        .zip(&reasons)
        .filter(|(n, r)| r.is_none() && only.as_ref().is_none_or(|o| o.contains(n)))
        .map(|(n, _)| n.clone())
        .collect();
    eprintln!(
        "{} runme.sh targets, {} plain ansible-playbook targets to run",
        names.len(),
        plain.len()
    );

    let ansible = parallel(&plain, |t| {
        let r = bench.ansible(t);
        eprintln!(
            "{t}: ansible-core {} ({:.1} s)",
            if r.passed { "pass" } else { "fail" },
            r.secs
        );
        r
    });
    let to_run: Vec<String> = plain
        .iter()
        .zip(&ansible)
        .filter(|(_, r)| r.passed)
        .map(|(t, _)| t.clone())
        .collect();
    let rprov = parallel(&to_run, |t| {
        let r = bench.run(Tool::Rprov, t);
        eprintln!(
            "{t}: rprov {} ({:.1} s)",
            if r.passed { "pass" } else { "fail" },
            r.secs
        );
        r
    });
    let mut ansible: BTreeMap<&str, Run> = plain.iter().map(String::as_str).zip(ansible).collect();
    let mut rprov: BTreeMap<&str, Run> = to_run.iter().map(String::as_str).zip(rprov).collect();

    let seen: Vec<Seen> = names
        .iter()
        .zip(reasons)
        .map(|(n, reason)| {
            let a = ansible.remove(n.as_str());
            let r = rprov.remove(n.as_str());
            Seen {
                entry: Entry {
                    target: n.clone(),
                    out_of_scope: reason,
                    ansible: a.as_ref().map(|a| Verdict::of(a.passed)),
                    rprov: r.as_ref().map(|r| Verdict::of(r.passed)),
                },
                ansible: a,
                rprov: r,
            }
        })
        .collect();
    let entries: Vec<Entry> = seen.iter().map(|s| s.entry.clone()).collect();
    // Every failure explained, and no explanation left over.
    if only.is_none() {
        let failing: Vec<&str> = entries
            .iter()
            .filter(|e| e.rprov == Some(Verdict::Fail))
            .map(|e| e.target.as_str())
            .collect();
        let unexplained: Vec<&&str> = failing
            .iter()
            .filter(|t| why_rprov_fails(t).is_none())
            .collect();
        let stale: Vec<&str> = WHY_RPROV_FAILS
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| !failing.contains(t))
            .collect();
        assert!(
            unexplained.is_empty() && stale.is_empty(),
            "WHY_RPROV_FAILS in tests/conformance_runme.rs must explain exactly the targets rprov \
             fails: no reason for {unexplained:?}; a reason for {stale:?}, which do not fail"
        );
    }
    eprintln!(
        "{} ({:.0} s)",
        headline(&seen),
        started.elapsed().as_secs_f64()
    );

    let bless = std::env::var_os("RPROV_CONFORMANCE_BLESS").is_some();
    let list_path = root().join("tests/conformance/expected-runme.yml");
    let doc_path = root().join("docs/conformance-runme.md");
    let table = table(&seen);
    if bless && only.is_none() {
        std::fs::write(&list_path, render_expected(&entries))
            .unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));
        std::fs::write(&doc_path, page(&seen, &table))
            .unwrap_or_else(|e| panic!("{}: {e}", doc_path.display()));
        return;
    }

    let text = std::fs::read_to_string(&list_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (RPROV_CONFORMANCE_BLESS=1 writes it)",
            list_path.display()
        )
    });
    let expected: Vec<Entry> =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));
    let by_name: BTreeMap<&str, &Entry> = expected.iter().map(|e| (e.target.as_str(), e)).collect();
    let mut wrong = Vec::new();
    for x in &seen {
        let e = &x.entry;
        if only.as_ref().is_some_and(|o| !o.contains(&e.target)) {
            continue;
        }
        if by_name.get(e.target.as_str()) != Some(&e) {
            let mut msg = format!(
                "{}: expected {:?}, seen {:?}",
                e.target,
                by_name.get(e.target.as_str()),
                e
            );
            for (tool, run) in [("ansible-core", &x.ansible), ("rprov", &x.rprov)] {
                if let Some(r) = run.as_ref().filter(|r| !r.passed) {
                    let _ = write!(
                        msg,
                        "\n  {tool} exit {} after {:.1} s:\n{}",
                        r.code, r.secs, r.tail
                    );
                }
            }
            wrong.push(msg);
        }
    }
    for e in expected.iter().filter(|_| only.is_none()) {
        if !names.contains(&e.target) {
            wrong.push(format!(
                "{}: listed, but ansible-core {VERSION} has no such runme.sh target",
                e.target
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the runme.sh results differ from tests/conformance/expected-runme.yml (a target that \
         got worse is a regression; RPROV_CONFORMANCE_BLESS=1 rewrites the list and the page):\n\n{}",
        wrong.join("\n\n")
    );
    if only.is_some() {
        eprintln!("RPROV_CONFORMANCE_ONLY is set: docs/conformance-runme.md was not checked");
        return;
    }
    let doc = std::fs::read_to_string(&doc_path).unwrap_or_default();
    assert!(
        doc.contains(&format!("**{}.**", headline(&seen))) && doc.contains(&table),
        "docs/conformance-runme.md does not show what was seen; RPROV_CONFORMANCE_BLESS=1 \
         rewrites it"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let claim = format!("{} ([docs/conformance-runme.md]", headline(&seen));
    assert!(readme.contains(&claim), "README.md must state `{claim}`");
}

/// `text` with control characters other than line breaks and tabs shown as
/// `\u{..}` escapes, a run of one as `\u{0} ×2951`: a target's output may
/// hold NUL bytes (a log file it prints), which would make the page a
/// binary file.
fn printable(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_control() || c == '\n' || c == '\t' {
            out.push(c);
            continue;
        }
        let mut n = 1;
        while chars.next_if_eq(&c).is_some() {
            n += 1;
        }
        out.push_str(&c.escape_unicode().to_string());
        if n > 1 {
            out.push_str(&format!(" ×{n}"));
        }
    }
    out
}
