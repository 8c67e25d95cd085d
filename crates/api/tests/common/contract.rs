//! The OpenAPI document as a contract the tests hold the server to: every response a test
//! receives from a documented operation must have a documented status, and its JSON body must
//! match that status's schema (JSON Schema 2020-12, as OpenAPI 3.1 says; formats checked).
//!
//! An operation none of whose responses but the common 500 describes a body yet is skipped;
//! `tests/openapi.rs` requires every operation to describe its bodies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::{Method, StatusCode};
use catalyst_api::openapi::ApiDoc;
use jsonschema::Validator;
use serde_json::{Value, json};
use utoipa::OpenApi;

struct Operation {
    method: String,
    template: String,
    /// Whether a response besides the common 500 describes a body yet.
    described: bool,
    request: Option<Value>,
    responses: Value,
}

struct Contract {
    operations: Vec<Operation>,
    components: Value,
    validators: Mutex<HashMap<(usize, String), Arc<Validator>>>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        let mut operations = Vec::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let described = op["responses"]
                    .as_object()
                    .expect("responses")
                    .iter()
                    .any(|(code, r)| code != "500" && json_schema(r).is_some());
                operations.push(Operation {
                    method: method.to_uppercase(),
                    template: template.clone(),
                    described,
                    request: op["requestBody"]["content"]["application/json"]
                        .get("schema")
                        .cloned(),
                    responses: op["responses"].clone(),
                });
            }
        }
        Contract {
            operations,
            components: doc["components"].clone(),
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// How well `template` matches the request path: the number of literal segments that match,
/// `None` if it does not match at all.
fn matches(template: &str, path: &str) -> Option<usize> {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (t, p) in t.iter().zip(&p) {
        if t.starts_with('{') && t.ends_with('}') {
            if p.is_empty() {
                return None;
            }
        } else if t == p {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

fn json_schema(response: &Value) -> Option<&Value> {
    response
        .get("content")?
        .get("application/json")?
        .get("schema")
}

/// Panics when the response breaks the document, or when the server accepted (2xx) a JSON
/// request body the document's request schema refuses; does nothing for undocumented routes
/// (the hosted pages, health) and operations not described yet.
pub fn check(method: &Method, uri: &str, status: StatusCode, content_type: &str, body: &[u8]) {
    check_exchange(method, uri, None, status, content_type, body)
}

/// [`check`], and a JSON `request` body the server accepted must match the request schema.
pub fn check_exchange(
    method: &Method,
    uri: &str,
    request: Option<&Value>,
    status: StatusCode,
    content_type: &str,
    body: &[u8],
) {
    let contract = contract();
    let path = uri.split('?').next().unwrap_or(uri);
    let Some((index, op)) = contract
        .operations
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == method.as_str())
        .filter_map(|(i, op)| matches(&op.template, path).map(|score| (score, i, op)))
        .max_by_key(|(score, _, _)| *score)
        .map(|(_, i, op)| (i, op))
    else {
        return;
    };
    if !op.described {
        return;
    }
    let responses = op.responses.as_object().expect("responses");
    let where_ = format!("{} {} (request {uri})", op.method, op.template);
    let code = status.as_str().to_string();
    let Some(response) = responses.get(&code).or_else(|| responses.get("default")) else {
        panic!(
            "{where_} answered {status}, which the OpenAPI document does not list (it lists {:?})",
            responses.keys().collect::<Vec<_>>()
        );
    };
    if let (Some(request), Some(schema), true) = (request, &op.request, status.is_success()) {
        let errors = violations(contract, (index, "request".into()), schema, request, true);
        assert!(
            errors.is_empty(),
            "{where_} accepted ({status}) a request body that breaks its OpenAPI request schema:\n{}\nrequest: {request:#}",
            errors.join("\n")
        );
    }
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    let content = response.get("content").and_then(Value::as_object);
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        assert!(
            body.is_empty() || media_type != "application/json",
            "{where_} answered {status} with a JSON body the OpenAPI document does not describe: {}",
            String::from_utf8_lossy(body)
        );
        return;
    };
    let Some(listed) = content.get(media_type) else {
        panic!(
            "{where_} answered {status} with content type {content_type:?}; the document lists {:?}",
            content.keys().collect::<Vec<_>>()
        );
    };
    // Only JSON bodies are validated; XML, CSV and text are checked by their own tests.
    let Some(schema) = listed
        .get("schema")
        .filter(|_| media_type == "application/json")
    else {
        return;
    };
    let instance: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{where_} answered {status} with invalid JSON: {e}"));
    let errors = violations(contract, (index, code), schema, &instance, false);
    assert!(
        errors.is_empty(),
        "{where_} answered {status} with a body that breaks its OpenAPI schema:\n{}\nbody: {instance:#}",
        errors.join("\n")
    );
}

/// What in `instance` breaks `schema` (compiled once per key), one line each. In a request,
/// a string holding an integer where the schema says integer is not counted: every integer
/// field also takes one (`"7"`, the introduction of API.md), which the schemas leave out.
fn violations(
    contract: &Contract,
    key: (usize, String),
    schema: &Value,
    instance: &Value,
    request: bool,
) -> Vec<String> {
    let validator = contract
        .validators
        .lock()
        .unwrap()
        .entry(key)
        .or_insert_with(|| {
            // `#/components/...` references resolve against the root: the components ride along.
            let mut root = json!({"components": contract.components});
            for (k, v) in schema.as_object().expect("schema object") {
                root[k] = v.clone();
            }
            Arc::new(
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("invalid schema {schema}: {e}")),
            )
        })
        .clone();
    validator
        .iter_errors(instance)
        .filter(|e| !(request && integer_text(e)))
        .map(|e| format!("  at {:?}: {e}", e.instance_path().as_str()))
        .collect()
}

fn integer_text(e: &jsonschema::ValidationError) -> bool {
    use jsonschema::JsonType::Integer;
    use jsonschema::error::{TypeKind, ValidationErrorKind};
    let wants_integer = match e.kind() {
        ValidationErrorKind::Type {
            kind: TypeKind::Single(t),
        } => *t == Integer,
        ValidationErrorKind::Type {
            kind: TypeKind::Multiple(set),
        } => set.contains(Integer),
        _ => false,
    };
    wants_integer
        && e.instance()
            .as_str()
            .is_some_and(|s| s.trim().parse::<i64>().is_ok())
}
