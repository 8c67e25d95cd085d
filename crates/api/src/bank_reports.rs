//! `POST /gateways/{gateway_id}/batches/imports/`: a BATCH gateway's bank reports — a
//! `pain.002` status report or a `camt.054` debit/credit notification — applied to the
//! collections of its batches (API.md §9.2, SEPA.md "Importing bank reports").
//!
//! The file is read by the `sepa` crate (kind told by the root namespace, errors with line and
//! column), its entries turned into [`catalyst_store::bank_reports::Entry`]s here (reason codes
//! mapped through the SEPA table), and applied by the store in one write transaction. The same
//! file twice (SHA-256) answers the first import's summary with `duplicate: true`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use catalyst_domain::{GatewayId, TenantId};
use catalyst_sepa::camt054::{CreditDebit, DebitCreditNotification};
use catalyst_sepa::pain002::{Status, StatusReason, StatusReport};
use catalyst_sepa::reasons::RType;
use catalyst_sepa::report::{self, BankReport};
use catalyst_sepa::{DeclineCode, FileError};
use catalyst_store::bank_reports::{
    self, Action, Entry, ImportSummary, Refusal, Report, ReportKind,
};
use catalyst_store::reversals::ReversalKind;
use catalyst_store::{Gateway, Store, StoreError, now};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::auth::Operator;
use crate::error::ApiError;
use crate::idempotency;
use crate::payment::decline_message;
use crate::schemas::ErrorBody;
use crate::schemas::settlement::{BankReportBadRequest, BankReportImport};
use crate::state::AppState;

/// Largest accepted report (the `sepa` readers' limit, 8 MiB).
pub const MAX_REPORT_BYTES: usize = report::MAX_REPORT_BYTES;

/// Why a report was not imported, besides the request's own errors.
#[derive(Debug)]
pub enum ImportError {
    /// The file is not a readable pain.002 or camt.054 document: nothing was changed.
    Unreadable(FileError),
}

/// The entries of a parsed report, with its kind and message id.
pub fn entries_of(report: &BankReport) -> (ReportKind, String, Vec<Entry>) {
    match report {
        BankReport::StatusReport(r) => (ReportKind::Pain002, r.message_id.clone(), pain002(r)),
        BankReport::Notification(n) => (ReportKind::Camt054, n.message_id.clone(), camt054(n)),
    }
}

fn refusal(reason: Option<&StatusReason>) -> Refusal {
    let sepa = reason.and_then(|r| r.reason);
    let code = sepa.map_or(DeclineCode::Unknown, |r| r.decline_code());
    Refusal {
        reason_code: reason.map(|r| r.code.clone()),
        description: sepa.map(|r| r.meaning().to_owned()),
        error_code: code.as_str().to_owned(),
        message: decline_message(code),
    }
}

/// pain.002: rejected (`RJCT`, `CANC`) → reject with the first reason; accepted (`ACCP`,
/// `ACSC`, `ACSP`, `ACWC`, `ACCC`) → settle; anything else (`ACTC` — only technically
/// valid —, `PDNG`, `RCVD`) → keep pending.
fn pain002(r: &StatusReport) -> Vec<Entry> {
    r.transactions()
        .into_iter()
        .map(|t| {
            let action = if t.status.is_rejected() {
                Action::Reject(refusal(t.reasons.first()))
            } else if t.status.is_accepted() && t.status != Status::TechnicalValidation {
                Action::Settle
            } else {
                Action::Keep
            };
            Entry {
                end_to_end_id: Some(t.original_end_to_end_id.clone()),
                amount_minor: t.original_amount_minor,
                currency: t.original_currency.clone(),
                action,
            }
        })
        .collect()
}

/// camt.054: only booked (`BOOK`) entries act. A debit or an entry with a return reason is an
/// R-transaction: a chargeback when its reason is a refund request (`MD06`, `MD01`: the
/// reason's R-types include refund), else a return. A credit settles the collection.
fn camt054(n: &DebitCreditNotification) -> Vec<Entry> {
    n.entries
        .iter()
        .map(|e| {
            let action = if e.status != "BOOK" {
                Action::Keep
            } else if e.return_reason.is_some() || e.credit_debit == CreditDebit::Debit {
                let reason = e.return_reason.as_ref();
                let refund = reason
                    .and_then(|r| r.reason)
                    .is_some_and(|r| r.r_types().contains(&RType::Refund));
                Action::Return {
                    kind: if refund {
                        ReversalKind::Chargeback
                    } else {
                        ReversalKind::Return
                    },
                    refusal: refusal(reason),
                }
            } else if e.reversal {
                Action::Keep
            } else {
                Action::Settle
            };
            Entry {
                end_to_end_id: e.end_to_end_id.clone(),
                amount_minor: Some(e.amount_minor),
                currency: Some(e.currency.clone()).filter(|c| !c.is_empty()),
                action,
            }
        })
        .collect()
}

/// The tenant's gateway `gateway_id`, which must be a BATCH gateway (404 when it is not the
/// tenant's, 400 when it has another adapter).
pub fn batch_gateway(
    store: &Store,
    tenant: &TenantId,
    gateway_id: &GatewayId,
) -> Result<Gateway, ApiError> {
    let gateway = store
        .read(|c| Gateway::find(c, tenant, gateway_id))
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound,
            e => e.into(),
        })?;
    if gateway.adapter != catalyst_gateway::batch::NAME {
        return Err(ApiError::field(
            "gateway_id",
            "Bank reports are imported for BATCH gateways only.",
        ));
    }
    Ok(gateway)
}

/// Reads `file` and applies it for the tenant's BATCH gateway in one write transaction
/// (blocking: run it off the async workers). The outer error is the request's (unknown
/// gateway, the database); the inner one says why nothing was changed.
pub fn import(
    store: &Store,
    tenant: &TenantId,
    gateway_id: &GatewayId,
    file: &[u8],
) -> Result<Result<ImportSummary, ImportError>, ApiError> {
    let gateway = batch_gateway(store, tenant, gateway_id)?;
    let parsed = match report::read(file) {
        Ok(r) => r,
        Err(e) => return Ok(Err(ImportError::Unreadable(e))),
    };
    let (kind, message_id, mut entries) = entries_of(&parsed);
    if let BankReport::StatusReport(r) = &parsed {
        if entries.is_empty() && r.group_status.as_ref().is_some_and(Status::is_rejected) {
            entries = whole_file_rejected(store, tenant, &gateway.id, r)?;
        } else {
            let blocks = blocks_rejected(store, tenant, &gateway.id, r)?;
            entries.extend(blocks);
        }
    }
    let digest = hex(ring::digest::digest(&ring::digest::SHA256, file).as_ref());
    let report = Report {
        tenant_id: tenant,
        gateway_id: &gateway.id,
        digest: &digest,
        kind,
        message_id: &message_id,
        entries: &entries,
    };
    Ok(Ok(store.read(|c| bank_reports::import(c, &report, now()))?))
}

/// A pain.002 that refuses the whole pain.008 file (`GrpSts` `RJCT` without transaction lines):
/// one reject, with the group's reason, per collection of the batch with that message id.
fn whole_file_rejected(
    store: &Store,
    tenant: &TenantId,
    gateway_id: &GatewayId,
    r: &StatusReport,
) -> Result<Vec<Entry>, ApiError> {
    let ids = store.read(|c| {
        bank_reports::batch_transaction_ids(c, tenant, gateway_id, &r.original_message_id)
    })?;
    Ok(ids
        .into_iter()
        .map(|id| Entry {
            end_to_end_id: Some(id),
            amount_minor: None,
            currency: None,
            action: Action::Reject(refusal(r.group_reasons.first())),
        })
        .collect())
}

/// The collections of payment information blocks a pain.002 refuses as a whole (`PmtInfSts`
/// `RJCT`, or no block status under a refused group) that it does not list one by one: which
/// collections a block held is read from the batch's own pain.008 file. One reject per
/// collection, with the block's first reason (else the group's).
fn blocks_rejected(
    store: &Store,
    tenant: &TenantId,
    gateway_id: &GatewayId,
    r: &StatusReport,
) -> Result<Vec<Entry>, ApiError> {
    let refused: Vec<_> = r
        .payments
        .iter()
        .filter(|p| {
            p.status
                .as_ref()
                .or(r.group_status.as_ref())
                .is_some_and(Status::is_rejected)
        })
        .collect();
    if refused.is_empty() {
        return Ok(Vec::new());
    }
    let Some(file) =
        store.read(|c| bank_reports::batch_file(c, tenant, gateway_id, &r.original_message_id))?
    else {
        // Not one of this gateway's files: the listed transactions (if any) are reported as
        // unknown by the import; there is nothing else to apply.
        return Ok(Vec::new());
    };
    let written = catalyst_sepa::pain008::blocks(&file).map_err(|e| {
        ApiError::Internal(format!("stored pain.008 of {}: {e}", r.original_message_id))
    })?;
    let mut entries = Vec::new();
    for p in refused {
        let Some(block) = written
            .iter()
            .find(|b| b.payment_information_id == p.original_payment_information_id)
        else {
            continue;
        };
        let reason = p.reasons.first().or(r.group_reasons.first());
        for id in &block.end_to_end_ids {
            if p.transactions
                .iter()
                .any(|t| &t.original_end_to_end_id == id)
            {
                continue;
            }
            entries.push(Entry {
                end_to_end_id: Some(id.clone()),
                amount_minor: None,
                currency: None,
                action: Action::Reject(refusal(reason)),
            });
        }
    }
    Ok(entries)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The summary as the API and the CLI show it.
pub fn summary_json(s: &ImportSummary) -> Value {
    json!({
        "object": "bank_report_import", "kind": s.kind, "message_id": s.message_id,
        "gateway_id": s.gateway_id, "digest": s.digest,
        "imported_at": s.imported_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "duplicate": s.duplicate, "entries": s.entries, "approved": s.approved, "declined": s.declined,
        "returned": s.returned, "chargebacks": s.chargebacks, "unknown": s.unknown,
        "unchanged": s.unchanged, "mismatched": s.mismatched,
        "unknown_end_to_end_ids": s.unknown_end_to_end_ids,
        "mismatches": s.mismatches.iter()
            .map(|m| json!({"end_to_end_id": m.end_to_end_id, "message": m.message}))
            .collect::<Vec<_>>(),
    })
}

/// The response for an import's outcome: 201 with the summary, 200 for a duplicate, 400
/// `malformed_bank_file` with the line and column of the problem.
pub fn answer(
    outcome: Result<ImportSummary, ImportError>,
) -> Result<(StatusCode, Value), ApiError> {
    match outcome {
        Ok(s) if s.duplicate => Ok((StatusCode::OK, summary_json(&s))),
        Ok(s) => Ok((StatusCode::CREATED, summary_json(&s))),
        Err(ImportError::Unreadable(FileError::TooLarge { .. })) => Err(ApiError::PayloadTooLarge),
        Err(ImportError::Unreadable(FileError::Malformed {
            line,
            column,
            message,
        })) => Ok((
            StatusCode::BAD_REQUEST,
            json!({"detail": "The file is not a readable pain.002 or camt.054 report; nothing was changed.",
                   "code": "malformed_bank_file",
                   "errors": [{"line": line, "column": column, "message": message}]}),
        )),
        Err(ImportError::Unreadable(other)) => Err(ApiError::Internal(other.to_string())),
    }
}

fn is_xml(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/xml" || m == "text/xml"
        })
        .unwrap_or(false)
}

/// `POST /api/v1/gateways/{gateway_id}/batches/imports/` (sk_).
#[utoipa::path(post, path = "/api/v1/gateways/{gateway_id}/batches/imports/", tag = "gateways",
    params(("gateway_id" = String, Path, description = "a BATCH gateway of the tenant")),
    request_body(content((String = "application/xml"), (String = "text/xml")),
        description = "a pain.002 status report or a camt.054 debit/credit notification, at most 8 MiB"),
    security(("bearer" = [])),
    responses((status = 201, body = BankReportImport, description = "The import summary (`duplicate: false`)"),
        (status = 200, body = BankReportImport, description = "The same file was imported before: the first import's summary with `duplicate: true`; nothing changed"),
        (status = 400, body = BankReportBadRequest, description = "malformed_bank_file (with line and column) / validation_error on `gateway_id` (not a BATCH gateway) or `Idempotency-Key`"),
        (status = 401, body = ErrorBody, description = "not_authenticated / authentication_failed"),
        (status = 403, body = ErrorBody, description = "permission_denied: not an `sk_` key"),
        (status = 404, body = ErrorBody, description = "not_found"),
        (status = 409, body = ErrorBody, description = "idempotency_key_in_use / idempotency_key_reused"),
        (status = 413, body = ErrorBody, description = "payload_too_large: over 8 MiB"),
        (status = 415, body = ErrorBody, description = "unsupported_media_type: not application/xml or text/xml")))]
pub async fn create(
    state: web::Data<AppState>,
    Operator(m): Operator,
    req: HttpRequest,
    gateway_id: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !is_xml(&req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::PayloadTooLarge)?;
        if body.len() + chunk.len() > MAX_REPORT_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let state = state.get_ref().clone();
    let tenant = m.tenant_id.clone();
    let gateway_id = gateway_id.into_inner();
    let mut fingerprint = gateway_id.clone().into_bytes();
    fingerprint.extend_from_slice(&body);
    idempotency::run(&state, &tenant, &req, &fingerprint, || async {
        let (store, t, g) = (
            state.store.clone(),
            tenant.clone(),
            GatewayId::from(gateway_id.as_str()),
        );
        let outcome = web::block(move || import(&store, &t, &g, &body))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
        state.events_written();
        answer(outcome)
    })
    .await
}
