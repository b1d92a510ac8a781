//! The audit log. Event kinds are named as JumpCloud's Directory Insights names them.

use diesel::prelude::*;
use serde::Serialize;

use crate::schema::events;
use crate::{DbConnection, NodeId, StorageError, now_millis};

/// Whether the audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    fn from_db(raw: &str) -> Result<Self, StorageError> {
        match raw {
            "success" => Ok(Outcome::Success),
            "failure" => Ok(Outcome::Failure),
            other => Err(StorageError::Corrupt(format!(
                "unknown event outcome '{other}'"
            ))),
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub node_id: Option<NodeId>,
    pub kind: &'a str,
    pub actor: &'a str,
    pub target: Option<&'a str>,
    pub outcome: Outcome,
    pub detail: &'a str,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub id: i64,
    pub node_id: Option<NodeId>,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: i64,
    node_id: Option<i64>,
    at: i64,
    kind: String,
    actor: String,
    target: Option<String>,
    outcome: String,
    detail: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StorageError;

    fn try_from(row: EventRow) -> Result<Self, StorageError> {
        Ok(Event {
            id: row.id,
            node_id: row.node_id.map(NodeId::from_db),
            at: row.at,
            kind: row.kind,
            actor: row.actor,
            target: row.target,
            outcome: Outcome::from_db(&row.outcome)?,
            detail: row.detail,
        })
    }
}

pub fn record(conn: &mut DbConnection, event: &NewEvent<'_>) -> Result<(), StorageError> {
    diesel::insert_into(events::table)
        .values((
            events::node_id.eq(event.node_id.map(NodeId::get)),
            events::at.eq(now_millis()),
            events::kind.eq(event.kind),
            events::actor.eq(event.actor),
            events::target.eq(event.target),
            events::outcome.eq(event.outcome.as_str()),
            events::detail.eq(event.detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// The newest events first, optionally of one node, at most `limit`.
pub fn latest(
    conn: &mut DbConnection,
    node_id: Option<NodeId>,
    limit: i64,
) -> Result<Vec<Event>, StorageError> {
    let mut query = events::table
        .select(EventRow::as_select())
        .order(events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(node) = node_id {
        query = query.filter(events::node_id.eq(node.get()));
    }
    query.load(conn)?.into_iter().map(Event::try_from).collect()
}
