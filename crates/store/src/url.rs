//! Database URLs: the scheme picks the backend, never the order in which connecting is tried.

use std::fmt;
use std::path::PathBuf;

use crate::StorageError;

/// A validated database location.
///
/// `sqlite://PATH` (relative `sqlite://./data/idgate.db`, absolute `sqlite:///var/lib/idgate.db`)
/// or `postgres://…` / `postgresql://…`. Displaying or debugging it masks any password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Which backend a [`DatabaseUrl`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

impl DatabaseUrl {
    /// Parses a URL, refusing anything whose scheme is not one of the two backends.
    pub fn parse(raw: &str) -> Result<Self, StorageError> {
        let raw = raw.trim();
        let invalid = |why: &str| StorageError::InvalidUrl(format!("{}: {why}", mask(raw)));
        let Some((scheme, rest)) = raw.split_once(':') else {
            return Err(invalid(
                "expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            ));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(invalid("the SQLite URL names no file"));
                }
                if path.contains('?') || path.starts_with(":memory") {
                    return Err(invalid(
                        "give a file path; query options and in-memory databases are not supported",
                    ));
                }
                Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                let Some(after) = rest.strip_prefix("//") else {
                    return Err(invalid("expected postgres://USER@HOST/DATABASE"));
                };
                let host_part = after.split(['/', '?']).next().unwrap_or_default();
                let host = host_part.rsplit('@').next().unwrap_or_default();
                if host.is_empty() && !after.contains("host=") {
                    return Err(invalid("the PostgreSQL URL names no host"));
                }
                Ok(DatabaseUrl::Postgres(raw.to_owned()))
            }
            other => Err(invalid(&format!(
                "unsupported scheme '{other}' (expected sqlite:// or postgres://)"
            ))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&mask(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`.
fn mask(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_keep_their_path() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/idgate.db").unwrap(),
            DatabaseUrl::Sqlite("./data/idgate.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/idgate/idgate.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/idgate/idgate.db".into())
        );
    }

    #[test]
    fn postgres_urls_are_recognised_and_masked() {
        let url = DatabaseUrl::parse("postgres://idgate:s3cret@db:5432/idgate").unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.to_string(), "postgres://idgate:***@db:5432/idgate");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(DatabaseUrl::parse("postgresql://postgres@127.0.0.1/x").is_ok());
    }

    #[test]
    fn bad_urls_say_why() {
        let err = DatabaseUrl::parse("mysql://root@localhost/x").unwrap_err();
        assert!(
            err.to_string().contains("unsupported scheme 'mysql'"),
            "{err}"
        );
        let err = DatabaseUrl::parse("idgate.db").unwrap_err();
        assert!(err.to_string().contains("expected sqlite://PATH"), "{err}");
        let err = DatabaseUrl::parse("sqlite://").unwrap_err();
        assert!(err.to_string().contains("names no file"), "{err}");
        let err = DatabaseUrl::parse("postgres://user:pw@/db").unwrap_err();
        assert!(err.to_string().contains("names no host"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}
