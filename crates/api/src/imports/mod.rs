//! `POST /imports/{kind}/`: CSV imports of leads, orders, transactions and chargebacks
//! (API.md §12). The rules of each kind's rows are in [`rows`].
//!
//! The body (`text/csv`) is streamed to a temporary file, at most [`MAX_IMPORT_BYTES`], while
//! its SHA-256 is taken for the `Idempotency-Key` fingerprint; the file is then read row by row
//! with the `csv` crate inside one write transaction. So neither the body nor the rows are ever
//! held in memory, and an import without `?partial=true` is all or nothing: the first bad row
//! turns the transaction into a rollback (the remaining rows are still checked, so the answer
//! lists up to [`MAX_LISTED_ERRORS`] of them). Every error names its row (1 = the first row
//! after the header), the file line and the column.

use catalyst_domain::TenantId;
use std::io::{Seek, Write};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_store::imports::Target;
use catalyst_store::{Cipher, DbConnection, Store, StoreError, WebhookProfile, tx};
use futures_util::StreamExt;
use serde_json::{Value, json};

use catalyst_domain::validation::messages;

use crate::auth::Operator;
use crate::error::ApiError;
use crate::idempotency;
use crate::schemas::ErrorBody;
use crate::schemas::imports::{Import, ImportBadRequest, ImportKind, ImportUpload};
use crate::state::AppState;

mod rows;

/// Largest accepted import body.
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;
/// Most row errors listed in one answer (all are counted).
pub const MAX_LISTED_ERRORS: usize = 100;

/// What an import holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Leads,
    Orders,
    Transactions,
    Chargebacks,
}

impl Kind {
    /// `leads`, `orders`, `transactions` or `chargebacks`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "leads" => Some(Kind::Leads),
            "orders" => Some(Kind::Orders),
            "transactions" => Some(Kind::Transactions),
            "chargebacks" => Some(Kind::Chargebacks),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Leads => "leads",
            Kind::Orders => "orders",
            Kind::Transactions => "transactions",
            Kind::Chargebacks => "chargebacks",
        }
    }

    /// The columns a file may have, required ones first.
    fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::Leads => (
                &["email", "first_name", "last_name", "country"],
                &["address", "city", "postal_code", "phone"],
            ),
            Kind::Orders => (
                &["email", "amount", "currency", "status"],
                &["order_number"],
            ),
            Kind::Transactions => (
                &[
                    "order_number",
                    "gateway_id",
                    "iban",
                    "iban_holder_name",
                    "amount",
                    "currency",
                    "status",
                    "created_at",
                ],
                &[
                    "mandate_reference",
                    "mandate_signed_at",
                    "sequence_type",
                    "merchant_transaction_id",
                    "tenant_reference_id",
                    "gateway_reference",
                    "reason_code",
                ],
            ),
            Kind::Chargebacks => (
                &["merchant_transaction_id", "reason_code", "report_date"],
                &["amount", "currency", "kind"],
            ),
        }
    }
}

/// Query parameters.
#[derive(Debug, Default)]
pub struct ImportQuery {
    /// Store the good rows and report the bad ones.
    partial: bool,
    /// The webhook profile the `*.imported` events go to (none: recorded, not delivered).
    webhook_profile_id: Option<String>,
}

impl ImportQuery {
    /// Reads `partial` (`true` or `false`) and `webhook_profile_id`; any other parameter is a
    /// 400 `validation_error` naming it, like an unknown body field.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let mut out = ImportQuery::default();
        let mut errors = catalyst_domain::validation::ValidationErrors::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match (key.as_ref(), value.as_ref()) {
                ("partial", "true") => out.partial = true,
                ("partial", "false") => out.partial = false,
                ("partial", _) => errors.add("partial", "Must be true or false."),
                ("webhook_profile_id", id) => out.webhook_profile_id = Some(id.to_owned()),
                (other, _) => errors.add(other, "Unknown parameter."),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
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
    params(("kind" = ImportKind, Path),
        ("partial" = Option<bool>, Query, description = "store the good rows and report the bad ones (default false: all or nothing)"),
        ("webhook_profile_id" = Option<String>, Query, description = "the webhook profile the `*.imported` events go to")),
    request_body(content((String = "text/csv"), (ImportUpload = "multipart/form-data")),
        description = "The CSV file (at most 64 MiB), or a `multipart/form-data` upload with the file in the field `file`"),
    security(("bearer" = [])),
    responses((status = 201, body = Import, description = "What was stored; with `partial`, the bad rows in `errors`"),
        (status = 400, body = ImportBadRequest, description = "import_invalid (bad rows, nothing stored) / malformed_csv / validation_error on `file`, `webhook_profile_id` or `Idempotency-Key`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found: another kind in the path"),
        (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large: over 64 MiB"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type: neither text/csv nor multipart/form-data")))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
    kind: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let kind = Kind::parse(&kind).ok_or(ApiError::NotFound)?;
    let query = ImportQuery::parse(req.query_string())?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start()
        .to_ascii_lowercase();
    let spooled = if content_type.starts_with("text/csv") {
        spool(payload).await?
    } else if content_type.starts_with("multipart/form-data") {
        let mut form = actix_multipart::Multipart::new(req.headers(), payload);
        let mut spooled = None;
        // The other fields are read and dropped, within the same size limit.
        let mut ignored = 0u64;
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|e| ApiError::field("file", e.to_string()))?;
            if field.name() == Some("file") && spooled.is_none() {
                spooled = Some(spool(field).await?);
                continue;
            }
            while let Some(chunk) = field.next().await {
                ignored += chunk.map_err(|_| ApiError::PayloadTooLarge)?.len() as u64;
                if ignored > MAX_IMPORT_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
            }
        }
        spooled.ok_or_else(|| ApiError::field("file", messages::REQUIRED))?
    } else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let Spooled { file, digest } = spooled;
    let mut fingerprint = format!(
        "{:?} partial={} profile={:?} ",
        digest, query.partial, query.webhook_profile_id
    )
    .into_bytes();
    fingerprint.extend_from_slice(req.query_string().as_bytes());

    let state = state.get_ref().clone();
    let tenant = m.tenant_id.clone();
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

/// An uploaded file, written to an unnamed temporary file as it arrived.
struct Spooled {
    file: std::fs::File,
    digest: ring::digest::Digest,
}

/// Streams a body (or a multipart field) to a temporary file, at most [`MAX_IMPORT_BYTES`],
/// taking its SHA-256 on the way; rewound for reading.
async fn spool<S, E>(mut body: S) -> Result<Spooled, ApiError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>> + Unpin,
{
    let mut file = tempfile::tempfile().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
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
    Ok(Spooled {
        file,
        digest: digest.finish(),
    })
}

/// Imports `input` as a CSV of `kind` for `tenant` in one write transaction (blocking: run it
/// off the async workers). The outer error is the request's (an unknown webhook profile, the
/// database); the inner one says why the import wrote nothing.
pub fn import(
    store: &Store,
    tenant: &TenantId,
    kind: Kind,
    partial: bool,
    profile: Option<&str>,
    input: impl std::io::Read,
) -> Result<Result<Report, ImportError>, ApiError> {
    let profile = profile.map(catalyst_domain::WebhookProfileId::from);
    store.read(|conn| {
        if let Some(p) = &profile {
            WebhookProfile::find(conn, tenant, p).map_err(|e| match e {
                StoreError::NotFound => {
                    ApiError::field("webhook_profile_id", "Unknown webhook profile.")
                }
                e => e.into(),
            })?;
        }
        let target = Target {
            tenant_id: tenant,
            profile_id: profile.as_ref(),
        };
        Ok(tx::write(conn, |c| {
            run(c, store.cipher(), target, kind, partial, input)
        }))
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
    cipher: &Cipher,
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
        let check_only = report.failed > 0 && !partial;
        let result = match kind {
            Kind::Leads => rows::lead(conn, target, &fields, check_only),
            Kind::Orders => rows::order(conn, target, &fields, check_only),
            Kind::Transactions => rows::transaction(conn, cipher, target, &fields, check_only),
            Kind::Chargebacks => rows::chargeback(conn, target, &fields, check_only),
        };
        match result {
            Ok(()) => report.imported += 1,
            Err(rows::Bad::Row(column, message)) => report.fail(RowError {
                row,
                line,
                column,
                message,
            }),
            Err(rows::Bad::Store(e)) => return Err(e.into()),
        }
    }
    if report.failed > 0 && !partial {
        return Err(ImportError::Rejected(report));
    }
    Ok(report)
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
