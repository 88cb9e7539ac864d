//! `rprov secrets ...`: clap definitions and the command implementations.
//!
//! The main binary embeds [`SecretsArgs`] as a subcommand and calls [`run`]; this
//! module prints only the command's own output (decrypted YAML for `view`, a value
//! for `get`) to stdout and short notes to stderr, and leaves fatal error printing
//! and exit codes to the binary.
//!
//! Values are never taken from the command line (`set KEY` reads stdin): argv ends up
//! in shell history and in `ps` output.

use std::io::{Read, Write};
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::edit::{EditOptions, EditOutcome};
use crate::file::{self, WriteKey};
use crate::identity::{self, Env, IdentityOptions};
use crate::{keypath, vault, SecretsError, Vars};

/// Manage the age-encrypted secrets file.
#[derive(Clone, Debug, clap::Args)]
#[command(
    about = "Manage the age-encrypted secrets file (secrets.age)",
    long_about = "Manage the age-encrypted secrets file: a YAML map of variables, encrypted with age, \
                  loaded by `rprov apply` like a vars file and masked in all output.\n\n\
                  Identities are looked up in this order: --identity, $RPROV_AGE_IDENTITY, \
                  $SOPS_AGE_KEY_FILE, ~/.config/rprov/identity.txt. New content is encrypted to \
                  the keys listed in secrets.recipients beside the file."
)]
pub struct SecretsArgs {
    /// The encrypted secrets file.
    #[arg(
        long,
        global = true,
        default_value = "secrets.age",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// An age identity file or SSH private key (ed25519 or RSA) to decrypt with; repeatable.
    /// When given, the environment and the default path are not consulted.
    /// Accepted before or after the subcommand (`secrets get KEY --identity FILE`), as
    /// `apply --identity` is.
    #[arg(long, global = true, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Read the passphrase of a passphrase-encrypted file (or of a passphrase-protected
    /// SSH key identity) from FILE instead of the terminal.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: SecretsCommand,
}

/// The `rprov secrets` subcommands.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Create a new age identity and a secrets.recipients file with its public key.
    ///
    /// The identity goes to the first --identity, else $RPROV_AGE_IDENTITY, else
    /// ~/.config/rprov/identity.txt (mode 0600). Existing files are never overwritten.
    Init,
    /// Edit the secrets in $EDITOR (or $VISUAL, or vi); creates the file if missing.
    ///
    /// The plaintext copy lives in a private temp directory that is removed afterwards.
    /// The file is re-encrypted only if the content changed. A YAML error re-opens the
    /// editor with the error shown at the top.
    Edit,
    /// Print the decrypted YAML.
    View,
    /// Print one value: a string or number as is, a map or list as YAML.
    Get {
        /// A dotted path such as `db.password` (list items by index: `hosts.0`).
        key: String,
    },
    /// Set a value to the text read from stdin (one trailing newline is stripped).
    ///
    /// The value is never taken from the command line, which would leave it in shell
    /// history. On a terminal it is asked for without echo. Comments in the file are
    /// not kept; use `edit` to keep them.
    Set {
        /// A dotted path such as `db.password`; missing maps on the way are created.
        key: String,
        /// Store an empty value when stdin is empty (refused otherwise: an empty
        /// stdin is usually a mistake, such as a pipe from a failed command).
        #[arg(long)]
        allow_empty: bool,
    },
    /// Remove a value.
    Rm {
        /// A dotted path such as `db.password`.
        key: String,
    },
    /// Re-encrypt the file to the keys currently listed in secrets.recipients.
    ///
    /// Run it after adding or removing a recipient. Also turns a passphrase-encrypted
    /// file into one encrypted to the recipients.
    Rekey,
    /// Convert an Ansible vault file (format 1.1 or 1.2, AES256) into the secrets file.
    ///
    /// The vault's content must be a YAML map. The secrets file must not exist yet.
    ImportVault {
        /// The Ansible vault file to import.
        file: PathBuf,
        /// Read the vault password from FILE (run it if it is executable, as Ansible
        /// does) instead of asking on the terminal.
        #[arg(long, value_name = "FILE")]
        vault_password_file: Option<PathBuf>,
    },
}

/// Runs one `rprov secrets` command with the process environment.
pub fn run(args: SecretsArgs) -> Result<(), SecretsError> {
    let mut stdout = std::io::stdout().lock();
    run_with(
        args,
        &identity::process_env,
        &EditOptions::from_env(),
        &mut std::io::stdin().lock(),
        &mut stdout,
    )
}

/// [`run`] with the environment, editor settings and standard streams supplied,
/// so it can be tested without touching the process state.
pub fn run_with(
    args: SecretsArgs,
    env: Env,
    edit_opts: &EditOptions,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
) -> Result<(), SecretsError> {
    let ids = IdentityOptions {
        identity_files: args.identity.clone(),
        passphrase_file: args.passphrase_file.clone(),
    };
    let path = args.file.as_path();
    let out_err = |e| SecretsError::io("writing to", "stdout", e);
    match args.command {
        SecretsCommand::Init => {
            let id_path = identity::init_identity_path(&ids, env)?;
            let rec_path = identity::recipients_path(path);
            let public = identity::init(&id_path, &rec_path)?;
            eprintln!(
                "created identity {} (keep it private, back it up)\ncreated {} with its public key {public}",
                id_path.display(),
                rec_path.display()
            );
            Ok(())
        }
        SecretsCommand::Edit => {
            match crate::edit::edit(path, &ids, env, edit_opts)? {
                EditOutcome::Written => eprintln!("{} updated", path.display()),
                EditOutcome::Unchanged => eprintln!("no changes; {} untouched", path.display()),
            }
            Ok(())
        }
        SecretsCommand::View => {
            let opened = file::decrypt_file(path, &ids, env)?;
            stdout
                .write_all(opened.plaintext.as_bytes())
                .map_err(out_err)?;
            if !opened.plaintext.is_empty() && !opened.plaintext.ends_with('\n') {
                stdout.write_all(b"\n").map_err(out_err)?;
            }
            Ok(())
        }
        SecretsCommand::Get { key } => {
            let opened = file::decrypt_file(path, &ids, env)?;
            let vars = file::parse_vars(&opened.plaintext, path)?;
            let value = keypath::get(&vars, &key)?;
            let text = Zeroizing::new(render_value(value));
            stdout.write_all(text.as_bytes()).map_err(out_err)?;
            if !text.ends_with('\n') {
                stdout.write_all(b"\n").map_err(out_err)?;
            }
            Ok(())
        }
        SecretsCommand::Set { key, allow_empty } => {
            let (mut vars, mode) = open_or_empty(path, &ids, env)?;
            let write_key = WriteKey::for_file(path, mode.as_ref())
                .map_err(|e| with_own_keys(e, path, &ids, env))?;
            let value = read_value(stdin, &key, edit_opts.interactive)?;
            if value.is_empty() && !allow_empty {
                return Err(SecretsError::EmptyValue { key });
            }
            keypath::set(
                &mut vars,
                &key,
                serde_json::Value::String(value.to_string()),
            )?;
            write_vars(path, &vars, &write_key)
        }
        SecretsCommand::Rm { key } => {
            let opened = file::decrypt_file(path, &ids, env)?;
            let mut vars = file::parse_vars(&opened.plaintext, path)?;
            let write_key = WriteKey::for_file(path, Some(&opened.mode))
                .map_err(|e| with_own_keys(e, path, &ids, env))?;
            keypath::remove(&mut vars, &key)?;
            write_vars(path, &vars, &write_key)
        }
        SecretsCommand::Rekey => {
            let opened = file::decrypt_file(path, &ids, env)?;
            file::parse_vars(&opened.plaintext, path)?;
            let write_key =
                WriteKey::for_file(path, None).map_err(|e| with_own_keys(e, path, &ids, env))?;
            file::write_encrypted(path, &opened.plaintext, &write_key)?;
            eprintln!(
                "{} re-encrypted to the keys in {}",
                path.display(),
                identity::recipients_path(path).display()
            );
            Ok(())
        }
        SecretsCommand::ImportVault {
            file: vault_file,
            vault_password_file,
        } => {
            if path.exists() {
                return Err(SecretsError::AlreadyExists {
                    path: path.to_owned(),
                    hint: "import into a new --file and merge by hand with `rprov secrets edit`"
                        .into(),
                });
            }
            let write_key = WriteKey::for_file(path, None)?;
            let password = Zeroizing::new(match &vault_password_file {
                Some(p) => vault::read_vault_password_file(p)?,
                None => identity::prompt_secret("Vault password: ")
                    .filter(|p| !p.is_empty())
                    .map(String::into_bytes)
                    .ok_or_else(|| SecretsError::PassphraseUnavailable {
                        what: vault_file.display().to_string(),
                    })?,
            });
            let text = std::fs::read_to_string(&vault_file)
                .map_err(|e| SecretsError::io("reading", &vault_file, e))?;
            let plain = Zeroizing::new(vault::decrypt_vault(&text, &password)?);
            let vars = file::parse_vars(&plain, &vault_file)?;
            file::write_encrypted(path, &plain, &write_key)?;
            eprintln!(
                "imported {} variables from {} into {}; delete the vault file once you have checked the result",
                vars.len(),
                vault_file.display(),
                path.display()
            );
            Ok(())
        }
    }
}

/// A missing recipients file, with the keys it would need for its user to
/// read what they are about to write: the public keys of the identities they
/// use now (the file has no list of its recipients: X25519 stanzas do not name
/// their public keys). Any other error passes unchanged.
fn with_own_keys(
    e: SecretsError,
    file: &std::path::Path,
    ids: &IdentityOptions,
    env: Env,
) -> SecretsError {
    match e {
        SecretsError::Recipients { path, reason } if !path.exists() => {
            let keys = identity::own_public_keys(ids, env, file);
            let reason = if keys.is_empty() {
                reason
            } else {
                let lines: Vec<String> = keys
                    .iter()
                    .map(|(k, from)| format!("\n      {k}    (your identity {})", from.display()))
                    .collect();
                format!(
                    "{reason}. To keep the file readable with the identity you use now, it needs at least:{}",
                    lines.concat()
                )
            };
            SecretsError::Recipients { path, reason }
        }
        other => other,
    }
}

/// A string as is, a number or boolean as text, anything else as YAML.
fn render_value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => serde_saphyr::to_string(other).unwrap_or_else(|_| other.to_string()),
    }
}

fn open_or_empty(
    path: &std::path::Path,
    ids: &IdentityOptions,
    env: Env,
) -> Result<(Vars, Option<file::KeyMode>), SecretsError> {
    match file::decrypt_file(path, ids, env) {
        Ok(o) => Ok((file::parse_vars(&o.plaintext, path)?, Some(o.mode))),
        Err(SecretsError::NotFound { .. }) => Ok((Vars::new(), None)),
        Err(e) => Err(e),
    }
}

/// Reads the value for `set`: without echo on a terminal, else all of stdin with one
/// trailing newline removed.
fn read_value(
    stdin: &mut dyn Read,
    key: &str,
    interactive: bool,
) -> Result<Zeroizing<String>, SecretsError> {
    let err = |e| SecretsError::io("reading the value from", "stdin", e);
    let mut raw = Zeroizing::new(String::new());
    if interactive {
        if let Some(v) = identity::prompt_secret(&format!("Value for {key}: ")) {
            return Ok(Zeroizing::new(v));
        }
    }
    stdin.read_to_string(&mut raw).map_err(err)?;
    let v = raw
        .strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(&raw);
    Ok(Zeroizing::new(v.to_owned()))
}

fn write_vars(path: &std::path::Path, vars: &Vars, key: &WriteKey) -> Result<(), SecretsError> {
    let text =
        Zeroizing::new(
            serde_saphyr::to_string(vars).map_err(|e| SecretsError::Encrypt {
                file: path.to_owned(),
                reason: format!("serialising YAML: {e}"),
            })?,
        );
    file::write_encrypted(path, &text, key)
}
