//! `chaos two-instances`: two `catalyst serve` processes on one PostgreSQL database.
//!
//! First `--stuck` debits are left pending in the database with both servers stopped, as a
//! server leaves them that died between the gateway call and the outcome (claimed, a pending
//! transaction, written in-process). Both servers then start at once; their recovery workers
//! reconcile the debits (the sandbox of a fresh process has no record of them: "never
//! debited", the transaction is declined). Each debit must be reconciled once: counted from
//! both servers' `recovery: payment finished …` log lines by transaction id, with the sweeps
//! that failed next to it. Then `--sessions` create + pay operations go to both servers in turn
//! while both dispatchers deliver: every event must arrive once per recorded attempt.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use super::checks::{self, Arrivals};
use super::traffic::{Traffic, tally};
use super::{Options, Report, finish};
use crate::bench::sessions::{Deployment, start_server, wait_ready};
use crate::bench::webhooks::Receiver;
use crate::bench::{self, Backend, direct, sys};

const CLIENTS: usize = 4;
const RECONCILED: &str = "recovery: payment finished from the gateway's record";
const SWEEP_FAILED: &str = "recovery sweep failed";

pub fn run(options: &Options, binary: &Path) -> Result<Report> {
    let receiver = Receiver::start()?;
    let env = vec![
        ("CATALYST_RECOVERY_GRACE_SECS".into(), "2".into()),
        ("CATALYST_RECOVERY_INTERVAL_SECS".into(), "1".into()),
        ("CATALYST_WEBHOOK_RETRY_SCALE".into(), "0.001".into()),
        ("CATALYST_WEBHOOK_LEASE_SECS".into(), "10".into()),
    ];
    let mut deployment = Deployment::start(
        &bench::Options::deployment(options.keep, options.rust_log.clone(), env),
        Backend::Postgres,
        binary,
        Some(&receiver.url()),
    )?;
    let mut report = Report::default();
    let mut arrivals = Arrivals::default();

    // Stuck debits, written with both servers down.
    deployment.server.stop();
    let target = deployment.direct_target()?;
    let mut conn = target
        .url
        .connect()
        .map_err(|e| anyhow!("connecting to {}: {e}", target.url))?;
    let run = sys::unique_suffix();
    let mut stuck = HashSet::new();
    for i in 0..options.stuck {
        sys::check_interrupt()?;
        let id =
            direct::create_and_claim(&mut conn, &target, &format!("stuck-{run}-{i}@example.com"))
                .map_err(|e| anyhow!(e))?;
        stuck.insert(id);
    }
    drop(conn);
    println!(
        "  {} stuck debits written; starting both servers",
        stuck.len()
    );

    // Both at once: the second is spawned first, the first is restarted and awaited.
    let addr_b: SocketAddr = ([127, 0, 0, 1], sys::free_port()?).into();
    let log_b = deployment.work.path().join("server-b.log");
    let mut server_b = start_server(binary, &deployment.env, addr_b, &log_b)?;
    deployment.restart(binary)?;
    wait_ready(&mut server_b, addr_b, &log_b)?;
    let started = Instant::now();
    let mut db = checks::connect(&deployment.database_url)?;
    let pending = "SELECT count(*) AS n FROM transactions WHERE status = 'pending'";
    while checks::count(&mut db, pending)? > 0 && started.elapsed() < Duration::from_secs(90) {
        sys::sleep(Duration::from_millis(200))?;
    }
    let recovered_in = started.elapsed();
    let left = checks::count(&mut db, pending)?;
    println!(
        "  recovery: {} of {} reconciled in {} ms; create + pay on both servers",
        stuck.len() as i64 - left,
        stuck.len(),
        recovered_in.as_millis()
    );

    // Webhooks from both dispatchers.
    let load_started = Instant::now();
    let traffic = Traffic::start(
        &[deployment.addr, addr_b],
        &deployment.demo,
        CLIENTS,
        Duration::from_secs(300),
    );
    while traffic.completed() < options.sessions
        && load_started.elapsed() < Duration::from_secs(300)
    {
        arrivals.collect(&receiver);
        sys::sleep(Duration::from_millis(100))?;
    }
    let completed = traffic.completed();
    let records = traffic.stop();
    let settled = checks::settle(
        &deployment.database_url,
        &receiver,
        &mut arrivals,
        Duration::from_secs(60),
    )?;
    server_b.stop();
    deployment.server.stop();

    report.figure("stuck debits", stuck.len());
    report.figure(
        "recovery finished in",
        format!("{} ms", recovered_in.as_millis()),
    );
    let a = log_counts(&deployment.log)?;
    let b = log_counts(&log_b)?;
    let mut per_txn: HashMap<&str, usize> = HashMap::new();
    for id in a.reconciled.iter().chain(&b.reconciled) {
        *per_txn.entry(id.as_str()).or_default() += 1;
    }
    let once = stuck
        .iter()
        .filter(|id| per_txn.get(id.as_str()) == Some(&1))
        .count();
    let twice: Vec<&String> = stuck
        .iter()
        .filter(|id| per_txn.get(id.as_str()).is_some_and(|&n| n > 1))
        .collect();
    let never = stuck
        .iter()
        .filter(|id| !per_txn.contains_key(id.as_str()))
        .count();
    report.figure(
        "reconciled (log lines): server A / server B",
        format!("{} / {}", a.reconciled.len(), b.reconciled.len()),
    );
    report.figure(
        "stuck debits reconciled once / more than once / never",
        format!("{once} / {} / {never}", twice.len()),
    );
    report.figure(
        "failed recovery sweeps: server A / server B",
        format!("{} / {}", a.sweeps_failed, b.sweeps_failed),
    );
    if !twice.is_empty() {
        report.violation(format!(
            "{} stuck debits were reconciled by both servers (e.g. {}; logged {} times)",
            twice.len(),
            twice[0],
            per_txn[twice[0].as_str()]
        ));
    }
    if never > 0 {
        report.violation(format!("{never} stuck debits have no reconcile log line"));
    }
    let failed = a.sweeps_failed + b.sweeps_failed;
    if failed > 0 {
        // A sweep fails when applying a gateway answer finds the transaction settled by the
        // other server: that debit was reconciled a second time, and the rest of the sweep
        // waits for the next interval.
        report.violation(format!(
            "{failed} recovery sweeps failed, each after reconciling a debit the other server \
             had settled (first: {})",
            a.first_failure.or(b.first_failure).unwrap_or_default()
        ));
    }
    let extra: usize = per_txn.values().map(|n| n - 1).sum::<usize>() + failed;
    report.figure("reconciles beyond one per stuck debit", extra);

    report.figure("operations completed over both servers", completed);
    let (ok, c4, c5, none) = tally(&records);
    report.figure(
        "requests: 2xx / 4xx / 5xx / no answer",
        format!("{ok} / {c4} / {c5} / {none}"),
    );
    if let Some(r) = records
        .iter()
        .find(|r| r.status.is_some_and(|s| s < 500) && !r.ok())
    {
        report.violation(format!(
            "{c4} 4xx answers to valid requests (first: {:?} {}: {})",
            r.kind,
            r.status.unwrap_or_default(),
            r.detail.trim().chars().take(200).collect::<String>()
        ));
    }
    if c5 + none > 0 {
        report.violation(format!(
            "{c5} 5xx and {none} unanswered requests with both servers up"
        ));
    }
    match settled {
        Some(d) => report.figure("settled after the load", format!("{} ms", d.as_millis())),
        None => report.violation("not settled within 60 s after the load"),
    }
    checks::verify(&deployment.database_url, &arrivals, &mut report)?;
    let (events, extra) = checks::beyond_attempts(&deployment.database_url, &arrivals)?;
    report.figure("arrivals beyond the recorded attempts", extra);
    if extra > 0 {
        report.violation(format!(
            "{events} events arrived more often than attempts were recorded ({extra} extra)"
        ));
    }
    finish(deployment, &report);
    Ok(report)
}

/// What one server's log says about the recovery worker.
#[derive(Debug, Default, PartialEq)]
struct LogCounts {
    /// Merchant transaction ids of the "payment finished" lines, one per line.
    reconciled: Vec<String>,
    sweeps_failed: usize,
    first_failure: Option<String>,
}

fn log_counts(log: &Path) -> Result<LogCounts> {
    let text =
        std::fs::read_to_string(log).map_err(|e| anyhow!("reading {}: {e}", log.display()))?;
    Ok(parse_log(&text))
}

fn parse_log(text: &str) -> LogCounts {
    let mut counts = LogCounts::default();
    for line in text.lines() {
        if line.contains(RECONCILED) {
            if let Some(id) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("transaction="))
            {
                counts.reconciled.push(id.trim_matches('"').to_owned());
            }
        } else if line.contains(SWEEP_FAILED) {
            counts.sweeps_failed += 1;
            if counts.first_failure.is_none() {
                counts.first_failure = Some(line.trim().to_owned());
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recovery_lines() {
        let log = "2026-12-04T05:00:00.1Z  INFO catalyst_api::recovery: recovery: payment \
            finished from the gateway's record transaction=mt_1\n\
            2026-12-04T05:00:00.2Z  WARN catalyst_api::recovery: recovery sweep failed \
            error=conflict\n\
            2026-12-04T05:00:00.3Z  INFO actix: POST /pay/ 200\n";
        let c = parse_log(log);
        assert_eq!(c.reconciled, vec!["mt_1".to_owned()]);
        assert_eq!(c.sweeps_failed, 1);
        assert!(c.first_failure.unwrap().ends_with("error=conflict"));
    }
}
