//! Signed-in sessions of users. The cookie holds a random token; only its hash is stored.

use diesel::prelude::*;

use crate::schema::{sessions, users};
use crate::{DbConnection, NodeId, SsoId, StorageError, UserId, now_millis};

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a UserId,
    pub node_id: NodeId,
    pub sso_id: Option<SsoId>,
    pub name_id: Option<&'a str>,
    pub session_index: Option<&'a str>,
    /// When the IdP says it authenticated the user (`AuthnInstant`), if it said.
    pub authn_instant: Option<i64>,
    /// Made from an unsolicited response: the user confirms it before an application learns
    /// who it is.
    pub needs_confirmation: bool,
    pub expires_at: i64,
}

pub fn create(conn: &mut DbConnection, new: &NewSession<'_>) -> Result<(), StorageError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(new.token_hash),
            sessions::user_id.eq(new.user_id.as_str()),
            sessions::node_id.eq(new.node_id.get()),
            sessions::sso_id.eq(new.sso_id.map(SsoId::get)),
            sessions::name_id.eq(new.name_id),
            sessions::session_index.eq(new.session_index),
            sessions::created_at.eq(now_millis()),
            sessions::expires_at.eq(new.expires_at),
            sessions::authn_instant.eq(new.authn_instant),
            sessions::needs_confirmation.eq(new.needs_confirmation),
        ))
        .execute(conn)?;
    Ok(())
}

/// A live session and who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The hash of the session's token (the cookie's value).
    pub token_hash: String,
    pub user_id: UserId,
    pub node_id: NodeId,
    pub sso_id: Option<SsoId>,
    /// The `NameID` and `SessionIndex` the IdP signed the user in with (for single logout).
    pub name_id: Option<String>,
    pub session_index: Option<String>,
    /// When the session began: when the IdP's answer was accepted.
    pub created_at: i64,
    /// When the IdP says it authenticated the user (`AuthnInstant`), if it said.
    pub authn_instant: Option<i64>,
    /// Made from an unsolicited response and not confirmed yet by the user for an application.
    pub needs_confirmation: bool,
    pub expires_at: i64,
    pub user_name: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// False when the account was locked after sign-in: the session no longer counts.
    pub user_active: bool,
}

impl Session {
    /// When the user authenticated at the IdP: its `AuthnInstant`, never later than the
    /// session's start (an IdP clock ahead of idgate's does not make it later).
    pub fn auth_time(&self) -> i64 {
        self.authn_instant
            .map_or(self.created_at, |at| at.min(self.created_at))
    }
}

#[derive(Queryable)]
struct SessionRow {
    user_id: String,
    node_id: i64,
    sso_id: Option<i64>,
    name_id: Option<String>,
    session_index: Option<String>,
    created_at: i64,
    authn_instant: Option<i64>,
    needs_confirmation: bool,
    expires_at: i64,
    user_name: String,
    email: Option<String>,
    display_name: Option<String>,
    status: String,
    scim_visible: bool,
}

/// The unexpired session whose token hashes to `token_hash`.
pub fn get(conn: &mut DbConnection, token_hash: &str) -> Result<Option<Session>, StorageError> {
    let row: Option<SessionRow> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now_millis()))
        .select((
            sessions::user_id,
            sessions::node_id,
            sessions::sso_id,
            sessions::name_id,
            sessions::session_index,
            sessions::created_at,
            sessions::authn_instant,
            sessions::needs_confirmation,
            sessions::expires_at,
            users::user_name,
            users::email,
            users::display_name,
            users::status,
            users::scim_visible,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|r| Session {
        token_hash: token_hash.to_owned(),
        user_id: UserId::from_db(r.user_id),
        node_id: NodeId::from_db(r.node_id),
        sso_id: r.sso_id.map(SsoId::from_db),
        name_id: r.name_id,
        session_index: r.session_index,
        created_at: r.created_at,
        authn_instant: r.authn_instant,
        needs_confirmation: r.needs_confirmation,
        expires_at: r.expires_at,
        user_name: r.user_name,
        email: r.email,
        display_name: r.display_name,
        user_active: r.status == "active" && r.scim_visible,
    }))
}

/// Records that the user confirmed a session made from an unsolicited response.
pub fn confirm(conn: &mut DbConnection, token_hash: &str) -> Result<(), StorageError> {
    diesel::update(sessions::table.find(token_hash))
        .set(sessions::needs_confirmation.eq(false))
        .execute(conn)?;
    Ok(())
}

/// Ends a session (no error when it is already gone).
pub fn delete(conn: &mut DbConnection, token_hash: &str) -> Result<(), StorageError> {
    diesel::delete(sessions::table.filter(sessions::id_hash.eq(token_hash))).execute(conn)?;
    Ok(())
}

/// Ends every session an SSO method opened for a NameID (IdP-initiated logout); returns how many.
pub fn delete_for_name_id(
    conn: &mut DbConnection,
    sso_id: SsoId,
    name_id: &str,
) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        sessions::table
            .filter(sessions::sso_id.eq(sso_id.get()))
            .filter(sessions::name_id.eq(name_id)),
    )
    .execute(conn)?)
}

/// Ends every session an SSO method opened (the method is deleted, or its IdP replaced);
/// returns how many.
pub fn delete_for_sso(conn: &mut DbConnection, sso_id: SsoId) -> Result<usize, StorageError> {
    Ok(diesel::delete(sessions::table.filter(sessions::sso_id.eq(sso_id.get()))).execute(conn)?)
}

/// Ends every session of a user (when an admin locks it); returns how many.
pub fn delete_for_user(conn: &mut DbConnection, user_id: &UserId) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id.as_str())))
            .execute(conn)?,
    )
}

/// Forgets expired sessions; returns how many went.
pub fn purge_expired(conn: &mut DbConnection) -> Result<usize, StorageError> {
    Ok(
        diesel::delete(sessions::table.filter(sessions::expires_at.le(now_millis())))
            .execute(conn)?,
    )
}
