//! `POST /customers/{id}/charges/`: a charge on a saved customer's mandate (API.md §3.9).
//!
//! One transaction writes the order and its pending collection
//! ([`catalyst_store::charges::create`]); the debit is then built from the stored mandate and
//! sent ([`crate::collect::submit`]): `FRST` with the IBAN on a mandate never collected from
//! (customer mode), `RCUR` on the first collection's reference afterwards. The answer is applied
//! in a second transaction ([`catalyst_store::outcome::apply_outcome`]); a lost answer leaves the charge
//! `pending` for the recovery worker. The response is the result envelope of §3.5 with
//! `object: "charge.result"`, built from what was stored.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::money::{Currency, MoneyError, parse_amount_json};
use catalyst_domain::session::Metadata;
use catalyst_domain::transaction::TransactionStatus;
use catalyst_domain::validation::{self, messages};
use catalyst_store::charges::{self, Charge, NewCharge};
use catalyst_store::{Store, StoreError, now};
use serde_json::{Value, json};

use crate::auth::Merchant;
use crate::body::JsonBody;
use crate::collect::{self, Collection};
use crate::envelope;
use crate::error::ApiError;
use crate::management::fields::{Fields, text};
use crate::schemas::ErrorBody;
use crate::schemas::customers::{ChargeRequest, ChargeResult};
use crate::state::AppState;
use crate::views::{money, timestamp};
use crate::{db, idempotency};

const FIELDS: &[&str] = &[
    "amount",
    "currency",
    "description",
    "tenant_reference_id",
    "metadata",
];

/// A charge's currency: an ISO 4217 code.
pub(crate) fn currency(v: &Value) -> Result<Currency, String> {
    match v {
        Value::String(s) => Currency::parse(s).map_err(|e| e.to_string()),
        other => Err(messages::invalid_choice(&other.to_string())),
    }
}

/// A positive amount with at most the currency's minor digits (a decimal string, or a JSON
/// number), in minor units.
pub(crate) fn amount(v: &Value, currency: Currency) -> Result<i64, String> {
    let m = parse_amount_json(v, currency).map_err(|e| e.to_string())?;
    if m.is_zero() {
        return Err(MoneyError::NotPositive.to_string());
    }
    Ok(m.minor())
}

/// Reads the charge body; unknown fields are errors.
fn parse(body: &Value) -> Result<NewCharge, ApiError> {
    let mut f = Fields::new(body, FIELDS, true)?;
    let currency = f.required("currency", currency);
    let amount = match (currency, f.raw("amount")) {
        (Some(c), Some(_)) => f.required("amount", |v| amount(v, c)),
        // Judged once the currency is known; still required.
        (None, Some(_)) => None,
        (_, None) => f.required("amount", |_| Ok(0)),
    };
    let description = f.required("description", text(255));
    let tenant_reference_id = f
        .nullable("tenant_reference_id", |v| validation::char_field(v, 255))
        .flatten();
    let metadata = match f.raw("metadata") {
        Some(v) => match Metadata::from_json(v) {
            Ok(m) => Some(m.to_json()),
            Err(errors) => {
                for (field, messages) in errors.iter() {
                    for message in messages {
                        f.error(field, message.clone());
                    }
                }
                None
            }
        },
        None => None,
    };
    f.finish()?;
    let (Some(currency), Some(amount_minor), Some(description)) = (currency, amount, description)
    else {
        return Err(ApiError::Internal("charge body read without errors".into()));
    };
    Ok(NewCharge {
        amount_minor,
        currency: currency.code().to_owned(),
        description,
        tenant_reference_id,
        metadata,
    })
}

/// `POST /customers/{id}/charges/` — `Idempotency-Key` accepted.
#[utoipa::path(post, path = "/api/v1/customers/{id}/charges/", tag = "customers",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "At most 255 characters: the same key and body within 24 h replay the first answer")),
    request_body = ChargeRequest, security(("bearer" = [])),
    responses((status = 201, body = ChargeResult, description = "The charge's result envelope (`object: charge.result`), whatever the outcome"),
        (status = 400, body = ErrorBody, description = "validation_error (unknown fields too) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's customer"),
        (status = 409, body = ErrorBody, description = "customer_not_chargeable / tenant_reference_id_conflict / idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn create(
    state: web::Data<AppState>,
    m: Merchant,
    req: HttpRequest,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    let id = id.into_inner();
    let tenant = m.tenant_id.clone();
    idempotency::run(&state, &tenant, &req, &body.raw, || async {
        let new = parse(&body.value)?;
        let envelope = charge(&state, &tenant, &id, new).await?;
        Ok((StatusCode::CREATED, envelope))
    })
    .await
}

/// One charge: written, submitted, its answer applied, and its envelope.
async fn charge(
    state: &AppState,
    tenant: &TenantId,
    id: &str,
    new: NewCharge,
) -> Result<Value, ApiError> {
    let (t, i) = (tenant.to_owned(), catalyst_domain::CustomerId::from(id));
    let written = db::read(&state.store, move |conn| {
        charges::create(conn, &t, &i, new, now(), crate::sessions::new_order_number)
            .map_err(ApiError::from)
    })
    .await?;
    state.events_written();
    let settlement = collect::submit(
        state,
        &Collection {
            gateway: &written.gateway,
            mandate: &written.mandate,
            lead: &written.payer,
            transaction: &written.transaction,
            usage: written
                .transaction
                .description
                .as_deref()
                .unwrap_or(&written.order.order_number),
        },
    )
    .await?;
    let (store, livemode, t) = (
        state.store.clone(),
        state.config.livemode,
        tenant.to_owned(),
    );
    let transaction_id = written.transaction.id;
    let envelope = db::read(&state.store, move |conn| {
        match catalyst_store::outcome::apply_outcome(conn, &transaction_id, &settlement, now()) {
            // Settled meanwhile (a gateway notification, the recovery worker).
            Ok(()) | Err(StoreError::StateConflict) => {}
            Err(e) => return Err(ApiError::from(e)),
        }
        let charge = charges::load(conn, &t, &transaction_id)?;
        render(&store, &charge, livemode)
    })
    .await?;
    state.events_written();
    Ok(envelope)
}

/// The charge's result envelope: the keys of §3.5 with `object: "charge.result"` and
/// `session_token: null`, plus `description` and `metadata`.
pub fn render(store: &Store, c: &Charge, livemode: bool) -> Result<Value, ApiError> {
    let t = &c.transaction;
    let status = match t.status {
        TransactionStatus::Pending => "pending",
        TransactionStatus::Declined => "failed",
        _ => "completed",
    };
    let error_details = envelope::error_details(t);
    let holder = envelope::holder_name(store, Some(&c.mandate))?;
    Ok(json!({
        "object": "charge.result",
        "session_token": null,
        "status": status,
        "livemode": livemode,
        "created_at": timestamp(t.created_at),
        "processed_at": t.processed_at.map(timestamp),
        "order_number": c.order.order_number,
        "verification_url": null,
        "error": error_details.get("message").cloned().unwrap_or(Value::Null),
        "retry_allowed": null,
        "transaction": envelope::transaction_view(t),
        "order": envelope::order_view(&c.order),
        "subscription": null,
        "customer": envelope::customer_view(&c.customer),
        "lead": {"id": c.customer.lead_id},
        "amount": money(t.amount_minor, &t.currency)?,
        "currency": t.currency,
        "payment_method": envelope::payment_method(Some(&c.mandate), holder),
        "sepa": {
            "mandate_reference": c.mandate.reference,
            "sequence_type": t.sequence_type,
            "creditor_identifier": c.gateway.creditor_identifier,
        },
        "adapter": {"name": c.gateway.adapter},
        "payment_gateway": envelope::gateway_view(&c.gateway),
        "error_details": error_details,
        "description": t.description,
        "metadata": c.metadata.clone().unwrap_or_else(|| json!({})),
    }))
}
