//! Issue 13 item 6: no template text makes the renderer panic, and every
//! error names the template file. Inputs are built from Jinja's syntax
//! (tags, expressions, filters, tests, Ansible's filters) so most cases get
//! past the lexer. A fixed seed and case count keep the run short and the
//! same on every machine; `--max-render-size` bounds what one case renders.

use proptest::prelude::*;
use rprov_template::Templater;
use rprov_testbed::fuzz::{config, text_of};
use serde_json::json;

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    " ",
    "\n",
    "x",
    "items",
    "d",
    "n",
    "s",
    "'a'",
    "\"b\"",
    "1",
    "0",
    "-1",
    "3.5",
    "|",
    ".",
    "[",
    "]",
    "(",
    ")",
    ",",
    ":",
    "~",
    "+",
    "*",
    "/",
    "//",
    "%",
    "==",
    " if ",
    " else ",
    " for ",
    " in ",
    "endfor",
    "endif",
    " is ",
    " not ",
    "defined",
    "default",
    "bool",
    "int",
    "length",
    "join",
    "to_json",
    "from_json",
    "to_yaml",
    "from_yaml",
    "regex_replace",
    "combine",
    "dict2items",
    "b64decode",
    "quote",
    "lookup",
    "ipaddr",
    "-",
    " set ",
    "=",
    "raw",
    "endraw",
    "macro",
    "call",
    "loop.index",
    "omit",
    "none",
    "true",
];

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn templates_never_panic(source in text_of(TOKENS, 40)) {
        rprov_template::limits::set_max_render_size(1 << 20);
        let t = Templater::new();
        let ctx = json!({
            "x": "text", "n": 3, "items": [1, "two", {"k": null}],
            "d": {"a": 1, "b": [true]}, "s": "{{ x }}",
        });
        if let Err(e) = t.render_file(&source, "fuzz.j2", &ctx) {
            let msg = e.to_string();
            prop_assert!(msg.contains("fuzz.j2"), "error without the file name: {msg}");
        }
        // Strings from YAML and bare conditions go through other entry points.
        let _ = t.render_str(&source, &ctx);
        let _ = t.eval_condition(&source, &ctx);
    }
}
