//! `catalyst import KIND FILE --tenant ID` against the real binary: leads then orders are
//! imported from files; a file with a bad row fails, names the row and column and stores
//! nothing.

mod support;

use catalyst_store::test_support::TestDb;
use serde_json::Value;
use support::{catalyst, count, free_port};

fn import_command(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let run = |args: &[&str]| catalyst(&url, &key, &bind).args(args).output().unwrap();
    let out = run(&["tenant", "create", "--name", "Importer", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tenant = tenant["tenant_id"].as_str().unwrap();

    let leads = dir.path().join("leads.csv");
    std::fs::write(
        &leads,
        "email,first_name,last_name,country\nada@example.com,Ada,Lovelace,DE\n",
    )
    .unwrap();
    let out = run(&[
        "import",
        "leads",
        leads.to_str().unwrap(),
        "--tenant",
        tenant,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 1, "{report}");

    let orders = dir.path().join("orders.csv");
    std::fs::write(&orders, "email,amount,currency,status\nada@example.com,9.99,EUR,COMPLETED\nada@example.com,1.999,EUR,COMPLETED\n").unwrap();
    let out = run(&[
        "import",
        "orders",
        orders.to_str().unwrap(),
        "--tenant",
        tenant,
    ]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            report["errors"][0]["row"].as_u64(),
            report["errors"][0]["column"].as_str()
        ),
        (Some(2), Some("amount")),
        "{report}"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM orders"), 0);

    let out = run(&[
        "import",
        "orders",
        orders.to_str().unwrap(),
        "--tenant",
        tenant,
        "--partial",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM orders WHERE amount_minor = 999"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = 'order.imported'"
        ),
        1
    );
}

#[test]
fn import_command_sqlite() {
    import_command(TestDb::sqlite());
}

#[test]
fn import_command_postgres() {
    if let Some(db) = TestDb::postgres() {
        import_command(db);
    }
}
