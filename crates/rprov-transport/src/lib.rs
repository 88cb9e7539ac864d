//! Running shell commands on a host: over system OpenSSH, or on the controller.
//!
//! Everything rprov does to a host is a POSIX `sh` script (a [`Script`]) run as one
//! remote command, optionally through `sudo`. That keeps the target requirements at
//! "sh, coreutils, sudo" and makes the unit of cost easy to count:
//! [`Connection::commands_run`] is the number of round trips a run needed. The
//! script travels on the command's stdin, ahead of the command's own input; the
//! command line is a fixed bootstrap, so nothing a script holds (a rendered
//! token, a password hash) is readable in the host's process list.
//!
//! SSH goes through the system `ssh` binary via the `openssh` crate: one
//! ControlMaster per host, every command multiplexed over it. Using the real client
//! means the user's `~/.ssh/config`, agent, `ProxyJump` and known_hosts behave
//! exactly as with `ssh` (see [`ssh`] for how inventory ssh arguments are applied).
//!
//! Errors keep "could not use the host" ([`TransportError::Unreachable`], host key
//! and authentication problems) apart from "the command ran and failed": the latter
//! is not an error at all but an [`Output`] with a non-zero status.

#![deny(missing_docs)]

mod connection;
mod error;
mod local;
mod output;
mod persist;
mod quote;
mod ssh;
mod ssh_config;
mod sudo;

pub use connection::{nested_as, ConnectOptions, Connection, SshTarget, Target, TargetKind};
pub use error::TransportError;
pub use output::Output;
pub use persist::Persist;
pub use quote::{quote, Script};
pub use ssh::{control_parent, remove_stale_control_dirs};
