//! Payment sessions over HTTP (API.md §3.1, §3.2, §3.7), on both backends.

mod common;

use actix_web::http::StatusCode;
use catalyst_domain::status::OrderStatus;
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";

fn lead() -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"})
}

fn campaign_body(campaign_id: &str) -> Value {
    json!({"campaign_id": campaign_id, "lead": lead()})
}

fn direct_body(gateway_id: &str) -> Value {
    json!({"gateway_id": gateway_id, "amount": "12.50", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead()})
}

fn with(mut body: Value, path: &str, value: Value) -> Value {
    let mut target = &mut body;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        target = &mut target[*part];
    }
    let last = parts[parts.len() - 1];
    if value == json!("<remove>") {
        target.as_object_mut().unwrap().remove(last);
    } else {
        target[last] = value;
    }
    body
}

api_test! {
    async fn campaign_mode_creates_a_payable_session(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (status, headers, body) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["payment_url", "session_token", "status"]);
        let token = body["session_token"].as_str().unwrap();
        assert!(token.starts_with("ps_") && token.len() == 35, "{token}");
        assert_eq!(body["status"], "PENDING");
        assert_eq!(body["payment_url"], format!("{BASE}/s/{token}"));
        assert!(headers.contains_key("x-request-id"));

        let (status, _, s) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["status"].as_str(), s["mode"].as_str(), s["amount"].as_str(), s["currency"].as_str()),
                   (Some("PENDING"), Some("payment"), Some("29.99"), Some("EUR")));
        assert_eq!(s["attempts_remaining"], 3);
        assert_eq!(s["default_locale"], "de", "from lead.country");
        assert_eq!(s["offer"]["billing_type"], "one_off");
        assert_eq!(s["offer"]["price"], "29.99");
        assert_eq!(s["campaign"]["name"], "Demo one-off");
        assert_eq!(s["campaign"]["branding"]["primary_color"], "#1f4ed8");
        assert_eq!(s["mandate"]["acceptance_mode"], "checkbox");
        assert_eq!(s["mandate"]["creditor_identifier"], "DE98ZZZ09999999999");
        assert!(s["mandate"]["text"].as_str().unwrap().contains("Catalyst Demo Merchant"));
        assert_eq!(s["lead"], json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}));
        let expires = chrono::DateTime::parse_from_rfc3339(s["expires_at"].as_str().unwrap()).unwrap();
        let ahead = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
        assert!(ahead > chrono::Duration::hours(23) && ahead <= chrono::Duration::hours(24));
        assert!(s["expires_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!((ctx.count("leads"), ctx.count("payment_sessions"), ctx.count("orders")), (1, 1, 1));
    }

    async fn pricing_fields_override_the_campaign_for_this_session_only(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = json!({"campaign_id": demo.campaign_id, "amount": 19.5, "billing_type": "RECURRING",
                          "billing_frequency": "YEARLY", "lead": lead(), "default_locale": "fr",
                          "metadata": {"cart": "42"}, "line_items": [{"description": "Hat", "amount": "19.50"}],
                          "return_url": "https://shop.example/done", "expires_in_seconds": 600});
        let (status, _, created) = send(&app, post(SESSIONS, body).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{}/", created["session_token"].as_str().unwrap()))).await;
        assert_eq!((s["amount"].as_str(), s["offer"]["billing_type"].as_str(), s["offer"]["billing_frequency"].as_str()),
                   (Some("19.50"), Some("recurring"), Some("YEARLY")));
        assert_eq!(s["campaign"]["offer_overrides"]["billing_frequency"], "YEARLY");
        assert_eq!(s["line_items"], json!([{"description": "Hat", "amount": "19.50", "quantity": 1, "external_product_num": null}]));
        assert_eq!(s["metadata"], json!({"cart": "42"}));
        assert_eq!((s["default_locale"].as_str(), s["return_url"].as_str()), (Some("fr"), Some("https://shop.example/done")));
        // The campaign itself is unchanged.
        let (_, _, again) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.secret_key)).await;
        let (_, _, s2) = send(&app, get(&format!("{SESSIONS}{}/", again["session_token"].as_str().unwrap()))).await;
        assert_eq!((s2["amount"].as_str(), s2["offer"]["billing_type"].as_str()), (Some("29.99"), Some("one_off")));
    }

    async fn direct_mode_needs_its_four_fields(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (status, _, body) = send(&app, post(SESSIONS, direct_body(&demo.gateway_id)).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{}/", body["session_token"].as_str().unwrap()))).await;
        assert_eq!((s["amount"].as_str(), s["campaign"].clone()), (Some("12.50"), Value::Null));
        assert_eq!(s["attempts_remaining"], 3);

        let (status, _, body) = send(&app, post(SESSIONS, json!({"lead": lead()})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "validation_error");
        for field in ["gateway_id", "amount", "currency", "billing_type"] {
            assert_eq!(body["errors"][field], json!(["This field is required in direct mode."]), "{field}: {body}");
        }
        assert_eq!(ctx.count("payment_sessions"), 1, "nothing written by the bad request");
    }

    async fn every_validation_rule_names_its_field(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let direct = direct_body(&demo.gateway_id);
        let campaign = campaign_body(&demo.campaign_id);
        let cases: Vec<(Value, &str)> = vec![
            (with(direct.clone(), "amount", json!("12.345")), "amount"),
            (with(direct.clone(), "amount", json!("-1.00")), "amount"),
            (with(direct.clone(), "amount", json!("0.00")), "amount"),
            (with(direct.clone(), "amount", json!("1000000.00")), "amount"),
            (with(direct.clone(), "amount", json!("1e3")), "amount"),
            (with(direct.clone(), "amount", json!("NaN")), "amount"),
            (with(direct.clone(), "amount", json!({"v": 1})), "amount"),
            (with(direct.clone(), "currency", json!("eur")), "currency"),
            (with(direct.clone(), "currency", json!("USD")), "currency"),
            (with(direct.clone(), "billing_type", json!("SOMETIMES")), "billing_type"),
            (with(direct.clone(), "billing_frequency", json!("MONTHLY")), "billing_frequency"),
            (with(direct.clone(), "billing_type", json!("RECURRING")), "billing_frequency"),
            (with(with(direct.clone(), "billing_type", json!("TRIAL_RECURRING")), "billing_frequency", json!("MONTHLY")), "trial_period"),
            (with(direct.clone(), "trial_period", json!(3)), "trial_period"),
            (with(direct.clone(), "max_payment_attempts", json!(0)), "max_payment_attempts"),
            (with(direct.clone(), "max_payment_attempts", json!(11)), "max_payment_attempts"),
            (with(direct.clone(), "gateway_id", json!("not-a-uuid")), "gateway_id"),
            (with(direct.clone(), "gateway_id", json!(uuid::Uuid::now_v7().to_string())), "gateway_id"),
            (with(campaign.clone(), "campaign_id", json!(uuid::Uuid::now_v7().to_string())), "campaign_id"),
            (with(direct.clone(), "webhook_profile_id", json!(uuid::Uuid::now_v7().to_string())), "webhook_profile_id"),
            (with(direct.clone(), "hosted_page_id", json!(uuid::Uuid::now_v7().to_string())), "hosted_page_id"),
            (with(direct.clone(), "customer_ip", json!("300.1.1.1")), "customer_ip"),
            (with(direct.clone(), "mode", json!("subscription")), "mode"),
            (with(direct.clone(), "customer_id", json!(uuid::Uuid::now_v7().to_string())), "customer_id"),
            (with(direct.clone(), "external_customer_id", json!("x".repeat(256))), "external_customer_id"),
            (with(direct.clone(), "return_url", json!("/relative")), "return_url"),
            (with(direct.clone(), "return_url", json!("ftp://example.com/x")), "return_url"),
            (with(direct.clone(), "expires_in_seconds", json!(59)), "expires_in_seconds"),
            (with(direct.clone(), "expires_in_seconds", json!(86401)), "expires_in_seconds"),
            (with(direct.clone(), "default_locale", json!("sv")), "default_locale"),
            (with(direct.clone(), "payment_types", json!(["card"])), "payment_types"),
            (with(direct.clone(), "line_items", json!([{"amount": "1.00"}])), "line_items.0.description"),
            (with(direct.clone(), "line_items", json!([{"description": "x", "amount": "1.00", "quantity": 0}])), "line_items.0.quantity"),
            (with(direct.clone(), "line_items", Value::Array(vec![json!({"description": "x", "amount": "1.00"}); 101])), "line_items"),
            (with(direct.clone(), "metadata", json!({"k": 1})), "metadata"),
            (with(direct.clone(), "metadata", json!({"k".repeat(31): "v"})), "metadata"),
            (with(direct.clone(), "metadata", Value::Object((0..51).map(|i| (format!("k{i}"), json!("v"))).collect())), "metadata"),
            (with(direct.clone(), "lead", json!("<remove>")), "lead"),
            (with(direct.clone(), "lead.email", json!("not-an-email")), "lead.email"),
            (with(direct.clone(), "lead.email", json!("<remove>")), "lead.email"),
            (with(direct.clone(), "lead.first_name", json!("")), "lead.first_name"),
            (with(direct.clone(), "lead.last_name", json!("x".repeat(256))), "lead.last_name"),
            (with(direct.clone(), "lead.country", json!("de")), "lead.country"),
            (with(direct.clone(), "lead.country", json!("XX")), "lead.country"),
            (with(direct.clone(), "lead.phone", json!("call me maybe")), "lead.phone"),
        ];
        for (body, field) in cases {
            let (status, _, err) = send(&app, post(SESSIONS, body.clone()).auth(&demo.restricted_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body} → {err}");
            assert_eq!(err["code"], "validation_error", "{field}: {err}");
            assert_eq!(err["detail"], "Invalid request.");
            let named = err["errors"].as_object().unwrap().keys().any(|k| k == field || k.starts_with(&format!("{field}.")));
            assert!(named, "expected an error on {field} for {body}, got {err}");
        }
        assert_eq!(ctx.count("payment_sessions"), 0);
        assert_eq!(ctx.count("leads"), 0);
    }

    async fn customer_mode_allows_a_zero_amount(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = with(with(direct_body(&demo.gateway_id), "amount", json!("0.00")), "mode", json!("customer"));
        let (status, _, created) = send(&app, post(SESSIONS, body).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{}/", created["session_token"].as_str().unwrap()))).await;
        assert_eq!((s["mode"].as_str(), s["amount"].as_str()), (Some("customer"), Some("0.00")));
    }

    async fn bodies_that_are_not_json_objects_get_documented_errors(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (status, _, body) = send(&app, post(SESSIONS, json!(null)).auth(&demo.restricted_key).header("Content-Type", "text/plain")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));

        let req = actix_web::test::TestRequest::post().uri(SESSIONS)
            .insert_header(("Authorization", format!("Bearer {}", demo.restricted_key)))
            .insert_header(("Content-Type", "application/json")).set_payload("{\"lead\": ").to_request();
        let res = actix_web::test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = actix_web::test::read_body_json(res).await;
        assert_eq!(body["code"], "malformed_json");

        let (status, _, body) = send(&app, post(SESSIONS, json!([1, 2])).auth(&demo.restricted_key)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")));
        assert!(body["errors"]["non_field_errors"].is_array(), "{body}");

        let huge = json!({"lead": lead(), "metadata": {"pad": "x".repeat(70 * 1024)}});
        let (status, _, body) = send(&app, post(SESSIONS, huge).auth(&demo.restricted_key)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
        assert_eq!(ctx.count("payment_sessions"), 0);
    }

    async fn authentication_and_permissions(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = campaign_body(&demo.campaign_id);
        let (status, _, err) = send(&app, post(SESSIONS, body.clone())).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_authenticated")));
        let unknown = format!("rk_{}", "a".repeat(40));
        for bad in [unknown.as_str(), "garbage", "sk_short"] {
            let (status, _, err) = send(&app, post(SESSIONS, body.clone()).auth(bad)).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")), "{bad}");
        }
        let (status, _, err) = send(&app, post(SESSIONS, body.clone()).header("Authorization", format!("Basic {}", demo.secret_key))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")));
        let (_, _, created) = send(&app, post(SESSIONS, body.clone()).auth(&demo.restricted_key)).await;
        let ps = created["session_token"].as_str().unwrap();
        let (status, _, err) = send(&app, post(SESSIONS, body.clone()).auth(ps)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
        let (status, _, err) = send(&app, get("/api/v1/gateways/").auth(&demo.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
        let (status, _, _) = send(&app, get("/api/v1/gateways/").auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn tenants_never_see_each_other(ctx) {
        let demo = ctx.demo();
        let other = ctx.tenant("Other GmbH");
        let app = ctx.app().await;
        let (status, _, err) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&other.restricted_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err["errors"]["campaign_id"].is_array(), "{err}");
        let (status, _, err) = send(&app, post(SESSIONS, direct_body(&demo.gateway_id)).auth(&other.restricted_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err["errors"]["gateway_id"].is_array(), "{err}");
        let (_, _, created) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let (status, _, err) = send(&app, post(&format!("{SESSIONS}{token}/cancel/"), json!({})).auth(&other.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, _, _) = send(&app, get(&format!("/api/v1/gateways/{}/", demo.gateway_id)).auth(&other.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn cancel_moves_pending_to_expired_once(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let path = format!("{SESSIONS}{token}/cancel/");
        let (status, _, body) = send(&app, post(&path, json!({})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["status"].as_str(), body["session_token"].as_str()), (Some("EXPIRED"), Some(token)));
        let (status, _, err) = send(&app, post(&path, json!({})).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("session_not_cancellable")));
        let session = ctx.db.store.read(|c| catalyst_store::PaymentSession::find_by_token(c, token)).unwrap();
        let order = ctx.db.store.read(|c| catalyst_store::Order::find_by_session(c, &session.id)).unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        let (status, _, _) = send(&app, post(&format!("{SESSIONS}ps_{}/cancel/", "0".repeat(32)), json!({})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn sessions_expire_on_read(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap().to_owned();
        let mut session = ctx.db.store.read(|c| catalyst_store::PaymentSession::find_by_token(c, &token)).unwrap();
        session.expires_at = catalyst_store::now() - chrono::Duration::seconds(1);
        ctx.db.store.write(|c| session.save(c)).unwrap();
        let (status, _, s) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!((status, s["status"].as_str()), (StatusCode::OK, Some("EXPIRED")));
        let order = ctx.db.store.read(|c| catalyst_store::Order::find_by_session(c, &session.id)).unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        let (status, _, _) = send(&app, get(&format!("{SESSIONS}ps_{}/", "z".repeat(32)))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = send(&app, get(&format!("{SESSIONS}nonsense/"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn idempotency_keys_replay_and_refuse_reuse(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = campaign_body(&demo.campaign_id);
        let first = send(&app, post(SESSIONS, body.clone()).auth(&demo.restricted_key).header("Idempotency-Key", "order-77")).await;
        let second = send(&app, post(SESSIONS, body.clone()).auth(&demo.restricted_key).header("Idempotency-Key", "order-77")).await;
        assert_eq!(first.0, StatusCode::CREATED);
        assert_eq!((second.0, &second.2), (StatusCode::CREATED, &first.2));
        assert_eq!(second.1.get("idempotent-replayed").unwrap(), "true");
        assert_eq!(ctx.count("payment_sessions"), 1);
        let changed = with(body.clone(), "lead.first_name", json!("Grace"));
        let (status, _, err) = send(&app, post(SESSIONS, changed).auth(&demo.restricted_key).header("Idempotency-Key", "order-77")).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")));
        let (status, _, err) = send(&app, post(SESSIONS, body.clone()).auth(&demo.restricted_key).header("Idempotency-Key", "k".repeat(256))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        // Validation failures are replayed as well: the same bad request gives the same 400.
        let bad = with(body, "lead.email", json!("nope"));
        let a = send(&app, post(SESSIONS, bad.clone()).auth(&demo.restricted_key).header("Idempotency-Key", "bad-1")).await;
        let b = send(&app, post(SESSIONS, bad).auth(&demo.restricted_key).header("Idempotency-Key", "bad-1")).await;
        assert_eq!((a.0, &a.2), (StatusCode::BAD_REQUEST, &b.2));
        assert_eq!(ctx.count("payment_sessions"), 1);
    }

    async fn duplicate_policies_apply_per_campaign(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let mut campaign = ctx.db.store.read(|c| catalyst_store::Campaign::find(c, &demo.tenant_id, &demo.campaign_id.as_str().into())).unwrap();
        campaign.duplicate_policy = "REJECT".into();
        ctx.db.store.write(|c| campaign.save(c)).unwrap();
        let (_, _, created) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let session = ctx.db.store.read(|c| catalyst_store::PaymentSession::find_by_token(c, token)).unwrap();
        let mut order = ctx.db.store.read(|c| catalyst_store::Order::find_by_session(c, &session.id)).unwrap();
        order.status = OrderStatus::Completed;
        ctx.db.store.write(|c| order.save(c)).unwrap();
        let (status, _, err) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_lead")));
        assert_eq!(ctx.count("payment_sessions"), 1);
        // The recurring campaign keeps REUSE: same lead, new session.
        let (status, _, _) = send(&app, post(SESSIONS, campaign_body(&demo.recurring_campaign_id)).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!((ctx.count("leads"), ctx.count("payment_sessions")), (1, 2));
    }

    async fn a_reused_lead_shows_each_session_what_its_own_request_sent(ctx) {
        // Mallory knows Ada's e-mail: the REUSE policy links Ada's lead, but Mallory's session
        // (API and hosted page) must not show Ada's stored name.
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, ada) = send(&app, post(SESSIONS, campaign_body(&demo.campaign_id)).auth(&demo.restricted_key)).await;
        let mallory = json!({"first_name": "Mallory", "last_name": "Intruder", "email": "ADA@example.com", "country": "FR"});
        let (status, _, created) = send(&app, post(SESSIONS, with(campaign_body(&demo.campaign_id), "lead", mallory)).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(ctx.count("leads"), 1, "the lead is reused");
        let token = created["session_token"].as_str().unwrap();
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!(s["lead"], json!({"first_name": "Mallory", "last_name": "Intruder", "email": "ADA@example.com"}));
        assert_eq!(s["default_locale"], "fr");
        let html = actix_web::test::call_and_read_body(&app, actix_web::test::TestRequest::get().uri(&format!("/s/{token}")).to_request()).await;
        let html = String::from_utf8(html.to_vec()).unwrap();
        assert!(!html.contains("Lovelace") && !html.contains("Ada"), "{html}");
        let (_, _, first) = send(&app, get(&format!("{SESSIONS}{}/", ada["session_token"].as_str().unwrap()))).await;
        assert_eq!(first["lead"], json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}));
    }

    async fn the_hosted_page_renders_the_session(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = with(campaign_body(&demo.campaign_id), "lead.first_name", json!("<script>alert(1)</script>"));
        let (_, _, created) = send(&app, post(SESSIONS, body).auth(&demo.restricted_key)).await;
        let url = created["payment_url"].as_str().unwrap().strip_prefix(BASE).unwrap().to_owned();
        for path in [url.clone(), format!("{url}/")] {
            let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().uri(&path).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(res.headers().get("content-security-policy").is_some());
            let html = String::from_utf8(actix_web::test::read_body(res).await.to_vec()).unwrap();
            assert!(html.contains("Catalyst demo shop") && (html.contains("29,99") || html.contains("29.99")), "{html}");
            assert!(html.contains("name=\"iban\"") && html.contains("Catalyst Demo Merchant"));
            assert!(!html.contains("<script>alert"), "lead data must be escaped or absent");
        }
        let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().uri("/s/assets/pay.js").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().uri(&format!("/s/ps_{}", "0".repeat(32))).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    async fn unknown_routes_and_methods_answer_in_json_with_a_request_id(ctx) {
        let app = ctx.app().await;
        let (status, headers, body) = send(&app, get("/api/v1/nothing-here/")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        assert!(headers.contains_key("x-request-id"));
        let (status, _, body) = send(&app, delete(SESSIONS)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
        let (_, headers, _) = send(&app, get("/api/v1/nothing-here").header("X-Request-Id", "abc-123")).await;
        assert_eq!(headers.get("x-request-id").unwrap(), "abc-123");
    }
}

#[actix_web::test]
async fn session_reads_are_rate_limited_per_ip() {
    let db = catalyst_store::test_support::TestDb::sqlite();
    let mut config = catalyst_api::ApiConfig::new(BASE);
    // All at one instant: the eleventh read is over the burst however slowly they are served.
    config.rate_limit_clock = catalyst_api::ratelimit::Clock::Fixed(std::time::Instant::now());
    let state = catalyst_api::AppState::new(db.store.clone(), config);
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(move |cfg| catalyst_api::configure(cfg, state)),
    )
    .await;
    let path = format!("{SESSIONS}ps_{}/", "0".repeat(32));
    for _ in 0..10 {
        let (status, _, _) = send(&app, get(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, headers, body) = send(&app, get(&path)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("throttled"))
    );
    assert_eq!(headers.get("retry-after").unwrap(), "1");
}
