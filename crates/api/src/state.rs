//! Shared application state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpRequest, web};
use catalyst_store::{Store, outbox};

use catalyst_gateway::AdapterContext;
use catalyst_gateway::outbound::TargetPolicy;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::health::Heartbeats;
use crate::ratelimit::RateLimiter;
use crate::telemetry;

/// Settings the API needs from the deployment.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL customers reach (`payment_url` = this + `/s/{token}`), without trailing slash.
    pub public_url: String,
    /// Production (`true`) or test/demo deployment.
    pub livemode: bool,
    /// `browser_read` scope: sustained requests per second per IP for session retrieval.
    pub browser_read_per_sec: f64,
    /// `browser_read` burst.
    pub browser_read_burst: f64,
    /// `iban_validate` scope: requests per second per key.
    pub iban_validate_per_sec: f64,
    /// The rate limiters' clock (the system's; tests fix it).
    pub rate_limit_clock: crate::ratelimit::Clock,
    /// Upper bound of one gateway call.
    pub gateway_timeout: std::time::Duration,
    /// Whether webhook endpoints and gateway endpoints may be non-public addresses (loopback,
    /// private networks, link-local, …) or this API's own host. Off in production
    /// (`CATALYST_ALLOW_PRIVATE_TARGETS`, default: not livemode).
    pub allow_private_targets: bool,
    /// Hosts of this deployment besides `public_url`'s (e.g. the bind address), refused as
    /// targets unless private targets are allowed.
    pub own_hosts: Vec<String>,
    /// The bearer token `GET /metrics` requires (`CATALYST_METRICS_TOKEN`); without one the
    /// route answers 404.
    pub metrics_token: Option<String>,
}

impl ApiConfig {
    /// The documented defaults (API.md §7).
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            livemode: false,
            browser_read_per_sec: 1.0,
            browser_read_burst: 10.0,
            iban_validate_per_sec: 50.0,
            rate_limit_clock: crate::ratelimit::Clock::System,
            gateway_timeout: std::time::Duration::from_secs(30),
            allow_private_targets: true,
            own_hosts: Vec::new(),
            metrics_token: None,
        }
    }

    /// The outbound target policy these settings describe.
    pub fn targets(&self) -> TargetPolicy {
        let public_host = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        self.own_hosts.iter().fold(
            TargetPolicy::new(self.allow_private_targets).refusing_host(&public_host),
            |policy, host| policy.refusing_host(host),
        )
    }
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Deployment settings.
    pub config: Arc<ApiConfig>,
    /// `browser_read` limiter (per IP).
    pub browser_read: Arc<RateLimiter>,
    /// `iban_validate` limiter (per key).
    pub iban_validate: Arc<RateLimiter>,
    /// What gateway adapters are built with: HTTP client, public URL, the sandbox's records
    /// (in the database).
    pub gateways: AdapterContext,
    /// Which addresses webhook deliveries and gateway calls may reach.
    pub targets: Arc<TargetPolicy>,
    /// Wakes this server's webhook dispatcher when a request committed deliveries.
    pub outbox_signal: Arc<tokio::sync::Notify>,
    /// The background workers' heartbeats, read by `GET /readyz`.
    pub health: Arc<Heartbeats>,
    /// Renders the process's metrics for `GET /metrics`.
    pub metrics: PrometheusHandle,
    /// [`outbox::deliveries_committed`] when the dispatcher was last woken.
    deliveries_seen: Arc<AtomicU64>,
}

impl AppState {
    /// State for this store and configuration.
    pub fn new(store: Store, config: ApiConfig) -> Self {
        let clock = config.rate_limit_clock;
        let browser_read = RateLimiter::with_clock(
            config.browser_read_per_sec,
            config.browser_read_burst,
            clock,
        );
        let iban_validate = RateLimiter::with_clock(
            config.iban_validate_per_sec,
            config.iban_validate_per_sec,
            clock,
        );
        let targets = Arc::new(config.targets());
        let gateways = AdapterContext {
            http: catalyst_gateway::http_client_for(config.gateway_timeout, targets.clone()),
            public_url: config.public_url.clone(),
            sandbox: Arc::new(crate::sandbox_ledger::DbSandbox::new(store.clone())),
            targets: targets.clone(),
        };
        Self {
            store,
            gateways,
            targets,
            outbox_signal: Arc::new(tokio::sync::Notify::new()),
            health: Arc::new(Heartbeats::default()),
            metrics: telemetry::handle(),
            deliveries_seen: Arc::new(AtomicU64::new(outbox::deliveries_committed())),
            config: Arc::new(config),
            browser_read: Arc::new(browser_read),
            iban_validate: Arc::new(iban_validate),
        }
    }

    /// Call after committing events: wakes the dispatcher if deliveries were committed since it
    /// was last woken (it would otherwise find them at its next poll). Events of a profile
    /// without endpoints queue nothing and wake nobody.
    pub fn events_written(&self) {
        let committed = outbox::deliveries_committed();
        if self.deliveries_seen.swap(committed, Ordering::AcqRel) != committed {
            self.outbox_signal.notify_one();
        }
    }

    /// The state registered on the app (always present: `configure` registers it).
    pub fn of(req: &HttpRequest) -> AppState {
        req.app_data::<web::Data<AppState>>()
            .expect("AppState is registered by configure()")
            .get_ref()
            .clone()
    }
}
