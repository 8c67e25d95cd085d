//! Request ids, access logs, security headers, and the uniform 500 body.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use serde_json::json;
use tracing::Instrument;

use crate::telemetry;

/// The `X-Request-Id` header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers every response carries, and those an HTML response adds.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if html {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The id of the current request (in request extensions).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Gives every response an `X-Request-Id` (the caller's, if sane, else a new UUID), logs the
/// request by its route pattern (never the raw path: session tokens are credentials), sets the
/// security headers (`X-Content-Type-Options: nosniff`; on HTML also `Referrer-Policy:
/// no-referrer` and `Cache-Control: no-store`), and turns any 500 into `{"detail": "Internal error.", "code": "internal_error", "request_id": …}`.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id);
    let res = catalyst_gateway::trace::with_request_id(id.clone(), next.call(req))
        .instrument(span.clone())
        .await?;
    let _entered = span.enter();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "<unmatched>".to_owned());
    let status = res.status();
    let mut res = if status.is_server_error() && status.as_u16() == 500 {
        if let Some(err) = res.response().error() {
            // The causes of an API error (a store error, the database's own message) too.
            let sources = err
                .as_error::<crate::error::ApiError>()
                .and_then(|e| crate::error::source_chain(e));
            tracing::error!(request_id = %id, %method, route, error = %err,
                source = sources.as_deref().unwrap_or("-"), "request failed");
        }
        let body = json!({"detail": "Internal error.", "code": "internal_error", "request_id": id});
        let (http_req, _) = res.into_parts();
        ServiceResponse::new(http_req, HttpResponse::InternalServerError().json(body))
    } else {
        res.map_into_boxed_body()
    };
    secure(res.headers_mut());
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    telemetry::http_request(method.as_str(), &route, status.as_u16(), elapsed);
    tracing::info!(
        request_id = %id,
        %method,
        route,
        status = status.as_u16(),
        ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}
