//! `get_url` over a real sshd, downloading from a loopback HTTP server the
//! test starts (`python3 -m http.server`): a file, one checked against a
//! digest and one against a checksum file, one into a directory (named by
//! the URL). The first run changes each, the second changes nothing, and a
//! wrong checksum fails the task and leaves neither the file nor a temp file.
//! `uri` with `dest` against the same server.

mod common;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{apply_json, target_dir, USER};
use rprov_testbed::Sshd;

/// `python3 -m http.server` on a free loopback port, serving `dir`;
/// stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "http.server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CONTENT: &str = "hello\n";
const SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rprov-"))
        .collect();
    v.sort();
    v
}

#[test]
fn downloads_once_checks_checksums_and_never_leaves_a_torn_file() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let served = tempfile::tempdir().expect("tempdir");
    fs::write(served.path().join("app.bin"), CONTENT).expect("app.bin");
    fs::write(
        served.path().join("SHA256SUMS"),
        format!("0000  other.bin\n{SHA256} *app.bin\n"),
    )
    .expect("sums");
    let server = Server::start(served.path());
    let base = format!("http://127.0.0.1:{}", server.port);
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let r = root.path().display().to_string();
    let status = Command::new("install")
        .args(["-d", "-o", USER, &format!("{r}/into")])
        .status()
        .expect("install -d");
    assert!(status.success());
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - get_url:
        url: {base}/app.bin
        dest: {r}/plain
        mode: "0640"
      register: plain
    - get_url:
        url: {base}/app.bin
        dest: {r}/digest
        checksum: "sha256:{SHA256}"
    - get_url:
        url: {base}/app.bin
        dest: {r}/listed
        checksum: "sha256:{base}/SHA256SUMS"
    - get_url:
        url: {base}/app.bin
        dest: {r}/into
      register: into
    # The second run's conditional GET is answered 304, as under Ansible.
    - assert:
        that:
          - plain.status_code == 200
          - plain.checksum_src == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - plain.md5sum == 'b1946ac92492d2347c6235b4d2611184'
          - plain.mode == '0640'
          - plain.size == 6
          - into.dest == '{r}/into/app.bin'
      when: plain is changed
"#
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 4, "{}", run.dump());
    for name in ["plain", "digest", "listed", "into/app.bin"] {
        assert_eq!(
            fs::read_to_string(root.path().join(name)).expect(name),
            CONTENT,
            "{name}"
        );
    }
    let mode = fs::metadata(root.path().join("plain"))
        .expect("plain")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    assert_eq!(run.recap("web1")["changed"], 0, "{}", run.dump());

    // A wrong checksum: the task fails, nothing lands, no temp file stays.
    let bad = format!(
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - get_url:
        url: {base}/app.bin
        dest: {r}/bad
        checksum: "sha256:{}"
"#,
        "0".repeat(64)
    );
    fs::write(work.path().join("bad.yml"), bad).expect("playbook");
    let run = apply_json(work.path(), &inv, &["bad.yml"]);
    assert_ne!(run.code, 0, "{}", run.dump());
    assert_eq!(run.recap("web1")["failed"], 1, "{}", run.dump());
    assert!(run.all().contains("did not match"), "{}", run.dump());
    assert!(!root.path().join("bad").exists());
    assert_eq!(leftovers(root.path()), Vec::<String>::new());
    assert_eq!(leftovers(&root.path().join("into")), Vec::<String>::new());
}

/// `uri` with `dest`: the answer's body lands in the file whole (a temp file
/// beside it, renamed), into a directory under the URL's last name; the
/// next request is conditional, and a 304 writes nothing; an answer not in
/// `status_code` fails and leaves no file and no temp file.
#[test]
fn uri_writes_its_answer_to_dest() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let served = tempfile::tempdir().expect("tempdir");
    fs::write(served.path().join("page.txt"), CONTENT).expect("page.txt");
    let server = Server::start(served.path());
    let base = format!("http://127.0.0.1:{}", server.port);
    let work = tempfile::tempdir().expect("tempdir");
    let inv = common::one_host_inventory(work.path(), &sshd, "web1");
    let root = target_dir(USER);
    let r = root.path().display().to_string();
    let status = Command::new("install")
        .args(["-d", "-o", USER, &format!("{r}/into")])
        .status()
        .expect("install -d");
    assert!(status.success());
    let play = format!(
        r#"- hosts: web1
  gather_facts: false
  tasks:
    - uri:
        url: {base}/page.txt
        dest: {r}/page
        status_code: [200, 304]
      register: first
    - uri:
        url: {base}/page.txt
        dest: {r}/into/
      register: into
    - uri:
        url: {base}/missing.txt
        dest: {r}/missing
      register: missing
      ignore_errors: true
    - copy:
        dest: {r}/results
        content: "{{{{ first.status }}}}|{{{{ first.changed }}}}|{{{{ first.path }}}}|{{{{ into.path }}}}|{{{{ missing.status }}}}|{{{{ missing is failed }}}}\n"
"#
    );
    fs::write(work.path().join("play.yml"), play).expect("playbook");
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    let results = || fs::read_to_string(root.path().join("results")).expect("results");
    assert_eq!(
        results(),
        format!("200|True|{r}/page|{r}/into/page.txt|404|True\n"),
        "{}",
        run.dump()
    );
    for name in ["page", "into/page.txt"] {
        assert_eq!(
            fs::read_to_string(root.path().join(name)).expect(name),
            CONTENT,
            "{name}"
        );
    }
    assert!(!root.path().join("missing").exists());
    assert_eq!(leftovers(root.path()), Vec::<String>::new());
    // Asked again: the file is as new as the served one, so the answer is
    // 304, which writes nothing and is no change.
    let run = apply_json(work.path(), &inv, &["play.yml"]);
    run.expect_code(0);
    assert!(
        results().starts_with(&format!("304|False|{r}/page|")),
        "{}",
        results()
    );
    assert_eq!(leftovers(root.path()), Vec::<String>::new());
}
