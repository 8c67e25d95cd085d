//! Applying a bank report (a `pain.002` status report or a `camt.054` notification) of a BATCH
//! gateway: each entry names a collection by its end-to-end id (the transaction id), and what
//! the bank did with it is applied through the same paths as a gateway's answer
//! ([`crate::outcome`]) or a chargeback ([`crate::reversals`]), all in one write transaction.
//!
//! The store does not read XML nor know SEPA reason codes: the caller turns the file into
//! [`Entry`]s. A report is recorded in `batch_imports` under the SHA-256 of its bytes, so the
//! same file imported again changes nothing and answers with the first import's summary.

use catalyst_domain::transaction::TransactionStatus;
use catalyst_domain::{GatewayId, TenantId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::connection::on_backend;
use crate::outcome::apply_outcome_in;
use crate::payments::Transaction;
use crate::reversals::{Reason, ReversalKind, record_chargeback_in};
use crate::schema::{batch_imports, batch_transactions, batches, transactions};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreError, StoreResult, tx};

/// Most unknown end-to-end ids and mismatches listed in a summary (all are counted).
pub const MAX_LISTED: usize = 100;

/// The kind of bank report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `pain.002` customer payment status report.
    Pain002,
    /// `camt.054` debit/credit notification.
    Camt054,
}

impl ReportKind {
    /// `pain.002` or `camt.054`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Pain002 => "pain.002",
            ReportKind::Camt054 => "camt.054",
        }
    }
}

/// Why the bank refused or sent back a collection, in the platform's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The SEPA reason code as the bank wrote it (`AM04`, `MD06`), if any.
    pub reason_code: Option<String>,
    /// The reason's meaning, if the code is known.
    pub description: Option<String>,
    /// The platform's decline code (`insufficient_funds`, …).
    pub error_code: String,
    /// The customer-facing message for that decline code.
    pub message: String,
}

/// What the bank says happened to one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Accepted or credited: a pending debit becomes approved.
    Settle,
    /// Rejected before settlement: a pending debit becomes declined.
    Reject(Refusal),
    /// Returned or refunded after settlement: an approved debit is reversed as `kind`; a debit
    /// still pending is declined.
    Return {
        /// Return or chargeback.
        kind: ReversalKind,
        /// Why.
        refusal: Refusal,
    },
    /// Nothing to apply (still in process, not booked).
    Keep,
}

/// One entry of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The end-to-end id (a transaction id as a UUID in simple form), when the bank gave one.
    pub end_to_end_id: Option<String>,
    /// The amount reported for the collection, in minor units, when reported.
    pub amount_minor: Option<i64>,
    /// The currency of that amount, when reported.
    pub currency: Option<String>,
    /// What happened.
    pub action: Action,
}

/// A report to apply.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The tenant importing it.
    pub tenant_id: &'a TenantId,
    /// The BATCH gateway whose batches it reports on.
    pub gateway_id: &'a GatewayId,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub digest: &'a str,
    /// Its kind.
    pub kind: ReportKind,
    /// The report's own message id.
    pub message_id: &'a str,
    /// Its entries, in file order.
    pub entries: &'a [Entry],
}

/// An entry that was not applied because it disagrees with its collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The entry's end-to-end id.
    pub end_to_end_id: String,
    /// What disagrees.
    pub message: String,
}

/// What an import did (stored with it, and answered again for a duplicate).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// `pain.002` or `camt.054`.
    pub kind: String,
    /// The report's message id.
    pub message_id: String,
    /// SHA-256 of the file.
    pub digest: String,
    /// The gateway it was imported for.
    pub gateway_id: String,
    /// When it was first imported.
    pub imported_at: NaiveDateTime,
    /// Entries read.
    pub entries: u64,
    /// Pending debits approved.
    pub approved: u64,
    /// Pending debits declined (rejected, or returned before they were approved).
    pub declined: u64,
    /// Approved debits returned.
    pub returned: u64,
    /// Approved debits charged back.
    pub chargebacks: u64,
    /// Entries naming no collection of this tenant and gateway in a batch.
    pub unknown: u64,
    /// Entries that changed nothing (already applied, or nothing to apply).
    pub unchanged: u64,
    /// Entries not applied because their amount or currency disagrees with the collection.
    pub mismatched: u64,
    /// The first [`MAX_LISTED`] unknown end-to-end ids (`""` for an entry without one).
    pub unknown_end_to_end_ids: Vec<String>,
    /// The first [`MAX_LISTED`] mismatches.
    pub mismatches: Vec<Mismatch>,
    /// True when this file had been imported before: nothing was applied this time.
    #[serde(skip)]
    pub duplicate: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = batch_imports)]
struct BatchImport {
    digest: String,
    tenant_id: TenantId,
    gateway_id: GatewayId,
    kind: String,
    summary: String,
    imported_at: NaiveDateTime,
}

/// Applies `report` in one write transaction and returns its summary; a file already imported
/// by the tenant (same digest) changes nothing and returns the first summary with `duplicate`.
pub fn import(
    conn: &mut DbConnection,
    report: &Report<'_>,
    now: NaiveDateTime,
) -> StoreResult<ImportSummary> {
    tx::write(conn, |conn| {
        if let Some(first) = previous(conn, report.tenant_id, report.digest)? {
            return Ok(first);
        }
        let row = BatchImport {
            digest: report.digest.to_owned(),
            tenant_id: report.tenant_id.to_owned(),
            gateway_id: report.gateway_id.to_owned(),
            kind: report.kind.as_str().to_owned(),
            summary: String::new(),
            imported_at: now,
        };
        // A concurrent import of the same file waits here for the first one and then finds it.
        match tx::savepoint(conn, |c| {
            on_backend!(c, |c| diesel::insert_into(batch_imports::table)
                .values(&row)
                .execute(c))
            .map_err(StoreError::from)
        }) {
            Err(StoreError::Conflict(_)) => {
                return previous(conn, report.tenant_id, report.digest)?
                    .ok_or(StoreError::Conflict("batch_imports"));
            }
            other => other?,
        };
        let mut summary = ImportSummary {
            kind: report.kind.as_str().to_owned(),
            message_id: report.message_id.to_owned(),
            digest: report.digest.to_owned(),
            gateway_id: report.gateway_id.to_string(),
            imported_at: now,
            ..ImportSummary::default()
        };
        for entry in report.entries {
            apply_entry(conn, report, entry, &mut summary, now)?;
        }
        let json = serde_json::to_string(&summary)
            .map_err(|e| StoreError::Corrupt(format!("import summary: {e}")))?;
        on_backend!(conn, |c| diesel::update(
            batch_imports::table.find((report.tenant_id, report.digest))
        )
        .set(batch_imports::summary.eq(&json))
        .execute(c))?;
        Ok(summary)
    })
}

/// The summary of the tenant's earlier import of the file `digest`, flagged `duplicate`.
fn previous(
    conn: &mut DbConnection,
    tenant_id: &TenantId,
    digest: &str,
) -> StoreResult<Option<ImportSummary>> {
    let row: Option<BatchImport> = on_backend!(conn, |c| batch_imports::table
        .find((tenant_id, digest))
        .select(BatchImport::as_select())
        .first(c)
        .optional())?;
    row.map(|r| {
        let mut s: ImportSummary = serde_json::from_str(&r.summary)
            .map_err(|e| StoreError::Corrupt(format!("batch_imports.summary: {e}")))?;
        s.duplicate = true;
        Ok(s)
    })
    .transpose()
}

/// The transaction `end_to_end_id` names, when it is the tenant's and sits in a batch of the
/// gateway.
fn collection(
    conn: &mut DbConnection,
    tenant_id: &TenantId,
    gateway_id: &GatewayId,
    end_to_end_id: &str,
) -> StoreResult<Option<Transaction>> {
    let Ok(id) = uuid::Uuid::try_parse(end_to_end_id.trim()) else {
        return Ok(None);
    };
    let id = id.hyphenated().to_string();
    let batched = batches::table
        .filter(batches::tenant_id.eq(tenant_id))
        .filter(batches::gateway_id.eq(gateway_id))
        .select(batches::id);
    on_backend!(conn, |c| transactions::table
        .filter(transactions::id.eq(&id))
        .filter(transactions::tenant_id.eq(tenant_id))
        .filter(transactions::gateway_id.eq(gateway_id))
        .filter(
            transactions::id.eq_any(
                batch_transactions::table
                    .filter(batch_transactions::batch_id.eq_any(batched))
                    .select(batch_transactions::transaction_id)
            )
        )
        .select(Transaction::as_select())
        .first(c)
        .optional())
    .map_err(Into::into)
}

fn apply_entry(
    conn: &mut DbConnection,
    report: &Report<'_>,
    entry: &Entry,
    summary: &mut ImportSummary,
    now: NaiveDateTime,
) -> StoreResult<()> {
    summary.entries += 1;
    let e2e = entry.end_to_end_id.as_deref().unwrap_or("");
    let found = match entry.end_to_end_id.as_deref() {
        Some(id) => collection(conn, report.tenant_id, report.gateway_id, id)?,
        None => None,
    };
    let Some(t) = found else {
        summary.unknown += 1;
        if summary.unknown_end_to_end_ids.len() < MAX_LISTED {
            summary.unknown_end_to_end_ids.push(e2e.to_owned());
        }
        return Ok(());
    };
    if let Some(message) = mismatch(entry, &t) {
        summary.mismatched += 1;
        if summary.mismatches.len() < MAX_LISTED {
            summary.mismatches.push(Mismatch {
                end_to_end_id: e2e.to_owned(),
                message,
            });
        }
        return Ok(());
    }
    let pending = t.status == TransactionStatus::Pending;
    match &entry.action {
        Action::Settle if pending => {
            let reference = t
                .gateway_reference
                .clone()
                .unwrap_or_else(|| t.id.to_string());
            apply_outcome_in(conn, &t.id, &Settlement::Approved { reference }, now)?;
            summary.approved += 1;
        }
        Action::Reject(refusal) | Action::Return { refusal, .. } if pending => {
            apply_outcome_in(conn, &t.id, &declined(&t, refusal), now)?;
            summary.declined += 1;
        }
        Action::Return { kind, refusal } if t.status == TransactionStatus::Approved => {
            let reason = Reason {
                code: refusal.reason_code.as_deref(),
                description: refusal.description.as_deref(),
                error_code: &refusal.error_code,
            };
            match record_chargeback_in(conn, &t.id, *kind, &reason, now)? {
                Some(_) if *kind == ReversalKind::Chargeback => summary.chargebacks += 1,
                Some(_) => summary.returned += 1,
                None => summary.unchanged += 1,
            }
        }
        _ => summary.unchanged += 1,
    }
    Ok(())
}

fn declined(t: &Transaction, refusal: &Refusal) -> Settlement {
    Settlement::Declined {
        reference: t.gateway_reference.clone(),
        code: refusal.error_code.clone(),
        message: refusal.message.clone(),
        gateway_code: refusal.reason_code.clone(),
        gateway_message: refusal.description.clone(),
        counts_as_attempt: true,
    }
}

/// Why an entry disagrees with its collection, if it does.
fn mismatch(entry: &Entry, t: &Transaction) -> Option<String> {
    if let Some(currency) = entry.currency.as_deref()
        && currency != t.currency
    {
        return Some(format!(
            "currency {currency:?} differs from the collection's {}",
            t.currency
        ));
    }
    if let Some(amount) = entry.amount_minor
        && amount != t.amount_minor
    {
        return Some(format!(
            "amount {amount} (minor units) differs from the collection's {}",
            t.amount_minor
        ));
    }
    None
}

/// The pain.008 file of the tenant's batch on `gateway_id` whose message id is `message_id`, if
/// there is one.
pub fn batch_file(
    conn: &mut DbConnection,
    tenant_id: &TenantId,
    gateway_id: &GatewayId,
    message_id: &str,
) -> StoreResult<Option<Vec<u8>>> {
    on_backend!(conn, |c| batches::table
        .filter(batches::tenant_id.eq(tenant_id))
        .filter(batches::gateway_id.eq(gateway_id))
        .filter(batches::message_id.eq(message_id))
        .select(batches::file)
        .first::<Vec<u8>>(c)
        .optional())
    .map_err(Into::into)
}

/// The transaction ids of the gateway's batch with pain.008 message id `message_id` (for a
/// status report that refuses the whole file without listing its transactions).
pub fn batch_transaction_ids(
    conn: &mut DbConnection,
    tenant_id: &TenantId,
    gateway_id: &GatewayId,
    message_id: &str,
) -> StoreResult<Vec<String>> {
    let batch = batches::table
        .filter(batches::tenant_id.eq(tenant_id))
        .filter(batches::gateway_id.eq(gateway_id))
        .filter(batches::message_id.eq(message_id))
        .select(batches::id);
    on_backend!(conn, |c| batch_transactions::table
        .filter(batch_transactions::batch_id.eq_any(batch))
        .order(batch_transactions::transaction_id)
        .select(batch_transactions::transaction_id)
        .load(c))
    .map_err(Into::into)
}
