//! The billing run: sends due pre-notifications, then collects due subscription renewals —
//! claim ([`catalyst_store::billing::claim_renewal`]), submit ([`crate::collect::submit`]),
//! apply ([`catalyst_store::payments::apply_outcome`]). Run by the server every minute
//! ([`run`]) and by the operator (`catalyst billing run`).
//!
//! Several runs at once (two server instances, or the CLI next to the server) collect each
//! period once: the claim is the only step that decides, and it is exclusive. A run that dies
//! between claim and answer leaves a pending renewal that the recovery worker finishes; the
//! subscription is not due again until then.

use std::collections::HashSet;
use std::time::Duration;

use catalyst_store::billing::{self, Claim, ClaimedRenewal, Decision};
use catalyst_store::settlement::Settlement;
use catalyst_store::{DbConnection, StoreError, Subscription, now};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use tokio::sync::watch;

use crate::collect::{self, Collection};
use crate::db;
use crate::state::AppState;
use crate::views::money;
use crate::{health, telemetry};

/// Subscriptions read per scan.
const BATCH: i64 = 200;

/// What one run did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// The billing date of the run.
    pub date: NaiveDate,
    /// True when nothing was written.
    pub dry_run: bool,
    /// Subscriptions due for collection.
    pub due: usize,
    /// Renewals submitted to the gateway.
    pub collected: usize,
    /// Of those: approved, declined, still pending.
    pub approved: usize,
    pub declined: usize,
    pub pending: usize,
    /// Subscriptions cancelled instead of collected (cancel at period end, revoked mandate).
    pub cancelled: usize,
    /// `subscription.upcoming` notices sent.
    pub notices: usize,
    /// One line per notice and per due subscription.
    pub items: Vec<RunItem>,
}

/// One subscription the run looked at.
#[derive(Debug, Clone, Serialize)]
pub struct RunItem {
    pub subscription_id: String,
    /// `notice`, `collect`, `cancel_at_period_end`, `mandate_revoked`, or `skipped` (another
    /// run had it).
    pub action: &'static str,
    /// The amount collected (or announced), decimal string.
    pub amount: String,
    pub currency: String,
    /// The billing date of the period collected (or announced).
    pub billing_period: NaiveDate,
    /// The renewal written, when one was.
    pub transaction_id: Option<String>,
    /// `approved`, `declined` or `pending` for a collection.
    pub outcome: Option<&'static str>,
    /// The decline's error code.
    pub error_code: Option<String>,
}

impl RunItem {
    fn of(s: &Subscription, action: &'static str, period: NaiveDate) -> Result<Self, StoreError> {
        Ok(RunItem {
            subscription_id: s.id.to_string(),
            action,
            amount: money(s.amount_minor, &s.currency)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            currency: s.currency.clone(),
            billing_period: period,
            transaction_id: None,
            outcome: None,
            error_code: None,
        })
    }
}

/// Runs billing for `today`: notices first, then every due renewal. With `dry_run` nothing
/// is written and nothing is sent to a gateway: the report lists what would happen.
pub async fn run_once(
    state: &AppState,
    today: NaiveDate,
    now: NaiveDateTime,
    dry_run: bool,
) -> Result<RunReport, StoreError> {
    let mut report = RunReport {
        date: today,
        dry_run,
        ..Default::default()
    };
    notices(state, today, now, dry_run, &mut report).await?;
    renewals(state, today, now, dry_run, &mut report).await?;
    if !dry_run {
        state.events_written();
    }
    Ok(report)
}

/// A scan of due subscriptions in batches: each batch holds only rows not returned before,
/// and the scan ends with the first batch that brings nothing new (rows a run leaves due,
/// such as one another worker holds, are not taken again).
struct Scan {
    query: ScanFn,
    today: NaiveDate,
    seen: HashSet<String>,
    done: bool,
}

type ScanFn = fn(&mut DbConnection, NaiveDate, i64) -> Result<Vec<Subscription>, StoreError>;

impl Scan {
    fn new(query: ScanFn, today: NaiveDate) -> Self {
        Scan {
            query,
            today,
            seen: HashSet::new(),
            done: false,
        }
    }

    /// The next batch of new rows; empty at the end.
    async fn next(&mut self, state: &AppState) -> Result<Vec<Subscription>, StoreError> {
        if self.done {
            return Ok(Vec::new());
        }
        let (query, today) = (self.query, self.today);
        let batch = db::background(&state.store, move |c| query(c, today, BATCH)).await?;
        self.done = i64::try_from(batch.len()).unwrap_or(i64::MAX) < BATCH;
        let fresh: Vec<Subscription> = batch
            .into_iter()
            .filter(|s| self.seen.insert(s.id.to_string()))
            .collect();
        if fresh.is_empty() {
            self.done = true;
        }
        Ok(fresh)
    }
}

async fn notices(
    state: &AppState,
    today: NaiveDate,
    now: NaiveDateTime,
    dry_run: bool,
    report: &mut RunReport,
) -> Result<(), StoreError> {
    let mut scan = Scan::new(billing::due_notices, today);
    loop {
        let batch = scan.next(state).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for s in batch {
            let Some(collect_on) = s.collect_on else {
                continue;
            };
            let sent = dry_run || {
                let id = s.id.clone();
                db::background(&state.store, move |c| {
                    billing::send_notice(c, &id, today, now)
                })
                .await?
            };
            if sent {
                report.notices += 1;
                report.items.push(RunItem::of(&s, "notice", collect_on)?);
            }
        }
    }
}

async fn renewals(
    state: &AppState,
    today: NaiveDate,
    now: NaiveDateTime,
    dry_run: bool,
    report: &mut RunReport,
) -> Result<(), StoreError> {
    let mut scan = Scan::new(billing::due, today);
    loop {
        let batch = scan.next(state).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for s in batch {
            report.due += 1;
            if dry_run {
                let sub = s.clone();
                let decision =
                    db::background(&state.store, move |c| billing::preview(c, &sub)).await?;
                if decision != Decision::Collect {
                    report.cancelled += 1;
                }
                let item = RunItem::of(&s, decision.as_str(), s.next_billing_date)?;
                report.items.push(item);
            } else {
                renew(state, s, today, now, report).await?;
            }
        }
    }
}

/// Claims, submits and applies the renewal of one due subscription.
async fn renew(
    state: &AppState,
    s: Subscription,
    today: NaiveDate,
    now: NaiveDateTime,
    report: &mut RunReport,
) -> Result<(), StoreError> {
    let period = s.next_billing_date;
    let id = s.id.clone();
    // Stamped when claimed, not when the run started: the recovery worker's grace counts from
    // the renewal's creation, and a long run must not hand it a renewal it is about to submit.
    let claimed_at = now.max(catalyst_store::now());
    let claim = db::background(&state.store, move |c| {
        billing::claim_renewal(c, &id, today, claimed_at)
    })
    .await?;
    match claim {
        Claim::Skipped => report.items.push(RunItem::of(&s, "skipped", period)?),
        Claim::Ended(ended, decision) => {
            report.cancelled += 1;
            report
                .items
                .push(RunItem::of(&ended, decision.as_str(), period)?);
        }
        Claim::Collect(claimed) => {
            report.collected += 1;
            let mut item = RunItem::of(&claimed.subscription, "collect", period)?;
            item.transaction_id = Some(claimed.transaction.id.to_string());
            let (outcome, error_code) = match collect(state, &claimed, now).await? {
                Some(Settlement::Approved { .. }) => {
                    report.approved += 1;
                    ("approved", None)
                }
                Some(Settlement::Declined { code, .. } | Settlement::Abandoned { code, .. }) => {
                    report.declined += 1;
                    ("declined", Some(code))
                }
                _ => {
                    report.pending += 1;
                    ("pending", None)
                }
            };
            item.outcome = Some(outcome);
            item.error_code = error_code;
            report.items.push(item);
        }
    }
    Ok(())
}

/// Submits a claimed renewal and applies the answer; the settlement, or `None` when the
/// renewal could not be submitted (it stays pending for the recovery worker).
async fn collect(
    state: &AppState,
    claimed: &ClaimedRenewal,
    now: NaiveDateTime,
) -> Result<Option<Settlement>, StoreError> {
    let usage = claimed
        .subscription
        .plan_name
        .clone()
        .unwrap_or_else(|| "Subscription renewal".to_owned());
    let collection = Collection {
        gateway: &claimed.gateway,
        mandate: &claimed.mandate,
        lead: &claimed.lead,
        transaction: &claimed.transaction,
        usage: &usage,
    };
    let settlement = match collect::submit(state, &collection).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(transaction = %claimed.transaction.id, error = %crate::error::with_causes(&e), "billing: renewal could not be submitted; left to recovery");
            return Ok(None);
        }
    };
    let id = claimed.transaction.id.clone();
    let answer = settlement.clone();
    let at = now.max(catalyst_store::now());
    db::background(&state.store, move |c| {
        match catalyst_store::outcome::apply_outcome(c, &id, &answer, at) {
            Ok(()) | Err(StoreError::StateConflict) => Ok(()),
            Err(e @ StoreError::Corrupt(_)) => {
                tracing::error!(transaction = %id, error = %e, "billing: outcome cannot be applied");
                Ok(())
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    Ok(Some(settlement))
}

/// The worker's name in heartbeats and metrics (`catalyst_worker_cycles_total{worker="billing"}`
/// counts the scheduler's runs).
const WORKER: &str = "billing";

/// Runs [`run_once`] for the current day every `every` until `shutdown` turns true, with a
/// heartbeat per run.
pub async fn run(state: AppState, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stale_after = health::allowance(every);
    loop {
        state.health.beat(WORKER, stale_after);
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let at = now();
        let result = run_once(&state, at.date(), at, false).await;
        telemetry::worker_cycle(WORKER, result.is_ok());
        match result {
            Ok(r) if r.collected + r.cancelled + r.notices > 0 => tracing::info!(
                collected = r.collected,
                approved = r.approved,
                declined = r.declined,
                pending = r.pending,
                cancelled = r.cancelled,
                notices = r.notices,
                "billing run"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "billing run failed"),
        }
    }
}
