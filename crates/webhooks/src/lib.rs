//! Catalyst webhooks (API.md §5): the sending side and the receiving side in one small crate.
//!
//! - [`canonical_json`]: the signed and sent body, byte for byte Python's
//!   `json.dumps(payload, sort_keys=True, separators=(',', ':'))`.
//! - [`sign`], [`sign_v2`], [`sign_payload`]: HMAC-SHA256 with the profile secret, lower-case
//!   hex.
//! - [`verify`] / [`verify_at`]: for receivers (merchants embed the crate with
//!   `default-features = false`, which drops reqwest).
//! - [`Outgoing::render`]: one event for one endpoint (`JSON_POST` or `URL_PARAMS`,
//!   `payload_mapping`) as the exact request; [`send`] (feature `send`, on by default) performs
//!   one attempt with a caller-provided `reqwest::Client`.
//! - [`next_attempt_delay`] / [`RetryPolicy`]: the retry ladder.
//!
//! ```
//! use std::time::Duration;
//! use serde_json::json;
//! use catalyst_webhooks::{EndpointSpec, Outgoing, Scheme, unix_now, verify};
//!
//! let secret = "whsec_5f1c9d";
//! let endpoint = EndpointSpec { url: "https://merchant.example/hooks".into(), ..Default::default() };
//! let payload = json!({"session_token": "ps_tok", "status": "COMPLETED", "amount": "49.90"});
//! let out = Outgoing::render("evt_01", "payment_session.completed", &payload, &endpoint, secret, unix_now())?;
//!
//! // … on the merchant's side, with the received headers and raw body:
//! let body = out.body.as_deref().unwrap_or_default();
//! let verified = verify(&out.headers, body, secret, Duration::from_secs(300))?;
//! assert_eq!(verified.scheme, Scheme::V2);
//! assert_eq!(verified.delivery_id.as_deref(), Some("evt_01"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::{SystemTime, UNIX_EPOCH};

mod canonical;
mod request;
mod retry;
#[cfg(feature = "send")]
mod send;
mod signature;
#[cfg(feature = "test-support")]
pub mod test_receiver;
mod verify;

pub use canonical::{CanonicalError, canonical_json};
pub use request::{
    DeliveryMethod, EndpointSpec, Method, Outgoing, RenderError, lookup_path, map_payload,
    query_pairs,
};
pub use retry::{InvalidScale, MAX_ATTEMPTS, RETRY_LADDER, RetryPolicy, next_attempt_delay};
#[cfg(feature = "send")]
pub use send::{AttemptResult, TARGET_NOT_ALLOWED, send};
pub use signature::{SignedPayload, sign, sign_payload, sign_v2};
pub use verify::{HeaderLookup, Scheme, Verified, VerifyError, verify, verify_at};

/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = "CatalystPay-Webhook/1.0";

/// Header names, as sent (receivers compare them case-insensitively).
pub mod header {
    /// `application/json` on `JSON_POST` deliveries (absent on `URL_PARAMS` GETs).
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// [`USER_AGENT`](crate::USER_AGENT).
    pub const USER_AGENT: &str = "User-Agent";
    /// The event type, e.g. `payment_session.completed`.
    pub const EVENT: &str = "X-CatalystPay-Event";
    /// The event id: stable across retries, so receivers can de-duplicate.
    pub const DELIVERY: &str = "X-CatalystPay-Delivery";
    /// Unix seconds when this attempt was signed (also the V2 `t`).
    pub const TIMESTAMP: &str = "X-CatalystPay-Timestamp";
    /// Lower-case hex HMAC-SHA256 of the body.
    pub const SIGNATURE: &str = "X-CatalystPay-Signature";
    /// `t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`.
    pub const SIGNATURE_V2: &str = "X-CatalystPay-Signature-V2";
}

/// The system clock in unix seconds (0 if it is set before 1970).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
