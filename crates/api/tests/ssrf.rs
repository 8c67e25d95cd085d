//! Outbound targets (both backends): with private targets not allowed, webhook endpoint URLs and
//! the EMP `endpoint` credential must be public addresses when created, and are checked again
//! (after DNS resolution) when a delivery or gateway call is sent.

mod common;

use actix_web::http::StatusCode;
use catalyst_api::dispatcher::{self, DispatcherConfig};
use catalyst_api::{ApiConfig, AppState};
use catalyst_webhooks::RetryPolicy;
use catalyst_webhooks::test_receiver::Receiver;
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";

/// Every URL form that must not reach a private target; `BASE`'s host is this API's own.
const HOSTILE: &[&str] = &[
    "http://127.0.0.1:6379/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://localhost:8080/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://catalyst.test/api/v1/",
    "https://user:pass@merchant.example/hooks",
];

/// `ctx` with private targets not allowed (as in livemode), on the same database.
fn strict(ctx: Ctx) -> Ctx {
    let mut config = ApiConfig::new(BASE);
    config.browser_read_burst = 1000.0;
    config.browser_read_per_sec = 1000.0;
    config.allow_private_targets = false;
    let state = AppState::new(ctx.db.store.clone(), config);
    Ctx { db: ctx.db, state }
}

async fn drain(ctx: &Ctx) {
    let config = DispatcherConfig {
        retry: RetryPolicy::scaled(0.0).unwrap(),
        ..Default::default()
    };
    let client = dispatcher::client(config.timeout, ctx.state.targets.clone());
    dispatcher::run_once(&ctx.state, &client, &config)
        .await
        .unwrap();
}

fn assert_names_field(status: StatusCode, body: &Value, field: &str, url: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
    assert_eq!(body["code"], "validation_error", "{url}: {body}");
    assert!(
        body["errors"][field]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{url}: {body}"
    );
}

/// Creates a session on the demo campaign (its events go to the demo's webhook endpoint).
async fn one_event<S, B>(app: &S, key: &str, campaign: &str)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, _, created) = send(
        app,
        post(
            SESSIONS,
            json!({"campaign_id": campaign,
        "lead": {"first_name": "A", "last_name": "B", "email": "a@example.com", "country": "DE"}}),
        )
        .auth(key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

api_test! {
    async fn hostile_webhook_urls_are_refused_at_creation_and_update(ctx) {
        let ctx = strict(ctx);
        let tenant = ctx.tenant("Acme");
        let app = ctx.app().await;
        let (_, _, profile) = send(&app, post("/api/v1/webhook-profiles/", json!({"name": "p"})).auth(&tenant.secret_key)).await;
        let endpoints = format!("/api/v1/webhook-profiles/{}/endpoints/", profile["id"].as_str().unwrap());
        for url in HOSTILE {
            let (status, _, body) = send(&app, post(&endpoints, json!({"url": url})).auth(&tenant.secret_key)).await;
            assert_names_field(status, &body, "url", url);
        }
        let (status, _, created) = send(&app, post(&endpoints, json!({"url": "https://merchant.example/hooks"})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let one = format!("{endpoints}{}/", created["id"].as_str().unwrap());
        for url in HOSTILE {
            let (status, _, body) = send(&app, patch(&one, json!({"url": url})).auth(&tenant.secret_key)).await;
            assert_names_field(status, &body, "url", url);
        }
        let (_, _, kept) = send(&app, get(&one).auth(&tenant.secret_key)).await;
        assert_eq!(kept["url"], "https://merchant.example/hooks");
    }

    async fn private_webhook_urls_are_accepted_when_allowed_but_never_user_info(ctx) {
        assert!(ctx.state.targets.allows_private());
        let tenant = ctx.tenant("Acme");
        let app = ctx.app().await;
        let (_, _, profile) = send(&app, post("/api/v1/webhook-profiles/", json!({"name": "p"})).auth(&tenant.secret_key)).await;
        let endpoints = format!("/api/v1/webhook-profiles/{}/endpoints/", profile["id"].as_str().unwrap());
        for url in HOSTILE.iter().filter(|u| !u.contains('@')) {
            let (status, _, body) = send(&app, post(&endpoints, json!({"url": url})).auth(&tenant.secret_key)).await;
            assert_eq!(status, StatusCode::CREATED, "{url}: {body}");
        }
        for url in ["http://user:pass@127.0.0.1/", "https://token@merchant.example/"] {
            let (status, _, body) = send(&app, post(&endpoints, json!({"url": url})).auth(&tenant.secret_key)).await;
            assert_names_field(status, &body, "url", url);
        }
    }

    async fn a_name_resolving_to_loopback_gets_nothing_and_a_fixed_log_text(ctx) {
        let ctx = strict(ctx);
        let receiver = Receiver::start().unwrap();
        // Stored before the rule existed (or while private targets were allowed).
        let url = receiver.url("/hooks").replace("127.0.0.1", "localhost");
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&url)).unwrap();
        let app = ctx.app().await;
        one_event(&app, &demo.restricted_key, &demo.campaign_id).await;
        drain(&ctx).await;
        assert!(receiver.received().is_empty(), "the local receiver got nothing");
        let (_, _, list) = send(&app, get("/api/v1/webhook-deliveries/").auth(&demo.secret_key)).await;
        let d = &list["results"][0];
        assert_eq!((d["attempts"].as_i64(), d["last_error"].as_str()), (Some(1), Some("target address not allowed")), "{d}");
        let attempt = &d["attempt_log"][0];
        assert_eq!((attempt["status_code"].as_i64(), attempt["error"].as_str()), (None, Some("target address not allowed")), "{d}");
    }

    async fn an_ip_literal_stored_earlier_gets_nothing_either(ctx) {
        let ctx = strict(ctx);
        let receiver = Receiver::start().unwrap();
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&receiver.url("/hooks"))).unwrap();
        let app = ctx.app().await;
        one_event(&app, &demo.restricted_key, &demo.campaign_id).await;
        drain(&ctx).await;
        assert!(receiver.received().is_empty(), "the local receiver got nothing");
        let (_, _, list) = send(&app, get("/api/v1/webhook-deliveries/").auth(&demo.secret_key)).await;
        assert_eq!(list["results"][0]["last_error"], "target address not allowed", "{list}");
    }

    async fn a_private_emp_endpoint_is_refused_at_creation(ctx) {
        let ctx = strict(ctx);
        let tenant = ctx.tenant("Acme");
        let app = ctx.app().await;
        for url in HOSTILE {
            let body = json!({"name": "Genesis", "adapter": "EMP", "credentials":
                {"username": "u", "password": "p", "terminal_token": "t", "endpoint": url}});
            let (status, _, err) = send(&app, post("/api/v1/gateways/", body).auth(&tenant.secret_key)).await;
            assert_names_field(status, &err, "credentials.endpoint", url);
        }
        let body = json!({"name": "Genesis", "adapter": "EMP", "credentials":
            {"username": "u", "password": "p", "terminal_token": "t", "endpoint": "https://staging.gate.emerchantpay.net"}});
        let (status, _, gw) = send(&app, post("/api/v1/gateways/", body).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
    }

    async fn a_private_emp_endpoint_is_refused_at_pay_time(ctx) {
        catalyst_gateway::install_crypto_provider();
        let fake = catalyst_gateway::fake::start(Default::default(), "127.0.0.1:0").await.unwrap();
        let tenant = ctx.tenant("EMP GmbH");
        let credentials: Value = serde_json::from_str(&fake.credentials_json()).unwrap();
        let gateway = {
            // Created while private targets were allowed.
            let app = ctx.app().await;
            let (status, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Genesis", "adapter": "EMP",
                "credentials": credentials})).auth(&tenant.secret_key)).await;
            assert_eq!(status, StatusCode::CREATED, "{gw}");
            gw["id"].as_str().unwrap().to_owned()
        };
        let ctx = strict(ctx);
        let app = ctx.app().await;
        let (status, _, created) = send(&app, post(SESSIONS, json!({"gateway_id": gateway, "amount": "12.34", "currency": "EUR",
            "billing_type": "ONE_OFF", "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}}))
            .auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["session_token"].as_str().unwrap();
        let (status, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        assert_eq!(status, StatusCode::OK, "{env}");
        assert_eq!((env["status"].as_str(), env["error_details"]["code"].as_str()), (Some("declined"), Some("gateway_unavailable")), "{env}");
        assert_eq!(env["retry_allowed"], true, "{env}");
        assert!(fake.transactions().is_empty(), "nothing reached the gateway");
        fake.stop().await;
    }
}
