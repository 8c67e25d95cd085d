//! `catalyst batch import FILE --tenant ID` against the real binary: a collection paid through
//! the server on a BATCH gateway is approved by a pain.002 file; the same file again changes
//! nothing; an unreadable file fails with its line.

mod support;

use catalyst_domain::transaction::TransactionStatus;
use catalyst_store::PaymentSession;
use catalyst_store::test_support::TestDb;
use serde_json::{Value, json};
use support::{catalyst, count, free_port, start};

fn pain002(e2e: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
  <GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-12-08T08:00:00</CreDtTm></GrpHdr>
  <OrgnlGrpInfAndSts><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId></OrgnlGrpInfAndSts>
  <OrgnlPmtInfAndSts><OrgnlPmtInfId>MSG-1-1</OrgnlPmtInfId>
    <TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
  </OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>
"#
    )
}

fn batch_import(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let run = |args: &[&str]| catalyst(&url, &key, &bind).args(args).output().unwrap();
    let out = run(&["tenant", "create", "--name", "Bank file GmbH", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut serve = catalyst(&url, &key, &bind);
    serve.arg("serve");
    let server = start(serve, &bind);
    catalyst_gateway::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    let gw: Value = http
        .post(format!("http://{bind}/api/v1/gateways/"))
        .bearer_auth(tenant["secret_key"].as_str().unwrap())
        .json(&json!({"name": "Bank file", "adapter": "BATCH",
            "credentials": {"creditor_name": "Acme GmbH", "creditor_id": "DE98ZZZ09999999999",
                "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let created: Value = http
        .post(format!("http://{bind}/api/v1/payment-sessions/"))
        .bearer_auth(tenant["restricted_key"].as_str().unwrap())
        .json(&json!({"gateway_id": gw["id"], "amount": "19.99", "currency": "EUR", "billing_type": "ONE_OFF",
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["session_token"]
        .as_str()
        .expect("a session")
        .to_owned();
    let paid: Value = http
        .post(format!(
            "http://{bind}/api/v1/payment-sessions/{token}/pay/"
        ))
        .json(&json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(paid["status"], "pending", "{paid}");
    drop(server);

    let transaction = || {
        db.store
            .read(|c| {
                let s = PaymentSession::find_by_token(c, &token)?;
                Ok::<_, catalyst_store::StoreError>(s.latest_transaction(c)?.unwrap())
            })
            .unwrap()
    };
    let t = transaction();
    let tenant_id = tenant["tenant_id"].as_str().unwrap();
    // The operator cuts the batch (the file goes to the bank), then imports the bank's answer.
    let files = dir.path().join("files");
    let out = run(&[
        "batch",
        "export",
        "--tenant",
        tenant_id,
        "--out",
        files.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e2e = uuid::Uuid::parse_str(&t.id).unwrap().simple().to_string();
    let cut_file = std::fs::read_dir(&files)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(std::fs::read_to_string(&cut_file).unwrap().contains(&e2e));
    let file = dir.path().join("status.xml");
    std::fs::write(&file, pain002(&e2e)).unwrap();

    let out = run(&[
        "batch",
        "import",
        file.to_str().unwrap(),
        "--tenant",
        tenant_id,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            summary["kind"].as_str(),
            summary["approved"].as_u64(),
            summary["duplicate"].as_bool()
        ),
        (Some("pain.002"), Some(1), Some(false)),
        "{summary}"
    );
    assert_eq!(transaction().status, TransactionStatus::Approved);
    let events = count(&db, "SELECT COUNT(*) AS n FROM webhook_events");

    let out = run(&[
        "batch",
        "import",
        file.to_str().unwrap(),
        "--tenant",
        tenant_id,
        "--gateway",
        gw["id"].as_str().unwrap(),
    ]);
    assert!(out.status.success());
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (again["duplicate"].as_bool(), again["approved"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM webhook_events"),
        events
    );

    std::fs::write(
        &file,
        "<?xml version=\"1.0\"?>\n<Document>\n<Oops></Document>",
    )
    .unwrap();
    let out = run(&[
        "batch",
        "import",
        file.to_str().unwrap(),
        "--tenant",
        tenant_id,
    ]);
    assert!(!out.status.success());
    let refused: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            refused["code"].as_str(),
            refused["errors"][0]["line"].as_u64()
        ),
        (Some("malformed_bank_file"), Some(3)),
        "{refused}"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM batch_imports"), 1);
}

#[test]
fn batch_import_sqlite() {
    batch_import(TestDb::sqlite());
}

#[test]
fn batch_import_postgres() {
    if let Some(db) = TestDb::postgres() {
        batch_import(db);
    }
}
