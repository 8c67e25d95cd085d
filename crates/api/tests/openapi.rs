//! The OpenAPI document describes exactly the routes the server registers, and the copy in
//! `docs/openapi.json` is current (regenerate with `UPDATE_OPENAPI=1 cargo test -p catalyst-api --test openapi`).

mod common;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use catalyst_api::openapi::ApiDoc;
use catalyst_api::routes::ROUTE_TABLE;
use utoipa::OpenApi;

fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let routed: BTreeSet<(String, String)> = ROUTE_TABLE
        .iter()
        .map(|(m, p)| (m.to_string(), format!("/api/v1{p}")))
        .collect();
    let documented = documented();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations with no route: {unrouted:?}"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_bearer_auth() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[test]
fn the_checked_in_copy_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = ApiDoc::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p catalyst-api --test openapi"
    );
}

#[test]
fn every_operation_describes_its_bodies() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            if method == "patch" && op.get("requestBody").is_none() {
                problems.push(format!("{name}: no request body"));
            }
            if let Some(body) = op.get("requestBody") {
                let described = body["content"].as_object().is_some_and(|c| {
                    !c.is_empty() && c.values().all(|m| m.get("schema").is_some())
                });
                if !described {
                    problems.push(format!("{name}: a request body without a schema"));
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let content = response["content"].as_object();
                if status.starts_with('2') && status != "204" {
                    if content.is_none_or(|c| c.is_empty()) {
                        problems.push(format!("{name} {status}: no body described"));
                    }
                } else if !status.starts_with('2')
                    && response["content"]["application/json"]
                        .get("schema")
                        .is_none()
                {
                    problems.push(format!("{name} {status}: no JSON error body described"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "operations whose bodies the document does not describe:\n{}",
        problems.join("\n")
    );
}

fn breaks_contract(method: Method, path: &str, status: u16, body: &Value) -> bool {
    let bytes = body.to_string().into_bytes();
    let status = StatusCode::from_u16(status).unwrap();
    catch_unwind(AssertUnwindSafe(|| {
        common::contract::check(&method, path, status, "application/json", &bytes)
    }))
    .is_err()
}

#[test]
fn the_contract_check_refuses_what_the_document_does_not_say() {
    let valid = json!({"valid": true, "iban": "DE89370400440532013000", "country": "DE",
        "bank_name": "Commerzbank", "bic": "COBADEFFXXX", "sepa": true, "error": null,
        "error_code": null, "error_params": null});
    let check = |status, body: &Value| {
        breaks_contract(Method::POST, "/api/v1/iban-validate/", status, body)
    };
    assert!(!check(200, &valid), "a documented body passes");
    let mut extra = valid.clone();
    extra["surprise"] = json!(1);
    assert!(check(200, &extra), "an undocumented field");
    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("bic");
    assert!(check(200, &missing), "a key that must always be present");
    let mut wrong_type = valid.clone();
    wrong_type["valid"] = json!("yes");
    assert!(check(200, &wrong_type), "a field of the wrong type");
    assert!(check(418, &valid), "a status the document does not list");
    let error = json!({"detail": "Invalid request.", "code": "validation_error",
        "errors": {"iban": ["This field is required."]}});
    assert!(!check(400, &error), "a documented error passes");
    assert!(
        check(400, &json!({"detail": "Nope.", "code": "no_such_code"})),
        "an error code outside the list"
    );
}

fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                found.push(r.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(refs.len() > 100, "the document references its schemas");
    let dangling: BTreeSet<_> = refs
        .iter()
        .filter(|r| doc.pointer(r.trim_start_matches('#')).is_none())
        .collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}

/// Whether checking an exchange fails on its request body (the response check may fail too:
/// these bodies are not real answers).
fn request_refused(path: &str, request: Value) -> bool {
    let result = catch_unwind(AssertUnwindSafe(|| {
        common::contract::check_exchange(
            &Method::POST,
            path,
            Some(&request),
            StatusCode::CREATED,
            "application/json",
            b"{}",
        )
    }));
    let Err(panic) = result else {
        return false;
    };
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    message.contains("request body that breaks")
}

#[test]
fn an_accepted_request_must_match_its_schema() {
    let charges = "/api/v1/customers/01a24386-af6f-702d-8985-70e8e8db84b7/charges/";
    let charge = json!({"amount": "9.99", "currency": "EUR", "description": "Pro plan"});
    assert!(
        !request_refused(charges, charge.clone()),
        "a documented request"
    );
    let mut number = charge.clone();
    number["amount"] = json!(9.99);
    assert!(
        !request_refused(charges, number),
        "money as a JSON number, which API.md accepts"
    );
    let mut extra = charge.clone();
    extra["surprise"] = json!(1);
    assert!(
        request_refused(charges, extra),
        "a field the document does not name"
    );
    let mut wrong = charge;
    wrong["currency"] = json!(978);
    assert!(request_refused(charges, wrong), "a field of the wrong type");
    let campaigns = "/api/v1/campaigns/";
    let campaign = |attempts: Value| {
        json!({"name": "C", "gateway_id": "01a24386-af6f-702d-8985-70e8e8db84b7",
            "offer": {"name": "O", "price": "9.99", "currency": "EUR", "billing_type": "ONE_OFF"},
            "max_payment_attempts": attempts})
    };
    assert!(
        !request_refused(campaigns, campaign(json!("7"))),
        "an integer as a string of digits, which every integer field takes"
    );
    assert!(
        request_refused(campaigns, campaign(json!("seven"))),
        "not an integer"
    );
}
