//! The webhook outbox: events are written in the same transaction as the change that causes
//! them, with one delivery per subscribed endpoint; the dispatcher claims due deliveries under a
//! lease, sends them, and records every attempt.

use catalyst_domain::{DeliveryId, TenantId, WebhookEndpointId, WebhookProfileId};
use std::sync::atomic::{AtomicU64, Ordering};

use catalyst_domain::webhook::DeliveryStatus;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use crate::config::{WebhookEndpoint, WebhookProfile};
use crate::connection::on_backend;
use crate::schema::{
    webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_events, webhook_profiles,
};
use crate::{DbConnection, StoreError, StoreResult, tx};

/// One event, as recorded.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = webhook_events, treat_none_as_default_value = false)]
pub struct WebhookEvent {
    /// The event id, sent as `X-CatalystPay-Delivery` (stable across retries).
    pub id: String,
    pub tenant_id: TenantId,
    pub profile_id: Option<WebhookProfileId>,
    pub event_type: String,
    /// `{"default": <default payload>, "context": <extra variables for payload_mapping>}`.
    pub payload: String,
    pub created_at: NaiveDateTime,
}

impl WebhookEvent {
    /// The default payload (what is sent without a `payload_mapping`).
    pub fn default_payload(&self) -> StoreResult<Value> {
        Ok(self.parsed()?["default"].take())
    }

    /// Every variable a `payload_mapping` may name: the default payload's keys plus the context.
    pub fn variables(&self) -> StoreResult<Value> {
        let mut parsed = self.parsed()?;
        let mut vars = parsed["default"].take();
        if let (Some(vars), Some(context)) = (vars.as_object_mut(), parsed["context"].as_object()) {
            for (k, v) in context {
                vars.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(vars)
    }

    fn parsed(&self) -> StoreResult<Value> {
        serde_json::from_str(&self.payload)
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", self.id)))
    }
}

/// The state of one event's delivery to one endpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct WebhookDelivery {
    pub id: DeliveryId,
    pub tenant_id: TenantId,
    pub event_id: String,
    pub endpoint_id: WebhookEndpointId,
    /// `pending`, `delivered`, `failed` or `cancelled` (endpoint or profile deactivated; the
    /// reason is in `last_error`).
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i32>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(WebhookDelivery, webhook_deliveries, DeliveryId);

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts, treat_none_as_default_value = false)]
pub struct WebhookAttempt {
    pub id: String,
    pub delivery_id: DeliveryId,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// Deliveries committed by the write transactions of this process so far.
static DELIVERIES_COMMITTED: AtomicU64 = AtomicU64::new(0);

/// How many webhook deliveries this process's write transactions have committed so far. A
/// caller that sees it change after its own commit knows the dispatcher has new work; one that
/// does not need not wake it (events of profiles without endpoints queue nothing).
pub fn deliveries_committed() -> u64 {
    DELIVERIES_COMMITTED.load(Ordering::Acquire)
}

/// An event to record: type, default payload, and extra variables for payload mappings.
pub struct NewEvent<'a> {
    pub tenant_id: &'a TenantId,
    /// The session's (or campaign's) webhook profile; `None` records the event without deliveries.
    pub profile_id: Option<&'a WebhookProfileId>,
    pub event_type: &'static str,
    pub payload: Value,
    pub context: Value,
}

/// Records `event` and one pending delivery per active endpoint of its (active) profile that
/// subscribes to its type. Call it inside the transaction of the change it reports.
pub fn emit(conn: &mut DbConnection, event: NewEvent<'_>, now: NaiveDateTime) -> StoreResult<()> {
    let row = WebhookEvent {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: event.tenant_id.to_owned(),
        profile_id: event.profile_id.cloned(),
        event_type: event.event_type.to_owned(),
        payload: serde_json::json!({"default": event.payload, "context": event.context})
            .to_string(),
        created_at: now,
    };
    on_backend!(conn, |c| diesel::insert_into(webhook_events::table)
        .values(&row)
        .execute(c))?;
    let Some(profile_id) = event.profile_id else {
        return Ok(());
    };
    // One query: the active endpoints of the profile, if the profile itself is active.
    let endpoints: Vec<WebhookEndpoint> = on_backend!(conn, |c| webhook_endpoints::table
        .inner_join(
            webhook_profiles::table.on(webhook_profiles::id.eq(webhook_endpoints::profile_id)),
        )
        .filter(webhook_endpoints::profile_id.eq(profile_id))
        .filter(webhook_endpoints::active.eq(true))
        .filter(webhook_profiles::active.eq(true))
        .order(webhook_endpoints::id.asc())
        .select(WebhookEndpoint::as_select())
        .load(c))?;
    let subscribed: Vec<&WebhookEndpoint> = endpoints
        .iter()
        .filter(|e| subscribes(e, event.event_type))
        .collect();
    for endpoint in &subscribed {
        WebhookDelivery {
            id: DeliveryId::new(),
            tenant_id: event.tenant_id.to_owned(),
            event_id: row.id.clone(),
            endpoint_id: endpoint.id.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_status_code: None,
            last_error: None,
            last_latency_ms: None,
            delivered_at: None,
            created_at: now,
            updated_at: now,
        }
        .insert(conn)?;
    }
    // Counted once the transaction commits ([`tx::on_commit`]); forgotten on rollback.
    let queued = subscribed.len() as u64;
    if queued > 0 {
        crate::tx::on_commit(move || {
            DELIVERIES_COMMITTED.fetch_add(queued, Ordering::AcqRel);
        });
    }
    Ok(())
}

fn subscribes(endpoint: &WebhookEndpoint, event_type: &str) -> bool {
    match &endpoint.events {
        None => true,
        Some(json) => serde_json::from_str::<Vec<String>>(json)
            .map(|e| e.iter().any(|t| t == event_type))
            .unwrap_or(false),
    }
}

/// A delivery claimed for sending, with everything needed to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: WebhookDelivery,
    pub event: WebhookEvent,
    pub endpoint: WebhookEndpoint,
    pub profile: WebhookProfile,
}

/// Claims up to `limit` due deliveries for `lease`: pending, due, and not leased by another
/// worker. On PostgreSQL the selection is `FOR UPDATE SKIP LOCKED`, so several server instances
/// share the work without taking the same row; on SQLite the write transaction serializes it.
///
/// A due delivery whose endpoint or profile is no longer active is not returned: it is marked
/// `cancelled` (with the reason in `last_error`) in the same transaction, and the claim looks
/// for further due deliveries instead. Deactivation cancels them too ([`cancel_pending_of_endpoint`],
/// [`cancel_pending_of_profile`]); this covers a delivery queued by a transaction that raced it.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<DueDelivery>> {
    tx::write(conn, |conn| {
        loop {
            let claimed = lease_due(conn, now, lease, limit)?;
            if claimed.is_empty() {
                return Ok(claimed);
            }
            let (active, inactive): (Vec<DueDelivery>, Vec<DueDelivery>) = claimed
                .into_iter()
                .partition(|d| d.endpoint.active && d.profile.active);
            for reason in [CANCELLED_PROFILE_INACTIVE, CANCELLED_ENDPOINT_INACTIVE] {
                let ids: Vec<&str> = inactive
                    .iter()
                    .filter(|d| cancel_reason(d) == reason)
                    .map(|d| d.delivery.id.as_str())
                    .collect();
                cancel(conn, &ids, reason, now)?;
            }
            if !active.is_empty() {
                return Ok(active);
            }
        }
    })
}

/// `last_error` of a delivery cancelled because its endpoint was deactivated.
pub const CANCELLED_ENDPOINT_INACTIVE: &str = "cancelled: the endpoint was deactivated";
/// `last_error` of a delivery cancelled because its webhook profile was deactivated.
pub const CANCELLED_PROFILE_INACTIVE: &str = "cancelled: the webhook profile was deactivated";

fn cancel_reason(d: &DueDelivery) -> &'static str {
    if d.profile.active {
        CANCELLED_ENDPOINT_INACTIVE
    } else {
        CANCELLED_PROFILE_INACTIVE
    }
}

/// Leases up to `limit` due deliveries and loads them with their event, endpoint and profile.
///
/// Every statement finds its rows through the partial work-queue index or a primary key: a join
/// of the four tables on `id = ANY($1)`, prepared while they were nearly empty, kept a generic
/// plan on PostgreSQL that read every event and endpoint (docs/PERFORMANCE.md on prepared plans).
fn lease_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<DueDelivery>> {
    // A macro, not a variable: the selection is typed by its backend.
    macro_rules! due {
        () => {
            webhook_deliveries::table
                .filter(crate::prepared::queue_condition(
                    "webhook_deliveries.status = 'pending'",
                ))
                .filter(webhook_deliveries::next_attempt_at.le(now))
                .filter(
                    webhook_deliveries::lease_until
                        .is_null()
                        .or(webhook_deliveries::lease_until.le(now)),
                )
                .order(webhook_deliveries::next_attempt_at.asc())
                .limit(limit)
                .select(WebhookDelivery::as_select())
        };
    }
    let mut deliveries: Vec<WebhookDelivery> = on_backend!(
        conn,
        pg | c | due!().for_update().skip_locked().load(c)?,
        sqlite | c | due!().load(c)?
    );
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    on_backend!(conn, |c| diesel::update(
        webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids))
    )
    .set(webhook_deliveries::lease_until.eq(now + lease))
    .execute(c))?;
    deliveries.sort_by(|a, b| a.id.cmp(&b.id));
    let mut targets: Vec<(WebhookEndpoint, WebhookProfile)> = Vec::new();
    let mut out = Vec::with_capacity(deliveries.len());
    for mut delivery in deliveries {
        delivery.lease_until = Some(now + lease);
        // An event sent to several endpoints is read once.
        let seen = out
            .iter()
            .find(|d: &&DueDelivery| d.event.id == delivery.event_id);
        let event: WebhookEvent = match seen {
            Some(d) => d.event.clone(),
            None => on_backend!(conn, |c| webhook_events::table
                .find(&delivery.event_id)
                .select(WebhookEvent::as_select())
                .first(c))?,
        };
        let known = targets
            .iter()
            .position(|(e, _)| e.id == delivery.endpoint_id);
        let at = match known {
            Some(at) => at,
            None => {
                targets.push(on_backend!(conn, |c| webhook_endpoints::table
                    .inner_join(webhook_profiles::table)
                    .filter(webhook_endpoints::id.eq(&delivery.endpoint_id))
                    .select((WebhookEndpoint::as_select(), WebhookProfile::as_select()))
                    .first(c))?);
                targets.len() - 1
            }
        };
        let (endpoint, profile) = targets[at].clone();
        out.push(DueDelivery {
            delivery,
            event,
            endpoint,
            profile,
        });
    }
    Ok(out)
}

/// Marks the deliveries `ids` `cancelled`, with `reason` as their `last_error`.
fn cancel(
    conn: &mut DbConnection,
    ids: &[&str],
    reason: &str,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(on_backend!(conn, |c| diesel::update(
        webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(ids))
    )
    .set(cancelled(reason, now))
    .execute(c))?)
}

/// The columns a cancellation sets.
#[allow(clippy::type_complexity)]
fn cancelled(
    reason: &str,
    now: NaiveDateTime,
) -> (
    diesel::dsl::Eq<webhook_deliveries::status, DeliveryStatus>,
    diesel::dsl::Eq<webhook_deliveries::last_error, &str>,
    diesel::dsl::Eq<webhook_deliveries::lease_until, Option<NaiveDateTime>>,
    diesel::dsl::Eq<webhook_deliveries::updated_at, NaiveDateTime>,
) {
    (
        webhook_deliveries::status.eq(DeliveryStatus::Cancelled),
        webhook_deliveries::last_error.eq(reason),
        webhook_deliveries::lease_until.eq(None),
        webhook_deliveries::updated_at.eq(now),
    )
}

/// The outbox backlog for the metrics: how many deliveries are pending and when the oldest of
/// them was created (one aggregate over the partial index of pending deliveries).
pub fn backlog(conn: &mut DbConnection) -> StoreResult<(i64, Option<NaiveDateTime>)> {
    Ok(on_backend!(conn, |c| webhook_deliveries::table
        .filter(crate::prepared::queue_condition(
            "webhook_deliveries.status = 'pending'",
        ))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(webhook_deliveries::created_at),
        ))
        .first::<(i64, Option<NaiveDateTime>)>(c))?)
}

/// Cancels the pending deliveries to `endpoint_id`; call it in the transaction that deactivates
/// the endpoint. Returns how many were cancelled.
pub fn cancel_pending_of_endpoint(
    conn: &mut DbConnection,
    endpoint_id: &WebhookEndpointId,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(on_backend!(conn, |c| diesel::update(
        webhook_deliveries::table
            .filter(crate::prepared::queue_condition(
                "webhook_deliveries.status = 'pending'",
            ))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id)),
    )
    .set(cancelled(CANCELLED_ENDPOINT_INACTIVE, now))
    .execute(c))?)
}

/// Cancels the pending deliveries to every endpoint of `profile_id`; call it in the transaction
/// that deactivates the profile. Returns how many were cancelled.
pub fn cancel_pending_of_profile(
    conn: &mut DbConnection,
    profile_id: &WebhookProfileId,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(on_backend!(conn, |c| diesel::update(
        webhook_deliveries::table
            .filter(crate::prepared::queue_condition(
                "webhook_deliveries.status = 'pending'",
            ))
            .filter(
                webhook_deliveries::endpoint_id.eq_any(
                    webhook_endpoints::table
                        .filter(webhook_endpoints::profile_id.eq(profile_id))
                        .select(webhook_endpoints::id),
                ),
            ),
    )
    .set(cancelled(CANCELLED_PROFILE_INACTIVE, now))
    .execute(c))?)
}

/// The result of one HTTP attempt.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    pub error: Option<String>,
    pub success: bool,
}

/// Records an attempt and moves the delivery on: `delivered` on success; otherwise `pending`
/// again at `retry_at`, or `failed` when the ladder is exhausted (`retry_at` is `None`). A
/// delivery cancelled while the attempt was under way stays `cancelled` unless it succeeded.
pub fn record_attempt(
    conn: &mut DbConnection,
    delivery_id: &DeliveryId,
    attempt: &AttemptRecord,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> StoreResult<WebhookDelivery> {
    tx::write(conn, |conn| {
        record_in_tx(conn, delivery_id, attempt, retry_at, now)
    })
}

/// [`record_attempt`] for a whole batch in one transaction (one write lock on SQLite instead of
/// one per delivery).
pub fn record_attempts(
    conn: &mut DbConnection,
    attempts: &[(DeliveryId, AttemptRecord, Option<NaiveDateTime>)],
    now: NaiveDateTime,
) -> StoreResult<()> {
    tx::write(conn, |conn| {
        for (id, attempt, retry_at) in attempts {
            record_in_tx(conn, id, attempt, *retry_at, now)?;
        }
        Ok(())
    })
}

fn record_in_tx(
    conn: &mut DbConnection,
    delivery_id: &DeliveryId,
    attempt: &AttemptRecord,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> StoreResult<WebhookDelivery> {
    {
        let mut d: WebhookDelivery = on_backend!(conn, |c| webhook_deliveries::table
            .find(delivery_id)
            .select(WebhookDelivery::as_select())
            .first(c))?;
        let latency = i32::try_from(attempt.latency_ms).unwrap_or(i32::MAX);
        on_backend!(conn, |c| diesel::insert_into(webhook_attempts::table)
            .values(&WebhookAttempt {
                id: uuid::Uuid::now_v7().to_string(),
                delivery_id: delivery_id.to_owned(),
                attempted_at: now,
                status_code: attempt.status_code.map(i32::from),
                latency_ms: latency,
                error: attempt.error.clone(),
            })
            .execute(c))?;
        d.attempts += 1;
        d.last_status_code = attempt.status_code.map(i32::from);
        d.last_error.clone_from(&attempt.error);
        d.last_latency_ms = Some(latency);
        d.lease_until = None;
        d.updated_at = now;
        match (attempt.success, retry_at) {
            // Cancelled while this attempt was under way: it stays cancelled.
            (false, _) if d.status == DeliveryStatus::Cancelled => {}
            (true, _) => {
                d.status = DeliveryStatus::Delivered;
                d.delivered_at = Some(now);
            }
            (false, Some(at)) => {
                d.status = DeliveryStatus::Pending;
                d.next_attempt_at = at;
            }
            (false, None) => d.status = DeliveryStatus::Failed,
        }
        d.save(conn)?;
        Ok(d)
    }
}

/// Puts a delivery back in the queue now (management `redeliver`), restarting its ladder.
pub fn redeliver(
    conn: &mut DbConnection,
    tenant: &TenantId,
    delivery_id: &DeliveryId,
    now: NaiveDateTime,
) -> StoreResult<WebhookDelivery> {
    tx::write(conn, |conn| {
        let mut d = WebhookDelivery::find(conn, tenant, delivery_id)?;
        d.status = DeliveryStatus::Pending;
        d.attempts = 0;
        d.next_attempt_at = now;
        d.lease_until = None;
        d.updated_at = now;
        d.save(conn)?;
        Ok(d)
    })
}

impl WebhookDelivery {
    /// One page of this tenant's deliveries, optionally filtered by status and event type.
    pub fn page_filtered(
        conn: &mut DbConnection,
        tenant: &TenantId,
        status: Option<DeliveryStatus>,
        event_type: Option<&str>,
        page: &crate::pagination::PageRequest,
    ) -> StoreResult<crate::pagination::Page<(Self, String)>> {
        Ok(crate::pagination::load_page!(
            // A block, not a variable: `load_page!` builds the query once per backend.
            {
                let mut query = webhook_deliveries::table
                    .inner_join(webhook_events::table)
                    .filter(webhook_deliveries::tenant_id.eq(tenant.to_owned()))
                    .select((WebhookDelivery::as_select(), webhook_events::event_type))
                    .into_boxed();
                if let Some(s) = status {
                    query = query.filter(webhook_deliveries::status.eq(s));
                }
                if let Some(t) = event_type {
                    query = query.filter(webhook_events::event_type.eq(t.to_owned()));
                }
                query
            },
            webhook_deliveries::id,
            page,
            conn
        ))
    }

    /// The attempts of this delivery, oldest first.
    pub fn attempts(&self, conn: &mut DbConnection) -> StoreResult<Vec<WebhookAttempt>> {
        Ok(on_backend!(conn, |c| webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq(&self.id))
            .order(webhook_attempts::id.asc())
            .select(WebhookAttempt::as_select())
            .load(c))?)
    }
}

impl crate::pagination::Keyed for (WebhookDelivery, String) {
    fn key(&self) -> &str {
        &self.0.id
    }
}
