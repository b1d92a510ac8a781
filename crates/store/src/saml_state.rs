//! SAML state that every replica must share: pending AuthnRequests (consumed once) and the ids
//! of assertions and IdP LogoutRequests already used (kept until they expire).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::schema::{authn_requests, seen_assertions};
use crate::{DbConnection, SsoId, StorageError, now_millis};

/// Remembers an AuthnRequest sent for this method, with the hash of the cookie of the browser
/// that asked for it (when the browser could be given one).
pub fn remember_request(
    conn: &mut DbConnection,
    sso_id: SsoId,
    request_id: &str,
    relay_state: Option<&str>,
    browser_hash: Option<&str>,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(authn_requests::table)
        .values((
            authn_requests::id.eq(request_id),
            authn_requests::sso_id.eq(sso_id.get()),
            authn_requests::relay_state.eq(relay_state),
            authn_requests::browser_hash.eq(browser_hash),
            authn_requests::created_at.eq(now_millis()),
            authn_requests::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A pending AuthnRequest, as its response finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub relay_state: Option<String>,
    /// The hash of the starting browser's cookie, when it was given one.
    pub browser_hash: Option<String>,
}

/// Consumes a pending, unexpired request of this method: `Some` the first time, `None` when
/// there is no such request (unknown, expired, another method's, or already used).
pub fn consume_request(
    conn: &mut DbConnection,
    sso_id: SsoId,
    request_id: &str,
) -> Result<Option<PendingRequest>, StorageError> {
    crate::transaction(conn, |conn| {
        let found: Option<(Option<String>, Option<String>)> = authn_requests::table
            .filter(authn_requests::id.eq(request_id))
            .filter(authn_requests::sso_id.eq(sso_id.get()))
            .filter(authn_requests::expires_at.gt(now_millis()))
            .select((authn_requests::relay_state, authn_requests::browser_hash))
            .first(conn)
            .optional()?;
        // Deleting decides who consumed it when two replicas race: only one deletes the row.
        // Filtered by method too: a response to another method must not use up its request.
        let deleted = diesel::delete(
            authn_requests::table
                .filter(authn_requests::id.eq(request_id))
                .filter(authn_requests::sso_id.eq(sso_id.get())),
        )
        .execute(conn)?;
        Ok(if deleted == 1 {
            found.map(|(relay_state, browser_hash)| PendingRequest {
                relay_state,
                browser_hash,
            })
        } else {
            None
        })
    })
}

/// Records an assertion id; `false` when it was already used (a replay).
pub fn first_use_of_assertion(
    conn: &mut DbConnection,
    sso_id: SsoId,
    assertion_id: &str,
    expires_at: i64,
) -> Result<bool, StorageError> {
    // ON CONFLICT rather than a refused insert: inside the sign-in's transaction a failed
    // statement would abort the whole transaction on PostgreSQL.
    let inserted = diesel::sql_query(
        "INSERT INTO seen_assertions (sso_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (sso_id, assertion_id) DO NOTHING",
    )
    .bind::<BigInt, _>(sso_id.get())
    .bind::<Text, _>(assertion_id)
    .bind::<BigInt, _>(expires_at)
    .execute(conn)?;
    Ok(inserted == 1)
}

/// Records the ID of a LogoutRequest the IdP sent; `false` when it was already used (a replay).
/// It shares the table of assertion ids under its own prefix: message IDs are XML names without colons
/// (samael refuses others), which cannot contain the space, so the two never collide.
pub fn first_use_of_logout_request(
    conn: &mut DbConnection,
    sso_id: SsoId,
    request_id: &str,
    expires_at: i64,
) -> Result<bool, StorageError> {
    first_use_of_assertion(
        conn,
        sso_id,
        &format!("{LOGOUT_REQUEST_PREFIX}{request_id}"),
        expires_at,
    )
}

const LOGOUT_REQUEST_PREFIX: &str = "LogoutRequest ";

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

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{PoolOptions, Store, nodes, sso};

    fn method(conn: &mut DbConnection, node: crate::NodeId, name: &str) -> SsoId {
        sso::create(
            conn,
            &sso::NewSsoMethod {
                node_id: node,
                name,
                sp_entity_id: None,
                sp_key_pem: "k",
                sp_cert_pem: "c",
                idp_initiated: false,
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_request_is_consumed_only_by_its_own_method() {
        for db in TestDatabase::all() {
            let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
            let backend = db.backend();
            store
                .run(move |c| {
                    let node = nodes::create(c, &nodes::NodeName::parse("n").unwrap())
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                    let mine = method(c, node.id, "mine");
                    let other = method(c, node.id, "other");
                    let later = now_millis() + 60_000;
                    remember_request(c, mine, "_req", Some("/x"), None, later)?;
                    assert_eq!(
                        consume_request(c, other, "_req")?,
                        None,
                        "another method's response answers nothing"
                    );
                    assert_eq!(
                        consume_request(c, mine, "_req")?.and_then(|p| p.relay_state),
                        Some("/x".to_owned()),
                        "{backend:?}: and did not use up the request"
                    );
                    assert_eq!(consume_request(c, mine, "_req")?, None, "consumed once");
                    Ok(())
                })
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn logout_request_ids_are_seen_once_apart_from_assertion_ids() {
        for db in TestDatabase::all() {
            let store = Store::open(&db.url, &PoolOptions::default(), true).unwrap();
            store
                .run(|c| {
                    let node = nodes::create(c, &nodes::NodeName::parse("n").unwrap())
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                    let sso_id = method(c, node.id, "m");
                    let later = now_millis() + 60_000;
                    assert!(first_use_of_assertion(c, sso_id, "_id1", later)?);
                    assert!(
                        first_use_of_logout_request(c, sso_id, "_id1", later)?,
                        "an assertion id is not a logout request id"
                    );
                    assert!(!first_use_of_logout_request(c, sso_id, "_id1", later)?);
                    Ok(())
                })
                .await
                .unwrap();
        }
    }
}
