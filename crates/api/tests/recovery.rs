//! The recovery worker and verifications, on both backends: the attempt of a debit awaiting
//! verification is used at submit (once), abandoned verifications are reconciled and expired,
//! "not found" after a fault is checked again with a per-transaction back-off, and two workers
//! on one database reconcile each stuck transaction once. The worker is driven by `run_once`
//! with a chosen `now`, never by sleeping.

mod common;

use actix_web::http::StatusCode;
use catalyst_api::recovery::{RecoveryPolicy, run_once};
use catalyst_domain::status::OrderStatus;
use catalyst_domain::status::SessionStatus;
use catalyst_gateway::fake::{self, FakeConfig, Terminal};
use catalyst_store::{PaymentSession, Transaction, now, recovery};
use chrono::Duration;
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

fn pay_body(iban: &str) -> Value {
    json!({"iban": iban, "iban_holder_name": "Ada Lovelace"})
}

async fn new_session<S, B>(app: &S, key: &str, body: Value) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["session_token"].as_str().unwrap().to_owned()
}

fn stored(ctx: &Ctx, token: &str) -> (PaymentSession, Transaction) {
    ctx.db
        .store
        .read(|c| {
            let s = PaymentSession::find_by_token(c, token)?;
            let t = s.latest_transaction(c)?.expect("a transaction");
            Ok::<_, catalyst_store::StoreError>((s, t))
        })
        .unwrap()
}

fn events(ctx: &Ctx, event_type: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = ctx.db.store.conn().unwrap();
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = '{event_type}'"
    ))
    .get_result::<N>(&mut *conn)
    .unwrap()
    .n
}

fn schedule(ctx: &Ctx, t: &Transaction) -> (i32, Option<chrono::NaiveDateTime>) {
    ctx.db
        .store
        .read(|c| recovery::schedule_of(c, &t.id))
        .unwrap()
}

/// A port on which nothing listens (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `EMP` gateway whose endpoint is the fake Genesis on `port` (started or not).
async fn emp_gateway<S, B>(app: &S, secret_key: &str, port: u16) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let credentials: Value = serde_json::from_str(
        &Terminal::default().credentials_json(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    let (status, _, gw) = send(
        app,
        post(
            "/api/v1/gateways/",
            json!({"name": "Genesis", "adapter": "EMP", "credentials": credentials}),
        )
        .auth(secret_key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{gw}");
    gw["id"].as_str().unwrap().to_owned()
}

fn direct(gateway_id: &str, email: &str) -> Value {
    json!({"gateway_id": gateway_id, "amount": "12.34", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead(email)})
}

/// Reconcile requests the fake received for our transaction id.
fn reconciles_of(fake: &fake::FakeHandle, t: &Transaction) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            r.path.starts_with("/reconcile/") && r.body.contains(&t.merchant_transaction_id)
        })
        .count()
}

api_test! {
    async fn verification_uses_the_attempt_at_submit_and_only_once(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        for (i, (iban, after_verify, remaining_after)) in [
            ("DE92100000000000000700", "COMPLETED", 2),
            ("DE65100000000000000701", "PENDING", 2),
        ].into_iter().enumerate() {
            let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead(&format!("v{i}@example.com"))})).await;
            let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body(iban))).await;
            assert_eq!(env["status"], "awaiting_verification", "{env}");
            let (_, _, s) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
            assert_eq!(s["attempts_remaining"], 2, "{iban}: the attempt is used when the debit is submitted");
            send(&app, post(&format!("{SESSIONS}{token}/verify/"), json!({}))).await;
            let (session, t) = stored(&ctx, &token);
            assert_eq!(session.status.as_str(), after_verify, "{iban}");
            assert_eq!((session.max_payment_attempts - session.attempts_used, t.counts_as_attempt), (remaining_after, true), "{iban}: verify's end uses no second attempt");
        }
    }

    async fn an_abandoned_verification_is_reconciled_and_expired(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("gone@example.com")})).await;
        send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE92100000000000000700"))).await;
        let policy = RecoveryPolicy::default();
        let (_, t) = stored(&ctx, &token);

        // Past the grace, before the verification timeout: left to the customer, and not
        // looked at again until the timeout.
        assert_eq!(run_once(&ctx.state, &policy, now() + Duration::minutes(10)).await.unwrap(), 0);
        let (session, _) = stored(&ctx, &token);
        assert_eq!(session.status, SessionStatus::AwaitingVerification);
        assert_eq!(schedule(&ctx, &t), (0, Some(t.created_at + policy.verification_timeout)));

        // After the timeout the gateway still waits for the customer: the session expires.
        let later = t.created_at + policy.verification_timeout + Duration::seconds(1);
        assert_eq!(run_once(&ctx.state, &policy, later).await.unwrap(), 1);
        let (session, t) = stored(&ctx, &token);
        assert_eq!((session.status.as_str(), t.status.as_str(), t.error_code.as_deref()), ("EXPIRED", "declined", Some("unknown")));
        let order = ctx.db.store.read(|c| catalyst_store::Order::find_by_session(c, &session.id)).unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!((events(&ctx, "payment_session.expired"), events(&ctx, "transaction.status_changed")), (1, 1));
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/verify/"), json!({}))).await;
        assert_eq!(env["code"], "session_not_verifiable", "{env}");

        // Nothing more to do, nothing emitted twice.
        assert_eq!(run_once(&ctx.state, &policy, later + Duration::hours(1)).await.unwrap(), 0);
        assert_eq!(events(&ctx, "payment_session.expired"), 1);
    }

    async fn a_verification_completed_at_the_bank_is_finished_by_the_worker(ctx) {
        catalyst_gateway::install_crypto_provider();
        let gateway = fake::start(FakeConfig::default(), "127.0.0.1:0").await.unwrap();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let gw = emp_gateway(&app, &tenant.secret_key, gateway.addr.port()).await;
        let token = new_session(&app, &tenant.restricted_key, direct(&gw, "bank@example.com")).await;
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE92100000000000000700"))).await;
        assert_eq!(env["status"], "awaiting_verification", "{env}");
        // The customer confirms at the bank but never comes back to `/verify/`.
        gateway.complete_verification(env["transaction"]["gateway_reference"].as_str().unwrap()).unwrap();
        let policy = RecoveryPolicy::default();
        let (_, t) = stored(&ctx, &token);
        let later = t.created_at + policy.verification_timeout + Duration::seconds(1);
        assert_eq!(run_once(&ctx.state, &policy, later).await.unwrap(), 1);
        let (session, t) = stored(&ctx, &token);
        assert_eq!((session.status.as_str(), t.status.as_str(), session.attempts_used), ("COMPLETED", "approved", 1));
        assert_eq!(events(&ctx, "payment_session.completed"), 1);
        gateway.stop().await;
    }

    async fn not_found_after_a_fault_is_checked_again_with_a_growing_back_off(ctx) {
        catalyst_gateway::install_crypto_provider();
        let port = free_port();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let gw = emp_gateway(&app, &tenant.secret_key, port).await;
        let token = new_session(&app, &tenant.restricted_key, direct(&gw, "lost@example.com")).await;
        // Nothing listens: the debit and the reconcile fail, the transaction stays pending.
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE89370400440532013000"))).await;
        assert_eq!((env["status"].as_str(), env["retry_allowed"].clone()), (Some("declined"), json!(false)), "{env}");
        let (_, t) = stored(&ctx, &token);
        let policy = RecoveryPolicy::default();

        // The worker's first reconcile fails: back off 30 s; not taken again before then.
        let t0 = t.created_at + policy.grace + Duration::seconds(1);
        assert_eq!(run_once(&ctx.state, &policy, t0).await.unwrap(), 0);
        let first = t0 + policy.backoff;
        assert_eq!(schedule(&ctx, &t), (1, Some(first)));
        run_once(&ctx.state, &policy, first - Duration::seconds(1)).await.unwrap();
        assert_eq!(schedule(&ctx, &t), (1, Some(first)), "not retried before its next time");

        // The gateway is back but does not know the debit: checked again, the wait doubled.
        let gateway = fake::start(FakeConfig::default(), &format!("127.0.0.1:{port}")).await.unwrap();
        assert_eq!(run_once(&ctx.state, &policy, first).await.unwrap(), 0);
        let second = first + policy.backoff * 2;
        assert_eq!(schedule(&ctx, &t), (2, Some(second)), "the delay grows");
        assert_eq!(stored(&ctx, &token).0.status, SessionStatus::PaymentInProgress, "one 'not found' is not final");
        assert_eq!(reconciles_of(&gateway, &t), 1);

        // The third check that finds nothing is final: nothing was debited, no attempt used.
        assert_eq!(run_once(&ctx.state, &policy, second).await.unwrap(), 1);
        let (session, t) = stored(&ctx, &token);
        assert_eq!((session.status.as_str(), session.attempts_used), ("PENDING", 0));
        assert_eq!((t.status.as_str(), t.error_code.as_deref(), t.counts_as_attempt), ("declined", Some("gateway_unavailable"), false));
        assert_eq!(reconciles_of(&gateway, &t), 2);
        assert_eq!(policy.backoff_after(30), policy.max_backoff, "capped");
        gateway.stop().await;
    }

    async fn two_workers_reconcile_each_stuck_transaction_once(ctx) {
        catalyst_gateway::install_crypto_provider();
        let port = free_port();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let gw = emp_gateway(&app, &tenant.secret_key, port).await;
        let mut stuck = Vec::new();
        for i in 0..6 {
            let token = new_session(&app, &tenant.restricted_key, direct(&gw, &format!("s{i}@example.com"))).await;
            send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE89370400440532013000"))).await;
            stuck.push(stored(&ctx, &token).1);
        }
        let gateway = fake::start(FakeConfig::default(), &format!("127.0.0.1:{port}")).await.unwrap();
        // A second server instance on the same database (its own state; the test shares the pool).
        let other = catalyst_api::AppState::new(ctx.db.store.clone(), catalyst_api::ApiConfig::new(BASE));
        let policy = RecoveryPolicy::default();
        let at = now() + policy.grace + Duration::seconds(1);
        let (a, b) = futures_util::future::join(run_once(&ctx.state, &policy, at), run_once(&other, &policy, at)).await;
        a.unwrap();
        b.unwrap();
        for t in &stuck {
            assert_eq!(reconciles_of(&gateway, t), 1, "{} reconciled once", t.merchant_transaction_id);
            assert_eq!(schedule(&ctx, t).0, 1);
        }
        gateway.stop().await;
    }
}
