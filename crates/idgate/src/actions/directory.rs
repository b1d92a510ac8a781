//! The directory: users (lock, unlock), their identity links, and reading the audit log.

use idgate_store::users::{self, UserStatus};
use idgate_store::{NodeId, SsoId, Store, UserId, links};

use super::{ActionError, Actor, record, transaction};

/// Locks or unlocks a user (a locked user cannot sign in; SCIM still sees it). A user a SCIM
/// client deleted stays locked: the change is one conditional statement, so it cannot undo a
/// deletion that lands at the same moment.
pub async fn set_user_status(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
    user_id: UserId,
    status: UserStatus,
) -> Result<(), ActionError> {
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                if !users::set_admin_status(c, node_id, &user_id, status)? {
                    return Ok(Err(match users::get(c, node_id, &user_id)? {
                        None => ActionError::NotFound("no such user".to_owned()),
                        Some(user) => ActionError::Invalid(format!(
                            "{} was removed by the identity provider (SCIM) and stays locked; it is unlocked when the identity provider provisions it again",
                            user.user_name
                        )),
                    }));
                }
                if status == UserStatus::Locked {
                    idgate_store::sessions::delete_for_user(c, &user_id)?;
                }
                let name = users::get(c, node_id, &user_id)?
                    .map(|u| u.user_name)
                    .unwrap_or_default();
                record(
                    c,
                    &actor,
                    Some(node_id),
                    match status {
                        UserStatus::Locked => "user_locked",
                        UserStatus::Active => "user_unlocked",
                    },
                    &name,
                    "",
                )
                .map(Ok)
            })
        })
        .await?
}

/// Removes a user's identity link of an SSO method: the next sign-in through that method links
/// again (by the rules for an unlinked account). Returns the NameID that was linked.
pub async fn unlink_identity(
    store: &Store,
    actor: &Actor,
    node_id: NodeId,
    user_id: UserId,
    sso_id: SsoId,
) -> Result<String, ActionError> {
    let actor = actor.clone();
    store
        .run(move |c| {
            transaction(c, |c| {
                let Some(user) = users::get(c, node_id, &user_id)? else {
                    return Ok(Err(ActionError::NotFound("no such user".to_owned())));
                };
                let Some(link) = links::delete(c, sso_id, &user_id)? else {
                    return Ok(Err(ActionError::NotFound(format!(
                        "{} has no identity link of the SSO method {sso_id}",
                        user.user_name
                    ))));
                };
                record(
                    c,
                    &actor,
                    Some(node_id),
                    "identity_unlinked",
                    &user.user_name,
                    &format!("SSO method {sso_id}, NameID {}", link.name_id),
                )?;
                Ok(Ok(link.name_id))
            })
        })
        .await?
}

/// The start of a day given as `YYYY-MM-DD` (UTC), in epoch milliseconds.
fn day_start(raw: &str, what: &str) -> Result<Option<i64>, ActionError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ActionError::Invalid(format!(
            "'{raw}' is not a date such as 2026-11-30 (the {what} date)"
        ))
    })?;
    Ok(date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis()))
}

/// The time range of an events search from two dates (`YYYY-MM-DD`, UTC, either may be
/// empty); the `to` day is included.
pub fn date_range(from: &str, to: &str) -> Result<(Option<i64>, Option<i64>), ActionError> {
    let start = day_start(from, "from")?;
    let until = day_start(to, "to")?.map(|t| t + 86_400_000);
    if let (Some(start), Some(until)) = (start, until)
        && start >= until
    {
        return Err(ActionError::Invalid(
            "the 'from' date is after the 'to' date".to_owned(),
        ));
    }
    Ok((start, until))
}

/// An event as one line of JSON, as the console's export and `idgate events` print it.
pub fn event_line(event: &idgate_store::events::Event) -> String {
    serde_json::json!({
        "id": event.id,
        "time": crate::cli::rfc3339(event.at),
        "node_id": event.node_id,
        "event_type": event.kind,
        "initiated_by": event.actor,
        "target": event.target,
        "outcome": event.outcome,
        "detail": event.detail,
    })
    .to_string()
}
