//! Where a request's database work runs.
//!
//! A handler's database step is short: a few statements, usually one transaction, on a pooled
//! connection. When a pooled connection is idle the step runs right here, on the actix worker
//! serving the request; only when none is idle does it go to the blocking pool, which waits
//! for one. So a worker never blocks waiting for the pool, and the common case costs no
//! hand-off to another thread and back (two thread wake-ups per request; in `bench pay` about
//! 6 % of the server's CPU, docs/PERFORMANCE.md "The payment path").
//!
//! While a step runs inline its worker serves nothing else, so the server runs as many workers
//! as the pool has connections (`CATALYST_WORKERS`, README). Work that is not a short database
//! step (a gateway over the network, webhook deliveries) stays asynchronous, and the background
//! loops ([`crate::workers`], [`crate::dispatcher`], [`crate::recovery`]) keep to the blocking
//! pool.

use actix_web::web;
use catalyst_store::{DbConnection, Store, StoreError, tx};

use crate::error::ApiError;

/// Runs `f` on a pooled connection, outside any explicit transaction: inline when a connection
/// is idle, else on the blocking pool.
pub async fn read<T, E, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: From<catalyst_store::StoreError> + Send + 'static,
    ApiError: From<E>,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
{
    if let Some(mut conn) = store.try_conn() {
        return Ok(f(&mut conn)?);
    }
    let store = store.clone();
    Ok(web::block(move || store.read(f)).await??)
}

/// [`read`] inside one write transaction.
pub async fn write<T, E, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: From<catalyst_store::StoreError> + Send + 'static,
    ApiError: From<E>,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
{
    read(store, move |c| tx::write(c, f)).await
}

/// Runs `f` on a pooled connection on the blocking pool, for the background loops (which run
/// on no actix worker and may wait for a connection); a failed hand-off counts as the
/// database being unavailable.
pub async fn background<T, F>(store: &Store, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    web::block(move || store.read(f))
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
}
