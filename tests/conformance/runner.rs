//! Runs one ansible-core integration target the way `ansible-test
//! integration` runs a role target, with ansible-playbook or with rprov, and
//! reads what happened from each tool's own output.
//!
//! ansible-test writes a one-play playbook (`hosts: testhost`, the target as
//! its only role, `output_dir` as a play variable, `gather_facts` unless the
//! target's `aliases` say `gather_facts/no`) and sets `ANSIBLE_ROLES_PATH` to
//! the targets folder, so the `setup_*`/`prepare_*` roles a target depends on
//! are found as they are. Here `testhost` is reached over a real ssh login to
//! the loopback sshd and becomes root with sudo, where ansible-test would use
//! a local connection as root.
//!
//! As ansible-test, the tools are on PATH: a target that runs `ansible` or
//! `ansible-playbook` itself (`wait_for_connection`, `async`) finds the
//! venv's for the ansible-core run and rprov, acting as each under its name,
//! for the rprov run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest rprov may take over one target before it counts as failed.
const TIMEOUT_SECS: &str = "300";

/// The same for ansible-playbook, which needs minutes for the larger targets
/// (`file` has some 500 tasks) on these 2-core machines when they are busy.
const ANSIBLE_TIMEOUT_SECS: &str = "1200";

/// Names the way targets are run (playbook, inventory, environment). A
/// cached ansible-core verdict is used only by the same revision: bump this
/// whenever [`Bench::run`] changes what a target sees or how its outcome is
/// read.
const RUNNER_REVISION: u32 = 5;

/// What ansible-test puts in the environment that changes how a play runs
/// (`ansible_util.py`: handlers run after a failure, a host pattern that
/// matches nothing is an error). Given to both tools.
const ANSIBLE_TEST_ENV: &[(&str, &str)] = &[
    ("ANSIBLE_FORCE_HANDLERS", "true"),
    ("ANSIBLE_HOST_PATTERN_MISMATCH", "error"),
    ("ANSIBLE_DEPRECATION_WARNINGS", "false"),
    ("ANSIBLE_RETRY_FILES_ENABLED", "false"),
    ("ANSIBLE_DEVEL_WARNING", "false"),
    ("ANSIBLE_NOCOLOR", "1"),
    ("ANSIBLE_FORCE_COLOR", "false"),
];

/// Which tool ran a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Ansible,
    Rprov,
}

/// The first task that failed (not ignored), or what stopped the run before
/// any task did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The task's name as the tool printed it (`role : name`), or `(load)`.
    pub task: String,
    /// The first line of the tool's message, paths made stable.
    pub why: String,
}

/// One tool's result on one target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub passed: bool,
    /// Task results in the recap (ok + changed + failed + skipped, and
    /// ansible's rescued and ignored).
    pub tasks: u64,
    pub failure: Option<Failure>,
    /// Wall time of the run in seconds, so the cost of a target (ansible-core
    /// runs uncached on a fresh CI machine) can be weighed before listing it;
    /// 0 in verdicts cached before it was measured.
    #[serde(default)]
    pub secs: f64,
    /// The whole output, for a failing assertion's message (not cached).
    #[serde(skip)]
    pub output: String,
}

/// Everything both tools share for one run of the suite.
pub struct Bench {
    /// `test/integration` of the unpacked sdist (holds `targets/`).
    pub integration: PathBuf,
    pub ansible_playbook: PathBuf,
    pub rprov: PathBuf,
    /// The inventory line of `testhost` (connection variables).
    pub host_line: String,
    /// A private directory for ansible's temp files and control sockets.
    pub scratch: PathBuf,
    /// Where ansible-core's verdicts are kept between runs (per version and
    /// [`RUNNER_REVISION`]), or `None` to run ansible-core every time.
    pub ansible_cache: Option<PathBuf>,
    /// Run ansible-core even when the cache has its verdict (and refresh it).
    pub rerun_ansible: bool,
    /// The venv's Python, importing ansible-core: what rprov's Ansible
    /// fallback runs when [`Bench::run_with_fallback`] turns it on.
    pub ansible_python: PathBuf,
}

impl Bench {
    fn targets(&self) -> PathBuf {
        self.integration.join("targets")
    }

    /// Where ansible-core's verdict on `target` is cached, if anywhere.
    fn cache_file(&self, target: &str) -> Option<PathBuf> {
        let dir = self.ansible_cache.as_ref()?;
        Some(
            dir.join(format!("r{RUNNER_REVISION}"))
                .join(format!("{target}.json")),
        )
    }

    /// ansible-core's cached outcome on `target`, unless there is none or
    /// it is to be run again.
    pub fn cached_ansible(&self, target: &str) -> Option<Outcome> {
        let file = self.cache_file(target)?;
        std::fs::read(&file)
            .ok()
            .filter(|_| !self.rerun_ansible)
            .and_then(|b| serde_json::from_slice::<Outcome>(&b).ok())
    }

    /// ansible-core's outcome on `target`: from the cache when this runner
    /// revision has seen it before, else run (and cached when it finished).
    /// ansible-playbook takes minutes over the larger targets on these
    /// machines, and its verdict depends only on the pinned version, the
    /// target and how it is run, all of which name the cache entry.
    pub fn ansible(&self, target: &str) -> Outcome {
        if let Some(o) = self.cached_ansible(target) {
            return o;
        }
        let Some(file) = self.cache_file(target) else {
            return self.run(Tool::Ansible, target);
        };
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let o = self.run(Tool::Ansible, target);
        let timed_out = o.failure.as_ref().is_some_and(|f| f.task == "(timeout)");
        if !timed_out {
            let text = serde_json::to_vec_pretty(&o).expect("an outcome serializes");
            let tmp = dir.join(format!(".{target}.{}", std::process::id()));
            let stored = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&tmp, text))
                .and_then(|()| std::fs::rename(&tmp, &file));
            if let Err(e) = stored {
                eprintln!(
                    "could not cache ansible-core's verdict in {}: {e}",
                    file.display()
                );
            }
        }
        o
    }

    /// Runs `target` with `tool` and reads the outcome; rprov's Ansible
    /// fallback is off, so rprov's own modules are what is measured.
    pub fn run(&self, tool: Tool, target: &str) -> Outcome {
        self.run_as(tool, target, false)
    }

    /// Runs `target` with rprov as a user who has ansible-core installed
    /// runs it: the modules rprov lacks (the target's own `library/` ones
    /// too) run through the Ansible fallback.
    #[allow(dead_code)] // the file-level suite's; the VM suite shares this file
    pub fn run_with_fallback(&self, target: &str) -> Outcome {
        self.run_as(Tool::Rprov, target, true)
    }

    fn run_as(&self, tool: Tool, target: &str, fallback: bool) -> Outcome {
        reset(target);
        let work = tempfile::Builder::new()
            .prefix(&format!("rprov-conf-{target}-"))
            .tempdir()
            .expect("temp dir");
        let output_dir = work.path().join("output_dir");
        std::fs::create_dir(&output_dir).expect("mkdir output_dir");
        let inventory = work.path().join("inventory");
        std::fs::write(&inventory, format!("[testgroup]\n{}\n", self.host_line))
            .expect("write inventory");
        let playbook = work.path().join(format!("{target}-conformance.yml"));
        std::fs::write(&playbook, self.playbook(target, &output_dir)).expect("write playbook");

        let timeout = match tool {
            Tool::Ansible => ANSIBLE_TIMEOUT_SECS,
            Tool::Rprov => TIMEOUT_SECS,
        };
        let mut cmd = Command::new("timeout");
        cmd.args(["--kill-after=10", timeout])
            .env("PATH", self.path_for(tool));
        match tool {
            Tool::Ansible => {
                cmd.arg(&self.ansible_playbook);
            }
            Tool::Rprov => {
                cmd.arg(&self.rprov).args(["apply", "--output", "json"]);
            }
        }
        cmd.arg("-i")
            .arg(&inventory)
            .arg(&playbook)
            .current_dir(work.path())
            .env("NO_COLOR", "1")
            // As ansible-test: targets read it with `lookup('env', …)`.
            .env("OUTPUT_DIR", &output_dir)
            .env_remove("RPROV_AGE_IDENTITY")
            .env_remove("SOPS_AGE_KEY_FILE")
            .stdin(std::process::Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ANSIBLE_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(ANSIBLE_TEST_ENV.iter().copied())
            .env("ANSIBLE_ROLES_PATH", self.targets())
            .env("ANSIBLE_CONFIG", self.scratch.join("none.cfg"))
            .env("ANSIBLE_LOCAL_TEMP", self.scratch.join("tmp"))
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", self.scratch.join("cp"))
            .env("ANSIBLE_PIPELINING", "True")
            .env("ANSIBLE_HOST_KEY_CHECKING", "True")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            // The suite measures rprov's own modules: the Ansible fallback is
            // off (a Python that does not exist), whatever this machine's
            // `python3` can import, so the verdicts do not depend on it;
            // when it is on, it is the venv's pinned ansible-core.
            .env(
                "RPROV_ANSIBLE_PYTHON",
                if fallback {
                    self.ansible_python.clone()
                } else {
                    self.scratch.join("no-python-fallback-off")
                },
            );
        if fallback {
            // Only the target's own Python plugins: nothing of Ansible's.
            cmd.env("RPROV_ANSIBLE_FALLBACK", "custom");
        }
        let started = std::time::Instant::now();
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {tool:?} on {target}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code().unwrap_or(-1);
        let stable = |s: &str| {
            s.replace(&output_dir.display().to_string(), "OUTPUT_DIR")
                .replace(&work.path().display().to_string(), "WORK")
                .replace(&self.targets().display().to_string(), "TARGETS")
        };
        let mut outcome = match tool {
            Tool::Ansible => read_ansible(code, &stdout, &stderr),
            Tool::Rprov => read_rprov(code, &stdout, &stderr),
        };
        if code == 124 || code == 137 {
            outcome.passed = false;
            outcome.failure = Some(Failure {
                task: "(timeout)".into(),
                why: format!("did not finish within {timeout} s"),
            });
        }
        if let Some(f) = &mut outcome.failure {
            f.task = stable(&f.task);
            f.why = one_line(&stable(&f.why));
        }
        outcome.secs = started.elapsed().as_secs_f64();
        outcome.output = format!("exit code {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        outcome
    }

    /// PATH for a run of `tool`: the system's, after the venv's bin folder
    /// (ansible-core) or a folder of links to rprov named `ansible`,
    /// `ansible-playbook` and `ansible-inventory` (rprov), so a target's own
    /// `command: ansible …` runs the tool under test.
    fn path_for(&self, tool: Tool) -> String {
        let system = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let first = match tool {
            Tool::Ansible => self
                .ansible_playbook
                .parent()
                .expect("the venv's bin folder")
                .to_path_buf(),
            Tool::Rprov => {
                let shim = self.scratch.join("rprov-as-ansible");
                for name in ["ansible", "ansible-playbook", "ansible-inventory"] {
                    let link = shim.join(name);
                    if !link.exists() {
                        std::fs::create_dir_all(&shim).expect("mkdir the rprov shim folder");
                        std::os::unix::fs::symlink(&self.rprov, &link)
                            .expect("link the tool's name to rprov");
                    }
                }
                shim
            }
        };
        format!("{}:{system}", first.display())
    }

    /// The playbook ansible-test would write for `target`.
    fn playbook(&self, target: &str, output_dir: &Path) -> String {
        let aliases = std::fs::read_to_string(self.targets().join(target).join("aliases"))
            .unwrap_or_default();
        let gather = !aliases.lines().any(|l| l.trim() == "gather_facts/no");
        let play = serde_json::json!([{
            "hosts": "testhost",
            "gather_facts": gather,
            "vars_files": [],
            "vars": {"output_dir": output_dir.display().to_string()},
            "roles": [target],
        }]);
        serde_json::to_string_pretty(&play).expect("a JSON value prints")
    }
}

/// At most 200 characters of the first non-empty line, for a table cell.
/// Puts back what a target leaves on the machine (the testbed's host is
/// this one, over loopback ssh) that its next run would trip on: the
/// `debconf` target sets answers it never removes and asserts that setting
/// them is a change, so a second run, ansible-core's or rprov's after it,
/// would fail on the first tool's leftovers; `lineinfile` leaves a file in
/// the login's home.
fn reset(target: &str) {
    let script = match target {
        "debconf" => {
            "for p in ddclient ddclient2 libnss-ldapd libnns-ldap; do \
             echo PURGE | debconf-communicate \"$p\" >/dev/null 2>&1; done"
        }
        // `dest: file.txt` with `create: yes`, relative to the login's home,
        // asserted to be a change and never removed.
        "lineinfile" => "rm -f /home/rprovtest/file.txt",
        _ => return,
    };
    if let Err(e) = std::process::Command::new("sh")
        .args(["-c", script])
        .status()
    {
        eprintln!("could not reset the machine before {target}: {e}");
    }
}

fn one_line(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        out.push('…');
    }
    out.replace('|', "\\|")
}

/// Reads ansible-playbook's default output: the recap line of `testhost`,
/// and the last `fatal:`/`failed:` result not followed by `...ignoring` (one
/// before it was rescued: the run went on).
fn read_ansible(code: i32, stdout: &str, stderr: &str) -> Outcome {
    let lines: Vec<&str> = stdout.lines().collect();
    let mut failure = None;
    let mut task = String::from("(load)");
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line
            .strip_prefix("TASK [")
            .or(line.strip_prefix("RUNNING HANDLER ["))
        {
            task = rest.rsplit_once(']').map_or(rest, |(t, _)| t).to_string();
        }
        let failed =
            line.starts_with("fatal: [testhost]") || line.starts_with("failed: [testhost]");
        let ignored = lines.get(i + 1).is_some_and(|n| n.trim() == "...ignoring");
        if failed && !ignored && !line.contains("(item=") {
            // The result is JSON after `=> `, on one line or (default
            // callback, several keys) up to a `}` alone on a line.
            let mut json = line
                .split_once("=> ")
                .map_or(String::new(), |(_, j)| j.to_string());
            if json == "{" {
                for next in &lines[i + 1..] {
                    json.push_str(next);
                    if *next == "}" {
                        break;
                    }
                }
            }
            let why = serde_json::from_str::<Value>(&json)
                .ok()
                .and_then(|v| v["msg"].as_str().map(str::to_string))
                .unwrap_or_else(|| line.to_string());
            failure = Some(Failure {
                task: task.clone(),
                why,
            });
        }
    }
    let recap = lines
        .iter()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.starts_with("testhost"));
    let count = |key: &str| {
        recap
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix(key)))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Task results as ansible-core's stats count them: `ok` holds the
    // changed ones and the ignored failures, and a rescued failure is in
    // `rescued` alone.
    let tasks = ["ok=", "failed=", "skipped=", "rescued="]
        .iter()
        .map(|k| count(k))
        .sum();
    if code != 0 && failure.is_none() {
        let why = stderr
            .lines()
            .chain(stdout.lines())
            .find(|l| l.contains("ERROR"))
            .unwrap_or("ansible-playbook failed without a task failing")
            .to_string();
        failure = Some(Failure {
            task: "(load)".into(),
            why,
        });
    }
    Outcome {
        passed: code == 0,
        tasks,
        // A run that passed had no failure that counts (one was rescued).
        failure: failure.filter(|_| code != 0),
        secs: 0.0,
        output: String::new(),
    }
}

/// Reads rprov's `--output json`: the last failed task event not ignored,
/// else a host error, else the error on stderr (a load error).
fn read_rprov(code: i32, stdout: &str, stderr: &str) -> Outcome {
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // The last failure: one before it was rescued (the run went on).
    let mut failure = events
        .iter()
        .rev()
        .find(|e| e["event"] == "task" && e["status"] == "failed" && e["ignored"] != true)
        .map(|e| Failure {
            task: e["task"].as_str().unwrap_or("").to_string(),
            why: e["msg"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| e["result"].to_string()),
        });
    if failure.is_none() {
        failure = events
            .iter()
            .find(|e| e["event"] == "host_error")
            .map(|e| Failure {
                task: "(host)".into(),
                why: e["msg"].as_str().unwrap_or("").to_string(),
            });
    }
    if code != 0 && failure.is_none() {
        let why = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("rprov failed without a task failing")
            .to_string();
        // `error: FILE:LINE:COL: message`: the place names which load error
        // it is, so the expected list notices when it moves.
        let place = why
            .strip_prefix("error: ")
            .and_then(|rest| rest.split_once(": "))
            .map(|(place, _)| place)
            .filter(|p| p.ends_with(|c: char| c.is_ascii_digit()));
        failure = Some(Failure {
            task: place.map_or_else(|| "(load)".to_string(), |p| format!("(load) {p}")),
            why,
        });
    }
    let recap = events
        .last()
        .map(|l| l["recap"]["testhost"].clone())
        .unwrap_or(Value::Null);
    // Task results in rprov's recap: each counted once, a rescued failure
    // in `ok` (docs/json-output.md).
    let tasks = ["ok", "changed", "unknown", "failed", "skipped", "ignored"]
        .iter()
        .map(|k| recap[k].as_u64().unwrap_or(0))
        .sum();
    Outcome {
        passed: code == 0,
        tasks,
        // A run that passed had no failure that counts (one was rescued).
        failure: failure.filter(|_| code != 0),
        secs: 0.0,
        output: String::new(),
    }
}
