//! The optional OpenTelemetry export (feature `otel`): the real server, pointed at a stand-in
//! OTLP/HTTP collector, exports the `request` span of a request with its `X-Request-Id`.
//! Run with `cargo test -p catalyst --features otel --test otel` (`.ci/run` does).
#![cfg(feature = "otel")]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use catalyst_store::test_support::TestDb;
use support::{catalyst, free_port, start, until};

/// One request the collector received: its path and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal OTLP/HTTP collector: answers every request `200` with an empty protobuf message
/// and keeps what it got.
fn collector() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || serve_connection(stream, &sink));
        }
    });
    (format!("http://{addr}"), received)
}

fn serve_connection(stream: TcpStream, sink: &Received) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        sink.lock().unwrap().push((path, body));
        writer
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
            )
            .unwrap();
    }
}

fn exports_request_spans(db: TestDb) {
    let (endpoint, received) = collector();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let mut serve = catalyst(&db.url(), &key, &bind);
    serve
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "catalyst-under-test")
        // Export every 100 ms instead of every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .arg("serve");
    let _server = start(serve, &bind);

    catalyst_gateway::install_crypto_provider();
    let request_id = "otel-check-7f3a9c";
    let answer = reqwest::blocking::Client::new()
        .get(format!("http://{bind}/healthz"))
        .header("X-Request-Id", request_id)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);

    // OTLP protobuf carries strings as plain UTF-8 bytes: the span's attributes and the
    // resource's service name are findable without decoding the message.
    let contains =
        |body: &[u8], needle: &str| body.windows(needle.len()).any(|w| w == needle.as_bytes());
    let body = until("the request's span at the collector", || {
        received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| contains(body, request_id))
            .cloned()
    });
    assert_eq!(body.0, "/v1/traces");
    assert!(
        contains(&body.1, "catalyst-under-test"),
        "service name exported"
    );
    assert!(contains(&body.1, "request"), "the span's name exported");
}

#[test]
fn exports_request_spans_sqlite() {
    exports_request_spans(TestDb::sqlite());
}

#[test]
fn exports_request_spans_postgres() {
    if let Some(db) = TestDb::postgres() {
        exports_request_spans(db);
    }
}
