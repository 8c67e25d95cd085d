//! `bench webhooks`: webhook delivery throughput and commit → delivery latency.
//!
//! Per backend: a local receiver on 127.0.0.1 that answers `200` at once and records, per
//! request, the arrival time (after the whole body was read), the `X-CatalystPay-Event` and
//! `X-CatalystPay-Delivery` headers and the body; a fresh database with `catalyst demo --json
//! --webhook-url http://127.0.0.1:PORT/hook` (the demo profile gets an endpoint there, all event
//! types); `catalyst serve`. Then:
//!
//! * live: `--sessions` create+pay operations over plain HTTP from `--concurrency` client
//!   threads while the server's dispatcher delivers. Each operation yields four events
//!   (`order.created`, `transaction.created`, `transaction.status_changed`,
//!   `payment_session.completed`). Reported: the rate at which the load committed events, the
//!   delivered events/s from the first to the last arrival of the batch, and the time from the
//!   commit of each event to its arrival: the event's `created_at` in `webhook_events` (read
//!   back after the run, matched by `X-CatalystPay-Delivery` = `webhook_events.id`) to the
//!   arrival time, p50/p99 for `payment_session.completed` and over all four types. The
//!   `created_at` is taken just before the transaction that commits the event starts, so the
//!   figure includes that transaction (a few ms at most).
//! * drain (unless `--no-drain`): the server is stopped, the same number of operations is
//!   written in-process (`direct::create_and_pay`, so the outbox holds 4 × N pending
//!   deliveries), the server starts again and delivers the backlog; reported: events/s from the
//!   first to the last arrival — the dispatcher's capacity, without the load competing.
//!
//! A run is invalid unless every operation answered as expected, every event of the phase
//! arrived, every arrival matches an event of the right type, and every delivery in the
//! database is `delivered` after one attempt.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use catalyst_store::schema::{webhook_deliveries, webhook_events};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::direct;
use super::load::percentile_ms;
use super::sessions::{Deployment, ms};
use super::sys;
use super::{Backend, Options};

/// Events one create+pay operation emits.
const EVENTS_PER_OPERATION: usize = 4;
const COMPLETED: &str = "payment_session.completed";

pub fn run(options: &Options, target: &Path) -> Result<()> {
    let binary = target.join("release").join(super::exe("catalyst"));
    if !binary.is_file() {
        bail!(
            "{} is missing (build it without --no-build)",
            binary.display()
        );
    }
    let threads = options.concurrency[0];
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "bench webhooks: {} create+pay operations per phase ({} events), {} client threads; {} \
         cores; load average before: {}",
        options.sessions,
        options.sessions * EVENTS_PER_OPERATION,
        threads,
        cores,
        sys::loadavg()
    );
    let mut rows = Vec::new();
    for &backend in &options.backends {
        let result = run_backend(options, backend, &binary, threads, &mut rows);
        if let Err(e) = result {
            if !rows.is_empty() {
                print_table(&rows, options);
            }
            return Err(e.context(format!("{} backend", backend.name())));
        }
    }
    print_table(&rows, options);
    println!("load average after: {}", sys::loadavg());
    Ok(())
}

/// The figures of one backend.
struct Row {
    backend: Backend,
    live: Live,
    drain: Option<Drain>,
}

struct Live {
    /// Operations per second of the load (all client threads, first request to last answer).
    load_ops: f64,
    /// Events the load committed per second (`load_ops` × 4).
    committed_events: f64,
    delivered: usize,
    /// Delivered events per second, first to last arrival.
    delivered_rate: f64,
    completed_p50_ms: f64,
    completed_p99_ms: f64,
    completed_max_ms: f64,
    /// `payment_session.completed` committed in the second half of the load (past the start-up
    /// transient: the dispatcher sleeping when the load began, then catching up).
    second_half_p50_ms: f64,
    second_half_p99_ms: f64,
    all_p50_ms: f64,
    all_p99_ms: f64,
    /// Arrivals of a delivery id that had arrived before.
    duplicates: usize,
    /// Share of the deliveries that arrived before the load had finished.
    during_load: f64,
    load1: f64,
}

struct Drain {
    delivered: usize,
    /// Events per second, first to last arrival.
    rate: f64,
    /// From starting the server again to the first arrival.
    first_after_ms: f64,
    load1: f64,
}

fn run_backend(
    options: &Options,
    backend: Backend,
    binary: &Path,
    threads: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    println!("\n== {} ==", backend.name());
    let receiver = Receiver::start()?;
    println!("receiver {}", receiver.url());
    let mut deployment = Deployment::start(options, backend, binary, Some(&receiver.url()))?;
    let n = options.sessions;
    let expected = n * EVENTS_PER_OPERATION;

    // The deployment's smoke test created one session: its order.created arrives first.
    receiver.wait_for(1, Duration::from_secs(30), &mut deployment)?;
    receiver.take();

    // Live: the load and the deliveries at the same time.
    let load_run = run_load(&deployment, n, threads)?;
    let (load_start, load) = (load_run.start, load_run.elapsed);
    println!(
        "  live: {n} operations in {:.2} s ({:.0} op/s, {:.0} events/s committed); waiting for \
         {expected} deliveries",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64(),
        (n * EVENTS_PER_OPERATION) as f64 / load.as_secs_f64()
    );
    receiver.wait_for(expected, Duration::from_secs(120), &mut deployment)?;
    // Late duplicates would arrive right away; give them a moment.
    sys::sleep(Duration::from_millis(300))?;
    let arrivals = receiver.take();
    let events = read_events(&deployment)?;
    check_deliveries(&deployment)?;
    let csv = deployment.work.path().join("webhooks_live.csv");
    write_csv(&csv, &arrivals, &events, load_start)?;
    let live = live_figures(&arrivals, &events, expected, n, &load_run)?;
    println!(
        "  live: {} delivered ({:.0}% while the load ran), {:.0} events/s first→last; \
         {COMPLETED} commit→delivery p50 {} p99 {} max {} ms (second half of the load: p50 {} \
         p99 {} ms); all events p50 {} p99 {} ms; duplicates {} | load {:.2}",
        live.delivered,
        live.during_load * 100.0,
        live.delivered_rate,
        ms(live.completed_p50_ms),
        ms(live.completed_p99_ms),
        ms(live.completed_max_ms),
        ms(live.second_half_p50_ms),
        ms(live.second_half_p99_ms),
        ms(live.all_p50_ms),
        ms(live.all_p99_ms),
        live.duplicates,
        live.load1
    );
    if options.keep {
        println!("  live: every delivery in {}", csv.display());
    }

    // Drain: a backlog written while the server is down, delivered after it starts.
    let drain = if options.drain {
        deployment.server.stop();
        let target = deployment.direct_target()?;
        let written = Instant::now();
        let mut conn = target
            .url
            .connect()
            .map_err(|e| anyhow!("connecting to {}: {e}", target.url))?;
        let run = sys::unique_suffix();
        for i in 0..n {
            sys::check_interrupt()?;
            direct::create_and_pay(&mut conn, &target, &format!("drain-{run}-{i}@example.com"))
                .map_err(|e| anyhow!(e))
                .context("writing the backlog in-process")?;
        }
        drop(conn);
        println!(
            "  drain: {n} operations written in-process in {:.2} s with the server stopped; \
             restarting it",
            written.elapsed().as_secs_f64()
        );
        let stray = receiver.take();
        if !stray.is_empty() {
            bail!(
                "{} deliveries arrived while the server was stopped",
                stray.len()
            );
        }
        let started = Instant::now();
        deployment.restart(binary)?;
        receiver.wait_for(expected, Duration::from_secs(120), &mut deployment)?;
        sys::sleep(Duration::from_millis(300))?;
        let arrivals = receiver.take();
        let events = read_events(&deployment)?;
        check_deliveries(&deployment)?;
        check_matches(&arrivals, &events, expected)?;
        let (first, last) = span(&arrivals);
        let drain = Drain {
            delivered: distinct(&arrivals),
            rate: rate(distinct(&arrivals), first, last),
            first_after_ms: first
                .map(|f| f.saturating_duration_since(started).as_secs_f64() * 1000.0)
                .unwrap_or(f64::NAN),
            load1: sys::load1(),
        };
        println!(
            "  drain: {} delivered, {:.0} events/s first→last; first delivery {} ms after \
             starting the server | load {:.2}",
            drain.delivered,
            drain.rate,
            ms(drain.first_after_ms),
            drain.load1
        );
        Some(drain)
    } else {
        None
    };
    rows.push(Row {
        backend,
        live,
        drain,
    });
    deployment.finish();
    Ok(())
}

/// When the load ran.
struct LoadRun {
    start: Instant,
    start_wall: SystemTime,
    elapsed: Duration,
}

/// Runs `n` create+pay operations from `threads` client threads.
fn run_load(deployment: &Deployment, n: usize, threads: usize) -> Result<LoadRun> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(Vec::new());
    let run = sys::unique_suffix();
    let (started, start_wall) = (Instant::now(), SystemTime::now());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n || failed.load(Ordering::SeqCst) || sys::interrupted() {
                        return;
                    }
                    let label = format!("hook-{run}-{i}");
                    if let Err(e) =
                        super::pay::create_and_pay(deployment.addr, &deployment.demo, &label)
                    {
                        failed.store(true, Ordering::SeqCst);
                        errors.lock().unwrap_or_else(|e| e.into_inner()).push(e);
                        return;
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    sys::check_interrupt()?;
    if let Some(e) = errors
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .next()
    {
        return Err(e.context(format!(
            "INVALID RUN: a create+pay operation failed; server log:\n{}",
            sys::tail(&deployment.log, 20)
        )));
    }
    Ok(LoadRun {
        start: started,
        start_wall,
        elapsed,
    })
}

/// `webhook_events` rows by id: (event type, created_at).
fn read_events(deployment: &Deployment) -> Result<HashMap<String, (String, NaiveDateTime)>> {
    let url = catalyst_store::DatabaseUrl::parse(&deployment.database_url)?;
    let mut conn = url
        .connect()
        .map_err(|e| anyhow!("connecting to {url}: {e}"))?;
    let rows: Vec<(String, String, NaiveDateTime)> = webhook_events::table
        .select((
            webhook_events::id,
            webhook_events::event_type,
            webhook_events::created_at,
        ))
        .load(&mut conn)
        .context("reading webhook_events")?;
    Ok(rows.into_iter().map(|(id, t, at)| (id, (t, at))).collect())
}

/// Every delivery in the database must be `delivered`, after exactly one attempt.
fn check_deliveries(deployment: &Deployment) -> Result<()> {
    let url = catalyst_store::DatabaseUrl::parse(&deployment.database_url)?;
    let mut conn = url
        .connect()
        .map_err(|e| anyhow!("connecting to {url}: {e}"))?;
    let rows: Vec<(String, i32)> = webhook_deliveries::table
        .select((webhook_deliveries::status, webhook_deliveries::attempts))
        .load(&mut conn)
        .context("reading webhook_deliveries")?;
    let not_delivered = rows.iter().filter(|(s, _)| s != "delivered").count();
    let retried = rows.iter().filter(|(_, a)| *a != 1).count();
    if not_delivered > 0 || retried > 0 {
        bail!(
            "INVALID RUN: of {} deliveries, {not_delivered} are not `delivered` and {retried} \
             took other than one attempt; server log:\n{}",
            rows.len(),
            sys::tail(&deployment.log, 20)
        );
    }
    Ok(())
}

/// Every arrival must carry a known event id with its type, and `expected` distinct ids must
/// have arrived.
fn check_matches(
    arrivals: &[Arrival],
    events: &HashMap<String, (String, NaiveDateTime)>,
    expected: usize,
) -> Result<()> {
    let mut problems = Vec::new();
    for a in arrivals {
        if let Some(e) = &a.error {
            problems.push(format!("malformed request: {e}"));
            continue;
        }
        match events.get(&a.delivery) {
            None => problems.push(format!("unknown X-CatalystPay-Delivery {:?}", a.delivery)),
            Some((t, _)) if *t != a.event => problems.push(format!(
                "delivery {} says {:?}, webhook_events says {t:?}",
                a.delivery, a.event
            )),
            Some(_) => {}
        }
        if serde_json::from_slice::<serde_json::Value>(&a.body).is_err() {
            problems.push(format!("delivery {}: the body is not JSON", a.delivery));
        }
    }
    let got = distinct(arrivals);
    if got != expected {
        problems.push(format!(
            "{got} distinct deliveries arrived, expected {expected}"
        ));
    }
    if !problems.is_empty() {
        problems.truncate(10);
        bail!("INVALID RUN:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

fn live_figures(
    arrivals: &[Arrival],
    events: &HashMap<String, (String, NaiveDateTime)>,
    expected: usize,
    n: usize,
    load_run: &LoadRun,
) -> Result<Live> {
    check_matches(arrivals, events, expected)?;
    let (load_start, load) = (load_run.start, load_run.elapsed);
    let half_wall =
        chrono::DateTime::<chrono::Utc>::from(load_run.start_wall + load / 2).naive_utc();
    let mut second_half = Vec::new();
    let mut seen = HashSet::new();
    let (mut completed, mut all) = (Vec::new(), Vec::new());
    let mut by_type: HashMap<&str, usize> = HashMap::new();
    let mut during = 0;
    for a in arrivals {
        // At-least-once: a repeated delivery id counts once, at its first arrival.
        if !seen.insert(a.delivery.as_str()) {
            continue;
        }
        let (event_type, created_at) = &events[&a.delivery];
        *by_type.entry(event_type.as_str()).or_default() += 1;
        if a.mono <= load_start + load {
            during += 1;
        }
        let arrived = chrono::DateTime::<chrono::Utc>::from(a.at).naive_utc();
        let us = (arrived - *created_at)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as u64;
        all.push(us);
        if event_type == COMPLETED {
            completed.push(us);
            if *created_at >= half_wall {
                second_half.push(us);
            }
        }
    }
    for t in [
        "order.created",
        "transaction.created",
        "transaction.status_changed",
        COMPLETED,
    ] {
        let got = by_type.get(t).copied().unwrap_or(0);
        if got != n {
            bail!("INVALID RUN: {got} {t} events arrived, expected {n}");
        }
    }
    completed.sort_unstable();
    second_half.sort_unstable();
    all.sort_unstable();
    let (first, last) = span(arrivals);
    let secs = load.as_secs_f64();
    Ok(Live {
        load_ops: n as f64 / secs,
        committed_events: (n * EVENTS_PER_OPERATION) as f64 / secs,
        delivered: seen.len(),
        delivered_rate: rate(seen.len(), first, last),
        completed_p50_ms: percentile_ms(&completed, 50.0),
        completed_p99_ms: percentile_ms(&completed, 99.0),
        completed_max_ms: percentile_ms(&completed, 100.0),
        second_half_p50_ms: percentile_ms(&second_half, 50.0),
        second_half_p99_ms: percentile_ms(&second_half, 99.0),
        all_p50_ms: percentile_ms(&all, 50.0),
        all_p99_ms: percentile_ms(&all, 99.0),
        duplicates: arrivals.len() - seen.len(),
        during_load: during as f64 / seen.len().max(1) as f64,
        load1: sys::load1(),
    })
}

/// One line per arrival: delivery id, event type, `created_at`, arrival (UTC), latency (ms),
/// arrival relative to the start of the load (ms).
fn write_csv(
    path: &Path,
    arrivals: &[Arrival],
    events: &HashMap<String, (String, NaiveDateTime)>,
    load_start: Instant,
) -> Result<()> {
    let mut out = String::from("delivery,event,created_at,arrived_at,latency_ms,since_load_ms\n");
    for a in arrivals {
        let arrived = chrono::DateTime::<chrono::Utc>::from(a.at).naive_utc();
        let (event, created) = match events.get(&a.delivery) {
            Some((t, at)) => (t.as_str(), Some(*at)),
            None => (a.event.as_str(), None),
        };
        let latency = created
            .and_then(|c| (arrived - c).num_microseconds())
            .map_or(String::new(), |us| format!("{:.3}", us as f64 / 1000.0));
        out.push_str(&format!(
            "{},{event},{},{arrived},{latency},{:.3}\n",
            a.delivery,
            created.map(|c| c.to_string()).unwrap_or_default(),
            a.mono.saturating_duration_since(load_start).as_secs_f64() * 1000.0
        ));
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

fn distinct(arrivals: &[Arrival]) -> usize {
    arrivals
        .iter()
        .map(|a| a.delivery.as_str())
        .collect::<HashSet<_>>()
        .len()
}

/// First and last arrival (monotonic clock).
fn span(arrivals: &[Arrival]) -> (Option<Instant>, Option<Instant>) {
    (
        arrivals.iter().map(|a| a.mono).min(),
        arrivals.iter().map(|a| a.mono).max(),
    )
}

/// `count` events over first → last arrival (the first one opens the window).
fn rate(count: usize, first: Option<Instant>, last: Option<Instant>) -> f64 {
    match (first, last) {
        (Some(f), Some(l)) if l > f && count > 1 => (count - 1) as f64 / (l - f).as_secs_f64(),
        _ => f64::NAN,
    }
}

fn print_table(rows: &[Row], options: &Options) {
    println!(
        "\nwebhook delivery — {} create+pay operations per phase × {} events, receiver on \
         127.0.0.1 answering 200 at once\n\
         (live: the load from {} client threads and the deliveries at once;\n \
         load/s = create+pay operations/s; commit/s = events/s the load committed;\n \
         in-load = deliveries that arrived before the load ended;\n \
         deliv ev/s = distinct deliveries over first → last arrival;\n \
         latency, ms = arrival − webhook_events.created_at: compl = {COMPLETED},\n \
         2nd h = those of them committed in the second half of the load, all = all four types;\n \
         drain = the same number of operations written while the server was stopped, delivered\n \
         after it started again; 1st ms = from starting it to the first delivery)\n",
        options.sessions, EVENTS_PER_OPERATION, options.concurrency[0]
    );
    println!(
        "{:<9} {:>7} {:>9} {:>9} {:>6} {:>10} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>5} \
         {:>9} {:>8} {:>6}",
        "backend",
        "load/s",
        "commit/s",
        "delivered",
        "in-load",
        "deliv ev/s",
        "compl50",
        "99",
        "max",
        "2nd h50",
        "99",
        "all50",
        "99",
        "dups",
        "drain ev/s",
        "1st ms",
        "load1"
    );
    for r in rows {
        let l = &r.live;
        let (drain_rate, first) = match &r.drain {
            Some(d) => (format!("{:.0}", d.rate), ms(d.first_after_ms)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<9} {:>7.0} {:>9.0} {:>9} {:>5.0}% {:>10.0} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} \
             {:>7} {:>5} {:>9} {:>8} {:>6.2}",
            r.backend.name(),
            l.load_ops,
            l.committed_events,
            l.delivered,
            l.during_load * 100.0,
            l.delivered_rate,
            ms(l.completed_p50_ms),
            ms(l.completed_p99_ms),
            ms(l.completed_max_ms),
            ms(l.second_half_p50_ms),
            ms(l.second_half_p99_ms),
            ms(l.all_p50_ms),
            ms(l.all_p99_ms),
            l.duplicates,
            drain_rate,
            first,
            r.drain.as_ref().map_or(l.load1, |d| d.load1)
        );
    }
}

/// One request as the receiver saw it.
pub(crate) struct Arrival {
    /// Wall clock when the whole request had been read (compared with `created_at`).
    pub at: SystemTime,
    /// The same moment on the monotonic clock (for rates).
    pub mono: Instant,
    /// `X-CatalystPay-Event`.
    pub event: String,
    /// `X-CatalystPay-Delivery` (the `webhook_events.id`).
    pub delivery: String,
    pub body: Vec<u8>,
    /// Why the request could not be read as expected, if it could not.
    pub error: Option<String>,
}

#[derive(Default)]
struct Shared {
    arrivals: Mutex<Vec<Arrival>>,
    stop: AtomicBool,
}

/// An HTTP/1.1 server on 127.0.0.1 (thread per connection, keep-alive) that answers every
/// request with `200` and an empty body and records it. Stops when dropped.
pub(crate) struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Receiver {
    pub(crate) fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the receiver")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = accepting.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn distinct(&self) -> usize {
        distinct(
            &self
                .shared
                .arrivals
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Takes everything recorded so far.
    pub(crate) fn take(&self) -> Vec<Arrival> {
        std::mem::take(
            &mut *self
                .shared
                .arrivals
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Waits until `count` distinct deliveries arrived; fails after `timeout`, when the server
    /// exits, or on an interrupt.
    fn wait_for(&self, count: usize, timeout: Duration, deployment: &mut Deployment) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.distinct();
            if got >= count {
                return Ok(());
            }
            if let Some(status) = deployment.server.exited() {
                bail!(
                    "catalyst serve exited ({status}) with {got} of {count} deliveries in:\n{}",
                    sys::tail(&deployment.log, 30)
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "INVALID RUN: {got} of {count} deliveries arrived within {timeout:?}; server \
                     log:\n{}",
                    sys::tail(&deployment.log, 30)
                );
            }
            sys::sleep(Duration::from_millis(20))?;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop up so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

/// Serves one connection until the peer closes it (or a read fails / times out).
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => return,
        };
        let (mono, at) = (Instant::now(), SystemTime::now());
        let close = request.close;
        shared
            .arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arrival {
                at,
                mono,
                event: request.header("x-catalystpay-event"),
                delivery: request.header("x-catalystpay-delivery"),
                body: request.body,
                error: request.error,
            });
        let answer: &[u8] = if close {
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        };
        if writer.write_all(answer).is_err() || close || shared.stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

struct Request {
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
    error: Option<String>,
}

impl Request {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Reads one request; `None` when the peer closed the connection before one began.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut error = None;
    if !line.starts_with("POST ") {
        error = Some(format!("request line {:?}", line.trim_end()));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let chunked = get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else {
        let length = get("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        headers,
        body,
        close,
        error,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keep_alive_requests_with_length_or_chunks() {
        let raw = "POST /hook HTTP/1.1\r\nX-CatalystPay-Event: order.created\r\n\
            X-CatalystPay-Delivery: e1\r\nContent-Length: 2\r\n\r\n{}\
            POST /hook HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
            2\r\n{}\r\n0\r\n\r\n";
        let mut reader = BufReader::new(raw.as_bytes());
        let first = read_request(&mut reader).unwrap().unwrap();
        assert_eq!(first.header("x-catalystpay-event"), "order.created");
        assert_eq!(first.header("x-catalystpay-delivery"), "e1");
        assert_eq!((first.body.as_slice(), first.close), (&b"{}"[..], false));
        let second = read_request(&mut reader).unwrap().unwrap();
        assert_eq!((second.body.as_slice(), second.close), (&b"{}"[..], true));
        assert!(read_request(&mut reader).unwrap().is_none());
    }

    #[test]
    fn rate_counts_intervals() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(rate(201, Some(t0), Some(t1)), 100.0);
        assert!(rate(1, Some(t0), Some(t0)).is_nan());
    }
}
