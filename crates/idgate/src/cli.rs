//! The command line: `idgate serve` (the default), `migrate`, and the admin commands. Every
//! command reads the same configuration as the server, so it works on the same database.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use idgate_store::events::{NewEvent, Outcome};
use idgate_store::{NodeId, Store, admins, events, nodes};
use serde_json::json;

use crate::actions::{self, Actor};
use crate::config::Config;
use crate::startup::{Application, open_store};
use crate::{password, telemetry};

mod apps;
mod directory;
mod oidc;
mod provisioning;
mod sso;

#[derive(Debug, Parser)]
#[command(
    name = "idgate",
    version,
    about = "SAML single sign-on and SCIM provisioning gateway"
)]
pub struct Cli {
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, global = true, env = "IDGATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (what runs when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage nodes (tenants).
    #[command(subcommand)]
    Node(NodeCommand),
    /// Manage administrator accounts of the console.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// SCIM provisioning methods (one per node).
    #[command(subcommand)]
    Scim(provisioning::ScimCommand),
    /// Teams (SCIM groups) and their approval queue.
    #[command(subcommand)]
    Team(provisioning::TeamCommand),
    /// SAML SSO methods.
    #[command(subcommand)]
    Sso(sso::SsoCommand),
    /// SAML tools.
    #[command(subcommand)]
    Saml(sso::SamlCommand),
    /// Applications (OIDC clients) that sign people in through idgate.
    #[command(subcommand)]
    App(apps::AppCommand),
    /// The OpenID Connect provider: its signing keys.
    #[command(subcommand)]
    Oidc(oidc::OidcCommand),
    /// A node's users: list, lock, unlock, identity links.
    #[command(subcommand)]
    User(directory::UserCommand),
    /// Print audit events, newest first, as JSON lines (filters as in the console).
    Events(directory::EventsArgs),
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Create a node; prints its id.
    Create {
        /// The node's name, unique regardless of case.
        name: String,
        #[command(flatten)]
        output: Output,
    },
    /// List nodes.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Rename a node.
    Rename { node_id: NodeId, name: String },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator; the password is read from standard input.
    Create {
        username: String,
        /// Read the password from standard input (required: passwords never go in arguments).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn is_on(self) -> bool {
        self == Switch::On
    }
}

/// A mistake in how a command was called (a missing file, an unreadable argument), as opposed
/// to a refusal of what it was asked to do: `main` exits 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Serve);
    // Commands other than serve keep quiet unless asked (their output is the result).
    let level = match command {
        Command::Serve => config.log.level.clone(),
        _ => "warn".to_owned(),
    };
    telemetry::init(config.log.format, &level);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    match command {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let store = open_store(&config, false).await?;
            let applied = store
                .run(idgate_store::DbConnection::run_migrations)
                .await?;
            println!("{applied} migration(s) applied on {}", store.backend());
        }
        Command::Node(cmd) => node(&open_store(&config, true).await?, cmd).await?,
        Command::Admin(AdminCommand::Create { username, .. }) => {
            admin_create(&open_store(&config, true).await?, &username).await?;
        }
        Command::Scim(cmd) => {
            provisioning::scim(&open_store(&config, true).await?, &config, cmd).await?;
        }
        Command::Team(cmd) => provisioning::team(&open_store(&config, true).await?, cmd).await?,
        Command::Sso(cmd) => sso::run(&open_store(&config, true).await?, &config, cmd).await?,
        Command::Saml(sso::SamlCommand::Check(args)) => sso::check(&args)?,
        Command::App(cmd) => apps::run(&open_store(&config, true).await?, cmd).await?,
        Command::Oidc(cmd) => oidc::run(&open_store(&config, true).await?, cmd).await?,
        Command::User(cmd) => directory::user(&open_store(&config, true).await?, cmd).await?,
        Command::Events(args) => {
            directory::list_events(&open_store(&config, true).await?, args).await?;
        }
    }
    Ok(())
}

async fn node(store: &Store, cmd: NodeCommand) -> anyhow::Result<()> {
    match cmd {
        NodeCommand::Create { name, output } => {
            let node = actions::create_node(store, &Actor::cli(), &name).await?;
            if output.json {
                println!("{}", json!({"node_id": node.id, "name": node.name}));
            } else {
                println!("created node '{}' with id {}", node.name, node.id);
            }
        }
        NodeCommand::Rename { node_id, name } => {
            actions::rename_node(store, &Actor::cli(), node_id, &name).await?;
            println!("renamed node {node_id} to '{}'", name.trim());
        }
        NodeCommand::List { output } => {
            let all = store.run(nodes::list).await?;
            if output.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|n| json!({"node_id": n.id, "name": n.name, "created": rfc3339(n.created_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if all.is_empty() {
                println!("no nodes yet: create one with `idgate node create NAME`");
            } else {
                println!("{:<18} {:<22} NAME", "NODE ID", "CREATED");
                for n in all {
                    println!("{:<18} {:<22} {}", n.id, rfc3339(n.created_at), n.name);
                }
            }
        }
    }
    Ok(())
}

async fn admin_create(store: &Store, username: &str) -> anyhow::Result<()> {
    let name = admins::AdminName::parse(username).map_err(anyhow::Error::msg)?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    let phc = tokio::task::spawn_blocking(move || password::hash(&password)).await??;
    let admin = store
        .run(move |c| {
            let created = admins::create(c, &name, &phc);
            audit(c, "admin_create", name.as_str(), created.as_ref().err())?;
            Ok(created)
        })
        .await??;
    println!("created admin '{}'", admin.username);
    Ok(())
}

/// Records a command-line admin action in the audit log.
pub(crate) fn audit(
    conn: &mut idgate_store::DbConnection,
    kind: &str,
    target: &str,
    error: Option<&impl std::fmt::Display>,
) -> Result<(), idgate_store::StorageError> {
    let detail = error.map(ToString::to_string).unwrap_or_default();
    events::record(
        conn,
        &NewEvent {
            node_id: None,
            kind,
            actor: "cli",
            target: Some(target),
            outcome: if error.is_some() {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            detail: &detail,
        },
    )
}

pub(crate) fn rfc3339(millis: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or_default());
    humantime::format_rfc3339_seconds(time).to_string()
}
