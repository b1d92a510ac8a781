//! What the OpenID Connect provider keeps: its signing keys ([`keys`]), authorizations waiting
//! for a SAML sign-in, codes, tokens and logouts in progress ([`grants`]). Every secret handed
//! to a browser or a client (authorization ids, codes, tokens) is kept only as its SHA-256 hash
//! ([`crate::token`]); every row is shared by the replicas.

pub mod grants;
pub mod keys;

pub use grants::{
    Authorization, Grant, PendingLogout, Redemption, TokenInfo, TokenKind, create_authorization,
    create_code, create_logout, issue_token, redeem_code, revoke_grant, revoke_user_tokens,
    take_authorization, take_logout, token, use_refresh_token,
};
pub use keys::{KeyAlg, NewKey, SigningKey};

use crate::{DbConnection, StorageError};

/// Forgets what has expired: authorizations, codes, tokens, logouts, and keys retired before
/// `keys_retired_before`. Returns how many rows went.
pub fn purge_expired(
    conn: &mut DbConnection,
    keys_retired_before: i64,
) -> Result<usize, StorageError> {
    Ok(grants::purge_expired(conn)? + keys::purge_retired(conn, keys_retired_before)?)
}
