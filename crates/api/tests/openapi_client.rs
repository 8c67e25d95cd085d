//! Clients can be generated from the OpenAPI document and have every field API.md documents.
//!
//! `openapi_client/documented_fields.json` lists, per operation body, the fields API.md names.
//! Each must be named in its API.md section and reachable in the document's schema; and a
//! Python client generated from `docs/openapi.json` (datamodel-code-generator's pydantic
//! models, after openapi-spec-validator accepts the document) must have it. The Python part
//! needs the virtualenv of `scripts/install-openapi-client.sh` in `target/openapi-client` (or
//! `OPENAPI_CLIENT_DIR`); without it the test reports itself skipped, unless
//! `CATALYST_OPENAPI_CLIENT_TESTS=required` (CI), where a missing virtualenv fails it.

use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst_api::openapi::ApiDoc;
use serde::Deserialize;
use serde_json::Value;
use utoipa::OpenApi;

#[derive(Deserialize)]
struct Manifest {
    bodies: Vec<Body>,
}

#[derive(Deserialize)]
struct Body {
    section: String,
    method: String,
    path: String,
    body: String,
    fields: Vec<String>,
}

impl Body {
    fn name(&self) -> String {
        format!(
            "{} {} {} (API.md §{})",
            self.method.to_uppercase(),
            self.path,
            self.body,
            self.section
        )
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi_client")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(here().join("documented_fields.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The text of API.md's section `number` (`"3.5"`, `"4"`): from its heading to the next heading.
fn section(api_md: &str, number: &str) -> String {
    let mut lines = api_md.lines();
    let heading = |line: &str| {
        let title = line.trim_start_matches('#');
        line.starts_with("##")
            && (title.starts_with(&format!(" {number} "))
                || title.starts_with(&format!(" {number}. ")))
    };
    lines
        .by_ref()
        .find(|l| heading(l))
        .unwrap_or_else(|| panic!("API.md has no section {number}"));
    lines
        .take_while(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn names_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

#[test]
fn every_listed_field_is_named_in_its_api_md_section() {
    let api_md = std::fs::read_to_string(workspace().join("docs/API.md")).unwrap();
    let mut missing = Vec::new();
    for body in manifest().bodies {
        let text = section(&api_md, &body.section);
        for field in &body.fields {
            for part in field.split('.') {
                if !names_word(&text, part) {
                    missing.push(format!("{}: `{part}` (of `{field}`)", body.name()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields documented_fields.json lists that API.md's section does not name:\n{}",
        missing.join("\n")
    );
}

/// Follows `$ref`s and the non-null branches of `oneOf`/`anyOf`/`allOf` and array items to the
/// object schemas a value can be.
fn objects<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return objects(doc, &doc["components"]["schemas"][name]);
    }
    let mut found = Vec::new();
    for key in ["oneOf", "anyOf", "allOf"] {
        for branch in schema[key].as_array().into_iter().flatten() {
            found.extend(objects(doc, branch));
        }
    }
    if schema.get("items").is_some() {
        found.extend(objects(doc, &schema["items"]));
    }
    if schema.get("properties").is_some() {
        found.push(schema);
    }
    found
}

fn reaches(doc: &Value, schema: &Value, path: &str) -> bool {
    let (head, rest) = path
        .split_once('.')
        .map_or((path, None), |(h, r)| (h, Some(r)));
    objects(doc, schema).into_iter().any(|object| {
        let Some(property) = object["properties"].get(head) else {
            return false;
        };
        rest.is_none_or(|rest| reaches(doc, property, rest))
    })
}

fn body_schema<'a>(doc: &'a Value, body: &Body) -> Option<&'a Value> {
    let op = &doc["paths"][&body.path][&body.method];
    let content = if body.body == "request" {
        &op["requestBody"]["content"]
    } else {
        &op["responses"][&body.body]["content"]
    };
    content["application/json"].get("schema")
}

#[test]
fn every_documented_field_is_in_the_openapi_schema() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut missing = Vec::new();
    for body in manifest().bodies {
        let Some(schema) = body_schema(&doc, &body) else {
            missing.push(format!("{}: no JSON schema", body.name()));
            continue;
        };
        for field in &body.fields {
            if !reaches(&doc, schema, field) {
                missing.push(format!("{}: `{field}`", body.name()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields API.md documents that the OpenAPI document lacks:\n{}",
        missing.join("\n")
    );
}

fn required() -> bool {
    std::env::var("CATALYST_OPENAPI_CLIENT_TESTS").is_ok_and(|v| v == "required")
}

/// The last lines of a tool's output (a validator may print the whole document).
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let start = text.len().saturating_sub(4000);
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[start..].to_string()
}

fn run(program: &Path, args: &[&Path]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}{}",
        program.display(),
        out.status,
        tail(&out.stdout),
        tail(&out.stderr)
    );
}

#[test]
fn a_python_client_generated_from_the_document_has_every_documented_field() {
    let venv = std::env::var_os("OPENAPI_CLIENT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/openapi-client"));
    let bin = venv.join("bin");
    if !bin.join("datamodel-codegen").is_file() {
        assert!(
            !required(),
            "CATALYST_OPENAPI_CLIENT_TESTS=required but {} has no datamodel-codegen: run scripts/install-openapi-client.sh",
            venv.display()
        );
        println!(
            "python client: SKIPPED (run scripts/install-openapi-client.sh target/openapi-client, or set CATALYST_OPENAPI_CLIENT_TESTS=required to make this an error)"
        );
        return;
    }
    // The checked-in copy is what clients download; tests/openapi.rs keeps it current.
    let spec = workspace().join("docs/openapi.json");
    run(&bin.join("openapi-spec-validator"), &[&spec]);
    let out = tempfile::tempdir().unwrap();
    let models = out.path().join("catalyst_models.py");
    let status = Command::new(bin.join("datamodel-codegen"))
        .args(["--input-file-type", "openapi", "--output-model-type"])
        .arg("pydantic_v2.BaseModel")
        .args(["--disable-timestamp", "--input"])
        .arg(&spec)
        .arg("--output")
        .arg(&models)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "datamodel-codegen failed:\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    run(
        &bin.join("python"),
        &[
            &here().join("check.py"),
            &models,
            &here().join("documented_fields.json"),
            &spec,
        ],
    );
}
