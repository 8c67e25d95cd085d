//! Webhook delivery across processes: a server killed (SIGKILL) while deliveries are in flight
//! loses no event once restarted, and two server instances on one PostgreSQL database deliver
//! each event once.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use catalyst_store::test_support::TestDb;
use catalyst_webhooks::test_receiver::Receiver;
use serde_json::{Value, json};
use support::{catalyst, free_port, start};

fn command(db_url: &str, key: &std::path::Path, bind: &str) -> Command {
    let mut cmd = catalyst(db_url, key, bind);
    cmd.env("CATALYST_WEBHOOK_LEASE_SECS", "2")
        .env("CATALYST_WEBHOOK_RETRY_SCALE", "0.001");
    cmd
}

/// Sets up the demo with the receiver as its webhook endpoint; returns its keys.
fn demo(db_url: &str, key: &std::path::Path, bind: &str, hook: &str) -> Value {
    let out = command(db_url, key, bind)
        .args(["demo", "--json", "--webhook-url", hook])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "catalyst demo failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Creates `n` sessions (each emits `order.created`); returns their tokens.
fn create_sessions(base: &str, demo: &Value, n: usize) -> Vec<String> {
    catalyst_gateway::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    (0..n)
        .map(|i| {
            let res: Value = http
                .post(format!("{base}/api/v1/payment-sessions/"))
                .bearer_auth(demo["restricted_key"].as_str().unwrap())
                .json(&json!({"campaign_id": demo["campaign_id"],
                              "lead": {"first_name": "A", "last_name": "B", "email": format!("p{i}@example.com"), "country": "DE"}}))
                .send()
                .unwrap()
                .json()
                .unwrap();
            res["session_token"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Delivery counts per event id for `order.created`.
fn order_created_counts(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in receiver.received() {
        if r.header("x-catalystpay-event") == Some("order.created") {
            *counts
                .entry(r.header("x-catalystpay-delivery").unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    counts
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn killed_while_delivering_then_restarted(db: TestDb) {
    let receiver = Receiver::start().unwrap();
    receiver.set_delay(Duration::from_millis(1500));
    let (url, dir) = (db.url(), tempfile::tempdir().unwrap());
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let demo = demo(&url, &key, &bind, &receiver.url("/hook"));
    let mut first = start(command(&url, &key, &bind), &bind);
    let sessions = create_sessions(&format!("http://{bind}"), &demo, 12);
    // Wait until deliveries are in flight (the receiver holds each answer 1.5 s), then kill.
    wait_until("deliveries in flight", Duration::from_secs(20), || {
        !receiver.received().is_empty()
    });
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    receiver.set_delay(Duration::ZERO);
    let _second = start(command(&url, &key, &bind), &bind);
    wait_until(
        "every order.created delivered",
        Duration::from_secs(40),
        || order_created_counts(&receiver).len() == sessions.len(),
    );
    let counts = order_created_counts(&receiver);
    assert_eq!(counts.len(), sessions.len(), "no event lost");
    assert!(counts.values().all(|n| *n >= 1));
    // Everything ends delivered in the database.
    let pending: i64 = {
        use catalyst_store::schema::webhook_deliveries::dsl::*;
        use diesel::prelude::*;
        let mut conn = db.store.conn().unwrap();
        wait_until("the outbox to drain", Duration::from_secs(20), || {
            webhook_deliveries
                .filter(status.ne("delivered"))
                .count()
                .get_result::<i64>(&mut *conn)
                .unwrap()
                == 0
        });
        webhook_deliveries
            .filter(status.ne("delivered"))
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    assert_eq!(pending, 0);
}

#[test]
fn killed_while_delivering_then_restarted_on_sqlite() {
    killed_while_delivering_then_restarted(TestDb::sqlite());
}

#[test]
fn killed_while_delivering_then_restarted_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        killed_while_delivering_then_restarted(db);
    }
}

#[test]
fn two_instances_on_postgres_deliver_each_event_once() {
    let Some(db) = TestDb::postgres() else { return };
    let receiver = Receiver::start().unwrap();
    receiver.set_delay(Duration::from_millis(50));
    let (url, dir) = (db.url(), tempfile::tempdir().unwrap());
    let key = dir.path().join("catalyst.key");
    let (a, b) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let demo = demo(&url, &key, &a, &receiver.url("/hook"));
    let mut lease = command(&url, &key, &a);
    lease.env("CATALYST_WEBHOOK_LEASE_SECS", "60");
    let _one = start(lease, &a);
    let mut lease = command(&url, &key, &b);
    lease.env("CATALYST_WEBHOOK_LEASE_SECS", "60");
    let _two = start(lease, &b);
    let mut tokens = create_sessions(&format!("http://{a}"), &demo, 20);
    tokens.extend(create_sessions(&format!("http://{b}"), &demo, 20));
    wait_until(
        "every order.created delivered",
        Duration::from_secs(40),
        || order_created_counts(&receiver).len() == tokens.len(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let counts = order_created_counts(&receiver);
    assert_eq!(counts.len(), 40);
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "delivered more than once: {duplicated:?}"
    );
}
