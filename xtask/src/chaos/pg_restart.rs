//! `chaos pg-restart`: PostgreSQL restarted (`pg_ctlcluster <v> main restart`) under create +
//! pay from `--clients` threads.
//!
//! The outage window runs from the start of the restart command to the first moment
//! `pg_isready` answers again. A request overlapping it may fail (any 5xx, or no answer); one
//! that does not must not get a 5xx. The service must answer a request sent after the window
//! with a 2xx within 5 s of the window's end. Afterwards the usual invariants (no session
//! half-paid, none in progress, every event delivered).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::checks::{self, Arrivals};
use super::traffic::{Kind, Record, Traffic, tally};
use super::{Options, Report, finish};
use crate::bench::sessions::Deployment;
use crate::bench::webhooks::Receiver;
use crate::bench::{self, Backend, sys};

/// The service must answer again this soon after PostgreSQL is back.
const BACK_WITHIN: Duration = Duration::from_secs(5);

pub fn run(options: &Options, binary: &Path) -> Result<Report> {
    let version = cluster_version();
    if !pg_ready() {
        bail!("PostgreSQL is not accepting connections on 127.0.0.1 before the scenario");
    }
    let receiver = Receiver::start()?;
    let env = vec![
        ("CATALYST_RECOVERY_GRACE_SECS".into(), "2".into()),
        ("CATALYST_RECOVERY_INTERVAL_SECS".into(), "1".into()),
        ("CATALYST_WEBHOOK_RETRY_SCALE".into(), "0.001".into()),
        ("CATALYST_WEBHOOK_LEASE_SECS".into(), "5".into()),
    ];
    let deployment = Deployment::start(
        &bench::Options::deployment(options.keep, options.rust_log.clone(), env),
        Backend::Postgres,
        binary,
        Some(&receiver.url()),
    )?;
    let mut report = Report::default();
    let limit = Duration::from_secs(options.warmup + options.after + 90);
    let traffic = Traffic::start(&[deployment.addr], &deployment.demo, options.clients, limit);
    sys::sleep(Duration::from_secs(options.warmup))?;
    let before = traffic.completed();
    println!(
        "  {before} operations completed in {} s from {} clients; pg_ctlcluster {version} main \
         restart",
        options.warmup, options.clients
    );
    let outage_start = Instant::now();
    let restart = sys::run_bounded(
        Command::new("pg_ctlcluster").args([&version, "main", "restart"]),
        Duration::from_secs(120),
        "pg_ctlcluster restart",
    );
    let command_took = outage_start.elapsed();
    let back = wait_for_postgres(&version);
    let outage_end = Instant::now();
    if let Err(e) = restart.and_then(|o| o.check("pg_ctlcluster restart")) {
        // Still measured; PostgreSQL is running again (or the error below says so).
        report.violation(format!("the restart command failed: {e:#}"));
    }
    back?;
    let window = outage_end - outage_start;
    println!(
        "  PostgreSQL back after {} ms; load goes on for {} s",
        window.as_millis(),
        options.after
    );
    sys::sleep(Duration::from_secs(options.after))?;
    let after = traffic.completed();
    let records = traffic.stop();
    let backlog = checks::count(
        &mut checks::connect(&deployment.database_url)?,
        "SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'",
    )?;
    let mut arrivals = Arrivals::default();
    let settled = checks::settle(
        &deployment.database_url,
        &receiver,
        &mut arrivals,
        Duration::from_secs(60),
    )?;
    figures(&records, outage_start, outage_end, &mut report);
    report.figure(
        "pg_ctlcluster restart took",
        format!("{} ms", command_took.as_millis()),
    );
    report.figure(
        "outage window (restart → pg_isready)",
        format!("{} ms", window.as_millis()),
    );
    report.figure(
        "operations completed before / after restart",
        format!("{before} / {}", after - before),
    );
    report.figure(
        "deliveries not yet delivered when the load stopped",
        backlog,
    );
    match settled {
        Some(d) => report.figure(
            "settled after the load (recovery, outbox)",
            format!("{} ms", d.as_millis()),
        ),
        None => report.violation("not settled within 60 s after the load"),
    }
    checks::verify(&deployment.database_url, &arrivals, &mut report)?;
    finish(deployment, &report);
    Ok(report)
}

/// 5xx and unanswered requests inside and outside the window; time to the first success.
fn figures(records: &[Record], start: Instant, end: Instant, report: &mut Report) {
    let overlaps = |r: &Record| r.sent <= end && r.done >= start;
    let (inside, outside): (Vec<&Record>, Vec<&Record>) = records.iter().partition(|r| overlaps(r));
    let (ok_in, c4_in, c5_in, none_in) = tally(inside.iter().copied());
    let (ok_out, c4_out, c5_out, none_out) = tally(outside.iter().copied());
    report.figure("requests (create + pay)", records.len());
    report.figure(
        "in the window: 2xx / 4xx / 5xx / no answer",
        format!("{ok_in} / {c4_in} / {c5_in} / {none_in}"),
    );
    report.figure(
        "outside it:    2xx / 4xx / 5xx / no answer",
        format!("{ok_out} / {c4_out} / {c5_out} / {none_out}"),
    );
    let mut codes: Vec<(u16, usize)> = Vec::new();
    for r in records.iter().filter(|r| r.server_error()) {
        let code = r.status.unwrap_or_default();
        match codes.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => codes.push((code, 1)),
        }
    }
    let client_error = |r: &&&Record| r.status.is_some_and(|s| (400..500).contains(&s));
    for (what, first) in [
        (
            "first 5xx in the window",
            inside.iter().find(|r| r.server_error()),
        ),
        ("first 4xx in the window", inside.iter().find(client_error)),
        ("first 4xx outside it", outside.iter().find(client_error)),
    ] {
        if let Some(r) = first {
            report.figure(
                what,
                format!(
                    "{:?} {}: {}",
                    r.kind,
                    r.status.unwrap_or_default(),
                    r.detail.trim().chars().take(200).collect::<String>()
                ),
            );
        }
    }
    if !codes.is_empty() {
        report.figure(
            "5xx by status",
            codes
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    let first_ok = records
        .iter()
        .filter(|r| r.ok() && r.sent >= end)
        .map(|r| r.done - end)
        .min();
    let first_any_ok = records
        .iter()
        .filter(|r| r.ok() && r.done >= end)
        .map(|r| r.done - end)
        .min();
    match first_ok {
        Some(d) => {
            report.figure(
                "first 2xx to a request sent after the window",
                format!("{} ms after it", d.as_millis()),
            );
            if d > BACK_WITHIN {
                report.violation(format!(
                    "the service answered again only {} ms after PostgreSQL was back",
                    d.as_millis()
                ));
            }
        }
        None => report.violation("no request sent after the window succeeded"),
    }
    if let Some(d) = first_any_ok {
        report.figure(
            "first 2xx answered after the window",
            format!("{} ms after it", d.as_millis()),
        );
    }
    if c4_in + c4_out > 0 {
        // The load sends only valid requests: a 4xx blames the client for the outage.
        report.violation(format!(
            "{} 4xx answers to valid requests ({c4_in} in the window; see \"first 4xx\")",
            c4_in + c4_out
        ));
    }
    let late: Vec<&&Record> = outside.iter().filter(|r| r.server_error()).collect();
    if let Some(last) = records
        .iter()
        .filter(|r| r.server_error())
        .map(|r| r.done)
        .max()
    {
        report.figure(
            "last 5xx answered",
            format!("{} ms after the window", signed_ms(last, end)),
        );
    }
    if !late.is_empty() {
        let sample = late[0];
        report.violation(format!(
            "{} 5xx outside the outage window (first: {:?} sent {} ms after the window, \
             answered {}: {})",
            late.len(),
            sample.kind,
            signed_ms(sample.sent, end),
            sample.status.unwrap_or_default(),
            sample.detail.chars().take(200).collect::<String>()
        ));
    }
    let lost_pays = outside
        .iter()
        .filter(|r| r.kind == Kind::Pay && r.status.is_none())
        .count();
    if lost_pays > 0 {
        report.violation(format!(
            "{lost_pays} pay requests outside the window got no answer"
        ));
    }
}

/// `a − b` in milliseconds, negative when `a` is earlier.
fn signed_ms(a: Instant, b: Instant) -> i128 {
    if a >= b {
        (a - b).as_millis() as i128
    } else {
        -((b - a).as_millis() as i128)
    }
}

fn pg_ready() -> bool {
    Command::new("pg_isready")
        .args(["-q", "-h", "127.0.0.1", "-p", "5432"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `pg_isready` (at most 60 s); if PostgreSQL is still down, starts the cluster and waits
/// once more, so that the machine's PostgreSQL is left running.
fn wait_for_postgres(version: &str) -> Result<()> {
    for attempt in 0..2 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if pg_ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if attempt == 0 {
            eprintln!("PostgreSQL is still down; pg_ctlcluster {version} main start");
            let _ = Command::new("pg_ctlcluster")
                .args([version, "main", "start"])
                .status();
        }
    }
    bail!("PostgreSQL did not come back within 120 s (pg_ctlcluster {version} main start)")
}

/// The newest cluster under /etc/postgresql with a `main` cluster (15 on this machine).
fn cluster_version() -> String {
    std::fs::read_dir("/etc/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("main").is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
        .unwrap_or_else(|| "15".into())
}
