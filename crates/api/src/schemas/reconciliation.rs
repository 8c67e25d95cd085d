//! The reconciliation API: transactions, chargebacks, subscriptions (API.md §6) and refunds (§10).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::customers::{SubscriptionBillingFrequency, SubscriptionStatus};
use super::payments::{
    MandateSequenceType, PaymentErrorCode, PaymentErrorDetails, PaymentOrder,
    PaymentTransactionStatus, PaymentTransactionType,
};
use super::{Amount, AmountInput};

/// A processed transaction in `GET /reconciliation/transactions/` (API.md §6). IBANs are
/// masked to full length (`******************3000`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationTransaction {
    pub id: Uuid,
    pub merchant_transaction_id: String,
    #[schema(required = true)]
    pub gateway_reference: Option<String>,
    #[schema(required = true)]
    pub tenant_reference_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: PaymentTransactionType,
    /// Never `pending`: pending transactions have no `date_processed` and are not listed.
    pub status: PaymentTransactionStatus,
    pub amount: Amount,
    pub currency: String,
    /// When the outcome was known; the listing's date field.
    pub date_processed: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Null for transactions without a session (charges, renewals, refunds).
    #[schema(required = true)]
    pub session_token: Option<String>,
    pub order_id: Uuid,
    pub order_number: String,
    pub payment_gateway_id: Uuid,
    /// Masked to full length.
    pub iban: String,
    #[schema(required = true)]
    pub bic: Option<String>,
    #[schema(required = true)]
    pub bank_name: Option<String>,
    pub mandate_reference: String,
    pub sequence_type: MandateSequenceType,
    #[schema(required = true)]
    pub error_code: Option<PaymentErrorCode>,
    #[schema(required = true)]
    pub error_message: Option<String>,
    /// The raw code: a SEPA reason (`AM04`) or the gateway's own.
    #[schema(required = true)]
    pub gateway_code: Option<String>,
}

/// A chargeback or return in `GET /reconciliation/chargebacks/` (API.md §6).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationChargeback {
    pub id: Uuid,
    /// The debit taken back.
    pub transaction_id: Uuid,
    pub merchant_transaction_id: String,
    #[schema(required = true)]
    pub tenant_reference_id: Option<String>,
    pub kind: ReconciliationChargebackKind,
    /// The SEPA reason code (`MD06`, `AM04`, …).
    #[schema(required = true)]
    pub reason_code: Option<String>,
    #[schema(required = true)]
    pub reason_description: Option<String>,
    pub error_code: PaymentErrorCode,
    pub amount: Amount,
    pub currency: String,
    /// The listing's date field.
    pub report_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub gateway_reference: Option<String>,
    pub order_number: String,
    pub payment_gateway_id: Uuid,
    /// Masked to full length.
    pub iban: String,
    pub mandate_reference: String,
}

/// How the payer's bank took a collection back.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationChargebackKind {
    /// The debtor claimed a refund.
    Chargeback,
    /// The bank returned the debit unpaid after settlement.
    Return,
}

/// A subscription in `GET /reconciliation/subscriptions/` (API.md §6).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationSubscription {
    pub id: Uuid,
    pub status: SubscriptionStatus,
    pub billing_frequency: SubscriptionBillingFrequency,
    pub amount: Amount,
    pub currency: String,
    pub next_billing_date: NaiveDate,
    /// The listing's date field.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Null for a subscription started without a session.
    #[schema(required = true)]
    pub session_token: Option<String>,
    pub order_number: String,
    #[schema(required = true)]
    pub customer_id: Option<Uuid>,
    pub payment_gateway_id: Uuid,
    /// Masked to full length.
    pub iban: String,
    pub mandate_reference: String,
}

/// `POST /transactions/{id}/refund/` body (API.md §10.1); the body may be empty. Unknown
/// fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Above 0, with at most the currency's minor digits, at most what is left to refund (a JSON
    /// number is accepted too); default everything not refunded yet.
    pub amount: Option<AmountInput>,
    /// Kept as the refund's description and sent to the gateway as the statement text.
    #[schema(max_length = 255)]
    pub reason: Option<String>,
}

/// A refund (API.md §10.1): its own `sdd_refund` transaction on the debit's order.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    #[schema(inline)]
    pub object: RefundObject,
    /// The refund transaction's id (same as `refund_transaction.id`).
    pub id: Uuid,
    /// The refunded debit.
    pub transaction_id: Uuid,
    pub refund_transaction: RefundTransaction,
    pub amount: Amount,
    pub currency: String,
    #[schema(required = true)]
    pub reason: Option<String>,
    pub status: RefundStatus,
    /// Why the refund failed; null unless `failed`.
    #[schema(required = true)]
    pub error_details: Option<PaymentErrorDetails>,
    pub order: PaymentOrder,
    pub created_at: DateTime<Utc>,
    /// When the gateway's answer was known; null while `pending`.
    #[schema(required = true)]
    pub processed_at: Option<DateTime<Utc>>,
}

/// The refund object's `object`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundObject {
    Refund,
}

/// A refund's transaction.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundTransaction {
    pub id: Uuid,
    /// A new `TXN-` id: the gateway's idempotency key.
    pub merchant_transaction_id: String,
    #[schema(required = true)]
    pub gateway_reference: Option<String>,
    pub status: PaymentTransactionStatus,
    /// Always `sdd_refund`.
    #[serde(rename = "type")]
    pub kind: PaymentTransactionType,
}

/// A refund's outcome: `pending` while the gateway's answer is not known (the `refund.*`
/// webhooks tell it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

/// The format of a reconciliation listing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationFormat {
    Json,
    Xml,
    Csv,
}
