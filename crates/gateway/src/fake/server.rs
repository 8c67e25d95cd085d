//! The fake's HTTP handlers and state.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::{FakeConfig, Terminal};
use crate::body::read_limited;
use crate::emp::transformers::{SignatureAlgorithm, notification_signature};
use crate::sandbox::{
    LaterOutcome, SandboxBehavior, behavior_for, recurring_behavior, refund_decline_reason,
};
use crate::util::{normalize_iban, random_hex32};
use crate::xml::Element;

const TESTMODE: &str = "TESTMODE: No real money will be transferred!";
const PER_PAGE: usize = 100;
const MAX_REQUESTS_KEPT: usize = 100;
const SALE_TYPES: [&str; 3] = ["sdd_sale", "sdd_init_recurring_sale", "sdd_recurring_sale"];

/// A transaction as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTransaction {
    /// The generated 32-hex id.
    pub unique_id: String,
    /// The terminal it ran on.
    pub terminal_token: String,
    /// `sdd_sale`, `sdd_init_recurring_sale`, `sdd_recurring_sale` or `sdd_refund`.
    pub transaction_type: String,
    /// The merchant's id.
    pub transaction_id: String,
    /// Current status.
    pub status: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The IBAN (sales and first debits; recurring debits inherit the first debit's).
    pub iban: Option<String>,
    /// `reference_id` (recurring debits and refunds).
    pub reference_id: Option<String>,
    /// Minor units refunded so far (debits).
    pub refunded: i64,
    /// The SEPA reason of a decline or chargeback.
    pub reason_code: Option<String>,
    /// The Genesis error code of a transaction recorded with status `error` (a refund over
    /// the amount, 440; an unknown reference, 410; …).
    pub error_code: Option<u16>,
    /// Where notifications go.
    pub notification_url: Option<String>,
    /// `redirect_url` of a verification flow.
    pub redirect_url: Option<String>,
    /// When it was created.
    pub timestamp: DateTime<Utc>,
    usage: String,
    return_success_url: Option<String>,
    return_failure_url: Option<String>,
    /// What completing the verification yields: `None` approve, `Some(reason)` decline.
    verify_result: Option<Option<&'static str>>,
    later: Option<LaterOutcome>,
    /// The `technical_message` of an `error` transaction.
    error_message: Option<String>,
}

/// One notification and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// The transaction.
    pub unique_id: String,
    /// The status notified.
    pub status: String,
    /// The receiver.
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Whether the receiver echoed the `unique_id`.
    pub echoed: bool,
    /// The form body sent.
    pub body: String,
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The request path.
    pub path: String,
    /// The Basic-auth user, if any.
    pub username: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `X-Request-Id` header (the API request the call serves).
    pub request_id: Option<String>,
    /// The body.
    pub body: String,
}

#[derive(Default)]
struct Store {
    transactions: HashMap<String, FakeTransaction>,
    /// (terminal token, transaction_id) → unique_id
    by_transaction_id: HashMap<(String, String), String>,
    /// unique_ids in creation order
    order: Vec<String>,
    /// reference_id → how many recurring sales were recorded under it (not counting errors)
    renewals: HashMap<String, u32>,
    notifications: Vec<NotificationRecord>,
    requests: VecDeque<ReceivedRequest>,
}

pub(crate) struct Shared {
    me: Weak<Shared>,
    pub(crate) terminals: Vec<Terminal>,
    delay_ms: AtomicU64,
    base_url: String,
    notification_attempts: u32,
    notification_interval: Duration,
    notification_delay: Duration,
    store: Mutex<Store>,
    http: reqwest::Client,
}

impl Shared {
    pub(crate) fn new(config: FakeConfig, addr: SocketAddr) -> Arc<Shared> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // Notifications may be sent from different runtimes: keep no pooled connections.
            .pool_max_idle_per_host(0)
            .user_agent("catalyst-fake-genesis")
            .build()
            .expect("the notification client can be built");
        Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            terminals: config.terminals,
            delay_ms: AtomicU64::new(duration_ms(config.delay)),
            base_url: config
                .public_url
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| format!("http://{addr}")),
            notification_attempts: config.notification_attempts.max(1),
            notification_interval: config.notification_interval,
            notification_delay: config.notification_delay,
            store: Mutex::new(Store::default()),
            http,
        })
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(duration_ms(delay), Ordering::Relaxed);
    }

    pub(crate) fn transactions(&self) -> Vec<FakeTransaction> {
        let store = self.store();
        store
            .order
            .iter()
            .filter_map(|id| store.transactions.get(id).cloned())
            .collect()
    }

    pub(crate) fn notifications(&self) -> Vec<NotificationRecord> {
        self.store().notifications.clone()
    }

    pub(crate) fn requests(&self) -> Vec<ReceivedRequest> {
        self.store().requests.iter().cloned().collect()
    }

    fn password_of(&self, token: &str) -> Option<String> {
        self.terminals
            .iter()
            .find(|t| t.token == token)
            .map(|t| t.password.clone())
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn build(
    shared: Arc<Shared>,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(shared);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .service(
                web::resource(["/process/{token}", "/process/{token}/"])
                    .route(web::post().to(process)),
            )
            .service(
                web::resource(["/reconcile/by_date/{token}", "/reconcile/by_date/{token}/"])
                    .route(web::post().to(reconcile_by_date)),
            )
            .service(
                web::resource(["/reconcile/{token}", "/reconcile/{token}/"])
                    .route(web::post().to(reconcile)),
            )
            .service(web::resource("/__fake/redirect/{unique_id}").route(web::get().to(redirect)))
            .service(
                web::resource("/__fake/delay")
                    .route(web::post().to(set_delay))
                    .route(web::get().to(get_delay)),
            )
            .service(web::resource("/__fake/settle").route(web::post().to(settle_route)))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn xml_response(status: StatusCode, body: &Element) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/xml; charset=utf-8")
        .body(body.to_document())
}

/// A `payment_response` with status error.
fn error_element(code: u16, technical_message: &str, message: &str) -> Element {
    let mut e = Element::new("payment_response");
    e.push_leaf("status", "error");
    e.push_leaf("code", code.to_string());
    e.push_leaf("technical_message", technical_message);
    e.push_leaf("message", message);
    e
}

/// The code, technical message and customer message of a Genesis error.
fn error_texts(code: u16, technical_message: &str) -> (u16, &str, &'static str) {
    let message = match code {
        300..=399 => "Please check input data for errors!",
        400..=499 => "Transaction could not be processed!",
        _ => "Something went wrong, please contact support!",
    };
    (code, technical_message, message)
}

fn error(code: u16, technical_message: &str) -> HttpResponse {
    let (code, technical_message, message) = error_texts(code, technical_message);
    xml_response(
        StatusCode::OK,
        &error_element(code, technical_message, message),
    )
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"Web Password\""))
        .content_type("application/xml; charset=utf-8")
        .body(
            error_element(
                110,
                "Invalid Authentication",
                "401 Unauthorized: Invalid Authentication!",
            )
            .to_document(),
        )
}

fn transaction_element(tx: &FakeTransaction) -> Element {
    let mut e = Element::new("payment_response");
    e.push_leaf("transaction_type", &tx.transaction_type);
    e.push_leaf("status", &tx.status);
    if let Some(code) = tx.error_code {
        let (_, technical, message) = error_texts(code, tx.error_message.as_deref().unwrap_or(""));
        e.push_leaf("code", code.to_string());
        e.push_leaf("technical_message", technical);
        e.push_leaf("message", message);
    } else if let Some(reason) = &tx.reason_code {
        let meaning =
            catalyst_sepa::ReasonCode::parse(reason).map_or("unknown reason", |r| r.meaning());
        let (code, technical) = if tx.status == "chargebacked" {
            (None, format!("Chargeback {reason}: {meaning}"))
        } else {
            (
                Some("500"),
                format!("Declined by the debtor bank: {reason} {meaning}"),
            )
        };
        if let Some(code) = code {
            e.push_leaf("code", code);
        }
        e.push_leaf("reason_code", reason);
        e.push_leaf("technical_message", technical);
        e.push_leaf("message", "Transaction declined.");
    } else {
        e.push_leaf("message", TESTMODE);
        e.push_leaf("technical_message", TESTMODE);
    }
    e.push_leaf("unique_id", &tx.unique_id);
    e.push_leaf("transaction_id", &tx.transaction_id);
    // Reference transactions echo the reference they were found under.
    if let Some(reference) = &tx.reference_id
        && matches!(
            tx.transaction_type.as_str(),
            "sdd_refund" | "sdd_recurring_sale"
        )
        && tx.error_code != Some(410)
    {
        e.push_leaf("reference_transaction_unique_id", reference);
    }
    if let Some(url) = tx
        .redirect_url
        .as_deref()
        .filter(|_| tx.status == "pending_async")
    {
        e.push_leaf("redirect_url", url);
    }
    e.push_leaf("mode", "test");
    e.push_leaf(
        "timestamp",
        tx.timestamp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    e.push_leaf("descriptor", "Catalyst fake Genesis");
    e.push_leaf("amount", tx.amount.to_string());
    e.push_leaf("currency", &tx.currency);
    e.push_leaf("sent_to_acquirer", (tx.status != "declined").to_string());
    e
}

// ---------------------------------------------------------------------------------------------
// Request checks shared by every Genesis route
// ---------------------------------------------------------------------------------------------

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Auth, terminal, content type and XML: the parsed root, or the error answer.
fn admit(
    shared: &Shared,
    req: &HttpRequest,
    token: &str,
    body: &web::Bytes,
    root_name: &str,
) -> Result<Element, Box<HttpResponse>> {
    let credentials = basic_credentials(req.headers());
    {
        let mut store = shared.store();
        if store.requests.len() >= MAX_REQUESTS_KEPT {
            store.requests.pop_front();
        }
        let header_text = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        store.requests.push_back(ReceivedRequest {
            path: req.path().to_owned(),
            username: credentials.as_ref().map(|(u, _)| u.clone()),
            content_type: header_text(header::CONTENT_TYPE),
            user_agent: header_text(header::USER_AGENT),
            request_id: header_text(header::HeaderName::from_static(
                crate::trace::REQUEST_ID_HEADER,
            )),
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }
    let Some((user, password)) = credentials else {
        return Err(Box::new(unauthorized()));
    };
    if !shared
        .terminals
        .iter()
        .any(|t| t.username == user && t.password == password)
    {
        return Err(Box::new(unauthorized()));
    }
    if !shared
        .terminals
        .iter()
        .any(|t| t.token == token && t.username == user)
    {
        return Err(Box::new(error(220, "Invalid Terminal")));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("text/xml") {
        return Err(Box::new(error(
            360,
            "Missing or invalid content type: should be text/xml!",
        )));
    }
    let text =
        std::str::from_utf8(body).map_err(|_| Box::new(error(350, "Invalid XML: not UTF-8")))?;
    let root =
        Element::parse(text).map_err(|e| Box::new(error(350, &format!("Invalid XML: {}", e.0))))?;
    if root.name != root_name {
        return Err(Box::new(error(
            350,
            &format!("Invalid XML: expected <{root_name}>, got <{}>", root.name),
        )));
    }
    Ok(root)
}

struct Invalid(u16, String);

fn required<'a>(e: &'a Element, name: &str, label: &str) -> Result<&'a str, Invalid> {
    e.text_of(name)
        .ok_or_else(|| Invalid(320, format!("'{label}' is missing!")))
}

fn check(ok: bool, code: u16, message: impl FnOnce() -> String) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(Invalid(code, message()))
    }
}

fn invalid_format(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("'{name}' has invalid format")
}

/// The fields common to every SDD transaction.
struct Common {
    transaction_id: String,
    usage: String,
    amount: i64,
    currency: String,
    notification_url: Option<String>,
}

fn common(tx: &Element) -> Result<Common, Invalid> {
    let transaction_id = required(tx, "transaction_id", "transaction_id")?;
    check(
        transaction_id.chars().count() <= 255,
        330,
        invalid_format("transaction_id"),
    )?;
    let usage = required(tx, "usage", "usage")?;
    let remote_ip = required(tx, "remote_ip", "remote_ip")?;
    check(
        remote_ip.parse::<IpAddr>().is_ok(),
        330,
        invalid_format("remote_ip"),
    )?;
    let amount = required(tx, "amount", "amount")?;
    let amount = amount
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| amount.parse::<i64>().ok())
        .flatten()
        .filter(|a| *a > 0)
        .ok_or_else(|| Invalid(330, "'amount' has invalid format".into()))?;
    let currency = required(tx, "currency", "currency")?;
    check(currency == "EUR", 340, || {
        format!("'currency' {currency} is not supported for SEPA Direct Debit")
    })?;
    let notification_url = tx.text_of("notification_url").map(str::to_owned);
    if let Some(url) = &notification_url {
        check(
            url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
            330,
            invalid_format("notification_url"),
        )?;
    }
    Ok(Common {
        transaction_id: transaction_id.to_owned(),
        usage: usage.to_owned(),
        amount,
        currency: currency.to_owned(),
        notification_url,
    })
}

/// IBAN, BIC and billing address of a sale or first debit.
fn bank_details(tx: &Element, address_required: bool) -> Result<String, Invalid> {
    let iban = normalize_iban(required(tx, "iban", "iban")?);
    check(
        iban.len() <= 34
            && iban.len() > 4
            && iban.bytes().take(2).all(|b| b.is_ascii_uppercase())
            && iban.bytes().all(|b| b.is_ascii_alphanumeric()),
        330,
        invalid_format("iban"),
    )?;
    check(catalyst_sepa::validate(&iban).is_ok(), 340, || {
        "'iban' is invalid".into()
    })?;
    if let Some(bic) = tx.text_of("bic") {
        check(
            matches!(bic.len(), 8 | 11) && bic.bytes().all(|b| b.is_ascii_alphanumeric()),
            330,
            invalid_format("bic"),
        )?;
    }
    match tx.get("billing_address") {
        None if address_required => {
            return Err(Invalid(320, "'billing_address' is missing!".into()));
        }
        None => {}
        Some(address) => {
            required(address, "first_name", "billing_address[first_name]")?;
            required(address, "last_name", "billing_address[last_name]")?;
            let country = required(address, "country", "billing_address[country]")?;
            check(
                country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()),
                330,
                invalid_format("billing_address[country]"),
            )?;
        }
    }
    Ok(iban)
}

fn token_of(path: &web::Path<String>) -> String {
    path.as_str().to_owned()
}

// ---------------------------------------------------------------------------------------------
// /process
// ---------------------------------------------------------------------------------------------

enum Processed {
    /// Recorded: answer with the transaction after the delay, then notify.
    Transaction(Box<FakeTransaction>),
    /// Answer this now (after the delay); nothing recorded.
    Answer(HttpResponse),
}

async fn process(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let token = token_of(&path);
    let root = match admit(&shared, &req, &token, &body, "payment_transaction") {
        Ok(root) => root,
        Err(response) => return *response,
    };
    let processed = match handle_transaction(&shared, &token, &root) {
        Ok(p) => p,
        Err(Invalid(code, message)) => Processed::Answer(error(code, &message)),
    };
    let delay = shared.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match processed {
        Processed::Answer(response) => response,
        Processed::Transaction(tx) => {
            if tx.error_code.is_none() {
                notify(&shared, &tx);
            }
            xml_response(StatusCode::OK, &transaction_element(&tx))
        }
    }
}

fn handle_transaction(shared: &Shared, token: &str, root: &Element) -> Result<Processed, Invalid> {
    let transaction_type = required(root, "transaction_type", "transaction_type")?;
    if !SALE_TYPES.contains(&transaction_type) && transaction_type != "sdd_refund" {
        return Err(Invalid(
            310,
            format!("Invalid transaction type: {transaction_type}"),
        ));
    }
    let common = common(root)?;
    let iban = match transaction_type {
        "sdd_sale" => Some(bank_details(root, true)?),
        "sdd_init_recurring_sale" => Some(bank_details(root, false)?),
        _ => {
            required(root, "reference_id", "reference_id")?;
            None
        }
    };
    let reference_id = root.text_of("reference_id").map(str::to_owned);
    let behavior = iban.as_deref().map(behavior_for);
    if behavior == Some(SandboxBehavior::Unreachable) {
        return Ok(Processed::Answer(unavailable()));
    }

    let mut store = shared.store();
    let key = (token.to_owned(), common.transaction_id.clone());
    if store.by_transaction_id.contains_key(&key) {
        return Err(Invalid(
            450,
            "Transaction with this transaction_id already exists!".into(),
        ));
    }
    let unique_id = random_hex32();
    let mut tx = FakeTransaction {
        unique_id: unique_id.clone(),
        terminal_token: token.to_owned(),
        transaction_type: transaction_type.to_owned(),
        transaction_id: common.transaction_id,
        status: "approved".to_owned(),
        amount: common.amount,
        currency: common.currency,
        iban,
        reference_id: reference_id.clone(),
        refunded: 0,
        reason_code: None,
        error_code: None,
        notification_url: common.notification_url,
        redirect_url: None,
        timestamp: Utc::now(),
        usage: common.usage,
        return_success_url: root.text_of("return_success_url").map(str::to_owned),
        return_failure_url: root.text_of("return_failure_url").map(str::to_owned),
        verify_result: None,
        later: None,
        error_message: None,
    };
    let redirect_url = format!("{}/__fake/redirect/{unique_id}", shared.base_url);
    match (behavior, reference_id) {
        (Some(behavior), _) => apply(&mut tx, behavior, redirect_url),
        (None, Some(reference)) if transaction_type == "sdd_refund" => {
            if let Err(Invalid(code, message)) = refund_of(&mut store, token, &reference, &mut tx) {
                record_error(&mut tx, code, message);
            }
        }
        (None, Some(reference)) => match recurring_under(&store, token, &reference, &mut tx) {
            // Like a sale from that IBAN: nothing recorded.
            Ok(SandboxBehavior::Unreachable) => return Ok(Processed::Answer(unavailable())),
            Ok(behavior) => {
                *store.renewals.entry(reference).or_default() += 1;
                apply(&mut tx, behavior, redirect_url);
            }
            Err(Invalid(code, message)) => record_error(&mut tx, code, message),
        },
        (None, None) => unreachable!("reference types require reference_id"),
    }
    store.by_transaction_id.insert(key, unique_id.clone());
    store.order.push(unique_id.clone());
    store.transactions.insert(unique_id, tx.clone());
    Ok(Processed::Transaction(Box::new(tx)))
}

/// The answer of the unreachable IBAN.
fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type("text/html; charset=utf-8")
        .body("<html><body><h1>503 Service Unavailable</h1></body></html>")
}

/// Sets the status of a new sale or recurring sale by the sandbox behaviour of its IBAN.
fn apply(tx: &mut FakeTransaction, behavior: SandboxBehavior, redirect_url: String) {
    match behavior {
        SandboxBehavior::Approve
        | SandboxBehavior::Unreachable
        | SandboxBehavior::RefundDeclined { .. }
        | SandboxBehavior::FirstRenewalDeclined { .. } => {}
        SandboxBehavior::Decline { reason } => {
            tx.status = "declined".to_owned();
            tx.reason_code = Some(reason.to_owned());
        }
        SandboxBehavior::Verify { decline } => {
            tx.status = "pending_async".to_owned();
            tx.redirect_url = Some(redirect_url);
            tx.verify_result = Some(decline);
        }
        SandboxBehavior::ApproveThenLater(later) => tx.later = Some(later),
    }
}

/// A reference transaction refused on its reference (`GENESIS.md` §3 "transaction-level
/// error"): recorded with status `error` and the code, so reconcile finds it.
fn record_error(tx: &mut FakeTransaction, code: u16, message: String) {
    tx.status = "error".to_owned();
    tx.error_code = Some(code);
    tx.error_message = Some(message);
}

/// Checks an `sdd_refund` of `reference` and applies it: approved (the original's refunded
/// amount grows), or declined by the bank for the refund-decline IBAN.
fn refund_of(
    store: &mut Store,
    token: &str,
    reference: &str,
    tx: &mut FakeTransaction,
) -> Result<(), Invalid> {
    let original = store
        .transactions
        .get_mut(reference)
        .filter(|o| o.terminal_token == token)
        .ok_or_else(|| Invalid(410, "Reference transaction not found!".into()))?;
    check(
        SALE_TYPES.contains(&original.transaction_type.as_str()),
        420,
        || "Reference transaction cannot be refunded".into(),
    )?;
    check(
        matches!(original.status.as_str(), "approved" | "refunded"),
        400,
        || format!("Cannot refund a transaction in status {}", original.status),
    )?;
    check(
        tx.amount <= original.amount - original.refunded,
        440,
        || "amount exceeds amount of reference transaction".into(),
    )?;
    if let Some(reason) = original.iban.as_deref().and_then(refund_decline_reason) {
        tx.status = "declined".to_owned();
        tx.reason_code = Some(reason.to_owned());
    } else {
        original.refunded += tx.amount;
        original.status = "refunded".to_owned();
    }
    Ok(())
}

/// Checks an `sdd_recurring_sale` under `reference`, gives it the first debit's IBAN and
/// returns what the sandbox rules make of it ([`recurring_behavior`]).
fn recurring_under(
    store: &Store,
    token: &str,
    reference: &str,
    tx: &mut FakeTransaction,
) -> Result<SandboxBehavior, Invalid> {
    let original = store
        .transactions
        .get(reference)
        .filter(|o| o.terminal_token == token)
        .ok_or_else(|| Invalid(410, "Reference transaction not found!".into()))?;
    check(
        matches!(
            original.transaction_type.as_str(),
            "sdd_init_recurring_sale" | "sdd_recurring_sale"
        ),
        420,
        || "Reference transaction is not a recurring initial transaction".into(),
    )?;
    check(
        matches!(original.status.as_str(), "approved" | "refunded"),
        400,
        || format!("Reference transaction is in status {}", original.status),
    )?;
    tx.iban = original.iban.clone();
    let earlier = store.renewals.get(reference).copied().unwrap_or(0);
    Ok(tx.iban.as_deref().map_or(SandboxBehavior::Approve, |iban| {
        recurring_behavior(iban, earlier)
    }))
}

// ---------------------------------------------------------------------------------------------
// /reconcile
// ---------------------------------------------------------------------------------------------

async fn reconcile(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let token = token_of(&path);
    let root = match admit(&shared, &req, &token, &body, "reconcile") {
        Ok(root) => root,
        Err(response) => return *response,
    };
    let store = shared.store();
    let found = if let Some(unique_id) = root.text_of("unique_id") {
        store.transactions.get(unique_id)
    } else if let Some(transaction_id) = root.text_of("transaction_id") {
        store
            .by_transaction_id
            .get(&(token.clone(), transaction_id.to_owned()))
            .and_then(|id| store.transactions.get(id))
    } else if root.text_of("arn").is_some() {
        None
    } else {
        return error(320, "'unique_id', 'transaction_id' or 'arn' is missing!");
    };
    match found.filter(|tx| tx.terminal_token == token) {
        Some(tx) => xml_response(StatusCode::OK, &transaction_element(tx)),
        None => error(460, "Transaction with the given unique ID cannot be found!"),
    }
}

fn parse_date(text: &str, end: bool) -> Option<NaiveDateTime> {
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(dt);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    if end {
        date.and_hms_opt(23, 59, 59)
    } else {
        date.and_hms_opt(0, 0, 0)
    }
}

async fn reconcile_by_date(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let token = token_of(&path);
    let root = match admit(&shared, &req, &token, &body, "reconcile") {
        Ok(root) => root,
        Err(response) => return *response,
    };
    let Some(start) = root.text_of("start_date") else {
        return error(320, "'start_date' is missing!");
    };
    let Some(start) = parse_date(start, false) else {
        return error(340, "start_date has an invalid format");
    };
    let end = match root.text_of("end_date") {
        None => None,
        Some(text) => match parse_date(text, true) {
            Some(end) => Some(end),
            None => return error(340, "end_date has an invalid format"),
        },
    };
    let page: usize = match root.text_of("page").map(str::parse) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => return error(340, "page has an invalid format"),
    };
    let store = shared.store();
    let matching: Vec<&FakeTransaction> = store
        .order
        .iter()
        .filter_map(|id| store.transactions.get(id))
        .filter(|tx| tx.terminal_token == token)
        .filter(|tx| {
            let at = tx.timestamp.naive_utc();
            at >= start && end.is_none_or(|end| at <= end)
        })
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(PER_PAGE);
    let mut list = Element::new("payment_responses");
    list.attributes = vec![
        ("per_page".into(), PER_PAGE.to_string()),
        ("page".into(), page.to_string()),
        ("total_count".into(), total.to_string()),
        ("pages_count".into(), pages.to_string()),
    ];
    list.children = matching
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(transaction_element)
        .collect();
    xml_response(StatusCode::OK, &list)
}

// ---------------------------------------------------------------------------------------------
// Test controls: verification, delay, settle
// ---------------------------------------------------------------------------------------------

/// Completes a verification flow; returns the status and where to send the customer.
pub(crate) fn complete_verification(
    shared: &Shared,
    unique_id: &str,
) -> Option<(String, Option<String>)> {
    let mut store = shared.store();
    let tx = store.transactions.get_mut(unique_id)?;
    let mut changed = None;
    if let Some(result) = tx.verify_result.take() {
        match result {
            None => tx.status = "approved".to_owned(),
            Some(reason) => {
                tx.status = "declined".to_owned();
                tx.reason_code = Some(reason.to_owned());
            }
        }
        changed = Some(tx.clone());
    }
    let back = if tx.status == "approved" {
        tx.return_success_url.clone()
    } else {
        tx.return_failure_url.clone()
    };
    let status = tx.status.clone();
    drop(store);
    if let Some(tx) = changed {
        notify(shared, &tx);
    }
    Some((status, back))
}

async fn redirect(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    match complete_verification(&shared, path.as_str()) {
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("unknown transaction"),
        Some((_, Some(back))) => HttpResponse::Found()
            .insert_header((header::LOCATION, back))
            .finish(),
        Some((status, None)) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(format!(
                "<!doctype html><title>Fake bank</title><p>Direct debit mandate: {}.</p>",
                if status == "approved" {
                    "confirmed"
                } else {
                    "refused"
                }
            )),
    }
}

async fn set_delay(shared: web::Data<Shared>, body: String) -> HttpResponse {
    match body.trim().parse::<u64>() {
        Ok(ms) => {
            shared.set_delay(Duration::from_millis(ms));
            HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body(format!("{ms}\n"))
        }
        Err(_) => HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("the body must be the delay in milliseconds\n"),
    }
}

async fn get_delay(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", duration_ms(shared.delay())))
}

pub(crate) fn settle(shared: &Shared) -> usize {
    let mut changed = Vec::new();
    {
        let mut store = shared.store();
        for tx in store.transactions.values_mut() {
            if let Some(later) = tx.later
                && tx.status == "approved"
            {
                tx.status = "chargebacked".to_owned();
                tx.reason_code = Some(later.reason.to_owned());
                tx.later = None;
                changed.push(tx.clone());
            }
        }
    }
    for tx in &changed {
        notify(shared, tx);
    }
    changed.len()
}

async fn settle_route(shared: web::Data<Shared>) -> HttpResponse {
    let n = settle(&shared);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(format!("{{\"settled\":{n}}}"))
}

// ---------------------------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------------------------

fn notification_body(tx: &FakeTransaction, password: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("transaction_id", &tx.transaction_id)
        .append_pair("unique_id", &tx.unique_id)
        .append_pair("transaction_type", &tx.transaction_type)
        .append_pair("terminal_token", &tx.terminal_token)
        .append_pair("status", &tx.status)
        .append_pair("amount", &tx.amount.to_string());
    if let Some(reason) = &tx.reason_code {
        form.append_pair("rc_code", reason);
        if let Some(code) = catalyst_sepa::ReasonCode::parse(reason) {
            form.append_pair("rc_description", code.meaning());
        }
        if tx.status == "chargebacked" {
            form.append_pair("event", "chargeback");
        }
    }
    form.append_pair(
        "signature",
        &notification_signature(&tx.unique_id, password, SignatureAlgorithm::Sha1),
    );
    form.finish()
}

/// Most bytes of a notification echo the fake reads; a longer answer is not an echo.
const MAX_ECHO_BYTES: usize = 64 * 1024;

/// Whether `body` is a `notification_echo` of `unique_id`.
fn is_echo(body: &str, unique_id: &str) -> bool {
    Element::parse(body).is_ok_and(|root| {
        root.name == "notification_echo" && root.text_of("unique_id") == Some(unique_id)
    })
}

/// Sends the notification of `tx`'s current status in the background, if it has a
/// `notification_url`.
fn notify(shared: &Shared, tx: &FakeTransaction) {
    let Some(url) = tx.notification_url.clone() else {
        return;
    };
    let Some(password) = shared.password_of(&tx.terminal_token) else {
        return;
    };
    let body = notification_body(tx, &password);
    let index = {
        let mut store = shared.store();
        store.notifications.push(NotificationRecord {
            unique_id: tx.unique_id.clone(),
            status: tx.status.clone(),
            url: url.clone(),
            attempts: 0,
            echoed: false,
            body: body.clone(),
        });
        store.notifications.len() - 1
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("fake Genesis: no runtime to send a notification on");
        return;
    };
    let http = shared.http.clone();
    let unique_id = tx.unique_id.clone();
    let attempts = shared.notification_attempts;
    let interval = shared.notification_interval;
    let first_delay = shared.notification_delay;
    // A weak reference: a stopped server's state is not kept alive by retries.
    let record = shared.me.clone();
    runtime.spawn(async move {
        tokio::time::sleep(first_delay).await;
        for attempt in 1..=attempts {
            let result = http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await;
            let echoed = match result {
                Ok(response) if response.status().is_success() => {
                    read_limited(response, MAX_ECHO_BYTES)
                        .await
                        .is_ok_and(|body| {
                            std::str::from_utf8(&body).is_ok_and(|text| is_echo(text, &unique_id))
                        })
                }
                Ok(_) | Err(_) => false,
            };
            if let Some(shared) = record.upgrade() {
                let mut store = shared.store();
                if let Some(n) = store.notifications.get_mut(index) {
                    n.attempts = attempt;
                    n.echoed = echoed;
                }
            }
            if echoed {
                return;
            }
            if attempt < attempts {
                tokio::time::sleep(interval).await;
            }
        }
        tracing::warn!(%unique_id, "fake Genesis: notification not echoed, giving up");
    });
}
