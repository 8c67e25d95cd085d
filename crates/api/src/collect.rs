//! Collections under a saved mandate, outside any payment session: subscription renewals and
//! customer charges. The caller writes the pending transaction first
//! ([`catalyst_store::collection`]); this module builds the debit from the stored mandate and
//! asks the gateway, and the caller applies the answer with
//! [`catalyst_store::payments::apply_outcome`].
//!
//! Later collections are `RCUR` debits referring to the mandate's first collection
//! (`sdd_recurring_sale` with its gateway reference); a mandate saved without a debit
//! (customer mode) is collected first as `FRST` (`sdd_init_recurring_sale` with the IBAN).

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_gateway::{DebitKind, DebitRequest, GatewayError};
use catalyst_store::payments::{HOLDER_CONTEXT, IBAN_CONTEXT, Mandate, Transaction};
use catalyst_store::settlement::Settlement;
use catalyst_store::{Gateway, Lead, StoreError};

use crate::db;
use crate::error::ApiError;
use crate::payment::{self, never_debited, try_adapter_for};
use crate::state::AppState;
use crate::telemetry;

/// One collection to submit: the pending transaction and the rows it is collected under.
pub struct Collection<'a> {
    pub gateway: &'a Gateway,
    pub mandate: &'a Mandate,
    /// The payer: names and address for a first collection.
    pub lead: &'a Lead,
    pub transaction: &'a Transaction,
    /// Statement text (Genesis `usage`).
    pub usage: &'a str,
}

/// The address sent as the payer's IP on a debit no payer is present for: the collection is
/// initiated by the merchant's server, not by a browser.
const MERCHANT_INITIATED_IP: &str = "127.0.0.1";

/// The debit request of a collection. The IBAN is always included (opened from the mandate):
/// a first collection needs it, and an `RCUR` adapter ignores it (Genesis reuses the mandate of
/// the referenced transaction).
pub fn debit_request(state: &AppState, c: &Collection<'_>) -> Result<DebitRequest, ApiError> {
    let cipher = state.store.cipher();
    let open = |context: &str, sealed: &str| -> Result<Secret<String>, ApiError> {
        let bytes = cipher.open(context, sealed)?;
        Ok(Secret::new(
            String::from_utf8(bytes).map_err(|_| StoreError::Crypto)?,
        ))
    };
    let t = c.transaction;
    let kind = match (
        &c.mandate.gateway_reference,
        c.mandate.sequence_type.as_str(),
    ) {
        (Some(reference), "RCUR") => DebitKind::Recurring {
            reference_id: reference.clone(),
        },
        _ => DebitKind::FirstRecurring,
    };
    let currency = Currency::parse(&t.currency)
        .map_err(|_| StoreError::Corrupt(format!("transaction {} currency", t.id)))?;
    let amount = Money::from_minor(t.amount_minor, currency)
        .map_err(|_| StoreError::Corrupt(format!("transaction {} amount", t.id)))?;
    Ok(DebitRequest {
        transaction_id: t.merchant_transaction_id.clone(),
        kind,
        amount,
        iban: Some(open(IBAN_CONTEXT, &c.mandate.iban_sealed)?),
        bic: c.mandate.bic.clone(),
        account_holder: open(HOLDER_CONTEXT, &c.mandate.holder_sealed)?,
        first_name: c.lead.first_name.clone(),
        last_name: c.lead.last_name.clone(),
        address: c.lead.address.clone(),
        zip_code: c.lead.postal_code.clone(),
        city: c.lead.city.clone(),
        country: c.lead.country.clone(),
        email: Some(c.lead.email.clone()),
        remote_ip: MERCHANT_INITIATED_IP.to_owned(),
        usage: c.usage.to_owned(),
        mandate_reference: c.mandate.reference.clone(),
        notification_url: Some(format!(
            "{}/api/v1/gateways/{}/notifications/",
            state.config.public_url, c.gateway.id
        )),
        return_url: None,
    })
}

/// Submits the collection and returns what the store should apply. Never fails on the
/// gateway's account: a gateway that cannot be built or reached is a decline that does not
/// count (nothing was debited), an answer that was lost stays pending for the recovery worker.
/// Fails only when the mandate cannot be opened (a wrong data key) or the database fails.
pub async fn submit(state: &AppState, c: &Collection<'_>) -> Result<Settlement, ApiError> {
    let request = debit_request(state, c)?;
    let adapter = match try_adapter_for(state, c.gateway)? {
        Ok(adapter) => adapter,
        Err(_) => {
            return Ok(never_debited(
                "The payment gateway is unavailable; nothing was debited.",
                None,
                None,
            ));
        }
    };
    let settlement = if adapter.in_process().is_some() {
        // The in-process gateway's records in one write transaction of their own.
        let (adapter, t) = (adapter.clone(), c.transaction.clone());
        db::write(&state.store, move |conn| match adapter.in_process() {
            Some(gateway) => payment::debit_now(conn, gateway, &t, &request),
            None => Err(StoreError::Corrupt(
                "the gateway stopped answering in-process".into(),
            )),
        })
        .await?
    } else {
        match adapter.debit(&request).await {
            Err(error @ GatewayError::TargetRefused) => never_debited(
                "The payment gateway could not be reached; nothing was debited.",
                None,
                Some(error.to_string()),
            ),
            answer => payment::settle(adapter.as_ref(), c.transaction, answer).await,
        }
    };
    telemetry::payment(adapter.name(), &settlement);
    Ok(settlement)
}
