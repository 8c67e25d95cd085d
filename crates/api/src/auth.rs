//! Bearer-token authentication (API.md §1): `rk_`/`sk_` keys, stored as SHA-256 hashes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use catalyst_domain::token::{ApiKeyToken, KeyKind, constant_time_eq};
use catalyst_store::ApiKey;

use crate::error::ApiError;
use crate::state::AppState;

/// A merchant backend authenticated with an `rk_` or `sk_` key.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// The key's tenant: every lookup is scoped to it.
    pub tenant_id: String,
    /// The key used.
    pub key_id: String,
    /// Restricted or secret.
    pub kind: KeyKind,
}

/// A merchant authenticated with an `sk_` key (management API).
#[derive(Debug, Clone)]
pub struct Operator(pub Merchant);

/// What the `Authorization` header carries.
pub enum Credential {
    /// An `rk_`/`sk_` key, well-formed (not yet looked up).
    Key(ApiKeyToken),
    /// A `ps_` payment-session token.
    Session(String),
}

/// Reads `Authorization: Bearer …`: no header → 401 `not_authenticated`; anything that is not a
/// well-formed token of a known kind → 401 `authentication_failed`.
pub fn credential(req: &HttpRequest) -> Result<Credential, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(ApiError::NotAuthenticated)?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::AuthenticationFailed)?
        .trim();
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(ApiError::AuthenticationFailed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::AuthenticationFailed);
    }
    let token = token.trim();
    if token.starts_with("ps_") {
        return Ok(Credential::Session(token.to_owned()));
    }
    ApiKeyToken::parse(token)
        .map(Credential::Key)
        .map_err(|_| ApiError::AuthenticationFailed)
}

/// Looks a key up by its hash and checks it in constant time.
pub async fn authenticate_key(state: &AppState, token: ApiKeyToken) -> Result<Merchant, ApiError> {
    let hash = token.hash();
    let store = state.store.clone();
    let lookup = hash.clone();
    let key = web::block(move || store.read(|c| ApiKey::find_active_by_hash(c, &lookup))).await??;
    match key {
        Some(key)
            if constant_time_eq(key.key_hash.as_bytes(), hash.as_bytes())
                && key.kind == token.kind().as_str() =>
        {
            Ok(Merchant {
                tenant_id: key.tenant_id,
                key_id: key.id,
                kind: token.kind(),
            })
        }
        _ => Err(ApiError::AuthenticationFailed),
    }
}

async fn merchant(req: HttpRequest) -> Result<Merchant, ApiError> {
    let state = AppState::of(&req);
    match credential(&req)? {
        Credential::Session(_) => Err(ApiError::PermissionDenied),
        Credential::Key(token) => authenticate_key(&state, token).await,
    }
}

impl FromRequest for Merchant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(merchant(req.clone()))
    }
}

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let m = merchant(req).await?;
            if m.kind == KeyKind::Secret {
                Ok(Operator(m))
            } else {
                Err(ApiError::PermissionDenied)
            }
        })
    }
}
