//! Test databases: a temp-file SQLite store and a fresh PostgreSQL database per test.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/`).
//! When the variable is set, an unreachable server fails the test; when it is not set and the
//! default server is not there, PostgreSQL tests are skipped with a message, so that
//! `cargo test` works on a machine with only Rust installed. CI always sets it.

use diesel::Connection;
use diesel::connection::SimpleConnection;

use crate::{Backend, DataKey, DatabaseUrl, Store, StoreConfig};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/";

/// A store on a throw-away database, removed on drop.
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    /// The data key the store seals with.
    pub data_key: DataKey,
    guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite database in a temp directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        let url = DatabaseUrl::parse(path.to_str().expect("utf-8 temp path")).expect("sqlite url");
        let config = small(url);
        let data_key = config.data_key.clone();
        let store = Store::open(config).expect("open sqlite store");
        Self {
            store,
            data_key,
            guard: Guard::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when PostgreSQL is not configured and not running.
    pub fn postgres() -> Option<Self> {
        let (admin_url, required) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => (url, true),
            _ => (DEFAULT_PG.to_owned(), false),
        };
        let mut admin = match diesel::PgConnection::establish(&admin_url) {
            Ok(c) => c,
            Err(e) if required => panic!("TEST_DATABASE_URL is set but unreachable: {e}"),
            Err(_) => {
                eprintln!(
                    "skipping PostgreSQL test: no server at {DEFAULT_PG} and TEST_DATABASE_URL unset"
                );
                return None;
            }
        };
        let name = format!("catalyst_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let url = DatabaseUrl::parse(&with_database(&admin_url, &name)).expect("postgres url");
        let config = small(url);
        let data_key = config.data_key.clone();
        let store = Store::open(config).expect("open postgres store");
        Some(Self {
            store,
            data_key,
            guard: Guard::Postgres { admin_url, name },
        })
    }

    /// The database URL, for handing to a separate process.
    pub fn url(&self) -> String {
        match self.backend() {
            Backend::Sqlite => format!("sqlite://{}", self.store.url().target()),
            Backend::Postgres => self.store.url().target().to_owned(),
        }
    }

    /// The backend of this test database.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Another store on this database with the same data key, sharing nothing in memory with
    /// [`TestDb::store`]: what a second server instance, or the same one after a restart, opens.
    pub fn open_again(&self) -> Store {
        let mut config = small(self.store.url().clone());
        config.data_key = self.data_key.clone();
        Store::open(config).expect("open the test database again")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = &self.guard
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn small(url: DatabaseUrl) -> StoreConfig {
    let mut config = StoreConfig::new(url, DataKey::generate());
    config.pool_size = 4;
    config
}

/// Replaces the database name (the path) of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Declares a test that runs once on SQLite and once on PostgreSQL:
/// `test_both!(fn name(db) { … })` expands to `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! test_both {
    ($(fn $name:ident($db:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn run($db: $crate::test_support::TestDb) $body
                #[test]
                fn sqlite() {
                    run($crate::test_support::TestDb::sqlite())
                }
                #[test]
                fn postgres() {
                    if let Some(db) = $crate::test_support::TestDb::postgres() {
                        run(db)
                    }
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/old?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
