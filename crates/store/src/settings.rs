//! Instance-wide values, shared by every replica.

use diesel::prelude::*;

use crate::schema::settings;
use crate::{DbConnection, StorageError, now_millis};

/// The key under which the one-time setup token's hash is kept while no admin exists.
pub const SETUP_TOKEN_HASH: &str = "setup_token_hash";

pub fn get(conn: &mut DbConnection, key: &str) -> Result<Option<String>, StorageError> {
    Ok(settings::table
        .find(key)
        .select(settings::value)
        .first(conn)
        .optional()?)
}

/// Sets a value (replacing any).
pub fn set(conn: &mut DbConnection, key: &str, value: &str) -> Result<(), StorageError> {
    crate::transaction(conn, |conn| {
        diesel::delete(settings::table.find(key)).execute(conn)?;
        diesel::insert_into(settings::table)
            .values((
                settings::key.eq(key),
                settings::value.eq(value),
                settings::updated_at.eq(now_millis()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn delete(conn: &mut DbConnection, key: &str) -> Result<(), StorageError> {
    diesel::delete(settings::table.find(key)).execute(conn)?;
    Ok(())
}

/// Removes a value if it is exactly `value`, in one statement; `true` for the one caller that
/// removed it (a one-time token claimed by two requests at once goes to one of them).
pub fn take(conn: &mut DbConnection, key: &str, value: &str) -> Result<bool, StorageError> {
    let removed = diesel::delete(
        settings::table
            .filter(settings::key.eq(key))
            .filter(settings::value.eq(value)),
    )
    .execute(conn)?;
    Ok(removed == 1)
}
