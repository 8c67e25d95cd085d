//! The management API (API.md §9) over HTTP, on both backends: gateways, hosted pages, webhook
//! profiles and their endpoints, campaigns and API keys.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use catalyst_api::provision::{TenantCredentials, WEBHOOK_SECRET_CONTEXT};
use catalyst_store::{ApiKey, Gateway, WebhookEndpoint, WebhookProfile};
use common::*;
use serde_json::{Value, json};

const GATEWAYS: &str = "/api/v1/gateways/";
const HOSTED_PAGES: &str = "/api/v1/hosted-pages/";
const PROFILES: &str = "/api/v1/webhook-profiles/";
const CAMPAIGNS: &str = "/api/v1/campaigns/";
const API_KEYS: &str = "/api/v1/api-keys/";
const SESSIONS: &str = "/api/v1/payment-sessions/";

/// `body` with the value at the dotted `path` replaced (`"<remove>"` removes the key).
fn with(mut body: Value, path: &str, value: Value) -> Value {
    let mut target = &mut body;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        target = &mut target[*part];
    }
    let last = parts[parts.len() - 1];
    if value == json!("<remove>") {
        target.as_object_mut().unwrap().remove(last);
    } else {
        target[last] = value;
    }
    body
}

fn sandbox_gateway() -> Value {
    json!({"name": "Sandbox", "adapter": "SANDBOX", "creditor_name": "Acme GmbH",
           "creditor_identifier": "DE98ZZZ09999999999"})
}

fn emp_gateway() -> Value {
    json!({"name": "EMP live", "adapter": "EMP", "test_mode": false,
           "credentials": {"username": "acme-user", "password": "Pa55-w0rd-zebra", "terminal_token": "tt-0001"}})
}

fn hosted_page() -> Value {
    json!({"name": "Summer page", "branding": {"logo_url": "https://cdn.example/logo.png", "primary_color": "#1f4ed8",
           "accent_color": "#fa0"}, "content": {"headline": "Summer sale"}})
}

fn profile() -> Value {
    json!({"name": "CRM"})
}

fn endpoint() -> Value {
    json!({"url": "https://crm.example/hooks"})
}

fn campaign(gateway_id: &str) -> Value {
    json!({"name": "Pro monthly", "gateway_id": gateway_id,
           "offer": {"name": "Pro", "price": "29.90", "currency": "EUR", "billing_type": "RECURRING",
                     "billing_frequency": "MONTHLY"}})
}

fn api_key() -> Value {
    json!({"kind": "restricted", "name": "shop backend"})
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Sends `req`; returns status and body.
async fn call<S, B>(app: &S, req: Req<'_>) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, _, body) = send(app, req).await;
    (status, body)
}

/// Creates through `POST path` and returns the object (asserting `201`).
async fn create<S, B>(app: &S, key: &str, path: &str, body: Value) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, created) = call(app, post(path, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
    created
}

/// Asserts a `400 validation_error` whose `errors` name `field`.
async fn assert_names<S, B>(app: &S, req: Req<'_>, field: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, body) = call(app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
    assert_eq!(body["code"], "validation_error", "{field}: {body}");
    let messages = body["errors"][field].as_array();
    assert!(
        messages.is_some_and(|m| !m.is_empty() && m.iter().all(Value::is_string)),
        "expected an error on {field}: {body}"
    );
}

/// `id` is a lower-case UUID, both timestamps are RFC 3339 UTC with microseconds.
fn assert_meta(obj: &Value) {
    let id = str_of(obj, "id");
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().to_string(), id);
    for key in ["created_at", "updated_at"] {
        let at = str_of(obj, key);
        assert!(at.ends_with('Z') && at.len() == 27, "{key}: {at}");
        chrono::DateTime::parse_from_rfc3339(at).unwrap();
    }
}

/// `obj` without `id` and the timestamps (for comparing whole objects).
fn content(obj: &Value) -> Value {
    let mut obj = obj.clone();
    for key in ["id", "created_at", "updated_at"] {
        obj.as_object_mut().unwrap().remove(key);
    }
    obj
}

/// Follows a `next`/`previous` link (absolute URL) back into the app.
fn link(url: &Value) -> String {
    url.as_str()
        .and_then(|u| u.strip_prefix(BASE))
        .unwrap_or_else(|| panic!("not a link: {url}"))
        .to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| str_of(o, "id").to_owned())
        .collect()
}

/// Tops the collection up to 5 objects (`body(i)` for each new one) and walks it with
/// `page_size=2`: 2 + 2 + 1 objects, newest first, no duplicates, working `next` and
/// `previous` links; then the bad `page_size`/`cursor` values.
async fn assert_pagination<S, B>(
    app: &S,
    key: &str,
    collection: &str,
    body: impl Fn(usize) -> Value,
) where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, all) = call(app, get(collection).auth(key)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let existing = ids(&all);
    assert!(existing.len() < 5);
    let mut expected = Vec::new();
    for i in 0..5 - existing.len() {
        expected.push(str_of(&create(app, key, collection, body(i)).await, "id").to_owned());
    }
    expected.reverse();
    expected.extend(existing);

    let first_path = format!("{collection}?page_size=2");
    let (status, first) = call(app, get(&first_path).auth(key)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["previous"], Value::Null);
    assert_eq!(ids(&first), expected[0..2]);
    let next = link(&first["next"]);
    assert!(next.contains("page_size=2"), "{next}");
    let (_, second) = call(app, get(&next).auth(key)).await;
    assert_eq!(ids(&second), expected[2..4]);
    let (_, third) = call(app, get(&link(&second["next"])).auth(key)).await;
    assert_eq!(ids(&third), expected[4..5]);
    assert_eq!(third["next"], Value::Null);
    let (_, back) = call(app, get(&link(&second["previous"])).auth(key)).await;
    assert_eq!(ids(&back), expected[0..2]);
    let (_, back) = call(app, get(&link(&third["previous"])).auth(key)).await;
    assert_eq!(ids(&back), expected[2..4]);

    for bad in ["0", "1001", "two"] {
        assert_names(
            app,
            get(&format!("{collection}?page_size={bad}")).auth(key),
            "page_size",
        )
        .await;
    }
    assert_names(
        app,
        get(&format!("{collection}?cursor=garbage")).auth(key),
        "cursor",
    )
    .await;
}

/// What every collection shares: no key → 401, `rk_` → 403, another tenant → 404 for
/// get/patch/delete, unknown fields → 400 naming them, `DELETE` deactivates and the object
/// stays retrievable (a second `DELETE` is harmless).
async fn assert_shared_rules<S, B>(
    app: &S,
    owner: &TenantCredentials,
    other: &TenantCredentials,
    collection: &str,
    body: Value,
) where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let sk = owner.secret_key.as_str();
    let created = create(app, sk, collection, body.clone()).await;
    let object = format!("{collection}{}/", str_of(&created, "id"));

    let (status, err) = call(app, get(collection)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not_authenticated"))
    );
    for req in [
        get(collection),
        post(collection, body.clone()),
        get(&object),
        patch(&object, json!({})),
        delete(&object),
    ] {
        let (status, err) = call(app, req.auth(&owner.restricted_key)).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("permission_denied")),
            "{collection}"
        );
    }
    for req in [
        get(&object),
        patch(&object, json!({"active": false})),
        delete(&object),
    ] {
        let (status, err) = call(app, req.auth(&other.secret_key)).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{collection}"
        );
    }
    let (status, others) = call(app, get(collection).auth(&other.secret_key)).await;
    match status {
        StatusCode::OK => assert!(!ids(&others).contains(&str_of(&created, "id").to_owned())),
        _ => assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a nested collection of another tenant"
        ),
    }
    let unknown_id = format!("{collection}{}/", uuid::Uuid::now_v7());
    for req in [get(&unknown_id), get(&format!("{collection}not-a-uuid/"))] {
        assert_eq!(call(app, req.auth(sk)).await.0, StatusCode::NOT_FOUND);
    }

    let with_unknown = with(body, "colour", json!("blue"));
    let (status, err) = call(app, post(collection, with_unknown).auth(sk)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"]["colour"], json!(["Unknown field."]), "{err}");
    let (status, err) = call(app, patch(&object, json!({"colour": "blue"})).auth(sk)).await;
    assert_eq!(
        (status, &err["errors"]["colour"]),
        (StatusCode::BAD_REQUEST, &json!(["Unknown field."]))
    );
    assert_names(
        app,
        post(collection, json!([1])).auth(sk),
        "non_field_errors",
    )
    .await;

    let (status, deleted) = call(app, delete(&object).auth(sk)).await;
    assert_eq!(
        (status, &deleted["active"]),
        (StatusCode::OK, &json!(false)),
        "{deleted}"
    );
    let (status, fetched) = call(app, get(&object).auth(sk)).await;
    assert_eq!((status, &fetched), (StatusCode::OK, &deleted));
    let (status, again) = call(app, delete(&object).auth(sk)).await;
    assert_eq!(
        (status, content(&again)),
        (StatusCode::OK, content(&deleted))
    );
    let (_, listed) = call(app, get(collection).auth(sk)).await;
    assert!(
        ids(&listed).contains(&str_of(&deleted, "id").to_owned()),
        "deactivated objects stay listed"
    );
}

api_test! {
    // ---------------------------------------------------------------- gateways

    async fn gateways_crud_and_shared_rules(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let g = create(&app, sk, GATEWAYS, sandbox_gateway()).await;
        assert_meta(&g);
        assert_eq!(g["created_at"], g["updated_at"]);
        assert_eq!(content(&g), json!({
            "name": "Sandbox", "adapter": "SANDBOX", "descriptor": null, "test_mode": true, "currency": "EUR",
            "creditor_name": "Acme GmbH", "creditor_identifier": "DE98ZZZ09999999999", "has_credentials": false,
            "requires_verification": false, "active": true,
        }));
        let path = format!("{GATEWAYS}{}/", str_of(&g, "id"));
        let (status, fetched) = call(&app, get(&path).auth(sk)).await;
        assert_eq!((status, &fetched), (StatusCode::OK, &g));

        let (status, patched) = call(&app, patch(&path, json!({"descriptor": "ACME SHOP", "requires_verification": true})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!((patched["descriptor"].as_str(), patched["requires_verification"].as_bool()), (Some("ACME SHOP"), Some(true)));
        assert_eq!(patched["name"], "Sandbox", "untouched fields stay");
        let (_, cleared) = call(&app, patch(&path, json!({"descriptor": null, "creditor_identifier": null})).auth(sk)).await;
        assert_eq!((&cleared["descriptor"], &cleared["creditor_identifier"]), (&Value::Null, &Value::Null));
        assert_eq!(cleared["creditor_name"], "Acme GmbH");
        assert!(cleared["updated_at"].as_str() > g["updated_at"].as_str());

        assert_shared_rules(&app, &owner, &other, GATEWAYS, sandbox_gateway()).await;
    }

    async fn gateways_paginate(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        assert_pagination(&app, &owner.secret_key, GATEWAYS, |i| with(sandbox_gateway(), "name", json!(format!("G{i}")))).await;
    }

    async fn emp_credentials_are_required_validated_sealed_and_never_returned(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let password = "Pa55-w0rd-zebra";
        let (status, _, raw) = send(&app, post(GATEWAYS, emp_gateway()).auth(sk)).await;
        assert_eq!(status, StatusCode::CREATED, "{raw}");
        assert_eq!((raw["has_credentials"].as_bool(), raw["test_mode"].as_bool()), (Some(true), Some(false)));
        assert!(raw.get("credentials").is_none(), "{raw}");
        let text = raw.to_string();
        assert!(!text.contains(password) && !text.contains("tt-0001") && !text.contains("acme-user"), "{text}");
        let id = str_of(&raw, "id").to_owned();
        let row = ctx.db.store.read(|c| Gateway::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        let sealed = row.credentials_sealed.unwrap();
        assert!(!sealed.contains(password) && !sealed.contains("acme-user"), "{sealed}");
        let opened: Value = serde_json::from_slice(&ctx.db.store.cipher().open("gateway.credentials", &sealed).unwrap()).unwrap();
        assert_eq!(opened["password"], password);

        let path = format!("{GATEWAYS}{id}/");
        for req in [get(&path), get(GATEWAYS)] {
            let (_, body) = call(&app, req.auth(sk)).await;
            assert!(!body.to_string().contains(password), "{body}");
        }
        // A PATCH without credentials keeps them; new ones replace them.
        let (_, kept) = call(&app, patch(&path, json!({"name": "EMP"})).auth(sk)).await;
        assert_eq!(kept["has_credentials"], true);
        let rotated = json!({"credentials": {"username": "u2", "password": "another-secret", "terminal_token": "t2",
                                             "endpoint": "https://staging.gate.example/process"}});
        let (status, body) = call(&app, patch(&path, rotated).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body.to_string().contains("another-secret"));
        let row = ctx.db.store.read(|c| Gateway::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        let opened: Value = serde_json::from_slice(&ctx.db.store.cipher().open("gateway.credentials", &row.credentials_sealed.unwrap()).unwrap()).unwrap();
        assert_eq!((opened["password"].as_str(), opened["endpoint"].as_str()), (Some("another-secret"), Some("https://staging.gate.example/process")));
    }

    async fn every_gateway_rule_names_its_field(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let sandbox = sandbox_gateway();
        let emp = emp_gateway();
        let cases: Vec<(Value, &str)> = vec![
            (with(sandbox.clone(), "name", json!("<remove>")), "name"),
            (with(sandbox.clone(), "name", json!("  ")), "name"),
            (with(sandbox.clone(), "name", json!("x".repeat(256))), "name"),
            (with(sandbox.clone(), "adapter", json!("<remove>")), "adapter"),
            (with(sandbox.clone(), "adapter", json!("STRIPE")), "adapter"),
            (with(sandbox.clone(), "test_mode", json!("maybe")), "test_mode"),
            (with(sandbox.clone(), "currency", json!("USD")), "currency"),
            (with(sandbox.clone(), "currency", json!("eur")), "currency"),
            (with(sandbox.clone(), "creditor_identifier", json!("DE97ZZZ09999999999")), "creditor_identifier"),
            (with(sandbox.clone(), "creditor_identifier", json!("XX98ZZZ09999999999")), "creditor_identifier"),
            (with(sandbox.clone(), "creditor_name", json!("x".repeat(71))), "creditor_name"),
            (with(sandbox.clone(), "credentials", json!({"username": "u", "password": "p", "terminal_token": "t"})), "credentials"),
            (with(sandbox.clone(), "active", json!("sometimes")), "active"),
            (with(emp.clone(), "credentials", json!("<remove>")), "credentials"),
            (with(emp.clone(), "credentials", json!("user:pass")), "credentials"),
            (with(emp.clone(), "credentials.password", json!("<remove>")), "credentials.password"),
            (with(emp.clone(), "credentials.username", json!("")), "credentials.username"),
            (with(emp.clone(), "credentials.terminal_token", json!("<remove>")), "credentials.terminal_token"),
            (with(emp.clone(), "credentials.endpoint", json!("ftp://gate.example")), "credentials.endpoint"),
            (with(emp.clone(), "credentials.pin", json!("1234")), "credentials.pin"),
            (with(emp.clone(), "requires_verification", json!(true)), "requires_verification"),
        ];
        for (body, field) in cases {
            assert_names(&app, post(GATEWAYS, body).auth(sk), field).await;
        }
        assert_eq!(ctx.count("gateways"), 0, "nothing written by a bad request");

        let g = create(&app, sk, GATEWAYS, sandbox.clone()).await;
        let path = format!("{GATEWAYS}{}/", str_of(&g, "id"));
        assert_names(&app, patch(&path, json!({"adapter": "EMP"})).auth(sk), "adapter").await;
        assert_names(&app, patch(&path, json!({"name": null})).auth(sk), "name").await;
        let spaced = create(&app, sk, GATEWAYS, with(sandbox, "creditor_identifier", json!("de98 zzz 0999 9999 999"))).await;
        assert_eq!(spaced["creditor_identifier"], "DE98ZZZ09999999999");
    }

    // ---------------------------------------------------------------- hosted pages

    async fn hosted_pages_crud_and_shared_rules(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let minimal = create(&app, sk, HOSTED_PAGES, json!({"name": "Plain"})).await;
        assert_meta(&minimal);
        assert_eq!(content(&minimal), json!({
            "name": "Plain", "branding": {"logo_url": null, "primary_color": null, "accent_color": null},
            "content": {"headline": null}, "show_product_name": true, "show_product_price": true,
            "show_product_description": true, "mandate_acceptance_mode": "checkbox", "active": true,
            "creditor_name": null, "creditor_address": null, "creditor_identifier": null,
        }));
        let p = create(&app, sk, HOSTED_PAGES, with(hosted_page(), "show_product_price", json!(false))).await;
        assert_eq!((&p["branding"], &p["content"]), (&hosted_page()["branding"], &hosted_page()["content"]));
        assert_eq!(p["show_product_price"], false);
        let path = format!("{HOSTED_PAGES}{}/", str_of(&p, "id"));
        assert_eq!(call(&app, get(&path).auth(sk)).await, (StatusCode::OK, p.clone()));

        let (status, patched) = call(&app, patch(&path, json!({"branding": {"primary_color": "#000"}})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["branding"], json!({"logo_url": "https://cdn.example/logo.png", "primary_color": "#000", "accent_color": "#fa0"}));
        assert_eq!(patched["content"], p["content"]);
        let (_, cleared) = call(&app, patch(&path, json!({"branding": {"logo_url": null}, "content": {"headline": null},
                                                          "show_product_price": true})).auth(sk)).await;
        assert_eq!(cleared["branding"], json!({"logo_url": null, "primary_color": "#000", "accent_color": "#fa0"}));
        assert_eq!((&cleared["content"]["headline"], &cleared["show_product_price"]), (&Value::Null, &json!(true)));
        assert_eq!(cleared["name"], "Summer page");

        assert_shared_rules(&app, &owner, &other, HOSTED_PAGES, hosted_page()).await;
    }

    async fn hosted_pages_paginate(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        assert_pagination(&app, &owner.secret_key, HOSTED_PAGES, |i| json!({"name": format!("Page {i}")})).await;
    }

    async fn every_hosted_page_rule_names_its_field(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let page = hosted_page();
        let cases: Vec<(Value, &str)> = vec![
            (with(page.clone(), "name", json!("<remove>")), "name"),
            (with(page.clone(), "name", json!(null)), "name"),
            (with(page.clone(), "name", json!("")), "name"),
            (with(page.clone(), "name", json!("x".repeat(256))), "name"),
            (with(page.clone(), "branding", json!("blue")), "branding"),
            (with(page.clone(), "branding", json!(null)), "branding"),
            (with(page.clone(), "branding.logo_url", json!("ftp://cdn.example/logo.png")), "branding.logo_url"),
            (with(page.clone(), "branding.logo_url", json!("logo.png")), "branding.logo_url"),
            (with(page.clone(), "branding.primary_color", json!("blue")), "branding.primary_color"),
            (with(page.clone(), "branding.primary_color", json!("#12345")), "branding.primary_color"),
            (with(page.clone(), "branding.accent_color", json!("fa0")), "branding.accent_color"),
            (with(page.clone(), "branding.accent_color", json!("#ggg")), "branding.accent_color"),
            (with(page.clone(), "branding.font", json!("serif")), "branding.font"),
            (with(page.clone(), "content", json!(["Summer"])), "content"),
            (with(page.clone(), "content.headline", json!("x".repeat(256))), "content.headline"),
            (with(page.clone(), "content.footer", json!("x")), "content.footer"),
            (with(page.clone(), "show_product_name", json!("perhaps")), "show_product_name"),
            (with(page.clone(), "show_product_price", json!(2)), "show_product_price"),
            (with(page.clone(), "show_product_description", json!(null)), "show_product_description"),
            (with(page.clone(), "mandate_acceptance_mode", json!("signature")), "mandate_acceptance_mode"),
            (with(page.clone(), "active", json!("yes please")), "active"),
        ];
        for (body, field) in cases {
            assert_names(&app, post(HOSTED_PAGES, body).auth(sk), field).await;
        }
        assert_eq!(ctx.count("hosted_pages"), 0);
        let p = create(&app, sk, HOSTED_PAGES, page).await;
        let path = format!("{HOSTED_PAGES}{}/", str_of(&p, "id"));
        assert_names(&app, patch(&path, json!({"branding": {"primary_color": "red"}})).auth(sk), "branding.primary_color").await;
        assert_names(&app, patch(&path, json!({"name": null})).auth(sk), "name").await;
        let (_, unchanged) = call(&app, get(&path).auth(sk)).await;
        assert_eq!(unchanged, p, "a refused PATCH changes nothing");
    }

    // ---------------------------------------------------------------- webhook profiles

    async fn webhook_profiles_show_their_secret_once_and_seal_it(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let p = create(&app, sk, PROFILES, profile()).await;
        assert_meta(&p);
        let secret = str_of(&p, "secret").to_owned();
        assert!(secret.starts_with("whsec_") && secret.len() == 38, "{secret}");
        assert!(secret[6..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(content(&p), json!({"name": "CRM", "active": true, "secret": secret}));
        let id = str_of(&p, "id").to_owned();
        let path = format!("{PROFILES}{id}/");
        let (_, fetched) = call(&app, get(&path).auth(sk)).await;
        assert_eq!(content(&fetched), json!({"name": "CRM", "active": true}), "no secret after creation");
        let (_, listed) = call(&app, get(PROFILES).auth(sk)).await;
        assert!(!listed.to_string().contains(&secret));
        let row = ctx.db.store.read(|c| WebhookProfile::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        assert!(!row.secret_sealed.contains(&secret[6..]));
        let opened = ctx.db.store.cipher().open(WEBHOOK_SECRET_CONTEXT, &row.secret_sealed).unwrap();
        assert_eq!(String::from_utf8(opened).unwrap(), secret);

        let rotate = format!("{path}rotate-secret/");
        let (status, rotated) = call(&app, post(&rotate, json!({})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new_secret = str_of(&rotated, "secret").to_owned();
        assert!(new_secret.starts_with("whsec_") && new_secret != secret);
        assert_eq!(rotated["id"], p["id"]);
        let row = ctx.db.store.read(|c| WebhookProfile::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        let opened = ctx.db.store.cipher().open(WEBHOOK_SECRET_CONTEXT, &row.secret_sealed).unwrap();
        assert_eq!(String::from_utf8(opened).unwrap(), new_secret, "the old secret is gone");
        assert_eq!(call(&app, post(&rotate, json!({})).auth(&other.secret_key)).await.0, StatusCode::NOT_FOUND);
        assert_eq!(call(&app, post(&rotate, json!({})).auth(&owner.restricted_key)).await.0, StatusCode::FORBIDDEN);

        let (status, renamed) = call(&app, patch(&path, json!({"name": "ERP"})).auth(sk)).await;
        assert_eq!((status, renamed["name"].as_str(), renamed.get("secret")), (StatusCode::OK, Some("ERP"), None));
        assert_shared_rules(&app, &owner, &other, PROFILES, profile()).await;
    }

    async fn webhook_profiles_paginate_and_validate(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        assert_pagination(&app, sk, PROFILES, |i| json!({"name": format!("P{i}")})).await;
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "name"),
            (json!({"name": " "}), "name"),
            (json!({"name": "x".repeat(256)}), "name"),
            (json!({"name": ["CRM"]}), "name"),
            (json!({"name": "CRM", "active": "x"}), "active"),
            (json!({"name": "CRM", "secret": "whsec_mine"}), "secret"),
        ];
        for (body, field) in cases {
            assert_names(&app, post(PROFILES, body).auth(sk), field).await;
        }
        assert_eq!(ctx.count("webhook_profiles"), 5);
    }

    // ---------------------------------------------------------------- webhook endpoints

    async fn webhook_endpoints_crud(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let p = create(&app, sk, PROFILES, profile()).await;
        let profile_id = str_of(&p, "id").to_owned();
        let collection = format!("{PROFILES}{profile_id}/endpoints/");
        let e = create(&app, sk, &collection, endpoint()).await;
        assert_meta(&e);
        assert_eq!(content(&e), json!({
            "profile_id": profile_id, "url": "https://crm.example/hooks", "delivery_method": "JSON_POST",
            "events": null, "payload_mapping": null, "active": true,
        }));
        let full = json!({"url": "http://crm.example/get", "delivery_method": "URL_PARAMS",
                          "events": ["payment_session.completed", "order.created", "order.created"],
                          "payload_mapping": {"email": "lead.email", "amount": "amount"}, "active": false});
        let f = create(&app, sk, &collection, full).await;
        assert_eq!((f["events"].clone(), f["delivery_method"].as_str(), f["active"].as_bool()),
                   (json!(["payment_session.completed", "order.created"]), Some("URL_PARAMS"), Some(false)));
        assert_eq!(f["payload_mapping"], json!({"email": "lead.email", "amount": "amount"}));
        let id = str_of(&f, "id").to_owned();
        let row = ctx.db.store.read(|c| WebhookEndpoint::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        assert_eq!(row.events.as_deref(), Some(r#"["payment_session.completed","order.created"]"#), "stored as JSON text");
        assert_eq!(row.payload_mapping.as_deref(), Some(r#"{"amount":"amount","email":"lead.email"}"#));

        let path = format!("{collection}{id}/");
        assert_eq!(call(&app, get(&path).auth(sk)).await, (StatusCode::OK, f.clone()));
        let (status, patched) = call(&app, patch(&path, json!({"events": ["customer.created"]})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!((patched["events"].clone(), patched["url"].as_str()), (json!(["customer.created"]), Some("http://crm.example/get")));
        let (_, cleared) = call(&app, patch(&path, json!({"events": null, "payload_mapping": null})).auth(sk)).await;
        assert_eq!((&cleared["events"], &cleared["payload_mapping"]), (&Value::Null, &Value::Null));
        assert_eq!(cleared["delivery_method"], "URL_PARAMS");

        // The endpoint is reachable only under its own profile of its own tenant.
        let sibling = create(&app, sk, PROFILES, profile()).await;
        let wrong = format!("{PROFILES}{}/endpoints/{id}/", str_of(&sibling, "id"));
        for req in [get(&wrong), patch(&wrong, json!({})), delete(&wrong)] {
            assert_eq!(call(&app, req.auth(sk)).await.0, StatusCode::NOT_FOUND);
        }
        for req in [get(&collection), post(&collection, endpoint())] {
            assert_eq!(call(&app, req.auth(&other.secret_key)).await.0, StatusCode::NOT_FOUND);
        }
        let missing = format!("{PROFILES}{}/endpoints/", uuid::Uuid::now_v7());
        assert_eq!(call(&app, post(&missing, endpoint()).auth(sk)).await.0, StatusCode::NOT_FOUND);
        assert_shared_rules(&app, &owner, &other, &collection, endpoint()).await;
    }

    async fn webhook_endpoints_paginate_and_validate(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let p = create(&app, sk, PROFILES, profile()).await;
        let collection = format!("{PROFILES}{}/endpoints/", str_of(&p, "id"));
        // Another profile's endpoints are not in this list.
        let sibling = create(&app, sk, PROFILES, profile()).await;
        create(&app, sk, &format!("{PROFILES}{}/endpoints/", str_of(&sibling, "id")), endpoint()).await;
        assert_pagination(&app, sk, &collection, |i| json!({"url": format!("https://crm.example/{i}")})).await;

        let e = endpoint();
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "url"),
            (with(e.clone(), "url", json!("/hooks")), "url"),
            (with(e.clone(), "url", json!("ftp://crm.example/hooks")), "url"),
            (with(e.clone(), "url", json!(format!("https://crm.example/{}", "x".repeat(2048)))), "url"),
            (with(e.clone(), "delivery_method", json!("PUT")), "delivery_method"),
            (with(e.clone(), "delivery_method", json!(null)), "delivery_method"),
            (with(e.clone(), "events", json!("order.created")), "events"),
            (with(e.clone(), "events", json!([])), "events"),
            (with(e.clone(), "events", json!(["order.deleted"])), "events"),
            (with(e.clone(), "events", json!([7])), "events"),
            (with(e.clone(), "payload_mapping", json!("lead.email")), "payload_mapping"),
            (with(e.clone(), "payload_mapping", json!({"email": "lead..email"})), "payload_mapping"),
            (with(e.clone(), "payload_mapping", json!({"email": 5})), "payload_mapping"),
            (with(e.clone(), "payload_mapping", json!({"": "lead.email"})), "payload_mapping"),
            (with(e.clone(), "active", json!([])), "active"),
        ];
        for (body, field) in cases {
            assert_names(&app, post(&collection, body).auth(sk), field).await;
        }
        assert_eq!(ctx.count("webhook_endpoints"), 6);
    }

    // ---------------------------------------------------------------- campaigns

    async fn campaigns_crud_and_shared_rules(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let gateway = create(&app, sk, GATEWAYS, sandbox_gateway()).await;
        let gateway_id = str_of(&gateway, "id").to_owned();
        let k = create(&app, sk, CAMPAIGNS, campaign(&gateway_id)).await;
        assert_meta(&k);
        assert_eq!(content(&k), json!({
            "name": "Pro monthly", "gateway_id": gateway_id,
            "offer": {"name": "Pro", "price": "29.90", "currency": "EUR", "billing_type": "RECURRING",
                      "billing_frequency": "MONTHLY", "trial_period": null, "trial_interval_unit": null,
                      "trial_price": null, "product_name": null, "product_description": null},
            "hosted_page_id": null, "webhook_profile_id": null, "max_payment_attempts": 3,
            "duplicate_policy": "REUSE", "success_redirect_url": null, "failure_redirect_url": null, "active": true,
            "dunning_ladder": [3, 5, 7], "prenotification_days": 5,
        }));
        let id = str_of(&k, "id").to_owned();
        let row = ctx.db.store.read(|c| catalyst_store::Campaign::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        assert_eq!((row.price_minor, row.currency.as_str()), (2990, "EUR"), "minor units at rest");

        let page = create(&app, sk, HOSTED_PAGES, hosted_page()).await;
        let prof = create(&app, sk, PROFILES, profile()).await;
        let full = json!({"name": "Trial", "gateway_id": gateway_id, "hosted_page_id": page["id"], "webhook_profile_id": prof["id"],
                          "max_payment_attempts": 5, "duplicate_policy": "REJECT", "active": true,
                          "success_redirect_url": "https://shop.example/ok", "failure_redirect_url": "http://shop.example/ko",
                          "offer": {"name": "Trial plan", "price": 9.5, "currency": "EUR", "billing_type": "TRIAL_RECURRING",
                                    "billing_frequency": "YEARLY", "trial_period": 14, "trial_interval_unit": "day",
                                    "trial_price": "0", "product_name": "Pro", "product_description": "All features"}});
        let t = create(&app, sk, CAMPAIGNS, full).await;
        assert_eq!(t["offer"], json!({"name": "Trial plan", "price": "9.50", "currency": "EUR", "billing_type": "TRIAL_RECURRING",
                                      "billing_frequency": "YEARLY", "trial_period": 14, "trial_interval_unit": "day",
                                      "trial_price": "0.00", "product_name": "Pro", "product_description": "All features"}));
        assert_eq!((t["hosted_page_id"].clone(), t["webhook_profile_id"].clone()), (page["id"].clone(), prof["id"].clone()));
        assert_eq!((t["max_payment_attempts"].as_i64(), t["duplicate_policy"].as_str()), (Some(5), Some("REJECT")));

        let path = format!("{CAMPAIGNS}{}/", str_of(&t, "id"));
        assert_eq!(call(&app, get(&path).auth(sk)).await, (StatusCode::OK, t.clone()));
        // A partial offer is merged with the stored one.
        let (status, patched) = call(&app, patch(&path, json!({"offer": {"price": "12.00"}})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["offer"], with(t["offer"].clone(), "price", json!("12.00")));
        // Changing the billing type drops stored fields the new type does not take.
        let (status, one_off) = call(&app, patch(&path, json!({"offer": {"billing_type": "ONE_OFF"}})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{one_off}");
        assert_eq!(one_off["offer"], json!({"name": "Trial plan", "price": "12.00", "currency": "EUR", "billing_type": "ONE_OFF",
                                            "billing_frequency": null, "trial_period": null, "trial_interval_unit": null,
                                            "trial_price": null, "product_name": "Pro", "product_description": "All features"}));
        // ... and a sent field the stored type refuses is an error, the whole combination re-checked.
        assert_names(&app, patch(&path, json!({"offer": {"trial_period": 3}})).auth(sk), "offer.trial_period").await;
        assert_names(&app, patch(&path, json!({"offer": {"billing_type": "RECURRING"}})).auth(sk), "offer.billing_frequency").await;
        let (status, recurring) = call(&app, patch(&path, json!({"offer": {"billing_type": "RECURRING", "billing_frequency": "WEEKLY"}})).auth(sk)).await;
        assert_eq!((status, recurring["offer"]["billing_frequency"].as_str()), (StatusCode::OK, Some("WEEKLY")));
        // null clears nullable fields.
        let (status, cleared) = call(&app, patch(&path, json!({"hosted_page_id": null, "webhook_profile_id": null,
            "success_redirect_url": null, "offer": {"product_description": null}})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{cleared}");
        for field in ["hosted_page_id", "webhook_profile_id", "success_redirect_url"] {
            assert_eq!(cleared[field], Value::Null, "{field}");
        }
        assert_eq!((&cleared["offer"]["product_description"], &cleared["offer"]["product_name"]), (&Value::Null, &json!("Pro")));
        assert_eq!(cleared["failure_redirect_url"], "http://shop.example/ko");
        let (_, renamed) = call(&app, patch(&path, json!({"name": "Renamed", "max_payment_attempts": "7"})).auth(sk)).await;
        assert_eq!((renamed["name"].as_str(), renamed["max_payment_attempts"].as_i64()), (Some("Renamed"), Some(7)));
        assert_eq!(renamed["offer"], cleared["offer"]);

        assert_shared_rules(&app, &owner, &other, CAMPAIGNS, campaign(&gateway_id)).await;
    }

    async fn campaigns_paginate(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let gateway = create(&app, &owner.secret_key, GATEWAYS, sandbox_gateway()).await;
        let gateway_id = str_of(&gateway, "id").to_owned();
        assert_pagination(&app, &owner.secret_key, CAMPAIGNS, |i| with(campaign(&gateway_id), "name", json!(format!("C{i}")))).await;
    }

    async fn every_campaign_rule_names_its_field(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.demo();
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let gateway = create(&app, sk, GATEWAYS, sandbox_gateway()).await;
        let gateway_id = str_of(&gateway, "id").to_owned();
        let inactive = create(&app, sk, GATEWAYS, with(sandbox_gateway(), "active", json!(false))).await;
        let inactive_page = create(&app, sk, HOSTED_PAGES, json!({"name": "Old", "active": false})).await;
        let base = campaign(&gateway_id);
        let one_off = with(with(base.clone(), "offer.billing_type", json!("ONE_OFF")), "offer.billing_frequency", json!("<remove>"));
        let trial = with(with(with(with(base.clone(), "offer.billing_type", json!("TRIAL_RECURRING")),
            "offer.trial_period", json!(7)), "offer.trial_interval_unit", json!("week")), "offer.trial_price", json!("1.00"));
        let unknown = json!(uuid::Uuid::now_v7().to_string());
        let cases: Vec<(Value, &str)> = vec![
            (with(base.clone(), "name", json!("<remove>")), "name"),
            (with(base.clone(), "name", json!("x".repeat(256))), "name"),
            (with(base.clone(), "gateway_id", json!("<remove>")), "gateway_id"),
            (with(base.clone(), "gateway_id", json!("gw-1")), "gateway_id"),
            (with(base.clone(), "gateway_id", unknown.clone()), "gateway_id"),
            (with(base.clone(), "gateway_id", json!(other.gateway_id)), "gateway_id"),
            (with(base.clone(), "gateway_id", inactive["id"].clone()), "gateway_id"),
            (with(base.clone(), "offer", json!("<remove>")), "offer"),
            (with(base.clone(), "offer", json!("Pro")), "offer"),
            (with(base.clone(), "offer.name", json!("<remove>")), "offer.name"),
            (with(base.clone(), "offer.name", json!("")), "offer.name"),
            (with(base.clone(), "offer.price", json!("<remove>")), "offer.price"),
            (with(base.clone(), "offer.price", json!("0.00")), "offer.price"),
            (with(base.clone(), "offer.price", json!("-5.00")), "offer.price"),
            (with(base.clone(), "offer.price", json!("29.999")), "offer.price"),
            (with(base.clone(), "offer.price", json!("1000000.00")), "offer.price"),
            (with(base.clone(), "offer.price", json!("cheap")), "offer.price"),
            (with(base.clone(), "offer.currency", json!("<remove>")), "offer.currency"),
            (with(base.clone(), "offer.currency", json!("eur")), "offer.currency"),
            (with(base.clone(), "offer.currency", json!("XYZ")), "offer.currency"),
            (with(base.clone(), "offer.currency", json!("USD")), "offer.currency"),
            (with(base.clone(), "offer.billing_type", json!("<remove>")), "offer.billing_type"),
            (with(base.clone(), "offer.billing_type", json!("recurring")), "offer.billing_type"),
            (with(base.clone(), "offer.billing_frequency", json!("<remove>")), "offer.billing_frequency"),
            (with(base.clone(), "offer.billing_frequency", json!("DAILY")), "offer.billing_frequency"),
            (with(one_off.clone(), "offer.billing_frequency", json!("MONTHLY")), "offer.billing_frequency"),
            (with(one_off.clone(), "offer.trial_price", json!("1.00")), "offer.trial_price"),
            (with(base.clone(), "offer.trial_period", json!(14)), "offer.trial_period"),
            (with(trial.clone(), "offer.trial_period", json!("<remove>")), "offer.trial_period"),
            (with(trial.clone(), "offer.trial_period", json!(0)), "offer.trial_period"),
            (with(trial.clone(), "offer.trial_period", json!(1001)), "offer.trial_period"),
            (with(trial.clone(), "offer.trial_interval_unit", json!("<remove>")), "offer.trial_interval_unit"),
            (with(trial.clone(), "offer.trial_interval_unit", json!("year")), "offer.trial_interval_unit"),
            (with(trial.clone(), "offer.trial_price", json!("<remove>")), "offer.trial_price"),
            (with(trial.clone(), "offer.trial_price", json!("-1")), "offer.trial_price"),
            (with(base.clone(), "offer.product_name", json!("x".repeat(256))), "offer.product_name"),
            (with(base.clone(), "offer.product_description", json!("x".repeat(2001))), "offer.product_description"),
            (with(base.clone(), "offer.sku", json!("P-1")), "offer.sku"),
            (with(base.clone(), "hosted_page_id", unknown.clone()), "hosted_page_id"),
            (with(base.clone(), "hosted_page_id", json!(other.hosted_page_id)), "hosted_page_id"),
            (with(base.clone(), "hosted_page_id", inactive_page["id"].clone()), "hosted_page_id"),
            (with(base.clone(), "hosted_page_id", json!(12)), "hosted_page_id"),
            (with(base.clone(), "webhook_profile_id", unknown.clone()), "webhook_profile_id"),
            (with(base.clone(), "webhook_profile_id", json!(other.webhook_profile_id)), "webhook_profile_id"),
            (with(base.clone(), "max_payment_attempts", json!(0)), "max_payment_attempts"),
            (with(base.clone(), "max_payment_attempts", json!(11)), "max_payment_attempts"),
            (with(base.clone(), "max_payment_attempts", json!(2.5)), "max_payment_attempts"),
            (with(base.clone(), "duplicate_policy", json!("MERGE")), "duplicate_policy"),
            (with(base.clone(), "success_redirect_url", json!("shop.example/ok")), "success_redirect_url"),
            (with(base.clone(), "failure_redirect_url", json!("javascript:alert(1)")), "failure_redirect_url"),
            (with(base.clone(), "active", json!("no way")), "active"),
        ];
        for (body, field) in cases {
            assert_names(&app, post(CAMPAIGNS, body).auth(sk), field).await;
        }
        assert_eq!(ctx.count("campaigns"), 2, "only the demo's campaigns exist");
        // Valid variants of the same bodies are accepted.
        for body in [one_off, trial] {
            create(&app, sk, CAMPAIGNS, body).await;
        }
        let k = create(&app, sk, CAMPAIGNS, base).await;
        let path = format!("{CAMPAIGNS}{}/", str_of(&k, "id"));
        assert_names(&app, patch(&path, json!({"gateway_id": inactive["id"]})).auth(sk), "gateway_id").await;
        assert_names(&app, patch(&path, json!({"offer": {"price": "0"}})).auth(sk), "offer.price").await;
        assert_names(&app, patch(&path, json!({"offer": {"currency": "USD"}})).auth(sk), "offer.currency").await;
        assert_names(&app, patch(&path, json!({"offer": {"billing_frequency": null}})).auth(sk), "offer.billing_frequency").await;
        assert_names(&app, patch(&path, json!({"offer": null})).auth(sk), "offer").await;
        assert_names(&app, patch(&path, json!({"name": null})).auth(sk), "name").await;
        assert_eq!(call(&app, get(&path).auth(sk)).await.1, k, "refused PATCHes change nothing");
    }

    async fn a_campaign_created_over_the_api_sells_through_a_payment_session(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let gateway = create(&app, sk, GATEWAYS, sandbox_gateway()).await;
        let page = create(&app, sk, HOSTED_PAGES, hosted_page()).await;
        let body = with(with(campaign(str_of(&gateway, "id")), "hosted_page_id", page["id"].clone()),
                        "offer.product_name", json!("Pro membership"));
        let k = create(&app, sk, CAMPAIGNS, body).await;
        let lead = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"});
        let (status, created) = call(&app, post(SESSIONS, json!({"campaign_id": k["id"], "lead": lead})).auth(&owner.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (status, s) = call(&app, get(&format!("{SESSIONS}{}/", str_of(&created, "session_token")))).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["amount"].as_str(), s["currency"].as_str(), s["attempts_remaining"].as_i64()), (Some("29.90"), Some("EUR"), Some(3)));
        assert_eq!(s["offer"]["billing_type"], "recurring");
        assert_eq!(s["offer"]["billing_frequency"], "MONTHLY");
        assert_eq!((s["offer"]["name"].as_str(), s["offer"]["product_name"].as_str()), (Some("Pro"), Some("Pro membership")));
        assert_eq!((s["campaign"]["name"].as_str(), s["campaign"]["content"]["headline"].as_str()), (Some("Pro monthly"), Some("Summer sale")));
        assert_eq!(s["mandate"]["creditor_identifier"], "DE98ZZZ09999999999");

        // A deactivated campaign sells no more.
        call(&app, delete(&format!("{CAMPAIGNS}{}/", str_of(&k, "id"))).auth(sk)).await;
        let lead = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"});
        assert_names(&app, post(SESSIONS, json!({"campaign_id": k["id"], "lead": lead})).auth(&owner.restricted_key), "campaign_id").await;
    }

    // ---------------------------------------------------------------- API keys

    async fn api_keys_show_the_key_once_and_work_at_once(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let r = create(&app, sk, API_KEYS, api_key()).await;
        assert_meta(&r);
        let key = str_of(&r, "key").to_owned();
        assert!(key.starts_with("rk_") && key.len() == 43, "{key}");
        assert_eq!(content(&r), json!({"kind": "restricted", "name": "shop backend", "prefix": &key[..10], "active": true, "key": key}));
        let id = str_of(&r, "id").to_owned();
        let row = ctx.db.store.read(|c| ApiKey::find(c, &owner.tenant_id, &id.as_str().into())).unwrap();
        assert_eq!(row.key_hash, catalyst_domain::token::sha256_hex(key.as_bytes()));
        let path = format!("{API_KEYS}{id}/");
        let (status, fetched) = call(&app, get(&path).auth(sk)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content(&fetched), json!({"kind": "restricted", "name": "shop backend", "prefix": &key[..10], "active": true}));
        let (_, listed) = call(&app, get(API_KEYS).auth(sk)).await;
        let text = listed.to_string();
        assert!(!text.contains(&key) && !text.contains(&row.key_hash) && !text.contains("key_hash"), "{text}");
        assert_eq!(ids(&listed).len(), 3, "the two operator keys and the new one");

        // The new keys authenticate straight away, each with its own permissions.
        let s = create(&app, sk, API_KEYS, json!({"kind": "secret"})).await;
        assert_eq!((s["name"].clone(), s["kind"].as_str()), (Value::Null, Some("secret")));
        let new_sk = str_of(&s, "key").to_owned();
        assert!(new_sk.starts_with("sk_"));
        assert_eq!(call(&app, get(GATEWAYS).auth(&new_sk)).await.0, StatusCode::OK);
        assert_eq!(call(&app, get(GATEWAYS).auth(&key)).await.0, StatusCode::FORBIDDEN);

        // Only the name changes.
        let (status, renamed) = call(&app, patch(&path, json!({"name": "POS"})).auth(sk)).await;
        assert_eq!((status, renamed["name"].as_str(), renamed.get("key")), (StatusCode::OK, Some("POS"), None));
        let (_, unnamed) = call(&app, patch(&path, json!({"name": null})).auth(sk)).await;
        assert_eq!(unnamed["name"], Value::Null);
        assert_names(&app, patch(&path, json!({"kind": "secret"})).auth(sk), "kind").await;
        assert_names(&app, patch(&path, json!({"kind": "restricted"})).auth(sk), "kind").await;
        assert_names(&app, patch(&path, json!({"active": true})).auth(sk), "active").await;
        assert_names(&app, patch(&path, json!({"prefix": "rk_x"})).auth(sk), "prefix").await;
    }

    async fn revoked_keys_fail_authentication(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let r = create(&app, sk, API_KEYS, api_key()).await;
        let rk = str_of(&r, "key").to_owned();
        // An invalid session request: 400 proves the key authenticated.
        let probe = json!({"gateway_id": uuid::Uuid::now_v7().to_string()});
        assert_eq!(call(&app, post(SESSIONS, probe.clone()).auth(&rk)).await.0, StatusCode::BAD_REQUEST);
        let revoke = format!("{API_KEYS}{}/revoke/", str_of(&r, "id"));
        assert_eq!(call(&app, post(&revoke, json!({})).auth(&other.secret_key)).await.0, StatusCode::NOT_FOUND);
        assert_eq!(call(&app, post(&revoke, json!({})).auth(&owner.restricted_key)).await.0, StatusCode::FORBIDDEN);
        let (status, revoked) = call(&app, post(&revoke, json!({})).auth(sk)).await;
        assert_eq!((status, revoked["active"].as_bool(), revoked.get("key")), (StatusCode::OK, Some(false), None));
        let (status, err) = call(&app, post(SESSIONS, probe).auth(&rk)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")));
        assert_eq!(call(&app, post(&revoke, json!({})).auth(sk)).await, (StatusCode::OK, revoked.clone()), "revoking twice is harmless");

        // DELETE revokes too.
        let s = create(&app, sk, API_KEYS, json!({"kind": "secret", "name": "deploy bot"})).await;
        let (status, deleted) = call(&app, delete(&format!("{API_KEYS}{}/", str_of(&s, "id"))).auth(sk)).await;
        assert_eq!((status, deleted["active"].as_bool()), (StatusCode::OK, Some(false)));
        let (status, err) = call(&app, get(GATEWAYS).auth(str_of(&s, "key"))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")));

        // A key may revoke itself: this answer is still 200, the next request is refused. It is
        // the tenant's last secret key, so that takes `?force=true` (409 without).
        let (_, listed) = call(&app, get(API_KEYS).auth(sk)).await;
        let own = listed["results"].as_array().unwrap().iter()
            .find(|k| k["prefix"].as_str() == Some(&sk[..10])).unwrap().clone();
        let (status, err) = call(&app, post(&format!("{API_KEYS}{}/revoke/", str_of(&own, "id")), json!({})).auth(sk)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("last_secret_key")));
        let (status, me) = call(&app, post(&format!("{API_KEYS}{}/revoke/?force=true", str_of(&own, "id")), json!({})).auth(sk)).await;
        assert_eq!((status, me["active"].as_bool()), (StatusCode::OK, Some(false)));
        let (status, err) = call(&app, get(API_KEYS).auth(sk)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_failed")));
    }

    async fn api_keys_paginate_validate_and_share_the_rules(ctx) {
        let owner = ctx.tenant("Acme");
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "kind"),
            (json!({"kind": null}), "kind"),
            (json!({"kind": "admin"}), "kind"),
            (json!({"kind": "Secret"}), "kind"),
            (json!({"kind": "secret", "name": "x".repeat(256)}), "name"),
            (json!({"kind": "secret", "name": ["ops"]}), "name"),
            (json!({"kind": "secret", "key": format!("sk_{}", "a".repeat(40))}), "key"),
        ];
        for (body, field) in cases {
            assert_names(&app, post(API_KEYS, body).auth(sk), field).await;
        }
        assert_eq!(ctx.count("api_keys"), 4, "two keys per tenant, nothing more");
        assert_pagination(&app, sk, API_KEYS, |i| json!({"kind": "restricted", "name": format!("K{i}")})).await;
        assert_shared_rules(&app, &owner, &other, API_KEYS, api_key()).await;
    }

    // ---------------------------------------------------------------- idempotency

    async fn management_creates_replay_with_an_idempotency_key(ctx) {
        let owner = ctx.tenant("Acme");
        let app = ctx.app().await;
        let sk = owner.secret_key.as_str();
        let first = send(&app, post(HOSTED_PAGES, hosted_page()).auth(sk).header("Idempotency-Key", "page-1")).await;
        let second = send(&app, post(HOSTED_PAGES, hosted_page()).auth(sk).header("Idempotency-Key", "page-1")).await;
        assert_eq!(first.0, StatusCode::CREATED);
        assert_eq!((second.0, &second.2), (StatusCode::CREATED, &first.2));
        assert_eq!(second.1.get("idempotent-replayed").unwrap(), "true");
        assert_eq!(ctx.count("hosted_pages"), 1);
        let (status, _, err) = send(&app, post(HOSTED_PAGES, json!({"name": "Other"})).auth(sk).header("Idempotency-Key", "page-1")).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")));

        // Secrets are replayed as well, but the stored response never holds them in clear.
        let a = send(&app, post(API_KEYS, api_key()).auth(sk).header("Idempotency-Key", "key-1")).await;
        let b = send(&app, post(API_KEYS, api_key()).auth(sk).header("Idempotency-Key", "key-1")).await;
        assert_eq!((a.0, b.0), (StatusCode::CREATED, StatusCode::CREATED));
        assert_eq!(a.2, b.2);
        assert_eq!(b.1.get("idempotent-replayed").unwrap(), "true");
        assert!(a.2.get("key_sealed").is_none());
        let key = str_of(&a.2, "key").to_owned();
        let p = send(&app, post(PROFILES, profile()).auth(sk).header("Idempotency-Key", "profile-1")).await;
        let q = send(&app, post(PROFILES, profile()).auth(sk).header("Idempotency-Key", "profile-1")).await;
        assert_eq!((p.0, &p.2), (q.0, &q.2));
        let secret = str_of(&p.2, "secret").to_owned();
        assert_eq!((ctx.count("api_keys"), ctx.count("webhook_profiles")), (3, 1));
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Stored {
            #[diesel(sql_type = diesel::sql_types::Text)]
            response_body: String,
        }
        let mut conn = ctx.db.store.conn().unwrap();
        let stored: Vec<Stored> = diesel::sql_query("SELECT response_body FROM idempotency_keys").load(&mut *conn).unwrap();
        assert_eq!(stored.len(), 3);
        for s in stored {
            assert!(!s.response_body.contains(&key[3..]) && !s.response_body.contains(&secret[6..]), "{}", s.response_body);
        }
    }
}
