//! Gateway adapters for Catalyst's SEPA Direct Debit payments.
//!
//! One trait, [`GatewayAdapter`], and two adapters behind it:
//!
//! - `SANDBOX` ([`sandbox::SandboxAdapter`]): in-process and deterministic; the test IBANs of
//!   `API.md` §8 give fixed outcomes ([`sandbox::SANDBOX_IBANS`]).
//! - `EMP` ([`emp::EmpAdapter`]): emerchantpay Genesis, XML over HTTPS (`GENESIS.md`). The HTTP
//!   plumbing lives in [`emp`]; building request XML and reading responses is the pure
//!   [`emp::transformers`] module.
//!
//! With the `fake` feature, [`fake`] is a small Genesis server (sandbox IBANs, reconcile,
//! refunds, signed notifications) for tests, demos and `catalyst fake-genesis`.
//!
//! Declines are data ([`GatewayOutcome::Declined`]); [`GatewayError`] is for integration
//! faults only. Every debit carries our transaction id as the gateway's idempotency key, and a
//! debit whose answer was lost (timeout, HTTP 5xx) is reconciled before an error is reported.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use catalyst_domain::money::{Currency, Money};
//! use catalyst_domain::secret::Secret;
//! use catalyst_gateway::{
//!     AdapterContext, DebitKind, DebitRequest, GatewayOutcome, GatewaySettings, MemoryLedger,
//!     build_adapter, http_client,
//!     outbound::TargetPolicy,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ctx = AdapterContext {
//!     http: http_client(Duration::from_secs(30)),
//!     public_url: "http://127.0.0.1:8080".into(),
//!     sandbox: Arc::new(MemoryLedger::new()),
//!     targets: Arc::new(TargetPolicy::allow_all()),
//! };
//! let adapter = build_adapter(&GatewaySettings::sandbox(), &ctx).unwrap();
//! let mut req = DebitRequest::example("TXN-20260411-0000ABCD");
//! req.iban = Some(Secret::new("DE91100000000123456789".into()));
//! match adapter.debit(&req).await.unwrap() {
//!     GatewayOutcome::Declined { code, gateway_code, .. } => {
//!         assert_eq!(code.as_str(), "insufficient_funds");
//!         assert_eq!(gateway_code.as_deref(), Some("AM04"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use catalyst_domain::money::{Currency, Money};
use catalyst_domain::secret::Secret;
use catalyst_sepa::DeclineCode;

pub mod batch;
pub mod body;
pub mod emp;
#[cfg(feature = "fake")]
pub mod fake;
pub mod outbound;
pub mod sandbox;
pub mod trace;
mod util;
pub mod xml;

pub use batch::{BatchAdapter, BatchCredentials};
pub use emp::EmpAdapter;
pub use sandbox::{
    LaterKind, LaterOutcome, MemoryLedger, SandboxAdapter, SandboxBackend, SandboxLedger,
    SandboxRecord, later_outcome,
};

/// Which SEPA debit to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitKind {
    /// A one-off debit (Genesis `sdd_sale`, sequence type OOFF).
    OneOff,
    /// The first collection of a recurring or customer-mode mandate (Genesis
    /// `sdd_init_recurring_sale`, FRST). Its reference is the `reference_id` of later
    /// [`DebitKind::Recurring`] debits.
    FirstRecurring,
    /// A later collection under a saved mandate (Genesis `sdd_recurring_sale`, RCUR).
    Recurring {
        /// The gateway reference (Genesis `unique_id`) of the first collection.
        reference_id: String,
    },
}

impl DebitKind {
    /// The Genesis transaction type for this kind.
    pub fn genesis_transaction_type(&self) -> &'static str {
        match self {
            DebitKind::OneOff => "sdd_sale",
            DebitKind::FirstRecurring => "sdd_init_recurring_sale",
            DebitKind::Recurring { .. } => "sdd_recurring_sale",
        }
    }
}

/// One debit, as the API hands it to an adapter.
#[derive(Debug, Clone)]
pub struct DebitRequest {
    /// Our transaction id (`TXN-YYYYMMDD-XXXXXXXX`): the gateway's idempotency key.
    pub transaction_id: String,
    /// One-off, first or recurring collection.
    pub kind: DebitKind,
    /// The amount (EUR for SEPA).
    pub amount: Money,
    /// The IBAN in electronic form. Required for one-off and first collections; optional for
    /// [`DebitKind::Recurring`], where `EMP` never sends it (Genesis reuses the first
    /// collection's mandate) and the sandbox uses it only when it has no record of the
    /// `reference_id`.
    pub iban: Option<Secret<String>>,
    /// The BIC, when known (8 or 11 characters).
    pub bic: Option<String>,
    /// The account holder's name as typed on the payment page.
    pub account_holder: Secret<String>,
    /// The customer's first name (Genesis `billing_address/first_name`).
    pub first_name: String,
    /// The customer's last name.
    pub last_name: String,
    /// Street address (`address1`).
    pub address: Option<String>,
    /// Postal code.
    pub zip_code: Option<String>,
    /// City.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country, upper case.
    pub country: String,
    /// The customer's e-mail address.
    pub email: Option<String>,
    /// The customer's IP address (IPv4 or IPv6).
    pub remote_ip: String,
    /// Statement text / description (Genesis `usage`).
    pub usage: String,
    /// Our mandate reference (`MAND-ORD-…`).
    pub mandate_reference: String,
    /// Where the gateway should POST asynchronous results.
    pub notification_url: Option<String>,
    /// Where a verification flow sends the customer back.
    pub return_url: Option<String>,
}

impl DebitRequest {
    /// A complete one-off request for documentation and tests: 12.34 EUR from Max Mustermann
    /// with the approved test IBAN `DE89370400440532013000`.
    pub fn example(transaction_id: &str) -> DebitRequest {
        DebitRequest {
            transaction_id: transaction_id.to_owned(),
            kind: DebitKind::OneOff,
            amount: Money::from_minor(1234, Currency::EUR).expect("valid amount"),
            iban: Some(Secret::new("DE89370400440532013000".to_owned())),
            bic: Some("COBADEFFXXX".to_owned()),
            account_holder: Secret::new("Max Mustermann".to_owned()),
            first_name: "Max".to_owned(),
            last_name: "Mustermann".to_owned(),
            address: Some("Musterstraße 1".to_owned()),
            zip_code: Some("10115".to_owned()),
            city: Some("Berlin".to_owned()),
            country: "DE".to_owned(),
            email: Some("max@example.de".to_owned()),
            remote_ip: "203.0.113.7".to_owned(),
            usage: "Pro plan".to_owned(),
            mandate_reference: "MAND-ORD-0000ABCD".to_owned(),
            notification_url: None,
            return_url: None,
        }
    }
}

/// What the gateway decided. Declines are data, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayOutcome {
    /// Accepted for collection.
    Approved {
        /// The gateway's id of the transaction (Genesis `unique_id`).
        reference: String,
    },
    /// Accepted, result not known yet (reconcile or wait for a notification).
    Pending {
        /// The gateway's id of the transaction.
        reference: String,
    },
    /// The customer must confirm the debit at `url` (SEPA verified payment); then call
    /// [`GatewayAdapter::verify`].
    VerificationRequired {
        /// The gateway's id of the transaction.
        reference: String,
        /// Where to send the customer.
        url: String,
    },
    /// Refused by the bank, the scheme, risk checks or the gateway.
    Declined {
        /// The gateway's id, when the gateway created a transaction.
        reference: Option<String>,
        /// The normalised reason (the API's `error_details.code`).
        code: DeclineCode,
        /// The raw code: a SEPA reason (`AM04`) or the gateway's own (`500`).
        gateway_code: Option<String>,
        /// The gateway's text.
        gateway_message: Option<String>,
    },
}

impl GatewayOutcome {
    /// The gateway reference, when there is one.
    pub fn reference(&self) -> Option<&str> {
        match self {
            GatewayOutcome::Approved { reference }
            | GatewayOutcome::Pending { reference }
            | GatewayOutcome::VerificationRequired { reference, .. } => Some(reference),
            GatewayOutcome::Declined { reference, .. } => reference.as_deref(),
        }
    }

    /// True for [`GatewayOutcome::Approved`].
    pub fn is_approved(&self) -> bool {
        matches!(self, GatewayOutcome::Approved { .. })
    }
}

/// An integration fault: the gateway could not be asked, or its answer could not be used.
/// Maps to `gateway_unavailable` only after reconciliation could not find the transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// No answer within the client's timeout.
    #[error("the gateway did not answer in time")]
    Timeout,
    /// Connection failure, or an HTTP error status without a usable body (e.g. 503).
    #[error("gateway transport error: {0}")]
    Transport(String),
    /// The answer could not be parsed or was unexpected.
    #[error("unexpected gateway answer: {0}")]
    Protocol(String),
    /// Bad credentials, unknown terminal, or a broken gateway configuration.
    #[error("gateway configuration error: {0}")]
    Config(String),
    /// The gateway reports a system error, or a result that is unknown until reconciled.
    #[error("gateway unavailable: {message}")]
    Unavailable {
        /// The gateway's own code, e.g. `"230"`.
        gateway_code: Option<String>,
        /// The gateway's text.
        message: String,
    },
    /// A notification whose signature does not match (forged, or signed with another
    /// password). Answer it with HTTP 400 and do not act on it.
    #[error("invalid notification signature")]
    InvalidSignature,
    /// The gateway's address is not public and private targets are not allowed
    /// ([`outbound`]): nothing was sent.
    #[error("the gateway address is not allowed")]
    TargetRefused,
    /// An in-process gateway could not read or write its records ([`SandboxLedger`]), e.g. a
    /// database error: nothing was decided.
    #[error("gateway ledger error: {0}")]
    Ledger(String),
}

impl GatewayError {
    /// The gateway's own code, for [`GatewayError::Unavailable`].
    pub fn gateway_code(&self) -> Option<&str> {
        match self {
            GatewayError::Unavailable { gateway_code, .. } => gateway_code.as_deref(),
            _ => None,
        }
    }
}

/// Look up one transaction at the gateway: by our transaction id, or by the gateway's
/// reference when known (the reference wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileRequest {
    /// Our transaction id.
    pub transaction_id: String,
    /// The gateway's reference, if the debit returned one.
    pub reference: Option<String>,
}

/// Refund (part of) an approved debit.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// Our id for the refund itself: the gateway's idempotency key for the refund.
    pub transaction_id: String,
    /// The gateway reference of the debit being refunded.
    pub reference: String,
    /// How much to refund (at most what remains of the debit).
    pub amount: Money,
    /// Statement text.
    pub usage: String,
    /// The IP address of whoever asked for the refund.
    pub remote_ip: String,
}

/// A gateway notification whose signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notification {
    /// The gateway's id of the transaction (Genesis `unique_id`).
    pub reference: String,
    /// Our transaction id, when the gateway sends it.
    pub transaction_id: Option<String>,
    /// The gateway's status (Genesis: `approved`, `declined`, `chargebacked`, …).
    pub status: String,
    /// A SEPA reason code (or the gateway's reason code) when one was sent (`rc_code` or
    /// `reason_code`).
    pub reason_code: Option<String>,
    /// The reason's text (`rc_description` or `reason_description`).
    pub reason_description: Option<String>,
    /// The transaction type (`sdd_sale`, `sdd_refund`, …).
    pub transaction_type: Option<String>,
    /// The amount in minor units, when sent.
    pub amount_minor: Option<i64>,
    /// The terminal token the transaction ran on.
    pub terminal_token: Option<String>,
    /// A lifecycle event such as `chargeback`, when sent.
    pub event: Option<String>,
}

impl Notification {
    /// The decline code for a failed or returned transaction: from the SEPA reason when
    /// there is one, else [`DeclineCode::MandateRejected`] for `chargebacked` (most SDD returns
    /// are debtor disputes) and [`DeclineCode::DoNotHonor`] for `declined`. `None` for
    /// statuses that are not failures.
    pub fn decline_code(&self) -> Option<DeclineCode> {
        emp::transformers::notification_decline_code(self)
    }
}

/// An HTTP answer to a gateway notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Response body.
    pub body: String,
}

/// A payment gateway. Object safe: the API holds `Arc<dyn GatewayAdapter>`.
#[async_trait::async_trait]
pub trait GatewayAdapter: Send + Sync {
    /// `"SANDBOX"` or `"EMP"`.
    fn name(&self) -> &'static str;

    /// Submits a debit. The same `transaction_id` never debits twice: a repeated call answers
    /// with the first call's outcome. Timeouts and 5xx answers are reconciled before an error
    /// is returned.
    async fn debit(&self, req: &DebitRequest) -> Result<GatewayOutcome, GatewayError>;

    /// The result of a debit that answered [`GatewayOutcome::VerificationRequired`]; answers
    /// `VerificationRequired` again while the customer has not finished.
    async fn verify(&self, req: &ReconcileRequest) -> Result<GatewayOutcome, GatewayError>;

    /// The transaction's current state at the gateway; `None` when the gateway has no such
    /// transaction (it was never debited).
    async fn reconcile(
        &self,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError>;

    /// Refunds (part of) an approved debit. `Approved` carries the refund's own reference.
    async fn refund(&self, req: &RefundRequest) -> Result<GatewayOutcome, GatewayError>;

    /// Parses a notification POSTed by the gateway and verifies its signature
    /// ([`GatewayError::InvalidSignature`] when it does not match).
    fn parse_notification(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Notification, GatewayError>;

    /// The answer the gateway expects for a processed notification.
    fn notification_echo(&self, n: &Notification) -> Echo;

    /// This adapter's synchronous face, if its gateway runs inside this process (the sandbox).
    /// `None`, the default, for gateways reached over the network.
    fn in_process(&self) -> Option<&dyn InProcessGateway> {
        None
    }
}

/// A gateway that runs inside this process and touches nothing outside it, so its answers are
/// known at once. It keeps what it records in the [`SandboxLedger`] its caller passes: the API
/// claims a payment, debits, records the gateway's record and the outcome in one database
/// transaction, so there is no window in which a claimed payment waits for its outcome, or in
/// which one exists without the other. If that transaction rolls back, so does the gateway's
/// record of the debit.
pub trait InProcessGateway: Send + Sync {
    /// [`GatewayAdapter::debit`], answered without waiting, recorded in `ledger`.
    fn debit_now(
        &self,
        ledger: &mut dyn SandboxLedger,
        req: &DebitRequest,
    ) -> Result<GatewayOutcome, GatewayError>;

    /// [`GatewayAdapter::reconcile`], answered without waiting from `ledger`.
    fn reconcile_now(
        &self,
        ledger: &mut dyn SandboxLedger,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError>;
}

/// A gateway row as the adapters need it (credentials already decrypted).
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// `"SANDBOX"`, `"EMP"` or `"BATCH"`.
    pub adapter: String,
    /// Staging (true) or production (false). `EMP` picks its default endpoint by it.
    pub test_mode: bool,
    /// `SANDBOX` only: every otherwise approved debit goes through verification.
    pub requires_verification: bool,
    /// The credentials JSON; `EMP`:
    /// `{"username", "password", "terminal_token", "endpoint"?}`; `BATCH`:
    /// `{"creditor_name", "creditor_id", "iban", "bic"}` ([`BatchCredentials`]).
    pub credentials: Option<Secret<String>>,
    /// The bank-statement descriptor; `EMP` sends it as
    /// `dynamic_descriptor_params/merchant_name`.
    pub descriptor: Option<String>,
}

impl GatewaySettings {
    /// A `SANDBOX` gateway in test mode without forced verification.
    pub fn sandbox() -> GatewaySettings {
        GatewaySettings {
            adapter: "SANDBOX".to_owned(),
            test_mode: true,
            requires_verification: false,
            credentials: None,
            descriptor: None,
        }
    }
}

/// What the API process shares between adapters.
#[derive(Clone)]
pub struct AdapterContext {
    /// The HTTP client for gateway calls (see [`http_client`]); its timeout bounds each call.
    pub http: reqwest::Client,
    /// The public base URL of the API, without a trailing slash (sandbox verification pages
    /// are `{public_url}/sandbox/verify/{reference}`).
    pub public_url: String,
    /// Where every `SANDBOX` adapter keeps its records (the API server: its database).
    pub sandbox: Arc<dyn SandboxBackend>,
    /// Which addresses gateway calls may reach; `http` must be built with the same policy
    /// ([`http_client_for`]).
    pub targets: Arc<outbound::TargetPolicy>,
}

/// Builds the adapter named by `settings.adapter` (`"SANDBOX"`, `"EMP"` or `"BATCH"`, ASCII
/// case ignored). Unknown adapters and bad `EMP` or `BATCH` credentials give
/// [`GatewayError::Config`].
pub fn build_adapter(
    settings: &GatewaySettings,
    ctx: &AdapterContext,
) -> Result<Arc<dyn GatewayAdapter>, GatewayError> {
    let name = settings.adapter.trim();
    if name.eq_ignore_ascii_case(sandbox::NAME) {
        Ok(Arc::new(SandboxAdapter::new(
            ctx.sandbox.clone(),
            &ctx.public_url,
            settings.requires_verification,
        )))
    } else if name.eq_ignore_ascii_case(emp::NAME) {
        Ok(Arc::new(
            EmpAdapter::from_settings(settings, ctx.http.clone())?
                .with_targets(ctx.targets.clone()),
        ))
    } else if name.eq_ignore_ascii_case(batch::NAME) {
        Ok(Arc::new(BatchAdapter::from_settings(settings)?))
    } else {
        Err(GatewayError::Config(format!(
            "unknown gateway adapter {name:?} (expected SANDBOX, EMP or BATCH)"
        )))
    }
}

/// Installs rustls' `ring` crypto provider as the process default, unless one is installed
/// already. [`http_client`] calls it; call it yourself before building any other
/// `reqwest::Client` (`Client::new()` panics without a provider, because reqwest is built with
/// `rustls-no-provider`).
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: some provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// [`http_client_for`] with every address allowed (tests, demos, tools).
///
/// # Panics
///
/// When the TLS configuration cannot be built (no usable root certificate store).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    http_client_for(timeout, Arc::new(outbound::TargetPolicy::allow_all()))
}

/// The HTTP client for gateway calls: rustls with the `ring` provider and the platform's
/// root certificates, every request bounded by `timeout` (connecting by at most 10 s of it);
/// names resolve only to addresses `targets` allows, no redirects, no proxies
/// ([`outbound::client_builder`]).
///
/// # Panics
///
/// When the TLS configuration cannot be built (no usable root certificate store).
pub fn http_client_for(timeout: Duration, targets: Arc<outbound::TargetPolicy>) -> reqwest::Client {
    outbound::client_builder(targets)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("catalyst-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the gateway HTTP client (rustls/ring) can be built")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> AdapterContext {
        AdapterContext {
            http: http_client(Duration::from_secs(5)),
            public_url: "http://127.0.0.1:1".into(),
            sandbox: Arc::new(MemoryLedger::new()),
            targets: Arc::new(outbound::TargetPolicy::allow_all()),
        }
    }

    #[test]
    fn builds_adapters_by_name() {
        let ctx = ctx();
        assert_eq!(
            build_adapter(&GatewaySettings::sandbox(), &ctx)
                .unwrap()
                .name(),
            "SANDBOX"
        );
        let mut emp = GatewaySettings::sandbox();
        emp.adapter = "EMP".into();
        emp.credentials = Some(Secret::new(
            r#"{"username":"u","password":"p","terminal_token":"t"}"#.into(),
        ));
        assert_eq!(build_adapter(&emp, &ctx).unwrap().name(), "EMP");
        emp.credentials = None;
        assert!(matches!(
            build_adapter(&emp, &ctx),
            Err(GatewayError::Config(_))
        ));
        let mut batch = GatewaySettings::sandbox();
        batch.adapter = "BATCH".into();
        assert!(matches!(
            build_adapter(&batch, &ctx),
            Err(GatewayError::Config(_))
        ));
        batch.credentials = Some(Secret::new(
            r#"{"creditor_name":"Muster GmbH","creditor_id":"DE98ZZZ09999999999","iban":"DE89370400440532013000","bic":"COBADEFFXXX"}"#.into(),
        ));
        assert_eq!(build_adapter(&batch, &ctx).unwrap().name(), "BATCH");
        let mut other = GatewaySettings::sandbox();
        other.adapter = "CSV".into();
        assert!(matches!(
            build_adapter(&other, &ctx),
            Err(GatewayError::Config(_))
        ));
    }

    #[test]
    fn outcome_reference() {
        let approved = GatewayOutcome::Approved {
            reference: "r".into(),
        };
        assert_eq!(approved.reference(), Some("r"));
        assert!(approved.is_approved());
        let declined = GatewayOutcome::Declined {
            reference: None,
            code: DeclineCode::Unknown,
            gateway_code: None,
            gateway_message: None,
        };
        assert_eq!(declined.reference(), None);
    }

    #[tokio::test]
    async fn the_gateway_client_follows_no_redirect() {
        use std::io::{Read, Write};
        let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        target.set_nonblocking(true).unwrap();
        let target_port = target.local_addr().unwrap().port();
        let redirector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", redirector.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut conn, _) = redirector.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).unwrap();
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{target_port}/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            conn.write_all(answer.as_bytes()).unwrap();
        });
        let response = http_client(Duration::from_secs(2))
            .post(&url)
            .body("<xml/>")
            .send()
            .await
            .unwrap();
        server.join().unwrap();
        assert_eq!(response.status(), 307);
        assert!(matches!(target.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    }

    #[test]
    fn client_builds_and_other_clients_work_afterwards() {
        let _client = http_client(Duration::from_secs(1));
        // With the provider installed, plain clients build too.
        let _plain = reqwest::Client::new();
    }
}
