//! The client load of the scenarios: threads doing create-session + pay (the sandbox approves
//! the IBAN at once) over plain HTTP, recording every request with its send and answer times,
//! so that the answers can be placed against a fault's window.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bench::pay::PAY_BODY;
use crate::bench::sessions::{Demo, create_request};
use crate::bench::sys;

/// Which request of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Pay,
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Record {
    pub kind: Kind,
    pub sent: Instant,
    pub done: Instant,
    /// The HTTP status, or `None` when no answer came (refused, reset, timed out).
    pub status: Option<u16>,
    /// The body of an unexpected answer, or the socket error.
    pub detail: String,
}

impl Record {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn server_error(&self) -> bool {
        self.status.is_some_and(|s| s >= 500)
    }
}

#[derive(Default)]
struct Shared {
    records: Mutex<Vec<Record>>,
    stop: AtomicBool,
    /// Operations whose pay answered `completed`.
    completed: AtomicUsize,
}

/// Client threads running until [`Traffic::stop`] (or `limit`, whichever comes first).
pub struct Traffic {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Traffic {
    /// Starts `clients` threads; thread `i` talks to `addrs[i % addrs.len()]`. Each thread
    /// stops by itself after `limit`.
    pub fn start(addrs: &[SocketAddr], demo: &Demo, clients: usize, limit: Duration) -> Self {
        let shared = Arc::new(Shared::default());
        let run = sys::unique_suffix();
        let deadline = Instant::now() + limit;
        let threads = (0..clients)
            .map(|i| {
                let (shared, demo, run) = (shared.clone(), demo.clone(), run.clone());
                let addr = addrs[i % addrs.len()];
                std::thread::spawn(move || {
                    client(addr, &demo, &format!("chaos-{run}-{i}"), &shared, deadline)
                })
            })
            .collect();
        Self { shared, threads }
    }

    /// Operations completed so far.
    pub fn completed(&self) -> usize {
        self.shared.completed.load(Ordering::SeqCst)
    }

    /// Stops the threads and returns every request they made, in no particular order.
    pub fn stop(mut self) -> Vec<Record> {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
        std::mem::take(
            &mut *self
                .shared
                .records
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }
}

impl Drop for Traffic {
    /// A scenario that fails early still stops its clients.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn client(addr: SocketAddr, demo: &Demo, label: &str, shared: &Shared, deadline: Instant) {
    let auth = format!("Bearer {}", demo.restricted_key);
    let mut n = 0u64;
    while !shared.stop.load(Ordering::SeqCst) && !sys::interrupted() && Instant::now() < deadline {
        n += 1;
        let body = create_request(demo, &format!("{label}-{n}@example.com"));
        let created = request(
            addr,
            Kind::Create,
            "/api/v1/payment-sessions/",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            &body,
        );
        let token = (created.status == Some(201))
            .then(|| serde_json::from_str::<Value>(&created.detail).ok())
            .flatten()
            .and_then(|v| v["session_token"].as_str().map(str::to_owned));
        let refused = created.status.is_none();
        push(shared, created);
        let Some(token) = token else {
            if refused {
                // The server is down: do not spin.
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        };
        let paid = request(
            addr,
            Kind::Pay,
            &format!("/api/v1/payment-sessions/{token}/pay/"),
            &[("Content-Type", "application/json")],
            PAY_BODY,
        );
        if paid.status == Some(200) && paid.detail.contains(r#""status":"completed""#) {
            shared.completed.fetch_add(1, Ordering::SeqCst);
        }
        push(shared, paid);
    }
}

fn push(shared: &Shared, mut record: Record) {
    if record.ok() && record.kind == Kind::Create {
        // Only needed for the token.
        record.detail.clear();
    }
    shared
        .records
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(record);
}

fn request(
    addr: SocketAddr,
    kind: Kind,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Record {
    let sent = Instant::now();
    let answer = sys::http(addr, "POST", path, headers, body);
    let done = Instant::now();
    match answer {
        Ok(r) => Record {
            kind,
            sent,
            done,
            status: Some(r.status),
            detail: r.body,
        },
        Err(e) => Record {
            kind,
            sent,
            done,
            status: None,
            detail: e.to_string(),
        },
    }
}

/// Requests by outcome: `(2xx, 4xx, 5xx, no answer)`.
pub fn tally<'a>(records: impl IntoIterator<Item = &'a Record>) -> (usize, usize, usize, usize) {
    let mut t = (0, 0, 0, 0);
    for r in records {
        match r.status {
            Some(s) if (200..300).contains(&s) => t.0 += 1,
            Some(s) if s >= 500 => t.2 += 1,
            Some(_) => t.1 += 1,
            None => t.3 += 1,
        }
    }
    t
}
