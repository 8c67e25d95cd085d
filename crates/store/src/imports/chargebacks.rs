//! Imported reversals (`POST /imports/chargebacks/`): a chargeback or return of an approved
//! debit of the tenant, recorded through [`crate::reversals`] with `chargeback.imported`.

use catalyst_domain::transaction::TransactionStatus;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::reversals::{self, Reason, ReversalKind};
use crate::schema::transactions;
use crate::{DbConnection, StoreResult, Transaction};

use super::{Rejection, Target};

/// One imported reversal, validated by the caller.
#[derive(Debug, Clone)]
pub struct ChargebackRow {
    /// The reversed debit's `merchant_transaction_id`.
    pub merchant_transaction_id: String,
    /// When given, must be the debit's amount (SEPA reverses the whole collection).
    pub amount_minor: Option<i64>,
    /// When given, must be the debit's currency.
    pub currency: Option<String>,
    pub kind: ReversalKind,
    /// A SEPA reason code (`MD06`, `AM04`, …).
    pub reason_code: String,
    pub reason_description: String,
    /// Our normalized decline code for the reason.
    pub error_code: String,
    pub report_date: NaiveDate,
}

/// Checks one imported reversal and, unless `check_only`, records it inside the import's
/// transaction (chargeback row; transaction, order and subscription charged back; events).
pub fn import_chargeback(
    conn: &mut DbConnection,
    target: Target<'_>,
    row: ChargebackRow,
    check_only: bool,
    now: NaiveDateTime,
) -> StoreResult<Result<(), Rejection>> {
    let t: Option<Transaction> = on_backend!(conn, |c| transactions::table
        .filter(transactions::merchant_transaction_id.eq(&row.merchant_transaction_id))
        .filter(transactions::tenant_id.eq(target.tenant_id))
        .select(Transaction::as_select())
        .first(c)
        .optional())?;
    let Some(t) = t else {
        return Ok(Err(Rejection::new(
            "merchant_transaction_id",
            "No transaction of this tenant has this id.",
        )));
    };
    if t.refund_of.is_some() {
        return Ok(Err(Rejection::new(
            "merchant_transaction_id",
            "This is a refund; only debits can be charged back.",
        )));
    }
    if t.status != TransactionStatus::Approved {
        return Ok(Err(Rejection::new(
            "merchant_transaction_id",
            format!(
                "The transaction is {}; only approved debits can be charged back.",
                t.status
            ),
        )));
    }
    if row.currency.as_ref().is_some_and(|c| *c != t.currency) {
        return Ok(Err(Rejection::new(
            "currency",
            format!("Must be the transaction's currency, {}.", t.currency),
        )));
    }
    if row.amount_minor.is_some_and(|a| a != t.amount_minor) {
        return Ok(Err(Rejection::new(
            "amount",
            "Must be the transaction's amount: a SEPA reversal returns the whole collection.",
        )));
    }
    if check_only {
        return Ok(Ok(()));
    }
    let reason = Reason {
        code: Some(&row.reason_code),
        description: Some(&row.reason_description),
        error_code: &row.error_code,
    };
    reversals::import_chargeback(conn, &t.id, row.kind, &reason, row.report_date, now)?;
    Ok(Ok(()))
}
