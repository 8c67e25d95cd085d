//! `/webhook-deliveries/`: every delivery with its attempts; failed (or cancelled) ones can be
//! redelivered. A cancelled delivery's `last_error` says why it was cancelled.

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_store::outbox::{self, WebhookDelivery};
use catalyst_store::{DbConnection, now};
use serde_json::{Value, json};

use crate::auth::Operator;
use crate::db;
use crate::error::ApiError;
use crate::paging;
use crate::state::AppState;
use crate::views::timestamp;

const STATUSES: &[&str] = &["pending", "delivered", "failed", "cancelled"];

fn render(
    conn: &mut DbConnection,
    d: &WebhookDelivery,
    event_type: &str,
) -> Result<Value, ApiError> {
    let attempts: Vec<Value> = d
        .attempts(conn)?
        .iter()
        .map(|a| json!({"attempted_at": timestamp(a.attempted_at), "status_code": a.status_code, "latency_ms": a.latency_ms, "error": a.error}))
        .collect();
    Ok(json!({
        "id": d.id, "event_id": d.event_id, "event": event_type, "endpoint_id": d.endpoint_id, "status": d.status,
        "attempts": d.attempts, "next_attempt_at": (d.status == "pending").then(|| timestamp(d.next_attempt_at)),
        "last_status_code": d.last_status_code, "last_error": d.last_error, "last_latency_ms": d.last_latency_ms,
        "delivered_at": d.delivered_at.map(timestamp), "attempt_log": attempts,
        "created_at": timestamp(d.created_at), "updated_at": timestamp(d.updated_at),
    }))
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

/// `GET /webhook-deliveries/` — filters `status` and `event`.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries/", tag = "management", security(("bearer" = [])),
    params(("status" = Option<String>, Query), ("event" = Option<String>, Query), ("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "`{next, previous, results}`"), (status = 400), (status = 401), (status = 403)))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page_request(&req)?;
    let (mut status, mut event) = (None, None);
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "status" if STATUSES.contains(&v.as_ref()) => status = Some(v.into_owned()),
            "status" => {
                return Err(ApiError::field(
                    "status",
                    format!("\"{v}\" is not a valid choice."),
                ));
            }
            "event" => event = Some(v.into_owned()),
            _ => {}
        }
    }
    let items = db::read(&state.store, move |conn| {
        let rows = WebhookDelivery::page_filtered(
            conn,
            &m.tenant_id,
            status.as_deref(),
            event.as_deref(),
            &page,
        )?;
        let (next, previous) = (rows.next.clone(), rows.previous.clone());
        let items = rows
            .items
            .iter()
            .map(|(d, t)| render(conn, d, t))
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok::<_, ApiError>(catalyst_store::Page {
            items,
            next,
            previous,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(paging::list_body(&req, &state.config.public_url, items)))
}

/// `GET /webhook-deliveries/{id}/`.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = db::read(&state.store, move |conn| {
        let d = WebhookDelivery::find(conn, &m.tenant_id, &id)?;
        let t = event_type_of(conn, &d)?;
        render(conn, &d, &t)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /webhook-deliveries/{id}/redeliver/` — back in the queue now, ladder restarted.
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/redeliver/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn redeliver(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = db::read(&state.store, move |conn| {
        let d = outbox::redeliver(conn, &m.tenant_id, &id, now())?;
        let t = event_type_of(conn, &d)?;
        render(conn, &d, &t)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
