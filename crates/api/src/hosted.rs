//! The hosted payment page (`/s/{token}`): offer, mandate text and the IBAN form.
//!
//! Server-rendered HTML with every value escaped; the page's script (same origin, no inline
//! script, strict CSP) validates the IBAN with `/iban-validate/` (authenticated by the session
//! token) and pays with `/pay/`, then follows `return_url`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use catalyst_domain::session::Locale;
use serde_json::Value;

use crate::db;
use crate::error::ApiError;
use crate::sessions::load_current;
use crate::state::AppState;
use crate::views;

const SCRIPT: &str = include_str!("hosted/pay.js");
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src https: data:; \
                   style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for HTML element and attribute content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

struct Labels {
    waiting: &'static str,
    finish: &'static str,
    pay: &'static str,
    iban: &'static str,
    holder: &'static str,
    accept: &'static str,
    closed: &'static str,
}

fn labels(locale: Locale) -> Labels {
    match locale {
        Locale::De => Labels {
            waiting: "Ihre Bank bestätigt das Mandat.",
            finish: "Zahlung abschließen",
            pay: "Jetzt bezahlen",
            iban: "IBAN",
            holder: "Kontoinhaber",
            accept: "Ich erteile das SEPA-Lastschriftmandat.",
            closed: "Diese Zahlung ist nicht mehr offen.",
        },
        Locale::Fr => Labels {
            waiting: "Votre banque confirme le mandat.",
            finish: "Terminer le paiement",
            pay: "Payer",
            iban: "IBAN",
            holder: "Titulaire du compte",
            accept: "J'accepte le mandat de prélèvement SEPA.",
            closed: "Ce paiement n'est plus ouvert.",
        },
        Locale::Es => Labels {
            waiting: "Su banco confirma la orden.",
            finish: "Completar el pago",
            pay: "Pagar",
            iban: "IBAN",
            holder: "Titular de la cuenta",
            accept: "Acepto la orden de domiciliación SEPA.",
            closed: "Este pago ya no está abierto.",
        },
        Locale::It => Labels {
            waiting: "La tua banca conferma il mandato.",
            finish: "Completa il pagamento",
            pay: "Paga",
            iban: "IBAN",
            holder: "Intestatario del conto",
            accept: "Accetto il mandato di addebito diretto SEPA.",
            closed: "Questo pagamento non è più aperto.",
        },
        Locale::Nl => Labels {
            waiting: "Uw bank bevestigt het mandaat.",
            finish: "Betaling afronden",
            pay: "Betalen",
            iban: "IBAN",
            holder: "Rekeninghouder",
            accept: "Ik geef het SEPA-incassomandaat.",
            closed: "Deze betaling is niet meer open.",
        },
        Locale::Ja => Labels {
            waiting: "銀行がマンデートを確認しています。",
            finish: "支払いを完了する",
            pay: "支払う",
            iban: "IBAN",
            holder: "口座名義人",
            accept: "SEPAダイレクトデビットのマンデートに同意します。",
            closed: "この支払いは受け付けを終了しました。",
        },
        Locale::En => Labels {
            waiting: "Your bank is confirming the mandate.",
            finish: "Finish payment",
            pay: "Pay now",
            iban: "IBAN",
            holder: "Account holder",
            accept: "I accept the SEPA Direct Debit mandate.",
            closed: "This payment is no longer open.",
        },
    }
}

fn text_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn render(s: &Value) -> String {
    let locale: Locale = s["default_locale"]
        .as_str()
        .and_then(|l| l.parse().ok())
        .unwrap_or(Locale::En);
    let l = labels(locale);
    let campaign = &s["campaign"];
    let color = campaign["branding"]["primary_color"]
        .as_str()
        .filter(|c| {
            c.len() <= 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
        })
        .unwrap_or("#1f4ed8");
    let headline = text_of(&campaign["content"]["headline"])
        .or_else(|| text_of(&campaign["name"]))
        .or_else(|| text_of(&s["offer"]["name"]))
        .unwrap_or_else(|| "SEPA Direct Debit".into());
    let logo = text_of(&campaign["branding"]["logo_url"])
        .filter(|u| u.starts_with("https://"))
        .map(|u| format!("<img class=\"logo\" alt=\"\" src=\"{}\">", escape(&u)))
        .unwrap_or_default();
    let show = |key: &str| campaign.is_null() || campaign[key].as_bool().unwrap_or(true);
    let mut offer = String::new();
    if show("show_product_name")
        && let Some(name) =
            text_of(&s["offer"]["product_name"]).or_else(|| text_of(&s["offer"]["name"]))
    {
        offer.push_str(&format!("<p class=\"product\">{}</p>", escape(&name)));
    }
    if show("show_product_description")
        && let Some(d) = text_of(&s["offer"]["product_description"])
    {
        offer.push_str(&format!("<p class=\"description\">{}</p>", escape(&d)));
    }
    if show("show_product_price") {
        let freq = text_of(&s["offer"]["billing_frequency"])
            .map(|f| format!(" / {}", f.to_lowercase()))
            .unwrap_or_default();
        offer.push_str(&format!(
            "<p class=\"price\">{} {}{}</p>",
            escape(s["amount"].as_str().unwrap_or_default()),
            escape(s["currency"].as_str().unwrap_or_default()),
            escape(&freq)
        ));
    }
    for item in s["line_items"].as_array().into_iter().flatten() {
        offer.push_str(&format!(
            "<p class=\"item\">{} × {} — {}</p>",
            item["quantity"],
            escape(item["description"].as_str().unwrap_or_default()),
            escape(item["amount"].as_str().unwrap_or_default())
        ));
    }
    let payable = s["status"] == "PENDING";
    let form = if s["status"] == "AWAITING_VERIFICATION" {
        format!(
            "<form id=\"verify\" data-token=\"{token}\" data-return-url=\"{ret}\">\
             <p>{waiting}</p><button type=\"submit\">{finish}</button><p id=\"result\" role=\"alert\"></p></form>",
            token = escape(s["session_token"].as_str().unwrap_or_default()),
            ret = escape(s["return_url"].as_str().unwrap_or_default()),
            waiting = l.waiting,
            finish = l.finish,
        )
    } else if payable {
        format!(
            "<form id=\"pay\" data-token=\"{token}\" data-return-url=\"{ret}\" novalidate>\
             <label>{iban}<input name=\"iban\" autocomplete=\"off\" required maxlength=\"42\"></label>\
             <p id=\"iban-status\" role=\"status\"></p>\
             <label>{holder}<input name=\"holder\" required maxlength=\"70\"></label>\
             <p class=\"mandate\">{mandate}</p>\
             <label class=\"accept\"><input type=\"checkbox\" name=\"accept\" required> {accept}</label>\
             <button type=\"submit\">{pay} — {amount} {currency}</button>\
             <p id=\"result\" role=\"alert\"></p></form>",
            token = escape(s["session_token"].as_str().unwrap_or_default()),
            ret = escape(s["return_url"].as_str().unwrap_or_default()),
            iban = l.iban,
            holder = l.holder,
            mandate = escape(s["mandate"]["text"].as_str().unwrap_or_default()),
            accept = l.accept,
            pay = l.pay,
            amount = escape(s["amount"].as_str().unwrap_or_default()),
            currency = escape(s["currency"].as_str().unwrap_or_default()),
        )
    } else {
        format!(
            "<p class=\"closed\">{} ({})</p>",
            l.closed,
            escape(s["status"].as_str().unwrap_or_default())
        )
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#111}}\
         h1{{color:{color}}}label{{display:block;margin:1rem 0 .25rem}}input:not([type=checkbox]){{display:block;width:100%;padding:.5rem;font-size:1rem}}\
         button{{margin-top:1rem;padding:.75rem 1rem;width:100%;background:{color};color:#fff;border:0;font-size:1rem}}\
         .mandate{{font-size:.8rem;color:#444}}.logo{{max-height:3rem}}.price{{font-size:1.5rem}}</style></head>\
         <body>{logo}<h1>{title}</h1>{offer}{form}<script src=\"/s/assets/pay.js\"></script></body></html>",
        lang = locale.as_str(),
        title = escape(&headline),
    )
}

/// `GET /s/{token}` — the hosted payment page.
pub async fn page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let session = db::read(&state.store, move |conn| {
        let session = load_current(conn, &token)?;
        views::session_body(conn, &session)
    })
    .await;
    let html = match session {
        Ok(s) => render(&s),
        Err(ApiError::NotFound) => {
            return Ok(HttpResponse::NotFound()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
                .body(
                    "<!doctype html><title>Not found</title><p>This payment link is not valid.</p>",
                ));
        }
        Err(e) => return Err(e),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(html))
}

/// `GET /s/assets/pay.js` — the page's script.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(SCRIPT)
}

/// `GET /sandbox/verify/{reference}` — the SANDBOX gateway's stand-in for the customer's online
/// bank: it shows what is being confirmed and sends the customer back to the payment page,
/// where `/verify/` asks the gateway for the result.
pub async fn sandbox_verification(
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = reference.into_inner();
    let found = db::read(
        &state.store,
        move |c| -> Result<Option<(String, String, String)>, ApiError> {
            let Some(t) = catalyst_store::Transaction::find_by_reference(c, &reference)? else {
                return Ok(None);
            };
            let Some(session_id) = &t.session_id else {
                return Ok(None);
            };
            let session = catalyst_store::PaymentSession::find(c, &t.tenant_id, session_id)?;
            let gateway = catalyst_store::Gateway::find(c, &t.tenant_id, &t.gateway_id)?;
            if gateway.adapter != "SANDBOX" {
                return Ok(None);
            }
            let creditor = gateway.creditor_name.unwrap_or(gateway.name);
            Ok(Some((
                session.token,
                views::money(t.amount_minor, &t.currency)? + " " + &t.currency,
                creditor,
            )))
        },
    )
    .await?;
    let Some((token, amount, creditor)) = found else {
        return Err(ApiError::NotFound);
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox bank</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}\
         a{{display:block;margin-top:1rem;padding:.75rem 1rem;background:#0a7d3b;color:#fff;text-align:center;text-decoration:none}}</style></head>\
         <body><h1>Sandbox bank</h1><p>Confirm the SEPA Direct Debit mandate for <strong>{amount}</strong> to <strong>{creditor}</strong>.</p>\
         <p>This page stands in for the customer's online bank; nothing real happens.</p>\
         <a href=\"/s/{token}\">Confirm and return to the payment</a></body></html>",
        amount = escape(&amount),
        creditor = escape(&creditor),
        token = escape(&token),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}
