//! A 500's log line carries the error's causes (the store error and the database's own
//! message), while the response body stays the uniform internal error. (Its own test binary:
//! it installs a global subscriber that records every line.)

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use common::*;
use diesel::RunQueryDsl;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn a_500_logs_the_source_of_the_store_error() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let ctx = Ctx::sqlite();
    let demo = ctx.demo();
    let app = ctx.app().await;
    let body = json!({"gateway_id": demo.gateway_id, "amount": "10.00", "currency": "EUR", "billing_type": "ONE_OFF",
                      "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}});
    let (status, _, created) = send(
        &app,
        post("/api/v1/payment-sessions/", body).auth(&demo.restricted_key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["session_token"].as_str().unwrap();

    // The sessions' table goes away under the server: reading a session is a database error.
    let mut conn = ctx.db.store.conn().unwrap();
    diesel::sql_query("ALTER TABLE payment_sessions RENAME TO payment_sessions_gone")
        .execute(&mut *conn)
        .unwrap();
    drop(conn);
    let (status, _, answer) = send(&app, get(&format!("/api/v1/payment-sessions/{token}/"))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer["code"], "internal_error");
    assert!(
        !answer.to_string().contains("payment_sessions"),
        "the body names no cause: {answer}"
    );

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("request failed"))
        .unwrap_or_else(|| panic!("no 500 log line: {log}"));
    assert!(
        line.contains(r#"source="database error: no such table: payment_sessions""#),
        "the 500's log line must carry the store error's cause: {line}"
    );
    assert!(line.contains("request_id="), "{line}");
}
