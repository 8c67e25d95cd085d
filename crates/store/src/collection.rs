//! Collections under a saved mandate, outside any payment session: subscription renewals
//! ([`crate::billing`]) and customer charges ([`crate::charges`]). What they share: the pending
//! transaction written before the gateway call, and the transaction and mandate writes of the
//! gateway's answer. Each caller adds its own rows (subscription, order) and events in the
//! same database transaction.

use catalyst_domain::GatewayId;
use catalyst_domain::transaction::{SequenceType, TransactionKind};
use chrono::NaiveDateTime;

use crate::payments::{Mandate, NewTransaction, Transaction};
use crate::sessions::Order;
use crate::settlement::Settlement;
use crate::{DbConnection, StoreResult};

/// What a collection's gateway answer did to its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// Approved: the money is on its way.
    Approved,
    /// Declined. `counts` is false when nothing reached the bank (gateway unreachable): such a
    /// failure is retried soon rather than counted as a decline.
    Declined {
        /// Whether the decline came from the bank or the gateway's checks.
        counts: bool,
    },
    /// No final answer yet; the recovery worker or a notification finishes it.
    Pending,
}

/// A new pending collection of `amount_minor` on `order` under `mandate`: `sdd_rebill` (RCUR)
/// once the mandate has been collected from, else `sdd_sale` (FRST). The caller sets
/// `subscription_id`/`billing_period`/`billing_attempt` (renewals), `description` or
/// `tenant_reference_id` (charges) before [`insert_pending`].
pub fn new_collection(
    order: &Order,
    gateway_id: &GatewayId,
    mandate: &Mandate,
    amount_minor: i64,
    at: NaiveDateTime,
) -> Transaction {
    let recurring = mandate.sequence_type == SequenceType::Recurring;
    Transaction::pending(
        NewTransaction {
            tenant_id: order.tenant_id.clone(),
            order_id: order.id.clone(),
            gateway_id: gateway_id.to_owned(),
            mandate_id: mandate.id.clone(),
            kind: if recurring {
                TransactionKind::Rebill
            } else {
                TransactionKind::Sale
            },
            sequence_type: mandate.sequence_type,
            amount_minor,
            currency: order.currency.clone(),
        },
        at,
    )
}

/// Inserts a pending collection, drawing a fresh merchant transaction id if the first one is
/// taken. Any other unique key it breaks (a renewal's period and attempt, a tenant reference)
/// fails with [`StoreError::Conflict`] and writes nothing; call it inside [`crate::tx::write`].
pub fn insert_pending(conn: &mut DbConnection, t: &mut Transaction) -> StoreResult<()> {
    crate::tx::savepoint(conn, |c| crate::changes::insert_new_transaction(c, t))
}

/// The transaction and mandate writes of a collection's gateway answer, inside the caller's
/// transaction: the transaction is written only while it is still `pending` (else
/// [`StoreError::StateConflict`]: someone else settled it), and the first approved collection
/// under a mandate moves it to `RCUR` with this collection's gateway reference.
pub fn settle(
    conn: &mut DbConnection,
    t: &mut Transaction,
    mandate: &mut Mandate,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<Collected> {
    let collected = match settlement {
        Settlement::Pending { reference } => {
            if reference.is_none() || t.gateway_reference == *reference {
                return Ok(Collected::Pending);
            }
            t.gateway_reference.clone_from(reference);
            Collected::Pending
        }
        // No payer is present to verify an off-session debit: it stays open at the gateway.
        Settlement::Verification { reference, .. } => {
            t.gateway_reference = Some(reference.clone());
            Collected::Pending
        }
        Settlement::Approved { .. } => Collected::Approved,
        Settlement::Declined {
            counts_as_attempt, ..
        } => Collected::Declined {
            counts: *counts_as_attempt,
        },
        Settlement::Abandoned { .. } => Collected::Declined { counts: true },
    };
    t.record_final(settlement, now);
    t.updated_at = now;
    t.save_while_pending(conn)?;
    if collected == Collected::Approved && mandate.sequence_type == SequenceType::First {
        crate::changes::mark_collected(conn, mandate, t, now)?;
    }
    Ok(collected)
}
