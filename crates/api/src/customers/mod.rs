//! Saved customers (API.md §3.9): list, retrieve, delete (the mandate is revoked), charges on
//! the saved mandate ([`charges`]) and subscriptions started on a customer ([`subscriptions`]).
//! `rk_` and `sk_` keys may call them; another tenant's customer is not found.

pub mod charges;
pub mod subscriptions;

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::CustomerStatus;
use catalyst_store::customers::{self, CustomerDetails, CustomerWriteError};
use catalyst_store::{Customer, DbConnection, now};
use serde_json::{Value, json};

use crate::auth::Merchant;
use crate::db;
use crate::error::{ApiError, Conflict};
use crate::listing;
use crate::schemas::customers as schema;
use crate::schemas::{ErrorBody, Page};
use crate::state::AppState;
use crate::views::timestamp;

/// The customer object.
pub fn render(d: &CustomerDetails) -> Value {
    let c = &d.customer;
    let mandate = d.mandate.as_ref().map(|m| {
        json!({
            "reference": m.reference, "iban_last4": m.iban_last4, "iban_country": m.iban_country,
            "iban": m.iban_masked, "bic": m.bic, "bank_name": m.bank_name,
            "sequence_type": m.sequence_type, "signed_at": timestamp(m.signed_at),
            "revoked_at": m.revoked_at.map(timestamp),
        })
    });
    json!({
        "object": "customer", "id": c.id, "external_customer_id": c.external_customer_id,
        "status": c.status, "email": d.payer.email, "first_name": d.payer.first_name,
        "last_name": d.payer.last_name, "mandate": mandate, "gateway_id": c.gateway_id,
        "created_at": timestamp(c.created_at), "updated_at": timestamp(c.updated_at),
        "deleted_at": c.deleted_at.map(timestamp),
    })
}

fn rendered(conn: &mut DbConnection, c: Customer) -> Result<Value, ApiError> {
    Ok(render(&customers::details(conn, c)?))
}

/// `GET /customers/` — filters `external_customer_id` and `status`.
#[utoipa::path(get, path = "/api/v1/customers/", tag = "customers", security(("bearer" = [])),
    params(("external_customer_id" = Option<String>, Query, description = "Exact match"),
        ("status" = Option<schema::CustomerStatus>, Query),
        ("page_size" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Default 100"), ("cursor" = Option<String>, Query, description = "From a `next`/`previous` link")),
    responses((status = 200, body = Page<schema::Customer>, description = "The tenant's customers, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: `status`, `page_size`, `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn list(
    state: web::Data<AppState>,
    m: Merchant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mut external, mut status) = (None, None);
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "status" => match v.parse::<CustomerStatus>() {
                Ok(s) => status = Some(s),
                Err(_) => {
                    return Err(ApiError::field(
                        "status",
                        format!("\"{v}\" is not a valid choice."),
                    ));
                }
            },
            "external_customer_id" => external = Some(v.into_owned()),
            _ => {}
        }
    }
    let tenant = m.tenant_id;
    listing::list_with(&state, &req, move |conn, page| {
        let page = customers::page(conn, &tenant, external.as_deref(), status, page)?;
        let items = customers::details_of_all(conn, page.items)?
            .iter()
            .map(render)
            .collect();
        Ok(catalyst_store::Page {
            items,
            next: page.next,
            previous: page.previous,
        })
    })
    .await
}

/// `GET /customers/{id}/`.
#[utoipa::path(get, path = "/api/v1/customers/{id}/", tag = "customers", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = schema::Customer, description = "The customer"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's customer"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn retrieve(
    state: web::Data<AppState>,
    m: Merchant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = db::read(&state.store, move |conn| {
        let c = Customer::find(conn, &m.tenant_id, &id.as_str().into())?;
        rendered(conn, c)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `DELETE /customers/{id}/` — revokes the mandate; the customer can no longer be charged.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/", tag = "customers", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = schema::Customer, description = "The customer, `DELETED`, its mandates revoked (again: unchanged)"),
        (status = 400, body = ErrorBody, description = "validation_error: a control character in a query parameter"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: a `ps_` token"),
        (status = 404, body = ErrorBody, description = "not_found: unknown or another tenant's customer"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn delete(
    state: web::Data<AppState>,
    m: Merchant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = db::read(&state.store, move |conn| {
        let c = customers::delete(conn, &m.tenant_id, &id.as_str().into(), now())?;
        rendered(conn, c)
    })
    .await?;
    state.events_written();
    Ok(HttpResponse::Ok().json(body))
}

impl From<CustomerWriteError> for ApiError {
    fn from(e: CustomerWriteError) -> Self {
        match e {
            CustomerWriteError::NotFound => ApiError::NotFound,
            CustomerWriteError::NotChargeable(_) => {
                ApiError::Conflict(Conflict::CustomerNotChargeable)
            }
            CustomerWriteError::Currency { expected } => ApiError::field(
                "currency",
                format!("The customer's gateway collects {expected}."),
            ),
            CustomerWriteError::TenantReferenceInUse => {
                ApiError::Conflict(Conflict::TenantReferenceId)
            }
            CustomerWriteError::Store(e) => e.into(),
        }
    }
}
