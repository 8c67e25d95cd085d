//! Background work that runs inside the server process.

use std::time::Duration;

use catalyst_store::{Store, now};
use tokio::sync::watch;

use crate::db;

/// Expires due `PENDING` sessions every `every` until `shutdown` turns true.
pub async fn expiry_sweeper(store: Store, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match db::background(&store, |c| {
            catalyst_store::checkout::expire_due_sessions(c, now(), 500)
        })
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired payment sessions"),
            Err(e) => tracing::warn!(error = %e, "session expiry sweep failed"),
        }
    }
}
