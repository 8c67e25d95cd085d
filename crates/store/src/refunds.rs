//! Refunds: money given back for an approved debit (`POST /transactions/{id}/refund/`).
//!
//! A refund is a transaction of its own (`sdd_refund`, `refund_of` = the debit). Its amount is
//! reserved on the debit's `refunded_minor` when it is claimed, by one conditional update that
//! only succeeds while the debit is `approved` and the reservation fits in its amount, so
//! concurrent refunds never add up to more than was collected. A declined refund releases its
//! reservation; an approved one that completes the debit's amount marks the debit `refunded`.
//! `refunded_minor` is not a field of [`Transaction`] (a stale `save()` of the debit must not
//! overwrite it): it is read and written only here.

use catalyst_domain::transaction::{TransactionKind, TransactionStatus};
use catalyst_domain::{OrderStatus, TenantId, TransactionId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use catalyst_domain::money::{Currency, Money};

use crate::changes::insert_new_transaction;
use crate::connection::on_backend;
use crate::events::Subject;
use crate::pagination::{Page, PageRequest};
use crate::payments::{NewTransaction, Transaction};
use crate::schema::transactions;
use crate::sessions::{Lead, Order};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreError, StoreResult, prepared, tx};

/// The transaction kinds that can be refunded.
pub const REFUNDABLE_KINDS: [TransactionKind; 2] = [TransactionKind::Sale, TransactionKind::Rebill];

/// The kind of refund transactions.
pub const REFUND_KIND: TransactionKind = TransactionKind::Refund;

/// Why a refund was not claimed.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// No such transaction for this tenant.
    #[error("no such transaction")]
    NotFound,
    /// The transaction cannot be refunded (its kind or status); the text says why.
    #[error("{0}")]
    NotAllowed(String),
    /// The amount asked for does not fit what is left to refund; the text says why.
    #[error("{0}")]
    Amount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the caller asks to refund.
#[derive(Debug, Clone, Default)]
pub struct RefundDraft {
    /// Minor units in the debit's currency; `None` for everything not refunded yet.
    pub amount_minor: Option<i64>,
    /// The merchant's reason, kept as the refund's `description`.
    pub reason: Option<String>,
}

/// What the claim wrote, with the rows the gateway call needs.
#[derive(Debug, Clone)]
pub struct ClaimedRefund {
    /// The new `pending` refund transaction.
    pub refund: Transaction,
    /// The debit refunded.
    pub original: Transaction,
    /// Their order.
    pub order: Order,
}

/// How much of `transaction_id` is refunded or reserved for pending refunds, in minor units.
pub fn refunded_minor(conn: &mut DbConnection, transaction_id: &TransactionId) -> StoreResult<i64> {
    Ok(on_backend!(conn, |c| transactions::table
        .find(transaction_id)
        .select(transactions::refunded_minor)
        .first(c))?)
}

fn decimal(minor: i64, currency: &str) -> String {
    Currency::parse(currency)
        .ok()
        .and_then(|c| Money::from_minor(minor, c).ok())
        .map_or_else(|| minor.to_string(), |m| m.to_decimal_string())
}

/// The amount to reserve on `original` (of which `refunded` is taken), or why nothing can be.
fn refundable(
    original: &Transaction,
    refunded: i64,
    requested: Option<i64>,
) -> Result<i64, RefundError> {
    if !original.kind.is_debit() {
        return Err(RefundError::NotAllowed(format!(
            "Only debits (sdd_sale, sdd_rebill) can be refunded; this transaction is a {}.",
            original.kind
        )));
    }
    let refused = match original.status {
        TransactionStatus::Approved => None,
        TransactionStatus::ChargedBack => {
            Some("The transaction was charged back; it cannot be refunded.")
        }
        TransactionStatus::Refunded => Some("The transaction has already been refunded in full."),
        TransactionStatus::Declined => {
            Some("Only approved transactions can be refunded; this one was declined.")
        }
        TransactionStatus::Pending => {
            Some("Only approved transactions can be refunded; this one is still pending.")
        }
    };
    if let Some(why) = refused {
        return Err(RefundError::NotAllowed(why.to_owned()));
    }
    if original.gateway_reference.is_none() {
        return Err(RefundError::NotAllowed(
            "The gateway gave no reference for this transaction; it cannot be refunded.".into(),
        ));
    }
    let remaining = original.amount_minor - refunded;
    if remaining <= 0 {
        return Err(RefundError::Amount(
            "Nothing is left to refund on this transaction (pending refunds included).".into(),
        ));
    }
    match requested {
        None => Ok(remaining),
        Some(a) if a <= 0 => Err(RefundError::Amount(
            "Ensure this value is greater than 0.".into(),
        )),
        Some(a) if a > remaining => Err(RefundError::Amount(format!(
            "Ensure this value is less than or equal to {}, what is left to refund.",
            decimal(remaining, &original.currency)
        ))),
        Some(a) => Ok(a),
    }
}

/// Reserves `amount` on the debit: one conditional update that only succeeds while the debit
/// is `approved` and the reservation fits in its amount.
fn reserve(
    conn: &mut DbConnection,
    original_id: &TransactionId,
    amount: i64,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let n = on_backend!(conn, |c| prepared::update(
        transactions::table,
        transactions::id
            .eq(original_id)
            .and(transactions::status.eq(TransactionStatus::Approved))
            .and((transactions::refunded_minor + amount).le(transactions::amount_minor)),
        (
            transactions::refunded_minor.eq(transactions::refunded_minor + amount),
            transactions::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    Ok(n == 1)
}

/// Gives a declined refund's reservation back.
fn release(
    conn: &mut DbConnection,
    original_id: &TransactionId,
    amount: i64,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let n = on_backend!(conn, |c| prepared::update(
        transactions::table,
        transactions::id
            .eq(original_id)
            .and(transactions::refunded_minor.ge(amount)),
        (
            transactions::refunded_minor.eq(transactions::refunded_minor - amount),
            transactions::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "transaction {original_id}: a refund reservation of {amount} is not there to release"
        )))
    }
}

/// Claims a refund of the tenant's transaction `original_id` in one transaction: reserves the
/// amount on the debit ([`RefundDraft::amount_minor`], or everything not refunded yet), inserts
/// the `pending` refund transaction and emits `transaction.created` and `refund.created`. Of
/// concurrent claims, only those that fit in the debit's amount succeed; the others fail with
/// [`RefundError::Amount`] (or [`RefundError::NotAllowed`] when the debit changed status).
pub fn claim_refund(
    conn: &mut DbConnection,
    tenant: &TenantId,
    original_id: &TransactionId,
    draft: &RefundDraft,
    now: NaiveDateTime,
) -> Result<ClaimedRefund, RefundError> {
    tx::write(conn, |conn| {
        let mut attempts = 0;
        let (original, amount) = loop {
            let original = match Transaction::find(conn, tenant, original_id) {
                Err(StoreError::NotFound) => return Err(RefundError::NotFound),
                other => other?,
            };
            let refunded = refunded_minor(conn, &original.id)?;
            let amount = refundable(&original, refunded, draft.amount_minor)?;
            if reserve(conn, &original.id, amount, now)? {
                break (original, amount);
            }
            // Changed since it was read (PostgreSQL, another claim committed in between): the
            // next read sees why, or the reservation fits after all.
            attempts += 1;
            if attempts == 3 {
                return Err(StoreError::StateConflict.into());
            }
        };
        let mut refund = Transaction {
            refund_of: Some(original.id.clone()),
            description: draft.reason.clone(),
            ..Transaction::pending(
                NewTransaction {
                    tenant_id: original.tenant_id.clone(),
                    order_id: original.order_id.clone(),
                    gateway_id: original.gateway_id.clone(),
                    mandate_id: original.mandate_id.clone(),
                    kind: REFUND_KIND,
                    sequence_type: original.sequence_type,
                    amount_minor: amount,
                    currency: original.currency.clone(),
                },
                now,
            )
        };
        insert_new_transaction(conn, &mut refund)?;
        let order = Order::find(conn, tenant, &original.order_id)?;
        let lead = Lead::find(conn, tenant, &order.lead_id)?;
        let subject = Subject::of_order(&order, &lead);
        subject.transaction_created(conn, &refund, now)?;
        subject.refund_event(conn, "refund.created", &refund, now)?;
        Ok(ClaimedRefund {
            refund,
            original,
            order,
        })
    })
}

/// Applies the gateway's answer to a refund in one transaction. Approved: the refund
/// `approved`, the debit `refunded` once its whole amount is refunded, the order
/// `PARTIALLY_REFUNDED` or (no approved debit left on it) `REFUNDED`, and `refund.succeeded`.
/// Declined: the refund `declined` with the error, its reservation released, and
/// `refund.failed`. Pending: only the gateway's reference is kept. Idempotent: a refund that is
/// no longer `pending` is left as it is.
pub fn apply_refund(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    tx::write(conn, |conn| {
        let t = Transaction::by_id(conn, transaction_id)?;
        apply_refund_to(conn, t, settlement, now)
    })
}

/// [`apply_refund`] inside the caller's transaction, on the row it read.
pub(crate) fn apply_refund_to(
    conn: &mut DbConnection,
    mut t: Transaction,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let original_id = t
        .refund_of
        .clone()
        .ok_or_else(|| StoreError::Corrupt(format!("transaction {} is not a refund", t.id)))?;
    if t.status != TransactionStatus::Pending {
        return Ok(());
    }
    let mut order = Order::find(conn, &t.tenant_id, &t.order_id)?;
    let lead = Lead::find(conn, &t.tenant_id, &order.lead_id)?;
    match settlement {
        Settlement::Pending { reference } => {
            if let Some(r) = reference {
                t.gateway_reference = Some(r.clone());
                t.updated_at = now;
                t.save_while_pending(conn)?;
            }
        }
        // A refund needs no verification: it stays pending, with the gateway's reference.
        Settlement::Verification { reference, .. } => {
            t.gateway_reference = Some(reference.clone());
            t.updated_at = now;
            t.save_while_pending(conn)?;
        }
        Settlement::Approved { .. } => {
            t.record_final(settlement, now);
            t.save_while_pending(conn)?;
            Subject::of_order(&order, &lead).transaction_status_changed(
                conn,
                &t,
                TransactionStatus::Pending,
                now,
            )?;
            complete_original(conn, &original_id, &mut order, &lead, now)?;
            Subject::of_order(&order, &lead).refund_event(conn, "refund.succeeded", &t, now)?;
        }
        Settlement::Declined { .. } | Settlement::Abandoned { .. } => {
            t.record_final(settlement, now);
            decline(conn, &mut t, &original_id, &order, &lead, now)?;
        }
    }
    Ok(())
}

/// Saves the refund `declined` (its fields already recorded), its reservation released.
fn decline(
    conn: &mut DbConnection,
    t: &mut Transaction,
    original_id: &TransactionId,
    order: &Order,
    lead: &Lead,
    now: NaiveDateTime,
) -> StoreResult<()> {
    t.save_while_pending(conn)?;
    release(conn, original_id, t.amount_minor, now)?;
    let subject = Subject::of_order(order, lead);
    subject.transaction_status_changed(conn, t, TransactionStatus::Pending, now)?;
    subject.refund_event(conn, "refund.failed", t, now)
}

/// After an approved refund: the debit `refunded` once approved refunds cover its amount, and
/// the order `REFUNDED` when no approved debit is left on it, else `PARTIALLY_REFUNDED` (when
/// its status allows the move: a charged-back order stays so).
fn complete_original(
    conn: &mut DbConnection,
    original_id: &TransactionId,
    order: &mut Order,
    lead: &Lead,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let mut original = Transaction::by_id(conn, original_id)?;
    let approved: Vec<i64> = on_backend!(conn, |c| transactions::table
        .filter(transactions::refund_of.eq(original_id))
        .filter(transactions::status.eq(TransactionStatus::Approved))
        .select(transactions::amount_minor)
        .load(c))?;
    if approved.iter().sum::<i64>() >= original.amount_minor
        && original.status == TransactionStatus::Approved
    {
        let n = on_backend!(conn, |c| prepared::update(
            transactions::table,
            transactions::id
                .eq(original_id)
                .and(transactions::status.eq(TransactionStatus::Approved)),
            (
                transactions::status.eq(TransactionStatus::Refunded),
                transactions::updated_at.eq(now),
            ),
        )
        .execute(c))?;
        if n == 1 {
            original.status = TransactionStatus::Refunded;
            original.updated_at = now;
            Subject::of_order(order, lead).transaction_status_changed(
                conn,
                &original,
                TransactionStatus::Approved,
                now,
            )?;
        }
    }
    let still_approved: i64 = on_backend!(conn, |c| transactions::table
        .filter(transactions::order_id.eq(&order.id))
        .filter(transactions::kind.eq_any(REFUNDABLE_KINDS))
        .filter(transactions::status.eq(TransactionStatus::Approved))
        .count()
        .get_result(c))?;
    let target = if still_approved == 0 {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    };
    let from = order.status;
    if from != target && from.can_transition_to(target) {
        order.status = target;
        order.updated_at = now;
        order.save(conn)?;
    }
    Ok(())
}

/// The tenant's refund transaction `refund_id` and its order.
pub fn load_refund(
    conn: &mut DbConnection,
    tenant: &TenantId,
    refund_id: &TransactionId,
) -> StoreResult<(Transaction, Order)> {
    let refund = Transaction::find(conn, tenant, refund_id)?;
    if refund.refund_of.is_none() {
        return Err(StoreError::NotFound);
    }
    let order = Order::find(conn, tenant, &refund.order_id)?;
    Ok((refund, order))
}

/// One page of the refunds of the tenant's transaction `original_id`, newest first, with
/// their order (the debit's). [`StoreError::NotFound`] when the tenant has no such transaction.
pub fn refunds_of(
    conn: &mut DbConnection,
    tenant: &TenantId,
    original_id: &TransactionId,
    page: &PageRequest,
) -> StoreResult<(Page<Transaction>, Order)> {
    let original = Transaction::find(conn, tenant, original_id)?;
    let order = Order::find(conn, tenant, &original.order_id)?;
    let rows: Page<Transaction> = crate::pagination::load_page!(
        transactions::table
            .filter(transactions::tenant_id.eq(tenant.to_owned()))
            .filter(transactions::refund_of.eq(original_id.to_owned()))
            .select(Transaction::as_select()),
        transactions::id,
        page,
        conn
    );
    Ok((rows, order))
}
