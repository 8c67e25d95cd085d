//! Bank-file batches of `BATCH` gateways (API.md §9.2).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schemas::Amount;

use super::gateways::GatewayPainVersion;

/// `POST /gateways/{id}/batches/` body (optional). Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCreate {
    /// A TARGET2 business day after today; absent or null: the earliest allowed.
    pub collection_date: Option<NaiveDate>,
}

/// A batch cut (without its file).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub id: Uuid,
    pub gateway_id: Uuid,
    pub collection_date: NaiveDate,
    pub pain_version: GatewayPainVersion,
    /// `B` + the batch id as 32 hex digits: the file's `MsgId`.
    pub message_id: String,
    pub transaction_count: u64,
    /// The exact sum of the file's amounts.
    pub control_sum: Amount,
    /// Always `EUR`.
    pub currency: String,
    pub created_at: DateTime<Utc>,
}
