//! SAML state that every replica must share: pending AuthnRequests (consumed once) and the ids
//! of assertions already used (kept until they expire).

use diesel::prelude::*;

use crate::schema::{authn_requests, seen_assertions};
use crate::{DbConnection, SsoId, StorageError, now_millis};

/// Remembers an AuthnRequest sent for this method.
pub fn remember_request(
    conn: &mut DbConnection,
    sso_id: SsoId,
    request_id: &str,
    relay_state: Option<&str>,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(authn_requests::table)
        .values((
            authn_requests::id.eq(request_id),
            authn_requests::sso_id.eq(sso_id.get()),
            authn_requests::relay_state.eq(relay_state),
            authn_requests::created_at.eq(now_millis()),
            authn_requests::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Consumes a pending, unexpired request of this method: `Some(relay_state)` the first time,
/// `None` when there is no such request (unknown, expired, another method's, or already used).
pub fn consume_request(
    conn: &mut DbConnection,
    sso_id: SsoId,
    request_id: &str,
) -> Result<Option<Option<String>>, StorageError> {
    crate::transaction(conn, |conn| {
        let found: Option<Option<String>> = authn_requests::table
            .filter(authn_requests::id.eq(request_id))
            .filter(authn_requests::sso_id.eq(sso_id.get()))
            .filter(authn_requests::expires_at.gt(now_millis()))
            .select(authn_requests::relay_state)
            .first(conn)
            .optional()?;
        // Deleting decides who consumed it when two replicas race: only one deletes the row.
        let deleted =
            diesel::delete(authn_requests::table.filter(authn_requests::id.eq(request_id)))
                .execute(conn)?;
        Ok(if deleted == 1 { found } else { None })
    })
}

/// Records an assertion id; `false` when it was already used (a replay).
pub fn first_use_of_assertion(
    conn: &mut DbConnection,
    sso_id: SsoId,
    assertion_id: &str,
    expires_at: i64,
) -> Result<bool, StorageError> {
    let inserted = diesel::insert_into(seen_assertions::table)
        .values((
            seen_assertions::sso_id.eq(sso_id.get()),
            seen_assertions::assertion_id.eq(assertion_id),
            seen_assertions::expires_at.eq(expires_at),
        ))
        .execute(conn);
    match inserted.map_err(StorageError::from) {
        Ok(_) => Ok(true),
        Err(StorageError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Forgets expired requests and assertion ids; returns how many rows went.
pub fn purge_expired(conn: &mut DbConnection) -> Result<usize, StorageError> {
    let now = now_millis();
    let requests = diesel::delete(authn_requests::table.filter(authn_requests::expires_at.le(now)))
        .execute(conn)?;
    let assertions =
        diesel::delete(seen_assertions::table.filter(seen_assertions::expires_at.le(now)))
            .execute(conn)?;
    Ok(requests + assertions)
}
