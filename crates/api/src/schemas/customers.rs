//! Customers, their charges and subscriptions, and the subscription object (API.md §3.9, §9.1, §11).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::payments::{
    MandateSequenceType, PaymentAdapter, PaymentCustomer, PaymentErrorCode, PaymentErrorDetails,
    PaymentGateway, PaymentLead, PaymentMethod, PaymentOrder, PaymentSepa, PaymentSubscription,
    PaymentTransaction, PaymentTransactionStatus, PaymentTransactionType,
};
use super::sessions::SessionLocale;
use super::{Amount, AmountInput};

/// A saved customer (API.md §3.9).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[schema(inline)]
    pub object: CustomerObject,
    pub id: Uuid,
    /// The merchant's own user id.
    #[schema(required = true)]
    pub external_customer_id: Option<String>,
    pub status: CustomerStatus,
    /// As the session that saved the customer sent it.
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The mandate charges are collected under (the latest one a session of the customer
    /// signed); null when there is none.
    #[schema(required = true)]
    pub mandate: Option<CustomerMandate>,
    /// The gateway the mandate was signed for: charges go through it.
    #[schema(required = true)]
    pub gateway_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(required = true)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The customer object's `object`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerObject {
    Customer,
}

/// A customer's status: `DELETED` customers cannot be charged, subscribed or named by a session.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerStatus {
    Active,
    Deleted,
}

/// A customer's mandate.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerMandate {
    /// `MAND-` + the saving session's order number.
    pub reference: String,
    pub iban_last4: String,
    pub iban_country: String,
    /// Masked to full length: `******************3000`.
    pub iban: String,
    #[schema(required = true)]
    pub bic: Option<String>,
    #[schema(required = true)]
    pub bank_name: Option<String>,
    /// `FRST` until a collection succeeded, then `RCUR`.
    pub sequence_type: MandateSequenceType,
    pub signed_at: DateTime<Utc>,
    /// Set when the customer was deleted.
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /customers/{id}/charges/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// Above 0, with at most the currency's minor digits; at most 999999.99. A JSON number is
    /// accepted too.
    pub amount: AmountInput,
    /// ISO 4217: the customer's gateway's currency (SEPA: `EUR`).
    pub currency: String,
    /// The debit's statement text.
    #[schema(max_length = 255)]
    pub description: String,
    /// Unique per tenant together with the sessions' (`/pay/`).
    #[schema(max_length = 255)]
    pub tenant_reference_id: Option<String>,
    /// At most 50 keys of at most 30 characters, values of at most 2000.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The answer of `POST /customers/{id}/charges/` (201 whatever the outcome): the keys of the
/// result envelope (API.md §3.5), plus `description` and `metadata`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeResult {
    #[schema(inline)]
    pub object: ChargeResultObject,
    /// Always null: a charge has no session.
    #[schema(required = true)]
    pub session_token: Option<String>,
    pub status: ChargeResultStatus,
    pub livemode: bool,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub processed_at: Option<DateTime<Utc>>,
    pub order_number: String,
    /// Always null.
    #[schema(required = true)]
    pub verification_url: Option<String>,
    #[schema(required = true)]
    pub error: Option<String>,
    /// Always null: a failed charge is retried with a new request.
    #[schema(required = true)]
    pub retry_allowed: Option<bool>,
    pub transaction: PaymentTransaction,
    pub order: PaymentOrder,
    /// Always null.
    #[schema(required = true)]
    pub subscription: Option<PaymentSubscription>,
    pub customer: PaymentCustomer,
    pub lead: PaymentLead,
    pub amount: Amount,
    pub currency: String,
    pub payment_method: PaymentMethod,
    /// `sequence_type` is this collection's.
    pub sepa: PaymentSepa,
    pub adapter: PaymentAdapter,
    pub payment_gateway: PaymentGateway,
    /// For `pending`: code `gateway_unavailable`, the answer being reconciled.
    #[schema(required = true)]
    pub error_details: Option<PaymentErrorDetails>,
    /// The debit's statement text.
    #[schema(required = true)]
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// The charge result's `object`.
#[derive(Serialize, ToSchema)]
pub enum ChargeResultObject {
    #[serde(rename = "charge.result")]
    ChargeResult,
}

/// A charge's outcome; `pending` until the gateway's answer is known.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeResultStatus {
    Completed,
    Failed,
    Pending,
}

/// `POST /customers/{id}/subscriptions/` body: either `campaign_id` or an inline plan
/// (`amount`, `currency`, `billing_frequency`, `plan_name`), not both. Unknown fields are
/// refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerSubscriptionRequest {
    /// An active campaign of the tenant whose offer is `RECURRING` without trial, on the
    /// customer's gateway.
    pub campaign_id: Option<Uuid>,
    /// Inline plan: as a charge's amount.
    pub amount: Option<AmountInput>,
    /// Inline plan: the customer's gateway's currency.
    pub currency: Option<String>,
    /// Inline plan.
    pub billing_frequency: Option<SubscriptionBillingFrequency>,
    /// Inline plan.
    #[schema(max_length = 255)]
    pub plan_name: Option<String>,
    /// The first collection's day, not in the past; default today.
    pub start_date: Option<NaiveDate>,
}

/// The answer of `POST /customers/{id}/subscriptions/` (201).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerSubscription {
    #[schema(inline)]
    pub object: SubscriptionObject,
    pub id: Uuid,
    pub status: SubscriptionStatus,
    pub customer_id: Uuid,
    #[schema(required = true)]
    pub campaign_id: Option<Uuid>,
    /// The subscription's order (`ORD-…`, without a session).
    pub order_number: String,
    pub plan: SubscriptionPlan,
    pub next_billing_date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// A subscription's `object`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionObject {
    Subscription,
}

/// A subscription's status (API.md §3.8).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionStatus {
    PendingActivation,
    Active,
    Pending,
    PastDue,
    Paused,
    Cancelled,
    Expired,
    Chargedback,
    Failed,
}

/// The interval between recurring collections.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionBillingFrequency {
    Weekly,
    Biweekly,
    Monthly,
    Quarterly,
    Semiannually,
    Yearly,
}

/// What a subscription collects.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPlan {
    #[schema(required = true)]
    pub name: Option<String>,
    /// What the next collection debits.
    pub amount: Amount,
    pub currency: String,
    pub billing_frequency: SubscriptionBillingFrequency,
}

/// A subscription (API.md §9.1). List items leave out `collections`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    #[schema(inline)]
    pub object: SubscriptionObject,
    pub id: Uuid,
    pub status: SubscriptionStatus,
    pub plan: SubscriptionPlan,
    #[schema(required = true)]
    pub customer_id: Option<Uuid>,
    #[schema(required = true)]
    pub campaign_id: Option<Uuid>,
    /// Null for a subscription started without a session.
    #[schema(required = true)]
    pub session_token: Option<String>,
    pub order: SubscriptionOrder,
    pub mandate: SubscriptionMandate,
    pub next_billing_date: NaiveDate,
    /// Period `n` is due on `anchor_date` + n periods.
    pub anchor_date: NaiveDate,
    /// The day the next collection (or dunning retry) is made; null while paused and once ended.
    #[schema(required = true)]
    pub collect_on: Option<NaiveDate>,
    pub dunning: SubscriptionDunning,
    /// Days before a collection the `subscription.upcoming` notice goes out.
    pub notice_days: u32,
    /// When set, the subscription is cancelled instead of collected when the next collection
    /// is due.
    pub cancel_at_period_end: bool,
    #[schema(required = true)]
    pub paused_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Oldest first: the debit that started the subscription and every renewal attempt.
    /// Only on a single subscription, not on list items (never null).
    #[schema(nullable = false)]
    pub collections: Option<Vec<SubscriptionCollection>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription's order.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionOrder {
    pub id: Uuid,
    pub order_number: String,
}

/// The mandate a subscription collects under.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionMandate {
    pub reference: String,
    pub iban_last4: String,
    pub iban_country: String,
    #[schema(required = true)]
    pub bic: Option<String>,
    #[schema(required = true)]
    pub bank_name: Option<String>,
    pub sequence_type: MandateSequenceType,
    /// The mandate text the payer accepted; null for older mandates.
    #[schema(required = true)]
    pub text: Option<String>,
    /// The language the payer read the mandate in; null for older mandates.
    #[schema(required = true)]
    pub locale: Option<SessionLocale>,
}

/// A subscription's dunning state.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionDunning {
    /// Declined renewals since the last approved one.
    pub attempts: u32,
    /// Whole days to wait before each retry of a declined renewal.
    pub ladder: Vec<u32>,
}

/// One collection of a subscription.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCollection {
    pub transaction_id: Uuid,
    pub merchant_transaction_id: String,
    #[serde(rename = "type")]
    pub kind: PaymentTransactionType,
    pub status: PaymentTransactionStatus,
    pub amount: Amount,
    pub currency: String,
    /// The renewal's period date; null for the first debit.
    #[schema(required = true)]
    pub billing_period: Option<NaiveDate>,
    /// The renewal's attempt within its period; null for the first debit.
    #[schema(required = true)]
    pub billing_attempt: Option<u32>,
    #[schema(required = true)]
    pub processed_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub error_code: Option<PaymentErrorCode>,
}

/// `POST /subscriptions/{id}/cancel/` body; the body may be empty. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCancelRequest {
    /// `true`: cancel when the next collection is due instead of now. Default `false`.
    pub at_period_end: Option<bool>,
}

/// `PATCH /subscriptions/{id}/` body; an empty object changes nothing. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionUpdateRequest {
    /// Above 0, with the currency's digits; applies from the next collection on.
    pub amount: Option<AmountInput>,
    /// After today: the next collection's day, and the plan's new anchor.
    pub next_billing_date: Option<NaiveDate>,
}
