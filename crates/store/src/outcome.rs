//! Applying a gateway's answer to any transaction, by what the transaction is for.

use chrono::NaiveDateTime;

use crate::payments::{Purpose, Transaction};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreResult};

/// Applies the gateway's answer for any transaction, by its [`Purpose`]: a session's debit as
/// [`crate::session_pay::apply_settlement`], a renewal, a charge or a refund by their own
/// modules. Idempotent: a transaction that is no longer pending is left as it is.
pub fn apply_outcome(
    conn: &mut DbConnection,
    transaction_id: &str,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let purpose = Transaction::by_id(conn, transaction_id)?.purpose();
    match purpose {
        Purpose::SessionDebit => {
            crate::session_pay::apply_settlement(conn, transaction_id, settlement, now).map(drop)
        }
        Purpose::Renewal => crate::billing::apply_renewal(conn, transaction_id, settlement, now),
        Purpose::Charge => crate::charges::apply_charge(conn, transaction_id, settlement, now),
        Purpose::Refund => crate::refunds::apply_refund(conn, transaction_id, settlement, now),
    }
}
