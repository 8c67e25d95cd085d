//! After the debit: gateway notifications (`POST /gateways/{id}/notifications/`) and the
//! sandbox's settlement step (`POST /sandbox/settle/`, `catalyst sandbox settle`).
//!
//! A notification is only a hint: its signature is checked by the adapter, then the gateway is
//! asked (reconcile by `unique_id`) and its authoritative status applied — approved settles a
//! pending debit, `chargebacked` records a chargeback, declined after approval a return. The
//! gateway gets its echo every time, so a repeated notification changes nothing the second time.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::transaction::TransactionStatus;
use catalyst_gateway::{GatewayAdapter, GatewayError, Notification, ReconcileRequest};
use catalyst_store::chargebacks::Chargeback;
use catalyst_store::payments::IBAN_CONTEXT;
use catalyst_store::reversals::{Reason, ReversalKind};
use catalyst_store::settlement::Settlement;
use catalyst_store::{Gateway, StoreError, Transaction, now};
use serde_json::json;

use crate::auth::Operator;
use crate::body::RawBody;
use crate::db;
use crate::error::ApiError;
use crate::payment::{self, Record, adapter_for};
use crate::schemas::ErrorBody;
use crate::schemas::settlement::SettleResult;
use crate::state::AppState;
use crate::views;

/// `POST /api/v1/gateways/{gateway_id}/notifications/` — no auth; the adapter verifies the
/// gateway's own signature and the answer is the gateway's echo.
#[utoipa::path(post, path = "/api/v1/gateways/{gateway_id}/notifications/", tag = "gateways",
    params(("gateway_id" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The gateway's notification as it sends it (Genesis: form-encoded, signed)"),
    responses((status = 200, description = "The gateway's echo (Genesis: `notification_echo` XML; other adapters: `OK`)",
            content((String = "text/xml"), (String = "text/plain"))),
        (status = 400, body = ErrorBody, description = "validation_error: bad `signature`, or an unreadable notification (`non_field_errors`)"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the gateway could not be asked, or its stored settings are refused; the gateway retries")))]
pub async fn notification(
    state: web::Data<AppState>,
    gateway_id: web::Path<String>,
    req: HttpRequest,
    RawBody(body): RawBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    let id = gateway_id.into_inner();
    let gateway = db::read(&state.store, move |c| Gateway::by_id(c, &id.into())).await?;
    let adapter = adapter_for(&state, &gateway)?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let n = adapter
        .parse_notification(content_type, &body)
        .map_err(|e| match e {
            GatewayError::InvalidSignature => {
                ApiError::field("signature", "The notification signature does not match.")
            }
            other => ApiError::field(
                "non_field_errors",
                format!("Unreadable notification: {other}"),
            ),
        })?;
    apply_notification(&state, &gateway, adapter.as_ref(), &n).await?;
    state.events_written();
    let echo = adapter.notification_echo(&n);
    Ok(HttpResponse::build(
        actix_web::http::StatusCode::from_u16(echo.status)
            .unwrap_or(actix_web::http::StatusCode::OK),
    )
    .content_type(echo.content_type)
    .body(echo.body))
}

async fn apply_notification(
    state: &AppState,
    gateway: &Gateway,
    adapter: &dyn GatewayAdapter,
    n: &Notification,
) -> Result<(), ApiError> {
    let (gid, reference, txn) = (
        gateway.id.clone(),
        n.reference.clone(),
        n.transaction_id.clone(),
    );
    let found = db::read(&state.store, move |c| {
        Transaction::find_for_gateway(c, &gid, &reference, txn.as_deref())
    })
    .await?;
    let Some(t) = found else {
        tracing::warn!(gateway = %gateway.id, "notification for an unknown transaction; echoed");
        return Ok(());
    };
    // The gateway's record, found by the notified reference.
    let request = ReconcileRequest {
        transaction_id: t.merchant_transaction_id.clone(),
        reference: Some(n.reference.clone()),
    };
    let settlement = match payment::record(adapter, &request).await {
        Record::Found(settlement) => settlement,
        Record::NotFound => return Ok(()),
        Record::Unanswered(e) => {
            return Err(ApiError::ServiceUnavailable(format!("reconcile: {e}")));
        }
    };
    let chargeback_like = n.status == "chargebacked" || n.event.as_deref() == Some("chargeback");
    match (t.status, settlement) {
        (
            TransactionStatus::Pending,
            Settlement::Verification { .. } | Settlement::Pending { .. },
        ) => {}
        (TransactionStatus::Pending, settlement) => {
            db::read(&state.store, move |c| {
                catalyst_store::outcome::apply_outcome(c, &t.id, &settlement, now())
            })
            .await?;
        }
        (
            TransactionStatus::Approved,
            Settlement::Declined {
                code,
                gateway_code,
                gateway_message,
                ..
            },
        ) => {
            let kind = if chargeback_like {
                ReversalKind::Chargeback
            } else {
                ReversalKind::Return
            };
            let reason_code = gateway_code.or_else(|| n.reason_code.clone());
            let description = gateway_message.or_else(|| n.reason_description.clone());
            db::read(&state.store, move |c| {
                let reason = Reason {
                    code: reason_code.as_deref(),
                    description: description.as_deref(),
                    error_code: &code,
                };
                catalyst_store::reversals::record_chargeback(c, &t.id, kind, &reason, now())
            })
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Applies the sandbox's "later" outcomes (API.md §8) to approved SANDBOX debits: `MD06`
/// chargebacks and `AM04` returns. Each debit is reversed at most once.
pub fn settle_sandbox(
    store: &catalyst_store::Store,
    tenant: Option<&str>,
) -> Result<Vec<Chargeback>, StoreError> {
    let approved = store.read(|c| Transaction::approved_on_sandbox(c, tenant))?;
    let mut reversed = Vec::new();
    for (t, mandate) in approved {
        let iban = String::from_utf8(store.cipher().open(IBAN_CONTEXT, &mandate.iban_sealed)?)
            .map_err(|_| StoreError::Crypto)?;
        let Some(later) = catalyst_gateway::sandbox::later_outcome(&iban) else {
            continue;
        };
        let kind = match later.kind {
            catalyst_gateway::sandbox::LaterKind::Chargeback => ReversalKind::Chargeback,
            catalyst_gateway::sandbox::LaterKind::Return => ReversalKind::Return,
        };
        let reason = Reason {
            code: Some(later.reason),
            description: Some(later.reason_code().meaning()),
            error_code: later.decline_code().as_str(),
        };
        if let Some(cb) = store.read(|c| {
            catalyst_store::reversals::record_chargeback(c, &t.id, kind, &reason, now())
        })? {
            reversed.push(cb);
        }
    }
    Ok(reversed)
}

/// The JSON form of a chargeback in settle answers.
pub fn chargeback_json(c: &Chargeback) -> Result<serde_json::Value, ApiError> {
    Ok(json!({
        "id": c.id, "transaction_id": c.transaction_id, "kind": c.kind, "reason_code": c.reason_code,
        "error_code": c.error_code, "amount": views::money(c.amount_minor, &c.currency)?, "currency": c.currency,
        "report_date": c.report_date.format("%Y-%m-%d").to_string(),
    }))
}

/// `POST /api/v1/sandbox/settle/` (sk_) — only where `livemode` is false.
#[utoipa::path(post, path = "/api/v1/sandbox/settle/", tag = "sandbox", security(("bearer" = [])),
    responses((status = 200, body = SettleResult, description = "The sandbox's later outcomes applied now (API.md §8)"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: livemode deployments have no sandbox")))]
pub async fn settle(
    state: web::Data<AppState>,
    Operator(m): Operator,
) -> Result<HttpResponse, ApiError> {
    if state.config.livemode {
        return Err(ApiError::NotFound);
    }
    let store = state.store.clone();
    // Every due transaction of the tenant at once: bulk work, kept on the blocking pool.
    let reversed = web::block(move || settle_sandbox(&store, Some(&m.tenant_id))).await??;
    state.events_written();
    let items = reversed
        .iter()
        .map(chargeback_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({"settled": items.len(), "chargebacks": items})))
}
