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
