//! Recording a chargeback or return: the reversal row, the transaction, order and subscription
//! it stops, and their events, in one transaction.

use catalyst_domain::transaction::TransactionStatus;
use catalyst_domain::{OrderStatus, SubscriptionStatus, TransactionId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::chargebacks::Chargeback;
use crate::connection::on_backend;
use crate::payments::{Subscription, Transaction};
use crate::schema::payment_sessions;
use crate::sessions::{Lead, Order, PaymentSession};
use crate::{DbConnection, StoreError, StoreResult, tx};

/// Whether a reversal is a chargeback or a return (the domain's type, re-exported where the
/// store's callers have always found it).
pub use catalyst_domain::transaction::ReversalKind;

/// Why a debit was reversed.
#[derive(Debug, Clone, Copy)]
pub struct Reason<'a> {
    /// The SEPA reason code, when the gateway gave one.
    pub code: Option<&'a str>,
    /// Its description.
    pub description: Option<&'a str>,
    /// Our normalized decline code (`catalyst_sepa::decline_code_for_reason`).
    pub error_code: &'a str,
}

/// Records the reversal of the approved transaction `transaction_id` in one transaction:
/// the chargeback row, transaction `charged_back`, order `CHARGEDBACK`, subscription
/// `CHARGEDBACK`, and the `chargeback.created`, `transaction.status_changed` and
/// `subscription.status_changed` events. Idempotent: a transaction already charged back (or not
/// approved, or a refund) is left alone and `None` is returned.
pub fn record_chargeback(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    kind: ReversalKind,
    reason: &Reason<'_>,
    now: NaiveDateTime,
) -> StoreResult<Option<Chargeback>> {
    tx::write(conn, |conn| {
        record_chargeback_in(conn, transaction_id, kind, reason, now)
    })
}

/// [`record_chargeback`] inside the caller's write transaction (a bank report applies many).
pub fn record_chargeback_in(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    kind: ReversalKind,
    reason: &Reason<'_>,
    now: NaiveDateTime,
) -> StoreResult<Option<Chargeback>> {
    reverse(conn, transaction_id, kind, reason, Origin::Gateway, now)
}

/// Where a reversal was learnt: from the gateway (`chargeback.created`, reported today) or from
/// a CSV import (`chargeback.imported`, reported on the file's date).
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    /// A gateway notification or reconciliation.
    Gateway,
    /// A CSV import of chargebacks (API.md §12).
    Import {
        /// The date the bank reported the reversal.
        report_date: chrono::NaiveDate,
    },
}

/// [`record_chargeback`] for an imported reversal, inside the caller's transaction (the
/// import's): the same consequences, with the file's report date and the `chargeback.imported`
/// event in place of `chargeback.created`.
pub fn import_chargeback(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    kind: ReversalKind,
    reason: &Reason<'_>,
    report_date: chrono::NaiveDate,
    now: NaiveDateTime,
) -> StoreResult<Option<Chargeback>> {
    reverse(
        conn,
        transaction_id,
        kind,
        reason,
        Origin::Import { report_date },
        now,
    )
}

fn reverse(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    kind: ReversalKind,
    reason: &Reason<'_>,
    origin: Origin,
    now: NaiveDateTime,
) -> StoreResult<Option<Chargeback>> {
    let mut t = Transaction::by_id(conn, transaction_id)?;
    // Only debits are reversed; a refund gives money back and is never charged back.
    if t.status != TransactionStatus::Approved || t.refund_of.is_some() {
        return Ok(None);
    }
    let chargeback = Chargeback {
        id: catalyst_domain::ChargebackId::new(),
        tenant_id: t.tenant_id.clone(),
        transaction_id: t.id.clone(),
        gateway_id: t.gateway_id.clone(),
        kind,
        reason_code: reason.code.map(str::to_owned),
        reason_description: reason.description.map(str::to_owned),
        error_code: reason.error_code.to_owned(),
        amount_minor: t.amount_minor,
        currency: t.currency.clone(),
        gateway_reference: t.gateway_reference.clone(),
        report_date: match origin {
            Origin::Gateway => now.date(),
            Origin::Import { report_date } => report_date,
        },
        created_at: now,
        updated_at: now,
    };
    match tx::savepoint(conn, |c| chargeback.insert(c)) {
        Err(StoreError::Conflict(_)) => return Ok(None),
        other => other?,
    }
    t.status = TransactionStatus::ChargedBack;
    t.updated_at = now;
    t.save(conn)?;
    let mut order = Order::find(conn, &t.tenant_id, &t.order_id)?;
    if order.status.can_transition_to(OrderStatus::Chargedback) {
        order.status = OrderStatus::Chargedback;
        order.updated_at = now;
        order.save(conn)?;
    }
    let session = match &t.session_id {
        Some(id) => Some(on_backend!(conn, |c| payment_sessions::table
            .find(id)
            .select(PaymentSession::as_select())
            .first(c))?),
        None => None,
    };
    let lead = match &session {
        Some(s) => crate::sessions::lead_of_session(conn, s)?,
        None => Lead::find(conn, &t.tenant_id, &order.lead_id)?,
    };
    let subject = match &session {
        Some(s) => crate::events::Subject::of_session(s, &order, &lead),
        None => crate::events::Subject::of_order(&order, &lead),
    };
    match origin {
        Origin::Gateway => subject.chargeback_created(conn, &t, &chargeback, now)?,
        Origin::Import { .. } => subject.chargeback_imported(conn, &t, &chargeback, now)?,
    }
    subject.transaction_status_changed(conn, &t, TransactionStatus::Approved, now)?;
    let subscription = match (&t.subscription_id, &session) {
        (Some(id), _) => Some(Subscription::find(conn, &t.tenant_id, id)?),
        (None, Some(s)) => Subscription::of_session(conn, &s.id)?,
        (None, None) => None,
    };
    if let Some(mut sub) = subscription {
        let previous: SubscriptionStatus = sub.status;
        if previous.can_transition_to(SubscriptionStatus::Chargedback) {
            sub.status = SubscriptionStatus::Chargedback;
            sub.collect_on = None;
            sub.notice_on = None;
            sub.ended_at = Some(now);
            sub.updated_at = now;
            sub.save(conn)?;
            subject.subscription_status_changed(conn, &sub, previous.as_str(), now)?;
        }
    }
    Ok(Some(chargeback))
}
