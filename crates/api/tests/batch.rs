//! `BATCH` gateways (bank-file collection, API.md §4): credentials validated on create, `/pay/`
//! records a pending collection that nothing sends and recovery never claims, on both backends.

mod common;

use actix_web::http::StatusCode;
use catalyst_api::recovery::{RecoveryPolicy, run_once};
use catalyst_store::{PaymentSession, Transaction};
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const GATEWAYS: &str = "/api/v1/gateways/";

fn credentials() -> Value {
    json!({"creditor_name": "Acme GmbH", "creditor_id": "DE98ZZZ09999999999",
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"})
}

fn gateway(credentials: Value) -> Value {
    json!({"name": "Bank file", "adapter": "BATCH", "creditor_name": "Acme GmbH",
        "creditor_identifier": "DE98ZZZ09999999999", "credentials": credentials})
}

api_test! {
    async fn batch_gateways_refuse_bad_credentials_with_a_field_error(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let cases = [
            ("creditor_id", json!("DE00ZZZ09999999999")),
            ("iban", json!("DE89370400440532013001")),
            ("bic", json!("COBA")),
            ("creditor_name", json!("")),
        ];
        for (field, value) in cases {
            let mut creds = credentials();
            creds[field] = value;
            let (status, _, body) = send(&app, post(GATEWAYS, gateway(creds)).auth(&tenant.secret_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
            assert!(body.to_string().contains(&format!("credentials.{field}")), "{field}: {body}");
        }
        let mut missing = credentials();
        missing.as_object_mut().unwrap().remove("bic");
        let (status, _, body) = send(&app, post(GATEWAYS, gateway(missing)).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("credentials.bic"), "{body}");
        let (status, _, body) = send(&app, post(GATEWAYS, json!({"name": "No creds", "adapter": "BATCH"})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(ctx.count("gateways WHERE adapter = 'BATCH'"), 0, "nothing saved");

        let (status, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        assert_eq!(gw["adapter"], "BATCH");
        assert!(!gw.to_string().contains("0532013000"), "the creditor IBAN is never shown: {gw}");
    }
}

api_test! {
    async fn pay_through_a_batch_gateway_leaves_a_pending_collection_recovery_does_not_touch(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let (status, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let body = json!({"gateway_id": gw["id"], "amount": "19.99", "currency": "EUR", "billing_type": "ONE_OFF",
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}});
        let (status, _, created) = send(&app, post(SESSIONS, body).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["session_token"].as_str().unwrap().to_owned();
        let (status, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        assert_eq!(status, StatusCode::OK, "{env}");
        assert_eq!(env["status"], "pending", "{env}");
        assert_eq!(env["retry_allowed"], Value::Null);
        assert_eq!(env["error"], Value::Null);
        assert_eq!(env["transaction"]["status"], "pending");
        assert_eq!(env["transaction"]["gateway_reference"], env["transaction"]["merchant_transaction_id"], "pending under our own id");

        let stored = || ctx.db.store.read(|c| {
            let s = PaymentSession::find_by_token(c, &token)?;
            let t = s.latest_transaction(c)?.expect("a transaction");
            Ok::<(PaymentSession, Transaction), catalyst_store::StoreError>((s, t))
        }).unwrap();
        let (session, t) = stored();
        assert_eq!((session.status.as_str(), t.status.as_str(), t.amount_minor), ("PAYMENT_IN_PROGRESS", "pending", 1999));
        assert_eq!(ctx.count("mandates"), 1, "the mandate is recorded");

        // Far in the future every pending transaction is due, yet a BATCH one is never claimed.
        let later = catalyst_store::now() + chrono::Duration::days(30);
        assert_eq!(run_once(&ctx.state, &RecoveryPolicy::default(), later).await.unwrap(), 0);
        let (_, after) = stored();
        assert_eq!(after.status, "pending");
        let schedule = ctx.db.store.read(|c| catalyst_store::recovery::schedule_of(c, &after.id)).unwrap();
        assert_eq!(schedule.0, 0, "never reconciled: {schedule:?}");
    }
}
