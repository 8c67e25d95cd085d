//! Payment sessions: create, retrieve, cancel (API.md §3.1, §3.2, §3.7).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::customers::SubscriptionBillingFrequency;
use super::{Amount, AmountInput};

/// `POST /payment-sessions/` body (API.md §3.1). Campaign mode when `campaign_id` is given
/// (any pricing field overrides the campaign's for this session); direct mode otherwise, where
/// `gateway_id`, `amount`, `currency` and `billing_type` are required. Unknown fields are
/// ignored.
#[derive(Serialize, ToSchema)]
pub struct SessionCreateRequest {
    /// An active campaign of the caller's tenant.
    pub campaign_id: Option<Uuid>,
    /// Direct mode: required; campaign mode: an override. An active gateway of the tenant.
    pub gateway_id: Option<Uuid>,
    /// Above 0, with at most the currency's minor digits (`"0.00"` only in `customer` mode); at
    /// most 999999.99. A JSON number is accepted too.
    pub amount: Option<AmountInput>,
    /// ISO 4217, supported by the gateway (SEPA: `EUR`).
    pub currency: Option<String>,
    pub billing_type: Option<SessionBillingType>,
    /// Required when recurring; refused for `ONE_OFF`.
    pub billing_frequency: Option<SubscriptionBillingFrequency>,
    /// With `TRIAL_RECURRING`.
    #[schema(minimum = 1)]
    pub trial_period: Option<u32>,
    /// With `TRIAL_RECURRING`.
    pub trial_interval_unit: Option<SessionTrialIntervalUnit>,
    /// With `TRIAL_RECURRING`; `"0.00"` allowed.
    pub trial_price: Option<AmountInput>,
    /// Default: the campaign's, or 3 in direct mode.
    #[schema(minimum = 1, maximum = 10)]
    pub max_payment_attempts: Option<u8>,
    /// Routes this session's webhook events.
    pub webhook_profile_id: Option<Uuid>,
    /// Branding; overrides the campaign's page.
    pub hosted_page_id: Option<Uuid>,
    /// IPv4 or IPv6, forwarded to the gateway for fraud screening; default the caller's address.
    pub customer_ip: Option<String>,
    pub lead: SessionLeadInput,
    /// KOMOJU semantics (API.md §3.6); default `payment`.
    pub mode: Option<SessionMode>,
    /// Customer modes only: an `ACTIVE` customer of the tenant to save the mandate on.
    pub customer_id: Option<Uuid>,
    /// The merchant's own user id, stored and echoed.
    #[schema(max_length = 255)]
    pub external_customer_id: Option<String>,
    /// Absolute http(s) URL the hosted page sends the customer to, with `session_token`
    /// appended. The server parses it leniently: it also takes characters a strict URI may not hold.
    pub return_url: Option<String>,
    /// Default 86400; the session becomes `EXPIRED` afterwards.
    #[schema(minimum = 60, maximum = 86400)]
    pub expires_in_seconds: Option<u32>,
    /// The hosted page's language; default from `lead.country`, else `en`.
    pub default_locale: Option<SessionLocale>,
    /// Only `["sepa_debit"]` is accepted.
    pub payment_types: Option<Vec<SessionPaymentType>>,
    /// Shown on the hosted page; at most 100.
    #[schema(max_items = 100)]
    pub line_items: Option<Vec<LineItemInput>>,
    /// At most 50 keys of at most 30 characters, values of at most 2000; echoed in the session
    /// and webhooks.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// How an offer is charged.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionBillingType {
    OneOff,
    Recurring,
    TrialRecurring,
}

/// The unit of a trial's length.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionTrialIntervalUnit {
    Day,
    Week,
    Month,
}

/// What paying the session does (API.md §3.6).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    Payment,
    Customer,
    CustomerPayment,
}

/// A hosted page language.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionLocale {
    En,
    De,
    Fr,
    Es,
    It,
    Nl,
    Ja,
    Pl,
    Pt,
}

/// A payment method a session accepts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionPaymentType {
    SepaDebit,
}

/// The payer, as the create request sends it.
#[derive(Serialize, ToSchema)]
pub struct SessionLeadInput {
    #[schema(max_length = 255)]
    pub first_name: String,
    #[schema(max_length = 255)]
    pub last_name: String,
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// E.164-ish, at most 32 characters.
    #[schema(max_length = 32)]
    pub phone: Option<String>,
}

/// A line item as the create request sends it.
#[derive(Serialize, ToSchema)]
pub struct LineItemInput {
    #[schema(max_length = 255)]
    pub description: String,
    pub amount: AmountInput,
    /// Default 1.
    #[schema(minimum = 1)]
    pub quantity: Option<u32>,
    pub external_product_num: Option<String>,
}

/// The answer of `POST /payment-sessions/` (201).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCreated {
    /// `ps_` + 32 characters: the credential of `/pay/`, `/verify/` and the hosted page.
    pub session_token: String,
    /// Always `PENDING`.
    pub status: SessionStatus,
    /// The hosted payment page: `<public base>/s/ps_…`.
    #[schema(format = "uri")]
    pub payment_url: String,
}

/// A payment session's status (API.md §3.8); the last three are terminal.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Pending,
    PaymentInProgress,
    AwaitingVerification,
    Completed,
    Failed,
    Expired,
}

/// A payment session as the hosted page needs it (API.md §3.2); also the answer of cancel.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub session_token: String,
    pub status: SessionStatus,
    pub mode: SessionMode,
    pub amount: Amount,
    /// ISO 4217.
    pub currency: String,
    /// `/pay/` calls left before the session fails.
    pub attempts_remaining: u32,
    pub expires_at: DateTime<Utc>,
    #[schema(required = true, format = "uri")]
    pub return_url: Option<String>,
    pub default_locale: SessionLocale,
    pub line_items: Vec<LineItem>,
    pub metadata: BTreeMap<String, String>,
    /// The campaign's and hosted page's presentation; null in direct mode without a hosted page.
    #[schema(required = true)]
    pub campaign: Option<SessionCampaign>,
    pub offer: SessionOffer,
    pub mandate: SessionMandate,
    /// The payer as this session's creation request sent it.
    pub lead: SessionPayer,
}

/// A line item of a session.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub description: String,
    pub amount: Amount,
    pub quantity: u32,
    #[schema(required = true)]
    pub external_product_num: Option<String>,
}

/// A session's campaign and hosted page presentation.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCampaign {
    /// The campaign's name; null for a direct session with a hosted page.
    #[schema(required = true)]
    pub name: Option<String>,
    pub branding: SessionBranding,
    pub content: SessionContent,
    pub show_product_name: bool,
    pub show_product_price: bool,
    pub show_product_description: bool,
    /// The offer fields this session's request overrode, with their values.
    #[schema(value_type = Object)]
    pub offer_overrides: BTreeMap<String, serde_json::Value>,
    #[schema(required = true)]
    pub success_redirect_url: Option<String>,
    #[schema(required = true)]
    pub failure_redirect_url: Option<String>,
}

/// The hosted page's branding.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBranding {
    #[schema(required = true)]
    pub logo_url: Option<String>,
    #[schema(required = true)]
    pub primary_color: Option<String>,
    #[schema(required = true)]
    pub accent_color: Option<String>,
}

/// The hosted page's texts.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionContent {
    #[schema(required = true)]
    pub headline: Option<String>,
}

/// What the session sells.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionOffer {
    /// The campaign offer's name; null in direct mode.
    #[schema(required = true)]
    pub name: Option<String>,
    /// The session's amount.
    pub price: Amount,
    pub currency: String,
    pub billing_type: SessionOfferBillingType,
    #[schema(required = true)]
    pub billing_frequency: Option<SubscriptionBillingFrequency>,
    #[schema(required = true)]
    pub product_name: Option<String>,
    #[schema(required = true)]
    pub product_description: Option<String>,
}

/// How an offer is charged, in lower case (the session's `offer.billing_type`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionOfferBillingType {
    OneOff,
    Recurring,
    TrialRecurring,
}

/// The SEPA mandate the payer accepts on the hosted page.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionMandate {
    #[schema(inline)]
    pub acceptance_mode: SessionMandateAcceptanceMode,
    /// The mandate text in the session's locale.
    pub text: String,
    /// The hosted page's creditor name, else the gateway's, else the gateway's name.
    pub creditor_name: String,
    #[schema(required = true)]
    pub creditor_address: Option<String>,
    /// The hosted page's SEPA creditor identifier, else the gateway's.
    #[schema(required = true)]
    pub creditor_identifier: Option<String>,
}

/// How the payer accepts the mandate.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMandateAcceptanceMode {
    Checkbox,
}

/// The payer shown by a session.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPayer {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}
