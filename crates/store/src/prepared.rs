//! Statement pieces shaped for prepared statements: UPDATEs that run as cached prepared
//! statements, and work-queue conditions that keep their partial index usable.
//!
//! Diesel never caches an `UPDATE` (a changeset that skips `None` fields could produce
//! unboundedly many statement texts), so PostgreSQL parses and plans every one of them. Ours set
//! fixed column lists (tuples of assignments, or rows deriving `AsChangeset` with
//! `treat_none_as_null`), and the statement cache is keyed by SQL text, so caching them is
//! bounded and correct.

use diesel::backend::Backend;
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl, Table};

/// `UPDATE table SET changes WHERE filter`, built without diesel's do-not-cache marker.
#[derive(Debug, Clone)]
pub(crate) struct CachedUpdate<F, V, W> {
    from: F,
    changes: V,
    filter: W,
}

/// `UPDATE table SET changes WHERE filter` as a cacheable statement; run it with `.execute()`.
pub(crate) fn update<T, C, W>(
    table: T,
    filter: W,
    changes: C,
) -> CachedUpdate<T::FromClause, C::Changeset, W>
where
    T: Table,
    C: AsChangeset<Target = T>,
{
    CachedUpdate {
        from: table.from_clause(),
        changes: changes.as_changeset(),
        filter,
    }
}

impl<F, V, W> QueryId for CachedUpdate<F, V, W> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB, F, V, W> QueryFragment<DB> for CachedUpdate<F, V, W>
where
    DB: Backend,
    F: QueryFragment<DB>,
    V: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.from.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.changes.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

impl<F, V, W, Conn> RunQueryDsl<Conn> for CachedUpdate<F, V, W> {}

/// A work-queue condition such as `"transactions.status = 'pending'"`, written into the SQL text
/// instead of bound: PostgreSQL and SQLite use a partial index (`… WHERE status = 'pending'`,
/// migration `000004`) only for a query that names the status as a literal.
pub(crate) fn queue_condition(
    predicate: &'static str,
) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(predicate)
}
