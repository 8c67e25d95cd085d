//! Connection liveness: the pool's connections ([`PoolSlot`]) and its r2d2 manager, which keep
//! dead PostgreSQL connections out of service after a server restart.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::connection::{DatabaseUrl, DbConnection};

/// A PostgreSQL connection back in the pool for less than this is handed out again without a
/// `SELECT 1` round trip, unless a lost connection was seen since it was last checked (as
/// HikariCP's `aliveBypassWindowMs`). Under load every connection is reused within
/// milliseconds, so the check would otherwise cost one round trip per checkout.
pub const CHECKOUT_CHECK_AFTER: Duration = Duration::from_secs(1);

/// Counts the "connection closed" errors seen in this process: after one, every pooled
/// connection is checked once before its next use, so a PostgreSQL restart under load costs
/// the requests that were already on a dead connection and no more.
static CONNECTIONS_LOST: AtomicU64 = AtomicU64::new(0);

/// Records that a statement failed because its connection was gone.
fn connection_lost() {
    CONNECTIONS_LOST.fetch_add(1, Ordering::Relaxed);
}

/// Watches a PostgreSQL connection's statements (diesel's instrumentation): one that failed
/// because the connection is gone counts as a lost connection. Set on every connection the
/// pool opens, so mapping the error ([`crate::StoreError`]'s `From`) has no side effect.
fn watch_for_loss(event: InstrumentationEvent<'_>) {
    if let InstrumentationEvent::FinishQuery {
        error: Some(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)),
        ..
    } = event
    {
        connection_lost();
    }
}

/// A connection as the pool holds it: the connection, when it last went back to the pool,
/// and the lost-connection count when it was last known to be alive. Dereferences to
/// [`DbConnection`].
pub struct PoolSlot {
    conn: DbConnection,
    returned_at: Option<Instant>,
    checked_at_loss: u64,
}

impl PoolSlot {
    fn new(mut conn: DbConnection) -> Self {
        if let DbConnection::Postgres(pg) = &mut conn {
            pg.set_instrumentation(watch_for_loss);
        }
        Self {
            conn,
            returned_at: None,
            checked_at_loss: CONNECTIONS_LOST.load(Ordering::Relaxed),
        }
    }

    /// Whether the connection may skip the liveness check on checkout.
    fn known_alive(&self) -> bool {
        match self.conn {
            // A SQLite file cannot go away under an open connection.
            DbConnection::Sqlite(_) => true,
            DbConnection::Postgres(_) => {
                self.checked_at_loss == CONNECTIONS_LOST.load(Ordering::Relaxed)
                    && self
                        .returned_at
                        .is_some_and(|t| t.elapsed() < CHECKOUT_CHECK_AFTER)
            }
        }
    }
}

impl Deref for PoolSlot {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for PoolSlot {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
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
    type Connection = PoolSlot;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolSlot, Self::Error> {
        self.url.connect().map(PoolSlot::new)
    }

    /// PostgreSQL connections can die under us (server restart, network): one not used in the
    /// last [`CHECKOUT_CHECK_AFTER`], or any after a lost connection was seen, is checked with
    /// `SELECT 1` (a dead one is replaced by r2d2).
    fn is_valid(&self, slot: &mut PoolSlot) -> Result<(), Self::Error> {
        if slot.known_alive() {
            return Ok(());
        }
        let losses = CONNECTIONS_LOST.load(Ordering::Relaxed);
        slot.conn
            .batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)?;
        slot.checked_at_loss = losses;
        Ok(())
    }

    fn has_broken(&self, slot: &mut PoolSlot) -> bool {
        use diesel::connection::TransactionManager;
        slot.returned_at = Some(Instant::now());
        let broken =
            <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                &mut slot.conn,
            );
        // Left behind by a connection that died mid-transaction: the pool drops it, and the
        // others are checked before their next use.
        if broken {
            connection_lost();
        }
        broken
    }
}
