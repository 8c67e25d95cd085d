//! `POST /imports/{kind}/`: CSV imports of leads and orders (API.md §12).
//!
//! The body (`text/csv`) is streamed to a temporary file, at most [`MAX_IMPORT_BYTES`], while
//! its SHA-256 is taken for the `Idempotency-Key` fingerprint; the file is then read row by row
//! with the `csv` crate inside one write transaction. So neither the body nor the rows are ever
//! held in memory, and an import without `?partial=true` is all or nothing: the first bad row
//! turns the transaction into a rollback (the remaining rows are still checked, so the answer
//! lists up to [`MAX_LISTED_ERRORS`] of them). Every error names its row (1 = the first row
//! after the header), the file line and the column.

use std::io::{Seek, Write};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::lead::NewLead;
use catalyst_domain::status::OrderStatus;
use catalyst_store::imports::{self, LeadRow, OrderRow, Target};
use catalyst_store::{DbConnection, Store, StoreError, WebhookProfile, now, tx};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Operator;
use crate::customers::charges::{amount, currency};
use crate::error::ApiError;
use crate::idempotency;
use crate::state::AppState;

/// Largest accepted import body.
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;
/// Most row errors listed in one answer (all are counted).
pub const MAX_LISTED_ERRORS: usize = 100;

/// What an import holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Leads,
    Orders,
}

impl Kind {
    /// `leads` or `orders`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "leads" => Some(Kind::Leads),
            "orders" => Some(Kind::Orders),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Leads => "leads",
            Kind::Orders => "orders",
        }
    }

    /// The columns a file may have, required ones first.
    fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::Leads => (
                &["email", "first_name", "last_name", "country"],
                &["address", "city", "postal_code", "phone"],
            ),
            Kind::Orders => (&["email", "amount", "currency", "status"], &[]),
        }
    }
}

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Store the good rows and report the bad ones.
    #[serde(default)]
    partial: bool,
    /// The webhook profile the `*.imported` events go to (none: recorded, not delivered).
    webhook_profile_id: Option<String>,
}

/// One bad row (or a file that cannot be read at all: `row` 0).
#[derive(Debug, Clone)]
pub struct RowError {
    pub row: u64,
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl RowError {
    fn to_json(&self) -> Value {
        json!({"row": self.row, "line": self.line, "column": self.column, "message": self.message})
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: u64,
    pub imported: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
}

impl Report {
    fn fail(&mut self, e: RowError) {
        self.failed += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// The file is not a CSV of this kind (header, quoting, encoding): nothing read further.
    Malformed(RowError),
    /// Rows are bad and the import is not partial.
    Rejected(Report),
    Store(StoreError),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Store(e)
    }
}

#[utoipa::path(post, path = "/api/v1/imports/{kind}/", tag = "imports",
    params(("kind" = String, Path, description = "`leads` or `orders`"),
        ("partial" = Option<bool>, Query), ("webhook_profile_id" = Option<String>, Query)),
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    responses((status = 201, description = "`{\"object\": \"import\", \"kind\", \"rows\", \"imported\", \"failed\", \"errors\"}`"),
        (status = 400, description = "import_invalid (rows and columns in `errors`) / malformed_csv"),
        (status = 401), (status = 403), (status = 404), (status = 413), (status = 415)))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
    kind: web::Path<String>,
    query: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let kind = Kind::parse(&kind).ok_or(ApiError::NotFound)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/csv")
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    let mut file = tempfile::tempfile().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::PayloadTooLarge)?;
        size += chunk.len() as u64;
        if size > MAX_IMPORT_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        digest.update(&chunk);
        file.write_all(&chunk)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    file.rewind()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut fingerprint = format!(
        "{:?} partial={} profile={:?} ",
        digest.finish(),
        query.partial,
        query.webhook_profile_id
    )
    .into_bytes();
    fingerprint.extend_from_slice(req.query_string().as_bytes());

    let state = state.get_ref().clone();
    let tenant = m.tenant_id.clone();
    let query = query.into_inner();
    idempotency::run(&state, &tenant, &req, &fingerprint, || async {
        let (store, t, partial) = (state.store.clone(), tenant.clone(), query.partial);
        let profile = query.webhook_profile_id.clone();
        let outcome =
            web::block(move || import(&store, &t, kind, partial, profile.as_deref(), file))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??;
        state.events_written();
        answer(kind, outcome)
    })
    .await
}

/// Imports `input` as a CSV of `kind` for `tenant` in one write transaction (blocking: run it
/// off the async workers). The outer error is the request's (an unknown webhook profile, the
/// database); the inner one says why the import wrote nothing.
pub fn import(
    store: &Store,
    tenant: &str,
    kind: Kind,
    partial: bool,
    profile: Option<&str>,
    input: impl std::io::Read,
) -> Result<Result<Report, ImportError>, ApiError> {
    store.read(|conn| {
        if let Some(p) = profile {
            WebhookProfile::find(conn, tenant, p).map_err(|e| match e {
                StoreError::NotFound => {
                    ApiError::field("webhook_profile_id", "Unknown webhook profile.")
                }
                e => e.into(),
            })?;
        }
        let target = Target {
            tenant_id: tenant,
            profile_id: profile,
        };
        Ok(tx::write(conn, |c| run(c, target, kind, partial, input)))
    })
}

/// The response for an import's outcome: the report (201), or why nothing was stored (400).
pub fn answer(
    kind: Kind,
    outcome: Result<Report, ImportError>,
) -> Result<(StatusCode, Value), ApiError> {
    match outcome {
        Ok(r) => Ok((
            StatusCode::CREATED,
            json!({"object": "import", "kind": kind.as_str(), "rows": r.rows, "imported": r.imported,
                   "failed": r.failed, "errors": r.errors.iter().map(RowError::to_json).collect::<Vec<_>>()}),
        )),
        Err(ImportError::Malformed(e)) => Ok((
            StatusCode::BAD_REQUEST,
            json!({"detail": "The file is not a valid CSV import; nothing was stored.", "code": "malformed_csv",
                   "errors": [e.to_json()]}),
        )),
        Err(ImportError::Rejected(r)) => Ok((
            StatusCode::BAD_REQUEST,
            json!({"detail": "The import has invalid rows; nothing was stored.", "code": "import_invalid",
                   "rows": r.rows, "failed": r.failed,
                   "errors": r.errors.iter().map(RowError::to_json).collect::<Vec<_>>()}),
        )),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

/// Reads `input` as a CSV of `kind` and writes its rows inside the caller's transaction; an
/// `Err` rolls the transaction back.
pub fn run(
    conn: &mut DbConnection,
    target: Target<'_>,
    kind: Kind,
    partial: bool,
    input: impl std::io::Read,
) -> Result<Report, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let headers = reader.headers().map_err(|e| malformed(0, &e))?.clone();
    check_header(kind, &headers)?;
    let mut report = Report::default();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(report.rows + 1, &e)),
        }
        report.rows += 1;
        let (row, line) = (report.rows, record.position().map_or(0, |p| p.line()));
        let fields = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let result = match kind {
            Kind::Leads => write_lead(conn, target, &fields, report.failed > 0 && !partial),
            Kind::Orders => write_order(conn, target, &fields, report.failed > 0 && !partial),
        };
        match result {
            Ok(()) => report.imported += 1,
            Err(Bad::Row(column, message)) => report.fail(RowError {
                row,
                line,
                column,
                message,
            }),
            Err(Bad::Store(e)) => return Err(e.into()),
        }
    }
    if report.failed > 0 && !partial {
        return Err(ImportError::Rejected(report));
    }
    Ok(report)
}

/// Why one row was not written.
enum Bad {
    Row(String, String),
    Store(StoreError),
}

fn malformed(row: u64, e: &csv::Error) -> ImportError {
    let line = e.position().map_or(0, |p| p.line());
    ImportError::Malformed(RowError {
        row,
        line,
        column: String::new(),
        message: e.to_string(),
    })
}

/// The header must hold every required column, no unknown and no repeated one.
fn check_header(kind: Kind, headers: &csv::StringRecord) -> Result<(), ImportError> {
    let (required, optional) = kind.columns();
    let bad = |column: &str, message: String| {
        ImportError::Malformed(RowError {
            row: 0,
            line: 1,
            column: column.to_owned(),
            message,
        })
    };
    for (i, h) in headers.iter().enumerate() {
        if !required.contains(&h) && !optional.contains(&h) {
            return Err(bad(
                h,
                format!(
                    "Unknown column; expected {}.",
                    [required, optional].concat().join(", ")
                ),
            ));
        }
        if headers.iter().take(i).any(|other| other == h) {
            return Err(bad(h, "Repeated column.".into()));
        }
    }
    for r in required {
        if !headers.iter().any(|h| h == *r) {
            return Err(bad(r, "Missing required column.".into()));
        }
    }
    Ok(())
}

/// Validates a lead row as a session's `lead` object; writes it unless `check_only`.
fn write_lead(
    conn: &mut DbConnection,
    target: Target<'_>,
    field: &dyn Fn(&str) -> String,
    check_only: bool,
) -> Result<(), Bad> {
    let (required, optional) = Kind::Leads.columns();
    let object: serde_json::Map<String, Value> = required
        .iter()
        .chain(optional)
        .map(|c| ((*c).to_owned(), Value::String(field(c))))
        .collect();
    let lead = NewLead::from_json(&Value::Object(object)).map_err(|errors| {
        let (column, messages) = errors.into_map().into_iter().next().unwrap_or_default();
        Bad::Row(column, messages.join(" "))
    })?;
    if check_only {
        return Ok(());
    }
    let row = LeadRow {
        email: lead.email,
        first_name: lead.first_name,
        last_name: lead.last_name,
        country: lead.country,
        address: lead.address,
        city: lead.city,
        postal_code: lead.postal_code,
        phone: lead.phone,
    };
    imports::import_lead(conn, target, row, now()).map_err(Bad::Store)?;
    Ok(())
}

/// Validates an order row (amount and currency as a charge's, a typed status); writes it
/// unless `check_only`. The lead must exist, so it is looked up even when only checking.
fn write_order(
    conn: &mut DbConnection,
    target: Target<'_>,
    field: &dyn Fn(&str) -> String,
    check_only: bool,
) -> Result<(), Bad> {
    let email = field("email");
    if !catalyst_domain::lead::is_valid_email(&email) {
        return Err(Bad::Row(
            "email".into(),
            "Enter a valid email address.".into(),
        ));
    }
    let cur =
        currency(&Value::String(field("currency"))).map_err(|m| Bad::Row("currency".into(), m))?;
    let amount_minor =
        amount(&Value::String(field("amount")), cur).map_err(|m| Bad::Row("amount".into(), m))?;
    let status: OrderStatus = field("status").parse().map_err(|_| {
        Bad::Row(
            "status".into(),
            catalyst_domain::validation::messages::invalid_choice(&field("status")),
        )
    })?;
    let row = OrderRow {
        email,
        amount_minor,
        currency: cur.code().to_owned(),
        status,
    };
    if check_only {
        return match imports::lead_exists(conn, target, &row.email) {
            Ok(true) => Ok(()),
            Ok(false) => Err(unknown_lead()),
            Err(e) => Err(Bad::Store(e)),
        };
    }
    match imports::import_order(
        conn,
        target,
        row,
        now(),
        &mut crate::sessions::new_order_number,
    ) {
        Ok(_) => Ok(()),
        Err(e) if imports::is_unknown_reference(&e) => Err(unknown_lead()),
        Err(e) => Err(Bad::Store(e)),
    }
}

fn unknown_lead() -> Bad {
    Bad::Row(
        "email".into(),
        "No lead of this tenant has this email.".into(),
    )
}
