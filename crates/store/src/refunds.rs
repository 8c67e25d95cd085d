//! Refunds: money given back for an approved debit (`POST /transactions/{id}/refund/`).

use crate::{DbConnection, StoreError, StoreResult};

/// Applies the gateway's answer to a refund.
pub fn apply_refund(
    _conn: &mut DbConnection,
    transaction_id: &str,
    _settlement: &crate::payments::Settlement,
    _now: chrono::NaiveDateTime,
) -> StoreResult<()> {
    Err(StoreError::Corrupt(format!(
        "refund {transaction_id}: refunds are not supported yet"
    )))
}
