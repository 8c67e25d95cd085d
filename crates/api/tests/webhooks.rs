//! Webhooks end to end inside the API (both backends): events written with the change,
//! delivered signed to a real receiver on 127.0.0.1, retried, redelivered; settlement and
//! gateway notifications producing chargebacks.

mod common;

use catalyst_domain::status::OrderStatus;
use catalyst_domain::transaction::TransactionStatus;
use std::time::Duration;

use actix_web::http::StatusCode;
use catalyst_api::dispatcher::{self, DispatcherConfig};
use catalyst_webhooks::RetryPolicy;
use catalyst_webhooks::test_receiver::{Received, Receiver};
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";

fn immediate() -> DispatcherConfig {
    DispatcherConfig {
        retry: RetryPolicy::scaled(0.0).unwrap(),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

async fn drain(ctx: &Ctx, config: &DispatcherConfig, rounds: usize) {
    let client = dispatcher::client(config.timeout, ctx.state.targets.clone());
    for _ in 0..rounds {
        dispatcher::run_once(&ctx.state, &client, config)
            .await
            .unwrap();
    }
}

fn by_event<'a>(received: &'a [Received], event: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| r.header("x-catalystpay-event") == Some(event))
        .collect()
}

fn body(r: &Received) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// Runs the Python verifier documented in docs/webhooks.md on a received request.
fn python_verifies(r: &Received, secret: &str) -> bool {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/webhooks.md"
    ))
    .unwrap();
    let start = doc.find("```python").unwrap() + "```python".len();
    let snippet = &doc[start..start + doc[start..].find("```").unwrap()];
    let headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let script = format!(
        "{snippet}\nimport json, sys\nd = json.load(sys.stdin)\nprint(verify_catalyst_webhook(d['headers'], d['body'].encode('latin-1'), d['secret']))\n"
    );
    let input =
        json!({"headers": headers, "body": String::from_utf8_lossy(&r.body), "secret": secret})
            .to_string();
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "True"
}

async fn paid_session<S, B>(app: &S, key: &str, campaign: &str, email: &str, iban: &str) -> Value
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
            json!({"campaign_id": campaign, "metadata": {"cart": "ü-42"},
        "lead": {"first_name": "Zoë", "last_name": "Ünal", "email": email, "country": "DE"}}),
        )
        .auth(key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["session_token"].as_str().unwrap();
    let (_, _, env) = send(
        app,
        post(
            &format!("{SESSIONS}{token}/pay/"),
            json!({"iban": iban, "iban_holder_name": "Zoë Ünal",
        "tenant_reference_id": format!("ref-{email}")}),
        ),
    )
    .await;
    env
}

api_test! {
    async fn a_payment_is_announced_signed_and_verifiable(ctx) {
        let receiver = Receiver::start().unwrap();
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&receiver.url("/hooks"))).unwrap();
        let app = ctx.app().await;
        let env = paid_session(&app, &demo.restricted_key, &demo.campaign_id, "zoe@example.com", "DE89370400440532013000").await;
        assert_eq!(env["status"], "completed");
        drain(&ctx, &immediate(), 2).await;
        let got = receiver.wait_for(4, Duration::from_secs(5));
        let kinds: Vec<&str> = got.iter().filter_map(|r| r.header("x-catalystpay-event")).collect();
        for kind in ["order.created", "transaction.created", "transaction.status_changed", "payment_session.completed"] {
            assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kind} in {kinds:?}");
        }
        let completed = by_event(&got, "payment_session.completed")[0];
        assert_eq!(completed.method, "POST");
        assert_eq!(completed.target, "/hooks");
        assert_eq!(completed.header("user-agent"), Some("CatalystPay-Webhook/1.0"));
        assert_eq!(completed.header("content-type"), Some("application/json"));
        let headers: Vec<(&str, &str)> = completed.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        catalyst_webhooks::verify(&headers, &completed.body, &demo.webhook_secret, Duration::from_secs(300)).unwrap();
        assert!(python_verifies(completed, &demo.webhook_secret), "the documented Python snippet accepts it");
        assert!(!python_verifies(completed, "whsec_wrong"), "and refuses a wrong secret");
        let payload = body(completed);
        let keys: Vec<&str> = payload.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["amount", "currency", "email", "metadata", "order_number", "session_token", "status", "tenant_reference_id"]);
        assert_eq!((payload["status"].as_str(), payload["amount"].as_str()), (Some("COMPLETED"), Some("29.99")));
        assert_eq!(payload["tenant_reference_id"], "ref-zoe@example.com");
        assert_eq!(payload["order_number"], env["order_number"]);
        let raw = String::from_utf8(completed.body.clone()).unwrap();
        assert!(raw.is_ascii() && raw.contains("\\u00fc-42"), "ASCII-escaped like Python's json.dumps: {raw}");
        let changed = body(by_event(&got, "transaction.status_changed")[0]);
        assert_eq!((changed["previous_status"].as_str(), changed["status"].as_str()), (Some("pending"), Some("approved")));

        let (status, _, list) = send(&app, get("/api/v1/webhook-deliveries/?status=delivered").auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["results"].as_array().unwrap().len(), 4);
        assert_eq!(list["results"][0]["attempt_log"][0]["status_code"], 200);
        let (status, _, err) = send(&app, get("/api/v1/webhook-deliveries/?status=lost").auth(&demo.secret_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")));
    }

    async fn deactivated_endpoints_and_profiles_get_no_more_deliveries(ctx) {
        let receiver = Receiver::start().unwrap();
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&receiver.url("/off"))).unwrap();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let profile = format!("/api/v1/webhook-profiles/{}/", demo.webhook_profile_id);
        let (_, _, endpoints) = send(&app, get(&format!("{profile}endpoints/")).auth(sk)).await;
        let endpoint = format!("{profile}endpoints/{}/", endpoints["results"][0]["id"].as_str().unwrap());
        let session = |email: &str| post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "A", "last_name": "B", "email": email, "country": "DE"}}));
        let cancelled = |list: &Value| -> Vec<String> {
            list["results"].as_array().unwrap().iter().filter(|d| d["status"] == "cancelled")
                .map(|d| d["last_error"].as_str().unwrap().to_owned()).collect()
        };

        // Queued, then the endpoint is deleted (deactivated): cancelled at once, never sent.
        send(&app, session("a@example.com").auth(&demo.restricted_key)).await;
        let (status, _, e) = send(&app, delete(&endpoint).auth(sk)).await;
        assert_eq!((status, e["active"].as_bool()), (StatusCode::OK, Some(false)));
        let (_, _, list) = send(&app, get("/api/v1/webhook-deliveries/?status=cancelled").auth(sk)).await;
        assert_eq!(cancelled(&list), ["cancelled: the endpoint was deactivated"]);
        assert_eq!(list["results"][0]["next_attempt_at"], Value::Null);
        send(&app, session("b@example.com").auth(&demo.restricted_key)).await;
        drain(&ctx, &immediate(), 2).await;
        assert!(receiver.received().is_empty(), "nothing goes to an inactive endpoint");

        // Re-activated: it gets the events that happen after it, not the cancelled one.
        let (status, _, _) = send(&app, patch(&endpoint, json!({"active": true})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK);
        send(&app, session("c@example.com").auth(&demo.restricted_key)).await;
        drain(&ctx, &immediate(), 2).await;
        let got = receiver.wait_for(1, Duration::from_secs(5));
        assert_eq!(got.len(), 1);
        assert_eq!(body(&got[0])["email"], "c@example.com");

        // Queued, then the profile is deleted; and a PATCH `active: false` of an endpoint.
        send(&app, session("d@example.com").auth(&demo.restricted_key)).await;
        let (status, _, _) = send(&app, delete(&profile).auth(sk)).await;
        assert_eq!(status, StatusCode::OK);
        drain(&ctx, &immediate(), 2).await;
        assert_eq!(receiver.received().len(), 1, "nothing after the profile was deleted");
        let (_, _, list) = send(&app, get("/api/v1/webhook-deliveries/?status=cancelled").auth(sk)).await;
        let mut reasons = cancelled(&list);
        reasons.sort();
        assert_eq!(reasons, ["cancelled: the endpoint was deactivated", "cancelled: the webhook profile was deactivated"]);
        let (_, _, pending) = send(&app, get("/api/v1/webhook-deliveries/?status=pending").auth(sk)).await;
        assert_eq!(pending["results"].as_array().unwrap().len(), 0);
    }

    async fn a_failing_receiver_gets_retries_in_order_until_it_recovers(ctx) {
        let receiver = Receiver::start().unwrap();
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&receiver.url("/flaky"))).unwrap();
        let app = ctx.app().await;
        let (status, _, _) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "A", "last_name": "B", "email": "a@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED);
        receiver.script(&[500, 503]);
        drain(&ctx, &immediate(), 4).await;
        let got = receiver.wait_for(3, Duration::from_secs(5));
        assert_eq!(got.len(), 3, "two failures, then the success; nothing after it");
        let ids: Vec<_> = got.iter().map(|r| r.header("x-catalystpay-delivery").unwrap().to_owned()).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "the delivery id is stable across retries");
        assert!(got.iter().all(|r| r.body == got[0].body), "the same body every time");
        let (_, _, list) = send(&app, get("/api/v1/webhook-deliveries/").auth(&demo.secret_key)).await;
        let d = &list["results"][0];
        assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("delivered"), Some(3)));
        let codes: Vec<i64> = d["attempt_log"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
        assert_eq!(codes, [500, 503, 200]);
    }

    async fn an_exhausted_ladder_fails_and_redelivery_sends_again(ctx) {
        let receiver = Receiver::start().unwrap();
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&receiver.url("/down"))).unwrap();
        let app = ctx.app().await;
        send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "A", "last_name": "B", "email": "a@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        receiver.script(&[500; 8]);
        drain(&ctx, &immediate(), 10).await;
        assert_eq!(receiver.received().len(), 8, "the first attempt and seven retries");
        let (_, _, list) = send(&app, get("/api/v1/webhook-deliveries/?status=failed").auth(&demo.secret_key)).await;
        let id = list["results"][0]["id"].as_str().unwrap().to_owned();
        let (status, _, d) = send(&app, post(&format!("/api/v1/webhook-deliveries/{id}/redeliver/"), json!({})).auth(&demo.secret_key)).await;
        assert_eq!((status, d["status"].as_str()), (StatusCode::OK, Some("pending")));
        drain(&ctx, &immediate(), 1).await;
        assert_eq!(receiver.wait_for(9, Duration::from_secs(5)).len(), 9);
        let (_, _, d) = send(&app, get(&format!("/api/v1/webhook-deliveries/{id}/")).auth(&demo.secret_key)).await;
        assert_eq!(d["status"], "delivered");
        let other = ctx.tenant("Other");
        let (status, _, _) = send(&app, post(&format!("/api/v1/webhook-deliveries/{id}/redeliver/"), json!({})).auth(&other.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn sandbox_settlement_charges_back_and_announces_it(ctx) {
        let receiver = Receiver::start().unwrap();
        let demo = catalyst_api::provision::demo(&ctx.db.store, BASE, Some(&receiver.url("/cb"))).unwrap();
        let app = ctx.app().await;
        let cb = paid_session(&app, &demo.restricted_key, &demo.recurring_campaign_id, "cb@example.com", "DE43100000000000000806").await;
        let ret = paid_session(&app, &demo.restricted_key, &demo.campaign_id, "ret@example.com", "DE98100000000000000204").await;
        let plain = paid_session(&app, &demo.restricted_key, &demo.campaign_id, "ok@example.com", "DE89370400440532013000").await;
        assert!([&cb, &ret, &plain].iter().all(|e| e["status"] == "completed"));
        let (status, _, settled) = send(&app, post("/api/v1/sandbox/settle/", json!({})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK, "{settled}");
        assert_eq!(settled["settled"], 2);
        let (_, _, again) = send(&app, post("/api/v1/sandbox/settle/", json!({})).auth(&demo.secret_key)).await;
        assert_eq!(again["settled"], 0, "settling twice changes nothing");
        let (status, _, _) = send(&app, post("/api/v1/sandbox/settle/", json!({})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        drain(&ctx, &immediate(), 3).await;
        let got = receiver.wait_for(1, Duration::from_secs(5));
        let chargebacks: Vec<Value> = by_event(&got, "chargeback.created").into_iter().map(body).collect();
        assert_eq!(chargebacks.len(), 2);
        let md06 = chargebacks.iter().find(|c| c["reason_code"] == "MD06").unwrap();
        assert_eq!((md06["kind"].as_str(), md06["error_code"].as_str()), (Some("chargeback"), Some("mandate_rejected")));
        assert_eq!(md06["tenant_reference_id"], "ref-cb@example.com");
        let am04 = chargebacks.iter().find(|c| c["reason_code"] == "AM04").unwrap();
        assert_eq!((am04["kind"].as_str(), am04["error_code"].as_str()), (Some("return"), Some("insufficient_funds")));
        let sub_changes: Vec<Value> = by_event(&got, "subscription.status_changed").into_iter().map(body).collect();
        assert_eq!(sub_changes.len(), 1);
        assert_eq!((sub_changes[0]["previous_status"].as_str(), sub_changes[0]["status"].as_str()), (Some("ACTIVE"), Some("CHARGEDBACK")));
        let charged: Vec<Value> = by_event(&got, "transaction.status_changed").into_iter().map(body).filter(|b| b["status"] == "charged_back").collect();
        assert_eq!(charged.len(), 2);

        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{}/", cb["session_token"].as_str().unwrap()))).await;
        assert_eq!(s["status"], "COMPLETED", "the session stays completed; its order is charged back");
        let order = ctx.db.store.read(|c| catalyst_store::Order::find(c, &demo.tenant_id, &cb["order"]["id"].as_str().unwrap().into())).unwrap();
        assert_eq!(order.status, OrderStatus::Chargedback);

        let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
        let (status, _, listed) = send(&app, get(&format!("/api/v1/reconciliation/chargebacks/?start_date={today}")).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(listed["results"].as_array().unwrap().len(), 2);
        for format in ["csv", "xml"] {
            let req = actix_web::test::TestRequest::get()
                .uri(&format!("/api/v1/reconciliation/chargebacks/?start_date={today}&format={format}"))
                .insert_header(("Authorization", format!("Bearer {}", demo.restricted_key)))
                .to_request();
            let res = actix_web::test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK);
            let text = String::from_utf8(actix_web::test::read_body(res).await.to_vec()).unwrap();
            assert!(text.contains("MD06") && text.contains("AM04"), "{format}: {text}");
            assert!(!text.contains("DE43100000000000000806"), "IBANs are masked in {format}");
        }
    }

    async fn genesis_notifications_are_verified_reconciled_and_idempotent(ctx) {
        catalyst_gateway::install_crypto_provider();
        let fake = catalyst_gateway::fake::start(Default::default(), "127.0.0.1:0").await.unwrap();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let credentials: Value = serde_json::from_str(&fake.credentials_json()).unwrap();
        let (_, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "EMP", "adapter": "EMP", "credentials": credentials})).auth(&tenant.secret_key)).await;
        let gateway_id = gw["id"].as_str().unwrap().to_owned();
        let (_, _, created) = send(&app, post(SESSIONS, json!({"gateway_id": gateway_id, "amount": "12.34", "currency": "EUR", "billing_type": "ONE_OFF",
            "lead": {"first_name": "A", "last_name": "B", "email": "a@example.com", "country": "DE"}})).auth(&tenant.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), json!({"iban": "DE43100000000000000806", "iban_holder_name": "A B"}))).await;
        assert_eq!((env["status"].as_str(), env["adapter"]["name"].as_str()), (Some("completed"), Some("EMP")), "{env}");
        let unique_id = env["transaction"]["gateway_reference"].as_str().unwrap().to_owned();
        assert_eq!(fake.settle(), 1, "the fake charges the debit back");

        let password = &fake.terminals()[0].password;
        let signature = {
            let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, format!("{unique_id}{password}").as_bytes());
            digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let form = |sig: &str| format!("unique_id={unique_id}&transaction_id={}&transaction_type=sdd_sale&terminal_token={}&status=chargebacked&amount=1234&signature={sig}",
            env["transaction"]["merchant_transaction_id"].as_str().unwrap(), fake.terminals()[0].token);
        let path = format!("/api/v1/gateways/{gateway_id}/notifications/");
        let notify = |body: String| actix_web::test::TestRequest::post().uri(&path)
            .insert_header(("Content-Type", "application/x-www-form-urlencoded")).set_payload(body).to_request();
        let (status, _, _) = call(&app, notify(form(&"0".repeat(40)))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a wrong signature is refused");
        assert_eq!(ctx.count("chargebacks"), 0);
        for _ in 0..2 {
            let (status, headers, bytes) = call(&app, notify(form(&signature))).await;
            assert_eq!(status, StatusCode::OK);
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(content_type.starts_with("text/xml"), "{content_type}");
            let echo = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(echo.contains(&format!("<unique_id>{unique_id}</unique_id>")), "{echo}");
        }
        assert_eq!(ctx.count("chargebacks"), 1, "the same notification twice changes nothing the second time");
        let t = ctx.db.store.read(|c| catalyst_store::Transaction::by_id(c, &env["transaction"]["id"].as_str().unwrap().into())).unwrap();
        assert_eq!(t.status, TransactionStatus::ChargedBack);
        let (status, _, _) = send(&app, post(&format!("/api/v1/gateways/{}/notifications/", uuid::Uuid::now_v7()), json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        fake.stop().await;
    }
}
