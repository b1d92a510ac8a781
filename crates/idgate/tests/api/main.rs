//! One integration binary for the whole application (see helpers.rs for how apps are started).

mod cli;
mod cli_admin;
mod cli_apps;
mod cli_provisioning;
mod cli_saml;
mod cli_sso;
mod console;
mod console_apps;
mod console_pages;
mod forward_auth;
mod helpers;
mod ops;
mod routes;
mod saml_acs;
mod saml_encrypted;
mod saml_fields;
mod saml_identity;
mod saml_sessions;
mod scim;
mod scim_clients;
mod scim_deleted;
mod scim_groups;
mod scim_parallel;
mod sso_metadata;
mod team_rename;
mod tls;
