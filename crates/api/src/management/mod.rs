//! The management API for `sk_` keys (API.md §9): tenant-scoped CRUD, `DELETE` deactivates.
//! Routes are declared in [`crate::routes`].
//!
//! Every collection follows [`gateways`]: `create` (through [`idempotency::run`]), `list`,
//! `retrieve`, `update` (partial) and `deactivate`, each change in one transaction. `list` and
//! `retrieve` are the generic ones of [`crate::listing`]; the helpers below are the rest of
//! what the collections share.

pub mod api_keys;
pub mod campaigns;
pub mod deliveries;
pub(crate) mod fields;
pub mod gateways;
pub mod hosted_pages;
pub mod subscriptions;
pub mod webhook_profiles;

use catalyst_domain::TenantId;
use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use catalyst_store::{DbConnection, StoreError, StoreResult};
use serde_json::Value;

use crate::db;
use crate::error::ApiError;
use crate::idempotency;
use crate::state::AppState;

/// Sealing context of secrets kept in stored idempotent responses.
const REPLAY_CONTEXT: &str = catalyst_store::crypto::IDEMPOTENCY_SECRET;

/// [`db::write`]: `f` inside one write transaction.
pub(crate) async fn write<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    db::write(&state.store, f).await
}

/// [`db::read`]: `f` on a pooled connection.
pub(crate) async fn read<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    db::read(&state.store, f).await
}

/// `Ok(None)` when the row does not exist for this tenant; other store errors pass through.
pub(crate) fn found<T>(row: StoreResult<T>) -> Result<Option<T>, ApiError> {
    match row {
        Ok(row) => Ok(Some(row)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// [`idempotency::run`] for a creation whose `201` body shows a secret once (`field` is `key`
/// or `secret`); `handler` returns the rendered object and the secret separately. The response
/// kept for replays holds the secret sealed (`<field>_sealed`), never in clear; it is opened
/// back into `field` for the first answer and for every replay alike.
pub(crate) async fn create_revealing<F, Fut>(
    state: &AppState,
    tenant: &TenantId,
    req: &HttpRequest,
    raw_body: &[u8],
    field: &str,
    handler: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(Value, String), ApiError>>,
{
    let sealed_field = format!("{field}_sealed");
    let response = idempotency::run(state, tenant, req, raw_body, || async {
        let (mut body, secret) = handler().await?;
        let sealed = state
            .store
            .cipher()
            .seal(REPLAY_CONTEXT, secret.as_bytes())?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert(sealed_field.clone(), Value::String(sealed));
        }
        Ok((StatusCode::CREATED, body))
    })
    .await?;
    reveal(state, response, field, &sealed_field).await
}

/// Replaces `sealed_field` of a JSON response by the opened secret under `field`; status and
/// headers stay as they are.
async fn reveal(
    state: &AppState,
    response: HttpResponse,
    field: &str,
    sealed_field: &str,
) -> Result<HttpResponse, ApiError> {
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| ApiError::Internal(format!("response body: {e}")))?;
    let mut value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Internal(format!("response body: {e}")))?;
    if let Some(obj) = value.as_object_mut()
        && let Some(sealed) = obj.remove(sealed_field)
    {
        let opened = state
            .store
            .cipher()
            .open(REPLAY_CONTEXT, sealed.as_str().unwrap_or_default())?;
        let secret = String::from_utf8(opened).map_err(|_| StoreError::Crypto)?;
        obj.insert(field.to_owned(), Value::String(secret));
    }
    let bytes =
        serde_json::to_vec(&value).map_err(|e| ApiError::Internal(format!("response: {e}")))?;
    Ok(head.set_body(bytes).map_into_boxed_body())
}
