//! `idgate user …` and `idgate events`: a node's people (list, lock, unlock) and the audit log.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use idgate_store::events::{self, EventQuery, Outcome};
use idgate_store::users::{self, User, UserListing, UserStatus};
use idgate_store::{NodeId, SsoId, Store, UserId, links};
use serde_json::json;

use super::{Output, rfc3339};
use crate::actions::{self, Actor};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List a node's users (all of them, or those matching --search), by user name.
    List {
        node_id: NodeId,
        /// Text found in the user name, email, names or external id (case-insensitive).
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Lock a user: no more sign-ins, and their sessions end now.
    Lock {
        node_id: NodeId,
        /// The user's id or user name.
        user: String,
    },
    /// Unlock a user.
    Unlock {
        node_id: NodeId,
        /// The user's id or user name.
        user: String,
    },
    /// List a user's identity links: the NameID each SSO method signs them in by.
    Links {
        node_id: NodeId,
        /// The user's id or user name.
        user: String,
        #[command(flatten)]
        output: Output,
    },
    /// Remove a user's identity link of an SSO method; the next sign-in through it links anew.
    Unlink {
        node_id: NodeId,
        /// The user's id or user name.
        user: String,
        /// The SSO method whose link goes.
        #[arg(long)]
        sso: SsoId,
    },
}

/// Which events `idgate events` prints (newest first, as JSON lines).
#[derive(Debug, Args)]
pub struct EventsArgs {
    #[arg(long)]
    node: Option<NodeId>,
    /// Event type, such as `user_create_provision` or `sso_login_failed`.
    #[arg(long)]
    kind: Option<String>,
    /// Text found in who acted or in the target (a user name, say).
    #[arg(long)]
    who: Option<String>,
    #[arg(long, value_enum)]
    outcome: Option<OutcomeArg>,
    /// First day (`YYYY-MM-DD`, UTC).
    #[arg(long, default_value = "")]
    from: String,
    /// Last day, included (`YYYY-MM-DD`, UTC).
    #[arg(long, default_value = "")]
    to: String,
    /// At most this many events.
    #[arg(long, default_value_t = 1000)]
    limit: i64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutcomeArg {
    Success,
    Failure,
}

/// The user a command names, by id or by user name.
async fn find(store: &Store, node_id: NodeId, user: String) -> anyhow::Result<User> {
    let shown = user.clone();
    store
        .run(move |c| {
            if let Ok(id) = user.parse::<UserId>()
                && let Some(found) = users::get(c, node_id, &id)?
            {
                return Ok(Some(found));
            }
            users::find_by_user_name(c, node_id, &user)
        })
        .await?
        .ok_or_else(|| anyhow!("node {node_id} has no user '{shown}'"))
}

pub async fn user(store: &Store, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::List {
            node_id,
            search,
            output,
        } => list(store, node_id, search, &output).await,
        UserCommand::Lock { node_id, user } => {
            let found = find(store, node_id, user).await?;
            actions::set_user_status(store, &Actor::cli(), node_id, found.id, UserStatus::Locked)
                .await?;
            println!("locked '{}'", found.user_name);
            Ok(())
        }
        UserCommand::Unlock { node_id, user } => {
            let found = find(store, node_id, user).await?;
            actions::set_user_status(store, &Actor::cli(), node_id, found.id, UserStatus::Active)
                .await?;
            println!("unlocked '{}'", found.user_name);
            Ok(())
        }
        UserCommand::Links {
            node_id,
            user,
            output,
        } => {
            let found = find(store, node_id, user).await?;
            let user_id = found.id.clone();
            let listed = store
                .run(move |c| links::list_for_user(c, &user_id))
                .await?;
            print_links(&found, &listed, &output);
            Ok(())
        }
        UserCommand::Unlink { node_id, user, sso } => {
            let found = find(store, node_id, user).await?;
            let name_id =
                actions::unlink_identity(store, &Actor::cli(), node_id, found.id, sso).await?;
            println!(
                "unlinked '{}' from SSO method {sso} (NameID {name_id})",
                found.user_name
            );
            Ok(())
        }
    }
}

fn print_links(user: &User, listed: &[links::ListedLink], output: &Output) {
    if output.json {
        let rows: Vec<_> = listed
            .iter()
            .map(|l| {
                json!({
                    "sso_id": l.link.sso_id,
                    "sso_name": l.method_name,
                    "name_id": l.link.name_id,
                    "name_id_format": l.link.name_id_format,
                    "first_used": rfc3339(l.link.created_at),
                    "last_used": rfc3339(l.link.last_used_at),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else if listed.is_empty() {
        println!("'{}' has no identity links", user.user_name);
    } else {
        println!(
            "{:<13} {:<21} {:<21} NAMEID",
            "SSO ID", "FIRST USED", "LAST USED"
        );
        for l in listed {
            println!(
                "{:<13} {:<21} {:<21} {}",
                l.link.sso_id,
                rfc3339(l.link.created_at),
                rfc3339(l.link.last_used_at),
                l.link.name_id
            );
        }
    }
}

async fn list(
    store: &Store,
    node_id: NodeId,
    search: Option<String>,
    output: &Output,
) -> anyhow::Result<()> {
    let listing = UserListing::search(search.as_deref().unwrap_or_default());
    let found = store
        .run(move |c| {
            if idgate_store::nodes::get(c, node_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(users::page(c, node_id, &listing, 0, i64::MAX)?))
        })
        .await?
        .ok_or_else(|| anyhow!("no node with id {node_id}"))?;
    if output.json {
        let rows: Vec<_> = found
            .iter()
            .map(|u| json!({"id": u.id, "user_name": u.user_name, "email": u.email, "status": u.status.as_str(), "provenance": u.provenance.as_str(), "created": rfc3339(u.created_at)}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else if found.is_empty() {
        println!("no users");
    } else {
        println!("{:<38} {:<7} {:<6} USER NAME", "USER ID", "STATUS", "FROM");
        for u in &found {
            println!(
                "{:<38} {:<7} {:<6} {}",
                u.id,
                u.status.as_str(),
                u.provenance.as_str(),
                u.user_name
            );
        }
    }
    Ok(())
}

pub async fn list_events(store: &Store, args: EventsArgs) -> anyhow::Result<()> {
    let (from, until) = actions::date_range(&args.from, &args.to)?;
    let query = EventQuery {
        node_id: args.node,
        kind: args.kind,
        who: args.who,
        target: None,
        outcome: args.outcome.map(|o| match o {
            OutcomeArg::Success => Outcome::Success,
            OutcomeArg::Failure => Outcome::Failure,
        }),
        from,
        until,
    };
    let limit = args.limit.max(1);
    let found = store
        .run(move |c| events::search(c, &query, 0, limit))
        .await?;
    for event in &found {
        println!("{}", actions::event_line(event));
    }
    Ok(())
}
