//! The plugin on ansible-core's own test inventories
//! (test/integration/targets/inventory_constructed) and on the cases its
//! code branches on. Expected groups are those ansible-core 2.19's
//! `ansible-inventory --graph` shows; tests/ansible_inventory.rs compares
//! the two programs' output directly.

use crate::{Inventory, InventoryError, LoadOptions, Render, Vars};
use serde_json::{json, Value};
use std::path::Path;

/// Just enough of Jinja for these tests: names with `.key`, quoted text,
/// `[]`, `None`, and `a == b`. The CLI gives rprov's own engine.
struct Toy;

fn lookup(expr: &str, vars: &Value) -> Result<Value, String> {
    let expr = expr.trim();
    if let Some((a, b)) = expr.split_once("==") {
        return Ok(Value::Bool(lookup(a, vars)? == lookup(b, vars)?));
    }
    if let Some(s) = expr
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| expr.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
    {
        return Ok(Value::String(s.to_string()));
    }
    match expr {
        "[]" => return Ok(json!([])),
        "None" => return Ok(Value::Null),
        "true" | "True" => return Ok(Value::Bool(true)),
        _ => {}
    }
    let mut v = vars;
    for part in expr.split('.') {
        v = v
            .get(part)
            .ok_or_else(|| format!("'{part}' is undefined"))?;
    }
    Ok(v.clone())
}

impl Render for Toy {
    fn render(&self, template: &str, vars: &Value) -> Result<Value, String> {
        match template
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
        {
            Some(expr) => lookup(expr, vars),
            None => Ok(Value::String(template.to_string())),
        }
    }

    fn evaluate(&self, expr: &str, vars: &Value) -> Result<Value, String> {
        lookup(expr, vars)
    }

    fn py_str(&self, value: &Value) -> String {
        match value {
            Value::Null => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            other => other.to_string(),
        }
    }
}

/// `first` (an inventory file's text, at `name`) then a constructed
/// source `config`, both written to a scratch directory with `files`.
fn construct(
    name: &str,
    first: &str,
    config: &str,
    files: &[(&str, &str)],
) -> Result<Inventory, InventoryError> {
    construct_with(name, first, config, files, None)
}

fn construct_with(
    name: &str,
    first: &str,
    config: &str,
    files: &[(&str, &str)],
    extra: Option<&Vars>,
) -> Result<Inventory, InventoryError> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    std::fs::write(dir.path().join(name), first).expect("write");
    std::fs::write(dir.path().join("constructed.yml"), config).expect("write");
    let opts = LoadOptions {
        render: Some(&Toy),
        extra_vars: extra,
        ..LoadOptions::default()
    };
    let mut inv = Inventory::load_opts(&dir.path().join(name), opts)?;
    inv.add_source(&dir.path().join("constructed.yml"), opts)?;
    Ok(inv)
}

fn groups_of(inv: &Inventory, host: &str) -> Vec<String> {
    inv.group_names(host)
}

const STATIC: &str = "all:\n  hosts:\n    host0:\n      hostvar0:\n        key0: value0\n      hostvar1: hostvalue1\n      hostvar2:\n        - item0\n";

/// ansible-core's constructed.yml: prefixes, separators, and a string, a
/// list and a mapping as the key.
#[test]
fn keyed_groups_with_prefix_and_separator() {
    let config = "plugin: ansible.builtin.constructed\nstrict: True\nkeyed_groups:\n  - key: hostvar0\n  - key: hostvar1\n  - key: hostvar2\n  - key: hostvar0\n    separator: 'separator'\n  - key: hostvar1\n    separator: 'separator'\n  - key: hostvar2\n    separator: 'separator'\n  - key: hostvar0\n    prefix: 'prefix'\n  - key: hostvar1\n    prefix: 'prefix'\n  - key: hostvar2\n    prefix: 'prefix'\n";
    let inv = construct("static.yml", STATIC, config, &[]).unwrap();
    let mut got = groups_of(&inv, "host0");
    got.sort();
    assert_eq!(
        got,
        [
            "_hostvalue1",
            "_item0",
            "_key0_value0",
            "prefix_hostvalue1",
            "prefix_item0",
            "prefix_key0_value0",
            "separatorhostvalue1",
            "separatoritem0",
            "separatorkey0separatorvalue0",
        ]
    );
    // leading_separator: false drops the separator where there is no prefix
    let config = config.replace("strict: True\n", "leading_separator: False\n");
    let inv = construct("static.yml", STATIC, &config, &[]).unwrap();
    let got = groups_of(&inv, "host0");
    for g in [
        "hostvalue1",
        "item0",
        "key0_value0",
        "key0separatorvalue0",
        "prefix_item0",
    ] {
        assert!(got.iter().any(|x| x == g), "{g} in {got:?}");
    }
}

const TAGS: &str = "all:\n  hosts:\n    host0:\n      tags:\n        name: \"host0\"\n        environment: \"test\"\n        status: \"\"\n        type: ~\n      os: \"\"\n      roles:\n        - db\n        - web\n        - \"\"\n        - ~\n";

/// `default_value` for an empty value in a mapping, a list and alone;
/// `trailing_separator: false`; the two together refused.
#[test]
fn default_value_and_trailing_separator() {
    let config = "plugin: constructed\nkeyed_groups:\n  - key: tags\n    prefix: tag\n    default_value: \"running\"\n  - key: tags\n    prefix: without_trailing\n    trailing_separator: false\n  - key: roles\n    default_value: storage\n    prefix: host\n  - key: '[]'\n    default_value: default_value\n    prefix: empty_list_test\n  - key: os\n    default_value: \"fedora\"\n    prefix: host\n  - key: '\"\"'\n    prefix: empty_test\n    default_value: default_value\n";
    let inv = construct("tags.yml", TAGS, config, &[]).unwrap();
    let got = groups_of(&inv, "host0");
    for g in [
        "tag_name_host0",
        "tag_environment_test",
        "tag_status_running",
        "tag_type_running",
        "without_trailing_name_host0",
        "without_trailing_status",
        "without_trailing_type",
        "host_db",
        "host_web",
        "host_storage",
        "host_fedora",
        "empty_test_default_value",
    ] {
        assert!(got.iter().any(|x| x == g), "{g} in {got:?}");
    }
    for g in ["host_None", "empty_list_test_default_value"] {
        assert!(!got.iter().any(|x| x == g), "{g} in {got:?}");
    }
    let both = "plugin: constructed\nkeyed_groups:\n  - key: tags\n    default_value: x\n    trailing_separator: false\n";
    let err = construct("tags.yml", TAGS, both, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("constructed.yml:5"), "{err}");
    assert!(err.contains("mutually exclusive"), "{err}");
}

/// `compose` sets host variables; `groups` conditions; an undefined name
/// skips its entry, or with `strict` stops the source at its line.
#[test]
fn compose_groups_and_strict() {
    let first = "[web]\nw1 role=front\nw2 role=back\n";
    let config = "plugin: constructed\ncompose:\n  copy: role\n  missing: nosuch\n  chained: copy\ngroups:\n  fronts: role == 'front'\n  bad-name.x: role == 'back'\n  never: nosuch == 'x'\n";
    let inv = construct("hosts.ini", first, config, &[]).unwrap();
    let v = inv.host_vars("w1");
    assert_eq!(v["copy"], "front");
    assert!(v.get("missing").is_none());
    // One compose entry does not see another's result.
    assert!(v.get("chained").is_none());
    assert_eq!(inv.select("fronts").unwrap(), ["w1"]);
    // Group names are made valid variable names.
    assert_eq!(inv.select("bad_name_x").unwrap(), ["w2"]);
    assert!(inv.select("never").is_err());

    let strict = format!("{config}strict: true\n");
    let err = construct("hosts.ini", first, &strict, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("constructed.yml:4"), "{err}");
    assert!(
        err.contains("Could not set missing for host w1: 'nosuch' is undefined"),
        "{err}"
    );
    let strict = "plugin: constructed\nstrict: true\ngroups:\n  never: nosuch == 'x'\n";
    let err = construct("hosts.ini", first, strict, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("constructed.yml:4"), "{err}");
    assert!(
        err.contains("Could not add host w1 to group never"),
        "{err}"
    );
    // A quoted key is found too, and the message names the group as made.
    let strict = "plugin: constructed\nstrict: true\ngroups:\n  ok: true\n  'a-b': nosuch == 'x'\n";
    let err = construct("hosts.ini", first, strict, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("constructed.yml:5"), "{err}");
    assert!(err.contains("Could not add host w1 to group a_b"), "{err}");
    // An expression is written without `{{ }}`, as ansible-core 2.19 wants.
    let strict = "plugin: constructed\nstrict: true\ncompose:\n  c: '{{ role }}'\n";
    let err = construct("hosts.ini", first, strict, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("constructed.yml:4"), "{err}");
    assert!(
        err.contains("Template delimiters are not supported"),
        "{err}"
    );
    // A condition must be a boolean.
    let strict = "plugin: constructed\nstrict: true\ngroups:\n  g: role\n";
    let err = construct("hosts.ini", first, strict, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Conditionals must have a boolean result"),
        "{err}"
    );
}

/// The templates see what ansible-core's plugin sees before the sources
/// are reconciled: an INI group is not in `all` yet, so `[all:vars]` do
/// not apply to its hosts, and `group_names` lacks `ungrouped` for a YAML
/// host under `all`.
#[test]
fn variables_are_those_before_reconciling() {
    let first = "top\n[web]\nw1\n[all:vars]\nsite=main\n";
    let config = "plugin: constructed\ncompose:\n  s: site\n  names: group_names\n";
    let inv = construct("hosts.ini", first, config, &[]).unwrap();
    assert!(inv.host_own_vars("w1").get("s").is_none());
    assert_eq!(inv.host_own_vars("top")["s"], "main");
    assert_eq!(inv.host_own_vars("w1")["names"], json!(["web"]));
    assert_eq!(inv.host_own_vars("top")["names"], json!(["ungrouped"]));
    let inv = construct("s.yml", STATIC, config, &[]).unwrap();
    assert_eq!(inv.host_own_vars("host0")["names"], json!([]));
}

/// `group_vars/` and `host_vars/` of the sources before only with
/// `use_vars_plugins` (ansible-core's invs/1 and invs/2).
#[test]
fn use_vars_plugins_reads_group_vars_and_host_vars() {
    let first = "all:\n  children:\n    stuff:\n      hosts:\n        testing:\n";
    let files = [
        ("group_vars/stuff.yml", "iamdefined: group4testing\n"),
        ("host_vars/testing.yml", "hola: lola\n"),
    ];
    let config = "plugin: ansible.builtin.constructed\nuse_vars_plugins: true\nkeyed_groups:\n  - key: iamdefined\n    prefix: c\n  - key: hola\n    prefix: c\n";
    let inv = construct("one.yml", first, config, &files).unwrap();
    let got = groups_of(&inv, "testing");
    assert!(got.contains(&"c_lola".to_string()), "{got:?}");
    assert!(got.contains(&"c_group4testing".to_string()), "{got:?}");
    let without = config.replace("use_vars_plugins: true\n", "");
    let inv = construct("one.yml", first, &without, &files).unwrap();
    assert_eq!(groups_of(&inv, "testing"), ["stuff"]);
}

/// `parent_group` nests each keyed group; `use_extra_vars` gives `-e`.
#[test]
fn parent_group_and_extra_vars() {
    let config = "plugin: constructed\nuse_extra_vars: true\nkeyed_groups:\n  - key: hostvar1\n    parent_group: '{{ parent }}'\n";
    let mut extra = Vars::new();
    extra.insert("parent".into(), json!("by-value"));
    let inv = construct_with("s.yml", STATIC, config, &[], Some(&extra)).unwrap();
    let (_, children) = inv.group_members("by_value").unwrap();
    assert_eq!(children, ["_hostvalue1"]);
    // Without use_extra_vars `parent` is undefined: the entry is skipped.
    let without = config.replace("use_extra_vars: true\n", "");
    let inv = construct_with("s.yml", STATIC, &without, &[], Some(&extra)).unwrap();
    assert!(inv.group_members("_hostvalue1").is_none());
}

/// Bad configurations name the file, the line and what is wrong.
#[test]
fn bad_configurations_name_file_and_line() {
    for (config, line, words) in [
        (
            "plugin: constructed\nkeyed_group:\n  - key: a\n",
            2,
            "unknown option 'keyed_group'",
        ),
        (
            "plugin: constructed\nkeyed_groups:\n  - key: a\n    seperator: x\n",
            4,
            "unknown option 'seperator' of a keyed group",
        ),
        (
            "plugin: constructed\ncompose: [a]\n",
            2,
            "`compose` of the constructed inventory plugin must be a mapping",
        ),
        (
            "plugin: constructed\nstrict: maybe\n",
            2,
            "`strict` of the constructed inventory plugin must be a boolean",
        ),
        (
            "plugin: constructed\nkeyed_groups:\n  - a\n",
            2,
            "Invalid keyed group entry, it must be a dictionary: a",
        ),
    ] {
        let err = construct("s.yml", STATIC, config, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("constructed.yml:{line}:")), "{err}");
        assert!(err.contains(words), "{err}");
    }
    // Without a template engine the file is refused, not misread.
    let text = "plugin: constructed\ngroups:\n  a: true\n";
    let err = Inventory::from_str_at(text, Path::new("c.yml")).unwrap_err();
    assert!(err.to_string().contains("needs templates"), "{err}");
}
