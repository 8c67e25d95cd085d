//! `/api-keys/`: the tenant's `rk_`/`sk_` keys. Only the SHA-256 hash and a display prefix are
//! stored; the full key is in the creation response and nowhere else.
//!
//! A key may revoke itself: the request was authenticated before the change, so it still gets
//! its `200`; the next request with that key gets `401 authentication_failed`.

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::token::KeyKind;
use catalyst_store::{ApiKey, DbConnection, Page, PageRequest, Tenant, now};
use serde_json::{Value, json};

use super::fields::{Fields, choice, text};
use super::{create_revealing, write};
use crate::auth::{Merchant, Operator};
use crate::body::JsonBody;
use crate::error::{ApiError, Conflict};
use crate::listing::{self, Render, Resource};
use crate::provision;
use crate::schemas::management::api_keys::{
    ApiKey as ApiKeyBody, ApiKeyCreate, ApiKeyCreated, ApiKeyUpdate,
};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use crate::views::timestamp;

const FIELDS: &[&str] = &["kind", "name"];

fn render(k: &ApiKey) -> Value {
    json!({
        "id": k.id, "kind": k.kind, "name": k.name, "prefix": k.key_prefix, "active": k.active,
        "created_at": timestamp(k.created_at), "updated_at": timestamp(k.updated_at),
    })
}

impl Render for ApiKey {
    fn render(&self) -> Result<Value, ApiError> {
        Ok(render(self))
    }
}

impl Resource for ApiKey {
    fn page(
        c: &mut DbConnection,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Self>, ApiError> {
        Ok(ApiKey::page(c, tenant, page)?)
    }

    fn find(c: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError> {
        Ok(ApiKey::find(c, tenant, &id.into())?)
    }
}

/// `POST /api-keys/` — the response carries the full `key`, this once.
#[utoipa::path(post, path = "/api/v1/api-keys/", tag = "management", request_body = ApiKeyCreate, security(("bearer" = [])),
    responses((status = 201, body = ApiKeyCreated, description = "Created, with the full `key`, shown only here"),
        (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    create_revealing(&state, &m.tenant_id, &req, &body.raw, "key", || async {
        let mut f = Fields::new(&body.value, FIELDS, true)?;
        let kind = f.required("kind", choice::<KeyKind>);
        let name = f.nullable("name", text(255)).flatten();
        f.finish()?;
        let kind = kind.ok_or_else(|| ApiError::Internal("kind passed validation".into()))?;
        let tenant = m.tenant_id.clone();
        let (row, key) = write(&state, move |c| {
            let (row, token) = provision::issue_key(c, &tenant, kind, name)?;
            Ok((row, token.expose().to_owned()))
        })
        .await?;
        Ok((render(&row), key))
    })
    .await
}

/// `GET /api-keys/` — revoked keys included (`active: false`).
#[utoipa::path(get, path = "/api/v1/api-keys/", tag = "management", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<ApiKeyBody>, description = "One page, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    listing::list::<ApiKey>(&state, m.tenant_id, &req).await
}

/// `GET /api-keys/{id}/`.
#[utoipa::path(get, path = "/api/v1/api-keys/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ApiKeyBody, description = "The api key"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve::<ApiKey>(&state, m.tenant_id, id.into_inner()).await
}

/// `PATCH /api-keys/{id}/` — only `name` changes; a key's `kind` is fixed.
#[utoipa::path(patch, path = "/api/v1/api-keys/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ApiKeyUpdate,
    responses((status = 200, body = ApiKeyBody, description = "The api key, updated"),
        (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
pub async fn update(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let row = write(&state, move |c| {
        let mut k = ApiKey::find(c, &m.tenant_id, &id.as_str().into())?;
        let mut f = Fields::new(&body.value, FIELDS, false)?;
        if f.has("kind") {
            f.error(
                "kind",
                "The kind of a key cannot be changed; create a new key instead.",
            );
        }
        if let Some(name) = f.nullable("name", text(255)) {
            k.name = name;
        }
        f.finish()?;
        k.updated_at = now();
        k.save(c)?;
        Ok(k)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

/// `?force=true` (revoke even the last active secret key), else `false`.
fn force(req: &HttpRequest) -> Result<bool, ApiError> {
    let given = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "force")
        .map(|(_, value)| value);
    match given.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::field("force", "Must be true or false.")),
    }
}

/// Deactivates the key `id` of the caller's tenant (a no-op when already revoked). The last
/// active secret key is kept unless `force`: without one the tenant can reach the management
/// API again only through the operator (`catalyst key create`).
async fn revoke_key(
    state: &AppState,
    m: Merchant,
    id: String,
    force: bool,
) -> Result<HttpResponse, ApiError> {
    let row = write(state, move |c| {
        Tenant::lock(c, &m.tenant_id)?;
        let mut k = ApiKey::find(c, &m.tenant_id, &id.as_str().into())?;
        if k.active {
            let secret = KeyKind::Secret.as_str();
            if k.kind == secret && !force && ApiKey::count_active(c, &m.tenant_id, secret)? <= 1 {
                return Err(ApiError::Conflict(Conflict::LastSecretKey));
            }
            k.active = false;
            k.updated_at = now();
            k.save(c)?;
        }
        Ok(k)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

/// `POST /api-keys/{id}/revoke/` — the key stops authenticating at once. The tenant's last
/// active secret key answers `409 last_secret_key` unless `?force=true`.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path), ("force" = Option<bool>, Query, description = "revoke even the tenant's last active `sk_` key")),
    responses((status = 200, body = ApiKeyBody, description = "The key, `active: false`"),
        (status = 400, body = ErrorBody, description = "validation_error: `force` is not true or false"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "last_secret_key: the tenant's last active `sk_` key, without `?force=true`")))]
pub async fn revoke(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    revoke_key(&state, m, id.into_inner(), force(&req)?).await
}

/// `DELETE /api-keys/{id}/` — the same as `POST /api-keys/{id}/revoke/`.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path), ("force" = Option<bool>, Query, description = "revoke even the tenant's last active `sk_` key")),
    responses((status = 200, body = ApiKeyBody, description = "The key, `active: false`"),
        (status = 400, body = ErrorBody, description = "validation_error: `force` is not true or false"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "last_secret_key: the tenant's last active `sk_` key, without `?force=true`")))]
pub async fn deactivate(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    revoke_key(&state, m, id.into_inner(), force(&req)?).await
}
