//! `/gateways/` (API.md §9): where debits are routed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The adapter a gateway collects through; fixed once created.
#[derive(Serialize, ToSchema)]
pub enum GatewayAdapter {
    /// In-process test gateway with fixed outcomes (API.md §8).
    #[serde(rename = "SANDBOX")]
    Sandbox,
    /// emerchantpay Genesis.
    #[serde(rename = "EMP")]
    Emp,
    /// pain.008 bank files (API.md §9.2).
    #[serde(rename = "BATCH")]
    Batch,
}

/// `EMP` credentials.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayEmpCredentials {
    pub username: String,
    pub password: String,
    pub terminal_token: String,
    /// Base URL without query string, `https` unless `test_mode`; default staging or
    /// production by `test_mode`.
    #[schema(format = "uri", nullable = false)]
    pub endpoint: Option<String>,
}

/// The pain.008 version of a `BATCH` gateway's files.
#[derive(Serialize, ToSchema)]
pub enum GatewayPainVersion {
    #[serde(rename = "pain.008.001.08")]
    V08,
    #[serde(rename = "pain.008.001.02")]
    V02,
}

/// `BATCH` credentials: the creditor's account the bank files collect into.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayBatchCredentials {
    #[schema(max_length = 70)]
    pub creditor_name: String,
    /// A SEPA creditor identifier.
    pub creditor_id: String,
    pub iban: String,
    pub bic: String,
    /// Default `pain.008.001.08`.
    pub pain_version: Option<GatewayPainVersion>,
}

/// Write-only credentials of an `EMP` or `BATCH` gateway (`SANDBOX` takes none).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum GatewayCredentials {
    Emp(GatewayEmpCredentials),
    Batch(GatewayBatchCredentials),
}

/// `POST /gateways/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayCreate {
    #[schema(max_length = 255)]
    pub name: String,
    pub adapter: GatewayAdapter,
    #[schema(max_length = 255)]
    pub descriptor: Option<String>,
    /// Default true.
    #[schema(nullable = false)]
    pub test_mode: Option<bool>,
    /// `EUR` only (the default).
    #[schema(nullable = false)]
    pub currency: Option<String>,
    #[schema(max_length = 70)]
    pub creditor_name: Option<String>,
    /// A SEPA creditor identifier.
    pub creditor_identifier: Option<String>,
    /// Required for `EMP` and `BATCH`, refused for `SANDBOX`.
    #[schema(nullable = false)]
    pub credentials: Option<GatewayCredentials>,
    /// `SANDBOX` only. Default false.
    #[schema(nullable = false)]
    pub requires_verification: Option<bool>,
    /// Default true.
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `PATCH /gateways/{id}/` body: any of the create fields; `adapter` cannot change. Unknown
/// fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayUpdate {
    #[schema(max_length = 255, nullable = false)]
    pub name: Option<String>,
    /// Must be the gateway's own adapter.
    #[schema(nullable = false)]
    pub adapter: Option<GatewayAdapter>,
    #[schema(max_length = 255)]
    pub descriptor: Option<String>,
    #[schema(nullable = false)]
    pub test_mode: Option<bool>,
    #[schema(nullable = false)]
    pub currency: Option<String>,
    #[schema(max_length = 70)]
    pub creditor_name: Option<String>,
    pub creditor_identifier: Option<String>,
    /// Replaces the stored credentials.
    #[schema(nullable = false)]
    pub credentials: Option<GatewayCredentials>,
    #[schema(nullable = false)]
    pub requires_verification: Option<bool>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// A gateway. Credentials are never shown: `has_credentials` says whether there are any.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub id: Uuid,
    pub name: String,
    pub adapter: GatewayAdapter,
    #[schema(required = true)]
    pub descriptor: Option<String>,
    pub test_mode: bool,
    pub currency: String,
    #[schema(required = true)]
    pub creditor_name: Option<String>,
    #[schema(required = true)]
    pub creditor_identifier: Option<String>,
    pub has_credentials: bool,
    pub requires_verification: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
