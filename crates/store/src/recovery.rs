//! The recovery worker's queue: pending transactions it reconciles with their gateway, one
//! claim at a time, each on its own schedule.
//!
//! A transaction is due when it is `pending`, was created before the worker's grace, and its
//! `next_recovery_at` is unset or past. Claiming moves `next_recovery_at` to the end of a lease,
//! so no other worker (another server instance on the same database) takes it meanwhile; on
//! PostgreSQL the selection is `FOR UPDATE SKIP LOCKED`, on SQLite the write transaction is the
//! single writer. The worker then either settles the transaction or [`reschedule`]s it.
//! Transactions of `BATCH` gateways are never due: the bank answers them with files.

use catalyst_domain::TransactionId;
use catalyst_domain::transaction::TransactionStatus;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::payments::Transaction;
use crate::schema::{gateways, transactions};

/// The adapter whose pending debits wait for the bank's files, not for a gateway: recovery
/// never claims them (there is nothing to query).
const BATCH_ADAPTER: &str = "BATCH";
use crate::{DbConnection, StoreResult, prepared, tx};

/// A transaction claimed for reconciling.
#[derive(Debug, Clone)]
pub struct ClaimedTransaction {
    pub transaction: Transaction,
    /// How many times a worker has reconciled it before this claim.
    pub recovery_attempts: i32,
}

/// Claims the oldest due transaction created before `created_before` for `lease`, or `None`
/// when nothing is due at `now`.
pub fn claim_next(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    created_before: NaiveDateTime,
    lease: Duration,
) -> StoreResult<Option<ClaimedTransaction>> {
    tx::write(conn, |conn| {
        let due = transactions::table
            .filter(prepared::queue_condition("transactions.status = 'pending'"))
            .filter(transactions::created_at.lt(created_before))
            .filter(diesel::dsl::not(
                transactions::gateway_id.eq_any(
                    gateways::table
                        .filter(gateways::adapter.eq(BATCH_ADAPTER))
                        .select(gateways::id),
                ),
            ))
            .filter(
                transactions::next_recovery_at
                    .is_null()
                    .or(transactions::next_recovery_at.le(now)),
            )
            .order(transactions::created_at.asc())
            .limit(1)
            .select(transactions::id);
        let ids: Vec<String> = on_backend!(
            conn,
            pg | c | due.for_update().skip_locked().load(c)?,
            sqlite | c | due.load(c)?
        );
        let Some(id) = ids.into_iter().next() else {
            return Ok(None);
        };
        on_backend!(conn, |c| prepared::update(
            transactions::table,
            transactions::id.eq(&id),
            transactions::next_recovery_at.eq(now + lease),
        )
        .execute(c))?;
        let (transaction, recovery_attempts) = on_backend!(conn, |c| transactions::table
            .find(&id)
            .select((Transaction::as_select(), transactions::recovery_attempts))
            .first(c))?;
        Ok(Some(ClaimedTransaction {
            transaction,
            recovery_attempts,
        }))
    })
}

/// Records a reconcile that did not finish the transaction: it has now been reconciled
/// `recovery_attempts` times and is due again at `next_at`. A no-op once it is settled.
pub fn reschedule(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    recovery_attempts: i32,
    next_at: NaiveDateTime,
) -> StoreResult<()> {
    on_backend!(conn, |c| prepared::update(
        transactions::table,
        transactions::id
            .eq(transaction_id)
            .and(transactions::status.eq(TransactionStatus::Pending)),
        (
            transactions::recovery_attempts.eq(recovery_attempts),
            transactions::next_recovery_at.eq(next_at),
        ),
    )
    .execute(c))?;
    Ok(())
}

/// A transaction's schedule: how many times it was reconciled and when it is due again.
pub fn schedule_of(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
) -> StoreResult<(i32, Option<NaiveDateTime>)> {
    Ok(on_backend!(conn, |c| transactions::table
        .find(transaction_id)
        .select((
            transactions::recovery_attempts,
            transactions::next_recovery_at,
        ))
        .first(c))?)
}
