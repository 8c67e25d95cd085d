//! The two transactions of a session's payment: the atomic claim before the gateway call and
//! the application of its outcome after it (transaction, session, order, attempts, mandate
//! sequence, the subscription a recurring plan starts), with their events.

use catalyst_domain::session::SessionMode;
use catalyst_domain::transaction::{SequenceType, TransactionStatus};
use catalyst_domain::{OrderStatus, SessionStatus, SubscriptionStatus, TransactionId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::changes::{insert_new_transaction, mark_collected};
use crate::config::Gateway;
use crate::connection::on_backend;
use crate::payments::{Customer, Mandate, Subscription, Transaction};
use crate::schema::{gateways, leads, orders, payment_sessions, session_payers};
use crate::sessions::{Lead, Order, PaymentSession, SessionPayer};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreError, StoreResult, prepared, tx};

/// Why a session could not be claimed for payment.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("no such session")]
    NotFound,
    #[error("the session has expired")]
    Expired,
    #[error("the session is not payable in its status")]
    NotPayable,
    #[error("tenant_reference_id already in use for this tenant")]
    TenantReferenceInUse,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a payment writes before the gateway call; built by the caller from the claimed session.
pub struct PaymentDraft {
    pub mandate: Mandate,
    /// `None` when nothing is debited (customer mode, or a free trial): the session completes at once.
    pub transaction: Option<Transaction>,
    /// A customer to create (customer modes) — linked to the mandate and the session.
    pub customer: Option<Customer>,
}

/// What the claim wrote, with the rows it read: everything the payment's outcome and its
/// answer need, so that neither has to read them again.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub session: PaymentSession,
    pub order: Order,
    pub lead: Lead,
    pub gateway: Gateway,
    pub mandate: Mandate,
    pub transaction: Option<Transaction>,
    /// The customer the claim created (customer modes).
    pub customer: Option<Customer>,
    /// The subscription started when the session completed at once (nothing to debit).
    pub subscription: Option<Subscription>,
}

/// Claims a `PENDING` session for payment in one transaction: one conditional update
/// `PENDING → PAYMENT_IN_PROGRESS` (exactly one of concurrent callers wins), then the mandate,
/// the pending transaction and the customer. With no transaction (nothing to debit) the session
/// is completed right away. `draft` is called with the claimed session, its order and its lead.
pub fn claim_for_payment(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    draft: impl FnOnce(&PaymentSession, &Order, &Lead) -> Result<PaymentDraft, StoreError>,
) -> Result<Claimed, ClaimError> {
    tx::write(conn, |conn| claim(conn, token, now, draft))
}

/// [`claim_for_payment`] and, in the same transaction, the outcome `settle_now` decides for the
/// claimed debit (a gateway that answers in-process), applied as [`settle_claimed`] would. When
/// `settle_now` answers `None` (a gateway reached over the network), or there is nothing to
/// debit, only the claim is written and the outcome is `None`: the caller calls the gateway
/// after the commit and settles with [`settle_claimed`]. `settle_now` is called only with a
/// claimed transaction; an error from it rolls the claim back.
pub fn claim_and_settle<E>(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    draft: impl FnOnce(&PaymentSession, &Order, &Lead) -> Result<PaymentDraft, StoreError>,
    settle_now: impl FnOnce(&mut DbConnection, &Claimed) -> Result<Option<Settlement>, E>,
) -> Result<(Claimed, Option<Settled>), E>
where
    E: From<ClaimError> + From<StoreError>,
{
    tx::write(conn, |conn| {
        let claimed = claim(conn, token, now, draft)?;
        let Some(transaction) = claimed.transaction.clone() else {
            return Ok((claimed, None));
        };
        let Some(settlement) = settle_now(conn, &claimed)? else {
            return Ok((claimed, None));
        };
        let settled = apply_to_claim(conn, &claimed, transaction, &settlement, now)?;
        Ok((claimed, Some(settled)))
    })
}

/// The claim's reads and writes, inside the caller's transaction.
fn claim(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    draft: impl FnOnce(&PaymentSession, &Order, &Lead) -> Result<PaymentDraft, StoreError>,
) -> Result<Claimed, ClaimError> {
    let (session, order, lead, gateway) = claim_rows(conn, token)?;
    let status = session.status;
    if status == SessionStatus::Pending && session.expires_at <= now {
        return Err(ClaimError::Expired);
    }
    match status {
        SessionStatus::Pending => {}
        SessionStatus::Expired => return Err(ClaimError::Expired),
        _ => return Err(ClaimError::NotPayable),
    }
    let PaymentDraft {
        mut mandate,
        mut transaction,
        customer,
    } = draft(&session, &order, &lead)?;
    // One mandate per order: a retry after a decline replaces the unused one.
    let existing = Mandate::by_reference(conn, &session.tenant_id, &mandate.reference)?;
    if let Some(found) = &existing {
        mandate.id.clone_from(&found.id);
    }
    if let Some(t) = transaction.as_mut() {
        t.mandate_id.clone_from(&mandate.id);
    }

    let claimed = on_backend!(conn, |c| prepared::update(
        payment_sessions::table,
        payment_sessions::id
            .eq(&session.id)
            .and(payment_sessions::status.eq(SessionStatus::Pending.as_str()))
            .and(payment_sessions::version.eq(session.version)),
        (
            payment_sessions::status.eq(SessionStatus::PaymentInProgress.as_str()),
            payment_sessions::version.eq(session.version + 1),
            payment_sessions::updated_at.eq(now),
        ),
    )
    .execute(c))
    .map_err(StoreError::from)?;
    if claimed != 1 {
        return Err(ClaimError::NotPayable);
    }
    if let Some(c) = &customer {
        c.insert(conn)?;
    }
    if existing.is_some() {
        mandate.save(conn)?
    } else {
        mandate.insert(conn)?
    }
    if let Some(t) = transaction.as_mut() {
        insert_new_transaction(conn, t).map_err(|e| match e {
            StoreError::Conflict("tenant_reference_id") => ClaimError::TenantReferenceInUse,
            e => ClaimError::Store(e),
        })?;
    }
    let order_status = order
        .status
        .transition_to(OrderStatus::Pending)
        .unwrap_or(order.status);
    let mut order = order;
    order.status = order_status;
    order.updated_at = now;
    order.save(conn)?;
    let subject_session = session.clone();
    let mut session = session;
    session.status = SessionStatus::PaymentInProgress;
    session.version += 1;
    session.updated_at = now;
    if let Some(c) = &customer {
        session.customer_id = Some(c.id.clone());
        session.save(conn)?;
    }
    let subject = crate::events::Subject::of_session(&subject_session, &order, &lead);
    if let Some(t) = &transaction {
        subject.transaction_created(conn, t, now)?;
    }
    if let Some(c) = &customer {
        subject.customer_created(conn, c, now)?;
    }
    let subscription = match transaction {
        Some(_) => None,
        None => complete(
            conn,
            &mut session,
            &mut order,
            &lead,
            &mut mandate,
            None,
            now,
        )?,
    };
    Ok(Claimed {
        session,
        order,
        lead,
        gateway,
        mandate,
        transaction,
        customer,
        subscription,
    })
}

/// The session with this token, its order, its lead (as the session presents it: the payer's
/// fields, [`SessionPayer::present`]) and its gateway, in one query.
///
/// Every join is on a key that is unique by itself (the order's `session_id`, the lead's, the
/// payer's and the gateway's primary keys), so PostgreSQL has one sensible plan for it however small the tables
/// were when the statement was prepared. With `tenant_id` in the join too, a plan made on empty
/// tables looked the lead up through `(tenant_id, email_normalized)` and read every lead of the
/// tenant, for as long as the connection lived. The tenants are compared here instead.
fn claim_rows(
    conn: &mut DbConnection,
    token: &str,
) -> Result<(PaymentSession, Order, Lead, Gateway), ClaimError> {
    type Rows = (PaymentSession, Order, Lead, SessionPayer, Gateway);
    let (session, order, lead, payer, gateway): Rows =
        on_backend!(conn, |c| payment_sessions::table
            .inner_join(orders::table.on(orders::session_id.eq(payment_sessions::id.nullable())))
            .inner_join(leads::table.on(leads::id.eq(payment_sessions::lead_id)))
            .inner_join(
                session_payers::table.on(session_payers::session_id.eq(payment_sessions::id))
            )
            .inner_join(gateways::table.on(gateways::id.eq(payment_sessions::gateway_id)))
            .filter(payment_sessions::token.eq(token))
            .select((
                PaymentSession::as_select(),
                Order::as_select(),
                Lead::as_select(),
                SessionPayer::as_select(),
                Gateway::as_select(),
            ))
            .first(c))
        .map_err(|e| match StoreError::from(e) {
            StoreError::NotFound => ClaimError::NotFound,
            other => other.into(),
        })?;
    if lead.tenant_id != session.tenant_id || gateway.tenant_id != session.tenant_id {
        return Err(StoreError::Corrupt(format!(
            "session {} refers to another tenant's lead or gateway",
            session.id
        ))
        .into());
    }
    Ok((session, order, payer.present(lead), gateway))
}

/// The rows a settlement changes, as they are after it.
#[derive(Debug, Clone)]
pub struct Settled {
    pub session: PaymentSession,
    pub order: Order,
    pub transaction: Transaction,
    pub mandate: Mandate,
    /// The subscription a recurring plan started on completion.
    pub subscription: Option<Subscription>,
}

/// Applies the gateway's answer for `transaction_id` in one transaction: transaction, session,
/// order, attempts, mandate sequence, subscription. Idempotent: a transaction that is no longer
/// `pending` (or awaiting verification) is left as it is. Returns the updated session.
pub fn apply_settlement(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<PaymentSession> {
    tx::write(conn, |conn| {
        let transaction = Transaction::by_id(conn, transaction_id)?;
        apply_settlement_to(conn, transaction, settlement, now)
    })
}

/// [`apply_settlement`] inside the caller's transaction, on the row it read.
pub(crate) fn apply_settlement_to(
    conn: &mut DbConnection,
    transaction: Transaction,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<PaymentSession> {
    let session_id = transaction.session_id.as_deref().ok_or_else(|| {
        StoreError::Corrupt(format!("transaction {} has no session", transaction.id))
    })?;
    let session = on_backend!(conn, |c| payment_sessions::table
        .find(session_id)
        .select(PaymentSession::as_select())
        .first(c))?;
    if transaction.status != TransactionStatus::Pending {
        return Ok(session);
    }
    let order = Order::find_by_session(conn, &session.id)?;
    let mandate = Mandate::find(conn, &transaction.tenant_id, &transaction.mandate_id)?;
    let lead = crate::sessions::lead_of_session(conn, &session)?;
    let mut rows = Settled {
        session,
        order,
        transaction,
        mandate,
        subscription: None,
    };
    apply(conn, &mut rows, &lead, settlement, now)?;
    Ok(rows.session)
}

/// Applies the gateway's answer to the transaction `claimed` created, starting from the claim's
/// rows instead of reading them again. If anything changed since the claim (a gateway
/// notification or the recovery worker got there first), it writes nothing and fails with
/// [`StoreError::StateConflict`]; [`apply_settlement`] then applies the answer to what is stored.
pub fn settle_claimed(
    conn: &mut DbConnection,
    claimed: &Claimed,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<Settled> {
    let transaction = claimed
        .transaction
        .clone()
        .ok_or(StoreError::StateConflict)?;
    tx::write(conn, |conn| {
        apply_to_claim(conn, claimed, transaction, settlement, now)
    })
}

/// [`apply`] to the rows the claim returned, with `transaction` as the claim wrote it.
fn apply_to_claim(
    conn: &mut DbConnection,
    claimed: &Claimed,
    transaction: Transaction,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<Settled> {
    let mut rows = Settled {
        session: claimed.session.clone(),
        order: claimed.order.clone(),
        transaction,
        mandate: claimed.mandate.clone(),
        subscription: None,
    };
    apply(conn, &mut rows, &claimed.lead, settlement, now)?;
    Ok(rows)
}

/// The writes of a settlement, on rows read in (or carried into) the current transaction. The
/// transaction row is only written while it is still `pending`, and the session only at the
/// version read, so a concurrent settlement makes this fail with `StateConflict`.
fn apply(
    conn: &mut DbConnection,
    rows: &mut Settled,
    lead: &Lead,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let Settled {
        session,
        order,
        transaction: t,
        mandate,
        subscription,
    } = rows;
    let current = session.status;
    // The attempt of a debit that needed verification was used when it was submitted.
    let counted_at_submit = t.verification_url.is_some();
    match settlement {
        Settlement::Pending { reference } => {
            if let Some(r) = reference {
                t.gateway_reference = Some(r.clone());
                t.updated_at = now;
                t.save_while_pending(conn)?;
            }
        }
        Settlement::Verification { reference, url } => {
            t.gateway_reference = Some(reference.clone());
            t.verification_url = Some(url.clone());
            t.updated_at = now;
            t.save_while_pending(conn)?;
            if current != SessionStatus::AwaitingVerification {
                if !counted_at_submit {
                    session.attempts_used += 1;
                }
                move_session(
                    conn,
                    session,
                    current,
                    SessionStatus::AwaitingVerification,
                    now,
                )?;
            }
        }
        Settlement::Approved { .. } => {
            t.record_final(settlement, now);
            t.save_while_pending(conn)?;
            crate::events::Subject::of_session(session, order, lead).transaction_status_changed(
                conn,
                t,
                TransactionStatus::Pending,
                now,
            )?;
            if !counted_at_submit {
                session.attempts_used += 1;
            }
            *subscription = complete(conn, session, order, lead, mandate, Some(t), now)?;
        }
        Settlement::Declined {
            counts_as_attempt, ..
        } => {
            t.record_final(settlement, now);
            t.counts_as_attempt = *counts_as_attempt || counted_at_submit;
            t.save_while_pending(conn)?;
            if *counts_as_attempt && !counted_at_submit {
                session.attempts_used += 1;
            }
            crate::events::Subject::of_session(session, order, lead).transaction_status_changed(
                conn,
                t,
                TransactionStatus::Pending,
                now,
            )?;
            if session.attempts_used >= session.max_payment_attempts {
                move_session(conn, session, current, SessionStatus::Failed, now)?;
                move_order(conn, order, OrderStatus::Failed, now)?;
                crate::events::Subject::of_session(session, order, lead).session_finished(
                    conn,
                    Some(t),
                    now,
                )?;
            } else {
                move_session(conn, session, current, SessionStatus::Pending, now)?;
            }
        }
        Settlement::Abandoned { .. } => {
            t.record_final(settlement, now);
            t.save_while_pending(conn)?;
            let subject = crate::events::Subject::of_session(session, order, lead);
            subject.transaction_status_changed(conn, t, TransactionStatus::Pending, now)?;
            move_session(conn, session, current, SessionStatus::Expired, now)?;
            move_order(conn, order, OrderStatus::Cancelled, now)?;
            crate::events::Subject::of_session(session, order, lead).session_finished(
                conn,
                Some(t),
                now,
            )?;
        }
    }
    Ok(())
}

fn move_session(
    conn: &mut DbConnection,
    session: &mut PaymentSession,
    from: SessionStatus,
    to: SessionStatus,
    now: NaiveDateTime,
) -> StoreResult<()> {
    from.transition_to(to)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let n = on_backend!(conn, |c| prepared::update(
        payment_sessions::table,
        payment_sessions::id
            .eq(&session.id)
            .and(payment_sessions::version.eq(session.version)),
        (
            payment_sessions::status.eq(to.as_str()),
            payment_sessions::attempts_used.eq(session.attempts_used),
            payment_sessions::customer_id.eq(&session.customer_id),
            payment_sessions::version.eq(session.version + 1),
            payment_sessions::updated_at.eq(now),
        ),
    )
    .execute(c))?;
    if n != 1 {
        return Err(StoreError::StateConflict);
    }
    session.status = to;
    session.version += 1;
    session.updated_at = now;
    Ok(())
}

fn move_order(
    conn: &mut DbConnection,
    order: &mut Order,
    to: OrderStatus,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let from = order.status;
    if from == to {
        return Ok(());
    }
    from.transition_to(to)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    order.status = to;
    order.updated_at = now;
    order.save(conn)
}

/// Completes a paid (or mandate-only) session: session and order `COMPLETED`, the mandate moves
/// to `RCUR` after a successful collection, and a recurring plan starts its subscription.
fn complete(
    conn: &mut DbConnection,
    session: &mut PaymentSession,
    order: &mut Order,
    lead: &Lead,
    mandate: &mut Mandate,
    collected: Option<&Transaction>,
    now: NaiveDateTime,
) -> StoreResult<Option<Subscription>> {
    let from = session.status;
    move_session(conn, session, from, SessionStatus::Completed, now)?;
    move_order(conn, order, OrderStatus::Completed, now)?;
    // A customer-mode session charges its customer under the mandate it just signed.
    if let Some(customer_id) = &mandate.customer_id
        && session.mode != SessionMode::Payment
    {
        crate::customers::adopt_mandate(conn, customer_id, mandate, &session.gateway_id, now)?;
    }
    if let Some(t) = collected
        && mandate.sequence_type == SequenceType::First
    {
        mark_collected(conn, mandate, t, now)?;
    }
    let subject = crate::events::Subject::of_session(session, order, lead);
    subject.session_finished(conn, collected, now)?;
    let pricing = session.pricing()?;
    if let (Some(frequency), Some(next)) = (
        pricing.billing_frequency(),
        pricing.next_billing_date(now.date()),
    ) {
        // The period the session paid counts from today; a trial's first paid period is
        // counted from the trial's end.
        let (anchor_date, periods_billed) = match pricing.trial() {
            Some(_) => (next, 0),
            None => (now.date(), 1),
        };
        let plan = crate::billing::Plan::of_session(conn, session)?;
        let subscription = Subscription {
            id: catalyst_domain::SubscriptionId::new(),
            tenant_id: session.tenant_id.clone(),
            session_id: Some(session.id.clone()),
            order_id: order.id.clone(),
            lead_id: session.lead_id.clone(),
            gateway_id: session.gateway_id.clone(),
            mandate_id: mandate.id.clone(),
            customer_id: session.customer_id.clone(),
            status: SubscriptionStatus::Active,
            billing_frequency: frequency.as_str().to_owned(),
            amount_minor: pricing.amount().minor(),
            currency: session.currency.clone(),
            gateway_reference: collected.and_then(|t| t.gateway_reference.clone()),
            next_billing_date: next,
            created_at: now,
            updated_at: now,
            campaign_id: session.campaign_id.clone(),
            plan_name: plan.name,
            anchor_date,
            periods_billed,
            collect_on: Some(next),
            dunning_attempts: 0,
            dunning_ladder: plan.dunning_ladder.to_string(),
            notice_days: i32::try_from(plan.notice_days).unwrap_or(i32::MAX),
            notice_on: Some(catalyst_domain::dunning::notice_on(
                next,
                plan.notice_days,
                now.date(),
            )),
            cancel_at_period_end: false,
            paused_at: None,
            ended_at: None,
        };
        subscription.insert(conn)?;
        subject.subscription_created(conn, &subscription, now)?;
        return Ok(Some(subscription));
    }
    Ok(None)
}
