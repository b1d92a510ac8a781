//! ID token signing keys. The newest key that is not retired signs; adding a key retires the
//! others, which stay published (the JWKS) until every token they signed has expired.

use diesel::prelude::*;

use crate::schema::oidc_keys;
use crate::{DbConnection, StorageError, now_millis};

/// The JWS algorithms idgate signs ID tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    Rs256,
    Es256,
}

impl KeyAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "RS256",
            KeyAlg::Es256 => "ES256",
        }
    }
}

impl std::str::FromStr for KeyAlg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "RS256" => Ok(KeyAlg::Rs256),
            "ES256" => Ok(KeyAlg::Es256),
            other => Err(format!(
                "'{}' is not a signing algorithm idgate offers (RS256 or ES256)",
                other.escape_debug()
            )),
        }
    }
}

impl std::fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: KeyAlg,
    pub private_key_pem: String,
    /// The public key as a JWK (JSON text), as the JWKS publishes it.
    pub public_jwk: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// A key to add.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub kid: String,
    pub alg: KeyAlg,
    pub private_key_pem: String,
    pub public_jwk: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oidc_keys)]
struct Row {
    kid: String,
    alg: String,
    private_key_pem: String,
    public_jwk: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl Row {
    fn into_key(self) -> Result<SigningKey, StorageError> {
        let alg = self
            .alg
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("algorithm of signing key {}", self.kid)))?;
        Ok(SigningKey {
            kid: self.kid,
            alg,
            private_key_pem: self.private_key_pem,
            public_jwk: self.public_jwk,
            created_at: self.created_at,
            retired_at: self.retired_at,
        })
    }
}

/// The key that signs: the newest one not retired.
pub fn signing_key(conn: &mut DbConnection) -> Result<Option<SigningKey>, StorageError> {
    oidc_keys::table
        .filter(oidc_keys::retired_at.is_null())
        .order((oidc_keys::created_at.desc(), oidc_keys::kid.desc()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_key)
        .transpose()
}

/// The keys to publish: every key not retired, and those retired after `retired_after`.
pub fn published(
    conn: &mut DbConnection,
    retired_after: i64,
) -> Result<Vec<SigningKey>, StorageError> {
    oidc_keys::table
        .filter(
            oidc_keys::retired_at
                .is_null()
                .or(oidc_keys::retired_at.gt(retired_after)),
        )
        .order((oidc_keys::created_at.desc(), oidc_keys::kid.desc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_key)
        .collect()
}

/// Every key, newest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<SigningKey>, StorageError> {
    oidc_keys::table
        .order((oidc_keys::created_at.desc(), oidc_keys::kid.desc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_key)
        .collect()
}

/// Adds a key that signs from now on; every other key is retired (in the same transaction).
pub fn add(conn: &mut DbConnection, new: &NewKey) -> Result<(), StorageError> {
    crate::transaction(conn, |conn| {
        let now = now_millis();
        diesel::update(oidc_keys::table.filter(oidc_keys::retired_at.is_null()))
            .set(oidc_keys::retired_at.eq(now))
            .execute(conn)?;
        diesel::insert_into(oidc_keys::table)
            .values((
                oidc_keys::kid.eq(&new.kid),
                oidc_keys::alg.eq(new.alg.as_str()),
                oidc_keys::private_key_pem.eq(&new.private_key_pem),
                oidc_keys::public_jwk.eq(&new.public_jwk),
                oidc_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Adds `new` only when no key signs yet (the first start); returns the key that signs.
/// Replicas starting together make one key, not one each.
pub fn ensure(conn: &mut DbConnection, new: &NewKey) -> Result<SigningKey, StorageError> {
    crate::transaction(conn, |conn| {
        if let Some(key) = signing_key(conn)? {
            return Ok(key);
        }
        diesel::insert_into(oidc_keys::table)
            .values((
                oidc_keys::kid.eq(&new.kid),
                oidc_keys::alg.eq(new.alg.as_str()),
                oidc_keys::private_key_pem.eq(&new.private_key_pem),
                oidc_keys::public_jwk.eq(&new.public_jwk),
                oidc_keys::created_at.eq(now_millis()),
            ))
            .execute(conn)?;
        signing_key(conn)?.ok_or(StorageError::NotFound {
            what: "signing key",
        })
    })
}

/// Deletes keys retired before `before`; returns how many.
pub fn purge_retired(conn: &mut DbConnection, before: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(oidc_keys::table.filter(oidc_keys::retired_at.lt(before))).execute(conn)?)
}
