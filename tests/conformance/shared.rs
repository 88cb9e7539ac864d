//! What the file-level suite (`tests/conformance.rs`) and the one in the test
//! VM (`tests/vm_conformance.rs`) share: finding the sdist and the cache,
//! reading an expected list, comparing what was seen with it, and keeping
//! each suite's part of `docs/conformance.md` to itself.

use std::path::{Path, PathBuf};

use super::expected::{self, AnsibleVerdict, Expected, RprovVerdict};
use super::runner::Outcome;

/// The ansible-core version of the sdist (and of the venv's ansible-playbook).
pub const VERSION: &str = "2.19.14";

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The unpacked sdist's `test/integration`, fetched when missing (see
/// `common::ansible_integration`, which the other suites use too).
pub fn integration() -> PathBuf {
    crate::common::ansible_integration()
}

/// Where ansible-core's verdicts are cached, beside the sdist.
pub fn ansible_cache() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(cache.join(format!("rprov/conformance-ansible-{VERSION}")))
}

/// `RPROV_CONFORMANCE_ANSIBLE=rerun`: run ansible-core on every target again,
/// as on a machine that never ran it.
pub fn rerun_ansible() -> bool {
    std::env::var("RPROV_CONFORMANCE_ANSIBLE").as_deref() == Ok("rerun")
}

/// Reads the expected list at `rel` (from the repository root), narrowed to
/// `RPROV_CONFORMANCE_ONLY=a,b` when set (then `true` is returned too: the
/// page is not checked on a partial run), every target checked to exist.
pub fn load_list(rel: &str, integration: &Path) -> (Vec<Expected>, bool) {
    let list_path = root().join(rel);
    let text = std::fs::read_to_string(&list_path)
        .unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));
    let mut list = expected::load(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let only: Option<Vec<String>> = std::env::var("RPROV_CONFORMANCE_ONLY")
        .ok()
        .map(|v| v.split(',').map(|t| t.trim().to_string()).collect());
    if let Some(only) = &only {
        for t in only {
            assert!(
                list.iter().any(|e| &e.target == t),
                "RPROV_CONFORMANCE_ONLY names {t}, which {rel} does not list"
            );
        }
        list.retain(|e| only.contains(&e.target));
    }
    for e in &list {
        assert!(
            integration.join("targets").join(&e.target).is_dir(),
            "{rel} names {}, which ansible-core {VERSION} does not have",
            e.target
        );
    }
    (list, only.is_some())
}

/// One line per target on stderr, as the suite goes, with each run's wall
/// time (what a target costs is weighed before listing it).
pub fn say(target: &str, ansible: &Outcome, rprov: Option<&Outcome>) {
    eprintln!(
        "{target}: ansible-core {} ({:.1} s, {} tasks), rprov {}",
        if ansible.passed { "pass" } else { "fail" },
        ansible.secs,
        ansible.tasks,
        match rprov {
            None => "not run".to_string(),
            Some(o) if o.passed => format!("pass ({:.1} s, {} tasks)", o.secs, o.tasks),
            Some(o) => format!(
                "fail ({:.1} s, {} tasks) at {:?}",
                o.secs,
                o.tasks,
                o.failure.as_ref().map(|f| (&f.task, &f.why))
            ),
        }
    );
}

/// The entry an expected list would need for what was seen, to paste.
fn as_entry(target: &str, ansible: &Outcome, rprov: Option<&Outcome>) -> String {
    let mut s = format!("- target: {target}\n");
    match rprov {
        None => {
            s.push_str("  ansible: fail\n");
            if let Some(f) = &ansible.failure {
                s.push_str(&format!("  first_failing_task: {:?}\n", f.task));
            }
        }
        Some(o) => {
            s.push_str("  ansible: pass\n");
            if o.passed {
                s.push_str("  rprov: pass\n");
            } else {
                s.push_str("  rprov: fail\n");
                if let Some(f) = &o.failure {
                    s.push_str(&format!("  first_failing_task: {:?}\n", f.task));
                }
            }
        }
    }
    s
}

/// Each target's results against its entry: one message per mismatch, with
/// the entry that would match and the end of the tool's output.
pub fn mismatches(list: &[Expected], results: &[(Outcome, Option<Outcome>)]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (e, (ansible, rprov)) in list.iter().zip(results) {
        let seen_ansible = if ansible.passed {
            AnsibleVerdict::Pass
        } else {
            AnsibleVerdict::Fail
        };
        let failing = |o: &Outcome| o.failure.as_ref().map(|f| f.task.clone());
        let matches = match (seen_ansible, e.ansible, rprov) {
            // Where ansible-core itself fails a target depends on the
            // machine (timestamps, the user it runs as): that it fails is
            // what the entry says; rprov is not compared there.
            (AnsibleVerdict::Fail, AnsibleVerdict::Fail, _) => true,
            (AnsibleVerdict::Pass, AnsibleVerdict::Pass, Some(o)) => match e.rprov {
                Some(RprovVerdict::Pass) => o.passed,
                Some(RprovVerdict::Fail | RprovVerdict::KnownDifference) => {
                    !o.passed && failing(o) == e.first_failing_task
                }
                None => false,
            },
            _ => false,
        };
        if !matches {
            let shown = rprov.as_ref().unwrap_or(ansible);
            wrong.push(format!(
                "{}: expected ansible {:?} rprov {:?} at {:?}; seen:\n{}{}",
                e.target,
                e.ansible,
                e.rprov,
                e.first_failing_task,
                as_entry(&e.target, ansible, rprov.as_ref()),
                shown
                    .output
                    .chars()
                    .rev()
                    .take(6000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            ));
        }
    }
    wrong
}

/// Fails unless README.md states `headline`, followed by its link to
/// `docs/conformance.md`.
pub fn check_readme(headline: &str) {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("{headline} (")),
        "README.md must state the headline `{headline}` followed by its link to docs/conformance.md"
    );
}

/// The heading that starts the test VM's part of `docs/conformance.md`:
/// everything before it is `tests/conformance.rs`'s, everything from it on
/// `tests/vm_conformance.rs`'s, so each suite checks and rewrites only its
/// own part (they run in separate test binaries, the VM one only where qemu
/// is).
pub const VM_HEADING: &str = "## In the test VM\n";

/// The page split into (the file-level part, the VM part), the latter empty
/// when the page has none yet.
pub fn split_page(doc: &str) -> (&str, &str) {
    let marker = format!("\n\n{VM_HEADING}");
    match doc.find(&marker) {
        Some(i) => (&doc[..=i], &doc[i + 2..]),
        None => (doc, ""),
    }
}

/// Joins the two parts as [`split_page`] splits them.
pub fn join_page(file_level: &str, vm: &str) -> String {
    if vm.is_empty() {
        file_level.to_string()
    } else {
        format!("{file_level}\n{vm}")
    }
}

/// Checks one suite's part of `docs/conformance.md` is `want`, rewriting
/// that part (and keeping the other) when `RPROV_CONFORMANCE_BLESS` is set.
pub fn check_page_part(vm_part: bool, want: &str) {
    let doc = root().join("docs/conformance.md");
    let current = std::fs::read_to_string(&doc).unwrap_or_default();
    let (file_level, vm) = split_page(&current);
    let have = if vm_part { vm } else { file_level };
    if have == want {
        return;
    }
    let which = if vm_part {
        "its section \"In the test VM\""
    } else {
        "its file-level part"
    };
    if std::env::var_os("RPROV_CONFORMANCE_BLESS").is_some() {
        let page = if vm_part {
            join_page(file_level, want)
        } else {
            join_page(want, vm)
        };
        std::fs::write(&doc, page).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    } else {
        panic!(
            "docs/conformance.md ({which}) is not what this run saw; rerun with \
             RPROV_CONFORMANCE_BLESS=1 to rewrite it. It would be:\n{want}"
        );
    }
}

#[test]
fn the_page_splits_into_the_two_suites_parts_and_joins_back() {
    let file_level = "# Conformance\n\n| a |\n";
    let vm = format!("{VM_HEADING}\n| b |\n");
    let page = join_page(file_level, &vm);
    assert_eq!(split_page(&page), (file_level, vm.as_str()));
    assert_eq!(split_page(file_level), (file_level, ""));
    assert_eq!(join_page(file_level, ""), file_level);
}
