//! `POST /payment-sessions/{token}/pay/` and `/verify/` (API.md §3.3–§3.6).
//!
//! The path of one payment (ARCHITECTURE.md): validate the IBAN (400 before anything is
//! written) → claim the session in one transaction (exactly one concurrent caller wins) with the
//! mandate and a `pending` transaction → debit → apply the outcome → answer with the envelope
//! built from what was stored.
//!
//! - A gateway over the network (`EMP`) is called after the claim committed, outside any
//!   transaction, with our transaction id as its idempotency key; its outcome is applied in a
//!   second transaction. A crash in between leaves a `pending` transaction that the recovery
//!   worker reconciles with the gateway.
//! - A gateway that answers in-process (the sandbox, [`catalyst_gateway::InProcessGateway`]) is
//!   asked inside the claim's transaction, and the outcome is applied before it commits: one
//!   transaction, no window in which a claimed payment waits for its outcome.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use catalyst_domain::secret::Secret;
use catalyst_domain::session::Locale;
use catalyst_domain::validation::{self, ValidationErrors, messages};
use catalyst_gateway::{
    DebitKind, DebitRequest, GatewayAdapter, GatewayError, GatewayOutcome, InProcessGateway,
    ReconcileRequest, SandboxLedger,
};
use catalyst_store::payments::{HOLDER_CONTEXT, IBAN_CONTEXT};
use catalyst_store::session_pay::{ClaimError, Claimed, PaymentDraft};
use catalyst_store::settlement::Settlement;
use catalyst_store::{
    Customer, DbConnection, Gateway, Lead, Mandate, Order, PaymentSession, Store, StoreError,
    Transaction, now,
};
use serde_json::Value;

use crate::body::{JsonBody, OptionalJsonBody, object};
use crate::db;
use crate::envelope::{self, Call};
use crate::error::{ApiError, Conflict};
use crate::sandbox_ledger::DbLedger;
use crate::state::AppState;
use crate::telemetry;

/// The validated `/pay/` body.
struct PayBody {
    iban: catalyst_sepa::ValidIban,
    holder: String,
    tenant_reference_id: Option<String>,
    /// The language the payer read the mandate in (else the session's default).
    locale: Option<Locale>,
}

fn parse_pay_body(value: &Value) -> Result<PayBody, ApiError> {
    let obj = object(value)?;
    let mut errors = ValidationErrors::new();
    let iban = validation::required(obj, "iban", &mut errors, |v| match v {
        Value::String(s) if s.trim().is_empty() => Err(messages::BLANK.to_owned()),
        Value::String(s) if s.chars().count() > 100 => Err(messages::max_length(100)),
        Value::String(s) => Ok(s.clone()),
        _ => Err(messages::NOT_A_STRING.to_owned()),
    });
    let holder = validation::required(obj, "iban_holder_name", &mut errors, |v| {
        validation::char_field(v, 70)
    });
    let tenant_reference_id = match obj.get("tenant_reference_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.add("tenant_reference_id", messages::BLANK);
            None
        }
        Some(Value::String(s)) if s.chars().count() > 255 => {
            errors.add("tenant_reference_id", messages::max_length(255));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.add("tenant_reference_id", messages::NOT_A_STRING);
            None
        }
    };
    let locale = match obj.get("locale") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_str().and_then(|s| s.parse::<Locale>().ok()) {
            Some(l) => Some(l),
            None => {
                let shown = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                errors.add("locale", messages::invalid_choice(&shown));
                None
            }
        },
    };
    let (iban, holder) = errors.into_result((iban, holder))?;
    let (iban, holder) = (iban.unwrap_or_default(), holder.unwrap_or_default());
    let iban = catalyst_sepa::validate(&iban).map_err(|e| ApiError::InvalidIban(e.to_string()))?;
    Ok(PayBody {
        iban,
        holder,
        tenant_reference_id,
        locale,
    })
}

/// Builds the rows the claim writes: the mandate, the pending transaction (unless nothing is
/// debited) and the customer (customer modes), stamped `at` (the claim's own time).
#[allow(clippy::too_many_arguments)]
fn draft(
    store: &Store,
    body: &PayBody,
    creditor: &str,
    session: &PaymentSession,
    order: &Order,
    lead: &Lead,
    at: chrono::NaiveDateTime,
) -> Result<PaymentDraft, StoreError> {
    let locale = body
        .locale
        .or_else(|| session.default_locale.parse().ok())
        .unwrap_or_default();
    let initial_minor = session.pricing()?.initial_amount().minor();
    let debits = session.mode != "customer" && initial_minor > 0;
    let customer = match (session.mode.as_str(), &session.customer_id) {
        ("payment", _) | (_, Some(_)) => None,
        _ => Some(Customer {
            id: catalyst_domain::CustomerId::new().to_string(),
            tenant_id: session.tenant_id.clone(),
            lead_id: lead.id.clone(),
            external_customer_id: session.external_customer_id.clone(),
            created_at: at,
            updated_at: at,
            session_id: Some(session.id.clone()),
            gateway_id: Some(session.gateway_id.clone()),
            mandate_id: None,
            status: "ACTIVE".into(),
            deleted_at: None,
        }),
    };
    let customer_id = customer.as_ref().map(|c| c.id.clone()).or_else(|| {
        session
            .customer_id
            .clone()
            .filter(|_| session.mode != "payment")
    });
    let mandate_id = uuid::Uuid::now_v7().to_string();
    let customer = customer.map(|c| Customer {
        mandate_id: Some(mandate_id.clone()),
        ..c
    });
    let mandate = Mandate {
        id: mandate_id,
        tenant_id: session.tenant_id.clone(),
        lead_id: lead.id.clone(),
        customer_id,
        reference: format!("MAND-{}", order.order_number),
        iban_sealed: store
            .cipher()
            .seal(IBAN_CONTEXT, body.iban.as_str().as_bytes())?,
        iban_last4: body.iban.last4().to_owned(),
        iban_country: body.iban.country().as_str().to_owned(),
        bic: body.iban.bic().map(str::to_owned),
        bank_name: body.iban.bank_name().map(str::to_owned),
        holder_sealed: store
            .cipher()
            .seal(HOLDER_CONTEXT, body.holder.as_bytes())?,
        sequence_type: "FRST".into(),
        signed_at: at,
        created_at: at,
        updated_at: at,
        iban_masked: body.iban.mask_full(),
        gateway_reference: None,
        revoked_at: None,
        mandate_text: Some(crate::hosted::view::mandate_text(locale, creditor)),
        mandate_locale: Some(locale.as_str().to_owned()),
    };
    let transaction = debits.then(|| Transaction {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: session.tenant_id.clone(),
        session_id: Some(session.id.clone()),
        order_id: order.id.clone(),
        gateway_id: session.gateway_id.clone(),
        mandate_id: mandate.id.clone(),
        merchant_transaction_id: catalyst_domain::ids::new_merchant_transaction_id(at.date()),
        tenant_reference_id: body.tenant_reference_id.clone(),
        kind: "sdd_sale".into(),
        status: "pending".into(),
        sequence_type: "FRST".into(),
        amount_minor: initial_minor,
        currency: session.currency.clone(),
        gateway_reference: None,
        verification_url: None,
        error_code: None,
        error_message: None,
        gateway_code: None,
        gateway_message: None,
        counts_as_attempt: true,
        processed_at: None,
        created_at: at,
        updated_at: at,
        subscription_id: None,
        billing_period: None,
        billing_attempt: None,
        refund_of: None,
        description: None,
    });
    Ok(PaymentDraft {
        mandate,
        transaction,
        customer,
    })
}

/// The adapter settings of a stored gateway, with its credentials opened.
pub fn gateway_settings(
    state: &AppState,
    gateway: &Gateway,
) -> Result<catalyst_gateway::GatewaySettings, ApiError> {
    let credentials = match &gateway.credentials_sealed {
        Some(sealed) => Some(Secret::new(
            String::from_utf8(
                state
                    .store
                    .cipher()
                    .open(crate::management::gateways::CREDENTIALS_CONTEXT, sealed)?,
            )
            .map_err(|_| ApiError::Internal("credentials".into()))?,
        )),
        None => None,
    };
    Ok(catalyst_gateway::GatewaySettings {
        adapter: gateway.adapter.clone(),
        test_mode: gateway.test_mode,
        requires_verification: gateway.requires_verification,
        credentials,
        descriptor: gateway.descriptor.clone(),
    })
}

/// The adapter of a stored gateway, or the adapter's refusal of the stored settings (a row
/// saved before create/patch checked them): a gateway fault, not an internal error.
pub fn try_adapter_for(
    state: &AppState,
    gateway: &Gateway,
) -> Result<Result<Arc<dyn GatewayAdapter>, GatewayError>, ApiError> {
    let settings = gateway_settings(state, gateway)?;
    let built = catalyst_gateway::build_adapter(&settings, &state.gateways);
    if let Err(error) = &built {
        tracing::error!(gateway = %gateway.id, %error, "the adapter refuses the gateway's settings");
    }
    Ok(built)
}

/// [`try_adapter_for`], a refusal answered 503 `service_unavailable` (the caller may retry once
/// an operator has fixed the gateway).
pub fn adapter_for(
    state: &AppState,
    gateway: &Gateway,
) -> Result<Arc<dyn GatewayAdapter>, ApiError> {
    try_adapter_for(state, gateway)?
        .map_err(|e| ApiError::ServiceUnavailable(format!("gateway {}: {e}", gateway.id)))
}

/// The debit request for a claimed payment.
fn debit_request(
    state: &AppState,
    session: &PaymentSession,
    lead: &Lead,
    mandate: &Mandate,
    t: &Transaction,
    body: &PayBody,
) -> Result<DebitRequest, ApiError> {
    let pricing = session.pricing()?;
    let kind = if pricing.billing_type().is_recurring() || session.mode == "customer_payment" {
        DebitKind::FirstRecurring
    } else {
        DebitKind::OneOff
    };
    let offer: Value = serde_json::from_str(&session.offer_snapshot).unwrap_or(Value::Null);
    let usage = offer["product_name"]
        .as_str()
        .or(offer["name"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Order {}", mandate.reference.trim_start_matches("MAND-")));
    Ok(DebitRequest {
        transaction_id: t.merchant_transaction_id.clone(),
        kind,
        amount: catalyst_domain::money::Money::from_minor(
            t.amount_minor,
            pricing.amount().currency(),
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?,
        iban: Some(Secret::new(body.iban.as_str().to_owned())),
        bic: mandate.bic.clone(),
        account_holder: Secret::new(body.holder.clone()),
        first_name: lead.first_name.clone(),
        last_name: lead.last_name.clone(),
        address: lead.address.clone(),
        zip_code: lead.postal_code.clone(),
        city: lead.city.clone(),
        country: lead.country.clone(),
        email: Some(lead.email.clone()),
        remote_ip: session
            .customer_ip
            .clone()
            .unwrap_or_else(|| "127.0.0.1".into()),
        usage,
        mandate_reference: mandate.reference.clone(),
        notification_url: Some(format!(
            "{}/api/v1/gateways/{}/notifications/",
            state.config.public_url, session.gateway_id
        )),
        return_url: Some(format!("{}/s/{}", state.config.public_url, session.token)),
    })
}

/// Turns an adapter answer into what the store applies. On an integration fault the gateway is
/// asked once (reconcile by our transaction id): found → its outcome; not found → nothing was
/// debited (declined `gateway_unavailable`, the attempt does not count), unless the debit may
/// have reached the gateway (a timeout, an issuer error to reconcile): a gateway that has not
/// indexed it yet answers "not found" too, so it stays pending and the recovery worker checks
/// again before the attempt is final; no answer → pending, for the recovery worker.
pub async fn settle(
    adapter: &dyn GatewayAdapter,
    t: &Transaction,
    answer: Result<GatewayOutcome, GatewayError>,
) -> Settlement {
    match answer {
        Ok(outcome) => settlement_of(outcome),
        Err(error) => {
            let found = adapter.reconcile(&reconcile_request(t, &error)).await;
            after_fault(t, &error, found, may_have_reached(&error))
        }
    }
}

/// [`settle`] for a gateway that answers in-process, from its records in `ledger`: its "not
/// found" is final at once.
pub fn settle_now(
    gateway: &dyn InProcessGateway,
    ledger: &mut dyn SandboxLedger,
    t: &Transaction,
    answer: Result<GatewayOutcome, GatewayError>,
) -> Settlement {
    match answer {
        Ok(outcome) => settlement_of(outcome),
        Err(error) => {
            let found = gateway.reconcile_now(ledger, &reconcile_request(t, &error));
            after_fault(t, &error, found, false)
        }
    }
}

/// The reconcile request after an integration fault on `t`'s debit.
fn reconcile_request(t: &Transaction, error: &GatewayError) -> ReconcileRequest {
    tracing::warn!(transaction = %t.merchant_transaction_id, %error, "gateway fault; reconciling");
    lookup(t)
}

/// How the gateway finds `t`: by its reference when known, else by our transaction id.
pub fn lookup(t: &Transaction) -> ReconcileRequest {
    ReconcileRequest {
        transaction_id: t.merchant_transaction_id.clone(),
        reference: t.gateway_reference.clone(),
    }
}

/// The outcome when the gateway turns out never to have received the debit: declined
/// `gateway_unavailable`, and the attempt does not count.
pub fn never_debited(
    message: &str,
    gateway_code: Option<String>,
    gateway_message: Option<String>,
) -> Settlement {
    Settlement::Declined {
        reference: None,
        code: catalyst_sepa::DeclineCode::GatewayUnavailable
            .as_str()
            .to_owned(),
        message: message.to_owned(),
        gateway_code,
        gateway_message,
        counts_as_attempt: false,
    }
}

/// Whether a debit that failed with `error` may still have reached the gateway: its answer was
/// lost (timeout) or the gateway reported an outcome it must reconcile (Genesis 230/240/250).
pub fn may_have_reached(error: &GatewayError) -> bool {
    match error {
        GatewayError::Timeout => true,
        GatewayError::Unavailable { .. } => {
            matches!(error.gateway_code(), Some("230" | "240" | "250"))
        }
        _ => false,
    }
}

/// What reconciling after a fault found. `recheck_not_found`: a "not found" is not final yet.
fn after_fault(
    t: &Transaction,
    error: &GatewayError,
    found: Result<Option<GatewayOutcome>, GatewayError>,
    recheck_not_found: bool,
) -> Settlement {
    match found {
        Ok(Some(outcome)) => settlement_of(outcome),
        Ok(None) if recheck_not_found => {
            tracing::warn!(transaction = %t.merchant_transaction_id, %error, "not found after a fault; left pending for a later check");
            Settlement::Pending { reference: None }
        }
        Ok(None) => never_debited(
            "The payment gateway could not be reached; nothing was debited.",
            gateway_code_of(error),
            Some(error.to_string()),
        ),
        Err(e) => {
            tracing::warn!(transaction = %t.merchant_transaction_id, error = %e, "reconcile failed; left pending");
            Settlement::Pending { reference: None }
        }
    }
}

fn gateway_code_of(error: &GatewayError) -> Option<String> {
    match error {
        GatewayError::Unavailable { gateway_code, .. } => gateway_code.clone(),
        GatewayError::Timeout => Some("timeout".into()),
        _ => None,
    }
}

/// The store's view of an adapter outcome.
pub fn settlement_of(outcome: GatewayOutcome) -> Settlement {
    match outcome {
        GatewayOutcome::Approved { reference } => Settlement::Approved { reference },
        GatewayOutcome::Pending { reference } => Settlement::Pending {
            reference: Some(reference),
        },
        GatewayOutcome::VerificationRequired { reference, url } => {
            Settlement::Verification { reference, url }
        }
        GatewayOutcome::Declined {
            reference,
            code,
            gateway_code,
            gateway_message,
        } => Settlement::Declined {
            reference,
            code: code.as_str().to_owned(),
            message: decline_message(code),
            gateway_code,
            gateway_message,
            counts_as_attempt: true,
        },
    }
}

pub(crate) fn decline_message(code: catalyst_sepa::DeclineCode) -> String {
    use catalyst_sepa::DeclineCode::*;
    match code {
        InsufficientFunds => "The account has insufficient funds.",
        InvalidIban => "The bank account details are not valid.",
        MandateRejected => "The mandate was rejected.",
        AccountClosed => "The account is closed or blocked.",
        DoNotHonor => "The bank declined the debit.",
        GatewayUnavailable => "The payment gateway is unavailable.",
        Unknown => "The debit was declined.",
    }
    .to_owned()
}

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

/// `POST /api/v1/payment-sessions/{token}/pay/` — no auth; the token is the credential.
#[utoipa::path(post, path = "/api/v1/payment-sessions/{token}/pay/", tag = "payment sessions",
    params(("token" = String, Path)), request_body = Object,
    responses((status = 200, description = "The result envelope, whatever the outcome"),
        (status = 400, description = "validation_error / invalid_iban (no attempt used)"), (status = 404),
        (status = 409, description = "session_not_payable / tenant_reference_id_conflict"), (status = 410)))]
pub async fn pay(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let envelope = pay_session(state.get_ref().clone(), token.into_inner(), &body.value).await?;
    Ok(HttpResponse::Ok().json(envelope))
}

/// The `/pay/` path for `token` with the request body `value`: validates it, claims the session,
/// debits and settles. Returns the result envelope. Shared by `/pay/` and the hosted page's
/// form post, so both pay the same way.
pub(crate) async fn pay_session(
    state: AppState,
    token: String,
    value: &Value,
) -> Result<Value, ApiError> {
    if catalyst_domain::token::SessionToken::parse(&token).is_err() {
        return Err(ApiError::NotFound);
    }
    let body = Arc::new(parse_pay_body(value)?);

    // The claim; with an in-process gateway also the debit, its outcome and the answer, in the
    // same transaction.
    let (st, b, tk) = (state.clone(), body.clone(), token.clone());
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
        let (claimed, settled) = catalyst_store::session_pay::claim_and_settle(
            conn,
            &tk,
            at,
            |s, o, l| draft(&st.store, &b, &creditor, s, o, l, at),
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
                &state,
                &claimed.session,
                &claimed.lead,
                &claimed.mandate,
                t,
                &body,
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

/// How the claim step of `/pay/` ended.
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
    body: &PayBody,
) -> Result<Option<Settlement>, ApiError> {
    let Some(t) = &claimed.transaction else {
        return Ok(None);
    };
    let Some(gateway) = adapter.in_process() else {
        return Ok(None);
    };
    let request = debit_request(
        state,
        &claimed.session,
        &claimed.lead,
        &claimed.mandate,
        t,
        body,
    )?;
    let settlement = debit_now(conn, gateway, t, &request)?;
    telemetry::payment(adapter.name(), &settlement);
    Ok(Some(settlement))
}

/// Debits `t` on an in-process gateway and settles its answer, the gateway's records written
/// on `conn`. A failed write of those records is an error, so that the caller's transaction
/// rolls back rather than record an outcome the gateway has no record of.
pub fn debit_now(
    conn: &mut DbConnection,
    gateway: &dyn InProcessGateway,
    t: &Transaction,
    request: &DebitRequest,
) -> Result<Settlement, StoreError> {
    let mut ledger = DbLedger::new(conn);
    let answer = gateway.debit_now(&mut ledger, request);
    let settlement = settle_now(gateway, &mut ledger, t, answer);
    ledger.finish(settlement)
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

/// `POST /api/v1/payment-sessions/{token}/verify/` — no auth; empty body allowed.
#[utoipa::path(post, path = "/api/v1/payment-sessions/{token}/verify/", tag = "payment sessions",
    params(("token" = String, Path)), request_body = Object,
    responses((status = 200, description = "The result envelope"), (status = 404),
        (status = 409, description = "session_not_verifiable")))]
pub async fn verify(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: OptionalJsonBody,
) -> Result<HttpResponse, ApiError> {
    let envelope =
        verify_session(state.get_ref().clone(), token.into_inner(), &body.0.value).await?;
    Ok(HttpResponse::Ok().json(envelope))
}

/// The `/verify/` path for `token` with the request body `value`; returns the result envelope.
/// Shared by `/verify/` and the hosted page's verification form.
pub(crate) async fn verify_session(
    state: AppState,
    token: String,
    value: &Value,
) -> Result<Value, ApiError> {
    if catalyst_domain::token::SessionToken::parse(&token).is_err() {
        return Err(ApiError::NotFound);
    }
    let obj = object(value)?;
    let mut errors = ValidationErrors::new();
    let verification_id = validation::optional(obj, "verification_id", &mut errors, |v| {
        validation::char_field(v, 255)
    });
    let verification_id = errors.into_result(verification_id)?;

    let tk = token.clone();
    let (session, transaction, gateway) = db::read(&state.store, move |c| {
        let session = PaymentSession::find_by_token(c, &tk)?;
        let t = session.latest_transaction(c)?;
        let g = Gateway::find(c, &session.tenant_id, &session.gateway_id)?;
        Ok::<_, StoreError>((session, t, g))
    })
    .await?;
    let transaction = match (session.status.as_str(), transaction) {
        ("AWAITING_VERIFICATION", Some(t)) if t.status == "pending" => t,
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
    let req = lookup(&transaction);
    let answer = adapter.verify(&req).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Transaction {
        let at = now();
        Transaction {
            id: "t".into(),
            tenant_id: "tenant".into(),
            session_id: Some("s".into()),
            order_id: "o".into(),
            gateway_id: "g".into(),
            mandate_id: "m".into(),
            merchant_transaction_id: "TXN-20261204-0000CAFE".into(),
            tenant_reference_id: None,
            kind: "sdd_sale".into(),
            status: "pending".into(),
            sequence_type: "FRST".into(),
            amount_minor: 1234,
            currency: "EUR".into(),
            gateway_reference: None,
            verification_url: None,
            error_code: None,
            error_message: None,
            gateway_code: None,
            gateway_message: None,
            counts_as_attempt: true,
            processed_at: None,
            created_at: at,
            updated_at: at,
            subscription_id: None,
            billing_period: None,
            billing_attempt: None,
            refund_of: None,
            description: None,
        }
    }

    fn is_pending(s: &Settlement) -> bool {
        matches!(s, Settlement::Pending { reference: None })
    }

    fn is_never_debited(s: &Settlement) -> bool {
        matches!(s, Settlement::Declined { code, counts_as_attempt: false, .. } if code == "gateway_unavailable")
    }

    #[test]
    fn not_found_after_a_lost_answer_is_checked_again_later() {
        let t = pending();
        let issuer_timeout = GatewayError::Unavailable {
            gateway_code: Some("230".into()),
            message: "issuer timeout".into(),
        };
        for error in [GatewayError::Timeout, issuer_timeout] {
            assert!(may_have_reached(&error), "{error}");
            assert!(
                is_pending(&after_fault(&t, &error, Ok(None), true)),
                "{error}"
            );
            // An in-process gateway's "not found" is final at once.
            assert!(
                is_never_debited(&after_fault(&t, &error, Ok(None), false)),
                "{error}"
            );
        }
        let refused = GatewayError::Transport("connection refused".into());
        assert!(!may_have_reached(&refused));
        assert!(is_never_debited(&after_fault(
            &t,
            &refused,
            Ok(None),
            may_have_reached(&refused)
        )));
    }
}
