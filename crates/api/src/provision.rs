//! Operator provisioning: tenants with their first keys, and the idempotent demo set-up.

use catalyst_domain::TenantId;
use catalyst_domain::money::Money;
use catalyst_domain::token::{ApiKeyToken, KeyKind, WebhookSecret};
use catalyst_store::{
    ApiKey, Campaign, DbConnection, Gateway, HostedPage, PageRequest, Store, StoreError,
    StoreResult, Tenant, WebhookEndpoint, WebhookProfile, now,
};
use serde::Serialize;

/// Sealing context of webhook signing secrets.
pub const WEBHOOK_SECRET_CONTEXT: &str = catalyst_store::crypto::WEBHOOK_SECRET;

/// What `catalyst tenant create` prints.
#[derive(Debug, Serialize)]
pub struct TenantCredentials {
    pub tenant_id: TenantId,
    pub secret_key: String,
    pub restricted_key: String,
}

/// What `catalyst demo` prints (API.md §9).
#[derive(Debug, Serialize)]
pub struct DemoSetup {
    pub tenant_id: TenantId,
    pub secret_key: String,
    pub restricted_key: String,
    pub gateway_id: String,
    pub campaign_id: String,
    pub recurring_campaign_id: String,
    pub hosted_page_id: String,
    pub webhook_profile_id: String,
    pub webhook_secret: String,
    pub base_url: String,
}

/// Inserts a new API key for `tenant` and returns its one-time full value.
pub fn issue_key(
    conn: &mut DbConnection,
    tenant: &TenantId,
    kind: KeyKind,
    name: Option<String>,
) -> StoreResult<(ApiKey, ApiKeyToken)> {
    let token = ApiKeyToken::generate(kind);
    let at = now();
    let key = ApiKey {
        id: catalyst_domain::ApiKeyId::new(),
        tenant_id: tenant.to_owned(),
        kind: kind.as_str().to_owned(),
        name,
        key_hash: token.hash(),
        key_prefix: token.display_prefix(),
        active: true,
        created_at: at,
        updated_at: at,
    };
    key.insert(conn)?;
    Ok((key, token))
}

/// The name of the keys `catalyst tenant create` issues.
const OPERATOR_KEY_NAME: &str = "operator";
/// The name of the keys `catalyst demo` issues; each run revokes the previous run's.
const DEMO_KEY_NAME: &str = "demo";
/// The creditor the demo page's SEPA mandate names.
const DEMO_CREDITOR_NAME: &str = "Catalyst Demo Merchant GmbH";
/// The demo creditor's postal address.
const DEMO_CREDITOR_ADDRESS: &str = "Musterstraße 1, 10115 Berlin, Germany";
/// The demo creditor identifier (the Bundesbank's published test id).
const DEMO_CREDITOR_ID: &str = "DE98ZZZ09999999999";

fn keys(conn: &mut DbConnection, tenant: &TenantId, name: &str) -> StoreResult<(String, String)> {
    let (_, secret) = issue_key(conn, tenant, KeyKind::Secret, Some(name.into()))?;
    let (_, restricted) = issue_key(conn, tenant, KeyKind::Restricted, Some(name.into()))?;
    Ok((secret.expose().to_owned(), restricted.expose().to_owned()))
}

/// Creates a tenant with one `sk_` and one `rk_` key, in one transaction.
pub fn create_tenant(store: &Store, name: &str) -> StoreResult<TenantCredentials> {
    store.write(|c| {
        let tenant = new_tenant(name, false);
        tenant.insert(c)?;
        let (secret_key, restricted_key) = keys(c, &tenant.id, OPERATOR_KEY_NAME)?;
        Ok(TenantCredentials {
            tenant_id: tenant.id,
            secret_key,
            restricted_key,
        })
    })
}

/// A key the operator issued (`catalyst key create`): its id and the full key, shown once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedKey {
    pub tenant_id: TenantId,
    pub id: String,
    pub kind: String,
    pub key: String,
}

/// Issues a new key of `kind` for an existing tenant (`StoreError::NotFound` for an unknown
/// one): the operator's way back in for a tenant that revoked its last `sk_` key.
pub fn create_key(
    store: &Store,
    tenant_id: &TenantId,
    kind: KeyKind,
    name: Option<String>,
) -> StoreResult<IssuedKey> {
    store.write(|c| {
        Tenant::find(c, tenant_id)?;
        let (row, token) = issue_key(c, tenant_id, kind, name)?;
        Ok(IssuedKey {
            tenant_id: row.tenant_id,
            id: row.id.into_string(),
            kind: row.kind,
            key: token.expose().to_owned(),
        })
    })
}

fn new_tenant(name: &str, demo: bool) -> Tenant {
    let at = now();
    Tenant {
        id: catalyst_domain::TenantId::new(),
        name: name.to_owned(),
        demo,
        created_at: at,
        updated_at: at,
    }
}

fn all<T>(
    mut page: impl FnMut(&PageRequest) -> StoreResult<catalyst_store::Page<T>>,
) -> StoreResult<Vec<T>> {
    Ok(page(&PageRequest {
        size: 1000,
        cursor: None,
    })?
    .items)
}

/// Creates (or finds again) the demo tenant and its objects; always issues fresh keys and
/// revokes the keys an earlier run issued (keys created through the API are kept). Running it
/// twice gives the same ids.
pub fn demo(store: &Store, base_url: &str, webhook_url: Option<&str>) -> StoreResult<DemoSetup> {
    store.write(|c| {
        let tenant = match Tenant::find_demo(c)? {
            Some(t) => t,
            None => {
                let t = new_tenant("Demo Merchant", true);
                t.insert(c)?;
                t
            }
        };
        let tid = tenant.id.clone();
        let at = now();
        let gateway = match all(|p| Gateway::page(c, &tid, p))?
            .into_iter()
            .find(|g| g.adapter == "SANDBOX" && g.name == "Sandbox")
        {
            Some(g) => g,
            None => {
                let g = Gateway {
                    id: catalyst_domain::GatewayId::new(),
                    tenant_id: tid.clone(),
                    name: "Sandbox".into(),
                    adapter: "SANDBOX".into(),
                    descriptor: Some("CATALYST DEMO".into()),
                    test_mode: true,
                    currency: "EUR".into(),
                    creditor_name: Some("Catalyst Demo Merchant".into()),
                    creditor_identifier: Some("DE98ZZZ09999999999".into()),
                    credentials_sealed: None,
                    requires_verification: false,
                    active: true,
                    created_at: at,
                    updated_at: at,
                };
                g.insert(c)?;
                g
            }
        };
        let page = match all(|p| HostedPage::page(c, &tid, p))?
            .into_iter()
            .find(|h| h.name == "Demo page")
        {
            Some(h) => h,
            None => {
                let h = HostedPage {
                    id: catalyst_domain::HostedPageId::new(),
                    tenant_id: tid.clone(),
                    name: "Demo page".into(),
                    logo_url: None,
                    primary_color: Some("#1f4ed8".into()),
                    accent_color: Some("#f59e0b".into()),
                    headline: Some("Catalyst demo shop".into()),
                    show_product_name: true,
                    show_product_price: true,
                    show_product_description: true,
                    mandate_acceptance_mode: "checkbox".into(),
                    active: true,
                    created_at: at,
                    updated_at: at,
                    creditor_name: None,
                    creditor_address: None,
                    creditor_identifier: None,
                };
                h.insert(c)?;
                h
            }
        };
        // The complete mandate: the demo creditor's name, address and identifier (also on a
        // demo page made before the page had these settings).
        let page = if page.creditor_address.is_none() {
            let mut h = page;
            h.creditor_name = Some(DEMO_CREDITOR_NAME.into());
            h.creditor_address = Some(DEMO_CREDITOR_ADDRESS.into());
            h.creditor_identifier = Some(DEMO_CREDITOR_ID.into());
            h.updated_at = at;
            h.save(c)?;
            h
        } else {
            page
        };
        let profile = match all(|p| WebhookProfile::page(c, &tid, p))?
            .into_iter()
            .find(|w| w.name == "Demo webhooks")
        {
            Some(w) => w,
            None => {
                let secret = WebhookSecret::generate();
                let w = WebhookProfile {
                    id: catalyst_domain::WebhookProfileId::new(),
                    tenant_id: tid.clone(),
                    name: "Demo webhooks".into(),
                    secret_sealed: store
                        .cipher()
                        .seal(WEBHOOK_SECRET_CONTEXT, secret.expose().as_bytes())?,
                    active: true,
                    created_at: at,
                    updated_at: at,
                };
                w.insert(c)?;
                w
            }
        };
        let webhook_secret = String::from_utf8(
            store
                .cipher()
                .open(WEBHOOK_SECRET_CONTEXT, &profile.secret_sealed)?,
        )
        .map_err(|_| StoreError::Crypto)?;
        if let Some(url) = webhook_url {
            let endpoints = all(|p| WebhookEndpoint::page_of_profile(c, &tid, &profile.id, p))?;
            if !endpoints.iter().any(|e| e.url == url) {
                WebhookEndpoint {
                    id: catalyst_domain::WebhookEndpointId::new(),
                    tenant_id: tid.clone(),
                    profile_id: profile.id.clone(),
                    url: url.to_owned(),
                    delivery_method: "JSON_POST".into(),
                    events: None,
                    payload_mapping: None,
                    active: true,
                    created_at: at,
                    updated_at: at,
                }
                .insert(c)?;
            }
        }
        let campaigns = all(|p| Campaign::page(c, &tid, p))?;
        let mut campaign =
            |name: &str, price: &str, frequency: Option<&str>| -> StoreResult<String> {
                if let Some(existing) = campaigns.iter().find(|k| k.name == name) {
                    return Ok(existing.id.to_string());
                }
                let price = Money::parse(price, catalyst_domain::money::Currency::EUR)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let k = Campaign {
                    id: catalyst_domain::CampaignId::new(),
                    tenant_id: tid.clone(),
                    name: name.to_owned(),
                    gateway_id: gateway.id.clone(),
                    offer_name: name.to_owned(),
                    price_minor: price.minor(),
                    currency: "EUR".into(),
                    billing_type: if frequency.is_some() {
                        "RECURRING"
                    } else {
                        "ONE_OFF"
                    }
                    .into(),
                    billing_frequency: frequency.map(str::to_owned),
                    trial_period: None,
                    trial_interval_unit: None,
                    trial_price_minor: None,
                    product_name: Some(
                        if frequency.is_some() {
                            "Demo membership"
                        } else {
                            "Demo product"
                        }
                        .into(),
                    ),
                    product_description: Some("Created by `catalyst demo`.".into()),
                    hosted_page_id: Some(page.id.clone()),
                    webhook_profile_id: Some(profile.id.clone()),
                    max_payment_attempts: 3,
                    duplicate_policy: "REUSE".into(),
                    success_redirect_url: None,
                    failure_redirect_url: None,
                    active: true,
                    created_at: at,
                    updated_at: at,
                    dunning_ladder: None,
                    prenotification_days: None,
                };
                k.insert(c)?;
                Ok(k.id.into_string())
            };
        let campaign_id = campaign("Demo one-off", "29.99", None)?;
        let recurring_campaign_id = campaign("Demo monthly", "9.99", Some("MONTHLY"))?;
        // Before this rule the demo's keys were named like an operator's; on the demo tenant
        // only `demo` ever issued those.
        ApiKey::revoke_named(c, &tid, &[DEMO_KEY_NAME, OPERATOR_KEY_NAME], at)?;
        let (secret_key, restricted_key) = keys(c, &tid, DEMO_KEY_NAME)?;
        Ok(DemoSetup {
            tenant_id: tid,
            secret_key,
            restricted_key,
            gateway_id: gateway.id.into_string(),
            campaign_id,
            recurring_campaign_id,
            hosted_page_id: page.id.into_string(),
            webhook_profile_id: profile.id.into_string(),
            webhook_secret,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    })
}

/// Whether the database has no tenant yet (a first start).
pub fn is_empty(store: &Store) -> StoreResult<bool> {
    use diesel::prelude::*;
    store.read(|c| {
        let n: i64 = catalyst_store::schema::tenants::table
            .count()
            .get_result(c)?;
        Ok(n == 0)
    })
}
