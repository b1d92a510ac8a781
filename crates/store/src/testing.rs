//! Fresh, throw-away databases for tests, on SQLite always and on PostgreSQL whenever one is
//! reachable.
//!
//! PostgreSQL is found at `IDGATE_TEST_POSTGRES_URL` (a URL to a server where databases may be
//! created; when it is set and unreachable, tests fail) or else at
//! `postgres://postgres@127.0.0.1:5432/postgres` (when that is unreachable, tests say so once
//! and run on SQLite alone).

use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::{Backend, DatabaseUrl};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const POSTGRES_ENV: &str = "IDGATE_TEST_POSTGRES_URL";

/// A database that exists for one test and is removed when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    raw_url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// The URL as a string that idgate's configuration accepts (password not masked).
    pub fn url_string(&self) -> &str {
        &self.raw_url
    }

    /// A fresh SQLite database file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let raw_url = format!("sqlite://{}", dir.path().join("idgate.db").display());
        Self {
            url: DatabaseUrl::parse(&raw_url).expect("valid SQLite URL"),
            raw_url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh, empty PostgreSQL database, or `None` when no server is reachable.
    pub fn postgres() -> Option<Self> {
        let admin_url = postgres_admin_url()?;
        let name = format!("idgate_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url).expect("PostgreSQL was reachable");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        let raw_url = replace_database(admin_url, &name);
        Some(Self {
            url: DatabaseUrl::parse(&raw_url).expect("valid PostgreSQL URL"),
            raw_url,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// One fresh database per available backend: SQLite, then PostgreSQL when reachable.
    pub fn all() -> Vec<Self> {
        let mut dbs = vec![Self::sqlite()];
        dbs.extend(Self::postgres());
        dbs
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The PostgreSQL server tests use, found once per test process.
fn postgres_admin_url() -> Option<&'static str> {
    static FOUND: OnceLock<Option<String>> = OnceLock::new();
    FOUND
        .get_or_init(|| match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.trim().is_empty() => {
                if let Err(e) = PgConnection::establish(&url) {
                    panic!("{POSTGRES_ENV} is set but PostgreSQL is not reachable: {e}");
                }
                Some(url)
            }
            _ => match PgConnection::establish(DEFAULT_POSTGRES) {
                Ok(_) => Some(DEFAULT_POSTGRES.to_owned()),
                Err(e) => {
                    eprintln!(
                        "note: PostgreSQL not reachable at {DEFAULT_POSTGRES} ({}); \
                         these tests run on SQLite only. Set {POSTGRES_ENV} to require it.",
                        e.to_string().lines().next().unwrap_or_default()
                    );
                    None
                }
            },
        })
        .as_deref()
}

/// `postgres://u@h:5432/postgres?x=y` with database `name` instead of `postgres`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn replace_database_keeps_host_and_options() {
        assert_eq!(
            super::replace_database("postgres://p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://p@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://p@h", "x"),
            "postgres://p@h/x"
        );
    }
}
