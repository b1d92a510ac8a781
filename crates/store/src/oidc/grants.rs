//! Authorizations, codes, tokens and logouts in progress.
//!
//! A *grant* is what one authorization code started: the code, the access tokens and the
//! chain of refresh tokens issued from it share its id. Presenting a used code or a replaced
//! refresh token again revokes the whole grant (RFC 6749 section 4.1.2, RFC 9700 section
//! 4.14.2): whoever holds the other copy is shut out as well.

use diesel::prelude::*;

use crate::apps::ClientId;
use crate::schema::{oidc_authorizations, oidc_codes, oidc_logouts, oidc_tokens, users};
use crate::{DbConnection, NodeId, SsoId, StorageError, UserId, now_millis};

/// An authorization request waiting for the user's SAML sign-in through `sso_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    pub node_id: NodeId,
    pub sso_id: SsoId,
    /// The request's `max_age`, in seconds.
    pub max_age: Option<i64>,
    /// `prompt=login` or `max_age=0`: only a sign-in after the request will do.
    pub force_login: bool,
    pub created_at: i64,
}

pub fn create_authorization(
    conn: &mut DbConnection,
    id_hash: &str,
    authz: &Authorization,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(oidc_authorizations::table)
        .values((
            oidc_authorizations::id_hash.eq(id_hash),
            oidc_authorizations::client_id.eq(authz.client_id.as_str()),
            oidc_authorizations::redirect_uri.eq(&authz.redirect_uri),
            oidc_authorizations::scope.eq(&authz.scope),
            oidc_authorizations::state.eq(&authz.state),
            oidc_authorizations::nonce.eq(&authz.nonce),
            oidc_authorizations::code_challenge.eq(&authz.code_challenge),
            oidc_authorizations::node_id.eq(authz.node_id.get()),
            oidc_authorizations::sso_id.eq(authz.sso_id.get()),
            oidc_authorizations::max_age.eq(authz.max_age),
            oidc_authorizations::force_login.eq(authz.force_login),
            oidc_authorizations::created_at.eq(authz.created_at),
            oidc_authorizations::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

type AuthorizationRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    bool,
    i64,
);

/// Takes a pending, unexpired authorization: `Some` once, `None` afterwards (or when unknown).
pub fn take_authorization(
    conn: &mut DbConnection,
    id_hash: &str,
) -> Result<Option<Authorization>, StorageError> {
    crate::transaction(conn, |conn| {
        let row: Option<AuthorizationRow> = oidc_authorizations::table
            .find(id_hash)
            .filter(oidc_authorizations::expires_at.gt(now_millis()))
            .select((
                oidc_authorizations::client_id,
                oidc_authorizations::redirect_uri,
                oidc_authorizations::scope,
                oidc_authorizations::state,
                oidc_authorizations::nonce,
                oidc_authorizations::code_challenge,
                oidc_authorizations::node_id,
                oidc_authorizations::sso_id,
                oidc_authorizations::max_age,
                oidc_authorizations::force_login,
                oidc_authorizations::created_at,
            ))
            .first(conn)
            .optional()?;
        // The delete decides who took it when two requests race.
        let deleted = diesel::delete(oidc_authorizations::table.find(id_hash)).execute(conn)?;
        Ok(row.filter(|_| deleted == 1).map(|r| Authorization {
            client_id: ClientId::from_db(r.0),
            redirect_uri: r.1,
            scope: r.2,
            state: r.3,
            nonce: r.4,
            code_challenge: r.5,
            node_id: NodeId::from_db(r.6),
            sso_id: SsoId::from_db(r.7),
            max_age: r.8,
            force_login: r.9,
            created_at: r.10,
        }))
    })
}

/// What a code (and every token of its grant) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grant_id: String,
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub user_id: UserId,
    pub node_id: NodeId,
    pub sso_id: Option<SsoId>,
    /// When the user signed in at the IdP (epoch milliseconds).
    pub auth_time: i64,
    /// When the grant ends: its refresh tokens last no longer (the SAML session's end).
    pub ends_at: i64,
}

pub fn create_code(
    conn: &mut DbConnection,
    code_hash: &str,
    grant: &Grant,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(oidc_codes::table)
        .values((
            oidc_codes::code_hash.eq(code_hash),
            oidc_codes::grant_id.eq(&grant.grant_id),
            oidc_codes::client_id.eq(grant.client_id.as_str()),
            oidc_codes::redirect_uri.eq(&grant.redirect_uri),
            oidc_codes::scope.eq(&grant.scope),
            oidc_codes::nonce.eq(&grant.nonce),
            oidc_codes::code_challenge.eq(&grant.code_challenge),
            oidc_codes::user_id.eq(grant.user_id.as_str()),
            oidc_codes::node_id.eq(grant.node_id.get()),
            oidc_codes::sso_id.eq(grant.sso_id.map(SsoId::get)),
            oidc_codes::auth_time.eq(grant.auth_time),
            oidc_codes::grant_ends_at.eq(grant.ends_at),
            oidc_codes::created_at.eq(now_millis()),
            oidc_codes::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a code or a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<T> {
    /// First use: what it stands for (now used).
    Fresh(T),
    /// Used before: its grant has just been revoked.
    Reused {
        grant_id: String,
        client_id: ClientId,
        node_id: NodeId,
    },
    /// Known but past its end.
    Expired,
    /// Issued to another client: left as it was (a client holding a leaked copy cannot use it
    /// up, nor make the real client's use look like a replay).
    OtherClient,
    /// Not a code or token of this kind (or revoked).
    Unknown,
}

type CodeRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    i64,
);

/// Uses a code of `client_id` once. A second use revokes what the first issued.
pub fn redeem_code(
    conn: &mut DbConnection,
    code_hash: &str,
    client_id: &ClientId,
) -> Result<Redemption<Grant>, StorageError> {
    crate::transaction(conn, |conn| {
        let now = now_millis();
        let row: Option<CodeRow> = oidc_codes::table
            .find(code_hash)
            .select((
                oidc_codes::grant_id,
                oidc_codes::client_id,
                oidc_codes::redirect_uri,
                oidc_codes::scope,
                oidc_codes::nonce,
                oidc_codes::code_challenge,
                oidc_codes::user_id,
                oidc_codes::node_id,
                oidc_codes::sso_id,
                oidc_codes::auth_time,
                oidc_codes::expires_at,
                oidc_codes::used_at,
                oidc_codes::grant_ends_at,
            ))
            .first(conn)
            .optional()?;
        let Some(r) = row else {
            return Ok(Redemption::Unknown);
        };
        if r.1 != client_id.as_str() {
            return Ok(Redemption::OtherClient);
        }
        let reused = |r: CodeRow| Redemption::Reused {
            grant_id: r.0,
            client_id: ClientId::from_db(r.1),
            node_id: NodeId::from_db(r.7),
        };
        if r.11.is_some() {
            revoke_grant(conn, &r.0)?;
            return Ok(reused(r));
        }
        // The update decides who used it when two requests race.
        let claimed = diesel::update(
            oidc_codes::table
                .find(code_hash)
                .filter(oidc_codes::used_at.is_null()),
        )
        .set(oidc_codes::used_at.eq(now))
        .execute(conn)?;
        if claimed == 0 {
            revoke_grant(conn, &r.0)?;
            return Ok(reused(r));
        }
        if r.10 <= now {
            return Ok(Redemption::Expired);
        }
        Ok(Redemption::Fresh(Grant {
            grant_id: r.0,
            client_id: ClientId::from_db(r.1),
            redirect_uri: r.2,
            scope: r.3,
            nonce: r.4,
            code_challenge: r.5,
            user_id: UserId::from_db(r.6),
            node_id: NodeId::from_db(r.7),
            sso_id: r.8.map(SsoId::from_db),
            auth_time: r.9,
            ends_at: r.12,
        }))
    })
}

/// Access or refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// What a live token stands for, with its user's state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub grant_id: String,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub node_id: NodeId,
    pub sso_id: Option<SsoId>,
    pub scope: String,
    pub auth_time: i64,
    pub expires_at: i64,
    /// False once the account is locked or deprovisioned.
    pub user_active: bool,
}

/// Records a token issued for `grant`, valid until `expires_at`.
pub fn issue_token(
    conn: &mut DbConnection,
    token_hash: &str,
    kind: TokenKind,
    grant: &TokenInfo,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(oidc_tokens::table)
        .values((
            oidc_tokens::token_hash.eq(token_hash),
            oidc_tokens::kind.eq(kind.as_str()),
            oidc_tokens::grant_id.eq(&grant.grant_id),
            oidc_tokens::client_id.eq(grant.client_id.as_str()),
            oidc_tokens::user_id.eq(grant.user_id.as_str()),
            oidc_tokens::node_id.eq(grant.node_id.get()),
            oidc_tokens::sso_id.eq(grant.sso_id.map(SsoId::get)),
            oidc_tokens::scope.eq(&grant.scope),
            oidc_tokens::auth_time.eq(grant.auth_time),
            oidc_tokens::created_at.eq(now_millis()),
            oidc_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

type TokenRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    bool,
);

fn find_token(
    conn: &mut DbConnection,
    token_hash: &str,
    kind: TokenKind,
) -> Result<Option<TokenRow>, StorageError> {
    Ok(oidc_tokens::table
        .inner_join(users::table)
        .filter(oidc_tokens::token_hash.eq(token_hash))
        .filter(oidc_tokens::kind.eq(kind.as_str()))
        .select((
            oidc_tokens::grant_id,
            oidc_tokens::client_id,
            oidc_tokens::user_id,
            oidc_tokens::node_id,
            oidc_tokens::sso_id,
            oidc_tokens::scope,
            oidc_tokens::auth_time,
            oidc_tokens::expires_at,
            oidc_tokens::used_at,
            oidc_tokens::revoked_at,
            users::status,
            users::scim_visible,
        ))
        .first(conn)
        .optional()?)
}

fn info(r: TokenRow) -> TokenInfo {
    TokenInfo {
        grant_id: r.0,
        client_id: ClientId::from_db(r.1),
        user_id: UserId::from_db(r.2),
        node_id: NodeId::from_db(r.3),
        sso_id: r.4.map(SsoId::from_db),
        scope: r.5,
        auth_time: r.6,
        expires_at: r.7,
        user_active: r.10 == "active" && r.11,
    }
}

/// A live (unexpired, unrevoked) token of `kind`.
pub fn token(
    conn: &mut DbConnection,
    token_hash: &str,
    kind: TokenKind,
) -> Result<Option<TokenInfo>, StorageError> {
    Ok(find_token(conn, token_hash, kind)?
        .filter(|r| r.9.is_none() && r.7 > now_millis())
        .map(info))
}

/// Uses a refresh token of `client_id` once (it is replaced at every use). A second use
/// revokes its grant.
pub fn use_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    client_id: &ClientId,
) -> Result<Redemption<TokenInfo>, StorageError> {
    crate::transaction(conn, |conn| {
        let Some(row) = find_token(conn, token_hash, TokenKind::Refresh)? else {
            return Ok(Redemption::Unknown);
        };
        if row.9.is_some() {
            return Ok(Redemption::Unknown);
        }
        if row.1 != client_id.as_str() {
            return Ok(Redemption::OtherClient);
        }
        let now = now_millis();
        let claimed = diesel::update(
            oidc_tokens::table
                .find(token_hash)
                .filter(oidc_tokens::used_at.is_null()),
        )
        .set(oidc_tokens::used_at.eq(now))
        .execute(conn)?;
        if row.8.is_some() || claimed == 0 {
            revoke_grant(conn, &row.0)?;
            return Ok(Redemption::Reused {
                grant_id: row.0,
                client_id: ClientId::from_db(row.1),
                node_id: NodeId::from_db(row.3),
            });
        }
        if row.7 <= now {
            return Ok(Redemption::Expired);
        }
        Ok(Redemption::Fresh(info(row)))
    })
}

/// Revokes every token of a grant; returns how many were live.
pub fn revoke_grant(conn: &mut DbConnection, grant_id: &str) -> Result<usize, StorageError> {
    Ok(diesel::update(
        oidc_tokens::table
            .filter(oidc_tokens::grant_id.eq(grant_id))
            .filter(oidc_tokens::revoked_at.is_null()),
    )
    .set(oidc_tokens::revoked_at.eq(now_millis()))
    .execute(conn)?)
}

/// Revokes every token of a user (locked or deprovisioned) and voids their unused codes;
/// returns how many tokens were live.
pub fn revoke_user_tokens(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<usize, StorageError> {
    let now = now_millis();
    diesel::update(
        oidc_codes::table
            .filter(oidc_codes::user_id.eq(user_id.as_str()))
            .filter(oidc_codes::used_at.is_null()),
    )
    .set(oidc_codes::expires_at.eq(now))
    .execute(conn)?;
    Ok(diesel::update(
        oidc_tokens::table
            .filter(oidc_tokens::user_id.eq(user_id.as_str()))
            .filter(oidc_tokens::revoked_at.is_null()),
    )
    .set(oidc_tokens::revoked_at.eq(now))
    .execute(conn)?)
}

/// An RP-initiated logout waiting for the IdP's single logout to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogout {
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub state: Option<String>,
}

pub fn create_logout(
    conn: &mut DbConnection,
    id_hash: &str,
    logout: &PendingLogout,
    expires_at: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(oidc_logouts::table)
        .values((
            oidc_logouts::id_hash.eq(id_hash),
            oidc_logouts::client_id.eq(logout.client_id.as_str()),
            oidc_logouts::redirect_uri.eq(&logout.redirect_uri),
            oidc_logouts::state.eq(&logout.state),
            oidc_logouts::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes a pending logout once.
pub fn take_logout(
    conn: &mut DbConnection,
    id_hash: &str,
) -> Result<Option<PendingLogout>, StorageError> {
    crate::transaction(conn, |conn| {
        let row: Option<(String, String, Option<String>)> = oidc_logouts::table
            .find(id_hash)
            .filter(oidc_logouts::expires_at.gt(now_millis()))
            .select((
                oidc_logouts::client_id,
                oidc_logouts::redirect_uri,
                oidc_logouts::state,
            ))
            .first(conn)
            .optional()?;
        let deleted = diesel::delete(oidc_logouts::table.find(id_hash)).execute(conn)?;
        Ok(row
            .filter(|_| deleted == 1)
            .map(|(client_id, redirect_uri, state)| PendingLogout {
                client_id: ClientId::from_db(client_id),
                redirect_uri,
                state,
            }))
    })
}

/// Forgets expired authorizations, codes, tokens and logouts; returns how many rows went.
pub(crate) fn purge_expired(conn: &mut DbConnection) -> Result<usize, StorageError> {
    let now = now_millis();
    // A code is kept for an hour past its end, so that a second use (a stolen copy presented
    // late) is still recognised and revokes its grant.
    Ok(
        diesel::delete(oidc_authorizations::table.filter(oidc_authorizations::expires_at.le(now)))
            .execute(conn)?
            + diesel::delete(oidc_codes::table.filter(oidc_codes::expires_at.le(now - 3_600_000)))
                .execute(conn)?
            + diesel::delete(oidc_tokens::table.filter(oidc_tokens::expires_at.le(now)))
                .execute(conn)?
            + diesel::delete(oidc_logouts::table.filter(oidc_logouts::expires_at.le(now)))
                .execute(conn)?,
    )
}
