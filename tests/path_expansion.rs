//! Path arguments as ansible-core's `type='path'` expands them on the host:
//! `$NAME`/`${NAME}` from the host's environment (an unset one left as
//! written), then a leading `~`. On the local connection, whose host is this
//! machine: `$HOME` there is this process's.

mod common;

#[test]
fn path_arguments_expand_environment_variables_on_the_host() {
    let work = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("home");
    std::fs::write(home.path().join("marker"), "x\n").expect("marker");
    std::fs::write(
        work.path().join("hosts.ini"),
        "box ansible_connection=local\n",
    )
    .expect("inventory");
    std::fs::write(
        work.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - stat: {path: "$HOME/marker"}
      register: plain
    - stat: {path: "${HOME}/marker"}
      register: braced
    - stat: {path: "$RPROV_SURELY_UNSET_VARIABLE/marker"}
      register: unset
    - copy:
        src: "$HOME/marker"
        remote_src: true
        dest: "{{ out }}/copied"
    - assert:
        that:
          - plain.stat.exists
          - braced.stat.exists
          - not unset.stat.exists
"#,
    )
    .expect("playbook");
    let out = format!("out={}", work.path().display());
    let run = common::rprov_env(
        work.path(),
        ["apply", "-i", "hosts.ini", "-e", &out, "play.yml"],
        &[("HOME", &home.path().display().to_string())],
    );
    run.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(work.path().join("copied")).expect("the copy"),
        "x\n",
        "{}",
        run.dump()
    );
}
