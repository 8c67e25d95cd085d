//! The hosted payment page `/s/{token}` (DOM contract, locales, no-JS form), on both backends.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::*;
use serde_json::json;

const SESSIONS: &str = "/api/v1/payment-sessions/";

async fn html_of<S, B>(app: &S, req: TestRequest) -> (StatusCode, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn form(token: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/s/{token}"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned())
}

fn screen(html: &str) -> &str {
    let at = html.find("data-screen=\"").expect("a screen") + "data-screen=\"".len();
    &html[at..at + html[at..].find('"').unwrap()]
}

api_test! {
    async fn every_locale_renders_the_pay_screen_with_the_contract_ids(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        for (locale, word) in [("en", "Pay now"), ("de", "Jetzt bezahlen"), ("fr", "Payer"), ("es", "Pagar"),
                               ("it", "Paga"), ("nl", "Betalen"), ("ja", "支払う")] {
            let (status, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}?locale={locale}"))).await;
            assert_eq!(status, StatusCode::OK);
            assert!(html.contains(&format!("<html lang=\"{locale}\"")), "{locale}");
            assert!(html.contains(word), "{locale}: {html}");
            assert_eq!(screen(&html), "pay");
            for id in ["merchant-name", "product-name", "amount", "mandate", "creditor-name", "creditor-id",
                       "mandate-reference", "mandate-type", "mandate-rights", "mandate-date", "pay-form",
                       "iban", "holder", "accept", "pay-button", "iban-feedback", "locales"] {
                assert!(html.contains(&format!("id=\"{id}\"")), "{locale}: #{id}");
            }
            assert!(html.contains(&format!("action=\"/s/{token}\"")));
            assert!(html.contains("hreflang=\"fr\" lang=\"fr\" href=\"?locale=fr\""));
        }
        // No ?locale: the session's default (DE lead → de) wins over Accept-Language.
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}")).insert_header(("accept-language", "fr"))).await;
        assert!(html.contains("<html lang=\"de\"") && html.contains("29,99\u{a0}€"), "{html}");
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}?locale=en"))).await;
        assert!(html.contains("€29.99"));
        // The mandate reference shown is the one the mandate will carry.
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"), json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada"}))).await;
        let reference = env["mandate"]["reference"].as_str().map(str::to_owned)
            .unwrap_or_else(|| format!("MAND-{}", env["order_number"].as_str().unwrap()));
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}"))).await;
        assert_eq!(screen(&html), "completed", "{html}");
        assert!(html.contains(&format!("id=\"mandate-reference\">{reference}<")), "{html}");
        assert!(html.contains("id=\"order-number\""));
        let (status, html) = html_of(&app, TestRequest::get().uri(&format!("/s/ps_{}", "0".repeat(32)))).await;
        assert_eq!((status, screen(&html)), (StatusCode::NOT_FOUND, "not_found"));
    }

    async fn the_form_pays_without_javascript(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id, "max_payment_attempts": 2,
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        // A bad IBAN: 400, the form again with what was typed and the error; nothing written.
        let before = ctx.count("transactions");
        let (status, html) = html_of(&app, form(token, "iban=DE00+1234&holder=Ada+%3Cb%3E&accept=yes")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(screen(&html), "pay");
        assert!(html.contains("value=\"Ada &#60;b&#62;\"") && html.contains("aria-invalid=\"true\""), "{html}");
        // In the payer's language (the DE lead's session speaks German), with both numbers.
        assert!(html.contains("IBANs aus DE haben 22 Zeichen, diese hat 8.</p>"), "the error is shown in #form-error: {html}");
        // The mandate not accepted: 400, nothing written.
        let (status, _) = html_of(&app, form(token, "iban=DE89370400440532013000&holder=Ada")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!((ctx.count("transactions"), ctx.count("mandates")), (before, 0));
        // Garbage and oversize bodies, wrong content type: 4xx.
        let (status, _) = html_of(&app, form(token, &"a=b&".repeat(2000))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = html_of(&app, TestRequest::post().uri(&format!("/s/{token}")).insert_header(("content-type", "application/json")).set_payload("{}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = html_of(&app, TestRequest::post().uri(&format!("/s/{token}")).insert_header(("content-type", "application/x-www-form-urlencoded")).set_payload(vec![0xff, 0xfe])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Declined: 303 back to the page, which shows the form again with the attempts left.
        let res = test::call_service(&app, form(token, "iban=DE91100000000123456789&holder=Ada&accept=yes").to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers().get("location").unwrap(), &format!("/s/{token}"));
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}"))).await;
        assert_eq!(screen(&html), "declined");
        assert!(html.contains("id=\"attempts-left\">1<"), "{html}");
        // Then paid.
        let res = test::call_service(&app, form(token, "iban=DE89+3704+0044+0532+0130+00&holder=Ada&accept=yes").to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}"))).await;
        assert_eq!(screen(&html), "completed", "{html}");
        // Posting again is not a second payment.
        let res = test::call_service(&app, form(token, "iban=DE89370400440532013000&holder=Ada&accept=yes").to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(ctx.count("transactions"), before + 2);
    }

    async fn hostile_branding_and_product_text_is_escaped(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"gateway_id": demo.gateway_id, "amount": "12.50", "currency": "EUR",
            "billing_type": "ONE_OFF", "offer": {"name": "<script>alert(1)</script>", "product_name": "\"><img src=x onerror=alert(1)>"},
            "return_url": "https://shop.example/back?a=\"<x>",
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "GB"}})).auth(&demo.restricted_key)).await;
        let Some(token) = created["session_token"].as_str() else {
            // The API refused the hostile offer: nothing to render.
            return;
        };
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}"))).await;
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "{html}");
    }
}
