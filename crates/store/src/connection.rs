//! Backend selection and the multi-backend connection (the pool's liveness checks are in
//! [`crate::liveness`]).

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

/// Runs `$body` with `$c` bound to the concrete connection inside `$conn` (a
/// `&mut DbConnection`): `on_backend!(conn, |c| query.first(c))`.
///
/// The store runs its queries this way rather than on `DbConnection` itself (all but the
/// reconciliation listings, which are built once as `DbConnection` queries and also explained),
/// because the
/// derived `MultiConnection` renders every query to SQL text (two or three times) on every
/// execution, even when the prepared statement is cached: that was about a fifth of the
/// server's CPU in `cargo xtask bench pay`. On the concrete connection, a query with a static
/// query id finds its cached statement without rendering anything. The body is compiled once
/// per backend, so it must be the whole query (types such as `as_select()`'s follow the
/// backend).
///
/// Where the SQL differs between the backends (`FOR UPDATE`, `SKIP LOCKED`, a migration tree),
/// the two-arm form names each: `on_backend!(conn, pg |c| query.for_update().first(c),
/// sqlite |c| query.first(c))`.
macro_rules! on_backend {
    ($conn:expr, pg |$pg:ident| $pg_body:expr, sqlite |$lite:ident| $lite_body:expr $(,)?) => {
        match &mut *$conn {
            $crate::connection::DbConnection::Postgres($pg) => $pg_body,
            $crate::connection::DbConnection::Sqlite($lite) => $lite_body,
        }
    };
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut *$conn {
            $crate::connection::DbConnection::Postgres($c) => $body,
            $crate::connection::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

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
                create_private_file(&self.target).map_err(|e| {
                    diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                        format!("creating {}: {e}", self.target),
                    ))
                })?;
                sqlite_process_config();
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

/// Configures the SQLite library once per process, before its first connection opens (later
/// calls to `sqlite3_config` are refused by SQLite itself).
///
/// - No memory statistics (`SQLITE_CONFIG_MEMSTATUS` off): with them, every allocation SQLite
///   makes takes one process-wide mutex, which the server's workers queued on under load
///   (docs/hosted-page.md "Speed and weight").
/// - Multi-thread mode (`SQLITE_CONFIG_MULTITHREAD`): no mutex per connection. A
///   [`SqliteConnection`] is `!Sync` and a pooled one belongs to one thread at a time, which is
///   all this mode asks.
fn sqlite_process_config() {
    static CONFIGURED: std::sync::Once = std::sync::Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: `sqlite3_config` is only valid before the library initialises; the `Once`
        // runs it before this process's first connection opens, and SQLite answers
        // SQLITE_MISUSE (changing nothing) if something else initialised it first. Both options
        // take one `int` argument, as passed.
        unsafe {
            let _ = libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                std::ffi::c_int::from(0u8),
            );
            let _ = libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
        }
    });
}

/// Creates the SQLite database file readable by its owner only (0600) when it does not exist
/// yet. SQLite gives the `-wal` and `-shm` files it creates later the database file's
/// permissions, so the IBANs' ciphertext, key hashes and payer data stay private to the
/// server's user whatever the umask. An existing file is left as it is; in-memory databases and
/// `file:` URIs are SQLite's business.
fn create_private_file(target: &str) -> std::io::Result<()> {
    if target.is_empty() || target == ":memory:" || target.starts_with("file:") {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(target) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
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

    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_database_and_its_wal_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalyst.db");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let mut conn = url.connect().unwrap();
        conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file} has mode {mode:o}");
        }
    }

    #[test]
    fn sqlite_keeps_no_memory_statistics() {
        // With statistics on, every SQLite allocation takes one process-wide mutex; they count
        // what is in use, so a connection with a populated schema shows a non-zero figure.
        let dir = tempfile::tempdir().unwrap();
        let url =
            DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("m.db").display())).unwrap();
        let mut conn = url.connect().unwrap();
        conn.batch_execute("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a'); SELECT * FROM t;")
            .unwrap();
        // SAFETY: a plain read of SQLite's statistics counter.
        let used = unsafe { libsqlite3_sys::sqlite3_memory_used() };
        assert_eq!(
            used, 0,
            "SQLite counts its memory (SQLITE_CONFIG_MEMSTATUS is on)"
        );
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
