//! Request bodies: JSON only, at most 64 KiB, parsed into a `serde_json::Value` so every field
//! error can be reported by name; strings holding control characters are refused here.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::Value;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body (required).
pub struct JsonBody {
    /// The parsed document.
    pub value: Value,
    /// The bytes as received (for idempotency fingerprints).
    pub raw: web::Bytes,
}

/// A request body of any type, as received (gateway notifications): at most 64 KiB, else the
/// documented 413 JSON error.
pub struct RawBody(pub web::Bytes);

/// A JSON request body that may be empty (`value` is then an empty object).
pub struct OptionalJsonBody(pub JsonBody);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

async fn read(req: HttpRequest, mut payload: Payload) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    web::Bytes::from_request(&req, &mut payload)
        .await
        .map_err(|e| {
            if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson(e.to_string())
            }
        })
}

/// The document, its strings free of control characters ([`crate::controls::check_body`]).
fn parse(raw: &[u8]) -> Result<Value, ApiError> {
    let value = serde_json::from_slice(raw).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    crate::controls::check_body(&value)?;
    Ok(value)
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            let raw = read(req, payload).await?;
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Err(ApiError::MalformedJson("the request body is empty".into()));
            }
            Ok(JsonBody {
                value: parse(&raw)?,
                raw,
            })
        })
    }
}

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { read(req, payload).await.map(RawBody) })
    }
}

impl FromRequest for OptionalJsonBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let has_type = req.headers().contains_key(CONTENT_TYPE);
            let raw = read(req.clone(), payload).await?;
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(JsonBody {
                    value: Value::Object(Default::default()),
                    raw,
                }));
            }
            if has_type && !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            Ok(OptionalJsonBody(JsonBody {
                value: parse(&raw)?,
                raw,
            }))
        })
    }
}

/// The body as a JSON object, or a 400 naming `non_field_errors`.
pub fn object(value: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    value.as_object().ok_or_else(|| {
        ApiError::field(
            "non_field_errors",
            catalyst_domain::validation::messages::expected_object(value),
        )
    })
}
