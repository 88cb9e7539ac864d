//! Tests of the public API. Expected values for the fixtures were checked by hand
//! against ansible-core 2.19 (`ansible-inventory --list`, `ansible PATTERN
//! --list-hosts`, and a `debug` task for precedence); the tests do not need it.

use super::*;
use serde_json::json;
use std::fs;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn ini(text: &str) -> Inventory {
    Inventory::from_str_at(text, Path::new("/nonexistent-rprov-dir/hosts.ini")).unwrap()
}

fn ini_err(text: &str) -> String {
    Inventory::from_str_at(text, Path::new("inventory/hosts.ini"))
        .unwrap_err()
        .to_string()
}

fn yaml_err(text: &str) -> String {
    Inventory::from_str_at(text, Path::new("inventory/hosts.yml"))
        .unwrap_err()
        .to_string()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn basic_ini_matches_ansible_inventory_list() {
    let inv = Inventory::load(&fixture("basic/hosts.ini")).unwrap();
    let list = inv.to_list_json();
    assert_eq!(
        list["all"],
        json!({"children": ["ungrouped", "prod", "alsoonly"]})
    );
    assert_eq!(list["prod"], json!({"children": ["db", "web"]}));
    assert_eq!(list["ungrouped"], json!({"hosts": ["lone1", "lone2"]}));
    assert_eq!(
        list["db"],
        json!({"hosts": ["db-a", "db-b", "db-c", "web02.ex.com"]})
    );
    assert!(
        list.get("alsoonly").is_none(),
        "empty groups are left out, as ansible does"
    );
    let hv = &list["_meta"]["hostvars"];
    assert_eq!(hv["lone2"], json!({"ansible_port": 2222, "x": 1}));
    assert!(hv.get("lone1").is_none());
    assert_eq!(
        hv["web01.ex.com"],
        json!({"a": true, "b": "yes", "c": "x y", "d": "z", "e": "0644", "f": 1.5,
               "g": [1, 2], "h": "{k:1}", "i": null, "j": "true", "k": -3, "l": "foo=bar"})
    );
    assert_eq!(
        hv["db-a"],
        json!({"dq": "quoted str", "ds": "yes", "dv": 1})
    );
    assert_eq!(hv["web02.ex.com"]["dv"], json!(1));
    // Keys come out sorted, like ansible-inventory prints them.
    let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_meta", "all", "db", "prod", "ungrouped", "web"]);
}

#[test]
fn host_order_and_groups_follow_ansible() {
    let inv = Inventory::load(&fixture("basic/hosts.ini")).unwrap();
    let all = s(&[
        "lone1",
        "lone2",
        "db-a",
        "db-b",
        "db-c",
        "web02.ex.com",
        "web01.ex.com",
        "web03.ex.com",
    ]);
    assert_eq!(inv.hosts(), all);
    let groups = inv.groups();
    let names: Vec<&String> = groups.keys().collect();
    assert_eq!(names, ["all", "ungrouped", "web", "db", "prod", "alsoonly"]);
    assert_eq!(groups["all"], all);
    assert_eq!(groups["prod"], all[2..].to_vec());
    assert_eq!(groups["alsoonly"], Vec::<String>::new());
    assert_eq!(inv.group_names("web02.ex.com"), s(&["db", "prod", "web"]));
    assert_eq!(inv.group_names("lone1"), s(&["ungrouped"]));
    assert_eq!(inv.group_names("nosuchhost"), Vec::<String>::new());
    assert!(inv.host_vars("nosuchhost").is_empty());
}

#[test]
fn patterns() {
    let inv = Inventory::load(&fixture("yaml/hosts.yml")).unwrap();
    let sel = |p: &str| inv.select(p).unwrap();
    let all = s(&[
        "bastion",
        "web01.example.com",
        "web02.example.com",
        "web03.example.com",
        "db1",
        "db-a",
        "db-b",
    ]);
    assert_eq!(sel("all"), all);
    assert_eq!(sel("*"), all);
    assert_eq!(
        sel("db:web"),
        s(&[
            "db1",
            "db-a",
            "db-b",
            "web01.example.com",
            "web02.example.com",
            "web03.example.com"
        ])
    );
    assert_eq!(sel("db,bastion"), s(&["db1", "db-a", "db-b", "bastion"]));
    assert_eq!(
        sel("prod:!db"),
        s(&[
            "web01.example.com",
            "web02.example.com",
            "web03.example.com"
        ])
    );
    assert_eq!(sel("prod:&replicas"), s(&["db-a", "db-b"]));
    // Exclusions and intersections apply after all unions, whatever their position.
    assert_eq!(sel("!db:replicas:web01*"), s(&["web01.example.com"]));
    assert_eq!(
        sel("prod:!web02*:&~.*example"),
        s(&["web01.example.com", "web03.example.com"])
    );
    assert_eq!(
        sel("web0[13]*"),
        s(&["web01.example.com", "web03.example.com"])
    );
    assert_eq!(sel("~db-?[ab]"), s(&["db-a", "db-b"]));
    assert_eq!(
        sel("~rep"),
        s(&["db-a", "db-b"]),
        "a regex matches groups, anchored at the start"
    );
    assert_eq!(sel("db1"), s(&["db1"]));
    assert_eq!(
        sel("!db"),
        s(&[
            "bastion",
            "web01.example.com",
            "web02.example.com",
            "web03.example.com"
        ])
    );
    assert_eq!(
        sel("web[1:],db[-1]"),
        s(&["web02.example.com", "web03.example.com", "db-b"])
    );
    assert_eq!(sel("web[0]"), s(&["web01.example.com"]));
    assert_eq!(
        sel("nosuch:db1"),
        s(&["db1"]),
        "an unknown term alone is not an error"
    );

    let e = inv.select("nosuch").unwrap_err().to_string();
    assert_eq!(e, "no host or group matches 'nosuch'");
    let e = inv.select("db:&web").unwrap_err().to_string();
    assert_eq!(e, "no host or group matches 'db:&web'");
    let e = inv.select("~web(").unwrap_err().to_string();
    assert!(
        e.starts_with("invalid host pattern '~web(': bad regular expression"),
        "{e}"
    );
}

#[test]
fn yaml_inventory() {
    let inv = Inventory::load(&fixture("yaml/hosts.yml")).unwrap();
    let list = inv.to_list_json();
    assert_eq!(
        list["all"],
        json!({"children": ["ungrouped", "web", "db", "prod"]})
    );
    assert_eq!(list["ungrouped"], json!({"hosts": ["bastion"]}));
    assert_eq!(
        list["db"],
        json!({"children": ["replicas"], "hosts": ["db1"]})
    );
    assert_eq!(list["replicas"], json!({"hosts": ["db-a", "db-b"]}));
    let hv = &list["_meta"]["hostvars"];
    assert_eq!(
        hv["web03.example.com"],
        json!({"ansible_port": 2222, "flag": true, "ntp": "pool.ntp.org", "role": "web"})
    );
    assert_eq!(
        hv["bastion"],
        json!({"ansible_host": "192.0.2.1", "flag": true, "ntp": "pool.ntp.org"})
    );
    assert_eq!(inv.group_names("db-a"), s(&["db", "prod", "replicas"]));
}

#[test]
fn yaml_detected_by_content() {
    let inv = Inventory::from_str_at(
        "# c\nall:\n  hosts:\n    h1:\n",
        Path::new("/nonexistent-rprov-dir/hosts"),
    )
    .unwrap();
    assert_eq!(inv.hosts(), s(&["h1"]));
    let inv =
        Inventory::from_str_at("h1\nh2:22\n", Path::new("/nonexistent-rprov-dir/hosts")).unwrap();
    assert_eq!(inv.hosts(), s(&["h1", "h2"]));
    let inv = Inventory::from_str_at("", Path::new("/nonexistent-rprov-dir/hosts.yml")).unwrap();
    assert!(inv.hosts().is_empty());
}

#[test]
fn yaml_one_one_booleans_and_octal() {
    let inv = Inventory::from_str_at(
        "all:\n  hosts:\n    h:\n      a: yes\n      b: no\n      c: on\n      d: 'yes'\n      e: 0644\n      f: True\n",
        Path::new("/nonexistent-rprov-dir/x.yml"),
    )
    .unwrap();
    let v = inv.host_vars("h");
    assert_eq!(v["a"], json!(true));
    assert_eq!(v["b"], json!(false));
    assert_eq!(v["c"], json!(true));
    assert_eq!(v["d"], json!("yes"));
    assert_eq!(v["e"], json!(420));
    assert_eq!(v["f"], json!(true));
}

#[test]
fn precedence_every_level_beats_the_ones_below() {
    let mut inv = Inventory::load(&fixture("precedence/inventory/hosts.ini")).unwrap();
    inv.add_vars_dir(&fixture("precedence/playbook")).unwrap();
    let v = inv.host_vars("web1");
    for n in 1..=8 {
        assert_eq!(v[&format!("x{n}")], json!(format!("L{n}")), "x{n}");
    }
    assert_eq!(
        v["order"],
        json!("web"),
        "children's group vars beat parents'"
    );
    assert_eq!(
        v["dirfile"],
        json!("second"),
        "files in a group_vars dir merge in sorted order, hidden skipped"
    );
    assert_eq!(v["yes_is_bool"], json!(true));
    assert_eq!(v["mode"], json!(420));
    // Without the playbook dir, the inventory's own dirs apply.
    let inv = Inventory::load(&fixture("precedence/inventory/hosts.ini")).unwrap();
    let v = inv.host_vars("web1");
    assert_eq!(v["x8"], json!("L7"));
    assert_eq!(v["x5"], json!("L4"));
}

#[test]
fn group_priority_and_depth_order_group_vars() {
    let inv = ini(
        "[a]\nh\n[b]\nh\n[c:children]\nb\n[a:vars]\nv=a\nw=a\n[b:vars]\nv=b\nw=b\n[c:vars]\nv=c\n",
    );
    // b (depth 2) beats a (depth 1); a and c have equal depth, name order: c wins over a.
    let v = inv.host_vars("h");
    assert_eq!(v["v"], json!("b"));
    assert_eq!(v["w"], json!("b"));
    let inv = ini("[a]\nh\n[z]\nh\n[a:vars]\nv=a\nansible_group_priority=10\n[z:vars]\nv=z\n");
    assert_eq!(
        inv.host_vars("h")["v"],
        json!("a"),
        "higher priority applies later"
    );
    assert!(!inv.host_vars("h").contains_key("ansible_group_priority"));
    let inv = ini("[a]\nh\n[z]\nh\n[a:vars]\nv=a\n[z:vars]\nv=z\n");
    assert_eq!(inv.host_vars("h")["v"], json!("z"));
    // Maps are replaced, not merged.
    let inv = ini("[a]\nh m=\"{'x': 1}\"\n[all:vars]\nm={'y':2}\n");
    assert_eq!(inv.host_vars("h")["m"], json!({"x": 1}));
}

#[test]
fn ini_details() {
    let inv = ini("; comment\n# comment\nh1 a=1 # trailing\n[g]  # comment\nh1\nh2 k=\"1\" q=\"'2'\" t=(1,2)\n[g:vars]\nx = \"spaced\" \n");
    assert_eq!(
        inv.group_names("h1"),
        s(&["g"]),
        "h1 leaves ungrouped once in g"
    );
    assert_eq!(inv.host_vars("h1")["a"], json!(1));
    let v = inv.host_vars("h2");
    assert_eq!(
        v["k"],
        json!(1),
        "shlex strips the quotes, then literal_eval sees 1"
    );
    assert_eq!(v["q"], json!("2"));
    assert_eq!(v["t"], json!([1, 2]));
    assert_eq!(v["x"], json!("spaced"));
    // Children declared before the group itself.
    let inv = ini("[p:children]\nc\n[c]\nh\n");
    assert_eq!(inv.group_names("h"), s(&["c", "p"]));
    // A group that exists only as a :children section.
    let inv = ini("[p:children]\n[p:vars]\nx=1\n");
    assert!(inv.groups().contains_key("p"));
    // [all:vars] needs no declaration.
    let inv = ini("h\n[all:vars]\nx=1\n");
    assert_eq!(inv.host_vars("h")["x"], json!(1));
    // Inline vars of a host seen twice are merged.
    let inv = ini("h a=1\n[g]\nh b=2\n");
    assert_eq!(
        inv.host_vars("h"),
        [("a".to_string(), json!(1)), ("b".to_string(), json!(2))]
            .into_iter()
            .collect::<Vars>()
    );
    // IPv6 hosts.
    let inv = ini("[::1]:2222\nfe80::1\n");
    assert_eq!(inv.hosts(), s(&["::1", "fe80::1"]));
    assert_eq!(inv.select("fe80::1").unwrap(), s(&["fe80::1"]));
    assert_eq!(inv.host_vars("::1")["ansible_port"], json!(2222));
    // Host names of hex digits joined by `:` are a list, not an address.
    let inv = ini("A\nB\nC\nD\n");
    assert_eq!(inv.select("A:B:C").unwrap(), s(&["A", "B", "C"]));
}

#[test]
fn ini_errors_name_file_and_line() {
    let cases = [
        ("h\n\n[web]\nweb[01:]\n", "inventory/hosts.ini:4: invalid host range \"web[01:]\": host range must specify end value: expected [START:END] like web[01:10]"),
        ("[web:foo]\n", "inventory/hosts.ini:1: section [web:foo] has unknown type 'foo': use [web], [web:vars] or [web:children]"),
        ("[web prod]\n", "inventory/hosts.ini:1: invalid section header '[web prod]'"),
        ("[g]\nh a\n", "inventory/hosts.ini:2: expected key=value host variable after 'h', got 'a'"),
        ("[g]\nh a=\"x\n", "inventory/hosts.ini:2: cannot split host line: no closing quotation (\")"),
        ("[g]\n[g:vars]\njustakey\n", "inventory/hosts.ini:3: expected key=value in [g:vars], got 'justakey'"),
        ("[g]\n[g:vars]\n=1\n", "inventory/hosts.ini:3: empty variable name"),
        ("[g:vars]\nx=1\n", "inventory/hosts.ini:1: section [g:vars] is for group 'g', which is not defined"),
        ("[g]\n[p:children]\ng\nnosuch\n", "inventory/hosts.ini:4: section [p:children] includes undefined group 'nosuch'"),
        ("[p:children]\nc d\n", "inventory/hosts.ini:2: expected a group name in [p:children], got 'c d'"),
        ("[a:children]\nb\n[b:children]\na\n", "inventory/hosts.ini:4: adding 'a' as a child of 'b' creates a cycle"),
        ("[a:children]\nb\n[b:children]\nc\n[c:children]\na\n", "inventory/hosts.ini:6: adding 'a' as a child of 'c' creates a cycle"),
        ("[a:children]\na\n", "inventory/hosts.ini:2: group 'a' cannot be a child of itself"),
        ("[g]\n[g:vars]\nansible_group_priority=high\n", "inventory/hosts.ini:3: ansible_group_priority must be an integer"),
        ("h:\n", "inventory/hosts.ini:1: invalid host pattern \"h:\": it ends in ':'"),
        ("h:http\n", "inventory/hosts.ini:1: invalid port \"http\" in \"h:http\""),
    ];
    for (text, want) in cases {
        let got = ini_err(text);
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
    }
    // Every parse error carries a location and a hint.
    let e = Inventory::from_str_at("[g]\nh a\n", Path::new("x.ini")).unwrap_err();
    let loc = e.location().unwrap();
    assert_eq!((loc.line, loc.column), (2, None));
    assert!(matches!(e, InventoryError::Parse { ref hint, .. } if !hint.is_empty()));
}

#[test]
fn yaml_errors_name_file_line_and_column() {
    let e = yaml_err("all:\n  hosts:\n    h1: [1,\n");
    assert!(
        e.starts_with("inventory/hosts.yml:3:9: YAML parsing failed: unclosed bracket"),
        "{e}"
    );
    let e = yaml_err("all:\n  hosts:\n   web[01:]:\n");
    assert_eq!(e, "inventory/hosts.yml:3: invalid host range \"web[01:]\": host range must specify end value: expected [START:END] like web[01:10]");
    let e = yaml_err("all:\n  hosts:\n    - h1\n");
    assert!(
        e.starts_with(
            "inventory/hosts.yml:2: 'hosts' of group 'all' must be a mapping, found a list"
        ),
        "{e}"
    );
    let e = yaml_err("all:\n  host:\n    h1:\n");
    assert!(
        e.starts_with("inventory/hosts.yml:2: unexpected key 'host' in group 'all'"),
        "{e}"
    );
    let e = yaml_err("all:\n  hosts:\n    h1: 3\n");
    assert!(
        e.starts_with("inventory/hosts.yml:3: host 'h1' must map to its variables, found a number"),
        "{e}"
    );
    let e = yaml_err("- a\n");
    assert!(
        e.starts_with("inventory/hosts.yml:1: a YAML inventory must be a mapping"),
        "{e}"
    );
    let e = yaml_err("all:\n  children:\n    a:\n      children:\n        all:\n");
    assert!(e.contains("creates a cycle"), "{e}");
    let e = yaml_err("all: 3\n");
    assert!(
        e.starts_with("inventory/hosts.yml:1: group 'all' must be a mapping, found a number"),
        "{e}"
    );
}

#[test]
fn vars_dir_errors() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = dir.path().join("hosts.ini");
    fs::write(&inv_path, "[web]\nw1\n").unwrap();
    fs::create_dir(dir.path().join("group_vars")).unwrap();
    fs::write(
        dir.path().join("group_vars/web.yml"),
        "$ANSIBLE_VAULT;1.1;AES256\n6231\n",
    )
    .unwrap();
    let e = Inventory::load(&inv_path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "vault-encrypted vars file {}: pass --vault-password-file FILE to read it",
            dir.path().join("group_vars/web.yml").display()
        )
    );
    fs::write(dir.path().join("group_vars/web.yml"), "a: 1\nb: [\n").unwrap();
    let e = Inventory::load(&inv_path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{}:2:4: YAML parsing failed",
            dir.path().join("group_vars/web.yml").display()
        )),
        "{e}"
    );
    fs::write(dir.path().join("group_vars/web.yml"), "- 1\n").unwrap();
    let e = Inventory::load(&inv_path).unwrap_err().to_string();
    assert!(
        e.contains("web.yml:1: a vars file must be a mapping"),
        "{e}"
    );
    // First match wins: NAME before NAME.yml, and an empty file is no vars.
    fs::write(dir.path().join("group_vars/web"), "").unwrap();
    let inv = Inventory::load(&inv_path).unwrap();
    assert!(inv.host_vars("w1").is_empty());
    let e = Inventory::load(&dir.path().join("missing.ini"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot read "), "{e}");
}

#[test]
fn connection_vars() {
    let vars = |j: serde_json::Value| -> Vars { serde_json::from_value(j).unwrap() };
    let c = ConnectionVars::from_vars("web1", &Vars::new()).unwrap();
    assert_eq!(c.host, "web1");
    assert_eq!(
        (c.port, c.user.clone(), c.connection, c.become_),
        (None, None, ConnectionKind::Ssh, None)
    );
    let c = ConnectionVars::from_vars(
        "web1",
        &vars(json!({"ansible_ssh_host": "10.0.0.1", "ansible_ssh_port": "2222", "ansible_ssh_user": "deploy",
                     "ansible_private_key_file": "~/.ssh/id", "ansible_become": "yes", "ansible_become_user": "root",
                     "ansible_ssh_common_args": "-o 'ProxyJump bastion' -o StrictHostKeyChecking=no",
                     "ansible_ssh_extra_args": "-v \"-o A=b c\"", "ansible_connection": "smart"})),
    )
    .unwrap();
    assert_eq!(c.host, "10.0.0.1");
    assert_eq!(c.port, Some(2222));
    assert_eq!(c.user.as_deref(), Some("deploy"));
    assert_eq!(c.private_key_file, Some(PathBuf::from("~/.ssh/id")));
    assert_eq!(c.become_, Some(true));
    assert_eq!(c.become_user.as_deref(), Some("root"));
    assert_eq!(
        c.ssh_args,
        s(&[
            "-o",
            "ProxyJump bastion",
            "-o",
            "StrictHostKeyChecking=no",
            "-v",
            "-o A=b c"
        ])
    );
    // Ansible's order: ssh_args, host_key_checking=False, common, extra.
    let c = ConnectionVars::from_vars(
        "web1",
        &vars(
            json!({"ansible_ssh_args": "-C", "ansible_host_key_checking": false,
                     "ansible_ssh_common_args": "-o A=1", "ansible_ssh_extra_args": "-o B=2"}),
        ),
    )
    .unwrap();
    assert_eq!(
        c.ssh_args,
        s(&[
            "-C",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "A=1",
            "-o",
            "B=2"
        ])
    );
    let c = ConnectionVars::from_vars(
        "web1",
        &vars(json!({"ansible_ssh_host_key_checking": "yes", "ansible_host_key_checking": "no"})),
    )
    .unwrap();
    assert!(c.ssh_args.is_empty(), "{:?}", c.ssh_args);
    // The new names win over the old ones.
    let c = ConnectionVars::from_vars(
        "h",
        &vars(json!({"ansible_host": "a", "ansible_ssh_host": "b", "ansible_port": 22, "ansible_ssh_port": 2222,
                     "ansible_connection": "local", "ansible_become": 0})),
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.connection, c.become_),
        ("a", Some(22), ConnectionKind::Local, Some(false))
    );
    for (j, want) in [
        (json!({"ansible_port": "ssh"}), "host h: invalid ansible_port: expected a port from 1 to 65535, got \"ssh\""),
        (json!({"ansible_port": 70000}), "host h: invalid ansible_port: expected a port from 1 to 65535, got 70000"),
        (json!({"ansible_connection": "winrm"}), "host h: invalid ansible_connection: 'winrm' is not supported; use ssh or local"),
        (json!({"ansible_become": "maybe"}), "host h: invalid ansible_become: expected a boolean (yes/no, true/false, 1/0), got \"maybe\""),
        (json!({"ansible_user": ["x"]}), "host h: invalid ansible_user: expected a string, got [\"x\"]"),
        (json!({"ansible_ssh_common_args": "-o 'x"}), "host h: invalid ansible_ssh_common_args: cannot split"),
    ] {
        let e = ConnectionVars::from_vars("h", &vars(j)).unwrap_err().to_string();
        assert!(e.starts_with(want), "{e}");
    }
    for (v, b) in [
        (json!("True"), Some(true)),
        (json!("1"), Some(true)),
        (json!(1), Some(true)),
        (json!("off"), Some(false)),
        (json!(2), None),
    ] {
        assert_eq!(boolean(&v), b, "{v}");
    }
}

#[test]
fn connection_from_inventory() {
    let inv = ini("web1:2222 ansible_user=deploy ansible_become=True\n");
    let c = ConnectionVars::from_vars("web1", &inv.host_vars("web1")).unwrap();
    assert_eq!(
        (c.port, c.user.as_deref(), c.become_),
        (Some(2222), Some("deploy"), Some(true))
    );
}

#[test]
fn malformed_input_never_panics() {
    for text in [
        "[",
        "]",
        "[]",
        "[:]",
        "[a:]",
        "a[",
        "a[1:2",
        "=",
        "a b=c=d",
        "\u{0}",
        "[a]\n[b:children]\n[",
        "h '",
        "\\",
        "[a:vars]\n\u{7f}=\u{7f}",
    ] {
        let _ = Inventory::from_str_at(text, Path::new("/nonexistent-rprov-dir/h.ini"));
    }
    for text in [
        "all: [",
        "{",
        "all:\n  hosts: {a: {b: [}}",
        "?",
        "all:\n  children:\n    x: &a\n      children: *a\n",
        "!!binary x",
    ] {
        let _ = Inventory::from_str_at(text, Path::new("/nonexistent-rprov-dir/h.yml"));
    }
}

#[test]
fn random_ini_never_panics() {
    // A tiny deterministic generator over the characters that matter to the parsers.
    let alphabet: Vec<char> = "[]:=!&~*?,#;'\"\\ \n\tab01-_.{}()é0x".chars().collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = crate::pyliteral::literal_eval(&text);
        if let Ok(inv) = Inventory::from_str_at(&text, Path::new("/nonexistent-rprov-dir/h.ini")) {
            let _ = inv.select(&text);
            let _ = inv.to_list_json();
        }
        let _ = Inventory::from_str_at(&text, Path::new("/nonexistent-rprov-dir/h.yml"));
    }
}

/// A stand-in decryptor (unit test only): "decrypts" by reading the text
/// after the header line, and records what it was asked.
struct FakeVault(std::sync::Mutex<Vec<(PathBuf, Option<String>)>>);

impl VaultDecrypt for FakeVault {
    fn decrypt(&self, path: &Path, key: Option<&str>, text: &str) -> Result<String, String> {
        self.0
            .lock()
            .unwrap()
            .push((path.to_path_buf(), key.map(str::to_string)));
        let body = text.trim().lines().skip(1).collect::<Vec<_>>().join("\n");
        match body.as_str() {
            "bad" => Err("wrong vault password".into()),
            b => Ok(b.to_string()),
        }
    }
}

#[test]
fn vault_files_and_values_go_through_the_decryptor() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = dir.path().join("hosts.ini");
    fs::write(&inv_path, "[web]\nw1\n").unwrap();
    fs::create_dir_all(dir.path().join("group_vars/web")).unwrap();
    fs::create_dir_all(dir.path().join("host_vars")).unwrap();
    let whole = dir.path().join("group_vars/web/vault.yml");
    fs::write(&whole, "$ANSIBLE_VAULT;1.1;AES256\nvault_pw: from-file\n").unwrap();
    let inline = dir.path().join("host_vars/w1.yml");
    fs::write(
        &inline,
        "plain: x\ndb:\n  pw: !vault |\n    $ANSIBLE_VAULT;1.1;AES256\n    inline-secret\n",
    )
    .unwrap();
    let fake = FakeVault(Default::default());
    let inv = Inventory::load_with(&inv_path, Some(&fake)).unwrap();
    let vars = inv.host_vars("w1");
    assert_eq!(vars["vault_pw"], "from-file");
    assert_eq!(vars["db"]["pw"], "inline-secret");
    assert_eq!(vars["plain"], "x");
    let asked = fake.0.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![
            (whole.clone(), None),
            (inline.clone(), Some("db.pw".into()))
        ]
    );

    // Without a decryptor the inline value stays as its vault text.
    fs::remove_file(&whole).unwrap();
    let inv = Inventory::load(&inv_path).unwrap();
    assert!(inv.host_vars("w1")["db"]["pw"]
        .as_str()
        .unwrap()
        .starts_with("$ANSIBLE_VAULT"));

    // The decryptor's error names the file and the variable.
    fs::write(
        &inline,
        "db:\n  pw: !vault |\n    $ANSIBLE_VAULT;1.1;AES256\n    bad\n",
    )
    .unwrap();
    let e = Inventory::load_with(&inv_path, Some(&fake))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{} (value of `db.pw`): wrong vault password",
            inline.display()
        )
    );
}

#[test]
fn connection_names_are_ansibles() {
    use crate::ConnectionKind::{Local, Ssh};
    for (name, kind) in [
        ("ssh", Some(Ssh)),
        ("smart", Some(Ssh)),
        ("paramiko_ssh", Some(Ssh)),
        ("ansible.builtin.paramiko_ssh", Some(Ssh)),
        ("ansible.builtin.local", Some(Local)),
        ("docker", None),
        ("ansible.builtin.winrm", None),
    ] {
        assert_eq!(crate::ConnectionKind::parse(name), kind, "{name}");
    }
}

#[test]
fn implicit_localhost_is_selected_by_name_only() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("group_vars")).unwrap();
    fs::create_dir_all(dir.path().join("host_vars")).unwrap();
    fs::write(
        dir.path().join("group_vars/all.yml"),
        "a: from_group_vars\nb: from_group_vars\n",
    )
    .unwrap();
    fs::write(dir.path().join("host_vars/localhost.yml"), "c: own\n").unwrap();
    let path = dir.path().join("hosts.ini");
    fs::write(
        &path,
        "[web]\nweb1\n[all:vars]\nb=from_all_vars\nansible_connection=ssh\n",
    )
    .unwrap();
    let inv = Inventory::load(&path).unwrap();
    assert_eq!(inv.implicit_localhost(), None);
    assert_eq!(inv.select("all").unwrap(), s(&["web1"]));
    assert_eq!(inv.select("localhost").unwrap(), s(&["localhost"]));
    assert_eq!(
        inv.select("web:localhost").unwrap(),
        s(&["web1", "localhost"])
    );
    assert_eq!(inv.implicit_localhost(), Some("localhost"));
    // The first name asked for is the host's, as ansible-core's.
    assert_eq!(inv.select("127.0.0.1").unwrap(), s(&["localhost"]));
    assert_eq!(inv.hosts(), s(&["web1"]));
    assert!(inv.group_names("localhost").is_empty());
    assert!(!inv.groups()["all"].contains(&"localhost".to_string()));
    let v = inv.host_vars("localhost");
    assert_eq!(v["a"], json!("from_group_vars"));
    // `all:vars` are the implicit host's own variables, above group_vars/all.
    assert_eq!(v["b"], json!("from_all_vars"));
    assert_eq!(v["ansible_connection"], json!("local"));
    assert_eq!(v["c"], json!("own"));
    // Other names are no host.
    assert!(inv.select("localhost2").is_err());
}

#[test]
fn a_localhost_of_the_inventory_is_used_for_any_localhost_name() {
    let inv = ini("127.0.0.1 x=1\n[web]\nweb1\n");
    assert_eq!(inv.select("localhost").unwrap(), s(&["127.0.0.1"]));
    assert_eq!(inv.implicit_localhost(), None);
    assert_eq!(inv.host_vars("127.0.0.1")["x"], json!(1));
}

/// The `group_vars/` of a group `group_by` makes during the run, and the
/// `host_vars/` of a host `add_host` adds, apply to them (ansible-core reads
/// them for any group or host it has). A broken file for a group that never
/// comes to be stops nothing; it is said when its group is made.
#[test]
fn vars_dirs_cover_groups_and_hosts_made_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("group_vars/later_dir")).unwrap();
    fs::create_dir_all(dir.path().join("host_vars")).unwrap();
    fs::write(dir.path().join("group_vars/all.yml"), "tier: all\n").unwrap();
    fs::write(dir.path().join("group_vars/later.yml"), "tier: later\n").unwrap();
    fs::write(dir.path().join("group_vars/parent"), "from_parent: 1\n").unwrap();
    fs::write(dir.path().join("group_vars/later_dir/a.yml"), "d: 1\n").unwrap();
    fs::write(dir.path().join("group_vars/broken.yml"), "a: [\n").unwrap();
    fs::write(dir.path().join("host_vars/new1.yml"), "own: yes\n").unwrap();
    let path = dir.path().join("hosts.ini");
    fs::write(&path, "web1\n").unwrap();
    let mut inv = Inventory::load(&path).unwrap();
    assert_eq!(inv.host_vars("web1")["tier"], json!("all"));

    assert_eq!(
        inv.add_dynamic_group("web1", "later", &["parent".to_string()]),
        Ok(true)
    );
    let v = inv.host_vars("web1");
    assert_eq!(v["tier"], json!("later"));
    assert_eq!(v["from_parent"], json!(1));
    inv.add_dynamic_group("web1", "later_dir", &[]).unwrap();
    assert_eq!(inv.host_vars("web1")["d"], json!(1));

    let err = inv.add_dynamic_group("web1", "broken", &[]).unwrap_err();
    assert!(err.contains("broken.yml"), "{err}");

    assert_eq!(
        inv.add_dynamic_host("new1", &["later".to_string()], &Vars::new()),
        Ok(true)
    );
    let v = inv.host_vars("new1");
    assert_eq!(v["own"], json!(true));
    assert_eq!(v["tier"], json!("later"));
}

/// `force_valid_group_names` (`ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS`), as
/// ansible-core's `to_safe_group_name`: `never` (the default) keeps the name
/// and warns, `always` makes it a variable name and warns, `ignore` and
/// `silently` do the same without a word; INI sections, `:children` and YAML
/// group names alike.
#[test]
fn invalid_group_characters_follow_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("hosts.ini");
    fs::write(&ini, "[local-]\nh1\n[par:children]\nlocal-\n[9lives]\nh2\n").unwrap();
    let yml = dir.path().join("hosts.yml");
    fs::write(
        &yml,
        "all:\n  children:\n    web-x:\n      hosts:\n        h3:\n",
    )
    .unwrap();
    let load = |path: &Path, group_chars| {
        Inventory::load_opts(
            path,
            LoadOptions {
                group_chars,
                ..LoadOptions::default()
            },
        )
        .unwrap()
    };
    let never =
        "Invalid characters were found in group names but not replaced, use -vvvv to see details";
    let always = "Invalid characters were found in group names and automatically replaced, use -vvvv to see details";

    let inv = load(&ini, InvalidGroupChars::Never);
    assert_eq!(inv.warnings(), [never]);
    assert_eq!(inv.select("local-").unwrap(), ["h1"]);
    assert_eq!(inv.select("par").unwrap(), ["h1"]);
    assert_eq!(inv.select("9lives").unwrap(), ["h2"]);

    let inv = load(&ini, InvalidGroupChars::Always);
    assert_eq!(inv.warnings(), [always]);
    assert_eq!(inv.select("local_").unwrap(), ["h1"]);
    assert_eq!(inv.select("par").unwrap(), ["h1"]);
    assert_eq!(inv.select("_lives").unwrap(), ["h2"]);
    assert!(inv.select("local-").is_err());

    let inv = load(&ini, InvalidGroupChars::Ignore);
    assert!(inv.warnings().is_empty());
    assert_eq!(inv.select("local-").unwrap(), ["h1"]);
    let inv = load(&ini, InvalidGroupChars::Silently);
    assert!(inv.warnings().is_empty());
    assert_eq!(inv.select("local_").unwrap(), ["h1"]);

    let inv = load(&yml, InvalidGroupChars::Always);
    assert_eq!(inv.warnings(), [always]);
    assert_eq!(inv.select("web_x").unwrap(), ["h3"]);
    assert_eq!(
        load(&yml, InvalidGroupChars::Never)
            .select("web-x")
            .unwrap(),
        ["h3"]
    );
}

/// Two `-i` sources read into one inventory (ansible-core's hash target):
/// the second's variables go over the first's, replacing a mapping, or
/// deep-merged into it under `hash_behaviour = merge`.
#[test]
fn a_second_source_replaces_or_merges_mappings() {
    let first = "all:\n  hosts:\n    host1:\n      h: {v1: one, v2: one}\n  vars:\n    g: {v1: one, v2: one}\n";
    let second =
        "all:\n  hosts:\n    host1:\n      h: {v1: two}\n    host2:\n  vars:\n    g: {v1: two}\n";
    let load = |merge: bool| {
        let mut inv =
            Inventory::from_str_at(first, Path::new("/nonexistent-rprov-dir/a.yml")).unwrap();
        inv.set_hash_merge(merge);
        let more =
            Inventory::from_str_at(second, Path::new("/nonexistent-rprov-dir/b.yml")).unwrap();
        inv.absorb(more).unwrap();
        inv
    };
    let inv = load(false);
    assert_eq!(inv.hosts(), s(&["host1", "host2"]));
    assert_eq!(inv.host_vars("host1")["h"], json!({"v1": "two"}));
    assert_eq!(inv.host_vars("host2")["g"], json!({"v1": "two"}));
    let inv = load(true);
    assert_eq!(
        inv.host_vars("host1")["h"],
        json!({"v1": "two", "v2": "one"})
    );
    assert_eq!(
        inv.host_vars("host2")["g"],
        json!({"v1": "two", "v2": "one"})
    );
}

/// Under `hash_behaviour = merge`, a mapping in `group_vars/all` and one in
/// the host's variables are merged.
#[test]
fn hash_merge_merges_group_and_host_levels() {
    let mut inv = Inventory::from_str_at(
        "all:\n  vars:\n    m: {all: 1, host: 0}\n  children:\n    web:\n      hosts:\n        h1:\n          m: {host: 1}\n",
        Path::new("/nonexistent-rprov-dir/hosts.yml"),
    )
    .unwrap();
    assert_eq!(inv.host_vars("h1")["m"], json!({"host": 1}));
    inv.set_hash_merge(true);
    assert_eq!(inv.host_vars("h1")["m"], json!({"all": 1, "host": 1}));
}

#[test]
fn yaml_host_names_written_as_numbers_are_refused_as_ansible_core_does() {
    let path = Path::new("inventory/hosts.yml");
    let err = Inventory::from_str_at("all:\n  hosts:\n    1234: {}\n", path).unwrap_err();
    assert!(
        err.to_string()
            .contains("Host pattern 1234 must be a string"),
        "{err}"
    );
    let inv = Inventory::from_str_at("all:\n  hosts:\n    '1234': {}\n    web1:\n", path).unwrap();
    assert_eq!(inv.hosts(), ["1234", "web1"]);
}

#[test]
fn an_advanced_host_list_expands_ranges_and_keeps_a_refused_one_as_written() {
    let (inv, notes) =
        Inventory::from_advanced_host_list("web[1:3:2], db-[a:b]:2222, odd[1:],web1,").unwrap();
    assert_eq!(inv.hosts(), ["web1", "web3", "db-a", "db-b", "odd[1:]"]);
    assert_eq!(
        inv.host_vars("db-b").get("ansible_port"),
        Some(&serde_json::json!(2222))
    );
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("host range must specify end value"),
        "{notes:?}"
    );
    // A bound that is no number fails the whole source, as ansible-core's
    // ValueError does.
    let err = Inventory::from_advanced_host_list("local[1:j],").unwrap_err();
    assert!(err.contains("local[1:j]"), "{err}");
}
