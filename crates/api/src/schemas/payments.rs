//! Paying a session: `/pay/`, `/verify/`, the result envelope, IBAN validation (API.md §3.3–§3.5, §4).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Amount;
use super::customers::{SubscriptionBillingFrequency, SubscriptionStatus};

/// `POST /iban-validate/` body.
#[derive(Serialize, ToSchema)]
pub struct IbanValidateRequest {
    /// Spaces and lower case accepted.
    pub iban: String,
}

/// The answer of `POST /iban-validate/` (API.md §4): 200 for any well-formed request.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IbanValidation {
    pub valid: bool,
    /// The IBAN normalized: no spaces, upper case.
    pub iban: String,
    /// ISO 3166-1 alpha-2; null when the input names no known country.
    #[schema(required = true)]
    pub country: Option<String>,
    /// From the bank registry; null when invalid or not in the registry.
    #[schema(required = true)]
    pub bank_name: Option<String>,
    #[schema(required = true)]
    pub bic: Option<String>,
    /// Whether the country is in SEPA; null when no country is known.
    #[schema(required = true)]
    pub sepa: Option<bool>,
    /// A sentence for the customer; null when valid.
    #[schema(required = true)]
    pub error: Option<String>,
    #[schema(required = true)]
    pub error_code: Option<IbanErrorCode>,
    #[schema(required = true)]
    pub error_params: Option<IbanErrorParams>,
}

/// Why an IBAN is invalid (stable).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IbanErrorCode {
    Empty,
    InvalidCharacter,
    MissingCountryCode,
    UnknownCountry,
    WrongLength,
    InvalidFormat,
    WrongCheckDigits,
}

/// The values the error sentence names, so a front end can word it in its own language.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IbanErrorParams {
    #[schema(required = true)]
    pub country: Option<String>,
    #[schema(required = true)]
    pub expected: Option<u32>,
    #[schema(required = true)]
    pub actual: Option<u32>,
    #[schema(required = true)]
    pub character: Option<String>,
}

/// `POST /payment-sessions/{token}/pay/` body (API.md §3.3).
#[derive(Serialize, ToSchema)]
pub struct PayRequest {
    /// Spaces and lower case accepted; a malformed IBAN is 400 `invalid_iban` and uses no attempt.
    pub iban: String,
    /// The account holder, at most 70 characters (the SEPA limit).
    #[schema(max_length = 70)]
    pub iban_holder_name: String,
    /// The merchant's own reference, unique per tenant (reuse: 409
    /// `tenant_reference_id_conflict`); stored only, never sent to the gateway.
    #[schema(max_length = 255)]
    pub tenant_reference_id: Option<String>,
    /// The language the payer read the mandate in; default the session's.
    pub locale: Option<crate::schemas::sessions::SessionLocale>,
}

/// `POST /payment-sessions/{token}/verify/` body (API.md §3.4); the body may be empty.
#[derive(Serialize, ToSchema)]
pub struct VerifyRequest {
    /// The pending verification's id: the `transaction.gateway_reference` of the `/pay/`
    /// envelope that asked for it. Another value is 400 and changes nothing.
    #[schema(max_length = 255)]
    pub verification_id: Option<String>,
}

/// The result envelope of `/pay/` and `/verify/` (API.md §3.5): every key is always present,
/// an absent value is `null`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentResult {
    #[schema(inline)]
    pub object: PaymentResultObject,
    /// The session's `ps_…` token.
    pub session_token: String,
    pub status: PaymentResultStatus,
    /// Whether the deployment moves real money.
    pub livemode: bool,
    /// The transaction's creation; null when nothing was debited.
    #[schema(required = true)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the transaction's outcome was known; null while unknown.
    #[schema(required = true)]
    pub processed_at: Option<DateTime<Utc>>,
    /// `ORD-` + 8 upper-case hex digits.
    pub order_number: String,
    /// Where the payer completes the verification; set only for `awaiting_verification`.
    #[schema(required = true)]
    pub verification_url: Option<String>,
    /// `error_details.message`, as a legacy flat field.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Whether `/pay/` may be called again: null when the question does not arise.
    #[schema(required = true)]
    pub retry_allowed: Option<bool>,
    /// The session's latest transaction; null when nothing was debited (`customer` mode).
    #[schema(required = true)]
    pub transaction: Option<PaymentTransaction>,
    pub order: PaymentOrder,
    /// The subscription the payment started; null for a one-off.
    #[schema(required = true)]
    pub subscription: Option<PaymentSubscription>,
    /// The saved customer; null in `payment` mode.
    #[schema(required = true)]
    pub customer: Option<PaymentCustomer>,
    pub lead: PaymentLead,
    pub amount: Amount,
    /// ISO 4217.
    pub currency: String,
    pub payment_method: PaymentMethod,
    pub sepa: PaymentSepa,
    pub adapter: PaymentAdapter,
    pub payment_gateway: PaymentGateway,
    /// Why the payment failed, or that its outcome is being reconciled; null otherwise.
    #[schema(required = true)]
    pub error_details: Option<PaymentErrorDetails>,
}

/// The envelope's `object`.
#[derive(Serialize, ToSchema)]
pub enum PaymentResultObject {
    #[serde(rename = "payment_session.result")]
    PaymentSessionResult,
}

/// The outcome as the envelope words it. `pending`: a `BATCH` gateway's debit awaits the
/// bank's report; `expired`: the session expired before it was paid.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentResultStatus {
    Completed,
    AwaitingVerification,
    Declined,
    Failed,
    Pending,
    Expired,
}

/// The envelope's `transaction`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentTransaction {
    pub id: Uuid,
    /// `TXN-YYYYMMDD-` + 8 upper-case hex digits; the gateway's idempotency key.
    pub merchant_transaction_id: String,
    /// The gateway's id of the transaction, once it answered.
    #[schema(required = true)]
    pub gateway_reference: Option<String>,
    #[schema(required = true)]
    pub tenant_reference_id: Option<String>,
    pub status: PaymentTransactionStatus,
    #[serde(rename = "type")]
    pub kind: PaymentTransactionType,
}

/// A transaction's status (API.md §3.5).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTransactionStatus {
    Pending,
    Approved,
    Declined,
    Refunded,
    ChargedBack,
}

/// A transaction's type (API.md §3.5).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTransactionType {
    SddSale,
    SddRebill,
    SddRefund,
    OtherType,
}

/// An order as the envelope and the refund object show it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentOrder {
    pub id: Uuid,
    /// `ORD-` + 8 upper-case hex digits.
    pub order_number: String,
    pub status: PaymentOrderStatus,
}

/// An order's status (API.md §3.8).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentOrderStatus {
    PendingPaymentSubmission,
    Pending,
    Completed,
    Failed,
    PartiallyRefunded,
    Refunded,
    Chargedback,
    Cancelled,
}

/// The envelope's `subscription`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentSubscription {
    pub id: Uuid,
    pub status: SubscriptionStatus,
    pub billing_frequency: SubscriptionBillingFrequency,
    pub next_billing_date: NaiveDate,
}

/// The envelope's `customer` (customer modes, charges).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentCustomer {
    pub id: Uuid,
    /// The merchant's own user id, as the session sent it.
    #[schema(required = true)]
    pub external_customer_id: Option<String>,
}

/// The envelope's `lead`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentLead {
    pub id: Uuid,
}

/// The envelope's `payment_method`: the mandate's account, null before one was signed.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    #[serde(rename = "type")]
    #[schema(inline)]
    pub kind: PaymentMethodType,
    #[schema(required = true)]
    pub iban_last4: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(required = true)]
    pub iban_country: Option<String>,
    /// From the bank registry; may be null.
    #[schema(required = true)]
    pub bic: Option<String>,
    /// From the bank registry; may be null.
    #[schema(required = true)]
    pub bank_name: Option<String>,
    #[schema(required = true)]
    pub holder_name: Option<String>,
}

/// The only payment method.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodType {
    SepaDebit,
}

/// The envelope's `sepa`: the mandate and the collection's sequence.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentSepa {
    /// `MAND-` + the order number.
    #[schema(required = true)]
    pub mandate_reference: Option<String>,
    #[schema(required = true)]
    pub sequence_type: Option<MandateSequenceType>,
    /// The gateway's SEPA creditor identifier, when configured.
    #[schema(required = true)]
    pub creditor_identifier: Option<String>,
}

/// The SEPA sequence type of a collection under a mandate.
#[derive(Serialize, ToSchema)]
pub enum MandateSequenceType {
    #[serde(rename = "FRST")]
    First,
    #[serde(rename = "RCUR")]
    Recurring,
    #[serde(rename = "OOFF")]
    OneOff,
    #[serde(rename = "FNAL")]
    Final,
}

/// The envelope's `adapter`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentAdapter {
    /// The gateway's adapter: `SANDBOX`, `EMP` or `BATCH`.
    pub name: String,
}

/// The envelope's `payment_gateway`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentGateway {
    pub id: Uuid,
    pub name: String,
    #[schema(required = true)]
    pub descriptor: Option<String>,
    pub test_mode: bool,
}

/// Why a transaction failed, or (code `gateway_unavailable` on a pending one) that its outcome
/// is being reconciled.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentErrorDetails {
    pub code: PaymentErrorCode,
    /// A sentence for the merchant.
    #[schema(required = true)]
    pub message: Option<String>,
    /// The raw code: a SEPA reason (`AM04`) or the gateway's own.
    #[schema(required = true)]
    pub gateway_code: Option<String>,
    #[schema(required = true)]
    pub gateway_message: Option<String>,
}

/// Why a debit or refund failed (stable, API.md §3.5).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentErrorCode {
    InsufficientFunds,
    InvalidIban,
    MandateRejected,
    AccountClosed,
    DoNotHonor,
    GatewayUnavailable,
    Unknown,
}
