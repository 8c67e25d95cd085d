//! The EMP adapter against a hostile Genesis on 127.0.0.1: replies nested 60,000 deep, a
//! 100 MB reply, an endless chunked reply. Each ends in a `GatewayError` after the
//! reconcile-before-error rule, never in a crash, and oversized bodies are not read.

use std::sync::Arc;
use std::time::Duration;

use catalyst_domain::secret::Secret;
use catalyst_gateway::body::MAX_GATEWAY_RESPONSE_BYTES;
use catalyst_gateway::emp::{EmpAdapter, EmpCredentials};
use catalyst_gateway::fake::{self, FakeConfig};
use catalyst_gateway::{DebitRequest, GatewayAdapter, GatewayError, GatewayOutcome, http_client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Bytes the hostile server tries to send in a [`Reply::Huge`] answer.
const HUGE: u64 = 100 * 1024 * 1024;

const UNIQUE_ID: &str = "5e2cbbad71d2b13432323153c208223a";

/// What the hostile server answers to one path.
#[derive(Debug, Clone, Copy)]
enum Reply {
    /// HTTP 200, 60,000 nested elements (420 KB).
    Deep,
    /// HTTP 200 announcing and sending [`HUGE`] bytes.
    Huge,
    /// HTTP 200, chunked, never ending.
    Endless,
    /// HTTP 200, an approved `payment_response` for the debit.
    Approved,
}

/// One answered request: its path and how many response bytes the client accepted.
#[derive(Debug)]
struct Served {
    path: String,
    sent: u64,
}

/// Serves every connection: `/process/` requests get `process`, the others (reconcile,
/// notifications) `reconcile`.
async fn hostile(process: Reply, reconcile: Reply) -> (String, mpsc::UnboundedReceiver<Served>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let served = serve(stream, process, reconcile).await;
                let _ = tx.send(served);
            });
        }
    });
    (base, rx)
}

async fn serve(mut stream: TcpStream, process: Reply, reconcile: Reply) -> Served {
    let path = read_request(&mut stream).await;
    let reply = if path.starts_with("/process/") {
        process
    } else {
        reconcile
    };
    let sent = match reply {
        Reply::Deep => {
            // Short names keep it under the size cap, so the depth bound must catch it.
            let depth = 60_000;
            let body = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
            assert!(body.len() < MAX_GATEWAY_RESPONSE_BYTES);
            answer(&mut stream, &body).await
        }
        Reply::Approved => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<payment_response>\
                 <transaction_type>sdd_sale</transaction_type><status>approved</status>\
                 <unique_id>{UNIQUE_ID}</unique_id><transaction_id>TXN-HOSTILE</transaction_id>\
                 </payment_response>"
            );
            answer(&mut stream, &body).await
        }
        Reply::Huge => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {HUGE}\r\nconnection: close\r\n\r\n"
            );
            let chunk = vec![b'x'; 64 * 1024];
            flood(&mut stream, head.as_bytes(), &chunk, Some(HUGE)).await
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
            let mut chunk = b"10000\r\n".to_vec();
            chunk.extend_from_slice(&[b'x'; 0x10000]);
            chunk.extend_from_slice(b"\r\n");
            flood(&mut stream, head.as_bytes(), &chunk, None).await
        }
    };
    Served { path, sent }
}

/// Writes a complete answer; the count is of body bytes written.
async fn answer(stream: &mut TcpStream, body: &str) -> u64 {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    match stream.write_all(body.as_bytes()).await {
        Ok(()) => u64::try_from(body.len()).expect("small"),
        Err(_) => 0,
    }
}

/// Writes `head`, then chunks until `total` body bytes are out or the client hangs up; returns
/// the body bytes the socket accepted.
async fn flood(stream: &mut TcpStream, head: &[u8], chunk: &[u8], total: Option<u64>) -> u64 {
    if stream.write_all(head).await.is_err() {
        return 0;
    }
    let mut sent = 0u64;
    while total.is_none_or(|t| sent < t) {
        match stream.write_all(chunk).await {
            Ok(()) => sent += u64::try_from(chunk.len()).expect("small"),
            Err(_) => break,
        }
    }
    sent
}

/// Reads one request (head and `content-length` body) and returns its path.
async fn read_request(stream: &mut TcpStream) -> String {
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
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| {
            value.trim().parse().expect("content-length")
        });
    let mut body = buf.len() - head_end - 4;
    while body < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "connection closed before the end of the body");
        body += n;
    }
    head.split(' ').nth(1).expect("request target").to_owned()
}

/// An adapter for the hostile server at `base` (terminal token `t`).
fn adapter(base: &str) -> Arc<dyn GatewayAdapter> {
    emp(&format!(
        r#"{{"username":"u","password":"p","terminal_token":"t","endpoint":"{base}"}}"#
    ))
}

fn emp(credentials_json: &str) -> Arc<dyn GatewayAdapter> {
    let credentials = EmpCredentials::from_json(credentials_json).expect("credentials");
    let adapter = EmpAdapter::new(
        credentials,
        true,
        None,
        http_client(Duration::from_secs(30)),
    )
    .expect("adapter");
    Arc::new(adapter)
}

fn debit() -> DebitRequest {
    let mut req = DebitRequest::example("TXN-HOSTILE");
    req.iban = Some(Secret::new("DE89370400440532013000".into()));
    req
}

/// Both requests of a debit whose answer was unusable: the process and the reconcile.
async fn served_pair(rx: &mut mpsc::UnboundedReceiver<Served>) -> Vec<Served> {
    let mut served = vec![
        rx.recv().await.expect("process served"),
        rx.recv().await.expect("reconcile served"),
    ];
    served.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(served[0].path, "/process/t/");
    assert_eq!(served[1].path, "/reconcile/t/");
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_reply_is_an_error_on_a_small_stack() {
    let (base, mut rx) = hostile(Reply::Deep, Reply::Deep).await;
    // 256 KiB of stack: recursing over 60,000 levels would need megabytes.
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async { adapter(&base).debit(&debit()).await })
        })
        .expect("spawn");
    let result = tokio::task::spawn_blocking(move || worker.join())
        .await
        .expect("join task")
        .expect("the debit thread did not crash");
    match result {
        Err(GatewayError::Protocol(message)) => {
            assert!(message.contains("deeper than 32 levels"), "{message}");
            assert!(message.contains("HTTP 200"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The 2xx answer was unreadable, so the debit was reconciled before the error.
    served_pair(&mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_reply_is_refused_without_reading_it() {
    let (base, mut rx) = hostile(Reply::Huge, Reply::Huge).await;
    let result = adapter(&base).debit(&debit()).await;
    match result {
        Err(GatewayError::Protocol(message)) => {
            assert!(message.contains("exceeds 1048576 bytes"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    for served in served_pair(&mut rx).await {
        // The socket buffers take a few MB; the client reads none of it.
        println!("{}: the client accepted {} bytes", served.path, served.sent);
        assert!(served.sent < HUGE / 4, "{served:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_reply_is_cut_at_the_cap() {
    let (base, mut rx) = hostile(Reply::Endless, Reply::Endless).await;
    let result = adapter(&base).debit(&debit()).await;
    match result {
        Err(GatewayError::Protocol(message)) => {
            assert!(message.contains("exceeds 1048576 bytes"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let cap = u64::try_from(MAX_GATEWAY_RESPONSE_BYTES).expect("small");
    for served in served_pair(&mut rx).await {
        println!("{}: the client accepted {} bytes", served.path, served.sent);
        assert!(served.sent > cap, "{served:?}");
        assert!(served.sent < HUGE / 4, "{served:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_debit_answer_is_reconciled() {
    // The debit's answer is lost to the cap, but the gateway has the transaction.
    let (base, mut rx) = hostile(Reply::Endless, Reply::Approved).await;
    let outcome = adapter(&base).debit(&debit()).await.expect("reconciled");
    assert_eq!(
        outcome,
        GatewayOutcome::Approved {
            reference: UNIQUE_ID.into()
        }
    );
    served_pair(&mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_server_bounds_the_notification_echo_it_reads() {
    let (receiver, mut rx) = hostile(Reply::Approved, Reply::Endless).await;
    let config = FakeConfig {
        notification_attempts: 2,
        notification_delay: Duration::from_millis(10),
        notification_interval: Duration::from_millis(10),
        ..FakeConfig::default()
    };
    let gateway = fake::start(config, "127.0.0.1:0").await.expect("fake");
    let mut req = debit();
    req.notification_url = Some(format!("{receiver}/notify"));
    emp(&gateway.credentials_json())
        .debit(&req)
        .await
        .expect("debit");
    for _ in 0..2 {
        let served = rx.recv().await.expect("notification served");
        assert_eq!(served.path, "/notify");
        println!("the fake accepted {} bytes of an endless echo", served.sent);
        assert!(served.sent < HUGE / 4, "{served:?}");
    }
    // Both attempts were cut short, so neither counts as an echo.
    loop {
        let record = gateway.notifications().pop().expect("a notification");
        if record.attempts == 2 {
            assert!(!record.echoed);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_server_refuses_requests_over_1_mib() {
    let gateway = fake::start(FakeConfig::default(), "127.0.0.1:0")
        .await
        .expect("fake");
    let url = format!("{}/process/{}/", gateway.base_url(), fake::DEFAULT_TOKEN);
    let post = |size: usize| {
        reqwest::Client::new()
            .post(&url)
            .basic_auth(fake::DEFAULT_USERNAME, Some(fake::DEFAULT_PASSWORD))
            .header("content-type", "text/xml")
            .body(vec![b' '; size])
            .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(post(2 << 20).await.expect("answer")), 413);
    // Just under the bound the body is read (and refused as XML, with a Genesis answer).
    assert_eq!(status(post(1 << 20).await.expect("answer")), 200);
    gateway.stop().await;
}
