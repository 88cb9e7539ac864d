//! Issue 13 item 6: no inventory text makes the parsers panic, and every
//! refusal names the file. Inputs are built from the tokens the INI and YAML
//! grammars care about (brackets, colons, ranges, `=`, quotes, indentation,
//! aliases), so most cases reach deep into the parsers rather than failing
//! on the first byte. A fixed seed and case count keep the run short (about
//! a second each) and the same on every machine.

use std::path::Path;

use proptest::prelude::*;
use rprov_inventory::Inventory;
use rprov_testbed::fuzz::{config, text_of};

const INI_TOKENS: &[&str] = &[
    "[",
    "]",
    ":",
    "=",
    " ",
    "\n",
    "web",
    "[web]",
    "[web:vars]",
    "[web:children]",
    "[all:vars]",
    "[1:3]",
    "[01:10]",
    "[a:c]",
    "[3:1]",
    "[1:9:0]",
    "ansible_port=",
    "ansible_host=",
    "99999",
    "\"",
    "'",
    "#",
    ";",
    "\\",
    "{",
    "}",
    "x=[1, 2]",
    "{'a': 1}",
    "::1",
    "[::1]:22",
    "\t",
];

const YAML_TOKENS: &[&str] = &[
    "all:",
    "\n",
    "  ",
    "    ",
    "hosts:",
    "children:",
    "vars:",
    "web:",
    "- ",
    ": ",
    "~",
    "null",
    "&a ",
    "*a",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "---",
    "...",
    "web[1:3]:",
    "web[3:1]:",
    "ansible_port: 99999",
    "!vault |",
    "? ",
    "#",
    "|",
    ">",
    "<<: *a",
    "yes",
    "0644",
];

/// Parses `text` as the inventory file `name`: Ok, or an error naming it.
fn check(text: &str, name: &str) -> Result<(), TestCaseError> {
    // In a directory that does not exist: no group_vars/ of the tree is read.
    let path = Path::new("/nonexistent-rprov-fuzz").join(name);
    if let Err(e) = Inventory::from_str_at(text, &path) {
        let msg = e.to_string();
        prop_assert!(msg.contains(name), "error without the file name: {msg}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn ini_inventories_never_panic(text in text_of(INI_TOKENS, 60)) {
        check(&text, "fuzz.ini")?;
    }

    #[test]
    fn yaml_inventories_never_panic(text in text_of(YAML_TOKENS, 60)) {
        check(&text, "fuzz.yml")?;
    }
}
