//! The sandbox gateway keeps its records in the database (`sandbox_ledger`), on both backends:
//! a debit paid on one server is verified, refunded, settled and renewed by a restarted server
//! or by another instance on the same database, which share nothing in memory with it.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use catalyst_api::AppState;
use catalyst_api::billing::{RunReport, run_once};
use catalyst_store::{Subscription, now};
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const APPROVED: &str = "DE89370400440532013000";
const VERIFY_APPROVES: &str = "DE92100000000000000700";
const VERIFY_DECLINES: &str = "DE65100000000000000701";
const REFUND_DECLINED: &str = "DE87100000000000000402";
const LATER_CHARGEBACK: &str = "DE43100000000000000806";
const FIRST_RENEWAL_DECLINED: &str = "DE71100000000000000205";
/// A valid IBAN outside the sandbox table: approved, a payer's account number.
const PAYER_IBAN: &str = "FR1420041010050500013M02606";

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

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

/// Creates a session of `campaign` and pays it with `iban`; the result envelope.
async fn pay(app: &impl TestApp, key: &str, campaign: &str, iban: &str) -> Value {
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let body = json!({"campaign_id": campaign, "lead": lead(&email)});
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap();
    let pay = json!({"iban": iban, "iban_holder_name": "Ada Lovelace"});
    let (status, _, env) = send(app, post(&format!("{SESSIONS}{token}/pay/"), pay)).await;
    assert_eq!(status, StatusCode::OK, "{env}");
    env
}

async fn verify(app: &impl TestApp, env: &Value) -> Value {
    let token = env["session_token"].as_str().unwrap();
    let (status, _, verified) =
        send(app, post(&format!("{SESSIONS}{token}/verify/"), json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    verified
}

async fn refund(app: &impl TestApp, key: &str, env: &Value, amount: &str) -> Value {
    let id = env["transaction"]["id"].as_str().unwrap();
    let path = format!("/api/v1/transactions/{id}/refund/");
    let (status, _, refund) = send(app, post(&path, json!({"amount": amount})).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{refund}");
    refund
}

fn outcome(env: &Value) -> (&str, &str) {
    (
        env["status"].as_str().unwrap(),
        env["transaction"]["status"].as_str().unwrap(),
    )
}

/// The subscription a paid recurring session started.
fn subscription(state: &AppState, env: &Value) -> Subscription {
    let id = env["subscription"]["id"].as_str().expect("a subscription");
    let tenant = env["transaction"]["id"].as_str().map(|t| {
        state
            .store
            .read(|c| catalyst_store::Transaction::by_id(c, &t.into()))
            .unwrap()
            .tenant_id
    });
    state
        .store
        .read(|c| Subscription::find(c, &tenant.unwrap(), &id.into()))
        .unwrap()
}

async fn bill(state: &AppState, date: chrono::NaiveDate) -> RunReport {
    run_once(state, date, now(), false).await.unwrap()
}

/// `(test_iban, renewal_of)` of the sandbox's record of a debit.
fn ledger_row(ctx: &Ctx, gateway_reference: &str) -> (Option<String>, Option<String>) {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        test_iban: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        renewal_of: Option<String>,
    }
    let mut conn = ctx.db.store.conn().unwrap();
    let row: Row = diesel::sql_query(format!(
        "SELECT test_iban, renewal_of FROM sandbox_ledger WHERE reference = '{gateway_reference}'"
    ))
    .get_result(&mut *conn)
    .unwrap();
    (row.test_iban, row.renewal_of)
}

api_test! {
    async fn a_restarted_server_verifies_refunds_settles_and_renews_sandbox_debits(ctx) {
        let demo = ctx.demo();
        let key = demo.restricted_key.as_str();
        let (one_off, recurring) = (demo.campaign_id.as_str(), demo.recurring_campaign_id.as_str());
        let before = ctx.app().await;
        let to_verify = pay(&before, key, one_off, VERIFY_APPROVES).await;
        let to_decline = pay(&before, key, one_off, VERIFY_DECLINES).await;
        assert_eq!(outcome(&to_verify), ("awaiting_verification", "pending"), "{to_verify}");
        assert_eq!(outcome(&to_decline), ("awaiting_verification", "pending"), "{to_decline}");
        let approved = pay(&before, key, one_off, APPROVED).await;
        let refund_declined = pay(&before, key, one_off, REFUND_DECLINED).await;
        let charged_back = pay(&before, key, one_off, LATER_CHARGEBACK).await;
        let renewing = pay(&before, key, recurring, FIRST_RENEWAL_DECLINED).await;
        for env in [&approved, &refund_declined, &charged_back, &renewing] {
            assert_eq!(outcome(env), ("completed", "approved"), "{env}");
        }
        // The first renewal is declined before the restart.
        let first_state = ctx.state.clone();
        let s = subscription(&first_state, &renewing);
        let due = s.next_billing_date;
        let first = bill(&first_state, due).await;
        assert_eq!((first.collected, first.declined), (1, 1), "{first:?}");
        drop(before);

        // The restart: a new state on its own store; nothing in memory survives.
        let restarted = ctx.other_instance();
        let after = app_on(restarted.clone()).await;
        let verified = verify(&after, &to_verify).await;
        assert_eq!(outcome(&verified), ("completed", "approved"), "{verified}");
        let declined = verify(&after, &to_decline).await;
        assert_eq!(declined["status"], "failed", "{declined}");
        assert_eq!(declined["error_details"]["gateway_code"], "MS02", "{declined}");

        let part = refund(&after, key, &approved, "10.00").await;
        assert_eq!(part["status"], "succeeded", "{part}");
        let rest = refund(&after, key, &approved, "19.99").await;
        assert_eq!(rest["status"], "succeeded", "{rest}");
        let bank_declined = refund(&after, key, &refund_declined, "5.00").await;
        assert_eq!((bank_declined["status"].as_str(), bank_declined["error_details"]["gateway_code"].as_str()),
                   (Some("failed"), Some("AC04")), "{bank_declined}");

        let (status, _, settled) = send(&after, post("/api/v1/sandbox/settle/", json!({})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK, "{settled}");
        assert_eq!(settled["settled"], 1, "{settled}");
        assert_eq!(settled["chargebacks"][0]["transaction_id"], charged_back["transaction"]["id"], "{settled}");

        // The dunning retry is the second renewal under the first collection: approved.
        let retry = bill(&restarted, due + chrono::Days::new(3)).await;
        assert_eq!((retry.collected, retry.approved), (1, 1), "{retry:?}");
        let first_collection = renewing["transaction"]["gateway_reference"].as_str().unwrap();
        assert_eq!(ctx.count(&format!("sandbox_ledger WHERE renewal_of = '{first_collection}'")), 2);
    }

    async fn two_instances_on_one_database_share_the_sandbox(ctx) {
        let demo = ctx.demo();
        let key = demo.restricted_key.as_str();
        let a = ctx.app().await;
        let b = app_on(ctx.other_instance()).await;
        // Paid on A, verified on B.
        let on_a = pay(&a, key, &demo.campaign_id, VERIFY_APPROVES).await;
        let verified = verify(&b, &on_a).await;
        assert_eq!(outcome(&verified), ("completed", "approved"), "{verified}");
        // Paid on B, refunded on A, then on B up to what is left.
        let on_b = pay(&b, key, &demo.campaign_id, PAYER_IBAN).await;
        assert_eq!(outcome(&on_b), ("completed", "approved"), "{on_b}");
        let first = refund(&a, key, &on_b, "20.00").await;
        assert_eq!(first["status"], "succeeded", "{first}");
        let second = refund(&b, key, &on_b, "9.99").await;
        assert_eq!(second["status"], "succeeded", "{second}");
        assert_eq!(ctx.count("sandbox_ledger"), 4, "two debits, two refunds");

        // The ledger keeps the sandbox table's test numbers, never a payer's IBAN.
        let test_reference = on_a["transaction"]["gateway_reference"].as_str().unwrap();
        assert_eq!(ledger_row(&ctx, test_reference), (Some(VERIFY_APPROVES.to_owned()), None));
        let payer_reference = on_b["transaction"]["gateway_reference"].as_str().unwrap();
        assert_eq!(ledger_row(&ctx, payer_reference), (None, None));
    }
}
