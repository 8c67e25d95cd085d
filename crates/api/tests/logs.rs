//! No IBAN, holder name, key or credential reaches the logs at any level during a payment.
//! (Its own test binary: it installs a global TRACE subscriber that records every line.)

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use common::*;
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
async fn a_payment_logs_no_personal_data_or_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
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
    for iban in [
        "DE76100000000000000503",
        "DE91100000000123456789",
        "DE89370400440532013000",
    ] {
        let (status, _, _) = send(
            &app,
            post(
                &format!("/api/v1/payment-sessions/{token}/pay/"),
                json!({"iban": iban, "iban_holder_name": "Zygmunt Quux"}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _, _) = send(
        &app,
        post(
            "/api/v1/iban-validate/",
            json!({"iban": "DE89370400440532013000"}),
        )
        .auth(&demo.restricted_key),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("request"),
        "the capture must have recorded the access log: {log}"
    );
    assert!(
        log.contains("gateway fault"),
        "the unreachable-gateway path must have logged: {log}"
    );
    // Every line logged while serving a request carries its id (the request span).
    for line in log.lines().filter(|l| l.contains("gateway fault")) {
        assert!(
            line.contains("request{request_id="),
            "a line without the request id: {line}"
        );
    }
    for secret in [
        "DE89370400440532013000",
        "DE8937040044",
        "370400440532013000",
        "DE76100000000000000503",
        "DE91100000000123456789",
        "Zygmunt",
        "Quux",
        token,
        demo.restricted_key.as_str(),
        demo.secret_key.as_str(),
    ] {
        assert!(
            !log.contains(secret),
            "{secret:?} appears in the logs:\n{log}"
        );
    }
}
