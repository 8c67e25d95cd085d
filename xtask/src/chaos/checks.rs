//! The invariants checked after a fault, as SQL against the scenario's PostgreSQL database and
//! as counts of what the webhook receiver saw, by event id.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

use super::Report;
use crate::bench::sys;
use crate::bench::webhooks::Receiver;

/// Rows the invariants forbid: (what, SQL counting them).
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "sessions still PAYMENT_IN_PROGRESS",
        "SELECT count(*) AS n FROM payment_sessions WHERE status = 'PAYMENT_IN_PROGRESS'",
    ),
    (
        "transactions still pending (session not awaiting verification)",
        "SELECT count(*) AS n FROM transactions t JOIN payment_sessions s ON s.id = t.session_id \
         WHERE t.status = 'pending' AND s.status <> 'AWAITING_VERIFICATION'",
    ),
    (
        "COMPLETED sessions without exactly one approved transaction",
        "SELECT count(*) AS n FROM payment_sessions s WHERE s.status = 'COMPLETED' AND \
         (SELECT count(*) FROM transactions t WHERE t.session_id = s.id AND t.status = \
         'approved') <> 1",
    ),
    (
        "sessions with an approved transaction that are not COMPLETED (half-paid)",
        "SELECT count(DISTINCT s.id) AS n FROM payment_sessions s JOIN transactions t ON \
         t.session_id = s.id WHERE t.status = 'approved' AND s.status <> 'COMPLETED'",
    ),
    (
        "sessions whose order disagrees on COMPLETED (half-paid)",
        "SELECT count(*) AS n FROM payment_sessions s JOIN orders o ON o.session_id = s.id \
         WHERE (s.status = 'COMPLETED') <> (o.status = 'COMPLETED')",
    ),
    (
        "PENDING/EXPIRED sessions with a transaction that is not settled",
        "SELECT count(*) AS n FROM payment_sessions s JOIN transactions t ON t.session_id = \
         s.id WHERE s.status IN ('PENDING', 'EXPIRED') AND t.status NOT IN ('approved', \
         'declined')",
    ),
    (
        "COMPLETED sessions without a payment_session.completed event",
        "SELECT count(*) AS n FROM payment_sessions s WHERE s.status = 'COMPLETED' AND NOT \
         EXISTS (SELECT 1 FROM webhook_events e WHERE e.event_type = \
         'payment_session.completed' AND e.payload::jsonb #>> '{default,session_token}' = \
         s.token)",
    ),
    (
        "transactions settled twice (more than one transaction.status_changed event)",
        "SELECT count(*) AS n FROM (SELECT 1 FROM webhook_events WHERE event_type = \
         'transaction.status_changed' GROUP BY payload::jsonb #>> '{default,transaction_id}' \
         HAVING count(*) > 1) twice",
    ),
    (
        "webhook events without a delivered row for an endpoint of their profile",
        "SELECT count(*) AS n FROM webhook_events e JOIN webhook_endpoints p ON p.profile_id = \
         e.profile_id AND p.active WHERE (p.events IS NULL OR p.events LIKE '%\"' || \
         e.event_type || '\"%') AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE \
         d.event_id = e.id AND d.endpoint_id = p.id AND d.status = 'delivered')",
    ),
];

/// The session, transaction and outbox invariants of [`FORBIDDEN`], without the receiver's
/// side: each row found is a violation.
pub fn forbidden(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    for (what, sql) in FORBIDDEN {
        let n = count(conn, sql)?;
        if n > 0 {
            report.violation(format!("{n} {what}"));
        }
    }
    Ok(())
}

/// What still moves: the scenario waits until all of it is zero.
const UNSETTLED: &str = "SELECT \
    (SELECT count(*) FROM payment_sessions WHERE status = 'PAYMENT_IN_PROGRESS') + \
    (SELECT count(*) FROM transactions WHERE status = 'pending') + \
    (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered') AS n";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct IdCount {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn connect(url: &str) -> Result<PgConnection> {
    PgConnection::establish(url).with_context(|| "connecting to the scenario's database")
}

pub fn count(conn: &mut PgConnection, sql: &str) -> Result<i64> {
    Ok(diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .with_context(|| format!("running {sql}"))?
        .n)
}

/// Webhook events in the database.
pub fn events(conn: &mut PgConnection) -> Result<i64> {
    count(conn, "SELECT count(*) AS n FROM webhook_events")
}

/// What the receiver saw, accumulated: arrivals per `X-CatalystPay-Delivery` (the event id).
#[derive(Debug, Default)]
pub struct Arrivals {
    pub by_event: HashMap<String, usize>,
    pub total: usize,
    pub malformed: usize,
}

impl Arrivals {
    /// Adds what `receiver` recorded since the last call.
    pub fn collect(&mut self, receiver: &Receiver) {
        for a in receiver.take() {
            self.total += 1;
            if a.error.is_some() || a.delivery.is_empty() {
                self.malformed += 1;
                continue;
            }
            *self.by_event.entry(a.delivery).or_default() += 1;
        }
    }

    /// Arrivals beyond the first of each event.
    pub fn duplicates(&self) -> usize {
        self.total - self.malformed - self.by_event.len()
    }
}

/// Waits (at most `timeout`) until no session is in progress, no transaction pending, every
/// delivery delivered and every delivered event seen by the receiver; returns how long it took
/// or `None` on the timeout.
pub fn settle(
    url: &str,
    receiver: &Receiver,
    arrivals: &mut Arrivals,
    timeout: Duration,
) -> Result<Option<Duration>> {
    let started = Instant::now();
    let mut conn = connect(url)?;
    loop {
        arrivals.collect(receiver);
        let unsettled = count(&mut conn, UNSETTLED)?;
        let deliveries = count(
            &mut conn,
            "SELECT count(DISTINCT event_id) AS n FROM webhook_deliveries",
        )?;
        if unsettled == 0 && arrivals.by_event.len() as i64 >= deliveries {
            // Late duplicates would arrive right away.
            sys::sleep(Duration::from_millis(500))?;
            arrivals.collect(receiver);
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() >= timeout {
            return Ok(None);
        }
        sys::sleep(Duration::from_millis(250))?;
    }
}

/// The database invariants and the receiver's counts against `webhook_deliveries`.
pub fn verify(url: &str, arrivals: &Arrivals, report: &mut Report) -> Result<()> {
    let mut conn = connect(url)?;
    forbidden(&mut conn, report)?;
    let sessions = count(&mut conn, "SELECT count(*) AS n FROM payment_sessions")?;
    let completed = count(
        &mut conn,
        "SELECT count(*) AS n FROM payment_sessions WHERE status = 'COMPLETED'",
    )?;
    report.figure(
        "sessions in the database (COMPLETED)",
        format!("{sessions} ({completed})"),
    );
    // Per event: the attempts recorded for its deliveries.
    let attempts: HashMap<String, i64> = diesel::sql_query(
        "SELECT d.event_id AS id, count(a.id) AS n FROM webhook_deliveries d LEFT JOIN \
         webhook_attempts a ON a.delivery_id = d.id GROUP BY d.event_id",
    )
    .load::<IdCount>(&mut conn)
    .context("reading attempts per event")?
    .into_iter()
    .map(|r| (r.id, r.n))
    .collect();
    let lost: Vec<&String> = attempts
        .keys()
        .filter(|id| !arrivals.by_event.contains_key(*id))
        .collect();
    let unknown = arrivals
        .by_event
        .keys()
        .filter(|id| !attempts.contains_key(*id))
        .count();
    let recorded: i64 = attempts.values().sum();
    report.figure("events produced (with deliveries)", attempts.len());
    report.figure(
        "events delivered (distinct at the receiver)",
        arrivals.by_event.len(),
    );
    report.figure(
        "arrivals / duplicates",
        format!("{} / {}", arrivals.total, arrivals.duplicates()),
    );
    report.figure("attempts recorded in webhook_attempts", recorded);
    if !lost.is_empty() {
        report.violation(format!(
            "{} events never reached the receiver (e.g. {})",
            lost.len(),
            lost[0]
        ));
    }
    if unknown > 0 {
        report.violation(format!("{unknown} arrivals carry an unknown event id"));
    }
    if arrivals.malformed > 0 {
        report.violation(format!("{} malformed webhook requests", arrivals.malformed));
    }
    Ok(())
}

/// Events that arrived more often than attempts were recorded for them, and by how much: a
/// delivery sent twice for one attempt (two workers holding the same claim).
pub fn beyond_attempts(url: &str, arrivals: &Arrivals) -> Result<(usize, usize)> {
    let mut conn = connect(url)?;
    let attempts: HashMap<String, i64> = diesel::sql_query(
        "SELECT d.event_id AS id, count(a.id) AS n FROM webhook_deliveries d JOIN \
         webhook_attempts a ON a.delivery_id = d.id GROUP BY d.event_id",
    )
    .load::<IdCount>(&mut conn)
    .context("reading attempts per event")?
    .into_iter()
    .map(|r| (r.id, r.n))
    .collect();
    let mut events = 0;
    let mut extra = 0;
    for (id, &n) in &arrivals.by_event {
        let recorded = attempts.get(id).copied().unwrap_or(0) as usize;
        if n > recorded {
            events += 1;
            extra += n - recorded;
        }
    }
    Ok((events, extra))
}
