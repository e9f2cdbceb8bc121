//! authelia-secrets: a KRM function that generates, wires and checks Authelia's secrets.
//!
//! The core ([`process::process`]) maps a ResourceList to a ResourceList without IO; [`io`] is
//! the only module that reads stdin, files and the environment.

pub mod catalog;
pub mod catalog_table;
pub mod check;
pub mod config;
pub mod container_env;
pub mod environment;
pub mod error;
pub mod export;
pub mod file_policy;
pub mod generate;
pub mod image;
pub mod interest;
pub mod io;
pub mod keys;
pub mod process;
pub mod references;
pub mod resource;
pub mod resource_list;
pub mod result;
pub mod schema;
pub mod secret;
pub mod suggest;
pub mod values;
pub mod workloads;
pub mod yaml;

pub use error::{Error, Result};

/// The config kinds this binary serves (one legacy plugin path each).
pub const KINDS: [&str; 2] = [config::KIND, config::CHECK_KIND];
