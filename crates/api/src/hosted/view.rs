//! The hosted page's view: which screen a session shows, in which locale, and its HTML.

use catalyst_domain::session::Locale;
use serde_json::Value;

use super::labels::{Labels, labels};

/// The screen the page shows (the `data-screen` of `#checkout`, DOM contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The form, first attempt.
    Pay,
    /// The last attempt was declined and attempts are left: the form again.
    Declined,
    /// No attempts left.
    Failed,
    /// The bank's verification step.
    Verification,
    /// A payment is in progress.
    Processing,
    /// Paid, or the mandate saved.
    Completed,
    /// The link expired.
    Expired,
    /// The payment was cancelled.
    Cancelled,
}

impl Screen {
    /// The screen's name in the DOM contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Screen::Pay => "pay",
            Screen::Declined => "declined",
            Screen::Failed => "failed",
            Screen::Verification => "verification",
            Screen::Processing => "processing",
            Screen::Completed => "completed",
            Screen::Expired => "expired",
            Screen::Cancelled => "cancelled",
        }
    }

    /// The screen for a session `status` whose latest transaction has `latest_status`.
    pub fn of(status: &str, latest_status: Option<&str>) -> Screen {
        match status {
            "PENDING" if latest_status == Some("declined") => Screen::Declined,
            "PENDING" => Screen::Pay,
            "AWAITING_VERIFICATION" => Screen::Verification,
            "COMPLETED" => Screen::Completed,
            "FAILED" => Screen::Failed,
            "EXPIRED" => Screen::Expired,
            "CANCELLED" => Screen::Cancelled,
            _ => Screen::Processing,
        }
    }

    fn shows_form(self) -> bool {
        matches!(self, Screen::Pay | Screen::Declined)
    }
}

/// Chooses the page's locale: `?locale=`, else the session's default, else the first supported
/// language of `Accept-Language`, else English.
pub fn choose_locale(
    query: Option<&str>,
    session_default: Option<&str>,
    accept_language: Option<&str>,
) -> Locale {
    if let Some(l) = query.and_then(|q| q.parse().ok()) {
        return l;
    }
    if let Some(l) = session_default.and_then(|q| q.parse().ok()) {
        return l;
    }
    accept_language
        .into_iter()
        .flat_map(|h| h.split(','))
        .filter_map(|part| {
            let tag = part.split(';').next()?.trim();
            tag.split('-').next()?.to_ascii_lowercase().parse().ok()
        })
        .next()
        .unwrap_or(Locale::En)
}

/// A decimal amount string (`"1234.50"`) of `currency` formatted for `locale`:
/// en/ja `€1,234.50`, de/es/it/nl `1.234,50 €`, fr `1 234,50 €` (narrow no-break space).
pub fn format_amount(locale: Locale, amount: &str, currency: &str) -> String {
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let (group, decimal) = match locale {
        Locale::En | Locale::Ja => (",", "."),
        Locale::Fr => ("\u{202f}", ","),
        Locale::De | Locale::Es | Locale::It | Locale::Nl => (".", ","),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push_str(group);
        }
        grouped.push(c);
    }
    let number = if frac.is_empty() {
        grouped
    } else {
        format!("{grouped}{decimal}{frac}")
    };
    let symbol = match currency {
        "EUR" => "€",
        "GBP" => "£",
        "USD" => "$",
        "JPY" => "¥",
        other => other,
    };
    let sign = if negative { "-" } else { "" };
    match locale {
        Locale::En | Locale::Ja => format!("{sign}{symbol}{number}"),
        _ => format!("{sign}{number}\u{a0}{symbol}"),
    }
}

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

/// Everything the page shows, read from the store.
pub struct PageData {
    /// The §3.2 session body.
    pub session: Value,
    /// The order's number.
    pub order_number: String,
    /// The reference the mandate carries (`MAND-` + order number), known before payment.
    pub mandate_reference: String,
    /// The latest transaction's status, if any.
    pub latest_status: Option<String>,
    /// The latest transaction's verification URL, if any.
    pub verification_url: Option<String>,
    /// The creditor's name (hosted page, else gateway).
    pub creditor_name: String,
    /// The creditor's address, when configured.
    pub creditor_address: Option<String>,
    /// The creditor identifier, when configured.
    pub creditor_id: Option<String>,
    /// The mandate date (signed date when signed, else today), `YYYY-MM-DD`.
    pub mandate_date: chrono::NaiveDate,
}

/// What the no-JS form sent back, shown again with the error.
#[derive(Default)]
pub struct FormEcho {
    /// The IBAN as typed.
    pub iban: String,
    /// The holder as typed.
    pub holder: String,
    /// The error to show in `#form-error`.
    pub error: Option<String>,
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().filter(|t| !t.is_empty())
}

fn date_in(locale: Locale, d: chrono::NaiveDate) -> String {
    match locale {
        Locale::En => d.format("%-d %B %Y").to_string(),
        Locale::Ja => d.format("%Y年%-m月%-d日").to_string(),
        Locale::De | Locale::Nl => d.format("%d.%m.%Y").to_string(),
        Locale::Fr | Locale::Es | Locale::It => d.format("%d/%m/%Y").to_string(),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:1.5rem auto;padding:0 1rem;color:#111;line-height:1.45}\
nav#locales{display:flex;flex-wrap:wrap;gap:.5rem;font-size:.9rem}nav#locales a{color:#1a1a8c}\
label{display:block;margin:1rem 0 .25rem;font-weight:600}input:not([type=checkbox]){display:block;box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #555;border-radius:4px}\
input[type=checkbox]{width:1.2rem;height:1.2rem;vertical-align:middle}\
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}\
button{margin-top:1rem;padding:.8rem 1rem;width:100%;border:0;border-radius:4px;font-size:1rem;cursor:pointer}\
button:disabled{opacity:.6}#mandate{font-size:.9rem;border:1px solid #999;padding:.5rem 1rem;margin:1rem 0}\
#mandate dt{font-weight:600}#mandate dd{margin:0 0 .4rem}.logo{max-height:3rem;max-width:100%}\
#amount{font-size:1.5rem;font-weight:700}#iban-feedback[data-state=invalid],#form-error{color:#a00000}\
ul#line-items{padding-left:1.2rem}";

/// The page's HTML for `data` in `locale` on `screen`.
pub fn render(data: &PageData, locale: Locale, screen: Screen, form: &FormEcho) -> String {
    let l = labels(locale);
    let s = &data.session;
    let token = escape(s["session_token"].as_str().unwrap_or_default());
    let campaign = &s["campaign"];
    let color = campaign["branding"]["primary_color"]
        .as_str()
        .filter(|c| {
            c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
        })
        .unwrap_or("#1f4ed8");
    let currency = s["currency"].as_str().unwrap_or_default();
    let amount = format_amount(locale, s["amount"].as_str().unwrap_or("0"), currency);
    let merchant = text(&campaign["content"]["headline"])
        .or_else(|| text(&campaign["name"]))
        .unwrap_or(&data.creditor_name);
    let mut h = String::with_capacity(8 * 1024);
    h.push_str(&format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>{STYLE}button{{background:{color};color:#fff}}</style></head><body>",
        lang = locale.as_str(),
        title = escape(merchant),
    ));
    h.push_str("<nav id=\"locales\" aria-label=\"Language\">");
    for other in Locale::ALL {
        let current = if *other == locale {
            " aria-current=\"true\""
        } else {
            ""
        };
        h.push_str(&format!(
            "<a hreflang=\"{c}\" lang=\"{c}\" href=\"?locale={c}\"{current}>{c}</a>",
            c = other.as_str()
        ));
    }
    h.push_str("</nav>");
    h.push_str(&format!(
        "<main id=\"checkout\" data-screen=\"{}\">",
        screen.as_str()
    ));
    if let Some(logo) =
        text(&campaign["branding"]["logo_url"]).filter(|u| u.starts_with("https://"))
    {
        h.push_str(&format!(
            "<img id=\"merchant-logo\" class=\"logo\" alt=\"\" src=\"{}\">",
            escape(logo)
        ));
    }
    h.push_str(&format!(
        "<h1 id=\"merchant-name\">{}</h1>",
        escape(merchant)
    ));
    offer(&mut h, s, locale, &amount, currency);
    match screen {
        Screen::Pay | Screen::Declined => {}
        Screen::Failed => h.push_str(&format!(
            "<p id=\"form-error\" role=\"alert\">{}</p>",
            l.failed
        )),
        Screen::Verification => verification(&mut h, l, &token, data.verification_url.as_deref()),
        Screen::Processing => h.push_str(&format!("<p role=\"status\">{}</p>", l.processing)),
        Screen::Completed => completed(&mut h, l, data),
        Screen::Expired => h.push_str(&format!("<p role=\"status\">{}</p>", l.expired)),
        Screen::Cancelled => h.push_str(&format!("<p role=\"status\">{}</p>", l.cancelled)),
    }
    if screen.shows_form() || screen == Screen::Completed {
        mandate(&mut h, l, data, locale);
    }
    if screen.shows_form() {
        pay_form(&mut h, l, s, &token, screen, form, &amount);
    }
    h.push_str("</main><script src=\"/s/assets/pay.js\"></script></body></html>");
    h
}

fn offer(h: &mut String, s: &Value, locale: Locale, amount: &str, currency: &str) {
    let campaign = &s["campaign"];
    let show = |key: &str| campaign.is_null() || campaign[key].as_bool().unwrap_or(true);
    if show("show_product_name")
        && let Some(name) = text(&s["offer"]["product_name"]).or_else(|| text(&s["offer"]["name"]))
    {
        h.push_str(&format!("<p id=\"product-name\">{}</p>", escape(name)));
    }
    if show("show_product_description")
        && let Some(d) = text(&s["offer"]["product_description"])
    {
        h.push_str(&format!("<p class=\"description\">{}</p>", escape(d)));
    }
    if show("show_product_price") {
        h.push_str(&format!("<p id=\"amount\">{}</p>", escape(amount)));
        if s["offer"]["billing_type"] == "recurring"
            && let Some(freq) = text(&s["offer"]["billing_frequency"])
        {
            h.push_str(&format!(
                "<p id=\"schedule\">{} / {}</p>",
                escape(amount),
                escape(&freq.to_lowercase())
            ));
        }
    }
    let items = s["line_items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !items.is_empty() {
        h.push_str("<ul id=\"line-items\">");
        for item in items {
            h.push_str(&format!(
                "<li>{} × {} — {}</li>",
                escape(&item["quantity"].to_string()),
                escape(item["description"].as_str().unwrap_or_default()),
                escape(&format_amount(
                    locale,
                    item["amount"].as_str().unwrap_or("0"),
                    currency
                ))
            ));
        }
        h.push_str(&format!(
            "</ul><p>{} <span id=\"line-items-total\">{}</span></p>",
            labels(locale).total,
            escape(amount)
        ));
    }
}

fn mandate(h: &mut String, l: &Labels, data: &PageData, locale: Locale) {
    let s = &data.session;
    let recurring = s["offer"]["billing_type"] == "recurring" || s["mode"] != "payment";
    h.push_str(&format!(
        "<section id=\"mandate\" aria-labelledby=\"mandate-title\"><h2 id=\"mandate-title\">{}</h2><dl>\
         <dt>{}</dt><dd><span id=\"creditor-name\">{}</span><br><span id=\"creditor-address\">{}</span></dd>\
         <dt>{}</dt><dd id=\"creditor-id\">{}</dd>\
         <dt>{}</dt><dd id=\"mandate-reference\">{}</dd>\
         <dd id=\"mandate-type\">{}</dd>\
         <dt>{}</dt><dd id=\"mandate-date\">{}</dd></dl>\
         <p class=\"mandate-text\">{}</p><p id=\"mandate-rights\">{}</p></section>",
        l.mandate,
        l.creditor,
        escape(&data.creditor_name),
        escape(data.creditor_address.as_deref().unwrap_or_default()),
        l.creditor_id,
        escape(data.creditor_id.as_deref().unwrap_or_default()),
        l.reference,
        escape(&data.mandate_reference),
        if recurring { l.kind_recurring } else { l.kind_one_off },
        l.date,
        escape(&date_in(locale, data.mandate_date)),
        escape(s["mandate"]["text"].as_str().unwrap_or_default()),
        l.rights,
    ));
}

fn pay_form(
    h: &mut String,
    l: &Labels,
    s: &Value,
    token: &str,
    screen: Screen,
    form: &FormEcho,
    amount: &str,
) {
    let error = match (&form.error, screen) {
        (Some(e), _) => escape(e),
        (None, Screen::Declined) => l.declined.to_owned(),
        _ => String::new(),
    };
    let invalid = if form.error.is_some() {
        " aria-invalid=\"true\""
    } else {
        ""
    };
    h.push_str(&format!(
        "<form id=\"pay-form\" method=\"post\" action=\"/s/{token}\" data-token=\"{token}\" data-return-url=\"{ret}\">\
         <label for=\"iban\">{iban}</label>\
         <input id=\"iban\" name=\"iban\" value=\"{iban_value}\" autocomplete=\"off\" inputmode=\"text\" spellcheck=\"false\" required maxlength=\"42\" aria-describedby=\"iban-feedback\"{invalid}>\
         <p id=\"iban-feedback\" aria-live=\"polite\" data-state=\"empty\"></p>\
         <label for=\"holder\">{holder}</label>\
         <input id=\"holder\" name=\"holder\" value=\"{holder_value}\" autocomplete=\"name\" required maxlength=\"70\">\
         <p><input type=\"checkbox\" id=\"accept\" name=\"accept\" value=\"yes\" required> <label for=\"accept\" style=\"display:inline\">{accept}</label></p>\
         <p id=\"form-error\" role=\"alert\" data-must-accept=\"{must}\">{error}</p>",
        ret = escape(s["return_url"].as_str().unwrap_or_default()),
        iban = l.iban,
        iban_value = escape(&form.iban),
        holder = l.holder,
        holder_value = escape(&form.holder),
        accept = l.accept,
        must = l.must_accept,
    ));
    if screen == Screen::Declined {
        h.push_str(&format!(
            "<p>{} <span id=\"attempts-left\">{}</span></p>",
            l.attempts_left, s["attempts_remaining"]
        ));
    }
    h.push_str(&format!(
        "<button type=\"submit\" id=\"pay-button\">{} — {}</button></form>",
        l.pay,
        escape(amount)
    ));
}

fn verification(h: &mut String, l: &Labels, token: &str, url: Option<&str>) {
    h.push_str(&format!("<p>{}</p>", l.verification));
    if let Some(url) =
        url.filter(|u| u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/'))
    {
        h.push_str(&format!(
            "<p><a id=\"verify-link\" href=\"{}\">{}</a></p>",
            escape(url),
            escape(url)
        ));
    }
    h.push_str(&format!(
        "<form id=\"verify-form\" method=\"post\" action=\"/s/{token}/verify\" data-token=\"{token}\">\
         <button type=\"submit\" id=\"verify-button\">{}</button><p id=\"form-error\" role=\"alert\"></p></form>",
        l.verify
    ));
}

fn completed(h: &mut String, l: &Labels, data: &PageData) {
    let s = &data.session;
    h.push_str(&format!(
        "<p role=\"status\">{}</p><dl><dt>{}</dt><dd id=\"order-number\">{}</dd></dl><p>{}</p>",
        l.completed,
        l.order,
        escape(&data.order_number),
        l.next
    ));
    if let Some(url) = text(&s["return_url"]) {
        h.push_str(&format!(
            "<p><a id=\"return-link\" href=\"{}\">{}</a></p>",
            escape(&with_session_id(
                url,
                s["session_token"].as_str().unwrap_or_default()
            )),
            l.back
        ));
    }
}

/// `url` with `session_id` (and `session_token`) appended as query parameters.
pub fn with_session_id(url: &str, token: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("session_id", token)
                .append_pair("session_token", token);
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// The not-found page (`data-screen="not_found"`).
pub fn not_found(locale: Locale) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>404</title></head>\
         <body><main id=\"checkout\" data-screen=\"not_found\"><p>{}</p></main></body></html>",
        locale.as_str(),
        labels(locale).not_found
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_per_locale() {
        assert_eq!(format_amount(Locale::De, "9.99", "EUR"), "9,99\u{a0}€");
        assert_eq!(format_amount(Locale::En, "9.99", "EUR"), "€9.99");
        assert_eq!(
            format_amount(Locale::Fr, "1234.50", "EUR"),
            "1\u{202f}234,50\u{a0}€"
        );
        assert_eq!(
            format_amount(Locale::En, "1234567.00", "EUR"),
            "€1,234,567.00"
        );
        assert_eq!(format_amount(Locale::Nl, "123.00", "EUR"), "123,00\u{a0}€");
    }

    #[test]
    fn locale_order_is_query_then_session_then_header() {
        assert_eq!(
            choose_locale(Some("fr"), Some("de"), Some("it")),
            Locale::Fr
        );
        assert_eq!(
            choose_locale(Some("xx"), Some("de"), Some("it")),
            Locale::De
        );
        assert_eq!(
            choose_locale(None, None, Some("pt-BR, it-IT;q=0.8")),
            Locale::It
        );
        assert_eq!(choose_locale(None, None, None), Locale::En);
    }

    #[test]
    fn return_url_gets_session_id() {
        let u = with_session_id("https://shop.example/done?x=1", "tok");
        assert_eq!(
            u,
            "https://shop.example/done?x=1&session_id=tok&session_token=tok"
        );
    }
}
