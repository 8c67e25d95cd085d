//! The operator's endpoints: `/healthz`, `/readyz` (database, migrations, worker heartbeats),
//! `/metrics` (token, names and labels after real requests), and the request id carried to the
//! gateway.

mod common;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use catalyst_api::{ApiConfig, AppState, billing, dispatcher, workers};
use common::*;
use serde_json::{Value, json};

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The context's state, with a metrics token configured.
fn with_metrics(ctx: &mut Ctx) {
    let mut config = ApiConfig::new(BASE);
    config.browser_read_burst = 1000.0;
    config.browser_read_per_sec = 1000.0;
    config.metrics_token = Some(METRICS_TOKEN.into());
    ctx.state = AppState::new(ctx.db.store.clone(), config);
}

/// `GET /metrics` with this bearer token: the status and the text.
async fn scrape<S, B>(app: &S, token: Option<&str>) -> (StatusCode, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut req = test::TestRequest::get().uri("/metrics");
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The value of the sample `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?;
        let matches = if labels.is_empty() {
            rest.is_empty() || rest.starts_with('{')
        } else {
            rest.starts_with('{')
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        };
        matches.then(|| value.parse().ok()).flatten()
    })
}

/// How much the sample grew from `before` to `after` (absent counts as 0).
fn grew(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(after, name, labels).unwrap_or(0.0) - sample(before, name, labels).unwrap_or(0.0)
}

/// The recorder is process-wide and `cargo test` runs a binary's tests on parallel threads:
/// the tests that count exactly hold this lock and compare a scrape before with one after.
static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

api_test! {
    async fn the_probes_answer_without_credentials(ctx) {
        let app = ctx.app().await;
        let (status, _, body) = send(&app, get("/healthz")).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
        let (status, headers, body) = send(&app, get("/readyz")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["database"], "ok");
        assert_eq!(body["checks"]["migrations"], "ok");
        assert_eq!(body["checks"]["workers"], json!({}), "no worker started in this process");
        assert!(headers.contains_key("x-request-id"));
    }

    async fn readiness_fails_on_a_stale_worker_and_on_pending_migrations(ctx) {
        let app = ctx.app().await;
        ctx.state.health.beat("expiry", Duration::from_secs(600));
        let (status, _, body) = send(&app, get("/readyz")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["checks"]["workers"]["expiry"]["status"], "ok");

        ctx.state.health.beat("billing", Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (status, _, body) = send(&app, get("/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["status"], "not_ready");
        assert_eq!(body["checks"]["workers"]["billing"]["status"], "stale");
        assert_eq!(body["checks"]["database"], "ok");

        ctx.state.health.beat("billing", Duration::from_secs(600));
        let (status, _, _) = send(&app, get("/readyz")).await;
        assert_eq!(status, StatusCode::OK);

        // A database whose schema is older than this build.
        let mut conn = ctx.db.store.conn().unwrap();
        assert!(catalyst_store::migrations::revert_all(&mut conn).unwrap() > 0);
        drop(conn);
        let (status, _, body) = send(&app, get("/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["checks"]["migrations"], "pending");
    }

    async fn workers_report_heartbeats_and_cycles(ctx) {
        let app = ctx.app().await;
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let every = Duration::from_millis(10);
        let sweeper = actix_web::rt::spawn(workers::expiry_sweeper(ctx.state.clone(), every, shutdown.clone()));
        let billing = actix_web::rt::spawn(billing::run(ctx.state.clone(), every, shutdown.clone()));
        let dispatch = dispatcher::DispatcherConfig { poll: every, ..Default::default() };
        let dispatcher = actix_web::rt::spawn(dispatcher::run(ctx.state.clone(), dispatch, shutdown));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (status, _, body) = send(&app, get("/readyz")).await;
        stop.send(true).unwrap();
        let _ = (sweeper.await, billing.await, dispatcher.await);
        assert_eq!(status, StatusCode::OK, "{body}");
        for worker in ["expiry", "billing", "dispatcher"] {
            assert_eq!(body["checks"]["workers"][worker]["status"], "ok", "{worker}: {body}");
        }

        drop(app);
        let mut ctx = ctx;
        let health = ctx.state.health.clone();
        with_metrics(&mut ctx);
        assert!(health.workers().len() == 3);
        let app = ctx.app().await;
        let (_, text) = scrape(&app, Some(METRICS_TOKEN)).await;
        for worker in ["expiry", "billing", "dispatcher"] {
            let cycles = sample(&text, "catalyst_worker_cycles_total", &[("worker", worker), ("result", "ok")]);
            assert!(cycles.is_some_and(|n| n >= 1.0), "{worker}: {text}");
        }
    }

    async fn metrics_need_the_operator_token(ctx) {
        let app = ctx.app().await;
        let (status, _) = scrape(&app, Some(METRICS_TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no token configured: no metrics route");
        drop(app);
        let mut ctx = ctx;
        with_metrics(&mut ctx);
        let app = ctx.app().await;
        let (status, body) = scrape(&app, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.contains("not_authenticated"));
        let (status, body) = scrape(&app, Some("metrics-token-0123456788")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("authentication_failed"));
        let (status, body) = scrape(&app, Some(METRICS_TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("# TYPE catalyst_db_pool_connections gauge"), "{body}");
    }

    async fn metrics_name_routes_payments_deliveries_and_the_outbox(ctx) {
        let mut ctx = ctx;
        with_metrics(&mut ctx);
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some("http://127.0.0.1:9/hook")).unwrap();
        let app = ctx.app().await;
        let _counting = COUNTING.lock().await;
        let (_, before) = scrape(&app, Some(METRICS_TOKEN)).await;
        let body = json!({"campaign_id": demo.campaign_id, "lead": lead("ops@example.com")});
        let (status, _, created) = send(&app, post("/api/v1/payment-sessions/", body).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["session_token"].as_str().unwrap().to_owned();
        let pay = format!("/api/v1/payment-sessions/{token}/pay/");
        let (status, _, paid) = send(&app, post(&pay, json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        assert_eq!((status, paid["status"].as_str()), (StatusCode::OK, Some("completed")), "{paid}");
        let (status, _, _) = send(&app, get("/api/v1/no-such-route/")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (_, text) = scrape(&app, Some(METRICS_TOKEN)).await;
        assert!(!text.contains(&token), "a session token must never become a label");
        let route = "/api/v1/payment-sessions/{token}/pay/";
        let paid = [("method", "POST"), ("route", route), ("status", "200")];
        assert_eq!(grew(&before, &text, "catalyst_http_requests_total", &paid), 1.0, "{text}");
        let created = [("method", "POST"), ("route", "/api/v1/payment-sessions/"), ("status", "201")];
        assert_eq!(grew(&before, &text, "catalyst_http_requests_total", &created), 1.0);
        let unmatched = [("route", "<unmatched>"), ("status", "404")];
        assert_eq!(grew(&before, &text, "catalyst_http_requests_total", &unmatched), 1.0);
        assert_eq!(grew(&before, &text, "catalyst_http_request_duration_seconds_count", &paid), 1.0);
        let bucket = [("method", "POST"), ("route", route), ("status", "200"), ("le", "+Inf")];
        assert_eq!(grew(&before, &text, "catalyst_http_request_duration_seconds_bucket", &bucket), 1.0);
        let approved = [("adapter", "SANDBOX"), ("outcome", "approved")];
        assert_eq!(grew(&before, &text, "catalyst_payments_total", &approved), 1.0, "{text}");
        // The payment queued webhook deliveries for the demo endpoint, none sent yet.
        let backlog = sample(&text, "catalyst_outbox_backlog", &[]).unwrap();
        assert!(backlog >= 1.0, "{text}");
        assert!(sample(&text, "catalyst_outbox_oldest_age_seconds", &[]).is_some_and(|a| a >= 0.0));
        assert!(sample(&text, "catalyst_db_pool_connections", &[("state", "idle")]).is_some());
        assert!(sample(&text, "catalyst_db_pool_connections", &[("state", "in_use")]).is_some());
        assert!(sample(&text, "catalyst_db_pool_max_connections", &[]).is_some_and(|n| n >= 1.0));

        // Delivering to a closed port: failed attempts, counted by outcome; the backlog stays
        // (retries are scheduled) and is read again at the next scrape.
        let config = dispatcher::DispatcherConfig { timeout: Duration::from_secs(2), ..Default::default() };
        let client = dispatcher::client(config.timeout, ctx.state.targets.clone());
        let attempted = dispatcher::run_once(&ctx.state, &client, &config).await.unwrap();
        assert!(attempted >= 1);
        let (_, after) = scrape(&app, Some(METRICS_TOKEN)).await;
        let failed = grew(&text, &after, "catalyst_webhook_deliveries_total", &[("outcome", "failed")]);
        assert_eq!(failed, attempted as f64, "{after}");
    }

    async fn the_request_id_reaches_the_gateway_and_its_latency_is_measured(ctx) {
        catalyst_gateway::install_crypto_provider();
        let fake = catalyst_gateway::fake::start(Default::default(), "127.0.0.1:0").await.unwrap();
        let mut ctx = ctx;
        with_metrics(&mut ctx);
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let _counting = COUNTING.lock().await;
        let (_, before) = scrape(&app, Some(METRICS_TOKEN)).await;
        let credentials: Value = serde_json::from_str(&fake.credentials_json()).unwrap();
        let (status, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Genesis", "adapter": "EMP",
            "creditor_name": "Acme GmbH", "creditor_identifier": "DE98ZZZ09999999999", "credentials": credentials})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let body = json!({"gateway_id": gw["id"], "amount": "12.34", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead("rid@example.com")});
        let (_, _, created) = send(&app, post("/api/v1/payment-sessions/", body).auth(&tenant.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let pay = format!("/api/v1/payment-sessions/{token}/pay/");
        let body = json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"});
        let (status, headers, env) = send(&app, post(&pay, body).header("X-Request-Id", "ops-test-4711")).await;
        assert_eq!((status, env["status"].as_str()), (StatusCode::OK, Some("completed")), "{env}");
        assert_eq!(headers.get("x-request-id").unwrap(), "ops-test-4711");
        let seen: Vec<Option<String>> = fake.requests().into_iter().map(|r| r.request_id).collect();
        assert_eq!(seen, vec![Some("ops-test-4711".to_owned())]);

        // An unusable incoming id is replaced by a fresh one, which the gateway gets too.
        let body = json!({"gateway_id": gw["id"], "amount": "1.00", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead("rid2@example.com")});
        let (_, _, created) = send(&app, post("/api/v1/payment-sessions/", body).auth(&tenant.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let body = json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"});
        let hostile = "x".repeat(500);
        let (_, headers, _) = send(&app, post(&format!("/api/v1/payment-sessions/{token}/pay/"), body).header("X-Request-Id", hostile.clone())).await;
        let given = headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
        assert_ne!(given, hostile);
        assert_eq!(fake.requests().last().unwrap().request_id.as_deref(), Some(given.as_str()));

        let (_, text) = scrape(&app, Some(METRICS_TOKEN)).await;
        let call = [("adapter", "EMP"), ("operation", "process"), ("result", "200")];
        assert_eq!(grew(&before, &text, "catalyst_gateway_call_duration_seconds_count", &call), 2.0, "{text}");
        let approved = [("adapter", "EMP"), ("outcome", "approved")];
        assert_eq!(grew(&before, &text, "catalyst_payments_total", &approved), 2.0, "{text}");
        fake.stop().await;
    }

    async fn the_last_active_secret_key_is_kept_unless_forced(ctx) {
        let tenant = ctx.tenant("Keys GmbH");
        let app = ctx.app().await;
        let (status, _, second) = send(&app, post("/api/v1/api-keys/", json!({"kind": "secret"})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, _, keys) = send(&app, get("/api/v1/api-keys/").auth(&tenant.secret_key)).await;
        let id_of = |kind: &str, not: &str| keys["results"].as_array().unwrap().iter()
            .find(|k| k["kind"] == kind && k["id"] != not).unwrap()["id"].as_str().unwrap().to_owned();
        let first = id_of("secret", second["id"].as_str().unwrap());
        let restricted = id_of("restricted", "");

        // Two active: one may go.
        let (status, _, body) = send(&app, post(&format!("/api/v1/api-keys/{first}/revoke/"), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
        let last = second["key"].as_str().unwrap();
        let second_id = second["id"].as_str().unwrap();
        for req in [post(&format!("/api/v1/api-keys/{second_id}/revoke/"), json!({})), delete(&format!("/api/v1/api-keys/{second_id}/"))] {
            let (status, _, body) = send(&app, req.auth(last)).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("last_secret_key")), "{body}");
        }
        let (status, _, body) = send(&app, delete(&format!("/api/v1/api-keys/{second_id}/?force=maybe")).auth(last)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errors"]["force"].is_array(), "{body}");
        let (status, _, _) = send(&app, get("/api/v1/api-keys/").auth(last)).await;
        assert_eq!(status, StatusCode::OK, "still active after the refusals");
        // Restricted keys are not guarded; revoking an already revoked key stays a no-op.
        let (status, _, _) = send(&app, post(&format!("/api/v1/api-keys/{restricted}/revoke/"), json!({})).auth(last)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = send(&app, post(&format!("/api/v1/api-keys/{first}/revoke/"), json!({})).auth(last)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, body) = send(&app, delete(&format!("/api/v1/api-keys/{second_id}/?force=true")).auth(last)).await;
        assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
        let (status, _, _) = send(&app, get("/api/v1/api-keys/").auth(last)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
