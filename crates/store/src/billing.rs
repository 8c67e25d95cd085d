//! Recurring billing: the plan terms a subscription keeps (dunning ladder, notice) and the
//! renewals the billing run collects.
//!
//! The billing run ([`due`], [`claim_renewal`], then the gateway, then [`apply_renewal`]) and
//! the pre-notifications ([`due_notices`], [`send_notice`]) are safe to run from several
//! processes at once: a claim re-reads the subscription under a row lock (PostgreSQL
//! `FOR UPDATE SKIP LOCKED`; SQLite's write transaction is the single writer), skips it while a
//! renewal of it is pending, and the unique key (subscription, billing period, attempt) refuses
//! a second collection of the same attempt.
//!
//! Dates: a renewal's outcome schedules from its *collection day*, the later of the day it is
//! applied and the date it was due (`collect_on`). In production both are the same day; a run
//! for a future date (`catalyst billing run --date`) schedules from that date.

use catalyst_domain::transaction::TransactionStatus;
use catalyst_domain::{SubscriptionId, SubscriptionStatus};
use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use catalyst_domain::billing::BillingFrequency;
use catalyst_domain::dunning::{self, DEFAULT_NOTICE_DAYS, DunningLadder};

use crate::collection::{self, Collected};
use crate::config::{Campaign, Gateway};
use crate::connection::on_backend;
use crate::events::Subject;
use crate::payments::{Mandate, Subscription, Transaction};
use crate::schema::{subscriptions, transactions};
use crate::sessions::{Lead, Order, PaymentSession};
use crate::settlement::Settlement;
use crate::{DbConnection, StoreError, StoreResult, prepared, tx};

/// The terms a new subscription copies from its campaign (or the defaults).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The offer's name, shown in the subscription API.
    pub name: Option<String>,
    /// Waits before retries of a declined renewal.
    pub dunning_ladder: DunningLadder,
    /// Days of SEPA pre-notification.
    pub notice_days: u32,
}

impl Plan {
    /// The terms of `campaign`, or the defaults without one.
    pub fn of_campaign(campaign: Option<&Campaign>) -> StoreResult<Plan> {
        let Some(k) = campaign else {
            return Ok(Plan {
                name: None,
                dunning_ladder: DunningLadder::default(),
                notice_days: DEFAULT_NOTICE_DAYS,
            });
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("campaign {} {what}", k.id));
        Ok(Plan {
            name: Some(k.offer_name.clone()),
            dunning_ladder: match &k.dunning_ladder {
                Some(l) => l.parse().map_err(|_| corrupt("dunning_ladder"))?,
                None => DunningLadder::default(),
            },
            notice_days: match k.prenotification_days {
                Some(d) => u32::try_from(d).map_err(|_| corrupt("prenotification_days"))?,
                None => DEFAULT_NOTICE_DAYS,
            },
        })
    }

    /// The terms of the campaign `session` was created from (the defaults in direct mode).
    pub fn of_session(conn: &mut DbConnection, session: &PaymentSession) -> StoreResult<Plan> {
        let campaign = match &session.campaign_id {
            Some(id) => Some(Campaign::find(conn, &session.tenant_id, id)?),
            None => None,
        };
        let mut plan = Plan::of_campaign(campaign.as_ref())?;
        if plan.name.is_none() {
            let offer: serde_json::Value =
                serde_json::from_str(&session.offer_snapshot).unwrap_or_default();
            plan.name = offer["name"].as_str().map(str::to_owned);
        }
        Ok(plan)
    }
}

/// Statuses whose subscriptions the billing run collects.
const SCHEDULED: [SubscriptionStatus; 2] =
    [SubscriptionStatus::Active, SubscriptionStatus::PastDue];

/// Most subscriptions one scan returns, when the caller asks for more.
pub const MAX_BATCH: i64 = 1000;

/// A renewal of the subscription is in flight (claimed, its outcome not applied yet).
const NOT_IN_FLIGHT: &str = "NOT EXISTS (SELECT 1 FROM transactions t \
     WHERE t.subscription_id = subscriptions.id AND t.status = 'pending')";

/// Subscriptions due for collection on `today` (`collect_on <= today`, `ACTIVE` or
/// `PAST_DUE`, no renewal in flight), oldest due first, at most `limit` (capped at
/// [`MAX_BATCH`]). Reads the head of the partial index `subscriptions_collect_on`
/// (`collect_on, id`), so a batch costs the same however many are due.
pub fn due(
    conn: &mut DbConnection,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<Subscription>> {
    let limit = limit.clamp(0, MAX_BATCH);
    Ok(on_backend!(conn, |c| subscriptions::table
        .filter(prepared::queue_condition(
            "subscriptions.collect_on IS NOT NULL"
        ))
        .filter(subscriptions::collect_on.le(today))
        .filter(subscriptions::status.eq_any(SCHEDULED))
        .filter(prepared::queue_condition(NOT_IN_FLIGHT))
        .order((subscriptions::collect_on.asc(), subscriptions::id.asc()))
        .limit(limit)
        .select(Subscription::as_select())
        .load(c))?)
}

/// Subscriptions whose pre-notification is due on `today` (`notice_on <= today`), oldest
/// first, at most `limit` (capped at [`MAX_BATCH`]). Reads through `subscriptions_notice_on`.
pub fn due_notices(
    conn: &mut DbConnection,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<Subscription>> {
    let limit = limit.clamp(0, MAX_BATCH);
    Ok(on_backend!(conn, |c| subscriptions::table
        .filter(prepared::queue_condition(
            "subscriptions.notice_on IS NOT NULL"
        ))
        .filter(subscriptions::notice_on.le(today))
        .filter(subscriptions::status.eq_any(SCHEDULED))
        .order((subscriptions::notice_on.asc(), subscriptions::id.asc()))
        .limit(limit)
        .select(Subscription::as_select())
        .load(c))?)
}

/// What the billing run does with a due subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Collect the period's amount.
    Collect,
    /// Cancelled at the end of its period, as requested: nothing is collected.
    CancelAtPeriodEnd,
    /// Its mandate was revoked: nothing may be collected, the subscription is cancelled.
    MandateRevoked,
}

impl Decision {
    /// `collect`, `cancel_at_period_end`, `mandate_revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Collect => "collect",
            Decision::CancelAtPeriodEnd => "cancel_at_period_end",
            Decision::MandateRevoked => "mandate_revoked",
        }
    }

    fn of(s: &Subscription, mandate: &Mandate) -> Decision {
        if s.cancel_at_period_end {
            Decision::CancelAtPeriodEnd
        } else if mandate.revoked_at.is_some() {
            Decision::MandateRevoked
        } else {
            Decision::Collect
        }
    }
}

/// What [`claim_renewal`] would decide for `s` now, without writing anything (`--dry-run`).
pub fn preview(conn: &mut DbConnection, s: &Subscription) -> StoreResult<Decision> {
    let mandate = Mandate::find(conn, &s.tenant_id, &s.mandate_id)?;
    Ok(Decision::of(s, &mandate))
}

/// A renewal claimed for collection: the pending transaction and the rows the gateway call
/// needs.
#[derive(Debug, Clone)]
pub struct ClaimedRenewal {
    pub subscription: Subscription,
    pub order: Order,
    pub lead: Lead,
    pub gateway: Gateway,
    pub mandate: Mandate,
    /// The pending renewal (`subscription_id`, `billing_period`, `billing_attempt` set).
    pub transaction: Transaction,
}

/// What [`claim_renewal`] did.
#[derive(Debug, Clone)]
pub enum Claim {
    /// A pending renewal was written: submit it, then apply the answer.
    Collect(Box<ClaimedRenewal>),
    /// The subscription was cancelled instead (the reason), nothing collected.
    Ended(Box<Subscription>, Decision),
    /// Nothing to do: no longer due, a renewal already in flight, or another worker has it.
    Skipped,
}

/// Claims the renewal of `subscription_id` due on `today`, in one transaction: re-reads the
/// subscription under a row lock, checks it is still due with no renewal in flight, then
/// either ends it ([`Decision::CancelAtPeriodEnd`], [`Decision::MandateRevoked`]: `CANCELLED`,
/// `subscription.status_changed`) or writes the pending renewal on the subscription's order
/// (`transaction.created`). A second claim of the same period and attempt is
/// [`Claim::Skipped`], never an error.
pub fn claim_renewal(
    conn: &mut DbConnection,
    subscription_id: &SubscriptionId,
    today: NaiveDate,
    now: NaiveDateTime,
) -> StoreResult<Claim> {
    tx::write(conn, |conn| {
        let Some(mut s) = lock(conn, subscription_id, true)? else {
            return Ok(Claim::Skipped);
        };
        let due = s.collect_on.is_some_and(|d| d <= today) && is_scheduled(&s);
        if !due || in_flight(conn, &s.id)? {
            return Ok(Claim::Skipped);
        }
        let mandate = Mandate::find(conn, &s.tenant_id, &s.mandate_id)?;
        let order = Order::find(conn, &s.tenant_id, &s.order_id)?;
        let lead = Lead::find(conn, &s.tenant_id, &order.lead_id)?;
        let decision = Decision::of(&s, &mandate);
        if decision != Decision::Collect {
            end(conn, &mut s, &Subject::of_order(&order, &lead), now)?;
            return Ok(Claim::Ended(Box::new(s), decision));
        }
        let gateway = Gateway::find(conn, &s.tenant_id, &s.gateway_id)?;
        let mut t = collection::new_collection(&order, &gateway.id, &mandate, s.amount_minor, now);
        t.currency.clone_from(&s.currency);
        t.subscription_id = Some(s.id.clone());
        t.billing_period = Some(s.next_billing_date);
        t.billing_attempt = Some(next_attempt(conn, &s)?);
        match collection::insert_pending(conn, &mut t) {
            Err(StoreError::Conflict(_)) => return Ok(Claim::Skipped),
            other => other?,
        }
        Subject::of_order(&order, &lead).transaction_created(conn, &t, now)?;
        Ok(Claim::Collect(Box::new(ClaimedRenewal {
            subscription: s,
            order,
            lead,
            gateway,
            mandate,
            transaction: t,
        })))
    })
}

/// Applies the gateway's answer to the renewal `t`, inside the caller's transaction
/// ([`crate::outcome::apply_outcome`]).
/// Idempotent: a renewal that is no longer pending is left as it is.
///
/// - Approved: the period is billed (`periods_billed + 1`), the next billing date is
///   `nth_after(anchor_date, periods_billed)` (month ends stay anchored), collection and
///   notice are scheduled for it, the dunning count is reset and a `PAST_DUE` subscription is
///   `ACTIVE` again; `subscription.renewed`.
/// - Declined by the bank or the gateway's checks: one dunning step. The retry follows the
///   ladder (`PAST_DUE`, `subscription.payment_failed` with `next_retry_on`); once the ladder
///   is exhausted the subscription is `CANCELLED` (there is no `UNPAID` status: an unpaid
///   subscription is ended, and the merchant starts a new one if the customer pays later).
/// - Declined without reaching the bank (gateway unreachable): retried the next day, no
///   dunning step.
/// - Still pending: nothing (the recovery worker or a notification finishes it).
///
/// A subscription paused or ended while its renewal was in flight keeps its status and
/// schedule; an approved renewal still counts its period.
pub(crate) fn apply_renewal(
    conn: &mut DbConnection,
    mut t: Transaction,
    settlement: &Settlement,
    now: NaiveDateTime,
) -> StoreResult<()> {
    if t.status != TransactionStatus::Pending {
        return Ok(());
    }
    let subscription_id = t
        .subscription_id
        .clone()
        .ok_or_else(|| StoreError::Corrupt(format!("renewal {} has no subscription", t.id)))?;
    let mut s = lock(conn, &subscription_id, false)?.ok_or(StoreError::NotFound)?;
    let mut mandate = Mandate::find(conn, &t.tenant_id, &t.mandate_id)?;
    let order = Order::find(conn, &t.tenant_id, &t.order_id)?;
    let lead = Lead::find(conn, &t.tenant_id, &order.lead_id)?;
    let collected = collection::settle(conn, &mut t, &mut mandate, settlement, now)?;
    if collected == Collected::Pending {
        return Ok(());
    }
    let subject = Subject::of_order(&order, &lead);
    subject.transaction_status_changed(conn, &t, TransactionStatus::Pending, now)?;
    let previous = s.status;
    let scheduled = is_scheduled(&s);
    let current_period = t.billing_period == Some(s.next_billing_date);
    let day = now.date().max(s.collect_on.unwrap_or(NaiveDate::MIN));
    s.updated_at = now;
    match collected {
        Collected::Pending => unreachable!("returned above"),
        Collected::Approved => {
            if current_period {
                let frequency: BillingFrequency = s.billing_frequency.parse().map_err(|_| {
                    StoreError::Corrupt(format!("subscription {} billing_frequency", s.id))
                })?;
                s.periods_billed += 1;
                s.next_billing_date = frequency
                    .nth_after(s.anchor_date, u32::try_from(s.periods_billed).unwrap_or(0));
                s.dunning_attempts = 0;
            }
            if scheduled {
                s.status = SubscriptionStatus::Active;
                s.collect_on = Some(s.next_billing_date);
                s.notice_on = Some(dunning::notice_on(
                    s.next_billing_date,
                    u32::try_from(s.notice_days).unwrap_or(DEFAULT_NOTICE_DAYS),
                    day,
                ));
            }
            s.save(conn)?;
            if previous != s.status {
                subject.subscription_status_changed(conn, &s, previous.as_str(), now)?;
            }
            subject.subscription_renewed(conn, &s, &t, now)?;
        }
        Collected::Declined { counts: false } => {
            if scheduled {
                s.collect_on = day.checked_add_days(Days::new(1));
                s.save(conn)?;
            }
        }
        Collected::Declined { counts: true } => {
            if !(scheduled && current_period) {
                s.save(conn)?;
                return subject.subscription_payment_failed(
                    conn,
                    &s,
                    &t,
                    s.dunning_attempts,
                    None,
                    now,
                );
            }
            s.dunning_attempts += 1;
            let ladder: DunningLadder = s.dunning_ladder.parse().map_err(|_| {
                StoreError::Corrupt(format!("subscription {} dunning_ladder", s.id))
            })?;
            let retry = ladder.retry_on(day, u32::try_from(s.dunning_attempts).unwrap_or(u32::MAX));
            match retry {
                Some(on) => {
                    s.status = SubscriptionStatus::PastDue;
                    s.collect_on = Some(on);
                    s.notice_on = None;
                    s.save(conn)?;
                    if previous != SubscriptionStatus::PastDue {
                        subject.subscription_status_changed(conn, &s, previous.as_str(), now)?;
                    }
                }
                None => {
                    // The payment failed while the subscription was still running: the
                    // failure is reported before the subscription ends.
                    if previous != SubscriptionStatus::PastDue {
                        s.status = SubscriptionStatus::PastDue;
                        subject.subscription_status_changed(conn, &s, previous.as_str(), now)?;
                    }
                    s.collect_on = None;
                    s.notice_on = None;
                    subject.subscription_payment_failed(
                        conn,
                        &s,
                        &t,
                        s.dunning_attempts,
                        None,
                        now,
                    )?;
                    return end(conn, &mut s, &subject, now);
                }
            }
            subject.subscription_payment_failed(conn, &s, &t, s.dunning_attempts, retry, now)?;
        }
    }
    Ok(())
}

/// Sends the pre-notification of `subscription_id`'s next collection if it is still due on
/// `today`, in one transaction: `subscription.upcoming` and `notice_on` cleared, so each
/// collection is announced exactly once (a successful renewal schedules the next notice).
/// True when it was sent.
pub fn send_notice(
    conn: &mut DbConnection,
    subscription_id: &SubscriptionId,
    today: NaiveDate,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    tx::write(conn, |conn| {
        let Some(mut s) = lock(conn, subscription_id, true)? else {
            return Ok(false);
        };
        if !(s.notice_on.is_some_and(|d| d <= today) && is_scheduled(&s)) {
            return Ok(false);
        }
        let collect_on = s.collect_on;
        s.notice_on = None;
        s.updated_at = now;
        s.save(conn)?;
        // Nothing scheduled (a stale notice date): cleared without an announcement.
        let Some(collect_on) = collect_on else {
            return Ok(false);
        };
        let mandate = Mandate::find(conn, &s.tenant_id, &s.mandate_id)?;
        let order = Order::find(conn, &s.tenant_id, &s.order_id)?;
        let lead = Lead::find(conn, &s.tenant_id, &order.lead_id)?;
        let gateway = Gateway::find(conn, &s.tenant_id, &s.gateway_id)?;
        Subject::of_order(&order, &lead).subscription_upcoming(
            conn,
            &s,
            collect_on,
            &mandate.reference,
            gateway.creditor_identifier.as_deref(),
            now,
        )?;
        Ok(true)
    })
}

/// The subscription, locked for this transaction: on PostgreSQL `FOR UPDATE`, skipping a row
/// another transaction holds when `skip_locked` (`None` then); on SQLite the write
/// transaction already holds the database.
fn lock(
    conn: &mut DbConnection,
    id: &SubscriptionId,
    skip_locked: bool,
) -> StoreResult<Option<Subscription>> {
    let query = subscriptions::table.find(id);
    Ok(on_backend!(
        conn,
        pg | c
            | if skip_locked {
                query
                    .select(Subscription::as_select())
                    .for_update()
                    .skip_locked()
                    .first(c)
                    .optional()?
            } else {
                query
                    .select(Subscription::as_select())
                    .for_update()
                    .first(c)
                    .optional()?
            },
        sqlite
            | c
            | query
                .select(Subscription::as_select())
                .first(c)
                .optional()?
    ))
}

/// Whether a renewal of the subscription is pending.
/// One probe of the partial index `transactions_subscription_pending`: the status is a literal
/// so that a generic plan of the prepared statement can use it.
fn in_flight(conn: &mut DbConnection, subscription_id: &SubscriptionId) -> StoreResult<bool> {
    let n: i64 = on_backend!(conn, |c| transactions::table
        .filter(transactions::subscription_id.eq(subscription_id))
        .filter(prepared::queue_condition("transactions.status = 'pending'"))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

/// The attempt number of the next collection of `s`'s current period: one more than the
/// declines counted so far, and above every attempt already written for the period (a retry
/// after a decline that did not count keeps the dunning count but needs a new attempt).
fn next_attempt(conn: &mut DbConnection, s: &Subscription) -> StoreResult<i32> {
    let highest: Option<i32> = on_backend!(conn, |c| transactions::table
        .filter(transactions::subscription_id.eq(&s.id))
        .filter(transactions::billing_period.eq(s.next_billing_date))
        .select(diesel::dsl::max(transactions::billing_attempt))
        .first(c))?;
    Ok((s.dunning_attempts + 1).max(highest.unwrap_or(0) + 1))
}

/// `ACTIVE` or `PAST_DUE`: the billing run collects it.
fn is_scheduled(s: &Subscription) -> bool {
    matches!(
        s.status,
        SubscriptionStatus::Active | SubscriptionStatus::PastDue
    )
}

/// Cancels `s` (nothing more is collected or announced) with `subscription.status_changed`.
fn end(
    conn: &mut DbConnection,
    s: &mut Subscription,
    subject: &Subject<'_>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let previous = s.status;
    previous
        .transition_to(SubscriptionStatus::Cancelled)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    s.status = SubscriptionStatus::Cancelled;
    s.ended_at = Some(now);
    s.collect_on = None;
    s.notice_on = None;
    s.updated_at = now;
    s.save(conn)?;
    subject.subscription_status_changed(conn, s, previous.as_str(), now)
}
