//! The provider's signing keys: made on first need (RS256), rotated on demand
//! (`idgate oidc rotate-key`), published while a token they signed may still be alive.

use idgate_store::oidc::{KeyAlg, SigningKey, keys};
use idgate_store::{DbConnection, StorageError, now_millis};

use crate::jws::{self, Signer};

/// How long a retired key stays in the JWKS: the longest an ID token it signed lives, and
/// an hour for clients that cache the JWKS.
pub const PUBLISHED_AFTER_RETIREMENT_SECONDS: i64 = crate::ACCESS_TOKEN_SECONDS + 3600;

/// How long a retired key is kept at all (an `id_token_hint` at logout may be old).
pub const KEPT_AFTER_RETIREMENT_SECONDS: i64 = 7 * 24 * 3600;

fn failed(err: &jws::JwsError) -> StorageError {
    StorageError::Corrupt(format!("signing key: {err}"))
}

/// The key that signs, made first when there is none yet.
pub fn signer(conn: &mut DbConnection) -> Result<Signer, StorageError> {
    let key = if let Some(key) = keys::signing_key(conn)? {
        key
    } else {
        let new = jws::generate(KeyAlg::Rs256).map_err(|e| failed(&e))?;
        keys::ensure(conn, &new)?
    };
    Signer::of(&key).map_err(|e| failed(&e))
}

/// A new key that signs from now on; the previous one stays published for a while.
pub fn rotate(conn: &mut DbConnection, alg: KeyAlg) -> Result<SigningKey, StorageError> {
    let new = jws::generate(alg).map_err(|e| failed(&e))?;
    keys::add(conn, &new)?;
    keys::signing_key(conn)?.ok_or(StorageError::NotFound {
        what: "signing key",
    })
}

/// The keys the JWKS publishes (the signing key made first when there is none).
pub fn published(conn: &mut DbConnection) -> Result<Vec<SigningKey>, StorageError> {
    signer(conn)?;
    keys::published(
        conn,
        now_millis() - PUBLISHED_AFTER_RETIREMENT_SECONDS * 1000,
    )
}

/// Every key still kept (for checking an `id_token_hint`).
pub fn kept(conn: &mut DbConnection) -> Result<Vec<SigningKey>, StorageError> {
    keys::published(conn, now_millis() - KEPT_AFTER_RETIREMENT_SECONDS * 1000)
}
