//! The documented shapes of the API's JSON bodies: the schemas of the OpenAPI document
//! (`docs/openapi.json`), from which clients are generated.
//!
//! Handlers build their bodies with `serde_json`; the types here only describe them and are
//! never built. The API tests keep them true: every response a test receives from a documented
//! operation is validated against that operation's schema for its status
//! (`crates/api/tests/common/contract.rs`), and `tests/openapi_client.rs` checks that a client
//! generated from the document has every field API.md names.
//!
//! Conventions: a response object denies unknown fields (`additionalProperties: false`), so a
//! field the server adds without documenting it fails the tests; a key that is always present
//! but may be `null` is an `Option` marked `#[schema(required = true)]`; a key that may be
//! omitted is a plain `Option`; money is a decimal string (`Amount`).
#![allow(dead_code)]

pub mod customers;
pub mod imports;
pub mod management;
pub mod payments;
pub mod reconciliation;
pub mod sessions;
pub mod settlement;

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// Every error response (API.md §2).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// A human sentence.
    pub detail: String,
    /// Stable: clients branch on it.
    pub code: ErrorCode,
    /// `validation_error` only: field path (`lead.email`, `line_items.1.amount`) → messages.
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// `internal_error` only: the request's `X-Request-Id`, to quote to the operator.
    pub request_id: Option<String>,
}

/// The stable error codes (API.md §2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ValidationError,
    InvalidIban,
    MalformedJson,
    RefundNotAllowed,
    MalformedBankFile,
    MalformedCsv,
    ImportInvalid,
    NotAuthenticated,
    AuthenticationFailed,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    TenantReferenceIdConflict,
    SessionNotPayable,
    SessionNotVerifiable,
    SessionNotCancellable,
    SubscriptionNotModifiable,
    CustomerNotChargeable,
    DuplicateLead,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    LastSecretKey,
    NoPendingCollections,
    NotABatchGateway,
    BankFileInvalid,
    SessionExpired,
    PayloadTooLarge,
    UnsupportedMediaType,
    Throttled,
    ServiceUnavailable,
    InternalError,
}

/// A money amount: an exact decimal string in major units with the currency's minor digits
/// (`"29.99"`). Requests also accept a JSON number (API.md §3.1); responses always send the
/// string.
#[derive(Serialize, ToSchema)]
#[schema(value_type = String, example = "29.99", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
pub struct Amount(String);

/// One page of a list (`?cursor=` pages): `results` in the list's order and the links to
/// the neighbouring pages, null at either end.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Page<T: ToSchema> {
    /// The next page's URL, or null on the last page.
    #[schema(required = true, format = "uri")]
    pub next: Option<String>,
    /// The previous page's URL, or null on the first page.
    #[schema(required = true, format = "uri")]
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// A money amount in a request: a decimal string with at most the currency's minor digits
/// (`"29.99"`, what clients should send), or a JSON number, which API.md also accepts and the
/// server reads from its decimal text, never through a float.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AmountInput {
    Decimal(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}
