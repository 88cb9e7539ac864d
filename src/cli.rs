//! The command line: every flag with its help, in one place. `--help`, the
//! subcommand helps and shell completions are all generated from here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// rprov applies Ansible-style playbooks to hosts over SSH, without Python on
/// the hosts: it reads each host's state in one round trip, shows what would
/// change as diffs, and changes only what differs.
#[derive(Parser, Debug)]
#[command(name = "rprov", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  rprov apply -i inventory/hosts.ini --limit test\n  rprov apply -i inventory/hosts.ini --limit vagrant --check\n  rprov adhoc -i inventory/hosts.ini all -m ping\n  rprov inventory -i inventory/hosts.ini --host vm"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The name under which rprov stands in for `ansible-playbook`.
const ANSIBLE_PLAYBOOK: &str = "ansible-playbook";

/// The name under which rprov stands in for `ansible-inventory`.
const ANSIBLE_INVENTORY: &str = "ansible-inventory";

/// The name under which rprov stands in for `ansible`, the ad-hoc command.
const ANSIBLE: &str = "ansible";

/// Which program rprov was started as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// `rprov`, with its own subcommands.
    Rprov,
    /// `ansible-playbook`: `rprov apply --output=ansible`.
    AnsiblePlaybook,
    /// `ansible-inventory`: `rprov inventory --as-ansible-inventory`.
    AnsibleInventory,
    /// `ansible`: `rprov adhoc`.
    Ansible,
}

impl Persona {
    /// Whether rprov stands in for one of Ansible's programs, whose
    /// argument parser exits 2 on a usage error.
    pub fn is_ansible(self) -> bool {
        self != Persona::Rprov
    }
}

/// The command line to parse, and which program rprov was started as: a
/// link named `ansible-playbook` (first on `PATH`) makes it `rprov apply`
/// with the arguments given, one named `ansible-inventory` `rprov
/// inventory`, one named `ansible` `rprov adhoc`, so scripts and CI jobs written for those programs run
/// unchanged, with their exit codes.
pub fn command_line() -> (Vec<OsString>, Persona) {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_os_string());
    let persona = match name {
        Some(n) if n == ANSIBLE_PLAYBOOK => Persona::AnsiblePlaybook,
        Some(n) if n == ANSIBLE_INVENTORY => Persona::AnsibleInventory,
        Some(n) if n == ANSIBLE => Persona::Ansible,
        _ => Persona::Rprov,
    };
    // `ansible --version` and its kind: rprov's version, not a subcommand's.
    if persona.is_ansible() && args.iter().skip(1).any(|a| a == "--version") {
        return (vec!["rprov".into(), "--version".into()], persona);
    }
    let head: &[&str] = match persona {
        Persona::Rprov => return (args, persona),
        Persona::AnsiblePlaybook => &["rprov", "apply", "--output=ansible"],
        Persona::AnsibleInventory => &["rprov", "inventory", "--as-ansible-inventory"],
        Persona::Ansible => &["rprov", "adhoc"],
    };
    args.splice(0..1, head.iter().map(OsString::from));
    (args, persona)
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply a playbook (site.yml by default) to the hosts of an inventory.
    Apply(Box<ApplyArgs>),
    /// Run one module on the hosts of a pattern, as Ansible's `ansible` does.
    ///
    /// Examples: `rprov adhoc -i hosts.ini web -m ping`, `rprov adhoc -i
    /// hosts.ini all -a uptime`, `rprov adhoc -i hosts.ini db -b -m apt -a
    /// name=postgresql`.
    Adhoc(Box<AdhocArgs>),
    /// List the inventory's groups and hosts, or one host's variables.
    Inventory(InventoryArgs),
    /// Create, edit and read the age-encrypted secrets file (secrets.age).
    Secrets(rprov_secrets::cli::SecretsArgs),
    /// List the modules rprov supports and their arguments.
    Modules {
        /// The Python that imports ansible-core, for the fallback line.
        #[arg(long, value_name = "PYTHON", env = "RPROV_ANSIBLE_PYTHON")]
        ansible_python: Option<PathBuf>,
        /// One JSON document: each module with its arguments and what each takes
        /// (`str`, `bool`, `int`, `number`, `list`, `mode`, `any`, or its choices).
        #[arg(long)]
        json: bool,
    },
    /// Show which ansible.cfg was read and the settings taken from it and from
    /// `ANSIBLE_*` variables.
    Config,
    /// Print a shell completion script (e.g. `rprov completions bash > /etc/bash_completion.d/rprov`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// The playbook to apply; several (in one directory) run in order as one
    /// run, as ansible-playbook runs them.
    #[arg(value_name = "PLAYBOOK", default_value = "site.yml")]
    pub playbook: Vec<PathBuf>,

    /// Load the playbook (and every role and file it imports), report what
    /// is wrong with it, and run nothing. Needs no inventory.
    #[arg(long)]
    pub syntax_check: bool,

    /// List each play's tasks that --tags and --skip-tags select, with their
    /// tags, as ansible-playbook does, and run nothing.
    #[arg(long)]
    pub list_tasks: bool,

    /// List the tags of each play's tasks that --tags and --skip-tags
    /// select, as ansible-playbook does, and run nothing.
    #[arg(long)]
    pub list_tags: bool,

    /// Skip every task before the first whose name (or `role : name`) is
    /// NAME or matches it as a glob (`*`, `?`, `[…]`), as ansible-playbook's:
    /// plays before it run nothing, later plays run whole.
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,

    /// Only run tasks with these tags (comma-separated or repeated).
    #[arg(short = 't', long, value_delimiter = ',', value_name = "TAGS")]
    pub tags: Vec<String>,

    /// Skip tasks with these tags.
    #[arg(long, value_delimiter = ',', value_name = "TAGS")]
    pub skip_tags: Vec<String>,

    /// Run the handlers notified so far on a host even when one of its tasks
    /// failed, in plays without a `force_handlers` keyword [default:
    /// `force_handlers` of ansible.cfg].
    #[arg(long)]
    pub force_handlers: bool,

    /// Forget the fact cache's entries of the inventory's hosts before the
    /// run (ansible.cfg's `fact_caching`; nothing to forget with the
    /// default `memory` cache).
    #[arg(long)]
    pub flush_cache: bool,

    /// Output format: human-readable lines, one JSON object per line, or
    /// ansible-playbook's own output (the default when rprov runs as
    /// `ansible-playbook`).
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct AdhocArgs {
    /// The hosts: an Ansible pattern (`all`, `web`, `web:!db`, `localhost`).
    #[arg(value_name = "PATTERN")]
    pub pattern: String,

    /// The module to run.
    #[arg(
        short = 'm',
        long = "module-name",
        value_name = "MODULE",
        default_value = "command"
    )]
    pub module_name: String,

    /// The module's arguments: `key=value ...`, the command line of
    /// `command`, `shell` and `raw`, or a JSON object.
    #[arg(short = 'a', long = "args", value_name = "ARGS")]
    pub args: Option<String>,

    /// Run the module in the background (`async`), for at most SECONDS.
    #[arg(short = 'B', long = "background", value_name = "SECONDS")]
    pub background: Option<u64>,

    /// With --background, look at the job every SECONDS; 0 starts it and
    /// does not wait [default: 15].
    #[arg(short = 'P', long = "poll", value_name = "SECONDS")]
    pub poll: Option<u64>,

    /// Fail the task on a host that takes longer than SECONDS (`timeout`).
    #[arg(long, value_name = "SECONDS")]
    pub task_timeout: Option<u64>,

    /// Where `roles/`, `group_vars/`, `host_vars/` and `secrets.age` are
    /// looked for, as a playbook's directory [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub playbook_dir: Option<PathBuf>,

    /// Each host's result on one line.
    #[arg(short = 'o', long)]
    pub one_line: bool,

    /// One JSON object per line, as `apply --output json` writes them,
    /// instead of a block per host.
    #[arg(long)]
    pub json: bool,

    /// Forget the fact cache's entries of the inventory's hosts before the
    /// run, as `apply --flush-cache`.
    #[arg(long)]
    pub flush_cache: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

/// What `apply` and `adhoc` share: the inventory, how hosts are reached
/// and become, what is checked and shown, and the secrets.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The inventory: an Ansible INI or YAML file, or hosts separated by
    /// commas (`web1,web2:2222` or `web1,`); given several times, the
    /// sources are read into one inventory, later ones over earlier ones
    /// [default: `inventory` of ansible.cfg or $ANSIBLE_INVENTORY, else
    /// /etc/ansible/hosts].
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<PathBuf>,

    /// Log in as this user where no `remote_user` keyword or `ansible_user`
    /// variable says otherwise [default: `remote_user` of ansible.cfg].
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,

    /// Become root (or --become-user) with sudo where no `become` keyword or
    /// `ansible_become` variable says otherwise [default: `become` of
    /// ansible.cfg].
    #[arg(short = 'b', long = "become")]
    pub become_: bool,

    /// Whom `become` makes you where no `become_user` keyword or variable says
    /// otherwise [default: `become_user` of ansible.cfg, else root].
    #[arg(long, value_name = "USER")]
    pub become_user: Option<String>,

    /// How to reach hosts where no `connection` keyword or `ansible_connection`
    /// variable says otherwise: `ssh` or `local` (also `smart`, `paramiko`,
    /// served by OpenSSH).
    #[arg(short = 'c', long, value_name = "CONNECTION", value_parser = parse_connection)]
    pub connection: Option<String>,

    /// The SSH key to log in with where no `ansible_ssh_private_key_file`
    /// variable names one [default: `private_key_file` of ansible.cfg].
    #[arg(long, alias = "key-file", value_name = "FILE")]
    pub private_key: Option<PathBuf>,

    /// Only these hosts: an Ansible pattern (`web`, `web:db`, `all:!prod`, `web:&eu`, `web*`,
    /// `~regex`).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,

    /// Dry run: show every change as a diff and write nothing to any host.
    #[arg(short = 'C', long)]
    pub check: bool,

    /// List each play's hosts (after --limit), as ansible-playbook does, and
    /// run nothing.
    #[arg(long)]
    pub list_hosts: bool,

    /// Show file changes as unified diffs (always on with --check).
    #[arg(short = 'D', long)]
    pub diff: bool,

    /// Extra variables, highest precedence: `key=value ...`, JSON/YAML, or `@file.yml`. Repeatable.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,

    /// How many hosts to work on at once [default: `forks` of ansible.cfg or
    /// $ANSIBLE_FORKS, else 50].
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<usize>,

    /// How many hosts may be logging in at once [default: 32 per CPU core].
    /// A login's key exchange is CPU work on both ends: hundreds at once on a
    /// small controller can each take longer than --connect-timeout.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_limit: Option<u32>,

    /// Trust the SSH host key of hosts seen for the first time (a changed key is still refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,

    /// Keep each host's SSH master for the next run, for SECONDS after its
    /// last use (0: off, whatever the ssh arguments say). The next run within
    /// that time skips the login. Off by default: a kept master is a
    /// logged-in session left on this machine; ssh ends it SECONDS after its
    /// last use, even if rprov is killed. Without it, a `ControlPersist`
    /// among a host's ssh arguments (ansible.cfg `ssh_args`,
    /// `ansible_ssh_common_args`, …) sets it, as in Ansible.
    #[arg(long, value_name = "SECONDS", env = "RPROV_PERSIST")]
    pub persist: Option<u32>,

    /// The most text one template or variable may render to, and the largest
    /// template source read (bytes, or with K, M, G): a bound that turns a
    /// runaway template into an error naming it instead of exhausting memory.
    #[arg(long, default_value = "64M", value_name = "SIZE", value_parser = rprov_template::limits::parse_size)]
    pub max_render_size: usize,

    /// The most items one task's loop may have: a bound that turns a runaway
    /// loop (a wrong variable, a huge range) into an error naming it.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_loop_items: usize,

    /// Seconds to wait for an SSH connection [default: `timeout` of
    /// ansible.cfg or $ANSIBLE_TIMEOUT, else 10].
    #[arg(short = 'T', long, visible_alias = "timeout", value_name = "SECONDS")]
    pub connect_timeout: Option<u64>,

    /// After the recap, show where each host's time went: connect, probe and
    /// apply (remote commands: count and ms), local (compile, plan, report),
    /// and the run's load; with `--output json`, a `{"timings": …}` line
    /// just before the recap.
    #[arg(long)]
    pub timings: bool,

    /// Show task results (repeat for more).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The secrets file [default: secrets.age next to the playbook, if present].
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,

    /// An age identity or SSH private key to decrypt secrets with (repeatable).
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,

    /// Read the passphrase of a passphrase-encrypted secrets file (or of a
    /// passphrase-protected SSH key given as identity) from this file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// The Python on this machine that imports ansible-core, for tasks whose
    /// module rprov does not have natively: ansible-core builds Ansible's own
    /// module and rprov runs it with the host's Python [default: python3].
    #[arg(long, value_name = "PYTHON", env = "RPROV_ANSIBLE_PYTHON")]
    pub ansible_python: Option<PathBuf>,

    /// What the Ansible fallback may run: `all` (ansible-core's modules and
    /// plugins, a collection's, and custom ones of `library/` and plugin
    /// folders), `custom` (only custom ones: ansible-core's and collections'
    /// stay refused, so every builtin task runs natively or not at all), or
    /// `off`.
    #[arg(
        long,
        value_name = "SCOPE",
        env = "RPROV_ANSIBLE_FALLBACK",
        default_value = "all"
    )]
    pub ansible_fallback: crate::modules::ansible_fallback::Scope,

    /// Password file (or script) for Ansible vault files and `!vault` values in
    /// vars_files, group_vars/ and host_vars/ [default: `vault_password_file`
    /// of ansible.cfg or $ANSIBLE_VAULT_PASSWORD_FILE].
    #[arg(long, value_name = "FILE")]
    pub vault_password_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// The inventory: an Ansible INI or YAML file, or hosts separated by
    /// commas; given several times, the sources are read into one inventory
    /// [default: as for `apply`].
    #[arg(
        short = 'i',
        long = "inventory",
        alias = "inventory-file",
        value_name = "INVENTORY"
    )]
    pub inventory: Vec<PathBuf>,

    /// Only these hosts (an Ansible pattern); `--host` and `--graph` ignore it.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,

    /// Show the variables of one host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Print everything as `ansible-inventory --list` JSON (the default).
    #[arg(long)]
    pub list: bool,

    /// Draw the group tree from GROUP (`all` by default) down, with its hosts.
    #[arg(long)]
    pub graph: bool,

    /// The group `--graph` starts at.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,

    /// With `--graph`, each host's and group's variables too.
    #[arg(long = "vars")]
    pub show_vars: bool,

    /// YAML instead of JSON (a YAML inventory for `--list`); not for `--graph`.
    #[arg(short = 'y', long)]
    pub yaml: bool,

    /// With `--list`, each group's and host's own variables (groups get
    /// `vars`), as an inventory file would hold them, instead of each host's
    /// merged variables.
    #[arg(long)]
    pub export: bool,

    /// Write to FILE instead of the screen.
    #[arg(long = "output", value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Variables over every host's (key=value, JSON, YAML or @file), as
    /// ansible-inventory shows them; not with `--export`.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,

    /// Also read group_vars/ and host_vars/ next to this playbook.
    #[arg(long, value_name = "PLAYBOOK")]
    pub playbook: Option<PathBuf>,

    /// Also read group_vars/ and host_vars/ in this directory (a playbook's).
    #[arg(long, value_name = "DIR")]
    pub playbook_dir: Option<PathBuf>,

    /// Password file (or script) for vault files and `!vault` values in
    /// group_vars/ and host_vars/; their values are shown masked.
    #[arg(long, value_name = "FILE")]
    pub vault_password_file: Option<PathBuf>,

    /// Accepted for ansible-inventory's sake; rprov says no more for it.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, hide = true)]
    pub verbose: u8,

    /// Set when rprov runs as `ansible-inventory`: one of `--list`, `--host`
    /// and `--graph` must be given, errors are ansible-inventory's words and
    /// exit codes, a `--limit` that matches nothing is a warning.
    #[arg(long, hide = true)]
    pub as_ansible_inventory: bool,
}

/// A connection name as `ansible_connection` takes it, kept as written.
fn parse_connection(s: &str) -> Result<String, String> {
    match rprov_inventory::ConnectionKind::parse(s) {
        Some(_) => Ok(s.to_string()),
        None => Err("rprov connects with `ssh` (also `smart`, `paramiko`) or `local`".into()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    /// ansible-playbook's own screen output, for scripts that read it.
    Ansible,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
