//! `chaos billing`: each subscription's period is collected exactly once, by any number of
//! billing runs at once and across a run SIGKILLed mid-way.
//!
//! 1. **Three runs at once.** `--subscriptions` monthly subscriptions are created through the
//!    server (create + pay on the demo's recurring campaign, SANDBOX gateway, 8 client threads),
//!    then made due with one SQL statement (anchor one month earlier: the period collected
//!    is the day they were created, today). Two `catalyst serve` with a 1 s billing interval
//!    and two `catalyst billing run --json` start at the same moment on the database and run
//!    until nothing is due. Claims per process come from the servers' `billing run
//!    collected=…` log lines and the CLI's JSON report.
//! 2. **SIGKILL mid-run.** On a fresh database, the same number of subscriptions on an `EMP`
//!    gateway pointed at `catalyst fake-genesis` (a separate process, so the gateway's record
//!    outlives the kill). One `catalyst serve` collects; once `--kill-at` % of the renewals
//!    exist the fake's answers are held (3 s delay), and as soon as a renewal is claimed and
//!    at the gateway, the server is SIGKILLed. A fresh server (recovery grace 2 s) must
//!    finish that renewal from the gateway's record and collect the rest.
//!
//! Checked after each: one renewal per subscription for the period (approved, none pending,
//! none declined), every subscription advanced exactly one period (`periods_billed` 2, next
//! billing date one month after the period, no dunning step), one `subscription.renewed` per
//! subscription, and the session/transaction invariants of [`checks::forbidden`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use diesel::sql_types::Text;
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use super::checks;
use super::{Options, Report, finish};
use crate::bench::pay::PAY_BODY;
use crate::bench::sessions::{Demo, Deployment, start_server, wait_ready};
use crate::bench::sys::{self, ChildGuard};
use crate::bench::{self, Backend};

/// Client threads creating the subscriptions.
const SEED_CLIENTS: usize = 8;
/// Bound of each scenario's collection phase.
const LIMIT: Duration = Duration::from_secs(600);
/// The recovery worker's line for a payment it finished.
const RECONCILED: &str = "recovery: payment finished from the gateway's record";
/// How long the fake gateway holds its answers around the kill.
const HELD: u64 = 3000;

/// The subscriptions made due, with their period and the next billing date after it.
const EXPECT: &str = "CREATE TABLE chaos_billing_expected AS SELECT id, anchor_date AS period, \
    next_billing_date AS after FROM subscriptions WHERE status = 'ACTIVE' AND periods_billed = 1";
/// Due today: the anchor one month earlier, so the period now due is the creation day.
const MAKE_DUE: &str = "UPDATE subscriptions s SET \
    anchor_date = (s.anchor_date - interval '1 month')::date, next_billing_date = e.period, \
    collect_on = e.period, notice_on = NULL FROM chaos_billing_expected e WHERE e.id = s.id";
/// Due subscriptions and pending transactions: the runs are done when this is zero.
const OPEN: &str = "SELECT (SELECT count(*) FROM subscriptions WHERE collect_on <= \
    (now() AT TIME ZONE 'UTC')::date AND status IN ('ACTIVE', 'PAST_DUE')) + \
    (SELECT count(*) FROM transactions WHERE status = 'pending') AS n";
/// Renewals written for the expected periods, any status.
const RENEWALS: &str = "SELECT count(*) AS n FROM transactions t JOIN chaos_billing_expected e \
    ON t.subscription_id = e.id AND t.billing_period = e.period";

/// Per-subscription invariants: (what, SQL counting the subscriptions that break it).
const BROKEN: &[(&str, &str)] = &[
    (
        "subscriptions without exactly one approved renewal for the period",
        "SELECT count(*) AS n FROM chaos_billing_expected e WHERE (SELECT count(*) FROM \
         transactions t WHERE t.subscription_id = e.id AND t.billing_period = e.period AND \
         t.status = 'approved') <> 1",
    ),
    (
        "subscriptions with more than one renewal (any status) for the period",
        "SELECT count(*) AS n FROM chaos_billing_expected e WHERE (SELECT count(*) FROM \
         transactions t WHERE t.subscription_id = e.id AND t.billing_period = e.period) > 1",
    ),
    (
        "subscriptions not advanced exactly one period (periods_billed 2, next billing and \
         collection one month after the period, ACTIVE, no dunning step)",
        "SELECT count(*) AS n FROM chaos_billing_expected e JOIN subscriptions s ON s.id = e.id \
         WHERE s.periods_billed <> 2 OR s.next_billing_date <> e.after OR s.collect_on IS \
         DISTINCT FROM e.after OR s.status <> 'ACTIVE' OR s.dunning_attempts <> 0",
    ),
    (
        "subscriptions without exactly one subscription.renewed event",
        "SELECT count(*) AS n FROM chaos_billing_expected e WHERE (SELECT count(*) FROM \
         webhook_events w WHERE w.event_type = 'subscription.renewed' AND \
         w.payload::jsonb #>> '{default,subscription_id}' = e.id) <> 1",
    ),
];

pub fn run(options: &Options, binary: &Path) -> Result<Report> {
    let mut report = Report::default();
    report.figure("subscriptions due per part", options.subscriptions);
    three_runs(options, binary, &mut report)?;
    killed_run(options, binary, &mut report)?;
    Ok(report)
}

/// Part 1: two servers and two CLI runs at once.
fn three_runs(options: &Options, binary: &Path, report: &mut Report) -> Result<()> {
    println!("  part 1: two `catalyst serve` + two `catalyst billing run` at once");
    let env = vec![("CATALYST_BILLING_INTERVAL_SECS".into(), "1".into())];
    let mut deployment = Deployment::start(
        &bench::Options::deployment(options.keep, options.rust_log.clone(), env),
        Backend::Postgres,
        binary,
        None,
    )?;
    let body = |demo: &Demo, i: usize| {
        serde_json::json!({"campaign_id": demo.recurring_campaign_id, "lead": lead(i)}).to_string()
    };
    let started = Instant::now();
    let demo = deployment.demo.clone();
    seed(
        deployment.addr,
        &demo.restricted_key,
        options.subscriptions,
        |i| body(&demo, i),
    )?;
    report.figure(
        "part 1: subscriptions created (create + pay)",
        format!(
            "{} in {:.1} s",
            options.subscriptions,
            started.elapsed().as_secs_f64()
        ),
    );
    deployment.server.stop();
    let mut db = checks::connect(&deployment.database_url)?;
    make_due(&mut db, options.subscriptions)?;

    // All four at once: spawned back to back, awaited afterwards.
    let work = deployment.work.path().to_path_buf();
    let addr_b: SocketAddr = ([127, 0, 0, 1], sys::free_port()?).into();
    let log_b = work.join("server-b.log");
    let started = Instant::now();
    deployment.server = start_server(binary, &deployment.env, deployment.addr, &deployment.log)?;
    let mut server_b = start_server(binary, &deployment.env, addr_b, &log_b)?;
    let mut cli = Vec::new();
    for i in 1..=2 {
        cli.push(spawn_billing_run(&deployment, binary, &work, i)?);
    }
    wait_ready(&mut deployment.server, deployment.addr, &deployment.log)?;
    wait_ready(&mut server_b, addr_b, &log_b)?;
    let done = wait_done(&mut db, started)?;
    let mut cli_reports = Vec::new();
    for (mut guard, out) in cli {
        while guard.exited().is_none() {
            sys::sleep(Duration::from_millis(100))?;
        }
        cli_reports.push(cli_report(&out)?);
    }
    server_b.stop();
    deployment.server.stop();
    match done {
        Some(d) => report.figure(
            "part 1: all collected in",
            format!("{:.1} s", d.as_secs_f64()),
        ),
        None => report.violation(format!(
            "part 1: renewals still due or pending after {} s",
            LIMIT.as_secs()
        )),
    }
    let a = claims_in_log(&std::fs::read_to_string(&deployment.log)?);
    let b = claims_in_log(&std::fs::read_to_string(&log_b)?);
    report.figure(
        "part 1: claims server A / server B / CLI 1 / CLI 2",
        format!(
            "{a} / {b} / {} / {}",
            cli_reports[0].collected, cli_reports[1].collected
        ),
    );
    report.figure(
        "part 1: CLI runs: due seen / skipped (held by another run)",
        cli_reports
            .iter()
            .map(|r| format!("{} / {}", r.due, r.skipped))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let claimed = a + b + cli_reports.iter().map(|r| r.collected).sum::<usize>();
    if claimed != options.subscriptions {
        report.violation(format!(
            "part 1: the processes report {claimed} claims for {} due subscriptions",
            options.subscriptions
        ));
    }
    verify(&mut db, "part 1", options.subscriptions, report)?;
    drop(db);
    finish(deployment, report);
    Ok(())
}

/// Part 2: one server SIGKILLed with a renewal at the gateway, then a fresh one.
fn killed_run(options: &Options, binary: &Path, report: &mut Report) -> Result<()> {
    println!(
        "  part 2: `catalyst serve` SIGKILLed at {} % of the renewals, then started again",
        options.kill_at
    );
    let env = vec![
        ("CATALYST_BILLING_INTERVAL_SECS".into(), "1".into()),
        ("CATALYST_RECOVERY_GRACE_SECS".into(), "2".into()),
        ("CATALYST_RECOVERY_INTERVAL_SECS".into(), "1".into()),
    ];
    let mut deployment = Deployment::start(
        &bench::Options::deployment(options.keep, options.rust_log.clone(), env),
        Backend::Postgres,
        binary,
        None,
    )?;
    let work = deployment.work.path().to_path_buf();
    let fake_addr: SocketAddr = ([127, 0, 0, 1], sys::free_port()?).into();
    let _fake = start_fake(binary, fake_addr, &work.join("fake-genesis.log"))?;
    let gateway = emp_gateway(deployment.addr, &deployment.demo, fake_addr)?;
    let started = Instant::now();
    let demo = deployment.demo.clone();
    seed(
        deployment.addr,
        &demo.restricted_key,
        options.subscriptions,
        |i| {
            serde_json::json!({"gateway_id": gateway, "amount": "9.99", "currency": "EUR",
                "billing_type": "RECURRING", "billing_frequency": "MONTHLY", "lead": lead(i)})
            .to_string()
        },
    )?;
    report.figure(
        "part 2: subscriptions created on EMP → fake Genesis",
        format!(
            "{} in {:.1} s",
            options.subscriptions,
            started.elapsed().as_secs_f64()
        ),
    );
    deployment.server.stop();
    let mut db = checks::connect(&deployment.database_url)?;
    make_due(&mut db, options.subscriptions)?;

    // The first life, killed with a renewal held at the gateway.
    let target = (options.subscriptions * options.kill_at).div_ceil(100) as i64;
    let started = Instant::now();
    deployment.restart(binary)?;
    let mut renewals = checks::count(&mut db, RENEWALS)?;
    while renewals < target {
        if started.elapsed() > LIMIT {
            bail!(
                "part 2: only {renewals} renewals after {} s",
                LIMIT.as_secs()
            );
        }
        sys::sleep(Duration::from_millis(10))?;
        renewals = checks::count(&mut db, RENEWALS)?;
    }
    fake_delay(fake_addr, HELD)?;
    let held = Instant::now();
    let pending_sql = "SELECT merchant_transaction_id AS id FROM transactions WHERE status = \
        'pending' AND billing_period IS NOT NULL";
    // The claim comes before the gateway call: a moment later the request is at the fake.
    let mut in_flight = pending(&mut db, pending_sql)?;
    while in_flight.is_empty() && held.elapsed() < Duration::from_secs(30) {
        sys::sleep(Duration::from_millis(20))?;
        in_flight = pending(&mut db, pending_sql)?;
    }
    sys::sleep(Duration::from_millis(300))?;
    deployment.server.kill();
    let killed_after = started.elapsed();
    let at_kill = checks::count(&mut db, RENEWALS)?;
    let in_flight = pending(&mut db, pending_sql)?;
    let approved_at_kill = checks::count(
        &mut db,
        "SELECT count(*) AS n FROM transactions t JOIN chaos_billing_expected e ON \
         t.subscription_id = e.id AND t.billing_period = e.period AND t.status = 'approved'",
    )?;
    fake_delay(fake_addr, 0)?;
    let share = at_kill as f64 * 100.0 / options.subscriptions as f64;
    report.figure(
        "part 2: SIGKILL after / renewals claimed then",
        format!(
            "{:.1} s / {at_kill} of {} ({share:.1} %), {approved_at_kill} approved",
            killed_after.as_secs_f64(),
            options.subscriptions
        ),
    );
    report.figure(
        "part 2: claimed but unsettled at the kill",
        format!("{} ({})", in_flight.len(), in_flight.join(", ")),
    );
    if !(10.0..=90.0).contains(&share) {
        report.violation(format!(
            "part 2: killed at {share:.1} % of the renewals, outside 10–90 %"
        ));
    }
    if in_flight.is_empty() {
        report.violation("part 2: no renewal was in flight at the kill");
    }

    // The second life.
    let log_offset = std::fs::metadata(&deployment.log).map_or(0, |m| m.len()) as usize;
    let restarted = Instant::now();
    deployment.restart(binary)?;
    let done = wait_done(&mut db, restarted)?;
    deployment.server.stop();
    match done {
        Some(d) => report.figure(
            "part 2: restart to all collected",
            format!("{:.1} s", d.as_secs_f64()),
        ),
        None => report.violation(format!(
            "part 2: renewals still due or pending {} s after the restart",
            LIMIT.as_secs()
        )),
    }
    let log = std::fs::read_to_string(&deployment.log)?;
    let second_life = log.get(log_offset..).unwrap_or_default();
    let by_recovery = in_flight
        .iter()
        .filter(|id| {
            second_life
                .lines()
                .any(|l| l.contains(RECONCILED) && l.contains(id.as_str()))
        })
        .count();
    report.figure(
        "part 2: in-flight renewals finished by the recovery worker",
        format!("{by_recovery} of {}", in_flight.len()),
    );
    report.figure(
        "part 2: claims by the second server",
        claims_in_log(second_life),
    );
    let finished = checks::count(
        &mut db,
        &format!(
            "SELECT count(*) AS n FROM transactions WHERE status = 'approved' AND \
             merchant_transaction_id IN ({})",
            in_flight
                .iter()
                .map(|id| format!("'{}'", id.replace('\'', "")))
                .chain(std::iter::once("''".to_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    if finished as usize != in_flight.len() {
        report.violation(format!(
            "part 2: {} of {} in-flight renewals approved (the gateway approved them all)",
            finished,
            in_flight.len()
        ));
    }
    verify(&mut db, "part 2", options.subscriptions, report)?;
    drop(db);
    finish(deployment, report);
    Ok(())
}

/// The lead of the `i`-th subscription.
fn lead(i: usize) -> Value {
    serde_json::json!({"first_name": "Ada", "last_name": "Lovelace",
        "email": format!("billing-{}-{i}@example.com", sys::unique_suffix()), "country": "DE"})
}

/// Creates and pays `n` sessions (bodies from `body`) from [`SEED_CLIENTS`] threads; every
/// payment must complete.
fn seed(
    addr: SocketAddr,
    key: &str,
    n: usize,
    body: impl Fn(usize) -> String + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let auth = format!("Bearer {key}");
    std::thread::scope(|s| {
        for _ in 0..SEED_CLIENTS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n || sys::interrupted() {
                        return;
                    }
                    if let Err(e) = create_and_pay(addr, &auth, &body(i)) {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(e);
                    }
                }
            });
        }
    });
    sys::check_interrupt()?;
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(first) = failures.first() {
        bail!(
            "{} of {n} subscriptions not created: {first}",
            failures.len()
        );
    }
    Ok(())
}

fn create_and_pay(addr: SocketAddr, auth: &str, body: &str) -> Result<()> {
    let created = sys::http(
        addr,
        "POST",
        "/api/v1/payment-sessions/",
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )?;
    let token = (created.status == 201)
        .then(|| serde_json::from_str::<Value>(&created.body).ok())
        .flatten()
        .and_then(|v| v["session_token"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow!("create: {} {}", created.status, created.body))?;
    let paid = sys::http(
        addr,
        "POST",
        &format!("/api/v1/payment-sessions/{token}/pay/"),
        &[("Content-Type", "application/json")],
        PAY_BODY,
    )?;
    if paid.status != 200 || !paid.body.contains(r#""status":"completed""#) {
        bail!("pay: {} {}", paid.status, paid.body);
    }
    Ok(())
}

/// Records the expected periods and makes the `n` new subscriptions due today.
fn make_due(db: &mut PgConnection, n: usize) -> Result<()> {
    diesel::sql_query(EXPECT)
        .execute(db)
        .context("recording the periods")?;
    let moved = diesel::sql_query(MAKE_DUE)
        .execute(db)
        .context("making the subscriptions due")?;
    if moved != n {
        bail!("{moved} subscriptions made due, {n} created");
    }
    println!("  {n} subscriptions due; starting the billing runs");
    Ok(())
}

/// Polls until nothing is due or pending; the time it took, `None` after [`LIMIT`].
fn wait_done(db: &mut PgConnection, started: Instant) -> Result<Option<Duration>> {
    loop {
        if checks::count(db, OPEN)? == 0 {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > LIMIT {
            return Ok(None);
        }
        sys::sleep(Duration::from_millis(200))?;
    }
}

/// The per-subscription invariants and the session/transaction ones.
fn verify(db: &mut PgConnection, part: &str, n: usize, report: &mut Report) -> Result<()> {
    let renewals = checks::count(db, RENEWALS)?;
    let statuses = checks::count(
        db,
        "SELECT count(*) AS n FROM transactions WHERE billing_period IS NOT NULL AND status = \
         'declined'",
    )?;
    report.figure(
        &format!("{part}: renewals written / declined"),
        format!("{renewals} / {statuses}"),
    );
    if renewals != n as i64 {
        report.violation(format!("{part}: {renewals} renewals for {n} subscriptions"));
    }
    let expected = checks::count(db, "SELECT count(*) AS n FROM chaos_billing_expected")?;
    if expected != n as i64 {
        report.violation(format!(
            "{part}: {expected} subscriptions recorded, {n} created"
        ));
    }
    for (what, sql) in BROKEN {
        let broken = checks::count(db, sql)?;
        if broken > 0 {
            report.violation(format!("{part}: {broken} {what}"));
        }
    }
    let mut sub = Report::default();
    checks::forbidden(db, &mut sub)?;
    for v in sub.violations {
        report.violation(format!("{part}: {v}"));
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

fn pending(db: &mut PgConnection, sql: &str) -> Result<Vec<String>> {
    Ok(diesel::sql_query(sql)
        .load::<Id>(db)
        .context("reading pending renewals")?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// `catalyst billing run --json` with its output in `work/billing-run-<i>.json`.
fn spawn_billing_run(
    deployment: &Deployment,
    binary: &Path,
    work: &Path,
    i: usize,
) -> Result<(ChildGuard, PathBuf)> {
    let out = work.join(format!("billing-run-{i}.json"));
    let err = work.join(format!("billing-run-{i}.log"));
    let mut cmd = deployment.env.command(binary);
    cmd.args(["billing", "run", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out)?)
        .stderr(std::fs::File::create(&err)?);
    Ok((ChildGuard::spawn("catalyst billing run", &mut cmd)?, out))
}

/// What a `catalyst billing run --json` reported.
struct CliReport {
    due: usize,
    collected: usize,
    skipped: usize,
}

fn cli_report(path: &Path) -> Result<CliReport> {
    let text = std::fs::read_to_string(path)?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("catalyst billing run --json printed:\n{text}"))?;
    let number = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
    let skipped = v["items"].as_array().map_or(0, |items| {
        items.iter().filter(|i| i["action"] == "skipped").count()
    });
    Ok(CliReport {
        due: number("due"),
        collected: number("collected"),
        skipped,
    })
}

/// Renewals a server's log says it claimed: the sum of its `billing run collected=N` lines.
fn claims_in_log(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("billing run"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("collected="))
                .and_then(|n| n.parse::<usize>().ok())
        })
        .sum()
}

/// `catalyst fake-genesis` on `addr`, answering once it listens.
fn start_fake(binary: &Path, addr: SocketAddr, log: &Path) -> Result<ChildGuard> {
    let file = std::fs::File::create(log)?;
    let mut cmd = std::process::Command::new(binary);
    cmd.args(["fake-genesis", "--port", &addr.port().to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    let mut fake = ChildGuard::spawn("catalyst fake-genesis", &mut cmd)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while sys::http(addr, "GET", "/__fake/delay", &[], "").is_err() {
        if let Some(status) = fake.exited() {
            bail!(
                "catalyst fake-genesis exited ({status}):\n{}",
                sys::tail(log, 10)
            );
        }
        if Instant::now() > deadline {
            bail!("catalyst fake-genesis did not answer on {addr}");
        }
        sys::sleep(Duration::from_millis(100))?;
    }
    Ok(fake)
}

/// Sets the fake's delay before each `/process` answer.
fn fake_delay(addr: SocketAddr, ms: u64) -> Result<()> {
    let r = sys::http(addr, "POST", "/__fake/delay", &[], &ms.to_string())?;
    if !(200..300).contains(&r.status) {
        bail!("setting the fake's delay: {} {}", r.status, r.body);
    }
    Ok(())
}

/// An `EMP` gateway of the demo tenant pointed at the fake; its id.
fn emp_gateway(server: SocketAddr, demo: &Demo, fake: SocketAddr) -> Result<String> {
    let body = serde_json::json!({"name": "EMP (fake Genesis)", "adapter": "EMP",
        "test_mode": true, "credentials": {
            "username": "fake-user", "password": "fake-password",
            "terminal_token": "fake-terminal-token", "endpoint": format!("http://{fake}")}});
    let auth = format!("Bearer {}", demo.secret_key);
    let r = sys::http(
        server,
        "POST",
        "/api/v1/gateways/",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    )?;
    serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .filter(|_| r.status == 201)
        .ok_or_else(|| anyhow!("creating the EMP gateway: {} {}", r.status, r.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_summed_from_the_billing_lines() {
        let log = "2026-12-04T09:00:00Z  INFO catalyst_api::billing: billing run collected=12 \
            approved=12 declined=0 pending=0 cancelled=0 notices=0\n\
            2026-12-04T09:00:01Z  WARN catalyst_api::billing: billing run failed error=x\n\
            2026-12-04T09:00:02Z  INFO catalyst_api::billing: billing run collected=3 \
            approved=3\n";
        assert_eq!(claims_in_log(log), 15);
        assert_eq!(claims_in_log(""), 0);
    }
}
