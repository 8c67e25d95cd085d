//! JSON renderings of stored rows, shared by handlers.

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::session::Locale;
use catalyst_store::{Campaign, DbConnection, Gateway, HostedPage, PaymentSession, SessionPayer};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use crate::error::ApiError;

/// RFC 3339 UTC with microseconds and `Z` (API.md conventions).
pub fn timestamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Minor units of `currency` as the API's decimal string.
pub fn money(minor: i64, currency: &str) -> Result<String, ApiError> {
    let currency = Currency::parse(currency)
        .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))?;
    Money::from_minor(minor, currency)
        .map(|m| m.to_decimal_string())
        .map_err(|e| ApiError::Internal(format!("stored amount: {e}")))
}

fn parse_json(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Internal(format!("stored JSON: {e}")))
}

/// Who collects under a session's mandate: the hosted page's creditor settings, each falling back
/// to the gateway's (name to the gateway's name).
pub struct Creditor {
    /// The creditor's name.
    pub name: String,
    /// The creditor's postal address, when configured.
    pub address: Option<String>,
    /// The SEPA creditor identifier, when configured.
    pub identifier: Option<String>,
}

impl Creditor {
    /// The creditor of session `s`.
    pub fn of_session(conn: &mut DbConnection, s: &PaymentSession) -> Result<Creditor, ApiError> {
        let gateway = Gateway::find(conn, &s.tenant_id, &s.gateway_id)?;
        let page = match &s.hosted_page_id {
            Some(id) => Some(HostedPage::find(conn, &s.tenant_id, id)?),
            None => None,
        };
        Ok(Creditor::of(&gateway, page.as_ref()))
    }

    /// The creditor from a gateway and the session's hosted page.
    pub fn of(gateway: &Gateway, page: Option<&HostedPage>) -> Creditor {
        Creditor {
            name: page
                .and_then(|p| p.creditor_name.clone())
                .or_else(|| gateway.creditor_name.clone())
                .unwrap_or_else(|| gateway.name.clone()),
            address: page.and_then(|p| p.creditor_address.clone()),
            identifier: page
                .and_then(|p| p.creditor_identifier.clone())
                .or_else(|| gateway.creditor_identifier.clone()),
        }
    }
}

/// The configuration a session's views show: its gateway, campaign and hosted page, read once.
pub struct SessionConfig {
    pub gateway: Gateway,
    pub campaign: Option<Campaign>,
    pub page: Option<HostedPage>,
}

impl SessionConfig {
    /// Reads the session's gateway, campaign and hosted page.
    pub fn load(conn: &mut DbConnection, s: &PaymentSession) -> Result<Self, ApiError> {
        Ok(SessionConfig {
            gateway: Gateway::find(conn, &s.tenant_id, &s.gateway_id)?,
            campaign: match &s.campaign_id {
                Some(id) => Some(Campaign::find(conn, &s.tenant_id, id)?),
                None => None,
            },
            page: match &s.hosted_page_id {
                Some(id) => Some(HostedPage::find(conn, &s.tenant_id, id)?),
                None => None,
            },
        })
    }

    /// The creditor the session's mandate names.
    pub fn creditor(&self) -> Creditor {
        Creditor::of(&self.gateway, self.page.as_ref())
    }
}

/// The §3.2 body of a session.
pub fn session_body(conn: &mut DbConnection, s: &PaymentSession) -> Result<Value, ApiError> {
    let config = SessionConfig::load(conn, s)?;
    session_body_with(conn, s, &config)
}

/// [`session_body`] with the session's configuration already read.
pub fn session_body_with(
    conn: &mut DbConnection,
    s: &PaymentSession,
    config: &SessionConfig,
) -> Result<Value, ApiError> {
    let (gateway, campaign, page) = (&config.gateway, &config.campaign, &config.page);
    // What this session's request sent, not the stored fields of the lead it links to.
    let payer = SessionPayer::of_session(conn, &s.id)?;
    let offer = parse_json(&s.offer_snapshot)?;
    let locale: Locale = s.default_locale.parse().unwrap_or(Locale::En);
    let creditor = Creditor::of(gateway, page.as_ref());

    let line_items = match parse_json(&s.line_items)? {
        Value::Array(items) => items
            .into_iter()
            .map(|item| {
                let minor = item["amount_minor"].as_i64().unwrap_or_default();
                Ok(json!({"description": item["description"], "amount": money(minor, &s.currency)?,
                          "quantity": item["quantity"], "external_product_num": item["external_product_num"]}))
            })
            .collect::<Result<Vec<_>, ApiError>>()?,
        _ => Vec::new(),
    };
    let campaign_block = if campaign.is_none() && page.is_none() {
        Value::Null
    } else {
        json!({
            "name": campaign.as_ref().map(|c| c.name.clone()),
            "branding": {
                "logo_url": page.as_ref().and_then(|p| p.logo_url.clone()),
                "primary_color": page.as_ref().and_then(|p| p.primary_color.clone()),
                "accent_color": page.as_ref().and_then(|p| p.accent_color.clone()),
            },
            "content": {"headline": page.as_ref().and_then(|p| p.headline.clone())},
            "show_product_name": page.as_ref().is_none_or(|p| p.show_product_name),
            "show_product_price": page.as_ref().is_none_or(|p| p.show_product_price),
            "show_product_description": page.as_ref().is_none_or(|p| p.show_product_description),
            "offer_overrides": parse_json(&s.offer_overrides)?,
            "success_redirect_url": campaign.as_ref().and_then(|c| c.success_redirect_url.clone()),
            "failure_redirect_url": campaign.as_ref().and_then(|c| c.failure_redirect_url.clone()),
        })
    };
    let billing_type: catalyst_domain::billing::BillingType = s
        .billing_type
        .parse()
        .map_err(|_| ApiError::Internal("stored billing type".into()))?;
    Ok(json!({
        "session_token": s.token,
        "status": s.status,
        "mode": s.mode,
        "amount": money(s.amount_minor, &s.currency)?,
        "currency": s.currency,
        "attempts_remaining": (s.max_payment_attempts - s.attempts_used).max(0),
        "expires_at": timestamp(s.expires_at),
        "return_url": s.return_url,
        "default_locale": s.default_locale,
        "line_items": line_items,
        "metadata": parse_json(&s.metadata)?,
        "campaign": campaign_block,
        "offer": {
            "name": offer["name"],
            "price": money(s.amount_minor, &s.currency)?,
            "currency": s.currency,
            "billing_type": billing_type.as_lower(),
            "billing_frequency": s.billing_frequency,
            "product_name": offer["product_name"],
            "product_description": offer["product_description"],
        },
        "mandate": {
            "acceptance_mode": page.as_ref().map(|p| p.mandate_acceptance_mode.clone()).unwrap_or_else(|| "checkbox".into()),
            "text": crate::hosted::view::mandate_text(locale, &creditor.name),
            "creditor_name": creditor.name,
            "creditor_address": creditor.address,
            "creditor_identifier": creditor.identifier,
        },
        "lead": {"first_name": payer.first_name, "last_name": payer.last_name, "email": payer.email},
    }))
}
