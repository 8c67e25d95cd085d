//! Refunds (`POST /transactions/{id}/refund/`, `GET /transactions/{id}/refunds/`) on both
//! backends: full and partial refunds with their order and debit statuses and events, the
//! refusals, idempotent replays, a gateway's refusal releasing the reservation, concurrent
//! refunds that never exceed the collected amount, the reconciliation listing, the recovery
//! worker finishing a refund left pending, and a refund over the network (fake Genesis).

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use catalyst_api::recovery::{RecoveryPolicy, run_once};
use catalyst_domain::transaction::TransactionStatus;
use catalyst_gateway::fake::{self, FakeConfig, Terminal};
use catalyst_gateway::{GatewaySettings, RefundRequest, build_adapter};
use catalyst_store::refunds::{self, RefundDraft};
use catalyst_store::{Order, Transaction, now};
use chrono::Duration;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const APPROVED: &str = "DE89370400440532013000";
const DECLINED: &str = "DE91100000000123456789";
const LATER_CHARGEBACK: &str = "DE43100000000000000806";

/// The app under test, whatever its body type.
trait TestApp:
    Service<actix_http::Request, Response = ServiceResponse<Self::Body>, Error = actix_web::Error>
{
    type Body: MessageBody;
}

impl<S, B: MessageBody> TestApp for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Body = B;
}

fn refund_path(id: &str) -> String {
    format!("/api/v1/transactions/{id}/refund/")
}

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

/// Creates a session with `body` and pays it with `iban`; the result envelope.
async fn pay_session(app: &impl TestApp, key: &str, body: Value, iban: &str) -> Value {
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap();
    let (status, _, env) = send(
        app,
        post(
            &format!("{SESSIONS}{token}/pay/"),
            json!({"iban": iban, "iban_holder_name": "Ada Lovelace"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{env}");
    env
}

/// A paid session of the demo's one-off campaign (29.99 EUR); the envelope.
async fn paid(
    app: &impl TestApp,
    ctx_demo: &catalyst_api::provision::DemoSetup,
    iban: &str,
) -> Value {
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    pay_session(
        app,
        &ctx_demo.restricted_key,
        json!({"campaign_id": ctx_demo.campaign_id, "lead": lead(&email)}),
        iban,
    )
    .await
}

fn txn_id(env: &Value) -> String {
    env["transaction"]["id"]
        .as_str()
        .expect("a transaction")
        .to_owned()
}

fn stored(ctx: &Ctx, id: &str) -> (Transaction, i64, Order) {
    ctx.db
        .store
        .read(|c| {
            let t = Transaction::by_id(c, &id.into())?;
            let refunded = refunds::refunded_minor(c, &t.id)?;
            let order = Order::find(c, &t.tenant_id, &t.order_id)?;
            Ok::<_, catalyst_store::StoreError>((t, refunded, order))
        })
        .unwrap()
}

/// The refund transactions of `id` that are approved or pending: their amounts.
fn live_refunds(ctx: &Ctx, id: &str) -> Vec<i64> {
    use catalyst_store::schema::transactions;
    let mut conn = ctx.db.store.conn().unwrap();
    let query = transactions::table
        .filter(transactions::refund_of.eq(id))
        .filter(transactions::status.eq_any(["approved", "pending"]))
        .select(transactions::amount_minor);
    match &mut *conn {
        catalyst_store::DbConnection::Sqlite(c) => query.load(c).unwrap(),
        catalyst_store::DbConnection::Postgres(c) => query.load(c).unwrap(),
    }
}

/// The default payloads of the events of one type, oldest first.
fn events(ctx: &Ctx, event_type: &str) -> Vec<Value> {
    use catalyst_store::schema::webhook_events;
    let mut conn = ctx.db.store.conn().unwrap();
    let query = webhook_events::table
        .filter(webhook_events::event_type.eq(event_type))
        .order(webhook_events::id.asc())
        .select(webhook_events::payload);
    let rows: Vec<String> = match &mut *conn {
        catalyst_store::DbConnection::Sqlite(c) => query.load(c).unwrap(),
        catalyst_store::DbConnection::Postgres(c) => query.load(c).unwrap(),
    };
    rows.iter()
        .map(|p| serde_json::from_str::<Value>(p).unwrap()["default"].clone())
        .collect()
}

/// A `SANDBOX` adapter on the app's own sandbox state (the gateway the API talks to).
fn sandbox(ctx: &Ctx) -> std::sync::Arc<dyn catalyst_gateway::GatewayAdapter> {
    build_adapter(&GatewaySettings::sandbox(), &ctx.state.gateways).unwrap()
}

fn debit_reference(ctx: &Ctx, id: &str) -> Option<String> {
    stored(ctx, id).0.gateway_reference
}

fn eur(minor: i64) -> catalyst_domain::money::Money {
    catalyst_domain::money::Money::from_minor(minor, catalyst_domain::money::Currency::EUR).unwrap()
}

api_test! {
    async fn a_full_refund_refunds_the_debit_and_the_order(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = paid(&app, &demo, APPROVED).await;
        assert_eq!(env["status"], "completed", "{env}");
        let id = txn_id(&env);

        let path = refund_path(&id);
        let request = || post(&path, json!({"reason": "Customer changed their mind"}))
            .auth(&demo.restricted_key)
            .header("Idempotency-Key", "refund-1");
        let (status, headers, refund) = send(&app, request()).await;
        assert_eq!(status, StatusCode::CREATED, "{refund}");
        assert!(headers.get("Idempotent-Replayed").is_none());
        assert_eq!((refund["object"].as_str(), refund["status"].as_str()), (Some("refund"), Some("succeeded")), "{refund}");
        assert_eq!((refund["amount"].as_str(), refund["currency"].as_str()), (Some("29.99"), Some("EUR")));
        assert_eq!(refund["transaction_id"], json!(id));
        assert_eq!(refund["reason"], "Customer changed their mind");
        assert_eq!(refund["error_details"], Value::Null);
        assert!(refund["processed_at"].is_string());
        let rt = &refund["refund_transaction"];
        assert_eq!((rt["type"].as_str(), rt["status"].as_str()), (Some("sdd_refund"), Some("approved")));
        assert_eq!(rt["id"], refund["id"]);
        assert!(rt["merchant_transaction_id"].as_str().unwrap().starts_with("TXN-"));
        assert!(rt["gateway_reference"].is_string());
        assert_eq!(refund["order"]["status"], "REFUNDED");
        assert_eq!(refund["order"]["id"], env["order"]["id"]);

        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("refunded", 2999, "REFUNDED"));
        let stored_refund = ctx.db.store.read(|c| Transaction::by_id(c, &refund["id"].as_str().unwrap().into())).unwrap();
        assert_eq!((stored_refund.session_id, stored_refund.refund_of.as_deref(), stored_refund.description.as_deref()),
            (None, Some(id.as_str()), Some("Customer changed their mind")));
        assert_eq!((stored_refund.mandate_id, stored_refund.gateway_id, stored_refund.sequence_type), (debit.mandate_id, debit.gateway_id, debit.sequence_type));

        // Events: the refund's own transaction events, the debit's move to refunded, and the
        // refund's lifecycle.
        assert_eq!(events(&ctx, "refund.created").len(), 1);
        let succeeded = events(&ctx, "refund.succeeded");
        assert_eq!(succeeded.len(), 1);
        assert_eq!((succeeded[0]["status"].as_str(), succeeded[0]["order_status"].as_str(), succeeded[0]["amount"].as_str()),
            (Some("succeeded"), Some("REFUNDED"), Some("29.99")));
        assert_eq!(succeeded[0]["transaction_id"], json!(id));
        assert_eq!(succeeded[0]["refund_id"], refund["id"]);
        assert_eq!(events(&ctx, "refund.failed").len(), 0);
        let created: Vec<Value> = events(&ctx, "transaction.created");
        assert_eq!(created.iter().filter(|e| e["type"] == "sdd_refund").count(), 1);
        let changed = events(&ctx, "transaction.status_changed");
        assert!(changed.iter().any(|e| e["type"] == "sdd_refund" && e["status"] == "approved" && e["previous_status"] == "pending"));
        assert!(changed.iter().any(|e| e["transaction_id"] == json!(id) && e["status"] == "refunded" && e["previous_status"] == "approved"));
        assert!(changed.iter().filter(|e| e["type"] == "sdd_refund").all(|e| e["session_token"].is_null()));

        // The same key replays the answer; nothing is refunded twice.
        let (status, headers, again) = send(&app, request()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(headers.get("Idempotent-Replayed").unwrap(), "true");
        assert_eq!(again, refund);
        assert_eq!(live_refunds(&ctx, &id), vec![2999]);
        assert_eq!(events(&ctx, "refund.created").len(), 1);

        // Nothing is left: a new request is refused.
        let (status, _, refused) = send(&app, post(&refund_path(&id), json!({})).auth(&demo.secret_key)).await;
        assert_eq!((status, refused["code"].as_str()), (StatusCode::BAD_REQUEST, Some("refund_not_allowed")), "{refused}");
        assert!(refused["detail"].as_str().unwrap().contains("refunded in full"), "{refused}");

        let (status, _, list) = send(&app, get(&format!("/api/v1/transactions/{id}/refunds/")).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["results"].as_array().unwrap().len(), 1);
        assert_eq!(list["results"][0], refund);
        assert_eq!((list["next"].clone(), list["previous"].clone()), (Value::Null, Value::Null));
    }

    async fn partial_refunds_add_up_to_the_collected_amount(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let id = txn_id(&paid(&app, &demo, APPROVED).await);
        let path = refund_path(&id);
        let refund = |body: Value| send(&app, post(&path, body).auth(&demo.restricted_key));

        let (status, _, first) = refund(json!({"amount": "10.00"})).await;
        assert_eq!((status, first["status"].as_str(), first["amount"].as_str()), (StatusCode::CREATED, Some("succeeded"), Some("10.00")), "{first}");
        assert_eq!(first["order"]["status"], "PARTIALLY_REFUNDED");
        assert_eq!(first["reason"], Value::Null);
        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("approved", 1000, "PARTIALLY_REFUNDED"));

        // Amounts that do not fit: over the remainder, wrong scale, not positive, not a number.
        for (amount, says) in [
            (json!("19.999"), "decimal places"),
            (json!("20.00"), "19.99"),
            (json!("0.00"), "greater than 0"),
            (json!("-1"), "valid amount"),
            (json!("ten"), "valid amount"),
            (json!(true), "valid amount"),
        ] {
            let (status, _, e) = refund(json!({"amount": amount})).await;
            assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{amount}: {e}");
            assert!(e["errors"]["amount"][0].as_str().unwrap().contains(says), "{amount}: {e}");
        }
        let (status, _, e) = refund(json!({"reason": "x".repeat(256), "note": 1})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(e["errors"]["reason"].is_array() && e["errors"]["note"].is_array(), "{e}");
        assert_eq!(live_refunds(&ctx, &id), vec![1000], "refused requests reserve nothing");

        // The default amount is what is left; a JSON number is accepted.
        let (status, _, second) = refund(json!({"amount": 9.99})).await;
        assert_eq!((status, second["amount"].as_str(), second["order"]["status"].as_str()), (StatusCode::CREATED, Some("9.99"), Some("PARTIALLY_REFUNDED")), "{second}");
        let (status, _, last) = send(&app, post(&refund_path(&id), json!({})).auth(&demo.restricted_key)).await;
        assert_eq!((status, last["amount"].as_str(), last["order"]["status"].as_str()), (StatusCode::CREATED, Some("10.00"), Some("REFUNDED")), "{last}");
        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("refunded", 2999, "REFUNDED"));
        assert_eq!(events(&ctx, "refund.succeeded").len(), 3);

        // Listed newest first, and paged.
        let (_, _, list) = send(&app, get(&format!("/api/v1/transactions/{id}/refunds/?page_size=2")).auth(&demo.restricted_key)).await;
        let amounts: Vec<&str> = list["results"].as_array().unwrap().iter().map(|r| r["amount"].as_str().unwrap()).collect();
        assert_eq!(amounts, ["10.00", "9.99"]);
        let next = list["next"].as_str().expect("a next page").trim_start_matches(BASE).to_owned();
        let (_, _, rest) = send(&app, get(&next).auth(&demo.restricted_key)).await;
        assert_eq!(rest["results"][0]["id"], first["id"]);
    }

    async fn what_cannot_be_refunded_is_refused(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;

        // A debit that is charged back after a partial refund: only the debit is reversed
        // by the sandbox's settlement, not the refund (same mandate, same IBAN).
        let charged = txn_id(&paid(&app, &demo, LATER_CHARGEBACK).await);
        let (_, _, partial) = send(&app, post(&refund_path(&charged), json!({"amount": "5.00"})).auth(&demo.restricted_key)).await;
        assert_eq!(partial["status"], "succeeded", "{partial}");
        let (status, _, settled) = send(&app, post("/api/v1/sandbox/settle/", json!({})).auth(&demo.secret_key)).await;
        assert_eq!((status, settled["settled"].as_i64()), (StatusCode::OK, Some(1)), "{settled}");
        assert_eq!(settled["chargebacks"][0]["transaction_id"], json!(charged));
        let (debit, _, order) = stored(&ctx, &charged);
        assert_eq!((debit.status.as_str(), order.status.as_str()), ("charged_back", "CHARGEDBACK"));
        assert_eq!(stored(&ctx, partial["id"].as_str().unwrap()).0.status, TransactionStatus::Approved);
        let (status, _, e) = send(&app, post(&refund_path(&charged), json!({})).auth(&demo.restricted_key)).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("refund_not_allowed")), "{e}");
        assert!(e["detail"].as_str().unwrap().contains("charged back"), "{e}");

        let declined = paid(&app, &demo, DECLINED).await;
        assert_eq!(declined["status"], "declined", "{declined}");
        let (status, _, e) = send(&app, post(&refund_path(&txn_id(&declined)), json!({"amount": "1.00"})).auth(&demo.restricted_key)).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("refund_not_allowed")), "{e}");
        assert!(e["detail"].as_str().unwrap().contains("declined"), "{e}");

        // Another tenant's transaction, an unknown one, a malformed id: 404.
        let ok = txn_id(&paid(&app, &demo, APPROVED).await);
        let other = ctx.tenant("Other GmbH");
        for (path, key) in [
            (refund_path(&ok), other.restricted_key.as_str()),
            (refund_path(&uuid::Uuid::now_v7().to_string()), demo.restricted_key.as_str()),
            (refund_path("TXN-20261204-0000CAFE"), demo.restricted_key.as_str()),
            (format!("/api/v1/transactions/{ok}/refunds/"), other.secret_key.as_str()),
        ] {
            let (status, _, e) = send(&app, post(&path, json!({})).auth(key)).await;
            let status = if path.ends_with("/refunds/") {
                send(&app, get(&path).auth(key)).await.0
            } else {
                assert_eq!(e["code"], "not_found", "{path}");
                status
            };
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let (status, _, _) = send(&app, post(&refund_path(&ok), json!({}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // A refund itself is not refundable.
        let (_, _, refund) = send(&app, post(&refund_path(&ok), json!({"amount": "1.00"})).auth(&demo.restricted_key)).await;
        let (status, _, e) = send(&app, post(&refund_path(refund["id"].as_str().unwrap()), json!({})).auth(&demo.restricted_key)).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("refund_not_allowed")), "{e}");
        assert_eq!(live_refunds(&ctx, &charged), vec![500], "only the refund made before the chargeback");
        assert_eq!(stored(&ctx, &charged).1, 500);
        assert!(live_refunds(&ctx, &txn_id(&declined)).is_empty());
    }

    async fn a_refund_the_gateway_refuses_fails_and_releases_its_amount(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let id = txn_id(&paid(&app, &demo, APPROVED).await);
        let (debit, _, _) = stored(&ctx, &id);
        // Refunded at the gateway behind our back: the gateway has nothing left to refund.
        let outside = sandbox(&ctx).refund(&RefundRequest {
            transaction_id: "TXN-20261204-00000001".into(),
            reference: debit.gateway_reference.clone().unwrap(),
            amount: eur(2999),
            usage: "elsewhere".into(),
            remote_ip: "127.0.0.1".into(),
        }).await.unwrap();
        assert!(outside.is_approved());

        let (status, _, refund) = send(&app, post(&refund_path(&id), json!({"amount": "5.00"})).auth(&demo.restricted_key).header("Idempotency-Key", "r-fail")).await;
        assert_eq!((status, refund["status"].as_str()), (StatusCode::CREATED, Some("failed")), "{refund}");
        assert_eq!(refund["refund_transaction"]["status"], "declined");
        assert_eq!(refund["error_details"]["message"], "The gateway refused the refund.");
        assert!(refund["error_details"]["gateway_message"].as_str().unwrap().contains("exceeds"), "{refund}");
        assert_eq!(refund["order"]["status"], "COMPLETED");
        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("approved", 0, "COMPLETED"), "the reservation is released");
        let failed = events(&ctx, "refund.failed");
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0]["status"].as_str(), failed[0]["error_code"].as_str()), (Some("failed"), Some("unknown")));
        assert_eq!(events(&ctx, "refund.succeeded").len(), 0);
        let (_, headers, again) = send(&app, post(&refund_path(&id), json!({"amount": "5.00"})).auth(&demo.restricted_key).header("Idempotency-Key", "r-fail")).await;
        assert_eq!((headers.get("Idempotent-Replayed").is_some(), again), (true, refund));
    }

    async fn the_sandbox_refund_decline_iban_fails_every_refund(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let id = txn_id(&paid(&app, &demo, "DE87100000000000000402").await);
        let (status, _, refund) = send(&app, post(&refund_path(&id), json!({"reason": "Returned"})).auth(&demo.restricted_key)).await;
        assert_eq!((status, refund["status"].as_str()), (StatusCode::CREATED, Some("failed")), "{refund}");
        assert_eq!((refund["error_details"]["code"].as_str(), refund["error_details"]["gateway_code"].as_str()),
                   (Some("account_closed"), Some("AC04")), "{refund}");
        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("approved", 0, "COMPLETED"));
    }

    async fn concurrent_refunds_never_exceed_the_collected_amount(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let id = txn_id(&paid(&app, &demo, APPROVED).await);
        let stale = stored(&ctx, &id).0;
        // Eight requests of 5.00 against 29.99, each from its own thread and app instance.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8).map(|_| {
            let (state, barrier, key, path) = (ctx.state.clone(), barrier.clone(), demo.restricted_key.clone(), refund_path(&id));
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let app = actix_web::test::init_service(actix_web::App::new()
                        .configure(move |cfg| catalyst_api::configure(cfg, state))).await;
                    barrier.wait();
                    let (status, _, body) = send(&app, post(&path, json!({"amount": "5.00"})).auth(&key)).await;
                    (status, body)
                })
            })
        }).collect();
        let answers: Vec<(StatusCode, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let succeeded = answers.iter().filter(|(s, b)| *s == StatusCode::CREATED && b["status"] == "succeeded").count();
        let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::BAD_REQUEST).map(|(_, b)| b).collect();
        assert_eq!((succeeded, refused.len()), (5, 3), "{answers:?}");
        assert!(refused.iter().all(|b| b["code"] == "validation_error" && b["errors"]["amount"].is_array()), "{refused:?}");
        let live = live_refunds(&ctx, &id);
        assert_eq!((live.len(), live.iter().sum::<i64>()), (5, 2500));
        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("approved", 2500, "PARTIALLY_REFUNDED"));
        // A save of the debit as read before the refunds keeps their reservations.
        ctx.db.store.write(|c| stale.save(c)).unwrap();
        assert_eq!(stored(&ctx, &id).1, 2500);

        // The same race on the claim itself, on pooled connections in parallel: 6 × 2.00
        // against the 4.99 left, so exactly two fit.
        let handles: Vec<_> = (0..6).map(|_| {
            let (store, id, tenant) = (ctx.db.store.clone(), id.clone(), demo.tenant_id.clone());
            std::thread::spawn(move || {
                let draft = RefundDraft { amount_minor: Some(200), reason: None };
                let mut conn = store.conn().unwrap();
                refunds::claim_refund(&mut conn, &tenant, &id.as_str().into(), &draft, now()).map(|c| c.refund.id)
            })
        }).collect();
        let claims: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(claims.iter().filter(|c| c.is_ok()).count(), 2, "{claims:?}");
        assert!(claims.iter().filter_map(|c| c.as_ref().err()).all(|e| matches!(e, refunds::RefundError::Amount(_))), "{claims:?}");
        let live = live_refunds(&ctx, &id);
        assert_eq!(live.iter().sum::<i64>(), 2900);
        assert!(live.iter().sum::<i64>() <= debit.amount_minor);
        assert_eq!(stored(&ctx, &id).1, 2900);
    }

    async fn refunds_are_listed_for_reconciliation(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = paid(&app, &demo, APPROVED).await;
        let id = txn_id(&env);
        let (_, _, refund) = send(&app, post(&refund_path(&id), json!({"amount": "2.50"})).auth(&demo.restricted_key)).await;
        let today = chrono::Utc::now().date_naive();
        let window = format!("start_date={}&end_date={}", today.pred_opt().unwrap(), today.succ_opt().unwrap());
        let (status, _, listed) = send(&app, get(&format!("/api/v1/reconciliation/transactions/?{window}&type=sdd_refund")).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let rows = listed["results"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{listed}");
        let row = &rows[0];
        assert_eq!((row["id"].clone(), row["type"].as_str(), row["status"].as_str(), row["amount"].as_str()),
            (refund["id"].clone(), Some("sdd_refund"), Some("approved"), Some("2.50")));
        assert_eq!(row["session_token"], Value::Null);
        assert_eq!(row["order_number"], env["order"]["order_number"]);
        assert_eq!(row["iban"], "******************3000");
        let (_, _, debits) = send(&app, get(&format!("/api/v1/reconciliation/transactions/?{window}&type=sdd_sale")).auth(&demo.restricted_key)).await;
        assert_eq!(debits["results"].as_array().unwrap().len(), 1);
        assert!(debits["results"][0]["session_token"].is_string());
    }

    async fn the_recovery_worker_finishes_a_refund_left_pending(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let id = txn_id(&paid(&app, &demo, APPROVED).await);
        let claim = |minor: i64| ctx.db.store.read(|c| {
            refunds::claim_refund(c, &demo.tenant_id, &id.as_str().into(), &RefundDraft { amount_minor: Some(minor), reason: None }, now())
                .map_err(|e| catalyst_store::StoreError::Corrupt(e.to_string()))
        }).unwrap();
        let policy = RecoveryPolicy { not_found_checks: 1, ..RecoveryPolicy::default() };

        // The server died after the gateway refunded, before the answer was applied.
        let refunded = claim(1000);
        let answer = sandbox(&ctx).refund(&RefundRequest {
            transaction_id: refunded.refund.merchant_transaction_id.clone(),
            reference: refunded.original.gateway_reference.clone().unwrap(),
            amount: eur(1000),
            usage: "refund".into(),
            remote_ip: "127.0.0.1".into(),
        }).await.unwrap();
        assert!(answer.is_approved());
        assert_eq!(run_once(&ctx.state, &policy, now()).await.unwrap(), 0, "not within the grace");
        let at = now() + policy.grace + Duration::seconds(1);
        assert_eq!(run_once(&ctx.state, &policy, at).await.unwrap(), 1);
        let (r, _, _) = stored(&ctx, &refunded.refund.id);
        assert_eq!((r.status.as_str(), r.gateway_reference.is_some()), ("approved", true));
        let (debit, reserved, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), reserved, order.status.as_str()), ("approved", 1000, "PARTIALLY_REFUNDED"));
        assert_eq!(events(&ctx, "refund.succeeded").len(), 1);
        // A late answer for a refund already settled changes nothing.
        let late = catalyst_store::settlement::Settlement::Declined {
            reference: None, code: "unknown".into(), message: "late".into(),
            gateway_code: None, gateway_message: None, counts_as_attempt: true,
        };
        ctx.db.store.read(|c| catalyst_store::outcome::apply_outcome(c, &refunded.refund.id, &late, now())).unwrap();
        assert_eq!((stored(&ctx, &refunded.refund.id).0.status.as_str(), stored(&ctx, &id).1), ("approved", 1000));
        assert_eq!(events(&ctx, "refund.failed").len(), 0);

        // The server died before the gateway heard of it: not found there, so it failed and
        // its amount is free again.
        let lost = claim(500);
        assert_eq!(stored(&ctx, &id).1, 1500);
        assert_eq!(run_once(&ctx.state, &policy, at + Duration::seconds(1)).await.unwrap(), 1);
        let (r, _, _) = stored(&ctx, &lost.refund.id);
        assert_eq!((r.status.as_str(), r.error_code.as_deref()), ("declined", Some("gateway_unavailable")));
        assert_eq!(r.error_message.as_deref(), Some("The payment gateway never received the refund; nothing was refunded."));
        assert_eq!(stored(&ctx, &id).1, 1000);
        assert_eq!(events(&ctx, "refund.failed").len(), 1);
        let (_, _, list) = send(&app, get(&format!("/api/v1/transactions/{id}/refunds/")).auth(&demo.restricted_key)).await;
        let statuses: Vec<&str> = list["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["failed", "succeeded"]);
    }

    async fn a_refund_over_the_network_reaches_genesis(ctx) {
        catalyst_gateway::install_crypto_provider();
        let gateway = fake::start(FakeConfig::default(), "127.0.0.1:0").await.unwrap();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let credentials: Value = serde_json::from_str(&Terminal::default().credentials_json(&gateway.base_url())).unwrap();
        let (status, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Genesis", "adapter": "EMP", "credentials": credentials})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let env = pay_session(&app, &tenant.restricted_key,
            json!({"gateway_id": gw["id"], "amount": "12.34", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead("emp@example.com")}),
            APPROVED).await;
        assert_eq!(env["status"], "completed", "{env}");
        let id = txn_id(&env);
        let (status, _, refund) = send(&app, post(&refund_path(&id), json!({"amount": "2.34"})).auth(&tenant.restricted_key)).await;
        assert_eq!((status, refund["status"].as_str()), (StatusCode::CREATED, Some("succeeded")), "{refund}");
        // The rest, by default.
        let (_, _, over) = send(&app, post(&refund_path(&id), json!({})).auth(&tenant.restricted_key)).await;
        assert_eq!(over["status"], "succeeded", "{over}");
        let at_genesis = gateway.transactions();
        let refunds: Vec<_> = at_genesis.iter().filter(|t| t.transaction_type == "sdd_refund").collect();
        assert_eq!(refunds.iter().map(|t| t.amount).sum::<i64>(), 1234);
        let mut ids: Vec<&str> = refunds.iter().map(|t| t.transaction_id.as_str()).collect();
        ids.sort_unstable();
        let mut ours = [refund["refund_transaction"]["merchant_transaction_id"].as_str().unwrap(), over["refund_transaction"]["merchant_transaction_id"].as_str().unwrap()];
        ours.sort_unstable();
        assert_eq!(ids, ours);
        assert!(refunds.iter().all(|t| t.reference_id == debit_reference(&ctx, &id)));
        let (debit, refunded, order) = stored(&ctx, &id);
        assert_eq!((debit.status.as_str(), refunded, order.status.as_str()), ("refunded", 1234, "REFUNDED"));
        gateway.stop().await;
    }
}
