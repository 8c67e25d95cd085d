//! `chaos kill-loop`: the server SIGKILLed every `--kill-every` seconds (and started again at
//! once) while 4 client threads create and pay sessions until `--events` webhook events exist,
//! each delivered to a local receiver; the kills go on until every delivery row is delivered.
//! Every event must arrive at least once; duplicates (sent, then killed before the attempt was
//! recorded, sent again after the lease) are counted.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::checks::{self, Arrivals};
use super::traffic::{Traffic, tally};
use super::{Options, Report, finish};
use crate::bench::sessions::Deployment;
use crate::bench::webhooks::Receiver;
use crate::bench::{self, Backend, sys};

/// Client threads.
const CLIENTS: usize = 4;
/// Delivery rows still to be delivered.
const UNDELIVERED: &str =
    "SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'";
/// Bound of the whole produce-and-kill phase.
const LIMIT: Duration = Duration::from_secs(900);

pub fn run(options: &Options, binary: &Path) -> Result<Report> {
    let receiver = Receiver::start()?;
    // A short lease: a killed server's claimed deliveries are sent again 2 s later.
    let env = vec![
        ("CATALYST_RECOVERY_GRACE_SECS".into(), "2".into()),
        ("CATALYST_RECOVERY_INTERVAL_SECS".into(), "1".into()),
        ("CATALYST_WEBHOOK_RETRY_SCALE".into(), "0.001".into()),
        ("CATALYST_WEBHOOK_LEASE_SECS".into(), "2".into()),
    ];
    let mut deployment = Deployment::start(
        &bench::Options::deployment(options.keep, options.rust_log.clone(), env),
        Backend::Postgres,
        binary,
        Some(&receiver.url()),
    )?;
    let mut report = Report::default();
    let mut arrivals = Arrivals::default();
    let mut conn = checks::connect(&deployment.database_url)?;
    let mut traffic = Some(Traffic::start(
        &[deployment.addr],
        &deployment.demo,
        CLIENTS,
        LIMIT,
    ));
    let started = Instant::now();
    let (mut kills, mut restarts) = (0usize, Vec::new());
    let mut produced;
    let (mut completed, mut records) = (0, Vec::new());
    let mut produce_time = Duration::ZERO;
    // Kills go on until the target is produced (then the load stops) and every delivery row is
    // delivered.
    loop {
        sys::sleep(Duration::from_secs(options.kill_every))?;
        produced = checks::events(&mut conn)?;
        arrivals.collect(&receiver);
        if produced as usize >= options.events
            && let Some(t) = traffic.take()
        {
            produce_time = started.elapsed();
            completed = t.completed();
            records = t.stop();
            println!(
                "  {produced} events in {:.0} s with {kills} kills; killing on while they are \
                 delivered",
                produce_time.as_secs_f64()
            );
        }
        if traffic.is_none() && checks::count(&mut conn, UNDELIVERED)? == 0 {
            break;
        }
        if started.elapsed() >= LIMIT {
            report.violation(format!(
                "{produced} of {} events produced, not all delivered within {} s",
                options.events,
                LIMIT.as_secs()
            ));
            break;
        }
        deployment.server.kill();
        kills += 1;
        let t = Instant::now();
        deployment.restart(binary)?;
        restarts.push(t.elapsed());
        if kills % 10 == 0 {
            println!(
                "  {kills} kills, {produced} events, {} distinct arrivals, {:.0} s",
                arrivals.by_event.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(t) = traffic.take() {
        completed = t.completed();
        records = t.stop();
    }
    let kill_time = started.elapsed();
    let settled = checks::settle(
        &deployment.database_url,
        &receiver,
        &mut arrivals,
        Duration::from_secs(120),
    )?;
    report.figure("kills done", kills);
    report.figure(
        "produce phase",
        format!(
            "{:.1} s, {completed} operations completed",
            produce_time.as_secs_f64()
        ),
    );
    report.figure(
        "produce + deliver under kills",
        format!("{:.1} s", kill_time.as_secs_f64()),
    );
    restarts.sort_unstable();
    if let (Some(median), Some(max)) = (restarts.get(restarts.len() / 2), restarts.last()) {
        report.figure(
            "restart to answering: median / max",
            format!("{} / {} ms", median.as_millis(), max.as_millis()),
        );
    }
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
    if c5 > 0 {
        let sample = records.iter().find(|r| r.server_error());
        report.violation(format!(
            "{c5} 5xx answers (a killed server answers nothing; first: {})",
            sample
                .map(|r| r.detail.chars().take(200).collect::<String>())
                .unwrap_or_default()
        ));
    }
    match settled {
        Some(d) => report.figure(
            "settled after the last kill in",
            format!("{} ms", d.as_millis()),
        ),
        None => report.violation("not settled within 120 s after the last kill"),
    }
    checks::verify(&deployment.database_url, &arrivals, &mut report)?;
    finish(deployment, &report);
    Ok(report)
}
