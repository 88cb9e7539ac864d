//! Shared by the VM test binaries: boot (or reuse, or start fresh) the test
//! VM, run one binary's tests one at a time, an inventory that reaches it with
//! the repository's generated key and host key, and running `rprov` and `sh`
//! in it.
#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// stdout and stderr of a finished command, as one text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `vagrant/testvm.sh ARGS` from the repository root, with `path` as PATH when
/// given. A busy machine boots the TCG guest slowly: `up` and `reboot` wait up
/// to 600 s for ssh, more than testvm's default 240 s.
fn testvm_with(args: &[&str], path: Option<OsString>) -> Result<Output, String> {
    let script = root().join("vagrant/testvm.sh");
    if !script.exists() {
        return Err(format!("missing {}", script.display()));
    }
    let mut cmd = Command::new(&script);
    cmd.current_dir(root())
        .args(args)
        .env("RPROV_VM_BOOT_TIMEOUT", "600");
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))
}

/// `vagrant/testvm.sh ARGS` from the repository root (see [`testvm_with`]).
pub fn testvm(args: &[&str]) -> Output {
    testvm_with(args, None).unwrap_or_else(|e| panic!("{e}"))
}

/// `vagrant/testvm.sh up` with `path` as PATH when given: `Err` with what the
/// script said when the VM does not come up. Reuses a running VM as it is.
pub fn boot(path: Option<OsString>) -> Result<(), String> {
    let up = testvm_with(&["up"], path)?;
    if up.status.success() {
        return Ok(());
    }
    Err(format!(
        "the test VM did not boot (`vagrant/testvm.sh up` failed; see vagrant/README.md for qemu, debootstrap and the image build):\n{}",
        text(&up)
    ))
}

/// Boots the VM once per test binary (later calls reuse the first answer),
/// failing the test with testvm's message when it does not come up.
pub fn up() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = UP.get_or_init(|| boot(None)) {
        panic!("{e}");
    }
}

/// The tests of one binary share the VM: each holds this while it uses it, so
/// they run one after the other (a reboot or a firewall change in one must
/// not land in the middle of another). A failed test does not block the rest.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh VM: `down`, then `up`. The disk runs with `snapshot=on`, so the
/// boot after a `down` starts from the clean image whatever ran before.
pub fn up_fresh() {
    let down = testvm(&["down"]);
    assert!(
        down.status.success(),
        "`vagrant/testvm.sh down` failed:\n{}",
        text(&down)
    );
    if let Err(e) = boot(None) {
        panic!("{e}");
    }
}

/// `vagrant/testvm.sh reboot`: the guest reboots (its disk state kept) and
/// ssh answers from the new boot.
pub fn reboot() {
    let r = testvm(&["reboot"]);
    assert!(
        r.status.success(),
        "`vagrant/testvm.sh reboot` failed:\n{}",
        text(&r)
    );
}

/// Runs `sh` text in the VM as root: (success, stdout + stderr).
pub fn vm_sh(script: &str) -> (bool, String) {
    let out = testvm(&["ssh", "sudo", "sh", "-c", &rprov_transport::quote(script)]);
    (out.status.success(), text(&out))
}

/// Writes `dir/hosts.ini` with the VM as host `vm` of group `vagrant`.
pub fn write_inventory(dir: &Path) {
    let key = root().join("vagrant/.vm/id_ed25519");
    let kh = root().join("vagrant/.vm/known_hosts");
    std::fs::write(
        dir.join("hosts.ini"),
        format!(
            "[vagrant]\nvm ansible_host=127.0.0.1 ansible_port=2222 ansible_user=vagrant ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'\n",
            key.display(),
            kh.display()
        ),
    )
    .expect("inventory");
}

/// Runs `sh` text in the VM as root and returns its output, failing the test
/// (with `what` and the output) when it fails.
pub fn vm_ok(what: &str, script: &str) -> String {
    let (ok, out) = vm_sh(script);
    assert!(ok, "{what} failed in the VM:\n{out}");
    out
}

/// Writes `bytes` to `path` in the VM (as root, mode 0644, parents created).
pub fn vm_put(path: &str, bytes: &[u8]) {
    use std::io::Write;
    let q = rprov_transport::quote(path);
    let script = format!("mkdir -p \"$(dirname {q})\" && cat > {q} && chmod 0644 {q}");
    let mut child = Command::new(root().join("vagrant/testvm.sh"))
        .args(["ssh", "sudo", "sh", "-c", &rprov_transport::quote(&script)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run testvm.sh ssh: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("writing {path} to the VM: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("writing {path} to the VM: {e}"));
    assert!(
        out.status.success(),
        "writing {path} to the VM failed:\n{}",
        text(&out)
    );
}

/// One `rprov apply --output json`: exit code, the JSON lines, all output,
/// and how long it took.
pub struct Applied {
    pub code: i32,
    pub lines: Vec<Value>,
    pub text: String,
    pub secs: f64,
}

impl Applied {
    /// The recap of host `vm`.
    pub fn recap(&self) -> Value {
        self.lines
            .iter()
            .rev()
            .find_map(|l| l.get("recap").and_then(|r| r.get("vm")).cloned())
            .unwrap_or_else(|| panic!("no recap for vm (exit {}):\n{}", self.code, self.text))
    }

    /// One count of host `vm`'s recap.
    pub fn n(&self, key: &str) -> u64 {
        self.recap()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("recap lacks {key}:\n{}", self.text))
    }

    /// The task events reported `changed`.
    pub fn changed_tasks(&self) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["event"] == "task" && l["status"] == "changed")
            .collect()
    }

    /// (changed, failed) of host `vm` from the recap.
    pub fn counts(&self) -> (u64, u64) {
        self.counts_of("vm")
    }

    /// (changed, failed) of `host` from the recap.
    pub fn counts_of(&self, host: &str) -> (u64, u64) {
        let r = self
            .lines
            .iter()
            .rev()
            .find_map(|l| l.get("recap").and_then(|r| r.get(host)).cloned())
            .unwrap_or_else(|| panic!("no recap for {host} in:\n{}", self.text));
        (
            r["changed"].as_u64().unwrap_or(99),
            r["failed"].as_u64().unwrap_or(99),
        )
    }

    /// Every diff shown, as text: per task its name, then each diff's path,
    /// change lines and unified text.
    pub fn diffs(&self) -> String {
        let mut out = String::new();
        for l in self.lines.iter().filter(|l| l["event"] == "task") {
            let Some(diffs) = l["diff"].as_array() else {
                continue;
            };
            out.push_str(&format!("== {}\n", l["task"].as_str().unwrap_or("")));
            for d in diffs {
                out.push_str(&format!("{}\n", d["path"].as_str().unwrap_or("")));
                for c in d["changes"].as_array().into_iter().flatten() {
                    out.push_str(&format!("  {}\n", c.as_str().unwrap_or("")));
                }
                out.push_str(d["unified"].as_str().unwrap_or(""));
            }
        }
        out
    }

    /// Fails the test unless every one of `wants` is in the diffs shown.
    pub fn expect_diffs(&self, wants: &[&str]) {
        let diffs = self.diffs();
        for want in wants {
            assert!(diffs.contains(want), "the run shows `{want}`:\n{diffs}");
        }
    }

    /// The names of the tasks reported, in order.
    pub fn tasks(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l["event"] == "task")
            .filter_map(|l| l["task"].as_str())
            .collect()
    }
}

/// Runs `rprov apply ARGS… --output json` in `cwd`.
pub fn apply(cwd: &Path, args: &[&str]) -> Applied {
    apply_with_env(cwd, args, &[])
}

/// Runs `rprov apply ARGS… --output json` in `cwd` with `env` set.
pub fn apply_with_env(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Applied {
    let t = std::time::Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rprov"));
    cmd.current_dir(cwd)
        .arg("apply")
        .args(args)
        .args(["--output", "json"])
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run rprov: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Applied {
        code: out.status.code().unwrap_or(-1),
        lines: stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        text: format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
        secs: t.elapsed().as_secs_f64(),
    }
}

/// Runs `body`, then `cleanup` whether `body` failed or not, then re-raises
/// `body`'s failure: the VM is left usable for the next test.
/// Prints how long each took (seen with `--nocapture`).
pub fn with_cleanup(body: impl FnOnce(), cleanup: impl FnOnce()) {
    let t = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let body_secs = t.elapsed().as_secs_f64();
    cleanup();
    eprintln!(
        "{}: {body_secs:.0}s, cleanup {:.0}s",
        std::thread::current().name().unwrap_or("test"),
        t.elapsed().as_secs_f64() - body_secs
    );
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
