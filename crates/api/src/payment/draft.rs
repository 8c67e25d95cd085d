//! What paying a session writes and sends: the draft of the claim's rows and the debit request.

use catalyst_domain::money::Money;
use catalyst_domain::secret::Secret;
use catalyst_domain::session::SessionMode;
use catalyst_domain::transaction::{SequenceType, TransactionKind};
use catalyst_gateway::{DebitKind, DebitRequest};
use catalyst_store::payments::{HOLDER_CONTEXT, IBAN_CONTEXT};
use catalyst_store::session_pay::PaymentDraft;
use catalyst_store::{
    Cipher, Customer, Lead, Mandate, NewTransaction, Order, PaymentSession, StoreError, Transaction,
};
use chrono::NaiveDateTime;
use serde_json::Value;

use super::input::PayInput;

/// Builds the rows the claim writes: the mandate (its text `mandate_text`, in the payer's
/// language), the pending transaction (unless nothing is debited) and the customer (customer
/// modes), stamped `at` (the claim's own time).
pub fn draft(
    cipher: &Cipher,
    input: &PayInput,
    mandate_text: impl FnOnce(catalyst_domain::session::Locale) -> String,
    (session, order, lead): (&PaymentSession, &Order, &Lead),
    at: NaiveDateTime,
) -> Result<PaymentDraft, StoreError> {
    let mode = session.mode;
    let locale = input
        .locale
        .or_else(|| session.default_locale.parse().ok())
        .unwrap_or_default();
    let initial_minor = session.pricing()?.initial_amount().minor();
    let debits = mode.debits() && initial_minor > 0;
    let customer = (mode.saves_customer() && session.customer_id.is_none()).then(|| Customer {
        id: catalyst_domain::CustomerId::new(),
        tenant_id: session.tenant_id.clone(),
        lead_id: lead.id.clone(),
        external_customer_id: session.external_customer_id.clone(),
        created_at: at,
        updated_at: at,
        session_id: Some(session.id.clone()),
        gateway_id: Some(session.gateway_id.clone()),
        mandate_id: None,
        status: catalyst_domain::CustomerStatus::Active,
        deleted_at: None,
    });
    let customer_id = customer.as_ref().map(|c| c.id.clone()).or_else(|| {
        session
            .customer_id
            .clone()
            .filter(|_| mode.saves_customer())
    });
    let mandate_id = catalyst_domain::MandateId::new();
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
        iban_sealed: cipher.seal(IBAN_CONTEXT, input.iban.as_str().as_bytes())?,
        iban_last4: input.iban.last4().to_owned(),
        iban_country: input.iban.country().as_str().to_owned(),
        bic: input.iban.bic().map(str::to_owned),
        bank_name: input.iban.bank_name().map(str::to_owned),
        holder_sealed: cipher.seal(HOLDER_CONTEXT, input.holder.as_bytes())?,
        sequence_type: SequenceType::First,
        signed_at: at,
        created_at: at,
        updated_at: at,
        iban_masked: input.iban.mask_full(),
        gateway_reference: None,
        revoked_at: None,
        mandate_text: Some(mandate_text(locale)),
        mandate_locale: Some(locale.as_str().to_owned()),
    };
    let transaction = debits.then(|| Transaction {
        session_id: Some(session.id.clone()),
        tenant_reference_id: input.tenant_reference_id.clone(),
        ..Transaction::pending(
            NewTransaction {
                tenant_id: session.tenant_id.clone(),
                order_id: order.id.clone(),
                gateway_id: session.gateway_id.clone(),
                mandate_id: mandate.id.clone(),
                kind: TransactionKind::Sale,
                sequence_type: SequenceType::First,
                amount_minor: initial_minor,
                currency: session.currency.clone(),
            },
            at,
        )
    });
    Ok(PaymentDraft {
        mandate,
        transaction,
        customer,
    })
}

/// The debit request for the claimed payment `t` (its session, payer and mandate); the
/// gateway notifies `public_url`.
pub fn debit_request(
    public_url: &str,
    (session, lead, mandate): (&PaymentSession, &Lead, &Mandate),
    t: &Transaction,
    input: &PayInput,
) -> Result<DebitRequest, StoreError> {
    let pricing = session.pricing()?;
    let kind =
        if pricing.billing_type().is_recurring() || session.mode == SessionMode::CustomerPayment {
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
        amount: Money::from_minor(t.amount_minor, pricing.amount().currency())
            .map_err(|e| StoreError::Corrupt(format!("transaction {} amount: {e}", t.id)))?,
        iban: Some(Secret::new(input.iban.as_str().to_owned())),
        bic: mandate.bic.clone(),
        account_holder: Secret::new(input.holder.clone()),
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
            "{public_url}/api/v1/gateways/{}/notifications/",
            session.gateway_id
        )),
        return_url: Some(format!("{public_url}/s/{}", session.token)),
    })
}
