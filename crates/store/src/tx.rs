//! Transactions that behave the same on both backends.

use std::cell::RefCell;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use crate::connection::{DbConnection, on_backend};
use crate::error::StoreError;

type Tm = <DbConnection as Connection>::TransactionManager;

thread_local! {
    /// The hooks registered by the write transaction running on this thread.
    static ON_COMMIT: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `hook` once the write transaction running on this thread ([`write`]) commits; it is
/// dropped if the transaction rolls back. Call it inside the transaction.
pub fn on_commit(hook: impl FnOnce() + 'static) {
    ON_COMMIT.with_borrow_mut(|hooks| hooks.push(Box::new(hook)));
}

/// The hooks registered since the last call, in registration order.
fn take_hooks() -> Vec<Box<dyn FnOnce()>> {
    ON_COMMIT.with_borrow_mut(std::mem::take)
}

/// Runs `f` in one write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so a
/// read-then-write transaction takes the write lock up front (waiting on `busy_timeout`)
/// instead of failing with "database is locked" when it tries to upgrade. The hooks registered
/// inside ([`on_commit`]) run after it commits.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let begun = on_backend!(
        conn,
        pg | c | AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
        sqlite | c | AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    );
    begun.map_err(StoreError::from)?;
    // Hooks left by work outside any write transaction belong to no commit.
    drop(take_hooks());
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
    let hooks = take_hooks();
    if result.is_ok() {
        for hook in hooks {
            hook();
        }
    }
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
