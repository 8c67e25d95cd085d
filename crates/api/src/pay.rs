//! `POST /payment-sessions/{token}/pay/` and `/verify/` (API.md §3.3–§3.6): the handlers parse
//! the request and answer with the envelope; the payment itself is [`crate::payment`].

use actix_web::{HttpResponse, web};
use catalyst_domain::validation::{self, ValidationErrors};
use serde_json::Value;

use crate::body::{JsonBody, OptionalJsonBody, object};
use crate::error::ApiError;
use crate::payment::{self, PayInput};
use crate::schemas::ErrorBody;
use crate::schemas::payments::{PayRequest, PaymentResult, VerifyRequest};
use crate::state::AppState;

/// `POST /api/v1/payment-sessions/{token}/pay/` — no auth; the token is the credential.
#[utoipa::path(post, path = "/api/v1/payment-sessions/{token}/pay/", tag = "payment sessions",
    params(("token" = String, Path, description = "`ps_…` session token: the credential")),
    request_body = PayRequest,
    responses((status = 200, body = PaymentResult, description = "The result envelope, whatever the outcome"),
        (status = 400, body = ErrorBody, description = "validation_error / invalid_iban (no attempt used) / malformed_json"),
        (status = 404, body = ErrorBody, description = "not_found: unknown token"),
        (status = 409, body = ErrorBody, description = "session_not_payable / tenant_reference_id_conflict"),
        (status = 410, body = ErrorBody, description = "session_expired"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn pay(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let envelope = pay_session(state.get_ref().clone(), token.into_inner(), &body.value).await?;
    Ok(HttpResponse::Ok().json(envelope))
}

/// The `/pay/` path for `token` with the request body `value`: an unknown-looking token is 404,
/// a bad body 400 before anything is written; else [`payment::pay`]. Shared by `/pay/` and the
/// hosted page's form post, so both pay the same way.
pub(crate) async fn pay_session(
    state: AppState,
    token: String,
    value: &Value,
) -> Result<Value, ApiError> {
    if catalyst_domain::token::SessionToken::parse(&token).is_err() {
        return Err(ApiError::NotFound);
    }
    let input = PayInput::parse(value)?;
    payment::pay(state, token, input).await
}

/// `POST /api/v1/payment-sessions/{token}/verify/` — no auth; empty body allowed.
#[utoipa::path(post, path = "/api/v1/payment-sessions/{token}/verify/", tag = "payment sessions",
    params(("token" = String, Path, description = "`ps_…` session token: the credential")),
    request_body = Option<VerifyRequest>,
    responses((status = 200, body = PaymentResult, description = "The result envelope"),
        (status = 400, body = ErrorBody, description = "validation_error (`verification_id` is not the pending verification's) / malformed_json"),
        (status = 404, body = ErrorBody, description = "not_found: unknown token"),
        (status = 409, body = ErrorBody, description = "session_not_verifiable: not `AWAITING_VERIFICATION`"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type"),
        (status = 503, body = ErrorBody, description = "service_unavailable: the database is unreachable, or the gateway's stored settings are refused by its adapter (with `Retry-After`)",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn verify(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: OptionalJsonBody,
) -> Result<HttpResponse, ApiError> {
    let envelope =
        verify_session(state.get_ref().clone(), token.into_inner(), &body.0.value).await?;
    Ok(HttpResponse::Ok().json(envelope))
}

/// The `/verify/` path for `token` with the request body `value` (an optional
/// `verification_id`); returns the result envelope. Shared by `/verify/` and the hosted page's
/// verification form.
pub(crate) async fn verify_session(
    state: AppState,
    token: String,
    value: &Value,
) -> Result<Value, ApiError> {
    if catalyst_domain::token::SessionToken::parse(&token).is_err() {
        return Err(ApiError::NotFound);
    }
    let obj = object(value)?;
    let mut errors = ValidationErrors::new();
    let verification_id = validation::optional(obj, "verification_id", &mut errors, |v| {
        validation::char_field(v, 255)
    });
    let verification_id = errors.into_result(verification_id)?;
    payment::verify(state, token, verification_id).await
}
