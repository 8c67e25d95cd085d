//! The API's one error type and its mapping to the documented error bodies (API.md §2).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use catalyst_domain::validation::ValidationErrors;
use catalyst_store::StoreError;
use serde_json::{Value, json};

/// A 409 reason, each with its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    TenantReferenceId,
    SessionNotPayable,
    SessionNotVerifiable,
    SessionNotCancellable,
    SubscriptionNotModifiable,
    DuplicateLead,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    CustomerNotChargeable,
    LastSecretKey,
    NoPendingCollections,
    NotBatchGateway,
}

impl Conflict {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Conflict::TenantReferenceId => "tenant_reference_id_conflict",
            Conflict::SessionNotPayable => "session_not_payable",
            Conflict::SessionNotVerifiable => "session_not_verifiable",
            Conflict::SessionNotCancellable => "session_not_cancellable",
            Conflict::SubscriptionNotModifiable => "subscription_not_modifiable",
            Conflict::DuplicateLead => "duplicate_lead",
            Conflict::IdempotencyKeyInUse => "idempotency_key_in_use",
            Conflict::IdempotencyKeyReused => "idempotency_key_reused",
            Conflict::CustomerNotChargeable => "customer_not_chargeable",
            Conflict::LastSecretKey => "last_secret_key",
            Conflict::NoPendingCollections => "no_pending_collections",
            Conflict::NotBatchGateway => "not_a_batch_gateway",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            Conflict::TenantReferenceId => "tenant_reference_id already in use for this tenant",
            Conflict::SessionNotPayable => {
                "The payment session is not payable in its current status."
            }
            Conflict::SessionNotVerifiable => "The payment session is not awaiting verification.",
            Conflict::SessionNotCancellable => "Only a PENDING payment session can be cancelled.",
            Conflict::SubscriptionNotModifiable => {
                "The subscription's status does not allow this change."
            }
            Conflict::DuplicateLead => {
                "A lead with this email address already has a completed order."
            }
            Conflict::IdempotencyKeyInUse => {
                "A request with this Idempotency-Key is still being processed."
            }
            Conflict::LastSecretKey => {
                "This is the tenant's last active secret key; create another first, or pass ?force=true."
            }
            Conflict::IdempotencyKeyReused => {
                "This Idempotency-Key was already used with a different request."
            }
            Conflict::CustomerNotChargeable => {
                "The customer is deleted or its mandate is revoked; it cannot be charged."
            }
            Conflict::NoPendingCollections => {
                "The gateway has no pending collection outside a batch: no file was cut."
            }
            Conflict::NotBatchGateway => "Only BATCH gateways collect through bank files.",
        }
    }
}

/// Every error the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    Validation(ValidationErrors),
    #[error("invalid IBAN: {0}")]
    InvalidIban(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The transaction cannot be refunded (its kind or status); the text says why.
    #[error("refund not allowed: {0}")]
    RefundNotAllowed(String),
    /// The collections would make a bank file that breaks an EPC rule; the text says which.
    #[error("bank file invalid: {0}")]
    BankFileInvalid(String),
    #[error("not authenticated")]
    NotAuthenticated,
    #[error("authentication failed")]
    AuthenticationFailed,
    #[error("permission denied")]
    PermissionDenied,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("session expired")]
    SessionExpired,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("throttled")]
    Throttled { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A store failure the caller cannot act on (500); the store error stays its source, so
    /// the log line of the 500 names the cause ([`source_chain`]).
    #[error("internal error: the store failed")]
    Store(#[source] StoreError),
}

impl ApiError {
    /// A 400 with one field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(field, message))
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_error",
            ApiError::InvalidIban(_) => "invalid_iban",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::RefundNotAllowed(_) => "refund_not_allowed",
            ApiError::BankFileInvalid(_) => "bank_file_invalid",
            ApiError::NotAuthenticated => "not_authenticated",
            ApiError::AuthenticationFailed => "authentication_failed",
            ApiError::PermissionDenied => "permission_denied",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(c) => c.code(),
            ApiError::SessionExpired => "session_expired",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Throttled { .. } => "throttled",
            ApiError::ServiceUnavailable(_) => "service_unavailable",
            ApiError::Internal(_) | ApiError::Store(_) => "internal_error",
        }
    }

    /// The JSON body (`detail`, `code`, and `errors` for validation errors).
    pub fn body(&self) -> Value {
        let detail = match self {
            ApiError::Validation(_) => "Invalid request.".to_owned(),
            ApiError::InvalidIban(sentence) => sentence.clone(),
            ApiError::MalformedJson(why) => format!("JSON parse error - {why}"),
            ApiError::RefundNotAllowed(why) => why.clone(),
            ApiError::BankFileInvalid(why) => why.clone(),
            ApiError::NotAuthenticated => "Authentication credentials were not provided.".into(),
            ApiError::AuthenticationFailed => "Invalid or revoked API key.".into(),
            ApiError::PermissionDenied => "This key may not perform this action.".into(),
            ApiError::NotFound => "Not found.".into(),
            ApiError::MethodNotAllowed => "Method not allowed.".into(),
            ApiError::Conflict(c) => c.detail().into(),
            ApiError::SessionExpired => "The payment session has expired.".into(),
            ApiError::PayloadTooLarge => "Request bodies are limited to 64 KiB.".into(),
            ApiError::UnsupportedMediaType => "Send the request body as application/json.".into(),
            ApiError::Throttled { retry_after_secs } => {
                format!("Request was throttled. Expected available in {retry_after_secs} seconds.")
            }
            ApiError::ServiceUnavailable(_) => "The service is temporarily unavailable.".into(),
            ApiError::Internal(_) | ApiError::Store(_) => "Internal error.".into(),
        };
        match self {
            ApiError::Validation(errors) => {
                json!({"detail": detail, "code": self.code(), "errors": errors})
            }
            _ => json!({"detail": detail, "code": self.code()}),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_)
            | ApiError::InvalidIban(_)
            | ApiError::MalformedJson(_)
            | ApiError::RefundNotAllowed(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated | ApiError::AuthenticationFailed => StatusCode::UNAUTHORIZED,
            ApiError::PermissionDenied => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BankFileInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::SessionExpired => StatusCode::GONE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) | ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::Throttled { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::ServiceUnavailable(_) => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            _ => {}
        }
        res.json(self.body())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Unavailable(why) => ApiError::ServiceUnavailable(why),
            other => ApiError::Store(other),
        }
    }
}

/// The causes of `error` below its own message, outermost first, joined by `": "`; `None` when
/// it has no source. A cause whose text the message above it already ends with (a wrapper that
/// formats its source into its own message) is not repeated.
pub fn source_chain(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut above = error.to_string();
    let mut causes: Vec<String> = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !above.ends_with(&text) {
            causes.push(text.clone());
        }
        above = text;
        next = cause.source();
    }
    (!causes.is_empty()).then(|| causes.join(": "))
}

/// `error`'s message followed by its [`source_chain`], for a log line that has one field for
/// the error.
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    match source_chain(error) {
        Some(causes) => format!("{error}: {causes}"),
        None => error.to_string(),
    }
}

impl From<catalyst_store::subscriptions::ChangeError> for ApiError {
    fn from(e: catalyst_store::subscriptions::ChangeError) -> Self {
        use catalyst_store::subscriptions::ChangeError;
        match e {
            ChangeError::NotModifiable { .. } => {
                ApiError::Conflict(Conflict::SubscriptionNotModifiable)
            }
            ChangeError::Store(e) => e.into(),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Validation(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_keeps_its_cause_for_the_log() {
        let diesel = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("no such table: orders".to_owned()),
        );
        let error = ApiError::from(StoreError::from(diesel));
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            error.body(),
            json!({"detail": "Internal error.", "code": "internal_error"})
        );
        // The store's message already names the database error: it is not repeated.
        assert_eq!(
            source_chain(&error).as_deref(),
            Some("database error: no such table: orders")
        );
        assert_eq!(
            with_causes(&error),
            "internal error: the store failed: database error: no such table: orders"
        );
    }

    #[test]
    fn an_error_without_a_cause_has_no_chain() {
        assert_eq!(source_chain(&ApiError::NotFound), None);
        assert_eq!(source_chain(&ApiError::Internal("x".into())), None);
    }
}
