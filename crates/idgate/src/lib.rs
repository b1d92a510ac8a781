//! idgate: one binary that signs an organisation's people in (SAML 2.0 SP) and provisions their
//! accounts (SCIM 2.0 server), over SQLite or PostgreSQL.
//!
//! `main.rs` only parses the command line and calls [`cli::run`]; everything else lives here so
//! that tests build the very same application ([`startup::Application`]).

pub mod actions;
pub mod certificates;
pub mod cli;
pub mod config;
pub mod console;
pub mod ops;
pub mod pages;
pub mod password;
pub mod startup;
pub mod telemetry;
pub mod tls;
