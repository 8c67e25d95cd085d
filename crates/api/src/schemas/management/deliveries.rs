//! `/webhook-deliveries/` (API.md §5, §9): the delivery log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::webhooks::WebhookEndpointEvent;

/// Where a delivery stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt got a 2xx.
    Delivered,
    /// Every retry failed; can be redelivered.
    Failed,
    /// Its endpoint or profile was deactivated (`last_error` says which); can be redelivered.
    Cancelled,
}

/// One HTTP attempt.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryAttempt {
    pub attempted_at: DateTime<Utc>,
    /// Null when no HTTP answer came (connection error, timeout).
    #[schema(required = true)]
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    #[schema(required = true)]
    pub error: Option<String>,
}

/// One event's delivery to one endpoint, with its attempts.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub id: Uuid,
    /// Stable across retries (`X-CatalystPay-Delivery`).
    pub event_id: Uuid,
    pub event: WebhookEndpointEvent,
    pub endpoint_id: Uuid,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due; null unless `pending`.
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_status_code: Option<u16>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(required = true)]
    pub last_latency_ms: Option<u32>,
    #[schema(required = true)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<DeliveryAttempt>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
