//! Real OpenSSH servers for rprov's integration tests.
//!
//! rprov's transport talks to hosts through the system `ssh` client, so the only
//! honest test partner is a real `sshd`. This crate starts one per test on
//! loopback ([`Sshd::start`]), or several in network namespaces so that each one is a
//! separate network host with its own address ([`Fleet::start`]). Everything lives in
//! temp dirs and is torn down on `Drop`.
//!
//! Nothing here skips silently: a missing tool, a missing test user or missing root
//! rights is an error whose message says how to fix it (usually "run
//! scripts/testenv.sh"), so a misconfigured CI fails loudly instead of passing
//! vacuously.

#![deny(missing_docs)]

mod error;
mod fleet;
pub mod fuzz;
mod proc;
mod sshd;
mod tools;

pub use error::TestbedError;
pub use fleet::Fleet;
pub use sshd::Sshd;
pub use tools::{require_root, require_root_tools};
