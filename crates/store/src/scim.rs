//! SCIM provisioning methods: one per node, a token stored only as a hash.

use diesel::prelude::*;

use crate::schema::scim_methods;
use crate::{DbConnection, NodeId, StorageError, now_millis};

/// A node's SCIM provisioning method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimMethod {
    pub node_id: NodeId,
    /// Hex SHA-256 of the bearer token.
    pub token_hash: String,
    pub status: ScimStatus,
    /// Whether a client's DELETE removes the user instead of locking it.
    pub hard_delete: bool,
    pub username_policy: UserNamePolicy,
    pub created_at: i64,
    pub token_created_at: i64,
    pub last_used_at: Option<i64>,
}

/// `Pending` until the first authenticated request, then `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScimStatus {
    Pending,
    Active,
}

/// What to do with a created user whose userName is not an email (or not its primary email).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserNamePolicy {
    /// Accept it and record the mismatch in the audit event.
    Accept,
    /// Refuse it with 400 invalidValue.
    Refuse,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = scim_methods)]
struct Row {
    node_id: i64,
    token_hash: String,
    status: String,
    hard_delete: bool,
    username_policy: String,
    created_at: i64,
    token_created_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<Row> for ScimMethod {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(ScimMethod {
            node_id: NodeId::from_db(row.node_id),
            token_hash: row.token_hash,
            status: match row.status.as_str() {
                "pending" => ScimStatus::Pending,
                "active" => ScimStatus::Active,
                other => return Err(StorageError::Corrupt(format!("SCIM status '{other}'"))),
            },
            hard_delete: row.hard_delete,
            username_policy: match row.username_policy.as_str() {
                "accept" => UserNamePolicy::Accept,
                "refuse" => UserNamePolicy::Refuse,
                other => {
                    return Err(StorageError::Corrupt(format!("userName policy '{other}'")));
                }
            },
            created_at: row.created_at,
            token_created_at: row.token_created_at,
            last_used_at: row.last_used_at,
        })
    }
}

/// Whether [`set_token`] created the method or rotated its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenChange {
    Created,
    Rotated,
}

/// Creates the node's SCIM method with this token hash, or replaces the token of the existing
/// one (the old token stops working at once; the status is kept).
pub fn set_token(
    conn: &mut DbConnection,
    node_id: NodeId,
    token_hash: &str,
) -> Result<TokenChange, StorageError> {
    conn.transaction(|conn| {
        let now = now_millis();
        let updated = diesel::update(scim_methods::table.find(node_id.get()))
            .set((
                scim_methods::token_hash.eq(token_hash),
                scim_methods::token_created_at.eq(now),
            ))
            .execute(conn)?;
        if updated > 0 {
            return Ok(TokenChange::Rotated);
        }
        diesel::insert_into(scim_methods::table)
            .values((
                scim_methods::node_id.eq(node_id.get()),
                scim_methods::token_hash.eq(token_hash),
                scim_methods::status.eq("pending"),
                scim_methods::created_at.eq(now),
                scim_methods::token_created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(TokenChange::Created)
    })
}

pub fn get(conn: &mut DbConnection, node_id: NodeId) -> Result<Option<ScimMethod>, StorageError> {
    scim_methods::table
        .find(node_id.get())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(ScimMethod::try_from)
        .transpose()
}

/// How stale `last_used_at` may get before an authenticated request refreshes it; keeps the
/// SCIM hot path from writing on every request.
pub const LAST_USE_RESOLUTION_MS: i64 = 60_000;

/// Records an authenticated request: `active` from now on, last use refreshed at most once
/// per [`LAST_USE_RESOLUTION_MS`]. Returns whether the method was pending until now.
pub fn mark_used(conn: &mut DbConnection, node_id: NodeId) -> Result<bool, StorageError> {
    let now = now_millis();
    let activated = diesel::update(
        scim_methods::table
            .find(node_id.get())
            .filter(scim_methods::status.eq("pending")),
    )
    .set((
        scim_methods::status.eq("active"),
        scim_methods::last_used_at.eq(now),
    ))
    .execute(conn)?;
    if activated > 0 {
        return Ok(true);
    }
    diesel::update(
        scim_methods::table.find(node_id.get()).filter(
            scim_methods::last_used_at
                .is_null()
                .or(scim_methods::last_used_at.lt(now - LAST_USE_RESOLUTION_MS)),
        ),
    )
    .set(scim_methods::last_used_at.eq(now))
    .execute(conn)?;
    Ok(false)
}

/// Per-node options of the method.
pub fn set_options(
    conn: &mut DbConnection,
    node_id: NodeId,
    hard_delete: Option<bool>,
    username_policy: Option<UserNamePolicy>,
) -> Result<(), StorageError> {
    conn.transaction(|conn| {
        let target = scim_methods::table.find(node_id.get());
        let mut found = get(conn, node_id)?.is_some();
        if let Some(hard) = hard_delete {
            found &= diesel::update(target)
                .set(scim_methods::hard_delete.eq(hard))
                .execute(conn)?
                > 0;
        }
        if let Some(policy) = username_policy {
            let value = match policy {
                UserNamePolicy::Accept => "accept",
                UserNamePolicy::Refuse => "refuse",
            };
            found &= diesel::update(target)
                .set(scim_methods::username_policy.eq(value))
                .execute(conn)?
                > 0;
        }
        if found {
            Ok(())
        } else {
            Err(StorageError::NotFound {
                what: "SCIM method",
            })
        }
    })
}
