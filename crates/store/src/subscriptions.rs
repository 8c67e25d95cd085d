//! The subscription API's side of the store: a tenant's subscriptions with what the API shows of
//! them (order number, mandate, session token, collections), and the merchant's changes —
//! cancel, pause, resume, a new amount or billing date. Each change runs in one transaction
//! ([`tx::write`]) with its events: `subscription.status_changed` when the status moves and
//! `subscription.updated` when the amount, the billing date or `cancel_at_period_end` changes.
//!
//! The billing run (another module) reads the scheduling columns these changes write:
//!
//! - `collect_on`: the day it collects next; `NULL` while paused and once ended.
//! - `cancel_at_period_end`: when it reaches `collect_on` of such a subscription it cancels it
//!   (status `CANCELLED`, `ended_at` set, `collect_on`/`notice_on` cleared) instead of
//!   collecting, and sends `subscription.status_changed`.
//! - `amount_minor`: read when a collection is made, so a new amount applies from the next one.
//! - `anchor_date`/`periods_billed`: period `n` is due on `frequency.nth_after(anchor_date, n)`;
//!   the next one to collect is `periods_billed`.

use catalyst_domain::billing::BillingFrequency;
use catalyst_domain::transaction::{TransactionKind, TransactionStatus};
use catalyst_domain::{CustomerId, SubscriptionId, SubscriptionStatus, TenantId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::connection::on_backend;
use crate::events::Subject;
use crate::pagination::{Cursor, Keyed, Page, PageRequest};
use crate::schema::{mandates, orders, payment_sessions, subscriptions, transactions};
use crate::sessions::lead_of_session;
use crate::{
    DbConnection, Lead, Order, PaymentSession, StoreError, StoreResult, Subscription, Transaction,
    tx,
};

type Db = <DbConnection as diesel::Connection>::Backend;

/// The mandate columns the subscription API shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mandates)]
pub struct MandateDetails {
    /// `MAND-` + order number.
    pub reference: String,
    /// The IBAN's last four characters.
    pub iban_last4: String,
    /// The IBAN's country.
    pub iban_country: String,
    /// The bank's BIC, when the registry knows it.
    pub bic: Option<String>,
    /// The bank's name, when the registry knows it.
    pub bank_name: Option<String>,
    /// `FRST` until a collection succeeded, then `RCUR`.
    pub sequence_type: String,
    /// The mandate text the payer accepted (null for mandates from before it was kept).
    pub mandate_text: Option<String>,
    /// The locale of `mandate_text`.
    pub mandate_locale: Option<String>,
}

/// A subscription with its session token, order number and mandate.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionDetail {
    /// The subscription row.
    #[diesel(embed)]
    pub subscription: Subscription,
    /// The token of the session that started it (`None` for a sessionless subscription).
    #[diesel(select_expression = payment_sessions::token.nullable())]
    pub session_token: Option<String>,
    /// The number of the subscription's order.
    #[diesel(select_expression = orders::order_number)]
    pub order_number: String,
    /// The mandate it collects under.
    #[diesel(embed)]
    pub mandate: MandateDetails,
}

impl Keyed for SubscriptionDetail {
    fn key(&self) -> &str {
        &self.subscription.id
    }
}

/// Filters of the subscription list. An empty `statuses` means any status.
#[derive(Clone, Debug, Default)]
pub struct SubscriptionQuery {
    /// Only these statuses (API strings).
    pub statuses: Vec<String>,
    /// Only this customer's subscriptions.
    pub customer_id: Option<CustomerId>,
}

/// The boxed statement selecting the tenant's [`SubscriptionDetail`]s, for more filters.
macro_rules! detail_query {
    ($tenant:expr) => {
        subscriptions::table
            .left_join(
                payment_sessions::table
                    .on(subscriptions::session_id.eq(payment_sessions::id.nullable())),
            )
            .inner_join(orders::table.on(orders::id.eq(subscriptions::order_id)))
            .inner_join(mandates::table.on(mandates::id.eq(subscriptions::mandate_id)))
            .filter(subscriptions::tenant_id.eq($tenant))
            .select(SubscriptionDetail::as_select())
            .into_boxed::<Db>()
    };
}

/// One page of the tenant's subscriptions, newest first, without their collections.
pub fn page(
    conn: &mut DbConnection,
    tenant: &TenantId,
    query: &SubscriptionQuery,
    page: &PageRequest,
) -> StoreResult<Page<SubscriptionDetail>> {
    let mut q = detail_query!(tenant);
    if !query.statuses.is_empty() {
        q = q.filter(subscriptions::status.eq_any(&query.statuses));
    }
    if let Some(customer) = &query.customer_id {
        q = q.filter(subscriptions::customer_id.eq(customer));
    }
    let limit = i64::from(page.size) + 1;
    Ok(match &page.cursor {
        None => Page::from_descending(
            q.order(subscriptions::id.desc()).limit(limit).load(conn)?,
            page.size,
            false,
        ),
        Some(Cursor::After(id)) => Page::from_descending(
            q.filter(subscriptions::id.lt(id))
                .order(subscriptions::id.desc())
                .limit(limit)
                .load(conn)?,
            page.size,
            true,
        ),
        Some(Cursor::Before(id)) => Page::from_ascending(
            q.filter(subscriptions::id.gt(id))
                .order(subscriptions::id.asc())
                .limit(limit)
                .load(conn)?,
            page.size,
        ),
    })
}

/// The tenant's subscription `id` ([`StoreError::NotFound`] for another tenant's).
pub fn find(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
) -> StoreResult<SubscriptionDetail> {
    Ok(detail_query!(tenant)
        .filter(subscriptions::id.eq(id))
        .first(conn)?)
}

/// What a subscription collected or tried to: the debit that started it (its order's
/// transaction that was not declined: the approved session debit, later perhaps
/// `charged_back`) and every renewal of it (`subscription_id`, all attempts), oldest first.
/// Refunds are not collections.
pub fn collections(conn: &mut DbConnection, s: &Subscription) -> StoreResult<Vec<Transaction>> {
    let rows = on_backend!(conn, |c| transactions::table
        .filter(transactions::tenant_id.eq(&s.tenant_id))
        .filter(
            transactions::subscription_id
                .eq(&s.id)
                .or(transactions::order_id
                    .eq(&s.order_id)
                    .and(transactions::subscription_id.is_null())
                    .and(transactions::status.ne(TransactionStatus::Declined))
                    .and(transactions::status.ne(TransactionStatus::Pending))),
        )
        .filter(transactions::refund_of.is_null())
        .filter(transactions::kind.ne(TransactionKind::Refund))
        .order((transactions::created_at.asc(), transactions::id.asc()))
        .select(Transaction::as_select())
        .load(c))?;
    Ok(rows)
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The subscription's status does not allow this change (API: 409
    /// `subscription_not_modifiable`).
    #[error("subscription {id} is {status}: {why}")]
    NotModifiable {
        /// The subscription.
        id: String,
        /// Its status.
        status: String,
        /// What was refused.
        why: &'static str,
    },
    /// A store error (not found, database).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A merchant's change of the amount and/or the billing date (`PATCH`).
#[derive(Clone, Debug, Default)]
pub struct Update {
    /// The new amount in minor units (> 0), from the next collection on.
    pub amount_minor: Option<i64>,
    /// A new next billing date (after today): the subscription is re-anchored on it.
    pub next_billing_date: Option<NaiveDate>,
}

/// `POST /subscriptions/{id}/cancel/`: at once (status `CANCELLED`, `ended_at`, nothing more
/// scheduled), or with `at_period_end` when the billing run reaches `collect_on` (see the
/// module docs). A terminal subscription is [`ChangeError::NotModifiable`]; asking again for a
/// cancellation at period end changes nothing.
pub fn cancel(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
    at_period_end: bool,
    now: NaiveDateTime,
) -> Result<Subscription, ChangeError> {
    change(conn, tenant, id, now, |s, status| {
        if at_period_end {
            if status.is_terminal() {
                return Err(refused(s, "a subscription that ended cannot be cancelled"));
            }
            s.cancel_at_period_end = true;
        } else {
            move_to(
                s,
                status,
                SubscriptionStatus::Cancelled,
                "cannot be cancelled",
            )?;
            s.ended_at = Some(now);
            s.collect_on = None;
            s.notice_on = None;
        }
        Ok(())
    })
}

/// `POST /subscriptions/{id}/pause/`: `ACTIVE`/`PAST_DUE` → `PAUSED`; nothing is collected or
/// announced until it is resumed.
pub fn pause(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
    now: NaiveDateTime,
) -> Result<Subscription, ChangeError> {
    change(conn, tenant, id, now, |s, status| {
        move_to(s, status, SubscriptionStatus::Paused, "cannot be paused")?;
        s.paused_at = Some(now);
        s.collect_on = None;
        s.notice_on = None;
        Ok(())
    })
}

/// `POST /subscriptions/{id}/resume/`: `PAUSED` → `ACTIVE`. The next collection is the first
/// period date on or after today (`now`'s date) counted from the anchor; the periods whose dates
/// passed while paused are skipped, not collected (`periods_billed` moves past them), and the
/// dunning count starts again.
pub fn resume(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
    now: NaiveDateTime,
) -> Result<Subscription, ChangeError> {
    change(conn, tenant, id, now, |s, status| {
        move_to(s, status, SubscriptionStatus::Active, "cannot be resumed")?;
        let frequency = frequency(s)?;
        let today = now.date();
        let from = u32::try_from(s.periods_billed).unwrap_or(0);
        let (n, next) = frequency.first_on_or_after(s.anchor_date, from, today);
        s.periods_billed = i32::try_from(n).unwrap_or(i32::MAX);
        schedule(s, next, today);
        s.dunning_attempts = 0;
        s.paused_at = None;
        Ok(())
    })
}

/// `PATCH /subscriptions/{id}/`: a new amount (from the next collection on) and/or a new next
/// billing date, which re-anchors the plan on it (period 0 is that date). A paused subscription
/// keeps nothing scheduled until resumed. Refused on a terminal subscription, and a new date
/// while a renewal is in flight (`PENDING`). The caller checks that the date is after today.
pub fn update(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
    update: &Update,
    now: NaiveDateTime,
) -> Result<Subscription, ChangeError> {
    change(conn, tenant, id, now, |s, status| {
        if status.is_terminal() {
            return Err(refused(s, "a subscription that ended cannot be changed"));
        }
        if let Some(amount) = update.amount_minor {
            s.amount_minor = amount;
        }
        if let Some(date) = update.next_billing_date {
            if status == SubscriptionStatus::Pending {
                return Err(refused(
                    s,
                    "the billing date cannot change while a renewal is in flight",
                ));
            }
            s.anchor_date = date;
            s.periods_billed = 0;
            s.dunning_attempts = 0;
            if status == SubscriptionStatus::Paused {
                s.next_billing_date = date;
            } else {
                schedule(s, date, now.date());
            }
        }
        Ok(())
    })
}

/// Next collection on `date`: `next_billing_date`, `collect_on` and the pre-notification day.
fn schedule(s: &mut Subscription, date: NaiveDate, today: NaiveDate) {
    s.next_billing_date = date;
    s.collect_on = Some(date);
    let notice_days = u32::try_from(s.notice_days).unwrap_or(0);
    s.notice_on = Some(catalyst_domain::dunning::notice_on(
        date,
        notice_days,
        today,
    ));
}

fn refused(s: &Subscription, why: &'static str) -> ChangeError {
    ChangeError::NotModifiable {
        id: s.id.to_string(),
        status: s.status.as_str().to_owned(),
        why,
    }
}

fn move_to(
    s: &mut Subscription,
    from: SubscriptionStatus,
    to: SubscriptionStatus,
    why: &'static str,
) -> Result<(), ChangeError> {
    from.transition_to(to).map_err(|_| refused(s, why))?;
    s.status = to;
    Ok(())
}

fn frequency(s: &Subscription) -> StoreResult<BillingFrequency> {
    s.billing_frequency
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("subscription {} billing_frequency", s.id)))
}

/// Loads the subscription, locked for this transaction (PostgreSQL `FOR UPDATE`; SQLite's write
/// transaction holds the database), applies `edit`, and when anything changed saves it and
/// emits its events.
fn change(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
    now: NaiveDateTime,
    edit: impl FnOnce(&mut Subscription, SubscriptionStatus) -> Result<(), ChangeError>,
) -> Result<Subscription, ChangeError> {
    tx::write(conn, |conn| {
        let before = lock(conn, tenant, id)?;
        let status: SubscriptionStatus = before.status;
        let mut s = before.clone();
        edit(&mut s, status)?;
        let changes = changes(&before, &s)?;
        let status_changed = s.status != before.status;
        if !status_changed && changes.is_empty() {
            return Ok(before);
        }
        s.updated_at = now;
        s.save(conn)?;
        emit(conn, &before, &s, changes, now)?;
        Ok(s)
    })
}

fn lock(
    conn: &mut DbConnection,
    tenant: &TenantId,
    id: &SubscriptionId,
) -> StoreResult<Subscription> {
    let query = subscriptions::table.filter(subscriptions::id.eq(id));
    let row: Subscription = on_backend!(
        conn,
        pg | c
            | query
                .select(Subscription::as_select())
                .for_update()
                .first(c)?,
        sqlite | c | query.select(Subscription::as_select()).first(c)?
    );
    if row.tenant_id == *tenant {
        Ok(row)
    } else {
        Err(StoreError::NotFound)
    }
}

/// The `changes` of a `subscription.updated` event: `{field: {"previous", "current"}}` for the
/// amount, the next billing date and `cancel_at_period_end`.
fn changes(
    before: &Subscription,
    after: &Subscription,
) -> StoreResult<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    if before.amount_minor != after.amount_minor {
        out.insert(
            "amount".into(),
            json!({"previous": crate::events::money(before.amount_minor, &before.currency)?,
                   "current": crate::events::money(after.amount_minor, &after.currency)?}),
        );
    }
    if before.next_billing_date != after.next_billing_date {
        out.insert(
            "next_billing_date".into(),
            json!({"previous": day(before.next_billing_date), "current": day(after.next_billing_date)}),
        );
    }
    if before.cancel_at_period_end != after.cancel_at_period_end {
        out.insert(
            "cancel_at_period_end".into(),
            json!({"previous": before.cancel_at_period_end, "current": after.cancel_at_period_end}),
        );
    }
    Ok(out)
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The events of one change, to the subscription's order subject: its session's when it has
/// one, else the order's own ([`Subject::of_order`]).
fn emit(
    conn: &mut DbConnection,
    before: &Subscription,
    s: &Subscription,
    changes: serde_json::Map<String, Value>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let order = Order::find(conn, &s.tenant_id, &s.order_id)?;
    let session = match &s.session_id {
        Some(id) => Some(PaymentSession::find(conn, &s.tenant_id, id)?),
        None => None,
    };
    let lead = match &session {
        Some(session) => lead_of_session(conn, session)?,
        None => Lead::find(conn, &s.tenant_id, &order.lead_id)?,
    };
    let subject = match &session {
        Some(session) => Subject::of_session(session, &order, &lead),
        None => Subject::of_order(&order, &lead),
    };
    if s.status != before.status {
        subject.subscription_status_changed(conn, s, before.status.as_str(), now)?;
    }
    if !changes.is_empty() {
        subject.subscription_updated(conn, s, Value::Object(changes), now)?;
    }
    Ok(())
}
