//! Input hygiene (issue 12), on both backends: gateway settings held to their adapter's rules,
//! CSV exports safe from formula injection, control characters refused, security headers, and
//! authentication before authorisation.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use catalyst_domain::token::{ApiKeyToken, KeyKind, SessionToken};
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const GATEWAYS: &str = "/api/v1/gateways/";
const IBAN_OK: &str = "DE89370400440532013000";

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

fn emp_gateway(endpoint: &str, test_mode: bool) -> Value {
    json!({"name": "Genesis", "adapter": "EMP", "test_mode": test_mode,
           "creditor_name": "Acme GmbH", "creditor_identifier": "DE98ZZZ09999999999",
           "credentials": {"username": "u", "password": "p", "terminal_token": "t", "endpoint": endpoint}})
}

fn direct(gateway_id: &str, email: &str) -> Value {
    json!({"gateway_id": gateway_id, "amount": "12.50", "currency": "EUR",
           "billing_type": "ONE_OFF", "lead": lead(email)})
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// The error field names of a 400 body.
fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_object()
        .map(|e| e.keys().cloned().collect())
        .unwrap_or_default()
}

/// Asserts a 400 `validation_error` naming `field`.
#[track_caller]
fn assert_names(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
    assert_eq!(body["code"], "validation_error", "{body}");
    assert!(
        error_fields(body).iter().any(|f| f == field),
        "{field}: {body}"
    );
}

api_test! {
    // Item 4: a gateway that saves can be used; a row stored broken fails as a gateway fault.
    async fn gateway_settings_are_held_to_the_adapters_rules(ctx) {
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let key = tenant.secret_key.as_str();
        for (endpoint, test_mode) in [
            ("http://genesis.example.com/", false),
            ("https://genesis.example.com/?debug=1", true),
            ("https://genesis.example.com/?debug=1", false),
        ] {
            let (status, _, body) = send(&app, post(GATEWAYS, emp_gateway(endpoint, test_mode)).auth(key)).await;
            assert_names(status, &body, "credentials.endpoint");
        }
        assert_eq!(ctx.count("gateways"), 0, "nothing refused was stored");

        // http is fine in test mode; leaving test mode would break it.
        let (status, _, gw) = send(&app, post(GATEWAYS, emp_gateway("http://genesis.example.com/", true)).auth(key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let path = format!("{GATEWAYS}{}/", gw["id"].as_str().unwrap());
        let (status, _, body) = send(&app, patch(&path, json!({"test_mode": false})).auth(key)).await;
        assert_names(status, &body, "test_mode");
        let (status, _, body) = send(&app, patch(&path, json!({"credentials": {"username": "u", "password": "p",
            "terminal_token": "t", "endpoint": "https://genesis.example.com/?x=1"}})).auth(key)).await;
        assert_names(status, &body, "credentials.endpoint");
        let (_, _, stored) = send(&app, get(&path).auth(key)).await;
        assert_eq!(stored["test_mode"], true, "a refused patch changes nothing");
        let (status, _, body) = send(&app, patch(&path, json!({"test_mode": false, "credentials": {"username": "u",
            "password": "p", "terminal_token": "t", "endpoint": "https://genesis.example.com/"}})).auth(key)).await;
        assert_eq!((status, body["test_mode"].clone()), (StatusCode::OK, json!(false)), "{body}");

        // A row stored broken before the check: pay is a gateway fault, the notification no 500.
        let id = gw["id"].as_str().unwrap().to_owned();
        {
            let mut conn = ctx.db.store.conn().unwrap();
            let mut g = catalyst_store::Gateway::find(&mut conn, &tenant.tenant_id, &id.as_str().into()).unwrap();
            g.credentials_sealed = Some(ctx.db.store.cipher().seal(
                catalyst_api::payment::CREDENTIALS_CONTEXT,
                br#"{"username":"u","password":"p","terminal_token":"t","endpoint":"http://genesis.example.com/"}"#,
            ).unwrap());
            g.save(&mut conn).unwrap();
        }
        let (status, _, created) = send(&app, post(SESSIONS, direct(&id, "broken@example.com")).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["session_token"].as_str().unwrap();
        let (status, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": IBAN_OK, "iban_holder_name": "Ada Lovelace"}))).await;
        assert_eq!(status, StatusCode::OK, "{env}");
        assert_eq!((env["status"].as_str(), env["error_details"]["code"].as_str(), env["retry_allowed"].clone()),
            (Some("declined"), Some("gateway_unavailable"), json!(true)), "{env}");
        assert!(env["error_details"]["gateway_message"].is_null(), "settings stay private: {env}");
        let (_, _, session) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!(session["attempts_remaining"], 3, "the fault uses no attempt: {session}");
        let req = test::TestRequest::post()
            .uri(&format!("{GATEWAYS}{id}/notifications/"))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload("unique_id=x&status=approved&signature=y")
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["code"], "service_unavailable");
    }

    // Item 5: text cells that a spreadsheet would run get a leading `'`; amounts stay numbers.
    async fn csv_exports_neutralise_formulas(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        // Tab and CR cannot come in through the API any more (item 6); the renderer's unit test
        // covers them for text that reaches a row otherwise (gateway messages).
        let formulas = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)"];
        for (i, reference) in formulas.iter().enumerate() {
            let (status, _, created) = send(&app, post(SESSIONS, direct(&demo.gateway_id, &format!("f{i}@example.com")))
                .auth(&demo.restricted_key)).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let token = created["session_token"].as_str().unwrap();
            let (status, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
                json!({"iban": IBAN_OK, "iban_holder_name": "Ada Lovelace", "tenant_reference_id": reference}))).await;
            assert_eq!(status, StatusCode::OK, "{reference:?}: {env}");
        }
        let uri = format!("/api/v1/reconciliation/transactions/?start_date={}&format=csv", today());
        let req = test::TestRequest::get()
            .uri(&uri)
            .insert_header(("Authorization", format!("Bearer {}", demo.restricted_key)))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        let doc = test::read_body(res).await;
        let mut reader = csv::Reader::from_reader(&doc[..]);
        let columns = reader.headers().unwrap().clone();
        let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
        let (reference, amount) = (at("tenant_reference_id"), at("amount"));
        let mut seen: Vec<String> = Vec::new();
        for record in reader.records() {
            let record = record.unwrap();
            assert_eq!(&record[amount], "12.50");
            seen.push(record[reference].to_owned());
        }
        seen.sort();
        let mut expected: Vec<String> = formulas.iter().map(|f| format!("'{f}")).collect();
        expected.sort();
        assert_eq!(seen, expected);
    }

    // Item 6: control characters are a 400 naming the field, on every backend; bad path ids 404.
    async fn control_characters_are_refused_everywhere(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let nul = "a\u{0}b";

        // Sessions: names, references, nested lists; only free text takes newlines.
        let mut body = direct(&demo.gateway_id, "nul@example.com");
        body["lead"]["first_name"] = json!(nul);
        let (status, _, res) = send(&app, post(SESSIONS, body).auth(&demo.restricted_key)).await;
        assert_names(status, &res, "lead.first_name");
        let mut body = direct(&demo.gateway_id, "ext@example.com");
        body["external_customer_id"] = json!("x\u{1b}[2J");
        body["line_items"] = json!([{"description": "ok", "amount": "12.50"}, {"description": "x\ny", "amount": "1.00"}]);
        let (status, _, res) = send(&app, post(SESSIONS, body).auth(&demo.restricted_key)).await;
        assert_names(status, &res, "external_customer_id");
        assert_names(status, &res, "line_items.1.description");
        let mut body = direct(&demo.gateway_id, "meta@example.com");
        body["metadata"] = json!({"note": "line 1\r\n\tline 2"});
        let (status, _, res) = send(&app, post(SESSIONS, body.clone()).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "metadata is free text: {res}");
        body["metadata"] = json!({"note": nul});
        let (status, _, res) = send(&app, post(SESSIONS, body).auth(&demo.restricted_key)).await;
        assert_names(status, &res, "metadata.note");

        // Pay.
        let token = res_token(&app, &demo).await;
        let pay = format!("{SESSIONS}{token}/pay/");
        let (status, _, res) = send(&app, post(&pay, json!({"iban": IBAN_OK, "iban_holder_name": nul}))).await;
        assert_names(status, &res, "iban_holder_name");
        let (status, _, res) = send(&app, post(&pay, json!({"iban": IBAN_OK, "iban_holder_name": "Ada", "tenant_reference_id": nul}))).await;
        assert_names(status, &res, "tenant_reference_id");
        let (_, _, session) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!((session["status"].as_str(), session["attempts_remaining"].clone()), (Some("PENDING"), json!(3)));

        // Management: create and patch of every resource.
        let (_, _, profile) = send(&app, post("/api/v1/webhook-profiles/", json!({"name": "CRM"})).auth(sk)).await;
        let profile_id = profile["id"].as_str().unwrap();
        let endpoints = format!("/api/v1/webhook-profiles/{profile_id}/endpoints/");
        let (_, _, endpoint) = send(&app, post(&endpoints, json!({"url": "https://crm.example.com/hooks"})).auth(sk)).await;
        let creates: [(String, Value, &str, String); 6] = [
            (GATEWAYS.into(), json!({"name": nul, "adapter": "SANDBOX"}), "name", demo.gateway_id.clone()),
            ("/api/v1/hosted-pages/".into(), json!({"name": nul}), "name", demo.hosted_page_id.clone()),
            ("/api/v1/webhook-profiles/".into(), json!({"name": nul}), "name", profile_id.to_owned()),
            (endpoints.clone(), json!({"url": "https://crm.example.com/\u{0}"}), "url", endpoint["id"].as_str().unwrap().to_owned()),
            ("/api/v1/campaigns/".into(), json!({"name": nul, "gateway_id": demo.gateway_id,
                "offer": {"name": "Pro", "price": "9.90", "currency": "EUR", "billing_type": "ONE_OFF"}}), "name", demo.campaign_id.clone()),
            ("/api/v1/api-keys/".into(), json!({"kind": "restricted", "name": nul}), "name", String::new()),
        ];
        let (_, _, key) = send(&app, post("/api/v1/api-keys/", json!({"kind": "restricted", "name": "shop"})).auth(sk)).await;
        for (collection, body, field, id) in creates {
            let (status, _, res) = send(&app, post(&collection, body.clone()).auth(sk)).await;
            assert_names(status, &res, field);
            let id = if id.is_empty() { key["id"].as_str().unwrap().to_owned() } else { id };
            let (status, _, res) = send(&app, patch(&format!("{collection}{id}/"), json!({field: nul})).auth(sk)).await;
            assert_names(status, &res, field);
        }
        let (status, _, res) = send(&app, post("/api/v1/campaigns/", json!({"name": "Pro", "gateway_id": demo.gateway_id,
            "offer": {"name": "Pro", "price": "9.90", "currency": "EUR", "billing_type": "ONE_OFF",
                      "product_description": "Line one\nLine two"}})).auth(sk)).await;
        assert_eq!(status, StatusCode::CREATED, "product descriptions are free text: {res}");

        // Query parameters.
        let today = today();
        for query in [format!("start_date={today}&payment_gateway_id=%00"), format!("start_date={today}%00"),
                      format!("start_date={today}&cursor=a%00b")] {
            let uri = format!("/api/v1/reconciliation/transactions/?{query}");
            let (status, _, res) = send(&app, get(&uri).auth(sk)).await;
            assert_eq!((status, res["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{query}: {res}");
        }
        let (status, _, res) = send(&app, get("/api/v1/gateways/?cursor=%00").auth(sk)).await;
        assert_names(status, &res, "cursor");

        // Path ids.
        for path in ["/api/v1/gateways/not-a-uuid/", "/api/v1/gateways/%00/", "/api/v1/campaigns/1/",
                     "/api/v1/hosted-pages/a%00b/", "/api/v1/api-keys/x/revoke/", "/api/v1/webhook-deliveries/%00/",
                     &format!("/api/v1/webhook-profiles/{profile_id}/endpoints/%00/"),
                     "/api/v1/webhook-profiles/%00/endpoints/"] {
            let (status, _, res) = send(&app, get(path).auth(sk)).await;
            assert_eq!((status, res["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{path}: {res}");
        }
        let (status, _, res) = send(&app, patch("/api/v1/gateways/%00/", json!({"name": "x"})).auth(sk)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
        for path in ["/api/v1/payment-sessions/ps_%00/", "/s/ps_%00/", "/sandbox/verify/%00/"] {
            let (status, _, _) = send(&app, get(path)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let (status, _, res) = send(&app, post("/api/v1/gateways/%00/notifications/", json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
        let (status, _, res) = send(&app, post("/api/v1/gateways/not-a-uuid/notifications/", json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    }

    // Issue 13: the billing, customer and refund routes hold hostile input to a 4xx.
    async fn billing_customer_and_refund_routes_refuse_hostile_input(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (rk, sk) = (demo.restricted_key.as_str(), demo.secret_key.as_str());
        // A saved customer (customer mode, no debit) and an approved debit to refund.
        let mut body = direct(&demo.gateway_id, "hostile@example.com");
        body["mode"] = json!("customer");
        let (_, _, created) = send(&app, post(SESSIONS, body).auth(rk)).await;
        let token = created["session_token"].as_str().unwrap().to_owned();
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), json!({"iban": IBAN_OK, "iban_holder_name": "Ada"}))).await;
        let customer = env["customer"]["id"].as_str().unwrap().to_owned();
        let charges = format!("/api/v1/customers/{customer}/charges/");
        let (status, _, charge) = send(&app, post(&charges, json!({"amount": "5.00", "currency": "EUR", "description": "ok"})).auth(rk)).await;
        assert_eq!(status, StatusCode::CREATED, "{charge}");
        let debit = charge["transaction"]["id"].as_str().unwrap().to_owned();
        let refund = format!("/api/v1/transactions/{debit}/refund/");

        // Control characters in free text.
        let nul = "a\u{0}b";
        let (status, _, res) = send(&app, post(&charges, json!({"amount": "1.00", "currency": "EUR", "description": nul})).auth(rk)).await;
        assert_names(status, &res, "description");
        let (status, _, res) = send(&app, post(&refund, json!({"reason": nul})).auth(rk)).await;
        assert_names(status, &res, "reason");
        // Amounts that are not money.
        for amount in [json!("1e400"), json!("-1.00"), json!("9".repeat(40)), json!("0.001"), json!([1]), json!(null)] {
            let (status, _, res) = send(&app, post(&charges, json!({"amount": amount, "currency": "EUR", "description": "x"})).auth(rk)).await;
            assert_names(status, &res, "amount");
            if !amount.is_null() {
                // (a refund without an amount refunds what is left: `null` is not hostile there)
                let (status, _, res) = send(&app, post(&refund, json!({"amount": amount})).auth(rk)).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{amount}: {res}");
            }
        }
        // A body nested far deeper than any field: a 4xx, never a 500 or a crash.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for path in [charges.as_str(), refund.as_str(), "/api/v1/subscriptions/00000000-0000-0000-0000-000000000000/cancel/"] {
            let req = test::TestRequest::post().uri(path).insert_header(("Authorization", format!("Bearer {sk}")))
                .insert_header(("Content-Type", "application/json")).set_payload(deep.clone()).to_request();
            let res = test::call_service(&app, req).await;
            assert!(res.status().is_client_error(), "{path}: {}", res.status());
        }
        // Over 64 KiB.
        let req = test::TestRequest::post().uri(&charges).insert_header(("Authorization", format!("Bearer {rk}")))
            .insert_header(("Content-Type", "application/json")).set_payload(vec![b' '; 64 * 1024 + 1]).to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Path ids.
        for (path, key) in [("/api/v1/customers/not-a-uuid/", rk), ("/api/v1/customers/%00/charges/", rk),
                            ("/api/v1/transactions/1/refunds/", rk), ("/api/v1/subscriptions/%00/", sk)] {
            let (status, _, res) = send(&app, get(path).auth(key)).await;
            assert_eq!((status, res["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{path}: {res}");
        }
        for path in ["/api/v1/customers/x/charges/", "/api/v1/transactions/%00/refund/", "/api/v1/subscriptions/1/pause/"] {
            let (status, _, res) = send(&app, post(path, json!({})).auth(sk)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {res}");
        }
    }

    // Item 11: security headers on every response; the notification's 413 is the JSON error.
    async fn every_response_carries_the_security_headers(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = res_token(&app, &demo).await;
        let header = |h: &actix_web::http::header::HeaderMap, name: &str| {
            h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        for (path, html) in [
            ("/api/v1/openapi.json/".to_owned(), false),
            ("/api/v1/nowhere/".to_owned(), false),
            ("/nowhere/".to_owned(), false),
            (format!("{SESSIONS}{token}/"), false),
            (format!("/s/{token}/"), true),
            (format!("/s/{}/", SessionToken::generate()), true),
            ("/s/assets/pay.js/".to_owned(), false),
        ] {
            let (status, headers, _) = send(&app, get(&path)).await;
            assert_eq!(header(&headers, "x-content-type-options").as_deref(), Some("nosniff"), "{path} ({status})");
            if html {
                assert!(header(&headers, "content-type").unwrap().starts_with("text/html"), "{path}");
                assert_eq!(header(&headers, "referrer-policy").as_deref(), Some("no-referrer"), "{path} ({status})");
                assert_eq!(header(&headers, "cache-control").as_deref(), Some("no-store"), "{path} ({status})");
            }
        }
        let (_, headers, _) = send(&app, post(SESSIONS, json!({})).auth(&demo.restricted_key)).await;
        assert_eq!(header(&headers, "x-content-type-options").as_deref(), Some("nosniff"), "errors too");

        let req = test::TestRequest::post()
            .uri(&format!("{GATEWAYS}{}/notifications/", demo.gateway_id))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(vec![b'a'; 64 * 1024 + 1])
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(header(res.headers(), "x-content-type-options").as_deref(), Some("nosniff"));
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body, json!({"detail": "Request bodies are limited to 64 KiB.", "code": "payload_too_large"}));
    }

    // Item 12: an unknown credential is 401 before any permission check.
    async fn unknown_credentials_are_401_before_any_permission_check(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let live_session = res_token(&app, &demo).await;
        let unknown_ps = SessionToken::generate().to_string();
        let unknown_sk = ApiKeyToken::generate(KeyKind::Secret).expose().to_owned();
        let unknown_rk = ApiKeyToken::generate(KeyKind::Restricted).expose().to_owned();
        let session_body = direct(&demo.gateway_id, "auth@example.com");
        let gateway_body = json!({"name": "Sandbox", "adapter": "SANDBOX"});
        let requests = [(SESSIONS, &session_body), (GATEWAYS, &gateway_body)];
        for (path, body) in requests {
            for token in [&unknown_ps, &unknown_sk, &unknown_rk, &"ps_short".to_owned()] {
                let (status, _, res) = send(&app, post(path, body.clone()).auth(token)).await;
                assert_eq!((status, res["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")),
                    "{path} with {token}: {res}");
            }
            let (status, _, res) = send(&app, post(path, body.clone()).auth(&live_session)).await;
            assert_eq!((status, res["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{path}: {res}");
        }
        let (status, _, res) = send(&app, get(GATEWAYS).auth(&unknown_ps)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{res}");
        let (status, _, res) = send(&app, post(GATEWAYS, gateway_body).auth(&demo.restricted_key)).await;
        assert_eq!((status, res["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{res}");
    }
}

/// A fresh `PENDING` session of the demo campaign.
async fn res_token<S, B>(app: &S, demo: &catalyst_api::provision::DemoSetup) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let (status, _, created) = send(
        app,
        post(
            SESSIONS,
            json!({"campaign_id": demo.campaign_id, "lead": lead(&email)}),
        )
        .auth(&demo.restricted_key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["session_token"].as_str().unwrap().to_owned()
}
