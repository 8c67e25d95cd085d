//! `/campaigns/` (API.md §9): a pre-configured offer with its gateway, page and webhooks.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schemas::{Amount, AmountInput};

/// How the offer is billed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignBillingType {
    OneOff,
    Recurring,
    TrialRecurring,
}

/// How often a recurring offer renews.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CampaignBillingFrequency {
    Weekly,
    Biweekly,
    Monthly,
    Quarterly,
    Semiannually,
    Yearly,
}

/// The unit of a trial's length.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignTrialIntervalUnit {
    Day,
    Week,
    Month,
}

/// What a session does when its lead's email is already known.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CampaignDuplicatePolicy {
    /// Attach to the existing lead (default).
    Reuse,
    /// Always create a new lead.
    Allow,
    /// 409 `duplicate_lead` when the lead has a completed order.
    Reject,
}

/// The offer of `POST /campaigns/`. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignOfferCreate {
    #[schema(max_length = 255)]
    pub name: String,
    /// Greater than zero.
    pub price: AmountInput,
    /// ISO 4217; the gateway's currency.
    pub currency: String,
    pub billing_type: CampaignBillingType,
    /// Recurring offers only.
    pub billing_frequency: Option<CampaignBillingFrequency>,
    /// `TRIAL_RECURRING` only.
    #[schema(minimum = 1)]
    pub trial_period: Option<u32>,
    pub trial_interval_unit: Option<CampaignTrialIntervalUnit>,
    pub trial_price: Option<AmountInput>,
    #[schema(max_length = 255)]
    pub product_name: Option<String>,
    #[schema(max_length = 2000)]
    pub product_description: Option<String>,
}

/// The offer of `PATCH /campaigns/{id}/`: merged with the stored offer; changing `currency`
/// needs `price` (and `trial_price` when there is one). Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignOfferUpdate {
    #[schema(max_length = 255, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub price: Option<AmountInput>,
    #[schema(nullable = false)]
    pub currency: Option<String>,
    #[schema(nullable = false)]
    pub billing_type: Option<CampaignBillingType>,
    pub billing_frequency: Option<CampaignBillingFrequency>,
    #[schema(minimum = 1)]
    pub trial_period: Option<u32>,
    pub trial_interval_unit: Option<CampaignTrialIntervalUnit>,
    pub trial_price: Option<AmountInput>,
    #[schema(max_length = 255)]
    pub product_name: Option<String>,
    #[schema(max_length = 2000)]
    pub product_description: Option<String>,
}

/// `POST /campaigns/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignCreate {
    #[schema(max_length = 255)]
    pub name: String,
    /// An active gateway of the tenant.
    pub gateway_id: Uuid,
    pub offer: CampaignOfferCreate,
    /// An active hosted page of the tenant.
    pub hosted_page_id: Option<Uuid>,
    /// An active webhook profile of the tenant.
    pub webhook_profile_id: Option<Uuid>,
    /// Default 3.
    #[schema(minimum = 1, nullable = false)]
    pub max_payment_attempts: Option<u32>,
    /// Default `REUSE`.
    #[schema(nullable = false)]
    pub duplicate_policy: Option<CampaignDuplicatePolicy>,
    #[schema(format = "uri")]
    pub success_redirect_url: Option<String>,
    #[schema(format = "uri")]
    pub failure_redirect_url: Option<String>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
    /// Days to wait before each retry of a declined renewal (each 1–60, at most 10); `[]`
    /// never retries; null: the default `[3, 5, 7]`.
    #[schema(max_items = 10)]
    pub dunning_ladder: Option<Vec<u32>>,
    /// Days before a collection the `subscription.upcoming` notice goes out (0–60); null: 5.
    #[schema(maximum = 60)]
    pub prenotification_days: Option<u32>,
}

/// `PATCH /campaigns/{id}/` body: any of the create fields; `offer` may be partial. Unknown
/// fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignUpdate {
    #[schema(max_length = 255, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub gateway_id: Option<Uuid>,
    #[schema(nullable = false)]
    pub offer: Option<CampaignOfferUpdate>,
    pub hosted_page_id: Option<Uuid>,
    pub webhook_profile_id: Option<Uuid>,
    #[schema(minimum = 1, nullable = false)]
    pub max_payment_attempts: Option<u32>,
    #[schema(nullable = false)]
    pub duplicate_policy: Option<CampaignDuplicatePolicy>,
    #[schema(format = "uri")]
    pub success_redirect_url: Option<String>,
    #[schema(format = "uri")]
    pub failure_redirect_url: Option<String>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
    #[schema(max_items = 10)]
    pub dunning_ladder: Option<Vec<u32>>,
    #[schema(maximum = 60)]
    pub prenotification_days: Option<u32>,
}

/// A campaign's offer as shown.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignOffer {
    pub name: String,
    pub price: Amount,
    pub currency: String,
    pub billing_type: CampaignBillingType,
    /// Null for `ONE_OFF`.
    #[schema(required = true)]
    pub billing_frequency: Option<CampaignBillingFrequency>,
    /// Null without a trial.
    #[schema(required = true)]
    pub trial_period: Option<u32>,
    #[schema(required = true)]
    pub trial_interval_unit: Option<CampaignTrialIntervalUnit>,
    #[schema(required = true)]
    pub trial_price: Option<Amount>,
    #[schema(required = true)]
    pub product_name: Option<String>,
    #[schema(required = true)]
    pub product_description: Option<String>,
}

/// A campaign.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub gateway_id: Uuid,
    pub offer: CampaignOffer,
    #[schema(required = true)]
    pub hosted_page_id: Option<Uuid>,
    #[schema(required = true)]
    pub webhook_profile_id: Option<Uuid>,
    pub max_payment_attempts: u32,
    pub duplicate_policy: CampaignDuplicatePolicy,
    #[schema(required = true, format = "uri")]
    pub success_redirect_url: Option<String>,
    #[schema(required = true, format = "uri")]
    pub failure_redirect_url: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The effective ladder (the default `[3, 5, 7]` when not set).
    pub dunning_ladder: Vec<u32>,
    /// The effective notice (the default 5 when not set).
    pub prenotification_days: u32,
}
