//! `POST /transactions/{id}/refund/` and `GET /transactions/{id}/refunds/` (rk_/sk_).
//!
//! The path of one refund: validate the body → claim it in one transaction (the amount is
//! reserved on the debit by a conditional update, so concurrent refunds never exceed what was
//! collected; the `pending` refund transaction and `refund.created` are written with it) → ask
//! the gateway, after the claim committed, with the refund's own transaction id as its
//! idempotency key → apply the answer in a second transaction ([`refunds::apply_refund`]).
//! A fault is reconciled once; an outcome still unknown leaves the refund `pending` for the
//! recovery worker, which finishes it through the same `apply_refund`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::money::{Currency, Money, check_amount_syntax, parse_amount_json};
use catalyst_domain::transaction::TransactionStatus;
use catalyst_domain::validation::{self, ValidationErrors};
use catalyst_domain::{TenantId, TransactionId};
use catalyst_gateway::{GatewayAdapter, GatewayError, GatewayOutcome, RefundRequest};
use catalyst_store::events::refund_status;
use catalyst_store::refunds::{self, ClaimedRefund, RefundDraft, RefundError};
use catalyst_store::settlement::Settlement;
use catalyst_store::{Gateway, Order, StoreError, Transaction, now};
use serde_json::{Value, json};

use crate::auth::Merchant;
use crate::body::{OptionalJsonBody, object};
use crate::error::ApiError;
use crate::payment::{self, IfNotFound, Record, may_have_reached, try_adapter_for};
use crate::schemas::reconciliation::{self as schema, Refund};
use crate::schemas::{ErrorBody, Page};
use crate::state::AppState;
use crate::views::{money, timestamp};
use crate::{db, idempotency, paging};

/// Longest `reason`.
const MAX_REASON: usize = 255;

/// The fields a refund request may send.
const FIELDS: &[&str] = &["amount", "reason"];

/// The validated body; the amount stays raw until the debit's currency is known.
struct RefundBody {
    amount: Option<Value>,
    reason: Option<String>,
}

fn parse_body(value: &Value) -> Result<RefundBody, ApiError> {
    let obj = object(value)?;
    let mut errors = ValidationErrors::new();
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            errors.add(key.as_str(), "Unknown field.");
        }
    }
    let amount = validation::optional(obj, "amount", &mut errors, |v| {
        check_amount_syntax(v)
            .map(|()| v.clone())
            .map_err(|e| e.to_string())
    });
    let reason = validation::optional(obj, "reason", &mut errors, |v| {
        validation::optional_char_field(v, MAX_REASON)
    })
    .flatten();
    Ok(errors.into_result(RefundBody { amount, reason })?)
}

/// The amount asked for, in the debit's currency: positive, with at most its minor digits.
fn amount_minor(raw: &Value, currency: &str) -> Result<i64, ApiError> {
    let currency = Currency::parse(currency)
        .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))?;
    let amount =
        parse_amount_json(raw, currency).map_err(|e| ApiError::field("amount", e.to_string()))?;
    if amount.is_zero() {
        return Err(ApiError::field(
            "amount",
            catalyst_domain::money::MoneyError::NotPositive.to_string(),
        ));
    }
    Ok(amount.minor())
}

impl From<RefundError> for ApiError {
    fn from(e: RefundError) -> ApiError {
        match e {
            RefundError::NotFound => ApiError::NotFound,
            RefundError::NotAllowed(why) => ApiError::RefundNotAllowed(why),
            RefundError::Amount(why) => ApiError::field("amount", why),
            RefundError::Store(e) => e.into(),
        }
    }
}

/// The refund object (`object: "refund"`).
pub fn render(r: &Transaction, order: &Order) -> Result<Value, ApiError> {
    let error_details = (r.status == TransactionStatus::Declined).then(|| {
        json!({"code": r.error_code, "message": r.error_message,
               "gateway_code": r.gateway_code, "gateway_message": r.gateway_message})
    });
    Ok(json!({
        "object": "refund",
        "id": r.id,
        "transaction_id": r.refund_of,
        "refund_transaction": {
            "id": r.id, "merchant_transaction_id": r.merchant_transaction_id,
            "gateway_reference": r.gateway_reference, "status": r.status, "type": r.kind,
        },
        "amount": money(r.amount_minor, &r.currency)?,
        "currency": r.currency,
        "reason": r.description,
        "status": refund_status(r.status),
        "error_details": error_details,
        "order": {"id": order.id, "order_number": order.order_number, "status": order.status},
        "created_at": timestamp(r.created_at),
        "processed_at": r.processed_at.map(timestamp),
    }))
}

/// A refund that never reached the gateway: declined `gateway_unavailable`.
fn not_refunded(message: &str, gateway_message: Option<String>) -> Settlement {
    Settlement::Declined {
        reference: None,
        code: catalyst_sepa::DeclineCode::GatewayUnavailable
            .as_str()
            .to_owned(),
        message: message.to_owned(),
        gateway_code: None,
        gateway_message,
        counts_as_attempt: false,
    }
}

/// A settlement worded for a refund: a decline says what happened to the refund (the
/// recovery worker and notifications word theirs for debits).
pub fn for_refund(settlement: Settlement) -> Settlement {
    match settlement {
        Settlement::Declined {
            reference,
            code,
            gateway_code,
            gateway_message,
            counts_as_attempt,
            ..
        } => {
            let message = if code == catalyst_sepa::DeclineCode::GatewayUnavailable.as_str() {
                "The payment gateway never received the refund; nothing was refunded."
            } else {
                "The gateway refused the refund."
            };
            Settlement::Declined {
                reference,
                code,
                message: message.to_owned(),
                gateway_code,
                gateway_message,
                counts_as_attempt,
            }
        }
        other => other,
    }
}

/// The store's view of the gateway's answer to a refund.
fn refund_settlement(outcome: GatewayOutcome) -> Settlement {
    for_refund(payment::settlement_of(outcome))
}

/// Turns the adapter's answer into what the store applies. On an integration fault the
/// gateway is asked once (reconcile by the refund's transaction id): found → its outcome; not
/// found → nothing was refunded, unless the refund may have reached the gateway (a timeout):
/// then, as when the reconcile fails too, the refund stays pending for the recovery worker.
async fn settle(
    adapter: &dyn GatewayAdapter,
    t: &Transaction,
    answer: Result<GatewayOutcome, GatewayError>,
) -> Settlement {
    let error = match answer {
        Ok(outcome) => return refund_settlement(outcome),
        Err(error @ GatewayError::TargetRefused) => {
            return not_refunded(
                "The payment gateway could not be reached; nothing was refunded.",
                Some(error.to_string()),
            );
        }
        Err(error) => error,
    };
    tracing::warn!(transaction = %t.merchant_transaction_id, %error, "gateway fault on a refund; reconciling");
    match payment::record(adapter, &payment::lookup(t)).await {
        Record::Found(settlement) => for_refund(settlement),
        // The reconcile-after-fault rule, with a refund's own "nothing was refunded".
        record => {
            let if_not_found = if may_have_reached(&error) {
                IfNotFound::CheckAgain
            } else {
                IfNotFound::Final(not_refunded(
                    "The payment gateway could not be reached; nothing was refunded.",
                    Some(error.to_string()),
                ))
            };
            record.settle(t, if_not_found)
        }
    }
}

/// The refund request for a claimed refund.
fn refund_request(claimed: &ClaimedRefund, remote_ip: String) -> Result<RefundRequest, ApiError> {
    let r = &claimed.refund;
    let currency = Currency::parse(&r.currency)
        .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))?;
    Ok(RefundRequest {
        transaction_id: r.merchant_transaction_id.clone(),
        reference: claimed
            .original
            .gateway_reference
            .clone()
            .ok_or_else(|| ApiError::Internal("refunded debit without a reference".into()))?,
        amount: Money::from_minor(r.amount_minor, currency)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        usage: r
            .description
            .clone()
            .unwrap_or_else(|| format!("Refund {}", claimed.order.order_number)),
        remote_ip,
    })
}

/// `POST /api/v1/transactions/{id}/refund/` — refunds (part of) an approved debit.
#[utoipa::path(post, path = "/api/v1/transactions/{id}/refund/", tag = "refunds",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The debit's transaction id"), ("Idempotency-Key" = Option<String>, Header, description = "At most 255 characters: the same key and body within 24 h replay the first answer")),
    request_body = Option<schema::RefundRequest>,
    responses((status = 201, body = Refund, description = "The refund, `status` `pending`, `succeeded` or `failed`"),
        (status = 400, body = ErrorBody, description = "validation_error (`amount` above what is left, unknown fields) / refund_not_allowed / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's transaction"),
        (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn create(
    state: web::Data<AppState>,
    merchant: Merchant,
    id: web::Path<String>,
    req: HttpRequest,
    body: OptionalJsonBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    let body = body.0;
    let remote_ip = req
        .peer_addr()
        .map_or_else(|| "127.0.0.1".to_owned(), |a| a.ip().to_string());
    idempotency::run(&state, &merchant.tenant_id, &req, &body.raw, || async {
        let parsed = parse_body(&body.value)?;
        let refund = refund(&state, &merchant.tenant_id, &id, parsed, remote_ip).await?;
        Ok((StatusCode::CREATED, refund))
    })
    .await
}

/// Claims, asks the gateway, applies its answer; the refund object.
async fn refund(
    state: &AppState,
    tenant: &TenantId,
    original_id: &str,
    body: RefundBody,
    remote_ip: String,
) -> Result<Value, ApiError> {
    let (tenant_id, id) = (tenant.to_owned(), TransactionId::from(original_id));
    let (claimed, gateway) = db::read(&state.store, move |c| -> Result<_, ApiError> {
        let original = Transaction::find(c, &tenant_id, &id)?;
        let draft = RefundDraft {
            amount_minor: body
                .amount
                .as_ref()
                .map(|raw| amount_minor(raw, &original.currency))
                .transpose()?,
            reason: body.reason,
        };
        let claimed = refunds::claim_refund(c, &tenant_id, &id, &draft, now())?;
        let gateway = Gateway::find(c, &tenant_id, &claimed.original.gateway_id)?;
        Ok((claimed, gateway))
    })
    .await?;
    state.events_written();

    let settlement = match try_adapter_for(state, &gateway)? {
        Ok(adapter) => {
            let request = refund_request(&claimed, remote_ip)?;
            let answer = adapter.refund(&request).await;
            settle(adapter.as_ref(), &claimed.refund, answer).await
        }
        Err(error) => not_refunded(
            "The payment gateway is unavailable; nothing was refunded.",
            Some(error.to_string()),
        ),
    };

    let (tenant_id, refund_id) = (tenant.to_owned(), claimed.refund.id.clone());
    let value = db::read(&state.store, move |c| -> Result<Value, ApiError> {
        match refunds::apply_refund(c, &refund_id, &settlement, now()) {
            // Settled meanwhile (the recovery worker): what is stored is the answer.
            Ok(()) | Err(StoreError::StateConflict) => {}
            Err(e) => return Err(e.into()),
        }
        let (refund, order) = refunds::load_refund(c, &tenant_id, &refund_id)?;
        render(&refund, &order)
    })
    .await?;
    state.events_written();
    Ok(value)
}

/// `GET /api/v1/transactions/{id}/refunds/` — the refunds of a transaction, newest first.
#[utoipa::path(get, path = "/api/v1/transactions/{id}/refunds/", tag = "refunds",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The debit's transaction id"),
        ("page_size" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Default 100"), ("cursor" = Option<String>, Query, description = "From a `next`/`previous` link")),
    responses((status = 200, body = Page<Refund>, description = "The transaction's refunds, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: `page_size`, `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's transaction"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn list(
    state: web::Data<AppState>,
    merchant: Merchant,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page_request(&req)?;
    let (rows, order) = db::read(&state.store, move |c| {
        refunds::refunds_of(c, &merchant.tenant_id, &id.as_str().into(), &page)
    })
    .await?;
    let items = rows
        .items
        .iter()
        .map(|r| render(r, &order))
        .collect::<Result<Vec<_>, _>>()?;
    let page = catalyst_store::Page {
        items,
        next: rows.next,
        previous: rows.previous,
    };
    Ok(HttpResponse::Ok().json(paging::list_body(&req, &state.config.public_url, page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_checked_before_the_debit_is_read() {
        assert!(parse_body(&json!({})).is_ok());
        assert!(parse_body(&json!({"amount": null, "reason": null})).is_ok());
        let errors = |v: Value| match parse_body(&v) {
            Err(ApiError::Validation(e)) => serde_json::to_value(e).unwrap(),
            other => panic!("{:?}", other.map(|_| ())),
        };
        let e = errors(json!({"amount": "-1", "reason": "x".repeat(256), "extra": 1}));
        assert!(
            e["amount"].is_array() && e["reason"].is_array() && e["extra"].is_array(),
            "{e}"
        );
        assert!(matches!(
            parse_body(&json!([])),
            Err(ApiError::Validation(_))
        ));
    }

    #[test]
    fn amounts_follow_the_currency() {
        assert_eq!(amount_minor(&json!("10.5"), "EUR").unwrap(), 1050);
        assert_eq!(amount_minor(&json!(3), "EUR").unwrap(), 300);
        for bad in [json!("0.00"), json!("1.234"), json!("abc")] {
            assert!(
                matches!(amount_minor(&bad, "EUR"), Err(ApiError::Validation(_))),
                "{bad}"
            );
        }
    }
}
