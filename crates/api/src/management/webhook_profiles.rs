//! `/webhook-profiles/`: a signing secret shared by endpoints. The secret is sealed at rest and
//! shown only when created or rotated. The profile's endpoints are in [`endpoints`].

use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::token::WebhookSecret;
use catalyst_store::{DbConnection, Page, PageRequest, Store, WebhookProfile, now, outbox};
use serde_json::{Value, json};

use super::fields::{Fields, boolean, text};
use super::{create_revealing, write};
use crate::auth::Operator;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::listing::{self, Render, Resource};
use crate::provision::WEBHOOK_SECRET_CONTEXT;
use crate::schemas::management::webhooks::{
    WebhookProfile as WebhookProfileBody, WebhookProfileCreate, WebhookProfileUpdate,
    WebhookProfileWithSecret,
};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use crate::views::timestamp;

const FIELDS: &[&str] = &["name", "active"];

fn render(p: &WebhookProfile) -> Value {
    json!({
        "id": p.id, "name": p.name, "active": p.active,
        "created_at": timestamp(p.created_at), "updated_at": timestamp(p.updated_at),
    })
}

impl Render for WebhookProfile {
    fn render(&self) -> Result<Value, ApiError> {
        Ok(render(self))
    }
}

impl Resource for WebhookProfile {
    fn page(
        c: &mut DbConnection,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Self>, ApiError> {
        Ok(WebhookProfile::page(c, tenant, page)?)
    }

    fn find(c: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError> {
        Ok(WebhookProfile::find(c, tenant, &id.into())?)
    }
}

/// A fresh secret, sealed for `secret_sealed`, and its clear text for the one response.
fn new_secret(store: &Store) -> Result<(String, String), ApiError> {
    let secret = WebhookSecret::generate();
    let sealed = store
        .cipher()
        .seal(WEBHOOK_SECRET_CONTEXT, secret.expose().as_bytes())?;
    Ok((sealed, secret.expose().to_owned()))
}

fn apply(p: &mut WebhookProfile, body: &Value, creating: bool) -> Result<(), ApiError> {
    let mut f = Fields::new(body, FIELDS, creating)?;
    if let Some(name) = f.required("name", text(255)) {
        p.name = name;
    }
    if let Some(active) = f.set("active", boolean) {
        p.active = active;
    }
    f.finish()
}

/// `POST /webhook-profiles/` — the response carries the `secret`, this once.
#[utoipa::path(post, path = "/api/v1/webhook-profiles/", tag = "management", request_body = WebhookProfileCreate, security(("bearer" = [])),
    responses((status = 201, body = WebhookProfileWithSecret, description = "Created, with its `secret` (`whsec_…`), shown only here"),
        (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let state = state.get_ref().clone();
    create_revealing(&state, &m.tenant_id, &req, &body.raw, "secret", || async {
        let at = now();
        let (secret_sealed, secret) = new_secret(&state.store)?;
        let mut p = WebhookProfile {
            id: catalyst_domain::WebhookProfileId::new(),
            tenant_id: m.tenant_id.clone(),
            name: String::new(),
            secret_sealed,
            active: true,
            created_at: at,
            updated_at: at,
        };
        apply(&mut p, &body.value, true)?;
        let row = write(&state, move |c| {
            p.insert(c)?;
            Ok(p)
        })
        .await?;
        Ok((render(&row), secret))
    })
    .await
}

/// `GET /webhook-profiles/`.
#[utoipa::path(get, path = "/api/v1/webhook-profiles/", tag = "management", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<WebhookProfileBody>, description = "One page, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    listing::list::<WebhookProfile>(&state, m.tenant_id, &req).await
}

/// `GET /webhook-profiles/{id}/`.
#[utoipa::path(get, path = "/api/v1/webhook-profiles/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookProfileBody, description = "The webhook profile"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve::<WebhookProfile>(&state, m.tenant_id, id.into_inner()).await
}

/// `PATCH /webhook-profiles/{id}/`.
#[utoipa::path(patch, path = "/api/v1/webhook-profiles/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = WebhookProfileUpdate,
    responses((status = 200, body = WebhookProfileBody, description = "The webhook profile, updated"),
        (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
pub async fn update(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let row = write(&state, move |c| {
        let mut p = WebhookProfile::find(c, &m.tenant_id, &id.as_str().into())?;
        let was_active = p.active;
        apply(&mut p, &body.value, false)?;
        p.updated_at = now();
        p.save(c)?;
        if was_active && !p.active {
            outbox::cancel_pending_of_profile(c, &p.id, p.updated_at)?;
        }
        Ok(p)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

/// `DELETE /webhook-profiles/{id}/` — deactivates; its endpoints' pending deliveries are cancelled.
///
/// The endpoints stay as they are.
#[utoipa::path(delete, path = "/api/v1/webhook-profiles/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookProfileBody, description = "The webhook profile, `active: false`; its pending deliveries cancelled"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn deactivate(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = write(&state, move |c| {
        let mut p = WebhookProfile::find(c, &m.tenant_id, &id.as_str().into())?;
        if p.active {
            p.active = false;
            p.updated_at = now();
            p.save(c)?;
            outbox::cancel_pending_of_profile(c, &p.id, p.updated_at)?;
        }
        Ok(p)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

/// `POST /webhook-profiles/{id}/rotate-secret/` — replaces the secret (the old one stops
/// signing at once) and shows the new one, this once.
#[utoipa::path(post, path = "/api/v1/webhook-profiles/{id}/rotate-secret/", tag = "management",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = WebhookProfileWithSecret, description = "The profile with its new `secret`, shown only here"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let (row, secret) = write(&state, move |c| {
        let mut p = WebhookProfile::find(c, &m.tenant_id, &id.as_str().into())?;
        let (sealed, secret) = new_secret(&store)?;
        p.secret_sealed = sealed;
        p.updated_at = now();
        p.save(c)?;
        Ok((p, secret))
    })
    .await?;
    let mut body = render(&row);
    body["secret"] = Value::String(secret);
    Ok(HttpResponse::Ok().json(body))
}

/// `/webhook-profiles/{id}/endpoints/`: where a profile's events are delivered.
pub mod endpoints {
    use std::collections::BTreeMap;

    use actix_web::http::StatusCode;
    use actix_web::{HttpRequest, HttpResponse, web};
    use catalyst_domain::TenantId;
    use catalyst_domain::net::TargetPolicy;
    use catalyst_domain::validation::messages;
    use catalyst_store::{DbConnection, WebhookEndpoint, WebhookProfile, now, outbox};
    use serde_json::{Value, json};

    use super::super::fields::{Fields, boolean, one_of, url};
    use super::super::write;
    use crate::auth::Operator;
    use crate::body::JsonBody;
    use crate::error::ApiError;
    use crate::idempotency;
    use crate::listing::{self, Render};
    use crate::schemas::management::webhooks::{
        WebhookEndpoint as WebhookEndpointBody, WebhookEndpointCreate, WebhookEndpointUpdate,
    };
    use crate::schemas::{ErrorBody, Page as PageBody};
    use crate::state::AppState;
    use crate::views::timestamp;

    const FIELDS: &[&str] = &[
        "url",
        "delivery_method",
        "events",
        "payload_mapping",
        "active",
    ];

    /// `JSON_POST` (the default) or `URL_PARAMS`.
    const DELIVERY_METHODS: &[&str] = &["JSON_POST", "URL_PARAMS"];

    /// Every event type an endpoint can subscribe to (API.md §5).
    pub const EVENTS: &[&str] = &[
        "lead.imported",
        "order.created",
        "order.imported",
        "transaction.created",
        "transaction.imported",
        "transaction.status_changed",
        "chargeback.created",
        "chargeback.imported",
        "subscription.created",
        "subscription.imported",
        "subscription.status_changed",
        "subscription.updated",
        "subscription.renewed",
        "subscription.payment_failed",
        "subscription.upcoming",
        "payment_session.completed",
        "payment_session.failed",
        "payment_session.expired",
        "customer.created",
        "customer.deleted",
        "charge.succeeded",
        "charge.failed",
        "refund.created",
        "refund.succeeded",
        "refund.failed",
    ];

    /// Most entries in a `payload_mapping`.
    const MAX_MAPPING_ENTRIES: usize = 100;
    /// Longest output key or variable path of a `payload_mapping`.
    const MAX_MAPPING_TEXT: usize = 255;

    fn render(e: &WebhookEndpoint) -> Result<Value, ApiError> {
        let stored = |text: &Option<String>| -> Result<Value, ApiError> {
            text.as_deref().map_or(Ok(Value::Null), |t| {
                serde_json::from_str(t)
                    .map_err(|err| ApiError::Internal(format!("stored endpoint JSON: {err}")))
            })
        };
        Ok(json!({
            "id": e.id, "profile_id": e.profile_id, "url": e.url,
            "delivery_method": e.delivery_method, "events": stored(&e.events)?,
            "payload_mapping": stored(&e.payload_mapping)?, "active": e.active,
            "created_at": timestamp(e.created_at), "updated_at": timestamp(e.updated_at),
        }))
    }

    impl Render for WebhookEndpoint {
        fn render(&self) -> Result<Value, ApiError> {
            render(self)
        }
    }

    /// A non-empty list of known event types, duplicates dropped; stored as JSON text.
    fn events(v: &Value) -> Result<String, String> {
        let Value::Array(items) = v else {
            return Err(messages::expected_list(v));
        };
        if items.is_empty() {
            return Err(messages::EMPTY_LIST.to_owned());
        }
        let mut out: Vec<&str> = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(e) if EVENTS.contains(&e) => {
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
                Some(e) => return Err(messages::invalid_choice(e)),
                None => return Err(messages::invalid_choice(&item.to_string())),
            }
        }
        Ok(json!(out).to_string())
    }

    /// A payload variable: dotted segments of letters, digits and `_` (`lead.email`,
    /// `line_items.0.amount`).
    fn is_variable_path(s: &str) -> bool {
        !s.is_empty()
            && s.split('.').all(|seg| {
                !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
    }

    /// An object of output key → payload variable path; stored as JSON text.
    fn payload_mapping(v: &Value) -> Result<String, String> {
        let Value::Object(map) = v else {
            return Err(messages::expected_dict(v));
        };
        if map.len() > MAX_MAPPING_ENTRIES {
            return Err(messages::max_items(MAX_MAPPING_ENTRIES));
        }
        let mut out = BTreeMap::new();
        for (key, path) in map {
            let key = key.trim();
            if key.is_empty() || key.chars().count() > MAX_MAPPING_TEXT {
                return Err(format!(
                    "Output keys must have 1 to {MAX_MAPPING_TEXT} characters."
                ));
            }
            match path.as_str().map(str::trim) {
                Some(p) if p.len() <= MAX_MAPPING_TEXT && is_variable_path(p) => {
                    out.insert(key.to_owned(), p.to_owned());
                }
                _ => {
                    return Err(format!(
                        "\"{key}\": enter a payload variable such as \"lead.email\"."
                    ));
                }
            }
        }
        Ok(json!(out).to_string())
    }

    /// An http(s) URL that `targets` allows (no `user:pass@`; a public address unless private
    /// targets are allowed). Names are resolved and checked again at each delivery.
    fn target_url(targets: &TargetPolicy) -> impl FnOnce(&Value) -> Result<String, String> + '_ {
        move |v| {
            let u = url(v)?;
            targets.check_url(&u).map_err(|e| e.to_string())?;
            Ok(u)
        }
    }

    fn apply(
        e: &mut WebhookEndpoint,
        body: &Value,
        creating: bool,
        targets: &TargetPolicy,
    ) -> Result<(), ApiError> {
        let mut f = Fields::new(body, FIELDS, creating)?;
        if let Some(u) = f.required("url", target_url(targets)) {
            e.url = u;
        }
        if let Some(m) = f.set("delivery_method", one_of(DELIVERY_METHODS)) {
            e.delivery_method = m;
        }
        if let Some(events) = f.nullable("events", events) {
            e.events = events;
        }
        if let Some(mapping) = f.nullable("payload_mapping", payload_mapping) {
            e.payload_mapping = mapping;
        }
        if let Some(active) = f.set("active", boolean) {
            e.active = active;
        }
        f.finish()
    }

    /// Checks that the profile `id` is the tenant's (404 otherwise).
    fn profile(c: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<(), ApiError> {
        WebhookProfile::find(c, tenant, &id.into())?;
        Ok(())
    }

    /// The endpoint `id` of the tenant's profile `profile_id` (404 otherwise).
    fn find(
        c: &mut DbConnection,
        tenant: &TenantId,
        profile_id: &str,
        id: &str,
    ) -> Result<WebhookEndpoint, ApiError> {
        profile(c, tenant, profile_id)?;
        let e = WebhookEndpoint::find(c, tenant, &id.into())?;
        if e.profile_id == profile_id {
            Ok(e)
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// `POST /webhook-profiles/{id}/endpoints/`.
    #[utoipa::path(post, path = "/api/v1/webhook-profiles/{id}/endpoints/", tag = "management", request_body = WebhookEndpointCreate, security(("bearer" = [])), params(("id" = String, Path)),
        responses((status = 201, body = WebhookEndpointBody, description = "Created"),
            (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
            (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
            (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
            (status = 404, body = ErrorBody, description = "not_found"),
            (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
            (status = 413, body = ErrorBody, description = "payload_too_large"),
            (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
    pub async fn create(
        state: web::Data<AppState>,
        Operator(m): Operator,
        profile_id: web::Path<String>,
        req: HttpRequest,
        body: JsonBody,
    ) -> Result<HttpResponse, ApiError> {
        let state = state.get_ref().clone();
        idempotency::run(&state, &m.tenant_id, &req, &body.raw, || async {
            let at = now();
            let mut e = WebhookEndpoint {
                id: catalyst_domain::WebhookEndpointId::new(),
                tenant_id: m.tenant_id.clone(),
                profile_id: profile_id.into_inner().into(),
                url: String::new(),
                delivery_method: DELIVERY_METHODS[0].to_owned(),
                events: None,
                payload_mapping: None,
                active: true,
                created_at: at,
                updated_at: at,
            };
            let value = body.value.clone();
            let targets = state.targets.clone();
            let row = write(&state, move |c| {
                profile(c, &e.tenant_id, &e.profile_id)?;
                apply(&mut e, &value, true, &targets)?;
                e.insert(c)?;
                Ok(e)
            })
            .await?;
            Ok((StatusCode::CREATED, render(&row)?))
        })
        .await
    }

    /// `GET /webhook-profiles/{id}/endpoints/`.
    #[utoipa::path(get, path = "/api/v1/webhook-profiles/{id}/endpoints/", tag = "management", security(("bearer" = [])),
        params(("id" = String, Path), ("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
        responses((status = 200, body = PageBody<WebhookEndpointBody>, description = "One page, newest first"),
            (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
            (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
            (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
            (status = 404, body = ErrorBody, description = "not_found")))]
    pub async fn list(
        state: web::Data<AppState>,
        Operator(m): Operator,
        profile_id: web::Path<String>,
        req: HttpRequest,
    ) -> Result<HttpResponse, ApiError> {
        listing::list_with(&state, &req, move |c, page| {
            profile(c, &m.tenant_id, &profile_id)?;
            Ok(WebhookEndpoint::page_of_profile(
                c,
                &m.tenant_id,
                &profile_id,
                page,
            )?)
        })
        .await
    }

    /// `GET /webhook-profiles/{id}/endpoints/{endpoint_id}/`.
    #[utoipa::path(get, path = "/api/v1/webhook-profiles/{id}/endpoints/{endpoint_id}/", tag = "management", security(("bearer" = [])),
        params(("id" = String, Path), ("endpoint_id" = String, Path)),
        responses((status = 200, body = WebhookEndpointBody, description = "The webhook endpoint"),
            (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
            (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
            (status = 404, body = ErrorBody, description = "not_found")))]
    pub async fn retrieve(
        state: web::Data<AppState>,
        Operator(m): Operator,
        path: web::Path<(String, String)>,
    ) -> Result<HttpResponse, ApiError> {
        let (profile_id, id) = path.into_inner();
        listing::retrieve_with(&state, move |c| find(c, &m.tenant_id, &profile_id, &id)).await
    }

    /// `PATCH /webhook-profiles/{id}/endpoints/{endpoint_id}/`.
    #[utoipa::path(patch, path = "/api/v1/webhook-profiles/{id}/endpoints/{endpoint_id}/", tag = "management", security(("bearer" = [])),
        params(("id" = String, Path), ("endpoint_id" = String, Path)), request_body = WebhookEndpointUpdate,
        responses((status = 200, body = WebhookEndpointBody, description = "The webhook endpoint, updated"),
            (status = 400, body = ErrorBody, description = "validation_error (field errors, unknown fields) / malformed_json"),
            (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
            (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
            (status = 404, body = ErrorBody, description = "not_found"),
            (status = 413, body = ErrorBody, description = "payload_too_large"),
            (status = 415, body = ErrorBody, description = "unsupported_media_type")))]
    pub async fn update(
        state: web::Data<AppState>,
        Operator(m): Operator,
        path: web::Path<(String, String)>,
        body: JsonBody,
    ) -> Result<HttpResponse, ApiError> {
        let (profile_id, id) = path.into_inner();
        let targets = state.targets.clone();
        let row = write(&state, move |c| {
            let mut e = find(c, &m.tenant_id, &profile_id, &id)?;
            let was_active = e.active;
            apply(&mut e, &body.value, false, &targets)?;
            e.updated_at = now();
            e.save(c)?;
            if was_active && !e.active {
                outbox::cancel_pending_of_endpoint(c, &e.id, e.updated_at)?;
            }
            Ok(e)
        })
        .await?;
        Ok(HttpResponse::Ok().json(render(&row)?))
    }

    /// `DELETE /webhook-profiles/{id}/endpoints/{endpoint_id}/` — deactivates, cancels pending.
    ///
    /// The endpoint's pending deliveries are cancelled in the same transaction.
    #[utoipa::path(delete, path = "/api/v1/webhook-profiles/{id}/endpoints/{endpoint_id}/", tag = "management", security(("bearer" = [])),
        params(("id" = String, Path), ("endpoint_id" = String, Path)),
        responses((status = 200, body = WebhookEndpointBody, description = "The webhook endpoint, `active: false`"),
            (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
            (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
            (status = 404, body = ErrorBody, description = "not_found")))]
    pub async fn deactivate(
        state: web::Data<AppState>,
        Operator(m): Operator,
        path: web::Path<(String, String)>,
    ) -> Result<HttpResponse, ApiError> {
        let (profile_id, id) = path.into_inner();
        let row = write(&state, move |c| {
            let mut e = find(c, &m.tenant_id, &profile_id, &id)?;
            if e.active {
                e.active = false;
                e.updated_at = now();
                e.save(c)?;
                outbox::cancel_pending_of_endpoint(c, &e.id, e.updated_at)?;
            }
            Ok(e)
        })
        .await?;
        Ok(HttpResponse::Ok().json(render(&row)?))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn event_lists() {
            assert_eq!(
                events(&json!([
                    "order.created",
                    "customer.created",
                    "order.created"
                ]))
                .unwrap(),
                r#"["order.created","customer.created"]"#
            );
            assert!(events(&json!([])).is_err());
            assert!(events(&json!(["order.deleted"])).is_err());
            assert!(events(&json!("order.created")).is_err());
            assert!(events(&json!([1])).is_err());
        }

        /// Every event type the store emits can be subscribed to: the literals `"<object>.<what>"`
        /// of the store's sources that name an event are all in [`EVENTS`].
        #[test]
        fn every_emitted_event_is_subscribable() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/src");
            let objects = [
                "lead",
                "order",
                "transaction",
                "chargeback",
                "subscription",
                "payment_session",
                "customer",
                "refund",
                "charge",
            ];
            let mut found = 0;
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for literal in text.split('"').skip(1).step_by(2) {
                    let Some((object, what)) = literal.split_once('.') else {
                        continue;
                    };
                    if objects.contains(&object)
                        && !what.is_empty()
                        && what.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    {
                        found += 1;
                        assert!(
                            EVENTS.contains(&literal),
                            "{literal} ({path:?}) is not in EVENTS"
                        );
                    }
                }
            }
            assert!(found >= 20, "only {found} event names found");
        }

        #[test]
        fn mappings() {
            assert_eq!(
                payload_mapping(&json!({"email": "lead.email", "n": "line_items.0.amount"}))
                    .unwrap(),
                r#"{"email":"lead.email","n":"line_items.0.amount"}"#
            );
            for bad in [
                json!({"email": "lead..email"}),
                json!({"email": ""}),
                json!({"email": 1}),
                json!({"": "lead.email"}),
                json!({"email": "lead.e-mail"}),
                json!(["lead.email"]),
            ] {
                assert!(payload_mapping(&bad).is_err(), "{bad}");
            }
        }
    }
}
