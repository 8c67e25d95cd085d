//! Payment sessions: modes, locales, line items, metadata and the create-session request
//! parser (API.md §3.1) with its resolution against a campaign offer.
//!
//! Two steps, because the second needs the campaign from the database:
//! 1. [`CreateSessionRequest::from_json`] checks every field's type and rules and collects all
//!    errors, keyed by field path (`amount`, `lead.email`, `line_items.0.description`, …). In
//!    direct mode (no `campaign_id`) it also runs step 2, so one response lists everything.
//! 2. [`CreateSessionRequest::resolve`] merges the request's pricing fields over the campaign
//!    offer, parses amounts in the session currency and checks the pricing combination.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value, json};

use crate::billing::{
    BillingFrequency, BillingType, Pricing, PricingInput, Trial, TrialIntervalUnit,
};
use crate::ids::{CampaignId, CustomerId, GatewayId, HostedPageId, WebhookProfileId};
use crate::lead::NewLead;
use crate::macros::string_enum;
use crate::money::{Currency, Money, MoneyError, check_amount_syntax, parse_amount_json};
use crate::validation::{
    NON_FIELD_ERRORS, ValidationErrors, char_field, choice_field, int_field, ip_field, messages,
    optional, optional_char_field, present, required, shorten, url_field, uuid_field,
};

/// Most line items per session.
pub const MAX_LINE_ITEMS: usize = 100;
/// Most metadata keys.
pub const MAX_METADATA_KEYS: usize = 50;
/// Longest metadata key.
pub const MAX_METADATA_KEY_LEN: usize = 30;
/// Longest metadata value.
pub const MAX_METADATA_VALUE_LEN: usize = 2000;
/// Shortest session lifetime.
pub const MIN_EXPIRES_IN_SECONDS: u32 = 60;
/// Longest (and default) session lifetime.
pub const MAX_EXPIRES_IN_SECONDS: u32 = 86_400;
/// Most payment attempts a session may allow.
pub const MAX_PAYMENT_ATTEMPTS: u8 = 10;
/// Attempts when neither the request nor the campaign says.
pub const DEFAULT_MAX_PAYMENT_ATTEMPTS: u8 = 3;
/// Longest trial period (in its unit).
pub const MAX_TRIAL_PERIOD: u32 = 1000;
/// Longest `return_url`.
pub const RETURN_URL_MAX_LEN: usize = 2048;
/// Longest free-text field (descriptions, external ids).
pub const TEXT_MAX_LEN: usize = 255;

/// Message when a campaign's money value cannot be reused because the request changed the
/// currency.
pub const CURRENCY_CHANGED_REQUIRED: &str =
    "This field is required when the currency differs from the campaign's.";
/// Message for `customer_id` outside the customer modes.
pub const CUSTOMER_ID_MODE: &str =
    "This field is only allowed in the customer and customer_payment modes.";

string_enum! {
    /// What paying the session does (KOMOJU semantics, API.md §3.6).
    #[derive(Default)]
    pub enum SessionMode {
        /// Debit once (and start the subscription when recurring). Default.
        #[default]
        Payment => "payment",
        /// No debit: save the mandate on a customer. The amount may be zero.
        Customer => "customer",
        /// Debit and save the customer with its mandate.
        CustomerPayment => "customer_payment",
    }
}

impl SessionMode {
    /// True when paying debits the customer (`payment`, `customer_payment`).
    pub const fn debits(self) -> bool {
        !matches!(self, SessionMode::Customer)
    }

    /// True when paying saves a customer (`customer`, `customer_payment`); only then may a
    /// request name a `customer_id`.
    pub const fn saves_customer(self) -> bool {
        !matches!(self, SessionMode::Payment)
    }

    /// True when a zero amount is acceptable (`customer` only).
    pub const fn allows_zero_amount(self) -> bool {
        matches!(self, SessionMode::Customer)
    }
}

string_enum! {
    /// Hosted page language.
    #[derive(Default)]
    pub enum Locale {
        /// English (default).
        #[default]
        En => "en",
        /// German.
        De => "de",
        /// French.
        Fr => "fr",
        /// Spanish.
        Es => "es",
        /// Italian.
        It => "it",
        /// Dutch.
        Nl => "nl",
        /// Japanese.
        Ja => "ja",
        /// Polish.
        Pl => "pl",
        /// Portuguese.
        Pt => "pt",
    }
}

impl Locale {
    /// The default language for a country (any case): DE/AT/CH/LI → de, FR/BE/LU/MC → fr,
    /// ES → es, IT/SM/VA → it, NL → nl, JP → ja, PL → pl, PT/BR → pt, else en.
    pub fn for_country(code: &str) -> Locale {
        match code.to_ascii_uppercase().as_str() {
            "DE" | "AT" | "CH" | "LI" => Locale::De,
            "FR" | "BE" | "LU" | "MC" => Locale::Fr,
            "ES" => Locale::Es,
            "IT" | "SM" | "VA" => Locale::It,
            "NL" => Locale::Nl,
            "JP" => Locale::Ja,
            "PL" => Locale::Pl,
            "PT" | "BR" => Locale::Pt,
            _ => Locale::En,
        }
    }
}

/// A line shown on the hosted page, with its amount in the session currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// What is sold (≤ 255).
    pub description: String,
    /// Unit price.
    pub amount: Money,
    /// Quantity (≥ 1).
    pub quantity: u32,
    /// The merchant's product number (≤ 255).
    pub external_product_num: Option<String>,
}

impl LineItem {
    /// `amount × quantity` in minor units (`None` on overflow).
    pub fn total_minor(&self) -> Option<i64> {
        self.amount.minor().checked_mul(i64::from(self.quantity))
    }
}

/// A syntactically valid line item whose amount is still the raw JSON value (string or
/// number with valid decimal syntax); it is parsed by [`CreateSessionRequest::resolve`] once the
/// session currency is known.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItemInput {
    /// What is sold (≤ 255).
    pub description: String,
    /// Raw amount.
    pub amount: Value,
    /// Quantity (≥ 1, default 1).
    pub quantity: u32,
    /// The merchant's product number (≤ 255).
    pub external_product_num: Option<String>,
}

/// Merchant metadata: string → string, ≤ 50 keys, keys ≤ 30 and values ≤ 2000 characters.
/// Echoed in the session and in webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Metadata(pub BTreeMap<String, String>);

impl Metadata {
    /// Validates a `metadata` value. Errors are keyed `metadata` (shape, key count, keys) and
    /// `metadata.<key>` (values).
    pub fn from_json(v: &Value) -> Result<Metadata, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let metadata = parse_metadata(v, &mut errors);
        match metadata {
            Some(m) if errors.is_empty() => Ok(m),
            _ => Err(errors),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (key, value) pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }
}

/// A syntactically valid create-session request, before campaign resolution. Amounts are
/// kept raw until the currency is known (see [`CreateSessionRequest::resolve`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSessionRequest {
    /// Campaign mode when set; direct mode otherwise.
    pub campaign_id: Option<CampaignId>,
    /// Required in direct mode; an override in campaign mode.
    pub gateway_id: Option<GatewayId>,
    /// Raw amount (string or number with valid decimal syntax).
    pub amount: Option<Value>,
    /// Session currency (else the offer's).
    pub currency: Option<Currency>,
    /// Billing type override.
    pub billing_type: Option<BillingType>,
    /// Billing frequency override.
    pub billing_frequency: Option<BillingFrequency>,
    /// Trial length override (1–1000).
    pub trial_period: Option<u32>,
    /// Trial unit override.
    pub trial_interval_unit: Option<TrialIntervalUnit>,
    /// Raw trial price override.
    pub trial_price: Option<Value>,
    /// 1–10; default the campaign's, else 3.
    pub max_payment_attempts: Option<u8>,
    /// Routes the session's webhook events.
    pub webhook_profile_id: Option<WebhookProfileId>,
    /// Branding override.
    pub hosted_page_id: Option<HostedPageId>,
    /// The customer's address, forwarded to the gateway (default: the caller's, set by the API).
    pub customer_ip: Option<IpAddr>,
    /// The person paying.
    pub lead: NewLead,
    /// Payment, customer or both.
    pub mode: SessionMode,
    /// Existing customer to save the mandate on (customer modes only).
    pub customer_id: Option<CustomerId>,
    /// The merchant's own user id (≤ 255).
    pub external_customer_id: Option<String>,
    /// Absolute http(s) URL the hosted page returns to.
    pub return_url: Option<String>,
    /// 60–86400, default 86400.
    pub expires_in_seconds: u32,
    /// Hosted page language; see [`CreateSessionRequest::locale`].
    pub default_locale: Option<Locale>,
    /// Up to 100 items.
    pub line_items: Vec<LineItemInput>,
    /// Merchant metadata.
    pub metadata: Metadata,
}

/// The pricing part of a campaign, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignOffer {
    /// Offer name.
    pub name: String,
    /// Regular price (its currency is the campaign's).
    pub price: Money,
    /// Billing type.
    pub billing_type: BillingType,
    /// Frequency when recurring.
    pub billing_frequency: Option<BillingFrequency>,
    /// Trial when `TRIAL_RECURRING`.
    pub trial: Option<Trial>,
    /// Product name shown on the hosted page.
    pub product_name: Option<String>,
    /// Product description shown on the hosted page.
    pub product_description: Option<String>,
}

impl CampaignOffer {
    /// The offer's pricing, checked with [`Pricing::validate`].
    pub fn pricing(&self) -> Result<Pricing, ValidationErrors> {
        Pricing::validate(PricingInput {
            amount: self.price,
            billing_type: self.billing_type,
            billing_frequency: self.billing_frequency,
            trial_period: self.trial.map(|t| t.period),
            trial_interval_unit: self.trial.map(|t| t.unit),
            trial_price: self.trial.map(|t| t.price),
        })
    }
}

/// The session's final commercial terms.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTerms {
    /// Amount, billing type, frequency, trial.
    pub pricing: Pricing,
    /// Attempts allowed.
    pub max_payment_attempts: u8,
    /// Pricing fields the request sent in campaign mode (API names → the session's value,
    /// money as decimal strings); empty in direct mode.
    pub offer_overrides: BTreeMap<String, Value>,
    /// Line items with amounts in the session currency.
    pub line_items: Vec<LineItem>,
}

impl SessionTerms {
    /// The session currency.
    pub fn currency(&self) -> Currency {
        self.pricing.amount().currency()
    }
}

/// The request fields resolution needs, borrowed from a request or from a half-parsed body.
struct PricingParts<'a> {
    amount: Option<&'a Value>,
    currency: Option<Currency>,
    billing_type: Option<BillingType>,
    billing_frequency: Option<BillingFrequency>,
    trial_period: Option<u32>,
    trial_interval_unit: Option<TrialIntervalUnit>,
    trial_price: Option<&'a Value>,
    max_payment_attempts: Option<u8>,
    mode: SessionMode,
    /// (index in the request, item)
    line_items: Vec<(usize, &'a LineItemInput)>,
}

impl CreateSessionRequest {
    /// Parses and checks a create-session body (API.md §3.1), collecting every error. The body
    /// must be a JSON object (else an error on `non_field_errors`); unknown fields are ignored;
    /// `null` for an optional field means absent. In direct mode the pricing is resolved too
    /// (see [`CreateSessionRequest::resolve`]) so that its errors come in the same answer.
    pub fn from_json(body: &Value) -> Result<Self, ValidationErrors> {
        let Some(obj) = body.as_object() else {
            return Err(ValidationErrors::single(
                NON_FIELD_ERRORS,
                messages::expected_object(body),
            ));
        };
        let mut e = ValidationErrors::new();
        let direct = present(obj, "campaign_id").is_none();

        let campaign_id = optional(obj, "campaign_id", &mut e, uuid_field::<CampaignId>);
        let gateway_id = optional(obj, "gateway_id", &mut e, uuid_field::<GatewayId>);
        if direct && present(obj, "gateway_id").is_none() {
            e.add("gateway_id", messages::REQUIRED_DIRECT);
        }
        let amount = optional(obj, "amount", &mut e, amount_field);
        let currency = optional(obj, "currency", &mut e, currency_field);
        let billing_type = optional(obj, "billing_type", &mut e, choice_field::<BillingType>);
        let billing_frequency = optional(
            obj,
            "billing_frequency",
            &mut e,
            choice_field::<BillingFrequency>,
        );
        let trial_period = optional(obj, "trial_period", &mut e, |v| {
            small_int(v, 1, MAX_TRIAL_PERIOD)
        });
        let trial_interval_unit = optional(
            obj,
            "trial_interval_unit",
            &mut e,
            choice_field::<TrialIntervalUnit>,
        );
        let trial_price = optional(obj, "trial_price", &mut e, amount_field);
        let max_payment_attempts = optional(obj, "max_payment_attempts", &mut e, |v| {
            small_int(v, 1, u32::from(MAX_PAYMENT_ATTEMPTS))
                .and_then(|n| u8::try_from(n).map_err(|_| messages::INVALID_INTEGER.to_owned()))
        });
        let webhook_profile_id = optional(obj, "webhook_profile_id", &mut e, uuid_field);
        let hosted_page_id = optional(obj, "hosted_page_id", &mut e, uuid_field);
        let customer_ip = optional(obj, "customer_ip", &mut e, ip_field);
        let lead = parse_lead(obj, &mut e);
        let mode_sent = present(obj, "mode").is_some();
        let mode = optional(obj, "mode", &mut e, choice_field::<SessionMode>);
        let customer_id = optional(obj, "customer_id", &mut e, uuid_field::<CustomerId>);
        if let Some(m) = mode.or((!mode_sent).then_some(SessionMode::Payment))
            && present(obj, "customer_id").is_some()
            && !m.saves_customer()
        {
            e.add("customer_id", CUSTOMER_ID_MODE);
        }
        let mode = mode.unwrap_or_default();
        let external_customer_id = optional(obj, "external_customer_id", &mut e, |v| {
            optional_char_field(v, TEXT_MAX_LEN)
        })
        .flatten();
        let return_url = optional(obj, "return_url", &mut e, |v| {
            url_field(v, RETURN_URL_MAX_LEN)
        });
        let expires_in_seconds = optional(obj, "expires_in_seconds", &mut e, |v| {
            small_int(v, MIN_EXPIRES_IN_SECONDS, MAX_EXPIRES_IN_SECONDS)
        })
        .unwrap_or(MAX_EXPIRES_IN_SECONDS);
        let default_locale = optional(obj, "default_locale", &mut e, choice_field::<Locale>);
        optional(obj, "payment_types", &mut e, payment_types_field);
        let line_items = present(obj, "line_items")
            .map(|v| parse_line_items(v, &mut e))
            .unwrap_or_default();
        let metadata = present(obj, "metadata")
            .and_then(|v| parse_metadata(v, &mut e))
            .unwrap_or_default();

        if direct {
            let parts = PricingParts {
                amount: amount.as_ref(),
                currency,
                billing_type,
                billing_frequency,
                trial_period,
                trial_interval_unit,
                trial_price: trial_price.as_ref(),
                max_payment_attempts,
                mode,
                line_items: line_items.iter().map(|(i, item)| (*i, item)).collect(),
            };
            if let Err(pricing_errors) = resolve_parts(&parts, None, None) {
                e.merge_if_absent(pricing_errors);
            }
        }

        match lead {
            Some(lead) if e.is_empty() => Ok(CreateSessionRequest {
                campaign_id,
                gateway_id,
                amount,
                currency,
                billing_type,
                billing_frequency,
                trial_period,
                trial_interval_unit,
                trial_price,
                max_payment_attempts,
                webhook_profile_id,
                hosted_page_id,
                customer_ip,
                lead,
                mode,
                customer_id,
                external_customer_id,
                return_url,
                expires_in_seconds,
                default_locale,
                line_items: line_items.into_iter().map(|(_, item)| item).collect(),
                metadata,
            }),
            _ => Err(e),
        }
    }

    /// True without a `campaign_id`.
    pub fn is_direct(&self) -> bool {
        self.campaign_id.is_none()
    }

    /// The hosted page language: `default_locale`, else from the lead's country.
    pub fn locale(&self) -> Locale {
        self.default_locale
            .unwrap_or_else(|| Locale::for_country(&self.lead.country))
    }

    /// Resolves the session's terms. `offer` is the campaign's offer in campaign mode and
    /// `None` in direct mode; `campaign_max_attempts` the campaign's attempt limit.
    ///
    /// - currency: the request's, else the offer's;
    /// - amount: the request's (parsed in that currency; errors on `amount`), else the offer's
    ///   price (which must then be resent if the request changed the currency); it must be
    ///   > 0 except in `customer` mode;
    /// - every pricing field sent overrides the offer; the offer's frequency is kept only when
    ///   the resulting type is recurring and its trial only for `TRIAL_RECURRING`, so switching
    ///   a recurring campaign to `ONE_OFF` needs no way to "unset" fields;
    /// - the merged combination must pass [`Pricing::validate`];
    /// - max attempts: the request's, else the campaign's, else 3;
    /// - line item amounts are parsed in the session currency.
    pub fn resolve(
        &self,
        offer: Option<&CampaignOffer>,
        campaign_max_attempts: Option<u8>,
    ) -> Result<SessionTerms, ValidationErrors> {
        let parts = PricingParts {
            amount: self.amount.as_ref(),
            currency: self.currency,
            billing_type: self.billing_type,
            billing_frequency: self.billing_frequency,
            trial_period: self.trial_period,
            trial_interval_unit: self.trial_interval_unit,
            trial_price: self.trial_price.as_ref(),
            max_payment_attempts: self.max_payment_attempts,
            mode: self.mode,
            line_items: self.line_items.iter().enumerate().collect(),
        };
        resolve_parts(&parts, offer, campaign_max_attempts)
    }
}

/// Resolves a money field: the sent value parsed in `currency`, else the campaign's value
/// (unless the currency changed). Errors go to `field`.
fn resolve_money(
    field: &str,
    sent: Option<&Value>,
    from_offer: Option<Money>,
    currency: Option<Currency>,
    currency_changed: bool,
    errors: &mut ValidationErrors,
) -> Option<Money> {
    match (sent, from_offer) {
        (Some(raw), _) => {
            let currency = currency?;
            parse_amount_json(raw, currency)
                .map_err(|err| errors.add(field, err.to_string()))
                .ok()
        }
        (None, Some(_)) if currency_changed => {
            errors.add(field, CURRENCY_CHANGED_REQUIRED);
            None
        }
        (None, offered) => offered,
    }
}

fn resolve_parts(
    p: &PricingParts<'_>,
    offer: Option<&CampaignOffer>,
    campaign_max_attempts: Option<u8>,
) -> Result<SessionTerms, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let direct = offer.is_none();

    let currency = p.currency.or(offer.map(|o| o.price.currency()));
    if currency.is_none() {
        errors.add("currency", messages::REQUIRED_DIRECT);
    }
    let currency_changed =
        matches!((offer, p.currency), (Some(o), Some(c)) if c != o.price.currency());

    if direct && p.amount.is_none() {
        errors.add("amount", messages::REQUIRED_DIRECT);
    }
    let amount = resolve_money(
        "amount",
        p.amount,
        offer.map(|o| o.price),
        currency,
        currency_changed,
        &mut errors,
    );
    if let Some(a) = amount
        && a.is_zero()
        && !p.mode.allows_zero_amount()
    {
        errors.add("amount", MoneyError::NotPositive.to_string());
    }

    let billing_type = p.billing_type.or(offer.map(|o| o.billing_type));
    let pricing = match billing_type {
        None => {
            errors.add("billing_type", messages::REQUIRED_DIRECT);
            None
        }
        Some(bt) => {
            let offer_frequency = offer
                .and_then(|o| o.billing_frequency)
                .filter(|_| bt.is_recurring());
            let offer_trial = offer.and_then(|o| o.trial).filter(|_| bt.has_trial());
            let trial_price = resolve_money(
                "trial_price",
                p.trial_price,
                offer_trial.map(|t| t.price),
                currency,
                currency_changed,
                &mut errors,
            );
            // Values that failed to parse still count as "sent" for the combination check;
            // their own error is already recorded, so the placeholder never leaves this
            // function.
            let placeholder = Money::zero(currency.unwrap_or(Currency::EUR));
            let input = PricingInput {
                amount: amount.unwrap_or(placeholder),
                billing_type: bt,
                billing_frequency: p.billing_frequency.or(offer_frequency),
                trial_period: p.trial_period.or(offer_trial.map(|t| t.period)),
                trial_interval_unit: p.trial_interval_unit.or(offer_trial.map(|t| t.unit)),
                trial_price: trial_price.or(p.trial_price.map(|_| placeholder)),
            };
            match Pricing::validate(input) {
                Ok(pricing) => Some(pricing),
                Err(pricing_errors) => {
                    errors.merge_if_absent(pricing_errors);
                    None
                }
            }
        }
    };

    let mut line_items = Vec::with_capacity(p.line_items.len());
    if let Some(currency) = currency {
        for &(i, item) in &p.line_items {
            match parse_amount_json(&item.amount, currency) {
                Ok(amount) => line_items.push(LineItem {
                    description: item.description.clone(),
                    amount,
                    quantity: item.quantity,
                    external_product_num: item.external_product_num.clone(),
                }),
                Err(err) => errors.add(format!("line_items.{i}.amount"), err.to_string()),
            }
        }
    }

    let mut offer_overrides = BTreeMap::new();
    if let Some(pricing) = pricing.filter(|_| !direct) {
        let mut put = |field: &str, value: Value| {
            offer_overrides.insert(field.to_owned(), value);
        };
        if p.amount.is_some() {
            put("amount", json!(pricing.amount().to_decimal_string()));
        }
        if let Some(c) = p.currency {
            put("currency", json!(c.code()));
        }
        if let Some(bt) = p.billing_type {
            put("billing_type", json!(bt.as_str()));
        }
        if let Some(f) = p.billing_frequency {
            put("billing_frequency", json!(f.as_str()));
        }
        if let Some(n) = p.trial_period {
            put("trial_period", json!(n));
        }
        if let Some(u) = p.trial_interval_unit {
            put("trial_interval_unit", json!(u.as_str()));
        }
        if let (Some(_), Some(t)) = (p.trial_price, pricing.trial()) {
            put("trial_price", json!(t.price.to_decimal_string()));
        }
    }

    match pricing {
        Some(pricing) if errors.is_empty() => Ok(SessionTerms {
            pricing,
            max_payment_attempts: p
                .max_payment_attempts
                .or(campaign_max_attempts)
                .unwrap_or(DEFAULT_MAX_PAYMENT_ATTEMPTS),
            offer_overrides,
            line_items,
        }),
        _ => Err(errors),
    }
}

/// An amount with valid decimal syntax, kept raw.
fn amount_field(v: &Value) -> Result<Value, String> {
    check_amount_syntax(v)
        .map(|()| v.clone())
        .map_err(|err| err.to_string())
}

/// An upper-case ISO 4217 code.
fn currency_field(v: &Value) -> Result<Currency, String> {
    match v {
        Value::String(s) => Currency::parse(s).map_err(|err| err.to_string()),
        other => Err(messages::invalid_choice(&other.to_string())),
    }
}

/// An integer in `min..=max` (both within `u32`).
fn small_int(v: &Value, min: u32, max: u32) -> Result<u32, String> {
    int_field(v, i64::from(min), i64::from(max))
        .and_then(|n| u32::try_from(n).map_err(|_| messages::INVALID_INTEGER.to_owned()))
}

/// Only `["sepa_debit"]`.
fn payment_types_field(v: &Value) -> Result<(), String> {
    let Value::Array(items) = v else {
        return Err(messages::expected_list(v));
    };
    if items.is_empty() {
        return Err(messages::EMPTY_LIST.to_owned());
    }
    for item in items {
        if item.as_str() != Some("sepa_debit") {
            let text = item
                .as_str()
                .map_or_else(|| item.to_string(), str::to_owned);
            return Err(messages::invalid_choice(&text));
        }
    }
    if items.len() > 1 {
        return Err("Only [\"sepa_debit\"] is accepted.".to_owned());
    }
    Ok(())
}

/// The required `lead` object; nested errors are prefixed `lead.`.
fn parse_lead(obj: &Map<String, Value>, e: &mut ValidationErrors) -> Option<NewLead> {
    match obj.get("lead") {
        None => {
            e.add("lead", messages::REQUIRED);
            None
        }
        Some(Value::Null) => {
            e.add("lead", messages::NULL);
            None
        }
        Some(v) if !v.is_object() => {
            e.add("lead", messages::expected_object(v));
            None
        }
        Some(v) => NewLead::from_json(v)
            .map_err(|lead_errors| e.merge_prefixed("lead", lead_errors))
            .ok(),
    }
}

/// Line items that passed, with their index; errors keyed `line_items.<i>.<field>`.
fn parse_line_items(v: &Value, e: &mut ValidationErrors) -> Vec<(usize, LineItemInput)> {
    let Value::Array(items) = v else {
        e.add("line_items", messages::expected_list(v));
        return Vec::new();
    };
    if items.len() > MAX_LINE_ITEMS {
        e.add("line_items", messages::max_items(MAX_LINE_ITEMS));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("line_items.{i}");
        let Some(obj) = item.as_object() else {
            e.add(path, messages::expected_object(item));
            continue;
        };
        let mut ie = ValidationErrors::new();
        let description = required(obj, "description", &mut ie, |v| char_field(v, TEXT_MAX_LEN));
        let amount = required(obj, "amount", &mut ie, amount_field);
        let quantity =
            optional(obj, "quantity", &mut ie, |v| small_int(v, 1, u32::MAX)).unwrap_or(1);
        let external_product_num = optional(obj, "external_product_num", &mut ie, |v| {
            optional_char_field(v, TEXT_MAX_LEN)
        })
        .flatten();
        match (description, amount) {
            (Some(description), Some(amount)) if ie.is_empty() => out.push((
                i,
                LineItemInput {
                    description,
                    amount,
                    quantity,
                    external_product_num,
                },
            )),
            _ => e.merge_prefixed(&path, ie),
        }
    }
    out
}

/// Metadata; errors keyed `metadata` and `metadata.<key>`.
fn parse_metadata(v: &Value, e: &mut ValidationErrors) -> Option<Metadata> {
    let Value::Object(map) = v else {
        e.add("metadata", messages::expected_dict(v));
        return None;
    };
    let mut ok = true;
    if map.len() > MAX_METADATA_KEYS {
        e.add(
            "metadata",
            format!("Ensure this field has no more than {MAX_METADATA_KEYS} keys."),
        );
        ok = false;
    }
    let mut out = BTreeMap::new();
    for (key, value) in map {
        if key.trim().is_empty() {
            e.add("metadata", "Metadata keys may not be blank.");
            ok = false;
            continue;
        }
        if key.chars().count() > MAX_METADATA_KEY_LEN {
            e.add(
                "metadata",
                format!(
                    "Ensure that metadata keys have no more than {MAX_METADATA_KEY_LEN} characters (\"{}\").",
                    shorten(key)
                ),
            );
            ok = false;
            continue;
        }
        match value {
            Value::String(s) if s.chars().count() > MAX_METADATA_VALUE_LEN => {
                e.add(
                    format!("metadata.{key}"),
                    messages::max_length(MAX_METADATA_VALUE_LEN),
                );
                ok = false;
            }
            Value::String(s) => {
                out.insert(key.clone(), s.clone());
            }
            _ => {
                e.add(format!("metadata.{key}"), messages::NOT_A_STRING);
                ok = false;
            }
        }
    }
    ok.then_some(Metadata(out))
}

#[cfg(test)]
mod tests;
