//! Crash safety: the server is killed (SIGKILL) while the gateway call is in flight; after a
//! restart the recovery worker finishes the payment from the gateway's record. One debit at the
//! gateway, session and order in their final states, nothing duplicated. EMP adapter against the
//! fake Genesis server, on SQLite and on PostgreSQL.

mod support;

use catalyst_domain::status::OrderStatus;
use catalyst_domain::status::SessionStatus;
use std::process::{Command, Stdio};
use std::time::Duration;

use catalyst_gateway::fake::{self, FakeConfig};
use catalyst_store::test_support::TestDb;
use catalyst_store::{PaymentSession, Transaction};
use serde_json::{Value, json};
use support::{catalyst, free_port, start, until};

fn command(db_url: &str, key: &std::path::Path, bind: &str) -> Command {
    let mut cmd = catalyst(db_url, key, bind);
    cmd.env("CATALYST_LIVEMODE", "true")
        .env("CATALYST_ALLOW_PRIVATE_TARGETS", "true") // the fake Genesis listens on 127.0.0.1
        .env("CATALYST_RECOVERY_INTERVAL_SECS", "1");
    cmd
}

fn killed_mid_payment_then_recovered(db: TestDb) {
    catalyst_gateway::install_crypto_provider();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let gateway = runtime
        .block_on(fake::start(
            FakeConfig {
                delay: Duration::from_secs(3),
                ..Default::default()
            },
            "127.0.0.1:0",
        ))
        .unwrap();
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");

    let out = command(&url, &key, &bind)
        .args(["tenant", "create", "--name", "Crash GmbH", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let tenant: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (sk, rk) = (
        tenant["secret_key"].as_str().unwrap(),
        tenant["restricted_key"].as_str().unwrap(),
    );

    // First life: a long grace, so only the restarted server's worker may take the payment over.
    let mut first = start(command(&url, &key, &bind), &bind);
    let http = reqwest::blocking::Client::new();
    let credentials: Value = serde_json::from_str(&gateway.credentials_json()).unwrap();
    let gw: Value = http.post(format!("{base}/api/v1/gateways/")).bearer_auth(sk)
        .json(&json!({"name": "EMP (fake)", "adapter": "EMP", "test_mode": true, "credentials": credentials}))
        .send().unwrap().json().unwrap();
    assert!(gw["id"].is_string(), "{gw}");
    let session: Value = http.post(format!("{base}/api/v1/payment-sessions/")).bearer_auth(rk)
        .json(&json!({"gateway_id": gw["id"], "amount": "12.34", "currency": "EUR", "billing_type": "ONE_OFF",
                      "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}}))
        .send().unwrap().json().unwrap();
    let token = session["session_token"].as_str().unwrap().to_owned();

    let pay_url = format!("{base}/api/v1/payment-sessions/{token}/pay/");
    let payer = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .post(pay_url)
            .json(&json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))
            .send()
    });
    until("the gateway to record the debit", || {
        (gateway.transactions().len() == 1).then_some(())
    });
    first.0.kill().unwrap(); // SIGKILL while the gateway is still delaying its answer
    first.0.wait().unwrap();
    assert!(
        payer.join().unwrap().is_err(),
        "the customer's connection died with the server"
    );

    let stored = db
        .store
        .read(|c| PaymentSession::find_by_token(c, &token))
        .unwrap();
    assert_eq!(stored.status, SessionStatus::PaymentInProgress);
    let pending = db
        .store
        .read(|c| stored.latest_transaction(c))
        .unwrap()
        .unwrap();
    assert_eq!(
        (pending.status.as_str(), pending.gateway_reference.clone()),
        ("pending", None)
    );

    // Second life: the recovery worker reconciles the pending transaction with the gateway.
    let mut restarted = command(&url, &key, &bind);
    restarted.env("CATALYST_RECOVERY_GRACE_SECS", "1");
    let _second = start(restarted, &bind);
    // Polled ten times a second: beyond the `browser_read` burst, some answers are 429s.
    let status = until("the session to complete", || {
        let response = http
            .get(format!("{base}/api/v1/payment-sessions/{token}/"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())?;
        let s: Value = response.json().ok()?;
        let status = s["status"].as_str()?;
        (status != "PAYMENT_IN_PROGRESS").then(|| status.to_owned())
    });
    assert_eq!(status, "COMPLETED");

    let at_gateway = gateway.transactions();
    assert_eq!(at_gateway.len(), 1, "exactly one debit at the gateway");
    assert_eq!(
        (at_gateway[0].transaction_id.as_str(), at_gateway[0].amount),
        (pending.merchant_transaction_id.as_str(), 1234)
    );
    let done = db
        .store
        .read(|c| Transaction::by_id(c, &pending.id))
        .unwrap();
    assert_eq!(
        (done.status.as_str(), done.gateway_reference.as_deref()),
        ("approved", Some(at_gateway[0].unique_id.as_str()))
    );
    let order = db
        .store
        .read(|c| catalyst_store::Order::find_by_session(c, &stored.id))
        .unwrap();
    assert_eq!(order.status, OrderStatus::Completed);
    let transactions = db
        .store
        .read(|c| {
            Transaction::page(
                c,
                &stored.tenant_id,
                &catalyst_store::PageRequest {
                    size: 10,
                    cursor: None,
                },
            )
        })
        .unwrap();
    assert_eq!(transactions.items.len(), 1, "nothing duplicated");
    // Paying again is refused: the session is final.
    let again = http
        .post(format!("{base}/api/v1/payment-sessions/{token}/pay/"))
        .json(&json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))
        .send()
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);
    runtime.block_on(gateway.stop());
}

#[test]
fn killed_mid_payment_then_recovered_on_sqlite() {
    killed_mid_payment_then_recovered(TestDb::sqlite());
}

#[test]
fn killed_mid_payment_then_recovered_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        killed_mid_payment_then_recovered(db);
    }
}
