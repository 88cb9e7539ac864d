//! Rendering semantics: whitespace, pass-through, escaping, native types,
//! conditions and undefined-variable errors.

use rprov_template::{is_true, FileOptions, TemplateErrorKind, Templater, OMIT};
use serde_json::json;

fn t() -> Templater {
    Templater::new()
}

#[test]
fn trim_blocks_and_trailing_newline_like_ansible_template_module() {
    let src = "users:\n{% for u in users %}\n  - {{ u }}\n{% endfor %}\n{% if admin %}\nadmin: yes\n{% endif %}\nend\n";
    let out = t()
        .render_file(
            src,
            "roles/x/templates/users.j2",
            &json!({"users": ["a", "b"], "admin": true}),
        )
        .unwrap();
    assert_eq!(out, "users:\n  - a\n  - b\nadmin: yes\nend\n");
}

#[test]
fn lstrip_blocks_is_off() {
    let out = t()
        .render_file("  {% if true %}\nx\n{% endif %}\n", "f.j2", &json!({}))
        .unwrap();
    assert_eq!(out, "  x\n");
}

/// The `template` module's `trim_blocks`, `lstrip_blocks` and
/// `newline_sequence`, with what ansible-core 2.19 renders for each (Jinja2
/// drops the template's last newline, ansible-core adds back as many as the
/// template ended with: one, not two, without `trim_blocks`).
#[test]
fn template_module_whitespace_options() {
    let src = "  {% if true %}\nx\n{% endif %}\n";
    let with = |trim_blocks, lstrip_blocks| {
        let opts = FileOptions {
            trim_blocks,
            lstrip_blocks,
            ..FileOptions::default()
        };
        t().render_file_with(src, "f.j2", &json!({}), &opts)
            .unwrap()
    };
    assert_eq!(with(true, false), "  x\n", "Ansible's defaults");
    assert_eq!(with(true, true), "x\n");
    assert_eq!(with(false, false), "  \nx\n");
    assert_eq!(with(false, true), "\nx\n");
    // The same templater serves every combination, in any order.
    let tm = t();
    let opts = FileOptions {
        lstrip_blocks: true,
        ..FileOptions::default()
    };
    assert_eq!(
        tm.render_file_with(src, "f", &json!({}), &opts).unwrap(),
        "x\n"
    );
    assert_eq!(tm.render_file(src, "f", &json!({})).unwrap(), "  x\n");
}

#[test]
fn newline_sequence_applies_to_the_template_text_only() {
    let src = "a\n{% if true %}\nb\n{% endif %}\n{{ v }}\n";
    let ctx = json!({"v": "1\n2"});
    let render = |nl: &'static str| {
        let opts = FileOptions {
            newline_sequence: nl,
            ..FileOptions::default()
        };
        t().render_file_with(src, "f.j2", &ctx, &opts).unwrap()
    };
    assert_eq!(render("\r\n"), "a\r\nb\r\n1\n2\r\n");
    assert_eq!(render("\r"), "a\rb\r1\n2\r");
    assert_eq!(render("\n"), "a\nb\n1\n2\n");
    // A template saved with CRLF renders with \n by default, as in Ansible.
    assert_eq!(
        t().render_file(
            "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n",
            "f",
            &json!({})
        )
        .unwrap(),
        "a\nb\n"
    );
    for (arg, want) in [
        ("\n", Some("\n")),
        ("\\r\\n", Some("\r\n")),
        ("\r\n", Some("\r\n")),
        ("\\r", Some("\r")),
        ("crlf", None),
    ] {
        assert_eq!(FileOptions::parse_newline(arg), want, "{arg:?}");
    }
}

#[test]
fn trailing_newline_kept_and_not_added() {
    assert_eq!(t().render_file("a\n\n", "f", &json!({})).unwrap(), "a\n\n");
    assert_eq!(t().render_file("a", "f", &json!({})).unwrap(), "a");
}

#[test]
fn systemd_and_shell_text_passes_through() {
    let src = "ExecStart=/usr/bin/foo %i ${VAR} $HOME %h\n";
    assert_eq!(
        t().render_file(src, "app@.service.j2", &json!({})).unwrap(),
        src
    );
    assert_eq!(
        t().render_str("echo $HOME ${X} %i", &json!({})).unwrap(),
        json!("echo $HOME ${X} %i")
    );
}

#[test]
fn no_html_escaping_for_any_file_name() {
    let ctx = json!({"v": "<a href=\"x\">&'</a>"});
    for name in ["x.html.j2", "x.html", "x.xml.j2", "c.json.j2", "c.yml.j2"] {
        assert_eq!(
            t().render_file("{{ v }}", name, &ctx).unwrap(),
            "<a href=\"x\">&'</a>"
        );
    }
}

#[test]
fn render_str_without_template_syntax_is_unchanged() {
    // Not parsed at all: an unbalanced `}}` or `{%` lookalike stays as is.
    assert_eq!(
        t().render_str("a }} b", &json!({})).unwrap(),
        json!("a }} b")
    );
    assert_eq!(t().render_str("", &json!({})).unwrap(), json!(""));
}

#[test]
fn single_expression_keeps_native_type() {
    let ctx = json!({"l": [1, 2], "d": {"a": 1}, "n": 5, "b": true, "s": "x", "none": null});
    let r = |s: &str| t().render_str(s, &ctx).unwrap();
    assert_eq!(r("{{ l }}"), json!([1, 2]));
    assert_eq!(r("{{ d }}"), json!({"a": 1}));
    assert_eq!(r("{{ n }}"), json!(5));
    assert_eq!(r("{{ n + 1 }}"), json!(6));
    assert_eq!(r("{{ b }}"), json!(true));
    assert_eq!(r("{{ s }}"), json!("x"));
    assert_eq!(r("{{ none }}"), json!(null));
    assert_eq!(r("{{ l | length }}"), json!(2));
    assert_eq!(r("{{ '1' }}"), json!("1"));
    // Anything around the expression makes it a string.
    assert_eq!(r("n={{ n }}"), json!("n=5"));
    assert_eq!(r("{{ n }}{{ n }}"), json!("55"));
    assert_eq!(r("{{ l }} "), json!("[1, 2] "));
    // One final line break (a YAML `>` scalar) is Jinja's to drop, as in
    // ansible-core: the value stays native; text gets its line break back.
    assert_eq!(r("{{ l + [3] }}\n"), json!([1, 2, 3]));
    assert_eq!(r("{{ s }}\n"), json!("x\n"));
    assert_eq!(r("{{ l }}\n\n"), json!("[1, 2]\n\n"));
}

#[test]
fn render_value_recurses_and_renders_keys() {
    let ctx = json!({"k": "name", "v": 3});
    let input = json!({"{{ k }}": "{{ v }}", "plain": ["{{ v }}", 1, true, "x"], "n": null});
    assert_eq!(
        t().render_value(&input, &ctx).unwrap(),
        json!({"name": 3, "plain": [3, 1, true, "x"], "n": null})
    );
}

#[test]
fn eval_expr_and_conditions() {
    let ctx = json!({"x": 3, "r": {"rc": 0, "changed": true}, "s": "", "os": "Debian"});
    let t = t();
    assert_eq!(t.eval_expr("x + 1", &ctx).unwrap(), json!(4));
    assert_eq!(t.eval_expr("{{ x + 1 }}", &ctx).unwrap(), json!(4));
    assert!(t.eval_condition("x > 2", &ctx).unwrap());
    assert!(t.eval_condition("{{ x > 2 }}", &ctx).unwrap());
    assert!(!t.eval_condition("s", &ctx).unwrap());
    assert!(t
        .eval_condition("r is changed and r is succeeded", &ctx)
        .unwrap());
    assert!(t
        .eval_condition("os == 'Debian' and x in [1, 3]", &ctx)
        .unwrap());
    assert!(t.eval_condition("nothere is undefined", &ctx).unwrap());
    assert!(!t.eval_condition("nothere is defined", &ctx).unwrap());
    assert!(is_true(&json!("no")));
}

#[test]
fn default_and_defined_work_with_strict_undefined() {
    let ctx = json!({"d": {"a": 1}, "e": "", "omit": OMIT});
    let r = |s: &str| t().render_str(s, &ctx).unwrap();
    assert_eq!(r("{{ nope | default('x') }}"), json!("x"));
    assert_eq!(r("{{ nope | d(5) }}"), json!(5));
    assert_eq!(r("{{ d.b | default('x') }}"), json!("x"));
    assert_eq!(r("{{ d.a | default('x') }}"), json!(1));
    assert_eq!(r("{{ e | default('x') }}"), json!(""));
    assert_eq!(r("{{ e | default('x', true) }}"), json!("x"));
    assert_eq!(r("{{ nope | default(omit) }}"), json!(OMIT));
    assert_eq!(r("{{ 'y' if nope is defined else 'n' }}"), json!("n"));
    assert_eq!(r("{{ d.b is defined }}"), json!(false));
    assert_eq!(r("{{ d.a is defined }}"), json!(true));
    assert_eq!(r("{% if nope is undefined %}u{% endif %}"), json!("u"));
}

#[test]
fn undefined_top_level_name_is_reported_with_line() {
    let err = t()
        .render_file(
            "a\nserver_name {{ pds_hostname }};\n",
            "pds.conf.j2",
            &json!({}),
        )
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Undefined);
    assert_eq!(err.undefined.as_deref(), Some("pds_hostname"));
    assert_eq!(err.line, Some(2));
    assert!(
        err.message.contains("'pds_hostname' is undefined"),
        "{}",
        err.message
    );
    assert_eq!(err.origin.as_deref(), Some("pds.conf.j2"));
    assert_eq!(
        err.to_string(),
        "'pds_hostname' is undefined (pds.conf.j2:2)"
    );
    let err = t().render_str("x {{ nope }}", &json!({})).unwrap_err();
    assert_eq!(err.to_string(), "'nope' is undefined (line 1)");
}

#[test]
fn undefined_attribute_is_reported_dotted() {
    let ctx = json!({"pds": {"port": 3000}});
    let err = t()
        .render_file("port {{ pds.port }}\nhost {{ pds.hostname }}\n", "f", &ctx)
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("pds.hostname"));
    assert_eq!(err.line, Some(2));
    assert_eq!(
        err.message,
        "undefined variable 'pds.hostname': 'pds' has no attribute 'hostname'"
    );
}

#[test]
fn undefined_parent_reported_at_first_missing_component() {
    let err = t()
        .render_str("{{ pds.hostname }}", &json!({}))
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("pds"));
    let err = t()
        .render_str("x {{ pds.hostname }}", &json!({}))
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("pds"));
}

#[test]
fn undefined_inside_if_and_loops() {
    let ctx = json!({"items": [{"name": "a"}], "flag": true});
    let err = t()
        .render_file(
            "{% if flag %}\n{% if missing_flag %}x{% endif %}\n{% endif %}\n",
            "f",
            &ctx,
        )
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("missing_flag"));
    assert_eq!(err.line, Some(2));

    let err = t()
        .render_file(
            "{% for i in items %}\n{{ i.name }} {{ i.port }}\n{% endfor %}\n",
            "f",
            &ctx,
        )
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("i.port"));
    assert_eq!(err.line, Some(2));

    let err = t()
        .render_file(
            "{% for i in nope_list %}\n{{ i }}\n{% endfor %}\n",
            "f",
            &ctx,
        )
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("nope_list"));
    assert_eq!(err.line, Some(1));
}

#[test]
fn undefined_in_condition_and_native_expression() {
    let err = t().eval_condition("enable_thing", &json!({})).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("enable_thing"));
    let err = t()
        .eval_condition("enable_thing and x", &json!({"x": 1}))
        .unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("enable_thing"));
    let err = t().render_str("{{ listy }}", &json!({})).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("listy"));
    assert_eq!(err.message, "'listy' is undefined");
}

#[test]
fn syntax_errors_carry_kind_and_line() {
    let err = t()
        .render_file("ok\n{% if %}\n", "f", &json!({}))
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Syntax);
    assert_eq!(err.line, Some(2));
    let err = t().eval_expr("x ==", &json!({"x": 1})).unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Syntax);
}

#[test]
fn unknown_filter_is_a_filter_error() {
    let err = t()
        .render_str("{{ 1 | no_such_filter }}", &json!({}))
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Filter);
}

#[test]
fn python_methods_work() {
    let ctx = json!({"s": " a,b ", "d": {"k": "v"}, "h": "Hello"});
    let r = |s: &str| t().render_str(s, &ctx).unwrap();
    assert_eq!(r("{{ s.strip().split(',') }}"), json!(["a", "b"]));
    assert_eq!(r("{{ h.startswith('He') }}"), json!(true));
    assert_eq!(r("{{ h.upper() }}"), json!("HELLO"));
    assert_eq!(r("{{ h.replace('l', 'L') }}"), json!("HeLLo"));
    assert_eq!(r("{{ d.items() | list }}"), json!([["k", "v"]]));
    assert_eq!(r("{{ d.keys() | list }}"), json!(["k"]));
    assert_eq!(r("{{ d.get('k') }}"), json!("v"));
    assert_eq!(r("{{ d.get('x', 'dflt') }}"), json!("dflt"));
}

#[test]
fn mandatory_names_the_variable() {
    let err = t()
        .render_str("{{ admin_email | mandatory }}", &json!({}))
        .unwrap_err();
    assert_eq!(err.message, "mandatory variable 'admin_email' not defined");
    assert_eq!(
        t().render_str("{{ a | mandatory }}", &json!({"a": 1}))
            .unwrap(),
        json!(1)
    );
    let err = t()
        .render_str("{{ a | mandatory('set a!') }}", &json!({}))
        .unwrap_err();
    assert!(err.message.contains("set a!"), "{}", err.message);
}

/// Every lookup `LOOKUPS` names (the `with_<name>` loops rprov accepts when
/// a playbook loads) is one the engine runs.
#[test]
fn every_listed_lookup_runs() {
    for name in rprov_template::lookup::LOOKUPS {
        let err = t()
            .render_str(&format!("{{{{ query('{name}') }}}}"), &json!({}))
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(
            !err.contains(&rprov_template::lookup::not_found(name)),
            "{name}: {err}"
        );
    }
}

#[test]
fn lookups() {
    std::env::set_var("RPROV_TEMPLATE_TEST_VAR", "hello");
    let dir = std::env::temp_dir().join(format!("rprov-template-lookup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key.pub");
    std::fs::write(&file, "ssh-ed25519 AAA\n").unwrap();
    let ctx = json!({"path": file.to_string_lossy(), "myvar": [1]});
    let r = |s: &str| t().render_str(s, &ctx).unwrap();
    assert_eq!(
        r("{{ lookup('env', 'RPROV_TEMPLATE_TEST_VAR') }}"),
        json!("hello")
    );
    assert_eq!(
        r("{{ lookup('env', 'RPROV_TEMPLATE_SURELY_UNSET') }}"),
        json!("")
    );
    // ansible-core 2.19's `undef()` as a default: an unset variable stays
    // undefined; another default is taken as given.
    assert_eq!(
        r("{{ lookup('env', 'RPROV_TEMPLATE_SURELY_UNSET', default=undef()) is defined }}"),
        json!(false)
    );
    assert_eq!(
        r("{{ lookup('env', 'RPROV_TEMPLATE_SURELY_UNSET', default='x') }}"),
        json!("x")
    );
    assert_eq!(r("{{ undef('a hint') is defined }}"), json!(false));
    assert_eq!(
        r("{{ query('env', 'RPROV_TEMPLATE_TEST_VAR') }}"),
        json!(["hello"])
    );
    assert_eq!(r("{{ lookup('file', path) }}"), json!("ssh-ed25519 AAA"));
    assert_eq!(r("{{ lookup('vars', 'myvar') }}"), json!([1]));
    // `list` gives its terms as they are; `items` flattens lists among them once.
    assert_eq!(
        r("{{ lookup('list', 'a', [1, 2], wantlist=True) }}"),
        json!(["a", [1, 2]])
    );
    assert_eq!(r("{{ query('list', *myvar) }}"), json!([1]));
    // Without wantlist, ansible-core joins several results only when all are
    // text: several mappings stay a list, one is returned alone, none is [].
    assert_eq!(r("{{ lookup('list', 'a', 'b') }}"), json!("a,b"));
    assert_eq!(
        r("{{ lookup('dict', {'b': 2, 'a': {'x': 1} }) | sort(attribute='key') }}"),
        json!([{"key": "a", "value": {"x": 1}}, {"key": "b", "value": 2}])
    );
    assert_eq!(
        r("{{ lookup('dict', {'k': 'v'}) }}"),
        json!({"key": "k", "value": "v"})
    );
    assert_eq!(r("{{ lookup('list', wantlist=False) }}"), json!([]));
    let err = t().render_str("{{ lookup('dict', 1) }}", &ctx).unwrap_err();
    assert!(
        err.message.contains("expects a dictionary"),
        "{}",
        err.message
    );
    // A relative name is found in the role's files/, as Ansible's file lookup finds it.
    std::fs::create_dir_all(dir.join("role/files")).unwrap();
    std::fs::write(dir.join("role/files/data.txt"), "from the role\n").unwrap();
    // `fileglob`: matches in the role's files/, sorted, files only, a
    // leading dot matched only by a pattern that has one.
    for f in ["b.conf", "a.conf", ".hidden.conf", "x1.txt"] {
        std::fs::write(dir.join("role/files").join(f), "").unwrap();
    }
    std::fs::create_dir_all(dir.join("role/files/dir.conf")).unwrap();
    let in_role_files = json!({"role_path": dir.join("role").to_string_lossy()});
    let files = dir.join("role/files");
    let at = |f: &str| files.join(f).to_string_lossy().into_owned();
    assert_eq!(
        t().render_str("{{ query('fileglob', '*.conf') }}", &in_role_files)
            .unwrap(),
        json!([at("a.conf"), at("b.conf")])
    );
    assert_eq!(
        t().render_str(
            &format!(
                "{{{{ query('fileglob', '{}/[!b]*.c?nf') }}}}",
                files.display()
            ),
            &in_role_files
        )
        .unwrap(),
        json!([at("a.conf")])
    );
    assert_eq!(
        t().render_str(
            "{{ query('fileglob', 'x[0-9].txt', 'nope*') }}",
            &in_role_files
        )
        .unwrap(),
        json!([at("x1.txt")])
    );
    let in_role = json!({"role_path": dir.join("role").to_string_lossy()});
    assert_eq!(
        t().render_str("{{ lookup('file', 'data.txt') }}", &in_role)
            .unwrap(),
        json!("from the role")
    );
    assert_eq!(
        r("{{ query('items', 'a', [1, [2]], myvar) }}"),
        json!(["a", 1, [2], 1])
    );
    let err = t()
        .render_str("{{ lookup('nosuch', 'ls') }}", &ctx)
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Filter);
    assert!(
        err.message.contains("lookup plugin 'nosuch' was not found"),
        "{}",
        err.message
    );
    // `pipe` and `lines` run a controller command from the playbook's
    // directory; a failing one is the lookup's error.
    let pb = json!({"playbook_dir": dir.to_string_lossy()});
    assert_eq!(
        t().render_str("{{ lookup('pipe', 'pwd; echo two') }}", &pb)
            .unwrap(),
        json!(format!("{}\ntwo", dir.display()))
    );
    assert_eq!(
        t().render_str("{{ query('lines', 'printf \"a\\nb\\n\"') }}", &pb)
            .unwrap(),
        json!(["a", "b"])
    );
    let err = t()
        .render_str("{{ lookup('pipe', 'exit 3') }}", &pb)
        .unwrap_err();
    assert!(err.message.contains("returned 3"), "{}", err.message);
    let pick = t()
        .render_str("{{ lookup('random_choice', 'x', 'y') }}", &ctx)
        .unwrap();
    assert!(pick == json!("x") || pick == json!("y"), "{pick}");
    let err = t()
        .render_str("{{ lookup('file', '/nonexistent/x') }}", &ctx)
        .unwrap_err();
    assert!(err.message.contains("/nonexistent/x"), "{}", err.message);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn range_global() {
    assert_eq!(
        t().render_str("{{ range(3) | list }}", &json!({})).unwrap(),
        json!([0, 1, 2])
    );
}

/// As in Ansible, a lookup of something undefined is undefined too when it
/// goes into a test or `default`; printing it is still an error naming the
/// first missing step.
#[test]
fn lookups_chain_through_undefined_into_tests_and_default() {
    let ctx = json!({"d": {"bar": {}}, "l": [{"foo": {}}], "k": "bar"});
    for (expr, want) in [
        ("foo.bar | default('x')", json!("x")),
        ("foo.bar is defined", json!(false)),
        ("d.bar.baz.abc is not defined", json!(true)),
        ("d['bar']['baz']['abc'] | d('D')", json!("D")),
        ("d[k].baz is undefined", json!(true)),
        ("l.0.foo is defined and l.1.foo is not defined", json!(true)),
        ("l[-1].foo.bar is none", json!(false)),
        ("(foo | default({})).bar | default('x')", json!("x")),
    ] {
        assert_eq!(t().eval_expr(expr, &ctx).unwrap(), want, "{expr}");
        let braced = format!("{{{{ {expr} }}}}");
        assert_eq!(t().render_str(&braced, &ctx).unwrap(), want, "{braced}");
    }
    let file = t()
        .render_file(
            "{% if d.x.y is defined %}yes{% else %}no{% endif %}",
            "f",
            &ctx,
        )
        .unwrap();
    assert_eq!(file, "no");
    let err = t().render_str("{{ d.bar.baz.abc }}", &ctx).unwrap_err();
    assert_eq!(
        err.undefined.as_deref(),
        Some("d.bar.baz"),
        "{}",
        err.message
    );
    let err = t().eval_expr("d.x.y | length", &ctx).unwrap_err();
    assert_eq!(err.undefined.as_deref(), Some("d.x"), "{}", err.message);
}

/// Issue 12: `first_found` searches a role as Ansible's lookup does (the
/// role's `files/`, the role, its `tasks/`), then the playbook directory;
/// the first existing name wins, `skip=true` gives `[]` when none does.
#[test]
fn lookup_first_found_searches_the_role_then_the_playbook() {
    let dir = tempfile::tempdir().unwrap();
    let role = dir.path().join("roles/r");
    std::fs::create_dir_all(role.join("tasks")).unwrap();
    std::fs::create_dir_all(role.join("files")).unwrap();
    std::fs::write(role.join("tasks/default.yml"), "").unwrap();
    std::fs::write(role.join("files/debian.conf"), "").unwrap();
    std::fs::write(dir.path().join("site.txt"), "").unwrap();
    let ctx = json!({
        "role_path": role.display().to_string(),
        "playbook_dir": dir.path().display().to_string(),
        "files": ["debian.yml", "default.yml"],
    });
    let r = |s: &str| t().render_str(s, &ctx);
    let at = |p: std::path::PathBuf| json!(p.display().to_string());
    assert_eq!(
        r("{{ lookup('first_found', files) }}").unwrap(),
        at(role.join("tasks/default.yml"))
    );
    assert_eq!(
        r("{{ lookup('first_found', 'nope.conf', 'debian.conf', 'site.txt') }}").unwrap(),
        at(role.join("files/debian.conf"))
    );
    assert_eq!(
        r("{{ query('first_found', {'files': 'x.txt;site.txt', 'paths': [playbook_dir]}) }}")
            .unwrap(),
        json!([dir.path().join("site.txt").display().to_string()])
    );
    assert_eq!(
        r("{{ query('first_found', 'nope', skip=true) }}").unwrap(),
        json!([])
    );
    let err = r("{{ lookup('first_found', 'nope') }}").unwrap_err();
    assert!(
        err.message
            .contains("No file was found when using first_found."),
        "{}",
        err.message
    );
}

/// The `template` module's delimiter overrides: the file's own `{{ }}` is
/// text, the chosen delimiters are Jinja; delimiters that clash are an
/// error, not a silent fallback.
#[test]
fn delimiter_overrides() {
    let opts = FileOptions {
        delimiters: rprov_template::Delimiters {
            variable_start: Some("[%".into()),
            variable_end: Some("%]".into()),
            comment_start: Some("[#".into()),
            comment_end: Some("#]".into()),
            ..Default::default()
        },
        ..FileOptions::default()
    };
    let out = t()
        .render_file_with(
            "[# note #]Hello [% who %] {{ kept }}\n",
            "f.j2",
            &json!({"who": "world"}),
            &opts,
        )
        .unwrap();
    assert_eq!(out, "Hello world {{ kept }}\n");
    let clash = FileOptions {
        delimiters: rprov_template::Delimiters {
            variable_start: Some("{%".into()),
            ..Default::default()
        },
        ..FileOptions::default()
    };
    let e = t()
        .render_file_with("x\n", "f.j2", &json!({}), &clash)
        .unwrap_err();
    assert!(e.message.contains("delimiters"), "{}", e.message);
}

/// An undefined item inside a result fails, in Jinja's words where a filter
/// knows them, as ansible-core 2.19 does; `select('defined')` may still drop
/// it before the end.
#[test]
fn an_undefined_item_inside_a_result_fails() {
    let ctx = json!({"things": [{"name": "one"}, {"other": 2}]});
    let e = t()
        .render_str("{{ things | map(attribute='name') }}", &ctx)
        .unwrap_err();
    assert!(
        e.message
            .contains("object of type 'dict' has no attribute 'name'"),
        "{}",
        e.message
    );
    assert_eq!(
        t().render_str(
            "{{ things | map(attribute='name') | select('defined') | list }}",
            &ctx
        )
        .unwrap(),
        json!(["one"])
    );
    assert_eq!(
        t().render_str(
            "{{ things | map(attribute='name', default='-') | list }}",
            &ctx
        )
        .unwrap(),
        json!(["one", "-"])
    );
    // What one render's `map` noted never explains a later render's error.
    let tm = t();
    assert_eq!(
        tm.render_str(
            "a {{ things | map(attribute='name') | select('defined') | join(',') }}",
            &ctx
        )
        .unwrap(),
        json!("a one")
    );
    let e = tm.render_str("{{ [things[1].nope] }}", &ctx).unwrap_err();
    assert!(!e.message.contains("attribute 'name'"), "{}", e.message);
}

/// Python's regular expressions: look-ahead and backreferences work, and a
/// bad pattern gives Python's words.
#[test]
fn python_regular_expressions() {
    let ctx = json!({"s": "qa_1 qz_1"});
    assert_eq!(
        t().render_str("{{ s is search('(?=.*qa_1)(?=.*qz_1)') }}", &ctx)
            .unwrap(),
        json!(true)
    );
    assert_eq!(
        // Ansible's rule for `{{ }}` constants: one backslash, as written.
        t().render_str("{{ 'abab' | regex_search('(ab)\\1') }}", &ctx)
            .unwrap(),
        json!("abab")
    );
    let e = t().render_str("{{ s is search('*') }}", &ctx).unwrap_err();
    assert!(
        e.message.contains("nothing to repeat at position 0"),
        "{}",
        e.message
    );
}

/// `varnames`: the context's names a Python pattern finds, never the
/// environment's functions; ansible-core's messages for bad terms.
#[test]
fn varnames_lookup() {
    let ctx = json!({"qz_1": 1, "qz_2": 2, "qa_1": 3, "other": 4});
    assert_eq!(
        t().render_str("{{ query('varnames', '^qz_.+', '^qa') | sort }}", &ctx)
            .unwrap(),
        json!(["qa_1", "qz_1", "qz_2"])
    );
    assert_eq!(
        t().render_str("{{ query('varnames', '^(lookup|range)$') }}", &ctx)
            .unwrap(),
        json!([])
    );
    let e = t()
        .render_str("{{ query('varnames', '*') }}", &ctx)
        .unwrap_err();
    assert!(
        e.message
            .contains("Unable to use \"*\" as a search parameter: nothing to repeat at position 0"),
        "{}",
        e.message
    );
    let e = t()
        .render_str("{{ query('varnames', True) }}", &ctx)
        .unwrap_err();
    assert!(
        e.message
            .contains("Invalid setting identifier, \"True\" is not a string"),
        "{}",
        e.message
    );
}

/// A template's `#jinja2:` first line sets its own options, as
/// ansible-core's; the line itself is not output, and a bad one fails with
/// ansible-core's words.
#[test]
fn a_jinja2_first_line_sets_the_templates_options() {
    let ctx = json!({"x": {"y": 1}});
    let render = |s: &str| t().render_file(s, "t.j2", &ctx);
    assert_eq!(
        render("#jinja2: line_statement_prefix:\":\"\n: if true\nfoo\n: endif\nfoo\n").unwrap(),
        "foo\nfoo\n"
    );
    assert_eq!(
        render("#jinja2: variable_start_string: '[[', variable_end_string: ']]'\n{{ x }} [[ x.y ]] [[ x.z is defined ]]\n")
            .unwrap(),
        "{{ x }} 1 False\n"
    );
    assert_eq!(
        render("#jinja2:lstrip_blocks: True\n  {% if true %}\nyes\n  {% endif %}\n").unwrap(),
        "yes\n"
    );
    let err = render("#jinja2: lstrip_blocks=True\n").unwrap_err();
    assert!(
        err.message.contains(
            "Missing key-value separator `:` in '#jinja2:' override pair ' lstrip_blocks=True'."
        ),
        "{}",
        err.message
    );
}

/// `lookup('template')` is native as ansible-core 2.19's: one output node
/// keeps its value (a macro's or a `set` block's one-expression body too),
/// anything else is text with the file's final line break. Each expectation
/// is what ansible-core 2.19.14 returned for the same file.
#[test]
fn template_lookup_values_are_native_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let files = [
        (
            "json_macro.j2",
            "{% macro m() %}{{ {\"foo\":\"bar\"} }}{% endmacro %}\n{{ m() }}\n",
        ),
        (
            "text_around.j2",
            "{% macro m() %}{{ {\"foo\":\"bar\"} }}{% endmacro %}\nx{{ m() }}\n",
        ),
        (
            "set_block.j2",
            "{% set s %}{{ [1, 2] }}{% endset %}\n{{ s }}\n",
        ),
        ("dict.j2", "{{ d }}\n"),
        ("number.j2", "{{ 1 + 1 }}"),
        ("text_list.j2", "{{ \"[1, 2]\" }}\n"),
        ("yaml.j2", "a: 1\n"),
        ("two_nodes.j2", "{{ d }}{{ d }}\n"),
        (
            "macro_text.j2",
            "{% macro m() %}a{{ d }}{% endmacro %}{{ m() }}",
        ),
    ];
    for (name, text) in files {
        std::fs::write(templates.join(name), text).unwrap();
    }
    let ctx = json!({"role_path": dir.path().to_string_lossy(), "d": {"k": "v"}});
    let r = |f: &str| {
        t().render_str(&format!("{{{{ lookup('template', '{f}') }}}}"), &ctx)
            .unwrap()
    };
    assert_eq!(r("json_macro.j2"), json!({"foo": "bar"}));
    assert_eq!(r("text_around.j2"), json!("x{'foo': 'bar'}\n"));
    assert_eq!(r("set_block.j2"), json!([1, 2]));
    assert_eq!(r("dict.j2"), json!({"k": "v"}));
    assert_eq!(r("number.j2"), json!(2));
    assert_eq!(r("text_list.j2"), json!("[1, 2]\n"));
    assert_eq!(r("yaml.j2"), json!("a: 1\n"));
    assert_eq!(r("two_nodes.j2"), json!("{'k': 'v'}{'k': 'v'}\n"));
    assert_eq!(r("macro_text.j2"), json!("a{'k': 'v'}"));
}

/// ansible-core 2.19: a template of several parts whose rendering emits one
/// value and no text is that value, native; more than one emission, or any
/// text, is a string (compared with ansible-playbook's `type_debug`).
#[test]
fn one_emitted_value_keeps_its_type() {
    let cases = [
        ("{% for x in [1] %}{{ x }}{% endfor %}", json!(1)),
        ("{% for x in [4, 2] %}{{ x }}{% endfor %}", json!("42")),
        ("{% if true %}{{ [1, 2] }}{% endif %}", json!([1, 2])),
        ("a{{ 1 }}", json!("a1")),
        ("{% if true %} {{ 3 }}{% endif %}", json!(" 3")),
        ("{% if true %}{{ 'x' }}{% endif %}", json!("x")),
    ];
    for (src, want) in cases {
        assert_eq!(t().render_str(src, &json!({})).unwrap(), want, "{src}");
    }
    // A file is always text.
    let file = t()
        .render_file("{% if true %}{{ 3 }}{% endif %}", "f.j2", &json!({}))
        .unwrap();
    assert_eq!(file, "3");
}

/// `unvault` reads a file found as `file` finds it, decrypted through the
/// run's lookup context when it is a vault file, without stripping it; a
/// missing file is ansible-core's error.
#[test]
fn unvault_lookup_reads_through_the_runs_decryption() {
    use rprov_template::lookup::LookupContext;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("files")).unwrap();
    std::fs::write(
        dir.path().join("files/secret"),
        "$ANSIBLE_VAULT;1.1;AES256\n3132\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("files/plain"), "foo: bar\n").unwrap();
    let ctx = json!({"playbook_dir": dir.path().to_string_lossy()});
    let cx = LookupContext::with_plaintext(|b| {
        Ok(b.starts_with(b"$ANSIBLE_VAULT;")
            .then(|| b"decrypted\n".to_vec()))
    });
    let t = Templater::new().with_lookup_context(cx);
    let r = |s: &str| t.render_str(s, &ctx);
    assert_eq!(
        r("{{ lookup('unvault', 'secret') }}").unwrap(),
        json!("decrypted\n")
    );
    assert_eq!(
        r("{{ lookup('unvault', 'plain') }}").unwrap(),
        json!("foo: bar\n")
    );
    // `file` decrypts too (and strips, as ever), and so does `template`
    // (the file found in `templates/` here).
    assert_eq!(
        r("{{ lookup('file', 'secret') }}").unwrap(),
        json!("decrypted")
    );
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/secret.j2"),
        "$ANSIBLE_VAULT;1.1;AES256\n3132\n",
    )
    .unwrap();
    assert_eq!(
        r("{{ lookup('template', 'secret.j2') }}").unwrap(),
        json!("decrypted\n")
    );
    let e = r("{{ lookup('unvault', 'missing') }}").unwrap_err();
    assert!(
        e.message
            .contains("Unable to find file matching \"missing\""),
        "{}",
        e.message
    );
    // Without the run's decryption, a vault file is an error, not ciphertext.
    let e = Templater::new()
        .render_str("{{ lookup('unvault', 'secret') }}", &ctx)
        .unwrap_err();
    assert!(e.message.contains("no vault password"), "{}", e.message);
}

/// Expected answers are ansible-core 2.19's `ini` lookup on the same files.
#[test]
fn ini_lookup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.ini"),
        "[global]\nvalue1=one\nValue2 = two\n[s]\nvalue1=s1\nvalue2=s2\nother=x\nhome: /u\ndir: %(home)s/me\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("p.properties"), "a.b = c d\nname=x\n").unwrap();
    std::fs::write(dir.path().join("l1.ini"), b"[global]\nk=\xe9t\xe9\n").unwrap();
    let ctx = json!({"playbook_dir": dir.path().to_string_lossy()});
    let r = |s: &str| t().render_str(s, &ctx);
    assert_eq!(
        r("{{ lookup('ini', 'value2', file='a.ini') }}").unwrap(),
        json!("two")
    );
    assert_eq!(
        r("{{ lookup('ini', 'value1', section='s', file='a.ini') }}").unwrap(),
        json!("s1")
    );
    assert_eq!(
        r("{{ lookup('ini', 'dir', section='s', file='a.ini') }}").unwrap(),
        json!("/u/me")
    );
    assert_eq!(
        r("{{ lookup('ini', 'value[1-2] section=s file=a.ini re=true') }}").unwrap(),
        json!("s1,s2")
    );
    assert_eq!(
        r("{{ lookup('ini', 'nope  default=dflt section=s file=a.ini') }}").unwrap(),
        json!("dflt")
    );
    assert_eq!(
        r("{{ lookup('ini', 'a.b', type='properties', file='p.properties') }}").unwrap(),
        json!("c d")
    );
    assert_eq!(
        r("{{ lookup('ini', 'k section=global encoding=iso8859-1 file=l1.ini') }}").unwrap(),
        json!("été")
    );
    for (template, words) in [
        (
            "{{ lookup('ini', 'x', section='missing', file='a.ini') }}",
            "No section 'missing' in 'a.ini'.",
        ),
        (
            "{{ lookup('ini', 'file=a.ini', 'x') }}",
            "No key to look up was provided as first term within string inline options: file=a.ini",
        ),
        (
            "{{ lookup('ini', 'invalid=option') }}",
            "'invalid' is not a valid option.",
        ),
    ] {
        let e = r(template).unwrap_err();
        assert!(e.message.contains(words), "{template}: {}", e.message);
    }
}

/// Expected lists are ansible-core 2.19's `inventory_hostnames` given the
/// same `groups`.
#[test]
fn inventory_hostnames_lookup() {
    let ctx = json!({"groups": {
        "all": ["n1", "t1", "t3", "t2", "t200"],
        "ungrouped": ["n1"],
        "g1": ["t1", "t3", "t2"],
        "g2": ["t3", "t200"],
    }});
    let r = |s: &str| t().render_str(s, &ctx).unwrap();
    assert_eq!(
        r("{{ query('inventory_hostnames', 'g1') }}"),
        json!(["t1", "t3", "t2"])
    );
    assert_eq!(
        r("{{ query('inventory_hostnames', 'g1:!t3') }}"),
        json!(["t1", "t2"])
    );
    assert_eq!(
        r("{{ query('inventory_hostnames', 'g1:&g2') }}"),
        json!(["t3"])
    );
    assert_eq!(
        r("{{ query('inventory_hostnames', 't?') }}"),
        json!(["t1", "t3", "t2"])
    );
    assert_eq!(
        r("{{ query('inventory_hostnames', 'all', '!g1') }}"),
        json!(["n1", "t200"])
    );
    assert_eq!(r("{{ query('inventory_hostnames', 'nosuch') }}"), json!([]));
    assert_eq!(
        r("{{ lookup('inventory_hostnames', 'g2') }}"),
        json!("t3,t200")
    );
}

/// A division by zero says ansible-core 2.19's words, with Python's for
/// Jinja2's `ZeroDivisionError` (CPython 3.11's messages).
#[test]
fn division_by_zero_in_pythons_words() {
    for (expr, words) in [
        ("{{ 5 / 0 }}", "division by zero"),
        ("{{ 5.0 / 0 }}", "float division by zero"),
        ("{{ 5 // 0 }}", "integer division or modulo by zero"),
        ("{{ 5 % 0 }}", "integer modulo by zero"),
    ] {
        let e = t().render_str(expr, &json!({})).unwrap_err();
        assert_eq!(
            e.message,
            format!("Error rendering template: {words}"),
            "{expr}"
        );
    }
}

/// ansible-core 2.19 (its jinja2_native_types target) fails a template that
/// prints a list or mapping holding an undefined value, whether the list is
/// the whole result or text is around it.
#[test]
fn an_undefined_value_inside_a_printed_list_fails() {
    for src in [
        "{{ [{'key': nested}] }}",
        "{{ [{'key': nested}] }} second_node",
        "{{ {'a': [1, nested]} }}!",
    ] {
        let err = t().render_str(src, &json!({})).expect_err(src);
        assert_eq!(err.kind, TemplateErrorKind::Undefined, "{src}");
        assert!(
            err.message.contains("'nested' is undefined"),
            "{src}: {err}"
        );
    }
    assert_eq!(
        t().render_str("{{ [1, 'a'] }} x", &json!({})).unwrap(),
        json!("[1, 'a'] x")
    );
}

/// An option a lookup does not take is ignored, as ansible-core's plugins
/// ignore it, with a warning; `errors='warn'` forgives a failing lookup with
/// ansible-core's warning. Each goes to the context's warning channel.
#[test]
fn lookups_warn_of_ignored_options_and_forgiven_errors() {
    use rprov_template::lookup::LookupContext;
    use std::sync::{Arc, Mutex};
    let said = Arc::new(Mutex::new(Vec::<String>::new()));
    let to = said.clone();
    let said_now = said.clone();
    let cx = LookupContext::default().with_warn(move |m| to.lock().unwrap().push(m.to_string()));
    let t = Templater::new().with_lookup_context(cx);
    let ctx = json!({"test": "value"});
    assert_eq!(
        t.render_str("{{ lookup('vars', 'test', name='x') }}", &ctx)
            .unwrap(),
        json!("value")
    );
    assert_eq!(
        t.render_str(
            "{{ query('file', '/nonexistent/rprov', errors='warn') }}",
            &ctx
        )
        .unwrap(),
        json!([])
    );
    let said = said.lock().unwrap();
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(
        said[0],
        "lookup('vars') ignored the option `name`, which it does not take"
    );
    assert!(
        said[1].starts_with("An error occurred while running the lookup plugin 'file': "),
        "{said:?}"
    );
    // A lookup that fails is not blamed for options it never read.
    drop(said);
    let e = t
        .render_str("{{ lookup('vars', 'nosuch', bogus=1) }}", &ctx)
        .unwrap_err();
    assert!(e.message.contains("No variable named 'nosuch'"), "{e:?}");
    assert_eq!(said_now.lock().unwrap().len(), 2);
}
