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

fn init_recurring(transaction_id: &str, iban: &str, amount: &str) -> String {
    sale(transaction_id, iban, amount).replace("sdd_sale", "sdd_init_recurring_sale")
}

fn recurring(transaction_id: &str, reference: &str, amount: &str) -> String {
    refund(transaction_id, reference, amount).replace("sdd_refund", "sdd_recurring_sale")
}

fn reconcile_txn(transaction_id: &str) -> String {
    format!("<reconcile><transaction_id>{transaction_id}</transaction_id></reconcile>")
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

#[tokio::test]
async fn recurring_sales_follow_the_sandbox_rules_and_are_stored() {
    let fake = start().await;
    let client = Client::new(&fake);
    // The first-renewal IBAN: FRST approved, first renewal AM04, the retry approved.
    let first = client
        .process(&init_recurring(
            "TXN-RS-1",
            "DE71100000000000000205",
            "2999",
        ))
        .await;
    assert_eq!(first.status, "approved");
    let first_id = first.unique_id.unwrap();
    let renewal = client
        .process(&recurring("TXN-RS-2", &first_id, "2999"))
        .await;
    assert_eq!(renewal.status, "declined", "{renewal:?}");
    assert_eq!(renewal.reason_code.as_deref(), Some("AM04"));
    assert_eq!(
        renewal.transaction_type.as_deref(),
        Some("sdd_recurring_sale")
    );
    assert_eq!(
        renewal.reference_transaction_unique_id.as_deref(),
        Some(first_id.as_str())
    );
    // Same transaction_id again: 450, and it does not count as the next renewal.
    assert_error(
        &client
            .process(&recurring("TXN-RS-2", &first_id, "2999"))
            .await,
        "450",
    );
    for txn in ["TXN-RS-3", "TXN-RS-4"] {
        let retry = client.process(&recurring(txn, &first_id, "2999")).await;
        assert_eq!(retry.status, "approved", "{txn}: {retry:?}");
        assert_eq!(
            retry.reference_transaction_unique_id.as_deref(),
            Some(first_id.as_str())
        );
    }
    // Stored: reconcile by transaction_id finds the decline and the approval.
    let found = client.reconcile(&reconcile_txn("TXN-RS-2")).await;
    assert_eq!(
        (found.status.as_str(), found.reason_code.as_deref()),
        ("declined", Some("AM04"))
    );
    assert_eq!(found.unique_id, renewal.unique_id);
    assert_eq!(
        client.reconcile(&reconcile_txn("TXN-RS-3")).await.status,
        "approved"
    );
    // The renewals collect from the first debit's IBAN.
    let stored: Vec<_> = fake
        .transactions()
        .into_iter()
        .filter(|t| t.transaction_type == "sdd_recurring_sale")
        .collect();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .all(|t| t.iban.as_deref() == Some("DE71100000000000000205")
                && t.reference_id.as_deref() == Some(first_id.as_str()))
    );

    // A declining IBAN's first debit cannot be renewed (400); the reference of an sdd_sale
    // is not a recurring one (420); an unknown reference is 410. Each is recorded as an
    // error transaction that reconcile finds.
    let bad_first = client
        .process(&init_recurring("TXN-RS-5", "DE91100000000123456789", "100"))
        .await;
    assert_eq!(bad_first.status, "declined");
    let one_off = client
        .process(&sale("TXN-RS-6", "DE89370400440532013000", "100"))
        .await;
    for (txn, reference, code) in [
        ("TXN-RS-7", bad_first.unique_id.unwrap(), "400"),
        ("TXN-RS-8", one_off.unique_id.unwrap(), "420"),
        ("TXN-RS-9", "f".repeat(32), "410"),
    ] {
        let answer = client.process(&recurring(txn, &reference, "100")).await;
        assert_error(&answer, code);
        assert_eq!(answer.transaction_id.as_deref(), Some(txn));
        assert_eq!(
            answer.reference_transaction_unique_id.is_some(),
            code != "410",
            "{txn}: the reference is echoed when it was found"
        );
        let found = client.reconcile(&reconcile_txn(txn)).await;
        assert_error(&found, code);
        assert_eq!(found.unique_id, answer.unique_id);
    }

    // The chargeback IBAN: renewals are approved and charged back at settlement.
    let cb_first = client
        .process(&init_recurring(
            "TXN-RS-10",
            "DE43100000000000000806",
            "500",
        ))
        .await
        .unique_id
        .unwrap();
    assert_eq!(
        client
            .process(&recurring("TXN-RS-11", &cb_first, "500"))
            .await
            .status,
        "approved"
    );
    assert_eq!(fake.settle(), 2);
    let charged_back = client.reconcile(&reconcile_txn("TXN-RS-11")).await;
    assert_eq!(
        (
            charged_back.status.as_str(),
            charged_back.reason_code.as_deref()
        ),
        ("chargebacked", Some("MD06"))
    );
    fake.stop().await;
}

#[tokio::test]
async fn refunds_check_the_sum_decline_for_the_refund_iban_and_are_stored() {
    let fake = start().await;
    let client = Client::new(&fake);
    let first = client
        .process(&init_recurring(
            "TXN-RF-1",
            "DE89370400440532013000",
            "1000",
        ))
        .await
        .unique_id
        .unwrap();
    let renewal = client
        .process(&recurring("TXN-RF-2", &first, "1000"))
        .await
        .unique_id
        .unwrap();
    // Partial refunds of the renewal up to its amount; the sum may not go over (440).
    let r1 = client.process(&refund("TXN-RF-R1", &renewal, "400")).await;
    assert_eq!(r1.status, "approved");
    assert_eq!(
        r1.reference_transaction_unique_id.as_deref(),
        Some(renewal.as_str())
    );
    let over = client.process(&refund("TXN-RF-R2", &renewal, "601")).await;
    assert_error(&over, "440");
    assert!(
        over.technical_message
            .as_deref()
            .unwrap()
            .contains("amount exceeds amount of reference transaction")
    );
    assert_eq!(
        client
            .process(&refund("TXN-RF-R3", &renewal, "600"))
            .await
            .status,
        "approved"
    );
    assert_error(
        &client.process(&refund("TXN-RF-R4", &renewal, "1")).await,
        "440",
    );
    // Stored: reconcile by transaction_id finds approved refunds and the refused one.
    let found = client.reconcile(&reconcile_txn("TXN-RF-R1")).await;
    assert_eq!(found.status, "approved");
    assert_eq!(found.transaction_type.as_deref(), Some("sdd_refund"));
    assert_eq!(found.unique_id, r1.unique_id);
    assert_error(&client.reconcile(&reconcile_txn("TXN-RF-R2")).await, "440");
    let original = fake
        .transactions()
        .into_iter()
        .find(|t| t.unique_id == renewal)
        .unwrap();
    assert_eq!(
        (original.status.as_str(), original.refunded),
        ("refunded", 1000)
    );
    // The first debit is untouched by refunds of its renewal.
    assert_eq!(
        client.reconcile(&reconcile_txn("TXN-RF-1")).await.status,
        "approved"
    );
    // A refund of a refund: 420, stored too.
    assert_error(
        &client
            .process(&refund("TXN-RF-R5", r1.unique_id.as_deref().unwrap(), "1"))
            .await,
        "420",
    );
    assert_error(&client.reconcile(&reconcile_txn("TXN-RF-R5")).await, "420");

    // The refund-decline IBAN: its debits are approved, every refund of them is declined
    // AC04 and takes nothing off the debit.
    let sale_id = client
        .process(&sale("TXN-RF-3", "DE87100000000000000402", "1000"))
        .await
        .unique_id
        .unwrap();
    let rd_first = client
        .process(&init_recurring(
            "TXN-RF-4",
            "DE87100000000000000402",
            "1000",
        ))
        .await
        .unique_id
        .unwrap();
    let rd_renewal = client
        .process(&recurring("TXN-RF-5", &rd_first, "1000"))
        .await;
    assert_eq!(rd_renewal.status, "approved");
    for (txn, reference) in [
        ("TXN-RF-R6", sale_id.clone()),
        ("TXN-RF-R7", rd_first),
        ("TXN-RF-R8", rd_renewal.unique_id.unwrap()),
    ] {
        let answer = client.process(&refund(txn, &reference, "1000")).await;
        assert_eq!(answer.status, "declined", "{txn}: {answer:?}");
        assert_eq!(answer.reason_code.as_deref(), Some("AC04"));
        assert_eq!(
            answer.reference_transaction_unique_id.as_deref(),
            Some(reference.as_str())
        );
        let found = client.reconcile(&reconcile_txn(txn)).await;
        assert_eq!(found.status, "declined");
        assert_eq!(found.unique_id, answer.unique_id);
    }
    let sale_now = fake
        .transactions()
        .into_iter()
        .find(|t| t.unique_id == sale_id)
        .unwrap();
    assert_eq!(
        (sale_now.status.as_str(), sale_now.refunded),
        ("approved", 0)
    );
    // Over the amount is still 440 (checked before the bank is asked).
    assert_error(
        &client.process(&refund("TXN-RF-R9", &sale_id, "1001")).await,
        "440",
    );
    fake.stop().await;
}
