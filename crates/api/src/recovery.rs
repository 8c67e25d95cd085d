//! The recovery worker: finishes payments whose outcome was never applied (the server died
//! between the gateway call and the outcome, or the gateway did not answer), and verifications
//! the customer never came back from. It asks the gateway (reconcile by our transaction id) and
//! applies what the gateway has on record, so nothing is lost and nothing is debited twice.
//!
//! Work is claimed one transaction at a time under a lease ([`catalyst_store::recovery`]), so
//! several server instances on one database never reconcile the same transaction at once. A
//! reconcile that does not finish the transaction backs off per transaction (exponential,
//! capped), so a failing gateway is not hammered.

use catalyst_domain::status::SessionStatus;
use std::time::Duration;

use catalyst_store::recovery::{self, ClaimedTransaction};
use catalyst_store::settlement::Settlement;
use catalyst_store::{Gateway, PaymentSession, StoreError, now};
use chrono::NaiveDateTime;
use tokio::sync::watch;

use crate::db;
use crate::payment::{self, IfNotFound, Record, adapter_for};
use crate::state::AppState;
use crate::{health, telemetry};

/// How old a `pending` transaction must be before the worker takes it over: older than any
/// in-flight request of a live server (the gateway client's timeout plus margin).
pub const GRACE: chrono::Duration = chrono::Duration::seconds(90);

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryPolicy {
    /// Age of a pending transaction before the worker takes it over.
    pub grace: chrono::Duration,
    /// Age of a debit awaiting verification before it is reconciled and, if the customer never
    /// completed it, expired.
    pub verification_timeout: chrono::Duration,
    /// How long a claimed transaction stays with its worker (longer than one gateway call).
    pub lease: chrono::Duration,
    /// The wait after the first reconcile that did not finish a transaction; doubled after
    /// each further one, up to `max_backoff`.
    pub backoff: chrono::Duration,
    /// The longest wait between two reconciles of one transaction.
    pub max_backoff: chrono::Duration,
    /// How many reconciles must answer "not found" before the debit counts as never received
    /// (a gateway may not have indexed a debit yet right after a timeout).
    pub not_found_checks: i32,
    /// Most transactions reconciled by one [`run_once`].
    pub batch: usize,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        RecoveryPolicy {
            grace: GRACE,
            verification_timeout: chrono::Duration::hours(1),
            lease: chrono::Duration::minutes(5),
            backoff: chrono::Duration::seconds(30),
            max_backoff: chrono::Duration::hours(1),
            not_found_checks: 3,
            batch: 100,
        }
    }
}

impl RecoveryPolicy {
    /// The wait after the `checks`-th reconcile (1-based) that left a transaction unfinished.
    pub fn backoff_after(&self, checks: i32) -> chrono::Duration {
        let doublings = u32::try_from(checks.saturating_sub(1)).unwrap_or(0).min(30);
        self.backoff
            .checked_mul(1 << doublings)
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }
}

/// The message of a verification the customer never completed.
const ABANDONED: &str = "The customer did not complete the verification in time.";

/// What one reconcile decided for a claimed transaction.
enum Step {
    /// Apply this settlement.
    Settle(Settlement),
    /// Nothing final yet: look again after the back-off.
    Retry,
    /// A verification that has not timed out: look again at this time.
    WaitUntil(NaiveDateTime),
}

/// Reconciles every transaction due at `now` (at most `policy.batch`); returns how many were
/// finished (settled, or expired after an abandoned verification).
pub async fn run_once(
    state: &AppState,
    policy: &RecoveryPolicy,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let mut finished = 0;
    for _ in 0..policy.batch {
        let (grace, lease) = (policy.grace, policy.lease);
        let claimed = db::background(&state.store, move |c| {
            recovery::claim_next(c, now, now - grace, lease)
        })
        .await?;
        let Some(claimed) = claimed else { break };
        if reconcile(state, policy, &claimed, now).await? {
            finished += 1;
        }
    }
    Ok(finished)
}

/// Reconciles one claimed transaction; true when it is finished.
async fn reconcile(
    state: &AppState,
    policy: &RecoveryPolicy,
    claimed: &ClaimedTransaction,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let t = &claimed.transaction;
    let (tenant, session_id, gateway_id) = (
        t.tenant_id.clone(),
        t.session_id.clone(),
        t.gateway_id.clone(),
    );
    let (session, gateway) = db::background(&state.store, move |c| {
        let session = match &session_id {
            Some(id) => Some(PaymentSession::find(c, &tenant, id)?),
            None => None,
        };
        Ok((session, Gateway::find(c, &tenant, &gateway_id)?))
    })
    .await?;
    let awaiting = session.is_some_and(|s| s.status == SessionStatus::AwaitingVerification);
    let checks = claimed.recovery_attempts + 1;
    let step = match adapter_for(state, &gateway) {
        Err(e) => {
            tracing::error!(gateway = %gateway.id, error = %crate::error::with_causes(&e), "recovery: gateway cannot be built");
            Step::Retry
        }
        Ok(_) if awaiting && t.created_at + policy.verification_timeout > now => {
            Step::WaitUntil(t.created_at + policy.verification_timeout)
        }
        Ok(adapter) => match payment::record(adapter.as_ref(), &payment::lookup(t)).await {
            // A verification the customer never completed, now timed out.
            Record::Found(Settlement::Verification { .. } | Settlement::Pending { .. })
            | Record::NotFound
                if awaiting =>
            {
                Step::Settle(Settlement::Abandoned {
                    code: catalyst_sepa::DeclineCode::Unknown.as_str().to_owned(),
                    message: ABANDONED.to_owned(),
                })
            }
            // The reconcile-after-fault rule; a "not found" is final after enough checks.
            record => {
                let if_not_found = if checks >= policy.not_found_checks {
                    IfNotFound::Final(payment::never_debited(
                        "The payment gateway never received the debit; nothing was debited.",
                        None,
                        None,
                    ))
                } else {
                    IfNotFound::CheckAgain
                };
                match record.settle(t, if_not_found) {
                    Settlement::Pending { .. } => Step::Retry,
                    settlement => Step::Settle(settlement),
                }
            }
        },
    };
    let id = t.id.clone();
    match step {
        Step::WaitUntil(at) => {
            db::background(&state.store, move |c| {
                recovery::reschedule(c, &id, checks - 1, at)
            })
            .await?;
            Ok(false)
        }
        Step::Retry => {
            let at = now + policy.backoff_after(checks);
            db::background(&state.store, move |c| {
                recovery::reschedule(c, &id, checks, at)
            })
            .await?;
            Ok(false)
        }
        Step::Settle(settlement) => {
            let settlement = match t.refund_of {
                Some(_) => crate::refunds::for_refund(settlement),
                None => settlement,
            };
            let leaves_pending = matches!(settlement, Settlement::Verification { .. });
            let retry_at = now + policy.backoff_after(checks);
            let applied = db::background(&state.store, move |c| {
                let at = catalyst_store::now();
                    let (next, finished) = match catalyst_store::outcome::apply_outcome(c, &id, &settlement, at) {
                        Ok(_) | Err(StoreError::StateConflict) => (now, !leaves_pending),
                        Err(e @ StoreError::Corrupt(_)) => {
                            tracing::error!(transaction = %id, error = %e, "recovery: outcome cannot be applied");
                            (retry_at, false)
                        }
                        Err(e) => return Err(e),
                    };
                    // Still pending (awaiting verification now, or not applicable): rescheduled.
                recovery::reschedule(c, &id, checks, next)?;
                Ok(finished)
            })
            .await?;
            if applied {
                tracing::info!(transaction = %t.merchant_transaction_id, "recovery: payment finished from the gateway's record");
            }
            state.events_written();
            Ok(applied)
        }
    }
}

/// The worker's name in heartbeats and metrics.
const WORKER: &str = "recovery";

/// Runs [`run_once`] every `every` until `shutdown` turns true, with a heartbeat per cycle.
pub async fn run(
    state: AppState,
    every: Duration,
    policy: RecoveryPolicy,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stale_after = health::allowance(every);
    loop {
        state.health.beat(WORKER, stale_after);
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let result = run_once(&state, &policy, now()).await;
        telemetry::worker_cycle(WORKER, result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, "recovery sweep failed");
        }
    }
}
