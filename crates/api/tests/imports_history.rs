//! CSV imports of payment history (API.md §12), on both backends: transactions of imported
//! orders under mandates created from the rows, then chargebacks of them; their events, their
//! rows in reconciliation, the row errors that store nothing, and multipart uploads.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use common::*;
use serde_json::{Value, json};

const IBAN: &str = "DE89370400440532013000";
const OTHER_IBAN: &str = "DE02120300000000202051";

/// POSTs `csv` as `text/csv` to `/api/v1/imports/{kind}/` (with `query`).
async fn import<S, B>(app: &S, kind: &str, key: &str, csv: &str) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = test::TestRequest::post()
        .uri(&format!("/api/v1/imports/{kind}"))
        .peer_addr("203.0.113.7:4000".parse().unwrap())
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload(csv.to_owned());
    let (status, _, bytes) = call(app, r.to_request()).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `(event_type, payload)` of every recorded event of these types, oldest first.
fn events(ctx: &Ctx, types: &[&str]) -> Vec<(String, Value)> {
    use catalyst_store::schema::webhook_events as e;
    use diesel::prelude::*;
    let mut conn = ctx.db.store.conn().unwrap();
    let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    let rows: Vec<(String, String)> = match &mut *conn {
        catalyst_store::DbConnection::Sqlite(c) => e::table
            .filter(e::event_type.eq_any(&types))
            .order(e::id)
            .select((e::event_type, e::payload))
            .load(c)
            .unwrap(),
        catalyst_store::DbConnection::Postgres(c) => e::table
            .filter(e::event_type.eq_any(&types))
            .order(e::id)
            .select((e::event_type, e::payload))
            .load(c)
            .unwrap(),
    };
    rows.into_iter()
        .map(|(t, p)| {
            (
                t,
                serde_json::from_str::<Value>(&p).unwrap()["default"].clone(),
            )
        })
        .collect()
}

/// A tenant with a sandbox gateway, a lead and two orders (12.50 and 30.00 EUR); returns the
/// key, the gateway id and the two order numbers.
async fn history<S, B>(ctx: &Ctx, app: &S) -> (String, String, String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let t = ctx.tenant("Acme");
    let (status, _, gw) = send(
        app,
        post(
            "/api/v1/gateways/",
            json!({"name": "Sandbox", "adapter": "SANDBOX"}),
        )
        .auth(&t.secret_key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{gw}");
    let leads = "email,first_name,last_name,country\nada@example.com,Ada,Lovelace,DE\n";
    assert_eq!(
        import(app, "leads/", &t.secret_key, leads).await.0,
        StatusCode::CREATED
    );
    // The orders keep the numbers they had in the system they come from.
    let orders = "email,amount,currency,status,order_number\nada@example.com,12.50,EUR,COMPLETED,OLD-ORD-1\nada@example.com,30.00,EUR,COMPLETED,OLD-ORD-2\n";
    let (status, body) = import(app, "orders/", &t.secret_key, orders).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A number in use is a row error.
    let again =
        "email,amount,currency,status,order_number\nada@example.com,1.00,EUR,COMPLETED,OLD-ORD-2\n";
    let (status, body) = import(app, "orders/", &t.secret_key, again).await;
    assert_eq!(
        (status, body["errors"][0]["column"].as_str()),
        (StatusCode::BAD_REQUEST, Some("order_number")),
        "{body}"
    );
    assert_eq!(ctx.count("orders"), 2);
    (
        t.secret_key,
        gw["id"].as_str().unwrap().to_owned(),
        "OLD-ORD-1".to_owned(),
        "OLD-ORD-2".to_owned(),
    )
}

api_test! {
    async fn transactions_then_chargebacks_import_into_reconciliation(ctx) {
        let app = ctx.app().await;
        let (key, gateway, first, second) = history(&ctx, &app).await;
        let csv = format!(
            "order_number,gateway_id,iban,iban_holder_name,amount,currency,status,created_at,merchant_transaction_id,reason_code,sequence_type\n\
             {first},{gateway},DE89 3704 0044 0532 0130 00,Ada Lovelace,12.50,EUR,approved,2026-11-02T10:15:00+01:00,OLD-1,,FRST\n\
             {first},{gateway},{IBAN},Ada Lovelace,12.50,EUR,declined,2026-11-03,OLD-2,AM04,RCUR\n\
             {second},{gateway},{OTHER_IBAN},Ada Lovelace,30.00,EUR,approved,2026-11-04,OLD-3,,\n");
        let (status, body) = import(&app, "transactions/", &key, &csv).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!((body["kind"].as_str(), body["imported"].as_u64()), (Some("transactions"), Some(3)), "{body}");
        // One mandate per order (MAND-{order_number}); an approved collection makes it RCUR.
        assert_eq!((ctx.count("transactions"), ctx.count("mandates")), (3, 2));
        let imported = events(&ctx, &["transaction.imported"]);
        assert_eq!(imported.len(), 3);
        let declined = &imported[1].1;
        assert_eq!((declined["status"].as_str(), declined["error_code"].as_str(), declined["source"].as_str()), (Some("declined"), Some("insufficient_funds"), Some("import")), "{declined}");
        assert_eq!((imported[0].1["merchant_transaction_id"].as_str(), imported[0].1["amount"].as_str(), imported[0].1["order_number"].as_str()), (Some("OLD-1"), Some("12.50"), Some(first.as_str())));

        // Reconciliation lists them on their processing dates (created_at, in UTC), IBAN masked.
        let (status, _, page) = send(&app, get("/api/v1/reconciliation/transactions/?start_date=2026-11-01&end_date=2026-11-30").auth(&key)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let rows = page["results"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "{page}");
        let old1 = rows.iter().find(|r| r.to_string().contains("OLD-1")).unwrap();
        assert!(old1.to_string().contains("2026-11-02"), "{old1}");
        assert!(old1.to_string().contains("******************3000"), "{old1}");
        assert!(!page.to_string().contains(IBAN), "never the clear IBAN");

        // A chargeback of the approved OLD-1 (MD06: a refund claim → kind chargeback), with
        // its consequences and events; one for the declined OLD-2 is refused.
        let chargebacks = "merchant_transaction_id,reason_code,report_date,amount,currency\nOLD-1,MD06,2026-11-20,12.50,EUR\nOLD-3,AM04,2026-11-21,,\n";
        let (status, body) = import(&app, "chargebacks/", &key, chargebacks).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["imported"].as_u64(), Some(2), "{body}");
        let cb = events(&ctx, &["chargeback.imported"]);
        assert_eq!(cb.len(), 2);
        assert_eq!((cb[0].1["kind"].as_str(), cb[0].1["reason_code"].as_str(), cb[0].1["report_date"].as_str(), cb[0].1["source"].as_str()), (Some("chargeback"), Some("MD06"), Some("2026-11-20"), Some("import")), "{}", cb[0].1);
        assert_eq!((cb[1].1["kind"].as_str(), cb[1].1["error_code"].as_str()), (Some("return"), Some("insufficient_funds")));
        let changed = events(&ctx, &["transaction.status_changed"]);
        assert_eq!(changed.len(), 2, "approved → charged_back, twice");
        assert_eq!(changed[0].1["status"].as_str(), Some("charged_back"));
        assert!(events(&ctx, &["chargeback.created"]).is_empty(), "an import is not a new chargeback");
        let (status, _, page) = send(&app, get("/api/v1/reconciliation/chargebacks/?start_date=2026-11-01&end_date=2026-11-30").auth(&key)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["results"].as_array().unwrap().len(), 2, "{page}");

        // The same file again: both transactions are charged back already → rows refused.
        let (status, body) = import(&app, "chargebacks/", &key, chargebacks).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("import_invalid")), "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("charged_back"), "{body}");
        assert_eq!(ctx.count("chargebacks"), 2);
        let declined = "merchant_transaction_id,reason_code,report_date\nOLD-2,AM04,2026-11-20\n";
        let (status, body) = import(&app, "chargebacks/", &key, declined).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("declined"), "{body}");
    }

    async fn bad_history_rows_name_their_column_and_store_nothing(ctx) {
        let app = ctx.app().await;
        let (key, gateway, first, _) = history(&ctx, &app).await;
        let header = "order_number,gateway_id,iban,iban_holder_name,amount,currency,status,created_at,mandate_reference";
        let rows = [
            (format!("ORD-NOPE,{gateway},{IBAN},Ada,12.50,EUR,approved,2026-11-02,"), "order_number"),
            (format!("{first},not-a-gateway,{IBAN},Ada,12.50,EUR,approved,2026-11-02,"), "gateway_id"),
            (format!("{first},{gateway},DE89370400440532013001,Ada,12.50,EUR,approved,2026-11-02,"), "iban"),
            (format!("{first},{gateway},{IBAN},,12.50,EUR,approved,2026-11-02,"), "iban_holder_name"),
            (format!("{first},{gateway},{IBAN},Ada,12.50,USD,approved,2026-11-02,"), "currency"),
            (format!("{first},{gateway},{IBAN},Ada,12.505,EUR,approved,2026-11-02,"), "amount"),
            (format!("{first},{gateway},{IBAN},Ada,12.50,EUR,pending,2026-11-02,"), "status"),
            (format!("{first},{gateway},{IBAN},Ada,12.50,EUR,approved,2999-01-01,"), "created_at"),
            (format!("{first},{gateway},{IBAN},Ada,12.50,EUR,approved,2026-11-02,MAND_WITH_UNDERSCORE"), "mandate_reference"),
        ];
        let csv = format!("{header}\n{}\n", rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>().join("\n"));
        let (status, body) = import(&app, "transactions/", &key, &csv).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("import_invalid")), "{body}");
        let columns: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
        assert_eq!(columns, rows.iter().map(|r| r.1).collect::<Vec<_>>(), "{body}");
        assert_eq!((ctx.count("transactions"), ctx.count("mandates")), (0, 0));

        // A mandate reference already holding another IBAN; a good row before it is rolled back.
        let csv = format!("{header}\n{first},{gateway},{IBAN},Ada,12.50,EUR,approved,2026-11-02,M-1\n{first},{gateway},{OTHER_IBAN},Ada,12.50,EUR,approved,2026-11-03,M-1\n");
        let (status, body) = import(&app, "transactions/", &key, &csv).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!((body["errors"][0]["row"].as_u64(), body["errors"][0]["column"].as_str()), (Some(2), Some("iban")), "{body}");
        assert_eq!((ctx.count("transactions"), ctx.count("mandates")), (0, 0), "all or nothing");
        let (status, body) = import(&app, "transactions/?partial=true", &key, &csv).await;
        assert_eq!((status, body["imported"].as_u64()), (StatusCode::CREATED, Some(1)), "{body}");
        assert_eq!((ctx.count("transactions"), ctx.count("mandates")), (1, 1));

        // Another tenant can reference neither Acme's orders nor Acme's transactions.
        let other = ctx.tenant("Other");
        let (status, body) = import(&app, "transactions/", &other.secret_key, &csv).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["column"].as_str(), Some("order_number"), "{body}");
        let mtid = events(&ctx, &["transaction.imported"])[0].1["merchant_transaction_id"].as_str().unwrap().to_owned();
        let chargeback = format!("merchant_transaction_id,reason_code,report_date\n{mtid},MD06,2026-11-20\n");
        let (status, body) = import(&app, "chargebacks/", &other.secret_key, &chargeback).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["column"].as_str(), Some("merchant_transaction_id"), "{body}");
        for (row, column) in [
            (format!("{mtid},XX99,2026-11-20"), "reason_code"),
            (format!("{mtid},MD06,20.11.2026"), "report_date"),
            (format!("{mtid},MD06,2999-01-01"), "report_date"),
        ] {
            let csv = format!("merchant_transaction_id,reason_code,report_date\n{row}\n");
            let (status, body) = import(&app, "chargebacks/", &key, &csv).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["errors"][0]["column"].as_str(), Some(column), "{row}: {body}");
        }
        let wrong_amount = format!("merchant_transaction_id,reason_code,report_date,amount,currency\n{mtid},MD06,2026-11-20,1.00,EUR\n");
        let (status, body) = import(&app, "chargebacks/", &key, &wrong_amount).await;
        assert_eq!((status, body["errors"][0]["column"].as_str()), (StatusCode::BAD_REQUEST, Some("amount")), "{body}");
        assert_eq!(ctx.count("chargebacks"), 0);
    }

    async fn a_multipart_upload_imports_its_file_field(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        let boundary = "----catalyst-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.csv\"\r\nContent-Type: text/csv\r\n\r\n\
             email,first_name,last_name,country\nada@example.com,Ada,Lovelace,DE\nbob@example.com,Bob,B,FR\n\r\n--{boundary}--\r\n");
        let upload = |body: String| test::TestRequest::post()
            .uri("/api/v1/imports/leads/")
            .peer_addr("203.0.113.7:4000".parse().unwrap())
            .insert_header(("Authorization", format!("Bearer {}", t.secret_key)))
            .insert_header(("Content-Type", format!("multipart/form-data; boundary={boundary}")))
            .set_payload(body)
            .to_request();
        let (status, _, bytes) = call(&app, upload(body)).await;
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((status, answer["imported"].as_u64()), (StatusCode::CREATED, Some(2)), "{answer}");
        assert_eq!(ctx.count("leads"), 2);

        let no_file = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--{boundary}--\r\n");
        let (status, _, bytes) = call(&app, upload(no_file)).await;
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["errors"]["file"].is_array(), "{answer}");

        // Fields other than `file` are dropped, but count against the size limit.
        let padding = "x".repeat(catalyst_api::imports::MAX_IMPORT_BYTES as usize + 1);
        let hostile = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{padding}\r\n--{boundary}--\r\n");
        let res = test::call_service(&app, upload(hostile)).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ctx.count("leads"), 2);
    }
}
