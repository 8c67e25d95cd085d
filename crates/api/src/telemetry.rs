//! Prometheus metrics: the `metrics` facade records, [`metrics_exporter_prometheus`] renders
//! `GET /metrics` (on the main port, only with `Authorization: Bearer <CATALYST_METRICS_TOKEN>`;
//! without a configured token the route answers 404).
//!
//! Labels are bounded sets: HTTP requests by route *pattern* (never the raw path, which holds
//! tokens and ids), adapters, outcomes, worker names. The gauges that need the database (outbox
//! backlog) and the pool gauges are refreshed when scraped.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::token::constant_time_eq;
use catalyst_store::settlement::Settlement;
use catalyst_store::{StoreError, now, outbox};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Histogram buckets (seconds) for every `*_seconds` histogram: 1 ms to 60 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process-wide recorder's handle; the first call installs the recorder (a process that
/// already has another global recorder keeps it, and this handle renders nothing).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// Counts one HTTP request and its latency.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("catalyst_http_requests_total", &labels).increment(1);
    metrics::histogram!("catalyst_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}

/// Counts a payment's answer from its gateway (`adapter`: `SANDBOX`, `EMP`).
pub fn payment(adapter: &str, settlement: &Settlement) {
    let outcome = match settlement {
        Settlement::Approved { .. } => "approved",
        Settlement::Pending { .. } => "pending",
        Settlement::Verification { .. } => "verification",
        Settlement::Declined { .. } => "declined",
        Settlement::Abandoned { .. } => "abandoned",
    };
    metrics::counter!("catalyst_payments_total", "adapter" => adapter.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Counts one webhook delivery attempt by outcome (`delivered`, `failed`, `refused`).
pub fn webhook_attempt(outcome: &'static str) {
    metrics::counter!("catalyst_webhook_deliveries_total", "outcome" => outcome).increment(1);
}

/// Counts one cycle of a background worker (`expiry`, `recovery`, `billing`, `dispatcher`) by
/// result (`ok`, `error`).
pub fn worker_cycle(worker: &'static str, ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!("catalyst_worker_cycles_total", "worker" => worker, "result" => result)
        .increment(1);
}

/// Refreshes the gauges read from the pool and the outbox.
async fn refresh(state: &AppState) -> Result<(), StoreError> {
    let (open, idle) = state.store.pool_state();
    metrics::gauge!("catalyst_db_pool_connections", "state" => "in_use")
        .set(f64::from(open.saturating_sub(idle)));
    metrics::gauge!("catalyst_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("catalyst_db_pool_max_connections").set(f64::from(state.store.pool_size()));
    let (pending, oldest) = db::background(&state.store, outbox::backlog).await?;
    let age = oldest.map_or(0.0, |at| {
        (now() - at).num_milliseconds().max(0) as f64 / 1000.0
    });
    metrics::gauge!("catalyst_outbox_backlog").set(pending as f64);
    metrics::gauge!("catalyst_outbox_oldest_age_seconds").set(age);
    Ok(())
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn serve(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if given.is_empty() {
        return Err(ApiError::NotAuthenticated);
    }
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::AuthenticationFailed);
    }
    if let Err(e) = refresh(&state).await {
        tracing::warn!(error = %e, "metrics: the outbox backlog could not be read");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
