//! `catalyst billing run` against the real binary: a subscription paid through the server is
//! renewed by a run for its billing date; `--dry-run` lists the renewal and writes nothing.

mod support;

use catalyst_store::test_support::TestDb;
use catalyst_store::{PaymentSession, Subscription};
use serde_json::{Value, json};
use support::{catalyst, count, free_port, start};

fn billing_run(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let run = |args: &[&str]| -> Value {
        let out = catalyst(&url, &key, &bind).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let demo = run(&["demo", "--json"]);

    // A monthly subscription, paid through the server.
    let mut serve = catalyst(&url, &key, &bind);
    serve.arg("serve");
    let server = start(serve, &bind);
    catalyst_gateway::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    let created: Value = http
        .post(format!("http://{bind}/api/v1/payment-sessions/"))
        .bearer_auth(demo["restricted_key"].as_str().unwrap())
        .json(&json!({"campaign_id": demo["recurring_campaign_id"],
                      "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["session_token"].as_str().unwrap();
    let paid: Value = http
        .post(format!(
            "http://{bind}/api/v1/payment-sessions/{token}/pay/"
        ))
        .json(&json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(paid["status"], "completed", "{paid}");
    drop(server);

    let subscription = db
        .store
        .read(|c| {
            let s = PaymentSession::find_by_token(c, token)?;
            Subscription::of_session(c, &s.id)
        })
        .unwrap()
        .unwrap();
    let due = subscription.next_billing_date.to_string();
    let transactions = "SELECT COUNT(*) AS n FROM transactions";
    let events = "SELECT COUNT(*) AS n FROM webhook_events";
    let before = (count(&db, transactions), count(&db, events));

    let dry = run(&["billing", "run", "--date", &due, "--dry-run", "--json"]);
    assert_eq!(
        (&dry["dry_run"], &dry["due"], &dry["collected"]),
        (&json!(true), &json!(1), &json!(0)),
        "{dry}"
    );
    // The pre-notification is due too (5 days before): listed first.
    let actions: Vec<&str> = dry["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        (actions, &dry["notices"]),
        (vec!["notice", "collect"], &json!(1))
    );
    assert_eq!(dry["items"][1]["subscription_id"], subscription.id.as_str());
    assert_eq!(dry["items"][1]["amount"], "9.99");
    assert_eq!(
        (count(&db, transactions), count(&db, events)),
        before,
        "a dry run writes nothing"
    );

    let report = run(&["billing", "run", "--date", &due, "--json"]);
    assert_eq!(
        (&report["due"], &report["collected"], &report["approved"]),
        (&json!(1), &json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(report["items"][1]["billing_period"], due.as_str());
    assert_eq!(report["items"][1]["outcome"], "approved");
    let renewed = db
        .store
        .read(|c| Subscription::find(c, &subscription.tenant_id, &subscription.id))
        .unwrap();
    assert_eq!(renewed.periods_billed, 2);
    assert!(renewed.next_billing_date > subscription.next_billing_date);
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) AS n FROM transactions WHERE subscription_id = '{}' AND kind = 'sdd_rebill'",
                subscription.id
            )
        ),
        1
    );

    // Run again for the same day: already collected.
    let again = run(&["billing", "run", "--date", &due, "--json"]);
    assert_eq!((&again["due"], &again["collected"]), (&json!(0), &json!(0)));

    // Bad input is a clear error.
    let out = catalyst(&url, &key, &bind)
        .args(["billing", "run", "--date", "2027-02-30"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--date"));
}

#[test]
fn billing_run_sqlite() {
    billing_run(TestDb::sqlite());
}

#[test]
fn billing_run_postgres() {
    if let Some(db) = TestDb::postgres() {
        billing_run(db);
    }
}
