//! `Idempotency-Key` on creating POSTs (API.md §2).

use catalyst_domain::TenantId;
use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use catalyst_domain::token::sha256_hex;
use catalyst_store::idempotency::{self, IdempotencyStart};
use serde_json::Value;

use crate::db;
use crate::error::{ApiError, Conflict};
use crate::state::AppState;

/// The request header.
const HEADER: &str = "idempotency-key";

/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;

/// True when the request carries an `Idempotency-Key` header (then [`run`] stores its answer).
pub fn requested(req: &HttpRequest) -> bool {
    req.headers().contains_key(HEADER)
}

/// Runs `handler` at most once per (tenant, key): the same key with the same request replays
/// the stored response; a different request → 409 `idempotency_key_reused`; a concurrent one →
/// 409 `idempotency_key_in_use`. Without the header the handler simply runs. Successful and
/// client-error responses are stored; server errors release the key so the client may retry.
pub async fn run<F, Fut>(
    state: &AppState,
    tenant_id: &TenantId,
    req: &HttpRequest,
    raw_body: &[u8],
    handler: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        return handler()
            .await
            .map(|(status, body)| HttpResponse::build(status).json(body));
    };
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| ApiError::field("Idempotency-Key", "Must be 1 to 255 visible characters."))?
        .to_owned();
    let mut fingerprint_input = format!("{} {}\n", req.method(), req.path()).into_bytes();
    fingerprint_input.extend_from_slice(raw_body);
    let fingerprint = sha256_hex(&fingerprint_input);

    let (tenant, k) = (tenant_id.to_owned(), key.clone());
    let start = db::read(&state.store, move |c| {
        idempotency::begin(c, &tenant, &k, &fingerprint, catalyst_store::now())
    })
    .await?;
    match start {
        IdempotencyStart::Replay { status, body } => {
            let status =
                StatusCode::from_u16(status).map_err(|e| ApiError::Internal(e.to_string()))?;
            return Ok(HttpResponse::build(status)
                .insert_header(("Idempotent-Replayed", "true"))
                .content_type("application/json")
                .body(body));
        }
        IdempotencyStart::InUse => return Err(ApiError::Conflict(Conflict::IdempotencyKeyInUse)),
        IdempotencyStart::Reused => return Err(ApiError::Conflict(Conflict::IdempotencyKeyReused)),
        IdempotencyStart::Proceed => {}
    }

    let outcome = handler().await;
    let (status, body) = match &outcome {
        Ok((status, body)) => (*status, body.clone()),
        Err(e) => (e.status_code(), e.body()),
    };
    let tenant = tenant_id.to_owned();
    let keep = !status.is_server_error() && status != StatusCode::TOO_MANY_REQUESTS;
    let text = body.to_string();
    db::read(&state.store, move |c| {
        if keep {
            idempotency::complete(c, &tenant, &key, status.as_u16(), &text)
        } else {
            idempotency::release(c, &tenant, &key)
        }
    })
    .await?;
    outcome.map(|(status, body)| HttpResponse::build(status).json(body))
}
