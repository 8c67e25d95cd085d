//! `/subscriptions/` (sk_, API.md §9.1): a tenant's subscriptions, and the merchant's changes —
//! cancel (now or at period end), pause, resume, a new amount or billing date. The rules and
//! the billing run's side of them are in [`catalyst_store::subscriptions`].

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::dunning::DunningLadder;
use catalyst_domain::money::{Currency, MoneyError, parse_amount_json};
use catalyst_domain::validation::messages;
use catalyst_domain::{CustomerId, SubscriptionId, SubscriptionStatus, TenantId};
use catalyst_store::subscriptions::{self, SubscriptionDetail, SubscriptionQuery, Update};
use catalyst_store::{DbConnection, Transaction, now};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::fields::{Fields, boolean};
use super::read;
use crate::auth::Operator;
use crate::body::{JsonBody, OptionalJsonBody};
use crate::error::ApiError;
use crate::listing::{self, Render};
use crate::schemas::customers::{
    Subscription, SubscriptionCancelRequest, SubscriptionUpdateRequest,
};
use crate::schemas::{ErrorBody, Page};
use crate::state::AppState;
use crate::views::{money, timestamp};

/// A subscription as the API shows it; `collections` is loaded for a single subscription and
/// left out of list items.
struct SubscriptionView {
    detail: SubscriptionDetail,
    collections: Option<Vec<Transaction>>,
}

impl SubscriptionView {
    /// The tenant's subscription `id` with its collections.
    fn find(
        conn: &mut DbConnection,
        tenant: &TenantId,
        id: &SubscriptionId,
    ) -> Result<Self, ApiError> {
        let detail = subscriptions::find(conn, tenant, id)?;
        let collections = subscriptions::collections(conn, &detail.subscription)?;
        Ok(SubscriptionView {
            detail,
            collections: Some(collections),
        })
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn collection(t: &Transaction) -> Result<Value, ApiError> {
    Ok(json!({
        "transaction_id": t.id, "merchant_transaction_id": t.merchant_transaction_id,
        "type": t.kind, "status": t.status, "amount": money(t.amount_minor, &t.currency)?,
        "currency": t.currency, "billing_period": t.billing_period.map(day),
        "billing_attempt": t.billing_attempt, "processed_at": t.processed_at.map(timestamp),
        "error_code": t.error_code,
    }))
}

impl Render for SubscriptionView {
    fn render(&self) -> Result<Value, ApiError> {
        let d = &self.detail;
        let s = &d.subscription;
        let m = &d.mandate;
        let ladder: DunningLadder = s
            .dunning_ladder
            .parse()
            .map_err(|_| ApiError::Internal(format!("subscription {} dunning_ladder", s.id)))?;
        let mut body = json!({
            "object": "subscription", "id": s.id, "status": s.status,
            "plan": {"name": s.plan_name, "amount": money(s.amount_minor, &s.currency)?,
                     "currency": s.currency, "billing_frequency": s.billing_frequency},
            "customer_id": s.customer_id, "campaign_id": s.campaign_id,
            "session_token": d.session_token,
            "order": {"id": s.order_id, "order_number": d.order_number},
            "mandate": {"reference": m.reference, "iban_last4": m.iban_last4,
                        "iban_country": m.iban_country, "bic": m.bic, "bank_name": m.bank_name,
                        "sequence_type": m.sequence_type, "text": m.mandate_text,
                        "locale": m.mandate_locale},
            "next_billing_date": day(s.next_billing_date), "anchor_date": day(s.anchor_date),
            "collect_on": s.collect_on.map(day),
            "dunning": {"attempts": s.dunning_attempts, "ladder": ladder.waits()},
            "notice_days": s.notice_days, "cancel_at_period_end": s.cancel_at_period_end,
            "paused_at": s.paused_at.map(timestamp), "ended_at": s.ended_at.map(timestamp),
            "created_at": timestamp(s.created_at), "updated_at": timestamp(s.updated_at),
        });
        if let Some(collections) = &self.collections {
            body["collections"] = collections
                .iter()
                .map(collection)
                .collect::<Result<Vec<_>, _>>()?
                .into();
        }
        Ok(body)
    }
}

/// The list filters: `status` (comma-separated, repeatable, case-insensitive) and
/// `customer_id`.
fn query(req: &HttpRequest) -> Result<SubscriptionQuery, ApiError> {
    let mut q = SubscriptionQuery::default();
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "status" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let status: SubscriptionStatus = part
                        .to_ascii_uppercase()
                        .parse()
                        .map_err(|_| ApiError::field("status", messages::invalid_choice(part)))?;
                    q.statuses.push(status.as_str().to_owned());
                }
            }
            "customer_id" => {
                let id = uuid::Uuid::parse_str(&value)
                    .map_err(|_| ApiError::field("customer_id", "Must be a valid UUID."))?;
                q.customer_id = Some(CustomerId::from_uuid(id));
            }
            _ => {}
        }
    }
    Ok(q)
}

/// `GET /subscriptions/` — newest first; items leave out `collections`.
#[utoipa::path(get, path = "/api/v1/subscriptions/", tag = "subscriptions", security(("bearer" = [])),
    params(("status" = Option<String>, Query, description = "Comma-separated statuses, case-insensitive"),
        ("customer_id" = Option<Uuid>, Query), ("page_size" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Default 100"), ("cursor" = Option<String>, Query, description = "From a `next`/`previous` link")),
    responses((status = 200, body = Page<Subscription>, description = "The tenant's subscriptions, newest first, without `collections`"),
        (status = 400, body = ErrorBody, description = "validation_error: `status`, `customer_id`, `page_size`, `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let filter = query(&req)?;
    listing::list_with(&state, &req, move |c, page| {
        let rows = subscriptions::page(c, &m.tenant_id, &filter, page)?;
        Ok(rows.map(|detail| SubscriptionView {
            detail,
            collections: None,
        }))
    })
    .await
}

/// `GET /subscriptions/{id}/` — with every collection.
#[utoipa::path(get, path = "/api/v1/subscriptions/{id}/", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Subscription, description = "The subscription with its `collections`"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's subscription"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve_with(&state, move |c| {
        SubscriptionView::find(c, &m.tenant_id, &id.as_str().into())
    })
    .await
}

/// Runs `change` (one transaction in the store) and answers with the subscription as stored.
async fn changed<F>(
    state: &AppState,
    tenant: TenantId,
    id: SubscriptionId,
    change: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&mut DbConnection, &TenantId, &SubscriptionId) -> Result<(), ApiError>
        + Send
        + 'static,
{
    let view = read(state, move |c| {
        change(c, &tenant, &id)?;
        SubscriptionView::find(c, &tenant, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view.render()?))
}

/// `POST /subscriptions/{id}/cancel/` — body `{"at_period_end": bool}` (default `false`, body
/// optional): at once, or when the next collection is due.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/cancel/", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Option<SubscriptionCancelRequest>,
    responses((status = 200, body = Subscription, description = "The subscription as changed"),
        (status = 400, body = ErrorBody, description = "validation_error (`at_period_end`, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's subscription"),
        (status = 409, body = ErrorBody, description = "subscription_not_modifiable: the status does not allow it"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn cancel(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    body: OptionalJsonBody,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(&body.0.value, &["at_period_end"], false)?;
    let at_period_end = f.set("at_period_end", boolean).unwrap_or(false);
    f.finish()?;
    changed(
        &state,
        m.tenant_id,
        id.into_inner().into(),
        move |c, tenant, id| {
            subscriptions::cancel(c, tenant, id, at_period_end, now())?;
            Ok(())
        },
    )
    .await
}

/// `POST /subscriptions/{id}/pause/` — `ACTIVE`/`PAST_DUE` → `PAUSED`.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/pause/", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Subscription, description = "The subscription as changed"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's subscription"),
        (status = 409, body = ErrorBody, description = "subscription_not_modifiable: the status does not allow it"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn pause(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    changed(
        &state,
        m.tenant_id,
        id.into_inner().into(),
        |c, tenant, id| {
            subscriptions::pause(c, tenant, id, now())?;
            Ok(())
        },
    )
    .await
}

/// `POST /subscriptions/{id}/resume/` — `PAUSED` → `ACTIVE`, next collection on the first
/// period date from today; the periods passed while paused are not collected.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/resume/", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Subscription, description = "The subscription as changed"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's subscription"),
        (status = 409, body = ErrorBody, description = "subscription_not_modifiable: the status does not allow it"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn resume(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    changed(
        &state,
        m.tenant_id,
        id.into_inner().into(),
        |c, tenant, id| {
            subscriptions::resume(c, tenant, id, now())?;
            Ok(())
        },
    )
    .await
}

/// A `YYYY-MM-DD` date after `today`.
fn future_date(today: NaiveDate) -> impl FnOnce(&Value) -> Result<NaiveDate, String> {
    move |v| {
        let date = v
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or("Enter a date as YYYY-MM-DD.")?;
        if date > today {
            Ok(date)
        } else {
            Err("Enter a date after today.".to_owned())
        }
    }
}

/// An amount in `currency` above zero, as minor units.
fn amount(currency: Currency) -> impl FnOnce(&Value) -> Result<i64, String> {
    move |v| match parse_amount_json(v, currency) {
        Ok(m) if m.is_zero() => Err(MoneyError::NotPositive.to_string()),
        Ok(m) => Ok(m.minor()),
        Err(e) => Err(e.to_string()),
    }
}

/// `PATCH /subscriptions/{id}/` — `amount` (from the next collection on) and/or
/// `next_billing_date` (after today; re-anchors the plan on it).
#[utoipa::path(patch, path = "/api/v1/subscriptions/{id}/", tag = "subscriptions", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SubscriptionUpdateRequest,
    responses((status = 200, body = Subscription, description = "The subscription as changed"),
        (status = 400, body = ErrorBody, description = "validation_error (`amount`, `next_billing_date`, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's subscription"),
        (status = 409, body = ErrorBody, description = "subscription_not_modifiable: the status does not allow it"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn update(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    changed(
        &state,
        m.tenant_id,
        id.into_inner().into(),
        move |c, tenant, id| {
            let current = subscriptions::find(c, tenant, id)?.subscription;
            let currency = Currency::parse(&current.currency)
                .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))?;
            let at = now();
            let mut f = Fields::new(&body.value, &["amount", "next_billing_date"], false)?;
            let change = Update {
                amount_minor: f.set("amount", amount(currency)),
                next_billing_date: f.set("next_billing_date", future_date(at.date())),
            };
            f.finish()?;
            subscriptions::update(c, tenant, id, &change, at)?;
            Ok(())
        },
    )
    .await
}
