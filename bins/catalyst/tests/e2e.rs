//! The newcomer's path, against the real binary: `catalyst demo --json`, `catalyst serve`,
//! create a session with the README's request, open its `payment_url`, stop with SIGTERM.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use catalyst_store::test_support::TestDb;
use serde_json::{Value, json};
use support::{BIN, Server, catalyst, free_port, wait_for_port};

fn wait_for(addr: &str) {
    wait_for_port(addr);
}

/// The demo command with info logs (the log assertions need them).
fn catalyst_logged(url: &str, key: &std::path::Path, bind: &str) -> Command {
    let mut cmd = catalyst(url, key, bind);
    cmd.env("RUST_LOG", "info");
    cmd
}

fn newcomer_path(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());

    let demo = |extra: &[&str]| -> Value {
        let out = catalyst(&url, &key, &bind)
            .args(["demo", "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = demo(&[]);
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 10);
    for k in [
        "tenant_id",
        "secret_key",
        "restricted_key",
        "gateway_id",
        "campaign_id",
        "recurring_campaign_id",
        "hosted_page_id",
        "webhook_profile_id",
        "webhook_secret",
        "base_url",
    ] {
        assert!(first[k].is_string(), "{k} missing in {first}");
    }
    let second = demo(&["--webhook-url", "http://127.0.0.1:9/hook"]);
    for k in [
        "tenant_id",
        "gateway_id",
        "campaign_id",
        "recurring_campaign_id",
        "hosted_page_id",
        "webhook_profile_id",
        "webhook_secret",
    ] {
        assert_eq!(first[k], second[k], "{k} must be stable across demo runs");
    }
    assert_ne!(
        first["secret_key"], second["secret_key"],
        "each run issues fresh keys"
    );
    assert_eq!(second["base_url"], format!("http://{bind}"));

    let child = catalyst_logged(&url, &key, &bind)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    wait_for(&bind);

    catalyst_gateway::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    let res = http
        .post(format!("http://{bind}/api/v1/payment-sessions/"))
        .bearer_auth(second["restricted_key"].as_str().unwrap())
        .json(&json!({"campaign_id": second["campaign_id"],
                      "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}}))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert!(res.headers().contains_key("x-request-id"));
    let created: Value = res.json().unwrap();
    let page = http
        .get(created["payment_url"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    // The demo's page is rendered in the session's locale: "29,99 €" in German, "€29.99" in English.
    let html = page.text().unwrap();
    assert!(
        html.contains("29,99") || html.contains("29.99"),
        "the page shows the amount: {html}"
    );
    // Each demo run revokes the keys the previous run issued.
    let gateways = |key: &Value| {
        http.get(format!("http://{bind}/api/v1/gateways/"))
            .bearer_auth(key.as_str().unwrap())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(gateways(&first["secret_key"]), 401);
    assert_eq!(gateways(&second["secret_key"]), 200);

    // Graceful shutdown on SIGTERM.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        !log.contains(second["restricted_key"].as_str().unwrap()),
        "keys must never be logged"
    );
    assert!(
        !log.contains(created["session_token"].as_str().unwrap()),
        "session tokens must never be logged"
    );
}

#[test]
fn newcomer_path_on_sqlite() {
    newcomer_path(TestDb::sqlite());
}

#[test]
fn newcomer_path_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        newcomer_path(db);
    }
}

#[test]
fn a_fresh_data_directory_gets_a_database_a_key_and_the_demo_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CATALYST_BIND", &bind)
        .current_dir(dir.path());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    wait_for(&bind);
    assert!(dir.path().join("catalyst.db").exists());
    let key = std::fs::read_to_string(dir.path().join("catalyst.key")).unwrap();
    assert!(catalyst_store::DataKey::from_base64(&key).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("catalyst.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the data key must not be readable by others"
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status();
    let _ = server.0.wait();
    let (mut log, mut out) = (String::new(), String::new());
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    std::io::Read::read_to_string(server.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    // Not a terminal: the keys go to a private file, whose path is logged, and nowhere else.
    let file = dir.path().join("catalyst-demo.json");
    assert!(
        log.contains("first start: created the demo tenant"),
        "{log}"
    );
    assert!(log.contains("catalyst-demo.json"), "{log}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the demo keys file must be private");
    }
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for key in ["secret_key", "restricted_key", "webhook_secret"] {
        let value = demo[key].as_str().unwrap();
        assert!(value.len() > 8, "{key} in {demo}");
        assert!(!log.contains(value), "{key} must not be logged");
        assert!(
            !out.contains(value),
            "{key} must not be printed when stdout is no terminal"
        );
    }
    assert!(demo["restricted_key"].as_str().unwrap().starts_with("rk_"));
}
