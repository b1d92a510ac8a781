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
    pub fn as_str(self) -> &'static str {
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

/// Which events a search covers; every field left `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub node_id: Option<NodeId>,
    /// Exact event kind, such as `user_create_provision`.
    pub kind: Option<String>,
    /// Text found in the actor or the target (case-insensitive), such as a user name.
    pub who: Option<String>,
    /// Exactly this target (a user's events on their page).
    pub target: Option<String>,
    pub outcome: Option<Outcome>,
    /// Epoch milliseconds, inclusive.
    pub from: Option<i64>,
    /// Epoch milliseconds, exclusive.
    pub until: Option<i64>,
}

type EventExpr = Box<
    dyn BoxableExpression<
            events::table,
            crate::conn::MultiBackend,
            SqlType = diesel::sql_types::Bool,
        >,
>;

fn event_filter(query: &EventQuery) -> Vec<EventExpr> {
    let mut parts: Vec<EventExpr> = Vec::new();
    if let Some(node) = query.node_id {
        parts.push(Box::new(events::node_id.assume_not_null().eq(node.get())));
    }
    if let Some(kind) = &query.kind {
        parts.push(Box::new(events::kind.eq(kind.clone())));
    }
    if let Some(who) = &query.who {
        let pattern = format!("%{}%", crate::predicate::like_escape(&who.to_lowercase()));
        parts.push(Box::new(
            crate::predicate::lower(events::actor)
                .like(pattern.clone())
                .escape('\\')
                .or(crate::predicate::lower(events::target.assume_not_null())
                    .like(pattern)
                    .escape('\\')
                    .and(events::target.is_not_null())),
        ));
    }
    if let Some(target) = &query.target {
        parts.push(Box::new(
            events::target
                .assume_not_null()
                .eq(target.clone())
                .and(events::target.is_not_null()),
        ));
    }
    if let Some(outcome) = query.outcome {
        parts.push(Box::new(events::outcome.eq(outcome.as_str())));
    }
    if let Some(from) = query.from {
        parts.push(Box::new(events::at.ge(from)));
    }
    if let Some(until) = query.until {
        parts.push(Box::new(events::at.lt(until)));
    }
    parts
}

/// How many events match.
pub fn count(conn: &mut DbConnection, query: &EventQuery) -> Result<i64, StorageError> {
    let mut sql = events::table.count().into_boxed();
    for part in event_filter(query) {
        sql = sql.filter(part);
    }
    Ok(sql.get_result(conn)?)
}

/// One page of matching events, newest first.
pub fn search(
    conn: &mut DbConnection,
    query: &EventQuery,
    offset: i64,
    limit: i64,
) -> Result<Vec<Event>, StorageError> {
    let mut sql = events::table
        .select(EventRow::as_select())
        .order(events::id.desc())
        .offset(offset)
        .limit(limit)
        .into_boxed();
    for part in event_filter(query) {
        sql = sql.filter(part);
    }
    sql.load(conn)?.into_iter().map(Event::try_from).collect()
}

/// The distinct event kinds recorded so far, sorted (for a filter's choices).
pub fn kinds(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    Ok(events::table
        .select(events::kind)
        .distinct()
        .order(events::kind.asc())
        .load(conn)?)
}
