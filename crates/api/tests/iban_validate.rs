//! `POST /api/v1/iban-validate/` (API.md §4), on both backends.

mod common;

use actix_web::http::StatusCode;
use common::*;
use serde_json::{Value, json};

const PATH: &str = "/api/v1/iban-validate/";

async fn session_token<S, B>(app: &S, demo: &catalyst_api::provision::DemoSetup) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let body = json!({"campaign_id": demo.campaign_id,
                      "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}});
    let (status, _, created) = send(
        app,
        post("/api/v1/payment-sessions/", body).auth(&demo.restricted_key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    created["session_token"].as_str().unwrap().to_owned()
}

api_test! {
    async fn the_documented_answer_for_every_kind_of_credential(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let ps = session_token(&app, &demo).await;
        let expected = json!({"valid": true, "iban": "DE89370400440532013000", "country": "DE", "bank_name": "Commerzbank",
                              "bic": "COBADEFFXXX", "sepa": true, "error": null,
                              "error_code": null, "error_params": null});
        for token in [demo.restricted_key.as_str(), demo.secret_key.as_str(), ps.as_str()] {
            let (status, _, body) = send(&app, post(PATH, json!({"iban": "de89 3704 0044 0532 0130 00"})).auth(token)).await;
            assert_eq!((status, &body), (StatusCode::OK, &expected), "{token}");
        }
    }

    async fn invalid_ibans_are_a_200_with_a_sentence(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let cases = [
            ("DE88370400440532013000", "The IBAN check digits are wrong."),
            ("DE8937040044053201300", "DE IBANs have 22 characters, this one has 21."),
            ("DE89-3704-0044-0532-0130-00", "The IBAN contains a character that cannot be in an IBAN: '-'."),
        ];
        for (iban, sentence) in cases {
            let (status, _, body) = send(&app, post(PATH, json!({"iban": iban})).auth(&demo.restricted_key)).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!((body["valid"].clone(), body["error"].as_str()), (json!(false), Some(sentence)), "{iban}: {body}");
            assert_eq!((body["bank_name"].clone(), body["bic"].clone()), (Value::Null, Value::Null));
        }
    }

    async fn every_sandbox_iban_is_valid(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        // Every IBAN of the sandbox's table (API.md §8), so a new one cannot be left out.
        for iban in catalyst_gateway::sandbox::SANDBOX_IBANS.iter().map(|s| s.iban) {
            let (_, _, body) = send(&app, post(PATH, json!({"iban": iban})).auth(&demo.restricted_key)).await;
            assert_eq!(body["valid"], true, "{iban}: {body}");
        }
    }

    async fn bad_requests_and_credentials(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        for (body, field) in [(json!({}), "iban"), (json!({"iban": ""}), "iban"), (json!({"iban": "   "}), "iban"),
                              (json!({"iban": 12}), "iban"), (json!({"iban": null}), "iban"),
                              (json!({"iban": "D".repeat(101)}), "iban"), (json!("DE89"), "non_field_errors")] {
            let (status, _, err) = send(&app, post(PATH, body.clone()).auth(&demo.restricted_key)).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{body}");
            assert!(err["errors"][field].is_array(), "{body} → {err}");
        }
        let (status, _, err) = send(&app, post(PATH, json!({"iban": "DE89370400440532013000"}))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_authenticated")));
        let unknown = format!("ps_{}", "0".repeat(32));
        let (status, _, err) = send(&app, post(PATH, json!({"iban": "DE89370400440532013000"})).auth(&unknown)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")));
        // A cancelled (terminal) session's token no longer works.
        let ps = session_token(&app, &demo).await;
        let (status, _, _) = send(&app, post(&format!("/api/v1/payment-sessions/{ps}/cancel/"), json!({})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, err) = send(&app, post(PATH, json!({"iban": "DE89370400440532013000"})).auth(&ps)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")));
    }

    async fn fifty_requests_per_second_per_key(ctx) {
        let demo = ctx.demo();
        let other = ctx.tenant("Other");
        // Every request at the same instant: the budget does not depend on how fast this
        // machine answers them.
        let at = std::time::Instant::now();
        let app = ctx.app_with(|c| c.rate_limit_clock = catalyst_api::ratelimit::Clock::Fixed(at)).await;
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..70 {
            let (status, headers, _) = send(&app, post(PATH, json!({"iban": "DE89370400440532013000"})).auth(&demo.restricted_key)).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                retry_after = headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            }
            statuses.push(status);
        }
        assert!(statuses[..50].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
        assert!(statuses[50..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        // Another key has its own budget.
        let (status, _, _) = send(&app, post(PATH, json!({"iban": "DE89370400440532013000"})).auth(&other.restricted_key)).await;
        assert_eq!(status, StatusCode::OK);
    }
}
