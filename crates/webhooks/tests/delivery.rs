//! Deliveries over real HTTP to a one-request receiver on 127.0.0.1, verified with the crate's
//! `verify` and with the README's Python snippet.

mod common;

use std::time::Duration;

use catalyst_webhooks::{
    DeliveryMethod, EndpointSpec, Method, Outgoing, Scheme, VerifyError, canonical_json, header,
    map_payload, send, unix_now, verify, verify_at,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const SECRET: &str = "whsec_Zk3v9QpL2mN8xR4t";
const TOLERANCE: Duration = Duration::from_secs(300);

fn client() -> reqwest::Client {
    // When the workspace enables reqwest's `rustls-no-provider`, a client needs a provider.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("test client")
}

/// One request as the receiver saw it.
#[derive(Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        catalyst_webhooks::HeaderLookup::header(&self.headers, name)
    }
}

enum Reply {
    Status(u16),
    /// Read the request, then never answer.
    Hang,
}

/// Accepts one connection, reads one request, replies; the request comes back on the channel.
async fn receiver(reply: Reply) -> (String, oneshot::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let received = read_request(&mut stream).await;
        let _ = tx.send(received);
        match reply {
            Reply::Status(code) => {
                let response = format!(
                    "HTTP/1.1 {code} Test\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Reply::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
        }
    });
    (base, rx)
}

async fn read_request(stream: &mut TcpStream) -> Received {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed before the end of the headers");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().expect("request line").split(' ');
    let method = request_line.next().expect("method").to_owned();
    let target = request_line.next().expect("target").to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    let length: usize = catalyst_webhooks::HeaderLookup::header(&headers, "content-length")
        .map_or(0, |v| v.parse().expect("content-length"));
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "connection closed before the end of the body");
        body.extend_from_slice(&chunk[..n]);
    }
    Received {
        method,
        target,
        headers,
        body,
    }
}

fn endpoint(url: String, delivery_method: DeliveryMethod) -> EndpointSpec {
    EndpointSpec {
        url,
        delivery_method,
        payload_mapping: None,
    }
}

fn payload() -> Value {
    json!({
        "session_token": "ps_2x8KqL",
        "status": "COMPLETED",
        "order_number": "ORD-1001",
        "amount": "49.90",
        "currency": "EUR",
        "email": "jürgen.müller@example.de",
        "tenant_reference_id": null,
        "metadata": {"campaign": "été 😀", "lines": [{"sku": "日本", "amount": "49.90"}]},
        "lead": {"email": "zoë@example.com", "phone": null}
    })
}

/// The README's Python verification function, exactly as documented.
fn readme_python() -> &'static str {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```python\n")
        .expect("a python block in the README")
        + 10;
    let len = readme[start..]
        .find("```")
        .expect("end of the python block");
    &readme[start..start + len]
}

struct PyCase<'a> {
    headers: &'a [(String, String)],
    body: &'a [u8],
    secret: &'a str,
}

/// For each case: the README snippet's verdict, and whether the legacy signature matches the
/// re-serialized body (what merchants' existing `json.dumps(..., sort_keys=True)` verifiers do).
fn python_verdicts(cases: &[PyCase<'_>]) -> Vec<(bool, bool)> {
    let driver = r#"
import json, sys
for case in json.load(sys.stdin):
    headers, body, secret = dict(case["headers"]), bytes.fromhex(case["body"]), case["secret"]
    ok = verify_catalyst_webhook(headers, body, secret)
    legacy = {k.lower(): v for k, v in headers.items()}.get("x-catalystpay-signature", "")
    reserialized = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    digest = hmac.new(secret.encode(), reserialized.encode(), hashlib.sha256).hexdigest()
    print(ok, hmac.compare_digest(digest, legacy))
"#;
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            let hex: String = c.body.iter().map(|b| format!("{b:02x}")).collect();
            json!({"headers": c.headers, "body": hex, "secret": c.secret})
        })
        .collect();
    let script = format!("{}\n{driver}", readme_python());
    let stdin = serde_json::to_vec(&input).expect("json");
    common::python(&script, &[], &stdin)
        .lines()
        .map(|line| match line {
            "True True" => (true, true),
            "True False" => (true, false),
            "False True" => (false, true),
            "False False" => (false, false),
            other => panic!("unexpected python output {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn json_post_is_verified_by_rust_and_the_readme_python() {
    let (base, rx) = receiver(Reply::Status(200)).await;
    let spec = endpoint(format!("{base}/hooks/catalyst"), DeliveryMethod::JsonPost);
    let now = unix_now();
    let out = Outgoing::render(
        "evt_01JDW",
        "payment_session.completed",
        &payload(),
        &spec,
        SECRET,
        now,
    )
    .expect("render");

    let attempt = send(&client(), &out, Duration::from_secs(10)).await;
    assert!(attempt.success, "{attempt:?}");
    assert_eq!(attempt.status_code, Some(200));
    assert_eq!(attempt.error, None);

    let got = rx.await.expect("request received");
    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/hooks/catalyst");
    let canonical = canonical_json(&payload()).expect("canonical");
    assert!(canonical.is_ascii());
    assert_eq!(got.body, canonical.as_bytes());
    let expected_headers = [
        ("content-type", "application/json".to_string()),
        ("user-agent", "CatalystPay-Webhook/1.0".to_string()),
        (
            "x-catalystpay-event",
            "payment_session.completed".to_string(),
        ),
        ("x-catalystpay-delivery", "evt_01JDW".to_string()),
        ("x-catalystpay-timestamp", now.to_string()),
        (
            "x-catalystpay-signature",
            catalyst_webhooks::sign(SECRET, canonical.as_bytes()),
        ),
        (
            "x-catalystpay-signature-v2",
            catalyst_webhooks::sign_v2(SECRET, now, canonical.as_bytes()),
        ),
    ];
    for (name, value) in &expected_headers {
        assert_eq!(got.header(name), Some(value.as_str()), "{name}");
    }

    // The crate's own verifier, on what arrived.
    let verified = verify(&got.headers, &got.body, SECRET, TOLERANCE).expect("authentic");
    assert_eq!(verified.scheme, Scheme::V2);
    assert_eq!(verified.timestamp, Some(now));
    assert_eq!(verified.delivery_id.as_deref(), Some("evt_01JDW"));
    let legacy_only: Vec<(String, String)> = got
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(header::SIGNATURE_V2))
        .cloned()
        .collect();
    assert_eq!(
        verify(&legacy_only, &got.body, SECRET, TOLERANCE)
            .expect("legacy")
            .scheme,
        Scheme::Legacy
    );

    // A delivery signed an hour ago, as a replay.
    let old = Outgoing::render(
        "evt_01JDW",
        "payment_session.completed",
        &payload(),
        &spec,
        SECRET,
        now - 3600,
    )
    .expect("render");
    assert!(matches!(
        verify(&old.headers, &got.body, SECRET, TOLERANCE),
        Err(VerifyError::StaleTimestamp { .. })
    ));

    // The README's Python snippet, on the same bytes.
    let tampered = String::from_utf8(got.body.clone())
        .expect("ascii")
        .replace("49.90", "0.01");
    let verdicts = python_verdicts(&[
        PyCase {
            headers: &got.headers,
            body: &got.body,
            secret: SECRET,
        },
        PyCase {
            headers: &got.headers,
            body: tampered.as_bytes(),
            secret: SECRET,
        },
        PyCase {
            headers: &legacy_only,
            body: &got.body,
            secret: SECRET,
        },
        PyCase {
            headers: &old.headers,
            body: &got.body,
            secret: SECRET,
        },
        PyCase {
            headers: &got.headers,
            body: &got.body,
            secret: "whsec_wrong",
        },
    ]);
    assert_eq!(
        verdicts,
        [
            (true, true),   // V2 valid; re-serializing verifiers agree with the raw body
            (false, false), // tampered
            (true, true),   // legacy header only
            (false, true),  // V2 an hour old: rejected (its legacy signature is still valid)
            (false, false), // wrong secret
        ]
    );
}

#[tokio::test]
async fn url_params_get_with_payload_mapping() {
    let (base, rx) = receiver(Reply::Status(204)).await;
    let mut spec = endpoint(
        format!("{base}/cb.php?src=catalyst"),
        DeliveryMethod::UrlParams,
    );
    let mapping = [
        ("email", "lead.email"),
        ("amount", "amount"),
        ("first_sku", "metadata.lines.0.sku"),
        ("phone", "lead.phone"),
        ("missing", "lead.fax"),
        ("meta", "metadata"),
    ];
    spec.payload_mapping = Some(
        mapping
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let now = unix_now();
    let out =
        Outgoing::render("evt_2", "order.created", &payload(), &spec, SECRET, now).expect("render");
    assert_eq!(out.method, Method::Get);

    let attempt = send(&client(), &out, Duration::from_secs(10)).await;
    assert!(attempt.success, "{attempt:?}");
    assert_eq!(attempt.status_code, Some(204));

    let got = rx.await.expect("request received");
    assert_eq!(got.method, "GET");
    assert!(got.body.is_empty());
    assert_eq!(got.header("content-type"), None);
    assert_eq!(got.header("user-agent"), Some("CatalystPay-Webhook/1.0"));
    assert_eq!(got.header("x-catalystpay-event"), Some("order.created"));
    let (path, query) = got.target.split_once('?').expect("a query");
    assert_eq!(path, "/cb.php");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let expected = [
        ("src", "catalyst"),
        ("amount", "49.90"),
        ("email", "zoë@example.com"),
        ("first_sku", "日本"),
        ("meta.campaign", "été 😀"),
        ("meta.lines.0.amount", "49.90"),
        ("meta.lines.0.sku", "日本"),
        ("missing", ""),
        ("phone", ""),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(params, expected);

    // The signatures cover the canonical JSON of the mapped payload.
    let mapped = map_payload(&payload(), spec.payload_mapping.as_ref().expect("mapping"));
    assert_eq!(mapped["missing"], Value::Null);
    let signed = canonical_json(&mapped).expect("canonical");
    let verified = verify(&got.headers, signed.as_bytes(), SECRET, TOLERANCE).expect("authentic");
    assert_eq!(verified.scheme, Scheme::V2);
    let verdicts = python_verdicts(&[PyCase {
        headers: &got.headers,
        body: signed.as_bytes(),
        secret: SECRET,
    }]);
    assert_eq!(verdicts, [(true, true)]);
}

#[tokio::test]
async fn server_error_is_not_success() {
    let (base, rx) = receiver(Reply::Status(500)).await;
    let spec = endpoint(format!("{base}/h"), DeliveryMethod::JsonPost);
    let out =
        Outgoing::render("evt_3", "order.created", &json!({}), &spec, SECRET, 0).expect("render");
    let attempt = send(&client(), &out, Duration::from_secs(10)).await;
    assert_eq!(attempt.status_code, Some(500));
    assert!(!attempt.success);
    assert_eq!(attempt.error, None);
    assert!(rx.await.is_ok());
}

/// Accepts one connection, reads the request, then answers 200 with an endless chunked body
/// until the client hangs up; sends back how many body bytes the socket accepted.
async fn endless_receiver() -> (String, oneshot::Receiver<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_request(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        let mut chunk = b"10000\r\n".to_vec();
        chunk.extend_from_slice(&[b'x'; 0x10000]);
        chunk.extend_from_slice(b"\r\n");
        let mut sent = 0u64;
        if stream.write_all(head.as_bytes()).await.is_ok() {
            while stream.write_all(&chunk).await.is_ok() {
                sent += 0x10000;
            }
        }
        let _ = tx.send(sent);
    });
    (base, rx)
}

#[tokio::test]
async fn endless_response_body_is_not_read() {
    let (base, rx) = endless_receiver().await;
    let spec = endpoint(format!("{base}/h"), DeliveryMethod::JsonPost);
    let out =
        Outgoing::render("evt_6", "order.created", &json!({}), &spec, SECRET, 0).expect("render");
    let attempt = send(&client(), &out, Duration::from_secs(10)).await;
    assert_eq!(attempt.error, None);
    assert_eq!((attempt.status_code, attempt.success), (Some(200), true));
    // The connection is dropped with the response: the receiver's writes fail once the socket
    // buffers (a few MB) are full.
    let sent = rx.await.expect("the receiver stopped");
    println!("the socket accepted {sent} bytes of an endless body");
    assert!(sent < 32 * 1024 * 1024, "{sent}");
}

#[tokio::test]
async fn redirect_is_not_success() {
    let (base, _rx) = receiver(Reply::Status(302)).await;
    let spec = endpoint(format!("{base}/h"), DeliveryMethod::JsonPost);
    let out =
        Outgoing::render("evt_3", "order.created", &json!({}), &spec, SECRET, 0).expect("render");
    let attempt = send(&client(), &out, Duration::from_secs(10)).await;
    assert_eq!((attempt.status_code, attempt.success), (Some(302), false));
}

#[tokio::test]
async fn hanging_endpoint_times_out() {
    let (base, rx) = receiver(Reply::Hang).await;
    let spec = endpoint(
        format!("{base}/slow?token=s3cr3t"),
        DeliveryMethod::JsonPost,
    );
    let out = Outgoing::render("evt_4", "order.created", &json!({"a": 1}), &spec, SECRET, 0)
        .expect("render");
    let timeout = Duration::from_millis(500);
    let attempt = send(&client(), &out, timeout).await;
    assert!(!attempt.success);
    assert_eq!(attempt.status_code, None);
    let error = attempt.error.expect("an error");
    assert!(error.contains("timed out"), "{error}");
    assert!(!error.contains("s3cr3t"), "{error}");
    assert!(
        attempt.latency >= timeout && attempt.latency < timeout + Duration::from_secs(2),
        "{:?}",
        attempt.latency
    );
    // The request did arrive in full before the receiver went quiet.
    assert_eq!(rx.await.expect("received").body, br#"{"a":1}"#);
}

#[tokio::test]
async fn refused_connection_is_an_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let spec = endpoint(
        format!("http://127.0.0.1:{port}/h?email=a@b"),
        DeliveryMethod::JsonPost,
    );
    let out =
        Outgoing::render("evt_5", "order.created", &json!({}), &spec, SECRET, 0).expect("render");
    let attempt = send(&client(), &out, Duration::from_secs(10)).await;
    assert!(!attempt.success);
    assert_eq!(attempt.status_code, None);
    // A fixed text: the OS's "Connection refused" would tell closed ports from open ones.
    assert_eq!(attempt.error.as_deref(), Some("connection failed"));
    let detail = attempt.detail.expect("the operator's detail");
    assert!(detail.contains("refused"), "{detail}");
    assert!(!detail.contains("a@b"), "{detail}");
    assert!(attempt.latency < Duration::from_secs(5));
}

/// A resolver that refuses every name, as Catalyst's refuses non-public targets.
struct Refusing;

impl reqwest::dns::Resolve for Refusing {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "not allowed").into())
        })
    }
}

#[tokio::test]
async fn a_refused_target_is_logged_with_a_fixed_text() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let spec = endpoint(
        format!("http://localhost:{port}/h"),
        DeliveryMethod::JsonPost,
    );
    let out =
        Outgoing::render("evt_8", "order.created", &json!({}), &spec, SECRET, 0).expect("render");
    let _ = client();
    let refusing = reqwest::Client::builder()
        .dns_resolver(Refusing)
        .no_proxy()
        .build()
        .expect("client");
    let attempt = send(&refusing, &out, Duration::from_secs(10)).await;
    assert!(!attempt.success);
    assert_eq!(
        attempt.error.as_deref(),
        Some(catalyst_webhooks::TARGET_NOT_ALLOWED)
    );
    assert!(matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
}

#[tokio::test]
async fn unsendable_request_is_an_error_not_a_panic() {
    let out = Outgoing {
        method: Method::Post,
        url: "not a url".into(),
        headers: vec![("X-Bad\n".into(), "v".into())],
        body: None,
    };
    let attempt = send(&client(), &out, Duration::from_secs(1)).await;
    assert!(!attempt.success);
    assert!(attempt.error.is_some());
}

#[test]
fn retries_keep_the_delivery_id_and_body_and_re_sign() {
    let spec = endpoint("https://m.example/h".into(), DeliveryMethod::JsonPost);
    let render = |ts| {
        Outgoing::render("evt_6", "order.created", &payload(), &spec, SECRET, ts).expect("render")
    };
    let (first, retry) = (render(1_000), render(1_060));
    assert_eq!(first.body, retry.body);
    assert_eq!(
        first.header("X-CatalystPay-Delivery"),
        retry.header("X-CatalystPay-Delivery")
    );
    assert_eq!(
        first.header(header::SIGNATURE),
        retry.header(header::SIGNATURE)
    );
    assert_ne!(
        first.header(header::SIGNATURE_V2),
        retry.header(header::SIGNATURE_V2)
    );
    let body = retry.body.as_deref().unwrap_or_default();
    assert!(verify_at(&retry.headers, body, SECRET, TOLERANCE, 1_060).is_ok());
}
