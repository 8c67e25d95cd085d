//! Bank-file batches of `BATCH` gateways (API.md §4.1): cut a pain.008 file of the gateway's
//! pending collections, list the files cut, download one.
//!
//! [`cut_for_gateway`] is shared with `catalyst batch export`: it loads the tenant's gateway,
//! reads the creditor and the pain.008 version from its sealed credentials, and hands them to
//! [`catalyst_store::batches::cut`], which does the rest in one database transaction.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::{GatewayId, TenantId};
use catalyst_sepa::pain008::Creditor;
use catalyst_store::batches::{self, BatchSummary, Cut, CutError, CutRequest};
use catalyst_store::{Gateway, Store, now};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use crate::auth::Operator;
use crate::body::{OptionalJsonBody, object};
use crate::db;
use crate::error::{ApiError, Conflict};
use crate::idempotency;
use crate::paging;
use crate::payment::CREDENTIALS_CONTEXT;
use crate::schemas::management::batches::{Batch as BatchBody, BatchCreate};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use catalyst_domain::money::{Currency, decimal_string};

use crate::views::timestamp;

/// The batch as the API shows it (without the file).
pub fn render(b: &BatchSummary) -> Result<Value, ApiError> {
    Ok(json!({
        "id": b.id,
        "gateway_id": b.gateway_id,
        "collection_date": b.collection_date.format("%Y-%m-%d").to_string(),
        "pain_version": b.pain_version,
        "message_id": b.message_id,
        "transaction_count": b.transaction_count,
        // A file's total is not bounded by the limit of one amount.
        "control_sum": decimal_string(b.control_sum_minor, Currency::EUR),
        "currency": "EUR",
        "created_at": timestamp(b.created_at),
    }))
}

/// The tenant's `BATCH` gateway `gateway_id` and the cut request its credentials make; another
/// tenant's gateway is not found, any other adapter is a 409 `not_a_batch_gateway`.
pub fn cut_request(
    store: &Store,
    gateway: &Gateway,
    collection_date: Option<NaiveDate>,
    at: NaiveDateTime,
) -> Result<CutRequest, ApiError> {
    if gateway.adapter != catalyst_gateway::batch::NAME {
        return Err(ApiError::Conflict(Conflict::NotBatchGateway));
    }
    let sealed = gateway
        .credentials_sealed
        .as_deref()
        .ok_or_else(|| ApiError::Internal("a BATCH gateway without credentials".into()))?;
    let json = String::from_utf8(store.cipher().open(CREDENTIALS_CONTEXT, sealed)?)
        .map_err(|_| ApiError::Internal("credentials".into()))?;
    let creds = catalyst_gateway::BatchCredentials::from_json(&json).map_err(|e| {
        tracing::error!(gateway = %gateway.id, error = %e, "stored BATCH credentials refused");
        ApiError::ServiceUnavailable("the gateway's credentials are unusable".into())
    })?;
    let iban = catalyst_sepa::validate(creds.iban.expose())
        .map_err(|_| ApiError::ServiceUnavailable("the creditor IBAN is unusable".into()))?;
    Ok(CutRequest {
        tenant_id: gateway.tenant_id.clone(),
        gateway_id: gateway.id.clone(),
        creditor: Creditor {
            name: catalyst_sepa::epc::transliterate(&creds.creditor_name)
                .chars()
                .take(catalyst_sepa::epc::MAX_NAME_CHARS)
                .collect(),
            iban,
            bic: Some(creds.bic),
            creditor_id: creds.creditor_id,
        },
        version: creds.pain_version,
        collection_date,
        now: at,
    })
}

/// Cuts a batch for the tenant's gateway (the whole flow behind `POST …/batches/` and the CLI).
pub fn cut_for_gateway(
    store: &Store,
    tenant: &TenantId,
    gateway_id: &GatewayId,
    collection_date: Option<NaiveDate>,
    at: NaiveDateTime,
) -> Result<Cut, ApiError> {
    let mut conn = store.conn()?;
    let gateway = Gateway::find(&mut conn, tenant, gateway_id)?;
    let req = cut_request(store, &gateway, collection_date, at)?;
    Ok(batches::cut(&mut conn, store.cipher(), &req)?)
}

impl From<CutError> for ApiError {
    fn from(e: CutError) -> Self {
        match e {
            CutError::CollectionDate { date, earliest } => ApiError::field(
                "collection_date",
                format!(
                    "{date} is not a TARGET2 business day at least one business day ahead; the earliest is {earliest}."
                ),
            ),
            CutError::File(why) => ApiError::BankFileInvalid(why.to_string()),
            CutError::Store(e) => e.into(),
        }
    }
}

/// Reads the optional `{"collection_date": "YYYY-MM-DD"}` body.
fn parse_body(value: &Value) -> Result<Option<NaiveDate>, ApiError> {
    let obj = object(value)?;
    let mut errors = catalyst_domain::validation::ValidationErrors::default();
    let mut date = None;
    for (key, v) in obj {
        match (key.as_str(), v) {
            ("collection_date", Value::Null) => {}
            ("collection_date", Value::String(s)) => {
                match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    Ok(d) => date = Some(d),
                    Err(_) => errors.add("collection_date", "Enter a date as YYYY-MM-DD."),
                }
            }
            ("collection_date", _) => errors.add("collection_date", "Enter a date as YYYY-MM-DD."),
            (other, _) => errors.add(other, "Unknown field."),
        }
    }
    if errors.is_empty() {
        Ok(date)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// `POST /gateways/{id}/batches/`.
#[utoipa::path(post, path = "/api/v1/gateways/{id}/batches/", tag = "management",
    security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = Option<BatchCreate>, description = "Optional: an empty body takes the earliest collection date"),
    responses((status = 201, body = BatchBody, description = "The batch cut"),
        (status = 400, body = ErrorBody, description = "validation_error: `collection_date` not a date, not a TARGET2 business day or too early; unknown field / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "no_pending_collections / not_a_batch_gateway / idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 422, body = ErrorBody, description = "bank_file_invalid: the file would break an EPC rule; nothing written"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the gateway's stored credentials are unusable")))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    req: HttpRequest,
    body: OptionalJsonBody,
) -> Result<HttpResponse, ApiError> {
    let date = parse_body(&body.0.value)?;
    let state = state.get_ref().clone();
    let tenant = m.tenant_id.clone();
    idempotency::run(&state, &m.tenant_id, &req, &body.0.raw, || async {
        let store = state.store.clone();
        let cut = web::block(move || {
            cut_for_gateway(&store, &tenant, &GatewayId::from(id.as_str()), date, now())
        })
        .await
        .map_err(|e| ApiError::ServiceUnavailable(e.to_string()))??;
        match cut {
            Cut::Empty => Err(ApiError::Conflict(Conflict::NoPendingCollections)),
            Cut::Cut(batch) => Ok((StatusCode::CREATED, render(&BatchSummary::from(&batch))?)),
        }
    })
    .await
}

/// `GET /gateways/{id}/batches/`.
#[utoipa::path(get, path = "/api/v1/gateways/{id}/batches/", tag = "management",
    security(("bearer" = [])), params(("id" = String, Path), ("page_size" = Option<u32>, Query),
        ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<BatchBody>, description = "The gateway's batches, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page_request(&req)?;
    let rows = db::read(&state.store, move |c| -> Result<_, ApiError> {
        Gateway::find(c, &m.tenant_id, &id.as_str().into())?;
        Ok(batches::page(
            c,
            &m.tenant_id,
            &GatewayId::from(id.as_str()),
            &page,
        )?)
    })
    .await?;
    let items = rows
        .items
        .iter()
        .map(render)
        .collect::<Result<Vec<_>, _>>()?;
    let page = catalyst_store::Page {
        items,
        next: rows.next,
        previous: rows.previous,
    };
    Ok(HttpResponse::Ok().json(paging::list_body(&req, &state.config.public_url, page)))
}

/// `GET /gateways/{id}/batches/{batch_id}/file/`: the pain.008 document.
#[utoipa::path(get, path = "/api/v1/gateways/{id}/batches/{batch_id}/file/", tag = "management",
    security(("bearer" = [])), params(("id" = String, Path), ("batch_id" = String, Path)),
    responses((status = 200, content_type = "application/xml", description = "The pain.008 document, as an attachment `<message_id>.xml`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn file(
    state: web::Data<AppState>,
    Operator(m): Operator,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (gateway, batch) = path.into_inner();
    let batch = db::read(&state.store, move |c| {
        batches::find(
            c,
            &m.tenant_id,
            &GatewayId::from(gateway.as_str()),
            &batch.as_str().into(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/xml"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.xml\"", batch.message_id),
        ))
        .body(batch.file))
}
