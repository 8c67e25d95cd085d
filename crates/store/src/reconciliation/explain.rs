//! The query plan of a listing's exact statement (same SQL, same bind values), so tests and
//! benchmarks can check which index it uses.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};
use diesel::{QueryResult, RunQueryDsl};

use crate::{DbConnection, StoreResult};

/// Declares a wrapper that runs `<prefix><query>` and returns rows of `$sql_type`.
macro_rules! explain_wrapper {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $sql_type:ty) => {
        $(#[$doc])*
        struct $name<Q>(Q);

        impl<Q> QueryId for $name<Q> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl<Q> Query for $name<Q> {
            type SqlType = $sql_type;
        }

        impl<Q> RunQueryDsl<DbConnection> for $name<Q> {}

        impl<DB: Backend, Q: QueryFragment<DB>> QueryFragment<DB> for $name<Q> {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
                out.unsafe_to_cache_prepared();
                out.push_sql($prefix);
                self.0.walk_ast(out.reborrow())
            }
        }
    };
}

explain_wrapper!(
    /// PostgreSQL: one row, the plan as a JSON document.
    PgExplain,
    "EXPLAIN (FORMAT JSON) ",
    Text
);
explain_wrapper!(
    /// SQLite: one row per plan step, `id, parent, notused, detail`.
    SqliteExplain,
    "EXPLAIN QUERY PLAN ",
    (Integer, Integer, Integer, Text)
);

/// The plan of `query` as the database would run it: on PostgreSQL the JSON document of
/// `EXPLAIN (FORMAT JSON)`, on SQLite the `detail` lines of `EXPLAIN QUERY PLAN`.
pub(super) fn plan<Q>(query: Q, conn: &mut DbConnection) -> StoreResult<String>
where
    Q: QueryFragment<<DbConnection as diesel::Connection>::Backend>,
{
    match conn {
        DbConnection::Postgres(_) => Ok(PgExplain(query).get_result::<String>(conn)?),
        DbConnection::Sqlite(_) => {
            let rows: Vec<(i32, i32, i32, String)> = SqliteExplain(query).load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(_, _, _, detail)| detail)
                .collect::<Vec<_>>()
                .join("\n"))
        }
    }
}
