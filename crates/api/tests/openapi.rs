//! The OpenAPI document describes exactly the routes the server registers, and the copy in
//! `docs/openapi.json` is current (regenerate with `UPDATE_OPENAPI=1 cargo test -p catalyst-api --test openapi`).

use std::collections::BTreeSet;

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
