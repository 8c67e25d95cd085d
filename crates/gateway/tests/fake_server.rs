//! The fake Genesis server's protocol (GENESIS.md §9), spoken to with raw HTTP.

use std::time::Duration;

use catalyst_gateway::emp::transformers::{
    PaymentResponse, parse_payment_response, parse_payment_responses,
};
use catalyst_gateway::fake::{self, FakeConfig, FakeHandle, Terminal};
use catalyst_gateway::xml::Element;

struct Client {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, String)>,
}

impl Client {
    fn new(fake: &FakeHandle) -> Client {
        catalyst_gateway::install_crypto_provider();
        Client {
            http: reqwest::Client::new(),
            base: fake.base_url(),
            auth: Some((fake::DEFAULT_USERNAME.into(), fake::DEFAULT_PASSWORD.into())),
        }
    }

    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_owned());
        if let Some((user, password)) = &self.auth {
            req = req.basic_auth(user, Some(password));
        }
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    async fn post(&self, path: &str, body: &str) -> PaymentResponse {
        let (status, _, text) = self.post_raw(path, "text/xml", body).await;
        assert_eq!(status, 200, "{text}");
        parse_payment_response(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    async fn process(&self, body: &str) -> PaymentResponse {
        self.post(&format!("/process/{}/", fake::DEFAULT_TOKEN), body)
            .await
    }

    async fn reconcile(&self, body: &str) -> PaymentResponse {
        self.post(&format!("/reconcile/{}", fake::DEFAULT_TOKEN), body)
            .await
    }
}

fn sale(transaction_id: &str, iban: &str, amount: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<payment_transaction>
  <transaction_type>sdd_sale</transaction_type>
  <transaction_id>{transaction_id}</transaction_id>
  <usage>Tickets</usage>
  <remote_ip>203.0.113.7</remote_ip>
  <amount>{amount}</amount>
  <currency>EUR</currency>
  <iban>{iban}</iban>
  <billing_address><first_name>Max</first_name><last_name>Mustermann</last_name><country>DE</country></billing_address>
</payment_transaction>"#
    )
}

fn refund(transaction_id: &str, reference: &str, amount: &str) -> String {
    format!(
        "<payment_transaction><transaction_type>sdd_refund</transaction_type><transaction_id>{transaction_id}</transaction_id><usage>r</usage><remote_ip>127.0.0.1</remote_ip><reference_id>{reference}</reference_id><amount>{amount}</amount><currency>EUR</currency></payment_transaction>"
    )
}

fn assert_error(resp: &PaymentResponse, code: &str) {
    assert_eq!(resp.status, "error", "{resp:?}");
    assert_eq!(resp.code.as_deref(), Some(code), "{resp:?}");
}

async fn start() -> FakeHandle {
    fake::start(FakeConfig::default(), "127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test]
async fn authentication_terminal_content_type_and_xml() {
    let fake = start().await;
    let mut client = Client::new(&fake);
    let body = sale("TXN-P-1", "DE89370400440532013000", "100");

    // No or wrong credentials: 401 with the realm and a code-110 body.
    for auth in [None, Some(("fake-user".to_owned(), "wrong".to_owned()))] {
        client.auth = auth;
        let (status, headers, text) = client
            .post_raw(
                &format!("/process/{}/", fake::DEFAULT_TOKEN),
                "text/xml",
                &body,
            )
            .await;
        assert_eq!(status, 401);
        assert_eq!(headers["www-authenticate"], "Basic realm=\"Web Password\"");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/xml")
        );
        assert_error(&parse_payment_response(&text).unwrap(), "110");
    }
    client.auth = Some((fake::DEFAULT_USERNAME.into(), fake::DEFAULT_PASSWORD.into()));

    // Unknown terminal: 220 on process and reconcile.
    assert_error(&client.post("/process/nope/", &body).await, "220");
    assert_error(
        &client
            .post(
                "/reconcile/nope",
                "<reconcile><unique_id>x</unique_id></reconcile>",
            )
            .await,
        "220",
    );

    // Content type.
    for content_type in ["application/json", "application/xml", ""] {
        let (status, _, text) = client
            .post_raw(
                &format!("/process/{}", fake::DEFAULT_TOKEN),
                content_type,
                &body,
            )
            .await;
        assert_eq!(status, 200);
        assert_error(&parse_payment_response(&text).unwrap(), "360");
    }
    let (_, _, text) = client
        .post_raw(
            &format!("/process/{}", fake::DEFAULT_TOKEN),
            "text/xml; charset=UTF-8",
            &body,
        )
        .await;
    assert_eq!(parse_payment_response(&text).unwrap().status, "approved");

    // Unparsable or wrong root.
    for bad in ["<payment_transaction>", "hello", "<reconcile/>"] {
        assert_error(&client.process(bad).await, "350");
    }
    fake.stop().await;
}

#[tokio::test]
async fn both_path_forms_work() {
    let fake = start().await;
    let client = Client::new(&fake);
    for (i, path) in [
        format!("/process/{}", fake::DEFAULT_TOKEN),
        format!("/process/{}/", fake::DEFAULT_TOKEN),
    ]
    .iter()
    .enumerate()
    {
        let resp = client
            .post(
                path,
                &sale(&format!("TXN-PATH-{i}"), "DE89370400440532013000", "100"),
            )
            .await;
        assert_eq!(resp.status, "approved");
        for reconcile in [
            format!("/reconcile/{}", fake::DEFAULT_TOKEN),
            format!("/reconcile/{}/", fake::DEFAULT_TOKEN),
        ] {
            let body = format!(
                "<reconcile><unique_id>{}</unique_id></reconcile>",
                resp.unique_id.as_deref().unwrap()
            );
            assert_eq!(client.post(&reconcile, &body).await.status, "approved");
        }
    }
    fake.stop().await;
}

#[tokio::test]
async fn validation_codes() {
    let fake = start().await;
    let client = Client::new(&fake);
    let ok = sale("TXN-V-1", "DE89370400440532013000", "100");
    let cases: Vec<(String, &str)> = vec![
        (ok.replace("sdd_sale", "sdd_teleport"), "310"),
        (ok.replace("<transaction_type>sdd_sale</transaction_type>", ""), "320"),
        (ok.replace("<usage>Tickets</usage>", ""), "320"),
        (ok.replace("<remote_ip>203.0.113.7</remote_ip>", ""), "320"),
        (ok.replace("<iban>DE89370400440532013000</iban>", ""), "320"),
        (ok.replace("<first_name>Max</first_name>", ""), "320"),
        (ok.replace(
            "<billing_address><first_name>Max</first_name><last_name>Mustermann</last_name><country>DE</country></billing_address>",
            "",
        ), "320"),
        (ok.replace("<amount>100</amount>", "<amount>1.00</amount>"), "330"),
        (ok.replace("<amount>100</amount>", "<amount>0</amount>"), "330"),
        (ok.replace("203.0.113.7", "localhost"), "330"),
        (ok.replace("DE89370400440532013000", "DE89-3704"), "330"),
        (ok.replace("<country>DE</country>", "<country>Germany</country>"), "330"),
        (ok.replace("</iban>", "</iban><bic>COBA</bic>"), "330"),
        (ok.replace("DE89370400440532013000", "DE89370400440532013001"), "340"),
        (ok.replace("<currency>EUR</currency>", "<currency>USD</currency>"), "340"),
    ];
    for (body, code) in cases {
        let resp = client.process(&body).await;
        assert_error(&resp, code);
        assert!(resp.technical_message.is_some());
    }
    assert!(
        fake.transactions().is_empty(),
        "validation errors record nothing"
    );

    // sdd_init_recurring_sale does not need a billing address.
    let init = ok
        .replace("sdd_sale", "sdd_init_recurring_sale")
        .replace(
            "<billing_address><first_name>Max</first_name><last_name>Mustermann</last_name><country>DE</country></billing_address>",
            "",
        );
    assert_eq!(client.process(&init).await.status, "approved");
    fake.stop().await;
}

#[tokio::test]
async fn duplicates_references_refunds_and_reconcile() {
    let fake = start().await;
    let client = Client::new(&fake);
    let first = client
        .process(&sale("TXN-D-1", "DE89370400440532013000", "1000"))
        .await;
    assert_eq!(first.status, "approved");
    assert_eq!(first.amount_minor, Some(1000));
    assert_eq!(first.mode.as_deref(), Some("test"));
    assert_eq!(first.sent_to_acquirer, Some(true));
    let timestamp = first.timestamp.clone().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(&timestamp, "%Y-%m-%dT%H:%M:%SZ").is_ok());
    let unique_id = first.unique_id.clone().unwrap();
    assert_eq!(unique_id.len(), 32);

    // Duplicate transaction_id: 450, nothing new.
    let dup = client
        .process(&sale("TXN-D-1", "DE89370400440532013000", "1000"))
        .await;
    assert_error(&dup, "450");
    assert_eq!(fake.transactions().len(), 1);

    // Refunds: unknown reference 410, over the amount 440, partial ok, then 440 again.
    assert_error(
        &client
            .process(&refund("TXN-R-1", "ffffffffffffffffffffffffffffffff", "1"))
            .await,
        "410",
    );
    assert_error(
        &client.process(&refund("TXN-R-2", &unique_id, "1001")).await,
        "440",
    );
    let r = client.process(&refund("TXN-R-3", &unique_id, "600")).await;
    assert_eq!(r.status, "approved");
    assert_eq!(
        r.reference_transaction_unique_id.as_deref(),
        Some(unique_id.as_str())
    );
    assert_error(
        &client.process(&refund("TXN-R-4", &unique_id, "401")).await,
        "440",
    );
    // A refund of a refund: 420.
    let refund_id = r.unique_id.unwrap();
    assert_error(
        &client.process(&refund("TXN-R-5", &refund_id, "1")).await,
        "420",
    );

    // Reconcile shows the current status, by unique_id or transaction_id.
    let by_unique = client
        .reconcile(&format!(
            "<reconcile><unique_id>{unique_id}</unique_id></reconcile>"
        ))
        .await;
    assert_eq!(by_unique.status, "refunded");
    let by_txn = client
        .reconcile("<reconcile><transaction_id>TXN-D-1</transaction_id></reconcile>")
        .await;
    assert_eq!(by_txn.unique_id.as_deref(), Some(unique_id.as_str()));
    assert_error(
        &client
            .reconcile("<reconcile><transaction_id>TXN-NONE</transaction_id></reconcile>")
            .await,
        "460",
    );
    assert_error(
        &client
            .reconcile("<reconcile><arn>74537605259536943186384</arn></reconcile>")
            .await,
        "460",
    );
    assert_error(&client.reconcile("<reconcile/>").await, "320");

    // Declines and the unreachable IBAN.
    let declined = client
        .process(&sale("TXN-D-2", "DE91100000000123456789", "100"))
        .await;
    assert_eq!(declined.status, "declined");
    assert_eq!(declined.reason_code.as_deref(), Some("AM04"));
    assert!(declined.technical_message.unwrap().contains("AM04"));
    assert_error(
        &client
            .process(&refund(
                "TXN-R-6",
                declined.unique_id.as_deref().unwrap(),
                "1",
            ))
            .await,
        "400",
    );
    let (status, _, _) = client
        .post_raw(
            &format!("/process/{}", fake::DEFAULT_TOKEN),
            "text/xml",
            &sale("TXN-D-3", "DE76100000000000000503", "100"),
        )
        .await;
    assert_eq!(status, 503);
    assert_error(
        &client
            .reconcile("<reconcile><transaction_id>TXN-D-3</transaction_id></reconcile>")
            .await,
        "460",
    );
    fake.stop().await;
}

#[tokio::test]
async fn reconcile_by_date_pages_by_100() {
    let fake = start().await;
    let client = Client::new(&fake);
    for i in 0..101 {
        client
            .process(&sale(
                &format!("TXN-BD-{i}"),
                "DE89370400440532013000",
                "100",
            ))
            .await;
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let path = format!("/reconcile/by_date/{}/", fake::DEFAULT_TOKEN);
    let page = |n: u32| {
        format!(
            "<reconcile><start_date>{today}</start_date><end_date>{today}</end_date><page>{n}</page></reconcile>"
        )
    };
    let (status, _, text) = client.post_raw(&path, "text/xml", &page(1)).await;
    assert_eq!(status, 200);
    let root = Element::parse(&text).unwrap();
    assert_eq!(root.attribute("total_count"), Some("101"));
    assert_eq!(root.attribute("per_page"), Some("100"));
    let (items, pages) = parse_payment_responses(&text).unwrap();
    assert_eq!((items.len(), pages), (100, 2));
    let (_, _, text) = client.post_raw(&path, "text/xml", &page(2)).await;
    let (items, _) = parse_payment_responses(&text).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].transaction_id.as_deref(), Some("TXN-BD-100"));
    // Nothing before today's transactions.
    let (_, _, text) = client
        .post_raw(&path, "text/xml", "<reconcile><start_date>2020-01-01</start_date><end_date>2020-01-31 23:59:59</end_date></reconcile>")
        .await;
    assert_eq!(parse_payment_responses(&text).unwrap().0.len(), 0);
    // Bad or missing start_date.
    let (_, _, text) = client
        .post_raw(
            &path,
            "text/xml",
            "<reconcile><start_date>01/01/2024</start_date></reconcile>",
        )
        .await;
    assert_error(&parse_payment_response(&text).unwrap(), "340");
    let (_, _, text) = client.post_raw(&path, "text/xml", "<reconcile/>").await;
    assert_error(&parse_payment_response(&text).unwrap(), "320");
    fake.stop().await;
}

#[tokio::test]
async fn terminals_are_separate_and_the_delay_is_adjustable() {
    let config = FakeConfig {
        terminals: vec![
            Terminal::new("tok-a", "merchant", "pw"),
            Terminal::new("tok-b", "merchant", "pw"),
            Terminal::new("tok-c", "other", "pw2"),
        ],
        ..FakeConfig::default()
    };
    let fake = fake::start(config, "127.0.0.1:0").await.unwrap();
    let mut client = Client::new(&fake);
    client.auth = Some(("merchant".into(), "pw".into()));
    let body = sale("TXN-T-1", "DE89370400440532013000", "100");
    assert_eq!(
        client.post("/process/tok-a", &body).await.status,
        "approved"
    );
    // The same transaction_id on another terminal is another transaction.
    assert_eq!(
        client.post("/process/tok-b", &body).await.status,
        "approved"
    );
    // A terminal of another login: 220.
    assert_error(&client.post("/process/tok-c", &body).await, "220");
    assert_error(
        &client
            .post(
                "/reconcile/tok-b",
                "<reconcile><transaction_id>TXN-NOPE</transaction_id></reconcile>",
            )
            .await,
        "460",
    );

    // The delay endpoint.
    let http = reqwest::Client::new();
    let delay_url = format!("{}/__fake/delay", fake.base_url());
    assert_eq!(
        http.post(&delay_url)
            .body("250")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(fake.delay(), Duration::from_millis(250));
    assert_eq!(
        http.get(&delay_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim(),
        "250"
    );
    assert_eq!(
        http.post(&delay_url)
            .body("soon")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let started = std::time::Instant::now();
    client
        .post(
            "/process/tok-a",
            &sale("TXN-T-2", "DE89370400440532013000", "100"),
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    // The transaction was recorded before the delayed answer.
    assert_eq!(fake.transactions().len(), 3);
    let settle = http
        .post(format!("{}/__fake/settle", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(settle.text().await.unwrap(), "{\"settled\":0}");
    fake.stop().await;
}

#[test]
fn run_blocking_reports_bind_errors() {
    // An address that cannot be bound: the error comes back instead of a running server.
    let err = fake::run_blocking(FakeConfig::default(), "256.0.0.1:0").unwrap_err();
    assert!(!err.to_string().is_empty());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let no_terminals = FakeConfig {
        terminals: Vec::new(),
        ..FakeConfig::default()
    };
    let err = runtime
        .block_on(fake::start(no_terminals, "127.0.0.1:0"))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
