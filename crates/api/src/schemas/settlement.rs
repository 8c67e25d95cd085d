//! Gateway notifications, bank reports and settling (API.md §8, §9.3).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Amount, ErrorBody};

/// The kind of bank report, told by the root's namespace.
#[derive(Serialize, ToSchema)]
pub enum BankReportKind {
    /// A customer payment status report.
    #[serde(rename = "pain.002")]
    Pain002,
    /// A debit/credit notification.
    #[serde(rename = "camt.054")]
    Camt054,
}

/// An entry not applied because its amount or currency differs from its collection.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankReportMismatch {
    pub end_to_end_id: String,
    pub message: String,
}

/// The summary of a bank report import (`201`, or `200` with `duplicate: true` when the same
/// file was imported before).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankReportImport {
    /// Always `bank_report_import`.
    #[schema(pattern = "^bank_report_import$")]
    pub object: String,
    pub kind: BankReportKind,
    /// The report's own message id.
    pub message_id: String,
    pub gateway_id: Uuid,
    /// SHA-256 of the file, lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub digest: String,
    /// When the file was first imported.
    pub imported_at: DateTime<Utc>,
    /// True when this file was imported before: nothing changed this time.
    pub duplicate: bool,
    /// Entries read.
    pub entries: u64,
    /// Pending debits approved.
    pub approved: u64,
    /// Pending debits declined.
    pub declined: u64,
    /// Approved debits returned.
    pub returned: u64,
    /// Approved debits charged back.
    pub chargebacks: u64,
    /// Entries naming no collection of this tenant and gateway in a batch.
    pub unknown: u64,
    /// Entries that changed nothing.
    pub unchanged: u64,
    /// Entries not applied: amount or currency differs.
    pub mismatched: u64,
    /// The first 100 unknown end-to-end ids.
    pub unknown_end_to_end_ids: Vec<String>,
    /// The first 100 mismatches.
    pub mismatches: Vec<BankReportMismatch>,
}

/// Where the file could not be read.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankReportFileError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// The code of an unreadable bank report.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BankReportErrorCode {
    MalformedBankFile,
}

/// `malformed_bank_file`: not well-formed XML, not a pain.002 or camt.054 document, or a
/// required element missing; nothing changed.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankReportRejection {
    pub detail: String,
    pub code: BankReportErrorCode,
    pub errors: Vec<BankReportFileError>,
}

/// The `400` of a bank report import: an unreadable file, or a request error
/// (`validation_error` on `gateway_id` for a gateway that is not `BATCH`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BankReportBadRequest {
    Rejection(BankReportRejection),
    Error(ErrorBody),
}

/// A chargeback or return recorded by `POST /sandbox/settle/`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettleChargebackKind {
    /// The debtor claimed the money back (`MD06`, `MD01`).
    Chargeback,
    /// The bank returned the collection unpaid (`AM04`, …).
    Return,
}

/// One reversal `POST /sandbox/settle/` recorded.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleChargeback {
    pub id: Uuid,
    pub transaction_id: Uuid,
    pub kind: SettleChargebackKind,
    /// The SEPA reason code (`MD06`, `AM04`).
    #[schema(required = true)]
    pub reason_code: Option<String>,
    /// The normalized decline code (`insufficient_funds`, …).
    pub error_code: String,
    pub amount: Amount,
    pub currency: String,
    pub report_date: NaiveDate,
}

/// The answer of `POST /sandbox/settle/`: the reversals applied now (each debit at most once).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleResult {
    /// How many reversals were recorded.
    pub settled: u64,
    pub chargebacks: Vec<SettleChargeback>,
}
