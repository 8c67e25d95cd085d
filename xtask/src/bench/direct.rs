//! The in-process "direct" baselines: the SQL work of the API, done with the store's own diesel
//! queries on plain connections — no HTTP, no actix, no pool, no thread hop. Each of
//! `concurrency` threads owns one connection opened by `DatabaseUrl::connect` (same pragmas as
//! the server's pool) and repeats one [`Operation`]:
//!
//! * [`create_session`] (`bench sessions`), one transaction (`BEGIN IMMEDIATE` on SQLite,
//!   `BEGIN` on PostgreSQL, via `catalyst_store::tx::write`): `ApiKey::find_active_by_hash`,
//!   `Campaign::find`, `Gateway::find`, the newest lead of the tenant with the email (the REUSE
//!   lookup), insert lead, insert payment session and its payer, insert order, commit.
//! * [`create_and_pay`] (`bench pay`): the server's own sequence of store calls for
//!   `POST /payment-sessions/` then `POST /payment-sessions/{token}/pay/`, with the same
//!   transaction boundaries (two write transactions and the reads between them in
//!   autocommit), see there.
//!
//! The rows are built like the API builds them (UUID v7 ids, a fresh `ps_` token, `ORD-`
//! number, the campaign's offer and price).

use catalyst_domain::transaction::{SequenceType, TransactionKind};
use std::sync::{Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use catalyst_domain::token::SessionToken;
use catalyst_domain::{
    DuplicatePolicy, LeadId, Locale, OrderId, OrderStatus, SessionId, SessionMode, SessionStatus,
};
use catalyst_store::sandbox_ledger::SandboxEntry;
use catalyst_store::schema::{leads, session_payers};
use catalyst_store::session_pay::{ClaimError, PaymentDraft};
use catalyst_store::settlement::Settlement;
use catalyst_store::{
    ApiKey, Campaign, CreateSessionError, DatabaseUrl, DbConnection, Gateway, Lead, Mandate,
    NewTransaction, Order, PaymentSession, SessionPayer, StoreError, StoreResult, Transaction, now,
    tx,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::load::{Figures, percentile_ms};
use super::sys;

/// Which tenant, key and campaign the transactions use.
pub struct Target {
    pub url: DatabaseUrl,
    /// SHA-256 hex of the restricted key, as stored in `api_keys.key_hash`.
    pub key_hash: String,
    pub campaign_id: String,
}

/// One unit of work of a baseline: the connection, the target and a lead email that is new
/// for every call.
pub type Operation = fn(&mut DbConnection, &Target, &str) -> StoreResult<()>;

/// Runs `concurrency` threads that repeat `op` for `warmup` (not measured) and then `duration`.
/// An operation that fails with "database is locked" (SQLite: `BEGIN IMMEDIATE` waited longer
/// than `busy_timeout`) is counted in `Figures::failed` and the thread goes on; any other error
/// ends the run.
pub fn run(
    target: &Target,
    op: Operation,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    run_id: &str,
) -> Result<Figures> {
    let barrier = Barrier::new(concurrency);
    let start = OnceLock::new();
    let results: Mutex<Vec<Result<ThreadResult>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for thread in 0..concurrency {
            let (barrier, start, results) = (&barrier, &start, &results);
            scope.spawn(move || {
                let r = worker(target, op, thread, barrier, start, warmup, duration, run_id);
                results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
            });
        }
    });
    sys::check_interrupt()?;
    let mut latencies = Vec::new();
    let mut last = None::<Instant>;
    let mut failed = 0;
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let r = r?;
        failed += r.busy;
        latencies.extend(r.latencies_us);
        last = last.max(r.last_finish);
    }
    let measured_from = *start.get().context("no thread started")? + warmup;
    let window = last
        .map(|l| l.saturating_duration_since(measured_from))
        .unwrap_or_default()
        .as_secs_f64();
    latencies.sort_unstable();
    Ok(Figures {
        rate: if window > 0.0 {
            latencies.len() as f64 / window
        } else {
            0.0
        },
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        count: latencies.len() as u64,
        failed,
    })
}

struct ThreadResult {
    latencies_us: Vec<u64>,
    last_finish: Option<Instant>,
    /// Transactions that gave up with "database is locked".
    busy: u64,
}

fn is_busy(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(diesel::result::Error::DatabaseError(_, info))
        if info.message().contains("database is locked"))
}

#[allow(clippy::too_many_arguments)]
fn worker(
    target: &Target,
    op: Operation,
    thread: usize,
    barrier: &Barrier,
    start: &OnceLock<Instant>,
    warmup: Duration,
    duration: Duration,
    run_id: &str,
) -> Result<ThreadResult> {
    let connected = target.url.connect();
    // Every thread reaches the barrier, even one whose connection failed.
    barrier.wait();
    let mut conn = connected.map_err(|e| anyhow!("connecting to {}: {e}", target.url))?;
    let start = *start.get_or_init(Instant::now);
    let (measure_from, end) = (start + warmup, start + warmup + duration);
    let mut latencies_us = Vec::with_capacity(4096);
    let mut last_finish = None;
    let mut busy = 0;
    for n in 0u64.. {
        let began = Instant::now();
        if began >= end || sys::interrupted() {
            break;
        }
        let email = format!("direct-{run_id}-{thread}-{n}@example.com");
        let outcome = op(&mut conn, target, &email);
        let finished = Instant::now();
        match outcome {
            Ok(()) if began >= measure_from => {
                latencies_us.push((finished - began).as_micros() as u64);
                last_finish = Some(finished);
            }
            Ok(()) => {}
            // SQLite: BEGIN IMMEDIATE still found the database locked after busy_timeout.
            Err(e) if is_busy(&e) => {
                if began >= measure_from {
                    busy += 1;
                }
            }
            Err(e) => {
                return Err(anyhow!(e))
                    .with_context(|| format!("direct transaction on {}", target.url));
            }
        }
    }
    Ok(ThreadResult {
        latencies_us,
        last_finish,
        busy,
    })
}

/// The statements of one `POST /payment-sessions/` in campaign mode, in one write transaction
/// (the `bench sessions` baseline).
pub fn create_session(conn: &mut DbConnection, target: &Target, email: &str) -> StoreResult<()> {
    tx::write(conn, |c| -> StoreResult<()> {
        let key = ApiKey::find_active_by_hash(c, &target.key_hash)?.ok_or(StoreError::NotFound)?;
        let tenant = key.tenant_id;
        let campaign = Campaign::find(c, &tenant, &target.campaign_id.as_str().into())?;
        let gateway = Gateway::find(c, &tenant, &campaign.gateway_id)?;
        let existing: Option<Lead> = leads::table
            .filter(leads::tenant_id.eq(&tenant))
            .filter(leads::email_normalized.eq(email))
            .order(leads::id.desc())
            .select(Lead::as_select())
            .first(c)
            .optional()?;
        let at = now();
        let sent = new_lead(&tenant, email, at);
        let lead = match existing {
            Some(lead) => lead,
            None => {
                sent.insert(c)?;
                sent.clone()
            }
        };
        let session = new_session(&campaign, &gateway, &lead.id, at);
        session.insert(c)?;
        diesel::insert_into(session_payers::table)
            .values(&SessionPayer::sent(&session.id, &sent))
            .execute(c)?;
        new_order(&session, order_number(), at).insert(c)
    })
}

/// A lead as the API builds it from `{"first_name": "Ada", "last_name": "Lovelace", "email":
/// <email>, "country": "DE"}`.
pub fn new_lead(tenant: &str, email: &str, at: NaiveDateTime) -> Lead {
    Lead {
        id: LeadId::new(),
        tenant_id: tenant.into(),
        email: email.to_owned(),
        email_normalized: email.to_owned(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        country: "DE".into(),
        address: None,
        city: None,
        postal_code: None,
        phone: None,
        created_at: at,
        updated_at: at,
    }
}

/// A `PENDING` campaign-mode session as the API builds it (UUID v7 id, fresh `ps_` token, the
/// campaign's offer and price, 24 h expiry).
pub fn new_session(
    campaign: &Campaign,
    gateway: &Gateway,
    lead_id: &str,
    at: NaiveDateTime,
) -> PaymentSession {
    PaymentSession {
        id: SessionId::new(),
        tenant_id: campaign.tenant_id.clone(),
        token: SessionToken::generate().as_str().to_owned(),
        status: SessionStatus::Pending,
        mode: SessionMode::Payment,
        campaign_id: Some(campaign.id.clone()),
        gateway_id: gateway.id.clone(),
        hosted_page_id: campaign.hosted_page_id.clone(),
        webhook_profile_id: campaign.webhook_profile_id.clone(),
        lead_id: lead_id.into(),
        offer_snapshot: serde_json::json!({"name": campaign.offer_name,
            "product_name": campaign.product_name,
            "product_description": campaign.product_description})
        .to_string(),
        amount_minor: campaign.price_minor,
        currency: campaign.currency.clone(),
        billing_type: campaign.billing_type.clone(),
        billing_frequency: campaign.billing_frequency.clone(),
        trial_period: campaign.trial_period,
        trial_interval_unit: campaign.trial_interval_unit.clone(),
        trial_price_minor: campaign.trial_price_minor,
        offer_overrides: "{}".into(),
        max_payment_attempts: campaign.max_payment_attempts,
        attempts_used: 0,
        customer_id: None,
        external_customer_id: None,
        return_url: None,
        default_locale: Locale::for_country("DE").as_str().to_owned(),
        line_items: "[]".into(),
        metadata: "{}".into(),
        customer_ip: Some("127.0.0.1".into()),
        expires_at: at + chrono::Duration::seconds(86_400),
        version: 0,
        created_at: at,
        updated_at: at,
    }
}

/// The order of `session`, `PENDING_PAYMENT_SUBMISSION`.
pub fn new_order(session: &PaymentSession, order_number: String, at: NaiveDateTime) -> Order {
    Order {
        id: OrderId::new(),
        tenant_id: session.tenant_id.clone(),
        session_id: Some(session.id.clone()),
        lead_id: session.lead_id.clone(),
        order_number,
        status: OrderStatus::PendingPaymentSubmission,
        amount_minor: session.amount_minor,
        currency: session.currency.clone(),
        created_at: at,
        updated_at: at,
        customer_id: None,
        webhook_profile_id: None,
    }
}

/// One create-session + pay operation as the server runs it, store call by store call
/// (crates/api/src/sessions.rs `create`, crates/api/src/pay.rs `pay`), with the sandbox's
/// immediate approval in place of the gateway call:
///
/// 1. autocommit: `ApiKey::find_active_by_hash`, `Campaign::find`, `Gateway::find`;
/// 2. `catalyst_store::checkout::create_session` (REUSE): lead lookup, insert lead, session, order (retried
///    on a taken number), `order.created` into the outbox — one write transaction;
/// 3. `catalyst_store::session_pay::claim_and_settle` with the sandbox's immediate approval: session, order, lead
///    and gateway in one query, `PENDING → PAYMENT_IN_PROGRESS`, insert mandate and pending
///    transaction, order `PENDING`, `transaction.created`; the sandbox's `sandbox_ledger` row
///    (its lookup by transaction id left out); then from the claim's rows:
///    transaction approved, `transaction.status_changed`, session and order `COMPLETED`,
///    mandate `RCUR`, `payment_session.completed` — one write transaction. The envelope is
///    built from the rows it returned (no reads).
///
/// Left out: HTTP, JSON, the IBAN validation and the AES-GCM sealing of IBAN and holder (the
/// mandate gets fixed sealed-looking strings of the same length) and the opening of the holder
/// for the envelope.
pub fn create_and_pay(conn: &mut DbConnection, target: &Target, email: &str) -> StoreResult<()> {
    // 1. Authentication and the campaign-mode lookups (autocommit, like the handler).
    let key = ApiKey::find_active_by_hash(conn, &target.key_hash)?.ok_or(StoreError::NotFound)?;
    let tenant = key.tenant_id;
    let campaign = Campaign::find(conn, &tenant, &target.campaign_id.as_str().into())?;
    let gateway = Gateway::find(conn, &tenant, &campaign.gateway_id)?;
    // 2. Lead + session + order + order.created.
    let at = now();
    let lead = new_lead(&tenant, email, at);
    let session = new_session(&campaign, &gateway, "", at);
    let order = new_order(&session, order_number(), at);
    let created = catalyst_store::checkout::create_session(
        conn,
        lead,
        DuplicatePolicy::Reuse,
        session,
        order,
        order_number,
    )
    .map_err(|e| match e {
        CreateSessionError::Store(e) => e,
        CreateSessionError::DuplicateLead => StoreError::Corrupt("duplicate lead".into()),
    })?;
    let token = created.session.token;
    // 3. The claim, the sandbox's approval and its settlement.
    let reference = format!("sbx_{}", uuid::Uuid::new_v4().simple());
    let (_, settled) = catalyst_store::session_pay::claim_and_settle(
        conn,
        &token,
        now(),
        |s, o, l| Ok(payment_draft(s, o, l)),
        |c, claimed| {
            // The sandbox's record of the debit, as the adapter writes it.
            let t = claimed.transaction.as_ref().ok_or(StoreError::NotFound)?;
            SandboxEntry {
                transaction_id: t.merchant_transaction_id.clone(),
                reference: reference.clone(),
                is_refund: false,
                status: catalyst_domain::transaction::OutcomeStatus::Approved,
                verification_url: None,
                decline_code: None,
                gateway_code: None,
                gateway_message: None,
                verify_decline: None,
                amount_minor: t.amount_minor,
                refunded_minor: 0,
                test_iban: None,
                renewal_of: None,
                created_at: now(),
            }
            .insert(c)?;
            Ok::<_, ClaimError>(Some(Settlement::Approved { reference }))
        },
    )
    .map_err(|e| match e {
        ClaimError::Store(e) => e,
        other => StoreError::Corrupt(format!("claim: {other}")),
    })?;
    let settled = settled.ok_or_else(|| StoreError::Corrupt("nothing was debited".into()))?;
    if settled.session.status != SessionStatus::Completed {
        return Err(StoreError::Corrupt(format!(
            "session {} ended {}, not COMPLETED",
            settled.session.id, settled.session.status
        )));
    }
    Ok(())
}

/// A stuck debit, as a server leaves it that died between the gateway call and the outcome:
/// the session of [`create_and_pay`], claimed (`PAYMENT_IN_PROGRESS`, a `pending` transaction,
/// `transaction.created`) and never settled. Returns the transaction's merchant transaction id.
pub fn create_and_claim(
    conn: &mut DbConnection,
    target: &Target,
    email: &str,
) -> StoreResult<String> {
    let key = ApiKey::find_active_by_hash(conn, &target.key_hash)?.ok_or(StoreError::NotFound)?;
    let tenant = key.tenant_id;
    let campaign = Campaign::find(conn, &tenant, &target.campaign_id.as_str().into())?;
    let gateway = Gateway::find(conn, &tenant, &campaign.gateway_id)?;
    let at = now();
    let lead = new_lead(&tenant, email, at);
    let session = new_session(&campaign, &gateway, "", at);
    let order = new_order(&session, order_number(), at);
    let created = catalyst_store::checkout::create_session(
        conn,
        lead,
        DuplicatePolicy::Reuse,
        session,
        order,
        order_number,
    )
    .map_err(|e| match e {
        CreateSessionError::Store(e) => e,
        CreateSessionError::DuplicateLead => StoreError::Corrupt("duplicate lead".into()),
    })?;
    let claimed = catalyst_store::session_pay::claim_for_payment(
        conn,
        &created.session.token,
        now(),
        |s, o, l| Ok(payment_draft(s, o, l)),
    )
    .map_err(|e| match e {
        ClaimError::Store(e) => e,
        other => StoreError::Corrupt(format!("claim: {other}")),
    })?;
    claimed
        .transaction
        .map(|t| t.merchant_transaction_id)
        .ok_or_else(|| StoreError::Corrupt("nothing to debit".into()))
}

/// The mandate and pending transaction `pay.rs` drafts for a one-off payment with
/// DE89370400440532013000 (Commerzbank); the sealed values are fixed strings of the length
/// the real AES-GCM sealing produces.
fn payment_draft(session: &PaymentSession, order: &Order, lead: &Lead) -> PaymentDraft {
    let at = now();
    let mandate = Mandate {
        id: catalyst_domain::MandateId::new(),
        tenant_id: session.tenant_id.clone(),
        lead_id: lead.id.clone(),
        customer_id: None,
        reference: format!("MAND-{}", order.order_number),
        iban_sealed: SEALED_IBAN.into(),
        iban_last4: "3000".into(),
        iban_country: "DE".into(),
        bic: Some("COBADEFFXXX".into()),
        bank_name: Some("Commerzbank".into()),
        holder_sealed: SEALED_HOLDER.into(),
        sequence_type: SequenceType::First,
        signed_at: at,
        created_at: at,
        updated_at: at,
        iban_masked: "******************3000".into(),
        gateway_reference: None,
        revoked_at: None,
        mandate_text: Some("By signing this mandate form, you authorise (A) Demo".into()),
        mandate_locale: Some("en".into()),
    };
    let b = *uuid::Uuid::new_v4().as_bytes();
    let transaction = Transaction {
        session_id: Some(session.id.clone()),
        // 16 hex digits instead of the API's 8: no collision across a long benchmark.
        merchant_transaction_id: format!(
            "TXN-{}-{:016X}",
            at.format("%Y%m%d"),
            u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        ),
        ..Transaction::pending(
            NewTransaction {
                tenant_id: session.tenant_id.clone(),
                order_id: order.id.clone(),
                gateway_id: session.gateway_id.clone(),
                mandate_id: mandate.id.clone(),
                kind: TransactionKind::Sale,
                sequence_type: SequenceType::First,
                amount_minor: session.amount_minor,
                currency: session.currency.clone(),
            },
            at,
        )
    };
    PaymentDraft {
        mandate,
        transaction: Some(transaction),
        customer: None,
    }
}

/// Stand-ins for `Cipher::seal` output (base64 of nonce + ciphertext + tag) of the IBAN and of
/// "Ada Lovelace".
const SEALED_IBAN: &str = "gjW0gCVMvfsJdltyazacQE3gees6dN5qds1DcUtABQsKjzh/DKioN4Cvta3+QP7Fd/c=";
const SEALED_HOLDER: &str = "3V4Dt6x0794uPILAoLvo6lQ6W6OmoyU8e4IXmRx1CF0TfJ71q3RSKA==";

/// `ORD-` + 16 upper-case hex digits from a v4 UUID. The API uses 8 digits and retries on a
/// collision; with ~10^5 orders per benchmark database 8 digits collide a few times, so the
/// baseline uses 16 and needs no retry.
pub fn order_number() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!(
        "ORD-{:016X}",
        u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    )
}

/// Fails unless the key hash and campaign resolve (before any timed run).
pub fn check(target: &Target) -> Result<()> {
    let mut conn = target
        .url
        .connect()
        .map_err(|e| anyhow!("connecting to {}: {e}", target.url))?;
    let key = ApiKey::find_active_by_hash(&mut conn, &target.key_hash)
        .map_err(|e| anyhow!(e))?
        .context("the restricted key's hash is not in api_keys")?;
    if Campaign::find(
        &mut conn,
        &key.tenant_id,
        &target.campaign_id.as_str().into(),
    )
    .is_err()
    {
        bail!("campaign {} not found", target.campaign_id);
    }
    Ok(())
}
