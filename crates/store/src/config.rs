//! The merchant's configuration objects: gateways, hosted pages, webhook profiles and
//! endpoints, campaigns.

use catalyst_domain::{
    CampaignId, GatewayId, HostedPageId, TenantId, WebhookEndpointId, WebhookProfileId,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::schema::{campaigns, gateways, hosted_pages, webhook_endpoints, webhook_profiles};
use crate::{DbConnection, StoreResult};

/// A payment gateway the tenant routes debits through. Credentials are sealed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = gateways, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Gateway {
    pub id: GatewayId,
    pub tenant_id: TenantId,
    pub name: String,
    /// `SANDBOX` or `EMP`.
    pub adapter: String,
    pub descriptor: Option<String>,
    pub test_mode: bool,
    pub currency: String,
    pub creditor_name: Option<String>,
    pub creditor_identifier: Option<String>,
    /// `Cipher::seal("gateway.credentials", json)`; never returned by the API.
    pub credentials_sealed: Option<String>,
    pub requires_verification: bool,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(Gateway, gateways, GatewayId);

/// Branding and content for the hosted payment page.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = hosted_pages, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct HostedPage {
    pub id: HostedPageId,
    pub tenant_id: TenantId,
    pub name: String,
    pub logo_url: Option<String>,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub headline: Option<String>,
    pub show_product_name: bool,
    pub show_product_price: bool,
    pub show_product_description: bool,
    pub mandate_acceptance_mode: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The creditor's name on the mandate (overrides the gateway's).
    pub creditor_name: Option<String>,
    /// The creditor's postal address on the mandate, one line.
    pub creditor_address: Option<String>,
    /// The SEPA creditor identifier on the mandate (overrides the gateway's), validated.
    pub creditor_identifier: Option<String>,
}
crate::scoped::tenant_scoped!(HostedPage, hosted_pages, HostedPageId);

/// A webhook profile: the signing secret (sealed) that its endpoints share.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = webhook_profiles, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct WebhookProfile {
    pub id: WebhookProfileId,
    pub tenant_id: TenantId,
    pub name: String,
    /// `Cipher::seal("webhook.secret", secret)`.
    pub secret_sealed: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(WebhookProfile, webhook_profiles, WebhookProfileId);

/// Where a profile's events are delivered.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = webhook_endpoints, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub tenant_id: TenantId,
    pub profile_id: WebhookProfileId,
    pub url: String,
    /// `JSON_POST` or `URL_PARAMS`.
    pub delivery_method: String,
    /// JSON array of event types; `None` = all events.
    pub events: Option<String>,
    /// JSON object output key → payload variable.
    pub payload_mapping: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
crate::scoped::tenant_scoped!(WebhookEndpoint, webhook_endpoints, WebhookEndpointId);

impl WebhookEndpoint {
    /// One page of the endpoints of one profile.
    pub fn page_of_profile(
        conn: &mut DbConnection,
        tenant: &TenantId,
        profile: &str,
        page: &crate::pagination::PageRequest,
    ) -> StoreResult<crate::pagination::Page<Self>> {
        Ok(crate::pagination::load_page!(
            webhook_endpoints::table
                .filter(webhook_endpoints::tenant_id.eq(tenant.to_owned()))
                .filter(webhook_endpoints::profile_id.eq(profile.to_owned()))
                .select(Self::as_select()),
            webhook_endpoints::id,
            page,
            conn
        ))
    }
}

/// A pre-configured offer: price, gateway, branding, webhooks, attempt limit.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = campaigns, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Campaign {
    pub id: CampaignId,
    pub tenant_id: TenantId,
    pub name: String,
    pub gateway_id: GatewayId,
    pub offer_name: String,
    pub price_minor: i64,
    pub currency: String,
    pub billing_type: String,
    pub billing_frequency: Option<String>,
    pub trial_period: Option<i32>,
    pub trial_interval_unit: Option<String>,
    pub trial_price_minor: Option<i64>,
    pub product_name: Option<String>,
    pub product_description: Option<String>,
    pub hosted_page_id: Option<HostedPageId>,
    pub webhook_profile_id: Option<WebhookProfileId>,
    pub max_payment_attempts: i32,
    pub duplicate_policy: String,
    pub success_redirect_url: Option<String>,
    pub failure_redirect_url: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Days to wait before each retry of a declined renewal (`3,5,7`); `None`: the default.
    pub dunning_ladder: Option<String>,
    /// Days before each renewal the `subscription.upcoming` event is sent; `None`: 5.
    pub prenotification_days: Option<i32>,
}
crate::scoped::tenant_scoped!(Campaign, campaigns, CampaignId);

impl Campaign {
    /// The campaign's offer as the domain type used to resolve session terms.
    pub fn offer(&self) -> StoreResult<catalyst_domain::session::CampaignOffer> {
        use catalyst_domain::billing::Trial;
        use catalyst_domain::money::{Currency, Money};
        let corrupt =
            |what: &str| crate::StoreError::Corrupt(format!("campaign {} {what}", self.id));
        let currency = Currency::parse(&self.currency).map_err(|_| corrupt("currency"))?;
        let money = |minor: i64| Money::from_minor(minor, currency).map_err(|_| corrupt("amount"));
        let trial = match (
            self.trial_period,
            &self.trial_interval_unit,
            self.trial_price_minor,
        ) {
            (Some(period), Some(unit), Some(price)) => Some(Trial {
                period: u32::try_from(period).map_err(|_| corrupt("trial_period"))?,
                unit: unit.parse().map_err(|_| corrupt("trial_interval_unit"))?,
                price: money(price)?,
            }),
            _ => None,
        };
        Ok(catalyst_domain::session::CampaignOffer {
            name: self.offer_name.clone(),
            price: money(self.price_minor)?,
            billing_type: self
                .billing_type
                .parse()
                .map_err(|_| corrupt("billing_type"))?,
            billing_frequency: self
                .billing_frequency
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| corrupt("billing_frequency"))?,
            trial,
            product_name: self.product_name.clone(),
            product_description: self.product_description.clone(),
        })
    }
}

impl Gateway {
    /// A gateway by id alone (gateway notifications name it in the path, without a tenant).
    pub fn by_id(conn: &mut DbConnection, id: &GatewayId) -> StoreResult<Self> {
        on_backend!(conn, |c| gateways::table
            .find(id)
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }
}
