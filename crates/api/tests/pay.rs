//! `/pay/` and `/verify/` (API.md §3.3–§3.6, §8) with the sandbox gateway, on both backends.

mod common;

use catalyst_domain::transaction::SequenceType;
use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

async fn new_session<S, B>(app: &S, key: &str, body: Value) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["session_token"].as_str().unwrap().to_owned()
}

fn pay_body(iban: &str) -> Value {
    json!({"iban": iban, "iban_holder_name": "Ada Lovelace"})
}

/// (IBAN, envelope status, `error_details.code`, `gateway_code`, `retry_allowed`).
type Expected = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Value,
);

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn assert_envelope_shape(env: &Value) {
    let expected: BTreeSet<String> = catalyst_api::envelope::KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys(env), expected, "{env}");
    assert_eq!(env["object"], "payment_session.result");
    assert_eq!(
        env["order_number"], env["order"]["order_number"],
        "legacy order_number matches the order block"
    );
    assert_eq!(
        env["error"],
        env["error_details"]
            .get("message")
            .cloned()
            .unwrap_or(Value::Null),
        "legacy error matches error_details"
    );
    if !env["transaction"].is_null() {
        assert_eq!(
            keys(&env["transaction"]),
            [
                "gateway_reference",
                "id",
                "merchant_transaction_id",
                "status",
                "tenant_reference_id",
                "type"
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        );
        let txn = env["transaction"]["merchant_transaction_id"]
            .as_str()
            .unwrap();
        assert!(txn.starts_with("TXN-") && txn.len() == 21, "{txn}");
    }
    for block in [
        "payment_method",
        "sepa",
        "adapter",
        "payment_gateway",
        "order",
        "lead",
    ] {
        assert!(env[block].is_object(), "{block}: {env}");
    }
    let order_number = env["order_number"].as_str().unwrap();
    assert!(order_number.starts_with("ORD-") && order_number.len() == 12);
    assert_eq!(
        env["sepa"]["mandate_reference"],
        format!("MAND-{order_number}")
    );
}

/// `/pay/` answers from the rows its claim and settlement returned; the answer must be exactly
/// what the envelope built from the stored rows says.
fn assert_answer_is_what_was_stored(ctx: &Ctx, token: &str, env: &Value) {
    let store = &ctx.db.store;
    let livemode = env["livemode"].as_bool().unwrap();
    let stored = store
        .read(|c| {
            let session = catalyst_store::PaymentSession::find_by_token(c, token)?;
            catalyst_api::envelope::build(
                c,
                store,
                session,
                catalyst_api::envelope::Call::Pay,
                livemode,
            )
        })
        .unwrap();
    assert_eq!(
        *env, stored,
        "the /pay/ answer differs from the stored state"
    );
}

api_test! {
    async fn every_sandbox_iban_gives_its_documented_envelope(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let table: &[Expected] = &[
            ("DE89370400440532013000", "completed", None, None, Value::Null),
            ("GB82WEST12345698765432", "completed", None, None, Value::Null),
            ("DE91100000000123456789", "declined", Some("insufficient_funds"), Some("AM04"), json!(true)),
            ("DE66100000000000000101", "declined", Some("invalid_iban"), Some("AC01"), json!(true)),
            ("DE17100000000000000401", "declined", Some("account_closed"), Some("AC04"), json!(true)),
            ("DE49100000000000000601", "declined", Some("mandate_rejected"), Some("MD01"), json!(true)),
            ("DE71100000000000000302", "declined", Some("do_not_honor"), Some("MS03"), json!(true)),
            ("DE76100000000000000503", "declined", Some("gateway_unavailable"), None, json!(true)),
            ("DE70100000000000000999", "declined", Some("unknown"), Some("XX99"), json!(true)),
            ("DE92100000000000000700", "awaiting_verification", None, None, Value::Null),
            ("DE65100000000000000701", "awaiting_verification", None, None, Value::Null),
            ("DE43100000000000000806", "completed", None, None, Value::Null),
            ("DE98100000000000000204", "completed", None, None, Value::Null),
        ];
        for (i, (iban, status, code, gateway_code, retry)) in table.iter().enumerate() {
            let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead(&format!("p{i}@example.com"))})).await;
            let (http, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body(iban))).await;
            assert_eq!(http, StatusCode::OK, "{iban}: {env}");
            assert_envelope_shape(&env);
            assert_answer_is_what_was_stored(&ctx, &token, &env);
            assert_eq!(env["status"], *status, "{iban}: {env}");
            assert_eq!(env["retry_allowed"], *retry, "{iban}: {env}");
            assert_eq!(env["error_details"]["code"].as_str(), *code, "{iban}: {env}");
            if let Some(gc) = gateway_code {
                assert_eq!(env["error_details"]["gateway_code"], *gc, "{iban}: {env}");
            }
            assert_eq!(env["payment_method"]["iban_last4"], &iban[iban.len() - 4..]);
            assert_eq!(env["payment_method"]["holder_name"], "Ada Lovelace");
            assert_eq!((env["amount"].as_str(), env["currency"].as_str()), (Some("29.99"), Some("EUR")));
            assert_eq!(env["adapter"]["name"], "SANDBOX");
            assert_eq!(env["sepa"]["sequence_type"], "FRST");
            assert_eq!(env["sepa"]["creditor_identifier"], "DE98ZZZ09999999999");
            let (_, _, s) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
            match *status {
                "completed" => {
                    assert_eq!(s["status"], "COMPLETED");
                    assert_eq!((env["transaction"]["status"].as_str(), env["order"]["status"].as_str()), (Some("approved"), Some("COMPLETED")));
                    assert!(env["processed_at"].is_string() && env["transaction"]["gateway_reference"].is_string());
                }
                "declined" => {
                    assert_eq!(s["status"], "PENDING");
                    let used = if *code == Some("gateway_unavailable") { 0 } else { 1 };
                    assert_eq!(s["attempts_remaining"], 3 - used, "{iban}: attempts");
                }
                "awaiting_verification" => {
                    assert_eq!(s["status"], "AWAITING_VERIFICATION");
                    assert!(env["verification_url"].as_str().unwrap().starts_with(&format!("{BASE}/sandbox/verify/")), "{env}");
                }
                _ => unreachable!(),
            }
        }
        assert_eq!(env_example_bank(&app, &demo).await, json!({"bank_name": "Commerzbank", "bic": "COBADEFFXXX"}));
    }

    async fn declines_use_attempts_until_the_session_fails(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("a@example.com"), "max_payment_attempts": 2})).await;
        let path = format!("{SESSIONS}{token}/pay/");
        let (status, _, err) = send(&app, post(&path, pay_body("DE00 1234"))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_iban")));
        assert!(err["detail"].as_str().unwrap().contains("DE IBANs have 22 characters"), "{err}");
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!(s["attempts_remaining"], 2, "a malformed IBAN uses no attempt");
        assert_eq!(ctx.count("transactions"), 0);

        let (_, _, first) = send(&app, post(&path, pay_body("DE91100000000123456789"))).await;
        assert_eq!((first["status"].as_str(), first["retry_allowed"].clone()), (Some("declined"), json!(true)));
        let (_, _, second) = send(&app, post(&path, pay_body("DE91100000000123456789"))).await;
        assert_envelope_shape(&second);
        assert_eq!((second["status"].as_str(), second["retry_allowed"].clone()), (Some("failed"), json!(false)));
        assert_eq!(second["order"]["status"], "FAILED");
        let (status, _, err) = send(&app, post(&path, pay_body("DE89370400440532013000"))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("session_not_payable")));
        assert_eq!(ctx.count("transactions"), 2);
        assert_eq!(ctx.count("mandates"), 1, "one mandate per order, replaced on retry");
    }

    async fn body_rules_and_tenant_reference_ids(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("r@example.com")})).await;
        let path = format!("{SESSIONS}{token}/pay/");
        for (body, field) in [
            (json!({"iban_holder_name": "A"}), "iban"),
            (json!({"iban": "", "iban_holder_name": "A"}), "iban"),
            (json!({"iban": "DE89370400440532013000"}), "iban_holder_name"),
            (json!({"iban": "DE89370400440532013000", "iban_holder_name": "x".repeat(71)}), "iban_holder_name"),
            (json!({"iban": "DE89370400440532013000", "iban_holder_name": "A", "tenant_reference_id": "  "}), "tenant_reference_id"),
            (json!({"iban": "DE89370400440532013000", "iban_holder_name": "A", "tenant_reference_id": "x".repeat(256)}), "tenant_reference_id"),
            (json!({"iban": "DE89370400440532013000", "iban_holder_name": "A", "tenant_reference_id": 7}), "tenant_reference_id"),
        ] {
            let (status, _, err) = send(&app, post(&path, body.clone())).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{body}");
            assert!(err["errors"][field].is_array(), "{body} → {err}");
        }
        let mut body = pay_body("DE89370400440532013000");
        body["tenant_reference_id"] = json!("x".repeat(255));
        let (_, _, env) = send(&app, post(&path, body.clone())).await;
        assert_eq!((env["status"].as_str(), env["transaction"]["tenant_reference_id"].as_str()), (Some("completed"), Some("x".repeat(255).as_str())));
        // The same reference on another session of the tenant: 409, and that session stays PENDING.
        let other = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("s@example.com")})).await;
        let (status, _, err) = send(&app, post(&format!("{SESSIONS}{other}/pay/"), body.clone())).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("tenant_reference_id_conflict")));
        assert_eq!(err["detail"], "tenant_reference_id already in use for this tenant");
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{other}/"))).await;
        assert_eq!((s["status"].as_str(), s["attempts_remaining"].clone()), (Some("PENDING"), json!(3)));
        // Another tenant may use the same reference.
        let t2 = ctx.tenant("Other");
        let gw = send(&app, post("/api/v1/gateways/", json!({"name": "sb", "adapter": "SANDBOX"})).auth(&t2.secret_key)).await.2;
        let theirs = new_session(&app, &t2.restricted_key, json!({"gateway_id": gw["id"], "amount": "5.00", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead("t@example.com")})).await;
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{theirs}/pay/"), body)).await;
        assert_eq!(env["status"], "completed", "{env}");
        // Unknown, expired and completed sessions.
        let (status, _, _) = send(&app, post(&format!("{SESSIONS}ps_{}/pay/", "0".repeat(32)), pay_body("DE89370400440532013000"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, err) = send(&app, post(&path, pay_body("DE89370400440532013000"))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("session_not_payable")));
        let gone = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("g@example.com")})).await;
        send(&app, post(&format!("{SESSIONS}{gone}/cancel/"), json!({})).auth(&demo.restricted_key)).await;
        let (status, _, err) = send(&app, post(&format!("{SESSIONS}{gone}/pay/"), pay_body("DE89370400440532013000"))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::GONE, Some("session_expired")));
    }

    async fn verification_succeeds_or_fails_through_verify(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let ok = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("v1@example.com")})).await;
        let (status, _, err) = send(&app, post(&format!("{SESSIONS}{ok}/verify/"), json!({}))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("session_not_verifiable")));
        send(&app, post(&format!("{SESSIONS}{ok}/pay/"), pay_body("DE92100000000000000700"))).await;
        let req = actix_web::test::TestRequest::post().uri(&format!("{SESSIONS}{ok}/verify/")).to_request();
        let res = actix_web::test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK, "an empty body is allowed");
        let env: Value = actix_web::test::read_body_json(res).await;
        assert_envelope_shape(&env);
        assert_eq!((env["status"].as_str(), env["transaction"]["status"].as_str()), (Some("completed"), Some("approved")));

        let bad = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("v2@example.com")})).await;
        let (_, _, paid) = send(&app, post(&format!("{SESSIONS}{bad}/pay/"), pay_body("DE65100000000000000701"))).await;
        // verification_id, when sent, must name the pending verification: the debit's
        // transaction.gateway_reference (for the sandbox also the last segment of
        // verification_url). Another id is refused before the gateway is asked.
        let (status, _, err) = send(&app, post(&format!("{SESSIONS}{bad}/verify/"), json!({"verification_id": "abc"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(err["errors"]["verification_id"].is_array(), "{err}");
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{bad}/"))).await;
        assert_eq!(s["status"].as_str(), Some("AWAITING_VERIFICATION"), "nothing changed");
        let verification_id = paid["transaction"]["gateway_reference"].as_str().unwrap().to_owned();
        assert!(paid["verification_url"].as_str().unwrap().contains(&verification_id), "{paid}");
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{bad}/verify/"), json!({"verification_id": verification_id}))).await;
        assert_envelope_shape(&env);
        assert_eq!((env["status"].as_str(), env["retry_allowed"].clone()), (Some("failed"), json!(true)));
        assert_eq!((env["error_details"]["code"].as_str(), env["error_details"]["gateway_code"].as_str()), (Some("mandate_rejected"), Some("MS02")));
        let (_, _, s) = send(&app, get(&format!("{SESSIONS}{bad}/"))).await;
        assert_eq!((s["status"].as_str(), s["attempts_remaining"].clone()), (Some("PENDING"), json!(2)));
        let (status, _, _) = send(&app, post(&format!("{SESSIONS}{bad}/verify/"), json!({}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn recurring_payment_starts_a_subscription(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.recurring_campaign_id, "lead": lead("m@example.com")})).await;
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE89370400440532013000"))).await;
        assert_envelope_shape(&env);
        assert_answer_is_what_was_stored(&ctx, &token, &env);
        assert_eq!((env["status"].as_str(), env["amount"].as_str()), (Some("completed"), Some("9.99")));
        let sub = &env["subscription"];
        assert_eq!((sub["status"].as_str(), sub["billing_frequency"].as_str()), (Some("ACTIVE"), Some("MONTHLY")));
        let expected = catalyst_domain::billing::BillingFrequency::Monthly.add_to(chrono::Utc::now().date_naive());
        assert_eq!(sub["next_billing_date"], expected.format("%Y-%m-%d").to_string());
        let mandate = ctx.db.store.read(|c| catalyst_store::Mandate::page(c, &demo.tenant_id, &catalyst_store::PageRequest { size: 10, cursor: None })).unwrap();
        assert_eq!(mandate.items[0].sequence_type, SequenceType::Recurring, "the next collection is RCUR");
    }

    async fn customer_modes_save_the_mandate(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = json!({"gateway_id": demo.gateway_id, "amount": "0.00", "currency": "EUR", "billing_type": "ONE_OFF",
                          "mode": "customer", "external_customer_id": "user-42", "lead": lead("c@example.com")});
        let token = new_session(&app, &demo.restricted_key, body).await;
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE89370400440532013000"))).await;
        assert_envelope_shape(&env);
        assert_answer_is_what_was_stored(&ctx, &token, &env);
        assert_eq!((env["status"].as_str(), env["transaction"].clone()), (Some("completed"), Value::Null));
        assert_eq!(env["customer"]["external_customer_id"], "user-42");
        assert!(env["customer"]["id"].is_string());
        assert_eq!(ctx.count("transactions"), 0, "customer mode debits nothing");

        // The saved customer can be named by a later customer-mode session; an unknown one cannot.
        let customer_id = env["customer"]["id"].as_str().unwrap().to_owned();
        let named = json!({"gateway_id": demo.gateway_id, "amount": "0.00", "currency": "EUR", "billing_type": "ONE_OFF",
                           "mode": "customer", "customer_id": customer_id, "lead": lead("c@example.com")});
        let again = new_session(&app, &demo.restricted_key, named.clone()).await;
        let (_, _, env2) = send(&app, post(&format!("{SESSIONS}{again}/pay/"), pay_body("GB82WEST12345698765432"))).await;
        assert_answer_is_what_was_stored(&ctx, &again, &env2);
        assert_eq!(env2["customer"]["id"], customer_id.as_str(), "{env2}");
        let mut unknown = named;
        unknown["customer_id"] = json!(uuid::Uuid::now_v7().to_string());
        let (status, _, err) = send(&app, post(SESSIONS, unknown).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err["errors"]["customer_id"].is_array(), "{err}");

        let body = json!({"campaign_id": demo.campaign_id, "mode": "customer_payment", "lead": lead("cp@example.com")});
        let token = new_session(&app, &demo.restricted_key, body).await;
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body("DE89370400440532013000"))).await;
        assert_answer_is_what_was_stored(&ctx, &token, &env);
        assert_eq!((env["status"].as_str(), env["transaction"]["status"].as_str()), (Some("completed"), Some("approved")));
        assert!(env["customer"]["id"].is_string(), "{env}");
    }

    async fn twenty_concurrent_payers_make_one_debit(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("race@example.com")})).await;
        let path = format!("{SESSIONS}{token}/pay/");
        let calls = (0..20).map(|_| send(&app, post(&path, pay_body("DE89370400440532013000"))));
        let results = futures_util::future::join_all(calls).await;
        let ok = results.iter().filter(|(s, _, _)| *s == StatusCode::OK).count();
        let conflicts = results.iter().filter(|(s, _, b)| *s == StatusCode::CONFLICT && b["code"] == "session_not_payable").count();
        assert_eq!((ok, conflicts), (1, 19), "{:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
        assert_eq!(ctx.count("transactions"), 1);
        assert_eq!(ctx.count("sandbox_ledger"), 1, "exactly one gateway call");
    }

    async fn ibans_and_holders_are_sealed_at_rest(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("e@example.com")})).await;
        send(&app, post(&format!("{SESSIONS}{token}/pay/"), json!({"iban": "DE89370400440532013000", "iban_holder_name": "Zygmunt Quux"}))).await;
        let m = ctx.db.store.read(|c| catalyst_store::Mandate::page(c, &demo.tenant_id, &catalyst_store::PageRequest { size: 1, cursor: None })).unwrap().items.remove(0);
        let row = format!("{m:?}");
        assert!(!row.contains("DE89370400440532013000") && !row.contains("370400440532013000") && !row.contains("Zygmunt"), "{row}");
        assert_eq!((m.iban_last4.as_str(), m.iban_country.as_str(), m.bic.as_deref()), ("3000", "DE", Some("COBADEFFXXX")));
        let opened = ctx.db.store.cipher().open(catalyst_store::payments::IBAN_CONTEXT, &m.iban_sealed).unwrap();
        assert_eq!(opened, b"DE89370400440532013000");
    }
}

/// The registry answer for the documented IBAN as the envelope shows it.
async fn env_example_bank<S, B>(app: &S, demo: &catalyst_api::provision::DemoSetup) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let token = new_session(
        app,
        &demo.restricted_key,
        json!({"campaign_id": demo.campaign_id, "lead": lead("bank@example.com")}),
    )
    .await;
    let (_, _, env) = send(
        app,
        post(
            &format!("{SESSIONS}{token}/pay/"),
            pay_body("DE89 3704 0044 0532 0130 00"),
        ),
    )
    .await;
    json!({"bank_name": env["payment_method"]["bank_name"], "bic": env["payment_method"]["bic"]})
}

api_test! {
    async fn the_s2s_flow_through_the_emp_adapter_against_the_fake_genesis(ctx) {
        catalyst_gateway::install_crypto_provider();
        let fake = catalyst_gateway::fake::start(Default::default(), "127.0.0.1:0").await.unwrap();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let credentials: Value = serde_json::from_str(&fake.credentials_json()).unwrap();
        let (status, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Genesis", "adapter": "EMP", "descriptor": "ACME SHOP",
            "creditor_name": "Acme GmbH", "creditor_identifier": "DE98ZZZ09999999999", "credentials": credentials})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let direct = |email: &str| json!({"gateway_id": gw["id"], "amount": "12.34", "currency": "EUR", "billing_type": "ONE_OFF", "lead": lead(email)});

        // create → validate → pay, for each kind of outcome.
        let cases = [("DE89370400440532013000", "completed"), ("DE91100000000123456789", "declined"), ("DE92100000000000000700", "awaiting_verification")];
        let mut tokens = Vec::new();
        for (i, (iban, expected)) in cases.iter().enumerate() {
            let token = new_session(&app, &tenant.restricted_key, direct(&format!("emp{i}@example.com"))).await;
            let (_, _, valid) = send(&app, post("/api/v1/iban-validate/", json!({"iban": iban})).auth(&token)).await;
            assert_eq!(valid["valid"], true);
            let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), pay_body(iban))).await;
            assert_envelope_shape(&env);
            assert_eq!((env["status"].as_str(), env["adapter"]["name"].as_str()), (Some(*expected), Some("EMP")), "{iban}: {env}");
            assert_eq!(env["payment_gateway"]["descriptor"], "ACME SHOP");
            tokens.push((token, env));
        }
        assert_eq!(tokens[1].1["error_details"]["code"], "insufficient_funds");
        assert_eq!(tokens[1].1["error_details"]["gateway_code"], "AM04");
        let at_gateway = fake.transactions();
        assert_eq!(at_gateway.len(), 3);
        assert_eq!(at_gateway[0].amount, 1234, "minor units at the gateway");
        assert_eq!(at_gateway[0].transaction_type, "sdd_sale");

        // verify: the customer confirms at the (fake) bank, then /verify/ asks the gateway.
        let (token, env) = &tokens[2];
        let url = env["verification_url"].as_str().unwrap();
        assert!(url.contains("/__fake/redirect/"), "{url}");
        let (status, _, early) = send(&app, post(&format!("{SESSIONS}{token}/verify/"), json!({}))).await;
        assert_eq!((status, early["status"].as_str()), (StatusCode::OK, Some("awaiting_verification")), "nothing changes before the customer confirms");
        fake.complete_verification(env["transaction"]["gateway_reference"].as_str().unwrap()).unwrap();
        let (_, _, done) = send(&app, post(&format!("{SESSIONS}{token}/verify/"), json!({}))).await;
        assert_eq!((done["status"].as_str(), done["transaction"]["status"].as_str()), (Some("completed"), Some("approved")), "{done}");

        // Concurrent payers over the network gateway (claim, commit, then the HTTP call):
        // one debit reaches Genesis, and the winner's answer is what was stored.
        let token = new_session(&app, &tenant.restricted_key, direct("emp-race@example.com")).await;
        let path = format!("{SESSIONS}{token}/pay/");
        let calls = (0..10).map(|_| send(&app, post(&path, pay_body("DE89370400440532013000"))));
        let results = futures_util::future::join_all(calls).await;
        let winners: Vec<&Value> = results.iter().filter(|(s, _, _)| *s == StatusCode::OK).map(|r| &r.2).collect();
        let conflicts = results.iter().filter(|(s, _, b)| *s == StatusCode::CONFLICT && b["code"] == "session_not_payable").count();
        assert_eq!((winners.len(), conflicts), (1, 9), "{:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
        assert_eq!(winners[0]["status"], "completed", "{}", winners[0]);
        assert_answer_is_what_was_stored(&ctx, &token, winners[0]);
        assert_eq!(fake.transactions().len(), 4, "exactly one more debit at the gateway");
        fake.stop().await;
    }
}
