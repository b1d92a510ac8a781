//! Provisioning: the node's SCIM token, and the approval queue of teams.

use idgate_store::scim::TokenChange;
use idgate_store::{DbConnection, NodeId, StorageError, Store, TeamId, nodes, teams};

use super::{ActionError, Actor, no_node, record, transaction};

/// Creates the node's SCIM method, or rotates its token; returns the token (to show once).
pub async fn generate_scim_token(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
) -> Result<(String, TokenChange), ActionError> {
    let token = idgate_scim::auth::generate_token();
    let hash = token.hash.clone();
    let actor = actor.clone();
    let change = store
        .run(move |c| {
            if nodes::get(c, node_id)?.is_none() {
                return Ok(None);
            }
            idgate_store::transaction(c, |c| {
                let change = idgate_store::scim::set_token(c, node_id, &hash)?;
                record(
                    c,
                    &actor,
                    Some(node_id),
                    "scim_token_generated",
                    &node_id.to_string(),
                    if change == TokenChange::Rotated {
                        "rotated; the previous token no longer works"
                    } else {
                        ""
                    },
                )?;
                Ok(Some(change))
            })
        })
        .await?
        .ok_or_else(|| no_node(node_id))?;
    Ok((token.token, change))
}

/// What to do with a team awaiting approval: a new team, or an approved team's rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new team becomes usable; a rename becomes the name applications see.
    Approve,
    /// Removes a new team (its members stay); if the IdP pushes it again, it waits again. A
    /// rename is undone: the team keeps its approved name (and takes it back for SCIM too).
    Deny,
}

/// What was decided about a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The team's name as it was decided on (for a rename, the new name).
    pub name: String,
    /// For a rename, the approved name it had.
    pub renamed_from: Option<String>,
}

/// Approves or denies a team awaiting a decision (new, or renamed since its approval); `node`,
/// when given, must be the team's node, and `shown`, when given, the name the admin saw. A
/// team that is not awaiting a decision under that name (decided already, on another page or by
/// another admin, or renamed again since) is left alone and answered as not found.
pub async fn decide_team(
    store: &Store,
    actor: &Actor,
    node: Option<NodeId>,
    team_id: TeamId,
    decision: Decision,
    shown: Option<String>,
) -> Result<Decided, ActionError> {
    let actor = actor.clone();
    let gone = format!("no team awaiting approval with id {team_id}");
    store
        .run(move |c| {
            let Some(team) = teams::get_any(c, &team_id)?
                .filter(|t| node.is_none_or(|n| n == t.node_id))
                .filter(teams::Team::awaits_decision)
                .filter(|t| shown.as_ref().is_none_or(|s| *s == t.display_name))
            else {
                return Ok(Err(ActionError::NotFound(gone)));
            };
            let renamed_from = team.rename_awaiting().map(str::to_owned);
            transaction(c, |c| {
                let (node_id, name) = (team.node_id, team.display_name.as_str());
                let done = match (decision, &renamed_from) {
                    (Decision::Approve, _) => {
                        if let Some(refusal) = name_in_use(c, &team)? {
                            return Ok(Err(refusal));
                        }
                        if renamed_from.is_some() {
                            teams::approve_rename(c, node_id, &team_id, name)?
                        } else {
                            teams::approve_pending(c, node_id, &team_id, name)?
                        }
                    }
                    (Decision::Deny, None) => teams::delete_pending(c, node_id, &team_id, name)?,
                    (Decision::Deny, Some(approved)) => {
                        match teams::deny_rename(c, node_id, &team_id, name) {
                            Err(e) if e.is_conflict_on(teams::DISPLAY_NAME_INDEX) => {
                                return Ok(Err(ActionError::Invalid(format!(
                                    "another team is now named '{approved}', so this team cannot take that name back; approve the rename to '{name}', or rename the other team in the identity provider first"
                                ))));
                            }
                            other => other?,
                        }
                    }
                };
                if !done {
                    return Ok(Err(ActionError::NotFound(gone)));
                }
                let (kind, target, detail) = match (decision, &renamed_from) {
                    (Decision::Approve, None) => ("team_approved", name, String::new()),
                    (Decision::Deny, None) => ("team_denied", name, String::new()),
                    (Decision::Approve, Some(approved)) => (
                        "team_approved",
                        name,
                        format!("rename from '{approved}' approved; applications now see '{name}'"),
                    ),
                    (Decision::Deny, Some(approved)) => (
                        "team_denied",
                        approved.as_str(),
                        format!("rename to '{name}' denied; the team keeps its approved name"),
                    ),
                };
                record(c, &actor, Some(node_id), kind, target, &detail)?;
                Ok(Ok(Decided {
                    name: name.to_owned(),
                    renamed_from: renamed_from.clone(),
                }))
            })
        })
        .await?
}

/// A refusal when applications still know another team of the node by the name this team
/// would be approved under (that team's own rename awaits a decision): approving both would
/// show applications two teams of one name.
fn name_in_use(
    c: &mut DbConnection,
    team: &teams::Team,
) -> Result<Option<ActionError>, StorageError> {
    let clash = teams::approved_names(c, team.node_id, &team.id)?
        .into_iter()
        .find(|other| other.eq_ignore_ascii_case(&team.display_name));
    Ok(clash.map(|other| {
        ActionError::Invalid(format!(
            "applications still know another team as '{other}' until its own rename is decided; decide that rename first"
        ))
    }))
}
