//! The hosted page's view: which screen a session shows, in which locale, and its HTML (askama
//! templates under `crates/api/templates/hosted/`, every value escaped).

use askama::Template;
use catalyst_domain::billing::TrialIntervalUnit;
use catalyst_domain::session::Locale;
use catalyst_domain::transaction::TransactionStatus;
use serde_json::Value;

use super::i18n::{Arg, Messages};

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

    /// The screen for a session `status` whose latest transaction has `latest_status`;
    /// `cancelled` when the session was cancelled rather than run out.
    pub fn of(status: &str, latest_status: Option<TransactionStatus>, cancelled: bool) -> Screen {
        match status {
            "EXPIRED" if cancelled => Screen::Cancelled,
            "PENDING" if latest_status == Some(TransactionStatus::Declined) => Screen::Declined,
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

/// A trial before the regular debits.
pub struct TrialTerms {
    /// Length in `unit`s.
    pub period: u32,
    /// Unit of `period`.
    pub unit: TrialIntervalUnit,
    /// The trial's price as a decimal string (`"0.00"` when free).
    pub price: String,
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
    pub latest_status: Option<TransactionStatus>,
    /// The latest transaction's verification URL, if any.
    pub verification_url: Option<String>,
    /// The creditor's name (hosted page, else gateway).
    pub creditor_name: String,
    /// The creditor's address, when configured.
    pub creditor_address: Option<String>,
    /// The creditor identifier, when configured.
    pub creditor_id: Option<String>,
    /// The mandate date (signed date when signed, else today).
    pub mandate_date: chrono::NaiveDate,
    /// Days of notice before each debit.
    pub prenotification_days: i64,
    /// The trial, if the offer has one.
    pub trial: Option<TrialTerms>,
    /// The session was cancelled (expired before its `expires_at`).
    pub cancelled: bool,
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
    /// The locale the form was posted in, when it named one.
    pub locale: Option<Locale>,
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().filter(|t| !t.is_empty())
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

/// The message ids of the IBAN errors, as `data-msg-<name>` on `#iban-feedback` for the script.
/// Keyed by the `error_code` of `/iban-validate/` (API.md §4).
pub const IBAN_MESSAGES: &[(&str, &str)] = &[
    ("empty", "iban-empty"),
    ("invalid_character", "iban-character"),
    ("missing_country_code", "iban-country-code"),
    ("unknown_country", "iban-unknown-country"),
    ("wrong_length", "iban-length"),
    ("invalid_format", "iban-format"),
    ("wrong_check_digits", "iban-check-digits"),
];

/// The IBAN error explained in the payer's language.
pub fn iban_error(t: &Messages, error: &catalyst_sepa::IbanError) -> String {
    use catalyst_sepa::IbanError as E;
    match error {
        E::Empty => t.get("iban-empty"),
        E::InvalidCharacter { character } => t.with(
            "iban-character",
            &[(
                "character",
                error
                    .shown_character()
                    .unwrap_or_else(|| character.to_string())
                    .into(),
            )],
        ),
        E::MissingCountryCode => t.get("iban-country-code"),
        E::UnknownCountry { country } => t.with(
            "iban-unknown-country",
            &[("country", country.as_str().into())],
        ),
        E::WrongLength {
            country,
            expected,
            actual,
        } => t.with(
            "iban-length",
            &[
                ("country", country.as_str().into()),
                ("expected", count(*expected)),
                ("actual", count(*actual)),
            ],
        ),
        E::InvalidFormat { country } => {
            t.with("iban-format", &[("country", country.as_str().into())])
        }
        E::WrongCheckDigits => t.get("iban-check-digits"),
        // A kind added to the sepa crate later: its English text until it has a message.
        other => other.to_string(),
    }
}

/// What is wrong with the account holder's name as typed (the rules of `/pay/`'s
/// `iban_holder_name`), in the payer's language; `None` when nothing is.
pub fn holder_error(t: &Messages, holder: &str) -> Option<String> {
    let max = crate::payment::input::HOLDER_MAX_CHARS;
    let holder = holder.trim();
    if holder.is_empty() {
        Some(t.get("holder-empty"))
    } else if holder.chars().count() > max {
        Some(t.with("holder-too-long", &[("max", count(max))]))
    } else {
        None
    }
}

fn count(n: usize) -> Arg<'static> {
    Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
}

struct LocaleLink {
    code: &'static str,
    current: bool,
}

struct LineView {
    quantity: String,
    description: String,
    amount: String,
}

struct MandateView {
    creditor_name: String,
    creditor_address: String,
    creditor_id: String,
    reference: String,
    kind: &'static str,
    kind_text: String,
    date: String,
    text: String,
    prenotification: String,
}

struct FormView {
    return_url: String,
    iban: String,
    holder: String,
    invalid: bool,
    error: String,
    attempts_left: String,
    iban_messages: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "hosted/page.html")]
struct PageTemplate<'a> {
    t: Messages,
    lang: &'static str,
    style: &'static str,
    color: &'a str,
    locales: Vec<LocaleLink>,
    screen: &'static str,
    token: &'a str,
    logo: Option<&'a str>,
    merchant: &'a str,
    product_name: Option<&'a str>,
    description: Option<&'a str>,
    show_price: bool,
    amount: String,
    schedule: Option<String>,
    line_items: Vec<LineView>,
    verification_url: Option<&'a str>,
    order_number: &'a str,
    return_link: Option<String>,
    mandate: Option<MandateView>,
    form: Option<FormView>,
}

#[derive(Template)]
#[template(path = "hosted/not_found.html")]
struct NotFoundTemplate {
    t: Messages,
    lang: &'static str,
}

/// The mandate text the payer accepts, in `locale`, naming `creditor`.
pub fn mandate_text(locale: Locale, creditor: &str) -> String {
    Messages::of(locale).with("mandate-text", &[("creditor", creditor.into())])
}

/// True when the session's mandate allows more than one debit.
pub fn is_recurring(session: &Value) -> bool {
    session["offer"]["billing_type"] == "recurring"
        || session["offer"]["billing_type"] == "trial_recurring"
        || session["mode"] != "payment"
}

/// The recurring schedule in words, with the trial: "€9.99 monthly from 5 January, first 14
/// days free"; `None` for a one-off offer.
pub fn schedule(t: &Messages, data: &PageData) -> Option<String> {
    let s = &data.session;
    let frequency = text(&s["offer"]["billing_frequency"])?;
    let currency = s["currency"].as_str().unwrap_or_default();
    let amount = t.amount(s["amount"].as_str().unwrap_or("0"), currency);
    let start = match &data.trial {
        Some(trial) => trial.unit.add_to(data.mandate_date, trial.period),
        None => data.mandate_date,
    };
    let mut words = t.with(
        "schedule",
        &[
            ("amount", amount.into()),
            ("frequency", t.get(&format!("frequency-{frequency}")).into()),
            ("start", t.day_month(start).into()),
        ],
    );
    if let Some(trial) = &data.trial {
        let free = trial.price.trim_start_matches(['0', '.']).is_empty();
        let args = [
            ("unit", Arg::from(trial.unit.as_str())),
            ("count", Arg::Number(i64::from(trial.period))),
            ("price", t.amount(&trial.price, currency).into()),
        ];
        words.push_str(", ");
        words.push_str(&t.with(if free { "trial-free" } else { "trial-paid" }, &args));
    }
    Some(words)
}

/// Where the customer goes from a final screen: the session's `return_url`, else the campaign's
/// success (completed) or failure (failed, cancelled, expired) redirect; `session_id` appended.
pub fn return_link(s: &Value, screen: Screen) -> Option<String> {
    let campaign_url = match screen {
        Screen::Completed => "success_redirect_url",
        Screen::Failed | Screen::Cancelled | Screen::Expired => "failure_redirect_url",
        _ => return None,
    };
    let url = text(&s["return_url"]).or_else(|| text(&s["campaign"][campaign_url]))?;
    Some(with_session_id(
        url,
        s["session_token"].as_str().unwrap_or_default(),
    ))
}

/// The page's HTML for `data` in `locale` on `screen`.
pub fn render(data: &PageData, locale: Locale, screen: Screen, form: &FormEcho) -> String {
    let t = Messages::of(locale);
    let s = &data.session;
    let campaign = &s["campaign"];
    let color = campaign["branding"]["primary_color"]
        .as_str()
        .filter(|c| {
            c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
        })
        .unwrap_or("#1f4ed8");
    let currency = s["currency"].as_str().unwrap_or_default();
    let amount = t.amount(s["amount"].as_str().unwrap_or("0"), currency);
    let merchant = text(&campaign["content"]["headline"])
        .or_else(|| text(&campaign["name"]))
        .unwrap_or(&data.creditor_name);
    let show = |key: &str| campaign.is_null() || campaign[key].as_bool().unwrap_or(true);
    let line_items = s["line_items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|item| LineView {
            quantity: item["quantity"].to_string(),
            description: item["description"].as_str().unwrap_or_default().to_owned(),
            amount: t.amount(item["amount"].as_str().unwrap_or("0"), currency),
        })
        .collect();
    let recurring = is_recurring(s);
    let mandate = (screen.shows_form() || screen == Screen::Completed).then(|| MandateView {
        creditor_name: data.creditor_name.clone(),
        creditor_address: data.creditor_address.clone().unwrap_or_default(),
        creditor_id: data.creditor_id.clone().unwrap_or_default(),
        reference: data.mandate_reference.clone(),
        kind: if recurring { "recurring" } else { "one_off" },
        kind_text: t.get(if recurring {
            "mandate-recurring"
        } else {
            "mandate-one-off"
        }),
        date: t.date(data.mandate_date),
        text: mandate_text(locale, &data.creditor_name),
        prenotification: t.with(
            "mandate-prenotification",
            &[("days", Arg::Number(data.prenotification_days))],
        ),
    });
    let form = screen.shows_form().then(|| FormView {
        return_url: s["return_url"].as_str().unwrap_or_default().to_owned(),
        iban: form.iban.clone(),
        holder: form.holder.clone(),
        invalid: form.error.is_some(),
        error: match (&form.error, screen) {
            (Some(e), _) => e.clone(),
            (None, Screen::Declined) => t.get("declined"),
            _ => String::new(),
        },
        attempts_left: s["attempts_remaining"].to_string(),
        iban_messages: iban_templates(&t),
    });
    let page = PageTemplate {
        t,
        lang: locale.as_str(),
        style: STYLE,
        color,
        locales: Locale::ALL
            .iter()
            .map(|l| LocaleLink {
                code: l.as_str(),
                current: *l == locale,
            })
            .collect(),
        screen: screen.as_str(),
        token: s["session_token"].as_str().unwrap_or_default(),
        logo: text(&campaign["branding"]["logo_url"]).filter(|u| u.starts_with("https://")),
        merchant,
        product_name: if show("show_product_name") {
            text(&s["offer"]["product_name"]).or_else(|| text(&s["offer"]["name"]))
        } else {
            None
        },
        description: if show("show_product_description") {
            text(&s["offer"]["product_description"])
        } else {
            None
        },
        show_price: show("show_product_price"),
        amount,
        schedule: schedule(&t, data),
        line_items,
        verification_url: data.verification_url.as_deref().filter(|u| {
            u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')
        }),
        order_number: &data.order_number,
        return_link: return_link(s, screen),
        mandate,
        form,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "hosted page template");
        "<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned()
    })
}

/// The IBAN error messages with `{name}` placeholders, for the script to fill in.
fn iban_templates(t: &Messages) -> Vec<(&'static str, String)> {
    let placeholder = |name: &'static str| (name, Arg::from(format!("{{{name}}}")));
    IBAN_MESSAGES
        .iter()
        .map(|(name, id)| {
            (
                *name,
                t.with(
                    id,
                    &[
                        placeholder("character"),
                        placeholder("country"),
                        placeholder("expected"),
                        placeholder("actual"),
                    ],
                ),
            )
        })
        .collect()
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
    NotFoundTemplate {
        t: Messages::of(locale),
        lang: locale.as_str(),
    }
    .render()
    .unwrap_or_else(|_| "<!doctype html><title>404</title>".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(trial: Option<TrialTerms>) -> PageData {
        PageData {
            session: serde_json::json!({"amount": "9.99", "currency": "EUR",
                "offer": {"billing_type": "trial_recurring", "billing_frequency": "MONTHLY"}}),
            order_number: "1".into(),
            mandate_reference: "MAND-1".into(),
            latest_status: None,
            verification_url: None,
            creditor_name: "Acme".into(),
            creditor_address: None,
            creditor_id: None,
            mandate_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 22).unwrap(),
            prenotification_days: 5,
            trial,
            cancelled: false,
        }
    }

    #[test]
    fn schedule_in_words_per_locale() {
        let trial = || {
            Some(TrialTerms {
                period: 14,
                unit: TrialIntervalUnit::Day,
                price: "0.00".into(),
            })
        };
        let en = Messages::of(Locale::En);
        assert_eq!(
            schedule(&en, &data(trial())).as_deref(),
            Some("€9.99 monthly from 5 January, first 14 days free")
        );
        assert_eq!(
            schedule(&Messages::of(Locale::De), &data(trial())).as_deref(),
            Some("9,99\u{a0}€ monatlich ab 5. Januar, die ersten 14 Tage kostenlos")
        );
        let paid = Some(TrialTerms {
            period: 1,
            unit: TrialIntervalUnit::Month,
            price: "1.00".into(),
        });
        assert_eq!(
            schedule(&en, &data(paid)).as_deref(),
            Some("€9.99 monthly from 22 January, first month for €1.00")
        );
        assert_eq!(
            schedule(&en, &data(None)).as_deref(),
            Some("€9.99 monthly from 22 December")
        );
    }

    #[test]
    fn iban_errors_in_the_payers_language() {
        let err = |input: &str| catalyst_sepa::validate(input).unwrap_err();
        let de = Messages::of(Locale::De);
        assert_eq!(
            iban_error(&de, &err("DE8937040044053201300")),
            "IBANs aus DE haben 22 Zeichen, diese hat 21."
        );
        assert_eq!(
            iban_error(&de, &err("DE88370400440532013000")),
            "Die Prüfziffern der IBAN stimmen nicht."
        );
        assert_eq!(
            iban_error(&Messages::of(Locale::Fr), &err("XX89370400440532013000")),
            "XX n'est pas un pays IBAN connu."
        );
        assert_eq!(
            iban_error(&Messages::of(Locale::En), &err("DE89-3704")),
            "The IBAN contains a character that cannot be in an IBAN: '-'."
        );
        let templates = iban_templates(&Messages::of(Locale::Pl));
        let length = &templates
            .iter()
            .find(|(n, _)| *n == "wrong_length")
            .unwrap()
            .1;
        assert!(
            length.contains("{expected}") && length.contains("{actual}"),
            "{length}"
        );
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
            choose_locale(None, None, Some("sv-SE, it-IT;q=0.8")),
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
