//! idgate-store: everything idgate keeps, in SQLite (embedded, the default) or PostgreSQL.
//!
//! One diesel codebase serves both backends through [`DbConnection`], a diesel
//! `MultiConnection`; the URL scheme picks the backend. Every piece of state lives here, never
//! only in a process's memory, so that any number of idgate replicas behave as one.
//!
//! Callers use [`Store`]: [`Store::run`] is the one place where blocking diesel work leaves the
//! async executor, and the repository modules ([`nodes`], [`admins`], [`events`], [`sso`],
//! [`scim`], [`users`], [`teams`], [`links`], [`apps`], [`oidc`])
//! hold the queries.

mod conn;
mod error;
mod identity;
mod ids;
pub mod schema;
mod url;

pub mod admins;
pub mod apps;
pub mod events;
pub mod links;
pub mod nodes;
pub mod oidc;
pub mod outbox;
pub mod predicate;
pub mod saml_state;
pub mod scim;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod teams;
pub mod token;
pub mod users;

#[cfg(feature = "test-support")]
pub mod testing;

use std::time::Duration;

pub use conn::{ConnectionManager, DbConnection, migration_names};
pub use error::StorageError;
pub use identity::{EmailDomain, IdentityKey, printable};
pub use ids::{AdminId, NodeId, SsoId, TeamId, UserId, now_millis};
pub use url::{Backend, DatabaseUrl};

/// idgate's public base URL (`https://sso.example.com`, no trailing slash), registered as app
/// data so that every protocol builds its URLs from configuration, never from a Host header.
#[derive(Debug, Clone)]
pub struct PublicBaseUrl(pub String);

/// Pool settings; the defaults suit one small server.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connect_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A pool of connections to one database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<ConnectionManager>,
    url: DatabaseUrl,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Runs `f` in a database transaction: committed when it returns `Ok`, rolled back otherwise.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front: a
/// deferred transaction that reads and then writes fails at once with `SQLITE_BUSY` when another
/// connection wrote in between, where an immediate one waits its turn (`busy_timeout`).
pub fn transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, StorageError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StorageError>,
{
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    match AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE") {
        Ok(()) => {}
        // Nested: the outer transaction already holds the lock; a savepoint is enough.
        Err(diesel::result::Error::AlreadyInTransaction) => return conn.transaction(f),
        Err(e) => return Err(e.into()),
    }
    let result = f(conn);
    let DbConnection::Sqlite(inner) = conn else {
        unreachable!("the connection does not change backend");
    };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnsiTransactionManager::rollback_transaction(inner);
                Err(e.into())
            }
        },
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(inner)?;
            Err(e)
        }
    }
}

impl Store {
    /// Connects (failing fast with the backend's own error when the database cannot be
    /// reached), applies pending migrations when `migrate` is set, and builds the pool.
    pub fn open(
        url: &DatabaseUrl,
        options: &PoolOptions,
        migrate: bool,
    ) -> Result<Self, StorageError> {
        // One direct connection first: r2d2 would retry until its timeout and then report
        // only "timed out", hiding "connection refused" or "database does not exist".
        let mut first = DbConnection::open(url)?;
        if migrate {
            let applied = first.run_migrations()?;
            if applied > 0 {
                tracing::info!(applied, backend = %url.backend(), "database migrations applied");
            }
        }
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            // No idle minimum: r2d2 would replenish it from a background thread, and a libpq
            // connection still being opened there when a short-lived command exits crashes the
            // process inside OpenSSL's exit handlers. Connections are opened on demand instead.
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            .build(ConnectionManager::new(url.clone()))?;
        Ok(Self {
            pool,
            url: url.clone(),
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// Runs blocking database work on the blocking thread pool with a pooled connection,
    /// inside the caller's tracing span. A panic inside `f` resumes in the caller.
    pub async fn run<F, R>(&self, f: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(StorageError::Corrupt(format!(
                "database task cancelled: {err}"
            ))),
        }
    }

    /// Readiness: a connection answers and no embedded migration is pending.
    pub async fn ready(&self) -> Result<(), StorageError> {
        self.run(|conn| {
            if conn.has_pending_migrations()? {
                Err(StorageError::Migration("migrations are pending".to_owned()))
            } else {
                Ok(())
            }
        })
        .await
    }
}
