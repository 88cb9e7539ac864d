//! Issue 12, the system targets: ansible-core's `user`, `group`, `hostname`,
//! `systemd`, `service`, `apt` and `cron` integration targets change the
//! machine itself, so they run in the throw-away test VM
//! (`vagrant/testvm.sh`, a Debian trixie with systemd) rather than on the
//! loopback sshd of `tests/conformance.rs`, with the same runner: each target
//! unchanged as the only role of a one-play playbook, with ansible-playbook
//! (the spec) and with rprov, over ssh to the VM's `vagrant` login becoming
//! root.
//!
//! Neither tool sees the other's leftovers: ansible-core runs the targets
//! whose verdict is not cached yet on a freshly booted VM (the disk is a
//! qemu snapshot: `down` then `up` starts from the clean image), and rprov
//! runs them all on another fresh boot. ansible-core's verdicts are cached
//! per image recipe (see [`recipe_key`]), as the file-level suite caches its
//! own.
//!
//! The test asserts that the results match `tests/conformance/expected-vm.yml`
//! exactly (a target ansible-core fails there, `apt` needing the network for
//! one, is written down as such and not counted) and that the page's section
//! "In the test VM" of `docs/conformance.md` is what was seen
//! (`RPROV_CONFORMANCE_BLESS=1` rewrites only that section), and that the
//! README states its headline, beside the file-level suite's.

mod common;
mod vm_common;

#[path = "conformance/expected.rs"]
mod expected;
#[allow(dead_code)] // each suite renders its own part of the page
#[path = "conformance/report.rs"]
mod report;
#[path = "conformance/runner.rs"]
mod runner;
#[path = "conformance/shared.rs"]
mod shared;

use std::path::PathBuf;
use std::time::Instant;

use runner::{Bench, Tool};
use shared::VERSION;
use vm_common::{testvm, text};

/// The guest's Python (in the image, see `PACKAGES` in vagrant/testvm.sh),
/// by its versioned name: the `service` target writes the shebang of its test
/// daemon as `ansible_python_interpreter | realpath`, which both tools
/// resolve on the controller, where `/usr/bin/python3` is another version
/// than trixie's. ansible-test runs on the target itself and never meets
/// this.
const GUEST_PYTHON: &str = "/usr/bin/python3.13";

/// Names the image's recipe, `vagrant/testvm.sh` (what is installed in the
/// guest and how it is set up), the interpreter ansible-core is given and
/// the guest's apt configuration ([`OFFLINE_APT`]),
/// for the cache of ansible-core's verdicts: a change runs ansible-core
/// again. Not the image's own cache key, which
/// also covers the login and host keys generated per checkout, so that a
/// fresh clone with a kept cache does not rerun ansible-core (it takes
/// minutes in the emulated guest: `user` alone some 15).
fn recipe_key() -> String {
    use sha2::{Digest, Sha256};
    let script = vm_common::root().join("vagrant/testvm.sh");
    let bytes = std::fs::read(&script).unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let mut hash = Sha256::new();
    hash.update(&bytes);
    hash.update(GUEST_PYTHON.as_bytes());
    hash.update(OFFLINE_APT.as_bytes());
    hash.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// apt's configuration in the guest for the run: every download goes to a
/// proxy on a closed port, so it fails at once. The guest has no network;
/// without this apt waits minutes on each mirror address (the `apt` target
/// would take ansible-core's whole timeout to fail) where a machine without a
/// network fails in seconds.
const OFFLINE_APT: &str = "Acquire::http::Proxy \"http://127.0.0.1:9/\";\n\
                           Acquire::https::Proxy \"http://127.0.0.1:9/\";\n\
                           Acquire::Retries \"0\";\n";

/// Makes the freshly booted guest ready for the targets: [`GUEST_PYTHON`]
/// is there, and apt fails fast ([`OFFLINE_APT`]).
fn prepare_guest() {
    guest_python_is_there();
    vm_common::vm_put(
        "/etc/apt/apt.conf.d/99rprov-offline",
        OFFLINE_APT.as_bytes(),
    );
}

/// Fails the test when [`GUEST_PYTHON`] is not in the guest (a new Debian
/// release in the recipe): every target would fail under ansible-core.
fn guest_python_is_there() {
    vm_common::vm_ok(
        &format!("{GUEST_PYTHON} (see GUEST_PYTHON in tests/vm_conformance.rs)"),
        &format!("test -x {}", rprov_transport::quote(GUEST_PYTHON)),
    );
}

/// Stops the VM when dropped, pass or fail: the targets leave it changed
/// (accounts, units, the cron package's service), and the next VM test
/// binary reuses a running VM as it finds it.
struct Down;

impl Drop for Down {
    fn drop(&mut self) {
        let down = testvm(&["down"]);
        if !down.status.success() {
            eprintln!("`vagrant/testvm.sh down` failed:\n{}", text(&down));
        }
    }
}

#[test]
fn vm_ansible_core_system_targets_match_the_expected_list() {
    let started = Instant::now();
    let integration = shared::integration();
    let venv = common::ansible_venv();
    let (list, partial) = shared::load_list("tests/conformance/expected-vm.yml", &integration);

    let key = vm_common::root().join("vagrant/.vm/id_ed25519");
    let known_hosts = vm_common::root().join("vagrant/.vm/known_hosts");
    let scratch = tempfile::tempdir().expect("temp dir");
    // `output_dir` is a path on this machine, as in the file-level suite;
    // none of these targets (nor the roles they depend on) uses it.
    let bench = Bench {
        integration,
        ansible_playbook: venv.playbook,
        ansible_python: venv.python,
        rprov: PathBuf::from(env!("CARGO_BIN_EXE_rprov")),
        host_line: format!(
            "testhost ansible_host=127.0.0.1 ansible_port=2222 ansible_user=vagrant \
             ansible_ssh_private_key_file={} \
             ansible_ssh_common_args='-o UserKnownHostsFile={}' \
             ansible_become=yes ansible_python_interpreter={GUEST_PYTHON}",
            key.display(),
            known_hosts.display()
        ),
        scratch: scratch.path().to_path_buf(),
        ansible_cache: shared::ansible_cache().map(|c| c.join(format!("vm-{}", recipe_key()))),
        rerun_ansible: shared::rerun_ansible(),
    };

    eprintln!(
        "ansible-core's verdicts are cached in {:?}",
        bench.ansible_cache
    );
    let _down = Down;
    let mut ansible: Vec<Option<runner::Outcome>> = list
        .iter()
        .map(|e| bench.cached_ansible(&e.target))
        .collect();
    if ansible.iter().any(Option::is_none) {
        let t = Instant::now();
        vm_common::up_fresh();
        prepare_guest();
        for (e, seen) in list.iter().zip(ansible.iter_mut()) {
            if seen.is_none() {
                let one = Instant::now();
                *seen = Some(bench.ansible(&e.target));
                eprintln!(
                    "{}: ansible-core took {:.0}s",
                    e.target,
                    one.elapsed().as_secs_f64()
                );
            }
        }
        eprintln!(
            "ansible-core: {:.0}s (boot included)",
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    vm_common::up_fresh();
    prepare_guest();
    let mut results = Vec::new();
    for (e, a) in list.iter().zip(ansible) {
        let Some(a) = a else {
            unreachable!("every target has ansible-core's outcome by now")
        };
        let one = Instant::now();
        let rprov = a.passed.then(|| bench.run(Tool::Rprov, &e.target));
        shared::say(&e.target, &a, rprov.as_ref());
        eprintln!(
            "{}: rprov took {:.0}s",
            e.target,
            one.elapsed().as_secs_f64()
        );
        results.push((a, rprov));
    }
    eprintln!("rprov: {:.0}s (boot included)", t.elapsed().as_secs_f64());
    drop(_down);
    eprintln!(
        "vm_conformance: {:.0}s in all",
        started.elapsed().as_secs_f64()
    );

    let wrong = shared::mismatches(&list, &results);
    assert!(
        wrong.is_empty(),
        "the results in the test VM differ from tests/conformance/expected-vm.yml (update it \
         when a target got better; a target that got worse is a regression):\n\n{}",
        wrong.join("\n\n")
    );
    if partial {
        eprintln!("RPROV_CONFORMANCE_ONLY is set: docs/conformance.md was not checked");
        return;
    }
    let rows = report::rows(&list, &results, &[]);
    shared::check_page_part(true, &report::vm_section(VERSION, &rows));
    shared::check_readme(&report::vm_headline(&rows));
}
