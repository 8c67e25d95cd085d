//! The recovery worker: finishes payments whose outcome was never applied (the server died
//! between the gateway call and the outcome, or the gateway did not answer). It asks the gateway
//! (reconcile by our transaction id) and applies what the gateway has on record, so nothing is
//! lost and nothing is debited twice.

use std::time::Duration;

use actix_web::web;
use catalyst_store::payments::{self, Settlement};
use catalyst_store::{Gateway, PaymentSession, StoreError, Transaction, now};
use tokio::sync::watch;

use crate::pay::{self, adapter_for, settlement_of};
use crate::state::AppState;

/// How old a `pending` transaction must be before the worker takes it over: older than any
/// in-flight request of a live server (the gateway client's timeout plus margin).
pub const GRACE: chrono::Duration = chrono::Duration::seconds(90);

/// Reconciles every stale pending transaction once; returns how many were settled.
pub async fn run_once(state: &AppState, grace: chrono::Duration) -> Result<usize, StoreError> {
    let store = state.store.clone();
    let stale =
        web::block(move || store.read(|c| Transaction::stale_pending(c, now() - grace, 100)))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
    let mut settled = 0;
    for t in stale {
        let store = state.store.clone();
        let (tenant, session_id, gateway_id) = (
            t.tenant_id.clone(),
            t.session_id.clone(),
            t.gateway_id.clone(),
        );
        let (session, gateway) = web::block(move || {
            store.read(|c| {
                let session = PaymentSession::find(c, &tenant, &session_id)?;
                Ok::<_, StoreError>((session, Gateway::find(c, &tenant, &gateway_id)?))
            })
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        if session.status == "AWAITING_VERIFICATION" {
            continue; // waits for the customer, then `/verify/`; expiry is the sweeper's business
        }
        let Ok(adapter) = adapter_for(state, &gateway) else {
            tracing::error!(gateway = %gateway.id, "recovery: gateway cannot be built");
            continue;
        };
        let settlement = match adapter.reconcile(&pay::lookup(&t)).await {
            Ok(Some(outcome)) => settlement_of(outcome),
            Ok(None) => pay::never_debited(
                "The payment gateway never received the debit; nothing was debited.",
                None,
                None,
            ),
            Err(e) => {
                tracing::warn!(transaction = %t.merchant_transaction_id, error = %e, "recovery: reconcile failed; will retry");
                continue;
            }
        };
        if matches!(settlement, Settlement::Pending { .. }) {
            continue;
        }
        let store = state.store.clone();
        let id = t.id.clone();
        web::block(move || store.read(|c| payments::apply_settlement(c, &id, &settlement, now())))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        tracing::info!(transaction = %t.merchant_transaction_id, "recovery: payment finished from the gateway's record");
        settled += 1;
        state.events_written();
    }
    Ok(settled)
}

/// Runs [`run_once`] every `every` until `shutdown` turns true.
pub async fn run(
    state: AppState,
    every: Duration,
    grace: chrono::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = run_once(&state, grace).await {
            tracing::warn!(error = %e, "recovery sweep failed");
        }
    }
}
