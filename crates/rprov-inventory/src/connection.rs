//! How to reach a host, read from its variables with Ansible's names and aliases.
//!
//! The engine should not know that `ansible_ssh_host` is an old spelling of
//! `ansible_host`, or that `"2222"` and `2222` are the same port; this module turns
//! a host's merged variables into one typed value and rejects what rprov cannot do
//! (an unknown `ansible_connection`) before any connection is attempted.

use crate::error::InventoryError;
use crate::{shlex, Vars};
use serde_json::Value;
use std::path::PathBuf;

/// The transport Ansible's `ansible_connection` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// OpenSSH (`ssh`, `smart`, and `paramiko`, which rprov serves with OpenSSH).
    Ssh,
    /// Run on the controller (`local`).
    Local,
}

impl ConnectionKind {
    /// The kind an `ansible_connection` value (or a play's `connection:`)
    /// names, as Ansible spells them, short or with the collection; `None`
    /// for a connection rprov does not have.
    pub fn parse(name: &str) -> Option<ConnectionKind> {
        match name.strip_prefix("ansible.builtin.").unwrap_or(name) {
            "ssh" | "smart" | "paramiko" | "paramiko_ssh" => Some(ConnectionKind::Ssh),
            "local" => Some(ConnectionKind::Local),
            _ => None,
        }
    }
}

/// A host's connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionVars {
    /// `ansible_host`, `ansible_ssh_host`, or the inventory name.
    pub host: String,
    /// `ansible_port` / `ansible_ssh_port`.
    pub port: Option<u16>,
    /// `ansible_user` / `ansible_ssh_user`.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file` / `ansible_private_key_file`.
    pub private_key_file: Option<PathBuf>,
    /// From `ansible_connection` (default ssh).
    pub connection: ConnectionKind,
    /// `ansible_become`.
    pub become_: Option<bool>,
    /// `ansible_become_user`.
    pub become_user: Option<String>,
    /// The ssh arguments in the order Ansible's ssh plugin puts them on the
    /// command line, split like a shell: `ansible_ssh_args`, then
    /// `-o StrictHostKeyChecking=no` when `ansible_host_key_checking` is false,
    /// then `ansible_ssh_common_args`, then `ansible_ssh_extra_args`. ssh
    /// takes the first value of an option, so what comes first wins.
    pub ssh_args: Vec<String>,
    /// For each word of `ssh_args`, the variable it came from (for naming it
    /// when ssh refuses an option).
    pub ssh_args_from: Vec<&'static str>,
}

impl ConnectionVars {
    /// Read the connection settings of `inventory_hostname` from its variables.
    pub fn from_vars(inventory_hostname: &str, vars: &Vars) -> Result<Self, InventoryError> {
        let err = |var: &str, message: String| InventoryError::ConnectionVar {
            host: inventory_hostname.to_string(),
            var: var.to_string(),
            message,
        };
        let first = |names: &[&'static str]| -> Option<(&'static str, &Value)> {
            names
                .iter()
                .find_map(|n| vars.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
        };
        let string = |names: &[&'static str]| -> Result<Option<String>, InventoryError> {
            match first(names) {
                None => Ok(None),
                Some((_, Value::String(s))) => Ok(Some(s.clone())),
                Some((_, Value::Number(n))) => Ok(Some(n.to_string())),
                Some((n, other)) => Err(err(n, format!("expected a string, got {other}"))),
            }
        };

        let host = string(&["ansible_host", "ansible_ssh_host"])?
            .unwrap_or_else(|| inventory_hostname.to_string());
        let port = match first(&["ansible_port", "ansible_ssh_port"]) {
            None => None,
            Some((n, v)) => {
                let parsed = match v {
                    Value::Number(x) => x.as_u64().and_then(|x| u16::try_from(x).ok()),
                    Value::String(s) => s.trim().parse::<u16>().ok(),
                    _ => None,
                };
                match parsed {
                    Some(p) if p > 0 => Some(p),
                    _ => return Err(err(n, format!("expected a port from 1 to 65535, got {v}"))),
                }
            }
        };
        let user = string(&["ansible_user", "ansible_ssh_user"])?;
        let private_key_file =
            string(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?
                .map(PathBuf::from);
        let connection = match string(&["ansible_connection"])?.as_deref() {
            None => ConnectionKind::Ssh,
            Some(name) => ConnectionKind::parse(name).ok_or_else(|| {
                err(
                    "ansible_connection",
                    format!("'{name}' is not supported; use ssh or local"),
                )
            })?,
        };
        let become_ = match first(&["ansible_become"]) {
            None => None,
            Some((n, v)) => Some(boolean(v).ok_or_else(|| {
                err(
                    n,
                    format!("expected a boolean (yes/no, true/false, 1/0), got {v}"),
                )
            })?),
        };
        let become_user = string(&["ansible_become_user"])?;
        let host_key_checking =
            match first(&["ansible_ssh_host_key_checking", "ansible_host_key_checking"]) {
                None => None,
                Some((n, v)) => Some(boolean(v).ok_or_else(|| {
                    err(
                        n,
                        format!("expected a boolean (yes/no, true/false, 1/0), got {v}"),
                    )
                })?),
            };
        let mut ssh_args = Vec::new();
        let mut ssh_args_from = Vec::new();
        for name in [
            "ansible_ssh_args",
            "ansible_ssh_common_args",
            "ansible_ssh_extra_args",
        ] {
            if name == "ansible_ssh_common_args" && host_key_checking == Some(false) {
                ssh_args.extend(["-o".to_string(), "StrictHostKeyChecking=no".to_string()]);
                ssh_args_from.extend(["ansible_host_key_checking"; 2]);
            }
            if let Some(s) = string(&[name])? {
                let words = shlex::split(&s, false)
                    .map_err(|e| err(name, format!("cannot split {s:?}: {e}")))?;
                ssh_args_from.extend(std::iter::repeat_n(name, words.len()));
                ssh_args.extend(words);
            }
        }
        Ok(ConnectionVars {
            host,
            port,
            user,
            private_key_file,
            connection,
            become_,
            become_user,
            ssh_args,
            ssh_args_from,
        })
    }
}

/// Ansible's `boolean()` filter semantics for a variable value.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => {
            let x = n.as_f64()?;
            if x == 1.0 {
                Some(true)
            } else if x == 0.0 {
                Some(false)
            } else {
                None
            }
        }
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}
