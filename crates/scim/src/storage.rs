//! Shared plumbing of the SCIM handlers: the one hop into the store, and how storage errors
//! read as SCIM answers.

use actix_web::http::StatusCode;
use idgate_store::events::Outcome;
use idgate_store::{StorageError, Store, teams, users};

use crate::error::{ScimError, ScimType};
use crate::http::{audit, precondition_failed};

/// Maps storage errors onto SCIM answers.
pub fn storage_error(err: StorageError, what: &str) -> ScimError {
    match err {
        StorageError::NotFound { .. } => ScimError::not_found(format!("{what} not found")),
        StorageError::Conflict { constraint } if constraint.contains(users::USER_NAME_INDEX) => {
            ScimError::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                "userName is already taken",
            )
        }
        StorageError::Conflict { constraint } if constraint.contains(teams::DISPLAY_NAME_INDEX) => {
            ScimError::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                "displayName is already taken",
            )
        }
        StorageError::Conflict { .. } => ScimError::new(
            StatusCode::CONFLICT,
            Some(ScimType::Uniqueness),
            format!("{what} conflicts with an existing one"),
        ),
        StorageError::VersionMismatch => precondition_failed(),
        other => {
            tracing::error!(error = %other, "SCIM storage failure");
            ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "storage is unavailable; retry later",
            )
        }
    }
}

/// A write that the client's data made impossible (a taken name, a version that moved on) is
/// audited as a failure and answered; any other storage failure stays an error.
pub(crate) fn refused_write<T>(
    c: &mut idgate_store::DbConnection,
    node: idgate_store::NodeId,
    (kind, target, what): (&str, &str, &'static str),
    result: Result<T, StorageError>,
) -> Result<Result<T, ScimError>, StorageError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e @ (StorageError::Conflict { .. } | StorageError::VersionMismatch)) => {
            audit(c, node, kind, target, Outcome::Failure, &e.to_string());
            Ok(Err(storage_error(e, what)))
        }
        Err(e) => Err(e),
    }
}

/// Runs `f` in the store, turning storage errors into SCIM errors.
pub async fn run<T, F>(store: &Store, what: &'static str, f: F) -> Result<T, ScimError>
where
    F: FnOnce(&mut idgate_store::DbConnection) -> Result<Result<T, ScimError>, StorageError>
        + Send
        + 'static,
    T: Send + 'static,
{
    store.run(f).await.map_err(|e| storage_error(e, what))?
}
