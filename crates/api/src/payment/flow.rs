//! Paying and verifying a session: claim → debit → settle, and the answer built from what was
//! stored.
//!
//! - A gateway over the network (`EMP`) is called after the claim committed, outside any
//!   transaction, with our transaction id as its idempotency key; its outcome is applied in a
//!   second transaction. A crash in between leaves a `pending` transaction that the recovery
//!   worker reconciles with the gateway.
//! - A gateway that answers in-process (the sandbox, [`catalyst_gateway::InProcessGateway`]) is
//!   asked inside the claim's transaction, and the outcome is applied before it commits: one
//!   transaction, no window in which a claimed payment waits for its outcome.

use catalyst_domain::status::SessionStatus;
use catalyst_domain::transaction::TransactionStatus;
use std::sync::Arc;

use catalyst_gateway::{GatewayAdapter, GatewayError};
use catalyst_store::session_pay::{ClaimError, Claimed};
use catalyst_store::settlement::Settlement;
use catalyst_store::{DbConnection, Gateway, PaymentSession, StoreError, now};
use serde_json::Value;

use super::adapter::{adapter_for, try_adapter_for};
use super::draft::{debit_request, draft};
use super::input::PayInput;
use super::reconcile::{debit_now, lookup, never_debited, settle};
use crate::db;
use crate::envelope::{self, Call};
use crate::error::{ApiError, Conflict};
use crate::state::AppState;
use crate::telemetry;

impl From<ClaimError> for ApiError {
    fn from(e: ClaimError) -> ApiError {
        match e {
            ClaimError::NotFound => ApiError::NotFound,
            ClaimError::Expired => ApiError::SessionExpired,
            ClaimError::NotPayable => ApiError::Conflict(Conflict::SessionNotPayable),
            ClaimError::TenantReferenceInUse => ApiError::Conflict(Conflict::TenantReferenceId),
            ClaimError::Store(e) => e.into(),
        }
    }
}

/// Pays the session `token` with `input`: claims it (exactly one concurrent caller wins) with
/// the mandate and a `pending` transaction, debits, applies the outcome. Returns the result
/// envelope.
pub async fn pay(state: AppState, token: String, input: PayInput) -> Result<Value, ApiError> {
    let input = Arc::new(input);

    // The claim; with an in-process gateway also the debit, its outcome and the answer, in the
    // same transaction.
    let (st, b, tk) = (state.clone(), input.clone(), token.clone());
    let claimed = db::read(&state.store, move |conn| -> Result<Claim, ApiError> {
        // Built once, when there is something to debit; kept for a gateway over the network.
        let mut adapter = None;
        // One clock reading for the claim, its rows and an in-process settlement.
        let at = now();
        // The creditor the mandate text names (an unknown token fails in the claim below).
        let creditor = match PaymentSession::find_by_token(conn, &tk) {
            Ok(s) => crate::views::Creditor::of_session(conn, &s)?.name,
            Err(_) => String::new(),
        };
        let mandate_text = |locale| crate::hosted::view::mandate_text(locale, &creditor);
        let (claimed, settled) = catalyst_store::session_pay::claim_and_settle(
            conn,
            &tk,
            at,
            |s, o, l| draft(st.store.cipher(), &b, mandate_text, (s, o, l), at),
            |conn, claimed| match try_adapter_for(&st, &claimed.gateway)? {
                Ok(built) => {
                    let settlement = debit_in_process(conn, &st, built.as_ref(), claimed, &b)?;
                    adapter = Some(built);
                    Ok::<_, ApiError>(settlement)
                }
                // The gateway cannot be called: nothing is debited, the attempt does not count.
                Err(_) => Ok(Some(never_debited(
                    "The payment gateway is unavailable; nothing was debited.",
                    None,
                    None,
                ))),
            },
        )?;
        if let (None, Some(adapter)) = (&settled, adapter) {
            return Ok(Claim::AwaitsGateway(Box::new(claimed), adapter));
        }
        let parts = envelope::Parts::paid(conn, claimed, settled)?;
        envelope::render(&st.store, parts, Call::Pay, st.config.livemode).map(Claim::Answered)
    })
    .await?;
    let (claimed, adapter) = match claimed {
        Claim::Answered(envelope) => {
            state.events_written();
            return Ok(envelope);
        }
        Claim::AwaitsGateway(claimed, adapter) => (*claimed, adapter),
    };

    // A gateway over the network: called after the claim committed, with our transaction id
    // as its idempotency key.
    let settlement = match &claimed.transaction {
        Some(t) => {
            let request = debit_request(
                &state.config.public_url,
                (&claimed.session, &claimed.lead, &claimed.mandate),
                t,
                &input,
            )?;
            let answer = adapter.debit(&request).await;
            Some(match answer {
                // The gateway's address is refused before anything is sent: nothing to
                // reconcile, nothing was debited.
                Err(error @ GatewayError::TargetRefused) => never_debited(
                    "The payment gateway could not be reached; nothing was debited.",
                    None,
                    Some(error.to_string()),
                ),
                answer => settle(adapter.as_ref(), t, answer).await,
            })
        }
        None => None,
    };
    if let Some(settlement) = &settlement {
        telemetry::payment(adapter.name(), settlement);
    }
    // The outcome and the answer on one connection, from the rows the claim returned.
    let (store, livemode) = (state.store.clone(), state.config.livemode);
    let envelope = db::read(&state.store, move |conn| {
        let parts = settle_claim(conn, claimed, settlement)?;
        envelope::render(&store, parts, Call::Pay, livemode)
    })
    .await?;
    state.events_written();
    Ok(envelope)
}

/// How the claim step of [`pay`] ended.
enum Claim {
    /// Settled in the claim's transaction (in-process gateway, or nothing to debit): the answer.
    Answered(Value),
    /// Claimed; the debit goes to this gateway over the network.
    AwaitsGateway(Box<Claimed>, Arc<dyn GatewayAdapter>),
}

/// The outcome of the claimed debit if `adapter` answers in-process, its records written on
/// `conn` (the claim's transaction); `None` for a gateway over the network.
fn debit_in_process(
    conn: &mut DbConnection,
    state: &AppState,
    adapter: &dyn GatewayAdapter,
    claimed: &Claimed,
    input: &PayInput,
) -> Result<Option<Settlement>, ApiError> {
    let Some(t) = &claimed.transaction else {
        return Ok(None);
    };
    let Some(gateway) = adapter.in_process() else {
        return Ok(None);
    };
    let request = debit_request(
        &state.config.public_url,
        (&claimed.session, &claimed.lead, &claimed.mandate),
        t,
        input,
    )?;
    let settlement = debit_now(conn, gateway, t, &request)?;
    telemetry::payment(adapter.name(), &settlement);
    Ok(Some(settlement))
}

/// Applies the gateway's answer from the claim's rows. If the transaction was settled meanwhile
/// (a gateway notification, the recovery worker), applies it to what is stored instead (a no-op
/// if it is no longer pending) and reads the rows back.
fn settle_claim(
    conn: &mut DbConnection,
    claimed: Claimed,
    settlement: Option<Settlement>,
) -> Result<envelope::Parts, ApiError> {
    let transaction_id = claimed.transaction.as_ref().map(|t| t.id.clone());
    let (Some(settlement), Some(transaction_id)) = (settlement, transaction_id) else {
        return envelope::Parts::paid(conn, claimed, None);
    };
    match catalyst_store::session_pay::settle_claimed(conn, &claimed, &settlement, now()) {
        Ok(settled) => envelope::Parts::paid(conn, claimed, Some(settled)),
        Err(StoreError::StateConflict) => {
            let session = match catalyst_store::session_pay::apply_settlement(
                conn,
                &transaction_id,
                &settlement,
                now(),
            ) {
                Err(StoreError::StateConflict) => {
                    PaymentSession::find_by_token(conn, &claimed.session.token)?
                }
                other => other?,
            };
            envelope::Parts::load(conn, session)
        }
        Err(e) => Err(e.into()),
    }
}

/// Completes the verification of the session `token` (its pending debit awaiting the payer's
/// bank); `verification_id`, when given, must name that debit. Returns the result envelope.
pub async fn verify(
    state: AppState,
    token: String,
    verification_id: Option<String>,
) -> Result<Value, ApiError> {
    let tk = token.clone();
    let (session, transaction, gateway) = db::read(&state.store, move |c| {
        let session = PaymentSession::find_by_token(c, &tk)?;
        let t = session.latest_transaction(c)?;
        let g = Gateway::find(c, &session.tenant_id, &session.gateway_id)?;
        Ok::<_, StoreError>((session, t, g))
    })
    .await?;
    let transaction = match (session.status, transaction) {
        (SessionStatus::AwaitingVerification, Some(t))
            if t.status == TransactionStatus::Pending =>
        {
            t
        }
        _ => return Err(ApiError::Conflict(Conflict::SessionNotVerifiable)),
    };
    // The id of the verification is the gateway's reference of the pending debit (the
    // envelope's `transaction.gateway_reference`); a caller that names another verification
    // is refused before the gateway is asked.
    if let Some(id) = verification_id
        && transaction.gateway_reference.as_deref() != Some(id.as_str())
    {
        return Err(ApiError::field(
            "verification_id",
            "Does not match the pending verification.",
        ));
    }
    let adapter = adapter_for(&state, &gateway)?;
    let answer = adapter.verify(&lookup(&transaction)).await;
    let settlement = match settle(adapter.as_ref(), &transaction, answer).await {
        // Still waiting for the customer's bank: nothing changes.
        Settlement::Verification { .. } => Settlement::Pending { reference: None },
        other => other,
    };
    let (store, id, livemode) = (
        state.store.clone(),
        transaction.id.clone(),
        state.config.livemode,
    );
    let envelope = db::read(&state.store, move |conn| {
        let session = catalyst_store::session_pay::apply_settlement(conn, &id, &settlement, now())?;
        envelope::build(conn, &store, session, Call::Verify, livemode)
    })
    .await?;
    state.events_written();
    Ok(envelope)
}
