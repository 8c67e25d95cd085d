//! The EMP adapter over real HTTP on 127.0.0.1 against the fake Genesis server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_gateway::emp::transformers::{SignatureAlgorithm, notification_signature};
use catalyst_gateway::fake::{self, FakeConfig, FakeHandle, Terminal};
use catalyst_gateway::{
    AdapterContext, DebitKind, DebitRequest, GatewayAdapter, GatewayError, GatewayOutcome,
    GatewaySettings, MemoryLedger, ReconcileRequest, RefundRequest, build_adapter, http_client,
};
use catalyst_sepa::DeclineCode;

fn test_config() -> FakeConfig {
    FakeConfig {
        notification_delay: Duration::from_millis(20),
        notification_interval: Duration::from_millis(100),
        ..FakeConfig::default()
    }
}

async fn start_fake() -> FakeHandle {
    fake::start(test_config(), "127.0.0.1:0").await.unwrap()
}

fn settings(credentials: String) -> GatewaySettings {
    GatewaySettings {
        adapter: "EMP".into(),
        test_mode: true,
        requires_verification: false,
        credentials: Some(Secret::new(credentials)),
        descriptor: Some("Catalyst Demo".into()),
    }
}

fn emp_with_timeout(fake: &FakeHandle, timeout: Duration) -> Arc<dyn GatewayAdapter> {
    let ctx = AdapterContext {
        http: http_client(timeout),
        public_url: "http://127.0.0.1:1".into(),
        sandbox: Arc::new(MemoryLedger::new()),
        targets: std::sync::Arc::new(catalyst_gateway::outbound::TargetPolicy::allow_all()),
    };
    build_adapter(&settings(fake.credentials_json()), &ctx).unwrap()
}

fn emp(fake: &FakeHandle) -> Arc<dyn GatewayAdapter> {
    emp_with_timeout(fake, Duration::from_secs(10))
}

fn debit(txn: &str, iban: &str) -> DebitRequest {
    let mut req = DebitRequest::example(txn);
    req.iban = Some(Secret::new(iban.to_owned()));
    req
}

fn by_txn(txn: &str) -> ReconcileRequest {
    ReconcileRequest {
        transaction_id: txn.to_owned(),
        reference: None,
    }
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR).unwrap()
}

fn is_unique_id(reference: &str) -> bool {
    reference.len() == 32 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_sandbox_iban_through_emp_gives_its_documented_outcome() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    assert_eq!(emp.name(), "EMP");
    assert!(
        emp.in_process().is_none(),
        "Genesis is reached over the network"
    );
    let declines = [
        (
            "DE91100000000123456789",
            DeclineCode::InsufficientFunds,
            "AM04",
        ),
        ("DE66100000000000000101", DeclineCode::InvalidIban, "AC01"),
        ("DE17100000000000000401", DeclineCode::AccountClosed, "AC04"),
        (
            "DE49100000000000000601",
            DeclineCode::MandateRejected,
            "MD01",
        ),
        ("DE71100000000000000302", DeclineCode::DoNotHonor, "MS03"),
        ("DE70100000000000000999", DeclineCode::Unknown, "XX99"),
    ];
    for (i, (iban, code, gateway_code)) in declines.iter().enumerate() {
        let txn = format!("TXN-20260411-D{i:07X}");
        match emp.debit(&debit(&txn, iban)).await.unwrap() {
            GatewayOutcome::Declined {
                reference,
                code: got,
                gateway_code: got_gateway,
                gateway_message,
            } => {
                assert_eq!(got, *code, "{iban}");
                assert_eq!(got_gateway.as_deref(), Some(*gateway_code), "{iban}");
                assert!(is_unique_id(&reference.unwrap()));
                assert!(gateway_message.unwrap().contains(gateway_code));
            }
            other => panic!("{iban}: {other:?}"),
        }
    }
    for (i, iban) in [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "DE43100000000000000806",
        "DE98100000000000000204",
        "FR1420041010050500013M02606",
    ]
    .iter()
    .enumerate()
    {
        let txn = format!("TXN-20260411-A{i:07X}");
        match emp.debit(&debit(&txn, iban)).await.unwrap() {
            GatewayOutcome::Approved { reference } => {
                assert!(is_unique_id(&reference));
                assert_eq!(
                    emp.reconcile(&by_txn(&txn)).await.unwrap(),
                    Some(GatewayOutcome::Approved { reference })
                );
            }
            other => panic!("{iban}: {other:?}"),
        }
    }

    // Unreachable: HTTP 503, nothing recorded, so reconcile finds nothing.
    let txn = "TXN-20260411-U0000001";
    match emp.debit(&debit(txn, "DE76100000000000000503")).await {
        Err(GatewayError::Transport(message)) => assert!(message.contains("503"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(emp.reconcile(&by_txn(txn)).await, Ok(None));
    let reconciles = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/reconcile/") && r.body.contains(txn))
        .count();
    assert_eq!(
        reconciles, 2,
        "the adapter reconciled before reporting the 503"
    );

    // Verification pair.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (txn, iban, succeeds) in [
        ("TXN-20260411-V0000700", "DE92100000000000000700", true),
        ("TXN-20260411-V0000701", "DE65100000000000000701", false),
    ] {
        let mut req = debit(txn, iban);
        req.return_url = Some("https://shop.example.com/back".into());
        let (reference, url) = match emp.debit(&req).await.unwrap() {
            GatewayOutcome::VerificationRequired { reference, url } => (reference, url),
            other => panic!("{iban}: {other:?}"),
        };
        assert_eq!(
            url,
            format!("{}/__fake/redirect/{reference}", fake.base_url())
        );
        let check = ReconcileRequest {
            transaction_id: txn.into(),
            reference: Some(reference.clone()),
        };
        // The customer has not been to the bank yet.
        assert!(matches!(
            emp.verify(&check).await.unwrap(),
            GatewayOutcome::VerificationRequired { .. }
        ));
        // The customer confirms (or refuses) and is sent back to the return URL.
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(
            response.headers()["location"],
            "https://shop.example.com/back"
        );
        match (succeeds, emp.verify(&check).await.unwrap()) {
            (true, GatewayOutcome::Approved { reference: r }) => assert_eq!(r, reference),
            (
                false,
                GatewayOutcome::Declined {
                    code: DeclineCode::MandateRejected,
                    gateway_code,
                    ..
                },
            ) => assert_eq!(gateway_code.as_deref(), Some("MS02")),
            (_, other) => panic!("{iban}: {other:?}"),
        }
    }

    // Later outcomes: settle turns the chargeback and return IBANs into chargebacks.
    assert_eq!(fake.settle(), 2);
    for (txn, code, reason) in [
        (
            "TXN-20260411-A0000002",
            DeclineCode::MandateRejected,
            "MD06",
        ),
        (
            "TXN-20260411-A0000003",
            DeclineCode::InsufficientFunds,
            "AM04",
        ),
    ] {
        match emp.reconcile(&by_txn(txn)).await.unwrap() {
            Some(GatewayOutcome::Declined {
                code: got,
                gateway_code,
                ..
            }) => {
                assert_eq!(got, code);
                assert_eq!(gateway_code.as_deref(), Some(reason));
            }
            other => panic!("{txn}: {other:?}"),
        }
    }
    assert_eq!(fake.settle(), 0);
    fake.stop().await;
}

#[tokio::test]
async fn a_reused_transaction_id_answers_with_the_first_outcome() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    let first = emp
        .debit(&debit("TXN-DUP-1", "DE89370400440532013000"))
        .await
        .unwrap();
    // Same id again (a retry after a crash), even with other data: no second debit.
    let again = emp
        .debit(&debit("TXN-DUP-1", "DE91100000000123456789"))
        .await
        .unwrap();
    assert_eq!(first, again);
    let declined = emp
        .debit(&debit("TXN-DUP-2", "DE17100000000000000401"))
        .await
        .unwrap();
    assert_eq!(
        emp.debit(&debit("TXN-DUP-2", "DE17100000000000000401"))
            .await
            .unwrap(),
        declined
    );
    let transactions = fake.transactions();
    assert_eq!(transactions.len(), 2);
    assert_eq!(transactions[0].transaction_id, "TXN-DUP-1");
    assert_eq!(transactions[0].status, "approved");
    fake.stop().await;
}

#[tokio::test]
async fn a_timeout_is_reconciled_before_it_is_reported() {
    let mut config = test_config();
    config.delay = Duration::from_millis(1500);
    let fake = fake::start(config, "127.0.0.1:0").await.unwrap();
    let emp = emp_with_timeout(&fake, Duration::from_millis(300));
    let started = Instant::now();
    let outcome = emp
        .debit(&debit("TXN-TIMEOUT-1", "DE89370400440532013000"))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "did not wait for the answer"
    );
    let GatewayOutcome::Approved { reference } = outcome else {
        panic!("{outcome:?}");
    };
    let tx = &fake.transactions()[0];
    assert_eq!(
        (tx.unique_id.as_str(), tx.status.as_str()),
        (reference.as_str(), "approved")
    );
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("/process/{}/", fake::DEFAULT_TOKEN),
            format!("/reconcile/{}/", fake::DEFAULT_TOKEN)
        ]
    );
    // A timed-out decline is reconciled into the decline.
    let outcome = emp
        .debit(&debit("TXN-TIMEOUT-2", "DE91100000000123456789"))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        GatewayOutcome::Declined {
            code: DeclineCode::InsufficientFunds,
            ..
        }
    ));
    // The delay changes at run time (POST /__fake/delay): now the answer comes in time.
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/__fake/delay", fake.base_url()))
        .body("0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(fake.delay(), Duration::ZERO);
    let before = fake.requests().len();
    assert!(
        emp.debit(&debit("TXN-TIMEOUT-3", "DE89370400440532013000"))
            .await
            .unwrap()
            .is_approved()
    );
    assert_eq!(fake.requests().len(), before + 1, "no reconcile needed");

    // The unreachable IBAN behind a delay: timeout, reconcile finds nothing, Timeout reported.
    fake.set_delay(Duration::from_millis(1000));
    assert_eq!(
        emp.debit(&debit("TXN-TIMEOUT-4", "DE76100000000000000503"))
            .await,
        Err(GatewayError::Timeout)
    );
    fake.stop().await;
}

#[tokio::test]
async fn bad_credentials_and_terminals_are_configuration_errors() {
    let fake = start_fake().await;
    let ctx = AdapterContext {
        http: http_client(Duration::from_secs(5)),
        public_url: String::new(),
        sandbox: Arc::new(MemoryLedger::new()),
        targets: std::sync::Arc::new(catalyst_gateway::outbound::TargetPolicy::allow_all()),
    };
    let base = fake.base_url();
    let wrong_password = Terminal::new(fake::DEFAULT_TOKEN, fake::DEFAULT_USERNAME, "nope");
    let wrong_token = Terminal::new(
        "other-token",
        fake::DEFAULT_USERNAME,
        fake::DEFAULT_PASSWORD,
    );
    for terminal in [wrong_password, wrong_token] {
        let emp = build_adapter(&settings(terminal.credentials_json(&base)), &ctx).unwrap();
        let result = emp
            .debit(&debit("TXN-CFG-1", "DE89370400440532013000"))
            .await;
        assert!(matches!(result, Err(GatewayError::Config(_))), "{result:?}");
        let result = emp.reconcile(&by_txn("TXN-CFG-1")).await;
        assert!(matches!(result, Err(GatewayError::Config(_))), "{result:?}");
    }
    assert!(fake.transactions().is_empty());
    fake.stop().await;

    // Nobody listening: a transport error, without a reconcile attempt.
    let emp = build_adapter(&settings(fake.credentials_json()), &ctx).unwrap();
    match emp
        .debit(&debit("TXN-CFG-2", "DE89370400440532013000"))
        .await
    {
        Err(GatewayError::Transport(message)) => {
            assert!(!message.contains(fake::DEFAULT_TOKEN), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn recurring_debits_and_refunds() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    let mut first = debit("TXN-REC-1", "DE89370400440532013000");
    first.kind = DebitKind::FirstRecurring;
    first.amount = eur(2999);
    let first_ref = emp
        .debit(&first)
        .await
        .unwrap()
        .reference()
        .unwrap()
        .to_owned();
    let mut next = DebitRequest::example("TXN-REC-2");
    next.iban = None;
    next.kind = DebitKind::Recurring {
        reference_id: first_ref.clone(),
    };
    next.amount = eur(2999);
    let next_ref = emp.debit(&next).await.unwrap();
    assert!(next_ref.is_approved());
    // A recurring debit needs a first debit that exists.
    next.transaction_id = "TXN-REC-3".into();
    next.kind = DebitKind::Recurring {
        reference_id: "00000000000000000000000000000000".into(),
    };
    assert!(matches!(
        emp.debit(&next).await.unwrap(),
        GatewayOutcome::Declined { gateway_code: Some(c), .. } if c == "410"
    ));

    let refund = |txn: &str, reference: &str, minor| RefundRequest {
        transaction_id: txn.to_owned(),
        reference: reference.to_owned(),
        amount: eur(minor),
        usage: "Refund".into(),
        remote_ip: "198.51.100.1".into(),
    };
    let r1 = emp
        .refund(&refund("TXN-REF-1", &first_ref, 2000))
        .await
        .unwrap();
    assert!(r1.is_approved());
    assert_ne!(r1.reference(), Some(first_ref.as_str()));
    // Retried refund: the same refund, not a second one.
    assert_eq!(
        emp.refund(&refund("TXN-REF-1", &first_ref, 2000))
            .await
            .unwrap(),
        r1
    );
    // Over what is left: 440.
    match emp
        .refund(&refund("TXN-REF-2", &first_ref, 1000))
        .await
        .unwrap()
    {
        GatewayOutcome::Declined {
            code: DeclineCode::Unknown,
            gateway_code,
            ..
        } => assert_eq!(gateway_code.as_deref(), Some("440")),
        other => panic!("{other:?}"),
    }
    assert!(
        emp.refund(&refund("TXN-REF-3", &first_ref, 999))
            .await
            .unwrap()
            .is_approved()
    );
    // The refunded debit still reconciles as approved (it was collected).
    assert_eq!(
        emp.reconcile(&by_txn("TXN-REC-1")).await.unwrap(),
        Some(GatewayOutcome::Approved {
            reference: first_ref.clone()
        })
    );
    let original = fake
        .transactions()
        .into_iter()
        .find(|t| t.unique_id == first_ref)
        .unwrap();
    assert_eq!(
        (original.status.as_str(), original.refunded),
        ("refunded", 2999)
    );
    // Refund of a declined debit: 400.
    let declined = emp
        .debit(&debit("TXN-REC-4", "DE91100000000123456789"))
        .await
        .unwrap();
    let declined_ref = declined.reference().unwrap().to_owned();
    assert!(matches!(
        emp.refund(&refund("TXN-REF-4", &declined_ref, 1)).await.unwrap(),
        GatewayOutcome::Declined { gateway_code: Some(c), .. } if c == "400"
    ));
    fake.stop().await;
}

/// A merchant endpoint that handles notifications with the adapter, like the API will.
async fn receive(
    adapter: web::Data<Arc<dyn GatewayAdapter>>,
    seen: web::Data<std::sync::Mutex<Vec<catalyst_gateway::Notification>>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    match adapter.parse_notification(content_type, &body) {
        Ok(n) => {
            let echo = adapter.notification_echo(&n);
            seen.lock().unwrap().push(n);
            HttpResponse::build(actix_web::http::StatusCode::from_u16(echo.status).unwrap())
                .content_type(echo.content_type)
                .body(echo.body)
        }
        Err(_) => HttpResponse::BadRequest().finish(),
    }
}

#[tokio::test]
async fn notifications_are_signed_echoed_and_retried() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    let seen = web::Data::new(std::sync::Mutex::new(
        Vec::<catalyst_gateway::Notification>::new(),
    ));
    let adapter_data = web::Data::new(emp.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let seen_app = seen.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(adapter_data.clone())
            .app_data(seen_app.clone())
            .route("/notify", web::post().to(receive))
            .route(
                "/refuse",
                web::post().to(|| async { HttpResponse::InternalServerError().finish() }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let receiver = server.handle();
    tokio::spawn(server);

    let mut req = debit("TXN-NOTE-1", "DE92100000000000000700");
    req.notification_url = Some(format!("http://{receiver_addr}/notify"));
    let GatewayOutcome::VerificationRequired { reference, .. } = emp.debit(&req).await.unwrap()
    else {
        panic!("expected verification");
    };
    eventually("the pending_async notification", || {
        fake.notifications().first().is_some_and(|n| n.echoed)
    })
    .await;
    assert_eq!(
        fake.complete_verification(&reference).as_deref(),
        Some("approved")
    );
    eventually("the approved notification", || {
        fake.notifications().len() == 2 && fake.notifications()[1].echoed
    })
    .await;
    {
        let seen = seen.lock().unwrap();
        let statuses: Vec<&str> = seen.iter().map(|n| n.status.as_str()).collect();
        assert_eq!(statuses, ["pending_async", "approved"]);
        assert!(seen.iter().all(|n| n.reference == reference
            && n.transaction_id.as_deref() == Some("TXN-NOTE-1")
            && n.amount_minor == Some(1234)
            && n.transaction_type.as_deref() == Some("sdd_sale")));
    }

    // A chargeback notification carries the reason.
    let mut req = debit("TXN-NOTE-2", "DE43100000000000000806");
    req.notification_url = Some(format!("http://{receiver_addr}/notify"));
    emp.debit(&req).await.unwrap();
    eventually("the approval", || {
        fake.notifications().len() == 3 && fake.notifications()[2].echoed
    })
    .await;
    assert_eq!(fake.settle(), 1);
    eventually("the chargeback", || {
        fake.notifications().len() == 4 && fake.notifications()[3].echoed
    })
    .await;
    // Deliveries may overtake each other (as Genesis' may): find the chargeback.
    let chargeback = seen
        .lock()
        .unwrap()
        .iter()
        .find(|n| n.status == "chargebacked")
        .cloned()
        .unwrap();
    assert_eq!(chargeback.status, "chargebacked");
    assert_eq!(chargeback.reason_code.as_deref(), Some("MD06"));
    assert_eq!(chargeback.event.as_deref(), Some("chargeback"));
    assert_eq!(
        chargeback.decline_code(),
        Some(DeclineCode::MandateRejected)
    );

    // A receiver that never echoes gets the bounded number of attempts.
    let mut req = debit("TXN-NOTE-3", "DE89370400440532013000");
    req.notification_url = Some(format!("http://{receiver_addr}/refuse"));
    emp.debit(&req).await.unwrap();
    eventually("five attempts", || {
        fake.notifications().last().is_some_and(|n| n.attempts == 5)
    })
    .await;
    assert!(!fake.notifications().last().unwrap().echoed);

    receiver.stop(true).await;
    fake.stop().await;
}

#[tokio::test]
async fn notification_signatures_and_echo_through_the_adapter() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    let unique_id = "44177a21403427eb96664a6d7e5d5d48";
    let body = |signature: &str| {
        format!(
            "transaction_id=TXN-1&unique_id={unique_id}&transaction_type=sdd_sale&terminal_token={}&status=approved&amount=1234&signature={signature}",
            fake::DEFAULT_TOKEN
        )
    };
    for algorithm in [
        SignatureAlgorithm::Sha1,
        SignatureAlgorithm::Sha256,
        SignatureAlgorithm::Sha512,
    ] {
        let signature = notification_signature(unique_id, fake::DEFAULT_PASSWORD, algorithm);
        let n = emp
            .parse_notification(
                Some("application/x-www-form-urlencoded"),
                body(&signature).as_bytes(),
            )
            .unwrap();
        assert_eq!(n.reference, unique_id);
        assert_eq!(n.status, "approved");
        let echo = emp.notification_echo(&n);
        assert_eq!(echo.status, 200);
        assert!(echo.content_type.starts_with("text/xml"));
        assert_eq!(
            echo.body,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><notification_echo><unique_id>{unique_id}</unique_id></notification_echo>"
            )
        );
        // One changed character: rejected.
        let mut tampered = signature.clone().into_bytes();
        tampered[7] = if tampered[7] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            emp.parse_notification(None, body(&tampered).as_bytes()),
            Err(GatewayError::InvalidSignature)
        );
    }
    // Signed with another terminal's password: rejected.
    let other = notification_signature(unique_id, "another-password", SignatureAlgorithm::Sha1);
    assert_eq!(
        emp.parse_notification(None, body(&other).as_bytes()),
        Err(GatewayError::InvalidSignature)
    );
    fake.stop().await;
}

/// A renewal as the billing system sends it: `Recurring` with the mandate's IBAN also set
/// (the adapter must not send it).
fn renewal(txn: &str, reference_id: &str, iban: &str, minor: i64) -> DebitRequest {
    let mut req = debit(txn, iban);
    req.kind = DebitKind::Recurring {
        reference_id: reference_id.to_owned(),
    };
    req.amount = eur(minor);
    req
}

fn refund_of(txn: &str, reference: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        transaction_id: txn.to_owned(),
        reference: reference.to_owned(),
        amount: eur(minor),
        usage: "Refund: Pro plan".into(),
        remote_ip: "198.51.100.1".into(),
    }
}

async fn first_collection(emp: &Arc<dyn GatewayAdapter>, txn: &str, iban: &str) -> String {
    let mut req = debit(txn, iban);
    req.kind = DebitKind::FirstRecurring;
    req.amount = eur(2999);
    match emp.debit(&req).await.unwrap() {
        GatewayOutcome::Approved { reference } => reference,
        other => panic!("{txn}: {other:?}"),
    }
}

fn gateway_code(outcome: &GatewayOutcome) -> (DeclineCode, Option<&str>) {
    match outcome {
        GatewayOutcome::Declined {
            code, gateway_code, ..
        } => (*code, gateway_code.as_deref()),
        other => panic!("expected a decline, got {other:?}"),
    }
}

#[tokio::test]
async fn renewals_through_emp_follow_the_sandbox_rules() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    const DUNNING: &str = "DE71100000000000000205";
    let first = first_collection(&emp, "TXN-RN-1", DUNNING).await;
    // The first renewal is declined AM04, the dunning retry approved.
    let declined = emp
        .debit(&renewal("TXN-RN-2", &first, DUNNING, 2999))
        .await
        .unwrap();
    assert_eq!(
        gateway_code(&declined),
        (DeclineCode::InsufficientFunds, Some("AM04"))
    );
    assert!(is_unique_id(declined.reference().unwrap()));
    // A retried request (same transaction id) answers with the same decline.
    assert_eq!(
        emp.debit(&renewal("TXN-RN-2", &first, DUNNING, 2999))
            .await
            .unwrap(),
        declined
    );
    let retry = emp
        .debit(&renewal("TXN-RN-3", &first, DUNNING, 2999))
        .await
        .unwrap();
    assert!(retry.is_approved(), "{retry:?}");
    // Reconcile by our transaction id finds both.
    assert_eq!(
        emp.reconcile(&by_txn("TXN-RN-2")).await.unwrap(),
        Some(declined)
    );
    assert_eq!(
        emp.reconcile(&by_txn("TXN-RN-3")).await.unwrap(),
        Some(retry)
    );
    // What went over the wire: reference_id, never the IBAN or the address.
    let bodies: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.body.contains("sdd_recurring_sale"))
        .map(|r| r.body)
        .collect();
    assert_eq!(bodies.len(), 3);
    for body in &bodies {
        assert!(body.contains(&format!("<reference_id>{first}</reference_id>")));
        for absent in [
            "<iban>",
            "<bic>",
            "<billing_address>",
            DUNNING,
            "Mustermann",
        ] {
            assert!(!body.contains(absent), "{absent} sent: {body}");
        }
    }
    // An unknown reference: 410, a decline (recorded as an error transaction).
    let unknown = emp
        .debit(&renewal("TXN-RN-4", &"0".repeat(32), DUNNING, 100))
        .await
        .unwrap();
    assert_eq!(gateway_code(&unknown), (DeclineCode::Unknown, Some("410")));
    assert_eq!(
        emp.reconcile(&by_txn("TXN-RN-4")).await.unwrap(),
        Some(unknown)
    );
    fake.stop().await;
}

#[tokio::test]
async fn refunds_through_emp_full_partial_over_and_unknown() {
    let fake = start_fake().await;
    let emp = emp(&fake);
    let first = first_collection(&emp, "TXN-RFE-1", "DE89370400440532013000").await;
    let renewal_ref = emp
        .debit(&renewal(
            "TXN-RFE-2",
            &first,
            "DE89370400440532013000",
            2999,
        ))
        .await
        .unwrap()
        .reference()
        .unwrap()
        .to_owned();

    // Full refund of the first collection.
    let full = emp
        .refund(&refund_of("TXN-RFE-R1", &first, 2999))
        .await
        .unwrap();
    assert!(full.is_approved(), "{full:?}");
    // Partial refunds of the renewal; going over what is left is Genesis 440, a decline.
    let part = emp
        .refund(&refund_of("TXN-RFE-R2", &renewal_ref, 1000))
        .await
        .unwrap();
    assert!(part.is_approved());
    let over = emp
        .refund(&refund_of("TXN-RFE-R3", &renewal_ref, 2000))
        .await
        .unwrap();
    match &over {
        GatewayOutcome::Declined {
            code,
            gateway_code,
            gateway_message,
            ..
        } => {
            assert_eq!(
                (*code, gateway_code.as_deref()),
                (DeclineCode::Unknown, Some("440"))
            );
            assert!(
                gateway_message
                    .as_deref()
                    .unwrap()
                    .contains("amount exceeds amount of reference transaction")
            );
        }
        other => panic!("{other:?}"),
    }
    // Retrying the refused refund (same transaction id) is the same refusal.
    assert_eq!(
        emp.refund(&refund_of("TXN-RFE-R3", &renewal_ref, 2000))
            .await
            .unwrap(),
        over
    );
    assert!(
        emp.refund(&refund_of("TXN-RFE-R4", &renewal_ref, 1999))
            .await
            .unwrap()
            .is_approved()
    );
    // Unknown reference: 410.
    let unknown = emp
        .refund(&refund_of("TXN-RFE-R5", &"a".repeat(32), 1))
        .await
        .unwrap();
    assert_eq!(gateway_code(&unknown), (DeclineCode::Unknown, Some("410")));
    // Reconcile finds every refund by our transaction id.
    for (txn, outcome) in [
        ("TXN-RFE-R1", &full),
        ("TXN-RFE-R2", &part),
        ("TXN-RFE-R3", &over),
        ("TXN-RFE-R5", &unknown),
    ] {
        assert_eq!(
            emp.reconcile(&by_txn(txn)).await.unwrap().as_ref(),
            Some(outcome),
            "{txn}"
        );
    }

    // The refund-decline IBAN: collected, but its refund is declined AC04.
    const NO_REFUND: &str = "DE87100000000000000402";
    let sale = emp.debit(&debit("TXN-RFE-3", NO_REFUND)).await.unwrap();
    assert!(sale.is_approved());
    let refused = emp
        .refund(&refund_of("TXN-RFE-R6", sale.reference().unwrap(), 100))
        .await
        .unwrap();
    assert_eq!(
        gateway_code(&refused),
        (DeclineCode::AccountClosed, Some("AC04"))
    );
    assert!(is_unique_id(refused.reference().unwrap()));
    assert_eq!(
        emp.reconcile(&by_txn("TXN-RFE-R6")).await.unwrap(),
        Some(refused)
    );
    // The debit still reconciles as approved (nothing was refunded).
    assert_eq!(
        emp.reconcile(&by_txn("TXN-RFE-3")).await.unwrap(),
        Some(sale)
    );
    fake.stop().await;
}

#[tokio::test]
async fn a_refund_whose_answer_is_lost_is_reconciled() {
    let fake = start_fake().await;
    let emp_fast = emp_with_timeout(&fake, Duration::from_millis(300));
    let emp = emp(&fake);
    let sale = emp
        .debit(&debit("TXN-RL-1", "DE89370400440532013000"))
        .await
        .unwrap();
    let reference = sale.reference().unwrap().to_owned();
    fake.set_delay(Duration::from_millis(1000));
    // The approved refund and the 440 refusal both come back through reconcile.
    let refund = emp_fast
        .refund(&refund_of("TXN-RL-R1", &reference, 1234))
        .await
        .unwrap();
    assert!(refund.is_approved(), "{refund:?}");
    let over = emp_fast
        .refund(&refund_of("TXN-RL-R2", &reference, 1))
        .await
        .unwrap();
    assert_eq!(gateway_code(&over), (DeclineCode::Unknown, Some("440")));
    fake.stop().await;
}
