//! Issue 13 item 6: no playbook text and no `k=v` argument makes rprov panic,
//! and every refusal of a playbook names its file. Inputs are built from the
//! tokens playbooks are made of (keys, modules, indentation, flow syntax,
//! templates, `k=v` words), so most cases get past the YAML parser into the
//! loader's own checks. A fixed seed and case count keep the run to a few
//! seconds and the same on every machine.

use proptest::prelude::*;
use rprov_testbed::fuzz::{config, text_of};

const PLAYBOOK_TOKENS: &[&str] = &[
    "- hosts: all\n",
    "  tasks:\n",
    "  vars:\n",
    "  roles:\n",
    "  handlers:\n",
    "    - ",
    "\n",
    "  ",
    "      ",
    "name: ",
    "debug: ",
    "msg=hi",
    "copy: ",
    "src=a dest=/b",
    "template: ",
    "command: ",
    "loop: ",
    "register: ",
    "when: ",
    "notify: ",
    "block:",
    "rescue:",
    "tags: ",
    "include_tasks: ",
    "import_playbook: ",
    "x.yml",
    "become: ",
    "yes",
    "5",
    "~",
    "[",
    "]",
    "{",
    "}",
    ",",
    ": ",
    "\"",
    "'",
    "{{ ",
    " }}",
    "item",
    "---",
    "&a ",
    "*a",
    "? ",
    "#",
    "|",
    "- ",
    "a b-c",
    "delegate_to: ",
    "args:",
    "loop_control:",
    "vars_files: ",
];

const KV_TOKENS: &[&str] = &[
    "a",
    "=",
    " ",
    "'",
    "\"",
    "\\",
    "x=1",
    "b='x y'",
    "{{ v }}",
    "_raw_params",
    "creates=",
    "chdir=/tmp",
    "{",
    "}",
    ":",
    ": ",
    "[1, 2]",
    "@",
    "\n",
    "\t",
    "=\"",
    "k=v=w",
];

proptest! {
    #![proptest_config(config(800))]

    #[test]
    fn playbooks_never_panic(text in text_of(PLAYBOOK_TOKENS, 50)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("play.yml");
        std::fs::write(&path, &text).expect("write playbook");
        if let Err(e) = rprov::playbook::load_playbook(&path) {
            let msg = e.to_string();
            prop_assert!(msg.contains("play.yml"), "error without the file name: {msg}");
        }
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn key_value_arguments_never_panic(text in text_of(KV_TOKENS, 30)) {
        let free = rprov::playbook::parse_free_form(&text, true);
        let strict = rprov::playbook::parse_free_form(&text, false);
        // Without a free-form command every word is a key or raw text.
        prop_assert!(free.len() <= text.len() + 1 && strict.len() <= text.len() + 1);
        // `-e` takes the same words (or YAML, JSON): refused with its text.
        if let Err(e) = rprov::run::parse_extra_vars(std::slice::from_ref(&text)) {
            let msg = format!("{e:#}");
            prop_assert!(msg.contains("extra vars") || msg.contains("-e"), "{msg}");
        }
    }
}
