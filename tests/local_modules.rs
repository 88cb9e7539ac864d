//! Issues 14 and 18: the modules that run on the controller and change what
//! the run knows (include_vars, group_by, add_host), `with_sequence`, and
//! `assert`'s argument splat, over a real sshd. Two inventory names reach
//! the same sshd; a third host comes from `add_host` and is reached with the
//! connection variables it was given.

mod common;

use std::fs;
use std::path::Path;

use common::{apply_json, target_dir, write_inventory, Run, USER};
use rprov_testbed::Sshd;

/// The connection variables of `sshd`, as `add_host` arguments.
fn connection_args(sshd: &Sshd) -> String {
    let line = sshd.inventory_line("x");
    let mut out = String::new();
    for (k, v) in [
        ("ansible_host", sshd.addr.to_string()),
        ("ansible_port", sshd.port.to_string()),
        ("ansible_user", sshd.user.to_string()),
        (
            "ansible_ssh_private_key_file",
            sshd.key_file.display().to_string(),
        ),
        ("ansible_ssh_common_args", sshd.common_args().join(" ")),
    ] {
        out.push_str(&format!("        {k}: \"{v}\"\n"));
    }
    assert!(line.contains("ansible_port"));
    out
}

fn playbook(dir: &Path, base: &Path, sshd: &Sshd) {
    fs::create_dir_all(dir.join("vars")).unwrap();
    fs::create_dir_all(dir.join("confdir/sub")).unwrap();
    fs::write(
        dir.join("vars/extra.yml"),
        "over: included\nover2: included\nlater: \"{{ from_play }}-rendered-when-used\"\n",
    )
    .unwrap();
    fs::write(dir.join("other.yml"), "b: 2\n").unwrap();
    fs::write(dir.join("confdir/a.yml"), "from_dir: a\n").unwrap();
    fs::write(dir.join("confdir/sub/b.yml"), "from_dir: b\n").unwrap();
    fs::write(dir.join("confdir/skip.yml"), "from_dir: skipped\n").unwrap();
    fs::write(dir.join("confdir/notes.txt"), "not vars\n").unwrap();
    // A role: its own vars/ first, the playbook's as the fallback; `dir:`
    // under the role's vars/ (its main.yml never read again).
    fs::create_dir_all(dir.join("roles/r1/vars/more")).unwrap();
    fs::create_dir_all(dir.join("roles/r1/tasks")).unwrap();
    fs::write(dir.join("roles/r1/vars/main.yml"), "role_main: main\n").unwrap();
    fs::write(dir.join("roles/r1/vars/rv.yml"), "role_file: from_role\n").unwrap();
    fs::write(dir.join("roles/r1/vars/more/m.yml"), "role_dir: more\n").unwrap();
    fs::write(
        dir.join("roles/r1/tasks/main.yml"),
        r#"- include_vars: rv.yml
- include_vars: extra.yml
- include_vars:
    dir: more
  register: more
- assert:
    that:
      - role_file == "from_role"
      - over == "included"
      - role_dir == "more"
      - more.ansible_included_var_files | length == 1
"#,
    )
    .unwrap();
    let base = base.display();
    let conn = connection_args(sshd);
    fs::write(
        dir.join("site.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  vars:
    from_play: play
    over: play
  roles:
    - r1
  tasks:
    - name: vars file found under the playbook's vars/
      include_vars: extra.yml
    - name: vars under one name
      ansible.builtin.include_vars:
        file: other.yml
        name: bundle
    - name: a directory of vars files
      include_vars:
        dir: confdir
        ignore_files: [skip.yml]
        ignore_unknown_extensions: true
      register: dirvars
    - set_fact:
        over2: fact
    - name: precedence
      assert:
        that:
          - over == "included"
          - over2 == "fact"
          - bundle.b == 2
          - from_dir == "b"
          - later == "play-rendered-when-used"
          - dirvars.ansible_included_var_files | length == 2
          - hostvars[inventory_hostname].over == "included"
    - name: group by host
      group_by:
        key: "made {{{{ inventory_hostname }}}}"
        parents: madeall
      register: gb
    - name: grouped
      assert:
        that:
          - gb is changed
          - gb.add_group == "made-" ~ inventory_hostname
          - "'made-' ~ inventory_hostname in group_names"
          - "'madeall' in group_names"
    - name: add a host
      add_host:
        name: newhost
        groups: added
        marker: from_add_host
{conn}      register: ah
    - name: added
      assert:
        that:
          - ah.add_host.host_name == "newhost"
          - ah.add_host.groups == ["added"]
          - "'newhost' in groups['added']"
    - name: sequence
      copy:
        content: "{{{{ item }}}}"
        dest: "{base}/seq_{{{{ item }}}}"
      with_sequence: count=3 format=n%02d
    - name: short sequence
      assert:
        that: item | int in [2, 4]
      with_sequence: 2-4/2
    - name: splat
      assert: "{{{{ item }}}}"
      args:
        quiet: true
      loop:
        - that: 1 == 1
        - that:
            - over == "included"
            - 2 == 2

- hosts: madeall
  gather_facts: false
  tasks:
    - name: in the made group
      copy:
        content: x
        dest: "{base}/madeall_{{{{ inventory_hostname }}}}"

- hosts: added
  gather_facts: false
  tasks:
    - name: on the added host
      copy:
        content: "{{{{ marker }}}}"
        dest: "{base}/added_{{{{ inventory_hostname }}}}"
"#
        ),
    )
    .unwrap();
}

fn events(run: &Run, name: &str) -> Vec<serde_json::Value> {
    run.tasks()
        .into_iter()
        .filter(|t| t["task"] == name)
        .collect()
}

#[test]
fn include_vars_group_by_add_host_and_sequences() {
    let sshd = Sshd::start(USER).expect("start sshd (run scripts/testenv.sh as root)");
    let base = target_dir(USER);
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(
        dir.path(),
        &format!(
            "{}\n{}\n",
            sshd.inventory_line("h1"),
            sshd.inventory_line("h2")
        ),
    );
    playbook(dir.path(), base.path(), &sshd);

    // --check: the inventory changes (as in Ansible), the hosts do not.
    let check = apply_json(dir.path(), &inv, &["--check", "site.yml"]);
    check.expect_code(0);
    assert_eq!(
        fs::read_dir(base.path()).unwrap().count(),
        0,
        "check mode wrote:\n{}",
        check.dump()
    );
    assert!(
        !events(&check, "on the added host").is_empty(),
        "the added host ran no task in check mode\n{}",
        check.dump()
    );

    let run = apply_json(dir.path(), &inv, &["site.yml"]);
    run.expect_code(0);
    for f in ["seq_n01", "seq_n02", "seq_n03", "madeall_h1", "madeall_h2"] {
        assert!(base.path().join(f).exists(), "{f} missing\n{}", run.dump());
    }
    assert!(!base.path().join("seq_n04").exists());
    assert_eq!(
        fs::read_to_string(base.path().join("added_newhost")).unwrap(),
        "from_add_host"
    );
    // add_host runs once, on the first host; the other is told so.
    let ah = events(&run, "add a host");
    assert_eq!(ah.len(), 2, "{}", run.dump());
    let changed: Vec<_> = ah.iter().filter(|e| e["status"] == "changed").collect();
    assert_eq!(changed.len(), 1, "add_host changed once:\n{}", run.dump());
    // group_by runs per host: each host's group is new.
    let gb = events(&run, "group by host");
    assert!(
        gb.iter().all(|e| e["status"] == "changed"),
        "{}",
        run.dump()
    );
    assert_eq!(run.recap("newhost")["changed"], 1, "{}", run.dump());

    // Second run: the files are there; the inventory starts from the file
    // again, so group_by and add_host change it again, as in Ansible.
    let again = apply_json(dir.path(), &inv, &["site.yml"]);
    again.expect_code(0);
    assert_eq!(again.recap("newhost")["changed"], 0, "{}", again.dump());
}

#[test]
fn wrong_sequences_and_missing_vars_files_name_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(dir.path(), "localhost ansible_connection=local\n");
    fs::write(
        dir.path().join("seq.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg={{ item }}\n      with_sequence: start=5 end=1\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["seq.yml"]);
    assert_ne!(run.code, 0);
    assert!(
        // Checked when the loop runs, as Ansible's lookup: the task's place.
        run.all().contains("seq.yml:4:") && run.all().contains("make stride negative"),
        "{}",
        run.dump()
    );

    fs::write(
        dir.path().join("pause.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg={{ item }}\n      loop: [1]\n      loop_control:\n        pause: soon\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["pause.yml"]);
    assert_ne!(run.code, 0);
    assert!(
        run.all().contains("pause.yml:7:") && run.all().contains("`pause` must be a number"),
        "{}",
        run.dump()
    );

    fs::write(
        dir.path().join("missing.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_vars: nothere.yml\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["missing.yml"]);
    run.expect_code(2);
    let all = run.all();
    assert!(
        all.contains("missing.yml:4:") && all.contains("could not find or access `nothere.yml`"),
        "{}",
        run.dump()
    );

    // A first-found list of which no file exists: at load when the names
    // are literal, on the host when they use variables (ansible-core skips
    // the entry without a word; rprov will not run a play without them).
    fs::write(
        dir.path().join("none.yml"),
        "- hosts: all\n  gather_facts: false\n  vars: {x: a}\n  vars_files:\n    - [one.yml, two.yml]\n  tasks: []\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["none.yml"]);
    run.expect_code(1);
    assert!(
        run.all().contains("none.yml:5:")
            && run
                .all()
                .contains("none of the vars files `one.yml`, `two.yml` was found")
            && run.all().contains("vars/one.yml"),
        "{}",
        run.dump()
    );
    fs::write(
        dir.path().join("none_templated.yml"),
        "- hosts: all\n  gather_facts: false\n  vars: {x: a}\n  vars_files:\n    - [\"{{ x }}1.yml\", two.yml]\n  tasks:\n    - debug: msg=hi\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["none_templated.yml"]);
    run.expect_code(2);
    assert!(
        run.all().contains("none_templated.yml:5:")
            && run
                .all()
                .contains("none of the vars files `a1.yml`, `two.yml` was found: looked for"),
        "{}",
        run.dump()
    );
}

/// Each `with_<name>` loop is the lookup of that name: the same items as
/// `query(name, …)`; a wrong sequence fails its task when the loop runs, and
/// a `rescue:` catches it with ansible-core's words in
/// `ansible_failed_result.msg`.
#[test]
fn with_loops_are_their_lookups_and_fail_when_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(dir.path(), "localhost ansible_connection=local\n");
    fs::write(
        dir.path().join("loops.yml"),
        r#"- hosts: all
  gather_facts: false
  vars:
    users:
      - {name: alice, keys: [a1, a2], mysql: {hosts: ["%", "::1"]}}
      - {name: bob, keys: [b1], mysql: {hosts: [db1]}}
      - {name: carol, skipped: true, keys: [c1]}
  tasks:
    - name: subelements
      set_fact:
        pairs: "{{ pairs | default([]) + [item.0.name ~ '/' ~ item.1] }}"
      with_subelements:
        - "{{ users }}"
        - keys
    - name: nested
      set_fact:
        combos: "{{ combos | default([]) + [item | join('')] }}"
      with_nested:
        - [x, y]
        - "{{ [1, 2] }}"
    - name: fileglob
      set_fact:
        globbed: "{{ globbed | default([]) + [item | basename] }}"
      with_fileglob: "files/*.txt"
    - name: same as the lookups
      assert:
        that:
          - globbed == ["a.txt", "b.txt"]
          - pairs == ["alice/a1", "alice/a2", "bob/b1"]
          - combos == ["x1", "x2", "y1", "y2"]
          - query('subelements', users, 'mysql.hosts') | map(attribute='1') | list == ["%", "::1", "db1"]
          - query('subelements', users, 'keys')[0][0].name == 'alice'
          - "'keys' not in query('subelements', users, 'keys')[0][0]"
          - lookup('ansible.builtin.nested', ['a'], ['b']) == ['a', 'b']
          - query('sequence', count=3, start=5) == ["5", "6", "7"]
          - "lookup('dict', {'k': 1}) == {'key': 'k', 'value': 1}"
    - block:
        - name: a wrong sequence
          debug: msg={{ item }}
          with_sequence: start=0 junk=3
      rescue:
        - name: rescued
          assert:
            that:
              - ansible_failed_task.name == "a wrong sequence"
              - '"unrecognized arguments to with_sequence" in ansible_failed_result.msg'
              - '"junk" in ansible_failed_result.msg'
"#,
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("files")).unwrap();
    for f in ["b.txt", "a.txt", "c.conf"] {
        fs::write(dir.path().join("files").join(f), "x").unwrap();
    }
    let run = apply_json(dir.path(), &inv, &["loops.yml"]);
    run.expect_code(0);
    assert_eq!(events(&run, "rescued")[0]["status"], "ok", "{}", run.dump());
    assert_eq!(run.recap("localhost")["failed"], 0, "{}", run.dump());
}

/// `meta` follows its `when` as any task does: `end_host` under a false
/// condition is skipped and the tasks after it run (ansible-core's `systemd`
/// integration target starts with one); under a true one the host ends.
#[test]
fn a_meta_task_is_skipped_when_its_condition_is_false() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inv = common::write_inventory(dir.path(), "localhost ansible_connection=local\n");
    std::fs::write(
        dir.path().join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - {name: not yet, meta: end_host, when: false}\n\
         \x20   - {name: runs, debug: {msg: here}}\n\
         \x20   - {name: now, meta: end_host, when: true}\n\
         \x20   - {name: never, debug: {msg: there}}\n",
    )
    .expect("playbook");
    let run = common::apply_json(dir.path(), &inv, &["site.yml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let seen = common::statuses(&run);
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["not yet", "runs", "now"], "{seen:?}");
    assert_eq!(seen[0].1, "skipped", "{seen:?}");
    assert_eq!(seen[1].1, "ok", "{seen:?}");
}

/// `ansible_facts` is always defined, as in ansible-core: `{}` before facts
/// are gathered (ansible-core's `setup_remote_tmp_dir` role tests
/// `ansible_facts == {}`), the facts after.
#[test]
fn ansible_facts_is_an_empty_mapping_until_facts_are_gathered() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(dir.path(), "localhost ansible_connection=local\n");
    fs::write(
        dir.path().join("facts.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - assert:\n        that:\n          - ansible_facts is defined\n          - ansible_facts == {}\n    - setup:\n        gather_subset: min\n    - assert:\n        that:\n          - ansible_facts != {}\n          - ansible_facts.distribution is defined\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["facts.yml"]);
    run.expect_code(0);
}

/// A `template` lookup's file may use any variable, `hostvars` too, which
/// lives in no variable layer (ansible-core's `template_deepcopy` case).
#[test]
fn a_template_lookup_sees_hostvars() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(dir.path(), "h1 ansible_connection=local host_var=foo\n");
    fs::write(dir.path().join("t.in"), "{{ hostvars['h1'].host_var }}\n").unwrap();
    fs::write(
        dir.path().join("site.yml"),
        "- hosts: h1\n  gather_facts: false\n  tasks:\n    - set_fact:\n        got: \"{{ lookup('template', 't.in') }}\"\n    - assert:\n        that: got == \"foo\\n\"\n",
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["site.yml"]);
    run.expect_code(0);
}

/// `meta: refresh_inventory` reads the inventory file again: the next play
/// selects its hosts from what it says now, and what `add_host` and
/// `group_by` added is kept (a grouping of a host the file dropped is not),
/// as ansible-core's `refresh_inventory` (its `meta_tasks` target).
#[test]
fn refresh_inventory_reads_the_source_again_and_keeps_added_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let local = "ansible_connection=local";
    let inv = write_inventory(dir.path(), &format!("a {local}\nb {local}\n"));
    fs::write(
        dir.path().join("new.ini"),
        format!("b {local}\nc {local}\n"),
    )
    .unwrap();
    let out = dir.path().join("hosts.txt");
    fs::write(
        dir.path().join("site.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - add_host: {{name: d, ansible_connection: local}}\n\
             \x20   - group_by: {{key: seen}}\n\
             \x20   - copy: {{src: new.ini, dest: {inv}}}\n      run_once: true\n\
             \x20   - meta: refresh_inventory\n\
             - hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - copy:\n        dest: {out}\n        content: \"{{{{ ansible_play_hosts | sort | join(',') }}}} seen={{{{ groups['seen'] | sort | join(',') }}}}\"\n      run_once: true\n",
            inv = inv.display(),
            out = out.display(),
        ),
    )
    .unwrap();
    let run = apply_json(dir.path(), &inv, &["site.yml"]);
    run.expect_code(0);
    assert_eq!(fs::read_to_string(&out).unwrap(), "b,c,d seen=b");
}
