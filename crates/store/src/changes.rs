//! The row changes the payment flows share, each made inside the caller's transaction:
//! inserting a new transaction, recording a gateway's final answer on it, saving it while it
//! is still pending, and moving a mandate to `RCUR` after its first collection. The rows and
//! their lookups are [`crate::payments`]; the flows that call these, with their events, are
//! [`crate::session_pay`], [`crate::collection`] and [`crate::refunds`].

use catalyst_domain::transaction::{SequenceType, TransactionStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::payments::{Mandate, Transaction};
use crate::schema::{mandates, transactions};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreError, StoreResult, prepared, tx};

/// Inserts a new transaction. Its merchant transaction id has only 32 random bits per day
/// (the API's format), so a busy tenant's day can draw one twice: the insert then writes nothing
/// (`ON CONFLICT (merchant_transaction_id) DO NOTHING`) and is tried again with a new id. A
/// `tenant_reference_id` is the merchant's own and its collision is reported; only when one is
/// given does the insert run in a savepoint, so that the collision does not abort the whole
/// transaction.
pub(crate) fn insert_new_transaction(
    conn: &mut DbConnection,
    t: &mut Transaction,
) -> StoreResult<()> {
    for _ in 0..5 {
        let inserted = if t.tenant_reference_id.is_none() {
            insert_unless_id_taken(conn, t)?
        } else {
            match tx::savepoint(conn, |c| insert_unless_id_taken(c, t)) {
                Err(StoreError::Conflict(_)) => {
                    return Err(StoreError::Conflict("tenant_reference_id"));
                }
                other => other?,
            }
        };
        if inserted {
            return Ok(());
        }
        t.merchant_transaction_id =
            catalyst_domain::ids::new_merchant_transaction_id(t.created_at.date());
    }
    Err(StoreError::Conflict("merchant_transaction_id"))
}

/// Inserts `t`; false when its merchant transaction id is already taken.
fn insert_unless_id_taken(conn: &mut DbConnection, t: &Transaction) -> StoreResult<bool> {
    let inserted = on_backend!(conn, |c| diesel::insert_into(transactions::table)
        .values(t)
        .on_conflict(transactions::merchant_transaction_id)
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// When a settlement at `now` processed `t`: never before the transaction was created (its
/// `created_at` may come from another clock reading than the settlement's `now`).
fn processed_at(t: &Transaction, now: NaiveDateTime) -> NaiveDateTime {
    now.max(t.created_at)
}

impl Transaction {
    /// Writes a final answer (approved, declined, abandoned) into the row's fields: status,
    /// gateway reference, error fields and `processed_at`; the caller saves it. An answer that
    /// leaves the transaction open (pending, verification) changes nothing and gives `false`.
    pub fn record_final(&mut self, settlement: &Settlement, now: NaiveDateTime) -> bool {
        match settlement {
            Settlement::Pending { .. } | Settlement::Verification { .. } => return false,
            Settlement::Approved { reference } => {
                self.status = TransactionStatus::Approved;
                self.gateway_reference = Some(reference.clone());
            }
            Settlement::Declined {
                reference,
                code,
                message,
                gateway_code,
                gateway_message,
                counts_as_attempt,
            } => {
                self.status = TransactionStatus::Declined;
                if reference.is_some() {
                    self.gateway_reference.clone_from(reference);
                }
                self.error_code = Some(code.clone());
                self.error_message = Some(message.clone());
                self.gateway_code.clone_from(gateway_code);
                self.gateway_message.clone_from(gateway_message);
                self.counts_as_attempt = *counts_as_attempt;
            }
            Settlement::Abandoned { code, message } => {
                self.status = TransactionStatus::Declined;
                self.error_code = Some(code.clone());
                self.error_message = Some(message.clone());
            }
        }
        self.processed_at = Some(processed_at(self, now));
        self.updated_at = now;
        true
    }
}

impl Transaction {
    /// Writes every column back, provided the stored row is still `pending`; otherwise
    /// `StateConflict` (someone else settled it).
    pub(crate) fn save_while_pending(&self, conn: &mut DbConnection) -> StoreResult<()> {
        let n = on_backend!(conn, |c| prepared::update(
            transactions::table,
            transactions::id
                .eq(&self.id)
                .and(transactions::status.eq(TransactionStatus::Pending)),
            self,
        )
        .execute(c))?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::StateConflict)
        }
    }
}

/// After the first successful collection under `mandate` (`FRST`): later ones are `RCUR`, with
/// the gateway's reference of this one as their `reference_id`.
pub fn mark_collected(
    conn: &mut DbConnection,
    mandate: &mut Mandate,
    collected: &Transaction,
    now: NaiveDateTime,
) -> StoreResult<()> {
    on_backend!(conn, |c| prepared::update(
        mandates::table,
        mandates::id.eq(&mandate.id),
        (
            mandates::sequence_type.eq("RCUR"),
            mandates::gateway_reference.eq(&collected.gateway_reference),
            mandates::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    mandate.sequence_type = SequenceType::Recurring;
    mandate
        .gateway_reference
        .clone_from(&collected.gateway_reference);
    mandate.updated_at = now;
    Ok(())
}
