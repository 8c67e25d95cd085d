//! `POST /customers/{id}/subscriptions/`: a subscription started on a saved customer, without a
//! payment session (API.md §3.9). Its plan comes from a recurring campaign (`campaign_id`) or
//! is given inline; nothing is collected now: the billing run collects the first period on
//! `start_date` (default today) under the customer's mandate.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::billing::BillingFrequency;
use catalyst_store::customers::{self, NewSubscription};
use catalyst_store::{Campaign, DbConnection, Order, Subscription, now};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::charges::{amount, currency};
use crate::auth::Merchant;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::management::fields::{Fields, choice, text, uuid};
use crate::schemas::ErrorBody;
use crate::schemas::customers::{CustomerSubscription, CustomerSubscriptionRequest};
use crate::state::AppState;
use crate::views::{money, timestamp};
use crate::{db, idempotency};

const FIELDS: &[&str] = &[
    "campaign_id",
    "amount",
    "currency",
    "billing_frequency",
    "plan_name",
    "start_date",
];
const INLINE: &[&str] = &["amount", "currency", "billing_frequency", "plan_name"];

/// The plan as the request gives it.
enum PlanSource {
    Campaign(String),
    Inline {
        amount_minor: i64,
        currency: String,
        frequency: BillingFrequency,
        plan_name: Option<String>,
    },
}

struct Body {
    plan: PlanSource,
    start_date: Option<NaiveDate>,
}

fn date(v: &Value) -> Result<NaiveDate, String> {
    v.as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| "Date has wrong format. Use YYYY-MM-DD.".to_owned())
}

fn parse(body: &Value) -> Result<Body, ApiError> {
    let mut f = Fields::new(body, FIELDS, true)?;
    let start_date = f.set("start_date", date);
    let plan = if f.has("campaign_id") {
        for key in INLINE {
            if f.has(key) {
                f.error(key, "Give either campaign_id or an inline plan, not both.");
            }
        }
        f.required("campaign_id", uuid).map(PlanSource::Campaign)
    } else {
        let currency = f.required("currency", currency);
        let amount = match currency {
            Some(c) => f.required("amount", |v| amount(v, c)),
            None => f.required("amount", |_| Ok(0)),
        };
        let frequency = f.required("billing_frequency", choice::<BillingFrequency>);
        let plan_name = f.nullable("plan_name", text(255)).flatten();
        match (currency, amount, frequency) {
            (Some(c), Some(a), Some(fr)) => Some(PlanSource::Inline {
                amount_minor: a,
                currency: c.code().to_owned(),
                frequency: fr,
                plan_name,
            }),
            _ => None,
        }
    };
    f.finish()?;
    let plan =
        plan.ok_or_else(|| ApiError::Internal("subscription body read without errors".into()))?;
    Ok(Body { plan, start_date })
}

/// The plan of an active recurring campaign of the tenant; 400 on `campaign_id` otherwise.
fn campaign_plan(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &str,
    customer_gateway: Option<&str>,
    start_date: NaiveDate,
) -> Result<NewSubscription, ApiError> {
    let campaign = crate::management::found(Campaign::find(conn, tenant, &id.into()))?
        .filter(|c| c.active)
        .ok_or_else(|| ApiError::field("campaign_id", "No active campaign with this id."))?;
    let frequency = match (campaign.billing_type.as_str(), &campaign.billing_frequency) {
        ("RECURRING", Some(f)) => f
            .parse::<BillingFrequency>()
            .map_err(|_| ApiError::Internal(format!("campaign {id} billing_frequency")))?,
        _ => {
            return Err(ApiError::field(
                "campaign_id",
                "The campaign's offer is not a RECURRING plan without trial.",
            ));
        }
    };
    if customer_gateway != Some(campaign.gateway_id.as_str()) {
        return Err(ApiError::field(
            "campaign_id",
            "The campaign collects through another gateway than the customer's mandate.",
        ));
    }
    Ok(NewSubscription {
        amount_minor: campaign.price_minor,
        currency: campaign.currency.clone(),
        frequency,
        plan_name: None,
        start_date,
        campaign: Some(campaign),
    })
}

/// The subscription object of the creation response.
fn render(s: &Subscription, order: &Order) -> Result<Value, ApiError> {
    Ok(json!({
        "object": "subscription", "id": s.id, "status": s.status, "customer_id": s.customer_id,
        "campaign_id": s.campaign_id, "order_number": order.order_number,
        "plan": {"name": s.plan_name, "amount": money(s.amount_minor, &s.currency)?,
                 "currency": s.currency, "billing_frequency": s.billing_frequency},
        "next_billing_date": s.next_billing_date.format("%Y-%m-%d").to_string(),
        "created_at": timestamp(s.created_at),
    }))
}

/// `POST /customers/{id}/subscriptions/` — `Idempotency-Key` accepted.
#[utoipa::path(post, path = "/api/v1/customers/{id}/subscriptions/", tag = "customers",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "At most 255 characters: the same key and body within 24 h replay the first answer")),
    request_body = CustomerSubscriptionRequest, security(("bearer" = [])),
    responses((status = 201, body = CustomerSubscription, description = "The subscription, `ACTIVE`; nothing collected yet"),
        (status = 400, body = ErrorBody, description = "validation_error (campaign not recurring or on another gateway, `start_date` in the past, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's customer"),
        (status = 409, body = ErrorBody, description = "customer_not_chargeable / idempotency_key_in_use / idempotency_key_reused"),
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
        let body = parse(&body.value)?;
        let (t, i) = (
            tenant.clone(),
            catalyst_domain::CustomerId::from(id.as_str()),
        );
        let created = db::read(&state.store, move |conn| {
            let at = now();
            let today = at.date();
            let start_date = body.start_date.unwrap_or(today);
            if start_date < today {
                return Err(ApiError::field(
                    "start_date",
                    "The first billing date may not be in the past.",
                ));
            }
            let customer = catalyst_store::Customer::find(conn, &t, &i)?;
            let new = match body.plan {
                PlanSource::Campaign(campaign_id) => campaign_plan(
                    conn,
                    &t,
                    &campaign_id,
                    customer.gateway_id.as_deref(),
                    start_date,
                )?,
                PlanSource::Inline {
                    amount_minor,
                    currency,
                    frequency,
                    plan_name,
                } => NewSubscription {
                    campaign: None,
                    amount_minor,
                    currency,
                    frequency,
                    plan_name,
                    start_date,
                },
            };
            let (s, order) =
                customers::subscribe(conn, &t, &i, new, at, crate::sessions::new_order_number)?;
            render(&s, &order)
        })
        .await?;
        state.events_written();
        Ok((StatusCode::CREATED, created))
    })
    .await
}
