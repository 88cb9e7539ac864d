//! Ansible's filters and tests, with the outputs ansible-core 2.19 gives
//! (checked by hand with `ansible localhost -m debug`).

use rprov_template::Templater;
use serde_json::{json, Value};

/// Renders `expr` (a single `{{ }}`, so native types are kept) with `ctx`.
fn r(expr: &str, ctx: &Value) -> Value {
    Templater::new()
        .render_str(&format!("{{{{ {expr} }}}}"), ctx)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn e(expr: &str) -> Value {
    r(expr, &json!({}))
}

fn err(expr: &str, ctx: &Value) -> String {
    Templater::new()
        .render_str(&format!("{{{{ {expr} }}}}"), ctx)
        .expect_err(expr)
        .message
}

#[test]
fn bool_filter() {
    for s in ["yes", "on", "1", "true", "y", "YES", "True", "On"] {
        assert_eq!(e(&format!("'{s}' | bool")), json!(true), "{s}");
    }
    for s in [
        "no", "off", "0", "false", "n", "", "No", "FALSE", "whatever",
    ] {
        assert_eq!(e(&format!("'{s}' | bool")), json!(false), "{s}");
    }
    assert_eq!(e("1 | bool"), json!(true));
    assert_eq!(e("0 | bool"), json!(false));
    assert_eq!(e("true | bool"), json!(true));
    assert_eq!(e("none | bool"), json!(false));
}

#[test]
fn int_and_float() {
    assert_eq!(e("'42' | int"), json!(42));
    assert_eq!(e("'4.7' | int"), json!(4));
    assert_eq!(e("'abc' | int"), json!(0));
    assert_eq!(e("'abc' | int(7)"), json!(7));
    assert_eq!(e("'ff' | int(base=16)"), json!(255));
    assert_eq!(e("'0x1F' | int(0, 16)"), json!(31));
    assert_eq!(e("'755' | int(base=8)"), json!(493));
    assert_eq!(e("true | int"), json!(1));
    assert_eq!(e("3.9 | int"), json!(3));
    assert_eq!(e("'1.5' | float"), json!(1.5));
    assert_eq!(e("'x' | float"), json!(0.0));
    assert_eq!(e("2 | float"), json!(2.0));
}

#[test]
fn string_lower_upper() {
    assert_eq!(e("5 | string"), json!("5"));
    assert_eq!(e("'AbC' | lower"), json!("abc"));
    assert_eq!(e("'AbC' | upper"), json!("ABC"));
}

#[test]
fn json_filters() {
    let ctx = json!({"d": {"b": [1, 2], "a": "é", "c": {"x": null}}});
    assert_eq!(
        r("d | to_json", &ctx),
        json!(r#"{"b": [1, 2], "a": "\u00e9", "c": {"x": null}}"#)
    );
    assert_eq!(
        r("d | to_nice_json", &ctx),
        json!("{\n    \"a\": \"\\u00e9\",\n    \"b\": [\n        1,\n        2\n    ],\n    \"c\": {\n        \"x\": null\n    }\n}")
    );
    assert_eq!(r("d | to_nice_json(indent=2)", &ctx), json!("{\n  \"a\": \"\\u00e9\",\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {\n    \"x\": null\n  }\n}"));
    assert_eq!(e("{} | to_nice_json"), json!("{}"));
    assert_eq!(
        e("'{\"a\": [1, true]}' | from_json"),
        json!({"a": [1, true]})
    );
    assert!(err("'{' | from_json", &json!({})).contains("from_json"));
}

#[test]
fn yaml_filters() {
    let ctx = json!({"d": {"b": [1, 2, {"x": 1, "y": [3, 4]}], "a": {"c": "yes", "d": "", "e": "a: b", "g": null, "h": true, "i": 1.5, "j": [[1, 2], [3]], "k": {}, "l": [], "n": "1.0", "o": "-x", "p": "#c"}}});
    let nice = "a:\n    c: 'yes'\n    d: ''\n    e: 'a: b'\n    g: null\n    h: true\n    i: 1.5\n    j:\n    -   - 1\n        - 2\n    -   - 3\n    k: {}\n    l: []\n    n: '1.0'\n    o: -x\n    p: '#c'\nb:\n- 1\n- 2\n-   x: 1\n    y:\n    - 3\n    - 4\n";
    assert_eq!(r("d | to_nice_yaml", &ctx), json!(nice));
    let flow = "a:\n  c: 'yes'\n  d: ''\n  e: 'a: b'\n  g: null\n  h: true\n  i: 1.5\n  j:\n  - [1, 2]\n  - [3]\n  k: {}\n  l: []\n  n: '1.0'\n  o: -x\n  p: '#c'\nb:\n- 1\n- 2\n- x: 1\n  y: [3, 4]\n";
    assert_eq!(r("d | to_yaml", &ctx), json!(flow));
    assert_eq!(e("'abc' | to_yaml"), json!("abc\n...\n"));
    assert_eq!(
        e("[1, [2, 3]] | to_nice_yaml"),
        json!("- 1\n-   - 2\n    - 3\n")
    );
    assert_eq!(
        e("'a: [1, 2]\\nb: yes\\n' | from_yaml"),
        json!({"a": [1, 2], "b": true})
    );
}

#[test]
fn base64() {
    assert_eq!(e("'hello wörld' | b64encode"), json!("aGVsbG8gd8O2cmxk"));
    assert_eq!(e("'aGVsbG8gd8O2cmxk' | b64decode"), json!("hello wörld"));
}

#[test]
fn regex_filters() {
    assert_eq!(
        e(r"'ansible' | regex_replace('^a.*i(.*)$', 'a\\1')"),
        json!("able")
    );
    assert_eq!(
        e(
            r"'localhost:80' | regex_replace('^(?P<host>.+):(?P<port>\\d+)$', '\\g<host>, \\g<port>')"
        ),
        json!("localhost, 80")
    );
    assert_eq!(e("'a$b' | regex_replace('a', '$x')"), json!("$x$b"));
    assert_eq!(
        e("'AaA' | regex_replace('a', 'b', ignorecase=true)"),
        json!("bbb")
    );
    assert_eq!(e("'aaa' | regex_replace('a', 'b', count=2)"), json!("bba"));
    assert_eq!(
        e("'server1/database42' | regex_search('database[0-9]+')"),
        json!("database42")
    );
    assert_eq!(e("'nothing' | regex_search('database[0-9]+')"), json!(null));
    assert_eq!(
        e(r"'server1/database42' | regex_search('server([0-9]+)/database([0-9]+)', '\\1', '\\2')"),
        json!(["1", "42"])
    );
    assert_eq!(
        e(r"'a=1 b=2' | regex_search('(?P<k>\\w)=(?P<v>\\d)', '\\g<v>')"),
        json!(["1"])
    );
    assert_eq!(
        e(r"'a1 b2 c3' | regex_findall('[a-z]\\d')"),
        json!(["a1", "b2", "c3"])
    );
    assert_eq!(
        e(r"'a1 b2' | regex_findall('([a-z])\\d')"),
        json!(["a", "b"])
    );
    assert_eq!(
        e(r"'a1 b2' | regex_findall('([a-z])(\\d)')"),
        json!([["a", "1"], ["b", "2"]])
    );
    assert_eq!(e("'a.b*c' | regex_escape"), json!("a\\.b\\*c"));
}

#[test]
fn quote_filter() {
    assert_eq!(e("'simple' | quote"), json!("simple"));
    assert_eq!(e("'' | quote"), json!("''"));
    assert_eq!(e(r#""it's $HOME" | quote"#), json!("'it'\"'\"'s $HOME'"));
    assert_eq!(e("'a b' | quote"), json!("'a b'"));
}

#[test]
fn path_filters() {
    assert_eq!(e("'/etc/asdf/foo.txt' | basename"), json!("foo.txt"));
    assert_eq!(e("'/etc/asdf/' | basename"), json!(""));
    assert_eq!(e("'/etc/asdf/foo.txt' | dirname"), json!("/etc/asdf"));
    assert_eq!(e("'/etc' | dirname"), json!("/"));
    assert_eq!(e("'foo' | dirname"), json!(""));
    assert_eq!(
        e("'/etc/x.tar.gz' | splitext"),
        json!(["/etc/x.tar", ".gz"])
    );
    assert_eq!(
        e("'/home/u/.bashrc' | splitext"),
        json!(["/home/u/.bashrc", ""])
    );
    assert_eq!(e("'noext' | splitext"), json!(["noext", ""]));
    assert_eq!(
        e("['/etc', 'subdir', 'file'] | path_join"),
        json!("/etc/subdir/file")
    );
    assert_eq!(e("['a', '/abs', 'b'] | path_join"), json!("/abs/b"));
    assert_eq!(e("'/x/y' | path_join"), json!("/x/y"));
    // Python's os.path.expanduser on the controller; `root` is in every
    // passwd, and a user nobody has leaves the path alone.
    let home = std::env::var("HOME").expect("HOME is set for tests");
    assert_eq!(
        e("'~/.ssh/id' | expanduser"),
        json!(format!("{}/.ssh/id", home.trim_end_matches('/')))
    );
    assert_eq!(e("'~root/x' | expanduser"), json!("/root/x"));
    assert_eq!(e("'~nosuchuser9/x' | expanduser"), json!("~nosuchuser9/x"));
    assert_eq!(e("'/a/~b' | expanduser"), json!("/a/~b"));
}

#[test]
fn combine() {
    let ctx = json!({"a": {"x": 1, "n": {"p": 1, "q": 2}, "l": [1]}, "b": {"y": 2, "n": {"q": 3}, "l": [2]}});
    assert_eq!(
        r("a | combine(b)", &ctx),
        json!({"x": 1, "n": {"q": 3}, "l": [2], "y": 2})
    );
    assert_eq!(
        r("a | combine(b, recursive=true)", &ctx),
        json!({"x": 1, "n": {"p": 1, "q": 3}, "l": [2], "y": 2})
    );
    assert_eq!(r("{} | combine([a, b], {'z': 0})", &ctx)["z"], json!(0));
    assert!(err("a | combine(1)", &ctx).contains("combine"));
}

#[test]
fn dict_items() {
    let ctx = json!({"d": {"a": 1, "b": 2}});
    assert_eq!(
        r("d | dict2items", &ctx),
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert_eq!(
        r("d | dict2items(key_name='k', value_name='v')", &ctx),
        json!([{"k": "a", "v": 1}, {"k": "b", "v": 2}])
    );
    assert_eq!(
        r("d | dict2items | items2dict", &ctx),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        e("[{'k': 'x', 'v': 1}] | items2dict(key_name='k', value_name='v')"),
        json!({"x": 1})
    );
}

#[test]
fn flatten() {
    assert_eq!(e("[1, [2, [3, [4]]], none] | flatten"), json!([1, 2, 3, 4]));
    assert_eq!(
        e("[1, [2, [3, [4]]]] | flatten(1)"),
        json!([1, 2, [3, [4]]])
    );
    assert_eq!(e("[1, [2, [3]]] | flatten(levels=2)"), json!([1, 2, 3]));
}

#[test]
fn ternary() {
    assert_eq!(e("true | ternary('y', 'n')"), json!("y"));
    assert_eq!(e("0 | ternary('y', 'n')"), json!("n"));
    assert_eq!(e("none | ternary('y', 'n', 'null')"), json!("null"));
}

#[test]
fn hashes() {
    assert_eq!(
        e("'test' | hash('sha1')"),
        json!("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
    );
    assert_eq!(
        e("'test' | hash('md5')"),
        json!("098f6bcd4621d373cade4e832627b4f6")
    );
    assert_eq!(
        e("'test' | hash('sha256')"),
        json!("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    );
    assert_eq!(
        e("'test' | hash('sha512')"),
        json!("ee26b0dd4af7e749aa1a8ee3c10ae9923f618980772e473f8819a5d4940e0db27ac185f8a0e1d5f84f88bc887fd67b143732c304cc5fa9ad8e6f57f50028a8ff")
    );
    assert_eq!(
        e("'test' | sha1"),
        json!("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
    );
    assert_eq!(
        e("'test' | checksum"),
        json!("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
    );
    assert_eq!(e("'test' | md5"), json!("098f6bcd4621d373cade4e832627b4f6"));
    assert!(err("'x' | hash('crc')", &json!({})).contains("unsupported"));
}

#[test]
fn password_hash() {
    // Same as passlib's sha512_crypt with rounds=5000 (what Ansible uses).
    assert_eq!(
        e("'secret' | password_hash('sha512', 'abcdefgh')"),
        json!("$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.")
    );
    assert_eq!(
        e("'Hello world!' | password_hash('sha256', salt='saltstring')"),
        json!("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5")
    );
    assert!(err("'secret' | password_hash('md5')", &json!({})).contains("unsupported"));
    assert!(
        err("'secret' | password_hash('sha512', 'a$b')", &json!({})).contains("invalid character")
    );
}

/// Without a salt, Ansible picks a random one (a change on every run); rprov
/// derives it from the password, so the hash is stable and still a valid
/// SHA-crypt hash: the system's crypt(3) (through perl, which every Debian
/// has) computes the same string from the password and the hash as salt.
#[test]
fn password_hash_without_salt_is_stable_and_verifies() {
    let sha512_crypt = regex::Regex::new(r"^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$").unwrap();
    let h = e("'s3cret pw' | password_hash('sha512')");
    let h = h.as_str().expect("a string").to_string();
    assert!(sha512_crypt.is_match(&h), "not a $6$ hash: {h}");
    assert_eq!(
        e("'s3cret pw' | password_hash('sha512')"),
        json!(h),
        "stable"
    );
    assert_eq!(
        e("'s3cret pw' | password_hash"),
        json!(h),
        "sha512 is the default"
    );
    assert_eq!(e("'s3cret pw' | password_hash('sha512_crypt')"), json!(h));
    // Other password, other salt; other hash type, other salt.
    let other = e("'s3cret pw2' | password_hash('sha512')");
    assert_ne!(other.as_str().unwrap()[3..19], h[3..19]);
    let h256 = e("'s3cret pw' | password_hash('sha256')");
    let h256 = h256.as_str().unwrap();
    assert!(h256.starts_with("$5$"), "{h256}");
    assert_ne!(h256[3..19], h[3..19]);
    for (pw, hash) in [("s3cret pw", h.as_str()), ("s3cret pw", h256)] {
        let out = std::process::Command::new("perl")
            .args(["-e", "print crypt($ARGV[0], $ARGV[1])", pw, hash])
            .output()
            .expect("perl (to verify with the system's crypt(3)) must be installed");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            hash,
            "crypt(3) disagrees"
        );
    }
}

#[test]
fn set_filters() {
    assert_eq!(e("[1, 2, 2, 3] | unique"), json!([1, 2, 3]));
    assert_eq!(e("[1, 2] | union([2, 3])"), json!([1, 2, 3]));
    assert_eq!(e("[1, 2, 3] | intersect([2, 3, 4])"), json!([2, 3]));
    assert_eq!(e("[1, 2, 3] | difference([2])"), json!([1, 3]));
    assert_eq!(e("[1, 2] | symmetric_difference([2, 3])"), json!([1, 3]));
    assert_eq!(
        e("[1, 2] | zip(['a', 'b']) | list"),
        json!([[1, "a"], [2, "b"]])
    );
}

#[test]
fn builtin_list_filters_behave_like_jinja() {
    let ctx = json!({"users": [{"name": "b", "admin": true}, {"name": "a", "admin": false}]});
    assert_eq!(
        r("users | map(attribute='name') | list", &ctx),
        json!(["b", "a"])
    );
    assert_eq!(
        r(
            "users | selectattr('admin') | map(attribute='name') | list",
            &ctx
        ),
        json!(["b"])
    );
    assert_eq!(
        r(
            "users | rejectattr('admin') | map(attribute='name') | list",
            &ctx
        ),
        json!(["a"])
    );
    assert_eq!(e("[1, 2, 3, 4] | select('even') | list"), json!([2, 4]));
    assert_eq!(e("[1, 2, 3, 4] | reject('even') | list"), json!([1, 3]));
    assert_eq!(e("['a', 'b'] | join(',')"), json!("a,b"));
    assert_eq!(e("[1, 2] | length"), json!(2));
    assert_eq!(e("[1, 2] | count"), json!(2));
    assert_eq!(e("[1, 2] | first"), json!(1));
    assert_eq!(e("[1, 2] | last"), json!(2));
    assert_eq!(e("[3, 1, 2] | min"), json!(1));
    assert_eq!(e("[3, 1, 2] | max"), json!(3));
    assert_eq!(e("[3, 1, 2] | sort"), json!([1, 2, 3]));
    assert_eq!(
        e("{'b': 1, 'a': 2} | dictsort"),
        json!([["a", 2], ["b", 1]])
    );
    assert_eq!(e("'abc' | list"), json!(["a", "b", "c"]));
    assert_eq!(e("'a,b' | split(',')"), json!(["a", "b"]));
    assert_eq!(e("'aXb' | replace('X', '-')"), json!("a-b"));
    assert_eq!(e("'  x  ' | trim"), json!("x"));
    assert_eq!(e("'a\\nb' | indent(2)"), json!("a\n  b"));
    assert_eq!(e("'one two, three' | wordcount"), json!(3));
    assert_eq!(e("'a b&c' | urlencode"), json!("a%20b%26c"));
}

#[test]
fn type_debug() {
    assert_eq!(e("'x' | type_debug"), json!("str"));
    assert_eq!(e("1 | type_debug"), json!("int"));
    assert_eq!(e("1.5 | type_debug"), json!("float"));
    assert_eq!(e("true | type_debug"), json!("bool"));
    assert_eq!(e("[] | type_debug"), json!("list"));
    assert_eq!(e("{} | type_debug"), json!("dict"));
    assert_eq!(e("none | type_debug"), json!("NoneType"));
}

#[test]
fn regex_tests() {
    assert_eq!(e("'http://x' is match('http://')"), json!(true));
    assert_eq!(e("'x http://' is match('http://')"), json!(false));
    assert_eq!(e("'x http://' is search('http://')"), json!(true));
    assert_eq!(e("'ABC' is search('b', ignorecase=true)"), json!(true));
    assert_eq!(e("'xab' is regex('ab')"), json!(true));
    assert_eq!(e("'xab' is regex('ab', match_type='match')"), json!(false));
}

#[test]
fn version_tests() {
    assert_eq!(e("'2.19.1' is version('2.9', '>=')"), json!(true));
    assert_eq!(e("'1.10' is version('1.9', 'gt')"), json!(true));
    assert_eq!(e("'1.0' is version('1.0.1', 'lt')"), json!(true));
    assert_eq!(e("'1.0' is version('1.0', 'eq')"), json!(true));
    assert_eq!(e("'1.0' is version('1.0')"), json!(true));
    assert_eq!(e("'1.0' is version('1.1', '!=')"), json!(true));
    assert_eq!(e("'12.04' is version_compare('12.10', '<=')"), json!(true));
    assert_eq!(e("'1.2' is version('1.3', operator='ge')"), json!(false));
    assert!(err("'1' is version('2', 'bogus')", &json!({})).contains("invalid operator"));
}

#[test]
fn result_tests() {
    let ctx = json!({
        "ok": {"changed": false, "rc": 0},
        "ch": {"changed": true},
        "bad": {"failed": true},
        "rcbad": {"rc": 2},
        "sk": {"skipped": true, "changed": false}
    });
    let c = |s: &str| r(s, &ctx);
    assert_eq!(c("ok is succeeded"), json!(true));
    assert_eq!(c("ok is success"), json!(true));
    assert_eq!(c("bad is successful"), json!(false));
    assert_eq!(c("ok is reachable"), json!(true));
    assert_eq!(c("{'unreachable': true} is unreachable"), json!(true));
    assert_eq!(c("ok is failed"), json!(false));
    assert_eq!(c("bad is failed"), json!(true));
    assert_eq!(c("bad is failure"), json!(true));
    assert_eq!(c("rcbad is failed"), json!(true));
    assert_eq!(c("rcbad is succeeded"), json!(false));
    assert_eq!(c("ch is changed"), json!(true));
    assert_eq!(c("ch is change"), json!(true));
    assert_eq!(c("ok is changed"), json!(false));
    assert_eq!(c("sk is skipped"), json!(true));
    assert_eq!(c("sk is skip"), json!(true));
    assert_eq!(c("ok is skipped"), json!(false));
    assert!(err("'x' is failed", &ctx).contains("expects a registered task result"));
}

#[test]
fn type_and_membership_tests() {
    assert_eq!(e("'x' is truthy"), json!(true));
    assert_eq!(e("'' is falsy"), json!(true));
    assert_eq!(e("'no' is truthy"), json!(true));
    assert_eq!(e("'no' is truthy(convert_bool=true)"), json!(false));
    assert_eq!(e("'x' is string"), json!(true));
    assert_eq!(e("1 is number"), json!(true));
    assert_eq!(e("{} is mapping"), json!(true));
    assert_eq!(e("[] is iterable"), json!(true));
    assert_eq!(e("[] is sequence"), json!(true));
    assert_eq!(e("true is boolean"), json!(true));
    assert_eq!(e("none is none"), json!(true));
    assert_eq!(e("1 in [1, 2]"), json!(true));
    assert_eq!(e("2 is in [1, 2]"), json!(true));
    assert_eq!(e("[1, 2] is contains(2)"), json!(true));
    assert_eq!(e("[1, 2] is contains(3)"), json!(false));
    assert_eq!(e("[1] is subset([1, 2])"), json!(true));
    assert_eq!(e("[1, 2] is superset([1])"), json!(true));
    assert_eq!(e("[1, 3] is subset([1, 2])"), json!(false));
}

#[test]
fn filesystem_tests() {
    let dir = std::env::temp_dir();
    let ctx = json!({"d": dir.to_string_lossy(), "f": file!()});
    assert_eq!(r("d is directory", &ctx), json!(true));
    assert_eq!(r("d is file", &ctx), json!(false));
    assert_eq!(r("d is exists", &ctx), json!(true));
    assert_eq!(r("'/nonexistent/rprov' is exists", &ctx), json!(false));
    assert_eq!(r("'/etc' is abs", &ctx), json!(true));
}
