//! Data-key rotation over data written through the API: gateway credentials, webhook secrets,
//! mandate IBANs and holders, secrets in stored idempotent responses. The rotation is
//! interrupted between batches, resumed, and every value is then read back with the new key
//! only; the API serves from a store that knows only the new key.

mod common;

use actix_web::http::StatusCode;
use catalyst_api::{ApiConfig, AppState};
use catalyst_store::crypto::{GATEWAY_CREDENTIALS, IDEMPOTENCY_SECRET, WEBHOOK_SECRET};
use catalyst_store::payments::{HOLDER_CONTEXT, IBAN_CONTEXT};
use catalyst_store::rotation::Rotation;
use catalyst_store::{Cipher, DataKey, DatabaseUrl, Store, StoreConfig};
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};

#[derive(QueryableByName)]
struct Sealed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sealed: Option<String>,
}

/// Every sealed value in the database: (context, row, sealed text).
fn sealed_values(store: &Store) -> Vec<(&'static str, String, String)> {
    let mut conn = store.conn().unwrap();
    let mut out = Vec::new();
    for (context, sql) in [
        (
            GATEWAY_CREDENTIALS,
            "SELECT id AS id, credentials_sealed AS sealed FROM gateways",
        ),
        (
            WEBHOOK_SECRET,
            "SELECT id AS id, secret_sealed AS sealed FROM webhook_profiles",
        ),
        (
            IBAN_CONTEXT,
            "SELECT id AS id, iban_sealed AS sealed FROM mandates",
        ),
        (
            HOLDER_CONTEXT,
            "SELECT id AS id, holder_sealed AS sealed FROM mandates",
        ),
    ] {
        let rows: Vec<Sealed> = diesel::sql_query(sql).load(&mut *conn).unwrap();
        out.extend(
            rows.into_iter()
                .filter_map(|r| Some((context, r.id, r.sealed?))),
        );
    }
    let sql = "SELECT idem_key AS id, response_body AS sealed FROM idempotency_keys";
    let rows: Vec<Sealed> = diesel::sql_query(sql).load(&mut *conn).unwrap();
    for r in rows {
        let body: Value = serde_json::from_str(&r.sealed.unwrap_or_default()).unwrap_or_default();
        for (field, value) in body.as_object().into_iter().flatten() {
            if field.ends_with("_sealed") {
                out.push((
                    IDEMPOTENCY_SECRET,
                    format!("{}.{field}", r.id),
                    value.as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The plain texts of `values` under `cipher`; `None` for one that does not open.
fn opened(cipher: &Cipher, values: &[(&'static str, String, String)]) -> Vec<Option<Vec<u8>>> {
    values
        .iter()
        .map(|(context, _, sealed)| cipher.open(context, sealed).ok())
        .collect()
}

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

api_test! {
    async fn rotation_reseals_every_value_resumes_after_an_interruption_and_serves_with_the_new_key(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let credentials = json!({"endpoint": "https://gate.example.com", "terminal_token": "t0k3n", "username": "u", "password": "p"});
        let (status, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Genesis", "adapter": "EMP",
            "creditor_name": "Acme GmbH", "creditor_identifier": "DE98ZZZ09999999999", "credentials": credentials})).auth(sk)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let (status, _, _) = send(&app, post("/api/v1/webhook-profiles/", json!({"name": "CRM"})).auth(sk)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, issued) = send(&app, post("/api/v1/api-keys/", json!({"kind": "restricted"})).auth(sk).header("Idempotency-Key", "key-1")).await;
        assert_eq!(status, StatusCode::CREATED);
        for i in 0..3 {
            let (_, _, created) = send(&app, post("/api/v1/payment-sessions/", json!({"campaign_id": demo.campaign_id, "lead": lead(&format!("r{i}@example.com"))})).auth(&demo.restricted_key)).await;
            let token = created["session_token"].as_str().unwrap();
            let (status, _, paid) = send(&app, post(&format!("/api/v1/payment-sessions/{token}/pay/"), json!({"iban": "DE89370400440532013000", "iban_holder_name": format!("Holder {i}")}))).await;
            assert_eq!(status, StatusCode::OK, "{paid}");
        }

        let old = ctx.db.data_key.clone();
        let new = DataKey::generate();
        let (old_cipher, new_cipher) = (Cipher::new(&old), Cipher::new(&new));
        let before = sealed_values(&ctx.db.store);
        let kinds: std::collections::BTreeSet<&str> = before.iter().map(|v| v.0).collect();
        assert_eq!(kinds.len(), 5, "every kind of sealed value is present: {kinds:?}");
        let plain: Vec<Vec<u8>> = opened(&old_cipher, &before).into_iter().map(Option::unwrap).collect();

        // Interrupted after three batches of one row: some values moved, the rest did not.
        let rotation = Rotation::new(&old, &new, 1);
        let mut conn = ctx.db.store.conn().unwrap();
        let first = rotation.run(&mut conn, Some(3)).unwrap();
        assert_eq!((first.batches, first.finished), (3, false));
        let midway = sealed_values(&ctx.db.store);
        let moved = opened(&new_cipher, &midway).iter().filter(|v| v.is_some()).count();
        assert!(moved > 0 && moved < midway.len(), "{moved} of {}", midway.len());
        assert_eq!(moved, first.resealed);

        // A value that opens under neither key stops the run: the batches before it stay
        // committed, its own batch (this mandate's IBAN and holder) is rolled back whole.
        use catalyst_store::schema::mandates;
        let victim = midway.iter().filter(|v| v.0 == HOLDER_CONTEXT).map(|v| v.1.clone()).max().unwrap();
        let original = midway.iter().find(|v| v.0 == HOLDER_CONTEXT && v.1 == victim).unwrap().2.clone();
        let stray = Cipher::new(&DataKey::generate()).seal(HOLDER_CONTEXT, b"stray").unwrap();
        let set_holder = |conn: &mut catalyst_store::DbConnection, value: &str| match conn {
            catalyst_store::DbConnection::Sqlite(c) => diesel::update(mandates::table.find(&victim)).set(mandates::holder_sealed.eq(value)).execute(c).unwrap(),
            catalyst_store::DbConnection::Postgres(c) => diesel::update(mandates::table.find(&victim)).set(mandates::holder_sealed.eq(value)).execute(c).unwrap(),
        };
        set_holder(&mut conn, &stray);
        let err = rotation.run(&mut conn, None).unwrap_err();
        assert!(err.to_string().contains(&format!("mandate {victim}")), "{err}");
        set_holder(&mut conn, &original);
        let stopped = sealed_values(&ctx.db.store);
        let moved_before_stop = opened(&new_cipher, &stopped).iter().filter(|v| v.is_some()).count();
        assert!(moved_before_stop > moved, "the batches before the bad value stay committed");
        let victim_iban = stopped.iter().find(|v| v.0 == IBAN_CONTEXT && v.1 == victim).unwrap();
        assert!(old_cipher.open(IBAN_CONTEXT, &victim_iban.2).is_ok(), "the failed batch was rolled back");

        // Resumed: it goes on from the recorded position, re-sealing each value once.
        let second = rotation.run(&mut conn, None).unwrap();
        assert!(second.finished);
        assert_eq!(moved_before_stop + second.resealed, before.len(), "each value re-sealed exactly once");
        let again = rotation.run(&mut conn, None).unwrap();
        assert_eq!((again.batches, again.resealed, again.finished), (0, 0, true), "a finished rotation does nothing");
        drop(conn);

        let after = sealed_values(&ctx.db.store);
        assert_eq!(after.len(), before.len());
        assert!(opened(&old_cipher, &after).iter().all(Option::is_none), "nothing opens with the old key");
        let reopened: Vec<Vec<u8>> = opened(&new_cipher, &after).into_iter().map(|v| v.expect("opens with the new key")).collect();
        assert_eq!(reopened, plain, "the same plain texts");

        // A store that knows only the new key serves the idempotent replay, which opens the
        // sealed key to reveal it.
        let url = DatabaseUrl::parse(&ctx.db.url()).unwrap();
        let rotated = Store::open(StoreConfig::new(url, new)).unwrap();
        let state = AppState::new(rotated, ApiConfig::new(BASE));
        let app = actix_web::test::init_service(actix_web::App::new().configure(move |cfg| catalyst_api::configure(cfg, state))).await;
        let (status, _, replay) = send(&app, post("/api/v1/api-keys/", json!({"kind": "restricted"})).auth(sk).header("Idempotency-Key", "key-1")).await;
        assert_eq!((status, &replay["key"]), (StatusCode::CREATED, &issued["key"]), "{replay}");
    }
}
