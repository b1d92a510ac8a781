//! The outbox: the application's view of the directory. Every change an application cares
//! about is appended here in the same transaction as the change, with a sequence number that
//! only grows per node (one counter row per node, incremented under its row lock, so two
//! concurrent changes never share a number and a rolled-back change leaves no gap visible as an
//! event). Webhooks and the event feed read it in sequence order.
//!
//! Event kinds: `user.created`, `user.updated`, `user.locked` (deprovisioned or locked by an
//! administrator), `user.unlocked`, `user.deleted` (a SCIM client deleted it: locked and hidden
//! from SCIM), `user.restored` (provisioned again after a delete); `team.approved`,
//! `team.renamed` (a rename approved), `team.deleted` (of an approved team); `membership.added`
//! and `membership.removed` (of approved teams). Teams awaiting approval are invisible to
//! applications: they make no event until approved. The payload is the resource as the
//! management API returns it ([`user_resource`], [`team_resource`]; a membership event carries
//! the team and the user's id).

use diesel::prelude::*;
use serde_json::{Value, json};

use diesel::sql_types::BigInt;

use crate::schema::outbox;
use crate::teams::{Team, TeamStatus};
use crate::users::{User, UserStatus};
use crate::{DbConnection, NodeId, StorageError, UserId, now_millis};

/// One event of a node's outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub node_id: NodeId,
    pub seq: i64,
    pub kind: String,
    /// The id of the user (or team) the event is about.
    pub subject_id: String,
    /// The resource after the change.
    pub payload: Value,
    pub created_at: i64,
}

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
}

/// Appends an event to the node's outbox; returns its sequence number. Call it inside the
/// change's transaction (it opens one, or a savepoint, of its own otherwise).
pub fn append(
    conn: &mut DbConnection,
    node_id: NodeId,
    kind: &str,
    subject_id: &str,
    payload: &Value,
) -> Result<i64, StorageError> {
    crate::transaction(conn, |conn| {
        // Raw SQL: ON CONFLICT and RETURNING, which both backends speak but diesel's
        // multi-backend connection does not offer.
        diesel::sql_query(
            "INSERT INTO outbox_sequences (node_id, last_seq) VALUES ($1, 0) \
             ON CONFLICT (node_id) DO NOTHING",
        )
        .bind::<BigInt, _>(node_id.get())
        .execute(conn)?;
        let next: Vec<Next> = diesel::sql_query(
            "UPDATE outbox_sequences SET last_seq = last_seq + 1 WHERE node_id = $1 \
             RETURNING last_seq",
        )
        .bind::<BigInt, _>(node_id.get())
        .load(conn)?;
        let seq = next
            .first()
            .map(|n| n.last_seq)
            .ok_or(StorageError::NotFound {
                what: "outbox sequence",
            })?;
        diesel::insert_into(outbox::table)
            .values((
                outbox::node_id.eq(node_id.get()),
                outbox::seq.eq(seq),
                outbox::kind.eq(kind),
                outbox::subject_id.eq(subject_id),
                outbox::payload.eq(payload.to_string()),
                outbox::created_at.eq(now_millis()),
            ))
            .execute(conn)?;
        Ok(seq)
    })
}

/// The node's events after `after`, in sequence order, at most `limit`.
pub fn after(
    conn: &mut DbConnection,
    node_id: NodeId,
    after: i64,
    limit: i64,
) -> Result<Vec<Event>, StorageError> {
    let rows: Vec<(i64, String, String, String, i64)> = outbox::table
        .filter(outbox::node_id.eq(node_id.get()))
        .filter(outbox::seq.gt(after))
        .order(outbox::seq.asc())
        .limit(limit)
        .select((
            outbox::seq,
            outbox::kind,
            outbox::subject_id,
            outbox::payload,
            outbox::created_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(seq, kind, subject_id, payload, created_at)| {
            let payload = serde_json::from_str(&payload).map_err(|_| {
                StorageError::Corrupt(format!("outbox event {seq} of node {node_id}"))
            })?;
            Ok(Event {
                node_id,
                seq,
                kind,
                subject_id,
                payload,
                created_at,
            })
        })
        .collect()
}

/// Forgets events created before `before`; returns how many went.
pub fn purge_before(conn: &mut DbConnection, before: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(outbox::table.filter(outbox::created_at.lt(before))).execute(conn)?)
}

/// Epoch milliseconds as RFC 3339 UTC, to the millisecond.
fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

/// A user as the management API returns it (and as events carry it).
pub fn user_resource(user: &User) -> Value {
    json!({
        "id": user.id.as_str(),
        "node_id": user.node_id.to_string(),
        "user_name": user.user_name,
        "external_id": user.external_id,
        "email": user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "display_name": user.display_name,
        "status": match user.status {
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
        },
        "deleted": !user.scim_visible,
        "provenance": user.provenance.as_str(),
        "created": rfc3339(user.created_at),
        "updated": rfc3339(user.updated_at),
    })
}

/// Appends the event a user's change makes, from its state before (`None`: just created) and
/// after; nothing when nothing an application sees changed kind (every write is at least an
/// update).
pub fn user_changed(
    conn: &mut DbConnection,
    before: Option<&User>,
    after: &User,
) -> Result<(), StorageError> {
    let kind = match before {
        None => "user.created",
        Some(b) if !b.scim_visible && after.scim_visible => "user.restored",
        Some(b) if b.scim_visible && !after.scim_visible => "user.deleted",
        Some(b) if b.status == UserStatus::Active && after.status == UserStatus::Locked => {
            "user.locked"
        }
        Some(b) if b.status == UserStatus::Locked && after.status == UserStatus::Active => {
            "user.unlocked"
        }
        Some(_) => "user.updated",
    };
    append(
        conn,
        after.node_id,
        kind,
        after.id.as_str(),
        &user_resource(after),
    )?;
    Ok(())
}

/// A team as the management API returns it: under the name applications know it by (its
/// approved name). `None` for a team awaiting its first approval.
pub fn team_resource(team: &Team) -> Option<Value> {
    let name = team.approved_name.as_deref()?;
    (team.status == TeamStatus::Approved).then(|| {
        json!({
            "id": team.id.as_str(),
            "node_id": team.node_id.to_string(),
            "name": name,
            "external_id": team.external_id,
            "created": rfc3339(team.created_at),
            "updated": rfc3339(team.updated_at),
        })
    })
}

/// Appends `kind` (`team.approved`, `team.renamed`, `team.deleted`) for an approved team;
/// nothing for a team applications cannot see.
pub fn team_changed(conn: &mut DbConnection, kind: &str, team: &Team) -> Result<(), StorageError> {
    if let Some(resource) = team_resource(team) {
        append(conn, team.node_id, kind, team.id.as_str(), &resource)?;
    }
    Ok(())
}

/// Appends `kind` (`membership.added`, `membership.removed`) for each of `users` in an
/// approved team; nothing for a team applications cannot see.
pub fn memberships_changed(
    conn: &mut DbConnection,
    kind: &str,
    team: &Team,
    users: &[UserId],
) -> Result<(), StorageError> {
    let Some(resource) = team_resource(team) else {
        return Ok(());
    };
    for user in users {
        let payload = json!({ "team": resource, "user_id": user.as_str() });
        append(conn, team.node_id, kind, user.as_str(), &payload)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn times_read_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }
}
