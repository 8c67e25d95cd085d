//! The result envelope (`object: "payment_session.result"`, API.md §3.5), built from what was
//! stored — never from what the gateway said in passing. Every key is always present.

use catalyst_domain::CustomerId;
use catalyst_domain::session::SessionMode;
use catalyst_domain::status::SessionStatus;
use catalyst_domain::transaction::TransactionStatus;
use catalyst_store::payments::HOLDER_CONTEXT;
use catalyst_store::session_pay::{Claimed, Settled};
use catalyst_store::{
    Customer, DbConnection, Gateway, Mandate, Order, PaymentSession, Store, Subscription,
    Transaction,
};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::management::found;
use crate::views::{money, timestamp};

/// Which call the envelope answers: `/verify/` words a retryable failure as `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Pay,
    Verify,
}

/// The session's result as the envelope's `status`, `retry_allowed` pair. `awaits_bank`: the
/// gateway collects by bank file (`BATCH`), so a pending debit is the expected state until the
/// bank's report is imported, not a lost answer.
fn outcome(
    session: &PaymentSession,
    t: Option<&Transaction>,
    call: Call,
    awaits_bank: bool,
) -> (&'static str, Value) {
    match (session.status, t.map(|t| t.status)) {
        (SessionStatus::PaymentInProgress, Some(TransactionStatus::Pending)) if awaits_bank => {
            ("pending", Value::Null)
        }
        (SessionStatus::Completed, _) => ("completed", Value::Null),
        (SessionStatus::AwaitingVerification, _) => ("awaiting_verification", Value::Null),
        (SessionStatus::Failed, _) => ("failed", json!(false)),
        (SessionStatus::Expired, _) => ("expired", json!(false)),
        (SessionStatus::Pending, Some(TransactionStatus::Declined)) if call == Call::Verify => {
            ("failed", json!(true))
        }
        (SessionStatus::Pending, Some(TransactionStatus::Declined)) => ("declined", json!(true)),
        // The gateway's answer is not known yet: not retryable until it is known not to be a debit.
        (SessionStatus::PaymentInProgress, _) => ("declined", json!(false)),
        (SessionStatus::Pending, _) => ("pending", Value::Null),
    }
}

/// Every row the envelope shows.
pub struct Parts {
    pub session: PaymentSession,
    pub order: Order,
    pub gateway: Gateway,
    /// The session's latest transaction.
    pub transaction: Option<Transaction>,
    /// The transaction's mandate, or the order's when nothing was debited.
    pub mandate: Option<Mandate>,
    pub subscription: Option<Subscription>,
    /// Shown in customer modes only.
    pub customer: Option<Customer>,
}

impl Parts {
    /// Reads the rows of `session` from the store.
    pub fn load(conn: &mut DbConnection, session: PaymentSession) -> Result<Self, ApiError> {
        let tenant = &session.tenant_id;
        let order = Order::find_by_session(conn, &session.id)?;
        let gateway = Gateway::find(conn, tenant, &session.gateway_id)?;
        let transaction = session.latest_transaction(conn)?;
        let mandate = match &transaction {
            Some(t) => Some(Mandate::find(conn, tenant, &t.mandate_id)?),
            None => Mandate::by_reference(conn, tenant, &format!("MAND-{}", order.order_number))?,
        };
        let subscription = Subscription::of_session(conn, &session.id)?;
        let customer = match shown_customer(&session) {
            Some(id) => found(Customer::find(conn, tenant, id))?,
            None => None,
        };
        Ok(Self {
            session,
            order,
            gateway,
            transaction,
            mandate,
            subscription,
            customer,
        })
    }

    /// The rows as a payment left them: the claim's, updated by the settlement if there was
    /// one. Reads only a customer the session had before the claim.
    pub fn paid(
        conn: &mut DbConnection,
        claimed: Claimed,
        settled: Option<Settled>,
    ) -> Result<Self, ApiError> {
        let Claimed {
            session,
            order,
            gateway,
            mandate,
            customer,
            subscription,
            ..
        } = claimed;
        let (session, order, transaction, mandate, subscription) = match settled {
            Some(s) => (
                s.session,
                s.order,
                Some(s.transaction),
                s.mandate,
                s.subscription,
            ),
            None => (session, order, None, mandate, subscription),
        };
        let customer = match (shown_customer(&session), customer) {
            (Some(id), Some(c)) if c.id == *id => Some(c),
            (Some(id), _) => found(Customer::find(conn, &session.tenant_id, id))?,
            (None, _) => None,
        };
        Ok(Self {
            session,
            order,
            gateway,
            transaction,
            mandate: Some(mandate),
            subscription,
            customer,
        })
    }
}

/// The customer the envelope shows: the session's, in customer modes only.
fn shown_customer(session: &PaymentSession) -> Option<&CustomerId> {
    session
        .customer_id
        .as_ref()
        .filter(|_| session.mode != SessionMode::Payment)
}

/// Builds the envelope of `session` from the store.
pub fn build(
    conn: &mut DbConnection,
    store: &Store,
    session: PaymentSession,
    call: Call,
    livemode: bool,
) -> Result<Value, ApiError> {
    render(store, Parts::load(conn, session)?, call, livemode)
}

/// The envelope of these rows.
pub fn render(store: &Store, parts: Parts, call: Call, livemode: bool) -> Result<Value, ApiError> {
    let Parts {
        session,
        order,
        gateway,
        transaction: t,
        mandate,
        subscription,
        customer,
    } = parts;
    let session = &session;
    let holder = holder_name(store, mandate.as_ref())?;
    let awaits_bank = gateway.adapter == catalyst_gateway::batch::NAME;
    let (status, retry_allowed) = outcome(session, t.as_ref(), call, awaits_bank);
    let error_details = match &t {
        Some(t) if t.status == TransactionStatus::Pending && awaits_bank => Value::Null,
        Some(t) if session.status == SessionStatus::PaymentInProgress => error_details(t),
        Some(t) if t.error_code.is_some() => error_details(t),
        _ => Value::Null,
    };
    let amount_minor = t.as_ref().map_or(session.amount_minor, |t| t.amount_minor);
    Ok(json!({
        "object": "payment_session.result",
        "session_token": session.token,
        "status": status,
        "livemode": livemode,
        "created_at": t.as_ref().map(|t| timestamp(t.created_at)),
        "processed_at": t.as_ref().and_then(|t| t.processed_at.map(timestamp)),
        "order_number": order.order_number,
        "verification_url": t.as_ref().filter(|_| session.status == SessionStatus::AwaitingVerification).and_then(|t| t.verification_url.clone()),
        "error": error_details.get("message").cloned().unwrap_or(Value::Null),
        "retry_allowed": retry_allowed,
        "transaction": t.as_ref().map(transaction_view),
        "order": order_view(&order),
        "subscription": subscription.map(|s| json!({
            "id": s.id, "status": s.status, "billing_frequency": s.billing_frequency,
            "next_billing_date": s.next_billing_date.format("%Y-%m-%d").to_string(),
        })),
        "customer": customer.as_ref().map(customer_view),
        "lead": {"id": session.lead_id},
        "amount": money(amount_minor, &session.currency)?,
        "currency": session.currency,
        "payment_method": payment_method(mandate.as_ref(), holder),
        "sepa": {
            "mandate_reference": mandate.as_ref().map(|m| m.reference.clone()),
            "sequence_type": t.as_ref().map(|t| t.sequence_type).or_else(|| mandate.as_ref().map(|m| m.sequence_type)),
            "creditor_identifier": gateway.creditor_identifier,
        },
        "adapter": {"name": gateway.adapter},
        "payment_gateway": gateway_view(&gateway),
        "error_details": error_details,
    }))
}

/// The account holder's name, opened from the mandate.
pub fn holder_name(store: &Store, mandate: Option<&Mandate>) -> Result<Option<String>, ApiError> {
    match mandate {
        Some(m) => Ok(Some(
            String::from_utf8(store.cipher().open(HOLDER_CONTEXT, &m.holder_sealed)?)
                .map_err(|_| ApiError::Internal("holder".into()))?,
        )),
        None => Ok(None),
    }
}

/// `error_details` of a transaction: its decline, or, while it is still pending, that the
/// gateway's answer is being reconciled; `null` for an approved one.
pub fn error_details(t: &Transaction) -> Value {
    match (&t.error_code, t.status) {
        (Some(_), _) => json!({
            "code": t.error_code, "message": t.error_message,
            "gateway_code": t.gateway_code, "gateway_message": t.gateway_message,
        }),
        (None, TransactionStatus::Pending) => json!({
            "code": "gateway_unavailable", "message": "The gateway did not answer; the payment is being reconciled.",
            "gateway_code": null, "gateway_message": null,
        }),
        _ => Value::Null,
    }
}

/// The envelope's `transaction` object.
pub fn transaction_view(t: &Transaction) -> Value {
    json!({
        "id": t.id, "merchant_transaction_id": t.merchant_transaction_id, "gateway_reference": t.gateway_reference,
        "tenant_reference_id": t.tenant_reference_id, "status": t.status, "type": t.kind,
    })
}

/// The envelope's `order` object.
pub fn order_view(order: &Order) -> Value {
    json!({"id": order.id, "order_number": order.order_number, "status": order.status})
}

/// The envelope's `customer` object.
pub fn customer_view(c: &Customer) -> Value {
    json!({"id": c.id, "external_customer_id": c.external_customer_id})
}

/// The envelope's `payment_method` object.
pub fn payment_method(mandate: Option<&Mandate>, holder: Option<String>) -> Value {
    json!({
        "type": "sepa_debit",
        "iban_last4": mandate.map(|m| m.iban_last4.clone()),
        "iban_country": mandate.map(|m| m.iban_country.clone()),
        "bic": mandate.and_then(|m| m.bic.clone()),
        "bank_name": mandate.and_then(|m| m.bank_name.clone()),
        "holder_name": holder,
    })
}

/// The envelope's `payment_gateway` object.
pub fn gateway_view(gateway: &Gateway) -> Value {
    json!({"id": gateway.id, "name": gateway.name, "descriptor": gateway.descriptor, "test_mode": gateway.test_mode})
}

/// The documented key set of the envelope, for tests and docs.
pub const KEYS: &[&str] = &[
    "object",
    "session_token",
    "status",
    "livemode",
    "created_at",
    "processed_at",
    "order_number",
    "verification_url",
    "error",
    "retry_allowed",
    "transaction",
    "order",
    "subscription",
    "customer",
    "lead",
    "amount",
    "currency",
    "payment_method",
    "sepa",
    "adapter",
    "payment_gateway",
    "error_details",
];
