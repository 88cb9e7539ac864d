//! Issue 2, "Tests": a differential test against ansible-core. The same
//! playbook is applied by `ansible-playbook` (2.19, from PyPI, in a venv made
//! by tests/support/ansible-venv.sh) and by rprov, over SSH to the same real
//! loopback sshd, into two separate directories; the resulting trees must have
//! the same files, contents, modes, owners and link targets. Each tool's
//! second run must also report no change: ansible's from the `changed=` of its
//! PLAY RECAP line, rprov's from its JSON recap.
//!
//! The venv is created once under `${XDG_CACHE_HOME:-$HOME/.cache}/rprov/`. If
//! it cannot be created the test FAILS: a differential test that skips itself
//! would pass vacuously on a broken machine.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{apply_json, fixtures, snapshot, target_dir, Entry, USER};
use rprov_testbed::Sshd;

/// The target's Python, for ansible's modules (rprov needs none).
const TARGET_PYTHON: &str = "/usr/bin/python3";

/// A snapshot with the root's own path replaced by `ROOT` in link targets.
fn normalized(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let prefix = root.display().to_string();
    snapshot(root)
        .into_iter()
        .map(|(p, mut e)| {
            if e.kind == 'l' {
                e.content = e.content.replace(&prefix, "ROOT");
            }
            (p, e)
        })
        .collect()
}

/// The `changed=N` of `host`'s line in ansible-playbook's PLAY RECAP.
fn ansible_changed(output: &str, host: &str) -> u64 {
    let line = output
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.split_whitespace().next() == Some(host))
        .unwrap_or_else(|| panic!("no PLAY RECAP line for {host}:\n{output}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("changed="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no changed= in `{line}`"))
}

/// ansible-playbook's output applying `site.yml` in `dir` into `root`, with
/// `extra` arguments (`--check`).
fn run_ansible(
    ansible: &common::AnsibleVenv,
    dir: &Path,
    inv: &Path,
    root: &Path,
    home: &Path,
    extra: &[&str],
) -> String {
    let root = format!("root={}", root.display());
    let mut args = vec!["-e", &root, "site.yml"];
    args.extend(extra);
    let env = [
        ("ANSIBLE_FORCE_COLOR", "0".to_string()),
        ("ANSIBLE_STDOUT_CALLBACK", "default".to_string()),
        // ansible.posix from the pinned `ansible` wheel, and nothing else.
        (
            "ANSIBLE_COLLECTIONS_PATH",
            ansible.collections.display().to_string(),
        ),
        ("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "False".to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let (ok, text) = common::ansible_playbook(ansible, dir, inv, home, &args, &env);
    assert!(ok, "ansible-playbook failed:\n{text}");
    text
}

/// One differential case: a directory under `tests/fixtures/differential`
/// holding a `site.yml` (with its roles, files and templates) that both tools
/// apply into their own `root`.
struct Case {
    dir: &'static str,
    /// Prepares each tool's root before the first run (the same for both).
    prepare: fn(&Path),
    /// What the first run must at least change, so a case that silently does
    /// nothing cannot pass.
    min_changed: u64,
}

/// What both tools made of a [`Case`], once checked to be the same.
struct Outcome {
    /// The tree, with the root's path replaced by `ROOT` in link targets.
    tree: BTreeMap<PathBuf, Entry>,
    /// The root ansible-playbook wrote into, for reading files of the tree.
    by_ansible: tempfile::TempDir,
    /// The root rprov wrote into.
    by_rprov: tempfile::TempDir,
    /// What it takes to run either tool again on the same host.
    ansible: common::AnsibleVenv,
    dir: PathBuf,
    inv: PathBuf,
    work: tempfile::TempDir,
    /// Kept alive for [`Outcome::ansible_changed_on`] and [`Outcome::rprov_changed_on`].
    _sshd: Sshd,
}

impl Outcome {
    /// The tree's entry at `rel`, which must be there.
    fn entry(&self, rel: &str) -> &Entry {
        self.tree
            .get(Path::new(rel))
            .unwrap_or_else(|| panic!("{rel} is not in {:#?}", self.tree.keys()))
    }

    /// A file of the tree, as text.
    fn read(&self, rel: &str) -> String {
        let path = self.by_ansible.path().join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// ansible-playbook's changed count applying the case again into `root`
    /// (for example the root rprov wrote) with `extra` arguments, and its
    /// output.
    fn ansible_changed_on(&self, root: &Path, extra: &[&str]) -> (u64, String) {
        let out = run_ansible(
            &self.ansible,
            &self.dir,
            &self.inv,
            root,
            self.work.path(),
            extra,
        );
        (ansible_changed(&out, "web1"), out)
    }

    /// rprov's changed count applying the case again into `root` (for
    /// example the root ansible-playbook wrote) with `extra` arguments, and
    /// its JSON output.
    fn rprov_changed_on(&self, root: &Path, extra: &[&str]) -> (u64, String) {
        let root = format!("root={}", root.display());
        let mut args = vec!["-e", &root, "site.yml"];
        args.extend_from_slice(extra);
        let run = apply_json(&self.dir, &self.inv, &args);
        run.expect_code(0);
        let changed = run.recap("web1")["changed"].as_u64().unwrap_or(u64::MAX);
        (changed, run.stdout)
    }
}

/// Applies `case` with ansible-playbook and with rprov, each twice, over one
/// loopback sshd into two roots, and asserts: the same tree (files, contents,
/// modes, owners, link targets), the same number of changes on the first run
/// (at least `min_changed`), and none on the second run of either tool.
fn same_as_ansible(case: &Case) -> Outcome {
    let ansible = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory_with_python(work.path(), &sshd, "web1", TARGET_PYTHON);
    let dir = fixtures().join("differential").join(case.dir);
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);
    for root in [by_ansible.path(), by_rprov.path()] {
        (case.prepare)(root);
    }

    let first = run_ansible(&ansible, &dir, &inv, by_ansible.path(), work.path(), &[]);
    let ansible_first = ansible_changed(&first, "web1");
    let second = run_ansible(&ansible, &dir, &inv, by_ansible.path(), work.path(), &[]);
    assert_eq!(
        ansible_changed(&second, "web1"),
        0,
        "ansible's second run changed something:\n{second}"
    );

    let root = format!("root={}", by_rprov.path().display());
    let rp = || apply_json(&dir, &inv, &["-e", &root, "site.yml"]);
    let run = rp();
    run.expect_code(0);
    let rprov_first = run.recap("web1")["changed"].as_u64().unwrap_or(0);
    let run = rp();
    run.expect_code(0);
    assert_eq!(
        run.recap("web1")["changed"],
        0,
        "rprov's second run changed something:\n{}",
        run.stdout
    );

    let a = normalized(by_ansible.path());
    let r = normalized(by_rprov.path());
    let only_a: Vec<_> = a.keys().filter(|k| !r.contains_key(*k)).collect();
    let only_r: Vec<_> = r.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_a.is_empty() && only_r.is_empty(),
        "different files: only ansible {only_a:?}, only rprov {only_r:?}"
    );
    let mut diffs = Vec::new();
    for (path, ea) in &a {
        let er = &r[path];
        if ea != er {
            let text = |root: &Path| std::fs::read_to_string(root.join(path)).unwrap_or_default();
            diffs.push(format!(
                "{}:\n  ansible {ea:?}\n  rprov   {er:?}\n  ansible {:?}\n  rprov   {:?}",
                path.display(),
                text(by_ansible.path()),
                text(by_rprov.path()),
            ));
        }
    }
    assert!(diffs.is_empty(), "trees differ:\n{}", diffs.join("\n"));
    assert_eq!(
        rprov_first, ansible_first,
        "first runs changed a different number of things: ansible {ansible_first}, \
         rprov {rprov_first}\n--- ansible\n{first}\n--- rprov\n{}",
        run.stdout
    );
    assert!(ansible_first >= case.min_changed, "{first}");
    Outcome {
        tree: a,
        by_ansible,
        by_rprov,
        ansible,
        dir,
        inv,
        work,
        _sshd: sshd,
    }
}

/// Nothing to prepare.
fn empty_root(_: &Path) {}

/// Gives `path` (and what is under it) to the login user, as if an earlier
/// run had made it.
fn give_to_user(path: &Path) {
    let chown = Command::new("chown")
        .args(["-R", &format!("{USER}:{USER}")])
        .arg(path)
        .status()
        .expect("chown");
    assert!(chown.success(), "chown {}", path.display());
}

#[test]
fn rprov_and_ansible_core_make_the_same_tree() {
    // The same starting point in both: a stale file for `state: absent`.
    fn stale_file(root: &Path) {
        let var = root.join("var");
        std::fs::create_dir(&var).expect("mkdir var");
        std::fs::write(var.join("stale.txt"), "stale\n").expect("write stale.txt");
        give_to_user(&var);
    }
    let out = same_as_ansible(&Case {
        dir: "modules",
        prepare: stale_file,
        min_changed: 10,
    });
    // The comparison covered what it should.
    let a = &out.tree;
    assert!(a.len() >= 18, "{a:#?}");
    assert!(a.values().any(|e| e.uid == 0) && a.values().any(|e| e.uid != 0));
    assert!(a.values().any(|e| e.kind == 'l'));
}

/// Links in a directory `copy` copies: followed by default, except one that
/// points nowhere or back into the walk, which lands as a link; with
/// `local_follow: no` every link lands as a link to the same text.
#[test]
fn copy_links_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "copy_links",
        prepare: empty_root,
        min_changed: 2,
    });
    let kind = |rel: &str| {
        let e = out.entry(rel);
        (e.kind, e.content.clone())
    };
    // What ansible-core made (and rprov matched), so the comparison is seen
    // to cover each kind of link.
    assert_eq!(kind("links/tree/to_one"), ('l', "one.txt".into()));
    assert_eq!(kind("links/tree/absolute"), ('l', "/etc/passwd".into()));
    assert_eq!(kind("followed/broken"), ('l', "nowhere".into()));
    assert_eq!(kind("followed/to_one").0, 'f');
    assert_eq!(kind("followed/sub/deeper/loop"), ('l', "..".into()));
    // A link out of the tree is followed; one from there back to the tree's
    // top is a loop, kept as a link.
    assert_eq!(kind("followed/out/note.txt").0, 'f');
    assert_eq!(kind("followed/out/back"), ('l', "../tree".into()));
    // `dest: …/made/deeper/` did not exist: made, parents and all.
    assert_eq!(kind("made/deeper/one.txt").0, 'f');
}

/// `copy` with `remote_src` of a directory on the host: a new `dest` is a
/// copy of the tree, an existing one is merged into, as ansible-core's
/// `copy_directory` does (ansible-core's `copy` target covers it too).
#[test]
fn copy_remote_tree_as_ansible() {
    fn trees(root: &Path) {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        };
        for src in ["src_full", "src_merge"] {
            write(&format!("{src}/a.txt"), "a\n");
            write(&format!("{src}/sub/b.txt"), "b\n");
            write(&format!("{src}/sub/deep/c.txt"), "c\n");
            std::fs::set_permissions(
                root.join(src).join("sub/b.txt"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("chmod");
            symlink("a.txt", root.join(src).join("link_a")).expect("ln");
        }
        symlink("nowhere", root.join("src_full/dangling")).expect("ln");
        // The dest to merge into: a file that differs, one of its own, a
        // link to its differing file, a directory both have.
        write("merge/a.txt", "old\n");
        write("merge/only_dest.txt", "mine\n");
        write("merge/sub/b.txt", "b\n");
        symlink("a.txt", root.join("merge/link_a")).expect("ln");
        give_to_user(root);
    }
    let out = same_as_ansible(&Case {
        dir: "copy_remote_tree",
        prepare: trees,
        min_changed: 3,
    });
    // What ansible-core made (and rprov matched), so the comparison is seen
    // to cover each case.
    assert_eq!(out.entry("new1/link_a").kind, 'l');
    assert_eq!(out.entry("new1/dangling").content, "nowhere");
    assert_eq!(out.entry("new1/sub/b.txt").mode & 0o777, 0o600);
    assert_eq!(out.entry("new2/src_merge/link_a").kind, 'f');
    assert_eq!(out.read("new2/src_merge/sub/deep/c.txt"), "c\n");
    assert_eq!(out.read("merge/a.txt"), "a\n");
    assert_eq!(out.entry("merge/link_a").kind, 'l');
    assert_eq!(out.read("merge/only_dest.txt"), "mine\n");
    assert_eq!(out.read("merge/sub/deep/c.txt"), "c\n");
    assert_eq!(out.entry("merge").mode & 0o777, 0o750);
}

/// Issue 11 item 1: a role pulled in by `meta/main.yml` sees the defaults,
/// vars and params of the roles that depend on it (its own defaults above
/// theirs), and its chain above the other roles of the play.
/// `include_role` whose role is known only when it runs, as ansible-core's
/// strategies load it: a loop over role names, a templated `tasks_from`, a
/// role looping inside an include with its own `loop_var`, `when` per item,
/// private and public defaults, a handler of one included role notified by
/// another and by a play task, and a missing role caught by a `rescue:`.
/// `include_tasks`' `apply:` when the file is read at run time (a loop, a
/// templated name): its vars reach the included tasks, as in ansible-core.
#[test]
fn include_apply_at_run_time_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "include_apply",
        prepare: empty_root,
        min_changed: 3,
    });
    assert_eq!(out.read("out-1.txt"), "applied=looped item=1\n");
    assert_eq!(out.read("out-3.txt"), "applied=templated item=3\n");
}

#[test]
fn include_role_at_run_time_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "dynamic_roles",
        prepare: empty_root,
        min_changed: 12,
    });
    assert_eq!(
        out.read("out/alpha.txt"),
        "alpha_default=alpha-default greeting=hello alpha item=alpha\n"
    );
    assert_eq!(
        out.read("out/beta.txt"),
        "beta_default=beta-default alpha_default=unset greeting=hello beta\n"
    );
    assert_eq!(
        out.read("out/alpha_setup.txt"),
        "alpha_default=alpha-default greeting=none\n"
    );
    assert_eq!(
        out.read("out/looper_two_y.txt"),
        "outer=two item=y loop_var=item\n"
    );
    assert_eq!(out.read("out/after_private.txt"), "alpha_default=unset\n");
    assert_eq!(
        out.read("out/after_public.txt"),
        "beta_default=beta-default beta_var=beta-var\n"
    );
    assert_eq!(out.read("out/marker_alpha.txt"), "item=alpha\n");
    assert_eq!(
        out.read("out/handler_alpha.txt"),
        "alpha handler saw alpha_default=alpha-default\n"
    );
    assert_eq!(out.read("out/handler_from_beta.txt"), "notified by beta\n");
    assert_eq!(
        out.read("out/handler_from_play.txt"),
        "notified by a play task\n"
    );
    assert_eq!(out.read("out/rescued.txt"), "rescued\n");
}

#[test]
fn role_defaults_and_vars_follow_the_dependency_chain() {
    let out = same_as_ansible(&Case {
        dir: "role_chain",
        prepare: empty_root,
        min_changed: 9,
    });
    // What ansible-core showed (and rprov matched), so a reader sees what the
    // comparison covered: each chain's `user`, app_user's own defaults above
    // its dependents', app_b's params reaching its dependency, and the parent
    // role names only for a role imported from another role's tasks.
    assert_eq!(
        out.read("users/alpha/seen.txt"),
        "user=alpha level=app_user-default greeting=hello-a flavour=app_user-flavour\n\
         role_name=app_user ansible_role_name=app_user\nparents=none\n"
    );
    assert_eq!(
        out.read("users/beta/leaf.txt"),
        "user=beta level=app_user-default greeting=hello-b flavour=from-b-params\n\
         role_name=app_leaf ansible_role_name=app_leaf\nparents=app_user\nparent_paths=app_user\n"
    );
    assert_eq!(
        out.read("play.txt"),
        "user=beta level=app_b-level greeting=hello-b\nrole_name=none\n"
    );
}

/// Issue 11 item 2: `file: state=directory` gives each directory it creates,
/// parents included, the owner, group and mode asked for; a parent that
/// existed keeps its own.
#[test]
fn file_directory_gives_created_parents_owner_group_and_mode() {
    fn existing_dir(root: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let dir = root.join("existing");
        std::fs::create_dir(&dir).expect("mkdir existing");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).expect("chmod");
        give_to_user(&dir);
    }
    let out = same_as_ansible(&Case {
        dir: "dir_parents",
        prepare: existing_dir,
        min_changed: 5,
    });
    let entry = |rel: &str| out.entry(rel);
    // What the comparison covered: created parents owned by the user with
    // the task's mode, and the existing parent untouched.
    let pw = entry("home/rprovpw/.config/containers/systemd").uid;
    assert_ne!(pw, 0);
    for rel in ["home", "home/rprovpw/.config"] {
        let e = entry(rel);
        assert_eq!((e.mode, e.uid), (0o700, pw), "{rel}: {e:?}");
    }
    assert_eq!(entry("existing").mode, 0o711);
    assert_eq!(entry("existing/new").mode, 0o750);
}

/// Issue 11 item 6: `when`, `failed_when`, `changed_when` and `until` hold
/// one expression each, commas and all; only a YAML list is a list. And, as
/// in Ansible, `changed_when` is evaluated first: `failed_when` sees its
/// verdict in the registered result.
#[test]
fn conditions_are_not_split_at_commas() {
    let out = same_as_ansible(&Case {
        dir: "conditions",
        prepare: empty_root,
        min_changed: 4,
    });
    for f in ["when-in-list", "when-version", "when-list"] {
        assert!(out.tree.contains_key(Path::new(f)), "{f}: {:#?}", out.tree);
    }
    assert!(!out.tree.contains_key(Path::new("when-false")));
    assert_eq!(
        out.read("registered"),
        "r: rc=1 failed=no changed=no\nu: ok attempts=1\nagain: attempts=2 gave_up: attempts=2 failed=True held: attempts=1\no: failed=no changed=no\n"
    );
}

/// Issue 18: include_vars (precedence, a directory under one name),
/// group_by and add_host (later plays target what they made; the added host
/// is reached with the connection variables it was given) and with_sequence.
#[test]
fn include_vars_group_by_add_host_and_with_sequence_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "dynamic_inventory",
        prepare: empty_root,
        // vars, inventory, two loops (a loop counts once), made-web1.
        min_changed: 5,
    });
    for f in [
        "seq-n000",
        "seq-n005",
        "seq-n010",
        "short-1",
        "short-3",
        "made-web1",
        "added-web2",
    ] {
        assert!(out.tree.contains_key(Path::new(f)), "{f}: {:#?}", out.tree);
    }
    assert!(out
        .read("vars")
        .starts_with("over=included\nfact_wins=fact\n"));
}

/// Issue 11 item 9: a command that cannot be found fails its task (exit
/// status 127 through the shell), it does not make the host unreachable;
/// `ignore_errors` goes on.
#[test]
fn a_missing_program_fails_the_task_not_the_host() {
    let out = same_as_ansible(&Case {
        dir: "exit_127",
        prepare: empty_root,
        min_changed: 1,
    });
    // ansible-core: `command` fails with Python's ENOENT (rc 2) before
    // anything runs, `shell` with the shell's 127.
    assert_eq!(
        out.read("after"),
        "command: rc=2 failed=yes\nshell: rc=127 failed=yes\n"
    );
}

/// `command` expands `$VAR`, `${VAR}` and a leading `~` in each word as
/// ansible-core's run_command does (unset variables stay as written), and
/// `expand_argument_vars: false` turns that off.
#[test]
fn command_expands_variables_and_home_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "command_expand",
        prepare: empty_root,
        min_changed: 1,
    });
    // Both tools wrote the same file (`same_as_ansible`); this is what it says.
    let seen = out.read("seen");
    let (expanded, literal) = seen.split_once('\n').unwrap_or_default();
    let words: Vec<&str> = expanded.split('|').collect();
    assert_eq!(
        words[..4],
        ["one two", "one two", "aone twob", "$RPROV_UNSET"],
        "{seen}"
    );
    assert!(
        words[4].starts_with('/') && words[4].ends_with("/x"),
        "{seen}"
    );
    assert_eq!(words[5..], ["*", "${1}", ""], "{seen}");
    assert_eq!(literal, "$RPROV_X|~|\n");
}

/// Issue 11 item 7: a template file's `include`, `import`, `from` and
/// `extends` find their files in the role's `templates/`, the template's
/// own directory and the playbook's `templates/`.
#[test]
fn template_includes_find_files_as_ansible_does() {
    let out = same_as_ansible(&Case {
        dir: "template_include",
        prepare: empty_root,
        min_changed: 2,
    });
    // ansible-core's output: an included file's last newline is dropped, the
    // named template's kept; `only_in_the_part` is named by part.j2 alone.
    assert_eq!(
        out.read("page.txt"),
        "# demo page\npart of demo: named only by part.j2listen 80\nlisten 443\n\n# end\n"
    );
    assert_eq!(
        out.read("site.conf"),
        "# demo site, from the role's templates/part of demo: named only by part.j2listen 8080\n"
    );
}

/// Issue 11 item 4: rprov's `authorized_key` writes the bytes
/// ansible.posix's module writes (a key without a comment, options, a
/// replaced key's new place, `exclusive`, `state: absent`), so a file keyed
/// by one tool is left alone by the other.
#[test]
fn authorized_key_writes_what_ansible_posix_writes() {
    const K1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICHQUK8EyznND/xCNkzRLSFOCX383Hbf1fvgtDast0K/";
    const K2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIMAzvR2xeKPsDwugJaKtGct98vEbdKZWzaKxhPzv7K5d";
    const K3: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKDkw8imQnPgHi2EwnFdUExhLGF4THQnUIWiF1dyu9qI";
    const K4: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIK2N/f3CDCuxeOCNJauN0GaJNdYujECsxJzqSXVTz541";
    const K6: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIMGGEX93UaAJCCyY/T33v+DooezleFfYqDXmVzy0EqoV";
    fn keyed_by_hand(root: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let keys = root.join("keys");
        let write = |rel: &str, text: &str| {
            let dir = keys.join(rel);
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            let file = dir.join("authorized_keys");
            std::fs::write(&file, text).expect("write authorized_keys");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        };
        write(
            "main",
            &format!(
                "# keys for the test user\nssh-ed25519 {K1} old comment\n\
                 no-pty ssh-ed25519 {K4} to-remove\n\nssh-ed25519 {K6}\n"
            ),
        );
        write(
            "excl",
            &format!("ssh-ed25519 {K1} one\nssh-ed25519 {K2} two\nssh-ed25519 {K3}\n"),
        );
        give_to_user(&keys);
    }
    let out = same_as_ansible(&Case {
        dir: "authorized_key",
        prepare: keyed_by_hand,
        min_changed: 8,
    });
    // What ansible.posix wrote (and rprov matched): the whole file rewritten,
    // a key without a comment with a trailing space, the replaced key moved
    // after the others, options as `k=v,flag`.
    let main = out.read("keys/main/authorized_keys");
    assert!(main.contains(&format!("ssh-ed25519 {K2} \n")), "{main}");
    assert!(
        main.contains(&format!("ssh-ed25519 {K1} new comment\n")),
        "{main}"
    );
    assert!(!main.contains(K4), "{main}");
    // Each tool's file is left alone by the other.
    let (changed, text) = out.rprov_changed_on(out.by_ansible.path(), &[]);
    assert_eq!(changed, 0, "rprov changed what ansible wrote:\n{text}");
    let (changed, text) = out.ansible_changed_on(out.by_rprov.path(), &[]);
    assert_eq!(changed, 0, "ansible changed what rprov wrote:\n{text}");
}

/// rprov's `sysctl` edits a sysctl file as ansible.posix's module does: the
/// file rewritten with `key=value` lines, comments kept, duplicates dropped,
/// the value normalised (booleans, surrounding whitespace), a file already
/// right left alone; so each tool leaves the other's file alone. Files only
/// (`sysctl_set: no`, `reload: no`): the kernel is never touched.
#[test]
fn sysctl_writes_what_ansible_posix_writes() {
    const SAME: &str = "  fs.file-max = 100000  \n# keep\nfs.file-max=100000\n";
    fn sysctl_files(root: &Path) {
        let dir = root.join("sysctl");
        std::fs::create_dir_all(&dir).expect("mkdir sysctl");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).expect("write sysctl file");
        };
        write(
            "main.conf",
            "# kernel settings\n  net.ipv4.ip_forward = 0\n\nvm.swappiness=10\n; legacy\n\
             net.ipv4.ip_forward=0\nkernel.panic = 5\nvm.swappiness = 10\r\nnot a setting",
        );
        write("same.conf", SAME);
        write("dup.conf", "kernel.x=1\nkernel.y = 2\nkernel.x=3\n");
        write("absent.conf", "a.b=1\n# c\na.b = 2\nc.d=3\n");
        give_to_user(&dir);
    }
    let out = same_as_ansible(&Case {
        dir: "sysctl",
        prepare: sysctl_files,
        // 4 on main.conf, dup.conf, absent.conf, new.conf.
        min_changed: 7,
    });
    // What ansible.posix wrote (and rprov matched).
    assert_eq!(
        out.read("sysctl/main.conf"),
        "# kernel settings\nnet.ipv4.ip_forward=1\n\nvm.swappiness=10\n; legacy\n\
         not a setting\nnet.core.somaxconn=4096\nnet.ipv4.tcp_rmem=4096\t87380   6291456\n"
    );
    assert_eq!(out.read("sysctl/same.conf"), SAME);
    assert_eq!(out.read("sysctl/dup.conf"), "kernel.x=1\nkernel.y=2\n");
    assert_eq!(out.read("sysctl/absent.conf"), "# c\nc.d=3\n");
    assert_eq!(out.read("sysctl/new.conf"), "net.y=1\n");
    // Each tool's files are left alone by the other.
    let (changed, text) = out.rprov_changed_on(out.by_ansible.path(), &[]);
    assert_eq!(changed, 0, "rprov changed what ansible wrote:\n{text}");
    let (changed, text) = out.ansible_changed_on(out.by_rprov.path(), &[]);
    assert_eq!(changed, 0, "ansible changed what rprov wrote:\n{text}");
}

/// rprov's `apt_key` adds and removes the keys ansible-core's does, in
/// keyrings under the test's root (with `become`: apt-key needs root; the
/// machine's own apt keys are never named), with the same changed counts.
#[test]
fn apt_key_keeps_the_keys_ansible_core_keeps() {
    fn old_keyring(root: &Path) {
        let keys = root.join("keys");
        std::fs::create_dir_all(&keys).expect("mkdir keys");
        std::fs::copy(
            "/usr/share/keyrings/debian-archive-bullseye-automatic.gpg",
            keys.join("old.gpg"),
        )
        .expect("copy Debian's bullseye keyring (the test needs debian-archive-keyring)");
        give_to_user(&keys);
    }
    let out = same_as_ansible(&Case {
        dir: "apt_key",
        prepare: old_keyring,
        // ring.gpg gets two keys, old.gpg loses one.
        min_changed: 3,
    });
    let (changed, text) = out.rprov_changed_on(out.by_ansible.path(), &[]);
    assert_eq!(changed, 0, "rprov changed what ansible did:\n{text}");
    let (changed, text) = out.ansible_changed_on(out.by_rprov.path(), &[]);
    assert_eq!(changed, 0, "ansible changed what rprov did:\n{text}");
}

/// Issue 11 item 3: `apt` with `update_cache` and packages that need
/// nothing reports changed only when apt installed, removed or upgraded
/// something, in a run and in `--check`, as ansible-core's apt module does.
/// Runs apt on this machine with `become`: only packages it has, at the
/// newest version its mirrors offer (checked first, so nothing is upgraded).
#[test]
fn apt_cache_update_with_packages_is_no_change_by_itself() {
    let packages = ["sudo", "openssh-server"];
    let update = Command::new("apt-get")
        .args(["update", "-q"])
        .output()
        .expect("apt-get update");
    assert!(
        update.status.success(),
        "apt-get update failed (the test needs Debian's mirrors): {}",
        String::from_utf8_lossy(&update.stderr)
    );
    let policy = Command::new("apt-cache")
        .arg("policy")
        .args(packages)
        .env("LC_ALL", "C")
        .output()
        .expect("apt-cache policy");
    let policy = String::from_utf8_lossy(&policy.stdout);
    // Each package's `Installed:` and `Candidate:` lines, in order.
    let values = |name: &str| -> Vec<String> {
        policy
            .lines()
            .filter_map(|l| l.trim().strip_prefix(name).map(str::to_string))
            .collect()
    };
    let (installed, candidates) = (values("Installed: "), values("Candidate: "));
    assert!(
        installed.len() == packages.len()
            && installed
                .iter()
                .zip(&candidates)
                .all(|(have, cand)| have != "(none)" && have == cand),
        "this test runs `state: latest` on {packages:?}: each must be installed at its \
         candidate, or the test would install or upgrade it on this machine; \
         apt-cache policy says:\n{policy}"
    );

    let out = same_as_ansible(&Case {
        dir: "apt_cache",
        prepare: empty_root,
        min_changed: 1,
    });
    // What ansible-core said (and rprov matched): no apt task changed.
    assert_eq!(
        out.read("apt-changed"),
        "present=False latest=False valid=False\n"
    );
    // And in check mode, on the trees each tool made.
    let (changed, text) = out.ansible_changed_on(out.by_ansible.path(), &["--check"]);
    assert_eq!(changed, 0, "ansible --check:\n{text}");
    let (changed, text) = out.rprov_changed_on(out.by_rprov.path(), &["--check"]);
    assert_eq!(changed, 0, "rprov --check:\n{text}");
}

/// A play's `connection: local` runs its tasks on the controller, and an
/// `ansible_connection` variable beats the keyword, as in ansible-core.
#[test]
fn the_connection_keyword_and_the_variable_above_it_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "connection_keyword",
        prepare: empty_root,
        min_changed: 1,
    });
    let seen = out.read("connection");
    let parts: Vec<&str> = seen.trim_end().split('|').collect();
    assert_eq!(
        parts[1..],
        [format!("{USER} ssh"), USER.to_string()],
        "{seen}"
    );
    let (local_user, local) = parts[0].split_once(' ').unwrap_or_default();
    assert_eq!(local, "local", "{seen}");
    assert_ne!(local_user, USER, "{seen}");
}

#[test]
fn the_implicit_localhost_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "implicit_localhost",
        prepare: empty_root,
        min_changed: 1,
    });
    assert_eq!(out.read("web"), "web1 everyone\n");
    let seen = out.read("local");
    let parts: Vec<&str> = seen.split('|').collect();
    assert_eq!(
        parts[..8],
        [
            "localhost",
            "local",
            "everyone",
            "controller",
            "[]",
            "['web1']",
            "controller",
            "everyone"
        ],
        "{seen}"
    );
    // The play ran on the controller, as the user running the tests, not
    // over the ssh login.
    assert_ne!(parts[8], USER, "{seen}");
}

/// Both tools' first run of the `cli_flags` case with `flags`, over `sshd`:
/// what each wrote, ansible's first.
fn with_flags(sshd: &Sshd, flags: &[&str]) -> (String, String) {
    let ansible = common::ansible_venv();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = fixtures().join("differential").join("cli_flags");
    let known_hosts = format!("-o UserKnownHostsFile={}", sshd.known_hosts.display());
    let key = sshd.key_file.display().to_string();
    let mut args = flags.to_vec();
    args.extend(["--private-key", &key]);
    let mut out = Vec::new();
    for tool in ["ansible", "rprov"] {
        let root = target_dir(USER);
        let root_var = format!("root={}", root.path().display());
        let mut all = vec!["-e", &root_var];
        all.extend(&args);
        all.push("site.yml");
        let env = [
            ("ANSIBLE_SSH_COMMON_ARGS", known_hosts.as_str()),
            ("ANSIBLE_PYTHON_INTERPRETER", TARGET_PYTHON),
        ];
        if tool == "ansible" {
            let env = env.map(|(k, v)| (k.to_string(), v.to_string()));
            let (ok, text) = common::ansible_playbook_args(&ansible, &dir, work.path(), &all, &env);
            assert!(ok, "ansible-playbook {all:?} failed:\n{text}");
        } else {
            let mut rp = vec!["apply", "--output", "json"];
            rp.extend(&all);
            common::rprov_env(&dir, &rp, &env).expect_code(0);
        }
        let path = root.path().join("flags");
        out.push(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{tool}: {e}")));
    }
    (out.remove(0), out.remove(0))
}

#[test]
fn command_line_flags_as_ansible() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let host_list = format!("{}:{},", sshd.addr, sshd.port);
    // A host list, the login and key from flags, and -b.
    let (ansible, rprov) = with_flags(&sshd, &["-i", &host_list, "-u", USER, "-b"]);
    assert_eq!(rprov, ansible, "rprov against ansible-playbook");
    assert_eq!(
        ansible,
        format!(
            "{}|{}|['ungrouped']|root|{USER}|ssh\n",
            sshd.addr, sshd.port
        )
    );
    // -c local: the same host list, reached on the controller.
    let (ansible, rprov) = with_flags(&sshd, &["-i", &host_list, "-c", "local"]);
    assert_eq!(rprov, ansible, "rprov against ansible-playbook");
    assert!(ansible.ends_with("|local\n"), "{ansible}");
    assert!(!ansible.contains(&format!("|{USER}|{USER}|")), "{ansible}");
}

#[test]
fn listings_as_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("listing");
    let work = tempfile::tempdir().expect("tempdir");
    for flags in [
        &["--list-hosts", "--list-tasks"][..],
        &["--list-tasks", "--tags", "rt,never"],
        &["--list-hosts", "--limit", "web2:localhost"],
        &["--list-tasks", "--skip-tags", "p1"],
        &["--list-tags"],
        &["--list-tags", "--list-tasks", "--tags", "blk"],
        &["--syntax-check"],
    ] {
        let by_ansible = std::process::Command::new(&ansible.playbook)
            .current_dir(&dir)
            .args(["-i", "hosts.ini", "site.yml"])
            .args(flags)
            .env("ANSIBLE_CONFIG", work.path().join("none.cfg"))
            .env("ANSIBLE_LOCAL_TEMP", work.path().join("tmp"))
            .output()
            .expect("ansible-playbook");
        assert!(by_ansible.status.success(), "{by_ansible:?}");
        let mut args = vec!["apply", "-i", "hosts.ini", "site.yml"];
        args.extend(flags);
        let by_rprov = common::rprov(&dir, &args);
        by_rprov.expect_code(0);
        assert_eq!(
            hosts_sorted(&by_rprov.stdout),
            hosts_sorted(&String::from_utf8_lossy(&by_ansible.stdout)),
            "{flags:?}"
        );
    }
}

/// A listing with each play's host lines sorted: ansible-playbook prints
/// them from a Python set, in no fixed order.
fn hosts_sorted(listing: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hosts: Vec<&str> = Vec::new();
    let mut in_hosts = false;
    for line in listing.split_inclusive('\n') {
        if in_hosts && line.starts_with("      ") && !line.contains('\t') {
            hosts.push(line);
            continue;
        }
        hosts.sort_unstable();
        out.extend(hosts.drain(..).map(str::to_string));
        in_hosts = line.starts_with("    hosts (");
        out.push(line.to_string());
    }
    hosts.sort_unstable();
    out.extend(hosts.drain(..).map(str::to_string));
    out.concat()
}

/// Each file under `root` with its content, by name.
fn files_in(root: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(root)
        .expect("read root")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(e.path()).expect("read"))
        })
        .collect()
}

#[test]
fn play_hosts_and_imported_playbooks_as_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("play_hosts");
    let work = tempfile::tempdir().expect("tempdir");
    for extra in [&[][..], &["--tags", "imp"]] {
        let mut trees = Vec::new();
        for tool in ["ansible", "rprov"] {
            let root = tempfile::tempdir().expect("tempdir");
            let root_var = format!("root={}", root.path().display());
            let mut args = vec!["-i", "a,b,c,d,e", "-c", "local", "-e", &root_var];
            args.extend(extra);
            args.push("site.yml");
            let code = if tool == "ansible" {
                let env = [(
                    "ANSIBLE_PYTHON_INTERPRETER".to_string(),
                    "/usr/bin/python3".to_string(),
                )];
                let (ok, text) =
                    common::ansible_playbook_args(&ansible, &dir, work.path(), &args, &env);
                (!ok).then_some(text)
            } else {
                let mut rp = vec!["apply"];
                rp.extend(&args);
                let run = common::rprov(&dir, &rp);
                (run.code != 0).then(|| run.all())
            };
            trees.push((files_in(root.path()), code));
        }
        let (by_rprov, rprov_failed) = trees.pop().expect("rprov");
        let (by_ansible, ansible_failed) = trees.pop().expect("ansible");
        assert_eq!(by_rprov, by_ansible, "{extra:?}");
        // b and c fail in the whole run; with --tags imp no task fails.
        assert_eq!(rprov_failed.is_some(), extra.is_empty(), "{rprov_failed:?}");
        assert_eq!(
            ansible_failed.is_some(),
            extra.is_empty(),
            "{ansible_failed:?}"
        );
        if extra.is_empty() {
            assert_eq!(
                by_ansible["a.before"],
                "['a', 'b', 'c', 'd', 'e'] ['a', 'c', 'd', 'e'] ['a'] ['a']\n"
            );
            assert_eq!(by_ansible["e.after"], "['a', 'd', 'e'] ['e']\n");
            assert!(!by_ansible.contains_key("d.after"));
            assert_eq!(by_ansible["e.conditional"], "conditional by the play\n");
            assert!(!by_ansible.contains_key("a.conditional"));
        }
        assert_eq!(by_ansible["a.imported"], "imported by the import\n");
        assert_eq!(by_ansible["a.templated"], "templated by the play\n");
    }
}

/// `meta: clear_host_errors` on one host brings every host that failed
/// back for the next play, not for the rest of its own.
#[test]
fn clear_host_errors_as_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("clear_host_errors");
    let work = tempfile::tempdir().expect("tempdir");
    let mut trees = Vec::new();
    for tool in ["ansible", "rprov"] {
        let root = tempfile::tempdir().expect("tempdir");
        let root_var = format!("root={}", root.path().display());
        let args = ["-i", "a,b,c", "-c", "local", "-e", &root_var, "site.yml"];
        let failed = if tool == "ansible" {
            let env = [(
                "ANSIBLE_PYTHON_INTERPRETER".to_string(),
                "/usr/bin/python3".to_string(),
            )];
            !common::ansible_playbook_args(&ansible, &dir, work.path(), &args, &env).0
        } else {
            let mut rp = vec!["apply"];
            rp.extend(args);
            common::rprov(&dir, &rp).code != 0
        };
        trees.push((files_in(root.path()), failed));
    }
    let (by_rprov, rprov_failed) = trees.pop().expect("rprov");
    let (by_ansible, ansible_failed) = trees.pop().expect("ansible");
    assert_eq!(by_rprov, by_ansible);
    // The last play had no failure: both exit 0.
    assert_eq!((ansible_failed, rprov_failed), (false, false));
    assert!(!by_ansible.contains_key("b.before_clear"));
    assert_eq!(by_ansible["b.after_clear"], r#"["a", "b", "c"]"#);
}

#[test]
fn role_argument_specs_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "role_argument_specs",
        prepare: empty_root,
        min_changed: 3,
    });
    assert_eq!(
        out.read("checked-8080"),
        "8080 no mode: a spec default sets no variable\n"
    );
    assert_eq!(out.read("other"), "7\n");
    let errors = out.read("errors");
    assert!(
        errors.contains("value of mode must be one of: fast, safe, got: slow"),
        "{errors}"
    );
    assert_eq!(out.read("checked-9090"), "9090 slow\n");
    assert_eq!(out.read("bool_errors"), "1 True\n");
}

/// `action: "{{ … }}"`: the module is named when the task runs.
#[test]
fn templated_action_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "templated_action",
        prepare: empty_root,
        min_changed: 4,
    });
    for rel in ["by-args", "free-form", "one", "two", "registered"] {
        assert!(out.tree.contains_key(Path::new(rel)), "{rel} missing");
    }
    let registered =
        std::fs::read_to_string(out.by_rprov.path().join("registered")).expect("registered");
    assert_eq!(registered, "by-args 2 two\n");
}

#[test]
fn module_defaults_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "module_defaults",
        prepare: empty_root,
        min_changed: 10,
    });
    let mode = |rel: &str| out.entry(rel).mode & 0o7777;
    // The trees are ansible-core's and rprov's alike; these say the
    // defaults took effect at all.
    for (rel, m) in [
        ("from-play", 0o640),
        ("own-wins", 0o600),
        ("from-block", 0o604),
        ("dir", 0o700),
        ("from-task", 0o444),
        ("from-group", 0o611),
        ("from-extended-group", 0o611),
        ("module-over-group", 0o640),
        ("inner-module-over-group", 0o622),
    ] {
        assert_eq!(mode(rel), m, "{rel}");
    }
    // The task's `ansible.builtin.file` entry replaced the play's `file`
    // one, its `mode` with it.
    assert_ne!(mode("replaced"), 0o700);
}

/// Ansible's argument splat on rprov's host modules: the arguments as one
/// template (the module's line, a loop's `item`, `args:`), under those
/// written beside it and over `module_defaults`; an argument the module
/// does not take fails the task when it runs.
#[test]
fn argument_splats_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "args_splat",
        prepare: empty_root,
        min_changed: 4,
    });
    let mode = |rel: &str| out.entry(rel).mode & 0o7777;
    assert_eq!(mode("copied"), 0o604, "module_defaults under the template");
    assert_eq!(mode("default-mode"), 0o640);
    assert_eq!(mode("own-mode"), 0o600, "the template over module_defaults");
    assert_eq!(out.read("lines"), "x\ny\n");
    assert_eq!(out.read("written-wins"), "written wins\n");
}

/// `find` over the same prepared tree: the same matches, counts, messages,
/// skipped paths and stat fields (globs, regexes, `contains`, `size`, `age`,
/// `depth`, links, `mode`, `limit`, checksums), as ansible-core's module
/// reports them.
/// `fetch` writes on the controller the bytes ansible-core's action plugin
/// writes, where it writes them, and registers the same checksums; a second
/// run of either tool changes nothing.
#[test]
fn fetch_as_ansible() {
    fn sources(root: &Path) {
        let src = root.join("src");
        std::fs::create_dir_all(&src).expect("mkdir");
        std::fs::write(src.join("a.txt"), "hello\n").expect("write");
        let bin: Vec<u8> = (0..=255u8).rev().collect();
        std::fs::write(src.join("b.bin"), bin).expect("write");
    }
    let out = same_as_ansible(&Case {
        dir: "fetch",
        prepare: sources,
        min_changed: 3,
    });
    assert_eq!(out.read("got/a.txt"), "hello\n");
    assert!(
        out.read("registered.json")
            .contains("the remote file does not exist, not transferring, ignored"),
        "{}",
        out.read("registered.json")
    );
}

#[test]
fn find_as_ansible() {
    fn tree(root: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let t = root.join("tree");
        std::fs::create_dir_all(t.join("sub/deep/deeper")).expect("mkdir");
        std::fs::create_dir_all(t.join("subb")).expect("mkdir");
        for (rel, text) in [
            ("a.conf", "listen 8080\n"),
            ("b.txt", "hello\n"),
            ("old.txt", "from long ago\n"),
            (".hidden.conf", "listen 1\n"),
            ("sub/c.conf", "# c\nlisten 443\n"),
            ("sub/deep/d.txt", "d\n"),
            ("sub/deep/deeper/e.conf", "listen no\n"),
            ("secret", "s\n"),
        ] {
            std::fs::write(t.join(rel), text).expect("write");
        }
        let old = std::fs::File::options()
            .write(true)
            .open(t.join("old.txt"))
            .expect("open old.txt");
        old.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_880_000))
            .expect("mtime");
        std::fs::set_permissions(t.join("secret"), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        std::os::unix::fs::symlink("sub", t.join("link")).expect("symlink");
        give_to_user(&t);
    }
    let out = same_as_ansible(&Case {
        dir: "find",
        prepare: tree,
        min_changed: 1,
    });
    let summary = out.read("summary");
    assert!(
        summary.starts_with("a.conf b.txt old.txt secret\nmatched=4 examined="),
        "{summary}"
    );
    assert!(
        summary.contains("msg=Limit of matches reached"),
        "{summary}"
    );
    assert!(
        summary.contains("skipped='ROOT/missing' is not a directory"),
        "{summary}"
    );
}

/// `async` jobs as ansible-core runs them: `poll: 0` starts the command in
/// the background and `async_status` (retried with `until`) gives its
/// result once it finished; `poll` > 0 waits, and a command past its
/// `async` seconds fails with ansible-core's message; one of rprov's own
/// modules waited for gives a finished job's result, as ansible-core's
/// async wrapper does; `ansible_async_dir` is where a job's files go (and
/// where `async_status` looks), made by a job that is waited for too.
#[test]
fn async_jobs_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "async",
        prepare: |_| {},
        min_changed: 1,
    });
    let summary = out.read("summary");
    assert_eq!(
        summary,
        "started=True finished=False id=True\n\
         waited rc=3 stdout=done stderr=oops finished=True\n\
         fast stdout=fast finished=True\n\
         slow failed=True as_ansible=True\n\
         cleaned=True\n\
         native=ansible_job_id,changed,failed,finished,results_file,started,stat,stderr,stderr_lines,stdout,stdout_lines isdir=True finished=True\n\
         custom file=True elsewhere=could not find job stdout=elsewhere dirs=[True, True]\n",
    );
}

/// The test login's crontab, before the cron case: a line of its own, a
/// variable, a job of ansible's to change and one to remove.
const CRON_SEED: &str = "# kept as it is\nSHELL=/bin/sh\nMAILTO=\"root\"\n#Ansible: seeded\n0 1 * * * /bin/true\n#Ansible: old job\n* * * * * /bin/old\n";

/// `crontab -u USER` with `args` (run as root by the test), its stdout.
fn crontab(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("crontab")
        .args(["-u", USER])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("crontab (run scripts/testenv.sh as root: it installs cron)");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("crontab stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("crontab");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cron` leaves the test login's crontab as ansible-core's leaves it, with
/// the same changed counts, in a run, a second run and `--check` (which
/// writes nothing). The crontab is the login's own, so each tool starts from
/// the same seeded one in turn; the test login's crontab is removed at the end.
#[test]
fn cron_leaves_the_crontab_ansible_leaves() {
    struct Cleanup;
    impl Drop for Cleanup {
        fn drop(&mut self) {
            crontab(&["-r"], None);
        }
    }
    let _cleanup = Cleanup;
    let ansible = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory_with_python(work.path(), &sshd, "web1", TARGET_PYTHON);
    let dir = fixtures().join("differential").join("cron");
    let seed = || {
        crontab(&["-"], Some(CRON_SEED));
        assert_eq!(crontab(&["-l"], None), CRON_SEED);
    };
    let rprov = |root: &Path, extra: &[&str]| {
        let root = format!("root={}", root.display());
        let mut args = vec!["-e", &root, "site.yml"];
        args.extend_from_slice(extra);
        let run = apply_json(&dir, &inv, &args);
        run.expect_code(0);
        (
            run.recap("web1")["changed"].as_u64().unwrap_or(u64::MAX),
            run.stdout,
        )
    };
    let ansible_run = |root: &Path, extra: &[&str]| {
        let out = run_ansible(&ansible, &dir, &inv, root, work.path(), extra);
        (ansible_changed(&out, "web1"), out)
    };
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);

    // --check first: the same count, and the crontab untouched.
    seed();
    let (a_check, text) = ansible_run(by_ansible.path(), &["--check"]);
    assert_eq!(crontab(&["-l"], None), CRON_SEED, "{text}");
    let (r_check, text) = rprov(by_rprov.path(), &["--check"]);
    assert_eq!(
        crontab(&["-l"], None),
        CRON_SEED,
        "rprov --check wrote:\n{text}"
    );
    assert_eq!(
        r_check, a_check,
        "--check counts: ansible {a_check}, rprov {r_check}"
    );

    seed();
    let (a_first, text) = ansible_run(by_ansible.path(), &[]);
    assert!(a_first >= 7, "{text}");
    let (a_second, text) = ansible_run(by_ansible.path(), &[]);
    assert_eq!(a_second, 0, "{text}");
    let by_ansible_tab = crontab(&["-l"], None);

    seed();
    let (r_first, text) = rprov(by_rprov.path(), &[]);
    assert_eq!(
        r_first, a_first,
        "first runs: ansible {a_first}, rprov {r_first}\n{text}"
    );
    let (r_second, text) = rprov(by_rprov.path(), &[]);
    assert_eq!(r_second, 0, "rprov's second run changed something:\n{text}");
    let by_rprov_tab = crontab(&["-l"], None);
    assert_eq!(by_rprov_tab, by_ansible_tab);
    let result =
        |root: &Path| std::fs::read_to_string(root.join("cron-result")).unwrap_or_default();
    assert_eq!(result(by_rprov.path()), result(by_ansible.path()));
    // And ansible finds nothing to do in what rprov left.
    let (again, text) = ansible_run(by_ansible.path(), &[]);
    assert_eq!(again, 0, "ansible changed what rprov wrote:\n{text}");
}

/// The accounts of the `user` fixture, as the host has them: passwd's
/// comment, home and shell, whether the hash is locked, shadow's aging
/// fields, the groups, the home's mode and the key files' owners.
fn accounts() -> String {
    let script = r#"for u in rpdiff-u1 rpdiff-u2 rpdiff-u3 rpdiff-u4 rpdiff-u5; do
  p=$(getent passwd "$u") || { echo "$u: none"; continue; }
  h=$(echo "$p" | cut -d: -f6)
  s=$(getent shadow "$u")
  lock=$(echo "$s" | cut -d: -f2 | cut -c1)
  echo "$u: $(echo "$p" | cut -d: -f5-7) lock=$lock aging=$(echo "$s" | cut -d: -f4-8) groups=$(id -nG "$u")"
  [ -d "$h" ] && echo "  home $(stat -c '%a %U' "$h")"
  for k in "$h"/.ssh/*; do [ -e "$k" ] && echo "  $(basename "$k") $(stat -c '%a %U' "$k")"; done
done"#;
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the `user` fixture's accounts and their homes.
fn remove_accounts() {
    for n in 1..=5 {
        let _ = Command::new("userdel")
            .args(["-r", &format!("rpdiff-u{n}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// `user` leaves the accounts ansible-core leaves, registers what it
/// registers, and changes as much: expiry and password aging, the home made
/// for an account that had none, an ssh key made and then kept, a lock
/// beside an unchanged hash, the clear-text warning. Each tool runs twice
/// (the second changing nothing) from no accounts at all.
#[test]
fn user_accounts_as_ansible() {
    struct Cleanup;
    impl Drop for Cleanup {
        fn drop(&mut self) {
            remove_accounts();
        }
    }
    let _cleanup = Cleanup;
    remove_accounts();
    let ansible = common::ansible_venv();
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory_with_python(work.path(), &sshd, "web1", TARGET_PYTHON);
    let dir = fixtures().join("differential").join("user");
    let by_ansible = target_dir(USER);
    let by_rprov = target_dir(USER);

    let (a_first, text) = {
        let out = run_ansible(&ansible, &dir, &inv, by_ansible.path(), work.path(), &[]);
        (ansible_changed(&out, "web1"), out)
    };
    assert!(a_first >= 6, "{text}");
    let again = run_ansible(&ansible, &dir, &inv, by_ansible.path(), work.path(), &[]);
    // The registering `copy` is the same file again: no change.
    assert_eq!(ansible_changed(&again, "web1"), 0, "{again}");
    let by_ansible_accounts = accounts();
    remove_accounts();

    let root = format!("root={}", by_rprov.path().display());
    let run = apply_json(&dir, &inv, &["-e", &root, "site.yml"]);
    run.expect_code(0);
    let r_first = run.recap("web1")["changed"].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        r_first, a_first,
        "first runs: ansible {a_first}, rprov {r_first}\n--- ansible\n{text}\n--- rprov\n{}",
        run.stdout
    );
    let run = apply_json(&dir, &inv, &["-e", &root, "site.yml"]);
    run.expect_code(0);
    assert_eq!(
        run.recap("web1")["changed"],
        0,
        "rprov's second run changed something:\n{}",
        run.stdout
    );
    assert_eq!(accounts(), by_ansible_accounts);
    let registered = |root: &Path| {
        std::fs::read_to_string(root.join("registered.json")).expect("registered.json")
    };
    assert_eq!(registered(by_rprov.path()), registered(by_ansible.path()));
}

/// What `file` with `state: link` registers is ansible-core's: `dest`,
/// `src`, no `path`, and the link's own `state: link`, mode, size and owner
/// when what it points to exists (made or already there), none of them for
/// a link to nothing.
#[test]
fn link_results_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "link_results",
        prepare: |_| {},
        min_changed: 3,
    });
    let registered = out.read("registered.json");
    assert!(registered.contains("\"state\": \"link\""), "{registered}");
    assert!(registered.contains("\"mode\": \"0777\""), "{registered}");
    // `copy` with `follow` wrote through the link, which stays one.
    assert_eq!(out.tree[Path::new("front")].kind, 'l');
    assert_eq!(out.read("behind"), "new\n");
}

/// What `file` registers for a file or a directory is ansible-core's:
/// `path` (no `dest`; `dest` for a touched file), `state`, and the owner,
/// group, their ids, mode and size, whether the task changed the path or
/// found it as asked.
#[test]
fn file_results_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "file_results",
        prepare: |_| {},
        min_changed: 3,
    });
    let registered = out.read("registered.json");
    assert!(registered.contains("\"mode\": \"0750\""), "{registered}");
    assert!(
        registered.contains("\"appears_binary\": false"),
        "{registered}"
    );
    assert!(registered.contains("\"mode\": \"0640\""), "{registered}");
    assert!(
        registered.contains("\"state\": \"directory\""),
        "{registered}"
    );
}

/// A change made through one name of a file with two (a hard link) is seen
/// through the other: what rprov read of it before is forgotten.
#[test]
fn hard_links_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "hard_links",
        prepare: |_| {},
        min_changed: 3,
    });
    assert_eq!(out.read("modes.txt"), "2 0640 2\n");
}

/// Controller tasks register what ansible-core's register, failed ones
/// included: `changed`, `failed`, `msg` in ansible-core's words (`Assertion
/// failed` without a message of the task's), `assertion`, `evaluated_to`.
#[test]
fn failed_results_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "failed_results",
        prepare: |_| {},
        min_changed: 1,
    });
    let registered = out.read("registered.json");
    assert!(
        registered.contains("\"msg\": \"Assertion failed\""),
        "{registered}"
    );
}

/// `vars_files` as ansible-core reads them: `vars/NAME` before `NAME`, and
/// the first found of a list whose names use variables.
#[test]
fn vars_files_are_found_as_ansible_finds_them() {
    let out = same_as_ansible(&Case {
        dir: "vars_files",
        prepare: |_| {},
        min_changed: 1,
    });
    assert_eq!(
        out.read("vars.txt"),
        "found in vars/ by its bare name\nnext to the playbook\nfrom vars/Debian.yml\n"
    );
}

/// The `password` lookup: seeded passwords as ansible-core's (Python's
/// MT19937), a kept password file made once and read back.
#[test]
fn password_lookup_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "password_lookup",
        prepare: |_| {},
        min_changed: 1,
    });
    let text = out.read("passwords.txt");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0].len(), 20);
    assert!(lines[1].chars().all(|c| c.is_ascii_digit()) && lines[1].len() == 8);
    assert_eq!(out.read("creds/db"), format!("{}\n", lines[3]));
}

/// `ignore_errors` as a template (`"{{ ansible_check_mode }}"` and the
/// like), on a task and on a block, decided on the host as ansible-core does.
#[test]
fn templated_ignore_errors_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "templated_ignore_errors",
        prepare: |_| {},
        min_changed: 1,
    });
    assert_eq!(out.read("out.txt"), "True True True\n");
}

/// `notify` on `import_tasks` is inherited by the tasks inside that say
/// none (pre_tasks included), and a task's own `notify` wins.
#[test]
fn import_tasks_notify_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "inherited_notify",
        prepare: |_| {},
        min_changed: 2,
    });
    assert_eq!(out.read("imported"), "imported\n");
    assert_eq!(out.read("own"), "own\n");
}

/// `--output ansible` prints what ansible-playbook prints, line for line:
/// banners, result lines, debug and assert results as indented JSON, ignored
/// and rescued failures, loops, handlers, no_log, a play without hosts, and
/// the recap's counts, and ansible-core 2.19's `[ERROR]` block before each
/// failure's `fatal:` line: its message, `Origin:` and the task's source
/// lines.
#[test]
fn screen_output_as_ansible() {
    let (expected, by_rprov) = output_of_both(
        "ansible_output",
        &["-i", "localhost,", "-c", "local", "site.yml"],
    );
    assert!(expected.contains("rescued=1"), "{expected}");
    assert!(
        expected.contains("[ERROR]: Task failed: Action failed: "),
        "{expected}"
    );
    assert!(expected.contains("\nOrigin: "), "{expected}");
    assert_eq!(by_rprov.stdout, expected);
}

/// `include_tasks` and `include_role` as ansible-core runs them, line for
/// line in ansible-playbook's output: an include's `when` is decided once
/// (its tasks that make it false still run), its `no_log` and
/// `ignore_errors` are its own, a looped include's files run after its
/// `included:` lines, each counted in the recap; and under `--tags x` an
/// include selected by its tag brings in none of its untagged tasks, while
/// a tagged task in an untagged block runs.
#[test]
fn includes_as_ansible() {
    let (expected, by_rprov) = output_of_both(
        "includes_output",
        &["-i", "localhost,", "-c", "local", "site.yml"],
    );
    for what in [
        "still run after the include's condition turned false, vars by its tasks",
        "the role's tasks all run",
        "not hidden: no item",
        "the failure inside was not ignored",
        "included: ",
    ] {
        assert!(
            expected.contains(what),
            "{what}
{expected}"
        );
    }
    assert_eq!(by_rprov.stdout, expected);
    let (expected, by_rprov) = output_of_both(
        "includes_output",
        &["-i", "localhost,", "-c", "local", "--tags", "x", "site.yml"],
    );
    assert!(
        expected.contains("tagged inside an untagged block"),
        "{expected}"
    );
    assert!(!expected.contains("not hidden"), "{expected}");
    assert_eq!(by_rprov.stdout, expected);
}

/// The facts of a `set_fact` and an `include_vars` run once are every
/// host's, with the one value the host that ran it made; a host that ran
/// `meta: end_host` is out of `ansible_play_hosts`; a `meta` whose `when`
/// is false is not counted. The task results must match ansible-playbook's
/// line for line; of the recap, the totals (which host runs a `run_once`
/// task is the first to reach it under rprov, the first in the play under
/// ansible-core).
#[test]
fn run_once_facts_and_end_host_as_ansible() {
    let (expected, by_rprov) = output_of_both("play_hosts_facts", &["-i", "hosts.ini", "site.yml"]);
    let said = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("\"msg\""))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let expected_said = said(&expected);
    assert_eq!(expected_said.len(), 4, "{expected}");
    assert!(
        expected_said[2].contains("token True from_file=shared hosts=['A', 'C']"),
        "{expected}"
    );
    assert_eq!(said(&by_rprov.stdout), expected_said, "{}", by_rprov.stdout);
    assert_eq!(
        recap_totals(&by_rprov.stdout),
        recap_totals(&expected),
        "{}",
        by_rprov.stdout
    );
}

/// `delegate_facts`: what a delegated task returns (`set_fact`, cacheable
/// or not, a module's `ansible_facts`, `include_vars`; on the task or its
/// block) goes to the host it ran on, item by item for `delegate_to: "{{
/// item }}"`, seen in `hostvars` at once and as that host's own variables
/// in a later play; without it the facts stay with the task's host. The
/// result lines say where a task ran (`ok: [A -> C]`), as ansible-core's.
/// Compared task by task (hosts go at their own pace under rprov); a
/// `run_once` task, marked `(once)` in its name, runs on the first host to
/// reach it under rprov and on the first of the play under ansible-core, so
/// its lines are compared without the name of the host that ran it.
#[test]
fn delegate_facts_as_ansible() {
    let (expected, by_rprov) = output_of_both("delegate_facts", &["-i", "hosts.ini", "site.yml"]);
    let by_task = |text: &str| {
        let mut tasks: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut current = String::new();
        for line in text.lines().take_while(|l| !l.starts_with("PLAY RECAP")) {
            if line.starts_with("TASK [") || line.starts_with("PLAY [") {
                current = line.trim_end_matches([' ', '*']).to_string();
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let shown = match (current.contains("(once)"), line.split_once(" -> ")) {
                (true, Some((head, tail))) => match head.rsplit_once('[') {
                    Some((word, _)) => format!("{word}[(whoever ran it) -> {tail}"),
                    None => line.to_string(),
                },
                _ => line.to_string(),
            };
            tasks.entry(current.clone()).or_default().push(shown);
        }
        for lines in tasks.values_mut() {
            lines.sort();
        }
        tasks
    };
    let expected_tasks = by_task(&expected);
    assert!(
        expected_tasks
            .values()
            .flatten()
            .any(|l| l == "ok: [A -> C]"),
        "{expected}"
    );
    assert!(
        expected
            .lines()
            .any(|l| l
                .contains("D: backend_of=- seen_by=web cached_one=D system=Linux from_block=True")),
        "{expected}"
    );
    assert_eq!(
        by_task(&by_rprov.stdout),
        expected_tasks,
        "{}",
        by_rprov.stdout
    );
    assert_eq!(
        recap_totals(&by_rprov.stdout),
        recap_totals(&expected),
        "{}",
        by_rprov.stdout
    );
    // To the controller, with no localhost in the inventory: the implicit
    // one has them (both tools must pass the playbook's asserts).
    let (expected, by_rprov) =
        output_of_both("delegate_facts", &["-i", "hosts.ini", "to_controller.yml"]);
    assert!(expected.contains("ok: [A -> localhost]"), "{expected}");
    assert_eq!(by_rprov.stdout, expected);
}

/// A collection's roles, named as ansible-playbook names them: a
/// dependency given by its short name is the role of the dependent's
/// collection, shown by its full name, and `role_name` is the role's own
/// name, `ansible_role_name` the full one.
#[test]
fn collection_roles_as_ansible() {
    let (expected, by_rprov) = output_of_both(
        "collection_roles",
        &["-i", "localhost,", "-c", "local", "site.yml"],
    );
    assert!(expected.contains("TASK [my.coll.b : debug]"), "{expected}");
    assert!(expected.contains("\"b b my.coll.b []\""), "{expected}");
    assert_eq!(by_rprov.stdout, expected);
}

/// `run_once` in ansible-playbook's output: the task and the handler are
/// shown for the one host that ran them, and counted for it alone (the
/// recap's `ok`); the hosts that took the result print nothing.
#[test]
fn run_once_output_as_ansible() {
    let (expected, by_rprov) = output_of_both("run_once_output", &["-i", "hosts.ini", "site.yml"]);
    let count = |text: &str, what: &str| text.lines().filter(|l| l.contains(what)).count();
    for what in ["task ran once", "handler ran once", "changed: ["] {
        assert_eq!(
            count(&by_rprov.stdout, what),
            count(&expected, what),
            "{what}\n--- rprov\n{}\n--- ansible\n{expected}",
            by_rprov.stdout
        );
    }
    assert_eq!(count(&expected, "ran once"), 2, "{expected}");
    // Hosts go at their own pace under rprov, so which host ran it may
    // differ: the recap's counts, sorted, must not.
    let recap = |text: &str| {
        let mut counts: Vec<String> = text
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .filter_map(|l| l.split_once(" : ").map(|(_, c)| c.trim().to_string()))
            .collect();
        counts.sort();
        counts
    };
    assert_eq!(
        recap(&by_rprov.stdout),
        recap(&expected),
        "{}",
        by_rprov.stdout
    );
}

/// ansible-playbook's `[ERROR]` block for a template that fails in a
/// task's arguments: the task's arguments, the value (each with `Origin:`
/// and its source lines) and the template's error, joined in its first
/// line; for a conditional, its first line and the task's place.
#[test]
fn error_blocks_as_ansible() {
    let (expected, by_rprov) = output_of_both(
        "error_blocks",
        &["-i", "localhost,", "-c", "local", "site.yml"],
    );
    // Each block: from its `[ERROR]:` line to the `fatal:` line after it.
    let blocks = |text: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        for line in text.split_inclusive('\n') {
            if line.starts_with("[ERROR]:") {
                current = Some(String::new());
            }
            if line.starts_with("fatal:") {
                out.extend(current.take());
            }
            if let Some(c) = current.as_mut() {
                c.push_str(line);
            }
        }
        out
    };
    let expected = blocks(&expected);
    let seen = blocks(&by_rprov.stdout);
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert!(expected[0].contains("<<< caused by >>>"), "{}", expected[0]);
    // The two argument failures, whole; the conditional's first line and
    // its task's place (ansible-core also shows where the `when` is).
    assert_eq!(seen[..2], expected[..2], "{}", by_rprov.stdout);
    let mut lines = seen[2].lines();
    assert_eq!(
        lines.next(),
        expected[2].lines().next(),
        "{}",
        by_rprov.stdout
    );
    let origin = lines.next().unwrap_or_default();
    assert!(origin.starts_with("Origin: "), "{}", seen[2]);
    assert!(
        expected[2].contains(&format!("{origin}\n")),
        "{origin}\n{}",
        expected[2]
    );
}

/// The recap's counts summed over its hosts (`ok`, `changed`, …): the same
/// when the same results were counted, whichever host ran a `run_once` task.
fn recap_totals(text: &str) -> std::collections::BTreeMap<String, u64> {
    let mut sums = std::collections::BTreeMap::new();
    for line in text.lines().skip_while(|l| !l.starts_with("PLAY RECAP")) {
        let Some((_, counts)) = line.split_once(" : ") else {
            continue;
        };
        for cell in counts.split_whitespace() {
            if let Some((k, n)) = cell.split_once('=') {
                *sums.entry(k.to_string()).or_insert(0) += n.parse::<u64>().unwrap_or(0);
            }
        }
    }
    sums
}

/// The playbook run `args` in fixture `dir` prints under ansible-playbook
/// (which must succeed), and rprov's run of it with `--output ansible`
/// (which must exit 0 too).
fn output_of_both(dir: &str, args: &[&str]) -> (String, common::Run) {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join(dir);
    let work = tempfile::tempdir().expect("tempdir");
    let by_ansible = run_local(&ansible.playbook, &dir, work.path(), args);
    assert!(by_ansible.status.success(), "{by_ansible:?}");
    let mut rprov_args = vec!["apply", "--output", "ansible"];
    rprov_args.extend(args);
    let by_rprov = common::rprov(&dir, &rprov_args);
    by_rprov.expect_code(0);
    (
        String::from_utf8_lossy(&by_ansible.stdout).into_owned(),
        by_rprov,
    )
}

/// `text` without each `[ERROR]:` block, which runs to the first line for
/// which `ends` holds (kept).
fn without_blocks_until(text: &str, ends: fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        skipping = match (skipping, line.starts_with("[ERROR]:")) {
            (_, true) => true,
            (true, false) => !ends(line),
            (false, false) => false,
        };
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

/// `loop_control: break_when` stops a loop after the first item whose
/// conditions hold, seeing the item and its registered result.
#[test]
fn loop_break_when_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "break_when",
        prepare: empty_root,
        min_changed: 2,
    });
    assert_eq!(out.read("summary"), "2 a,b\n");
    assert!(out.tree.contains_key(Path::new("f2")));
    assert!(!out.tree.contains_key(Path::new("f3")));
}

/// A module named by a template (`action: "{{ m }} …"`, `action: {module:
/// "{{ m }}"}`, `local_action`), rendered when the task runs with its vars.
#[test]
fn templated_module_names_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "templated_module",
        prepare: |_| {},
        min_changed: 2,
    });
    assert_eq!(out.read("one.txt"), "one");
    assert_eq!(out.read("out.txt"), "two False True\n");
    assert!(!out.by_ansible.path().join("never.txt").exists());
}

/// Template errors as registered results show them: `debug`'s placeholder
/// for an undefined variable, `set_fact`'s refusal of a templated name that
/// is no variable name, `Task failed:` before an argument's template error,
/// and `unique`'s refusal to compare mappings without case.
#[test]
fn template_errors_in_results_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "template_errors",
        prepare: empty_root,
        min_changed: 1,
    });
    let seen: serde_json::Value =
        serde_json::from_str(&out.read("seen.json")).expect("seen.json is JSON");
    assert_eq!(
        seen,
        serde_json::json!({
            "debug": "<< error 1 - 'undefined_variable' is undefined >>",
            "keyword": [true, true],
            "int": [true, true],
            "nested": [true, true, true],
            "unique": [true, true],
        })
    );
}

/// A fact cache entry's facts: the JSON text under `__payload__`, with the
/// data tags ansible-core writes (`{"__ansible_type": …, "value": …}`)
/// taken off.
fn cache_entry(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    fn untag(v: Value) -> Value {
        match v {
            Value::Object(mut m) if m.contains_key("__ansible_type") && m.contains_key("value") => {
                untag(m.remove("value").unwrap_or_default())
            }
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
            Value::Array(a) => Value::Array(a.into_iter().map(untag).collect()),
            other => other,
        }
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let outer: Value = serde_json::from_str(&text).expect("an entry is JSON");
    let payload = outer["__payload__"].as_str().expect("a `__payload__` text");
    match untag(serde_json::from_str(payload).expect("the payload is JSON")) {
        Value::Object(m) => m,
        other => panic!("the payload is no mapping: {other}"),
    }
}

/// The names in a directory, hidden ones too.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The `jsonfile` fact cache as ansible-core keeps it, over four runs that
/// share one cache directory per tool: `cacheable` set_fact values and
/// gathered facts are written to `<prefix>s1_<host>` files, the next run
/// sees them from its start (below play vars, in `hostvars`), `meta:
/// clear_facts` forgets them (not `set_fact` values) and the entry,
/// `gathering = smart` trusts an entry written by someone else, and
/// `--flush-cache` removes the entries. Both tools' outputs, file names and entries match.
#[test]
fn jsonfile_fact_cache_as_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("fact_cache");
    let work = tempfile::tempdir().expect("tempdir");
    let hostname_entry = serde_json::json!({
        "__payload__": serde_json::json!({
            "_ansible_facts_gathered": true,
            "ansible_hostname": "from-cache",
        })
        .to_string(),
    })
    .to_string();
    let mut seen = Vec::new();
    for tool in ["ansible", "rprov"] {
        let root = tempfile::tempdir().expect("tempdir");
        let cache = tempfile::tempdir().expect("tempdir");
        let root_var = format!("root={}", root.path().display());
        let run = |playbook: &str, extra: &[&str], gathering: &str| {
            let mut args = vec!["-i", "a,b,c", "-c", "local", "-e", &root_var];
            args.extend(extra);
            args.push(playbook);
            let env = [
                ("ANSIBLE_PYTHON_INTERPRETER", TARGET_PYTHON),
                ("ANSIBLE_CACHE_PLUGIN", "jsonfile"),
                (
                    "ANSIBLE_CACHE_PLUGIN_CONNECTION",
                    &cache.path().display().to_string(),
                ),
                ("ANSIBLE_CACHE_PLUGIN_PREFIX", "pfx_"),
                ("ANSIBLE_GATHERING", gathering),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()));
            if tool == "ansible" {
                let (ok, text) =
                    common::ansible_playbook_args(&ansible, &dir, work.path(), &args, &env);
                assert!(ok, "ansible-playbook {playbook} failed:\n{text}");
            } else {
                let mut rp = vec!["apply"];
                rp.extend(&args);
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let out = common::rprov_env(&dir, &rp, &env);
                out.expect_code(0);
                assert!(!out.all().contains("corrupt"), "{}", out.all());
            }
        };
        run("one.yml", &[], "implicit");
        let after_one = names_in(cache.path());
        let entry_a = cache_entry(&cache.path().join("pfx_s1_a"));
        let entry_b = cache_entry(&cache.path().join("pfx_s1_b"));
        run("two.yml", &[], "implicit");
        let after_two = names_in(cache.path());
        std::fs::write(cache.path().join("pfx_s1_c"), &hostname_entry).expect("write c's entry");
        run("three.yml", &["-e", "mode=smart"], "smart");
        run("three.yml", &["-e", "mode=implicit"], "implicit");
        run("four.yml", &["--flush-cache"], "implicit");
        let after_four = names_in(cache.path());
        let lists = [after_one, after_two, after_four];
        seen.push((files_in(root.path()), lists, entry_a, entry_b));
    }
    let (tree, lists, entry_a, entry_b) = seen.pop().expect("rprov");
    let (a_tree, a_lists, a_entry_a, a_entry_b) = seen.pop().expect("ansible");
    assert_eq!(tree, a_tree, "what the playbooks wrote");
    assert_eq!(
        lists, a_lists,
        "the cache's files after runs one, two and four"
    );
    let [after_one, after_two, after_four] = lists;
    assert_eq!(after_one, ["pfx_s1_a", "pfx_s1_b"]);
    // `meta: clear_facts` on b removed its entry.
    assert_eq!(after_two, ["pfx_s1_a"]);
    assert!(after_four.is_empty(), "{after_four:?}");
    // b gathered nothing: its entry is the cacheable values, and only them.
    assert_eq!(entry_b, a_entry_b);
    assert_eq!(
        serde_json::Value::Object(entry_b),
        serde_json::json!({
            "kept": "kept on b",
            "kept_map": {"n": 1, "l": [1, "two"]},
            "ansible_kept_prefixed": "prefixed",
        })
    );
    // a gathered too: the same names for what both gather, and the flag.
    for key in [
        "kept",
        "ansible_kept_prefixed",
        "_ansible_facts_gathered",
        "ansible_hostname",
        "ansible_distribution",
        "ansible_os_family",
        "ansible_user_id",
        "gather_subset",
        "module_setup",
    ] {
        assert_eq!(entry_a.get(key), a_entry_a.get(key), "{key} in a's entry");
        assert!(entry_a.contains_key(key), "{key} in a's entry");
    }
    assert!(!a_entry_a.contains_key("not_kept") && !entry_a.contains_key("not_kept"));
    assert_eq!(
        tree["two.a"],
        "kept on a|two|prefixed|kept on a|prefixed|undef|undef|kept on b|True|undef|True\n"
    );
    assert_eq!(tree["two.play_vars"], "from the play|kept on a\n");
    assert_eq!(tree["two.cleared"], "still here|undef|undef\n");
    assert_eq!(tree["three.smart.c"], "True|True\n");
    assert_eq!(tree["three.implicit.c"], "False|True\n");
    assert_eq!(tree["four.a"], "undef|undef\n");
}

/// ansible-core 2.19's trust rule for expressions: conditionals written in
/// the playbook, and text fetched from a trusted variable
/// (`when: "{{ cond }}"` evaluates the variable's expression), work; text a
/// template made, a registered result, a computed `set_fact` and `!unsafe`
/// values are refused as "untrusted template or expression" by both tools.
#[test]
fn untrusted_expressions_are_refused_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "trust",
        prepare: empty_root,
        min_changed: 7,
    });
    for rel in [
        "plain",
        "boolean",
        "indirect-true",
        "fetched",
        "list",
        "set-fact",
    ] {
        assert!(out.tree.contains_key(Path::new(rel)), "{rel} missing");
    }
    assert!(!out.tree.contains_key(Path::new("indirect-false")));
    let refused: serde_json::Value =
        serde_json::from_str(&out.read("refused.json")).expect("refused.json");
    for form in [
        "literal",
        "unsafe_when",
        "unsafe_var",
        "from_result",
        "from_computed",
        "unsafe_item",
    ] {
        assert_eq!(refused[form], serde_json::json!([true, true]), "{form}");
    }
    assert_eq!(refused["debug_fetched"], serde_json::json!(1));
}

/// rprov run as `ansible` (a link of that name) prints what ansible-core's
/// ad-hoc `ansible` prints and exits as it does: a module's result as
/// indented JSON (`SUCCESS`, `CHANGED`, `FAILED!`), a command's as its
/// output after `rc=N >>`, `-o`'s one line, `--list-hosts`, a pattern that
/// matches nothing, the usage error of `command` without arguments, and a
/// pattern and module given as templates with an `-e` value in ansible-core's
/// JSON form of `!unsafe` text.
#[test]
fn adhoc_as_ansible() {
    let ansible = common::ansible_venv();
    let adhoc = ansible.playbook.with_file_name("ansible");
    let work = tempfile::tempdir().expect("tempdir");
    let shim = work.path().join("bin");
    std::fs::create_dir_all(&shim).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rprov"), shim.join("ansible"))
        .expect("link rprov as ansible");
    let cases: &[&[&str]] = &[
        &["localhost", "-m", "ping"],
        &["localhost", "-a", "echo hi"],
        &["localhost", "-m", "shell", "-a", "echo err >&2; exit 3"],
        &["localhost", "-m", "fail", "-a", "msg=boom"],
        &["localhost", "-m", "debug", "-a", "msg={{ 1 + 2 }}"],
        &["localhost", "-m", "set_fact", "-a", "{\"x\": [1, \"two\"]}"],
        &["localhost", "-m", "ping", "-o"],
        &["localhost", "-a", "echo one-line", "-o"],
        &["localhost", "--list-hosts"],
        &["nohost", "-m", "ping"],
        &["localhost", "-m", "command"],
        &[
            "{{ 'localhost' }}",
            "-m",
            "{{ 'debug' }}",
            "-a",
            "var=v",
            "-e",
            r#"{"v": {"__ansible_unsafe": "{{ x }}"}}"#,
        ],
    ];
    let mut seen = Vec::new();
    for args in cases {
        let run = |exe: &Path| {
            let mut all = args.to_vec();
            all.extend(["-i", "localhost,", "-c", "local"]);
            run_local(exe, work.path(), work.path(), &all)
        };
        let (a, r) = (run(&adhoc), run(&shim.join("ansible")));
        // ansible-core 2.19 also prints an `[ERROR]:` block (the task's
        // source) before a failed host's result; rprov does not.
        let a_out = without_adhoc_error_blocks(&String::from_utf8_lossy(&a.stdout));
        assert_eq!(
            (
                String::from_utf8_lossy(&r.stdout).into_owned(),
                r.status.code()
            ),
            (a_out.clone(), a.status.code()),
            "ansible {args:?}: rprov (left) and ansible-core (right) differ; rprov's stderr:\n{}",
            String::from_utf8_lossy(&r.stderr)
        );
        seen.push(a_out);
    }
    // The cases say something: ansible-core's outputs are these.
    assert!(seen[0].contains("\"ping\": \"pong\""), "{}", seen[0]);
    assert_eq!(seen[1], "localhost | CHANGED | rc=0 >>\nhi\n");
    assert_eq!(seen[8], "  hosts (1):\n    localhost\n");
}

/// Host lists with ranges, as ansible-core's `advanced_host_list`
/// inventory plugin reads them when `ANSIBLE_INVENTORY_ENABLED` names it
/// (a refused range kept as the host's name), printed by the `oneline`
/// callback that `ANSIBLE_STDOUT_CALLBACK` names with
/// `ANSIBLE_LOAD_CALLBACK_PLUGINS`: the same lines from both tools.
#[test]
fn adhoc_advanced_host_list_as_ansible() {
    let ansible = common::ansible_venv();
    let adhoc = ansible.playbook.with_file_name("ansible");
    let work = tempfile::tempdir().expect("tempdir");
    let shim = work.path().join("bin");
    std::fs::create_dir_all(&shim).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rprov"), shim.join("ansible"))
        .expect("link rprov as ansible");
    let run = |exe: &Path| {
        let exe = exe.display().to_string();
        let args = [
            "ANSIBLE_INVENTORY_ENABLED=advanced_host_list",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS=True",
            "ANSIBLE_STDOUT_CALLBACK=oneline",
            exe.as_str(),
            "all",
            "-m",
            "ping",
            "-f",
            "1",
            "-c",
            "local",
            "-i",
            "web[08:10],db-[a:c:2],odd[1:],",
        ];
        run_local(Path::new("/usr/bin/env"), work.path(), work.path(), &args)
    };
    let (a, r) = (run(&adhoc), run(&shim.join("ansible")));
    let sorted = |out: &std::process::Output| {
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        (sorted(&r), r.status.code()),
        (sorted(&a), a.status.code()),
        "rprov (left) and ansible-core (right) differ; rprov's stderr:\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let hosts: Vec<String> = sorted(&a)
        .iter()
        .filter_map(|l| l.split(" | ").next().map(String::from))
        .collect();
    assert_eq!(
        hosts,
        ["db-a", "db-c", "odd[1:]", "web08", "web09", "web10"]
    );
}

/// `ansible`'s output without its `[ERROR]:` blocks, each running to the
/// host's result line (`localhost | FAILED…`).
fn without_adhoc_error_blocks(text: &str) -> String {
    without_blocks_until(text, |l| l.starts_with("localhost | "))
}

/// Roles and handlers as ansible-core runs them, on the local connection:
/// a role listed again runs where its earlier application ran no task (its
/// `when` was false) and is passed over after one that did; `meta:
/// end_role` ends the role (its handler still runs); a handler named like
/// the play's in an imported role is the one a task notifies; `role :
/// topic` reaches the role's listener; `vars` is every variable. Both
/// tools write the same summary.
#[test]
fn role_semantics_as_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("role_semantics");
    let mut summaries = Vec::new();
    for tool in ["ansible", "rprov"] {
        let root = tempfile::tempdir().expect("tempdir");
        let root_arg = format!("root={}", root.path().display());
        let args = [
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            &root_arg,
            "site.yml",
        ];
        if tool == "ansible" {
            let out = run_local(&ansible.playbook, &dir, root.path(), &args);
            assert!(out.status.success(), "{out:?}");
        } else {
            let mut rprov_args = vec!["apply"];
            rprov_args.extend(args);
            common::rprov(&dir, &rprov_args).expect_code(0);
        }
        let summary = std::fs::read_to_string(root.path().join("summary"))
            .unwrap_or_else(|e| panic!("{tool} wrote no summary: {e}"));
        summaries.push(summary);
    }
    assert_eq!(
        summaries[1], summaries[0],
        "rprov (left), ansible-core (right)"
    );
    assert_eq!(
        summaries[0],
        "counted=1\nender_before=True\nender_after=False\nender_handler=True\nwhich=role\ntopic=True\nvars=1 True False\npublic=undefined, undefined, from exposed, from settings\n"
    );
}

/// Runs one of Ansible's programs (or rprov linked under its name) in
/// `cwd` on the local connection, as the local differential tests run them:
/// no user configuration (`ANSIBLE_CONFIG` is a missing file in `home`, its
/// temp files there too), the target Python named, no colour.
fn run_local(exe: &Path, cwd: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(exe)
        .current_dir(cwd)
        .args(args)
        .env("ANSIBLE_CONFIG", home.join("none.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_PYTHON_INTERPRETER", TARGET_PYTHON)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
}

/// ansible-core 2.19's trust rules: a condition a loop item's template made
/// fails as untrusted in an argument splat, one written in the item runs; a
/// registered result is not rendered again by `failed_when`; a lookup's
/// arguments written as templates are rendered; Jinja's `joiner`; `assert`
/// without `that` or with an empty one fails in ansible-core's words; a
/// conditional that is all template is deprecated in the result.
#[test]
fn trust_rules_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "trust_2_19",
        prepare: empty_root,
        min_changed: 1,
    });
    assert_eq!(
        out.read("trust"),
        "made: True True\nwritten: True\nshown: {{ word }}\npiped: dude\njoined: 1+2+3\n\
         empty: ['missing required arguments: that', 'Task failed: Empty conditional expressions are not allowed.']\n\
         deprecated: ['Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}.']\n"
    );
}

/// ansible-core's backslash rule: a string constant in `{{ }}` of playbook
/// data keeps its backslashes as YAML left them (`regex_replace(…, '\\1')`
/// in double quotes is the back-reference, `'a\\nb'` four characters);
/// `{% %}` tags, conditionals and template files decode Jinja's escapes.
#[test]
fn backslashes_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "backslashes",
        prepare: empty_root,
        min_changed: 2,
    });
    assert_eq!(
        out.read("backslashes"),
        "double_quoted: \"a\\\\nb\" \"a\\\\\\\\b\" 4\nback_reference: host\nplain: a<1> \"a\\\\'b\"\n\
         statement: 3\nnative: 4\nunicode: 7 5\nlooped: 4\nfrom_vars: 4\nwhen_decodes: True\n\
         lookup: file: \"a\\nb\" \"a<\\u0001>\" \"a\\\\b\"\n"
    );
}

/// Jinja idioms of real roles: filters and tests named by a string in their
/// fully qualified form, `combine`'s `list_merge`, `dict()` of pairs, a
/// `vars` lookup of a built name, `ansible_version`, `None` written as
/// nothing and a template that emits nothing being `None`, the words `bool`
/// takes, Jinja2's `center`, `truncate` and `filesizeformat`, `replace`'s
/// count, `sequence` and `string` tests, `%` of a mapping, `int` past 64
/// bits, `password_hash`'s rounds, Python's `str` padding methods.
#[test]
fn jinja_idioms_as_ansible() {
    let out = same_as_ansible(&Case {
        dir: "jinja_idioms",
        prepare: empty_root,
        min_changed: 1,
    });
    let idioms = out.read("idioms");
    for line in [
        "fqcn_select: ['bcd']\n",
        "none_in_text: ab [None] Noneq\n",
        "nothing_is_none: True False True\n",
        "bool_words: True False True\n",
        "replace_count: a+b-c\n",
        "sequences: True True False False\n",
        "big_int: 100000000000000000000 -2\n",
        "str_methods: ****x****|-007|['a-b', '-', 'c']|x..|Ab\n",
    ] {
        assert!(idioms.contains(line), "{line}: {idioms}");
    }
    assert_eq!(out.read("none"), "listen: \nitems: [None]\n<><1>\n");
}

/// Imports whose names and arguments are templates, as ansible-core renders
/// them while the playbook loads (the play's and the import's `vars`, an
/// `import_playbook`'s, `-e`), an import's templated `allow_duplicates`
/// overriding the role's meta, an `include_role` argument that is `omit`,
/// and a delegated import's tasks and handlers seeing
/// `ansible_delegated_vars`: line for line as ansible-playbook prints them.
#[test]
fn templated_imports_as_ansible() {
    let (expected, by_rprov) = output_of_both(
        "templated_imports",
        &[
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "extra_file=from_extra.yml",
            "site.yml",
        ],
    );
    for what in [
        "greeter main",
        "tasks of a play variable",
        "tasks of a task variable",
        "tasks of an extra variable",
        "greeter other",
        "delegated vars: True",
        "handler delegated vars: True",
    ] {
        assert!(expected.contains(what), "{what}\n{expected}");
    }
    assert_eq!(expected.matches("dup runs").count(), 2, "{expected}");
    assert_eq!(by_rprov.stdout, expected);
}

/// A handler that is an `import_tasks` answers neither its `name` nor its
/// `listen` (they do not reach the imported tasks), and notifying either
/// fails the host with ansible-core's words; a handler that is an
/// `include_tasks` answers both. Each tool run with the import's name, then
/// its topic, then nothing of it.
#[test]
fn a_named_import_among_handlers_is_not_a_handler_as_in_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("handler_imports");
    for notify in ["a named import", "an import listening", "a named include"] {
        let extra = format!("{{\"notify_import\": \"{notify}\"}}");
        let args = ["-i", "localhost,", "-c", "local", "-e", &extra, "site.yml"];
        let work = tempfile::tempdir().expect("tempdir");
        let by_ansible = run_local(&ansible.playbook, &dir, work.path(), &args);
        let mut rprov_args = vec!["apply", "--output", "ansible"];
        rprov_args.extend(args);
        let by_rprov = common::rprov(&dir, &rprov_args);
        let ansible_out = String::from_utf8_lossy(&by_ansible.stdout).into_owned()
            + &String::from_utf8_lossy(&by_ansible.stderr);
        let missing = format!(
            "The requested handler '{notify}' was not found in either the main handlers list nor in the listening handlers list"
        );
        let import = notify != "a named include";
        assert_eq!(
            !by_ansible.status.success(),
            import,
            "{notify}: {ansible_out}"
        );
        assert_eq!(ansible_out.contains(&missing), import, "{ansible_out}");
        assert_eq!(by_rprov.code != 0, import, "{notify}: {}", by_rprov.dump());
        assert_eq!(
            by_rprov.all().contains(&missing),
            import,
            "{}",
            by_rprov.dump()
        );
        if !import {
            // Both include handlers ran, each once, line for line as
            // ansible-playbook shows them.
            assert_eq!(by_rprov.stdout, String::from_utf8_lossy(&by_ansible.stdout));
        }
    }
}

/// `lookup('config', …)`: ansible-core's settings and the ssh connection's
/// and sh shell's, from ansible.cfg, their defaults and the task's
/// variables (the last one defined wins), with `show_origin`; the errors in
/// ansible-core's words (the playbook asserts them under both tools). The
/// results of the tasks that pass are compared line for line.
#[test]
fn config_lookup_as_ansible() {
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("config_lookup");
    let work = tempfile::tempdir().expect("tempdir");
    let by_ansible = Command::new(&ansible.playbook)
        .current_dir(&dir)
        .arg("site.yml")
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", work.path().join("tmp"))
        .env("ANSIBLE_PYTHON_INTERPRETER", TARGET_PYTHON)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("run ansible-playbook");
    let expected = String::from_utf8_lossy(&by_ansible.stdout).into_owned();
    assert!(by_ansible.status.success(), "{expected}");
    // rprov reads the ansible.cfg of the folder it runs in.
    let by_rprov = common::rprov(&dir, ["apply", "--output", "ansible", "site.yml"]);
    by_rprov.expect_code(0);
    let expected_results = passing_results(&expected);
    // Five debug tasks and the assert; origins from a variable and the file.
    assert_eq!(expected_results.len(), 6, "{expected}");
    assert!(expected.contains("\"var: ansible_ssh_user\""), "{expected}");
    assert!(expected.contains("config_lookup/ansible.cfg"), "{expected}");
    assert_same_results(&by_rprov.stdout, &expected_results, &expected);
}

/// rprov's passing results and recap are ansible-playbook's.
fn assert_same_results(by_rprov: &str, expected_results: &[String], expected: &str) {
    assert_eq!(passing_results(by_rprov), expected_results, "{by_rprov}");
    assert_eq!(recap_totals(by_rprov), recap_totals(expected));
}

/// Each passing task's result in ansible-playbook's output: its `ok:` lines
/// and what follows them, block by block.
fn passing_results(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|block| block.contains("\nok: [") || block.starts_with("ok: ["))
        .map(|block| block.trim().to_string())
        .collect()
}

/// `first_found` as ansible-core 2.19 runs it: a `with_first_found` loop
/// leaves out names made of undefined variables (in its list, in a
/// variable's list, in a mapping a filter made), looks in `vars/` for
/// `include_vars`; the folder of an included task file is searched; a
/// mapping's `skip` holds and `paths` split at `:`.
#[test]
fn first_found_as_ansible() {
    let (expected, by_rprov) = output_of_both("first_found", &["site.yml"]);
    let expected_results = passing_results(&expected);
    assert_eq!(expected_results.len(), 7, "{expected}");
    assert!(expected.contains("vars/only_in_vars.yml"), "{expected}");
    assert!(expected.contains("\"msg\": \"adjacent.txt\""), "{expected}");
    assert_same_results(&by_rprov.stdout, &expected_results, &expected);
}

/// `!unsafe` text that holds a template is never rendered; ansible-core's
/// private `_ANSIBLE_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR` makes meeting it
/// warn (`warning`) or fail the task (`error`), under both tools alike.
#[test]
fn untrusted_templates_warn_or_fail_as_ansible() {
    const VAR: &str = "_ANSIBLE_TEMPLAR_UNTRUSTED_TEMPLATE_BEHAVIOR";
    let ansible = common::ansible_venv();
    let dir = fixtures().join("differential").join("untrusted_templates");
    let work = tempfile::tempdir().expect("tempdir");
    let run_both = |behavior: &str| {
        let by_ansible = Command::new(&ansible.playbook)
            .current_dir(&dir)
            .arg("site.yml")
            .env(VAR, behavior)
            .env("ANSIBLE_CONFIG", work.path().join("none.cfg"))
            .env("ANSIBLE_LOCAL_TEMP", work.path().join("tmp"))
            .env("ANSIBLE_PYTHON_INTERPRETER", TARGET_PYTHON)
            .env("ANSIBLE_NOCOLOR", "1")
            .output()
            .expect("run ansible-playbook");
        let by_rprov = common::rprov_env(
            &dir,
            ["apply", "--output", "ansible", "site.yml"],
            &[(VAR, behavior)],
        );
        (by_ansible, by_rprov)
    };
    let said = |out: &[u8], err: &[u8]| {
        format!(
            "{}{}",
            String::from_utf8_lossy(out),
            String::from_utf8_lossy(err)
        )
    };
    const WARNING: &str = "[WARNING]: Encountered untrusted template or expression.";

    let (by_ansible, by_rprov) = run_both("warning");
    let expected = said(&by_ansible.stdout, &by_ansible.stderr);
    assert!(by_ansible.status.success(), "{expected}");
    assert!(expected.contains(WARNING), "{expected}");
    by_rprov.expect_code(0);
    assert!(
        by_rprov.stdout.contains(WARNING) || by_rprov.stderr.contains(WARNING),
        "{}",
        by_rprov.dump()
    );
    let results = passing_results(&String::from_utf8_lossy(&by_ansible.stdout));
    assert!(
        results
            .iter()
            .any(|r| r.contains("\"msg\": \"{{ lookup('pipe', 'id') }}\"")),
        "{expected}"
    );
    assert_eq!(
        passing_results(&by_rprov.stdout),
        results,
        "{}",
        by_rprov.dump()
    );

    let (by_ansible, by_rprov) = run_both("error");
    let expected = said(&by_ansible.stdout, &by_ansible.stderr);
    assert_eq!(by_ansible.status.code(), Some(2), "{expected}");
    assert!(
        expected.contains("\"msg\": \"Task failed: Finalization of task args for 'ansible.builtin.debug' failed: Error while resolving value for 'msg': Encountered untrusted template or expression.\""),
        "{expected}"
    );
    by_rprov.expect_code(2);
    assert!(
        by_rprov.stdout.contains(
            "Error while resolving value for 'msg': Encountered untrusted template or expression."
        ),
        "{}",
        by_rprov.dump()
    );
    assert_eq!(recap_totals(&by_rprov.stdout), recap_totals(&expected));
}

/// `async` as ansible-playbook shows it and as rprov runs its own modules:
/// `ASYNC POLL` lines while a job is waited for and `ASYNC OK` when it
/// ends, with the job's id; one of rprov's own modules left in the
/// background (`poll: 0`) registers a started job, and `async_status` gives
/// its result, in `--check` too. The number of polls depends on timing, so
/// the lines are checked for, and the registered values compared.
#[test]
fn async_output_as_ansible() {
    let (expected, by_rprov) = output_of_both("async_output", &["site.yml"]);
    let msgs = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.trim_start().starts_with("\"msg\":"))
            .map(str::to_string)
            .collect()
    };
    let expected_msgs = msgs(&expected);
    assert_eq!(
        expected_msgs,
        [
            "    \"msg\": \"waited=True started=True finished=False isdir=True done=True file=True\"",
            "    \"msg\": \"finished=True system=Linux\""
        ],
        "{expected}"
    );
    assert_eq!(msgs(&by_rprov.stdout), expected_msgs, "{}", by_rprov.stdout);
    for text in [&expected, &by_rprov.stdout] {
        let jid = |prefix: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
        };
        let polled = jid("ASYNC POLL on localhost: jid=");
        assert!(polled.is_some(), "{text}");
        assert_eq!(jid("ASYNC OK on localhost: jid="), polled, "{text}");
    }
    assert_eq!(recap_totals(&by_rprov.stdout), recap_totals(&expected));
}
