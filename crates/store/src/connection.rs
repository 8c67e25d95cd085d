//! Backend selection, the multi-backend connection and its r2d2 manager.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::error::StoreError;

/// One connection to either backend; all repository code is written against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (production).
    Postgres(PgConnection),
    /// SQLite (embedded default).
    Sqlite(SqliteConnection),
}

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A database URL whose backend was decided from its scheme, never by trial and error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

impl DatabaseUrl {
    /// `postgres://…`/`postgresql://…` → PostgreSQL; `sqlite://PATH` or a bare path → SQLite.
    /// Any other scheme is an error (no silent fallback to a SQLite file named like the URL).
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::UnsupportedUrl(url.to_owned()));
            }
            return Ok(Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
            });
        }
        if url.is_empty() || url.contains("://") || url.contains('=') {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: url.to_owned(),
        })
    }

    /// The backend this URL selects.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection string given to the driver (a file path for SQLite).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Opens one connection, with the SQLite pragmas applied.
    pub fn connect(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.target)
                .map(DbConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout first: the WAL switch itself may need to wait for a lock.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    /// Shows the URL without any password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.target),
            Backend::Postgres => match url_without_password(&self.target) {
                Some(clean) => f.write_str(&clean),
                None => f.write_str("postgres://…"),
            },
        }
    }
}

fn url_without_password(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            Some(format!("{scheme}://{user}@{host}"))
        }
        None => Some(url.to_owned()),
    }
}

/// The r2d2 manager: picks the backend from the URL and reports the real connection error.
#[derive(Clone, Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    /// A manager for this URL.
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_the_backend() {
        let pg = DatabaseUrl::parse("postgres://u:p@h/db").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.to_string(), "postgres://u@h/db");
        let lite = DatabaseUrl::parse("sqlite://./catalyst.db").unwrap();
        assert_eq!(
            (lite.backend(), lite.target()),
            (Backend::Sqlite, "./catalyst.db")
        );
        let bare = DatabaseUrl::parse("/var/lib/catalyst.db").unwrap();
        assert_eq!(bare.backend(), Backend::Sqlite);
    }

    #[test]
    fn ambiguous_or_foreign_urls_are_refused() {
        for bad in ["", "mysql://x/y", "host=localhost dbname=x", "sqlite://"] {
            assert!(
                DatabaseUrl::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
