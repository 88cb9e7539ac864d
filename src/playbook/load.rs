//! Loading a playbook file into [`Playbook`]: plays, roles, tasks, handlers,
//! `import_playbook`, and the load-time checks (handler names, play keys).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::keywords::{comma_list, json_map, scalar_string, string_list, yes_no};
use super::role::RoleLoader;
use super::task::{parse_task_list, Inherited, TaskScope};
use super::{HostOrder, Play, Playbook, Task, Vars};
use crate::diag::{did_you_mean, LoadError, Origin};
use crate::yaml::{self, Document, Node, Value};

const PLAY_KEYS: &[&str] = &[
    "name",
    // Checked as `setup` checks them; rprov gathers its whole (small) fact
    // set with one snippet whatever the subset, which no collector's
    // timeout applies to.
    "gather_subset",
    "gather_timeout",
    "module_defaults",
    "hosts",
    "become",
    "become_user",
    "become_method",
    "gather_facts",
    "fact_path",
    "vars",
    "vars_files",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "tags",
    "remote_user",
    "connection",
    "any_errors_fatal",
    "strategy",
    "collections",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "order",
    "force_handlers",
    "max_fail_percentage",
    "debugger",
    "serial",
    // The old name of `remote_user`.
    "user",
    // Only empty (see `load_play`).
    "vars_prompt",
];

/// Play keywords of Ansible's that rprov does not carry out: refused with a
/// message of their own rather than "unknown keyword", so nobody hunts a typo.
const UNSUPPORTED_PLAY_KEYS: &[&str] =
    &["throttle", "timeout", "port", "become_exe", "become_flags"];

/// A play's `connection:` keyword, as the variable layer it becomes.
fn connection_keyword(doc: &Document, node: &Node) -> Result<Option<Vars>, LoadError> {
    let Some(n) = node.get("connection") else {
        return Ok(None);
    };
    // The names `ansible_connection` takes (paramiko and `smart` are
    // served by OpenSSH), kept as written for templates that read it.
    match scalar_string(n) {
        Some(c) if rprov_inventory::ConnectionKind::parse(&c).is_some() => Ok(Some(
            [(
                "ansible_connection".to_string(),
                serde_json::Value::String(c),
            )]
            .into_iter()
            .collect(),
        )),
        _ => Err(LoadError::new(
            doc.origin(n),
            format!(
                "`connection: {}` is not a connection rprov has",
                n.to_json().as_str().unwrap_or("…")
            ),
        )
        .with_hint("use `ssh` (OpenSSH, also for `smart` and `paramiko`) or `local`")),
    }
}

/// What the configuration (ansible.cfg, `ANSIBLE_*`) says about loading: where
/// roles are found, how strict `notify:` is, and the defaults of play keywords
/// a play does not set.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Searched after `roles/` next to the playbook and before the playbook's
    /// own directory (`roles_path`).
    pub roles_path: Vec<PathBuf>,
    /// Where installed collections are: roles named `namespace.collection.role`
    /// are found in their `roles/` (after `collections/` next to the playbook).
    pub collections_path: Vec<PathBuf>,
    /// A `notify:` that names no handler fails the load (true), or is one
    /// warning naming the task and does nothing, as in Ansible
    /// (`error_on_missing_handler = False`).
    pub error_on_missing_handler: bool,
    /// `become`, `become_user`, `remote_user` and `any_errors_fatal` of a play
    /// that does not set them.
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub remote_user: Option<String>,
    pub any_errors_fatal: Option<bool>,
    /// `force_handlers` of a play that does not set it (ansible.cfg's, or
    /// `--force-handlers`).
    pub force_handlers: bool,
    /// `no_log` of a play that does not set it (ansible.cfg's `no_log`,
    /// `$ANSIBLE_NO_LOG`): its tasks inherit it unless they say otherwise.
    pub no_log: bool,
    /// `gather_facts` of a play that does not set it (`gathering`).
    pub gather_facts: bool,
    /// `private_role_vars`, when set (see `RoleLoader::default_public`).
    pub private_role_vars: Option<bool>,
    /// `-e`: what a templated `import_playbook` name is rendered with
    /// (besides the import's own `vars`), as ansible-core renders it.
    pub extra_vars: Vars,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            roles_path: Vec::new(),
            collections_path: Vec::new(),
            error_on_missing_handler: true,
            become_: None,
            become_user: None,
            remote_user: None,
            any_errors_fatal: None,
            force_handlers: false,
            no_log: false,
            extra_vars: Vars::new(),
            gather_facts: true,
            private_role_vars: None,
        }
    }
}

/// Loads a playbook and everything it refers to. Nothing is rendered yet.
pub fn load_playbook(path: &Path) -> Result<Playbook, LoadError> {
    load_playbook_with(path, &LoadOptions::default())
}

/// [`load_playbook`] with the configuration's options; warnings (a missing
/// handler when that is not an error) land in [`Playbook::warnings`].
pub fn load_playbook_with(path: &Path, opts: &LoadOptions) -> Result<Playbook, LoadError> {
    let given = path.to_path_buf();
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if !path.is_file() {
        // A relative name is looked up in the current directory: say which one,
        // since running from the wrong directory is the usual cause.
        let looked = match std::env::current_dir() {
            Ok(cwd) => match path.strip_prefix(&cwd) {
                Ok(rel) => format!(
                    "looked for `{}` in the current directory ({})",
                    rel.display(),
                    cwd.display()
                ),
                Err(_) => format!("looked for {}", path.display()),
            },
            Err(_) => format!("looked for {}", path.display()),
        };
        return Err(
            LoadError::new(Origin::file(&path), PLAYBOOK_NOT_FOUND).with_hint(format!(
                "{looked}; run rprov from the directory that holds the playbook, or pass its path as the last argument, e.g. `rprov apply -i hosts.ini site.yml`"
            )),
        );
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    assemble(given, path.clone(), dir, opts, |plays, cx, dir| {
        let doc = yaml::load_file(&path)?;
        plays_of(&doc, &path, dir, plays, &Import::default(), 0, cx)
    })
}

/// The playbook whose plays `load` reads (`given` as the user named it).
fn assemble(
    given: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    opts: &LoadOptions,
    load: impl FnOnce(&mut Vec<Play>, &mut Cx, &Path) -> Result<(), LoadError>,
) -> Result<Playbook, LoadError> {
    let mut plays = Vec::new();
    let mut warnings = Vec::new();
    let mut deprecations = Vec::new();
    let mut cx = Cx {
        opts,
        warnings: &mut warnings,
        deprecations: &mut deprecations,
    };
    load(&mut plays, &mut cx, &dir)?;
    let action_groups = super::ActionGroups::new(super::action_groups::collection_dirs(
        &dir,
        &opts.collections_path,
    ));
    Ok(Playbook {
        files: vec![(given, plays.len())],
        path,
        dir,
        plays,
        warnings,
        deprecations,
        vault_values: Vec::new(),
        error_on_missing_handler: opts.error_on_missing_handler,
        action_groups,
    })
}

/// A playbook given as text rather than read from a file (`rprov adhoc`'s
/// one play): `name` stands for its file in messages, `dir` is its
/// `playbook_dir`.
pub fn load_playbook_text(
    text: &str,
    name: &Path,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<Playbook, LoadError> {
    let doc = yaml::parse_str(text, name)?;
    let given = name.to_path_buf();
    assemble(
        given,
        dir.join(name),
        dir.to_path_buf(),
        opts,
        |plays, cx, dir| plays_of(&doc, name, dir, plays, &Import::default(), 0, cx),
    )
}

/// The message of the error for a playbook file that is not there.
pub const PLAYBOOK_NOT_FOUND: &str = "playbook not found";

/// Several playbooks as one run, in order, as `ansible-playbook a.yml b.yml`.
/// They must share a directory: it is the run's `playbook_dir`, where
/// `roles/`, `group_vars/`, templates and files are found.
pub fn load_playbooks_with(paths: &[PathBuf], opts: &LoadOptions) -> Result<Playbook, LoadError> {
    let mut files = paths.iter();
    let Some(first) = files.next() else {
        return load_playbook_with(Path::new("site.yml"), opts);
    };
    let mut all = load_playbook_with(first, opts)?;
    for path in files {
        let next = load_playbook_with(path, opts)?;
        if next.dir != all.dir {
            return Err(LoadError::new(
                Origin::file(&next.path),
                format!(
                    "this playbook is in {}, the first one ({}) in {}: playbooks run together share one `playbook_dir`",
                    next.dir.display(),
                    all.path.display(),
                    all.dir.display()
                ),
            )
            .with_hint(
                "run them one at a time, or write a playbook next to the first that brings them in with `import_playbook`",
            ));
        }
        all.files.extend(next.files);
        all.plays.extend(next.plays);
        all.warnings.extend(next.warnings);
        for d in next.deprecations {
            if !all.deprecations.contains(&d) {
                all.deprecations.push(d);
            }
        }
    }
    Ok(all)
}

/// The options, and the warnings collected while loading.
struct Cx<'a> {
    opts: &'a LoadOptions,
    warnings: &'a mut Vec<String>,
    deprecations: &'a mut Vec<String>,
}

/// What `import_playbook` gives the plays it imports, as ansible-core's
/// `PlaybookInclude`: its `vars` over each play's own, its `tags` added to
/// each play's, and its `when` ahead of the conditions of every task (and
/// of gathering facts). An outer import's are applied over an inner one's.
#[derive(Clone, Default)]
struct Import {
    vars: Vars,
    tags: Vec<String>,
    when: Vec<String>,
}

/// The keys an `import_playbook` entry may have besides its file.
const IMPORT_PLAYBOOK_KEYS: &[&str] = &["name", "vars", "tags", "when"];

impl Import {
    /// `self` (an outer import) over the `import_playbook` entry `node`.
    fn within(&self, doc: &Document, node: &Node) -> Result<Import, LoadError> {
        let mut inner = Import::default();
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            match key.as_str() {
                "import_playbook"
                | "ansible.builtin.import_playbook"
                | "ansible.legacy.import_playbook"
                | "name" => {}
                "vars" => {
                    inner.vars = json_map(v)
                        .ok_or_else(|| LoadError::new(doc.origin(v), "`vars` must be a mapping"))?;
                }
                "tags" => inner.tags = comma_list(v).unwrap_or_default(),
                "when" => inner.when = super::keywords::conditions(doc, v, "when")?,
                _ => {
                    return Err(LoadError::new(
                        doc.origin(k),
                        format!("`{key}` is not a keyword of `import_playbook`"),
                    )
                    .with_hint(format!(
                        "an `import_playbook` takes {}; put other keywords on the imported plays",
                        IMPORT_PLAYBOOK_KEYS.join(", ")
                    )))
                }
            }
        }
        inner
            .vars
            .extend(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        for t in &self.tags {
            if !inner.tags.contains(t) {
                inner.tags.push(t.clone());
            }
        }
        let mut when = self.when.clone();
        when.append(&mut inner.when);
        inner.when = when;
        Ok(inner)
    }
}

/// A templated `import_playbook` name rendered, as ansible-core renders it
/// when the playbook loads: with `-e` and the import's own `vars` (no
/// inventory or facts exist yet).
fn imported_name(written: &str, vars: &Vars, extra_vars: &Vars) -> Result<String, String> {
    render_at_load(written, &[vars, extra_vars])
        .and_then(rendered_name)
        .map_err(|m| {
            format!("`import_playbook: {written}`: {m} (it is rendered as the playbook loads, with `-e` and the import's `vars`)")
        })
}

/// A template (an imported playbook's or role's name, an import's
/// argument) rendered as the playbook loads, with `layers` of variables
/// (lowest first): what ansible-core has then, before any inventory or fact.
pub(super) fn render_at_load(written: &str, layers: &[&Vars]) -> Result<serde_json::Value, String> {
    let templater = rprov_template::Templater::new();
    let names = crate::engine::NamesCache::default();
    let value = serde_json::Value::String(written.to_string());
    let resolver = crate::engine::Resolver::new(layers.to_vec(), &templater, &names);
    resolver
        .context_for(&[&value], &[])
        .and_then(|ctx| templater.render_str(written, &ctx))
        .map_err(|e| e.message)
}

/// A rendered name: non-blank text, or an error saying what it is instead.
pub(super) fn rendered_name(v: serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Ok(s),
        other => Err(format!("it renders to {other}, which is not a name")),
    }
}

/// The plays of `doc`, read from `path` (and those it imports).
fn plays_of(
    doc: &Document,
    path: &Path,
    playbook_dir: &Path,
    plays: &mut Vec<Play>,
    import: &Import,
    depth: usize,
    cx: &mut Cx,
) -> Result<(), LoadError> {
    let Some(items) = doc.root.as_seq() else {
        return Err(LoadError::new(
            doc.origin(&doc.root),
            format!("a playbook is a list of plays, found {}", doc.root.kind()),
        )
        .with_hint("start each play with `- hosts: ...`"));
    };
    if items.is_empty() && depth == 0 {
        // ansible-core's words, which scripts grep for.
        return Err(LoadError::new(
            doc.origin(&doc.root),
            format!(
                "A playbook must contain at least one play: {}",
                std::path::absolute(path)
                    .unwrap_or_else(|_| path.to_path_buf())
                    .display()
            ),
        )
        .with_hint("start each play with `- hosts: ...`"));
    }
    for item in items {
        if let Some(inc) = item
            .get("import_playbook")
            .or_else(|| item.get("ansible.builtin.import_playbook"))
            .or_else(|| item.get("ansible.legacy.import_playbook"))
        {
            let Some(file) = inc.as_str() else {
                return Err(LoadError::new(
                    doc.origin(inc),
                    "`import_playbook` needs a file name",
                ));
            };
            let inner = import.within(doc, item)?;
            let file = match rprov_template::is_template(file) {
                true => imported_name(file, &inner.vars, &cx.opts.extra_vars)
                    .map_err(|m| LoadError::new(doc.origin(inc), m))?,
                false => file.to_string(),
            };
            let base = path.parent().unwrap_or(playbook_dir);
            let target = base.join(&file);
            if depth > 16 || !target.is_file() {
                return Err(LoadError::new(
                    doc.origin(inc),
                    format!("playbook `{file}` not found"),
                ));
            }
            let imported = yaml::load_file(&target)?;
            // The imported playbook's folder lends its plugin folders
            // (`library/`, `filter_plugins/`, …) to the whole run, as
            // ansible-core's `PlaybookInclude` adds them.
            if let Some(dir) = target.parent() {
                crate::modules::ansible_fallback::add_role_dir(dir);
            }
            plays_of(
                &imported,
                &target,
                playbook_dir,
                plays,
                &inner,
                depth + 1,
                cx,
            )?;
            continue;
        }
        plays.push(load_play(doc, item, playbook_dir, import, cx)?);
    }
    Ok(())
}

/// `vars_prompt`: rprov asks nothing, so only an empty one (`null`, `[]`)
/// is taken; entries are checked as ansible-core checks them, then refused.
fn vars_prompt(doc: &Document, node: &Node) -> Result<(), LoadError> {
    let Some(n) = node.get("vars_prompt").filter(|n| !n.is_null()) else {
        return Ok(());
    };
    let entries = match &n.value {
        Value::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(n),
    };
    const KEYS: &[&str] = &[
        "name",
        "prompt",
        "default",
        "private",
        "confirm",
        "encrypt",
        "salt_size",
        "salt",
        "unsafe",
    ];
    for e in entries {
        let Some(map) = e.as_map() else {
            return Err(LoadError::new(
                doc.origin(e),
                "Invalid vars_prompt data structure, missing 'name' key",
            ));
        };
        if e.get("name").is_none() {
            return Err(LoadError::new(
                doc.origin(e),
                "Invalid vars_prompt data structure, missing 'name' key",
            )
            .with_hint("give each prompt a `name:`, the variable it sets"));
        }
        if let Some((k, _)) = map
            .iter()
            .find(|(k, _)| !KEYS.contains(&k.key_string().as_str()))
        {
            return Err(LoadError::new(
                doc.origin(k),
                format!(
                    "Invalid vars_prompt data structure, found unsupported key '{}'",
                    k.key_string()
                ),
            ));
        }
    }
    let key = node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("vars_prompt")))
        .map_or(n, |(k, _)| k);
    match entries.first() {
        None => Ok(()),
        Some(_) => Err(LoadError::new(
            doc.origin(key),
            "the play keyword `vars_prompt` is not supported by rprov: it never prompts",
        )
        .with_hint("pass the values with -e instead (`-e name=value`)")),
    }
}

/// A play's task section that is neither a list nor empty, refused in
/// ansible-core's words (its `load_list_of_blocks` assertion).
fn malformed_section(doc: &Document, n: &Node, key: &str) -> Result<(), LoadError> {
    if n.is_null() || n.as_seq().is_some() {
        return Ok(());
    }
    let (shown, class) = match &n.value {
        Value::Int(i) => (i.to_string(), "int"),
        Value::Float(f) => (f.to_string(), "float"),
        Value::Bool(b) => (if *b { "True" } else { "False" }.to_string(), "bool"),
        Value::Str(s) => (s.clone(), "str"),
        _ => (n.to_json().to_string(), "dict"),
    };
    Err(LoadError::new(
        doc.origin(n),
        format!(
            "A malformed block was encountered while loading {key}: {shown} should be a list or None but is <class '{class}'>"
        ),
    )
    .with_hint("each task starts with `- name: ...` at the same indentation"))
}

fn load_play(
    doc: &Document,
    node: &Node,
    playbook_dir: &Path,
    import: &Import,
    cx: &mut Cx,
) -> Result<Play, LoadError> {
    let Some(entries) = node.as_map() else {
        return Err(LoadError::new(
            doc.origin(node),
            format!("a play is a mapping, found {}", node.kind()),
        ));
    };
    for (k, _) in entries {
        let key = k.key_string();
        if UNSUPPORTED_PLAY_KEYS.contains(&key.as_str()) {
            return Err(LoadError::new(
                doc.origin(k),
                format!("the play keyword `{key}` is not supported by rprov"),
            )
            .with_hint("remove it, or see the README's table of supported Ansible features"));
        }
        if !PLAY_KEYS.contains(&key.as_str()) {
            let hint = match did_you_mean(&key, PLAY_KEYS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "tasks go under `tasks:`".to_string(),
            };
            return Err(
                // ansible-core's words, which scripts grep for.
                LoadError::new(
                    doc.origin(k),
                    format!("'{key}' is not a valid attribute for a Play"),
                )
                .with_hint(hint),
            );
        }
    }
    // `user` is the old name of `remote_user`; both is an error, as in
    // ansible-core.
    if let (Some(_), Some(u)) = (node.get("remote_user"), node.get("user")) {
        return Err(LoadError::new(
            doc.origin(u),
            "both 'user' and 'remote_user' are set for this play. The use of 'user' is deprecated, and should be removed",
        ));
    }
    vars_prompt(doc, node)?;
    if let Some(n) = node.get("gather_subset") {
        crate::modules::setup::check_subsets(Some(&n.to_json()))
            .map_err(|msg| LoadError::new(doc.origin(n), msg))?;
    }
    if let Some(n) = node.get("gather_timeout") {
        if n.to_json().as_i64().is_none() {
            return Err(LoadError::new(
                doc.origin(n),
                "`gather_timeout` must be a whole number of seconds",
            ));
        }
    }
    // `hosts: "{{ targets }}"` is rendered when the play starts (see
    // `deferred`); until then the play's pattern is the template text.
    let mut hosts_template = None;
    let hosts = match node.get("hosts") {
        Some(h) if h.as_str().is_some_and(rprov_template::is_template) => {
            let text = h.as_str().unwrap_or_default();
            hosts_template = Some(super::deferred::Deferred::new("hosts", text, doc.origin(h)));
            text.to_string()
        }
        Some(h) => match comma_list(h) {
            // As ansible-core: a pattern of commas only (`,,`) names no
            // pattern, and none means `all`; only an empty one is an error.
            Some(list) if list.is_empty() && h.as_str().is_some_and(|s| !s.is_empty()) => {
                "all".to_string()
            }
            Some(list) if list.is_empty() => {
                return Err(LoadError::new(
                    doc.origin(h),
                    "Hosts list cannot be empty. Please check your playbook",
                )
                .with_hint("name the hosts or groups the play runs on, e.g. `hosts: all`"))
            }
            Some(list) => list.join(":"),
            None => {
                return Err(LoadError::new(
                    doc.origin(h),
                    "`hosts` must be a pattern or a list of patterns",
                ))
            }
        },
        None => {
            return Err(
                LoadError::new(doc.origin(node), "this play has no `hosts:`")
                    .with_hint("add e.g. `hosts: all`"),
            )
        }
    };
    // ansible-core's `Play.get_name`: the hosts as written, a list joined
    // with commas.
    let hosts_written = node
        .get("hosts")
        .and_then(|h| match h.as_str() {
            Some(text) => Some(text.to_string()),
            None => string_list(h).map(|list| list.join(",")),
        })
        .unwrap_or_else(|| hosts.clone());
    let name = node
        .get("name")
        .and_then(scalar_string)
        .unwrap_or_else(|| hosts_written.clone());
    let become_ = node
        .get("become")
        .and_then(|b| crate::truthy::as_bool(&b.to_json()))
        .or(cx.opts.become_);
    let become_method = node.get("become_method").and_then(scalar_string);
    let become_user = node
        .get("become_user")
        .and_then(scalar_string)
        .or_else(|| cx.opts.become_user.clone());
    let gather_facts = node
        .get("gather_facts")
        .and_then(|b| crate::truthy::as_bool(&b.to_json()))
        .unwrap_or(cx.opts.gather_facts);
    let mut vars: Vars = match node.get("vars") {
        Some(v) => {
            json_map(v).ok_or_else(|| LoadError::new(doc.origin(v), "`vars` must be a mapping"))?
        }
        None => Vars::new(),
    };
    vars.extend(import.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let remote_user = node
        .get("remote_user")
        .or_else(|| node.get("user"))
        .and_then(scalar_string)
        .or_else(|| cx.opts.remote_user.clone());
    let connection = connection_keyword(doc, node)?;
    let flag = |key: &str| yes_no(doc, node, key);
    let any_errors_fatal = flag("any_errors_fatal")?.or(cx.opts.any_errors_fatal);
    let force_handlers = flag("force_handlers")?.unwrap_or(cx.opts.force_handlers);
    let max_fail_percentage = match node.get("max_fail_percentage") {
        None => None,
        Some(n) => match n.to_json() {
            serde_json::Value::Number(x)
                if x.as_f64().is_some_and(|p| (0.0..=100.0).contains(&p)) =>
            {
                x.as_f64()
            }
            serde_json::Value::String(s)
                if s.trim()
                    .parse::<f64>()
                    .is_ok_and(|p| (0.0..=100.0).contains(&p)) =>
            {
                s.trim().parse().ok()
            }
            _ => {
                return Err(LoadError::new(
                    doc.origin(n),
                    "`max_fail_percentage` must be a number from 0 to 100",
                ))
            }
        },
    };
    // A template (`serial: "{{ batch | default(omit) }}"`) is rendered when
    // the play starts, as `order` and `strategy` below.
    let mut deferred_serial = None;
    let serial = match node.get("serial") {
        None => Vec::new(),
        Some(n) => match n.as_str() {
            Some(t) if rprov_template::is_template(t) => {
                deferred_serial = Some(super::deferred::Deferred::new("serial", t, doc.origin(n)));
                Vec::new()
            }
            _ => super::deferred::serial(&n.to_json(), doc.origin(n))?,
        },
    };
    // A template (`order: "{{ myorder }}"`, `strategy: "{{ s | default('linear') }}"`)
    // is rendered when the play starts, with the play's variables, and
    // checked then (see `super::deferred`).
    let mut deferred: Vec<_> = hosts_template.into_iter().chain(deferred_serial).collect();
    let order = match node.get("order") {
        None => HostOrder::default(),
        Some(n) => match n.as_str() {
            Some(t) if rprov_template::is_template(t) => {
                deferred.push(super::deferred::Deferred::new("order", t, doc.origin(n)));
                HostOrder::default()
            }
            _ => super::deferred::order(&scalar_string(n).unwrap_or_default(), doc.origin(n))?,
        },
    };
    let mut linear = true;
    if let Some(n) = node.get("strategy") {
        match n.as_str() {
            Some(t) if rprov_template::is_template(t) => {
                deferred.push(super::deferred::Deferred::new("strategy", t, doc.origin(n)));
            }
            _ => {
                let s = scalar_string(n).unwrap_or_default();
                super::deferred::strategy(&s, doc.origin(n))?;
                linear = super::deferred::is_linear(&s);
            }
        }
    }
    super::keywords::check_become_method(doc, node)?;
    let vars_files = match node.get("vars_files") {
        None => Vec::new(),
        // `vars_files: null` is none, and one file name is a list of one,
        // as ansible-core takes them.
        Some(n) if n.is_null() => Vec::new(),
        Some(n) => {
            let one = std::slice::from_ref(n);
            let Some(items) = n.as_seq().or(n.as_str().map(|_| one)) else {
                return Err(LoadError::new(
                    doc.origin(n),
                    "`vars_files` must be a list of files",
                ));
            };
            let mut out = Vec::new();
            for i in items {
                let names = match &i.value {
                    Value::Str(s) => Some(vec![s.clone()]),
                    // The first found of a list, as ansible-core reads it.
                    Value::Seq(list) => list
                        .iter()
                        .map(|n| match &n.value {
                            Value::Str(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => None,
                };
                let Some(names) = names.filter(|n| !n.is_empty()) else {
                    return Err(LoadError::new(
                        doc.origin(i),
                        "each entry of `vars_files` must be a file name, or a list of them of which the first found is read",
                    ));
                };
                check_vars_file(doc, i, &names, playbook_dir)?;
                out.push(super::VarsFile {
                    names,
                    origin: doc.origin(i),
                });
            }
            out
        }
    };

    let mut play_tags: Vec<String> = node.get("tags").and_then(comma_list).unwrap_or_default();
    for t in &import.tags {
        if !play_tags.contains(t) {
            play_tags.push(t.clone());
        }
    }
    let inherited = Inherited {
        module_defaults: super::keywords::module_defaults(doc, node)?,
        when: import.when.clone(),
        tags: play_tags.clone(),
        become_,
        become_user: become_user.clone(),
        become_method: become_method.clone(),
        ignore_errors: node
            .get("ignore_errors")
            .and_then(|b| crate::truthy::as_bool(&b.to_json())),
        ignore_unreachable: super::keywords::yes_no(doc, node, "ignore_unreachable")?,
        // ansible-core's tasks inherit it from their play (`Base.run_once`).
        run_once: super::keywords::yes_no(doc, node, "run_once")?.unwrap_or(false),
        no_log: node
            .get("no_log")
            .and_then(|b| crate::truthy::as_bool(&b.to_json()))
            .or(cx.opts.no_log.then_some(true)),
        check_mode: super::keywords::yes_no(doc, node, "check_mode")?,
        diff: super::keywords::yes_no(doc, node, "diff")?,
        environment: node
            .get("environment")
            .map(Node::to_json)
            .into_iter()
            .collect(),
        any_errors_fatal,
        collections: node
            .get("collections")
            .and_then(comma_list)
            .unwrap_or_default(),
        ..Inherited::default()
    };
    let roles = RoleLoader::new(playbook_dir, &cx.opts.roles_path, &cx.opts.collections_path)
        .with_private_role_vars(cx.opts.private_role_vars)
        .with_load_vars(super::role::LoadVars {
            play: vars.clone(),
            extra: cx.opts.extra_vars.clone(),
        });
    let scope = TaskScope {
        role: None,
        base_dir: doc
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| playbook_dir.to_path_buf()),
        playbook_dir: playbook_dir.to_path_buf(),
        inherited: inherited.clone(),
        depth: 0,
        files: Vec::new(),
        roles: Some(roles.clone()),
        action_groups: roles.action_groups.clone(),
        in_handlers: false,
        in_handler_block: false,
    };
    let list = |key: &str| -> Result<Vec<Task>, LoadError> {
        match node.get(key) {
            Some(n) => {
                malformed_section(doc, n, key)?;
                parse_task_list(doc, n, &scope)
            }
            None => Ok(Vec::new()),
        }
    };

    if let Some(items) = node.get("roles").and_then(Node::as_seq) {
        roles.register_plugin_dirs(doc, items, &inherited);
    }
    let pre_tasks = list("pre_tasks")?;
    let roles_handlers_from = roles.handler_count();
    let mut main = Vec::new();
    // `roles: null` is no roles, as in ansible-core.
    if let Some(r) = node.get("roles").filter(|r| !r.is_null()) {
        let Some(items) = r.as_seq() else {
            // ansible-core's words, which scripts grep for.
            return Err(LoadError::new(
                doc.origin(r),
                "A malformed role declaration was encountered.",
            )
            .with_hint("`roles` is a list of role names or `- role: name` entries"));
        };
        for item in items {
            if let Some(name) = item.as_str().filter(|n| n.contains(',')) {
                return Err(LoadError::new(
                    doc.origin(item),
                    format!("Invalid old style role requirement: {name}"),
                )
                .with_hint("name one role per entry; give its parameters as `- role: name` with keys beside it"));
            }
            if let Some(applied) = roles.load(doc, item, &inherited, 0)? {
                main.extend(applied.tasks);
            }
        }
    }
    let roles_handlers_to = roles.handler_count();
    main.extend(list("tasks")?);
    let post_tasks = list("post_tasks")?;
    // An import's `when` is on the tasks, not the handlers (as ansible-core).
    let handler_scope = TaskScope {
        inherited: Inherited {
            when: Vec::new(),
            ..inherited.clone()
        },
        in_handlers: true,
        in_handler_block: false,
        ..scope.clone()
    };
    let play_handlers = match node.get("handlers") {
        Some(n) => {
            malformed_section(doc, n, "handlers")?;
            parse_task_list(doc, n, &handler_scope)?
        }
        None => Vec::new(),
    };
    let role_loader = roles.detached();
    let (instances, mut imported) = roles.finish();
    // As ansible-core orders them (which decides the handler a name picks,
    // see `engine::host::tasks::handlers_for`): the `roles:` section's
    // handlers, the play's own, then those of roles imported by tasks.
    let mut handlers: Vec<Task> = imported
        .drain(roles_handlers_from..roles_handlers_to)
        .collect();
    handlers.extend(play_handlers);
    handlers.extend(imported);

    let sections = vec![pre_tasks, main, post_tasks];
    check_notify(&sections, &handlers, cx)?;

    Ok(Play {
        name,
        hosts,
        hosts_written,
        origin: doc.origin(node),
        become_,
        become_user,
        become_method,
        ignore_unreachable: inherited.ignore_unreachable.unwrap_or(false),
        remote_user,
        connection,
        gather_facts,
        fact_path: node.get("fact_path").and_then(scalar_string),
        gather_when: import.when.clone(),
        environment: node
            .get("environment")
            .map(Node::to_json)
            .into_iter()
            .collect(),
        tags: play_tags,
        any_errors_fatal: any_errors_fatal.unwrap_or(false),
        max_fail_percentage,
        force_handlers,
        order,
        linear,
        deferred,
        serial,
        vars,
        vars_files,
        sections,
        handlers,
        roles: instances,
        role_loader,
    })
}

/// A `vars_files` entry written literally must be found now: otherwise every
/// host would fail on it at run time with the same message. (ansible-core
/// skips such an entry without a word, and the play runs without its
/// variables.) A templated name (`vars/{{ ansible_os_family }}.yml`) can only
/// be checked per host.
fn check_vars_file(
    doc: &Document,
    node: &Node,
    names: &[String],
    playbook_dir: &Path,
) -> Result<(), LoadError> {
    if names.iter().any(|n| rprov_template::is_template(n))
        || names
            .iter()
            .any(|n| super::find_vars_file(playbook_dir, n).is_some())
    {
        return Ok(());
    }
    let looked: Vec<String> = names
        .iter()
        .flat_map(|n| super::vars_file_candidates(playbook_dir, n))
        .map(|p| crate::diag::display_path(&p))
        .collect();
    let message = match names {
        [name] => {
            let path = playbook_dir.join(name);
            let what = if path.exists() {
                "is not a file"
            } else {
                "not found"
            };
            format!("vars file `{name}` {what}")
        }
        many => format!(
            "none of the vars files {} was found",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    // An encrypted vars file is made with the secrets command, not an editor.
    let create = match names.last() {
        Some(name) if name.ends_with(".age") => format!(
            "create it with `rprov secrets edit --file {}` (after `rprov secrets init` if you have no identity yet)",
            crate::diag::display_path(&playbook_dir.join(name))
        ),
        _ => "create the file".to_string(),
    };
    Err(LoadError::new(doc.origin(node), message).with_hint(format!(
        "looked for {}; `vars_files` paths are relative to the playbook's directory or its `vars/`: fix the name or {create}",
        looked.join(", ")
    )))
}

/// Every `notify:` should name a handler (or a `listen:` topic) of the play.
/// A typo here would silently skip a restart, and Ansible only finds out when
/// the task changes something, after it wrote its files: each such
/// notification is one warning naming the task before the run. As in
/// ansible-core the task fails only when it changes something (or, with
/// `error_on_missing_handler = False`, the notification does nothing):
/// third-party roles notify handlers that only some setups define.
/// A play with an `include_role` loaded at run time may get handlers only
/// then: its notifications are not checked here (one that names no handler
/// when it is made does nothing).
fn check_notify(sections: &[Vec<Task>], handlers: &[Task], cx: &mut Cx) -> Result<(), LoadError> {
    let mut known: HashSet<&str> = HashSet::new();
    for h in handlers {
        if let Some(n) = &h.name {
            known.insert(n.as_str());
        }
        for l in &h.listen {
            known.insert(l.as_str());
        }
    }
    fn walk<'a>(
        tasks: &'a [Task],
        f: &mut dyn FnMut(&'a Task) -> Result<(), LoadError>,
    ) -> Result<(), LoadError> {
        for t in tasks {
            f(t)?;
            if let Some(b) = &t.block {
                walk(&b.block, f)?;
                walk(&b.rescue, f)?;
                walk(&b.always, f)?;
            }
        }
        Ok(())
    }
    // A handler whose name is a template is named only at run time.
    let mut dynamic = handlers
        .iter()
        .any(|h| h.name.as_deref().is_some_and(|n| n.contains("{{")));
    let mut find = |t: &Task| -> Result<(), LoadError> {
        dynamic |= t.role_include.is_some();
        Ok(())
    };
    for s in sections {
        walk(s, &mut find)?;
    }
    walk(handlers, &mut find)?;
    let warnings = &mut *cx.warnings;
    let deprecations = &mut *cx.deprecations;
    let mut check = |t: &Task| -> Result<(), LoadError> {
        // ansible-core 2.19 still renders a conditional written as a
        // template, and says it will stop.
        for cond in t
            .when
            .iter()
            .filter(|c| c.contains("{{") || c.contains("{%"))
        {
            let msg = format!(
                "Conditionals should not be surrounded by templating delimiters such as {{{{ }}}} or {{% %}}. This feature will be removed from ansible-core version 2.23.\nOrigin: {} (`when: {cond}`)",
                t.origin
            );
            if !deprecations
                .iter()
                .any(|d| d.ends_with(&format!("(`when: {cond}`)")))
            {
                deprecations.push(msg);
            }
        }
        for n in &t.notify {
            if dynamic || n.contains("{{") || handlers.iter().any(|h| h.answers(n)) {
                continue;
            }
            let hint = match did_you_mean(n, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if known.is_empty() => "this play has no handlers".to_string(),
                None => format!("handlers of this play: {}", sorted(&known).join(", ")),
            };
            let task = t.name.as_deref().map_or_else(
                || "a task without a name".to_string(),
                |name| format!("task `{name}`"),
            );
            // Said before the run; as ansible-core, the task fails only
            // when it changes something (see `HostRunner::notify`).
            let then = if cx.opts.error_on_missing_handler {
                "if it changes something, it fails in ansible-core's words (`The requested handler … was not found`; `error_on_missing_handler = False` in ansible.cfg makes that a warning)"
            } else {
                "the notification does nothing"
            };
            warnings.push(format!(
                "{}: {task} notifies `{n}`, but no handler has that name or listens to it; {then} ({hint})",
                t.origin
            ));
        }
        Ok(())
    };
    for s in sections {
        walk(s, &mut check)?;
    }
    walk(handlers, &mut check)
}

fn sorted<'a>(set: &HashSet<&'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = set.iter().copied().collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    /// The play's `gather_subset` and `gather_timeout` load, checked as
    /// `setup` checks its arguments (rprov gathers its whole fact set
    /// whatever the subset).
    #[test]
    fn gather_subset_and_timeout_of_a_play_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pb = dir.path().join("site.yml");
        let load = |keys: &str| {
            std::fs::write(&pb, format!("- hosts: all\n{keys}  tasks: []\n")).expect("write");
            super::load_playbook(&pb)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            load("  gather_subset: ['!all', min, network]\n  gather_timeout: 10\n"),
            Ok(())
        );
        assert_eq!(load("  gather_subset: '!hardware,virtual'\n"), Ok(()));
        let e = load("  gather_subset: [netwrk]\n").expect_err("a subset ansible-core lacks");
        assert!(e.contains("Bad subset 'netwrk' given to Ansible"), "{e}");
        let e = load("  gather_timeout: soon\n").expect_err("no number");
        assert!(e.contains("whole number of seconds"), "{e}");
    }
}
