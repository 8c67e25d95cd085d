//! The life of a payment session around its payment: creating it (lead, session and order in
//! one transaction, with `order.created`) and expiring it (with `payment_session.expired`).

use catalyst_domain::{DuplicatePolicy, OrderStatus, SessionId, SessionStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::schema::{leads, orders, payment_sessions, session_payers};
use crate::sessions::{Lead, Order, PaymentSession, SessionPayer, insert_order_with_fresh_number};
use crate::{DbConnection, StoreError, StoreResult, tx};

/// Order statuses that mean the lead has paid at least once.
const PAID_ORDER_STATUSES: [OrderStatus; 4] = [
    OrderStatus::Completed,
    OrderStatus::PartiallyRefunded,
    OrderStatus::Refunded,
    OrderStatus::Chargedback,
];

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateSessionError {
    /// The campaign rejects leads whose email already has a paid order.
    #[error("a lead with this email already has a completed order")]
    DuplicateLead,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`create_session`] wrote.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// The lead the session is linked to, as stored (with `REUSE`, possibly an older one).
    pub lead: Lead,
    /// The lead as this session's request sent it.
    pub payer: SessionPayer,
    pub session: PaymentSession,
    pub order: Order,
}

/// Creates lead (per the duplicate policy), session and order in one transaction.
///
/// `candidate` is the lead as sent; with `Reuse` (and `Reject` when no paid order exists) the
/// tenant's newest lead with the same email is linked instead, and its empty fields are filled.
/// Either way the session's payer is `candidate` ([`SessionPayer`]): reuse links the lead
/// without showing its stored fields. `session.lead_id` and `order.lead_id`/`session_id` are set
/// here. `new_order_number` is called
/// again if a generated order number collides.
pub fn create_session(
    conn: &mut DbConnection,
    candidate: Lead,
    policy: DuplicatePolicy,
    mut session: PaymentSession,
    mut order: Order,
    mut new_order_number: impl FnMut() -> String,
) -> Result<CreatedSession, CreateSessionError> {
    tx::write(conn, |conn| {
        let existing = match policy {
            DuplicatePolicy::Allow => None,
            DuplicatePolicy::Reuse | DuplicatePolicy::Reject => on_backend!(conn, |c| leads::table
                .filter(leads::tenant_id.eq(&candidate.tenant_id))
                .filter(leads::email_normalized.eq(&candidate.email_normalized))
                .order(leads::id.desc())
                .select(Lead::as_select())
                .first(c)
                .optional())
            .map_err(StoreError::from)?,
        };
        if policy == DuplicatePolicy::Reject && has_paid_order(conn, &candidate)? {
            return Err(CreateSessionError::DuplicateLead);
        }
        let payer = SessionPayer::sent(&session.id, &candidate);
        let lead = match existing {
            Some(mut lead) => {
                if lead.fill_empty_from(&candidate) {
                    lead.updated_at = candidate.updated_at;
                    lead.save(conn)?;
                }
                lead
            }
            None => {
                candidate.insert(conn)?;
                candidate
            }
        };
        session.lead_id.clone_from(&lead.id);
        session.insert(conn)?;
        on_backend!(conn, |c| diesel::insert_into(session_payers::table)
            .values(&payer)
            .execute(c))
        .map_err(StoreError::from)?;
        order.lead_id.clone_from(&lead.id);
        order.session_id = Some(session.id.clone());
        order
            .webhook_profile_id
            .clone_from(&session.webhook_profile_id);
        insert_order_with_fresh_number(conn, &mut order, &mut new_order_number)?;
        crate::events::Subject::of_session(&session, &order, &payer.present(lead.clone()))
            .order_created(conn, session.created_at)?;
        Ok(CreatedSession {
            lead,
            payer,
            session,
            order,
        })
    })
}

fn has_paid_order(conn: &mut DbConnection, candidate: &Lead) -> StoreResult<bool> {
    let paid: Vec<&str> = PAID_ORDER_STATUSES.iter().map(|s| s.as_str()).collect();
    let count: i64 = on_backend!(conn, |c| orders::table
        .inner_join(leads::table)
        .filter(leads::tenant_id.eq(&candidate.tenant_id))
        .filter(leads::email_normalized.eq(&candidate.email_normalized))
        .filter(orders::status.eq_any(paid))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

/// Moves one `PENDING` session to `EXPIRED` and cancels its unpaid order, in one transaction.
/// Returns false (and changes nothing) when the session was no longer `PENDING`.
pub fn expire_session(
    conn: &mut DbConnection,
    session_id: &SessionId,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    tx::write(conn, |conn| {
        expire_in_tx(conn, &[session_id.to_string()], now).map(|n| n == 1)
    })
}

/// Expires every `PENDING` session whose `expires_at` has passed (up to `limit` per call);
/// returns how many were expired.
pub fn expire_due_sessions(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> StoreResult<usize> {
    tx::write(conn, |conn| {
        let due: Vec<String> = on_backend!(conn, |c| payment_sessions::table
            .filter(crate::prepared::queue_condition(
                "payment_sessions.status = 'PENDING'",
            ))
            .filter(payment_sessions::expires_at.le(now))
            .order(payment_sessions::expires_at.asc())
            .limit(limit)
            .select(payment_sessions::id)
            .load(c))?;
        if due.is_empty() {
            return Ok(0);
        }
        expire_in_tx(conn, &due, now)
    })
}

/// Expires those of `ids` that are still `PENDING`, and only those: each row is moved by its own
/// conditional update, and the orders and events follow the rows an update changed. A session
/// that a payer claimed, or another sweeper expired, after `ids` were read is left alone (its
/// update changes nothing), so its order is not cancelled and no second event is written.
fn expire_in_tx(conn: &mut DbConnection, ids: &[String], now: NaiveDateTime) -> StoreResult<usize> {
    let mut expired_ids = Vec::with_capacity(ids.len());
    for id in ids {
        let n = on_backend!(conn, |c| crate::prepared::update(
            payment_sessions::table,
            payment_sessions::id
                .eq(id)
                .and(payment_sessions::status.eq(SessionStatus::Pending.as_str())),
            (
                payment_sessions::status.eq(SessionStatus::Expired.as_str()),
                payment_sessions::version.eq(payment_sessions::version + 1),
                payment_sessions::updated_at.eq(now),
            ),
        )
        .execute(c))?;
        if n == 1 {
            expired_ids.push(id.clone());
        }
    }
    if expired_ids.is_empty() {
        return Ok(0);
    }
    let ids = expired_ids;
    let open = [
        OrderStatus::PendingPaymentSubmission.as_str(),
        OrderStatus::Pending.as_str(),
    ];
    on_backend!(conn, |c| diesel::update(
        orders::table
            .filter(orders::session_id.eq_any(&ids))
            .filter(orders::status.eq_any(open)),
    )
    .set((
        orders::status.eq(OrderStatus::Cancelled.as_str()),
        orders::updated_at.eq(now),
    ))
    .execute(c))?;
    let expired: Vec<PaymentSession> = on_backend!(conn, |c| payment_sessions::table
        .filter(payment_sessions::id.eq_any(&ids))
        .select(PaymentSession::as_select())
        .load(c))?;
    for session in &expired {
        let (order, lead) = crate::events::load_subject(conn, session)?;
        crate::events::Subject::of_session(session, &order, &lead)
            .session_finished(conn, None, now)?;
    }
    Ok(ids.len())
}
