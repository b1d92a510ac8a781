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

impl From<DieselError> for StorageError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StorageError::Conflict {
                    constraint: info
                        .constraint_name()
                        .map_or_else(|| info.message().to_owned(), str::to_owned),
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
