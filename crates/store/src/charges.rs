//! Charges on a saved customer's mandate (`POST /customers/{id}/charges/`).

use crate::{DbConnection, StoreError, StoreResult};

/// Applies the gateway's answer to a charge.
pub fn apply_charge(
    _conn: &mut DbConnection,
    transaction_id: &str,
    _settlement: &crate::payments::Settlement,
    _now: chrono::NaiveDateTime,
) -> StoreResult<()> {
    Err(StoreError::Corrupt(format!(
        "charge {transaction_id}: charges are not supported yet"
    )))
}
