//! Webhook profiles and their endpoints (API.md §5, §9).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /webhook-profiles/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookProfileCreate {
    #[schema(max_length = 255)]
    pub name: String,
    /// Default true.
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `PATCH /webhook-profiles/{id}/` body. Deactivating cancels the profile's pending
/// deliveries. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookProfileUpdate {
    #[schema(max_length = 255, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// A webhook profile. Its signing secret is shown only when created or rotated
/// ([`WebhookProfileWithSecret`]).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookProfile {
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A webhook profile with its signing secret: the answer of creation and rotation, the only
/// time the secret is shown.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookProfileWithSecret {
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `whsec_` + 32 characters: the HMAC-SHA256 key of the signatures.
    #[schema(pattern = r"^whsec_[A-Za-z0-9]{32}$")]
    pub secret: String,
}

/// How an endpoint receives events.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookEndpointDeliveryMethod {
    /// The payload as a JSON `POST` body (default).
    JsonPost,
    /// A `GET` with the payload as query parameters.
    UrlParams,
}

/// An event type (API.md §5).
#[derive(Serialize, ToSchema)]
pub enum WebhookEndpointEvent {
    #[serde(rename = "lead.imported")]
    LeadImported,
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.imported")]
    OrderImported,
    #[serde(rename = "transaction.created")]
    TransactionCreated,
    #[serde(rename = "transaction.imported")]
    TransactionImported,
    #[serde(rename = "transaction.status_changed")]
    TransactionStatusChanged,
    #[serde(rename = "chargeback.created")]
    ChargebackCreated,
    #[serde(rename = "chargeback.imported")]
    ChargebackImported,
    #[serde(rename = "subscription.created")]
    SubscriptionCreated,
    #[serde(rename = "subscription.imported")]
    SubscriptionImported,
    #[serde(rename = "subscription.status_changed")]
    SubscriptionStatusChanged,
    #[serde(rename = "subscription.updated")]
    SubscriptionUpdated,
    #[serde(rename = "subscription.renewed")]
    SubscriptionRenewed,
    #[serde(rename = "subscription.payment_failed")]
    SubscriptionPaymentFailed,
    #[serde(rename = "subscription.upcoming")]
    SubscriptionUpcoming,
    #[serde(rename = "payment_session.completed")]
    PaymentSessionCompleted,
    #[serde(rename = "payment_session.failed")]
    PaymentSessionFailed,
    #[serde(rename = "payment_session.expired")]
    PaymentSessionExpired,
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "customer.deleted")]
    CustomerDeleted,
    #[serde(rename = "charge.succeeded")]
    ChargeSucceeded,
    #[serde(rename = "charge.failed")]
    ChargeFailed,
    #[serde(rename = "refund.created")]
    RefundCreated,
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    #[serde(rename = "refund.failed")]
    RefundFailed,
}

/// `POST /webhook-profiles/{id}/endpoints/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointCreate {
    /// An http(s) URL; private addresses only where the deployment allows them.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// Default `JSON_POST`.
    #[schema(nullable = false)]
    pub delivery_method: Option<WebhookEndpointDeliveryMethod>,
    /// The subscribed types (not empty); absent or null: all.
    #[schema(min_items = 1)]
    pub events: Option<Vec<WebhookEndpointEvent>>,
    /// Output key → payload variable (`{"email": "lead.email"}`); at most 100 entries.
    pub payload_mapping: Option<BTreeMap<String, String>>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `PATCH /webhook-profiles/{id}/endpoints/{endpoint_id}/` body. Deactivating cancels the
/// endpoint's pending deliveries. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointUpdate {
    #[schema(format = "uri", max_length = 2048, nullable = false)]
    pub url: Option<String>,
    #[schema(nullable = false)]
    pub delivery_method: Option<WebhookEndpointDeliveryMethod>,
    #[schema(min_items = 1)]
    pub events: Option<Vec<WebhookEndpointEvent>>,
    pub payload_mapping: Option<BTreeMap<String, String>>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// A webhook endpoint of a profile.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub profile_id: Uuid,
    #[schema(format = "uri")]
    pub url: String,
    pub delivery_method: WebhookEndpointDeliveryMethod,
    /// The subscribed types; null: all.
    #[schema(required = true)]
    pub events: Option<Vec<WebhookEndpointEvent>>,
    /// Output key → payload variable; null: the default payload.
    #[schema(required = true)]
    pub payload_mapping: Option<BTreeMap<String, String>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
