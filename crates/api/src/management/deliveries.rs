//! `/webhook-deliveries/`: every delivery with its attempts; failed (or cancelled) ones can be
//! redelivered. A cancelled delivery's `last_error` says why it was cancelled.

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::webhook::DeliveryStatus;
use catalyst_store::outbox::{self, WebhookAttempt, WebhookDelivery};
use catalyst_store::{DbConnection, Page, now};
use serde_json::{Value, json};

use crate::auth::Operator;
use crate::db;
use crate::error::ApiError;
use crate::listing::{self, Render};
use crate::schemas::management::deliveries::{self as schema, Delivery as DeliveryBody};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use crate::views::timestamp;

/// A delivery with its event type and attempts: what its object shows.
struct Delivery {
    delivery: WebhookDelivery,
    event_type: String,
    attempts: Vec<WebhookAttempt>,
}

impl Delivery {
    fn load(
        conn: &mut DbConnection,
        delivery: WebhookDelivery,
        event_type: String,
    ) -> Result<Self, ApiError> {
        let attempts = delivery.attempts(conn)?;
        Ok(Delivery {
            delivery,
            event_type,
            attempts,
        })
    }

    /// The tenant's delivery `id`.
    fn find(conn: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError> {
        let d = WebhookDelivery::find(conn, tenant, &id.into())?;
        let t = event_type_of(conn, &d)?;
        Self::load(conn, d, t)
    }
}

impl Render for Delivery {
    fn render(&self) -> Result<Value, ApiError> {
        let (d, event_type) = (&self.delivery, &self.event_type);
        let attempts: Vec<Value> = self
            .attempts
            .iter()
            .map(|a| json!({"attempted_at": timestamp(a.attempted_at), "status_code": a.status_code, "latency_ms": a.latency_ms, "error": a.error}))
            .collect();
        Ok(json!({
            "id": d.id, "event_id": d.event_id, "event": event_type, "endpoint_id": d.endpoint_id, "status": d.status,
            "attempts": d.attempts, "next_attempt_at": (d.status == DeliveryStatus::Pending).then(|| timestamp(d.next_attempt_at)),
            "last_status_code": d.last_status_code, "last_error": d.last_error, "last_latency_ms": d.last_latency_ms,
            "delivered_at": d.delivered_at.map(timestamp), "attempt_log": attempts,
            "created_at": timestamp(d.created_at), "updated_at": timestamp(d.updated_at),
        }))
    }
}

fn event_type_of(conn: &mut DbConnection, d: &WebhookDelivery) -> Result<String, ApiError> {
    use catalyst_store::schema::webhook_events;
    use diesel::prelude::*;
    Ok(webhook_events::table
        .find(&d.event_id)
        .select(webhook_events::event_type)
        .first(conn)
        .map_err(catalyst_store::StoreError::from)?)
}

/// The `status` and `event` filters of the list.
fn filters(query: &str) -> Result<(Option<DeliveryStatus>, Option<String>), ApiError> {
    let (mut status, mut event) = (None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "status" => match v.parse::<DeliveryStatus>() {
                Ok(s) => status = Some(s),
                Err(_) => {
                    return Err(ApiError::field(
                        "status",
                        format!("\"{v}\" is not a valid choice."),
                    ));
                }
            },
            "event" => event = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok((status, event))
}

/// `GET /webhook-deliveries/` — filters `status` and `event`.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries/", tag = "management", security(("bearer" = [])),
    params(("status" = Option<schema::DeliveryStatus>, Query), ("event" = Option<String>, Query, description = "an event type"),
        ("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<DeliveryBody>, description = "One page, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `status`, `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = req.query_string().to_owned();
    // The filters are read after `page_size`/`cursor`, as before the generic list existed.
    listing::list_with(&state, &req, move |conn, page| {
        let (status, event) = filters(&query)?;
        let rows =
            WebhookDelivery::page_filtered(conn, &m.tenant_id, status, event.as_deref(), page)?;
        let items = rows
            .items
            .into_iter()
            .map(|(d, t)| Delivery::load(conn, d, t))
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Page {
            items,
            next: rows.next,
            previous: rows.previous,
        })
    })
    .await
}

/// `GET /webhook-deliveries/{id}/`.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryBody, description = "The delivery with its attempts"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve_with(&state, move |conn| Delivery::find(conn, &m.tenant_id, &id)).await
}

/// `POST /webhook-deliveries/{id}/redeliver/` — back in the queue now, ladder restarted.
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/redeliver/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryBody, description = "Back in the queue now (`pending`), its retry ladder restarted"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn redeliver(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = db::read(&state.store, move |conn| {
        let d = outbox::redeliver(conn, &m.tenant_id, &id.as_str().into(), now())?;
        let t = event_type_of(conn, &d)?;
        Delivery::load(conn, d, t)?.render()
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
