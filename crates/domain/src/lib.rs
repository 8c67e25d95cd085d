//! Catalyst's pure domain model: money, ids, tokens, leads, billing, statuses and the
//! payment-session request rules.
//!
//! No I/O, no framework types: the HTTP API and any embedding service run the same checks by
//! calling the same functions. Validation errors come back as [`ValidationErrors`], a map from
//! field path to messages worded like Django REST Framework's.
//!
//! # Example: create a session request and resolve it against a campaign
//!
//! ```
//! use catalyst_domain::{
//!     BillingFrequency, BillingType, CampaignOffer, CreateSessionRequest, Currency, Locale,
//!     Money,
//! };
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let body = json!({
//!     "campaign_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
//!     "amount": "19.99",
//!     "lead": {
//!         "first_name": "Max", "last_name": "Mustermann",
//!         "email": "max@example.de", "country": "DE"
//!     },
//!     "metadata": {"order_ref": "A-1001"}
//! });
//! let request = CreateSessionRequest::from_json(&body)?;
//! assert_eq!(request.locale(), Locale::De);
//!
//! // The campaign's offer, as loaded by the caller.
//! let offer = CampaignOffer {
//!     name: "Pro plan".into(),
//!     price: Money::parse("29.99", Currency::EUR)?,
//!     billing_type: BillingType::Recurring,
//!     billing_frequency: Some(BillingFrequency::Monthly),
//!     trial: None,
//!     product_name: None,
//!     product_description: None,
//! };
//! let terms = request.resolve(Some(&offer), Some(5))?;
//! assert_eq!(terms.pricing.amount().to_decimal_string(), "19.99");
//! assert_eq!(terms.pricing.billing_frequency(), Some(BillingFrequency::Monthly));
//! assert_eq!(terms.max_payment_attempts, 5);
//! assert_eq!(terms.offer_overrides["amount"], "19.99");
//!
//! // Invalid input: every error at once, keyed by field path.
//! let errors = CreateSessionRequest::from_json(&json!({"lead": {"email": "nope"}})).unwrap_err();
//! assert_eq!(errors.get("amount").unwrap(), ["This field is required in direct mode."]);
//! assert_eq!(errors.get("lead.email").unwrap(), ["Enter a valid email address."]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod macros;

/// Compiles and runs the README's example as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod billing;
pub mod country;
pub mod dunning;
pub mod ids;
pub mod lead;
pub mod money;
pub mod net;
pub mod secret;
pub mod session;
pub mod status;
pub mod token;
pub mod transaction;
pub mod validation;
pub mod webhook;

pub use billing::{BillingFrequency, BillingType, Pricing, PricingInput, Trial, TrialIntervalUnit};
pub use country::is_iso_country;
pub use ids::{
    ApiKeyId, BatchId, CampaignId, ChargebackId, CustomerId, DeliveryId, GatewayId, HostedPageId,
    IdParseError, LeadId, MandateId, OrderId, SessionId, SubscriptionId, TenantId, TransactionId,
    WebhookEndpointId, WebhookProfileId,
};
pub use lead::{DuplicatePolicy, NewLead};
pub use money::{Currency, Money, MoneyError, parse_amount_json};
pub use secret::Secret;
pub use session::{
    CampaignOffer, CreateSessionRequest, LineItem, LineItemInput, Locale, Metadata, SessionMode,
    SessionTerms,
};
pub use status::{CustomerStatus, OrderStatus, SessionStatus, SubscriptionStatus, TransitionError};
pub use token::{
    ApiKeyToken, BearerToken, KeyKind, SessionToken, TokenError, WebhookSecret, constant_time_eq,
    sha256_hex,
};
pub use validation::{InvalidChoice, ValidationErrors};
