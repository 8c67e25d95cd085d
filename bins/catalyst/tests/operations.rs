//! The operator's side of the real binary: `catalyst key create` gives a tenant that revoked its
//! last `sk_` key a way back in, and the running server's probes and metrics.

mod support;

use catalyst_store::test_support::TestDb;
use serde_json::Value;
use support::{catalyst, free_port, start, until};

const METRICS_TOKEN: &str = "operator-metrics-token-42";

fn operations(db: TestDb) {
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("catalyst.key");
    let bind = format!("127.0.0.1:{}", free_port());
    let run = |args: &[&str]| -> Value {
        let out = catalyst(&url, &key, &bind).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let tenant = run(&["tenant", "create", "--name", "Acme", "--json"]);
    let tenant_id = tenant["tenant_id"].as_str().unwrap();
    let secret = tenant["secret_key"].as_str().unwrap().to_owned();

    let mut serve = catalyst(&url, &key, &bind);
    // The server is stopped at the end of this block, before the data key is rotated.
    {
        serve
            .env("CATALYST_METRICS_TOKEN", METRICS_TOKEN)
            .arg("serve");
        let _server = start(serve, &bind);
        catalyst_gateway::install_crypto_provider();
        let http = reqwest::blocking::Client::new();
        let base = format!("http://{bind}");

        // The probes, unauthenticated; every worker of the server has beaten.
        let health = http.get(format!("{base}/healthz")).send().unwrap();
        assert_eq!(health.status(), 200);
        let ready: Value = until("every worker beats", || {
            let ready: Value = http
                .get(format!("{base}/readyz"))
                .send()
                .ok()?
                .json()
                .ok()?;
            (ready["checks"]["workers"].as_object()?.len() == 4).then_some(ready)
        });
        assert_eq!(ready["status"], "ready", "{ready}");
        for worker in ["billing", "dispatcher", "expiry", "recovery"] {
            assert_eq!(
                ready["checks"]["workers"][worker]["status"], "ok",
                "{ready}"
            );
        }

        // The last sk_ key cannot be revoked by accident.
        let keys: Value = http
            .get(format!("{base}/api/v1/api-keys/"))
            .bearer_auth(&secret)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let sk = keys["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == "secret")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let revoke = format!("{base}/api/v1/api-keys/{sk}/revoke/");
        let refused = http.post(&revoke).bearer_auth(&secret).send().unwrap();
        assert_eq!(refused.status(), 409);
        let refused: Value = refused.json().unwrap();
        assert_eq!(refused["code"], "last_secret_key");
        let forced = http
            .post(format!("{revoke}?force=true"))
            .bearer_auth(&secret)
            .send()
            .unwrap();
        assert_eq!(forced.status(), 200);
        let locked_out = http
            .get(format!("{base}/api/v1/api-keys/"))
            .bearer_auth(&secret)
            .send()
            .unwrap();
        assert_eq!(locked_out.status(), 401);

        // The operator issues a new one.
        let issued = run(&[
            "key", "create", "--tenant", tenant_id, "--kind", "secret", "--json",
        ]);
        assert_eq!(issued["tenant_id"], tenant_id);
        assert_eq!(issued["kind"], "secret");
        let new_key = issued["key"].as_str().unwrap();
        assert!(new_key.starts_with("sk_"), "{issued}");
        let back_in = http
            .get(format!("{base}/api/v1/api-keys/"))
            .bearer_auth(new_key)
            .send()
            .unwrap();
        assert_eq!(back_in.status(), 200);

        let out = catalyst(&url, &key, &bind)
            .args(["key", "create", "--tenant", "ten_nope", "--kind", "secret"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant with id ten_nope"));
        let out = catalyst(&url, &key, &bind)
            .args(["key", "create", "--tenant", tenant_id, "--kind", "admin"])
            .output()
            .unwrap();
        assert!(!out.status.success());

        // The metrics: behind the token, with the requests above by route pattern.
        let unauthorized = http.get(format!("{base}/metrics")).send().unwrap();
        assert_eq!(unauthorized.status(), 401);
        let text = http
            .get(format!("{base}/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            text.contains(r#"route="/api/v1/api-keys/{id}/revoke/",status="409""#),
            "{text}"
        );
        assert!(!text.contains(&sk), "ids never become labels");
        assert!(text.contains("catalyst_worker_cycles_total{"), "{text}");
    }

    // Rotating the data key: the demo tenant's webhook secret (opened by `catalyst demo`)
    // then opens with the new key only.
    let new_key = dir.path().join("new.key");
    let rotate = |key_file: &std::path::Path| {
        catalyst(&url, key_file, &bind)
            .args(["rotate-data-key", "--new-key-file"])
            .arg(&new_key)
            .args(["--batch", "2"])
            .output()
            .unwrap()
    };
    let out = rotate(&key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-sealed"));
    let out = rotate(&new_key);
    assert!(!out.status.success(), "the key in use is not a new key");
    let demo = catalyst(&url, &new_key, &bind)
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let demo = catalyst(&url, &key, &bind)
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert!(!demo.status.success(), "the old key opens nothing any more");
}

#[test]
fn operations_sqlite() {
    operations(TestDb::sqlite());
}

#[test]
fn operations_postgres() {
    if let Some(db) = TestDb::postgres() {
        operations(db);
    }
}

/// The default build has no `fake-genesis` subcommand (it needs `--features fake-genesis`).
#[cfg(not(feature = "fake-genesis"))]
#[test]
fn the_default_binary_does_not_carry_the_fake_gateway() {
    let out = std::process::Command::new(support::BIN)
        .args(["fake-genesis", "--port", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unrecognized subcommand 'fake-genesis'"),
        "{stderr}"
    );
}
