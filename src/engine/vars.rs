//! Variable lookup with Ansible's lazy templating, without rendering the world.
//!
//! Ansible renders a variable only when it is used, so `data_dir: "/srv/{{ app }}"`
//! in role defaults sees the `app` of the host at hand. rprov does the same:
//! variables live in precedence layers (lowest first) as written, and a task's
//! context holds only the names its templates mention, each rendered on demand
//! with the names *its* value mentions, recursively. A task that uses three
//! variables costs three renders, whatever the size of the inventory.
//!
//! In check mode some values are not known: a command's registered result
//! (it did not run) and whatever is computed from it. Such a variable holds
//! [`unknown_value`], and the resolver refuses to render it. Because every
//! template, condition, loop and template file gets its values here, anything
//! that uses an unknown value — directly or through other variables, however
//! deep — fails to render with [`TemplateErrorKind::NotKnown`], and the
//! refusal is noted in [`Refusals`] so the executor reports the task as
//! `unknown` whichever way the error travelled. Evaluating against a guessed
//! stand-in instead would turn `'ok' in out.stdout` into a false failure.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rprov_template::{TemplateError, TemplateErrorKind, Templater};
use serde_json::{json, Map, Value as Json};

use crate::playbook::Vars;

/// Names a template refers to, cached by source text (shared by all hosts).
#[derive(Default)]
pub struct NamesCache {
    map: Mutex<HashMap<String, Arc<Vec<String>>>>,
}

impl NamesCache {
    /// Top-level variable names used by a template string or bare expression.
    pub fn names(&self, templater: &Templater, source: &str, is_expr: bool) -> Arc<Vec<String>> {
        let key = if is_expr {
            format!("\u{1}{source}")
        } else {
            source.to_string()
        };
        if let Ok(map) = self.map.lock() {
            if let Some(n) = map.get(&key) {
                return n.clone();
            }
        }
        let env = templater.environment();
        let set: HashSet<String> = if is_expr {
            let trimmed = source.trim();
            let inner = trimmed
                .strip_prefix("{{")
                .and_then(|s| s.strip_suffix("}}"))
                .unwrap_or(trimmed);
            env.compile_expression(inner)
                .map(|e| e.undeclared_variables(false))
                .unwrap_or_default()
        } else {
            env.template_from_str(source)
                .map(|t| t.undeclared_variables(false))
                .unwrap_or_default()
        };
        let mut names: Vec<String> = set.into_iter().collect();
        // A lookup's arguments written as templates are rendered too.
        for text in rprov_template::trust::lookup_arg_texts(source) {
            names.extend(
                env.template_from_str(&text)
                    .map(|t| t.undeclared_variables(false))
                    .unwrap_or_default(),
            );
        }
        if source.contains('[') && source.contains(':') {
            names.extend(maybe_sliced(source));
        }
        // The `first_found`, `file`, `unvault` and `ini` lookups search from
        // the task's search path (its roles, its folder, the playbook's),
        // `pipe` and `lines` run from the playbook's directory: they read
        // these, which the template itself does not name.
        if [
            "first_found",
            "file",
            "fileglob",
            "pipe",
            "lines",
            "unvault",
            "'ini'",
            "\"ini\"",
        ]
        .iter()
        .any(|l| source.contains(l))
        {
            names.extend(["role_path", "playbook_dir", "ansible_search_path"].map(String::from));
        }
        // `inventory_hostnames` matches its patterns against `groups`.
        if source.contains("inventory_hostnames") {
            names.push("groups".to_string());
        }
        // `lookup('vars', 'name')` names its variables in text: each quoted
        // word that could be a variable's name is asked for too (one that
        // does not resolve is left out of the context).
        if source.contains("'vars'") || source.contains("\"vars\"") {
            names.extend(quoted_names(source));
            // A name given by a variable (`lookup('vars', item)`) can be any.
            names.push(ALL_NAMES.to_string());
        }
        // `config` answers a setting a variable sets (`ansible_ssh_user`
        // for the ssh connection's `remote_user`), by names the template
        // does not hold.
        if source.contains("'config'") || source.contains("\"config\"") {
            names.push(ALL_NAMES.to_string());
        }
        // `vars` is every variable, as a mapping (`vars['app_' + name]`).
        if names.iter().any(|n| n == "vars") {
            names.push(ALL_NAMES.to_string());
        }
        // `lookup('varnames', regex)` lists the variables themselves, and
        // a `template` lookup's file may name any.
        if source.contains("varnames")
            || source.contains("'template'")
            || source.contains("\"template\"")
        {
            names.push(ALL_NAMES.to_string());
        }
        // A lookup rprov lacks runs in Python (`modules::ansible_jinja`),
        // which is given the task's variables: any of them.
        if calls_python_lookup(source) {
            names.push(ALL_NAMES.to_string());
        }
        // A `template` lookup's file may read other hosts' variables too
        // (`hostvars`, which no layer holds).
        if source.contains("'template'") || source.contains("\"template\"") {
            names.push(format!("{MAYBE}hostvars"));
        }
        names.sort();
        names.dedup();
        let names = Arc::new(names);
        if let Ok(mut map) = self.map.lock() {
            map.insert(key, names.clone());
        }
        names
    }
}

/// The name that stands for every variable in [`NamesCache::names`]: not
/// one a template can use.
pub(crate) const ALL_NAMES: &str = "*";

/// Marks a name in [`NamesCache::names`] the template may use: its value is
/// given when it renders, and left out otherwise (and it is not reported as
/// used). `?` starts no variable's name.
pub(crate) const MAYBE: char = '?';

/// Every name a template with a slice may use, each marked [`MAYBE`]:
/// minijinja (3.0.5) does not look inside the sliced value for the names a
/// template uses, so `{{ key[:-7] }}` would get no `key` and render as
/// undefined. Each identifier outside quotes that is no attribute, filter,
/// test or keyword is one.
fn maybe_sliced(source: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "and", "or", "not", "in", "is", "if", "else", "for", "endfor", "endif", "true", "false",
        "none", "True", "False", "None", "set", "endset", "elif", "loop",
    ];
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    // What came before the current word, spaces skipped.
    let mut before = ' ';
    let mut last_word = String::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
                before = c;
            }
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::from(c);
            while let Some(&n) = chars
                .peek()
                .filter(|n| n.is_ascii_alphanumeric() || **n == '_')
            {
                word.push(n);
                chars.next();
            }
            let named = !matches!(before, '.' | '|')
                && last_word != "is"
                && !KEYWORDS.contains(&word.as_str());
            if named {
                out.push(format!("{MAYBE}{word}"));
            }
            before = 'a';
            last_word = word;
            continue;
        }
        if !c.is_whitespace() {
            before = c;
            last_word.clear();
        }
    }
    out
}

/// The quoted words given to a `vars` lookup as the names of variables
/// (`lookup('vars', 'ansible_host', default='x')` names `ansible_host`).
/// Whether `source` calls `lookup`, `query` or `q` with a lookup name that
/// is none of rprov's own (written as a literal string).
fn calls_python_lookup(source: &str) -> bool {
    ["lookup(", "query(", "q("].iter().any(|call| {
        source.match_indices(call).any(|(at, _)| {
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c == '_' || c == '.' || c.is_alphanumeric()) {
                return false;
            }
            let rest = source[at + call.len()..].trim_start();
            let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                return false;
            };
            let name = rest[1..].split(quote).next().unwrap_or_default();
            !rprov_template::lookup::LOOKUPS.contains(&rprov_template::lookup::short_name(name))
        })
    })
}

fn quoted_names(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in source
        .match_indices("'vars'")
        .chain(source.match_indices("\"vars\""))
    {
        // The rest of the call: up to its closing parenthesis.
        let call = &source[at + 6..];
        let mut depth = 0usize;
        let end = call
            .char_indices()
            .find(|&(_, c)| match c {
                '(' | '[' => {
                    depth += 1;
                    false
                }
                ')' | ']' if depth == 0 => true,
                ')' | ']' => {
                    depth -= 1;
                    false
                }
                _ => false,
            })
            .map_or(call.len(), |(i, _)| i);
        let mut rest = &call[..end];
        while let Some(q) = rest.find(['\'', '"']) {
            let quote = if rest[q..].starts_with('"') {
                '"'
            } else {
                '\''
            };
            let keyword_value = rest[..q].trim_end().ends_with('=');
            let after = &rest[q + 1..];
            let Some(close) = after.find(quote) else {
                break;
            };
            let word = &after[..close];
            let is_name = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            // A whole argument, not a part of one (`'app_' ~ name`).
            let whole = rest[..q].trim_end().ends_with(',')
                && after[close + 1..]
                    .trim_start()
                    .chars()
                    .next()
                    .is_none_or(|c| c == ',');
            if is_name && whole && !keyword_value {
                out.push(word.to_string());
            }
            rest = &after[close + 1..];
        }
    }
    out
}

pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Collects the names used by every template string inside `v`.
pub fn names_in_value(
    v: &Json,
    templater: &Templater,
    cache: &NamesCache,
    out: &mut HashSet<String>,
) {
    names_in_value_keeping(v, templater, cache, out, &|_| false)
}

/// [`names_in_value`], skipping the strings for which `literal` is true.
fn names_in_value_keeping(
    v: &Json,
    templater: &Templater,
    cache: &NamesCache,
    out: &mut HashSet<String>,
    literal: &dyn Fn(&str) -> bool,
) {
    match v {
        Json::String(s) if is_template(s) && !literal(s) => {
            out.extend(cache.names(templater, s, false).iter().cloned())
        }
        Json::Array(items) => items
            .iter()
            .for_each(|i| names_in_value_keeping(i, templater, cache, out, literal)),
        Json::Object(m) => m.iter().for_each(|(k, v)| {
            if is_template(k) && !literal(k) {
                out.extend(cache.names(templater, k, false).iter().cloned());
            }
            names_in_value_keeping(v, templater, cache, out, literal)
        }),
        _ => {}
    }
}

/// The key of [`unknown_value`]'s single entry.
const UNKNOWN_KEY: &str = "__rprov_unknown";

/// What a variable holds while its value is not known: the registered result
/// of a task that did not run in check mode, or a `set_fact` computed from
/// one. `root` names that registered result.
pub fn unknown_value(root: &str) -> Json {
    json!({ UNKNOWN_KEY: root })
}

/// The root of an [`unknown_value`], or `None` for a real value.
fn unknown_root(v: &Json) -> Option<&str> {
    match v {
        Json::Object(m) if m.len() == 1 => m.get(UNKNOWN_KEY)?.as_str(),
        _ => None,
    }
}

/// A value the resolver was asked for and could not give: `name` holds an
/// [`unknown_value`] whose root is `root`, reached from the variables in `via`
/// (outermost first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub name: String,
    pub root: String,
    pub via: Vec<String>,
}

impl Refusal {
    /// `depends on `x` → `fact` → `out`, which is not known in check mode`.
    pub fn describe(&self) -> String {
        let mut chain: Vec<&str> = self.via.iter().map(String::as_str).collect();
        chain.push(&self.name);
        if self.root != self.name {
            chain.push(&self.root);
        }
        let chain: Vec<String> = chain.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "depends on {}, which is not known in check mode",
            chain.join(" → ")
        )
    }
}

/// The first value not known that resolvers were asked for since the last
/// [`Refusals::take`]. The executor clears it before evaluating a task item
/// and reads it after: an item that needed such a value is `unknown`, even
/// where its evaluation turned the error into text (`debug: var=`) or into a
/// failure message.
#[derive(Default)]
pub struct Refusals {
    first: Mutex<Option<Refusal>>,
}

impl Refusals {
    fn note(&self, r: Refusal) {
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(r);
        }
    }

    /// The first refusal noted, clearing it.
    pub fn take(&self) -> Option<Refusal> {
        self.replace(None)
    }

    /// Puts `r` back (after work whose refusals do not count, such as the
    /// lookahead), returning what was noted meanwhile.
    pub fn replace(&self, r: Option<Refusal>) -> Option<Refusal> {
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut first, r)
    }
}

/// Whether a secret value must be kept from the template engine: it holds
/// something the engine would read as template syntax.
pub fn looks_like_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Where `hostvars` comes from: every host's variables, expensive to build.
pub trait HostvarsSource {
    fn hostvars(&self) -> Json;
}

/// A stack of variable layers for one host and task, lowest precedence first.
pub struct Resolver<'a> {
    layers: Vec<&'a Vars>,
    /// Layers whose values are results already (facts, set_fact, register):
    /// returned as they are, never rendered again. Compared by address.
    final_layers: Vec<&'a Vars>,
    /// Secret values with template syntax in them: kept as they are wherever
    /// they occur (see [`looks_like_template`]).
    literal: Option<&'a HashSet<String>>,
    /// Supplies `hostvars` when a template uses it (built once per run, on demand).
    hostvars: Option<&'a dyn HostvarsSource>,
    /// Where refusals of values not known are noted.
    refusals: Option<&'a Refusals>,
    /// Layers whose values ansible-core does not trust as expressions
    /// (facts, registered results): see [`Resolver::trusts`].
    untrusted_layers: Vec<&'a Vars>,
    /// Names in those layers whose values are trusted all the same (a
    /// `set_fact` of text written in the playbook).
    trusted_names: Option<&'a HashSet<String>>,
    templater: &'a Templater,
    cache: &'a NamesCache,
    /// ansible.cfg's `hash_behaviour = merge`: see [`Resolver::with_hash_merge`].
    hash_merge: bool,
    memo: RefCell<HashMap<String, Result<Json, TemplateError>>>,
    resolving: RefCell<Vec<String>>,
}

impl<'a> Resolver<'a> {
    pub fn new(layers: Vec<&'a Vars>, templater: &'a Templater, cache: &'a NamesCache) -> Self {
        Resolver {
            layers,
            final_layers: Vec::new(),
            literal: None,
            hostvars: None,
            refusals: None,
            untrusted_layers: Vec::new(),
            trusted_names: None,
            templater,
            cache,
            hash_merge: false,
            memo: RefCell::new(HashMap::new()),
            resolving: RefCell::new(Vec::new()),
        }
    }

    pub fn with_hostvars(mut self, src: &'a dyn HostvarsSource) -> Self {
        self.hostvars = Some(src);
        self
    }

    pub fn with_refusals(mut self, log: &'a Refusals) -> Self {
        self.refusals = Some(log);
        self
    }

    /// Values equal to one of `values` are never rendered.
    pub fn with_literal(mut self, values: &'a HashSet<String>) -> Self {
        self.literal = Some(values);
        self
    }

    /// Values from these layers (also among `layers`) are never rendered.
    pub fn with_final_layers(mut self, layers: &[&'a Vars]) -> Self {
        self.final_layers.extend_from_slice(layers);
        self
    }

    /// Values from these layers (also among `layers`) are not trusted as
    /// expressions, but for the names in `trusted` (see [`Resolver::trusts`]).
    pub fn with_untrusted(
        mut self,
        layers: &[&'a Vars],
        trusted: Option<&'a HashSet<String>>,
    ) -> Self {
        self.untrusted_layers.extend_from_slice(layers);
        if trusted.is_some() {
            self.trusted_names = trusted;
        }
        self
    }

    /// Whether ansible-core would trust the text held by variable `name` as
    /// an expression (`when: "{{ name }}"` evaluates that text in turn):
    /// text written in the playbook, a role, a vars file, the inventory or
    /// `-e` is trusted; facts and registered results are not (their layers
    /// are [`Resolver::with_untrusted`]), nor is what a template in the
    /// variable's value computed, while a value that only fetches another
    /// variable (`x: "{{ y }}"`) is as trusted as that one.
    pub fn trusts(&self, name: &str) -> bool {
        let mut name = name.to_string();
        // A chain of variables that only fetch one another, bounded as
        // rendering them is.
        for _ in 0..MAX_DEPTH {
            let Some(layer) = self.layers.iter().rev().find(|l| l.contains_key(&name)) else {
                // Magic variables and `hostvars`: ansible-core's own.
                return true;
            };
            if self
                .untrusted_layers
                .iter()
                .any(|u| std::ptr::eq(*u, *layer))
            {
                return self.trusted_names.is_some_and(|t| t.contains(&name));
            }
            let is_final = self.final_layers.iter().any(|f| std::ptr::eq(*f, *layer));
            match layer.get(&name) {
                Some(Json::String(s)) if !is_final && is_template(s) && !self.is_literal(s) => {
                    match rprov_template::trust::fetched_variable(s) {
                        Some(next) if next != name => name = next.to_string(),
                        _ => return false,
                    }
                }
                _ => return true,
            }
        }
        false
    }

    /// With `on`, a variable that is a mapping in several layers is their
    /// deep merge (ansible.cfg's `hash_behaviour = merge`).
    pub fn with_hash_merge(mut self, on: bool) -> Self {
        self.hash_merge = on;
        self
    }

    /// The value as written in the highest layer that has it, and whether it
    /// is final (never rendered). Under `hash_behaviour = merge`, a mapping
    /// is merged over the mappings of the layers below it, down to the first
    /// layer whose value is no mapping, as ansible-core's `combine_vars`
    /// folds the layers; the result is final only if all its parts are.
    fn raw(&self, name: &str) -> Option<(Cow<'a, Json>, bool)> {
        let is_final = |l: &Vars| self.final_layers.iter().any(|f| std::ptr::eq(*f, l));
        let mut found = self
            .layers
            .iter()
            .rev()
            .filter_map(|l| l.get(name).map(|v| (v, is_final(l))));
        let (top, top_final) = found.next()?;
        if !self.hash_merge || !top.is_object() || unknown_root(top).is_some() {
            return Some((Cow::Borrowed(top), top_final));
        }
        let mut parts = vec![(top, top_final)];
        for (v, fin) in found {
            if !v.is_object() || unknown_root(v).is_some() {
                break;
            }
            parts.push((v, fin));
        }
        if parts.len() == 1 {
            return Some((Cow::Borrowed(top), top_final));
        }
        let all_final = parts.iter().all(|(_, f)| *f);
        let mut merged = Json::Object(Map::new());
        for (v, _) in parts.into_iter().rev() {
            rprov_inventory::merge_value(&mut merged, v);
        }
        Some((Cow::Owned(merged), all_final))
    }

    /// The value of variable `name` as written, not rendered (a result's
    /// value as it was set); `None` when no layer defines it.
    pub fn written(&self, name: &str) -> Option<Json> {
        self.raw(name).map(|(v, _)| v.into_owned())
    }

    fn is_literal(&self, s: &str) -> bool {
        self.literal.is_some_and(|set| set.contains(s))
    }

    /// The rendered value of a variable; `None` when no layer defines it.
    pub fn resolve(&self, name: &str) -> Option<Result<Json, TemplateError>> {
        let Some((raw, is_final)) = self.raw(name) else {
            return match (name, self.hostvars) {
                ("hostvars", Some(src)) => Some(Ok(src.hostvars())),
                _ => None,
            };
        };
        let raw: &Json = &raw;
        if let Some(root) = unknown_root(raw) {
            return Some(Err(self.refuse(name, root)));
        }
        let literal = |s: &str| self.is_literal(s);
        if is_final || !contains_template(raw, &literal) {
            return Some(Ok(raw.clone()));
        }
        if let Some(r) = self.memo.borrow().get(name) {
            return Some(r.clone());
        }
        if self.resolving.borrow().iter().any(|n| n == name) {
            let chain = self.resolving.borrow().join(" → ");
            return Some(Err(TemplateError::new(
                TemplateErrorKind::Other,
                format!("variable '{name}' refers to itself ({chain} → {name})"),
            )));
        }
        if self.resolving.borrow().len() >= MAX_DEPTH {
            return Some(Err(TemplateError::new(
                TemplateErrorKind::Other,
                too_deep(&self.resolving.borrow(), name),
            )));
        }
        self.resolving.borrow_mut().push(name.to_string());
        let mut names = HashSet::new();
        names_in_value_keeping(raw, self.templater, self.cache, &mut names, &literal);
        let result = self
            .context(names.iter().map(String::as_str))
            .and_then(|ctx| {
                self.templater
                    .render_value_keeping(raw, &ctx, &literal)
                    .map_err(|mut e| {
                        if !e.message.contains("(in the value of") {
                            e.message = format!("{} (in the value of '{name}')", e.message);
                        }
                        e
                    })
            });
        self.resolving.borrow_mut().pop();
        // A refusal is not kept: asked again, the resolver notes it again
        // (the log may have been read meanwhile).
        if !matches!(&result, Err(e) if e.kind == TemplateErrorKind::NotKnown) {
            self.memo
                .borrow_mut()
                .insert(name.to_string(), result.clone());
        }
        Some(result)
    }

    /// Notes that `name` (holding an unknown value with root `root`) was
    /// asked for, and the error that stops the render using it.
    fn refuse(&self, name: &str, root: &str) -> TemplateError {
        let refusal = Refusal {
            name: name.to_string(),
            root: root.to_string(),
            via: self.resolving.borrow().clone(),
        };
        let e = TemplateError::new(TemplateErrorKind::NotKnown, refusal.describe());
        if let Some(log) = self.refusals {
            log.note(refusal);
        }
        e
    }

    /// A context object holding the rendered values of `names` (names no layer
    /// defines are left out, so strict undefined reports them by name).
    pub fn context<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<Json, TemplateError> {
        let mut ctx = Map::new();
        let mut all = false;
        let mut wants_vars = false;
        for n in names {
            if n == ALL_NAMES {
                all = true;
                continue;
            }
            wants_vars |= n == "vars";
            if let Some(n) = n.strip_prefix(MAYBE) {
                if !ctx.contains_key(n) {
                    if let Some(Ok(v)) = self.resolve(n) {
                        ctx.insert(n.to_string(), v);
                    }
                }
                continue;
            }
            if ctx.contains_key(n) {
                continue;
            }
            if let Some(v) = self.resolve(n) {
                ctx.insert(n.to_string(), v?);
            }
        }
        // Every other variable that renders, for a lookup that names its
        // variables at run time; one that fails to render is left out, as
        // the template may never ask for it.
        if all {
            // `hostvars` is in no layer: it comes from its source.
            for n in self.all_names().into_iter().chain(["hostvars".to_string()]) {
                if !ctx.contains_key(&n) {
                    if let Some(Ok(v)) = self.resolve(&n) {
                        ctx.insert(n, v);
                    }
                }
            }
        }
        // Ansible's `vars`: every variable the host has, unless a variable
        // of that name hides it.
        if wants_vars && !ctx.contains_key("vars") {
            let every = Json::Object(ctx.clone());
            ctx.insert("vars".to_string(), every);
        }
        Ok(Json::Object(ctx))
    }

    /// The context for rendering `value` and evaluating `exprs`.
    pub fn context_for(&self, values: &[&Json], exprs: &[&str]) -> Result<Json, TemplateError> {
        let mut names = HashSet::new();
        for v in values {
            names_in_value(v, self.templater, self.cache, &mut names);
        }
        for e in exprs {
            names.extend(self.cache.names(self.templater, e, true).iter().cloned());
        }
        self.context(names.iter().map(String::as_str))
    }

    /// Every variable, rendered; values that fail to render are left as written.
    /// For `debug: var=vars` and template files that loop over unknown names.
    pub fn all_names(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for l in self.layers.iter().rev() {
            for k in l.keys() {
                if seen.insert(k.as_str()) {
                    out.push(k.clone());
                }
            }
        }
        out
    }
}

/// How deep variables may refer to variables (`a: "{{ b }}"`, `b: "{{ c }}"`…)
/// before rendering stops. Each level renders on the stack, so without a bound
/// a long chain overflows it and the process aborts; real playbooks stay
/// under ten. Fixed rather than a flag: past this the stack is the limit.
pub const MAX_DEPTH: usize = 100;

/// The message for a chain deeper than [`MAX_DEPTH`]: its first and last
/// names, and what to do.
fn too_deep(chain: &[String], name: &str) -> String {
    let shown: Vec<&str> = if chain.len() > 5 {
        let head = chain[..3].iter().map(String::as_str);
        head.chain(["…"])
            .chain(chain[chain.len() - 1..].iter().map(String::as_str))
            .collect()
    } else {
        chain.iter().map(String::as_str).collect()
    };
    format!(
        "variables nest more than {MAX_DEPTH} deep ({} → {name}); a variable whose value names another counts one level: compute the value in fewer steps",
        shown.join(" → ")
    )
}

/// Whether `v` holds a string to render (one that is not `literal`).
fn contains_template(v: &Json, literal: &dyn Fn(&str) -> bool) -> bool {
    let renders = |s: &str| is_template(s) && !literal(s);
    match v {
        Json::String(s) => renders(s),
        Json::Array(a) => a.iter().any(|i| contains_template(i, literal)),
        Json::Object(m) => m
            .iter()
            .any(|(k, v)| renders(k) || contains_template(v, literal)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_lookup_rprov_lacks_is_given_every_variable() {
        assert!(calls_python_lookup("{{ lookup('backwards', 'ab') }}"));
        assert!(calls_python_lookup("{{ q(\"community.general.x\") }}"));
        assert!(calls_python_lookup("{{ query( 'mine') }}"));
        assert!(!calls_python_lookup("{{ lookup('env', 'HOME') }}"));
        assert!(!calls_python_lookup(
            "{{ query('ansible.builtin.items', x) }}"
        ));
        assert!(!calls_python_lookup("{{ my_lookup('x') }}"));
        assert!(!calls_python_lookup("{{ lookup(name) }}"));
    }

    #[test]
    fn a_vars_lookup_asks_for_the_names_it_quotes() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let names = cache.names(
            &t,
            "{{ lookup('vars', 'ansible_host', \"my_var\") }}",
            false,
        );
        assert!(names.contains(&"ansible_host".to_string()), "{names:?}");
        assert!(names.contains(&"my_var".to_string()), "{names:?}");
        assert_eq!(
            quoted_names("{{ lookup('vars', 'a b', 'ok_1', \"9x\", default='no') ~ 'other' }}"),
            ["ok_1"]
        );
        // Part of an argument: any variable may be meant, not `r_`.
        assert!(quoted_names("{{ lookup('vars', 'r_' ~ i, 'x_' + j) }}").is_empty());
    }

    fn vars(v: Json) -> Vars {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    /// ansible.cfg's `hash_behaviour`: the highest layer's mapping replaces
    /// the lower ones, or with `merge` is deep-merged over them down to the
    /// first layer where the variable is no mapping (ansible-core's hash
    /// target: role defaults, group and host vars, play vars, role params,
    /// `-e` all merged).
    #[test]
    fn hash_merge_folds_the_layers_mappings() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let low = vars(json!({"h": {"a": 1, "deep": {"x": 1}}, "n": "{{ 2 }}"}));
        let scalar = vars(json!({"h": "not a mapping"}));
        let mid = vars(json!({"h": {"b": "{{ n }}", "deep": {"y": 2}}}));
        let high = vars(json!({"h": {"a": 3}}));
        let resolve = |layers: Vec<&Vars>, merge: bool| {
            Resolver::new(layers, &t, &cache)
                .with_hash_merge(merge)
                .resolve("h")
                .unwrap()
                .unwrap()
        };
        assert_eq!(resolve(vec![&low, &mid, &high], false), json!({"a": 3}));
        assert_eq!(
            resolve(vec![&low, &mid, &high], true),
            json!({"a": 3, "b": 2, "deep": {"x": 1, "y": 2}})
        );
        assert_eq!(
            resolve(vec![&low, &scalar, &mid, &high], true),
            json!({"b": 2, "deep": {"y": 2}, "a": 3})
        );
    }

    /// A sliced variable reaches the template (minijinja alone names no
    /// `key` in `key[:-7]`); a name only maybe used that fails to render is
    /// left out, not an error.
    /// Lookups that read what the template does not name get it: where
    /// files are looked for, `groups` for host patterns, `hostvars` for a
    /// template file.
    #[test]
    fn lookups_ask_for_what_they_read() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let has = |src: &str, name: &str| cache.names(&t, src, false).contains(&name.to_string());
        assert!(has("{{ lookup('unvault', 'f') }}", "playbook_dir"));
        assert!(has("{{ lookup('ini', 'k', section='s') }}", "role_path"));
        assert!(has("{{ query('inventory_hostnames', 'all') }}", "groups"));
        assert!(has("{{ lookup('template', 't.j2') }}", "?hostvars"));
        assert!(!has("{{ lookup('env', 'HOME') }}", "groups"));
    }

    #[test]
    fn a_sliced_variable_is_given_to_the_template() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let layer = vars(json!({"key": "abcdefghij", "broken": "{{ nope }}"}));
        let r = Resolver::new(vec![&layer], &t, &cache);
        let v = json!("{{ key[:-7] ~ (broken[0:1] if false else 'X') }}");
        let ctx = r.context_for(&[&v], &[]).unwrap();
        assert_eq!(ctx, json!({"key": "abcdefghij"}));
        assert_eq!(
            maybe_sliced("{{ a[1:] | default(b) ~ c.d ~ 'e[f:]' ~ g is defined }}"),
            ["?a", "?b", "?c", "?g"]
        );
    }

    #[test]
    fn lazy_and_layered() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let defaults = vars(json!({"app": "pds", "dir": "/srv/{{ app }}", "unused": "{{ nope }}"}));
        let host = vars(json!({"app": "kk"}));
        let r = Resolver::new(vec![&defaults, &host], &t, &cache);
        assert_eq!(r.resolve("dir").unwrap().unwrap(), json!("/srv/kk"));
        // An unused broken variable costs nothing and fails only when used.
        let ctx = r.context_for(&[&json!("{{ dir }}/x")], &[]).unwrap();
        assert_eq!(ctx, json!({"dir": "/srv/kk"}));
        let err = r.resolve("unused").unwrap().unwrap_err();
        assert!(err.message.contains("'nope'"), "{}", err.message);
        assert!(
            err.message.contains("in the value of 'unused'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn self_reference_is_an_error() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let l = vars(json!({"a": "{{ b }}", "b": "{{ a }}"}));
        let r = Resolver::new(vec![&l], &t, &cache);
        let err = r.resolve("a").unwrap().unwrap_err();
        assert!(err.message.contains("refers to itself"), "{}", err.message);
    }

    #[test]
    fn unknown_values_are_refused_through_other_variables() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let low = vars(json!({"line": "{{ fact }}-x", "plain": "known"}));
        let facts = vars(json!({"fact": unknown_value("out")}));
        let log = Refusals::default();
        let r = Resolver::new(vec![&low, &facts], &t, &cache).with_refusals(&log);
        let err = r.resolve("line").unwrap().unwrap_err();
        assert_eq!(err.kind, TemplateErrorKind::NotKnown);
        let noted = log.take().expect("the refusal is noted");
        assert_eq!(
            noted.describe(),
            "depends on `line` → `fact` → `out`, which is not known in check mode"
        );
        // Asked again (the log was read meanwhile), it is noted again.
        assert!(r.context_for(&[&json!("{{ line }}")], &[]).is_err());
        assert_eq!(log.take(), Some(noted));
        assert_eq!(r.resolve("plain").unwrap().unwrap(), json!("known"));
        assert_eq!(log.take(), None);
        // A higher layer that knows the value wins, as with any variable.
        let extra = vars(json!({"fact": "given"}));
        let r = Resolver::new(vec![&low, &facts, &extra], &t, &cache).with_refusals(&log);
        assert_eq!(r.resolve("line").unwrap().unwrap(), json!("given-x"));
        assert_eq!(log.take(), None);
    }

    #[test]
    fn native_types_survive() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let l = vars(json!({"ports": [8000, 8001], "p": "{{ ports }}"}));
        let r = Resolver::new(vec![&l], &t, &cache);
        assert_eq!(r.resolve("p").unwrap().unwrap(), json!([8000, 8001]));
    }

    #[test]
    fn secret_values_are_never_rendered() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let secret = "p{{ x }}w{% if %}d{#";
        let literal: HashSet<String> = [secret.to_string()].into();
        let files = vars(json!({
            "pw": secret,
            "db": {"password": secret, "url": "postgres://u@{{ host }}/db"},
            "host": "db1",
        }));
        let r = Resolver::new(vec![&files], &t, &cache).with_literal(&literal);
        assert_eq!(r.resolve("pw").unwrap().unwrap(), json!(secret));
        // Mixed: the plain template renders, the secret beside it is kept.
        assert_eq!(
            r.resolve("db").unwrap().unwrap(),
            json!({"password": secret, "url": "postgres://u@db1/db"})
        );
        // Used inside another template, the secret is inserted as text.
        let ctx = r.context_for(&[&json!("{{ pw }}")], &[]).unwrap();
        assert_eq!(
            t.render_str("[{{ pw }}]", &ctx).unwrap(),
            json!(format!("[{secret}]"))
        );
    }

    #[test]
    fn final_layers_are_not_rendered_again() {
        let t = Templater::new();
        let cache = NamesCache::default();
        let play = vars(json!({"x": "from play"}));
        let facts = vars(json!({"out": "Go template: {{ .Name }}", "y": "{{ x }}"}));
        let r = Resolver::new(vec![&play, &facts], &t, &cache).with_final_layers(&[&facts]);
        assert_eq!(
            r.resolve("out").unwrap().unwrap(),
            json!("Go template: {{ .Name }}")
        );
        assert_eq!(r.resolve("y").unwrap().unwrap(), json!("{{ x }}"));
        // The same values in an ordinary layer are templates.
        let r = Resolver::new(vec![&play, &facts], &t, &cache);
        assert_eq!(r.resolve("y").unwrap().unwrap(), json!("from play"));
    }
}
