//! Applying a gateway's answer to any transaction, by what the transaction is for.

use catalyst_domain::TransactionId;
use chrono::NaiveDateTime;

use crate::payments::{Purpose, Transaction};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreResult};

/// Applies the gateway's answer for any transaction, by its [`Purpose`]: a session's debit as
/// [`crate::session_pay::apply_settlement`], a renewal, a charge or a refund by their own
/// modules. Idempotent: a transaction that is no longer pending is left as it is.
pub fn apply_outcome(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    crate::tx::write(conn, |conn| {
        apply_outcome_in(conn, transaction_id, settlement, now)
    })
}

/// [`apply_outcome`] inside the caller's write transaction (a bank report applies many).
pub fn apply_outcome_in(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let t = Transaction::by_id(conn, transaction_id)?;
    match t.purpose() {
        Purpose::SessionDebit => {
            crate::session_pay::apply_settlement_to(conn, t, settlement, now).map(drop)
        }
        Purpose::Renewal => crate::billing::apply_renewal(conn, t, settlement, now),
        Purpose::Charge => crate::charges::apply_charge(conn, t, settlement, now),
        Purpose::Refund => crate::refunds::apply_refund_to(conn, t, settlement, now),
    }
}
