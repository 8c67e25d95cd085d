//! Bearer-token authentication (API.md §1): `rk_`/`sk_` keys, stored as SHA-256 hashes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest};
use catalyst_domain::token::{ApiKeyToken, KeyKind, constant_time_eq};
use catalyst_store::{ApiKey, DbConnection, PaymentSession, StoreError};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// A merchant backend authenticated with an `rk_` or `sk_` key.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// The key's tenant: every lookup is scoped to it.
    pub tenant_id: catalyst_domain::TenantId,
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

/// The live session (neither terminal nor expired) whose `ps_` token this is; any other
/// token → 401 `authentication_failed`.
pub async fn authenticate_session(
    state: &AppState,
    token: String,
) -> Result<PaymentSession, ApiError> {
    let session = db::read(&state.store, move |c| {
        Ok::<_, StoreError>(PaymentSession::find_by_token(c, &token))
    })
    .await?;
    match session {
        Ok(s) if !s.status.is_terminal() && s.expires_at > catalyst_store::now() => Ok(s),
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::AuthenticationFailed),
        Err(e) => Err(e.into()),
    }
}

/// The answer to a `ps_` token where only a key is accepted: authenticate first, then
/// authorise — a live session's token is 403 `permission_denied`, any other 401.
async fn session_refused(state: &AppState, token: String) -> ApiError {
    match authenticate_session(state, token).await {
        Ok(_) => ApiError::PermissionDenied,
        Err(e) => e,
    }
}

/// Looks a key up by its hash and checks it in constant time, in a blocking step of its own.
pub async fn authenticate_key(state: &AppState, token: ApiKeyToken) -> Result<Merchant, ApiError> {
    db::read(&state.store, move |conn| verify_key(conn, &token)).await
}

/// [`authenticate_key`] on a connection the caller already holds.
pub fn verify_key(conn: &mut DbConnection, token: &ApiKeyToken) -> Result<Merchant, ApiError> {
    let hash = token.hash();
    match ApiKey::find_active_by_hash(conn, &hash)? {
        Some(key)
            if constant_time_eq(key.key_hash.as_bytes(), hash.as_bytes())
                && key.kind == token.kind().as_str() =>
        {
            Ok(Merchant {
                tenant_id: key.tenant_id,
                key_id: key.id.into_string(),
                kind: token.kind(),
            })
        }
        _ => Err(ApiError::AuthenticationFailed),
    }
}

/// A well-formed `rk_`/`sk_` key from the `Authorization` header, not looked up yet: for a
/// handler that checks it in the same blocking step as its own database work
/// ([`MerchantKey::verify`]). Missing or malformed credentials fail as for [`Merchant`].
pub struct MerchantKey(ApiKeyToken);

impl MerchantKey {
    /// Checks the key on `conn`.
    pub fn verify(&self, conn: &mut DbConnection) -> Result<Merchant, ApiError> {
        verify_key(conn, &self.0)
    }

    /// Checks the key in a blocking step of its own.
    pub async fn authenticate(self, state: &AppState) -> Result<Merchant, ApiError> {
        authenticate_key(state, self.0).await
    }
}

impl FromRequest for MerchantKey {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match credential(&req)? {
                Credential::Key(token) => Ok(MerchantKey(token)),
                Credential::Session(token) => {
                    Err(session_refused(&AppState::of(&req), token).await)
                }
            }
        })
    }
}

async fn merchant(req: HttpRequest) -> Result<Merchant, ApiError> {
    let state = AppState::of(&req);
    match credential(&req)? {
        Credential::Session(token) => Err(session_refused(&state, token).await),
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
