//! CSV imports (API.md §12), on both backends: leads then orders referring to them by e-mail;
//! a bad row → 400 naming row and column with nothing stored; `?partial=true` stores the good
//! rows; an `Idempotency-Key` replays; malformed files (unbalanced quote, wrong header, over
//! the size limit, wrong media type) → 4xx; the `*.imported` events are recorded.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use common::*;
use serde_json::Value;

const LEADS: &str = "/api/v1/imports/leads/";
const ORDERS: &str = "/api/v1/imports/orders/";

/// POSTs `csv` as `text/csv` with the key and optional idempotency key.
async fn import<S, B>(
    app: &S,
    path: &str,
    key: &str,
    csv: &str,
    idem: Option<&str>,
) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut r = test::TestRequest::post()
        .uri(path)
        .peer_addr("203.0.113.7:4000".parse().unwrap())
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", "text/csv; charset=utf-8"))
        .set_payload(csv.to_owned());
    if let Some(k) = idem {
        r = r.insert_header(("Idempotency-Key", k));
    }
    let (status, _, bytes) = call(app, r.to_request()).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const GOOD_LEADS: &str = "email,first_name,last_name,country,city\n\
ada@example.com,Ada,Lovelace,DE,Berlin\n\
\"grace@example.com\",\"Grace\",\"Hopper, Rear Admiral\",US,\n";

fn events(ctx: &Ctx, event_type: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = ctx.db.store.conn().unwrap();
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = '{event_type}'"
    ))
    .get_result::<N>(&mut *conn)
    .unwrap()
    .n
}

api_test! {
    async fn leads_then_orders_import_with_their_events(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        let (status, body) = import(&app, LEADS, &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!((body["rows"].as_u64(), body["imported"].as_u64(), body["failed"].as_u64()), (Some(2), Some(2), Some(0)));
        assert_eq!((ctx.count("leads"), events(&ctx, "lead.imported")), (2, 2));

        let orders = "email,amount,currency,status\nADA@example.com,12.50,EUR,COMPLETED\ngrace@example.com,7,EUR,PENDING\n";
        let (status, body) = import(&app, ORDERS, &t.secret_key, orders, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["imported"].as_u64(), Some(2), "{body}");
        assert_eq!((ctx.count("orders"), events(&ctx, "order.imported")), (2, 2));
        use diesel::prelude::*;
        use catalyst_store::schema::orders;
        let mut conn = ctx.db.store.conn().unwrap();
        let mut amounts: Vec<(i64, String)> = match &mut *conn {
            catalyst_store::DbConnection::Sqlite(c) => orders::table.select((orders::amount_minor, orders::status)).load(c).unwrap(),
            catalyst_store::DbConnection::Postgres(c) => orders::table.select((orders::amount_minor, orders::status)).load(c).unwrap(),
        };
        amounts.sort();
        assert_eq!(amounts, vec![(700, "PENDING".to_owned()), (1250, "COMPLETED".to_owned())]);

        // Restricted keys may not import; another tenant does not see Acme's leads.
        let (status, _) = import(&app, LEADS, &t.restricted_key, GOOD_LEADS, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let other = ctx.tenant("Other");
        let (status, body) = import(&app, ORDERS, &other.secret_key, orders, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!((body["errors"][0]["row"].as_u64(), body["errors"][0]["column"].as_str()), (Some(1), Some("email")), "{body}");
    }

    async fn a_bad_row_stores_nothing_unless_partial(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        let csv = "email,first_name,last_name,country\nada@example.com,Ada,Lovelace,DE\nnot-an-email,Bob,B,DE\ncy@example.com,Cy,C,XX\n";
        let (status, body) = import(&app, LEADS, &t.secret_key, csv, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "import_invalid");
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2, "{body}");
        assert_eq!((errors[0]["row"].as_u64(), errors[0]["line"].as_u64(), errors[0]["column"].as_str()), (Some(2), Some(3), Some("email")));
        assert_eq!((errors[1]["row"].as_u64(), errors[1]["column"].as_str()), (Some(3), Some("country")));
        assert_eq!((ctx.count("leads"), ctx.count("webhook_events")), (0, 0), "nothing stored");

        let orders = "email,amount,currency,status\nada@example.com,1.234,EUR,PENDING\nada@example.com,1.00,EUR,SHIPPED\nada@example.com,-1,EUR,PENDING\nada@example.com,1e3,EUR,PENDING\nada@example.com,1.00,EUR,PENDING\n";
        let (status, body) = import(&app, ORDERS, &t.secret_key, orders, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let columns: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
        assert_eq!(columns, ["amount", "status", "amount", "amount", "email"], "the last row's lead is not there yet: {body}");

        let (status, body) = import(&app, &format!("{LEADS}?partial=true"), &t.secret_key, csv, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!((body["imported"].as_u64(), body["failed"].as_u64(), body["errors"].as_array().unwrap().len()), (Some(1), Some(2), 2));
        assert_eq!((ctx.count("leads"), ctx.count("webhook_events")), (1, 1));

        let (status, body) = import(&app, &format!("{ORDERS}?partial=true"), &t.secret_key, orders, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let columns: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
        assert_eq!(columns, ["amount", "status", "amount", "amount"], "{body}");
        assert_eq!((body["imported"].as_u64(), ctx.count("orders")), (Some(1), 1), "the good row, now that Ada is a lead");
    }

    async fn an_idempotency_key_replays_the_import(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        let (status, first) = import(&app, LEADS, &t.secret_key, GOOD_LEADS, Some("imp-1")).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again) = import(&app, LEADS, &t.secret_key, GOOD_LEADS, Some("imp-1")).await;
        assert_eq!((status, &again), (StatusCode::CREATED, &first));
        assert_eq!(ctx.count("leads"), 2, "written once");
        let other = GOOD_LEADS.replace("Berlin", "Bonn");
        let (status, body) = import(&app, LEADS, &t.secret_key, &other, Some("imp-1")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")), "{body}");
    }

    async fn malformed_files_are_refused(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        for (csv, column) in [
            ("email,first_name,last_name\nada@example.com,Ada,L\n", "country"),
            ("email,first_name,last_name,country,iban\n", "iban"),
            ("email,email,first_name,last_name,country\n", "email"),
        ] {
            let (status, body) = import(&app, LEADS, &t.secret_key, csv, None).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_csv")), "{csv}: {body}");
            assert_eq!(body["errors"][0]["column"].as_str(), Some(column), "{body}");
        }
        let unbalanced = "email,first_name,last_name,country\nada@example.com,\"Ada,Lovelace,DE\nb@example.com,B,B,DE\n";
        let (status, body) = import(&app, LEADS, &t.secret_key, unbalanced, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "malformed_csv", "{body}");
        let (status, body) = import(&app, "/api/v1/imports/widgets/", &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _, _) = send(&app, post(LEADS, serde_json::json!({"email": "a"})).auth(&t.secret_key)).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!("email,first_name,last_name,country\n{}", "a@example.com,A,B,DE\n".repeat((catalyst_api::imports::MAX_IMPORT_BYTES / 21 + 2) as usize));
        let (status, _) = import(&app, LEADS, &t.secret_key, &big, None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ctx.count("leads"), 0);
    }

    async fn imported_events_go_to_the_named_webhook_profile(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        let (status, _, profile) = send(&app, post("/api/v1/webhook-profiles/", serde_json::json!({"name": "imports"})).auth(&t.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{profile}");
        let id = profile["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/webhook-profiles/{id}/endpoints/");
        let (status, _, endpoint) = send(&app, post(&path, serde_json::json!({"url": "https://hooks.example.com/in", "events": ["lead.imported"]})).auth(&t.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");
        let (status, body) = import(&app, &format!("{LEADS}?webhook_profile_id={id}"), &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(ctx.count("webhook_deliveries"), 2, "one delivery per imported lead");
        let (status, body) = import(&app, &format!("{LEADS}?webhook_profile_id=nope"), &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errors"]["webhook_profile_id"].is_array(), "{body}");
        assert_eq!(ctx.count("leads"), 2);
    }

    async fn bad_query_parameters_are_json_validation_errors(ctx) {
        let t = ctx.tenant("Acme");
        let app = ctx.app().await;
        let (status, body) = import(&app, &format!("{LEADS}?partial=maybe"), &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{body}");
        assert!(body["errors"]["partial"].is_array(), "{body}");
        let (status, body) = import(&app, &format!("{LEADS}?partial=true&colour=red"), &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{body}");
        assert!(body["errors"]["colour"].is_array(), "{body}");
        assert_eq!(ctx.count("leads"), 0, "nothing is imported");
        let (status, body) = import(&app, &format!("{LEADS}?partial=false"), &t.secret_key, GOOD_LEADS, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(ctx.count("leads"), 2);
    }
}
