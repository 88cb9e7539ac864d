//! `copy` of a directory on the local connection: both of Ansible's forms
//! (`src: dir/` copies the contents, `src: dir` the directory itself), modes,
//! a no-change second run, and a dry run that shows only the changed file.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{rprov, Run};

const PLAY: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: contents of site into www
      copy:
        src: "{{ work }}/site/"
        dest: "{{ work }}/www"
    - name: site itself into srv, with modes
      copy:
        src: "{{ work }}/site"
        dest: "{{ work }}/srv/"
        mode: "0640"
        directory_mode: "0750"
"#;

fn apply(work: &Path, extra: &[&str]) -> Run {
    fs::write(work.join("hosts.ini"), "box ansible_connection=local\n").expect("inventory");
    fs::write(work.join("play.yml"), PLAY).expect("playbook");
    let w = format!("work={}", work.display());
    let mut args = vec!["apply", "-i", "hosts.ini", "-e", &w];
    args.extend_from_slice(extra);
    args.push("play.yml");
    rprov(work, args)
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn copies_a_directory_tree_idempotently() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    let site = work.join("site");
    fs::create_dir_all(site.join("css/print")).expect("mkdir");
    fs::create_dir_all(site.join("empty")).expect("mkdir");
    fs::write(site.join("index.html"), "<h1>hi</h1>\n").expect("write");
    fs::write(site.join("css/a.css"), "body {}\n").expect("write");
    fs::write(site.join("css/print/p.css"), "").expect("write");
    fs::write(site.join("logo.bin"), [0u8, 159, 146, 150]).expect("write");
    fs::create_dir(work.join("www")).expect("mkdir");
    fs::create_dir(work.join("srv")).expect("mkdir");

    let first = apply(work, &[]);
    first.expect_code(0);
    for root in [work.join("www"), work.join("srv/site")] {
        assert_eq!(
            fs::read_to_string(root.join("index.html")).expect("index"),
            "<h1>hi</h1>\n"
        );
        assert_eq!(
            fs::read_to_string(root.join("css/a.css")).expect("a.css"),
            "body {}\n"
        );
        assert_eq!(fs::read(root.join("css/print/p.css")).expect("p.css"), b"");
        assert_eq!(
            fs::read(root.join("logo.bin")).expect("logo"),
            [0u8, 159, 146, 150]
        );
        assert!(
            root.join("empty").is_dir(),
            "empty directories are created too"
        );
    }
    assert!(
        !work.join("www/site").exists(),
        "`src: dir/` copies the contents only"
    );
    assert_eq!(mode(&work.join("srv/site/css/a.css")), 0o640);
    assert_eq!(mode(&work.join("srv/site/css")), 0o750);
    assert_eq!(mode(&work.join("srv/site")), 0o750);

    let second = apply(work, &[]);
    second.expect_code(0);
    assert!(
        second.stdout.contains("box       2       0"),
        "second run changed something:\n{}",
        second.dump()
    );

    // One local file changes: the dry run shows that file's diff and nothing else.
    fs::write(site.join("css/a.css"), "body { margin: 0 }\n").expect("write");
    let check = apply(work, &["--check", "--diff"]);
    check.expect_code(0);
    let headers: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.starts_with("+++ "))
        .collect();
    assert_eq!(
        headers.len(),
        2,
        "one diff per copy task:\n{}",
        check.stdout
    );
    assert!(
        headers.iter().all(|h| h.ends_with("css/a.css")),
        "{headers:?}"
    );
    assert!(
        check.stdout.contains("+body { margin: 0 }"),
        "{}",
        check.stdout
    );
    assert_eq!(
        fs::read_to_string(work.join("www/css/a.css")).expect("a.css"),
        "body {}\n",
        "--check wrote a file"
    );
    let third = apply(work, &[]);
    third.expect_code(0);
    assert_eq!(
        fs::read_to_string(work.join("srv/site/css/a.css")).expect("a.css"),
        "body { margin: 0 }\n"
    );
    assert_eq!(mode(&work.join("srv/site/css/a.css")), 0o640);
}

#[test]
fn remote_src_copies_a_file_on_the_host() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    fs::write(work.join("hosts.ini"), "box ansible_connection=local\n").expect("inventory");
    fs::write(work.join("skel.conf"), "setting = 1\n").expect("write");
    fs::set_permissions(work.join("skel.conf"), fs::Permissions::from_mode(0o600)).expect("chmod");
    fs::create_dir(work.join("etc")).expect("mkdir");
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: from the host's own file
      copy:
        src: "{{ work }}/skel.conf"
        dest: "{{ work }}/etc/"
        remote_src: true
        mode: preserve
"#;
    fs::write(work.join("play.yml"), play).expect("playbook");
    let w = format!("work={}", work.display());
    let run = |extra: &[&str]| {
        let mut args = vec!["apply", "-i", "hosts.ini", "-e", &w];
        args.extend_from_slice(extra);
        args.push("play.yml");
        rprov(work, args)
    };
    run(&[]).expect_code(0);
    let dest = work.join("etc/skel.conf");
    assert_eq!(fs::read_to_string(&dest).expect("dest"), "setting = 1\n");
    assert_eq!(mode(&dest), 0o600, "mode: preserve takes the source's");
    let again = run(&[]);
    assert!(
        again
            .stdout
            .contains("ok       [box] from the host's own file"),
        "{}",
        again.dump()
    );
    fs::write(work.join("skel.conf"), "setting = 2\n").expect("write");
    let check = run(&["--check", "--diff"]);
    assert!(
        check.stdout.contains("-setting = 1") && check.stdout.contains("+setting = 2"),
        "{}",
        check.dump()
    );
    assert_eq!(
        fs::read_to_string(&dest).expect("dest"),
        "setting = 1\n",
        "--check wrote"
    );
}
