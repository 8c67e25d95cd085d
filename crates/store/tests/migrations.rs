//! Every migration's down.sql restores the previous schema exactly: up → down → up.

use catalyst_store::{Backend, DbConnection, migrations, test_both};
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SchemaLine {
    #[diesel(sql_type = Text)]
    line: String,
}

/// A backend-neutral description of every user table, column and index.
fn schema_of(conn: &mut DbConnection, backend: Backend) -> Vec<String> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%'"
        }
        Backend::Postgres => {
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
               || ' ' || COALESCE(column_default, '') AS line \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%' \
             UNION ALL SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename NOT LIKE '__diesel%'"
        }
    };
    let mut lines: Vec<SchemaLine> = diesel::sql_query(sql).load(conn).unwrap();
    lines.sort();
    lines.into_iter().map(|l| l.line).collect()
}

test_both! {
    fn up_down_up_restores_the_same_schema(db) {
        let backend = db.backend();
        let mut conn = db.store.conn().unwrap();
        let migrated = schema_of(&mut conn, backend);
        assert!(migrated.iter().any(|l| l.contains("payment_sessions")), "{migrated:?}");

        let reverted = migrations::revert_all(&mut conn).unwrap();
        assert!(reverted >= 1);
        assert_eq!(schema_of(&mut conn, backend), Vec::<String>::new(), "down.sql must drop everything");

        assert_eq!(migrations::run_pending(&mut conn).unwrap(), reverted);
        assert_eq!(schema_of(&mut conn, backend), migrated);
        assert_eq!(migrations::run_pending(&mut conn).unwrap(), 0, "nothing left to apply");
    }
}

#[derive(QueryableByName, Debug)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn names(conn: &mut DbConnection, sql: &str) -> Vec<String> {
    let mut names: Vec<String> = diesel::sql_query(sql)
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    names.sort();
    names
}

/// `table.column` of every user table, and the names of the indexes the migrations create.
fn shape_of(conn: &mut DbConnection, backend: Backend) -> (Vec<String>, Vec<String>) {
    match backend {
        Backend::Sqlite => (
            names(
                conn,
                "SELECT m.name || '.' || p.name AS name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
            ),
            // Explicit CREATE INDEX statements (sql is NULL for the automatic ones).
            names(
                conn,
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            ),
        ),
        Backend::Postgres => (
            names(
                conn,
                "SELECT table_name || '.' || column_name AS name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%'",
            ),
            // Without the indexes behind PRIMARY KEY and UNIQUE constraints.
            names(
                conn,
                "SELECT i.indexname AS name FROM pg_indexes i WHERE i.schemaname = 'public' \
                 AND i.tablename NOT LIKE '__diesel%' AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                 WHERE c.conname = i.indexname)",
            ),
        ),
    }
}

/// The migration directory names under `migrations/{backend}`.
fn migration_names(backend: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    e.path().join(file).is_file(),
                    "{:?} has no {file}",
                    e.path()
                );
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The two migration trees are one schema in two dialects: the same migrations, and once
/// applied the same tables, columns and indexes on both backends (PostgreSQL part skipped
/// without `TEST_DATABASE_URL`).
#[test]
fn both_migration_trees_build_the_same_schema() {
    assert_eq!(migration_names("sqlite"), migration_names("postgres"));
    let Some(pg) = catalyst_store::test_support::TestDb::postgres() else {
        return;
    };
    let sqlite = catalyst_store::test_support::TestDb::sqlite();
    let (sqlite_columns, sqlite_indexes) =
        shape_of(&mut sqlite.store.conn().unwrap(), Backend::Sqlite);
    let (pg_columns, pg_indexes) = shape_of(&mut pg.store.conn().unwrap(), Backend::Postgres);
    assert!(sqlite_columns.contains(&"transactions.amount_minor".to_owned()));
    assert!(
        sqlite_indexes.contains(&"transactions_subscription_pending".to_owned()),
        "{sqlite_indexes:?}"
    );
    assert_eq!(sqlite_columns, pg_columns, "columns differ");
    assert_eq!(sqlite_indexes, pg_indexes, "indexes differ");
}
