//! Shared helpers for rprov's CLI integration tests: running the binary,
//! reading `--output json`, preparing target directories on the (shared)
//! filesystem of the loopback sshd, and snapshotting a directory tree.
#![allow(dead_code)] // each test binary uses a different subset

pub mod age;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use rprov_testbed::Sshd;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The account the loopback sshd logs in as (passwordless sudo).
pub const USER: &str = "rprovtest";

/// Where the fixtures live.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The result of one `rprov` invocation.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// stdout and stderr together, for "the message says …" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code, showing the whole output when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.dump());
        self
    }

    /// Every line of `--output json` stdout, each of which must parse.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("stdout line is not JSON ({e}): {l}\n{}", self.dump())
                })
            })
            .collect()
    }

    /// The `{"recap": {...}}` entry of `host` from the last JSON line.
    pub fn recap(&self, host: &str) -> Value {
        let lines = self.json_lines();
        let last = lines
            .last()
            .unwrap_or_else(|| panic!("no output\n{}", self.dump()));
        last["recap"][host].clone()
    }

    /// Task events (`"event": "task"`).
    pub fn tasks(&self) -> Vec<Value> {
        self.json_lines()
            .into_iter()
            .filter(|v| v["event"] == "task")
            .collect()
    }
}

/// Copies a fixture tree.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Runs rprov detached from any terminal (`setsid`: nothing can be asked
/// interactively), with `HOME` set to `home` when given and no identity
/// variables but those in `env`.
pub fn rprov_detached(
    cwd: &Path,
    args: &[&str],
    home: Option<&Path>,
    env: &[(&str, &Path)],
) -> Run {
    let mut cmd = Command::new("setsid");
    cmd.arg("-w")
        .arg(env!("CARGO_BIN_EXE_rprov"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RPROV_AGE_IDENTITY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(std::process::Stdio::null());
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    finish(
        cmd.output()
            .expect("setsid (util-linux) and the rprov binary"),
    )
}

/// Runs the rprov binary with `args` in `cwd`. Never lets a panic pass.
pub fn rprov<I, S>(cwd: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    rprov_env(cwd, args, &[])
}

/// [`rprov`] with these environment variables set. No `ANSIBLE_*` variable
/// of the developer's reaches rprov, only those in `env`.
pub fn rprov_env<I, S>(cwd: &Path, args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_as(Path::new(env!("CARGO_BIN_EXE_rprov")), cwd, args, env)
}

/// [`rprov_env`] with the rprov binary started through `exe`, a link to it
/// under another name (`ansible-playbook`).
pub fn run_as<I, S>(exe: &Path, cwd: &Path, args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(exe);
    cmd.current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        // A developer's own identity must not decide what a test decrypts.
        .env_remove("RPROV_AGE_IDENTITY")
        .env_remove("SOPS_AGE_KEY_FILE");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ANSIBLE_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    finish(cmd.output().expect("running the rprov binary"))
}

/// The outcome of one rprov process; a panic or a debug dump fails the test.
fn finish(out: std::process::Output) -> Run {
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stdout.contains("panicked"),
        "rprov panicked\n{}",
        run.dump()
    );
    assert!(
        !run.stderr.contains("RUST_BACKTRACE"),
        "rprov printed a debug dump\n{}",
        run.dump()
    );
    run
}

/// `rprov apply -i INV --output json ARGS…` in `cwd` (the playbook is among
/// `args`, or `site.yml` there by default).
pub fn apply_json(cwd: &Path, inv: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    apply_human(cwd, inv, &all)
}

/// `rprov apply -i INV ARGS…` in `cwd`: the output a person reads.
pub fn apply_human(cwd: &Path, inv: &Path, args: &[&str]) -> Run {
    let mut all = vec!["apply".to_string(), "-i".into(), inv.display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    rprov(cwd, all)
}

/// Each task event's name and status, in order (loop items one by one).
pub fn statuses(run: &Run) -> Vec<(String, String)> {
    run.tasks()
        .iter()
        .map(|t| {
            (
                t["task"].as_str().unwrap_or_default().to_string(),
                t["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The expected `--output json` recap line for one host, byte for byte
/// (the contract of issue 2, key order included).
pub fn recap_line(
    host: &str,
    ok: u64,
    changed: u64,
    failed: u64,
    skipped: u64,
    cmds: u64,
) -> String {
    recap_line_unknown(host, ok, changed, 0, failed, skipped, cmds)
}

/// [`recap_line`] with a count of `unknown` tasks (check mode).
pub fn recap_line_unknown(
    host: &str,
    ok: u64,
    changed: u64,
    unknown: u64,
    failed: u64,
    skipped: u64,
    cmds: u64,
) -> String {
    format!(
        "{{\"recap\": {{\"{host}\": {{\"ok\": {ok}, \"changed\": {changed}, \"unknown\": {unknown}, \"failed\": {failed}, \"skipped\": {skipped}, \"unreachable\": 0, \"remote_commands\": {cmds}, \"ignored\": 0, \"rescued\": 0}}}}}}"
    )
}

/// A temp dir the test user can write into (the sshd shares our filesystem).
pub fn target_dir(owner: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("rprov-it-")
        .tempdir()
        .expect("temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let status = Command::new("chown")
        .arg(format!("{owner}:{owner}"))
        .arg(dir.path())
        .status()
        .expect("chown");
    assert!(status.success(), "chown {owner} {}", dir.path().display());
    dir
}

/// Runs `command` on `sshd`'s host with the system `ssh` client (not rprov),
/// as its user, and returns stdout: an independent view of the host.
pub fn ssh(sshd: &Sshd, command: &str) -> String {
    let out = Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-F",
            "/dev/null",
        ])
        .args(sshd.common_args())
        .arg("-i")
        .arg(&sshd.key_file)
        .arg("-p")
        .arg(sshd.port.to_string())
        .arg(format!("{}@{}", sshd.user, sshd.addr))
        .arg(command)
        .output()
        .expect("running ssh");
    assert!(
        out.status.success(),
        "ssh {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes an inventory file with `lines` under `[group]` headers as given.
pub fn write_inventory(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("hosts.ini");
    fs::write(&p, text).expect("write inventory");
    p
}

/// An inventory with one host `name` reached through `sshd`.
pub fn one_host_inventory(dir: &Path, sshd: &Sshd, name: &str) -> PathBuf {
    write_inventory(dir, &format!("{}\n", sshd.inventory_line(name)))
}

/// [`one_host_inventory`] with the host's Python named
/// (`ansible_python_interpreter`): for a differential test, so that Ansible
/// adds no interpreter discovery (a fact and a warning) to what it registers.
pub fn one_host_inventory_with_python(
    dir: &Path,
    sshd: &Sshd,
    name: &str,
    python: &str,
) -> PathBuf {
    write_inventory(
        dir,
        &format!(
            "{} ansible_python_interpreter={python}\n",
            sshd.inventory_line(name)
        ),
    )
}

/// One entry of a tree snapshot: kind, mode, owner, group and content hash
/// (files) or link target (links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub content: String,
}

/// Every path under `root` (relative), with what a provisioner can change.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let md = fs::symlink_metadata(&p).expect("lstat");
        let ft = md.file_type();
        let (kind, content) = if ft.is_symlink() {
            (
                'l',
                fs::read_link(&p).expect("readlink").display().to_string(),
            )
        } else if ft.is_dir() {
            ('d', String::new())
        } else {
            let bytes = fs::read(&p).expect("read file");
            ('f', hex::encode(Sha256::digest(&bytes)))
        };
        let rel = p.strip_prefix(root).expect("under root").to_path_buf();
        out.insert(
            rel,
            Entry {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                content,
            },
        );
        if kind == 'd' {
            walk(root, &p, out);
        }
    }
}

/// What tests/support/ansible-venv.sh made: ansible-core from PyPI in a venv
/// (its `ansible-playbook` and `python`) and a directory holding
/// ansible.posix (for `ansible.posix.authorized_key`).
pub struct AnsibleVenv {
    pub playbook: PathBuf,
    pub python: PathBuf,
    pub collections: PathBuf,
}

/// Makes (or reuses) the ansible-core venv, failing the test with the
/// script's message when it cannot.
pub fn ansible_venv() -> AnsibleVenv {
    venv_from_script(&[]).0
}

/// [`ansible_venv`], and a directory holding every collection of the
/// `ansible` package the venv script pins (`ansible_collections/…`).
#[allow(dead_code)]
pub fn ansible_venv_with_all_collections() -> (AnsibleVenv, PathBuf) {
    let (venv, all) = venv_from_script(&["all"]);
    let all = all.unwrap_or_else(|| panic!("ansible-venv.sh all printed no third line"));
    assert!(
        all.join("ansible_collections").is_dir(),
        "ansible-venv.sh all printed {}, which holds no ansible_collections",
        all.display()
    );
    (venv, all)
}

/// Runs tests/support/ansible-venv.sh with `args`: the venv, and the third
/// line it prints, if any.
fn venv_from_script(args: &[&str]) -> (AnsibleVenv, Option<PathBuf>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/ansible-venv.sh");
    let out = Command::new("sh")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "could not create the ansible-core venv with {} (this test needs \
         ansible-core 2.19 from PyPI and python3-venv):\n{stderr}",
        script.display()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines().map(PathBuf::from);
    let (Some(playbook), Some(collections)) = (lines.next(), lines.next()) else {
        panic!("ansible-venv.sh printed `{stdout}`, not two paths or three");
    };
    assert!(
        playbook.is_file(),
        "ansible-venv.sh printed {}, which is not a file",
        playbook.display()
    );
    assert!(
        collections
            .join("ansible_collections/ansible/posix")
            .is_dir(),
        "ansible-venv.sh printed {}, which holds no ansible.posix",
        collections.display()
    );
    let python = playbook.with_file_name("python");
    assert!(python.exists(), "no python beside {}", playbook.display());
    let third = lines.next();
    (
        AnsibleVenv {
            playbook,
            python,
            collections,
        },
        third,
    )
}

/// Runs the venv's ansible-playbook in `cwd` on inventory `inv` with `args`
/// (`-e root=…`, the playbook, `--check`…), as the differential tests run
/// it: no user configuration (`ANSIBLE_CONFIG` is a missing file in `home`,
/// its temp and control dirs there too), strict host key checking against
/// the sshd's own known_hosts (from `ansible_ssh_common_args`), pipelining,
/// no colour, and `env` on top. Whether it succeeded, and its stdout and
/// stderr.
pub fn ansible_playbook(
    v: &AnsibleVenv,
    cwd: &Path,
    inv: &Path,
    home: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> (bool, String) {
    let inv = inv.display().to_string();
    let mut all = vec!["-i", inv.as_str()];
    all.extend(args);
    ansible_playbook_args(v, cwd, home, &all, env)
}

/// [`ansible_playbook`] with the inventory among `args`, as given.
pub fn ansible_playbook_args(
    v: &AnsibleVenv,
    cwd: &Path,
    home: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> (bool, String) {
    let out = Command::new(&v.playbook)
        .current_dir(cwd)
        .args(args)
        .env("ANSIBLE_CONFIG", home.join("none.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", home.join("cp"))
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .env("ANSIBLE_PIPELINING", "True")
        .env("ANSIBLE_NOCOLOR", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", v.playbook.display()));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// ansible-core's `test/integration` from its pinned sdist (fetched by
/// tests/support/ansible-targets.sh when missing), or a failure saying what
/// is missing.
pub fn ansible_integration() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/ansible-targets.sh");
    let out = Command::new("sh")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: this test needs ansible-core's sdist from PyPI (and python3-venv):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Fails unless rprov's `--list-tasks` output is ansible-playbook's, line for
/// line, showing both line counts and the first lines that differ (`what`:
/// what was listed).
pub fn assert_same_listing(what: &str, expected: &str, by_rprov: &str) {
    if by_rprov == expected {
        return;
    }
    let differs: Vec<String> = expected
        .lines()
        .zip(by_rprov.lines())
        .filter(|(a, r)| a != r)
        .take(10)
        .map(|(a, r)| format!("ansible: {a}\nrprov:   {r}"))
        .collect();
    panic!(
        "rprov lists {what} differently ({} lines, ansible-playbook {}; first lines that differ):\n{}",
        by_rprov.lines().count(),
        expected.lines().count(),
        differs.join("\n")
    );
}
