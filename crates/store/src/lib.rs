//! Catalyst persistence: one diesel codebase for SQLite (embedded default) and PostgreSQL.
//!
//! [`Store`] owns the connection pool and the data-key [`Cipher`]. Row types live next to the
//! operations on them (`tenants`, `config`, `sessions`, `idempotency`); their methods take a
//! `&mut DbConnection`, so callers can compose several of them inside one [`tx::write`].
//!
//! ```
//! use catalyst_store::{DataKey, DatabaseUrl, Store, StoreConfig, Tenant, now};
//! let dir = tempfile::tempdir().unwrap();
//! let url = DatabaseUrl::parse(dir.path().join("doc.db").to_str().unwrap()).unwrap();
//! let store = Store::open(StoreConfig::new(url, DataKey::generate())).unwrap();
//! let tenant = Tenant { id: catalyst_domain::TenantId::new(), name: "Acme".into(), demo: false,
//!                       created_at: now(), updated_at: now() };
//! store.write(|c| tenant.insert(c)).unwrap();
//! assert_eq!(store.read(|c| Tenant::find(c, &tenant.id)).unwrap().name, "Acme");
//! ```

pub mod bank_reports;
pub mod batches;
pub mod billing;
pub mod changes;
pub mod chargebacks;
pub mod charges;
pub mod checkout;
pub mod collection;
mod config;
mod connection;
pub mod crypto;
pub mod customers;
mod error;
pub mod events;
pub mod idempotency;
pub mod imports;
mod liveness;
pub mod migrations;
pub mod outbox;
pub mod outcome;
pub mod pagination;
pub mod payments;
mod prepared;
pub mod reconciliation;
pub mod recovery;
pub mod refunds;
pub mod reversals;
pub mod rotation;
pub mod sandbox_ledger;
pub mod schema;
mod scoped;
pub mod session_pay;
pub mod sessions;
pub mod settlement;
pub mod subscriptions;
mod tenants;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod tx;

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};

pub use checkout::{CreateSessionError, CreatedSession};
pub use config::{Campaign, Gateway, HostedPage, WebhookEndpoint, WebhookProfile};
pub use connection::{Backend, DatabaseUrl, DbConnection};
pub use crypto::{Cipher, DataKey};
pub use error::{StoreError, StoreResult};
pub use liveness::{CHECKOUT_CHECK_AFTER, ConnectionManager, PoolSlot};
pub use pagination::{Cursor, Page, PageRequest};
pub use payments::{Customer, Mandate, NewTransaction, Subscription, Transaction};
pub use sessions::{Lead, Order, PaymentSession, SessionPayer};
pub use tenants::{ApiKey, Tenant};

/// The current UTC time truncated to microseconds, so both backends store the same value.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// How to open a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Which database.
    pub url: DatabaseUrl,
    /// Largest number of pooled connections.
    pub pool_size: u32,
    /// Idle connections the pool keeps open (replenished in the background). One-shot commands
    /// set 0, so that no connection is still being opened when the process exits.
    pub min_idle: u32,
    /// How long to wait for a free connection before reporting the database unavailable.
    pub acquire_timeout: Duration,
    /// The key that seals secrets at rest.
    pub data_key: DataKey,
}

impl StoreConfig {
    /// Defaults: 10 connections, 1 kept idle, 5 s acquire timeout.
    pub fn new(url: DatabaseUrl, data_key: DataKey) -> Self {
        Self {
            url,
            pool_size: 10,
            min_idle: 1,
            acquire_timeout: Duration::from_secs(5),
            data_key,
        }
    }
}

/// The pooled database plus the cipher for sealed columns. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<ConnectionManager>,
    url: DatabaseUrl,
    cipher: Arc<Cipher>,
}

/// A connection borrowed from the pool; dereferences to [`DbConnection`] (write `&mut *conn`
/// where a generic diesel method needs the connection type itself).
pub struct PooledConnection(r2d2::PooledConnection<ConnectionManager>);

impl std::ops::Deref for PooledConnection {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.0
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0
    }
}

impl Store {
    /// Runs pending migrations on a dedicated connection, then builds the pool.
    pub fn open(config: StoreConfig) -> StoreResult<Self> {
        let mut conn = config
            .url
            .connect()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        migrations::run_pending(&mut conn)?;
        drop(conn);
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(config.min_idle))
            // Dead PostgreSQL connections are kept out of service by `PoolSlot`'s checkout
            // check (skipped for connections just used, and for SQLite files).
            .test_on_check_out(true)
            .connection_timeout(config.acquire_timeout)
            .build(ConnectionManager::new(config.url.clone()))?;
        Ok(Self {
            pool,
            url: config.url,
            cipher: Arc::new(Cipher::new(&config.data_key)),
        })
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// The database URL (its `Display` hides any password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The cipher for sealed columns.
    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }

    /// The pool's connections: `(open, idle)`; `open - idle` are in use.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// The most connections the pool opens.
    pub fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Borrows a pooled connection.
    pub fn conn(&self) -> StoreResult<PooledConnection> {
        Ok(PooledConnection(self.pool.get()?))
    }

    /// Borrows a pooled connection if one is idle, without waiting or opening one (the pool
    /// opens one in the background when it has room).
    pub fn try_conn(&self) -> Option<PooledConnection> {
        self.pool.try_get().map(PooledConnection)
    }

    /// Runs `f` on a pooled connection, outside any explicit transaction.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Runs `f` in one write transaction on a pooled connection.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        tx::write(&mut conn, f)
    }
}
