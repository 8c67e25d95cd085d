//! Two `catalyst billing run` processes started at the same moment on one database with 200
//! due subscriptions: each period is collected exactly once, whichever process claims it.
//! On SQLite (one writer at a time across processes) and on PostgreSQL (`FOR UPDATE SKIP
//! LOCKED` claims).

mod support;

use std::process::Stdio;

use catalyst_store::test_support::TestDb;
use chrono::Months;
use diesel::prelude::*;
use serde_json::{Value, json};
use support::{catalyst, count, free_port, start};

/// Due subscriptions.
const SUBSCRIPTIONS: usize = 200;
/// Client threads creating them.
const CLIENTS: usize = 4;

fn two_runs_collect_each_period_once(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let out = catalyst(&url, &key, &bind)
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let demo: Value = serde_json::from_slice(&out.stdout).unwrap();

    // Monthly subscriptions, created and paid through the server.
    let mut serve = catalyst(&url, &key, &bind);
    serve.arg("serve");
    let server = start(serve, &bind);
    catalyst_gateway::install_crypto_provider();
    std::thread::scope(|s| {
        for client in 0..CLIENTS {
            let (bind, demo) = (&bind, &demo);
            s.spawn(move || {
                let http = reqwest::blocking::Client::new();
                for i in (client..SUBSCRIPTIONS).step_by(CLIENTS) {
                    let created: Value = http
                        .post(format!("http://{bind}/api/v1/payment-sessions/"))
                        .bearer_auth(demo["restricted_key"].as_str().unwrap())
                        .json(&json!({"campaign_id": demo["recurring_campaign_id"],
                            "lead": {"first_name": "Ada", "last_name": "Lovelace",
                                     "email": format!("ada-{i}@example.com"), "country": "DE"}}))
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    let token = created["session_token"].as_str().expect("a session");
                    let paid: Value = http
                        .post(format!(
                            "http://{bind}/api/v1/payment-sessions/{token}/pay/"
                        ))
                        .json(&json!({"iban": "DE89370400440532013000",
                                      "iban_holder_name": "Ada Lovelace"}))
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    assert_eq!(paid["status"], "completed", "{paid}");
                }
            });
        }
    });
    drop(server);

    // Due today: the anchor one month back, so the period collected is today's.
    let today = chrono::Utc::now().date_naive();
    let anchor = today.checked_sub_months(Months::new(1)).unwrap();
    let due = {
        let mut conn = db.store.conn().unwrap();
        diesel::sql_query(format!(
            "UPDATE subscriptions SET anchor_date = '{anchor}', next_billing_date = '{today}', \
             collect_on = '{today}', notice_on = NULL WHERE status = 'ACTIVE' AND \
             periods_billed = 1"
        ))
        .execute(&mut *conn)
        .unwrap()
    };
    assert_eq!(due, SUBSCRIPTIONS);

    // Both at once.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            catalyst(&url, &key, &bind)
                .args(["billing", "run", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let reports: Vec<Value> = runs
        .into_iter()
        .map(|run| {
            let out = run.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    let collected: Vec<u64> = reports
        .iter()
        .map(|r| r["collected"].as_u64().unwrap())
        .collect();
    eprintln!("claims per process: {collected:?}");
    assert_eq!(
        collected.iter().sum::<u64>(),
        SUBSCRIPTIONS as u64,
        "every due subscription claimed by exactly one run: {collected:?}"
    );
    assert_eq!(
        reports
            .iter()
            .map(|r| r["approved"].as_u64().unwrap())
            .sum::<u64>(),
        SUBSCRIPTIONS as u64
    );

    // In the database: one renewal per subscription for today's period, approved, and every
    // subscription one period further.
    let renewals = format!(
        "SELECT COUNT(*) AS n FROM transactions WHERE kind = 'sdd_rebill' AND billing_period = \
         '{today}'"
    );
    assert_eq!(count(&db, &renewals), SUBSCRIPTIONS as i64);
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) AS n FROM subscriptions s WHERE (SELECT COUNT(*) FROM \
                 transactions t WHERE t.subscription_id = s.id AND t.billing_period = \
                 '{today}' AND t.status = 'approved') <> 1"
            )
        ),
        0,
        "a subscription without exactly one approved renewal"
    );
    let next = anchor.checked_add_months(Months::new(2)).unwrap();
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) AS n FROM subscriptions WHERE periods_billed = 2 AND \
                 next_billing_date = '{next}' AND collect_on = '{next}' AND status = 'ACTIVE'"
            )
        ),
        SUBSCRIPTIONS as i64,
        "every subscription advanced exactly one period"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = 'subscription.renewed'"
        ),
        SUBSCRIPTIONS as i64
    );
}

#[test]
fn two_billing_runs_at_once_on_sqlite() {
    two_runs_collect_each_period_once(TestDb::sqlite());
}

#[test]
fn two_billing_runs_at_once_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        two_runs_collect_each_period_once(db);
    }
}
