//! Issue 2, "Playbooks and roles" and "Modules": keywords and arguments that
//! had no test, over a real sshd, each with an effect on the host or in the
//! JSON output that a regression would change: copy, lineinfile and
//! blockinfile `backup`, file `recurse`
//! (symbolic and octal modes, owner), command/shell `chdir`, `stdin`,
//! `creates`, `removes`, `failed_when`, `diff: false`, `with_items`,
//! `loop_control` (`loop_var`, `index_var`), the `ansible.builtin.` prefix,
//! role `allow_duplicates`, `vars_files`, section order, templated names,
//! `--skip-tags`, `-e @file`, `playbook_dir`, `role_path`, `group_names`,
//! `meta: flush_handlers`, `listen`, and notifying another role's handler.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{apply_json, fixtures, statuses, target_dir, Run, USER};
use rprov_testbed::Sshd;
use serde_json::Value;

fn apply(inv: &Path, base: &Path) -> Run {
    let base = format!("base_dir={}", base.display());
    apply_json(
        &fixtures().join("keywords"),
        inv,
        &[
            "-e",
            &base,
            "-e",
            "@extra.yml",
            "--skip-tags",
            "skipme",
            "--diff",
            "site.yml",
        ],
    )
}

/// The one event of task `name` (panics when there are none or several).
fn event(run: &Run, name: &str) -> Value {
    let found: Vec<Value> = run
        .tasks()
        .into_iter()
        .filter(|t| t["task"] == name)
        .collect();
    assert_eq!(found.len(), 1, "events of `{name}`:\n{}", run.dump());
    found.into_iter().next().unwrap_or_default()
}

fn status(run: &Run, name: &str) -> String {
    event(run, name)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Writes `content` at `base/rel` (parents made), mode `mode`, owned by USER.
fn put(base: &Path, rel: &str, content: &str, mode: u32) {
    let p = base.join(rel);
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).expect("mkdir");
    }
    fs::write(&p, content).expect("write");
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn chown_tree(path: &Path) {
    let ok = Command::new("chown")
        .args(["-R", &format!("{USER}:{USER}")])
        .arg(path)
        .status()
        .expect("chown")
        .success();
    assert!(ok, "chown -R {}", path.display());
}

/// (relative path, kind, mode in octal, uid) of everything under `root`, itself included.
fn tree(root: &Path) -> Vec<(String, char, String, u32)> {
    let md = fs::metadata(root).expect("stat tree");
    let mut out = vec![(
        ".".to_string(),
        'd',
        format!("{:o}", md.mode() & 0o7777),
        md.uid(),
    )];
    for (p, e) in common::snapshot(root) {
        out.push((
            p.display().to_string(),
            e.kind,
            format!("{:o}", e.mode),
            e.uid,
        ));
    }
    out
}

#[test]
fn keywords_and_arguments_have_their_effect() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::write_inventory(
        work.path(),
        &format!(
            "[web]\n{}\n\n[app:children]\nweb\n",
            sshd.inventory_line("web1")
        ),
    );
    let target = target_dir(USER);
    let base = target.path();
    // What the tasks find on the host.
    put(base, "backup.txt", "old\n", 0o644);
    put(base, "lines.conf", "a=1\nb=1\n", 0o644);
    put(base, "block.conf", "top\n", 0o644);
    put(base, "tree/top.txt", "t\n", 0o666);
    put(base, "tree/sub/deep.sh", "d\n", 0o777);
    fs::set_permissions(base.join("tree/sub"), fs::Permissions::from_mode(0o777)).expect("chmod");
    put(base, "tree2/f.txt", "f\n", 0o644);
    std::os::unix::fs::symlink("f.txt", base.join("tree2/link")).expect("symlink");
    put(base, "work/already.txt", "here\n", 0o644);
    put(base, "gone.txt", "bye\n", 0o644);
    chown_tree(base);

    let run = apply(&inv, base);
    run.expect_code(0);
    let read = |p: &str| fs::read_to_string(base.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));

    // copy backup: the old content kept under the name the result gives.
    assert_eq!(read("backup.txt"), "new\n");
    let backup_file = event(&run, "copy with backup")["result"]["backup_file"]
        .as_str()
        .unwrap_or_else(|| panic!("no backup_file in the result\n{}", run.dump()))
        .to_string();
    assert_eq!(read("backup-name.txt"), format!("{backup_file}\n"));
    let prefix = format!("{}/backup.txt.", base.display());
    assert!(
        backup_file.starts_with(&prefix) && backup_file.ends_with('~'),
        "{backup_file}"
    );
    assert_eq!(fs::read_to_string(&backup_file).expect("backup"), "old\n");

    // lineinfile names its `backup` and blockinfile its `backup_file`, as
    // in Ansible.
    for (task, key, file, old, new) in [
        (
            "lineinfile with backup",
            "backup",
            "lines.conf",
            "a=1\nb=1\n",
            "a=2\nb=1\n",
        ),
        (
            "blockinfile with backup",
            "backup_file",
            "block.conf",
            "top\n",
            "top\n# BEGIN ANSIBLE MANAGED BLOCK\nmanaged\n# END ANSIBLE MANAGED BLOCK\n",
        ),
    ] {
        assert_eq!(read(file), new, "{task}");
        let backup = event(&run, task)["result"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{task}: no {key} in the result\n{}", run.dump()))
            .to_string();
        let prefix = format!("{}/{file}.", base.display());
        assert!(
            backup.starts_with(&prefix) && backup.ends_with('~'),
            "{task}: {backup}"
        );
        assert_eq!(fs::read_to_string(&backup).expect("backup"), old, "{task}");
    }
    let names = read("inline-backups.txt");
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().all(|n| n.ends_with('~')),
        "registered: {names:?}"
    );

    // file recurse: `X` gives directories (only) the execute bit; owner too.
    let want: Vec<(String, char, String, u32)> = [
        (".", 'd', "750"),
        ("sub", 'd', "750"),
        ("sub/deep.sh", 'f', "750"),
        ("top.txt", 'f', "640"),
    ]
    .into_iter()
    .map(|(p, k, m)| (p.to_string(), k, m.to_string(), 0))
    .collect();
    assert_eq!(tree(&base.join("tree")), want, "{}", run.dump());
    // An octal mode is the same for all; links keep theirs (chmod skips them).
    let want2: Vec<(String, char, String, u32)> = tree(&base.join("tree2"))
        .into_iter()
        .map(|(p, k, m, u)| {
            let m = if k == 'l' { m } else { "700".into() };
            (p, k, m, u)
        })
        .collect();
    assert_eq!(tree(&base.join("tree2")), want2);
    assert_eq!(want2.len(), 3, "{want2:?}");

    // command and shell arguments.
    assert_eq!(read("work/pwd.txt"), format!("{}/work\n", base.display()));
    assert_eq!(event(&run, "stdin")["result"]["stdout"], "from stdin");
    assert_eq!(status(&run, "creates (exists, relative to chdir)"), "ok");
    assert!(!base.join("work/creates-ran.txt").exists());
    assert_eq!(read("created.txt"), "ran\n");
    assert_eq!(status(&run, "removes (missing)"), "ok");
    assert!(!base.join("removes-ran.txt").exists());
    assert_eq!(status(&run, "removes (exists)"), "changed");
    assert!(!base.join("gone.txt").exists());
    assert_eq!(
        status(&run, "failed_when false on a failing command"),
        "changed"
    );
    let boom = event(&run, "failed_when on the output");
    assert_eq!(boom["status"], "failed", "{boom}");
    assert_eq!(boom["ignored"], true, "{boom}");

    // diff: false hides the diff of that task only.
    assert!(
        event(&run, "a diff shown")["diff"].is_array(),
        "{}",
        run.dump()
    );
    let hidden = event(&run, "a diff hidden");
    assert!(hidden.get("diff").is_none(), "{hidden}");
    assert_eq!(read("hidden.txt"), "hidden\n");

    // Loops.
    for f in ["a", "b", "c"] {
        assert_eq!(read(&format!("wi-{f}")), format!("{f}\n"));
    }
    assert_eq!(read("lc-x"), "0:x\n");
    assert_eq!(read("lc-y"), "1:y\n");

    // Tags, variables, magic variables.
    assert!(!base.join("tagged.txt").exists());
    assert!(run
        .tasks()
        .iter()
        .all(|t| t["task"] != "skipped by --skip-tags"));
    let dir = fixtures().join("keywords");
    let canonical = |p: &Path| {
        p.canonicalize()
            .expect("canonicalize")
            .display()
            .to_string()
    };
    let vars = read("vars.txt");
    let playbook_dir = vars
        .lines()
        .find_map(|l| l.strip_prefix("playbook_dir="))
        .unwrap_or_default();
    assert_eq!(
        canonical(Path::new(playbook_dir)),
        canonical(&dir),
        "{vars}"
    );
    assert_eq!(
        vars.lines()
            .filter(|l| !l.starts_with("playbook_dir="))
            .collect::<Vec<_>>(),
        [
            "greeting=from-extra",
            "from_vars_file=vf-value",
            "from_extra=extra-value",
            "group_names=app,web",
        ]
    );
    let role_path = read("role_path.txt");
    assert_eq!(
        canonical(Path::new(role_path.trim_end())),
        canonical(&dir.join("roles/alpha"))
    );
    assert_eq!(status(&run, "pre for web1"), "changed", "templated name");

    // Roles, sections and handlers, in the order they ran.
    assert_eq!(
        read("order.log"),
        "pre\nalpha\nalpha\nonce\ntasks\nnotifier\nbeta-handler\nplay-handler\nafter-flush\npost\n",
        "{}",
        run.dump()
    );
    let count = |name: &str| statuses(&run).iter().filter(|(n, _)| n == name).count();
    assert_eq!(count("alpha : alpha runs"), 2, "allow_duplicates");
    assert_eq!(
        count("once : once runs"),
        1,
        "a role listed twice runs once"
    );
    assert_eq!(count("beta : beta handler"), 1, "{}", run.dump());
    assert_eq!(count("play handler"), 1, "{}", run.dump());

    // Again: what is done stays done.
    let again = apply(&inv, base);
    again.expect_code(0);
    for task in [
        "copy with backup",
        "lineinfile with backup",
        "blockinfile with backup",
        "recurse with a symbolic mode and owner",
        "recurse with an octal mode",
        "creates (missing)",
        "removes (exists)",
        "a diff hidden",
        "variables and magic variables",
    ] {
        assert_eq!(status(&again, task), "ok", "{task}\n{}", again.dump());
    }
    assert_eq!(status(&again, "record the backup's name"), "skipped");
    assert_eq!(
        event(&again, "lineinfile with backup")["result"]["backup"],
        "",
        "nothing changed, nothing backed up"
    );
    for file in ["backup.txt", "lines.conf", "block.conf"] {
        let backups = fs::read_dir(base)
            .expect("read_dir")
            .filter(|e| {
                e.as_ref()
                    .map(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with(&format!("{file}."))
                    })
                    .unwrap_or(false)
            })
            .count();
        assert_eq!(backups, 1, "{file}: no backup when nothing changed");
    }
}
