//! `idgate scim …` and `idgate team …`: the provisioning method and the team approval queue.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use idgate_store::scim::{self as scim_store, TokenChange, UserNamePolicy};
use idgate_store::teams;
use idgate_store::{NodeId, Store, TeamId};
use serde_json::json;

use super::{Output, Switch, rfc3339};
use crate::actions::{self, Actor, Decision};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// Generate the node's SCIM token (rotating it if one exists: the old one stops working).
    Enable {
        node_id: NodeId,
        #[command(flatten)]
        output: Output,
    },
    /// Show the node's SCIM method: base URL, status, last use, options.
    Show {
        node_id: NodeId,
        #[command(flatten)]
        output: Output,
    },
    /// Change the node's SCIM options.
    Set {
        node_id: NodeId,
        /// Whether a client's DELETE removes the user instead of locking it.
        #[arg(long, value_enum)]
        hard_delete: Option<Switch>,
        /// What a create whose userName is not its email gets.
        #[arg(long, value_enum)]
        username_policy: Option<Policy>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Policy {
    Accept,
    Refuse,
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// List teams awaiting approval (`--pending`): new teams, and renames of approved teams;
    /// optionally of one node.
    List {
        /// Only teams awaiting approval (the approval queue).
        #[arg(long, required = true)]
        pending: bool,
        #[arg(long)]
        node: Option<NodeId>,
        #[command(flatten)]
        output: Output,
    },
    /// Approve one or more pending teams (or pending renames: applications then see the new
    /// name).
    Approve {
        #[arg(required = true)]
        team_ids: Vec<TeamId>,
    },
    /// Deny one or more pending teams: they are removed (their members stay). A denied rename
    /// keeps the team under its approved name.
    Deny {
        #[arg(required = true)]
        team_ids: Vec<TeamId>,
    },
}

/// Generates (or rotates) a node's token and prints it once.
async fn enable(
    store: &Store,
    config: &Config,
    node_id: NodeId,
    output: &Output,
) -> anyhow::Result<()> {
    let (token, change) = actions::generate_scim_token(store, &Actor::cli(), node_id).await?;
    let base_url = idgate_scim::node_base_url(&config.base_url, node_id);
    if output.json {
        println!(
            "{}",
            json!({"base_url": base_url, "token": token, "rotated": change == TokenChange::Rotated})
        );
    } else {
        println!("SCIM base URL: {base_url}");
        println!("Token (shown only now; store it in the IdP): {token}");
        if change == TokenChange::Rotated {
            println!("The previous token no longer works.");
        }
    }
    Ok(())
}

pub async fn scim(store: &Store, config: &Config, cmd: ScimCommand) -> anyhow::Result<()> {
    match cmd {
        ScimCommand::Enable { node_id, output } => enable(store, config, node_id, &output).await?,
        ScimCommand::Show { node_id, output } => {
            let method = store
                .run(move |c| scim_store::get(c, node_id))
                .await?
                .ok_or_else(|| {
                    anyhow!("node {node_id} has no SCIM method: run `idgate scim enable {node_id}`")
                })?;
            let base_url = idgate_scim::node_base_url(&config.base_url, node_id);
            let last = method.last_used_at.map(rfc3339);
            if output.json {
                println!(
                    "{}",
                    json!({"base_url": base_url, "status": method.status, "last_used": last, "token_created": rfc3339(method.token_created_at), "hard_delete": method.hard_delete, "username_policy": method.username_policy})
                );
            } else {
                println!("SCIM base URL: {base_url}");
                println!("Status: {:?}", method.status);
                println!("Last request: {}", last.as_deref().unwrap_or("never"));
                println!(
                    "Hard delete: {}",
                    if method.hard_delete { "on" } else { "off" }
                );
                println!("userName policy: {:?}", method.username_policy);
            }
        }
        ScimCommand::Set {
            node_id,
            hard_delete,
            username_policy,
        } => {
            if hard_delete.is_none() && username_policy.is_none() {
                bail!("nothing to change: give --hard-delete or --username-policy");
            }
            let policy = username_policy.map(|p| match p {
                Policy::Accept => UserNamePolicy::Accept,
                Policy::Refuse => UserNamePolicy::Refuse,
            });
            store
                .run(move |c| {
                    scim_store::set_options(c, node_id, hard_delete.map(Switch::is_on), policy)
                })
                .await
                .map_err(|e| match e {
                    idgate_store::StorageError::NotFound { .. } => {
                        anyhow!(
                            "node {node_id} has no SCIM method: run `idgate scim enable {node_id}`"
                        )
                    }
                    other => other.into(),
                })?;
            println!("updated the SCIM method of node {node_id}");
        }
    }
    Ok(())
}

pub async fn team(store: &Store, cmd: TeamCommand) -> anyhow::Result<()> {
    match cmd {
        TeamCommand::List { node, output, .. } => {
            let rows = store
                .run(move |c| {
                    teams::pending(c, node)?
                        .into_iter()
                        .map(|t| {
                            let members = teams::member_count(c, &t.id)?;
                            Ok((t, members))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .await?;
            if output.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(t, m)| json!({"team_id": t.id, "node_id": t.node_id, "name": t.display_name, "renamed_from": t.rename_awaiting(), "status": t.status, "members": m, "empty": *m == 0, "created": rfc3339(t.created_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if rows.is_empty() {
                println!("no teams awaiting approval");
            } else {
                println!("{:<38} {:<18} {:>8}  NAME", "TEAM ID", "NODE ID", "MEMBERS");
                for (t, m) in rows {
                    let members = if m == 0 {
                        "empty".to_owned()
                    } else {
                        m.to_string()
                    };
                    // A rename of an approved team reads "old → new (rename)".
                    let name = match t.rename_awaiting() {
                        Some(approved) => format!("{approved} → {} (rename)", t.display_name),
                        None => t.display_name.clone(),
                    };
                    println!("{:<38} {:<18} {:>8}  {name}", t.id, t.node_id, members);
                }
            }
        }
        TeamCommand::Approve { team_ids } => {
            for id in team_ids {
                let decided =
                    actions::decide_team(store, &Actor::cli(), None, id, Decision::Approve, None)
                        .await?;
                if let Some(old) = decided.renamed_from {
                    println!("approved the rename of team '{old}' to '{}'", decided.name);
                } else {
                    println!("approved team '{}'", decided.name);
                }
            }
        }
        TeamCommand::Deny { team_ids } => {
            for id in team_ids {
                let decided =
                    actions::decide_team(store, &Actor::cli(), None, id, Decision::Deny, None)
                        .await?;
                if let Some(old) = decided.renamed_from {
                    println!(
                        "denied the rename of team '{old}' to '{}' (it keeps its name '{old}')",
                        decided.name
                    );
                } else {
                    println!("denied team '{}' (removed)", decided.name);
                }
            }
        }
    }
    Ok(())
}
