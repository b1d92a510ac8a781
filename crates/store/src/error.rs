//! The storage error: diesel and r2d2 types never leak past this crate.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(thiserror::Error, Debug)]
pub enum StorageError {
    #[error("invalid database URL {0}")]
    InvalidUrl(String),
    #[error("cannot connect to {backend} at {url}: {reason}")]
    Connect {
        backend: crate::Backend,
        url: String,
        reason: String,
    },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A unique constraint refused the write; `constraint` names the index when the backend says.
    #[error("already exists ({constraint})")]
    Conflict { constraint: String },
    #[error("the row was changed concurrently")]
    VersionMismatch,
    #[error("database query failed: {0}")]
    Query(DieselError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// SQLite names the columns of a violated unique index, not the index (PostgreSQL names the
/// index): the unique indexes on plain columns that callers tell apart, by their columns.
const SQLITE_UNIQUE_COLUMNS: &[(&str, &str)] = &[
    ("users.node_id, users.user_name_key", "users_node_user_name"),
    (
        "teams.node_id, teams.display_name_key",
        "teams_node_display_name",
    ),
    ("admins.username_key", "admins_username_key"),
    (
        "identity_links.sso_id, identity_links.name_id_key",
        "identity_links_pkey",
    ),
    (
        "identity_links.sso_id, identity_links.user_id",
        "identity_links_sso_user",
    ),
    ("oidc_apps.name_key", "oidc_apps_name_key"),
];

/// The name of the index a unique violation names, on either backend.
fn violated_index(info: &dyn diesel::result::DatabaseErrorInformation) -> String {
    if let Some(name) = info.constraint_name() {
        return name.to_owned();
    }
    let message = info.message();
    let columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or(message);
    SQLITE_UNIQUE_COLUMNS
        .iter()
        .find(|(cols, _)| *cols == columns)
        .map_or_else(|| message.to_owned(), |(_, index)| (*index).to_owned())
}

impl From<DieselError> for StorageError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StorageError::Conflict {
                    constraint: violated_index(info.as_ref()),
                }
            }
            DieselError::NotFound => StorageError::NotFound { what: "row" },
            other => StorageError::Query(other),
        }
    }
}

impl StorageError {
    /// Whether the error is a unique-constraint refusal on the named index.
    pub fn is_conflict_on(&self, index: &str) -> bool {
        matches!(self, StorageError::Conflict { constraint } if constraint.contains(index))
    }
}
