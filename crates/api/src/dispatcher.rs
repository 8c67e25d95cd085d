//! The webhook dispatcher: a background task that claims due deliveries from the outbox, sends
//! them, records each attempt and schedules the retry ladder. Several server instances may run
//! it against one PostgreSQL database (claims are `FOR UPDATE SKIP LOCKED` under a lease); a
//! crashed instance's leased deliveries are picked up again when the lease runs out, so every
//! event is delivered at least once.

use std::sync::Arc;
use std::time::Duration;

use crate::db;
use catalyst_gateway::outbound::TargetPolicy;
use catalyst_store::outbox::{self, AttemptRecord, DueDelivery};
use catalyst_store::{StoreError, now};
use catalyst_webhooks::{DeliveryMethod, EndpointSpec, Outgoing, RetryPolicy, TARGET_NOT_ALLOWED};
use tokio::sync::watch;

use crate::provision::WEBHOOK_SECRET_CONTEXT;
use crate::state::AppState;
use crate::{health, telemetry};

/// How the dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How often it looks for due deliveries when the last look found none.
    pub poll: Duration,
    /// Deliveries claimed (and sent concurrently) per round.
    pub batch: i64,
    /// How long a claim keeps other workers away; longer than `timeout`.
    pub lease: chrono::Duration,
    /// Bound of one HTTP attempt (API.md §5: 10 s).
    pub timeout: Duration,
    /// The retry ladder (scaled down in tests).
    pub retry: RetryPolicy,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            batch: 32,
            lease: chrono::Duration::seconds(60),
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// The HTTP client for deliveries: rustls (ring), no redirects (a 3xx is a failed attempt), no
/// proxies, names resolved only to addresses `targets` allows
/// ([`catalyst_gateway::outbound::client_builder`]).
pub fn client(timeout: Duration, targets: Arc<TargetPolicy>) -> reqwest::Client {
    catalyst_gateway::outbound::client_builder(targets)
        .timeout(timeout)
        .build()
        .expect("a rustls client with the ring provider builds")
}

/// Claims one batch and delivers it; returns how many deliveries were attempted.
pub async fn run_once(
    state: &AppState,
    client: &reqwest::Client,
    config: &DispatcherConfig,
) -> Result<usize, StoreError> {
    let (lease, batch) = (config.lease, config.batch);
    let due = db::background(&state.store, move |c| {
        outbox::claim_due(c, now(), lease, batch)
    })
    .await?;
    let n = due.len();
    if n == 0 {
        return Ok(0);
    }
    let sends = due.into_iter().map(|d| deliver(state, client, config, d));
    let outcomes = futures_util::future::join_all(sends).await;
    db::background(&state.store, move |c| {
        outbox::record_attempts(c, &outcomes, now())
    })
    .await?;
    Ok(n)
}

/// Sends one delivery; returns what to record for it.
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    config: &DispatcherConfig,
    due: DueDelivery,
) -> (
    catalyst_domain::DeliveryId,
    AttemptRecord,
    Option<chrono::NaiveDateTime>,
) {
    let mut detail = None;
    let record = match render(state, &due) {
        // reqwest resolves no IP-literal host, so the client's resolver never sees those.
        Ok(out) if state.targets.check_url(&out.url).is_err() => AttemptRecord {
            status_code: None,
            latency_ms: 0,
            error: Some(TARGET_NOT_ALLOWED.to_owned()),
            success: false,
        },
        Ok(out) => {
            let result = catalyst_webhooks::send(client, &out, config.timeout).await;
            detail = result.detail;
            AttemptRecord {
                status_code: result.status_code,
                latency_ms: u32::try_from(result.latency.as_millis()).unwrap_or(u32::MAX),
                error: result.error,
                success: result.success,
            }
        }
        Err(why) => AttemptRecord {
            status_code: None,
            latency_ms: 0,
            error: Some(why),
            success: false,
        },
    };
    let attempts_made = u32::try_from(due.delivery.attempts).unwrap_or(0) + 1;
    let at = now();
    let retry_at = if record.success {
        None
    } else {
        config
            .retry
            .next_attempt_delay(attempts_made)
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| at + d)
    };
    telemetry::webhook_attempt(match (&record.success, record.error.as_deref()) {
        (true, _) => "delivered",
        (false, Some(TARGET_NOT_ALLOWED)) => "refused",
        (false, _) => "failed",
    });
    if !record.success {
        tracing::warn!(delivery = %due.delivery.id, event = %due.event.event_type, attempt = attempts_made,
            status = ?record.status_code, error = ?record.error, detail = ?detail, retry = retry_at.is_some(), "webhook attempt failed");
    }
    (due.delivery.id, record, retry_at)
}

/// The exact request for one delivery, or why it cannot be built (recorded as a failed attempt).
fn render(state: &AppState, due: &DueDelivery) -> Result<Outgoing, String> {
    let secret = state
        .store
        .cipher()
        .open(WEBHOOK_SECRET_CONTEXT, &due.profile.secret_sealed)
        .map_err(|e| e.to_string())?;
    let mapping = due
        .endpoint
        .payload_mapping
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("payload_mapping: {e}"))?;
    let payload = if mapping.is_some() {
        due.event.variables()
    } else {
        due.event.default_payload()
    }
    .map_err(|e| e.to_string())?;
    let endpoint = EndpointSpec {
        url: due.endpoint.url.clone(),
        delivery_method: if due.endpoint.delivery_method == "URL_PARAMS" {
            DeliveryMethod::UrlParams
        } else {
            DeliveryMethod::JsonPost
        },
        payload_mapping: mapping,
    };
    Outgoing::render(
        &due.event.id,
        &due.event.event_type,
        &payload,
        &endpoint,
        secret,
        catalyst_webhooks::unix_now(),
    )
    .map_err(|e| e.to_string())
}

/// The worker's name in heartbeats and metrics.
const WORKER: &str = "dispatcher";

/// Delivers until `shutdown` turns true, with a heartbeat per round; a busy outbox is drained
/// without waiting.
pub async fn run(state: AppState, config: DispatcherConfig, mut shutdown: watch::Receiver<bool>) {
    let client = client(config.timeout, state.targets.clone());
    let stale_after = health::allowance(config.poll.max(config.timeout));
    loop {
        state.health.beat(WORKER, stale_after);
        let result = run_once(&state, &client, &config).await;
        telemetry::worker_cycle(WORKER, result.is_ok());
        let busy = match result {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "webhook dispatch round failed");
                false
            }
        };
        if *shutdown.borrow() {
            return;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(config.poll) => {}
                _ = state.outbox_signal.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
