//! Parsing task lists: module detection, task keywords, free-form arguments,
//! `block`, and static `import_tasks` / `include_tasks`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::{Block, RoleInstance, Task, Vars};
use crate::diag::{did_you_mean, LoadError};
use crate::modules;
use crate::yaml::{self, Document, Node, Value};

/// Keywords a task may carry besides its module. Anything else is the module.
const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "loop_control",
    "register",
    "changed_when",
    "failed_when",
    "notify",
    "listen",
    "tags",
    "become",
    "become_user",
    "become_method",
    "ignore_errors",
    "no_log",
    "diff",
    "args",
    "vars",
    "check_mode",
    "environment",
    "until",
    "retries",
    "delay",
    "run_once",
    "block",
    "rescue",
    "always",
    "collections",
    "debugger",
    "throttle",
    "any_errors_fatal",
    "timeout",
];

/// Keywords Ansible has that rprov does not implement: refusing them beats
/// silently doing something else.
const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "delegate_to",
    "delegate_facts",
    "local_action",
    "async",
    "poll",
    "with_fileglob",
    "with_first_found",
    "with_nested",
    "with_subelements",
    "with_together",
    "with_sequence",
    "with_indexed_items",
    "module_defaults",
];

/// What surrounding constructs (a role, an import, a block) pass down to the
/// tasks inside them.
#[derive(Clone, Default)]
pub struct Inherited {
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub vars: Vars,
    pub ignore_errors: Option<bool>,
    pub no_log: Option<bool>,
}

/// Where a task list lives, for resolving the files it imports.
#[derive(Clone)]
pub struct TaskScope {
    pub role: Option<Arc<RoleInstance>>,
    /// Directory that relative `import_tasks` paths resolve against first.
    pub base_dir: PathBuf,
    pub playbook_dir: PathBuf,
    pub inherited: Inherited,
    pub depth: usize,
}

/// Reads a task file (a YAML list of tasks).
pub fn parse_tasks_file(path: &Path, scope: &TaskScope) -> Result<Vec<Task>, LoadError> {
    if scope.depth > 32 {
        return Err(LoadError::new(
            crate::diag::Origin::file(path),
            "imports nested more than 32 deep",
        )
        .with_hint("an import_tasks probably includes itself"));
    }
    let doc = yaml::load_file(path)?;
    parse_task_list(&doc, &doc.root, scope)
}

/// Parses a YAML list of tasks from `doc`.
pub fn parse_task_list(
    doc: &Document,
    node: &Node,
    scope: &TaskScope,
) -> Result<Vec<Task>, LoadError> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let Some(items) = node.as_seq() else {
        return Err(LoadError::new(
            doc.origin(node),
            format!("expected a list of tasks, found {}", node.kind()),
        )
        .with_hint("each task starts with `- name: ...` at the same indentation"));
    };
    let mut out = Vec::new();
    for item in items {
        parse_task_into(doc, item, scope, &mut out)?;
    }
    Ok(out)
}

fn parse_task_into(
    doc: &Document,
    node: &Node,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    let Some(entries) = node.as_map() else {
        return Err(LoadError::new(
            doc.origin(node),
            format!("expected a task (a mapping), found {}", node.kind()),
        ));
    };
    let mut module: Option<(&Node, &Node)> = None;
    for (k, v) in entries {
        let key = k.key_string();
        if TASK_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        if UNSUPPORTED_KEYWORDS.contains(&key.as_str()) {
            return Err(LoadError::new(
                doc.origin(k),
                format!("the task keyword `{key}` is not supported by rprov"),
            )
            .with_hint("see the README's table of supported Ansible features"));
        }
        if let Some((first, _)) = module {
            return Err(LoadError::new(
                doc.origin(k),
                format!(
                    "this task has two modules or unknown keywords: `{}` and `{key}`",
                    first.key_string()
                ),
            )
            .with_hint(match did_you_mean(&key, TASK_KEYWORDS.iter().copied()) {
                Some(s) => format!("did you mean the keyword `{s}`?"),
                None => "a task runs exactly one module".to_string(),
            }));
        }
        module = Some((k, v));
    }

    let kw = Keywords::read(doc, node)?;

    if let Some(block) = node.get("block") {
        if module.is_some() {
            let (k, _) = module.unwrap_or((node, node));
            return Err(LoadError::new(
                doc.origin(k),
                format!("a block cannot also run the module `{}`", k.key_string()),
            ));
        }
        let mut inner_scope = scope.clone();
        kw.fold_into(&mut inner_scope.inherited);
        let parse = |key: &str| -> Result<Vec<Task>, LoadError> {
            match node.get(key) {
                Some(n) => parse_task_list(doc, n, &inner_scope),
                None => Ok(Vec::new()),
            }
        };
        let block = Block {
            block: parse_task_list(doc, block, &inner_scope)?,
            rescue: parse("rescue")?,
            always: parse("always")?,
        };
        let mut task = kw.into_task(doc, node, "block", Json::Null, scope)?;
        task.block = Some(Arc::new(block));
        out.push(task);
        return Ok(());
    }

    let Some((mkey, mval)) = module else {
        return Err(LoadError::new(doc.origin(node), "this task has no module")
            .with_hint("add a module such as `copy:`, `template:` or `command:`"));
    };
    let raw_name = mkey.key_string();
    let name = modules::canonical_name(&raw_name);
    let Some(spec) = modules::spec(name) else {
        let hint = match did_you_mean(name, modules::names()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "see `rprov modules` for the modules rprov has".to_string(),
        };
        return Err(
            LoadError::new(doc.origin(mkey), format!("unknown module `{raw_name}`"))
                .with_hint(hint),
        );
    };

    let mut args = module_args(doc, mkey, mval, spec.free_form)?;
    if let Some(extra) = node.get("args") {
        let Json::Object(extra) = extra.to_json() else {
            return Err(LoadError::new(
                doc.origin(extra),
                "`args` must be a mapping",
            ));
        };
        for (k, v) in extra {
            args.insert(k, v);
        }
    }

    if name == "import_tasks" || name == "include_tasks" {
        return expand_import(doc, mkey, node, name, &args, kw, scope, out);
    }

    check_args(doc, mkey, [Some(mval), node.get("args")], spec, &args)?;
    let task = kw.into_task(doc, node, name, Json::Object(args), scope)?;
    out.push(task);
    Ok(())
}

/// Module arguments as a map: a mapping as is, free-form text under
/// `_raw_params` (with `key=value` words split out as Ansible does).
fn module_args(
    doc: &Document,
    key: &Node,
    val: &Node,
    free_form: bool,
) -> Result<Map<String, Json>, LoadError> {
    match &val.value {
        Value::Null => Ok(Map::new()),
        Value::Map(_) => match val.to_json() {
            Json::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        },
        Value::Str(s) => Ok(parse_free_form(s, free_form)),
        _ => Err(LoadError::new(
            doc.origin(val),
            format!(
                "arguments of `{}` must be a mapping or `key=value` text, found {}",
                key.key_string(),
                val.kind()
            ),
        )),
    }
}

/// Splits Ansible's `key=value key2="quoted value"` argument text. For modules
/// that take free-form text (command, shell) only the option words such as
/// `creates=` are taken out and the rest is kept verbatim.
pub fn parse_free_form(text: &str, free_form: bool) -> Map<String, Json> {
    const COMMAND_OPTIONS: &[&str] = &["creates", "removes", "chdir", "executable", "stdin"];
    let words = split_words(text);
    let mut args = Map::new();
    let mut rest = Vec::new();
    for word in &words {
        match word.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && (!free_form || COMMAND_OPTIONS.contains(&k)) =>
            {
                args.insert(k.to_string(), Json::String(unquote(v)));
            }
            _ => rest.push(word.as_str()),
        }
    }
    if free_form {
        let raw = if rest.len() == words.len() {
            text.trim().to_string()
        } else {
            rest.join(" ")
        };
        if !raw.is_empty() {
            args.insert("_raw_params".into(), Json::String(raw));
        }
    } else if !rest.is_empty() {
        args.insert("_raw_params".into(), Json::String(rest.join(" ")));
    }
    args
}

/// Splits on unquoted whitespace, keeping quotes inside words.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    // Jinja blocks (`{{ a }}`) keep their inner spaces, as in Ansible's split_args.
    let mut depth = 0usize;
    let mut prev = '\0';
    for c in text.chars() {
        if quote.is_none() {
            if (prev == '{' && (c == '{' || c == '%')) || (prev == '%' && c == '}' && depth > 0) {
                if c == '}' {
                    depth -= 1;
                } else {
                    depth += 1;
                }
            } else if prev == '}' && c == '}' && depth > 0 {
                depth -= 1;
            }
        }
        prev = c;
        if depth > 0 && quote.is_none() {
            cur.push(c);
            continue;
        }
        match quote {
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

fn check_args(
    doc: &Document,
    key: &Node,
    written: [Option<&Node>; 2],
    spec: &modules::ModuleSpec,
    args: &Map<String, Json>,
) -> Result<(), LoadError> {
    for name in args.keys() {
        if name == "_raw_params" {
            if spec.free_form {
                continue;
            }
            return Err(LoadError::new(
                doc.origin(key),
                format!("`{}` does not take free-form text", spec.name),
            )
            .with_hint("write its arguments as a mapping or as key=value words"));
        }
        if !spec.args.contains(&name.as_str()) {
            let hint = match did_you_mean(name, spec.args.iter().copied()) {
                Some(s) => format!(
                    "did you mean `{s}`? `{}` takes: {}",
                    spec.name,
                    spec.args.join(", ")
                ),
                None => format!("`{}` takes: {}", spec.name, spec.args.join(", ")),
            };
            let at = args_node_for(key, written, doc, name);
            return Err(LoadError::new(
                at,
                format!("unknown argument `{name}` for module `{}`", spec.name),
            )
            .with_hint(hint));
        }
    }
    Ok(())
}

/// The position of an argument's key where it was written as a mapping (under
/// the module or under `args:`), else the module's key (`copy: a=1 b=2`).
fn args_node_for(
    key: &Node,
    written: [Option<&Node>; 2],
    doc: &Document,
    name: &str,
) -> crate::diag::Origin {
    written
        .into_iter()
        .flatten()
        .filter_map(Node::as_map)
        .flatten()
        .find(|(k, _)| k.key_string() == name)
        .map_or_else(|| doc.origin(key), |(k, _)| doc.origin(k))
}

#[allow(clippy::too_many_arguments)]
fn expand_import(
    doc: &Document,
    mkey: &Node,
    node: &Node,
    name: &str,
    args: &Map<String, Json>,
    kw: Keywords,
    scope: &TaskScope,
    out: &mut Vec<Task>,
) -> Result<(), LoadError> {
    let file = args
        .get("_raw_params")
        .or_else(|| args.get("file"))
        .and_then(Json::as_str)
        .map(str::to_string);
    let Some(file) = file else {
        return Err(LoadError::new(
            doc.origin(mkey),
            format!("`{name}` needs a file name"),
        ));
    };
    let dynamic = file.contains("{{") || kw.loop_items.is_some();
    if dynamic && name == "include_tasks" {
        // Resolved when it runs: the file name depends on variables or a loop.
        let mut args = args.clone();
        args.insert("_raw_params".into(), Json::String(file));
        args.insert(
            "_base_dir".into(),
            Json::String(scope.base_dir.display().to_string()),
        );
        let task = kw.into_task(doc, node, "include_tasks", Json::Object(args), scope)?;
        out.push(task);
        return Ok(());
    }
    if dynamic {
        return Err(LoadError::new(
            doc.origin(mkey),
            "`import_tasks` is static: its file name cannot use variables or loops",
        )
        .with_hint("use `include_tasks` for a file chosen at run time"));
    }
    let path = resolve_task_file(&file, scope, doc).ok_or_else(|| {
        LoadError::new(doc.origin(mkey), format!("task file `{file}` not found")).with_hint(
            format!(
                "looked in {}",
                search_dirs(scope, doc)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let mut inner = scope.clone();
    inner.depth += 1;
    if let Some(dir) = path.parent() {
        if scope.role.is_none() {
            inner.base_dir = dir.to_path_buf();
        }
    }
    kw.fold_into(&mut inner.inherited);
    out.extend(parse_tasks_file(&path, &inner)?);
    Ok(())
}

fn search_dirs(scope: &TaskScope, doc: &Document) -> Vec<PathBuf> {
    let mut dirs = vec![scope.base_dir.clone()];
    if let Some(d) = doc.path.parent() {
        dirs.push(d.to_path_buf());
    }
    dirs.push(scope.playbook_dir.clone());
    dirs.dedup();
    dirs
}

pub fn resolve_task_file(file: &str, scope: &TaskScope, doc: &Document) -> Option<PathBuf> {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    search_dirs(scope, doc)
        .into_iter()
        .map(|d| d.join(p))
        .find(|c| c.is_file())
}

/// The keywords of one task, read and type-checked.
struct Keywords {
    name: Option<String>,
    when: Vec<String>,
    loop_items: Option<Json>,
    loop_var: String,
    index_var: Option<String>,
    loop_label: Option<String>,
    register: Option<String>,
    changed_when: Option<Vec<String>>,
    failed_when: Option<Vec<String>>,
    notify: Vec<String>,
    listen: Vec<String>,
    tags: Vec<String>,
    become_: Option<bool>,
    become_user: Option<String>,
    ignore_errors: Option<bool>,
    no_log: Option<bool>,
    diff: Option<bool>,
    check_mode: Option<bool>,
    vars: Vars,
    environment: Option<Json>,
    until: Option<String>,
    retries: Option<Json>,
    delay: Option<Json>,
    run_once: bool,
}

impl Keywords {
    fn read(doc: &Document, node: &Node) -> Result<Self, LoadError> {
        let str_of = |key: &str| -> Result<Option<String>, LoadError> {
            match node.get(key) {
                None => Ok(None),
                Some(n) => scalar_string(n).map(Some).ok_or_else(|| {
                    LoadError::new(
                        doc.origin(n),
                        format!("`{key}` must be a string, found {}", n.kind()),
                    )
                }),
            }
        };
        let bool_of = |key: &str| -> Result<Option<bool>, LoadError> {
            match node.get(key) {
                None => Ok(None),
                Some(n) => match &n.value {
                    Value::Bool(b) => Ok(Some(*b)),
                    Value::Str(s) if s.contains("{{") => Err(LoadError::new(
                        doc.origin(n),
                        format!("`{key}` must be a literal yes/no in rprov, not a template"),
                    )),
                    Value::Str(s) => crate::truthy::parse_bool(s).map(Some).ok_or_else(|| {
                        LoadError::new(
                            doc.origin(n),
                            format!("`{key}` must be yes or no, found `{s}`"),
                        )
                    }),
                    _ => Err(LoadError::new(
                        doc.origin(n),
                        format!("`{key}` must be yes or no, found {}", n.kind()),
                    )),
                },
            }
        };
        let list_of = |key: &str| -> Result<Vec<String>, LoadError> {
            match node.get(key) {
                None => Ok(Vec::new()),
                Some(n) => string_list(n).ok_or_else(|| {
                    LoadError::new(
                        doc.origin(n),
                        format!(
                            "`{key}` must be a string or a list of strings, found {}",
                            n.kind()
                        ),
                    )
                }),
            }
        };
        let cond_of = |key: &str| -> Result<Option<Vec<String>>, LoadError> {
            match node.get(key) {
                None => Ok(None),
                Some(n) => match &n.value {
                    Value::Bool(b) => Ok(Some(vec![if *b { "True" } else { "False" }.to_string()])),
                    _ => string_list(n).map(Some).ok_or_else(|| {
                        LoadError::new(
                            doc.origin(n),
                            format!("`{key}` must be a condition or a list of conditions"),
                        )
                    }),
                },
            }
        };

        let mut loop_items = None;
        for key in ["loop", "with_items", "with_list", "with_dict"] {
            if let Some(n) = node.get(key) {
                if loop_items.is_some() {
                    return Err(LoadError::new(
                        doc.origin(n),
                        "a task can have only one loop",
                    ));
                }
                let v = n.to_json();
                loop_items = Some(match key {
                    "with_items" => json!({"__rprov_flatten": v}),
                    "with_dict" => json!({"__rprov_dict2items": v}),
                    _ => v,
                });
            }
        }
        let (mut loop_var, mut index_var, mut loop_label) = ("item".to_string(), None, None);
        if let Some(lc) = node.get("loop_control") {
            let Some(entries) = lc.as_map() else {
                return Err(LoadError::new(
                    doc.origin(lc),
                    "`loop_control` must be a mapping",
                ));
            };
            for (k, v) in entries {
                let val = scalar_string(v);
                match (k.key_string().as_str(), val) {
                    ("loop_var", Some(s)) => loop_var = s,
                    ("index_var", Some(s)) => index_var = Some(s),
                    ("label", Some(s)) => loop_label = Some(s),
                    ("pause" | "extended" | "extended_allitems", _) => {}
                    (other, _) => {
                        return Err(LoadError::new(
                            doc.origin(k),
                            format!("unknown loop_control option `{other}`"),
                        )
                        .with_hint("rprov knows loop_var, index_var and label"))
                    }
                }
            }
        }
        let vars = match node.get("vars") {
            None => Vars::new(),
            Some(n) => json_map(n)
                .ok_or_else(|| LoadError::new(doc.origin(n), "`vars` must be a mapping"))?,
        };
        if let Some(m) = node.get("become_method") {
            if m.as_str() != Some("sudo") {
                return Err(LoadError::new(
                    doc.origin(m),
                    "only `become_method: sudo` is supported",
                ));
            }
        }
        let run_once = bool_of("run_once")?.unwrap_or(false);
        Ok(Keywords {
            name: str_of("name")?,
            when: cond_of("when")?.unwrap_or_default(),
            loop_items,
            loop_var,
            index_var,
            loop_label,
            register: str_of("register")?,
            changed_when: cond_of("changed_when")?,
            failed_when: cond_of("failed_when")?,
            notify: list_of("notify")?,
            listen: list_of("listen")?,
            tags: list_of("tags")?,
            become_: bool_of("become")?,
            become_user: str_of("become_user")?,
            ignore_errors: bool_of("ignore_errors")?,
            no_log: bool_of("no_log")?,
            diff: bool_of("diff")?,
            check_mode: bool_of("check_mode")?,
            vars,
            environment: node.get("environment").map(Node::to_json),
            until: str_of("until")?,
            retries: node.get("retries").map(Node::to_json),
            delay: node.get("delay").map(Node::to_json),
            run_once,
        })
    }

    /// Passes this (import or block) task's keywords down to the tasks inside.
    fn fold_into(&self, inh: &mut Inherited) {
        inh.when.extend(self.when.iter().cloned());
        inh.tags.extend(self.tags.iter().cloned());
        if self.become_.is_some() {
            inh.become_ = self.become_;
        }
        if self.become_user.is_some() {
            inh.become_user = self.become_user.clone();
        }
        for (k, v) in &self.vars {
            inh.vars.insert(k.clone(), v.clone());
        }
        if self.ignore_errors.is_some() {
            inh.ignore_errors = self.ignore_errors;
        }
        if self.no_log.is_some() {
            inh.no_log = self.no_log;
        }
    }

    fn into_task(
        self,
        doc: &Document,
        node: &Node,
        module: &str,
        args: Json,
        scope: &TaskScope,
    ) -> Result<Task, LoadError> {
        let inh = &scope.inherited;
        let mut when = inh.when.clone();
        let mut tags = inh.tags.clone();
        let mut vars = inh.vars.clone();
        if module != "block" {
            when.extend(self.when);
            tags.extend(self.tags);
            vars.extend(self.vars);
        }
        let _ = doc;
        Ok(Task {
            name: self.name,
            module: module.to_string(),
            args,
            origin: doc.origin(node),
            when,
            loop_items: self.loop_items,
            loop_var: self.loop_var,
            index_var: self.index_var,
            loop_label: self.loop_label,
            register: self.register,
            changed_when: self.changed_when,
            failed_when: self.failed_when,
            notify: self.notify,
            listen: self.listen,
            tags,
            become_: self.become_.or(inh.become_),
            become_user: self.become_user.or_else(|| inh.become_user.clone()),
            ignore_errors: self.ignore_errors.or(inh.ignore_errors).unwrap_or(false),
            no_log: self.no_log.or(inh.no_log).unwrap_or(false),
            diff: self.diff,
            check_mode: self.check_mode,
            vars,
            environment: self.environment,
            until: self.until,
            retries: self.retries,
            delay: self.delay,
            run_once: self.run_once,
            role: scope.role.clone(),
            block: None,
        })
    }
}

/// A scalar as text (`when: x == 1` and `when: true` both give a string).
pub fn scalar_string(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// A string or a list of strings, as `tags:` and `notify:` accept.
pub fn string_list(n: &Node) -> Option<Vec<String>> {
    match &n.value {
        Value::Seq(items) => items.iter().map(scalar_string).collect(),
        Value::Str(s) if s.contains(',') && !s.contains("{{") => Some(
            s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        ),
        _ => scalar_string(n).map(|s| vec![s]),
    }
}

pub fn json_map(n: &Node) -> Option<Vars> {
    match n.to_json() {
        Json::Object(m) => Some(m.into_iter().collect()),
        Json::Null => Some(Vars::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_form_command_options() {
        let a = parse_free_form("touch /x creates=/x", true);
        assert_eq!(a["_raw_params"], "touch /x");
        assert_eq!(a["creates"], "/x");
        let a = parse_free_form("echo  'a=b'  c", true);
        assert_eq!(a["_raw_params"], "echo  'a=b'  c");
    }

    #[test]
    fn key_value_args() {
        let a = parse_free_form("src={{ a }}.txt dest=\"/tmp/x y\" mode=0644", false);
        assert_eq!(a["src"], "{{ a }}.txt");
        assert_eq!(a["dest"], "/tmp/x y");
        assert_eq!(a["mode"], "0644");
    }
}
