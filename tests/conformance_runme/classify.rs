//! Decides, from the files alone, whether a `runme.sh` target of
//! ansible-core can say anything about rprov as `ansible-playbook`,
//! `ansible-inventory` and `ansible`.
//!
//! A target is out of scope when it needs something rprov does not offer and
//! never will as an `ansible-playbook` stand-in: another Ansible CLI, Python
//! run by the script, Python plugins Ansible loads into itself, or a machine
//! ansible-test would not give it here (Windows, a cloud, an ssh login to the
//! controller, permission to change the machine). Each reason names the file,
//! the line or the alias it was read from, so a reader can check it.

use std::path::Path;

/// The Ansible command-line tools rprov stands in for (run under their
/// name, see `rprov::cli::command_line`).
const PROVIDED_CLIS: &[&str] = &["ansible-playbook", "ansible-inventory", "ansible"];

/// The other Ansible command-line tools. rprov does not provide them, so a
/// script calling one cannot pass.
const OTHER_CLIS: &[&str] = &[
    "ansible-config",
    "ansible-doc",
    "ansible-galaxy",
    "ansible-vault",
    "ansible-pull",
    "ansible-console",
    "ansible-test",
    "ansible-connection",
];

/// Directory names under which Ansible loads Python plugins from a playbook
/// or role directory (or a collection's `plugins/`).
/// The stdout callbacks ansible-core ships (`ansible/plugins/callback/`).
const BUILTIN_CALLBACKS: &[&str] = &["default", "minimal", "oneline", "tree", "junit"];

/// The plugin folders of a playbook or role whose Python rprov runs with
/// `--ansible-fallback custom` (ansible-core on the controller running the
/// target's own plugins and nothing else of Ansible's): a target whose only
/// Python plugins are these, and `library/` modules, is in scope.
const CUSTOM_RUNNABLE: &[&str] = &[
    "action_plugins",
    "filter_plugins",
    "lookup_plugins",
    "module_utils",
    "test_plugins",
];

const PLUGIN_DIRS: &[&str] = &[
    "action_plugins",
    "become_plugins",
    "cache_plugins",
    "callback_plugins",
    "cliconf_plugins",
    "connection_plugins",
    "doc_fragments",
    "filter_plugins",
    "httpapi_plugins",
    "inventory_plugins",
    "lookup_plugins",
    "module_utils",
    "netconf_plugins",
    "shell_plugins",
    "strategy_plugins",
    "terminal_plugins",
    "test_plugins",
    "vars_plugins",
];

/// Aliases that keep ansible-test itself from running a target on a plain
/// POSIX controller like this one, with why.
fn alias_reason(alias: &str) -> Option<String> {
    let why = match alias {
        "disabled" | "unsupported" | "hidden" => {
            format!("ansible-test does not run it by default (aliases: `{alias}`)")
        }
        "windows" => "needs a Windows host (aliases: `windows`)".to_string(),
        "network" => "needs a network appliance (aliases: `network`)".to_string(),
        "needs/ssh" => "needs an ssh login back to the controller, which ansible-test sets up \
                        and this runner does not (aliases: `needs/ssh`)"
            .to_string(),
        "destructive" => "changes the machine it runs on (packages, users, system files); \
                          ansible-test runs it only with --allow-destructive (aliases: \
                          `destructive`)"
            .to_string(),
        a if a.starts_with("cloud/") => format!("needs a cloud service (aliases: `{a}`)"),
        a if a.starts_with("shippable/windows") => {
            format!("runs only on Windows in Ansible's CI (aliases: `{a}`)")
        }
        a if a == "needs/target/setup_pexpect" || a == "needs/target/setup_paramiko" => {
            format!("needs a Python library installed into the controller (aliases: `{a}`)")
        }
        _ => return None,
    };
    Some(why)
}

/// Why `target_dir` is out of scope, or `None` when it is a plain
/// `ansible-playbook` target to run.
pub fn out_of_scope(target_dir: &Path) -> Option<String> {
    let aliases = std::fs::read_to_string(target_dir.join("aliases")).unwrap_or_default();
    for line in aliases.lines() {
        let alias = line.split('#').next().unwrap_or("").trim();
        if let Some(why) = alias_reason(alias) {
            return Some(why);
        }
    }
    let mut scripts = Vec::new();
    let mut plugins = Vec::new();
    walk(target_dir, target_dir, &mut scripts, &mut plugins);
    scripts.sort();
    // runme.sh first: it is what ansible-test runs.
    scripts.sort_by_key(|p| p != "runme.sh");
    for rel in &scripts {
        let text = std::fs::read_to_string(target_dir.join(rel)).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if let Some(what) = line_needs(line) {
                return Some(format!(
                    "{rel}:{} {what}: `{}`",
                    n + 1,
                    shorten(line.trim(), 100)
                ));
            }
        }
    }
    if !calls_provided_cli(target_dir, &scripts) {
        return Some(
            "neither its scripts nor those of the targets it refers to (`../NAME`) call \
             ansible-playbook, ansible-inventory or ansible, so rprov would take no part"
                .to_string(),
        );
    }
    // Modules of `library/` folders and the plugins of CUSTOM_RUNNABLE
    // folders run through `--ansible-fallback custom`; other plugins
    // (callbacks, inventory, cache, connection, a collection's, …) Ansible
    // loads into itself, which rprov does not.
    plugins.retain(|rel| {
        let last = rel.rsplit('/').next().unwrap_or(rel);
        !CUSTOM_RUNNABLE.contains(&last)
    });
    plugins.sort();
    let first = plugins.first()?;
    Some(format!(
        "ships Python plugins that Ansible loads into itself: {first}/{}",
        if plugins.len() > 1 {
            format!(" and {} more", plugins.len() - 1)
        } else {
            String::new()
        }
    ))
}

/// Whether a tool rprov provides ([`PROVIDED_CLIS`]) appears in `scripts`
/// (relative to `target_dir`) or in the scripts of a sibling target that
/// runme.sh names as `../NAME` (it may `cd` there or source a script from
/// there).
fn calls_provided_cli(target_dir: &Path, scripts: &[String]) -> bool {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    // `ansible-playbook` or `ansible-inventory` anywhere; `ansible`, a
    // prefix of every tool's name and a word of many comments, only run as
    // a command.
    let calls = |text: String| {
        PROVIDED_CLIS
            .iter()
            .filter(|c| **c != "ansible")
            .any(|c| text.contains(c))
            || text
                .lines()
                .any(|line| commands(line).iter().any(|(w, _)| w == "ansible"))
    };
    if scripts.iter().any(|s| calls(read(&target_dir.join(s)))) {
        return true;
    }
    let runme = read(&target_dir.join("runme.sh"));
    let Some(targets) = target_dir.parent() else {
        return false;
    };
    runme.split("../").skip(1).any(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let sibling = targets.join(&name);
        if name.is_empty() || !sibling.is_dir() {
            return false;
        }
        let (mut sh, mut plugins) = (Vec::new(), Vec::new());
        walk(&sibling, &sibling, &mut sh, &mut plugins);
        sh.iter().any(|s| calls(read(&sibling.join(s))))
    })
}

/// Collects, relative to `root`, the shell scripts and the Python plugin
/// directories.
fn walk(root: &Path, dir: &Path, scripts: &mut Vec<String>, plugins: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let name = entry.file_name().to_string_lossy().into_owned();
        let parent = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        if path.is_dir() {
            let in_collection = parent.as_deref() != Some("tests")
                && name == "plugins"
                && rel.contains("ansible_collections/");
            // A target's own `plugins/` (its runme.sh points an
            // `ANSIBLE_*_PLUGINS` setting at a folder in it).
            let own_plugins = name == "plugins" && dir == root;
            if PLUGIN_DIRS.contains(&name.as_str()) || in_collection || own_plugins {
                if has_python(&path) {
                    plugins.push(rel);
                }
                continue;
            }
            walk(root, &path, scripts, plugins);
        } else if name.ends_with(".sh") || name.ends_with(".bash") {
            scripts.push(rel);
        }
    }
}

/// Whether a directory holds a `.py` file at any depth.
fn has_python(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            if p.is_dir() {
                has_python(&p)
            } else {
                p.extension().is_some_and(|x| x == "py")
            }
        })
}

/// What a shell line does that rprov cannot stand in for, read from the
/// command word of each of its commands (comments dropped, pipelines, `;`,
/// `&&`, subshells and `$(…)` split, `VAR=value` prefixes and wrappers such
/// as `env` or `if` skipped): another Ansible CLI, or Python.
pub fn line_needs(line: &str) -> Option<String> {
    // A stdout callback other than ansible-core's own is a Python plugin
    // (of the target or a sibling's `callback_plugins/`): what it prints,
    // which the script compares, no other program can print.
    for word in strip_comment(line).split_whitespace() {
        let word = word.trim_matches(|c| c == '"' || c == '\'');
        if let Some(cb) = word.strip_prefix("ANSIBLE_STDOUT_CALLBACK=") {
            let cb = cb.trim_matches(|c| c == '"' || c == '\'');
            let own = cb.strip_prefix("ansible.builtin.").unwrap_or(cb);
            if !BUILTIN_CALLBACKS.contains(&own) {
                return Some(format!(
                    "prints through `{cb}`, a callback plugin written in Python"
                ));
            }
        }
    }
    for (w, next) in commands(line) {
        let w = w.as_str();
        if OTHER_CLIS.contains(&w) {
            return Some(format!("runs `{w}`, which rprov does not provide"));
        }
        let python =
            w.starts_with("python") && w[6..].chars().all(|c| c.is_ascii_digit() || c == '.');
        let sourced_venv = (w == "source" || w == ".") && next.as_deref() == Some("virtualenv.sh");
        if python
            || w.contains("ANSIBLE_TEST_PYTHON_INTERPRETER")
            || w == "pip"
            || (w.ends_with(".py") && !w.starts_with('/'))
        {
            return Some("runs Python".to_string());
        }
        if sourced_venv {
            return Some("makes and enters a Python virtualenv (`virtualenv.sh`)".to_string());
        }
    }
    None
}

/// The command of each part of `line` (split at `;`, `&`, `|`, `(`, `)`
/// and backquotes, past wrappers such as `env` or `if` and `NAME=value`
/// prefixes, quotes and `$` trimmed), with the word after it.
fn commands(line: &str) -> Vec<(String, Option<String>)> {
    const WRAPPERS: &[&str] = &[
        "env", "exec", "command", "time", "then", "do", "if", "elif", "else", "while", "until",
        "!", "sudo", "nohup", "{",
    ];
    let code = strip_comment(line);
    let mut out = Vec::new();
    for segment in code.split(|c: char| ";&|()`".contains(c)) {
        let mut words = segment
            .split_whitespace()
            .skip_while(|w| WRAPPERS.contains(w) || is_assignment(w))
            .map(|w| w.trim_matches(|c| c == '"' || c == '\'' || c == '$' || c == '<'))
            .filter(|w| !w.is_empty());
        if let Some(w) = words.next() {
            out.push((w.to_string(), words.next().map(str::to_string)));
        }
    }
    out
}

/// Whether `word` is a `NAME=value` prefix of a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// `line` without a trailing shell comment (a `#` at the start of a word
/// outside quotes; `$#` and `${#…}` are not comments).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && (prev.is_whitespace() || i == 0) => return &line[..i],
            None => {}
        }
        prev = c;
    }
    line
}

/// At most `max` characters of `s`, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[test]
fn words_of_a_line_are_read_as_a_shell_reads_them() {
    assert!(line_needs("ansible-playbook -i ../../inventory x.yml \"$@\"").is_none());
    assert!(line_needs("# ansible localhost -m ping").is_none());
    assert!(line_needs("echo 'ansible is fine'").is_none());
    assert!(line_needs("[ \"$(ansible localhost -m meta 2>&1)\" ]").is_none());
    assert!(line_needs("ANSIBLE_X=1 ansible-inventory --list").is_none());
    assert!(line_needs("ansible-vault view x").is_some_and(|w| w.contains("ansible-vault")));
    assert!(line_needs("./ansible-var-precedence-check.py").is_some());
    assert!(line_needs("source virtualenv.sh").is_some());
    assert!(line_needs("env python -c 'print(1)'").is_some());
    assert!(line_needs("ansible-playbook -e ansible_python_interpreter=x t.yml").is_none());
    assert!(line_needs("echo $# args").is_none());
    assert!(line_needs("for python in \"${pythons[@]}\"; do").is_none());
    assert!(line_needs("grep 'Attempting python interpreter discovery.' d.txt").is_none());
    assert!(line_needs("X=\"../ping.py\"").is_none());
    assert!(line_needs("if ./run-with-pty.py a.py > /dev/null; then").is_some());
    assert!(line_needs("adhoc=\"$(ansible -i 'local,' -m ping)\"").is_none());
    assert!(line_needs("x=\"$(ansible-config dump)\"").is_some());
    assert!(line_needs("export ANSIBLE_STDOUT_CALLBACK=callback_debug").is_some());
    assert!(line_needs("export ANSIBLE_STDOUT_CALLBACK=oneline").is_none());
    assert!(line_needs("ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default' ansible x").is_none());
    let first = |l: &str| commands(l).into_iter().map(|(w, _)| w).collect::<Vec<_>>();
    assert!(first("# Used to support the ansible-test-debugging test").is_empty());
    assert_eq!(first("out=\"$(ansible localhost -m ping)\""), ["ansible"]);
    assert_eq!(first("ANSIBLE_X=1 ansible-test env"), ["ansible-test"]);
}
