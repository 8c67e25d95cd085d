//! Cross-check against the official `genesis.js` SDK (GENESIS.md §8).
//!
//! Runs only when `GENESIS_JS_DIR` names a directory prepared by
//! `tests/genesis_js/install.sh DIR` (node and npm needed); otherwise each test prints that it
//! was skipped and passes.
//!
//! - The SDK builds sdd_sale, sdd_init_recurring_sale, sdd_recurring_sale, sdd_refund and
//!   reconcile documents offline from the same inputs, mapped to SDK parameters the way a
//!   merchant using the SDK would; the parsed trees must equal our transformer's. The SDK's
//!   schema must accept every field except those GENESIS.md lists as forbidden by it.
//! - The SDK sends requests to our fake server and must parse the answers.
//! - The SDK's notification verifier accepts our signatures and its echo equals ours.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_gateway::emp::transformers::{self, ReconcileBy, SignatureAlgorithm};
use catalyst_gateway::fake::{self, FakeConfig};
use catalyst_gateway::xml::Element;
use catalyst_gateway::{DebitKind, DebitRequest, RefundRequest};
use serde_json::{Value, json};

const DESCRIPTOR: &str = "Catalyst Demo";

/// The prepared genesis.js directory, or `None` (test skipped) when `GENESIS_JS_DIR` is unset.
fn genesis_js_dir(test: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("GENESIS_JS_DIR").filter(|d| !d.is_empty()) else {
        println!("{test}: skipped (GENESIS_JS_DIR is not set; see tests/genesis_js/install.sh)");
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("node_modules/genesis.js/package.json").is_file(),
        "GENESIS_JS_DIR={} has no node_modules/genesis.js: run tests/genesis_js/install.sh {0}",
        dir.display()
    );
    Some(dir)
}

/// Runs `crosscheck.js` with one JSON command.
fn node(dir: &PathBuf, command: &Value) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/genesis_js/crosscheck.js"
    );
    let mut child = Command::new("node")
        .arg(script)
        .env("GENESIS_JS_DIR", dir)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(command.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "crosscheck.js failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn node_async(dir: PathBuf, command: Value) -> Value {
    tokio::task::spawn_blocking(move || node(&dir, &command))
        .await
        .unwrap()
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR).unwrap()
}

fn sale() -> DebitRequest {
    let mut req = DebitRequest::example("TXN-20260411-0000ABCD");
    req.usage = "Pro plan & <extras>".into();
    req.return_url = Some("https://pay.example.com/s/ps_abc/return?x=1&y=2".into());
    req.notification_url = Some("https://pay.example.com/notifications/emp/".into());
    req
}

fn first_recurring() -> DebitRequest {
    let mut req = DebitRequest::example("TXN-20260411-0000ABCE");
    req.kind = DebitKind::FirstRecurring;
    req.amount = eur(2999);
    req.bic = None;
    req.address = None;
    req.remote_ip = "2001:db8::7".into();
    req
}

/// A renewal as the billing system sends it: the mandate's IBAN is set too, and must not go
/// out (the SDK's parameters never carry it).
fn recurring() -> DebitRequest {
    let mut req = DebitRequest::example("TXN-20260511-0000ABCF");
    req.kind = DebitKind::Recurring {
        reference_id: "44177a21403427eb96664a6d7e5d5d48".into(),
    };
    req.amount = eur(500);
    req.notification_url = Some("https://pay.example.com/notifications/emp/".into());
    req
}

fn refund() -> RefundRequest {
    RefundRequest {
        transaction_id: "TXN-20260412-0000ABD0".into(),
        reference: "44177a21403427eb96664a6d7e5d5d48".into(),
        amount: eur(1001),
        usage: "Refund: Pro plan".into(),
        remote_ip: "198.51.100.1".into(),
    }
}

/// A DebitRequest as genesis.js parameters (GENESIS.md §2 names; amount in major units), the
/// way a merchant using the SDK would write them.
fn js_debit_params(req: &DebitRequest, descriptor: Option<&str>) -> Value {
    let mut p = json!({
        "transaction_id": req.transaction_id,
        "usage": req.usage,
        "remote_ip": req.remote_ip,
        "amount": req.amount.to_decimal_string(),
        "currency": req.amount.currency().code(),
    });
    let o = p.as_object_mut().unwrap();
    let mut set = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    };
    match &req.kind {
        DebitKind::Recurring { reference_id } => {
            set("reference_id", Some(reference_id));
            set("notification_url", req.notification_url.as_deref());
        }
        DebitKind::OneOff | DebitKind::FirstRecurring => {
            set("iban", req.iban.as_ref().map(|i| i.expose().as_str()));
            set("bic", req.bic.as_deref());
            set("customer_email", req.email.as_deref());
            set("mandate_reference", Some(&req.mandate_reference));
            set("return_success_url", req.return_url.as_deref());
            set("return_failure_url", req.return_url.as_deref());
            set("return_pending_url", req.return_url.as_deref());
            set("notification_url", req.notification_url.as_deref());
            if let Some(d) = descriptor {
                o.insert(
                    "dynamic_descriptor_params".into(),
                    json!({ "merchant_name": d }),
                );
            }
            let mut address = json!({
                "first_name": req.first_name,
                "last_name": req.last_name,
                "country": req.country,
            });
            let a = address.as_object_mut().unwrap();
            for (k, v) in [
                ("address1", &req.address),
                ("zip_code", &req.zip_code),
                ("city", &req.city),
            ] {
                if let Some(v) = v {
                    a.insert(k.into(), json!(v));
                }
            }
            o.insert("billing_address".into(), address);
        }
    }
    p
}

fn js_refund_params(req: &RefundRequest) -> Value {
    json!({
        "transaction_id": req.transaction_id,
        "usage": req.usage,
        "remote_ip": req.remote_ip,
        "reference_id": req.reference,
        "amount": req.amount.to_decimal_string(),
        "currency": req.amount.currency().code(),
    })
}

/// Fields genesis.js' schemas forbid although the gateway takes them (GENESIS.md §2).
fn schema_forbidden(kind: &str) -> &'static [&'static str] {
    match kind {
        "sdd_sale" => &["customer_email", "notification_url"],
        "sdd_init_recurring_sale" => &["mandate_reference", "notification_url"],
        "sdd_recurring_sale" => &["notification_url"],
        _ => &[],
    }
}

#[test]
fn requests_built_by_genesis_js_equal_ours() {
    let Some(dir) = genesis_js_dir("requests_built_by_genesis_js_equal_ours") else {
        return;
    };
    let cases: Vec<(&str, Element, Value)> = vec![
        (
            "sdd_sale",
            transformers::debit_request(&sale(), Some(DESCRIPTOR)).unwrap(),
            js_debit_params(&sale(), Some(DESCRIPTOR)),
        ),
        (
            "sdd_init_recurring_sale",
            transformers::debit_request(&first_recurring(), None).unwrap(),
            js_debit_params(&first_recurring(), None),
        ),
        (
            "sdd_recurring_sale",
            transformers::debit_request(&recurring(), Some(DESCRIPTOR)).unwrap(),
            js_debit_params(&recurring(), Some(DESCRIPTOR)),
        ),
        (
            "sdd_refund",
            transformers::refund_request(&refund()).unwrap(),
            js_refund_params(&refund()),
        ),
        (
            "reconcile",
            transformers::reconcile_request(ReconcileBy::UniqueId(
                "44177a21403427eb96664a6d7e5d5d48",
            )),
            json!({ "unique_id": "44177a21403427eb96664a6d7e5d5d48" }),
        ),
        (
            "reconcile",
            transformers::reconcile_request(ReconcileBy::TransactionId("TXN-20260411-0000ABCD")),
            json!({ "transaction_id": "TXN-20260411-0000ABCD" }),
        ),
    ];
    let requests: Vec<Value> = cases
        .iter()
        .map(|(kind, _, params)| json!({ "type": kind, "params": params }))
        .collect();
    let answers = node(&dir, &json!({ "mode": "build", "requests": requests }));
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), cases.len());

    for ((kind, ours, params), answer) in cases.iter().zip(answers) {
        let js_xml = answer["xml"].as_str().unwrap();
        let theirs = Element::parse(js_xml).unwrap();
        assert_eq!(
            ours.canonical(),
            theirs.canonical(),
            "{kind}: genesis.js built\n{js_xml}\nwe built\n{}",
            ours.to_document()
        );
        let expected_path = if *kind == "reconcile" {
            "/reconcile/tok123"
        } else {
            "/process/tok123"
        };
        assert_eq!(answer["path"], expected_path);

        // Schema: only the fields GENESIS.md names as forbidden by the SDK are refused.
        let forbidden = schema_forbidden(kind);
        for error in answer["errors"].as_array().unwrap() {
            let field = error["property"].as_str().unwrap_or_default();
            assert!(
                error["type"] == "additionalProperties" && forbidden.contains(&field),
                "{kind}: unexpected schema error {error}"
            );
        }
        // Without them the request is valid for the SDK.
        let mut stripped = params.clone();
        for field in forbidden {
            stripped.as_object_mut().unwrap().remove(*field);
        }
        let check = node(
            &dir,
            &json!({ "mode": "build", "requests": [{ "type": kind, "params": stripped }] }),
        );
        assert_eq!(check[0]["valid"], true, "{kind}: {}", check[0]["errors"]);
        println!("{kind}: same tree as genesis.js; schema ok except {forbidden:?}");
    }
}

#[tokio::test]
async fn genesis_js_talks_to_the_fake_server() {
    let Some(dir) = genesis_js_dir("genesis_js_talks_to_the_fake_server") else {
        return;
    };
    let fake = fake::start(FakeConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let send = |kind: &str, params: Value, password: &str| {
        json!({
            "mode": "send",
            "base_url": fake.base_url(),
            "username": fake::DEFAULT_USERNAME,
            "password": password,
            "token": fake::DEFAULT_TOKEN,
            "type": kind,
            "params": params,
        })
    };
    // An sdd_sale as the SDK sends it (schema-valid: without the fields it forbids).
    let mut req = sale();
    req.email = None;
    req.notification_url = None;
    let params = js_debit_params(&req, Some(DESCRIPTOR));
    let answer = node_async(
        dir.clone(),
        send("sdd_sale", params, fake::DEFAULT_PASSWORD),
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    let response = &answer["response"];
    assert_eq!(response["status"], "approved", "{response}");
    assert_eq!(response["transaction_type"], "sdd_sale");
    assert_eq!(response["transaction_id"], req.transaction_id);
    assert_eq!(response["amount"], "12.34", "amount round trip");
    assert_eq!(response["currency"], "EUR");
    assert_eq!(response["sent_to_acquirer"], true);
    let unique_id = response["unique_id"].as_str().unwrap().to_owned();
    let recorded = fake.transactions();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].unique_id, unique_id);
    assert_eq!(recorded[0].amount, 1234);

    // What the fake received: the SDK's headers and path, and our own document's tree.
    let received = fake.requests().pop().unwrap();
    assert_eq!(received.path, format!("/process/{}", fake::DEFAULT_TOKEN));
    assert_eq!(received.username.as_deref(), Some(fake::DEFAULT_USERNAME));
    assert_eq!(received.content_type.as_deref(), Some("text/xml"));
    assert_eq!(
        received.user_agent.as_deref(),
        Some("Genesis Node.js client v3.3.9")
    );
    let ours = transformers::debit_request(&req, Some(DESCRIPTOR)).unwrap();
    assert_eq!(
        Element::parse(&received.body).unwrap().canonical(),
        ours.canonical()
    );

    // Reconcile through the SDK.
    let answer = node_async(
        dir.clone(),
        send(
            "reconcile",
            json!({ "unique_id": unique_id }),
            fake::DEFAULT_PASSWORD,
        ),
    )
    .await;
    assert_eq!(answer["response"]["status"], "approved", "{answer}");
    assert_eq!(answer["response"]["unique_id"], unique_id);

    // A decline with its SEPA reason.
    let mut declined = sale();
    declined.transaction_id = "TXN-20260411-0000ABCF".into();
    declined.iban = Some(Secret::new("DE91100000000123456789".into()));
    declined.email = None;
    declined.notification_url = None;
    let answer = node_async(
        dir.clone(),
        send(
            "sdd_sale",
            js_debit_params(&declined, None),
            fake::DEFAULT_PASSWORD,
        ),
    )
    .await;
    assert_eq!(answer["response"]["status"], "declined", "{answer}");
    assert_eq!(answer["response"]["reason_code"], "AM04");

    // A refund of part of the sale.
    let mut r = refund();
    r.reference = unique_id.clone();
    let answer = node_async(
        dir.clone(),
        send("sdd_refund", js_refund_params(&r), fake::DEFAULT_PASSWORD),
    )
    .await;
    assert_eq!(answer["response"]["status"], "approved", "{answer}");
    assert_eq!(answer["response"]["amount"], "10.01");

    // Renewals through the SDK: an init_recurring_sale from the first-renewal IBAN, then two
    // recurring sales under it (declined AM04, then approved), then an over-refund (440).
    let mut first = first_recurring();
    first.transaction_id = "TXN-20260411-0000ABD2".into();
    first.iban = Some(Secret::new("DE71100000000000000205".into()));
    first.notification_url = None;
    let mut first_params = js_debit_params(&first, None);
    first_params
        .as_object_mut()
        .unwrap()
        .remove("mandate_reference");
    let answer = node_async(
        dir.clone(),
        send(
            "sdd_init_recurring_sale",
            first_params,
            fake::DEFAULT_PASSWORD,
        ),
    )
    .await;
    assert_eq!(answer["response"]["status"], "approved", "{answer}");
    let first_id = answer["response"]["unique_id"].as_str().unwrap().to_owned();
    for (txn, status) in [
        ("TXN-20260511-0000ABD3", "declined"),
        ("TXN-20260511-0000ABD4", "approved"),
    ] {
        let mut renewal = recurring();
        renewal.transaction_id = txn.into();
        renewal.notification_url = None;
        renewal.kind = DebitKind::Recurring {
            reference_id: first_id.clone(),
        };
        let answer = node_async(
            dir.clone(),
            send(
                "sdd_recurring_sale",
                js_debit_params(&renewal, None),
                fake::DEFAULT_PASSWORD,
            ),
        )
        .await;
        let response = &answer["response"];
        assert_eq!(response["status"], status, "{answer}");
        assert_eq!(response["transaction_type"], "sdd_recurring_sale");
        assert_eq!(response["reference_transaction_unique_id"], first_id);
        if status == "declined" {
            assert_eq!(response["reason_code"], "AM04");
        }
        // What the fake received is our own document's tree: no IBAN.
        let received = fake.requests().pop().unwrap();
        assert_eq!(
            Element::parse(&received.body).unwrap().canonical(),
            transformers::debit_request(&renewal, None)
                .unwrap()
                .canonical()
        );
        assert!(!received.body.contains("<iban>"));
    }
    let mut over = refund();
    over.transaction_id = "TXN-20260412-0000ABD5".into();
    over.reference = first_id;
    over.amount = eur(3000);
    let answer = node_async(
        dir.clone(),
        send(
            "sdd_refund",
            js_refund_params(&over),
            fake::DEFAULT_PASSWORD,
        ),
    )
    .await;
    let error = if answer["ok"] == true {
        &answer["response"]
    } else {
        &answer["error"]
    };
    assert_eq!(error["status"], "error", "{answer}");
    assert_eq!(error["code"], 440, "{answer}");

    // Wrong password: the SDK rejects with the 401 and the parsed code-110 body.
    let mut other = sale();
    other.transaction_id = "TXN-20260411-0000ABD1".into();
    other.email = None;
    other.notification_url = None;
    let answer = node_async(
        dir,
        send("sdd_sale", js_debit_params(&other, None), "wrong"),
    )
    .await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["error"]["status"], 401);
    assert_eq!(answer["error"]["response"]["code"], 110);
    fake.stop().await;
}

#[test]
fn genesis_js_accepts_our_signatures_and_echo() {
    let Some(dir) = genesis_js_dir("genesis_js_accepts_our_signatures_and_echo") else {
        return;
    };
    let unique_id = "44177a21403427eb96664a6d7e5d5d48";
    let password = "fake-password";
    for algorithm in [
        SignatureAlgorithm::Sha1,
        SignatureAlgorithm::Sha256,
        SignatureAlgorithm::Sha512,
    ] {
        let signature = transformers::notification_signature(unique_id, password, algorithm);
        let params =
            json!({ "unique_id": unique_id, "status": "approved", "signature": signature });
        let answer = node(
            &dir,
            &json!({ "mode": "notification", "password": password, "params": params }),
        );
        assert_eq!(answer["valid"], true, "{algorithm:?}");
        assert_eq!(
            answer["echo"].as_str().unwrap(),
            transformers::notification_echo_body(unique_id)
        );
        let wrong = json!({ "unique_id": unique_id, "signature": signature });
        let answer = node(
            &dir,
            &json!({ "mode": "notification", "password": "other", "params": wrong }),
        );
        assert_eq!(answer["valid"], false, "{algorithm:?}");
    }
}
