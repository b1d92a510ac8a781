//! One connection type over both backends, its r2d2 manager and the embedded migrations.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Backend, DatabaseUrl, StorageError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to whichever backend the URL named. Queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbConnection::Postgresql(_) => "DbConnection::Postgresql",
            DbConnection::Sqlite(_) => "DbConnection::Sqlite",
        })
    }
}

/// Set on every SQLite connection: WAL so readers never wait for a writer, a busy timeout so
/// writers queue instead of failing, and foreign keys (off by default in SQLite).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

impl DbConnection {
    /// Opens one connection, reporting the backend's own error.
    pub fn open(url: &DatabaseUrl) -> Result<Self, StorageError> {
        let connect_error = |reason: String| StorageError::Connect {
            backend: url.backend(),
            url: url.to_string(),
            reason,
        };
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        connect_error(format!("cannot create directory {}: {e}", parent.display()))
                    })?;
                }
                let path_str = path.to_str().ok_or_else(|| {
                    connect_error("the database path is not valid UTF-8".to_owned())
                })?;
                let mut conn = diesel::SqliteConnection::establish(path_str)
                    .map_err(|e| connect_error(e.to_string()))?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(|e| connect_error(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(raw) => diesel::PgConnection::establish(raw)
                .map(DbConnection::Postgresql)
                .map_err(|e| connect_error(first_line(&e.to_string()))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies every pending migration of this backend; returns how many ran.
    pub fn run_migrations(&mut self) -> Result<usize, StorageError> {
        let applied = match self {
            DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        }
        .map_err(|e| StorageError::Migration(e.to_string()))?;
        Ok(applied.len())
    }

    /// (feature `test-support`) Applies the pending migrations whose names sort before
    /// `name`, so that a test can write rows as an older version did and see the rest migrate
    /// them.
    #[cfg(feature = "test-support")]
    pub fn run_migrations_before(&mut self, name: &str) -> Result<usize, StorageError> {
        fn run<C: MigrationHarness<DB>, DB: diesel::backend::Backend>(
            conn: &mut C,
            source: EmbeddedMigrations,
            name: &str,
        ) -> Result<usize, StorageError> {
            let migrate = |e: Box<dyn std::error::Error + Send + Sync>| {
                StorageError::Migration(e.to_string())
            };
            let pending = conn.pending_migrations(source).map_err(migrate)?;
            let mut applied = 0;
            for migration in pending
                .iter()
                .filter(|m| m.name().to_string().as_str() < name)
            {
                conn.run_migration(migration).map_err(migrate)?;
                applied += 1;
            }
            Ok(applied)
        }
        match self {
            DbConnection::Postgresql(c) => run(c, POSTGRES_MIGRATIONS, name),
            DbConnection::Sqlite(c) => run(c, SQLITE_MIGRATIONS, name),
        }
    }

    /// Whether migrations embedded in this binary have not been applied yet.
    pub fn has_pending_migrations(&mut self) -> Result<bool, StorageError> {
        match self {
            DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
            DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| StorageError::Migration(e.to_string()))
    }
}

/// Migration names embedded for a backend, for the check that both folders stay in step.
pub fn migration_names(backend: Backend) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let source = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source)
        .expect("embedded migrations are readable")
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

/// libpq's messages run over several lines; the first says what went wrong.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// The r2d2 manager: the URL's scheme picks the backend.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = StorageError;

    fn connect(&self) -> Result<DbConnection, StorageError> {
        DbConnection::open(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StorageError> {
        conn.batch_execute("SELECT 1").map_err(StorageError::from)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}
