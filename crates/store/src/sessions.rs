//! Leads, payment sessions and orders, and the one transaction that creates them together.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use catalyst_domain::{DuplicatePolicy, OrderStatus, SessionStatus};

use crate::connection::on_backend;
use crate::schema::{leads, orders, payment_sessions, session_payers};
use crate::{DbConnection, StoreError, StoreResult, tx};

/// A person who started a payment session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = leads, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Lead {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    /// Lower-cased email, the key for duplicate handling.
    pub email_normalized: String,
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(Lead, leads);

impl Lead {
    /// Fills this lead's empty optional fields from `other`; true if anything changed.
    fn fill_empty_from(&mut self, other: &Lead) -> bool {
        let mut changed = false;
        for (mine, theirs) in [
            (&mut self.address, &other.address),
            (&mut self.city, &other.city),
            (&mut self.postal_code, &other.postal_code),
            (&mut self.phone, &other.phone),
        ] {
            if mine.is_none() && theirs.is_some() {
                mine.clone_from(theirs);
                changed = true;
            }
        }
        changed
    }
}

/// The payer of a session: the lead fields its creation request sent. The session shows and
/// uses these (hosted page, webhooks, the gateway's debit request), not the fields stored on the
/// lead it is linked to: with the `REUSE` policy that lead may come from another person's
/// request with the same e-mail, and its stored fields are not this session's to disclose.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = session_payers, treat_none_as_default_value = false)]
pub struct SessionPayer {
    pub session_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
}

impl SessionPayer {
    /// The payer of session `session_id` as `sent`, the lead of its creation request.
    pub fn sent(session_id: &str, sent: &Lead) -> Self {
        Self {
            session_id: session_id.to_owned(),
            email: sent.email.clone(),
            first_name: sent.first_name.clone(),
            last_name: sent.last_name.clone(),
            country: sent.country.clone(),
            address: sent.address.clone(),
            city: sent.city.clone(),
            postal_code: sent.postal_code.clone(),
            phone: sent.phone.clone(),
        }
    }

    /// The payer of a session.
    pub fn of_session(conn: &mut DbConnection, session_id: &str) -> StoreResult<Self> {
        on_backend!(conn, |c| session_payers::table
            .find(session_id)
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }

    /// `lead` as the session presents it: the linked lead's id and keys with this payer's
    /// fields, so that nothing reads the stored fields of a lead the session only links to.
    pub fn present(&self, lead: Lead) -> Lead {
        Lead {
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            country: self.country.clone(),
            address: self.address.clone(),
            city: self.city.clone(),
            postal_code: self.postal_code.clone(),
            phone: self.phone.clone(),
            ..lead
        }
    }
}

/// The lead of `session` as the session presents it ([`SessionPayer::present`]).
pub fn lead_of_session(conn: &mut DbConnection, session: &PaymentSession) -> StoreResult<Lead> {
    let lead = Lead::find(conn, &session.tenant_id, &session.lead_id)?;
    Ok(SessionPayer::of_session(conn, &session.id)?.present(lead))
}

/// A payment session: the terms a customer is asked to accept and pay.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = payment_sessions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PaymentSession {
    pub id: String,
    pub tenant_id: String,
    pub token: String,
    pub status: String,
    pub mode: String,
    pub campaign_id: Option<String>,
    pub gateway_id: String,
    pub hosted_page_id: Option<String>,
    pub webhook_profile_id: Option<String>,
    pub lead_id: String,
    /// JSON object: the offer's display fields (`name`, `product_name`, `product_description`)
    /// as they were when the session was created.
    pub offer_snapshot: String,
    pub amount_minor: i64,
    pub currency: String,
    pub billing_type: String,
    pub billing_frequency: Option<String>,
    pub trial_period: Option<i32>,
    pub trial_interval_unit: Option<String>,
    pub trial_price_minor: Option<i64>,
    /// JSON object: the pricing fields this session overrode on its campaign.
    pub offer_overrides: String,
    pub max_payment_attempts: i32,
    pub attempts_used: i32,
    pub customer_id: Option<String>,
    pub external_customer_id: Option<String>,
    pub return_url: Option<String>,
    pub default_locale: String,
    /// JSON array of line items.
    pub line_items: String,
    /// JSON object string → string.
    pub metadata: String,
    pub customer_ip: Option<String>,
    pub expires_at: NaiveDateTime,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(PaymentSession, payment_sessions);

impl PaymentSession {
    /// The session's status as its enum.
    pub fn status(&self) -> StoreResult<SessionStatus> {
        self.status
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("session status {:?}", self.status)))
    }

    /// Loads a session by its token (any tenant: the token is the credential).
    pub fn find_by_token(conn: &mut DbConnection, token: &str) -> StoreResult<Self> {
        on_backend!(conn, |c| payment_sessions::table
            .filter(payment_sessions::token.eq(token))
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}

/// The order a session creates; completed when the session is paid.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = orders, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Order {
    pub id: String,
    pub tenant_id: String,
    /// The session this order pays; `None` for a customer charge.
    pub session_id: Option<String>,
    pub lead_id: String,
    /// `ORD-` + 8 upper-case hex.
    pub order_number: String,
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The saved customer a charge was made on.
    pub customer_id: Option<String>,
    /// Where the order's events go (the session's profile, for a session's order).
    pub webhook_profile_id: Option<String>,
}
crate::scoped::tenant_scoped!(Order, orders);

impl Order {
    /// The order of a session.
    pub fn find_by_session(conn: &mut DbConnection, session_id: &str) -> StoreResult<Self> {
        on_backend!(conn, |c| orders::table
            .filter(orders::session_id.eq(session_id))
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}

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

/// Inserts the order; an order number that is taken (8 random hex digits) makes the insert
/// write nothing (`ON CONFLICT (order_number) DO NOTHING`), and it is tried again with a new
/// number. No savepoint is needed: nothing failed.
pub(crate) fn insert_order_with_fresh_number(
    conn: &mut DbConnection,
    order: &mut Order,
    new_order_number: &mut impl FnMut() -> String,
) -> StoreResult<()> {
    for _ in 0..5 {
        let row: &Order = order;
        let inserted = on_backend!(conn, |c| diesel::insert_into(orders::table)
            .values(row)
            .on_conflict(orders::order_number)
            .do_nothing()
            .execute(c))?;
        if inserted == 1 {
            return Ok(());
        }
        order.order_number = new_order_number();
    }
    Err(StoreError::Conflict("order_number"))
}

/// Moves one `PENDING` session to `EXPIRED` and cancels its unpaid order, in one transaction.
/// Returns false (and changes nothing) when the session was no longer `PENDING`.
pub fn expire_session(
    conn: &mut DbConnection,
    session_id: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    tx::write(conn, |conn| {
        expire_in_tx(conn, &[session_id.to_owned()], now).map(|n| n == 1)
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
