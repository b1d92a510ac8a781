//! `idgate app …`: applications (OIDC clients): register, list, show, change, rotate
//! the secret, delete.

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use idgate_store::apps::{self, App, ClientId, NodeGrant, PostLogoutRedirectUri, RedirectUri};
use idgate_store::{NodeId, Store, nodes};
use serde_json::{Value, json};

use super::{Output, UsageError, rfc3339};
use crate::actions::{self, Actor, AppEdit, AppInput};

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application; prints its client id and, for a confidential client, its
    /// client secret (shown only now: idgate keeps a hash).
    Create {
        #[arg(long)]
        name: String,
        /// Where the application receives the code (repeatable; matched exactly: https, or
        /// http on the loopback hosts 127.0.0.1, the IPv6 loopback and localhost; no
        /// fragment, no wildcard).
        #[arg(long = "redirect-uri", value_name = "URI", num_args = 1..)]
        redirect_uris: Vec<String>,
        /// Where the application may send people after signing them out (repeatable; same
        /// rules).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI", num_args = 1..)]
        post_logout_redirect_uris: Vec<String>,
        #[command(flatten)]
        nodes: NodeArgs,
        /// A public client (a single-page or native app that cannot keep a secret): no
        /// secret; it must use PKCE.
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        output: Output,
    },
    /// List the applications, by name.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Show an application: type, redirect URIs, nodes (never its secret).
    Show {
        client_id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Change an application: each list given replaces the stored one.
    Set {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "redirect-uri", value_name = "URI", num_args = 1..)]
        redirect_uris: Option<Vec<String>>,
        /// The post-logout redirect URIs (the flag alone, without a URI, removes them all).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI", num_args = 0..)]
        post_logout_redirect_uris: Option<Vec<String>>,
        #[command(flatten)]
        nodes: NodeArgs,
        /// Where the application starts its own sign-in (OIDC third-party initiated login):
        /// an SSO method whose default application this is sends IdP-initiated sign-ins there.
        #[arg(long, value_name = "URI", conflicts_with = "no_initiate_login_uri")]
        initiate_login_uri: Option<String>,
        /// Remove the initiate-login URI.
        #[arg(long)]
        no_initiate_login_uri: bool,
    },
    /// Give a confidential client a new secret (shown only now); the old one stops working.
    RotateSecret {
        client_id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Delete an application: it signs no one in from now on.
    Delete {
        client_id: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

/// The nodes whose users an application may sign in.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// A node whose users the application may sign in (repeatable).
    #[arg(long = "node", value_name = "NODE_ID", num_args = 1..)]
    nodes: Vec<String>,
    /// Every node, those created later too.
    #[arg(long)]
    all_nodes: bool,
}

impl NodeArgs {
    /// The grant asked for, if any.
    fn grant(&self) -> anyhow::Result<Option<NodeGrant>> {
        if self.all_nodes && !self.nodes.is_empty() {
            bail!("give --node or --all-nodes, not both");
        }
        if self.all_nodes {
            return Ok(Some(NodeGrant::All));
        }
        if self.nodes.is_empty() {
            return Ok(None);
        }
        let ids = self
            .nodes
            .iter()
            .map(|raw| raw.parse::<NodeId>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(NodeGrant::nodes(ids)))
    }
}

fn client_id(raw: &str) -> anyhow::Result<ClientId> {
    raw.parse().map_err(anyhow::Error::msg)
}

pub async fn run(store: &Store, cmd: AppCommand) -> anyhow::Result<()> {
    match cmd {
        AppCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            nodes,
            public,
            output,
        } => {
            if redirect_uris.is_empty() {
                bail!("an application needs at least one redirect URI: give --redirect-uri URI");
            }
            let nodes = nodes.grant()?.ok_or_else(|| {
                anyhow!(
                    "grant the application at least one node (--node NODE_ID) or all nodes (--all-nodes)"
                )
            })?;
            let input = AppInput {
                name,
                public,
                redirect_uris,
                post_logout_redirect_uris,
                nodes,
            };
            let registered = actions::create_app(store, &Actor::cli(), input).await?;
            created(&registered.app, registered.secret.as_deref(), &output);
        }
        AppCommand::List { output } => list(store, &output).await?,
        AppCommand::Show {
            client_id: raw,
            output,
        } => {
            let id = client_id(&raw)?;
            let app = load(store, &id).await?;
            if output.json {
                println!("{}", app_json(&app));
            } else {
                show(store, &app).await?;
            }
        }
        AppCommand::Set {
            client_id: raw,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            nodes,
            initiate_login_uri,
            no_initiate_login_uri,
        } => {
            let id = client_id(&raw)?;
            let edit = AppEdit {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                nodes: nodes.grant()?,
                initiate_login_uri: if no_initiate_login_uri {
                    Some(None)
                } else {
                    initiate_login_uri.map(Some)
                },
            };
            set(store, &id, edit).await?;
        }
        AppCommand::RotateSecret {
            client_id: raw,
            output,
        } => {
            let id = client_id(&raw)?;
            let (app, secret) = actions::rotate_app_secret(store, &Actor::cli(), &id).await?;
            if output.json {
                println!(
                    "{}",
                    json!({"client_id": app.client_id, "client_secret": secret})
                );
            } else {
                println!(
                    "New client_secret for '{}' (shown only now): {secret}",
                    app.name
                );
                println!("The previous secret no longer works.");
            }
        }
        AppCommand::Delete {
            client_id: raw,
            yes,
        } => {
            let id = client_id(&raw)?;
            if !yes {
                return Err(UsageError(format!(
                    "deleting application {id} stops sign-in to it: add --yes to confirm"
                ))
                .into());
            }
            let app = actions::delete_app(store, &Actor::cli(), &id).await?;
            println!("deleted application '{}' ({})", app.name, app.client_id);
        }
    }
    Ok(())
}

async fn set(store: &Store, id: &ClientId, edit: AppEdit) -> anyhow::Result<()> {
    if edit.is_empty() {
        bail!(
            "nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --node, --all-nodes or --initiate-login-uri"
        );
    }
    let app = actions::update_app(store, &Actor::cli(), id, edit).await?;
    println!("updated application '{}' ({})", app.name, app.client_id);
    Ok(())
}

async fn load(store: &Store, id: &ClientId) -> anyhow::Result<App> {
    let lookup = id.clone();
    store
        .run(move |c| apps::get(c, &lookup))
        .await?
        .ok_or_else(|| actions::no_app(id).into())
}

/// An application as JSON (never its secret).
fn app_json(app: &App) -> Value {
    let (all_nodes, nodes) = match &app.nodes {
        NodeGrant::All => (true, Vec::new()),
        NodeGrant::Nodes(ids) => (false, ids.clone()),
    };
    json!({
        "client_id": app.client_id, "name": app.name, "type": app.client_type,
        "public": app.is_public(), "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "all_nodes": all_nodes, "nodes": nodes,
        "initiate_login_uri": app.initiate_login_uri,
        "created": rfc3339(app.created_at), "updated": rfc3339(app.updated_at),
        "secret_created": app.secret_created_at.map(rfc3339),
    })
}

fn created(app: &App, secret: Option<&str>, output: &Output) {
    if output.json {
        let mut shown = app_json(app);
        shown["client_secret"] = json!(secret);
        println!("{shown}");
        return;
    }
    if let Some(secret) = secret {
        println!("created application '{}' (confidential)", app.name);
        println!("client_id:     {}", app.client_id);
        println!("client_secret: {secret}");
        println!("The secret is shown only now: store it in the application.");
    } else {
        println!(
            "created application '{}' (public: no secret; it must use PKCE)",
            app.name
        );
        println!("client_id:     {}", app.client_id);
    }
}

async fn list(store: &Store, output: &Output) -> anyhow::Result<()> {
    let all = store.run(apps::list).await?;
    if output.json {
        println!(
            "{}",
            Value::Array(all.iter().map(app_json).collect::<Vec<_>>())
        );
    } else if all.is_empty() {
        println!(
            "no applications yet: register one with `idgate app create --name NAME --redirect-uri URI --all-nodes`"
        );
    } else {
        println!("{:<33} {:<13} {:<10} NAME", "CLIENT ID", "TYPE", "NODES");
        for app in all {
            let nodes = match &app.nodes {
                NodeGrant::All => "all".to_owned(),
                NodeGrant::Nodes(ids) => ids.len().to_string(),
            };
            println!(
                "{:<33} {:<13} {:<10} {}",
                app.client_id,
                app.client_type.as_str(),
                nodes,
                app.name
            );
        }
    }
    Ok(())
}

async fn show(store: &Store, app: &App) -> anyhow::Result<()> {
    let names = store.run(nodes::list).await?;
    let nodes = match &app.nodes {
        NodeGrant::All => "all (those created later too)".to_owned(),
        NodeGrant::Nodes(ids) => ids
            .iter()
            .map(|id| match names.iter().find(|n| n.id == *id) {
                Some(node) => format!("{id} ({})", node.name),
                None => id.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let lines = |uris: Vec<&str>| {
        if uris.is_empty() {
            "none".to_owned()
        } else {
            uris.join("\n                           ")
        }
    };
    println!("application '{}' ({})", app.name, app.client_type.as_str());
    println!("client_id:                 {}", app.client_id);
    println!(
        "redirect URIs:             {}",
        lines(app.redirect_uris.iter().map(RedirectUri::as_str).collect())
    );
    println!(
        "post-logout redirect URIs: {}",
        lines(
            app.post_logout_redirect_uris
                .iter()
                .map(PostLogoutRedirectUri::as_str)
                .collect()
        )
    );
    println!("nodes:                     {nodes}");
    println!(
        "initiate-login URI:        {}",
        actions::apps::initiate_text(app)
    );
    println!("created:                   {}", rfc3339(app.created_at));
    if let Some(at) = app.secret_created_at {
        println!("secret created:            {}", rfc3339(at));
    }
    Ok(())
}
