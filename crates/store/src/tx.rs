//! Transactions that behave the same on both backends.

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::outbox;

type Tm = <DbConnection as Connection>::TransactionManager;

/// Runs `f` in one write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so a
/// read-then-write transaction takes the write lock up front (waiting on `busy_timeout`)
/// instead of failing with "database is locked" when it tries to upgrade. Webhook deliveries
/// queued inside count in [`outbox::deliveries_committed`] once it commits.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let begun = match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        DbConnection::Postgres(_) => Tm::begin_transaction(conn),
    };
    begun.map_err(StoreError::from)?;
    outbox::transaction_finished(false);
    let result = match f(conn) {
        Ok(value) => match Tm::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = Tm::rollback_transaction(conn);
                Err(StoreError::from(e).into())
            }
        },
        Err(e) => {
            // The first error is the one to report. A rollback that fails too (the connection
            // died with the statement) leaves the transaction manager broken, and the pool
            // discards the connection on its return.
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "rollback failed after an error");
            }
            Err(e)
        }
    };
    outbox::transaction_finished(result.is_ok());
    result
}

/// Runs `f` inside a savepoint, so a failing statement (a unique violation, say) does not
/// abort the surrounding PostgreSQL transaction.
pub fn savepoint<T, F>(conn: &mut DbConnection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
{
    conn.transaction(f)
}
