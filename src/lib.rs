//! rprov: an agentless provisioner in the style of Ansible.
//!
//! The pipeline runs in one direction (docs/architecture.md): [`playbook`] loads and checks
//! the user's files, [`engine`] compiles each task per host, [`probe`]s the host
//! in one round trip, lets [`modules`] plan against what it found, and applies
//! only the changes; [`report`] owns the terminal. Inventories, templates,
//! transport and secrets are library crates of their own.

pub mod adhoc;
pub mod ansible_cfg;
pub mod cli;
pub mod diag;
pub mod engine;
pub mod fact_cache;
pub mod inventory_view;
pub mod listing;
pub mod modules;
pub mod open_files;
pub mod playbook;
pub mod probe;
pub mod report;
pub mod run;
pub mod truthy;
pub mod varsfile;
pub mod yaml;
