//! `include_vars`: variables from YAML/JSON files on the controller, for this
//! host and the rest of the run, at Ansible's include_vars precedence (above
//! task vars, below set_fact and registered results; see `HostRunner::layers`).
//!
//! As Ansible's action plugin: one file (`file:` or free-form text) found
//! the way `_find_needle('vars', …)` finds it, or every file of a directory
//! (`dir:`, in name order, with `depth`, `files_matching`, `ignore_files`,
//! `extensions`, `ignore_unknown_extensions`), all under `name:` if given.
//! Values are kept as written and rendered when used, as Ansible's are.
//! Vault and age files are read as `vars_files` are (their values masked).
//! It runs in check mode too: it only reads the controller's files.

use std::path::Path;

use super::*;
use crate::modules::args::Kind;
use crate::modules::typed::{choice, module_args, ArgValue};

choice! {
    /// How the variables meet ones of the same name: replaced, or merged
    /// (mappings recursively, as Ansible's `combine`).
    pub enum HashBehaviour { Replace = "replace", Merge = "merge" }
}

module_args! {
    /// `include_vars`'s arguments (the file may also be its free-form text,
    /// under `_raw_params`).
    pub struct Args {
        file: Option<String> ["file"],
        dir: Option<String> ["dir"],
        /// Puts every variable under this one name.
        name: Option<String> ["name"],
        /// How deep `dir` is walked (0: all the way).
        depth: u64 ["depth"] = 0,
        files_matching: Option<String> ["files_matching"],
        ignore_files: Words ["ignore_files"] = Words(Vec::new()),
        extensions: Option<Words> ["extensions"],
        ignore_unknown_extensions: bool ["ignore_unknown_extensions"] = false,
        hash_behaviour: HashBehaviour ["hash_behaviour"] = HashBehaviour::Replace,
    }
}

/// A list as `include_vars` takes one: a list (an item that is not text
/// as its JSON text), or words in one string, split at commas and spaces.
#[derive(Clone, Debug)]
pub struct Words(Vec<String>);

impl ArgValue for Words {
    const KIND: Kind = Kind::List;
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Array(a) => Ok(Words(
                a.iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect(),
            )),
            Json::String(s) => Ok(Words(
                s.split([',', ' '])
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect(),
            )),
            other => Err(format!("must be a list, got {other}")),
        }
    }
}

/// Arguments that choose one file, and those that choose a directory.
const FILE_ARGS: &[&str] = &["file", "_raw_params"];
const DIR_ARGS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];

pub(super) fn run(h: &mut HostRunner, task: &Task, layer: &Vars) -> Local {
    let args = match mapping_args(h, task, layer) {
        Ok(args) => args,
        Err(msg) => return ItemOutcome::failed(msg).into(),
    };
    let args = split_raw(args);
    let loaded = match Args::parse("include_vars", &args)
        .map_err(|e| match e {
            crate::modules::PlanError::Fail(m) => m,
            other => format!("{other:?}"),
        })
        .and_then(|typed| load(h, task, &args, &typed).map(|l| (l, typed)))
    {
        Ok(l) => l,
        Err(msg) => {
            let mut o = ItemOutcome::failed(format!("{}: {msg}", task.origin));
            o.result.insert("message".into(), json!(msg));
            return o.into();
        }
    };
    let (
        Included {
            mut vars,
            files,
            encrypted,
        },
        typed,
    ) = loaded;
    if let Some(name) = typed.name {
        let all: Map<String, Json> = vars.into_iter().collect();
        vars = Vars::new();
        vars.insert(name, Json::Object(all));
    }
    if typed.hash_behaviour == HashBehaviour::Merge {
        let merged: Vars = h.with_resolver(task, layer, |_, r| {
            vars.iter()
                .map(|(k, v)| {
                    let now = r.resolve(k).and_then(Result::ok);
                    let v = match now {
                        Some(old) => merge(old, v.clone()),
                        None => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect()
        });
        vars = merged;
    }
    let facts = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    h.take_facts(task, FactsKind::IncludeVars, facts);
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert(
        "ansible_facts".into(),
        Json::Object(vars.into_iter().collect()),
    );
    result.insert(
        "ansible_included_var_files".into(),
        json!(files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()),
    );
    let mut outcome = ItemOutcome::new(Status::Ok, result);
    outcome.hidden = encrypted;
    outcome.into()
}

/// `include_vars: file=a.yml name=x` written as text: its `key=value` words
/// are arguments, the rest the file (as Ansible's `parse_kv` splits it).
fn split_raw(mut args: Map<String, Json>) -> Map<String, Json> {
    let Some(Json::String(raw)) = args.get("_raw_params").cloned() else {
        return args;
    };
    let words = crate::playbook::parse_free_form(&raw, false);
    if words.keys().all(|k| k == "_raw_params") {
        return args;
    }
    args.remove("_raw_params");
    for (k, v) in words {
        args.entry(k).or_insert(v);
    }
    args
}

struct Included {
    vars: Vars,
    files: Vec<PathBuf>,
    /// A file was encrypted: the whole result is hidden, as ansible-core
    /// hides it (its values are masked anyway; the others could say what
    /// they go with).
    encrypted: bool,
}

/// The variables the task names. `args` (the mapping the task wrote) says
/// which arguments were given at all, null ones too; `typed` their values.
fn load(
    h: &mut HostRunner,
    task: &Task,
    args: &Map<String, Json>,
    typed: &Args,
) -> Result<Included, String> {
    let dirs = args.keys().any(|k| DIR_ARGS.contains(&k.as_str()));
    let files = args.keys().any(|k| FILE_ARGS.contains(&k.as_str()));
    if dirs && files {
        return Err(
            "`file` (or free-form text) and `dir` options cannot be mixed: use one file, or one directory"
                .into(),
        );
    }
    let mut out = Included {
        vars: Vars::new(),
        files: Vec::new(),
        encrypted: false,
    };
    if let Some(dir) = &typed.dir {
        let root = dir_root(h, task, dir);
        if !root.exists() {
            return Err(format!("{} directory does not exist", root.display()));
        }
        if !root.is_dir() {
            return Err(format!("{} is not a directory", root.display()));
        }
        let opts = DirOptions::from_args(typed)?;
        let role_main = task
            .role
            .as_ref()
            .map(|r| r.own.path.join("vars").join("main.yml"));
        for path in walk(&root, opts.depth)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if role_main.as_deref() == Some(path.as_path()) {
                continue;
            }
            if opts.matching.as_ref().is_some_and(|m| !m.is_match(name))
                || opts.ignore.iter().any(|re| re.is_match(name))
            {
                continue;
            }
            // Python's `splitext`: a name with no dot (or only a leading
            // one) has the extension "", which `extensions: ['']` allows.
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let ext_ok = opts.extensions.iter().any(|x| x == ext);
            if !ext_ok {
                if opts.ignore_unknown {
                    continue;
                }
                return Err(format!(
                    "{} does not have a valid extension: {}",
                    path.display(),
                    opts.extensions.join(", ")
                ));
            }
            read_into(h, &path, &mut out)?;
        }
        return Ok(out);
    }
    let raw = args.get("_raw_params").and_then(Json::as_str);
    let Some(file) = typed.file.as_deref().or(raw) else {
        // `file:` given but null (a lookup with `errors='ignore'` that
        // found nothing): ansible-core's words for a file it cannot find.
        if args.get("file").is_some_and(Json::is_null) {
            return Err("Could not find file on the Ansible Controller.\n\
                 If you are using a module and expect the file to exist on the remote, \
                 see the remote_src option"
                .into());
        }
        return Err(
            "give a file (`file:` or the file name as text) or a directory (`dir:`)".into(),
        );
    };
    let file = file.trim_end_matches('\n').to_string();
    let path = find_file(h, task, &file)?;
    read_into(h, &path, &mut out)?;
    Ok(out)
}

/// Reads one vars file into `out` (later files win, key by key).
fn read_into(h: &mut HostRunner, path: &Path, out: &mut Included) -> Result<(), String> {
    let shown = crate::diag::display_path(path);
    let loaded = crate::varsfile::load(
        path,
        &h.shared.identities,
        h.shared.vault_password.as_deref(),
    )
    .map_err(|e| format!("vars file {shown}: {e}"))?;
    if let Some(secrets) = loaded.secrets {
        h.shared.reporter.add_secrets(secrets);
        h.vars.literal = h.shared.literal_values();
        out.encrypted = true;
    }
    out.vars.extend(loaded.vars);
    out.files.push(path.to_path_buf());
    Ok(())
}

/// Where a relative file is found, as Ansible's `_find_needle('vars', file)`:
/// the task's role and the roles that brought it in (each's `vars/`, then
/// itself), the task file's folder (its `vars/`, then itself), then the
/// playbook's folder (the same). The first that exists wins.
fn candidates(h: &HostRunner, task: &Task, file: &str) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(role) = &task.role {
        roots.push(role.own.path.clone());
        roots.extend(role.parents.iter().rev().map(|p| p.path.clone()));
    }
    if let Some(dir) = task.origin.path.parent() {
        if !roots.iter().any(|r| r == dir) {
            roots.push(dir.to_path_buf());
        }
    }
    roots.push(h.shared.playbook.dir.clone());
    let under_vars = file.split('/').next() == Some("vars");
    let mut out = Vec::new();
    for root in roots {
        if !under_vars {
            out.push(root.join("vars").join(file));
        }
        out.push(root.join(file));
    }
    out
}

fn find_file(h: &HostRunner, task: &Task, file: &str) -> Result<PathBuf, String> {
    if file.is_empty() {
        return Err("the file name is empty".into());
    }
    let path = Path::new(file);
    if path.is_absolute() {
        return if path.exists() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("could not find or access `{file}`"))
        };
    }
    let tried = candidates(h, task, file);
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(format!(
            "could not find or access `{file}`; searched:\n{}",
            tried
                .iter()
                .map(|p| format!("  {}", crate::diag::display_path(p)))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

/// A relative `dir:`: in a role, under its `vars/` (`vars/x` as written);
/// elsewhere, next to the task's file.
fn dir_root(h: &HostRunner, task: &Task, dir: &str) -> PathBuf {
    let _ = h;
    match &task.role {
        Some(role) if dir.split('/').next() == Some("vars") => {
            let p = role.own.path.join(dir);
            if p.exists() {
                p
            } else {
                PathBuf::from(dir)
            }
        }
        Some(role) => role.own.path.join("vars").join(dir),
        None => match task.origin.path.parent() {
            Some(d) => d.join(dir),
            None => PathBuf::from(dir),
        },
    }
}

struct DirOptions {
    depth: usize,
    matching: Option<regex::Regex>,
    ignore: Vec<regex::Regex>,
    extensions: Vec<String>,
    ignore_unknown: bool,
}

impl DirOptions {
    fn from_args(args: &Args) -> Result<Self, String> {
        let matching = match &args.files_matching {
            Some(p) => Some(
                regex::Regex::new(p)
                    .map_err(|e| format!("`files_matching`: invalid regular expression: {e}"))?,
            ),
            None => None,
        };
        let ignore = args
            .ignore_files
            .0
            .iter()
            .map(|p| {
                regex::Regex::new(&format!("(?:{p})$"))
                    .map_err(|_| format!("Invalid regular expression: {p}"))
            })
            .collect::<Result<_, _>>()?;
        let extensions = match &args.extensions {
            None => vec!["yaml".into(), "yml".into(), "json".into()],
            Some(Words(w)) => w.clone(),
        };
        Ok(DirOptions {
            depth: usize::try_from(args.depth).unwrap_or(usize::MAX),
            matching,
            ignore,
            extensions,
            ignore_unknown: args.ignore_unknown_extensions,
        })
    }
}

/// Files under `root`, folder by folder in name order (a folder's files
/// before its subfolders'), down to `depth` levels (0: all), as Ansible's
/// sorted walk.
fn walk(root: &Path, depth: usize) -> Result<Vec<PathBuf>, String> {
    let mut dirs: Vec<(PathBuf, usize)> = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 1usize)];
    while let Some((dir, level)) = stack.pop() {
        if depth != 0 && level > depth {
            continue;
        }
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push((p, level + 1));
            }
        }
        dirs.push((dir, level));
    }
    dirs.sort();
    let mut files = Vec::new();
    for (dir, _) in dirs {
        let mut here: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        here.sort();
        files.extend(here);
    }
    Ok(files)
}

/// `hash_behaviour: merge`: mappings merged key by key, recursively.
fn merge(old: Json, new: Json) -> Json {
    match (old, new) {
        (Json::Object(mut a), Json::Object(b)) => {
            for (k, v) in b {
                let merged = match a.remove(&k) {
                    Some(o) => merge(o, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            Json::Object(a)
        }
        (_, new) => new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_options_is_split() {
        let mut m = Map::new();
        m.insert("_raw_params".into(), json!("file=a.yml name=x"));
        let a = split_raw(m);
        assert_eq!(a.get("file"), Some(&json!("a.yml")));
        assert_eq!(a.get("name"), Some(&json!("x")));
        let mut m = Map::new();
        m.insert("_raw_params".into(), json!("/tmp/out/special_vars.yaml"));
        assert_eq!(
            split_raw(m).get("_raw_params"),
            Some(&json!("/tmp/out/special_vars.yaml"))
        );
    }

    #[test]
    fn walk_goes_folder_by_folder_in_name_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b/c")).unwrap();
        for f in ["z.yml", "a.yml", "b/x.yml", "b/c/y.yml"] {
            std::fs::write(d.path().join(f), "k: 1\n").unwrap();
        }
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(d.path()).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            names(walk(d.path(), 0).unwrap()),
            ["a.yml", "z.yml", "b/x.yml", "b/c/y.yml"]
        );
        assert_eq!(names(walk(d.path(), 1).unwrap()), ["a.yml", "z.yml"]);
    }

    #[test]
    fn typed_arguments_keep_include_vars_lists() {
        let Json::Object(m) =
            json!({"dir": "d", "extensions": "yml json,", "hash_behaviour": "merge"})
        else {
            unreachable!("a mapping")
        };
        let a = Args::parse("include_vars", &m).unwrap();
        assert_eq!(
            a.extensions.map(|w| w.0),
            Some(vec!["yml".into(), "json".into()])
        );
        assert_eq!(a.hash_behaviour, HashBehaviour::Merge);
        assert_eq!(a.depth, 0);
        let Json::Object(m) = json!({"file": "x", "hash_behaviour": "combine"}) else {
            unreachable!("a mapping")
        };
        assert!(Args::parse("include_vars", &m).is_err());
    }

    #[test]
    fn merge_is_recursive() {
        let m = merge(
            json!({"a": {"x": 1, "y": 2}, "b": 1}),
            json!({"a": {"y": 3}}),
        );
        assert_eq!(m, json!({"a": {"x": 1, "y": 3}, "b": 1}));
    }
}
