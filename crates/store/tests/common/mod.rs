//! Row builders shared by the store tests.
#![allow(dead_code)]

use catalyst_domain::TenantId;
use catalyst_domain::session::SessionMode;
use catalyst_domain::status::OrderStatus;
use catalyst_domain::status::SessionStatus;
use catalyst_store::outbox::{self, NewEvent};
use catalyst_store::*;
use chrono::Duration;
use serde_json::json;

pub fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn tenant(store: &Store) -> Tenant {
    let t = Tenant {
        id: id().into(),
        name: "Acme".into(),
        demo: false,
        created_at: now(),
        updated_at: now(),
    };
    store.write(|c| t.insert(c)).unwrap();
    t
}

pub fn gateway(store: &Store, tenant: &TenantId, name: &str) -> Gateway {
    let g = Gateway {
        id: id().into(),
        tenant_id: tenant.into(),
        name: name.into(),
        adapter: "SANDBOX".into(),
        descriptor: None,
        test_mode: true,
        currency: "EUR".into(),
        creditor_name: None,
        creditor_identifier: None,
        credentials_sealed: None,
        requires_verification: false,
        active: true,
        created_at: now(),
        updated_at: now(),
    };
    store.write(|c| g.insert(c)).unwrap();
    g
}

pub fn lead(tenant: &TenantId, email: &str) -> Lead {
    Lead {
        id: id().into(),
        tenant_id: tenant.into(),
        email: email.into(),
        email_normalized: email.to_lowercase(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        country: "DE".into(),
        address: None,
        city: None,
        postal_code: None,
        phone: None,
        created_at: now(),
        updated_at: now(),
    }
}

pub fn session(tenant: &TenantId, gateway: &str, expires_in: Duration) -> PaymentSession {
    PaymentSession {
        id: id().into(),
        tenant_id: tenant.into(),
        token: format!("ps_{}", uuid::Uuid::new_v4().simple()),
        status: SessionStatus::Pending,
        mode: SessionMode::Payment,
        campaign_id: None,
        gateway_id: gateway.into(),
        hosted_page_id: None,
        webhook_profile_id: None,
        lead_id: String::new().into(),
        offer_snapshot: "{}".into(),
        amount_minor: 2999,
        currency: "EUR".into(),
        billing_type: "ONE_OFF".into(),
        billing_frequency: None,
        trial_period: None,
        trial_interval_unit: None,
        trial_price_minor: None,
        offer_overrides: "{}".into(),
        max_payment_attempts: 3,
        attempts_used: 0,
        customer_id: None,
        external_customer_id: None,
        return_url: None,
        default_locale: "en".into(),
        line_items: "[]".into(),
        metadata: "{}".into(),
        customer_ip: None,
        expires_at: now() + expires_in,
        version: 0,
        created_at: now(),
        updated_at: now(),
    }
}

pub fn order(tenant: &TenantId, number: &str) -> Order {
    Order {
        id: id().into(),
        tenant_id: tenant.into(),
        session_id: None,
        lead_id: String::new().into(),
        order_number: number.into(),
        status: OrderStatus::PendingPaymentSubmission,
        amount_minor: 2999,
        currency: "EUR".into(),
        created_at: now(),
        updated_at: now(),
        customer_id: None,
        webhook_profile_id: None,
    }
}

static NEXT_ORDER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

pub fn order_number() -> String {
    let n = NEXT_ORDER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("ORD-{:04X}{:04X}", std::process::id() & 0xFFFF, n)
}

/// An active webhook profile with one endpoint per entry of `events` (`None`: every event).
pub fn profile_with_endpoints(
    store: &Store,
    tenant: &TenantId,
    events: &[Option<&str>],
) -> (WebhookProfile, Vec<WebhookEndpoint>) {
    let at = now();
    let profile = WebhookProfile {
        id: id().into(),
        tenant_id: tenant.into(),
        name: "hooks".into(),
        secret_sealed: store.cipher().seal("webhook.secret", b"whsec_x").unwrap(),
        active: true,
        created_at: at,
        updated_at: at,
    };
    store.write(|c| profile.insert(c)).unwrap();
    let endpoints = events
        .iter()
        .map(|e| {
            let endpoint = WebhookEndpoint {
                id: id().into(),
                tenant_id: tenant.into(),
                profile_id: profile.id.clone(),
                url: "http://127.0.0.1:9/hook".into(),
                delivery_method: "JSON_POST".into(),
                events: e.map(|t| json!([t]).to_string()),
                payload_mapping: None,
                active: true,
                created_at: at,
                updated_at: at,
            };
            store.write(|c| endpoint.insert(c)).unwrap();
            endpoint
        })
        .collect();
    (profile, endpoints)
}

/// Emits one event of `event_type` in its own write transaction.
pub fn emit(
    store: &Store,
    tenant: &TenantId,
    profile: Option<&catalyst_domain::WebhookProfileId>,
    event_type: &'static str,
) {
    store
        .write(|c| {
            outbox::emit(
                c,
                NewEvent {
                    tenant_id: tenant,
                    profile_id: profile,
                    event_type,
                    payload: json!({"k": "v"}),
                    context: json!({"lead": {"email": "a@b.c"}}),
                },
                now(),
            )
        })
        .unwrap();
}
