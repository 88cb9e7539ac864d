//! Custom modules rprov runs without ansible-core.
//!
//! A module in a `library/` folder (found as Ansible finds it:
//! [`super::ansible_fallback::find_custom_file`]) that is not written against
//! ansible-core's Python `module_utils` carries nothing of Ansible: an
//! old-style module (any language, its arguments a file of `key=value` shell
//! words), a `WANT_JSON` module (its arguments a JSON file) or a binary.
//! Ansible copies it and the arguments file to the host and runs
//! `INTERPRETER MODULE ARGS_FILE`; rprov does the same in one remote command
//! ([`super::ansible_fallback::Built::ArgsFile`]), so such a module runs with
//! no Python on the controller, and none on the host unless the module is
//! written in it. A module that imports `ansible.module_utils` (Ansible's
//! "new style", packed into AnsiballZ) still needs the Ansible fallback.
//!
//! ansible-core's `executor/module_common.py` is the spec: its style
//! detection ([`style`]), its shebang rewriting (`ansible_<name>_interpreter`,
//! [`shebang`]) and `ActionBase._execute_module`'s arguments file ([`args_file`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Map, Value as Json};

use super::ansible_fallback::Built;

/// How a module takes its arguments: ansible-core's `module_style`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `key=value` words, each value shell-quoted, in a file.
    Old,
    /// The arguments as JSON in a file (`WANT_JSON` anywhere in the module).
    WantJson,
    /// A compiled program: JSON in a file, run as itself.
    Binary,
}

/// The style of a module's file, `None` for a module only ansible-core can
/// build (a Python module importing `module_utils`, a PowerShell module, one
/// that wants its arguments embedded): the checks of ansible-core's
/// `_find_module_utils`, in its order.
pub fn style(data: &[u8]) -> Option<Style> {
    if is_binary(data) {
        return Some(Style::Binary);
    }
    let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    if has(b"#<<INCLUDE_ANSIBLE_MODULE_COMMON>>")
        || new_style_python().is_match(data)
        || has(b"# POWERSHELL_COMMON")
        || powershell().is_match(data)
        || has(b"<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>")
    {
        return None;
    }
    Some(if has(b"WANT_JSON") {
        Style::WantJson
    } else {
        Style::Old
    })
}

/// ansible-core's `NEW_STYLE_PYTHON_MODULE_RE`: an import of `module_utils`.
fn new_style_python() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?:from +\.{2,} *module_utils.* +import |from +ansible_collections\.[^.]+\.[^.]+\.plugins\.module_utils.* +import |import +ansible_collections\.[^.]+\.[^.]+\.plugins\.module_utils.*|from +ansible\.module_utils.* +import |import +ansible\.module_utils\.)",
        )
        .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
    })
}

/// ansible-core's markers of a PowerShell module.
fn powershell() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?i)#Requires -Module|#Requires -Version|#AnsibleRequires -(OSVersion|PowerShell|CSharpUtil|Wrapper)",
        )
        .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
    })
}

/// ansible-core's `_is_binary`: a byte outside text in the first KiB.
fn is_binary(data: &[u8]) -> bool {
    data.iter().take(1024).any(|&b| {
        !(matches!(b, 7 | 8 | 9 | 10 | 12 | 13 | 27)
            || (0x20..0x100).contains(&u16::from(b)) && b != 0x7f)
    })
}

/// A custom module rprov can run itself.
#[derive(Debug)]
pub struct LibraryModule {
    pub style: Style,
    data: Vec<u8>,
    /// The file's name, for the name Ansible gives it on the host.
    file_name: String,
}

impl LibraryModule {
    /// The module at `path`, if rprov can run it (see [`style`]).
    pub fn load(path: &Path) -> Option<LibraryModule> {
        let data = std::fs::read(path).ok()?;
        let style = style(&data)?;
        Some(LibraryModule {
            style,
            data,
            file_name: path.file_name()?.to_string_lossy().into_owned(),
        })
    }

    /// The custom module a task naming `name` runs, if rprov can run it.
    pub fn find(name: &str, playbook_dir: &Path) -> Option<LibraryModule> {
        LibraryModule::load(&super::ansible_fallback::find_custom_file(
            name,
            playbook_dir,
        )?)
    }

    /// The interpreter's name in the module's shebang line
    /// (`/usr/bin/python` and `python` give `python`), whose
    /// `ansible_NAME_interpreter` replaces it.
    pub fn interpreter_name(&self) -> Option<String> {
        let (interpreter, _) = shebang_words(&self.data)?;
        Some(basename(&interpreter).to_string())
    }

    /// The module as the host gets it, with its arguments file.
    /// `interpreters` maps an interpreter's name (`python`, `bash`) to its
    /// `ansible_NAME_interpreter`.
    pub fn build(
        &self,
        args: &Map<String, Json>,
        interpreters: &BTreeMap<String, String>,
    ) -> Built {
        let (module, shebang) = match self.style {
            Style::Binary => (self.data.clone(), None),
            Style::Old | Style::WantJson => shebang(&self.data, interpreters),
        };
        Built::ArgsFile {
            module,
            shebang,
            args: args_file(self.style, args),
            remote_name: format!("AnsiballZ_{}", self.file_name),
        }
    }
}

/// The arguments file as `ActionBase._execute_module` writes it: for an
/// old-style module `key=VALUE ` per argument, the value Python's `str()`
/// shell-quoted; else `json.dumps` of the arguments.
pub fn args_file(style: Style, args: &Map<String, Json>) -> String {
    match style {
        Style::Old => args
            .iter()
            .map(|(k, v)| format!("{k}={} ", python_quote(&super::args::py_text(v))))
            .collect(),
        Style::WantJson | Style::Binary => rprov_template::filters::json::dumps(
            &Json::Object(args.clone()),
            rprov_template::filters::json::DumpOptions {
                indent: None,
                sort_keys: false,
                ensure_ascii: true,
            },
        ),
    }
}

/// Python's `shlex.quote`: safe words as they are, else in single quotes.
fn python_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// The shebang's interpreter and its arguments, split as `shlex.split`
/// splits them.
fn shebang_words(data: &[u8]) -> Option<(String, Vec<String>)> {
    let first = data.split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(first.strip_prefix(b"#!")?);
    let mut words = shlex::split(line.trim())?.into_iter();
    Some((words.next()?, words.collect()))
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path).trim()
}

/// The module with its shebang rewritten as ansible-core's `_get_shebang`
/// does, and the shebang line: `python` becomes `ansible_python_interpreter`
/// (else `/usr/bin/python3`, which the fallback's ansible-core also puts
/// there), any other interpreter its `ansible_NAME_interpreter` when set.
/// `/usr/bin/env bash` names `env`, so it stays as it is, as in Ansible.
fn shebang(data: &[u8], interpreters: &BTreeMap<String, String>) -> (Vec<u8>, Option<String>) {
    let Some((interpreter, args)) = shebang_words(data) else {
        return (data.to_vec(), None);
    };
    let name = basename(&interpreter);
    let replaced = match interpreters.get(name) {
        Some(set) if !set.trim().is_empty() => set.trim().to_string(),
        _ if name == "python" => "/usr/bin/python3".to_string(),
        _ => interpreter.clone(),
    };
    let mut line = format!("#!{replaced}");
    for a in &args {
        line.push(' ');
        line.push_str(a);
    }
    if replaced == interpreter {
        return (data.to_vec(), Some(line));
    }
    let rest = data
        .iter()
        .position(|&b| b == b'\n')
        .map_or(&[][..], |i| &data[i..]);
    let mut module = line.clone().into_bytes();
    module.extend_from_slice(rest);
    (module, Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn styles_are_told_as_ansible_core_tells_them() {
        assert_eq!(style(b"#!/bin/sh\n. \"$1\"\necho '{}'\n"), Some(Style::Old));
        assert_eq!(
            style(b"#!/usr/bin/python\n# WANT_JSON\nimport json\n"),
            Some(Style::WantJson)
        );
        assert_eq!(style(b"\x7fELF\x02\x01\x01\0\0\0"), Some(Style::Binary));
        for needs_ansible in [
            &b"#!/usr/bin/python\nfrom ansible.module_utils.basic import AnsibleModule\n"[..],
            b"import ansible.module_utils.common\n",
            b"from ..module_utils.x import y\n",
            b"from ansible_collections.ns.col.plugins.module_utils.x import y\n",
            b"#!/usr/bin/python\n#<<INCLUDE_ANSIBLE_MODULE_COMMON>>\n",
            b"#!powershell\n#AnsibleRequires -CSharpUtil Ansible.Basic\n",
            b"#!/bin/sh\nargs='<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>'\n",
        ] {
            assert_eq!(
                style(needs_ansible),
                None,
                "{}",
                String::from_utf8_lossy(needs_ansible)
            );
        }
        // UTF-8 text is text.
        assert_eq!(
            style("#!/bin/sh\necho 'héllo'\n".as_bytes()),
            Some(Style::Old)
        );
    }

    #[test]
    fn arguments_files_are_written_as_ansible_core_writes_them() {
        let mut args = Map::new();
        args.insert("name".into(), json!("it's me"));
        args.insert("_ansible_check_mode".into(), json!(false));
        args.insert("count".into(), json!(3));
        args.insert("list".into(), json!(["a", 1]));
        args.insert("word".into(), json!("plain/path.txt"));
        assert_eq!(
            args_file(Style::Old, &args),
            "name='it'\"'\"'s me' _ansible_check_mode=False count=3 list='['\"'\"'a'\"'\"', 1]' word=plain/path.txt "
        );
        assert_eq!(
            args_file(Style::WantJson, &args),
            r#"{"name": "it's me", "_ansible_check_mode": false, "count": 3, "list": ["a", 1], "word": "plain/path.txt"}"#
        );
    }

    #[test]
    fn shebangs_are_rewritten_by_interpreter_name() {
        let none = BTreeMap::new();
        let (module, line) = shebang(b"#!/usr/bin/python\nprint(1)\n", &none);
        assert_eq!(line.as_deref(), Some("#!/usr/bin/python3"));
        assert_eq!(module, b"#!/usr/bin/python3\nprint(1)\n");
        let set = BTreeMap::from([
            ("python".to_string(), "/opt/py/bin/python".to_string()),
            ("bash".to_string(), "/usr/local/bin/bash".to_string()),
        ]);
        assert_eq!(
            shebang(b"#!/usr/bin/python -u\n", &set).1.as_deref(),
            Some("#!/opt/py/bin/python -u")
        );
        assert_eq!(
            shebang(b"#!/bin/bash\necho\n", &set).0,
            b"#!/usr/local/bin/bash\necho\n"
        );
        // `env` is the interpreter there, and has no variable set.
        let (module, line) = shebang(b"#!/usr/bin/env bash\necho\n", &set);
        assert_eq!(line.as_deref(), Some("#!/usr/bin/env bash"));
        assert_eq!(module, b"#!/usr/bin/env bash\necho\n");
        assert_eq!(shebang(b"echo\n", &set).1, None);
    }
}
