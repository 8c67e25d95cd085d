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

/// The accepted mandate text and locale stored on the (only) mandate.
fn stored_mandate(ctx: &Ctx) -> (Option<String>, Option<String>) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        mandate_text: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        mandate_locale: Option<String>,
    }
    let mut conn = ctx.db.store.conn().unwrap();
    let row = diesel::sql_query("SELECT mandate_text, mandate_locale FROM mandates")
        .get_result::<Row>(&mut *conn)
        .unwrap();
    (row.mandate_text, row.mandate_locale)
}

api_test! {
    async fn a_new_language_polish_with_its_formats_and_a_complete_mandate(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "Jan", "last_name": "Kowalski", "email": "jan@example.com", "country": "PL"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        // A PL lead's session speaks Polish by default; ?locale switches.
        let (status, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<html lang=\"pl\"") && html.contains("Zapłać teraz"), "{html}");
        assert!(html.contains("id=\"amount\">29,99\u{a0}€<"), "{html}");
        assert!(html.contains("hreflang=\"pt\" lang=\"pt\" href=\"?locale=pt\""));
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}?locale=pt"))).await;
        assert!(html.contains("<html lang=\"pt\"") && html.contains("Pagar agora") && html.contains("Autorização de débito direto SEPA"), "{html}");
        // The demo page's creditor: name, address and identifier; type, rights and notice.
        assert!(html.contains("id=\"creditor-name\">Catalyst Demo Merchant GmbH<"), "{html}");
        assert!(html.contains("id=\"creditor-address\">Musterstraße 1, 10115 Berlin, Germany<"), "{html}");
        assert!(html.contains("id=\"creditor-id\">DE98ZZZ09999999999<"), "{html}");
        assert!(html.contains("id=\"mandate-type\" data-type=\"one_off\">Pagamento único<"), "{html}");
        assert!(html.contains("no prazo de 8 semanas"), "{html}");
        assert!(html.contains("id=\"mandate-prenotification\">Será notificado com pelo menos 5 dias"), "{html}");
        assert!(html.contains("Ao subscrever esta autorização, está a autorizar (A) Catalyst Demo Merchant GmbH"), "{html}");
        // The live check's messages in the page's language, with placeholders for the script.
        assert!(html.contains("data-msg-wrong_length=\"Os IBAN de {country} têm {expected} caracteres, este tem {actual}.\""), "{html}");
    }

    async fn iban_errors_without_javascript_in_the_chosen_language(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let cases = [
            ("fr", "DE89370400440532013", "Les IBAN DE comptent 22 caractères, celui-ci en compte 19."),
            ("fr", "DE88370400440532013000", "La clé de contrôle de l'IBAN est incorrecte."),
            ("en", "DE89_370400440532013000", "The IBAN contains a character that cannot be in an IBAN: '_'."),
            ("pl", "QQ89370400440532013000", "QQ nie jest znanym krajem IBAN."),
            ("ja", "DE8937040044053201300", "DE のIBANは22文字ですが、入力は21文字です。"),
        ];
        for (locale, iban, message) in cases {
            let (status, html) = html_of(&app, form(token, &format!("iban={iban}&holder=Ada&accept=yes&locale={locale}"))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{locale} {iban}");
            assert!(html.contains(&format!("<html lang=\"{locale}\"")), "{locale}: {html}");
            let escaped = message.replace('\'', "&#39;");
            assert!(html.contains(&format!(">{escaped}</p>")), "{locale} {iban}: {html}");
        }
        assert_eq!(ctx.count("mandates"), 0);
        // A payment from the French page: 303 back to the French page.
        let res = test::call_service(&app, form(token, "iban=DE89370400440532013000&holder=Ada&accept=yes&locale=fr").to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers().get("location").unwrap(), &format!("/s/{token}?locale=fr"));
        // The mandate keeps the text the payer accepted, in the language they read it in.
        let (text, locale) = stored_mandate(&ctx);
        assert_eq!(locale.as_deref(), Some("fr"));
        let text = text.unwrap();
        assert!(text.starts_with("En signant ce formulaire de mandat, vous autorisez (A) Catalyst Demo Merchant GmbH"), "{text}");
        assert!(text.contains("8 semaines"), "{text}");
    }

    async fn holder_name_errors_without_javascript_in_the_chosen_language(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id,
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let long = "A".repeat(71);
        let cases = [
            ("de", "+++", "Bitte geben Sie den Namen des Kontoinhabers ein."),
            ("en", "", "Enter the account holder&#39;s name."),
            ("es", long.as_str(), "El nombre del titular de la cuenta puede tener como máximo 70 caracteres."),
            ("ja", long.as_str(), "口座名義人の名前は 70 文字以内で入力してください。"),
        ];
        for (locale, holder, message) in cases {
            let (status, html) = html_of(&app, form(token, &format!("iban=DE89370400440532013000&holder={holder}&accept=yes&locale={locale}"))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{locale} {holder:?}");
            assert!(html.contains(&format!(">{message}</p>")), "{locale} {holder:?}: {html}");
            // The IBAN typed stays in the form.
            assert!(html.contains("value=\"DE89370400440532013000\""), "{html}");
        }
        assert_eq!(ctx.count("mandates"), 0);
        assert_eq!(ctx.count("transactions"), 0);
        // 70 characters are accepted.
        let res = test::call_service(&app, form(token, &format!("iban=DE89370400440532013000&holder={}&accept=yes", "A".repeat(70))).to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(ctx.count("mandates"), 1);
    }

    async fn pay_stores_the_mandate_text_in_the_requested_or_default_locale(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.recurring_campaign_id,
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "NL"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let pay = format!("{SESSIONS}{token}/pay/");
        let (status, _, body) = send(&app, post(&pay, json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada", "locale": "xx"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(ctx.count("mandates"), 0);
        let (status, _, body) = send(&app, post(&pay, json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada"}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (text, locale) = stored_mandate(&ctx);
        assert_eq!(locale.as_deref(), Some("nl"));
        assert!(text.unwrap().starts_with("Door ondertekening van dit formulier geeft u toestemming aan Catalyst Demo Merchant GmbH"));
        // The subscription object shows the accepted text.
        let (_, _, subs) = send(&app, get("/api/v1/subscriptions/").auth(&demo.secret_key)).await;
        let mandate = &subs["results"][0]["mandate"];
        assert_eq!(mandate["locale"], "nl", "{subs}");
        assert!(mandate["text"].as_str().unwrap().contains("Catalyst Demo Merchant GmbH"));
    }

    async fn hosted_page_creditor_settings_are_validated_and_shown(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let pages = "/api/v1/hosted-pages/";
        for bad in [json!({"name": "P", "creditor_identifier": "DE00ZZZ09999999999"}),
                    json!({"name": "P", "creditor_identifier": "not an id"}),
                    json!({"name": "P", "creditor_identifier": 5}),
                    json!({"name": "P", "creditor_name": "x".repeat(71)})] {
            let (status, _, body) = send(&app, post(pages, bad.clone()).auth(&demo.secret_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert_eq!(body["code"], "validation_error", "{body}");
            assert!(body["errors"]["creditor_identifier"].is_array() || body["errors"]["creditor_name"].is_array(), "{body}");
        }
        let (status, _, page) = send(&app, post(pages, json!({"name": "P", "creditor_name": "Zebra GmbH",
            "creditor_address": "Hauptstr. 5, 80331 München", "creditor_identifier": "de98zzz09999999999"})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{page}");
        assert_eq!(page["creditor_identifier"], "DE98ZZZ09999999999");
        let path = format!("{pages}{}/", page["id"].as_str().unwrap());
        let (status, _, body) = send(&app, patch(&path, json!({"creditor_identifier": "XX"})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.campaign_id, "hosted_page_id": page["id"],
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{token}?locale=en"))).await;
        assert!(html.contains("id=\"creditor-name\">Zebra GmbH<") && html.contains("München<"), "{html}");
        let (_, _, session) = send(&app, get(&format!("{SESSIONS}{token}/"))).await;
        assert_eq!(session["mandate"]["creditor_address"], "Hauptstr. 5, 80331 München");
        assert_eq!(session["mandate"]["creditor_identifier"], "DE98ZZZ09999999999");
    }

    async fn final_screens_lead_to_the_campaigns_redirects_without_a_return_url(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let (status, _, _) = send(&app, patch(&format!("/api/v1/campaigns/{}/", demo.campaign_id),
            json!({"success_redirect_url": "https://shop.example/thanks", "failure_redirect_url": "https://shop.example/sorry"})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK);
        let new_session = || post(SESSIONS, json!({"campaign_id": demo.campaign_id, "max_payment_attempts": 1,
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "GB"}})).auth(&demo.restricted_key);
        let (_, _, paid) = send(&app, new_session()).await;
        let paid = paid["session_token"].as_str().unwrap().to_owned();
        send(&app, post(&format!("{SESSIONS}{paid}/pay/"), json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada"}))).await;
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{paid}"))).await;
        assert_eq!(screen(&html), "completed");
        assert!(html.contains(&format!("id=\"return-link\" href=\"https://shop.example/thanks?session_id={paid}&#38;session_token={paid}\"")), "{html}");
        let (_, _, failed) = send(&app, new_session()).await;
        let failed = failed["session_token"].as_str().unwrap().to_owned();
        send(&app, post(&format!("{SESSIONS}{failed}/pay/"), json!({"iban": "DE91100000000123456789", "iban_holder_name": "Ada"}))).await;
        let (_, html) = html_of(&app, TestRequest::get().uri(&format!("/s/{failed}"))).await;
        assert_eq!(screen(&html), "failed", "{html}");
        assert!(html.contains("id=\"return-link\" href=\"https://shop.example/sorry?session_id="), "{html}");
    }
}
