//! A fake emerchantpay Genesis processing API for tests, demos and `catalyst fake-genesis`
//! (feature `fake`). It follows the checklist of `GENESIS.md` §9:
//!
//! - `POST /process/{token}[/]`, `POST /reconcile/{token}[/]`,
//!   `POST /reconcile/by_date/{token}[/]`; HTTP Basic auth (401 with
//!   `WWW-Authenticate: Basic realm="Web Password"` and code 110), unknown terminal 220,
//!   content type other than `text/xml` 360, unparsable XML 350, missing fields 320, bad
//!   formats 330/340, unknown `transaction_type` 310, reused `transaction_id` 450, unknown
//!   reference 410, refund over the remaining amount 440, refund of a transaction that is not
//!   approved 400, reconcile of an unknown transaction 460.
//! - `sdd_sale`, `sdd_init_recurring_sale`, `sdd_recurring_sale`, `sdd_refund` with the
//!   sandbox IBAN table ([`crate::sandbox::SANDBOX_IBANS`]): declines carry the SEPA code in
//!   `reason_code` and `technical_message`; the verification IBANs answer `pending_async` with
//!   a `redirect_url` (`GET` it to play the customer: the transaction is then approved or
//!   declined `MS02`, and the customer is redirected to the `return_*_url`); the unreachable
//!   IBAN answers HTTP 503 and records nothing; the chargeback/return IBANs are approved and
//!   become `chargebacked` (`MD06`/`AM04`) on [`FakeHandle::settle`] (`POST /__fake/settle`).
//! - `sdd_recurring_sale` and `sdd_refund` look up their `reference_id` and follow the
//!   sandbox's off-session rules ([`crate::sandbox::recurring_behavior`],
//!   [`crate::sandbox::refund_decline_reason`]) with the referenced transaction's IBAN: the
//!   first-renewal IBAN declines the first recurring sale under each reference, the
//!   refund-decline IBAN's refunds are declined `AC04`; both echo
//!   `reference_transaction_unique_id`. A reference error (400, 410, 420, 440) is recorded as
//!   a transaction with status `error` and its code, as Genesis records transaction-level
//!   errors (`GENESIS.md` §3), so reconcile by `transaction_id` finds it and a repeated
//!   `transaction_id` is 450.
//! - Per-transaction state, so reconcile shows the current status (`approved` → `refunded` /
//!   `chargebacked`).
//! - A delay before every `/process` answer (the transaction is recorded first), changeable at
//!   run time with [`FakeHandle::set_delay`] or `POST /__fake/delay` with the milliseconds as
//!   the body.
//! - Signed (SHA-1) form notifications to `notification_url` after the answer and on every
//!   later status change, retried until the receiver echoes the `unique_id`.

mod server;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use server::{FakeTransaction, NotificationRecord, ReceivedRequest};

/// Terminal token of the default terminal.
pub const DEFAULT_TOKEN: &str = "fake-terminal-token";
/// API login of the default terminal.
pub const DEFAULT_USERNAME: &str = "fake-user";
/// API password of the default terminal (also its notification signing key).
pub const DEFAULT_PASSWORD: &str = "fake-password";

/// One terminal the fake accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// The terminal token (path segment).
    pub token: String,
    /// API login.
    pub username: String,
    /// API password.
    pub password: String,
}

impl Terminal {
    /// A terminal.
    pub fn new(token: &str, username: &str, password: &str) -> Terminal {
        Terminal {
            token: token.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// The `EMP` credentials JSON for this terminal on a fake at `base_url`.
    pub fn credentials_json(&self, base_url: &str) -> String {
        serde_json::json!({
            "username": self.username,
            "password": self.password,
            "terminal_token": self.token,
            "endpoint": base_url,
        })
        .to_string()
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new(DEFAULT_TOKEN, DEFAULT_USERNAME, DEFAULT_PASSWORD)
    }
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Wait this long before answering `/process` (after recording the transaction).
    pub delay: Duration,
    /// The accepted terminals.
    pub terminals: Vec<Terminal>,
    /// How many times a notification is sent before giving up.
    pub notification_attempts: u32,
    /// Wait between notification attempts.
    pub notification_interval: Duration,
    /// Wait after an answer before its notification is sent.
    pub notification_delay: Duration,
    /// The base URL that `redirect_url`s point at; default `http://{bound address}`.
    pub public_url: Option<String>,
}

impl Default for FakeConfig {
    /// No delay, the default terminal ([`DEFAULT_TOKEN`], [`DEFAULT_USERNAME`],
    /// [`DEFAULT_PASSWORD`]), notifications 100 ms after the answer and up to 5 attempts 1 s
    /// apart.
    fn default() -> Self {
        FakeConfig {
            delay: Duration::ZERO,
            terminals: vec![Terminal::default()],
            notification_attempts: 5,
            notification_interval: Duration::from_secs(1),
            notification_delay: Duration::from_millis(100),
            public_url: None,
        }
    }
}

/// A running fake. Dropping the handle does not stop the server; call [`FakeHandle::stop`].
#[derive(Clone)]
pub struct FakeHandle {
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<server::Shared>,
    server: actix_web::dev::ServerHandle,
    done: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<io::Result<()>>>>>,
}

impl std::fmt::Debug for FakeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeHandle {
    /// `http://{addr}`: the `endpoint` for `EMP` credentials.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The configured terminals.
    pub fn terminals(&self) -> &[Terminal] {
        &self.shared.terminals
    }

    /// The `EMP` credentials JSON of the first terminal, pointing at this fake.
    pub fn credentials_json(&self) -> String {
        self.shared.terminals[0].credentials_json(&self.base_url())
    }

    /// The delay before `/process` answers.
    pub fn delay(&self) -> Duration {
        self.shared.delay()
    }

    /// Changes the delay before `/process` answers.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.set_delay(delay);
    }

    /// Applies the "later" outcomes: every approved debit from a chargeback or return IBAN
    /// (and the recurring debits under its mandate) becomes `chargebacked` with its reason, and
    /// its notification is sent. Returns how many transactions changed.
    pub fn settle(&self) -> usize {
        server::settle(&self.shared)
    }

    /// Plays the customer of a verification flow: like `GET`ting the `redirect_url`.
    /// Returns the new status, or `None` for an unknown `unique_id`.
    pub fn complete_verification(&self, unique_id: &str) -> Option<String> {
        server::complete_verification(&self.shared, unique_id).map(|(status, _)| status)
    }

    /// Every recorded transaction, oldest first.
    pub fn transactions(&self) -> Vec<FakeTransaction> {
        self.shared.transactions()
    }

    /// Every notification sent or being sent, oldest first.
    pub fn notifications(&self) -> Vec<NotificationRecord> {
        self.shared.notifications()
    }

    /// The last requests received (up to 100), oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.requests()
    }

    /// Stops the server (gracefully, at most one second) and waits for it.
    pub async fn stop(&self) {
        self.server.stop(true).await;
        let _ = self.wait().await;
    }

    /// Waits until the server has stopped.
    pub async fn wait(&self) -> io::Result<()> {
        let task = self.done.lock().await.take();
        match task {
            Some(task) => task
                .await
                .map_err(|e| io::Error::other(format!("fake Genesis server task: {e}")))?,
            None => Ok(()),
        }
    }
}

/// Starts the fake on `bind` (e.g. `"127.0.0.1:0"` for a free port) inside the current tokio
/// runtime (`#[tokio::test]`, `#[tokio::main]` or actix) and returns once it listens.
pub async fn start(config: FakeConfig, bind: &str) -> io::Result<FakeHandle> {
    if config.terminals.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the fake Genesis server needs at least one terminal",
        ));
    }
    let listener = std::net::TcpListener::bind(bind)?;
    let addr = listener.local_addr()?;
    let shared = server::Shared::new(config, addr);
    let server = server::build(shared.clone(), listener)?;
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(FakeHandle {
        addr,
        shared,
        server: handle,
        done: Arc::new(tokio::sync::Mutex::new(Some(task))),
    })
}

/// Runs the fake on `bind` until Ctrl-C or SIGTERM, on a runtime of its own: for the
/// `catalyst fake-genesis --port N [--delay-ms M]` subcommand. Prints
/// `fake Genesis listening on http://ADDR (terminal token T, username U, password P)` to
/// stdout once it listens. Must not be called from inside an async runtime.
pub fn run_blocking(config: FakeConfig, bind: &str) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let handle = start(config, bind).await?;
        let terminal = &handle.terminals()[0];
        println!(
            "fake Genesis listening on {} (terminal token {}, username {}, password {})",
            handle.base_url(),
            terminal.token,
            terminal.username,
            terminal.password
        );
        tokio::select! {
            result = handle.wait() => result,
            () = shutdown_signal() => {
                handle.stop().await;
                Ok(())
            }
        }
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
