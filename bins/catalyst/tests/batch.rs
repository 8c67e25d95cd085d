//! `catalyst batch export` against the real binary: two debits paid through the server on a
//! BATCH gateway are cut into one pain.008 file written to --out (valid against the ISO XSD);
//! a second export finds nothing pending; a too-early date is refused and writes nothing.

mod support;

use std::process::Command;

use catalyst_store::test_support::TestDb;
use serde_json::{Value, json};
use support::{catalyst, count, free_port, start};

fn batch_export(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let out_dir = dir.path().join("files");
    let bind = format!("127.0.0.1:{}", free_port());
    let run = |args: &[&str]| catalyst(&url, &key, &bind).args(args).output().unwrap();
    let out = run(&["demo", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let demo: Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut serve = catalyst(&url, &key, &bind);
    serve.arg("serve");
    let server = start(serve, &bind);
    catalyst_gateway::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    let api = |path: &str| format!("http://{bind}/api/v1/{path}");
    let gw: Value = http
        .post(api("gateways/"))
        .bearer_auth(demo["secret_key"].as_str().unwrap())
        .json(&json!({"name": "Bank file", "adapter": "BATCH", "credentials": {"creditor_name": "Acme GmbH",
            "creditor_id": "DE98ZZZ09999999999", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let gateway = gw["id"].as_str().expect("a gateway").to_owned();
    for (email, amount) in [("a@example.com", "19.99"), ("b@example.com", "0.02")] {
        let created: Value = http
            .post(api("payment-sessions/"))
            .bearer_auth(demo["restricted_key"].as_str().unwrap())
            .json(&json!({"gateway_id": gateway, "amount": amount, "currency": "EUR", "billing_type": "ONE_OFF",
                "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"}}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let token = created["session_token"].as_str().expect("a session");
        let paid: Value = http
            .post(api(&format!("payment-sessions/{token}/pay/")))
            .json(&json!({"iban": "DE02120300000000202051", "iban_holder_name": "Ada Lovelace"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(paid["status"], "pending", "{paid}");
    }
    drop(server);

    let today = catalyst_store::now().date().to_string();
    let out = run(&[
        "batch",
        "export",
        "--collection-date",
        &today,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "a date today is too early");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("collection_date"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM batches"), 0);

    let tenant = demo["tenant_id"].as_str().unwrap();
    let out = run(&[
        "batch",
        "export",
        "--tenant",
        tenant,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2 collections 20.01 EUR") && stdout.contains("files written: 1"),
        "{stdout}"
    );
    let files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let [file] = files.as_slice() else {
        panic!("one file: {files:?}")
    };
    let message_id = file.file_stem().unwrap().to_str().unwrap();
    let xml = std::fs::read_to_string(file).unwrap();
    assert!(
        xml.contains(&format!("<MsgId>{message_id}</MsgId>"))
            && xml.contains("<NbOfTxs>2</NbOfTxs><CtrlSum>20.01</CtrlSum>"),
        "{xml}"
    );
    assert_schema_valid(file);
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM batch_transactions"),
        2
    );

    let out = run(&[
        "batch",
        "export",
        "--gateway",
        &gateway,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("nothing pending")
            && stdout.contains("files written: 0"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
    let out = run(&[
        "batch",
        "export",
        "--gateway",
        demo["gateway_id"].as_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "the sandbox gateway is no BATCH gateway"
    );
}

/// xmllint against the pain.008.001.08 XSD (skipped without xmllint unless
/// SEPA_REQUIRE_XMLLINT is set).
fn assert_schema_valid(file: &std::path::Path) {
    let required = std::env::var_os("SEPA_REQUIRE_XMLLINT").is_some_and(|v| !v.is_empty());
    if Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            !required,
            "SEPA_REQUIRE_XMLLINT is set but xmllint is not installed"
        );
        return;
    }
    let xsd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/sepa/xsd/pain.008.001.08.xsd"
    );
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn batch_export_sqlite() {
    batch_export(TestDb::sqlite());
}

#[test]
fn batch_export_postgres() {
    if let Some(db) = TestDb::postgres() {
        batch_export(db);
    }
}
