//! Background work that runs inside the server process.

use std::time::Duration;

use catalyst_store::now;
use tokio::sync::watch;

use crate::state::AppState;
use crate::{db, health, telemetry};

/// The expiry sweeper's name in heartbeats and metrics.
const EXPIRY: &str = "expiry";

/// Expires due `PENDING` sessions every `every` until `shutdown` turns true, with a heartbeat
/// per sweep.
pub async fn expiry_sweeper(state: AppState, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stale_after = health::allowance(every);
    loop {
        state.health.beat(EXPIRY, stale_after);
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let result = db::background(&state.store, |c| {
            catalyst_store::checkout::expire_due_sessions(c, now(), 500)
        })
        .await;
        telemetry::worker_cycle(EXPIRY, result.is_ok());
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired payment sessions"),
            Err(e) => tracing::warn!(error = %e, "session expiry sweep failed"),
        }
    }
}
