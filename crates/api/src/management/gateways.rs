//! `/gateways/`: where debits are routed. Credentials are sealed at rest and never returned.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::TenantId;
use catalyst_domain::net::TargetPolicy;
use catalyst_store::{DbConnection, Gateway, Page, PageRequest, Store, now};
use serde_json::{Map, Value, json};

use super::fields::{Fields, boolean, text};
use crate::auth::Operator;
use crate::body::{JsonBody, object};
use crate::db;
use crate::error::ApiError;
use crate::idempotency;
use crate::listing::{self, Render, Resource};
use crate::payment::{CREDENTIALS_CONTEXT, GatewayAdapterExt};
use crate::schemas::management::gateways::{Gateway as GatewayBody, GatewayCreate, GatewayUpdate};
use crate::schemas::{ErrorBody, Page as PageBody};
use crate::state::AppState;
use crate::views::timestamp;

const FIELDS: &[&str] = &[
    "name",
    "adapter",
    "descriptor",
    "test_mode",
    "currency",
    "creditor_name",
    "creditor_identifier",
    "credentials",
    "requires_verification",
    "active",
];

/// The adapters a gateway can use.
const ADAPTERS: &[&str] = &["SANDBOX", "EMP", "BATCH"];

fn render(g: &Gateway) -> Value {
    json!({
        "id": g.id, "name": g.name, "adapter": g.adapter, "descriptor": g.descriptor,
        "test_mode": g.test_mode, "currency": g.currency, "creditor_name": g.creditor_name,
        "creditor_identifier": g.creditor_identifier, "has_credentials": g.credentials_sealed.is_some(),
        "requires_verification": g.requires_verification, "active": g.active,
        "created_at": timestamp(g.created_at), "updated_at": timestamp(g.updated_at),
    })
}

impl Render for Gateway {
    fn render(&self) -> Result<Value, ApiError> {
        Ok(render(self))
    }
}

impl Resource for Gateway {
    fn page(
        c: &mut DbConnection,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Self>, ApiError> {
        Ok(Gateway::page(c, tenant, page)?)
    }

    fn find(c: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError> {
        Ok(Gateway::find(c, tenant, &id.into())?)
    }
}

fn adapter(v: &Value) -> Result<String, String> {
    let s = v
        .as_str()
        .ok_or_else(|| catalyst_domain::validation::messages::NOT_A_STRING.to_owned())?;
    if ADAPTERS.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(format!("\"{s}\" is not a valid choice."))
    }
}

fn creditor_identifier(v: &Value) -> Result<String, String> {
    let s = text(35)(v)?;
    catalyst_sepa::CreditorId::parse(&s)
        .map(|c| c.to_string())
        .map_err(|e| e.to_string())
}

/// The EMP `endpoint`: an http(s) URL that `targets` allows (no `user:pass@`; a public address
/// unless private targets are allowed). Names are resolved and checked again at each call.
fn emp_endpoint(v: &Value, targets: &TargetPolicy) -> Result<String, String> {
    let url = catalyst_domain::validation::url_field(v, 2000)?;
    targets.check_url(&url).map_err(|e| e.to_string())?;
    Ok(url)
}

/// The credentials object, or `None` (reported) when `v` is not one.
fn credentials_object<'v>(v: &'v Value, f: &mut Fields) -> Option<&'v Map<String, Value>> {
    let obj = v.as_object();
    if obj.is_none() {
        f.error(
            "credentials",
            catalyst_domain::validation::messages::expected_dict(v),
        );
    }
    obj
}

/// Reports every key of `obj` not in `allowed` as `credentials.<key>`; false when there was one.
fn only_known_keys(obj: &Map<String, Value>, allowed: &[&str], f: &mut Fields) -> bool {
    let mut ok = true;
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            f.error(&format!("credentials.{key}"), "Unknown field.");
            ok = false;
        }
    }
    ok
}

/// The required text credentials `keys` (at most `max` characters each), in order; every
/// missing or bad one is reported, and then the result is `None`.
fn required_texts<const N: usize>(
    obj: &Map<String, Value>,
    keys: [&str; N],
    max: usize,
    f: &mut Fields,
) -> Option<[String; N]> {
    let mut given: [String; N] = std::array::from_fn(|_| String::new());
    let mut ok = true;
    for (slot, key) in given.iter_mut().zip(keys) {
        let message = match obj.get(key).map(|v| text(max)(v)) {
            Some(Ok(s)) => {
                *slot = s;
                continue;
            }
            Some(Err(m)) => m,
            None => catalyst_domain::validation::messages::REQUIRED.to_owned(),
        };
        f.error(&format!("credentials.{key}"), message);
        ok = false;
    }
    ok.then_some(given)
}

/// BATCH credentials: `creditor_name`, `creditor_id` (a SEPA creditor identifier), `iban` and
/// `bic` of the creditor's account, all required and validated, and the optional
/// `pain_version` of the bank files (`pain.008.001.08` default, or `pain.008.001.02`);
/// stored normalised.
fn batch_credentials(v: &Value, f: &mut Fields) -> Option<Value> {
    const KEYS: [&str; 4] = ["creditor_name", "creditor_id", "iban", "bic"];
    const OPTIONAL: &str = "pain_version";
    let obj = credentials_object(v, f)?;
    let known = only_known_keys(obj, &[KEYS.as_slice(), &[OPTIONAL]].concat(), f);
    let given = required_texts(obj, KEYS, 70, f);
    let version = match obj.get(OPTIONAL) {
        None | Some(Value::Null) => Some(None),
        Some(v) => match v.as_str().map(catalyst_gateway::batch::parse_pain_version) {
            Some(Ok(version)) => Some(Some(version)),
            Some(Err(e)) => {
                f.error(&format!("credentials.{}", e.field), e.message);
                None
            }
            None => {
                f.error(
                    "credentials.pain_version",
                    "Give pain.008.001.08 (the default) or pain.008.001.02.",
                );
                None
            }
        },
    };
    let [name, creditor_id, iban, bic] = given.filter(|_| known)?;
    match catalyst_gateway::BatchCredentials::validate(&name, &creditor_id, &iban, &bic) {
        Ok(c) => {
            let mut stored = json!({
                "creditor_name": c.creditor_name,
                "creditor_id": c.creditor_id.to_string(),
                "iban": c.iban.expose(),
                "bic": c.bic.as_str(),
            });
            if let Some(version) = version? {
                stored[OPTIONAL] = json!(version.message_name());
            }
            Some(stored)
        }
        Err(errors) => {
            for e in errors {
                f.error(&format!("credentials.{}", e.field), e.message);
            }
            None
        }
    }
}

/// EMP credentials: `username`, `password`, `terminal_token` required, `endpoint` an http(s) URL
/// ([`emp_endpoint`]).
fn emp_credentials(v: &Value, f: &mut Fields, targets: &TargetPolicy) -> Option<Value> {
    const REQUIRED: [&str; 3] = ["username", "password", "terminal_token"];
    let obj = credentials_object(v, f)?;
    let mut ok = only_known_keys(
        obj,
        &["username", "password", "terminal_token", "endpoint"],
        f,
    );
    let mut out = Map::new();
    match required_texts(obj, REQUIRED, 255, f) {
        Some(given) => {
            for (key, value) in REQUIRED.into_iter().zip(given) {
                out.insert(key.into(), Value::String(value));
            }
        }
        None => ok = false,
    }
    if let Some(endpoint) = obj.get("endpoint").filter(|v| !v.is_null()) {
        match emp_endpoint(endpoint, targets) {
            Ok(url) => {
                out.insert("endpoint".into(), Value::String(url));
            }
            Err(m) => {
                f.error("credentials.endpoint", m);
                ok = false;
            }
        }
    }
    ok.then_some(Value::Object(out))
}

fn apply(
    store: &Store,
    targets: &TargetPolicy,
    g: &mut Gateway,
    body: &Value,
    creating: bool,
) -> Result<(), ApiError> {
    let mut f = Fields::new(body, FIELDS, creating)?;
    if let Some(name) = f.required("name", text(255)) {
        g.name = name;
    }
    match f.required("adapter", adapter) {
        Some(a) if !creating && a != g.adapter => {
            f.error("adapter", "The adapter of a gateway cannot be changed.")
        }
        Some(a) => g.adapter = a,
        None => {}
    }
    if let Some(d) = f.nullable("descriptor", text(255)) {
        g.descriptor = d;
    }
    if let Some(t) = f.set("test_mode", boolean) {
        g.test_mode = t;
    }
    if let Some(c) = f.set("currency", text(3)) {
        if c == "EUR" {
            g.currency = c
        } else {
            f.error("currency", "SEPA gateways collect EUR only.")
        }
    }
    if let Some(n) = f.nullable("creditor_name", text(70)) {
        g.creditor_name = n;
    }
    if let Some(c) = f.nullable("creditor_identifier", creditor_identifier) {
        g.creditor_identifier = c;
    }
    if let Some(r) = f.set("requires_verification", boolean) {
        g.requires_verification = r;
    }
    if let Some(a) = f.set("active", boolean) {
        g.active = a;
    }
    if g.adapter != "SANDBOX" && g.requires_verification {
        f.error(
            "requires_verification",
            "Only SANDBOX gateways take this setting.",
        );
    }
    match (g.adapter.as_str(), f.raw("credentials")) {
        ("EMP", Some(v)) => {
            if let Some(creds) = emp_credentials(v, &mut f, targets) {
                g.credentials_sealed = Some(
                    store
                        .cipher()
                        .seal(CREDENTIALS_CONTEXT, creds.to_string().as_bytes())?,
                );
            }
        }
        ("EMP", None) if g.credentials_sealed.is_none() => f.error(
            "credentials",
            "EMP gateways need username, password and terminal_token.",
        ),
        ("BATCH", Some(v)) => {
            if let Some(creds) = batch_credentials(v, &mut f) {
                g.credentials_sealed = Some(
                    store
                        .cipher()
                        .seal(CREDENTIALS_CONTEXT, creds.to_string().as_bytes())?,
                );
            }
        }
        ("BATCH", None) if g.credentials_sealed.is_none() => f.error(
            "credentials",
            "BATCH gateways need creditor_name, creditor_id, iban and bic.",
        ),
        ("SANDBOX", Some(_)) => f.error("credentials", "SANDBOX gateways take no credentials."),
        _ => {}
    }
    f.finish()
}

/// Holds the would-be row to its adapter's own rules (EMP: an `https` endpoint outside test
/// mode, a base URL without a query string), so a gateway that saves can be used at pay time.
/// The 400 names what the request changed: the credentials' endpoint, else `test_mode`.
fn check_adapter(state: &AppState, g: &Gateway, body: &Value) -> Result<(), ApiError> {
    let settings = g.settings(state.store.cipher())?;
    let Err(refusal) = catalyst_gateway::build_adapter(&settings, &state.gateways) else {
        return Ok(());
    };
    let field = if body.get("credentials").is_some() {
        "credentials.endpoint"
    } else if body.get("test_mode").is_some() {
        "test_mode"
    } else {
        "credentials"
    };
    let message = match refusal {
        catalyst_gateway::GatewayError::Config(why) => format!("{why}."),
        other => other.to_string(),
    };
    Err(ApiError::field(field, message))
}

/// `POST /gateways/`.
#[utoipa::path(post, path = "/api/v1/gateways/", tag = "management", request_body = GatewayCreate, security(("bearer" = [])),
    responses((status = 201, body = GatewayBody, description = "Created"),
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
    idempotency::run(&state, &m.tenant_id, &req, &body.raw, || async {
        object(&body.value)?;
        let st = state.clone();
        let tenant = m.tenant_id.clone();
        let value = body.value.clone();
        let row = db::write(&state.store, move |c| -> Result<Gateway, ApiError> {
            let at = now();
            let mut g = Gateway {
                id: catalyst_domain::GatewayId::new(),
                tenant_id: tenant,
                name: String::new(),
                adapter: String::new(),
                descriptor: None,
                test_mode: true,
                currency: "EUR".into(),
                creditor_name: None,
                creditor_identifier: None,
                credentials_sealed: None,
                requires_verification: false,
                active: true,
                created_at: at,
                updated_at: at,
            };
            apply(&st.store, &st.targets, &mut g, &value, true)?;
            check_adapter(&st, &g, &value)?;
            g.insert(c)?;
            Ok(g)
        })
        .await?;
        Ok((StatusCode::CREATED, render(&row)))
    })
    .await
}

/// `GET /gateways/`.
#[utoipa::path(get, path = "/api/v1/gateways/", tag = "management", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageBody<GatewayBody>, description = "One page, newest first"),
        (status = 400, body = ErrorBody, description = "validation_error: bad `page_size` or `cursor`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key")))]
pub async fn list(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    listing::list::<Gateway>(&state, m.tenant_id, &req).await
}

/// `GET /gateways/{id}/`.
#[utoipa::path(get, path = "/api/v1/gateways/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = GatewayBody, description = "The gateway"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn retrieve(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    listing::retrieve::<Gateway>(&state, m.tenant_id, id.into_inner()).await
}

/// `PATCH /gateways/{id}/`.
#[utoipa::path(patch, path = "/api/v1/gateways/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = GatewayUpdate,
    responses((status = 200, body = GatewayBody, description = "The gateway, updated"),
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
    let st = state.get_ref().clone();
    let row = db::write(&state.store, move |c| -> Result<Gateway, ApiError> {
        let mut g = Gateway::find(c, &m.tenant_id, &id.as_str().into())?;
        apply(&st.store, &st.targets, &mut g, &body.value, false)?;
        check_adapter(&st, &g, &body.value)?;
        g.updated_at = now();
        g.save(c)?;
        Ok(g)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}

/// `DELETE /gateways/{id}/` — deactivates; history stays.
#[utoipa::path(delete, path = "/api/v1/gateways/{id}/", tag = "management", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = GatewayBody, description = "The gateway, `active: false`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found")))]
pub async fn deactivate(
    state: web::Data<AppState>,
    Operator(m): Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = db::write(&state.store, move |c| -> Result<Gateway, ApiError> {
        let mut g = Gateway::find(c, &m.tenant_id, &id.as_str().into())?;
        g.active = false;
        g.updated_at = now();
        g.save(c)?;
        Ok(g)
    })
    .await?;
    Ok(HttpResponse::Ok().json(render(&row)))
}
