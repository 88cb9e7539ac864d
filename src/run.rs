//! The one place that turns a command into an outcome; `main` turns the
//! outcome into an exit status and prints a fatal error once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rprov_inventory::{Inventory, InventoryError};

use crate::ansible_cfg::{self, AnsibleConfig};
use crate::cli::{AdhocArgs, ApplyArgs, Cli, Command, InventoryArgs, OutputFormat};
use crate::engine::{self, RunOptions, Shared};
use crate::playbook::{self, Vars};
use crate::report::{Format, Reporter};

/// How a run ended, for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything ran (changed or not).
    Success,
    /// A task failed on some host.
    TaskFailed,
    /// Some host could not be reached (and no task failed).
    Unreachable,
    /// The user stopped the run with this signal (SIGINT, SIGTERM).
    Interrupted(i32),
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::TaskFailed => 2,
            Outcome::Unreachable => 4,
            Outcome::Interrupted(signo) => engine::interrupt_exit_code(*signo),
        }
    }
}

pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Apply(args) => apply(*args, None),
        Command::Adhoc(args) => adhoc(*args),
        Command::Inventory(args) => inventory(args),
        Command::Secrets(args) => {
            rprov_secrets::cli::run(args)?;
            Ok(Outcome::Success)
        }
        Command::Config => {
            let cfg = load_config()?;
            print!("{}", cfg.describe());
            for w in &cfg.warnings {
                eprintln!("warning: {w}");
            }
            Ok(Outcome::Success)
        }
        Command::Modules {
            json,
            ansible_python,
        } => {
            if let Some(p) = ansible_python {
                crate::modules::ansible_fallback::set_python(p);
            }
            let cwd = std::env::current_dir().unwrap_or_default();
            let fallback = crate::modules::ansible_fallback::available(&cwd);
            if json {
                let mut doc = modules_json();
                doc["fallback"] = match &fallback {
                    Ok(v) => serde_json::json!({"available": true, "ansible_core": v}),
                    Err(why) => serde_json::json!({"available": false, "why": why}),
                };
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!("Native modules (rprov's own: no Python needed on the host):\n");
                print!("{}", modules_table(100));
                println!();
                match fallback {
                    Ok(v) => println!(
                        "Any other module of ansible-core {v} (or of an installed collection) runs through the Ansible fallback:\nAnsible's own module, run with the host's Python (one remote command per task). Its task lines say `(ansible)`."
                    ),
                    Err(why) => println!(
                        "Other modules would run through the Ansible fallback, which is off: {why}\n{}",
                        crate::modules::ansible_fallback::ENABLE_HINT
                    ),
                }
            }
            Ok(Outcome::Success)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "rprov", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
    }
}

/// `rprov modules`: each module and its arguments, wrapped to `width` columns.
fn modules_table(width: usize) -> String {
    let name_w = crate::modules::SPECS
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = String::new();
    for s in crate::modules::SPECS {
        let args: Vec<&str> = if s.args.is_empty() && s.open {
            vec!["(any name: value)"]
        } else if s.args.is_empty() && s.free_form {
            vec!["(free-form)"]
        } else if s.args.is_empty() {
            vec!["(no arguments)"]
        } else {
            s.arg_names().collect()
        };
        let mut line = format!("{:<name_w$}", s.name);
        let mut col = name_w;
        for (i, a) in args.iter().enumerate() {
            let piece = if i + 1 < args.len() {
                format!("{a}, ")
            } else {
                (*a).to_string()
            };
            if col + piece.len() > width && col > name_w {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(name_w);
                col = name_w;
            }
            col += piece.len();
            line.push_str(&piece);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `rprov modules --json`: the same table for machines, with each argument's kind.
fn modules_json() -> serde_json::Value {
    use crate::modules::Kind;
    let modules: Vec<serde_json::Value> = crate::modules::SPECS
        .iter()
        .map(|s| {
            let args: Vec<serde_json::Value> = s
                .args
                .iter()
                .map(|a| match a.kind {
                    Kind::Choice(c) => {
                        serde_json::json!({"name": a.name, "type": "choice", "choices": c})
                    }
                    k => serde_json::json!({"name": a.name, "type": k.describe()}),
                })
                .collect();
            serde_json::json!({
                "name": s.name,
                "native": true,
                "free_form": s.free_form,
                "runs_on": if s.is_local() { "controller" } else { "host" },
                "any_args": s.open,
                "args": args,
            })
        })
        .collect();
    serde_json::json!({ "modules": modules })
}

/// `-u`, `-b` and `--become-user` as ansible-playbook takes them: the
/// defaults of the `remote_user`, `become` and `become_user` keywords, above
/// ansible.cfg's and below any keyword or variable.
fn keyword_defaults_from_flags(args: &ApplyArgs, opts: &mut playbook::LoadOptions) {
    if let Some(u) = &args.run.user {
        opts.remote_user = Some(u.clone());
    }
    if args.run.become_ {
        opts.become_ = Some(true);
    }
    if let Some(u) = &args.run.become_user {
        opts.become_user = Some(u.clone());
    }
    if args.force_handlers {
        opts.force_handlers = true;
    }
}

/// ansible.cfg's connection settings with `-c` and `--private-key` over
/// them: any variable still beats both, as in ansible-playbook.
fn connection_defaults(
    args: &ApplyArgs,
    cfg: &AnsibleConfig,
) -> crate::ansible_cfg::ConnectionDefaults {
    let mut out = cfg.connection_defaults();
    let mut set = |names: &'static [&'static str], v: serde_json::Value| {
        out.retain(|(n, _)| *n != names);
        out.push((names, v));
    };
    if let Some(key) = &args.run.private_key {
        set(
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
            serde_json::Value::String(key.display().to_string()),
        );
    }
    if let Some(c) = &args.run.connection {
        set(
            &["ansible_connection"],
            serde_json::Value::String(c.clone()),
        );
    }
    out
}

/// Whether `path`, given as the inventory, names no file or directory (and
/// is not a comma-separated host list).
fn is_missing_inventory(path: &Path) -> bool {
    !path.to_str().is_some_and(Inventory::is_host_list) && !path.exists()
}

/// ansible-playbook's warning for an inventory source that is not there.
fn unparsed_inventory(path: &Path) -> String {
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!("Unable to parse {} as an inventory source", shown.display())
}

/// The inventory of a host list (`web1,web2:2222,`), with ranges expanded
/// when the `advanced_host_list` plugin is enabled.
fn host_list(list: &str, src: SourceOptions<'_>) -> Result<Inventory> {
    if !src.advanced_host_list {
        return Ok(Inventory::from_host_list(list));
    }
    let (inv, notes) = Inventory::from_advanced_host_list(list).map_err(|e| {
        anyhow::anyhow!(
            "Failed to parse inventory with 'advanced_host_list' plugin: {e}\n  = help: the source was {list:?}; a range is [START:END] or [START:END:STEP] of numbers or single letters"
        )
    })?;
    if src.verbose >= 3 {
        for note in notes {
            println!("{note}");
        }
    }
    Ok(inv)
}

/// One inventory source, with rprov's templates for its plugins.
fn load_inventory(path: &Path, src: SourceOptions<'_>) -> Result<Inventory> {
    if let Some(list) = path.to_str().filter(|s| Inventory::is_host_list(s)) {
        return host_list(list, src);
    }
    let render = InventoryTemplates(rprov_template::Templater::new());
    let opts = src.load(&render);
    if !path.exists() {
        bail!("inventory {} not found\n  = help: pass an Ansible INI or YAML inventory with -i (e.g. -i inventory/hosts.ini), or the hosts themselves with a comma (e.g. -i web1,web2 or -i web1,)", path.display());
    }
    Inventory::load_opts(path, opts).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Hosts matched by `pattern`, or none (Ansible skips a play whose pattern matches nothing).
fn select(inv: &Inventory, pattern: &str) -> Result<Vec<String>> {
    match inv.select(pattern) {
        Ok(h) => Ok(h),
        Err(InventoryError::NoMatch { .. }) => Ok(Vec::new()),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// ansible.cfg and the `ANSIBLE_*` variables, read once per command.
fn load_config() -> Result<AnsibleConfig> {
    AnsibleConfig::load(&ansible_cfg::Environment::current()?)
}

/// The inventory sources: `-i` (each), else `inventory` of ansible.cfg or
/// `$ANSIBLE_INVENTORY` (a list), else Ansible's default `/etc/ansible/hosts`
/// if it exists, else none: as ansible-playbook, a run without one has only
/// the implicit `localhost`.
fn inventory_sources(cli: &[PathBuf], cfg: &AnsibleConfig) -> Vec<PathBuf> {
    if !cli.is_empty() {
        return cli.to_vec();
    }
    if let Some(s) = cfg.inventory.as_ref().filter(|s| !s.value.is_empty()) {
        return s.value.clone();
    }
    let default = Path::new("/etc/ansible/hosts");
    default
        .exists()
        .then(|| default.to_path_buf())
        .into_iter()
        .collect()
}

/// ansible-core's warning when it found no inventory (its words).
const NO_INVENTORY: &str = "No inventory was parsed, only implicit localhost is available";

/// rprov's templates for inventory plugins that have them (`generator`,
/// `constructed`).
struct InventoryTemplates(rprov_template::Templater);

impl rprov_inventory::Render for InventoryTemplates {
    fn render(
        &self,
        template: &str,
        vars: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        self.0.render_str(template, vars).map_err(|e| e.message)
    }

    fn evaluate(&self, expr: &str, vars: &serde_json::Value) -> Result<serde_json::Value, String> {
        self.0.eval_expr(expr, vars).map_err(|e| e.message)
    }

    fn py_str(&self, value: &serde_json::Value) -> String {
        rprov_template::filters::py_str_json(value)
    }
}

/// How a command reads each of its inventory sources.
#[derive(Clone, Copy)]
struct SourceOptions<'a> {
    /// Decrypts vault files and `!vault` values of `group_vars/` and `host_vars/`.
    vault: Option<&'a dyn rprov_inventory::VaultDecrypt>,
    /// ansible.cfg's `force_valid_group_names`.
    group_chars: rprov_inventory::InvalidGroupChars,
    /// `-e`, for a `constructed` source with `use_extra_vars`.
    extra_vars: Option<&'a Vars>,
    /// ansible.cfg's `[inventory_plugins] use_extra_vars`.
    use_extra_vars: bool,
    /// The `advanced_host_list` plugin is enabled: host lists expand ranges.
    advanced_host_list: bool,
    /// `-v` count: at 3, what `advanced_host_list` left unexpanded is said.
    verbose: u8,
}

impl<'a> SourceOptions<'a> {
    fn new(
        cfg: &AnsibleConfig,
        vault: Option<&'a dyn rprov_inventory::VaultDecrypt>,
        extra_vars: Option<&'a Vars>,
    ) -> Self {
        SourceOptions {
            vault,
            group_chars: cfg
                .group_chars
                .as_ref()
                .map(|s| s.value)
                .unwrap_or_default(),
            extra_vars,
            use_extra_vars: cfg
                .inventory_use_extra_vars
                .as_ref()
                .is_some_and(|s| s.value),
            advanced_host_list: cfg.advanced_host_list(),
            verbose: 0,
        }
    }

    fn load<'r>(&'r self, render: &'r InventoryTemplates) -> rprov_inventory::LoadOptions<'r> {
        rprov_inventory::LoadOptions {
            render: Some(render),
            vault: self.vault,
            group_chars: self.group_chars,
            extra_vars: self.extra_vars,
            use_extra_vars: self.use_extra_vars,
        }
    }
}

/// The inventory at `path` (with its warnings given to `warn`), or with
/// none only the implicit localhost, with ansible-core's warning.
fn open_inventory(
    path: Option<&Path>,
    src: SourceOptions<'_>,
    warn: impl Fn(&str),
) -> Result<Inventory> {
    match path {
        Some(p) => {
            let inv = load_inventory(p, src)?;
            inv.warnings().iter().for_each(|w| warn(w));
            Ok(inv)
        }
        None => {
            warn(NO_INVENTORY);
            Ok(Inventory::from_host_list(""))
        }
    }
}

/// A further source (a second `-i`) read into `inv` after those before it,
/// as ansible-core reads them: a `constructed` one works on their hosts.
/// Its new warnings go to `warn`.
fn add_source(
    inv: &mut Inventory,
    path: &Path,
    src: SourceOptions<'_>,
    warn: impl Fn(&str),
) -> Result<()> {
    let before = inv.warnings().len();
    let added = match path.to_str().filter(|s| Inventory::is_host_list(s)) {
        Some(list) => inv.absorb(host_list(list, src)?),
        None => {
            let render = InventoryTemplates(rprov_template::Templater::new());
            inv.add_source(path, src.load(&render))
        }
    };
    inv.warnings()[before..].iter().for_each(|w| warn(w));
    added.map_err(|e| anyhow::anyhow!("{e}"))
}

/// The vault password from `--vault-password-file`, else ansible.cfg's.
fn vault_password(cli: Option<&Path>, cfg: &AnsibleConfig) -> Result<Option<Vec<u8>>> {
    let file = cli.or(cfg.vault_password_file.as_ref().map(|s| s.value.as_path()));
    file.map(rprov_secrets::read_vault_password_file)
        .transpose()
        .map_err(Into::into)
}

/// The hosts of `--limit PATTERN`. A pattern that matches nothing is an
/// error (a typo there would otherwise run on no host and look like success),
/// and each plain name in it that is neither a host nor a group gets a "did
/// you mean" over the inventory's names, as module names do.
fn select_limit(inv: &Inventory, pattern: &str) -> Result<Vec<String>> {
    match inv.select(pattern) {
        Ok(hosts) => Ok(hosts),
        Err(e @ InventoryError::NoMatch { .. }) => {
            let groups = inv.groups();
            let hosts = inv.hosts();
            let names: Vec<&str> = groups
                .keys()
                .map(String::as_str)
                .chain(hosts.iter().map(String::as_str))
                .collect();
            let hints: Vec<(&str, &str)> = pattern
                .split([':', ','])
                .map(|w| w.trim_start_matches(['!', '&']))
                .filter(|w| {
                    !w.is_empty()
                        && !w.starts_with('~')
                        && !w.contains(['*', '?', '['])
                        && !names.contains(w)
                })
                .filter_map(|w| crate::diag::did_you_mean(w, names.iter().copied()).map(|s| (w, s)))
                .collect();
            let help = match hints.as_slice() {
                [] => "see `rprov inventory -i INVENTORY` for the groups and hosts".to_string(),
                [(_, s)] => format!("did you mean `{s}`?"),
                many => {
                    let each: Vec<String> = many
                        .iter()
                        .map(|(w, s)| format!("`{s}` for `{w}`"))
                        .collect();
                    format!("did you mean {}?", each.join(", "))
                }
            };
            bail!("--limit {pattern}: {e}\n  = help: {help}")
        }
        Err(e) => bail!("--limit {pattern}: {e}"),
    }
}

/// The exit status for an error found before any host was touched: 1, or, as
/// `ansible-playbook` (see [`crate::cli::command_line`]), ansible-core's 4 for a
/// playbook that does not load (its parser errors) and 1 for the rest; as
/// `ansible-inventory` or `ansible`, 5 for a wrong choice of options
/// ([`OptionsError`]); as `ansible`, 4 for a task that does not load too.
pub fn error_exit_code(err: &anyhow::Error, persona: crate::cli::Persona) -> u8 {
    use crate::cli::Persona;
    let unparsable = || {
        err.downcast_ref::<crate::diag::LoadError>()
            .is_some_and(|e| e.message != playbook::PLAYBOOK_NOT_FOUND)
    };
    match persona {
        // ansible-core exits 5 on an AnsibleOptionsError.
        Persona::AnsibleInventory | Persona::Ansible
            if err.downcast_ref::<OptionsError>().is_some() =>
        {
            5
        }
        Persona::AnsiblePlaybook | Persona::Ansible if unparsable() => 4,
        _ => 1,
    }
}

/// A wrong choice of options, which ansible-core reports as an
/// `AnsibleOptionsError` (exit status 5 as `ansible-inventory`).
#[derive(Debug)]
pub struct OptionsError(pub String);

impl std::fmt::Display for OptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OptionsError {}

/// An ad-hoc run's one play, and how its results are shown.
struct AdhocPlay {
    /// The playbook's text (see [`crate::adhoc::playbook_text`]).
    text: String,
    /// Its `playbook_dir`: `--playbook-dir`, else the current directory.
    dir: PathBuf,
    format: Format,
}

/// `rprov adhoc`: the one-task play of [`crate::adhoc`], run as `apply` runs
/// a playbook.
fn adhoc(args: AdhocArgs) -> Result<Outcome> {
    let text = crate::adhoc::playbook_text(&args)?;
    let dir = match &args.playbook_dir {
        Some(d) => std::path::absolute(d).unwrap_or_else(|_| d.clone()),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let format = match (args.json, args.one_line) {
        (true, _) => Format::Json,
        (false, true) => Format::OneLine,
        (false, false) => Format::Minimal,
    };
    let apply_args = ApplyArgs {
        run: args.run,
        playbook: Vec::new(),
        syntax_check: false,
        list_tasks: false,
        list_tags: false,
        start_at_task: None,
        tags: Vec::new(),
        skip_tags: Vec::new(),
        force_handlers: false,
        flush_cache: args.flush_cache,
        output: OutputFormat::Human,
    };
    apply(apply_args, Some(AdhocPlay { text, dir, format }))
}

/// Runs the playbooks of `args`, or `adhoc`'s play instead when given.
fn apply(args: ApplyArgs, adhoc: Option<AdhocPlay>) -> Result<Outcome> {
    // Everything up to the first host's start is the run's load (--timings).
    let loading = std::time::Instant::now();
    rprov_template::limits::set_max_render_size(args.run.max_render_size);
    if let Some(p) = &args.run.ansible_python {
        crate::modules::ansible_fallback::set_python(p.clone());
    }
    crate::modules::ansible_fallback::set_scope(args.run.ansible_fallback);
    let cfg = load_config()?;
    rprov_template::filters::json_surrogates::set_strict(
        cfg.module_strict_utf8_response
            .as_ref()
            .is_none_or(|s| s.value),
    );
    // rprov's own output (`rprov adhoc` too) shows `--check`'s changes as
    // diffs; as ansible-playbook (`--output ansible`), only `--diff` does.
    let check_shows_diffs = adhoc.is_some() || args.output != OutputFormat::Ansible;
    let mut reporter = Reporter::new(
        match (&adhoc, args.output) {
            // As ansible-core's `ansible`: `stdout_callback` only with
            // `bin_ansible_callbacks`, and of its callbacks rprov has
            // `minimal` and `oneline`.
            (Some(a), _) if a.format == Format::Minimal && cfg.adhoc_one_line() => Format::OneLine,
            (Some(a), _) => a.format,
            (None, OutputFormat::Human) => Format::Human,
            (None, OutputFormat::Json) => Format::Json,
            (None, OutputFormat::Ansible) => Format::Ansible,
        },
        args.run.verbose,
        args.run.diff || (args.run.check && check_shows_diffs),
    )
    .with_debug(cfg.debug.as_ref().is_some_and(|s| s.value));
    // `log_path`: a file that gets the output too; one that cannot be
    // opened is a warning, as in ansible-core, and the run goes on.
    let mut log_problem = None;
    if let Some(path) = cfg
        .log_path
        .as_ref()
        .filter(|s| !s.value.as_os_str().is_empty())
    {
        let level = cfg
            .log_verbosity
            .as_ref()
            .map_or(0, |s| s.value.clamp(0, 9) as u8);
        match crate::report::log_file::LogFile::open(&path.value, level.max(args.run.verbose)) {
            Ok(log) => reporter = reporter.with_log(log),
            Err(why) => log_problem = Some(why),
        }
    }
    let reporter = Arc::new(reporter);
    if let Some(why) = log_problem {
        reporter.warn(&why);
    }
    if args.run.verbose > 0 {
        reporter.note(&match &cfg.file {
            Some(f) => format!("Using {} as config file", f.display()),
            None => "No config file found; using defaults".to_string(),
        });
    }
    for w in &cfg.warnings {
        reporter.warn(w);
    }
    if let Some(policy) = &cfg.duplicate_dict_key {
        crate::yaml::set_duplicate_keys(policy.value);
    }
    let filters = cfg.plugin_filters_cfg.as_ref().map(|s| s.value.as_path());
    if let Some(rejected) =
        crate::ansible_cfg::plugin_filters::load(filters, &mut |w| reporter.warn(&w))?
    {
        crate::modules::set_rejected(rejected);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut load_options = cfg.load_options(home.as_deref());
    crate::modules::ansible_fallback::set_library_path(cfg.library_path(home.as_deref()));
    keyword_defaults_from_flags(&args, &mut load_options);
    // Before the inventory: a `constructed` source may use them, and a
    // templated `import_playbook` name is rendered with them.
    let extra_vars = parse_extra_vars(&args.run.extra_vars)?;
    load_options.extra_vars = extra_vars.clone();
    let load_playbook = || {
        // Kept as a `LoadError`: as ansible-playbook, rprov exits 4 for it.
        match &adhoc {
            Some(a) => playbook::load_playbook_text(
                &a.text,
                Path::new(crate::adhoc::PLAY_NAME),
                &a.dir,
                &load_options,
            ),
            None => playbook::load_playbooks_with(&args.playbook, &load_options),
        }
        .map_err(anyhow::Error::new)
    };
    if args.syntax_check {
        for (path, _) in load_playbook()?.files {
            print!("{}", crate::listing::syntax_ok(&path));
        }
        return Ok(Outcome::Success);
    }
    // The inventory first: its errors are reported before the playbook's.
    let sources = inventory_sources(&args.run.inventory, &cfg);
    let inventory_file = sources.first().cloned();
    // As ansible-playbook: an inventory that is not there is a warning, and
    // the run goes on with the implicit `localhost` (runs that then have no
    // host fail below, naming the file).
    let (inventory_file, missing_inventory) = match inventory_file {
        Some(p) if is_missing_inventory(&p) => {
            reporter.warn(&unparsed_inventory(&p));
            (None, Some(p))
        }
        other => (other, None),
    };
    let vault_password = vault_password(args.run.vault_password_file.as_deref(), &cfg)?;
    // group_vars/ and host_vars/ may hold vault files and `!vault` values.
    let vault = crate::varsfile::InventoryVault::new(vault_password.as_deref());
    let src = SourceOptions {
        verbose: args.run.verbose,
        ..SourceOptions::new(&cfg, Some(&vault), Some(&extra_vars))
    };
    let mut inventory = open_inventory(inventory_file.as_deref(), src, |w| reporter.warn(w))?;
    let hash_merge = cfg.hash_merge.as_ref().is_some_and(|s| s.value);
    inventory.set_hash_merge(hash_merge);
    // Further `-i` sources, read into the same inventory in order.
    for source in sources.iter().skip(1) {
        if is_missing_inventory(source) {
            reporter.warn(&unparsed_inventory(source));
            continue;
        }
        add_source(&mut inventory, source, src, |w| reporter.warn(w))?;
    }
    // `!vault` values in the playbook and its roles are opened as it loads.
    let (playbook, vaulted) =
        crate::yaml::vault_values::while_loading(vault_password.as_deref(), load_playbook);
    let mut playbook = playbook?;
    playbook.vault_values = vaulted.secret_values().map(String::from).collect();
    reporter.add_secrets(vaulted);
    // `order:` and `strategy:` written as templates take their value from
    // the play's vars and `-e` (a load error, exit 4, if it is not one rprov
    // knows).
    let templater = rprov_template::Templater::new();
    for play in &mut playbook.plays {
        playbook::resolve_deferred(play, &extra_vars, &templater).map_err(anyhow::Error::new)?;
    }
    for w in crate::yaml::take_warnings()
        .iter()
        .chain(&playbook.warnings)
    {
        reporter.warn(w);
    }
    if cfg.deprecation_warnings.as_ref().is_none_or(|s| s.value) {
        for (i, d) in playbook.deprecations.iter().enumerate() {
            if i == 0 {
                reporter.warn("Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.");
            }
            reporter.deprecation(d);
        }
    }
    let inv_dir = inventory_file
        .as_deref()
        .and_then(|f| std::path::absolute(f).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf));
    if inv_dir.as_deref() != Some(playbook.dir.as_path()) {
        inventory
            .add_vars_dir_with(&playbook.dir, Some(&vault))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let inventory_secrets = vault.into_secrets();
    // `meta: refresh_inventory` reads the same sources the same way again.
    let inventory_source: Option<crate::engine::InventorySource> =
        inventory_file.clone().map(|file| {
            let password = vault_password.clone();
            let vars_dir =
                (inv_dir.as_deref() != Some(playbook.dir.as_path())).then(|| playbook.dir.clone());
            let more: Vec<PathBuf> = sources
                .iter()
                .skip(1)
                .filter(|s| !is_missing_inventory(s))
                .cloned()
                .collect();
            let extra_vars = extra_vars.clone();
            let (group_chars, use_extra_vars, advanced_host_list) = {
                let src = SourceOptions::new(&cfg, None, None);
                (src.group_chars, src.use_extra_vars, src.advanced_host_list)
            };
            Box::new(move || {
                let vault = crate::varsfile::InventoryVault::new(password.as_deref());
                let src = SourceOptions {
                    vault: Some(&vault),
                    group_chars,
                    extra_vars: Some(&extra_vars),
                    use_extra_vars,
                    advanced_host_list,
                    verbose: 0,
                };
                let mut inv = load_inventory(&file, src).map_err(|e| format!("{e:#}"))?;
                inv.set_hash_merge(hash_merge);
                for source in &more {
                    add_source(&mut inv, source, src, |_| {}).map_err(|e| format!("{e:#}"))?;
                }
                if let Some(dir) = &vars_dir {
                    inv.add_vars_dir_with(dir, Some(&vault))
                        .map_err(|e| e.to_string())?;
                }
                Ok(inv)
            }) as crate::engine::InventorySource
        });

    let limit: Option<Vec<String>> = match &args.run.limit {
        Some(p) => Some(select_limit(&inventory, p)?),
        None => None,
    };
    let mut plays_hosts = Vec::new();
    // For `order: shuffle`: a new order on every run, as in Ansible.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    for play in &playbook.plays {
        let mut hosts = select(&inventory, &play.hosts)?;
        if let Some(l) = &limit {
            hosts.retain(|h| l.contains(h));
        }
        play.order.arrange(&mut hosts, seed);
        plays_hosts.push(hosts);
    }
    if adhoc.is_some() {
        // As ansible-core's `ansible`: a pattern that matches nothing is a
        // warning and a run of nothing.
        let hosts = plays_hosts.first().map(Vec::as_slice).unwrap_or_default();
        if args.run.list_hosts {
            print!("{}", crate::listing::adhoc_hosts(hosts));
            return Ok(Outcome::Success);
        }
        if hosts.is_empty() {
            let pattern = playbook.plays.first().map_or("", |p| p.hosts.as_str());
            reporter.warn(&format!(
                "No hosts matched, nothing to do (pattern `{pattern}`)"
            ));
            return Ok(Outcome::Success);
        }
    }
    if args.run.list_hosts || args.list_tasks || args.list_tags {
        // As ansible-playbook: listing tags without --tags or --skip-tags
        // lists every tag, `never` too.
        let every = ["never".to_string(), "all".to_string()];
        let tags = match args.list_tags && args.tags.is_empty() && args.skip_tags.is_empty() {
            true => &every[..],
            false => &args.tags[..],
        };
        let what = crate::listing::Listing {
            hosts: args.run.list_hosts,
            tasks: args.list_tasks,
            tags_used: args.list_tags,
            tags,
            skip_tags: &args.skip_tags,
            extra_vars: &extra_vars,
            templater: &templater,
        };
        print!("{}", crate::listing::render(&playbook, &plays_hosts, &what));
        return Ok(Outcome::Success);
    }
    if plays_hosts.iter().all(Vec::is_empty) {
        if let Some(missing) = &missing_inventory {
            bail!("no hosts to run on: inventory {} not found, so only the implicit `localhost` exists, and the plays' `hosts:` patterns do not name it\n  = help: pass an Ansible INI or YAML inventory with -i (e.g. -i inventory/hosts.ini), or the hosts themselves with a comma (e.g. -i web1,web2 or -i web1,)", missing.display());
        }
        let Some(inventory_file) = &inventory_file else {
            bail!("no hosts to run on: no inventory was given, so only the implicit `localhost` exists, and the plays' `hosts:` patterns do not name it (`all` does not match it, as in Ansible)\n  = help: pass an inventory with -i (e.g. -i inventory/hosts.ini, or -i web1,web2), or write `hosts: localhost`");
        };
        bail!(
            "no hosts to run on: the plays' `hosts:` patterns{} match no host of {}\n  = help: see `rprov inventory -i {}` for the groups and hosts",
            if args.run.limit.is_some() { " and --limit" } else { "" },
            inventory_file.display(),
            inventory_file.display()
        );
    }

    check_connection_vars(
        &inventory,
        &plays_hosts,
        &extra_vars,
        inventory_file
            .as_deref()
            .unwrap_or(Path::new("(no inventory)")),
    )?;
    reporter.add_secrets(inventory_secrets);

    let identities = rprov_secrets::IdentityOptions {
        identity_files: args.run.identity.clone(),
        passphrase_file: args.run.passphrase_file.clone(),
    };
    // Decrypting is CPU work (scrypt for passphrases): done once, here, before
    // the async runtime starts, never on its threads.
    let secrets = load_secrets(&args, &identities, &playbook.dir, &reporter)?;

    let opts = RunOptions {
        check: args.run.check,
        diff: args.run.diff,
        check_shows_diffs,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        forks: args
            .run
            .forks
            .or(cfg.forks.as_ref().map(|s| s.value))
            .unwrap_or(50),
        verbosity: args.run.verbose,
        connect_limit: args
            .run
            .connect_limit
            .map_or_else(default_connect_limit, |n| n as usize),
        connect: rprov_transport::ConnectOptions {
            accept_new_host_keys: args.run.accept_new_host_keys,
            connect_timeout: Duration::from_secs(
                args.run
                    .connect_timeout
                    .or(cfg.timeout.as_ref().map(|s| s.value))
                    .unwrap_or(10)
                    .max(1),
            ),
            persist: match args.run.persist.map(std::num::NonZeroU32::new) {
                None => rprov_transport::Persist::FromSshArgs,
                Some(None) => rprov_transport::Persist::Off,
                Some(Some(s)) => rprov_transport::Persist::For(s),
            },
        },
        connection_defaults: connection_defaults(&args, &cfg),
        extra_vars,
        limit: args.run.limit.clone(),
        timings: args.run.timings,
        max_loop_items: args.run.max_loop_items,
        show_custom_stats: cfg.show_custom_stats.as_ref().is_some_and(|s| s.value),
        hash_merge,
        start_at_task: args.start_at_task.clone(),
        smart_gathering: cfg
            .gathering
            .as_ref()
            .is_some_and(|s| s.value == ansible_cfg::Gathering::Smart),
        allow_broken_conditionals: cfg
            .allow_broken_conditionals
            .as_ref()
            .is_some_and(|s| s.value),
        ansible_settings: cfg.settings(),
        untrusted_templates: cfg
            .untrusted_templates
            .as_ref()
            .map(|s| s.value)
            .unwrap_or_default(),
    };
    let hosts_in_run = plays_hosts
        .iter()
        .flatten()
        .collect::<std::collections::HashSet<_>>()
        .len();
    match crate::open_files::ensure(crate::open_files::needed(hosts_in_run, opts.forks)) {
        crate::open_files::Raised::Enough => {}
        crate::open_files::Raised::Raised { from, to } => {
            if args.run.verbose > 0 {
                reporter.note(&format!("raised the open-file limit from {from} to {to}"));
            }
        }
        crate::open_files::Raised::TooLow(msg) => reporter.warn(&msg),
    }
    // The fact cache: `--flush-cache` forgets the entries of every host of
    // the inventory, and of `localhost`, as ansible-playbook's does.
    let (fact_cache, problem) = crate::fact_cache::FactCache::open(&cfg.fact_cache);
    if let Some(w) = problem {
        reporter.warn(&w);
    }
    let mut cached_hosts = inventory.hosts();
    cached_hosts.extend(inventory.implicit_localhost().map(str::to_string));
    if args.flush_cache {
        let localhost =
            (!cached_hosts.iter().any(|h| h == "localhost")).then(|| "localhost".to_string());
        for h in cached_hosts.iter().chain(&localhost) {
            if let Err(w) = fact_cache.delete(h) {
                reporter.warn(&w);
            }
        }
    }
    let mut shared = Shared::new(
        inventory,
        playbook,
        opts,
        reporter,
        secrets,
        vault_password,
        identities,
    );
    shared.inventory_source = inventory_source;
    shared.fact_cache = fact_cache;
    shared.preload_fact_cache(cached_hosts);
    let shared = Arc::new(shared);
    // Likewise every vars file with a literal path, once for all hosts.
    shared
        .preload_vars_files(&plays_hosts)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // A name used in a template and defined nowhere is a typo found now,
    // not minutes into the run (see engine::defined).
    for u in engine::undefined_everywhere(&shared, &plays_hosts) {
        let near = u
            .near
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        eprintln!(
            "warning: {}: variable `{}` is defined nowhere (inventory, play or role vars, vars_files, secrets, -e, register, set_fact, facts){near}",
            u.at, u.name
        );
    }
    // Control directories of earlier runs that were killed (their masters
    // exit on their own: see rprov_transport's ssh module).
    rprov_transport::remove_stale_control_dirs(&rprov_transport::control_parent());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(engine::run(shared, plays_hosts, loading.elapsed()));
    Ok(if let Some(signo) = outcome.interrupted {
        Outcome::Interrupted(signo)
    } else if outcome.any_failed() {
        Outcome::TaskFailed
    } else if outcome.any_unreachable() {
        Outcome::Unreachable
    } else {
        Outcome::Success
    })
}

/// Refuses connection variables no run could use (`ansible_port=99999`, an
/// unknown `ansible_connection`) before any host is touched: a configuration
/// error (exit 1) naming the host and the variable, instead of a task failure
/// on that host alone. Only what the inventory and `-e` say literally is
/// checked; a templated value (`{{ port }}`) or one a play sets is checked
/// when the task that uses it runs.
/// Logins at once when `--connect-limit` is not given: 32 per CPU core.
/// Measured at 250 hosts on 2 cores (docs/scaling.md): unbounded, the key
/// exchanges starve each other and 45 to 136 hosts failed to log in; 32 at
/// once logged all in in 24 s, 64 in 19 to 21 s. A login away from loopback
/// mostly waits on round trips, so the bound is loose enough not to slow a
/// fleet 50 ms away.
fn default_connect_limit() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from) * 32
}

fn check_connection_vars(
    inventory: &Inventory,
    plays_hosts: &[Vec<String>],
    extra_vars: &Vars,
    inventory_path: &Path,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for host in plays_hosts.iter().flatten() {
        if !seen.insert(host) {
            continue;
        }
        let mut vars = inventory.host_vars(host);
        vars.extend(extra_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars.retain(|_, v| !v.as_str().is_some_and(rprov_template::is_template));
        if let Err(e) = rprov_inventory::ConnectionVars::from_vars(host, &vars) {
            let var = match &e {
                // A connection plugin rprov lacks makes the host unreachable
                // when a task needs it (`TargetKind::Unsupported`), as
                // ansible-core fails such a host at run time.
                InventoryError::ConnectionVar { var, .. } if var == "ansible_connection" => {
                    continue
                }
                InventoryError::ConnectionVar { var, .. } => var.as_str(),
                _ => "it",
            };
            let file = crate::diag::display_path(inventory_path);
            bail!(
                "{file}: {e}\n  = help: correct {var} of {host} where the inventory sets it ({}, group_vars/, host_vars/) or override it with -e",
                inventory_path.file_name().map_or(file.clone(), |f| f.to_string_lossy().into_owned())
            );
        }
    }
    Ok(())
}

/// secrets.age next to the playbook (or `--secrets`), decrypted once per run.
fn load_secrets(
    args: &ApplyArgs,
    ids: &rprov_secrets::IdentityOptions,
    playbook_dir: &Path,
    reporter: &Reporter,
) -> Result<Vars> {
    let loaded = match &args.run.secrets {
        Some(p) => Some(rprov_secrets::load(p, ids)?),
        None => rprov_secrets::load_if_exists(&playbook_dir.join("secrets.age"), ids)?,
    };
    Ok(match loaded {
        Some(s) => {
            reporter.add_secrets(s.redactor());
            s.vars.into_iter().collect()
        }
        None => Vars::new(),
    })
}

/// `-e key=value key2=value2`, `-e '{"json": 1}'`, `-e 'yaml: 1'` or `-e @file.yml`.
pub fn parse_extra_vars(items: &[String]) -> Result<Vars> {
    let mut out = Vars::new();
    for item in items {
        let (text, origin) = match item.strip_prefix('@') {
            Some(path) => (
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read extra vars file {path}"))?,
                PathBuf::from(path),
            ),
            None => (item.clone(), PathBuf::from("-e")),
        };
        let trimmed = text.trim_start();
        if item.starts_with('@')
            || trimmed.starts_with('{')
            || (trimmed.contains(": ") && !trimmed.contains('='))
        {
            let doc = crate::yaml::parse_str(&text, &origin).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut value = doc.root.to_json();
            if trimmed.starts_with('{') {
                crate::yaml::unwrap_json_unsafe(&mut value);
            }
            match value {
                serde_json::Value::Object(m) => out.extend(m),
                serde_json::Value::Null => {}
                _ => bail!("extra vars `{item}` must be a mapping"),
            }
        } else {
            let kv = crate::playbook::parse_free_form(&text, false);
            if kv.contains_key("_raw_params") {
                bail!("extra vars `{item}`: expected key=value words, JSON, YAML or @file");
            }
            out.extend(kv);
        }
    }
    Ok(out)
}

fn inventory(args: InventoryArgs) -> Result<Outcome> {
    let as_ansible = args.as_ansible_inventory;
    // ansible-inventory's warnings are `[WARNING]: `, rprov's `warning: `.
    let warn = |w: &str| match as_ansible {
        true => eprintln!("[WARNING]: {w}"),
        false => eprintln!("warning: {w}"),
    };
    let actions = [args.list, args.host.is_some(), args.graph];
    match actions.iter().filter(|a| **a).count() {
        // rprov lists by default; ansible-inventory wants to be told.
        0 if as_ansible => {
            return Err(OptionsError(
                "No action selected, at least one of --host, --graph or --list needs to be \
                 specified."
                    .into(),
            )
            .into())
        }
        0 | 1 => {}
        _ => {
            return Err(OptionsError(
                "Conflicting options used, only one of --host, --graph or --list can be used at \
                 the same time."
                    .into(),
            )
            .into())
        }
    }
    let cfg = load_config()?;
    for w in &cfg.warnings {
        warn(w);
    }
    let sources = inventory_sources(&args.inventory, &cfg);
    let inventory_file = sources.first().cloned();
    let password = vault_password(args.vault_password_file.as_deref(), &cfg)?;
    // Without a password, `!vault` values are shown as their (encrypted) text.
    let vault = crate::varsfile::InventoryVault::new(password.as_deref());
    let decrypt = password
        .is_some()
        .then_some(&vault as &dyn rprov_inventory::VaultDecrypt);
    // Before the inventory: a `constructed` source may use them.
    let extra = parse_extra_vars(&args.extra_vars)?;
    let src = SourceOptions::new(&cfg, decrypt, Some(&extra));
    let hash_merge = cfg.hash_merge.as_ref().is_some_and(|s| s.value);
    // As ansible-inventory (with ansible-core's default
    // `inventory_unparsed_failed = False`): a source that is missing or does
    // not parse is a warning and adds nothing; with none parsed there is only
    // the implicit localhost. rprov itself stops at the error. Each source
    // is read into what those before it made (a `constructed` one works on
    // their hosts).
    let mut parsed: Option<Inventory> = None;
    for source in &sources {
        if as_ansible && is_missing_inventory(source) {
            warn(&unparsed_inventory(source));
            continue;
        }
        let done = match parsed {
            Some(ref mut inv) => add_source(inv, source, src, warn),
            None => open_inventory(Some(source), src, warn).map(|mut inv| {
                inv.set_hash_merge(hash_merge);
                parsed = Some(inv);
            }),
        };
        match done {
            Err(e) if as_ansible => {
                warn(&format!("Failed to parse inventory: {e}"));
                warn(&unparsed_inventory(source));
            }
            other => other?,
        }
    }
    let mut inv = match parsed {
        Some(inv) => inv,
        None => open_inventory(None, src, warn)?,
    };
    let playbook_dir = args
        .playbook
        .as_ref()
        .and_then(|pb| std::path::absolute(pb).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf));
    for dir in playbook_dir.iter().chain(&args.playbook_dir) {
        inv.add_vars_dir_with(dir, decrypt)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let view = crate::inventory_view::View {
        inv: &inv,
        export: args.export,
        extra: &extra,
    };
    let secrets = vault.into_secrets();
    // Decrypted vault values are masked as values, before they become text;
    // JSON and YAML as ansible-inventory writes them (keys sorted).
    let dump = |v: &serde_json::Value| {
        let v = secrets.redact_json(v);
        match args.yaml {
            true => rprov_template::filters::yaml::dump(&v, 2, false),
            false => rprov_template::filters::json::dumps(
                &v,
                rprov_template::filters::json::DumpOptions {
                    indent: Some(4),
                    sort_keys: true,
                    ensure_ascii: true,
                },
            ),
        }
    };
    let text = if let Some(h) = &args.host {
        let host = inventory_host(&inv, h, inventory_file.as_deref(), as_ansible, warn)?;
        dump(&serde_json::Value::Object(
            view.host_vars(&host).into_iter().collect(),
        ))
    } else if args.graph {
        let group = args.group.as_deref().unwrap_or("all");
        match view.graph(group, args.show_vars) {
            Some(g) => g,
            None => {
                return Err(OptionsError(
                    "Pattern must be valid group name when using --graph".into(),
                )
                .into())
            }
        }
    } else {
        let available = match &args.limit {
            None => inv.hosts(),
            Some(p) if !as_ansible => select_limit(&inv, p)?,
            // ansible-core warns of a limit that matches nothing, and
            // lists no host.
            Some(p) => match inv.select(p) {
                Ok(hosts) => hosts,
                Err(InventoryError::NoMatch { .. }) => {
                    warn(&format!(
                        "Could not match supplied host pattern, ignoring: {p}"
                    ));
                    Vec::new()
                }
                Err(e) => bail!("{e}"),
            },
        };
        match args.yaml {
            true => dump(&view.list_yaml(&available)),
            false => dump(&view.list_json(&available)),
        }
    };
    match &args.output_file {
        // As ansible-inventory: the file gets the text without a newline.
        Some(f) => std::fs::write(f, text.trim_end_matches('\n')).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "Unable to write to destination file '{}'.",
                f.display()
            ))
        })?,
        None => println!("{}", text.trim_end_matches('\n')),
    }
    Ok(Outcome::Success)
}

/// The one host `--host NAME` shows: as ansible-inventory, NAME is a
/// pattern that must select exactly one host (the implicit localhost too);
/// as rprov, a host of the inventory.
fn inventory_host(
    inv: &Inventory,
    name: &str,
    inventory_file: Option<&Path>,
    as_ansible: bool,
    warn: impl Fn(&str),
) -> Result<String> {
    if as_ansible {
        let hosts = match inv.select(name) {
            Ok(hosts) => hosts,
            Err(InventoryError::NoMatch { .. }) => {
                warn(&format!(
                    "Could not match supplied host pattern, ignoring: {name}"
                ));
                Vec::new()
            }
            Err(e) => bail!("{e}"),
        };
        return match hosts.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(
                OptionsError("You must pass a single valid host to --host parameter".into()).into(),
            ),
        };
    }
    if !inv.hosts().iter().any(|h| h == name) {
        match inventory_file {
            Some(f) => bail!("host `{name}` is not in {}", f.display()),
            None => {
                bail!("host `{name}` is not in the inventory: none was given ({NO_INVENTORY})")
            }
        }
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_vars_forms() {
        let v = parse_extra_vars(&[
            "a=1 b='x y'".into(),
            "{\"c\": [1, 2]}".into(),
            "d: yes".into(),
        ])
        .unwrap();
        assert_eq!(v["a"], "1");
        assert_eq!(v["b"], "x y");
        assert_eq!(v["c"], serde_json::json!([1, 2]));
        assert_eq!(v["d"], serde_json::json!(true));
        assert!(parse_extra_vars(&["justaword".into()]).is_err());
    }
}
